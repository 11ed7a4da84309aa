// SPDX-License-Identifier: Apache-2.0
/* Assembling the machine: KVM, probes, CPUID, boot, devices, threads. */
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../boot/boot.h"
#include "pmu_calib.h"
#include "quirks.h"
#include "vcpu.h"

/*
 * ISA interrupts for the virtio-mmio slots, in slot order: the ones no
 * platform device uses (4 is COM1; 1, 8 and 13 are conventionally taken).
 */
static const unsigned int vm_disk_irqs[VM_MAX_DISKS] = {
	5, 6, 7, 9, 10, 11, 12, 14,
};

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define PIT_IRQ 0
/*
 * How long exit waits for disk requests still in the host after a quit
 * signal; a second signal stops waiting at once.  Data of requests the
 * guest was never told about may be lost then, as on a power cut.
 */
#define VM_DRAIN_AFTER_SIGNAL_NS (3 * NSEC_PER_SEC)

/* Signals that end the VM cleanly; handled by sigwait in one thread. */
static void vm_quit_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void vm__stop(struct vm *vm, int code, const char *why)
{
	if (vm->state != VM_RUNNING)
		return;
	vm->state = VM_STOPPED;
	vm->exit_code = code;
	console__restore();
	if (code == VM_EXIT_OK)
		pr_info("%s", why);
	else
		pr_info("%s (exit status %d)", why, code);
}

static void vm_reset_requested(void *opaque)
{
	vm__stop(opaque, VM_EXIT_OK, "guest requested a reset (reboot)");
}

static void vm_exitport(void *opaque, int code)
{
	char why[64];

	snprintf(why, sizeof(why), "guest wrote %d to the exit port", code);
	vm__stop(opaque, code, why);
}

static u64 vm_disk_base(unsigned int i)
{
	return VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SLOT;
}

/*
 * The user's command line, then one virtio_mmio.device= per disk (how a
 * Linux guest without ACPI finds virtio-mmio devices), then the host
 * workarounds.
 */
static int vm_compose_cmdline(struct vm *vm, bool fixups)
{
	const char *user = vm->cfg.cmdline ? vm->cfg.cmdline : "";
	const char *extra = fixups && vm->cfg.cmdline_fixups ?
				    quirks__cmdline(&vm->caps) : "";
	size_t n, len = sizeof(vm->cmdline);
	unsigned int i;
	int w;

	w = snprintf(vm->cmdline, len, "%s", user);
	n = w < 0 ? len : (size_t)w;
	/* A replay boots with the command line the recording booted with. */
	for (i = 0; i < vm->cfg.ndisks && n < len && !vm->cfg.cmdline_verbatim; i++) {
		w = snprintf(vm->cmdline + n, len - n,
			     "%svirtio_mmio.device=4K@%#llx:%u", n ? " " : "",
			     (unsigned long long)vm_disk_base(i),
			     vm_disk_irqs[i]);
		n += w < 0 ? len : (size_t)w;
	}
	if (n < len && *extra && !vm->cfg.cmdline_verbatim) {
		w = snprintf(vm->cmdline + n, len - n, "%s%s", n ? " " : "",
			     extra);
		n += w < 0 ? len : (size_t)w;
	}
	if (n >= len) {
		pr_err("kernel command line too long (%zu bytes)", n);
		return -E2BIG;
	}
	return 0;
}

/* Say what was added to the user's command line, once the VM starts. */
static void vm_note_fixups(const struct vm *vm)
{
	const char *extra;

	if (!vm->cfg.cmdline_fixups)
		return;
	extra = quirks__cmdline(&vm->caps);
	if (!*extra)
		return;
	pr_info("this host %s; appended \"%s\" to the kernel command line (--no-cmdline-fixups to keep it as given)",
		vm->caps.cpuid_enforced == PROBE_NO ?
			"does not enforce the CPUID policy" :
			"cannot execute some instructions in guests",
		extra);
}

/* Kernel, initrd, zero page and command line into guest RAM. */
static int vm_load(struct vm *vm)
{
	struct boot_config bc = {
		.kernel_path = vm->cfg.kernel,
		.initrd_path = vm->cfg.initrd,
		.cmdline = vm->cmdline,
	};

	return boot__load(&vm->kvm.mem, &bc, &vm->boot);
}

/*
 * Everything that needs the user's files but not KVM: RAM, the kernel,
 * initrd and command line (loaded once without the host workarounds,
 * which need the probes), so that every mistake in them is reported on
 * any host, also one without /dev/kvm.
 */
static int vm_preflight(struct vm *vm)
{
	int ret = kvm__check_mem_size(vm->cfg.mem_size);

	if (!ret)
		ret = kvm__alloc_ram(&vm->kvm, vm->cfg.mem_size);
	if (!ret)
		ret = vm_compose_cmdline(vm, false);
	if (!ret)
		ret = vm_load(vm);
	return ret;
}

/*
 * --pin: auto takes the PMU backend where its self-test passes and the
 * exit-pinned one otherwise, saying which once.  `why`: what stands in
 * the PMU backend's way.
 */
static int vm_pmu_unusable(struct vm *vm, const char *why)
{
	if (vm->cfg.pin == VM_PIN_PMU) {
		pr_err("--pin=pmu: %s (--pin=step gives the same exact positions without a PMU, slowly)",
		       why);
		return -EOPNOTSUPP;
	}
	vm->cfg.pin = VM_PIN_EXIT;
	if (vm->cfg.record || vm->cfg.replay)
		pr_info("positions: exit-pinned (--pin=auto; no PMU backend: %s)", why);
	return 0;
}

/*
 * Before KVM: a host whose counter does not even open is decided here,
 * with the other checks of the user's request.  One whose counter opens
 * is decided by the self-test once KVM is open (vm_pmu_selftest()).
 */
static int vm_pick_pin(struct vm *vm)
{
	struct pmu_probe pp;

	if (vm->cfg.pin != VM_PIN_PMU && vm->cfg.pin != VM_PIN_AUTO)
		return 0;
	pmu__probe(&pp);
	return pp.verdict == PMU_USABLE ? 0 : vm_pmu_unusable(vm, pp.reason);
}

/*
 * The calibration guest (pmu_calib.h) before a counter is trusted; for
 * --pin=pmu-sim on the simulated counter, so that the test mode starts
 * as the real backend does.  The real backend's free runs on the host's
 * counter are not written: no machine of this project has a PMU to run
 * them on, so even a passing self-test ends in the refusal or fallback.
 */
static int vm_pmu_selftest(struct vm *vm)
{
	struct pmu_selftest st;
	struct pmu_cpu cpu;
	struct pmu_sim sim;
	char why[400];

	if (vm->cfg.pin == VM_PIN_PMU_SIM) {
		if (pmu_fault__from_env(&sim))
			return -EINVAL;
		if (sim.no_selftest) {
			pr_info("pmu-sim: self-test skipped (MICROVM_PMU_SIM=noselftest)");
			return 0;
		}
		if (pmu_calib__run(NULL, &sim, &st) != PMU_SELFTEST_OK) {
			pr_err("--pin=pmu-sim: the PMU self-test failed on the simulated counter: %s: %s",
			       pmu_land__selftest_str(st.verdict), st.reason);
			return -EIO;
		}
		pr_info("pmu-sim: self-test: %s", st.reason);
		return 0;
	}
	if (vm->cfg.pin != VM_PIN_PMU && vm->cfg.pin != VM_PIN_AUTO)
		return 0;
	/* vm_pick_pin() found the counter usable, so the table has an event. */
	pmu__host_cpu(&cpu);
	if (pmu_calib__run(pmu__event_for(&cpu), NULL, &st) != PMU_SELFTEST_OK)
		snprintf(why, sizeof(why), "the PMU self-test failed: %s: %s",
			 pmu_land__selftest_str(st.verdict), st.reason);
	else
		snprintf(why, sizeof(why),
			 "the PMU self-test passed (%s), but free runs on a real counter are not implemented",
			 st.reason);
	return vm_pmu_unusable(vm, why);
}

/*
 * Exit-pinned record and replay: the kernel's RDTSCs become port reads
 * (rdtsc_patch.h), after the last load and once the backend is known.
 */
static int vm_patch_rdtsc(struct vm *vm)
{
	struct rdtsc_patch *kp = &vm->kpatch;
	int ret;

	if (!vm->cfg.rdtsc_patch || vm->cfg.pin != VM_PIN_EXIT ||
	    !(vm->cfg.record || vm->cfg.replay))
		return 0;
	ret = rdtsc_patch__scan(vm->cfg.kernel, kp, NULL, NULL);
	if (ret)
		return ret;
	if (kp->none) {
		pr_warn("kernel %s: its RDTSC instructions cannot be trapped: %s; a guest that reads the TSC (Linux does) will not replay where it did",
			vm->cfg.kernel, kp->none);
		return 0;
	}
	if (kp->nbad)
		pr_debug("rdtsc: %u functions not walked (the first at %#llx): an instruction length not decoded",
			 kp->nbad, (unsigned long long)kp->bad_vaddr);
	if (rdtsc_patch__apply(kp, &vm->kvm.mem)) {
		pr_err("kernel %s changed while it was loaded (an RDTSC site no longer holds one)",
		       vm->cfg.kernel);
		return -EIO;
	}
	vm->kpatched = kp->nsites > 0;
	pr_info("rdtsc: %u RDTSC/RDTSCP sites of the kernel read ports 0x%x/0x%x instead (%u functions walked, %u not)",
		kp->nsites, RDTSC_PATCH_PORT, RDTSCP_PATCH_PORT, kp->nfuncs,
		kp->nbad);
	return 0;
}

static int vm_setup_kvm(struct vm *vm)
{
	int ret = kvm__open(&vm->kvm);

	if (ret)
		return ret;
	probe__quick(&vm->caps);
	ret = vm_pmu_selftest(vm);
	if (ret)
		return ret;
	/*
	 * The single-step backend breaks on exception handlers where the
	 * host has hardware breakpoints.  Probed here, before any thread
	 * can interrupt the probe's KVM_CREATE_VM with a kick.
	 */
	if (vm->cfg.pin == VM_PIN_STEP || vm->cfg.pin == VM_PIN_PMU_SIM ||
	    vm->cfg.replay)
		probe__hw_breakpoint(&vm->caps);
	ret = kvm__create_vm(&vm->kvm);
	if (ret)
		return ret;
	quirks__init(&vm->quirks, &vm->kvm, &vm->caps);
	ret = cpuid__build(vm->kvm.sys_fd, vm->cfg.cpu_policy,
			   vm->caps.cpuid_enforced != PROBE_NO, &vm->cpuid);
	if (!ret)
		ret = cpuid__apply(vm->kvm.vcpu_fd, &vm->cpuid);
	if (!ret)
		ret = kvm__enforce_pv_cpuid(&vm->kvm);
	if (ret < 0)
		return ret;
	vm->pv_cpuid_enforced = ret == 1;
	/* The workarounds the probes asked for change the command line. */
	if (vm->cfg.cmdline_fixups && !vm->cfg.cmdline_verbatim &&
	    *quirks__cmdline(&vm->caps)) {
		ret = vm_compose_cmdline(vm, true);
		if (!ret)
			ret = vm_load(vm);
		if (ret)
			return ret;
	}
	ret = vm_patch_rdtsc(vm);
	if (ret)
		return ret;
	pr_debug("%s kernel at %#llx-%#llx, entry %#llx, initrd %llu bytes at %#llx",
		 vm->boot.format, (unsigned long long)vm->boot.kernel_start,
		 (unsigned long long)vm->boot.kernel_end,
		 (unsigned long long)vm->boot.entry,
		 (unsigned long long)vm->boot.initrd_size,
		 (unsigned long long)vm->boot.initrd_start);
	return boot__setup_vcpu(vm->kvm.vcpu_fd, &vm->boot);
}

static struct irq_line vm_irq(struct vm *vm, unsigned int irq)
{
	return (struct irq_line){ pic__set_irq, &vm->pic, irq };
}

/* Guest output: into the serial digest, then to the console. */
static void vm_uart_tx(void *ctx, const u8 *buf, size_t len)
{
	struct vm *vm = ctx;

	vm_replay__tx(vm, buf, len);
	console__tx(&vm->console, buf, len);
}

static int vm_setup_devices(struct vm *vm)
{
	int ret;

	pic__init(&vm->pic);
	pit__init(&vm->pit, &vm->clock, vm_irq(vm, PIT_IRQ));
	/*
	 * The RTC's wall time at boot: the host's now unless --rtc-epoch
	 * fixes it, so two runs can see the same date (the trace records it).
	 */
	if (!vm->cfg.rtc_epoch_set)
		vm->cfg.rtc_epoch = (s64)time(NULL);
	rtc__init(&vm->rtc, &vm->clock, vm->cfg.rtc_epoch);
	uart__init(&vm->uart, vm_irq(vm, COM1_IRQ), vm_uart_tx, vm);
	i8042__init(&vm->kbc, vm_reset_requested, vm);
	exitport__init(&vm->exitport, vm_exitport, vm);

	ret = pic__register(&vm->pic, &vm->bus);
	if (!ret)
		ret = pit__register(&vm->pit, &vm->bus);
	if (!ret)
		ret = rtc__register(&vm->rtc, &vm->bus);
	if (!ret)
		ret = uart__register(&vm->uart, &vm->bus, COM1_BASE);
	if (!ret)
		ret = i8042__register(&vm->kbc, &vm->bus);
	if (!ret)
		ret = exitport__register(&vm->exitport, &vm->bus);
	if (ret)
		pr_err("cannot register the platform devices: %s",
		       strerror(-ret));
	return ret;
}

static int vm_setup_disks(struct vm *vm)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vm->cfg.ndisks; i++) {
		const struct vm_disk_config *dc = &vm->cfg.disks[i];

		ret = disk__open(&vm->disks[i], dc->path, dc->ro || dc->snapshot,
				 dc->engine, &vm->evq);
		if (!ret && dc->snapshot && !dc->ro)
			ret = disk__snapshot(&vm->disks[i]);
		if (ret)
			return ret;
		vm->ndisks++;
		ret = virtio_blk__init(&vm->blks[i], &vm->disks[i],
				       dc->has_id ? dc->id : NULL,
				       vm_disk_base(i), vm_irq(vm, vm_disk_irqs[i]),
				       &vm->kvm.mem);
		if (!ret)
			ret = virtio_blk__register(&vm->blks[i], &vm->bus);
		if (ret) {
			pr_err("disk %s: cannot set up its virtio-blk device: %s",
			       dc->path, strerror(-ret));
			return ret;
		}
		pr_debug("disk %s: /dev/vd%c, %llu MiB, %s, engine %s",
			 dc->path, 'a' + i,
			 (unsigned long long)(vm->disks[i].size / MiB),
			 dc->ro ? "read-only" : "read-write",
			 disk__engine_name(&vm->disks[i]));
	}
	return 0;
}

/* The quit signals' source: SIGINT, SIGTERM, SIGHUP end the VM. */
static void vm_signal_release(void *ctx, const struct event *ev)
{
	struct vm *vm = ctx;

	vm->signals++;
	vm->quit_by_user = true;
	vm__stop(vm, 128 + (int)ev->arg, strsignal((int)ev->arg));
}

static void vm_console_quit(void *ctx)
{
	struct vm *vm = ctx;

	vm->quit_by_user = true;
	vm__stop(vm, VM_EXIT_OK, "quit from the console");
}

static int vm_setup_queue(struct vm *vm)
{
	int ret = evq__init(&vm->evq);

	vm->signal_src = (struct evq_source){
		.name = "signal",
		.release = vm_signal_release,
		.ctx = vm,
		.quota = 1,
		.coalesce = true,	/* the first signal decides */
	};
	if (!ret)
		ret = evq__add_source(&vm->evq, &vm->signal_src);
	if (ret)
		pr_err("cannot create the event queue: %s", strerror(-ret));
	return ret;
}

/*
 * Guest time.  Under single-step a guest runs some ten thousand times
 * slower than on a CPU: on the host's clock its timer ticks then take
 * nearly every step (a Linux boot measured: 104,568 ticks, 1,500
 * instructions each, in 156 M steps, never reaching /init).  So --pin=step
 * counts time in instructions unless told otherwise.  A replay's time is
 * the trace's, whatever the clock.
 */
static int vm_pick_clock(struct vm *vm)
{
	struct vm_config *c = &vm->cfg;

	if (c->clock == VM_CLOCK_INSN && c->pin != VM_PIN_STEP) {
		pr_err("--clock=insn needs --pin=step: only the single-step backend sees every instruction");
		return -EINVAL;
	}
	if (c->clock == VM_CLOCK_DEFAULT)
		c->clock = c->pin == VM_PIN_STEP && !c->replay ?
				   VM_CLOCK_INSN : VM_CLOCK_HOST;
	if (c->clock == VM_CLOCK_INSN && !c->clock_ns)
		c->clock_ns = VM_CLOCK_INSN_NS;
	return 0;
}

int vm__init(struct vm *vm, const struct vm_config *cfg)
{
	sigset_t set;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->kvm.sys_fd = vm->kvm.vm_fd = vm->kvm.vcpu_fd = -1;
	vm->ticker.tfd = vm->ticker.stop_fd = -1;
	bus__init(&vm->bus);

	/*
	 * Block the quit signals and the kick in this thread before any
	 * other thread exists, so every thread inherits the mask; the
	 * signal thread takes the former, the vCPU thread the latter.
	 */
	vm_quit_signals(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* The user's files first: their errors need no KVM to be told. */
	ret = vm_pick_pin(vm);
	if (!ret)
		ret = vm_pick_clock(vm);
	if (!ret)
		ret = vm_setup_queue(vm);
	if (!ret)
		ret = vm_preflight(vm);
	if (!ret) {
		vclock__init(&vm->clock, false);
		ret = ticker__init(&vm->ticker, &vm->evq);
	}
	if (!ret)
		ret = vm_setup_devices(vm);
	if (!ret)
		ret = vm_setup_disks(vm);
	if (!ret)
		ret = vm_setup_kvm(vm);
	if (!ret)
		ret = console__init(&vm->console, &vm->evq, &vm->uart,
				    vm_console_quit, vm);
	if (!ret)
		ret = vm_replay__start(vm);
	return ret;
}

static void *vm_signal_thread(void *opaque)
{
	struct vm *vm = opaque;
	sigset_t set;
	int sig;

	vm_quit_signals(&set);
	for (;;) {
		struct event ev = { .src = &vm->signal_src };

		if (sigwait(&set, &sig))
			continue;
		ev.arg = (u64)sig;
		evq__post(&vm->evq, &ev);
	}
	return NULL;
}

int vm__run(struct vm *vm)
{
	int ret;

	ret = vcpu__init_kick(vm);
	if (ret) {
		pr_err("cannot set up the vCPU kick signal: %s", strerror(-ret));
		return VM_EXIT_SETUP;
	}
	evq__set_kick(&vm->evq, vcpu__kick, vm);
	if (pthread_create(&vm->signal_thread, NULL, vm_signal_thread, vm) == 0)
		vm->signal_thread_started = true;
	/* A replay takes its console input from the trace, not from stdin. */
	if (ticker__start(&vm->ticker) ||
	    (!vm->cfg.replay && console__start(&vm->console)))
		return VM_EXIT_SETUP;
	vm_note_fixups(vm);
	vm->state = VM_RUNNING;
	if ((vm->cfg.pin == VM_PIN_STEP || vm->cfg.pin == VM_PIN_PMU_SIM) &&
	    pin_step__start(vm))
		return VM_EXIT_SETUP;
	if (vm->cfg.pin == VM_PIN_PMU_SIM && pin_pmu__start(vm))
		return VM_EXIT_SETUP;
	vclock__rebase(&vm->clock);	/* virtual time 0: the first instruction */
	if (vm->cfg.clock == VM_CLOCK_INSN)
		vclock__count(&vm->clock, &vm->step.total_insns,
			      vm->cfg.clock_ns);
	vcpu__run(vm);
	pin_step__report(vm);
	pin_pmu__report(vm);
	/* The end's position is an exact one: while still stepping. */
	ret = vm_replay__finish(vm, vm->exit_code);
	pin_step__stop(vm);
	return ret;
}

u64 vm__disks_inflight(const struct vm *vm)
{
	u64 n = 0;

	for (unsigned int i = 0; i < vm->ndisks; i++)
		n += vm->disks[i].inflight;
	return n;
}

/*
 * Let every request in the host finish, so that data the host accepted
 * reaches the image, by releasing completions as the run loop would.
 * Engine threads never block posting them (each disk's quota covers what
 * it has in flight), and the signal thread still runs: after a quit
 * signal the wait is bounded, and another signal ends it at once.
 * Returns false when requests were left behind.
 */
static bool vm_drain_disks(struct vm *vm)
{
	u64 start = util__host_ns(), signals = vm->signals;
	bool by_signal = vm->exit_code > 128;
	struct event ev;

	vm_replay__flush_held(vm);
	while (vm__disks_inflight(vm)) {
		if (vm->signals != signals ||
		    (by_signal && util__host_ns() - start > VM_DRAIN_AFTER_SIGNAL_NS)) {
			pr_warn("exiting with %llu disk requests still in the host (the guest was never told they completed)",
				(unsigned long long)vm__disks_inflight(vm));
			return false;
		}
		evq__wait(&vm->evq, 100 * 1000 * 1000);
		while (evq__pop(&vm->evq, &ev))
			evq__release(&ev);
		vm_replay__flush_held(vm);
	}
	return true;
}

static void vm_exit_disks(struct vm *vm)
{
	unsigned int i;

	if (!vm_drain_disks(vm)) {
		/*
		 * An engine thread is stuck in the host (a hung NFS server):
		 * joining it would hang too.  The process is about to exit,
		 * which ends it; leave the disks and the queue alone.
		 */
		vm->abandoned = true;
		return;
	}
	for (i = 0; i < vm->ndisks; i++) {
		virtio_blk__exit(&vm->blks[i]);
		disk__close(&vm->disks[i]);
	}
	vm->ndisks = 0;
}

void vm__exit(struct vm *vm)
{
	console__stop(&vm->console);
	console__restore();
	if (vm->ticker.tfd >= 0)
		ticker__stop(&vm->ticker);
	/* Before the signal thread goes: a signal may cut the drain short. */
	vm_exit_disks(vm);
	if (vm->signal_thread_started) {
		pthread_cancel(vm->signal_thread);
		pthread_join(vm->signal_thread, NULL);
		vm->signal_thread_started = false;
	}
	if (vm->abandoned)
		return;
	vm_replay__free(vm);
	rdtsc_patch__free(&vm->kpatch);
	/* Every producer thread has stopped: the queue can go. */
	evq__exit(&vm->evq);
	kvm__close(&vm->kvm);
}

/* Append one device's dump, each of its lines indented. */
static size_t vm_dump_lines(char *buf, size_t len, size_t n, const char *text)
{
	for (; *text && n + 4 < len; text++) {
		if (n == 0 || buf[n - 1] == '\n') {
			buf[n++] = ' ';
			buf[n++] = ' ';
		}
		buf[n++] = *text;
	}
	if (n + 1 < len)
		buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

void vm__dump_devices(const struct vm *vm, char *buf, size_t len)
{
	char line[512];
	size_t n = 0;

	buf[0] = '\0';
	pic__dump(&vm->pic, line, sizeof(line));
	n = vm_dump_lines(buf, len, n, line);
	pit__dump(&vm->pit, line, sizeof(line));
	n = vm_dump_lines(buf, len, n, line);
	uart__dump(&vm->uart, line, sizeof(line));
	vm_dump_lines(buf, len, n, line);
}

void vm__print_stats(const struct vm *vm)
{
	static const char *const names[VM_EXITS_NR] = {
		"pio", "mmio", "hlt", "irq_window", "kick", "quirk", "msr",
		"other",
	};
	const struct vm_stats *s = &vm->stats;
	double secs = s->ns_total / 1e9;
	u64 vmm_ns = s->ns_total - s->ns_in_guest - s->ns_halted;
	u64 total = 0;
	unsigned int i;

	for (i = 0; i < VM_EXITS_NR; i++)
		total += s->exits[i];
	fprintf(stderr, "microvm: stats: wall_s=%.3f exits=%llu exits_per_s=%.0f irqs=%llu\n",
		secs, (unsigned long long)total, secs > 0 ? total / secs : 0,
		(unsigned long long)s->irqs_injected);
	fprintf(stderr, "microvm: stats: in_guest_s=%.3f halted_s=%.3f vmm_s=%.3f vmm_share=%.4f\n",
		s->ns_in_guest / 1e9, s->ns_halted / 1e9, vmm_ns / 1e9,
		s->ns_total ? (double)vmm_ns / s->ns_total : 0.0);
	fprintf(stderr, "microvm: stats: exits_by_kind");
	for (i = 0; i < VM_EXITS_NR; i++)
		fprintf(stderr, " %s=%llu", names[i],
			(unsigned long long)s->exits[i]);
	fprintf(stderr, "\n");
	if (vm->quirks.completed || vm->quirks.syscalls_fixed)
		fprintf(stderr, "microvm: stats: host_workarounds instructions_completed=%llu syscalls_completed=%llu\n",
			(unsigned long long)vm->quirks.completed,
			(unsigned long long)vm->quirks.syscalls_fixed);
}
