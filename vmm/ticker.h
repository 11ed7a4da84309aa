/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_TICKER_H
#define MICROVM_TICKER_H

#include <pthread.h>

#include "../common/evq.h"
#include "../common/util.h"

/*
 * The host side of guest timers: a thread sleeping on a timerfd that posts
 * an event of the "timer" source when the earliest virtual-clock deadline
 * comes.  It never touches device state; the vCPU loop runs the expired
 * timers (vclock__run_expired) after it releases the event.  The event
 * only says "look at the clock", so the source coalesces: one queued at
 * most, however fast the ticker fires while the vCPU is busy.
 */
struct ticker {
	int tfd;
	int stop_fd;		/* eventfd that ends the thread */
	pthread_t thread;
	bool running;
	u64 armed;		/* host deadline currently armed, 0 = none */
	struct evq *evq;
	struct evq_source src;
};

int ticker__init(struct ticker *t, struct evq *q);
int ticker__start(struct ticker *t);
/* vCPU thread: make the timer fire at host monotonic time host_ns (0 = never). */
void ticker__arm(struct ticker *t, u64 host_ns);
void ticker__stop(struct ticker *t);

#endif
