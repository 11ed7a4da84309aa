// SPDX-License-Identifier: Apache-2.0
/* The simulated PMU counter's settings, from the environment (pmu_fault.h). */
#include "pmu_fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MARGIN 64
#define SIM_SKID 7

int pmu_fault__from_env(struct pmu_sim *s)
{
	const char *spec = getenv("MICROVM_PMU_SIM");
	char buf[128], *tok, *save, *end;

	*s = (struct pmu_sim){ .margin = SIM_MARGIN, .skid = SIM_SKID };
	if (!spec)
		return 0;
	if (strlen(spec) >= sizeof(buf)) {
		pr_err("MICROVM_PMU_SIM: too long");
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long v = 0;

		if (!strcmp(tok, "lost") || !strcmp(tok, "noselftest")) {
			*(tok[0] == 'l' ? &s->lost : &s->no_selftest) = true;
			continue;
		}
		if (eq) {
			*eq = 0;
			errno = 0;
			v = strtoul(eq + 1, &end, 0);
		}
		if (!eq || errno || end == eq + 1 || *end || v > 1u << 30) {
			pr_err("MICROVM_PMU_SIM: bad item '%s' (margin=N, skid=N, drift=N, lost or noselftest)",
			       tok);
			return -EINVAL;
		}
		if (!strcmp(tok, "margin") && v) {
			s->margin = (u32)v;
		} else if (!strcmp(tok, "skid")) {
			s->skid = (u32)v;
		} else if (!strcmp(tok, "drift")) {
			s->drift = (u32)v;
		} else {
			pr_err("MICROVM_PMU_SIM: bad item '%s' (margin=N with N >= 1, skid=N, drift=N, lost or noselftest)",
			       tok);
			return -EINVAL;
		}
	}
	return 0;
}
