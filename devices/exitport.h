/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_EXITPORT_H
#define MICROVM_EXITPORT_H

#include "bus.h"

/*
 * The test exit port: a guest writes a byte N to port 0x501 and microvm
 * exits with status N.  Test guests use it to report pass (0) or failure;
 * a write of any width (outb/outw/outl) uses its low byte, since exit
 * statuses are 8 bits.
 */
#define EXITPORT_PORT 0x501

struct exitport {
	void (*exit)(void *ctx, int code);
	void *ctx;
};

void exitport__init(struct exitport *ep, void (*exit_fn)(void *ctx, int code),
		    void *ctx);
int exitport__register(struct exitport *ep, struct bus *bus);

#endif
