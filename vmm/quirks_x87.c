// SPDX-License-Identifier: Apache-2.0
/*
 * x87 instructions the PVM-backed hosts' instruction emulator cannot
 * execute (KVM's emulator knows FNINIT, FNSTCW and FNSTSW only): FNCLEX,
 * EMMS and FILD m32int.  Linux runs exactly these three on AMD CPUs that
 * lack XSaveErPtr (X86_BUG_FXSAVE_LEAK, restore_fpregs_from_fpstate()),
 * before every FPU state restore; seen on an AMD family 19h host, where
 * the guest sees no XSaveErPtr.  Each is completed here as the CPU would
 * have, through KVM_GET_FPU / KVM_SET_FPU, and the guest goes on.
 */
#include "quirks.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "report.h"
#include "x87.h"

/* The instruction at RIP, decoded as far as these three need. */
struct x87_insn {
	u8 len;
	u8 op;			/* 0xdb: FNCLEX or FILD; 0x77: EMMS */
	u8 modrm;
	u64 addr;		/* FILD: the operand's linear address */
};

/* Memory operand of a ModRM byte (64-bit addressing); -1 if unsupported. */
static int x87_modrm_addr(const u8 *b, size_t n, size_t *i, u8 rex,
			  struct kvm_regs *r, u64 *addr)
{
	u8 modrm = b[*i - 1], mod = modrm >> 6, rm = modrm & 7;
	u64 a = 0;
	s64 disp = 0;

	if (rm == 4) {			/* SIB */
		u8 sib, idx, base;

		if (*i >= n)
			return -1;
		sib = b[(*i)++];
		idx = (u8)(((sib >> 3) & 7) | (rex & 2 ? 8 : 0));
		base = (u8)((sib & 7) | (rex & 1 ? 8 : 0));
		if (idx != 4)
			a += *kvm__gpr(r, idx) << (sib >> 6);
		if ((sib & 7) == 5 && mod == 0)
			mod = 2;	/* disp32, no base */
		else
			a += *kvm__gpr(r, base);
	} else if (rm == 5 && mod == 0) {
		a = 0;			/* RIP-relative: the caller adds it */
		mod = 2;
	} else {
		a = *kvm__gpr(r, rm | (rex & 1 ? 8 : 0));
	}
	if (mod == 1 && *i < n) {
		disp = (s8)b[(*i)++];
	} else if (mod == 2 && *i + 4 <= n) {
		disp = (s32)(b[*i] | b[*i + 1] << 8 | b[*i + 2] << 16 |
			     (u32)b[*i + 3] << 24);
		*i += 4;
	} else if (mod == 1 || mod == 2) {
		return -1;
	}
	*addr = a + (u64)disp;
	return 0;
}

static int x87_decode(const struct kvm *kvm, struct kvm_regs *r,
		      const struct kvm_sregs *s, struct x87_insn *in)
{
	u8 b[15], rex = 0;
	size_t n = report__read_virt(kvm, r->rip, b, sizeof(b)), i = 0;
	u64 seg = 0, addr;
	bool rip_rel;

	for (; i < n; i++) {
		if (b[i] == 0x64 || b[i] == 0x65)
			seg = b[i] == 0x64 ? s->fs.base : s->gs.base;
		else if (b[i] == 0x67 || b[i] == 0xf0)
			return -1;	/* 32-bit addressing, LOCK: not ours */
		else if (b[i] != 0x2e && b[i] != 0x36 && b[i] != 0x3e &&
			 b[i] != 0x26 && b[i] != 0x66)
			break;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i + 2 > n)
		return -1;
	memset(in, 0, sizeof(*in));
	if (b[i] == 0x0f && b[i + 1] == 0x77) {
		in->op = 0x77;		/* EMMS */
		in->len = (u8)(i + 2);
		return 0;
	}
	if (b[i] != 0xdb)
		return -1;
	in->op = 0xdb;
	in->modrm = b[i + 1];
	i += 2;
	if (in->modrm == 0xe2) {	/* FNCLEX */
		in->len = (u8)i;
		return 0;
	}
	/* FILD m32int: DB /0 with a memory operand. */
	if ((in->modrm & 0x38) || (in->modrm >> 6) == 3)
		return -1;
	rip_rel = (in->modrm & 0xc7) == 0x05;
	if (x87_modrm_addr(b, n, &i, rex, r, &addr))
		return -1;
	in->len = (u8)i;
	if (rip_rel)
		addr += r->rip + in->len;
	in->addr = seg + addr;
	return 0;
}

/* FILD m32int: the operand from guest memory, pushed; false on overflow. */
static bool x87_fild(struct kvm_fpu *f, const struct kvm *kvm, u64 addr)
{
	u8 val[16];
	s32 v;

	if (report__read_virt(kvm, addr, (u8 *)&v, sizeof(v)) != sizeof(v))
		return false;
	x87__from_int(v, val);
	if (!x87__push(f, val))
		return false;	/* overflow: #IS, left to the failure */
	f->last_dp = addr;
	return true;
}

bool quirks__x87(const struct kvm *kvm, struct kvm_regs *r)
{
	struct kvm_sregs s;
	struct kvm_fpu f;
	struct x87_insn in;

	if (ioctl(kvm->vcpu_fd, KVM_GET_SREGS, &s) < 0 || !s.cs.l ||
	    x87_decode(kvm, r, &s, &in) ||
	    ioctl(kvm->vcpu_fd, KVM_GET_FPU, &f) < 0)
		return false;
	if (in.op == 0x77) {
		f.ftwx = 0;		/* EMMS: every register empty */
	} else if (in.modrm == 0xe2) {
		f.fsw &= 0x7f00;	/* FNCLEX: exceptions, ES and B clear */
	} else {
		if (!x87_fild(&f, kvm, in.addr))
			return false;
		f.last_ip = r->rip;
		f.last_opcode = (u16)((0xdb & 7) << 8 | in.modrm);
	}
	r->rip += in.len;
	return ioctl(kvm->vcpu_fd, KVM_SET_FPU, &f) == 0 &&
	       ioctl(kvm->vcpu_fd, KVM_SET_REGS, r) == 0;
}
