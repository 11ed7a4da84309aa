/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_IRQ_H
#define MICROVM_IRQ_H

/*
 * An interrupt line from a device to an interrupt controller.  Devices hold
 * one of these instead of a pointer to the PIC so that they can be unit
 * tested alone and so that the controller can change (an I/O APIC later)
 * without touching device code.
 */
struct irq_line {
	void (*set_level)(void *ctx, unsigned int irq, int level);
	void *ctx;
	unsigned int irq;
};

static inline void irq_line__set(const struct irq_line *l, int level)
{
	if (l && l->set_level)
		l->set_level(l->ctx, l->irq, level);
}

/* An edge: for edge-triggered lines (PIT channel 0) a low-high transition. */
static inline void irq_line__pulse(const struct irq_line *l)
{
	irq_line__set(l, 0);
	irq_line__set(l, 1);
}

#endif
