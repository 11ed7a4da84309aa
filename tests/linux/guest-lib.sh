# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034,SC2054
# (SC2034: GUEST_* are read by the callers; SC2054: QEMU options use commas)
#
# Helpers shared by tests/linux/{boot-test,ext4-roundtrip}.sh and
# bench/blk-bench.sh:
# boot the Linux test guest (built by build.sh) with one raw disk image, under
# microvm or, as the reference, under QEMU TCG (`-M microvm`; QEMU/KVM does
# not run on the CI hosts, see /work/shared/ENVIRONMENT.md).  Source it; it
# defines functions only.
#
#   guest_lib_dir              sets GUEST_DIR (the build.sh cache directory,
#                              kernel and initramfs checked); returns 77
#                              (skip) or 1 (error) with a message
#   guest_lib_init             guest_lib_dir, and the initramfs must have the
#                              disk tool (blktool) the disk tests run
#   guest_run KIND LOG TIMEOUT CMDLINE IMG RO
#       KIND     microvm (needs MICROVM=path; boots vmlinux) or qemu (boots
#                bzImage: QEMU loads an ELF vmlinux only with a PVH note)
#       CMDLINE  what a user would pass; for QEMU the helper appends
#                microvm.exit=reboot reboot=t (a halted guest does not end
#                QEMU; a triple-fault reset with -no-reboot does) and QEMU's
#                microvm machine appends virtio_mmio.device=... itself
#       IMG RO   the raw image, attached as the only disk; RO=1 read-only
#   Sets GUEST_STATUS (the VMM's exit status; 124/137 = timed out) and
#   GUEST_ELAPSED (seconds).  With GUEST_TIMESTAMP=1 every line of LOG is
#   prefixed with the seconds since the VMM started (for benchmarks).
#   find_sbin TOOL             prints the path of TOOL (also /sbin, /usr/sbin)

GUEST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

find_sbin() {
	local t=$1 d
	if command -v "$t" >/dev/null 2>&1; then
		command -v "$t"
		return 0
	fi
	for d in /usr/sbin /sbin; do
		[ -x "$d/$t" ] && { echo "$d/$t"; return 0; }
	done
	return 1
}

guest_lib_dir() {
	local rc=0
	GUEST_DIR=$("$GUEST_LIB_DIR/build.sh" --print-dir) || rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "SKIP: the Linux test guest cannot be built here (see build.sh's message above)"
		return 77
	elif [ "$rc" -ne 0 ]; then
		echo "FAIL: tests/linux/build.sh failed with exit status $rc"
		return 1
	fi
	local f
	for f in vmlinux bzImage initramfs.cpio.gz; do
		[ -s "$GUEST_DIR/$f" ] || { echo "FAIL: '$f' missing from '$GUEST_DIR'"; return 1; }
	done
	return 0
}

guest_lib_init() {
	local rc=0
	guest_lib_dir || rc=$?
	[ "$rc" -eq 0 ] || return "$rc"
	if [ ! -x "$GUEST_DIR/blktool" ]; then
		echo "SKIP: the initramfs has no /bin/blktool (build.sh could not compile tests/linux/blktool.c: apt-get install musl-tools)"
		return 77
	fi
	return 0
}

guest_run() {
	local kind=$1 log=$2 timeout_s=$3 cmdline=$4 img=$5 ro=$6
	local -a cmd
	case "$kind" in
	microvm)
		local disk=$img
		[ "$ro" = 1 ] && disk="$img,ro"
		cmd=("${MICROVM:?MICROVM (the microvm binary) not set}" --kernel "$GUEST_DIR/vmlinux"
			--initrd "$GUEST_DIR/initramfs.cpio.gz" --cmdline "$cmdline" --mem 256M
			--disk "$disk")
		;;
	qemu)
		local drive="id=d0,file=$img,format=raw,if=none"
		[ "$ro" = 1 ] && drive="$drive,readonly=on"
		cmd=(qemu-system-x86_64 -M microvm,pit=on,pic=on,rtc=on,acpi=off
			-global virtio-mmio.force-legacy=false -cpu qemu64 -m 256
			-nographic -no-reboot -nodefaults -serial stdio
			-kernel "$GUEST_DIR/bzImage" -initrd "$GUEST_DIR/initramfs.cpio.gz"
			-append "$cmdline microvm.exit=reboot reboot=t"
			-drive "$drive" -device virtio-blk-device,drive=d0)
		;;
	*)
		echo "guest_run: unknown kind '$kind' (microvm or qemu)" >&2
		return 2
		;;
	esac
	echo "guest: $(printf '%q ' "${cmd[@]}")"
	echo "guest: timeout ${timeout_s} s, log $log"
	local start=$EPOCHREALTIME
	GUEST_STATUS=0
	if [ "${GUEST_TIMESTAMP:-0}" = 1 ]; then
		local line pf=0
		[[ -o pipefail ]] && pf=1
		set +o pipefail # the status comes from PIPESTATUS, not from set -e
		timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null 2>&1 |
			while IFS= read -r line; do
				printf '%s %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN{printf "%.3f", a-b}')" "$line"
			done >"$log"
		GUEST_STATUS=${PIPESTATUS[0]}
		[ "$pf" = 0 ] || set -o pipefail
	else
		timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$log" 2>&1 || GUEST_STATUS=$?
	fi
	GUEST_ELAPSED=$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN{printf "%.1f", a-b}')
	return 0
}
