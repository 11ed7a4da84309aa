/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_MEM_H
#define MICROVM_MEM_H

#include "util.h"

/*
 * Guest RAM: one contiguous host mapping of guest-physical [0, size).
 * Every access the VMM makes on the guest's behalf goes through
 * guest_mem__ptr(), which refuses ranges that are not wholly inside RAM
 * (including ones whose end overflows), so a guest-supplied address or
 * length can never make the VMM touch host memory outside the guest.
 */
struct guest_mem {
	u8 *host;
	u64 size;
};

static inline void *guest_mem__ptr(const struct guest_mem *m, u64 gpa, u64 len)
{
	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->host + gpa;
}

#endif
