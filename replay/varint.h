/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_REPLAY_VARINT_H
#define MICROVM_REPLAY_VARINT_H

/*
 * LEB128 varints (7 bits a byte, low first, high bit = more follows) and
 * zigzag for signed deltas: most fields of most events are small numbers
 * or small differences from the previous event, so they take one byte.
 * A u64 takes at most 10 bytes; a decoder refuses an 11th byte and a 10th
 * byte above 1 (the value would not fit), so every decoded value has
 * exactly one encoding's worth of meaning.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VARINT_MAX 10

/* Output buffer; put_* never write past cap (they set `full` instead). */
struct vbuf {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

/* Input cursor; get_* set `bad` and return 0 past the end. */
struct vcur {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline void put_u8(struct vbuf *b, uint8_t v)
{
	if (b->len < b->cap)
		b->p[b->len++] = v;
	else
		b->full = true;
}

static inline void put_varint(struct vbuf *b, uint64_t v)
{
	while (v >= 0x80) {
		put_u8(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put_u8(b, (uint8_t)v);
}

static inline void put_bytes(struct vbuf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void put_le(struct vbuf *b, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		put_u8(b, (uint8_t)(v >> (8 * i)));
}

static inline uint8_t get_u8(struct vcur *c)
{
	if (c->pos >= c->len) {
		c->bad = true;
		return 0;
	}
	return c->p[c->pos++];
}

static inline uint64_t get_varint(struct vcur *c)
{
	uint64_t v = 0;
	unsigned int i;
	uint8_t byte;

	for (i = 0; i < VARINT_MAX; i++) {
		byte = get_u8(c);
		if (c->bad)
			return 0;
		if (i == VARINT_MAX - 1 && byte > 1) {
			c->bad = true;
			return 0;
		}
		v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static inline uint64_t get_le(struct vcur *c, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)get_u8(c) << (8 * i);
	return c->bad ? 0 : v;
}

static inline uint64_t le_at(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#endif
