#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# rr-bench.sh [--microvm PATH] [--runs N] [--qemu-runs N] [--nested]
#             [--guests DIR] [--linux-replay-runs N] [--blk-tries N] [--timeout S]
#
# What recording and replaying cost, against the same run without them and
# against QEMU's own record/replay, measured side by side in one run:
#
#   Linux boot  the minimal Linux test guest (tests/linux: vmlinux and
#               busybox initramfs, /init prints its marker and powers off;
#               its init has no timing-dependent workload, the boot itself
#               is the workload: PIT ticks, console output, delay-loop
#               calibration).  microvm plain and microvm --record,
#               interleaved N times: record/plain (target <= 1.05), the
#               trace's size (target <= 1 MB), its events and asynchronous
#               positions (`microvm trace dump | grep -c +async`).
#   Linux replay  attempted (--linux-replay-runs, default 1) and reported
#               as it ends: exit status, the verdict line, the time to it,
#               how far into the trace it got and whether the serial output
#               up to there is the recorded one.  Exit-pinned replay of
#               Linux is known to stop at its first asynchronous position
#               (README, "What does not yet"): it is never counted as
#               identical unless microvm says so and the output matches.
#   blk-stress  the test guest tests/guests/blk-stress.elf on a 64 MiB
#               ,snapshot disk (as tests/replay/rr-guests.sh runs it):
#               plain, --record, --replay, interleaved N times:
#               replay/record (target <= 1.2) and the asynchronous-position
#               search cost replay prints ("replay: N asynchronous
#               positions found with H breakpoint hits ... in T s").  Only
#               replays that end "replay: identical" with the recorded
#               output count; the others are listed (a round tries again,
#               --blk-tries, as exit-pinned replay of this guest still
#               sometimes stops at an asynchronous position).
#   QEMU        the reference, on the same kernel (its bzImage: QEMU loads
#               an ELF vmlinux only with a PVH note) and initramfs, no
#               disk (like for like with the Linux boot, so no blkreplay):
#               plain TCG, `-icount shift=auto,rr=record,rrfile=LOG`,
#               `rr=replay` of that log, interleaved with microvm's runs:
#               record/plain, replay/record, the log's size.
#
# Where it runs.  microvm needs a usable /dev/kvm; without one this script
# skips (exit 77) saying so, unless --nested.  On the development machines
# KVM exists only in the nested tier (KVM inside QEMU TCG):
#
#   bench/rr-bench.sh --nested --microvm build/microvm     # from the host
#
# runs each round's microvm part in the nested tier (one
# tests/nested/run.sh per round) and its QEMU part on the host, in turn,
# and prints one table.  Or everything inside the nested tier:
#
#   tests/nested/run.sh --rw DIR -- bench/rr-bench.sh --microvm build/microvm
#
# (DIR: any host directory; keep TMPDIR on the tier's own /tmp: a ,snapshot
# disk cannot be made on the 9p share); there QEMU would be TCG inside TCG, so --qemu-runs defaults to 0 and the table
# has no QEMU column unless asked for.  The nested tier runs its own guests
# under TCG too: absolute times there and on the host are not comparable;
# compare the ratios, each measured within one tier.
#
# Options:
#   --microvm PATH         microvm binary (default build/microvm)
#   --guests DIR           the test guests (default: tests/guests in the
#                          binary's build tree)
#   --runs N               interleaved rounds (default 3)
#   --qemu-runs N          QEMU rounds (default: --runs; 0 in the nested
#                          tier); they are interleaved with the first rounds
#   --linux-replay-runs N  Linux replay attempts (default 1; each can take
#                          over two minutes before it gives up)
#   --nested               see above (on a host without KVM)
#   --qemu-only            QEMU's figures only (no microvm, no KVM needed)
#   --blk-tries N          blk-stress record+replay pairs per round until
#                          one replays identically (default 3; all listed)
#   --timeout S            per VM run (default 600)
#   --save DIR             (used by --nested) append the raw figures to DIR
#                          and print no table
#
# Not a test: it never fails on a slow number.  Exit 0 with the table, 77
# when microvm cannot run here (the reason on stderr), 1 when a run that
# must work did not (a boot that did not reach its marker, a recording
# that failed), 2 bad usage.
set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/bench/rr-bench.sh
# shellcheck source-path=SCRIPTDIR source=../tests/lib/common.sh
. "$ROOT/tests/lib/common.sh"

MICROVM_BIN=$ROOT/build/microvm
GUESTS=
RUNS=3
QEMU_RUNS=
LINUX_REPLAY_RUNS=1
BLK_TRIES=3
NESTED=0
QEMU_ONLY=0
TIMEOUT=600
SAVE=
ROUND0=0 # --round-base: first round number (set by --nested)
usage() {
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}/usage: /' >&2
	exit 2
}
num() { case $2 in '' | *[!0-9]*) echo "rr-bench: $1 needs a number, not '$2'" >&2; exit 2 ;; esac; }
while [ $# -gt 0 ]; do
	case "$1" in
	--microvm) MICROVM_BIN=${2:?}; shift 2 ;;
	--guests) GUESTS=${2:?}; shift 2 ;;
	--runs) num "$1" "${2:-}"; RUNS=$2; shift 2 ;;
	--qemu-runs) num "$1" "${2:-}"; QEMU_RUNS=$2; shift 2 ;;
	--linux-replay-runs) num "$1" "${2:-}"; LINUX_REPLAY_RUNS=$2; shift 2 ;;
	--timeout) num "$1" "${2:-}"; TIMEOUT=$2; shift 2 ;;
	--blk-tries) num "$1" "${2:-}"; BLK_TRIES=$2; shift 2 ;;
	--nested) NESTED=1; shift ;;
	--qemu-only) QEMU_ONLY=1; shift ;;
	--save) SAVE=${2:?}; shift 2 ;;
	--round-base) num "$1" "${2:-}"; ROUND0=$2; shift 2 ;;
	-h | --help) sed -n '3,75p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
[ "$RUNS" -ge 1 ] || { echo "rr-bench: --runs must be at least 1" >&2; exit 2; }
if [ -z "$QEMU_RUNS" ]; then
	QEMU_RUNS=$RUNS
	if [ "${MICROVM_NESTED:-0}" = 1 ] && [ "$QEMU_ONLY" = 0 ]; then
		QEMU_RUNS=0
		echo "rr-bench: in the nested tier: no QEMU runs by default (TCG inside TCG; --qemu-runs N to ask, or run with --nested from the host)"
	fi
fi
case $MICROVM_BIN in /*) ;; *) MICROVM_BIN=$PWD/$MICROVM_BIN ;; esac
[ -n "$GUESTS" ] || GUESTS=$(dirname "$MICROVM_BIN")/tests/guests

skip() {
	echo "rr-bench: SKIP: $*" >&2
	exit 77
}
die() {
	echo "rr-bench: $*" >&2
	exit 1
}

# --- what can run here -------------------------------------------------------
if [ "$QEMU_ONLY" = 0 ]; then
	[ -x "$MICROVM_BIN" ] || die "no microvm binary at $MICROVM_BIN (build it, or pass --microvm PATH)"
	"$MICROVM_BIN" --help 2>&1 | grep -q -- '--record' ||
		skip "$MICROVM_BIN --help lists no --record (no record/replay in this binary)"
	[ -r "$GUESTS/blk-stress.elf" ] ||
		die "no test guest $GUESTS/blk-stress.elf (build the test guests, or pass --guests DIR)"
	why=$(kvm_unusable_reason)
	if [ "$NESTED" = 0 ] && [ -n "$why" ]; then
		skip "$why: microvm cannot run here (from this host: $0 --nested --microvm $MICROVM_BIN; or tests/nested/run.sh --rw DIR -- $0 --microvm $MICROVM_BIN)"
	fi
	if [ "$NESTED" = 1 ]; then
		rc=0
		"$ROOT/tests/nested/run.sh" --check >/dev/null 2>"${TMPDIR:-/tmp}/rr-bench-check.$$" || rc=$?
		if [ "$rc" -ne 0 ]; then
			msg=$(cat "${TMPDIR:-/tmp}/rr-bench-check.$$")
			rm -f "${TMPDIR:-/tmp}/rr-bench-check.$$"
			skip "--nested: the nested tier cannot run here: $msg"
		fi
		rm -f "${TMPDIR:-/tmp}/rr-bench-check.$$"
	fi
fi
HAVE_QEMU=0
if [ "$QEMU_RUNS" -gt 0 ]; then
	if command -v qemu-system-x86_64 >/dev/null; then
		HAVE_QEMU=1
	else
		echo "rr-bench: no qemu-system-x86_64 (apt-get install qemu-system-x86): no QEMU reference"
	fi
fi
[ "$QEMU_ONLY" = 0 ] || [ "$HAVE_QEMU" = 1 ] ||
	die "--qemu-only: no QEMU runs (--qemu-runs 0 or no qemu-system-x86_64)"

GUEST_DIR=$("$ROOT/tests/linux/build.sh" --print-dir) || {
	rc=$?
	[ "$rc" -eq 77 ] && skip "the Linux test guest cannot be built here (see tests/linux/build.sh's message above)"
	die "tests/linux/build.sh failed (exit status $rc)"
}
KERNEL=$GUEST_DIR/vmlinux
BZIMAGE=$GUEST_DIR/bzImage
INITRD=$GUEST_DIR/initramfs.cpio.gz
for f in "$KERNEL" "$BZIMAGE" "$INITRD"; do
	[ -s "$f" ] || die "$f missing (tests/linux/build.sh)"
done
CMDLINE="console=ttyS0 panic=-1"
MARKER=MICROVM-LINUX-INIT-OK

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rr-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
RES=${SAVE:-$TMP/res}
mkdir -p "$RES"
[ -w "$RES" ] || die "cannot write the results directory $RES"

# put METRIC VALUE: one more value of METRIC
put() { echo "$2" >>"$RES/$1"; }
med() { if [ -s "$RES/$1" ]; then median <"$RES/$1"; else echo n/a; fi; }
count() { if [ -s "$RES/$1" ]; then grep -c . "$RES/$1"; else echo 0; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a+0 > 0 && b+0 > 0) printf "%.3f\n", a/b; else print "n/a"}'; }
since() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN{printf "%.3f\n", a-b}'; }

# timed NAME CMD...: runs CMD (stdin /dev/null, stdout NAME.out, stderr
# NAME.err in $TMP) under the timeout; sets T (seconds) and RC.
timed() {
	local name=$1 t0
	shift
	t0=$EPOCHREALTIME
	RC=0
	timeout --kill-after=10 "$TIMEOUT" "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" || RC=$?
	T=$(since "$t0")
}

# must NAME WHAT: the run NAME must have exited 0 with WHAT in its output.
must() {
	if [ "$RC" -ne 0 ] || ! grep -q "$2" "$TMP/$1.out"; then
		echo "rr-bench: $1: exit status $RC$([ "$RC" -eq 124 ] && echo " (timed out after $TIMEOUT s)"), '$2' $(grep -q "$2" "$TMP/$1.out" && echo seen || echo "not seen")" >&2
		echo "  stdout (last 5 lines):" >&2
		tail -n 5 "$TMP/$1.out" | sed 's/^/    /' >&2
		echo "  stderr (last 8 lines):" >&2
		tail -n 8 "$TMP/$1.err" | sed 's/^/    /' >&2
		exit 1
	fi
}

# stats NAME SIDE: microvm --stats figures of run NAME
stats() {
	local k v
	for k in vmm_s in_guest_s halted_s exits; do
		v=$(grep -o " $k=[0-9.]*" "$TMP/$1.err" | head -1 | cut -d= -f2)
		put "m_${2}_$k" "${v:-n/a}"
	done
}
LINUX=(--kernel "$KERNEL" --initrd "$INITRD" --cmdline "$CMDLINE" --mem 256M)
linux_plain() {
	timed "lp.$1" "$MICROVM_BIN" "${LINUX[@]}" --stats
	must "lp.$1" "$MARKER"
	put m_lin_plain "$T"
	stats "lp.$1" plain
	LP=$T
}
linux_record() {
	local tr=$TMP/linux.$1.trace
	timed "lr.$1" "$MICROVM_BIN" "${LINUX[@]}" --stats --record "$tr"
	must "lr.$1" "$MARKER"
	stats "lr.$1" rec
	grep -q "record: .* written" "$TMP/lr.$1.err" || die "lr.$1: no 'record: ... written' on stderr: $(tail -n 3 "$TMP/lr.$1.err")"
	put m_lin_rec "$T"
	LR=$T
	put m_trace_bytes "$(stat -c %s "$tr")"
	put m_trace_events "$("$MICROVM_BIN" trace info "$tr" | sed -n 's/^events: \([0-9]*\) in all.*/\1/p')"
	put m_trace_async "$("$MICROVM_BIN" trace dump "$tr" | grep -c +async || true)"
	put m_trace_exits "$("$MICROVM_BIN" trace info "$tr" | sed -n 's/^events: .* up to exit \([0-9]*\).*/\1/p')"
}

BS_IMG=$TMP/blk-stress.img
BS=(--kernel "$GUESTS/blk-stress.elf" --disk "$BS_IMG,snapshot,id=bs-rw-disk"
	--cmdline "console=ttyS0 blk-stress.mode=rw blk-stress.id=bs-rw-disk")
# replay line NAME: "replay: N asynchronous positions found with H
# ...: H hits ..., S instructions walked ... in T s" -> "N H S T" (or nothing)
search_cost() {
	sed -n 's/.*replay: \([0-9]*\) asynchronous positions found with .*: \([0-9]*\) hits .*, \([0-9]*\) instructions walked .* in \([0-9.]*\) s (slowest.*/\1 \2 \3 \4/p' "$TMP/$1.err" | tail -1
}
# Did the replay NAME (of trace TR) stop at or after an asynchronous
# position (the known limit of exit-pinned replay, as rr-guests.sh says)?
after_async() { replay_stopped_async "$MICROVM_BIN" "$TMP/$1.err" "$2"; }
# blk_round I TRY: one blk-stress plain, record, replay; 0 when the
# replay was identical
blk_round() {
	local i=$1 try=$2 tr=$TMP/bs.$1.trace bp br rp cost verdict why
	truncate -s 0 "$BS_IMG"
	truncate -s 64M "$BS_IMG"
	timed "bp.$i" "$MICROVM_BIN" "${BS[@]}"
	must "bp.$i" "blk-stress: PASS"
	bp=$T
	timed "br.$i" "$MICROVM_BIN" "${BS[@]}" --record "$tr"
	must "br.$i" "blk-stress: PASS"
	br=$T
	put m_bs_plain "$bp"
	put m_bs_rec "$br"
	put m_bs_trace_bytes "$(stat -c %s "$tr")"
	put m_bs_trace_async "$("$MICROVM_BIN" trace dump "$tr" | grep -c +async || true)"
	timed "bq.$i" "$MICROVM_BIN" --replay "$tr"
	rp=$T
	verdict=$(grep '^replay:' "$TMP/bq.$i.err" | tail -1 || true)
	cost=$(search_cost "bq.$i")
	if [ "$RC" -eq 0 ] && [[ $verdict == "replay: identical"* ]] &&
		cmp -s "$TMP/br.$i.out" "$TMP/bq.$i.out"; then
		put m_bs_rep "$rp"
		put m_bs_rep_ratio "$(ratio "$rp" "$br")"
		if [ -n "$cost" ]; then
			# shellcheck disable=SC2086 # four fields
			set -- $cost
			put m_bs_async_found "$1"
			put m_bs_bp_hits "$2"
			put m_bs_steps "$3"
			put m_bs_search_s "$4"
			put m_bs_rep_ex_ratio "$(awk -v r="$rp" -v s="$4" -v b="$br" 'BEGIN{if (b > 0) printf "%.3f\n", (r-s)/b; else print "n/a"}')"
		fi
		echo "round $i blk-stress try $try: plain $bp s, record $br s, replay $rp s (replay/record $(ratio "$rp" "$br")); $verdict"
		[ -z "$cost" ] || echo "    search: $cost (positions found, breakpoint hits, instructions walked, s)"
		return 0
	fi
	why="not at an asynchronous position"
	after_async "bq.$i" "$tr" && why="at or after an asynchronous position (the known limit)"
	put m_bs_rep_bad "round $i try $try: exit $RC after $rp s (record $br s), $why: ${verdict:-no verdict line}"
	echo "round $i blk-stress try $try: plain $bp s, record $br s, replay NOT identical: exit $RC after $rp s, $why:"
	grep -A2 "^replay: replay diverged\|not found after" "$TMP/bq.$i.err" | head -4 | sed 's/^/    /' || true
	[ -z "$cost" ] || echo "    search: $cost (positions found, breakpoint hits, instructions walked, s)"
	return 1
}

# The Linux replay: how far it gets.  Uses the trace of round $1.
linux_replay() {
	local i=$1 tr=$TMP/linux.$1.trace verdict ev="" ex="" total_ex total_ev rec_b rep_b out budget cost
	timed "lq.$i" "$MICROVM_BIN" --replay "$tr"
	verdict=$(grep '^replay:' "$TMP/lq.$i.err" | tail -1 || true)
	total_ex=$("$MICROVM_BIN" trace info "$tr" | sed -n 's/^events: .* up to exit \([0-9]*\).*/\1/p')
	total_ev=$("$MICROVM_BIN" trace info "$tr" | sed -n 's/^events: \([0-9]*\) in all.*/\1/p')
	rec_b=$(stat -c %s "$TMP/lr.$i.out")
	rep_b=$(stat -c %s "$TMP/lq.$i.out")
	if cmp -s "$TMP/lr.$i.out" "$TMP/lq.$i.out"; then
		out="identical to the recorded one ($rep_b bytes)"
	elif cmp -s -n "$rep_b" "$TMP/lr.$i.out" "$TMP/lq.$i.out"; then
		out="$rep_b of the recorded $rec_b bytes, a prefix of them"
	else
		out="$rep_b bytes, differs from the recorded $rec_b: $(cmp "$TMP/lr.$i.out" "$TMP/lq.$i.out" 2>&1 | head -1)"
	fi
	if [[ $verdict =~ event\ ([0-9]+) ]]; then ev=${BASH_REMATCH[1]}; fi
	if [[ $verdict =~ exit\ ([0-9]+) ]]; then ex=${BASH_REMATCH[1]}; fi
	if [ -z "$ev" ] && [ -n "$ex" ]; then
		# gave up looking for a position: the first event at that exit
		# that was still to come (an asynchronous one)
		ev=$("$MICROVM_BIN" trace dump --kind input,clock,submit "$tr" |
			sed -n "s/^#\([0-9]*\) @exit $ex +async.*/\1/p" | head -1)
	fi
	budget=$(sed -n 's/.* in \([0-9]*\) s; giving up.*/\1/p' "$TMP/lq.$i.err" | head -1)
	cost=$(search_cost "lq.$i")
	put m_linrep_s "$T"
	put m_linrep_rc "$RC"
	if [ "$RC" -eq 0 ] && [[ $verdict == "replay: identical"* ]] && cmp -s "$TMP/lr.$i.out" "$TMP/lq.$i.out"; then
		put m_linrep_ok "$T"
		put m_linrep_ratio "$(ratio "$T" "$(sed -n "${i}p" "$RES/m_lin_rec" 2>/dev/null || echo 0)")"
	fi
	{
		echo "Linux replay (trace of round $i): exit status $RC after $T s$([ "$RC" -eq 124 ] && echo " (timed out)")"
		echo "  verdict: ${verdict:-no 'replay:' verdict line}"
		[ -z "$budget" ] || echo "  $(grep -m1 'giving up' "$TMP/lq.$i.err" | sed 's/^microvm: error: //')"
		if [ -n "$ex" ] && [ -n "$total_ex" ]; then
			echo "  got to exit $ex of $total_ex ($(awk -v a="$ex" -v b="$total_ex" 'BEGIN{printf "%.0f", 100*a/b}')%)${ev:+, event #$ev of $total_ev}"
		fi
		echo "  serial output: $out"
		# shellcheck disable=SC2086 # four fields
		[ -z "$cost" ] || { set -- $cost; echo "  search: $1 asynchronous positions found before it ($2 breakpoint hits, $3 instructions walked, $4 s)"; }
	} | tee -a "$RES/linux_replay.txt"
}

# shellcheck disable=SC2054 # QEMU options use commas
QEMU=(qemu-system-x86_64 -M microvm,pit=on,pic=on,rtc=on,acpi=off -cpu qemu64 -m 256
	-nographic -no-reboot -nodefaults -serial stdio
	-kernel "$BZIMAGE" -initrd "$INITRD" -append "$CMDLINE microvm.exit=reboot reboot=t")
qemu_round() {
	local i=$1 log=$TMP/qemu.$1.rr qp qr qq same
	timed "qp.$i" "${QEMU[@]}"
	must "qp.$i" "$MARKER"
	qp=$T
	timed "qr.$i" "${QEMU[@]}" -icount "shift=auto,rr=record,rrfile=$log"
	must "qr.$i" "$MARKER"
	qr=$T
	timed "qq.$i" "${QEMU[@]}" -icount "shift=auto,rr=replay,rrfile=$log"
	must "qq.$i" "$MARKER"
	qq=$T
	same="serial output identical"
	cmp -s "$TMP/qr.$i.out" "$TMP/qq.$i.out" || { same="serial output DIFFERS"; put q_rep_differs "$i"; }
	put q_plain "$qp"
	put q_rec "$qr"
	put q_rep "$qq"
	put q_rec_ratio "$(ratio "$qr" "$qp")"
	put q_rep_ratio "$(ratio "$qq" "$qr")"
	put q_log_bytes "$(stat -c %s "$log")"
	echo "round $i QEMU ($QEMU_WHERE): plain $qp s, record $qr s, replay $qq s; record/plain $(ratio "$qr" "$qp"), replay/record $(ratio "$qq" "$qr"); log $(stat -c %s "$log") bytes; $same"
	rm -f "$log"
}

# One round of microvm's side: Linux plain and record (which first
# alternates), blk-stress plain, record, replay.
microvm_round() {
	local i=$1
	if [ $((i % 2)) -eq 1 ]; then
		linux_plain "$i"
		linux_record "$i"
	else
		linux_record "$i"
		linux_plain "$i"
	fi
	put m_lin_rec_ratio "$(ratio "$LR" "$LP")"
	echo "round $i Linux boot: plain $LP s, record $LR s (record/plain $(ratio "$LR" "$LP")); trace $(tail -1 "$RES/m_trace_bytes") bytes, $(tail -1 "$RES/m_trace_events") events, $(tail -1 "$RES/m_trace_async") asynchronous positions"
	local try
	for try in $(seq 1 "$BLK_TRIES"); do
		if blk_round "$i" "$try"; then break; fi
	done
	return 0
}

if [ "${MICROVM_NESTED:-0}" = 1 ]; then QEMU_WHERE="nested tier"; else QEMU_WHERE=host; fi
if [ -n "$(kvm_unusable_reason)" ]; then MVM_WHERE="nested tier"; else
	MVM_WHERE=$([ "${MICROVM_NESTED:-0}" = 1 ] && echo "nested tier" || echo "this host's KVM"); fi
[ -n "$SAVE" ] || {
	echo "rr-bench: Linux guest $GUEST_DIR (vmlinux for microvm, bzImage for QEMU), cmdline '$CMDLINE'"
	[ "$QEMU_ONLY" = 1 ] || echo "rr-bench: microvm $MICROVM_BIN in the $MVM_WHERE; $RUNS round(s), interleaved; blk-stress $GUESTS/blk-stress.elf"
	[ "$HAVE_QEMU" = 0 ] || echo "rr-bench: QEMU $(qemu-system-x86_64 --version | head -1 | grep -o 'version [^ ]*') TCG -M microvm on the $QEMU_WHERE, $QEMU_RUNS round(s)"
	echo "rr-bench: absolute times in the nested tier and on the host are not comparable (the tier itself runs under TCG): compare the ratios"
}

for r in $(seq 1 "$RUNS"); do
	i=$((ROUND0 + r))
	if [ "$QEMU_ONLY" = 0 ]; then
		if [ "$NESTED" = 1 ]; then
			lrr=0
			[ "$r" -eq "$RUNS" ] && lrr=$LINUX_REPLAY_RUNS
			rc=0
			"$ROOT/tests/nested/run.sh" --rw "$RES" --timeout $((TIMEOUT * 12 + 300)) -- \
				"$SELF" --microvm "$MICROVM_BIN" --guests "$GUESTS" --runs 1 --qemu-runs 0 \
				--linux-replay-runs "$lrr" --timeout "$TIMEOUT" --blk-tries "$BLK_TRIES" --save "$RES" --round-base $((i - 1)) || rc=$?
			[ "$rc" -eq 0 ] || die "--nested: round $i in the nested tier failed (exit status $rc)"
		else
			microvm_round "$i"
		fi
	fi
	if [ "$HAVE_QEMU" = 1 ] && [ "$r" -le "$QEMU_RUNS" ]; then
		qemu_round "$i"
	fi
done
if [ "$HAVE_QEMU" = 1 ] && [ "$QEMU_RUNS" -gt "$RUNS" ]; then
	for i in $(seq $((ROUND0 + RUNS + 1)) $((ROUND0 + QEMU_RUNS))); do qemu_round "$i"; done
fi
if [ "$QEMU_ONLY" = 0 ] && [ "$NESTED" = 0 ]; then
	for k in $(seq 1 "$LINUX_REPLAY_RUNS"); do
		# the traces of the last rounds, newest first
		j=$((ROUND0 + RUNS - (k - 1) % RUNS))
		linux_replay "$j"
	done
fi
[ "$HAVE_QEMU" = 0 ] || echo "$QEMU_WHERE" >"$RES/q_where"
[ "$QEMU_ONLY" = 1 ] || [ "$NESTED" = 1 ] || echo "$MVM_WHERE" >"$RES/m_where"
[ -z "$SAVE" ] || exit 0

# --- the table ------------------------------------------------------------------
mw=$(cat "$RES/m_where" 2>/dev/null || echo -)
qw=$(cat "$RES/q_where" 2>/dev/null || echo -)
# verdict VALUE LIMIT: met / NOT met for VALUE <= LIMIT
verdict() { awk -v v="$1" -v l="$2" 'BEGIN{if (v == "n/a" || v == "") print "no figure"; else if (v+0 <= l+0) print "met"; else print "NOT met"}'; }
row() { printf '%-42s %18s %18s   %s\n' "$@"; }
echo
row "median of $(count m_lin_plain) microvm / $(count q_plain) QEMU round(s)" "microvm" "QEMU TCG" "target"
row "  (where)" "$mw" "$qw" ""
row "Linux boot, plain (s)" "$(med m_lin_plain)" "$(med q_plain)" ""
row "Linux boot, record (s)" "$(med m_lin_rec)" "$(med q_rec)" ""
mr=$(med m_lin_rec_ratio)
row "Linux record/plain (median of rounds)" "$mr" "$(med q_rec_ratio)" "<= 1.05: $(verdict "$mr" 1.05)"
row "Linux record/plain (of the medians)" "$(ratio "$(med m_lin_rec)" "$(med m_lin_plain)")" "$(ratio "$(med q_rec)" "$(med q_plain)")" ""
row "  microvm --stats: exits, plain / record" "$(med m_plain_exits) / $(med m_rec_exits)" "-" ""
row "  in KVM_RUN (s), plain / record" "$(med m_plain_in_guest_s) / $(med m_rec_in_guest_s)" "-" ""
row "  halted (s), plain / record" "$(med m_plain_halted_s) / $(med m_rec_halted_s)" "-" ""
row "  VMM, outside KVM_RUN (s), plain / record" "$(med m_plain_vmm_s) / $(med m_rec_vmm_s)" "-" ""
tb=$(med m_trace_bytes)
row "trace / rr log size (bytes)" "$tb" "$(med q_log_bytes)" "<= 1 MB: $(verdict "$tb" 1048576)"
row "trace events" "$(med m_trace_events)" "-" ""
row "trace exits (synchronous positions)" "$(med m_trace_exits)" "-" ""
row "trace asynchronous positions (+async)" "$(med m_trace_async)" "-" ""
row "Linux replay (s)" "$(if [ -s "$RES/m_linrep_ok" ]; then med m_linrep_ok; elif [ -s "$RES/m_linrep_s" ]; then echo "did not finish"; else echo n/a; fi)" "$(med q_rep)" ""
lr=$(med m_linrep_ratio)
if [ -s "$RES/m_linrep_ratio" ]; then
	row "Linux replay/record" "$lr" "$(med q_rep_ratio)" "<= 1.2: $(verdict "$lr" 1.2)"
elif [ -s "$RES/m_linrep_s" ]; then
	row "Linux replay/record" "n/a (see below)" "$(med q_rep_ratio)" "<= 1.2: NOT met (no identical replay)"
else
	row "Linux replay/record" "not attempted" "$(med q_rep_ratio)" ""
fi
row "blk-stress plain (s)" "$(med m_bs_plain)" "-" ""
row "blk-stress record (s)" "$(med m_bs_rec)" "-" ""
row "blk-stress record/plain (of the medians)" "$(ratio "$(med m_bs_rec)" "$(med m_bs_plain)")" "-" ""
row "blk-stress replay, identical ones (s)" "$(med m_bs_rep)" "-" ""
br=$(med m_bs_rep_ratio)
row "blk-stress replay/record (median of rounds)" "$br" "-" "<= 1.2: $(verdict "$br" 1.2)"
row "  replay without the search / record" "$(med m_bs_rep_ex_ratio)" "-" ""
row "blk-stress identical replays" "$(count m_bs_rep) of $(count m_bs_rec) tries" "-" ""
row "blk-stress trace bytes" "$(med m_bs_trace_bytes)" "-" ""
row "blk-stress async positions found" "$(med m_bs_async_found)" "-" ""
row "  breakpoint hits to find them" "$(med m_bs_bp_hits)" "-" ""
row "  search time (s)" "$(med m_bs_search_s)" "-" ""
if [ -s "$RES/m_bs_rep_bad" ]; then
	echo "blk-stress replays that were not identical (not counted above):"
	sed 's/^/  /' "$RES/m_bs_rep_bad"
fi
[ ! -s "$RES/q_rep_differs" ] || echo "QEMU: replay serial output differed from the recording in round(s) $(tr '\n' ' ' <"$RES/q_rep_differs")"
if [ -s "$RES/linux_replay.txt" ]; then
	echo
	cat "$RES/linux_replay.txt"
fi
echo
echo "QEMU's replay/record is for the Linux boot; microvm's replay/record target is measured on blk-stress (Linux exit-pinned replay does not reach its end yet)."
[ "$mw" = "$qw" ] || [ "$mw" = - ] || [ "$qw" = - ] || echo "microvm ran in the $mw, QEMU on the $qw: compare ratios, not seconds, across the two columns."
exit 0
