# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Sourced by the record/replay tests (rr-guests.sh, rr-step.sh) after
# $microvm and $tmp are set: the pass/fail counters and the one check
# they all make of a replay that must end a given way.
pass=0
fail=0
known=0

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# replay_expect DESC STATUS PATTERN TRACE [microvm args...]: replay TRACE
# (no console input) and pass when microvm exits STATUS with a line on
# stderr matching PATTERN (grep -E), which is quoted; else show the end of
# what it said.
replay_expect() {
	local desc=$1 want=$2 pattern=$3 trace=$4 rc=0
	shift 4
	timeout 300 "$microvm" --replay "$trace" "$@" </dev/null \
		>/dev/null 2>"$tmp/expect.err" || rc=$?
	if [ "$rc" -eq "$want" ] && grep -qE -- "$pattern" "$tmp/expect.err"; then
		ok "$desc: $(grep -m1 -E -- "$pattern" "$tmp/expect.err" | cut -c1-130)..."
	else
		bad "$desc: replay exit $rc (wanted $want and a line matching '$pattern')"
		tail -n 6 "$tmp/expect.err" | sed 's/^/     /'
	fi
}
