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
 *   exactly what the instruction would have done.  Likewise FWAIT: a no-op
 *   unless an x87 exception is pending, then #MF.  And RDTSCP where the
 *   CPUID the guest sees (the host's, the policy not being enforced) has
 *   none: #UD, which is what the CPU would raise.  And the x87 FNCLEX,
 *   EMMS and FILD that Linux runs on AMD hosts before each FPU restore
 *   (quirks_x87.c).
 * - SYSCALL from ring 3 only half works (PVM-style hosts): RIP, RCX, R11
 *   and RFLAGS are updated but CS/SS stay at CPL 3, so the kernel's entry
 *   code runs in user mode and faults.  microvm completes the instruction
 *   (quirks_syscall.c): it keeps IF out of the real IA32_FMASK (the guest
 *   still reads and writes its own value through an MSR filter), so that
 *   with an interrupt window always requested KVM exits right after the
 *   SYSCALL; at that exit, CPL 3 at RIP == LSTAR with no exception pending
 *   can only be a SYSCALL, and microvm loads CS/SS from STAR and applies the
 *   guest's FMASK, as the instruction would have.  User code jumping to
 *   LSTAR itself faults (a kernel page), so it is not mistaken for one.
 */

struct quirks {
	const struct host_caps *caps;
	bool syscall_fix;	/* completing ring-3 SYSCALLs (see below) */
	bool sync_sregs;	/* KVM leaves the sregs in the run area */
	u64 guest_sfmask;	/* IA32_FMASK as the guest wrote it */
	u64 completed;		/* instructions microvm completed */
	u64 syscalls_fixed;
};

/*
 * Sets up the run-time workarounds the probe calls for.  Failing to set one
 * up is not fatal (the guest may never need it): it is reported and the
 * workaround stays off.
 */
void quirks__init(struct quirks *q, const struct kvm *kvm,
		  const struct host_caps *caps);
/* Words to append to a Linux command line, "" if none.  Static storage. */
const char *quirks__cmdline(const struct host_caps *caps);
/*
 * FNCLEX, EMMS or FILD m32int at RIP, which the host could not execute:
 * completed as the CPU would have (quirks_x87.c).  True if done.
 */
bool quirks__x87(const struct kvm *kvm, struct kvm_regs *regs);
/* A KVM_EXIT_INTERNAL_ERROR: true if the guest may continue. */
bool quirks__internal_error(struct quirks *q, const struct kvm *kvm);
/* KVM_EXIT_X86_RDMSR / WRMSR: true if handled. */
bool quirks__msr_exit(struct quirks *q, const struct kvm *kvm);
/*
 * After every return from KVM_RUN (but MSR exits): completes a SYSCALL the
 * host left half done.  True if it changed the vCPU state.
 */
bool quirks__after_exit(struct quirks *q, const struct kvm *kvm);
/*
 * Execute the 64-bit SYSCALL at r->rip (len bytes) on the vCPU: 0, or
 * -EAGAIN where it is not one (SCE off, not 64-bit code), or -errno.
 */
int quirks__syscall(const struct quirks *q, const struct kvm *kvm,
		    struct kvm_regs *r, unsigned int len);

/* The SYSCALL completion needs an exit as soon as one can be had. */
static inline bool quirks__want_exit(const struct quirks *q)
{
	return q->syscall_fix;
}

#endif
