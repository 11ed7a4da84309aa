// SPDX-License-Identifier: Apache-2.0
/*
 * The 8254 PIT and port 0x61.
 *
 * Time: the input clock is 1193182 Hz derived from the virtual clock.  Tick
 * k of that clock starts at virtual ns ceil(k * 1e9 / F), so every channel
 * counts on one global tick grid, as channels sharing a crystal do.  A
 * channel stores the tick at which its CE was loaded; "d" below is the
 * number of ticks it has counted since (frozen while a low gate suspends
 * counting).  The CE value and OUT are pure functions of (mode, reload, d).
 *
 * Loading: the datasheet loads a new count "on the next CLK pulse"; we load
 * it at the tick in progress, so OUT in mode 0 rises N ticks after the write
 * rather than N + 1.  QEMU and KVM do the same, and no guest can tell the
 * ~0.8 us apart under emulation.
 *
 * Behaviour follows the Intel 8254 datasheet, including the parts QEMU and
 * KVM skip: modes 1 and 5 wait for a rising gate edge (so on channels 0
 * and 1, whose gates are tied high on a PC, they never start, as on real
 * hardware); a low gate suspends counting in modes 0, 2, 3 and 4 and forces
 * OUT high in modes 2 and 3; writing the first byte of a two-byte count in
 * mode 0 stops the counter and drives OUT low; a new count written in mode
 * 2 or 3 without a control word takes effect at the end of the current
 * period (the datasheet says the end of the current half-cycle for mode 3;
 * we use the end of the period, which no guest we know depends on).
 *
 * Reset state: there is no BIOS to leave channel 0 at 18.2 Hz, and an
 * interrupt nobody asked for is an event the replay core must log for
 * nothing, so all channels start unprogrammed (mode 3, LSB then MSB,
 * nothing loaded, OUT high): silent until the guest writes a count.
 */
#include "pit.h"

#include <stdio.h>

#define PIT_CTRL		3	/* offset of port 0x43 */

#define CW_SEL(v)		(((v) >> 6) & 3)
#define CW_RW(v)		(((v) >> 4) & 3)
#define CW_MODE(v)		(((v) >> 1) & 7)
#define CW_BCD			0x01
#define CW_SEL_READBACK		3

#define RB_NO_COUNT		0x20	/* read-back: active low */
#define RB_NO_STATUS		0x10

#define ST_OUT			0x80
#define ST_NULL_COUNT		0x40

#define P61_GATE2		0x01
#define P61_SPEAKER		0x02
#define P61_WRITABLE		(P61_GATE2 | P61_SPEAKER)
#define P61_REFRESH		0x10
#define P61_OUT2		0x20

/*
 * Port 0x61 bit 4 follows the DRAM refresh request, which PC hardware
 * clocks from a PIT-derived 15.085 us period (count 18).  Some firmware and
 * old kernels busy-wait on its toggles as a delay, so it must move.
 */
#define REFRESH_TICKS		18

#define EDGE_NONE		UINT64_MAX

/* Tick index in progress at virtual time ns: floor(ns * F / 1e9). */
static u64 pit_tick_of(u64 ns)
{
	return (ns / NSEC_PER_SEC) * PIT_FREQ_HZ +
	       (ns % NSEC_PER_SEC) * PIT_FREQ_HZ / NSEC_PER_SEC;
}

/* First virtual ns of tick t: ceil(t * 1e9 / F). */
static u64 pit_ns_of(u64 t)
{
	return (t / PIT_FREQ_HZ) * NSEC_PER_SEC +
	       ((t % PIT_FREQ_HZ) * NSEC_PER_SEC + PIT_FREQ_HZ - 1) /
		       PIT_FREQ_HZ;
}

static u8 channel_mode(const struct pit_channel *c)
{
	/* M2 is "don't care" for modes 2 and 3. */
	return c->mode > 5 ? c->mode - 4 : c->mode;
}

static bool mode_gated(u8 mode)
{
	/* Modes 1 and 5 use the gate as a trigger, the others as enable. */
	return mode != 1 && mode != 5;
}

static bool mode_periodic(u8 mode)
{
	return mode == 2 || mode == 3;
}

static u16 bin2bcd16(u32 v)
{
	v %= 10000;
	return (u16)((v / 1000) << 12 | (v / 100 % 10) << 8 |
		     (v / 10 % 10) << 4 | (v % 10));
}

/* Guests may write nibbles above 9; they count as their face value. */
static u32 bcd2bin16(u16 v)
{
	return (v >> 12) * 1000 + ((v >> 8) & 0xf) * 100 +
	       ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

/*
 * The channel as seen at a tick, without changing it: a count pending in
 * mode 2/3 is applied once the period in which it was written has ended.
 */
struct pit_view {
	u32 n;		/* count the CE was loaded with */
	u64 d;		/* ticks counted since */
	bool null_count;
	bool pending;
};

static u64 channel_elapsed(const struct pit_channel *c, u64 tick)
{
	if (!c->loaded)
		return 0;
	if (c->frozen)
		return c->frozen_d;
	return tick - c->origin_tick;
}

static void channel_view(const struct pit_channel *c, u64 tick,
			 struct pit_view *v)
{
	v->n = c->reload;
	v->d = channel_elapsed(c, tick);
	v->null_count = c->null_count;
	v->pending = c->pending;
	if (c->pending && v->d >= c->switch_d) {
		v->d -= c->switch_d;
		v->n = c->count;
		v->null_count = false;
		v->pending = false;
	}
}

/* Make the stored state match channel_view() at this tick. */
static void channel_sync(struct pit_channel *c, u64 tick)
{
	if (!c->pending || channel_elapsed(c, tick) < c->switch_d)
		return;
	if (c->frozen)
		c->frozen_d -= c->switch_d;
	else
		c->origin_tick += c->switch_d;
	c->reload = c->count;
	c->null_count = false;
	c->pending = false;
}

/* Logical CE value (not yet BCD-encoded or truncated to 16 bits). */
static u32 channel_ce(const struct pit_channel *c, const struct pit_view *v)
{
	u32 wrap = c->bcd ? 10000 : 65536;
	u32 n = v->n, h, k;

	if (!c->loaded)
		return c->hold;

	switch (channel_mode(c)) {
	case 2:
		return n - (u32)(v->d % n);
	case 3:
		/*
		 * The CE steps by two.  Even N: N, N-2, ..., 2 in each half.
		 * Odd N: the high half is N, N-1, N-3, ..., 2 ((N+1)/2 ticks)
		 * and the low half N, N-3, N-5, ..., 2 ((N-1)/2 ticks).
		 */
		h = n - n / 2;
		k = (u32)(v->d % n);
		if (k >= h)
			k -= h;
		else if (n & 1)
			return k ? n + 1 - 2 * k : n;
		if (n & 1)
			return k ? n - 1 - 2 * k : n;
		return n - 2 * k;
	default:
		/* One-shot modes keep counting down, wrapping, after zero. */
		return (u32)((n % wrap + wrap - v->d % wrap) % wrap);
	}
}

static bool channel_out(const struct pit_channel *c, const struct pit_view *v)
{
	u8 mode = channel_mode(c);

	if (!c->loaded)
		return mode != 0;
	switch (mode) {
	case 0:
	case 1:
		return v->d >= v->n;
	case 2:
		return !c->gate || v->d % v->n != v->n - 1;
	case 3:
		return !c->gate || v->d % v->n < v->n - v->n / 2;
	default:
		/* Modes 4 and 5: a one-tick low strobe when the CE hits 0. */
		return v->d != v->n;
	}
}

/* Ticks from v->d to the next OUT rising edge, EDGE_NONE if there is none. */
static u64 channel_next_edge(const struct pit_channel *c,
			     const struct pit_view *v)
{
	if (!c->loaded || c->frozen)
		return EDGE_NONE;
	switch (channel_mode(c)) {
	case 0:
	case 1:
		return v->d < v->n ? v->n - v->d : EDGE_NONE;
	case 2:
	case 3:
		/* A pending count's switch_d is this same period boundary. */
		return v->n - v->d % v->n;
	default:
		return v->d <= v->n ? v->n + 1 - v->d : EDGE_NONE;
	}
}

static u8 channel_status(const struct pit_channel *c, u64 tick)
{
	struct pit_view v;

	channel_view(c, tick, &v);
	return (channel_out(c, &v) ? ST_OUT : 0) |
	       (v.null_count ? ST_NULL_COUNT : 0) | c->rw << 4 |
	       c->mode << 1 | (c->bcd ? CW_BCD : 0);
}

static u16 channel_read_ce(const struct pit_channel *c, u64 tick)
{
	struct pit_view v;
	u32 ce;

	channel_view(c, tick, &v);
	ce = channel_ce(c, &v);
	return c->bcd ? bin2bcd16(ce) : (u16)ce;
}

/*
 * (Re)arm channel 0's timer for its next OUT rising edge.  Called after
 * every change to channel 0 and from the timer itself.
 */
static void pit_arm(struct pit *pit, u64 now)
{
	struct pit_channel *c = &pit->ch[0];
	u64 tick = pit_tick_of(now), delta, min_tick, period, skip;
	struct pit_view v;

	channel_sync(c, tick);
	channel_view(c, tick, &v);
	delta = channel_next_edge(c, &v);
	if (delta == EDGE_NONE) {
		vclock__disarm(pit->clk, &pit->timer);
		return;
	}

	/*
	 * A guest can program a period of a few ticks.  Each edge costs a
	 * host wakeup, a VM exit and an injected interrupt, so honouring a
	 * 2 us period would only make the VMM spin, and under emulation the
	 * guest could not even run its handler in between.  The host timer
	 * therefore waits at least PIT_MIN_HOST_PERIOD_NS and then fires on
	 * an edge; the edges in between are coalesced.  What the guest reads
	 * from the counter is unaffected.  One-shot modes are not clamped:
	 * each of their edges costs the guest a port write to set up.
	 */
	if (mode_periodic(channel_mode(c))) {
		min_tick = pit_tick_of(now + PIT_MIN_HOST_PERIOD_NS);
		period = v.pending ? c->count : v.n;
		if (tick + delta < min_tick) {
			skip = (min_tick - tick - delta + period - 1) / period;
			delta += skip * period;
			if (!pit->clamp_logged) {
				pr_debug("pit: channel 0 period %llu ticks is below %llu ns; host timer clamped\n",
					 (unsigned long long)period,
					 (unsigned long long)
						 PIT_MIN_HOST_PERIOD_NS);
				pit->clamp_logged = true;
			}
		}
	}
	pit->armed_tick = tick + delta;
	vclock__arm(pit->clk, &pit->timer, pit_ns_of(pit->armed_tick));
}

/*
 * Channel 0 reached an OUT rising edge.  The vCPU loop may get here long
 * after the deadline (the guest ran without exits, or the host was busy).
 * Real hardware would have raised one edge per period, but an edge-
 * triggered IRR holds one request, and replaying a burst of ticks into a
 * guest that runs at ~1.4M instructions/s would only make it fall further
 * behind: deliver a single edge and re-arm at the next boundary that is
 * still in the future.  Guests that need wall time read it from the
 * counter or the RTC, both computed from the clock, so nothing drifts.
 */
static void pit_timer_fire(struct vtimer *t, u64 now)
{
	struct pit *pit = t->opaque;
	struct pit_channel *c = &pit->ch[0];
	u64 tick = pit_tick_of(now);
	struct pit_view v;

	channel_sync(c, tick);
	channel_view(c, tick, &v);
	if (mode_periodic(channel_mode(c)) && tick > pit->armed_tick)
		pit->coalesced += (tick - pit->armed_tick) / v.n;
	pit->irqs++;
	irq_line__pulse(&pit->irq0);
	pit_arm(pit, now);
}

/* Move the CR into the CE: a fresh count, starting now. */
static void channel_load(struct pit_channel *c, u64 tick)
{
	c->reload = c->count;
	c->loaded = true;
	c->null_count = false;
	c->pending = false;
	c->origin_tick = tick;
	c->frozen_d = 0;
	c->frozen = mode_gated(channel_mode(c)) && !c->gate;
}

/* Stop the CE where it is (control word; first byte of a mode 0 count). */
static void channel_stop(struct pit_channel *c, u64 tick)
{
	struct pit_view v;

	channel_view(c, tick, &v);
	c->hold = channel_ce(c, &v);
	c->loaded = false;
	c->pending = false;
	c->frozen = false;
}

static void channel_write_count(struct pit_channel *c, u16 raw, u64 tick)
{
	u32 n = c->bcd ? bcd2bin16(raw) : raw;
	struct pit_view v;

	if (!n)
		n = c->bcd ? 10000 : 65536;
	c->count = n;
	c->count_valid = true;
	c->null_count = true;

	switch (channel_mode(c)) {
	case 0:
	case 4:
		channel_load(c, tick);
		break;
	case 2:
	case 3:
		if (!c->loaded) {
			channel_load(c, tick);
		} else if (!c->pending) {
			/* The current period runs out first. */
			channel_view(c, tick, &v);
			c->pending = true;
			c->switch_d = v.d + (v.n - v.d % v.n);
		}
		break;
	default:
		/* Modes 1 and 5 load on the next gate trigger. */
		break;
	}
}

static void channel_set_gate(struct pit_channel *c, bool gate, u64 tick)
{
	u8 mode = channel_mode(c);

	channel_sync(c, tick);
	if (gate == c->gate)
		return;
	c->gate = gate;

	if (!gate) {
		if (c->loaded && mode_gated(mode) && !c->frozen) {
			c->frozen_d = tick - c->origin_tick;
			c->frozen = true;
		}
		return;
	}

	/* Rising edge. */
	switch (mode) {
	case 1:
	case 2:
	case 3:
	case 5:
		/* Trigger (1, 5) or restart of the period (2, 3). */
		if (c->count_valid)
			channel_load(c, tick);
		break;
	default:
		/* Modes 0 and 4 just resume. */
		if (c->loaded && c->frozen) {
			c->origin_tick = tick - c->frozen_d;
			c->frozen = false;
		}
		break;
	}
}

static void channel_latch_count(struct pit_channel *c, u64 tick)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latch = channel_read_ce(c, tick);
	c->count_latched = true;
}

static void channel_latch_status(struct pit_channel *c, u64 tick)
{
	if (c->status_latched)
		return;
	c->status = channel_status(c, tick);
	c->status_latched = true;
}

static void pit_write_control(struct pit *pit, u8 val, u64 now)
{
	u64 tick = pit_tick_of(now);
	struct pit_channel *c;
	struct pit_view v;
	unsigned int i;
	bool out_before;

	if (CW_SEL(val) == CW_SEL_READBACK) {
		/* Bits 1..3 select channels 0..2; bit 0 is reserved. */
		for (i = 0; i < PIT_NR_CHANNELS; i++) {
			if (!(val & (2 << i)))
				continue;
			/* Status first: it snapshots the pre-latch state. */
			if (!(val & RB_NO_STATUS))
				channel_latch_status(&pit->ch[i], tick);
			if (!(val & RB_NO_COUNT))
				channel_latch_count(&pit->ch[i], tick);
		}
		return;
	}

	c = &pit->ch[CW_SEL(val)];
	if (!CW_RW(val)) {
		channel_latch_count(c, tick);
		return;
	}

	channel_sync(c, tick);
	channel_view(c, tick, &v);
	out_before = channel_out(c, &v);

	channel_stop(c, tick);
	c->rw = CW_RW(val);
	c->mode = CW_MODE(val);
	c->bcd = val & CW_BCD;
	c->count_valid = false;
	c->null_count = true;
	c->write_msb = false;
	c->read_msb = false;
	/* Reprogramming discards whatever was latched. */
	c->count_latched = false;
	c->status_latched = false;

	if (c == &pit->ch[0]) {
		/*
		 * A control word sets OUT to the mode's initial level; going
		 * from low (mode 0 counting) to high is a real edge on IRQ0.
		 */
		channel_view(c, tick, &v);
		if (!out_before && channel_out(c, &v)) {
			pit->irqs++;
			irq_line__pulse(&pit->irq0);
		}
		pit->clamp_logged = false;
		pit_arm(pit, now);
	}
}

static void pit_write_data(struct pit *pit, unsigned int idx, u8 val,
			   u64 now)
{
	struct pit_channel *c = &pit->ch[idx];
	u64 tick = pit_tick_of(now);

	channel_sync(c, tick);
	switch (c->rw) {
	case 1:
		channel_write_count(c, val, tick);
		break;
	case 2:
		channel_write_count(c, (u16)(val << 8), tick);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = val;
			c->write_msb = true;
			c->null_count = true;
			/* Mode 0: the first byte stops counting, OUT low. */
			if (channel_mode(c) == 0)
				channel_stop(c, tick);
		} else {
			c->write_msb = false;
			channel_write_count(c, (u16)(c->write_lsb | val << 8),
					    tick);
		}
		break;
	}
	if (idx == 0) {
		pit->clamp_logged = false;
		pit_arm(pit, now);
	}
}

static u8 pit_read_data(struct pit *pit, unsigned int idx, u64 now)
{
	struct pit_channel *c = &pit->ch[idx];
	bool msb;
	u16 val;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	val = c->count_latched ? c->latch :
				 channel_read_ce(c, pit_tick_of(now));

	switch (c->rw) {
	case 1:
		msb = false;
		break;
	case 2:
		msb = true;
		break;
	default:
		msb = c->read_msb;
		c->read_msb = !c->read_msb;
		break;
	}
	/* The output latch follows the CE again once fully read. */
	if (c->rw != 3 || msb)
		c->count_latched = false;
	return msb ? val >> 8 : val & 0xff;
}

static int pit_io(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct pit *pit = opaque;
	u64 now = vclock__now(pit->clk);
	u32 i;

	/*
	 * An 8-bit ISA device: a wider access is a run of byte accesses to
	 * consecutive ports, as the chipset would split it.
	 */
	for (i = 0; i < len; i++) {
		u64 port = offset + i;

		if (port >= PIT_IO_LEN) {
			if (!is_write)
				data[i] = 0xff;
		} else if (port == PIT_CTRL) {
			/* The control word register is write-only. */
			if (is_write)
				pit_write_control(pit, data[i], now);
			else
				data[i] = 0xff;
		} else if (is_write) {
			pit_write_data(pit, (unsigned int)port, data[i], now);
		} else {
			data[i] = pit_read_data(pit, (unsigned int)port, now);
		}
	}
	return 0;
}

static int pit_port61_io(void *opaque, u64 offset, u8 *data, u32 len,
			 bool is_write)
{
	struct pit *pit = opaque;
	u64 now = vclock__now(pit->clk);
	u64 tick = pit_tick_of(now);
	struct pit_view v;
	u32 i;

	for (i = 0; i < len; i++) {
		if (offset + i != 0) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (is_write) {
			pit->port61 = data[i] & P61_WRITABLE;
			channel_set_gate(&pit->ch[2], pit->port61 & P61_GATE2,
					 tick);
			continue;
		}
		channel_view(&pit->ch[2], tick, &v);
		data[i] = pit->port61 |
			  ((tick / REFRESH_TICKS) & 1 ? P61_REFRESH : 0) |
			  (channel_out(&pit->ch[2], &v) ? P61_OUT2 : 0);
	}
	return 0;
}

void pit__init(struct pit *pit, struct vclock *clk, struct irq_line irq0)
{
	unsigned int i;

	*pit = (struct pit){ .clk = clk, .irq0 = irq0 };
	for (i = 0; i < PIT_NR_CHANNELS; i++) {
		struct pit_channel *c = &pit->ch[i];

		c->mode = 3;
		c->rw = 3;
		c->null_count = true;
		/* Channel 2's gate is port 0x61 bit 0, which starts low. */
		c->gate = i != 2;
	}
	vclock__add_timer(clk, &pit->timer, pit_timer_fire, pit);
}

int pit__register(struct pit *pit, struct bus *bus)
{
	int ret;

	ret = bus__register(bus, BUS_PIO, PIT_IO_BASE, PIT_IO_LEN, pit_io, pit,
			    "pit");
	if (ret)
		return ret;
	return bus__register(bus, BUS_PIO, PIT_PORT61, 1, pit_port61_io, pit,
			     "port61");
}

void pit__dump(const struct pit *pit, char *buf, size_t len)
{
	u64 now = vclock__now(pit->clk), tick = pit_tick_of(now);
	u64 deadline = pit->timer.deadline;
	size_t off = 0;
	unsigned int i;
	int n;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < PIT_NR_CHANNELS && off < len; i++) {
		const struct pit_channel *c = &pit->ch[i];
		struct pit_view v;

		channel_view(c, tick, &v);
		n = snprintf(buf + off, len - off,
			     "ch%u mode %u%s count %u ce %u out %d gate %d%s; ",
			     i, c->mode, c->bcd ? " bcd" : "",
			     c->count_valid ? c->count : 0,
			     channel_ce(c, &v), channel_out(c, &v), c->gate,
			     c->loaded ? (c->frozen ? " frozen" : "") :
					 " idle");
		if (n < 0)
			return;
		off += (size_t)n;
	}
	if (off >= len)
		return;
	if (deadline == VTIMER_OFF)
		snprintf(buf + off, len - off,
			 "port61 %#x irqs %llu coalesced %llu timer off",
			 pit->port61, (unsigned long long)pit->irqs,
			 (unsigned long long)pit->coalesced);
	else
		snprintf(buf + off, len - off,
			 "port61 %#x irqs %llu coalesced %llu timer +%lld ns",
			 pit->port61, (unsigned long long)pit->irqs,
			 (unsigned long long)pit->coalesced,
			 (long long)(deadline - now));
}
