// SPDX-License-Identifier: Apache-2.0
/*
 * Stepping over a missed breakpoint without the trap flag (pin_search.h).
 *
 * After a hit whose digest is not the recorded one, the guest must run
 * the instruction under the breakpoint and stop again right after it, so
 * that the breakpoint can go back.  Single-stepping does that by setting
 * RFLAGS.TF, which KVM hides from the guest's view of its registers but
 * not from the CPU: when the instruction faults (a page fault on a user
 * instruction, say), the exception frame the CPU writes into guest memory
 * carries TF, a byte the recording never had (seen in the nested tier:
 * a replay differing from its recording in bit 8 of two saved RFLAGS,
 * on the entry stack and the task stack).  So, where the instruction's
 * successors can be known, a HLT byte goes on each instead: the next
 * instruction, and a direct branch's target, or a RET's return address.
 * A fault then simply runs the guest's handler, which returns to the
 * instruction; it runs again and stops on a successor.
 */
#include "pin_search.h"

#include <string.h>
#include <sys/ioctl.h>

#include "insn.h"
#include "report.h"
#include "vm.h"

#define HLT_BYTE 0xf4

static s64 over_rel(const u8 *p, unsigned int len, unsigned int bytes)
{
	if (bytes == 1)
		return (s8)p[len - 1];
	return (s32)((u32)p[len - 4] | (u32)p[len - 3] << 8 |
		     (u32)p[len - 2] << 16 | (u32)p[len - 1] << 24);
}

#define MSR_LSTAR 0xc0000082

static bool over_has_prefix(const u8 *p, const struct insn_op *op, u8 b)
{
	return memchr(p, b, op->prefixes) != NULL;
}

/* The memory operand's address (ModRM, SIB, displacement, RIP-relative). */
static u64 over_ea(const struct kvm_regs *r, const struct insn_op *op,
		   u64 after)
{
	u8 mod = op->modrm >> 6, rm = op->modrm & 7;
	u8 rex_b = op->rex & 1, rex_x = (op->rex >> 1) & 1;
	u64 ea = (u64)(s64)op->disp;

	if (!op->has_sib && mod == 0 && rm == 5) {
		ea += after;
	} else if (!op->has_sib) {
		ea += *kvm__gpr((struct kvm_regs *)r, rm | rex_b << 3);
	} else {
		u8 base = op->sib & 7;
		u8 index = ((op->sib >> 3) & 7) | rex_x << 3;

		if (!(mod == 0 && base == 5))
			ea += *kvm__gpr((struct kvm_regs *)r, base | rex_b << 3);
		if (index != 4)
			ea += *kvm__gpr((struct kvm_regs *)r, index)
			      << (op->sib >> 6);
	}
	return op->addr32 ? (u32)ea : ea;
}

/*
 * An indirect near CALL or JMP (FF /2, FF /4): its target, from a
 * register or memory.  Segment overrides (FS, GS) are not followed.
 */
static unsigned int over_indirect(struct vm *vm, const u8 *p,
				  const struct insn_op *op, u64 after,
				  u64 next[2])
{
	struct kvm_regs r;

	if (over_has_prefix(p, op, 0x64) || over_has_prefix(p, op, 0x65) ||
	    ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &r) < 0)
		return 0;
	if ((op->modrm >> 6) == 3) {
		next[0] = *kvm__gpr(&r, (op->modrm & 7) | (op->rex & 1) << 3);
		return 1;
	}
	return report__read_virt(&vm->kvm, over_ea(&r, op, after),
				 (u8 *)&next[0], 8) == 8;
}

/*
 * SYSCALL goes to IA32_LSTAR, SYSRET (64-bit) to RCX, IRETQ to the RIP
 * at the top of its frame: known from registers and memory, as a RET's.
 */
static unsigned int over_system(struct vm *vm, const struct insn_op *op,
				u64 next[2])
{
	const u32 lstar = MSR_LSTAR;
	struct kvm_regs r;
	bool wide = op->rex & 8;

	if (op->map == 1 && op->opcode == 0x05)
		return !kvm__get_msrs(vm->kvm.vcpu_fd, &lstar, &next[0], 1);
	if (!wide || ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &r) < 0)
		return 0;
	if (op->map == 1) {			/* SYSRETQ */
		next[0] = r.rcx;
		return 1;
	}
	return report__read_virt(&vm->kvm, r.rsp, (u8 *)&next[0], 8) == 8;
}

/*
 * Where the instruction p[0..len) at rip goes next: 1 or 2 addresses, or
 * 0 when that is not known from its bytes and the vCPU's state (far
 * transfers, INT, UD2...; those are single-stepped).
 */
static unsigned int over_successors(struct vm *vm, u64 rip, const u8 *p,
				    unsigned int len, const struct insn_op *op,
				    u64 next[2])
{
	struct kvm_regs regs;
	u64 after = rip + len;
	u8 o = op->opcode;

	next[0] = after;
	if (op->vex)
		return 1;
	if (op->map == 1) {
		if (o >= 0x80 && o <= 0x8f) {		/* Jcc rel32 */
			next[1] = after + over_rel(p, len, 4);
			return 2;
		}
		if (o == 0x05 || o == 0x07)		/* SYSCALL, SYSRET */
			return over_system(vm, op, next);
		/* SYSENTER, SYSEXIT, UD2, 0F 01 (VMCALL...), UD1, UD0 */
		return o == 0x34 || o == 0x35 || o == 0x0b || o == 0x01 ||
		       o == 0xb9 || o == 0xff ? 0 : 1;
	}
	if (op->map != 0)
		return 1;
	if ((o >= 0x70 && o <= 0x7f) || (o >= 0xe0 && o <= 0xe3)) {
		next[1] = after + over_rel(p, len, 1);	/* Jcc, LOOP, JrCXZ */
		return 2;
	}
	if (o == 0xeb || o == 0xe9 || o == 0xe8) {	/* JMP, CALL */
		next[0] = after + over_rel(p, len, o == 0xeb ? 1 : 4);
		return 1;
	}
	if (o == 0xc3 || o == 0xc2) {			/* RET: [RSP] */
		if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
		    report__read_virt(&vm->kvm, regs.rsp, (u8 *)&next[0], 8) != 8)
			return 0;
		return 1;
	}
	if (o == 0xff && (((op->modrm >> 3) & 7) == 2 ||
			  ((op->modrm >> 3) & 7) == 4))
		return over_indirect(vm, p, op, after, next);
	if (o == 0xff && (((op->modrm >> 3) & 7) == 3 ||
			  ((op->modrm >> 3) & 7) == 5))
		return 0;				/* far CALL, JMP */
	if (o == 0xcf)
		return over_system(vm, op, next);	/* IRETQ */
	switch (o) {
	case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce:
	case 0xf1: case 0xf4:			/* RETF, INT, HLT */
		return 0;
	case 0xc7:				/* XBEGIN may branch */
		return op->modrm == 0xf8 ? 0 : 1;
	default:
		return 1;
	}
}

#define PTE_P	(1ULL << 0)
#define PTE_U	(1ULL << 2)
#define PTE_PS	(1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL
#define CR4_LA57 (1ULL << 12)

/*
 * The guest-physical address of `rip` if it is mapped for the kernel only
 * (4-level paging).  A HLT byte is a breakpoint at CPL 0 alone: at CPL 3
 * it raises #GP in the guest, so user pages (U set at every level) get
 * none.  KVM_TRANSLATE does not say which a page is, hence the walk.
 */
bool pin__hlt_gpa(struct vm *vm, u64 rip, u64 *gpa)
{
	struct kvm_sregs s;
	u64 table, e = 0;
	bool user = true;

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &s) < 0 || (s.cr4 & CR4_LA57))
		return false;
	table = s.cr3 & PTE_ADDR;
	for (int level = 3; level >= 0; level--) {
		const u64 *t = guest_mem__ptr(&vm->kvm.mem, table, 4096);
		unsigned int shift = 12 + 9 * level;

		if (!t)
			return false;
		e = t[(rip >> shift) & 511];
		if (!(e & PTE_P))
			return false;
		user &= !!(e & PTE_U);
		if (level && level < 3 && (e & PTE_PS)) {
			*gpa = (e & PTE_ADDR & ~((1ULL << shift) - 1)) +
			       (rip & ((1ULL << shift) - 1));
			goto found;
		}
		table = e & PTE_ADDR;
	}
	*gpa = table + (rip & 4095);
found:
	return !user && guest_mem__ptr(&vm->kvm.mem, *gpa, 1);
}

/* Put a HLT byte at `rip`; false if it has no kernel page in guest RAM. */
static bool over_put(struct vm *vm, u64 rip)
{
	struct pin_over *ov = &vm->pin.over;
	u64 gpa;
	u8 *b;

	for (unsigned int i = 0; i < ov->n; i++)
		if (ov->rip[i] == rip)
			return true;
	if (!pin__hlt_gpa(vm, rip, &gpa) ||
	    !(b = guest_mem__ptr(&vm->kvm.mem, gpa, 1)))
		return false;
	ov->rip[ov->n] = rip;
	ov->gpa[ov->n] = gpa;
	ov->saved[ov->n] = *b;
	*b = HLT_BYTE;
	ov->n++;
	return true;
}

/*
 * The page-fault handler's address (IDT vector 14, 64-bit gate): where a
 * successor whose page is not mapped yet is reached first (the fetch
 * faults), and where the walk goes on from.
 */
static bool over_pf_handler(struct vm *vm, u64 *handler)
{
	struct kvm_sregs s;
	u8 gate[16];

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_SREGS, &s) < 0 || s.idt.limit < 14 * 16 + 15 ||
	    report__read_virt(&vm->kvm, s.idt.base + 14 * 16, gate, 16) != 16 ||
	    !(gate[5] & 0x80))
		return false;
	*handler = (u64)gate[0] | (u64)gate[1] << 8 | (u64)gate[6] << 16 |
		   (u64)gate[7] << 24 | (u64)gate[8] << 32 | (u64)gate[9] << 40 |
		   (u64)gate[10] << 48 | (u64)gate[11] << 56;
	return true;
}

bool pin_over__insert(struct vm *vm, u64 rip)
{
	bool pf = false;
	u64 handler;
	struct pin_search *ps = &vm->pin;
	u8 code[15];
	struct insn_op op;
	u64 next[2];
	unsigned int len, n;
	size_t got;

	if (!ps->long_mode)
		return false;
	got = report__read_virt(&vm->kvm, rip, code, sizeof(code));
	len = insn__length(code, got, &op);
	if (!len)
		return false;
	n = over_successors(vm, rip, code, len, &op, next);
	for (unsigned int i = 0; i < n; i++) {
		/* Onto itself (a one-instruction loop): that needs a step. */
		if (next[i] >= rip && next[i] < rip + len)
			n = 0;
	}
	for (unsigned int i = 0; i < n; i++) {
		u64 gpa;

		if (over_put(vm, next[i]))
			continue;
		/*
		 * Not mapped yet: the fetch faults, the handler comes first.
		 * Mapped but user code (a return to user mode): no HLT byte
		 * works there, single-step (which traps right after it).
		 */
		if (report__translate(&vm->kvm, next[i], &gpa) &&
		    (pf || (over_pf_handler(vm, &handler) &&
			    over_put(vm, handler)))) {
			pf = true;
			continue;
		}
		pin_over__remove(vm);
		return false;
	}
	return n > 0;
}

void pin_over__remove(struct vm *vm)
{
	struct pin_over *ov = &vm->pin.over;

	/* Last in, first out: two at one address keep the original. */
	while (ov->n) {
		u8 *b;

		ov->n--;
		b = guest_mem__ptr(&vm->kvm.mem, ov->gpa[ov->n], 1);
		if (b)
			*b = ov->saved[ov->n];
	}
}

bool pin_over__after(struct vm *vm)
{
	struct pin_over *ov = &vm->pin.over;
	struct kvm_regs regs;

	if (vm->kvm.run->exit_reason != KVM_EXIT_HLT ||
	    ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return false;
	for (unsigned int i = 0; i < ov->n; i++) {
		if (regs.rip != ov->rip[i] + 1)
			continue;
		pin_over__remove(vm);
		regs.rip--;
		return ioctl(vm->kvm.vcpu_fd, KVM_SET_REGS, &regs) == 0;
	}
	return false;
}
