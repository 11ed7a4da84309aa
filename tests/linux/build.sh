#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds microvm's minimal Linux test guest, once per machine:
#   vmlinux, bzImage     Debian's linux-source-6.1, tinyconfig + config.fragment
#   initramfs.cpio.gz    gzip'd newc cpio: static busybox, init.sh as /init,
#                        /bin/blktool (blktool.c, musl-gcc -static)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/microvm/linux-<key>/, where <key> is
# the first 16 hex digits of the sha256 of everything that goes into it.
# The kernel is cached on its own in .../kernel-<kkey>/ (kkey: the sha256 of
# config.fragment, the kernel recipe section of this script and the source
# tarball's name and size), so changing init.sh or blktool.c only rebuilds
# the initramfs (seconds), not the kernel (minutes).
#
#   build.sh               build if needed, print the directory
#   build.sh --print-dir   the same (stdout carries only the directory)
#
# Progress goes to stderr.  Exit codes: 0 ok, 77 a required tool or the
# source tarball is missing (the message names the Debian package), 1 the
# build failed (the tail of the build log is printed).  Without musl-gcc
# (apt-get install musl-tools) blktool is built with `gcc -static` when that
# works, else left out with a message: the disk tests that need it skip.
#
# Concurrency-safe (flock on <cache>/{kernel,linux}-<key>.lock) and atomic
# (built in <cache>/.<name>.tmp.<pid>, renamed into place when complete).
# The kernel source is extracted once into <cache>/linux-src-<tarkey>/ and
# built out of tree (make O=...), never modified.
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
	sed -n '3,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

# blktool (the disk tests' and the benchmark's helper): musl-gcc -static
# preferred (small binary); gcc -static (glibc's libc.a) as a fallback.
blktool_src=$here/blktool.c
if command -v musl-gcc >/dev/null 2>&1; then
	blktool_cc=musl-gcc
else
	blktool_cc=gcc
	msg "musl-gcc not found (apt-get install musl-tools): trying gcc -static for /bin/blktool"
fi

# --- cache keys -------------------------------------------------------------
# The kernel's key covers only what the kernel build reads: the fragment, the
# tarball and the text between the "kernel recipe" markers below.
tar_name=$(basename "$tarball")
tar_size=$(stat -L -c %s "$tarball")
kernel_recipe() {
	sed -n '/^# --- kernel recipe begin/,/^# --- kernel recipe end/p' "${BASH_SOURCE[0]}"
}
kkey=$({
	sha256sum <"$fragment"
	kernel_recipe | sha256sum
	echo "$tar_name $tar_size"
} | sha256sum | cut -c1-16)
key=$({
	echo "kernel $kkey"
	sha256sum <"$init_script"
	sha256sum <"$blktool_src"
	sha256sum <"${BASH_SOURCE[0]}"
	echo "busybox $busybox $(stat -L -c %s "$busybox")"
	echo "blktool $blktool_cc"
} | sha256sum | cut -c1-16)
tar_key=$(echo "$tar_name $tar_size" | sha256sum | cut -c1-16)

kfinal=$cache_root/kernel-$kkey
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

# Private temporary directories, removed on any exit.
tmp=
ktmp=
cleanup() { rm -rf ${tmp:+"$tmp"} ${ktmp:+"$ktmp"}; }
trap cleanup EXIT

# --- kernel recipe begin ------------------------------------------------------
# Everything from here to the end marker is part of the kernel's cache key.
have_kernel() {
	[ -s "$kfinal/vmlinux" ] && [ -s "$kfinal/bzImage" ] &&
		[ -s "$kfinal/System.map" ] && [ -s "$kfinal/config" ] &&
		[ -x "$kfinal/gen_init_cpio" ]
}

extract_source() {
	[ -f "$srcdir/Makefile" ] && return 0
	exec 7>"$cache_root/linux-src-$tar_key.lock"
	flock 7
	if [ ! -f "$srcdir/Makefile" ]; then
		rm -rf "$cache_root/.linux-src-$tar_key.tmp."*
		local srctmp=$cache_root/.linux-src-$tar_key.tmp.$$
		mkdir -p "$srctmp"
		msg "extracting $tarball into $srcdir"
		tar -xJf "$tarball" -C "$srctmp" --strip-components=1 ||
			{ rm -rf "$srctmp"; die "cannot extract '$tarball'"; }
		[ -f "$srctmp/Makefile" ] ||
			{ rm -rf "$srctmp"; die "'$tarball' has no top-level Makefile"; }
		rm -rf "$srcdir"
		mv -T "$srctmp" "$srcdir"
	fi
	exec 7>&-
}

build_kernel() {
	local klog failed_log bad line opt got kstart
	have_kernel && return 0
	exec 8>"$cache_root/kernel-$kkey.lock"
	if ! flock -n 8; then
		msg "waiting for another build of kernel-$kkey (lock $cache_root/kernel-$kkey.lock)"
		flock 8
	fi
	if have_kernel; then
		exec 8>&-
		return 0
	fi
	extract_source
	# Leftovers of builds of this kernel that were killed (we hold its lock).
	rm -rf "$cache_root/.kernel-$kkey.tmp."*
	ktmp=$cache_root/.kernel-$kkey.tmp.$$
	mkdir -p "$ktmp/obj"
	klog=$ktmp/build.log
	failed_log=$cache_root/kernel-$kkey.failed.log
	kstart=$(date +%s)

	kfail() {
		cp "$klog" "$failed_log" 2>/dev/null || true
		msg "ERROR: $1; last 40 lines of the log (kept in $failed_log):"
		tail -n 40 "$klog" >&2
		exit 1
	}
	kmake() {
		make -C "$srcdir" O="$ktmp/obj" ARCH=x86_64 "$@" >>"$klog" 2>&1
	}

	msg "building kernel-$kkey in $ktmp (log: $klog, final: $kfinal)"
	: >"$klog"
	kmake tinyconfig || kfail "make tinyconfig failed"
	{
		echo
		echo "# ---- tests/linux/config.fragment ----"
		cat "$fragment"
	} >>"$ktmp/obj/.config"
	kmake olddefconfig || kfail "make olddefconfig failed"

	# Every option in the fragment must be in the final .config as requested.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			if ! grep -qxF -- "$line" "$ktmp/obj/.config"; then
				opt=${line%%=*}
				got=$(grep -E "^(# )?$opt[= ]" "$ktmp/obj/.config" || echo "absent")
				msg "ERROR: config option not as requested: wanted '$line', got '$got'"
				bad=1
			fi ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -qE "^$opt=" "$ktmp/obj/.config"; then
				msg "ERROR: config option not as requested: wanted '$line', got '$(grep -E "^$opt=" "$ktmp/obj/.config")'"
				bad=1
			fi ;;
		esac
	done <"$fragment"
	[ "$bad" = 0 ] || die "the final .config does not honour config.fragment (see above; dependencies in Kconfig?)"
	cp "$ktmp/obj/.config" "$ktmp/config"

	msg "make -j$jobs vmlinux bzImage (a few minutes)"
	kmake -j"$jobs" vmlinux bzImage || kfail "kernel build failed"
	cp "$ktmp/obj/vmlinux" "$ktmp/vmlinux"
	cp "$ktmp/obj/arch/x86/boot/bzImage" "$ktmp/bzImage"
	cp "$ktmp/obj/System.map" "$ktmp/System.map"
	# gen_init_cpio (from the kernel tree) writes a newc archive from a list,
	# so device nodes need no root privileges.
	gcc -O2 -o "$ktmp/gen_init_cpio" "$srcdir/usr/gen_init_cpio.c" >>"$klog" 2>&1 ||
		kfail "cannot compile usr/gen_init_cpio.c"

	rm -rf "$ktmp/obj"
	echo "built in $(($(date +%s) - kstart)) s on $(date -u +%FT%TZ) with $jobs jobs" >"$ktmp/BUILD-INFO"
	rm -rf "$kfinal"
	mv -T "$ktmp" "$kfinal"
	ktmp=
	rm -f "$failed_log"
	exec 8>&-
	msg "kernel-$kkey done: $kfinal"
}
# --- kernel recipe end --------------------------------------------------------

build_kernel

# --- initramfs -------------------------------------------------------------
# Leftovers of builds of this key that were killed (we hold its lock).
rm -rf "$cache_root/.linux-$key.tmp."*
tmp=$cache_root/.linux-$key.tmp.$$
mkdir -p "$tmp"
log=$tmp/build.log
failed_log=$cache_root/linux-$key.failed.log
: >"$log"

fail_with_log() {
	cp "$log" "$failed_log" 2>/dev/null || true
	msg "ERROR: $1; last 40 lines of the log (kept in $failed_log):"
	tail -n 40 "$log" >&2
	exit 1
}

# The kernel files are shared with the kernel cache (hard links where the
# file system allows).
for f in vmlinux bzImage System.map config; do
	ln "$kfinal/$f" "$tmp/$f" 2>/dev/null || cp "$kfinal/$f" "$tmp/$f" ||
		die "cannot copy $kfinal/$f into $tmp"
done

msg "building initramfs (kernel-$kkey)"
have_blktool=0
if "$blktool_cc" -static -O2 -std=c11 -Wall -o "$tmp/blktool" "$blktool_src" >>"$log" 2>&1; then
	have_blktool=1
elif [ "$blktool_cc" = musl-gcc ]; then
	# The compiler is there, so this is a bug in blktool.c: say so loudly.
	fail_with_log "musl-gcc cannot compile $blktool_src"
else
	msg "WARNING: '$blktool_cc -static' cannot build blktool.c (apt-get install musl-tools);" \
		"/bin/blktool left out: the disk tests that need it skip (log: $log)"
	cp "$log" "$failed_log" 2>/dev/null || true
fi

# /dev/console must exist before /init runs: the kernel opens it for PID 1's
# stdin/stdout/stderr and does not mount devtmpfs on an initramfs by itself.
{
	echo "dir /bin 0755 0 0"
	echo "dir /sbin 0755 0 0"
	echo "dir /dev 0755 0 0"
	echo "dir /proc 0755 0 0"
	echo "dir /sys 0755 0 0"
	echo "dir /tmp 1777 0 0"
	echo "dir /root 0700 0 0"
	echo "dir /mnt 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $busybox 0755 0 0"
	for a in sh ash cat echo ls mount umount uname mkdir sleep dmesg \
		poweroff reboot halt sync mknod dd cmp md5sum sha256sum true false \
		test [ printf grep head tail wc rm rmdir cp mv touch find sed cut \
		tr seq stat date expr od hexdump sort tee xargs awk yes basename \
		dirname blockdev diff ln readlink; do
		echo "slink /bin/$a busybox 0777 0 0"
	done
	[ "$have_blktool" = 1 ] && echo "file /bin/blktool $tmp/blktool 0755 0 0"
	echo "file /init $init_script 0755 0 0"
} >"$tmp/initramfs.list"
"$kfinal/gen_init_cpio" "$tmp/initramfs.list" >"$tmp/initramfs.cpio" 2>>"$log" ||
	fail_with_log "gen_init_cpio failed"
gzip -9 -n "$tmp/initramfs.cpio"

# --- publish atomically ----------------------------------------------------
end=$(date +%s)
{
	cat "$kfinal/BUILD-INFO"
	echo "initramfs built on $(date -u +%FT%TZ); blktool: $([ "$have_blktool" = 1 ] && echo "$blktool_cc -static" || echo absent)"
} >"$tmp/BUILD-INFO"
rm -rf "$final"
mv -T "$tmp" "$final"
tmp=
[ "$have_blktool" = 1 ] && rm -f "$failed_log"
msg "done in $((end - start)) s: $final"
finish
