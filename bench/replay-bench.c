// SPDX-License-Identifier: Apache-2.0
/*
 * The cost of the replay hooks, measured side by side in one run:
 *   reference   a synthetic exit (a dispatch on a pseudo exit reason and a
 *               few loads and stores, like a PIO exit reaching a device)
 *               with no replay call at all;
 *   off         the same exit plus the calls a VMM makes at every exit
 *               (replay__exit, replay__release) with replay off;
 *   record      the same with recording on and no event at the exit (a
 *               checkpoint every 65536 exits, as by default);
 * then the bytes per event of each kind and the trace write throughput
 * (events/s, through write() to the trace file, CRCs included) for a mix
 * of events like the scripted guest's.  Each figure is the median of
 * ROUNDS interleaved rounds; exits are reported as ns and as a ratio to
 * the reference of the same run, which is what the targets are about.
 *
 *   replay-bench [DIR]     (DIR for the trace files, default /tmp)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "microvm/replay.h"

#define EXITS	(1u << 23)
#define ROUNDS	7
#define EVENTS	2000000u

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A stand-in for exit dispatch: what a VMM does anyway at every exit. */
static volatile uint64_t dev_regs[16];

static inline void fake_exit(uint32_t i)
{
	uint32_t reason = (i * 2654435761u) >> 29;

	switch (reason & 3) {
	case 0:
		dev_regs[i & 15] += reason;
		break;
	case 1:
		dev_regs[(i >> 4) & 15] ^= i;
		break;
	default:
		dev_regs[reason] = dev_regs[(reason + 1) & 15] + 1;
		break;
	}
}

static __attribute__((noinline)) double run_reference(void)
{
	uint64_t t0 = now_ns();
	uint32_t i;

	for (i = 0; i < EXITS; i++)
		fake_exit(i);
	return (double)(now_ns() - t0) / EXITS;
}

static __attribute__((noinline)) double run_hooked(struct replay *r)
{
	uint64_t t0 = now_ns();
	uint32_t i;

	for (i = 0; i < EXITS; i++) {
		if (replay__exit(r, REPLAY_EXIT_SYNC))
			break;
		fake_exit(i);
		replay__release(r);
	}
	return (double)(now_ns() - t0) / EXITS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int nop_apply(void *ctx, const struct replay_payload *in,
		     struct replay_payload *actual)
{
	(void)ctx;
	(void)in;
	(void)actual;
	return 0;
}

static void nop_state(void *ctx, struct replay_state *st, bool final)
{
	(void)ctx;
	(void)final;
	st->regs = 0x1234;
	st->serial = 0x5678;
	st->ram = 0;
}

static const struct replay_vmm_ops vmm = { NULL, nop_state };

static const struct replay_field disk_fields[] = {
	{ "id", REPLAY_ENC_DELTA }, { "status", REPLAY_ENC_VARINT },
	{ "bytes", REPLAY_ENC_VARINT }, { "hash", REPLAY_ENC_FIXED64 },
};
static const struct replay_field sub_fields[] = {
	{ "id", REPLAY_ENC_DELTA }, { "op", REPLAY_ENC_VARINT },
	{ "sector", REPLAY_ENC_DELTA }, { "len", REPLAY_ENC_VARINT },
};
static const struct replay_field one[] = { { "value", REPLAY_ENC_DELTA } };

static const struct replay_source_ops src_ops[] = {
	{ .name = "vda", .cls = REPLAY_SRC_INPUT, .nfields = 4, .fields = disk_fields,
	  .apply = nop_apply },
	{ .name = "vda.submit", .cls = REPLAY_SRC_SUBMIT, .nfields = 4, .fields = sub_fields },
	{ .name = "com1", .cls = REPLAY_SRC_INPUT, .has_bytes = true, .apply = nop_apply },
	{ .name = "timer", .cls = REPLAY_SRC_INPUT, .nfields = 1, .fields = one,
	  .apply = nop_apply },
	{ .name = "pit", .cls = REPLAY_SRC_CLOCK, .nfields = 1, .fields = one },
};

static struct replay *open_core(enum replay_mode mode, const char *path,
				struct replay_source **s)
{
	struct replay_config cfg = { .mode = mode, .path = path, .vmm = &vmm };
	struct replay_machine m;
	struct replay *r;
	unsigned int i;

	memset(&m, 0, sizeof(m));
	replay__new(&r, &cfg);
	for (i = 0; i < sizeof(src_ops) / sizeof(src_ops[0]); i++) {
		struct replay_source *x = replay__add_source(r, &src_ops[i], NULL);

		if (s)
			s[i] = x;
	}
	if (replay__start(r, &m)) {
		fprintf(stderr, "replay-bench: %s\n", replay__report(r));
		exit(1);
	}
	return r;
}

/* EVENTS events of a VMM-like mix, one synchronous exit between each. */
static double write_events(const char *path)
{
	struct replay_source *s[5];
	struct replay *r = open_core(REPLAY_RECORD, path, s);
	struct replay_payload p;
	uint64_t t0 = now_ns(), id = 0, sub = 0, clock = 0;
	uint32_t i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < EVENTS; i++) {
		replay__exit(r, REPLAY_EXIT_SYNC);
		switch (i % 8) {
		case 0: case 1:
			p.v[0] = sub++;
			p.v[1] = 0;
			p.v[2] = (i * 8) & 0xfffff;
			p.v[3] = 4096;
			replay__submit(r, s[1], &p);
			break;
		case 2: case 3:
			p.v[0] = id++;
			p.v[1] = 0;
			p.v[2] = 4096;
			p.v[3] = replay__hash(&i, sizeof(i), 0);
			replay__input(r, s[0], &p);
			break;
		case 4:
			p.len = 1;
			p.bytes[0] = 'a' + i % 26;
			replay__input(r, s[2], &p);
			break;
		case 5:
			p.v[0] = (clock += 1000000);
			replay__input(r, s[3], &p);
			break;
		default:
			replay__clock(r, s[4], clock + i % 1000);
			break;
		}
	}
	replay__finish(r);
	replay__free(r);
	return (double)EVENTS / ((double)(now_ns() - t0) / 1e9);
}

static void bytes_per_kind(const char *path)
{
	uint64_t count[8] = { 0 }, bytes[8] = { 0 }, total;
	struct replay_reader *rd;
	struct replay_event ev;
	char err[256];
	unsigned int t;

	if (replay__reader_open(&rd, path, err, sizeof(err))) {
		fprintf(stderr, "replay-bench: %s\n", err);
		exit(1);
	}
	while (replay__reader_next(rd, &ev) == 1) {
		/* Inputs by source (0 disk, 2 serial, 3 timer), then by type. */
		unsigned int k = ev.type == REPLAY_EV_INPUT ? ev.source :
				 ev.type == REPLAY_EV_SUBMIT ? 1 :
				 ev.type == REPLAY_EV_CLOCK ? 4 :
				 ev.type == REPLAY_EV_CHECKPOINT ? 5 : 6;

		if (k < 8) {
			count[k]++;
			bytes[k] += ev.size;
		}
	}
	total = replay__reader_size(rd);
	printf("bytes per event (%s, %" PRIu64 " bytes for %u events: %.2f bytes/event with chunk framing)\n",
	       path, total, EVENTS, (double)total / EVENTS);
	for (t = 0; t < 8; t++) {
		static const char *const names[8] = {
			"disk completion", "disk submission", "serial input", "timer expiry",
			"clock read", "checkpoint", "end", "",
		};

		if (count[t])
			printf("  %-16s %8" PRIu64 " events  %.2f bytes/event\n", names[t],
			       count[t], (double)bytes[t] / (double)count[t]);
	}
	replay__reader_close(rd);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	double ref[ROUNDS], off[ROUNDS], rec[ROUNDS], wr[3];
	char path[512], evpath[512];
	struct replay *r_off, *r_rec;
	double mref, moff, mrec;
	int i;

	snprintf(path, sizeof(path), "%s/replay-bench-exits.%d.trace", dir, (int)getpid());
	snprintf(evpath, sizeof(evpath), "%s/replay-bench-events.%d.trace", dir, (int)getpid());
	r_off = open_core(REPLAY_OFF, NULL, NULL);
	for (i = 0; i < ROUNDS; i++) {
		/* Interleaved, so drift and noise hit every variant alike. */
		ref[i] = run_reference();
		off[i] = run_hooked(r_off);
		r_rec = open_core(REPLAY_RECORD, path, NULL);
		rec[i] = run_hooked(r_rec);
		replay__finish(r_rec);
		replay__free(r_rec);
	}
	replay__free(r_off);
	mref = median(ref, ROUNDS);
	moff = median(off, ROUNDS);
	mrec = median(rec, ROUNDS);
	printf("synthetic exits: %u per round, median of %d rounds\n", EXITS, ROUNDS);
	printf("  %-28s %7.2f ns/exit  1.00x\n", "reference (no replay call)", mref);
	printf("  %-28s %7.2f ns/exit  %.2fx  (%+.2f ns)\n", "replay off", moff, moff / mref,
	       moff - mref);
	printf("  %-28s %7.2f ns/exit  %.2fx  (%+.2f ns)\n", "recording, no event", mrec,
	       mrec / mref, mrec - mref);
	for (i = 0; i < 3; i++)
		wr[i] = write_events(evpath);
	printf("trace write throughput: %.2f M events/s (median of 3 x %u events)\n",
	       median(wr, 3) / 1e6, EVENTS);
	bytes_per_kind(evpath);
	unlink(path);
	unlink(evpath);
	return 0;
}
