/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_CPUID_H
#define MICROVM_CPUID_H

#include <linux/kvm.h>

#include "../common/util.h"

#define CPUID_MAX_ENTRIES 100

/*
 * The fixed CPUID policy (DESIGN.md): a whitelist of baseline x86-64
 * features, AND-ed with what KVM supports, with everything that makes
 * execution depend on the host hidden: TSC, RDTSCP, RDRAND, RDSEED, the
 * local APIC and x2APIC, TSC-deadline, XSAVE (its area layout is
 * host-specific), the hypervisor's paravirtual leaves (kvmclock) and the
 * PMU leaf.  Whether a host enforces it is a separate question
 * (probe.c): on the hosts described in ENVIRONMENT.md it does not.
 */
struct cpuid_policy {
	u32 nent;
	struct kvm_cpuid_entry2 entries[CPUID_MAX_ENTRIES];
};

/* Everything KVM supports (the unfiltered host view; probes use it). */
int cpuid__supported(int kvm_fd, struct cpuid_policy *pol);
int cpuid__build(int kvm_fd, struct cpuid_policy *pol);
int cpuid__apply(int vcpu_fd, const struct cpuid_policy *pol);
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
