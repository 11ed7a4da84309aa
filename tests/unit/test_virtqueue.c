// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueue tests.  Guest RAM is a plain allocation; the tests play
 * the driver, writing descriptors and the avail ring as Linux would (or as
 * a hostile guest would), and check what the device side makes of them.
 */
#include "devices/virtqueue.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RAM_SIZE	(1 * MiB)
#define DESC_GPA	0x1000ULL
#define AVAIL_GPA	0x2000ULL
#define USED_GPA	0x3000ULL
#define TABLE_GPA	0x8000ULL	/* indirect tables */
#define DATA_GPA	0x10000ULL

static struct guest_mem mem;
static struct virtq vq;
static struct virtq_chain chain;
static u16 drv_avail;		/* the driver's copy of avail->idx */

static void *gpa(u64 addr)
{
	return mem.host + addr;
}

static void put16(u64 addr, u16 v)
{
	memcpy(gpa(addr), &v, 2);
}

static u16 get16(u64 addr)
{
	u16 v;

	memcpy(&v, gpa(addr), 2);
	return v;
}

static u32 get32(u64 addr)
{
	u32 v;

	memcpy(&v, gpa(addr), 4);
	return v;
}

static void setup(u16 size)
{
	memset(mem.host, 0, mem.size);
	virtq__reset(&vq);
	vq.size = size;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	vq.ready = true;
	drv_avail = 0;
	memset(&chain, 0xa5, sizeof(chain));
}

static void write_desc(u64 table, u32 i, u64 addr, u32 len, u16 flags,
		       u16 next)
{
	u8 *p = gpa(table + 16ULL * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void desc(u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	write_desc(DESC_GPA, i, addr, len, flags, next);
}

/* Make head available, as the driver does: ring entry, then the index. */
static void avail(u16 head)
{
	put16(AVAIL_GPA + 4 + 2 * (drv_avail % vq.size), head);
	put16(AVAIL_GPA + 2, ++drv_avail);
}

static void set_avail_idx(u16 idx)
{
	drv_avail = idx;
	put16(AVAIL_GPA + 2, idx);
}

/* The chain is refused with err, and nothing is consumed. */
static void expect_pop_error(int err)
{
	u16 before = vq.last_avail;

	CHECK_EQ(virtq__pop(&vq, &mem, &chain), err);
	CHECK_EQ(vq.last_avail, before);
}

static void test_validate(void)
{
	struct guest_mem small = { mem.host, 0x3000 + 6 + 8 * 16 - 1 };

	setup(16);
	CHECK_EQ(virtq__validate(&vq, &mem), 0);
	vq.size = 256;
	CHECK_EQ(virtq__validate(&vq, &mem), 0);
	vq.size = VIRTQ_MAX_SIZE;
	vq.desc_gpa = 0;
	vq.avail_gpa = 16 * VIRTQ_MAX_SIZE;
	vq.used_gpa = 0xa0000;
	CHECK_EQ(virtq__validate(&vq, &mem), 0);

	setup(16);
	vq.size = 0;
	CHECK_EQ(virtq__validate(&vq, &mem), -EINVAL);
	vq.size = 24;
	CHECK_EQ(virtq__validate(&vq, &mem), -EINVAL);
	vq.size = 0xffff;
	CHECK_EQ(virtq__validate(&vq, &mem), -EINVAL);

	/* Alignment: desc 16, avail 2, used 4. */
	setup(16);
	vq.desc_gpa = DESC_GPA + 8;
	CHECK_EQ(virtq__validate(&vq, &mem), -EINVAL);
	setup(16);
	vq.avail_gpa = AVAIL_GPA + 1;
	CHECK_EQ(virtq__validate(&vq, &mem), -EINVAL);
	setup(16);
	vq.used_gpa = USED_GPA + 2;
	CHECK_EQ(virtq__validate(&vq, &mem), -EINVAL);

	/* Each area must lie wholly in RAM, event fields included. */
	setup(16);
	CHECK_EQ(virtq__validate(&vq, &small), -EFAULT);
	small.size++;
	CHECK_EQ(virtq__validate(&vq, &small), 0);
	setup(16);
	vq.desc_gpa = RAM_SIZE - 16 * 8;
	CHECK_EQ(virtq__validate(&vq, &mem), -EFAULT);
	setup(16);
	vq.avail_gpa = RAM_SIZE - (6 + 2 * 16) + 2;
	CHECK_EQ(virtq__validate(&vq, &mem), -EFAULT);
	vq.avail_gpa = RAM_SIZE - (6 + 2 * 16);
	CHECK_EQ(virtq__validate(&vq, &mem), 0);
	setup(16);
	vq.used_gpa = 0xfffffffffffffff0ULL;	/* end wraps around */
	CHECK_EQ(virtq__validate(&vq, &mem), -EFAULT);
	setup(16);
	vq.desc_gpa = 0xfffffffffffff000ULL;
	CHECK_EQ(virtq__validate(&vq, &mem), -EFAULT);
}

static void test_empty_and_not_ready(void)
{
	setup(16);
	CHECK(!virtq__has_work(&vq, &mem));
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 0);
	desc(0, DATA_GPA, 64, 0, 0);
	avail(0);
	CHECK(virtq__has_work(&vq, &mem));
	vq.ready = false;
	CHECK(!virtq__has_work(&vq, &mem));
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 0);
	vq.ready = true;
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK(!virtq__has_work(&vq, &mem));
}

/* A virtio-blk request: header (read), data (write), status (write). */
static void test_direct_chain(void)
{
	setup(16);
	desc(5, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(2, DATA_GPA + 0x1000, 512,
	     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 9);
	desc(9, DATA_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(5);
	desc(0, DATA_GPA + 0x3000, 100, 0, 0);
	avail(0);

	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.head, 5);
	CHECK_EQ(chain.nbufs, 3);
	CHECK_EQ(chain.out_len, 16);
	CHECK_EQ(chain.in_len, 513);
	CHECK_EQ(chain.bufs[0].gpa, DATA_GPA);
	CHECK_EQ(chain.bufs[0].len, 16);
	CHECK(!chain.bufs[0].write);
	CHECK_EQ(chain.bufs[1].gpa, DATA_GPA + 0x1000);
	CHECK_EQ(chain.bufs[1].len, 512);
	CHECK(chain.bufs[1].write);
	CHECK_EQ(chain.bufs[2].gpa, DATA_GPA + 0x2000);
	CHECK(chain.bufs[2].write);
	CHECK_EQ(vq.last_avail, 1);

	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.nbufs, 1);
	CHECK_EQ(chain.out_len, 100);
	CHECK_EQ(chain.in_len, 0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 0);
}

/* A buffer that ends exactly at the end of RAM is fine. */
static void test_buffer_at_end_of_ram(void)
{
	setup(4);
	desc(0, RAM_SIZE - 512, 512, VIRTQ_DESC_F_WRITE, 0);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.in_len, 512);
}

/* Zero-length descriptors count for the bounds but yield no buffer. */
static void test_zero_length(void)
{
	setup(8);
	desc(0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(1, 0xdead00000000ULL, 0,
	     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(2, DATA_GPA + 8, 8, VIRTQ_DESC_F_NEXT, 3);
	desc(3, DATA_GPA + 16, 4, VIRTQ_DESC_F_WRITE, 0);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.nbufs, 3);
	CHECK_EQ(chain.out_len, 16);
	CHECK_EQ(chain.in_len, 4);
	CHECK_EQ(chain.bufs[1].gpa, DATA_GPA + 8);
}

static void test_indirect(void)
{
	setup(16);
	vq.indirect = true;
	/* Table entries chain out of order, as they may. */
	write_desc(TABLE_GPA, 0, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	write_desc(TABLE_GPA, 2, DATA_GPA + 0x100, 4096,
		   VIRTQ_DESC_F_NEXT, 1);
	write_desc(TABLE_GPA, 1, DATA_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	/* WRITE on the descriptor pointing at the table means nothing. */
	desc(3, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE,
	     0);
	avail(3);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(chain.nbufs, 3);
	CHECK_EQ(chain.out_len, 16 + 4096);
	CHECK_EQ(chain.in_len, 1);
	CHECK_EQ(chain.bufs[1].gpa, DATA_GPA + 0x100);
	CHECK(!chain.bufs[1].write);
	CHECK(chain.bufs[2].write);

	/* Direct descriptors may precede the indirect one that ends it. */
	desc(7, DATA_GPA + 0x4000, 32, VIRTQ_DESC_F_NEXT, 8);
	desc(8, TABLE_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	write_desc(TABLE_GPA + 0x100, 0, DATA_GPA + 0x5000, 64,
		   VIRTQ_DESC_F_WRITE, 0);
	avail(7);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.head, 7);
	CHECK_EQ(chain.nbufs, 2);
	CHECK_EQ(chain.out_len, 32);
	CHECK_EQ(chain.in_len, 64);
}

/* avail->idx, used->idx and our counters all wrap at 2^16. */
static void test_wraparound(void)
{
	u16 start = 0xfffe;
	unsigned int i;

	setup(4);
	vq.last_avail = start;
	vq.used_idx = start;
	put16(USED_GPA + 2, start);
	set_avail_idx(start);
	for (i = 0; i < 4; i++) {
		desc(i, DATA_GPA + 0x100 * i, 0x10 + i, VIRTQ_DESC_F_WRITE, 0);
		avail(3 - i);
	}
	CHECK_EQ(get16(AVAIL_GPA + 2), 2);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
		CHECK_EQ(chain.head, 3 - i);
		CHECK_EQ(chain.in_len, 0x10 + 3 - i);
		CHECK_EQ(virtq__push(&vq, &mem, chain.head, chain.in_len), 0);
	}
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 0);
	CHECK_EQ(vq.last_avail, 2);
	CHECK_EQ(get16(USED_GPA + 2), 2);
	/* Used element k went to slot (0xfffe + k) % 4. */
	for (i = 0; i < 4; i++) {
		u64 elem = USED_GPA + 4 + 8 * ((start + i) % 4);

		CHECK_EQ(get32(elem), 3 - i);
		CHECK_EQ(get32(elem + 4), 0x10 + 3 - i);
	}
}

static void test_loops(void)
{
	u16 i;

	/* a -> b -> a */
	setup(16);
	desc(1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 4);
	desc(4, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	avail(1);
	expect_pop_error(-ELOOP);

	/* Self loop. */
	setup(16);
	desc(6, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 6);
	avail(6);
	expect_pop_error(-ELOOP);

	/* Self loop made of zero-length descriptors: still bounded. */
	setup(16);
	desc(6, 0, 0, VIRTQ_DESC_F_NEXT, 6);
	avail(6);
	expect_pop_error(-ELOOP);

	/* Every descriptor of the ring used once is fine, one more is not. */
	setup(8);
	for (i = 0; i < 8; i++)
		desc(i, DATA_GPA + i * 8, 8,
		     i < 7 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.nbufs, 8);
	desc(7, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	avail(0);
	expect_pop_error(-ELOOP);

	/* Loop inside an indirect table. */
	setup(16);
	vq.indirect = true;
	write_desc(TABLE_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	write_desc(TABLE_GPA, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	desc(0, TABLE_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	expect_pop_error(-ELOOP);
}

/* An indirect table longer than VIRTQ_MAX_CHAIN is refused, not walked. */
static void test_too_long(void)
{
	u32 n = VIRTQ_MAX_CHAIN + 1, i;

	setup(16);
	vq.indirect = true;
	for (i = 0; i < n; i++)
		write_desc(DATA_GPA, i, DATA_GPA, 4,
			   i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	desc(0, DATA_GPA, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	expect_pop_error(-E2BIG);

	/* Exactly the limit, one direct + MAX_CHAIN - 1 indirect, is fine. */
	setup(16);
	vq.indirect = true;
	n = VIRTQ_MAX_CHAIN - 1;
	for (i = 0; i < n; i++)
		write_desc(DATA_GPA, i, DATA_GPA, 4,
			   i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	desc(0, TABLE_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA_GPA, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(chain.nbufs, VIRTQ_MAX_CHAIN);
	CHECK_EQ(chain.out_len, 4 * VIRTQ_MAX_CHAIN);
}

static void test_bad_indices(void)
{
	/* Head out of range. */
	setup(16);
	avail(16);
	expect_pop_error(-EINVAL);

	/* next out of range. */
	setup(16);
	desc(0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 16);
	avail(0);
	expect_pop_error(-EINVAL);

	/* Indirect next beyond the table's entries (but inside RAM). */
	setup(16);
	vq.indirect = true;
	write_desc(TABLE_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	write_desc(TABLE_GPA, 2, DATA_GPA, 8, 0, 0);
	desc(0, TABLE_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	expect_pop_error(-EINVAL);

	/* avail->idx more than a ring ahead of us. */
	setup(16);
	desc(0, DATA_GPA, 8, 0, 0);
	set_avail_idx(17);
	expect_pop_error(-EINVAL);
	set_avail_idx(0xffff);	/* "behind" us: as bad */
	expect_pop_error(-EINVAL);
	set_avail_idx(16);	/* exactly full is legal */
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
}

static void test_bad_addresses(void)
{
	struct guest_mem tiny = { mem.host, 0x2000 };

	setup(16);
	desc(0, RAM_SIZE - 8, 16, 0, 0);
	avail(0);
	expect_pop_error(-EFAULT);

	/* addr + len wraps around 2^64. */
	setup(16);
	desc(0, 0xfffffffffffffff0ULL, 0x20, 0, 0);
	avail(0);
	expect_pop_error(-EFAULT);

	/* Second descriptor of a chain outside RAM. */
	setup(16);
	desc(0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(1, RAM_SIZE, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0);
	expect_pop_error(-EFAULT);

	/* Rings outside RAM (a queue that was never validated). */
	setup(16);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &tiny, &chain), -EFAULT);
	CHECK(!virtq__has_work(&vq, &tiny));
	CHECK_EQ(virtq__push(&vq, &tiny, 0, 0), -EFAULT);
	CHECK(virtq__should_signal(&vq, &tiny));
	virtq__set_notify(&vq, &tiny, false);
	setup(16);
	vq.desc_gpa = RAM_SIZE - 16 * 4;
	avail(8);
	expect_pop_error(-EFAULT);
	/* A queue of the wrong shape is refused before any arithmetic. */
	setup(16);
	vq.size = 12;
	avail(0);
	expect_pop_error(-EINVAL);
	CHECK_EQ(virtq__push(&vq, &mem, 0, 0), -EINVAL);
}

static void test_bad_indirect(void)
{
	/* Not negotiated. */
	setup(16);
	write_desc(TABLE_GPA, 0, DATA_GPA, 8, 0, 0);
	desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	expect_pop_error(-EINVAL);
	vq.indirect = true;
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);

	/* Table outside RAM, and a table whose end wraps. */
	setup(16);
	vq.indirect = true;
	desc(0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	expect_pop_error(-EFAULT);
	desc(0, 0xfffffffffffffff0ULL, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_error(-EFAULT);

	/* Length zero or not a multiple of 16. */
	desc(0, TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_error(-EINVAL);
	desc(0, TABLE_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_error(-EINVAL);

	/* Nested. */
	write_desc(TABLE_GPA, 0, TABLE_GPA + 0x100, 16,
		   VIRTQ_DESC_F_INDIRECT, 0);
	write_desc(TABLE_GPA + 0x100, 0, DATA_GPA, 8, 0, 0);
	desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_error(-EINVAL);

	/* INDIRECT together with NEXT. */
	write_desc(TABLE_GPA, 0, DATA_GPA, 8, 0, 0);
	desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	expect_pop_error(-EINVAL);

	/* A bad buffer inside the table. */
	write_desc(TABLE_GPA, 0, RAM_SIZE, 8, 0, 0);
	desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop_error(-EFAULT);
}

static void test_write_before_read(void)
{
	setup(16);
	desc(0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(1, DATA_GPA + 8, 8, 0, 0);
	avail(0);
	expect_pop_error(-EINVAL);

	/* Across the direct/indirect boundary too. */
	setup(16);
	vq.indirect = true;
	desc(0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(1, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	write_desc(TABLE_GPA, 0, DATA_GPA + 8, 8, 0, 0);
	avail(0);
	expect_pop_error(-EINVAL);
}

/*
 * Byte totals are u32: a chain claiming 4 GiB or more is refused.  Only
 * the rings are dereferenced, so RAM can be declared larger than the
 * allocation for this test.
 */
static void test_length_overflow(void)
{
	struct guest_mem big = { mem.host, 16 * GiB };

	setup(16);
	desc(0, 4 * GiB, 0x80000000u, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
	     1);
	desc(1, 8 * GiB, 0x7fffffffu, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
	     2);
	desc(2, 12 * GiB, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0);
	expect_pop_error(-EFAULT);	/* not in the real 1 MiB */
	CHECK_EQ(virtq__pop(&vq, &big, &chain), -EOVERFLOW);
	desc(2, 12 * GiB, 0, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(virtq__pop(&vq, &big, &chain), 1);
	CHECK_EQ(chain.in_len, 0xffffffffu);
}

static void test_push(void)
{
	setup(8);
	CHECK_EQ(virtq__push(&vq, &mem, 3, 0x1234), 0);
	CHECK_EQ(get16(USED_GPA + 2), 1);
	CHECK_EQ(get32(USED_GPA + 4), 3);
	CHECK_EQ(get32(USED_GPA + 8), 0x1234);
	CHECK_EQ(virtq__push(&vq, &mem, 7, 0), 0);
	CHECK_EQ(get16(USED_GPA + 2), 2);
	CHECK_EQ(get32(USED_GPA + 12), 7);
	/* A head the queue cannot have is a device bug: refused. */
	CHECK_EQ(virtq__push(&vq, &mem, 8, 0), -EINVAL);
	CHECK_EQ(get16(USED_GPA + 2), 2);
	CHECK_EQ(vq.used_idx, 2);
}

static void test_signal_flags(void)
{
	setup(8);
	virtq__push(&vq, &mem, 0, 0);
	CHECK(virtq__should_signal(&vq, &mem));
	put16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq__push(&vq, &mem, 1, 0);
	CHECK(!virtq__should_signal(&vq, &mem));
	put16(AVAIL_GPA, 0);
	CHECK(virtq__should_signal(&vq, &mem));
}

static void set_used_event(u16 v)
{
	put16(AVAIL_GPA + 4 + 2 * vq.size, v);
}

static void test_signal_event_idx(void)
{
	setup(8);
	vq.event_idx = true;
	/* NO_INTERRUPT means nothing once event_idx is negotiated. */
	put16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(5);
	virtq__push(&vq, &mem, 0, 0);
	/* Nothing signalled yet: the first time always interrupts. */
	CHECK(virtq__should_signal(&vq, &mem));

	/* used_event = 1: interrupt when used->idx goes past 1. */
	set_used_event(1);
	virtq__push(&vq, &mem, 0, 0);	/* idx 2 */
	CHECK(virtq__should_signal(&vq, &mem));
	virtq__push(&vq, &mem, 0, 0);	/* idx 3, event 1 already passed */
	CHECK(!virtq__should_signal(&vq, &mem));

	/* Several pushes between checks: crossing used_event anywhere counts. */
	set_used_event(4);
	virtq__push(&vq, &mem, 0, 0);
	virtq__push(&vq, &mem, 0, 0);
	virtq__push(&vq, &mem, 0, 0);	/* 3 -> 6 crosses 4 */
	CHECK(virtq__should_signal(&vq, &mem));
	set_used_event(10);
	virtq__push(&vq, &mem, 0, 0);
	virtq__push(&vq, &mem, 0, 0);	/* 6 -> 8 does not reach 10 */
	CHECK(!virtq__should_signal(&vq, &mem));
	set_used_event(8);
	virtq__push(&vq, &mem, 0, 0);	/* 8 -> 9: entry 8 is the event */
	CHECK(virtq__should_signal(&vq, &mem));

	/* Across the 16-bit wrap. */
	setup(8);
	vq.event_idx = true;
	vq.used_idx = 0xfffe;
	vq.signalled_used = 0xfffe;
	vq.signalled_valid = true;
	set_used_event(0xffff);
	virtq__push(&vq, &mem, 0, 0);
	CHECK(!virtq__should_signal(&vq, &mem));	/* idx 0xffff */
	virtq__push(&vq, &mem, 0, 0);			/* idx 0 */
	CHECK(virtq__should_signal(&vq, &mem));

	/* 2^15 pushes without a check: the old mark is forgotten. */
	setup(8);
	vq.event_idx = true;
	vq.signalled_valid = true;
	set_used_event(0x7000);
	vq.used_idx = 0x7fff;
	vq.signalled_used = 0xffff;
	virtq__push(&vq, &mem, 0, 0);
	CHECK(!vq.signalled_valid);
	CHECK(virtq__should_signal(&vq, &mem));
}

static void test_set_notify(void)
{
	setup(8);
	virtq__set_notify(&vq, &mem, false);
	CHECK_EQ(get16(USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	virtq__set_notify(&vq, &mem, true);
	CHECK_EQ(get16(USED_GPA), 0);

	setup(8);
	vq.event_idx = true;
	vq.last_avail = 0x1234;
	set_avail_idx(0x1234);
	virtq__set_notify(&vq, &mem, true);
	CHECK_EQ(get16(USED_GPA + 4 + 8 * 8), 0x1234);
	CHECK_EQ(get16(USED_GPA), 0);	/* flags untouched */
	/* Each pop moves avail_event past what was taken. */
	desc(0, DATA_GPA, 8, 0, 0);
	avail(0);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(get16(USED_GPA + 4 + 8 * 8), 0x1235);
	virtq__set_notify(&vq, &mem, false);
	CHECK_EQ(get16(USED_GPA + 4 + 8 * 8), 0x1235);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	CHECK_EQ(get16(USED_GPA + 4 + 8 * 8), 0x1236);
}

/* The guest changing a descriptor after we took the chain cannot matter. */
static void test_chain_is_a_copy(void)
{
	setup(8);
	desc(0, DATA_GPA, 8, 0, 0);
	avail(0);
	CHECK_EQ(virtq__pop(&vq, &mem, &chain), 1);
	desc(0, 0xffffffffffff0000ULL, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(chain.bufs[0].gpa, DATA_GPA);
	CHECK_EQ(chain.bufs[0].len, 8);
}

int main(void)
{
	mem.size = RAM_SIZE;
	mem.host = aligned_alloc(4096, RAM_SIZE);
	if (!mem.host)
		return 2;
	RUN(test_validate);
	RUN(test_empty_and_not_ready);
	RUN(test_direct_chain);
	RUN(test_buffer_at_end_of_ram);
	RUN(test_zero_length);
	RUN(test_indirect);
	RUN(test_wraparound);
	RUN(test_loops);
	RUN(test_too_long);
	RUN(test_bad_indices);
	RUN(test_bad_addresses);
	RUN(test_bad_indirect);
	RUN(test_write_before_read);
	RUN(test_length_overflow);
	RUN(test_push);
	RUN(test_signal_flags);
	RUN(test_signal_event_idx);
	RUN(test_set_notify);
	RUN(test_chain_is_a_copy);
	free(mem.host);
	return check_summary();
}
