// SPDX-License-Identifier: Apache-2.0
/*
 * The thread-pool engine, for hosts without a usable io_uring (old
 * kernels, seccomp profiles, kernel.io_uring_disabled): a few workers take
 * requests from a FIFO under one mutex, run them with the shared
 * synchronous path (disk__execute) and post the completion.  With several
 * workers, completions come back in any order, as with io_uring.  The
 * FIFO holds DISK_MAX_INFLIGHT requests, the most the disk layer lets
 * be in flight, so it never grows and never refuses one.
 */
#include "disk.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DISK_THREADS 4

struct disk_threads {
	struct disk *disk;
	pthread_mutex_t lock;
	pthread_cond_t work;	/* a request was queued, or stop */
	pthread_cond_t idle;	/* queued == 0 && running == 0 */
	struct disk_req *fifo[DISK_MAX_INFLIGHT];
	unsigned int head, queued;
	unsigned int running;	/* taken by a worker, not yet posted */
	bool cancel;		/* drain(cancel): fail what is queued */
	bool stop;
	unsigned int nthreads;
	pthread_t threads[DISK_THREADS];
};

static struct disk_req *threads_take(struct disk_threads *t)
{
	struct disk_req *req = t->fifo[t->head];

	t->head = (t->head + 1) % DISK_MAX_INFLIGHT;
	t->queued--;
	return req;
}

static void *threads_worker(void *arg)
{
	struct disk_threads *t = arg;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct disk_req *req;
		bool cancel;

		while (!t->queued && !t->stop)
			pthread_cond_wait(&t->work, &t->lock);
		if (!t->queued)
			break;	/* stop, and nothing left to do */
		req = threads_take(t);
		cancel = t->cancel;
		t->running++;
		pthread_mutex_unlock(&t->lock);

		/*
		 * A cancelled request is still posted, with -ECANCELED: the
		 * device owns it and must get it back exactly once.  The post
		 * happens here, not in drain(), because drain runs on the
		 * vCPU thread, which must never block on its own queue.
		 */
		if (cancel)
			req->result = -ECANCELED;
		else
			disk__execute(t->disk, req);
		disk__post_done(req);

		pthread_mutex_lock(&t->lock);
		t->running--;
		if (!t->queued && !t->running)
			pthread_cond_broadcast(&t->idle);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void disk_threads_submit(struct disk *d, struct disk_req *req)
{
	struct disk_threads *t = d->engine;

	pthread_mutex_lock(&t->lock);
	/* disk__submit() keeps queued + running <= DISK_MAX_INFLIGHT. */
	assert(t->queued < DISK_MAX_INFLIGHT);
	t->fifo[(t->head + t->queued) % DISK_MAX_INFLIGHT] = req;
	t->queued++;
	pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->lock);
}

static void disk_threads_drain(struct disk *d, bool cancel)
{
	struct disk_threads *t = d->engine;

	pthread_mutex_lock(&t->lock);
	/* Requests a worker already runs finish; queued ones are failed. */
	t->cancel = cancel;
	while (t->queued || t->running)
		pthread_cond_wait(&t->idle, &t->lock);
	t->cancel = false;
	pthread_mutex_unlock(&t->lock);
}

static void threads_stop(struct disk_threads *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->work);
	pthread_mutex_unlock(&t->lock);
	for (unsigned int i = 0; i < t->nthreads; i++)
		pthread_join(t->threads[i], NULL);
	t->nthreads = 0;
}

static void threads_free(struct disk_threads *t)
{
	pthread_cond_destroy(&t->idle);
	pthread_cond_destroy(&t->work);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static int disk_threads_init(struct disk *d)
{
	struct disk_threads *t;
	sigset_t all, old;
	int ret = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->disk = d;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->work, NULL);
	pthread_cond_init(&t->idle, NULL);

	/*
	 * Workers inherit the creator's signal mask: block everything so
	 * that SIGINT/SIGTERM and the vCPU kick are never delivered to them.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned int i = 0; i < DISK_THREADS; i++) {
		ret = pthread_create(&t->threads[i], NULL, threads_worker, t);
		if (ret)
			break;
		t->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		threads_stop(t);
		threads_free(t);
		return -ret;
	}
	d->engine = t;
	return 0;
}

static void disk_threads_exit(struct disk *d)
{
	struct disk_threads *t = d->engine;

	if (!t)
		return;
	threads_stop(t);	/* workers finish what is queued first */
	threads_free(t);
	d->engine = NULL;
}

const struct disk_engine_ops disk_threads_ops = {
	.name = "threads",
	.init = disk_threads_init,
	.submit = disk_threads_submit,
	.drain = disk_threads_drain,
	.exit = disk_threads_exit,
};
