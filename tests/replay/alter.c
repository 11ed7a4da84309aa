// SPDX-License-Identifier: Apache-2.0
/*
 * trace-alter IN OUT SOURCE N DELTA
 *
 * Copy a trace with one event changed: the N-th event (from 0) of input
 * source SOURCE gets DELTA added to its first field.  The replay tests
 * use it on real recordings to check that a replay of an altered trace
 * is reported as diverged, never as identical, and never hangs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

int main(int argc, char **argv)
{
	struct rewrite rw;
	unsigned long long n, seen = 0;
	long long delta;
	unsigned int i;
	int ret = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: trace-alter IN OUT SOURCE N DELTA\n");
		return 2;
	}
	n = strtoull(argv[4], NULL, 0);
	delta = strtoll(argv[5], NULL, 0);
	if (rewrite__load(&rw, argv[1]))
		return 1;
	for (i = 0; i < rw.nev; i++) {
		struct replay_event *ev = &rw.ev[i];

		if ((ev->type != REPLAY_EV_INPUT && ev->type != REPLAY_EV_CLOCK) ||
		    ev->source >= rw.nsrc || strcmp(rw.src[ev->source].name, argv[3]))
			continue;
		if (seen++ == n) {
			ev->p.v[0] += (uint64_t)delta;
			printf("trace-alter: event #%llu (%s) field %s += %lld\n",
			       (unsigned long long)ev->index, argv[3],
			       rw.src[ev->source].field[0], delta);
			ret = rewrite__save(&rw, argv[2]) ? 1 : 0;
			break;
		}
	}
	if (i == rw.nev)
		fprintf(stderr, "trace-alter: %s has %llu events of source %s, not %llu\n",
			argv[1], seen, argv[3], n + 1);
	rewrite__free(&rw);
	return ret;
}
