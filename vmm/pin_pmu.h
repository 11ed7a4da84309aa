/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PIN_PMU_H
#define MICROVM_PIN_PMU_H

#include "pin_search.h"
#include "pmu_land.h"

/*
 * The PMU backend's landing (pmu_land.c) driving a real vCPU, replaying
 * a trace with exact positions (pin_pmu.c).  Only with a simulated
 * counter so far (--pin=pmu-sim, a test mode): the counter's count is the
 * true number of conditional branches, which the single-step backend
 * knows because it steps every instruction, and its overflow arrives
 * `skid` branches after the armed count.  The landing logic sees none of
 * that: it gets free runs that stop at the overflow or at a guest exit,
 * and single-steps, exactly the interface the perf counter will drive.
 * A replay through it that ends "identical" means every event was landed
 * on the instruction the single-step recording named.
 *
 * MICROVM_PMU_SIM="margin=M,skid=S" (default margin 64, skid 7).
 */
struct vm;

struct pin_pmu {
	bool on;
	bool begun;		/* an interval is open at `exits` */
	u64 exits;
	struct pmu_land land;
	/* The simulated counter. */
	u64 fire_at;		/* count that raises the overflow; ~0: off */
	u32 skid;
	bool fired;
	/* A guest exit happened inside an op: the run loop handles it. */
	bool exit_pending;
	/* Recording: inside a free run, where the position is not known. */
	bool free_running;
	u64 landings;
};

/* --pin=pmu-sim, at start: the counter and the landing; -errno. */
int pin_pmu__start(struct vm *vm);
/*
 * Before each KVM_RUN: land on the next recorded event if it lies before
 * the next exit (PIN_STEPPED: at it), else run to that exit; PIN_GUEST_EXIT
 * when a guest exit waits in the run area (handle it as after KVM_RUN);
 * PIN_NOT_OURS to let the single-step backend go on (an interrupt's
 * entry); PIN_FAILED with the vm stopped and the reason said.
 */
enum pin_exit pin_pmu__before_run(struct vm *vm);
/* The single-step backend entered an interrupt handler: one more. */
void pin_pmu__irq_entered(struct vm *vm);
void pin_pmu__report(const struct vm *vm);

#endif
