/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VIRTQUEUE_H
#define MICROVM_VIRTQUEUE_H

#include "../common/guest_mem.h"
#include "../common/util.h"

/*
 * Split virtqueues (VIRTIO 1.x, section 2.7), device side.  Everything
 * here reads guest memory the guest may change under us, so every address
 * and length is checked against guest RAM through guest_mem__ptr() and
 * every chain is bounded: a malformed chain is an error for that request,
 * never a crash or an access outside the guest.  Pure functions of the
 * queue state and guest memory: unit tested and fuzzed without KVM.
 */

#define VIRTQ_MAX_SIZE 32768	/* the spec's maximum queue size */
/*
 * Most data descriptors (direct plus indirect, zero-length ones included;
 * not the one pointing at an indirect table) accepted in one chain.
 * Separately, a direct chain longer than the queue must loop (-ELOOP), as
 * must an indirect one longer than its table.
 */
#define VIRTQ_MAX_CHAIN 1024

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq {
	u16 size;		/* number of descriptors, power of 2 */
	bool ready;
	u64 desc_gpa;
	u64 avail_gpa;
	u64 used_gpa;
	bool event_idx;		/* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_F_RING_INDIRECT_DESC negotiated */
	u16 last_avail;		/* next avail ring entry to take */
	u16 used_idx;		/* our copy of used->idx */
	u16 signalled_used;	/* used_idx at the last interrupt */
	bool signalled_valid;
};

/* One guest buffer of a chain, already checked to lie inside guest RAM. */
struct virtq_buf {
	u64 gpa;
	u32 len;
	bool write;		/* device-writable */
};

struct virtq_chain {
	u16 head;		/* id to give back in the used ring */
	u32 nbufs;
	u32 out_len;		/* total device-readable bytes */
	u32 in_len;		/* total device-writable bytes */
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

/* Reset to the state after device reset (not ready, all indices 0). */
void virtq__reset(struct virtq *vq);
/*
 * Check the ring addresses and size the driver set, at QueueReady: all
 * three areas must lie in guest RAM with the alignment the spec requires.
 */
int virtq__validate(const struct virtq *vq, const struct guest_mem *mem);
/*
 * Take the next available chain.  Returns 1 with *chain filled, 0 when
 * the ring is empty or the queue not ready, or a negative errno when the
 * chain is malformed (address outside RAM -EFAULT, loop -ELOOP, too long
 * -E2BIG, byte count over 4 GiB -EOVERFLOW, anything else -EINVAL: nested
 * indirect, readable after writable, bad avail index...): nothing is
 * consumed and the caller marks the device broken (DEVICE_NEEDS_RESET)
 * since the ring can no longer be trusted.  Zero-length descriptors are
 * accepted and left out of *chain.  With event_idx, publishes
 * avail_event = last_avail (no fence: see virtq__set_notify).
 */
int virtq__pop(struct virtq *vq, const struct guest_mem *mem,
	       struct virtq_chain *chain);
/* Put a finished chain in the used ring, with memory ordering for the driver. */
int virtq__push(struct virtq *vq, const struct guest_mem *mem, u16 head,
		u32 written);
/*
 * After one or more pushes: must the driver be interrupted?  Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event when event_idx is on.
 */
bool virtq__should_signal(struct virtq *vq, const struct guest_mem *mem);
/*
 * Driver→device notification suppression: with event_idx, publish
 * avail_event = last_avail so the driver notifies only for new work;
 * without it, set or clear VIRTQ_USED_F_NO_NOTIFY.  Ends with a full
 * fence, so that a device can stop without losing a request:
 *	do {
 *		virtq__set_notify(vq, mem, false);
 *		while (virtq__pop(vq, mem, &chain) > 0)
 *			...;
 *		virtq__set_notify(vq, mem, true);
 *	} while (virtq__has_work(vq, mem));
 */
void virtq__set_notify(struct virtq *vq, const struct guest_mem *mem,
		       bool enable);
/* What a negative virtq__pop() result means, for messages. */
const char *virtq__strerror(int err);
/* Are there chains the device has not taken yet? */
bool virtq__has_work(const struct virtq *vq, const struct guest_mem *mem);

#endif
