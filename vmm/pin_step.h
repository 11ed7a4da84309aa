/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PIN_STEP_H
#define MICROVM_PIN_STEP_H

#include <linux/kvm.h>

#include "microvm/replay.h"

#include "../common/util.h"
#include "pin_search.h"

/*
 * The single-step backend (--pin=step, pin_step.c): the guest runs one
 * instruction per KVM_RUN, so every input can go in between any two
 * instructions at an exact position (conditional branches retired since
 * the last synchronous exit, RIP, RCX, instructions since the last such
 * branch: the PMU backend's positions), and every instruction is looked at before it runs,
 * so the ones KVM does not trap and whose results come from the host
 * (RDTSC, RDTSCP, RDRAND, RDSEED) are emulated with logged values.
 *
 * Interrupts are injected with stepping off and a HLT byte over the
 * handler's first instruction: the entry is seen, and the handler is
 * stepped like any other code (with TF set, the CPU would run the whole
 * handler unseen, having cleared TF on entry).
 */
struct vm;

#define PIN_STEP_TLB 16
/* Hardware breakpoints: the #PF #UD #GP handlers, the SYSCALL entry. */
#define PIN_STEP_EXC 4

struct pin_step_tlb {
	u64 page;	/* guest-virtual page, or ~0 */
	u8 *hva;
};

struct pin_step {
	bool on;
	bool regs_valid;	/* regs is the vCPU's state now */
	bool sync_regs;		/* KVM_CAP_SYNC_REGS: regs come with exits */
	bool debug_on;		/* KVM_SET_GUEST_DEBUG has single-step on */
	bool rearm;		/* RIP moved by us: set single-step again */
	bool long_mode;		/* CS.L: 0x40-0x4f are REX prefixes */
	bool mode_stale;	/* read CS again before decoding */
	bool pending_branch;	/* the instruction being stepped is one */
	bool pending_rflags;	/* it loads RFLAGS (may clear TF) */
	bool want_window;	/* an interrupt waits for IF=1, no shadow */
	bool window_made;	/* the window exit waiting is ours */
	u32 control;		/* KVM_GUESTDBG_* used while stepping */
	struct kvm_regs regs;
	/*
	 * The position, as the PMU backend can know it too (pmu_land.h):
	 * conditional branches since the last synchronous exit, and
	 * instructions since the last of those branches (or the exit).
	 */
	u64 branches, insns;
	u64 total_insns, total_branches;	/* for the report */
	u64 emulated[4];	/* rdtsc, rdtscp, rdrand, rdseed */
	u64 irqs, tlb_misses, halts, syscalls, user_insns, unstepped_kicks;
	struct {
		bool active;	/* injected, entry not seen yet */
		u64 handler, gpa;
		u8 saved;
		u32 vector;
	} irq;
	/*
	 * Exceptions the guest's own instructions raise: the CPU clears TF
	 * on delivery, so their handlers' first instructions get hardware
	 * breakpoints (DR0-DR3) where the host stops on them.
	 */
	struct {
		bool on;	/* the host has hardware breakpoints */
		u8 *idt;	/* the IDT's page in our memory, or NULL */
		u64 addr[PIN_STEP_EXC];	/* armed handler addresses, 0: none */
		u8 suspended;	/* bits: off for this step (RIP is there) */
		u64 lstar;	/* the SYSCALL entry, 0: none */
		u64 entries, syscalls;
	} exc;
	struct pin_step_tlb tlb[PIN_STEP_TLB];
	u64 tsc_khz;	/* --clock=insn: the TSC's rate (0 at time 0) */
	u64 t0;
};

/* Check what the backend needs from KVM and start stepping; -errno. */
int pin_step__start(struct vm *vm);
void pin_step__stop(struct vm *vm);
/*
 * Before each KVM_RUN: look at the next instruction.  PIN_STEPPED when it
 * was emulated (a stop without KVM_RUN), PIN_GUEST_EXIT when it was a HLT
 * done here or an interrupt window that opened (the exit waits in the run
 * area), PIN_NOT_OURS to run the
 * guest, PIN_FAILED (vm stopped, reason said).
 */
enum pin_exit pin_step__before_run(struct vm *vm);
/* After KVM_RUN: PIN_STEPPED (a stop), PIN_AGAIN, or a guest exit. */
enum pin_exit pin_step__after_run(struct vm *vm, int ret);
/* Inject an interrupt so that its handler is stepped too; -errno. */
int pin_step__inject(struct vm *vm, u32 vector);
/*
 * Should KVM make its own interrupt-window exit for this KVM_RUN?  Only
 * where the SYSCALL workaround needs it (quirks.h) and user code runs
 * next: the PVM-backed hosts run guest user code natively, unstepped, and
 * half do its SYSCALLs; the window exit right after one lets the
 * workaround complete it.
 */
bool pin_step__window_exit(const struct vm *vm);
/* IF set and no interrupt shadow: an interrupt can go in here. */
bool pin_step__interruptible(struct vm *vm);
/* The exact position now. */
void pin_step__locate(struct vm *vm, struct replay_pos *pos);
/* One line on stderr: instructions, branches, emulated, steps/s. */
void pin_step__report(const struct vm *vm);

#endif
