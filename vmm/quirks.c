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
 * that has clearcpuid= accepts them.  The policy hides these; a guest that
 * sees them anyway would read host time (TSC, RDTSCP), host randomness
 * (RDRAND, RDSEED), look for a local APIC the platform does not have
 * (APIC, x2APIC, TSC-deadline), or use instructions the policy never
 * promised (SMAP's CLAC/STAC, RDPID).
 */
#define CLEARCPUID_HIDDEN "4,9,59,149,152,158,306,308,534"

/* Linux's number for the feature behind each probed instruction. */
static const int insn_linux_feature[PROBE_INSN_NR] = {
	[PROBE_INSN_INT3] = -1,		/* worked around at run time */
	[PROBE_INSN_XSAVE] = -1,	/* "noxsave" takes the AVX family too */
	[PROBE_INSN_POPCNT] = 4 * 32 + 23,
	[PROBE_INSN_MOVBE] = 4 * 32 + 22,
	[PROBE_INSN_RDFSBASE] = 9 * 32 + 0,
	[PROBE_INSN_TZCNT] = 9 * 32 + 3,
	[PROBE_INSN_SHLX] = 9 * 32 + 8,
	[PROBE_INSN_LZCNT] = 6 * 32 + 5,
	[PROBE_INSN_FWAIT] = -1,	/* completed at run time */
};

/* Append word to buf, after sep when buf is not empty. */
static void append(char *buf, size_t len, char sep, const char *word)
{
	size_t n = strlen(buf);

	if (n && n + 1 < len)
		buf[n++] = sep;
	snprintf(buf + n, len - n, "%s", word);
}

const char *quirks__cmdline(const struct host_caps *caps)
{
	static char buf[256];
	char ids[160] = "";
	unsigned int i;

	buf[0] = '\0';
	if (caps->cpuid_enforced == PROBE_NO)
		snprintf(ids, sizeof(ids), "%s", CLEARCPUID_HIDDEN);
	for (i = 0; i < PROBE_INSN_NR; i++) {
		char num[16];

		if (caps->insn[i] != PROBE_NO || insn_linux_feature[i] < 0)
			continue;
		snprintf(num, sizeof(num), "%d", insn_linux_feature[i]);
		append(ids, sizeof(ids), ',', num);
	}
	/* Linux 6.1 reads at most 127 characters of clearcpuid=. */
	if (ids[0])
		snprintf(buf, sizeof(buf), "clearcpuid=%s", ids);
	if (caps->cpuid_enforced == PROBE_NO)
		append(buf, sizeof(buf), ' ', "nolapic");
	if (caps->insn[PROBE_INSN_XSAVE] == PROBE_NO)
		append(buf, sizeof(buf), ' ', "noxsave");
	return buf;
}

/* #BP is a trap: it is delivered with RIP after the instruction. */
static bool quirks_int3(const struct kvm *kvm, struct kvm_regs *regs)
{
	regs->rip++;
	if (ioctl(kvm->vcpu_fd, KVM_SET_REGS, regs) < 0)
		return false;
	return kvm__inject_exception(kvm, 3) == 0;
}

/*
 * FWAIT checks for pending unmasked x87 exceptions: none (FSW.ES clear)
 * makes it a no-op, otherwise it raises #MF (vector 16) with RIP still on
 * the FWAIT.
 */
static bool quirks_fwait(const struct kvm *kvm, struct kvm_regs *regs)
{
	struct kvm_fpu fpu;

	if (ioctl(kvm->vcpu_fd, KVM_GET_FPU, &fpu) < 0)
		return false;
	if (fpu.fsw & 0x80)
		return kvm__inject_exception(kvm, 16) == 0;
	regs->rip++;
	return ioctl(kvm->vcpu_fd, KVM_SET_REGS, regs) == 0;
}

/*
 * RDTSCP where CPUID says there is none is #UD, but the PVM-backed hosts'
 * emulator fails on it instead (seen: tests/guests/tsc-rand).  The probe
 * read the CPUID those hosts show the guest (not the policy, not this
 * process's own): with the bit clear there, raise the #UD the CPU should
 * have; with it set the failure stays (emulating it would hand the guest
 * host time).
 */
static bool quirks_rdtscp(const struct quirks *q, const struct kvm *kvm,
			  u64 rip)
{
	u8 insn[3];

	if (report__read_virt(kvm, rip, insn, 3) != 3 ||
	    memcmp(insn, "\x0f\x01\xf9", 3))
		return false;
	if (q->caps->seen_x1_edx & (1u << 27))
		return false;
	return kvm__inject_exception(kvm, 6) == 0;
}

bool quirks__internal_error(struct quirks *q, const struct kvm *kvm)
{
	const struct kvm_run *run = kvm->run;
	struct kvm_regs regs;
	bool done = false;
	u8 insn;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	if (ioctl(kvm->vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
	    report__read_virt(kvm, regs.rip, &insn, 1) != 1)
		return false;
	if (insn == 0xcc && q->caps->insn[PROBE_INSN_INT3] == PROBE_NO)
		done = quirks_int3(kvm, &regs);
	else if (insn == 0x9b && q->caps->insn[PROBE_INSN_FWAIT] == PROBE_NO)
		done = quirks_fwait(kvm, &regs);
	else if (insn == 0x0f && q->caps->cpuid_enforced == PROBE_NO &&
		 quirks_rdtscp(q, kvm, regs.rip))
		done = true;
	else
		done = quirks__x87(kvm, &regs);
	if (done)
		q->completed++;
	return done;
}
