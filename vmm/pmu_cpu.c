// SPDX-License-Identifier: Apache-2.0
/*
 * Which raw event counts the guest's retired conditional branches on this
 * host, and how early to interrupt: the one table of CPU families, and the
 * host's identity from its own CPUID instruction (the guest's CPUID is a
 * policy, cpuid.h, and says nothing about the host's PMU).
 */
#include "pmu.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

/*
 * Skid margins.  Intel: rr interrupts 100 branches early up to Alder Lake
 * and 125 from Raptor Lake on, and has run on that for years; the PMI
 * arrives within a few branches in practice.
 *
 * AMD Zen: the skid has no bound.  rr's 10,000 is a choice, not a
 * measured bound; a p99 skid of 384 with rare cases near 61,000 has been
 * reported.  A margin is paid on every landing as single-steps (about 5-10
 * instructions per conditional branch, a KVM debug exit each), so it is a
 * cost/risk trade-off, not a guarantee: 16384 is 40 times the reported
 * p99 and ~100k steps (0.1-0.2 s of stepping at bare-metal exit costs)
 * per landing.  A skid beyond it is never silent: the landing reports
 * it (PMU_LAND_SKID_PAST_TARGET) and the replay stops there.
 */
#define PMU_MARGIN_INTEL 100
#define PMU_MARGIN_INTEL_RPL 125
#define PMU_MARGIN_ZEN 16384

/* BR_INST_RETIRED.CONDITIONAL (event 0xc4 umask 0x01), up to Comet Lake. */
static const struct pmu_event ev_intel_snb = {
	.uarch = "Intel Nehalem to Comet Lake",
	.name = "BR_INST_RETIRED.CONDITIONAL",
	.config = 0x5101c4,
	.margin = PMU_MARGIN_INTEL,
};

/*
 * From Ice Lake on the same count is umask 0x11 (BR_INST_RETIRED.COND);
 * umask 0x01 there is COND_TAKEN and would miss every fall-through.
 */
static const struct pmu_event ev_intel_icl = {
	.uarch = "Intel Ice Lake to Rocket Lake",
	.name = "BR_INST_RETIRED.COND",
	.config = 0x5111c4,
	.margin = PMU_MARGIN_INTEL,
	.needs_freeze_on_smi = true,
};

static const struct pmu_event ev_intel_spr = {
	.uarch = "Intel Sapphire/Emerald Rapids",
	.name = "BR_INST_RETIRED.COND",
	.config = 0x5111c4,
	.margin = PMU_MARGIN_INTEL_RPL,
	.needs_freeze_on_smi = true,
};

static const struct pmu_event ev_intel_hybrid = {
	.uarch = "Intel hybrid (Alder Lake and later)",
	.name = "BR_INST_RETIRED.COND (P-cores)",
	.config = 0x5111c4,
	.margin = PMU_MARGIN_INTEL_RPL,
	.hybrid = true,
	.needs_freeze_on_smi = true,
};

/* Comet Lake needs freeze_on_smi too (rr), and shares the old event. */
static const struct pmu_event ev_intel_cml = {
	.uarch = "Intel Comet Lake",
	.name = "BR_INST_RETIRED.CONDITIONAL",
	.config = 0x5101c4,
	.margin = PMU_MARGIN_INTEL,
	.needs_freeze_on_smi = true,
};

/* PMCx0D1 Ex_Ret_Cond, the same event on every Zen (17h, 19h, 1Ah). */
static const struct pmu_event ev_amd_zen = {
	.uarch = "AMD Zen",
	.name = "Ex_Ret_Cond (PMCx0D1)",
	.config = 0x5100d1,
	.margin = PMU_MARGIN_ZEN,
	.needs_no_speclockmap = true,
};

struct pmu_family {
	enum pmu_vendor vendor;
	u32 family;
	const u8 *models;	/* 0-terminated; NULL: every model */
	const struct pmu_event *event;
};

/*
 * Display models of family 6.  Atom cores (Silvermont, Goldmont,
 * Tremont) are left out: their conditional-branch event is another
 * umask (0x7e) that nothing here has been checked against.
 */
static const u8 intel_snb_models[] = {
	0x1a, 0x1e, 0x1f, 0x2e,		/* Nehalem */
	0x25, 0x2c, 0x2f,		/* Westmere */
	0x2a, 0x2d,			/* Sandy Bridge */
	0x3a, 0x3e,			/* Ivy Bridge */
	0x3c, 0x3f, 0x45, 0x46,		/* Haswell */
	0x3d, 0x47, 0x4f, 0x56,		/* Broadwell */
	0x4e, 0x5e, 0x55,		/* Skylake, Cascade/Cooper Lake */
	0x8e, 0x9e,			/* Kaby/Coffee/Whiskey Lake */
	0,
};
static const u8 intel_cml_models[] = { 0xa5, 0xa6, 0 };
static const u8 intel_icl_models[] = {
	0x7d, 0x7e, 0x6a, 0x6c,		/* Ice Lake client, server */
	0x8c, 0x8d,			/* Tiger Lake */
	0xa7,				/* Rocket Lake */
	0,
};
static const u8 intel_spr_models[] = { 0x8f, 0xcf, 0 };
static const u8 intel_hybrid_models[] = {
	0x97, 0x9a,			/* Alder Lake */
	0xb7, 0xba, 0xbf,		/* Raptor Lake */
	0xaa, 0xac,			/* Meteor Lake */
	0xbd,				/* Lunar Lake */
	0xc5, 0xc6,			/* Arrow Lake */
	0,
};

static const struct pmu_family pmu_families[] = {
	{ PMU_VENDOR_INTEL, 6, intel_snb_models, &ev_intel_snb },
	{ PMU_VENDOR_INTEL, 6, intel_cml_models, &ev_intel_cml },
	{ PMU_VENDOR_INTEL, 6, intel_icl_models, &ev_intel_icl },
	{ PMU_VENDOR_INTEL, 6, intel_spr_models, &ev_intel_spr },
	{ PMU_VENDOR_INTEL, 6, intel_hybrid_models, &ev_intel_hybrid },
	{ PMU_VENDOR_AMD, 0x17, NULL, &ev_amd_zen },	/* Zen, Zen+, Zen 2 */
	{ PMU_VENDOR_AMD, 0x19, NULL, &ev_amd_zen },	/* Zen 3, Zen 4 */
	{ PMU_VENDOR_AMD, 0x1a, NULL, &ev_amd_zen },	/* Zen 5 */
};

void pmu__decode_cpu(const u32 leaf0[4], u32 eax, u32 ecx,
		     struct pmu_cpu *cpu)
{
	u32 base_family = (eax >> 8) & 0xf;

	memset(cpu, 0, sizeof(*cpu));
	/* The vendor string is ebx, edx, ecx in that order. */
	memcpy(cpu->vendor_id, &leaf0[1], 4);
	memcpy(cpu->vendor_id + 4, &leaf0[3], 4);
	memcpy(cpu->vendor_id + 8, &leaf0[2], 4);
	if (!strcmp(cpu->vendor_id, "GenuineIntel"))
		cpu->vendor = PMU_VENDOR_INTEL;
	else if (!strcmp(cpu->vendor_id, "AuthenticAMD"))
		cpu->vendor = PMU_VENDOR_AMD;
	/* SDM / APM: extended family counts only for base family 0xf. */
	cpu->family = base_family;
	if (base_family == 0xf)
		cpu->family += (eax >> 20) & 0xff;
	cpu->model = (eax >> 4) & 0xf;
	if (base_family == 0x6 || base_family == 0xf)
		cpu->model |= ((eax >> 16) & 0xf) << 4;
	cpu->stepping = eax & 0xf;
	cpu->hypervisor = ecx & (1u << 31);
}

void pmu__host_cpu(struct pmu_cpu *cpu)
{
	u32 l0[4] = { 0 }, eax = 0, ebx, ecx = 0, edx;

	__cpuid(0, l0[0], l0[1], l0[2], l0[3]);
	if (l0[0] >= 1)
		__cpuid(1, eax, ebx, ecx, edx);
	pmu__decode_cpu(l0, eax, ecx, cpu);
}

const struct pmu_event *pmu__event_for(const struct pmu_cpu *cpu)
{
	const struct pmu_family *f;
	const u8 *m;

	for (f = pmu_families; f < pmu_families + ARRAY_SIZE(pmu_families); f++) {
		if (f->vendor != cpu->vendor || f->family != cpu->family)
			continue;
		if (!f->models)
			return f->event;
		for (m = f->models; *m; m++)
			if (*m == cpu->model)
				return f->event;
	}
	return NULL;
}

const char *pmu__cpu_str(const struct pmu_cpu *cpu, char *buf, size_t size)
{
	const char *v = cpu->vendor == PMU_VENDOR_INTEL ? "Intel" :
			cpu->vendor == PMU_VENDOR_AMD	? "AMD" :
							  cpu->vendor_id;

	snprintf(buf, size, "%s family %#x model %#04x", v, cpu->family,
		 cpu->model);
	return buf;
}
