// SPDX-License-Identifier: Apache-2.0
/*
 * The synchronous engine: every request runs to completion in the caller
 * (the vCPU thread) and its completion is posted at once, so completion
 * order is submission order and there is nothing to drain; it is the
 * reference the asynchronous engines are tested against, and the choice
 * for debugging.  The guest still learns of the completion only when the
 * loop releases it, as with every engine.
 */
#include "disk.h"

static int disk_sync_init(struct disk *d __maybe_unused)
{
	return 0;
}

static void disk_sync_submit(struct disk *d, struct disk_req *req)
{
	disk__execute(d, req);
	disk__post_done(req);
}

static void disk_sync_drain(struct disk *d __maybe_unused,
			    bool cancel __maybe_unused)
{
}

static void disk_sync_exit(struct disk *d __maybe_unused)
{
}

const struct disk_engine_ops disk_sync_ops = {
	.name = "sync",
	.init = disk_sync_init,
	.submit = disk_sync_submit,
	.drain = disk_sync_drain,
	.exit = disk_sync_exit,
};
