/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_CONSOLE_H
#define MICROVM_CONSOLE_H

#include <pthread.h>
#include <stdatomic.h>

#include "../common/evq.h"
#include "../common/util.h"
#include "uart.h"

/*
 * The host side of COM1: guest output to stdout, stdin to the guest.
 *
 * Input crosses threads only as events of the console's input source.  The
 * reader thread reads stdin and posts CONSOLE_EV_RX; the vCPU loop pops
 * them and releases them to console__deliver(),
 * which appends to a backlog owned by the vCPU thread and moves what fits
 * into the UART's RX FIFO; the rest follows when the guest reads RBR (the
 * UART's rx-room callback).  So the moment a byte enters the FIFO is a
 * function of guest accesses and event order only.
 *
 * Flow control is end to end, by credit.  The reader never has more than
 * CONSOLE_BACKLOG bytes, nor more than CONSOLE_MAX_QUEUED_RX events,
 * outstanding (posted and not yet in the FIFO, resp. not yet delivered).
 * Hence:
 *  - console__deliver() always has room for what the reader posted, and
 *    the vCPU loop never needs to hold a serial event back.  It must not:
 *    the queue is FIFO, and holding one event would hold the timer and
 *    disk events behind it, stalling a guest that is not reading its
 *    serial port (Linux before a getty is up);
 *  - when the guest stops reading, the reader stops reading stdin, and
 *    the pipe or terminal buffer pushes back on whoever writes to it;
 *  - the reader puts at most CONSOLE_MAX_QUEUED_RX + 2 events (those plus
 *    one CONSOLE_EV_EOF and one CONSOLE_EV_QUIT) in the queue at any time:
 *    that is the source's quota, so the reader never blocks in
 *    evq__post(), and console__stop() can always join it.
 * console__can_accept() is for other suppliers of input bytes (the replay
 * core injecting recorded input, tests): hand over an event only while it
 * returns true; otherwise wait for the guest to read (another exit).
 */
#define CONSOLE_BACKLOG		4096
#define CONSOLE_MAX_QUEUED_RX	16
#define CONSOLE_PENDING		256	/* reader bytes awaiting credit */

/* The console source's event kinds. */
enum console_event {
	CONSOLE_EV_RX,		/* bytes in data[0..len) */
	CONSOLE_EV_EOF,		/* stdin closed */
	CONSOLE_EV_QUIT,	/* Ctrl-A x */
};

struct console {
	struct evq *q;
	struct evq_source src;
	struct uart *uart;
	void (*quit)(void *ctx);	/* Ctrl-A x, on the vCPU thread */
	void *quit_ctx;

	/* vCPU thread only. */
	u8 backlog[CONSOLE_BACKLOG];
	unsigned int head, count;
	u64 dropped;	/* only if a source ignored the rules */

	/* Credit shared with the reader: each counter has one writer. */
	atomic_uint_fast64_t posted_bytes;	/* reader */
	atomic_uint_fast64_t consumed_bytes;	/* vCPU: backlog -> FIFO */
	atomic_uint_fast64_t posted_events;	/* reader */
	atomic_uint_fast64_t delivered_events;	/* vCPU */
	atomic_bool starving;	/* reader waits for credit: wake it */
	atomic_bool stopping;

	/* Reader thread only, once started. */
	bool is_tty;
	bool escape;		/* saw Ctrl-A, waiting for the next key */
	bool quit_posted;
	u64 tty_dropped;
	u8 pending[CONSOLE_PENDING];
	unsigned int npending;

	bool stdin_ok;
	bool running;
	pthread_t reader;
	int wake[2];			/* self-pipe: vCPU/stop -> reader */
};

/*
 * Registers the console's input source, puts stdin in raw mode if it is a
 * terminal (restored at exit), ignores SIGPIPE, and connects the UART's
 * rx-room callback.  The UART must have been set up with console__tx as
 * its tx callback.  quit is called (vCPU thread) when the user types
 * Ctrl-A x.
 */
int console__init(struct console *c, struct evq *q, struct uart *u,
		  void (*quit)(void *ctx), void *quit_ctx);
/* Starts the stdin reader; does nothing (returns 0) if fd 0 is closed. */
int console__start(struct console *c);
/* Stops and joins the reader; safe if it never started. */
void console__stop(struct console *c);

/* vCPU thread: may another CONSOLE_EV_RX be handed to console__deliver()? */
bool console__can_accept(const struct console *c);
/* vCPU thread: take the bytes of one CONSOLE_EV_RX. */
void console__deliver(struct console *c, const struct event *ev);

/* The UART tx callback: writes to stdout.  ctx is unused (may be NULL). */
void console__tx(void *ctx, const u8 *buf, size_t len);
/*
 * Puts the terminal back as it was.  Idempotent and async-signal-safe
 * (one tcsetattr() of a saved struct), so a fatal-signal handler may call
 * it; registered with atexit() by console__init().
 */
void console__restore(void);

#endif
