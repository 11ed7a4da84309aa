// SPDX-License-Identifier: Apache-2.0
/*
 * A guest whose output depends on values the host hands it without an exit
 * to the VMM: RDTSC, RDTSCP, RDRAND and RDSEED, none of which KVM traps by
 * default.  Two plain runs print different output by design; a recording
 * reproduces it only if the VMM sees each of those instructions (the
 * single-step backend: `microvm --pin=step` steps every instruction and can
 * emulate them).  It is the test guest of that backend, and the one its
 * benchmark (bench/step-bench.sh) steps.
 *
 * Modes (on the command line, "tsc-rand.mode=..."):
 *
 * rand (default)  ROUNDS rounds, each: wait for a PIT tick in HLT, read
 *   RDTSC, RDTSCP and every RDRAND/RDSEED form below (retrying a read that
 *   reports no entropy, CF=0), fold all of them into a running hash, then a
 *   fixed stretch of work with interrupts on and a counter in memory, which
 *   a tick may land in (the handler notes where).  The handler also reads
 *   the TSC at each tick.  Printed: the CPUID bits, per instruction form its
 *   values, retries and #UDs, the TSC deltas between ticks, where ticks hit
 *   the work, the hash, and a final line.
 *   The forms cover the encodings a step backend must decode: RDRAND r32,
 *   r64 with REX.W, r64 with REX.W|B (%r9), r32 with REX.B only (%r9d), r16
 *   with the 66 prefix; RDSEED the same shapes on other registers.
 *
 * spin  a busy loop of tsc-rand.iters (default SPIN_ITERS) increments of a
 *   counter in memory with interrupts on, PIT ticks arriving meanwhile (the
 *   handler snapshots the counter): like pit-ticks, but a fixed amount of
 *   work instead of a fixed time, so that single-stepping it costs a known
 *   number of steps.  Its output depends only on where the ticks land.
 *
 * tsc-rand.hz=N sets the PIT rate (default HZ).  It is low on purpose: under
 * single-step a tick's handler (~100 instructions, 2-3 exits) must stay
 * small against the steps between two ticks, or the guest does nothing but
 * take ticks.
 *
 * RDTSCP, RDRAND and RDSEED may raise #UD where the VMM's CPUID policy
 * hides them and the host enforces that (Intel with RDRAND/RDSEED exiting,
 * KVM intercepting RDTSCP); on the nested tier's AMD SVM they all run
 * although CPUID says no.  The #UD handler recognises these instructions
 * only, steps RIP over them and the guest reports the #UD and carries on;
 * any other #UD is fatal as usual.  Rand mode first checks that path with
 * LOCK RDRAND, #UD architecturally (a host that executes it is noted).
 *
 * Size, counted as KVM single-steps in the nested tier: ~84k in rand mode,
 * ~145k in spin mode (20000 iterations of 6 instructions), of which ~16.5k
 * are the runtime's REP STOSB zeroing .bss (a single-step stops after each
 * iteration of a string instruction).  Interrupt handlers are not in these
 * counts: delivery through an interrupt gate clears TF, so KVM's
 * TF-based single-step does not stop in a handler until its IRET.  A step
 * backend must take care of that itself if it wants to see them (the tick
 * handler here executes RDTSC).  Exit status 0.
 */
#include "rt.h"

#define HZ		50
#define ROUNDS		32
#define WORK		128	/* work iterations per round, interrupts on */
#define MAX_TRIES	16	/* RDRAND/RDSEED reads before giving up */
#define SPIN_ITERS	20000
#define NR_TICK_TSC	64	/* TSC values kept, at the first ticks */
#define NR_SNAP		12	/* spin counter values printed, at ticks */

#define CPUID1_ECX_RDRAND	(1u << 30)
#define CPUID7_EBX_RDSEED	(1u << 18)
#define CPUID81_EDX_RDTSCP	(1u << 27)

static volatile unsigned long ticks;
static volatile uint64_t tick_tsc[NR_TICK_TSC];
/* The work counter and whether main is inside a work stretch. */
static volatile unsigned long work;
static volatile int in_work;
static volatile unsigned long work_hits, work_hit_sum;
static unsigned long snap[NR_SNAP];

/* Set by the #UD handler for the instruction the wrapper just ran. */
static volatile int ud_flag;
static volatile uint64_t ud_rip;

static uint64_t hash = 0xcbf29ce484222325ull;

static inline void mix(uint64_t v)
{
	hash = (hash ^ v) * 0x100000001b3ull;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void timer_irq(unsigned int irq)
{
	unsigned long t = ticks;

	(void)irq;
	if (t < NR_TICK_TSC)
		tick_tsc[t] = rdtsc();
	if (in_work) {
		work_hits++;
		work_hit_sum += work;
		if (work_hits <= NR_SNAP)
			snap[work_hits - 1] = work;
	}
	ticks = t + 1;
}

/*
 * #UD: only for the instructions probed here.  Decode legacy 66 and F0
 * (LOCK) and REX prefixes, then 0F C7 /6 (RDRAND) or /7 (RDSEED) with a
 * register operand, or 0F 01 F9 (RDTSCP), and resume after the instruction.
 */
static int ud_handler(struct rt_frame *f)
{
	const uint8_t *p = (const uint8_t *)f->rip;
	unsigned int n = 0;

	while (n < 3 && (p[n] == 0x66 || p[n] == 0xf0 || (p[n] & 0xf0) == 0x40))
		n++;
	if (p[n] != 0x0f)
		return 0;
	if (p[n + 1] == 0xc7 && (p[n + 2] & 0xc0) == 0xc0 &&
	    ((p[n + 2] >> 3) & 7) >= 6)
		;
	else if (p[n + 1] == 0x01 && p[n + 2] == 0xf9)
		;
	else
		return 0;
	ud_rip = f->rip;
	f->rip += n + 3;
	ud_flag = 1;
	return 1;
}

/*
 * One instruction form each, on the register its name says (a fixed
 * register, so the encoding is the one named).  Returns 1 with a value,
 * 0 when the instruction reported no entropy (CF=0), -1 on #UD.  After a
 * #UD the SETC runs on the interrupted flags and its result is ignored.
 */
#define RAND_FN(name, insn, decl, cons)					\
	static int name(uint64_t *out)					\
	{								\
		decl = 0;						\
		uint8_t ok = 0;						\
									\
		ud_flag = 0;						\
		__asm__ volatile(insn "\n\tsetc %1"			\
				 : "+" cons(v), "+q"(ok) : : "cc", "memory"); \
		if (ud_flag)						\
			return -1;					\
		*out = v;						\
		return ok;						\
	}

RAND_FN(rdrand_eax, "rdrand %%eax", uint32_t v, "a")
RAND_FN(rdrand_rbx, "rdrand %%rbx", uint64_t v, "b")
RAND_FN(rdrand_r9, "rdrand %%r9", register uint64_t v __asm__("r9"), "r")
RAND_FN(rdrand_r9d, "rdrand %%r9d", register uint64_t v __asm__("r9"), "r")
RAND_FN(rdrand_cx, "rdrand %%cx", uint16_t v, "c")
RAND_FN(rdseed_eax, "rdseed %%eax", uint32_t v, "a")
RAND_FN(rdseed_rdx, "rdseed %%rdx", uint64_t v, "d")
RAND_FN(rdseed_r10d, "rdseed %%r10d", register uint64_t v __asm__("r10"), "r")
RAND_FN(rdseed_si, "rdseed %%si", uint16_t v, "S")
/*
 * LOCK on RDRAND is #UD on every CPU: a check that the #UD path works on
 * any host (and that a backend emulating RDRAND does not emulate this).
 * The assembler refuses "lock rdrand", hence the byte.
 */
RAND_FN(lock_rdrand_eax, ".byte 0xf0; rdrand %%eax", uint32_t v, "a")

static uint32_t tsc_aux;

/* RDTSCP has no failure but #UD; the TSC and TSC_AUX both go in the hash. */
static int rdtscp_fn(uint64_t *out)
{
	uint32_t lo = 0, hi = 0, aux = 0;

	ud_flag = 0;
	__asm__ volatile("rdtscp" : "+a"(lo), "+d"(hi), "+c"(aux) : : "memory");
	if (ud_flag)
		return -1;
	tsc_aux = aux;
	*out = (uint64_t)hi << 32 | lo;
	return 1;
}

struct site {
	const char *name;
	int (*fn)(uint64_t *out);
	unsigned long values, retries, fails, uds;
};

static struct site sites[] = {
	{ .name = "rdtscp", .fn = rdtscp_fn },
	{ .name = "rdrand %eax", .fn = rdrand_eax },
	{ .name = "rdrand %rbx", .fn = rdrand_rbx },
	{ .name = "rdrand %r9", .fn = rdrand_r9 },
	{ .name = "rdrand %r9d", .fn = rdrand_r9d },
	{ .name = "rdrand %cx", .fn = rdrand_cx },
	{ .name = "rdseed %eax", .fn = rdseed_eax },
	{ .name = "rdseed %rdx", .fn = rdseed_rdx },
	{ .name = "rdseed %r10d", .fn = rdseed_r10d },
	{ .name = "rdseed %si", .fn = rdseed_si },
};
#define NR_SITES	(sizeof(sites) / sizeof(sites[0]))

static void read_site(struct site *s)
{
	unsigned int tries;
	uint64_t v;

	for (tries = 0; tries < MAX_TRIES; tries++) {
		int r = s->fn(&v);

		if (r < 0) {
			if (!s->uds++)
				rt_printf("tsc-rand: %s: #UD at rip 0x%lx, carrying on\n",
					  s->name, (unsigned long)ud_rip);
			mix(0xdead0000u + tries);
			return;
		}
		if (r) {
			s->values++;
			mix(v);
			if (s->fn == rdtscp_fn)
				mix(tsc_aux);
			return;
		}
		s->retries++;
	}
	s->fails++;
	mix(0xfa11u);
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
		  uint32_t *d)
{
	__asm__ volatile("cpuid"
			 : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(0));
}

static void print_cpuid(void)
{
	uint32_t a, b, c, d, max, ext;
	int rdrand, rdseed = 0, rdtscp = 0;

	cpuid(0, &max, &b, &c, &d);
	cpuid(1, &a, &b, &c, &d);
	rdrand = !!(c & CPUID1_ECX_RDRAND);
	if (max >= 7) {
		cpuid(7, &a, &b, &c, &d);
		rdseed = !!(b & CPUID7_EBX_RDSEED);
	}
	cpuid(0x80000000u, &ext, &b, &c, &d);
	if (ext >= 0x80000001u) {
		cpuid(0x80000001u, &a, &b, &c, &d);
		rdtscp = !!(d & CPUID81_EDX_RDTSCP);
	}
	rt_printf("tsc-rand: cpuid: rdrand %d rdseed %d rdtscp %d\n",
		  rdrand, rdseed, rdtscp);
}

static int rand_mode(void)
{
	uint64_t d, dmin = ~0ull, dmax = 0;
	unsigned long i, r, nd;

	print_cpuid();
	if (lock_rdrand_eax(&d) >= 0)
		/*
		 * Architecturally #UD, but the PVM-backed hosts' instruction
		 * emulator executes it: said, not fatal (the host's doing).
		 * microvm --pin=step raises the #UD itself; the replay test
		 * checks that line.
		 */
		rt_puts("tsc-rand: note: lock rdrand %eax executed without #UD on this host\n");
	else
		rt_printf("tsc-rand: lock rdrand %%eax: #UD at rip 0x%lx, handled\n",
			  (unsigned long)ud_rip);
	rt_irq_unmask(0);
	for (r = 0; r < ROUNDS; r++) {
		struct site *s;

		rt_wait_irq();
		mix(rdtsc());
		for (s = sites; s < sites + NR_SITES; s++)
			read_site(s);

		in_work = 1;
		rt_sti();
		for (i = 0; i < WORK; i++) {
			work++;
			mix(work);
		}
		rt_cli();
		in_work = 0;
	}
	rt_irq_mask(0);

	for (i = 0; i < NR_SITES; i++)
		rt_printf("tsc-rand: %s: %lu values, %lu retries, %lu failed, %lu #UD\n",
			  sites[i].name, sites[i].values, sites[i].retries,
			  sites[i].fails, sites[i].uds);

	nd = ticks < NR_TICK_TSC ? ticks : NR_TICK_TSC;
	rt_puts("tsc-rand: tsc deltas between ticks:");
	for (i = 1; i < nd; i++) {
		d = tick_tsc[i] - tick_tsc[i - 1];
		if (i <= 6)
			rt_printf(" %lu", (unsigned long)d);
		dmin = d < dmin ? d : dmin;
		dmax = d > dmax ? d : dmax;
	}
	if (nd > 1)
		rt_printf(" ... min %lu max %lu over %lu\n", (unsigned long)dmin,
			  (unsigned long)dmax, nd - 1);
	else
		rt_puts(" none\n");
	rt_printf("tsc-rand: ticks in the work stretches: %lu (work at ticks: sum %lu)\n",
		  work_hits, work_hit_sum);
	rt_printf("tsc-rand: hash 0x%016lx\n", (unsigned long)hash);
	rt_printf("tsc-rand: done: %u rounds, %lu ticks\n", ROUNDS, ticks);
	return 0;
}

static int spin_mode(unsigned long iters)
{
	unsigned long i, n;

	rt_printf("tsc-rand: spin: %lu iterations\n", iters);
	in_work = 1;
	rt_irq_unmask(0);
	rt_sti();
	while (work < iters)
		work++;
	rt_cli();
	in_work = 0;
	rt_irq_mask(0);

	n = work_hits < NR_SNAP ? work_hits : NR_SNAP;
	rt_printf("tsc-rand: spin: %lu ticks, counter at ticks:", work_hits);
	for (i = 0; i < n; i++)
		rt_printf(" %lu", snap[i]);
	rt_printf("%s\n", work_hits > n ? " ..." : "");
	rt_printf("tsc-rand: done: spin %lu iterations, %lu ticks\n", work,
		  ticks);
	return 0;
}

int main(const void *zero_page)
{
	const char *cmdline = rt_cmdline(zero_page), *mode;
	unsigned long hz;
	unsigned int len;
	int spin;

	mode = rt_cmdline_arg(cmdline, "tsc-rand.mode", &len);
	spin = mode && len == 4 && !memcmp(mode, "spin", 4);
	hz = rt_cmdline_ulong(cmdline, "tsc-rand.hz", HZ);
	if (hz < 19 || hz > 10000)
		hz = HZ;	/* the PIT's divisor is 16 bits: >= 19 Hz */

	rt_exc_register(6, ud_handler);
	rt_pic_init();
	rt_irq_register(0, timer_irq);
	rt_pit_set_periodic((unsigned int)hz);
	rt_printf("tsc-rand: mode %s, PIT %lu Hz\n", spin ? "spin" : "rand", hz);
	if (spin)
		return spin_mode(rt_cmdline_ulong(cmdline, "tsc-rand.iters",
					       SPIN_ITERS));
	return rand_mode();
}
