// SPDX-License-Identifier: Apache-2.0
/*
 * Disk images (see disk.h): opening, locking and sizing an image, the
 * synchronous request path every engine shares, and the bookkeeping around
 * submission and completion that replay relies on (ids in submission
 * order, every completion through the disk's input source).
 */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const engine_names[] = {
	[DISK_ENGINE_AUTO] = "auto",
	[DISK_ENGINE_SYNC] = "sync",
	[DISK_ENGINE_URING] = "uring",
	[DISK_ENGINE_THREADS] = "threads",
};

int disk__parse_engine(const char *s, enum disk_engine_kind *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(engine_names); i++) {
		if (!strcmp(s, engine_names[i])) {
			*out = (enum disk_engine_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *disk__engine_name(const struct disk *d)
{
	return d->ops ? d->ops->name : "none";
}

static bool disk_op_writes(enum disk_op op)
{
	return op == DISK_WRITE || op == DISK_DISCARD ||
	       op == DISK_WRITE_ZEROES;
}

/* ---- The synchronous path ---- */

s64 disk__rw_from(struct disk *d, struct disk_req *req, u64 done)
{
	bool write = req->op == DISK_WRITE;
	u8 *buf = req->buf;

	while (done < req->len) {
		off_t pos = (off_t)(req->offset + done);
		size_t len = (size_t)(req->len - done);
		ssize_t n;

		n = write ? pwrite(d->fd, buf + done, len, pos) :
			    pread(d->fd, buf + done, len, pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/*
		 * The device checked the bounds, so end of file cannot happen
		 * unless the image shrank under us: an I/O error, not a loop.
		 */
		if (n == 0)
			return -EIO;
		done += (u64)n;
	}
	return (s64)done;
}

static int disk_fallocate(struct disk *d, int mode, u64 offset, u64 len)
{
	while (fallocate(d->fd, mode, (off_t)offset, (off_t)len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* The last resort for WRITE_ZEROES: write them. */
static int disk_write_zeroes_slow(struct disk *d, u64 offset, u64 len)
{
	static const char zeroes[64 * KiB];

	while (len) {
		size_t n = (size_t)MIN(len, sizeof(zeroes));
		ssize_t r = util__write_full_at(d->fd, zeroes, n, (off_t)offset);

		if (r < 0)
			return (int)r;
		offset += n;
		len -= n;
	}
	return 0;
}

/* fallocate() modes a filesystem may not implement. */
static bool disk_unsupported(int err)
{
	return err == -EOPNOTSUPP || err == -ENOSYS || err == -EINVAL;
}

static s64 disk_execute_op(struct disk *d, struct disk_req *req)
{
	int ret;

	if (d->ro && disk_op_writes(req->op))
		return -EROFS;

	switch (req->op) {
	case DISK_READ:
	case DISK_WRITE:
		return disk__rw_from(d, req, 0);
	case DISK_FLUSH:
		return fdatasync(d->fd) < 0 ? -errno : 0;
	case DISK_DISCARD:
		/*
		 * Discard is advisory (the guest may not assume anything
		 * about the contents unless it negotiated otherwise), so a
		 * filesystem that cannot punch holes succeeds by doing
		 * nothing, as QEMU and Firecracker do.
		 */
		ret = disk_fallocate(d, FALLOC_FL_PUNCH_HOLE |
				     FALLOC_FL_KEEP_SIZE,
				     req->offset, req->len);
		return disk_unsupported(ret) ? 0 : ret;
	case DISK_WRITE_ZEROES:
		/*
		 * Best first: ZERO_RANGE keeps the blocks allocated; a hole
		 * reads back as zeroes too; writing zeroes always works.
		 */
		ret = disk_fallocate(d, DISK_FALLOC_ZERO_RANGE |
				     FALLOC_FL_KEEP_SIZE,
				     req->offset, req->len);
		if (disk_unsupported(ret))
			ret = disk_fallocate(d, FALLOC_FL_PUNCH_HOLE |
					     FALLOC_FL_KEEP_SIZE,
					     req->offset, req->len);
		if (disk_unsupported(ret))
			ret = disk_write_zeroes_slow(d, req->offset, req->len);
		return ret;
	}
	return -EINVAL;
}

s64 disk__execute(struct disk *d, struct disk_req *req)
{
	req->result = disk_execute_op(d, req);
	return req->result;
}

/* ---- Submission and completion ---- */

/*
 * Defence in depth: the device validates requests against the guest's
 * view, but a request past the end of the image would grow a regular file
 * (or fail on a block device), so the disk layer refuses it itself.
 */
static int disk_check(const struct disk *d, const struct disk_req *req)
{
	switch (req->op) {
	case DISK_FLUSH:
		return 0;
	case DISK_READ:
	case DISK_WRITE:
		if (!req->buf && req->len)
			return -EINVAL;
		break;
	case DISK_DISCARD:
	case DISK_WRITE_ZEROES:
		break;
	default:
		return -EINVAL;
	}
	if (req->offset > d->size || req->len > d->size - req->offset)
		return -EINVAL;
	if (d->ro && disk_op_writes(req->op))
		return -EROFS;
	return 0;
}

int disk__submit(struct disk *d, struct disk_req *req)
{
	int ret;

	if (d->inflight >= DISK_MAX_INFLIGHT)
		return -EBUSY;
	req->disk = d;
	req->id = d->next_id++;
	req->result = 0;
	req->iov.iov_base = req->buf;
	req->iov.iov_len = req->len;
	d->inflight++;
	if (d->on_submit)
		d->on_submit(d->on_submit_ctx, req);

	ret = disk_check(d, req);
	if (ret) {
		/* Refused, but answered like any other: through the queue. */
		req->result = ret;
		disk__post_done(req);
		return 0;
	}
	d->ops->submit(d, req);
	return 0;
}

void disk__post_done(struct disk_req *req)
{
	struct event ev = {
		.src = &req->disk->src,
		.arg = req->id,
		.ptr = req,
	};

	evq__post(req->disk->evq, &ev);
}

/* The disk's release callback: the vCPU loop says the device may act. */
static void disk_release(void *ctx, const struct event *ev)
{
	struct disk *d = ctx;

	if (!d->inflight) {
		pr_err("disk %s: completion of request %llu that is not in flight",
		       d->path, (unsigned long long)ev->arg);
		return;
	}
	d->inflight--;
	/*
	 * A request from before a device reset: the device has forgotten
	 * it and may have reused its memory, so only the id is looked at.
	 */
	if (ev->arg < d->forgotten_below)
		return;
	if (d->on_complete)
		d->on_complete(d->on_complete_ctx, ev->ptr);
}

void disk__forget_all(struct disk *d)
{
	if (d->ops && d->inflight)
		d->ops->drain(d, true);
	d->forgotten_below = d->next_id;
}

/* ---- Opening an image ---- */

static int disk_open_error(const char *path, bool ro, int err)
{
	switch (err) {
	case ENOENT:
		pr_err("disk %s: no such file; create the image first (e.g. truncate -s 1G %s, or mkfs.ext4 on it) or fix the path",
		       path, path);
		break;
	case EACCES:
	case EPERM:
		if (ro)
			pr_err("disk %s: permission denied; make it readable by this user (chmod/chown) or run microvm as a user that can read it",
			       path);
		else
			pr_err("disk %s: permission denied for read-write access; make it writable by this user, or attach it read-only with --disk %s,ro",
			       path, path);
		break;
	case EROFS:
		pr_err("disk %s is on a read-only filesystem; attach it read-only with --disk %s,ro",
		       path, path);
		break;
	case EISDIR:
		pr_err("disk %s is a directory; --disk needs a raw image file or a block device",
		       path);
		break;
	case ETXTBSY:
	case EBUSY:
		pr_err("disk %s is busy (in use by the system); pick another image",
		       path);
		break;
	default:
		pr_err("disk %s: cannot open: %s", path, strerror(err));
		break;
	}
	return -err;
}

/*
 * Take the advisory lock that keeps two VMMs from writing one image.  An
 * OFD lock (not a classic POSIX lock) because it belongs to this open file
 * description: closing another descriptor of the same file in this process
 * does not drop it, and it does not leak across fork.  The whole file is
 * locked, which also conflicts with the byte-range locks QEMU takes on
 * images it opens, so microvm and QEMU keep each other off a shared image.
 */
static int disk_lock(struct disk *d)
{
	struct flock fl = {
		.l_type = d->ro ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,
	};

	if (fcntl(d->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		if (d->ro)
			pr_err("disk %s is in use by another process (locked for writing); stop the VM that writes to it before attaching it read-only",
			       d->path);
		else
			pr_err("disk %s is in use by another process (locked); stop the other VM using it, or give each VM its own copy (attach it with ,ro everywhere if no one needs to write)",
			       d->path);
		return -EBUSY;
	}
	/* Filesystems without lock support (some network ones): go on. */
	pr_warn("disk %s: cannot lock the image (%s); nothing stops another process from opening it too",
		d->path, strerror(errno));
	return 0;
}

static int disk_size(struct disk *d)
{
	struct stat st;

	if (fstat(d->fd, &st) < 0) {
		pr_err("disk %s: fstat: %s", d->path, strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode))
		return disk_open_error(d->path, d->ro, EISDIR);
	if (S_ISREG(st.st_mode)) {
		d->size = (u64)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
			pr_err("disk %s: BLKGETSIZE64: %s", d->path,
			       strerror(errno));
			return -errno;
		}
	} else {
		pr_err("disk %s is neither a regular file nor a block device; --disk needs a raw image",
		       d->path);
		return -EINVAL;
	}

	if (!d->size) {
		pr_err("disk %s is empty (0 bytes); give it a size first, e.g. truncate -s 64M %s",
		       d->path, d->path);
		return -EINVAL;
	}
	/*
	 * Refuse rather than round down: the guest addresses whole sectors,
	 * so a tail would silently vanish, and an odd size usually means the
	 * wrong file (not a raw image) was given.
	 */
	if (d->size % DISK_SECTOR) {
		pr_err("disk %s: size %llu bytes is not a multiple of %u; a raw image holds whole sectors (pad it: truncate -s %%%u %s)",
		       d->path, (unsigned long long)d->size, DISK_SECTOR,
		       DISK_SECTOR, d->path);
		return -EINVAL;
	}
	return 0;
}

static const char *disk_uring_why(int err)
{
	switch (err) {
	case ENOSYS:
		return "io_uring_setup: not implemented (kernel older than 5.1 or built without io_uring, or a seccomp filter hides it)";
	case EPERM:
	case EACCES:
		return "io_uring_setup: not permitted (sysctl kernel.io_uring_disabled, or a seccomp/container policy forbids it)";
	case ENOMEM:
		return "io_uring_setup: out of memory (on kernels before 5.12 raise the locked-memory limit, ulimit -l)";
	case EINVAL:
		return "io_uring: this kernel lacks features the engine needs";
	default:
		return strerror(err);
	}
}

static int disk_engine_init(struct disk *d, enum disk_engine_kind kind)
{
	int ret;

	switch (kind) {
	case DISK_ENGINE_SYNC:
		d->ops = &disk_sync_ops;
		break;
	case DISK_ENGINE_THREADS:
		d->ops = &disk_threads_ops;
		break;
	case DISK_ENGINE_URING:
		d->ops = &disk_uring_ops;
		ret = d->ops->init(d);
		if (ret) {
			pr_err("disk %s: io_uring engine unavailable: %s; use --disk %s,engine=threads (or engine=auto)",
			       d->path, disk_uring_why(-ret), d->path);
			d->ops = NULL;
		}
		return ret;
	case DISK_ENGINE_AUTO:
		d->ops = &disk_uring_ops;
		ret = d->ops->init(d);
		if (!ret)
			return 0;
		pr_info("disk %s: io_uring unavailable (%s); using the thread-pool engine",
			d->path, disk_uring_why(-ret));
		d->ops = &disk_threads_ops;
		break;
	default:
		return -EINVAL;
	}
	ret = d->ops->init(d);
	if (ret) {
		pr_err("disk %s: cannot start the %s engine: %s", d->path,
		       d->ops->name, strerror(-ret));
		d->ops = NULL;
	}
	return ret;
}

int disk__open(struct disk *d, const char *path, bool ro,
	       enum disk_engine_kind engine, struct evq *evq)
{
	size_t len = strlen(path);
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = d->base_fd = -1;
	d->ro = ro;
	d->evq = evq;
	d->logical_block = DISK_SECTOR;
	d->src = (struct evq_source){
		.name = "disk",
		.release = disk_release,
		.ctx = d,
		.quota = DISK_MAX_INFLIGHT,
	};
	if (!len || len >= sizeof(d->path)) {
		pr_err("disk path '%.64s%s' is %s", path, len > 64 ? "..." : "",
		       len ? "too long" : "empty");
		return -ENAMETOOLONG;
	}
	memcpy(d->path, path, len + 1);

	d->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0)
		return disk_open_error(path, ro, errno);
	ret = disk_size(d);
	if (!ret)
		ret = disk_lock(d);
	if (!ret) {
		ret = evq__add_source(evq, &d->src);
		if (ret)
			pr_err("disk %s: cannot register its completions: %s",
			       path, strerror(-ret));
		d->src_added = !ret;
	}
	if (!ret)
		ret = disk_engine_init(d, engine);
	if (ret) {
		disk__close(d);	/* drops the OFD lock with the fd */
		return ret;
	}
	pr_debug("disk %s: %llu bytes%s, %s engine", d->path,
		 (unsigned long long)d->size, ro ? ", read-only" : "",
		 d->ops->name);
	return 0;
}

/*
 * Copy [*pos, end) from in to out, in the kernel where it can
 * (copy_file_range: reflinks on btrfs and xfs), else through a buffer
 * (another filesystem: EXDEV, or 9p and friends: EOPNOTSUPP).
 */
static int disk_copy_range(int in, int out, off_t *pos, off_t end)
{
	static char buf[1 << 20];
	off_t from = *pos;
	int ret;
	ssize_t n = copy_file_range(in, &from, out, pos, (size_t)(end - *pos), 0);

	if (n > 0)
		return 0;
	if (n < 0 && errno == EINTR)
		return 0;
	if (n == 0 || (errno != EXDEV && errno != EOPNOTSUPP &&
		       errno != ENOSYS && errno != EINVAL))
		return n < 0 ? -errno : -EIO;
	n = pread(in, buf, (size_t)MIN((off_t)sizeof(buf), end - *pos), *pos);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	ret = (int)util__write_full_at(out, buf, (size_t)n, *pos);
	if (ret < 0)
		return ret;
	*pos += n;
	return 0;
}

/* Copy len bytes from in to out, keeping holes (regular files). */
static int disk_copy(int in, int out, u64 len)
{
	off_t pos = 0;

	while ((u64)pos < len) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0)
			break;	/* ENXIO: only a hole is left */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = (off_t)len;
		pos = data;
		while (pos < hole) {
			int ret = disk_copy_range(in, out, &pos, hole);

			if (ret)
				return ret;
		}
	}
	return ftruncate(out, (off_t)len) < 0 ? -errno : 0;
}

int disk__snapshot(struct disk *d)
{
	const char *dir = getenv("TMPDIR");
	int fd, ret;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_err("disk %s: cannot create a snapshot in %s: %s (set TMPDIR to a writable directory with room for the image)",
		       d->path, dir, strerror(errno));
		return -errno;
	}
	ret = disk_copy(d->fd, fd, d->size);
	if (ret) {
		pr_err("disk %s: cannot copy it into a snapshot in %s: %s",
		       d->path, dir, strerror(-ret));
		close(fd);
		return ret;
	}
	/* The image stays open (and read-locked) so nobody writes it meanwhile. */
	d->base_fd = d->fd;
	d->fd = fd;
	d->ro = false;
	pr_debug("disk %s: the guest writes a temporary copy in %s", d->path,
		 dir);
	return 0;
}

void disk__close(struct disk *d)
{
	if (d->ops) {
		if (d->inflight)
			pr_err("disk %s: closed with %llu requests in flight",
			       d->path, (unsigned long long)d->inflight);
		d->ops->exit(d);
		d->ops = NULL;
	}
	if (d->src_added) {
		evq__remove_source(d->evq, &d->src);
		d->src_added = false;
	}
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	if (d->base_fd >= 0) {
		close(d->base_fd);
		d->base_fd = -1;
	}
}
