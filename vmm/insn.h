/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_INSN_H
#define MICROVM_INSN_H

#include <stddef.h>

#include "../common/util.h"

/*
 * Just enough x86 decoding for the single-step backend (pin_step.c): it
 * looks at every instruction before the guest executes it and needs to
 * know three things only:
 *  - is it a conditional branch (the position counter the PMU backend
 *    counts in hardware: Jcc rel8/rel32, LOOP/LOOPE/LOOPNE, JrCXZ);
 *  - is it one of the instructions KVM does not trap and whose result is
 *    host-derived (RDTSC, RDTSCP, RDRAND, RDSEED): those are emulated, so
 *    their length, destination register and operand size are needed;
 *  - does it change address translation (MOV to CR0/CR3/CR4, INVLPG,
 *    INVPCID) or the IDT (LIDT), so cached translations of RIP and the
 *    exception handlers' addresses must go;
 *  - is it one of those with a LOCK prefix, which is #UD on every CPU:
 *    the backend raises the #UD itself, since not every host does (the
 *    PVM-backed hosts' instruction emulator executes LOCK RDRAND), and a
 *    value that got through would be the host's;
 *  - is it HLT, which the backend does itself: under single-step some
 *    hosts exit on it and some step over it, by timing;
 *  - is it SYSCALL, also done by the backend: the CPU clears TF with
 *    IA32_FMASK, and the kernel's entry would run unstepped;
 *  - does it load RFLAGS (POPF, IRET, SYSRET): KVM's single-step is the
 *    trap flag in the guest's RFLAGS, which such an instruction can clear
 *    (an IRET from a handler entered with stepping off does), so stepping
 *    must be asked for again after it.
 * Everything else is INSN_OTHER and its length is not computed: the CPU
 * executes it.
 */
enum insn_kind {
	INSN_OTHER,
	INSN_BRANCH,	/* conditional branch */
	INSN_RDTSC,
	INSN_RDTSCP,
	INSN_RDRAND,
	INSN_RDSEED,
	INSN_FLUSH,	/* changes translation: drop cached mappings */
	INSN_RFLAGS,	/* loads RFLAGS: set the trap flag again after it */
	INSN_UD,	/* LOCK on an emulated kind: raise #UD */
	INSN_HLT,	/* the backend halts: not every host exits on it */
	INSN_SYSCALL,	/* the backend does it: the CPU would mask TF */
};

struct insn {
	enum insn_kind kind;
	u8 len;		/* bytes, for the emulated kinds */
	u8 reg;		/* RDRAND/RDSEED: destination, 0-15 (x86 encoding order) */
	u8 opsize;	/* RDRAND/RDSEED: 2, 4 or 8 bytes */
};

/*
 * Decode the instruction in buf[0..avail) (at most 15 bytes are looked
 * at); long_mode: 64-bit code segment, where 0x40-0x4f are REX prefixes.
 * Bytes missing at the end (an unmapped next page) give INSN_OTHER: the
 * CPU will fault on them itself.
 */
void insn__decode(const u8 *buf, size_t avail, bool long_mode,
		  struct insn *out);
const char *insn__name(enum insn_kind kind);

/* What insn__length() found besides the length. */
struct insn_op {
	u8 prefixes;	/* legacy and REX prefix bytes before the opcode */
	u8 map;		/* 0 one-byte, 1 0F, 2 0F 38, 3 0F 3A (VEX/EVEX: theirs) */
	u8 opcode;
	u8 modrm;	/* when has_modrm */
	bool has_modrm;
	bool vex;	/* VEX or EVEX encoded */
	u8 rex;		/* the REX prefix that applies, or 0 */
	bool addr32;	/* 67: 32-bit addressing */
	/* A memory operand: SIB byte (has_sib) and displacement. */
	bool has_sib;
	u8 sib;
	s32 disp;
};

/*
 * The length in bytes of the 64-bit-mode instruction at buf[0..avail),
 * for the one-byte, 0F, 0F 38 and 0F 3A maps and their VEX and EVEX
 * forms; 0 for bytes that are no instruction in long mode, an AMD XOP
 * instruction, or an instruction cut off by avail.  @op (may be NULL)
 * gets the opcode.  Used to walk a kernel's functions one instruction
 * after another (kpatch.c), where one wrong length would misread all
 * that follows; checked against objdump on the Linux test kernel.
 */
unsigned int insn__length(const u8 *buf, size_t avail, struct insn_op *op);

#endif
