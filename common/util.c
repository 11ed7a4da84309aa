// SPDX-License-Identifier: Apache-2.0
/* Logging, size parsing and I/O helpers shared by every module. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int verbose;

void util__set_verbose(int level)
{
	verbose = level;
}

int util__get_verbose(void)
{
	return verbose;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
	__printf(2, 0);

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "microvm: %s", prefix);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	/*
	 * One write per message so that a line is never interleaved with
	 * guest serial output written by the vCPU thread.  "\r\n" because the
	 * terminal may be in raw mode while the guest runs.
	 */
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > (int)sizeof(buf) - 3)
		n = sizeof(buf) - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	util__write_full(STDERR_FILENO, buf, n);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	if (verbose < 0)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void pr_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbose < 1)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}

int util__parse_size(const char *s, u64 *out)
{
	unsigned long long v;
	u64 mult = 1;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = KiB;
		break;
	case 'M':
		mult = MiB;
		break;
	case 'G':
		mult = GiB;
		break;
	case 'T':
		mult = 1024 * GiB;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		/* Accept "256M", "256MB" and "256MiB". */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

ssize_t util__read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += r;
	}
	return done;
}

/* at < 0: write(2) at the file offset; else pwrite(2) at `at`. */
static ssize_t util_write_all(int fd, const void *buf, size_t len, off_t at)
{
	size_t done = 0;

	while (done < len) {
		const char *p = (const char *)buf + done;
		ssize_t r = at < 0 ? write(fd, p, len - done) :
				     pwrite(fd, p, len - done, at + (off_t)done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* A regular file that takes nothing: full disk, not a loop. */
		if (r == 0)
			return -ENOSPC;
		done += r;
	}
	return done;
}

ssize_t util__write_full(int fd, const void *buf, size_t len)
{
	return util_write_all(fd, buf, len, -1);
}

ssize_t util__write_full_at(int fd, const void *buf, size_t len, off_t at)
{
	return util_write_all(fd, buf, len, at);
}

u64 util__host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}
