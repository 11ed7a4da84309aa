// SPDX-License-Identifier: Apache-2.0
/*
 * Landing on an exact position: a free run that the branch counter stops
 * a margin before the target, then single-steps to the instruction.
 * Every way this can go wrong (the overflow too late, never, or the
 * counter disagreeing with the steps) ends in a status that says so, with
 * the numbers: a replay that stopped at the wrong instruction would
 * diverge later, far from the cause.
 */
#include "pmu_land.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Not an enum replay_pos_order: the instruction count is not known yet. */
#define PMU_ORDER_UNKNOWN 2

void pmu_land__init(struct pmu_land *l, const struct pmu_vcpu_ops *vcpu,
		    void *vcpu_ctx, const struct pmu_counter_ops *ctr,
		    void *ctr_ctx, u32 margin)
{
	memset(l, 0, sizeof(*l));
	l->vcpu = vcpu;
	l->vcpu_ctx = vcpu_ctx;
	l->ctr = ctr;
	l->ctr_ctx = ctr_ctx;
	l->margin = margin;
	l->max_steps = PMU_LAND_MAX_STEPS;
}

int pmu_land__begin(struct pmu_land *l, u64 exits, u64 rip, u64 rcx)
{
	int ret = l->ctr->read(l->ctr_ctx, &l->base);

	if (ret)
		return ret;
	memset(&l->cur, 0, sizeof(l->cur));
	l->cur.exits = exits;
	l->cur.exact = true;
	l->cur.rip = rip;
	l->cur.rcx = rcx;
	/* Counted from the exit until the first branch: known. */
	l->insns_known = true;
	return 0;
}

const char *pmu_land__status_str(enum pmu_land_status s)
{
	static const char *const names[] = {
		[PMU_LAND_OK] = "landed",
		[PMU_LAND_EXIT] = "synchronous exit first",
		[PMU_LAND_PASSED] = "target passed",
		[PMU_LAND_SKID_PAST_TARGET] = "skid beyond the margin",
		[PMU_LAND_OVERFLOW_LOST] = "overflow never delivered",
		[PMU_LAND_COUNTER_MISMATCH] = "counter disagrees with stepping",
		[PMU_LAND_STEP_LIMIT] = "step limit",
		[PMU_LAND_ERROR] = "error",
	};

	return s < ARRAY_SIZE(names) && names[s] ? names[s] : "?";
}

static enum pmu_land_status fail(struct pmu_land_result *res,
				 enum pmu_land_status st, const char *fmt, ...)
	__printf(3, 4);

static enum pmu_land_status fail(struct pmu_land_result *res,
				 enum pmu_land_status st, const char *fmt, ...)
{
	va_list ap;

	res->status = st;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return st;
}

static enum pmu_land_status op_failed(struct pmu_land_result *res, int err,
				      const char *what)
{
	res->err = err;
	return fail(res, PMU_LAND_ERROR, "%s failed: %s", what, strerror(-err));
}

/* Branches retired in this interval, by the counter. */
static int counted(struct pmu_land *l, u64 *n)
{
	u64 raw;
	int ret = l->ctr->read(l->ctr_ctx, &raw);

	if (ret)
		return ret;
	*n = raw - l->base;
	return 0;
}

static int where(const struct pmu_land *l, const struct replay_pos *t)
{
	if (l->cur.exits != t->exits)
		return replay__pos_cmp(&l->cur, t);
	if (!l->insns_known && l->cur.branches >= t->branches)
		return PMU_ORDER_UNKNOWN;
	if (!l->insns_known)
		return REPLAY_POS_NOT_YET;
	return replay__pos_cmp(&l->cur, t);
}

static void stopped(struct pmu_land *l, const struct pmu_vcpu_stop *stop,
		    u64 n)
{
	l->cur.branches = n;
	l->cur.rip = stop->rip;
	l->cur.rcx = stop->rcx;
	l->cur.insns = 0;
	l->insns_known = false;
}

/* One free run, and where it left the guest. */
static int run_once(struct pmu_land *l, struct pmu_vcpu_stop *stop, u64 *n)
{
	int ret = l->vcpu->run(l->vcpu_ctx, stop);

	l->stats.runs++;
	if (ret)
		return ret;
	ret = counted(l, n);
	if (ret)
		return ret;
	stopped(l, stop, *n);
	return 0;
}

/* A synchronous exit: the target lies after it. */
static enum pmu_land_status run_to_exit(struct pmu_land *l,
					struct pmu_land_result *res)
{
	struct pmu_vcpu_stop stop;
	u64 n;
	int ret;

	ret = l->ctr->disarm(l->ctr_ctx);
	if (ret)
		return op_failed(res, ret, "disarming the counter");
	do {
		ret = run_once(l, &stop, &n);
		if (ret)
			return op_failed(res, ret, "running the vCPU");
	} while (stop.kind != PMU_VCPU_EXIT);
	res->counter = n;
	return fail(res, PMU_LAND_EXIT, "synchronous exit %" PRIu64 " at rip=%#" PRIx64,
		    l->cur.exits + 1, l->cur.rip);
}

/* The free-run result that lets the caller single-step from here. */
#define PMU_LAND_STEP (-1)

/*
 * Run with the overflow armed `margin` branches before the target, until
 * the guest stops inside [armed, target): then stepping takes over.  A
 * stop below the armed count (another kick) just runs again.
 */
static int free_run(struct pmu_land *l, const struct replay_pos *t,
		    struct pmu_land_result *res)
{
	u64 armed = t->branches - l->margin, n;
	struct pmu_vcpu_stop stop;
	bool fired;
	int ret;

	res->armed_at = armed;
	ret = l->ctr->arm(l->ctr_ctx, l->base + armed);
	if (ret)
		return op_failed(res, ret, "arming the counter");
	for (;;) {
		ret = run_once(l, &stop, &n);
		if (ret)
			return op_failed(res, ret, "running the vCPU");
		fired = l->ctr->fired(l->ctr_ctx);
		res->stopped_at = n;
		if (fired && n >= armed && n - armed > l->stats.max_skid)
			l->stats.max_skid = n - armed;
		if (stop.kind == PMU_VCPU_EXIT || n >= t->branches ||
		    n >= armed || fired) {
			ret = l->ctr->disarm(l->ctr_ctx);
			if (ret)
				return op_failed(res, ret, "disarming the counter");
		}
		if (n >= t->branches && fired)
			return fail(res, PMU_LAND_SKID_PAST_TARGET,
				    "the overflow armed at branch %" PRIu64
				    " stopped the guest at branch %" PRIu64
				    ", target branch %" PRIu64 ": skid %" PRIu64
				    " >= margin %u",
				    armed, n, t->branches, n - armed, l->margin);
		if (n >= armed && !fired && (stop.kind == PMU_VCPU_EXIT ||
					     n >= t->branches))
			return fail(res, PMU_LAND_OVERFLOW_LOST,
				    "overflow never delivered: armed at branch %" PRIu64
				    ", the guest reached %s at branch %" PRIu64
				    " (target branch %" PRIu64 ")",
				    armed, stop.kind == PMU_VCPU_EXIT ?
						   "a synchronous exit" : "a stop",
				    n, t->branches);
		if (stop.kind == PMU_VCPU_EXIT)
			return fail(res, PMU_LAND_PASSED,
				    "synchronous exit at branch %" PRIu64
				    " rip=%#" PRIx64 " before the target at branch %" PRIu64
				    " (the guest went another way)",
				    n, stop.rip, t->branches);
		if (n >= armed) {
			if (fired)
				l->stats.overflows++;
			else
				l->stats.stray_stops++;
			return PMU_LAND_STEP;
		}
		if (fired) {
			/* Below the armed count: a spurious PMI; arm again. */
			l->stats.early_overflows++;
			ret = l->ctr->arm(l->ctr_ctx, l->base + armed);
			if (ret)
				return op_failed(res, ret, "arming the counter");
		} else {
			l->stats.stray_stops++;
		}
	}
}

/* One single-step, and the position after it. */
static int step_once(struct pmu_land *l, struct pmu_vcpu_step *s)
{
	int ret = l->vcpu->step(l->vcpu_ctx, s);

	l->stats.steps++;
	if (ret)
		return ret;
	l->cur.rip = s->rip;
	l->cur.rcx = s->rcx;
	if (s->exit)
		return 0;
	if (s->branch) {
		l->cur.branches++;
		l->cur.insns = 0;
		l->insns_known = true;
	} else {
		l->cur.insns++;
	}
	return 0;
}

/*
 * At the target by stepping: the counter must say the same number of
 * branches.  A counter that moves per VM entry (every step is one) or
 * counts host events shows up here.
 */
static enum pmu_land_status check_counter(struct pmu_land *l,
					  struct pmu_land_result *res)
{
	u64 n;
	int ret = counted(l, &n);

	if (ret)
		return op_failed(res, ret, "reading the counter");
	res->counter = n;
	if (n != l->cur.branches)
		return fail(res, PMU_LAND_COUNTER_MISMATCH,
			    "the counter says %" PRIu64 " branches, stepping says %" PRIu64
			    " (%+" PRId64 " after %" PRIu64 " steps): it counts VM entries or host events",
			    n, l->cur.branches, (s64)(n - l->cur.branches),
			    res->steps);
	res->status = PMU_LAND_OK;
	res->msg[0] = 0;
	return PMU_LAND_OK;
}

enum pmu_land_status pmu_land__reach(struct pmu_land *l,
				     const struct replay_pos *t,
				     struct pmu_land_result *res)
{
	struct pmu_vcpu_step s;
	char want[160], at[160];
	int ret, o;

	memset(res, 0, sizeof(*res));
	if (!t->exact)
		return fail(res, PMU_LAND_ERROR, "not an exact position: %s",
			    replay__pos_str(t, want, sizeof(want)));
	if (t->exits > l->cur.exits)
		return run_to_exit(l, res);
	for (;;) {
		o = where(l, t);
		if (o == REPLAY_POS_NOW)
			return check_counter(l, res);
		if (o == REPLAY_POS_PASSED)
			return fail(res, PMU_LAND_PASSED, "at %s, past the target %s",
				    replay__pos_str(&l->cur, at, sizeof(at)),
				    replay__pos_str(t, want, sizeof(want)));
		/* UNKNOWN cannot come: a stop at or past the target failed. */
		if (o != REPLAY_POS_NOT_YET)
			return fail(res, PMU_LAND_ERROR, "lost track at %s",
				    replay__pos_str(&l->cur, at, sizeof(at)));
		if (t->branches > l->margin &&
		    l->cur.branches < t->branches - l->margin) {
			ret = free_run(l, t, res);
			if (ret != PMU_LAND_STEP)
				return (enum pmu_land_status)ret;
			continue;
		}
		if (res->steps >= l->max_steps)
			return fail(res, PMU_LAND_STEP_LIMIT,
				    "%" PRIu64 " steps and still at %s, target %s", res->steps,
				    replay__pos_str(&l->cur, at, sizeof(at)),
				    replay__pos_str(t, want, sizeof(want)));
		ret = step_once(l, &s);
		res->steps++;
		if (ret)
			return op_failed(res, ret, "single-stepping the vCPU");
		if (s.exit)
			return fail(res, PMU_LAND_PASSED,
				    "synchronous exit at rip=%#" PRIx64
				    " while stepping to %s (the guest went another way)",
				    s.rip, replay__pos_str(t, want, sizeof(want)));
	}
}

int pmu_land__run(struct pmu_land *l, struct pmu_vcpu_stop *stop)
{
	u64 n;
	int ret = l->ctr->disarm(l->ctr_ctx);

	return ret ? ret : run_once(l, stop, &n);
}

enum pmu_land_status pmu_land__locate(struct pmu_land *l,
				      struct replay_pos *pos,
				      struct pmu_land_result *res)
{
	struct pmu_vcpu_step s;
	int ret;

	memset(res, 0, sizeof(*res));
	while (!l->insns_known) {
		if (res->steps >= l->max_steps)
			return fail(res, PMU_LAND_STEP_LIMIT,
				    "%" PRIu64 " steps without a conditional branch",
				    res->steps);
		ret = step_once(l, &s);
		res->steps++;
		if (ret)
			return op_failed(res, ret, "single-stepping the vCPU");
		if (s.exit)
			return fail(res, PMU_LAND_EXIT,
				    "synchronous exit at rip=%#" PRIx64
				    " before the next branch", s.rip);
	}
	ret = check_counter(l, res);
	if (ret == PMU_LAND_OK)
		*pos = l->cur;
	return (enum pmu_land_status)ret;
}
