/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_VM_H
#define MICROVM_VM_H

#include <pthread.h>

#include "../devices/bus.h"
#include "../devices/exitport.h"
#include "../devices/i8042.h"
#include "../devices/pic.h"
#include "../devices/pit.h"
#include "../devices/rtc.h"
#include "../blk/disk.h"
#include "../blk/virtio_blk.h"
#include "../boot/boot.h"
#include "../serial/console.h"
#include "../serial/uart.h"
#include "cpuid.h"
#include "../common/evq.h"
#include "kvm.h"
#include "probe.h"
#include "quirks.h"
#include "ticker.h"
#include "pin_search.h"
#include "pin_step.h"
#include "pin_pmu.h"
#include "rdtsc_patch.h"
#include "vm_replay.h"
#include "../common/vclock.h"

/* microvm's exit statuses (besides the guest's own, via the exit port). */
#define VM_EXIT_OK 0
#define VM_EXIT_SETUP 1		/* could not start: bad input, no KVM... */
#define VM_EXIT_USAGE 2		/* bad command line */
#define VM_EXIT_GUEST_DIED 3	/* triple fault, emulation failure... */

#define VM_CMDLINE_MAX 4096
#define VM_MAX_DISKS 8

struct vm_disk_config {
	char path[4096];
	char id[VIRTIO_BLK_ID_BYTES + 1];
	bool has_id;
	bool ro;
	bool snapshot;		/* the guest writes a temporary copy */
	enum disk_engine_kind engine;
};

/* How inputs are pinned to positions (--pin; docs/pinning.md). */
enum vm_pin {
	VM_PIN_AUTO,	/* pmu where its self-test passes, else exit */
	VM_PIN_EXIT,
	VM_PIN_STEP,
	VM_PIN_PMU,
	VM_PIN_PMU_SIM,	/* test: PMU landing over a simulated counter */
};

/* Where guest time comes from (--clock; common/vclock.h). */
enum vm_clock {
	VM_CLOCK_DEFAULT,	/* insn under --pin=step, else host */
	VM_CLOCK_HOST,		/* the host's monotonic clock */
	VM_CLOCK_INSN,		/* the instruction count (--pin=step only) */
};

/* --clock=insn without :NS: a 100 MHz guest. */
#define VM_CLOCK_INSN_NS 10

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	u64 mem_size;
	bool cmdline_fixups;	/* append the quirks' kernel options */
	bool rdtsc_patch;	/* RDTSC as port reads (rdtsc_patch.h) */
	bool rdtsc_patch_set;	/* --no-rdtsc-patch given */
	bool stats;		/* print exit statistics at the end */
	const char *cpu_policy;	/* cpuid.c's level names */
	s64 rtc_epoch;		/* RTC wall time at boot, Unix seconds */
	bool rtc_epoch_set;	/* else the host's time at start-up */
	const char *record;	/* --record FILE */
	const char *replay;	/* --replay FILE */
	bool cmdline_verbatim;	/* replay: the recorded, final command line */
	enum vm_pin pin;	/* --pin; replay: the trace's backend */
	bool pin_set;		/* given on the command line */
	enum vm_clock clock;	/* --clock */
	u32 clock_ns;		/* --clock=insn:NS, virtual ns per instruction */
	unsigned int ndisks;
	struct vm_disk_config disks[VM_MAX_DISKS];
};

enum vm_state {
	VM_RUNNING,
	VM_STOPPED,
};

enum vm_exit_kind {
	VM_EXITS_PIO,
	VM_EXITS_MMIO,
	VM_EXITS_HLT,
	VM_EXITS_IRQ_WINDOW,
	VM_EXITS_KICK,		/* KVM_RUN interrupted to deliver an event */
	VM_EXITS_QUIRK,		/* emulation failures worked around */
	VM_EXITS_MSR,		/* filtered MSR accesses (quirks) */
	VM_EXITS_OTHER,
	VM_EXITS_NR,
};

struct vm_stats {
	u64 exits[VM_EXITS_NR];
	u64 irqs_injected;
	u64 ns_in_guest;	/* wall time inside KVM_RUN */
	u64 ns_total;		/* wall time of the run loop */
	u64 ns_halted;		/* of which idle in HLT, waiting for events */
	u64 rx_dropped;
};

struct vm {
	struct vm_config cfg;
	char cmdline[VM_CMDLINE_MAX];
	struct kvm kvm;
	struct host_caps caps;
	struct quirks quirks;
	struct cpuid_policy cpuid;
	struct bus bus;
	struct evq evq;
	struct evq_source signal_src;
	struct vclock clock;
	struct ticker ticker;
	struct pic pic;
	struct pit pit;
	struct rtc rtc;
	struct uart uart;
	struct console console;
	struct i8042 kbc;
	struct exitport exitport;
	unsigned int ndisks;
	struct disk disks[VM_MAX_DISKS];
	struct virtio_blk blks[VM_MAX_DISKS];
	pthread_t vcpu_thread;
	pthread_t signal_thread;
	bool signal_thread_started;

	struct boot_info boot;
	bool pv_cpuid_enforced;	/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID on */
	struct vm_replay rp;
	struct pin_search pin;	/* replay: finding asynchronous positions */
	struct pin_step step;	/* --pin=step */
	struct pin_pmu pmu;	/* --pin=pmu-sim */
	struct rdtsc_patch kpatch;	/* the kernel's RDTSC sites */
	bool kpatched;		/* rewritten: ports 0xee, 0xef answer */
	u64 rdtsc_reads;	/* of those ports */
	bool quit_by_user;	/* Ctrl-A x or a signal, not the guest */
	u64 async_since;	/* host ns: inputs due, no synchronous exit */
	bool window_for_irq;	/* the window was asked for an interrupt */
	bool syscall_completed;	/* the last exit completed a SYSCALL */
	bool kick_before_entry;	/* KVM_RUN found a kick waiting */
	struct {		/* recording: the last asynchronous stop */
		u64 exits, regs, ns;
	} last_stop;

	enum vm_state state;
	int exit_code;
	u64 signals;		/* quit signals released */
	bool abandoned;		/* exit left disk requests in the host */
	struct vm_stats stats;
};

/* Build the machine; prints the reason and returns -errno on failure. */
int vm__init(struct vm *vm, const struct vm_config *cfg);
/* Run until the guest or the user ends it; returns the exit status. */
int vm__run(struct vm *vm);
void vm__exit(struct vm *vm);
/* Stop the run loop with an exit status, saying why (vCPU thread only). */
void vm__stop(struct vm *vm, int code, const char *why);
void vm__print_stats(const struct vm *vm);
/* Device state lines for crash reports. */
void vm__dump_devices(const struct vm *vm, char *buf, size_t len);
/* Disk requests the host has not completed yet. */
u64 vm__disks_inflight(const struct vm *vm);

#endif
