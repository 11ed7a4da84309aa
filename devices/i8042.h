/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_I8042_H
#define MICROVM_I8042_H

#include "bus.h"

/*
 * Just enough of the i8042 keyboard controller for Linux to probe it (and
 * find no keyboard) and for the classic reset: command 0xFE on port 0x64,
 * or clearing bit 0 of the output port, pulses the CPU reset line, which
 * ends the VM as a guest reboot.
 */
struct i8042 {
	u8 cmd_byte;	/* controller configuration byte */
	u8 out_port;
	u8 pending_cmd;	/* command awaiting its data byte on port 0x60 */
	u8 out_buf;	/* byte the guest reads from port 0x60 */
	bool out_full;
	void (*reset)(void *ctx);
	void *reset_ctx;
};

void i8042__init(struct i8042 *kbc, void (*reset)(void *ctx), void *ctx);
int i8042__register(struct i8042 *kbc, struct bus *bus);

#endif
