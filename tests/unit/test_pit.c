// SPDX-License-Identifier: Apache-2.0
/*
 * 8254 PIT and port 0x61, driven through the bus like a guest would, on a
 * manual virtual clock.  Times are given in PIT ticks from a base tick that
 * is not zero, so that load times are really taken into account.
 */
#include <string.h>

#include "devices/bus.h"
#include "devices/pit.h"
#include "common/vclock.h"
#include "check.h"

#define BASE		1000ULL	/* tick at which tests program */
#define CTRL		0x43
#define CH(n)		(0x40 + (n))

static struct vclock clk;
static struct bus bus;
static struct pit pit;
static unsigned int edges;
static int line_level;

static void record_level(void *ctx, unsigned int irq, int level)
{
	(void)ctx;
	(void)irq;
	if (level && !line_level)
		edges++;
	line_level = level;
}

static void setup(void)
{
	vclock__init(&clk, true);
	bus__init(&bus);
	edges = 0;
	line_level = 0;
	pit__init(&pit, &clk,
		  (struct irq_line){ .set_level = record_level, .irq = 0 });
	CHECK_EQ(pit__register(&pit, &bus), 0);
}

/* First virtual ns of PIT tick t. */
static u64 tick_ns(u64 t)
{
	return (t * NSEC_PER_SEC + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ;
}

/* Move the clock into the middle of tick t (after BASE). */
static void at(u64 t)
{
	vclock__set(&clk, tick_ns(BASE + t) + 100);
}

static void outb(u16 port, u8 val)
{
	CHECK_EQ(bus__access(&bus, BUS_PIO, port, &val, 1, true), 0);
}

static u8 inb(u16 port)
{
	u8 val = 0;

	CHECK_EQ(bus__access(&bus, BUS_PIO, port, &val, 1, false), 0);
	return val;
}

static void program(unsigned int ch, u8 mode_rw_bcd, u32 count)
{
	outb(CTRL, (u8)(ch << 6 | mode_rw_bcd));
	outb(CH(ch), count & 0xff);
	outb(CH(ch), (count >> 8) & 0xff);
}

static u16 read16(unsigned int ch)
{
	u8 lo = inb(CH(ch));

	return (u16)(lo | inb(CH(ch)) << 8);
}

static u16 latch_read(unsigned int ch)
{
	outb(CTRL, (u8)(ch << 6));
	return read16(ch);
}

static u8 status(unsigned int ch)
{
	outb(CTRL, (u8)(0xe0 | 2 << ch));	/* read-back: status only */
	return inb(CH(ch));
}

#define OUT(ch)		(status(ch) >> 7)

static void test_mode2_counts(void)
{
	setup();
	at(0);
	program(0, 0x34, 1000);		/* LSB/MSB, mode 2, binary */
	CHECK_EQ(latch_read(0), 1000);
	at(1);
	CHECK_EQ(latch_read(0), 999);
	at(998);
	CHECK_EQ(latch_read(0), 2);
	CHECK_EQ(OUT(0), 1);
	at(999);
	CHECK_EQ(latch_read(0), 1);
	CHECK_EQ(OUT(0), 0);		/* the one-tick low pulse */
	at(1000);
	CHECK_EQ(latch_read(0), 1000);	/* reloaded */
	CHECK_EQ(OUT(0), 1);
	at(5250);
	CHECK_EQ(latch_read(0), 750);
}

static void test_mode3_counts(void)
{
	static const u16 even[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	static const u8 even_out[] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1 };
	static const u16 odd[] = { 7, 6, 4, 2, 7, 4, 2, 7 };
	static const u8 odd_out[] = { 1, 1, 1, 1, 0, 0, 0, 1 };
	unsigned int i;

	setup();
	at(0);
	program(0, 0x36, 10);
	for (i = 0; i < ARRAY_SIZE(even); i++) {
		at(i);
		CHECK_EQ(latch_read(0), even[i]);
		CHECK_EQ(OUT(0), even_out[i]);
	}

	setup();
	at(0);
	program(0, 0x36, 7);
	for (i = 0; i < ARRAY_SIZE(odd); i++) {
		at(i);
		CHECK_EQ(latch_read(0), odd[i]);
		CHECK_EQ(OUT(0), odd_out[i]);
	}

	/* 100 Hz square wave: one IRQ0 edge per period, on the rising edge. */
	setup();
	at(0);
	program(0, 0x36, 11932);
	for (i = 1; i <= 5; i++) {
		at(11932 * i - 1);
		CHECK_EQ(vclock__run_expired(&clk), 0);
		CHECK_EQ(edges, i - 1);
		at(11932 * i);
		CHECK_EQ(vclock__run_expired(&clk), 1);
		CHECK_EQ(edges, i);
	}
}

static void test_mode0_terminal_count(void)
{
	setup();
	at(0);
	program(0, 0x30, 100);		/* mode 0 */
	CHECK_EQ(OUT(0), 0);
	CHECK_EQ(vclock__next_deadline(&clk), tick_ns(BASE + 100));
	at(99);
	CHECK_EQ(vclock__run_expired(&clk), 0);
	CHECK_EQ(edges, 0);
	CHECK_EQ(OUT(0), 0);
	CHECK_EQ(latch_read(0), 1);
	at(100);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
	CHECK_EQ(OUT(0), 1);
	CHECK_EQ(latch_read(0), 0);
	/* One-shot: the timer is off and OUT stays high as the CE wraps. */
	CHECK_EQ(vclock__next_deadline(&clk), VTIMER_OFF);
	at(100000);
	CHECK_EQ(vclock__run_expired(&clk), 0);
	CHECK_EQ(edges, 1);
	CHECK_EQ(OUT(0), 1);
	CHECK_EQ(latch_read(0), (100 + 65536 - 100000 % 65536) % 65536);

	/* A new count (no control word) restarts it: OUT low, one edge. */
	program(0, 0x30, 50);
	CHECK_EQ(OUT(0), 0);
	at(100050);
	vclock__run_expired(&clk);
	CHECK_EQ(edges, 2);
}

static void test_mode0_first_byte_stops(void)
{
	setup();
	at(0);
	program(0, 0x30, 1000);
	at(10);
	outb(CH(0), 0x20);		/* LSB of the next count */
	at(60);
	CHECK_EQ(latch_read(0), 990);	/* counting stopped */
	CHECK_EQ(status(0) & 0xc0, 0x40);	/* OUT low, null count */
	at(2000);
	CHECK_EQ(vclock__run_expired(&clk), 0);
	CHECK_EQ(edges, 0);
	outb(CH(0), 0x00);		/* MSB: count 0x20 loaded now */
	CHECK_EQ(status(0) & 0xc0, 0);
	at(2000 + 0x20);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
}

static void test_flip_flop(void)
{
	setup();
	at(0);
	program(0, 0x34, 0x1234);
	CHECK_EQ(inb(CH(0)), 0x34);	/* LSB first ... */
	CHECK_EQ(inb(CH(0)), 0x12);	/* ... then MSB */
	at(0x34);
	CHECK_EQ(inb(CH(0)), 0x00);
	CHECK_EQ(inb(CH(0)), 0x12);

	/* LSB only: every access is the low byte, MSB written as 0. */
	outb(CTRL, 0x14);
	outb(CH(0), 0x80);
	CHECK_EQ(inb(CH(0)), 0x80);
	CHECK_EQ(inb(CH(0)), 0x80);
	at(0x34 + 0x10);
	CHECK_EQ(inb(CH(0)), 0x70);

	/* MSB only: count 0x0200; one tick later the MSB reads 1. */
	outb(CTRL, 0x24);
	outb(CH(0), 0x02);
	CHECK_EQ(inb(CH(0)), 0x02);
	at(0x34 + 0x11);
	CHECK_EQ(inb(CH(0)), 0x01);
	CHECK_EQ(status(0) & 0x3f, 0x24);

	/* A control word resets the write flip-flop mid-count. */
	outb(CTRL, 0x34);
	outb(CH(0), 0x99);		/* lone LSB, then reprogram */
	outb(CTRL, 0x34);
	outb(CH(0), 0x10);
	outb(CH(0), 0x00);
	CHECK_EQ(latch_read(0), 0x10);
}

static void test_latch_holds(void)
{
	setup();
	at(0);
	program(0, 0x34, 5000);
	at(100);
	outb(CTRL, 0x00);		/* counter latch, channel 0 */
	at(2000);
	CHECK_EQ(read16(0), 4900);	/* value at the latch */
	CHECK_EQ(read16(0), 3000);	/* released: live again */
}

static void test_second_latch_ignored(void)
{
	setup();
	at(0);
	program(0, 0x34, 5000);
	at(10);
	outb(CTRL, 0x00);
	at(50);
	outb(CTRL, 0x00);		/* ignored: one is pending */
	outb(CTRL, 0xd2);		/* read-back count: ignored too */
	CHECK_EQ(read16(0), 4990);
	at(70);
	CHECK_EQ(latch_read(0), 4930);

	/* Status latches likewise: the first one wins. */
	outb(CTRL, 0xe2);		/* status of ch0: mode 2, OUT high */
	outb(CTRL, 0x30);		/* reprogram to mode 0: OUT low */
	CHECK_EQ(status(0), 0x70);	/* reprogramming dropped the latch */
	program(0, 0x30, 1);
	outb(CTRL, 0xe2);		/* OUT low until the next tick */
	at(71);
	outb(CTRL, 0xe2);		/* OUT is high now, but ignored */
	CHECK_EQ(inb(CH(0)) & 0x80, 0);
}

static void test_readback_two_channels(void)
{
	setup();
	at(0);
	program(0, 0x34, 1000);		/* mode 2 */
	program(1, 0x70, 500);		/* mode 0 */
	outb(CTRL, 0xb0);		/* ch2 mode 0, no count yet */
	at(10);
	outb(CTRL, 0xce);		/* count + status, channels 0-2 */
	at(400);
	/* Status comes first, then the count latched with it. */
	CHECK_EQ(inb(CH(0)), 0xb4);	/* OUT high, RW 3, mode 2 */
	CHECK_EQ(read16(0), 990);
	CHECK_EQ(inb(CH(1)), 0x30);	/* OUT low, RW 3, mode 0 */
	CHECK_EQ(read16(1), 490);
	CHECK_EQ(inb(CH(2)), 0x70);	/* null count: nothing written */
	/* Count only (status bit set): no status byte in front. */
	outb(CTRL, 0xd2);
	CHECK_EQ(read16(0), 600);
}

static void test_bcd(void)
{
	setup();
	at(0);
	program(0, 0x35, 0x1000);	/* mode 2, BCD 1000 */
	CHECK_EQ(latch_read(0), 0x1000);
	at(1);
	CHECK_EQ(latch_read(0), 0x0999);
	at(1001);
	CHECK_EQ(latch_read(0), 0x0999);
	CHECK_EQ(status(0) & 1, 1);

	/* BCD 0 is 10000: 0000, 9999, ... and terminal count at 10000. */
	setup();
	at(0);
	program(0, 0x31, 0);
	CHECK_EQ(latch_read(0), 0);
	at(1);
	CHECK_EQ(latch_read(0), 0x9999);
	at(9999);
	CHECK_EQ(latch_read(0), 0x0001);
	CHECK_EQ(vclock__run_expired(&clk), 0);
	at(10000);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
}

static void test_count_zero_is_65536(void)
{
	setup();
	at(0);
	program(0, 0x34, 0);
	CHECK_EQ(latch_read(0), 0);
	CHECK_EQ(vclock__next_deadline(&clk), tick_ns(BASE + 65536));
	at(1);
	CHECK_EQ(latch_read(0), 0xffff);
	at(65535);
	CHECK_EQ(latch_read(0), 1);
	at(65536);
	CHECK_EQ(latch_read(0), 0);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
}

static void test_channel2_gate(void)
{
	setup();
	/* Gate and speaker off; unprogrammed channels idle with OUT high. */
	CHECK_EQ(inb(0x61) & 0x23, 0x20);
	at(0);
	program(2, 0x30, 100);		/* mode 0, gate low */
	at(500);
	CHECK_EQ(latch_read(2), 100);	/* loaded, but not counting */
	CHECK_EQ(inb(0x61) & 0x20, 0);

	outb(0x61, 0x01);		/* gate high */
	CHECK_EQ(inb(0x61) & 0x03, 0x01);
	at(599);
	CHECK_EQ(latch_read(2), 1);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	at(600);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);	/* OUT2 in bit 5 */
	CHECK_EQ(edges, 0);		/* channel 2 has no IRQ */

	/* Mode 0: a low gate suspends counting, a high gate resumes. */
	program(2, 0x30, 100);
	at(650);
	outb(0x61, 0x00);
	at(5000);
	CHECK_EQ(latch_read(2), 50);
	outb(0x61, 0x01);
	at(5049);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	at(5050);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);

	/* Mode 1: nothing until a rising gate edge, which retriggers. */
	outb(0x61, 0x00);
	program(2, 0x32, 40);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	at(6000);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	outb(0x61, 0x01);		/* trigger */
	CHECK_EQ(inb(0x61) & 0x20, 0);
	at(6030);
	outb(0x61, 0x00);
	outb(0x61, 0x01);		/* retrigger: 40 more ticks */
	at(6069);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	at(6070);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);

	/* Mode 3 (the speaker): a rising edge restarts the period. */
	program(2, 0xb6 & 0x3f, 100);
	at(6080);
	CHECK_EQ(latch_read(2), 100 - 2 * 10);
	outb(0x61, 0x00);		/* low gate: OUT forced high */
	outb(0x61, 0x03);
	CHECK_EQ(latch_read(2), 100);
	CHECK_EQ(inb(0x61) & 0x23, 0x23);
	outb(0x61, 0xfc);		/* only bits 0-1 are writable */
	CHECK_EQ(inb(0x61) & 0xcf, 0x00);
}

static void test_refresh_toggle(void)
{
	unsigned int i, toggles = 0;
	u8 prev;

	setup();
	prev = inb(0x61) & 0x10;
	/* 1 ms of 1 us steps: ~66 toggles of a 15 us period. */
	for (i = 1; i <= 1000; i++) {
		vclock__set(&clk, i * 1000ULL);
		if ((inb(0x61) & 0x10) != prev)
			toggles++;
		prev = inb(0x61) & 0x10;
	}
	CHECK(toggles >= 60 && toggles <= 70);
}

static void test_coalesce_late_fire(void)
{
	u64 now;

	setup();
	at(0);
	program(0, 0x34, 1193);		/* ~1 ms */
	at(10 * 1193);			/* ten periods late */
	now = vclock__now(&clk);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
	CHECK_EQ(pit.coalesced, 9);
	CHECK(vclock__next_deadline(&clk) > now);
	CHECK_EQ(vclock__next_deadline(&clk), tick_ns(BASE + 11 * 1193));
	/* Nothing more is due until then. */
	CHECK_EQ(vclock__run_expired(&clk), 0);
	at(11 * 1193);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 2);
}

static void test_min_period_clamp(void)
{
	u64 now, deadline;

	setup();
	at(0);
	program(0, 0x34, 10);		/* 8.4 us */
	now = vclock__now(&clk);
	deadline = vclock__next_deadline(&clk);
	/* At least ~100 us away, and on an edge of the real period. */
	CHECK(deadline >= now + PIT_MIN_HOST_PERIOD_NS - 1000);
	CHECK(deadline <= now + PIT_MIN_HOST_PERIOD_NS + 10000);
	vclock__set(&clk, deadline);
	CHECK_EQ(latch_read(0), 10);	/* reload point */
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
	CHECK(vclock__next_deadline(&clk) >=
	      deadline + PIT_MIN_HOST_PERIOD_NS - 1000);
	/* The guest-visible counter keeps the real period. */
	at(1003);
	CHECK_EQ(latch_read(0), 7);

	/* A period above the minimum is not touched. */
	program(0, 0x34, 200);
	CHECK_EQ(vclock__next_deadline(&clk), tick_ns(BASE + 1203));
}

static void test_mode2_new_count_at_period_end(void)
{
	setup();
	at(0);
	program(0, 0x34, 1000);
	at(300);
	outb(CH(0), 500 & 0xff);	/* no control word */
	outb(CH(0), 500 >> 8);
	CHECK_EQ(latch_read(0), 700);	/* current period unaffected */
	CHECK_EQ(status(0) & 0x40, 0x40);	/* null count until loaded */
	CHECK_EQ(vclock__next_deadline(&clk), tick_ns(BASE + 1000));
	at(1000);
	CHECK_EQ(latch_read(0), 500);
	CHECK_EQ(status(0) & 0x40, 0);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(vclock__next_deadline(&clk), tick_ns(BASE + 1500));
	at(1750);
	CHECK_EQ(latch_read(0), 250);
}

static void test_mode4_strobe(void)
{
	setup();
	at(0);
	program(0, 0x38, 20);		/* mode 4 */
	CHECK_EQ(OUT(0), 1);
	at(20);
	CHECK_EQ(OUT(0), 0);		/* one-tick strobe */
	CHECK_EQ(vclock__run_expired(&clk), 0);
	at(21);
	CHECK_EQ(OUT(0), 1);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	CHECK_EQ(edges, 1);
	CHECK_EQ(vclock__next_deadline(&clk), VTIMER_OFF);
}

static void test_control_word_edge(void)
{
	setup();
	at(0);
	program(0, 0x34, 100);		/* reset state has OUT high... */
	CHECK_EQ(edges, 0);		/* ...so no edge here */
	program(0, 0x30, 1000);		/* mode 0 counting: OUT low */
	CHECK_EQ(edges, 0);
	outb(CTRL, 0x34);		/* OUT back high: an edge */
	CHECK_EQ(edges, 1);
	CHECK_EQ(vclock__next_deadline(&clk), VTIMER_OFF);
	/* Channels 1 and 2 are not wired to IRQ0. */
	program(1, 0x30, 1000);
	outb(CTRL, 0x74);
	CHECK_EQ(edges, 1);
}

static void test_odd_accesses(void)
{
	u8 buf[4];

	setup();
	at(0);
	program(2, 0x34, 0x1234);
	/* A 16-bit read at 0x42 is 0x42 then the write-only 0x43. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(bus__access(&bus, BUS_PIO, 0x42, buf, 2, false), 0);
	CHECK_EQ(buf[0], 0x34);
	CHECK_EQ(buf[1], 0xff);
	/* Past the end of the range: unclaimed, all ones, no crash. */
	CHECK(bus__access(&bus, BUS_PIO, 0x61, buf, 4, false) < 0);
	CHECK(bus__access(&bus, BUS_PIO, 0x42, buf, 4, true) < 0);
	/* Read-back with nothing selected, and bit 0 set: harmless. */
	outb(CTRL, 0xc1);
	outb(CTRL, 0xff);
	CHECK_EQ(inb(CH(2)), 0x12);	/* flip-flop untouched */
}

/*
 * --clock=insn: the PIT ticks every so many instructions, whatever the
 * host does, and an idle guest's warp lands on the deadline itself.
 */
static void test_counted_clock(void)
{
	u64 insns = 0, period_ns = tick_ns(11932), fired_at[3];
	unsigned int n = 0;

	setup();
	vclock__count(&clk, &insns, 10);	/* a 100 MHz guest */
	CHECK(vclock__counted(&clk));
	program(0, 0x36, 11932);		/* mode 3, 100 Hz */
	CHECK_EQ(vclock__next_deadline(&clk), period_ns);
	while (n < 2) {
		insns++;
		if (vclock__run_expired(&clk))
			fired_at[n++] = insns;
	}
	/* The first instruction at or past each deadline, exactly. */
	CHECK_EQ(fired_at[0], (period_ns + 9) / 10);
	CHECK_EQ(fired_at[1], (2 * period_ns + 9) / 10);
	CHECK_EQ(edges, 2);
	/* Halted with nothing else to wait for: jump to the next tick. */
	vclock__warp(&clk, vclock__next_deadline(&clk) - vclock__now(&clk));
	CHECK_EQ(vclock__now(&clk), 3 * period_ns);
	CHECK_EQ(vclock__run_expired(&clk), 1);
	fired_at[2] = insns;
	CHECK_EQ(fired_at[2], fired_at[1]);	/* no instruction ran */
	CHECK_EQ(edges, 3);
	/* A warp never moves a host clock. */
	vclock__init(&clk, true);
	vclock__warp(&clk, 1000);
	CHECK_EQ(vclock__now(&clk), 0);
}

static void test_dump(void)
{
	char buf[512], tiny[8];

	setup();
	at(0);
	program(0, 0x34, 1000);
	pit__dump(&pit, buf, sizeof(buf));
	CHECK(strstr(buf, "ch0 mode 2 count 1000") != NULL);
	CHECK(strstr(buf, "timer +") != NULL);
	pit__dump(&pit, tiny, sizeof(tiny));
	CHECK_EQ(strlen(tiny), sizeof(tiny) - 1);
}

int main(void)
{
	RUN(test_mode2_counts);
	RUN(test_mode3_counts);
	RUN(test_mode0_terminal_count);
	RUN(test_mode0_first_byte_stops);
	RUN(test_flip_flop);
	RUN(test_latch_holds);
	RUN(test_second_latch_ignored);
	RUN(test_readback_two_channels);
	RUN(test_bcd);
	RUN(test_count_zero_is_65536);
	RUN(test_channel2_gate);
	RUN(test_refresh_toggle);
	RUN(test_coalesce_late_fire);
	RUN(test_min_period_clamp);
	RUN(test_mode2_new_count_at_period_end);
	RUN(test_mode4_strobe);
	RUN(test_control_word_edge);
	RUN(test_odd_accesses);
	RUN(test_counted_clock);
	RUN(test_dump);
	return check_summary();
}
