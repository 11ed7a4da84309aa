// SPDX-License-Identifier: Apache-2.0
/* The bus: registration rules and dispatch of PIO and MMIO accesses. */
#include <errno.h>
#include <string.h>

#include "devices/bus.h"
#include "tests/unit/check.h"

struct probe_dev {
	u64 last_offset;
	u32 last_len;
	bool last_write;
	u8 last_data[8];
	int calls;
};

static int probe_io(void *opaque, u64 offset, u8 *data, u32 len,
		    bool is_write)
{
	struct probe_dev *d = opaque;

	d->calls++;
	d->last_offset = offset;
	d->last_len = len;
	d->last_write = is_write;
	if (is_write)
		memcpy(d->last_data, data, len);
	else
		memset(data, 0xa5, len);
	return 0;
}

static void test_register_rules(void)
{
	struct bus bus;
	struct probe_dev d = { 0 };
	unsigned int i;

	bus__init(&bus);
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x3f8, 8, probe_io, &d, "a"), 0);
	/* Overlaps at either end and containment are refused. */
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x3f0, 9, probe_io, &d, "b"),
		 -EEXIST);
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x3ff, 1, probe_io, &d, "b"),
		 -EEXIST);
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x3f0, 0x20, probe_io, &d, "b"),
		 -EEXIST);
	/* Adjacent is fine, and the spaces are separate. */
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x400, 1, probe_io, &d, "c"), 0);
	CHECK_EQ(bus__register(&bus, BUS_MMIO, 0x3f8, 8, probe_io, &d, "d"), 0);
	/* Zero length, wrap-around and missing handler are invalid. */
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x500, 0, probe_io, &d, "e"),
		 -EINVAL);
	CHECK_EQ(bus__register(&bus, BUS_MMIO, UINT64_MAX - 1, 4, probe_io, &d,
			       "f"), -EINVAL);
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x600, 1, NULL, &d, "g"),
		 -EINVAL);
	for (i = bus.nr[BUS_PIO]; i < BUS_MAX_RANGES; i++)
		CHECK_EQ(bus__register(&bus, BUS_PIO, 0x1000 + i, 1, probe_io,
				       &d, "fill"), 0);
	CHECK_EQ(bus__register(&bus, BUS_PIO, 0x2000, 1, probe_io, &d, "full"),
		 -ENOSPC);
}

static void test_dispatch(void)
{
	struct bus bus;
	struct probe_dev d = { 0 };
	u8 buf[8] = { 1, 2, 3, 4 };

	bus__init(&bus);
	CHECK_EQ(bus__register(&bus, BUS_MMIO, 0xd0000000, 0x1000, probe_io,
			       &d, "mmio"), 0);
	CHECK_EQ(bus__access(&bus, BUS_MMIO, 0xd0000010, buf, 4, true), 0);
	CHECK_EQ(d.last_offset, 0x10);
	CHECK_EQ(d.last_len, 4);
	CHECK(d.last_write);
	CHECK_EQ(d.last_data[3], 4);
	CHECK_EQ(bus__access(&bus, BUS_MMIO, 0xd0000ff8, buf, 8, false), 0);
	CHECK_EQ(d.last_offset, 0xff8);
	CHECK_EQ(buf[7], 0xa5);
	/* An access straddling the end of the range reaches no device. */
	d.calls = 0;
	CHECK_EQ(bus__access(&bus, BUS_MMIO, 0xd0000ffc, buf, 8, false),
		 -ENOENT);
	CHECK_EQ(d.calls, 0);
	/* Unclaimed reads float high, writes vanish, and both are counted. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x80, buf, 2, false), -ENOENT);
	CHECK_EQ(buf[0], 0xff);
	CHECK_EQ(buf[1], 0xff);
	CHECK_EQ(buf[2], 0);
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x80, buf, 1, true), -ENOENT);
	CHECK_EQ(bus.unclaimed[BUS_PIO], 2);
	CHECK_EQ(bus.unclaimed[BUS_MMIO], 1);
	CHECK(bus__find(&bus, BUS_MMIO, 0xd0000fff) != NULL);
	CHECK(bus__find(&bus, BUS_MMIO, 0xd0001000) == NULL);
}

int main(void)
{
	RUN(test_register_rules);
	RUN(test_dispatch);
	return check_summary();
}
