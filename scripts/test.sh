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

echo "== minimal Linux guest (cached under ~/.cache/microvm)"
"$ROOT/tests/linux/build.sh" --print-dir || {
	rc=$?
	# 77: this machine cannot build it; the Linux tests will say skipped.
	[ "$rc" -eq 77 ] || exit "$rc"
}

echo "== tests"
cd "$BUILD"
ctest --output-on-failure -j 2 "$@"
