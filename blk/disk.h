/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_DISK_H
#define MICROVM_DISK_H

#include <sys/uio.h>

#include "../vmm/evq.h"
#include "../vmm/util.h"

/*
 * Disk images and the engines that do their I/O, behind one interface
 * (as Firecracker's block engines): submitting a request either executes
 * it at once (DISK_EXECUTED: the result is in req->result) or submits it
 * (DISK_SUBMITTED): its completion is later posted to the event queue as
 * EV_BLK_DONE with ev.ptr = req, and the device acts on it only when the
 * vCPU loop pops that event (DESIGN.md: the one door).
 *
 * Engines: sync (pread/pwrite in the caller), uring (io_uring through raw
 * system calls, a reaper thread posts completions) and threads (a pool of
 * worker threads, for hosts where io_uring is missing or forbidden).
 */

#define DISK_SECTOR 512
#define DISK_MAX_IOV 1024

enum disk_op {
	DISK_READ,
	DISK_WRITE,
	DISK_FLUSH,		/* durable: fdatasync */
	DISK_DISCARD,		/* punch a hole; reads of it return zeroes */
	DISK_WRITE_ZEROES,
};

enum disk_engine_kind {
	DISK_ENGINE_AUTO,	/* uring, else threads */
	DISK_ENGINE_SYNC,
	DISK_ENGINE_URING,
	DISK_ENGINE_THREADS,
};

enum disk_submit_result {
	DISK_EXECUTED,
	DISK_SUBMITTED,
};

struct disk;

struct disk_req {
	enum disk_op op;
	u64 offset;		/* bytes */
	u64 len;		/* bytes; for READ/WRITE the iovec total */
	struct iovec *iov;	/* guest RAM, checked by the device */
	unsigned int iovcnt;
	s64 result;		/* bytes done, or -errno */
	u64 id;			/* submission order, for replay */
	void *owner;		/* the device's request */
	struct disk *disk;
};

struct disk_engine_ops {
	const char *name;
	int (*init)(struct disk *d);
	/* Returns DISK_EXECUTED or DISK_SUBMITTED, or -errno if it cannot try. */
	int (*submit)(struct disk *d, struct disk_req *req);
	/*
	 * Wait until every submitted request has completed and its event is
	 * posted (or, with cancel, cancel what has not started).  Used at exit
	 * so nothing acknowledged to the guest is lost.
	 */
	void (*drain)(struct disk *d, bool cancel);
	void (*exit)(struct disk *d);
};

struct disk {
	char path[4096];
	int fd;
	bool ro;
	u64 size;		/* bytes */
	u32 logical_block;	/* 512 */
	struct evq *evq;
	const struct disk_engine_ops *ops;
	void *engine;		/* engine state */
	u64 next_id;
	u64 inflight;		/* submitted, not yet popped by the vCPU */
	/* Called (vCPU thread) by disk__completed(); set by the device. */
	void (*on_complete)(void *ctx, struct disk_req *req);
	void *on_complete_ctx;
};

/*
 * Open an image: regular file or block device, read-write unless ro,
 * locked against other writers (an OFD lock, as QEMU does: exclusive for
 * read-write, shared for read-only).  Prints one clear message and returns
 * -errno on failure (missing, unreadable, locked, empty...).
 */
int disk__open(struct disk *d, const char *path, bool ro,
	       enum disk_engine_kind engine, struct evq *evq);
/* Hand a request to the engine; see enum disk_submit_result. */
int disk__submit(struct disk *d, struct disk_req *req);
/*
 * The vCPU loop popped this request's EV_BLK_DONE: account for it and
 * hand it to the device's on_complete.
 */
void disk__completed(struct disk_req *req);
/* Wait for every submitted request to complete and be posted. */
void disk__drain(struct disk *d);
void disk__close(struct disk *d);
const char *disk__engine_name(const struct disk *d);
/* Parse "auto", "sync", "uring", "threads". */
int disk__parse_engine(const char *s, enum disk_engine_kind *out);

/* Synchronous execution of one request; the engines share it. */
s64 disk__execute(struct disk *d, struct disk_req *req);

#endif
