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
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
