// SPDX-License-Identifier: Apache-2.0
/* Host timer thread for guest timers (see ticker.h). */
#include "ticker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Nothing to do: the loop runs expired timers after every release. */
static void ticker_release(void *ctx __maybe_unused,
			   const struct event *ev __maybe_unused)
{
}

int ticker__init(struct ticker *t, struct evq *q)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->tfd = t->stop_fd = -1;
	t->evq = q;
	t->src = (struct evq_source){
		.name = "timer",
		.release = ticker_release,
		.ctx = t,
		.quota = 1,
		.coalesce = true,
	};
	ret = evq__add_source(q, &t->src);
	if (ret) {
		pr_err("cannot register the timer: %s", strerror(-ret));
		return ret;
	}
	t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->tfd < 0) {
		pr_err("timerfd_create: %s", strerror(errno));
		return -errno;
	}
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stop_fd < 0) {
		pr_err("eventfd: %s", strerror(errno));
		close(t->tfd);
		return -errno;
	}
	return 0;
}

static void *ticker_thread(void *arg)
{
	struct ticker *t = arg;
	struct pollfd pfd[2] = {
		{ .fd = t->tfd, .events = POLLIN },
		{ .fd = t->stop_fd, .events = POLLIN },
	};

	for (;;) {
		u64 expirations;
		struct event ev = { .src = &t->src };

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("timer thread: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (read(t->tfd, &expirations, sizeof(expirations)) > 0)
			evq__post(t->evq, &ev);
	}
	return NULL;
}

int ticker__start(struct ticker *t)
{
	sigset_t all, old;
	int ret;

	/* Signals (SIGINT, SIGTERM, the vCPU kick) are not this thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&t->thread, NULL, ticker_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pr_err("cannot start the timer thread: %s", strerror(ret));
		return -ret;
	}
	t->running = true;
	return 0;
}

void ticker__arm(struct ticker *t, u64 host_ns)
{
	struct itimerspec its = { 0 };

	if (host_ns == t->armed)
		return;
	t->armed = host_ns;
	/* A deadline already past fires at once (TFD_TIMER_ABSTIME). */
	if (host_ns) {
		its.it_value.tv_sec = host_ns / NSEC_PER_SEC;
		its.it_value.tv_nsec = host_ns % NSEC_PER_SEC;
	}
	timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void ticker__stop(struct ticker *t)
{
	u64 one = 1;

	if (t->running) {
		if (write(t->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("timer thread: cannot signal stop: %s",
				strerror(errno));
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	if (t->tfd >= 0)
		close(t->tfd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	t->tfd = t->stop_fd = -1;
}
