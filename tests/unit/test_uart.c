// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the 16550A model.  The guest side is driven only through
 * the bus, as a guest's IN/OUT would; the host side through uart__receive
 * and the callbacks.
 */
#include <string.h>

#include "devices/bus.h"
#include "serial/uart.h"
#include "tests/unit/check.h"

#define BASE 0x3f8

struct fixture {
	struct bus bus;
	struct uart u;

	/* irq line */
	int level;
	int irq_calls, rises, falls;
	unsigned int irq_nr;

	/* tx callback */
	u8 tx[64];
	unsigned int ntx;
	int level_during_tx;

	/* rx-room callback */
	int room_calls;
	const u8 *feed;		/* bytes the fake backend still holds */
	unsigned int nfeed;
};

static struct fixture f;

static void set_level(void *ctx, unsigned int irq, int level)
{
	struct fixture *fx = ctx;

	fx->irq_nr = irq;
	fx->irq_calls++;
	if (level && !fx->level)
		fx->rises++;
	if (!level && fx->level)
		fx->falls++;
	fx->level = level;
}

static void tx_cb(void *ctx, const u8 *buf, size_t len)
{
	struct fixture *fx = ctx;

	fx->level_during_tx = fx->level;
	while (len-- && fx->ntx < sizeof(fx->tx))
		fx->tx[fx->ntx++] = *buf++;
}

static void room_cb(void *ctx)
{
	struct fixture *fx = ctx;
	unsigned int n;

	fx->room_calls++;
	n = uart__receive(&fx->u, fx->feed, fx->nfeed);
	fx->feed += n;
	fx->nfeed -= n;
}

static void setup(void)
{
	struct irq_line irq = { set_level, &f, 4 };

	memset(&f, 0, sizeof(f));
	f.level_during_tx = -1;
	bus__init(&f.bus);
	uart__init(&f.u, irq, tx_cb, &f);
	CHECK_EQ(uart__register(&f.u, &f.bus, BASE), 0);
	uart__set_rx_room_cb(&f.u, room_cb, &f);
}

static void outb(unsigned int reg, u8 val)
{
	CHECK_EQ(bus__access(&f.bus, BUS_PIO, BASE + reg, &val, 1, true), 0);
}

static u8 inb(unsigned int reg)
{
	u8 val = 0;

	CHECK_EQ(bus__access(&f.bus, BUS_PIO, BASE + reg, &val, 1, false), 0);
	return val;
}

static void test_reset_state(void)
{
	setup();
	CHECK_EQ(inb(UART_IER), 0);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(inb(UART_LCR), 0);
	CHECK_EQ(inb(UART_MCR), 0);
	CHECK_EQ(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	/* A connected console: DCD, DSR and CTS asserted, no deltas. */
	CHECK_EQ(inb(UART_MSR), 0xb0);
	CHECK_EQ(f.irq_calls, 0);
	CHECK_EQ(uart__rx_room(&f.u), 1);
	/* The registration covers exactly 8 ports. */
	CHECK(bus__find(&f.bus, BUS_PIO, BASE + 7));
	CHECK(!bus__find(&f.bus, BUS_PIO, BASE + 8));
}

static void test_dlab_divisor(void)
{
	char dump[200];

	setup();
	outb(UART_IER, 0x05);
	outb(UART_LCR, UART_LCR_DLAB | 0x03);
	outb(UART_DLL, 0x01);
	outb(UART_DLM, 0x02);
	CHECK_EQ(inb(UART_DLL), 0x01);
	CHECK_EQ(inb(UART_DLM), 0x02);
	CHECK_EQ(inb(UART_LCR), 0x83);
	CHECK_EQ(f.ntx, 0);		/* DLL write is not a THR write */
	uart__dump(&f.u, dump, sizeof(dump));
	CHECK(strstr(dump, "div=513"));

	outb(UART_LCR, 0x03);
	CHECK_EQ(inb(UART_IER), 0x05);	/* IER untouched by DLM writes */
	outb(UART_THR, 'z');
	CHECK_EQ(f.ntx, 1);
	/* The divisor survives clearing DLAB. */
	outb(UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(inb(UART_DLL), 0x01);
	CHECK_EQ(inb(UART_DLM), 0x02);
}

static void test_lcr_scr_storage(void)
{
	setup();
	outb(UART_LCR, 0x1b);
	CHECK_EQ(inb(UART_LCR), 0x1b);
	outb(UART_SCR, 0x55);
	CHECK_EQ(inb(UART_SCR), 0x55);
	outb(UART_SCR, 0xaa);
	CHECK_EQ(inb(UART_SCR), 0xaa);
	/* Writes to LSR and MSR are ignored. */
	outb(UART_LSR, 0x00);
	CHECK_EQ(inb(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	outb(UART_MSR, 0x00);
	CHECK_EQ(inb(UART_MSR), 0xb0);
}

static void test_thr_transmits(void)
{
	const char *msg = "hi\n";
	unsigned int i;

	setup();
	for (i = 0; msg[i]; i++) {
		outb(UART_THR, msg[i]);
		CHECK_EQ(inb(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	}
	CHECK_EQ(f.ntx, 3);
	CHECK(!memcmp(f.tx, msg, 3));
	CHECK_EQ(f.irq_calls, 0);	/* no IER, no interrupts */
}

static void test_thre_interrupt(void)
{
	setup();
	outb(UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(f.level, 0);

	/* Enabling ETBEI with THR empty raises THRE at once. */
	outb(UART_IER, UART_IER_ETBEI);
	CHECK_EQ(f.level, 1);
	CHECK_EQ(f.irq_nr, 4);
	CHECK_EQ(inb(UART_IIR), UART_IIR_THRI);	/* read acknowledges */
	CHECK_EQ(f.level, 0);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);

	/* Re-enabling re-raises it even though IIR cleared it. */
	outb(UART_IER, 0);
	outb(UART_IER, UART_IER_ETBEI);
	CHECK_EQ(f.level, 1);
	/* Writing IER with ETBEI unchanged does not re-raise. */
	CHECK_EQ(inb(UART_IIR), UART_IIR_THRI);
	outb(UART_IER, UART_IER_ETBEI);
	CHECK_EQ(f.level, 0);

	/*
	 * A THR write clears a pending THRE (the line is low while the byte
	 * goes out) and THRE comes back once it has gone.
	 */
	outb(UART_IER, 0);
	outb(UART_IER, UART_IER_ETBEI);
	CHECK_EQ(f.level, 1);
	f.rises = f.falls = 0;
	outb(UART_THR, 'a');
	CHECK_EQ(f.level_during_tx, 0);
	CHECK_EQ(f.falls, 1);
	CHECK_EQ(f.rises, 1);
	CHECK_EQ(f.level, 1);
	CHECK_EQ(inb(UART_IIR), UART_IIR_THRI);

	/* Disabling ETBEI drops the line and forgets the latch. */
	outb(UART_THR, 'b');
	outb(UART_IER, 0);
	CHECK_EQ(f.level, 0);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);
}

static void test_fifo_enable_iir(void)
{
	setup();
	/* Switching FIFOs on flushes what the holding register had. */
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"q", 1), 1);
	outb(UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(inb(UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	CHECK_EQ(uart__rx_room(&f.u), UART_FIFO_SIZE);
	outb(UART_FCR, 0);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(uart__rx_room(&f.u), 1);
	/* Trigger bits are not programmed while FCR0 is written as 0. */
	outb(UART_FCR, 0xc0);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);
	outb(UART_FCR, UART_FCR_ENABLE);
	outb(UART_IER, UART_IER_ERBFI);
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"x", 1), 1);
	/* Trigger level 1 (not 14): data available, not timeout. */
	CHECK_EQ(inb(UART_IIR), UART_IIR_FIFO | UART_IIR_RDI);
}

static void test_rx_trigger_levels(void)
{
	static const u8 levels[4] = { 1, 4, 8, 14 };
	unsigned int t, i;

	for (t = 0; t < 4; t++) {
		u8 byte = 'A';

		setup();
		outb(UART_MCR, UART_MCR_OUT2);
		outb(UART_FCR, UART_FCR_ENABLE | t << 6);
		outb(UART_IER, UART_IER_ERBFI);
		CHECK_EQ(inb(UART_IIR), 0xc1);
		CHECK_EQ(f.level, 0);

		for (i = 1; i < levels[t]; i++) {
			CHECK_EQ(uart__receive(&f.u, &byte, 1), 1);
			/* Below the level: the timeout indication. */
			CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_CTI);
			CHECK_EQ(f.level, 1);
		}
		CHECK_EQ(uart__receive(&f.u, &byte, 1), 1);
		CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_RDI);
		CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, UART_LSR_DR);

		/* Draining below the level goes back to timeout, then none. */
		if (levels[t] > 1) {
			inb(UART_RBR);
			CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_CTI);
		}
		while (inb(UART_LSR) & UART_LSR_DR)
			inb(UART_RBR);
		CHECK_EQ(inb(UART_IIR), 0xc1);
		CHECK_EQ(f.level, 0);
	}

	/* Without ERBFI, data sits in the FIFO with no interrupt. */
	setup();
	outb(UART_MCR, UART_MCR_OUT2);
	outb(UART_FCR, UART_FCR_ENABLE | 0xc0);
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"0123456789abcdef", 16),
		 16);
	CHECK_EQ(inb(UART_IIR), 0xc1);
	CHECK_EQ(f.level, 0);
}

static void test_receive_respects_room(void)
{
	const u8 *in = (const u8 *)"0123456789abcdefXYZ";
	unsigned int i;

	setup();
	outb(UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(uart__receive(&f.u, in, 19), 16);
	CHECK_EQ(uart__rx_room(&f.u), 0);
	CHECK_EQ(uart__receive(&f.u, in, 1), 0);
	/* Refused bytes are not an overrun. */
	CHECK_EQ(inb(UART_LSR) & UART_LSR_OE, 0);
	for (i = 0; i < 16; i++)
		CHECK_EQ(inb(UART_RBR), in[i]);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
	/* An empty RBR reads back the last byte. */
	CHECK_EQ(inb(UART_RBR), 'f');
}

static void test_overrun_loopback(void)
{
	unsigned int i;

	setup();
	outb(UART_FCR, UART_FCR_ENABLE | 0xc0);		/* trigger 14 */
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	outb(UART_IER, UART_IER_ERBFI | UART_IER_ELSI);
	CHECK_EQ(uart__rx_room(&f.u), 0);	/* input disconnected */

	for (i = 0; i < 16; i++)
		outb(UART_THR, 'a' + i);
	CHECK_EQ(f.ntx, 0);			/* nothing left the chip */
	CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_RDI);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_OE, 0);

	outb(UART_THR, 'Z');			/* FIFO full: overrun */
	/* Line status outranks data available. */
	CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_RLSI);
	CHECK_EQ(inb(UART_LSR) & (UART_LSR_OE | UART_LSR_DR),
		 UART_LSR_OE | UART_LSR_DR);
	/* That LSR read cleared OE and the line status interrupt. */
	CHECK_EQ(inb(UART_LSR) & UART_LSR_OE, 0);
	CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_RDI);
	/* The FIFO kept the first 16 bytes; the 17th was lost. */
	for (i = 0; i < 16; i++)
		CHECK_EQ(inb(UART_RBR), 'a' + i);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
	/* Loopback keeps the IRQ pin inactive whatever OUT2 says. */
	CHECK_EQ(f.irq_calls, 0);

	/* Without ELSI an overrun is visible in LSR only. */
	outb(UART_IER, UART_IER_ERBFI);
	for (i = 0; i < 17; i++)
		outb(UART_THR, 'a' + i);
	CHECK_EQ(inb(UART_IIR), 0xc0 | UART_IIR_RDI);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_OE, UART_LSR_OE);
}

static void test_fifo_disabled_holds_one_byte(void)
{
	setup();
	outb(UART_MCR, UART_MCR_OUT2);
	outb(UART_IER, UART_IER_ERBFI);
	CHECK_EQ(uart__rx_room(&f.u), 1);
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"ab", 2), 1);
	CHECK_EQ(uart__rx_room(&f.u), 0);
	/* No FIFO: data available, never a timeout, no FIFO bits. */
	CHECK_EQ(inb(UART_IIR), UART_IIR_RDI);
	CHECK_EQ(f.level, 1);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(inb(UART_RBR), 'a');
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(f.level, 0);
	CHECK_EQ(uart__rx_room(&f.u), 1);

	/* A 16450 overrun overwrites the holding register. */
	outb(UART_MCR, UART_MCR_LOOP);
	outb(UART_THR, 'x');
	outb(UART_THR, 'y');
	CHECK_EQ(inb(UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	CHECK_EQ(inb(UART_RBR), 'y');
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
}

static void test_fcr_rx_reset(void)
{
	setup();
	outb(UART_FCR, UART_FCR_ENABLE);
	outb(UART_IER, UART_IER_ERBFI);
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"hello", 5), 5);
	CHECK_EQ(uart__rx_room(&f.u), 11);
	f.room_calls = 0;
	outb(UART_FCR, UART_FCR_ENABLE | UART_FCR_RXRST);
	CHECK_EQ(f.room_calls, 1);
	CHECK_EQ(uart__rx_room(&f.u), 16);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(inb(UART_IIR), 0xc1);

	/* RX reset bit is self-clearing: data received later stays. */
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"k", 1), 1);
	outb(UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(inb(UART_RBR), 'k');

	/* Turning the FIFOs off empties them too. */
	CHECK_EQ(uart__receive(&f.u, (const u8 *)"abc", 3), 3);
	outb(UART_FCR, 0);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(uart__rx_room(&f.u), 1);
}

static void test_loopback_modem_lines(void)
{
	setup();
	outb(UART_IER, UART_IER_EDSSI);
	/* Enter loopback with only DTR: CTS and DCD drop, DSR stays. */
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	CHECK_EQ(inb(UART_IIR), UART_IIR_MSI);
	CHECK_EQ(inb(UART_MSR),
		 UART_MSR_DSR | UART_MSR_DCTS | UART_MSR_DDCD);
	/* The read cleared the deltas. */
	CHECK_EQ(inb(UART_MSR), UART_MSR_DSR);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);

	/* Linux's probe: LOOP|RTS|OUT2 must read back CTS|DCD (0x90). */
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	CHECK_EQ(inb(UART_MSR), 0x90 | UART_MSR_DCTS | UART_MSR_DDSR |
				UART_MSR_DDCD);

	/* OUT1 drives RI; TERI flags only the trailing edge. */
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	CHECK_EQ(inb(UART_MSR), UART_MSR_RI | UART_MSR_DCTS | UART_MSR_DDCD);
	outb(UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(inb(UART_MSR), UART_MSR_TERI);

	/* Bytes written loop into RX instead of leaving. */
	outb(UART_THR, 'Q');
	CHECK_EQ(f.ntx, 0);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(inb(UART_RBR), 'Q');

	/* Leaving loopback: the console's lines are back, with deltas. */
	f.room_calls = 0;
	outb(UART_MCR, 0);
	CHECK_EQ(f.room_calls, 1);
	CHECK_EQ(inb(UART_MSR), 0xb0 | UART_MSR_DCTS | UART_MSR_DDSR |
				UART_MSR_DDCD);
	outb(UART_THR, 'R');
	CHECK_EQ(f.ntx, 1);
	CHECK_EQ(f.tx[0], 'R');
	CHECK_EQ(f.irq_calls, 0);	/* OUT2 never set outside loopback */
}

static void test_out2_gates_irq(void)
{
	setup();
	outb(UART_IER, UART_IER_ETBEI);
	CHECK_EQ(f.irq_calls, 0);		/* pending, but gated */
	outb(UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	CHECK_EQ(f.irq_calls, 0);
	outb(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	CHECK_EQ(f.level, 1);
	outb(UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	CHECK_EQ(f.level, 0);
	/* IIR reports the source regardless of the gate. */
	CHECK_EQ(inb(UART_IIR), UART_IIR_THRI);
	outb(UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(f.level, 0);	/* acknowledged meanwhile */
}

static void test_priority_thre_over_msi(void)
{
	setup();
	outb(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);	/* MSR deltas */
	outb(UART_IER, UART_IER_ETBEI | UART_IER_EDSSI);
	CHECK_EQ(inb(UART_IIR), UART_IIR_THRI);
	CHECK_EQ(inb(UART_IIR), UART_IIR_MSI);
	inb(UART_MSR);
	CHECK_EQ(inb(UART_IIR), UART_IIR_NO_INT);
	/* Received data outranks THRE. */
	outb(UART_IER, UART_IER_ETBEI | UART_IER_ERBFI);
	outb(UART_THR, 'q');
	CHECK_EQ(inb(UART_IIR), UART_IIR_RDI);
	CHECK_EQ(inb(UART_RBR), 'q');
	CHECK_EQ(inb(UART_IIR), UART_IIR_THRI);
}

static void test_rx_room_callback(void)
{
	const u8 *backlog = (const u8 *)"xyz";
	unsigned int n;

	setup();
	/* FIFO off: one byte at a time, the backend refills on each read. */
	n = uart__receive(&f.u, backlog, 3);
	CHECK_EQ(n, 1);
	f.feed = backlog + n;
	f.nfeed = 3 - n;

	inb(UART_LSR);
	inb(UART_IIR);
	CHECK_EQ(f.room_calls, 0);	/* only RBR reads make room */

	CHECK_EQ(inb(UART_RBR), 'x');
	CHECK_EQ(f.room_calls, 1);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(inb(UART_RBR), 'y');
	CHECK_EQ(inb(UART_RBR), 'z');
	CHECK_EQ(f.room_calls, 3);
	CHECK_EQ(f.nfeed, 0);
	CHECK_EQ(inb(UART_LSR) & UART_LSR_DR, 0);
}

static void test_wide_access_splits(void)
{
	u8 two[2] = { 0, 0 };

	setup();
	/* inw at base+5: LSR then MSR, as two ISA byte cycles. */
	CHECK_EQ(bus__access(&f.bus, BUS_PIO, BASE + 5, two, 2, false), 0);
	CHECK_EQ(two[0], UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(two[1], 0xb0);
	two[0] = 0x12;
	two[1] = 0x34;
	CHECK_EQ(bus__access(&f.bus, BUS_PIO, BASE + 6, two, 2, true), 0);
	CHECK_EQ(inb(UART_SCR), 0x34);
}

int main(void)
{
	RUN(test_reset_state);
	RUN(test_dlab_divisor);
	RUN(test_lcr_scr_storage);
	RUN(test_thr_transmits);
	RUN(test_thre_interrupt);
	RUN(test_fifo_enable_iir);
	RUN(test_rx_trigger_levels);
	RUN(test_receive_respects_room);
	RUN(test_overrun_loopback);
	RUN(test_fifo_disabled_holds_one_byte);
	RUN(test_fcr_rx_reset);
	RUN(test_loopback_modem_lines);
	RUN(test_out2_gates_irq);
	RUN(test_priority_thre_over_msi);
	RUN(test_rx_room_callback);
	RUN(test_wide_access_splits);
	return check_summary();
}
