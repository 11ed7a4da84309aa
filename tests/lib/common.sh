# SPDX-License-Identifier: Apache-2.0
# Shared by the test scripts (sourced, not run).

# Exit 77 (ctest: skipped) with the reason when /dev/kvm cannot be opened
# the way microvm opens it: existing but unopenable (no kvm group, nested
# virtualisation off) is a skip, not a failure.
require_kvm() {
	# Not (exec 3<>/dev/kvm): as root, where there is none, that creates
	# a regular file.
	if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "SKIP: cannot open /dev/kvm read-write" \
		     "(missing, or no permission: add the user to the kvm group)"
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
