# SPDX-License-Identifier: Apache-2.0
# Shared by the test scripts (sourced, not run).

# Why this host cannot run KVM guests, or nothing when it can.  Never
# opens /dev/kvm for writing from the shell: as root, `exec 3<>/dev/kvm`
# on a host without KVM *creates* /dev/kvm as an empty regular file.
kvm_unusable_reason() {
	if [ ! -e /dev/kvm ]; then
		echo "no /dev/kvm on this host (KVM not loaded, or no virtualisation for this machine)"
	elif [ ! -c /dev/kvm ]; then
		echo "/dev/kvm is not a character device (remove it; KVM is not available)"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "no read-write permission on /dev/kvm (add the user to the kvm group)"
	elif ! (exec 3</dev/kvm) 2>/dev/null; then
		echo "/dev/kvm cannot be opened (no KVM driver behind the device node)"
	fi
}

# Exit 77 (ctest: skipped) with the reason when KVM is not usable here.
require_kvm() {
	local why

	why=$(kvm_unusable_reason)
	if [ -n "$why" ]; then
		echo "SKIP: $why"
		exit 77
	fi
}

# Fail when any of the given files does not exist.
require_files() {
	local f
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "FAIL: $f does not exist"
			exit 1
		fi
	done
}

# The median of the numbers on stdin, one per line ("n/a" lines left out):
# the middle one, or the mean of the two middle ones; "n/a" when none.
median() {
	grep -v '^n/a$' | sort -g |
		awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'
}

# Did the replay whose stderr is ERR stop at or after an asynchronous
# position of TRACE (the known limit of exit-pinned replay)?  MICROVM reads
# the trace.
replay_stopped_async() {
	local microvm=$1 err=$2 trace=$3 n

	grep -q "an asynchronous position was not found" "$err" && return 0
	n=$(sed -n 's/^replay: replay diverged at event \([0-9]*\).*/\1/p' "$err" | head -1)
	[ -n "$n" ] || return 1
	"$microvm" trace dump --to "$n" "$trace" 2>/dev/null | grep -q "+async"
}
