// SPDX-License-Identifier: Apache-2.0
/*
 * One event to bytes and back (docs/trace-format.md, "Events").  Positions
 * and fields are written as differences from the previous event of the
 * chunk (of the same source, for fields), so a typical event is a tag, a
 * one-byte exit delta, a source id and one byte per field.
 */
#include <errno.h>

#include "trace.h"

void codec__reset(struct codec *c)
{
	c->exits = 0;
	c->branches = 0;
	c->insns = 0;
	memset(c->last, 0, sizeof(c->last));
}

static void encode_fields(struct codec *c, struct vbuf *b,
			  const struct replay_event *ev)
{
	const struct replay_source_info *si = &c->src[ev->source];
	unsigned int i;

	put_varint(b, ev->source);
	for (i = 0; i < si->nfields; i++) {
		uint64_t v = ev->p.v[i];

		switch (si->enc[i]) {
		case REPLAY_ENC_DELTA:
			put_varint(b, zigzag((int64_t)(v - c->last[ev->source][i])));
			break;
		case REPLAY_ENC_FIXED64:
			put_le(b, v, 8);
			break;
		default:
			put_varint(b, v);
			break;
		}
		c->last[ev->source][i] = v;
	}
	if (si->has_bytes) {
		put_varint(b, ev->p.len);
		put_bytes(b, ev->p.bytes, ev->p.len);
	}
}

static void put_state(struct vbuf *b, const struct replay_state *st)
{
	put_le(b, st->regs, 8);
	put_le(b, st->serial, 8);
	put_le(b, st->ram, 8);
}

void codec__encode(struct codec *c, struct vbuf *b, const struct replay_event *ev)
{
	const struct replay_pos *pos = &ev->pos;
	uint8_t tag = (uint8_t)ev->type;

	/* Positions never go backwards: the core only appends at "now". */
	if (pos->exits != c->exits)
		tag |= TAG_EXITS;
	if (pos->async)
		tag |= TAG_ASYNC | (pos->regs ? TAG_REGS : 0);
	if (pos->exact)
		tag |= TAG_EXACT;
	put_u8(b, tag);
	if (tag & TAG_EXITS)
		put_varint(b, pos->exits - c->exits);
	c->exits = pos->exits;
	if (pos->async) {
		put_varint(b, pos->rip);
		put_le(b, pos->digest, 8);
		if (pos->regs)
			put_le(b, pos->regs, 8);
	}
	if (pos->exact) {
		/*
		 * Branches count from the last synchronous exit, insns from
		 * the last branch: each is a delta while what it counts from
		 * stayed the same, else absolute.
		 */
		bool same_exit = !(tag & TAG_EXITS);
		bool same_branch = same_exit && pos->branches == c->branches;

		put_varint(b, pos->branches - (same_exit ? c->branches : 0));
		put_varint(b, pos->rip);
		put_varint(b, pos->rcx);
		put_varint(b, pos->insns - (same_branch ? c->insns : 0));
		c->branches = pos->branches;
		c->insns = pos->insns;
	}
	switch (ev->type) {
	case REPLAY_EV_INPUT:
	case REPLAY_EV_CLOCK:
	case REPLAY_EV_SUBMIT:
		encode_fields(c, b, ev);
		break;
	case REPLAY_EV_CHECKPOINT:
		put_state(b, &ev->state);
		break;
	case REPLAY_EV_END:
		put_varint(b, ev->total_events);
		put_varint(b, ev->duration_ns);
		put_state(b, &ev->state);
		break;
	}
}

static const char *decode_fields(struct codec *c, struct vcur *cur,
				 struct replay_event *ev)
{
	const struct replay_source_info *si;
	uint64_t id = get_varint(cur);
	unsigned int i;

	if (cur->bad)
		return "event cut short";
	if (id >= c->nsources)
		return "event names a source the header does not declare";
	si = &c->src[id];
	ev->source = (unsigned int)id;
	if ((ev->type == REPLAY_EV_INPUT) != (si->cls == REPLAY_SRC_INPUT) ||
	    (ev->type == REPLAY_EV_CLOCK) != (si->cls == REPLAY_SRC_CLOCK))
		return "event type does not match its source's class";
	for (i = 0; i < si->nfields; i++) {
		uint64_t v;

		switch (si->enc[i]) {
		case REPLAY_ENC_DELTA:
			v = c->last[id][i] + (uint64_t)unzigzag(get_varint(cur));
			break;
		case REPLAY_ENC_FIXED64:
			v = get_le(cur, 8);
			break;
		default:
			v = get_varint(cur);
			break;
		}
		ev->p.v[i] = v;
		c->last[id][i] = v;
	}
	if (si->has_bytes) {
		uint64_t len = get_varint(cur);

		if (len > REPLAY_BYTES_MAX)
			return "payload longer than REPLAY_BYTES_MAX";
		if (cur->len - cur->pos < len)
			return "event cut short";
		ev->p.len = (uint32_t)len;
		memcpy(ev->p.bytes, cur->p + cur->pos, len);
		cur->pos += len;
	}
	return cur->bad ? "event cut short" : NULL;
}

static void get_state(struct vcur *cur, struct replay_state *st)
{
	st->regs = get_le(cur, 8);
	st->serial = get_le(cur, 8);
	st->ram = get_le(cur, 8);
}

int codec__decode(struct codec *c, struct vcur *cur, struct replay_event *ev,
		  const char **why)
{
	size_t start = cur->pos;
	uint8_t tag = get_u8(cur);
	struct replay_pos *pos = &ev->pos;
	const char *err = NULL;
	uint64_t d;

	memset(ev, 0, sizeof(*ev));
	if (tag & TAG_RESERVED)
		err = "reserved tag bits set";
	else if ((tag & TAG_TYPE_MASK) < REPLAY_EV_INPUT ||
		 (tag & TAG_TYPE_MASK) > REPLAY_EV_END)
		err = "unknown event type";
	else if ((tag & TAG_ASYNC) && (tag & TAG_EXACT))
		err = "a position cannot be both asynchronous and exact";
	else if ((tag & TAG_REGS) && !(tag & TAG_ASYNC))
		err = "a registers digest without an asynchronous position";
	if (err)
		goto out;
	ev->type = tag & TAG_TYPE_MASK;
	pos->exits = c->exits;
	if (tag & TAG_EXITS) {
		d = get_varint(cur);
		if (!d || d > UINT64_MAX - c->exits) {
			err = "bad exit delta";
			goto out;
		}
		pos->exits += d;
		c->exits = pos->exits;
	}
	if (tag & TAG_ASYNC) {
		pos->async = true;
		pos->rip = get_varint(cur);
		pos->digest = get_le(cur, 8);
		if (tag & TAG_REGS)
			pos->regs = get_le(cur, 8);
	}
	if (tag & TAG_EXACT) {
		uint64_t base_b = (tag & TAG_EXITS) ? 0 : c->branches, base_i;

		pos->exact = true;
		pos->branches = base_b + get_varint(cur);
		pos->rip = get_varint(cur);
		pos->rcx = get_varint(cur);
		base_i = pos->branches == c->branches && !(tag & TAG_EXITS) ?
			 c->insns : 0;
		pos->insns = base_i + get_varint(cur);
		if (pos->branches < base_b || pos->insns < base_i) {
			err = "exact position overflows";
			goto out;
		}
		c->branches = pos->branches;
		c->insns = pos->insns;
	}
	switch (ev->type) {
	case REPLAY_EV_INPUT:
	case REPLAY_EV_CLOCK:
	case REPLAY_EV_SUBMIT:
		err = decode_fields(c, cur, ev);
		break;
	case REPLAY_EV_CHECKPOINT:
		get_state(cur, &ev->state);
		break;
	case REPLAY_EV_END:
		ev->total_events = get_varint(cur);
		ev->duration_ns = get_varint(cur);
		get_state(cur, &ev->state);
		break;
	}
	if (!err && cur->bad)
		err = "event cut short";
out:
	ev->size = (uint32_t)(cur->pos - start);
	if (err) {
		*why = err;
		return -EINVAL;
	}
	return 0;
}
