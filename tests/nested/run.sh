#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The nested tier: run a command on a real kvm_amd, inside a QEMU TCG
# machine, with the host's files at the same paths.
#
#   run.sh [OPTIONS] -- CMD [ARG...]
#   run.sh --check          can the tier run here? (no boot; 0 or 77)
#
# QEMU's TCG emulates AMD SVM, so Debian's own kernel (linux-image-amd64)
# booted in `qemu-system-x86_64 -accel tcg -machine q35 -cpu EPYC` loads
# kvm-amd and offers a /dev/kvm whose guests run at about 300 M
# instructions/s, two hundred times the emulating CI hosts' speed (see
# docs/testing.md).  The machine is built from Debian packages only
# (qemu-system-x86, linux-image-amd64, busybox-static, cpio: installed by
# scripts/install-deps.sh): a busybox initramfs (tests/nested/init.sh as
# /init, with the kernel's own virtio, 9p, overlay and KVM modules) mounts
# the host's / read-only over virtio-9p, chroots into it and runs CMD in
# the caller's directory with the caller's environment (MICROVM_NESTED=1
# added, TMPDIR dropped unless writable inside).  Inside, /tmp, /run and
# /dev/shm are fresh tmpfs (where the caller's directory or a share is
# under /tmp, its top directory there is the host's, read-only) and /proc,
# /sys, /dev the nested kernel's.
#
# Options:
#   --rw DIR        share DIR read-write (9p): what CMD writes there
#                   reaches the host
#   --scratch DIR   make DIR writable inside with the writes kept in the
#                   nested machine's RAM (overlayfs) and dropped at the end:
#                   for trees a host process may be using at the same time
#   --timeout SEC   give up (exit 124) after SEC seconds (default 1800)
#   --mem SIZE      the nested machine's RAM, QEMU syntax (default 2G)
#   --tty, --no-tty CMD on a terminal (the virtio console, wired to this
#                   terminal: interactive programs work, Ctrl-C goes to
#                   CMD) or on files (stdout and stderr streamed back
#                   separately, stdin /dev/null).  Default: --tty when
#                   stdin and stdout are terminals
#   -v, --verbose   stream the nested machine's console to stderr and
#                   print the boot and run times at the end
#
# Exit status: CMD's; 77 when the tier cannot run here (the reason on
# stderr, "SKIP: ..."); 124 timed out; 125 the nested machine failed (the
# reason and the tail of its console on stderr); 2 bad usage.
#
# Environment: MICROVM_NESTED_KERNEL (a vmlinuz with modules in
# /lib/modules/<version>; default: the newest /boot/vmlinuz-* that has
# them), MICROVM_NESTED_QEMU (default qemu-system-x86_64),
# MICROVM_NESTED_KEEP=1 (keep the work directory, its path is printed).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	sed -n '7,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,3\}/usage: /' >&2
	echo "(options: see the comment at the top of $0)" >&2
	exit 2
}
note() { echo "nested: $*" >&2; }
skip() {
	echo "SKIP: the nested tier cannot run here: $*" >&2
	exit 77
}
die() {
	echo "nested: ERROR: $*" >&2
	exit 125
}

rw_dirs=()
scratch_dirs=()
timeout_s=1800
mem=2G
tty=auto
verbose=0
check_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--rw) [ $# -ge 2 ] || usage; rw_dirs+=("$2"); shift 2 ;;
	--scratch) [ $# -ge 2 ] || usage; scratch_dirs+=("$2"); shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
	--tty) tty=1; shift ;;
	--no-tty) tty=0; shift ;;
	-v | --verbose) verbose=1; shift ;;
	--check) check_only=1; shift ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ "$check_only" = 1 ] || [ $# -ge 1 ] || usage
case $timeout_s in '' | *[!0-9]*) usage ;; esac
if [ "$tty" = auto ]; then
	tty=0
	[ -t 0 ] && [ -t 1 ] && tty=1
fi

# --- what the tier needs from this machine ---------------------------------
qemu=${MICROVM_NESTED_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null 2>&1 ||
	skip "'$qemu' not found (apt-get install qemu-system-x86)"
# Debian's QEMU has virtio-9p (VirtFS); a build without it cannot share.
"$qemu" -device help 2>/dev/null | grep -q '"virtio-9p-pci"' ||
	skip "'$qemu' has no virtio-9p-pci device (built without VirtFS?): apt-get install qemu-system-x86"
for t in cpio readelf timeout tail; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "'$t' not found (apt-get install $(case $t in cpio) echo cpio ;; readelf) echo binutils ;; *) echo coreutils ;; esac))"
done

# The kernel and its modules: one Debian linux-image package.
kernel=
kver=
if [ -n "${MICROVM_NESTED_KERNEL:-}" ]; then
	kernel=$MICROVM_NESTED_KERNEL
	kver=${kernel##*/vmlinuz-}
	[ -r "$kernel" ] || skip "MICROVM_NESTED_KERNEL='$kernel' is not a readable file"
	[ -r "/lib/modules/$kver/modules.dep" ] ||
		skip "no /lib/modules/$kver/modules.dep for MICROVM_NESTED_KERNEL='$kernel' (the name must be vmlinuz-<version>)"
else
	for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${k#/boot/vmlinuz-}
		if [ -r "$k" ] && [ -r "/lib/modules/$v/modules.dep" ]; then
			kernel=$k
			kver=$v
			break
		fi
	done
	[ -n "$kernel" ] ||
		skip "no readable /boot/vmlinuz-<version> with /lib/modules/<version> (apt-get install linux-image-amd64)"
fi
mdir=/lib/modules/$kver

busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && readelf -l "$b" 2>/dev/null | grep -q LOAD &&
		! readelf -l "$b" 2>/dev/null | grep -q INTERP; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || skip "no statically linked busybox (apt-get install busybox-static)"

# Module paths (relative to $mdir) in load order: each one's dependencies
# from modules.dep (listed there last-loaded first), then the module.
# Built-in modules (modules.builtin) need nothing.
mods=()
add_mod() {
	local m
	for m in "${mods[@]}"; do
		[ "$m" = "$1" ] && return 0
	done
	mods+=("$1")
}
resolve_mods() {
	local name line deps i
	for name; do
		line=$(grep -E "(^|/)$name\.ko(\.xz|\.zst|\.gz)?:" "$mdir/modules.dep" | head -n 1)
		if [ -z "$line" ]; then
			grep -qE "(^|/)$name\.ko$" "$mdir/modules.builtin" 2>/dev/null && continue
			skip "kernel $kver has no module $name (not in $mdir/modules.dep nor built in)"
		fi
		read -r -a deps <<<"${line#*:}"
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
			add_mod "${deps[i]}"
		done
		add_mod "${line%%:*}"
	done
}
base_mods=(virtio_pci 9pnet_virtio 9p overlay)
[ "$tty" = 1 ] && base_mods+=(virtio_console)
resolve_mods "${base_mods[@]}"
n_base=${#mods[@]}
# kvm-amd only: TCG emulates SVM but not VMX, so kvm-intel cannot work.
resolve_mods kvm-amd

# Shares: absolute, existing directories; no "," or ":" in a scratch path
# (overlayfs option syntax) and no newline anywhere (the mounts file).
canon() {
	local d
	d=$(realpath -e -- "$1" 2>/dev/null) && [ -d "$d" ] ||
		die "$2 '$1': no such directory"
	case $d in
	/) die "$2 /: the host's / is already shared (read-only); name a directory below it" ;;
	*$'\n'*) die "$2 '$1': a path with a newline cannot be shared" ;;
	esac
	[ "$2" = --scratch ] && case $d in *[,:]*) die "--scratch '$d': overlayfs cannot take a path with ',' or ':'" ;; esac
	echo "$d"
}

if [ "$check_only" = 1 ]; then
	echo "nested tier: ready to try: $qemu ($("$qemu" --version | head -n 1)), kernel $kernel, ${#mods[@]} modules, $busybox"
	echo "(whether TCG offers SVM shows only when it boots: run.sh -- true)"
	exit 0
fi

# A bzImage decompresses itself, which under TCG takes about 3 s of every
# boot.  QEMU can boot the ELF vmlinux inside it directly, through its PVH
# entry (CONFIG_PVH): take that out once (Debian compresses with xz) and
# keep it, keyed by the image's path, size and time.  Anything unexpected
# (another compressor, no PVH note, no writable cache): boot the bzImage.
boot_kernel=$kernel
pvh_vmlinux() {
	local cache setup off len key out tmp
	cache=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/microvm/nested
	key=$(stat -L -c '%s-%Y' "$kernel" 2>/dev/null) || return 1
	out=$cache/vmlinux-$kver-$key
	[ -s "$out" ] && { echo "$out"; return 0; }
	command -v xz >/dev/null 2>&1 || return 1
	# Boot protocol header: setup_sects at 0x1f1, payload_offset and
	# payload_length at 0x248 and 0x24c (the payload follows the setup).
	setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$kernel" | tr -d ' ')
	off=$(od -An -tu4 -j $((0x248)) -N4 "$kernel" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$kernel" | tr -d ' ')
	[ -n "$setup" ] && [ -n "$off" ] && [ -n "$len" ] && [ "$len" -gt 0 ] || return 1
	off=$(((setup + 1) * 512 + off))
	[ "$(od -An -tx1 -j "$off" -N6 "$kernel" | tr -d ' ')" = fd377a585a00 ] || return 1
	mkdir -p "$cache" 2>/dev/null || return 1
	tmp=$(mktemp "$out.XXXXXX" 2>/dev/null) || return 1
	if tail -c +$((off + 1)) "$kernel" | head -c "$len" | xz -dc --single-stream >"$tmp" 2>/dev/null &&
		readelf -n "$tmp" 2>/dev/null | grep -q 'Xen .*0x00000012' &&
		mv -f "$tmp" "$out"; then
		echo "$out"
		return 0
	fi
	rm -f "$tmp"
	return 1
}
if v=$(pvh_vmlinux); then
	boot_kernel=$v
fi

# --- the work directory: initramfs and the control share -------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/microvm-nested.XXXXXX") || die "cannot create a work directory"
ctl=$work/ctl
qpid=
tails=()
saved_stty=
cleanup() {
	[ -n "$qpid" ] && kill -TERM "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	[ ${#tails[@]} -gt 0 ] && kill "${tails[@]}" 2>/dev/null
	[ -n "$saved_stty" ] && stty "$saved_stty" 2>/dev/null
	if [ "${MICROVM_NESTED_KEEP:-0}" = 1 ]; then
		note "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM HUP

mkdir -p "$work/initramfs/bin" "$work/initramfs/lib/modules" "$work/initramfs/modules" \
	"$work/initramfs/dev" "$work/initramfs/proc" "$work/initramfs/sys" "$ctl" ||
	die "cannot populate $work"
cp "$busybox" "$work/initramfs/bin/busybox" &&
	cp "$here/init.sh" "$work/initramfs/init" &&
	chmod 755 "$work/initramfs/init" || die "cannot copy busybox and init.sh into $work"
: >"$work/initramfs/modules/base"
: >"$work/initramfs/modules/kvm"
for ((i = 0; i < ${#mods[@]}; i++)); do
	src=$mdir/${mods[i]}
	name=$(basename "${src%.*}")
	case $src in
	*.ko) name=$(basename "$src"); cp "$src" "$work/initramfs/lib/modules/$name" ;;
	*.ko.xz) name=${name%.ko}.ko; xz -dc "$src" >"$work/initramfs/lib/modules/$name" ;;
	*.ko.zst) name=${name%.ko}.ko; zstd -qdc "$src" >"$work/initramfs/lib/modules/$name" ;;
	*.ko.gz) name=${name%.ko}.ko; gzip -dc "$src" >"$work/initramfs/lib/modules/$name" ;;
	esac || skip "cannot read or decompress $src (xz-utils, zstd or gzip missing?)"
	if [ "$i" -lt "$n_base" ]; then
		echo "$name" >>"$work/initramfs/modules/base"
	else
		echo "$name" >>"$work/initramfs/modules/kvm"
	fi
done
(cd "$work/initramfs" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) \
	>"$work/initramfs.cpio" || die "cpio failed to build the initramfs"

# The mounts, parents before children (a prefix sorts first), so a share
# below another one is mounted on top of it.
declare -A kind_of=()
for d in "${scratch_dirs[@]}"; do
	d=$(canon "$d" --scratch) || exit
	kind_of[$d]=scratch
done
for d in "${rw_dirs[@]}"; do
	d=$(canon "$d" --rw) || exit
	kind_of[$d]=rw
done
qemu_shares=()
: >"$ctl/mounts"
n=0
while IFS= read -r d; do
	[ -n "$d" ] || continue
	if [ "${kind_of[$d]}" = rw ]; then
		tag=rw$n
		n=$((n + 1))
		qemu_shares+=(-fsdev "local,id=$tag,path=${d//,/,,},security_model=none,multidevs=remap"
			-device "virtio-9p-pci,fsdev=$tag,mount_tag=$tag")
		echo "rw $tag $d" >>"$ctl/mounts"
	else
		echo "scratch - $d" >>"$ctl/mounts"
	fi
done < <(printf '%s\n' "${!kind_of[@]}" | LC_ALL=C sort)
# /tmp is a fresh tmpfs inside (a snapshot disk's O_TMPFILE needs one): a
# tree the caller keeps under /tmp (a clone in mktemp -d, its build dir
# shared) is bound into it from the host's, read-only like the rest of /,
# before the shares (parents first).
tmp_tops=$(for d in "$PWD" "$here" "$1" "${!kind_of[@]}"; do
	case $d in /tmp/?*) d=${d#/tmp/}; echo "/tmp/${d%%/*}" ;; esac
done | LC_ALL=C sort -u)
if [ -n "$tmp_tops" ]; then
	{ while IFS= read -r d; do echo "tmp - $d"; done <<<"$tmp_tops"
	  cat "$ctl/mounts"; } >"$ctl/mounts.new" &&
		mv "$ctl/mounts.new" "$ctl/mounts"
fi

# The command, with the caller's environment and directory.  Variables
# that only make sense on the host are left out.
{
	echo "# written by tests/nested/run.sh for the nested machine"
	while IFS= read -r v; do
		case $v in
		PWD | OLDPWD | SHLVL | _ | XDG_RUNTIME_DIR | DBUS_SESSION_BUS_ADDRESS | \
			SSH_* | DISPLAY | WAYLAND_DISPLAY | BASH_FUNC_*) continue ;;
		esac
		[[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		printf 'export %s=%q\n' "$v" "${!v}"
	done < <(compgen -e)
	echo "export MICROVM_NESTED=1"
	# /tmp is a fresh tmpfs inside; a TMPDIR elsewhere may be read-only.
	echo 'if [ -n "${TMPDIR:-}" ] && ! { mkdir -p "$TMPDIR" && [ -w "$TMPDIR" ]; } 2>/dev/null; then unset TMPDIR; fi'
	if [ "$tty" = 1 ]; then
		size=$(stty size 2>/dev/null) &&
			printf 'stty rows %d cols %d 2>/dev/null\n' ${size% *} ${size#* }
	fi
	printf 'cd %q || { echo "nested: cannot enter %q inside the nested machine" >&2; exit 125; }\n' "$PWD" "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$ctl/cmd.sh"
echo "NESTED_TTY=$tty" >"$ctl/config"
: >"$ctl/stdout"
: >"$ctl/stderr"
: >"$work/console.log"

# --- the machine --------------------------------------------------------------
# -cpu EPYC: an AMD model, so TCG offers SVM (with nested paging); -smp 1:
# a second vCPU (multi-threaded TCG) was no faster and hung once.
# No network, no display, no default devices: the console is a log file.
cmd=("$qemu" -accel tcg -machine q35 -cpu EPYC -smp 1 -m "$mem"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$boot_kernel" -initrd "$work/initramfs.cpio"
	-append "console=ttyS0 quiet panic=-1"
	-serial "file:$work/console.log"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
	-fsdev "local,id=nestedctl,path=${ctl//,/,,},security_model=none,multidevs=remap"
	-device "virtio-9p-pci,fsdev=nestedctl,mount_tag=nestedctl"
	"${qemu_shares[@]}")
if [ "$tty" = 1 ]; then
	# signal=off: Ctrl-C is a byte for the command, not the end of QEMU.
	cmd+=(-chardev stdio,id=tty,signal=off -device virtio-serial-pci
		-device virtconsole,chardev=tty)
	saved_stty=$(stty -g 2>/dev/null)
fi
# If this script is killed outright, timeout (and through it QEMU) gets
# SIGTERM rather than living on.
pdeath=()
command -v setpriv >/dev/null 2>&1 && pdeath=(setpriv --pdeathsig TERM --)

start=$EPOCHREALTIME
if [ "$tty" = 1 ]; then
	# QEMU reads the terminal: --foreground keeps it in the terminal's
	# foreground process group (timeout otherwise makes its own, where
	# reading stops it with SIGTTIN), and <&0 because without job control
	# bash gives a background command /dev/null as its stdin.
	"${pdeath[@]}" timeout --foreground --kill-after=10 "$timeout_s" \
		"${cmd[@]}" <&0 2>"$work/qemu.log" &
else
	"${pdeath[@]}" timeout --kill-after=10 "$timeout_s" "${cmd[@]}" \
		</dev/null >"$work/qemu.log" 2>&1 &
fi
qpid=$!
if [ "$tty" = 0 ]; then
	tail -n +1 -s 0.2 --pid="$qpid" -f "$ctl/stdout" &
	tails+=($!)
	tail -n +1 -s 0.2 --pid="$qpid" -f "$ctl/stderr" >&2 &
	tails+=($!)
fi
if [ "$verbose" = 1 ]; then
	tail -n +1 -s 0.2 --pid="$qpid" -f "$work/console.log" >&2 &
	tails+=($!)
	# The wall time from QEMU's start to a usable /dev/kvm inside.
	(
		while [ ! -e "$ctl/kvm-ready" ]; do
			kill -0 "$qpid" 2>/dev/null || exit 0
			sleep 0.05
		done
		awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN { printf "%.1f", a - b }' >"$work/kvm-ready-wall"
	) &
	tails+=($!)
fi
qrc=0
wait "$qpid" || qrc=$?
qpid=
# The tails stop by themselves once QEMU is gone and they have read all.
wait "${tails[@]}" 2>/dev/null
tails=()
elapsed=$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
[ -n "$saved_stty" ] && stty "$saved_stty" 2>/dev/null
saved_stty=

if [ "$verbose" = 1 ]; then
	note "QEMU ran ${elapsed} s; /dev/kvm was ready $(cat "$work/kvm-ready-wall" 2>/dev/null || echo '?') s after QEMU started ($(cat "$ctl/kvm-ready" 2>/dev/null || echo '?') s into the nested kernel's uptime)"
fi

console_tail() {
	echo "--- last 40 lines of the nested machine's console ---" >&2
	tail -n 40 "$work/console.log" >&2
	if [ -s "$work/qemu.log" ]; then
		echo "--- QEMU's messages ---" >&2
		grep -v "TCG doesn't support requested feature" "$work/qemu.log" | tail -n 20 >&2
	fi
	echo "---" >&2
}

if [ -s "$ctl/status" ]; then
	rc=$(cat "$ctl/status")
	case $rc in '' | *[!0-9]*) die "the nested machine wrote a bad exit status '$rc'" ;; esac
	exit "$rc"
fi
if [ -s "$ctl/unavailable" ]; then
	console_tail
	skip "$(cat "$ctl/unavailable")"
fi
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	console_tail
	note "ERROR: timed out after $timeout_s s (the command did not finish)"
	exit 124
fi
console_tail
if [ -s "$ctl/error" ]; then
	die "the nested machine failed: $(cat "$ctl/error")"
fi
die "the nested machine stopped after ${elapsed} s before the command finished (QEMU exit status $qrc)"
