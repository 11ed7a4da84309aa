// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the event queue (vmm/evq.c). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "tests/unit/check.h"
#include "common/evq.h"

static struct event mkev(enum ev_type type, u64 arg)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.arg = arg;
	return ev;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void test_init_rejects_zero_capacity(void)
{
	struct evq q;

	CHECK_EQ(evq__init(&q, 0), (u64)(s64)-EINVAL);
	evq__exit(&q); /* must be safe on a failed init */
}

static void test_fifo_order_and_wrap(void)
{
	struct evq q;
	struct event ev;
	unsigned int i, next_post = 0, next_pop = 0;

	CHECK_EQ(evq__init(&q, 4), 0);
	CHECK(!evq__pop(&q, &ev));

	/*
	 * Keep the ring nearly full and cycle it so head and tail wrap
	 * several times; each event is copied by value, data included.
	 */
	for (i = 0; i < 13; i++) {
		struct event in = mkev(EV_BLK_DONE, next_post);

		in.len = 1;
		in.data[0] = (u8)next_post++;
		evq__post(&q, &in);
		if (i < 3)
			continue;
		CHECK_EQ(q.count, 4);
		CHECK(evq__pop(&q, &ev));
		CHECK_EQ(ev.type, EV_BLK_DONE);
		CHECK_EQ(ev.arg, next_pop);
		CHECK_EQ(ev.len, 1);
		CHECK_EQ(ev.data[0], (u8)next_pop);
		next_pop++;
	}
	CHECK_EQ(q.count, 3);
	while (evq__pop(&q, &ev))
		CHECK_EQ(ev.arg, next_pop++);
	CHECK_EQ(next_pop, next_post);
	evq__exit(&q);
}

static void test_timer_coalescing(void)
{
	struct evq q;
	struct event ev = mkev(EV_TIMER, 1), rx = mkev(EV_SERIAL_RX, 2);

	CHECK_EQ(evq__init(&q, 8), 0);
	evq__post(&q, &ev);
	ev.arg = 99;
	evq__post(&q, &ev);		/* dropped: one is queued */
	evq__post(&q, &rx);
	evq__post(&q, &ev);		/* still dropped, not at the tail */
	CHECK_EQ(q.count, 2);

	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.type, EV_TIMER);
	CHECK_EQ(ev.arg, 1);		/* the first one survives */
	CHECK(!q.timer_pending);

	ev = mkev(EV_TIMER, 3);
	evq__post(&q, &ev);		/* accepted again after the pop */
	CHECK_EQ(q.count, 2);
	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.type, EV_SERIAL_RX);
	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.type, EV_TIMER);
	CHECK_EQ(ev.arg, 3);
	CHECK(!evq__pop(&q, &ev));
	evq__exit(&q);
}

struct poster {
	struct evq *q;
	atomic_int done;
	unsigned int delay_ms;
};

static void *poster_thread(void *arg)
{
	struct poster *p = arg;
	struct event ev = mkev(EV_SERIAL_EOF, 42);

	if (p->delay_ms)
		sleep_ms(p->delay_ms);
	evq__post(p->q, &ev);
	atomic_store(&p->done, 1);
	return NULL;
}

static void test_post_blocks_while_full(void)
{
	struct evq q;
	struct event ev = mkev(EV_BLK_DONE, 0);
	struct poster p = { .q = &q, .delay_ms = 0 };
	pthread_t t;

	CHECK_EQ(evq__init(&q, 2), 0);
	evq__post(&q, &ev);
	ev.arg = 1;
	evq__post(&q, &ev);
	p.done = 0;
	CHECK_EQ(pthread_create(&t, NULL, poster_thread, &p), 0);

	sleep_ms(100);
	CHECK_EQ(atomic_load(&p.done), 0);	/* still blocked */
	CHECK_EQ(q.count, 2);

	CHECK(evq__pop(&q, &ev));		/* frees a slot */
	CHECK_EQ(ev.arg, 0);
	pthread_join(t, NULL);
	CHECK_EQ(atomic_load(&p.done), 1);

	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.arg, 1);
	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.type, EV_SERIAL_EOF);
	CHECK_EQ(ev.arg, 42);
	evq__exit(&q);
}

static void test_wait_timeout(void)
{
	struct evq q;
	struct event ev = mkev(EV_QUIT, 0);
	u64 t0, dt;

	CHECK_EQ(evq__init(&q, 4), 0);

	t0 = util__host_ns();
	evq__wait(&q, 0);
	CHECK(util__host_ns() - t0 < 50 * 1000000ULL);

	t0 = util__host_ns();
	evq__wait(&q, 80 * 1000000ULL);
	dt = util__host_ns() - t0;
	CHECK(dt >= 80 * 1000000ULL);
	CHECK(dt < 2 * NSEC_PER_SEC);

	/* Non-empty: returns at once even with an infinite timeout. */
	evq__post(&q, &ev);
	t0 = util__host_ns();
	evq__wait(&q, UINT64_MAX);
	CHECK(util__host_ns() - t0 < 50 * 1000000ULL);
	CHECK(evq__pop(&q, &ev));

	/* A huge finite timeout must not overflow into an instant return. */
	{
		struct poster p = { .q = &q, .delay_ms = 60 };
		pthread_t t;

		p.done = 0;
		CHECK_EQ(pthread_create(&t, NULL, poster_thread, &p), 0);
		t0 = util__host_ns();
		evq__wait(&q, UINT64_MAX - 1);
		dt = util__host_ns() - t0;
		CHECK(dt >= 40 * 1000000ULL);
		CHECK_EQ(q.count, 1);
		pthread_join(t, NULL);
	}
	evq__exit(&q);
}

static void test_wait_woken_by_post(void)
{
	struct evq q;
	struct poster p = { .q = &q, .delay_ms = 50 };
	struct event ev;
	pthread_t t;
	u64 t0, dt;

	CHECK_EQ(evq__init(&q, 4), 0);
	p.done = 0;
	CHECK_EQ(pthread_create(&t, NULL, poster_thread, &p), 0);
	t0 = util__host_ns();
	evq__wait(&q, 10 * NSEC_PER_SEC);
	dt = util__host_ns() - t0;
	CHECK(dt < 5 * NSEC_PER_SEC);	/* woken, not timed out */
	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.type, EV_SERIAL_EOF);
	pthread_join(t, NULL);
	evq__exit(&q);
}

struct kick_state {
	struct evq *q;
	int calls;
	int lock_was_free;
	unsigned int count_seen;
};

static void kick_fn(void *ctx)
{
	struct kick_state *k = ctx;

	k->calls++;
	/* The kick must run outside the queue lock. */
	if (pthread_mutex_trylock(&k->q->lock) == 0) {
		k->lock_was_free++;
		k->count_seen = k->q->count;
		pthread_mutex_unlock(&k->q->lock);
	}
}

static void test_kick_after_every_post(void)
{
	struct evq q;
	struct kick_state k = { .q = &q };
	struct event ev = mkev(EV_TIMER, 0);

	CHECK_EQ(evq__init(&q, 4), 0);
	evq__set_kick(&q, kick_fn, &k);
	evq__post(&q, &ev);
	CHECK_EQ(k.calls, 1);
	CHECK_EQ(k.count_seen, 1);	/* the event is visible when kicked */
	evq__post(&q, &ev);		/* coalesced, still kicks */
	CHECK_EQ(k.calls, 2);
	ev.type = EV_SERIAL_RX;
	evq__post(&q, &ev);
	CHECK_EQ(k.calls, 3);
	CHECK_EQ(k.count_seen, 2);
	CHECK_EQ(k.lock_was_free, 3);

	evq__set_kick(&q, NULL, NULL);
	evq__post(&q, &ev);
	CHECK_EQ(k.calls, 3);
	evq__exit(&q);
}

int main(void)
{
	RUN(test_init_rejects_zero_capacity);
	RUN(test_fifo_order_and_wrap);
	RUN(test_timer_coalescing);
	RUN(test_post_blocks_while_full);
	RUN(test_wait_timeout);
	RUN(test_wait_woken_by_post);
	RUN(test_kick_after_every_post);
	return check_summary();
}
