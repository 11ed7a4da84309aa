/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_TESTS_PMU_SIM_H
#define MICROVM_TESTS_PMU_SIM_H

/*
 * A simulated vCPU and branch counter for the PMU landing logic
 * (vmm/pmu_land.h): a synthetic instruction stream with conditional
 * branches, tight loops whose registers repeat, a REP-like instruction
 * that keeps its rip while rcx counts down, and synchronous exits; and a
 * counter with a configurable skid, an overflow that never comes, a drift
 * per VM entry and host-counted noise.  The simulation also keeps the
 * truth (instructions and branches retired), which the tests compare
 * against where the landing says it is.
 */
#include "vmm/pmu_land.h"

enum sim_op {
	SIM_NOP,
	SIM_SET_RCX,	/* rcx = imm */
	SIM_DEC_JNZ,	/* rcx--, conditional branch to target while rcx != 0 */
	SIM_MEM_LOOP,	/* mem++, conditional branch to target while mem % imm:
			 * rip and rcx repeat, only memory changes */
	SIM_JCC_RAND,	/* conditional branch to target on a pseudo-random bit */
	SIM_REP,	/* REP MOVSB: one step per iteration at one rip, rcx-- */
	SIM_JMP,	/* unconditional: not counted */
	SIM_EXIT,	/* port I/O: a synchronous exit */
};

struct sim_insn {
	enum sim_op op;
	u64 imm;
	u32 target;
};

#define SIM_RIP(pc) (0x100000ULL + (u64)(pc) * 4)

struct sim {
	const struct sim_insn *prog;
	u32 len;

	/* Architectural state. */
	u32 pc;
	u64 rcx, mem, rng;

	/* The truth. */
	u64 retired, branches, exits, entries, runs;

	/* The counter's model (set before use). */
	u64 skid;		/* branches between overflow and signal */
	u32 skid_insns;		/* then this many instructions more */
	bool never_deliver;	/* the overflow signal never comes */
	s64 drift_per_entry;	/* added at every run and step */
	u64 noise_every;	/* every Nth free run the counter also ... */
	u64 noise;		/* ... counts this many host branches */
	u64 kick_every;		/* a host kick (SIGNAL) every N instructions */
	u64 max_run;		/* instructions per run before -ETIMEDOUT */

	/* The counter's state. */
	u64 extra;		/* drift and noise counted so far */
	bool armed, pending, fired;
	u64 arm_at, due_branches;
	u32 due_insns;
	u64 since_kick;
};

void sim__init(struct sim *s, const struct sim_insn *prog, u32 len);
/* The counter's value: guest branches plus drift and noise. */
u64 sim__count(const struct sim *s);

extern const struct pmu_vcpu_ops sim__vcpu_ops;
extern const struct pmu_counter_ops sim__counter_ops;

#endif
