// SPDX-License-Identifier: Apache-2.0
/*
 * Drives the first virtio-blk disk hard: hundreds of concurrent writes of
 * a deterministic pattern, flushes among them, then hundreds of concurrent
 * reads that check every byte, then the error answers (beyond capacity,
 * unknown type, read-only disk) and GET_ID.  Requests use every descriptor
 * layout the spec allows a driver (one segment, many segments, indirect
 * tables, header and status sharing descriptors with data), so the device
 * is checked against VIRTIO 1.x and not against one driver's habits.
 *
 * Completion order is compared with submission order: with an
 * asynchronous disk engine some requests should overtake others, and that
 * count is printed (it is the proof the engine really runs requests
 * concurrently; replay must reproduce it exactly).
 *
 * Command line (zero page): blk-stress.mode=rw|ro (ro: the disk was given
 * with ",ro" and holds what a rw run wrote), blk-stress.id=NAME (expected
 * GET_ID answer).  Pattern, shared with run-blk-stress.sh: 64-bit word k
 * (0..63) of 512-byte sector s is (s << 32) | (seed ^ k * 0x01010101).
 */
#include "rt.h"
#include "virtio.h"

#define BLK_MMIO_BASE		0xd0000000UL
#define BLK_IRQ			5
#define VIRTIO_ID_BLOCK		2

#define BLK_F_SIZE_MAX		1
#define BLK_F_SEG_MAX		2
#define BLK_F_RO		5
#define BLK_F_BLK_SIZE		6
#define BLK_F_FLUSH		9

#define BLK_CFG_CAPACITY	0
#define BLK_CFG_SIZE_MAX	8
#define BLK_CFG_SEG_MAX		12
#define BLK_CFG_BLK_SIZE	20

#define T_IN			0
#define T_OUT			1
#define T_FLUSH			4
#define T_GET_ID		8
#define T_BOGUS			0x55	/* no such request type */

#define S_OK			0
#define S_IOERR			1
#define S_UNSUPP		2
#define S_POISON		0xff	/* never a device answer */

#define ID_BYTES		20
#define SECTOR			512
#define WORDS_PER_SECTOR	(SECTOR / 8)

/* Requests and where they go on the disk. */
#define NREQ			512	/* writes, then as many reads */
#define FLUSH_EVERY		64	/* a FLUSH among every 64 writes */
#define REGION_SECTORS		32	/* each write owns a 16 KiB region */
#define MAX_DATA		(REGION_SECTORS * SECTOR)
#define RO_WRITES		64
#define TRICKLE			128	/* reads kicked four at a time */
#define SEED			0x5eed0001u
#define BAD_SEED		0xbad0bad0u
#define POISON_WORD		0xdeadbeefdeadbeefULL

/*
 * Per-slot buffers, outside the image so start.S does not have to zero
 * megabytes: [16-byte header][data][status] contiguous, which lets one
 * descriptor cover header and data, or data and status; then the indirect
 * table.  Two pools so a read that does nothing finds another request's
 * data (or zeroes) in its buffer, never its own pattern from the writes.
 */
#define SLOT_HDR		0
#define SLOT_DATA		16
#define SLOT_TABLE		(SLOT_DATA + MAX_DATA + 16)
#define SLOT_TABLE_N		12
#define SLOT_STRIDE		(SLOT_TABLE + SLOT_TABLE_N * 16 + 288)
#define POOL_BYTES		((uint64_t)VQ_MAX_SIZE * SLOT_STRIDE)
#define POOL_A			0x2000000UL	/* 32 MiB */
#define POOL_B			(POOL_A + POOL_BYTES)
#define POOLS_END		(POOL_B + POOL_BYTES)

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst) */
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0

#define WATCHDOG_HZ		50
#define WATCHDOG_SECONDS	20
#define MAX_REPORTS		12

_Static_assert(SLOT_TABLE % 16 == 0, "indirect tables are 16-byte aligned");
_Static_assert(SLOT_STRIDE % 16 == 0, "slots stay aligned");

/* Descriptor layouts a request can use (see build_segs()). */
enum kind {
	K_SINGLE,	/* header | data | status, one descriptor each */
	K_MULTI,	/* data in 2-4 direct descriptors, uneven sizes */
	K_INDIRECT,	/* data in 1-8 descriptors of an indirect table */
	K_FRAMING,	/* header shares a descriptor with data, or status does */
	K_NR,
};

static const char *const kind_names[K_NR] = {
	"single", "multi", "indirect", "framing",
};

enum check {
	CHECK_NONE,
	CHECK_PATTERN,	/* data must be the pattern for r->seed */
	CHECK_ID,	/* data must be the expected GET_ID answer */
};

struct req {
	uint32_t seq;		/* global submission order */
	uint32_t tag;		/* index within its phase */
	uint32_t type;
	uint64_t sector;
	uint32_t len;		/* data bytes */
	uint32_t seed;
	uint8_t kind;
	uint8_t nseg;		/* data segments for K_MULTI / K_INDIRECT */
	uint8_t expect;		/* expected status */
	uint8_t check;
	uint8_t *base;
	int slot;
};

static struct vio_dev dev;
static struct vq vq;
static struct vq_mem ring __attribute__((aligned(4096)));

static uint64_t capacity;	/* sectors */
static uint32_t seg_max = 1;
static uint32_t nregions;	/* power of two, regions of REGION_SECTORS */
static bool ro_mode;
static char want_id[ID_BYTES + 1];
static bool have_want_id;

static struct req reqs[VQ_MAX_SIZE];
static int free_slots[VQ_MAX_SIZE];
static unsigned int nfree_slots;
static uint8_t *pool;

/* Phase and global accounting; the IRQ handler updates these. */
static volatile unsigned int phase_done;
static unsigned int inflight, max_inflight;
static uint32_t next_seq;
static int64_t max_seq_done = -1;
static unsigned long ooo, completions, max_overtaken;
static uint32_t first_ooo_seq, first_ooo_after;
static unsigned long irqs, irqs_empty, config_irqs, reaped_inline;
static unsigned long failures;
static bool fatal;
static volatile unsigned long ticks;
static unsigned long progress_tick;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (failures > MAX_REPORTS) {
		if (failures == MAX_REPORTS + 1)
			rt_puts("blk-stress: (further failures not shown)\n");
		return;
	}
	rt_puts("blk-stress: FAIL: ");
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
}

/* ---- pattern ---------------------------------------------------------- */

static void pattern_fill(uint64_t *p, uint64_t sector, uint32_t nsec,
			 uint32_t seed)
{
	for (; nsec--; sector++) {
		uint64_t hi = sector << 32;
		uint32_t kk = 0;
		unsigned int k;

		/* Unrolled: this and the check are most of the guest's work. */
#pragma GCC unroll 8
		for (k = 0; k < WORDS_PER_SECTOR; k++, kk += 0x01010101u)
			*p++ = hi | (uint32_t)(seed ^ kk);
	}
}

/* Returns the index of the first wrong word, or -1. */
static long pattern_check(const uint64_t *p, uint64_t sector, uint32_t nsec,
			  uint32_t seed, uint64_t *got, uint64_t *want)
{
	const uint64_t *start = p;

	for (; nsec--; sector++, p += WORDS_PER_SECTOR) {
		uint64_t hi = sector << 32, acc = 0;
		uint32_t kk = 0;
		unsigned int k;

#pragma GCC unroll 8
		for (k = 0; k < WORDS_PER_SECTOR; k++, kk += 0x01010101u)
			acc |= p[k] ^ (hi | (uint32_t)(seed ^ kk));
		if (!acc)
			continue;
		for (k = 0, kk = 0; k < WORDS_PER_SECTOR;
		     k++, kk += 0x01010101u) {
			*want = hi | (uint32_t)(seed ^ kk);
			*got = p[k];
			if (*got != *want)
				return (p - start) + k;
		}
	}
	return -1;
}

/* ---- where each write goes -------------------------------------------- */

static const uint8_t size_tab[8] = { 8, 16, 8, 32, 8, 16, 8, 8 };
/*
 * Mostly indirect (one ring descriptor each) so that a 256-entry ring
 * holds well over a hundred requests; every fourth is a direct chain.
 */
static const uint8_t kind_tab[16] = {
	K_INDIRECT, K_SINGLE, K_INDIRECT, K_INDIRECT,
	K_MULTI, K_INDIRECT, K_INDIRECT, K_INDIRECT,
	K_FRAMING, K_INDIRECT, K_INDIRECT, K_INDIRECT,
	K_SINGLE, K_INDIRECT, K_INDIRECT, K_INDIRECT,
};

/* Multiplying by an odd number permutes a power-of-two range. */
static uint64_t write_sector(uint32_t w)
{
	return (uint64_t)((w * 0x9e3779b1u) & (nregions - 1)) * REGION_SECTORS;
}

static uint32_t write_sectors(uint32_t w)
{
	return size_tab[(w * 3 + w / 8) % 8];
}

/* Fall back to layouts the negotiated features and seg_max allow. */
static uint8_t pick_kind(uint32_t i, uint32_t nseg_hint, uint8_t *nseg)
{
	uint8_t k = kind_tab[i % 16];

	if (k == K_INDIRECT && !vq.indirect)
		k = K_MULTI;
	if (k == K_MULTI) {
		*nseg = (uint8_t)(2 + nseg_hint % 3);
	} else if (k == K_INDIRECT) {
		*nseg = (uint8_t)(1 + nseg_hint % 8);
	} else {
		*nseg = k == K_FRAMING ? 2 : 1;
	}
	if (*nseg > seg_max) {
		*nseg = (uint8_t)seg_max;
		if (k == K_FRAMING || (k == K_MULTI && seg_max < 2)) {
			k = K_SINGLE;
			*nseg = 1;
		}
	}
	return k;
}

static void spec_rw(struct req *r, uint32_t type, uint32_t w, uint32_t seed,
		    uint8_t expect, uint32_t kind_index)
{
	r->type = type;
	r->sector = write_sector(w);
	r->len = write_sectors(w) * SECTOR;
	r->seed = seed;
	r->expect = expect;
	r->check = type == T_IN && expect == S_OK ? CHECK_PATTERN : CHECK_NONE;
	r->kind = pick_kind(kind_index, w, &r->nseg);
}

static void spec_plain(struct req *r, uint32_t type, uint64_t sector,
		       uint32_t len, uint8_t expect, uint32_t kind_index)
{
	r->type = type;
	r->sector = sector;
	r->len = len;
	r->seed = 0;
	r->expect = expect;
	r->check = CHECK_NONE;
	r->kind = pick_kind(kind_index, kind_index, &r->nseg);
}

/* ---- building descriptor chains --------------------------------------- */

/* The header and data are device-readable for these; the rest, writable. */
static bool readable_data(const struct req *r)
{
	return r->type != T_IN && r->type != T_GET_ID;
}

/* Split [addr, addr + len) into n uneven pieces (none at 512 multiples). */
static unsigned int split(struct vq_seg *s, uint8_t *addr, uint32_t len,
			  unsigned int n, bool write)
{
	uint32_t prev = 0, b;
	unsigned int j;

	if (len < 512 * n)
		n = 1;
	for (j = 1; j <= n; j++) {
		b = j == n ? len : len / n * j + 13 * j;
		s[j - 1].addr = addr + prev;
		s[j - 1].len = b - prev;
		s[j - 1].write = write;
		prev = b;
	}
	return n;
}

/*
 * The chain is always the bytes [header][data][status] of the slot; the
 * kind only decides where descriptor boundaries fall.  Returns the number
 * of segments.
 */
static unsigned int build_segs(const struct req *r, struct vq_seg *s)
{
	uint8_t *hdr = r->base + SLOT_HDR, *data = r->base + SLOT_DATA;
	uint8_t *status = data + r->len;
	bool rdata = readable_data(r);
	unsigned int n = 0;

	if (r->kind == K_FRAMING && r->len > 1024) {
		/* 2.6.4: the device must not assume any framing. */
		if (rdata) {
			s[n++] = (struct vq_seg){ hdr, 16 + 1000, false };
			s[n++] = (struct vq_seg){ data + 1000, r->len - 1000,
						  false };
			s[n++] = (struct vq_seg){ status, 1, true };
		} else {
			s[n++] = (struct vq_seg){ hdr, 16, false };
			s[n++] = (struct vq_seg){ data, 1000, true };
			s[n++] = (struct vq_seg){ data + 1000, r->len - 1000 + 1,
						  true };
		}
		return n;
	}
	s[n++] = (struct vq_seg){ hdr, 16, false };
	if (r->len)
		n += split(&s[n], data, r->len,
			   r->kind == K_SINGLE || r->kind == K_FRAMING ?
				   1 : r->nseg,
			   !rdata);
	s[n++] = (struct vq_seg){ status, 1, true };
	return n;
}

static unsigned int descs_needed(const struct req *r)
{
	if (r->kind == K_INDIRECT)
		return 1;
	if (r->kind == K_FRAMING && r->len > 1024)
		return 3;
	return 2 + (r->len ? (r->kind == K_MULTI ? r->nseg : 1) : 0);
}

/* Fill the buffers and hand the chain to the ring.  false: no room. */
static bool submit(struct req *r)
{
	struct vq_seg segs[SLOT_TABLE_N];
	uint8_t *data = r->base + SLOT_DATA;
	unsigned int n, s;
	int head;

	if (vq.num_free < descs_needed(r))
		return false;
	*(volatile uint32_t *)(r->base + 0) = r->type;
	*(volatile uint32_t *)(r->base + 4) = 0;
	*(volatile uint64_t *)(r->base + 8) = r->sector;
	if (r->type == T_OUT) {
		pattern_fill((uint64_t *)data, r->sector, r->len / SECTOR,
			     r->seed);
	} else if (r->type == T_IN) {
		/* A read that does not happen must not look like one that did. */
		for (s = 0; s < r->len / SECTOR; s++)
			((uint64_t *)data)[s * WORDS_PER_SECTOR] = POISON_WORD;
	} else if (r->type == T_GET_ID) {
		memset(data, S_POISON, r->len);
	}
	data[r->len] = S_POISON;

	n = build_segs(r, segs);
	head = vq_add(&vq, segs, n,
		      r->kind == K_INDIRECT ?
			      (struct vq_desc *)(r->base + SLOT_TABLE) : NULL,
		      r);
	if (head < 0) {
		report("vq_add failed with %u free descriptors", vq.num_free);
		fatal = true;
		return false;
	}
	r->seq = next_seq++;
	return true;
}

/* ---- completions ------------------------------------------------------ */

static void check_id(const struct req *r)
{
	const char *got = (const char *)r->base + SLOT_DATA;
	char shown[ID_BYTES + 1];
	unsigned int i;

	for (i = 0; i < ID_BYTES; i++)
		shown[i] = got[i] >= 0x20 && got[i] < 0x7f ? got[i] :
			   got[i] ? '?' : 0;
	shown[ID_BYTES] = 0;
	rt_printf("blk-stress: GET_ID \"%s\"\n", shown);
	if (!have_want_id)
		return;
	/* Up to 20 bytes, zero-padded, not terminated when exactly 20. */
	for (i = 0; i < ID_BYTES; i++) {
		if ((uint8_t)got[i] != (uint8_t)want_id[i]) {
			report("GET_ID byte %u is 0x%02x, want 0x%02x (want \"%s\")",
			       i, (uint8_t)got[i], (uint8_t)want_id[i],
			       want_id);
			return;
		}
	}
}

static void complete(struct req *r, uint32_t used_len)
{
	uint8_t *data = r->base + SLOT_DATA;
	uint8_t status = data[r->len];
	uint32_t wlen = readable_data(r) ? 1 : r->len + 1;
	uint64_t got, want;
	long bad;

	completions++;
	if ((int64_t)r->seq < max_seq_done) {
		if (!ooo++) {
			first_ooo_seq = r->seq;
			first_ooo_after = (uint32_t)max_seq_done;
		}
		if ((unsigned long)(max_seq_done - r->seq) > max_overtaken)
			max_overtaken = max_seq_done - r->seq;
	} else {
		max_seq_done = r->seq;
	}

	if (status != r->expect) {
		report("request #%u (type %u, %s, sector %lu, %u bytes): status %u, want %u",
		       r->seq, r->type, kind_names[r->kind],
		       (unsigned long)r->sector, r->len, status, r->expect);
	} else if (status == S_OK ? used_len != wlen :
		   used_len < 1 || used_len > wlen) {
		/*
		 * The used length is what the device wrote: all of it for a
		 * successful read or GET_ID, else just the status byte.
		 */
		report("request #%u (type %u, %s, %u bytes): used len %u, want %s%u",
		       r->seq, r->type, kind_names[r->kind], r->len, used_len,
		       status == S_OK ? "" : "1..", wlen);
	} else if (r->check == CHECK_PATTERN) {
		bad = pattern_check((const uint64_t *)data, r->sector,
				    r->len / SECTOR, r->seed, &got, &want);
		if (bad >= 0)
			report("read #%u (%s, %u segs, sector %lu, %u bytes): byte %ld (sector %lu) is 0x%lx, want 0x%lx",
			       r->seq, kind_names[r->kind], r->nseg,
			       (unsigned long)r->sector, r->len, bad * 8,
			       (unsigned long)(r->sector + bad / WORDS_PER_SECTOR),
			       (unsigned long)got, (unsigned long)want);
	} else if (r->check == CHECK_ID) {
		check_id(r);
	}

	free_slots[nfree_slots++] = r->slot;
	inflight--;
	phase_done++;
	progress_tick = ticks;
}

static void reap(void)
{
	uint32_t len;
	void *cookie;

	while (vq_get_used(&vq, &len, &cookie) >= 0)
		complete(cookie, len);
}

static void blk_irq(unsigned int irq)
{
	uint32_t isr = vio_irq_ack(&dev);

	(void)irq;
	irqs++;
	if (!isr)
		irqs_empty++;
	if (isr & VIO_INT_CONFIG) {
		config_irqs++;
		if (vio_status(&dev) & VIO_STATUS_NEEDS_RESET) {
			report("device set DEVICE_NEEDS_RESET (status 0x%x)",
			       vio_status(&dev));
			fatal = true;
		}
	}
	if (isr & VIO_INT_VRING)
		reap();
}

static void timer_irq(unsigned int irq)
{
	(void)irq;
	ticks++;
}

/* ---- phases ----------------------------------------------------------- */

typedef void (*gen_fn)(uint32_t i, struct req *r);

static void dump_state(void)
{
	rt_printf("blk-stress: state: inflight %u, avail idx %u, used idx %u, last used %u, free descs %u, status 0x%x, isr 0x%x\n",
		  inflight, vq.avail_idx, ring.used.idx, vq.last_used,
		  vq.num_free, vio_status(&dev),
		  vio_read32(&dev, VIO_MMIO_INT_STATUS));
}

/* The master PIC's interrupt request register (OCW3 read-IRR). */
static uint8_t pic_irr(void)
{
	outb(0x20, 0x0a);
	return inb(0x20);
}

/*
 * Let a pending disk interrupt in, at a point where the ring and our lists
 * are consistent; everywhere else interrupts are off, so the IRQ handler
 * and the submission loop never race on the ring.  "sti; nop; cli" would
 * do on hardware but proved unreliable under a VMM that injects at exits
 * on an emulating host; HLT with IF=1 is where every VMM delivers, and it
 * returns at once when the IRQ is already requested.  It returns after the
 * first interrupt, which is often the timer's (higher priority), so loop.
 */
static void irq_window(void)
{
	unsigned int i;

	for (i = 0; i < 4 && (pic_irr() & (1u << BLK_IRQ)); i++)
		rt_wait_irq();
}

/*
 * Ask for an interrupt once an eighth of what is in flight has completed:
 * fewer interrupts than completions, so the device's event-idx
 * suppression is exercised, and never a wait for more than will come.
 */
static void arm(void)
{
	vq_arm(&vq, (uint16_t)(inflight / 8 + 1));
}

/*
 * Make what was added visible, then let its completions interrupt us:
 * arming first means completions the device posts during the notify
 * itself raise the interrupt, and the IRQ handler reaps them.
 */
static void kick(void)
{
	arm();
	vq_kick(&vq);
	irq_window();
}

/*
 * Keep the queue as full as descriptors and slots allow until count
 * requests made by gen have completed.  kick_every 0 fills the whole ring
 * before one notification, so the device has as much in flight as it can
 * take (completions overtake each other there); a small kick_every makes
 * the device take chains while the driver is still adding them and
 * completions arrive in the middle of submitting.
 */
static void run_phase(const char *name, uint32_t count, gen_fn gen,
		      unsigned int kick_every)
{
	unsigned long fails_before = failures, irqs_before = irqs;
	unsigned long notified_before = vq.notifies;
	unsigned long suppressed_before = vq.notifies_suppressed;
	unsigned int phase_max = 0;
	uint32_t next = 0;

	phase_done = 0;
	progress_tick = ticks;
	while (phase_done < count && !fatal) {
		while (next < count && nfree_slots) {
			int slot = free_slots[nfree_slots - 1];
			struct req *r = &reqs[slot];

			r->slot = slot;
			r->base = pool + (uint64_t)slot * SLOT_STRIDE;
			r->tag = next;
			gen(next, r);
			if (!submit(r))
				break;
			nfree_slots--;
			inflight++;
			next++;
			if (inflight > phase_max)
				phase_max = inflight;
			if (kick_every && next % kick_every == 0)
				kick();
		}
		if (!inflight && next < count && !fatal) {
			report("%s: request %u does not fit in an empty queue of %u",
			       name, next, vq.size);
			fatal = true;
		}
		kick();
		if (phase_done == count || fatal)
			break;
		/*
		 * Re-arm and look again: chains used after the handler ran
		 * but before used_event moved would otherwise never interrupt.
		 */
		if (vq_arm(&vq, (uint16_t)(inflight / 8 + 1))) {
			reaped_inline++;
			reap();
			continue;
		}
		rt_wait_irq();
		if (ticks - progress_tick > WATCHDOG_HZ * WATCHDOG_SECONDS) {
			report("%s: no completion for %u s", name,
			       WATCHDOG_SECONDS);
			dump_state();
			if (vq_more_used(&vq))
				rt_puts("blk-stress: used ring moved without an interrupt\n");
			fatal = true;
		}
	}
	if (phase_max > max_inflight)
		max_inflight = phase_max;
	rt_printf("blk-stress: %s: %u requests, max %u in flight, %lu notified, %lu suppressed, %lu interrupts, %lu failures\n",
		  name, count, phase_max, vq.notifies - notified_before,
		  vq.notifies_suppressed - suppressed_before,
		  irqs - irqs_before, failures - fails_before);
}

static uint32_t write_of_entry(uint32_t e)
{
	return e - e / (FLUSH_EVERY + 1);
}

static void gen_writes(uint32_t e, struct req *r)
{
	if (e % (FLUSH_EVERY + 1) == FLUSH_EVERY &&
	    vio_has(&dev, BLK_F_FLUSH)) {
		spec_plain(r, T_FLUSH, 0, 0, S_OK, e);
		return;
	}
	spec_rw(r, T_OUT, write_of_entry(e), SEED, S_OK, e);
}

static void gen_flush(uint32_t i, struct req *r)
{
	spec_plain(r, T_FLUSH, 0, 0, S_OK, i);
}

/* Reads in the opposite order, each with another layout than its write. */
static void gen_reads(uint32_t j, struct req *r)
{
	spec_rw(r, T_IN, NREQ - 1 - j, SEED, S_OK, j + 3);
}

/* The first writes again, a few at a time, with yet other layouts. */
static void gen_trickle(uint32_t i, struct req *r)
{
	spec_rw(r, T_IN, i, SEED, S_OK, i + 6);
}

static void gen_ro_writes(uint32_t i, struct req *r)
{
	spec_rw(r, T_OUT, i, BAD_SEED, S_IOERR, i);
}

static void gen_reverify(uint32_t i, struct req *r)
{
	spec_rw(r, T_IN, i, SEED, S_OK, i + 5);
}

#define NR_ERRORS 10

static void gen_errors(uint32_t i, struct req *r)
{
	switch (i) {
	case 0:	/* straddles the end */
		spec_plain(r, T_IN, capacity - 1, 2 * SECTOR, S_IOERR, i);
		break;
	case 1:	/* starts at the end */
		spec_plain(r, T_IN, capacity, SECTOR, S_IOERR, i);
		break;
	case 2:	/* sector * 512 overflows 64 bits */
		spec_plain(r, T_IN, ~0ULL, SECTOR, S_IOERR, i);
		break;
	case 3:	/* sector * 512 wraps to a small offset */
		spec_plain(r, T_IN, 1ULL << 55, SECTOR, S_IOERR, i);
		break;
	case 4:	/* must not write the last sector nor grow the image */
		spec_plain(r, T_OUT, capacity - 1, 2 * SECTOR, S_IOERR, i);
		break;
	case 5:
		spec_plain(r, T_BOGUS, 0, SECTOR, S_UNSUPP, i);
		break;
	case 6:
		spec_plain(r, T_BOGUS, 0, 0, S_UNSUPP, i);
		break;
	case 7:
		spec_plain(r, T_GET_ID, 0, ID_BYTES, S_OK, i);
		r->check = CHECK_ID;
		break;
	case 8:	/* the last 4 KiB: in range */
		spec_plain(r, T_IN, capacity - 8, 8 * SECTOR, S_OK, i);
		break;
	default: /* a large in-range read at sector 0 */
		spec_plain(r, T_IN, 0, MAX_DATA, S_OK, i);
		break;
	}
}

/* ---- setup ------------------------------------------------------------ */

static void parse_cmdline(const uint8_t *zp)
{
	const char *cmdline = rt_cmdline(zp);
	const char *v;
	unsigned int len;

	v = rt_cmdline_arg(cmdline, "blk-stress.mode", &len);
	ro_mode = v && len == 2 && !memcmp(v, "ro", 2);
	v = rt_cmdline_arg(cmdline, "blk-stress.id", &len);
	if (v) {
		if (len > ID_BYTES)
			len = ID_BYTES;
		memcpy(want_id, v, len);
		have_want_id = true;
	}
}

/* Are the buffer pools in RAM according to the e820 map? */
static bool pools_in_ram(const uint8_t *zp)
{
	unsigned int n = zp[BP_E820_ENTRIES], i;

	for (i = 0; i < n; i++) {
		const uint8_t *e = zp + BP_E820_TABLE + i * 20;
		uint64_t addr = *(const uint64_t *)e;
		uint64_t size = *(const uint64_t *)(e + 8);
		uint32_t type = *(const uint32_t *)(e + 16);

		if (type == 1 && addr <= POOL_A && addr + size >= POOLS_END)
			return true;
	}
	return false;
}

static int setup_device(void)
{
	uint64_t wanted = 1ULL << VIO_F_VERSION_1 |
			  1ULL << VIO_F_RING_EVENT_IDX |
			  1ULL << VIO_F_RING_INDIRECT_DESC |
			  1ULL << BLK_F_SIZE_MAX | 1ULL << BLK_F_SEG_MAX |
			  1ULL << BLK_F_RO | 1ULL << BLK_F_BLK_SIZE |
			  1ULL << BLK_F_FLUSH;
	uint32_t blk_size = SECTOR, size_max = 0, qmax;

	if (vio_probe(&dev, BLK_MMIO_BASE, VIRTIO_ID_BLOCK))
		return -1;
	if (vio_reset(&dev))
		return -1;
	vio_status_set(&dev, VIO_STATUS_ACKNOWLEDGE);
	vio_status_set(&dev, VIO_STATUS_DRIVER);
	if (vio_negotiate(&dev, wanted))
		return -1;
	rt_printf("blk-stress: device features 0x%lx, negotiated 0x%lx\n",
		  (unsigned long)dev.dev_features, (unsigned long)dev.features);

	capacity = vio_config64(&dev, BLK_CFG_CAPACITY);
	if (vio_has(&dev, BLK_F_SEG_MAX))
		seg_max = vio_config32(&dev, BLK_CFG_SEG_MAX);
	if (vio_has(&dev, BLK_F_BLK_SIZE))
		blk_size = vio_config32(&dev, BLK_CFG_BLK_SIZE);
	if (vio_has(&dev, BLK_F_SIZE_MAX))
		size_max = vio_config32(&dev, BLK_CFG_SIZE_MAX);
	if (!seg_max)
		seg_max = 1;
	/* Segments here are at most 16 KiB; a smaller limit needs more care. */
	if (size_max && size_max < MAX_DATA + 16) {
		report("size_max %u is below the %u bytes this test uses",
		       size_max, MAX_DATA + 16);
		return -1;
	}

	vio_write32(&dev, VIO_MMIO_QUEUE_SEL, 0);
	qmax = vio_read32(&dev, VIO_MMIO_QUEUE_NUM_MAX);
	if (vq_setup(&vq, &dev, 0, &ring, VQ_MAX_SIZE))
		return -1;
	vio_status_set(&dev, VIO_STATUS_DRIVER_OK);
	if (vio_status(&dev) & (VIO_STATUS_FAILED | VIO_STATUS_NEEDS_RESET)) {
		report("device status 0x%x after DRIVER_OK", vio_status(&dev));
		return -1;
	}
	rt_printf("blk-stress: queue size %u (max %u), event_idx %u, indirect %u, capacity %lu sectors, blk_size %u, seg_max %u\n",
		  vq.size, qmax, vq.event_idx, vq.indirect,
		  (unsigned long)capacity, blk_size, seg_max);
	return 0;
}

/* The host checks these against the image after the run. */
static void print_samples(void)
{
	static const uint32_t sample[] = { 0, 1, 3, 5, 100, NREQ - 1 };
	unsigned int i;

	for (i = 0; i < sizeof(sample) / sizeof(sample[0]); i++) {
		uint32_t w = sample[i];
		uint64_t s = write_sector(w);
		uint32_t n = write_sectors(w);

		rt_printf("blk-stress: sample sector %lu seed 0x%x\n",
			  (unsigned long)s, SEED);
		rt_printf("blk-stress: sample sector %lu seed 0x%x\n",
			  (unsigned long)(s + n - 1), SEED);
		/* The rest of the write's region is never written. */
		if (n < REGION_SECTORS)
			rt_printf("blk-stress: sample zero sector %lu\n",
				  (unsigned long)(s + n));
	}
}

static void check_reset(void)
{
	if (vio_reset(&dev)) {
		report("device did not reset");
		return;
	}
	vio_write32(&dev, VIO_MMIO_QUEUE_SEL, 0);
	if (vio_read32(&dev, VIO_MMIO_QUEUE_READY))
		report("QueueReady still set after reset");
	if (vio_read32(&dev, VIO_MMIO_INT_STATUS))
		report("InterruptStatus 0x%x after reset",
		       vio_read32(&dev, VIO_MMIO_INT_STATUS));
}

int main(const void *zero_page)
{
	const uint8_t *zp = zero_page;
	bool dev_ro;
	unsigned int i;

	parse_cmdline(zp);
	rt_printf("blk-stress: mode %s\n", ro_mode ? "ro" : "rw");
	if (!pools_in_ram(zp)) {
		rt_printf("blk-stress: FAIL: buffers at 0x%lx-0x%lx are not RAM (give more --mem)\n",
			  POOL_A, (unsigned long)POOLS_END);
		return 1;
	}

	rt_pic_init();
	rt_irq_register(0, timer_irq);
	rt_irq_register(BLK_IRQ, blk_irq);
	rt_pit_set_periodic(WATCHDOG_HZ);
	rt_irq_unmask(0);
	rt_irq_unmask(BLK_IRQ);

	if (setup_device()) {
		rt_puts("blk-stress: FAIL: device setup\n");
		return 1;
	}
	for (nregions = 1; (uint64_t)nregions * 2 * REGION_SECTORS <= capacity;
	     nregions *= 2)
		;
	if (nregions < NREQ) {
		rt_printf("blk-stress: FAIL: disk too small: %lu sectors, need %u\n",
			  (unsigned long)capacity, NREQ * REGION_SECTORS);
		return 1;
	}
	for (i = 0; i < vq.size; i++)
		free_slots[nfree_slots++] = (int)(vq.size - 1 - i);

	dev_ro = vio_has(&dev, BLK_F_RO);
	if (dev_ro != ro_mode) {
		rt_printf("blk-stress: FAIL: VIRTIO_BLK_F_RO is %s in %s mode\n",
			  dev_ro ? "offered" : "not offered",
			  ro_mode ? "ro" : "rw");
		return 1;
	}

	if (!ro_mode) {
		if (!vio_has(&dev, BLK_F_FLUSH))
			report("device does not offer VIRTIO_BLK_F_FLUSH");
		pool = (uint8_t *)POOL_A;
		run_phase("writes", NREQ + NREQ / FLUSH_EVERY, gen_writes, 0);
		if (!fatal && vio_has(&dev, BLK_F_FLUSH))
			run_phase("flush", 1, gen_flush, 0);
		pool = (uint8_t *)POOL_B;
		if (!fatal)
			run_phase("reads", NREQ, gen_reads, 0);
		if (!fatal)
			run_phase("trickle", TRICKLE, gen_trickle, 4);
	} else {
		/* The image holds what a rw run wrote. */
		pool = (uint8_t *)POOL_B;
		run_phase("reads", NREQ, gen_reads, 0);
		/*
		 * The spec forbids a driver to write to an RO device; a
		 * device must still survive one and answer IOERR.
		 */
		pool = (uint8_t *)POOL_A;
		if (!fatal)
			run_phase("ro-writes", RO_WRITES, gen_ro_writes, 0);
		pool = (uint8_t *)POOL_B;
		if (!fatal)
			run_phase("reverify", RO_WRITES, gen_reverify, 4);
	}
	pool = (uint8_t *)POOL_A;
	if (!fatal)
		run_phase("errors", NR_ERRORS, gen_errors, 0);
	if (!fatal)
		check_reset();

	rt_printf("blk-stress: %lu interrupts (%lu with nothing pending, %lu config), %lu reaps without one\n",
		  irqs, irqs_empty, config_irqs, reaped_inline);
	if (ooo)
		rt_printf("blk-stress: first out-of-order: #%u completed after #%u; most overtaken by %lu\n",
			  first_ooo_seq, first_ooo_after, max_overtaken);
	rt_printf("blk-stress: out-of-order completions: %lu of %lu\n", ooo,
		  completions);
	if (!ro_mode)
		print_samples();
	if (fatal || failures || completions != next_seq) {
		rt_printf("blk-stress: FAIL: %lu failures, %lu of %u requests completed\n",
			  failures, completions, next_seq);
		return 1;
	}
	rt_puts("blk-stress: PASS\n");
	return 0;
}
