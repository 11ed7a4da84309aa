// SPDX-License-Identifier: Apache-2.0
/*
 * Reading a trace, trusting none of it: every length is checked against
 * the bytes that are really there, every chunk's CRC32C before any of its
 * events is decoded, every event against the sources the header declares,
 * positions for order.  The first problem ends the stream with its byte
 * offset and a reason; everything before it has been delivered.  A trace
 * that simply stops (a recording killed or out of disk) is "cut", not
 * "corrupt": it is read up to its last complete chunk.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"

struct replay_reader {
	const uint8_t *data;
	size_t size;
	void *map;
	uint32_t version;
	struct replay_machine m;
	struct replay_source_info src[TRACE_SOURCES_MAX];
	unsigned int nsrc;
	uint64_t off;			/* next chunk */
	uint64_t chunk_off;		/* current chunk */
	struct vcur cur;		/* current chunk's events */
	uint32_t left;			/* events left in it */
	struct codec codec;
	uint64_t next_index;
	uint64_t last_exits;
	bool seen_end;
	enum replay_trace_end end;
	uint64_t end_off;
	char why[256];
};

static int rd_stop(struct replay_reader *rd, enum replay_trace_end end,
		   uint64_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int rd_stop(struct replay_reader *rd, enum replay_trace_end end,
		   uint64_t off, const char *fmt, ...)
{
	va_list ap;

	rd->end = end;
	rd->end_off = off;
	va_start(ap, fmt);
	vsnprintf(rd->why, sizeof(rd->why), fmt, ap);
	va_end(ap);
	rd->left = 0;
	return end == REPLAY_TRACE_CORRUPT ? -1 : 0;
}

static int rd_header(struct replay_reader *rd, char *err, size_t errsize)
{
	const uint8_t *h = rd->data;
	uint32_t version, hsize, start, fdt_size, flags, crc;
	const char *why = NULL;

	if (rd->size < 12 || memcmp(h, TRACE_MAGIC, 8)) {
		if (rd->size >= 8 && memcmp(h, TRACE_MAGIC, 8))
			snprintf(err, errsize, "not a microvm trace (bad magic at byte 0)");
		else
			snprintf(err, errsize, "trace is %zu bytes, cut inside its %u-byte header",
				 rd->size, TRACE_HEADER_SIZE);
		return -EINVAL;
	}
	/* The version first: a newer header may differ in everything else. */
	version = (uint32_t)le_at(h + 8, 4);
	if (version < TRACE_VERSION_MIN || version > TRACE_VERSION) {
		snprintf(err, errsize,
			 "trace format version %u, this microvm reads versions %u to %u (byte 8)",
			 version, TRACE_VERSION_MIN, TRACE_VERSION);
		return -EPROTONOSUPPORT;
	}
	rd->version = version;
	if (rd->size < TRACE_HEADER_SIZE) {
		snprintf(err, errsize, "trace is %zu bytes, cut inside its %u-byte header",
			 rd->size, TRACE_HEADER_SIZE);
		return -EINVAL;
	}
	hsize = (uint32_t)le_at(h + 12, 4);
	start = (uint32_t)le_at(h + 16, 4);
	fdt_size = (uint32_t)le_at(h + 20, 4);
	flags = (uint32_t)le_at(h + 24, 4);
	crc = (uint32_t)le_at(h + 28, 4);
	if (hsize != TRACE_HEADER_SIZE) {
		snprintf(err, errsize, "bad header size %u at byte 12 (version %u has %u)",
			 hsize, version, TRACE_HEADER_SIZE);
		return -EINVAL;
	}
	if (flags) {
		snprintf(err, errsize, "unknown header flags %#x at byte 24", flags);
		return -EINVAL;
	}
	if (fdt_size < 40 || fdt_size > TRACE_FDT_MAX) {
		snprintf(err, errsize, "absurd machine description size %u at byte 20",
			 fdt_size);
		return -EINVAL;
	}
	if (rd->size - TRACE_HEADER_SIZE < fdt_size) {
		snprintf(err, errsize,
			 "trace is %zu bytes, cut inside its machine description (bytes %u-%u)",
			 rd->size, TRACE_HEADER_SIZE, TRACE_HEADER_SIZE + fdt_size - 1);
		return -EINVAL;
	}
	if (replay__crc32c(replay__crc32c(0, h, 28), h + TRACE_HEADER_SIZE, fdt_size) != crc) {
		snprintf(err, errsize, "header CRC mismatch (bytes 0-%u, CRC at byte 28)",
			 TRACE_HEADER_SIZE + fdt_size - 1);
		return -EINVAL;
	}
	if (start != REPLAY_START_BOOT) {
		snprintf(err, errsize,
			 start == REPLAY_START_SNAPSHOT ?
				 "trace starts from a saved machine state (byte 16), which this microvm cannot do yet" :
				 "unknown start kind %u at byte 16", start);
		return -EOPNOTSUPP;
	}
	if (machine__from_fdt(h + TRACE_HEADER_SIZE, fdt_size, &rd->m, rd->src,
			      &rd->nsrc, &why)) {
		snprintf(err, errsize, "%s (bytes %u-%u)", why, TRACE_HEADER_SIZE,
			 TRACE_HEADER_SIZE + fdt_size - 1);
		return -EINVAL;
	}
	rd->off = TRACE_HEADER_SIZE + fdt_size;
	rd->codec.src = rd->src;
	rd->codec.nsources = rd->nsrc;
	return 0;
}

int replay__reader_open_mem(struct replay_reader **out, const void *data,
			    size_t size, char *err, size_t errsize)
{
	struct replay_reader *rd = calloc(1, sizeof(*rd));
	int ret;

	*out = NULL;
	if (!rd) {
		snprintf(err, errsize, "out of memory");
		return -ENOMEM;
	}
	rd->data = data;
	rd->size = size;
	ret = rd_header(rd, err, errsize);
	if (ret) {
		free(rd);
		return ret;
	}
	*out = rd;
	return 0;
}

int replay__reader_open(struct replay_reader **out, const char *path,
			char *err, size_t errsize)
{
	struct stat st;
	void *map = NULL;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errsize, "cannot open trace %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errsize, "trace %s is not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			ret = -errno;
			close(fd);
			snprintf(err, errsize, "cannot map trace %s: %s", path,
				 strerror(-ret));
			return ret;
		}
	}
	close(fd);
	ret = replay__reader_open_mem(out, map ? map : "", (size_t)st.st_size,
				      err, errsize);
	if (ret) {
		if (map)
			munmap(map, (size_t)st.st_size);
		return ret;
	}
	(*out)->map = map;
	return 0;
}

void replay__reader_close(struct replay_reader *rd)
{
	if (!rd)
		return;
	if (rd->map)
		munmap(rd->map, rd->size);
	free(rd);
}

/* Open the chunk at rd->off: 1 if there is one, else the end result. */
static int rd_chunk(struct replay_reader *rd)
{
	uint64_t off = rd->off, left = rd->size - off;
	const uint8_t *c = rd->data + off;
	uint32_t len, count, crc;
	uint64_t first;

	if (rd->seen_end) {
		if (left)
			return rd_stop(rd, REPLAY_TRACE_CORRUPT, off,
				       "%llu bytes after the END record", (unsigned long long)left);
		return rd_stop(rd, REPLAY_TRACE_COMPLETE, off, "END record");
	}
	if (!left)
		return rd_stop(rd, REPLAY_TRACE_CUT, off,
			       "no END record: the recording stops after the last complete chunk");
	if (left < CHUNK_HEADER_SIZE + CHUNK_TRAILER_SIZE)
		return rd_stop(rd, REPLAY_TRACE_CUT, off,
			       "no END record: cut inside the chunk header at byte %llu",
			       (unsigned long long)off);
	if (memcmp(c, CHUNK_MAGIC, 4))
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, off, "bad chunk magic");
	/*
	 * The header's own CRC first: only a header known to be intact may
	 * say that the chunk runs past the end of the file (a cut).
	 */
	if (replay__crc32c(0, c, 20) != (uint32_t)le_at(c + 20, 4))
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, off,
			       "chunk header CRC mismatch (bytes %llu-%llu)",
			       (unsigned long long)off, (unsigned long long)off + 23);
	len = (uint32_t)le_at(c + 4, 4);
	count = (uint32_t)le_at(c + 8, 4);
	first = le_at(c + 12, 8);
	if (!len || len > CHUNK_PAYLOAD_MAX)
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, off + 4,
			       "absurd chunk length %u", len);
	if (!count || count > len)
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, off + 8,
			       "absurd event count %u for %u bytes", count, len);
	if (left < CHUNK_HEADER_SIZE + (uint64_t)len + CHUNK_TRAILER_SIZE)
		return rd_stop(rd, REPLAY_TRACE_CUT, off,
			       "no END record: the chunk at byte %llu is cut (%u bytes, %llu present)",
			       (unsigned long long)off,
			       CHUNK_HEADER_SIZE + len + CHUNK_TRAILER_SIZE,
			       (unsigned long long)left);
	crc = (uint32_t)le_at(c + CHUNK_HEADER_SIZE + len, 4);
	if (replay__crc32c(0, c, CHUNK_HEADER_SIZE + len) != crc)
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, off,
			       "chunk CRC mismatch (chunk of %u bytes, CRC at byte %llu)",
			       CHUNK_HEADER_SIZE + len + CHUNK_TRAILER_SIZE,
			       (unsigned long long)(off + CHUNK_HEADER_SIZE + len));
	if (first != rd->next_index)
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, off + 12,
			       "chunk starts at event %llu, expected %llu",
			       (unsigned long long)first,
			       (unsigned long long)rd->next_index);
	rd->chunk_off = off;
	rd->cur = (struct vcur){ c + CHUNK_HEADER_SIZE, len, 0, false };
	rd->left = count;
	rd->off = off + CHUNK_HEADER_SIZE + len + CHUNK_TRAILER_SIZE;
	codec__reset(&rd->codec);
	return 1;
}

int replay__reader_next(struct replay_reader *rd, struct replay_event *ev)
{
	uint64_t ev_off;
	const char *why = NULL;
	int ret;

	if (rd->end != REPLAY_TRACE_READING)
		return rd->end == REPLAY_TRACE_CORRUPT ? -1 : 0;
	if (!rd->left) {
		ret = rd_chunk(rd);
		if (ret <= 0)
			return ret;
	}
	ev_off = rd->chunk_off + CHUNK_HEADER_SIZE + rd->cur.pos;
	if (codec__decode(&rd->codec, &rd->cur, ev, &why))
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, ev_off, "event %llu: %s",
			       (unsigned long long)rd->next_index, why);
	ev->index = rd->next_index;
	ev->offset = ev_off;
	if (ev->pos.exits < rd->last_exits)
		return rd_stop(rd, REPLAY_TRACE_CORRUPT, ev_off,
			       "event %llu goes back from exit %llu to %llu",
			       (unsigned long long)ev->index,
			       (unsigned long long)rd->last_exits,
			       (unsigned long long)ev->pos.exits);
	if (ev->type == REPLAY_EV_END) {
		if (ev->total_events != ev->index)
			return rd_stop(rd, REPLAY_TRACE_CORRUPT, ev_off,
				       "END record counts %llu events, the trace has %llu",
				       (unsigned long long)ev->total_events,
				       (unsigned long long)ev->index);
		if (rd->left != 1)
			return rd_stop(rd, REPLAY_TRACE_CORRUPT, ev_off,
				       "events after the END record");
		rd->seen_end = true;
	}
	rd->last_exits = ev->pos.exits;
	rd->next_index++;
	if (--rd->left == 0 && rd->cur.pos != rd->cur.len)
		return rd_stop(rd, REPLAY_TRACE_CORRUPT,
			       rd->chunk_off + CHUNK_HEADER_SIZE + rd->cur.pos,
			       "%zu stray bytes after the chunk's last event",
			       rd->cur.len - rd->cur.pos);
	return 1;
}

enum replay_trace_end replay__reader_end(const struct replay_reader *rd,
					 uint64_t *offset, const char **why)
{
	if (offset)
		*offset = rd->end_off;
	if (why)
		*why = rd->why;
	return rd->end;
}

const struct replay_machine *replay__reader_machine(const struct replay_reader *rd)
{
	return &rd->m;
}

unsigned int replay__reader_nsources(const struct replay_reader *rd)
{
	return rd->nsrc;
}

const struct replay_source_info *replay__reader_source(const struct replay_reader *rd,
						       unsigned int id)
{
	return id < rd->nsrc ? &rd->src[id] : NULL;
}

uint32_t replay__reader_version(const struct replay_reader *rd)
{
	return rd->version;
}

uint64_t replay__reader_size(const struct replay_reader *rd)
{
	return rd->size;
}
