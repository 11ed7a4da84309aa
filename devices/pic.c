// SPDX-License-Identifier: Apache-2.0
/*
 * The 8259A PIC pair of a PC, with the PIIX ELCR.
 *
 * Behaviour follows the Intel 8259A datasheet; where the datasheet leaves
 * room (ISR after ICW1, poll bits with nothing pending) we do what QEMU
 * does, so that guests tested there behave the same here.  Deviations, all
 * deliberate:
 * - edge-triggered requests stay latched if the line drops before INTA
 *   (see pic.h);
 * - ICW1's LTIM bit is ignored: on PIIX the ELCR decides, per input;
 * - ICW4's uPM bit is ignored: only 8086 mode (vector = base + IR) exists;
 * - the slave's INT output is sampled afresh after each INTA cycle, so a
 *   request still pending on the slave after one is acknowledged (auto-EOI,
 *   or a higher-priority one) raises the master's IR2 again.
 */
#include "pic.h"

#include <stdio.h>
#include <string.h>

#define ICW1_IC4	0x01	/* ICW4 will follow */
#define ICW1_SNGL	0x02	/* single chip, no ICW3 */
#define ICW1_LTIM	0x08	/* level-triggered (ignored, see above) */
#define ICW1_INIT	0x10	/* A0=0 write with D4 set: ICW1 */

#define ICW4_UPM	0x01	/* 8086 mode */
#define ICW4_AEOI	0x02
#define ICW4_SFNM	0x10

#define OCW3_SEL	0x08	/* A0=0 write with D4=0, D3=1: OCW3 */
#define OCW3_RIS	0x01
#define OCW3_RR		0x02	/* RIS is valid */
#define OCW3_POLL	0x04
#define OCW3_SMM	0x20
#define OCW3_ESMM	0x40	/* SMM is valid */

/* OCW2 R, SL, EOI bits (7-5) select the command; L2-L0 is the level. */
enum ocw2_cmd {
	OCW2_ROTATE_AEOI_CLEAR	= 0,
	OCW2_EOI		= 1,
	OCW2_NOP		= 2,
	OCW2_SPECIFIC_EOI	= 3,
	OCW2_ROTATE_AEOI_SET	= 4,
	OCW2_ROTATE_EOI		= 5,
	OCW2_SET_PRIORITY	= 6,
	OCW2_ROTATE_SPECIFIC_EOI = 7,
};

/* PIIX: IRQ 0, 1, 2, 8 and 13 are always edge-triggered. */
static const u8 elcr_writable[PIC_NR_CHIPS] = { 0xf8, 0xde };

static const char *const chip_name[PIC_NR_CHIPS] = { "master", "slave" };

/*
 * Priority of the highest-priority IR set in mask, counted from the chip's
 * highest-priority IR: 0 is the highest, 7 the lowest, 8 means none.
 */
static unsigned int chip_priority(const struct pic_chip *c, u8 mask)
{
	unsigned int prio;

	if (!mask)
		return 8;
	for (prio = 0; !(mask & (1u << ((prio + c->highest_prio) & 7)));
	     prio++)
		;
	return prio;
}

static unsigned int chip_prio_irq(const struct pic_chip *c, unsigned int prio)
{
	return (prio + c->highest_prio) & 7;
}

static bool master_cascades(const struct pic_chip *master, unsigned int irq)
{
	return irq == PIC_CASCADE_IRQ && !master->single &&
	       (master->icw3 & (1u << PIC_CASCADE_IRQ));
}

/*
 * The IR this chip would present on an INTA cycle now, or -1 if its INT
 * output is low.
 */
static int chip_pending(const struct pic_chip *c, enum pic_chip_id id)
{
	u8 req = c->irr & ~c->imr;
	unsigned int prio, cur;
	unsigned int irq;

	/*
	 * Special mask mode: the in-service register no longer inhibits
	 * anything; any unmasked level that is not itself in service may
	 * interrupt, lower priorities included.
	 */
	if (c->special_mask)
		req &= ~c->isr;
	prio = chip_priority(c, req);
	if (prio == 8)
		return -1;
	irq = chip_prio_irq(c, prio);
	if (c->special_mask)
		return irq;

	cur = chip_priority(c, c->isr);
	if (prio < cur)
		return irq;
	/*
	 * Special fully nested mode: a slave whose request is in service is
	 * not locked out, so that its higher-priority requests get through
	 * (the slave itself only raises INT for those).
	 */
	if (id == PIC_MASTER && c->sfnm && prio == cur &&
	    master_cascades(c, irq))
		return irq;
	return -1;
}

static void chip_set_line(struct pic_chip *c, unsigned int irq, int level)
{
	u8 mask = 1u << irq;

	if (level) {
		/* Level inputs request while high; edge ones on the rise. */
		if ((c->elcr & mask) || !(c->line & mask))
			c->irr |= mask;
		c->line |= mask;
	} else {
		if (c->elcr & mask)
			c->irr &= ~mask;
		c->line &= ~mask;
	}
}

/*
 * Propagate the slave's INT output to the master's IR2.  Called after every
 * change of state; the master's output is computed on demand.
 */
static void pic_update(struct pic *pic)
{
	int out = chip_pending(&pic->chip[PIC_SLAVE], PIC_SLAVE) >= 0;

	chip_set_line(&pic->chip[PIC_MASTER], PIC_CASCADE_IRQ, out);
}

/* The chip's part of an INTA cycle (or of a poll read) for input irq. */
static void chip_intack(struct pic_chip *c, unsigned int irq)
{
	u8 mask = 1u << irq;

	if (!c->auto_eoi)
		c->isr |= mask;
	else if (c->rotate_auto_eoi)
		c->highest_prio = (irq + 1) & 7;
	/* A level request stays in IRR for as long as its line is high. */
	if (!(c->elcr & mask))
		c->irr &= ~mask;
}

/*
 * After the slave was acknowledged, forget the master's view of its INT
 * line so that pic_update() sees a fresh edge if the slave still has a
 * deliverable request: the acknowledge ends the slave's current request
 * on the cascade input.
 */
static void pic_slave_acked(struct pic *pic)
{
	pic->chip[PIC_MASTER].line &= ~(1u << PIC_CASCADE_IRQ);
}

static void chip_reset(struct pic_chip *c)
{
	/*
	 * What ICW1 does (datasheet: edge sense reset, IMR cleared, IR7
	 * lowest priority, special mask mode off, status read = IRR, ICW4
	 * functions zero).  Edge inputs that are high now must go low and
	 * high again to request, which keeping 'line' gives us; level inputs
	 * keep requesting.  ISR is cleared as QEMU does: a re-initialized
	 * chip has nothing in service.
	 */
	c->irr = c->line & c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->highest_prio = 0;
	c->auto_eoi = false;
	c->sfnm = false;
	c->rotate_auto_eoi = false;
	c->special_mask = false;
	c->poll = false;
	c->read_isr = false;
}

static void chip_write_icw1(struct pic_chip *c, u8 val)
{
	chip_reset(c);
	c->need_icw4 = val & ICW1_IC4;
	c->single = val & ICW1_SNGL;
	c->init_state = PIC_INIT_ICW2;
	if (val & ICW1_LTIM)
		pr_debug("pic: ICW1 LTIM ignored, the ELCR selects level mode\n");
}

static void chip_write_ocw2(struct pic_chip *c, u8 val)
{
	unsigned int level = val & 7;
	unsigned int prio;

	switch ((enum ocw2_cmd)(val >> 5)) {
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_auto_eoi = false;
		break;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_auto_eoi = true;
		break;
	case OCW2_EOI:
	case OCW2_ROTATE_EOI:
		/* Non-specific: the highest-priority level in service. */
		prio = chip_priority(c, c->isr);
		if (prio == 8)
			break;
		level = chip_prio_irq(c, prio);
		c->isr &= ~(1u << level);
		if (val >> 5 == OCW2_ROTATE_EOI)
			c->highest_prio = (level + 1) & 7;
		break;
	case OCW2_SPECIFIC_EOI:
		c->isr &= ~(1u << level);
		break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= ~(1u << level);
		c->highest_prio = (level + 1) & 7;
		break;
	case OCW2_SET_PRIORITY:
		/* L becomes the lowest priority. */
		c->highest_prio = (level + 1) & 7;
		break;
	case OCW2_NOP:
		break;
	}
}

static void chip_write_ocw3(struct pic_chip *c, u8 val)
{
	if (val & OCW3_POLL)
		c->poll = true;
	if (val & OCW3_RR)
		c->read_isr = val & OCW3_RIS;
	if (val & OCW3_ESMM)
		c->special_mask = val & OCW3_SMM;
}

static void chip_write_data(struct pic_chip *c, u8 val)
{
	switch (c->init_state) {
	case PIC_INIT_ICW2:
		/* 8086 mode: T7-T3; the low three bits are the IR number. */
		c->base = val & 0xf8;
		if (!c->single)
			c->init_state = PIC_INIT_ICW3;
		else
			c->init_state = c->need_icw4 ? PIC_INIT_ICW4
						     : PIC_INIT_DONE;
		break;
	case PIC_INIT_ICW3:
		c->icw3 = val;
		c->init_state = c->need_icw4 ? PIC_INIT_ICW4 : PIC_INIT_DONE;
		break;
	case PIC_INIT_ICW4:
		c->auto_eoi = val & ICW4_AEOI;
		c->sfnm = val & ICW4_SFNM;
		if (!(val & ICW4_UPM))
			pr_debug("pic: ICW4 8080 mode ignored\n");
		c->init_state = PIC_INIT_DONE;
		break;
	default:
		c->imr = val;
		break;
	}
}

static u8 pic_poll_read(struct pic *pic, enum pic_chip_id id)
{
	struct pic_chip *c = &pic->chip[id];
	int irq = chip_pending(c, id);

	c->poll = false;
	/* Datasheet: bit 7 set if there is an interrupt, bits 2-0 its IR. */
	if (irq < 0)
		return 0;
	chip_intack(c, irq);
	if (id == PIC_SLAVE) {
		/*
		 * The request that raised the master's IR2 has been consumed
		 * by software without a master INTA cycle; do not leave it
		 * latched there to come back as a spurious IRQ15.
		 */
		pic->chip[PIC_MASTER].irr &= ~(1u << PIC_CASCADE_IRQ);
		pic_slave_acked(pic);
	}
	return 0x80 | irq;
}

static u8 pic_chip_read(struct pic *pic, enum pic_chip_id id, u64 port)
{
	const struct pic_chip *c = &pic->chip[id];

	if (c->poll)
		return pic_poll_read(pic, id);
	if (port == 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void pic_chip_write(struct pic *pic, enum pic_chip_id id, u64 port,
			   u8 val)
{
	struct pic_chip *c = &pic->chip[id];

	if (port == 1)
		chip_write_data(c, val);
	else if (val & ICW1_INIT)
		chip_write_icw1(c, val);
	else if (val & OCW3_SEL)
		chip_write_ocw3(c, val);
	else
		chip_write_ocw2(c, val);
}

static void pic_elcr_write(struct pic *pic, enum pic_chip_id id, u8 val)
{
	struct pic_chip *c = &pic->chip[id];
	u8 now_level;

	val &= elcr_writable[id];
	/* Inputs that became level-triggered request iff their line is high. */
	now_level = val & ~c->elcr;
	c->irr = (c->irr & ~now_level) | (c->line & now_level);
	c->elcr = val;
}

enum pic_port_group {
	PIC_PORTS_MASTER,
	PIC_PORTS_SLAVE,
	PIC_PORTS_ELCR,
};

/*
 * The registers are 8 bits wide.  A wider access is split into byte
 * accesses to consecutive ports, as the ISA bus (and QEMU) does; bytes
 * beyond the pair of ports read as an open bus and are dropped on writes.
 */
static int pic_io(struct pic *pic, enum pic_port_group group, u64 offset,
		  u8 *data, u32 len, bool is_write)
{
	u32 i;

	for (i = 0; i < len; i++) {
		u64 port = offset + i;

		if (port >= PIC_NR_PORTS) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (group == PIC_PORTS_ELCR) {
			enum pic_chip_id id = port ? PIC_SLAVE : PIC_MASTER;

			if (is_write)
				pic_elcr_write(pic, id, data[i]);
			else
				data[i] = pic->chip[id].elcr;
		} else {
			enum pic_chip_id id = group == PIC_PORTS_SLAVE ?
					      PIC_SLAVE : PIC_MASTER;

			if (is_write)
				pic_chip_write(pic, id, port, data[i]);
			else
				data[i] = pic_chip_read(pic, id, port);
		}
		pic_update(pic);
	}
	return 0;
}

static int pic_master_io(void *opaque, u64 offset, u8 *data, u32 len,
			 bool is_write)
{
	return pic_io(opaque, PIC_PORTS_MASTER, offset, data, len, is_write);
}

static int pic_slave_io(void *opaque, u64 offset, u8 *data, u32 len,
			bool is_write)
{
	return pic_io(opaque, PIC_PORTS_SLAVE, offset, data, len, is_write);
}

static int pic_elcr_io(void *opaque, u64 offset, u8 *data, u32 len,
		       bool is_write)
{
	return pic_io(opaque, PIC_PORTS_ELCR, offset, data, len, is_write);
}

void pic__init(struct pic *pic)
{
	unsigned int i;

	memset(pic, 0, sizeof(*pic));
	for (i = 0; i < PIC_NR_CHIPS; i++) {
		struct pic_chip *c = &pic->chip[i];

		/*
		 * The 8259A is undefined until ICW1.  With no BIOS to program
		 * it, start masked so that nothing is delivered at vectors
		 * 0-7 before the guest sets a base, and ready for OCW1 (Linux
		 * probes for a PIC by writing and reading back the IMR).
		 */
		c->imr = 0xff;
		c->init_state = PIC_INIT_DONE;
	}
	pic->chip[PIC_MASTER].icw3 = 1u << PIC_CASCADE_IRQ;
	pic->chip[PIC_SLAVE].icw3 = PIC_CASCADE_IRQ;
}

int pic__register(struct pic *pic, struct bus *bus)
{
	int ret;

	ret = bus__register(bus, BUS_PIO, PIC_MASTER_PORT, PIC_NR_PORTS,
			    pic_master_io, pic, "pic-master");
	if (ret)
		return ret;
	ret = bus__register(bus, BUS_PIO, PIC_SLAVE_PORT, PIC_NR_PORTS,
			    pic_slave_io, pic, "pic-slave");
	if (ret)
		return ret;
	return bus__register(bus, BUS_PIO, PIC_ELCR_PORT, PIC_NR_PORTS,
			     pic_elcr_io, pic, "elcr");
}

void pic__set_irq(void *opaque, unsigned int irq, int level)
{
	struct pic *pic = opaque;

	/*
	 * The cascade input belongs to the slave.  Either case is a wiring
	 * bug in the VMM, not something the guest can cause.
	 */
	if (irq >= PIC_NR_IRQS || irq == PIC_CASCADE_IRQ) {
		pr_warn("pic: no such input IRQ %u\n", irq);
		return;
	}
	chip_set_line(&pic->chip[irq / 8], irq % 8, level);
	pic_update(pic);
}

bool pic__has_interrupt(const struct pic *pic)
{
	return chip_pending(&pic->chip[PIC_MASTER], PIC_MASTER) >= 0;
}

int pic__ack(struct pic *pic)
{
	struct pic_chip *master = &pic->chip[PIC_MASTER];
	struct pic_chip *slave = &pic->chip[PIC_SLAVE];
	int irq, slave_irq;
	int vector;

	irq = chip_pending(master, PIC_MASTER);
	if (irq < 0) {
		/* The request went away: IR7, nothing put in service. */
		return master->base + PIC_SPURIOUS_IRQ;
	}
	chip_intack(master, irq);
	if (!master_cascades(master, irq)) {
		vector = master->base + irq;
	} else {
		/*
		 * The master has committed to IR2 and put it in service; the
		 * slave supplies the vector, IR7 if its request is gone.
		 */
		slave_irq = chip_pending(slave, PIC_SLAVE);
		if (slave_irq < 0) {
			vector = slave->base + PIC_SPURIOUS_IRQ;
		} else {
			chip_intack(slave, slave_irq);
			vector = slave->base + slave_irq;
		}
		pic_slave_acked(pic);
	}
	pic_update(pic);
	return vector;
}

void pic__dump(const struct pic *pic, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < PIC_NR_CHIPS && off < len; i++) {
		const struct pic_chip *c = &pic->chip[i];
		int n;

		/* Lines are separated, not terminated: callers add their own. */
		n = snprintf(buf + off, len - off,
			     "%spic %-6s: IRR=%02x ISR=%02x IMR=%02x line=%02x "
			     "base=%02x ELCR=%02x prio=%u icw=%u%s%s%s%s%s",
			     i ? "\n" : "",
			     chip_name[i], c->irr, c->isr, c->imr, c->line,
			     c->base, c->elcr, c->highest_prio, c->init_state,
			     c->auto_eoi ? " aeoi" : "",
			     c->rotate_auto_eoi ? " rot-aeoi" : "",
			     c->sfnm ? " sfnm" : "",
			     c->special_mask ? " smm" : "",
			     c->poll ? " poll" : "");
		if (n < 0)
			break;
		off += (size_t)n;
	}
}
