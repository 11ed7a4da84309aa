// SPDX-License-Identifier: Apache-2.0
/*
 * The ceiling of a single-step backend on this host: a bare KVM loop that
 * single-steps a tiny 64-bit guest and does, per step, only what any step
 * backend must do.  A backend (microvm --pin=step) adds decoding, counting
 * and recording on top, so its steps/s over this one's is the share of the
 * step rate it keeps (bench/step-bench.sh prints that ratio).
 *
 * The VM has one memory slot (2 MiB at guest physical 0), identity-mapped
 * with one 2 MiB page, and is entered directly in long mode like microvm's
 * guests.  The guest is an endless loop of ordinary instructions (ALU,
 * loads, stores, LEA) with two conditional branches, one taken every other
 * iteration and one falling through every eighth, so both directions of a
 * Jcc are stepped.  KVM_SET_GUEST_DEBUG(ENABLE | SINGLESTEP) stays on for
 * the whole run; no interrupts, no exits other than KVM_EXIT_DEBUG.
 *
 * Variants, each per step:
 *   run    KVM_RUN, check the exit is KVM_EXIT_DEBUG, read the RIP KVM
 *          reports with it (kvm_run.debug.arch.pc: the linear RIP, which is
 *          RIP here as CS.base is 0).  The floor of any step backend.
 *   regs   run + KVM_GET_REGS, as a backend that wants the GPRs (or gets
 *          RIP that way) does.
 *   sync   run with KVM_CAP_SYNC_REGS: KVM copies the GPRs into kvm_run at
 *          every exit, no extra ioctl ("n/a" where KVM lacks it).
 * Before timing, a check steps the loop from its entry and compares the
 * number of steps with the instruction count of the path the guest's own
 * counters say it took: every exit must be exactly one instruction, and
 * debug.arch.pc must equal RIP.
 *
 * Rounds are interleaved (run, regs, sync, run, regs, ...), each variant
 * stepping for --seconds; the figure is the median over --rounds.  The host
 * is shared and noisy: compare variants of one run, not runs.
 *
 *   step-ceiling [--rounds N] [--seconds S] [--variant run|regs|sync]...
 *
 * Output: one line per round, then one per variant:
 *   step-ceiling: VARIANT: R steps/s (median of N rounds, U us/step, ...)
 * Exit status: 0; 77 when there is no usable /dev/kvm or no single-step
 * (the reason on stderr); 1 when the VM misbehaves; 2 for bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP	77

#define MEM_SIZE	(2u << 20)
#define PML4_ADDR	0x1000u
#define PDPT_ADDR	0x2000u
#define PD_ADDR		0x3000u
#define GDT_ADDR	0x4000u
#define TSS_ADDR	0x5000u
#define DATA_ADDR	0x8000u	/* the guest's loads and stores */
#define CODE_ADDR	0x10000u

#define SEL_CODE	0x10
#define SEL_DATA	0x18
#define SEL_TSS		0x20

#define CR0_PE		(1ull << 0)
#define CR0_ET		(1ull << 4)
#define CR0_NE		(1ull << 5)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)

#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_PS		(1ull << 7)

#define CHECK_ITERS	200	/* loop iterations the check steps through */
#define MAX_ROUNDS	101
#define CLOCK_EVERY	16	/* steps between two looks at the clock */

/*
 * The guest, assembled here and copied to CODE_ADDR: position independent
 * (relative branches only; the data address is absolute).  Per iteration,
 * with RCX the iteration number and EDX counting down from 8:
 *   odd RCX:  9 instructions (the JNZ to 1: is taken)
 *   even RCX: 11 (JNZ falls through, XOR and the second store run)
 *   plus 2 when EDX reaches 0 (second JNZ falls through: MOV, JMP).
 * check_steps() relies on these counts; keep them in step with the code.
 */
__asm__(
	".pushsection .rodata\n"
	".globl step_guest_start, step_guest_head, step_guest_end\n"
	"step_guest_start:\n"
	"	movl	$" "0x8000" ", %edi\n"	/* DATA_ADDR */
	"	xorl	%ecx, %ecx\n"
	"	movl	$8, %edx\n"
	"step_guest_head:\n"
	"	incq	%rcx\n"
	"	movq	(%rdi), %rax\n"
	"	addq	%rcx, %rax\n"
	"	testb	$1, %cl\n"
	"	jnz	1f\n"
	"	xorq	%rbx, %rax\n"
	"	movq	%rax, 8(%rdi)\n"
	"1:	movq	%rax, (%rdi)\n"
	"	leaq	1(%rbx,%rax,2), %rbx\n"
	"	decl	%edx\n"
	"	jnz	step_guest_head\n"
	"	movl	$8, %edx\n"
	"	jmp	step_guest_head\n"
	"step_guest_end:\n"
	".popsection\n");
extern const unsigned char step_guest_start[], step_guest_head[],
	step_guest_end[];

#define PROLOGUE_INSNS	3
#define ITER_ODD	9
#define ITER_EVEN	11
#define ITER_WRAP	2

enum variant { V_RUN, V_REGS, V_SYNC, V_NR };
static const char *const variant_names[V_NR] = { "run", "regs", "sync" };

struct vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	bool have_sync_regs;
};

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("step-ceiling: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static __attribute__((format(printf, 1, 2), noreturn)) void skip(const char *fmt, ...);
static void skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("step-ceiling: SKIP: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_SKIP);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Never O_CREAT, and look before opening: as root, a careless open of a
 * missing /dev/kvm for writing would create it as a regular file.
 */
static int open_kvm(void)
{
	struct stat st;
	int fd;

	if (stat("/dev/kvm", &st) < 0)
		skip("no /dev/kvm on this host (%s): KVM is not loaded or this machine has no virtualisation; try the nested tier (tests/nested/run.sh)",
		     strerror(errno));
	if (!S_ISCHR(st.st_mode))
		skip("/dev/kvm is not a character device (remove it; KVM is not available)");
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip("cannot open /dev/kvm: %s%s", strerror(errno),
		     errno == EACCES ? " (add the user to the kvm group)" : "");
	return fd;
}

static void kvm_set_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid;
	unsigned int nent = 256;

	/*
	 * KVM refuses EFER.LME in KVM_SET_SREGS unless the vCPU's CPUID has
	 * long mode: give it everything KVM supports, which is the least
	 * setup that works.
	 */
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			die("out of memory");
		cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || nent >= 4096)
			die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(cpuid);
		nent *= 2;
	}
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2: %s", strerror(errno));
	free(cpuid);
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;	/* 64-bit code: L=1, D=0 */
	s->db = !code;
}

/* Page tables, GDT and TSS in guest memory, as a real entry would have. */
static void build_memory(struct vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(void *)(vm->mem + PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(void *)(vm->mem + PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(void *)(vm->mem + PD_ADDR);
	uint64_t *gdt = (uint64_t *)(void *)(vm->mem + GDT_ADDR);
	size_t code_len = (size_t)(step_guest_end - step_guest_start);

	pml4[0] = PDPT_ADDR | PTE_P | PTE_RW;
	pdpt[0] = PD_ADDR | PTE_P | PTE_RW;
	pd[0] = 0 | PTE_P | PTE_RW | PTE_PS;	/* 0-2 MiB, identity */

	gdt[SEL_CODE / 8] = 0x00af9b000000ffffull;	/* code64, P, DPL0 */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffull;	/* data, 4 GiB */
	/* 64-bit busy TSS (type 0xb), limit 103: two GDT slots. */
	gdt[SEL_TSS / 8] = 0x00008b0000000067ull |
			   ((uint64_t)(TSS_ADDR & 0xffffff) << 16) |
			   ((uint64_t)(TSS_ADDR >> 24) << 56);
	gdt[SEL_TSS / 8 + 1] = 0;

	memcpy(vm->mem + CODE_ADDR, step_guest_start, code_len);
}

static void setup_vcpu(struct vm *vm)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS: %s", strerror(errno));
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 6 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;	/* any exception: triple fault, a clean exit */
	flat_seg(&sregs.cs, SEL_CODE, 0xb, true);
	flat_seg(&sregs.ds, SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = TSS_ADDR;
	sregs.tr.limit = 103;
	sregs.tr.selector = SEL_TSS;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 0x2;
	sregs.ldt.unusable = 1;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS (long mode entry): %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS: %s", strerror(errno));
}

static void vm_create(struct vm *vm)
{
	struct kvm_userspace_memory_region slot;
	struct kvm_guest_debug dbg;
	int api, sync;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = open_kvm();
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		skip("KVM API version %d, this program speaks %d", api,
		     KVM_API_VERSION);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) <= 0)
		skip("this KVM has no KVM_CAP_SET_GUEST_DEBUG: no single-step");
	sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	vm->have_sync_regs = sync > 0 && (sync & KVM_SYNC_X86_REGS);

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap of guest memory: %s", strerror(errno));
	memset(&slot, 0, sizeof(slot));
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = MEM_SIZE;
	slot.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		die("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		die("KVM_CREATE_VCPU: %s", strerror(errno));
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size < (long)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		die("mmap of kvm_run: %s", strerror(errno));

	kvm_set_cpuid(vm);
	build_memory(vm);
	setup_vcpu(vm);

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
		skip("KVM_SET_GUEST_DEBUG(SINGLESTEP): %s", strerror(errno));
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_DEBUG: return "KVM_EXIT_DEBUG";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (triple fault)";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	default: return "another exit";
	}
}

/* One step: KVM_RUN and the check that it stopped for the step. */
static inline uint64_t step(struct vm *vm)
{
	while (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			die("KVM_RUN: %s", strerror(errno));
	}
	if (vm->run->exit_reason != KVM_EXIT_DEBUG)
		die("KVM_RUN: exit reason %u (%s) where a single-step KVM_EXIT_DEBUG was expected, at pc %#llx",
		    vm->run->exit_reason, exit_name(vm->run->exit_reason),
		    (unsigned long long)vm->run->debug.arch.pc);
	return vm->run->debug.arch.pc;
}

static void get_regs(struct vm *vm, struct kvm_regs *regs)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, regs) < 0)
		die("KVM_GET_REGS: %s", strerror(errno));
}

/*
 * Step from the entry through CHECK_ITERS iterations and compare the steps
 * taken with the instructions the path had, from the loop's counters as the
 * guest itself keeps them (RCX, EDX).  Restores nothing: the timed rounds
 * simply carry on stepping the same loop.
 */
static void check_steps(struct vm *vm)
{
	const uint64_t head = CODE_ADDR + (uint64_t)(step_guest_head - step_guest_start);
	const uint64_t end = CODE_ADDR + (uint64_t)(step_guest_end - step_guest_start);
	uint64_t steps = 0, expect = PROLOGUE_INSNS, rcx = 0, edx = 8;
	unsigned int iters = 0;
	struct kvm_regs regs;

	get_regs(vm, &regs);
	if (regs.rip != CODE_ADDR)
		die("check: RIP %#llx before the first step, expected %#x",
		    (unsigned long long)regs.rip, CODE_ADDR);
	while (iters < CHECK_ITERS) {
		uint64_t pc = step(vm);

		steps++;
		get_regs(vm, &regs);
		if (pc != regs.rip)
			die("check: step %" PRIu64 ": debug.arch.pc %#llx but RIP %#llx",
			    steps, (unsigned long long)pc,
			    (unsigned long long)regs.rip);
		if (pc < CODE_ADDR || pc >= end)
			die("check: step %" PRIu64 ": RIP %#llx outside the guest's code",
			    steps, (unsigned long long)pc);
		if (pc != head)
			continue;
		/* At the head: the previous iteration (or the prologue) is done. */
		if (steps != expect)
			die("check: %" PRIu64 " steps to reach iteration %u, the path has %" PRIu64 " instructions: a step is not one instruction",
			    steps, iters + 1, expect);
		if (regs.rcx != rcx || (regs.rdx & 0xffffffff) != edx)
			die("check: iteration %u: RCX %llu EDX %llu, expected %" PRIu64 " %" PRIu64,
			    iters + 1, (unsigned long long)regs.rcx,
			    (unsigned long long)(regs.rdx & 0xffffffff), rcx, edx);
		/* The iteration that starts here, as the guest will run it. */
		rcx++;
		expect += (rcx & 1) ? ITER_ODD : ITER_EVEN;
		if (--edx == 0) {
			expect += ITER_WRAP;
			edx = 8;
		}
		iters++;
	}
	printf("step-ceiling: check: %" PRIu64 " steps through %u iterations, one instruction each, debug.arch.pc == RIP\n",
	       steps, iters);
}

/* Step for ns nanoseconds as variant v; returns steps per second. */
static double run_variant(struct vm *vm, enum variant v, uint64_t ns)
{
	volatile uint64_t sink = 0;
	struct kvm_regs regs;
	uint64_t t0, t, n = 0;
	unsigned int i;

	vm->run->kvm_valid_regs = v == V_SYNC ? KVM_SYNC_X86_REGS : 0;
	vm->run->kvm_dirty_regs = 0;
	t0 = now_ns();
	do {
		for (i = 0; i < CLOCK_EVERY; i++) {
			uint64_t pc = step(vm);

			switch (v) {
			case V_RUN:
				sink += pc;
				break;
			case V_REGS:
				get_regs(vm, &regs);
				sink += regs.rip;
				break;
			case V_SYNC:
				sink += vm->run->s.regs.regs.rip;
				break;
			case V_NR:
				break;
			}
		}
		n += CLOCK_EVERY;
		t = now_ns();
	} while (t - t0 < ns);
	vm->run->kvm_valid_regs = 0;
	(void)sink;
	return (double)n * 1e9 / (double)(t - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: step-ceiling [--rounds N] [--seconds S] [--variant run|regs|sync]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double rates[V_NR][MAX_ROUNDS];
	bool want[V_NR] = { false }, any = false;
	unsigned int rounds = 5, r;
	double seconds = 1.0;
	struct vm vm;
	int i, v;

	for (i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			unsigned long n = strtoul(argv[++i], &end, 10);

			if (*end || n < 1 || n > MAX_ROUNDS)
				usage();
			rounds = (unsigned int)n;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], &end);
			if (*end || !(seconds > 0.0) || seconds > 3600.0)
				usage();
		} else if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
			i++;
			for (v = 0; v < V_NR; v++)
				if (!strcmp(argv[i], variant_names[v]))
					break;
			if (v == V_NR)
				usage();
			want[v] = any = true;
		} else {
			usage();
		}
	}
	if (!any)
		want[V_RUN] = want[V_REGS] = want[V_SYNC] = true;

	vm_create(&vm);
	printf("step-ceiling: 64-bit guest, a loop of 9/11/13 instructions with 2 conditional branches; %u interleaved rounds of %.2f s per variant\n",
	       rounds, seconds);
	check_steps(&vm);
	if (want[V_SYNC] && !vm.have_sync_regs) {
		printf("step-ceiling: sync: n/a (no KVM_CAP_SYNC_REGS with KVM_SYNC_X86_REGS)\n");
		want[V_SYNC] = false;
	}
	fflush(stdout);

	for (r = 0; r < rounds; r++) {
		printf("step-ceiling: round %u:", r + 1);
		for (v = 0; v < V_NR; v++) {
			if (!want[v])
				continue;
			rates[v][r] = run_variant(&vm, (enum variant)v,
						  (uint64_t)(seconds * 1e9));
			printf(" %s %.0f", variant_names[v], rates[v][r]);
		}
		printf(" steps/s\n");
		fflush(stdout);
	}
	for (v = 0; v < V_NR; v++) {
		double med;

		if (!want[v])
			continue;
		qsort(rates[v], rounds, sizeof(double), cmp_double);
		med = rounds % 2 ? rates[v][rounds / 2] :
				   (rates[v][rounds / 2 - 1] + rates[v][rounds / 2]) / 2;
		printf("step-ceiling: %s: %.0f steps/s (median of %u rounds, %.2f us/step; min %.0f, max %.0f)\n",
		       variant_names[v], med, rounds, 1e6 / med, rates[v][0],
		       rates[v][rounds - 1]);
	}
	return 0;
}
