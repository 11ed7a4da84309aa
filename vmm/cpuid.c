// SPDX-License-Identifier: Apache-2.0
/*
 * The CPUID policy.  Only the leaves listed here are passed to the guest,
 * each masked by a whitelist, so that a trace recorded on one host names
 * the same CPU on another (as far as the host's own support allows).
 */
#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* Leaf 1 EDX: FPU VME DE PSE MSR PAE MCE CX8 SEP MTRR PGE MCA CMOV PAT PSE36
 * CLFSH MMX FXSR SSE SSE2 (no TSC, no APIC, no HTT). */
#define L1_EDX_ALLOW 0x078bf9efu
/* Leaf 1 ECX: SSE3 PCLMUL SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES. */
#define L1_ECX_ALLOW 0x02d82203u
/* Leaf 7.0 EBX: FSGSBASE BMI1 BMI2 ERMS (no RDSEED, no AVX*, no MPX...). */
#define L7_EBX_ALLOW 0x00000309u
/* 0x80000001 EDX: SYSCALL NX 1GB-pages LM (no RDTSCP). */
#define LX1_EDX_ALLOW 0x24100800u
/* 0x80000001 ECX: LAHF/SAHF ABM(LZCNT). */
#define LX1_ECX_ALLOW 0x00000021u

static bool cpuid_filter(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 0x0:
		/* Highest basic leaf we describe. */
		e->eax = MIN(e->eax, 0x7u);
		return true;
	case 0x1:
		e->edx &= L1_EDX_ALLOW;
		e->ecx &= L1_ECX_ALLOW;
		/* One logical CPU, no APIC id, CLFLUSH line size kept. */
		e->ebx &= 0x0000ff00u;
		e->ebx |= 1u << 16;
		return true;
	case 0x7:
		if (e->index != 0)
			return false;
		e->eax = 0;
		e->ebx &= L7_EBX_ALLOW;
		e->ecx = 0;
		e->edx = 0;
		return true;
	case 0x80000000:
		e->eax = MIN(e->eax, 0x80000008u);
		return true;
	case 0x80000001:
		e->edx &= LX1_EDX_ALLOW;
		e->ecx &= LX1_ECX_ALLOW;
		return true;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		return true; /* brand string: informational */
	case 0x80000008:
		/* Address sizes only. */
		e->ebx = 0;
		e->ecx = 0;
		e->edx = 0;
		return true;
	default:
		/*
		 * Leaves 2-6, 0xA (PMU), 0xB (x2APIC topology), 0xD (XSAVE),
		 * the 0x4000xxxx hypervisor leaves (kvmclock) and the rest.
		 */
		return false;
	}
}

/*
 * struct kvm_cpuid2 ends in a flexible array, so it travels in a heap
 * buffer sized for our fixed maximum rather than inside another struct.
 */
static struct kvm_cpuid2 *cpuid_alloc(void)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) +
			      CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (c)
		c->nent = CPUID_MAX_ENTRIES;
	return c;
}

int cpuid__supported(int kvm_fd, struct cpuid_policy *pol)
{
	struct kvm_cpuid2 *c = cpuid_alloc();
	int ret = 0;

	if (!c)
		return -ENOMEM;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		ret = -errno;
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	} else {
		pol->nent = MIN(c->nent, (u32)CPUID_MAX_ENTRIES);
		memcpy(pol->entries, c->entries,
		       pol->nent * sizeof(struct kvm_cpuid_entry2));
	}
	free(c);
	return ret;
}

int cpuid__build(int kvm_fd, struct cpuid_policy *pol)
{
	struct cpuid_policy host;
	unsigned int i, n = 0;
	int ret;

	ret = cpuid__supported(kvm_fd, &host);
	if (ret)
		return ret;
	memset(pol, 0, sizeof(*pol));
	for (i = 0; i < host.nent; i++) {
		struct kvm_cpuid_entry2 e = host.entries[i];

		if (cpuid_filter(&e))
			pol->entries[n++] = e;
	}
	pol->nent = n;
	return 0;
}

int cpuid__apply(int vcpu_fd, const struct cpuid_policy *pol)
{
	struct kvm_cpuid2 *c = cpuid_alloc();
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->nent = pol->nent;
	memcpy(c->entries, pol->entries,
	       pol->nent * sizeof(struct kvm_cpuid_entry2));
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		pr_err("KVM_SET_CPUID2: %s", strerror(errno));
	}
	free(c);
	return ret;
}

const struct kvm_cpuid_entry2 *cpuid__find(const struct cpuid_policy *pol,
					   u32 function, u32 index)
{
	unsigned int i;

	for (i = 0; i < pol->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &pol->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}
