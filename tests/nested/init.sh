#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
#
# PID 1 of the nested tier's machine (tests/nested/run.sh puts it in the
# initramfs as /init, next to a static busybox and the modules it loads).
#
#   1. the virtio-pci, 9p and overlay modules; the control share (/ctl,
#      the host's work directory of this run) mounted read-write
#   2. irqbypass, kvm, ccp, kvm-amd: if /dev/kvm does not come up, the
#      reason goes to /ctl/unavailable and run.sh reports a skip
#   3. the host's / read-only at /host; over it the guest's own proc, sys,
#      dev, tmp and run, then what /ctl/mounts lists: "tmp - PATH" (the
#      host's /tmp/X bound into the fresh /tmp, read-only), the shares
#      "rw TAG PATH" (9p, writes reach the host) and "scratch - PATH"
#      (overlayfs: writable here, the writes stay in this machine's RAM)
#   4. chroot /host, run /ctl/cmd.sh (written by run.sh: the environment,
#      the directory and the command); its exit status to /ctl/status
#   5. power off
# Progress and errors go to the console (the host keeps it in a log and
# shows its tail when something goes wrong).  Anything that fails before
# /ctl/status is written makes run.sh fail (exit 125) with that tail.

PATH=/bin
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
# The kernel opened /dev/console before devtmpfs existed: open it now.
exec </dev/null >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys

say() { echo "nested-init: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

off() {
	sync
	poweroff -f
	sleep 10
	echo o >/proc/sysrq-trigger
}

fatal() {
	say "ERROR: $*"
	grep -q ' /ctl ' /proc/mounts && echo "$*" >/ctl/error
	off
}

unavailable() {
	say "nested tier unavailable: $*"
	echo "$*" >/ctl/unavailable
	off
}

# Load the modules listed (one file name a line, in order) in $1.
load() {
	local m out
	while read -r m; do
		[ -n "$m" ] || continue
		if ! out=$(insmod "/lib/modules/$m" 2>&1); then
			echo "insmod $m: $out; kernel: $(dmesg | tail -n 3 | tr '\n' ' ')"
			return 1
		fi
	done <"$1"
}

# mount9p TAG DIR OPTIONS: the device behind TAG appears when its driver
# probes it, which insmod waits for; retry briefly all the same.
mount9p() {
	local i=0
	while ! mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000${3:+,$3}" "$1" "$2"; do
		i=$((i + 1))
		[ "$i" -lt 20 ] || return 1
		sleep 0.1
	done
}

say "up"
err=$(load /modules/base) || fatal "cannot load the virtio/9p/overlay modules: $err"
mkdir -p /ctl /host /ovl
mount9p nestedctl /ctl || fatal "cannot mount the control share (9p tag nestedctl)"
NESTED_TTY=0
. /ctl/config || fatal "cannot read /ctl/config"

err=$(load /modules/kvm) || unavailable "kvm-amd does not load: $err"
[ -c /dev/kvm ] || unavailable "kvm-amd loaded but /dev/kvm did not appear"
cut -d' ' -f1 /proc/uptime >/ctl/kvm-ready
say "/dev/kvm ready"

# The host's files at the same paths, and what udev would add to /dev
# (bash's process substitution needs /dev/fd).  Read-only, and cached: nothing on
# the host is supposed to change what the command reads while it runs
# (what it writes goes through the shares below, which are not cached).
mount9p hostroot /host "ro,cache=loose" || fatal "cannot mount the host's / (9p tag hostroot)"
mount -t proc proc /host/proc &&
	mount -t sysfs sys /host/sys &&
	mount -t devtmpfs dev /host/dev &&
	mkdir -p /host/dev/pts /host/dev/shm &&
	ln -sf /proc/self/fd /host/dev/fd &&
	ln -sf /proc/self/fd/0 /host/dev/stdin &&
	ln -sf /proc/self/fd/1 /host/dev/stdout &&
	ln -sf /proc/self/fd/2 /host/dev/stderr &&
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts &&
	mount -t tmpfs -o mode=1777 shm /host/dev/shm &&
	mkdir -p /hosttmp && mount --bind /host/tmp /hosttmp &&
	mount -t tmpfs -o mode=1777 tmp /host/tmp &&
	mount -t tmpfs -o mode=755 run /host/run &&
	mkdir -p /host/run/microvm-nested &&
	mount --bind /ctl /host/run/microvm-nested ||
	fatal "cannot mount proc, sys, dev, tmp or run over the host's /"

mount -t tmpfs -o mode=700 ovl /ovl || fatal "cannot mount a tmpfs for the scratch layers"
n=0
while read -r kind tag path; do
	[ -n "$kind" ] || continue
	if [ "$kind" = tmp ]; then
		# A directory or a file (a script run from /tmp).
		if [ -d "/hosttmp/${path#/tmp/}" ]; then
			mkdir -p "/host$path"
		else
			touch "/host$path"
		fi
		mount --bind "/hosttmp/${path#/tmp/}" "/host$path" ||
			fatal "cannot bind the host's $path into the fresh /tmp"
		continue
	fi
	# Paths under /tmp or /run are in the fresh tmpfs: make them.
	[ -d "/host$path" ] || mkdir -p "/host$path" ||
		fatal "$kind share $path: no such directory inside"
	case $kind in
	rw)
		mount9p "$tag" "/host$path" || fatal "cannot mount the read-write share $path (9p tag $tag)"
		;;
	scratch)
		n=$((n + 1))
		mkdir -p "/ovl/$n/upper" "/ovl/$n/work"
		mount -t overlay -o "lowerdir=/host$path,upperdir=/ovl/$n/upper,workdir=/ovl/$n/work" \
			"scratch$n" "/host$path" ||
			fatal "cannot mount an overlay (scratch) over $path"
		;;
	*)
		fatal "bad line in /ctl/mounts: $kind $tag $path"
		;;
	esac
done </ctl/mounts
hostname nested

say "running the command"
if [ "$NESTED_TTY" = 1 ]; then
	# An interactive session: the command gets the virtio console (hvc0,
	# a terminal wired to the host's) as its controlling terminal, so a
	# microvm inside puts it in raw mode and Ctrl-C reaches the command.
	setsid -c chroot /host /bin/bash /run/microvm-nested/cmd.sh \
		</dev/hvc0 >/dev/hvc0 2>&1
else
	chroot /host /bin/bash /run/microvm-nested/cmd.sh \
		</dev/null >/ctl/stdout 2>/ctl/stderr
fi
st=$?
sync
echo "$st" >/ctl/status.tmp && mv /ctl/status.tmp /ctl/status
say "the command exited with status $st"
off
