// SPDX-License-Identifier: Apache-2.0
/*
 * Host console backend for the UART: stdout for guest output, stdin for
 * guest input.  See console.h for how input reaches the guest and how it
 * is flow-controlled; this file has the mechanics.
 *
 * Terminal mode.  When stdin is a terminal it is put in raw mode (no line
 * editing, no echo, no signals from Ctrl-C/Ctrl-Z/Ctrl-\, 8-bit clean) so
 * the guest gets every key; the guest echoes what it wants.  Output
 * processing (OPOST, ONLCR, ...) is left as the user had it, as QEMU and
 * kvmtool do: messages on stderr from anything in the process (libc, an
 * assert) and guests that end lines with a bare "\n" still render
 * properly, while a guest that sends "\r\n" merely gets an invisible extra
 * carriage return.
 *
 * Escapes (terminal only, as in QEMU): Ctrl-A x quits, Ctrl-A Ctrl-A sends
 * one Ctrl-A, Ctrl-A h prints help, any other Ctrl-A combination passes
 * both bytes through.  Input from a pipe or file passes through untouched.
 *
 * Stopping the reader.  A thread blocked in read(0) cannot be woken
 * portably (closing fd 0 under it is racy, and signals are blocked in it
 * on purpose), so the reader only ever sleeps in poll() on stdin plus a
 * self-pipe; console__stop() and credit refunds write a byte to the pipe.
 */
#include "console.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_A 0x01

static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

void console__restore(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static int console_raw_mode(void)
{
	static bool atexit_registered;
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_termios))
		return -errno;
	termios_saved = 1;
	if (!atexit_registered && !atexit(console__restore))
		atexit_registered = true;

	raw = saved_termios;
	cfmakeraw(&raw);
	/* Output processing stays: see the top of the file. */
	raw.c_oflag = saved_termios.c_oflag;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return -errno;
	return 0;
}

/*
 * Guest output.  Synchronous: the vCPU waits for stdout like a real UART
 * waits for its line, which keeps output and the guest's progress in step
 * and needs no buffer to bound.  Failures (EPIPE from a closed pipe, EIO
 * from a hung-up terminal, ENOSPC) must not stop the VM: report the first
 * one and keep trying, so output resumes if the condition clears.
 */
void console__tx(void *ctx, const u8 *buf, size_t len)
{
	static bool reported;
	size_t done = 0;

	(void)ctx;
	while (done < len) {
		ssize_t r = write(STDOUT_FILENO, buf + done, len - done);

		if (r >= 0) {
			done += r;
			continue;
		}
		if (errno == EINTR)
			continue;
		/* stdout may be a non-blocking fd shared with our parent. */
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { .fd = STDOUT_FILENO,
					      .events = POLLOUT };

			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		if (!reported) {
			reported = true;
			pr_warn("console: writing guest output to stdout failed: %s; output is lost until it works again (not reported again)",
				strerror(errno));
		}
		return;
	}
}

static void console_post(struct console *c, enum console_event kind,
			 const u8 *data, unsigned int len)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.src = &c->src;
	ev.kind = kind;
	ev.len = len;
	if (len)
		memcpy(ev.data, data, len);
	evq__post(c->q, &ev);
}

/* a - b for two monotonic counters, 0 if b ran ahead (see deliver). */
static u64 counter_diff(atomic_uint_fast64_t *a, atomic_uint_fast64_t *b)
{
	u64 done = atomic_load(b), posted = atomic_load(a);

	return posted > done ? posted - done : 0;
}

/*
 * Reader: how many bytes the next CONSOLE_EV_RX may carry.  The refund
 * counters only grow, so a stale read can only under-estimate.
 */
static unsigned int console_credit(struct console *c)
{
	u64 bytes = counter_diff(&c->posted_bytes, &c->consumed_bytes);
	u64 events = counter_diff(&c->posted_events, &c->delivered_events);

	if (events >= CONSOLE_MAX_QUEUED_RX || bytes >= CONSOLE_BACKLOG)
		return 0;
	return MIN(CONSOLE_BACKLOG - bytes, EV_DATA_MAX);
}

/* Reader: post pending bytes as far as credit allows. */
static void console_flush(struct console *c)
{
	while (c->npending) {
		unsigned int n = MIN(console_credit(c), c->npending);

		if (!n)
			return;
		/* Count first, so the vCPU never refunds more than posted. */
		atomic_fetch_add(&c->posted_bytes, n);
		atomic_fetch_add(&c->posted_events, 1);
		console_post(c, CONSOLE_EV_RX, c->pending, n);
		c->npending -= n;
		memmove(c->pending, c->pending + n, c->npending);
	}
}

static void console_help(void)
{
	static const char help[] =
		"\r\nmicrovm console escapes:\r\n"
		"  C-a h    print this help\r\n"
		"  C-a x    exit microvm\r\n"
		"  C-a C-a  send C-a to the guest\r\n";

	util__write_full(STDERR_FILENO, help, sizeof(help) - 1);
}

/*
 * Reader: apply the escapes to n input bytes, writing at most n + 1 bytes
 * to out (a Ctrl-A held over from the previous read may come out now).
 */
static unsigned int console_filter(struct console *c, const u8 *in,
				   unsigned int n, u8 *out)
{
	unsigned int i, o = 0;

	if (!c->is_tty) {
		memcpy(out, in, n);
		return n;
	}
	for (i = 0; i < n; i++) {
		u8 ch = in[i];

		if (!c->escape) {
			if (ch == CTRL_A)
				c->escape = true;
			else
				out[o++] = ch;
			continue;
		}
		c->escape = false;
		switch (ch) {
		case 'x':
			/* Once: the loop is already on its way out. */
			if (!c->quit_posted) {
				c->quit_posted = true;
				console_post(c, CONSOLE_EV_QUIT, NULL, 0);
			}
			break;
		case 'h':
			console_help();
			break;
		case CTRL_A:
			out[o++] = CTRL_A;
			break;
		default:
			out[o++] = CTRL_A;
			out[o++] = ch;
			break;
		}
	}
	return o;
}

/* Reader: one read() from stdin.  Returns true at end of input. */
static bool console_read_stdin(struct console *c)
{
	unsigned int room = CONSOLE_PENDING - c->npending;
	u8 in[EV_DATA_MAX], out[EV_DATA_MAX + 1];
	size_t max = room > 1 ? MIN(sizeof(in), room - 1) : sizeof(in);
	ssize_t n = read(STDIN_FILENO, in, max);

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return false;
		pr_warn("console: reading stdin failed: %s; no more serial input",
			strerror(errno));
	}
	if (n <= 0) {
		/* A Ctrl-A typed last goes to the guest as it is. */
		if (c->escape && c->npending < CONSOLE_PENDING)
			c->pending[c->npending++] = CTRL_A;
		c->escape = false;
		return true;
	}
	if (room > 1) {
		c->npending += console_filter(c, in, n,
					      c->pending + c->npending);
		return false;
	}
	/*
	 * Only a terminal gets here: the guest has stopped reading and all
	 * buffers are full.  Keep reading, so that Ctrl-A x still works, but
	 * drop the keys, and say so.  A pipe is never read in this state;
	 * it waits (back-pressure) instead.
	 */
	n = console_filter(c, in, n, out);
	if (n && !c->tty_dropped)
		pr_warn("console: the guest is not reading its serial input; dropping keystrokes (Ctrl-A x quits)");
	c->tty_dropped += n;
	return false;
}

static void console_drain_wake(struct console *c)
{
	u8 buf[64];

	while (read(c->wake[0], buf, sizeof(buf)) > 0)
		;
}

static void *console_reader(void *arg)
{
	struct console *c = arg;
	bool eof = false;

	for (;;) {
		struct pollfd pfd[2];
		nfds_t nfds = 1;

		console_flush(c);
		if (eof && !c->npending) {
			console_post(c, CONSOLE_EV_EOF, NULL, 0);
			break;
		}
		if (c->npending) {
			/*
			 * Out of credit.  Ask the vCPU side for a wake-up, then
			 * look again: a refund that landed before the flag was
			 * visible to it would otherwise be missed.
			 */
			atomic_store(&c->starving, true);
			if (console_credit(c))
				continue;
		}

		pfd[0].fd = c->wake[0];
		pfd[0].events = POLLIN;
		if (!eof && (c->npending < CONSOLE_PENDING - 1 || c->is_tty)) {
			pfd[1].fd = STDIN_FILENO;
			pfd[1].events = POLLIN;
			nfds = 2;
		}
		if (poll(pfd, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("console: poll on stdin failed: %s; no more serial input",
				strerror(errno));
			c->npending = 0;
			eof = true;
			continue;
		}
		if (pfd[0].revents)
			console_drain_wake(c);
		if (atomic_load(&c->stopping))
			break;
		if (nfds == 2 && pfd[1].revents)
			eof = console_read_stdin(c);
	}
	return NULL;
}

/* vCPU side: the reader waits for credit we just returned. */
static void console_wake_reader(struct console *c)
{
	static const u8 one = 1;

	if (c->wake[1] < 0 || !atomic_load(&c->starving))
		return;
	if (atomic_exchange(&c->starving, false) &&
	    write(c->wake[1], &one, 1) < 0) {
		/* EAGAIN: the pipe is full, so a wake-up is pending anyway. */
	}
}

/* vCPU side: move what the RX FIFO can take from the backlog into it. */
static void console_push(struct console *c)
{
	unsigned int total = 0;

	while (c->count) {
		unsigned int chunk = MIN(c->count, CONSOLE_BACKLOG - c->head);
		unsigned int n = uart__receive(c->uart, c->backlog + c->head,
					       chunk);

		c->head = (c->head + n) % CONSOLE_BACKLOG;
		c->count -= n;
		total += n;
		if (n < chunk)
			break;
	}
	if (total) {
		atomic_fetch_add(&c->consumed_bytes, total);
		console_wake_reader(c);
	}
}

/* The UART's rx-room callback: the guest read RBR (or reset RX). */
static void console_rx_room(void *ctx)
{
	console_push(ctx);
}

bool console__can_accept(const struct console *c)
{
	return CONSOLE_BACKLOG - c->count >= EV_DATA_MAX;
}

void console__deliver(struct console *c, const struct event *ev)
{
	unsigned int len, n, tail, first;

	assert(ev->kind == CONSOLE_EV_RX);
	len = MIN(ev->len, (u32)EV_DATA_MAX);
	n = MIN(len, CONSOLE_BACKLOG - c->count);
	if (n < len) {
		/*
		 * Only a source that ignored console__can_accept() gets here:
		 * the reader's own events always fit.  Count the loss as
		 * consumed so the reader's credit stays exact.
		 */
		c->dropped += len - n;
		atomic_fetch_add(&c->consumed_bytes, len - n);
		pr_warn("console: input backlog full, %u bytes dropped (%llu so far)",
			len - n, (unsigned long long)c->dropped);
	}

	tail = (c->head + c->count) % CONSOLE_BACKLOG;
	first = MIN(n, CONSOLE_BACKLOG - tail);
	memcpy(c->backlog + tail, ev->data, first);
	memcpy(c->backlog, ev->data + first, n - first);
	c->count += n;

	atomic_fetch_add(&c->delivered_events, 1);
	console_push(c);
	/* The event slot is credit too, even if no byte moved. */
	console_wake_reader(c);
}

/* The source's release callback: input reaches the guest now. */
static void console_release(void *ctx, const struct event *ev)
{
	struct console *c = ctx;

	switch (ev->kind) {
	case CONSOLE_EV_RX:
		/*
		 * The reader's own events always fit (credit); anything
		 * else that supplies bytes must ask console__can_accept().
		 */
		console__deliver(c, ev);
		break;
	case CONSOLE_EV_EOF:
		pr_debug("console input closed");
		break;
	case CONSOLE_EV_QUIT:
		if (c->quit)
			c->quit(c->quit_ctx);
		break;
	}
}

int console__init(struct console *c, struct evq *q, struct uart *u,
		  void (*quit)(void *ctx), void *quit_ctx)
{
	struct sigaction sa;
	int ret;

	memset(c, 0, sizeof(*c));
	c->q = q;
	c->uart = u;
	c->quit = quit;
	c->quit_ctx = quit_ctx;
	c->src = (struct evq_source){
		.name = "console",
		.release = console_release,
		.ctx = c,
		.quota = CONSOLE_MAX_QUEUED_RX + 2,
	};
	ret = evq__add_source(q, &c->src);
	if (ret)
		return ret;
	c->wake[0] = c->wake[1] = -1;
	atomic_init(&c->posted_bytes, 0);
	atomic_init(&c->consumed_bytes, 0);
	atomic_init(&c->posted_events, 0);
	atomic_init(&c->delivered_events, 0);
	atomic_init(&c->starving, false);
	atomic_init(&c->stopping, false);

	/* A closed stdout must give EPIPE in console__tx, not kill us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL))
		return -errno;

	c->stdin_ok = fcntl(STDIN_FILENO, F_GETFL) != -1;
	c->is_tty = c->stdin_ok && isatty(STDIN_FILENO);
	if (c->is_tty) {
		ret = console_raw_mode();
		if (ret)
			pr_warn("console: cannot put the stdin terminal in raw mode: %s; input stays line-buffered",
				strerror(-ret));
	}

	uart__set_rx_room_cb(u, console_rx_room, c);
	return 0;
}

int console__start(struct console *c)
{
	sigset_t all, old;
	int ret;

	if (c->running)
		return 0;
	if (!c->stdin_ok) {
		pr_debug("console: stdin is closed, the guest gets no serial input");
		return 0;
	}
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	atomic_store(&c->stopping, false);

	/*
	 * The reader takes no asynchronous signals: SIGINT/SIGTERM and the
	 * vCPU kick belong to the threads that handle them.  Faults stay
	 * unblocked so a crash in the reader is still reported.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&c->reader, NULL, console_reader, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		close(c->wake[0]);
		close(c->wake[1]);
		c->wake[0] = c->wake[1] = -1;
		return -ret;
	}
	c->running = true;
	return 0;
}

void console__stop(struct console *c)
{
	static const u8 one = 1;

	if (!c->running)
		return;
	atomic_store(&c->stopping, true);
	if (write(c->wake[1], &one, 1) < 0) {
		/* EAGAIN: full pipe, the reader will wake anyway. */
	}
	pthread_join(c->reader, NULL);
	close(c->wake[0]);
	close(c->wake[1]);
	c->wake[0] = c->wake[1] = -1;
	c->running = false;
}
