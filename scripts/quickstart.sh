#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# From a fresh Debian 12 machine to a Linux guest booting in microvm:
# installs the packages, builds microvm, builds the minimal Linux guest
# (once per machine, cached in ~/.cache/microvm) and boots it on this
# terminal.  Extra arguments go to microvm (e.g. --mem 512M).
#
# Without a usable /dev/kvm it says so and boots the same guest with the
# same microvm in the nested tier instead: a real kvm_amd inside a QEMU TCG
# machine (tests/nested/run.sh), about ten seconds more to start.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
cmake -S "$ROOT" -B "$ROOT/build" >/dev/null
cmake --build "$ROOT/build" -j "$(nproc)" --target microvm
DIR=$("$ROOT/tests/linux/build.sh" --print-dir)
cmd=("$ROOT/build/microvm" --kernel "$DIR/vmlinux"
	--initrd "$DIR/initramfs.cpio.gz" --cmdline "console=ttyS0" "$@")

# microvm's own probe says whether KVM here works, and why not.
if why=$("$ROOT/build/microvm" --probe-host 2>&1 >/dev/null); then
	echo "booting $DIR/vmlinux (Ctrl-A x quits)"
	exec "${cmd[@]}"
fi
echo "quickstart: KVM is not usable on this machine: ${why#microvm: error: }"
echo "quickstart: booting it in the nested tier instead (KVM inside a QEMU TCG machine, tests/nested/run.sh)"
echo "booting $DIR/vmlinux (Ctrl-A x quits)"
status=0
"$ROOT/tests/nested/run.sh" -- "${cmd[@]}" || status=$?
if [ "$status" -eq 77 ]; then
	echo "quickstart: the nested tier cannot run here either (the reason is above)" >&2
	exit 1
fi
exit "$status"
