/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_QUIRKS_H
#define MICROVM_QUIRKS_H

#include "kvm.h"
#include "probe.h"

/*
 * Host-specific workarounds, all in one place and each applied only when
 * the host probe (probe.c) shows it is needed:
 *
 * - CPUID policy not enforced: a Linux guest sees the host's features
 *   whatever KVM_SET_CPUID2 said.  The kernel command line is the one
 *   lever left, so microvm appends "clearcpuid=" for the features its
 *   policy hides (TSC, APIC, RDTSCP, x2APIC, TSC-deadline, RDRAND, RDSEED)
 *   and "nolapic" (the platform has no local APIC; the 8259 is the
 *   interrupt controller).
 * - XSAVE cannot execute (instruction emulators): append "noxsave".
 * - INT3 cannot execute in 64-bit mode (same emulators): on the internal
 *   error, when the byte at RIP is 0xCC, skip it and inject #BP, which is
 *   exactly what the instruction would have done.
 */

/* Words to append to a Linux command line, "" if none.  Static storage. */
const char *quirks__cmdline(const struct host_caps *caps);
/*
 * Try to handle a KVM_EXIT_INTERNAL_ERROR; returns true if the guest may
 * continue.  Counts uses in *hits for the exit statistics.
 */
bool quirks__internal_error(const struct kvm *kvm,
			    const struct host_caps *caps, u64 *hits);

#endif
