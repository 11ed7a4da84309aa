/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VIRTIO_BLK_H
#define MICROVM_VIRTIO_BLK_H

#include "../devices/virtio_mmio.h"
#include "bounce.h"
#include "disk.h"

/*
 * virtio-blk (VIRTIO 1.x, section 5.2) on a struct disk.  Requests are
 * taken from the queue in order at QueueNotify, given ids in that
 * (deterministic) order, and handed to the disk engine; data is copied
 * between the guest and host buffers, the used ring written and the
 * interrupt raised only when the vCPU loop releases the completion (the
 * disk's input source), the moment replay pins.
 */
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX 126
#define VIRTIO_BLK_ID_BYTES 20

struct virtio_blk_req;

struct virtio_blk {
	struct virtio_mmio mmio;
	struct virtio_dev_ops ops;	/* features depend on ro */
	struct disk *disk;
	const struct guest_mem *mem;
	char id[VIRTIO_BLK_ID_BYTES + 1];
	struct virtq_chain *chain;	/* scratch for virtq__pop (16 KiB) */
	struct virtio_blk_req *reqs;	/* one slot per descriptor head */
	struct bounce_pool pool;	/* host buffers for data in flight */
	/* Heads waiting for a bounce buffer, in arrival order. */
	u16 waiting[VIRTIO_BLK_QUEUE_SIZE];
	unsigned int wait_head, nwaiting;
	u64 inflight;			/* submitted to the disk engine */
	u64 errors;			/* host I/O errors answered IOERR */
	u64 bad_requests;		/* driver errors answered IOERR */
	u64 stats_req[16];		/* answered requests by type */
};

/*
 * Set up the device on the MMIO slot at base with interrupt irq.  id is
 * the GET_ID serial (NULL: derived from the image's name).
 */
int virtio_blk__init(struct virtio_blk *vb, struct disk *disk,
		     const char *id, u64 base, struct irq_line irq,
		     const struct guest_mem *mem);
int virtio_blk__register(struct virtio_blk *vb, struct bus *bus);
void virtio_blk__exit(struct virtio_blk *vb);

#endif
