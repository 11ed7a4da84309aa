/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_REPLAY_H
#define MICROVM_REPLAY_H

/*
 * The replay core: the one door every nondeterministic input of a VMM goes
 * through.  While recording it writes a trace (docs/trace-format.md); while
 * replaying it re-imposes the trace and says precisely where the guest went
 * its own way; with replay off it costs one load and one branch per call.
 *
 * This is the only header a VMM includes.  docs/embedding.md shows the
 * whole integration.  Every call is made from the vCPU thread: host threads
 * queue their inputs in the VMM, which hands them over at an exit.
 *
 * The core knows inputs only as registered sources (a name, a payload
 * schema and an apply callback); it never knows what a disk is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- Modes, verdicts, exit codes ---------------------------------------- */

enum replay_mode {
	REPLAY_OFF,
	REPLAY_RECORD,
	REPLAY_REPLAY,
};

/* replay__status(): sticky, the first one that is not REPLAY_OK wins. */
enum replay_status {
	REPLAY_OK,		/* so far identical (or recording fine) */
	REPLAY_DIVERGED,	/* the replay went its own way: see the report */
	REPLAY_UNREADABLE,	/* the trace is corrupt (bad CRC, bad encoding) */
	REPLAY_FAILED,		/* recording stopped (write error); trace kept */
	/*
	 * Replay: the trace ends without its END record (the recording was
	 * killed) and everything up to its last event was identical; the
	 * guest is stopped there, since nothing says what came next.
	 */
	REPLAY_INCOMPLETE,
};

/*
 * Process exit codes for a replay (replay__exit_code()).  microvm itself
 * uses 0 (power-off), 1 (setup), 2 (usage), 3 (guest died), 128+N.
 */
#define REPLAY_EXIT_IDENTICAL	0
#define REPLAY_EXIT_UNREADABLE	1
#define REPLAY_EXIT_DIVERGED	4
#define REPLAY_EXIT_REC_FAILED	5
/*
 * `trace verify` of a trace that is intact but has no END record, and a
 * replay of one that was identical up to its last event.
 */
#define REPLAY_EXIT_INCOMPLETE	6

/* ---- Positions ---------------------------------------------------------- */

enum replay_backend {
	REPLAY_BACKEND_EXIT = 1,	/* exit-pinned: everywhere, full speed */
	REPLAY_BACKEND_STEP = 2,	/* single-step: exact, slow */
	REPLAY_BACKEND_PMU = 3,		/* PMU branch counter + single-step */
};

/*
 * Where in the guest's execution an input takes effect.  One type for
 * every backend:
 * - exits: guest-synchronous exits so far (every backend counts them);
 * - exit-pinned: at a synchronous exit (async == false), or at an
 *   asynchronous stop after exit `exits` (async == true) identified by
 *   rip and digest (registers and guest memory);
 * - single-step / PMU: exact == true, the count of retired conditional
 *   branches, rip and rcx (a REP string instruction repeats rip), and the
 *   instruction count as a check.
 */
struct replay_pos {
	uint64_t exits;
	bool async;
	bool exact;
	uint64_t rip;
	uint64_t digest;	/* registers and memory */
	uint64_t regs;		/* async: of the registers alone, 0 unknown (v2) */
	uint64_t branches;
	uint64_t rcx;
	uint64_t insns;
};

enum replay_pos_order {
	REPLAY_POS_NOT_YET = -1,	/* the target lies ahead */
	REPLAY_POS_NOW = 0,		/* the target is here */
	REPLAY_POS_PASSED = 1,		/* the target cannot be reached any more */
};

/* Where is `cur` relative to `target`? */
enum replay_pos_order replay__pos_cmp(const struct replay_pos *cur,
				      const struct replay_pos *target);
/* "exit 12 +async rip=0x... digest=0x..." into buf; returns buf. */
const char *replay__pos_str(const struct replay_pos *pos, char *buf,
			    size_t size);

/* ---- Payloads and sources ---------------------------------------------- */

#define REPLAY_FIELDS_MAX	6
#define REPLAY_BYTES_MAX	256
#define REPLAY_NAME_MAX		32

/*
 * A payload is a few integers and, for sources that declare it, a short
 * byte string (serial input).  Never bulk data: a disk read logs a hash of
 * the data (replay__hash()), and replay reads the same image again.
 */
struct replay_payload {
	uint64_t v[REPLAY_FIELDS_MAX];
	uint32_t len;
	uint8_t bytes[REPLAY_BYTES_MAX];
};

/* How a field is written: the choice only changes the trace's size. */
enum replay_field_enc {
	REPLAY_ENC_VARINT = 1,	/* small numbers: status, op, length */
	REPLAY_ENC_DELTA = 2,	/* counters, times, ids: signed delta */
	REPLAY_ENC_FIXED64 = 3,	/* hashes: 8 bytes */
};

struct replay_field {
	const char *name;
	enum replay_field_enc enc;
};

enum replay_source_class {
	/*
	 * An asynchronous input (disk completion, console bytes, timer
	 * expiry, interrupt line): handed over with replay__input() at an
	 * exit, released by the core, applied through ops->apply.
	 */
	REPLAY_SRC_INPUT = 1,
	/* A value read by a device (PIT counter, RTC): replay__clock(). */
	REPLAY_SRC_CLOCK = 2,
	/* A request the guest made (disk submission): replay__submit(). */
	REPLAY_SRC_SUBMIT = 3,
};

struct replay_source_ops {
	const char *name;		/* unique, at most 31 bytes: "vda" */
	enum replay_source_class cls;
	unsigned int nfields;
	const struct replay_field *fields;
	bool has_bytes;			/* payload.bytes[0..len) is logged */
	/*
	 * Non-NULL: this source cannot be replayed (a replay blocker, as in
	 * QEMU); the reason is printed when recording or replaying is
	 * refused.
	 */
	const char *blocker;
	/*
	 * INPUT sources: make the input take effect in the guest.  `in` is
	 * the live payload (off, record) or the recorded one (replay).  In
	 * replay the source fills `actual` with what really happened (a
	 * disk: the status, byte count and hash of its own read of the
	 * request `in` names) and the core compares it with `in`; off and
	 * record pass actual == NULL.  Returns 0, or -errno if the input
	 * cannot be applied (an unknown request id): a divergence.
	 */
	int (*apply)(void *ctx, const struct replay_payload *in,
		     struct replay_payload *actual);
	/*
	 * Optional: fields that must match between recorded and actual
	 * (bit i for field i); 0 means all fields and the bytes.
	 */
	uint32_t checked;
};

struct replay_source;

/* ---- What the VMM provides ----------------------------------------------- */

/* Digests of the machine state (replay__hash() of the VMM's choice). */
struct replay_state {
	uint64_t regs;		/* general registers, RIP, RFLAGS, ... */
	uint64_t serial;	/* everything the guest wrote to its console */
	uint64_t ram;		/* guest RAM (0 at checkpoints if too dear) */
};

struct replay_vmm_ops {
	/*
	 * Fill the backend-specific parts of the current position: rip and
	 * digest at an asynchronous stop (exit-pinned), or branches, rip,
	 * rcx, insns (single-step, PMU).  Called only when the core needs
	 * them: an input released at an asynchronous exit, an exact backend,
	 * a replay checking whether an asynchronous target is here.
	 */
	void (*locate)(void *ctx, struct replay_pos *pos);
	/* The state digests, at checkpoints (ram may be 0) and at the end. */
	void (*state)(void *ctx, struct replay_state *st, bool final);
};

/* ---- The machine description (the trace header's device tree) ---------- */

#define REPLAY_DEVICES_MAX	16
#define REPLAY_DISKS_MAX	8
#define REPLAY_CPUID_MAX	64
#define REPLAY_PATH_MAX		256
#define REPLAY_CMDLINE_MAX	2048

struct replay_file {
	char path[REPLAY_PATH_MAX];	/* empty: none */
	uint64_t size;
	uint64_t hash;			/* replay__hash() of the content */
	bool ro;
};

struct replay_device {
	char name[REPLAY_NAME_MAX];	/* "com1", "virtio-blk@0" */
	uint64_t addr;			/* port or guest-physical address */
	uint64_t size;
	uint32_t irq;			/* UINT32_MAX: none */
	bool mmio;
};

struct replay_cpuid {
	uint32_t function, index, eax, ebx, ecx, edx;
};

enum replay_start {
	REPLAY_START_BOOT = 0,		/* from reset, through the boot loader */
	REPLAY_START_SNAPSHOT = 1,	/* reserved: from a saved machine state */
};

struct replay_machine {
	uint64_t mem_size;
	char cmdline[REPLAY_CMDLINE_MAX];
	struct replay_file kernel, initrd;
	unsigned int ndisks;
	struct replay_file disks[REPLAY_DISKS_MAX];
	unsigned int ndevices;
	struct replay_device devices[REPLAY_DEVICES_MAX];
	/* The policy microvm sets, and what the host really showed. */
	unsigned int ncpuid, ncpuid_seen;
	struct replay_cpuid cpuid[REPLAY_CPUID_MAX];
	struct replay_cpuid cpuid_seen[REPLAY_CPUID_MAX];
	char host_probe[512];		/* --probe-host findings, one line each */
	enum replay_backend backend;
	int64_t rtc_epoch;		/* seconds since 1970 */
	char vmm_version[REPLAY_NAME_MAX];
	enum replay_start start;
	struct replay_file snapshot;	/* REPLAY_START_SNAPSHOT (reserved) */
};

/* ---- Lifecycle ----------------------------------------------------------- */

struct replay_config {
	enum replay_mode mode;
	const char *path;		/* the trace (record, replay) */
	/* Flush policy: a chunk at most every flush_events events or
	 * flush_ms milliseconds (0: defaults 4096 and 100). */
	unsigned int flush_events;
	unsigned int flush_ms;
	/* A checkpoint every this many synchronous exits (0: 65536). */
	uint64_t checkpoint_every;
	const struct replay_vmm_ops *vmm;
	void *vmm_ctx;
};

struct replay;

/* Allocate a core; *out is usable (and off) even when this fails. */
int replay__new(struct replay **out, const struct replay_config *cfg);
/*
 * Register an input source, before replay__start().  ops must outlive the
 * core.  Returns NULL only if too many sources are registered (64), which
 * also makes replay__start() refuse.
 */
struct replay_source *replay__add_source(struct replay *r,
					 const struct replay_source_ops *ops,
					 void *ctx);
/* An option or device that cannot be replayed: recording is refused. */
void replay__add_blocker(struct replay *r, const char *what);
/*
 * Record: write the trace header describing *m (its strings are cut to
 * their arrays; an unknown backend, a saved-state start or too many
 * disks, devices or leaves are refused).  Replay: read the header
 * into *m (the VMM builds that machine) and match the recorded sources
 * with the registered ones.  Off: nothing.  Returns 0, or -errno with the
 * reason in replay__report() (a blocker, a missing file, an unreadable or
 * unknown-version trace).
 */
int replay__start(struct replay *r, struct replay_machine *m);

/* ---- The calls in the run loop (the same in every mode) ----------------- */

enum replay_exit_kind {
	REPLAY_EXIT_SYNC,	/* the guest's own instruction: counted */
	REPLAY_EXIT_ASYNC,	/* the host stopped the guest: a kick, EINTR */
};

/* The first member of struct replay, read by the inline fast paths. */
struct replay_hot {
	int active;	/* record or replay, and nothing has stopped it */
};

int replay__exit_slow(struct replay *r, enum replay_exit_kind kind);
uint64_t replay__clock_slow(struct replay *r, struct replay_source *s,
			    uint64_t value);

/*
 * At every exit, right after KVM_RUN returns and before the exit is
 * handled.  Returns 0 to go on, non-zero when the VMM must stop (a
 * divergence, the end of the recording reached): see replay__status().
 */
static inline int replay__exit(struct replay *r, enum replay_exit_kind kind)
{
	if (__builtin_expect(!((const struct replay_hot *)r)->active, 1))
		return 0;
	return replay__exit_slow(r, kind);
}

/*
 * REPLAY_CLOCK: a device reads a time.  Returns `value` (off, record: and
 * logs it) or the recorded value (replay).
 */
static inline uint64_t replay__clock(struct replay *r, struct replay_source *s,
				     uint64_t value)
{
	if (__builtin_expect(!((const struct replay_hot *)r)->active, 1))
		return value;
	return replay__clock_slow(r, s, value);
}

enum replay_input_result {
	REPLAY_APPLIED,	/* off, record: applied (and logged) now */
	REPLAY_HELD,	/* replay: not applied; the trace decides when */
};

/*
 * An asynchronous input the VMM has ready at this exit (popped from its
 * own queue).  Off and record apply it at once through ops->apply (record
 * logs it at the current position first).  Replay never applies a live
 * input: the VMM keeps what a later recorded apply will need (a disk's
 * completed request) and drops the rest (console bytes: the trace has
 * them).
 */
enum replay_input_result replay__input(struct replay *r,
				       struct replay_source *s,
				       const struct replay_payload *p);
int replay__release_slow(struct replay *r);

/*
 * After the VMM's queue, at every exit: in replay, apply every recorded
 * input due at this position (through ops->apply, comparing `actual`).
 * Returns how many were applied, or -1 on a divergence.
 */
static inline int replay__release(struct replay *r)
{
	if (__builtin_expect(!((const struct replay_hot *)r)->active, 1))
		return 0;
	return replay__release_slow(r);
}
/* A guest request (disk submission): logged, or compared on replay. */
void replay__submit(struct replay *r, struct replay_source *s,
		    const struct replay_payload *p);
/*
 * Replay: the position of the next recorded event, for the VMM to plant a
 * breakpoint or count exits.  Returns 0, or -ENODATA when none is left.
 */
int replay__next_pos(struct replay *r, struct replay_pos *pos);
/*
 * The guest is idle (HLT with interrupts on) and only an input can wake
 * it.  Off, record: returns 0 (wait for live inputs).  Replay: 1 when a
 * recorded input is due now (call replay__release()), -1 when none can
 * come (a divergence that says so instead of a hang).
 */
int replay__idle(struct replay *r);
/*
 * Replay: the next recorded event is the end of the recording, at this
 * synchronous exit count.  The VMM stops the guest there and calls
 * replay__finish() (a recording the user interrupted ends where the guest
 * happened to be, not where it stopped by itself).
 */
bool replay__at_end(struct replay *r);
/* The current position (synchronous exits so far; locate() if needed). */
void replay__position(struct replay *r, struct replay_pos *pos);
/* Synchronous exits so far: the position's count, without locate(). */
uint64_t replay__exits(const struct replay *r);

/*
 * The guest stopped.  Record: write the END record (totals, final state)
 * and close the trace.  Replay: check that the recording ends here with
 * the same final state.  Returns replay__status().
 */
enum replay_status replay__finish(struct replay *r);
enum replay_status replay__status(const struct replay *r);
/* Why recording was refused or stopped, or where the replay diverged. */
const char *replay__report(const struct replay *r);
int replay__exit_code(const struct replay *r);
void replay__free(struct replay *r);

/* ---- Hashing -------------------------------------------------------------- */

/* XXH64 (the xxHash 64-bit algorithm), for payload and state digests. */
uint64_t replay__hash(const void *data, size_t len, uint64_t seed);
/* CRC32C (Castagnoli), as the trace's chunks use it. */
uint32_t replay__crc32c(uint32_t crc, const void *data, size_t len);

/* ---- Reading traces ------------------------------------------------------ */

enum replay_event_type {
	REPLAY_EV_INPUT = 1,
	REPLAY_EV_CLOCK = 2,
	REPLAY_EV_SUBMIT = 3,
	REPLAY_EV_CHECKPOINT = 4,
	REPLAY_EV_END = 5,
};

/*
 * Replay: the type of the next recorded event if it is due at this
 * synchronous exit count, else 0 (a VMM's idle loop uses it to go round
 * as often as the recording's did).
 */
enum replay_event_type replay__next_type(struct replay *r);
/*
 * Replay: the source of the next recorded event (INPUT, CLOCK, SUBMIT),
 * else NULL.  A VMM with exact positions uses it to tell a value one of
 * its instructions will read from an input its delivery applies.
 */
struct replay_source *replay__next_source(struct replay *r);
/*
 * Replay: events replayed so far, and the trace byte offset of the next
 * one (0 when none is left), for a progress line.
 */
void replay__progress(struct replay *r, uint64_t *events, uint64_t *offset);

struct replay_event {
	enum replay_event_type type;
	uint64_t index;			/* 0, 1, ... in the trace */
	uint64_t offset;		/* byte offset of its chunk */
	struct replay_pos pos;
	unsigned int source;		/* INPUT, CLOCK, SUBMIT */
	struct replay_payload p;
	struct replay_state state;	/* CHECKPOINT, END */
	uint64_t total_events;		/* END: events before it */
	uint64_t duration_ns;		/* END: recording wall time */
	uint32_t size;			/* encoded bytes */
};

/* A source as the trace declares it. */
struct replay_source_info {
	char name[REPLAY_NAME_MAX];
	enum replay_source_class cls;
	unsigned int nfields;
	char field[REPLAY_FIELDS_MAX][REPLAY_NAME_MAX];
	enum replay_field_enc enc[REPLAY_FIELDS_MAX];
	bool has_bytes;
};

/* How the stream ends, once replay__reader_next() returned 0 or -1. */
enum replay_trace_end {
	REPLAY_TRACE_READING,		/* not at the end yet */
	REPLAY_TRACE_COMPLETE,		/* an END record, nothing after it */
	REPLAY_TRACE_CUT,		/* stops at a chunk boundary or mid-chunk */
	REPLAY_TRACE_CORRUPT,		/* bad magic, CRC, encoding, order */
};

struct replay_reader;

/*
 * Open a trace (a file, or bytes in memory that must outlive the reader).
 * Returns 0, or -errno with the reason (and byte offset) in err.
 */
int replay__reader_open(struct replay_reader **out, const char *path,
			char *err, size_t errsize);
int replay__reader_open_mem(struct replay_reader **out, const void *data,
			    size_t size, char *err, size_t errsize);
const struct replay_machine *replay__reader_machine(const struct replay_reader *rd);
unsigned int replay__reader_nsources(const struct replay_reader *rd);
const struct replay_source_info *replay__reader_source(const struct replay_reader *rd,
						       unsigned int id);
uint32_t replay__reader_version(const struct replay_reader *rd);
/* Next event: 1, 0 at the end of the stream, -1 on corruption. */
int replay__reader_next(struct replay_reader *rd, struct replay_event *ev);
/* After the end: how and where (byte offset) it ended, and why. */
enum replay_trace_end replay__reader_end(const struct replay_reader *rd,
					 uint64_t *offset, const char **why);
uint64_t replay__reader_size(const struct replay_reader *rd);
void replay__reader_close(struct replay_reader *rd);
/* "clock pit value=12345" / "input vda id=3 status=0 ..." into buf. */
const char *replay__event_str(const struct replay_reader *rd,
			      const struct replay_event *ev, char *buf,
			      size_t size);

/*
 * `microvm trace info|dump|verify FILE`: argv[0] is "trace".  Needs no
 * KVM.  Returns the process exit code.
 */
int replay__trace_main(int argc, char **argv);

#endif
