// SPDX-License-Identifier: Apache-2.0
/*
 * The single-step backend's classifier (vmm/insn.c): a missed RDTSC would
 * run on the host's clock and break a replay, a missed conditional branch
 * would make step positions disagree with the PMU backend's, and a wrong
 * length or register would corrupt the guest.  Byte sequences as gcc and
 * gas encode them.
 */
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/insn.h"

static struct insn dec(const u8 *b, size_t n, bool lm)
{
	struct insn in;

	insn__decode(b, n, lm, &in);
	return in;
}

#define DEC(lm, ...) dec((const u8[]){ __VA_ARGS__ }, \
			 sizeof((const u8[]){ __VA_ARGS__ }), lm)

static void test_time_stamp(void)
{
	struct insn in;

	in = DEC(true, 0x0f, 0x31);
	CHECK_EQ(in.kind, INSN_RDTSC);
	CHECK_EQ(in.len, 2);
	in = DEC(true, 0x48, 0x0f, 0x31);	/* REX.W: still RDTSC */
	CHECK_EQ(in.kind, INSN_RDTSC);
	CHECK_EQ(in.len, 3);
	in = DEC(true, 0x48, 0x66, 0x0f, 0x31);	/* REX before a prefix */
	CHECK_EQ(in.kind, INSN_RDTSC);
	CHECK_EQ(in.len, 4);
	in = DEC(true, 0x0f, 0x01, 0xf9);
	CHECK_EQ(in.kind, INSN_RDTSCP);
	CHECK_EQ(in.len, 3);
	/* LOCK makes them #UD, which the backend raises (not every host does). */
	CHECK_EQ(DEC(true, 0xf0, 0x0f, 0x31).kind, INSN_UD);
	/* 32-bit code: 0x48 is DEC EAX, an instruction of its own. */
	CHECK_EQ(DEC(false, 0x48, 0x0f, 0x31).kind, INSN_OTHER);
	CHECK_EQ(DEC(false, 0x0f, 0x31).kind, INSN_RDTSC);
}

static void test_random(void)
{
	struct insn in;

	in = DEC(true, 0x0f, 0xc7, 0xf0);		/* rdrand %eax */
	CHECK_EQ(in.kind, INSN_RDRAND);
	CHECK_EQ(in.reg, 0);
	CHECK_EQ(in.opsize, 4);
	CHECK_EQ(in.len, 3);
	in = DEC(true, 0x48, 0x0f, 0xc7, 0xf3);		/* rdrand %rbx */
	CHECK_EQ(in.reg, 3);
	CHECK_EQ(in.opsize, 8);
	CHECK_EQ(in.len, 4);
	in = DEC(true, 0x49, 0x0f, 0xc7, 0xf1);		/* rdrand %r9 */
	CHECK_EQ(in.reg, 9);
	CHECK_EQ(in.opsize, 8);
	in = DEC(true, 0x41, 0x0f, 0xc7, 0xf1);		/* rdrand %r9d */
	CHECK_EQ(in.reg, 9);
	CHECK_EQ(in.opsize, 4);
	in = DEC(true, 0x66, 0x0f, 0xc7, 0xf1);		/* rdrand %cx */
	CHECK_EQ(in.kind, INSN_RDRAND);
	CHECK_EQ(in.reg, 1);
	CHECK_EQ(in.opsize, 2);
	CHECK_EQ(in.len, 4);
	in = DEC(true, 0x41, 0x0f, 0xc7, 0xfa);		/* rdseed %r10d */
	CHECK_EQ(in.kind, INSN_RDSEED);
	CHECK_EQ(in.reg, 10);
	/* Same opcode, other instructions: the CPU's. */
	CHECK_EQ(DEC(true, 0xf3, 0x0f, 0xc7, 0xf8).kind, INSN_OTHER); /* rdpid */
	CHECK_EQ(DEC(true, 0xf0, 0x0f, 0xc7, 0xf0).kind, INSN_UD); /* lock */
	CHECK_EQ(DEC(true, 0x0f, 0xc7, 0x08).kind, INSN_OTHER); /* cmpxchg8b */
	CHECK_EQ(DEC(true, 0x0f, 0xc7, 0xe8).kind, INSN_OTHER); /* /5, reg */
}

static void test_branches(void)
{
	CHECK_EQ(DEC(true, 0x74, 0x05).kind, INSN_BRANCH);		/* je */
	CHECK_EQ(DEC(true, 0x7f, 0xfe).kind, INSN_BRANCH);		/* jg */
	CHECK_EQ(DEC(true, 0x0f, 0x85, 0, 0, 0, 0).kind, INSN_BRANCH); /* jne */
	CHECK_EQ(DEC(true, 0x3e, 0x74, 0x05).kind, INSN_BRANCH); /* hinted */
	CHECK_EQ(DEC(true, 0xe2, 0xfe).kind, INSN_BRANCH);		/* loop */
	CHECK_EQ(DEC(true, 0xe3, 0x02).kind, INSN_BRANCH);		/* jrcxz */
	CHECK_EQ(DEC(true, 0xeb, 0xfe).kind, INSN_OTHER);		/* jmp */
	CHECK_EQ(DEC(true, 0xe8, 0, 0, 0, 0).kind, INSN_OTHER);	/* call */
	CHECK_EQ(DEC(true, 0xc3).kind, INSN_OTHER);			/* ret */
}

static void test_flags_and_translation(void)
{
	CHECK_EQ(DEC(true, 0x9d).kind, INSN_RFLAGS);		/* popf */
	CHECK_EQ(DEC(true, 0x48, 0xcf).kind, INSN_RFLAGS);	/* iretq */
	CHECK_EQ(DEC(true, 0x48, 0x0f, 0x07).kind, INSN_RFLAGS); /* sysretq */
	CHECK_EQ(DEC(true, 0x0f, 0x22, 0xd8).kind, INSN_FLUSH);	/* mov %rax,%cr3 */
	CHECK_EQ(DEC(true, 0x0f, 0x01, 0x38).kind, INSN_FLUSH);	/* invlpg (%rax) */
	CHECK_EQ(DEC(true, 0x0f, 0x01, 0xf8).kind, INSN_OTHER);	/* swapgs */
	CHECK_EQ(DEC(true, 0x66, 0x0f, 0x38, 0x82, 0x00).kind, INSN_FLUSH); /* invpcid */
	CHECK_EQ(DEC(true, 0x0f, 0x01, 0x18).kind, INSN_FLUSH);	/* lidt (%rax) */
	CHECK_EQ(DEC(true, 0x0f, 0x01, 0x5d, 0x08).kind, INSN_FLUSH); /* lidt 8(%rbp) */
	CHECK_EQ(DEC(true, 0x0f, 0x01, 0x08).kind, INSN_OTHER);	/* sidt (%rax) */
	CHECK_EQ(DEC(true, 0x0f, 0x01, 0xd8).kind, INSN_OTHER);	/* vmrun (mod 3) */
	/* SYSCALL is the backend's: its length, prefixes included. */
	CHECK_EQ(DEC(true, 0x0f, 0x05).kind, INSN_SYSCALL);
	CHECK_EQ(DEC(true, 0x0f, 0x05).len, 2);
	CHECK_EQ(DEC(true, 0x48, 0x0f, 0x05).len, 3);
	CHECK_EQ(DEC(true, 0xf0, 0x0f, 0x05).kind, INSN_UD);	/* lock syscall */
	CHECK_EQ(DEC(true, 0x0f, 0x07).kind, INSN_RFLAGS);	/* sysret */
}

static void test_truncated(void)
{
	u8 many[20];

	CHECK_EQ(DEC(true, 0x0f).kind, INSN_OTHER);
	CHECK_EQ(DEC(true, 0x0f, 0x01).kind, INSN_OTHER);
	CHECK_EQ(DEC(true, 0x0f, 0xc7).kind, INSN_OTHER);
	CHECK_EQ(DEC(true, 0x66).kind, INSN_OTHER);
	CHECK_EQ(dec(NULL, 0, true).kind, INSN_OTHER);
	/* Longer than 15 bytes: not an instruction, the CPU's #GP. */
	memset(many, 0x66, sizeof(many));
	many[14] = 0x0f;
	many[15] = 0x31;
	CHECK_EQ(dec(many, 16, true).kind, INSN_OTHER);
	many[13] = 0x0f;
	many[14] = 0x31;
	CHECK_EQ(dec(many, 16, true).kind, INSN_RDTSC);
	CHECK_EQ(dec(many, 16, true).len, 15);
}

int main(void)
{
	RUN(test_time_stamp);
	RUN(test_random);
	RUN(test_branches);
	RUN(test_flags_and_translation);
	RUN(test_truncated);
	CHECK(!strcmp(insn__name(INSN_RDSEED), "rdseed"));
	return check_summary();
}
