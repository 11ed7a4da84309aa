// SPDX-License-Identifier: Apache-2.0
/*
 * Recording: write the machine description, then log every input, clock
 * value and submission at the position where it takes effect, checkpoints
 * every checkpoint_every synchronous exits and the END record.  A write
 * error stops the recording (the trace stays readable, writer.c) and the
 * VMM goes on unrecorded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

static int check_machine(struct replay *r, struct replay_machine *m)
{
	if (m->backend < REPLAY_BACKEND_EXIT || m->backend > REPLAY_BACKEND_PMU) {
		core__report(r, "cannot record: unknown position backend %d", m->backend);
		return -EINVAL;
	}
	if (m->start != REPLAY_START_BOOT) {
		core__report(r, "cannot record: starting from a saved machine state is not supported yet");
		return -EOPNOTSUPP;
	}
	if (m->ndisks > REPLAY_DISKS_MAX || m->ndevices > REPLAY_DEVICES_MAX ||
	    m->ncpuid > REPLAY_CPUID_MAX || m->ncpuid_seen > REPLAY_CPUID_MAX) {
		core__report(r, "cannot record: more than %u disks, %u devices or %u CPUID leaves",
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

int record__start(struct replay *r, struct replay_machine *m)
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
		core__report(r, "cannot record: the machine description does not fit in %u bytes",
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

static void rec_event(struct replay *r, struct replay_event *ev)
{
	int ret;

	ev->pos = *core__pos(r);
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
	core__report(r,
		   "recording stopped: cannot write the trace %s at byte %" PRIu64 ": %s; "
		   "the trace is readable up to byte %" PRIu64 " (%" PRIu64 " events, no END record)",
		   r->cfg.path, r->w.offset, strerror(-ret), r->w.offset,
		   r->w.first_index);
}

void record__state(struct replay *r, enum replay_event_type type, bool final)
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

void record__payload(struct replay *r, enum replay_event_type type,
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


void record__exit(struct replay *r, enum replay_exit_kind kind)
{
	if (kind == REPLAY_EXIT_SYNC && r->exits >= r->next_checkpoint) {
		r->next_checkpoint += r->cfg.checkpoint_every;
		record__state(r, REPLAY_EV_CHECKPOINT, false);
	}
	/* The time half of the flush policy, for stretches without events. */
	if (!(r->exits & 1023))
		trace_writer__tick(&r->w);
}

void record__finish(struct replay *r)
{
	int ret;

	record__state(r, REPLAY_EV_END, true);
	if (r->status != REPLAY_OK)
		return;
	ret = trace_writer__close(&r->w);
	if (ret) {
		r->status = REPLAY_FAILED;
		core__report(r, "recording: cannot complete the trace %s: %s",
			     r->cfg.path, strerror(-ret));
	}
}
