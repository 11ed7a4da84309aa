// SPDX-License-Identifier: Apache-2.0
/* The simulated vCPU and counter of pmu_sim.h. */
#include "tests/unit/pmu_sim.h"

#include <errno.h>
#include <string.h>

void sim__init(struct sim *s, const struct sim_insn *prog, u32 len)
{
	memset(s, 0, sizeof(*s));
	s->prog = prog;
	s->len = len;
	s->rng = 0x9e3779b97f4a7c15ULL;
	s->max_run = 100000000ULL;
}

u64 sim__count(const struct sim *s)
{
	return s->branches + s->extra;
}

/* The overflow: pending once the count reaches arm_at, then the skid. */
static void sim_check_overflow(struct sim *s)
{
	if (!s->armed || s->pending || s->fired || sim__count(s) < s->arm_at)
		return;
	s->pending = true;
	s->due_branches = s->branches + s->skid;
	s->due_insns = s->skid_insns;
}

/* Has the pending signal arrived?  Counts the skid down. */
static bool sim_signal_due(struct sim *s)
{
	if (!s->pending || s->never_deliver || s->branches < s->due_branches)
		return false;
	if (s->due_insns) {
		s->due_insns--;
		return false;
	}
	s->pending = false;
	s->fired = true;
	return true;
}

/*
 * A VM entry: what a miscounting PMU adds to the count.  Noise comes with
 * host activity during free runs (the host's interrupts), not in the
 * microseconds of one step.
 */
static void sim_entry(struct sim *s, bool run)
{
	s->entries++;
	s->extra += (u64)s->drift_per_entry;
	if (run && s->noise_every && ++s->runs % s->noise_every == 0)
		s->extra += s->noise;
	sim_check_overflow(s);
}

static u64 sim_step_rng(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

/* Retire one instruction: *branch, *exit say what it was. */
static void sim_exec(struct sim *s, bool *branch, bool *exit)
{
	const struct sim_insn *in = &s->prog[s->pc];
	bool taken = false;

	*branch = *exit = false;
	switch (in->op) {
	case SIM_NOP:
		break;
	case SIM_SET_RCX:
		s->rcx = in->imm;
		break;
	case SIM_DEC_JNZ:
		*branch = true;
		taken = --s->rcx != 0;
		break;
	case SIM_MEM_LOOP:
		*branch = true;
		taken = ++s->mem % in->imm != 0;
		break;
	case SIM_JCC_RAND:
		*branch = true;
		taken = sim_step_rng(s) & 1;
		break;
	case SIM_REP:
		/* One iteration per step; rip moves on after the last. */
		if (s->rcx && --s->rcx) {
			s->retired++;
			return;
		}
		break;
	case SIM_JMP:
		s->pc = in->target;
		s->retired++;
		return;
	case SIM_EXIT:
		*exit = true;
		break;
	}
	s->pc = taken ? in->target : (s->pc + 1) % s->len;
	s->retired++;
	if (*branch) {
		s->branches++;
		sim_check_overflow(s);
	}
	if (*exit)
		s->exits++;
}

static int sim_run(void *ctx, struct pmu_vcpu_stop *stop)
{
	struct sim *s = ctx;
	bool branch, exit;
	u64 n;

	sim_entry(s, true);
	for (n = 0;; n++) {
		if (n == s->max_run)
			return -ETIMEDOUT;
		if (sim_signal_due(s) ||
		    (s->kick_every && ++s->since_kick >= s->kick_every)) {
			if (s->kick_every && s->since_kick >= s->kick_every)
				s->since_kick = 0;
			stop->kind = PMU_VCPU_SIGNAL;
			break;
		}
		sim_exec(s, &branch, &exit);
		if (exit) {
			/* A PMI pending at the exit is taken on the way out. */
			if (s->pending && !s->never_deliver) {
				s->pending = false;
				s->fired = true;
			}
			stop->kind = PMU_VCPU_EXIT;
			break;
		}
	}
	stop->rip = SIM_RIP(s->pc);
	stop->rcx = s->rcx;
	return 0;
}

static int sim_step(void *ctx, struct pmu_vcpu_step *st)
{
	struct sim *s = ctx;

	sim_entry(s, false);
	sim_exec(s, &st->branch, &st->exit);
	if (s->pending && !s->never_deliver) {
		s->pending = false;
		s->fired = true;
	}
	st->rip = SIM_RIP(s->pc);
	st->rcx = s->rcx;
	return 0;
}

const struct pmu_vcpu_ops sim__vcpu_ops = {
	.run = sim_run,
	.step = sim_step,
};

static int sim_read(void *ctx, u64 *count)
{
	*count = sim__count(ctx);
	return 0;
}

static int sim_arm(void *ctx, u64 at)
{
	struct sim *s = ctx;

	s->armed = true;
	s->pending = s->fired = false;
	s->arm_at = at;
	/* As perf: an arm point already reached counts as fired at once. */
	if (sim__count(s) >= at)
		s->fired = true;
	return 0;
}

static int sim_disarm(void *ctx)
{
	struct sim *s = ctx;

	s->armed = s->pending = s->fired = false;
	return 0;
}

static bool sim_fired(void *ctx)
{
	return ((struct sim *)ctx)->fired;
}

const struct pmu_counter_ops sim__counter_ops = {
	.read = sim_read,
	.arm = sim_arm,
	.disarm = sim_disarm,
	.fired = sim_fired,
};
