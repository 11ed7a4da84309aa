/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_TEST_REPLAY_REWRITE_H
#define MICROVM_TEST_REPLAY_REWRITE_H

/*
 * Rewrite a trace through the public header: read every event, let the
 * caller edit the list, then record it again by driving a second core
 * with exits, inputs, clock values and submissions exactly where the
 * (edited) events say.  The tests use it to make traces that differ from
 * what the guest will do in one chosen way.
 */
#include "microvm/replay.h"

struct rewrite {
	struct replay_machine machine;
	struct replay_source_info src[64];
	unsigned int nsrc;
	struct replay_event *ev;
	unsigned int nev;
	uint64_t checkpoint_every;
	unsigned int flush_events;
};

/* Returns 0, or -1 (with a message on stderr). */
int rewrite__load(struct rewrite *rw, const char *path);
int rewrite__save(struct rewrite *rw, const char *path);
void rewrite__free(struct rewrite *rw);

#endif
