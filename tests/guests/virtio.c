// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mmio (modern) transport and split virtqueues for the test
 * guests; see virtio.h.  Written from the VIRTIO 1.x text rather than from
 * a device implementation, so that the guests check the device against the
 * spec and not against itself.
 */
#include "rt.h"
#include "virtio.h"

int vio_probe(struct vio_dev *d, uintptr_t base, uint32_t device_id)
{
	uint32_t magic, version, id;

	d->base = (volatile uint8_t *)base;
	d->device_id = device_id;
	d->dev_features = 0;
	d->features = 0;
	magic = vio_read32(d, VIO_MMIO_MAGIC);
	version = vio_read32(d, VIO_MMIO_VERSION);
	id = vio_read32(d, VIO_MMIO_DEVICE_ID);
	if (magic != VIO_MAGIC) {
		rt_printf("virtio: no device at 0x%lx (magic 0x%x)\n",
			  (unsigned long)base, magic);
		return -1;
	}
	if (version != 2) {
		rt_printf("virtio: 0x%lx has version %u, want 2 (modern)\n",
			  (unsigned long)base, version);
		return -1;
	}
	if (id != device_id) {
		rt_printf("virtio: 0x%lx is device %u, want %u\n",
			  (unsigned long)base, id, device_id);
		return -1;
	}
	return 0;
}

uint32_t vio_status(const struct vio_dev *d)
{
	return vio_read32(d, VIO_MMIO_STATUS);
}

void vio_status_set(struct vio_dev *d, uint32_t bits)
{
	vio_write32(d, VIO_MMIO_STATUS, vio_status(d) | bits);
}

int vio_reset(struct vio_dev *d)
{
	unsigned int i;

	vio_write32(d, VIO_MMIO_STATUS, 0);
	/* 4.2.3.1: wait for the reset to finish before going on. */
	for (i = 0; i < 1000; i++)
		if (vio_status(d) == 0)
			return 0;
	rt_printf("virtio: status still 0x%x after reset\n", vio_status(d));
	return -1;
}

int vio_negotiate(struct vio_dev *d, uint64_t wanted)
{
	uint64_t f;

	vio_write32(d, VIO_MMIO_DEV_FEAT_SEL, 0);
	f = vio_read32(d, VIO_MMIO_DEV_FEATURES);
	vio_write32(d, VIO_MMIO_DEV_FEAT_SEL, 1);
	f |= (uint64_t)vio_read32(d, VIO_MMIO_DEV_FEATURES) << 32;
	d->dev_features = f;
	if (!(f & (1ULL << VIO_F_VERSION_1))) {
		rt_printf("virtio: device does not offer VERSION_1 (features 0x%lx)\n",
			  (unsigned long)f);
		return -1;
	}
	d->features = f & (wanted | 1ULL << VIO_F_VERSION_1);
	vio_write32(d, VIO_MMIO_DRV_FEAT_SEL, 0);
	vio_write32(d, VIO_MMIO_DRV_FEATURES, (uint32_t)d->features);
	vio_write32(d, VIO_MMIO_DRV_FEAT_SEL, 1);
	vio_write32(d, VIO_MMIO_DRV_FEATURES, (uint32_t)(d->features >> 32));
	vio_status_set(d, VIO_STATUS_FEATURES_OK);
	/* 3.1.1: the device may refuse the subset by clearing the bit. */
	if (!(vio_status(d) & VIO_STATUS_FEATURES_OK)) {
		rt_printf("virtio: FEATURES_OK did not stick (status 0x%x, features 0x%lx)\n",
			  vio_status(d), (unsigned long)d->features);
		return -1;
	}
	return 0;
}

uint8_t vio_config8(const struct vio_dev *d, uint32_t off)
{
	return *(volatile uint8_t *)(d->base + VIO_MMIO_CONFIG + off);
}

uint16_t vio_config16(const struct vio_dev *d, uint32_t off)
{
	return *(volatile uint16_t *)(d->base + VIO_MMIO_CONFIG + off);
}

uint32_t vio_config32(const struct vio_dev *d, uint32_t off)
{
	return vio_read32(d, VIO_MMIO_CONFIG + off);
}

/*
 * 4.2.2.2: 64-bit fields are read as two 32-bit halves; ConfigGeneration
 * tells whether the device changed the field between the two reads.
 */
uint64_t vio_config64(const struct vio_dev *d, uint32_t off)
{
	uint32_t gen, lo, hi;

	do {
		gen = vio_read32(d, VIO_MMIO_CONFIG_GEN);
		lo = vio_config32(d, off);
		hi = vio_config32(d, off + 4);
	} while (gen != vio_read32(d, VIO_MMIO_CONFIG_GEN));
	return lo | (uint64_t)hi << 32;
}

uint32_t vio_irq_ack(struct vio_dev *d)
{
	uint32_t isr = vio_read32(d, VIO_MMIO_INT_STATUS);

	if (isr)
		vio_write32(d, VIO_MMIO_INT_ACK, isr);
	return isr;
}

int vq_setup(struct vq *vq, struct vio_dev *d, uint16_t index,
	     struct vq_mem *mem, uint16_t max_size)
{
	uint32_t qmax;
	uint16_t size, i;

	memset(vq, 0, sizeof(*vq));
	vq->dev = d;
	vq->mem = mem;
	vq->index = index;
	vio_write32(d, VIO_MMIO_QUEUE_SEL, index);
	if (vio_read32(d, VIO_MMIO_QUEUE_READY)) {
		rt_printf("virtio: queue %u already ready after reset\n", index);
		return -1;
	}
	qmax = vio_read32(d, VIO_MMIO_QUEUE_NUM_MAX);
	if (!qmax) {
		rt_printf("virtio: queue %u not available\n", index);
		return -1;
	}
	if (max_size > VQ_MAX_SIZE)
		max_size = VQ_MAX_SIZE;
	/* Split rings have power-of-two sizes. */
	for (size = 1; size * 2 <= qmax && size * 2 <= max_size; size *= 2)
		;
	vq->size = size;
	vq->event_idx = vio_has(d, VIO_F_RING_EVENT_IDX);
	vq->indirect = vio_has(d, VIO_F_RING_INDIRECT_DESC);

	/* The device reads the rings only after QueueReady; no barrier games. */
	memset(mem, 0, sizeof(*mem));
	for (i = 0; i < size; i++)
		mem->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = size;

	vio_write32(d, VIO_MMIO_QUEUE_NUM, size);
	vio_write32(d, VIO_MMIO_QUEUE_DESC_LO, (uint32_t)(uintptr_t)mem->desc);
	vio_write32(d, VIO_MMIO_QUEUE_DESC_HI,
		    (uint32_t)((uint64_t)(uintptr_t)mem->desc >> 32));
	vio_write32(d, VIO_MMIO_QUEUE_AVAIL_LO,
		    (uint32_t)(uintptr_t)&mem->avail);
	vio_write32(d, VIO_MMIO_QUEUE_AVAIL_HI,
		    (uint32_t)((uint64_t)(uintptr_t)&mem->avail >> 32));
	vio_write32(d, VIO_MMIO_QUEUE_USED_LO,
		    (uint32_t)(uintptr_t)&mem->used);
	vio_write32(d, VIO_MMIO_QUEUE_USED_HI,
		    (uint32_t)((uint64_t)(uintptr_t)&mem->used >> 32));
	vio_write32(d, VIO_MMIO_QUEUE_READY, 1);
	if (vio_read32(d, VIO_MMIO_QUEUE_READY) != 1) {
		rt_printf("virtio: queue %u refused QueueReady\n", index);
		return -1;
	}
	return 0;
}

static uint16_t vq_alloc(struct vq *vq)
{
	uint16_t i = vq->free_head;

	vq->free_head = vq->mem->desc[i].next;
	vq->num_free--;
	return i;
}

int vq_add(struct vq *vq, const struct vq_seg *segs, unsigned int n,
	   struct vq_desc *table, void *cookie)
{
	struct vq_desc *desc = vq->mem->desc;
	unsigned int i, need = table ? 1 : n;
	uint16_t head, prev = 0, cur;

	if (!n || vq->num_free < need)
		return -1;
	if (table) {
		/* 2.7.5.3: the table's own chain uses indices into itself. */
		for (i = 0; i < n; i++) {
			table[i].addr = (uint64_t)(uintptr_t)segs[i].addr;
			table[i].len = segs[i].len;
			table[i].flags = (segs[i].write ? VQ_DESC_F_WRITE : 0) |
					 (i + 1 < n ? VQ_DESC_F_NEXT : 0);
			table[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
		}
		head = vq_alloc(vq);
		desc[head].addr = (uint64_t)(uintptr_t)table;
		desc[head].len = n * sizeof(struct vq_desc);
		/* Never NEXT together with INDIRECT, never WRITE on it. */
		desc[head].flags = VQ_DESC_F_INDIRECT;
	} else {
		head = vq->free_head;
		for (i = 0; i < n; i++) {
			cur = vq_alloc(vq);
			if (i)
				desc[prev].next = cur;
			desc[cur].addr = (uint64_t)(uintptr_t)segs[i].addr;
			desc[cur].len = segs[i].len;
			desc[cur].flags = (segs[i].write ? VQ_DESC_F_WRITE : 0) |
					  (i + 1 < n ? VQ_DESC_F_NEXT : 0);
			prev = cur;
		}
	}
	vq->chain_len[head] = (uint16_t)need;
	vq->cookie[head] = cookie;
	vq->mem->avail.ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	return head;
}

/* 2.7.7.2 / 2.7.10: has idx moved past event since old? */
static bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void vq_kick(struct vq *vq)
{
	uint16_t old = vq->kicked_idx, new_idx = vq->avail_idx;
	bool notify;

	if (old == new_idx)
		return;
	/* Descriptors and ring entries before the index that exposes them. */
	vio_barrier();
	*(volatile uint16_t *)&vq->mem->avail.idx = new_idx;
	vq->kicked_idx = new_idx;
	/* The index store must be visible before we read the device's wish. */
	vio_mb();
	if (vq->event_idx)
		notify = vq_need_event(*vq_avail_event(vq), new_idx, old);
	else
		notify = !(*(volatile uint16_t *)&vq->mem->used.flags &
			   VQ_USED_F_NO_NOTIFY);
	if (notify) {
		vio_write32(vq->dev, VIO_MMIO_QUEUE_NOTIFY, vq->index);
		vq->notifies++;
	} else {
		vq->notifies_suppressed++;
	}
}

bool vq_more_used(const struct vq *vq)
{
	return *(volatile const uint16_t *)&vq->mem->used.idx != vq->last_used;
}

int vq_get_used(struct vq *vq, uint32_t *len, void **cookie)
{
	struct vq_desc *desc = vq->mem->desc;
	struct vq_used_elem e;
	uint16_t head, i, n;

	if (!vq_more_used(vq))
		return -1;
	/* The entry is read after the index that published it (load order). */
	vio_barrier();
	e = *(volatile struct vq_used_elem *)
		     &vq->mem->used.ring[vq->last_used & (vq->size - 1)];
	vq->last_used++;
	if (e.id >= vq->size || !vq->chain_len[e.id]) {
		rt_printf("virtio: used ring returned bad id %u\n", e.id);
		rt_exit(90);
	}
	head = (uint16_t)e.id;
	*len = e.len;
	*cookie = vq->cookie[head];
	/* Give the descriptors back; the device never writes them. */
	n = vq->chain_len[head];
	vq->chain_len[head] = 0;
	for (i = head; n--;) {
		uint16_t next = desc[i].next;

		desc[i].next = vq->free_head;
		vq->free_head = i;
		vq->num_free++;
		i = next;
	}
	return head;
}

bool vq_arm(struct vq *vq, uint16_t after)
{
	if (vq->event_idx) {
		if (!after)
			after = 1;
		*vq_used_event(vq) = (uint16_t)(vq->last_used + after - 1);
	} else {
		vq->mem->avail.flags = 0;
	}
	/* Publish the event index before looking at the used index again. */
	vio_mb();
	return vq_more_used(vq);
}
