// SPDX-License-Identifier: Apache-2.0
/*
 * Instruction lengths (vmm/insn_len.c), which the RDTSC patcher and the
 * breakpoint search's step-over walk by: one wrong length misreads every
 * instruction after it.  The table is what GNU as assembled and objdump
 * decoded (tests/unit/insn_len.s documents how it was made); the Linux
 * tier checks a whole kernel against objdump (tests/linux/rdtsc-sites.sh).
 */
#include <string.h>

#include "tests/unit/check.h"
#include "vmm/insn.h"

static const struct {
	const char *bytes;
	unsigned int len;
} table[] = {
	{ "\x90", 1 },	/* nop */
	{ "\xc3", 1 },	/* ret */
	{ "\xc2\x08\x00", 3 },	/* ret $0x8 */
	{ "\x0f\x31", 2 },	/* rdtsc */
	{ "\x0f\x01\xf9", 3 },	/* rdtscp */
	{ "\xf3\xa4", 2 },	/* rep movsb %ds:(%rsi),%es:(%rdi) */
	{ "\xf3\x48\xab", 3 },	/* rep stos %rax,%es:(%rdi) */
	{ "\xf0\x48\x0f\xb1\x0f", 5 },	/* lock cmpxchg %rcx,(%rdi) */
	{ "\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11", 10 },	/* movabs $0x1122334455667788,%rax */
	{ "\xb8\x44\x33\x22\x11", 5 },	/* mov $0x11223344,%eax */
	{ "\x66\xb8\x22\x11", 4 },	/* mov $0x1122,%ax */
	{ "\x89\x05\xbc\xae\x1d\x00", 6 },	/* mov %eax,0x1daebc(%rip) # 0x1daee9 */
	{ "\x48\x8b\x44\x24\x10", 5 },	/* mov 0x10(%rsp),%rax */
	{ "\x48\x8b\x8c\xd8\x78\x56\x34\x12", 8 },	/* mov 0x12345678(%rax,%rbx,8),%rcx */
	{ "\x48\x8b\x45\x00", 4 },	/* mov 0x0(%rbp),%rax */
	{ "\x49\x8b\x45\x00", 4 },	/* mov 0x0(%r13),%rax */
	{ "\x8b\x04\x9d\x78\x56\x34\x12", 7 },	/* mov 0x12345678(,%rbx,4),%eax */
	{ "\x4d\x8d\x1c\x31", 4 },	/* lea (%r9,%rsi,1),%r11 */
	{ "\x81\x44\x24\x40\x78\x56\x34\x12", 8 },	/* addl $0x12345678,0x40(%rsp) */
	{ "\x66\x81\x00\x34\x12", 5 },	/* addw $0x1234,(%rax) */
	{ "\x04\x12", 2 },	/* add $0x12,%al */
	{ "\x80\x3d\xfd\x53\x93\x00\x00", 7 },	/* cmpb $0x0,0x9353fd(%rip) # 0x935460 */
	{ "\xf6\x00\x01", 3 },	/* testb $0x1,(%rax) */
	{ "\xf7\x00\x00\x00\x01\x00", 6 },	/* testl $0x10000,(%rax) */
	{ "\x85\xc0", 2 },	/* test %eax,%eax */
	{ "\xf7\x10", 2 },	/* notl (%rax) */
	{ "\xe9\xfb\x00\x00\x00", 5 },	/* jmp 0x170 */
	{ "\xeb\x00", 2 },	/* jmp 0x77 */
	{ "\x0f\x84\xfa\x0f\x00\x00", 6 },	/* je 0x1077 */
	{ "\x75\x02", 2 },	/* jne 0x81 */
	{ "\xe8\xfb\x0f\x00\x00", 5 },	/* call 0x107f */
	{ "\xff\xd0", 2 },	/* call *%rax */
	{ "\xff\x50\x10", 3 },	/* call *0x10(%rax) */
	{ "\xff\x24\xc8", 3 },	/* jmp *(%rax,%rcx,8) */
	{ "\xc8\x10\x00\x01", 4 },	/* enter $0x10,$0x1 */
	{ "\xa0\x88\x77\x66\x55\x44\x33\x22\x11", 9 },	/* movabs 0x1122334455667788,%al */
	{ "\xa3\x88\x77\x66\x55\x44\x33\x22\x11", 9 },	/* movabs %eax,0x1122334455667788 */
	{ "\xe4\xee", 2 },	/* in $0xee,%al */
	{ "\xe6\x80", 2 },	/* out %al,$0x80 */
	{ "\x0f\x05", 2 },	/* syscall */
	{ "\x48\x0f\x07", 3 },	/* sysretq */
	{ "\x48\xcf", 2 },	/* iretq */
	{ "\xcc", 1 },	/* int3 */
	{ "\xcd\x80", 2 },	/* int $0x80 */
	{ "\x0f\x0b", 2 },	/* ud2 */
	{ "\x0f\xa2", 2 },	/* cpuid */
	{ "\x0f\xae\x27", 3 },	/* xsave (%rdi) */
	{ "\x48\x0f\xae\x0f", 4 },	/* fxrstor64 (%rdi) */
	{ "\x66\x0f\x6f\xc8", 4 },	/* movdqa %xmm0,%xmm1 */
	{ "\x66\x0f\x70\xc8\x1b", 5 },	/* pshufd $0x1b,%xmm0,%xmm1 */
	{ "\x66\x0f\x3a\x44\xda\x11", 6 },	/* pclmulhqhqdq %xmm2,%xmm3 */
	{ "\x66\x0f\x3a\x0f\xd1\x04", 6 },	/* palignr $0x4,%xmm1,%xmm2 */
	{ "\x66\x0f\x38\x00\xd1", 5 },	/* pshufb %xmm1,%xmm2 */
	{ "\xf2\x48\x0f\x38\xf1\xd8", 6 },	/* crc32 %rax,%rbx */
	{ "\xc5\xfe\x7f\x00", 4 },	/* vmovdqu %ymm0,(%rax) */
	{ "\xc5\xed\xef\xd9", 4 },	/* vpxor %ymm1,%ymm2,%ymm3 */
	{ "\xc4\xe3\xfd\x00\xd1\x4e", 6 },	/* vpermq $0x4e,%ymm1,%ymm2 */
	{ "\xc5\xf8\x77", 3 },	/* vzeroupper */
	{ "\x62\xf1\x6d\x48\xfe\xd9", 6 },	/* vpaddd %zmm1,%zmm2,%zmm3 */
	{ "\x62\xf1\xfe\x48\x6f\x40\x01", 7 },	/* vmovdqu64 0x40(%rax),%zmm0 */
	{ "\x48\x0f\xc8", 3 },	/* bswap %rax */
	{ "\xc1\xe7\x02", 3 },	/* shl $0x2,%edi */
	{ "\xd3\xe0", 2 },	/* shl %cl,%eax */
	{ "\x69\xc8\x78\x56\x34\x12", 6 },	/* imul $0x12345678,%eax,%ecx */
	{ "\x6b\xc8\x12", 3 },	/* imul $0x12,%eax,%ecx */
	{ "\x68\x78\x56\x34\x12", 5 },	/* push $0x12345678 */
	{ "\x6a\x12", 2 },	/* push $0x12 */
	{ "\x0f\xb6\x00", 3 },	/* movzbl (%rax),%eax */
	{ "\x0f\x95\xc0", 3 },	/* setne %al */
	{ "\x48\x0f\x45\xd8", 4 },	/* cmovne %rax,%rbx */
	{ "\x0f\xba\xe0\x03", 4 },	/* bt $0x3,%eax */
	{ "\x0f\xa4\xc3\x04", 4 },	/* shld $0x4,%eax,%ebx */
	{ "\x66\x90", 2 },	/* xchg %ax,%ax */
	{ "\xdb\xe3", 2 },	/* fninit */
	{ "\xdd\x44\x24\x10", 4 },	/* fldl 0x10(%rsp) */
	{ "\xf3\x90", 2 },	/* pause */
	{ "\xf3\x0f\x1e\xfa", 4 },	/* endbr64 */
	{ "\x0f\x30", 2 },	/* wrmsr */
	{ "\x0f\x32", 2 },	/* rdmsr */
	{ "\x0f\x01\xf8", 3 },	/* swapgs */
	{ "\x0f\xae\xe8", 3 },	/* lfence */
	{ "\x0f\xae\x38", 3 },	/* clflush (%rax) */
	{ "\x0f\x18\x08", 3 },	/* prefetcht0 (%rax) */
	{ "\x66\x0f\x1f\x04\x00", 5 },	/* nopw (%rax,%rax,1) */
	{ "\x0f\x1f\x00", 3 },	/* nopl (%rax) */
	{ "\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00", 10 },	/* cs nopw 0x0(%rax,%rax,1) */
	{ "\x66\x48\x0f\x7e\xc0", 5 },	/* movq %xmm0,%rax */
	{ "\x0f\x01\x38", 3 },	/* invlpg (%rax) */
	{ "\x0f\x20\xd8", 3 },	/* mov %cr3,%rax */
	{ "\x0f\x22\xd8", 3 },	/* mov %rax,%cr3 */
	{ "\x48\x0f\xc7\xf0", 4 },	/* rdrand %rax */
	{ "\x0f\xc7\xf8", 3 },	/* rdseed %eax */
	{ "\xc7\xf8\x0a\x00\x00\x00", 6 },	/* xbegin 0x178 */
	{ "\xe2\x02", 2 },	/* loop 0x172 */
	{ "\xe3\x02", 2 },	/* jrcxz 0x174 */
	{ "\xc2\x10\x00", 3 },	/* ret $0x10 */
	{ "\x48\xcb", 2 },	/* lretq */
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		u8 buf[15];
		unsigned int n = table[i].len;

		/* Exactly the instruction, then with more bytes after it. */
		CHECK_EQ(insn__length((const u8 *)table[i].bytes, n, NULL), n);
		memset(buf, 0x90, sizeof(buf));
		memcpy(buf, table[i].bytes, n);
		CHECK_EQ(insn__length(buf, sizeof(buf), NULL), n);
		/* Cut off by one byte: no length. */
		CHECK_EQ(insn__length(buf, n - 1, NULL), 0);
	}
}

static void test_operands(void)
{
	struct insn_op op;

	/* mov %eax, 0x1daebc(%rip) */
	CHECK_EQ(insn__length((const u8 *)"\x89\x05\xbc\xae\x1d\x00", 6, &op), 6);
	CHECK(op.has_modrm && !op.has_sib && op.disp == 0x1daebc);
	/* jmp *(%rax,%rcx,8) with REX.B: jmp *-8(%r8,%rcx,8) */
	CHECK_EQ(insn__length((const u8 *)"\x41\xff\x64\xc8\xf8", 5, &op), 5);
	CHECK(op.rex == 0x41 && op.has_sib && op.sib == 0xc8 && op.disp == -8);
	CHECK_EQ((op.modrm >> 3) & 7, 4);
	/* REX then a legacy prefix: the REX does not count. */
	CHECK_EQ(insn__length((const u8 *)"\x48\x66\xb8\x11\x22", 5, &op), 5);
	CHECK_EQ(op.rex, 0);
	/* rdtscp and rdtsc as the patcher sees them. */
	CHECK_EQ(insn__length((const u8 *)"\x0f\x01\xf9", 3, &op), 3);
	CHECK(op.map == 1 && op.opcode == 0x01 && op.modrm == 0xf9);
	CHECK_EQ(insn__length((const u8 *)"\x66\x0f\x31", 3, &op), 3);
	CHECK(op.map == 1 && op.opcode == 0x31 && op.prefixes == 1);
}

static void test_invalid(void)
{
	u8 many[16];

	/* Not in 64-bit mode: PUSH ES, DAA, BOUND, LES/LDS are VEX there. */
	CHECK_EQ(insn__length((const u8 *)"\x06", 1, NULL), 0);
	CHECK_EQ(insn__length((const u8 *)"\x27", 1, NULL), 0);
	CHECK_EQ(insn__length((const u8 *)"\xd6", 1, NULL), 0);
	/* VEX after REX is #UD. */
	CHECK_EQ(insn__length((const u8 *)"\x48\xc5\xf8\x77", 4, NULL), 0);
	/* AMD XOP (8F with a map field): not decoded. */
	CHECK_EQ(insn__length((const u8 *)"\x8f\xe8\x78\xc0\xc8\x01", 6, NULL), 0);
	/* 15 bytes at most. */
	memset(many, 0x66, sizeof(many));
	many[15] = 0x90;
	CHECK_EQ(insn__length(many, sizeof(many), NULL), 0);
	many[14] = 0x90;
	CHECK_EQ(insn__length(many + 1, 15, NULL), 14);
	CHECK_EQ(insn__length(many, 0, NULL), 0);
}

int main(void)
{
	RUN(test_table);
	RUN(test_operands);
	RUN(test_invalid);
	return check_summary();
}
