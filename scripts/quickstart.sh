#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# From a fresh Debian 12 machine to a Linux guest booting in microvm:
# installs the packages, builds microvm, builds the minimal Linux guest
# (once per machine, cached in ~/.cache/microvm) and boots it on this
# terminal.  Extra arguments go to microvm (e.g. --mem 512M).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
cmake -S "$ROOT" -B "$ROOT/build" >/dev/null
cmake --build "$ROOT/build" -j "$(nproc)" --target microvm
DIR=$("$ROOT/tests/linux/build.sh" --print-dir)
echo "booting $DIR/vmlinux (Ctrl-A x quits)"
exec "$ROOT/build/microvm" --kernel "$DIR/vmlinux" \
	--initrd "$DIR/initramfs.cpio.gz" --cmdline "console=ttyS0" "$@"
