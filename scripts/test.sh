#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds everything (the default build and the static musl build), builds
# the minimal Linux guest once per machine (cached), and runs the test
# suite.  This is the test command named in README.md and run by CI.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
JOBS="$(nproc)"

echo "== build (system compiler)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$JOBS"

echo "== build (static, musl)"
cmake -S "$ROOT" -B "$BUILD-static" -DMICROVM_STATIC=ON >/dev/null
cmake --build "$BUILD-static" -j "$JOBS" --target microvm
if file "$BUILD-static/microvm" | grep -q "statically linked"; then
	echo "static microvm: $(file -b "$BUILD-static/microvm" | cut -d, -f1-2)"
else
	echo "error: $BUILD-static/microvm is not statically linked" >&2
	exit 1
fi

echo "== fuzz targets (clang, libFuzzer + ASan + UBSan)"
FUZZ_BUILD="$BUILD-fuzz"
if command -v clang >/dev/null; then
	CC=clang cmake -S "$ROOT" -B "$FUZZ_BUILD" -DMICROVM_FUZZ=ON \
		-DMICROVM_FUZZ_SECONDS="${MICROVM_FUZZ_SECONDS:-60}" >/dev/null
	cmake --build "$FUZZ_BUILD" -j "$JOBS"
else
	echo "clang not installed: the fuzz tests will not run (apt-get install clang libclang-rt-14-dev)"
fi

echo "== minimal Linux guest (cached under ~/.cache/microvm)"
"$ROOT/tests/linux/build.sh" --print-dir || {
	rc=$?
	# 77: this machine cannot build it; the Linux tests will say skipped.
	[ "$rc" -eq 77 ] || exit "$rc"
}

if [ -d "$FUZZ_BUILD" ]; then
	echo "== fuzzing (${MICROVM_FUZZ_SECONDS:-60} s per target)"
	(cd "$FUZZ_BUILD" && ctest --output-on-failure -L fuzz)
fi

echo "== tests"
cd "$BUILD"
# Two tiers (docs/testing.md).  The nested tier (tests/nested, ctest label
# nested) runs the KVM tests on a real kvm_amd inside QEMU TCG, on every
# machine.  Natively they run too where /dev/kvm works, except, where this
# host's KVM emulates guest code (~1.4 M instructions/s, a Linux boot takes
# minutes), the ones labelled slow-native, which the nested tier runs in
# seconds.  Without /dev/kvm the native KVM tests skip and say why.
native=()
# Tests labelled long (tests/linux/rr-step.sh: a Linux boot single-stepped
# both ways, ~25 minutes) run only when asked for.
if [ "${MICROVM_LONG_TESTS:-0}" != 1 ]; then
	echo "tests labelled long are left out (MICROVM_LONG_TESTS=1 runs them)"
	native=(-LE '^long$')
fi
if probe=$("$BUILD/microvm" --probe-host 2>&1); then
	echo "$probe"
	if grep -Eq '^guest code emulated +yes' <<<"$probe"; then
		echo "this host's KVM emulates guest code: tests labelled slow-native run in the nested tier only"
		native=(-LE "${native[1]:+^long\$|}slow-native")
	fi
else
	echo "no usable KVM on this host (${probe#microvm: error: }):"
	echo "the KVM tests run in the nested tier only; their native runs say skipped"
fi
start=$(date +%s)
status=0
ctest --output-on-failure -j 2 "${native[@]}" "$@" || status=$?
echo "== ctest took $(($(date +%s) - start)) s"
exit "$status"
