// SPDX-License-Identifier: Apache-2.0
/* x87 state arithmetic (see x87.h). */
#include "x87.h"

#include <string.h>

#define FSW_TOP_SHIFT	11
#define FSW_TOP		(7u << FSW_TOP_SHIFT)
#define FSW_C1		(1u << 9)

void x87__from_int(s32 v, u8 out[16])
{
	u64 m = v < 0 ? (u64)-(s64)v : (u64)v;
	u16 se;

	memset(out, 0, 16);
	if (!m)
		return;		/* +0.0: all zero */
	/* Normalised: the integer bit (63) set, the exponent biased 16383. */
	se = (u16)(16383 + 63 - __builtin_clzll(m));
	m <<= __builtin_clzll(m);
	if (v < 0)
		se |= 0x8000;
	memcpy(out, &m, 8);
	memcpy(out + 8, &se, 2);
}

bool x87__push(struct kvm_fpu *f, const u8 val[16])
{
	unsigned int top = (f->fsw & FSW_TOP) >> FSW_TOP_SHIFT;
	unsigned int ntop = (top + 7) & 7;

	if (f->ftwx & (1u << ntop))
		return false;
	memmove(f->fpr[1], f->fpr[0], 7 * sizeof(f->fpr[0]));
	memcpy(f->fpr[0], val, 16);
	f->ftwx |= (u8)(1u << ntop);
	f->fsw = (u16)((f->fsw & ~(FSW_TOP | FSW_C1)) | ntop << FSW_TOP_SHIFT);
	return true;
}
