/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_TEST_REPLAY_SCRIPT_H
#define MICROVM_TEST_REPLAY_SCRIPT_H

/*
 * A scripted VMM that drives the replay core through its public header
 * only, with a synthetic guest instead of KVM.  The guest is a pure
 * function of its state: how many instructions run before the next
 * synchronous exit, their rips (which repeat, as loops do) and digests,
 * and what each exit does (read the PIT or RTC, submit a disk request,
 * write to the console, halt) all follow from it; every applied input is
 * mixed into the state.  So an input applied anywhere else, or with
 * another payload, sends the guest elsewhere, as a real one would.
 *
 * The host side (recording only) is a second random stream: disk
 * completions after a random number of exits, console bytes, timer
 * expiries, and kicks that stop the guest at a random instruction to
 * deliver them there (an asynchronous position).
 */
#include <stdbool.h>
#include <stdint.h>

#include "microvm/replay.h"

enum script_src {
	SRC_DISK,	/* completions: id, status, bytes, hash */
	SRC_DISK_SUB,	/* submissions: id, op, sector, len */
	SRC_SERIAL,	/* console input bytes */
	SRC_TIMER,	/* timer expiry: virtual now */
	SRC_PIT,	/* clock reads */
	SRC_RTC,
	SRC_NR,
};

struct script_applied {
	struct replay_pos pos;
	enum script_src src;
	struct replay_payload p;
};

struct script_req {
	uint64_t sector, len, op;
	uint64_t due;		/* record: completes at this exit */
	bool done;
};

#define SCRIPT_REQS_MAX 8192

struct script {
	/* configuration */
	enum replay_mode mode;
	const char *path;
	uint64_t seed;		/* the guest's */
	uint64_t host_seed;	/* the host's (record) */
	unsigned int exits;	/* synchronous exits before power-off */
	unsigned int flush_events;
	uint64_t checkpoint_every;
	uint64_t image_seed;	/* what the disk holds */
	const char *blocker;	/* register a source that cannot be replayed */
	/* core */
	struct replay *r;
	struct replay_source *src[SRC_NR];
	struct replay_machine machine;
	/* guest */
	uint64_t state, serial_hash;
	uint64_t rip, digest;	/* the current instruction */
	uint64_t done;		/* synchronous exits so far */
	bool halted;
	struct script_req req[SCRIPT_REQS_MAX];
	unsigned int nreq;
	/* host */
	uint64_t host_rng, host_time, vtime;
	/* what was applied, where */
	struct script_applied *log;
	unsigned int nlog, caplog;
	unsigned int counts[SRC_NR];
	int start_ret;
	struct replay_source_ops blocked_ops;
};

/* Run the whole script (start, loop, finish).  Returns replay__status(). */
enum replay_status script__run(struct script *s);
void script__free(struct script *s);
/* A default configuration: record or replay of `path`. */
void script__init(struct script *s, enum replay_mode mode, const char *path,
		  unsigned int exits);

#endif
