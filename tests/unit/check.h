/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_CHECK_H
#define MICROVM_CHECK_H

/*
 * A minimal unit-test harness: each test is a function, CHECK* record a
 * failure with file and line and keep going, RUN() runs one test, and
 * check_summary() prints "N passed, N failed" and gives main's exit code.
 */
#include <inttypes.h>
#include <stdio.h>

static int check_failures;
static int check_tests_passed;
static int check_tests_failed;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",        \
				__FILE__, __LINE__, #cond);                \
			check_failures++;                                  \
		}                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);           \
		if (_a != _b) {                                            \
			fprintf(stderr,                                    \
				"%s:%d: %s == %s failed: 0x%" PRIx64       \
				" != 0x%" PRIx64 "\n",                     \
				__FILE__, __LINE__, #a, #b, _a, _b);       \
			check_failures++;                                  \
		}                                                          \
	} while (0)

#define RUN(test)                                                          \
	do {                                                               \
		int _before = check_failures;                              \
		test();                                                    \
		if (check_failures == _before) {                           \
			check_tests_passed++;                              \
		} else {                                                   \
			check_tests_failed++;                              \
			fprintf(stderr, "FAIL %s\n", #test);               \
		}                                                          \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_tests_passed,
	       check_tests_failed);
	return check_tests_failed ? 1 : 0;
}

#endif
