/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PROBE_VM_H
#define MICROVM_PROBE_VM_H

#include "../boot/boot.h"
#include "cpuid.h"
#include "kvm.h"

/*
 * A throwaway VM for host probes and the PMU calibration: a few bytes of
 * 64-bit code at PROBE_CODE, entered in long mode with identity-mapped
 * page tables (boot/loader.c), so a guest address is its physical one.
 * No devices: every port access and HLT exits to the caller.
 */
#define PROBE_RAM (4 * MiB)
#define PROBE_CODE 0x100000ULL
#define PROBE_DATA 0x200000ULL
#define PROBE_PORT 0x10

struct probe_vm {
	struct kvm kvm;
	struct boot_info bi;
	struct cpuid_policy cpuid;	/* what the guest was given */
};

/*
 * Its CPUID is microvm's lowest policy (policy_cpuid) or everything KVM
 * supports, kept in p->cpuid for a probe to compare against.  -errno.
 */
int probe_vm__create(struct probe_vm *p, const u8 *code, size_t len,
		     bool policy_cpuid);
void probe_vm__destroy(struct probe_vm *p);
/* One KVM_RUN; returns the exit reason or -errno. */
int probe_vm__run(struct probe_vm *p);

#endif
