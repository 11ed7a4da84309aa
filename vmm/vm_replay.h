/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VM_REPLAY_H
#define MICROVM_VM_REPLAY_H

#include "microvm/replay.h"

#include "../blk/disk.h"
#include "../common/evq.h"

/*
 * microvm's side of the replay core (replay/): its input sources, the
 * machine description a trace carries, the state digests, and the policy
 * of the exit-pinned backend.  The run loop makes the same calls in every
 * mode; with replay off they cost a load and a branch.
 *
 * Sources:
 *  - "clock": every guest-visible read of the virtual clock (PIT counters
 *    and deadlines, RTC, timer expiries are all functions of it);
 *  - "com1": console input (stdin bytes, end of input, Ctrl-A x);
 *  - "vdX" and "vdX.submit" per disk: completions (request id, result,
 *    hash of the data read) and submissions (id, op, sector, length).
 * The timer thread's wake-ups and quit signals are not inputs: the clock
 * reads say what time it is, and a signal ends the recording.
 *
 * Exit-pinned: inputs take effect at guest-synchronous exits; an
 * asynchronous exit (a kick) is re-entered at once, unless the guest has
 * run without exits for a while with a timer or disk input due: then the
 * input goes in where the host stopped it, logged with RIP and a digest
 * of the registers and of the memory written since the previous such
 * position, and replay finds that spot again with a breakpoint search
 * (pin_search.c).
 */
struct vm;

struct vm_replay_disk {
	struct vm *vm;
	struct disk *disk;
	struct replay_source *done, *submit;
	/* The disk's own release, wrapped by ours. */
	void (*release)(void *ctx, const struct event *ev);
	void *release_ctx;
	struct event live;	/* record: the completion being logged */
	/* Replay: completions the host finished, until the trace wants them. */
	struct event held[DISK_MAX_INFLIGHT];
	bool have[DISK_MAX_INFLIGHT];
	char name[8];
	char subname[16];
};

struct vm_replay {
	struct replay *r;
	enum replay_mode mode;
	const char *path;
	struct replay_source *clock, *com1;
	struct replay_source *tsc, *rand;	/* exact backends: emulated values */
	void (*con_release)(void *ctx, const struct event *ev);
	void *con_ctx;
	struct vm_replay_disk disks[8];
	unsigned int ndisks;
	u64 serial_hash;	/* everything the guest wrote to COM1 */
	bool interrupted;	/* stopped by the user, not by the guest */
	bool located;		/* a digest was taken at this stop */
	bool refused;		/* replay: an asynchronous position not found */
	bool found;		/* replay: one was, the digest counts anew */
	u64 *written, *dirty;	/* pages the guest wrote since the anchor */
	u64 *base;		/* each page's content hash at the anchor */
	u64 *cur;		/* a written page's hash at the last fetch */
	u64 mem_digest;		/* the written pages' part, kept up to date */
	size_t bitmap_bytes;
	bool ended;		/* replay: the recording's end reached */
	/* Replay on a terminal: a progress line on stderr. */
	bool progress;
	u64 trace_size, exits_seen, progress_ns, start_ns;
};

struct vm_config;
/*
 * --replay: the machine from the trace's description, into cfg (what the
 * user gave again, a kernel or disks at new paths, is kept).  -errno,
 * with the reason said.
 */
int vm_replay__load_config(const char *path, struct vm_config *cfg);
/* Sources and the trace's start: after the devices and disks exist. */
int vm_replay__start(struct vm *vm);
/* Right after KVM_RUN: false when the run loop must stop. */
bool vm_replay__exit(struct vm *vm, bool sync);
/* After the queue was released at a synchronous exit: false to stop. */
bool vm_replay__release(struct vm *vm);
/* After the inputs due at a stop went in, before the guest runs on. */
void vm_replay__delivered(struct vm *vm);
/* Replay: before KVM_RUN, arm the search for an asynchronous position. */
void vm_replay__before_run(struct vm *vm);
/* Replay, at a breakpoint hit: is this the recorded position? */
bool vm_replay__at_target(struct vm *vm);
/* Replay: false once diverged or at the end of the recording. */
bool vm_replay__continues(struct vm *vm);
/* Replay stopped: why, for the run loop's message. */
const char *vm_replay__why(struct vm *vm);
/* Recording: no page written since the last asynchronous stop? */
bool vm_replay__mem_unchanged(struct vm *vm);
/* Recording: is an input waiting that a spinning guest may need now? */
bool vm_replay__urgent(struct vm *vm);
/* HLT with interrupts on: 1 an input is due, 0 wait for the host, -1 stop. */
int vm_replay__idle(struct vm *vm);
/* Replay, at a single-step stop: is an event recorded right here? */
bool vm_replay__due(struct vm *vm);
/*
 * A host-derived value the single-step backend emulates (RDTSC, RDRAND):
 * logged when recording, the recorded one when replaying, `live` when off.
 */
enum vm_replay_value { VM_REPLAY_TSC, VM_REPLAY_RAND };
u64 vm_replay__value(struct vm *vm, enum vm_replay_value which, u64 live);
/* Bytes the guest wrote to its console (the serial digest). */
void vm_replay__tx(struct vm *vm, const u8 *buf, size_t len);
/*
 * Replay, at exit: hand the completions the trace never asked for to
 * their devices, so that the disks' requests are accounted for (the
 * guest does not run again).
 */
void vm_replay__flush_held(struct vm *vm);
/* The guest or the user stopped: the verdict; returns the exit status. */
int vm_replay__finish(struct vm *vm, int code);
void vm_replay__free(struct vm *vm);

#endif
