#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init (PID 1) of microvm's Linux test guest.  Mounts the pseudo
# filesystems, prints the marker the boot tests look for, powers off.
# Prints the marker only if every step before it worked.
export PATH=/bin:/sbin

fail() {
	echo "MICROVM-LINUX-INIT-FAIL: $*"
	poweroff -f
	exit 1
}

mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs /dev || fail "mount devtmpfs"

echo "MICROVM-LINUX-INIT-OK"
echo "uname -r: $(uname -r)"
echo "cmdline: $(cat /proc/cmdline)"
# Which timers the kernel settled on (PIT / jiffies expected on microvm).
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
ce=/sys/devices/system/clockevents/clockevent0/current_device
echo "clocksource: $(cat $cs 2>/dev/null) clockevent: $(cat $ce 2>/dev/null)"

# Without ACPI or another pm_power_off handler, reboot(POWER_OFF) becomes
# HALT in the kernel: interrupts off and hlt forever, which microvm treats
# as power-off.
poweroff -f
echo "MICROVM-LINUX-INIT-FAIL: poweroff -f returned"
exit 1
