#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# rr-step.sh MICROVM GUEST_DIR TRACE_ALTER
#
# The single-step backend (--pin=step) on guests whose output depends on
# timing and on values the host cannot trap.  Each guest is first shown
# to be nondeterministic (three plain --pin=step runs give at least two
# distinct outputs), then recorded and replayed: the replay must say
# "replay: identical", exit 0 and print the recorded serial output byte
# for byte.
#   pit-ticks   PIT ticks landing in a busy loop with a counter in memory
#   tsc-rand    RDTSC, RDTSCP, RDRAND, RDSEED in many encodings, a tick
#               handler that reads the TSC
#   serial-echo console input fed with random delays (its echo does not
#               depend on them: two recordings must place the bytes at
#               different positions instead)
# The step traces of pit-ticks and tsc-rand are then replayed through the
# PMU backend's landing over a simulated counter (--pin=pmu-sim).  A trace
# with one emulated value altered must be reported as a divergence, and a
# step trace must be refused by --pin=exit.  Skips (77)
# where KVM is not usable.
set -u

microvm=$1
guests=$2
alter=$3
. "$(dirname "$0")/../lib/common.sh"
require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/rr-lib.sh"

# nondeterministic NAME [microvm args...]: 3 plain runs, >= 2 outputs.
nondeterministic() {
	local name=$1 i
	shift
	for i in 1 2 3; do
		timeout 300 "$microvm" --pin=step "$@" </dev/null \
			>"$tmp/$name.plain$i" 2>/dev/null
	done
	i=$(md5sum "$tmp/$name".plain? | cut -d' ' -f1 | sort -u | wc -l)
	if [ "$i" -ge 2 ]; then
		ok "$name: $i distinct outputs in 3 plain runs"
	else
		bad "$name: 3 plain runs printed the same output: not a test of replay"
	fi
}

# record_replay NAME [microvm args...] (stdin: console input)
record_replay() {
	local name=$1 rc=0
	shift
	if ! timeout 300 "$microvm" --pin=step --record "$tmp/$name.trace" "$@" \
		>"$tmp/$name.rec.out" 2>"$tmp/$name.rec.err"; then
		bad "$name: recording failed: $(tail -n 3 "$tmp/$name.rec.err")"
		return 1
	fi
	timeout 300 "$microvm" --replay "$tmp/$name.trace" </dev/null \
		>"$tmp/$name.rep.out" 2>"$tmp/$name.rep.err" || rc=$?
	if [ $rc -eq 0 ] && grep -q "^replay: identical" "$tmp/$name.rep.err" &&
		cmp -s "$tmp/$name.rec.out" "$tmp/$name.rep.out"; then
		ok "$name: $(grep '^replay:' "$tmp/$name.rep.err")"
		grep "step:" "$tmp/$name.rep.err" | sed 's/^/     /'
		return 0
	fi
	bad "$name: replay exit $rc"
	tail -n 12 "$tmp/$name.rep.err" | sed 's/^/     /'
	cmp "$tmp/$name.rec.out" "$tmp/$name.rep.out" | sed 's/^/     /'
	return 1
}

# On the host's clock (--clock=host), where timing makes runs differ.
# 25 Hz: stepped, the guest runs ~1000 times slower than natively, and
# at 100 Hz a loaded host left it no work between most ticks.
pit_ticks=(--clock=host --kernel "$guests/pit-ticks.elf" --cmdline "console=ttyS0 pit-ticks.hz=25")
nondeterministic pit-ticks "${pit_ticks[@]}"
record_replay pit-ticks "${pit_ticks[@]}" </dev/null

tsc_rand=(--clock=host --kernel "$guests/tsc-rand.elf")
nondeterministic tsc-rand "${tsc_rand[@]}"
if record_replay tsc-rand "${tsc_rand[@]}" </dev/null; then
	grep -q "tsc-rand: done" "$tmp/tsc-rand.rec.out" ||
		bad "tsc-rand: the recorded run did not finish"
	# Architecturally #UD; under --pin=step raised by microvm on every host.
	grep -q "lock rdrand %eax: #UD at rip" "$tmp/tsc-rand.rec.out" ||
		bad "tsc-rand: LOCK RDRAND did not raise #UD under --pin=step"
	# Every kind was emulated (none ran on the host).
	for k in rdtsc rdtscp rdrand rdseed; do
		grep -q "$k [1-9]" "$tmp/tsc-rand.rep.err" ||
			bad "tsc-rand: no $k emulated"
	done
fi

feed() {
	local c
	for c in a b c '\n' x y '\n' q; do
		sleep "0.$((RANDOM % 4))"
		printf "$c"
	done
}
# One emulated RDRAND value changed in the trace: the guest prints another
# hash, and the replay must say it diverged (exit 4), not hang, never
# "identical".
# (First the same rewrite with nothing changed must replay identically,
# or the divergence would prove nothing.)
if [ -s "$tmp/tsc-rand.trace" ] &&
	"$alter" "$tmp/tsc-rand.trace" "$tmp/same.trace" rand 5 0 >/dev/null; then
	replay_expect "rewritten trace, nothing changed" 0 "^replay: identical" \
		"$tmp/same.trace"
fi
if [ -s "$tmp/tsc-rand.trace" ] &&
	"$alter" "$tmp/tsc-rand.trace" "$tmp/altered.trace" rand 5 1 >/dev/null; then
	# Where the value steers the guest (a retry, a #UD path) the
	# divergence shows before the end: any divergence report will do.
	replay_expect "altered RDRAND value" 4 "^replay: replay diverged at" \
		"$tmp/altered.trace"
fi

# The PMU backend's landing (pmu_land.c) on a real vCPU, over a counter
# simulated from the single-step backend's true branch count: the step
# traces must replay identically through it, with the table's kind of
# margin and with a small one that makes it use overflows and steps; a
# skid beyond the margin must be reported, never landed.
pmu_sim() {
	local name=$1 spec=$2 want=$3 rc=0
	MICROVM_PMU_SIM=$spec timeout 300 "$microvm" --replay "$tmp/$name.trace" \
		--pin=pmu-sim </dev/null >"$tmp/$name.pmu.out" 2>"$tmp/$name.pmu.err" || rc=$?
	if [ "$want" = identical ] && [ $rc -eq 0 ] &&
		grep -q "^replay: identical" "$tmp/$name.pmu.err" &&
		cmp -s "$tmp/$name.rec.out" "$tmp/$name.pmu.out"; then
		ok "$name under pmu-sim [$spec]: $(grep '^microvm: pmu-sim: [0-9]' "$tmp/$name.pmu.err" | cut -c10-)"
	elif [ "$want" = refused ] && [ $rc -eq 4 ] &&
		grep -q "PMU landing: .*\(skid\|never delivered\)" "$tmp/$name.pmu.err"; then
		ok "$name under pmu-sim [$spec] reported: $(grep -m1 'error: PMU landing' "$tmp/$name.pmu.err" | cut -c30-140)..."
	else
		bad "$name under pmu-sim [$spec]: exit $rc (wanted $want)"
		tail -n 6 "$tmp/$name.pmu.err" | sed 's/^/     /'
	fi
}
for g in pit-ticks tsc-rand; do
	[ -s "$tmp/$g.trace" ] || continue
	pmu_sim $g "" identical
	pmu_sim $g "margin=8,skid=3" identical
	pmu_sim $g "margin=4,skid=10,noselftest" refused
done

# The PMU self-test (pmu_calib.c): a calibration guest with known branch
# counts on a real vCPU, over the simulated counter.  It must pass on a
# faithful counter and name each fault it is given; and --pin=pmu-sim
# must refuse to start when it fails.
pmu_selftest() {
	local spec=$1 want=$2 line
	line=$(MICROVM_PMU_SIM=$spec timeout 300 "$microvm" --probe-host 2>&1 |
		grep '^PMU self-test passes (simulated)' || true)
	if echo "$line" | grep -Eq "^PMU self-test passes \(simulated\) +$want"; then
		ok "PMU self-test [$spec]: $(echo "$line" | cut -c36-150)"
	else
		bad "PMU self-test [$spec]: wanted '$want', got '${line:-no line}'"
	fi
}
pmu_selftest "margin=64" "yes +counts exact: 16 intervals"
pmu_selftest "margin=64,skid=100" "no +skid beyond the margin"
pmu_selftest "drift=1" "no +drift per VM entry: the counter moves by \+1"
pmu_selftest "lost" "no +overflow never delivered"
if [ -s "$tmp/pit-ticks.trace" ]; then
	rc=0
	MICROVM_PMU_SIM=margin=4,skid=10 timeout 300 "$microvm" --replay "$tmp/pit-ticks.trace" \
		--pin=pmu-sim </dev/null >/dev/null 2>"$tmp/selftest.err" || rc=$?
	if [ $rc -ne 0 ] && grep -q "PMU self-test failed on the simulated counter: skid beyond the margin" "$tmp/selftest.err"; then
		ok "pmu-sim refuses to start when the self-test fails (exit $rc)"
	else
		bad "pmu-sim with a failing self-test: exit $rc"
		tail -n 3 "$tmp/selftest.err" | sed 's/^/     /'
	fi
fi

# Recorded through the PMU landing (free runs to a kick, the stop located
# by stepping to the next branch, checked against the single-step truth):
# the trace replays identically with --pin=step and with --pin=pmu-sim.  A
# guest that executes RDTSC in a free run cannot be recorded so (a real PMU
# backend would hand it host time): refused, saying so.
if timeout 300 "$microvm" --pin=pmu-sim --record "$tmp/pmu-rec.trace" \
	"${pit_ticks[@]}" </dev/null >"$tmp/pmu-rec.rec.out" 2>"$tmp/pmu-rec.rec.err"; then
	ok "pit-ticks recorded under pmu-sim: $(grep '^microvm: pmu-sim: [0-9]' "$tmp/pmu-rec.rec.err" | cut -c10-)"
	for p in step pmu-sim; do
		rc=0
		timeout 300 "$microvm" --replay "$tmp/pmu-rec.trace" --pin=$p </dev/null \
			>"$tmp/pmu-rec.$p.out" 2>"$tmp/pmu-rec.$p.err" || rc=$?
		if [ $rc -eq 0 ] && grep -q "^replay: identical" "$tmp/pmu-rec.$p.err" &&
			cmp -s "$tmp/pmu-rec.rec.out" "$tmp/pmu-rec.$p.out"; then
			ok "pmu-sim recording replayed with --pin=$p: $(grep '^replay:' "$tmp/pmu-rec.$p.err")"
		else
			bad "pmu-sim recording replayed with --pin=$p: exit $rc"
			grep -v '^    #' "$tmp/pmu-rec.$p.err" | tail -n 6 | sed 's/^/     /'
		fi
	done
else
	bad "pit-ticks under pmu-sim: recording failed: $(tail -n 3 "$tmp/pmu-rec.rec.err")"
fi
rc=0
timeout 300 "$microvm" --pin=pmu-sim --record "$tmp/pmu-tsc.trace" \
	"${tsc_rand[@]}" </dev/null >/dev/null 2>"$tmp/pmu-tsc.err" || rc=$?
if [ $rc -ne 0 ] && grep -q "the PMU backend cannot intercept it" "$tmp/pmu-tsc.err"; then
	ok "tsc-rand under pmu-sim recording refused: $(grep -m1 'cannot intercept' "$tmp/pmu-tsc.err" | cut -c10-120)..."
else
	bad "tsc-rand under pmu-sim recording: exit $rc, not refused for its RDTSC"
	tail -n 4 "$tmp/pmu-tsc.err" | sed 's/^/     /'
fi

# The echo is the same whatever the timing; where the bytes went in is not:
# two recordings must place them differently, and each must replay.
feed | record_replay serial-echo --kernel "$guests/serial-echo.elf"
grep -q '\[a\]\[b\]\[c\]' "$tmp/serial-echo.rep.out" 2>/dev/null ||
	bad "serial-echo: the input did not reach the guest"
cp "$tmp/serial-echo.trace" "$tmp/serial-echo.1.trace"
feed | record_replay serial-echo --kernel "$guests/serial-echo.elf"
if [ -s "$tmp/serial-echo.1.trace" ] && [ -s "$tmp/serial-echo.trace" ]; then
	for t in 1.trace trace; do
		"$microvm" trace dump "$tmp/serial-echo.$t" | grep "input com1" |
			sed 's/ input.*//; s/^#[0-9]* //' >"$tmp/serial-echo.$t.pos"
	done
	if cmp -s "$tmp/serial-echo.1.trace.pos" "$tmp/serial-echo.trace.pos"; then
		bad "serial-echo: two recordings with random delays put the input at the same positions"
	else
		ok "serial-echo: the input landed at other positions in the two recordings ($(wc -l <"$tmp/serial-echo.trace.pos") console events)"
	fi
fi

# Guest time on the instruction count (--clock=insn, the default under
# --pin=step): the PIT ticks every so many instructions, so the runs that
# differed on the host's clock are all the same, and a recording of one
# replays identically.  1 kHz at 100 ns an instruction: 10,000 a tick.
ic=(--clock=insn:100 --kernel "$guests/pit-ticks.elf" --cmdline "console=ttyS0 pit-ticks.hz=1000")
for i in 1 2 3; do
	timeout 300 "$microvm" --pin=step "${ic[@]}" </dev/null \
		>"$tmp/insn.plain$i" 2>"$tmp/insn.plain$i.err"
done
i=$(md5sum "$tmp"/insn.plain? | cut -d' ' -f1 | sort -u | wc -l)
if [ "$i" -eq 1 ] && grep -q "pit-ticks: PASS" "$tmp/insn.plain1" &&
	grep -q "guest time .* on the instruction count (100 ns each)" "$tmp/insn.plain1.err"; then
	ok "pit-ticks on the instruction clock: 3 plain runs, one output ($(grep -m1 'work per tick' "$tmp/insn.plain1" | cut -c1-60)...)"
else
	bad "pit-ticks on the instruction clock: $i distinct outputs in 3 runs (wanted 1, PASS)"
	tail -n 3 "$tmp/insn.plain1" "$tmp/insn.plain1.err" | sed 's/^/     /'
fi
if record_replay insn-clock "${ic[@]}" </dev/null; then
	cmp -s "$tmp/insn-clock.rec.out" "$tmp/insn.plain1" ||
		bad "insn-clock: the recording printed other output than the plain runs"
fi

# Exact positions cannot be reached by the exit-pinned backend: refused.
[ -s "$tmp/pit-ticks.trace" ] &&
	replay_expect "--pin=exit on a step trace refused" 1 \
		"exact \(single-step\) positions, which --pin=exit cannot reach" \
		"$tmp/pit-ticks.trace" --pin=exit

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
