// SPDX-License-Identifier: Apache-2.0
/* The virtual clock: see vclock.h for why all guest time comes from here. */
#include "vclock.h"

void vclock__init(struct vclock *clk, bool manual)
{
	clk->manual = manual;
	clk->manual_ns = 0;
	clk->host_base = util__host_ns();
	clk->count = NULL;
	clk->ns_per = 0;
	clk->warp = 0;
	clk->timers = NULL;
	clk->filter = NULL;
	clk->filter_ctx = NULL;
}

void vclock__rebase(struct vclock *clk)
{
	clk->host_base = util__host_ns();
}

u64 vclock__host_now(const struct vclock *clk)
{
	if (clk->count)
		return *clk->count * clk->ns_per + clk->warp;
	if (clk->manual)
		return clk->manual_ns;
	return util__host_ns() - clk->host_base;
}

u64 vclock__now(struct vclock *clk)
{
	u64 ns = vclock__host_now(clk);

	return clk->filter ? clk->filter(clk->filter_ctx, ns) : ns;
}

void vclock__set_filter(struct vclock *clk, u64 (*filter)(void *ctx, u64 ns),
			void *ctx)
{
	clk->filter = filter;
	clk->filter_ctx = ctx;
}

void vclock__set(struct vclock *clk, u64 ns)
{
	if (ns > clk->manual_ns)
		clk->manual_ns = ns;
}

void vclock__count(struct vclock *clk, const u64 *count, u64 ns_per)
{
	clk->count = count;
	clk->ns_per = ns_per;
	clk->warp = 0;
}

void vclock__warp(struct vclock *clk, u64 ns)
{
	if (clk->count)
		clk->warp += ns;
}

void vclock__add_timer(struct vclock *clk, struct vtimer *t,
		       void (*fire)(struct vtimer *t, u64 now), void *opaque)
{
	t->deadline = VTIMER_OFF;
	t->fire = fire;
	t->opaque = opaque;
	t->next = clk->timers;
	clk->timers = t;
}

void vclock__arm(struct vclock *clk __maybe_unused, struct vtimer *t, u64 deadline)
{
	t->deadline = deadline;
}

void vclock__disarm(struct vclock *clk __maybe_unused, struct vtimer *t)
{
	t->deadline = VTIMER_OFF;
}

u64 vclock__next_deadline(const struct vclock *clk)
{
	const struct vtimer *t;
	u64 next = VTIMER_OFF;

	for (t = clk->timers; t; t = t->next)
		next = MIN(next, t->deadline);
	return next;
}

int vclock__run_expired(struct vclock *clk)
{
	struct vtimer *t;
	u64 now = vclock__now(clk);
	int fired = 0;

	for (t = clk->timers; t; t = t->next) {
		if (t->deadline != VTIMER_OFF && t->deadline <= now) {
			/* The handler re-arms a periodic timer itself. */
			t->deadline = VTIMER_OFF;
			t->fire(t, now);
			fired++;
		}
	}
	return fired;
}
