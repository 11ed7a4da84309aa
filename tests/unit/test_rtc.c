// SPDX-License-Identifier: Apache-2.0
/* CMOS RTC through ports 0x70/0x71 on a manual virtual clock (UTC). */
#include "devices/bus.h"
#include "devices/rtc.h"
#include "common/vclock.h"
#include "check.h"

#define LEAP_EVE	1709251199LL	/* 2024-02-29 23:59:59, Thu */
#define Y2K_EVE		946684799LL	/* 1999-12-31 23:59:59, Fri */
#define NOLEAP_2023	1677628799LL	/* 2023-02-28 23:59:59, Tue */
#define NOLEAP_2100	4107542399LL	/* 2100-02-28 23:59:59, Sun */

#define SEC		NSEC_PER_SEC

static struct vclock clk;
static struct bus bus;
static struct rtc rtc;

static void setup(s64 epoch)
{
	vclock__init(&clk, true);
	bus__init(&bus);
	rtc__init(&rtc, &clk, epoch);
	CHECK_EQ(rtc__register(&rtc, &bus), 0);
}

static u8 cmos_read(u8 reg)
{
	u8 val = reg;

	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x70, &val, 1, true), 0);
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x71, &val, 1, false), 0);
	return val;
}

static void cmos_write(u8 reg, u8 val)
{
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x70, &reg, 1, true), 0);
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x71, &val, 1, true), 0);
}

struct regs {
	u8 sec, min, hour, wday, mday, mon, year, century;
};

static void read_time(struct regs *r)
{
	r->sec = cmos_read(0x00);
	r->min = cmos_read(0x02);
	r->hour = cmos_read(0x04);
	r->wday = cmos_read(0x06);
	r->mday = cmos_read(0x07);
	r->mon = cmos_read(0x08);
	r->year = cmos_read(0x09);
	r->century = cmos_read(0x32);
}

#define CHECK_TIME(r, s, mi, h, w, d, mo, y, c)                            \
	do {                                                               \
		CHECK_EQ((r).sec, s);                                      \
		CHECK_EQ((r).min, mi);                                     \
		CHECK_EQ((r).hour, h);                                     \
		CHECK_EQ((r).wday, w);                                     \
		CHECK_EQ((r).mday, d);                                     \
		CHECK_EQ((r).mon, mo);                                     \
		CHECK_EQ((r).year, y);                                     \
		CHECK_EQ((r).century, c);                                  \
	} while (0)

static void test_bcd_and_binary(void)
{
	struct regs r;

	setup(LEAP_EVE);
	CHECK_EQ(cmos_read(0x0b), 0x02);	/* 24 h, BCD */
	read_time(&r);
	CHECK_TIME(r, 0x59, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20);

	cmos_write(0x0b, 0x06);			/* 24 h, binary */
	read_time(&r);
	CHECK_TIME(r, 59, 59, 23, 5, 29, 2, 24, 20);
}

static void test_12h(void)
{
	setup(LEAP_EVE);
	cmos_write(0x0b, 0x00);			/* 12 h, BCD */
	CHECK_EQ(cmos_read(0x04), 0x80 | 0x11);	/* 11 PM */
	cmos_write(0x0b, 0x04);			/* 12 h, binary */
	CHECK_EQ(cmos_read(0x04), 0x80 | 11);

	vclock__set(&clk, 1 * SEC);		/* 00:00:00 is 12 AM */
	CHECK_EQ(cmos_read(0x04), 12);
	cmos_write(0x0b, 0x00);
	CHECK_EQ(cmos_read(0x04), 0x12);
	vclock__set(&clk, (1 + 3600) * SEC);	/* 1 AM */
	CHECK_EQ(cmos_read(0x04), 0x01);
	vclock__set(&clk, (1 + 12 * 3600) * SEC);	/* 12 PM */
	CHECK_EQ(cmos_read(0x04), 0x80 | 0x12);
	vclock__set(&clk, (1 + 13 * 3600) * SEC);	/* 1 PM */
	CHECK_EQ(cmos_read(0x04), 0x80 | 0x01);
}

static void test_rollover(void)
{
	struct regs r;

	/* Leap day to 1 March, Thursday to Friday. */
	setup(LEAP_EVE);
	vclock__set(&clk, SEC - 1);
	CHECK_EQ(cmos_read(0x00), 0x59);
	vclock__set(&clk, SEC);
	read_time(&r);
	CHECK_TIME(r, 0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20);
	/* A year and a day later: 2025-03-02 00:00:00, a Sunday. */
	vclock__set(&clk, (1 + 366 * 86400ULL) * SEC);
	read_time(&r);
	CHECK_TIME(r, 0x00, 0x00, 0x00, 1, 0x02, 0x03, 0x25, 0x20);

	/* Century: 1999-12-31 to 2000-01-01, a Saturday. */
	setup(Y2K_EVE);
	read_time(&r);
	CHECK_TIME(r, 0x59, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19);
	vclock__set(&clk, SEC + SEC / 2);
	read_time(&r);
	CHECK_TIME(r, 0x00, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20);

	/* Non-leap years skip 29 February, 2100 included. */
	setup(NOLEAP_2023);
	vclock__set(&clk, SEC);
	CHECK_EQ(cmos_read(0x07), 0x01);
	CHECK_EQ(cmos_read(0x08), 0x03);
	CHECK_EQ(cmos_read(0x06), 4);		/* Wednesday */
	setup(NOLEAP_2100);
	vclock__set(&clk, SEC);
	CHECK_EQ(cmos_read(0x07), 0x01);
	CHECK_EQ(cmos_read(0x08), 0x03);
	CHECK_EQ(cmos_read(0x09), 0x00);
	CHECK_EQ(cmos_read(0x32), 0x21);
	CHECK_EQ(cmos_read(0x06), 2);		/* Monday */
}

static void test_uip(void)
{
	setup(LEAP_EVE);
	CHECK_EQ(cmos_read(0x0a), 0x26);
	vclock__set(&clk, SEC / 2);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	vclock__set(&clk, SEC - 244000 - 1);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	vclock__set(&clk, SEC - 244000);
	CHECK_EQ(cmos_read(0x0a), 0x80 | 0x26);
	CHECK_EQ(cmos_read(0x00), 0x59);	/* not updated yet */
	vclock__set(&clk, SEC - 1);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0x80);
	cmos_write(0x0b, 0x82);		/* SET: no updates, no UIP */
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	cmos_write(0x0b, 0x02);
	vclock__set(&clk, SEC);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	/* The guest cannot set UIP; divider and rate bits are stored. */
	cmos_write(0x0a, 0xa3);
	CHECK_EQ(cmos_read(0x0a), 0x23);
}

static void test_register_c(void)
{
	setup(LEAP_EVE);
	cmos_write(0x0a, 0x20);			/* no periodic rate */
	cmos_write(0x05, 0x12);		/* no alarm at midnight */
	CHECK_EQ(cmos_read(0x0c), 0);
	vclock__set(&clk, SEC / 2);
	CHECK_EQ(cmos_read(0x0c), 0);		/* no update yet */
	vclock__set(&clk, SEC);
	CHECK_EQ(cmos_read(0x0c), 0x10);	/* update-ended */
	CHECK_EQ(cmos_read(0x0c), 0);		/* read cleared it */
	cmos_write(0x0c, 0xff);			/* read-only */
	CHECK_EQ(cmos_read(0x0c), 0);

	/* Periodic flag at 1024 Hz; IRQF only with the enable bit. */
	cmos_write(0x0a, 0x26);
	vclock__set(&clk, SEC + 500000);
	CHECK_EQ(cmos_read(0x0c), 0);
	vclock__set(&clk, SEC + 1000000);
	CHECK_EQ(cmos_read(0x0c), 0x40);
	cmos_write(0x0b, 0x42);			/* PIE */
	vclock__set(&clk, SEC + 2000000);
	CHECK_EQ(cmos_read(0x0c), 0xc0);

	/* Alarm at hh:mm:05 with "don't care" minutes and hours. */
	cmos_write(0x0a, 0x20);
	cmos_write(0x0b, 0x02);
	cmos_write(0x01, 0x05);
	cmos_write(0x03, 0xc0);
	cmos_write(0x05, 0xff);
	vclock__set(&clk, 5 * SEC);		/* up to 00:00:04 */
	CHECK_EQ(cmos_read(0x0c), 0x10);
	vclock__set(&clk, 7 * SEC);		/* past 00:00:05 */
	CHECK_EQ(cmos_read(0x0c), 0x30);
	vclock__set(&clk, 60 * SEC);		/* 00:00:59: no match */
	CHECK_EQ(cmos_read(0x0c), 0x10);
	cmos_write(0x0b, 0x22);			/* AIE */
	vclock__set(&clk, 70 * SEC);		/* past 00:01:05 */
	CHECK_EQ(cmos_read(0x0c), 0xb0);
	/* A stored alarm is plain storage to read back. */
	CHECK_EQ(cmos_read(0x01), 0x05);
}

static void test_time_writes_ignored(void)
{
	static const u8 time_regs[] = { 0x00, 0x02, 0x04, 0x06, 0x07,
					0x08, 0x09, 0x32 };
	struct regs r;
	unsigned int i;

	setup(LEAP_EVE);
	cmos_write(0x0b, 0x82);		/* SET, as a guest would */
	for (i = 0; i < ARRAY_SIZE(time_regs); i++)
		cmos_write(time_regs[i], 0x01);
	cmos_write(0x0b, 0x02);
	read_time(&r);
	CHECK_TIME(r, 0x59, 0x59, 0x23, 5, 0x29, 0x02, 0x24, 0x20);
	/* SET also clears UIE, as on the chip. */
	cmos_write(0x0b, 0x92);
	CHECK_EQ(cmos_read(0x0b), 0x82);
	/* Register D: valid RAM and time, read-only. */
	cmos_write(0x0d, 0x00);
	CHECK_EQ(cmos_read(0x0d), 0x80);
}

static void test_index_and_storage(void)
{
	u8 val, buf[2];
	unsigned int i;

	setup(LEAP_EVE);
	/* Bit 7 of the index is the NMI mask: remembered, not an index. */
	val = 0x80 | 0x0a;
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x70, &val, 1, true), 0);
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x71, &val, 1, false), 0);
	CHECK_EQ(val, 0x26);
	CHECK(rtc.nmi_masked);
	CHECK_EQ(rtc.index, 0x0a);
	cmos_write(0x8e, 0x42);
	CHECK(rtc.nmi_masked);
	CHECK_EQ(cmos_read(0x0e), 0x42);
	CHECK(!rtc.nmi_masked);

	/* The rest is plain storage, zero at start. */
	for (i = 0x0e; i < 0x80; i++) {
		if (i == 0x32 || i == 0x0e)
			continue;
		CHECK_EQ(cmos_read((u8)i), 0);
		cmos_write((u8)i, (u8)(i ^ 0x5a));
	}
	for (i = 0x0f; i < 0x80; i++)
		if (i != 0x32)
			CHECK_EQ(cmos_read((u8)i), i ^ 0x5a);

	/* 16-bit accesses split into index then data; no crash. */
	buf[0] = 0x0f;
	buf[1] = 0x77;
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x70, buf, 2, true), 0);
	CHECK_EQ(cmos_read(0x0f), 0x77);
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x70, buf, 2, false), 0);
	CHECK_EQ(buf[0], 0xff);			/* index is write-only */
	CHECK_EQ(buf[1], 0x77);
	CHECK(bus__access(&bus, BUS_PIO, 0x71, buf, 2, false) < 0);
}

int main(void)
{
	RUN(test_bcd_and_binary);
	RUN(test_12h);
	RUN(test_rollover);
	RUN(test_uip);
	RUN(test_register_c);
	RUN(test_time_writes_ignored);
	RUN(test_index_and_storage);
	return check_summary();
}
