#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# rr-cross.sh MICROVM GUEST_DIR WORK_DIR
#
# Across hosts: a run recorded on this host's own KVM replays identically
# in the nested tier (tests/nested: kvm_amd inside QEMU TCG), and one
# recorded there replays identically here; or the replay is refused up
# front with the reason (another CPU shown to the guest, say).  Never a
# divergence, never a hang.  The guests: hello (output only), pit-ticks
# (ticks in a busy loop: asynchronous positions) and blk-stress (disk
# completions out of order, on a snapshot disk).  WORK_DIR must be
# outside /tmp (the nested machine has its own /tmp) and is shared
# read-write with it.  Skips (77) without KVM here or without the tier.
set -u

microvm=$1
guests=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
require_kvm
nested=$here/../nested/run.sh
tmp=$work
. "$here/rr-lib.sh"

# guest_args NAME: the microvm arguments for guest NAME, in $a
guest_args() {
	case $1 in
	hello) a=(--kernel "$guests/hello.elf" --cmdline console=ttyS0) ;;
	pit-ticks) a=(--kernel "$guests/pit-ticks.elf" --cmdline console=ttyS0) ;;
	blk-stress) a=(--kernel "$guests/blk-stress.elf"
		--disk "$work/disk.img,snapshot,id=bs-rw-disk"
		--cmdline "console=ttyS0 blk-stress.mode=rw blk-stress.id=bs-rw-disk") ;;
	esac
}
names=(hello pit-ticks blk-stress)

# record TIER NAME: TIER.NAME.{trace,out,err,rc}
record() {
	local rc=0 a
	guest_args "$2"
	timeout 300 "$microvm" --record "$work/$1.$2.trace" "${a[@]}" \
		</dev/null >"$work/$1.$2.out" 2>"$work/$1.$2.err" || rc=$?
	echo "$rc" >"$work/$1.$2.rc"
}

# replay FROM TIER NAME: the trace recorded in FROM, replayed in TIER
replay() {
	local rc=0
	timeout 600 "$microvm" --replay "$work/$1.$3.trace" </dev/null \
		>"$work/$1-in-$2.$3.out" 2>"$work/$1-in-$2.$3.err" || rc=$?
	echo "$rc" >"$work/$1-in-$2.$3.rc"
}

if [ "${MICROVM_NESTED:-}" ]; then
	# Inside the tier (this script, run again by the part below).
	for n in "${names[@]}"; do
		replay native nested "$n"
		record nested "$n"
	done
	exit 0
fi
if ! why=$("$nested" --check 2>&1); then
	echo "SKIP: the nested tier cannot run here: $why"
	exit 77
fi
case "$work" in
/tmp/*) echo "FAIL: $work is under /tmp, which the nested tier does not share"; exit 1 ;;
esac
rm -rf "$work"
mkdir -p "$work"
truncate -s 64M "$work/disk.img"

for n in "${names[@]}"; do
	record native "$n"
done
"$nested" --rw "$work" -- "$0" "$microvm" "$guests" "$work" \
	>"$work/nested.log" 2>&1 || {
	bad "the nested part did not run: $(tail -n 3 "$work/nested.log")"
	echo "$pass passed, $fail failed"
	exit 1
}
for n in "${names[@]}"; do
	[ -s "$work/nested.$n.trace" ] && replay nested native "$n"
done

# judge FROM TIER NAME
judge() {
	local what="$3 recorded in $1, replayed in $2" rc
	local p="$work/$1-in-$2.$3"

	if [ "$(cat "$work/$1.$3.rc" 2>/dev/null)" != 0 ]; then
		bad "$3: the recording in $1 failed: $(tail -n 2 "$work/$1.$3.err")"
		return
	fi
	rc=$(cat "$p.rc" 2>/dev/null || echo none)
	if [ "$rc" = 0 ] && grep -q '^replay: identical' "$p.err" &&
		cmp -s "$work/$1.$3.out" "$p.out"; then
		ok "$what: $(grep '^replay:' "$p.err")"
	elif [ "$rc" = 1 ] && grep -q 'error: cannot replay' "$p.err" &&
		! grep -q '^replay:' "$p.err"; then
		ok "$what: refused up front: $(grep -m1 'cannot replay' "$p.err" | cut -c16-220)"
	else
		bad "$what: exit $rc, neither identical nor refused up front"
		grep -v '^    #' "$p.err" | tail -n 6 | sed 's/^/     /'
	fi
}
for n in "${names[@]}"; do
	judge native nested "$n"
	judge nested native "$n"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
