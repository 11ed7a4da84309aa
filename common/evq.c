// SPDX-License-Identifier: Apache-2.0
/*
 * The event queue: a bounded FIFO of events from host threads to the vCPU
 * loop (see evq.h).  One mutex and two condition variables; the ring holds
 * events by value so that a poster never shares memory with the consumer
 * after evq__post() returns.
 */
#include "evq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int evq__init(struct evq *q, unsigned int capacity)
{
	pthread_condattr_t attr;
	int ret;

	memset(q, 0, sizeof(*q));
	if (!capacity)
		return -EINVAL;
	q->ring = calloc(capacity, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	q->cap = capacity;

	ret = pthread_mutex_init(&q->lock, NULL);
	if (ret)
		goto err_free;
	/*
	 * evq__wait() takes a relative timeout; measure it on the monotonic
	 * clock so that a host wall-clock step (NTP, settimeofday) cannot
	 * stretch or cut short the vCPU's idle sleep.
	 */
	ret = pthread_condattr_init(&attr);
	if (ret)
		goto err_mutex;
	ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&q->nonempty, &attr);
	pthread_condattr_destroy(&attr);
	if (ret)
		goto err_mutex;
	ret = pthread_cond_init(&q->nonfull, NULL);
	if (ret)
		goto err_nonempty;
	return 0;

err_nonempty:
	pthread_cond_destroy(&q->nonempty);
err_mutex:
	pthread_mutex_destroy(&q->lock);
err_free:
	free(q->ring);
	q->ring = NULL;
	return -ret;
}

void evq__exit(struct evq *q)
{
	if (!q->ring)
		return;
	pthread_cond_destroy(&q->nonfull);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	q->ring = NULL;
}

void evq__set_kick(struct evq *q, void (*kick)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&q->lock);
	q->kick = kick;
	q->kick_ctx = ctx;
	pthread_mutex_unlock(&q->lock);
}

void evq__post(struct evq *q, const struct event *ev)
{
	void (*kick)(void *ctx);
	void *kick_ctx;

	pthread_mutex_lock(&q->lock);
	/*
	 * EV_TIMER only says "look at the clock": the vCPU loop reads the
	 * virtual clock itself when it handles one, so a second EV_TIMER
	 * behind a queued one carries no information.  Dropping it keeps a
	 * fast ticker from filling the queue while the vCPU is busy.
	 */
	if (ev->type == EV_TIMER && q->timer_pending)
		goto out_kick;
	while (q->count == q->cap)
		pthread_cond_wait(&q->nonfull, &q->lock);
	q->ring[(q->head + q->count) % q->cap] = *ev;
	q->count++;
	if (ev->type == EV_TIMER)
		q->timer_pending = true;
	pthread_cond_signal(&q->nonempty);
out_kick:
	kick = q->kick;
	kick_ctx = q->kick_ctx;
	pthread_mutex_unlock(&q->lock);
	/*
	 * Outside the lock: the kick typically signals the vCPU thread, and
	 * whatever it does must not be able to deadlock against a pop.  The
	 * coalesced case kicks too, as documented: it is harmless and keeps
	 * "every post kicks" true without exceptions.
	 */
	if (kick)
		kick(kick_ctx);
}

bool evq__pop(struct evq *q, struct event *ev)
{
	pthread_mutex_lock(&q->lock);
	if (!q->count) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	*ev = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	if (ev->type == EV_TIMER)
		q->timer_pending = false;
	/* Only the stdin reader and disk threads block here; wake them all. */
	pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
	return true;
}

void evq__wait(struct evq *q, u64 timeout_ns)
{
	struct timespec deadline;
	bool forever = timeout_ns == UINT64_MAX;

	if (!forever) {
		u64 now_ns, end_ns;

		clock_gettime(CLOCK_MONOTONIC, &deadline);
		now_ns = (u64)deadline.tv_sec * NSEC_PER_SEC + deadline.tv_nsec;
		end_ns = now_ns + timeout_ns;
		/* A timeout so long that it overflows is as good as forever. */
		if (end_ns < now_ns) {
			forever = true;
		} else {
			deadline.tv_sec = end_ns / NSEC_PER_SEC;
			deadline.tv_nsec = end_ns % NSEC_PER_SEC;
		}
	}

	pthread_mutex_lock(&q->lock);
	while (!q->count) {
		if (forever) {
			pthread_cond_wait(&q->nonempty, &q->lock);
		} else if (pthread_cond_timedwait(&q->nonempty, &q->lock,
						  &deadline) == ETIMEDOUT) {
			break;
		}
	}
	pthread_mutex_unlock(&q->lock);
}
