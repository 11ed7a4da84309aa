// SPDX-License-Identifier: Apache-2.0
/*
 * 8259A pair tests.  The guest side is driven through the port I/O bus and
 * the device side through irq_lines, exactly as the VM wires them; the vCPU
 * loop's side is pic__has_interrupt() and pic__ack().
 */
#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/pic.h"
#include "tests/unit/check.h"

#include <string.h>

#define M_CMD	0x20
#define M_DATA	0x21
#define S_CMD	0xa0
#define S_DATA	0xa1
#define ELCR0	0x4d0
#define ELCR1	0x4d1

#define EOI		0x20
#define READ_IRR	0x0a
#define READ_ISR	0x0b

static struct bus bus;
static struct pic pic;

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

static void set(unsigned int irq, int level)
{
	struct irq_line line = { pic__set_irq, &pic, irq };

	irq_line__set(&line, level);
}

static void pulse(unsigned int irq)
{
	struct irq_line line = { pic__set_irq, &pic, irq };

	irq_line__pulse(&line);
}

static u8 isr(u16 cmd)
{
	u8 val;

	outb(cmd, READ_ISR);
	val = inb(cmd);
	outb(cmd, READ_IRR);
	return val;
}

static u8 irr(u16 cmd)
{
	outb(cmd, READ_IRR);
	return inb(cmd);
}

static void setup(void)
{
	bus__init(&bus);
	pic__init(&pic);
	CHECK_EQ(pic__register(&pic, &bus), 0);
}

/* What Linux's init_8259A() writes, with the ICW4s as parameters. */
static void init_pair(u8 master_icw4, u8 slave_icw4)
{
	setup();
	outb(M_DATA, 0xff);
	outb(S_DATA, 0xff);
	outb(M_CMD, 0x11);
	outb(M_DATA, 0x20);
	outb(M_DATA, 0x04);
	outb(M_DATA, master_icw4);
	outb(S_CMD, 0x11);
	outb(S_DATA, 0x28);
	outb(S_DATA, 0x02);
	outb(S_DATA, slave_icw4);
	outb(M_DATA, 0x00);
	outb(S_DATA, 0x00);
}

static void linux_init(void)
{
	init_pair(0x01, 0x01);
}

static void test_power_on(void)
{
	setup();
	CHECK_EQ(inb(M_DATA), 0xff);
	CHECK_EQ(inb(S_DATA), 0xff);
	CHECK_EQ(inb(ELCR0), 0);
	CHECK_EQ(inb(ELCR1), 0);
	/* Nothing gets through before the guest programs the chips. */
	set(4, 1);
	set(12, 1);
	CHECK(!pic__has_interrupt(&pic));
	/* The slave's INT stays low while its input is masked. */
	CHECK_EQ(irr(M_CMD), 0x10);
	CHECK_EQ(irr(S_CMD), 0x10);
	/* Linux's probe: OCW1 works without ICWs and reads back. */
	outb(M_DATA, 0x5a);
	CHECK_EQ(inb(M_DATA), 0x5a);
	/* A register clash is reported, not ignored. */
	CHECK(pic__register(&pic, &bus) < 0);
}

static void test_linux_init(void)
{
	linux_init();
	CHECK_EQ(inb(M_DATA), 0x00);
	CHECK_EQ(inb(S_DATA), 0x00);
	CHECK(!pic__has_interrupt(&pic));

	set(0, 1);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x20);
	CHECK(!pic__has_interrupt(&pic));
	CHECK_EQ(isr(M_CMD), 0x01);
	outb(M_CMD, EOI);
	CHECK_EQ(isr(M_CMD), 0x00);

	set(12, 1);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x2c);

	/* After init, data-port writes are OCW1 again. */
	outb(M_DATA, 0xfb);
	CHECK_EQ(inb(M_DATA), 0xfb);
}

static void test_init_variants(void)
{
	setup();
	/* No ICW4: ICW2, ICW3, then OCW1; ICW4 functions default off. */
	outb(M_CMD, 0x10);
	outb(M_DATA, 0x48);
	outb(M_DATA, 0x04);
	outb(M_DATA, 0xf7);
	CHECK_EQ(inb(M_DATA), 0xf7);
	set(3, 1);
	CHECK_EQ(pic__ack(&pic), 0x4b);
	CHECK_EQ(isr(M_CMD), 0x08);	/* no auto-EOI */

	/* Single mode: no ICW3, and IR2 is an ordinary input. */
	outb(M_CMD, 0x13);
	CHECK_EQ(isr(M_CMD), 0);	/* ICW1 cleared ISR */
	outb(M_DATA, 0x61);		/* low three bits ignored */
	outb(M_DATA, 0x01);		/* ICW4, not ICW3 */
	outb(M_DATA, 0xfb);		/* OCW1 */
	CHECK_EQ(inb(M_DATA), 0xfb);
	outb(M_DATA, 0x00);
	outb(S_CMD, 0x11);
	outb(S_DATA, 0x70);
	outb(S_DATA, 0x02);
	outb(S_DATA, 0x01);
	set(9, 1);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x62);
	/* The slave saw no INTA cycle. */
	CHECK_EQ(isr(S_CMD), 0);
	CHECK_EQ(irr(S_CMD), 0x02);
}

static void test_mask_unmask(void)
{
	linux_init();
	outb(M_DATA, 0x08);
	set(3, 1);
	CHECK(!pic__has_interrupt(&pic));
	CHECK_EQ(irr(M_CMD), 0x08);	/* requested, but masked */
	outb(M_DATA, 0x00);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x23);
	outb(M_CMD, EOI);

	/* Masking the cascade input hides the whole slave... */
	outb(M_DATA, 0x04);
	set(9, 1);
	CHECK(!pic__has_interrupt(&pic));
	outb(M_DATA, 0x00);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x29);
	outb(S_CMD, EOI);
	outb(M_CMD, EOI);

	/* ...and the slave's own IMR hides one input. */
	outb(S_DATA, 0x08);
	set(11, 1);
	CHECK(!pic__has_interrupt(&pic));
	outb(S_DATA, 0x00);
	CHECK_EQ(pic__ack(&pic), 0x2b);
}

static void test_priority(void)
{
	linux_init();
	set(5, 1);
	set(3, 1);
	CHECK_EQ(pic__ack(&pic), 0x23);
	/* IR3 in service holds off IR5... */
	CHECK(!pic__has_interrupt(&pic));
	/* ...but not IR1, which nests. */
	set(1, 1);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x21);
	CHECK_EQ(isr(M_CMD), 0x0a);
	outb(M_CMD, EOI);		/* ends IR1 */
	CHECK_EQ(isr(M_CMD), 0x08);
	CHECK(!pic__has_interrupt(&pic));
	outb(M_CMD, EOI);		/* ends IR3 */
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x25);

	/* All slave inputs rank between master IR1 and IR3. */
	linux_init();
	set(3, 1);
	set(15, 1);
	CHECK_EQ(pic__ack(&pic), 0x2f);
}

static void test_edge_latch(void)
{
	linux_init();
	set(3, 1);
	CHECK_EQ(pic__ack(&pic), 0x23);
	outb(M_CMD, EOI);
	/* A line held high requested once; re-asserting is no new edge. */
	set(3, 1);
	CHECK(!pic__has_interrupt(&pic));
	CHECK_EQ(irr(M_CMD), 0);
	pulse(3);
	CHECK_EQ(pic__ack(&pic), 0x23);
	outb(M_CMD, EOI);

	/* A short pulse stays latched after the line drops. */
	set(3, 0);
	set(4, 1);
	set(4, 0);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(irr(M_CMD), 0x10);
	CHECK_EQ(pic__ack(&pic), 0x24);
	CHECK_EQ(irr(M_CMD), 0);
}

static void test_level(void)
{
	linux_init();
	outb(ELCR0, 0x08);
	CHECK_EQ(inb(ELCR0), 0x08);
	set(3, 1);
	CHECK_EQ(pic__ack(&pic), 0x23);
	/* The request stays in IRR while the line is high... */
	CHECK_EQ(irr(M_CMD), 0x08);
	CHECK(!pic__has_interrupt(&pic));
	/* ...so it is delivered again after EOI if not serviced. */
	outb(M_CMD, EOI);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x23);
	set(3, 0);
	CHECK_EQ(irr(M_CMD), 0);
	outb(M_CMD, EOI);
	CHECK(!pic__has_interrupt(&pic));

	/* Switching an input to level makes IRR follow its current line. */
	outb(ELCR0, 0x00);
	set(5, 1);
	CHECK_EQ(pic__ack(&pic), 0x25);
	outb(M_CMD, EOI);
	CHECK(!pic__has_interrupt(&pic));
	outb(ELCR0, 0x20);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x25);

	/* Level on the slave: the slave's IRR follows the line too. */
	outb(ELCR1, 0x10);
	set(12, 1);
	set(12, 0);
	CHECK_EQ(irr(S_CMD), 0);
}

static void test_eoi(void)
{
	linux_init();
	set(4, 1);
	CHECK_EQ(pic__ack(&pic), 0x24);
	set(1, 1);
	CHECK_EQ(pic__ack(&pic), 0x21);
	CHECK_EQ(isr(M_CMD), 0x12);
	/* Specific EOI ends the named level, even a lower one. */
	outb(M_CMD, 0x60 | 4);
	CHECK_EQ(isr(M_CMD), 0x02);
	/* Specific EOI of a level not in service changes nothing. */
	outb(M_CMD, 0x60 | 6);
	CHECK_EQ(isr(M_CMD), 0x02);
	outb(M_CMD, EOI);
	CHECK_EQ(isr(M_CMD), 0x00);
	/* Non-specific EOI with nothing in service is harmless. */
	outb(M_CMD, EOI);
	CHECK_EQ(isr(M_CMD), 0x00);

	/* Non-specific EOI ends the highest-priority level in service. */
	set(6, 1);
	CHECK_EQ(pic__ack(&pic), 0x26);
	set(5, 1);
	CHECK_EQ(pic__ack(&pic), 0x25);
	outb(M_CMD, EOI);
	CHECK_EQ(isr(M_CMD), 0x40);
}

static void test_cascade_eoi(void)
{
	linux_init();
	set(12, 1);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x2c);
	CHECK_EQ(isr(M_CMD), 0x04);
	CHECK_EQ(isr(S_CMD), 0x10);
	CHECK_EQ(irr(S_CMD), 0x00);

	/* Same and lower priority on both chips wait; IR0/IR1 nest. */
	pulse(12);
	set(14, 1);
	set(3, 1);
	CHECK(!pic__has_interrupt(&pic));
	set(1, 1);
	CHECK_EQ(pic__ack(&pic), 0x21);
	outb(M_CMD, EOI);
	CHECK_EQ(isr(M_CMD), 0x04);
	CHECK(!pic__has_interrupt(&pic));

	/* The slave's EOI alone is not enough: master IR2 is in service. */
	outb(S_CMD, EOI);
	CHECK_EQ(isr(S_CMD), 0x00);
	CHECK(!pic__has_interrupt(&pic));
	outb(M_CMD, EOI);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x2c);

	/*
	 * The other order: after the master's EOI its own IR3 gets through,
	 * but slave IR6 waits for the slave's EOI of IR4.
	 */
	outb(M_CMD, EOI);
	CHECK_EQ(pic__ack(&pic), 0x23);
	outb(M_CMD, EOI);
	CHECK(!pic__has_interrupt(&pic));
	outb(S_CMD, 0x60 | 4);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x2e);
	CHECK_EQ(isr(S_CMD), 0x40);
	CHECK_EQ(isr(M_CMD), 0x04);
}

static void test_auto_eoi(void)
{
	init_pair(0x03, 0x01);
	set(1, 1);
	set(4, 1);
	CHECK_EQ(pic__ack(&pic), 0x21);
	CHECK_EQ(isr(M_CMD), 0x00);
	/* Nothing in service, so the lower level follows at once. */
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x24);
	CHECK(!pic__has_interrupt(&pic));

	/* Rotate in auto-EOI mode: the acknowledged level becomes lowest. */
	outb(M_CMD, 0x80);
	pulse(1);
	CHECK_EQ(pic__ack(&pic), 0x21);
	pulse(0);
	pulse(3);
	CHECK_EQ(pic__ack(&pic), 0x23);	/* order is now 2..7, 0, 1 */
	CHECK_EQ(pic__ack(&pic), 0x20);
	/* Rotation off again: acks no longer move the priorities. */
	outb(M_CMD, 0x00);
	pulse(5);
	CHECK_EQ(pic__ack(&pic), 0x25);
	pulse(0);
	pulse(7);
	CHECK_EQ(pic__ack(&pic), 0x27);	/* still 1..7, 0 after IR0 */
}

static void test_slave_auto_eoi(void)
{
	/*
	 * A slave in auto-EOI mode with two requests: the second must reach
	 * the CPU although the slave's INT output never went low.
	 */
	init_pair(0x03, 0x03);
	set(9, 1);
	set(10, 1);
	CHECK_EQ(pic__ack(&pic), 0x29);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x2a);
	CHECK(!pic__has_interrupt(&pic));
}

static void test_poll(void)
{
	linux_init();
	/* Nothing pending: bit 7 clear. */
	outb(M_CMD, 0x0c);
	CHECK_EQ(inb(M_CMD), 0x00);
	set(5, 1);
	set(6, 1);
	outb(M_CMD, 0x0c);
	/* A poll read is an INTA: highest request, into service. */
	CHECK_EQ(inb(M_CMD), 0x85);
	CHECK_EQ(isr(M_CMD), 0x20);
	CHECK_EQ(irr(M_CMD), 0x40);
	/* The poll lasts for one read only. */
	CHECK_EQ(inb(M_CMD), 0x40);
	/* Poll takes precedence over the IMR read on A0=1 as well. */
	outb(M_CMD, EOI);
	outb(M_CMD, 0x0c);
	CHECK_EQ(inb(M_DATA), 0x86);
	CHECK_EQ(inb(M_DATA), 0x00);
	outb(M_CMD, EOI);

	/*
	 * Polling the slave consumes its request; the master must not keep a
	 * cascade request that would later show up as a spurious IRQ15.
	 */
	set(13, 1);
	CHECK(pic__has_interrupt(&pic));
	outb(S_CMD, 0x0c);
	CHECK_EQ(inb(S_CMD), 0x85);
	CHECK(!pic__has_interrupt(&pic));
}

static void test_read_irr_isr(void)
{
	linux_init();
	set(3, 1);
	set(6, 1);
	CHECK_EQ(pic__ack(&pic), 0x23);
	outb(M_CMD, READ_ISR);
	CHECK_EQ(inb(M_CMD), 0x08);
	/* The selection sticks across reads and across OCW3s without RR. */
	CHECK_EQ(inb(M_CMD), 0x08);
	outb(M_CMD, 0x08);
	CHECK_EQ(inb(M_CMD), 0x08);
	outb(M_CMD, READ_IRR);
	CHECK_EQ(inb(M_CMD), 0x40);
	/* A0=1 always reads the IMR. */
	outb(M_DATA, 0x81);
	CHECK_EQ(inb(M_DATA), 0x81);
	/* ICW1 selects IRR again. */
	outb(M_CMD, READ_ISR);
	outb(M_CMD, 0x11);
	CHECK_EQ(inb(M_CMD), 0x00);	/* edge latches were reset too */
}

static void test_spurious_master(void)
{
	linux_init();
	/* A level request withdrawn before INTA. */
	outb(ELCR0, 0x20);
	set(5, 1);
	CHECK(pic__has_interrupt(&pic));
	set(5, 0);
	CHECK(!pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x27);
	CHECK_EQ(isr(M_CMD), 0x00);

	/* An edge request masked before INTA. */
	set(4, 1);
	CHECK(pic__has_interrupt(&pic));
	outb(M_DATA, 0x10);
	CHECK_EQ(pic__ack(&pic), 0x27);
	CHECK_EQ(isr(M_CMD), 0x00);
	/* It is still latched and is delivered once unmasked. */
	outb(M_DATA, 0x00);
	CHECK_EQ(pic__ack(&pic), 0x24);
}

static void test_spurious_slave(void)
{
	linux_init();
	outb(ELCR1, 0x04);
	set(10, 1);
	CHECK(pic__has_interrupt(&pic));
	set(10, 0);
	/* The master latched its IR2 edge and commits to the cascade. */
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x2f);
	CHECK_EQ(isr(S_CMD), 0x00);
	CHECK_EQ(isr(M_CMD), 0x04);
	/* Linux's handler EOIs the master only; all quiet afterwards. */
	outb(M_CMD, EOI);
	CHECK_EQ(isr(M_CMD), 0x00);
	CHECK(!pic__has_interrupt(&pic));

	/* The same with an edge request masked on the slave. */
	set(11, 1);
	outb(S_DATA, 0x08);
	CHECK_EQ(pic__ack(&pic), 0x2f);
	CHECK_EQ(isr(M_CMD), 0x04);
	outb(M_CMD, EOI);
	outb(S_DATA, 0x00);
	CHECK_EQ(pic__ack(&pic), 0x2b);
}

static void test_rotation(void)
{
	linux_init();
	set(3, 1);
	CHECK_EQ(pic__ack(&pic), 0x23);
	/* Rotate on non-specific EOI: IR3 becomes the lowest priority. */
	outb(M_CMD, 0xa0);
	CHECK_EQ(isr(M_CMD), 0x00);
	pulse(1);
	pulse(4);
	CHECK_EQ(pic__ack(&pic), 0x24);
	/* Under rotation IR1 ranks below IR4, so it waits for the EOI. */
	CHECK(!pic__has_interrupt(&pic));
	outb(M_CMD, EOI);
	CHECK_EQ(pic__ack(&pic), 0x21);
	outb(M_CMD, EOI);

	/* Set priority: IR7 lowest restores the fixed order. */
	outb(M_CMD, 0xc7);
	pulse(1);
	pulse(4);
	CHECK_EQ(pic__ack(&pic), 0x21);
	/* Rotate on specific EOI: ends IR1 and makes it the lowest. */
	outb(M_CMD, 0xe1);
	CHECK_EQ(isr(M_CMD), 0x00);
	pulse(0);
	CHECK_EQ(pic__ack(&pic), 0x24);	/* order is now 2..7, 0, 1 */
	outb(M_CMD, EOI);
	CHECK_EQ(pic__ack(&pic), 0x20);
	outb(M_CMD, EOI);
	/* Set priority: IR3 lowest, so IR6 beats the cascade on IR2. */
	outb(M_CMD, 0xc3);
	pulse(10);
	pulse(6);
	CHECK_EQ(pic__ack(&pic), 0x26);
	outb(M_CMD, EOI);
	CHECK_EQ(pic__ack(&pic), 0x2a);
	/* OCW2 no-op (0x40) changes nothing. */
	outb(M_CMD, 0x40);
	CHECK_EQ(isr(M_CMD), 0x04);
}

static void test_elcr(void)
{
	linux_init();
	outb(ELCR0, 0xff);
	outb(ELCR1, 0xff);
	/* IRQ 0, 1, 2 and 8, 13 are edge-only. */
	CHECK_EQ(inb(ELCR0), 0xf8);
	CHECK_EQ(inb(ELCR1), 0xde);
	/* ...and really behave as edge: no redelivery while held high. */
	set(0, 1);
	CHECK_EQ(pic__ack(&pic), 0x20);
	outb(M_CMD, EOI);
	CHECK(!pic__has_interrupt(&pic));
	set(13, 1);
	CHECK_EQ(pic__ack(&pic), 0x2d);
	outb(S_CMD, EOI);
	outb(M_CMD, EOI);
	CHECK(!pic__has_interrupt(&pic));
	/* ICW1 leaves the ELCR alone. */
	outb(M_CMD, 0x11);
	CHECK_EQ(inb(ELCR0), 0xf8);
}

static void test_odd_sizes(void)
{
	u8 buf[8];
	u16 w;

	linux_init();
	set(3, 1);
	outb(M_DATA, 0x81);
	/* A 16-bit read is two byte reads: IRR (or ISR), then IMR. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(bus__access(&bus, BUS_PIO, M_CMD, buf, 2, false), 0);
	CHECK_EQ(buf[0], 0x08);
	CHECK_EQ(buf[1], 0x81);
	/* A 16-bit ELCR write programs both registers. */
	w = 0xffff;
	memcpy(buf, &w, sizeof(w));
	CHECK_EQ(bus__access(&bus, BUS_PIO, ELCR0, buf, 2, true), 0);
	CHECK_EQ(inb(ELCR0), 0xf8);
	CHECK_EQ(inb(ELCR1), 0xde);
	/* Wider accesses and ones straddling the end are refused. */
	memset(buf, 0x5a, sizeof(buf));
	CHECK(bus__access(&bus, BUS_PIO, M_CMD, buf, 4, true) < 0);
	CHECK(bus__access(&bus, BUS_PIO, S_DATA, buf, 2, true) < 0);
	CHECK(bus__access(&bus, BUS_PIO, ELCR0, buf, 8, false) < 0);
	CHECK(bus__access(&bus, BUS_PIO, M_DATA, buf, 4, false) < 0);
	CHECK_EQ(inb(M_DATA), 0x81);
	CHECK_EQ(inb(S_DATA), 0x00);

	/* Devices that ask for inputs that do not exist are ignored. */
	set(16, 1);
	set(1000, 1);
	set(2, 1);
	CHECK_EQ(irr(M_CMD), 0x08);
	CHECK_EQ(irr(S_CMD), 0x00);
}

static void test_special_mask(void)
{
	linux_init();
	set(3, 1);
	CHECK_EQ(pic__ack(&pic), 0x23);
	set(5, 1);
	CHECK(!pic__has_interrupt(&pic));
	/* The handler masks its own level and enters special mask mode. */
	outb(M_DATA, 0x08);
	outb(M_CMD, 0x68);
	CHECK(pic__has_interrupt(&pic));
	CHECK_EQ(pic__ack(&pic), 0x25);
	CHECK_EQ(isr(M_CMD), 0x28);
	/* A level already in service is not requested again. */
	pulse(5);
	CHECK(!pic__has_interrupt(&pic));
	/* An OCW3 without ESMM (here: read IRR) leaves the mode alone. */
	outb(M_CMD, READ_IRR);
	pulse(6);
	CHECK(pic__has_interrupt(&pic));
	/* Leaving it: IR3 in service blocks lower levels again. */
	outb(M_CMD, 0x48);
	CHECK(!pic__has_interrupt(&pic));
}

static void test_sfnm(void)
{
	/* Special fully nested master: a slave can nest its own requests. */
	init_pair(0x11, 0x01);
	set(12, 1);
	CHECK_EQ(pic__ack(&pic), 0x2c);
	set(14, 1);
	CHECK(!pic__has_interrupt(&pic));	/* lower on the slave */
	set(9, 1);
	CHECK(pic__has_interrupt(&pic));	/* higher on the slave */
	CHECK_EQ(pic__ack(&pic), 0x29);
	CHECK_EQ(isr(S_CMD), 0x12);
	/* Only the cascade input gets the exemption. */
	set(3, 1);
	CHECK(!pic__has_interrupt(&pic));

	/* Without SFNM the nested slave request waits (test_cascade_eoi). */
	linux_init();
	set(12, 1);
	CHECK_EQ(pic__ack(&pic), 0x2c);
	set(9, 1);
	CHECK(!pic__has_interrupt(&pic));
}

static void test_icw1_resets_edge_sense(void)
{
	linux_init();
	set(3, 1);
	set(12, 1);
	outb(M_DATA, 0x0c);
	outb(M_CMD, 0x11);
	outb(M_DATA, 0x20);
	outb(M_DATA, 0x04);
	outb(M_DATA, 0x01);
	CHECK_EQ(inb(M_DATA), 0x00);
	CHECK_EQ(irr(M_CMD), 0x00);
	/* A line still high must go low and high again to request. */
	set(3, 1);
	CHECK(!pic__has_interrupt(&pic));
	pulse(3);
	CHECK_EQ(pic__ack(&pic), 0x23);
	outb(M_CMD, EOI);
	/* Same for the cascade: the slave's INT must rise again. */
	outb(S_CMD, 0x11);
	outb(S_DATA, 0x28);
	outb(S_DATA, 0x02);
	outb(S_DATA, 0x01);
	CHECK(!pic__has_interrupt(&pic));
	pulse(12);
	CHECK_EQ(pic__ack(&pic), 0x2c);

	/* Level inputs keep requesting across ICW1. */
	linux_init();
	outb(ELCR0, 0x80);
	set(7, 1);
	outb(M_CMD, 0x11);
	outb(M_DATA, 0x30);
	outb(M_DATA, 0x04);
	outb(M_DATA, 0x01);
	CHECK_EQ(pic__ack(&pic), 0x37);
	CHECK_EQ(isr(M_CMD), 0x80);
}

static void test_dump(void)
{
	char buf[512];
	char small[16];

	linux_init();
	outb(ELCR1, 0x10);
	set(12, 1);
	pic__dump(&pic, buf, sizeof(buf));
	CHECK(strstr(buf, "pic master: IRR=04 ISR=00 IMR=00") != NULL);
	CHECK(strstr(buf, "base=20") != NULL);
	CHECK(strstr(buf, "pic slave : IRR=10 ISR=00 IMR=00") != NULL);
	CHECK(strstr(buf, "base=28 ELCR=10") != NULL);
	/* Two lines, no trailing newline (the crash report adds its own). */
	CHECK(strchr(buf, '\n') != NULL);
	CHECK(strchr(buf, '\n') == strrchr(buf, '\n'));
	CHECK(buf[strlen(buf) - 1] != '\n');

	memset(small, 'x', sizeof(small));
	pic__dump(&pic, small, 8);
	CHECK_EQ(strlen(small), 7);
	CHECK_EQ((u8)small[8], 'x');
	pic__dump(&pic, small, 0);
}

int main(void)
{
	RUN(test_power_on);
	RUN(test_linux_init);
	RUN(test_init_variants);
	RUN(test_mask_unmask);
	RUN(test_priority);
	RUN(test_edge_latch);
	RUN(test_level);
	RUN(test_eoi);
	RUN(test_cascade_eoi);
	RUN(test_auto_eoi);
	RUN(test_slave_auto_eoi);
	RUN(test_poll);
	RUN(test_read_irr_isr);
	RUN(test_spurious_master);
	RUN(test_spurious_slave);
	RUN(test_rotation);
	RUN(test_elcr);
	RUN(test_odd_sizes);
	RUN(test_special_mask);
	RUN(test_sfnm);
	RUN(test_icw1_resets_edge_sense);
	RUN(test_dump);
	return check_summary();
}
