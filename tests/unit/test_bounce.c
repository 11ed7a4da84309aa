// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the bounce-buffer pool (blk/bounce.c). */
#include <errno.h>
#include <string.h>

#include "blk/bounce.h"
#include "tests/unit/check.h"

static void test_reuse(void)
{
	struct bounce_pool p;
	void *a, *b, *c;

	bounce__init(&p, 1 * MiB);
	CHECK_EQ(bounce__get(&p, 4096, &a), 0);
	CHECK_EQ(bounce__get(&p, 3000, &b), 0);	/* same 4 KiB class */
	CHECK(a != b);
	memset(a, 1, 4096);
	memset(b, 2, 4096);
	bounce__put(&p, a, 4096);
	CHECK_EQ(bounce__get(&p, 512, &c), 0);
	CHECK(c == a);			/* reused, not allocated */
	CHECK_EQ(p.allocs, 2);
	CHECK_EQ(p.held, 8192);
	bounce__put(&p, b, 3000);
	bounce__put(&p, c, 512);
	/* Steady state: a request cycle allocates nothing. */
	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(bounce__get(&p, 4096, &a), 0);
		bounce__put(&p, a, 4096);
	}
	CHECK_EQ(p.allocs, 2);
	bounce__exit(&p);
	CHECK_EQ(p.held, 0);
}

static void test_budget(void)
{
	struct bounce_pool p;
	void *big[4], *x, *small;

	bounce__init(&p, 256 * KiB);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(bounce__get(&p, 64 * KiB, &big[i]), 0);
	CHECK_EQ(p.held, 256 * KiB);
	/* Spent by buffers in use: wait. */
	CHECK_EQ(bounce__get(&p, 4096, &x), (u64)(s64)-EAGAIN);
	/* One comes back idle: an other class reclaims its room. */
	bounce__put(&p, big[0], 64 * KiB);
	CHECK_EQ(bounce__get(&p, 4096, &small), 0);
	CHECK(p.held <= p.budget);
	/* Never servable. */
	CHECK_EQ(bounce__get(&p, 512 * KiB, &x), (u64)(s64)-E2BIG);
	CHECK_EQ(bounce__get(&p, 0, &x), (u64)(s64)-E2BIG);
	CHECK_EQ(bounce__get(&p, BOUNCE_MAX_BYTES + 1, &x), (u64)(s64)-E2BIG);
	bounce__put(&p, small, 4096);
	for (int i = 1; i < 4; i++)
		bounce__put(&p, big[i], 64 * KiB);
	bounce__exit(&p);
	CHECK_EQ(p.held, 0);
}

static void test_classes(void)
{
	struct bounce_pool p;
	void *buf;

	bounce__init(&p, 64 * MiB);
	CHECK_EQ(bounce__get(&p, BOUNCE_MAX_BYTES, &buf), 0);
	memset(buf, 0xff, BOUNCE_MAX_BYTES);	/* really that big */
	CHECK_EQ(p.held, BOUNCE_MAX_BYTES);
	bounce__put(&p, buf, BOUNCE_MAX_BYTES);
	CHECK_EQ(bounce__get(&p, 4097, &buf), 0);
	CHECK_EQ(p.held, BOUNCE_MAX_BYTES + 8192);
	bounce__put(&p, buf, 4097);
	bounce__exit(&p);
}

int main(void)
{
	RUN(test_reuse);
	RUN(test_budget);
	RUN(test_classes);
	return check_summary();
}
