// SPDX-License-Identifier: Apache-2.0
/* The bounce-buffer pool for disk data in flight (see bounce.h). */
#include "bounce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned int bounce_class(u64 len)
{
	unsigned int c = 0;

	while ((1ULL << (BOUNCE_MIN_SHIFT + c)) < len)
		c++;
	return c;
}

static u64 bounce_size(unsigned int c)
{
	return 1ULL << (BOUNCE_MIN_SHIFT + c);
}

void bounce__init(struct bounce_pool *p, u64 budget)
{
	memset(p, 0, sizeof(*p));
	p->budget = budget;
}

static void bounce_free_class(struct bounce_pool *p, unsigned int c)
{
	void *buf = p->idle[c];

	p->idle[c] = *(void **)buf;
	free(buf);
	p->held -= bounce_size(c);
}

void bounce__exit(struct bounce_pool *p)
{
	for (unsigned int c = 0; c < BOUNCE_CLASSES; c++)
		while (p->idle[c])
			bounce_free_class(p, c);
}

/*
 * Make room for `need` more bytes by freeing idle buffers of other
 * classes, largest first (they are the likeliest to be rare sizes).
 */
static bool bounce_reclaim(struct bounce_pool *p, u64 need)
{
	for (int c = BOUNCE_CLASSES - 1; c >= 0; c--) {
		while (p->held + need > p->budget && p->idle[c])
			bounce_free_class(p, (unsigned int)c);
	}
	return p->held + need <= p->budget;
}

int bounce__get(struct bounce_pool *p, u64 len, void **out)
{
	unsigned int c;
	void *buf;

	if (!len || len > BOUNCE_MAX_BYTES)
		return -E2BIG;
	c = bounce_class(len);
	if (bounce_size(c) > p->budget)
		return -E2BIG;
	if (p->idle[c]) {
		buf = p->idle[c];
		p->idle[c] = *(void **)buf;
		*out = buf;
		return 0;
	}
	if (!bounce_reclaim(p, bounce_size(c)))
		return -EAGAIN;
	/* Page-aligned: what O_DIRECT and io_uring's fixed buffers want. */
	if (posix_memalign(&buf, 4096, bounce_size(c)))
		return -ENOMEM;
	p->held += bounce_size(c);
	p->allocs++;
	*out = buf;
	return 0;
}

void bounce__put(struct bounce_pool *p, void *buf, u64 len)
{
	unsigned int c = bounce_class(len);

	*(void **)buf = p->idle[c];
	p->idle[c] = buf;
}
