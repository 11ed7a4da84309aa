// SPDX-License-Identifier: Apache-2.0
/*
 * Halting with interrupts disabled is how Linux powers off a machine that
 * has no ACPI: microvm must treat it as a power-off and exit 0.
 */
#include "rt.h"

int main(const void *zero_page)
{
	(void)zero_page;
	rt_puts("poweroff: cli; hlt\n");
	__asm__ volatile("cli; hlt");
	rt_puts("poweroff: woke up\n");
	return 1;
}
