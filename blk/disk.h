/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_DISK_H
#define MICROVM_DISK_H

#include <sys/uio.h>

#include "../common/evq.h"
#include "../common/util.h"

/*
 * Disk images and the engines that do their I/O, behind one interface (as
 * Firecracker's block engines).  Every request completes the same way,
 * whatever the engine and whatever the host does: its completion is
 * posted to the event queue through the disk's own input source, and the
 * device acts on it only when the vCPU loop releases that event
 * (DESIGN.md: the one door).  Even the sync engine, which runs a request
 * to completion inside disk__submit(), posts it: whether a completion is
 * immediate or queued never depends on the host.
 *
 * Requests carry host buffers (blk/bounce.h), never pointers into guest
 * RAM, so engine threads cannot change guest memory at a moment of their
 * choosing.
 *
 * Engines: sync (pread/pwrite in the caller), uring (io_uring through raw
 * system calls, a reaper thread posts completions) and threads (a pool of
 * worker threads, for hosts where io_uring is missing or forbidden).
 */

#define DISK_SECTOR 512
/*
 * Requests in flight per disk, at most: the event queue reserves this
 * many completions for each disk, so an engine thread never blocks
 * posting one.  A virtio-blk queue has at most this many heads.
 */
#define DISK_MAX_INFLIGHT 256

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

struct disk;

struct disk_req {
	enum disk_op op;
	u64 offset;		/* bytes */
	u64 len;		/* bytes */
	void *buf;		/* READ/WRITE: len bytes of host memory */
	struct iovec iov;	/* { buf, len }, for engines that want iovecs */
	s64 result;		/* see disk__execute() */
	u64 id;			/* submission order, for replay */
	void *owner;		/* the device's request */
	struct disk *disk;
	u8 engine_tries;	/* the engine's own: resubmissions so far */
};

struct disk_engine_ops {
	const char *name;
	int (*init)(struct disk *d);
	/*
	 * Take the request: its completion (req->result set) is posted with
	 * disk__post_done() exactly once, from any thread, possibly before
	 * submit returns.  An engine that cannot queue it runs it itself.
	 */
	void (*submit)(struct disk *d, struct disk_req *req);
	/*
	 * Wait until every submitted request has been posted.  With cancel,
	 * requests not yet started are posted with -ECANCELED instead of
	 * being run.  Never blocks on the event queue (see DISK_MAX_INFLIGHT).
	 */
	void (*drain)(struct disk *d, bool cancel);
	void (*exit)(struct disk *d);
};

struct disk {
	char path[4096];
	int fd;
	int base_fd;		/* a snapshot's image, kept for its lock */
	bool ro;
	u64 size;		/* bytes */
	u32 logical_block;	/* 512 */
	struct evq *evq;
	struct evq_source src;	/* completions */
	bool src_added;
	const struct disk_engine_ops *ops;
	void *engine;		/* engine state */
	u64 next_id;
	u64 forgotten_below;	/* ids below this were cancelled by a reset */
	u64 inflight;		/* submitted, completion not yet released */
	/* Called (vCPU thread) when a completion is released. */
	void (*on_complete)(void *ctx, struct disk_req *req);
	void *on_complete_ctx;
	/* Optional (vCPU thread): a request got its id (the replay core). */
	void (*on_submit)(void *ctx, const struct disk_req *req);
	void *on_submit_ctx;
};

/*
 * Open an image: regular file or block device, read-write unless ro,
 * locked against other writers (an OFD lock, as QEMU does: exclusive for
 * read-write, shared for read-only).  Prints one clear message and returns
 * -errno on failure (missing, unreadable, locked, empty...).
 */
int disk__open(struct disk *d, const char *path, bool ro,
	       enum disk_engine_kind engine, struct evq *evq);
/*
 * Hand a request to the engine (vCPU thread).  Its completion always
 * comes back through the event queue, also for a request refused here
 * (out of bounds, write to a read-only image).  -EBUSY, and nothing
 * posted, when DISK_MAX_INFLIGHT requests are already in flight: the
 * device must bound what it submits.
 */
int disk__submit(struct disk *d, struct disk_req *req);
/*
 * Right after a read-only disk__open(): the guest gets a writable
 * temporary copy of the image (unlinked, in $TMPDIR), the image itself
 * stays as it is and read-locked (QEMU's -snapshot).  -errno, said.
 */
int disk__snapshot(struct disk *d);
/*
 * Forget every request in flight (a device reset): cancel what has not
 * started, wait for the rest, and drop their completions when they are
 * released, without touching the requests, whose memory the device may
 * reuse as soon as this returns.  vCPU thread.
 */
void disk__forget_all(struct disk *d);
/*
 * Stop the engine, close the image and drop its lock.  Safe after a
 * failed disk__open().  Nothing may be in flight (d->inflight == 0):
 * release every completion first.
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

/* Any thread: post req's completion (req->result already set). */
void disk__post_done(struct disk_req *req);
/*
 * Finish a READ or WRITE synchronously from byte `done` of the request
 * onwards: the engines use it for short transfers.  Returns the total
 * (req->len) or -errno; does not set req->result.
 */
s64 disk__rw_from(struct disk *d, struct disk_req *req, u64 done);

#endif
