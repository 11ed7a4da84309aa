/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PIT_H
#define MICROVM_PIT_H

/*
 * The Intel 8254 programmable interval timer and the PC's port 0x61
 * (speaker gate, refresh toggle, channel 2 output).
 *
 * Nothing ticks: each channel remembers the virtual-clock tick at which its
 * counting element (CE) was last loaded, and counter values and OUT levels
 * are computed from vclock__now() when the guest looks.  Only channel 0's
 * OUT is wired to an interrupt (IRQ0, edge), so only channel 0 owns a
 * vtimer, armed at its next rising edge.
 */
#include "../common/util.h"
#include "../common/vclock.h"
#include "bus.h"
#include "irq.h"

#define PIT_FREQ_HZ		1193182ULL
#define PIT_NR_CHANNELS		3
#define PIT_IO_BASE		0x40
#define PIT_IO_LEN		4
#define PIT_PORT61		0x61

/*
 * The host timer of a periodic channel 0 never fires more often than this
 * (see pit.c); the counter values the guest reads are not affected.
 */
#define PIT_MIN_HOST_PERIOD_NS	100000ULL

struct pit_channel {
	/* As the last control word set them. */
	u8 mode;		/* M2..M0 as written; 6 and 7 act as 2 and 3 */
	u8 rw;			/* 1: LSB, 2: MSB, 3: LSB then MSB */
	bool bcd;

	/* Count register (CR): what the guest wrote. */
	u32 count;		/* 1..65536 binary, 1..10000 BCD (0 = max) */
	bool count_valid;	/* a whole count was written since the CW */
	bool write_msb;		/* rw 3: the next write is the MSB */
	u8 write_lsb;
	bool null_count;	/* CR written but not yet moved into the CE */

	/* Counting element, as a function of the tick counter. */
	bool loaded;		/* CE loaded since the last control word */
	u32 reload;		/* value the CE was last loaded with */
	bool frozen;		/* counting suspended by a low gate */
	u64 origin_tick;	/* while running: tick at which d was 0 */
	u64 frozen_d;		/* while frozen: ticks counted so far */
	u32 hold;		/* CE value while not loaded */
	bool pending;		/* modes 2/3: count takes effect at d == */
	u64 switch_d;		/* ...switch_d, the end of the period */
	bool gate;

	/* Output latch, status latch and the read flip-flop. */
	bool read_msb;
	bool count_latched;
	u16 latch;
	bool status_latched;
	u8 status;
};

struct pit {
	struct vclock *clk;
	struct irq_line irq0;
	struct vtimer timer;	/* channel 0's next OUT rising edge */
	u64 armed_tick;		/* the tick the timer is armed for */
	bool clamp_logged;
	struct pit_channel ch[PIT_NR_CHANNELS];
	u8 port61;		/* bits 0 (gate 2) and 1 (speaker) */
	u64 irqs;		/* IRQ0 edges delivered */
	u64 coalesced;		/* edges dropped: timer ran late */
};

void pit__init(struct pit *pit, struct vclock *clk, struct irq_line irq0);
/* Ports 0x40-0x43 and 0x61.  Returns 0 or bus__register()'s error. */
int pit__register(struct pit *pit, struct bus *bus);
/* One-line summary for crash reports; always NUL-terminates (len > 0). */
void pit__dump(const struct pit *pit, char *buf, size_t len);

#endif
