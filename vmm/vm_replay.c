// SPDX-License-Identifier: Apache-2.0
/*
 * microvm's side of the replay core (see vm_replay.h): sources, the
 * machine description, digests, and the exit-pinned delivery policy.
 */
#include "vm_replay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin_search.h"
#include "vm.h"

/* How long one asynchronous position may take to find on replay. */
#define PIN_BUDGET_NS (120 * NSEC_PER_SEC)

/* Exact positions (single-step, or the PMU landing on them). */
static bool vm_replay_exact(const struct vm *vm)
{
	return vm->cfg.pin == VM_PIN_STEP || vm->cfg.pin == VM_PIN_PMU_SIM;
}

/* ---- Payload schemas ---- */

static const struct replay_field clock_fields[] = {
	{ "ns", REPLAY_ENC_DELTA },
};
static const struct replay_field com1_fields[] = {
	{ "kind", REPLAY_ENC_VARINT },
};
static const struct replay_field done_fields[] = {
	{ "id", REPLAY_ENC_DELTA },
	{ "result", REPLAY_ENC_VARINT },	/* bytes, or -errno (zigzag-free: see below) */
	{ "hash", REPLAY_ENC_FIXED64 },		/* of the data read, 0 otherwise */
};
static const struct replay_field submit_fields[] = {
	{ "id", REPLAY_ENC_DELTA },
	{ "op", REPLAY_ENC_VARINT },
	{ "sector", REPLAY_ENC_DELTA },
	{ "len", REPLAY_ENC_VARINT },
};

static const struct replay_field tsc_fields[] = {
	{ "value", REPLAY_ENC_DELTA },		/* a counter: small deltas */
};
static const struct replay_field rand_fields[] = {
	{ "value", REPLAY_ENC_FIXED64 },	/* random: no delta helps */
};

static int com1_apply(void *ctx, const struct replay_payload *in,
		      struct replay_payload *actual);
static int disk_apply(void *ctx, const struct replay_payload *in,
		      struct replay_payload *actual);

static const struct replay_source_ops clock_ops = {
	.name = "clock", .cls = REPLAY_SRC_CLOCK,
	.nfields = 1, .fields = clock_fields,
};
/* Single-step backend: what RDTSC/RDTSCP and RDRAND/RDSEED returned. */
static const struct replay_source_ops tsc_ops = {
	.name = "tsc", .cls = REPLAY_SRC_CLOCK,
	.nfields = 1, .fields = tsc_fields,
};
static const struct replay_source_ops rand_ops = {
	.name = "rand", .cls = REPLAY_SRC_CLOCK,
	.nfields = 1, .fields = rand_fields,
};
static const struct replay_source_ops com1_ops = {
	.name = "com1", .cls = REPLAY_SRC_INPUT, .has_bytes = true,
	.nfields = 1, .fields = com1_fields, .apply = com1_apply,
};

/* ---- The clock ---- */

static u64 clock_filter(void *ctx, u64 ns)
{
	struct vm *vm = ctx;

	return replay__clock(vm->rp.r, vm->rp.clock, ns);
}

/* ---- The console ---- */

/* Record: log the input, then the console acts on it.  Replay: drop it. */
static void com1_release(void *ctx, const struct event *ev)
{
	struct vm *vm = ctx;
	struct replay_payload p;

	memset(&p, 0, sizeof(p));
	p.v[0] = ev->kind;
	p.len = MIN(ev->len, (u32)EV_DATA_MAX);
	memcpy(p.bytes, ev->data, p.len);
	replay__input(vm->rp.r, vm->rp.com1, &p);
}

static int com1_apply(void *ctx, const struct replay_payload *in,
		      struct replay_payload *actual)
{
	struct vm *vm = ctx;
	struct event ev;

	if (in->len > EV_DATA_MAX)
		return -EINVAL;
	memset(&ev, 0, sizeof(ev));
	ev.src = &vm->console.src;
	ev.kind = (u32)in->v[0];
	ev.len = in->len;
	memcpy(ev.data, in->bytes, in->len);
	if (actual)
		*actual = *in;	/* console input has no host side to compare */
	vm->rp.con_release(vm->rp.con_ctx, &ev);
	return 0;
}

/* ---- Disks ---- */

/* A result (bytes or -errno) as a non-negative field: errors above 2^32. */
static u64 result_field(s64 result)
{
	return result < 0 ? (1ULL << 32) + (u64)-result : (u64)result;
}

static void disk_payload(const struct event *ev, struct replay_payload *p)
{
	const struct disk_req *req = ev->ptr;

	memset(p, 0, sizeof(*p));
	p->v[0] = ev->arg;
	p->v[1] = result_field(req->result);
	if (req->op == DISK_READ && req->result > 0 && req->buf)
		p->v[2] = replay__hash(req->buf, (size_t)req->result, 0);
}

/*
 * The disk's completions pass here first.  Record: log id, result and a
 * hash of the data read, then the device answers the guest.  Replay: keep
 * the completion until the trace releases it.
 */
static void disk_release(void *ctx, const struct event *ev)
{
	struct vm_replay_disk *rd = ctx;
	struct replay_payload p;

	if (rd->vm->rp.mode != REPLAY_REPLAY) {
		disk_payload(ev, &p);
		rd->live = *ev;
		if (replay__input(rd->vm->rp.r, rd->done, &p) == REPLAY_APPLIED)
			return;
	}
	for (unsigned int i = 0; i < DISK_MAX_INFLIGHT; i++) {
		if (!rd->have[i]) {
			rd->held[i] = *ev;
			rd->have[i] = true;
			return;
		}
	}
	/* Cannot happen: at most DISK_MAX_INFLIGHT in flight. */
	pr_err("disk %s: more completions held than requests in flight",
	       rd->disk->path);
}

static int disk_find_held(struct vm_replay_disk *rd, u64 id)
{
	for (unsigned int i = 0; i < DISK_MAX_INFLIGHT; i++)
		if (rd->have[i] && rd->held[i].arg == id)
			return (int)i;
	return -1;
}

/*
 * Replay: the trace says request `id` completes now.  If the host has not
 * finished it yet, wait for it (other completions that arrive meanwhile
 * are held); a request the guest never submitted is a divergence.
 */
static int disk_wait_held(struct vm_replay_disk *rd, u64 id)
{
	struct vm *vm = rd->vm;
	struct event ev;
	int i;

	if (id >= rd->disk->next_id)
		return -ENOENT;
	while ((i = disk_find_held(rd, id)) < 0) {
		if (vm->state != VM_RUNNING)
			return -EINTR;
		evq__wait(&vm->evq, 100 * 1000 * 1000);
		while (evq__pop(&vm->evq, &ev))
			evq__release(&ev);
	}
	return i;
}

static int disk_apply(void *ctx, const struct replay_payload *in,
		      struct replay_payload *actual)
{
	struct vm_replay_disk *rd = ctx;
	struct event ev;
	int i;

	if (!actual) {
		/* Off, record: the live completion, applied now. */
		rd->release(rd->release_ctx, &rd->live);
		return 0;
	}
	i = disk_wait_held(rd, in->v[0]);
	if (i < 0)
		return i;
	ev = rd->held[i];
	rd->have[i] = false;
	disk_payload(&ev, actual);
	rd->release(rd->release_ctx, &ev);
	return 0;
}

void vm_replay__flush_held(struct vm *vm)
{
	for (unsigned int d = 0; d < vm->rp.ndisks; d++) {
		struct vm_replay_disk *rd = &vm->rp.disks[d];

		for (unsigned int i = 0; i < DISK_MAX_INFLIGHT; i++) {
			if (rd->have[i]) {
				rd->have[i] = false;
				rd->release(rd->release_ctx, &rd->held[i]);
			}
		}
	}
}

static void disk_submitted(void *ctx, const struct disk_req *req)
{
	struct vm_replay_disk *rd = ctx;
	struct replay_payload p;

	memset(&p, 0, sizeof(p));
	p.v[0] = req->id;
	p.v[1] = req->op;
	p.v[2] = req->offset / DISK_SECTOR;
	p.v[3] = req->len;
	replay__submit(rd->vm->rp.r, rd->submit, &p);
}

/* ---- The machine description ---- */

static int file_digest(const char *path, struct replay_file *f)
{
	struct stat st;
	void *p;
	int fd;

	memset(f, 0, sizeof(*f));
	if (!path)
		return 0;
	if (strlen(path) >= sizeof(f->path)) {
		pr_err("%s: path too long for a trace (at most %zu bytes)", path,
		       sizeof(f->path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(f->path, sizeof(f->path), "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pr_err("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	f->size = (u64)st.st_size;
	if (f->size) {
		p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			pr_err("%s: mmap: %s", path, strerror(errno));
			close(fd);
			return -errno;
		}
		f->hash = replay__hash(p, f->size, 0);
		munmap(p, f->size);
	}
	close(fd);
	return 0;
}

static void machine_cpuid(const struct vm *vm, struct replay_machine *m)
{
	for (u32 i = 0; i < vm->cpuid.nent && i < REPLAY_CPUID_MAX; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid.entries[i];

		m->cpuid[m->ncpuid++] = (struct replay_cpuid){
			e->function, e->index, e->eax, e->ebx, e->ecx, e->edx,
		};
	}
	if (vm->caps.cpuid_enforced == PROBE_NO) {
		/* What this host showed the guest instead: the feature leaves. */
		m->cpuid_seen[m->ncpuid_seen++] = (struct replay_cpuid){
			1, 0, 0, 0, vm->caps.seen_l1_ecx, vm->caps.seen_l1_edx,
		};
		m->cpuid_seen[m->ncpuid_seen++] = (struct replay_cpuid){
			0x80000001u, 0, 0, 0, vm->caps.seen_x1_ecx,
			vm->caps.seen_x1_edx,
		};
	}
}

static const char *cpuid_view(const struct replay_machine *m, char *buf,
			      size_t len)
{
	size_t n = 0;

	if (!m->ncpuid_seen)
		return "the CPU policy, enforced";
	n += (size_t)snprintf(buf, len, "the host's own CPUID");
	for (unsigned int i = 0; i < m->ncpuid_seen && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, ", leaf %#x ecx=%08x edx=%08x",
				      m->cpuid_seen[i].function,
				      m->cpuid_seen[i].ecx, m->cpuid_seen[i].edx);
	return buf;
}

/*
 * Where the policy is not enforced the guest saw the host's own feature
 * leaves: a replay must see the same ones, and the same kind of host.
 */
static int cpuid_seen_compare(const struct replay_machine *now,
			      const struct replay_machine *rec)
{
	char a[160], b[160];

	if (now->ncpuid_seen == rec->ncpuid_seen &&
	    !memcmp(now->cpuid_seen, rec->cpuid_seen,
		    now->ncpuid_seen * sizeof(now->cpuid_seen[0])))
		return 0;
	pr_err("cannot replay: the guest would see another CPU here: it saw %s when recorded; here it would see %s",
	       cpuid_view(rec, a, sizeof(a)), cpuid_view(now, b, sizeof(b)));
	return -EINVAL;
}

static int machine_describe(struct vm *vm, struct replay_machine *m)
{
	int ret, n;

	memset(m, 0, sizeof(*m));
	m->mem_size = vm->cfg.mem_size;
	if (strlen(vm->cmdline) >= sizeof(m->cmdline)) {
		pr_err("cannot record: the kernel command line is longer than a trace holds (%zu bytes)",
		       sizeof(m->cmdline) - 1);
		return -E2BIG;
	}
	memcpy(m->cmdline, vm->cmdline, strlen(vm->cmdline) + 1);
	ret = file_digest(vm->cfg.kernel, &m->kernel);
	if (!ret)
		ret = file_digest(vm->cfg.initrd, &m->initrd);
	for (unsigned int i = 0; !ret && i < vm->ndisks; i++) {
		/* The image as the guest found it: a snapshot's own base. */
		ret = file_digest(vm->cfg.disks[i].path, &m->disks[i]);
		m->disks[i].ro = vm->cfg.disks[i].ro;
		m->ndisks++;
		snprintf(m->devices[m->ndevices].name, REPLAY_NAME_MAX,
			 "blk:%s", vm->blks[i].id);
		m->devices[m->ndevices].addr = vm->blks[i].mmio.base;
		m->devices[m->ndevices].size = 0x1000;
		m->devices[m->ndevices].irq = vm->blks[i].mmio.irq.irq;
		m->devices[m->ndevices].mmio = true;
		m->ndevices++;
	}
	if (ret)
		return ret;
	snprintf(m->devices[m->ndevices].name, REPLAY_NAME_MAX, "cpu:%s",
		 vm->cpuid.name);
	m->devices[m->ndevices++].irq = UINT32_MAX;
	machine_cpuid(vm, m);
	n = snprintf(m->host_probe, sizeof(m->host_probe),
		     "cpuid_enforced=%d\ncmdline_fixups=%s\n",
		     vm->caps.cpuid_enforced, quirks__cmdline(&vm->caps));
	/* Only where it applies: older traces have no such line. */
	if (vm->kpatched && n > 0 && (size_t)n < sizeof(m->host_probe))
		snprintf(m->host_probe + n, sizeof(m->host_probe) - n,
			 "%s%u\n", RDTSC_PATCH_KEY, vm->kpatch.nsites);
	m->backend = vm_replay_exact(vm) ? REPLAY_BACKEND_STEP :
					    REPLAY_BACKEND_EXIT;
	m->rtc_epoch = vm->cfg.rtc_epoch;
	snprintf(m->vmm_version, sizeof(m->vmm_version), "microvm %s",
		 MICROVM_VERSION);
	m->start = REPLAY_START_BOOT;
	return 0;
}

/* The RDTSC sites rewritten, from a trace's host-probe lines; -1 none. */
static long rdtsc_patch_sites(const struct replay_machine *m)
{
	const char *p = strstr(m->host_probe, RDTSC_PATCH_KEY);

	return p ? strtol(p + strlen(RDTSC_PATCH_KEY), NULL, 10) : -1;
}

static int rdtsc_patch_compare(const struct replay_machine *now,
			       const struct replay_machine *rec)
{
	long a = rdtsc_patch_sites(rec), b = rdtsc_patch_sites(now);

	if (a == b)
		return 0;
	pr_err("cannot replay: the recording rewrote %ld RDTSC sites of the kernel and this build %ld (another microvm version, or the kernel could not be read the same way)",
	       a < 0 ? 0 : a, b < 0 ? 0 : b);
	return -EINVAL;
}

/* Replay: the machine this host builds must be the recorded one. */
static int machine_compare(const struct vm *vm, const struct replay_machine *rec)
{
	struct replay_machine now;
	struct vm *v = (struct vm *)vm;

	if (machine_describe(v, &now))
		return -EINVAL;
	if (now.kernel.hash != rec->kernel.hash) {
		pr_err("cannot replay: kernel %s is not the recorded one (content differs from %s)",
		       now.kernel.path, rec->kernel.path);
		return -EINVAL;
	}
	if (now.initrd.hash != rec->initrd.hash) {
		pr_err("cannot replay: initrd %s is not the recorded one (content differs from %s)",
		       now.initrd.path, rec->initrd.path);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < rec->ndisks; i++) {
		if (now.disks[i].hash != rec->disks[i].hash) {
			pr_err("cannot replay: disk %s is not the image the recording started from (content differs; a disk the guest wrote must be replayed from a copy of its state at record start, see --disk PATH,snapshot)",
			       now.disks[i].path);
			return -EINVAL;
		}
	}
	if (cpuid_seen_compare(&now, rec))
		return -EINVAL;
	if (now.ncpuid != rec->ncpuid ||
	    memcmp(now.cpuid, rec->cpuid, now.ncpuid * sizeof(now.cpuid[0]))) {
		pr_err("cannot replay: this host's CPU policy differs from the recorded one (another CPU vendor, or a policy this host cannot give)");
		return -EINVAL;
	}
	if (rdtsc_patch_compare(&now, rec))
		return -EINVAL;
	if (strcmp(now.host_probe, rec->host_probe)) {
		pr_err("cannot replay: this host shows the guest a different CPU than the recording host did (recorded: %s; here: %s)",
		       rec->host_probe, now.host_probe);
		return -EINVAL;
	}
	return 0;
}

/* ---- The VMM callbacks ---- */

/*
 * A page's content as a number, 0 for an all-zero page.  Bits 5 and 6 of
 * every 64-bit word are left out: in a page table they are the Accessed
 * and Dirty bits, which the MMU sets whenever it walks (speculatively on
 * real CPUs, when it translates code ahead under TCG), so their timing is
 * the host's, not the guest's (seen in the nested tier: a replay at the
 * right instruction, registers equal, differing only in a page-directory
 * page).  Any other page loses two bits in 64 of digest strength.
 */
static u64 page_hash(const struct vm *vm, u64 page)
{
	u64 buf[512], any = 0;

	memcpy(buf, vm->kvm.mem.host + page * 4096, sizeof(buf));
	for (unsigned int i = 0; i < 512; i++) {
		any |= buf[i];
		buf[i] &= ~0x60ULL;
	}
	return any ? replay__hash(buf, sizeof(buf), page) | 1 : 0;
}

/* One written page's part of the memory digest: 0 while it is as it was. */
static u64 page_change(u64 page, u64 cur, u64 base)
{
	return cur == base ? 0 :
			     replay__hash(&(u64[3]){ page, cur, base }, 24, 0);
}

/*
 * The memory part of an asynchronous position's digest: what changed in
 * the pages the guest wrote since the previous asynchronous position (or
 * the start), the XOR of page_change() over them.  Which pages: KVM's
 * dirty log, folded into our own union (`written`) so that fetching it
 * more or less often (a replay looks at every breakpoint hit) cannot
 * change the set.  What changed: each page's content against its content
 * at that previous position (`base`), so a page whose bytes are as they
 * were adds nothing.  That matters because a kick often lands where KVM
 * has just taken the write fault of the instruction at RIP and marked its
 * page dirty before the write happened, while replay's breakpoint stops
 * before that instruction with the page still clean: unchanged either way.
 *
 * Kept incremental between the hits of one breakpoint search: each fetch
 * of the log (which write-protects the pages again) names the pages
 * written since the previous fetch, and only those are hashed again,
 * their old part swapped for the new one, so a hit in a loop costs the
 * few pages the loop writes.  Anywhere else (a recording's position, a
 * kick, the first hit of a search or one after another exit) every
 * written page is hashed afresh: the VMM writes guest RAM too (read data
 * at a release, the rings), which no dirty log shows, and a kick may
 * come with the search's HLT byte in place.
 */
static int vmm_mem_fetch(struct vm *vm, bool incremental)
{
	struct vm_replay *rp = &vm->rp;
	u64 npages = vm->kvm.mem.size / 4096;

	if (!rp->written || kvm__get_dirty_log(&vm->kvm, rp->dirty) < 0)
		return -1;
	if (!incremental)
		rp->mem_digest = 0;
	for (u64 w = 0; w < (npages + 63) / 64; w++) {
		u64 bits = rp->dirty[w] | (incremental ? 0 : rp->written[w]);

		while (bits) {
			u64 page = w * 64 + (u64)__builtin_ctzll(bits);
			u64 bit = 1ULL << (page % 64), cur = page_hash(vm, page);
			u64 old = incremental && (rp->written[w] & bit) ?
					  rp->cur[page] : rp->base[page];

			bits &= bits - 1;
			rp->written[w] |= bit;
			rp->mem_digest ^= page_change(page, old, rp->base[page]) ^
					  page_change(page, cur, rp->base[page]);
			rp->cur[page] = cur;
		}
	}
	return 0;
}

static u64 vmm_mem_digest(struct vm *vm)
{
	bool incremental = vm->pin.armed && vm->pin.mem_cache_ok;

	return vmm_mem_fetch(vm, incremental) ? 0 : vm->rp.mem_digest;
}

bool vm_replay__mem_unchanged(struct vm *vm)
{
	return vmm_mem_fetch(vm, false) == 0 && vm->rp.mem_digest == 0;
}

/*
 * After an input took effect at an asynchronous position: a new interval.
 * Every written page is hashed afresh, not taken from `cur`: the input
 * itself may have written guest RAM from the VMM (a disk read's data),
 * which no dirty log shows (the same reason vmm_mem_fetch() trusts `cur`
 * only between the hits of one search).
 */
static void vmm_mem_anchor(struct vm *vm)
{
	struct vm_replay *rp = &vm->rp;
	u64 npages = vm->kvm.mem.size / 4096;

	if (!rp->written || kvm__get_dirty_log(&vm->kvm, rp->dirty) < 0)
		return;
	for (u64 w = 0; w < (npages + 63) / 64; w++) {
		u64 bits = rp->written[w] | rp->dirty[w];

		while (bits) {
			u64 page = w * 64 + (u64)__builtin_ctzll(bits);

			bits &= bits - 1;
			rp->base[page] = page_hash(vm, page);
		}
	}
	memset(rp->written, 0, rp->bitmap_bytes);
	rp->mem_digest = 0;
}

/* The pages the boot loader filled: the first MiB, kernel, initrd. */
static void vmm_mem_base(struct vm *vm)
{
	const struct boot_info *bi = &vm->boot;
	const u64 ranges[3][2] = {
		{ 0, 1 * MiB },
		{ bi->kernel_start, bi->kernel_end },
		{ bi->initrd_start, bi->initrd_start + bi->initrd_size },
	};

	for (unsigned int i = 0; i < 3; i++)
		for (u64 p = ranges[i][0] / 4096;
		     p < (ranges[i][1] + 4095) / 4096 && p < vm->kvm.mem.size / 4096; p++)
			vm->rp.base[p] = page_hash(vm, p);
}

/*
 * What the memory digest is made of, smaller than all of RAM (hashing
 * every page at every position is minutes in the nested tier): for each
 * page written since the previous position, its number, its page_hash()
 * now and at that position, and its 4 KiB.
 */
static void dump_written(const struct vm *vm, int fd)
{
	const struct vm_replay *rp = &vm->rp;
	u64 npages = vm->kvm.mem.size / 4096;

	for (u64 p = 0; p < npages; p++) {
		u64 head[3] = { p, rp->cur[p], rp->base[p] };

		if (!(rp->written[p / 64] & (1ULL << (p % 64))))
			continue;
		if (util__write_full(fd, head, sizeof(head)) < 0 ||
		    util__write_full(fd, vm->kvm.mem.host + p * 4096, 4096) < 0)
			break;
	}
}

/*
 * MICROVM_DUMP_RAM_AT=N:FILE: guest RAM, raw, each time an asynchronous
 * position after N synchronous exits is located (the last one stays), to
 * find the pages a recording and its replay differ in there.
 */
static void dump_ram_at(const struct vm *vm, const struct replay_pos *pos)
{
	const char *env = getenv("MICROVM_DUMP_RAM_AT");
	char *end, path[4096];
	unsigned long long n;
	int fd;

	if (!env || !*env || !pos->async)
		return;
	n = strtoull(env, &end, 10);
	if (*env == '*' && env[1] == ':')
		end = (char *)env + 1;
	else if (*end != ':' || n != pos->exits)
		return;
	/* "*:FILE": every position, into FILE.N.RIP (N may have several) */
	if (*env == '*')
		snprintf(path, sizeof(path), "%s.%llu.%llx", end + 1,
			 (unsigned long long)pos->exits,
			 (unsigned long long)pos->rip);
	else
		snprintf(path, sizeof(path), "%s", end + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && getenv("MICROVM_DUMP_HASHES")) {
		dump_written(vm, fd);
	} else if (fd < 0 || util__write_full(fd, vm->kvm.mem.host, vm->kvm.mem.size) < 0) {
		pr_warn("MICROVM_DUMP_RAM_AT: %s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

static void vmm_locate(void *ctx, struct replay_pos *pos)
{
	struct vm *vm = ctx;
	struct kvm_regs regs;

	if (vm->step.on) {
		pin_step__locate(vm, pos);
		return;
	}
	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) == 0) {
		u64 rh = replay__hash(&regs, sizeof(regs), 0);
		u64 mh = vmm_mem_digest(vm);

		pos->rip = regs.rip;
		pos->digest = rh ^ mh;
		pos->regs = rh;
		dump_ram_at(vm, pos);
		/* -v: what a divergence report's digest is made of. */
		pr_debug("position rip=%#llx registers=%016llx memory=%016llx",
			 (unsigned long long)regs.rip, (unsigned long long)rh,
			 (unsigned long long)mh);
	}
	vm->rp.located = true;
}

static void vmm_state(void *ctx, struct replay_state *st, bool final)
{
	struct vm *vm = ctx;
	struct kvm_regs regs;

	st->serial = vm->rp.serial_hash;
	st->regs = 0;
	st->ram = 0;
	/* An interrupted run stops wherever the guest was: serial only. */
	if (final && vm->rp.interrupted)
		return;
	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) == 0)
		st->regs = replay__hash(&regs, sizeof(regs), 0);
	if (final)
		st->ram = replay__hash(vm->kvm.mem.host, vm->kvm.mem.size, 0);
}

static const struct replay_vmm_ops vmm_ops = {
	.locate = vmm_locate,
	.state = vmm_state,
};

/* ---- Set-up ---- */

static void wrap_disk(struct vm *vm, unsigned int i)
{
	struct vm_replay_disk *rd = &vm->rp.disks[i];

	rd->vm = vm;
	rd->disk = &vm->disks[i];
	snprintf(rd->name, sizeof(rd->name), "vd%c", 'a' + i);
	snprintf(rd->subname, sizeof(rd->subname), "vd%c.submit", 'a' + i);
	rd->release = rd->disk->src.release;
	rd->release_ctx = rd->disk->src.ctx;
	rd->disk->src.release = disk_release;
	rd->disk->src.ctx = rd;
	rd->disk->on_submit = disk_submitted;
	rd->disk->on_submit_ctx = rd;
}

static struct replay_source_ops disk_done_ops[8], disk_sub_ops[8];

static void add_sources(struct vm *vm)
{
	struct vm_replay *rp = &vm->rp;

	rp->clock = replay__add_source(rp->r, &clock_ops, vm);
	rp->com1 = replay__add_source(rp->r, &com1_ops, vm);
	if (vm_replay_exact(vm) || vm->kpatched)
		rp->tsc = replay__add_source(rp->r, &tsc_ops, vm);
	if (vm_replay_exact(vm))
		rp->rand = replay__add_source(rp->r, &rand_ops, vm);
	rp->con_release = vm->console.src.release;
	rp->con_ctx = vm->console.src.ctx;
	vm->console.src.release = com1_release;
	vm->console.src.ctx = vm;
	for (unsigned int i = 0; i < vm->ndisks; i++) {
		wrap_disk(vm, i);
		disk_done_ops[i] = (struct replay_source_ops){
			.name = rp->disks[i].name, .cls = REPLAY_SRC_INPUT,
			.nfields = 3, .fields = done_fields, .apply = disk_apply,
		};
		disk_sub_ops[i] = (struct replay_source_ops){
			.name = rp->disks[i].subname, .cls = REPLAY_SRC_SUBMIT,
			.nfields = 4, .fields = submit_fields,
		};
		rp->disks[i].done = replay__add_source(rp->r, &disk_done_ops[i],
						       &rp->disks[i]);
		rp->disks[i].submit = replay__add_source(rp->r, &disk_sub_ops[i],
							 &rp->disks[i]);
	}
	rp->ndisks = vm->ndisks;
}

static void warn_writable_disks(const struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.ndisks; i++) {
		const struct vm_disk_config *dc = &vm->cfg.disks[i];

		if (!dc->ro && !dc->snapshot)
			pr_warn("--record: disk %s is writable and has no snapshot: the guest's writes change it, and a replay must start from its state now (keep a copy, or use --disk %s,snapshot)",
				dc->path, dc->path);
	}
}

static int dirty_log_start(struct vm *vm)
{
	struct vm_replay *rp = &vm->rp;
	int ret;

	rp->bitmap_bytes = (vm->kvm.mem.size / 4096 + 63) / 64 * 8;
	rp->written = calloc(1, rp->bitmap_bytes);
	rp->dirty = calloc(1, rp->bitmap_bytes);
	rp->base = calloc(vm->kvm.mem.size / 4096, sizeof(*rp->base));
	rp->cur = calloc(vm->kvm.mem.size / 4096, sizeof(*rp->cur));
	if (!rp->written || !rp->dirty || !rp->base || !rp->cur)
		return -ENOMEM;
	/* Every other page is still the zero page the kernel mapped. */
	vmm_mem_base(vm);
	ret = kvm__enable_dirty_log(&vm->kvm);
	if (ret)
		pr_err("cannot enable KVM's dirty-page log (for memory digests): %s",
		       strerror(-ret));
	return ret;
}

int vm_replay__start(struct vm *vm)
{
	struct vm_replay *rp = &vm->rp;
	struct replay_config cfg = {
		.mode = vm->cfg.record ? REPLAY_RECORD :
			vm->cfg.replay ? REPLAY_REPLAY : REPLAY_OFF,
		.path = vm->cfg.record ? vm->cfg.record : vm->cfg.replay,
		.vmm = &vmm_ops,
		.vmm_ctx = vm,
	};
	struct replay_machine m;
	int ret;

	rp->mode = cfg.mode;
	rp->path = cfg.path;
	replay__new(&rp->r, &cfg);
	if (rp->mode == REPLAY_OFF)
		return 0;
	add_sources(vm);
	if (rp->mode == REPLAY_RECORD) {
		warn_writable_disks(vm);
		ret = machine_describe(vm, &m);
		if (ret)
			return ret;
	}
	ret = replay__start(rp->r, &m);
	if (ret) {
		pr_err("%s %s: %s", rp->mode == REPLAY_RECORD ? "--record" :
		       "--replay", rp->path, replay__report(rp->r));
		return ret;
	}
	if (rp->mode == REPLAY_REPLAY) {
		struct stat st;

		ret = machine_compare(vm, &m);
		if (ret)
			return ret;
		if (!vm_replay_exact(vm)) {
			ret = pin__setup(vm);
			if (ret)
				return ret;
		}
		rp->progress = isatty(STDERR_FILENO) && util__get_verbose() >= 0;
		rp->trace_size = stat(rp->path, &st) ? 0 : (u64)st.st_size;
		rp->start_ns = util__host_ns();
	}
	/* Exact positions need no memory digests. */
	ret = vm_replay_exact(vm) ? 0 : dirty_log_start(vm);
	if (ret)
		return ret;
	vclock__set_filter(&vm->clock, clock_filter, vm);
	pr_info("%s %s (%s positions)",
		rp->mode == REPLAY_RECORD ? "recording to" : "replaying", rp->path,
		vm_replay_exact(vm) ? "exact" : "exit-pinned");
	return 0;
}

/* ---- The run loop ---- */

/*
 * "replay: 42% of the trace (event 1234), 3.1 s", rewritten in place four
 * times a second; erased before anything else is said at the end.
 */
static void progress_line(struct vm *vm, bool last)
{
	struct vm_replay *rp = &vm->rp;
	u64 now = util__host_ns(), events, offset;

	if (last) {
		if (rp->progress_ns)
			fputs("\r\033[K", stderr);
		return;
	}
	if (now - rp->progress_ns < 250 * 1000 * 1000ULL)
		return;
	rp->progress_ns = now;
	replay__progress(rp->r, &events, &offset);
	fprintf(stderr, "\rreplay: %3llu%% of the trace (event %llu), %.1f s\033[K",
		(unsigned long long)(rp->trace_size ? offset * 100 / rp->trace_size : 0),
		(unsigned long long)events, (now - rp->start_ns) / 1e9);
}

/*
 * -vv: every exit with its kind and RIP, so that a recording's and a
 * replay's sequences can be compared line by line when they part.
 */
static void log_exit(struct vm *vm, bool sync)
{
	const struct kvm_run *run = vm->kvm.run;
	struct kvm_regs regs;
	u64 exits = replay__exits(vm->rp.r);

	if (ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		regs.rip = 0;
	if (!sync) {
		fprintf(stderr, "exit %llu+: async rip=%#llx\n",
			(unsigned long long)exits, (unsigned long long)regs.rip);
		return;
	}
	fprintf(stderr, "exit %llu: reason %u rip=%#llx", (unsigned long long)exits + 1,
		run->exit_reason, (unsigned long long)regs.rip);
	if (run->exit_reason == KVM_EXIT_IO)
		fprintf(stderr, " %s port %#x", run->io.direction ? "out" : "in",
			run->io.port);
	else if (run->exit_reason == KVM_EXIT_MMIO)
		fprintf(stderr, " %s %#llx", run->mmio.is_write ? "write" : "read",
			(unsigned long long)run->mmio.phys_addr);
	fprintf(stderr, "\n");
}

bool vm_replay__exit(struct vm *vm, bool sync)
{
	if (vm->rp.progress && !(++vm->rp.exits_seen & 255))
		progress_line(vm, false);
	if (util__get_verbose() >= 2 && vm->rp.mode != REPLAY_OFF)
		log_exit(vm, sync);
	vm->rp.located = false;
	return !replay__exit(vm->rp.r, sync ? REPLAY_EXIT_SYNC :
					      REPLAY_EXIT_ASYNC);
}

void vm_replay__delivered(struct vm *vm)
{
	/*
	 * Inputs just went in at an asynchronous position (recording: its
	 * digest was taken; replay: it was found): the next position's
	 * memory digest counts from here, before the guest runs on.
	 */
	if (!vm->step.on &&
	    (vm->rp.mode == REPLAY_RECORD ? vm->rp.located : vm->rp.found)) {
		vmm_mem_anchor(vm);
	}
	vm->rp.found = false;
	vm->rp.located = false;
}

/*
 * Replay, before each KVM_RUN: when the next recorded event is at an
 * asynchronous stop after this many synchronous exits, run the guest to
 * it with a breakpoint (pin_search.c).
 */
void vm_replay__before_run(struct vm *vm)
{
	struct replay_pos next;

	if (vm->rp.mode != REPLAY_REPLAY || replay__next_pos(vm->rp.r, &next) ||
	    !next.async || replay__next_type(vm->rp.r) == REPLAY_EV_END) {
		pin__disarm(vm);
		return;
	}
	/* Not replay__position(): that would take the memory digest. */
	if (replay__exits(vm->rp.r) != next.exits) {
		pin__disarm(vm);
		return;
	}
	pin__arm(vm, next.rip);
	pin__before_run(vm);
}

/*
 * Replay, at a breakpoint hit (an asynchronous stop, RIP rewound): is
 * this the recorded position?  Registers and the memory written since
 * the previous one decide.
 */
/*
 * A breakpoint hit whose registers are not the recorded ones is no match,
 * known without the memory digest (a dirty-log fetch, and write faults
 * after it): in a loop, most hits.  Traces of format v2 have no registers
 * digest; there every hit takes both.
 */
static bool regs_differ(struct vm *vm, const struct replay_pos *next)
{
	struct kvm_regs regs;

	if (!next->async || !next->regs || vm->step.on ||
	    ioctl(vm->kvm.vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return false;
	return regs.rip != next->rip ||
	       replay__hash(&regs, sizeof(regs), 0) != next->regs;
}

bool vm_replay__at_target(struct vm *vm)
{
	struct replay_pos next, cur;

	if (!vm_replay__exit(vm, false))
		return false;
	if (replay__next_pos(vm->rp.r, &next))
		return false;
	if (regs_differ(vm, &next) ||
	    (replay__position(vm->rp.r, &cur),
	     replay__pos_cmp(&cur, &next) != REPLAY_POS_NOW)) {
		if (util__host_ns() - vm->pin.t0 > PIN_BUDGET_NS) {
			char buf[128];

			pr_err("replay: %s not found after %llu hits of its %s and %llu steps in %llu s; giving up",
			       replay__pos_str(&next, buf, sizeof(buf)),
			       (unsigned long long)vm->pin.hits,
			       vm->pin.mech == PIN_MECH_HWBP ?
					"hardware breakpoint" : "HLT byte",
			       (unsigned long long)vm->pin.steps,
			       (unsigned long long)(PIN_BUDGET_NS / NSEC_PER_SEC));
			vm->rp.refused = true;
		}
		return false;
	}
	vm->rp.found = true;
	return true;
}

/*
 * Only what a delivery consumes: inputs and reads of the virtual clock,
 * and the end of an interrupted recording (the delivery stops there).  An
 * emulated RDTSC's value at this position is the instruction's.
 */
bool vm_replay__due(struct vm *vm)
{
	struct vm_replay *rp = &vm->rp;
	enum replay_event_type type = replay__next_type(rp->r);
	struct replay_pos next, cur;

	if (type != REPLAY_EV_INPUT && type != REPLAY_EV_END &&
	    (type != REPLAY_EV_CLOCK || replay__next_source(rp->r) != rp->clock))
		return false;
	if (replay__next_pos(rp->r, &next))
		return false;
	replay__position(rp->r, &cur);
	return replay__pos_cmp(&cur, &next) == REPLAY_POS_NOW;
}

u64 vm_replay__value(struct vm *vm, enum vm_replay_value which, u64 live)
{
	struct vm_replay *rp = &vm->rp;
	struct replay_source *src = which == VM_REPLAY_TSC ? rp->tsc : rp->rand;

	if (rp->mode == REPLAY_OFF || !src)
		return live;
	return replay__clock(rp->r, src, live);
}

bool vm_replay__release(struct vm *vm)
{
	return replay__release(vm->rp.r) >= 0 && vm_replay__continues(vm);
}

bool vm_replay__continues(struct vm *vm)
{
	if (replay__status(vm->rp.r) != REPLAY_OK || vm->rp.refused)
		return false;
	if (replay__at_end(vm->rp.r)) {
		/* The recording was stopped by its user here. */
		vm->rp.ended = true;
		vm->rp.interrupted = true;
		return false;
	}
	return true;
}

const char *vm_replay__why(struct vm *vm)
{
	switch (replay__status(vm->rp.r)) {
	case REPLAY_INCOMPLETE:
		return "the trace ends here (the recording was cut short)";
	case REPLAY_UNREADABLE:
		return "the trace is unreadable from here";
	default:
		return "the replay diverged";
	}
}

bool vm_replay__urgent(struct vm *vm)
{
	/*
	 * A disk completion may be what a spinning guest polls for; console
	 * input can wait for the guest's next port access.
	 */
	for (unsigned int i = 0; i < vm->ndisks; i++)
		if (evq__queued(&vm->evq, &vm->disks[i].src))
			return true;
	return false;
}

int vm_replay__idle(struct vm *vm)
{
	enum replay_event_type next = replay__next_type(vm->rp.r);

	/*
	 * The recording's HLT loop went round again here (a wake-up that
	 * found nothing to do): so does the replay's, without waiting.
	 */
	if (next == REPLAY_EV_CLOCK)
		return 1;
	return replay__idle(vm->rp.r);
}

void vm_replay__tx(struct vm *vm, const u8 *buf, size_t len)
{
	/* FNV-1a over the bytes: independent of how output is chunked. */
	u64 h = vm->rp.serial_hash ? vm->rp.serial_hash : 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 0x100000001b3ULL;
	vm->rp.serial_hash = h;
}

/*
 * MICROVM_DUMP_RAM=FILE: guest RAM as it ends, raw, for finding what a
 * "final state differs" is made of (cmp -l the recording's against the
 * replay's; docs/testing.md).  A debugging aid, not part of the trace.
 */
static void vm_replay_dump_ram(const struct vm *vm)
{
	const char *path = getenv("MICROVM_DUMP_RAM");
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || util__write_full(fd, vm->kvm.mem.host, vm->kvm.mem.size) < 0)
		pr_warn("MICROVM_DUMP_RAM=%s: %s", path, strerror(errno));
	else
		pr_info("guest RAM written to %s", path);
	if (fd >= 0)
		close(fd);
}

int vm_replay__finish(struct vm *vm, int code)
{
	struct vm_replay *rp = &vm->rp;
	enum replay_status st;
	char buf[128];
	struct replay_pos pos;

	if (rp->mode == REPLAY_OFF)
		return code;
	vm_replay_dump_ram(vm);
	if (rp->progress)
		progress_line(vm, true);
	/* A stop by the user ends a recording where the guest happened to be. */
	if (rp->mode == REPLAY_RECORD && (code > 128 || vm->quit_by_user))
		rp->interrupted = true;
	st = replay__finish(rp->r);
	replay__position(rp->r, &pos);
	if (rp->mode == REPLAY_RECORD) {
		if (st != REPLAY_OK) {
			pr_err("record: %s", replay__report(rp->r));
			return replay__exit_code(rp->r);
		}
		pr_info("record: %s written (%s)", rp->path,
			replay__pos_str(&pos, buf, sizeof(buf)));
		return code;
	}
	if (vm->pin.searches)
		pr_info("replay: %llu asynchronous positions found with %s: %llu hits (and %llu with an interrupt on its way in), misses stepped over by HLT bytes on their successors %llu and by single-step %llu, %llu instructions walked to targets in user code or not yet mapped, in %.3f s (slowest %.1f ms)",
			(unsigned long long)vm->pin.found,
			pin__mech_name(vm->pin.mech),
			(unsigned long long)vm->pin.total_hits,
			(unsigned long long)vm->pin.injecting,
			(unsigned long long)vm->pin.total_overs,
			(unsigned long long)vm->pin.total_stepped_over,
			(unsigned long long)vm->pin.total_steps,
			vm->pin.total_ns / 1e9, vm->pin.max_ns / 1e6);
	if (st == REPLAY_OK) {
		fprintf(stderr, "replay: identical (%s, final state digest %016" PRIx64 "%s)\n",
			replay__pos_str(&pos, buf, sizeof(buf)), rp->serial_hash,
			rp->interrupted ? "; the recording was interrupted: serial output compared, not registers or RAM" : "");
		return replay__exit_code(rp->r);
	}
	if (rp->refused) {
		fprintf(stderr, "replay: gave up at exit %" PRIu64 ": an asynchronous position was not found in time (see above)\n",
			pos.exits);
		return REPLAY_EXIT_DIVERGED;
	}
	fprintf(stderr, "replay: %s\n", replay__report(rp->r));
	return replay__exit_code(rp->r);
}

void vm_replay__free(struct vm *vm)
{
	free(vm->rp.written);
	free(vm->rp.dirty);
	free(vm->rp.base);
	free(vm->rp.cur);
	vm->rp.written = vm->rp.dirty = vm->rp.base = vm->rp.cur = NULL;
	if (vm->rp.r && vm->rp.mode != REPLAY_OFF)
		replay__free(vm->rp.r);
	vm->rp.r = NULL;
}

/* ---- Replay: the machine from the trace ---- */

/* Strings taken from the trace outlive the reader: the VM keeps them. */
static char *keep(const char *s)
{
	char *p = strdup(s);

	if (!p) {
		pr_err("out of memory");
		exit(VM_EXIT_SETUP);
	}
	return p;
}

/* The recorded disks, unless the user named moved copies in order. */
static int load_disks(const struct replay_machine *m, struct vm_config *cfg)
{
	unsigned int i;

	if (cfg->ndisks && cfg->ndisks != m->ndisks) {
		pr_err("--replay: the recording had %u disks, %u given; give all of them in order, or none to use the recorded paths",
		       m->ndisks, cfg->ndisks);
		return -EINVAL;
	}
	for (i = 0; i < m->ndisks; i++) {
		struct vm_disk_config *dc = &cfg->disks[i];
		const char *id = NULL;

		if (i >= cfg->ndisks) {
			memset(dc, 0, sizeof(*dc));
			snprintf(dc->path, sizeof(dc->path), "%s", m->disks[i].path);
		}
		dc->ro = m->disks[i].ro;
		/* A replay never changes an image: the guest's writes go to a copy. */
		dc->snapshot = !dc->ro;
		for (unsigned int k = 0; k < m->ndevices; k++)
			if (m->devices[k].mmio &&
			    m->devices[k].addr == VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SLOT &&
			    !strncmp(m->devices[k].name, "blk:", 4))
				id = m->devices[k].name + 4;
		if (id) {
			snprintf(dc->id, sizeof(dc->id), "%s", id);
			dc->has_id = true;
		}
	}
	cfg->ndisks = m->ndisks;
	return 0;
}

/*
 * The positions are the trace's: exit-pinned ones can only be replayed by
 * the exit-pinned backend; exact ones by single-step (or the PMU backend,
 * which lands on the same positions).
 */
static int load_backend(const struct replay_machine *m, struct vm_config *cfg)
{
	bool exact = m->backend != REPLAY_BACKEND_EXIT;

	if (cfg->pin_set && cfg->pin != VM_PIN_AUTO &&
	    exact != (cfg->pin != VM_PIN_EXIT)) {
		pr_err("--replay: the trace has %s positions, which --pin=%s cannot reach (use --pin=%s, or leave --pin out)",
		       exact ? "exact (single-step)" : "exit-pinned",
		       cfg->pin == VM_PIN_EXIT ? "exit" : cfg->pin == VM_PIN_STEP ? "step" :
		       cfg->pin == VM_PIN_PMU ? "pmu" : "pmu-sim",
		       exact ? "step" : "exit");
		return -EINVAL;
	}
	if (cfg->pin_set && (cfg->pin == VM_PIN_PMU || cfg->pin == VM_PIN_PMU_SIM))
		return 0;	/* pmu: checked, and refused here, at start-up */
	cfg->pin = exact ? VM_PIN_STEP : VM_PIN_EXIT;
	return 0;
}

int vm_replay__load_config(const char *path, struct vm_config *cfg)
{
	struct replay_reader *rd;
	const struct replay_machine *m;
	char err[512];
	int ret;

	ret = replay__reader_open(&rd, path, err, sizeof(err));
	if (ret) {
		pr_err("--replay %s: %s", path, err);
		return ret;
	}
	m = replay__reader_machine(rd);
	cfg->mem_size = m->mem_size;
	cfg->cmdline = keep(m->cmdline);
	cfg->cmdline_verbatim = true;
	cfg->rdtsc_patch = rdtsc_patch_sites(m) > 0;
	if (!cfg->kernel)
		cfg->kernel = keep(m->kernel.path);
	if (!cfg->initrd && m->initrd.path[0])
		cfg->initrd = keep(m->initrd.path);
	cfg->rtc_epoch = m->rtc_epoch;
	ret = load_backend(m, cfg);
	if (ret) {
		replay__reader_close(rd);
		return ret;
	}
	cfg->rtc_epoch_set = true;
	for (unsigned int k = 0; k < m->ndevices; k++)
		if (!strncmp(m->devices[k].name, "cpu:", 4))
			cfg->cpu_policy = keep(m->devices[k].name + 4);
	ret = load_disks(m, cfg);
	replay__reader_close(rd);
	return ret;
}
