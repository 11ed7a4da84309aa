// SPDX-License-Identifier: Apache-2.0
/*
 * The single-step backend (see pin_step.h).
 *
 * Per instruction: decode at RIP (insn.c) through a small cache of
 * guest-virtual pages, then either emulate it (RDTSC & co.) or KVM_RUN
 * with KVM_GUESTDBG_SINGLESTEP and count it at its KVM_EXIT_DEBUG.  With
 * KVM_CAP_SYNC_REGS the registers come back in the run area, so a step
 * costs one ioctl, as close to a bare single-step loop as a backend that
 * must see RIP can get (bench/step-bench.sh measures the ratio).
 *
 * What is counted: an instruction retires at its single-step trap, or at
 * a HLT exit (KVM reports the HLT and not the trap); an interrupt's entry
 * counts as one too.  A port or MMIO
 * instruction exits first and traps when KVM completes it on the next
 * KVM_RUN, so it is counted once, at the trap.  A conditional branch is
 * Jcc, LOOPcc or JrCXZ, taken or not, as the PMU's "retired conditional
 * branches" counts them.
 *
 * Known limits: an exception the guest's own instruction raises (a page
 * fault, INT n, SYSCALL with TF masked) clears TF on entry, so its handler
 * runs unstepped up to its IRET: its instructions are not counted and an
 * RDTSC inside it is not emulated.  Test guests do not fault; a Linux
 * guest does (docs/pinning.md).
 */
#include "pin_step.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "insn.h"
#include "quirks.h"
#include "report.h"
#include "vm.h"

#define HLT_BYTE 0xf4
#define MSR_IA32_TSC 0x10
#define MSR_TSC_AUX 0xc0000103
/* RFLAGS bits RDRAND defines: CF set, OF SF ZF AF PF clear. */
#define RFLAGS_CF (1ULL << 0)
#define RFLAGS_IF (1ULL << 9)
#define RFLAGS_RDRAND_CLEAR ((1ULL << 11) | (1ULL << 7) | (1ULL << 6) | \
			     (1ULL << 4) | (1ULL << 2))

/* DR0-DR2: these vectors' handlers; DR3: the SYSCALL entry (IA32_LSTAR). */
static u64 step_msr(struct vm *vm, u32 index);

static const u8 step_exc_vectors[PIN_STEP_EXC - 1] = { 14, 6, 13 };
#define MSR_LSTAR 0xc0000082

/* Stepping on, with a breakpoint on each exception handler not suspended. */
static void step_exc_debugregs(const struct pin_step *ps,
			       struct kvm_guest_debug *dbg)
{
	u64 dr7 = 0;

	for (unsigned int i = 0; i < PIN_STEP_EXC; i++) {
		if (!ps->exc.addr[i] || (ps->exc.suspended & (1u << i)))
			continue;
		dbg->arch.debugreg[i] = ps->exc.addr[i];
		dr7 |= 1ULL << (2 * i);	/* Li; R/W 00 (execute), LEN 00 */
	}
	if (dr7) {
		dbg->control |= KVM_GUESTDBG_USE_HW_BP;
		dbg->arch.debugreg[7] = dr7;
	}
}

static int step_guest_debug(struct vm *vm, bool on)
{
	struct pin_step *ps = &vm->step;
	struct kvm_guest_debug dbg = { .control = on ? ps->control : 0 };

	if (on && ps->exc.on)
		step_exc_debugregs(ps, &dbg);
	if (ioctl(vm->kvm.vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		return -errno;
	ps->debug_on = on;
	ps->rearm = false;
	return 0;
}

static void step_tlb_flush(struct pin_step *ps)
{
	for (unsigned int i = 0; i < PIN_STEP_TLB; i++)
		ps->tlb[i].page = ~0ULL;
}

/* Host address of a guest-virtual byte, or NULL (not mapped, not RAM). */
static u8 *step_hva(struct vm *vm, u64 gva)
{
	struct pin_step *ps = &vm->step;
	u64 page = gva >> 12, gpa;
	struct pin_step_tlb *e = &ps->tlb[page % PIN_STEP_TLB];
	u8 *p;

	if (e->page != page) {
		ps->tlb_misses++;
		if (report__translate(&vm->kvm, page << 12, &gpa))
			return NULL;
		p = guest_mem__ptr(&vm->kvm.mem, gpa, 4096);
		if (!p)
			return NULL;
		e->page = page;
		e->hva = p;
	}
	return e->hva + (gva & 4095);
}

/* Up to 15 instruction bytes at gva; how many could be read. */
static size_t step_fetch(struct vm *vm, u64 gva, u8 *buf)
{
	size_t first = MIN((size_t)15, 4096 - (size_t)(gva & 4095));
	u8 *p = step_hva(vm, gva);

	if (!p)
		return 0;
	memcpy(buf, p, first);
	if (first < 15) {
		p = step_hva(vm, gva + first);
		if (p) {
			memcpy(buf + first, p, 15 - first);
			return 15;
		}
	}
	return first;
}

/*
 * The IDT as of this mode change, LIDT or exit: where its page is, for
 * reading the exception gates before every step.  64-bit gates only.
 */
static void step_exc_idt(struct vm *vm, const struct kvm_sregs *sregs)
{
	struct pin_step *ps = &vm->step;
	u64 need = 16ULL * 15 - 1;	/* up to #PF's gate */

	ps->exc.idt = NULL;
	ps->exc.lstar = 0;
	if (!ps->exc.on || !sregs->cs.l)
		return;
	/*
	 * A SYSCALL the CPU executes instead of us (user code that runs
	 * unstepped: seen on the PVM-backed hosts, which half do it) is
	 * stopped at the entry, where the SYSCALL workaround completes it.
	 */
	if (sregs->efer & 1)	/* EFER.SCE */
		ps->exc.lstar = step_msr(vm, MSR_LSTAR);
	if (sregs->idt.limit < need || (sregs->idt.base & 4095) + need >= 4096)
		return;
	ps->exc.idt = step_hva(vm, sregs->idt.base);
}

static u64 step_gate_offset(const u8 *g)
{
	return (u64)g[0] | (u64)g[1] << 8 | (u64)g[6] << 16 |
	       (u64)g[7] << 24 | (u64)g[8] << 32 | (u64)g[9] << 40 |
	       (u64)g[10] << 48 | (u64)g[11] << 56;
}

/*
 * Before a step: the handlers as the IDT has them now (Linux rewrites
 * gates in place, without LIDT), and none armed where RIP is, since the
 * PVM-backed hosts stop on a breakpoint again even with RF set.  true
 * when the debug registers must be loaded again.
 */
static bool step_exc_update(struct pin_step *ps)
{
	bool changed = false;
	u8 suspended = 0;

	for (unsigned int i = 0; i < PIN_STEP_EXC; i++) {
		const u8 *g = ps->exc.idt && i < PIN_STEP_EXC - 1 ?
			ps->exc.idt + 16 * step_exc_vectors[i] : NULL;
		/* A present interrupt or trap gate, or nothing. */
		u64 a = g && (g[5] & 0x80) ? step_gate_offset(g) : 0;

		if (i == PIN_STEP_EXC - 1)
			a = ps->exc.lstar;
		if (a != ps->exc.addr[i]) {
			ps->exc.addr[i] = a;
			changed = true;
		}
		if (a && a == ps->regs.rip)
			suspended |= 1u << i;
	}
	if (suspended != ps->exc.suspended) {
		ps->exc.suspended = suspended;
		changed = true;
	}
	return changed;
}

static int step_get_regs(struct vm *vm)
{
	struct pin_step *ps = &vm->step;
	struct kvm_sregs sregs;

	if (!ps->regs_valid) {
		if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &ps->regs) < 0)
			return -errno;
		ps->regs_valid = true;
	}
	if (ps->mode_stale) {
		if (ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
			return -errno;
		ps->long_mode = sregs.cs.l;
		ps->mode_stale = false;
		step_exc_idt(vm, &sregs);
	}
	return 0;
}

/*
 * The TSC on a counted clock: 0 at virtual time 0, as after a reset (the
 * host's value there made two runs' TSCs differ), at the rate KVM gives
 * the guest, so that RDTSC and the PIT agree (Linux calibrates one
 * against the other).
 */
static void step_tsc_start(struct vm *vm)
{
	struct pin_step *ps = &vm->step;
	int khz = ioctl(vm->kvm.vcpu_fd, KVM_GET_TSC_KHZ, 0);

	ps->tsc_khz = khz > 0 ? (u64)khz : 1000000;	/* else 1 GHz */
}

/* What RDTSC reads now: the host's TSC, or one following virtual time. */
static u64 step_tsc(struct vm *vm)
{
	struct pin_step *ps = &vm->step;
	u64 ns;

	if (!vclock__counted(&vm->clock))
		return step_msr(vm, MSR_IA32_TSC);
	ns = vclock__host_now(&vm->clock);
	/* ns * khz / 10^6 without overflowing for the first 5,000 hours. */
	return ns / 1000000 * ps->tsc_khz +
	       ns % 1000000 * ps->tsc_khz / 1000000;
}

int pin_step__start(struct vm *vm)
{
	struct pin_step *ps = &vm->step;
	int fd = vm->kvm.sys_fd, dbg2, sync;

	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) <= 0) {
		pr_err("--pin=step: this KVM cannot single-step a guest (no KVM_CAP_SET_GUEST_DEBUG)");
		return -EOPNOTSUPP;
	}
	ps->control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	/*
	 * BLOCKIRQ keeps KVM from injecting anything while a step runs.
	 * microvm injects only by itself, with stepping off, so this is a
	 * second line of defence, used where KVM has it.
	 */
	dbg2 = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	if (dbg2 > 0 && (dbg2 & KVM_GUESTDBG_BLOCKIRQ))
		ps->control |= KVM_GUESTDBG_BLOCKIRQ;
	sync = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	ps->sync_regs = sync > 0 && (sync & KVM_SYNC_X86_REGS);
	if (ps->sync_regs)
		vm->kvm.run->kvm_valid_regs |= KVM_SYNC_X86_REGS;
	step_tlb_flush(ps);
	ps->exc.on = vm->caps.hw_breakpoint == PROBE_YES &&
		     !getenv("MICROVM_STEP_NO_EXC_BP");
	ps->mode_stale = true;
	ps->regs_valid = false;
	ps->on = true;
	ps->t0 = util__host_ns();
	step_tsc_start(vm);
	pr_debug("step: KVM_GUESTDBG control %#x, registers %s", ps->control,
		 ps->sync_regs ? "in the run area" : "by KVM_GET_REGS");
	return step_guest_debug(vm, true);
}

void pin_step__stop(struct vm *vm)
{
	if (!vm->step.on)
		return;
	step_guest_debug(vm, false);
	vm->kvm.run->kvm_valid_regs &= ~KVM_SYNC_X86_REGS;
	vm->step.on = false;
}

static u64 step_msr(struct vm *vm, u32 index)
{
	u64 v = 0;

	if (kvm__get_msrs(vm->kvm.vcpu_fd, &index, &v, 1))
		return 0;
	return v;
}

static u64 step_random(void)
{
	u64 v = 0;

	/* A short read leaves zeros: still a value, and it is logged. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		pr_debug("step: getrandom: %s", strerror(errno));
	return v;
}

static void step_write_reg(__u64 *reg, u64 v, u8 opsize)
{
	if (opsize == 8)
		*reg = v;
	else if (opsize == 4)
		*reg = (u32)v;	/* 32-bit writes zero the upper half */
	else
		*reg = (*reg & ~0xffffULL) | (v & 0xffff);
}

/*
 * Execute an instruction the CPU would answer from the host: its value is
 * an input (the "tsc" and "rand" sources), the rest is ours to do.
 */
static int step_emulate(struct vm *vm, const struct insn *in)
{
	struct pin_step *ps = &vm->step;
	struct kvm_regs *r = &ps->regs;
	u64 v;

	switch (in->kind) {
	case INSN_RDTSC:
	case INSN_RDTSCP:
		v = vm_replay__value(vm, VM_REPLAY_TSC, step_tsc(vm));
		r->rax = (u32)v;
		r->rdx = v >> 32;
		if (in->kind == INSN_RDTSCP)
			r->rcx = (u32)step_msr(vm, MSR_TSC_AUX);
		ps->emulated[in->kind == INSN_RDTSC ? 0 : 1]++;
		break;
	default:
		v = vm_replay__value(vm, VM_REPLAY_RAND, step_random());
		step_write_reg(kvm__gpr(r, in->reg), v, in->opsize);
		r->rflags = (r->rflags & ~RFLAGS_RDRAND_CLEAR) | RFLAGS_CF;
		ps->emulated[in->kind == INSN_RDRAND ? 2 : 3]++;
		break;
	}
	r->rip += in->len;
	if (ioctl(vm->kvm.vcpu_fd, KVM_SET_REGS, r) < 0)
		return -errno;
	ps->insns++;
	ps->total_insns++;
	/* KVM sets TF only while RIP is where single-step was asked. */
	ps->rearm = true;
	return 0;
}

/*
 * HLT, done by us.  Under single-step the PVM-backed hosts sometimes halt
 * (KVM_EXIT_HLT) and sometimes only step over it (KVM_EXIT_DEBUG, the
 * halt lost), as host timing has it; KVM itself folds the two into one
 * (the TODO in kvm_emulate_halt()).  A guest-synchronous exit must not
 * depend on the host: RIP goes past it, any STI shadow ends (HLT was the
 * instruction it covered), and the run area says KVM_EXIT_HLT, as KVM
 * reports it with a userspace irqchip.
 */
static int step_halt(struct vm *vm, const struct insn *in)
{
	struct pin_step *ps = &vm->step;
	struct kvm_run *run = vm->kvm.run;
	struct kvm_vcpu_events ev;

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (ev.interrupt.shadow) {
		ev.interrupt.shadow = 0;
		ev.flags = KVM_VCPUEVENT_VALID_SHADOW;
		if (ioctl(vm->kvm.vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return -errno;
	}
	ps->regs.rip += in->len;
	if (ioctl(vm->kvm.vcpu_fd, KVM_SET_REGS, &ps->regs) < 0)
		return -errno;
	/* Whoever handles the exit may change the vCPU: read it again. */
	ps->regs_valid = false;
	run->exit_reason = KVM_EXIT_HLT;
	run->if_flag = !!(ps->regs.rflags & RFLAGS_IF);
	run->ready_for_interrupt_injection = run->if_flag;
	ps->total_insns++;
	ps->halts++;
	/* A synchronous exit: the replay core counts it, we count anew. */
	ps->branches = ps->insns = 0;
	ps->rearm = true;
	return 0;
}

/*
 * SYSCALL, done by us so that the kernel's entry is stepped too (the CPU
 * would clear TF through IA32_FMASK); -EAGAIN: the CPU's to do.
 */
static int step_syscall(struct vm *vm, const struct insn *in)
{
	struct pin_step *ps = &vm->step;
	int ret;

	if (!ps->long_mode)
		return -EAGAIN;
	ret = quirks__syscall(&vm->quirks, &vm->kvm, &ps->regs, in->len);
	if (ret)
		return ret;
	ps->insns++;
	ps->total_insns++;
	ps->syscalls++;
	ps->mode_stale = true;
	ps->rearm = true;	/* RIP moved: KVM sets TF at the new one */
	return 0;
}

bool pin_step__interruptible(struct vm *vm)
{
	struct pin_step *ps = &vm->step;

	if (step_get_regs(vm) || !(ps->regs.rflags & RFLAGS_IF))
		return false;
	return !kvm__in_shadow(&vm->kvm);
}

/*
 * The interrupt-window exit, made here at the first instruction boundary
 * where IF is set and no shadow holds, as VMX and SVM make it.  KVM's own
 * under single-step is a race on the PVM-backed hosts: after a step the
 * debug exit or the window exit comes first by host timing (seen: the
 * same recording's window exit 30 instructions later on replay).
 */
static bool step_window(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	struct pin_step *ps = &vm->step;

	if (!ps->want_window || !pin_step__interruptible(vm))
		return false;
	ps->want_window = false;
	ps->window_made = true;
	run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
	run->if_flag = 1;
	run->ready_for_interrupt_injection = 1;
	ps->branches = ps->insns = 0;
	ps->rearm = true;
	return true;
}

/*
 * --pin=pmu-sim recording, in a free run: a real PMU backend would run
 * this instruction natively, its value the host's, at a position nobody
 * knows.  Say so and stop, as that backend would have to.
 */
static enum pin_exit step_untrappable(struct vm *vm, const struct insn *in)
{
	char why[256];

	snprintf(why, sizeof(why),
		 "pmu-sim: the guest executed %s at rip %#llx during a free run: the PMU backend cannot intercept it (on real counters it would return the host's value, at no known position); record with --pin=step",
		 insn__name(in->kind), (unsigned long long)vm->step.regs.rip);
	pr_err("%s", why);
	vm__stop(vm, VM_EXIT_GUEST_DIED, why);
	return PIN_FAILED;
}

enum pin_exit pin_step__before_run(struct vm *vm)
{
	struct pin_step *ps = &vm->step;
	struct insn in;
	u8 buf[15];
	size_t n;
	int ret;

	ps->pending_branch = false;
	ps->pending_rflags = false;
	if (ps->irq.active)
		return PIN_NOT_OURS;	/* entering the handler, unstepped */
	ret = step_get_regs(vm);
	if (ret)
		goto fail;
	if (step_window(vm))
		return PIN_GUEST_EXIT;
	n = step_fetch(vm, ps->regs.rip, buf);
	insn__decode(buf, n, ps->long_mode, &in);
	switch (in.kind) {
	case INSN_BRANCH:
		ps->pending_branch = true;
		break;
	case INSN_RFLAGS:
		ps->pending_rflags = true;
		break;
	case INSN_FLUSH:
		step_tlb_flush(ps);
		ps->mode_stale = true;	/* MOV CR0 may leave long mode */
		break;
	case INSN_RDTSC:
	case INSN_RDTSCP:
	case INSN_RDRAND:
	case INSN_RDSEED:
		if (vm->pmu.free_running)
			return step_untrappable(vm, &in);
		ret = step_emulate(vm, &in);
		if (ret)
			goto fail;
		return PIN_STEPPED;
	case INSN_SYSCALL:
		ret = step_syscall(vm, &in);
		if (!ret)
			return PIN_STEPPED;
		if (ret != -EAGAIN)
			goto fail;
		break;
	case INSN_HLT:
		ret = step_halt(vm, &in);
		if (ret)
			goto fail;
		return PIN_GUEST_EXIT;
	case INSN_UD:
		/* Delivered by the KVM_RUN below, as if the CPU had faulted. */
		ret = kvm__inject_exception(&vm->kvm, 6);	/* #UD */
		if (ret)
			goto fail;
		break;
	default:
		break;
	}
	if (ps->exc.on && step_exc_update(ps))
		ps->rearm = true;
	if (ps->rearm || !ps->debug_on) {
		ret = step_guest_debug(vm, true);
		if (ret)
			goto fail;
	}
	return PIN_NOT_OURS;
fail:
	pr_err("step: cannot step the guest at rip %#llx: %s",
	       (unsigned long long)ps->regs.rip, strerror(-ret));
	vm__stop(vm, VM_EXIT_GUEST_DIED, "the single-step backend failed");
	return PIN_FAILED;
}

/* The interrupt's entry: HLT at the handler, RIP one past it. */
static enum pin_exit step_irq_entered(struct vm *vm, int ret)
{
	struct pin_step *ps = &vm->step;
	u8 *p = guest_mem__ptr(&vm->kvm.mem, ps->irq.gpa, 1);
	struct kvm_run *run = vm->kvm.run;
	char why[160];

	if (ret < 0)
		return PIN_AGAIN;	/* kicked before entry: still queued */
	if (p)
		*p = ps->irq.saved;
	ps->irq.active = false;
	ps->regs_valid = false;
	ps->mode_stale = true;
	step_tlb_flush(ps);
	if (run->exit_reason == KVM_EXIT_HLT && !step_get_regs(vm) &&
	    ps->regs.rip == ps->irq.handler + 1) {
		ps->regs.rip = ps->irq.handler;
		if (ioctl(vm->kvm.vcpu_fd, KVM_SET_REGS, &ps->regs) < 0)
			return PIN_FAILED;
		ps->irq.handler = 0;
		ps->irqs++;
		ps->rearm = true;
		/*
		 * The entry is a position of its own (a kick may stop the
		 * guest right there, and inputs then go in there): it
		 * counts as an instruction, so that it differs from the
		 * stop before the injection at the same branch count.
		 */
		ps->insns++;
		ps->total_insns++;
		return PIN_STEPPED;
	}
	snprintf(why, sizeof(why),
		 "step: interrupt vector %u did not reach its handler at %#llx (exit reason %u)",
		 ps->irq.vector, (unsigned long long)ps->irq.handler,
		 run->exit_reason);
	pr_err("%s", why);
	vm__stop(vm, VM_EXIT_GUEST_DIED, why);
	return PIN_FAILED;
}

/*
 * A debug exit at an exception handler's breakpoint: the instruction
 * stepped faulted (it did not retire, a branch among them) and the CPU
 * entered the handler with TF cleared.  The entry counts as one
 * instruction, as an interrupt's does; stepping is asked for again.
 */
static bool step_exc_entered(struct vm *vm)
{
	struct pin_step *ps = &vm->step;
	struct kvm_debug_exit_arch *d = &vm->kvm.run->debug.arch;
	unsigned int i;

	if (!ps->exc.on || !(d->dr6 & 0xf))
		return false;
	for (i = 0; i < PIN_STEP_EXC; i++)
		if ((d->dr6 & (1u << i)) && ps->exc.addr[i] == d->pc)
			break;
	if (i == PIN_STEP_EXC)
		return false;
	ps->insns++;
	ps->total_insns++;
	if (i == PIN_STEP_EXC - 1)
		ps->exc.syscalls++;	/* completed by the quirk, counted once */
	else
		ps->exc.entries++;
	ps->rearm = true;
	ps->mode_stale = true;	/* CPL 3 to 0, maybe 32-bit to 64-bit */
	ps->regs_valid = false;
	return true;
}

/*
 * KVM_RUN interrupted by a kick: normally before the instruction ran, an
 * exact position.  Not if RIP moved: unstepped user code ran (the
 * PVM-backed hosts run guest user code natively, out of reach of TF and
 * the debug registers), and where it stopped is no position.
 */
static enum pin_exit step_kicked(struct vm *vm)
{
	struct pin_step *ps = &vm->step;

	if (!ps->sync_regs || vm->kvm.run->s.regs.regs.rip == ps->regs.rip)
		return PIN_STEPPED;
	ps->regs_valid = false;
	ps->rearm = true;
	ps->unstepped_kicks++;
	return PIN_AGAIN;
}

bool pin_step__window_exit(const struct vm *vm)
{
	return quirks__want_exit(&vm->quirks) && vm->quirks.sync_sregs &&
	       vm->kvm.run->s.regs.sregs.cs.dpl == 3;
}

enum pin_exit pin_step__after_run(struct vm *vm, int ret)
{
	struct pin_step *ps = &vm->step;
	struct kvm_run *run = vm->kvm.run;

	if (ps->irq.active)
		return step_irq_entered(vm, ret);
	if (ret < 0)
		return step_kicked(vm);
	if (run->exit_reason == KVM_EXIT_DEBUG && step_exc_entered(vm))
		return PIN_STEPPED;
	if (run->exit_reason == KVM_EXIT_DEBUG) {
		ps->total_insns++;
		ps->user_insns += !(ps->regs.rip >> 47);	/* lower half */
		if (ps->pending_branch) {
			ps->branches++;
			ps->total_branches++;
			ps->insns = 0;
		} else {
			ps->insns++;
		}
		ps->rearm |= ps->pending_rflags;
		if (ps->sync_regs) {
			ps->regs = run->s.regs.regs;
			ps->regs_valid = true;
		} else {
			ps->regs_valid = false;
		}
		return PIN_STEPPED;
	}
	/*
	 * A guest exit: whoever handles it may change registers or mode,
	 * and an exception KVM delivered on the way may have cleared TF
	 * (seen after a #UD in the nested tier): ask for stepping again.
	 */
	if (run->exit_reason == KVM_EXIT_HLT)
		ps->total_insns++;
	/*
	 * A synchronous exit: the replay core counts it, we count anew.  Not
	 * a window exit that completed no SYSCALL (pin_step__window_exit()):
	 * it lands wherever the host stopped unstepped user code.
	 */
	if (run->exit_reason != KVM_EXIT_INTR &&
	    (run->exit_reason != KVM_EXIT_IRQ_WINDOW_OPEN || vm->syscall_completed))
		ps->branches = ps->insns = 0;
	ps->rearm = true;
	ps->regs_valid = false;
	ps->mode_stale = true;
	step_tlb_flush(ps);
	return PIN_NOT_OURS;
}

/* The vector's handler address from the guest's IDT (64-bit gates). */
static int step_idt_handler(struct vm *vm, u32 vector, u64 *handler)
{
	struct kvm_sregs sregs;
	u8 gate[16];

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (!sregs.cs.l || (u64)vector * 16 + 15 > sregs.idt.limit)
		return -ERANGE;
	if (report__read_virt(&vm->kvm, sregs.idt.base + vector * 16, gate,
			      sizeof(gate)) != sizeof(gate))
		return -EFAULT;
	*handler = step_gate_offset(gate);
	return 0;
}

int pin_step__inject(struct vm *vm, u32 vector)
{
	struct pin_step *ps = &vm->step;
	struct kvm_interrupt irq = { .irq = vector };
	u64 handler, gpa;
	u8 *p;
	int ret;

	ret = step_idt_handler(vm, vector, &handler);
	if (ret) {
		pr_err("step: cannot follow interrupt vector %u into the guest: %s",
		       vector, ret == -ERANGE ? "no 64-bit IDT gate for it" :
		       "its IDT entry is not in guest RAM");
		return ret;
	}
	if (report__translate(&vm->kvm, handler, &gpa) ||
	    !(p = guest_mem__ptr(&vm->kvm.mem, gpa, 1))) {
		pr_err("step: interrupt vector %u: its handler %#llx is not mapped",
		       vector, (unsigned long long)handler);
		return -EFAULT;
	}
	ret = step_guest_debug(vm, false);
	if (ret)
		return ret;
	if (ioctl(vm->kvm.vcpu_fd, KVM_INTERRUPT, &irq) < 0)
		return -errno;
	ps->irq.saved = *p;
	*p = HLT_BYTE;
	ps->irq.gpa = gpa;
	ps->irq.handler = handler;
	ps->irq.vector = vector;
	ps->irq.active = true;
	return 0;
}

void pin_step__locate(struct vm *vm, struct replay_pos *pos)
{
	struct pin_step *ps = &vm->step;

	if (step_get_regs(vm))
		return;
	pos->branches = ps->branches;
	pos->rip = ps->regs.rip;
	pos->rcx = ps->regs.rcx;
	pos->insns = ps->insns;
}

void pin_step__report(const struct vm *vm)
{
	const struct pin_step *ps = &vm->step;
	double s = (util__host_ns() - ps->t0) / 1e9;

	if (!ps->t0)
		return;
	pr_info("step: %llu instructions (%llu conditional branches, %llu emulated: rdtsc %llu rdtscp %llu rdrand %llu rdseed %llu; %llu syscalls, %llu interrupts), %.3f s, %.0f steps/s",
		(unsigned long long)ps->total_insns,
		(unsigned long long)ps->total_branches,
		(unsigned long long)(ps->emulated[0] + ps->emulated[1] +
				     ps->emulated[2] + ps->emulated[3]),
		(unsigned long long)ps->emulated[0],
		(unsigned long long)ps->emulated[1],
		(unsigned long long)ps->emulated[2],
		(unsigned long long)ps->emulated[3],
		(unsigned long long)ps->syscalls,
		(unsigned long long)ps->irqs, s, s > 0 ? ps->total_insns / s : 0.0);
	if (ps->exc.on)
		pr_info("step: %llu exception entries and %llu system calls stepped into at hardware breakpoints (#PF, #UD, #GP handlers, SYSCALL entry); %llu instructions stepped in the lower half (user space, for Linux); %llu kicks in unstepped code",
			(unsigned long long)ps->exc.entries,
			(unsigned long long)ps->exc.syscalls,
			(unsigned long long)ps->user_insns,
			(unsigned long long)ps->unstepped_kicks);
	else
		pr_info("step: no hardware breakpoints here: exception handlers run unstepped");
	if (vclock__counted(&vm->clock))
		pr_info("step: guest time %.3f s on the instruction count (%llu ns each), of which %.3f s idle",
			vclock__host_now(&vm->clock) / 1e9,
			(unsigned long long)vm->clock.ns_per,
			vm->clock.warp / 1e9);
}
