#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# step-bench.sh --microvm PATH [--runs N] [--ceiling PATH] [--guest ELF]
#               [--mode spin|rand] [--iters N] [--seconds S] [--timeout S]
#
# How close the single-step backend (microvm --pin=step) comes to the most
# a single-step loop can do on this host: bench/step-ceiling (a bare KVM
# loop: KVM_RUN -> KVM_EXIT_DEBUG, nothing else) and microvm recording a
# test guest with --pin=step, interleaved N times in one run, and the ratio
#     microvm steps/s / ceiling steps/s        (target: >= 0.8)
# per run and over the medians.  The ratio is against the ceiling's "run"
# variant (the RIP comes with the exit), and for reference against its
# "regs" variant (plus KVM_GET_REGS per step).
#
# The guest is tests/guests/tsc-rand.elf, by default in spin mode (a busy
# loop with a counter in memory and PIT ticks: nearly all steps ordinary
# instructions, like the ceiling's loop; --iters N iterations of ~6
# instructions), or --mode rand (RDTSC/RDTSCP/RDRAND/RDSEED every round,
# the instructions a step backend emulates, and HLT waits between rounds).
#
# microvm's side comes from the line it prints at exit with --pin=step:
#     microvm: step: N instructions (B conditional branches, E emulated: ...), T s, R steps/s
# A microvm without --pin=step is a skip (77) saying so, as is a host
# without a usable /dev/kvm (run it in the nested tier:
#     tests/nested/run.sh -- bench/step-bench.sh --microvm build/microvm).
#
# The host is shared and noisy (2 cores; another build or the nested tier
# may be running): quote the ratios from one run, not absolute steps/s, and
# prefer the median of the per-run ratios (each pairs two measurements
# taken seconds apart).  Not a test: it never fails on a slow number; it
# exits 1 only when a side cannot run at all.
set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/lib/common.sh
. "$ROOT/tests/lib/common.sh"

MICROVM_BIN=
CEILING_BIN=
GUEST=
MODE=spin
ITERS=20000
RUNS=3
SECONDS_PER_ROUND=0.5
TIMEOUT=600
usage() {
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}/usage: /' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--microvm) MICROVM_BIN=${2:?}; shift 2 ;;
	--ceiling) CEILING_BIN=${2:?}; shift 2 ;;
	--guest) GUEST=${2:?}; shift 2 ;;
	--mode) MODE=${2:?}; shift 2 ;;
	--iters) ITERS=${2:?}; shift 2 ;;
	--runs) RUNS=${2:?}; shift 2 ;;
	--seconds) SECONDS_PER_ROUND=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
[ -n "$MICROVM_BIN" ] || usage
case $MODE in spin | rand) ;; *) usage ;; esac
case $RUNS in '' | *[!0-9]* | 0) usage ;; esac
case $ITERS in '' | *[!0-9]*) usage ;; esac
# The ceiling and the guest live in microvm's build tree unless given.
BUILD=$(cd "$(dirname "$MICROVM_BIN")" && pwd)
: "${CEILING_BIN:=$BUILD/bench/step-ceiling}"
: "${GUEST:=$BUILD/tests/guests/tsc-rand.elf}"

skip() {
	echo "step-bench: SKIP: $*" >&2
	exit 77
}
[ -x "$MICROVM_BIN" ] || { echo "step-bench: no microvm binary at $MICROVM_BIN" >&2; exit 1; }
# The option first: it is the reason that holds on every host.
if ! "$MICROVM_BIN" --help 2>&1 | grep -q -- '--pin'; then
	skip "$MICROVM_BIN has no --pin=step option (its --help lists no --pin: the single-step backend is not there yet)"
fi
if ! "$MICROVM_BIN" --help 2>&1 | grep -- '--pin' | grep -q 'step'; then
	skip "$MICROVM_BIN has --pin but its --help does not mention a step mode (no --pin=step yet)"
fi
why=$(kvm_unusable_reason)
[ -z "$why" ] || skip "$why (run it in the nested tier: tests/nested/run.sh -- $0 --microvm $MICROVM_BIN)"
[ -x "$CEILING_BIN" ] || { echo "step-bench: no step-ceiling at $CEILING_BIN (build the bench/ targets, or pass --ceiling PATH)" >&2; exit 1; }
[ -r "$GUEST" ] || { echo "step-bench: no test guest at $GUEST (build the test-guests target, or pass --guest ELF)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/step-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CMDLINE="tsc-rand.mode=$MODE tsc-rand.iters=$ITERS"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a+0 > 0 && b+0 > 0) printf "%.3f\n", a/b; else print "n/a"}'; }

# ceiling_once I: one step-ceiling run (3 interleaved rounds per variant);
# appends its run and regs medians to $TMP/ceil.run and $TMP/ceil.regs.
ceiling_once() {
	local out=$TMP/ceil.$1.out rc=0 v
	"$CEILING_BIN" --rounds 3 --seconds "$SECONDS_PER_ROUND" \
		--variant run --variant regs >"$out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "step-bench: step-ceiling failed (status $rc):" >&2
		sed 's/^/  /' "$out" >&2
		[ "$rc" -eq 77 ] && exit 77
		exit 1
	fi
	for v in run regs; do
		awk -v v="$v:" '$1 == "step-ceiling:" && $2 == v {print $3; exit}' "$out" >>"$TMP/ceil.$v"
	done
}

# microvm_once I: one recorded --pin=step run of the guest; appends R to
# $TMP/mvm.rate and prints the parsed line's fields.
microvm_once() {
	local i=$1 rc=0 line n b e t r
	timeout "$TIMEOUT" "$MICROVM_BIN" --pin=step --record "$TMP/trace.$i" \
		--kernel "$GUEST" --cmdline "$CMDLINE" \
		</dev/null >"$TMP/mvm.$i.out" 2>"$TMP/mvm.$i.err" || rc=$?
	line=$(grep -E '^microvm: step: [0-9]+ instructions' "$TMP/mvm.$i.err" | tail -1 || true)
	if [ "$rc" -ne 0 ] || [ -z "$line" ] || ! grep -q '^tsc-rand: done' "$TMP/mvm.$i.out"; then
		echo "step-bench: microvm run $i did not complete (status $rc$([ "$rc" -eq 124 ] && echo ", timed out after $TIMEOUT s"))" >&2
		[ -n "$line" ] || echo "step-bench: no 'microvm: step: N instructions (...), T s, R steps/s' line on its stderr" >&2
		echo "  stdout (last 5 lines):" >&2
		tail -n 5 "$TMP/mvm.$i.out" | sed 's/^/    /' >&2
		echo "  stderr (last 10 lines):" >&2
		tail -n 10 "$TMP/mvm.$i.err" | sed 's/^/    /' >&2
		exit 1
	fi
	# microvm: step: N instructions (B conditional branches, E emulated: ...; K interrupts), T s, R steps/s
	n=$(echo "$line" | sed -nE 's/^microvm: step: ([0-9]+) instructions.*/\1/p')
	b=$(echo "$line" | sed -nE 's/.* \(([0-9]+) conditional branches.*/\1/p')
	e=$(echo "$line" | sed -nE 's/.*, ([0-9]+) emulated.*/\1/p')
	t=$(echo "$line" | sed -nE 's/.*[),] ([0-9.]+) s, [0-9.]+ steps\/s.*/\1/p')
	r=$(echo "$line" | sed -nE 's/.*, ([0-9.]+) steps\/s.*/\1/p')
	[ -n "$n" ] && [ -n "$r" ] || { echo "step-bench: cannot parse the step line: $line" >&2; exit 1; }
	echo "$r" >>"$TMP/mvm.rate"
	echo "$n" >>"$TMP/mvm.insns"
	stat -c %s "$TMP/trace.$i" >>"$TMP/mvm.trace_bytes" 2>/dev/null || echo 0 >>"$TMP/mvm.trace_bytes"
	MVM_LAST="$n instructions, $b conditional branches, $e emulated, $t s, $r steps/s"
}

echo "step-bench: microvm $MICROVM_BIN --pin=step --record, guest $GUEST ($CMDLINE)"
echo "step-bench: ceiling $CEILING_BIN (3 rounds of $SECONDS_PER_ROUND s per variant per run); $RUNS run(s), interleaved"
for i in $(seq 1 "$RUNS"); do
	# Alternate which side goes first, so a drift in the host's load
	# does not always favour the same one.
	if [ $((i % 2)) -eq 1 ]; then
		ceiling_once "$i"
		microvm_once "$i"
	else
		microvm_once "$i"
		ceiling_once "$i"
	fi
	c=$(tail -1 "$TMP/ceil.run")
	g=$(tail -1 "$TMP/ceil.regs")
	m=$(tail -1 "$TMP/mvm.rate")
	ratio "$m" "$c" >>"$TMP/ratio.run"
	ratio "$m" "$g" >>"$TMP/ratio.regs"
	echo "run $i: ceiling run $c, regs $g steps/s; microvm $MVM_LAST; ratio $(ratio "$m" "$c") (vs regs $(ratio "$m" "$g"))"
done

c=$(median <"$TMP/ceil.run")
g=$(median <"$TMP/ceil.regs")
m=$(median <"$TMP/mvm.rate")
rr=$(median <"$TMP/ratio.run")
rg=$(median <"$TMP/ratio.regs")
n=$(median <"$TMP/mvm.insns")
tb=$(median <"$TMP/mvm.trace_bytes")
printf '\n%-44s %s\n' "median over $RUNS run(s)" "steps/s"
printf '%-44s %s\n' "ceiling, run (KVM_RUN only)" "$c"
printf '%-44s %s\n' "ceiling, regs (KVM_RUN + KVM_GET_REGS)" "$g"
printf '%-44s %s\n' "microvm --pin=step --record" "$m"
printf '%-44s %s\n' "microvm / ceiling run, median of runs" "$rr"
printf '%-44s %s\n' "microvm / ceiling run, of the medians" "$(ratio "$m" "$c")"
printf '%-44s %s\n' "microvm / ceiling regs, median of runs" "$rg"
printf '%-44s %s\n' "microvm instructions per run" "$n"
printf '%-44s %s\n' "trace bytes per run" "$tb"
awk -v r="$rr" 'BEGIN{if (r == "n/a") print "target (>= 0.8): no ratio"; else if (r+0 >= 0.8) print "target (>= 0.8): met"; else print "target (>= 0.8): NOT met"}'
