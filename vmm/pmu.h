/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PMU_H
#define MICROVM_PMU_H

#include <signal.h>
#include <sys/types.h>

#include "../common/util.h"

/*
 * The PMU replay backend's counter (docs/pinning.md): a host perf
 * counter of the guest's retired conditional branches, counting only
 * while the vCPU thread is in guest mode, that interrupts the vCPU (a
 * signal kicks it out of KVM_RUN) a margin before a target count.
 *
 * Which raw event counts that depends on the host CPU, so the host is
 * identified from its own CPUID (never the guest's policy, cpuid.h) and
 * looked up in one table (pmu_cpu.c).
 */

enum pmu_vendor {
	PMU_VENDOR_OTHER,
	PMU_VENDOR_INTEL,
	PMU_VENDOR_AMD,
};

/* The host CPU, as its CPUID leaves 0 and 1 describe it. */
struct pmu_cpu {
	enum pmu_vendor vendor;
	char vendor_id[13];	/* "GenuineIntel", "AuthenticAMD", ... */
	u32 family, model, stepping;	/* display values (extended fields added) */
	bool hypervisor;	/* CPUID.1:ECX[31]: this host is itself a VM */
};

/* The event that counts guest retired conditional branches on one family. */
struct pmu_event {
	const char *uarch;	/* "Intel Ice Lake and later", "AMD Zen" */
	const char *name;	/* the vendor's event name */
	/*
	 * perf raw config: umask << 8 | event, written as rr writes it
	 * (with the USR, INT and EN bits, which perf masks and sets itself:
	 * exclude_kernel = 0 is what makes the guest kernel count).
	 */
	u64 config;
	/*
	 * Interrupt this many branches before the target.  The overflow
	 * signal arrives some branches late (skid); a skid of `margin` or
	 * more overshoots, which the landing reports (pmu_land.h).
	 */
	u32 margin;
	/*
	 * P-cores and E-cores count different events: exact only with the
	 * vCPU pinned to one kind, which microvm does not do yet.
	 */
	bool hybrid;
	/* Zen: the counter overcounts unless SpecLockMap is disabled. */
	bool needs_no_speclockmap;
	/* Intel Comet Lake and later: SMIs count unless freeze_on_smi. */
	bool needs_freeze_on_smi;
};

/* The host's identity from the cpuid instruction. */
void pmu__host_cpu(struct pmu_cpu *cpu);
/* The same from raw leaf 0 (eax..edx) and leaf 1 eax/ecx values. */
void pmu__decode_cpu(const u32 leaf0[4], u32 leaf1_eax, u32 leaf1_ecx,
		     struct pmu_cpu *cpu);
/* The event for `cpu`, NULL when the table does not know the family. */
const struct pmu_event *pmu__event_for(const struct pmu_cpu *cpu);
/* "AMD family 0x1a model 0x02" into buf; returns buf. */
const char *pmu__cpu_str(const struct pmu_cpu *cpu, char *buf, size_t size);

/* ---- Start-up check ----------------------------------------------------- */

enum pmu_verdict {
	PMU_USABLE,		/* the counter opens as the backend opens it */
	PMU_NO_PMU,		/* no hardware counters on this host */
	PMU_UNKNOWN_CPU,	/* no known event for this CPU family */
	PMU_NO_PERMISSION,	/* perf_event_paranoid / CAP_PERFMON */
	PMU_UNSUPPORTED,	/* a PMU, but not one this backend can use */
	PMU_MISCONFIGURED,	/* usable once the host is set up (reason) */
	PMU_ERROR,		/* anything else (errno in the reason) */
};

struct pmu_probe {
	enum pmu_verdict verdict;
	struct pmu_cpu cpu;
	const struct pmu_event *event;	/* NULL: unknown CPU */
	int err;			/* errno of the failing call, or 0 */
	char reason[256];		/* one line, for --probe-host and errors */
};

/*
 * Can this host run the PMU backend?  Opens the counter exactly as
 * pmu__open() does (on the calling thread, no signal), plus the host
 * checks the event asks for.  Needs no KVM; never fails: the verdict and
 * the reason say what is wrong.  It does not show that the counts are
 * right: that takes a guest (pmu_land__selftest(), docs/pinning.md).
 */
void pmu__probe(struct pmu_probe *out);
/* "usable", "no PMU", "unknown CPU family", ... */
const char *pmu__verdict_str(enum pmu_verdict v);

/* ---- The counter interface ---------------------------------------------- */

/*
 * What the landing logic needs from a counter; the perf counter below is
 * one implementation, tests/unit/pmu_sim.c another.  Counts are the
 * counter's own running total (never reset), so one number can be taken
 * at a synchronous exit and compared later.
 */
struct pmu_counter_ops {
	/* The count so far. */
	int (*read)(void *ctx, u64 *count);
	/*
	 * Signal the vCPU once the count reaches `at` (replaces any earlier
	 * arm).  An `at` already reached counts as fired at once.
	 */
	int (*arm)(void *ctx, u64 at);
	/* No overflow signal until the next arm(). */
	int (*disarm)(void *ctx);
	/* Has the overflow signal arrived since the last arm()? */
	bool (*fired)(void *ctx);
};

/* The signal a counter's overflow raises in the vCPU thread (pmu__open()). */
#define PMU_SIGNAL SIGUSR2

/* The perf_event_open() counter of one vCPU thread. */
struct pmu_counter {
	int fd;
	int signo;
	const struct pmu_event *event;
};

/*
 * Open the guest-only counter for thread `tid` (the vCPU thread) and
 * route its overflow to that thread as signal `signo` (F_SETOWN_EX,
 * F_SETSIG), with a handler installed here: the signal only has to make
 * KVM_RUN return (EINTR), so the VMM must leave `signo` unblocked in the
 * vCPU thread while it is in KVM_RUN (KVM_SET_SIGNAL_MASK) and must not
 * use it for anything else.  One counter per thread.  -errno, with a
 * message.
 */
int pmu__open(struct pmu_counter *c, const struct pmu_event *ev, pid_t tid,
	      int signo);
void pmu__close(struct pmu_counter *c);

/*
 * The ops over a struct pmu_counter (ctx).  Call them on the vCPU thread:
 * the overflow flag lives in that thread (the signal goes to it alone).
 */
extern const struct pmu_counter_ops pmu__perf_ops;

#endif
