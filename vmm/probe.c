// SPDX-License-Identifier: Apache-2.0
/*
 * Host probes: each runs a few bytes of 64-bit code in a throwaway VM and
 * watches how the host answers.  The VMM acts on these answers (quirks.c)
 * instead of on assumptions about the host.
 */
#include "probe.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "probe_vm.h"

#define PROBE_MAX_EXITS 64
#define PROBE_LOOP_ITERS 200000u

static int probe_set_cr4_bit(struct probe_vm *p, u64 bit)
{
	struct kvm_sregs s;

	if (ioctl(p->kvm.vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr4 |= bit;
	/* No IDT at all: any exception becomes a triple fault (SHUTDOWN). */
	s.idt.base = 0;
	s.idt.limit = 0;
	if (ioctl(p->kvm.vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	return 0;
}

/*
 * CPUID leaf (its four bytes, low first) with ECX 0, then ECX and EDX out
 * to PROBE_PORT, in that order.
 */
#define PROBE_CPUID_OUT(b0, b1, b2, b3)					\
		0xb8, b0, b1, b2, b3,		/* mov eax, leaf */	\
		0x31, 0xc9,			/* xor ecx, ecx */	\
		0x0f, 0xa2,			/* cpuid */		\
		0x89, 0xd6,			/* mov esi, edx */	\
		0x89, 0xcf,			/* mov edi, ecx */	\
		0x66, 0xba, PROBE_PORT, 0x00,	/* mov dx, PROBE_PORT */\
		0x89, 0xf8,			/* mov eax, edi */	\
		0xef,				/* out dx, eax */	\
		0x89, 0xf0,			/* mov eax, esi */	\
		0xef				/* out dx, eax */

static void probe_cpuid(struct host_caps *caps)
{
	static const u8 code[] = {
		PROBE_CPUID_OUT(0x01, 0x00, 0x00, 0x00),
		PROBE_CPUID_OUT(0x01, 0x00, 0x00, 0x80),
		0xf4,				/* hlt */
	};
	const struct kvm_cpuid_entry2 *l1;
	struct probe_vm p;
	u32 vals[4];
	int n = 0, i, r;

	if (probe_vm__create(&p, code, sizeof(code), true))
		return;
	for (i = 0; i < PROBE_MAX_EXITS; i++) {
		struct kvm_run *run = p.kvm.run;

		r = probe_vm__run(&p);
		if (r != KVM_EXIT_IO)
			break;
		if (run->io.port == PROBE_PORT && run->io.size == 4 && n < 4)
			memcpy(&vals[n++], (u8 *)run + run->io.data_offset, 4);
	}
	if (n == 4) {
		caps->seen_x1_ecx = vals[2];
		caps->seen_x1_edx = vals[3];
	}
	if (n == 4 && (l1 = cpuid__find(&p.cpuid, 1, 0))) {
		/* OSXSAVE (ECX bit 27) mirrors CR4, not the policy. */
		u32 extra_ecx = vals[0] & ~l1->ecx & ~(1u << 27);
		u32 extra_edx = vals[1] & ~l1->edx;

		caps->seen_l1_ecx = vals[0];
		caps->seen_l1_edx = vals[1];
		caps->cpuid_enforced = (extra_ecx || extra_edx) ? PROBE_NO :
								    PROBE_YES;
	}
	probe_vm__destroy(&p);
}

#define CR4_FSGSBASE (1ULL << 16)
#define CR4_OSXSAVE (1ULL << 18)

struct insn_probe {
	const char *name;
	u8 code[16];
	u8 len;
	u64 cr4;		/* CR4 bits the instruction needs */
	bool faults;		/* succeeds by faulting (INT3) */
};

/*
 * Each snippet ends in HLT when the instruction executes.  Memory operands
 * point at PROBE_DATA (0x200000, 64-byte aligned for XSAVE).
 */
static const struct insn_probe insn_probes[PROBE_INSN_NR] = {
	[PROBE_INSN_INT3] = { "INT3 (64-bit mode)", { 0xcc, 0xf4 }, 2, 0, true },
	[PROBE_INSN_XSAVE] = { "XSAVE",
			       { 0x31, 0xd2, 0xb8, 0x01, 0x00, 0x00, 0x00,
				 0x0f, 0xae, 0x24, 0x25, 0x00, 0x00, 0x20,
				 0x00, 0xf4 }, 16,
			       CR4_OSXSAVE, false },
	[PROBE_INSN_POPCNT] = { "POPCNT", { 0xf3, 0x48, 0x0f, 0xb8, 0xc0, 0xf4 },
				6, 0, false },
	[PROBE_INSN_MOVBE] = { "MOVBE",
			       { 0x0f, 0x38, 0xf0, 0x04, 0x25, 0x00, 0x00,
				 0x20, 0x00, 0xf4 }, 10,
			       0, false },
	[PROBE_INSN_RDFSBASE] = { "RDFSBASE (FSGSBASE)",
				  { 0xf3, 0x48, 0x0f, 0xae, 0xc0, 0xf4 }, 6,
				  CR4_FSGSBASE, false },
	[PROBE_INSN_TZCNT] = { "TZCNT (BMI1)",
			       { 0xf3, 0x48, 0x0f, 0xbc, 0xc0, 0xf4 }, 6,
			       0, false },
	[PROBE_INSN_SHLX] = { "SHLX (BMI2)",
			      { 0xc4, 0xe2, 0xf9, 0xf7, 0xc0, 0xf4 }, 6,
			      0, false },
	[PROBE_INSN_LZCNT] = { "LZCNT (ABM)",
			       { 0xf3, 0x48, 0x0f, 0xbd, 0xc0, 0xf4 }, 6,
			       0, false },
	[PROBE_INSN_FWAIT] = { "FWAIT", { 0x9b, 0xf4 }, 2, 0, false },
};

const char *probe__insn_name(enum probe_insn insn)
{
	return insn < PROBE_INSN_NR ? insn_probes[insn].name : "?";
}

/*
 * With no IDT, a real #BP (or the #UD of an instruction the CPU lacks)
 * becomes a triple fault (SHUTDOWN); an instruction the host's emulator
 * cannot execute gives KVM_EXIT_INTERNAL_ERROR instead.  Either way a
 * guest that is told the feature exists (an unenforced CPUID policy) must
 * not use it, so both answer NO.
 */
static enum probe_answer probe_insn(const struct insn_probe *ip)
{
	enum probe_answer ans = PROBE_UNKNOWN;
	struct probe_vm p;
	int r;

	if (probe_vm__create(&p, ip->code, ip->len, false))
		return PROBE_UNKNOWN;
	if (probe_set_cr4_bit(&p, ip->cr4) == 0) {
		r = probe_vm__run(&p);
		if (r == (ip->faults ? KVM_EXIT_SHUTDOWN : KVM_EXIT_HLT))
			ans = PROBE_YES;
		else if (r == KVM_EXIT_INTERNAL_ERROR || r == KVM_EXIT_SHUTDOWN)
			ans = PROBE_NO;
	}
	probe_vm__destroy(&p);
	return ans;
}

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define EFER_SCE 1ULL
#define PTE_USER 0x4ULL
#define PROBE_KERNEL_ENTRY (PROBE_CODE + 0x100)

/* Let CPL 3 use the probe's identity map (the loader's has no U bit). */
static void probe_user_pages(struct probe_vm *p)
{
	u64 *pt = guest_mem__ptr(&p->kvm.mem, BOOT_PML4_ADDR,
				 (BOOT_PD_ADDR + BOOT_PD_COUNT * 4096) -
					 BOOT_PML4_ADDR);
	size_t i, n = ((BOOT_PD_ADDR + BOOT_PD_COUNT * 4096) -
		       BOOT_PML4_ADDR) / 8;

	for (i = 0; i < n; i++)
		if (pt[i] & 1)
			pt[i] |= PTE_USER;
}

static int probe_set_msrs(struct probe_vm *p)
{
	static const u32 index[] = { MSR_STAR, MSR_LSTAR, MSR_SFMASK };
	const u64 value[] = {
		(0x23ULL << 48) | ((u64)BOOT_CS << 32),
		PROBE_KERNEL_ENTRY,
		0x200, /* IF, as Linux does */
	};

	return kvm__set_msrs(p->kvm.vcpu_fd, index, value, ARRAY_SIZE(index));
}

/* Start the vCPU at CPL 3 on the probe code. */
static int probe_enter_user(struct probe_vm *p)
{
	struct kvm_sregs s;

	if (ioctl(p->kvm.vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.efer |= EFER_SCE;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cs.selector = 0x33;
	s.cs.dpl = 3;
	s.ss.selector = 0x2b;
	s.ss.dpl = 3;
	s.ds = s.es = s.ss;
	return ioctl(p->kvm.vcpu_fd, KVM_SET_SREGS, &s) < 0 ? -1 : 0;
}

/*
 * A ring-3 SYSCALL must land at LSTAR in ring 0, where the HLT there is
 * legal.  If the host only jumps (CPL stays 3), that HLT raises #GP and,
 * with no IDT, the probe triple-faults.
 */
static void probe_syscall(struct host_caps *caps)
{
	static const u8 code[] = { 0x0f, 0x05, 0xeb, 0xfe }; /* syscall; jmp . */
	struct kvm_sregs s;
	struct probe_vm p;
	u8 *entry;
	int r;

	if (probe_vm__create(&p, code, sizeof(code), false))
		return;
	entry = guest_mem__ptr(&p.kvm.mem, PROBE_KERNEL_ENTRY, 1);
	*entry = 0xf4;
	probe_user_pages(&p);
	if (probe_set_msrs(&p) || probe_enter_user(&p))
		goto out;
	r = probe_vm__run(&p);
	if (r == KVM_EXIT_HLT && ioctl(p.kvm.vcpu_fd, KVM_GET_SREGS, &s) == 0 &&
	    s.cs.dpl == 0)
		caps->syscall_to_cpl0 = PROBE_YES;
	else if (r >= 0)
		caps->syscall_to_cpl0 = PROBE_NO;
out:
	probe_vm__destroy(&p);
}

static void probe_insns(struct host_caps *caps)
{
	unsigned int i;

	for (i = 0; i < PROBE_INSN_NR; i++)
		caps->insn[i] = probe_insn(&insn_probes[i]);
}

static void probe_speed(struct host_caps *caps)
{
	static const u8 code[] = {
		0xb9, PROBE_LOOP_ITERS & 0xff, (PROBE_LOOP_ITERS >> 8) & 0xff,
		(PROBE_LOOP_ITERS >> 16) & 0xff, 0x00, /* mov ecx, N */
		0xff, 0xc9,			/* 1: dec ecx */
		0x75, 0xfc,			/* jnz 1b */
		0xf4,				/* hlt */
	};
	struct probe_vm p;
	u64 t0, dt;

	if (probe_vm__create(&p, code, sizeof(code), false))
		return;
	t0 = util__host_ns();
	if (probe_vm__run(&p) == KVM_EXIT_HLT) {
		dt = util__host_ns() - t0;
		caps->insn_per_sec = (2ULL * PROBE_LOOP_ITERS) * NSEC_PER_SEC /
				     (dt ? dt : 1);
		/*
		 * Hardware virtualization runs this loop at CPU speed (>1e9
		 * instructions/s); an instruction emulator manages a few
		 * million.  The threshold sits far from both.
		 */
		caps->emulated = caps->insn_per_sec < 50000000ULL ? PROBE_YES :
								      PROBE_NO;
	}
	probe_vm__destroy(&p);
}

static const u8 nops_code[] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xf4 };

static void probe_singlestep(struct host_caps *caps)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};
	struct probe_vm p;
	u64 expect = PROBE_CODE, t0;
	int steps = 0, i;

	if (probe_vm__create(&p, nops_code, sizeof(nops_code), false))
		return;
	caps->singlestep = PROBE_NO;
	if (ioctl(p.kvm.vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		goto out;
	t0 = util__host_ns();
	for (i = 0; i < PROBE_MAX_EXITS; i++) {
		int r = probe_vm__run(&p);

		if (r != KVM_EXIT_DEBUG)
			break;
		expect++;
		if (p.kvm.run->debug.arch.pc == expect)
			steps++;
	}
	if (steps >= 5) {
		caps->singlestep = PROBE_YES;
		caps->step_ns = (util__host_ns() - t0) / (steps + 1);
	}
out:
	probe_vm__destroy(&p);
}

void probe__hw_breakpoint(struct host_caps *caps)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
	};
	struct kvm_regs regs;
	struct probe_vm p;
	u64 bp = PROBE_CODE + 3;
	int r;

	if (probe_vm__create(&p, nops_code, sizeof(nops_code), false))
		return;
	caps->hw_breakpoint = PROBE_NO;
	dbg.arch.debugreg[0] = bp;
	dbg.arch.debugreg[7] = 0x1;	/* L0, execute, length 1 */
	if (ioctl(p.kvm.vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		goto out;
	r = probe_vm__run(&p);
	if (r != KVM_EXIT_DEBUG || p.kvm.run->debug.arch.pc != bp ||
	    !(p.kvm.run->debug.arch.dr6 & 1))
		goto out;
	caps->hw_breakpoint = PROBE_YES;

	/* Does resuming with RFLAGS.RF set step over the breakpoint? */
	if (ioctl(p.kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		goto out;
	regs.rflags |= 1ULL << 16;
	if (ioctl(p.kvm.vcpu_fd, KVM_SET_REGS, &regs) < 0)
		goto out;
	r = probe_vm__run(&p);
	if (r == KVM_EXIT_HLT)
		caps->rf_steps_over = PROBE_YES;
	else if (r == KVM_EXIT_DEBUG && p.kvm.run->debug.arch.pc == bp)
		caps->rf_steps_over = PROBE_NO;
out:
	probe_vm__destroy(&p);
}

/*
 * The PMU backend's counter, opened as the backend opens it (pmu.c): no
 * KVM needed, so --probe-host shows it on hosts without KVM too.
 */
static void probe_pmu(struct host_caps *caps)
{
	pmu__probe(&caps->pmu);
	caps->pmu_guest = caps->pmu.verdict == PMU_USABLE ? PROBE_YES : PROBE_NO;
}

/* The calibration guest, where a counter opens (and on the simulation). */
static void probe_pmu_selftest(struct host_caps *caps)
{
	struct pmu_sim sim;

	if (caps->pmu.verdict == PMU_USABLE)
		caps->pmu_selftest =
			pmu_calib__run(caps->pmu.event, NULL,
				       &caps->pmu_selftest_res) == PMU_SELFTEST_OK ?
				PROBE_YES : PROBE_NO;
	if (!getenv("MICROVM_PMU_SIM") || pmu_fault__from_env(&sim))
		return;
	caps->pmu_sim_selftest =
		pmu_calib__run(NULL, &sim, &caps->pmu_sim_selftest_res) ==
				PMU_SELFTEST_OK ? PROBE_YES : PROBE_NO;
}

/*
 * Which exits are guest-synchronous on this host (exit-pinned replay
 * counts them): an input-free guest makes port I/O, interrupt-window and
 * HLT exits in a loop; it runs twice, the second time kicked by a signal
 * every 20 us, and the two sequences of (exit reason, RIP) without the
 * kicks must be the same.
 */
#define SYNC_ROUNDS 8
#define SYNC_MAX (SYNC_ROUNDS * 3 + 4)

static const u8 sync_code[] = {
	0xbb, SYNC_ROUNDS, 0x00, 0x00, 0x00,	/* mov ebx, ROUNDS */
	0xb9, 0x00, 0x00, 0x00, 0x00,		/* 1: mov ecx, SPIN */
	0xff, 0xc9,				/* 2: dec ecx */
	0x75, 0xfc,				/* jnz 2b */
	0xe6, PROBE_PORT,			/* out PORT, al */
	0xe4, PROBE_PORT,			/* in al, PORT */
	0xfb,					/* sti */
	0x90,					/* nop: the window opens after it */
	0xfa,					/* cli */
	0xff, 0xcb,				/* dec ebx */
	0x75, 0xec,				/* jnz 1b */
	0xf4,					/* hlt (IF=0): the end */
};

struct sync_run {
	u32 reason[SYNC_MAX];
	u64 rip[SYNC_MAX];
	unsigned int n;
	u64 kicks;
};

struct sync_kicker {
	pthread_t target;
	volatile bool stop;
};

static void sync_kick_handler(int sig __maybe_unused)
{
}

static void *sync_kick_thread(void *opaque)
{
	struct sync_kicker *k = opaque;
	const struct timespec ts = { 0, 20 * 1000 };

	while (!k->stop) {
		pthread_kill(k->target, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* SPIN_AT: where the spin count sits in sync_code. */
#define SPIN_AT 6

static int sync_one_run(struct sync_run *sr, u32 spin)
{
	u8 code[sizeof(sync_code)];
	struct probe_vm p;
	struct kvm_regs regs;
	int ret = 0;

	memset(sr, 0, sizeof(*sr));
	memcpy(code, sync_code, sizeof(code));
	memcpy(code + SPIN_AT, &spin, sizeof(spin));
	if (probe_vm__create(&p, code, sizeof(code), false))
		return -ENODEV;
	while (sr->n < SYNC_MAX) {
		int r = probe_vm__run(&p);

		if (r == -EINTR || r == KVM_EXIT_INTR) {
			sr->kicks++;
			continue;
		}
		if (r < 0 || ioctl(p.kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0) {
			ret = -EIO;
			break;
		}
		sr->reason[sr->n] = (u32)r;
		sr->rip[sr->n++] = regs.rip;
		if (r == KVM_EXIT_HLT)
			break;
		if (r == KVM_EXIT_IO) {
			p.kvm.run->request_interrupt_window = 1;
		} else if (r == KVM_EXIT_IRQ_WINDOW_OPEN) {
			p.kvm.run->request_interrupt_window = 0;
		} else {
			ret = -EIO;
			break;
		}
	}
	probe_vm__destroy(&p);
	return ret;
}

static void probe_sync_exits(struct host_caps *caps)
{
	struct sync_kicker k = { .target = pthread_self() };
	struct sigaction sa = { .sa_handler = sync_kick_handler }, old;
	struct sync_run a, b;
	sigset_t set, oldset;
	pthread_t th;
	unsigned int i;
	/* About 50 ms of spinning in all, whatever the host's speed. */
	u64 ips = caps->insn_per_sec ? caps->insn_per_sec : 1000000;
	u32 spin = (u32)MIN(ips / 20 / 2 / SYNC_ROUNDS, 100000000ULL);

	caps->sync_exits = PROBE_UNKNOWN;
	if (sync_one_run(&a, MAX(spin, 1000u)))
		return;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, &oldset);
	if (pthread_create(&th, NULL, sync_kick_thread, &k) == 0) {
		sync_one_run(&b, MAX(spin, 1000u));
		k.stop = true;
		pthread_join(th, NULL);
	} else {
		memset(&b, 0, sizeof(b));
	}
	pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	sigaction(SIGUSR1, &old, NULL);
	if (!b.n)
		return;
	caps->sync_exits_n = a.n;
	caps->sync_kicks = b.kicks;
	/* Never kicked: nothing was shown. */
	caps->sync_exits = b.kicks ? PROBE_YES : PROBE_UNKNOWN;
	for (i = 0; i < MAX(a.n, b.n); i++) {
		if (i >= a.n || i >= b.n || a.reason[i] != b.reason[i] ||
		    a.rip[i] != b.rip[i]) {
			caps->sync_exits = PROBE_NO;
			snprintf(caps->sync_detail, sizeof(caps->sync_detail),
				 "exit %u: reason %u at %#llx, kicked: reason %u at %#llx",
				 i, i < a.n ? a.reason[i] : 0,
				 (unsigned long long)(i < a.n ? a.rip[i] : 0),
				 i < b.n ? b.reason[i] : 0,
				 (unsigned long long)(i < b.n ? b.rip[i] : 0));
			return;
		}
	}
}

int probe__quick(struct host_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	probe_cpuid(caps);
	probe_insns(caps);
	probe_syscall(caps);
	return 0;
}

int probe__full(struct host_caps *caps)
{
	probe__quick(caps);
	probe_singlestep(caps);
	probe__hw_breakpoint(caps);
	probe_pmu(caps);
	probe_pmu_selftest(caps);
	probe_speed(caps);
	probe_sync_exits(caps);	/* sized by probe_speed()'s figure */
	return 0;
}

static const char *answer(enum probe_answer a)
{
	return a == PROBE_YES ? "yes" : a == PROBE_NO ? "no" : "unknown";
}

/*
 * The verdict with its reason, the event for this CPU, and the self-test
 * (twice with MICROVM_PMU_SIM: once on the simulated counter).
 */
static void print_selftest(const char *what, enum probe_answer a,
			   const struct pmu_selftest *r, const char *not_run)
{
	if (a == PROBE_UNKNOWN)
		printf("%-34s %-8s %s\n", what, "-", not_run);
	else
		printf("%-34s %-8s %s: %s\n", what, answer(a),
		       pmu_land__selftest_str(r->verdict), r->reason);
}

static void print_pmu(const struct host_caps *c)
{
	const struct pmu_probe *p = &c->pmu;
	const struct pmu_event *ev = p->event;
	char cpu[64];

	printf("%-34s %-8s %s\n", "guest-only PMU counting",
	       answer(c->pmu_guest), p->reason);
	pmu__cpu_str(&p->cpu, cpu, sizeof(cpu));
	if (ev)
		printf("%-34s %-8s %s, %s: %s raw %#llx, interrupt %u branches early\n",
		       "PMU event for this CPU", "yes", cpu, ev->uarch, ev->name,
		       (unsigned long long)ev->config, ev->margin);
	else
		printf("%-34s %-8s %s (%s): no known conditional-branch event\n",
		       "PMU event for this CPU", "no", cpu, p->cpu.vendor_id);
	print_selftest("PMU self-test passes", c->pmu_selftest, &c->pmu_selftest_res,
		       c->pmu_guest == PROBE_YES ? "not run" :
						   "not run: no usable counter");
	if (c->pmu_sim_selftest != PROBE_UNKNOWN)
		print_selftest("PMU self-test passes (simulated)",
			       c->pmu_sim_selftest, &c->pmu_sim_selftest_res, "");
}

int probe__print_table(void)
{
	struct host_caps c;
	struct kvm kvm = { 0 };
	unsigned int i;

	if (kvm__open(&kvm)) {
		/* What needs no KVM is still worth knowing. */
		memset(&c, 0, sizeof(c));
		probe_pmu(&c);
		printf("%-34s %-8s %s\n", "capability", "answer", "detail");
		print_pmu(&c);
		return -ENODEV;
	}
	kvm__close(&kvm);
	probe__full(&c);
	printf("%-34s %-8s %s\n", "capability", "answer", "detail");
	printf("%-34s %-8s guest saw CPUID.1 ecx=%08x edx=%08x\n",
	       "CPUID policy enforced", answer(c.cpuid_enforced),
	       c.seen_l1_ecx, c.seen_l1_edx);
	for (i = 0; i < PROBE_INSN_NR; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s executes", insn_probes[i].name);
		printf("%-34s %-8s %s\n", what, answer(c.insn[i]),
		       c.insn[i] == PROBE_NO ? "worked around (quirks.c)" : "");
	}
	printf("%-34s %-8s %s\n", "SYSCALL from ring 3 enters ring 0",
	       answer(c.syscall_to_cpl0),
	       c.syscall_to_cpl0 == PROBE_NO ? "worked around (quirks.c)" : "");
	printf("%-34s %-8s %llu ns per step\n", "single-step",
	       answer(c.singlestep), (unsigned long long)c.step_ns);
	printf("%-34s %-8s\n", "hardware breakpoints",
	       answer(c.hw_breakpoint));
	printf("%-34s %-8s %s\n", "RFLAGS.RF steps over a breakpoint",
	       answer(c.rf_steps_over),
	       c.rf_steps_over == PROBE_NO ? "step over by disable+step" : "");
	if (c.sync_exits == PROBE_NO)
		printf("%-34s %-8s PIO, IRQ window, HLT: %s\n",
		       "exits guest-synchronous", "no", c.sync_detail);
	else
		printf("%-34s %-8s PIO, IRQ window, HLT: %llu exits at the same RIPs in 2 runs, one kicked %llu times\n",
		       "exits guest-synchronous",
		       answer(c.sync_exits), (unsigned long long)c.sync_exits_n,
		       (unsigned long long)c.sync_kicks);
	print_pmu(&c);
	printf("%-34s %-8s %llu guest instructions/s\n",
	       "guest code emulated", answer(c.emulated),
	       (unsigned long long)c.insn_per_sec);
	return 0;
}
