// SPDX-License-Identifier: Apache-2.0
/* i8042 controller: probe answers and the reset line (see i8042.h). */
#include "i8042.h"

#include <string.h>

#define I8042_DATA 0x60
#define I8042_CMD 0x64

#define STS_OBF 0x01	/* output buffer full */
#define STS_SYS 0x04	/* system flag: POST passed */
#define STS_CMD 0x08	/* last write was to the command port */

#define CMD_READ_CB 0x20
#define CMD_WRITE_CB 0x60
#define CMD_DISABLE_AUX 0xa7
#define CMD_ENABLE_AUX 0xa8
#define CMD_TEST_AUX 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_TEST_KBD 0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD 0xae
#define CMD_READ_OUT 0xd0
#define CMD_WRITE_OUT 0xd1
#define CMD_RESET 0xfe

void i8042__init(struct i8042 *kbc, void (*reset)(void *ctx), void *ctx)
{
	memset(kbc, 0, sizeof(*kbc));
	/* Translation on, both ports' interrupts off, as firmware leaves it. */
	kbc->cmd_byte = 0x40 | STS_SYS;
	kbc->out_port = 0x01;	/* reset line not asserted */
	kbc->reset = reset;
	kbc->reset_ctx = ctx;
}

static void i8042_reply(struct i8042 *kbc, u8 val)
{
	kbc->out_buf = val;
	kbc->out_full = true;
}

static void i8042_pulse_reset(struct i8042 *kbc)
{
	if (kbc->reset)
		kbc->reset(kbc->reset_ctx);
}

static void i8042_command(struct i8042 *kbc, u8 cmd)
{
	switch (cmd) {
	case CMD_READ_CB:
		i8042_reply(kbc, kbc->cmd_byte);
		break;
	case CMD_WRITE_CB:
	case CMD_WRITE_OUT:
		kbc->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		i8042_reply(kbc, 0x55);
		break;
	case CMD_TEST_KBD:
	case CMD_TEST_AUX:
		/* "Interface OK": there simply is nothing plugged in. */
		i8042_reply(kbc, 0x00);
		break;
	case CMD_READ_OUT:
		i8042_reply(kbc, kbc->out_port);
		break;
	case CMD_DISABLE_KBD:
		kbc->cmd_byte |= 0x10;
		break;
	case CMD_ENABLE_KBD:
		kbc->cmd_byte &= ~0x10;
		break;
	case CMD_DISABLE_AUX:
		kbc->cmd_byte |= 0x20;
		break;
	case CMD_ENABLE_AUX:
		kbc->cmd_byte &= ~0x20;
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 of the mask is reset. */
		if (cmd >= 0xf0 && !(cmd & 0x01))
			i8042_pulse_reset(kbc);
		break;
	}
}

static void i8042_data_write(struct i8042 *kbc, u8 val)
{
	u8 cmd = kbc->pending_cmd;

	kbc->pending_cmd = 0;
	if (cmd == CMD_WRITE_CB) {
		kbc->cmd_byte = val;
	} else if (cmd == CMD_WRITE_OUT) {
		kbc->out_port = val;
		if (!(val & 0x01))
			i8042_pulse_reset(kbc);
	} else {
		/* A byte for the keyboard: none is attached, answer nothing. */
	}
}

static int i8042_io_data(void *opaque, u64 offset __maybe_unused, u8 *data,
			 u32 len, bool is_write)
{
	struct i8042 *kbc = opaque;

	if (is_write) {
		i8042_data_write(kbc, data[0]);
		return 0;
	}
	memset(data, 0, len);
	data[0] = kbc->out_buf;
	kbc->out_full = false;
	return 0;
}

static int i8042_io_cmd(void *opaque, u64 offset __maybe_unused, u8 *data, u32 len,
			bool is_write)
{
	struct i8042 *kbc = opaque;

	if (is_write) {
		i8042_command(kbc, data[0]);
		return 0;
	}
	memset(data, 0, len);
	data[0] = (kbc->out_full ? STS_OBF : 0) | STS_SYS |
		  (kbc->pending_cmd ? STS_CMD : 0);
	return 0;
}

int i8042__register(struct i8042 *kbc, struct bus *bus)
{
	/* Two single ports: 0x61 in between belongs to the PIT (port B). */
	int ret = bus__register(bus, BUS_PIO, I8042_DATA, 1, i8042_io_data,
				kbc, "i8042");

	if (ret)
		return ret;
	return bus__register(bus, BUS_PIO, I8042_CMD, 1, i8042_io_cmd, kbc,
			     "i8042");
}
