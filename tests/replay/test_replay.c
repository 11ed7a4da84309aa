// SPDX-License-Identifier: Apache-2.0
/*
 * The replay core driven by a scripted VMM (script.c), through the public
 * header only: record a run with hundreds of inputs of every kind at
 * random positions, replay it and check each input is applied exactly
 * where it was recorded; then replay traces that differ in one way (an
 * input moved, a payload, a submission, a checkpoint digest changed, the
 * trace cut at every byte, a byte corrupted, an unknown version) and check
 * each ends in the right verdict.  Also: refusals (replay blockers) and a
 * write error while recording.
 *
 * Usage: test_replay DIR   (scratch directory for traces)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "microvm/replay.h"
#include "check.h"
#include "rewrite.h"
#include "script.h"

#define EXITS 3000

static const char *dir;


static char *tpath(const char *name)
{
	static char buf[8][512];
	static unsigned int n;
	char *p = buf[n++ % 8];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static void spit(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, size, f) != size) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static enum replay_status replay_of(const char *path, struct script *out,
				    unsigned int exits)
{
	script__init(out, REPLAY_REPLAY, path, exits);
	return script__run(out);
}

static void test_record_replay(struct script *rec)
{
	struct script rep;
	enum replay_status st;
	unsigned int i, n;

	script__init(rec, REPLAY_RECORD, tpath("good.trace"), EXITS);
	st = script__run(rec);
	CHECK(st == REPLAY_OK, "record: %s", replay__report(rec->r));
	for (i = 0; i < SRC_NR; i++)
		if (i != SRC_DISK_SUB && i != SRC_PIT && i != SRC_RTC)
			CHECK(rec->counts[i] >= 100, "only %u inputs of kind %u",
			      rec->counts[i], i);
	for (i = n = 0; i < rec->nlog; i++)
		n += rec->log[i].pos.async;
	CHECK(n >= 100, "only %u inputs at asynchronous positions", n);
	CHECK(rec->nreq >= 100, "only %u submissions", rec->nreq);

	st = replay_of(tpath("good.trace"), &rep, EXITS);
	CHECK(st == REPLAY_OK, "replay: %s", replay__report(rep.r));
	CHECK(replay__exit_code(rep.r) == REPLAY_EXIT_IDENTICAL, "exit code %d",
	      replay__exit_code(rep.r));
	CHECK(rep.nlog == rec->nlog, "%u inputs replayed, %u recorded", rep.nlog,
	      rec->nlog);
	for (i = 0; i < rep.nlog && i < rec->nlog; i++) {
		const struct script_applied *a = &rec->log[i], *b = &rep.log[i];

		if (memcmp(&a->pos, &b->pos, sizeof(a->pos)) || a->src != b->src ||
		    memcmp(a->p.v, b->p.v, sizeof(a->p.v))) {
			char x[128], y[128];

			CHECK(0, "input %u: recorded at %s, replayed at %s", i,
			      replay__pos_str(&a->pos, x, sizeof(x)),
			      replay__pos_str(&b->pos, y, sizeof(y)));
			break;
		}
	}
	CHECK(rep.state == rec->state && rep.serial_hash == rec->serial_hash,
	      "final guest state differs");
	script__free(&rep);
}

/* Replay an edited copy of good.trace; returns the replay (caller frees). */
static enum replay_status replay_edited(const char *name, struct rewrite *rw,
					struct script *rep)
{
	rw->checkpoint_every = 97;
	if (rewrite__save(rw, tpath(name))) {
		CHECK(0, "cannot rewrite %s", name);
		return REPLAY_OK;
	}
	return replay_of(tpath(name), rep, EXITS);
}

static int find_event(const struct rewrite *rw, enum replay_event_type type,
		      unsigned int src, unsigned int nth, bool sync_only)
{
	unsigned int i;

	for (i = 0; i < rw->nev; i++)
		if (rw->ev[i].type == type && (type == REPLAY_EV_CHECKPOINT ||
					       rw->ev[i].source == src) &&
		    (!sync_only || !rw->ev[i].pos.async) && !nth--)
			return (int)i;
	return -1;
}

static uint64_t diverged_at(const struct script *rep)
{
	const char *p = strstr(replay__report(rep->r), "at event ");

	/* REPLAY_TEST_VERBOSE=1: show the reports the tests check. */
	if (getenv("REPLAY_TEST_VERBOSE"))
		fprintf(stderr, "%s\n", replay__report(rep->r));
	return p ? strtoull(p + 9, NULL, 10) : UINT64_MAX;
}

static void test_edits(void)
{
	struct rewrite rw;
	struct script rep;
	enum replay_status st;
	int i;

	/* The rewriter itself must be faithful. */
	if (rewrite__load(&rw, tpath("good.trace")))
		{
		CHECK(0, "load");
		return;
	}
	st = replay_edited("same.trace", &rw, &rep);
	CHECK(st == REPLAY_OK, "rewritten unchanged: %s", replay__report(rep.r));
	script__free(&rep);
	rewrite__free(&rw);

	/* One input two exits later. */
	rewrite__load(&rw, tpath("good.trace"));
	i = find_event(&rw, REPLAY_EV_INPUT, SRC_SERIAL, 20, true);
	CHECK(i >= 0, "no serial input");
	if (i >= 0) {
		uint64_t was = rw.ev[i].pos.exits;
		struct replay_pos where;

		rw.ev[i].pos.exits += 2;
		st = replay_edited("moved.trace", &rw, &rep);
		replay__position(rep.r, &where);
		CHECK(st == REPLAY_DIVERGED, "moved input: %s", replay__report(rep.r));
		CHECK(where.exits >= was && where.exits <= was + 200,
		      "moved input from exit %" PRIu64 " caught at exit %" PRIu64, was,
		      where.exits);
		script__free(&rep);
	}
	rewrite__free(&rw);

	/* One disk completion returns another hash. */
	rewrite__load(&rw, tpath("good.trace"));
	i = find_event(&rw, REPLAY_EV_INPUT, SRC_DISK, 30, false);
	if (i >= 0) {
		rw.ev[i].p.v[3] ^= 1;
		st = replay_edited("payload.trace", &rw, &rep);
		CHECK(st == REPLAY_DIVERGED, "payload: %s", replay__report(rep.r));
		CHECK(diverged_at(&rep) == rw.ev[i].index, "payload: at %" PRIu64
		      " not %" PRIu64, diverged_at(&rep), rw.ev[i].index);
		CHECK(strstr(replay__report(rep.r), "payload differs") != NULL, "%s",
		      replay__report(rep.r));
		script__free(&rep);
	}
	rewrite__free(&rw);

	/* One submission for another sector. */
	rewrite__load(&rw, tpath("good.trace"));
	i = find_event(&rw, REPLAY_EV_SUBMIT, SRC_DISK_SUB, 40, false);
	if (i >= 0) {
		rw.ev[i].p.v[2] += 1;
		st = replay_edited("submit.trace", &rw, &rep);
		CHECK(st == REPLAY_DIVERGED, "submit: %s", replay__report(rep.r));
		CHECK(diverged_at(&rep) == rw.ev[i].index, "submit: at %" PRIu64
		      " not %" PRIu64, diverged_at(&rep), rw.ev[i].index);
		CHECK(strstr(replay__report(rep.r), "actual:   submit vda.submit") != NULL, "%s",
		      replay__report(rep.r));
		script__free(&rep);
	}
	rewrite__free(&rw);

	/* One checkpoint with another register digest. */
	rewrite__load(&rw, tpath("good.trace"));
	i = find_event(&rw, REPLAY_EV_CHECKPOINT, 0, 5, false);
	CHECK(i >= 0, "no checkpoint");
	if (i >= 0) {
		rw.ev[i].state.regs ^= 0x100;
		st = replay_edited("checkpoint.trace", &rw, &rep);
		CHECK(st == REPLAY_DIVERGED, "checkpoint: %s", replay__report(rep.r));
		CHECK(diverged_at(&rep) == rw.ev[i].index, "checkpoint: at %" PRIu64
		      " not %" PRIu64, diverged_at(&rep), rw.ev[i].index);
		CHECK(strstr(replay__report(rep.r), "state differs") != NULL, "%s",
		      replay__report(rep.r));
		script__free(&rep);
	}
	rewrite__free(&rw);

	/* A clock value changed: the guest goes elsewhere, caught later. */
	rewrite__load(&rw, tpath("good.trace"));
	i = find_event(&rw, REPLAY_EV_CLOCK, SRC_PIT, 50, false);
	if (i >= 0) {
		rw.ev[i].p.v[0] += 1;
		st = replay_edited("clock.trace", &rw, &rep);
		CHECK(st == REPLAY_DIVERGED, "clock: %s", replay__report(rep.r));
		CHECK(diverged_at(&rep) > rw.ev[i].index, "clock: at %" PRIu64,
		      diverged_at(&rep));
		script__free(&rep);
	}
	rewrite__free(&rw);

	/* The timer tick that woke a halted guest removed: never a hang. */
	rewrite__load(&rw, tpath("good.trace"));
	{
		uint64_t last = 0;
		unsigned int k;

		for (i = -1, k = 0; k < rw.nev; k++) {
			if (rw.ev[k].type != REPLAY_EV_INPUT || rw.ev[k].source != SRC_TIMER)
				continue;
			/* script.c wakes a halted guest with a 10 ms tick. */
			if (rw.ev[k].p.v[0] - last == 10000000 && rw.ev[k].pos.exits > 100) {
				i = (int)k;
				break;
			}
			last = rw.ev[k].p.v[0];
		}
	}
	CHECK(i >= 0, "no wake-up tick");
	if (i >= 0) {
		memmove(&rw.ev[i], &rw.ev[i + 1], (rw.nev - (unsigned int)i - 1) * sizeof(rw.ev[0]));
		rw.nev--;
		st = replay_edited("nowake.trace", &rw, &rep);
		CHECK(st == REPLAY_DIVERGED &&
		      strstr(replay__report(rep.r), "waits for an input that cannot come"),
		      "no wake-up: %s", replay__report(rep.r));
		script__free(&rep);
	}
	rewrite__free(&rw);

	/* The guest runs on after the recording's end. */
	st = replay_of(tpath("good.trace"), &rep, EXITS + 50);
	CHECK(st == REPLAY_DIVERGED, "longer guest: %s", replay__report(rep.r));
	script__free(&rep);
	/* The guest stops before it. */
	st = replay_of(tpath("good.trace"), &rep, EXITS - 50);
	CHECK(st == REPLAY_DIVERGED, "shorter guest: %s", replay__report(rep.r));
	CHECK(strstr(replay__report(rep.r), "stopped") != NULL, "%s",
	      replay__report(rep.r));
	script__free(&rep);
}

/* A small trace cut at every byte offset: each cut ends in a verdict. */
static void test_cuts(void)
{
	struct script rec, rep;
	uint8_t *data;
	size_t size, cut, header = 0;
	unsigned int n_unreadable = 0, n_early = 0, n_ok = 0;
	enum replay_status st;

	script__init(&rec, REPLAY_RECORD, tpath("small.trace"), 60);
	rec.flush_events = 4;
	rec.checkpoint_every = 97;
	st = script__run(&rec);
	CHECK(st == REPLAY_OK, "small record: %s", replay__report(rec.r));
	script__free(&rec);
	data = slurp(tpath("small.trace"), &size);
	if (!data)
		{
		CHECK(0, "read small.trace");
		return;
	}
	for (cut = 0; cut <= size; cut++) {
		spit(tpath("cut.trace"), data, cut);
		st = replay_of(tpath("cut.trace"), &rep, 60);
		if (rep.start_ret) {
			CHECK(st == REPLAY_UNREADABLE && !header,
			      "cut %zu: start failed after a readable header: %s", cut,
			      replay__report(rep.r));
			CHECK(replay__exit_code(rep.r) == REPLAY_EXIT_UNREADABLE, "code");
			n_unreadable++;
		} else if (cut < size) {
			if (!header)
				header = cut;
			CHECK(st == REPLAY_INCOMPLETE &&
			      strstr(replay__report(rep.r), "ends early") &&
			      replay__exit_code(rep.r) == REPLAY_EXIT_INCOMPLETE,
			      "cut %zu of %zu: %d %s", cut, size, st, replay__report(rep.r));
			n_early++;
		} else {
			CHECK(st == REPLAY_OK, "uncut: %s", replay__report(rep.r));
			n_ok++;
		}
		script__free(&rep);
	}
	CHECK(n_ok == 1 && n_early > 100 && n_unreadable > 100,
	      "%u ok, %u early, %u unreadable", n_ok, n_early, n_unreadable);
	free(data);
}

static void test_corrupt(void)
{
	struct script rep;
	uint8_t *data;
	size_t size, i;
	enum replay_status st;
	unsigned int bad = 0;

	data = slurp(tpath("small.trace"), &size);
	if (!data)
		{
		CHECK(0, "read small.trace");
		return;
	}
	/* A version from the future: refused, naming it and those read. */
	CHECK(data[8] == 3, "small.trace has version %u", data[8]);
	data[8] = 4;
	spit(tpath("v4.trace"), data, size);
	data[8] = 3;
	st = replay_of(tpath("v4.trace"), &rep, 60);
	CHECK(st == REPLAY_UNREADABLE && strstr(replay__report(rep.r), "version 4") &&
	      strstr(replay__report(rep.r), "versions 2 to 3"), "%s", replay__report(rep.r));
	script__free(&rep);
	/* Every 7th byte flipped in turn: never a crash, never "identical". */
	for (i = 0; i < size; i += 7) {
		data[i] ^= 0x20;
		spit(tpath("flip.trace"), data, size);
		data[i] ^= 0x20;
		st = replay_of(tpath("flip.trace"), &rep, 60);
		CHECK(st != REPLAY_OK, "byte %zu flipped, replay identical", i);
		bad += st == REPLAY_UNREADABLE;
		script__free(&rep);
	}
	CHECK(bad > 0, "no flip was found unreadable");
	/* The reader: any one flipped byte is corruption, never a cut. */
	for (i = 0; i < size; i++) {
		struct replay_reader *rd;
		struct replay_event ev;
		char err[256];

		data[i] ^= 0x01 << (i % 8);
		if (!replay__reader_open_mem(&rd, data, size, err, sizeof(err))) {
			while (replay__reader_next(rd, &ev) == 1)
				;
			CHECK(replay__reader_end(rd, NULL, NULL) == REPLAY_TRACE_CORRUPT,
			      "byte %zu flipped: end %d", i, replay__reader_end(rd, NULL, NULL));
			replay__reader_close(rd);
		}
		data[i] ^= 0x01 << (i % 8);
	}
	free(data);
}

static void test_blockers(void)
{
	struct script s;

	script__init(&s, REPLAY_RECORD, tpath("blocked.trace"), 10);
	s.blocker = "vhost offloads its rings to the kernel";
	script__run(&s);
	CHECK(s.start_ret == -EPERM, "start %d", s.start_ret);
	CHECK(strstr(replay__report(s.r), "vhost-net") &&
	      strstr(replay__report(s.r), "vhost offloads"), "%s", replay__report(s.r));
	CHECK(access(tpath("blocked.trace"), F_OK) != 0, "a refused recording wrote a file");
	script__free(&s);

	/* Off: the same calls, nothing recorded, the blocker does not matter. */
	script__init(&s, REPLAY_OFF, NULL, 500);
	s.blocker = "anything";
	CHECK(script__run(&s) == REPLAY_OK && s.start_ret == 0, "off");
	CHECK(s.nlog > 0, "off mode applied no inputs");
	script__free(&s);
}

/* A write error mid-recording: recording stops, the trace stays readable. */
static void test_write_error(void)
{
	struct rlimit old, lim;
	struct replay_reader *rd;
	struct replay_event ev;
	struct script s;
	char err[256];
	const char *why;
	uint64_t off;
	unsigned int n = 0;

	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 20000;	/* bytes: EFBIG past this, as a full disk */
	setrlimit(RLIMIT_FSIZE, &lim);
	script__init(&s, REPLAY_RECORD, tpath("full.trace"), EXITS);
	script__run(&s);
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(replay__status(s.r) == REPLAY_FAILED, "status %d", replay__status(s.r));
	CHECK(strstr(replay__report(s.r), "recording stopped") &&
	      strstr(replay__report(s.r), "readable up to byte"), "%s",
	      replay__report(s.r));
	CHECK(replay__exit_code(s.r) == REPLAY_EXIT_REC_FAILED, "code");
	CHECK(s.done == EXITS, "the guest did not run to its end (%" PRIu64 ")", s.done);
	script__free(&s);
	if (replay__reader_open(&rd, tpath("full.trace"), err, sizeof(err)))
		{
		CHECK(0, "%s", err);
		return;
	}
	while (replay__reader_next(rd, &ev) == 1)
		n++;
	CHECK(replay__reader_end(rd, &off, &why) == REPLAY_TRACE_CUT, "end: %s", why);
	CHECK(off <= 20000 && off == replay__reader_size(rd), "ends at %" PRIu64, off);
	CHECK(n > 100, "only %u events kept", n);
	replay__reader_close(rd);
}

/* SIGKILL in the middle of a recording: the trace reads up to a chunk. */
static void test_sigkill(void)
{
	struct replay_reader *rd;
	struct replay_event ev;
	struct script rep;
	enum replay_status st;
	char err[256];
	unsigned int n = 0;
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct script s;

		script__init(&s, REPLAY_RECORD, tpath("killed.trace"), 8000000);
		s.flush_events = 16;
		script__run(&s);
		_exit(0);	/* too soon: the test below fails */
	}
	usleep(300000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status), "the recorder finished before it was killed");
	if (replay__reader_open(&rd, tpath("killed.trace"), err, sizeof(err))) {
		CHECK(0, "%s", err);
		return;
	}
	while (replay__reader_next(rd, &ev) == 1)
		n++;
	CHECK(replay__reader_end(rd, NULL, NULL) == REPLAY_TRACE_CUT, "killed: not cut");
	CHECK(n > 100, "killed: only %u events", n);
	replay__reader_close(rd);
	st = replay_of(tpath("killed.trace"), &rep, 8000000);
	CHECK(st == REPLAY_INCOMPLETE && strstr(replay__report(rep.r), "ends early"),
	      "killed: %s", replay__report(rep.r));
	script__free(&rep);
}

int main(int argc, char **argv)
{
	struct script rec;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH-DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	mkdir(dir, 0755);
	test_record_replay(&rec);
	script__free(&rec);
	test_edits();
	test_cuts();
	test_corrupt();
	test_blockers();
	test_write_error();
	test_sigkill();
	printf("%u checks, %u failed\n", checks, failures);
	return failures ? 1 : 0;
}
