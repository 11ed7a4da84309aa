#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# ext4-roundtrip.sh MICROVM_BINARY     (the ctest linux/ext4-roundtrip)
# ext4-roundtrip.sh --qemu             (same guest and checks under QEMU TCG)
#
# The Linux test guest writes an ext4 file system on a virtio-blk disk, the
# host checks every byte; then the guest reads it back from a read-only disk.
#   1. host: a 64 MiB raw image, mkfs.ext4 -F -q (no root, no mount)
#   2. boot with --disk IMG, microvm.test=ext4: /init mounts /dev/vda, writes
#      a text file, a deterministic data file (blktool pattern, 2 MiB), a
#      directory tree with appends, an empty file, a symlink and a removed
#      file; prints md5sums (MICROVM-SUM), sync, umount, power-off
#   3. host: e2fsck -fn must be clean; every file read back with debugfs
#      must equal what the host generates itself, and the guest's md5sums
#      must match too; the symlink is there, the removed file is not
#   4. boot with --disk IMG,ro, microvm.test=ext4-ro: /init checks the
#      device is read-only, mounts -o ro, prints the md5sums (must match
#      again), and checks that a file write, a remount rw and a raw device
#      write all fail (and promptly: the boot has a timeout)
#   5. host: the image is bit-for-bit unchanged by step 4, e2fsck still clean
# Pass: every step above, marker lines present, the VMM exits 0 both times.
#
# Exit codes: 0 pass, 1 fail, 77 skip (no /dev/kvm, build.sh skipped,
# mkfs.ext4/e2fsck/debugfs missing: apt-get install e2fsprogs).
# Environment: EXT4_TEST_TIMEOUT (seconds per boot, default 280),
# EXT4_TEST_DIR (work directory, default ./ext4-roundtrip.d: image and logs),
# EXT4_TEST_MIB (size of the data file, default 2),
# MICROVM_LINUX_EXTRA_CMDLINE (appended to the kernel command line).
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=guest-lib.sh
. "$here/guest-lib.sh"
# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"

usage() {
	echo "usage: $0 MICROVM_BINARY | --qemu" >&2
	exit 2
}
[ $# -eq 1 ] || usage
if [ "$1" = --qemu ]; then
	kind=qemu
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "SKIP: qemu-system-x86_64 not found (apt-get install qemu-system-x86)"; exit 77; }
else
	kind=microvm
	MICROVM=$1
	[ -x "$MICROVM" ] || { echo "FAIL: microvm binary '$MICROVM' not found or not executable" >&2; exit 1; }
	require_kvm
fi

for t in mkfs.ext4 e2fsck debugfs; do
	find_sbin "$t" >/dev/null ||
		{ echo "SKIP: '$t' not found (also looked in /sbin, /usr/sbin): apt-get install e2fsprogs"; exit 77; }
done
mkfs=$(find_sbin mkfs.ext4)
e2fsck=$(find_sbin e2fsck)
debugfs=$(find_sbin debugfs)

rc=0
guest_lib_init || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

timeout_s=${EXT4_TEST_TIMEOUT:-280}
work=${EXT4_TEST_DIR:-$PWD/ext4-roundtrip.d}
mib=${EXT4_TEST_MIB:-2}
img=$work/ext4.img
extra=${MICROVM_LINUX_EXTRA_CMDLINE:+ $MICROVM_LINUX_EXTRA_CMDLINE}

fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
# Prints the log's tail and exits: nothing after a failed boot is meaningful.
fatal_boot() {
	echo "FAIL: $1 (${GUEST_ELAPSED} s); last 60 lines of $2:"
	tail -n 60 "$2"
	exit 1
}

rm -rf "$work"
mkdir -p "$work/expected/tree/d0" "$work/expected/tree/d1/sub" "$work/readback"

# --- what the guest is expected to write (init.sh's ext4_write) -------------
exp=$work/expected
echo "hello from the microvm guest" >"$exp/hello.txt"
"$GUEST_DIR/blktool" pattern $((mib * 1048576)) 42 >"$exp/data.bin"
seq 1 3000 >"$exp/tree/seq.txt"
for d in 0 1; do
	for i in 0 1; do
		echo "file $i in directory d$d" >"$exp/tree/d$d/f$i"
	done
done
for i in 1 2 3 4 5 6 7 8; do echo "line $i"; done >"$exp/tree/d1/sub/deep.txt"
: >"$exp/tree/empty"
files="/hello.txt /data.bin /tree/seq.txt /tree/d0/f0 /tree/d0/f1 /tree/d1/f0
/tree/d1/f1 /tree/d1/sub/deep.txt /tree/empty"

# Compares the guest's MICROVM-SUM lines in LOG with the expected files.
check_sums() {
	local log=$1 what=$2 f want got
	for f in $files; do
		want=$(md5sum <"$exp$f" | cut -d' ' -f1)
		got=$(tr -d '\r' <"$log" | awk -v f="$f" '$1 == "MICROVM-SUM" && $3 == f { print $2; exit }')
		if [ -z "$got" ]; then
			fail "$what: the guest printed no checksum for $f"
		elif [ "$got" != "$want" ]; then
			fail "$what: guest md5 of $f is $got, expected $want"
		fi
	done
}

check_boot() { # LOG TEST
	local log=$1 t=$2
	grep -q "MICROVM-LINUX-INIT-OK" "$log" || fatal_boot "$t: /init never printed MICROVM-LINUX-INIT-OK" "$log"
	if grep -q "MICROVM-TEST-FAIL" "$log"; then
		grep "MICROVM-TEST-FAIL" "$log" | sed 's/^/  guest: /'
		fatal_boot "$t: the guest reported failures" "$log"
	fi
	grep -q "MICROVM-TEST-PASS: $t\b" "$log" || fatal_boot "$t: no MICROVM-TEST-PASS: $t marker" "$log"
	case "$GUEST_STATUS" in
	0) ;;
	124 | 137) fatal_boot "$t: timed out after ${timeout_s} s" "$log" ;;
	*) fatal_boot "$t: the VMM exited with status $GUEST_STATUS" "$log" ;;
	esac
	echo "ok: $t boot passed in ${GUEST_ELAPSED} s"
}

fsck_clean() { # WHEN
	local out=$work/e2fsck-$1.log st=0
	"$e2fsck" -fn "$img" >"$out" 2>&1 || st=$?
	if [ "$st" -ne 0 ]; then
		fail "e2fsck -fn after $1 exited $st (not clean):"
		sed 's/^/  /' "$out"
	else
		echo "ok: e2fsck -fn clean after $1"
	fi
}

# --- 1. the image ------------------------------------------------------------
truncate -s 64M "$img"
"$mkfs" -F -q "$img"
echo "ok: $mkfs -F -q $img (64 MiB)"

# --- 2. write boot -------------------------------------------------------------
log1=$work/boot-ext4.log
guest_run "$kind" "$log1" "$timeout_s" "console=ttyS0 panic=-1 microvm.test=ext4 microvm.mib=$mib$extra" "$img" 0
check_boot "$log1" ext4
check_sums "$log1" "ext4 (write)"

# --- 3. host checks --------------------------------------------------------------
fsck_clean "write boot"
for f in $files; do
	out=$work/readback/$(echo "${f#/}" | tr / _)
	"$debugfs" -R "dump $f $out" "$img" >/dev/null 2>"$out.err" || true
	if [ ! -e "$out" ]; then
		fail "debugfs could not read $f from the image: $(grep -v '^debugfs ' "$out.err" | head -3)"
	elif ! cmp -s "$out" "$exp$f"; then
		fail "$f read back from the image differs from the expected content ($(cmp "$out" "$exp$f" 2>&1 | head -1))"
	fi
done
[ "$fails" -ne 0 ] || echo "ok: all $(echo "$files" | wc -w) files read back with debugfs match the host's copies"
link=$("$debugfs" -R "stat /tree/link" "$img" 2>/dev/null | tr -d '\r' | grep -o 'Fast link dest: "[^"]*"' || true)
[ "$link" = 'Fast link dest: "../hello.txt"' ] || fail "symlink /tree/link: got '${link:-nothing}'"
if "$debugfs" -R "ls -l /tree" "$img" 2>/dev/null | grep -qw removed; then
	fail "/tree/removed (created and deleted by the guest) is still in the directory"
fi
[ "$fails" -eq 0 ] || { echo "FAIL: $fails check(s) failed after the write boot (logs in $work)"; exit 1; }

# --- 4. read-only boot ---------------------------------------------------------
before=$(sha256sum <"$img")
log2=$work/boot-ext4-ro.log
guest_run "$kind" "$log2" "$timeout_s" "console=ttyS0 panic=-1 microvm.test=ext4-ro$extra" "$img" 1
check_boot "$log2" ext4-ro
check_sums "$log2" "ext4-ro (read-only)"
grep -q "MICROVM-DISK vda .* ro=1" "$log2" || fail "ext4-ro: the guest did not see a read-only disk"

# --- 5. unchanged ------------------------------------------------------------------
[ "$(sha256sum <"$img")" = "$before" ] || fail "the read-only boot changed the image"
fsck_clean "read-only boot"

if [ "$fails" -ne 0 ]; then
	echo "FAIL: $fails check(s) failed (logs in $work)"
	exit 1
fi
echo "PASS: ext4 round trip ($kind): written, checked on the host, read back read-only; writes refused"
