// SPDX-License-Identifier: Apache-2.0
/*
 * Calibration: before the PMU backend is trusted, run a guest whose
 * branch counts are known and compare.  Opening a counter (pmu__probe())
 * says nothing about what it counts: a virtualized PMU may count the
 * host's VMRUN as a guest branch on every entry (seen on Zen), count host
 * events, or never deliver the overflow.  The landing cannot tell the
 * first two from the truth in a loop whose registers repeat, so they must
 * be caught here.
 */
#include "pmu_land.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pmu_land__selftest_str(enum pmu_selftest_verdict v)
{
	static const char *const names[] = {
		[PMU_SELFTEST_OK] = "counts exact",
		[PMU_SELFTEST_DRIFT] = "drift per VM entry",
		[PMU_SELFTEST_NOISE] = "counts vary",
		[PMU_SELFTEST_OVERFLOW_LOST] = "overflow never delivered",
		[PMU_SELFTEST_SKID] = "skid beyond the margin",
		[PMU_SELFTEST_GUEST] = "calibration guest misbehaved",
		[PMU_SELFTEST_ERROR] = "error",
	};

	return v < ARRAY_SIZE(names) && names[v] ? names[v] : "?";
}

static enum pmu_selftest_verdict verdict(struct pmu_selftest *res,
					 enum pmu_selftest_verdict v,
					 const char *fmt, ...) __printf(3, 4);

static enum pmu_selftest_verdict verdict(struct pmu_selftest *res,
					 enum pmu_selftest_verdict v,
					 const char *fmt, ...)
{
	va_list ap;

	res->verdict = v;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return v;
}

static enum pmu_selftest_verdict op_failed(struct pmu_selftest *res, int ret,
					   const char *what)
{
	return verdict(res, PMU_SELFTEST_ERROR, "%s failed: %s", what,
		       strerror(-ret));
}

/* Deviations that are all one constant per VM entry, or not. */
struct drift_fit {
	bool any, proportional;
	s64 per_entry;
};

static void fit(struct drift_fit *f, struct pmu_selftest *res, s64 dev,
		u64 entries)
{
	s64 d;

	res->dev_min = MIN(res->dev_min, dev);
	res->dev_max = MAX(res->dev_max, dev);
	if (dev % (s64)entries) {
		f->proportional = false;
		return;
	}
	d = dev / (s64)entries;
	if (!f->any)
		f->per_entry = d;
	else if (d != f->per_entry)
		f->proportional = false;
	f->any = true;
}

/* Start the next interval at the exit the guest stands on. */
static int next_interval(struct pmu_land *l)
{
	return pmu_land__begin(l, l->cur.exits + 1, l->cur.rip, l->cur.rcx);
}

/* Free-run one interval to its exit; the VM entries it took. */
static int run_interval(struct pmu_land *l, u64 *entries)
{
	struct pmu_vcpu_stop stop;
	int ret;

	*entries = 0;
	do {
		ret = pmu_land__run(l, &stop);
		++*entries;
	} while (!ret && stop.kind != PMU_VCPU_EXIT);
	return ret;
}

static enum pmu_selftest_verdict counts_phase(struct pmu_land *l,
					      const struct pmu_calib *g,
					      u64 intervals,
					      struct pmu_selftest *res)
{
	struct drift_fit f = { .proportional = true };
	u64 i, entries;
	int ret;

	for (i = 0; i < intervals; i++) {
		ret = run_interval(l, &entries);
		if (ret)
			return op_failed(res, ret, "running the calibration guest");
		fit(&f, res, (s64)(l->cur.branches - g->branches), entries);
		ret = next_interval(l);
		if (ret)
			return op_failed(res, ret, "reading the counter");
	}
	if (res->dev_min == 0 && res->dev_max == 0)
		return PMU_SELFTEST_OK;
	if (f.proportional) {
		res->drift = f.per_entry;
		return verdict(res, PMU_SELFTEST_DRIFT,
			       "the counter moves by %+" PRId64 " per VM entry (%" PRIu64
			       " intervals of %" PRIu64 " branches)",
			       f.per_entry, intervals, g->branches);
	}
	return verdict(res, PMU_SELFTEST_NOISE,
		       "intervals of %" PRIu64 " branches counted %+" PRId64 " to %+" PRId64
		       ": the counter counts something else too (host events?)",
		       g->branches, res->dev_min, res->dev_max);
}

/*
 * Single-step one interval: the stepped branches check the guest (and
 * the stepping backend's decoding) against the declared count, without
 * the counter.  *dev: how far the counter strayed over the *steps steps
 * (each one a VM entry), judged after the free-run counts.
 */
static enum pmu_selftest_verdict step_phase(struct pmu_land *l,
					    const struct pmu_calib *g,
					    struct pmu_selftest *res,
					    s64 *dev, u64 *steps)
{
	const u64 limit = 64 * g->branches + 1024;
	struct pmu_vcpu_step s = { 0 };
	u64 stepped = 0, raw;
	int ret;

	*steps = 0;
	while (!s.exit) {
		if ((*steps)++ == limit)
			return verdict(res, PMU_SELFTEST_GUEST,
				       "no synchronous exit in %" PRIu64 " steps", limit);
		ret = l->vcpu->step(l->vcpu_ctx, &s);
		if (ret)
			return op_failed(res, ret, "single-stepping the calibration guest");
		stepped += s.branch && !s.exit;
	}
	l->cur.rip = s.rip;
	l->cur.rcx = s.rcx;
	ret = l->ctr->read(l->ctr_ctx, &raw);
	if (ret)
		return op_failed(res, ret, "reading the counter");
	if (stepped != g->branches)
		return verdict(res, PMU_SELFTEST_GUEST,
			       "stepping saw %" PRIu64 " conditional branches in an interval declared as %" PRIu64,
			       stepped, g->branches);
	*dev = (s64)(raw - l->base - stepped);
	ret = next_interval(l);
	return ret ? op_failed(res, ret, "reading the counter") : PMU_SELFTEST_OK;
}

static enum pmu_selftest_verdict step_verdict(struct pmu_selftest *res,
					      s64 dev, u64 steps)
{
	if (!dev)
		return PMU_SELFTEST_OK;
	res->drift = dev % (s64)steps ? 0 : dev / (s64)steps;
	res->dev_min = MIN(res->dev_min, dev);
	res->dev_max = MAX(res->dev_max, dev);
	return verdict(res, res->drift ? PMU_SELFTEST_DRIFT : PMU_SELFTEST_NOISE,
		       "over %" PRIu64 " single-steps the counter moved %+" PRId64
		       " more than the branches stepped",
		       steps, dev);
}

/* Arm mid-interval: the overflow must come, and within the margin. */
static enum pmu_selftest_verdict overflow_phase(struct pmu_land *l,
						const struct pmu_calib *g,
						u64 intervals,
						struct pmu_selftest *res)
{
	const u64 armed = g->branches / 2;
	struct pmu_vcpu_stop stop;
	u64 i, raw, n, entries;
	bool fired;
	int ret;

	for (i = 0; i < intervals; i++) {
		ret = l->ctr->arm(l->ctr_ctx, l->base + armed);
		if (ret)
			return op_failed(res, ret, "arming the counter");
		do {
			ret = l->vcpu->run(l->vcpu_ctx, &stop);
			if (!ret)
				ret = l->ctr->read(l->ctr_ctx, &raw);
			if (ret)
				return op_failed(res, ret, "running the calibration guest");
			n = raw - l->base;
			fired = l->ctr->fired(l->ctr_ctx);
		/* A kick before the signal is not a lost overflow: go on. */
		} while (!fired && stop.kind != PMU_VCPU_EXIT);
		ret = l->ctr->disarm(l->ctr_ctx);
		if (ret)
			return op_failed(res, ret, "disarming the counter");
		if (!fired)
			return verdict(res, PMU_SELFTEST_OVERFLOW_LOST,
				       "armed at branch %" PRIu64 " of %" PRIu64
				       ", the guest reached %s at branch %" PRIu64 " without the overflow signal",
				       armed, g->branches,
				       stop.kind == PMU_VCPU_EXIT ? "its exit" : "a stop",
				       n);
		if (n < armed)
			return verdict(res, PMU_SELFTEST_NOISE,
				       "the overflow armed at branch %" PRIu64 " came at branch %" PRIu64,
				       armed, n);
		res->max_skid = MAX(res->max_skid, n - armed);
		if (n - armed >= l->margin)
			return verdict(res, PMU_SELFTEST_SKID,
				       "skid %" PRIu64 " branches%s, margin %u",
				       n - armed,
				       stop.kind == PMU_VCPU_EXIT ? " or more (the exit came first)" : "",
				       l->margin);
		if (stop.kind != PMU_VCPU_EXIT) {
			ret = run_interval(l, &entries);
			if (ret)
				return op_failed(res, ret, "running the calibration guest");
		}
		ret = next_interval(l);
		if (ret)
			return op_failed(res, ret, "reading the counter");
	}
	return PMU_SELFTEST_OK;
}

enum pmu_selftest_verdict pmu_land__selftest(struct pmu_land *l,
					     const struct pmu_calib *g,
					     struct pmu_selftest *res)
{
	u64 counted = g->intervals / 2, steps = 0;
	enum pmu_selftest_verdict v;
	s64 step_dev = 0;

	memset(res, 0, sizeof(*res));
	res->dev_min = INT64_MAX;
	res->dev_max = INT64_MIN;
	if (g->intervals < 4 || g->branches < 4)
		return verdict(res, PMU_SELFTEST_GUEST,
			       "a calibration guest needs at least 4 intervals of 4 branches");
	/*
	 * Stepping first: it checks the guest's declared count without the
	 * counter, so that a guest that does something else is not taken
	 * for a drifting counter.
	 */
	v = step_phase(l, g, res, &step_dev, &steps);
	if (v == PMU_SELFTEST_OK)
		v = counts_phase(l, g, counted, res);
	if (v == PMU_SELFTEST_OK)
		v = step_verdict(res, step_dev, steps);
	if (v == PMU_SELFTEST_OK)
		v = overflow_phase(l, g, g->intervals - counted - 1, res);
	if (v == PMU_SELFTEST_OK)
		verdict(res, PMU_SELFTEST_OK,
			"%" PRIu64 " intervals of %" PRIu64 " branches exact, free-running and stepped; max skid %" PRIu64 " (margin %u)",
			g->intervals, g->branches, res->max_skid, l->margin);
	return v;
}
