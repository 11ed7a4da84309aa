// SPDX-License-Identifier: Apache-2.0
/*
 * The PMU calibration on a real vCPU (pmu_calib.h): the guest, its vCPU
 * ops for pmu_land.h, and the simulated counter.
 */
#include "pmu_calib.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "insn.h"
#include "probe_vm.h"

#define CALIB_INTERVALS 16
#define CALIB_VECTOR 0x20
#define CALIB_STACK (PROBE_DATA + 0x100000)	/* grows down below 3 MiB */

/*
 * `intervals` times: an OUT exit, then K passes of a counted loop (K
 * conditional branches) and the outer loop's branch, so K + 1 between
 * consecutive exits; HLT after the last.  Interrupts are enabled, and the
 * handler counts them in memory and returns: an injected interrupt adds a
 * VM entry and a far transfer but no conditional branch, so the count
 * stays K + 1.
 */
static const u8 calib_code[] = {
	0xfb,				/* 0x00 sti */
	0xbb, 0x00, 0x00, 0x00, 0x00,	/* 0x01 mov ebx, INTERVALS */
	0xe6, PROBE_PORT,		/* 0x06 1: out PORT, al */
	0xb9, 0x00, 0x00, 0x00, 0x00,	/* 0x08 mov ecx, K */
	0xff, 0xc9,			/* 0x0d 2: dec ecx */
	0x75, 0xfc,			/* 0x0f jnz 2b */
	0xff, 0xcb,			/* 0x11 dec ebx */
	0x75, 0xf1,			/* 0x13 jnz 1b */
	0xf4,				/* 0x15 hlt */
	/* 0x16 handler: inc qword [CALIB_TAKEN]; iretq */
	0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00,
	0x48, 0xcf,
};

#define CALIB_INTERVALS_AT 0x02
#define CALIB_K_AT 0x09
#define CALIB_HANDLER 0x16
#define CALIB_TAKEN_AT 0x1a
#define CALIB_TAKEN (PROBE_DATA + 0x1000)	/* interrupts the guest took */

struct calib {
	struct probe_vm vm;
	const struct pmu_sim *sim;	/* NULL: the perf counter */
	struct pmu_counter perf;
	u64 step_limit;			/* steps in one simulated free run */
	bool vm_up;			/* c->vm was created */
	bool stepping;			/* KVM_GUESTDBG_SINGLESTEP is on */
	bool after_exit;		/* the last stop was an exit */
	u64 exits, injected;
	/* The simulated counter. */
	u64 count, fire_at;
	bool fired;
	char why[160];			/* what an op failed on */
};

static int calib_fail(struct calib *c, int err, const char *fmt, ...)
	__printf(3, 4);

static int calib_fail(struct calib *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return err;
}

/* ---- The simulated counter ------------------------------------------------ */

static int sim_read(void *ctx, u64 *count)
{
	struct calib *c = ctx;

	*count = c->count;
	return 0;
}

static void sim_check_fire(struct calib *c)
{
	if (!c->sim->lost && c->count >= c->fire_at)
		c->fired = true;
}

static int sim_arm(void *ctx, u64 at)
{
	struct calib *c = ctx;

	c->fire_at = at + c->sim->skid;
	c->fired = false;
	sim_check_fire(c);
	return 0;
}

static int sim_disarm(void *ctx)
{
	struct calib *c = ctx;

	c->fire_at = ~0ULL;
	c->fired = false;
	return 0;
}

static bool sim_fired(void *ctx)
{
	struct calib *c = ctx;

	return c->fired;
}

static const struct pmu_counter_ops sim_ops = {
	.read = sim_read, .arm = sim_arm, .disarm = sim_disarm,
	.fired = sim_fired,
};

/* ---- The vCPU --------------------------------------------------------------- */

static int calib_regs(struct calib *c, struct kvm_regs *r)
{
	if (ioctl(c->vm.kvm.vcpu_fd, KVM_GET_REGS, r) < 0)
		return calib_fail(c, -errno, "KVM_GET_REGS: %s", strerror(errno));
	return 0;
}

static int calib_set_step(struct calib *c, bool on)
{
	struct kvm_guest_debug dbg = { 0 };

	if (c->stepping == on)
		return 0;
	if (on)
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (ioctl(c->vm.kvm.vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		return calib_fail(c, -errno, "KVM_SET_GUEST_DEBUG: %s",
				  strerror(errno));
	c->stepping = on;
	return 0;
}

/* At every other exit an interrupt, as the VMM injects at exits. */
static int calib_inject(struct calib *c)
{
	struct kvm_interrupt irq = { .irq = CALIB_VECTOR };
	const struct kvm_run *run = c->vm.kvm.run;

	if (!c->after_exit || c->exits % 2)
		return 0;
	c->after_exit = false;
	if (!run->ready_for_interrupt_injection || !run->if_flag)
		return 0;
	if (ioctl(c->vm.kvm.vcpu_fd, KVM_INTERRUPT, &irq) < 0)
		return calib_fail(c, -errno, "KVM_INTERRUPT: %s", strerror(errno));
	c->injected++;
	return 0;
}

/* 1: the guest's own exit (its port or HLT); 0: a kick; -errno. */
static int calib_classify(struct calib *c, int r, u64 rip)
{
	const struct kvm_run *run = c->vm.kvm.run;

	if (r == -EINTR || r == KVM_EXIT_INTR)
		return 0;
	if (r < 0)
		return calib_fail(c, r, "KVM_RUN: %s", strerror(-r));
	if ((r == KVM_EXIT_IO && run->io.port == PROBE_PORT) ||
	    r == KVM_EXIT_HLT) {
		c->after_exit = true;
		c->exits++;
		return 1;
	}
	return calib_fail(c, -EIO, "unexpected exit %d at %#llx", r,
			  (unsigned long long)rip);
}

/* Is the instruction at rip a conditional branch (decoded, never counted)? */
static bool calib_is_branch(struct calib *c, u64 rip)
{
	const u8 *p = guest_mem__ptr(&c->vm.kvm.mem, rip, 15);
	struct insn in;

	if (!p)
		return false;
	insn__decode(p, 15, true, &in);
	return in.kind == INSN_BRANCH;
}

/*
 * One instruction: *exit when it made the guest's exit instead.  A kick
 * that interrupted KVM_RUN is retried unless RIP moved (then the
 * instruction ran and its trap was lost to the signal).
 */
static int calib_step1(struct calib *c, bool *branch, bool *exit,
		       struct kvm_regs *r)
{
	u64 rip;
	int ret = calib_set_step(c, true);

	if (!ret)
		ret = calib_regs(c, r);
	if (ret)
		return ret;
	rip = r->rip;
	*branch = calib_is_branch(c, rip);
	for (;;) {
		int k = probe_vm__run(&c->vm);

		ret = calib_regs(c, r);
		if (ret)
			return ret;
		if (k == KVM_EXIT_DEBUG) {
			*exit = false;
			return 0;
		}
		ret = calib_classify(c, k, r->rip);
		if (ret < 0)
			return ret;
		*exit = ret == 1;
		if (*exit || r->rip != rip)
			return 0;
	}
}

/* The simulated counter follows what was stepped. */
static void sim_count(struct calib *c, bool branch)
{
	c->count += branch;
	sim_check_fire(c);
}

static int calib_step(void *ctx, struct pmu_vcpu_step *s)
{
	struct calib *c = ctx;
	struct kvm_regs r;
	bool branch, exit;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = calib_step1(c, &branch, &exit, &r);
	if (ret)
		return ret;
	if (c->sim) {
		c->count += c->sim->drift;	/* one VM entry */
		if (!exit)
			sim_count(c, branch);
	}
	s->branch = branch && !exit;
	s->exit = exit;
	s->rip = r.rip;
	s->rcx = r.rcx;
	return 0;
}

/* A free run on the simulated counter: stepped, one VM entry counted. */
static int sim_run(struct calib *c, struct pmu_vcpu_stop *stop,
		   struct kvm_regs *r)
{
	bool branch, exit;
	u64 n;
	int ret;

	c->count += c->sim->drift;
	for (n = 0; n < c->step_limit; n++) {
		ret = calib_step1(c, &branch, &exit, r);
		if (ret)
			return ret;
		if (exit) {
			stop->kind = PMU_VCPU_EXIT;
			return 0;
		}
		sim_count(c, branch);
		if (c->fired) {
			stop->kind = PMU_VCPU_SIGNAL;
			return 0;
		}
	}
	return calib_fail(c, -ETIMEDOUT, "no exit in %llu steps",
			  (unsigned long long)c->step_limit);
}

static int calib_run(void *ctx, struct pmu_vcpu_stop *stop)
{
	struct calib *c = ctx;
	struct kvm_regs r;
	int ret;

	memset(stop, 0, sizeof(*stop));
	ret = calib_inject(c);
	if (ret)
		return ret;
	if (c->sim) {
		ret = sim_run(c, stop, &r);
	} else {
		ret = calib_set_step(c, false);
		if (!ret) {
			int k = probe_vm__run(&c->vm);

			ret = calib_regs(c, &r);
			if (!ret)
				ret = calib_classify(c, k, r.rip);
		}
		if (ret >= 0) {
			stop->kind = ret ? PMU_VCPU_EXIT : PMU_VCPU_SIGNAL;
			ret = 0;
		}
	}
	stop->rip = r.rip;
	stop->rcx = r.rcx;
	return ret;
}

static const struct pmu_vcpu_ops calib_vcpu_ops = {
	.run = calib_run, .step = calib_step,
};

/* ---- Setting up --------------------------------------------------------------- */

/* The IDT's one gate, the stack, and the code's counts. */
static int calib_setup(struct calib *c, u32 intervals, u32 k)
{
	u8 code[sizeof(calib_code)];
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	u64 handler = PROBE_CODE + CALIB_HANDLER, *gate;
	u32 taken = (u32)CALIB_TAKEN;
	int ret;

	memcpy(code, calib_code, sizeof(code));
	memcpy(code + CALIB_INTERVALS_AT, &intervals, sizeof(intervals));
	memcpy(code + CALIB_K_AT, &k, sizeof(k));
	memcpy(code + CALIB_TAKEN_AT, &taken, sizeof(taken));
	ret = probe_vm__create(&c->vm, code, sizeof(code), false);
	if (ret)
		return calib_fail(c, ret, "cannot create the calibration VM: %s",
				  strerror(-ret));
	c->vm_up = true;
	gate = guest_mem__ptr(&c->vm.kvm.mem, PROBE_DATA + CALIB_VECTOR * 16, 16);
	/* 64-bit interrupt gate, present, DPL 0, IST 0. */
	gate[0] = (handler & 0xffff) | (u64)BOOT_CS << 16 | 0x8eULL << 40 |
		  ((handler >> 16) & 0xffff) << 48;
	gate[1] = handler >> 32;
	if (ioctl(c->vm.kvm.vcpu_fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(c->vm.kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return calib_fail(c, -errno, "reading the vCPU: %s", strerror(errno));
	sregs.idt.base = PROBE_DATA;
	sregs.idt.limit = 256 * 16 - 1;
	regs.rsp = CALIB_STACK;
	if (ioctl(c->vm.kvm.vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(c->vm.kvm.vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return calib_fail(c, -errno, "setting up the vCPU: %s",
				  strerror(errno));
	return 0;
}

/* To the first exit, where the first interval begins. */
static int calib_start(struct calib *c, struct pmu_land *l)
{
	struct pmu_vcpu_stop stop;
	int ret, tries;

	for (tries = 0; tries < 100; tries++) {
		c->after_exit = false;
		ret = calib_run(c, &stop);
		if (ret)
			return ret;
		if (stop.kind == PMU_VCPU_EXIT)
			return pmu_land__begin(l, 1, stop.rip, stop.rcx);
	}
	return calib_fail(c, -ETIMEDOUT, "the calibration guest never made its first exit");
}

static int calib_open_counter(struct calib *c, const struct pmu_event *ev)
{
	int ret = pmu__open(&c->perf, ev, (pid_t)syscall(SYS_gettid), PMU_SIGNAL);

	if (ret)
		return calib_fail(c, ret, "cannot open the counter: %s",
				  strerror(-ret));
	return 0;
}

static enum pmu_selftest_verdict calib_verdict(struct calib *c,
					       enum pmu_selftest_verdict v,
					       struct pmu_selftest *res)
{
	const u64 *taken = guest_mem__ptr(&c->vm.kvm.mem, CALIB_TAKEN, 8);
	size_t n = strlen(res->reason);

	if (v == PMU_SELFTEST_ERROR && c->why[0]) {
		snprintf(res->reason + n, sizeof(res->reason) - n, " (%s)", c->why);
	} else if (v == PMU_SELFTEST_OK && (!c->injected || *taken != c->injected)) {
		v = res->verdict = PMU_SELFTEST_GUEST;
		snprintf(res->reason, sizeof(res->reason),
			 "%llu interrupts injected, the guest's handler ran %llu times",
			 (unsigned long long)c->injected, (unsigned long long)*taken);
	} else if (v == PMU_SELFTEST_OK) {
		snprintf(res->reason + n, sizeof(res->reason) - n,
			 ", %llu interrupts injected",
			 (unsigned long long)c->injected);
	}
	return v;
}

enum pmu_selftest_verdict pmu_calib__run(const struct pmu_event *ev,
					 const struct pmu_sim *sim,
					 struct pmu_selftest *res)
{
	u32 margin = sim ? sim->margin : ev->margin;
	/* Room to arm halfway with the whole margin after it. */
	u32 k = MAX(4 * margin, 1000u);
	struct pmu_calib g = { .intervals = CALIB_INTERVALS, .branches = k + 1ULL };
	struct calib *c = calloc(1, sizeof(*c));
	enum pmu_selftest_verdict v = PMU_SELFTEST_ERROR;
	sigset_t set, old;
	struct pmu_land l;
	int ret;

	memset(res, 0, sizeof(*res));
	if (!c) {
		res->verdict = v;
		snprintf(res->reason, sizeof(res->reason), "out of memory");
		return v;
	}
	c->sim = sim;
	c->perf.fd = -1;
	c->fire_at = ~0ULL;
	c->step_limit = 64 * g.branches + 1024;
	sigemptyset(&set);
	sigaddset(&set, PMU_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, &old);
	ret = calib_setup(c, CALIB_INTERVALS, k);
	if (!ret && !sim)
		ret = calib_open_counter(c, ev);
	pmu_land__init(&l, &calib_vcpu_ops, c, sim ? &sim_ops : &pmu__perf_ops,
		       sim ? (void *)c : (void *)&c->perf, margin);
	if (!ret)
		ret = calib_start(c, &l);
	if (ret) {
		res->verdict = v;
		snprintf(res->reason, sizeof(res->reason), "%s", c->why);
	} else {
		v = calib_verdict(c, pmu_land__selftest(&l, &g, res), res);
	}
	pmu__close(&c->perf);
	if (c->vm_up)
		probe_vm__destroy(&c->vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(c);
	return v;
}
