#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs what microvm needs to build, test and boot its bundled Linux
# guest on Debian 12.  Safe to run again; run as root or with sudo.
set -euo pipefail

PKGS=(
	build-essential cmake musl-tools linux-libc-dev
	# the replay core: the trace's machine description is a device tree
	libfdt-dev
	# the minimal Linux guest (tests/linux/build.sh)
	linux-source-6.1 flex bison bc libelf-dev xz-utils
	busybox-static cpio e2fsprogs file
	# the fuzz targets (clang's libFuzzer, ASan, UBSan)
	clang libclang-rt-14-dev
	# the io_uring disk engine
	liburing-dev
	# the nested tier (tests/nested/run.sh): Debian's kernel loads kvm-amd
	# inside a QEMU TCG machine, with or without /dev/kvm on this host
	qemu-system-x86 linux-image-amd64
)

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
else
	SUDO=sudo
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	--no-install-recommends "${missing[@]}"
