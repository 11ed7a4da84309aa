// SPDX-License-Identifier: Apache-2.0
/*
 * The device bus.  A handful of ranges per space, so a linear scan is both
 * the simplest and, at this size, the fastest lookup.
 */
#include "bus.h"

#include <errno.h>
#include <string.h>

void bus__init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

static bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

int bus__register(struct bus *bus, enum bus_space space, u64 base, u64 len,
		  bus_io_fn fn, void *opaque, const char *name)
{
	struct bus_range *r;
	unsigned int i;

	if (space >= BUS_NR_SPACES || !len || !fn || base + len < base)
		return -EINVAL;
	for (i = 0; i < bus->nr[space]; i++) {
		r = &bus->ranges[space][i];
		if (ranges_overlap(base, len, r->base, r->len))
			return -EEXIST;
	}
	if (bus->nr[space] == BUS_MAX_RANGES)
		return -ENOSPC;
	r = &bus->ranges[space][bus->nr[space]++];
	r->base = base;
	r->len = len;
	r->fn = fn;
	r->opaque = opaque;
	r->name = name;
	return 0;
}

const struct bus_range *bus__find(const struct bus *bus, enum bus_space space,
				  u64 addr)
{
	unsigned int i;

	if (space >= BUS_NR_SPACES)
		return NULL;
	for (i = 0; i < bus->nr[space]; i++) {
		const struct bus_range *r = &bus->ranges[space][i];

		if (addr >= r->base && addr - r->base < r->len)
			return r;
	}
	return NULL;
}

int bus__access(struct bus *bus, enum bus_space space, u64 addr, u8 *data,
		u32 len, bool is_write)
{
	const struct bus_range *r = bus__find(bus, space, addr);

	if (!r || addr - r->base + len > r->len) {
		if (space < BUS_NR_SPACES)
			bus->unclaimed[space]++;
		if (!is_write)
			memset(data, 0xff, len);
		return -ENOENT;
	}
	return r->fn(r->opaque, addr - r->base, data, len, is_write);
}
