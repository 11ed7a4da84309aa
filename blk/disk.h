/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_DISK_H
#define MICROVM_DISK_H

#include <sys/uio.h>

#include "../common/evq.h"
#include "../common/util.h"

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
	s64 result;		/* see disk__execute() */
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
	 * posted (or, with cancel, cancel what has not started: it is still
	 * posted, with -ECANCELED).  Used at exit so nothing acknowledged to
	 * the guest is lost.  Engine threads block in evq__post() while the
	 * queue is full, so the queue must have room for what is in flight
	 * (or another thread must pop it) during a drain.
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
	u64 inflight;		/* DISK_SUBMITTED, not yet disk__completed() */
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
/*
 * Wait for every submitted request to complete and be posted (see
 * disk_engine_ops.drain for the event queue's room).  vCPU thread.
 */
void disk__drain(struct disk *d);
/*
 * Drain (cancelling what has not started), stop the engine, close the
 * image and drop its lock.  Safe after a failed disk__open().  Events
 * already posted still point at their requests: pop them first.
 */
void disk__close(struct disk *d);
const char *disk__engine_name(const struct disk *d);
/* Parse "auto", "sync", "uring", "threads". */
int disk__parse_engine(const char *s, enum disk_engine_kind *out);

/*
 * Synchronous execution of one request; the engines share it.  Sets and
 * returns req->result: READ/WRITE the bytes transferred (always req->len
 * on success), FLUSH/DISCARD/WRITE_ZEROES 0, or -errno (EIO, ENOSPC,
 * EROFS for a write to a read-only disk...), which the device reports as
 * an error for that request alone.
 */
s64 disk__execute(struct disk *d, struct disk_req *req);

/*
 * ---- Internal: shared by disk.c and the engines (disk_*.c) only. ----
 */
extern const struct disk_engine_ops disk_sync_ops;
extern const struct disk_engine_ops disk_uring_ops;
extern const struct disk_engine_ops disk_threads_ops;

/* fallocate(2)'s FALLOC_FL_ZERO_RANGE (kernel ABI; musl lacks the name). */
#define DISK_FALLOC_ZERO_RANGE 0x10

/* Any thread: post EV_BLK_DONE for req (req->result already set). */
void disk__post_done(struct disk_req *req);
/*
 * Finish a READ or WRITE synchronously from byte `done` of the request
 * onwards: the engines use it for short transfers.  Returns the total
 * (req->len) or -errno; does not set req->result.
 */
s64 disk__rw_from(struct disk *d, struct disk_req *req, u64 done);

#endif
