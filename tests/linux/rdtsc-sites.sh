#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# rdtsc-sites.sh INSN_WALK [ELF...]
#
# The RDTSC patcher's walk (vmm/rdtsc_patch.c, through insn-walk) held
# against objdump, on the Linux test kernel (when build.sh has it) and on
# the ELF files given (the tsc-rand test guest):
#  - every instruction start the walk reports is one objdump decodes (a
#    wrong length would show as a start inside another instruction); the
#    one allowed difference is FWAIT, a prefix to objdump and an
#    instruction of its own to the walk;
#  - every RDTSC and RDTSCP objdump finds in the walked functions is a
#    site, and nothing else is;
#  - on the kernel: no function left unwalked.
# Needs objdump (binutils); skips (77) without it.  No KVM needed.
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
walk=${1:?usage: $0 INSN_WALK [ELF...]}
shift
command -v objdump >/dev/null || { echo "SKIP: no objdump (binutils)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() {	# check ELF LABEL STRICT
	local elf=$1 label=$2 strict=$3 rc=0
	"$walk" "$elf" >"$tmp/walk" 2>"$tmp/walk.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $label: insn-walk exited $rc: $(cat "$tmp/walk.err")"
		fail=1
		return
	fi
	echo "$label: $(cat "$tmp/walk.err")"
	objdump -d --no-show-raw-insn "$elf" |
		awk -F'\t' '/^ *[0-9a-f]+:\t/ { a = $1; sub(/^ */, "", a); sub(/:$/, "", a);
			m = $2
			# Prefixes come first ("rex.W rdtsc", "data16 rdtsc").
			if (m ~ /(^| )rdtscp( |$)/) m = "rdtscp"
			else if (m ~ /(^| )rdtsc( |$)/) m = "rdtsc"
			else sub(/ .*/, "", m)
			print a, m }' >"$tmp/objd"
	awk '$1 == "I" { print $2, $3 }' "$tmp/walk" >"$tmp/ours"
	# Starts objdump does not have, but for one after a 1-byte FWAIT.
	awk 'NR == FNR { m[$1] = $2; next }
	     { if (!($1 in m)) { bad[$1] = 1 } ; len[$1] = $2; order[n++] = $1 }
	     END { for (i = 1; i < n; i++) { a = order[i]; p = order[i - 1]
			if ((a in bad) && !(len[p] == 1 && (p in m) && m[p] ~ /^f/)) print a } }' \
		"$tmp/objd" "$tmp/ours" >"$tmp/badstarts"
	if [ -s "$tmp/badstarts" ]; then
		echo "FAIL: $label: $(wc -l <"$tmp/badstarts") walked instruction starts are not objdump's, first: $(head -3 "$tmp/badstarts" | tr '\n' ' ')"
		fail=1
	fi
	# The sites: objdump's RDTSC/RDTSCP inside what was walked.
	awk 'NR == FNR { w[$1] = 1; next } ($2 == "rdtsc" || $2 == "rdtscp") && ($1 in w) { print $1, $2 }' \
		"$tmp/ours" "$tmp/objd" | sort >"$tmp/want"
	awk '$1 == "S" { print $2, $3 }' "$tmp/walk" | sort >"$tmp/got"
	if ! cmp -s "$tmp/want" "$tmp/got"; then
		echo "FAIL: $label: sites differ from objdump's RDTSC/RDTSCP (objdump <, walk >):"
		diff "$tmp/want" "$tmp/got" | head -10
		fail=1
	fi
	if [ ! -s "$tmp/got" ]; then
		echo "FAIL: $label: no RDTSC site at all"
		fail=1
	fi
	if [ "$strict" = 1 ] && grep -q ', [1-9][0-9]* not' "$tmp/walk.err"; then
		echo "FAIL: $label: functions left unwalked"
		fail=1
	fi
	# objdump's RDTSCs outside what was walked (asm without symbol sizes).
	awk '$2 == "rdtsc" || $2 == "rdtscp"' "$tmp/objd" | wc -l |
		xargs -I{} echo "$label: objdump finds {} RDTSC/RDTSCP in all, the walk $(wc -l <"$tmp/got")"
}

for elf in "$@"; do
	check "$elf" "$(basename "$elf")" 0
done
# shellcheck source=guest-lib.sh
. "$here/guest-lib.sh"
rc=0
guest_lib_dir >/dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
	check "$GUEST_DIR/vmlinux" "Linux test kernel" 1
elif [ "$#" -eq 0 ]; then
	echo "SKIP: no Linux test kernel and no ELF given"
	exit 77
else
	echo "the Linux test kernel is not built here: checked the ELF files only"
fi
[ "$fail" -eq 0 ] && echo "PASS"
exit "$fail"
