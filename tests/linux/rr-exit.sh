#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# rr-exit.sh MICROVM_BINARY
#
# The Linux test guest recorded exit-pinned (the default backend) and
# replayed, with a workload whose output depends on timing (/init's
# microvm.test=rr: interrupt counts, /proc/uptime, three concurrent
# readers of a virtio disk with their elapsed times, then an ext4 write on
# a disk attached ,snapshot so the image stays as the recording found it).
#  1. two recordings: both must boot, pass the workload and power off, and
#     their serial outputs must differ (the timing shows: nondeterminism);
#  2. the first is replayed: "replay: identical", exit 0, the recorded
#     serial output byte for byte.
# With lpj= on the command line (RR_EXIT_LPJ, default 10000): without it
# the delay-loop calibration puts positions in a loop that a breakpoint
# reaches once per pass, hours in the nested tier (docs/pinning.md).
#
# Environment: RR_EXIT_TIMEOUT (seconds per run, default 900), RR_EXIT_DIR
# (work directory, default ./rr-exit-linux), RR_EXIT_LPJ.
# Exit codes: 0 pass, 1 fail, 77 skip (no /dev/kvm, no test guest, no
# mkfs.ext4).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
microvm=${1:?usage: rr-exit.sh MICROVM_BINARY}
# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=guest-lib.sh
. "$here/guest-lib.sh"
require_kvm
rc=0
guest_lib_init || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
mkfs=$(find_sbin mkfs.ext4) || { echo "SKIP: no mkfs.ext4 (apt-get install e2fsprogs)"; exit 77; }
timeout_s=${RR_EXIT_TIMEOUT:-900}
dir=${RR_EXIT_DIR:-$PWD/rr-exit-linux}
mkdir -p "$dir"
img=$dir/ext4.img
rm -f "$img"
truncate -s 64M "$img"
"$mkfs" -F -q "$img" || { echo "FAIL: $mkfs $img"; exit 1; }
cmdline="console=ttyS0 panic=-1 lpj=${RR_EXIT_LPJ:-10000} microvm.test=rr microvm.mib=1"
fail=0

record() {	# record N
	local t=$dir/rec$1 rc=0 s e
	s=$(date +%s.%N)
	timeout "$timeout_s" "$microvm" --record "$t.trace" \
		--kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initramfs.cpio.gz" \
		--cmdline "$cmdline" --mem 256M --disk "$img,snapshot" </dev/null \
		>"$t.out" 2>"$t.err" || rc=$?
	e=$(date +%s.%N)
	echo "recording $1: exit $rc, $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s, $(stat -c %s "$t.trace" 2>/dev/null) bytes"
	grep -m1 'rdtsc:' "$t.err" || true
	if [ "$rc" -ne 0 ] || ! grep -q MICROVM-TEST-PASS: "$t.out"; then
		echo "FAIL: recording $1 did not pass the workload (exit $rc)"
		tail -n 15 "$t.out" "$t.err"
		fail=1
	fi
}

record 1
record 2
[ "$fail" -eq 0 ] || exit 1
if cmp -s "$dir/rec1.out" "$dir/rec2.out"; then
	echo "FAIL: two recordings printed the same: the workload shows no timing"
	exit 1
fi
echo "ok: two recordings differ: $(diff "$dir/rec1.out" "$dir/rec2.out" | grep -c '^<') lines"

rc=0
s=$(date +%s.%N)
timeout "$timeout_s" "$microvm" --replay "$dir/rec1.trace" -v </dev/null \
	>"$dir/rep.out" 2>"$dir/rep.err" || rc=$?
e=$(date +%s.%N)
echo "replay: exit $rc, $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s"
grep -E '^replay: |asynchronous positions found' "$dir/rep.err"
if [ "$rc" -ne 0 ] || ! grep -q '^replay: identical' "$dir/rep.err"; then
	echo "FAIL: the replay did not end identical (exit $rc)"
	grep -v '^    #' "$dir/rep.err" | tail -n 12
	exit 1
fi
if ! cmp "$dir/rec1.out" "$dir/rep.out"; then
	echo "FAIL: the replay's serial output differs from the recording's"
	exit 1
fi
echo "PASS: the Linux test guest with a timing workload, recorded and replayed exit-pinned, identical"
