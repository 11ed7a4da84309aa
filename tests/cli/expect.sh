# SPDX-License-Identifier: Apache-2.0
# Sourced by the cli tests.  expect NAME STATUS PATTERN CMD...: run CMD
# with stdin from /dev/null and pass if it exits STATUS and its stderr has
# a line matching PATTERN (counted in $pass / $fail, printed either way).
pass=0
fail=0

expect() {
	local name=$1 status=$2 pattern=$3
	shift 3
	local out rc=0
	out=$("$@" </dev/null 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -eq "$status" ] && grep -qE -- "$pattern" <<<"$out"; then
		pass=$((pass + 1))
		echo "ok   $name: $(grep -E -- "$pattern" <<<"$out" | head -1)"
	else
		fail=$((fail + 1))
		echo "FAIL $name: exit $rc (want $status), output:"
		sed 's/^/     /' <<<"$out"
		echo "     (wanted a line matching: $pattern)"
	fi
}
