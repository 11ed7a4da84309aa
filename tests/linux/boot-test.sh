#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# boot-test.sh MICROVM_BINARY {vmlinux|bzImage}
#
# Boots microvm's minimal Linux test guest (built and cached by build.sh)
# with its busybox initramfs.  Passes when the serial output contains
# MICROVM-LINUX-INIT-OK (printed by /init after mounting proc, sysfs and
# devtmpfs) and microvm exits 0 (/init runs `poweroff -f`, which without a
# power-off driver ends in cli; hlt: microvm's power-off).
#
# Exit codes: 0 pass, 1 fail, 77 skip (no /dev/kvm, or build.sh skipped
# because a tool or the kernel source is missing).
#
# The command line is what a user would pass: console=ttyS0 panic=-1.  The
# VMM adds what its host probe calls for itself (noxsave nolapic
# clearcpuid=... where the CPUID policy is not enforced).  Extra arguments
# can be appended with MICROVM_LINUX_EXTRA_CMDLINE (e.g. lpj=N to skip
# delay-loop calibration while debugging).
#
# Environment: BOOT_TEST_TIMEOUT (seconds; default 600 for vmlinux, 1500 for
# bzImage, whose decompressor runs under instruction emulation on the CI
# hosts), BOOT_TEST_LOG (default ./linux-boot-<image>.log).
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
marker=MICROVM-LINUX-INIT-OK

usage() {
	echo "usage: $0 MICROVM_BINARY {vmlinux|bzImage}" >&2
	exit 2
}
[ $# -eq 2 ] || usage
microvm=$1
image=$2
case "$image" in
vmlinux) default_timeout=600 ;;
bzImage) default_timeout=1500 ;;
*) usage ;;
esac
timeout_s=${BOOT_TEST_TIMEOUT:-$default_timeout}
log=${BOOT_TEST_LOG:-$PWD/linux-boot-$image.log}

[ -x "$microvm" ] || { echo "FAIL: microvm binary '$microvm' not found or not executable" >&2; exit 1; }

# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"
# shellcheck source=guest-lib.sh
. "$here/guest-lib.sh"
require_kvm
rc=0
guest_lib_dir || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
kernel=$GUEST_DIR/$image
initrd=$GUEST_DIR/initramfs.cpio.gz

cmdline="console=ttyS0 panic=-1${MICROVM_LINUX_EXTRA_CMDLINE:+ $MICROVM_LINUX_EXTRA_CMDLINE}"
cmd=("$microvm" --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --mem 256M)

echo "boot-test: $(printf '%q ' "${cmd[@]}")"
echo "boot-test: timeout ${timeout_s} s, log $log"
start=$(date +%s)
status=0
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$log" 2>&1 || status=$?
elapsed=$(($(date +%s) - start))

# A pass is the marker *and* a real power-off: with panic=-1 a kernel whose
# poweroff failed resets through the i8042, which also exits 0.
poweroff_msg="guest powered off"
if grep -q "$marker" "$log" && [ "$status" -eq 0 ] &&
	grep -q "$poweroff_msg" "$log"; then
	echo "PASS: $image booted to /init and powered off in ${elapsed} s"
	grep -E "^(uname -r|cmdline):" "$log" || true
	exit 0
fi

case "$status" in
0) if grep -q "$marker" "$log"; then
	why="microvm exited 0 without '$poweroff_msg' (a reset instead of a power-off?)"
   else
	why="microvm exited 0 but the output has no $marker"
   fi ;;
124 | 137) why="timed out after ${timeout_s} s (exit status $status)" ;;
*) why="microvm exited with status $status" ;;
esac
if [ "$status" -ne 0 ] && grep -q "$marker" "$log"; then
	why="$why after /init printed $marker (power-off path?)"
fi
echo "FAIL: $image: $why (${elapsed} s); last 60 lines of $log:"
tail -n 60 "$log"
exit 1
