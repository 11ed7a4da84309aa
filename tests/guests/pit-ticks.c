// SPDX-License-Identifier: Apache-2.0
/*
 * PIT channel 0 at 100 Hz through the PIC.  Ticks must arrive both while the
 * guest sleeps in HLT (an exit the VMM sees) and while it spins in a loop
 * with no exits at all, which under exit-pinned delivery needs the VMM to
 * kick the vCPU.  The work counted between ticks is printed so record and
 * replay runs can be compared figure for figure.  pit-ticks.hz=N sets the
 * rate (default 100): a single-stepped guest runs some thousand times
 * slower than the ticks, which must still leave it work to do between them.
 */
#include "rt.h"

#define HZ		100
#define HLT_TICKS	5
#define WORK_TICKS	20

static volatile unsigned long ticks;
static volatile unsigned long work;
/* work[] snapshot at each tick, taken in the handler */
static unsigned long snap[HLT_TICKS + WORK_TICKS + 8];

static void timer_irq(unsigned int irq)
{
	unsigned long t = ticks;

	(void)irq;
	if (t < sizeof(snap) / sizeof(snap[0]))
		snap[t] = work;
	ticks = t + 1;
}

static int fail(const char *why)
{
	rt_printf("pit-ticks: FAIL: %s\n", why);
	return 1;
}

int main(const void *zero_page)
{
	unsigned long start, end, zero_intervals = 0, total = 0, hz;
	uint16_t c0, c1 = 0;
	uint8_t status;
	unsigned int i;

	hz = rt_cmdline_ulong(rt_cmdline(zero_page), "pit-ticks.hz", HZ);
	if (hz < 19 || hz > 1000)
		hz = HZ;	/* the PIT's divisor is 16 bits: >= 19 Hz */
	rt_printf("pit-ticks: %lu Hz\n", hz);
	rt_pic_init();
	rt_irq_register(0, timer_irq);
	rt_pit_set_periodic((unsigned int)hz);

	status = rt_pit_read_status(0);
	rt_printf("pit-ticks: read-back status 0x%02x mode %u access %u\n",
		  status, (status >> 1) & 7, (status >> 4) & 3);
	/* Mode 2 may read back as 2 or 6 (bit 3 is don't-care). */
	if (((status >> 1) & 3) != 2)
		return fail("read-back status does not show mode 2");
	if (((status >> 4) & 3) != 3)
		return fail("read-back status does not show lobyte/hibyte");

	/* Time passes between exits; give it a bounded number of tries. */
	c0 = rt_pit_latch_count();
	for (i = 0; i < 1000; i++) {
		c1 = rt_pit_latch_count();
		if (c1 != c0)
			break;
	}
	rt_printf("pit-ticks: latched counts %u -> %u (%u reads)\n",
		  c0, c1, i + 1);
	if (c1 == c0)
		return fail("PIT count did not change between latched reads");

	rt_irq_unmask(0);

	/* Ticks while halted. */
	start = ticks;
	while (ticks - start < HLT_TICKS)
		rt_wait_irq();
	rt_printf("pit-ticks: %lu ticks waited in hlt\n", ticks - start);

	/*
	 * Ticks while spinning: nothing in this loop exits to the VMM.  The
	 * first interval is partial (it starts mid-tick) and is skipped:
	 * snap[start] is work at the first tick, snap[start + i + 1] at the
	 * end of full interval i.
	 */
	start = ticks;
	end = start + 1 + WORK_TICKS;
	rt_sti();
	while (ticks < end)
		work++;
	rt_cli();

	rt_printf("pit-ticks: %lu ticks, work per tick:", ticks);
	for (i = 0; i < WORK_TICKS; i++) {
		unsigned long w = snap[start + 1 + i] - snap[start + i];

		rt_printf(" %lu", w);
		total += w;
		if (!w)
			zero_intervals++;
	}
	rt_printf("\npit-ticks: total work %lu\n", total);

	if (ticks < HLT_TICKS + 1 + WORK_TICKS)
		return fail("too few ticks");
	/*
	 * A tick delayed past the next one (host scheduling, a slow kick)
	 * leaves two back-to-back with no work between them; tolerate a few,
	 * but not a timer that only fires in bursts.
	 */
	if (zero_intervals > WORK_TICKS / 4)
		return fail("no work done between most ticks");
	rt_puts("pit-ticks: PASS\n");
	return 0;
}
