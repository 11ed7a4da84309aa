// SPDX-License-Identifier: Apache-2.0
/*
 * Completing ring-3 SYSCALLs on hosts that only half execute them (see
 * quirks.h for the whole story; the probe is probe_syscall()).
 */
#include "quirks.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define RFLAGS_IF (1ULL << 9)
#define RFLAGS_FIXED (1ULL << 1)
#define EFER_SCE (1ULL << 0)
#define EFER_LMA (1ULL << 10)

static int quirks_set_msr(const struct kvm *kvm, u32 index, u64 value)
{
	return kvm__set_msrs(kvm->vcpu_fd, &index, &value, 1);
}

/* Guest RDMSR/WRMSR of IA32_FMASK exit to us; everything else stays in KVM. */
static int quirks_filter_fmask(const struct kvm *kvm)
{
	static u8 deny; /* bit clear: the access exits to userspace */
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { KVM_MSR_EXIT_REASON_FILTER },
	};
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };

	if (ioctl(kvm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	f.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	f.ranges[0].base = MSR_FMASK;
	f.ranges[0].nmsrs = 1;
	f.ranges[0].bitmap = &deny;
	if (ioctl(kvm->vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0)
		return -errno;
	return 0;
}

void quirks__init(struct quirks *q, const struct kvm *kvm,
		  const struct host_caps *caps)
{
	int ret;

	memset(q, 0, sizeof(*q));
	q->caps = caps;
	if (caps->syscall_to_cpl0 != PROBE_NO)
		return;
	ret = quirks_filter_fmask(kvm);
	if (ret) {
		pr_warn("this host does not complete SYSCALL from user mode and the workaround needs KVM MSR filtering (%s): guest user space will fault",
			strerror(-ret));
		return;
	}
	q->syscall_fix = true;
	/*
	 * The check after every exit starts with CS: have KVM put the
	 * segment registers in the run area at each exit, cheaper than a
	 * KVM_GET_SREGS (which loads the vCPU again: measured as half of
	 * a single-step's cost on a PVM-backed host).
	 */
	ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (ret > 0 && (ret & KVM_SYNC_X86_SREGS)) {
		kvm->run->kvm_valid_regs |= KVM_SYNC_X86_SREGS;
		q->sync_sregs = true;
	}
}

bool quirks__msr_exit(struct quirks *q, const struct kvm *kvm)
{
	struct kvm_run *run = kvm->run;

	if (!q->syscall_fix || run->msr.index != MSR_FMASK)
		return false;
	if (run->exit_reason == KVM_EXIT_X86_WRMSR) {
		q->guest_sfmask = run->msr.data;
		/* IF stays set across SYSCALL so the window exit comes at once. */
		run->msr.error = quirks_set_msr(kvm, MSR_FMASK,
						q->guest_sfmask & ~RFLAGS_IF) ? 1 : 0;
	} else {
		run->msr.data = q->guest_sfmask;
		run->msr.error = 0;
	}
	return true;
}

static void quirks_flat_segment(struct kvm_segment *s, u16 sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3;	/* execute/read accessed; read/write accessed */
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

/* Is the vCPU on the first instruction of the SYSCALL entry, at CPL 3? */
static bool quirks_at_half_syscall(const struct quirks *q,
				   const struct kvm *kvm, struct kvm_sregs *s,
				   struct kvm_regs *r, u64 *star)
{
	static const u32 index[2] = { MSR_LSTAR, MSR_STAR };
	struct kvm_vcpu_events ev;
	u64 msr[2];

	if (q->sync_sregs)
		*s = kvm->run->s.regs.sregs;
	else if (ioctl(kvm->vcpu_fd, KVM_GET_SREGS, s) < 0)
		return false;
	if (s->cs.dpl != 3)
		return false;
	if (ioctl(kvm->vcpu_fd, KVM_GET_REGS, r) < 0 ||
	    kvm__get_msrs(kvm->vcpu_fd, index, msr, 2) || r->rip != msr[0])
		return false;
	/* A user jump to LSTAR faults on the kernel page: not a SYSCALL. */
	if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0 ||
	    ev.exception.pending || ev.exception.injected)
		return false;
	/*
	 * The segments to change come from the ioctl, not the run area:
	 * written back from the run area's copy, the PVM-backed hosts
	 * double-faulted on the SWAPGS after a completed SYSCALL, though CS
	 * there matched the ioctl's (why, not found).  One ioctl per
	 * SYSCALL, not per exit.
	 */
	if (q->sync_sregs && ioctl(kvm->vcpu_fd, KVM_GET_SREGS, s) < 0)
		return false;
	*star = msr[1];
	return true;
}

/*
 * What SYSCALL does to the segments and RFLAGS in 64-bit mode: CS and SS
 * from IA32_STAR, the mask applied; then both register sets written.
 */
static int quirks_enter_kernel(const struct kvm *kvm, struct kvm_sregs *s,
			       struct kvm_regs *r, u64 star, u64 fmask)
{
	u16 cs = (star >> 32) & 0xfffc;

	quirks_flat_segment(&s->cs, cs, true);
	quirks_flat_segment(&s->ss, cs + 8, false);
	r->rflags = (r->rflags & ~fmask) | RFLAGS_FIXED;
	if (ioctl(kvm->vcpu_fd, KVM_SET_SREGS, s) < 0 ||
	    ioctl(kvm->vcpu_fd, KVM_SET_REGS, r) < 0)
		return -errno;
	return 0;
}

/*
 * A whole 64-bit SYSCALL at r->rip (len bytes), for the single-step
 * backend: executed natively, SYSCALL masks TF with IA32_FMASK (Linux's
 * has it) and the kernel's entry runs unstepped up to SYSRET, its RDTSCs
 * the host's.  Done here, the backend steps the entry like any code.
 */
int quirks__syscall(const struct quirks *q, const struct kvm *kvm,
		    struct kvm_regs *r, unsigned int len)
{
	static const u32 index[3] = { MSR_STAR, MSR_LSTAR, MSR_FMASK };
	struct kvm_sregs s;
	u64 msr[3];

	if (ioctl(kvm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	/* Not enabled (#UD) or not 64-bit code: the CPU's to do. */
	if (!(s.efer & EFER_SCE) || !(s.efer & EFER_LMA) || !s.cs.l) {
		pr_debug("step: SYSCALL at %#llx left to the CPU: efer %#llx, cs.l %u, cpl %u",
			 (unsigned long long)r->rip, (unsigned long long)s.efer,
			 s.cs.l, s.cs.dpl);
		return -EAGAIN;
	}
	if (kvm__get_msrs(kvm->vcpu_fd, index, msr, 3))
		return -EIO;
	if (q->syscall_fix)
		msr[2] = q->guest_sfmask;	/* the real one lacks IF */
	r->rcx = r->rip + len;
	r->r11 = r->rflags;
	r->rip = msr[1];
	return quirks_enter_kernel(kvm, &s, r, msr[0], msr[2]);
}

bool quirks__after_exit(struct quirks *q, const struct kvm *kvm)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	u64 star;
	int ret;

	if (!q->syscall_fix || !quirks_at_half_syscall(q, kvm, &s, &r, &star))
		return false;
	/* What SYSCALL does in 64-bit mode beyond what the host did. */
	ret = quirks_enter_kernel(kvm, &s, &r, star, q->guest_sfmask);
	if (ret) {
		pr_warn("cannot complete a guest SYSCALL: %s", strerror(-ret));
		return false;
	}
	/* The exit's view of IF is stale now. */
	kvm->run->ready_for_interrupt_injection = 0;
	kvm->run->if_flag = 0;
	q->syscalls_fixed++;
	return true;
}
