/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny virtio driver library for the freestanding test guests: the
 * virtio-mmio version 2 (modern) transport and split virtqueues, VIRTIO 1.x
 * sections 2.7 and 4.2.2.  Single vCPU, no allocation: the caller supplies
 * the ring memory.  Guest RAM is identity mapped, so the addresses put in
 * descriptors and ring registers are plain pointers.
 */
#ifndef MICROVM_GUEST_VIRTIO_H
#define MICROVM_GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

/* virtio-mmio register offsets (4.2.2). */
#define VIO_MMIO_MAGIC		0x000
#define VIO_MMIO_VERSION	0x004
#define VIO_MMIO_DEVICE_ID	0x008
#define VIO_MMIO_VENDOR_ID	0x00c
#define VIO_MMIO_DEV_FEATURES	0x010
#define VIO_MMIO_DEV_FEAT_SEL	0x014
#define VIO_MMIO_DRV_FEATURES	0x020
#define VIO_MMIO_DRV_FEAT_SEL	0x024
#define VIO_MMIO_QUEUE_SEL	0x030
#define VIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIO_MMIO_QUEUE_NUM	0x038
#define VIO_MMIO_QUEUE_READY	0x044
#define VIO_MMIO_QUEUE_NOTIFY	0x050
#define VIO_MMIO_INT_STATUS	0x060
#define VIO_MMIO_INT_ACK	0x064
#define VIO_MMIO_STATUS		0x070
#define VIO_MMIO_QUEUE_DESC_LO	0x080
#define VIO_MMIO_QUEUE_DESC_HI	0x084
#define VIO_MMIO_QUEUE_AVAIL_LO	0x090
#define VIO_MMIO_QUEUE_AVAIL_HI	0x094
#define VIO_MMIO_QUEUE_USED_LO	0x0a0
#define VIO_MMIO_QUEUE_USED_HI	0x0a4
#define VIO_MMIO_CONFIG_GEN	0x0fc
#define VIO_MMIO_CONFIG		0x100

#define VIO_MAGIC		0x74726976	/* "virt", little-endian */

#define VIO_STATUS_ACKNOWLEDGE	1
#define VIO_STATUS_DRIVER	2
#define VIO_STATUS_DRIVER_OK	4
#define VIO_STATUS_FEATURES_OK	8
#define VIO_STATUS_NEEDS_RESET	64
#define VIO_STATUS_FAILED	128

#define VIO_F_RING_INDIRECT_DESC 28
#define VIO_F_RING_EVENT_IDX	29
#define VIO_F_VERSION_1		32

#define VIO_INT_VRING		1
#define VIO_INT_CONFIG		2

#define VQ_DESC_F_NEXT		1
#define VQ_DESC_F_WRITE		2
#define VQ_DESC_F_INDIRECT	4
#define VQ_AVAIL_F_NO_INTERRUPT	1
#define VQ_USED_F_NO_NOTIFY	1

/* Largest queue this library drives; the ring memory is sized for it. */
#define VQ_MAX_SIZE		256

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

/*
 * The three ring areas for one queue of up to VQ_MAX_SIZE entries, laid
 * out for the largest size; a smaller queue uses a prefix of each array
 * and finds used_event/avail_event right after its own ring entries.
 * Page alignment is more than the spec needs (16/2/4 bytes).
 */
struct vq_mem {
	struct vq_desc desc[VQ_MAX_SIZE] __attribute__((aligned(4096)));
	struct {
		uint16_t flags;
		uint16_t idx;
		uint16_t ring[VQ_MAX_SIZE + 1];	/* + used_event */
	} avail __attribute__((aligned(4096)));
	struct {
		uint16_t flags;
		uint16_t idx;
		struct vq_used_elem ring[VQ_MAX_SIZE];
		uint16_t avail_event;	/* at ring[size] for size < max */
	} used __attribute__((aligned(4096)));
};

struct vio_dev {
	volatile uint8_t *base;
	uint32_t device_id;
	uint64_t dev_features;	/* offered by the device */
	uint64_t features;	/* negotiated */
};

/* One buffer of a chain as the caller describes it. */
struct vq_seg {
	const void *addr;
	uint32_t len;
	bool write;		/* device-writable */
};

struct vq {
	struct vio_dev *dev;
	struct vq_mem *mem;
	uint16_t index;
	uint16_t size;
	bool event_idx;
	bool indirect;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;	/* our shadow of avail.idx */
	uint16_t kicked_idx;	/* avail.idx at the last kick decision */
	uint16_t last_used;	/* next used entry to look at */
	uint16_t chain_len[VQ_MAX_SIZE];
	void *cookie[VQ_MAX_SIZE];
	/* Statistics for the test's summary. */
	unsigned long notifies;
	unsigned long notifies_suppressed;
};

/*
 * x86 keeps stores in order and loads in order, so store->store and
 * load->load only need the compiler not to reorder; store->load (publish
 * an index, then read the other side's event index or flags) needs a real
 * fence.  A locked add is a full barrier and needs no SSE.
 */
static inline void vio_barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static inline void vio_mb(void)
{
	__asm__ volatile("lock; addl $0, (%%rsp)" : : : "memory", "cc");
}

static inline uint32_t vio_read32(const struct vio_dev *d, uint32_t off)
{
	return *(volatile uint32_t *)(d->base + off);
}

static inline void vio_write32(const struct vio_dev *d, uint32_t off,
			       uint32_t v)
{
	*(volatile uint32_t *)(d->base + off) = v;
}

/* Check magic, version 2 and device id.  Prints why on failure. */
int vio_probe(struct vio_dev *d, uintptr_t base, uint32_t device_id);
/* Write 0 to Status and wait until it reads back 0.  0 or -1 (stuck). */
int vio_reset(struct vio_dev *d);
uint32_t vio_status(const struct vio_dev *d);
void vio_status_set(struct vio_dev *d, uint32_t bits);
/*
 * Read DeviceFeatures (both halves) into d->dev_features, write
 * dev_features & wanted as DriverFeatures, set FEATURES_OK and check it
 * stuck.  VERSION_1 is required.  0 or -1.
 */
int vio_negotiate(struct vio_dev *d, uint64_t wanted);
static inline bool vio_has(const struct vio_dev *d, unsigned int bit)
{
	return (d->features >> bit) & 1;
}
/* Config space, with the ConfigGeneration retry for 64-bit fields. */
uint8_t vio_config8(const struct vio_dev *d, uint32_t off);
uint16_t vio_config16(const struct vio_dev *d, uint32_t off);
uint32_t vio_config32(const struct vio_dev *d, uint32_t off);
uint64_t vio_config64(const struct vio_dev *d, uint32_t off);
/* Read InterruptStatus and acknowledge exactly those bits. */
uint32_t vio_irq_ack(struct vio_dev *d);

/*
 * Set up queue index with min(QueueNumMax, max_size) entries (rounded
 * down to a power of two) in mem, then QueueReady.  0 or -1.
 */
int vq_setup(struct vq *vq, struct vio_dev *d, uint16_t index,
	     struct vq_mem *mem, uint16_t max_size);
/*
 * Make a chain of n segments available (not yet visible to the device:
 * see vq_kick).  Readable segments must come before writable ones.  With
 * table != NULL the segments go into that indirect table (n entries,
 * 16-byte aligned, alive until completion) and the chain takes one ring
 * descriptor.  Returns the head, or -1 when there are not enough free
 * descriptors.
 */
int vq_add(struct vq *vq, const struct vq_seg *segs, unsigned int n,
	   struct vq_desc *table, void *cookie);
/*
 * Publish the chains added since the last kick and notify the device
 * unless it asked not to be (used flags or avail_event).
 */
void vq_kick(struct vq *vq);
/*
 * Take the next used chain: returns its head and sets *len and *cookie,
 * freeing its descriptors, or -1 when none is pending.
 */
int vq_get_used(struct vq *vq, uint32_t *len, void **cookie);
/* Has the device put chains in the used ring we have not taken? */
bool vq_more_used(const struct vq *vq);
/*
 * Ask for an interrupt once `after' more chains are used (event idx), or
 * for every one (without).  Returns true if chains are already pending,
 * in which case the interrupt may never come and the caller must reap.
 */
bool vq_arm(struct vq *vq, uint16_t after);
/* used_event and avail_event live right after the rings. */
static inline volatile uint16_t *vq_used_event(struct vq *vq)
{
	return &vq->mem->avail.ring[vq->size];
}

static inline volatile uint16_t *vq_avail_event(struct vq *vq)
{
	return (volatile uint16_t *)&vq->mem->used.ring[vq->size];
}

#endif
