/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_REPLAY_TRACE_H
#define MICROVM_REPLAY_TRACE_H

/*
 * Trace format v3, shared by the writer, the reader and the core.  Every
 * byte is described in docs/trace-format.md; change both together and bump
 * TRACE_VERSION on every change.
 */
#include "microvm/replay.h"
#include "varint.h"

#define TRACE_MAGIC		"MVMTRACE"
#define TRACE_VERSION		3u
#define TRACE_VERSION_STR	"3"
/* The oldest version read: v2 lacks only TAG_REGS, never set there. */
#define TRACE_VERSION_MIN	2u
#define TRACE_HEADER_SIZE	32u
/* The machine description is a device tree of at most this size. */
#define TRACE_FDT_MAX		(256u * 1024)

#define CHUNK_MAGIC		"EVTS"
#define CHUNK_HEADER_SIZE	24u	/* its last 4 bytes: CRC32C of the first 20 */
#define CHUNK_TRAILER_SIZE	4u
/* A chunk's payload: a writer flushes before 64 KiB, a reader takes 1 MiB. */
#define CHUNK_PAYLOAD_TARGET	(64u * 1024)
#define CHUNK_PAYLOAD_MAX	(1024u * 1024)
#define EVENT_SIZE_MAX		(64u + 10u * REPLAY_FIELDS_MAX + REPLAY_BYTES_MAX)

#define TRACE_SOURCES_MAX	64u

/* Event tag byte. */
#define TAG_TYPE_MASK		0x07
#define TAG_EXITS		0x08	/* a varint exits delta follows */
#define TAG_ASYNC		0x10	/* rip, digest (exit-pinned) */
#define TAG_EXACT		0x20	/* branches, rip, rcx, insns */
#define TAG_REGS		0x40	/* with TAG_ASYNC: a registers digest (v3) */
#define TAG_RESERVED		0x80

/*
 * The delta state of one chunk: every chunk starts from zero so that each
 * can be decoded on its own (a reader skips, a cut loses one chunk only).
 */
struct codec {
	uint64_t exits, branches, insns;
	uint64_t last[TRACE_SOURCES_MAX][REPLAY_FIELDS_MAX];
	unsigned int nsources;
	const struct replay_source_info *src;
};

void codec__reset(struct codec *c);
void codec__encode(struct codec *c, struct vbuf *b, const struct replay_event *ev);
/* Returns 0, or -EINVAL with a reason in *why. */
int codec__decode(struct codec *c, struct vcur *cur, struct replay_event *ev,
		  const char **why);

/* The machine description as a device tree (machine.c). */
int machine__to_fdt(const struct replay_machine *m,
		    const struct replay_source_info *src, unsigned int nsrc,
		    void *fdt, size_t size);
int machine__from_fdt(const void *fdt, size_t size, struct replay_machine *m,
		      struct replay_source_info *src, unsigned int *nsrc,
		      const char **why);

/* Writer (writer.c): header at open, then chunks. */
struct trace_writer {
	int fd;
	uint64_t offset;		/* bytes durably handed to write() */
	uint8_t *buf;			/* chunk being built, header room first */
	struct vbuf body;
	uint32_t nevents;
	uint64_t first_index, next_index;
	uint64_t last_flush_ns;
	unsigned int flush_events, flush_ms;
	struct codec codec;
	int error;			/* -errno once a write failed */
	uint64_t bytes_by_type[6];
	uint64_t chunks;
};

int trace_writer__open(struct trace_writer *w, const char *path,
		       const void *fdt, uint32_t fdt_size,
		       const struct replay_source_info *src, unsigned int nsrc,
		       char *err, size_t errsize);
/* Returns 0 or the sticky -errno of a failed write. */
int trace_writer__append(struct trace_writer *w, struct replay_event *ev);
int trace_writer__flush(struct trace_writer *w);
/* Time-based flush, cheap to call often. */
void trace_writer__tick(struct trace_writer *w);
int trace_writer__close(struct trace_writer *w);

uint64_t trace__now_ns(void);
const char *trace__type_name(enum replay_event_type t);
const char *trace__event_str(const struct replay_source_info *src,
			     unsigned int nsrc, const struct replay_event *ev,
			     char *buf, size_t size);

#endif
