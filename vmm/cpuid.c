// SPDX-License-Identifier: Apache-2.0
/*
 * The CPUID policies (see cpuid.h): feature levels, the fixed identity
 * per vendor, and the check that the host's KVM can give what a policy
 * promises.  Every leaf up to the maximum the policy reports is in the
 * table (zeros where there is nothing to say): KVM answers a missing leaf
 * with the highest basic leaf's values on Intel, which would be a leak.
 */
#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* The registers a policy sets features in. */
enum cpuid_reg { R_1_ECX, R_1_EDX, R_7_EBX, R_X1_ECX, R_X1_EDX, R_NR };

struct cpuid_level {
	const char *name;
	const char *desc;
	u32 bits[R_NR];
};

/*
 * Leaf 1 EDX of every level: FPU PSE MSR PAE MCE CX8 MTRR PGE MCA CMOV
 * PAT CLFSH MMX FXSR SSE SSE2.  Not TSC, APIC, HTT (see cpuid.h); not
 * VME, DE, SEP, PSE36, which a 64-bit guest does not need (and QEMU's
 * EPYC model, the nested tier's CPU, lacks VME): the fewer features a
 * policy promises, the more hosts can give them.  0x80000001 EDX:
 * SYSCALL NX LM (no RDTSCP).
 */
#define L1_EDX_BASE 0x0789f1e9u
#define LX1_EDX_BASE 0x20100800u
/* SSE3 SSSE3 CX16 SSE4.1 SSE4.2 POPCNT, and LAHF/SAHF. */
#define L1_ECX_V2 0x00982201u
#define LX1_ECX_V2 0x00000001u

static const struct cpuid_level levels[] = {
	/* Not ERMS: only a speed hint, and missing from QEMU's EPYC model. */
	{ "default",
	  "x86-64-v2 plus PCLMULQDQ, MOVBE, AES, FSGSBASE, BMI1, BMI2, LZCNT, 1 GiB pages",
	  { L1_ECX_V2 | 0x02400002u, L1_EDX_BASE, 0x00000109u,
	    LX1_ECX_V2 | 0x00000020u, LX1_EDX_BASE | 0x04000000u } },
	{ "v2", "x86-64-v2: SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CMPXCHG16B, LAHF/SAHF",
	  { L1_ECX_V2, L1_EDX_BASE, 0, LX1_ECX_V2, LX1_EDX_BASE } },
	{ "v1", "x86-64 baseline: up to SSE2, nothing later",
	  { 0, L1_EDX_BASE, 0, 0, LX1_EDX_BASE } },
};

/* Names for start-up errors: which feature this host lacks. */
static const struct {
	enum cpuid_reg reg;
	u8 bit;
	const char *name;
} feature_names[] = {
	{ R_1_ECX, 0, "SSE3" }, { R_1_ECX, 1, "PCLMULQDQ" },
	{ R_1_ECX, 9, "SSSE3" }, { R_1_ECX, 13, "CMPXCHG16B" },
	{ R_1_ECX, 19, "SSE4.1" }, { R_1_ECX, 20, "SSE4.2" },
	{ R_1_ECX, 22, "MOVBE" }, { R_1_ECX, 23, "POPCNT" },
	{ R_1_ECX, 25, "AES" },
	{ R_1_EDX, 0, "FPU" },
	{ R_1_EDX, 3, "PSE" }, { R_1_EDX, 5, "MSR" }, { R_1_EDX, 6, "PAE" },
	{ R_1_EDX, 7, "MCE" }, { R_1_EDX, 8, "CX8" },
	{ R_1_EDX, 12, "MTRR" }, { R_1_EDX, 13, "PGE" }, { R_1_EDX, 14, "MCA" },
	{ R_1_EDX, 15, "CMOV" }, { R_1_EDX, 16, "PAT" },
	{ R_1_EDX, 19, "CLFLUSH" },
	{ R_1_EDX, 23, "MMX" }, { R_1_EDX, 24, "FXSR" }, { R_1_EDX, 25, "SSE" },
	{ R_1_EDX, 26, "SSE2" },
	{ R_7_EBX, 0, "FSGSBASE" }, { R_7_EBX, 3, "BMI1" },
	{ R_7_EBX, 8, "BMI2" },
	{ R_X1_ECX, 0, "LAHF/SAHF" }, { R_X1_ECX, 5, "LZCNT" },
	{ R_X1_EDX, 11, "SYSCALL" }, { R_X1_EDX, 20, "NX" },
	{ R_X1_EDX, 26, "1 GiB pages" }, { R_X1_EDX, 29, "long mode" },
};

/*
 * One identity per vendor, as widely used virtual CPU models have them
 * (QEMU's EPYC and Skylake-Server), so guests take well-trodden paths.
 */
struct cpuid_identity {
	const char *vendor;	/* 12 bytes */
	u32 signature;		/* leaf 1 EAX */
	const char *brand;
};

static const struct cpuid_identity identities[] = {
	/* Family 0x17 model 0x01 stepping 2. */
	{ "AuthenticAMD", 0x00800f12u, "microvm virtual CPU (AMD)" },
	/* Family 6 model 0x55 stepping 4. */
	{ "GenuineIntel", 0x00050654u, "microvm virtual CPU (Intel)" },
};

/* Guest address sizes: 36 physical bits (64 GiB), 48 linear. */
#define CPUID_PHYS_BITS 36
#define CPUID_VIRT_BITS 48
#define CPUID_MAX_BASIC 0x7u
#define CPUID_MAX_EXT 0x80000008u

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
		memset(pol, 0, sizeof(*pol));
		pol->name = "host";
		pol->nent = MIN(c->nent, (u32)CPUID_MAX_ENTRIES);
		memcpy(pol->entries, c->entries,
		       pol->nent * sizeof(struct kvm_cpuid_entry2));
	}
	free(c);
	return ret;
}

static const struct cpuid_level *cpuid_level(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(levels[i].name, name))
			return &levels[i];
	return NULL;
}

bool cpuid__policy_exists(const char *name)
{
	return cpuid_level(name) != NULL;
}

void cpuid__list_policies(FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		fprintf(out, "  %-8s %s\n", levels[i].name, levels[i].desc);
}

static const u32 reg_leaf[R_NR] = { 1, 1, 7, 0x80000001, 0x80000001 };

/* The value of one policy register in a table, 0 if the leaf is absent. */
static u32 cpuid_reg(const struct cpuid_policy *pol, enum cpuid_reg r)
{
	const struct kvm_cpuid_entry2 *e = cpuid__find(pol, reg_leaf[r], 0);

	if (!e)
		return 0;
	switch (r) {
	case R_1_ECX:
	case R_X1_ECX:
		return e->ecx;
	case R_7_EBX:
		return e->ebx;
	default:
		return e->edx;
	}
}

/* Say which features of the level the host's KVM cannot give. */
static int cpuid_check_host(const struct cpuid_policy *host,
			    const struct cpuid_level *lv)
{
	const struct kvm_cpuid_entry2 *e;
	char missing[512] = "";
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(feature_names); i++) {
		enum cpuid_reg r = feature_names[i].reg;
		u32 bit = 1u << feature_names[i].bit;

		if (!(lv->bits[r] & bit) || (cpuid_reg(host, r) & bit))
			continue;
		n += (size_t)snprintf(missing + n, sizeof(missing) - MIN(n, sizeof(missing)),
				      "%s%s", n ? ", " : "", feature_names[i].name);
	}
	e = cpuid__find(host, 0x80000008u, 0);
	if (e && (e->eax & 0xff) < CPUID_PHYS_BITS) {
		pr_err("this host's CPU has %u physical address bits, fewer than the %u of microvm's CPU policies",
		       e->eax & 0xff, CPUID_PHYS_BITS);
		return -ENOTSUP;
	}
	if (!n)
		return 0;
	pr_err("this host's KVM cannot give the guest %s, which CPU policy '%s' promises; choose a lower one with --cpu-policy (v2, v1)",
	       missing, lv->name);
	return -ENOTSUP;
}

static const struct cpuid_identity *cpuid_identity(const struct cpuid_policy *host)
{
	const struct kvm_cpuid_entry2 *e = cpuid__find(host, 0, 0);
	char vendor[13] = "";

	if (e) {
		memcpy(vendor, &e->ebx, 4);
		memcpy(vendor + 4, &e->edx, 4);
		memcpy(vendor + 8, &e->ecx, 4);
	}
	for (size_t i = 0; i < ARRAY_SIZE(identities); i++)
		if (!memcmp(vendor, identities[i].vendor, 12))
			return &identities[i];
	pr_err("this host's CPU vendor '%s' has no microvm CPU identity (AuthenticAMD and GenuineIntel have)",
	       vendor);
	return NULL;
}

static struct kvm_cpuid_entry2 *cpuid_add(struct cpuid_policy *pol, u32 fn,
					  bool indexed)
{
	struct kvm_cpuid_entry2 *e = &pol->entries[pol->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	if (indexed)
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

/* Four bytes of a string as a CPUID register (little-endian). */
static u32 cpuid_str4(const char *s)
{
	u32 v;

	memcpy(&v, s, 4);
	return v;
}

static void cpuid_fill(struct cpuid_policy *pol, const struct cpuid_level *lv,
		       const struct cpuid_identity *id)
{
	char brand[48];
	struct kvm_cpuid_entry2 *e;
	bool amd = !strcmp(id->vendor, "AuthenticAMD");
	u32 fn;

	for (fn = 0; fn <= CPUID_MAX_BASIC; fn++) {
		e = cpuid_add(pol, fn, fn == 4 || fn == 7);
		switch (fn) {
		case 0:
			e->eax = CPUID_MAX_BASIC;
			e->ebx = cpuid_str4(id->vendor);
			e->edx = cpuid_str4(id->vendor + 4);
			e->ecx = cpuid_str4(id->vendor + 8);
			break;
		case 1:
			e->eax = id->signature;
			/* CLFLUSH line 8 * 8 bytes, one logical CPU, APIC id 0. */
			e->ebx = 0x00010800u;
			e->ecx = lv->bits[R_1_ECX];
			e->edx = lv->bits[R_1_EDX];
			break;
		case 7:
			e->ebx = lv->bits[R_7_EBX];
			break;
		default:
			break;	/* caches, MONITOR, power: nothing to say */
		}
	}
	memset(brand, 0, sizeof(brand));
	memcpy(brand, id->brand, MIN(strlen(id->brand), sizeof(brand) - 1));
	for (fn = 0x80000000u; fn <= CPUID_MAX_EXT; fn++) {
		e = cpuid_add(pol, fn, false);
		if (fn == 0x80000000u) {
			e->eax = CPUID_MAX_EXT;
			if (amd) {
				e->ebx = cpuid_str4(id->vendor);
				e->edx = cpuid_str4(id->vendor + 4);
				e->ecx = cpuid_str4(id->vendor + 8);
			}
		} else if (fn == 0x80000001u) {
			e->ecx = lv->bits[R_X1_ECX];
			e->edx = lv->bits[R_X1_EDX];
		} else if (fn >= 0x80000002u && fn <= 0x80000004u) {
			memcpy(&e->eax, brand + (fn - 0x80000002u) * 16, 16);
		} else if (fn == 0x80000008u) {
			e->eax = CPUID_PHYS_BITS | CPUID_VIRT_BITS << 8;
		}
	}
}

int cpuid__make(const struct cpuid_policy *host, const char *name, bool enforced,
		struct cpuid_policy *pol)
{
	const struct cpuid_level *lv = cpuid_level(name);
	const struct cpuid_identity *id;
	int ret;

	if (!lv) {
		pr_err("unknown CPU policy '%s'; the policies are:", name);
		cpuid__list_policies(stderr);
		return -EINVAL;
	}
	ret = enforced ? cpuid_check_host(host, lv) : 0;
	if (ret)
		return ret;
	id = cpuid_identity(host);
	if (!id)
		return -ENOTSUP;
	memset(pol, 0, sizeof(*pol));
	pol->name = lv->name;
	pol->vendor = id->vendor;
	cpuid_fill(pol, lv, id);
	return 0;
}

int cpuid__build(int kvm_fd, const char *name, bool enforced,
		 struct cpuid_policy *pol)
{
	struct cpuid_policy *host = malloc(sizeof(*host));
	int ret;

	if (!host)
		return -ENOMEM;
	ret = cpuid__supported(kvm_fd, host);
	if (!ret)
		ret = cpuid__make(host, name, enforced, pol);
	free(host);
	return ret;
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
