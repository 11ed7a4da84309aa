// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mmio transport tests.  The guest side goes through the MMIO bus
 * with the register sequence of Linux's drivers/virtio/virtio_mmio.c; the
 * device behind it is a stub that records the callbacks it receives.
 */
#include "devices/bus.h"
#include "devices/virtio_mmio.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BASE		(VIRTIO_MMIO_BASE + 2 * VIRTIO_MMIO_SLOT)
#define IRQ		6
#define RAM_SIZE	(256 * KiB)
#define QMAX		64
#define NQUEUES		2
#define DEV_FEATURE	9	/* a device-specific bit we offer */

#define F(bit)		(1ULL << (bit))

struct stub {
	u8 config[24];
	unsigned int notified[NQUEUES];
	unsigned int activated;
	unsigned int resets;
	unsigned int config_writes;
};

static struct bus bus;
static struct guest_mem mem;
static struct virtio_mmio vm;
static struct stub stub;
static int irq_level = -1;
static unsigned int irq_changes;

static void stub_config_read(void *dev, u32 offset, u8 *data, u32 len)
{
	struct stub *s = dev;

	CHECK(offset + len <= sizeof(s->config));
	memcpy(data, s->config + offset, len);
}

static void stub_config_write(void *dev, u32 offset, const u8 *data, u32 len)
{
	struct stub *s = dev;

	CHECK(offset + len <= sizeof(s->config));
	memcpy(s->config + offset, data, len);
	s->config_writes++;
}

static void stub_notify(void *dev, unsigned int q)
{
	struct stub *s = dev;

	CHECK(q < NQUEUES);
	if (q < NQUEUES)
		s->notified[q]++;
}

static void stub_activate(void *dev)
{
	((struct stub *)dev)->activated++;
}

static void stub_reset(void *dev)
{
	((struct stub *)dev)->resets++;
}

static const struct virtio_dev_ops stub_ops = {
	.device_id = 2,
	.features = F(DEV_FEATURE),
	.config_size = sizeof(stub.config),
	.config_read = stub_config_read,
	.config_write = stub_config_write,
	.notify = stub_notify,
	.activate = stub_activate,
	.reset = stub_reset,
};

static void set_level(void *ctx, unsigned int irq, int level)
{
	CHECK(ctx == &vm);
	CHECK_EQ(irq, IRQ);
	if (level != irq_level)
		irq_changes++;
	irq_level = level;
}

static u32 readl(u64 off)
{
	u32 v = 0xdeadbeef;

	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + off, (u8 *)&v, 4, false),
		 0);
	return v;
}

static void writel(u64 off, u32 v)
{
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + off, (u8 *)&v, 4, true),
		 0);
}

static void setup(void)
{
	struct irq_line line = { set_level, &vm, IRQ };

	memset(mem.host, 0, mem.size);
	memset(&stub, 0, sizeof(stub));
	for (unsigned int i = 0; i < sizeof(stub.config); i++)
		stub.config[i] = 0x10 + i;
	irq_level = -1;
	irq_changes = 0;
	bus__init(&bus);
	virtio_mmio__init(&vm, BASE, line, &mem, &stub_ops, &stub, NQUEUES,
			  QMAX);
	CHECK_EQ(virtio_mmio__register(&vm, &bus), 0);
}

static u64 device_features(void)
{
	u64 f;

	writel(VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	f = (u64)readl(VIRTIO_MMIO_REG_DEVICE_FEATURES) << 32;
	writel(VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	return f | readl(VIRTIO_MMIO_REG_DEVICE_FEATURES);
}

static void driver_features(u64 f)
{
	writel(VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	writel(VIRTIO_MMIO_REG_DRIVER_FEATURES, f >> 32);
	writel(VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	writel(VIRTIO_MMIO_REG_DRIVER_FEATURES, (u32)f);
}

static void add_status(u32 bit)
{
	writel(VIRTIO_MMIO_REG_STATUS, readl(VIRTIO_MMIO_REG_STATUS) | bit);
}

/* Reset, ACKNOWLEDGE, DRIVER, negotiate f; returns the Status read back. */
static u32 negotiate(u64 f)
{
	writel(VIRTIO_MMIO_REG_STATUS, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_STATUS), 0);
	add_status(VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(VIRTIO_STATUS_DRIVER);
	driver_features(f);
	add_status(VIRTIO_STATUS_FEATURES_OK);
	return readl(VIRTIO_MMIO_REG_STATUS);
}

/* Rings of queue q at 0x1000 + q * 0x4000 (desc), +0x1000, +0x2000. */
static u64 ring_gpa(unsigned int q, unsigned int area)
{
	return 0x1000 + q * 0x4000 + area * 0x1000;
}

/* vm_setup_vq() of Linux. */
static void setup_queue(unsigned int q, u32 num)
{
	writel(VIRTIO_MMIO_REG_QUEUE_SEL, q);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_NUM_MAX), QMAX);
	writel(VIRTIO_MMIO_REG_QUEUE_NUM, num);
	writel(VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (u32)ring_gpa(q, 0));
	writel(VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, ring_gpa(q, 0) >> 32);
	writel(VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (u32)ring_gpa(q, 1));
	writel(VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, ring_gpa(q, 1) >> 32);
	writel(VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (u32)ring_gpa(q, 2));
	writel(VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, ring_gpa(q, 2) >> 32);
	writel(VIRTIO_MMIO_REG_QUEUE_READY, 1);
}

static const u64 linux_features = F(VIRTIO_F_VERSION_1) |
				  F(VIRTIO_F_RING_INDIRECT_DESC) |
				  F(VIRTIO_F_RING_EVENT_IDX) | F(DEV_FEATURE);

/* The whole probe of a Linux driver, up to DRIVER_OK. */
static void bring_up(void)
{
	CHECK_EQ(negotiate(linux_features),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		 VIRTIO_STATUS_FEATURES_OK);
	setup_queue(0, 16);
	setup_queue(1, 32);
	add_status(VIRTIO_STATUS_DRIVER_OK);
	CHECK(virtio_mmio__live(&vm));
}

static void test_identity(void)
{
	setup();
	CHECK_EQ(readl(VIRTIO_MMIO_REG_MAGIC), 0x74726976);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_VERSION), 2);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_DEVICE_ID), 2);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_VENDOR_ID), 0x004d564d);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_STATUS), 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	/* No shared memory regions: length reads as -1. */
	CHECK_EQ(readl(VIRTIO_MMIO_REG_SHM_LEN_LOW), 0xffffffff);
	/* Write-only registers read as 0. */
	writel(VIRTIO_MMIO_REG_QUEUE_NUM, 8);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_NUM), 0);
	/* Read-only ones ignore writes. */
	writel(VIRTIO_MMIO_REG_MAGIC, 0);
	writel(VIRTIO_MMIO_REG_DEVICE_ID, 7);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_MAGIC), 0x74726976);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_DEVICE_ID), 2);
}

static void test_features(void)
{
	u64 f;

	setup();
	f = device_features();
	CHECK_EQ(f, F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_RING_INDIRECT_DESC) |
		 F(VIRTIO_F_RING_EVENT_IDX) | F(DEV_FEATURE));
	writel(VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_DEVICE_FEATURES), 0);

	/* A subset with VERSION_1: accepted, both halves recorded. */
	CHECK(negotiate(F(VIRTIO_F_VERSION_1) | F(DEV_FEATURE)) &
	      VIRTIO_STATUS_FEATURES_OK);
	CHECK(virtio_mmio__has_feature(&vm, VIRTIO_F_VERSION_1));
	CHECK(virtio_mmio__has_feature(&vm, DEV_FEATURE));
	CHECK(!virtio_mmio__has_feature(&vm, VIRTIO_F_RING_EVENT_IDX));
	CHECK(!virtio_mmio__has_feature(&vm, 200));
	CHECK(!vm.vqs[0].event_idx);
	/* Features are frozen after FEATURES_OK. */
	driver_features(0);
	CHECK_EQ(vm.driver_features, F(VIRTIO_F_VERSION_1) | F(DEV_FEATURE));

	/* Ring features reach the queues. */
	negotiate(linux_features);
	CHECK(vm.vqs[0].event_idx && vm.vqs[0].indirect);
	CHECK(vm.vqs[1].event_idx && vm.vqs[1].indirect);

	/* A legacy driver: no VERSION_1, FEATURES_OK does not stick. */
	CHECK_EQ(negotiate(F(DEV_FEATURE)),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK(!virtio_mmio__has_feature(&vm, DEV_FEATURE));
	/* Nor with a bit we never offered. */
	CHECK_EQ(negotiate(F(VIRTIO_F_VERSION_1) | F(3)),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK_EQ(negotiate(F(VIRTIO_F_VERSION_1) | F(40)),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* And then DRIVER_OK is refused too. */
	add_status(VIRTIO_STATUS_DRIVER_OK);
	CHECK(!(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_DRIVER_OK));
	CHECK_EQ(stub.activated, 0);
	CHECK(!virtio_mmio__live(&vm));
}

static void test_status_machine(void)
{
	setup();
	bring_up();
	CHECK_EQ(stub.activated, 1);
	/* Clearing bits without a reset is ignored. */
	writel(VIRTIO_MMIO_REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_STATUS),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	/* Writing DRIVER_OK again does not activate twice. */
	add_status(VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(stub.activated, 1);
	/* NEEDS_RESET cannot be set by the driver. */
	add_status(VIRTIO_STATUS_NEEDS_RESET);
	CHECK(!(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* FAILED stops the device. */
	add_status(VIRTIO_STATUS_FAILED);
	CHECK(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_FAILED);
	CHECK(!virtio_mmio__live(&vm));
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
	CHECK_EQ(stub.notified[0], 0);
}

static void test_queue_setup(void)
{
	struct virtq *vq = &vm.vqs[1];

	setup();
	negotiate(linux_features);
	setup_queue(1, 32);
	CHECK(vq->ready);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 1);
	CHECK_EQ(vq->size, 32);
	CHECK_EQ(vq->desc_gpa, ring_gpa(1, 0));
	CHECK_EQ(vq->avail_gpa, ring_gpa(1, 1));
	CHECK_EQ(vq->used_gpa, ring_gpa(1, 2));
	CHECK(vq->event_idx && vq->indirect);
	/* A ready queue's configuration is frozen. */
	writel(VIRTIO_MMIO_REG_QUEUE_NUM, 8);
	writel(VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 0x9000);
	CHECK_EQ(vq->size, 32);
	CHECK_EQ(vq->desc_gpa, ring_gpa(1, 0));
	/* Linux's vm_del_vq(): QueueReady=0 reads back 0. */
	writel(VIRTIO_MMIO_REG_QUEUE_READY, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 0);
	CHECK(!vq->ready);
	writel(VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, 1);
	CHECK_EQ(vq->desc_gpa, (1ULL << 32) | ring_gpa(1, 0));

	/* Queues that do not exist. */
	writel(VIRTIO_MMIO_REG_QUEUE_SEL, NQUEUES);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_NUM_MAX), 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 0);
	writel(VIRTIO_MMIO_REG_QUEUE_READY, 1);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 0);
	writel(VIRTIO_MMIO_REG_QUEUE_SEL, 0xffffffff);
	writel(VIRTIO_MMIO_REG_QUEUE_NUM, 4);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_NUM_MAX), 0);
	CHECK(!(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
}

/* QueueReady with an impossible configuration: not ready, NEEDS_RESET. */
static void test_queue_invalid(void)
{
	static const struct {
		u32 num;
		u64 desc;
	} bad[] = {
		{ QMAX * 2, 0x1000 },	/* above QueueNumMax */
		{ 24, 0x1000 },		/* not a power of two */
		{ 0, 0x1000 },
		{ 16, 0x1008 },		/* misaligned */
		{ 16, RAM_SIZE - 16 },	/* outside RAM */
		{ 16, 0x100000000ULL },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		int before = check_failures;

		setup();
		negotiate(linux_features);
		writel(VIRTIO_MMIO_REG_QUEUE_SEL, 0);
		writel(VIRTIO_MMIO_REG_QUEUE_NUM, bad[i].num);
		writel(VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (u32)bad[i].desc);
		writel(VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, bad[i].desc >> 32);
		writel(VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, 0x2000);
		writel(VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, 0x3000);
		writel(VIRTIO_MMIO_REG_QUEUE_READY, 1);
		CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 0);
		CHECK(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
		/* Before DRIVER_OK: no config interrupt. */
		CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
		if (check_failures != before)
			fprintf(stderr, "  (case %u)\n", i);
	}
	/* QueueNum defaults to QueueNumMax if the driver never writes it. */
	setup();
	negotiate(linux_features);
	writel(VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	writel(VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 0x1000);
	writel(VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, 0x2000);
	writel(VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, 0x3000);
	writel(VIRTIO_MMIO_REG_QUEUE_READY, 1);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 1);
	CHECK_EQ(vm.vqs[0].size, QMAX);
}

static void test_notify(void)
{
	setup();
	negotiate(linux_features);
	setup_queue(0, 16);
	setup_queue(1, 16);
	/* Not before DRIVER_OK. */
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	CHECK_EQ(stub.notified[1], 0);
	add_status(VIRTIO_STATUS_DRIVER_OK);
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
	CHECK_EQ(stub.notified[0], 1);
	CHECK_EQ(stub.notified[1], 2);
	/* Invalid index, or a queue that is not ready: ignored. */
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, NQUEUES);
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0xffffffff);
	writel(VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	writel(VIRTIO_MMIO_REG_QUEUE_READY, 0);
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
	CHECK_EQ(stub.notified[0], 1);
	CHECK_EQ(stub.notified[1], 2);
	/* Nor once the device needs a reset. */
	virtio_mmio__set_needs_reset(&vm);
	writel(VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	CHECK_EQ(stub.notified[1], 2);
}

static void put16(u64 gpa, u16 v)
{
	memcpy(mem.host + gpa, &v, 2);
}

static void test_interrupts(void)
{
	struct virtq *vq = &vm.vqs[0];

	setup();
	bring_up();
	CHECK_EQ(irq_level, 0);
	/* A used buffer, event_idx on: the first one always interrupts. */
	CHECK_EQ(virtq__push(vq, &mem, 0, 0), 0);
	virtio_mmio__signal_used(&vm, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq_level, 1);
	writel(VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	CHECK_EQ(irq_level, 0);

	/* used_event says "not yet": no interrupt. */
	put16(ring_gpa(0, 1) + 4 + 2 * 16, 5);
	CHECK_EQ(virtq__push(vq, &mem, 1, 0), 0);
	virtio_mmio__signal_used(&vm, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	CHECK_EQ(irq_level, 0);

	/* Config change: generation bumps, INT_CONFIG. */
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG_GENERATION), 0);
	virtio_mmio__signal_config(&vm);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG_GENERATION), 1);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq_level, 1);
	/* Both pending: acking one keeps the line up. */
	put16(ring_gpa(0, 1) + 4 + 2 * 16, 2);
	CHECK_EQ(virtq__push(vq, &mem, 2, 0), 0);
	virtio_mmio__signal_used(&vm, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS),
		 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	writel(VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq_level, 1);
	writel(VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(irq_level, 0);

	/* Invalid queue index: nothing. */
	virtio_mmio__signal_used(&vm, NQUEUES);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);

	/* Without event_idx, NO_INTERRUPT silences used interrupts. */
	setup();
	CHECK(negotiate(F(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(0, 16);
	add_status(VIRTIO_STATUS_DRIVER_OK);
	put16(ring_gpa(0, 1), VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(virtq__push(vq, &mem, 0, 0), 0);
	virtio_mmio__signal_used(&vm, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	put16(ring_gpa(0, 1), 0);
	virtio_mmio__signal_used(&vm, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);

	/* Before DRIVER_OK, config changes only bump the generation. */
	setup();
	negotiate(linux_features);
	virtio_mmio__signal_config(&vm);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG_GENERATION), 1);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	CHECK(irq_level != 1);
}

static void test_needs_reset(void)
{
	setup();
	bring_up();
	virtio_mmio__set_needs_reset(&vm);
	CHECK(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(irq_level, 1);
	CHECK(!virtio_mmio__live(&vm));
	/* The driver writing its bits back keeps NEEDS_RESET. */
	writel(VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	add_status(0);
	CHECK(readl(VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Used buffers are not signalled any more. */
	CHECK_EQ(virtq__push(&vm.vqs[0], &mem, 0, 0), 0);
	virtio_mmio__signal_used(&vm, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	/* Reset clears it. */
	writel(VIRTIO_MMIO_REG_STATUS, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_STATUS), 0);
	bring_up();
	CHECK(virtio_mmio__live(&vm));
}

static void test_reset(void)
{
	setup();
	bring_up();
	vm.vqs[0].last_avail = 5;
	vm.vqs[0].used_idx = 5;
	virtio_mmio__signal_config(&vm);
	writel(VIRTIO_MMIO_REG_QUEUE_SEL, 1);
	writel(VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(irq_level, 1);

	stub.resets = 0;
	writel(VIRTIO_MMIO_REG_STATUS, 0);
	CHECK_EQ(stub.resets, 1);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_STATUS), 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(vm.negotiated, 0);
	CHECK_EQ(vm.driver_features, 0);
	CHECK(!virtio_mmio__has_feature(&vm, VIRTIO_F_VERSION_1));
	CHECK(!virtio_mmio__live(&vm));
	/* The selectors are back at 0. */
	CHECK_EQ(vm.device_features_sel, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_DEVICE_FEATURES), (u32)linux_features);
	CHECK_EQ(vm.queue_sel, 0);
	for (unsigned int q = 0; q < NQUEUES; q++) {
		struct virtq *vq = &vm.vqs[q];

		writel(VIRTIO_MMIO_REG_QUEUE_SEL, q);
		CHECK_EQ(readl(VIRTIO_MMIO_REG_QUEUE_READY), 0);
		CHECK(!vq->ready);
		CHECK_EQ(vq->last_avail, 0);
		CHECK_EQ(vq->used_idx, 0);
		CHECK_EQ(vq->desc_gpa, 0);
		CHECK(!vq->event_idx && !vq->indirect);
	}
	/* The config space did not change: neither does the generation. */
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG_GENERATION), 1);
	/* And the device comes up again, activated once more. */
	bring_up();
	CHECK_EQ(stub.activated, 2);
}

static void test_config_space(void)
{
	u64 v64 = 0;
	u32 v32 = 0;
	u16 v16 = 0;
	u8 v8 = 0;

	setup();
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 3, &v8, 1,
			     false), 0);
	CHECK_EQ(v8, 0x13);
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 6,
			     (u8 *)&v16, 2, false), 0);
	CHECK_EQ(v16, 0x1716);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG + 4), 0x17161514);
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 16,
			     (u8 *)&v64, 8, false), 0);
	CHECK_EQ(v64, 0x2726252423222120ULL);
	/* Unaligned is fine in config space. */
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 1,
			     (u8 *)&v32, 4, false), 0);
	CHECK_EQ(v32, 0x14131211);

	writel(VIRTIO_MMIO_REG_CONFIG + 8, 0xcafef00d);
	CHECK_EQ(stub.config_writes, 1);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG + 8), 0xcafef00d);
	v8 = 0x55;
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 23, &v8, 1,
			     true), 0);
	CHECK_EQ(stub.config[23], 0x55);

	/* Past config_size: reads 0, writes never reach the device. */
	v64 = ~0ULL;
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 20,
			     (u8 *)&v64, 8, false), 0);
	CHECK_EQ(v64, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_CONFIG + 24), 0);
	CHECK_EQ(readl(0xffc), 0);
	writel(VIRTIO_MMIO_REG_CONFIG + 24, 1);
	writel(VIRTIO_MMIO_REG_CONFIG + 22, 1);	/* straddles the end */
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_REG_CONFIG + 20,
			     (u8 *)&v64, 8, true), 0);
	CHECK_EQ(stub.config_writes, 2);
}

/* Registers take aligned 32-bit accesses only; nothing else crashes. */
static void test_odd_accesses(void)
{
	u8 buf[8];
	u32 len, off;

	setup();
	bring_up();
	stub.resets = 0;
	for (off = 0; off < VIRTIO_MMIO_REG_CONFIG; off++) {
		for (len = 1; len <= 8; len *= 2) {
			if (len == 4 && !(off & 3))
				continue;
			memset(buf, 0xaa, sizeof(buf));
			CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + off, buf,
					     len, false), 0);
			for (u32 i = 0; i < len; i++)
				CHECK_EQ(buf[i], 0);
			memset(buf, 0, sizeof(buf));	/* would reset */
			CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + off, buf,
					     len, true), 0);
		}
	}
	CHECK(virtio_mmio__live(&vm));
	CHECK_EQ(stub.resets, 0);
	CHECK_EQ(readl(VIRTIO_MMIO_REG_MAGIC), 0x74726976);
	/* The last bytes of the slot. */
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_SLOT - 1, buf,
			     1, false), 0);
	CHECK_EQ(bus__access(&bus, BUS_MMIO, BASE + VIRTIO_MMIO_SLOT - 8, buf,
			     8, true), 0);
}

static void test_cmdline(void)
{
	char buf[64];

	setup();
	CHECK_EQ(virtio_mmio__cmdline(&vm, buf, sizeof(buf)),
		 strlen("virtio_mmio.device=4K@0xd0002000:6"));
	CHECK(!strcmp(buf, "virtio_mmio.device=4K@0xd0002000:6"));
	CHECK_EQ(virtio_mmio__cmdline(&vm, buf, 10), -ENOSPC);
}

int main(void)
{
	mem.size = RAM_SIZE;
	mem.host = aligned_alloc(4096, RAM_SIZE);
	if (!mem.host)
		return 2;
	RUN(test_identity);
	RUN(test_features);
	RUN(test_status_machine);
	RUN(test_queue_setup);
	RUN(test_queue_invalid);
	RUN(test_notify);
	RUN(test_interrupts);
	RUN(test_needs_reset);
	RUN(test_reset);
	RUN(test_config_space);
	RUN(test_odd_accesses);
	RUN(test_cmdline);
	free(mem.host);
	return check_summary();
}
