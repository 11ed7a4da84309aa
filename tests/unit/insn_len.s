# The instructions of test_insn_len.c's table.  Remade with:
#   as --64 -o t.o insn_len.s && objdump -d --insn-width=16 t.o
# (each line: the bytes and their count, objdump's decoding as the comment).
.text
.code64
nop
ret
ret $8
rdtsc
rdtscp
rep movsb
rep stosq
lock cmpxchg %rcx, (%rdi)
mov $0x1122334455667788, %rax
mov $0x11223344, %eax
movw $0x1122, %ax
mov %eax, 0x1daebc(%rip)
mov 0x10(%rsp), %rax
mov 0x12345678(%rax,%rbx,8), %rcx
mov (%rbp), %rax
mov (%r13), %rax
mov 0x12345678(,%rbx,4), %eax
lea (%r9,%rsi,1), %r11
addl $0x12345678, 0x40(%rsp)
addw $0x1234, (%rax)
add $0x12, %al
cmpb $0x0, 0x9353fd(%rip)
testb $1, (%rax)
testl $0x10000, (%rax)
test %eax, %eax
notl (%rax)
jmp .+0x100
jmp .+2
je .+0x1000
jne .+4
call .+0x1000
call *%rax
call *0x10(%rax)
jmp *(%rax,%rcx,8)
enter $0x10, $1
movabs 0x1122334455667788, %al
movabs %eax, 0x1122334455667788
in $0xee, %al
out %al, $0x80
syscall
sysretq
iretq
int3
int $0x80
ud2
cpuid
xsave (%rdi)
fxrstor64 (%rdi)
movdqa %xmm0, %xmm1
pshufd $0x1b, %xmm0, %xmm1
pclmulqdq $0x11, %xmm2, %xmm3
palignr $4, %xmm1, %xmm2
pshufb %xmm1, %xmm2
crc32q %rax, %rbx
vmovdqu %ymm0, (%rax)
vpxor %ymm1, %ymm2, %ymm3
vpermq $0x4e, %ymm1, %ymm2
vzeroupper
vpaddd %zmm1, %zmm2, %zmm3
vmovdqu64 0x40(%rax), %zmm0
bswap %rax
shl $0x2, %edi
shl %cl, %eax
imul $0x12345678, %eax, %ecx
imul $0x12, %eax, %ecx
push $0x12345678
push $0x12
movzbl (%rax), %eax
setne %al
cmovne %rax, %rbx
bt $3, %eax
shld $4, %eax, %ebx
xchg %ax, %ax
fninit
fldl 0x10(%rsp)
pause
endbr64
wrmsr
rdmsr
swapgs
lfence
clflush (%rax)
prefetcht0 (%rax)
nopw 0x0(%rax,%rax,1)
nopl 0x0(%rax)
.byte 0x66,0x2e,0x0f,0x1f,0x84,0,0,0,0,0
movq %xmm0, %rax
invlpg (%rax)
mov %cr3, %rax
mov %rax, %cr3
rdrand %rax
rdseed %eax
xbegin .+0x10
loop .+4
jrcxz .+4
retq $0x10
lretq
