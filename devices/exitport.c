// SPDX-License-Identifier: Apache-2.0
/* The test exit port (see exitport.h). */
#include "exitport.h"

#include <string.h>

void exitport__init(struct exitport *ep, void (*exit_fn)(void *ctx, int code),
		    void *ctx)
{
	ep->exit = exit_fn;
	ep->ctx = ctx;
}

static int exitport_io(void *opaque, u64 offset, u8 *data, u32 len,
		       bool is_write)
{
	struct exitport *ep = opaque;

	if (!is_write) {
		/* Reads identify the port to a curious guest. */
		memset(data, 0, len);
		data[0] = 0x4d; /* 'M' */
		return 0;
	}
	if (offset == 0 && ep->exit)
		ep->exit(ep->ctx, data[0]);
	return 0;
}

int exitport__register(struct exitport *ep, struct bus *bus)
{
	return bus__register(bus, BUS_PIO, EXITPORT_PORT, 4, exitport_io, ep,
			     "exit-port");
}
