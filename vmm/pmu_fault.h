/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PMU_FAULT_H
#define MICROVM_PMU_FAULT_H

#include "../common/util.h"

/*
 * The simulated PMU counter's settings and faults, for the tests of the
 * PMU backend on hosts without a PMU (all of this project's): the
 * calibration over a simulated counter (pmu_calib.h) and --pin=pmu-sim
 * (pin_pmu.h).
 */
struct pmu_sim {
	u32 margin;	/* arm the overflow this many branches early */
	u32 skid;	/* the overflow arrives this many branches late */
	u32 drift;	/* counts added per VM entry (a Zen counting VMRUN) */
	bool lost;	/* the overflow never arrives */
	bool no_selftest; /* --pin=pmu-sim: skip the calibration (tests of the landing) */
};

/*
 * The simulated counter's faults from MICROVM_PMU_SIM, a comma list of
 * margin=N, skid=N, drift=N, lost and noselftest (default margin 64,
 * skid 7, the rest off).  -EINVAL with the reason said.
 */
int pmu_fault__from_env(struct pmu_sim *s);

#endif
