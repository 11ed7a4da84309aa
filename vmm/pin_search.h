/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PIN_SEARCH_H
#define MICROVM_PIN_SEARCH_H

#include "../common/util.h"

/*
 * Replay, exit-pinned backend: run a guest to an asynchronous position
 * (pin_search.c).  The run loop arms it at the last synchronous exit
 * before the position, and hands every exit to it while it is armed.
 */
struct vm;

/* How the guest is stopped at the target RIP. */
enum pin_mech {
	PIN_MECH_HLT,	/* a HLT byte over the instruction: every host */
	PIN_MECH_HWBP,	/* a hardware execute breakpoint, DR0 */
};

/* HLT bytes on a missed instruction's successors (pin_over.c). */
struct pin_over {
	unsigned int n;
	u64 rip[2], gpa[2];
	u8 saved[2];
};

struct pin_search {
	enum pin_mech mech;
	bool armed;
	u64 rip;		/* the target's guest-virtual RIP */
	u64 linear;		/* hardware breakpoint: RIP as DR0 wants it */
	u64 gpa;		/* HLT byte: where it is */
	u8 saved;		/* the instruction byte under it */
	bool inserted;
	bool step;		/* the next KVM_RUN single-steps */
	bool stepping_all;	/* no mapping for RIP: step all the way */
	u64 t0, hits, steps;	/* this search; steps: walked to the target */
	/* Totals, for the report at the end. */
	u64 searches, found, total_hits, total_steps, total_ns, max_ns;
	u64 total_overs, total_stepped_over;
	u64 injecting;		/* hits with an event being injected */
	/*
	 * At this hit: since the previous hit the guest only ran to this
	 * one (and stepped over that one), with no other exit where the VMM
	 * could have written guest RAM (a release, a device) or looked at it
	 * with the HLT byte in place: so the memory digest may trust its
	 * per-page cache for the pages the dirty log does not name
	 * (vm_replay.c).  `chain` carries it from hit to hit.
	 */
	bool mem_cache_ok, chain;
	bool long_mode;		/* 64-bit code at arm time: pin_over.c works */
	struct pin_over over;	/* stepping over a miss, HLT bytes */
	u64 overs;		/* misses stepped over so, this search */
	u64 stepped_over;	/* misses single-stepped over, this search */
};

enum pin_exit {
	PIN_NOT_OURS,	/* a guest exit: handle it as usual */
	PIN_HIT,	/* at the target RIP (RIP rewound): check the digest */
	PIN_STEPPED,	/* a step of ours: run on */
	PIN_AGAIN,	/* single-step backend: run again, not a stop */
	PIN_FAILED,	/* the backend cannot go on (vm stopped, said why) */
	PIN_GUEST_EXIT,	/* PMU landing: a guest exit waits in the run area */
};

/*
 * Replay start: hardware breakpoints where this host's KVM stops on them
 * (no guest byte changes), the HLT byte elsewhere.  MICROVM_SEARCH=hlt or
 * =hwbp forces one (tests); -EINVAL for a value it cannot honour.
 */
int pin__setup(struct vm *vm);

/*
 * HLT byte search, at a miss (the breakpoint's byte back, RIP on it) or
 * on the way to a RIP not mapped yet: HLT bytes on where the instruction
 * at `rip` goes next, so that it runs without the trap flag; false where
 * that is not known (then single-step).
 */
bool pin_over__insert(struct vm *vm, u64 rip);
/* At an exit: one of them, removed all and RIP put back on it? */
bool pin_over__after(struct vm *vm);
void pin_over__remove(struct vm *vm);
/* Where a HLT byte for `rip` goes: mapped, and for the kernel only. */
bool pin__hlt_gpa(struct vm *vm, u64 rip, u64 *gpa);
const char *pin__mech_name(enum pin_mech mech);
void pin__arm(struct vm *vm, u64 rip);
void pin__disarm(struct vm *vm);
/* Before each KVM_RUN while armed: single-step or not. */
int pin__before_run(struct vm *vm);
enum pin_exit pin__after_run(struct vm *vm, int ret);
/* At a hit: not the position (step over it), or found (disarm). */
void pin__miss(struct vm *vm);
void pin__found(struct vm *vm);

#endif
