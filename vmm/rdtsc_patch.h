/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_RDTSC_PATCH_H
#define MICROVM_RDTSC_PATCH_H

#include "../common/guest_mem.h"
#include "../common/util.h"

/*
 * RDTSC made a guest-synchronous exit, for exit-pinned record and replay.
 *
 * KVM gives userspace no way to trap RDTSC, and Linux x86-64 reads the
 * TSC whatever CPUID says (get_cycles(), random_get_entropy(): every
 * interrupt mixes a TSC value into the entropy pool), so without help the
 * guest's memory after the first interrupt is the host's timing, and an
 * asynchronous position can never be found again.  The loader therefore
 * rewrites, in the guest's copy of an ELF kernel, every RDTSC and RDTSCP
 * it finds by walking the symbol table's functions instruction by
 * instruction (insn__length()), into a one-byte read of a port of ours:
 *
 *	RDTSC   0F 31      ->  E4 EE      in al, 0xee
 *	RDTSCP  0F 01 F9   ->  E4 EF 90   in al, 0xef; nop
 *
 * (prefixes included, the rest NOPs, so that every length and address
 * stays).  Such a read exits to the VMM, which writes what RDTSC would
 * (EDX:EAX, and ECX = TSC_AUX for RDTSCP) from the "tsc" source: the
 * value is logged when recording and taken from the trace when replaying.
 * Any one-byte read of those ports is answered so, so the kernel's
 * alternatives (rdtsc_ordered()'s "lfence; rdtsc", copied over the
 * original at boot from .altinstr_replacement, also walked) need no
 * bookkeeping.
 *
 * Not covered: a bzImage (compressed), a kernel without a symbol table,
 * code the guest makes at run time (modules, BPF JIT) and user space.
 */
#define RDTSC_PATCH_PORT	0xee	/* RDTSC */
#define RDTSCP_PATCH_PORT	0xef	/* RDTSCP */
/* In a trace's host-probe lines, with the number of sites rewritten. */
#define RDTSC_PATCH_KEY		"rdtsc_patch="

struct rdtsc_site {
	u64 vaddr;		/* where the kernel runs it */
	u64 paddr;		/* where it is loaded */
	u8 len;			/* the whole instruction, prefixes included */
	bool rdtscp;
};

struct rdtsc_patch {
	struct rdtsc_site *site;
	unsigned int nsites;
	unsigned int nfuncs;	/* functions walked to their end */
	unsigned int nbad;	/* functions left alone: a length not decoded */
	u64 bad_vaddr;		/* the first of them */
	u64 insns;		/* instructions walked */
	const char *none;	/* why the kernel cannot be patched, or NULL */
};

/*
 * Called for every instruction walked (the test tool prints them, to be
 * compared with objdump); may be NULL.
 */
typedef void (*rdtsc_patch_insn_fn)(void *ctx, u64 vaddr, unsigned int len);

/*
 * Find the RDTSC and RDTSCP sites of the kernel at @path.  Returns 0 with
 * kp->none set when the file cannot be patched (a bzImage, no symbols),
 * or a negative errno after a pr_err() naming the file (unreadable, or an
 * ELF whose section or symbol tables lie outside it).
 */
int rdtsc_patch__scan(const char *path, struct rdtsc_patch *kp,
		      rdtsc_patch_insn_fn fn, void *ctx);

/*
 * Rewrite the sites in the kernel loaded into @mem.  Returns 0, or
 * -EFAULT when a site is not in guest RAM or does not hold the
 * instruction the scan found (the file changed since).
 */
int rdtsc_patch__apply(const struct rdtsc_patch *kp, struct guest_mem *mem);

void rdtsc_patch__free(struct rdtsc_patch *kp);

#endif
