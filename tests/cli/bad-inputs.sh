#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bad-inputs.sh MICROVM HELLO_ELF
#
# Every bad input gets a clear message and the documented exit status:
# 2 for a bad command line, 1 when the VM cannot start.  Each case names
# the expected status and a pattern the message must contain.
set -u

microvm=$1
hello=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
skip=0

kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

expect() {
	local name=$1 status=$2 pattern=$3
	shift 3
	local out rc=0
	out=$("$@" </dev/null 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -eq "$status" ] && grep -qE -- "$pattern" <<<"$out"; then
		pass=$((pass + 1))
		echo "ok   $name: $(grep -E -- "$pattern" <<<"$out" | head -1)"
	elif [ "$rc" -eq 1 ] && [ "$status" -eq 1 ] && ! kvm_usable &&
		grep -qE "cannot open /dev/kvm|/dev/kvm is not a character device" <<<"$out"; then
		# microvm opens /dev/kvm before it reads the files; the nested
		# tier runs this case with KVM.
		skip=$((skip + 1))
		echo "skip $name: no usable /dev/kvm, and microvm stops there before it reads the files"
	else
		fail=$((fail + 1))
		echo "FAIL $name: exit $rc (want $status), output:"
		sed 's/^/     /' <<<"$out"
		echo "     (wanted a line matching: $pattern)"
	fi
}

printf 'this is not a kernel\n' >"$tmp/text"
: >"$tmp/empty"
head -c 4096 "$hello" >"$tmp/truncated"
head -c $((40 * 1024 * 1024)) /dev/zero >"$tmp/big-initrd"

expect "no arguments" 2 "no kernel given" "$microvm"
expect "unknown option" 2 "unrecognized option|unknown option" \
	"$microvm" --bogus
expect "stray argument" 2 "unexpected argument 'extra'" \
	"$microvm" --kernel "$hello" extra
expect "missing kernel" 1 "cannot open kernel .*nonexistent.*No such file" \
	"$microvm" --kernel "$tmp/nonexistent"
expect "text file as kernel" 1 "is not a kernel image" \
	"$microvm" --kernel "$tmp/text"
expect "empty kernel" 1 "empty|not a kernel image" \
	"$microvm" --kernel "$tmp/empty"
expect "truncated kernel" 1 "truncated|beyond the end|past the end" \
	"$microvm" --kernel "$tmp/truncated"
expect "directory as kernel" 1 "directory|not a regular file" \
	"$microvm" --kernel "$tmp"
expect "--mem 0" 1 "too small" "$microvm" --kernel "$hello" --mem 0
expect "--mem 1T" 1 "too large" "$microvm" --kernel "$hello" --mem 1T
expect "--mem garbage" 2 "not a size" "$microvm" --kernel "$hello" --mem 12X
expect "--mem overflow" 2 "out of range" \
	"$microvm" --kernel "$hello" --mem 99999999999999999999
expect "missing initrd" 1 "initrd.*No such file" \
	"$microvm" --kernel "$hello" --initrd "$tmp/nonexistent"
expect "initrd larger than RAM" 1 "does not fit in guest RAM.*increase --mem" \
	"$microvm" --kernel "$hello" --mem 32M --initrd "$tmp/big-initrd"
expect "command line too long" 1 "command line.*too long|too long" \
	"$microvm" --kernel "$hello" --cmdline "$(head -c 5000 /dev/zero | tr '\0' x)"

# Disks: bad specifications, bad images, and an image another microvm holds.
truncate -s 1M "$tmp/disk.img"
truncate -s 1000 "$tmp/odd.img"
expect "--disk without a path" 2 "no image path" \
	"$microvm" --kernel "$hello" --disk ",ro"
expect "--disk unknown option" 2 "unknown option 'rw'" \
	"$microvm" --kernel "$hello" --disk "$tmp/disk.img,rw"
expect "--disk id too long" 2 "longer than 20 bytes" \
	"$microvm" --kernel "$hello" --disk "$tmp/disk.img,id=abcdefghijklmnopqrstuvwxyz"
expect "--disk bad engine" 2 "unknown engine 'fast'" \
	"$microvm" --kernel "$hello" --disk "$tmp/disk.img,engine=fast"
expect "too many disks" 2 "at most 8 disks" \
	"$microvm" --kernel "$hello" $(for i in 1 2 3 4 5 6 7 8 9; do printf -- '--disk %s ' "$tmp/disk.img,ro"; done)
expect "missing disk image" 1 "nonexistent.img: no such file" \
	"$microvm" --kernel "$hello" --disk "$tmp/nonexistent.img"
expect "directory as disk" 1 "disk .*(directory|not a)" \
	"$microvm" --kernel "$hello" --disk "$tmp"
expect "empty disk image" 1 "empty" \
	"$microvm" --kernel "$hello" --disk "$tmp/empty"
expect "disk size not a multiple of 512" 1 "multiple of 512" \
	"$microvm" --kernel "$hello" --disk "$tmp/odd.img"
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
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
else
	skip=$((skip + 2))
	echo "skip locked disk: cannot open /dev/kvm"
fi

# /dev/kvm without permission: needs root to drop to an unprivileged user.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && [ -c /dev/kvm ] &&
	[ "$(stat -c %a /dev/kvm 2>/dev/null)" != 666 ]; then
	cp "$microvm" "$tmp/microvm" && cp "$hello" "$tmp/hello.elf"
	chmod 755 "$tmp" "$tmp/microvm" && chmod 644 "$tmp/hello.elf"
	expect "no permission on /dev/kvm" 1 "cannot open /dev/kvm: Permission denied; add your user" \
		su nobody -s /bin/sh -c "'$tmp/microvm' --kernel '$tmp/hello.elf'"
else
	skip=$((skip + 1))
	echo "skip no permission on /dev/kvm: needs root, a 'nobody' user and a /dev/kvm"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
