// SPDX-License-Identifier: Apache-2.0
/*
 * Runtime for the test guests.  Everything polls or uses the legacy PIC:
 * the platform has no local APIC model, and the guests must stay small
 * enough to finish quickly under instruction emulation.
 */
#include "rt.h"

struct idt_entry {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define RT_NR_VECTORS	48
#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define PIC_EOI		0x20
#define PIC_READ_ISR	0x0b
#define PIT_CH0		0x40
#define PIT_CMD		0x43

extern const uint64_t rt_stub_table[RT_NR_VECTORS];

static struct idt_entry idt[RT_NR_VECTORS] __attribute__((aligned(16)));
static rt_irq_handler_t irq_handlers[16];
static rt_exc_handler_t exc_handlers[32];
static int in_exception;

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "res",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "res", "res",
	"res", "res", "res", "res", "#HV", "#VC", "#SX", "res",
};

void rt_exit(int code)
{
	outb(RT_EXIT_PORT, (uint8_t)code);
	/* Only reached if the VMM ignored the exit port. */
	for (;;) {
		rt_cli();
		rt_hlt();
	}
}

void rt_putc(char c)
{
	while (!(inb(RT_COM1 + RT_UART_LSR) & RT_LSR_THRE))
		;
	outb(RT_COM1 + RT_UART_THR, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		rt_putc(*s++);
}

/* width > 0 pads on the left with pad, width < 0 on the right with ' ' */
static void print_num(unsigned long v, unsigned int base, int neg,
		      int width, char pad)
{
	char buf[24];
	int n = 0, len;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	for (len = n; width > len; width--)
		rt_putc(pad);
	while (n)
		rt_putc(buf[--n]);
	for (; -width > len; width++)
		rt_putc(' ');
}

/* %d %u %x %s %c %p %%, with 'l', a field width, '0' and '-' flags. */
void rt_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int is_long = 0, width = 0, left = 0;
		char pad = ' ';
		unsigned long u;
		long d;

		if (*fmt != '%') {
			rt_putc(*fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				pad = '0';
			else if (*fmt == '-')
				left = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (left) {
			width = -width;
			pad = ' ';
		}
		while (*fmt == 'l') {
			is_long = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			d = is_long ? va_arg(ap, long) : va_arg(ap, int);
			u = d < 0 ? -(unsigned long)d : (unsigned long)d;
			print_num(u, 10, d < 0, width, pad);
			break;
		case 'u':
		case 'x':
			u = is_long ? va_arg(ap, unsigned long) :
				      va_arg(ap, unsigned int);
			print_num(u, *fmt == 'u' ? 10 : 16, 0, width, pad);
			break;
		case 'p':
			rt_puts("0x");
			print_num((unsigned long)va_arg(ap, void *), 16, 0,
				  width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			rt_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			rt_putc((char)va_arg(ap, int));
			break;
		case '%':
			rt_putc('%');
			break;
		case '\0':
			return;
		default:
			/* Make a bad format visible rather than guessing. */
			rt_putc('%');
			rt_putc(*fmt);
			break;
		}
	}
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
}

static void serial_init(void)
{
	uint16_t div = 1;	/* 115200 baud; the model ignores timing */

	outb(RT_COM1 + RT_UART_IER, 0);
	outb(RT_COM1 + RT_UART_LCR, 0x80);	/* DLAB */
	outb(RT_COM1 + RT_UART_DLL, div & 0xff);
	outb(RT_COM1 + RT_UART_DLM, div >> 8);
	outb(RT_COM1 + RT_UART_LCR, 0x03);	/* 8N1 */
	/*
	 * FCR is left to the guests: enabling or resetting the FIFO can
	 * discard input that arrived before the guest was ready for it.
	 */
	outb(RT_COM1 + RT_UART_MCR, RT_MCR_DTR | RT_MCR_RTS);
}

static void idt_init(void)
{
	struct idt_ptr ptr = {
		.limit = sizeof(idt) - 1,
		.base = (uint64_t)idt,
	};
	uint16_t cs;
	unsigned int i;

	/* Use whatever code selector the loader gave us (0x10 by protocol). */
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (i = 0; i < RT_NR_VECTORS; i++) {
		uint64_t off = rt_stub_table[i];

		idt[i].offset_lo = off & 0xffff;
		idt[i].selector = cs;
		idt[i].ist = 0;
		idt[i].type_attr = 0x8e;	/* present, DPL0, interrupt gate */
		idt[i].offset_mid = (off >> 16) & 0xffff;
		idt[i].offset_hi = off >> 32;
		idt[i].reserved = 0;
	}
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void rt_pic_init(void)
{
	outb(PIC1_CMD, 0x11);		/* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, RT_IRQ_BASE);	/* ICW2: vector base */
	outb(PIC2_DATA, RT_IRQ_BASE + 8);
	outb(PIC1_DATA, 0x04);		/* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02);		/* ICW3: slave identity */
	outb(PIC1_DATA, 0x01);		/* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xff);		/* everything masked */
	outb(PIC2_DATA, 0xff);
}

void rt_irq_register(unsigned int irq, rt_irq_handler_t handler)
{
	if (irq < 16)
		irq_handlers[irq] = handler;
}

void rt_exc_register(unsigned int vector, rt_exc_handler_t handler)
{
	if (vector < 32)
		exc_handlers[vector] = handler;
}

void rt_irq_unmask(unsigned int irq)
{
	if (irq >= 16)
		return;
	if (irq >= 8) {
		outb(PIC2_DATA, inb(PIC2_DATA) & ~(1u << (irq - 8)));
		irq = 2;	/* the cascade line must be open too */
	}
	outb(PIC1_DATA, inb(PIC1_DATA) & ~(1u << irq));
}

void rt_irq_mask(unsigned int irq)
{
	if (irq >= 16)
		return;
	if (irq >= 8)
		outb(PIC2_DATA, inb(PIC2_DATA) | (1u << (irq - 8)));
	else
		outb(PIC1_DATA, inb(PIC1_DATA) | (1u << irq));
}

static int pic_isr_has(uint16_t cmd, unsigned int bit)
{
	outb(cmd, PIC_READ_ISR);
	return inb(cmd) & (1u << bit);
}

static void handle_irq(unsigned int irq)
{
	/*
	 * IRQ7/IRQ15 with no ISR bit set are spurious: the chip must not get
	 * an EOI for them (a slave spurious still needs the master's EOI,
	 * since the master did acknowledge the cascade).
	 */
	if (irq == 7 && !pic_isr_has(PIC1_CMD, 7))
		return;
	if (irq == 15 && !pic_isr_has(PIC2_CMD, 7)) {
		outb(PIC1_CMD, PIC_EOI);
		return;
	}

	if (irq_handlers[irq])
		irq_handlers[irq](irq);
	else
		rt_printf("rt: unexpected IRQ %u\n", irq);

	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

void rt_trap(struct rt_frame *f);
void rt_trap(struct rt_frame *f)
{
	unsigned int vec = (unsigned int)f->vector;

	if (vec >= RT_IRQ_BASE && vec < RT_IRQ_BASE + 16) {
		handle_irq(vec - RT_IRQ_BASE);
		return;
	}

	if (vec < 32 && exc_handlers[vec] && !in_exception &&
	    exc_handlers[vec](f))
		return;
	/* A fault while reporting a fault: just leave with the code. */
	if (in_exception)
		rt_exit(100 + vec);
	in_exception = 1;
	rt_printf("EXCEPTION: vector %u (%s) error 0x%lx rip 0x%lx\n", vec,
		  vec < 32 ? exc_names[vec] : "?", (unsigned long)f->error,
		  (unsigned long)f->rip);
	rt_exit(100 + vec);
}

void rt_pit_set_periodic(unsigned int hz)
{
	unsigned int div = (RT_PIT_HZ + hz / 2) / hz;

	if (div > 0xffff)
		div = 0;	/* 0 means 65536 */
	outb(PIT_CMD, 0x34);	/* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, (div >> 8) & 0xff);
}

/* Latch channel 0's count so both bytes come from the same instant. */
uint16_t rt_pit_latch_count(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, 0x00);	/* counter latch, channel 0 */
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return (uint16_t)(lo | (hi << 8));
}

/*
 * 8254 read-back: latch only the status byte of one channel.
 * Bits: 7 OUT, 6 null count, 5-4 access mode, 3-1 mode, 0 BCD.
 */
uint8_t rt_pit_read_status(unsigned int channel)
{
	/* 0xe0: read-back, bit 5 set = don't latch count, bit 4 clear = status */
	outb(PIT_CMD, 0xe0 | (2u << channel));
	return inb(PIT_CH0 + channel);
}

/* GCC may emit calls to these even in freestanding code. */
void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void rt_start(const void *zero_page);
void rt_start(const void *zero_page)
{
	idt_init();
	serial_init();
	rt_exit(main(zero_page));
}

/* ---- the command line (Linux boot protocol zero page) ---- */

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst) */
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_CMD_LINE_PTR		0x228

const char *rt_cmdline(const void *zero_page)
{
	const uint8_t *zp = zero_page;
	uint64_t ptr = *(const uint32_t *)(zp + BP_CMD_LINE_PTR) |
		       (uint64_t)*(const uint32_t *)(zp + BP_EXT_CMD_LINE_PTR) << 32;

	return ptr ? (const char *)(uintptr_t)ptr : "";
}

const char *rt_cmdline_arg(const char *cmdline, const char *key,
			   unsigned int *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;

			for (*len = 0; v[*len] && v[*len] != ' '; (*len)++)
				;
			return v;
		}
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

unsigned long rt_cmdline_ulong(const char *cmdline, const char *key,
			       unsigned long dflt)
{
	unsigned int len;
	const char *v = rt_cmdline_arg(cmdline, key, &len);
	unsigned long n = 0;

	if (!v || !len || *v < '0' || *v > '9')
		return dflt;
	while (len-- && *v >= '0' && *v <= '9')
		n = n * 10 + (unsigned long)(*v++ - '0');
	return n;
}
