// SPDX-License-Identifier: Apache-2.0
/*
 * The replay core: sources, the calls of the run loop, recording (log the
 * position and payload of every input as it is applied) and replaying
 * (apply the recorded inputs at their recorded positions, compare what
 * the guest asks for with what it asked for then, stop at the first
 * difference with a report).  Single-threaded: every call comes from the
 * vCPU thread, host threads queue their inputs in the VMM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "trace.h"

#define HISTORY 8
#define DEFAULT_FLUSH_EVENTS 4096
#define DEFAULT_FLUSH_MS 100
#define DEFAULT_CHECKPOINT_EVERY 65536

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

/* What a failed allocation hands out: off, and safe to call. */
static struct replay replay_off;

static void set_report(struct replay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_report(struct replay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->report, sizeof(r->report), fmt, ap);
	va_end(ap);
}

static void add_report(struct replay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_report(struct replay *r, const char *fmt, ...)
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

	set_report(r, "cannot %s:", verb);
	for (i = 0; i < r->nsrc; i++) {
		const struct replay_source_ops *o = r->src[i].ops;
		bool bad_class = o->cls < REPLAY_SRC_INPUT || o->cls > REPLAY_SRC_SUBMIT;

		if (o->blocker || bad_class || (o->cls == REPLAY_SRC_INPUT && !o->apply)) {
			add_report(r, " source '%s' has no replay support (%s);", o->name,
				   o->blocker ? o->blocker :
				   bad_class ? "unknown class" : "no apply callback");
			any = true;
		}
	}
	if (r->blockers[0]) {
		add_report(r, " %s;", r->blockers);
		any = true;
	}
	if (r->too_many) {
		add_report(r, " more than %u sources or %u fields;", TRACE_SOURCES_MAX,
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
			set_report(r, "source %u: a name of 1 to %u bytes is needed", i,
				   REPLAY_NAME_MAX - 1);
			return -EINVAL;
		}
		for (j = 0; j < o->nfields; j++)
			if (!o->fields[j].name || !o->fields[j].name[0] ||
			    strlen(o->fields[j].name) >= REPLAY_NAME_MAX ||
			    o->fields[j].enc < REPLAY_ENC_VARINT ||
			    o->fields[j].enc > REPLAY_ENC_FIXED64) {
				set_report(r, "source '%s': field %u needs a name of 1 to %u bytes and a known encoding",
					   o->name, j, REPLAY_NAME_MAX - 1);
				return -EINVAL;
			}
		for (j = 0; j < i; j++)
			if (!strcmp(o->name, r->src[j].ops->name)) {
				set_report(r, "two sources are named '%s'", o->name);
				return -EINVAL;
			}
	}
	return 0;
}

static int check_machine(struct replay *r, struct replay_machine *m)
{
	if (m->backend < REPLAY_BACKEND_EXIT || m->backend > REPLAY_BACKEND_PMU) {
		set_report(r, "cannot record: unknown position backend %d", m->backend);
		return -EINVAL;
	}
	if (m->start != REPLAY_START_BOOT) {
		set_report(r, "cannot record: starting from a saved machine state is not supported yet");
		return -EOPNOTSUPP;
	}
	if (m->ndisks > REPLAY_DISKS_MAX || m->ndevices > REPLAY_DEVICES_MAX ||
	    m->ncpuid > REPLAY_CPUID_MAX || m->ncpuid_seen > REPLAY_CPUID_MAX) {
		set_report(r, "cannot record: more than %u disks, %u devices or %u CPUID leaves",
			   REPLAY_DISKS_MAX, REPLAY_DEVICES_MAX, REPLAY_CPUID_MAX);
		return -E2BIG;
	}
	return 0;
}

/* The VMM's strings, terminated whatever it left in them. */
static void terminate_strings(struct replay_machine *m)
{
	unsigned int i;

#define TERMINATE(a) ((a)[sizeof(a) - 1] = 0)
	TERMINATE(m->cmdline);
	TERMINATE(m->kernel.path);
	TERMINATE(m->initrd.path);
	TERMINATE(m->snapshot.path);
	TERMINATE(m->host_probe);
	TERMINATE(m->vmm_version);
	for (i = 0; i < REPLAY_DISKS_MAX; i++)
		TERMINATE(m->disks[i].path);
	for (i = 0; i < REPLAY_DEVICES_MAX; i++)
		TERMINATE(m->devices[i].name);
#undef TERMINATE
}

static int start_record(struct replay *r, struct replay_machine *m)
{
	void *fdt;
	int size, ret;

	ret = check_machine(r, m);
	if (ret)
		return ret;
	terminate_strings(m);
	fdt = malloc(TRACE_FDT_MAX);
	if (!fdt)
		return -ENOMEM;
	size = machine__to_fdt(m, r->info, r->nsrc, fdt, TRACE_FDT_MAX);
	if (size < 0) {
		free(fdt);
		set_report(r, "cannot record: the machine description does not fit in %u bytes",
			   TRACE_FDT_MAX);
		return size;
	}
	ret = trace_writer__open(&r->w, r->cfg.path, fdt, (uint32_t)size, r->info,
				 r->nsrc, r->report, sizeof(r->report));
	free(fdt);
	if (ret)
		return ret;
	r->w.flush_events = r->cfg.flush_events;
	r->w.flush_ms = r->cfg.flush_ms;
	return 0;
}

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

static int start_replay(struct replay *r, struct replay_machine *m)
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
			set_report(r, "cannot replay: the trace has input source '%s', which this VMM does not register",
				   t->name);
			return -EINVAL;
		}
		if (!same_schema(t, &r->info[j])) {
			set_report(r, "cannot replay: source '%s' has another payload or class in the trace",
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
			set_report(r, "cannot replay: source '%s' is not in the trace (it was recorded without it)",
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
		set_report(r, "no trace file given");
		return -EINVAL;
	}
	if (r->mode == REPLAY_RECORD) {
		if (!m->backend)
			m->backend = REPLAY_BACKEND_EXIT;
		r->backend = m->backend;
		ret = start_record(r, m);
	} else {
		ret = start_replay(r, m);
	}
	if (ret)
		return ret;
	r->start_ns = trace__now_ns();
	r->hot.active = 1;
	return 0;
}

/* ---- Positions ---- */

static const struct replay_pos *cur_pos(struct replay *r)
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
	if (!exact)
		r->cur.branches = r->cur.rcx = r->cur.insns = 0;
	if (!async)
		r->cur.digest = exact ? 0 : r->cur.digest;
	r->located = true;
	return &r->cur;
}

void replay__position(struct replay *r, struct replay_pos *pos)
{
	*pos = *cur_pos(r);
}

/* ---- Recording ---- */

static void rec_event(struct replay *r, struct replay_event *ev)
{
	int ret;

	ev->pos = *cur_pos(r);
	ev->index = r->events;
	ret = trace_writer__append(&r->w, ev);
	if (!ret) {
		r->events++;
		return;
	}
	/*
	 * Stop recording, keep running: the guest must not die because a
	 * disk filled.  Everything flushed before stays readable.
	 */
	r->status = REPLAY_FAILED;
	r->hot.active = 0;
	set_report(r,
		   "recording stopped: cannot write the trace %s at byte %" PRIu64 ": %s; "
		   "the trace is readable up to byte %" PRIu64 " (%" PRIu64 " events, no END record)",
		   r->cfg.path, r->w.offset, strerror(-ret), r->w.offset,
		   r->w.first_index);
}

static void rec_state(struct replay *r, enum replay_event_type type, bool final)
{
	struct replay_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	if (r->cfg.vmm && r->cfg.vmm->state)
		r->cfg.vmm->state(r->cfg.vmm_ctx, &ev.state, final);
	if (type == REPLAY_EV_END) {
		ev.total_events = r->events;
		ev.duration_ns = trace__now_ns() - r->start_ns;
	}
	rec_event(r, &ev);
}

static void rec_payload(struct replay *r, enum replay_event_type type,
			struct replay_source *s, const struct replay_payload *p)
{
	struct replay_event ev;

	ev.type = type;
	ev.source = s->id;
	ev.p.len = s->ops->has_bytes ? (p->len < REPLAY_BYTES_MAX ? p->len : REPLAY_BYTES_MAX) : 0;
	memcpy(ev.p.v, p->v, sizeof(ev.p.v));
	memcpy(ev.p.bytes, p->bytes, ev.p.len);
	ev.state = (struct replay_state){ 0, 0, 0 };
	ev.total_events = 0;
	ev.duration_ns = 0;
	rec_event(r, &ev);
}

/* ---- Replaying ---- */

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
		set_report(r, "replay diverged at event %" PRIu64 " (trace byte %" PRIu64 "):\n",
			   expected->index, expected->offset);
	else
		set_report(r, "replay diverged after event %" PRIu64 ":\n", r->events);
	add_report(r, "  actual:   ");
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	add_report(r, "%s at %s\n", buf, replay__pos_str(cur_pos(r), pos, sizeof(pos)));
	if (expected)
		add_report(r, "  expected: %s\n", ev_str(r, expected, buf, sizeof(buf)));
	first = r->nhist > HISTORY ? r->nhist - HISTORY : 0;
	if (r->nhist)
		add_report(r, "  last events replayed:\n");
	for (i = first; i < r->nhist; i++)
		add_report(r, "    %s\n", ev_str(r, &r->hist[i % HISTORY], buf, sizeof(buf)));
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
			set_report(r, "trace unreadable at byte %" PRIu64 ": %s (after %" PRIu64 " events)",
				   off, why, r->events);
		}
		break;
	case REPLAY_TRACE_CUT:
		diverge(r, NULL, "the trace ends early at byte %" PRIu64 " (%s); the guest goes on", off, why);
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
	    replay__pos_cmp(cur_pos(r), &ev->pos) != REPLAY_POS_NOW) {
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
	if (r->mode == REPLAY_RECORD) {
		if (kind == REPLAY_EXIT_SYNC && r->exits >= r->next_checkpoint) {
			r->next_checkpoint += r->cfg.checkpoint_every;
			rec_state(r, REPLAY_EV_CHECKPOINT, false);
		}
		if (!(r->exits & 1023))
			trace_writer__tick(&r->w);
		return 0;
	}
	if (kind == REPLAY_EXIT_SYNC) {
		if (check_passed(r))
			return 1;
		if (r->exits >= r->next_checkpoint) {
			r->next_checkpoint += r->cfg.checkpoint_every;
			replay_checkpoint(r);
		}
	}
	return r->status != REPLAY_OK;
}

uint64_t replay__clock_slow(struct replay *r, struct replay_source *s, uint64_t value)
{
	const struct replay_event *ev;
	struct replay_payload p;
	char buf[256];

	p.v[0] = value;
	p.len = 0;
	if (r->mode == REPLAY_RECORD) {
		rec_payload(r, REPLAY_EV_CLOCK, s, &p);
		return value;
	}
	if (r->status != REPLAY_OK || !(ev = peek(r)))
		return value;
	if (ev->type != REPLAY_EV_CLOCK || ev->source != s->id ||
	    replay__pos_cmp(cur_pos(r), &ev->pos) != REPLAY_POS_NOW) {
		diverge(r, ev, "%s",
			payload_str(r, s, REPLAY_EV_CLOCK, &p, buf, sizeof(buf)));
		return value;
	}
	value = ev->p.v[0];
	consume(r);
	return value;
}

enum replay_input_result replay__input(struct replay *r, struct replay_source *s,
				       const struct replay_payload *p)
{
	if (r->hot.active) {
		if (r->mode == REPLAY_REPLAY)
			return REPLAY_HELD;
		rec_payload(r, REPLAY_EV_INPUT, s, p);
	}
	/* Off never checked the blockers: a source may lack apply. */
	if (s->ops->apply)
		s->ops->apply(s->ctx, p, NULL);
	return REPLAY_APPLIED;
}

int replay__release_slow(struct replay *r)
{
	const struct replay_event *ev;
	struct replay_payload actual;
	struct replay_source *s;
	char buf[256];
	int n = 0, ret;

	if (r->mode != REPLAY_REPLAY)
		return 0;
	while (r->status == REPLAY_OK && (ev = peek(r)) && ev->type == REPLAY_EV_INPUT &&
	       replay__pos_cmp(cur_pos(r), &ev->pos) == REPLAY_POS_NOW) {
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

void replay__submit(struct replay *r, struct replay_source *s,
		    const struct replay_payload *p)
{
	const struct replay_event *ev;
	char buf[256];

	if (!r->hot.active)
		return;
	if (r->mode == REPLAY_RECORD) {
		rec_payload(r, REPLAY_EV_SUBMIT, s, p);
		return;
	}
	if (r->status != REPLAY_OK || !(ev = peek(r)))
		return;
	if (ev->type != REPLAY_EV_SUBMIT || ev->source != s->id ||
	    replay__pos_cmp(cur_pos(r), &ev->pos) != REPLAY_POS_NOW ||
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
	    replay__pos_cmp(cur_pos(r), &ev->pos) == REPLAY_POS_NOW)
		return 1;
	if (ev->type == REPLAY_EV_END)
		diverge(r, ev, "the guest waits for an input, and the recording has no more");
	else
		diverge(r, ev, "the guest waits for an input that cannot come (the next recorded event is not an input due here)");
	return -1;
}

enum replay_status replay__finish(struct replay *r)
{
	const struct replay_event *ev;
	struct replay_state st = { 0, 0, 0 };
	int ret;

	if (!r->hot.active)
		return r->status;
	if (r->mode == REPLAY_RECORD) {
		rec_state(r, REPLAY_EV_END, true);
		if (r->status == REPLAY_OK) {
			ret = trace_writer__close(&r->w);
			if (ret) {
				r->status = REPLAY_FAILED;
				set_report(r, "recording: cannot complete the trace %s: %s",
					   r->cfg.path, strerror(-ret));
			}
		}
		r->hot.active = 0;
		return r->status;
	}
	if (r->status == REPLAY_OK && (ev = peek(r))) {
		if (ev->type != REPLAY_EV_END ||
		    replay__pos_cmp(cur_pos(r), &ev->pos) != REPLAY_POS_NOW) {
			diverge(r, ev, "the guest stopped");
		} else {
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
	}
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
