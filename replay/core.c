// SPDX-License-Identifier: Apache-2.0
/*
 * The replay core: sources and blockers, start, positions, and the calls
 * of the run loop, which go to the recorder (record.c) or the replayer
 * (replayer.c).  Single-threaded: every call comes from the vCPU thread,
 * host threads queue their inputs in the VMM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

#define DEFAULT_FLUSH_EVENTS 4096
#define DEFAULT_FLUSH_MS 100
#define DEFAULT_CHECKPOINT_EVERY 65536

/* What a failed allocation hands out: off, and safe to call. */
static struct replay replay_off;

void core__report(struct replay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->report, sizeof(r->report), fmt, ap);
	va_end(ap);
}

void core__report_add(struct replay *r, const char *fmt, ...)
{
	size_t n = strlen(r->report);
	va_list ap;

	if (n >= sizeof(r->report) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(r->report + n, sizeof(r->report) - n, fmt, ap);
	va_end(ap);
}

int replay__new(struct replay **out, const struct replay_config *cfg)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (!r) {
		*out = &replay_off;
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->mode = cfg->mode;
	if (!r->cfg.flush_events)
		r->cfg.flush_events = DEFAULT_FLUSH_EVENTS;
	if (!r->cfg.flush_ms)
		r->cfg.flush_ms = DEFAULT_FLUSH_MS;
	if (!r->cfg.checkpoint_every)
		r->cfg.checkpoint_every = DEFAULT_CHECKPOINT_EVERY;
	r->next_checkpoint = r->cfg.checkpoint_every;
	r->w.fd = -1;
	*out = r;
	return 0;
}

struct replay_source *replay__add_source(struct replay *r,
					 const struct replay_source_ops *ops,
					 void *ctx)
{
	struct replay_source_info *si;
	struct replay_source *s;
	unsigned int i;

	/*
	 * replay_off (a failed replay__new()) registers too: with replay
	 * off the VMM still applies its inputs through the sources.
	 */
	if (r->nsrc >= TRACE_SOURCES_MAX || ops->nfields > REPLAY_FIELDS_MAX) {
		r->too_many = true;
		return NULL;
	}
	s = &r->src[r->nsrc];
	s->ops = ops;
	s->ctx = ctx;
	s->id = r->nsrc;
	si = &r->info[r->nsrc];
	snprintf(si->name, sizeof(si->name), "%s", ops->name);
	si->cls = ops->cls;
	si->nfields = ops->nfields;
	si->has_bytes = ops->has_bytes;
	for (i = 0; i < ops->nfields; i++) {
		snprintf(si->field[i], sizeof(si->field[i]), "%s", ops->fields[i].name);
		si->enc[i] = ops->fields[i].enc;
	}
	r->nsrc++;
	return s;
}

void replay__add_blocker(struct replay *r, const char *what)
{
	size_t n = strlen(r->blockers);

	if (r == &replay_off)
		return;
	snprintf(r->blockers + n, sizeof(r->blockers) - n, "%s%s",
		 n ? "; " : "", what);
}

/* Replay blockers, as QEMU has them: refuse with every reason. */
static int check_blockers(struct replay *r)
{
	const char *verb = r->mode == REPLAY_RECORD ? "record" : "replay";
	unsigned int i;
	bool any = false;

	core__report(r, "cannot %s:", verb);
	for (i = 0; i < r->nsrc; i++) {
		const struct replay_source_ops *o = r->src[i].ops;
		bool bad_class = o->cls < REPLAY_SRC_INPUT || o->cls > REPLAY_SRC_SUBMIT;

		if (o->blocker || bad_class || (o->cls == REPLAY_SRC_INPUT && !o->apply)) {
			core__report_add(r, " source '%s' has no replay support (%s);", o->name,
				   o->blocker ? o->blocker :
				   bad_class ? "unknown class" : "no apply callback");
			any = true;
		}
	}
	if (r->blockers[0]) {
		core__report_add(r, " %s;", r->blockers);
		any = true;
	}
	if (r->too_many) {
		core__report_add(r, " more than %u sources or %u fields;", TRACE_SOURCES_MAX,
			   REPLAY_FIELDS_MAX);
		any = true;
	}
	if (!any)
		r->report[0] = 0;
	return any ? -EPERM : 0;
}

/*
 * What the writer would write but a reader refuse: refuse it now, not
 * after an hour of recording.
 */
static int check_sources(struct replay *r)
{
	unsigned int i, j;

	for (i = 0; i < r->nsrc; i++) {
		const struct replay_source_ops *o = r->src[i].ops;

		if (!o->name || !o->name[0] || strlen(o->name) >= REPLAY_NAME_MAX) {
			core__report(r, "source %u: a name of 1 to %u bytes is needed", i,
				   REPLAY_NAME_MAX - 1);
			return -EINVAL;
		}
		for (j = 0; j < o->nfields; j++)
			if (!o->fields[j].name || !o->fields[j].name[0] ||
			    strlen(o->fields[j].name) >= REPLAY_NAME_MAX ||
			    o->fields[j].enc < REPLAY_ENC_VARINT ||
			    o->fields[j].enc > REPLAY_ENC_FIXED64) {
				core__report(r, "source '%s': field %u needs a name of 1 to %u bytes and a known encoding",
					   o->name, j, REPLAY_NAME_MAX - 1);
				return -EINVAL;
			}
		for (j = 0; j < i; j++)
			if (!strcmp(o->name, r->src[j].ops->name)) {
				core__report(r, "two sources are named '%s'", o->name);
				return -EINVAL;
			}
	}
	return 0;
}

int replay__start(struct replay *r, struct replay_machine *m)
{
	int ret;

	if (r == &replay_off) {
		if (r->mode != REPLAY_OFF)
			return -ENOMEM;
		return 0;
	}
	if (r->mode == REPLAY_OFF)
		return 0;
	ret = check_blockers(r);
	if (!ret)
		ret = check_sources(r);
	if (ret)
		return ret;
	if (!r->cfg.path) {
		core__report(r, "no trace file given");
		return -EINVAL;
	}
	if (r->mode == REPLAY_RECORD) {
		if (!m->backend)
			m->backend = REPLAY_BACKEND_EXIT;
		r->backend = m->backend;
		ret = record__start(r, m);
	} else {
		ret = replayer__start(r, m);
	}
	if (ret)
		return ret;
	r->start_ns = trace__now_ns();
	r->hot.active = 1;
	return 0;
}


const struct replay_pos *core__pos(struct replay *r)
{
	if (r->located)
		return &r->cur;
	bool async = r->at_async && r->backend == REPLAY_BACKEND_EXIT;
	bool exact = r->backend != REPLAY_BACKEND_EXIT;

	memset(&r->cur, 0, sizeof(r->cur));
	r->cur.exits = r->exits;
	r->cur.async = async;
	r->cur.exact = exact;
	if ((async || exact) && r->cfg.vmm && r->cfg.vmm->locate)
		r->cfg.vmm->locate(r->cfg.vmm_ctx, &r->cur);
	/* The core counts exits and knows the kind; the VMM fills the rest. */
	r->cur.exits = r->exits;
	r->cur.async = async;
	r->cur.exact = exact;
	if (!async && !exact)
		r->cur.rip = r->cur.digest = 0;
	if (!async)
		r->cur.regs = 0;
	if (!exact)
		r->cur.branches = r->cur.rcx = r->cur.insns = 0;
	if (!async)
		r->cur.digest = exact ? 0 : r->cur.digest;
	r->located = true;
	return &r->cur;
}

void replay__position(struct replay *r, struct replay_pos *pos)
{
	*pos = *core__pos(r);
}

uint64_t replay__exits(const struct replay *r)
{
	return r->exits;
}


int replay__exit_slow(struct replay *r, enum replay_exit_kind kind)
{
	if (r->status != REPLAY_OK)
		return 1;
	r->located = false;
	if (kind == REPLAY_EXIT_SYNC) {
		r->exits++;
		r->at_async = false;
	} else {
		r->at_async = true;
	}
	if (r->mode == REPLAY_RECORD)
		record__exit(r, kind);
	else
		replayer__exit(r, kind);
	/* A recording that failed is off (hot.active = 0) and goes on. */
	return r->mode == REPLAY_REPLAY && r->status != REPLAY_OK;
}

uint64_t replay__clock_slow(struct replay *r, struct replay_source *s, uint64_t value)
{
	struct replay_payload p;

	if (r->mode == REPLAY_REPLAY)
		return replayer__clock(r, s, value);
	p.v[0] = value;
	p.len = 0;
	record__payload(r, REPLAY_EV_CLOCK, s, &p);
	return value;
}

enum replay_input_result replay__input(struct replay *r, struct replay_source *s,
				       const struct replay_payload *p)
{
	if (r->hot.active) {
		if (r->mode == REPLAY_REPLAY)
			return REPLAY_HELD;
		record__payload(r, REPLAY_EV_INPUT, s, p);
	}
	/* Off never checked the blockers: a source may lack apply. */
	if (s->ops->apply)
		s->ops->apply(s->ctx, p, NULL);
	return REPLAY_APPLIED;
}

int replay__release_slow(struct replay *r)
{
	return r->mode == REPLAY_REPLAY ? replayer__release(r) : 0;
}

void replay__submit(struct replay *r, struct replay_source *s,
		    const struct replay_payload *p)
{
	if (!r->hot.active)
		return;
	if (r->mode == REPLAY_RECORD)
		record__payload(r, REPLAY_EV_SUBMIT, s, p);
	else
		replayer__submit(r, s, p);
}

enum replay_status replay__finish(struct replay *r)
{
	if (!r->hot.active)
		return r->status;
	if (r->mode == REPLAY_RECORD)
		record__finish(r);
	else
		replayer__finish(r);
	r->hot.active = 0;
	return r->status;
}

enum replay_status replay__status(const struct replay *r)
{
	return r->status;
}

const char *replay__report(const struct replay *r)
{
	if (r == &replay_off && r->mode == REPLAY_OFF)
		return "out of memory: replay is off";
	return r->report;
}

int replay__exit_code(const struct replay *r)
{
	switch (r->status) {
	case REPLAY_OK:
		return REPLAY_EXIT_IDENTICAL;
	case REPLAY_DIVERGED:
		return REPLAY_EXIT_DIVERGED;
	case REPLAY_FAILED:
		return REPLAY_EXIT_REC_FAILED;
	case REPLAY_INCOMPLETE:
		return REPLAY_EXIT_INCOMPLETE;
	default:
		return REPLAY_EXIT_UNREADABLE;
	}
}

void replay__free(struct replay *r)
{
	if (!r || r == &replay_off)
		return;
	if (r->w.fd >= 0)
		trace_writer__close(&r->w);
	free(r->w.buf);
	replay__reader_close(r->rd);
	free(r);
}

