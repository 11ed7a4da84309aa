// SPDX-License-Identifier: Apache-2.0
/*
 * The x87 arithmetic behind the FILD completion (vmm/x87.c): an int32
 * must become exactly the 80-bit value the CPU's own conversion gives
 * (this compiler's long double on x86-64 is that format), and a push must
 * move TOP, the stack and the tags as FILD does, and refuse an overflow.
 */
#include <limits.h>
#include <string.h>

#include "check.h"
#include "vmm/x87.h"

static void check_int(s32 v)
{
	long double ld = (long double)v;
	u8 want[16] = { 0 }, got[16];

	memcpy(want, &ld, 10);
	x87__from_int(v, got);
	CHECK(!memcmp(want, got, 16));
}

static void test_from_int(void)
{
	static const s32 vals[] = {
		0, 1, -1, 2, -2, 3, 5, 7, 100, -100, 4096, 65535, -65536,
		0x12345678, -0x12345678, INT_MAX, INT_MIN, INT_MIN + 1,
	};
	u32 x = 0x9e3779b9;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		check_int(vals[i]);
	for (int i = 0; i < 10000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		check_int((s32)x);
	}
}

static void test_push(void)
{
	struct kvm_fpu f;
	u8 a[16], b[16];

	memset(&f, 0, sizeof(f));
	f.fsw = 0x0200;			/* TOP 0, C1 set */
	x87__from_int(7, a);
	x87__from_int(-3, b);
	CHECK(x87__push(&f, a));
	CHECK_EQ((f.fsw >> 11) & 7, 7);	/* TOP 0 - 1 */
	CHECK_EQ(f.fsw & 0x0200, 0);	/* C1 cleared */
	CHECK_EQ(f.ftwx, 0x80);		/* physical register 7 in use */
	CHECK(!memcmp(f.fpr[0], a, 16));
	CHECK(x87__push(&f, b));
	CHECK_EQ((f.fsw >> 11) & 7, 6);
	CHECK_EQ(f.ftwx, 0xc0);
	CHECK(!memcmp(f.fpr[0], b, 16));	/* ST(0) the new one */
	CHECK(!memcmp(f.fpr[1], a, 16));	/* ST(1) the old ST(0) */
	/* Full stack: the ninth push is an overflow, refused untouched. */
	f.ftwx = 0xff;
	CHECK(!x87__push(&f, a));
	CHECK_EQ((f.fsw >> 11) & 7, 6);
}

int main(void)
{
	RUN(test_from_int);
	RUN(test_push);
	return check_summary();
}
