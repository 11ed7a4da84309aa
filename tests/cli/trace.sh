#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `microvm trace info|dump|verify` on real traces made by the scripted VMM
# (tests/replay/gen_trace): a complete one, one cut short, one with a byte
# flipped, one of an unknown version, and bad command lines.  No KVM.
#   trace.sh MICROVM GEN_TRACE
set -u
MICROVM=$1
GEN=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# expect CODE PATTERN CMD...: exit code CODE, output (both streams) matching PATTERN
expect() {
	local code=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "$* exited $rc, expected $code: $out"
	elif ! grep -qE -- "$pat" <<<"$out"; then
		fail "$*: output does not match '$pat': $out"
	else
		echo "ok: $* -> $rc"
	fi
}

"$GEN" "$T/good.trace" 800 16 || { echo "gen_trace failed"; exit 1; }
size=$(stat -c %s "$T/good.trace")

expect 0 "good: version 3, [0-9]+ events, $size bytes" "$MICROVM" trace verify "$T/good.trace"
expect 0 "ends: complete at byte $size: END record" "$MICROVM" trace info "$T/good.trace"
expect 0 "cmdline   console=ttyS0" "$MICROVM" trace info "$T/good.trace"
expect 0 "vda +input +[0-9]+ events" "$MICROVM" trace info "$T/good.trace"
expect 0 "input +[0-9]+ events +[0-9]+ bytes" "$MICROVM" trace info "$T/good.trace"
expect 0 "^#0 @exit" "$MICROVM" trace dump "$T/good.trace"
expect 0 "# complete at byte $size" "$MICROVM" trace dump "$T/good.trace"

# Filters: only clock events of the pit, only the index range asked for.
out=$("$MICROVM" trace dump --kind clock --source pit "$T/good.trace" | grep -v '^#[^0-9]')
[ -n "$out" ] || fail "dump --kind clock --source pit printed nothing"
grep -vqE '^#[0-9]+ @[^ ]+( [^ ]+)* clock pit value=[0-9]+$' <<<"$out" &&
	fail "dump --kind clock --source pit printed other events: $(grep -vE 'clock pit' <<<"$out" | head -3)"
out=$("$MICROVM" trace dump --from 10 --to 19 "$T/good.trace" | grep -c '^#[0-9]')
[ "$out" -eq 10 ] || fail "dump --from 10 --to 19 printed $out events"
expect 0 "@exit [0-9]+ \\+async rip=" "$MICROVM" trace dump --kind input "$T/good.trace"
expect 0 "checkpoint regs=" "$MICROVM" trace dump --kind checkpoint "$T/good.trace"

# Cut in the middle: intact but incomplete, readable up to a chunk.
head -c $((size / 2)) "$T/good.trace" >"$T/cut.trace"
expect 6 "incomplete: readable up to byte [0-9]+" "$MICROVM" trace verify "$T/cut.trace"
expect 0 "ends: cut at byte [0-9]+: no END record" "$MICROVM" trace info "$T/cut.trace"
# Cut inside the header.
head -c 20 "$T/good.trace" >"$T/short.trace"
expect 1 "cut inside its 32-byte header" "$MICROVM" trace verify "$T/short.trace"

# A flipped byte in the middle: the chunk that holds it is named.
cp "$T/good.trace" "$T/flip.trace"
off=$((size / 2))
orig=$(od -An -tu1 -j "$off" -N1 "$T/flip.trace" | tr -d ' ')
printf "$(printf '\\%03o' $((orig ^ 0x40)))" |
	dd of="$T/flip.trace" bs=1 seek="$off" conv=notrunc status=none
expect 1 "bad byte at offset [0-9]+: chunk CRC mismatch" "$MICROVM" trace verify "$T/flip.trace"
expect 1 "ends: corrupt at byte" "$MICROVM" trace info "$T/flip.trace"
bad=$("$MICROVM" trace verify "$T/flip.trace" 2>&1 | sed -n 's/.*offset \([0-9]*\):.*/\1/p')
[ -n "$bad" ] && [ "$bad" -le "$off" ] && [ "$bad" -gt $((off - 70000)) ] ||
	fail "flipped byte $off reported at offset '$bad'"

# Version 9: refused, naming both versions.
cp "$T/good.trace" "$T/v9.trace"
printf '\011' | dd of="$T/v9.trace" bs=1 seek=8 conv=notrunc status=none
expect 1 "version 9, this microvm reads versions 2 to 3" "$MICROVM" trace verify "$T/v9.trace"
expect 1 "bad magic" "$MICROVM" trace info /etc/passwd
expect 1 "cannot open trace" "$MICROVM" trace verify "$T/missing.trace"
expect 2 "usage: microvm trace" "$MICROVM" trace
expect 2 "usage: microvm trace" "$MICROVM" trace frobnicate "$T/good.trace"
expect 2 "unknown kind" "$MICROVM" trace dump --kind bogus "$T/good.trace"

[ "$fails" -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "all trace CLI checks passed"
