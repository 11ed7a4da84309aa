// SPDX-License-Identifier: Apache-2.0
/*
 * The smallest end-to-end check of the boot path: serial output works and
 * the loader filled in the zero page's command line pointer.
 */
#include "rt.h"

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst) */
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_CMD_LINE_PTR		0x228

int main(const void *zero_page)
{
	const uint8_t *zp = zero_page;
	uint64_t ptr;

	rt_puts("Hello from microvm test guest\n");

	ptr = *(const uint32_t *)(zp + BP_CMD_LINE_PTR) |
	      (uint64_t)*(const uint32_t *)(zp + BP_EXT_CMD_LINE_PTR) << 32;
	rt_printf("cmdline: %s\n", ptr ? (const char *)ptr : "");
	return 0;
}
