// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the CPUID policies (vmm/cpuid.c), on synthetic host
 * tables: the guest's CPU identity and features never come from the host,
 * and a host that cannot give a policy's feature is named.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "vmm/cpuid.h"

static void host_add(struct cpuid_policy *h, u32 fn, u32 a, u32 b, u32 c,
		     u32 d)
{
	struct kvm_cpuid_entry2 *e = &h->entries[h->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
}

/* A generous host: every feature bit set, its own identity and sizes. */
static void make_host(struct cpuid_policy *h, const char *vendor)
{
	u32 v[3];

	memset(h, 0, sizeof(*h));
	memcpy(v, vendor, 12);
	host_add(h, 0, 0x10, v[0], v[2], v[1]);
	host_add(h, 1, 0x00a10f11, 0xffffffff, 0xffffffff, 0xffffffff);
	host_add(h, 7, 0, 0xffffffff, 0xffffffff, 0xffffffff);
	host_add(h, 0x80000000, 0x80000021, v[0], v[2], v[1]);
	host_add(h, 0x80000001, 0, 0, 0xffffffff, 0xffffffff);
	host_add(h, 0x80000002, 0x41414141, 0x41414141, 0x41414141, 0x41414141);
	host_add(h, 0x80000008, 0x3030, 0xffffffff, 0xff, 0);
}

static const struct kvm_cpuid_entry2 *leaf(const struct cpuid_policy *p,
					    u32 fn)
{
	const struct kvm_cpuid_entry2 *e = cpuid__find(p, fn, 0);

	CHECK(e != NULL);
	return e;
}

static void test_identity_is_fixed(void)
{
	struct cpuid_policy host, pol;
	char vendor[13] = "", brand[49] = "";

	make_host(&host, "AuthenticAMD");
	CHECK_EQ(cpuid__make(&host, "default", true, &pol), 0);
	CHECK(!strcmp(pol.vendor, "AuthenticAMD"));
	memcpy(vendor, &leaf(&pol, 0)->ebx, 4);
	memcpy(vendor + 4, &leaf(&pol, 0)->edx, 4);
	memcpy(vendor + 8, &leaf(&pol, 0)->ecx, 4);
	CHECK(!strcmp(vendor, "AuthenticAMD"));
	CHECK_EQ(leaf(&pol, 0)->eax, 7);
	CHECK_EQ(leaf(&pol, 1)->eax, 0x00800f12);	/* not the host's */
	CHECK_EQ(leaf(&pol, 1)->ebx, 0x00010800);
	CHECK_EQ(leaf(&pol, 0x80000000)->eax, 0x80000008);
	CHECK_EQ(leaf(&pol, 0x80000008)->eax, 36 | 48 << 8);
	CHECK_EQ(leaf(&pol, 0x80000008)->ebx, 0);
	for (u32 fn = 0x80000002; fn <= 0x80000004; fn++)
		memcpy(brand + (fn - 0x80000002) * 16, &leaf(&pol, fn)->eax, 16);
	CHECK(!strcmp(brand, "microvm virtual CPU (AMD)"));
	/* Every leaf up to each maximum is there (no fall-through). */
	for (u32 fn = 0; fn <= 7; fn++)
		CHECK(cpuid__find(&pol, fn, 0) != NULL);
	for (u32 fn = 0x80000000; fn <= 0x80000008; fn++)
		CHECK(cpuid__find(&pol, fn, 0) != NULL);

	make_host(&host, "GenuineIntel");
	CHECK_EQ(cpuid__make(&host, "default", true, &pol), 0);
	CHECK_EQ(leaf(&pol, 1)->eax, 0x00050654);
	CHECK_EQ(leaf(&pol, 0x80000000)->ebx, 0);	/* vendor is AMD's habit */
}

static void test_features_are_the_policy(void)
{
	struct cpuid_policy host, v1, v2, def;

	make_host(&host, "AuthenticAMD");
	CHECK_EQ(cpuid__make(&host, "v1", true, &v1), 0);
	CHECK_EQ(cpuid__make(&host, "v2", true, &v2), 0);
	CHECK_EQ(cpuid__make(&host, "default", true, &def), 0);
	/* Exactly the level's bits, whatever else the host has. */
	CHECK_EQ(leaf(&v1, 1)->ecx, 0);
	CHECK_EQ(leaf(&v2, 1)->ecx, 0x00982201);
	CHECK_EQ(leaf(&def, 1)->ecx, 0x02d82203);
	CHECK_EQ(leaf(&def, 1)->edx, 0x0789f1e9);
	CHECK_EQ(leaf(&def, 7)->ebx, 0x109);
	CHECK_EQ(leaf(&def, 0x80000001)->edx, 0x24100800);
	/* Never: TSC, APIC, x2APIC, TSC-deadline, XSAVE, RDRAND, hypervisor. */
	CHECK_EQ(leaf(&def, 1)->edx & ((1u << 4) | (1u << 9)), 0);
	CHECK_EQ(leaf(&def, 1)->ecx &
		 ((1u << 21) | (1u << 24) | (1u << 26) | (1u << 30) | (1u << 31)), 0);
	CHECK(cpuid__find(&def, 0xd, 0) == NULL);
	CHECK(cpuid__find(&def, 0xa, 0) == NULL);
	CHECK(cpuid__find(&def, 0x40000000, 0) == NULL);
}

static void test_host_shortfall(void)
{
	struct cpuid_policy host, pol;
	struct kvm_cpuid_entry2 *l1;
	int fds[2], saved;
	char msg[1024] = "";
	ssize_t n;

	make_host(&host, "AuthenticAMD");
	l1 = (struct kvm_cpuid_entry2 *)cpuid__find(&host, 1, 0);
	l1->ecx &= ~(1u << 20);		/* no SSE4.2 */
	CHECK(pipe(fds) == 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fds[1], 2);
	CHECK_EQ(cpuid__make(&host, "default", true, &pol), (u64)(s64)-ENOTSUP);
	CHECK_EQ(cpuid__make(&host, "v2", true, &pol), (u64)(s64)-ENOTSUP);
	CHECK_EQ(cpuid__make(&host, "nonsense", true, &pol), (u64)(s64)-EINVAL);
	fflush(stderr);
	dup2(saved, 2);
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	CHECK(strstr(msg, "SSE4.2") && strstr(msg, "--cpu-policy"));
	CHECK(strstr(msg, "unknown CPU policy 'nonsense'"));
	/* The lower level does not need it. */
	CHECK_EQ(cpuid__make(&host, "v1", true, &pol), 0);
	/*
	 * A host that does not enforce CPUID shows the guest its own
	 * values whatever KVM offers: nothing to check, the policy is built.
	 */
	CHECK_EQ(cpuid__make(&host, "default", false, &pol), 0);
	CHECK(cpuid__find(&pol, 1, 0)->ecx & (1u << 20));
	close(saved);
	/* A vendor without an identity is refused (says so on stderr). */
	make_host(&host, "HygonGenuine");
	CHECK_EQ(cpuid__make(&host, "v1", true, &pol), (u64)(s64)-ENOTSUP);
}

int main(void)
{
	RUN(test_identity_is_fixed);
	RUN(test_features_are_the_policy);
	RUN(test_host_shortfall);
	CHECK(cpuid__policy_exists("v1") && !cpuid__policy_exists("v9"));
	return check_summary();
}
