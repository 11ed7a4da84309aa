// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the PMU event table and host check (vmm/pmu_cpu.c,
 * vmm/pmu.c): synthetic CPUID values pick the right raw event and margin,
 * unknown families get none, and on a host without a PMU the probe says
 * "no PMU" with its reason; MICROVM_PMU_SIM sets the simulated counter's
 * faults and refuses what it does not know.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/check.h"
#include "vmm/pmu.h"
#include "vmm/pmu_fault.h"

static const u32 intel[4] = { 0x1b, 0x756e6547, 0x6c65746e, 0x49656e69 };
static const u32 amd[4] = { 0x10, 0x68747541, 0x444d4163, 0x69746e65 };
static const u32 other[4] = { 0x10, 0x746e6543, 0x736c7561, 0x48727561 };

/* CPUID.1 EAX for a display family/model (the inverse of the decoding). */
static u32 eax_of(u32 family, u32 model, u32 stepping)
{
	u32 base = family > 0xf ? 0xf : family;
	u32 ext = family > 0xf ? family - 0xf : 0;

	return ext << 20 | (model >> 4) << 16 | base << 8 | (model & 0xf) << 4 |
	       stepping;
}

static const struct pmu_event *event(const u32 *l0, u32 family, u32 model)
{
	struct pmu_cpu cpu;

	pmu__decode_cpu(l0, eax_of(family, model, 1), 0, &cpu);
	CHECK_EQ(cpu.family, family);
	CHECK_EQ(cpu.model, model);
	return pmu__event_for(&cpu);
}

static void test_decode(void)
{
	struct pmu_cpu cpu;
	char buf[64];

	/* A Skylake-SP: family 6, model 0x55, stepping 4. */
	pmu__decode_cpu(intel, 0x00050654, 0, &cpu);
	CHECK_EQ(cpu.vendor, PMU_VENDOR_INTEL);
	CHECK(!strcmp(cpu.vendor_id, "GenuineIntel"));
	CHECK_EQ(cpu.family, 6);
	CHECK_EQ(cpu.model, 0x55);
	CHECK_EQ(cpu.stepping, 4);
	CHECK(!cpu.hypervisor);
	/* An EPYC Turin (Zen 5): base family 0xf + extended 0xb, model 2. */
	pmu__decode_cpu(amd, 0x00b00f21, 1u << 31, &cpu);
	CHECK_EQ(cpu.vendor, PMU_VENDOR_AMD);
	CHECK_EQ(cpu.family, 0x1a);
	CHECK_EQ(cpu.model, 0x02);
	CHECK(cpu.hypervisor);
	CHECK(!strcmp(pmu__cpu_str(&cpu, buf, sizeof(buf)),
		      "AMD family 0x1a model 0x02"));
	/* Extended family counts only for base family 0xf. */
	pmu__decode_cpu(intel, 0x01050654, 0, &cpu);
	CHECK_EQ(cpu.family, 6);
	/* Extended model counts only for families 6 and 0xf. */
	pmu__decode_cpu(intel, 0x00010500 | 0x30, 0, &cpu);
	CHECK_EQ(cpu.family, 5);
	CHECK_EQ(cpu.model, 3);
}

static void test_events(void)
{
	const struct pmu_event *e;

	/* Up to Comet Lake: umask 0x01. */
	e = event(intel, 6, 0x2a);		/* Sandy Bridge */
	CHECK(e && e->config == 0x5101c4 && e->margin == 100);
	e = event(intel, 6, 0x55);		/* Skylake-SP */
	CHECK(e && e->config == 0x5101c4);
	e = event(intel, 6, 0x9e);		/* Coffee Lake */
	CHECK(e && e->config == 0x5101c4);
	e = event(intel, 6, 0xa5);		/* Comet Lake */
	CHECK(e && e->config == 0x5101c4 && e->needs_freeze_on_smi);
	/* From Ice Lake on: umask 0x11 (0x01 counts taken branches only). */
	e = event(intel, 6, 0x7e);		/* Ice Lake client */
	CHECK(e && e->config == 0x5111c4 && e->margin == 100);
	e = event(intel, 6, 0x6a);		/* Ice Lake server */
	CHECK(e && e->config == 0x5111c4);
	e = event(intel, 6, 0x8c);		/* Tiger Lake */
	CHECK(e && e->config == 0x5111c4);
	e = event(intel, 6, 0x8f);		/* Sapphire Rapids */
	CHECK(e && e->config == 0x5111c4 && e->margin == 125 && !e->hybrid);
	e = event(intel, 6, 0x97);		/* Alder Lake */
	CHECK(e && e->config == 0x5111c4 && e->hybrid);
	/* Zen 1 to 5: PMCx0D1, an unbounded skid, a wide margin. */
	e = event(amd, 0x17, 0x31);		/* Rome */
	CHECK(e && e->config == 0x5100d1 && e->needs_no_speclockmap);
	e = event(amd, 0x19, 0x11);		/* Genoa */
	CHECK(e && e->config == 0x5100d1);
	e = event(amd, 0x1a, 0x02);		/* Turin */
	CHECK(e && e->config == 0x5100d1);
	CHECK(e && e->margin > 384 * 10);	/* the reported p99 skid */
	/* Unknown: no event rather than a guess. */
	CHECK(event(amd, 0x15, 0x02) == NULL);	/* Bulldozer family */
	CHECK(event(intel, 6, 0x37) == NULL);	/* Silvermont (Atom) */
	CHECK(event(intel, 6, 0x0f) == NULL);	/* Merom */
	CHECK(event(intel, 0xf, 0x04) == NULL);	/* NetBurst */
	CHECK(event(other, 6, 0x0f) == NULL);
}

static bool has_pmu_sysfs(void)
{
	struct stat st;

	return !stat("/sys/bus/event_source/devices/cpu", &st) ||
	       !stat("/sys/bus/event_source/devices/cpu_core", &st);
}

static void test_probe_this_host(void)
{
	struct pmu_probe p;
	struct pmu_cpu cpu;

	pmu__probe(&p);
	printf("pmu__probe() on this host: %s\n", p.reason);
	pmu__host_cpu(&cpu);
	CHECK(!memcmp(&cpu, &p.cpu, sizeof(cpu)));
	CHECK(p.event == pmu__event_for(&cpu));
	CHECK(p.reason[0] != 0);
	if (!has_pmu_sysfs()) {
		CHECK_EQ(p.verdict, PMU_NO_PMU);
		CHECK(!strncmp(p.reason, "no PMU: ", 8));
	}
	CHECK((p.verdict == PMU_USABLE) == !strncmp(p.reason, "raw ", 4));
}

static int sim_env(const char *spec, struct pmu_sim *s)
{
	setenv("MICROVM_PMU_SIM", spec, 1);
	return pmu_fault__from_env(s);
}

static void test_sim_env(void)
{
	struct pmu_sim s;

	unsetenv("MICROVM_PMU_SIM");
	CHECK_EQ(pmu_fault__from_env(&s), 0);
	CHECK_EQ(s.margin, 64);
	CHECK_EQ(s.skid, 7);
	CHECK(!s.drift && !s.lost && !s.no_selftest);
	CHECK_EQ(sim_env("margin=8,skid=3,drift=2,lost,noselftest", &s), 0);
	CHECK_EQ(s.margin, 8);
	CHECK_EQ(s.skid, 3);
	CHECK_EQ(s.drift, 2);
	CHECK(s.lost && s.no_selftest);
	CHECK_EQ(sim_env("skid=0x10", &s), 0);
	CHECK_EQ(s.skid, 16);
	CHECK_EQ(s.margin, 64);
	CHECK_EQ(sim_env("margin=0", &s), -EINVAL);
	CHECK_EQ(sim_env("skid=", &s), -EINVAL);
	CHECK_EQ(sim_env("skid=3x", &s), -EINVAL);
	CHECK_EQ(sim_env("speed=3", &s), -EINVAL);
	CHECK_EQ(sim_env("margin", &s), -EINVAL);
	CHECK_EQ(sim_env("drift=99999999999", &s), -EINVAL);
	unsetenv("MICROVM_PMU_SIM");
}

int main(void)
{
	RUN(test_decode);
	RUN(test_events);
	RUN(test_probe_this_host);
	RUN(test_sim_env);
	return check_summary();
}
