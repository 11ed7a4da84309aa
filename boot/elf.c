// SPDX-License-Identifier: Apache-2.0
/*
 * ELF64 loader for an uncompressed vmlinux and for the test guests.
 *
 * Segments go to their physical load addresses (p_paddr): a vmlinux is linked
 * at virtual 0xffffffff81000000 but its p_paddr and e_entry are physical,
 * which is what the 64-bit entry with identity page tables needs.  Every
 * header field is checked against the file size and guest RAM before a
 * single byte is written to the guest.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"

struct seg {
	u64 paddr, memsz, filesz, offset;
	unsigned int index;	/* program header number, for messages */
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->paddr != y->paddr)
		return x->paddr < y->paddr ? -1 : 1;
	return 0;
}

static int elf_check_ehdr(const Elf64_Ehdr *eh, u64 fsize, const char *path)
{
	if (fsize < EI_NIDENT) {
		pr_err("kernel %s is truncated: %llu bytes, shorter than an ELF identification",
		       path, (unsigned long long)fsize);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] == ELFCLASS32) {
		pr_err("kernel %s is a 32-bit ELF; microvm boots 64-bit x86-64 kernels only (use the vmlinux of an x86_64 build)",
		       path);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		pr_err("kernel %s has an invalid ELF class %u; expected ELF64",
		       path, eh->e_ident[EI_CLASS]);
		return -ENOEXEC;
	}
	if (fsize < sizeof(*eh)) {
		pr_err("kernel %s is truncated: %llu bytes, shorter than an ELF64 header",
		       path, (unsigned long long)fsize);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		pr_err("kernel %s is a big-endian ELF; microvm boots x86-64 kernels only",
		       path);
		return -ENOEXEC;
	}
	if (eh->e_machine != EM_X86_64) {
		pr_err("kernel %s is an ELF64 for machine %u, not x86-64 (%u)",
		       path, eh->e_machine, EM_X86_64);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		pr_err("kernel %s is not an ELF executable (e_type %u); link it as a static, non-PIE executable at its load address",
		       path, eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phnum == 0) {
		pr_err("kernel %s has no program headers: nothing to load",
		       path);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		pr_err("kernel %s has program headers of %u bytes; ELF64 needs %zu",
		       path, eh->e_phentsize, sizeof(Elf64_Phdr));
		return -ENOEXEC;
	}
	/* e_phnum is 16 bits and e_phentsize is fixed: no overflow here. */
	if (eh->e_phoff > fsize ||
	    (u64)eh->e_phnum * sizeof(Elf64_Phdr) > fsize - eh->e_phoff) {
		pr_err("kernel %s is truncated: its program headers (offset 0x%llx, %u entries) go beyond the end of the file (%llu bytes)",
		       path, (unsigned long long)eh->e_phoff, eh->e_phnum,
		       (unsigned long long)fsize);
		return -ENOEXEC;
	}
	return 0;
}

/* Check one PT_LOAD against the file and guest RAM. */
static int elf_check_seg(const struct seg *s, u64 fsize, u64 ram,
			 const char *path)
{
	if (s->filesz > s->memsz) {
		pr_err("kernel %s: segment %u has p_filesz 0x%llx larger than p_memsz 0x%llx; the ELF is corrupt",
		       path, s->index, (unsigned long long)s->filesz,
		       (unsigned long long)s->memsz);
		return -ENOEXEC;
	}
	if (s->offset > fsize || s->filesz > fsize - s->offset) {
		pr_err("kernel %s is truncated: segment %u (offset 0x%llx, 0x%llx bytes) goes beyond the end of the file (%llu bytes)",
		       path, s->index, (unsigned long long)s->offset,
		       (unsigned long long)s->filesz,
		       (unsigned long long)fsize);
		return -ENOEXEC;
	}
	if (s->paddr < BOOT_HIGH_RAM_ADDR) {
		pr_err("kernel %s: segment %u loads at physical 0x%llx, below 1 MiB where the boot tables live; link it at 0x100000 or above",
		       path, s->index, (unsigned long long)s->paddr);
		return -ENOEXEC;
	}
	if (s->paddr >= BOOT_MAX_RAM || s->memsz > BOOT_MAX_RAM - s->paddr) {
		pr_err("kernel %s: segment %u at physical 0x%llx (0x%llx bytes) ends above 4 GiB; p_paddr must be a physical address in low memory",
		       path, s->index, (unsigned long long)s->paddr,
		       (unsigned long long)s->memsz);
		return -ENOEXEC;
	}
	if (s->paddr + s->memsz > ram) {
		u64 need = (s->paddr + s->memsz + MiB - 1) / MiB;

		pr_err("kernel %s needs at least %llu MiB of guest RAM (segment %u ends at 0x%llx) but the guest has %llu MiB; increase --mem",
		       path, (unsigned long long)need, s->index,
		       (unsigned long long)(s->paddr + s->memsz),
		       (unsigned long long)(ram / MiB));
		return -ENOMEM;
	}
	return 0;
}

static int elf_load_segs(struct guest_mem *mem, int fd, const char *path,
			 const struct seg *segs, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		const struct seg *s = &segs[i];
		u8 *dst = guest_mem__ptr(mem, s->paddr, s->memsz);

		if (!dst)	/* elf_check_seg() made sure it is in RAM */
			return -EFAULT;
		ret = boot_pread(fd, dst, s->filesz, s->offset);
		if (ret < 0) {
			pr_err("cannot read segment %u of kernel %s: %s",
			       s->index, path, strerror(-ret));
			return ret;
		}
		/* BSS: the part of the segment that is not in the file. */
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

int boot_elf_load(struct guest_mem *mem, int fd, u64 fsize, const char *path,
		  struct boot_kernel *k)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph = NULL;
	struct seg *segs = NULL;
	unsigned int i, n = 0;
	bool entry_ok = false;
	int ret;

	memset(&eh, 0, sizeof(eh));
	ret = boot_pread(fd, &eh, MIN(fsize, sizeof(eh)), 0);
	if (ret < 0) {
		pr_err("cannot read kernel %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = elf_check_ehdr(&eh, fsize, path);
	if (ret < 0)
		return ret;

	ph = calloc(eh.e_phnum, sizeof(*ph));
	segs = calloc(eh.e_phnum, sizeof(*segs));
	if (!ph || !segs) {
		pr_err("out of memory reading the program headers of %s",
		       path);
		ret = -ENOMEM;
		goto out;
	}
	ret = boot_pread(fd, ph, eh.e_phnum * sizeof(*ph), eh.e_phoff);
	if (ret < 0) {
		pr_err("cannot read the program headers of kernel %s: %s",
		       path, strerror(-ret));
		goto out;
	}

	for (i = 0; i < eh.e_phnum; i++) {
		struct seg *s = &segs[n];

		/* An empty PT_LOAD is legal and loads nothing. */
		if (ph[i].p_type != PT_LOAD ||
		    (ph[i].p_memsz == 0 && ph[i].p_filesz == 0))
			continue;
		s->paddr = ph[i].p_paddr;
		s->memsz = ph[i].p_memsz;
		s->filesz = ph[i].p_filesz;
		s->offset = ph[i].p_offset;
		s->index = i;
		ret = elf_check_seg(s, fsize, mem->size, path);
		if (ret < 0)
			goto out;
		n++;
	}
	if (n == 0) {
		pr_err("kernel %s has no loadable (PT_LOAD) segment", path);
		ret = -ENOEXEC;
		goto out;
	}

	/* Sorted by address, overlaps can only be between neighbours. */
	qsort(segs, n, sizeof(*segs), seg_cmp);
	for (i = 1; i < n; i++) {
		if (segs[i].paddr < segs[i - 1].paddr + segs[i - 1].memsz) {
			pr_err("kernel %s: segments %u [0x%llx, 0x%llx) and %u [0x%llx, 0x%llx) overlap in physical memory; the ELF is corrupt",
			       path, segs[i - 1].index,
			       (unsigned long long)segs[i - 1].paddr,
			       (unsigned long long)(segs[i - 1].paddr +
						    segs[i - 1].memsz),
			       segs[i].index, (unsigned long long)segs[i].paddr,
			       (unsigned long long)(segs[i].paddr +
						    segs[i].memsz));
			ret = -ENOEXEC;
			goto out;
		}
	}

	for (i = 0; i < n; i++)
		if (eh.e_entry >= segs[i].paddr &&
		    eh.e_entry - segs[i].paddr < segs[i].memsz)
			entry_ok = true;
	if (!entry_ok) {
		pr_err("kernel %s: entry point 0x%llx is not inside any loaded segment; e_entry must be a physical address in a PT_LOAD",
		       path, (unsigned long long)eh.e_entry);
		ret = -ENOEXEC;
		goto out;
	}

	ret = elf_load_segs(mem, fd, path, segs, n);
	if (ret < 0)
		goto out;

	k->format = "ELF64";
	k->entry = eh.e_entry;
	k->start = segs[0].paddr;
	k->end = segs[n - 1].paddr + segs[n - 1].memsz;
	k->reserve_end = k->end;
	/* What arch/x86/boot/header.S declares for a 64-bit kernel. */
	k->initrd_addr_max = 0x7fffffff;
	k->cmdline_max = BOOT_CMDLINE_MAX;
	k->hdr_len = 0;
	ret = 0;
out:
	free(ph);
	free(segs);
	return ret;
}
