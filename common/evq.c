// SPDX-License-Identifier: Apache-2.0
/*
 * The event queue: a bounded FIFO of events from host threads to the vCPU
 * loop (see evq.h).  One mutex and two condition variables; the ring holds
 * events by value so that a poster never shares memory with the consumer
 * after evq__post() returns.
 */
#include "evq.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int evq__init(struct evq *q)
{
	pthread_condattr_t attr;
	int ret;

	memset(q, 0, sizeof(*q));
	ret = pthread_mutex_init(&q->lock, NULL);
	if (ret)
		return -ret;
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
	q->ready = true;
	return 0;

err_nonempty:
	pthread_cond_destroy(&q->nonempty);
err_mutex:
	pthread_mutex_destroy(&q->lock);
	return -ret;
}

/* With q->lock held: move the queued events into a ring of cap slots. */
static int evq_resize(struct evq *q, unsigned int cap)
{
	struct event *ring = NULL;
	unsigned int i;

	if (cap) {
		ring = malloc(cap * sizeof(*ring));
		if (!ring)
			return -ENOMEM;
	}
	for (i = 0; i < q->count; i++)
		ring[i] = q->ring[(q->head + i) % q->cap];
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int evq__add_source(struct evq *q, struct evq_source *src)
{
	int ret;

	if (!src->name || !src->release || !src->quota ||
	    (src->coalesce && src->quota != 1))
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	ret = src->quota > UINT_MAX / 2 - q->cap ? -EINVAL :
						    evq_resize(q, q->cap + src->quota);
	if (!ret) {
		src->queued = 0;
		src->id = q->next_id++;
		q->nsources++;
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int evq__remove_source(struct evq *q, struct evq_source *src)
{
	pthread_mutex_lock(&q->lock);
	if (src->queued) {
		pthread_mutex_unlock(&q->lock);
		return -EBUSY;
	}
	/*
	 * Shrinking cannot lose events: the others fit in their quotas.  If
	 * memory is short the larger ring stays, which is harmless.
	 */
	if (q->cap >= src->quota)
		(void)evq_resize(q, q->cap - src->quota);
	q->nsources--;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void evq__exit(struct evq *q)
{
	if (!q->ready)
		return;
	pthread_cond_destroy(&q->nonfull);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	q->ring = NULL;
	q->ready = false;
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
	struct evq_source *src = ev->src;
	void (*kick)(void *ctx);
	void *kick_ctx;

	pthread_mutex_lock(&q->lock);
	if (src->coalesce && src->queued)
		goto out_kick;
	/*
	 * Only this source's own backlog can make it wait: the ring has
	 * room for every source's quota at once.
	 */
	while (src->queued == src->quota)
		pthread_cond_wait(&q->nonfull, &q->lock);
	assert(q->count < q->cap);
	q->ring[(q->head + q->count) % q->cap] = *ev;
	q->count++;
	src->queued++;
	pthread_cond_signal(&q->nonempty);
out_kick:
	kick = q->kick;
	kick_ctx = q->kick_ctx;
	pthread_mutex_unlock(&q->lock);
	/*
	 * Outside the lock: the kick typically signals the vCPU thread, and
	 * whatever it does must not be able to deadlock against a pop.  The
	 * coalesced case kicks too: it is harmless and keeps "every post
	 * kicks" true without exceptions.
	 */
	if (kick)
		kick(kick_ctx);
}

bool evq__pop(struct evq *q, struct event *ev)
{
	bool was_full;

	pthread_mutex_lock(&q->lock);
	if (!q->count) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	*ev = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	was_full = ev->src->queued == ev->src->quota;
	ev->src->queued--;
	/* Posters wait only on their own quota; wake them only then. */
	if (was_full)
		pthread_cond_broadcast(&q->nonfull);
	pthread_mutex_unlock(&q->lock);
	return true;
}

unsigned int evq__queued(struct evq *q, const struct evq_source *src)
{
	unsigned int n;

	pthread_mutex_lock(&q->lock);
	n = src->queued;
	pthread_mutex_unlock(&q->lock);
	return n;
}

unsigned int evq__count(struct evq *q)
{
	unsigned int n;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
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
