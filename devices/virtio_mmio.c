// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio transport, version 2 (VIRTIO 1.x, section 4.2.2).
 *
 * Choices where the spec leaves room, or where we are more lenient than
 * it (each with the reason):
 * - Registers below 0x100 take only aligned 32-bit accesses (4.2.2.2);
 *   anything else reads as 0 and writes are dropped.  Config space takes
 *   1, 2, 4 and 8-byte accesses inside config_size.
 * - Write-only registers read as 0, as in QEMU.
 * - VendorID is "MVM\0" read as a little-endian word (0x004d564d).
 * - Status: bits the driver did not set stay as they were unless it
 *   writes 0 (a reset); a write that clears bits is dropped.  FEATURES_OK
 *   is taken only if the driver's features are a subset of ours and
 *   include VERSION_1 (legacy drivers are not supported); otherwise the
 *   bit stays clear and the driver sees it when it reads Status back
 *   (3.1.1).  DRIVER_OK without FEATURES_OK is dropped the same way.
 *   DEVICE_NEEDS_RESET is ours: a driver writing it back is ignored.
 * - Reset leaves ConfigGeneration alone: the config space did not change.
 * - Queue registers are writable whenever the selected queue is not
 *   ready, also after DRIVER_OK (QEMU allows this too; the spec's order
 *   is a driver requirement, not something the device must police).
 *   After reset QueueNum is QueueNumMax, so a driver that never writes it
 *   gets a usable size.  Writing 0 to QueueReady disables the queue and
 *   keeps its indices (Linux does this only when tearing down, after a
 *   reset).
 * - QueueReady=1 with a bad size or ring outside RAM leaves the queue not
 *   ready and sets DEVICE_NEEDS_RESET: the driver broke the protocol, and
 *   a silent refusal would leave it waiting on a queue that never runs.
 * - Notifications and used-buffer interrupts only while live (DRIVER_OK,
 *   no FAILED, no NEEDS_RESET): before DRIVER_OK the device must not
 *   consume buffers (3.1.1), so the device looks at its queues in
 *   ops->activate.  Config interrupts likewise only after DRIVER_OK.
 * - The interrupt line is level: high while InterruptStatus is non-zero.
 */
#include "virtio_mmio.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAGIC_VALUE		0x74726976	/* "virt" */
#define MMIO_VERSION		2
#define VENDOR_ID		0x004d564d	/* "MVM\0" */

/* Status bits the driver sets; NEEDS_RESET is the device's. */
#define DRIVER_STATUS_BITS						\
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |		\
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK |		\
	 VIRTIO_STATUS_FAILED)

#define TRANSPORT_FEATURES						\
	((1ULL << VIRTIO_F_VERSION_1) |					\
	 (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |			\
	 (1ULL << VIRTIO_F_RING_EVENT_IDX))

static u64 mmio_offered(const struct virtio_mmio *vm)
{
	return vm->ops->features | TRANSPORT_FEATURES;
}

static void mmio_update_irq(struct virtio_mmio *vm)
{
	irq_line__set(&vm->irq, vm->interrupt_status != 0);
}

static struct virtq *mmio_sel_vq(struct virtio_mmio *vm)
{
	return vm->queue_sel < vm->nqueues ? &vm->vqs[vm->queue_sel] : NULL;
}

/* The ring features are the transport's to apply to each queue. */
static void mmio_apply_ring_features(struct virtio_mmio *vm, struct virtq *vq)
{
	vq->event_idx = virtio_mmio__has_feature(vm, VIRTIO_F_RING_EVENT_IDX);
	vq->indirect = virtio_mmio__has_feature(vm,
						VIRTIO_F_RING_INDIRECT_DESC);
}

static void mmio_reset(struct virtio_mmio *vm)
{
	unsigned int i;

	/* The device first, so that it stops touching the queues. */
	if (vm->ops->reset)
		vm->ops->reset(vm->dev);
	for (i = 0; i < vm->nqueues; i++) {
		virtq__reset(&vm->vqs[i]);
		vm->vqs[i].size = vm->queue_max;
	}
	vm->device_features_sel = 0;
	vm->driver_features_sel = 0;
	vm->driver_features = 0;
	vm->negotiated = 0;
	vm->status = 0;
	vm->queue_sel = 0;
	vm->interrupt_status = 0;
	mmio_update_irq(vm);
}

void virtio_mmio__init(struct virtio_mmio *vm, u64 base, struct irq_line irq,
		       const struct guest_mem *mem,
		       const struct virtio_dev_ops *ops, void *dev,
		       unsigned int nqueues, u16 queue_max)
{
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	vm->base = base;
	vm->irq = irq;
	vm->mem = mem;
	vm->ops = ops;
	vm->dev = dev;
	vm->nqueues = MIN(nqueues, VIRTIO_MMIO_MAX_QUEUES);
	vm->queue_max = MIN(queue_max, VIRTQ_MAX_SIZE);
	for (i = 0; i < vm->nqueues; i++) {
		virtq__reset(&vm->vqs[i]);
		vm->vqs[i].size = vm->queue_max;
	}
}

static bool mmio_features_ok(struct virtio_mmio *vm)
{
	u64 f = vm->driver_features;

	if (f & ~mmio_offered(vm)) {
		pr_debug("virtio-mmio@0x%llx: driver wants features 0x%llx we did not offer",
			 (unsigned long long)vm->base,
			 (unsigned long long)(f & ~mmio_offered(vm)));
		return false;
	}
	if (!(f & (1ULL << VIRTIO_F_VERSION_1))) {
		pr_debug("virtio-mmio@0x%llx: legacy driver (no VERSION_1) refused",
			 (unsigned long long)vm->base);
		return false;
	}
	return true;
}

static void mmio_write_status(struct virtio_mmio *vm, u32 val)
{
	u32 old = vm->status & DRIVER_STATUS_BITS;
	u32 new = val & DRIVER_STATUS_BITS;
	u32 set;
	unsigned int i;

	if (!val) {
		mmio_reset(vm);
		return;
	}
	if (old & ~new) {
		pr_debug("virtio-mmio@0x%llx: status 0x%x -> 0x%x clears bits without a reset; ignored",
			 (unsigned long long)vm->base, vm->status, val);
		return;
	}
	set = new & ~old;
	if (set & VIRTIO_STATUS_FEATURES_OK) {
		if (mmio_features_ok(vm)) {
			vm->negotiated = vm->driver_features;
			for (i = 0; i < vm->nqueues; i++)
				mmio_apply_ring_features(vm, &vm->vqs[i]);
		} else {
			set &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((set & VIRTIO_STATUS_DRIVER_OK) &&
	    !((vm->status | set) & VIRTIO_STATUS_FEATURES_OK)) {
		pr_debug("virtio-mmio@0x%llx: DRIVER_OK without FEATURES_OK; ignored",
			 (unsigned long long)vm->base);
		set &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	vm->status |= set;
	/* Bits only go up until reset, so this runs once per reset. */
	if ((set & VIRTIO_STATUS_DRIVER_OK) &&
	    !(vm->status & VIRTIO_STATUS_FAILED) && vm->ops->activate)
		vm->ops->activate(vm->dev);
}

static void mmio_queue_ready(struct virtio_mmio *vm, struct virtq *vq,
			     u32 val)
{
	int ret;

	if (!val) {
		vq->ready = false;
		return;
	}
	if (vq->ready)
		return;
	mmio_apply_ring_features(vm, vq);
	ret = vq->size > vm->queue_max ? -EINVAL : virtq__validate(vq, vm->mem);
	if (ret) {
		pr_debug("virtio-mmio@0x%llx: queue %u: size %u desc 0x%llx avail 0x%llx used 0x%llx invalid (%d)",
			 (unsigned long long)vm->base, vm->queue_sel, vq->size,
			 (unsigned long long)vq->desc_gpa,
			 (unsigned long long)vq->avail_gpa,
			 (unsigned long long)vq->used_gpa, ret);
		virtio_mmio__set_needs_reset(vm);
		return;
	}
	vq->ready = true;
}

static void set_low(u64 *r, u32 val)
{
	*r = (*r & ~0xffffffffULL) | val;
}

static void set_high(u64 *r, u32 val)
{
	*r = (*r & 0xffffffffULL) | ((u64)val << 32);
}

/* Queue configuration registers: only while the queue is not ready. */
static void mmio_write_queue(struct virtio_mmio *vm, u64 reg, u32 val)
{
	struct virtq *vq = mmio_sel_vq(vm);

	if (!vq) {
		pr_debug("virtio-mmio@0x%llx: write to queue %u, which does not exist",
			 (unsigned long long)vm->base, vm->queue_sel);
		return;
	}
	if (reg == VIRTIO_MMIO_REG_QUEUE_READY) {
		mmio_queue_ready(vm, vq, val);
		return;
	}
	if (vq->ready) {
		pr_debug("virtio-mmio@0x%llx: queue %u is ready; register 0x%03llx write ignored",
			 (unsigned long long)vm->base, vm->queue_sel,
			 (unsigned long long)reg);
		return;
	}
	switch (reg) {
	case VIRTIO_MMIO_REG_QUEUE_NUM:
		/* Checked against QueueNumMax and validated at QueueReady. */
		vq->size = val > 0xffff ? 0 : val;
		break;
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
		set_low(&vq->desc_gpa, val);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
		set_high(&vq->desc_gpa, val);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
		set_low(&vq->avail_gpa, val);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
		set_high(&vq->avail_gpa, val);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
		set_low(&vq->used_gpa, val);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
		set_high(&vq->used_gpa, val);
		break;
	}
}

static void mmio_write(struct virtio_mmio *vm, u64 reg, u32 val)
{
	switch (reg) {
	case VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL:
		vm->device_features_sel = val;
		break;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL:
		vm->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES:
		/* Features are frozen once accepted (3.1.1). */
		if (vm->status & VIRTIO_STATUS_FEATURES_OK) {
			pr_debug("virtio-mmio@0x%llx: DriverFeatures after FEATURES_OK ignored",
				 (unsigned long long)vm->base);
		} else if (vm->driver_features_sel == 0) {
			set_low(&vm->driver_features, val);
		} else if (vm->driver_features_sel == 1) {
			set_high(&vm->driver_features, val);
		}
		break;
	case VIRTIO_MMIO_REG_QUEUE_SEL:
		vm->queue_sel = val;
		break;
	case VIRTIO_MMIO_REG_QUEUE_NUM:
	case VIRTIO_MMIO_REG_QUEUE_READY:
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
		mmio_write_queue(vm, reg, val);
		break;
	case VIRTIO_MMIO_REG_QUEUE_NOTIFY:
		/* Without NOTIFICATION_DATA the value is the queue index. */
		if (val < vm->nqueues && vm->vqs[val].ready &&
		    virtio_mmio__live(vm) && vm->ops->notify)
			vm->ops->notify(vm->dev, val);
		break;
	case VIRTIO_MMIO_REG_INTERRUPT_ACK:
		vm->interrupt_status &= ~val;
		mmio_update_irq(vm);
		break;
	case VIRTIO_MMIO_REG_STATUS:
		mmio_write_status(vm, val);
		break;
	case VIRTIO_MMIO_REG_SHM_SEL:
		break;	/* no shared memory regions: every id is unused */
	default:
		pr_debug("virtio-mmio@0x%llx: write 0x%x to read-only or unknown register 0x%03llx",
			 (unsigned long long)vm->base, val,
			 (unsigned long long)reg);
		break;
	}
}

static u32 mmio_read(struct virtio_mmio *vm, u64 reg)
{
	struct virtq *vq = mmio_sel_vq(vm);
	u64 features = mmio_offered(vm);

	switch (reg) {
	case VIRTIO_MMIO_REG_MAGIC:
		return MAGIC_VALUE;
	case VIRTIO_MMIO_REG_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_REG_DEVICE_ID:
		return vm->ops->device_id;
	case VIRTIO_MMIO_REG_VENDOR_ID:
		return VENDOR_ID;
	case VIRTIO_MMIO_REG_DEVICE_FEATURES:
		if (vm->device_features_sel == 0)
			return (u32)features;
		if (vm->device_features_sel == 1)
			return (u32)(features >> 32);
		return 0;
	case VIRTIO_MMIO_REG_QUEUE_NUM_MAX:
		return vq ? vm->queue_max : 0;
	case VIRTIO_MMIO_REG_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_REG_INTERRUPT_STATUS:
		return vm->interrupt_status;
	case VIRTIO_MMIO_REG_STATUS:
		return vm->status;
	case VIRTIO_MMIO_REG_SHM_LEN_LOW:
	case VIRTIO_MMIO_REG_SHM_LEN_HIGH:
	case VIRTIO_MMIO_REG_SHM_BASE_LOW:
	case VIRTIO_MMIO_REG_SHM_BASE_HIGH:
		/* 4.2.2: a non-existent region has length (and base) ~0. */
		return 0xffffffff;
	case VIRTIO_MMIO_REG_CONFIG_GENERATION:
		return vm->config_generation;
	default:
		pr_debug("virtio-mmio@0x%llx: read of write-only or unknown register 0x%03llx",
			 (unsigned long long)vm->base, (unsigned long long)reg);
		return 0;
	}
}

static void mmio_config(struct virtio_mmio *vm, u64 offset, u8 *data, u32 len,
			bool is_write)
{
	bool ok = (len == 1 || len == 2 || len == 4 || len == 8) &&
		  offset <= vm->ops->config_size &&
		  len <= vm->ops->config_size - offset;

	if (!ok) {
		pr_debug("virtio-mmio@0x%llx: config %s of %u bytes at 0x%llx outside its %u bytes",
			 (unsigned long long)vm->base,
			 is_write ? "write" : "read", len,
			 (unsigned long long)offset, vm->ops->config_size);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		if (vm->ops->config_write)
			vm->ops->config_write(vm->dev, offset, data, len);
	} else {
		memset(data, 0, len);
		if (vm->ops->config_read)
			vm->ops->config_read(vm->dev, offset, data, len);
	}
}

static int virtio_mmio_io(void *opaque, u64 offset, u8 *data, u32 len,
			  bool is_write)
{
	struct virtio_mmio *vm = opaque;
	u32 val;

	if (offset >= VIRTIO_MMIO_REG_CONFIG) {
		mmio_config(vm, offset - VIRTIO_MMIO_REG_CONFIG, data, len, is_write);
		return 0;
	}
	if (len != 4 || (offset & 3)) {
		pr_debug("virtio-mmio@0x%llx: %u-byte %s at 0x%03llx: registers take aligned 32-bit accesses",
			 (unsigned long long)vm->base, len,
			 is_write ? "write" : "read",
			 (unsigned long long)offset);
		if (!is_write)
			memset(data, 0, len);
		return 0;
	}
	if (is_write) {
		memcpy(&val, data, 4);
		mmio_write(vm, offset, le32toh(val));
	} else {
		val = htole32(mmio_read(vm, offset));
		memcpy(data, &val, 4);
	}
	return 0;
}

int virtio_mmio__register(struct virtio_mmio *vm, struct bus *bus)
{
	return bus__register(bus, BUS_MMIO, vm->base, VIRTIO_MMIO_SLOT,
			     virtio_mmio_io, vm, "virtio-mmio");
}

int virtio_mmio__cmdline(const struct virtio_mmio *vm, char *buf, size_t len)
{
	int n = snprintf(buf, len, "virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)vm->base, vm->irq.irq);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return n;
}

void virtio_mmio__signal_used(struct virtio_mmio *vm, unsigned int q)
{
	if (q >= vm->nqueues || !vm->vqs[q].ready || !virtio_mmio__live(vm))
		return;
	if (!virtq__should_signal(&vm->vqs[q], vm->mem))
		return;
	vm->interrupt_status |= VIRTIO_MMIO_INT_VRING;
	mmio_update_irq(vm);
}

void virtio_mmio__signal_config(struct virtio_mmio *vm)
{
	/* The generation tells a driver mid-read that it raced a change. */
	vm->config_generation++;
	if (!(vm->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	vm->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
	mmio_update_irq(vm);
}

void virtio_mmio__set_needs_reset(struct virtio_mmio *vm)
{
	if (vm->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vm->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 2.1.2: once DRIVER_OK is set, tell the driver with a config change. */
	if (vm->status & VIRTIO_STATUS_DRIVER_OK) {
		vm->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
		mmio_update_irq(vm);
	}
}

bool virtio_mmio__has_feature(const struct virtio_mmio *vm, unsigned int bit)
{
	return bit < 64 && (vm->negotiated & (1ULL << bit));
}

bool virtio_mmio__live(const struct virtio_mmio *vm)
{
	return (vm->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vm->status &
		 (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}
