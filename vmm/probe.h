/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PROBE_H
#define MICROVM_PROBE_H

#include "util.h"

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

struct host_caps {
	enum probe_answer cpuid_enforced;
	u32 seen_l1_ecx, seen_l1_edx;	/* what the guest's CPUID returned */
	enum probe_answer int3_native;	/* INT3 in 64-bit mode executes */
	enum probe_answer xsave_native;	/* XSAVE executes */
	enum probe_answer singlestep;
	u64 step_ns;			/* cost of one single-step exit */
	enum probe_answer hw_breakpoint;
	enum probe_answer rf_steps_over; /* RFLAGS.RF resumes past a hit */
	enum probe_answer pmu_guest;	/* guest-only branch counting */
	char pmu_reason[96];
	enum probe_answer emulated;	/* guest code is emulated */
	u64 insn_per_sec;
};

/*
 * The probes the VMM needs before every boot (CPUID enforcement, INT3,
 * XSAVE): a few milliseconds.  Each answer it cannot get stays UNKNOWN.
 */
int probe__quick(struct host_caps *caps);
/* Everything, including the timing probes; for --probe-host. */
int probe__full(struct host_caps *caps);
/* --probe-host: run every probe and print a table on stdout. */
int probe__print_table(void);

#endif
