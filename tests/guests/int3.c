// SPDX-License-Identifier: Apache-2.0
/*
 * INT3 must raise #BP in the guest (vector 3) with RIP after the
 * instruction, whether the host executes it or microvm completes it
 * (quirks.c): the runtime's exception stub reports it and exits 103.
 */
#include "rt.h"

int main(const void *zero_page)
{
	(void)zero_page;
	rt_puts("int3: executing int3\n");
	__asm__ volatile("int3");
	rt_puts("int3: no #BP\n");
	return 1;
}
