// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk: parses requests out of descriptor chains, hands them to the
 * disk engine and answers them when the vCPU loop releases the completion.
 *
 * Guest memory is read and written on the vCPU thread only, at moments
 * fixed by the guest's own exits (DESIGN.md, "when data moves"): write
 * data is copied out of the guest into a host bounce buffer when the
 * request is submitted, read data is copied in when its completion is
 * released.  The engines see host buffers only.
 *
 * The request layout is taken from the bytes of the chain, not from its
 * descriptor boundaries (VIRTIO 1.x makes framing free): the device-
 * readable part starts with the 16-byte header and, for writes, carries
 * the data; the device-writable part is the data for reads (or the id for
 * GET_ID) followed by the one status byte.
 */
#include "virtio_blk.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_ID_BLOCK 2

/* Feature bits (VIRTIO 1.x 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WRITE_ZEROES_F_UNMAP 1

#define BLK_HDR_SIZE 16
#define BLK_SEG_SIZE 16		/* discard / write-zeroes segment */
#define BLK_SECTOR 512ULL
/* One segment per discard / write-zeroes request keeps them one disk op. */
#define BLK_MAX_DWZ_SECTORS (UINT32_MAX / BLK_SECTOR)
/*
 * The most data one request may carry: seg_max segments of size_max
 * bytes, as advertised (Linux's own default segment limit is 64 KiB, so
 * it loses nothing).  Larger requests are a driver error, answered IOERR.
 */
#define BLK_SIZE_MAX (64 * 1024)
#define BLK_MAX_DATA ((u64)VIRTIO_BLK_SEG_MAX * BLK_SIZE_MAX)
/*
 * Bounce buffers per device: enough for several maximal requests at
 * once; beyond it requests wait, in order, for buffers to come back.
 */
#define BLK_BOUNCE_BUDGET (32 * 1024 * 1024)

_Static_assert(VIRTIO_BLK_QUEUE_SIZE <= DISK_MAX_INFLIGHT,
	       "one request per head must fit the disk's in-flight bound");
_Static_assert(BLK_MAX_DATA <= BOUNCE_MAX_BYTES &&
	       BOUNCE_MAX_BYTES <= BLK_BOUNCE_BUDGET,
	       "a maximal request must fit one bounce buffer and the budget");

/* Config space layout (5.2.4), little-endian on x86. */
struct virtio_blk_config {
	u64 capacity;
	u32 size_max;
	u32 seg_max;
	u16 cylinders;
	u8 heads;
	u8 sectors;
	u32 blk_size;
	u8 physical_block_exp;
	u8 alignment_offset;
	u16 min_io_size;
	u32 opt_io_size;
	u8 writeback;
	u8 unused0;
	u16 num_queues;
	u32 max_discard_sectors;
	u32 max_discard_seg;
	u32 discard_sector_alignment;
	u32 max_write_zeroes_sectors;
	u32 max_write_zeroes_seg;
	u8 write_zeroes_may_unmap;
	u8 unused1[3];
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_blk_config) == 60,
	       "virtio-blk config space is 60 bytes");

/*
 * One request, in the slot of its descriptor head: a head is in flight at
 * most once (VIRTIO 1.x 2.7.13.3: the driver may not reuse it before the
 * device has used it), so there are at most queue-size requests.
 */
struct virtio_blk_req {
	struct disk_req dreq;
	u64 status_gpa;
	u32 written;		/* bytes put in device-writable buffers */
	u32 type;
	u16 head;
	bool busy;		/* taken from the ring, not yet used */
	unsigned int nseg;
	/* The guest's data buffers, host pointers checked against RAM (last:
	 * not cleared for each request). */
	struct iovec seg[VIRTIO_BLK_SEG_MAX];
};

static struct virtio_blk *to_vb(void *dev)
{
	return dev;
}

static void blk_fill_config(const struct virtio_blk *vb,
			    struct virtio_blk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = vb->disk->size / BLK_SECTOR;
	c->size_max = BLK_SIZE_MAX;
	c->seg_max = VIRTIO_BLK_SEG_MAX;
	c->blk_size = vb->disk->logical_block;
	c->num_queues = 1;
	c->max_discard_sectors = BLK_MAX_DWZ_SECTORS;
	c->max_discard_seg = 1;
	c->discard_sector_alignment = vb->disk->logical_block / BLK_SECTOR;
	c->max_write_zeroes_sectors = BLK_MAX_DWZ_SECTORS;
	c->max_write_zeroes_seg = 1;
	c->write_zeroes_may_unmap = 1;
}

static void blk_config_read(void *dev, u32 offset, u8 *data, u32 len)
{
	struct virtio_blk_config c;

	blk_fill_config(to_vb(dev), &c);
	memcpy(data, (u8 *)&c + offset, len);
}

static void blk_config_write(void *dev __maybe_unused,
			     u32 offset __maybe_unused,
			     const u8 *data __maybe_unused,
			     u32 len __maybe_unused)
{
	/* writeback is the only writable field, and we do not offer it. */
}

/*
 * Copy len bytes starting at byte pos of the chain's readable (write =
 * false) or writable part.  Returns the bytes copied.
 */
static u32 blk_chain_copy(const struct virtio_blk *vb,
			  const struct virtq_chain *ch, bool write, u32 pos,
			  void *out, u32 len)
{
	u32 i, done = 0;

	for (i = 0; i < ch->nbufs && done < len; i++) {
		const struct virtq_buf *b = &ch->bufs[i];
		const u8 *p;
		u32 n;

		if (b->write != write)
			continue;
		if (pos >= b->len) {
			pos -= b->len;
			continue;
		}
		n = MIN(b->len - pos, len - done);
		p = guest_mem__ptr(vb->mem, b->gpa + pos, n);
		if (!p)
			break;
		memcpy((u8 *)out + done, p, n);
		done += n;
		pos = 0;
	}
	return done;
}

/*
 * Describe bytes [skip, skip + len) of one part of the chain as iovecs
 * into guest RAM.  Returns the number of iovecs, or -E2BIG.
 */
static int blk_chain_iov(const struct virtio_blk *vb,
			 const struct virtq_chain *ch, bool write, u32 skip,
			 u64 len, struct iovec *iov, int max)
{
	u32 i;
	int n = 0;

	for (i = 0; i < ch->nbufs && len; i++) {
		const struct virtq_buf *b = &ch->bufs[i];
		u32 take;

		if (b->write != write)
			continue;
		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		take = (u32)MIN((u64)(b->len - skip), len);
		if (n == max)
			return -E2BIG;
		/* virtq__pop checked every buffer against guest RAM. */
		iov[n].iov_base = guest_mem__ptr(vb->mem, b->gpa + skip, take);
		iov[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

/* Guest-physical address of byte pos of the writable part, 0 if none. */
static u64 blk_chain_write_addr(const struct virtq_chain *ch, u32 pos)
{
	u32 i;

	for (i = 0; i < ch->nbufs; i++) {
		const struct virtq_buf *b = &ch->bufs[i];

		if (!b->write)
			continue;
		if (pos < b->len)
			return b->gpa + pos;
		pos -= b->len;
	}
	return 0;
}

/* Back to the pool: the buffer, then the slot. */
static void blk_put(struct virtio_blk *vb, struct virtio_blk_req *req)
{
	if (req->dreq.buf) {
		bounce__put(&vb->pool, req->dreq.buf, req->dreq.len);
		req->dreq.buf = NULL;
	}
	req->busy = false;
}

/* Finish a request: status byte, used ring, interrupt; frees the slot. */
static void blk_finish(struct virtio_blk *vb, struct virtio_blk_req *req,
		       u8 status)
{
	u8 *sp = guest_mem__ptr(vb->mem, req->status_gpa, 1);

	if (sp) {
		*sp = status;
		req->written++;
	}
	if (req->type < ARRAY_SIZE(vb->stats_req))
		vb->stats_req[req->type]++;
	virtq__push(&vb->mmio.vqs[0], vb->mem, req->head, req->written);
	virtio_mmio__signal_used(&vb->mmio, 0);
	blk_put(vb, req);
}

static bool blk_in_range(const struct virtio_blk *vb, u64 sector, u64 bytes)
{
	u64 cap = vb->disk->size / BLK_SECTOR;

	if (sector > cap)
		return false;
	return bytes / BLK_SECTOR <= cap - sector;
}

/* A driver error in one request: say so once, answer it IOERR. */
static int blk_bad_request(struct virtio_blk *vb, const char *why, u64 len)
{
	if (!vb->bad_requests++)
		pr_warn("disk %s: the guest sent a request %s (%llu bytes; at most %u segments and %llu bytes): answered IOERR (not reported again)",
			vb->disk->path, why, (unsigned long long)len,
			VIRTIO_BLK_SEG_MAX, (unsigned long long)BLK_MAX_DATA);
	return VIRTIO_BLK_S_IOERR;
}

/*
 * IN/OUT: where the data is in the guest, and the disk request.  Returns
 * a status or -1.
 */
static int blk_prepare_rw(struct virtio_blk *vb, struct virtio_blk_req *req,
			  const struct virtq_chain *ch, u64 sector)
{
	bool in = req->type == VIRTIO_BLK_T_IN;
	u64 len = in ? ch->in_len - 1 : ch->out_len - BLK_HDR_SIZE;
	int n;

	if (!in && vb->disk->ro)
		return VIRTIO_BLK_S_IOERR;
	if (len > BLK_MAX_DATA)
		return blk_bad_request(vb, "larger than size_max * seg_max", len);
	if (len % BLK_SECTOR || !blk_in_range(vb, sector, len))
		return VIRTIO_BLK_S_IOERR;
	n = blk_chain_iov(vb, ch, in, in ? 0 : BLK_HDR_SIZE, len, req->seg,
			  VIRTIO_BLK_SEG_MAX);
	if (n < 0)
		return blk_bad_request(vb, "with more than seg_max segments", len);
	req->nseg = (unsigned int)n;
	req->dreq.op = in ? DISK_READ : DISK_WRITE;
	req->dreq.offset = sector * BLK_SECTOR;
	req->dreq.len = len;
	if (in)
		req->written = len;
	return -1;
}

/* DISCARD / WRITE_ZEROES with their one segment. */
static int blk_prepare_dwz(struct virtio_blk *vb, struct virtio_blk_req *req,
			   const struct virtq_chain *ch)
{
	struct {
		u64 sector;
		u32 num_sectors;
		u32 flags;
	} __attribute__((packed)) seg;
	bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;

	if (vb->disk->ro)
		return VIRTIO_BLK_S_IOERR;
	/* Exactly max_*_seg (1) segments. */
	if (ch->out_len != BLK_HDR_SIZE + BLK_SEG_SIZE ||
	    blk_chain_copy(vb, ch, false, BLK_HDR_SIZE, &seg, sizeof(seg)) !=
		    sizeof(seg))
		return VIRTIO_BLK_S_UNSUPP;
	if (seg.flags & ~(wz ? VIRTIO_BLK_WRITE_ZEROES_F_UNMAP : 0u))
		return VIRTIO_BLK_S_UNSUPP;
	if (!blk_in_range(vb, seg.sector, (u64)seg.num_sectors * BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	req->dreq.op = wz ? DISK_WRITE_ZEROES : DISK_DISCARD;
	req->dreq.offset = seg.sector * BLK_SECTOR;
	req->dreq.len = (u64)seg.num_sectors * BLK_SECTOR;
	return -1;
}

static int blk_get_id(struct virtio_blk *vb, struct virtio_blk_req *req,
		      const struct virtq_chain *ch)
{
	u32 room = ch->in_len - 1;
	struct iovec *iov = req->seg;
	u32 left = MIN(room, (u32)VIRTIO_BLK_ID_BYTES);
	const char *src = vb->id;
	int i, n;

	n = blk_chain_iov(vb, ch, true, 0, left, iov, VIRTIO_BLK_SEG_MAX);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	/* Up to 20 bytes, NUL-padded but not necessarily terminated. */
	for (i = 0; i < n; i++) {
		size_t k, slen = strnlen(src, iov[i].iov_len);

		memcpy(iov[i].iov_base, src, slen);
		for (k = slen; k < iov[i].iov_len; k++)
			((u8 *)iov[i].iov_base)[k] = 0;
		src += slen;
	}
	req->written = left;
	return VIRTIO_BLK_S_OK;
}

/*
 * Turn a chain into a request.  Returns a status to answer at once, or -1
 * when req->dreq is ready for the disk.
 */
static int blk_parse(struct virtio_blk *vb, struct virtio_blk_req *req,
		     const struct virtq_chain *ch)
{
	struct {
		u32 type;
		u32 reserved;
		u64 sector;
	} __attribute__((packed)) hdr;

	if (blk_chain_copy(vb, ch, false, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_BLK_S_IOERR;
	req->type = hdr.type;
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return blk_prepare_rw(vb, req, ch, hdr.sector);
	case VIRTIO_BLK_T_FLUSH:
		if (vb->disk->ro)
			return VIRTIO_BLK_S_OK;
		req->dreq.op = DISK_FLUSH;
		return -1;
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(vb, req, ch);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_prepare_dwz(vb, req, ch);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_answer(struct virtio_blk *vb, struct virtio_blk_req *req,
		       s64 result)
{
	if (result < 0) {
		/* A host error fails this request only; the VM goes on. */
		if (!vb->errors++)
			pr_warn("disk %s: host I/O error: %s (reported to the guest as VIRTIO_BLK_S_IOERR)",
				vb->disk->path, strerror((int)-result));
		if (req->dreq.op == DISK_READ)
			req->written = 0;
		blk_finish(vb, req, VIRTIO_BLK_S_IOERR);
		return;
	}
	blk_finish(vb, req, VIRTIO_BLK_S_OK);
}

/* Copy between the bounce buffer and the guest's segments. */
static void blk_copy(struct virtio_blk_req *req, bool to_guest)
{
	u8 *buf = req->dreq.buf;
	unsigned int i;

	for (i = 0; i < req->nseg; i++) {
		if (to_guest)
			memcpy(req->seg[i].iov_base, buf, req->seg[i].iov_len);
		else
			memcpy(buf, req->seg[i].iov_base, req->seg[i].iov_len);
		buf += req->seg[i].iov_len;
	}
}

/*
 * Give a prepared request a buffer and hand it to the disk.  false: no
 * buffer now (the budget is in use), try again when one comes back.
 */
static bool blk_start(struct virtio_blk *vb, struct virtio_blk_req *req)
{
	struct disk_req *dreq = &req->dreq;
	int ret;

	dreq->buf = NULL;
	if ((dreq->op == DISK_READ || dreq->op == DISK_WRITE) && dreq->len) {
		ret = bounce__get(&vb->pool, dreq->len, &dreq->buf);
		if (ret == -EAGAIN)
			return false;
		if (ret) {
			/* Out of host memory: that request fails, nothing else. */
			dreq->buf = NULL;
			blk_answer(vb, req, ret);
			return true;
		}
		/* The moment write data leaves the guest: submission. */
		if (dreq->op == DISK_WRITE)
			blk_copy(req, false);
	}
	ret = disk__submit(vb->disk, dreq);
	if (ret) {
		/* Cannot happen: one request per head bounds what is in flight. */
		pr_err("disk %s: cannot submit request: %s", vb->disk->path,
		       strerror(-ret));
		blk_answer(vb, req, ret);
		return true;
	}
	vb->inflight++;
	return true;
}

/* Start waiting requests, oldest first, while buffers last. */
static void blk_start_waiting(struct virtio_blk *vb)
{
	while (vb->nwaiting) {
		struct virtio_blk_req *req = &vb->reqs[vb->waiting[vb->wait_head]];

		if (!blk_start(vb, req))
			return;
		vb->wait_head = (vb->wait_head + 1) % VIRTIO_BLK_QUEUE_SIZE;
		vb->nwaiting--;
	}
}

static void blk_queue(struct virtio_blk *vb, struct virtio_blk_req *req)
{
	/* Keep FIFO order: nothing overtakes a request already waiting. */
	if (!vb->nwaiting && blk_start(vb, req))
		return;
	vb->waiting[(vb->wait_head + vb->nwaiting) % VIRTIO_BLK_QUEUE_SIZE] =
		req->head;
	vb->nwaiting++;
}

/* Take one chain off the queue and start it.  false: stop processing. */
static bool blk_handle_chain(struct virtio_blk *vb, const struct virtq_chain *ch)
{
	struct virtio_blk_req *req;
	int status;

	if (ch->head >= VIRTIO_BLK_QUEUE_SIZE || vb->reqs[ch->head].busy) {
		pr_warn("disk %s: the guest re-posted descriptor %u while it is still in flight; device needs reset",
			vb->disk->path, ch->head);
		virtio_mmio__set_needs_reset(&vb->mmio);
		return false;
	}
	req = &vb->reqs[ch->head];
	memset(req, 0, offsetof(struct virtio_blk_req, seg));
	req->head = ch->head;
	req->dreq.owner = req;
	/* Without a writable status byte there is no way to answer. */
	req->status_gpa = ch->in_len ? blk_chain_write_addr(ch, ch->in_len - 1) : 0;
	if (!req->status_gpa) {
		pr_debug("disk %s: request %u has no status byte",
			 vb->disk->path, ch->head);
		virtq__push(&vb->mmio.vqs[0], vb->mem, ch->head, 0);
		virtio_mmio__signal_used(&vb->mmio, 0);
		return true;
	}
	req->busy = true;
	status = blk_parse(vb, req, ch);
	if (status >= 0) {
		/* Decided by the guest's bytes alone: answer at once. */
		blk_finish(vb, req, (u8)status);
		return true;
	}
	blk_queue(vb, req);
	return true;
}

static void blk_notify(void *dev, unsigned int q)
{
	struct virtio_blk *vb = to_vb(dev);
	struct virtq *vq = &vb->mmio.vqs[0];
	int ret;

	if (q != 0 || !virtio_mmio__live(&vb->mmio))
		return;
	for (;;) {
		virtq__set_notify(vq, vb->mem, false);
		while ((ret = virtq__pop(vq, vb->mem, vb->chain)) > 0) {
			if (!blk_handle_chain(vb, vb->chain))
				return;
		}
		if (ret < 0) {
			pr_warn("disk %s: the guest's virtqueue has %s; device needs reset",
				vb->disk->path, virtq__strerror(ret));
			virtio_mmio__set_needs_reset(&vb->mmio);
			return;
		}
		/* Re-check after re-enabling notifications (no lost kick). */
		virtq__set_notify(vq, vb->mem, true);
		if (!virtq__has_work(vq, vb->mem))
			break;
	}
}

/* Requests queued before DRIVER_OK were not notified to us: take them now. */
static void blk_activate(void *dev)
{
	blk_notify(dev, 0);
}

static void blk_reset(void *dev)
{
	struct virtio_blk *vb = to_vb(dev);
	unsigned int i;

	/*
	 * The driver gives up every request: wait until the host is done
	 * with them (their data moved only through our buffers, so nothing
	 * lands in guest memory) and have their completions dropped.
	 */
	disk__forget_all(vb->disk);
	for (i = 0; i < VIRTIO_BLK_QUEUE_SIZE; i++)
		if (vb->reqs[i].busy)
			blk_put(vb, &vb->reqs[i]);
	vb->inflight = 0;
	vb->nwaiting = 0;
	vb->wait_head = 0;
}

static void blk_on_complete(void *ctx, struct disk_req *dreq)
{
	struct virtio_blk *vb = ctx;
	struct virtio_blk_req *req = dreq->owner;

	vb->inflight--;
	/* The moment read data enters the guest: release. */
	if (dreq->op == DISK_READ && dreq->result >= 0)
		blk_copy(req, true);
	blk_answer(vb, req, dreq->result);
	blk_start_waiting(vb);
}

#define BLK_FEATURES_RW ((1ULL << VIRTIO_BLK_F_SIZE_MAX) | \
			 (1ULL << VIRTIO_BLK_F_SEG_MAX) | \
			 (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
			 (1ULL << VIRTIO_BLK_F_FLUSH) | \
			 (1ULL << VIRTIO_BLK_F_DISCARD) | \
			 (1ULL << VIRTIO_BLK_F_WRITE_ZEROES))
/* Read-only: no discard or write-zeroes to offer, RO instead. */
#define BLK_FEATURES_RO ((1ULL << VIRTIO_BLK_F_SIZE_MAX) | \
			 (1ULL << VIRTIO_BLK_F_SEG_MAX) | \
			 (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
			 (1ULL << VIRTIO_BLK_F_FLUSH) | \
			 (1ULL << VIRTIO_BLK_F_RO))

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.features = BLK_FEATURES_RW,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.notify = blk_notify,
	.activate = blk_activate,
	.reset = blk_reset,
};

/* The GET_ID serial: at most 20 bytes, longer ones are cut. */
static void blk_set_id(struct virtio_blk *vb, const char *id)
{
	size_t n = strnlen(id, VIRTIO_BLK_ID_BYTES);

	memcpy(vb->id, id, n);
	vb->id[n] = '\0';
}

/* Default serial: the image's file name. */
static void blk_default_id(struct virtio_blk *vb)
{
	const char *name = strrchr(vb->disk->path, '/');

	blk_set_id(vb, name ? name + 1 : vb->disk->path);
}

int virtio_blk__init(struct virtio_blk *vb, struct disk *disk,
		     const char *id, u64 base, struct irq_line irq,
		     const struct guest_mem *mem)
{
	memset(vb, 0, sizeof(*vb));
	vb->disk = disk;
	vb->mem = mem;
	vb->chain = malloc(sizeof(*vb->chain));
	vb->reqs = calloc(VIRTIO_BLK_QUEUE_SIZE, sizeof(*vb->reqs));
	if (!vb->chain || !vb->reqs) {
		free(vb->chain);
		free(vb->reqs);
		vb->chain = NULL;
		vb->reqs = NULL;
		return -ENOMEM;
	}
	bounce__init(&vb->pool, BLK_BOUNCE_BUDGET);
	if (id)
		blk_set_id(vb, id);
	else
		blk_default_id(vb);
	disk->on_complete = blk_on_complete;
	disk->on_complete_ctx = vb;
	vb->ops = blk_ops;
	if (disk->ro)
		vb->ops.features = BLK_FEATURES_RO;
	virtio_mmio__init(&vb->mmio, base, irq, mem, &vb->ops, vb, 1,
			  VIRTIO_BLK_QUEUE_SIZE);
	return 0;
}

int virtio_blk__register(struct virtio_blk *vb, struct bus *bus)
{
	return virtio_mmio__register(&vb->mmio, bus);
}

void virtio_blk__exit(struct virtio_blk *vb)
{
	unsigned int i;

	/* Nothing is in flight any more: the disk was drained or forgotten. */
	for (i = 0; vb->reqs && i < VIRTIO_BLK_QUEUE_SIZE; i++)
		if (vb->reqs[i].busy)
			blk_put(vb, &vb->reqs[i]);
	bounce__exit(&vb->pool);
	free(vb->reqs);
	free(vb->chain);
	vb->reqs = NULL;
	vb->chain = NULL;
}
