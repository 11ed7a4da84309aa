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
 * The breakpoint is a HLT byte (0xf4) written over the instruction: it
 * exits as KVM_EXIT_HLT with RIP one past it on every host, including the
 * nested tier's kvm_amd, where neither hardware breakpoints nor INT3 exit
 * to the VMM (ENVIRONMENT.md).  The original byte is back in place
 * whenever the digest is taken or the guest steps.  Where the address has
 * no mapping yet, the guest is single-stepped to it instead.
 */
#include "pin_search.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "report.h"
#include "vm.h"

#define HLT_BYTE 0xf4

static int pin_guest_debug(struct vm *vm, bool step)
{
	struct kvm_guest_debug dbg = {
		.control = step ? KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP : 0,
	};

	return ioctl(vm->kvm.vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
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
	if (!report__translate(&vm->kvm, rip, &gpa) &&
	    guest_mem__ptr(&vm->kvm.mem, gpa, 1)) {
		ps->gpa = gpa;
		pin_insert(vm);
	} else {
		/* Not mapped (yet): step there, the slow way. */
		ps->stepping_all = true;
	}
	ps->step = ps->stepping_all;
	ps->searches++;
}

void pin__disarm(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;

	if (!ps->armed)
		return;
	pin_remove(vm);
	if (ps->step || ps->stepping_all)
		pin_guest_debug(vm, false);
	ps->armed = false;
	ps->step = false;
	ps->stepping_all = false;
}

int pin__before_run(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;

	if (!ps->armed)
		return 0;
	return pin_guest_debug(vm, ps->step);
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

enum pin_exit pin__after_run(struct vm *vm, int ret)
{
	struct pin_search *ps = &vm->pin;
	struct kvm_run *run = vm->kvm.run;

	if (!ps->armed || ret < 0)
		return PIN_NOT_OURS;
	if (ps->step && !ps->stepping_all) {
		/* Stepped over the original instruction: the breakpoint back. */
		ps->step = false;
		pin_guest_debug(vm, false);
		pin_insert(vm);
		return run->exit_reason == KVM_EXIT_DEBUG ? PIN_STEPPED :
							     PIN_NOT_OURS;
	}
	if (ps->stepping_all && run->exit_reason == KVM_EXIT_DEBUG) {
		ps->steps++;
		return pin_rip(vm) == ps->rip ? PIN_HIT : PIN_STEPPED;
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
	/* Over the real instruction, then the breakpoint goes back. */
	if (!vm->pin.stepping_all)
		vm->pin.step = true;
}

void pin__found(struct vm *vm)
{
	struct pin_search *ps = &vm->pin;

	ps->total_hits += ps->hits;
	ps->total_steps += ps->steps;
	ps->total_ns += util__host_ns() - ps->t0;
	ps->found++;
	pin__disarm(vm);
}
