/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_PIC_H
#define MICROVM_PIC_H

#include "../common/util.h"
#include "bus.h"

/*
 * The PC's cascaded pair of 8259A programmable interrupt controllers (the
 * slave's INT output drives the master's IR2) and the PIIX edge/level
 * control registers (ELCR) that replace the 8259A's global LTIM bit.
 *
 * Devices drive input lines with pic__set_irq() (normally through a
 * struct irq_line); the vCPU loop asks pic__has_interrupt() whether the
 * master's INTR output is asserted and, once the guest can take an
 * interrupt, runs the INTA cycle with pic__ack() to get the vector.
 *
 * Edge-triggered requests are latched in IRR on the rising edge and held
 * until acknowledged, even if the line falls again first (as QEMU and KVM
 * do), so a short pulse is never lost.  A level-triggered request (ELCR bit
 * set) follows its line: if it goes away before the INTA cycle, the guest
 * sees the spurious vector, as on hardware.
 *
 * All state is plain data so that it can be snapshotted and compared.
 */

#define PIC_MASTER_PORT		0x20
#define PIC_SLAVE_PORT		0xa0
#define PIC_ELCR_PORT		0x4d0
#define PIC_NR_PORTS		2

#define PIC_NR_IRQS		16
/* The master input wired to the slave's INT output. */
#define PIC_CASCADE_IRQ		2
/* The input a spurious acknowledge reports, on either chip. */
#define PIC_SPURIOUS_IRQ	7

enum pic_chip_id {
	PIC_MASTER,
	PIC_SLAVE,
	PIC_NR_CHIPS,
};

/* Which initialization command word the chip expects next on its A0=1 port. */
enum pic_init_state {
	PIC_INIT_DONE,
	PIC_INIT_ICW2,
	PIC_INIT_ICW3,
	PIC_INIT_ICW4,
};

struct pic_chip {
	u8 irr;			/* interrupt request register */
	u8 isr;			/* in-service register */
	u8 imr;			/* interrupt mask register (OCW1) */
	u8 line;		/* current level of the IR inputs */
	u8 elcr;		/* inputs that are level-triggered (PIIX ELCR) */
	u8 base;		/* vector of IR0 (ICW2, bits 7-3) */
	u8 icw3;		/* master: inputs with a slave; slave: its id */
	u8 highest_prio;	/* the IR with the highest priority (rotation) */
	u8 init_state;		/* enum pic_init_state */
	bool need_icw4;		/* ICW1 IC4 */
	bool single;		/* ICW1 SNGL: no cascade, no ICW3 */
	bool auto_eoi;		/* ICW4 AEOI */
	bool sfnm;		/* ICW4 special fully nested mode */
	bool rotate_auto_eoi;	/* OCW2 rotate in automatic EOI mode */
	bool special_mask;	/* OCW3 special mask mode */
	bool poll;		/* OCW3 poll command: next read is an INTA */
	bool read_isr;		/* OCW3 RIS: A0=0 reads ISR, not IRR */
};

struct pic {
	struct pic_chip chip[PIC_NR_CHIPS];
};

/*
 * Power-on state.  Nothing is deliverable until the guest programs the
 * chips: all inputs start masked, all edge-triggered.
 */
void pic__init(struct pic *pic);

/*
 * Claim ports 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1.  Returns 0 or
 * bus__register's negative errno.
 */
int pic__register(struct pic *pic, struct bus *bus);

/*
 * Drive input irq (0-15; 2 is the cascade and cannot be driven) to level.
 * The signature matches struct irq_line's set_level, with ctx a struct pic.
 */
void pic__set_irq(void *pic, unsigned int irq, int level);

/* Is the master's INTR output asserted? */
bool pic__has_interrupt(const struct pic *pic);

/*
 * The INTA cycle: returns the vector to inject and moves the request into
 * service.  If the request went away since pic__has_interrupt() said yes,
 * returns the spurious vector (IR7 of the chip that lost it) without setting
 * that chip's ISR bit; for a slave spurious the master's IR2 is in service.
 */
int pic__ack(struct pic *pic);

/* One line per chip (IRR/ISR/IMR/base/ELCR, modes) for crash reports. */
void pic__dump(const struct pic *pic, char *buf, size_t len);

#endif
