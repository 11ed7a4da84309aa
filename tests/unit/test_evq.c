// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the event queue and its input sources (common/evq.c). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "tests/unit/check.h"
#include "common/evq.h"

struct released {
	unsigned int n;
	u64 last_arg;
};

static void count_release(void *ctx, const struct event *ev)
{
	struct released *r = ctx;

	r->n++;
	r->last_arg = ev->arg;
}

static struct released rel_a, rel_b;

/* Sources like the VMM's: a disk, the console, a coalescing timer. */
static struct evq_source src_disk = {
	.name = "disk", .release = count_release, .ctx = &rel_a, .quota = 4,
};
static struct evq_source src_console = {
	.name = "console", .release = count_release, .ctx = &rel_b, .quota = 2,
};
static struct evq_source src_timer = {
	.name = "timer", .release = count_release, .ctx = &rel_b, .quota = 1,
	.coalesce = true,
};

static struct event mkev(struct evq_source *src, u64 arg)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.src = src;
	ev.arg = arg;
	return ev;
}

/* A queue with the three sources above: room for 4 + 2 + 1 events. */
static void q_init(struct evq *q)
{
	CHECK_EQ(evq__init(q), 0);
	CHECK_EQ(evq__add_source(q, &src_disk), 0);
	CHECK_EQ(evq__add_source(q, &src_console), 0);
	CHECK_EQ(evq__add_source(q, &src_timer), 0);
	CHECK_EQ(q->cap, 7);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void test_bad_sources(void)
{
	struct evq q;
	struct evq_source none = { .name = "x", .release = count_release },
			  noname = { .release = count_release, .quota = 1 },
			  norel = { .name = "x", .quota = 1 },
			  wide = { .name = "x", .release = count_release,
				   .quota = 2, .coalesce = true };
	struct event ev;

	CHECK_EQ(evq__init(&q), 0);
	CHECK_EQ(evq__add_source(&q, &none), (u64)(s64)-EINVAL);
	CHECK_EQ(evq__add_source(&q, &noname), (u64)(s64)-EINVAL);
	CHECK_EQ(evq__add_source(&q, &norel), (u64)(s64)-EINVAL);
	CHECK_EQ(evq__add_source(&q, &wide), (u64)(s64)-EINVAL);
	CHECK_EQ(q.cap, 0);
	CHECK_EQ(evq__add_source(&q, &src_disk), 0);
	CHECK_EQ(src_disk.id, 0);
	ev = mkev(&src_disk, 1);
	evq__post(&q, &ev);
	/*
	 * Sources come and go while events are queued (a disk attached
	 * late); one with events queued cannot go.
	 */
	CHECK_EQ(evq__add_source(&q, &src_console), 0);
	CHECK_EQ(q.cap, 6);
	CHECK_EQ(evq__remove_source(&q, &src_disk), (u64)(s64)-EBUSY);
	CHECK_EQ(evq__remove_source(&q, &src_console), 0);
	CHECK_EQ(q.cap, 4);
	CHECK_EQ(q.count, 1);
	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.arg, 1);
	CHECK_EQ(evq__remove_source(&q, &src_disk), 0);
	CHECK_EQ(q.cap, 0);
	evq__exit(&q);
	evq__exit(&q);	/* safe twice */
}

static void test_fifo_order_and_wrap(void)
{
	struct evq q;
	struct event ev;
	unsigned int i, next_post = 0, next_pop = 0;

	q_init(&q);
	CHECK(!evq__pop(&q, &ev));

	/*
	 * Keep the disk's quota nearly used and cycle the ring so head and
	 * tail wrap several times; each event is copied by value.
	 */
	for (i = 0; i < 13; i++) {
		struct event in = mkev(&src_disk, next_post);

		in.len = 1;
		in.data[0] = (u8)next_post++;
		evq__post(&q, &in);
		if (i < 3)
			continue;
		CHECK_EQ(q.count, 4);
		CHECK_EQ(src_disk.queued, 4);
		CHECK(evq__pop(&q, &ev));
		CHECK(ev.src == &src_disk);
		CHECK_EQ(ev.arg, next_pop);
		CHECK_EQ(ev.len, 1);
		CHECK_EQ(ev.data[0], (u8)next_pop);
		next_pop++;
	}
	CHECK_EQ(q.count, 3);
	while (evq__pop(&q, &ev))
		CHECK_EQ(ev.arg, next_pop++);
	CHECK_EQ(next_pop, next_post);
	CHECK_EQ(src_disk.queued, 0);
	evq__exit(&q);
}

static void test_release_dispatch(void)
{
	struct evq q;
	struct event ev = mkev(&src_disk, 7), rx = mkev(&src_console, 9);

	memset(&rel_a, 0, sizeof(rel_a));
	memset(&rel_b, 0, sizeof(rel_b));
	q_init(&q);
	evq__post(&q, &ev);
	evq__post(&q, &rx);
	while (evq__pop(&q, &ev))
		evq__release(&ev);
	CHECK_EQ(rel_a.n, 1);
	CHECK_EQ(rel_a.last_arg, 7);
	CHECK_EQ(rel_b.n, 1);
	CHECK_EQ(rel_b.last_arg, 9);
	evq__exit(&q);
}

static void test_timer_coalescing(void)
{
	struct evq q;
	struct event ev = mkev(&src_timer, 1), rx = mkev(&src_console, 2);

	q_init(&q);
	evq__post(&q, &ev);
	ev.arg = 99;
	evq__post(&q, &ev);		/* dropped: one is queued */
	evq__post(&q, &rx);
	evq__post(&q, &ev);		/* still dropped, not at the tail */
	CHECK_EQ(q.count, 2);

	CHECK(evq__pop(&q, &ev));
	CHECK(ev.src == &src_timer);
	CHECK_EQ(ev.arg, 1);		/* the first one survives */
	CHECK_EQ(src_timer.queued, 0);

	ev = mkev(&src_timer, 3);
	evq__post(&q, &ev);		/* accepted again after the pop */
	CHECK_EQ(q.count, 2);
	CHECK(evq__pop(&q, &ev));
	CHECK(ev.src == &src_console);
	CHECK(evq__pop(&q, &ev));
	CHECK(ev.src == &src_timer);
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
	struct event ev = mkev(&src_console, 42);

	if (p->delay_ms)
		sleep_ms(p->delay_ms);
	evq__post(p->q, &ev);
	atomic_store(&p->done, 1);
	return NULL;
}

/*
 * A source over its quota waits for its own events to be popped; every
 * other source keeps posting (a full console never holds up a disk).
 */
static void test_post_blocks_on_own_quota(void)
{
	struct evq q;
	struct event ev = mkev(&src_console, 0);
	struct poster p = { .q = &q, .delay_ms = 0 };
	unsigned int i;
	pthread_t t;

	q_init(&q);
	evq__post(&q, &ev);
	ev.arg = 1;
	evq__post(&q, &ev);		/* the console's quota is 2 */
	p.done = 0;
	CHECK_EQ(pthread_create(&t, NULL, poster_thread, &p), 0);

	sleep_ms(100);
	CHECK_EQ(atomic_load(&p.done), 0);	/* still blocked */
	for (i = 0; i < 4; i++) {
		struct event d = mkev(&src_disk, 100 + i);

		evq__post(&q, &d);	/* never blocks: its own quota */
	}
	CHECK_EQ(q.count, 6);
	CHECK_EQ(atomic_load(&p.done), 0);

	CHECK(evq__pop(&q, &ev));		/* a console slot frees */
	CHECK_EQ(ev.arg, 0);
	pthread_join(t, NULL);
	CHECK_EQ(atomic_load(&p.done), 1);

	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.arg, 1);
	for (i = 0; i < 4; i++) {
		CHECK(evq__pop(&q, &ev));
		CHECK_EQ(ev.arg, 100 + i);
	}
	CHECK(evq__pop(&q, &ev));
	CHECK(ev.src == &src_console);
	CHECK_EQ(ev.arg, 42);
	CHECK(!evq__pop(&q, &ev));
	evq__exit(&q);
}

static void test_wait_timeout(void)
{
	struct evq q;
	struct event ev = mkev(&src_disk, 0);
	u64 t0, dt;

	q_init(&q);

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

	q_init(&q);
	p.done = 0;
	CHECK_EQ(pthread_create(&t, NULL, poster_thread, &p), 0);
	t0 = util__host_ns();
	evq__wait(&q, 10 * NSEC_PER_SEC);
	dt = util__host_ns() - t0;
	CHECK(dt < 5 * NSEC_PER_SEC);	/* woken, not timed out */
	CHECK(evq__pop(&q, &ev));
	CHECK_EQ(ev.arg, 42);
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
	struct event ev = mkev(&src_timer, 0);

	q_init(&q);
	evq__set_kick(&q, kick_fn, &k);
	evq__post(&q, &ev);
	CHECK_EQ(k.calls, 1);
	CHECK_EQ(k.count_seen, 1);	/* the event is visible when kicked */
	evq__post(&q, &ev);		/* coalesced, still kicks */
	CHECK_EQ(k.calls, 2);
	ev.src = &src_console;
	evq__post(&q, &ev);
	CHECK_EQ(k.calls, 3);
	CHECK_EQ(k.count_seen, 2);
	CHECK_EQ(k.lock_was_free, 3);

	evq__set_kick(&q, NULL, NULL);
	ev.src = &src_disk;
	evq__post(&q, &ev);
	CHECK_EQ(k.calls, 3);
	evq__exit(&q);
}

int main(void)
{
	RUN(test_bad_sources);
	RUN(test_fifo_order_and_wrap);
	RUN(test_release_dispatch);
	RUN(test_timer_coalescing);
	RUN(test_post_blocks_on_own_quota);
	RUN(test_wait_timeout);
	RUN(test_wait_woken_by_post);
	RUN(test_kick_after_every_post);
	return check_summary();
}
