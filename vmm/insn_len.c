// SPDX-License-Identifier: Apache-2.0
/*
 * Instruction lengths in 64-bit mode (see insn__length() in insn.h).
 *
 * Only the length is decoded, which on x86 is fixed by the prefixes, the
 * opcode map and opcode, the ModRM/SIB addressing form and an immediate
 * whose size the opcode gives.  The tables below say, per opcode, whether
 * a ModRM byte follows and what immediate comes after it; the few opcodes
 * whose immediate depends on more than that are done in code.
 */
#include "insn.h"

#define INSN_MAX 15

/*
 * One character per opcode:
 *   .  opcode only           m  ModRM
 *   b  imm8                  B  ModRM, imm8
 *   z  imm16/32 (66: 16)     Z  ModRM, imm16/32
 *   v  imm16/32/64 (MOV r, imm: REX.W 64, 66 16)
 *   w  imm16                 e  imm16, imm8 (ENTER)
 *   o  moffs (8 bytes, 67: 4)  j  rel32
 *   f  ModRM, an immediate only for /0 and /1 (F6, F7: TEST)
 *   p  prefix (handled before the table)
 *   ?  escape: 0F, VEX (C4, C5), EVEX (62), 0F 38, 0F 3A
 *   x  not an instruction in 64-bit mode
 */
static const char map_one[256 + 1] =
	"mmmmbzxxmmmmbzx?"	/* 00 */
	"mmmmbzxxmmmmbzxx"	/* 10 */
	"mmmmbzpxmmmmbzpx"	/* 20 */
	"mmmmbzpxmmmmbzpx"	/* 30 */
	"pppppppppppppppp"	/* 40: REX */
	"................"	/* 50 */
	"xx?mppppzZbB...."	/* 60 */
	"bbbbbbbbbbbbbbbb"	/* 70 */
	"BZxBmmmmmmmmmmmm"	/* 80 */
	"..........x....."	/* 90 */
	"oooo....bz......"	/* a0 */
	"bbbbbbbbvvvvvvvv"	/* b0 */
	"BBw.??BZe.w..bx."	/* c0 */
	"mmmmxxx.mmmmmmmm"	/* d0 */
	"bbbbbbbbjjxb...."	/* e0 */
	"p.pp..ff......mm";	/* f0 */

static const char map_0f[256 + 1] =
	"mmmmx.....x.xm.B"	/* 00: 0F 0F is 3DNow!, ModRM then imm8 */
	"mmmmmmmmmmmmmmmm"	/* 10 */
	"mmmmxxxxmmmmmmmm"	/* 20 */
	"......x.?x?xxxxx"	/* 30 */
	"mmmmmmmmmmmmmmmm"	/* 40 */
	"mmmmmmmmmmmmmmmm"	/* 50 */
	"mmmmmmmmmmmmmmmm"	/* 60 */
	"BBBBmmm.mmxxmmmm"	/* 70 */
	"jjjjjjjjjjjjjjjj"	/* 80 */
	"mmmmmmmmmmmmmmmm"	/* 90 */
	"...mBmxx...mBmmm"	/* a0 */
	"mmmmmmmmmmBmmmmm"	/* b0 */
	"mmBmBBBm........"	/* c0 */
	"mmmmmmmmmmmmmmmm"	/* d0 */
	"mmmmmmmmmmmmmmmm"	/* e0 */
	"mmmmmmmmmmmmmmmm";	/* f0 */

struct len_state {
	const u8 *p;
	size_t left;
	unsigned int n;		/* bytes so far */
	bool opsize16, addr32, rexw;
};

static bool len_legacy_prefix(u8 b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

/* Take the next byte; false when the buffer or 15 bytes run out. */
static bool len_next(struct len_state *s, u8 *b)
{
	if (s->n >= s->left || s->n >= INSN_MAX)
		return false;
	*b = s->p[s->n++];
	return true;
}

static bool len_skip(struct len_state *s, unsigned int bytes)
{
	s->n += bytes;
	return s->n <= s->left && s->n <= INSN_MAX;
}

/* The displacement of `bytes` bytes, sign-extended. */
static bool len_disp(struct len_state *s, unsigned int bytes,
		     struct insn_op *op)
{
	unsigned int at = s->n;

	if (!len_skip(s, bytes))
		return false;
	if (bytes == 1)
		op->disp = (s8)s->p[at];
	else if (bytes == 4)
		op->disp = (s32)((u32)s->p[at] | (u32)s->p[at + 1] << 8 |
				 (u32)s->p[at + 2] << 16 |
				 (u32)s->p[at + 3] << 24);
	return true;
}

/* ModRM, SIB and displacement; 32- and 64-bit addressing look alike. */
static bool len_modrm(struct len_state *s, struct insn_op *op)
{
	u8 mod, rm;

	if (!len_next(s, &op->modrm))
		return false;
	op->has_modrm = true;
	mod = op->modrm >> 6;
	rm = op->modrm & 7;
	if (mod == 3)
		return true;
	if (rm == 4) {
		if (!len_next(s, &op->sib))
			return false;
		op->has_sib = true;
		if (mod == 0 && (op->sib & 7) == 5)
			return len_disp(s, 4, op);
	} else if (mod == 0 && rm == 5) {
		return len_disp(s, 4, op);	/* RIP-relative */
	}
	return len_disp(s, mod == 1 ? 1 : mod == 2 ? 4 : 0, op);
}

/*
 * What follows the opcode, by its table character.  E8, E9 and the 0F 8x
 * branches are taken as rel32: Intel ignores a 66 prefix on them in
 * 64-bit mode (AMD would read rel16; no compiler emits that).
 */
static bool len_operands(struct len_state *s, char c, struct insn_op *op)
{
	/* REX.W wins over 66. */
	unsigned int imm_z = s->opsize16 && !s->rexw ? 2 : 4;

	if ((c == 'm' || c == 'B' || c == 'Z' || c == 'f') && !len_modrm(s, op))
		return false;
	switch (c) {
	case '.': case 'm':
		return true;
	case 'b': case 'B':
		return len_skip(s, 1);
	case 'z': case 'Z':
		return len_skip(s, imm_z);
	case 'f':
		if (((op->modrm >> 3) & 7) > 1)
			return true;
		return len_skip(s, op->opcode == 0xf6 ? 1 : imm_z);
	case 'v':
		return len_skip(s, s->rexw ? 8 : imm_z);
	case 'w':
		return len_skip(s, 2);
	case 'e':
		return len_skip(s, 3);
	case 'o':
		return len_skip(s, s->addr32 ? 4 : 8);
	case 'j':
		return len_skip(s, 4);
	default:
		return false;	/* 'x', or a prefix out of place */
	}
}

/*
 * VEX (C4, C5) and EVEX (62) in 64-bit mode: a payload of 2, 1 or 3
 * bytes naming the map, then opcode and ModRM (always, but for VZEROUPPER
 * and VZEROALL), then imm8 where map 0F 3A or the 0F map's table has one.
 */
static bool len_vex(struct len_state *s, u8 esc, struct insn_op *op)
{
	u8 b, map = 1;
	char c;

	if (!len_next(s, &b))
		return false;
	if (esc == 0xc4)
		map = b & 0x1f;
	else if (esc == 0x62)
		map = b & 0x07;
	if (!len_skip(s, esc == 0xc4 ? 1 : esc == 0x62 ? 2 : 0))
		return false;
	if (!len_next(s, &op->opcode))
		return false;
	op->map = map;
	op->vex = true;
	if (map == 1 && op->opcode == 0x77 && esc != 0x62)
		return true;
	if (map == 3)
		c = 'B';
	else if (map == 1)
		c = map_0f[op->opcode] == 'B' ? 'B' : 'm';
	else if (map == 2 || (esc == 0x62 && (map == 5 || map == 6)))
		c = 'm';
	else
		return false;
	return len_operands(s, c, op);
}

/* After 0F: the two- and three-byte maps. */
static bool len_escape(struct len_state *s, struct insn_op *op)
{
	char c;

	if (!len_next(s, &op->opcode))
		return false;
	op->map = 1;
	c = map_0f[op->opcode];
	if (op->opcode == 0x38 || op->opcode == 0x3a) {
		op->map = op->opcode == 0x38 ? 2 : 3;
		if (!len_next(s, &op->opcode))
			return false;
		c = op->map == 2 ? 'm' : 'B';
	}
	return len_operands(s, c, op);
}

unsigned int insn__length(const u8 *buf, size_t avail, struct insn_op *op)
{
	struct len_state s = { .p = buf, .left = avail };
	struct insn_op dummy;
	u8 b, rex = 0;
	bool ok;

	if (!op)
		op = &dummy;
	*op = (struct insn_op){ 0 };
	for (;;) {
		if (!len_next(&s, &b))
			return 0;
		if (b >= 0x40 && b <= 0x4f) {
			rex = b;	/* counts only right before the opcode */
			continue;
		}
		if (!len_legacy_prefix(b))
			break;
		rex = 0;
		s.opsize16 |= b == 0x66;
		s.addr32 |= b == 0x67;
	}
	s.rexw = rex & 8;
	op->rex = rex;
	op->addr32 = s.addr32;
	op->prefixes = (u8)(s.n - 1);
	op->opcode = b;
	if (b == 0x0f)
		ok = len_escape(&s, op);
	else if (b == 0xc4 || b == 0xc5 || b == 0x62)
		ok = !rex && len_vex(&s, b, op);
	else if (b == 0x8f && s.n < avail && (buf[s.n] & 0x38))
		ok = false;	/* XOP (AMD only): not decoded */
	else
		ok = len_operands(&s, map_one[b], op);
	return ok ? s.n : 0;
}
