#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# rr-step.sh MICROVM_BINARY
#
# The Linux test guest recorded under --pin=step (guest time on the
# instruction count, --clock=insn) and replayed: the replay must say
# "replay: identical", exit 0, and print the recorded serial output byte
# for byte.  The recording must have booted to /init's marker and powered
# off.  Long: about 100 M instructions are stepped each way, ~12 minutes
# each on the native PVM-backed hosts (ctest label "long", which
# scripts/test.sh leaves out unless MICROVM_LONG_TESTS=1).
#
# Environment: RR_STEP_TIMEOUT (seconds per run, default 2400),
# RR_STEP_DIR (work directory, default ./rr-step-linux),
# MICROVM_LINUX_EXTRA_CMDLINE (appended to the kernel command line).
# Exit codes: 0 pass, 1 fail, 77 skip (no /dev/kvm, no test guest).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
microvm=${1:?usage: rr-step.sh MICROVM_BINARY}
# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=guest-lib.sh
. "$here/guest-lib.sh"
require_kvm
rc=0
guest_lib_dir || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
timeout_s=${RR_STEP_TIMEOUT:-2400}
dir=${RR_STEP_DIR:-$PWD/rr-step-linux}
mkdir -p "$dir"
trace=$dir/linux.trace
cmdline="console=ttyS0 panic=-1${MICROVM_LINUX_EXTRA_CMDLINE:+ $MICROVM_LINUX_EXTRA_CMDLINE}"

start=$(date +%s)
rc=0
timeout "$timeout_s" "$microvm" --pin=step --record "$trace" \
	--kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initramfs.cpio.gz" \
	--cmdline "$cmdline" --mem 256M </dev/null \
	>"$dir/rec.out" 2>"$dir/rec.err" || rc=$?
rec_s=$(($(date +%s) - start))
grep '^microvm: step:' "$dir/rec.err"
if [ "$rc" -ne 0 ] || ! grep -q MICROVM-LINUX-INIT-OK "$dir/rec.out"; then
	echo "FAIL: the recording (exit $rc, $rec_s s) did not boot to /init and power off:"
	tail -n 8 "$dir/rec.out" "$dir/rec.err"
	exit 1
fi
echo "recorded in $rec_s s: $(stat -c %s "$trace") bytes of trace"

start=$(date +%s)
rc=0
timeout "$timeout_s" "$microvm" --replay "$trace" </dev/null \
	>"$dir/rep.out" 2>"$dir/rep.err" || rc=$?
rep_s=$(($(date +%s) - start))
grep -v '^    #' "$dir/rep.err" | grep '^replay:\|^microvm: step:'
if [ "$rc" -eq 0 ] && grep -q '^replay: identical' "$dir/rep.err" &&
	cmp -s "$dir/rec.out" "$dir/rep.out"; then
	echo "PASS: replayed identically in $rep_s s (recorded in $rec_s s)"
	exit 0
fi
echo "FAIL: replay exit $rc after $rep_s s"
grep -v '^    #' "$dir/rep.err" | tail -n 12
cmp "$dir/rec.out" "$dir/rep.out"
exit 1
