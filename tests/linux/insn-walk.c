// SPDX-License-Identifier: Apache-2.0
/*
 * insn-walk KERNEL: what the RDTSC patcher (vmm/rdtsc_patch.c) sees in an
 * ELF kernel, for rdtsc-sites.sh to hold against objdump:
 *   I <address> <length>       every instruction walked
 *   S <address> rdtsc|rdtscp   every site it would rewrite
 *   summary on stderr; exit 0, 1 on an error, 2 when it cannot patch
 */
#include <stdio.h>

#include "vmm/rdtsc_patch.h"

static void walked(void *ctx, u64 vaddr, unsigned int len)
{
	(void)ctx;
	printf("I %llx %u\n", (unsigned long long)vaddr, len);
}

int main(int argc, char **argv)
{
	struct rdtsc_patch kp;

	if (argc != 2) {
		fprintf(stderr, "usage: %s KERNEL\n", argv[0]);
		return 1;
	}
	if (rdtsc_patch__scan(argv[1], &kp, walked, NULL))
		return 1;
	if (kp.none) {
		fprintf(stderr, "insn-walk: %s: %s\n", argv[1], kp.none);
		return 2;
	}
	for (unsigned int i = 0; i < kp.nsites; i++)
		printf("S %llx %s\n", (unsigned long long)kp.site[i].vaddr,
		       kp.site[i].rdtscp ? "rdtscp" : "rdtsc");
	fprintf(stderr, "insn-walk: %u functions walked, %u not (first %#llx), %llu instructions, %u sites\n",
		kp.nfuncs, kp.nbad, (unsigned long long)kp.bad_vaddr,
		(unsigned long long)kp.insns, kp.nsites);
	rdtsc_patch__free(&kp);
	return 0;
}
