/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PMU_CALIB_H
#define MICROVM_PMU_CALIB_H

#include "pmu.h"
#include "pmu_fault.h"
#include "pmu_land.h"

/*
 * The PMU self-test on a real vCPU (docs/pinning.md): a throwaway VM
 * (probe_vm.h) runs a calibration guest that retires a known number of
 * conditional branches between port exits, with an interrupt injected at
 * every other exit, and pmu_land__selftest() judges the counter against
 * it: exact counts free-running and single-stepped, no drift per VM
 * entry, and an overflow that arrives within the margin.
 *
 * The counter is the host's (the event of pmu.h, opened on the calling
 * thread) or a simulated one that follows the true count, which the
 * calibration knows by single-stepping every instruction: that runs the
 * same guest, vCPU ops and verdicts on hosts without a PMU, and its
 * faults (skid, drift, a lost overflow) show the verdicts can fail.
 */
/*
 * Run the calibration: with the perf counter for `ev` (sim NULL) or the
 * simulated one.  Needs /dev/kvm; an error opening the VM or the counter
 * is PMU_SELFTEST_ERROR with the reason in res.  Uses PMU_SIGNAL on the
 * calling thread for the overflow.
 */
enum pmu_selftest_verdict pmu_calib__run(const struct pmu_event *ev,
					 const struct pmu_sim *sim,
					 struct pmu_selftest *res);

#endif
