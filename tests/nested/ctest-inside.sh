#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# ctest-inside.sh BUILD RESULTS LABEL_REGEX
#
# Runs inside the nested machine (tests/nested/ctest-tier.sh starts it
# through run.sh): one `ctest -V` over the tests of BUILD whose labels
# match LABEL_REGEX, except the nested tier's own, so each test keeps its
# ctest properties (timeout, skip code, working directory, fixtures).  -V
# prefixes every line a test prints with "N: " (its number), which is how
# the output is split per test; the result lines give the verdicts.
#
# For each test, in RESULTS (shared read-write with the host):
#   <id>.log     its output without the "N: " prefix, and its verdict
#   <id>.status  0 passed, 77 skipped, 1 anything else; written last
# where <id> is the test name with "/" as "__".  Then RESULTS/done, with
# the counts and the wall time: its absence tells the host the run did not
# finish.  A listed test without a result line gets status 1.  Exit status
# 0 when the run finished (whatever the verdicts), 1 when it could not be
# run.
set -u

[ $# -eq 3 ] || { echo "usage: $0 BUILD RESULTS LABEL_REGEX" >&2; exit 2; }
build=$1
results=$2
labels=$3

cd "$build" || exit 1
[ -n "${MICROVM_NESTED:-}" ] ||
	echo "ctest-inside: warning: not in the nested tier (MICROVM_NESTED unset)" >&2

start=$EPOCHREALTIME
since() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

# Not the long tests either: stepping is five times slower in this tier.
sel=(-L "$labels" -LE '^(nested|long)$')
if ! list=$(ctest -N "${sel[@]}" 2>&1); then
	echo "ctest-inside: ctest -N ${sel[*]} failed:" >&2
	echo "$list" >&2
	exit 1
fi
mapfile -t names < <(sed -n 's/^ *Test *#[0-9]*: //p' <<<"$list")
if [ "${#names[@]}" -eq 0 ]; then
	echo "ctest-inside: no test in $build has a label matching '$labels'" >&2
	exit 1
fi
echo "ctest-inside: ${#names[@]} tests (labels $labels) in $build"

# -j1: the nested machine has one vCPU.  Every line of ctest -V goes
# through awk, which files test output by number and prints the result
# lines as they come (the progress the host sees).
ctest -V "${sel[@]}" 2>&1 | awk -v dir="$results" '
function id(name) { gsub("/", "__", name); return name }
# "      Start 25: linux/boot-vmlinux"
/^ *Start +[0-9]+: / {
	n = $2; sub(":", "", n)
	name[n] = $0; sub(/^ *Start +[0-9]+: /, "", name[n])
	next
}
# "25: <a line the test printed>"
/^[0-9]+: / || /^[0-9]+:$/ {
	n = $0; sub(/:.*/, "", n)
	if (n in name) {
		line = $0; sub(/^[0-9]+: ?/, "", line)
		print line > (dir "/" id(name[n]) ".log")
	}
	next
}
# "13/17 Test #25: linux/boot-vmlinux ......   Passed    7.11 sec",
# "***Failed", "***Skipped", "***Timeout", "***Not Run", ...
/^ *[0-9]+\/[0-9]+ +Test +#[0-9]+: / {
	print "ctest-inside: " $0
	n = $0; sub(/^ *[0-9]+\/[0-9]+ +Test +#/, "", n); sub(/:.*/, "", n)
	if (!(n in name)) {
		# Not started (a fixture it needs failed): name from this line.
		name[n] = $0
		sub(/^.*Test +#[0-9]+: /, "", name[n])
		sub(/ +\.+.*$/, "", name[n])
	}
	verdict = $0
	sub(/^.*Test +#[0-9]+: /, "", verdict)
	verdict = substr(verdict, length(name[n]) + 2)
	sub(/^\.* *(\*\*\*)?/, "", verdict)
	sub(/ +[0-9.]+ sec$/, "", verdict)
	f = dir "/" id(name[n])
	print "--- in the nested tier: " verdict > (f ".log")
	close(f ".log")
	print (verdict == "Passed" ? 0 : verdict == "Skipped" ? 77 : 1) > (f ".status")
	close(f ".status")
	next
}
# The summary and what ctest says about tests that did not run.
/tests passed|tests failed|Total Test time|Failed test dependencies|did not run|FAILED:/ {
	print "ctest-inside: " $0
}'
pass=0
fail=0
skip=0
for name in "${names[@]}"; do
	id=${name//\//__}
	if [ ! -s "$results/$id.status" ]; then
		echo "ctest-inside: $name: no result line from ctest"
		echo "--- in the nested tier: no result (ctest printed no verdict for it)" >>"$results/$id.log"
		echo 1 >"$results/$id.status"
	fi
	case $(cat "$results/$id.status") in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
done
summary="${#names[@]} tests: $pass passed, $fail failed, $skip skipped in $(since "$start") s"
echo "$summary" >"$results/done"
echo "ctest-inside: $summary"
