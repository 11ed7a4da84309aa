// SPDX-License-Identifier: Apache-2.0
/*
 * The single-step backend's instruction classifier (see insn.h).  Legacy
 * prefixes and REX are skipped; then a handful of opcodes matter.
 */
#include "insn.h"

#include <string.h>

#define INSN_MAX 15

static bool insn_legacy_prefix(u8 b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e:	/* segments */
	case 0x64: case 0x65:
	case 0x66: case 0x67:				/* sizes */
	case 0xf0: case 0xf2: case 0xf3:		/* LOCK, REP */
		return true;
	default:
		return false;
	}
}

/* 0F C7 /6 and /7 with a register operand: RDRAND, RDSEED (not RDPID). */
static void insn_group9(const u8 *p, size_t left, u8 rex, bool opsize16,
			bool rep, struct insn *out)
{
	u8 modrm, reg;

	if (left < 1)
		return;
	modrm = p[0];
	reg = (modrm >> 3) & 7;
	if ((modrm >> 6) != 3 || reg < 6)
		return;	/* CMPXCHG8B/16B, VMPTRLD...: the CPU's business */
	if (rep)
		return;	/* F3 0F C7 /7 is RDPID (guest state), /6 SENDUIPI */
	out->kind = reg == 6 ? INSN_RDRAND : INSN_RDSEED;
	out->reg = (u8)((modrm & 7) | ((rex & 1) << 3));
	out->opsize = (rex & 8) ? 8 : opsize16 ? 2 : 4;
}

/* After 0F: p points at the second opcode byte. */
static void insn_0f(const u8 *p, size_t left, u8 rex, bool opsize16,
		    bool rep, struct insn *out)
{
	u8 op;

	if (left < 1)
		return;
	op = p[0];
	if (op >= 0x80 && op <= 0x8f) {
		out->kind = INSN_BRANCH;
	} else if (op == 0x31) {
		out->kind = INSN_RDTSC;
		out->len = 1;
	} else if (op == 0x01 && left >= 2) {
		u8 modrm = p[1];

		if (modrm == 0xf9) {
			out->kind = INSN_RDTSCP;
			out->len = 2;
		} else if ((modrm >> 6) != 3 && ((modrm >> 3) & 7) == 7) {
			out->kind = INSN_FLUSH;	/* INVLPG m */
		} else if ((modrm >> 6) != 3 && ((modrm >> 3) & 7) == 3) {
			out->kind = INSN_FLUSH;	/* LIDT m: a new IDT */
		}
	} else if (op == 0x05) {
		out->kind = INSN_SYSCALL;
		out->len = 1;
	} else if (op == 0x07) {
		out->kind = INSN_RFLAGS;	/* SYSRET */
	} else if (op == 0x22) {
		out->kind = INSN_FLUSH;		/* MOV CRn, r */
	} else if (op == 0x38 && left >= 2 && p[1] == 0x82) {
		out->kind = INSN_FLUSH;		/* INVPCID */
	} else if (op == 0xc7) {
		insn_group9(p + 1, left - 1, rex, opsize16, rep, out);
		if (out->kind == INSN_RDRAND || out->kind == INSN_RDSEED)
			out->len = 2;
	}
}

void insn__decode(const u8 *buf, size_t avail, bool long_mode,
		  struct insn *out)
{
	size_t n = MIN(avail, (size_t)INSN_MAX), i = 0;
	bool opsize16 = false, rep = false, lock = false;
	u8 rex = 0, op;

	memset(out, 0, sizeof(*out));
	for (; i < n; i++) {
		if (insn_legacy_prefix(buf[i])) {
			opsize16 |= buf[i] == 0x66;
			rep |= buf[i] == 0xf3 || buf[i] == 0xf2;
			lock |= buf[i] == 0xf0;
			rex = 0;	/* REX counts only right before the opcode */
		} else if (long_mode && (buf[i] & 0xf0) == 0x40) {
			rex = buf[i];
		} else {
			break;
		}
	}
	if (i >= n)
		return;
	op = buf[i++];
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) {
		out->kind = INSN_BRANCH;
		return;
	}
	if (op == 0xf4 && !lock && !rep) {
		out->kind = INSN_HLT;
		out->len = (u8)i;
		return;
	}
	if (op == 0x9d || op == 0xcf) {
		out->kind = INSN_RFLAGS;	/* POPF, IRET */
		return;
	}
	if (op != 0x0f)
		return;
	insn_0f(buf + i, n - i, rex, opsize16, rep, out);
	/* LOCK on any of these is #UD, whatever the host does. */
	if (lock && out->len) {
		memset(out, 0, sizeof(*out));
		out->kind = INSN_UD;
		return;
	}
	/* The emulated kinds' len counted from the second opcode byte. */
	if (out->len) {
		out->len = (u8)(out->len + i);
		if (out->len > n)
			memset(out, 0, sizeof(*out));
	}
}

const char *insn__name(enum insn_kind kind)
{
	static const char *const names[] = {
		[INSN_OTHER] = "other", [INSN_BRANCH] = "branch",
		[INSN_RDTSC] = "rdtsc", [INSN_RDTSCP] = "rdtscp",
		[INSN_RDRAND] = "rdrand", [INSN_RDSEED] = "rdseed",
		[INSN_FLUSH] = "flush", [INSN_RFLAGS] = "rflags",
		[INSN_UD] = "locked (#UD)", [INSN_HLT] = "hlt",
		[INSN_SYSCALL] = "syscall",
	};

	return kind <= INSN_SYSCALL ? names[kind] : "?";
}
