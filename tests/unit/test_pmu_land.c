// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the PMU landing logic and its calibration
 * (vmm/pmu_land.c, vmm/pmu_selftest.c) against a simulated vCPU and
 * counter (pmu_sim.c).  The truth is the simulation's own count of
 * retired instructions: a landing is right only if the guest stopped on
 * the very dynamic instruction a pure single-step run named.
 */
#include <string.h>

#include "tests/unit/check.h"
#include "tests/unit/pmu_sim.h"

#define MARGIN 32

/*
 * About 500 branches between exits: a counted loop (rip repeats, rcx
 * changes), a REP (rip and branches repeat, rcx changes), a loop on a
 * memory counter (rip, rcx and branches-per-iteration all repeat: only the
 * branch count tells iterations apart), a data-dependent branch, an exit.
 */
static const struct sim_insn prog_mixed[] = {
	{ SIM_SET_RCX, 300, 0 },	/* 0 */
	{ SIM_NOP, 0, 0 },		/* 1 */
	{ SIM_DEC_JNZ, 0, 1 },		/* 2: back to 1 */
	{ SIM_SET_RCX, 9, 0 },		/* 3 */
	{ SIM_REP, 0, 0 },		/* 4 */
	{ SIM_MEM_LOOP, 200, 5 },	/* 5: to itself */
	{ SIM_JCC_RAND, 0, 8 },		/* 6 */
	{ SIM_NOP, 0, 0 },		/* 7 */
	{ SIM_EXIT, 0, 0 },		/* 8 */
	{ SIM_JMP, 0, 0 },		/* 9 */
};

/* A calibration guest: every interval exactly CALIB_BRANCHES branches. */
#define CALIB_BRANCHES 1000
static const struct sim_insn prog_calib[] = {
	{ SIM_MEM_LOOP, ~0ULL, 1 },		/* always taken: 1 branch */
	{ SIM_SET_RCX, CALIB_BRANCHES - 1, 0 },
	{ SIM_DEC_JNZ, 0, 2 },			/* CALIB_BRANCHES - 1 */
	{ SIM_EXIT, 0, 0 },
	{ SIM_JMP, 0, 0 },
};

struct point {
	struct replay_pos pos;
	u64 retired;		/* the truth: instructions retired to get here */
};

#define MAX_POINTS 8192
static struct point points[MAX_POINTS];

/*
 * The single-step reference, independent of pmu_land.c: step every
 * instruction and keep the position as docs/pinning.md defines it.
 */
struct ref {
	struct sim sim;
	struct replay_pos pos;
};

static void ref_init(struct ref *r, const struct sim_insn *prog, u32 len)
{
	sim__init(&r->sim, prog, len);
	memset(&r->pos, 0, sizeof(r->pos));
	r->pos.exact = true;
	r->pos.rip = SIM_RIP(0);
}

static void ref_step(struct ref *r)
{
	struct pmu_vcpu_step st;

	CHECK_EQ(sim__vcpu_ops.step(&r->sim, &st), 0);
	if (st.exit) {
		r->pos.exits++;
		r->pos.branches = 0;
		r->pos.insns = 0;
	} else if (st.branch) {
		r->pos.branches++;
		r->pos.insns = 0;
	} else {
		r->pos.insns++;
	}
	r->pos.rip = st.rip;
	r->pos.rcx = st.rcx;
}

/* Record by single-stepping: a point every `stride` instructions. */
static u32 record_by_stepping(const struct sim_insn *prog, u32 len, u64 upto,
			      u64 stride)
{
	struct ref r;
	u32 n = 0;

	ref_init(&r, prog, len);
	while (r.sim.retired < upto && n < MAX_POINTS) {
		if (r.sim.retired % stride == 0)
			points[n++] = (struct point){ r.pos, r.sim.retired };
		ref_step(&r);
	}
	return n;
}

static void land_init(struct pmu_land *l, struct sim *s)
{
	pmu_land__init(l, &sim__vcpu_ops, s, &sim__counter_ops, s, MARGIN);
	CHECK_EQ(pmu_land__begin(l, 0, SIM_RIP(0), 0), 0);
}

/* Reach `t`, crossing the synchronous exits before it. */
static enum pmu_land_status reach(struct pmu_land *l,
				  const struct replay_pos *t,
				  struct pmu_land_result *res)
{
	enum pmu_land_status st;

	while ((st = pmu_land__reach(l, t, res)) == PMU_LAND_EXIT)
		CHECK_EQ(pmu_land__begin(l, l->cur.exits + 1, l->cur.rip,
					 l->cur.rcx), 0);
	return st;
}

/* Replay points[0..n) under the PMU: every landing exact.  Failures. */
static u32 replay_with_pmu(struct sim *s, u32 n, struct pmu_land *l)
{
	struct pmu_land_result res;
	u32 i, bad = 0;

	land_init(l, s);
	for (i = 0; i < n; i++) {
		if (reach(l, &points[i].pos, &res) != PMU_LAND_OK ||
		    s->retired != points[i].retired) {
			char b[160];

			if (bad++ < 3)
				fprintf(stderr, "point %u (%s, retired %llu): %s, %s, retired %llu\n",
					i, replay__pos_str(&points[i].pos, b, sizeof(b)),
					(unsigned long long)points[i].retired,
					pmu_land__status_str(res.status), res.msg,
					(unsigned long long)s->retired);
		}
	}
	return bad;
}

static void test_exact_landings(void)
{
	/* Branches, then instructions (which may retire more branches). */
	static const u64 skids[] = { 0, 1, 7, MARGIN - 3, MARGIN - 1 };
	static const u32 skid_insns[] = { 0, 3, 1, 2, 0 };
	struct pmu_land l;
	struct sim s;
	u32 n, i;

	/* Every instruction of the first 8 intervals: stepping mostly. */
	n = record_by_stepping(prog_mixed, ARRAY_SIZE(prog_mixed), 4000, 1);
	CHECK_EQ(n, 4000);
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	s.skid = 3;
	CHECK_EQ(replay_with_pmu(&s, n, &l), 0);

	/* Sparse targets: the counter does the long stretches. */
	n = record_by_stepping(prog_mixed, ARRAY_SIZE(prog_mixed), 2000000, 331);
	CHECK(n > 6000);
	for (i = 0; i < ARRAY_SIZE(skids); i++) {
		sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
		s.skid = skids[i];
		s.skid_insns = skid_insns[i];
		CHECK_EQ(replay_with_pmu(&s, n, &l), 0);
		CHECK(l.stats.overflows > n / 4);
		CHECK(l.stats.max_skid >= skids[i]);
		CHECK(l.stats.max_skid <= skids[i] + skid_insns[i]);
		CHECK(l.stats.steps < s.retired / 2);
	}
}

/* Targets inside the memory loop, where only the branch count differs. */
static void test_tight_loop(void)
{
	struct pmu_land_result res;
	struct pmu_land l;
	struct ref r;
	struct sim s;
	u32 n = 0, i;

	ref_init(&r, prog_mixed, ARRAY_SIZE(prog_mixed));
	while (n < 400) {
		if (r.sim.pc == 5)
			points[n++] = (struct point){ r.pos, r.sim.retired };
		ref_step(&r);
	}
	/* The loop's positions repeat rip, rcx and insns. */
	CHECK_EQ(points[10].pos.rip, points[11].pos.rip);
	CHECK_EQ(points[10].pos.rcx, points[11].pos.rcx);
	CHECK_EQ(points[10].pos.insns, points[11].pos.insns);
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	s.skid = 3;
	land_init(&l, &s);
	/* Every other one, then back to each single one from scratch. */
	for (i = 0; i < n; i += 2) {
		CHECK_EQ(reach(&l, &points[i].pos, &res), PMU_LAND_OK);
		CHECK_EQ(s.retired, points[i].retired);
	}
	for (i = 0; i < n; i += 37) {
		sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
		s.skid = MARGIN - 1;
		land_init(&l, &s);
		CHECK_EQ(reach(&l, &points[i].pos, &res), PMU_LAND_OK);
		CHECK_EQ(s.retired, points[i].retired);
	}
}

/* A target far into an interval: inside its memory loop. */
static const struct point *far_point(void)
{
	u32 n = record_by_stepping(prog_mixed, ARRAY_SIZE(prog_mixed), 5000, 1);
	u32 i;

	for (i = 0; i < n; i++)
		if (points[i].pos.branches >= 310 && points[i].pos.exits == 2)
			return &points[i];
	CHECK(0);
	return &points[0];
}

static void test_skid_beyond_margin(void)
{
	static const u64 skids[] = { MARGIN, MARGIN + 1, 3 * MARGIN };
	const struct point *p = far_point();
	struct pmu_land_result res;
	struct pmu_land l;
	struct sim s;
	u32 i;

	for (i = 0; i < ARRAY_SIZE(skids); i++) {
		sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
		s.skid = skids[i];
		s.skid_insns = 2;
		land_init(&l, &s);
		CHECK_EQ(reach(&l, &p->pos, &res), PMU_LAND_SKID_PAST_TARGET);
		CHECK_EQ(res.armed_at, p->pos.branches - MARGIN);
		/* Two instructions after the skid may retire branches too. */
		CHECK(res.stopped_at >= res.armed_at + skids[i]);
		CHECK(res.stopped_at <= res.armed_at + skids[i] + 2);
		CHECK(strstr(res.msg, "skid") != NULL);
	}
}

static void test_overflow_never_delivered(void)
{
	const struct point *p = far_point();
	struct pmu_land_result res;
	struct pmu_land l;
	struct sim s;

	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	s.never_deliver = true;
	land_init(&l, &s);
	CHECK_EQ(reach(&l, &p->pos, &res), PMU_LAND_OVERFLOW_LOST);
	CHECK(strstr(res.msg, "never delivered") != NULL);
	CHECK(strstr(res.msg, "synchronous exit") != NULL);
	/* The guest ran on to the exit: not stopped anywhere near. */
	CHECK(s.retired > p->retired);
}

/*
 * Host kicks and a lost overflow: a kick inside [armed, target) is as
 * good as the overflow, one past the target is reported; never a wrong
 * landing.
 */
static void test_kicks_never_wrong(void)
{
	struct pmu_land_result res;
	struct pmu_land l;
	struct sim s;
	u32 n, i, ok = 0, lost = 0;
	u64 kick;

	n = record_by_stepping(prog_mixed, ARRAY_SIZE(prog_mixed), 60000, 1);
	for (kick = 13; kick < 400; kick += 29) {
		for (i = 100; i < n; i += 997) {
			sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
			s.never_deliver = true;
			s.kick_every = kick;
			land_init(&l, &s);
			switch (reach(&l, &points[i].pos, &res)) {
			case PMU_LAND_OK:
				CHECK_EQ(s.retired, points[i].retired);
				ok++;
				break;
			case PMU_LAND_OVERFLOW_LOST:
				lost++;
				break;
			default:
				CHECK(0);
			}
		}
	}
	CHECK(ok > 0);
	CHECK(lost > 0);
}

/*
 * A counter that moves by one per VM entry (VMRUN counted): the free run
 * stops one branch off, and stepping from there either misses the target
 * (passed) or, where the registers repeat, meets a look-alike that the
 * counter check refuses.  Never "landed".
 */
static void test_drift_caught_landing(void)
{
	const struct point *p = far_point();
	struct pmu_land_result res;
	struct pmu_land l;
	struct sim s;
	u32 n, i, mismatch = 0;

	CHECK_EQ(p->pos.rip, SIM_RIP(5));	/* in the memory loop */
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	s.drift_per_entry = 1;
	land_init(&l, &s);
	CHECK_EQ(reach(&l, &p->pos, &res), PMU_LAND_COUNTER_MISMATCH);
	CHECK(strstr(res.msg, "stepping says") != NULL);

	n = record_by_stepping(prog_mixed, ARRAY_SIZE(prog_mixed), 30000, 1);
	for (i = 50; i < n; i += 101) {
		enum pmu_land_status st;

		sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
		s.drift_per_entry = 1;
		land_init(&l, &s);
		st = reach(&l, &points[i].pos, &res);
		CHECK(st == PMU_LAND_PASSED || st == PMU_LAND_COUNTER_MISMATCH);
		mismatch += st == PMU_LAND_COUNTER_MISMATCH;
	}
	CHECK(mismatch > 0);
}

static struct pmu_selftest selftest(struct sim *s, u32 margin)
{
	struct pmu_calib g = { .intervals = 10, .branches = CALIB_BRANCHES };
	struct pmu_selftest res;
	struct pmu_land l;

	pmu_land__init(&l, &sim__vcpu_ops, s, &sim__counter_ops, s, margin);
	CHECK_EQ(pmu_land__begin(&l, 0, SIM_RIP(0), 0), 0);
	pmu_land__selftest(&l, &g, &res);
	printf("selftest: %s: %s\n", pmu_land__selftest_str(res.verdict),
	       res.reason);
	return res;
}

static void test_selftest(void)
{
	struct pmu_selftest r;
	struct sim s;

	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.skid = 11;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_OK);
	CHECK_EQ(r.max_skid, 11);
	CHECK_EQ(s.exits, 10);

	/* Drift per entry, both signs, caught by the free-run counts. */
	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.drift_per_entry = 1;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_DRIFT);
	CHECK_EQ(r.drift, 1);
	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.drift_per_entry = -2;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_DRIFT);
	CHECK_EQ(r.drift, -2);
	/* With host kicks the entries vary, and the drift still fits. */
	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.drift_per_entry = 3;
	s.kick_every = 333;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_DRIFT);
	CHECK_EQ(r.drift, 3);

	/* Host-counted noise now and then. */
	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.noise_every = 3;
	s.noise = 5;
	s.kick_every = 250;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_NOISE);
	CHECK(r.dev_max > 0);

	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.never_deliver = true;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_OVERFLOW_LOST);

	sim__init(&s, prog_calib, ARRAY_SIZE(prog_calib));
	s.skid = MARGIN;
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_SKID);
	CHECK_EQ(r.max_skid, MARGIN);

	/* A guest that does not do what it declares is named. */
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	r = selftest(&s, MARGIN);
	CHECK_EQ(r.verdict, PMU_SELFTEST_GUEST);
}

/*
 * Both ways between the backends: positions recorded under the PMU (free
 * runs stopped by host kicks, located by stepping to the next branch)
 * are reached by pure single-stepping, and again under the PMU.
 */
static void test_pmu_record_step_replay(void)
{
	struct pmu_land_result res;
	struct pmu_vcpu_stop stop;
	struct pmu_land l;
	struct ref r;
	struct sim s;
	u32 n = 0, i;

	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	s.kick_every = 173;
	land_init(&l, &s);
	while (n < 2000) {
		CHECK_EQ(pmu_land__run(&l, &stop), 0);
		if (stop.kind == PMU_VCPU_EXIT) {
			CHECK_EQ(pmu_land__begin(&l, l.cur.exits + 1, stop.rip,
						 stop.rcx), 0);
			continue;
		}
		switch (pmu_land__locate(&l, &points[n].pos, &res)) {
		case PMU_LAND_OK:
			points[n++].retired = s.retired;
			break;
		case PMU_LAND_EXIT:
			CHECK_EQ(pmu_land__begin(&l, l.cur.exits + 1, l.cur.rip,
						 l.cur.rcx), 0);
			break;
		default:
			CHECK(0);
			return;
		}
	}
	CHECK(points[n - 1].pos.exits > 100);

	/* Single-step replay: the first position that matches. */
	ref_init(&r, prog_mixed, ARRAY_SIZE(prog_mixed));
	for (i = 0; i < n; i++) {
		while (replay__pos_cmp(&r.pos, &points[i].pos) == REPLAY_POS_NOT_YET)
			ref_step(&r);
		CHECK_EQ(replay__pos_cmp(&r.pos, &points[i].pos), REPLAY_POS_NOW);
		CHECK_EQ(r.sim.retired, points[i].retired);
	}

	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	s.skid = 9;
	CHECK_EQ(replay_with_pmu(&s, n, &l), 0);
}

/* A position the guest never reaches is reported passed, not "landed". */
static void test_passed(void)
{
	struct pmu_land_result res;
	struct replay_pos t;
	struct pmu_land l;
	struct sim s;

	t = far_point()->pos;
	t.rip += 2;		/* between instructions */
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	land_init(&l, &s);
	CHECK_EQ(reach(&l, &t, &res), PMU_LAND_PASSED);

	t = far_point()->pos;
	t.insns += 1;		/* the right place, counted differently */
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	land_init(&l, &s);
	CHECK_EQ(reach(&l, &t, &res), PMU_LAND_PASSED);

	/* More branches than the interval has: the exit comes first. */
	t = far_point()->pos;
	t.branches += 5000;
	sim__init(&s, prog_mixed, ARRAY_SIZE(prog_mixed));
	land_init(&l, &s);
	CHECK_EQ(reach(&l, &t, &res), PMU_LAND_PASSED);
	CHECK(strstr(res.msg, "synchronous exit") != NULL);
}

int main(void)
{
	RUN(test_exact_landings);
	RUN(test_tight_loop);
	RUN(test_skid_beyond_margin);
	RUN(test_overflow_never_delivered);
	RUN(test_kicks_never_wrong);
	RUN(test_drift_caught_landing);
	RUN(test_selftest);
	RUN(test_pmu_record_step_replay);
	RUN(test_passed);
	return check_summary();
}
