// SPDX-License-Identifier: Apache-2.0
/* Host workarounds (see quirks.h for what and why). */
#include "quirks.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "report.h"

/*
 * Linux feature numbers (word * 32 + bit, arch/x86/include/asm/
 * cpufeatures.h): numbers rather than names, since every kernel version
 * that has clearcpuid= accepts them.
 */
#define CLEARCPUID_HIDDEN "4,9,59,149,152,158,306"

const char *quirks__cmdline(const struct host_caps *caps)
{
	static char buf[128];

	buf[0] = '\0';
	if (caps->cpuid_enforced == PROBE_NO)
		snprintf(buf, sizeof(buf), "clearcpuid=%s nolapic",
			 CLEARCPUID_HIDDEN);
	if (caps->xsave_native == PROBE_NO)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
			 buf[0] ? " " : "", "noxsave");
	return buf;
}

static bool quirks_int3(const struct kvm *kvm)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs regs;
	u8 insn;

	if (ioctl(kvm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return false;
	if (report__read_virt(kvm, regs.rip, &insn, 1) != 1 || insn != 0xcc)
		return false;
	if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	/* #BP is a trap: it is delivered with RIP after the instruction. */
	regs.rip++;
	if (ioctl(kvm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return false;
	ev.exception.injected = 1;
	ev.exception.nr = 3;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return ioctl(kvm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) == 0;
}

bool quirks__internal_error(const struct kvm *kvm,
			    const struct host_caps *caps, u64 *hits)
{
	const struct kvm_run *run = kvm->run;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	if (caps->int3_native == PROBE_NO && quirks_int3(kvm)) {
		(*hits)++;
		return true;
	}
	return false;
}
