// SPDX-License-Identifier: Apache-2.0
/*
 * Positions: where an input takes effect, and whether the guest is there
 * yet.  Finding an asynchronous position in a running guest (a breakpoint
 * at rip, then a digest match) is the VMM's job; deciding "now / not yet
 * / passed" from two positions is this file's.
 */
#include <inttypes.h>
#include <stdio.h>

#include "trace.h"

/*
 * Exit-pinned: a synchronous position N is the N-th synchronous exit; an
 * asynchronous one (N, rip, digest) lies after exit N and before N+1, at
 * the first stop whose rip and digest match (identical registers and
 * memory mean an identical future, so the first match is the one).
 * Exact (single-step, PMU): (branches, rip, rcx) names one instruction;
 * equal branches and rip/rcx not yet matching means "not yet", because
 * between two conditional branches the guest only moves forward.  The
 * instruction count is a check: same place, different count is a passed
 * target (the guest took another path to it).
 */
enum replay_pos_order replay__pos_cmp(const struct replay_pos *cur,
				      const struct replay_pos *t)
{
	if (cur->exits < t->exits)
		return REPLAY_POS_NOT_YET;
	if (cur->exits > t->exits)
		return REPLAY_POS_PASSED;
	if (t->exact) {
		if (!cur->exact)
			return REPLAY_POS_NOT_YET;
		if (cur->branches < t->branches)
			return REPLAY_POS_NOT_YET;
		if (cur->branches > t->branches)
			return REPLAY_POS_PASSED;
		if (cur->rip != t->rip || cur->rcx != t->rcx)
			return cur->insns < t->insns ? REPLAY_POS_NOT_YET :
						       REPLAY_POS_PASSED;
		return cur->insns == t->insns ? REPLAY_POS_NOW : REPLAY_POS_PASSED;
	}
	if (!t->async)
		return cur->async ? REPLAY_POS_PASSED : REPLAY_POS_NOW;
	if (!cur->async)
		return REPLAY_POS_NOT_YET;
	return cur->rip == t->rip && cur->digest == t->digest ? REPLAY_POS_NOW :
								 REPLAY_POS_NOT_YET;
}

const char *replay__pos_str(const struct replay_pos *p, char *buf, size_t size)
{
	if (p->exact)
		snprintf(buf, size,
			 "exit %" PRIu64 " branches %" PRIu64 " rip=%#" PRIx64
			 " rcx=%#" PRIx64 " insns %" PRIu64,
			 p->exits, p->branches, p->rip, p->rcx, p->insns);
	else if (p->async && p->regs)
		snprintf(buf, size,
			 "exit %" PRIu64 " +async rip=%#" PRIx64 " digest=%016" PRIx64
			 " registers=%016" PRIx64,
			 p->exits, p->rip, p->digest, p->regs);
	else if (p->async)
		snprintf(buf, size,
			 "exit %" PRIu64 " +async rip=%#" PRIx64 " digest=%016" PRIx64,
			 p->exits, p->rip, p->digest);
	else
		snprintf(buf, size, "exit %" PRIu64, p->exits);
	return buf;
}

const char *trace__type_name(enum replay_event_type t)
{
	static const char *const names[] = {
		[REPLAY_EV_INPUT] = "input",
		[REPLAY_EV_CLOCK] = "clock",
		[REPLAY_EV_SUBMIT] = "submit",
		[REPLAY_EV_CHECKPOINT] = "checkpoint",
		[REPLAY_EV_END] = "end",
	};

	return t >= REPLAY_EV_INPUT && t <= REPLAY_EV_END ? names[t] : "?";
}

static size_t put_bytes_str(char *buf, size_t size, const struct replay_payload *p)
{
	size_t n = 0;
	uint32_t i;

	n += (size_t)snprintf(buf, size, " bytes=\"");
	for (i = 0; i < p->len && n + 8 < size; i++) {
		uint8_t c = p->bytes[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	if (n + 2 <= size) {
		buf[n++] = '"';
		buf[n] = 0;
	}
	return n;
}

const char *replay__event_str(const struct replay_reader *rd,
			      const struct replay_event *ev, char *buf,
			      size_t size)
{
	return trace__event_str(rd ? replay__reader_source(rd, 0) : NULL,
				rd ? replay__reader_nsources(rd) : 0, ev, buf, size);
}

const char *trace__event_str(const struct replay_source_info *src,
			     unsigned int nsrc, const struct replay_event *ev,
			     char *buf, size_t size)
{
	const struct replay_source_info *si;
	char pos[160];
	size_t n;
	unsigned int i;

	replay__pos_str(&ev->pos, pos, sizeof(pos));
	n = (size_t)snprintf(buf, size, "#%" PRIu64 " @%s %s", ev->index, pos,
			     trace__type_name(ev->type));
	if (n >= size)
		return buf;
	switch (ev->type) {
	case REPLAY_EV_CHECKPOINT:
	case REPLAY_EV_END:
		if (ev->type == REPLAY_EV_END)
			n += (size_t)snprintf(buf + n, size - n,
					      " events=%" PRIu64 " duration=%" PRIu64 "ns",
					      ev->total_events, ev->duration_ns);
		if (n < size)
			snprintf(buf + n, size - n,
				 " regs=%016" PRIx64 " serial=%016" PRIx64 " ram=%016" PRIx64,
				 ev->state.regs, ev->state.serial, ev->state.ram);
		return buf;
	default:
		break;
	}
	si = ev->source < nsrc ? &src[ev->source] : NULL;
	if (!si) {
		snprintf(buf + n, size - n, " source#%u", ev->source);
		return buf;
	}
	n += (size_t)snprintf(buf + n, size - n, " %s", si->name);
	for (i = 0; i < si->nfields && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n,
				      si->enc[i] == REPLAY_ENC_FIXED64 ?
					      " %s=%016" PRIx64 : " %s=%" PRIu64,
				      si->field[i], ev->p.v[i]);
	if (si->has_bytes && n < size)
		put_bytes_str(buf + n, size - n, &ev->p);
	return buf;
}
