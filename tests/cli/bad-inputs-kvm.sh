#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bad-inputs-kvm.sh MICROVM HELLO_ELF
#
# The bad inputs that need KVM: an image held by a running microvm, and
# /dev/kvm without permission.  Skips (77) where KVM is not usable, or
# when the permission case cannot be set up and nothing else ran.
set -u

microvm=$1
hello=$2
. "$(dirname "$0")/../lib/common.sh"
require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/expect.sh"


truncate -s 1M "$tmp/disk.img"
{
	# A guest that waits for input holds the image while we try again.
	mkfifo "$tmp/hold"
	"$microvm" --kernel "$(dirname "$hello")/serial-echo.elf" \
		--disk "$tmp/disk.img" <"$tmp/hold" >"$tmp/hold.out" 2>&1 &
	holder=$!
	exec 5>"$tmp/hold"
	for _ in $(seq 1 100); do
		grep -q "serial-echo: ready" "$tmp/hold.out" 2>/dev/null && break
		sleep 0.1
	done
	expect "disk locked by another microvm" 1 "in use by another process" \
		"$microvm" --kernel "$hello" --disk "$tmp/disk.img"
	expect "read-only open of a locked image" 1 "in use by another process" \
		"$microvm" --kernel "$hello" --disk "$tmp/disk.img,ro"
	kill -TERM "$holder"
	wait "$holder" 2>/dev/null
	exec 5>&-
}

# /dev/kvm without permission: needs root to drop to an unprivileged user.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 &&
	[ "$(stat -c %a /dev/kvm 2>/dev/null)" != 666 ]; then
	cp "$microvm" "$tmp/microvm" && cp "$hello" "$tmp/hello.elf"
	chmod 755 "$tmp" "$tmp/microvm" && chmod 644 "$tmp/hello.elf"
	expect "no permission on /dev/kvm" 1 "cannot open /dev/kvm: Permission denied; add your user" \
		su nobody -s /bin/sh -c "'$tmp/microvm' --kernel '$tmp/hello.elf'"
else
	echo "note: no permission on /dev/kvm not checked: needs root, a 'nobody' user and a /dev/kvm that is not world-writable"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
