/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime for microvm's freestanding test guests: port I/O, polling serial
 * output, a small printf, an IDT with exception and PIC IRQ stubs, 8259A and
 * 8254 helpers, and the test exit port.
 */
#ifndef MICROVM_GUEST_RT_H
#define MICROVM_GUEST_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define RT_COM1		0x3f8
#define RT_UART_RBR	0	/* receive buffer (read, DLAB=0) */
#define RT_UART_THR	0	/* transmit holding (write, DLAB=0) */
#define RT_UART_DLL	0	/* divisor low (DLAB=1) */
#define RT_UART_IER	1
#define RT_UART_DLM	1	/* divisor high (DLAB=1) */
#define RT_UART_IIR	2	/* read */
#define RT_UART_FCR	2	/* write */
#define RT_UART_LCR	3
#define RT_UART_MCR	4
#define RT_UART_LSR	5
#define RT_LSR_DR	0x01
#define RT_LSR_THRE	0x20
#define RT_MCR_DTR	0x01
#define RT_MCR_RTS	0x02
#define RT_MCR_OUT2	0x08	/* gates the UART's IRQ line to the PIC */

#define RT_EXIT_PORT	0x501
#define RT_IRQ_BASE	0x20	/* PIC vectors 0x20-0x2f after rt_pic_init() */
#define RT_PIT_HZ	1193182

/* Stack layout built by start.S: GPRs, then vector, error code, CPU frame. */
struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*rt_irq_handler_t)(unsigned int irq);
/*
 * An exception handler returns nonzero when it dealt with the exception
 * (and, for a fault, moved f->rip past the faulting instruction): the
 * guest then carries on.  Zero falls back to the report and exit.
 */
typedef int (*rt_exc_handler_t)(struct rt_frame *f);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void rt_cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void rt_sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void rt_hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

/*
 * STI's one-instruction interrupt shadow makes "sti; hlt" atomic: an IRQ
 * that became pending while IF was clear wakes the HLT instead of being
 * taken just before it and leaving the guest asleep.
 */
static inline void rt_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/* Wait for one interrupt with interrupts otherwise disabled. */
static inline void rt_wait_irq(void)
{
	rt_sti_hlt();
	rt_cli();
}

__attribute__((noreturn)) void rt_exit(int code);

void rt_putc(char c);
void rt_puts(const char *s);
__attribute__((format(printf, 1, 2))) void rt_printf(const char *fmt, ...);
void rt_vprintf(const char *fmt, va_list ap);

void rt_pic_init(void);
void rt_irq_register(unsigned int irq, rt_irq_handler_t handler);
void rt_irq_unmask(unsigned int irq);
void rt_irq_mask(unsigned int irq);
void rt_exc_register(unsigned int vector, rt_exc_handler_t handler);

void rt_pit_set_periodic(unsigned int hz);
uint16_t rt_pit_latch_count(void);
uint8_t rt_pit_read_status(unsigned int channel);

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/*
 * The kernel command line the VMM put in the zero page ("" if none), and
 * the value of "key=value" on it: its start and length up to the next
 * space, or NULL; as a decimal number, or dflt.
 */
const char *rt_cmdline(const void *zero_page);
const char *rt_cmdline_arg(const char *cmdline, const char *key,
			   unsigned int *len);
unsigned long rt_cmdline_ulong(const char *cmdline, const char *key,
			       unsigned long dflt);

/* Provided by each guest; its return value is the VM's exit status. */
int main(const void *zero_page);

#endif
