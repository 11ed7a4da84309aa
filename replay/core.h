/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_REPLAY_CORE_H
#define MICROVM_REPLAY_CORE_H

/*
 * The state of a replay core, shared by core.c (sources, lifecycle, the
 * dispatch of the run-loop calls), record.c and replayer.c.  Internal:
 * VMMs see struct replay only as an opaque pointer.
 */
#include "trace.h"

#define HISTORY 8			/* events shown before a divergence */

struct replay_source {
	const struct replay_source_ops *ops;
	void *ctx;
	unsigned int id;		/* in the trace */
};

struct replay {
	struct replay_hot hot;		/* first: read by the inline calls */
	enum replay_mode mode;
	enum replay_status status;
	struct replay_config cfg;
	enum replay_backend backend;
	struct replay_source src[TRACE_SOURCES_MAX];
	struct replay_source_info info[TRACE_SOURCES_MAX];
	unsigned int nsrc;
	bool too_many;
	char blockers[1024];
	uint64_t exits;			/* synchronous exits so far */
	bool at_async;			/* stopped asynchronously after them */
	bool located;			/* cur below is filled for this stop */
	struct replay_pos cur;
	uint64_t next_checkpoint;
	uint64_t start_ns;
	uint64_t events;
	char report[4096];
	/* record */
	struct trace_writer w;
	/* replay */
	struct replay_reader *rd;
	struct replay_event next;
	int have_next;			/* 1 next is valid, 0 not read, -1 none */
	struct replay_source *map[TRACE_SOURCES_MAX];	/* trace id -> ours */
	struct replay_event hist[HISTORY];
	unsigned int nhist;
};

/* core.c */
void core__report(struct replay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void core__report_add(struct replay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The current position, locate()d once per stop when needed. */
const struct replay_pos *core__pos(struct replay *r);

/* record.c */
int record__start(struct replay *r, struct replay_machine *m);
void record__exit(struct replay *r, enum replay_exit_kind kind);
void record__state(struct replay *r, enum replay_event_type type, bool final);
void record__payload(struct replay *r, enum replay_event_type type,
		     struct replay_source *s, const struct replay_payload *p);
void record__finish(struct replay *r);

/* replayer.c */
int replayer__start(struct replay *r, struct replay_machine *m);
void replayer__exit(struct replay *r, enum replay_exit_kind kind);
uint64_t replayer__clock(struct replay *r, struct replay_source *s, uint64_t value);
int replayer__release(struct replay *r);
void replayer__submit(struct replay *r, struct replay_source *s,
		      const struct replay_payload *p);
void replayer__finish(struct replay *r);

#endif
