// SPDX-License-Identifier: Apache-2.0
/*
 * blktool: a tiny static helper for microvm's Linux test guest (built by
 * build.sh with musl-gcc -static and installed as /bin/blktool in the
 * initramfs).  It also runs on the host, where the tests use it to produce
 * the same deterministic data the guest wrote.
 *
 *   blktool pattern BYTES SEED
 *       Writes BYTES bytes of deterministic pseudo-random data (xorshift64*
 *       seeded with SEED) to stdout; every 8-byte word differs, so a block
 *       written to the wrong place or lost is caught by a checksum.
 *   blktool seqread DEVICE MIB [BS_KIB]
 *       Reads MIB MiB from the start of DEVICE with O_DIRECT in BS_KIB
 *       (default 1024) KiB requests; prints elapsed time and MB/s.
 *   blktool randread DEVICE COUNT [BS_KIB [SEED]]
 *       COUNT O_DIRECT preads of BS_KIB (default 4) KiB at random aligned
 *       offsets over the whole device; prints elapsed time and IOPS.
 *   blktool time NAME BYTES COMMAND [ARG...]
 *       Runs COMMAND, waits for it, prints its elapsed time and BYTES/time
 *       as MB/s under NAME (busybox dd prints no timing); exits with the
 *       command's status.
 *
 * Times are CLOCK_MONOTONIC in the guest.  Output lines start with
 * "BLKTOOL " followed by key=value pairs, for scripts to parse.
 * Exit status: 0 ok, 1 I/O or usage error (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

static uint64_t xs_state;

static uint64_t xs_next(void)
{
	uint64_t x = xs_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	xs_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void xs_seed(uint64_t seed)
{
	/* splitmix64 so that small seeds still give a non-zero state */
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	xs_state = (z ^ (z >> 31)) | 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t parse_u64(const char *what, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "blktool: bad %s '%s' (want a number)\n", what, s);
		exit(1);
	}
	return v;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmd_pattern(uint64_t bytes, uint64_t seed)
{
	static uint64_t buf[8192]; /* 64 KiB */

	xs_seed(seed);
	while (bytes) {
		size_t chunk = bytes < sizeof(buf) ? (size_t)bytes : sizeof(buf);

		for (size_t i = 0; i < (chunk + 7) / 8; i++)
			buf[i] = xs_next();
		if (write_all(1, buf, chunk)) {
			perror("blktool: pattern: write");
			return 1;
		}
		bytes -= chunk;
	}
	return 0;
}

static int open_direct(const char *dev, uint64_t *size)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	struct stat st;

	if (fd < 0) {
		fprintf(stderr, "blktool: open %s (O_DIRECT): %s\n", dev, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (ioctl(fd, BLKGETSIZE64, size) != 0) {
		fprintf(stderr, "blktool: BLKGETSIZE64 %s: %s\n", dev, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void *alloc_buf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len) != 0) {
		fprintf(stderr, "blktool: cannot allocate %zu bytes\n", len);
		exit(1);
	}
	memset(p, 0, len);
	return p;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off, const char *dev)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n != (ssize_t)len) {
		fprintf(stderr, "blktool: pread %s at %" PRIu64 " (%zu bytes): %s\n", dev, off,
			len, n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	return 0;
}

static int cmd_seqread(const char *dev, uint64_t mib, uint64_t bs_kib)
{
	uint64_t size, total = mib << 20, bs = bs_kib << 10, done = 0;
	int fd = open_direct(dev, &size);
	double t0, t1;
	void *buf;

	if (fd < 0)
		return 1;
	if (bs == 0 || total > size) {
		fprintf(stderr, "blktool: seqread: %" PRIu64 " MiB in %" PRIu64
			" KiB requests does not fit %s (%" PRIu64 " bytes)\n", mib, bs_kib, dev, size);
		return 1;
	}
	buf = alloc_buf((size_t)bs);
	t0 = now_s();
	while (done < total) {
		size_t len = (size_t)(total - done < bs ? total - done : bs);

		if (read_at(fd, buf, len, done, dev))
			return 1;
		done += len;
	}
	t1 = now_s();
	printf("BLKTOOL seqread bytes=%" PRIu64 " bs=%" PRIu64 " elapsed_s=%.3f MBps=%.2f\n",
	       total, bs, t1 - t0, t1 > t0 ? (double)total / 1e6 / (t1 - t0) : 0.0);
	close(fd);
	return 0;
}

static int cmd_randread(const char *dev, uint64_t count, uint64_t bs_kib, uint64_t seed)
{
	uint64_t size, bs = bs_kib << 10, blocks;
	int fd = open_direct(dev, &size);
	double t0, t1;
	void *buf;

	if (fd < 0)
		return 1;
	if (bs == 0 || size < bs) {
		fprintf(stderr, "blktool: randread: device %s (%" PRIu64 " bytes) smaller than %" PRIu64
			" KiB\n", dev, size, bs_kib);
		return 1;
	}
	blocks = size / bs;
	buf = alloc_buf((size_t)bs);
	xs_seed(seed);
	t0 = now_s();
	for (uint64_t i = 0; i < count; i++) {
		if (read_at(fd, buf, (size_t)bs, (xs_next() % blocks) * bs, dev))
			return 1;
	}
	t1 = now_s();
	printf("BLKTOOL randread count=%" PRIu64 " bs=%" PRIu64 " elapsed_s=%.3f iops=%.1f MBps=%.3f\n",
	       count, bs, t1 - t0, t1 > t0 ? (double)count / (t1 - t0) : 0.0,
	       t1 > t0 ? (double)(count * bs) / 1e6 / (t1 - t0) : 0.0);
	close(fd);
	return 0;
}

static int cmd_time(const char *name, uint64_t bytes, char **argv)
{
	double t0 = now_s(), t1;
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("blktool: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "blktool: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("blktool: waitpid");
			return 1;
		}
	}
	t1 = now_s();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "blktool: %s failed (status 0x%x)\n", argv[0], (unsigned)status);
		return 1;
	}
	printf("BLKTOOL %s bytes=%" PRIu64 " elapsed_s=%.3f MBps=%.2f\n", name, bytes, t1 - t0,
	       t1 > t0 ? (double)bytes / 1e6 / (t1 - t0) : 0.0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: blktool pattern BYTES SEED\n"
			"       blktool seqread DEVICE MIB [BS_KIB]\n"
			"       blktool randread DEVICE COUNT [BS_KIB [SEED]]\n"
			"       blktool time NAME BYTES COMMAND [ARG...]\n");
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "pattern"))
		return cmd_pattern(parse_u64("byte count", argv[2]), parse_u64("seed", argv[3]));
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "seqread"))
		return cmd_seqread(argv[2], parse_u64("MiB", argv[3]),
				   argc > 4 ? parse_u64("block size", argv[4]) : 1024);
	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "randread"))
		return cmd_randread(argv[2], parse_u64("count", argv[3]),
				    argc > 4 ? parse_u64("block size", argv[4]) : 4,
				    argc > 5 ? parse_u64("seed", argv[5]) : 1);
	if (argc >= 5 && !strcmp(argv[1], "time"))
		return cmd_time(argv[2], parse_u64("byte count", argv[3]), argv + 4);
	usage();
	return 1;
}
