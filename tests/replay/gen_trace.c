// SPDX-License-Identifier: Apache-2.0
/*
 * Record a scripted run (script.c) to a file: the real traces the CLI test
 * and the fuzz corpus use.
 *   gen_trace FILE [EXITS [FLUSH_EVENTS [SEED]]]
 */
#include <stdio.h>
#include <stdlib.h>

#include "script.h"

int main(int argc, char **argv)
{
	struct script s;
	enum replay_status st;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: %s FILE [EXITS [FLUSH_EVENTS [SEED]]]\n", argv[0]);
		return 2;
	}
	script__init(&s, REPLAY_RECORD, argv[1],
		     argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 1000);
	if (argc > 3)
		s.flush_events = (unsigned int)strtoul(argv[3], NULL, 0);
	if (argc > 4)
		s.seed = s.host_seed = strtoull(argv[4], NULL, 0);
	st = script__run(&s);
	if (st != REPLAY_OK)
		fprintf(stderr, "gen_trace: %s\n", replay__report(s.r));
	script__free(&s);
	return st == REPLAY_OK ? 0 : 1;
}
