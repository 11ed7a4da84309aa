// SPDX-License-Identifier: Apache-2.0
/*
 * Round-trip properties of the trace encoding, through the public header:
 * whatever a VMM hands the core (any 64-bit field value under each field
 * encoding, byte strings of every length, positions of every backend,
 * checkpoints) reads back identically, across chunk boundaries (where the
 * delta state restarts); the machine description survives the device
 * tree; the hashes match their reference values; positions order as
 * documented.
 *
 * Usage: test_replay_codec DIR
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "microvm/replay.h"
#include "check.h"



static uint64_t rng = 0x1234567;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* Values that stress varints: edges, powers of two +-1, small, random. */
static uint64_t nasty(void)
{
	static const uint64_t edge[] = { 0, 1, 127, 128, 255, 16383, 16384,
		(1ull << 32) - 1, 1ull << 32, (1ull << 63) - 1, 1ull << 63,
		UINT64_MAX - 1, UINT64_MAX };
	uint64_t r = rnd();

	switch (r % 4) {
	case 0:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (1ull << ((r >> 8) % 64)) + ((r >> 16) % 3) - 1;
	case 2:
		return (r >> 8) % 300;
	default:
		return rnd();
	}
}

struct feed {
	struct replay_pos pos;	/* what locate() reports */
};

static void feed_locate(void *ctx, struct replay_pos *pos)
{
	const struct feed *f = ctx;
	uint64_t exits = pos->exits;

	*pos = ((const struct feed *)f)->pos;
	pos->exits = exits;
}

static struct replay_state next_state;

static void feed_state(void *ctx, struct replay_state *st, bool final)
{
	(void)ctx;
	(void)final;
	*st = next_state;
}

static int nop_apply(void *ctx, const struct replay_payload *in,
		     struct replay_payload *actual)
{
	(void)ctx;
	(void)in;
	(void)actual;
	return 0;
}

static const struct replay_field fields[] = {
	{ "a", REPLAY_ENC_VARINT }, { "b", REPLAY_ENC_DELTA },
	{ "c", REPLAY_ENC_FIXED64 }, { "d", REPLAY_ENC_DELTA },
	{ "e", REPLAY_ENC_DELTA }, { "f", REPLAY_ENC_VARINT },
};
static const struct replay_field one[] = { { "v", REPLAY_ENC_DELTA } };

static const struct replay_source_ops src_ops[] = {
	{ .name = "six", .cls = REPLAY_SRC_INPUT, .nfields = 6, .fields = fields,
	  .has_bytes = true, .apply = nop_apply },
	{ .name = "bytes", .cls = REPLAY_SRC_INPUT, .has_bytes = true, .apply = nop_apply },
	{ .name = "clk", .cls = REPLAY_SRC_CLOCK, .nfields = 1, .fields = one },
	{ .name = "sub", .cls = REPLAY_SRC_SUBMIT, .nfields = 6, .fields = fields },
};

#define NEV 20000

/* Record NEV random events with `backend`, read them back, compare. */
static void roundtrip(const char *path, enum replay_backend backend)
{
	static struct replay_event want[NEV + 1];
	struct feed f = { { 0 } };
	struct replay_vmm_ops vmm = { feed_locate, feed_state };
	struct replay_config cfg = { .mode = REPLAY_RECORD, .path = path,
				     .flush_events = 1 + (unsigned int)(rnd() % 50),
				     .checkpoint_every = 1000, .vmm = &vmm, .vmm_ctx = &f };
	struct replay_machine m;
	struct replay_source *s[4];
	struct replay_reader *rd;
	struct replay_event ev;
	uint64_t exits = 0;
	unsigned int i, n = 0, j, bad = 0;
	bool at_async = false;
	char err[256];
	struct replay *r;

	memset(&m, 0, sizeof(m));
	m.backend = backend;
	replay__new(&r, &cfg);
	for (i = 0; i < 4; i++)
		s[i] = replay__add_source(r, &src_ops[i], NULL);
	CHECK(!replay__start(r, &m), "%s", replay__report(r));
	while (n < NEV) {
		struct replay_event *w = &want[n];
		unsigned int k = (unsigned int)(rnd() % 4);
		uint64_t step = rnd() % 8 == 0 ? rnd() % 100000 : rnd() % 3;

		/* Move on: synchronous exits (checkpoints come on their own). */
		for (j = 0; j < step && j < 3; j++) {
			next_state = (struct replay_state){ rnd(), rnd(), 0 };
			replay__exit(r, REPLAY_EXIT_SYNC);
			exits++;
			at_async = false;
			if (exits % 1000 == 0) {
				memset(w, 0, sizeof(*w));
				w->type = REPLAY_EV_CHECKPOINT;
				w->pos.exits = exits;
				if (backend != REPLAY_BACKEND_EXIT) {
					w->pos.exact = true;
					w->pos.branches = f.pos.branches;
					w->pos.rip = f.pos.rip;
					w->pos.rcx = f.pos.rcx;
					w->pos.insns = f.pos.insns;
				}
				w->state = next_state;
				w = &want[++n];
			}
		}
		if (n >= NEV)
			break;
		memset(w, 0, sizeof(*w));
		if (backend == REPLAY_BACKEND_EXIT) {
			if (rnd() % 3 == 0) {
				f.pos.rip = nasty();
				f.pos.digest = nasty();
				/* v3 adds the registers' digest; 0: left out. */
				f.pos.regs = rnd() % 2 ? nasty() : 0;
				replay__exit(r, REPLAY_EXIT_ASYNC);
				at_async = true;
			}
			/* Until the next synchronous exit, still at that stop. */
			w->pos.async = at_async;
		} else {
			static uint64_t br, insns;

			br += rnd() % 4 ? rnd() % 10 : rnd() >> 40;
			insns += rnd() % 1000;
			f.pos = (struct replay_pos){ .branches = br, .rip = nasty(),
						     .rcx = nasty(), .insns = insns };
			w->pos = f.pos;
			w->pos.exact = true;
			replay__exit(r, REPLAY_EXIT_ASYNC);
		}
		w->pos.exits = exits;
		if (w->pos.async) {
			w->pos.rip = f.pos.rip;
			w->pos.digest = f.pos.digest;
			w->pos.regs = f.pos.regs;
		}
		w->source = k;
		for (j = 0; j < src_ops[k].nfields; j++)
			w->p.v[j] = nasty();
		if (src_ops[k].has_bytes) {
			w->p.len = (uint32_t)(rnd() % (REPLAY_BYTES_MAX + 1));
			for (j = 0; j < w->p.len; j++)
				w->p.bytes[j] = (uint8_t)rnd();
		}
		switch (src_ops[k].cls) {
		case REPLAY_SRC_INPUT:
			w->type = REPLAY_EV_INPUT;
			replay__input(r, s[k], &w->p);
			break;
		case REPLAY_SRC_CLOCK:
			w->type = REPLAY_EV_CLOCK;
			CHECK(replay__clock(r, s[k], w->p.v[0]) == w->p.v[0], "clock");
			break;
		default:
			w->type = REPLAY_EV_SUBMIT;
			replay__submit(r, s[k], &w->p);
			break;
		}
		n++;
	}
	next_state = (struct replay_state){ rnd(), rnd(), rnd() };
	CHECK(replay__finish(r) == REPLAY_OK, "%s", replay__report(r));
	replay__free(r);

	if (replay__reader_open(&rd, path, err, sizeof(err))) {
		CHECK(0, "%s", err);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct replay_event *w = &want[i];

		if (replay__reader_next(rd, &ev) != 1) {
			CHECK(0, "event %u missing", i);
			break;
		}
		if (ev.type != w->type || memcmp(&ev.pos, &w->pos, sizeof(ev.pos)) ||
		    (w->type <= REPLAY_EV_SUBMIT &&
		     (ev.source != w->source || memcmp(ev.p.v, w->p.v, sizeof(ev.p.v)) ||
		      ev.p.len != w->p.len || memcmp(ev.p.bytes, w->p.bytes, ev.p.len))) ||
		    (w->type == REPLAY_EV_CHECKPOINT &&
		     memcmp(&ev.state, &w->state, sizeof(ev.state)))) {
			char a[512], b[512];

			if (bad++ < 3)
				CHECK(0, "event %u: read %s, wrote %s", i,
				      replay__event_str(rd, &ev, a, sizeof(a)),
				      replay__event_str(rd, w, b, sizeof(b)));
		}
	}
	CHECK(bad == 0, "%u of %u events differ (backend %d)", bad, n, backend);
	CHECK(replay__reader_next(rd, &ev) == 1 && ev.type == REPLAY_EV_END &&
	      ev.total_events == n && !memcmp(&ev.state, &next_state, sizeof(next_state)),
	      "END record");
	CHECK(replay__reader_next(rd, &ev) == 0 &&
	      replay__reader_end(rd, NULL, NULL) == REPLAY_TRACE_COMPLETE, "complete");
	replay__reader_close(rd);
}

static void rand_str(char *s, size_t cap)
{
	size_t n = rnd() % 3 == 0 ? cap - 1 : rnd() % cap, i;

	for (i = 0; i < n; i++)
		s[i] = (char)(0x20 + rnd() % 95);
	s[n] = 0;
}

static void rand_file(struct replay_file *f)
{
	rand_str(f->path, sizeof(f->path));
	f->size = nasty();
	f->hash = nasty();
	f->ro = rnd() & 1;
}

static void test_machine(const char *path)
{
	static struct replay_machine m, back;
	struct replay_config cfg = { .mode = REPLAY_RECORD, .path = path };
	struct replay_reader *rd;
	struct replay *r;
	unsigned int i, round;
	char err[256];

	for (round = 0; round < 20; round++) {
		memset(&m, 0, sizeof(m));
		m.mem_size = nasty();
		rand_str(m.cmdline, sizeof(m.cmdline));
		rand_file(&m.kernel);
		if (round & 1)
			rand_file(&m.initrd);
		m.ndisks = (unsigned int)(rnd() % (REPLAY_DISKS_MAX + 1));
		for (i = 0; i < m.ndisks; i++)
			rand_file(&m.disks[i]);
		m.ndevices = (unsigned int)(rnd() % (REPLAY_DEVICES_MAX + 1));
		for (i = 0; i < m.ndevices; i++) {
			rand_str(m.devices[i].name, sizeof(m.devices[i].name));
			m.devices[i].addr = nasty();
			m.devices[i].size = nasty();
			m.devices[i].irq = rnd() % 3 ? (uint32_t)rnd() % 24 : UINT32_MAX;
			m.devices[i].mmio = rnd() & 1;
		}
		m.ncpuid = (unsigned int)(rnd() % (REPLAY_CPUID_MAX + 1));
		m.ncpuid_seen = (unsigned int)(rnd() % (REPLAY_CPUID_MAX + 1));
		for (i = 0; i < m.ncpuid; i++)
			m.cpuid[i] = (struct replay_cpuid){ (uint32_t)rnd(), (uint32_t)rnd(),
				(uint32_t)rnd(), (uint32_t)rnd(), (uint32_t)rnd(), (uint32_t)rnd() };
		for (i = 0; i < m.ncpuid_seen; i++)
			m.cpuid_seen[i] = (struct replay_cpuid){ (uint32_t)rnd(), 0, 1, 2, 3,
								 (uint32_t)rnd() };
		rand_str(m.host_probe, sizeof(m.host_probe));
		m.backend = 1 + (unsigned int)(rnd() % 3);
		m.rtc_epoch = (int64_t)nasty();
		rand_str(m.vmm_version, sizeof(m.vmm_version));
		if (round & 2)
			rand_file(&m.snapshot);	/* carried, not acted on, in v1 */

		replay__new(&r, &cfg);
		CHECK(!replay__start(r, &m), "%s", replay__report(r));
		CHECK(replay__finish(r) == REPLAY_OK, "%s", replay__report(r));
		replay__free(r);
		if (replay__reader_open(&rd, path, err, sizeof(err))) {
			CHECK(0, "round %u: %s", round, err);
			continue;
		}
		back = *replay__reader_machine(rd);
		CHECK(!memcmp(&back, &m, sizeof(m)), "round %u: machine differs", round);
		if (memcmp(&back, &m, sizeof(m))) {
			CHECK(!strcmp(back.cmdline, m.cmdline), "cmdline");
			CHECK(back.ndevices == m.ndevices && back.ndisks == m.ndisks &&
			      back.ncpuid == m.ncpuid, "counts");
		}
		replay__reader_close(rd);
	}
}

static void test_hashes(void)
{
	static const uint8_t s37[] = "0123456789abcdef0123456789abcdefXYZ12";
	uint8_t big[1027];
	unsigned int i;

	/* Reference values from Debian's libxxhash 0.8.1 (XXH64). */
	CHECK(replay__hash("", 0, 0) == 0xef46db3751d8e999ull, "xxh64 empty");
	CHECK(replay__hash("a", 1, 0) == 0xd24ec4f1a98c6e5bull, "xxh64 a");
	CHECK(replay__hash("abc", 3, 0) == 0x44bc2cf5ad770999ull, "xxh64 abc");
	for (i = 0; i < 1024; i++)
		big[i] = (uint8_t)i;
	memcpy(big + 1024, "xyz", 3);
	CHECK(replay__hash(big, sizeof(big), 0) == 0xe146cb31b65bc21aull, "xxh64 1027");
	CHECK(replay__hash(s37, 37, 12345) == 0xad42db9b5a829448ull, "xxh64 seed");
	/* CRC32C check value (RFC 3720's polynomial). */
	CHECK(replay__crc32c(0, "123456789", 9) == 0xe3069283u, "crc32c check");
	CHECK(replay__crc32c(replay__crc32c(0, big, 13), big + 13, sizeof(big) - 13) ==
	      replay__crc32c(0, big, sizeof(big)), "crc32c incremental");
}

static void test_positions(void)
{
	struct replay_pos t = { .exits = 10 }, c = { .exits = 9 };

	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOT_YET, "sync before");
	c.exits = 10;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOW, "sync now");
	c.async = true;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_PASSED, "async after sync");
	c.exits = 11;
	c.async = false;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_PASSED, "sync after");
	/* Asynchronous target: rip and digest must both match. */
	t = (struct replay_pos){ .exits = 10, .async = true, .rip = 0x1000, .digest = 7 };
	c = (struct replay_pos){ .exits = 10 };
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOT_YET, "at the sync exit before");
	c = (struct replay_pos){ .exits = 10, .async = true, .rip = 0x1000, .digest = 8 };
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOT_YET, "rip hit, digest not");
	c.digest = 7;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOW, "rip and digest");
	c.exits = 11;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_PASSED, "next exit");
	/* Exact: branches, then rip and rcx; the instruction count checks. */
	t = (struct replay_pos){ .exits = 3, .exact = true, .branches = 100,
				 .rip = 0x2000, .rcx = 5, .insns = 900 };
	c = t;
	c.branches = 99;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOT_YET, "fewer branches");
	c = t;
	c.rcx = 6;
	c.insns = 899;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOT_YET, "rep iteration before");
	c = t;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_NOW, "exact");
	c.insns = 901;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_PASSED, "same place, later");
	c = t;
	c.branches = 101;
	CHECK(replay__pos_cmp(&c, &t) == REPLAY_POS_PASSED, "more branches");
}

/* The time half of the flush policy: a chunk after flush_ms at most. */
static void test_flush_time(const char *path)
{
	struct replay_config cfg = { .mode = REPLAY_RECORD, .path = path,
				     .flush_events = 100000, .flush_ms = 5 };
	struct replay_machine m;
	struct replay_payload p;
	struct replay_source *s;
	struct stat st0, st1;
	struct replay *r;

	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	replay__new(&r, &cfg);
	s = replay__add_source(r, &src_ops[2], NULL);
	CHECK(!replay__start(r, &m), "%s", replay__report(r));
	replay__clock(r, s, 1);
	stat(path, &st0);
	usleep(30000);
	replay__clock(r, s, 2);		/* 30 ms later: flushes both */
	stat(path, &st1);
	CHECK(st1.st_size > st0.st_size, "no chunk after 30 ms (%lld -> %lld bytes)",
	      (long long)st0.st_size, (long long)st1.st_size);
	replay__free(r);
}

/* Sources and machines a reader would refuse are refused at start. */
static void test_refusals(const char *path)
{
	static const struct replay_field long_field[] = {
		{ "a_field_name_much_longer_than_31_bytes", REPLAY_ENC_VARINT } };
	struct replay_source_ops dup = src_ops[2], longf = src_ops[2];
	struct replay_config cfg = { .mode = REPLAY_RECORD, .path = path };
	struct replay_machine m;
	struct replay *r;

	memset(&m, 0, sizeof(m));
	replay__new(&r, &cfg);
	replay__add_source(r, &src_ops[2], NULL);
	replay__add_source(r, &dup, NULL);
	CHECK(replay__start(r, &m) == -EINVAL && strstr(replay__report(r), "two sources"),
	      "%s", replay__report(r));
	replay__free(r);

	longf.name = "long";
	longf.fields = long_field;
	replay__new(&r, &cfg);
	replay__add_source(r, &longf, NULL);
	CHECK(replay__start(r, &m) == -EINVAL && strstr(replay__report(r), "field 0"),
	      "%s", replay__report(r));
	replay__free(r);

	m.backend = 9;
	replay__new(&r, &cfg);
	CHECK(replay__start(r, &m) == -EINVAL && strstr(replay__report(r), "backend 9"),
	      "%s", replay__report(r));
	replay__free(r);

	m.backend = REPLAY_BACKEND_EXIT;
	m.start = REPLAY_START_SNAPSHOT;
	replay__new(&r, &cfg);
	CHECK(replay__start(r, &m) == -EOPNOTSUPP, "%s", replay__report(r));
	replay__free(r);

	/* Unterminated strings are cut, and the trace reads back. */
	m.start = REPLAY_START_BOOT;
	memset(m.cmdline, 'x', sizeof(m.cmdline));
	memset(m.vmm_version, 'v', sizeof(m.vmm_version));
	replay__new(&r, &cfg);
	CHECK(replay__start(r, &m) == 0, "%s", replay__report(r));
	CHECK(replay__finish(r) == REPLAY_OK, "%s", replay__report(r));
	replay__free(r);
	{
		struct replay_reader *rd;
		char err[256];

		CHECK(!replay__reader_open(&rd, path, err, sizeof(err)), "%s", err);
		if (rd) {
			CHECK(strlen(replay__reader_machine(rd)->cmdline) == REPLAY_CMDLINE_MAX - 1,
			      "cmdline");
			replay__reader_close(rd);
		}
	}
}

int main(int argc, char **argv)
{
	char path[512];

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH-DIR\n", argv[0]);
		return 2;
	}
	mkdir(argv[1], 0755);
	test_hashes();
	test_positions();
	snprintf(path, sizeof(path), "%s/codec-exit.trace", argv[1]);
	roundtrip(path, REPLAY_BACKEND_EXIT);
	snprintf(path, sizeof(path), "%s/codec-step.trace", argv[1]);
	roundtrip(path, REPLAY_BACKEND_STEP);
	snprintf(path, sizeof(path), "%s/machine.trace", argv[1]);
	test_machine(path);
	snprintf(path, sizeof(path), "%s/flush.trace", argv[1]);
	test_flush_time(path);
	snprintf(path, sizeof(path), "%s/refuse.trace", argv[1]);
	test_refusals(path);
	printf("%u checks, %u failed\n", checks, failures);
	return failures ? 1 : 0;
}
