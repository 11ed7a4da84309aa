// SPDX-License-Identifier: Apache-2.0
/*
 * vCPU state for the 64-bit boot protocol entry: long mode with paging on
 * (identity tables from boot__setup_tables), CS = __BOOT_CS, the data
 * segments = __BOOT_DS, interrupts off, RSI = zero page, RIP = entry.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot.h"

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define SEG_TYPE_CODE_XRA	0xb	/* execute/read, accessed */
#define SEG_TYPE_DATA_RWA	0x3	/* read/write, accessed */
#define SEG_TYPE_TSS64_BUSY	0xb
#define SEG_TYPE_LDT		0x2

#define FPU_FCW_DEFAULT		0x37f	/* FNINIT: all exceptions masked */
#define FPU_MXCSR_DEFAULT	0x1f80	/* reset: all SIMD exceptions masked */

static void cpu_flat_seg(struct kvm_segment *s, u16 sel, u8 type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;	/* KVM takes the byte-granular limit */
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;		/* code/data, not system */
	s->g = 1;
	/* 64-bit code has L=1 and must have D=0; data is a 32-bit "big" seg. */
	s->l = code;
	s->db = !code;
}

static int cpu_ioctl(int fd, unsigned long req, void *arg, const char *name)
{
	if (ioctl(fd, req, arg) < 0) {
		int err = errno;

		pr_err("%s on the vCPU failed: %s", name, strerror(err));
		return -err;
	}
	return 0;
}

int boot__setup_vcpu(int vcpu_fd, const struct boot_info *bi)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int ret;

	ret = cpu_ioctl(vcpu_fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	if (ret < 0)
		return ret;

	/*
	 * PE and PG are what long mode needs.  ET is hardwired to 1 on every
	 * CPU since the 486.  NE selects native x87 error reporting (#MF)
	 * rather than the legacy FERR#/IRQ13 path we do not model, and MP
	 * makes WAIT honour TS: together the state Linux itself sets.  WP
	 * makes read-only pages read-only for ring 0 too.  CD and NW, set at
	 * reset, are cleared: the guest must not run uncached.
	 */
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	/*
	 * PAE is the one bit long mode needs; the kernel enables PGE, OSFXSR
	 * and the rest itself once it knows the CPU.
	 */
	sregs.cr4 = CR4_PAE;
	sregs.cr3 = bi->pml4;
	/*
	 * LMA is normally set by the CPU when paging is turned on with LME;
	 * KVM_SET_SREGS takes the final state, so both are given.
	 */
	sregs.efer = EFER_LME | EFER_LMA;

	sregs.gdt.base = bi->gdt_base;
	sregs.gdt.limit = bi->gdt_limit;
	/*
	 * An empty IDT: an exception before the kernel has loaded its own
	 * becomes a triple fault, i.e. a clean KVM_EXIT_SHUTDOWN, instead of
	 * a jump through whatever the reset state's 0xffff-byte IDT holds.
	 */
	sregs.idt.base = 0;
	sregs.idt.limit = 0;

	cpu_flat_seg(&sregs.cs, BOOT_CS, SEG_TYPE_CODE_XRA, true);
	cpu_flat_seg(&sregs.ds, BOOT_DS, SEG_TYPE_DATA_RWA, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;

	/*
	 * VM entry wants a usable TR holding a busy 64-bit TSS (Firecracker
	 * does the same); it matches the descriptor at BOOT_TSS in the GDT.
	 */
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = BOOT_TSS_ADDR;
	sregs.tr.limit = 103;
	sregs.tr.selector = BOOT_TSS;
	sregs.tr.type = SEG_TYPE_TSS64_BUSY;
	sregs.tr.present = 1;

	/* No LDT. */
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = SEG_TYPE_LDT;
	sregs.ldt.unusable = 1;

	/*
	 * The platform has no local APIC, so IA32_APIC_BASE is 0 (not even
	 * globally enabled).  This matters beyond tidiness: KVM derives
	 * CPUID leaf 1 EDX bit 9 (APIC) from IA32_APIC_BASE.EN, whatever
	 * KVM_SET_CPUID2 said, and the reset value has EN set.  Left alone,
	 * a guest on a KVM that does enforce the CPUID policy still sees
	 * the APIC bit, and the CPUID probe (vmm/probe.c, which uses this
	 * same vCPU setup) would report the policy as not enforced.
	 */
	sregs.apic_base = 0;

	ret = cpu_ioctl(vcpu_fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	if (ret < 0)
		return ret;

	/* RFLAGS bit 1 is reserved-as-one; IF clear: interrupts disabled. */
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = bi->entry;
	regs.rsi = bi->zero_page;
	ret = cpu_ioctl(vcpu_fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
	if (ret < 0)
		return ret;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = FPU_FCW_DEFAULT;
	fpu.mxcsr = FPU_MXCSR_DEFAULT;
	return cpu_ioctl(vcpu_fd, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}
