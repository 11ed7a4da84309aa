/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_UTIL_H
#define MICROVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define NSEC_PER_SEC 1000000000ULL

#if defined(__GNUC__)
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __noreturn __attribute__((noreturn))
#define __maybe_unused __attribute__((unused))
#else
#define __printf(a, b)
#define __noreturn
#define __maybe_unused
#endif

/*
 * Messages go to stderr so that the guest's serial console owns stdout.
 * They restore the terminal first (see console.c) when it is in raw mode,
 * because a message printed in raw mode has no carriage returns.
 */
void pr_err(const char *fmt, ...) __printf(1, 2);
void pr_warn(const char *fmt, ...) __printf(1, 2);
void pr_info(const char *fmt, ...) __printf(1, 2);
void pr_debug(const char *fmt, ...) __printf(1, 2);
void util__set_verbose(int level);
int util__get_verbose(void);

/*
 * Parse a size such as "256M", "1G", "4096", "64k".  Returns 0 on success,
 * -EINVAL on syntax errors, -ERANGE on overflow.
 */
int util__parse_size(const char *s, u64 *out);

/* Full read/write helpers that retry on EINTR and short transfers. */
ssize_t util__read_full(int fd, void *buf, size_t len);
ssize_t util__write_full(int fd, const void *buf, size_t len);
/* pwrite(2) all of buf at offset at; -errno. */
ssize_t util__write_full_at(int fd, const void *buf, size_t len, off_t at);

/* Monotonic host time in nanoseconds. */
u64 util__host_ns(void);

#endif
