// SPDX-License-Identifier: Apache-2.0
/*
 * The io_uring engine.  The vCPU thread fills a submission entry and
 * enters the kernel for each request; a reaper thread sleeps until the
 * completion ring fills, turns each completion into req->result and
 * posts EV_BLK_DONE, so the device acts on it only when the vCPU loop says
 * (DESIGN.md: the one door).  Many requests are in flight at once and the
 * kernel completes them in whatever order the I/O finishes.
 *
 * Raw system calls rather than liburing: the interface is three syscalls
 * and two shared rings, which is little code to own; it adds no build or
 * run-time dependency; and it works in the static musl build, where
 * Debian's liburing.a (built against glibc) cannot be linked.
 *
 * Threads and rings:
 *  - SQ: written only by the vCPU thread (submit, exit), which is the only
 *    thread that enters the kernel with to_submit > 0.  No SQPOLL, so the
 *    kernel reads the SQ only inside our io_uring_enter() calls.
 *  - CQ: read only by the reaper, which never enters the ring.
 *  - Head/tail indices shared with the kernel use acquire loads of the
 *    other side's index and release stores of our own, so an entry's
 *    contents are visible before the index that publishes it.
 *
 * The in-flight count is capped at the SQ size (<= half the CQ), so the
 * CQ can never overflow; a request beyond the cap, or one the ring cannot
 * take, is executed synchronously instead: it is never refused or lost.
 */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define URING_DEPTH 256		/* SQ entries; the kernel makes the CQ 2x */
#define URING_BATCH 32		/* CQEs copied out per pass of the reaper */
/* user_data of the NOP that stops the reaper; requests are never NULL. */
#define URING_STOP 0ULL

struct disk_uring {
	struct disk *disk;
	int fd;

	/* Submission ring (vCPU thread). */
	void *sq_map;
	size_t sq_map_len;
	unsigned int *sq_head, *sq_tail, *sq_array;
	unsigned int sq_mask, sq_entries;
	struct io_uring_sqe *sqes;
	size_t sqes_len;

	/* Completion ring (reaper). */
	void *cq_map;		/* == sq_map with IORING_FEAT_SINGLE_MMAP */
	size_t cq_map_len;
	unsigned int *cq_head, *cq_tail, cq_mask;
	struct io_uring_cqe *cqes;

	bool has_fallocate;	/* IORING_OP_FALLOCATE, Linux 5.6 */

	pthread_t reaper;
	bool reaper_started;
	pthread_mutex_t lock;
	pthread_cond_t progress;	/* reaped advanced */
	u64 submitted;		/* vCPU thread only */
	u64 handoff;		/* see uring_push() */
	u64 reaped;		/* completed and posted; under lock, read atomically */
};

static int sys_io_uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_io_uring_enter(int fd, unsigned int to_submit,
			      unsigned int min_complete, unsigned int flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete,
			    flags, NULL, 0);
}

static int sys_io_uring_register(int fd, unsigned int opcode, void *arg,
				 unsigned int nr_args)
{
	return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

/*
 * Queue one SQE and have the kernel consume it.  vCPU thread only.
 * Returns 0 once the kernel owns the request (a CQE will follow), or
 * -errno with the ring as it was (the request was not taken).
 */
static int uring_push(struct disk_uring *u, const struct io_uring_sqe *sqe)
{
	unsigned int tail = *u->sq_tail;	/* only we write it */
	unsigned int head = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	unsigned int idx;
	int ret;

	if (tail - head >= u->sq_entries)
		return -EBUSY;
	idx = tail & u->sq_mask;
	u->sqes[idx] = *sqe;
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	/*
	 * The request reaches the reaper through the kernel, which orders
	 * our writes to it before its CQE; ThreadSanitizer cannot see that,
	 * so pair a release here with the reaper's acquire (free on x86).
	 */
	__atomic_fetch_add(&u->handoff, 1, __ATOMIC_RELEASE);

	do {
		ret = sys_io_uring_enter(u->fd, 1, 0, 0);
	} while (ret < 0 && errno == EINTR);
	if (ret == 1)
		return 0;
	ret = ret < 0 ? -errno : -EAGAIN;
	/*
	 * Not consumed (EAGAIN: no memory for the request; EBUSY: CQ
	 * backlog).  The kernel reads the SQ only inside io_uring_enter(),
	 * so taking the entry back is safe.
	 */
	if (__atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE) == tail) {
		__atomic_store_n(u->sq_tail, tail, __ATOMIC_RELEASE);
		return ret;
	}
	return 0;	/* consumed after all: its CQE will come */
}

static void uring_prep(struct io_uring_sqe *sqe, const struct disk *d,
		       const struct disk_req *req)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->fd = d->fd;
	sqe->user_data = (u64)(uintptr_t)req;
	switch (req->op) {
	case DISK_READ:
	case DISK_WRITE:
		sqe->opcode = req->op == DISK_READ ? IORING_OP_READV :
						     IORING_OP_WRITEV;
		sqe->addr = (u64)(uintptr_t)req->iov;
		sqe->len = req->iovcnt;
		sqe->off = req->offset;
		break;
	case DISK_FLUSH:
		sqe->opcode = IORING_OP_FSYNC;
		sqe->fsync_flags = IORING_FSYNC_DATASYNC;
		break;
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		/* fallocate's arguments, as io_uring packs them. */
		sqe->opcode = IORING_OP_FALLOCATE;
		sqe->off = req->offset;
		sqe->addr = req->len;
		sqe->len = FALLOC_FL_KEEP_SIZE |
			   (req->op == DISK_DISCARD ? FALLOC_FL_PUNCH_HOLE :
						      DISK_FALLOC_ZERO_RANGE);
		break;
	}
}

static int disk_uring_submit(struct disk *d, struct disk_req *req)
{
	struct disk_uring *u = d->engine;
	struct io_uring_sqe sqe;
	u64 reaped = __atomic_load_n(&u->reaped, __ATOMIC_ACQUIRE);

	if ((req->op == DISK_DISCARD || req->op == DISK_WRITE_ZEROES) &&
	    !u->has_fallocate)
		goto sync;
	if (u->submitted - reaped >= u->sq_entries)
		goto sync;
	uring_prep(&sqe, d, req);
	if (uring_push(u, &sqe))
		goto sync;
	u->submitted++;
	return DISK_SUBMITTED;

sync:
	/*
	 * Correct but blocking: only with a full ring (more in flight than
	 * a virtqueue holds), a transient kernel refusal, or an op this
	 * kernel's io_uring lacks.
	 */
	disk__execute(d, req);
	return DISK_EXECUTED;
}

/*
 * Results that mean the kernel did not do the request at all, rather than
 * that the I/O failed.  -ECANCELED: microvm never cancels a request, but
 * io_uring does when io-wq cannot start a worker for it; on Linux 6.1 that
 * happens when the submitting thread (the vCPU's, which the timer and the
 * kicks signal) has a signal pending as the worker is forked (measured in
 * the nested tier: the first write of a run came back -ECANCELED in 2 of
 * 12 runs of guest/blk-stress).
 */
static bool uring_not_done(s32 res)
{
	return res == -EAGAIN || res == -EINTR || res == -ECANCELED;
}

/*
 * Reaper: turn a CQE into the request's result.  Rare cases are finished
 * synchronously here rather than resubmitted, which keeps the SQ
 * single-writer: a short transfer (regular files give one only at EOF,
 * which the bounds check rules out, or when interrupted), a request the
 * kernel did not do (uring_not_done), and fallocate modes the filesystem
 * lacks (disk__execute has the fallbacks, and treats discard as advisory).
 */
static void uring_complete(struct disk_uring *u, struct disk_req *req, s32 res)
{
	struct disk *d = u->disk;

	switch (req->op) {
	case DISK_READ:
	case DISK_WRITE:
		if (uring_not_done(res))
			res = 0;
		if (res >= 0 && (u64)res < req->len)
			req->result = disk__rw_from(d, req, (u64)res);
		else
			req->result = res;
		break;
	case DISK_FLUSH:
		if (uring_not_done(res))
			disk__execute(d, req);
		else
			req->result = res;
		break;
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		if (res == -EOPNOTSUPP || res == -EINVAL || res == -ENOSYS ||
		    uring_not_done(res))
			disk__execute(d, req);
		else
			req->result = res;
		break;
	}
}

static void *uring_reaper(void *arg)
{
	struct disk_uring *u = arg;
	bool stop = false;

	while (!stop) {
		struct io_uring_cqe batch[URING_BATCH];
		unsigned int head = *u->cq_head;	/* only we write it */
		unsigned int tail = __atomic_load_n(u->cq_tail,
						    __ATOMIC_ACQUIRE);
		unsigned int n = 0, posted = 0;

		if (head == tail) {
			struct pollfd pfd = { .fd = u->fd, .events = POLLIN };

			/*
			 * poll() on the ring fd wakes exactly when the CQ is
			 * not empty, like io_uring_enter(GETEVENTS) would,
			 * but is a blocking call every tool understands
			 * (valgrind deadlocks on a thread blocked in
			 * io_uring_enter).
			 */
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR &&
			    errno != EAGAIN && errno != ENOMEM) {
				/* A bug (bad fd), not an I/O error. */
				pr_err("disk %s: poll on io_uring: %s",
				       u->disk->path, strerror(errno));
				abort();
			}
			continue;
		}
		/* Copy out, then hand the slots back before the slow part. */
		while (head != tail && n < URING_BATCH)
			batch[n++] = u->cqes[head++ & u->cq_mask];
		__atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
		(void)__atomic_load_n(&u->handoff, __ATOMIC_ACQUIRE);

		for (unsigned int i = 0; i < n; i++) {
			struct disk_req *req;

			if (batch[i].user_data == URING_STOP) {
				stop = true;
				continue;
			}
			req = (struct disk_req *)(uintptr_t)batch[i].user_data;
			uring_complete(u, req, batch[i].res);
			disk__post_done(req);
			posted++;
		}
		if (posted) {
			pthread_mutex_lock(&u->lock);
			__atomic_store_n(&u->reaped, u->reaped + posted,
					 __ATOMIC_RELEASE);
			pthread_cond_broadcast(&u->progress);
			pthread_mutex_unlock(&u->lock);
		}
	}
	return NULL;
}

/*
 * Wait for every request to complete and be posted.  cancel is not acted
 * on: IORING_OP_ASYNC_CANCEL can only catch requests io-wq has not started
 * (a running buffered read or write is not interruptible), so exit still
 * waits for the rest, and disk I/O finishes in bounded time anyway.  Fewer
 * moving parts beat saving a few milliseconds at exit.
 */
static void disk_uring_drain(struct disk *d, bool cancel __maybe_unused)
{
	struct disk_uring *u = d->engine;

	pthread_mutex_lock(&u->lock);
	while (u->reaped != u->submitted)
		pthread_cond_wait(&u->progress, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

static void uring_stop_reaper(struct disk_uring *u)
{
	struct io_uring_sqe sqe;

	if (!u->reaper_started)
		return;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_NOP;
	sqe.user_data = URING_STOP;
	/* Only transient refusals are possible here; the ring is idle. */
	while (uring_push(u, &sqe)) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	pthread_join(u->reaper, NULL);
	u->reaper_started = false;
}

static void uring_free(struct disk_uring *u)
{
	if (u->sqes)
		munmap(u->sqes, u->sqes_len);
	if (u->cq_map && u->cq_map != u->sq_map)
		munmap(u->cq_map, u->cq_map_len);
	if (u->sq_map)
		munmap(u->sq_map, u->sq_map_len);
	if (u->fd >= 0)
		close(u->fd);
	pthread_cond_destroy(&u->progress);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static void *uring_mmap(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static int uring_map(struct disk_uring *u, const struct io_uring_params *p)
{
	char *sq, *cq;

	u->sq_map_len = p->sq_off.array + p->sq_entries * sizeof(unsigned int);
	u->cq_map_len = p->cq_off.cqes +
			p->cq_entries * sizeof(struct io_uring_cqe);
	/* Since 5.4 both rings live in one mapping. */
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		u->sq_map_len = u->cq_map_len =
			MAX(u->sq_map_len, u->cq_map_len);

	u->sq_map = uring_mmap(u->fd, u->sq_map_len, IORING_OFF_SQ_RING);
	if (!u->sq_map)
		return -errno;
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		u->cq_map = u->sq_map;
	else
		u->cq_map = uring_mmap(u->fd, u->cq_map_len,
				       IORING_OFF_CQ_RING);
	if (!u->cq_map)
		return -errno;
	u->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = uring_mmap(u->fd, u->sqes_len, IORING_OFF_SQES);
	if (!u->sqes)
		return -errno;

	sq = u->sq_map;
	u->sq_head = (void *)(sq + p->sq_off.head);
	u->sq_tail = (void *)(sq + p->sq_off.tail);
	u->sq_array = (void *)(sq + p->sq_off.array);
	u->sq_mask = *(unsigned int *)(void *)(sq + p->sq_off.ring_mask);
	u->sq_entries = p->sq_entries;
	cq = u->cq_map;
	u->cq_head = (void *)(cq + p->cq_off.head);
	u->cq_tail = (void *)(cq + p->cq_off.tail);
	u->cq_mask = *(unsigned int *)(void *)(cq + p->cq_off.ring_mask);
	u->cqes = (void *)(cq + p->cq_off.cqes);
	return 0;
}

/* IORING_REGISTER_PROBE is 5.6+, like FALLOCATE: failure means "no". */
static bool uring_supports(struct disk_uring *u, unsigned int op)
{
	const unsigned int nr = 256;
	struct io_uring_probe *probe;
	bool ok = false;

	probe = calloc(1, sizeof(*probe) + nr * sizeof(probe->ops[0]));
	if (!probe)
		return false;
	if (sys_io_uring_register(u->fd, IORING_REGISTER_PROBE, probe, nr) == 0
	    && op <= probe->last_op)
		ok = probe->ops[op].flags & IO_URING_OP_SUPPORTED;
	free(probe);
	return ok;
}

static int disk_uring_init(struct disk *d)
{
	struct io_uring_params p;
	struct disk_uring *u;
	sigset_t all, old;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->disk = d;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->progress, NULL);

	memset(&p, 0, sizeof(p));
	u->fd = sys_io_uring_setup(URING_DEPTH, &p);	/* O_CLOEXEC already */
	if (u->fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = uring_map(u, &p);
	if (ret)
		goto err;
	u->has_fallocate = uring_supports(u, IORING_OP_FALLOCATE);

	/* The reaper must never take SIGINT/SIGTERM or the vCPU kick. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&u->reaper, NULL, uring_reaper, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err;
	u->reaper_started = true;
	d->engine = u;
	pr_debug("disk %s: io_uring, %u entries, fallocate %s", d->path,
		 u->sq_entries, u->has_fallocate ? "async" : "synchronous");
	return 0;

err:
	uring_free(u);
	return ret;
}

static void disk_uring_exit(struct disk *d)
{
	struct disk_uring *u = d->engine;

	if (!u)
		return;
	disk_uring_drain(d, false);
	uring_stop_reaper(u);
	uring_free(u);
	d->engine = NULL;
}

const struct disk_engine_ops disk_uring_ops = {
	.name = "uring",
	.init = disk_uring_init,
	.submit = disk_uring_submit,
	.drain = disk_uring_drain,
	.exit = disk_uring_exit,
};
