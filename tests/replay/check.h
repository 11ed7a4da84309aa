/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_REPLAY_CHECK_H
#define MICROVM_REPLAY_CHECK_H

/*
 * The replay tests' check: counts every check and every failure, prints
 * a failed one with its condition and a printf-style explanation, and
 * goes on (the summary at the end decides the exit code).
 */
#include <stdio.h>

static unsigned int checks, failures;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		checks++;                                                  \
		if (!(cond)) {                                             \
			failures++;                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,      \
				__LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
		}                                                          \
	} while (0)

#endif
