// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the trace reader (replay/reader.c, codec.c,
 * machine.c) through the public header: the input is a whole trace file.
 * Seeds are real traces recorded by the scripted VMM (corpus/trace/, made
 * by tests/replay/gen_trace), so the fuzzer starts from valid headers,
 * device trees and chunks and mutates from there.
 *
 * Checked beyond ASan/UBSan's own checks: open either succeeds or gives a
 * reason; events come with consecutive indexes, non-decreasing exits,
 * offsets inside the input, payloads within their bounds and source ids
 * the header declares; the stream ends as COMPLETE or CUT (next() == 0)
 * or CORRUPT (next() == -1), with an offset inside the input and a reason;
 * next() after the end keeps returning the same; every event formats.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microvm/replay.h"

#define fuzz_assert(cond)                                                  \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "invariant violated: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                \
			abort();                                           \
		}                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/*
 * Re-seal every CRC the layout lets us find (docs/trace-format.md), so
 * that mutations get past the checksums to the device tree parser and
 * the event decoder, which a random mutation almost never would.
 */
static void seal(uint8_t *b, size_t size)
{
	uint64_t off, fdt_size, len;

	if (size < 32)
		return;
	fdt_size = le32(b + 20);
	if (32 + fdt_size > size)
		return;
	put32(b + 28, replay__crc32c(replay__crc32c(0, b, 28), b + 32, fdt_size));
	for (off = 32 + fdt_size; off + 28 <= size; off += 28 + len) {
		put32(b + off + 20, replay__crc32c(0, b + off, 20));
		len = le32(b + off + 4);
		if (off + 28 + len > size)
			break;
		put32(b + off + 24 + len, replay__crc32c(0, b + off, 24 + len));
	}
}

static void check(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	check(data, size);
	/* Exactly sized, so ASan catches a read one past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	seal(copy, size);
	check(copy, size);
	free(copy);
	return 0;
}

static void check(const uint8_t *data, size_t size)
{
	struct replay_reader *rd;
	struct replay_event ev;
	enum replay_trace_end end;
	uint64_t index = 0, exits = 0, off;
	const char *why;
	char err[512], line[1024];
	int ret;

	err[0] = 0;
	if (replay__reader_open_mem(&rd, data, size, err, sizeof(err))) {
		fuzz_assert(err[0]);
		return;
	}
	fuzz_assert(replay__reader_nsources(rd) <= 64);
	while ((ret = replay__reader_next(rd, &ev)) == 1) {
		fuzz_assert(ev.index == index);
		fuzz_assert(ev.pos.exits >= exits);
		fuzz_assert(ev.offset < size);
		fuzz_assert(ev.p.len <= REPLAY_BYTES_MAX);
		fuzz_assert(ev.type >= REPLAY_EV_INPUT && ev.type <= REPLAY_EV_END);
		if (ev.type <= REPLAY_EV_SUBMIT)
			fuzz_assert(replay__reader_source(rd, ev.source) != NULL);
		replay__event_str(rd, &ev, line, sizeof(line));
		fuzz_assert(strlen(line) < sizeof(line));
		exits = ev.pos.exits;
		index++;
	}
	end = replay__reader_end(rd, &off, &why);
	fuzz_assert(ret == 0 || ret == -1);
	fuzz_assert(ret == -1 ? end == REPLAY_TRACE_CORRUPT :
				(end == REPLAY_TRACE_COMPLETE || end == REPLAY_TRACE_CUT));
	fuzz_assert(off <= size);
	fuzz_assert(why && why[0]);
	fuzz_assert(replay__reader_next(rd, &ev) == ret);
	replay__reader_close(rd);
}
