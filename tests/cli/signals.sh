#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# signals.sh MICROVM GUEST_ELF
#
# SIGINT, SIGTERM and SIGHUP end a running VM cleanly: microvm says why and
# exits with 128 + the signal number.  The guest (serial-echo) sleeps in
# HLT waiting for input that never comes, so only the signal can end it.
set -u

microvm=$1
guest=$2
. "$(dirname "$0")/../lib/common.sh"
require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

for sig in INT TERM HUP; do
	num=$(kill -l "$sig")
	# A FIFO this script holds open: stdin stays open, the guest waits.
	rm -f "$tmp/in"
	mkfifo "$tmp/in"
	"$microvm" --kernel "$guest" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	exec 4>"$tmp/in"
	# Wait until the guest is up and waiting for input: a signal before
	# that would test start-up, not a running VM.
	ready=0
	for _ in $(seq 1 300); do
		grep -q "serial-echo: ready" "$tmp/out" 2>/dev/null && { ready=1; break; }
		sleep 0.1
	done
	if [ $ready -eq 0 ]; then
		fail=$((fail + 1))
		echo "FAIL SIG$sig: the guest never said it was ready in 30 s"
		sed 's/^/     /' "$tmp/out" "$tmp/err"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		exec 4>&-
		continue
	fi
	kill -s "$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -eq $((128 + num)) ] && grep -q "exit status $((128 + num))" "$tmp/err"; then
		pass=$((pass + 1))
		echo "ok   SIG$sig: exit $rc, $(tail -1 "$tmp/err")"
	else
		fail=$((fail + 1))
		echo "FAIL SIG$sig: exit $rc (want $((128 + num)))"
		sed 's/^/     /' "$tmp/out" "$tmp/err"
	fi
	exec 4>&-
done
# SIGTERM while the guest has disk requests in flight: the VM still ends
# promptly (exit waits for the host's requests, bounded), and the image
# is left consistent enough to reopen at once (its lock is released).
stress=$(dirname "$guest")/blk-stress.elf
if [ -e "$stress" ]; then
	truncate -s 64M "$tmp/disk.img"
	"$microvm" --kernel "$stress" --disk "$tmp/disk.img,id=bs-rw-disk" \
		--cmdline "console=ttyS0 blk-stress.mode=rw blk-stress.id=bs-rw-disk" \
		</dev/null >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	# Its first requests go out right after it prints the queue set-up.
	for _ in $(seq 1 600); do
		grep -q "blk-stress: queue size" "$tmp/out" 2>/dev/null && break
		sleep 0.02
	done
	t0=$(date +%s%N)
	kill -s TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	ok=1
	[ "$rc" -eq 143 ] && [ "$ms" -lt 5000 ] || ok=0
	if grep -q "blk-stress: PASS" "$tmp/out"; then
		# A fast host: nothing was in flight any more.  Not checked.
		echo "skip SIGTERM during disk I/O: the guest finished its I/O before the signal landed"
		ok=2
	fi
	# The image's lock went with the process: another VM can take it.
	"$microvm" --kernel "$guest" --disk "$tmp/disk.img" </dev/null \
		>/dev/null 2>"$tmp/err2" &
	p2=$!
	sleep 1
	kill -TERM "$p2" 2>/dev/null
	wait "$p2" 2>/dev/null
	grep -q "in use by another process" "$tmp/err2" && ok=0
	if [ $ok -eq 2 ]; then
		:
	elif [ $ok -eq 1 ]; then
		pass=$((pass + 1))
		echo "ok   SIGTERM during disk I/O: exit $rc after $ms ms"
	else
		fail=$((fail + 1))
		echo "FAIL SIGTERM during disk I/O: exit $rc (want 143) after $ms ms"
		sed 's/^/     /' "$tmp/err" "$tmp/err2" 2>/dev/null | tail -20
	fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
