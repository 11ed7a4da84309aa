/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_CPUID_H
#define MICROVM_CPUID_H

#include <linux/kvm.h>
#include <stdio.h>

#include "../common/util.h"

#define CPUID_MAX_ENTRIES 100

/*
 * The CPUID policy (DESIGN.md): the CPU the guest is told it runs on,
 * fixed by microvm and not read from the host, so that a run recorded on
 * one machine describes the same CPU on another.
 *
 * A policy is a named feature level (Firecracker's CPU templates are the
 * model) plus a fixed identity for the host's vendor: vendor string,
 * family/model/stepping, brand string and address sizes all come from
 * tables here.  The vendor itself cannot be faked usefully (KVM emulates
 * SYSCALL/SYSENTER and friends by the host's rules), so a policy names
 * one identity per vendor and a trace records which one was used.  A
 * policy feature the host's KVM cannot give is an error at start-up,
 * naming the feature and the lower policy to use.  Never offered: TSC,
 * RDTSCP, RDRAND, RDSEED, the local APIC and x2APIC, TSC-deadline, XSAVE
 * (its area layout is host-specific), the hypervisor's paravirtual leaves
 * (kvmclock) and the PMU leaf.  Whether a host enforces the policy is a
 * separate question (probe.c): the PVM-backed hosts of ENVIRONMENT.md do
 * not.
 */
struct cpuid_policy {
	const char *name;	/* the feature level, e.g. "default" */
	const char *vendor;	/* "AuthenticAMD", "GenuineIntel" */
	u32 nent;
	struct kvm_cpuid_entry2 entries[CPUID_MAX_ENTRIES];
};

/* The policy microvm uses unless told otherwise. */
#define CPUID_DEFAULT_POLICY "default"

/* Everything KVM supports (the unfiltered host view; probes use it). */
int cpuid__supported(int kvm_fd, struct cpuid_policy *pol);
/*
 * Build policy `name` for this host's vendor.  Prints what is wrong and
 * returns -EINVAL for an unknown name, -ENOTSUP when the host lacks a
 * feature of it or has a vendor with no identity here.  `enforced` false:
 * the host does not enforce CPUID (the probe saw the guest get the host's
 * own values), so what its KVM can give is not what the guest gets and
 * is not checked; the table is still what KVM is told and what a trace
 * records.
 */
int cpuid__build(int kvm_fd, const char *name, bool enforced,
		 struct cpuid_policy *pol);
/* The same from a given host table (what cpuid__supported() returns). */
int cpuid__make(const struct cpuid_policy *host, const char *name, bool enforced,
		struct cpuid_policy *pol);
int cpuid__apply(int vcpu_fd, const struct cpuid_policy *pol);
/* Is `name` a policy?  For the command line (no KVM needed). */
bool cpuid__policy_exists(const char *name);
/* "name: description" lines of every policy, for --help and errors. */
void cpuid__list_policies(FILE *out);
/* The policy's value for a leaf/subleaf, NULL if the policy omits it. */
const struct kvm_cpuid_entry2 *cpuid__find(const struct cpuid_policy *pol,
					   u32 function, u32 index);

/* Feature bits the policy hides that the host probe looks for. */
#define CPUID_1_EDX_TSC (1u << 4)
#define CPUID_1_EDX_APIC (1u << 9)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_XSAVE (1u << 26)
#define CPUID_1_ECX_RDRAND (1u << 30)

#endif
