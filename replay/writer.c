// SPDX-License-Identifier: Apache-2.0
/*
 * Writing a trace: the header (with the machine description) at once,
 * then events collected into chunks, each written with one write() call
 * and a CRC32C trailer.  What makes it crash-safe:
 * - chunks are only ever appended, never rewritten: whatever was written
 *   before stays valid whatever happens to the process afterwards;
 * - a chunk is complete only with its trailer, so a reader recognises one
 *   that a SIGKILL or a power loss cut (length or CRC wrong) and stops at
 *   the previous one;
 * - a failed or short write (ENOSPC, EFBIG, EIO) truncates the file back
 *   to the end of the last complete chunk and stops the recording for
 *   good: the trace stays readable, it just ends early.
 * Flush policy: a chunk is written once it holds flush_events events,
 * reaches CHUNK_PAYLOAD_TARGET bytes, or flush_ms milliseconds passed
 * since the last one (checked at each event and by trace_writer__tick()).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

uint64_t trace__now_ns(void)
{
	struct timespec ts;

	/* COARSE: a few ns from the vDSO, millisecond resolution is plenty. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void put_le_at(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int trace_writer__open(struct trace_writer *w, const char *path,
		       const void *fdt, uint32_t fdt_size,
		       const struct replay_source_info *src, unsigned int nsrc,
		       char *err, size_t errsize)
{
	uint8_t hdr[TRACE_HEADER_SIZE];
	uint32_t crc;
	int ret;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->buf = malloc(CHUNK_HEADER_SIZE + CHUNK_PAYLOAD_TARGET + EVENT_SIZE_MAX +
			CHUNK_TRAILER_SIZE);
	if (!w->buf) {
		snprintf(err, errsize, "cannot allocate the trace buffer");
		return -ENOMEM;
	}
	w->body.p = w->buf + CHUNK_HEADER_SIZE;
	w->body.cap = CHUNK_PAYLOAD_TARGET + EVENT_SIZE_MAX;
	w->codec.src = src;
	w->codec.nsources = nsrc;
	codec__reset(&w->codec);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		ret = -errno;
		snprintf(err, errsize, "cannot create trace %s: %s", path,
			 strerror(errno));
		return ret;
	}
	memcpy(hdr, TRACE_MAGIC, 8);
	put_le_at(hdr + 8, TRACE_VERSION, 4);
	put_le_at(hdr + 12, TRACE_HEADER_SIZE, 4);
	put_le_at(hdr + 16, REPLAY_START_BOOT, 4);
	put_le_at(hdr + 20, fdt_size, 4);
	put_le_at(hdr + 24, 0, 4);		/* flags: none defined yet */
	crc = replay__crc32c(0, hdr, 28);
	crc = replay__crc32c(crc, fdt, fdt_size);
	put_le_at(hdr + 28, crc, 4);
	ret = write_all(w->fd, hdr, sizeof(hdr));
	if (!ret)
		ret = write_all(w->fd, fdt, fdt_size);
	if (ret) {
		snprintf(err, errsize, "cannot write trace %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	w->offset = TRACE_HEADER_SIZE + fdt_size;
	w->last_flush_ns = trace__now_ns();
	return 0;
}

int trace_writer__flush(struct trace_writer *w)
{
	size_t total;
	uint32_t crc;
	int ret;

	if (w->error || !w->nevents)
		return w->error;
	memcpy(w->buf, CHUNK_MAGIC, 4);
	put_le_at(w->buf + 4, w->body.len, 4);
	put_le_at(w->buf + 8, w->nevents, 4);
	put_le_at(w->buf + 12, w->first_index, 8);
	/* Its own CRC: a flipped length must not pass for a cut chunk. */
	put_le_at(w->buf + 20, replay__crc32c(0, w->buf, 20), 4);
	total = CHUNK_HEADER_SIZE + w->body.len;
	crc = replay__crc32c(0, w->buf, total);
	put_le_at(w->buf + total, crc, 4);
	total += CHUNK_TRAILER_SIZE;
	ret = write_all(w->fd, w->buf, total);
	if (ret) {
		/*
		 * A short write left part of this chunk in the file: cut it
		 * off so the file ends on a complete chunk.  If even that
		 * fails the reader still stops at the torn chunk (its CRC).
		 */
		if (ftruncate(w->fd, (off_t)w->offset) == 0)
			lseek(w->fd, (off_t)w->offset, SEEK_SET);
		w->error = ret;
		return ret;
	}
	w->offset += total;
	w->chunks++;
	w->first_index = w->next_index;
	w->nevents = 0;
	w->body.len = 0;
	codec__reset(&w->codec);
	w->last_flush_ns = trace__now_ns();
	return 0;
}

int trace_writer__append(struct trace_writer *w, struct replay_event *ev)
{
	size_t before = w->body.len;

	if (w->error)
		return w->error;
	codec__encode(&w->codec, &w->body, ev);
	/* body has EVENT_SIZE_MAX of slack beyond the target: never full. */
	assert(!w->body.full);
	ev->size = (uint32_t)(w->body.len - before);
	w->bytes_by_type[ev->type] += ev->size;
	w->nevents++;
	w->next_index++;
	if (w->nevents >= w->flush_events || w->body.len >= CHUNK_PAYLOAD_TARGET)
		return trace_writer__flush(w);
	trace_writer__tick(w);
	return w->error;
}

void trace_writer__tick(struct trace_writer *w)
{
	if (w->nevents && !w->error &&
	    trace__now_ns() - w->last_flush_ns >= w->flush_ms * 1000000ull)
		trace_writer__flush(w);
}

int trace_writer__close(struct trace_writer *w)
{
	int ret = 0;

	if (w->fd >= 0) {
		ret = trace_writer__flush(w);
		/* Durable before we say the recording is complete. */
		if (!ret && fsync(w->fd) < 0 && errno != EINVAL)
			ret = -errno;
		if (close(w->fd) < 0 && !ret)
			ret = -errno;
		w->fd = -1;
	}
	free(w->buf);
	w->buf = NULL;
	return ret;
}
