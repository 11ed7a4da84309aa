#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# search-bench.sh --microvm PATH --baseline PATH [--guests DIR] [--runs N]
#
# The cost of finding asynchronous positions again on replay (the
# breakpoint search, vmm/pin_search.c), one build against another, side by
# side: each round records blk-stress (a guest that computes without exits
# while its disk requests complete, so its recordings have asynchronous
# positions) with the baseline, then replays that one trace with the
# baseline and with microvm, interleaved.  Search times are compared over
# the rounds where both replays were identical.  Both builds must compute the same
# digests (the trace is shared), so the same hits and verdicts are expected
# of both; what differs is the time.  Prints per round: record seconds, each
# replay's verdict, hits and search seconds; then the medians of
# baseline/microvm search time and of replay/record over identical replays.
#
# Needs KVM (in the nested tier: tests/nested/run.sh -- bench/search-bench.sh
# ...); skips (77) without it.  Not a test: never fails on a slow number.
set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/lib/common.sh
. "$ROOT/tests/lib/common.sh"

microvm="" baseline="" guests="$ROOT/build/tests/guests" runs=4
while [ $# -gt 0 ]; do
	case $1 in
	--microvm) microvm=$2; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--guests) guests=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 --microvm PATH --baseline PATH [--guests DIR] [--runs N]" >&2
	   exit 2 ;;
	esac
done
[ -x "$microvm" ] && [ -x "$baseline" ] && [ -f "$guests/blk-stress.elf" ] || {
	echo "search-bench: need --microvm and --baseline binaries and $guests/blk-stress.elf" >&2
	exit 2
}
require_kvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 64M "$tmp/disk.img"
: >"$tmp/speedup" >"$tmp/baseline.ratio" >"$tmp/microvm.ratio"
disk=(--disk "$tmp/disk.img,snapshot,id=bs-rw-disk")

# run ERR CMD...: CMD with stderr to ERR; prints its wall seconds.
run() {
	local err=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	"$@" </dev/null >/dev/null 2>"$err" || true
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
# "hits seconds" from a replay's report line, or "n/a n/a".
search_of() {
	sed -n 's/.*found with .*: \([0-9]*\) hits .* in \([0-9.]*\) s (slowest.*/\1 \2/p' "$1" |
		grep . || echo "n/a n/a"
}

base_ok=0 new_ok=0
for r in $(seq 1 "$runs"); do
	t_rec=$(run "$tmp/rec.err" "$baseline" --record "$tmp/bs.trace" \
		--kernel "$guests/blk-stress.elf" "${disk[@]}" \
		--cmdline "console=ttyS0 blk-stress.mode=rw blk-stress.id=bs-rw-disk")
	echo "round $r: recorded in $t_rec s"
	for b in baseline microvm; do
		bin=${!b}
		t=$(run "$tmp/$b.err" "$bin" --replay "$tmp/bs.trace" "${disk[@]}")
		read -r hits s <<<"$(search_of "$tmp/$b.err")"
		verdict=$(grep -m1 '^replay:' "$tmp/$b.err" | cut -c9-40)
		printf '  %-9s %6s s  %-32s %6s hits, search %s s\n' "$b" "$t" "$verdict" "$hits" "$s"
		echo "$s" >"$tmp/$b.search$r"
		case $verdict in
		identical*) awk -v a="$t" -v b="$t_rec" 'BEGIN { printf "%.3f\n", a / b }' >>"$tmp/$b.ratio" ;;
		esac
	done
	# Search times compare only where both replays were identical.
	[ "$(wc -l <"$tmp/baseline.ratio")" -eq "$base_ok" ] ||
		[ "$(wc -l <"$tmp/microvm.ratio")" -eq "$new_ok" ] ||
		paste "$tmp/baseline.search$r" "$tmp/microvm.search$r" |
		awk '$1 != "n/a" && $2 != "n/a" && $2 > 0 { printf "%.3f\n", $1 / $2 }' >>"$tmp/speedup"
	base_ok=$(wc -l <"$tmp/baseline.ratio")
	new_ok=$(wc -l <"$tmp/microvm.ratio")
done
echo "median baseline/microvm search time: $(median <"$tmp/speedup")"
for b in baseline microvm; do
	echo "median replay/record, $b (identical replays only): $(median <"$tmp/$b.ratio")"
done
