#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# ctest-tier.sh BUILD RESULTS LABEL_REGEX     (the ctest nested/run)
#
# Boots the nested tier once and runs the tests of BUILD whose labels match
# LABEL_REGEX inside it (ctest-inside.sh), leaving one result per test in
# RESULTS for the nested/<test> mirrors (result.sh) to report.
#
# BUILD is shared as scratch: writable inside, writes kept in the nested
# machine (so its tests never write the files the same tests write when
# they run natively, maybe at the same time); RESULTS read-write.  The
# source tree and ~/.cache/microvm (the Linux test guest, built on the host
# by linux/build first) are read through the read-only view of /.
#
# Exit status: 0 when the run finished (each test's verdict is its own
# mirror's business), 77 when the tier cannot run here (the reason is in
# RESULTS/unavailable for the mirrors to repeat), 1 otherwise.
# Environment: MICROVM_NESTED_TIMEOUT (seconds for the whole run, 1500).
set -u

[ $# -eq 3 ] || { echo "usage: $0 BUILD RESULTS LABEL_REGEX" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$1
results=$2
labels=$3

# Results of an earlier run must never be taken for this one's.
rm -rf "$results" && mkdir -p "$results" || { echo "FAIL: cannot make '$results'"; exit 1; }

start=$EPOCHREALTIME
rc=0
"$here/run.sh" --no-tty --timeout "${MICROVM_NESTED_TIMEOUT:-1500}" \
	--scratch "$build" --rw "$results" -v -- \
	"$here/ctest-inside.sh" "$build" "$results" "$labels" \
	2> >(tee "$results/run.err" >&2) || rc=$?
# Let tee finish before reading what it wrote.
wait
elapsed=$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN { printf "%.1f", a - b }')

case $rc in
0)
	if [ ! -s "$results/done" ]; then
		echo "FAIL: the nested run ended without a summary ($results/done)"
		exit 1
	fi
	echo "nested tier: $(cat "$results/done"); ${elapsed} s with the boot"
	exit 0
	;;
77)
	reason=$(sed -n 's/^SKIP: //p' "$results/run.err" | tail -n 1)
	echo "${reason:-the nested tier cannot run here (no reason given)}" >"$results/unavailable"
	echo "SKIP: ${reason:-the nested tier cannot run here}"
	exit 77
	;;
*)
	echo "FAIL: the nested run failed (tests/nested/run.sh exit status $rc after ${elapsed} s; its messages are above)"
	exit 1
	;;
esac
