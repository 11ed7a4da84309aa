#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# no-kvm.sh BUILD_DIR MICROVM HELLO_ELF
#
# The test suite is honest on a host without KVM: inside a private mount
# namespace whose /dev has no kvm node, every guest and cli test that
# needs KVM is reported by ctest as skipped with a reason (not passed, not
# failed), the ones that do not need it pass, nothing creates /dev/kvm,
# and microvm itself says what is wrong, also when /dev/kvm is a regular
# file.  Needs root and unshare(1); skips (77) otherwise.
set -u

build=$1
microvm=$2
hello=$3

if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	echo "SKIP: needs root and unshare(1) to build a /dev without kvm"
	exit 77
fi
if [ -n "${MICROVM_IN_NO_KVM_NS:-}" ]; then
	echo "SKIP: already inside the no-KVM namespace"
	exit 77
fi
if ! unshare --mount --propagation private true 2>/dev/null; then
	echo "SKIP: unshare --mount is not permitted here"
	exit 77
fi

# Runs inside the namespace: a tmpfs /dev with the usual nodes bound in
# from the real one, and no kvm.
inner() {
	set -u
	local d fail=0 out

	d=$(mktemp -d)
	mount -t tmpfs -o mode=755 nokvm-dev "$d" || exit 1
	for n in null zero full random urandom tty; do
		[ -e "/dev/$n" ] || continue
		touch "$d/$n" && mount --bind "/dev/$n" "$d/$n"
	done
	mkdir -p "$d/pts" "$d/shm"
	mount --rbind /dev/pts "$d/pts" 2>/dev/null || true
	ln -s /proc/self/fd "$d/fd"
	ln -s /proc/self/fd/0 "$d/stdin"
	ln -s /proc/self/fd/1 "$d/stdout"
	ln -s /proc/self/fd/2 "$d/stderr"
	mount --rbind "$d" /dev || exit 1
	[ ! -e /dev/kvm ] || { echo "FAIL: /dev/kvm still visible"; exit 1; }

	# microvm names the problem, for a missing node and a fake one.
	out=$("$microvm" --kernel "$hello" 2>&1 </dev/null)
	if [ $? -eq 1 ] && grep -q "KVM is not available" <<<"$out"; then
		echo "ok   microvm without /dev/kvm: $out"
	else
		echo "FAIL microvm without /dev/kvm: $out"; fail=1
	fi
	: >/dev/kvm
	out=$("$microvm" --kernel "$hello" 2>&1 </dev/null)
	if [ $? -eq 1 ] && grep -q "/dev/kvm is not a KVM device" <<<"$out"; then
		echo "ok   microvm with a regular file at /dev/kvm: $out"
	else
		echo "FAIL microvm with a regular file at /dev/kvm: $out"; fail=1
	fi
	rm -f /dev/kvm

	# The suite: KVM tests skip, the others pass, nothing fails.
	out=$(cd "$build" && MICROVM_IN_NO_KVM_NS=1 ctest -L 'guest|cli|linux' -LE nested \
		-E 'cli/no-kvm|linux/build' -FA '.*' 2>&1)
	echo "$out" | grep -E "Test +#|tests passed|Skipped"
	if grep -qE '\*\*\*Failed|\(Failed\)|Timeout|Exception' <<<"$out"; then
		echo "FAIL: a test failed instead of skipping:"
		echo "$out" | tail -20
		fail=1
	fi
	for t in $(sed -En 's/.*Test +#[0-9]+: ((guest|linux)\/[^ ]*) .*/\1/p' <<<"$out"); do
		grep -E "Test +#[0-9]+: $t .*Skipped" <<<"$out" >/dev/null ||
			{ echo "FAIL: $t did not skip without KVM"; fail=1; }
	done
	grep -qE 'cli/bad-inputs \.+ +Passed' <<<"$out" ||
		{ echo "FAIL: cli/bad-inputs must pass without KVM"; fail=1; }
	# Every skip gives its reason.
	if ! (cd "$build" && MICROVM_IN_NO_KVM_NS=1 ctest -L guest -R hello \
		--output-on-failure -V 2>&1 | grep -q "SKIP: no /dev/kvm"); then
		echo "FAIL: guest/hello did not say why it skipped"; fail=1
	fi
	[ ! -e /dev/kvm ] || { echo "FAIL: the suite created /dev/kvm"; fail=1; }
	exit $fail
}

export -f inner
export build microvm hello
unshare --mount --propagation private bash -c inner
rc=$?
[ ! -f /dev/kvm ] || { echo "FAIL: a regular file appeared at /dev/kvm on the host"; rc=1; }
[ $rc -eq 0 ] && echo PASS
exit $rc
