/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VIRTIO_MMIO_H
#define MICROVM_VIRTIO_MMIO_H

#include "../common/guest_mem.h"
#include "bus.h"
#include "irq.h"
#include "virtqueue.h"

/*
 * The virtio-mmio transport, version 2 (VIRTIO 1.x, section 4.2.2).  The
 * device behind it (virtio-blk) does not know it is on MMIO: it sees
 * queues, features, config space and the callbacks below, as in kvmtool.
 *
 * Slots are 4 KiB at VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SLOT, each with its
 * own ISA interrupt; Linux finds them through virtio_mmio.device= on its
 * command line (virtio_mmio__cmdline()).
 */
#define VIRTIO_MMIO_BASE 0xd0000000ULL
#define VIRTIO_MMIO_SLOT 0x1000ULL
#define VIRTIO_MMIO_MAX_QUEUES 4

/* Register offsets (4.2.2.1). */
#define VIRTIO_MMIO_REG_MAGIC	0x000
#define VIRTIO_MMIO_REG_VERSION	0x004
#define VIRTIO_MMIO_REG_DEVICE_ID	0x008
#define VIRTIO_MMIO_REG_VENDOR_ID	0x00c
#define VIRTIO_MMIO_REG_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_REG_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_REG_QUEUE_SEL	0x030
#define VIRTIO_MMIO_REG_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_REG_QUEUE_NUM	0x038
#define VIRTIO_MMIO_REG_QUEUE_READY	0x044
#define VIRTIO_MMIO_REG_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_REG_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_REG_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_REG_STATUS	0x070
#define VIRTIO_MMIO_REG_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_REG_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_REG_SHM_SEL	0x0ac
#define VIRTIO_MMIO_REG_SHM_LEN_LOW	0x0b0
#define VIRTIO_MMIO_REG_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_REG_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_REG_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_REG_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_REG_CONFIG	0x100

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Feature bits of the transport / rings. */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* InterruptStatus bits. */
#define VIRTIO_MMIO_INT_VRING 1
#define VIRTIO_MMIO_INT_CONFIG 2

struct virtio_mmio;

struct virtio_dev_ops {
	u32 device_id;		/* 2 = block */
	/* Device-specific feature bits (the transport adds its own). */
	u64 features;
	u32 config_size;
	/* Config space accesses; offset + len <= config_size, checked. */
	void (*config_read)(void *dev, u32 offset, u8 *data, u32 len);
	void (*config_write)(void *dev, u32 offset, const u8 *data, u32 len);
	/* The driver notified queue q (QueueNotify). */
	void (*notify)(void *dev, unsigned int q);
	/* DRIVER_OK was set: features are final, queues configured. */
	void (*activate)(void *dev);
	/*
	 * The driver reset the device: drop everything in flight, as far as
	 * the guest can tell (requests still in the host complete into the
	 * void; see virtio_blk.c).
	 */
	void (*reset)(void *dev);
};

struct virtio_mmio {
	u64 base;
	struct irq_line irq;
	const struct guest_mem *mem;
	const struct virtio_dev_ops *ops;
	void *dev;
	unsigned int nqueues;
	struct virtq vqs[VIRTIO_MMIO_MAX_QUEUES];
	u16 queue_max;		/* QueueNumMax */

	/* Register state. */
	u32 device_features_sel;
	u32 driver_features_sel;
	u64 driver_features;	/* as written by the driver */
	u64 negotiated;		/* accepted at FEATURES_OK */
	u32 status;
	u32 queue_sel;
	u32 interrupt_status;
	u32 config_generation;
};

void virtio_mmio__init(struct virtio_mmio *vm, u64 base, struct irq_line irq,
		       const struct guest_mem *mem,
		       const struct virtio_dev_ops *ops, void *dev,
		       unsigned int nqueues, u16 queue_max);
int virtio_mmio__register(struct virtio_mmio *vm, struct bus *bus);
/*
 * The virtio_mmio.device=4K@0xADDR:IRQ entry for this device.  Returns its
 * length, or -ENOSPC when it does not fit in buf.
 */
int virtio_mmio__cmdline(const struct virtio_mmio *vm, char *buf,
			 size_t len);
/* Used buffers were added to queue q: interrupt if the ring asks for it. */
void virtio_mmio__signal_used(struct virtio_mmio *vm, unsigned int q);
/* The device changed its config space. */
void virtio_mmio__signal_config(struct virtio_mmio *vm);
/*
 * The device hit an error it cannot recover from without a reset (a
 * malformed ring): sets DEVICE_NEEDS_RESET and, once DRIVER_OK is set,
 * raises a config interrupt, as the spec asks (2.1.2).  The transport
 * stops forwarding notifications and used interrupts until reset.
 */
void virtio_mmio__set_needs_reset(struct virtio_mmio *vm);
/* Was feature bit negotiated? */
bool virtio_mmio__has_feature(const struct virtio_mmio *vm, unsigned int bit);
/* Is the device live (DRIVER_OK, not NEEDS_RESET or FAILED)? */
bool virtio_mmio__live(const struct virtio_mmio *vm);

#endif
