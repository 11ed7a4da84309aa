// SPDX-License-Identifier: Apache-2.0
/*
 * 16550A UART model.
 *
 * What is modelled, and the choices made where a VMM cannot be the chip:
 *
 * - Transmission is instant.  A THR write hands the byte to the tx
 *   callback at once, then THR and the shift register read empty again, so
 *   the TX FIFO never holds anything; it exists only as FCR's reset bit.
 *   The write still clears the THRE interrupt and re-raises it when the
 *   byte has "gone", so the irq line drops and rises around each byte as
 *   on hardware, and an edge-triggered PIC sees a fresh request.
 *
 * - There is no bit clock.  The receive FIFO timeout interrupt (IIR 0xC)
 *   on a real 16550A fires four character times after the last FIFO
 *   activity while data sits below the trigger level.  We report it as
 *   soon as RX holds data below the trigger level with FIFOs enabled: the
 *   guest then sees its input without waiting for a timer, and when it
 *   sees it depends only on its own accesses and on when the vCPU loop
 *   passed the bytes in, which is what replay needs.  Drivers (Linux's
 *   8250 included) handle CTI exactly like RDI, so only latency differs.
 *
 * - Line parameters (divisor, LCR) are stored and read back but do not
 *   affect anything: there is no line to frame bytes on.
 *
 * - Interrupt output: PCs route INTR to the ISA IRQ through a buffer
 *   enabled by the OUT2 pin, so a guest that never sets MCR.OUT2 gets no
 *   interrupts (IIR still reports them).  In loopback the datasheet forces
 *   the modem control output pins inactive, OUT2 included, so the IRQ is
 *   gated off there too while IIR keeps working.
 */
#include "uart.h"

#include <stdio.h>
#include <string.h>

static bool uart_fifo_on(const struct uart *u)
{
	return u->fcr & UART_FCR_ENABLE;
}

static bool uart_loopback(const struct uart *u)
{
	return u->mcr & UART_MCR_LOOP;
}

/* With FIFOs off the receiver is the 16450's single holding register. */
static unsigned int uart_rx_cap(const struct uart *u)
{
	return uart_fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static unsigned int uart_rx_trigger(const struct uart *u)
{
	static const u8 levels[4] = { 1, 4, 8, 14 };

	return levels[(u->fcr & UART_FCR_TRIG) >> 6];
}

/* The highest-priority pending interrupt, as IIR bits 0-3 report it. */
static u8 uart_iir_id(const struct uart *u)
{
	if ((u->ier & UART_IER_ELSI) && (u->lsr & UART_LSR_ERRS))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_ERBFI) && u->rx_count) {
		if (!uart_fifo_on(u) || u->rx_count >= uart_rx_trigger(u))
			return UART_IIR_RDI;
		return UART_IIR_CTI;
	}
	if ((u->ier & UART_IER_ETBEI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_EDSSI) && (u->msr & UART_MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static u8 uart_iir(const struct uart *u)
{
	return uart_iir_id(u) | (uart_fifo_on(u) ? UART_IIR_FIFO : 0);
}

/* Drive the irq line from the current state; only changes are sent. */
static void uart_update_irq(struct uart *u)
{
	bool level = uart_iir_id(u) != UART_IIR_NO_INT &&
		     (u->mcr & UART_MCR_OUT2) && !uart_loopback(u);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	irq_line__set(&u->irq, level);
}

/*
 * A character completes in the receiver.  When there is no place for it,
 * that is an overrun: a 16550A in FIFO mode drops the new character and
 * keeps the FIFO, a 16450 (FIFOs off) overwrites the holding register.
 */
static void uart_rx_push(struct uart *u, u8 byte)
{
	if (u->rx_count == uart_rx_cap(u)) {
		u->lsr |= UART_LSR_OE;
		if (!uart_fifo_on(u))
			u->rx_fifo[u->rx_head] = byte;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	u->lsr |= UART_LSR_DR;
}

static void uart_rx_reset(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->lsr &= ~UART_LSR_DR;
}

/* MSR bits 4-7: a connected console, or MCR's outputs in loopback. */
static u8 uart_modem_inputs(const struct uart *u)
{
	if (!uart_loopback(u))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	return (u->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (u->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) |
	       (u->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
	       (u->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

/* Latch new modem inputs, setting the delta bits the change implies. */
static void uart_update_msr(struct uart *u)
{
	u8 old = u->msr, now = uart_modem_inputs(u), changed = old ^ now;
	u8 deltas = old & UART_MSR_DELTAS;

	if (changed & UART_MSR_CTS)
		deltas |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		deltas |= UART_MSR_DDSR;
	/* TERI is the trailing edge only: RI going inactive. */
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		deltas |= UART_MSR_TERI;
	if (changed & UART_MSR_DCD)
		deltas |= UART_MSR_DDCD;
	u->msr = now | deltas;
}

static void uart_write_thr(struct uart *u, u8 val)
{
	u->thr_ipending = false;
	u->lsr &= ~(UART_LSR_THRE | UART_LSR_TEMT);
	uart_update_irq(u);

	if (uart_loopback(u))
		uart_rx_push(u, val);	/* TX shift register feeds RX */
	else if (u->tx)
		u->tx(u->tx_ctx, &val, 1);

	/* Sent: THR and the shift register are empty again. */
	u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	u->thr_ipending = true;
}

static void uart_write_ier(struct uart *u, u8 val)
{
	u8 changed = (u->ier ^ val) & UART_IER_ETBEI;

	u->ier = val & 0x0f;
	/*
	 * Enabling ETBEI while THR is empty raises THRE at once, even if an
	 * IIR read had cleared it before (drivers probe for this, and
	 * Windows relies on it); disabling it forgets the latch.
	 */
	if (changed)
		u->thr_ipending = (u->ier & UART_IER_ETBEI) &&
				  (u->lsr & UART_LSR_THRE);
}

/* Returns true when the receiver may have gained room. */
static bool uart_write_fcr(struct uart *u, u8 val)
{
	bool was_on = uart_fifo_on(u);

	/*
	 * FCR0 must be set for the other bits to be written, and any change
	 * of FCR0 clears both FIFOs.
	 */
	if (!(val & UART_FCR_ENABLE)) {
		u->fcr = 0;
		if (!was_on)
			return false;
		uart_rx_reset(u);
		return true;
	}
	if (!was_on)
		val |= UART_FCR_RXRST | UART_FCR_TXRST;
	u->fcr = val & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIG);
	if (val & UART_FCR_TXRST) {
		/* The (always empty) TX FIFO is empty now: that is a THRE. */
		u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
		u->thr_ipending = true;
	}
	if (val & UART_FCR_RXRST) {
		uart_rx_reset(u);
		return true;
	}
	return false;
}

/* Returns true when the receiver may have gained room. */
static bool uart_write(struct uart *u, unsigned int reg, u8 val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	bool room = false;
	u8 old;

	switch (reg) {
	case UART_THR:
		if (dlab)
			u->dll = val;
		else
			uart_write_thr(u, val);
		break;
	case UART_IER:
		if (dlab)
			u->dlm = val;
		else
			uart_write_ier(u, val);
		break;
	case UART_FCR:
		room = uart_write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		old = u->mcr;
		u->mcr = val & 0x1f;
		uart_update_msr(u);
		/* Leaving loopback reconnects the serial input. */
		room = (old & UART_MCR_LOOP) && !uart_loopback(u);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Factory test registers on real parts: writes are ignored. */
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
	uart_update_irq(u);
	return room;
}

static u8 uart_read(struct uart *u, unsigned int reg, bool *room)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	u8 val = 0;

	switch (reg) {
	case UART_RBR:
		if (dlab)
			return u->dll;
		/* An empty RBR reads back its last byte, as on the chip. */
		if (u->rx_count) {
			u->rbr = u->rx_fifo[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			if (!--u->rx_count)
				u->lsr &= ~UART_LSR_DR;
		}
		val = u->rbr;
		*room = true;
		break;
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		val = uart_iir(u);
		/* Reading IIR acknowledges THRE when that is what it shows. */
		if ((val & UART_IIR_ID) == UART_IIR_THRI)
			u->thr_ipending = false;
		break;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		val = u->lsr;
		u->lsr &= ~UART_LSR_ERRS;
		break;
	case UART_MSR:
		val = u->msr;
		u->msr &= ~UART_MSR_DELTAS;
		break;
	case UART_SCR:
		return u->scr;
	}
	uart_update_irq(u);
	return val;
}

static int uart_io(void *opaque, u64 offset, u8 *data, u32 len,
		   bool is_write)
{
	struct uart *u = opaque;
	u32 i;

	/*
	 * The registers are 8 bits wide.  A wider access is split into byte
	 * cycles at consecutive ports, as the ISA bus does for an 8-bit
	 * device; the bus guarantees offset + len stays inside our range.
	 */
	for (i = 0; i < len; i++) {
		unsigned int reg = (offset + i) & (UART_NR_PORTS - 1);
		bool room = false;

		if (is_write)
			room = uart_write(u, reg, data[i]);
		else
			data[i] = uart_read(u, reg, &room);
		/*
		 * Last, with the register state settled: the callback may feed
		 * more input through uart__receive() right away.
		 */
		if (room && u->rx_room_cb)
			u->rx_room_cb(u->rx_room_ctx);
	}
	return 0;
}

void uart__init(struct uart *u, struct irq_line irq, uart_tx_fn tx,
		void *tx_ctx)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	u->tx = tx;
	u->tx_ctx = tx_ctx;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	u->msr = uart_modem_inputs(u);
	/* The divisor is undefined at reset; 12 is 9600 baud. */
	u->dll = 12;
}

int uart__register(struct uart *u, struct bus *bus, u16 base)
{
	return bus__register(bus, BUS_PIO, base, UART_NR_PORTS, uart_io, u,
			     "uart16550a");
}

unsigned int uart__rx_room(const struct uart *u)
{
	if (uart_loopback(u))
		return 0;
	return uart_rx_cap(u) - u->rx_count;
}

unsigned int uart__receive(struct uart *u, const u8 *buf, unsigned int len)
{
	unsigned int i, n = MIN(len, uart__rx_room(u));

	for (i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
	if (n)
		uart_update_irq(u);
	return n;
}

void uart__set_rx_room_cb(struct uart *u, void (*cb)(void *ctx), void *ctx)
{
	u->rx_room_cb = cb;
	u->rx_room_ctx = ctx;
}

void uart__dump(const struct uart *u, char *buf, size_t len)
{
	snprintf(buf, len,
		 "uart: ier=%02x iir=%02x lcr=%02x mcr=%02x lsr=%02x msr=%02x scr=%02x div=%u fcr=%02x rx=%u/%u thri=%d irq=%d",
		 u->ier, uart_iir(u), u->lcr, u->mcr, u->lsr, u->msr, u->scr,
		 (unsigned int)u->dlm << 8 | u->dll, u->fcr, u->rx_count,
		 uart_rx_cap(u), u->thr_ipending, u->irq_level);
}
