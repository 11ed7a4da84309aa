#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# boot-bench.sh [--runs N] [--microvm PATH] [--qemu-timeout S]
#
# Boots the minimal Linux guest (tests/linux) N times and prints medians of:
#   - time to the kernel handing over to /init ("Run /init as init process")
#     and to the init marker (MICROVM-LINUX-INIT-OK), from process start;
#   - exits per second, by kind (microvm --stats);
#   - the share of wall time microvm spends outside KVM_RUN while the guest
#     is runnable (the VMM's own overhead; the ideal is zero).
# Then, side by side in the same run, the reference: QEMU with
# `-M microvm -enable-kvm` on the same kernel, initramfs and memory.  Where
# that cannot boot (on hosts that emulate guest code it printed nothing in
# minutes, see ENVIRONMENT.md), the script says so and prints no ratio.
# This is a benchmark, not a test: it never fails on a slow number.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=3
MICROVM="$ROOT/build/microvm"
QEMU_TIMEOUT=120
MEM=256M
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--microvm) MICROVM=$2; shift 2 ;;
	--qemu-timeout) QEMU_TIMEOUT=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N] [--microvm PATH] [--qemu-timeout S]" >&2; exit 2 ;;
	esac
done
[ -x "$MICROVM" ] || { echo "build microvm first (scripts/test.sh or cmake): $MICROVM" >&2; exit 1; }
DIR=$("$ROOT/tests/linux/build.sh" --print-dir)
KERNEL=$DIR/vmlinux
INITRD=$DIR/initramfs.cpio.gz
CMDLINE="console=ttyS0 panic=-1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# shellcheck source-path=SCRIPTDIR source=../tests/lib/common.sh
. "$ROOT/tests/lib/common.sh"	# median


# Runs a command, timestamping each output line relative to the start.
timed_run() {
	local out=$1
	shift
	local t0=$EPOCHREALTIME
	"$@" </dev/null 2>"$out.err" | while IFS= read -r line; do
		printf '%s %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN{printf "%.3f", a-b}')" "$line"
	done >"$out"
}

field() { grep -o "$2=[0-9.]*" "$1" | head -1 | cut -d= -f2; }

echo "microvm boot benchmark: $RUNS runs, kernel $KERNEL, --mem $MEM"
for i in $(seq 1 "$RUNS"); do
	timed_run "$TMP/mvm.$i" "$MICROVM" --kernel "$KERNEL" --initrd "$INITRD" \
		--cmdline "$CMDLINE" --mem "$MEM" --stats
	init_t=$(grep -m1 "Run /init as init process" "$TMP/mvm.$i" | cut -d' ' -f1)
	marker_t=$(grep -m1 "MICROVM-LINUX-INIT-OK" "$TMP/mvm.$i" | cut -d' ' -f1)
	echo "${init_t:-}" >>"$TMP/init"
	echo "${marker_t:-}" >>"$TMP/marker"
	for k in wall_s exits_per_s vmm_share pio mmio hlt irq_window kick; do
		v=$(field "$TMP/mvm.$i.err" "$k")
		echo "${v:-}" >>"$TMP/$k"
	done
	echo "run $i: to /init ${init_t:-n/a} s, to marker ${marker_t:-n/a} s," \
		"wall $(field "$TMP/mvm.$i.err" wall_s) s," \
		"exits/s $(field "$TMP/mvm.$i.err" exits_per_s)," \
		"VMM share $(field "$TMP/mvm.$i.err" vmm_share)"
done

printf '\n%-34s %s\n' "median over $RUNS runs" "microvm"
printf '%-34s %s\n' "time to /init (s)" "$(grep . "$TMP/init" | median)"
printf '%-34s %s\n' "time to init marker (s)" "$(grep . "$TMP/marker" | median)"
printf '%-34s %s\n' "wall time to power-off (s)" "$(grep . "$TMP/wall_s" | median)"
printf '%-34s %s\n' "exits per second" "$(grep . "$TMP/exits_per_s" | median)"
for k in pio mmio hlt irq_window kick; do
	w=$(grep . "$TMP/wall_s" | median)
	n=$(grep . "$TMP/$k" | median)
	printf '%-34s %s\n' "  $k exits per second" "$(awk -v n="$n" -v w="$w" 'BEGIN{printf "%.0f", (w>0)?n/w:0}')"
done
printf '%-34s %s\n' "VMM share of wall time" "$(grep . "$TMP/vmm_share" | median)"

echo
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "reference: qemu-system-x86_64 not installed (apt-get install qemu-system-x86); no ratio"
	exit 0
fi
# QEMU cannot load an ELF vmlinux without a PVH note, so it boots the
# bzImage of the same kernel; its decompression time is part of its figure.
# A halted guest does not end QEMU: /init reboots instead (microvm.exit=),
# which -no-reboot turns into an exit.
qemu_boot() {
	local accel=$1 out=$2
	timed_run "$out" timeout "$QEMU_TIMEOUT" qemu-system-x86_64 \
		-M microvm,pit=on,pic=on,rtc=on,isa-serial=on $accel -cpu qemu64 \
		-m "$MEM" -nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$DIR/bzImage" -initrd "$INITRD" \
		-append "$CMDLINE noxsave microvm.exit=reboot reboot=t" || true
	grep -m1 "Run /init as init process" "$out" | cut -d' ' -f1 || true
}

m_init=$(grep . "$TMP/init" | median)
echo "reference: QEMU -M microvm -enable-kvm (bzImage of the same kernel), timeout ${QEMU_TIMEOUT} s"
q_init=$(qemu_boot -enable-kvm "$TMP/qemu")
if [ -z "$q_init" ]; then
	echo "reference: QEMU/KVM did not reach /init within ${QEMU_TIMEOUT} s ($(wc -l <"$TMP/qemu") lines of output); no ratio on this host"
	tail -2 "$TMP/qemu.err" 2>/dev/null | sed 's/^/  qemu: /'
else
	echo "reference: QEMU/KVM time to /init ${q_init} s"
	awk -v m="$m_init" -v q="$q_init" 'BEGIN{printf "ratio microvm/QEMU-KVM time to /init: %.2f\n", m/q}'
fi
# For scale only: TCG translates guest code instead of running it, so it
# is not a like-for-like reference for a KVM VMM.
t_init=$(qemu_boot "-accel tcg" "$TMP/tcg")
if [ -n "$t_init" ]; then
	echo "for scale: QEMU TCG time to /init ${t_init} s (software emulation, not like-for-like)"
	awk -v m="$m_init" -v q="$t_init" 'BEGIN{printf "ratio microvm/QEMU-TCG time to /init: %.2f\n", m/q}'
fi
