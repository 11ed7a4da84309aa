// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for disk images and their engines (blk/disk*.c): real files
 * in a temporary directory, real io_uring, real threads.  Completions are
 * collected the way the vCPU loop does it: pop an event from the queue,
 * release it (the disk's source calls on_complete).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk/disk.h"
#include "tests/unit/check.h"

#define NREQ 200
#define BLK 4096

static char tmpdir[256];
/* A check this run could not make here (it says which): exit 77. */
static bool skipped;
static enum disk_engine_kind engine;	/* the engine under test */
static struct evq evq;

/* What the device would do: record completions in the order seen. */
struct completions {
	u64 ids[4 * NREQ];
	unsigned int n;
};

static struct completions done;

static void on_complete(void *ctx, struct disk_req *req)
{
	struct completions *c = ctx;

	if (c->n < ARRAY_SIZE(c->ids))
		c->ids[c->n] = req->id;
	c->n++;
}

static const char *tpath(const char *name)
{
	static char buf[4][512];
	static unsigned int i;
	char *p = buf[i++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static void make_image(const char *path, u64 size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (off_t)size) == 0);
	close(fd);
}

/* stderr into a file for a while, to check what the user would read. */
static int saved_stderr = -1;
static char stderr_path[300];

static void capture_begin(void)
{
	int fd = open(stderr_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0644);

	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static const char *capture_end(void)
{
	static char buf[4096];
	int fd;
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fd = open(stderr_path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static int open_disk(struct disk *d, const char *path, bool ro)
{
	int ret = disk__open(d, path, ro, engine, &evq);

	if (!ret) {
		d->on_complete = on_complete;
		d->on_complete_ctx = &done;
	}
	return ret;
}

/* Submit as the device does: every request comes back as an event. */
static void submit(struct disk *d, struct disk_req *req)
{
	CHECK_EQ(disk__submit(d, req), 0);
}

/* The vCPU loop: pop completions until every submitted one is back. */
static void collect(struct disk *d)
{
	u64 deadline = util__host_ns() + 20 * NSEC_PER_SEC;
	struct event ev;

	while (d->inflight && util__host_ns() < deadline) {
		evq__wait(&evq, 100 * 1000 * 1000);
		while (evq__pop(&evq, &ev)) {
			CHECK(ev.src == &d->src);
			if (ev.src != &d->src)
				continue;
			CHECK_EQ(((struct disk_req *)ev.ptr)->id, ev.arg);
			evq__release(&ev);
		}
	}
	CHECK_EQ(d->inflight, 0);
}

static u8 pattern(u64 offset, unsigned int seed)
{
	return (u8)((offset * 2654435761u) >> 13) ^ (u8)(seed * 37 + 1);
}

static void fill(u8 *buf, size_t len, u64 offset, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(offset + i, seed);
}

static bool matches(const u8 *buf, size_t len, u64 offset, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(offset + i, seed))
			return false;
	return true;
}

static bool all_zero(const u8 *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

/* One request over a host buffer, as the device hands it over. */
struct rq {
	struct disk_req req;
};

static void rq_init(struct rq *r, enum disk_op op, u64 offset, u8 *buf,
		    size_t len)
{
	memset(r, 0, sizeof(*r));
	r->req.op = op;
	r->req.offset = offset;
	r->req.len = len;
	r->req.buf = buf;
}

static void rq_plain(struct rq *r, enum disk_op op, u64 offset, u64 len)
{
	memset(r, 0, sizeof(*r));
	r->req.op = op;
	r->req.offset = offset;
	r->req.len = len;
}

/* Out-of-order completions: ids that arrive after a larger one. */
static unsigned int reordered(void)
{
	unsigned int n = 0;
	u64 max = 0;

	for (unsigned int i = 0; i < done.n && i < ARRAY_SIZE(done.ids); i++) {
		if (i && done.ids[i] < max)
			n++;
		max = MAX(max, done.ids[i]);
	}
	return n;
}

/* ---- Per-engine tests ---- */

static void test_patterns(void)
{
	const u64 size = 8 * MiB, len = 8 * KiB;
	const unsigned int n = 64;
	struct rq *rqs = calloc(n, sizeof(*rqs));
	u8 *bufs = malloc(n * len), *check = malloc(len);
	const char *path = tpath("patterns.img");
	struct disk d;
	int fd;

	make_image(path, size);
	CHECK_EQ(open_disk(&d, path, false), 0);
	CHECK(!strcmp(disk__engine_name(&d), engine == DISK_ENGINE_SYNC ?
		      "sync" : engine == DISK_ENGINE_URING ? "uring" :
		      "threads"));
	CHECK_EQ(d.size, size);

	/* Unaligned offsets, spread over the image, all in flight at once. */
	done.n = 0;
	for (unsigned int i = 0; i < n; i++) {
		u64 off = i * (size / n) + (i % 8) * 512 + (i % 3);

		fill(bufs + i * len, len, off, i);
		rq_init(&rqs[i], DISK_WRITE, off, bufs + i * len, len);
		submit(&d, &rqs[i].req);
	}
	collect(&d);
	CHECK_EQ(done.n, n);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(rqs[i].req.result, len);
		CHECK_EQ(rqs[i].req.id, i);
	}

	/* Read back through the engine... */
	memset(bufs, 0xee, n * len);
	done.n = 0;
	for (unsigned int i = 0; i < n; i++) {
		rq_init(&rqs[i], DISK_READ, rqs[i].req.offset, bufs + i * len,
			len);
		submit(&d, &rqs[i].req);
	}
	collect(&d);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	for (unsigned int i = 0; i < n; i++) {
		CHECK_EQ(rqs[i].req.result, len);
		CHECK(matches(bufs + i * len, len, rqs[i].req.offset, i));
		/* ...and behind its back. */
		CHECK_EQ(pread(fd, check, len, (off_t)rqs[i].req.offset), len);
		CHECK(matches(check, len, rqs[i].req.offset, i));
	}
	close(fd);
	disk__close(&d);
	free(check);
	free(bufs);
	free(rqs);
}

static void test_many_in_flight(void)
{
	struct rq *rqs = calloc(NREQ, sizeof(*rqs));
	u8 *bufs = malloc(NREQ * BLK);
	const char *path = tpath("many.img");
	unsigned int wr_reorder, rd_reorder;
	struct disk d;

	make_image(path, NREQ * BLK * 2);
	CHECK_EQ(open_disk(&d, path, false), 0);

	done.n = 0;
	for (unsigned int i = 0; i < NREQ; i++) {
		/* Every other block, in a scrambled order. */
		u64 off = ((i * 73) % NREQ) * 2 * BLK;

		fill(bufs + i * BLK, BLK, off, i + 1000);
		rq_init(&rqs[i], DISK_WRITE, off, bufs + i * BLK, BLK);
		submit(&d, &rqs[i].req);
	}
	/* Even the sync engine's completions wait for the release. */
	CHECK(d.inflight > 0);
	CHECK_EQ(done.n, 0);
	collect(&d);
	CHECK_EQ(done.n, NREQ);
	wr_reorder = reordered();

	/*
	 * Make it durable, then drop it from the page cache, so the reads
	 * really go to the device and the async engines show what they do
	 * with slow requests (from the cache io_uring completes inline).
	 */
	rq_plain(&rqs[0], DISK_FLUSH, 0, 0);
	submit(&d, &rqs[0].req);
	collect(&d);
	CHECK_EQ(rqs[0].req.result, 0);
	CHECK(posix_fadvise(d.fd, 0, 0, POSIX_FADV_DONTNEED) == 0);

	memset(bufs, 0, NREQ * BLK);
	done.n = 0;
	for (unsigned int i = 0; i < NREQ; i++) {
		rq_init(&rqs[i], DISK_READ, ((i * 73) % NREQ) * 2 * BLK,
			bufs + i * BLK, BLK);
		submit(&d, &rqs[i].req);
	}
	collect(&d);
	CHECK_EQ(done.n, NREQ);
	rd_reorder = reordered();
	for (unsigned int i = 0; i < NREQ; i++) {
		CHECK_EQ(rqs[i].req.result, BLK);
		CHECK_EQ(rqs[i].req.id, NREQ + 1 + i);
		CHECK(matches(bufs + i * BLK, BLK, rqs[i].req.offset, i + 1000));
	}
	printf("  %s: %d requests in flight; out of submission order: %u writes, %u reads\n",
	       disk__engine_name(&d), NREQ, wr_reorder, rd_reorder);
	if (engine == DISK_ENGINE_SYNC)
		CHECK_EQ(wr_reorder + rd_reorder, 0);
	disk__close(&d);
	free(bufs);
	free(rqs);
}

static void test_flush(void)
{
	const char *path = tpath("flush.img");
	u8 buf[BLK];
	struct rq w, f;
	struct disk d;

	make_image(path, 1 * MiB);
	CHECK_EQ(open_disk(&d, path, false), 0);
	fill(buf, sizeof(buf), 0, 7);
	done.n = 0;
	rq_init(&w, DISK_WRITE, 0, buf, sizeof(buf));
	submit(&d, &w.req);
	collect(&d);
	rq_plain(&f, DISK_FLUSH, 0, 0);
	submit(&d, &f.req);
	collect(&d);
	CHECK_EQ(done.n, 2);
	CHECK_EQ(w.req.result, sizeof(buf));
	CHECK_EQ(f.req.result, 0);
	disk__close(&d);
}

static bool punch_hole_works(void)
{
	const char *path = tpath("probe.img");
	int fd, ret;

	make_image(path, 64 * KiB);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			4096);
	close(fd);
	unlink(path);
	return ret == 0;
}

/* Fill the image with a pattern, run op on a range, check the result. */
static void zero_range_test(enum disk_op op, u64 off, u64 len, bool content)
{
	const u64 size = 1 * MiB;
	const char *path = tpath("zero.img");
	u8 *buf = malloc(size);
	struct rq w, z, r;
	struct disk d;

	make_image(path, size);
	CHECK_EQ(open_disk(&d, path, false), 0);
	fill(buf, size, 0, 3);
	done.n = 0;
	rq_init(&w, DISK_WRITE, 0, buf, size);
	submit(&d, &w.req);
	collect(&d);
	CHECK_EQ(w.req.result, size);

	rq_plain(&z, op, off, len);
	submit(&d, &z.req);
	collect(&d);
	CHECK_EQ(z.req.result, 0);

	memset(buf, 0xee, size);
	rq_init(&r, DISK_READ, 0, buf, size);
	submit(&d, &r.req);
	collect(&d);
	CHECK_EQ(r.req.result, size);
	CHECK(matches(buf, off, 0, 3));
	CHECK(matches(buf + off + len, size - off - len, off + len, 3));
	if (content)
		CHECK(all_zero(buf + off, len));
	disk__close(&d);
	free(buf);
}

static void test_discard(void)
{
	bool holes = punch_hole_works();

	if (!holes) {
		printf("SKIP: the filesystem of %s cannot punch holes, so discard can only be checked to succeed (set TMPDIR to ext4, xfs or tmpfs)\n",
		       tmpdir);
		skipped = true;
	}
	zero_range_test(DISK_DISCARD, 128 * KiB, 64 * KiB, holes);
}

static void test_write_zeroes(void)
{
	/* Sector- but not block-aligned: partial blocks are zeroed too. */
	zero_range_test(DISK_WRITE_ZEROES, 4 * KiB + 512, 8 * KiB + 1024,
			true);
}

/*
 * A real error from the host's write path, without root or a special
 * filesystem: past RLIMIT_FSIZE, write(2) fails with EFBIG (SIGXFSZ
 * ignored), even inside the file.  The failing request gets -EFBIG; the
 * others in the same batch succeed.  io_uring's workers are threads of
 * this process and share the limit.
 */
static void test_host_error(void)
{
	const char *path = tpath("efbig.img");
	struct rlimit old, lim;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_sa;
	u8 a[BLK], b[BLK], c[BLK];
	struct rq bad, good, rd;
	struct disk d;

	make_image(path, 2 * MiB);
	CHECK_EQ(open_disk(&d, path, false), 0);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 1 * MiB;
	sigaction(SIGXFSZ, &ign, &old_sa);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);

	fill(a, sizeof(a), 0, 1);
	fill(b, sizeof(b), 0, 2);
	memset(c, 0xee, sizeof(c));
	done.n = 0;
	rq_init(&bad, DISK_WRITE, 1 * MiB + 64 * KiB, a, sizeof(a));
	rq_init(&good, DISK_WRITE, 0, b, sizeof(b));
	rq_init(&rd, DISK_READ, 1 * MiB + 64 * KiB, c, sizeof(c));
	submit(&d, &bad.req);
	submit(&d, &good.req);
	submit(&d, &rd.req);
	collect(&d);

	setrlimit(RLIMIT_FSIZE, &old);
	sigaction(SIGXFSZ, &old_sa, NULL);
	CHECK_EQ(done.n, 3);
	CHECK_EQ(bad.req.result, (u64)(s64)-EFBIG);
	CHECK_EQ(good.req.result, sizeof(b));
	CHECK_EQ(rd.req.result, sizeof(c));
	CHECK(all_zero(c, sizeof(c)));
	disk__close(&d);
}

/*
 * The VM's exit path: requests in flight and nobody popping for a while.
 * Every completion is posted without blocking (the disk's quota covers
 * what it has in flight), none reaches the device before its release,
 * and releasing them then accounts for every one.
 */
static void test_exit_drain(void)
{
	const unsigned int n = 100;
	struct rq *rqs = calloc(n, sizeof(*rqs));
	u8 *bufs = malloc(n * BLK);
	const char *path = tpath("drain.img");
	u64 deadline = util__host_ns() + 20 * NSEC_PER_SEC;
	struct event ev;
	struct disk d;

	make_image(path, n * BLK);
	CHECK_EQ(open_disk(&d, path, false), 0);
	done.n = 0;
	for (unsigned int i = 0; i < n; i++) {
		fill(bufs + i * BLK, BLK, i * BLK, 5);
		rq_init(&rqs[i], DISK_WRITE, i * BLK, bufs + i * BLK, BLK);
		submit(&d, &rqs[i].req);
	}
	while (evq__count(&evq) < n && util__host_ns() < deadline)
		evq__wait(&evq, 10 * 1000 * 1000);
	CHECK_EQ(evq__count(&evq), n);
	CHECK_EQ(done.n, 0);
	CHECK_EQ(d.inflight, n);
	while (evq__pop(&evq, &ev))
		evq__release(&ev);
	CHECK_EQ(d.inflight, 0);
	CHECK_EQ(done.n, n);
	for (unsigned int i = 0; i < n; i++)
		CHECK_EQ(rqs[i].req.result, BLK);
	disk__close(&d);
	free(bufs);
	free(rqs);
}

/*
 * A device reset with requests in flight: disk__forget_all() returns once
 * the host is done with every one (so their memory may be reused), their
 * completions are dropped at release, what reported success is on disk,
 * and the disk takes new requests at once.
 */
static void test_forget_all(void)
{
	const unsigned int n = 100;
	struct rq *rqs = calloc(n, sizeof(*rqs));
	u8 *bufs = malloc(n * BLK), *check = malloc(BLK);
	const char *path = tpath("close.img");
	unsigned int ok = 0;
	struct event ev;
	struct disk d;
	struct rq r;
	int fd;

	make_image(path, n * BLK);
	CHECK_EQ(open_disk(&d, path, false), 0);
	done.n = 0;
	for (unsigned int i = 0; i < n; i++) {
		fill(bufs + i * BLK, BLK, i * BLK, 99);
		rq_init(&rqs[i], DISK_WRITE, i * BLK, bufs + i * BLK, BLK);
		submit(&d, &rqs[i].req);
	}
	disk__forget_all(&d);
	CHECK_EQ(evq__count(&evq), n);	/* all posted: the host is done */
	/* A request after the reset is answered; the old ones are not. */
	rq_init(&r, DISK_READ, 0, check, BLK);
	submit(&d, &r.req);
	while (evq__count(&evq) > 1 || d.inflight > 1) {
		CHECK(evq__pop(&evq, &ev));
		evq__release(&ev);
	}
	collect(&d);
	CHECK_EQ(done.n, 1);
	CHECK_EQ(done.ids[0], r.req.id);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	for (unsigned int i = 0; i < n; i++) {
		s64 res = rqs[i].req.result;

		CHECK(res == BLK || (engine == DISK_ENGINE_THREADS &&
				     res == -ECANCELED));
		if (res != BLK)
			continue;
		ok++;
		CHECK_EQ(pread(fd, check, BLK, (off_t)(i * BLK)), BLK);
		CHECK(matches(check, BLK, i * BLK, 99));
	}
	close(fd);
	printf("  %s: reset with %u in flight: %u completed, %u cancelled\n",
	       disk__engine_name(&d), n, ok, n - ok);
	disk__close(&d);
	free(check);
	free(bufs);
	free(rqs);
}

/* At most DISK_MAX_INFLIGHT requests: the next is refused, not queued. */
static void test_inflight_bound(void)
{
	struct rq *rqs = calloc(DISK_MAX_INFLIGHT + 1, sizeof(*rqs));
	const char *path = tpath("bound.img");
	struct disk d;
	u8 buf[512];

	make_image(path, 64 * KiB);
	CHECK_EQ(open_disk(&d, path, false), 0);
	done.n = 0;
	for (unsigned int i = 0; i < DISK_MAX_INFLIGHT; i++) {
		rq_init(&rqs[i], DISK_READ, 0, buf, sizeof(buf));
		submit(&d, &rqs[i].req);
	}
	rq_init(&rqs[DISK_MAX_INFLIGHT], DISK_READ, 0, buf, sizeof(buf));
	CHECK_EQ(disk__submit(&d, &rqs[DISK_MAX_INFLIGHT].req),
		 (u64)(s64)-EBUSY);
	collect(&d);
	CHECK_EQ(done.n, DISK_MAX_INFLIGHT);
	disk__close(&d);
	free(rqs);
}

/* ---- Engine-independent tests ---- */

static void test_parse_engine(void)
{
	enum disk_engine_kind k;

	CHECK_EQ(disk__parse_engine("auto", &k), 0);
	CHECK_EQ(k, DISK_ENGINE_AUTO);
	CHECK_EQ(disk__parse_engine("sync", &k), 0);
	CHECK_EQ(k, DISK_ENGINE_SYNC);
	CHECK_EQ(disk__parse_engine("uring", &k), 0);
	CHECK_EQ(k, DISK_ENGINE_URING);
	CHECK_EQ(disk__parse_engine("threads", &k), 0);
	CHECK_EQ(k, DISK_ENGINE_THREADS);
	CHECK_EQ(disk__parse_engine("aio", &k), (u64)(s64)-EINVAL);
	CHECK_EQ(disk__parse_engine("", &k), (u64)(s64)-EINVAL);
}

static void expect_open_error(const char *path, bool ro, int err,
			      const char *words)
{
	struct disk d;
	const char *msg;
	int ret;

	capture_begin();
	ret = disk__open(&d, path, ro, DISK_ENGINE_SYNC, &evq);
	msg = capture_end();
	CHECK_EQ(ret, (u64)(s64)-err);
	if (ret == 0)
		disk__close(&d);
	/* One message that names the file and says what is wrong. */
	if (!strstr(msg, path) || !strstr(msg, words) ||
	    strchr(msg, '\n') != strrchr(msg, '\n')) {
		fprintf(stderr, "unexpected message for %s: %s", path, msg);
		CHECK(0);
	}
}

static void test_open_errors(void)
{
	char dir[512];
	int fd;

	snprintf(dir, sizeof(dir), "%s", tpath("adir"));
	mkdir(dir, 0755);
	expect_open_error(tpath("missing.img"), false, ENOENT, "no such file");
	expect_open_error(tpath("missing.img"), true, ENOENT, "no such file");
	expect_open_error(dir, false, EISDIR, "is a directory");
	expect_open_error(dir, true, EISDIR, "is a directory");
	make_image(tpath("empty.img"), 0);
	expect_open_error(tpath("empty.img"), false, EINVAL, "is empty");
	make_image(tpath("odd.img"), 1000);
	expect_open_error(tpath("odd.img"), true, EINVAL,
			  "not a multiple of 512");
	expect_open_error("/dev/null", false, EINVAL,
			  "neither a regular file nor a block device");

	/* Unreadable: only meaningful when not root. */
	make_image(tpath("noperm.img"), 64 * KiB);
	chmod(tpath("noperm.img"), 0);
	fd = open(tpath("noperm.img"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		expect_open_error(tpath("noperm.img"), true, EACCES,
				  "permission denied");
	else
		close(fd);
	rmdir(dir);
}

static void test_read_only(void)
{
	const char *path = tpath("ro.img");
	u8 buf[BLK];
	struct rq r;
	struct disk d;
	static const enum disk_op writes[] = {
		DISK_WRITE, DISK_DISCARD, DISK_WRITE_ZEROES,
	};

	make_image(path, 64 * KiB);
	chmod(path, 0444);	/* a read-only open must not need write access */
	CHECK_EQ(disk__open(&d, path, true, DISK_ENGINE_AUTO, &evq), 0);
	d.on_complete = on_complete;
	d.on_complete_ctx = &done;
	CHECK(d.ro);
	for (size_t i = 0; i < ARRAY_SIZE(writes); i++) {
		rq_init(&r, writes[i], 0, buf, sizeof(buf));
		if (writes[i] != DISK_WRITE)
			rq_plain(&r, writes[i], 0, sizeof(buf));
		done.n = 0;
		submit(&d, &r.req);
		collect(&d);
		CHECK_EQ(done.n, 1);
		CHECK_EQ(r.req.result, (u64)(s64)-EROFS);
		/* And on the shared synchronous path. */
		CHECK_EQ(disk__execute(&d, &r.req), (u64)(s64)-EROFS);
	}
	done.n = 0;
	memset(buf, 0xee, sizeof(buf));
	rq_init(&r, DISK_READ, 0, buf, sizeof(buf));
	submit(&d, &r.req);
	collect(&d);
	CHECK_EQ(r.req.result, sizeof(buf));
	CHECK(all_zero(buf, sizeof(buf)));
	disk__close(&d);
}

static void expect_refused(struct disk *d, struct rq *r, int err)
{
	done.n = 0;
	submit(d, &r->req);
	CHECK_EQ(done.n, 0);	/* not answered inside the submission */
	collect(d);
	CHECK_EQ(done.n, 1);
	CHECK_EQ(r->req.result, (u64)(s64)err);
}

static void test_bad_requests(void)
{
	const char *path = tpath("bounds.img");
	struct stat st;
	u8 buf[BLK];
	struct rq r;
	struct disk d;

	make_image(path, 64 * KiB);
	CHECK_EQ(open_disk(&d, path, false), 0);
	/*
	 * Past the end, straddling it, overflowing u64, data without a
	 * buffer: refused, and answered through the queue like any other.
	 */
	rq_init(&r, DISK_READ, 64 * KiB, buf, sizeof(buf));
	expect_refused(&d, &r, -EINVAL);
	rq_init(&r, DISK_WRITE, 64 * KiB - 512, buf, sizeof(buf));
	expect_refused(&d, &r, -EINVAL);
	rq_plain(&r, DISK_DISCARD, UINT64_MAX - 511, 1024);
	expect_refused(&d, &r, -EINVAL);
	rq_init(&r, DISK_READ, 0, NULL, sizeof(buf));
	expect_refused(&d, &r, -EINVAL);
	CHECK_EQ(d.inflight, 0);
	CHECK_EQ(d.next_id, 4);	/* ids are given to refused requests too */
	disk__close(&d);

	/* The image did not grow. */
	CHECK(stat(path, &st) == 0 && st.st_size == 64 * KiB);
}

static void test_lock(void)
{
	const char *path = tpath("lock.img");
	struct disk a, b, c;
	const char *msg;

	make_image(path, 64 * KiB);
	CHECK_EQ(disk__open(&a, path, false, DISK_ENGINE_SYNC, &evq), 0);

	capture_begin();
	CHECK_EQ(disk__open(&b, path, false, DISK_ENGINE_SYNC, &evq),
		 (u64)(s64)-EBUSY);
	msg = capture_end();
	CHECK(strstr(msg, path) && strstr(msg,
		"is in use by another process (locked)"));
	capture_begin();
	CHECK_EQ(disk__open(&b, path, true, DISK_ENGINE_SYNC, &evq),
		 (u64)(s64)-EBUSY);
	msg = capture_end();
	CHECK(strstr(msg, "in use by another process"));
	disk__close(&a);

	/* Readers share; a writer is kept out while they are there. */
	CHECK_EQ(disk__open(&b, path, true, DISK_ENGINE_SYNC, &evq), 0);
	CHECK_EQ(disk__open(&c, path, true, DISK_ENGINE_SYNC, &evq), 0);
	capture_begin();
	CHECK_EQ(disk__open(&a, path, false, DISK_ENGINE_SYNC, &evq),
		 (u64)(s64)-EBUSY);
	capture_end();
	disk__close(&b);
	disk__close(&c);
	CHECK_EQ(disk__open(&a, path, false, DISK_ENGINE_SYNC, &evq), 0);
	disk__close(&a);
}

/*
 * In a child with a seccomp filter that makes io_uring_setup fail, as
 * container runtimes do: auto falls back to the thread pool and says why,
 * an explicit uring engine is a clear error.
 */
static int child_without_uring(int err)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_ERRNO | ((u32)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { ARRAY_SIZE(filter), filter };
	const char *path = tpath("fallback.img");
	const char *msg;
	struct disk d;
	int ret;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 77;
	capture_begin();
	ret = disk__open(&d, path, false, DISK_ENGINE_AUTO, &evq);
	msg = capture_end();
	if (ret || strcmp(disk__engine_name(&d), "threads") ||
	    !strstr(msg, "io_uring unavailable") ||
	    !strstr(msg, err == ENOSYS ? "not implemented" : "not permitted"))
		return 1;
	disk__close(&d);
	capture_begin();
	ret = disk__open(&d, path, false, DISK_ENGINE_URING, &evq);
	msg = capture_end();
	if (ret != -err || !strstr(msg, "engine=threads"))
		return 2;
	return 0;
}

static void test_auto_fallback(void)
{
	static const int errs[] = { ENOSYS, EPERM };

	make_image(tpath("fallback.img"), 64 * KiB);
	for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
		int status = 0;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			int ret = child_without_uring(errs[i]);

			evq__exit(&evq);	/* for valgrind's leak check */
			_exit(ret);
		}
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status));
		if (WEXITSTATUS(status) == 77) {
			printf("SKIP: cannot install a seccomp filter here, so the fallback from io_uring was not tested\n");
			skipped = true;
		} else
			CHECK_EQ(WEXITSTATUS(status), 0);
	}
}

static bool uring_available(void)
{
	char params[120];	/* struct io_uring_params */
	int fd;

	memset(params, 0, sizeof(params));
	fd = (int)syscall(__NR_io_uring_setup, 1, params);
	if (fd < 0) {
		printf("SKIP: io_uring is not available here (io_uring_setup: %s), so the uring engine was not tested\n",
		       strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static void cleanup(void)
{
	static const char *const files[] = {
		"patterns.img", "many.img", "flush.img", "zero.img",
		"efbig.img", "drain.img", "close.img", "bound.img", "empty.img", "odd.img",
		"noperm.img", "ro.img", "bounds.img", "lock.img",
		"fallback.img", "stderr.txt",
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(tpath(files[i]));
	rmdir(tmpdir);
}

static void run_engine(enum disk_engine_kind e)
{
	engine = e;
	printf("engine %s\n", e == DISK_ENGINE_SYNC ? "sync" :
	       e == DISK_ENGINE_URING ? "uring" : "threads");
	RUN(test_patterns);
	RUN(test_many_in_flight);
	RUN(test_flush);
	RUN(test_write_zeroes);
	RUN(test_host_error);
	RUN(test_exit_drain);
	RUN(test_forget_all);
	RUN(test_inflight_bound);
}

static void run_discard(void)
{
	static const enum disk_engine_kind all[] = {
		DISK_ENGINE_SYNC, DISK_ENGINE_URING, DISK_ENGINE_THREADS,
	};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		engine = all[i];
		if (engine == DISK_ENGINE_URING && !uring_available())
			continue;
		RUN(test_discard);
	}
}

/*
 * usage: test_disk GROUP: "common" (engine-independent), "sync",
 * "threads", "uring" (skips without io_uring), "discard" (every engine;
 * skips where the filesystem cannot punch holes).  Each group is its own
 * ctest, so that what could not be checked shows up as a skip.
 */
int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	const char *group = argc > 1 ? argv[1] : "";

	snprintf(tmpdir, sizeof(tmpdir), "%s/microvm-test-disk-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.txt", tmpdir);
	/* Each disk brings its own room for completions. */
	if (evq__init(&evq))
		return 1;

	if (!strcmp(group, "common")) {
		RUN(test_parse_engine);
		RUN(test_open_errors);
		RUN(test_read_only);
		RUN(test_bad_requests);
		RUN(test_lock);
		RUN(test_auto_fallback);
	} else if (!strcmp(group, "sync")) {
		run_engine(DISK_ENGINE_SYNC);
	} else if (!strcmp(group, "threads")) {
		run_engine(DISK_ENGINE_THREADS);
	} else if (!strcmp(group, "uring")) {
		if (uring_available())
			run_engine(DISK_ENGINE_URING);
		else
			skipped = true;
	} else if (!strcmp(group, "discard")) {
		run_discard();
	} else {
		fprintf(stderr, "usage: %s common|sync|threads|uring|discard\n",
			argv[0]);
		return 2;
	}

	evq__exit(&evq);
	cleanup();
	if (check_summary())
		return 1;
	return skipped ? 77 : 0;
}
