// SPDX-License-Identifier: Apache-2.0
/* The status written to the exit port must become microvm's exit status. */
#include "rt.h"

int main(const void *zero_page)
{
	(void)zero_page;
	rt_puts("exit-code: exiting with 42\n");
	return 42;
}
