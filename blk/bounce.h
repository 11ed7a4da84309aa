/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_BOUNCE_H
#define MICROVM_BOUNCE_H

#include "../common/util.h"

/*
 * Host buffers for disk data in flight (DESIGN.md, "when data moves").
 *
 * A disk engine never reads or writes guest RAM: a read lands in one of
 * these buffers and is copied into the guest when the vCPU loop releases
 * its completion; a write is copied out of the guest, on the vCPU thread,
 * when it is submitted.  So what the guest sees, and what reaches the
 * image, depends on guest-synchronous moments only, never on when a host
 * thread happened to run.
 *
 * Buffers come in power-of-two size classes (4 KiB to 8 MiB) and are kept
 * for reuse, so a running guest allocates nothing per request once its
 * working set is warm.  The pool has a byte budget: when it is spent, the
 * caller must wait until a buffer comes back (bounce__get() says -EAGAIN),
 * which bounds a device's memory whatever the guest asks for.
 */
#define BOUNCE_MIN_SHIFT 12
#define BOUNCE_CLASSES 12
#define BOUNCE_MAX_BYTES (1ULL << (BOUNCE_MIN_SHIFT + BOUNCE_CLASSES - 1))

struct bounce_pool {
	u64 budget;	/* bytes the pool may hold, idle or in use */
	u64 held;	/* bytes allocated now */
	u64 allocs;	/* buffers allocated so far (warm-up; tests) */
	void *idle[BOUNCE_CLASSES];	/* free lists, linked through the buffers */
};

void bounce__init(struct bounce_pool *p, u64 budget);
/* Free every idle buffer; buffers still out are the caller's leak. */
void bounce__exit(struct bounce_pool *p);
/*
 * A buffer of at least len bytes (1 <= len <= BOUNCE_MAX_BYTES, and at
 * most the budget).  0 and *out set; -EAGAIN when the budget is spent by
 * buffers in use (try again after a bounce__put()); -E2BIG when len can
 * never be served; -ENOMEM.
 */
int bounce__get(struct bounce_pool *p, u64 len, void **out);
/* Give back a buffer obtained for len bytes. */
void bounce__put(struct bounce_pool *p, void *buf, u64 len);

#endif
