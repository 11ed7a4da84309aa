// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues, device side (VIRTIO 1.x, section 2.7).
 *
 * The rings live in guest memory, which the guest may rewrite at any
 * moment, from another vCPU in principle and from a malicious driver in
 * practice.  Three rules follow, and every function here keeps them:
 * - every access is bounds-checked through guest_mem__ptr() at the moment
 *   it is made, never on the strength of an earlier virtq__validate() (the
 *   fuzzer calls these functions on queues that were never validated);
 * - every field is read from guest memory exactly once into a local and
 *   only the local is checked and used, so a value cannot change between
 *   its check and its use (no double fetch);
 * - ordering follows the spec: the avail ring entries are read only after
 *   avail->idx (acquire), the used element is written before used->idx
 *   (release), and the notification checks that race with the driver are
 *   separated from our own stores by full fences.
 *
 * Ring layout (offsets inside each area, all little-endian):
 *   desc[i]:  addr u64 @16i, len u32 @16i+8, flags u16 @16i+12, next u16 @16i+14
 *   avail:    flags u16 @0, idx u16 @2, ring[size] u16 @4, used_event u16 @4+2*size
 *   used:     flags u16 @0, idx u16 @2, ring[size] {id u32, len u32} @4,
 *             avail_event u16 @4+8*size
 */
#include "virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#define DESC_SIZE	16
#define RING_HDR	4	/* flags + idx before the ring entries */

/* Keep the compiler from re-reading guest memory in place of a local copy. */
#define barrier() __asm__ __volatile__("" ::: "memory")

struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

/*
 * The shape of the queue must be sane before any index arithmetic: a
 * power-of-two size (ring positions are idx & (size - 1)) and the
 * alignment the spec requires, which is also what makes the 16-bit ring
 * fields naturally aligned for single-copy atomic loads and stores (the
 * host mapping of guest RAM is page aligned).
 */
static bool vq_shape_ok(const struct virtq *vq)
{
	return vq->size && vq->size <= VIRTQ_MAX_SIZE &&
	       !(vq->size & (vq->size - 1)) && !(vq->desc_gpa & 15) &&
	       !(vq->avail_gpa & 1) && !(vq->used_gpa & 3);
}

static u64 avail_bytes(u16 size)
{
	return RING_HDR + 2ULL * size + 2;
}

static u64 used_bytes(u16 size)
{
	return RING_HDR + 8ULL * size + 2;
}

/*
 * Volatile accesses make each ring field exactly one load or store of the
 * right width, so the driver never sees a torn index and we never read
 * one twice.  Callers have checked 2-byte alignment (vq_shape_ok).
 */
static u16 ring_read16(const void *p)
{
	return le16toh(*(const volatile u16 *)p);
}

static void ring_write16(void *p, u16 v)
{
	*(volatile u16 *)p = htole16(v);
}

static void *avail_field(const struct virtq *vq, const struct guest_mem *mem,
			 u64 off)
{
	return guest_mem__ptr(mem, vq->avail_gpa + off, 2);
}

static void *used_field(const struct virtq *vq, const struct guest_mem *mem,
			u64 off, u64 len)
{
	return guest_mem__ptr(mem, vq->used_gpa + off, len);
}

/* avail->idx, or -EFAULT when the ring is not in guest RAM. */
static int avail_idx(const struct virtq *vq, const struct guest_mem *mem)
{
	const void *p = avail_field(vq, mem, 2);

	return p ? ring_read16(p) : -EFAULT;
}

/*
 * One descriptor, copied out of guest memory once.  table_gpa + i * 16
 * cannot overflow: i is below the table's entry count and the whole table
 * was checked to lie in guest RAM (indirect), or i < size <= 32768 and
 * desc_gpa is checked here.
 */
static int desc_read(const struct guest_mem *mem, u64 table_gpa, u32 i,
		     struct desc *d)
{
	const u8 *p = guest_mem__ptr(mem, table_gpa + (u64)i * DESC_SIZE,
				     DESC_SIZE);
	u8 raw[DESC_SIZE];

	if (!p)
		return -EFAULT;
	memcpy(raw, p, DESC_SIZE);
	barrier();
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

/*
 * Add one data descriptor to the chain.  Zero-length descriptors are
 * accepted and dropped: the spec does not forbid them, they carry no
 * bytes, so there is nothing to check (not even their address, which a
 * driver may leave as anything) and nothing for the device to see.  They
 * still count towards the chain bounds.
 */
static int chain_add(struct virtq_chain *chain, const struct guest_mem *mem,
		     const struct desc *d, bool *seen_write)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	u32 *total = write ? &chain->in_len : &chain->out_len;
	struct virtq_buf *b;

	if (!d->len)
		return 0;
	/* 2.7.4.2: device-readable descriptors come first. */
	if (!write && *seen_write)
		return -EINVAL;
	if (!guest_mem__ptr(mem, d->addr, d->len))
		return -EFAULT;
	if (d->len > UINT32_MAX - *total)
		return -EOVERFLOW;
	/* Bounded by the caller's descriptor count; this is a backstop. */
	if (chain->nbufs >= VIRTQ_MAX_CHAIN)
		return -E2BIG;
	*seen_write |= write;
	*total += d->len;
	b = &chain->bufs[chain->nbufs++];
	b->gpa = d->addr;
	b->len = d->len;
	b->write = write;
	return 0;
}

/*
 * Walk an indirect table (2.7.5.3).  Its descriptors chain through next
 * like direct ones but index the table; a well-formed table is walked in
 * at most its number of entries, so more steps than that mean a loop.
 */
static int chain_indirect(struct virtq_chain *chain,
			  const struct guest_mem *mem, const struct desc *ind,
			  u32 *ndesc, bool *seen_write)
{
	u32 entries, i = 0, steps = 0;
	struct desc d;
	int ret;

	if (!ind->len || ind->len % DESC_SIZE)
		return -EINVAL;
	if (!guest_mem__ptr(mem, ind->addr, ind->len))
		return -EFAULT;
	entries = ind->len / DESC_SIZE;
	for (;;) {
		if (steps++ >= entries)
			return -ELOOP;
		if ((*ndesc)++ >= VIRTQ_MAX_CHAIN)
			return -E2BIG;
		ret = desc_read(mem, ind->addr, i, &d);
		if (ret)
			return ret;
		/* 2.7.5.3.1: only one level of indirection. */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -EINVAL;
		ret = chain_add(chain, mem, &d, seen_write);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= entries)
			return -EINVAL;
	}
}

void virtq__reset(struct virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

int virtq__validate(const struct virtq *vq, const struct guest_mem *mem)
{
	u16 n = vq->size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	/* 2.7: descriptor table 16-, avail 2-, used ring 4-byte aligned. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	/* guest_mem__ptr() also refuses ranges whose end overflows. */
	if (!guest_mem__ptr(mem, vq->desc_gpa, (u64)n * DESC_SIZE) ||
	    !guest_mem__ptr(mem, vq->avail_gpa, avail_bytes(n)) ||
	    !guest_mem__ptr(mem, vq->used_gpa, used_bytes(n)))
		return -EFAULT;
	return 0;
}

bool virtq__has_work(const struct virtq *vq, const struct guest_mem *mem)
{
	int idx;

	if (!vq->ready || !vq_shape_ok(vq))
		return false;
	idx = avail_idx(vq, mem);
	return idx >= 0 && (u16)idx != vq->last_avail;
}

int virtq__pop(struct virtq *vq, const struct guest_mem *mem,
	       struct virtq_chain *chain)
{
	u16 mask = vq->size - 1, pending, head;
	u32 ndirect = 0, ndesc = 0, i;
	bool seen_write = false;
	const void *p;
	struct desc d;
	int idx, ret;

	if (!vq->ready)
		return 0;
	if (!vq_shape_ok(vq))
		return -EINVAL;
	idx = avail_idx(vq, mem);
	if (idx < 0)
		return idx;
	/*
	 * The driver can be at most a whole ring ahead of us; anything more
	 * and avail->idx is garbage (2.7.13.2 forbids it).
	 */
	pending = (u16)idx - vq->last_avail;
	if (pending > vq->size)
		return -EINVAL;
	if (!pending)
		return 0;
	/* Pairs with the driver's write barrier before its avail->idx store. */
	atomic_thread_fence(memory_order_acquire);

	p = avail_field(vq, mem, RING_HDR + 2ULL * (vq->last_avail & mask));
	if (!p)
		return -EFAULT;
	head = ring_read16(p);
	if (head >= vq->size)
		return -EINVAL;

	chain->head = head;
	chain->nbufs = 0;
	chain->out_len = 0;
	chain->in_len = 0;
	for (i = head;;) {
		/*
		 * A direct chain visits each descriptor at most once, so it
		 * is at most size long: one step more is a loop.
		 */
		if (ndirect++ >= vq->size)
			return -ELOOP;
		ret = desc_read(mem, vq->desc_gpa, i, &d);
		if (ret)
			return ret;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/*
			 * 2.7.5.3.1: only if negotiated, and never with NEXT,
			 * so the indirect table ends the chain.  Direct
			 * descriptors before it are allowed (vhost does the
			 * same).  Its WRITE flag means nothing: the device
			 * must ignore it.
			 */
			if (!vq->indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -EINVAL;
			ret = chain_indirect(chain, mem, &d, &ndesc,
					     &seen_write);
			if (ret)
				return ret;
			break;
		}
		/* Data descriptors, zero-length ones included, are bounded. */
		if (ndesc++ >= VIRTQ_MAX_CHAIN)
			return -E2BIG;
		ret = chain_add(chain, mem, &d, &seen_write);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= vq->size)
			return -EINVAL;
	}

	vq->last_avail++;
	/*
	 * With event_idx, ask for a notification as soon as the driver makes
	 * anything past what we have taken available, as QEMU does after
	 * each pop; otherwise a driver that already passed the old
	 * avail_event would never notify again.  No fence here: a device
	 * about to wait re-arms with virtq__set_notify(), which has one.
	 */
	if (vq->event_idx) {
		void *ev = used_field(vq, mem, RING_HDR + 8ULL * vq->size, 2);

		if (ev)
			ring_write16(ev, vq->last_avail);
	}
	return 1;
}

int virtq__push(struct virtq *vq, const struct guest_mem *mem, u16 head,
		u32 written)
{
	u16 old = vq->used_idx, new = old + 1;
	u8 *elem, raw[8];
	void *idx;
	u32 v;

	if (!vq_shape_ok(vq) || head >= vq->size)
		return -EINVAL;
	elem = used_field(vq, mem, RING_HDR + 8ULL * (old & (vq->size - 1)), 8);
	idx = used_field(vq, mem, 2, 2);
	if (!elem || !idx)
		return -EFAULT;
	v = htole32(head);
	memcpy(raw, &v, 4);
	v = htole32(written);
	memcpy(raw + 4, &v, 4);
	memcpy(elem, raw, 8);
	/* The element must be visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	ring_write16(idx, new);
	vq->used_idx = new;
	/*
	 * If used_idx has run a full 2^15 past the last interrupt, the
	 * wrapping comparison in virtq__should_signal() no longer means
	 * anything: forget signalled_used, as Linux's vhost and QEMU do.
	 */
	if ((s16)(new - vq->signalled_used) < (u16)(new - old))
		vq->signalled_valid = false;
	return 0;
}

/* The driver wants an interrupt once used->idx moves past event (2.7.10). */
static bool vring_need_event(u16 event, u16 new, u16 old)
{
	return (u16)(new - event - 1) < (u16)(new - old);
}

bool virtq__should_signal(struct virtq *vq, const struct guest_mem *mem)
{
	const void *p;
	u16 old, new;
	bool valid;

	if (!vq_shape_ok(vq))
		return false;
	/*
	 * Our used->idx store must be visible before we read the driver's
	 * suppression state, or we could read a stale used_event while the
	 * driver reads our stale used->idx, and both would wait.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (!vq->event_idx) {
		p = avail_field(vq, mem, 0);
		/* A ring outside RAM cannot ask for silence. */
		return !p || !(ring_read16(p) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	new = vq->used_idx;
	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	p = avail_field(vq, mem, RING_HDR + 2ULL * vq->size);
	return !p || vring_need_event(ring_read16(p), new, old);
}

void virtq__set_notify(struct virtq *vq, const struct guest_mem *mem,
		       bool enable)
{
	void *p;

	if (!vq_shape_ok(vq))
		return;
	if (vq->event_idx) {
		/*
		 * With event_idx there is nothing to clear: leaving
		 * avail_event where it is keeps the driver quiet once it has
		 * passed it.  virtq__pop() still moves it forward, so a
		 * driver may notify while we are busy: harmless, as in QEMU.
		 */
		if (enable) {
			p = used_field(vq, mem, RING_HDR + 8ULL * vq->size, 2);
			if (p)
				ring_write16(p, vq->last_avail);
		}
	} else {
		/* NO_NOTIFY is the only used->flags bit: no need to read it. */
		p = used_field(vq, mem, 0, 2);
		if (p)
			ring_write16(p, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	/*
	 * The store above must be visible before the caller re-reads
	 * avail->idx (virtq__has_work): the driver stores avail->idx then
	 * reads our flag, and without the fence both could see the old
	 * values and a request would sit unnoticed.
	 */
	atomic_thread_fence(memory_order_seq_cst);
}

const char *virtq__strerror(int err)
{
	switch (err) {
	case -EFAULT:
		return "a buffer or table outside guest RAM";
	case -ELOOP:
		return "a descriptor loop";
	case -E2BIG:
		return "a chain longer than the queue allows";
	case -EOVERFLOW:
		return "a chain of more than 4 GiB";
	case -EINVAL:
		return "an invalid descriptor, flag or ring index";
	default:
		return "an unexpected error";
	}
}
