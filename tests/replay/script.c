// SPDX-License-Identifier: Apache-2.0
/* The scripted VMM: see script.h. */
#include "script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finaliser: every input bit moves every output bit. */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t host_rand(struct script *s)
{
	s->host_rng = mix(s->host_rng);
	return s->host_rng;
}

static void log_applied(struct script *s, enum script_src src,
			const struct replay_payload *p)
{
	struct script_applied *a;

	if (s->nlog == s->caplog) {
		s->caplog = s->caplog ? 2 * s->caplog : 1024;
		s->log = realloc(s->log, s->caplog * sizeof(*s->log));
		if (!s->log)
			abort();
	}
	a = &s->log[s->nlog++];
	replay__position(s->r, &a->pos);
	a->src = src;
	a->p = *p;
	s->counts[src]++;
}

static void guest_take(struct script *s, const struct replay_payload *p, bool bytes)
{
	unsigned int i;

	for (i = 0; i < REPLAY_FIELDS_MAX; i++)
		s->state = mix(s->state ^ p->v[i]);
	if (bytes)
		s->state = mix(s->state ^ replay__hash(p->bytes, p->len, 0));
	/* An interrupt wakes a halted CPU. */
	s->halted = false;
}

/* What the disk really returns for a request: status, bytes, data hash. */
static void disk_result(const struct script *s, uint64_t id, struct replay_payload *p)
{
	const struct script_req *q = &s->req[id];
	uint64_t data[2] = { q->sector ^ s->image_seed, q->len };

	memset(p, 0, sizeof(*p));
	p->v[0] = id;
	p->v[1] = q->sector >= 990 ? 1 : 0;	/* past the end: IOERR */
	p->v[2] = p->v[1] ? 0 : q->len;
	p->v[3] = q->op == 0 && !p->v[1] ? replay__hash(data, sizeof(data), q->len) : 0;
}

static int disk_apply(void *ctx, const struct replay_payload *in,
		      struct replay_payload *actual)
{
	struct script *s = ctx;
	uint64_t id = in->v[0];

	if (id >= s->nreq || (actual && s->req[id].done))
		return -ENOENT;
	if (actual)
		disk_result(s, id, actual);
	s->req[id].done = true;
	log_applied(s, SRC_DISK, in);
	guest_take(s, in, false);
	return 0;
}

static int serial_apply(void *ctx, const struct replay_payload *in,
			struct replay_payload *actual)
{
	struct script *s = ctx;

	if (actual)
		*actual = *in;	/* the trace's bytes are the input */
	log_applied(s, SRC_SERIAL, in);
	guest_take(s, in, true);
	return 0;
}

static int timer_apply(void *ctx, const struct replay_payload *in,
		       struct replay_payload *actual)
{
	struct script *s = ctx;

	if (actual)
		*actual = *in;
	s->vtime = in->v[0];	/* a manual clock follows the trace */
	log_applied(s, SRC_TIMER, in);
	guest_take(s, in, false);
	return 0;
}

static const struct replay_field disk_fields[] = {
	{ "id", REPLAY_ENC_DELTA }, { "status", REPLAY_ENC_VARINT },
	{ "bytes", REPLAY_ENC_VARINT }, { "hash", REPLAY_ENC_FIXED64 },
};
static const struct replay_field sub_fields[] = {
	{ "id", REPLAY_ENC_DELTA }, { "op", REPLAY_ENC_VARINT },
	{ "sector", REPLAY_ENC_DELTA }, { "len", REPLAY_ENC_VARINT },
};
static const struct replay_field now_field[] = { { "now", REPLAY_ENC_DELTA } };
static const struct replay_field value_field[] = { { "value", REPLAY_ENC_DELTA } };

static const struct replay_source_ops ops[SRC_NR] = {
	[SRC_DISK] = { .name = "vda", .cls = REPLAY_SRC_INPUT, .nfields = 4,
		       .fields = disk_fields, .apply = disk_apply },
	[SRC_DISK_SUB] = { .name = "vda.submit", .cls = REPLAY_SRC_SUBMIT,
			   .nfields = 4, .fields = sub_fields },
	[SRC_SERIAL] = { .name = "com1", .cls = REPLAY_SRC_INPUT, .has_bytes = true,
			 .apply = serial_apply },
	[SRC_TIMER] = { .name = "timer", .cls = REPLAY_SRC_INPUT, .nfields = 1,
			.fields = now_field, .apply = timer_apply },
	[SRC_PIT] = { .name = "pit", .cls = REPLAY_SRC_CLOCK, .nfields = 1,
		      .fields = value_field },
	[SRC_RTC] = { .name = "rtc", .cls = REPLAY_SRC_CLOCK, .nfields = 1,
		      .fields = value_field },
};

static const struct replay_source_ops blocked = {
	.name = "vhost-net", .cls = REPLAY_SRC_INPUT, .apply = serial_apply,
};

static void vmm_locate(void *ctx, struct replay_pos *pos)
{
	struct script *s = ctx;

	pos->rip = s->rip;
	pos->digest = s->digest;
}

static void vmm_state(void *ctx, struct replay_state *st, bool final)
{
	struct script *s = ctx;

	st->regs = s->state;
	st->serial = s->serial_hash;
	st->ram = final ? mix(s->state ^ s->nreq) : 0;
}

static const struct replay_vmm_ops vmm_ops = { vmm_locate, vmm_state };

void script__init(struct script *s, enum replay_mode mode, const char *path,
		  unsigned int exits)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->path = path;
	s->seed = 42;
	s->host_seed = 7;
	s->exits = exits;
	s->flush_events = 64;
	s->checkpoint_every = 97;
	s->image_seed = 0xd15c;
}

void script__free(struct script *s)
{
	replay__free(s->r);
	s->r = NULL;
	free(s->log);
	s->log = NULL;
}

static void describe(struct script *s)
{
	struct replay_machine *m = &s->machine;

	m->mem_size = 256ull << 20;
	snprintf(m->cmdline, sizeof(m->cmdline), "console=ttyS0 scripted seed=%llu",
		 (unsigned long long)s->seed);
	snprintf(m->kernel.path, sizeof(m->kernel.path), "scripted-guest");
	m->kernel.size = 4096;
	m->kernel.hash = replay__hash(&s->seed, sizeof(s->seed), 0);
	m->ndisks = 1;
	snprintf(m->disks[0].path, sizeof(m->disks[0].path), "scripted.img");
	m->disks[0].size = 1000 * 512;
	m->disks[0].hash = s->image_seed;
	m->ndevices = 2;
	m->devices[0] = (struct replay_device){ "com1", 0x3f8, 8, 4, false };
	m->devices[1] = (struct replay_device){ "virtio-blk@0", 0xd0000000, 0x1000, 5, true };
	m->ncpuid = m->ncpuid_seen = 1;
	m->cpuid[0] = (struct replay_cpuid){ 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 };
	m->cpuid_seen[0] = m->cpuid[0];
	snprintf(m->host_probe, sizeof(m->host_probe), "cpuid-enforced=no\nsingle-step=yes\n");
	m->backend = REPLAY_BACKEND_EXIT;
	m->rtc_epoch = 1700000000;
	snprintf(m->vmm_version, sizeof(m->vmm_version), "script");
}

static int do_exit(struct script *s, enum replay_exit_kind kind)
{
	return replay__exit(s->r, kind);
}

/* Record: the host hands over everything it has ready. */
static void host_deliver(struct script *s, bool at_kick)
{
	struct replay_payload p;
	unsigned int i;
	uint64_t x;

	for (i = 0; i < s->nreq; i++) {
		if (s->req[i].done || s->req[i].due > s->done)
			continue;
		disk_result(s, i, &p);
		replay__input(s->r, s->src[SRC_DISK], &p);
	}
	x = host_rand(s);
	if (x % 23 == 0) {
		memset(&p, 0, sizeof(p));
		p.len = 1 + (unsigned int)(x >> 8) % 8;
		for (i = 0; i < p.len; i++)
			p.bytes[i] = (uint8_t)(x >> (8 * (i % 8)));
		replay__input(s->r, s->src[SRC_SERIAL], &p);
	}
	if (!at_kick && x % 11 == 1) {
		memset(&p, 0, sizeof(p));
		s->vtime += 1000000 + (x >> 40);
		p.v[0] = s->vtime;
		replay__input(s->r, s->src[SRC_TIMER], &p);
	}
}

static void guest_exit_action(struct script *s)
{
	uint64_t a = mix(s->state ^ 0xabc), v;
	struct replay_payload p;
	struct script_req *q;

	switch (a % 16) {
	case 0: case 1: case 2:
		s->host_time += 1 + host_rand(s) % 1000;
		v = replay__clock(s->r, s->src[SRC_PIT],
				  s->mode == REPLAY_REPLAY ? 0 : s->host_time);
		s->state = mix(s->state ^ v);
		break;
	case 3:
		v = replay__clock(s->r, s->src[SRC_RTC],
				  s->mode == REPLAY_REPLAY ? 1 : 1700000000 + s->done / 100);
		s->state = mix(s->state ^ v);
		break;
	case 4: case 5: case 6:
		if (s->nreq == SCRIPT_REQS_MAX)
			break;
		q = &s->req[s->nreq];
		q->op = (a >> 8) % 3;
		q->sector = (a >> 16) % 1000;
		q->len = 512 * (1 + (a >> 32) % 8);
		q->due = s->done + 1 + host_rand(s) % 20;
		memset(&p, 0, sizeof(p));
		p.v[0] = s->nreq;
		p.v[1] = q->op;
		p.v[2] = q->sector;
		p.v[3] = q->len;
		s->nreq++;
		replay__submit(s->r, s->src[SRC_DISK_SUB], &p);
		break;
	case 7:
		s->serial_hash = mix(s->serial_hash ^ s->state);
		break;
	case 8:
		s->halted = true;
		break;
	default:
		break;
	}
}

/* Returns false when the run must stop. */
static bool run_interval(struct script *s)
{
	unsigned int ninsn = 1 + mix(s->state) % 12, k;
	struct replay_pos t;

	for (k = 0; k < ninsn; k++) {
		s->rip = 0x1000 + (mix(s->state + k) % 5) * 4;
		s->digest = mix(s->state ^ (k * 0x9e3779b97f4a7c15ull));
		if (s->mode != REPLAY_REPLAY) {
			if (host_rand(s) % 9)
				continue;
			/* A kick: deliver what the host has, here. */
			if (do_exit(s, REPLAY_EXIT_ASYNC))
				return false;
			host_deliver(s, true);
		} else {
			/* A breakpoint at the target's rip, or a stray kick. */
			bool hit = !replay__next_pos(s->r, &t) && t.async &&
				   t.exits == s->done && t.rip == s->rip;

			if (!hit && mix(s->digest) % 31)
				continue;
			if (do_exit(s, REPLAY_EXIT_ASYNC))
				return false;
		}
		if (replay__release(s->r) < 0)
			return false;
	}
	if (do_exit(s, REPLAY_EXIT_SYNC))
		return false;
	s->done++;
	/* The guest computes between exits: its state moves on every exit. */
	s->state = mix(s->state + s->done);
	guest_exit_action(s);
	if (s->mode != REPLAY_REPLAY)
		host_deliver(s, false);
	if (replay__release(s->r) < 0)
		return false;
	while (s->halted) {
		int idle = replay__idle(s->r);
		struct replay_payload p;

		if (idle < 0)
			return false;
		if (idle == 0) {
			/* Record: the next timer tick wakes it. */
			memset(&p, 0, sizeof(p));
			s->vtime += 10000000;
			p.v[0] = s->vtime;
			replay__input(s->r, s->src[SRC_TIMER], &p);
		} else if (replay__release(s->r) <= 0) {
			return false;
		}
	}
	return true;
}

enum replay_status script__run(struct script *s)
{
	struct replay_config cfg = {
		.mode = s->mode, .path = s->path, .flush_events = s->flush_events,
		.checkpoint_every = s->checkpoint_every, .vmm = &vmm_ops, .vmm_ctx = s,
	};
	unsigned int i;

	replay__new(&s->r, &cfg);
	for (i = 0; i < SRC_NR; i++)
		s->src[i] = replay__add_source(s->r, &ops[i], s);
	if (s->blocker) {
		s->blocked_ops = blocked;
		s->blocked_ops.blocker = s->blocker;
		replay__add_source(s->r, &s->blocked_ops, s);
	}
	s->state = s->seed;
	s->host_rng = s->host_seed;
	describe(s);
	s->start_ret = replay__start(s->r, &s->machine);
	if (s->start_ret)
		return replay__status(s->r) == REPLAY_OK ? REPLAY_UNREADABLE :
							   replay__status(s->r);
	while (s->done < s->exits)
		if (!run_interval(s))
			break;
	return replay__finish(s->r);
}
