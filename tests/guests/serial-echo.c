// SPDX-License-Identifier: Apache-2.0
/*
 * Interrupt-driven serial input: the guest sleeps in HLT and echoes every
 * byte from its IRQ4 handler as "[c]" ("[\n]" for a newline, "[\xHH]" for
 * other control bytes), and on 'q' prints "bye" and exits 0.  The output
 * depends only on the input bytes, so the test compares it exactly.
 */
#include "rt.h"

static volatile int done;

static void echo(uint8_t c)
{
	if (done)
		return;		/* ignore anything after 'q' */
	if (c == '\n')
		rt_puts("[\\n]");
	else if (c < 0x20 || c >= 0x7f)
		rt_printf("[\\x%02x]", c);
	else
		rt_printf("[%c]", c);
	if (c == 'q') {
		rt_puts("\nbye\n");
		done = 1;
	}
}

/* Called with interrupts disabled, from the handler or from main(). */
static void drain(void)
{
	while (inb(RT_COM1 + RT_UART_LSR) & RT_LSR_DR)
		echo(inb(RT_COM1 + RT_UART_RBR));
}

static void uart_irq(unsigned int irq)
{
	(void)irq;
	(void)inb(RT_COM1 + RT_UART_IIR);
	drain();
}

int main(const void *zero_page)
{
	(void)zero_page;
	rt_puts("serial-echo: ready\n");

	rt_pic_init();
	rt_irq_register(4, uart_irq);

	/*
	 * Input may already be waiting (stdin is a pipe written before the
	 * guest booted).  Take what is there before touching FCR, since
	 * enabling the FIFO may reset it on a real 16550.
	 */
	drain();
	outb(RT_COM1 + RT_UART_FCR, 0x01);	/* FIFO on, trigger at 1 byte */
	outb(RT_COM1 + RT_UART_IER, 0x01);	/* received data available */
	outb(RT_COM1 + RT_UART_MCR, RT_MCR_DTR | RT_MCR_RTS | RT_MCR_OUT2);
	rt_irq_unmask(4);
	/*
	 * A byte that arrived before IER was set raised no edge on IRQ4;
	 * drain again now that any later byte will interrupt.
	 */
	drain();

	while (!done)
		rt_wait_irq();
	return 0;
}
