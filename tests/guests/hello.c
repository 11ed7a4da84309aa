// SPDX-License-Identifier: Apache-2.0
/*
 * The smallest end-to-end check of the boot path: serial output works and
 * the loader filled in the zero page's command line pointer.
 */
#include "rt.h"

int main(const void *zero_page)
{
	rt_puts("Hello from microvm test guest\n");
	rt_printf("cmdline: %s\n", rt_cmdline(zero_page));
	return 0;
}
