/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_BUS_H
#define MICROVM_BUS_H

#include "../common/util.h"

/*
 * One dispatch path for port I/O and MMIO (as kvmtool merged them): a device
 * registers an address range with a single handler, which receives the
 * offset inside its range.  Data is little-endian, len is 1, 2, 4 or 8.
 * A handler returns 0, or a negative errno that the bus reports.
 */
typedef int (*bus_io_fn)(void *opaque, u64 offset, u8 *data, u32 len,
			 bool is_write);

enum bus_space {
	BUS_PIO,
	BUS_MMIO,
	BUS_NR_SPACES,
};

#define BUS_MAX_RANGES 32

struct bus_range {
	u64 base;
	u64 len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range ranges[BUS_NR_SPACES][BUS_MAX_RANGES];
	unsigned int nr[BUS_NR_SPACES];
	/* Accesses that hit no device, for the exit statistics. */
	u64 unclaimed[BUS_NR_SPACES];
};

void bus__init(struct bus *bus);
/* -EEXIST if the range overlaps another, -ENOSPC if the table is full. */
int bus__register(struct bus *bus, enum bus_space space, u64 base, u64 len,
		  bus_io_fn fn, void *opaque, const char *name);
/*
 * Returns 0 when a device handled the access, -ENOENT when none claims the
 * address (reads then see all ones, like an open ISA bus), or the handler's
 * error.
 */
int bus__access(struct bus *bus, enum bus_space space, u64 addr, u8 *data,
		u32 len, bool is_write);
const struct bus_range *bus__find(const struct bus *bus, enum bus_space space,
				  u64 addr);

#endif
