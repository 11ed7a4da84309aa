/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_EVQ_H
#define MICROVM_EVQ_H

#include <pthread.h>

#include "util.h"

/*
 * The one door for asynchronous input (DESIGN.md).
 *
 * Everything outside the guest that can change what it sees (a disk
 * finishing a request, stdin becoming readable, a host timer, a quit
 * signal) is an input *source*: it registers here with a name, how many
 * of its events may be queued at once, and a release callback.  Host-side
 * threads never touch device or guest state: they post an event and kick
 * the vCPU.  The vCPU loop pops events between two KVM_RUNs and releases
 * each one (calls its source's release callback): that moment, and only
 * that moment, is when the input takes effect, which is what the replay
 * core records and reproduces.  The queue knows sources only by these
 * fields; what an event means is the source's business (event.kind).
 *
 * Bounded by construction: the ring holds the sum of every source's
 * quota, and a source never has more than its quota queued, so a post
 * blocks only when that source itself is over its quota (back-pressure
 * on stdin), never because another source filled the queue.  A source
 * whose posts are bounded by what it has outstanding (a disk: at most one
 * completion per request in flight) never blocks at all.
 */
#define EV_DATA_MAX 64

struct event;

struct evq_source {
	const char *name;
	/* vCPU thread: act on the event now (the guest may see it). */
	void (*release)(void *ctx, const struct event *ev);
	void *ctx;
	/* Most events of this source queued at once (> 0). */
	unsigned int quota;
	/*
	 * A post while one event of this source is already queued carries
	 * no information (a timer: "look at the clock"): it is dropped
	 * instead of queued.  Such a source needs a quota of 1.
	 */
	bool coalesce;

	/* Owned by the queue. */
	unsigned int queued;
	unsigned int id;	/* registration order, from 0 */
};

struct event {
	struct evq_source *src;
	u32 kind;		/* the source's own event types */
	u32 len;		/* bytes used in data */
	u64 arg;
	void *ptr;
	u8 data[EV_DATA_MAX];
};

struct evq {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_cond_t nonfull;
	struct event *ring;
	unsigned int cap, head, count;
	unsigned int nsources;
	unsigned int next_id;
	bool ready;		/* initialised */
	void (*kick)(void *ctx);
	void *kick_ctx;
};

int evq__init(struct evq *q);
void evq__exit(struct evq *q);
/*
 * Register a source (the ring grows by its quota); any thread, any time.
 * -EINVAL for a bad source, -ENOMEM.
 */
int evq__add_source(struct evq *q, struct evq_source *src);
/* Unregister a source with nothing queued (-EBUSY otherwise). */
int evq__remove_source(struct evq *q, struct evq_source *src);
/* Set by the vCPU loop: called after each post to get it out of KVM_RUN. */
void evq__set_kick(struct evq *q, void (*kick)(void *ctx), void *ctx);
/*
 * Any thread.  ev->src must be registered.  Blocks while that source has
 * its quota queued (coalescing sources drop the event instead).
 */
void evq__post(struct evq *q, const struct event *ev);
/* vCPU thread: take the oldest event, false if none. */
bool evq__pop(struct evq *q, struct event *ev);
/* vCPU thread: act on a popped event (its source's release callback). */
static inline void evq__release(const struct event *ev)
{
	ev->src->release(ev->src->ctx, ev);
}
/* vCPU thread: sleep until an event is queued or timeout_ns passes. */
void evq__wait(struct evq *q, u64 timeout_ns);
/* Events queued now (any thread; a snapshot). */
unsigned int evq__count(struct evq *q);
/* Events of one source queued now (any thread; a snapshot). */
unsigned int evq__queued(struct evq *q, const struct evq_source *src);

#endif
