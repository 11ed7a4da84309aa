// SPDX-License-Identifier: Apache-2.0
/*
 * The vCPU loop.  Everything that reaches the guest from the host side
 * goes through vcpu_service(), which runs only between two KVM_RUNs:
 * that is the single point the replay core will record and replay.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "insn.h"
#include "quirks.h"
#include "report.h"
#include "vm.h"

#define SIG_KICK SIGUSR1
/* Recording: how long inputs may wait for a synchronous exit. */
#define VCPU_ASYNC_BOUND_NS (2 * 1000 * 1000ULL)
/* A stop that is no place for an input: look again this much later. */
#define VCPU_ASYNC_RETRY_NS (500 * 1000ULL)
/* How long an input may wait for a spinning guest to leave user code. */
#define VCPU_USER_BOUND_NS (50 * 1000 * 1000ULL)
/* How long a stop that shows no progress is taken for an unrun guest. */
#define VCPU_SAME_BOUND_NS (1000 * 1000 * 1000ULL)

/* The run area of the one vCPU, for the kick signal handler. */
static struct kvm_run *volatile kick_run;

static void kick_handler(int sig __maybe_unused)
{
	/*
	 * KVM_CAP_IMMEDIATE_EXIT: if the signal lands just before KVM_RUN is
	 * entered, KVM_RUN returns at once instead of losing the kick.
	 */
	if (kick_run)
		kick_run->immediate_exit = 1;
}

int vcpu__init_kick(struct vm *vm)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) < 0)
		return -errno;
	kick_run = vm->kvm.run;
	vm->vcpu_thread = pthread_self();
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void vcpu__kick(void *opaque)
{
	struct vm *vm = opaque;

	/*
	 * A post from the vCPU thread itself (the sync disk engine) is
	 * released before the next KVM_RUN anyway; a kick would only make
	 * that KVM_RUN return at once for nothing.
	 */
	if (pthread_equal(pthread_self(), vm->vcpu_thread))
		return;
	pthread_kill(vm->vcpu_thread, SIG_KICK);
}

/*
 * The host timer kicks the vCPU at the next virtual timer deadline.  A
 * counted clock's deadlines are instruction counts: the step loop itself
 * sees them come.
 */
static void vcpu_arm_ticker(struct vm *vm)
{
	u64 next = vclock__next_deadline(&vm->clock);

	if (vclock__counted(&vm->clock))
		next = VTIMER_OFF;
	ticker__arm(&vm->ticker,
		    next == VTIMER_OFF ? 0 : vm->clock.host_base + next);
}

/*
 * Release queued events, then the recorded inputs due here (replay), run
 * expired timers, re-arm the host timer.  The order is the same in every
 * mode, so a trace's inputs and clock reads come up in the order they
 * were logged.  false when a replay must stop (diverged, or the end of
 * the recording reached).
 */
static bool vcpu_service(struct vm *vm)
{
	struct event ev;

	/* The one door: each input takes effect here, in queue order. */
	while (evq__pop(&vm->evq, &ev))
		evq__release(&ev);
	if (!vm_replay__release(vm))
		return false;
	vclock__run_expired(&vm->clock);
	vcpu_arm_ticker(vm);
	return vm_replay__continues(vm);
}

/*
 * Single-step: injected where the other backends inject (at a position
 * where inputs went in, or at the interrupt-window exit when IF opens),
 * so that a PMU backend, which sees no steps, finds the same exits; the
 * backend injects so that the handler is stepped too.
 */
static void vcpu_inject_step(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	u32 vector;

	/* The backend makes the window exits itself (pin_step.c). */
	run->request_interrupt_window = pin_step__window_exit(vm);
	vm->step.want_window = false;
	if (vm->step.irq.active || !pic__has_interrupt(&vm->pic))
		return;
	if (!pin_step__interruptible(vm)) {
		vm->step.want_window = true;
		return;
	}
	vector = pic__ack(&vm->pic);
	if (pin_step__inject(vm, vector)) {
		vm__stop(vm, VM_EXIT_GUEST_DIED, "cannot inject interrupts");
		return;
	}
	vm->stats.irqs_injected++;
	/* The next one when the handler opens IF again. */
	vm->step.want_window = pic__has_interrupt(&vm->pic);
}

static void vcpu_inject(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	bool want_exit = quirks__want_exit(&vm->quirks);
	struct kvm_interrupt irq;

	if (vm->step.on) {
		vcpu_inject_step(vm);
		return;
	}
	vm->window_for_irq = false;
	if (!pic__has_interrupt(&vm->pic)) {
		run->request_interrupt_window = want_exit;
		return;
	}
	if (!run->ready_for_interrupt_injection) {
		/* IF=0 or an interrupt shadow: exit as soon as it opens. */
		if (util__get_verbose() >= 2)
			fprintf(stderr, "window requested\n");
		run->request_interrupt_window = 1;
		vm->window_for_irq = true;
		return;
	}
	irq.irq = pic__ack(&vm->pic);
	if (util__get_verbose() >= 2)
		fprintf(stderr, "inject vector %u\n", irq.irq);
	if (ioctl(vm->kvm.vcpu_fd, KVM_INTERRUPT, &irq) < 0) {
		pr_err("KVM_INTERRUPT (vector %u): %s", irq.irq,
		       strerror(errno));
		vm__stop(vm, VM_EXIT_GUEST_DIED, "cannot inject interrupts");
		return;
	}
	vm->stats.irqs_injected++;
	vm->window_for_irq = pic__has_interrupt(&vm->pic);
	run->request_interrupt_window = vm->window_for_irq || want_exit;
}

static bool vcpu_if_set(struct vm *vm)
{
	struct kvm_regs regs;

	if (vm->kvm.run->if_flag)
		return true;
	/* Confirm with the registers before concluding the guest is off. */
	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return false;
	return regs.rflags & (1u << 9);
}

/* Release what is due; false when the replay says stop. */
static bool vcpu_deliver(struct vm *vm)
{
	if (vcpu_service(vm))
		return true;
	vm__stop(vm, VM_EXIT_OK, vm->rp.ended ? "the recording ends here" :
						 vm_replay__why(vm));
	return false;
}

/*
 * At a REP string instruction (MOVS, STOS, ...)?  A kick stops one
 * between two iterations, RIP on it and RCX partly counted down, where a
 * replay's breakpoint (which stops before the first) never is: no place
 * to let an input in (seen with Linux's memset and memcpy).
 */
static bool vcpu_at_rep_string(struct vm *vm)
{
	struct kvm_regs regs;
	struct insn_op op;
	u8 p[15];
	size_t got;

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return false;
	got = report__read_virt(&vm->kvm, regs.rip, p, sizeof(p));
	if (!insn__length(p, got, &op) || op.map || op.vex)
		return false;
	if (!memchr(p, 0xf3, op.prefixes) && !memchr(p, 0xf2, op.prefixes))
		return false;
	return (op.opcode >= 0x6c && op.opcode <= 0x6f) ||
	       (op.opcode >= 0xa4 && op.opcode <= 0xa7) ||
	       (op.opcode >= 0xaa && op.opcode <= 0xaf);
}

/* The registers' digest; 0 if they cannot be read. */
static u64 vcpu_regs_digest(struct vm *vm)
{
	struct kvm_regs regs;

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return replay__hash(&regs, sizeof(regs), 0);
}

/* Recording: inputs went in at an asynchronous stop. */
static void vcpu_note_stop(struct vm *vm)
{
	vm->last_stop.exits = replay__exits(vm->rp.r);
	vm->last_stop.regs = vcpu_regs_digest(vm);
	vm->last_stop.ns = util__host_ns();
}

/*
 * Still at the last asynchronous stop, by all the guest shows: no exit
 * since, the same registers, no page written.  A kick that lands as
 * KVM_RUN enters (after the immediate_exit check of vcpu_unrun()) leaves
 * the guest unrun, and an input let in there would be a second stop at
 * the same state, which a replay does not reach: there the guest runs on
 * from the first (takes the interrupt injected there, or the window
 * exit asked for).  Seen in the nested tier, 2 to 240 ms after the first
 * stop.  A guest that spins where nothing changes (a loop waiting with
 * interrupts off for an input that needs none) looks the same, so this
 * holds only for VCPU_SAME_BOUND_NS.
 */
static bool vcpu_same_stop(struct vm *vm)
{
	return vm->last_stop.regs &&
	       vm->last_stop.exits == replay__exits(vm->rp.r) &&
	       util__host_ns() - vm->last_stop.ns < VCPU_SAME_BOUND_NS &&
	       vm->last_stop.regs == vcpu_regs_digest(vm) &&
	       vm_replay__mem_unchanged(vm);
}

/* Running user code (CPL 3)? */
static bool vcpu_user_mode(struct vm *vm)
{
	struct kvm_sregs s;

	return ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &s) == 0 &&
	       (s.cs.selector & 3) == 3;
}

/*
 * Is where a kick stopped the guest a place a replay can find again?
 * Not:
 *  - right after STI or MOV SS: an input let in there would be injected
 *    after one more instruction, a state a replay's breakpoint (which
 *    executes in place of that instruction) cannot reproduce;
 *  - with an interrupt or exception on its way in (kvm__event_pending():
 *    injected at an exit before the kick, the entry cut short): the
 *    recorded state is "before the handler", but a replay's breakpoint
 *    at RIP hits only after the handler has run and returned, with the
 *    registers the same and memory not (its stack, the entropy pool);
 *  - inside a REP string instruction (vcpu_at_rep_string());
 *  - at the last stop still (vcpu_same_stop());
 *  - in user code, for a while: a replay finds such a stop only by
 *    single-stepping (a HLT byte faults at CPL 3), which is slow, and
 *    whose trap flag a fault or a SYSCALL on the way writes into guest
 *    memory (pin_over.c).  A guest in user mode enters its kernel soon
 *    (a system call, a page fault); one that spins there longer than
 *    VCPU_USER_BOUND_NS gets the input anyway.
 * Elsewhere wait for the next stop.
 */
static bool vcpu_async_place(struct vm *vm, u64 waited)
{
	if (kvm__event_pending(&vm->kvm)) {
		pr_debug("recording: a kick stopped the guest with an event on its way in; waiting for the next stop");
		return false;
	}
	if (kvm__in_shadow(&vm->kvm) || vcpu_at_rep_string(vm) ||
	    vcpu_same_stop(vm))
		return false;
	return waited >= VCPU_USER_BOUND_NS || !vcpu_user_mode(vm);
}

/*
 * Recording, at an asynchronous exit: inputs wait for the next
 * synchronous one, unless the guest has spun without any for a while
 * with an input due (a busy loop waiting for a timer tick): then they are
 * delivered where it stopped, an asynchronous position.
 */
static bool vcpu_async_due(struct vm *vm)
{
	u64 now = util__host_ns();
	u64 next = vclock__next_deadline(&vm->clock);

	if (!vm_replay__urgent(vm) &&
	    (next == VTIMER_OFF || next > vclock__host_now(&vm->clock))) {
		vm->async_since = 0;
		return false;
	}
	if (!vm->async_since)
		vm->async_since = now;
	if (now - vm->async_since < VCPU_ASYNC_BOUND_NS) {
		/* No exit may come at all: the timer thread kicks us again. */
		ticker__arm(&vm->ticker, vm->async_since + VCPU_ASYNC_BOUND_NS);
		return false;
	}
	if (vcpu_async_place(vm, now - vm->async_since))
		return true;
	ticker__arm(&vm->ticker, now + VCPU_ASYNC_RETRY_NS);
	return false;
}

/*
 * Recording exit-pinned: a kick that landed between two KVM_RUNs made the
 * next one return before the guest ran, so the vCPU is where it last
 * stopped.  That is no new position: an input let in there would sit in
 * the trace as a second stop at the same spot, which a replay's
 * breakpoint cannot reach again once the interrupt injected at the first
 * one has gone in (seen in the nested tier: two kicks at one RIP of a
 * Linux delay loop, 4 ms apart, and the replay went past the second).
 * Run on; the timer kicks again if the guest still spins.
 */
static bool vcpu_unrun(struct vm *vm, int ret)
{
	if (ret != -EINTR || !vm->kick_before_entry ||
	    vm->rp.mode != REPLAY_RECORD || vm->step.on || vm->pmu.on)
		return false;
	vm->stats.exits[VM_EXITS_KICK]++;
	/* Due already: the next kick a bound from now, inside KVM_RUN. */
	if (vcpu_async_due(vm))
		ticker__arm(&vm->ticker,
			    util__host_ns() + VCPU_ASYNC_BOUND_NS);
	return true;
}

/*
 * Halted on a counted clock (--clock=insn), where no instruction moves
 * time: with disk requests in flight, wait for them and let the guest's
 * time follow the host's meanwhile (its disk took that long); with none,
 * only a timer can wake it: look for other input once, then jump to the
 * deadline, as QEMU's icount does with sleep=off.
 */
static void vcpu_idle_counted(struct vm *vm, u64 next, u64 now)
{
	u64 t0, waited, timeout = next == VTIMER_OFF ? UINT64_MAX : next - now;

	if (!vm__disks_inflight(vm) && next != VTIMER_OFF &&
	    !evq__count(&vm->evq)) {
		vclock__warp(&vm->clock, timeout);
		return;
	}
	t0 = util__host_ns();
	evq__wait(&vm->evq, timeout);
	waited = util__host_ns() - t0;
	vclock__warp(&vm->clock, MIN(waited, timeout));
}

/* HLT with interrupts enabled: sleep until something can wake the guest. */
static void vcpu_halt(struct vm *vm)
{
	u64 t0 = util__host_ns();

	for (;;) {
		u64 next, now, timeout = UINT64_MAX;
		int idle;

		if (!vcpu_deliver(vm))
			break;
		if (vm->state != VM_RUNNING || pic__has_interrupt(&vm->pic))
			break;
		/* A replay does not wait: the trace says what comes next. */
		idle = vm_replay__idle(vm);
		if (idle < 0) {
			vm__stop(vm, VM_EXIT_OK, "replay stopped");
			break;
		}
		if (idle > 0)
			continue;
		next = vclock__next_deadline(&vm->clock);
		now = vclock__host_now(&vm->clock);
		if (vclock__counted(&vm->clock)) {
			vcpu_idle_counted(vm, next, MIN(next, now));
			continue;
		}
		if (next != VTIMER_OFF)
			timeout = next > now ? next - now : 0;
		evq__wait(&vm->evq, timeout);
	}
	vm->stats.ns_halted += util__host_ns() - t0;
}

#define MSR_IA32_TSC	0x10
#define MSR_TSC_AUX	0xc0000103

static bool vcpu_is_rdtsc_port(const struct vm *vm)
{
	const struct kvm_run *run = vm->kvm.run;

	return vm->kpatched && run->io.direction == KVM_EXIT_IO_IN &&
	       run->io.size == 1 && run->io.count == 1 &&
	       (run->io.port == RDTSC_PATCH_PORT ||
		run->io.port == RDTSCP_PATCH_PORT);
}

/*
 * A read of the RDTSC ports of a rewritten kernel (rdtsc_patch.h): the
 * registers RDTSC (RDTSCP) would set, the value through the "tsc" source.
 * KVM completes the IN on the next KVM_RUN, after it has taken these
 * registers, by merging the data byte into AL: the byte is the value's
 * low one, so AL comes out the same.
 */
static void vcpu_rdtsc_port(struct vm *vm, u8 *data)
{
	const u32 index[2] = { MSR_IA32_TSC, MSR_TSC_AUX };
	bool rdtscp = vm->kvm.run->io.port == RDTSCP_PATCH_PORT;
	u64 msr[2] = { 0, 0 };
	struct kvm_regs r;
	u64 v;

	if (kvm__get_msrs(vm->kvm.vcpu_fd, index, msr, rdtscp ? 2 : 1) ||
	    ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &r) < 0) {
		vm__stop(vm, VM_EXIT_GUEST_DIED,
			 "cannot read the TSC or the registers for an RDTSC");
		return;
	}
	v = vm_replay__value(vm, VM_REPLAY_TSC, msr[0]);
	r.rax = (u32)v;
	r.rdx = v >> 32;
	if (rdtscp)
		r.rcx = (u32)msr[1];
	*data = (u8)v;
	if (ioctl(vm->kvm.vcpu_fd, KVM_SET_REGS, &r) < 0)
		vm__stop(vm, VM_EXIT_GUEST_DIED,
			 "cannot set the registers of an RDTSC");
	vm->rdtsc_reads++;
}

static void vcpu_exit_io(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	u8 *data = (u8 *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	u32 i;

	if (vcpu_is_rdtsc_port(vm)) {
		vcpu_rdtsc_port(vm, data);
		vm->stats.exits[VM_EXITS_PIO]++;
		return;
	}

	/* REP INS/OUTS arrive as one exit with count elements. */
	for (i = 0; i < run->io.count; i++, data += run->io.size)
		bus__access(&vm->bus, BUS_PIO, run->io.port, data, run->io.size,
			    out);
	vm->stats.exits[VM_EXITS_PIO]++;
}

static void vcpu_exit_mmio(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;

	if (run->mmio.len > sizeof(run->mmio.data)) {
		vm__stop(vm, VM_EXIT_GUEST_DIED, "MMIO access wider than 8 bytes");
		return;
	}
	if (bus__access(&vm->bus, BUS_MMIO, run->mmio.phys_addr,
			run->mmio.data, run->mmio.len, run->mmio.is_write) == -ENOENT)
		pr_debug("MMIO %s of %u bytes at %#llx: no device",
			 run->mmio.is_write ? "write" : "read", run->mmio.len,
			 run->mmio.phys_addr);
	vm->stats.exits[VM_EXITS_MMIO]++;
}

static void vcpu_crash(struct vm *vm, const char *why)
{
	char devs[1024];

	vm__dump_devices(vm, devs, sizeof(devs));
	report__crash(&vm->kvm, why, devs);
	vm__stop(vm, VM_EXIT_GUEST_DIED, why);
}

static void vcpu_exit_internal(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	char why[160];

	if (quirks__internal_error(&vm->quirks, &vm->kvm)) {
		vm->stats.exits[VM_EXITS_QUIRK]++;
		return;
	}
	snprintf(why, sizeof(why),
		 "KVM internal error, suberror %u%s (the host could not execute the instruction at RIP)",
		 run->internal.suberror,
		 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			 " (emulation failure)" : "");
	vcpu_crash(vm, why);
}

static void vcpu_handle_exit(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	char why[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(vm);
		break;
	case KVM_EXIT_MMIO:
		vcpu_exit_mmio(vm);
		break;
	case KVM_EXIT_HLT:
		vm->stats.exits[VM_EXITS_HLT]++;
		if (!vcpu_if_set(vm)) {
			/*
			 * Nothing can wake a CPU halted with interrupts off
			 * (there are no NMI sources): it is how Linux powers
			 * off a machine without ACPI.
			 */
			vm__stop(vm, VM_EXIT_OK,
				 "guest powered off (halted with interrupts disabled)");
			break;
		}
		vcpu_halt(vm);
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		vm->stats.exits[VM_EXITS_IRQ_WINDOW]++;
		break;
	case KVM_EXIT_INTR:
		vm->stats.exits[VM_EXITS_KICK]++;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		vm->stats.exits[VM_EXITS_MSR]++;
		if (!quirks__msr_exit(&vm->quirks, &vm->kvm)) {
			/* Only the quirks filter MSRs: anything else is ours. */
			run->msr.error = 1;
		}
		break;
	case KVM_EXIT_SHUTDOWN:
		vcpu_crash(vm, "triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_exit_internal(vm);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why),
			 "VM entry failed, hardware reason %#llx",
			 run->fail_entry.hardware_entry_failure_reason);
		vcpu_crash(vm, why);
		break;
	default:
		snprintf(why, sizeof(why), "unhandled KVM exit reason %u",
			 run->exit_reason);
		vm->stats.exits[VM_EXITS_OTHER]++;
		vcpu_crash(vm, why);
		break;
	}
}

bool vcpu__inputs_due(struct vm *vm)
{
	u64 next;

	if (evq__count(&vm->evq))
		return true;
	next = vclock__next_deadline(&vm->clock);
	return next != VTIMER_OFF && next <= vclock__host_now(&vm->clock);
}

/*
 * Single-step: a stop between two instructions is an exact position, so
 * inputs go in as soon as they are due (recording), or where the trace
 * has them (replay).  false also when the replay has stopped.
 */
static bool vcpu_step_stop(struct vm *vm)
{
	if (!vm_replay__exit(vm, false)) {
		vm__stop(vm, VM_EXIT_OK, vm_replay__why(vm));
		return false;
	}
	if (vm->rp.mode == REPLAY_REPLAY)
		return vm_replay__due(vm);
	return vcpu__inputs_due(vm);
}

/*
 * Did the guest's own instruction cause this exit, so that it happens at
 * the same instruction in every run?  A kick (EINTR, KVM_EXIT_INTR) lands
 * wherever the host happened to stop the guest.
 */
static bool vcpu_exit_sync(struct vm *vm, int ret,
			   const struct kvm_run *run)
{
	if (ret < 0 || run->exit_reason == KVM_EXIT_INTR)
		return false;
	/*
	 * A window asked for only so that a half-done SYSCALL is seen at
	 * once (quirks.h) is not tied to any guest instruction: synchronous
	 * only where it did complete a SYSCALL, or where an interrupt was
	 * waiting for it.  (A native replay once parted from its recording
	 * at a window exit after a HLT wakeup that the recording lacked.)
	 */
	if (run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN && !vm->step.on)
		return vm->window_for_irq || vm->syscall_completed;
	/* Single-step: the backend's own window exits, and the SYSCALL's. */
	if (run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN) {
		bool made = vm->step.window_made;

		vm->step.window_made = false;
		return made || vm->syscall_completed;
	}
	return true;
}

enum vcpu_next {
	VCPU_RUN,	/* enter the guest */
	VCPU_AGAIN,	/* more is due at this very position: release again */
	VCPU_STOP,
};

/* Release and inject what is due before the guest runs on. */
static enum vcpu_next vcpu_prepare(struct vm *vm, bool deliver)
{
	if (deliver) {
		if (!vcpu_deliver(vm) || vm->state != VM_RUNNING)
			return VCPU_STOP;
		/*
		 * A recording may have let inputs in twice at one exact
		 * position (a kick stops before the next instruction): so
		 * does the replay.
		 */
		if (vm->step.on && vm->rp.mode == REPLAY_REPLAY &&
		    vm_replay__due(vm))
			return VCPU_AGAIN;
		vcpu_inject(vm);
		/* located: the delivery logged an asynchronous position. */
		if (vm->rp.mode == REPLAY_RECORD && vm->rp.located && !vm->step.on)
			vcpu_note_stop(vm);
		vm_replay__delivered(vm);
	}
	return VCPU_RUN;
}

/* Single-step backend: true when this stop needs no KVM_RUN. */
static bool vcpu_step_before(struct vm *vm, bool *deliver, bool *have_exit)
{
	switch (pin_step__before_run(vm)) {
	case PIN_STEPPED:	/* emulated: a new position */
		*deliver = vcpu_step_stop(vm);
		return true;
	case PIN_FAILED:	/* the vm is stopped */
		*deliver = false;
		return true;
	case PIN_GUEST_EXIT:	/* HLT, done by the backend */
		*have_exit = true;
		return false;
	default:
		return false;
	}
}

/* Single-step backend: true when the exit was ours, not the guest's. */
static bool vcpu_step_after(struct vm *vm, int ret, bool *deliver)
{
	bool entry = vm->step.irq.active;

	switch (pin_step__after_run(vm, ret)) {
	case PIN_STEPPED:
		if (entry)
			pin_pmu__irq_entered(vm);
		*deliver = vcpu_step_stop(vm);
		return true;
	case PIN_AGAIN:
	case PIN_FAILED:
		*deliver = false;
		return true;
	default:
		return false;
	}
}

/*
 * PMU landing (--pin=pmu-sim): true when the loop goes round; *have_exit
 * when the landing left a guest exit to handle instead of a KVM_RUN.
 */
static bool vcpu_pmu_before(struct vm *vm, bool *deliver, bool *have_exit)
{
	switch (pin_pmu__before_run(vm)) {
	case PIN_STEPPED:
		*deliver = vcpu_step_stop(vm);
		return true;
	case PIN_FAILED:
		*deliver = false;
		return true;
	case PIN_GUEST_EXIT:
		*have_exit = true;
		return false;
	case PIN_AGAIN:
		/*
		 * Recording: a kick with nothing due yet (the host timer can
		 * fire a little early).  Nothing else will kick a guest that
		 * spins without exits: the timer again, for the deadline.
		 */
		vcpu_arm_ticker(vm);
		*deliver = false;
		return true;
	default:
		return false;
	}
}

/* Exit-pinned replay: true when the exit was the breakpoint search's. */
static bool vcpu_search_after(struct vm *vm, int ret, bool *deliver)
{
	switch (vm->pin.armed ? pin__after_run(vm, ret) : PIN_NOT_OURS) {
	case PIN_STEPPED:
		*deliver = false;
		return true;
	case PIN_HIT:
		/* Inputs go in here only if it is the recorded spot. */
		*deliver = vm_replay__at_target(vm);
		if (*deliver)
			pin__found(vm);
		else if (!vm_replay__continues(vm))
			vm__stop(vm, VM_EXIT_OK, vm_replay__why(vm));
		else
			pin__miss(vm);
		return true;
	default:
		return false;
	}
}

int vcpu__kvm_run(struct vm *vm)
{
	u64 t0 = util__host_ns();
	int ret;

	/* A kick already waiting: KVM_RUN returns at once, the guest unrun. */
	vm->kick_before_entry = vm->kvm.run->immediate_exit;
	ret = ioctl(vm->kvm.vcpu_fd, KVM_RUN, 0);
	vm->stats.ns_in_guest += util__host_ns() - t0;
	/*
	 * Only a KVM_RUN the kick interrupted has used it up.  A kick that
	 * lands after KVM_RUN returned for an exit must stay for the next
	 * one: with single-steps returning every few microseconds most
	 * kicks land there, and a guest spinning without exits then never
	 * stopped for its timer (--pin=pmu-sim recording pit-ticks).
	 */
	if (ret < 0 && errno == EINTR)
		vm->kvm.run->immediate_exit = 0;
	if (ret < 0 && errno != EINTR && errno != EAGAIN) {
		pr_err("KVM_RUN: %s", strerror(errno));
		vm__stop(vm, VM_EXIT_GUEST_DIED, "KVM_RUN failed");
		return -EIO;
	}
	/*
	 * Before anything looks at the vCPU: it may be mid-SYSCALL.  (An
	 * MSR exit never is: WRMSR/RDMSR fault at CPL 3.)
	 */
	vm->syscall_completed = quirks__after_exit(&vm->quirks, &vm->kvm);
	return ret < 0 ? -EINTR : ret;
}

void vcpu__run(struct vm *vm)
{
	struct kvm_run *run = vm->kvm.run;
	u64 start = util__host_ns();
	bool deliver = true;

	while (vm->state == VM_RUNNING) {
		enum vcpu_next next;
		bool sync, have_exit;
		int ret;

		/*
		 * Inputs take effect, and interrupts are injected, only at a
		 * position every run reaches the same way when recording or
		 * replaying: a guest-synchronous exit, or an asynchronous
		 * stop pinned by the backend (docs/pinning.md).
		 */
		next = vcpu_prepare(vm, deliver);
		if (next == VCPU_STOP)
			break;
		if (next == VCPU_AGAIN)
			continue;
		have_exit = false;
		if (vm->pmu.on && vcpu_pmu_before(vm, &deliver, &have_exit))
			continue;
		if (!have_exit && vm->step.on &&
		    vcpu_step_before(vm, &deliver, &have_exit))
			continue;
		if (have_exit) {
			ret = 0;
		} else {
			if (!vm->step.on)
				vm_replay__before_run(vm);
			ret = vcpu__kvm_run(vm);
			if (ret == -EIO)
				break;
			if (vm->step.on && vcpu_step_after(vm, ret, &deliver))
				continue;
			if (vcpu_search_after(vm, ret, &deliver))
				continue;
		}
		sync = vcpu_exit_sync(vm, ret, run);
		if (!vm_replay__exit(vm, sync)) {
			vm__stop(vm, VM_EXIT_OK, vm_replay__why(vm));
			break;
		}
		if (sync)
			vm->async_since = 0;
		if (vcpu_unrun(vm, ret)) {
			deliver = false;
			continue;
		}
		/* Single-step positions are exact ones: never at a host's stop. */
		deliver = sync || vm->rp.mode == REPLAY_OFF ||
			  (vm->rp.mode == REPLAY_RECORD && !vm->step.on &&
			   vcpu_async_due(vm));
		if (ret < 0) {
			vm->stats.exits[VM_EXITS_KICK]++;
			continue;
		}
		vcpu_handle_exit(vm);
	}
	vm->stats.ns_total = util__host_ns() - start;
}
