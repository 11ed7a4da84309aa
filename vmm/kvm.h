/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_KVM_H
#define MICROVM_KVM_H

#include <linux/kvm.h>

#include "../common/guest_mem.h"
#include "../common/util.h"

/*
 * Guest RAM lives below this address: the 3-4 GiB window is where the
 * device MMIO (virtio-mmio slots, the local APIC address Linux may poke)
 * sits, and one flat RAM slot keeps every guest-physical check trivial.
 */
#define KVM_RAM_MAX (3 * GiB)
#define KVM_RAM_MIN (2 * MiB)

struct kvm {
	int sys_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_mem mem;
	bool dirty_log;		/* KVM_MEM_LOG_DIRTY_PAGES on RAM */
};

/*
 * Open /dev/kvm and check the API version and the capabilities microvm
 * relies on.  Prints what is wrong and how to fix it; kvm->mem is left
 * alone.
 */
int kvm__open(struct kvm *kvm);
/*
 * Guest RAM, mem_size bytes for guest-physical 0: plain host memory, so
 * that the kernel and initrd can be loaded (and checked) before /dev/kvm
 * is opened.
 */
int kvm__alloc_ram(struct kvm *kvm, u64 mem_size);
/* Create the VM with the RAM of kvm__alloc_ram(), and vCPU 0. */
int kvm__create_vm(struct kvm *kvm);
void kvm__close(struct kvm *kvm);
/*
 * Read or write n model-specific registers of a vCPU (KVM_GET/SET_MSRS).
 * Returns 0, or -EIO when KVM handled fewer than n, or -errno.
 */
int kvm__get_msrs(int vcpu_fd, const u32 *index, u64 *value, unsigned int n);
int kvm__set_msrs(int vcpu_fd, const u32 *index, const u64 *value,
		  unsigned int n);
/* Check a --mem value; prints the reason when it is refused. */
int kvm__check_mem_size(u64 mem_size);
/*
 * Make KVM's paravirtual MSRs and hypercalls (kvmclock...) follow the
 * CPUID policy, which offers none, where KVM can (Linux 5.10+): 1 if
 * enforced, 0 where KVM cannot, -errno on failure.
 */
int kvm__enforce_pv_cpuid(const struct kvm *kvm);
/*
 * Have the next KVM_RUN deliver exception `vector` (no error code) at the
 * current RIP, as if the instruction there had raised it: for what a
 * host executes that the architecture faults on, or cannot execute at all.
 */
int kvm__inject_exception(const struct kvm *kvm, u8 vector);
/* In an STI or MOV SS interrupt shadow (true also if it cannot be read). */
bool kvm__in_shadow(const struct kvm *kvm);
/*
 * An interrupt, exception or NMI on its way in: KVM delivers it at the
 * next entry, before the instruction at RIP (true also if it cannot be
 * read).  A stop there is not "at the instruction": a breakpoint on it
 * hits only after the handler has run and returned.
 */
bool kvm__event_pending(const struct kvm *kvm);
/* General register `enc` (x86 encoding order: rax, rcx, rdx, rbx, ...). */
__u64 *kvm__gpr(struct kvm_regs *r, unsigned int enc);
/*
 * KVM's dirty-page log on guest RAM (the replay core's memory digests):
 * enable it, and fetch-and-clear it into bitmap (one bit per 4 KiB page).
 */
int kvm__enable_dirty_log(struct kvm *kvm);
int kvm__get_dirty_log(const struct kvm *kvm, u64 *bitmap);

#endif
