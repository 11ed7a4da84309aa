// SPDX-License-Identifier: Apache-2.0
/*
 * The PMU backend's landing on a real vCPU, over a simulated counter (see
 * pin_pmu.h).  The vCPU ops are built on the single-step backend: a
 * "free run" steps silently, feeding the counter, until the counter's
 * overflow fires or the guest makes an exit; a step is one instruction.
 * What the landing then does (arm a margin early, step the rest, check
 * the counter against the steps) is pmu_land.c's, unchanged.
 */
#include "pin_pmu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pmu_fault.h"
#include "vcpu.h"
#include "vm.h"

/* ---- The simulated counter: the true branch count, a late overflow ---- */

static int sim_read(void *ctx, u64 *count)
{
	struct vm *vm = ctx;

	*count = vm->step.total_branches;
	return 0;
}

static int sim_arm(void *ctx, u64 at)
{
	struct vm *vm = ctx;

	vm->pmu.fire_at = at + vm->pmu.skid;
	vm->pmu.fired = false;
	return 0;
}

static int sim_disarm(void *ctx)
{
	struct vm *vm = ctx;

	vm->pmu.fire_at = ~0ULL;
	return 0;
}

static bool sim_fired(void *ctx)
{
	struct vm *vm = ctx;

	return vm->pmu.fired;
}

static const struct pmu_counter_ops sim_counter_ops = {
	.read = sim_read, .arm = sim_arm, .disarm = sim_disarm,
	.fired = sim_fired,
};

/* ---- The vCPU: one instruction through the single-step backend ---- */

/*
 * 1 a step, 0 a guest exit (left for the run loop), 2 a kick before the
 * instruction ran (recording: the host wants the guest stopped; replay
 * goes on), -errno.
 */
static int sim_one(struct vm *vm, bool *branch)
{
	for (;;) {
		enum pin_exit e = pin_step__before_run(vm);
		int ret;

		*branch = false;
		if (e == PIN_FAILED)
			return -EIO;
		if (e == PIN_STEPPED)
			return 1;	/* emulated (RDTSC...): not a branch */
		if (e == PIN_GUEST_EXIT) {
			vm->pmu.exit_pending = true;	/* HLT, done by step */
			return 0;
		}
		*branch = vm->step.pending_branch;
		ret = vcpu__kvm_run(vm);
		if (ret == -EIO)
			return -EIO;
		e = pin_step__after_run(vm, ret);
		if (e == PIN_FAILED)
			return -EIO;
		if (e == PIN_NOT_OURS) {
			vm->pmu.exit_pending = true;
			return 0;
		}
		if (e == PIN_STEPPED && ret >= 0)
			return 1;
		if (e == PIN_STEPPED && vm->rp.mode == REPLAY_RECORD)
			return 2;
	}
}

static void sim_where(struct vm *vm, u64 *rip, u64 *rcx)
{
	struct replay_pos pos = { 0 };

	pin_step__locate(vm, &pos);
	*rip = pos.rip;
	*rcx = pos.rcx;
}

static int sim_step(void *ctx, struct pmu_vcpu_step *s)
{
	struct vm *vm = ctx;
	bool branch;
	int ret;

	do
		ret = sim_one(vm, &branch);
	while (ret == 2);	/* a step is one instruction, kicked or not */
	memset(s, 0, sizeof(*s));
	if (ret < 0)
		return ret;
	s->exit = ret == 0;
	s->branch = branch;
	if (vm->step.total_branches >= vm->pmu.fire_at)
		vm->pmu.fired = true;
	sim_where(vm, &s->rip, &s->rcx);
	return 0;
}

static int sim_run(void *ctx, struct pmu_vcpu_stop *stop)
{
	struct vm *vm = ctx;
	bool branch;
	int ret;

	memset(stop, 0, sizeof(*stop));
	vm->pmu.free_running = vm->rp.mode == REPLAY_RECORD;
	for (;;) {
		ret = sim_one(vm, &branch);
		if (ret < 0)
			break;
		if (ret == 0) {
			stop->kind = PMU_VCPU_EXIT;
			break;
		}
		if (ret == 2) {
			stop->kind = PMU_VCPU_SIGNAL;	/* a host kick */
			break;
		}
		if (vm->step.total_branches >= vm->pmu.fire_at) {
			vm->pmu.fired = true;
			stop->kind = PMU_VCPU_SIGNAL;
			break;
		}
	}
	vm->pmu.free_running = false;
	if (ret < 0)
		return ret;
	sim_where(vm, &stop->rip, &stop->rcx);
	return 0;
}

static const struct pmu_vcpu_ops sim_vcpu_ops = {
	.run = sim_run, .step = sim_step,
};

/* ---- The backend ---- */

int pin_pmu__start(struct vm *vm)
{
	struct pin_pmu *pp = &vm->pmu;
	struct pmu_sim sim;

	if (vm->rp.mode == REPLAY_OFF) {
		pr_err("--pin=pmu-sim: only with --record or --replay (it is a test of the PMU backend)");
		return -EINVAL;
	}
	if (pmu_fault__from_env(&sim))
		return -EINVAL;
	pp->skid = sim.skid;
	pp->fire_at = ~0ULL;
	pmu_land__init(&pp->land, &sim_vcpu_ops, vm, &sim_counter_ops, vm,
		       sim.margin);
	pp->on = true;
	pr_info("positions: PMU landing over a simulated counter (margin %u, skid %u branches)",
		sim.margin, pp->skid);
	return 0;
}

static enum pin_exit pmu_failed(struct vm *vm, const struct pmu_land_result *res)
{
	char why[320];

	snprintf(why, sizeof(why), "PMU landing: %s",
		 res->msg[0] ? res->msg : pmu_land__status_str(res->status));
	pr_err("%s", why);
	vm__stop(vm, VM_EXIT_OK, "the replay diverged");
	return PIN_FAILED;
}

/* A new interval after each synchronous exit (and at the start). */
static int pmu_begin(struct vm *vm)
{
	struct pin_pmu *pp = &vm->pmu;
	struct replay_pos cur;

	replay__position(vm->rp.r, &cur);
	if (pp->begun && pp->exits == cur.exits)
		return 0;
	pp->begun = true;
	pp->exits = cur.exits;
	return pmu_land__begin(&pp->land, cur.exits, cur.rip, cur.rcx);
}

/* Is the landing's own idea of where the guest is the position `t`? */
static bool pmu_at(struct vm *vm, const struct replay_pos *t)
{
	const struct pmu_land *l = &vm->pmu.land;

	return l->insns_known && replay__pos_cmp(&l->cur, t) == REPLAY_POS_NOW;
}

/*
 * Already at the next event, which the delivery did not take: a value
 * the instruction here reads (an emulated RDTSC).  One step, as the PMU
 * backend steps over what it emulates, and its position kept.
 */
static enum pin_exit pmu_step_here(struct vm *vm)
{
	struct pmu_land *l = &vm->pmu.land;
	struct pmu_vcpu_step s;

	if (sim_step(vm, &s))
		return PIN_FAILED;
	l->stats.steps++;
	l->cur.rip = s.rip;
	l->cur.rcx = s.rcx;
	if (s.exit)
		return PIN_GUEST_EXIT;
	if (s.branch) {
		l->cur.branches++;
		l->cur.insns = 0;
	} else {
		l->cur.insns++;
	}
	return PIN_STEPPED;
}

/*
 * Recording: run freely to an exit or a kick; at a kick with inputs due,
 * locate the stop as the PMU backend must (step to the next branch, since
 * a free run leaves the instruction count unknown), and check it against
 * the single-step backend's truth.
 */
static enum pin_exit pmu_record_run(struct vm *vm)
{
	struct pin_pmu *pp = &vm->pmu;
	struct pmu_land_result res;
	struct replay_pos pos, truth = { 0 };
	struct pmu_vcpu_stop stop;
	enum pmu_land_status st;
	char a[160], b[160];

	if (pmu_land__run(&pp->land, &stop))
		return PIN_FAILED;
	if (pp->exit_pending)
		return PIN_GUEST_EXIT;
	if (!vcpu__inputs_due(vm))
		return PIN_AGAIN;
	st = pmu_land__locate(&pp->land, &pos, &res);
	if (st == PMU_LAND_EXIT && pp->exit_pending)
		return PIN_GUEST_EXIT;
	if (st != PMU_LAND_OK)
		return pmu_failed(vm, &res);
	pin_step__locate(vm, &truth);
	if (pos.branches != truth.branches || pos.rip != truth.rip ||
	    pos.rcx != truth.rcx || pos.insns != truth.insns) {
		truth.exits = pos.exits;
		truth.exact = true;
		snprintf(res.msg, sizeof(res.msg), "located %s, but the guest is at %s",
			 replay__pos_str(&pos, a, sizeof(a)),
			 replay__pos_str(&truth, b, sizeof(b)));
		return pmu_failed(vm, &res);
	}
	pp->landings++;
	return PIN_STEPPED;
}

enum pin_exit pin_pmu__before_run(struct vm *vm)
{
	struct pin_pmu *pp = &vm->pmu;
	struct pmu_land_result res;
	struct pmu_vcpu_stop stop;
	struct replay_pos next;
	enum pmu_land_status st;

	/* First: an interrupt's entry right after the exit is in its interval. */
	if (pmu_begin(vm)) {
		memset(&res, 0, sizeof(res));
		res.status = PMU_LAND_ERROR;
		snprintf(res.msg, sizeof(res.msg), "cannot read the counter");
		return pmu_failed(vm, &res);
	}
	if (vm->step.irq.active)
		return PIN_NOT_OURS;	/* the single-step backend's entry */
	pp->exit_pending = false;
	if (vm->rp.mode == REPLAY_RECORD)
		return pmu_record_run(vm);
	if (!replay__next_pos(vm->rp.r, &next) && next.exact &&
	    next.exits == pp->exits && pmu_at(vm, &next))
		return pmu_step_here(vm);
	if (replay__next_pos(vm->rp.r, &next) || !next.exact ||
	    next.exits != pp->exits) {
		/* Nothing recorded before the next exit: run to it. */
		if (pmu_land__run(&pp->land, &stop))
			return PIN_FAILED;
		return pp->exit_pending ? PIN_GUEST_EXIT : PIN_NOT_OURS;
	}
	st = pmu_land__reach(&pp->land, &next, &res);
	if (st == PMU_LAND_OK) {
		pp->landings++;
		return PIN_STEPPED;
	}
	if (st == PMU_LAND_EXIT && pp->exit_pending)
		return PIN_GUEST_EXIT;
	return pmu_failed(vm, &res);
}

void pin_pmu__irq_entered(struct vm *vm)
{
	struct pmu_land *l = &vm->pmu.land;

	if (!vm->pmu.on)
		return;
	sim_where(vm, &l->cur.rip, &l->cur.rcx);
	if (l->insns_known)
		l->cur.insns++;
}

void pin_pmu__report(const struct vm *vm)
{
	const struct pmu_land_stats *s = &vm->pmu.land.stats;

	if (!vm->pmu.on)
		return;
	pr_info("pmu-sim: %llu landings, %llu free runs, %llu steps, %llu overflows, largest skid %llu branches",
		(unsigned long long)vm->pmu.landings,
		(unsigned long long)s->runs, (unsigned long long)s->steps,
		(unsigned long long)s->overflows,
		(unsigned long long)s->max_skid);
}
