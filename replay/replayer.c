// SPDX-License-Identifier: Apache-2.0
/*
 * Replaying: read the trace as the guest goes, apply each recorded input
 * at its recorded position, hand recorded clock values back, compare the
 * guest's submissions, checkpoints and final state with the recorded ones,
 * and stop at the first difference with a report: the event, where the
 * guest was, what it did instead, and the last events before it.  Never a
 * hang: a guest idle while nothing recorded can wake it is a divergence.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

static bool same_schema(const struct replay_source_info *a,
			const struct replay_source_info *b)
{
	unsigned int i;

	if (a->cls != b->cls || a->nfields != b->nfields || a->has_bytes != b->has_bytes)
		return false;
	for (i = 0; i < a->nfields; i++)
		if (strcmp(a->field[i], b->field[i]) || a->enc[i] != b->enc[i])
			return false;
	return true;
}

int replayer__start(struct replay *r, struct replay_machine *m)
{
	unsigned int i, j, n;
	int ret;

	ret = replay__reader_open(&r->rd, r->cfg.path, r->report, sizeof(r->report));
	if (ret) {
		r->status = REPLAY_UNREADABLE;
		return ret;
	}
	*m = *replay__reader_machine(r->rd);
	n = replay__reader_nsources(r->rd);
	for (i = 0; i < n; i++) {
		const struct replay_source_info *t = replay__reader_source(r->rd, i);

		for (j = 0; j < r->nsrc; j++)
			if (!strcmp(r->info[j].name, t->name))
				break;
		if (j == r->nsrc) {
			core__report(r, "cannot replay: the trace has input source '%s', which this VMM does not register",
				   t->name);
			return -EINVAL;
		}
		if (!same_schema(t, &r->info[j])) {
			core__report(r, "cannot replay: source '%s' has another payload or class in the trace",
				   t->name);
			return -EINVAL;
		}
		r->map[i] = &r->src[j];
		r->src[j].id = i;
	}
	for (j = 0; j < r->nsrc; j++) {
		for (i = 0; i < n; i++)
			if (r->map[i] == &r->src[j])
				break;
		if (i == n) {
			core__report(r, "cannot replay: source '%s' is not in the trace (it was recorded without it)",
				   r->info[j].name);
			return -EINVAL;
		}
	}
	/* The events name sources by trace id: keep the trace's table. */
	for (i = 0; i < n; i++)
		r->info[i] = *replay__reader_source(r->rd, i);
	r->backend = m->backend;
	return 0;
}

static const char *ev_str(struct replay *r, const struct replay_event *ev,
			  char *buf, size_t size)
{
	return trace__event_str(r->info, r->nsrc, ev, buf, size);
}

static void diverge(struct replay *r, const struct replay_event *expected,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void diverge(struct replay *r, const struct replay_event *expected,
		    const char *fmt, ...)
{
	char buf[512], pos[160];
	unsigned int i, first;
	va_list ap;

	if (r->status != REPLAY_OK)
		return;
	r->status = REPLAY_DIVERGED;
	if (expected)
		core__report(r, "replay diverged at event %" PRIu64 " (trace byte %" PRIu64 "):\n",
			   expected->index, expected->offset);
	else
		core__report(r, "replay diverged after event %" PRIu64 ":\n", r->events);
	core__report_add(r, "  actual:   ");
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	core__report_add(r, "%s at %s\n", buf, replay__pos_str(core__pos(r), pos, sizeof(pos)));
	if (expected)
		core__report_add(r, "  expected: %s\n", ev_str(r, expected, buf, sizeof(buf)));
	first = r->nhist > HISTORY ? r->nhist - HISTORY : 0;
	if (r->nhist)
		core__report_add(r, "  last events replayed:\n");
	for (i = first; i < r->nhist; i++)
		core__report_add(r, "    %s\n", ev_str(r, &r->hist[i % HISTORY], buf, sizeof(buf)));
}

/* The next recorded event, or NULL (and the verdict set) if none. */
static const struct replay_event *peek(struct replay *r)
{
	const char *why;
	uint64_t off;
	int ret;

	if (r->have_next == 1)
		return &r->next;
	if (r->have_next == -1)
		return NULL;
	ret = replay__reader_next(r->rd, &r->next);
	if (ret == 1) {
		r->have_next = 1;
		return &r->next;
	}
	r->have_next = -1;
	switch (replay__reader_end(r->rd, &off, &why)) {
	case REPLAY_TRACE_CORRUPT:
		if (r->status == REPLAY_OK) {
			r->status = REPLAY_UNREADABLE;
			core__report(r, "trace unreadable at byte %" PRIu64 ": %s (after %" PRIu64 " events)",
				   off, why, r->events);
		}
		break;
	case REPLAY_TRACE_CUT:
		if (r->status == REPLAY_OK) {
			r->status = REPLAY_INCOMPLETE;
			core__report(r, "the trace ends early at byte %" PRIu64 ", without an END record (the recording was cut short): identical up to its last event (%" PRIu64 " events), the guest stopped after it",
				   off, r->events);
		}
		break;
	default:
		break;
	}
	return NULL;
}

static void consume(struct replay *r)
{
	r->hist[r->nhist % HISTORY] = r->next;
	r->nhist++;
	r->events++;
	r->have_next = 0;
}

static bool fields_match(const struct replay_source *s, const struct replay_payload *a,
			 const struct replay_payload *b)
{
	uint32_t mask = s->ops->checked;
	unsigned int i;

	for (i = 0; i < s->ops->nfields; i++)
		if ((!mask || (mask & (1u << i))) && a->v[i] != b->v[i])
			return false;
	if (!mask && s->ops->has_bytes &&
	    (a->len != b->len || memcmp(a->bytes, b->bytes, a->len)))
		return false;
	return true;
}

/* "id=3 status=0" for the report. */
static const char *payload_str(struct replay *r, const struct replay_source *s,
			       enum replay_event_type type,
			       const struct replay_payload *p, char *buf, size_t size)
{
	struct replay_event ev;
	const char *at;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.source = s->id;
	ev.p = *p;
	char word[16];

	trace__event_str(r->info, r->nsrc, &ev, buf, size);
	/* Drop the "#0 @exit 0 " prefix: the report prints the position. */
	snprintf(word, sizeof(word), " %s ", trace__type_name(type));
	at = strstr(buf, word);
	if (at)
		memmove(buf, at + 1, strlen(at + 1) + 1);
	return buf;
}

/* An event the guest should have reached by now. */
static bool check_passed(struct replay *r)
{
	const struct replay_event *ev = peek(r);

	if (!ev)
		return r->status != REPLAY_OK;
	if (ev->pos.exits < r->exits) {
		diverge(r, ev, "the guest went past the recorded position without it");
		return true;
	}
	return false;
}

static void replay_checkpoint(struct replay *r)
{
	const struct replay_event *ev = peek(r);
	struct replay_state st = { 0, 0, 0 };

	if (!ev)
		return;
	if (ev->type != REPLAY_EV_CHECKPOINT ||
	    replay__pos_cmp(core__pos(r), &ev->pos) != REPLAY_POS_NOW) {
		diverge(r, ev, "checkpoint");
		return;
	}
	if (r->cfg.vmm && r->cfg.vmm->state)
		r->cfg.vmm->state(r->cfg.vmm_ctx, &st, false);
	if (st.regs != ev->state.regs || st.serial != ev->state.serial ||
	    (ev->state.ram && st.ram != ev->state.ram)) {
		diverge(r, ev, "checkpoint regs=%016" PRIx64 " serial=%016" PRIx64
			" ram=%016" PRIx64 " (state differs)", st.regs, st.serial, st.ram);
		return;
	}
	consume(r);
}

void replayer__exit(struct replay *r, enum replay_exit_kind kind)
{
	if (kind != REPLAY_EXIT_SYNC || check_passed(r))
		return;
	if (r->exits >= r->next_checkpoint) {
		r->next_checkpoint += r->cfg.checkpoint_every;
		replay_checkpoint(r);
	}
}

uint64_t replayer__clock(struct replay *r, struct replay_source *s, uint64_t value)
{
	const struct replay_event *ev;
	struct replay_payload p;
	char buf[256];

	p.v[0] = value;
	p.len = 0;
	if (r->status != REPLAY_OK || !(ev = peek(r)))
		return value;
	if (ev->type != REPLAY_EV_CLOCK || ev->source != s->id ||
	    replay__pos_cmp(core__pos(r), &ev->pos) != REPLAY_POS_NOW) {
		diverge(r, ev, "%s",
			payload_str(r, s, REPLAY_EV_CLOCK, &p, buf, sizeof(buf)));
		return value;
	}
	value = ev->p.v[0];
	consume(r);
	return value;
}

int replayer__release(struct replay *r)
{
	const struct replay_event *ev;
	struct replay_payload actual;
	struct replay_source *s;
	char buf[256];
	int n = 0, ret;

	if (r->mode != REPLAY_REPLAY)
		return 0;
	while (r->status == REPLAY_OK && (ev = peek(r)) && ev->type == REPLAY_EV_INPUT &&
	       replay__pos_cmp(core__pos(r), &ev->pos) == REPLAY_POS_NOW) {
		s = r->map[ev->source];
		memset(&actual, 0, sizeof(actual));
		ret = s->ops->apply(s->ctx, &ev->p, &actual);
		if (ret < 0) {
			diverge(r, ev, "the input cannot be applied: %s", strerror(-ret));
			break;
		}
		if (!fields_match(s, &ev->p, &actual)) {
			diverge(r, ev, "%s (the payload differs)",
				payload_str(r, s, REPLAY_EV_INPUT, &actual, buf, sizeof(buf)));
			break;
		}
		consume(r);
		n++;
	}
	return r->status == REPLAY_OK ? n : -1;
}

void replayer__submit(struct replay *r, struct replay_source *s,
		      const struct replay_payload *p)
{
	const struct replay_event *ev;
	char buf[256];

	if (r->status != REPLAY_OK || !(ev = peek(r)))
		return;
	if (ev->type != REPLAY_EV_SUBMIT || ev->source != s->id ||
	    replay__pos_cmp(core__pos(r), &ev->pos) != REPLAY_POS_NOW ||
	    !fields_match(s, &ev->p, p)) {
		diverge(r, ev, "%s",
			payload_str(r, s, REPLAY_EV_SUBMIT, p, buf, sizeof(buf)));
		return;
	}
	consume(r);
}

int replay__next_pos(struct replay *r, struct replay_pos *pos)
{
	const struct replay_event *ev;

	if (!r->hot.active || r->mode != REPLAY_REPLAY || r->status != REPLAY_OK ||
	    !(ev = peek(r)))
		return -ENODATA;
	*pos = ev->pos;
	return 0;
}

int replay__idle(struct replay *r)
{
	const struct replay_event *ev;

	if (!r->hot.active || r->mode != REPLAY_REPLAY)
		return 0;
	if (r->status != REPLAY_OK || !(ev = peek(r)))
		return -1;
	if (ev->type == REPLAY_EV_INPUT &&
	    replay__pos_cmp(core__pos(r), &ev->pos) == REPLAY_POS_NOW)
		return 1;
	if (ev->type == REPLAY_EV_END)
		diverge(r, ev, "the guest waits for an input, and the recording has no more");
	else
		diverge(r, ev, "the guest waits for an input that cannot come (the next recorded event is not an input due here)");
	return -1;
}

void replayer__finish(struct replay *r)
{
	const struct replay_event *ev;
	struct replay_state st = { 0, 0, 0 };

	if (r->status != REPLAY_OK || !(ev = peek(r)))
		return;
	/*
	 * A recording interrupted by its user (a signal) ends wherever the
	 * host stopped the guest, often asynchronously: the replay stops at
	 * the synchronous exit before it, which is as far as it can be
	 * compared.
	 */
	if (ev->type != REPLAY_EV_END ||
	    (replay__pos_cmp(core__pos(r), &ev->pos) != REPLAY_POS_NOW &&
	     !(ev->pos.async && ev->pos.exits == r->exits))) {
		diverge(r, ev, "the guest stopped");
		return;
	}
	if (r->cfg.vmm && r->cfg.vmm->state)
		r->cfg.vmm->state(r->cfg.vmm_ctx, &st, true);
	if (st.regs != ev->state.regs || st.serial != ev->state.serial ||
	    st.ram != ev->state.ram)
		diverge(r, ev, "the guest stopped with regs=%016" PRIx64
			" serial=%016" PRIx64 " ram=%016" PRIx64 " (final state differs)",
			st.regs, st.serial, st.ram);
	else
		consume(r);
}

bool replay__at_end(struct replay *r)
{
	const struct replay_event *ev;

	if (!r->hot.active || r->mode != REPLAY_REPLAY || r->status != REPLAY_OK ||
	    !(ev = peek(r)))
		return false;
	if (ev->type != REPLAY_EV_END)
		return false;
	/* Exact positions: the very instruction, not just the exit count. */
	if (ev->pos.exact)
		return replay__pos_cmp(core__pos(r), &ev->pos) == REPLAY_POS_NOW;
	return ev->pos.exits == r->exits;
}

struct replay_source *replay__next_source(struct replay *r)
{
	const struct replay_event *ev;

	if (!r->hot.active || r->mode != REPLAY_REPLAY || r->status != REPLAY_OK ||
	    !(ev = peek(r)))
		return NULL;
	if (ev->type != REPLAY_EV_INPUT && ev->type != REPLAY_EV_CLOCK &&
	    ev->type != REPLAY_EV_SUBMIT)
		return NULL;
	return r->map[ev->source];
}

enum replay_event_type replay__next_type(struct replay *r)
{
	const struct replay_event *ev;

	if (!r->hot.active || r->mode != REPLAY_REPLAY || r->status != REPLAY_OK ||
	    !(ev = peek(r)) || ev->pos.exits != r->exits)
		return 0;
	return ev->type;
}

void replay__progress(struct replay *r, uint64_t *events, uint64_t *offset)
{
	const struct replay_event *ev;

	*events = r->events;
	*offset = 0;
	if (r->mode == REPLAY_REPLAY && r->status == REPLAY_OK && (ev = peek(r)))
		*offset = ev->offset;
}
