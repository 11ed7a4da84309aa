#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds microvm's minimal Linux test guest, once per machine:
#   vmlinux, bzImage     Debian's linux-source-6.1, tinyconfig + config.fragment
#   initramfs.cpio.gz    gzip'd newc cpio: static busybox + init.sh as /init
# into ${XDG_CACHE_HOME:-$HOME/.cache}/microvm/linux-<key>/, where <key> is
# the first 16 hex digits of the sha256 of config.fragment, init.sh, this
# script and the source tarball's name and size.
#
#   build.sh               build if needed, print the directory
#   build.sh --print-dir   the same (stdout carries only the directory)
#
# Progress goes to stderr.  Exit codes: 0 ok, 77 a required tool or the
# source tarball is missing (the message names the Debian package), 1 the
# build failed (the tail of the build log is printed).
#
# Concurrency-safe (flock on <cache>/linux-<key>.lock) and atomic (built in
# <cache>/.linux-<key>.tmp.<pid>, renamed into place when complete).  The
# kernel source is extracted once into <cache>/linux-src-<tarkey>/ and built
# out of tree (make O=...), never modified.
#
# Environment: LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
# XDG_CACHE_HOME, JOBS (default: nproc).
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/config.fragment
init_script=$here/init.sh
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
cache_root=${XDG_CACHE_HOME:-${HOME:?neither XDG_CACHE_HOME nor HOME is set}/.cache}/microvm

msg() { echo "linux-guest: $*" >&2; }
skip() { msg "SKIP: $*"; exit 77; }
die() { msg "ERROR: $*"; exit 1; }

case "${1:-}" in
"" | --print-dir) ;;
-h | --help)
	sed -n '3,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0 ;;
*) die "unknown argument '$1' (usage: build.sh [--print-dir])" ;;
esac

# --- prerequisites --------------------------------------------------------
need_tool() { # tool debian-package
	command -v "$1" >/dev/null 2>&1 ||
		skip "'$1' not found: apt-get install $2"
}
need_tool make make
need_tool gcc gcc
need_tool flex flex
need_tool bison bison
need_tool bc bc
need_tool perl perl
need_tool tar tar
need_tool xz xz-utils
need_tool gzip gzip
need_tool sha256sum coreutils
need_tool flock util-linux
need_tool readelf binutils
[ -r /usr/include/gelf.h ] || [ -r /usr/include/libelf.h ] ||
	skip "libelf headers not found (objtool needs them): apt-get install libelf-dev"
[ -r "$tarball" ] ||
	skip "kernel source '$tarball' not found: apt-get install linux-source-6.1"

busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! readelf -l "$b" 2>/dev/null | grep -q INTERP; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] ||
	skip "no statically linked busybox found: apt-get install busybox-static"

# --- cache key ------------------------------------------------------------
tar_name=$(basename "$tarball")
tar_size=$(stat -L -c %s "$tarball")
key=$({
	sha256sum <"$fragment"
	sha256sum <"$init_script"
	sha256sum <"${BASH_SOURCE[0]}"
	echo "$tar_name $tar_size"
} | sha256sum | cut -c1-16)
tar_key=$(echo "$tar_name $tar_size" | sha256sum | cut -c1-16)

final=$cache_root/linux-$key
srcdir=$cache_root/linux-src-$tar_key

have_all() {
	[ -s "$final/vmlinux" ] && [ -s "$final/bzImage" ] &&
		[ -s "$final/initramfs.cpio.gz" ]
}

finish() {
	echo "$final"
	exit 0
}

have_all && finish

mkdir -p "$cache_root" || die "cannot create cache directory '$cache_root'"

exec 9>"$cache_root/linux-$key.lock"
if ! flock -n 9; then
	msg "waiting for another build of linux-$key (lock $cache_root/linux-$key.lock)"
	flock 9
fi
have_all && finish # someone else built it while we waited

# Do not inherit a parent make's jobserver (cmake's custom target).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
start=$(date +%s)

# --- kernel source, extracted once per tarball -----------------------------
if [ ! -f "$srcdir/Makefile" ]; then
	exec 8>"$cache_root/linux-src-$tar_key.lock"
	flock 8
	if [ ! -f "$srcdir/Makefile" ]; then
		rm -rf "$cache_root/.linux-src-$tar_key.tmp."*
		srctmp=$cache_root/.linux-src-$tar_key.tmp.$$
		mkdir -p "$srctmp"
		msg "extracting $tarball into $srcdir"
		tar -xJf "$tarball" -C "$srctmp" --strip-components=1 ||
			{ rm -rf "$srctmp"; die "cannot extract '$tarball'"; }
		[ -f "$srctmp/Makefile" ] ||
			{ rm -rf "$srctmp"; die "'$tarball' has no top-level Makefile"; }
		rm -rf "$srcdir"
		mv -T "$srctmp" "$srcdir"
	fi
	exec 8>&-
fi

# --- build in a private temporary directory --------------------------------
# Leftovers of builds of this key that were killed (we hold its lock).
rm -rf "$cache_root/.linux-$key.tmp."*
tmp=$cache_root/.linux-$key.tmp.$$
mkdir -p "$tmp/obj"
log=$tmp/build.log
failed_log=$cache_root/linux-$key.failed.log
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

fail_with_log() {
	cp "$log" "$failed_log" 2>/dev/null || true
	msg "ERROR: $1; last 40 lines of the log (kept in $failed_log):"
	tail -n 40 "$log" >&2
	exit 1
}

kmake() {
	make -C "$srcdir" O="$tmp/obj" ARCH=x86_64 "$@" >>"$log" 2>&1
}

msg "building linux-$key in $tmp (log: $log, final: $final)"
: >"$log"
kmake tinyconfig || fail_with_log "make tinyconfig failed"
{
	echo
	echo "# ---- tests/linux/config.fragment ----"
	cat "$fragment"
} >>"$tmp/obj/.config"
kmake olddefconfig || fail_with_log "make olddefconfig failed"

# Every option in the fragment must be in the final .config as requested.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		if ! grep -qxF -- "$line" "$tmp/obj/.config"; then
			opt=${line%%=*}
			got=$(grep -E "^(# )?$opt[= ]" "$tmp/obj/.config" || echo "absent")
			msg "ERROR: config option not as requested: wanted '$line', got '$got'"
			bad=1
		fi ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -qE "^$opt=" "$tmp/obj/.config"; then
			msg "ERROR: config option not as requested: wanted '$line', got '$(grep -E "^$opt=" "$tmp/obj/.config")'"
			bad=1
		fi ;;
	esac
done <"$fragment"
[ "$bad" = 0 ] || die "the final .config does not honour config.fragment (see above; dependencies in Kconfig?)"
cp "$tmp/obj/.config" "$tmp/config"

msg "make -j$jobs vmlinux bzImage (a few minutes)"
kmake -j"$jobs" vmlinux bzImage || fail_with_log "kernel build failed"
cp "$tmp/obj/vmlinux" "$tmp/vmlinux"
cp "$tmp/obj/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$tmp/obj/System.map" "$tmp/System.map"

# --- initramfs -------------------------------------------------------------
# gen_init_cpio (from the kernel tree) writes a newc archive from a list, so
# /dev/console can be a device node without root privileges.  It must exist
# before /init runs: the kernel opens it for PID 1's stdin/stdout/stderr and
# does not mount devtmpfs on an initramfs by itself.
msg "building initramfs"
gcc -O2 -o "$tmp/gen_init_cpio" "$srcdir/usr/gen_init_cpio.c" >>"$log" 2>&1 ||
	fail_with_log "cannot compile usr/gen_init_cpio.c"
{
	echo "dir /bin 0755 0 0"
	echo "dir /sbin 0755 0 0"
	echo "dir /dev 0755 0 0"
	echo "dir /proc 0755 0 0"
	echo "dir /sys 0755 0 0"
	echo "dir /tmp 1777 0 0"
	echo "dir /root 0700 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $busybox 0755 0 0"
	for a in sh ash cat echo ls mount umount uname mkdir sleep dmesg \
		poweroff reboot halt sync mknod dd cmp md5sum sha256sum true false \
		test [ printf grep head tail wc; do
		echo "slink /bin/$a busybox 0777 0 0"
	done
	echo "file /init $init_script 0755 0 0"
} >"$tmp/initramfs.list"
"$tmp/gen_init_cpio" "$tmp/initramfs.list" >"$tmp/initramfs.cpio" 2>>"$log" ||
	fail_with_log "gen_init_cpio failed"
gzip -9 -n "$tmp/initramfs.cpio"

# --- publish atomically ----------------------------------------------------
rm -rf "$tmp/obj" "$tmp/gen_init_cpio"
end=$(date +%s)
echo "built in $((end - start)) s on $(date -u +%FT%TZ) with $jobs jobs" >"$tmp/BUILD-INFO"
rm -rf "$final"
mv -T "$tmp" "$final"
trap - EXIT
rm -f "$failed_log"
msg "done in $((end - start)) s: $final"
finish
