// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the split virtqueue (devices/virtqueue.c): the
 * input is a queue configuration plus the whole of guest RAM, so the
 * fuzzer writes descriptor tables, indirect tables and rings as a hostile
 * driver would.  The device side runs as virtio-blk drives it: validate
 * at QueueReady, then pop / push / should_signal / set_notify.
 *
 * Input layout (little-endian), then guest RAM (FUZZ_RAM_SIZE bytes,
 * zero-padded; see fuzz.h):
 *   0      size selector: bit 7 set -> raw size from bytes 1-2,
 *          else size = 1 << (bits 0-3)
 *   1-2    raw queue size
 *   3-4    desc_gpa     5-6 avail_gpa     7-8 used_gpa
 *   9      flags: FL_* below
 *   10-11  initial last_avail    12-13 initial used_idx
 *   14     number of pops (at most 255)
 *   15     bit i: re-arm notifications after pop i (mod 8)
 *
 * Checked after every step, beyond ASan/UBSan's own checks: results are
 * 1, 0 or one of the documented errors; last_avail moves by exactly one
 * on success and not at all otherwise; a chain has its head inside the
 * queue, at most VIRTQ_MAX_CHAIN non-empty buffers all inside guest RAM,
 * readable before writable, and out_len/in_len equal to their sums; every
 * buffer is touched (read, and written if device-writable) so that ASan
 * would catch a buffer the validation let through wrongly; push puts the
 * right element and index in the used ring.
 */
#include "devices/virtqueue.h"
#include "tests/fuzz/fuzz.h"

#include <errno.h>

#define FL_EVENT_IDX	0x01
#define FL_INDIRECT	0x02
/* Use the queue even if virtq__validate() refused it (robustness). */
#define FL_UNVALIDATED	0x04
/* Put the descriptor table near the top of the address space. */
#define FL_WILD_DESC	0x08
/* Check should_signal after each push instead of once at the end. */
#define FL_SIGNAL_EACH	0x10

#define HEADER_SIZE	16

static struct virtq_chain chain;

static u16 ram_read16(const struct guest_mem *mem, u64 gpa)
{
	u16 v;

	memcpy(&v, mem->host + gpa, 2);
	return v;
}

static u32 ram_read32(const struct guest_mem *mem, u64 gpa)
{
	u32 v;

	memcpy(&v, mem->host + gpa, 4);
	return v;
}

static void check_chain(const struct virtq *vq, const struct guest_mem *mem)
{
	u64 out = 0, in = 0;
	bool seen_write = false;
	u32 i;

	fuzz_assert(chain.head < vq->size);
	fuzz_assert(chain.nbufs <= VIRTQ_MAX_CHAIN);
	for (i = 0; i < chain.nbufs; i++) {
		const struct virtq_buf *b = &chain.bufs[i];
		volatile u8 *p;

		if (!b->len || b->gpa > mem->size || b->len > mem->size - b->gpa)
			fuzz_fail("buf %u [0x%llx, +0x%x) outside RAM", i,
				  (unsigned long long)b->gpa, b->len);
		if (!b->write && seen_write)
			fuzz_fail("readable buf %u after a writable one", i);
		seen_write |= b->write;
		if (b->write)
			in += b->len;
		else
			out += b->len;
		/* Touch both ends as the device would. */
		p = mem->host + b->gpa;
		if (b->write) {
			p[0] = 0;
			p[b->len - 1] = 0;
		} else {
			(void)p[0];
			(void)p[b->len - 1];
		}
	}
	fuzz_assert(out == chain.out_len);
	fuzz_assert(in == chain.in_len);
}

static bool pop_error_ok(int r)
{
	return r == -EINVAL || r == -EFAULT || r == -ELOOP || r == -E2BIG ||
	       r == -EOVERFLOW;
}

static void check_push(struct virtq *vq, const struct guest_mem *mem,
		       bool validated)
{
	u16 old = vq->used_idx;
	u64 elem = vq->used_gpa + 4 + 8ULL * (old & (vq->size - 1));
	int r = virtq__push(vq, mem, chain.head, chain.in_len);

	if (r) {
		/* Only a ring the transport would have refused can fail. */
		fuzz_assert(!validated && r == -EFAULT);
		fuzz_assert(vq->used_idx == old);
		return;
	}
	fuzz_assert(vq->used_idx == (u16)(old + 1));
	fuzz_assert(ram_read16(mem, vq->used_gpa + 2) == vq->used_idx);
	fuzz_assert(ram_read32(mem, elem) == chain.head);
	fuzz_assert(ram_read32(mem, elem + 4) == chain.in_len);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };
	struct guest_mem mem = fuzz_ram();
	struct virtq vq;
	u8 sel, flags, npops, rearm;
	u16 raw_size, before;
	bool validated;
	unsigned int i;
	int r;

	if (size < HEADER_SIZE)
		return 0;
	virtq__reset(&vq);
	sel = fuzz_u8(&in);
	raw_size = fuzz_u16(&in);
	vq.size = (sel & 0x80) ? raw_size : 1u << (sel & 15);
	vq.desc_gpa = fuzz_u16(&in);
	vq.avail_gpa = fuzz_u16(&in);
	vq.used_gpa = fuzz_u16(&in);
	flags = fuzz_u8(&in);
	vq.last_avail = fuzz_u16(&in);
	vq.used_idx = fuzz_u16(&in);
	npops = fuzz_u8(&in);
	rearm = fuzz_u8(&in);
	fuzz_fill_ram(&in, &mem);

	vq.event_idx = flags & FL_EVENT_IDX;
	vq.indirect = flags & FL_INDIRECT;
	if (flags & FL_WILD_DESC)
		vq.desc_gpa -= 0x10000;		/* wraps near 2^64 */

	validated = virtq__validate(&vq, &mem) == 0;
	if (!validated && !(flags & FL_UNVALIDATED)) {
		/* A queue that is not ready has no work. */
		fuzz_assert(!virtq__has_work(&vq, &mem));
		fuzz_assert(virtq__pop(&vq, &mem, &chain) == 0);
		return 0;
	}
	vq.ready = true;

	for (i = 0; i < npops; i++) {
		before = vq.last_avail;
		r = virtq__pop(&vq, &mem, &chain);
		if (r <= 0) {
			fuzz_assert(r == 0 || pop_error_ok(r));
			fuzz_assert(vq.last_avail == before);
			/* An empty ring is not "work". */
			if (r == 0)
				fuzz_assert(!virtq__has_work(&vq, &mem));
			/* The device stops at an error (DEVICE_NEEDS_RESET). */
			break;
		}
		fuzz_assert(r == 1);
		fuzz_assert(vq.last_avail == (u16)(before + 1));
		check_chain(&vq, &mem);
		check_push(&vq, &mem, validated);
		if (flags & FL_SIGNAL_EACH)
			(void)virtq__should_signal(&vq, &mem);
		if (rearm & (1u << (i & 7))) {
			virtq__set_notify(&vq, &mem, true);
			(void)virtq__has_work(&vq, &mem);
		} else {
			virtq__set_notify(&vq, &mem, false);
		}
	}
	(void)virtq__should_signal(&vq, &mem);
	return 0;
}
