#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Boot one test guest under microvm and check its exit status and output.
#
# usage: run-guest.sh MICROVM ELF [--stdin FILE] [--expect-exit N]
#                     [--expect-output FILE | --expect-regex RE]
#                     [--expect-stderr-regex RE]
#                     [-- extra microvm args...]
#
# Exits 0 on pass, 1 on failure, 77 (ctest SKIP_RETURN_CODE) when KVM is
# not usable here.  The guest's serial output is microvm's stdout; microvm's
# own messages go to stderr and are shown but never compared.

set -u

usage() {
	echo "usage: $0 MICROVM ELF [--stdin FILE] [--expect-exit N]" \
	     "[--expect-output FILE | --expect-regex RE] [--expect-stderr-regex RE] [-- ARGS...]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
microvm=$1
elf=$2
shift 2

stdin_file=
expect_exit=0
expect_output=
expect_regex=
expect_stderr=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--stdin) [ $# -ge 2 ] || usage; stdin_file=$2; shift 2 ;;
	--expect-exit) [ $# -ge 2 ] || usage; expect_exit=$2; shift 2 ;;
	--expect-output) [ $# -ge 2 ] || usage; expect_output=$2; shift 2 ;;
	--expect-regex) [ $# -ge 2 ] || usage; expect_regex=$2; shift 2 ;;
	--expect-stderr-regex) [ $# -ge 2 ] || usage; expect_stderr=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	*) usage ;;
	esac
done

. "$(dirname "$0")/../lib/common.sh"
require_kvm
require_files "$microvm" "$elf"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# With --stdin the input goes through a pipe, as an interactive user's or a
# CI system's would; microvm's console must cope with input that is all
# there before the guest is ready, followed by EOF.
cmd=(timeout 60 "$microvm" --kernel "$elf" "${extra[@]}")
printf "+"; printf " %q" "${cmd[@]}"; echo "${stdin_file:+ < $stdin_file}"
if [ -n "$stdin_file" ]; then
	cat "$stdin_file" | "${cmd[@]}" >"$tmp/out" 2>"$tmp/err"
else
	"${cmd[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
fi
rc=$?

echo "--- guest output (stdout) ---"
cat "$tmp/out"
echo "--- microvm messages (stderr) ---"
cat "$tmp/err"
echo "--- exit status $rc ---"

fail=0
if [ $rc -eq 124 ]; then
	echo "FAIL: timed out after 60 s"
	exit 1
fi
if [ "$rc" -ne "$expect_exit" ]; then
	echo "FAIL: exit status $rc, expected $expect_exit"
	fail=1
fi
if [ -n "$expect_output" ]; then
	if ! cmp -s "$expect_output" "$tmp/out"; then
		echo "FAIL: output differs from $expect_output:"
		diff -u --label expected --label actual "$expect_output" \
			"$tmp/out" | cat -A
		fail=1
	fi
fi
if [ -n "$expect_regex" ]; then
	if ! grep -Eq -- "$expect_regex" "$tmp/out"; then
		echo "FAIL: output does not match /$expect_regex/"
		fail=1
	fi
fi
if [ -n "$expect_stderr" ]; then
	if ! grep -Eq -- "$expect_stderr" "$tmp/err"; then
		echo "FAIL: microvm's messages do not match /$expect_stderr/"
		fail=1
	fi
fi
[ $fail -eq 0 ] && echo PASS
exit $fail
