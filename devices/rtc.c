// SPDX-License-Identifier: Apache-2.0
/*
 * MC146818-style CMOS RTC.
 *
 * What the guest can and cannot change:
 * - The time registers (seconds .. year, and the century byte at 0x32) are
 *   computed from the virtual clock on every read and writes to them are
 *   ignored: the guest's notion of wall time must be a function of the
 *   recorded epoch and virtual time only, or a replay could diverge on a
 *   guest that sets its clock.  Register B's format bits (24/12 h, binary
 *   or BCD) are honoured; its SET bit only suppresses UIP, the clock keeps
 *   running.
 * - Register A's divider and rate bits are stored but do not stop or change
 *   the clock.
 * - No RTC interrupt (IRQ8) is ever raised: nothing we boot needs one, and
 *   each would be one more asynchronous event for the replay core.  The
 *   flags in register C are still maintained, lazily from virtual time
 *   (update-ended once per second, periodic at register A's rate, alarm on
 *   a seconds/minutes/hours match), so a guest polling C sees them move.
 * - The NMI mask (port 0x70 bit 7) is remembered but masks nothing: no
 *   NMIs are delivered.
 */
#include "rtc.h"

#include <string.h>

#define REG_SEC			0x00
#define REG_SEC_ALARM		0x01
#define REG_MIN			0x02
#define REG_MIN_ALARM		0x03
#define REG_HOUR		0x04
#define REG_HOUR_ALARM		0x05
#define REG_WDAY		0x06
#define REG_MDAY		0x07
#define REG_MONTH		0x08
#define REG_YEAR		0x09
#define REG_A			0x0a
#define REG_B			0x0b
#define REG_C			0x0c
#define REG_D			0x0d
#define REG_CENTURY		0x32

#define A_UIP			0x80
#define A_RS_MASK		0x0f
#define B_SET			0x80
#define B_PIE			0x40
#define B_AIE			0x20
#define B_UIE			0x10
#define B_DM_BINARY		0x04
#define B_24H			0x02
#define C_IRQF			0x80
#define C_PF			0x40
#define C_AF			0x20
#define C_UF			0x10
#define D_VRT			0x80

#define HOUR_PM			0x80
#define ALARM_DONT_CARE		0xc0	/* 11xxxxxx matches any value */

/* UIP rises this long before each update (the 32.768 kHz timing). */
#define UIP_NS			244000ULL
#define RTC_OSC_HZ		32768ULL
#define SECS_PER_DAY		86400

struct rtc_tm {
	s64 year;
	unsigned int mon;	/* 1..12 */
	unsigned int mday;	/* 1..31 */
	unsigned int wday;	/* 1..7, Sunday = 1 as the MC146818 counts */
	unsigned int hour, min, sec;
};

/*
 * Days since 1970-01-01 to proleptic Gregorian date, after Howard
 * Hinnant's civil_from_days(): exact for every s64 day count we can meet,
 * leap centuries included, without tables or loops.
 */
static void rtc_civil_from_days(s64 z, struct rtc_tm *tm)
{
	s64 era;
	u64 doe, yoe, doy, mp;

	z += 719468;	/* shift the epoch to 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (u64)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->mday = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	tm->mon = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = (s64)yoe + era * 400 + (tm->mon <= 2);
}

static s64 floor_div(s64 a, s64 b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void rtc_time_to_tm(s64 t, struct rtc_tm *tm)
{
	s64 days = floor_div(t, SECS_PER_DAY);
	unsigned int secs = (unsigned int)(t - days * SECS_PER_DAY);

	rtc_civil_from_days(days, tm);
	/* 1970-01-01 was a Thursday, day 5 counting Sunday as 1. */
	tm->wday = (unsigned int)((days % 7 + 7 + 4) % 7) + 1;
	tm->hour = secs / 3600;
	tm->min = secs / 60 % 60;
	tm->sec = secs % 60;
}

static u64 rtc_vsecond(const struct rtc *rtc)
{
	return vclock__now(rtc->clk) / NSEC_PER_SEC;
}

static s64 rtc_now(const struct rtc *rtc)
{
	return rtc->epoch + (s64)rtc_vsecond(rtc);
}

/* A value 0..99 in the format register B selects. */
static u8 rtc_encode(const struct rtc *rtc, unsigned int v)
{
	v %= 100;
	if (rtc->cmos[REG_B] & B_DM_BINARY)
		return (u8)v;
	return (u8)((v / 10) << 4 | v % 10);
}

static u8 rtc_encode_hour(const struct rtc *rtc, unsigned int hour)
{
	unsigned int h12;

	if (rtc->cmos[REG_B] & B_24H)
		return rtc_encode(rtc, hour);
	/* 12 h: 12 AM, 1 AM .. 11 AM, 12 PM .. 11 PM; bit 7 means PM. */
	h12 = hour % 12 ? hour % 12 : 12;
	return rtc_encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static unsigned int year_mod(s64 year, s64 div)
{
	s64 r = year % div;

	return (unsigned int)(r < 0 ? r + div : r);
}

static u8 rtc_read_time(const struct rtc *rtc, u8 reg)
{
	struct rtc_tm tm;

	rtc_time_to_tm(rtc_now(rtc), &tm);
	switch (reg) {
	case REG_SEC:
		return rtc_encode(rtc, tm.sec);
	case REG_MIN:
		return rtc_encode(rtc, tm.min);
	case REG_HOUR:
		return rtc_encode_hour(rtc, tm.hour);
	case REG_WDAY:
		return rtc_encode(rtc, tm.wday);
	case REG_MDAY:
		return rtc_encode(rtc, tm.mday);
	case REG_MONTH:
		return rtc_encode(rtc, tm.mon);
	case REG_YEAR:
		return rtc_encode(rtc, year_mod(tm.year, 100));
	default:
		return rtc_encode(rtc, year_mod(floor_div(tm.year, 100), 100));
	}
}

static bool is_time_reg(u8 reg)
{
	return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR ||
	       (reg >= REG_WDAY && reg <= REG_YEAR) || reg == REG_CENTURY;
}

static bool alarm_match(u8 alarm, u8 now)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

/* Did an update in virtual seconds (from, to] match the alarm? */
static bool rtc_alarm_fired(const struct rtc *rtc, u64 from, u64 to)
{
	u64 s;

	/* Every hh:mm:ss pattern occurs within a day of updates. */
	if (to - from > SECS_PER_DAY)
		from = to - SECS_PER_DAY;
	for (s = from + 1; s <= to; s++) {
		struct rtc_tm tm;

		rtc_time_to_tm(rtc->epoch + (s64)s, &tm);
		if (alarm_match(rtc->cmos[REG_SEC_ALARM],
				rtc_encode(rtc, tm.sec)) &&
		    alarm_match(rtc->cmos[REG_MIN_ALARM],
				rtc_encode(rtc, tm.min)) &&
		    alarm_match(rtc->cmos[REG_HOUR_ALARM],
				rtc_encode_hour(rtc, tm.hour)))
			return true;
	}
	return false;
}

/* Periodic-interrupt period as a shift of 32.768 kHz cycles, 0 if off. */
static unsigned int rtc_period_shift(const struct rtc *rtc)
{
	unsigned int rs = rtc->cmos[REG_A] & A_RS_MASK;

	if (!rs)
		return 0;
	/* RS 1 and 2 alias 256 Hz and 128 Hz; 3..15 are 8192 Hz .. 2 Hz. */
	return rs < 3 ? rs + 7 : rs - 1;
}

static u64 rtc_osc_cycles(u64 ns)
{
	return (ns / NSEC_PER_SEC) * RTC_OSC_HZ +
	       (ns % NSEC_PER_SEC) * RTC_OSC_HZ / NSEC_PER_SEC;
}

/*
 * Register C: the flags raised since it was last read, then cleared.  The
 * update and alarm flags need an update cycle, which SET inhibits.
 */
static u8 rtc_read_c(struct rtc *rtc)
{
	u64 now = vclock__now(rtc->clk);
	u64 second = now / NSEC_PER_SEC, cycles = rtc_osc_cycles(now);
	unsigned int shift = rtc_period_shift(rtc);
	u8 b = rtc->cmos[REG_B], c = 0;

	if (!(b & B_SET) && second != rtc->c_seen_second) {
		c |= C_UF;
		if (rtc_alarm_fired(rtc, rtc->c_seen_second, second))
			c |= C_AF;
	}
	if (shift && cycles >> shift != rtc->c_seen_period >> shift)
		c |= C_PF;
	if (c & b & (C_PF | C_AF | C_UF))
		c |= C_IRQF;

	rtc->c_seen_second = second;
	rtc->c_seen_period = cycles;
	return c;
}

static u8 rtc_read(struct rtc *rtc)
{
	u8 reg = rtc->index;
	u8 a;

	if (is_time_reg(reg))
		return rtc_read_time(rtc, reg);
	switch (reg) {
	case REG_A:
		/*
		 * UIP warns that the registers are about to change.  Seconds
		 * start on whole virtual seconds because the epoch is whole.
		 */
		a = rtc->cmos[REG_A] & ~A_UIP;
		if (!(rtc->cmos[REG_B] & B_SET) &&
		    vclock__now(rtc->clk) % NSEC_PER_SEC >=
			    NSEC_PER_SEC - UIP_NS)
			a |= A_UIP;
		return a;
	case REG_C:
		return rtc_read_c(rtc);
	case REG_D:
		/* Valid RAM and time: the battery is always good. */
		return D_VRT;
	default:
		return rtc->cmos[reg];
	}
}

static void rtc_write(struct rtc *rtc, u8 val)
{
	u8 reg = rtc->index;

	if (is_time_reg(reg))
		return;	/* read-only to the guest: see the top */
	switch (reg) {
	case REG_A:
		rtc->cmos[REG_A] = val & ~A_UIP;
		break;
	case REG_B:
		/* As on the chip, SET clears the update-ended enable. */
		if (val & B_SET)
			val &= ~B_UIE;
		rtc->cmos[REG_B] = val;
		break;
	case REG_C:
	case REG_D:
		break;	/* read-only */
	default:
		rtc->cmos[reg] = val;
		break;
	}
}

static int rtc_io(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct rtc *rtc = opaque;
	u32 i;

	/* 8-bit ports: a wider access is split into byte accesses. */
	for (i = 0; i < len; i++) {
		u64 port = offset + i;

		if (port == 0) {
			if (is_write) {
				rtc->index = data[i] & 0x7f;
				rtc->nmi_masked = data[i] & 0x80;
			} else {
				/* The index port is write-only on a PC. */
				data[i] = 0xff;
			}
		} else if (port == 1) {
			if (is_write)
				rtc_write(rtc, data[i]);
			else
				data[i] = rtc_read(rtc);
		} else if (!is_write) {
			data[i] = 0xff;
		}
	}
	return 0;
}

void rtc__init(struct rtc *rtc, struct vclock *clk, s64 epoch_seconds)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->clk = clk;
	rtc->epoch = epoch_seconds;
	/*
	 * At virtual time 0, without reading the clock: the guest has not
	 * run yet, and a read here would be an input at no guest position.
	 */
	rtc->c_seen_second = 0;
	rtc->c_seen_period = rtc_osc_cycles(0);
	/* What a PC BIOS leaves: 32.768 kHz divider, 1024 Hz rate, 24 h BCD. */
	rtc->cmos[REG_A] = 0x26;
	rtc->cmos[REG_B] = B_24H;
}

int rtc__register(struct rtc *rtc, struct bus *bus)
{
	return bus__register(bus, BUS_PIO, RTC_IO_BASE, RTC_IO_LEN, rtc_io, rtc,
			     "rtc");
}
