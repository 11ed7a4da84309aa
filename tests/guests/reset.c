// SPDX-License-Identifier: Apache-2.0
/*
 * The i8042 reset (command 0xFE on port 0x64, as Linux's reboot=k does):
 * microvm ends the VM as a reboot, exit status 0.
 */
#include "rt.h"

int main(const void *zero_page)
{
	int i;

	(void)zero_page;
	rt_puts("reset: pulsing the i8042 reset line\n");
	/* Wait for the input buffer to be empty, as kb_wait() does. */
	for (i = 0; i < 1000 && (inb(0x64) & 0x02); i++)
		;
	outb(0x64, 0xfe);
	rt_puts("reset: still running\n");
	return 1;
}
