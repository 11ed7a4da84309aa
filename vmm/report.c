// SPDX-License-Identifier: Apache-2.0
/* Crash reports: what a developer needs to see when the guest dies. */
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../serial/console.h"

int report__translate(const struct kvm *kvm, u64 gva, u64 *gpa)
{
	struct kvm_translation tr = { .linear_address = gva };

	if (ioctl(kvm->vcpu_fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return -1;
	*gpa = tr.physical_address;
	return 0;
}

size_t report__read_virt(const struct kvm *kvm, u64 gva, u8 *buf, size_t len)
{
	size_t done = 0;

	/* Page by page: consecutive virtual pages need not be contiguous. */
	while (done < len) {
		u64 gpa, chunk = 4096 - ((gva + done) & 4095);
		const u8 *p;

		chunk = MIN(chunk, len - done);
		if (report__translate(kvm, gva + done, &gpa))
			break;
		p = guest_mem__ptr(&kvm->mem, gpa, chunk);
		if (!p)
			break;
		memcpy(buf + done, p, chunk);
		done += chunk;
	}
	return done;
}

static void report_regs(const struct kvm *kvm)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(kvm->vcpu_fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(kvm->vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "  (registers unavailable)\n");
		return;
	}
	/*
	 * The architectural INIT state (CS f000, RIP fff0, real mode): a
	 * VMCB is undefined after a shutdown intercept, so KVM on AMD SVM
	 * re-initialises the vCPU before it reports KVM_EXIT_SHUTDOWN.
	 * microvm never starts a vCPU there, so what the guest ran when it
	 * faulted is gone; printing the reset values would mislead.
	 */
	if (r.rip == 0xfff0 && s.cs.selector == 0xf000 && !(s.cr0 & 1)) {
		fprintf(stderr, "  (the vCPU is in its reset state: this host's KVM re-initialised it, as it does on AMD SVM after a triple fault, so the registers at the fault are lost)\n");
		return;
	}
	fprintf(stderr,
		"  rip %016llx rsp %016llx rflags %08llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n"
		"  efer %llx cs %04x (l=%u) ss %04x idt %llx/%x gdt %llx/%x\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
		r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
		r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector,
		s.cs.l, s.ss.selector, s.idt.base, s.idt.limit, s.gdt.base,
		s.gdt.limit);

	{
		u8 code[16];
		size_t n = report__read_virt(kvm, r.rip, code, sizeof(code));
		size_t i;

		fprintf(stderr, "  bytes at rip:");
		for (i = 0; i < n; i++)
			fprintf(stderr, " %02x", code[i]);
		fprintf(stderr, "%s\n", n ? "" : " (not mapped in guest RAM)");
	}
}

void report__crash(const struct kvm *kvm, const char *why, const char *extra)
{
	console__restore();
	fprintf(stderr, "microvm: guest stopped: %s\n", why);
	report_regs(kvm);
	if (extra && *extra)
		fprintf(stderr, "%s", extra);
	fflush(stderr);
}
