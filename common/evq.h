/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_EVQ_H
#define MICROVM_EVQ_H

#include <pthread.h>

#include "util.h"

/*
 * The one door for asynchronous input (DESIGN.md).  Host-side threads (the
 * timer ticker, the stdin reader, disk completions) never touch device
 * state: they post an event here and kick the vCPU.  The vCPU loop pops
 * events at its own exits and decides when the device acts on each one;
 * that moment is what the replay core records or reproduces.
 */
enum ev_type {
	EV_TIMER,	/* a vclock deadline may have passed */
	EV_SERIAL_RX,	/* bytes from the console, in data[0..len) */
	EV_SERIAL_EOF,	/* the console input closed */
	EV_QUIT,	/* user asked to quit (Ctrl-A x, SIGINT, SIGTERM) */
	EV_BLK_DONE,	/* a disk request completed: ptr is the request */
	EV_NR_TYPES,
};

#define EV_DATA_MAX 64

struct event {
	enum ev_type type;
	u32 len;
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
	bool timer_pending; /* coalesces EV_TIMER: one in the queue at most */
	void (*kick)(void *ctx);
	void *kick_ctx;
};

int evq__init(struct evq *q, unsigned int capacity);
void evq__exit(struct evq *q);
/* Set by the vCPU loop: called after each post to get it out of KVM_RUN. */
void evq__set_kick(struct evq *q, void (*kick)(void *ctx), void *ctx);
/* Any thread.  Blocks while the queue is full (back-pressure on stdin). */
void evq__post(struct evq *q, const struct event *ev);
/* vCPU thread: take the oldest event, false if none. */
bool evq__pop(struct evq *q, struct event *ev);
/* vCPU thread: sleep until an event is queued or timeout_ns passes. */
void evq__wait(struct evq *q, u64 timeout_ns);

#endif
