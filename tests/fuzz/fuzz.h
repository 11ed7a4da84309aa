/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_FUZZ_H
#define MICROVM_FUZZ_H

/*
 * Shared pieces of the libFuzzer targets: an input cursor that hands out
 * header fields (zeros once the input runs out, so every input is valid)
 * and a guest RAM filled from what is left of the input.
 *
 * Guest RAM is a heap allocation of exactly FUZZ_RAM_SIZE bytes, so that
 * AddressSanitizer's redzones sit right after the last guest byte: any
 * access the code under test makes outside guest RAM is a reported
 * heap-buffer-overflow, not a silent read of neighbouring memory.
 *
 * Invariant violations call fuzz_fail(), which aborts with a message:
 * libFuzzer saves the input as a crash reproducer.
 */
#include "common/guest_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RAM_SIZE (64 * KiB)

struct fuzz_input {
	const u8 *data;
	size_t size;
	size_t pos;
};

static inline u8 fuzz_u8(struct fuzz_input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline u16 fuzz_u16(struct fuzz_input *in)
{
	u16 lo = fuzz_u8(in);

	return lo | (u16)(fuzz_u8(in) << 8);
}

/* The rest of the input becomes guest RAM, zero-padded. */
static inline void fuzz_fill_ram(struct fuzz_input *in, struct guest_mem *mem)
{
	size_t n = MIN(in->size - in->pos, (size_t)mem->size);

	memset(mem->host, 0, mem->size);
	memcpy(mem->host, in->data + in->pos, n);
	in->pos += n;
}

static inline struct guest_mem fuzz_ram(void)
{
	static u8 *host;
	struct guest_mem mem;

	/* One allocation for the whole run; page aligned like a real mmap. */
	if (!host)
		host = aligned_alloc(4096, FUZZ_RAM_SIZE);
	if (!host)
		abort();
	mem.host = host;
	mem.size = FUZZ_RAM_SIZE;
	return mem;
}

#define fuzz_fail(...)                                                     \
	do {                                                               \
		fprintf(stderr, "invariant violated: " __VA_ARGS__);       \
		fputc('\n', stderr);                                       \
		abort();                                                   \
	} while (0)

#define fuzz_assert(cond)                                                  \
	do {                                                               \
		if (!(cond))                                               \
			fuzz_fail("%s (%s:%d)", #cond, __FILE__, __LINE__); \
	} while (0)

/* libFuzzer's entry point; declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#endif
