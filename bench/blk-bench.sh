#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# blk-bench.sh [--microvm PATH] [--baseline PATH] [--runs N] [--qemu-runs N]
#              [--seq-mib N] [--rand-count N] [--image-mib N] [--timeout S]
#
# Guest-visible virtio-blk read throughput, microvm against QEMU's `-M
# microvm` virtio-blk (virtio-mmio, modern), side by side in one run, on the
# same raw image (filled with deterministic data, attached read-only) with
# the same Linux test guest (tests/linux; /init in microvm.test=blkbench
# mode, see tests/linux/init.sh):
#   seqread   blktool seqread: --seq-mib MiB from /dev/vda, O_DIRECT, 1 MiB
#             requests (the device path; no page-cache copy in the guest)
#   randread  blktool randread: --rand-count O_DIRECT 4 KiB preads at
#             random aligned offsets over the whole disk (IOPS)
#   dd        dd if=/dev/vda of=/dev/null bs=1M count=<seq-mib>, buffered
#             (page cache and readahead), timed by blktool time
# Each figure is printed twice: as the guest measured it (clock_gettime in
# the guest) and from host timestamps of the guest's begin/end console lines.
#
# READ THIS BEFORE QUOTING A NUMBER: the CI/development machines run guest
# code under instruction emulation (~1.4 M guest instructions/s, see
# ENVIRONMENT.md), and QEMU runs here with TCG because QEMU with -enable-kvm
# does not work on these hosts.  The absolute MB/s and IOPS say little about
# real hardware, and guest clocks are distorted (microvm's guest runs on
# jiffies, QEMU TCG's on the TSC).  The figures to report are the ratios
# microvm/QEMU, measured the same way on both sides in the same run.
#
# --baseline PATH adds a second microvm binary (e.g. one built from an
# earlier commit) measured in the same run, runs interleaved with the first,
# and prints microvm/baseline ratios: how a change to the disk path moved
# the guest-visible figures, against a reference measured side by side.
#
# Not a test: it never fails on a slow number; it exits non-zero only when a
# guest cannot run the benchmark at all.  A microvm without --disk (or absent)
# gives QEMU figures only, with a note.
set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/linux/guest-lib.sh
. "$ROOT/tests/linux/guest-lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/lib/common.sh
. "$ROOT/tests/lib/common.sh"

MICROVM_BIN=$ROOT/build/microvm
BASELINE_BIN=
RUNS=1
QEMU_RUNS=3
SEQ_MIB=32
RAND_COUNT=1000
IMAGE_MIB=256
TIMEOUT=900
usage() {
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}/usage: /' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--microvm) MICROVM_BIN=${2:?}; shift 2 ;;
	--baseline) BASELINE_BIN=${2:?}; shift 2 ;;
	--runs) RUNS=${2:?}; shift 2 ;;
	--qemu-runs) QEMU_RUNS=${2:?}; shift 2 ;;
	--seq-mib) SEQ_MIB=${2:?}; shift 2 ;;
	--rand-count) RAND_COUNT=${2:?}; shift 2 ;;
	--image-mib) IMAGE_MIB=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,38p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
[ "$SEQ_MIB" -lt "$IMAGE_MIB" ] || { echo "blk-bench: --seq-mib must be below --image-mib" >&2; exit 2; }

rc=0
guest_lib_init || rc=$?
[ "$rc" -eq 0 ] || { echo "blk-bench: cannot run without the Linux test guest" >&2; exit "$rc"; }

have_microvm=1
why_no_microvm=
if [ ! -x "$MICROVM_BIN" ]; then
	have_microvm=0
	why_no_microvm="no microvm binary at $MICROVM_BIN (build it, or pass --microvm PATH)"
elif ! "$MICROVM_BIN" --help 2>&1 | grep -q -- '--disk'; then
	have_microvm=0
	why_no_microvm="$MICROVM_BIN --help lists no --disk option (virtio-blk not there yet)"
elif [ -n "$(kvm_unusable_reason)" ]; then
	have_microvm=0
	why_no_microvm=$(kvm_unusable_reason)
fi
if [ -n "$BASELINE_BIN" ] && [ ! -x "$BASELINE_BIN" ]; then
	echo "blk-bench: --baseline $BASELINE_BIN is not an executable" >&2
	exit 2
fi
MICROVM=$MICROVM_BIN # read by guest_run
export MICROVM
have_qemu=1
command -v qemu-system-x86_64 >/dev/null || have_qemu=0
[ "$have_microvm" = 1 ] || [ "$have_qemu" = 1 ] ||
	{ echo "blk-bench: neither microvm ($why_no_microvm) nor qemu-system-x86_64 (apt-get install qemu-system-x86) can run" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/blk-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
IMG=$TMP/bench.img
"$GUEST_DIR/blktool" pattern $((IMAGE_MIB * 1048576)) 7 >"$IMG"
cat "$IMG" >/dev/null # both VMMs read it from the host page cache
CMDLINE="console=ttyS0 panic=-1 microvm.test=blkbench microvm.mib=$SEQ_MIB microvm.count=$RAND_COUNT"

# guest_field LOG NAME KEY: KEY=value from the guest's "BLKTOOL NAME ..." line
guest_field() { tr -d '\r' <"$1" | awk -v n="$2" -v k="$3" '{for (i = 1; i < NF; i++) if ($i == "BLKTOOL" && $(i+1) == n) for (j = i + 2; j <= NF; j++) if (index($j, k "=") == 1) {print substr($j, length(k) + 2); exit}}'; }
# host_secs LOG NAME: host seconds between "MICROVM-BENCH NAME begin" and "end"
host_secs() { tr -d '\r' <"$1" | awk -v n="$2" '$2 == "MICROVM-BENCH" && $3 == n && $4 == "begin" {b=$1} $2 == "MICROVM-BENCH" && $3 == n && $4 == "end" && b != "" {printf "%.3f\n", $1-b; exit}'; }
init_secs() { tr -d '\r' <"$1" | awk '/Run \/init as init process/ {print $1; exit}'; }

# run_side KIND RUNS [FIRST]: boots RUNS times (numbered from FIRST), writes
# per-metric files $TMP/KIND.METRIC.  KIND baseline is microvm with
# $BASELINE_BIN.
run_side() {
	local kind=$1 runs=$2 first=${3:-1} i log s gkind=$1
	[ "$kind" = baseline ] && gkind=microvm
	for i in $(seq "$first" $((first + runs - 1))); do
		log=$TMP/$kind.$i.log
		if [ "$kind" = baseline ]; then
			MICROVM=$BASELINE_BIN GUEST_TIMESTAMP=1 guest_run "$gkind" "$log" "$TIMEOUT" "$CMDLINE" "$IMG" 1 >"$TMP/$kind.$i.cmd"
		else
			MICROVM=$MICROVM_BIN GUEST_TIMESTAMP=1 guest_run "$gkind" "$log" "$TIMEOUT" "$CMDLINE" "$IMG" 1 >"$TMP/$kind.$i.cmd"
		fi
		if ! grep -q "MICROVM-TEST-PASS: blkbench" "$log"; then
			echo "$kind run $i: the guest did not complete the benchmark (status $GUEST_STATUS, ${GUEST_ELAPSED} s); last 30 lines:"
			tail -n 30 "$log" | sed 's/^/  /'
			return 1
		fi
		guest_field "$log" seqread MBps >>"$TMP/$kind.seq_mbps"
		guest_field "$log" randread iops >>"$TMP/$kind.rand_iops"
		guest_field "$log" dd MBps >>"$TMP/$kind.dd_mbps"
		s=$(host_secs "$log" seqread)
		awk -v s="$s" -v m="$SEQ_MIB" 'BEGIN{if (s > 0) printf "%.3f\n", m*1.048576/s}' >>"$TMP/$kind.h_seq_mbps"
		s=$(host_secs "$log" randread)
		awk -v s="$s" -v n="$RAND_COUNT" 'BEGIN{if (s > 0) printf "%.2f\n", n/s}' >>"$TMP/$kind.h_rand_iops"
		s=$(host_secs "$log" dd)
		awk -v s="$s" -v m="$SEQ_MIB" 'BEGIN{if (s > 0) printf "%.3f\n", m*1.048576/s}' >>"$TMP/$kind.h_dd_mbps"
		init_secs "$log" >>"$TMP/$kind.init_s"
		echo "$GUEST_ELAPSED" >>"$TMP/$kind.wall_s"
		echo "$kind run $i: seqread $(guest_field "$log" seqread MBps) MB/s," \
			"randread $(guest_field "$log" randread iops) IOPS," \
			"dd $(guest_field "$log" dd MBps) MB/s (guest clock); wall ${GUEST_ELAPSED} s"
	done
}

echo "blk-bench: image ${IMAGE_MIB} MiB (read-only), seqread/dd ${SEQ_MIB} MiB, randread ${RAND_COUNT} x 4 KiB"
echo "blk-bench: guest $GUEST_DIR"
echo "blk-bench: guest code is emulated on these hosts and QEMU is TCG: compare the ratios, not the MB/s"
sides=()
if [ "$have_microvm" = 1 ] && [ -n "$BASELINE_BIN" ]; then
	echo "blk-bench: microvm $MICROVM_BIN and baseline $BASELINE_BIN, $RUNS run(s) each, interleaved (vmlinux)"
	ok=1
	for i in $(seq 1 "$RUNS"); do
		run_side microvm 1 "$i" || ok=0
		run_side baseline 1 "$i" || ok=0
	done
	[ "$ok" = 1 ] && sides+=(microvm baseline)
elif [ "$have_microvm" = 1 ]; then
	echo "blk-bench: microvm $MICROVM_BIN, $RUNS run(s) (vmlinux)"
	if run_side microvm "$RUNS"; then sides+=(microvm); fi
else
	echo "blk-bench: microvm skipped: $why_no_microvm"
fi
if [ "$have_qemu" = 1 ]; then
	echo "blk-bench: QEMU TCG $(qemu-system-x86_64 --version | head -1 | grep -o 'version [^ ]*'), -M microvm, $QEMU_RUNS run(s) (bzImage)"
	if run_side qemu "$QEMU_RUNS"; then sides+=(qemu); fi
else
	echo "blk-bench: QEMU skipped: qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
fi
[ "${#sides[@]}" -gt 0 ] || { echo "blk-bench: no side completed" >&2; exit 1; }

val() { [ -s "$TMP/$1.$2" ] && grep . "$TMP/$1.$2" | median || echo n/a; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (a+0 > 0 && b+0 > 0) printf "%.3g", a/b; else printf "n/a"}'; }
if [ -n "$BASELINE_BIN" ] && [ -s "$TMP/baseline.seq_mbps" ]; then
	printf '\n%-40s %14s %14s %16s\n' "median" "microvm" "baseline" "microvm/baseline"
	for pair in "seqread O_DIRECT 1M, MB/s (guest):seq_mbps" \
		"randread O_DIRECT 4K, IOPS (guest):rand_iops" \
		"dd bs=1M buffered, MB/s (guest):dd_mbps" \
		"seqread O_DIRECT 1M, MB/s (host clock):h_seq_mbps" \
		"randread O_DIRECT 4K, IOPS (host clock):h_rand_iops" \
		"dd bs=1M buffered, MB/s (host clock):h_dd_mbps" \
		"host s, whole run (lower is better):wall_s"; do
		m=$(val microvm "${pair##*:}")
		b=$(val baseline "${pair##*:}")
		printf '%-40s %14s %14s %16s\n' "${pair%:*}" "$m" "$b" "$(ratio "$m" "$b")"
	done
fi
printf '\n%-40s %14s %14s %14s\n' "median" "microvm" "QEMU TCG" "microvm/QEMU"
row() { # label metric
	local m q
	m=$(val microvm "$2")
	q=$(val qemu "$2")
	printf '%-40s %14s %14s %14s\n' "$1" "$m" "$q" "$(ratio "$m" "$q")"
}
row "seqread O_DIRECT 1M, MB/s (guest)" seq_mbps
row "randread O_DIRECT 4K, IOPS (guest)" rand_iops
row "dd bs=1M buffered, MB/s (guest)" dd_mbps
row "seqread O_DIRECT 1M, MB/s (host clock)" h_seq_mbps
row "randread O_DIRECT 4K, IOPS (host clock)" h_rand_iops
row "dd bs=1M buffered, MB/s (host clock)" h_dd_mbps
row "host s to 'Run /init' (lower is better)" init_s
row "host s, whole run (lower is better)" wall_s
[ "$have_microvm" = 1 ] || { echo "(no microvm column: $why_no_microvm)"; exit 0; }
[ -s "$TMP/qemu.init_s" ] && [ -s "$TMP/microvm.init_s" ] || exit 0

# How much of the gap is the device path and how much is just the speed at
# which each runs guest code: the throughput ratios divided by the ratio of
# the two boot speeds (QEMU's time to /init over microvm's; the boot is
# almost all guest CPU work).  ~1 means microvm's virtio-blk path costs the
# guest what QEMU's does, relative to its CPU speed; <1 means it costs more.
speed=$(ratio "$(val qemu init_s)" "$(val microvm init_s)")
echo
echo "guest CPU speed, microvm/QEMU (from time to /init): $speed"
norm() { # label metric
	local r
	r=$(ratio "$(val microvm "$2")" "$(val qemu "$2")")
	printf '%-40s %14s\n' "$1" "$(ratio "$r" "$speed")"
}
printf '%-40s %14s\n' "ratio / CPU-speed ratio" "microvm/QEMU"
norm "seqread O_DIRECT 1M (guest clock)" seq_mbps
norm "randread O_DIRECT 4K (guest clock)" rand_iops
norm "dd bs=1M buffered (guest clock)" dd_mbps
norm "seqread O_DIRECT 1M (host clock)" h_seq_mbps
norm "randread O_DIRECT 4K (host clock)" h_rand_iops
norm "dd bs=1M buffered (host clock)" h_dd_mbps
