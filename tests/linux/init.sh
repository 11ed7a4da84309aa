#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init (PID 1) of microvm's Linux test guest.  Mounts the pseudo
# filesystems, prints the marker the boot tests look for, runs the test the
# kernel command line asks for (if any), powers off.  Prints the marker only
# if every step before it worked.
#
# Tests, chosen with microvm.test=NAME on the kernel command line:
#   ext4      mount /dev/vda (ext4, made on the host) read-write at /mnt,
#             write the files below, print their md5sums, sync, umount
#   ext4-ro   mount /dev/vda read-only, print the md5sums of the files ext4
#             wrote, check that writes fail (file system, remount, device)
#   blkbench  read /dev/vda: blktool seqread (O_DIRECT), blktool randread
#             (O_DIRECT 4 KiB), dd bs=1M (buffered); see bench/blk-bench.sh
# Parameters: microvm.mib=N (size of the ext4 test's data file, default 2;
# blkbench: MiB read sequentially, default 16), microvm.count=N (blkbench
# random reads, default 1000).
# Output lines for the host to parse:
#   MICROVM-DISK vda size_sectors=N ro=0|1
#   MICROVM-SUM <md5> /<path>            (one per file, path inside the fs)
#   MICROVM-TEST-PASS: <test>  /  MICROVM-TEST-FAIL: <test>: <reason>
#   MICROVM-BENCH <name> begin|end       (the host timestamps these)
# Whatever happens, /init ends with poweroff -f (microvm.exit=reboot: with
# reboot -f, for QEMU -no-reboot, where a halted guest does not end QEMU): a
# failing test is reported by its marker line, not by hanging the VM.
export PATH=/bin:/sbin

off=poweroff

fail() {
	echo "MICROVM-LINUX-INIT-FAIL: $*"
	$off -f
	exit 1
}

mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs /dev || fail "mount devtmpfs"
case " $(cat /proc/cmdline) " in
*" microvm.exit=reboot "*) off=reboot ;;
esac

echo "MICROVM-LINUX-INIT-OK"
echo "uname -r: $(uname -r)"
echo "cmdline: $(cat /proc/cmdline)"
# Which timers the kernel settled on (PIT / jiffies expected on microvm).
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
ce=/sys/devices/system/clockevents/clockevent0/current_device
echo "clocksource: $(cat $cs 2>/dev/null) clockevent: $(cat $ce 2>/dev/null)"

test_name=
mib=
count=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	microvm.test=*) test_name=${arg#microvm.test=} ;;
	microvm.mib=*) mib=${arg#microvm.mib=} ;;
	microvm.count=*) count=${arg#microvm.count=} ;;
	esac
done

# --- disk tests ----------------------------------------------------------------
# The files the ext4 test writes (paths inside the file system).  The host
# (tests/linux/ext4-roundtrip.sh) generates the same content to compare.
FILES="/hello.txt /data.bin /tree/seq.txt /tree/d0/f0 /tree/d0/f1 /tree/d1/f0
/tree/d1/f1 /tree/d1/sub/deep.txt /tree/empty"

test_failed=
tfail() {
	echo "MICROVM-TEST-FAIL: $test_name: $*"
	test_failed=1
}

disk_info() {
	[ -b /dev/vda ] || { tfail "no /dev/vda (virtio-blk device not found; see the kernel log above)"; return 1; }
	echo "MICROVM-DISK vda size_sectors=$(cat /sys/block/vda/size) ro=$(cat /sys/block/vda/ro)"
}

print_sums() {
	for f in $FILES; do
		s=$(md5sum "/mnt$f") || { tfail "md5sum $f"; continue; }
		echo "MICROVM-SUM ${s%% *} $f"
	done
}

ext4_write() {
	disk_info || return
	command -v blktool >/dev/null || { tfail "/bin/blktool missing from the initramfs (build.sh: musl-gcc?)"; return; }
	mount -t ext4 /dev/vda /mnt || { tfail "mount -t ext4 /dev/vda /mnt"; return; }
	echo "hello from the microvm guest" >/mnt/hello.txt || tfail "write hello.txt"
	blktool pattern $((${mib:-2} * 1048576)) 42 >/mnt/data.bin || tfail "write data.bin"
	mkdir -p /mnt/tree/d0 /mnt/tree/d1/sub || tfail "mkdir tree"
	seq 1 3000 >/mnt/tree/seq.txt || tfail "write seq.txt"
	for d in 0 1; do
		for i in 0 1; do
			echo "file $i in directory d$d" >"/mnt/tree/d$d/f$i" || tfail "write d$d/f$i"
		done
	done
	# Appended in small writes, several of them after an fsync.
	for i in 1 2 3 4 5; do
		echo "line $i" >>/mnt/tree/d1/sub/deep.txt || tfail "append deep.txt"
	done
	sync
	for i in 6 7 8; do
		echo "line $i" >>/mnt/tree/d1/sub/deep.txt || tfail "append deep.txt"
	done
	: >/mnt/tree/empty || tfail "create empty"
	ln -s ../hello.txt /mnt/tree/link || tfail "symlink"
	# Created and removed: must not be there afterwards.
	{ echo "gone" >/mnt/tree/removed && rm /mnt/tree/removed; } || tfail "create+remove"
	print_sums
	ls -lR /mnt
	sync || tfail "sync"
	umount /mnt || tfail "umount /mnt"
}

ext4_ro() {
	disk_info || return
	[ "$(cat /sys/block/vda/ro)" = 1 ] || tfail "/dev/vda is not read-only (ro=$(cat /sys/block/vda/ro)): was the disk attached read-only?"
	mount -t ext4 -o ro /dev/vda /mnt || { tfail "mount -o ro /dev/vda /mnt"; return; }
	print_sums
	[ "$(readlink /mnt/tree/link)" = ../hello.txt ] || tfail "symlink tree/link wrong: '$(readlink /mnt/tree/link)'"
	[ ! -e /mnt/tree/removed ] || tfail "tree/removed exists"
	# Every write must fail, and fail promptly.
	if echo x >/mnt/new.txt; then tfail "writing a file on the ro mount succeeded"; fi
	echo "ro: file write refused (expected)"
	if mount -o remount,rw /mnt; then tfail "remount rw of a read-only device succeeded"; fi
	echo "ro: remount rw refused (expected)"
	# Write sector 0 back unchanged (harmless if it ever got through).
	dd if=/dev/vda of=/tmp/sector0 bs=512 count=1 2>/dev/null || tfail "read sector 0"
	if dd if=/tmp/sector0 of=/dev/vda bs=512 count=1 oflag=direct conv=notrunc; then
		tfail "writing /dev/vda succeeded"
	fi
	echo "ro: device write refused (expected)"
	umount /mnt || tfail "umount /mnt"
}

blk_bench() {
	disk_info || return
	command -v blktool >/dev/null || { tfail "/bin/blktool missing from the initramfs (build.sh: musl-gcc?)"; return; }
	m=${mib:-16}
	n=${count:-1000}
	echo "MICROVM-BENCH seqread begin"
	blktool seqread /dev/vda "$m" 1024 || tfail "blktool seqread"
	echo "MICROVM-BENCH seqread end"
	echo "MICROVM-BENCH randread begin"
	blktool randread /dev/vda "$n" 4 1 || tfail "blktool randread"
	echo "MICROVM-BENCH randread end"
	echo "MICROVM-BENCH dd begin"
	blktool time dd $((m * 1048576)) dd if=/dev/vda of=/dev/null bs=1M count="$m" || tfail "dd"
	echo "MICROVM-BENCH dd end"
}

# Output that depends on timing: tick and disk interrupt counts, uptime,
# three concurrent readers of the disk, then the ext4 write (rr-exit.sh
# records and replays it: the replay must print the same).
rr_workload() {
	disk_info || return
	echo "MICROVM-RR uptime $(cat /proc/uptime)"
	grep -E 'timer|virtio' /proc/interrupts | tr -s ' '
	for i in 0 1 2; do
		(blktool randread /dev/vda 200 4 $((i + 1)) >/tmp/r$i 2>&1 ||
			echo "reader $i failed" >>/tmp/r$i) &
	done
	wait
	for i in 0 1 2; do echo "MICROVM-RR reader $i: $(cat /tmp/r$i | tr '\n' ' ')"; done
	echo "MICROVM-RR uptime $(cat /proc/uptime)"
	ext4_write
	grep -E 'timer|virtio' /proc/interrupts | tr -s ' '
	echo "MICROVM-RR uptime $(cat /proc/uptime)"
}

case "$test_name" in
"") ;;
rr) rr_workload ;;
ext4) ext4_write ;;
ext4-ro) ext4_ro ;;
blkbench) blk_bench ;;
*) tfail "unknown test (known: rr ext4 ext4-ro blkbench)" ;;
esac
if [ -n "$test_name" ] && [ -z "$test_failed" ]; then
	echo "MICROVM-TEST-PASS: $test_name"
fi

# Without ACPI or another pm_power_off handler, reboot(POWER_OFF) becomes
# HALT in the kernel: interrupts off and hlt forever, which microvm treats
# as power-off.
$off -f
echo "MICROVM-LINUX-INIT-FAIL: $off -f returned"
exit 1
