// SPDX-License-Identifier: Apache-2.0
/*
 * The io_uring engine, on liburing.
 *
 * One ring thread per disk owns the ring: it creates it, submits every
 * request and reaps every completion.  The vCPU thread only hands
 * requests over (a short locked queue and, when the ring thread may be
 * asleep, one eventfd write) and never enters io_uring itself.
 *
 * Why a thread of its own (measured on Debian 12's Linux 6.1 in the
 * nested tier): io_uring's worker threads (io-wq) belong to the task that
 * submitted, and are created by it, sometimes at once and sometimes later
 * through task work.  Creating one fails with -ERESTARTNOINTR while that
 * task has a signal pending, and after a few tries 6.1 cancels the queued
 * request: the guest saw -ECANCELED as an I/O error.  The vCPU thread is
 * kicked with SIGUSR1 all the time; the ring thread blocks every signal,
 * so nothing can be pending there.  It also keeps io_uring's task work
 * (which interrupts KVM_RUN) off the vCPU thread.  A -ECANCELED, -EAGAIN
 * or -EINTR the VMM did not ask for is still redone, never reported.
 *
 * Requests carry host buffers only (blk/bounce.h); completions are posted
 * to the event queue and reach the guest when the vCPU loop releases
 * them.  In flight: at most DISK_MAX_INFLIGHT, so the completion ring
 * (twice the submission ring) never overflows.
 */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define URING_DEPTH DISK_MAX_INFLIGHT
/* user_data of the eventfd read that wakes the ring thread. */
#define URING_WAKE 1ULL
/* A request refused this often by the kernel runs synchronously. */
#define URING_MAX_TRIES 8

struct disk_uring {
	struct disk *disk;
	struct io_uring ring;
	bool has_fallocate;	/* IORING_OP_FALLOCATE, Linux 5.6 */
	int wake_fd;		/* eventfd: vCPU thread -> ring thread */

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* start-up done, or a completion posted */

	/* Under lock. */
	int init_ret;
	bool init_done;
	bool stop;
	bool wake_sent;		/* an eventfd write the thread has not seen */
	struct disk_req *handoff[DISK_MAX_INFLIGHT];
	unsigned int hand_head, nhand;
	u64 taken;		/* requests handed over */
	u64 posted;		/* their completions posted */
	u64 redone;		/* spurious -ECANCELED/-EAGAIN/-EINTR retried */

	/* Ring thread only. */
	struct disk_req *redo[DISK_MAX_INFLIGHT];
	unsigned int nredo;
	unsigned int inflight;
	bool wake_armed;
	u64 wake_buf;
};

/* ---- vCPU thread ---- */

static void disk_uring_submit(struct disk *d, struct disk_req *req)
{
	struct disk_uring *u = d->engine;
	bool wake;

	req->engine_tries = 0;
	pthread_mutex_lock(&u->lock);
	u->handoff[(u->hand_head + u->nhand) % DISK_MAX_INFLIGHT] = req;
	u->nhand++;
	u->taken++;
	wake = !u->wake_sent;
	u->wake_sent = true;
	pthread_mutex_unlock(&u->lock);
	if (wake) {
		u64 one = 1;

		/* Cannot fail short of a bug: the counter never saturates. */
		while (write(u->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

/*
 * Wait until every request handed over has been posted.  cancel is not
 * acted on: IORING_OP_ASYNC_CANCEL only catches requests io-wq has not
 * started, a running buffered read or write cannot be stopped, and a
 * cancellation we asked for would be indistinguishable from the spurious
 * ones the ring thread redoes.  Host I/O finishes in bounded time anyway.
 */
static void disk_uring_drain(struct disk *d, bool cancel __maybe_unused)
{
	struct disk_uring *u = d->engine;

	pthread_mutex_lock(&u->lock);
	while (u->posted != u->taken)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

/* ---- Ring thread ---- */

static void ring_prep(struct disk_uring *u, struct io_uring_sqe *sqe,
		      struct disk_req *req)
{
	int fd = u->disk->fd;

	switch (req->op) {
	case DISK_READ:
		io_uring_prep_readv(sqe, fd, &req->iov, 1, req->offset);
		break;
	case DISK_WRITE:
		io_uring_prep_writev(sqe, fd, &req->iov, 1, req->offset);
		break;
	case DISK_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_KEEP_SIZE |
					(req->op == DISK_DISCARD ?
						 FALLOC_FL_PUNCH_HOLE :
						 DISK_FALLOC_ZERO_RANGE),
					req->offset, req->len);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
}

static void ring_post(struct disk_uring *u, struct disk_req *req)
{
	disk__post_done(req);
	pthread_mutex_lock(&u->lock);
	u->posted++;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* Run a request here, synchronously: rare cases only (see callers). */
static void ring_execute(struct disk_uring *u, struct disk_req *req)
{
	disk__execute(u->disk, req);
	ring_post(u, req);
}

static struct io_uring_sqe *ring_sqe(struct disk_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		/* Full: hand what is queued to the kernel, then there is room. */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void ring_queue(struct disk_uring *u, struct disk_req *req)
{
	struct io_uring_sqe *sqe;

	if ((req->op == DISK_DISCARD || req->op == DISK_WRITE_ZEROES) &&
	    !u->has_fallocate) {
		ring_execute(u, req);	/* before Linux 5.6 */
		return;
	}
	sqe = ring_sqe(u);
	if (!sqe) {
		ring_execute(u, req);
		return;
	}
	ring_prep(u, sqe, req);
	u->inflight++;
}

static void ring_arm_wake(struct disk_uring *u)
{
	struct io_uring_sqe *sqe;

	if (u->wake_armed)
		return;
	sqe = ring_sqe(u);
	if (!sqe)
		return;	/* next round; completions still wake us */
	io_uring_prep_read(sqe, u->wake_fd, &u->wake_buf, sizeof(u->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, URING_WAKE);
	u->wake_armed = true;
}

/* Take what the vCPU thread handed over; returns whether to stop. */
static bool ring_take(struct disk_uring *u)
{
	struct disk_req *batch[DISK_MAX_INFLIGHT];
	unsigned int n = 0;
	bool stop;

	pthread_mutex_lock(&u->lock);
	while (u->nhand) {
		batch[n++] = u->handoff[u->hand_head];
		u->hand_head = (u->hand_head + 1) % DISK_MAX_INFLIGHT;
		u->nhand--;
	}
	u->wake_sent = false;
	stop = u->stop;
	pthread_mutex_unlock(&u->lock);
	for (unsigned int i = 0; i < n; i++)
		ring_queue(u, batch[i]);
	for (unsigned int i = 0; i < u->nredo; i++)
		ring_queue(u, u->redo[i]);
	u->nredo = 0;
	return stop;
}

/*
 * The kernel gave a request back without doing it (-ECANCELED from a
 * failed io-wq worker creation, -EAGAIN, -EINTR): do it again, and after
 * a few refusals do it here.  It is never the guest's error.
 */
static void ring_retry(struct disk_uring *u, struct disk_req *req)
{
	pthread_mutex_lock(&u->lock);
	u->redone++;
	pthread_mutex_unlock(&u->lock);
	if (++req->engine_tries >= URING_MAX_TRIES) {
		ring_execute(u, req);
		return;
	}
	u->redo[u->nredo++] = req;
}

static void ring_complete(struct disk_uring *u, struct disk_req *req, s32 res)
{
	u->inflight--;
	if (res == -ECANCELED || res == -EAGAIN || res == -EINTR) {
		ring_retry(u, req);
		return;
	}
	switch (req->op) {
	case DISK_READ:
	case DISK_WRITE:
		/* Short: only at EOF (ruled out by the bounds) or interrupted. */
		if (res >= 0 && (u64)res < req->len)
			req->result = disk__rw_from(u->disk, req, (u64)res);
		else
			req->result = res;
		break;
	case DISK_FLUSH:
		req->result = res;
		break;
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		/* disk__execute has the fallbacks for filesystems without. */
		if (res == -EOPNOTSUPP || res == -EINVAL || res == -ENOSYS) {
			ring_execute(u, req);
			return;
		}
		req->result = res;
		break;
	}
	ring_post(u, req);
}

static void ring_reap(struct disk_uring *u)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		n++;
		if (cqe->user_data == URING_WAKE)
			u->wake_armed = false;
		else
			ring_complete(u, io_uring_cqe_get_data(cqe), cqe->res);
	}
	io_uring_cq_advance(&u->ring, n);
}

static int ring_setup(struct disk_uring *u)
{
	struct io_uring_probe *probe;
	int ret = io_uring_queue_init(URING_DEPTH, &u->ring, 0);

	if (ret)
		return ret;
	probe = io_uring_get_probe_ring(&u->ring);
	u->has_fallocate = probe &&
			   io_uring_opcode_supported(probe, IORING_OP_FALLOCATE);
	io_uring_free_probe(probe);
	return 0;
}

static void *ring_thread(void *arg)
{
	struct disk_uring *u = arg;
	int ret = ring_setup(u);

	pthread_mutex_lock(&u->lock);
	u->init_ret = ret;
	u->init_done = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	if (ret)
		return NULL;

	for (;;) {
		if (ring_take(u) && !u->inflight)
			break;
		ring_arm_wake(u);
		ret = io_uring_submit_and_wait(&u->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			/* A bug (bad ring), not an I/O error: say so, carry on. */
			pr_err("disk %s: io_uring_submit_and_wait: %s",
			       u->disk->path, strerror(-ret));
		}
		ring_reap(u);
	}
	io_uring_queue_exit(&u->ring);
	return NULL;
}

/* ---- Set-up and tear-down (vCPU thread) ---- */

static void uring_free(struct disk_uring *u)
{
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static int disk_uring_init(struct disk *d)
{
	struct disk_uring *u;
	sigset_t all, old;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->disk = d;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (u->wake_fd < 0) {
		ret = -errno;
		goto err;
	}

	/* The ring thread takes no signal, ever: see the top of the file. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&u->thread, NULL, ring_thread, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto err;
	pthread_mutex_lock(&u->lock);
	while (!u->init_done)
		pthread_cond_wait(&u->cond, &u->lock);
	ret = u->init_ret;
	pthread_mutex_unlock(&u->lock);
	if (ret) {
		pthread_join(u->thread, NULL);
		goto err;
	}
	d->engine = u;
	pr_debug("disk %s: io_uring (liburing), %u entries, fallocate %s",
		 d->path, URING_DEPTH, u->has_fallocate ? "async" : "synchronous");
	return 0;

err:
	uring_free(u);
	return ret;
}

static void disk_uring_exit(struct disk *d)
{
	struct disk_uring *u = d->engine;
	u64 one = 1;

	if (!u)
		return;
	disk_uring_drain(d, false);
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_mutex_unlock(&u->lock);
	while (write(u->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(u->thread, NULL);
	if (u->redone)
		pr_debug("disk %s: %llu requests redone after a spurious refusal",
			 d->path, (unsigned long long)u->redone);
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
