/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_UART_H
#define MICROVM_UART_H

#include "../devices/bus.h"
#include "../devices/irq.h"
#include "../common/util.h"

/*
 * A 16550A UART (COM1 at 0x3f8, IRQ 4 on the PC).  The device logic knows
 * nothing about the host: bytes leave through the tx callback and arrive
 * through uart__receive(), both on the vCPU thread, so what the guest sees
 * depends only on guest accesses and on when the vCPU loop hands input in.
 */

/* Register offsets from the base port (DLAB = LCR bit 7). */
#define UART_RBR	0	/* read, DLAB=0: receive buffer */
#define UART_THR	0	/* write, DLAB=0: transmit holding */
#define UART_DLL	0	/* DLAB=1: divisor latch low */
#define UART_IER	1	/* DLAB=0: interrupt enable */
#define UART_DLM	1	/* DLAB=1: divisor latch high */
#define UART_IIR	2	/* read: interrupt identification */
#define UART_FCR	2	/* write: FIFO control */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7
#define UART_NR_PORTS	8

#define UART_IER_ERBFI	0x01	/* received data available, timeout */
#define UART_IER_ETBEI	0x02	/* transmit holding register empty */
#define UART_IER_ELSI	0x04	/* receiver line status */
#define UART_IER_EDSSI	0x08	/* modem status */

#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_CTI	0x0c
#define UART_IIR_ID	0x0f
#define UART_IIR_FIFO	0xc0	/* both set: FIFOs enabled (16550A) */

#define UART_FCR_ENABLE	0x01
#define UART_FCR_RXRST	0x02
#define UART_FCR_TXRST	0x04
#define UART_FCR_DMA	0x08
#define UART_FCR_TRIG	0xc0	/* RX trigger: 1, 4, 8, 14 bytes */

#define UART_LCR_DLAB	0x80

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08	/* gates the IRQ line on PCs */
#define UART_MCR_LOOP	0x10

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_PE	0x04
#define UART_LSR_FE	0x08
#define UART_LSR_BI	0x10
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LSR_ERRS	\
	(UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_DELTAS	0x0f
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

#define UART_FIFO_SIZE	16

typedef void (*uart_tx_fn)(void *ctx, const u8 *buf, size_t len);

/*
 * Plain data only (no pointers into itself), so the state can be dumped,
 * compared and later serialized.  IIR is not stored: it is a function of
 * the rest and computed on demand.
 */
struct uart {
	u8 ier, lcr, mcr, lsr, msr, scr, dll, dlm;
	u8 fcr;			/* sticky bits: enable, DMA, trigger */
	u8 rbr;			/* last byte read, again if RX is empty */
	u8 rx_fifo[UART_FIFO_SIZE];
	u8 rx_head, rx_count;
	bool thr_ipending;	/* THRE interrupt latched, not yet cleared */
	bool irq_level;		/* what we last drove on the irq line */

	struct irq_line irq;
	uart_tx_fn tx;
	void *tx_ctx;
	void (*rx_room_cb)(void *ctx);
	void *rx_room_ctx;
};

/* Power-on state; the irq line is assumed low and is not driven here. */
void uart__init(struct uart *u, struct irq_line irq, uart_tx_fn tx,
		void *tx_ctx);
/* Claims UART_NR_PORTS ports at base; returns bus__register()'s result. */
int uart__register(struct uart *u, struct bus *bus, u16 base);

/*
 * Bytes the receiver can take from outside right now: free RX FIFO slots
 * (one holding register with FIFOs off), and 0 in loopback, where the
 * serial input is disconnected.
 */
unsigned int uart__rx_room(const struct uart *u);
/* Host to guest; accepts at most uart__rx_room() bytes, returns how many. */
unsigned int uart__receive(struct uart *u, const u8 *buf, unsigned int len);
/*
 * cb runs on the vCPU thread, from inside the guest's access, whenever RX
 * room may have grown: after every RBR read, an RX FIFO reset or mode
 * change, and leaving loopback.  It may call uart__receive().
 */
void uart__set_rx_room_cb(struct uart *u, void (*cb)(void *ctx), void *ctx);
/* One line, e.g. for a crash report. */
void uart__dump(const struct uart *u, char *buf, size_t len);

#endif
