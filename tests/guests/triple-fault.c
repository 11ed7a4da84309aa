// SPDX-License-Identifier: Apache-2.0
/*
 * With an empty IDT an exception cannot be delivered: #UD becomes #DF
 * becomes a triple fault.  microvm must stop with exit status 3 and a
 * report naming the triple fault, with the registers and the bytes at RIP.
 */
#include "rt.h"

int main(const void *zero_page)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	(void)zero_page;
	rt_puts("triple-fault: loading an empty IDT, then ud2\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	rt_puts("triple-fault: still running\n");
	return 1;
}
