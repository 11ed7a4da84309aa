// SPDX-License-Identifier: Apache-2.0
/*
 * Guest entry and interrupt stubs.
 *
 * The loader enters _start in 64-bit mode per the Linux 64-bit boot
 * protocol: identity-mapped low 4 GiB, flat CS/DS, RSI = zero page,
 * interrupts off, no usable stack and no IDT.
 */

	.section .text.entry, "ax"
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	/* The stack lives in .bss; zeroing it before first use is harmless. */
	leaq	rt_stack_top(%rip), %rsp
	movq	%rsi, %r12		/* keep the zero page across rep stosb */

	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb

	movq	%r12, %rdi
	call	rt_start		/* does not return */
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

/*
 * One stub per vector.  The CPU pushes an error code only for some
 * exceptions; the stubs for the others push a zero so every frame has the
 * same layout (struct rt_frame in rt.h), then push the vector number.
 */
	.text
.macro	STUB_NOERR vec
	.align	16
rt_stub_\vec:
	pushq	$0
	pushq	$\vec
	jmp	rt_stub_common
.endm

.macro	STUB_ERR vec
	.align	16
rt_stub_\vec:
	pushq	$\vec
	jmp	rt_stub_common
.endm

	STUB_NOERR 0
	STUB_NOERR 1
	STUB_NOERR 2
	STUB_NOERR 3
	STUB_NOERR 4
	STUB_NOERR 5
	STUB_NOERR 6
	STUB_NOERR 7
	STUB_ERR   8
	STUB_NOERR 9
	STUB_ERR   10
	STUB_ERR   11
	STUB_ERR   12
	STUB_ERR   13
	STUB_ERR   14
	STUB_NOERR 15
	STUB_NOERR 16
	STUB_ERR   17
	STUB_NOERR 18
	STUB_NOERR 19
	STUB_NOERR 20
	STUB_ERR   21
	STUB_NOERR 22
	STUB_NOERR 23
	STUB_NOERR 24
	STUB_NOERR 25
	STUB_NOERR 26
	STUB_NOERR 27
	STUB_NOERR 28
	STUB_ERR   29
	STUB_ERR   30
	STUB_NOERR 31
	.irp	vec, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	STUB_NOERR \vec
	.endr

/*
 * The CPU aligns RSP to 16 before pushing its 5-quadword frame; with the
 * error code, the vector and 15 GPRs the total is 22 quadwords, so RSP is
 * 16-byte aligned at the call as the ABI wants.
 */
rt_stub_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	call	rt_trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

/* Stub addresses for rt_idt_init(), indexed by vector. */
	.section .rodata
	.align	8
	.globl	rt_stub_table
rt_stub_table:
	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	.quad	rt_stub_\vec
	.endr
	.irp	vec, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	rt_stub_\vec
	.endr
	.irp	vec, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.quad	rt_stub_\vec
	.endr

	.bss
	.align	16
rt_stack:
	.skip	16384
rt_stack_top:

	.section .note.GNU-stack, "", @progbits
