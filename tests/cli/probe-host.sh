#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# probe-host.sh MICROVM HELLO_ELF
#
# `microvm --probe-host` answers every probe (yes or no where a probe always
# gets an answer), and microvm acts on the answers and only on them: the
# hello guest, which prints its command line, gets clearcpuid= and nolapic
# exactly when the CPUID policy is not enforced, noxsave exactly when XSAVE
# does not execute, and a note on stderr exactly when something was added.
# In the nested tier (MICROVM_NESTED=1) the host is a real kvm_amd, which
# enforces the policy and runs guest code natively: no fixups at all.
set -u

microvm=$1
hello=$2
. "$(dirname "$0")/../lib/common.sh"
require_kvm
require_files "$microvm" "$hello"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failed() {
	echo "FAIL: $*"
	fail=1
}

rc=0
timeout 60 "$microvm" --probe-host >"$tmp/probe" 2>&1 || rc=$?
cat "$tmp/probe"
[ "$rc" -eq 0 ] || { echo "FAIL: microvm --probe-host exited with status $rc"; exit 1; }

# answer LABEL: the answer column of the row labelled LABEL (the table is
# printf "%-34s %-8s %s").
answer() {
	awk -v l="$1" 'index($0, l) == 1 && substr($0, length(l) + 1, 1) == " " {
		a = substr($0, 36, 8); gsub(/ /, "", a); print a; exit }' "$tmp/probe"
}
for row in "CPUID policy enforced" "INT3 (64-bit mode) executes" "XSAVE executes" \
	"POPCNT executes" "MOVBE executes" "RDFSBASE (FSGSBASE) executes" \
	"TZCNT (BMI1) executes" "SHLX (BMI2) executes" "LZCNT (ABM) executes" \
	"FWAIT executes" "SYSCALL from ring 3 enters ring 0" "single-step" \
	"hardware breakpoints" "guest-only PMU counting" "guest code emulated"; do
	a=$(answer "$row")
	case $a in
	yes | no) ;;
	"") failed "no row '$row' in the table" ;;
	*) failed "'$row': answer '$a', expected yes or no" ;;
	esac
done
# The PMU self-test runs where the counter opens, and only there.
case $(answer "guest-only PMU counting"),$(answer "PMU self-test passes") in
yes,yes | yes,no | no,-) ;;
*) failed "PMU self-test row: '$(grep '^PMU self-test passes' "$tmp/probe")'" ;;
esac
grep -Eq '^guest code emulated +(yes|no) +[1-9][0-9]* guest instructions/s' "$tmp/probe" ||
	failed "no guest instructions/s figure"
cpuid=$(answer "CPUID policy enforced")
xsave=$(answer "XSAVE executes")
echo "CPUID policy enforced: $cpuid; XSAVE executes: $xsave"

if [ -n "${MICROVM_NESTED:-}" ]; then
	[ "$cpuid" = yes ] ||
		failed "in the nested tier (real kvm_amd) the CPUID policy must probe as enforced (leaf 1 EDX.APIC follows IA32_APIC_BASE: is apic_base still set?)"
	[ "$(answer "guest code emulated")" = no ] ||
		failed "in the nested tier guest code should not be emulated"
fi

rc=0
timeout 60 "$microvm" --kernel "$hello" --cmdline "console=ttyS0" \
	</dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
echo "--- hello without --no-cmdline-fixups (exit status $rc) ---"
cat "$tmp/out" "$tmp/err"
[ "$rc" -eq 0 ] || failed "the hello guest exited with status $rc"
cmdline=$(sed -n 's/^cmdline: //p' "$tmp/out")
[ -n "$cmdline" ] || failed "the hello guest printed no command line"
has() { case " $cmdline " in *" $1"*) return 0 ;; esac; return 1; }
if [ "$cpuid" = no ]; then
	has clearcpuid= || failed "CPUID policy not enforced, but no clearcpuid= appended"
	has "nolapic " || failed "CPUID policy not enforced, but no nolapic appended"
else
	has "nolapic " && failed "CPUID policy enforced, yet nolapic was appended"
fi
if [ "$xsave" = no ]; then
	has "noxsave " || failed "XSAVE does not execute, but no noxsave appended"
else
	has "noxsave " && failed "XSAVE executes, yet noxsave was appended"
fi
if [ "$cmdline" = "console=ttyS0" ]; then
	grep -q "appended" "$tmp/err" && failed "nothing was appended, yet microvm says it appended something"
else
	grep -q "appended \"${cmdline#console=ttyS0 }\"" "$tmp/err" ||
		failed "microvm appended '${cmdline#console=ttyS0 }' without saying so on stderr"
fi
if [ -n "${MICROVM_NESTED:-}" ] && [ "$cmdline" != "console=ttyS0" ]; then
	failed "in the nested tier nothing needs appending, got '$cmdline'"
fi

[ "$fail" -eq 0 ] && echo PASS
exit "$fail"
