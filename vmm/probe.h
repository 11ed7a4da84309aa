/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PROBE_H
#define MICROVM_PROBE_H

#include "../common/util.h"
#include "pmu_calib.h"

/*
 * What this host really provides, measured by running tiny probe guests
 * rather than assumed from capability flags (ENVIRONMENT.md: these hosts
 * accept a CPUID policy without enforcing it and emulate guest code).
 */
enum probe_answer {
	PROBE_UNKNOWN,
	PROBE_NO,
	PROBE_YES,
};

/*
 * Instructions a guest may use that an instruction emulator (the PVM-style
 * hosts of ENVIRONMENT.md) may not implement.  Each is executed in a probe
 * guest; one that makes KVM report an emulation failure is "not native".
 */
enum probe_insn {
	PROBE_INSN_INT3,	/* 64-bit mode INT3 */
	PROBE_INSN_XSAVE,
	PROBE_INSN_POPCNT,
	PROBE_INSN_MOVBE,
	PROBE_INSN_RDFSBASE,	/* FSGSBASE */
	PROBE_INSN_TZCNT,	/* BMI1 */
	PROBE_INSN_SHLX,	/* BMI2 */
	PROBE_INSN_LZCNT,	/* ABM */
	PROBE_INSN_FWAIT,
	PROBE_INSN_NR,
};

struct host_caps {
	enum probe_answer cpuid_enforced;
	u32 seen_l1_ecx, seen_l1_edx;	/* what the guest's CPUID returned */
	u32 seen_x1_ecx, seen_x1_edx;	/* and for leaf 0x80000001 */
	/* YES: executes; NO: emulation failure; UNKNOWN: host lacks it. */
	enum probe_answer insn[PROBE_INSN_NR];
	/* SYSCALL from CPL 3 arrives at LSTAR in CPL 0 */
	enum probe_answer syscall_to_cpl0;
	enum probe_answer singlestep;
	u64 step_ns;			/* cost of one single-step exit */
	enum probe_answer hw_breakpoint;
	enum probe_answer rf_steps_over; /* RFLAGS.RF resumes past a hit */
	enum probe_answer pmu_guest;	/* guest-only branch counting */
	struct pmu_probe pmu;		/* the verdict and why (pmu.h) */
	/*
	 * The calibration guest (pmu_calib.h) on the host's counter, run
	 * where it opens (UNKNOWN: not run), and on the simulated counter
	 * when MICROVM_PMU_SIM asks for it.
	 */
	enum probe_answer pmu_selftest, pmu_sim_selftest;
	struct pmu_selftest pmu_selftest_res, pmu_sim_selftest_res;
	/*
	 * Port I/O, interrupt-window and HLT exits land at the same
	 * instructions in two runs of an input-free guest, one of them
	 * kicked all the time: they are guest-synchronous here.
	 */
	enum probe_answer sync_exits;
	u64 sync_exits_n, sync_kicks;	/* exits compared, kicks taken */
	char sync_detail[96];		/* the first difference */
	enum probe_answer emulated;	/* guest code is emulated */
	u64 insn_per_sec;
};

const char *probe__insn_name(enum probe_insn insn);

/*
 * The probes the VMM needs before every boot (CPUID enforcement, the
 * instruction probes): a few milliseconds.  Each answer it cannot get stays UNKNOWN.
 */
int probe__quick(struct host_caps *caps);
/* Hardware execute breakpoints, and whether RFLAGS.RF steps over one. */
void probe__hw_breakpoint(struct host_caps *caps);
/* Everything, including the timing probes; for --probe-host. */
int probe__full(struct host_caps *caps);
/* --probe-host: run every probe and print a table on stdout. */
int probe__print_table(void);

#endif
