// SPDX-License-Identifier: Apache-2.0
/*
 * An invalid opcode must reach the guest's own #UD handler (the VMM must
 * not treat it as an emulation failure), which reports it and exits 106.
 */
#include "rt.h"

int main(const void *zero_page)
{
	(void)zero_page;
	rt_puts("fault: executing ud2\n");
	__asm__ volatile("ud2");
	rt_puts("fault: ud2 did not fault\n");
	return 1;
}
