// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk end to end without KVM: a driver written here sets the device
 * up through its MMIO registers exactly as Linux does, puts requests in
 * the ring in a guest memory buffer, notifies, and checks the status
 * bytes, the used ring, the interrupt line and the image file on the host,
 * with every disk engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk/virtio_blk.h"
#include "tests/unit/check.h"

#define MEM_SIZE (2 * MiB)
#define BASE VIRTIO_MMIO_BASE
#define QSIZE 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define HDRS 0x4000	/* request headers, 16 bytes each */
#define STATUS 0x5000	/* status bytes, 1 per request */
#define DATA 0x10000	/* data buffers */
#define IMG_SECTORS 2048 /* 1 MiB image */

struct vdesc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct tb {
	struct guest_mem mem;
	struct bus bus;
	struct evq evq;
	struct disk disk;
	struct virtio_blk vb;
	char path[64];
	int irq_level;
	u16 avail_idx;
	u16 used_seen;
};

static void tb_irq(void *ctx, unsigned int irq __maybe_unused, int level)
{
	((struct tb *)ctx)->irq_level = level;
}

static u32 rd32(struct tb *t, u64 off)
{
	u8 b[4];

	bus__access(&t->bus, BUS_MMIO, BASE + off, b, 4, false);
	return b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24;
}

static void wr32(struct tb *t, u64 off, u32 v)
{
	u8 b[4] = { v, v >> 8, v >> 16, v >> 24 };

	bus__access(&t->bus, BUS_MMIO, BASE + off, b, 4, true);
}

static void *gp(struct tb *t, u64 gpa)
{
	return t->mem.host + gpa;
}

/* What Linux's virtio_mmio + virtio_blk probe does, in order. */
static void tb_driver_init(struct tb *t)
{
	wr32(t, 0x70, 0);
	wr32(t, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	wr32(t, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr32(t, 0x14, 0);
	wr32(t, 0x24, 0);
	wr32(t, 0x20, rd32(t, 0x10) & ~(1u << VIRTIO_F_RING_EVENT_IDX));
	wr32(t, 0x14, 1);
	wr32(t, 0x24, 1);
	wr32(t, 0x20, rd32(t, 0x10) & 1); /* VERSION_1 */
	wr32(t, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			      VIRTIO_STATUS_FEATURES_OK);
	CHECK(rd32(t, 0x70) & VIRTIO_STATUS_FEATURES_OK);
	wr32(t, 0x30, 0);
	CHECK(rd32(t, 0x34) >= QSIZE);
	wr32(t, 0x38, QSIZE);
	wr32(t, 0x80, DESC);
	wr32(t, 0x84, 0);
	wr32(t, 0x90, AVAIL);
	wr32(t, 0x94, 0);
	wr32(t, 0xa0, USED);
	wr32(t, 0xa4, 0);
	wr32(t, 0x44, 1);
	wr32(t, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			      VIRTIO_STATUS_FEATURES_OK |
			      VIRTIO_STATUS_DRIVER_OK);
}

static int tb_init(struct tb *t, enum disk_engine_kind eng, bool ro)
{
	static const u8 zero[512];
	int fd, i;

	memset(t, 0, sizeof(*t));
	t->mem.size = MEM_SIZE;
	t->mem.host = calloc(1, MEM_SIZE);
	snprintf(t->path, sizeof(t->path), "/tmp/test_virtio_blk.XXXXXX");
	fd = mkstemp(t->path);
	for (i = 0; i < IMG_SECTORS; i++)
		CHECK(write(fd, zero, sizeof(zero)) == sizeof(zero));
	close(fd);
	CHECK_EQ(evq__init(&t->evq), 0);
	if (disk__open(&t->disk, t->path, ro, eng, &t->evq))
		return -1;
	bus__init(&t->bus);
	CHECK_EQ(virtio_blk__init(&t->vb, &t->disk, "unit-disk", BASE,
				  (struct irq_line){ tb_irq, t, 5 }, &t->mem), 0);
	CHECK_EQ(virtio_blk__register(&t->vb, &t->bus), 0);
	tb_driver_init(t);
	return 0;
}

static void tb_exit(struct tb *t)
{
	virtio_blk__exit(&t->vb);
	disk__close(&t->disk);
	evq__exit(&t->evq);
	unlink(t->path);
	free(t->mem.host);
}

static void tb_desc(struct tb *t, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	struct vdesc *d = gp(t, DESC + 16 * i);

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Queue chain head and notify, as the driver does. */
static void tb_kick(struct tb *t, u16 head)
{
	u16 *ring = gp(t, AVAIL + 4);

	ring[t->avail_idx % QSIZE] = head;
	t->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*(u16 *)gp(t, AVAIL + 2) = t->avail_idx;
	wr32(t, 0x50, 0);
}

/* Release completions the way the vCPU loop does, until none in flight. */
static void tb_run_completions(struct tb *t)
{
	struct event ev;
	int spins = 0;

	while (t->vb.inflight && spins++ < 1000) {
		evq__wait(&t->evq, 10 * 1000 * 1000);
		while (evq__pop(&t->evq, &ev))
			evq__release(&ev);
	}
	CHECK_EQ(t->vb.inflight, 0);
}

/* A three-descriptor request: header, data, status.  Returns the status. */
static int tb_rw(struct tb *t, u32 type, u64 sector, u64 buf, u32 len,
		 u16 slot)
{
	u64 hdr = HDRS + 16 * slot;
	u8 *st = gp(t, STATUS + slot);
	u16 d = slot * 3;

	*(u32 *)gp(t, hdr) = type;
	*(u32 *)gp(t, hdr + 4) = 0;
	*(u64 *)gp(t, hdr + 8) = sector;
	*st = 0xff;
	if (!len) {
		/* No data: header and status only (FLUSH). */
		tb_desc(t, d, hdr, 16, VIRTQ_DESC_F_NEXT, d + 2);
		tb_desc(t, d + 2, STATUS + slot, 1, VIRTQ_DESC_F_WRITE, 0);
		tb_kick(t, d);
		tb_run_completions(t);
		return *st;
	}
	tb_desc(t, d, hdr, 16, VIRTQ_DESC_F_NEXT, d + 1);
	tb_desc(t, d + 1, buf, len,
		VIRTQ_DESC_F_NEXT | (type == 0 || type == 8 ? VIRTQ_DESC_F_WRITE : 0),
		d + 2);
	tb_desc(t, d + 2, STATUS + slot, 1, VIRTQ_DESC_F_WRITE, 0);
	tb_kick(t, d);
	tb_run_completions(t);
	return *st;
}

static void check_rw_engine(enum disk_engine_kind eng)
{
	struct tb t;
	u8 *buf, file[4096];
	int fd;

	if (tb_init(&t, eng, false)) {
		CHECK(0);
		return;
	}
	buf = gp(&t, DATA);
	memset(buf, 0xab, 4096);
	CHECK_EQ(tb_rw(&t, 1, 8, DATA, 4096, 0), 0);		/* OUT */
	memset(buf, 0, 4096);
	CHECK_EQ(tb_rw(&t, 0, 8, DATA, 4096, 1), 0);		/* IN */
	CHECK_EQ(buf[0], 0xab);
	CHECK_EQ(buf[4095], 0xab);
	CHECK_EQ(tb_rw(&t, 4, 0, DATA, 0, 2), 0);		/* FLUSH */
	CHECK(t.irq_level);
	/* The used ring has all three, with the bytes written. */
	CHECK_EQ(*(u16 *)gp(&t, USED + 2), 3);
	CHECK_EQ(*(u32 *)gp(&t, USED + 4 + 8 * 1 + 4), 4097);
	/* The interrupt is acknowledged like Linux does. */
	CHECK_EQ(rd32(&t, 0x60) & VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_VRING);
	wr32(&t, 0x64, rd32(&t, 0x60));
	CHECK_EQ(t.irq_level, 0);
	/* And the host sees the data. */
	fd = open(t.path, O_RDONLY);
	CHECK(pread(fd, file, 4096, 8 * 512) == 4096);
	close(fd);
	CHECK_EQ(file[0], 0xab);
	CHECK_EQ(file[4095], 0xab);
	tb_exit(&t);
}

static void test_rw_sync(void)
{
	check_rw_engine(DISK_ENGINE_SYNC);
}

static void test_rw_threads(void)
{
	check_rw_engine(DISK_ENGINE_THREADS);
}

static bool have_uring(struct tb *t)
{
	bool ok;

	if (tb_init(t, DISK_ENGINE_AUTO, false))
		return false;
	ok = !strcmp(disk__engine_name(&t->disk), "uring");
	tb_exit(t);
	return ok;
}

/* The default engine, which must be io_uring here: no silent fallback. */
static void test_rw_uring(void)
{
	check_rw_engine(DISK_ENGINE_URING);
}

static void test_errors(void)
{
	struct tb t;
	char *id;

	if (tb_init(&t, DISK_ENGINE_SYNC, false)) {
		CHECK(0);
		return;
	}
	/* Beyond capacity, straddling the end, not a multiple of 512. */
	CHECK_EQ(tb_rw(&t, 0, IMG_SECTORS, DATA, 512, 0), 1);
	CHECK_EQ(tb_rw(&t, 0, IMG_SECTORS - 1, DATA, 1024, 1), 1);
	CHECK_EQ(tb_rw(&t, 1, UINT64_MAX / 256, DATA, 512, 2), 1);
	CHECK_EQ(tb_rw(&t, 0, 0, DATA, 100, 3), 1);
	/* Unknown type. */
	CHECK_EQ(tb_rw(&t, 77, 0, DATA, 512, 4), 2);
	/* GET_ID: the serial, NUL padded. */
	id = gp(&t, DATA);
	memset(id, 'x', 20);
	CHECK_EQ(tb_rw(&t, 8, 0, DATA, 20, 0), 0);
	CHECK(!memcmp(id, "unit-disk\0\0", 11));
	/* Capacity in the config space. */
	CHECK_EQ(rd32(&t, 0x100), IMG_SECTORS);
	CHECK_EQ(rd32(&t, 0x104), 0);
	tb_exit(&t);
}

static void test_read_only(void)
{
	struct tb t;

	if (tb_init(&t, DISK_ENGINE_SYNC, true)) {
		CHECK(0);
		return;
	}
	wr32(&t, 0x14, 0);
	CHECK_EQ(rd32(&t, 0x10) & (1u << 5), 1u << 5); /* VIRTIO_BLK_F_RO */
	CHECK_EQ(tb_rw(&t, 1, 0, DATA, 512, 0), 1);
	CHECK_EQ(tb_rw(&t, 0, 0, DATA, 512, 1), 0);
	CHECK_EQ(tb_rw(&t, 4, 0, DATA, 0, 2), 0);
	tb_exit(&t);
}

static void test_malformed_chain(void)
{
	struct tb t;

	if (tb_init(&t, DISK_ENGINE_SYNC, false)) {
		CHECK(0);
		return;
	}
	/* A loop: 0 -> 1 -> 0. */
	tb_desc(&t, 0, HDRS, 16, VIRTQ_DESC_F_NEXT, 1);
	tb_desc(&t, 1, DATA, 512, VIRTQ_DESC_F_NEXT, 0);
	tb_kick(&t, 0);
	CHECK(rd32(&t, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(rd32(&t, 0x60) & VIRTIO_MMIO_INT_CONFIG);
	/* A buffer outside guest RAM, after a reset with fresh rings. */
	memset(gp(&t, DESC), 0, USED + 0x1000 - DESC);
	t.avail_idx = 0;
	tb_driver_init(&t);
	CHECK(!(rd32(&t, 0x70) & VIRTIO_STATUS_NEEDS_RESET));
	tb_desc(&t, 0, HDRS, 16, VIRTQ_DESC_F_NEXT, 1);
	tb_desc(&t, 1, MEM_SIZE - 256, 512, VIRTQ_DESC_F_NEXT, 2);
	tb_desc(&t, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	tb_kick(&t, 0);
	CHECK(rd32(&t, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	tb_exit(&t);
}

static void test_discard_write_zeroes(void)
{
	struct tb t;
	u8 *buf;
	struct {
		u64 sector;
		u32 num;
		u32 flags;
	} *seg;

	if (tb_init(&t, DISK_ENGINE_SYNC, false)) {
		CHECK(0);
		return;
	}
	buf = gp(&t, DATA);
	memset(buf, 0x5a, 4096);
	CHECK_EQ(tb_rw(&t, 1, 16, DATA, 4096, 0), 0);
	/* Write-zeroes of sectors 16..23: header + one segment, status. */
	seg = gp(&t, DATA + 8192);
	seg->sector = 16;
	seg->num = 8;
	seg->flags = 0;
	*(u32 *)gp(&t, HDRS) = 13;
	*(u64 *)gp(&t, HDRS + 8) = 0;
	tb_desc(&t, 0, HDRS, 16, VIRTQ_DESC_F_NEXT, 1);
	tb_desc(&t, 1, DATA + 8192, 16, VIRTQ_DESC_F_NEXT, 2);
	tb_desc(&t, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	tb_kick(&t, 0);
	CHECK_EQ(*(u8 *)gp(&t, STATUS), 0);
	memset(buf, 0xff, 4096);
	CHECK_EQ(tb_rw(&t, 0, 16, DATA, 4096, 1), 0);
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(buf[4095], 0);
	/* Discard with unknown flags: UNSUPP. */
	seg->flags = 2;
	*(u32 *)gp(&t, HDRS) = 11;
	tb_kick(&t, 0);
	CHECK_EQ(*(u8 *)gp(&t, STATUS), 2);
	tb_exit(&t);
}

/* Put one request in the ring and notify, without waiting for it. */
static void tb_post(struct tb *t, u32 type, u64 sector, u64 buf, u32 len,
		    u16 slot)
{
	u64 hdr = HDRS + 16 * slot;
	u16 d = slot * 3;

	*(u32 *)gp(t, hdr) = type;
	*(u32 *)gp(t, hdr + 4) = 0;
	*(u64 *)gp(t, hdr + 8) = sector;
	*(u8 *)gp(t, STATUS + slot) = 0xff;
	tb_desc(t, d, hdr, 16, VIRTQ_DESC_F_NEXT, d + 1);
	tb_desc(t, d + 1, buf, len,
		VIRTQ_DESC_F_NEXT | (type == 0 ? VIRTQ_DESC_F_WRITE : 0), d + 2);
	tb_desc(t, d + 2, STATUS + slot, 1, VIRTQ_DESC_F_WRITE, 0);
	tb_kick(t, d);
}

/* Wait (without popping) until n completions are queued. */
static void tb_wait_posted(struct tb *t, unsigned int n)
{
	u64 deadline = util__host_ns() + 10 * NSEC_PER_SEC;

	while (evq__count(&t->evq) < n && util__host_ns() < deadline)
		evq__wait(&t->evq, 10 * 1000 * 1000);
	CHECK_EQ(evq__count(&t->evq), n);
}

/*
 * The one door for data (DESIGN.md): a READ finished on the host changes
 * nothing the guest can see (not its buffer, not the used ring, not the
 * interrupt) until the loop releases the completion; a WRITE puts on disk
 * the bytes the guest had at submission, whatever it does to its buffer
 * afterwards.
 */
static void check_door(enum disk_engine_kind eng)
{
	struct tb t;
	u8 *before = malloc(MEM_SIZE), file[4096];
	u8 *buf;
	int fd;

	if (tb_init(&t, eng, false)) {
		CHECK(0);
		free(before);
		return;
	}
	fd = open(t.path, O_RDWR);
	memset(file, 0x3c, sizeof(file));
	CHECK(pwrite(fd, file, sizeof(file), 64 * 512) == sizeof(file));

	buf = gp(&t, DATA);
	memset(buf, 0, 4096);
	tb_post(&t, 0, 64, DATA, 4096, 0);		/* IN */
	tb_wait_posted(&t, 1);
	memcpy(before, t.mem.host, MEM_SIZE);
	usleep(200 * 1000);	/* time for any host thread to misbehave */
	CHECK(!memcmp(before, t.mem.host, MEM_SIZE));
	CHECK_EQ(*(u16 *)gp(&t, USED + 2), 0);
	CHECK_EQ(t.irq_level, 0);
	tb_run_completions(&t);
	CHECK_EQ(*(u8 *)gp(&t, STATUS), 0);
	CHECK_EQ(buf[0], 0x3c);
	CHECK_EQ(buf[4095], 0x3c);
	CHECK_EQ(*(u16 *)gp(&t, USED + 2), 1);
	CHECK(t.irq_level);

	/* OUT, then the guest scribbles over its buffer at once. */
	memset(buf, 0xa5, 4096);
	tb_post(&t, 1, 128, DATA, 4096, 1);
	memset(buf, 0x11, 4096);
	tb_run_completions(&t);
	CHECK_EQ(*(u8 *)gp(&t, STATUS + 1), 0);
	CHECK(pread(fd, file, sizeof(file), 128 * 512) == sizeof(file));
	CHECK_EQ(file[0], 0xa5);
	CHECK_EQ(file[4095], 0xa5);
	close(fd);
	tb_exit(&t);
	free(before);
}

static void test_door_sync(void)
{
	check_door(DISK_ENGINE_SYNC);
}

static void test_door_threads(void)
{
	check_door(DISK_ENGINE_THREADS);
}

static void test_door_uring(void)
{
	check_door(DISK_ENGINE_URING);
}

/*
 * A driver that re-posts a head still in flight gets DEVICE_NEEDS_RESET
 * and a warning, and cannot make the device hold more than one request
 * per head, however often it tries.
 */
static void test_flood(void)
{
	struct tb t;
	unsigned int i;
	u64 held;

	if (tb_init(&t, DISK_ENGINE_SYNC, false)) {
		CHECK(0);
		return;
	}
	tb_post(&t, 0, 0, DATA, 512, 0);
	CHECK_EQ(t.vb.inflight, 1);
	held = t.vb.pool.held;
	for (i = 0; i < 1000; i++) {
		/* The same head again, without waiting for the first. */
		u16 *ring = gp(&t, AVAIL + 4);

		ring[t.avail_idx % QSIZE] = 0;
		t.avail_idx++;
		*(u16 *)gp(&t, AVAIL + 2) = t.avail_idx;
		wr32(&t, 0x50, 0);
	}
	CHECK(rd32(&t, 0x70) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(t.vb.inflight, 1);
	CHECK_EQ(t.disk.inflight, 1);
	CHECK_EQ(t.vb.pool.held, held);		/* memory stays flat */
	CHECK_EQ(evq__count(&t.evq), 1);
	tb_run_completions(&t);
	tb_exit(&t);
}

/*
 * A reset with requests in flight: nothing the host finishes afterwards
 * reaches guest memory or the used ring, and the driver can reuse every
 * head at once.
 */
static void check_reset_in_flight(enum disk_engine_kind eng)
{
	struct tb t;
	struct event ev;
	u8 *before = malloc(MEM_SIZE);
	u16 i;

	if (tb_init(&t, eng, false)) {
		CHECK(0);
		free(before);
		return;
	}
	for (i = 0; i < 4; i++)
		tb_post(&t, 0, i * 8, DATA + i * 4096, 4096, i);
	CHECK_EQ(t.vb.inflight, 4);
	wr32(&t, 0x70, 0);			/* reset */
	CHECK_EQ(t.disk.inflight, evq__count(&t.evq));
	memcpy(before, t.mem.host, MEM_SIZE);
	while (evq__pop(&t.evq, &ev))
		evq__release(&ev);
	CHECK(!memcmp(before, t.mem.host, MEM_SIZE));
	CHECK_EQ(t.disk.inflight, 0);
	/* The driver starts over and reuses head 0. */
	memset(gp(&t, DESC), 0, USED + 0x1000 - DESC);
	t.avail_idx = 0;
	tb_driver_init(&t);
	CHECK_EQ(tb_rw(&t, 0, 0, DATA, 512, 0), 0);
	tb_exit(&t);
	free(before);
}

static void test_reset_in_flight(void)
{
	check_reset_in_flight(DISK_ENGINE_SYNC);
	check_reset_in_flight(DISK_ENGINE_THREADS);
}

/*
 * One request through an indirect table: header, nseg data segments of
 * seglen bytes (all over the same guest buffer, as a hostile driver may
 * do), status.  Returns the status byte.
 */
static int tb_indirect_read(struct tb *t, unsigned int nseg, u32 seglen)
{
	const u64 table = 0x8000;
	struct vdesc *d = gp(t, table);
	unsigned int i;

	*(u32 *)gp(t, HDRS) = 0;		/* IN */
	*(u64 *)gp(t, HDRS + 8) = 0;
	*(u8 *)gp(t, STATUS) = 0xff;
	d[0] = (struct vdesc){ HDRS, 16, VIRTQ_DESC_F_NEXT, 1 };
	for (i = 1; i <= nseg; i++)
		d[i] = (struct vdesc){ DATA, seglen,
				       VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
				       (u16)(i + 1) };
	d[i] = (struct vdesc){ STATUS, 1, VIRTQ_DESC_F_WRITE, 0 };
	tb_desc(t, 0, table, (i + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	tb_kick(t, 0);
	tb_run_completions(t);
	return *(u8 *)gp(t, STATUS);
}

/* What the config space promises is what is accepted, and no more. */
static void test_request_limits(void)
{
	struct tb t;

	if (tb_init(&t, DISK_ENGINE_SYNC, false)) {
		CHECK(0);
		return;
	}
	CHECK_EQ(rd32(&t, 0x108), 64 * 1024);		/* size_max */
	CHECK_EQ(rd32(&t, 0x10c), VIRTIO_BLK_SEG_MAX);	/* seg_max */
	CHECK_EQ(tb_indirect_read(&t, VIRTIO_BLK_SEG_MAX, 512), 0);
	CHECK_EQ(t.vb.bad_requests, 0);
	CHECK_EQ(tb_indirect_read(&t, VIRTIO_BLK_SEG_MAX + 1, 512), 1);
	CHECK_EQ(t.vb.bad_requests, 1);
	/* 126 segments of 65 KiB: over seg_max * size_max in all. */
	CHECK_EQ(tb_indirect_read(&t, VIRTIO_BLK_SEG_MAX, 65 * 1024), 1);
	CHECK_EQ(t.vb.bad_requests, 2);
	CHECK(!(rd32(&t, 0x70) & VIRTIO_STATUS_NEEDS_RESET));
	tb_exit(&t);
}

/*
 * usage: test_virtio_blk [uring]: without an argument everything but the
 * io_uring engine; with "uring" that engine alone, skipped (77) where
 * io_uring is not available, so that the skip shows.
 */
int main(int argc, char **argv)
{
	struct tb probe;

	if (argc > 1 && !strcmp(argv[1], "uring")) {
		if (!have_uring(&probe)) {
			printf("SKIP: io_uring is not available here: the uring engine was not tested\n");
			return 77;
		}
		RUN(test_rw_uring);
		RUN(test_door_uring);
		return check_summary();
	}
	RUN(test_rw_sync);
	RUN(test_rw_threads);
	RUN(test_door_sync);
	RUN(test_door_threads);
	RUN(test_flood);
	RUN(test_reset_in_flight);
	RUN(test_request_limits);
	RUN(test_errors);
	RUN(test_read_only);
	RUN(test_malformed_chain);
	RUN(test_discard_write_zeroes);
	return check_summary();
}
