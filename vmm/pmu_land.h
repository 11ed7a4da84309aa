/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PMU_LAND_H
#define MICROVM_PMU_LAND_H

#include "microvm/replay.h"

#include "pmu.h"

/*
 * Landing on an exact position with the PMU (docs/pinning.md): the
 * branch counter interrupts the guest `margin` branches before the
 * target, and single-steps cover the rest, so that the guest stops on the
 * very instruction a single-step recording named.  No KVM here: the vCPU
 * and the counter are ops, so the same logic runs against KVM and the
 * perf counter (pmu.h) or against a simulation (tests/unit/pmu_sim.c).
 *
 * Positions (struct replay_pos, exact): `exits` synchronous exits so far;
 * `branches` conditional branches retired since the last of them; `rip`
 * and `rcx` before the next instruction; `insns` instructions retired
 * since the last conditional branch (or since the exit, before the first
 * one).  `insns` counts from the last branch, not from the exit, because
 * nothing counts instructions during a free run: the retired-instructions
 * counter is not exact on x86 (interrupts and faults add counts), so the
 * backend only knows `insns` once it has stepped over a branch.
 */

enum pmu_vcpu_stop_kind {
	/* KVM_RUN was interrupted (EINTR, KVM_EXIT_INTR): the overflow signal or any other kick. */
	PMU_VCPU_SIGNAL,
	/* A guest-synchronous exit (port I/O, MMIO, HLT...): the VMM handles it. */
	PMU_VCPU_EXIT,
};

struct pmu_vcpu_stop {
	enum pmu_vcpu_stop_kind kind;
	u64 rip, rcx;		/* where the guest stopped */
};

struct pmu_vcpu_step {
	/*
	 * The instruction was a conditional branch (taken or not).  Decided
	 * by decoding it, never from the counter, so that stepping checks the
	 * counter rather than trusting it.
	 */
	bool branch;
	/* It made a synchronous exit instead of completing as a step. */
	bool exit;
	u64 rip, rcx;		/* after it */
};

struct pmu_vcpu_ops {
	/* Run freely until a signal or a synchronous exit stops the guest. */
	int (*run)(void *ctx, struct pmu_vcpu_stop *stop);
	/* Execute exactly one instruction (KVM_GUESTDBG_SINGLESTEP). */
	int (*step)(void *ctx, struct pmu_vcpu_step *step);
};

struct pmu_land_stats {
	u64 runs;		/* free runs (KVM_RUN calls) */
	u64 steps;		/* single-steps */
	u64 overflows;		/* overflow signals that stopped the guest in time */
	u64 stray_stops;	/* other stops (kicks) before the overflow */
	u64 early_overflows;	/* overflows below the armed count (re-armed) */
	u64 max_skid;		/* largest skid seen, in branches */
};

struct pmu_land {
	const struct pmu_vcpu_ops *vcpu;
	void *vcpu_ctx;
	const struct pmu_counter_ops *ctr;
	void *ctr_ctx;
	u32 margin;		/* from the event table (pmu.h) */
	u64 max_steps;		/* per landing (default PMU_LAND_MAX_STEPS) */
	/* Where the vCPU is. */
	struct replay_pos cur;
	bool insns_known;	/* cur.insns is known (stepped over a branch) */
	u64 base;		/* the counter at the last synchronous exit */
	struct pmu_land_stats stats;
};

/* Steps one landing may take: the margin's worth and much more. */
#define PMU_LAND_MAX_STEPS (64ULL << 20)

enum pmu_land_status {
	PMU_LAND_OK,		/* the vCPU is at the target */
	PMU_LAND_EXIT,		/* stopped at a synchronous exit before the target's */
	PMU_LAND_PASSED,	/* the target is behind: the guest went another way */
	PMU_LAND_SKID_PAST_TARGET, /* the overflow came too late (skid >= margin) */
	PMU_LAND_OVERFLOW_LOST,	/* the count passed the arm point, no overflow came */
	PMU_LAND_COUNTER_MISMATCH, /* the counter disagrees with the steps */
	PMU_LAND_STEP_LIMIT,	/* max_steps without getting there */
	PMU_LAND_ERROR,		/* an op failed (err) or a bad target */
};

struct pmu_land_result {
	enum pmu_land_status status;
	int err;		/* -errno of the failing op */
	u64 armed_at;		/* branches (this interval) the overflow was armed at */
	u64 stopped_at;		/* branches when the free run stopped */
	u64 steps;		/* single-steps this landing */
	u64 counter;		/* the counter's branches (this interval) at the end */
	char msg[256];		/* what happened, for the divergence report */
};

/* Nothing is read yet: call pmu_land__begin() before the first landing. */
void pmu_land__init(struct pmu_land *l, const struct pmu_vcpu_ops *vcpu,
		    void *vcpu_ctx, const struct pmu_counter_ops *ctr,
		    void *ctr_ctx, u32 margin);
/*
 * The vCPU stands right after synchronous exit number `exits` (0: at the
 * start), at rip/rcx: a new interval begins, counted from the counter's
 * value now.
 */
int pmu_land__begin(struct pmu_land *l, u64 exits, u64 rip, u64 rcx);
/*
 * Bring the vCPU to `target` (exact).  A target beyond the next
 * synchronous exit runs to that exit and returns PMU_LAND_EXIT (handle
 * it, pmu_land__begin(), call again).  Every other status but OK is a
 * failure that res->msg explains; none of them is a silent wrong stop.
 */
enum pmu_land_status pmu_land__reach(struct pmu_land *l,
				     const struct replay_pos *target,
				     struct pmu_land_result *res);
/*
 * Recording: run freely until a signal (a kick) or a synchronous exit
 * stops the guest; *stop says which.
 */
int pmu_land__run(struct pmu_land *l, struct pmu_vcpu_stop *stop);
/*
 * Recording: the exact position to log here.  After a free run the
 * instruction count is not known, so this steps up to the next
 * conditional branch first (PMU_LAND_EXIT if a synchronous exit comes
 * first: log that exit instead).
 */
enum pmu_land_status pmu_land__locate(struct pmu_land *l,
				      struct replay_pos *pos,
				      struct pmu_land_result *res);
const char *pmu_land__status_str(enum pmu_land_status s);

/* ---- Calibration (pmu_selftest.c) ---------------------------------------- */

/*
 * A calibration guest, from a synchronous exit on: `intervals` times, it
 * retires exactly `branches` conditional branches (at least 4, counting
 * its loop's own) and makes a synchronous exit.  At least 4 intervals.
 */
struct pmu_calib {
	u64 intervals;
	u64 branches;
};

enum pmu_selftest_verdict {
	PMU_SELFTEST_OK,
	PMU_SELFTEST_DRIFT,	/* a constant per VM entry (Zen counting VMRUN) */
	PMU_SELFTEST_NOISE,	/* counts that vary from run to run */
	PMU_SELFTEST_OVERFLOW_LOST, /* armed, passed, never signalled */
	PMU_SELFTEST_SKID,	/* skid at or beyond the margin */
	PMU_SELFTEST_GUEST,	/* the guest did not behave as declared */
	PMU_SELFTEST_ERROR,	/* an op failed */
};

struct pmu_selftest {
	enum pmu_selftest_verdict verdict;
	s64 drift;		/* counts per VM entry (DRIFT) */
	s64 dev_min, dev_max;	/* count minus expected, per interval */
	u64 max_skid;
	char reason[256];
};

/*
 * Check the counter against a guest with known counts (l at that guest's
 * start, after pmu_land__begin()): free-run counts per interval, the
 * counter across single-steps, and overflows armed mid-interval (skid,
 * delivery).  Leaves the guest at its last exit.  Returns the verdict.
 */
enum pmu_selftest_verdict pmu_land__selftest(struct pmu_land *l,
					     const struct pmu_calib *g,
					     struct pmu_selftest *res);
const char *pmu_land__selftest_str(enum pmu_selftest_verdict v);

#endif
