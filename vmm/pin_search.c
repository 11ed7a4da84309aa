// SPDX-License-Identifier: Apache-2.0
/*
 * Finding an asynchronous position again on replay (see pin_search.h).
 *
 * The recording let an input in where the host happened to stop a guest
 * that ran without exits: the position is (synchronous exits so far, RIP,
 * digest of registers and the memory written since).  On replay, from the
 * last synchronous exit before it, the guest runs with a breakpoint at
 * RIP; at each hit the digest decides (registers and memory together fix
 * the future, so the first full match is the one), and on a mismatch the
 * guest steps over the instruction and the breakpoint goes back.
 *
 * Two kinds of breakpoint:
 *  - a hardware execute breakpoint (DR0 through KVM_GUESTDBG_USE_HW_BP)
 *    where the host's KVM stops on one (the PVM-backed hosts): nothing in
 *    guest memory changes, and no mapping is needed.  RFLAGS.RF does not
 *    step over a hit there (ENVIRONMENT.md), so a miss is stepped over
 *    with the breakpoint off, for every host alike.
 *  - a HLT byte (0xf4) written over the instruction where it does not
 *    (the nested tier's kvm_amd exits on neither hardware breakpoints nor
 *    INT3): it exits as KVM_EXIT_HLT with RIP one past it.  The original
 *    byte is back in place whenever the digest is taken or the guest
 *    steps.  Where the address has no mapping yet, the guest is
 *    single-stepped to it instead.
 */
#include "pin_search.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "probe.h"
#include "report.h"
#include "vm.h"

#define HLT_BYTE 0xf4
#define DR6_B0 0x1ULL
#define DR7_L0 0x1ULL	/* DR0 enabled, execute, length 1 */

/* Single-step (breakpoint off), run to the hardware breakpoint, or plain. */
static int pin_guest_debug(struct vm *vm, bool step, bool hwbp)
{
	struct kvm_guest_debug dbg = { 0 };

	if (step) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	} else if (hwbp) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[0] = vm->pin.linear;
		dbg.arch.debugreg[7] = DR7_L0;
	}
	return ioctl(vm->kvm.vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}

const char *pin__mech_name(enum pin_mech mech)
{
	return mech == PIN_MECH_HWBP ? "hardware breakpoints" :
				       "HLT-byte breakpoints";
}

int pin__setup(struct vm *vm)
{
	const char *force = getenv("MICROVM_SEARCH");

	probe__hw_breakpoint(&vm->caps);
	vm->pin.mech = vm->caps.hw_breakpoint == PROBE_YES ? PIN_MECH_HWBP :
							      PIN_MECH_HLT;
	if (!force || !*force)
		return 0;
	if (!strcmp(force, "hlt")) {
		vm->pin.mech = PIN_MECH_HLT;
	} else if (strcmp(force, "hwbp")) {
		pr_err("MICROVM_SEARCH=%s: expected hlt or hwbp", force);
		return -EINVAL;
	} else if (vm->pin.mech != PIN_MECH_HWBP) {
		pr_err("MICROVM_SEARCH=hwbp: this host's KVM does not stop the guest on a hardware breakpoint (see --probe-host)");
		return -EINVAL;
	}
	return 0;
}

static u8 *pin_byte(struct vm *vm)
{
	return guest_mem__ptr(&vm->kvm.mem, vm->pin.gpa, 1);
}

static void pin_insert(struct vm *vm)
{
	u8 *p = pin_byte(vm);

	if (p && !vm->pin.inserted) {
		vm->pin.saved = *p;
		*p = HLT_BYTE;
		vm->pin.inserted = true;
	}
}

static void pin_remove(struct vm *vm)
{
	u8 *p = pin_byte(vm);

	if (p && vm->pin.inserted) {
		*p = vm->pin.saved;
		vm->pin.inserted = false;
	}
}

/*
 * DR0 holds a linear address: RIP itself in long mode, CS base plus RIP
 * below it (a real-mode guest's CS base is not zero).
 */
static u64 pin_linear(struct vm *vm, u64 rip)
{
	struct kvm_sregs sregs;

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &sregs) < 0 || sregs.cs.l)
		return rip;
	return (sregs.cs.base + rip) & 0xffffffffULL;
}

static bool pin_long_mode(struct vm *vm)
{
	struct kvm_sregs sregs;

	return ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &sregs) == 0 && sregs.cs.l;
}

static u64 pin_rip(struct vm *vm);

/* Walking to an unmapped RIP: one instruction on, by HLT bytes or a step. */
static void pin_walk(struct vm *vm, u64 rip)
{
	vm->pin.step = !pin_over__insert(vm, rip);
	if (util__get_verbose() >= 3)
		fprintf(stderr, "walk %#llx%s\n", (unsigned long long)rip,
			vm->pin.step ? " (single-step)" : "");
}

/*
 * Walking: a stop after one more instruction.  At the target, a hit; once
 * its page is mapped, the HLT byte goes there and the guest runs to it.
 */
static enum pin_exit pin_walked(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;
	u64 rip = pin_rip(vm), gpa;

	ps->steps++;
	if (rip == ps->rip)
		return PIN_HIT;
	if (pin__hlt_gpa(vm, ps->rip, &gpa)) {
		ps->stepping_all = false;
		ps->gpa = gpa;
		pin_insert(vm);
		if (util__get_verbose() >= 3)
			fprintf(stderr, "walked to %#llx: rip %#llx is mapped now (at %#llx)\n",
				(unsigned long long)rip, (unsigned long long)ps->rip,
				(unsigned long long)gpa);
		return PIN_STEPPED;
	}
	pin_walk(vm, rip);
	return PIN_STEPPED;
}

void pin__arm(struct vm *vm, u64 rip)
{
	struct pin_search *ps = &vm->pin;
	u64 gpa;

	if (ps->armed && ps->rip == rip)
		return;
	pin__disarm(vm);
	ps->hits = ps->steps = 0;
	ps->gpa = 0;
	ps->inserted = false;
	ps->armed = true;
	ps->rip = rip;
	ps->t0 = util__host_ns();
	ps->searches++;
	ps->step = false;
	ps->mem_cache_ok = ps->chain = false;
	ps->overs = ps->stepped_over = 0;
	if (ps->mech == PIN_MECH_HWBP) {
		ps->linear = pin_linear(vm, rip);
		return;
	}
	ps->long_mode = pin_long_mode(vm);
	if (pin__hlt_gpa(vm, rip, &gpa)) {
		ps->gpa = gpa;
		pin_insert(vm);
	} else {
		/* Not mapped (yet), or user code: walk there, the slow way. */
		pr_debug("replay: rip %#llx is user code or not mapped yet: walking to it, an instruction at a time",
			 (unsigned long long)rip);
		ps->stepping_all = true;
		pin_walk(vm, pin_rip(vm));
	}
}

void pin__disarm(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;

	if (!ps->armed)
		return;
	pin_over__remove(vm);
	pin_remove(vm);
	if (ps->step || ps->stepping_all || ps->mech == PIN_MECH_HWBP)
		pin_guest_debug(vm, false, false);
	ps->armed = false;
	ps->step = false;
	ps->stepping_all = false;
}

int pin__before_run(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;

	if (!ps->armed)
		return 0;
	return pin_guest_debug(vm, ps->step, ps->mech == PIN_MECH_HWBP);
}

/* Put RIP back on the breakpoint's instruction after its HLT exit. */
static int pin_rewind(struct vm *vm)
{
	struct kvm_regs regs;

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	regs.rip = vm->pin.rip;
	return ioctl(vm->kvm.vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

static u64 pin_rip(struct vm *vm)
{
	struct kvm_regs regs;

	return ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0 ? 0 : regs.rip;
}

/*
 * A hardware breakpoint is a fault: the exit comes before the instruction
 * runs, RIP on it.  A step over a miss ran with the breakpoint off;
 * pin__before_run() turns it back on.
 */
static enum pin_exit pin_after_hwbp(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;
	struct kvm_run *run = vm->kvm.run;

	if (run->exit_reason != KVM_EXIT_DEBUG) {
		ps->step = false;
		return PIN_NOT_OURS;
	}
	if (ps->step) {
		ps->step = false;
		return PIN_STEPPED;
	}
	if (!(run->debug.arch.dr6 & DR6_B0) || pin_rip(vm) != ps->rip)
		return PIN_NOT_OURS;
	if (kvm__event_pending(&vm->kvm)) {
		/* Not yet at the instruction: the event goes in first. */
		ps->injecting++;
		ps->step = true;
		return PIN_STEPPED;
	}
	ps->hits++;
	return PIN_HIT;
}

static enum pin_exit pin_after_run(struct vm *vm, int ret);

enum pin_exit pin__after_run(struct vm *vm, int ret)
{
	struct pin_search *ps = &vm->pin;
	enum pin_exit e = pin_after_run(vm, ret);

	if (e == PIN_HIT) {
		ps->mem_cache_ok = ps->chain;
		ps->chain = true;
	} else if (e != PIN_STEPPED) {
		ps->mem_cache_ok = ps->chain = false;
	}
	return e;
}

static enum pin_exit pin_after_run(struct vm *vm, int ret)
{
	struct pin_search *ps = &vm->pin;
	struct kvm_run *run = vm->kvm.run;

	if (!ps->armed || ret < 0)
		return PIN_NOT_OURS;
	if (ps->mech == PIN_MECH_HWBP)
		return pin_after_hwbp(vm);
	if (ps->over.n) {
		/* Over the missed instruction: the breakpoint back. */
		if (!pin_over__after(vm))
			return PIN_NOT_OURS;
		if (ps->stepping_all)
			return pin_walked(vm);
		pin_insert(vm);
		return PIN_STEPPED;
	}
	if (ps->step && !ps->stepping_all) {
		/* Stepped over the original instruction: the breakpoint back. */
		ps->step = false;
		pin_guest_debug(vm, false, false);
		pin_insert(vm);
		return run->exit_reason == KVM_EXIT_DEBUG ? PIN_STEPPED :
							     PIN_NOT_OURS;
	}
	if (ps->stepping_all && run->exit_reason == KVM_EXIT_DEBUG) {
		ps->step = false;
		pin_guest_debug(vm, false, false);
		return pin_walked(vm);
	}
	if (run->exit_reason != KVM_EXIT_HLT || !ps->inserted ||
	    pin_rip(vm) != ps->rip + 1)
		return PIN_NOT_OURS;
	pin_remove(vm);
	if (pin_rewind(vm))
		return PIN_NOT_OURS;
	ps->hits++;
	return PIN_HIT;
}

void pin__miss(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;

	/* Over the real instruction, then the breakpoint goes back. */
	if (ps->stepping_all) {
		/* At the target, so it is mapped now: HLT bytes from here. */
		if (pin__hlt_gpa(vm, ps->rip, &ps->gpa)) {
			ps->stepping_all = false;
		} else {
			pin_walk(vm, ps->rip);
			return;
		}
	}
	if (ps->mech == PIN_MECH_HLT && pin_over__insert(vm, ps->rip)) {
		ps->overs++;
		return;
	}
	ps->step = true;
	ps->stepped_over++;
	if (ps->mech == PIN_MECH_HLT)
		pr_debug("replay: single-stepping over the instruction at %#llx (where it goes next is not known)",
			 (unsigned long long)ps->rip);
}

void pin__found(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;
	u64 ns = util__host_ns() - ps->t0;

	ps->total_hits += ps->hits;
	ps->total_steps += ps->steps;
	ps->total_overs += ps->overs;
	ps->total_stepped_over += ps->stepped_over;
	ps->total_ns += ns;
	if (ns > ps->max_ns)
		ps->max_ns = ns;
	ps->found++;
	pr_debug("replay: asynchronous position %llu at rip %#llx found with %s: %llu hits, %llu single steps, %.3f ms",
		 (unsigned long long)ps->found, (unsigned long long)ps->rip,
		 pin__mech_name(ps->mech), (unsigned long long)ps->hits,
		 (unsigned long long)ps->steps, ns / 1e6);
	pin__disarm(vm);
}
