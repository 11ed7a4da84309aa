// SPDX-License-Identifier: Apache-2.0
/* Trace rewriting through the public header: see rewrite.h. */
#include "rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rewrite__load(struct rewrite *rw, const char *path)
{
	struct replay_reader *rd;
	struct replay_event ev;
	char err[256];
	unsigned int cap = 0, i;

	memset(rw, 0, sizeof(*rw));
	if (replay__reader_open(&rd, path, err, sizeof(err))) {
		fprintf(stderr, "rewrite: %s\n", err);
		return -1;
	}
	rw->machine = *replay__reader_machine(rd);
	rw->nsrc = replay__reader_nsources(rd);
	for (i = 0; i < rw->nsrc; i++)
		rw->src[i] = *replay__reader_source(rd, i);
	while (replay__reader_next(rd, &ev) == 1) {
		if (rw->nev == cap) {
			cap = cap ? 2 * cap : 256;
			rw->ev = realloc(rw->ev, cap * sizeof(*rw->ev));
			if (!rw->ev)
				abort();
		}
		rw->ev[rw->nev++] = ev;
	}
	replay__reader_close(rd);
	return 0;
}

void rewrite__free(struct rewrite *rw)
{
	free(rw->ev);
	rw->ev = NULL;
}

struct rw_run {
	struct rewrite *rw;
	unsigned int next_state;	/* next CHECKPOINT/END in rw->ev */
	struct replay_pos at;		/* the asynchronous stop we are at */
};

static int noop_apply(void *ctx, const struct replay_payload *in,
		      struct replay_payload *actual)
{
	(void)ctx;
	(void)in;
	(void)actual;
	return 0;
}

static void rw_locate(void *ctx, struct replay_pos *pos)
{
	struct rw_run *run = ctx;

	pos->rip = run->at.rip;
	pos->digest = run->at.digest;
	/* Exact backends: the whole position is the event's. */
	pos->branches = run->at.branches;
	pos->rcx = run->at.rcx;
	pos->insns = run->at.insns;
}

static bool same_exact(const struct replay_pos *a, const struct replay_pos *b)
{
	return a->branches == b->branches && a->rip == b->rip &&
	       a->rcx == b->rcx && a->insns == b->insns;
}

static void rw_state(void *ctx, struct replay_state *st, bool final)
{
	struct rw_run *run = ctx;
	struct rewrite *rw = run->rw;

	(void)final;
	while (run->next_state < rw->nev &&
	       rw->ev[run->next_state].type != REPLAY_EV_CHECKPOINT &&
	       rw->ev[run->next_state].type != REPLAY_EV_END)
		run->next_state++;
	if (run->next_state < rw->nev)
		*st = rw->ev[run->next_state++].state;
	else
		memset(st, 0, sizeof(*st));
}

static int by_exits(const void *a, const void *b)
{
	const struct replay_event *x = a, *y = b;

	if (x->pos.exits != y->pos.exits)
		return x->pos.exits < y->pos.exits ? -1 : 1;
	/* Stable: the original index breaks ties. */
	return x->index < y->index ? -1 : x->index > y->index;
}

int rewrite__save(struct rewrite *rw, const char *path)
{
	static const struct replay_vmm_ops vmm = { rw_locate, rw_state };
	struct replay_source_ops ops[64];
	struct replay_field fields[64][REPLAY_FIELDS_MAX];
	struct replay_source *src[64];
	struct rw_run run = { rw, 0, { 0 } };
	struct replay_config cfg = {
		.mode = REPLAY_RECORD, .path = path,
		.flush_events = rw->flush_events ? rw->flush_events : 64,
		.checkpoint_every = rw->checkpoint_every, .vmm = &vmm, .vmm_ctx = &run,
	};
	struct replay *r;
	uint64_t exits = 0;
	bool at_async = false;
	unsigned int i, j;
	int ret = 0;

	qsort(rw->ev, rw->nev, sizeof(*rw->ev), by_exits);
	replay__new(&r, &cfg);
	for (i = 0; i < rw->nsrc; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].name = rw->src[i].name;
		ops[i].cls = rw->src[i].cls;
		ops[i].nfields = rw->src[i].nfields;
		ops[i].has_bytes = rw->src[i].has_bytes;
		ops[i].apply = noop_apply;
		for (j = 0; j < rw->src[i].nfields; j++)
			fields[i][j] = (struct replay_field){ rw->src[i].field[j],
							      rw->src[i].enc[j] };
		ops[i].fields = fields[i];
		src[i] = replay__add_source(r, &ops[i], NULL);
	}
	if (replay__start(r, &rw->machine)) {
		fprintf(stderr, "rewrite: %s\n", replay__report(r));
		replay__free(r);
		return -1;
	}
	for (i = 0; i < rw->nev; i++) {
		const struct replay_event *ev = &rw->ev[i];

		while (exits < ev->pos.exits) {
			replay__exit(r, REPLAY_EXIT_SYNC);
			exits++;
			at_async = false;
		}
		if (ev->pos.async && (!at_async || run.at.rip != ev->pos.rip ||
				      run.at.digest != ev->pos.digest)) {
			run.at = ev->pos;
			replay__exit(r, REPLAY_EXIT_ASYNC);
			at_async = true;
		}
		/* An exact position: a stop there (the core locates anew). */
		if (ev->pos.exact && !same_exact(&run.at, &ev->pos)) {
			run.at = ev->pos;
			replay__exit(r, REPLAY_EXIT_ASYNC);
		}
		switch (ev->type) {
		case REPLAY_EV_INPUT:
			replay__input(r, src[ev->source], &ev->p);
			break;
		case REPLAY_EV_CLOCK:
			replay__clock(r, src[ev->source], ev->p.v[0]);
			break;
		case REPLAY_EV_SUBMIT:
			replay__submit(r, src[ev->source], &ev->p);
			break;
		case REPLAY_EV_CHECKPOINT:
			break;	/* made by the core's own schedule */
		case REPLAY_EV_END:
			if (replay__finish(r) != REPLAY_OK)
				ret = -1;
			break;
		}
	}
	if (ret || replay__status(r) != REPLAY_OK) {
		fprintf(stderr, "rewrite: %s\n", replay__report(r));
		ret = -1;
	}
	replay__free(r);
	return ret;
}
