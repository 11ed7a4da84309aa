/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VCLOCK_H
#define MICROVM_VCLOCK_H

#include "util.h"

/*
 * The guest's virtual clock and its timers.
 *
 * Every device that needs time (PIT counters, RTC, timer expiries) reads it
 * here and nowhere else: time is one of the nondeterministic inputs that the
 * replay core must control, so there is exactly one source to take over.
 * Devices only ever run on the vCPU thread, so nothing here is locked; a
 * host timer thread (vmm/ticker.c) only wakes the vCPU loop, which then calls
 * vclock__run_expired().
 *
 * A manual clock (unit tests, replay) only moves when vclock__set() is called.
 *
 * A counted clock (--clock=insn, under --pin=step) follows an instruction
 * counter instead of the host: ns_per instructions' worth of virtual
 * nanoseconds each, plus the time warped over while the guest idles.  The
 * guest then sees a CPU of a fixed speed however slowly it is stepped, so
 * its timer ticks come every so many of its own instructions, as QEMU's
 * icount gives them, and not every so many of the host's microseconds
 * (which under single-step left a Linux guest doing nothing but ticks).
 */
#define VTIMER_OFF UINT64_MAX

struct vtimer {
	u64 deadline; /* virtual ns, VTIMER_OFF when disarmed */
	void (*fire)(struct vtimer *t, u64 now);
	void *opaque;
	struct vtimer *next;
};

struct vclock {
	bool manual;
	u64 manual_ns;
	u64 host_base; /* host ns at virtual time 0 */
	const u64 *count; /* counted clock: instructions so far, or NULL */
	u64 ns_per;	/* counted clock: virtual ns per instruction */
	u64 warp;	/* counted clock: ns jumped over while idle */
	struct vtimer *timers;
	/* Every guest-visible read passes through it (the replay core). */
	u64 (*filter)(void *ctx, u64 ns);
	void *filter_ctx;
};

void vclock__init(struct vclock *clk, bool manual);
/*
 * The time as the guest sees it: what devices and timers use.  Each call
 * is an input (replay logs or re-imposes it), so only code whose calls
 * happen at the same points in every run may make them.
 */
u64 vclock__now(struct vclock *clk);
/*
 * The same clock unfiltered, for the VMM's own scheduling (how long to
 * sleep in HLT), which the guest never sees.
 */
u64 vclock__host_now(const struct vclock *clk);
/* Virtual time 0 is now (the guest's first instruction). */
void vclock__rebase(struct vclock *clk);
void vclock__set_filter(struct vclock *clk, u64 (*filter)(void *ctx, u64 ns),
			void *ctx);
/* Manual clocks only: time never goes backwards. */
void vclock__set(struct vclock *clk, u64 ns);
/*
 * From now on time is *count * ns_per (+ warps); *count must only grow.
 * Call at virtual time 0, with *count at 0.
 */
void vclock__count(struct vclock *clk, const u64 *count, u64 ns_per);
static inline bool vclock__counted(const struct vclock *clk)
{
	return clk->count != NULL;
}
/* Counted clocks only: move time forward by ns (the guest idles). */
void vclock__warp(struct vclock *clk, u64 ns);

void vclock__add_timer(struct vclock *clk, struct vtimer *t,
		       void (*fire)(struct vtimer *t, u64 now), void *opaque);
void vclock__arm(struct vclock *clk, struct vtimer *t, u64 deadline);
void vclock__disarm(struct vclock *clk, struct vtimer *t);
/* Earliest armed deadline, VTIMER_OFF if none. */
u64 vclock__next_deadline(const struct vclock *clk);
/* Fire every timer whose deadline has passed; returns how many fired. */
int vclock__run_expired(struct vclock *clk);

#endif
