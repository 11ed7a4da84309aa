// SPDX-License-Identifier: Apache-2.0
/*
 * The guest-only branch counter through perf_event_open(), and the
 * start-up check that says whether this host can give one, and if not,
 * exactly why.
 */
#include "pmu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PMU_SYSFS "/sys/bus/event_source/devices/"
/*
 * The period while disarmed: far beyond any landing (2^46 branches is
 * hours of guest code) and within every x86 PMU's counter width, which
 * perf would otherwise clamp a larger period to.
 */
#define PMU_PERIOD_IDLE (1ULL << 46)
/* AMD RETIRED_LOCK_INSTRUCTIONS, SpecLockMapCommit (rr's check). */
#define PMU_AMD_SPECLOCKMAP 0x510825

/*
 * Set by the overflow signal on the thread it was routed to (one counter
 * per vCPU thread).  The handler does nothing else: the signal exists to
 * make KVM_RUN return.
 */
static _Thread_local volatile sig_atomic_t pmu_fired;

static void pmu_on_signal(int signo, siginfo_t *si, void *uc)
{
	(void)signo;
	(void)si;
	(void)uc;
	pmu_fired = 1;
}

static long pmu_perf_open(struct perf_event_attr *attr, pid_t tid)
{
	return syscall(SYS_perf_event_open, attr, tid, -1, -1,
		       PERF_FLAG_FD_CLOEXEC);
}

/*
 * The backend's counter, for pmu__open() and the probe alike so that the
 * probe fails wherever the backend would: the guest's user and kernel
 * code (exclude_kernel = 0), none of the host's (exclude_host), pinned so
 * that perf never multiplexes it (a multiplexed counter misses branches
 * and the landing would be silently wrong), and a sample period so that
 * it can interrupt.
 */
static void pmu_attr(struct perf_event_attr *attr, u64 config)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = PERF_TYPE_RAW;
	attr->config = config;
	attr->sample_period = PMU_PERIOD_IDLE;
	attr->exclude_host = 1;
	attr->exclude_guest = 0;
	attr->exclude_kernel = 0;
	attr->exclude_user = 0;
	attr->pinned = 1;
}

/*
 * A pinned event that loses its counter (another pinned user) goes into
 * an error state where read() returns 0 bytes: report that, never a
 * count of 0.
 */
static int pmu_read_fd(int fd, u64 *count)
{
	ssize_t n = read(fd, count, sizeof(*count));

	if (n == (ssize_t)sizeof(*count))
		return 0;
	return n < 0 ? -errno : -EBUSY;
}

static int perf_read(void *ctx, u64 *count)
{
	struct pmu_counter *c = ctx;

	return pmu_read_fd(c->fd, count);
}

/*
 * PERF_EVENT_IOC_PERIOD restarts the period from the current count
 * (the kernel reloads period_left), while read() keeps the running
 * total, so "interrupt at `at`" is a period of at - now.
 */
static int perf_set_period(struct pmu_counter *c, u64 period)
{
	return ioctl(c->fd, PERF_EVENT_IOC_PERIOD, &period) < 0 ? -errno : 0;
}

static int perf_arm(void *ctx, u64 at)
{
	struct pmu_counter *c = ctx;
	u64 now;
	int ret;

	ret = pmu_read_fd(c->fd, &now);
	if (ret)
		return ret;
	pmu_fired = 0;
	if (at <= now) {
		pmu_fired = 1;
		return 0;
	}
	return perf_set_period(c, at - now);
}

static int perf_disarm(void *ctx)
{
	struct pmu_counter *c = ctx;
	int ret = perf_set_period(c, PMU_PERIOD_IDLE);

	pmu_fired = 0;
	return ret;
}

static bool perf_fired(void *ctx)
{
	(void)ctx;
	return pmu_fired;
}

const struct pmu_counter_ops pmu__perf_ops = {
	.read = perf_read,
	.arm = perf_arm,
	.disarm = perf_disarm,
	.fired = perf_fired,
};

int pmu__open(struct pmu_counter *c, const struct pmu_event *ev, pid_t tid,
	      int signo)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = tid };
	struct perf_event_attr attr;
	struct sigaction sa;
	long fd;
	int err;

	c->fd = -1;
	c->signo = signo;
	c->event = ev;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = pmu_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0) {
		err = -errno;
		pr_err("PMU: cannot install the overflow signal handler (signal %d): %s",
		       signo, strerror(errno));
		return err;
	}
	pmu_attr(&attr, ev->config);
	fd = pmu_perf_open(&attr, tid);
	if (fd < 0) {
		err = -errno;
		pr_err("PMU: perf_event_open(raw %#llx %s, guest only, thread %d): %s",
		       (unsigned long long)ev->config, ev->name, (int)tid,
		       strerror(errno));
		return err;
	}
	c->fd = (int)fd;
	/* Overflow: signal `signo` to the vCPU thread, not the process. */
	if (fcntl(c->fd, F_SETOWN_EX, &owner) < 0 ||
	    fcntl(c->fd, F_SETSIG, signo) < 0 ||
	    fcntl(c->fd, F_SETFL, O_ASYNC) < 0) {
		err = -errno;
		pr_err("PMU: cannot route the counter's overflow to thread %d as signal %d: %s",
		       (int)tid, signo, strerror(errno));
		pmu__close(c);
		return err;
	}
	return 0;
}

void pmu__close(struct pmu_counter *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* ---- The probe ------------------------------------------------------------ */

const char *pmu__verdict_str(enum pmu_verdict v)
{
	static const char *const names[] = {
		[PMU_USABLE] = "usable",
		[PMU_NO_PMU] = "no PMU",
		[PMU_UNKNOWN_CPU] = "unknown CPU family",
		[PMU_NO_PERMISSION] = "no permission",
		[PMU_UNSUPPORTED] = "unsupported PMU",
		[PMU_MISCONFIGURED] = "host not set up",
		[PMU_ERROR] = "error",
	};

	return v < ARRAY_SIZE(names) && names[v] ? names[v] : "?";
}

static bool pmu_sysfs_has(const char *dev)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), PMU_SYSFS "%s", dev);
	return stat(path, &st) == 0;
}

/* The first byte of a small sysfs/procfs file; -1 when it cannot be read. */
static int pmu_read_file_int(const char *path)
{
	char buf[16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return (int)strtol(buf, NULL, 10);
}

static void verdict(struct pmu_probe *out, enum pmu_verdict v,
		    const char *fmt, ...) __printf(3, 4);

static void verdict(struct pmu_probe *out, enum pmu_verdict v,
		    const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* Why perf_event_open() refused the backend's counter. */
static void pmu_open_failed(struct pmu_probe *out, int err)
{
	const struct pmu_event *ev = out->event;
	int paranoid;

	out->err = err;
	switch (err) {
	case ENOENT:
	case ENODEV:
	case EOPNOTSUPP:
		verdict(out, PMU_NO_PMU,
			"no PMU: perf_event_open(raw %#llx, guest only, sampling): %s",
			(unsigned long long)ev->config, strerror(err));
		break;
	case EACCES:
	case EPERM:
		paranoid = pmu_read_file_int("/proc/sys/kernel/perf_event_paranoid");
		verdict(out, PMU_NO_PERMISSION,
			"no permission: perf_event_open: %s; counting the guest's kernel needs kernel.perf_event_paranoid <= 1 (it is %d) or CAP_PERFMON",
			strerror(err), paranoid);
		break;
	case EBUSY:
		verdict(out, PMU_UNSUPPORTED,
			"no free counter: perf_event_open: %s (another pinned user of the PMU, e.g. the NMI watchdog or a perf session)",
			strerror(err));
		break;
	case EINVAL:
		verdict(out, PMU_UNSUPPORTED,
			"the PMU refuses raw %#llx with exclude_host (no guest-only counting: virtualization off, or an old kernel): %s",
			(unsigned long long)ev->config, strerror(err));
		break;
	default:
		verdict(out, PMU_ERROR, "perf_event_open(raw %#llx, guest only): %s",
			(unsigned long long)ev->config, strerror(err));
		break;
	}
}

/*
 * Zen overcounts conditional branches unless the SpecLockMap
 * optimization is off; with it off, SpecLockMapCommit stays at 0 across
 * a LOCK-prefixed add (rr's check, rr issue 2034).  Host user mode only,
 * so that it needs no privilege.  true: checked and off.
 */
static bool pmu_speclockmap_off(struct pmu_probe *out)
{
	struct perf_event_attr attr;
	volatile int atomic = 0;
	u64 before, after;
	long fd;
	bool off = false;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_RAW;
	attr.config = PMU_AMD_SPECLOCKMAP;
	attr.exclude_kernel = 1;
	attr.exclude_guest = 1;
	fd = pmu_perf_open(&attr, 0);
	if (fd < 0) {
		verdict(out, PMU_MISCONFIGURED,
			"cannot check SpecLockMap (perf_event_open(raw %#x): %s): without it disabled Zen overcounts branches",
			PMU_AMD_SPECLOCKMAP, strerror(errno));
		return false;
	}
	if (pmu_read_fd((int)fd, &before) == 0) {
		__asm__ volatile("lock addl $1, %0" : "+m"(atomic));
		if (pmu_read_fd((int)fd, &after) == 0)
			off = after == before;
	}
	close((int)fd);
	if (!off)
		verdict(out, PMU_MISCONFIGURED,
			"SpecLockMap is enabled: Zen overcounts branches until it is disabled (MSR 0xc0011020 bit 54, rr's scripts/zen_workaround.py)");
	return off;
}

void pmu__probe(struct pmu_probe *out)
{
	struct perf_event_attr attr;
	char cpu[64];
	u64 count;
	long fd;
	int ret, freeze;

	memset(out, 0, sizeof(*out));
	pmu__host_cpu(&out->cpu);
	out->event = pmu__event_for(&out->cpu);
	pmu__cpu_str(&out->cpu, cpu, sizeof(cpu));

	/* Hybrid Intel parts name their PMUs cpu_core and cpu_atom. */
	if (!pmu_sysfs_has("cpu") && !pmu_sysfs_has("cpu_core")) {
		/* Say what perf itself answers, too. */
		fd = -1;
		if (out->event) {
			pmu_attr(&attr, out->event->config);
			fd = pmu_perf_open(&attr, 0);
			out->err = fd < 0 ? errno : 0;
		}
		if (fd < 0) {
			verdict(out, PMU_NO_PMU, "no PMU: no %scpu event source%s%s%s",
				PMU_SYSFS, out->err ? ", perf_event_open: " : "",
				out->err ? strerror(out->err) : "",
				out->cpu.hypervisor ?
					" (this host is a VM whose hypervisor exposes no PMU)" :
					"");
			return;
		}
		/* A counter that opens all the same is judged below. */
		close((int)fd);
	}
	if (!out->event) {
		verdict(out, PMU_UNKNOWN_CPU,
			"unknown CPU family: %s (%s) has no known guest-only conditional-branch event",
			cpu, out->cpu.vendor_id);
		return;
	}
	if (out->event->hybrid) {
		verdict(out, PMU_UNSUPPORTED,
			"%s is a hybrid CPU: P- and E-cores count different events and microvm does not pin the vCPU to P-cores",
			cpu);
		return;
	}
	pmu_attr(&attr, out->event->config);
	fd = pmu_perf_open(&attr, 0);
	if (fd < 0) {
		pmu_open_failed(out, errno);
		return;
	}
	ret = pmu_read_fd((int)fd, &count);
	close((int)fd);
	if (ret) {
		out->err = -ret;
		verdict(out, PMU_UNSUPPORTED,
			"the pinned counter opens but cannot be read (%s): another pinned PMU user took it",
			strerror(-ret));
		return;
	}
	if (out->event->needs_no_speclockmap && !pmu_speclockmap_off(out))
		return;
	if (out->event->needs_freeze_on_smi) {
		freeze = pmu_read_file_int("/sys/devices/cpu/freeze_on_smi");
		if (freeze == 0) {
			verdict(out, PMU_MISCONFIGURED,
				"freeze_on_smi is 0: SMIs would count as guest branches (echo 1 > /sys/devices/cpu/freeze_on_smi)");
			return;
		}
	}
	verdict(out, PMU_USABLE,
		"raw %#llx opens guest-only and pinned; counts not yet checked in a guest",
		(unsigned long long)out->event->config);
}
