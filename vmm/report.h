/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_REPORT_H
#define MICROVM_REPORT_H

#include "kvm.h"

/* Guest virtual → guest physical through the vCPU's page tables. */
int report__translate(const struct kvm *kvm, u64 gva, u64 *gpa);
/* Copy guest-virtual bytes; returns how many could be read. */
size_t report__read_virt(const struct kvm *kvm, u64 gva, u8 *buf, size_t len);

/*
 * The one-screen report for a guest that cannot go on: why, the registers,
 * the bytes at RIP, and any extra lines (device state) the caller adds.
 * Goes to stderr.
 */
void report__crash(const struct kvm *kvm, const char *why,
		   const char *extra);

#endif
