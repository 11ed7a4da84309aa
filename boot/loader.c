// SPDX-License-Identifier: Apache-2.0
/*
 * Boot loader entry points: detect the kernel format, hand it to the format
 * loader, then place the command line and initrd, build the zero page and
 * the tables the 64-bit entry needs (GDT, TSS, identity page tables).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"

#define ELF_MAGIC "\177ELF"

/* Page-table entry bits. */
#define PTE_PRESENT	(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)	/* 2 MiB page in a page directory */

int boot_pread(int fd, void *buf, size_t len, u64 off)
{
	u8 *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;	/* the file is shorter than promised */
		p += r;
		len -= r;
		off += r;
	}
	return 0;
}

/*
 * Pack an 8-byte segment descriptor.  @flags holds the access byte in bits
 * 0-7 and the G, D/B, L, AVL nibble in bits 12-15.
 */
static u64 gdt_entry(u16 flags, u32 base, u32 limit)
{
	return ((u64)(base & 0xff000000) << 32) |
	       ((u64)(flags & 0xf0ff) << 40) |
	       ((u64)(limit & 0x000f0000) << 32) |
	       ((u64)(base & 0x00ffffff) << 16) | (limit & 0x0000ffff);
}

int boot__setup_tables(struct guest_mem *mem, struct boot_info *bi)
{
	u64 *gdt, *pml4, *pdpt, *pd;
	u8 *tss;
	int i, j;

	gdt = guest_mem__ptr(mem, BOOT_GDT_ADDR, BOOT_GDT_ENTRIES * 8);
	tss = guest_mem__ptr(mem, BOOT_TSS_ADDR, 104);
	pml4 = guest_mem__ptr(mem, BOOT_PML4_ADDR, 4096);
	pdpt = guest_mem__ptr(mem, BOOT_PDPT_ADDR, 4096);
	pd = guest_mem__ptr(mem, BOOT_PD_ADDR, BOOT_PD_COUNT * 4096);
	if (!gdt || !tss || !pml4 || !pdpt || !pd) {
		pr_err("guest RAM (%llu KiB) is too small for the boot page tables (they end at 0x%llx)",
		       (unsigned long long)(mem->size / KiB),
		       BOOT_PD_ADDR + BOOT_PD_COUNT * 4096);
		return -EINVAL;
	}

	/*
	 * Flat 4 GiB code and data (base 0, limit 0xfffff, G=1): the CPU
	 * ignores base and limit in 64-bit mode, but the protocol asks for
	 * flat segments and a switch to compatibility mode would use them.
	 * Access byte 0x9b: present, DPL0, code, execute/read, accessed;
	 * flags 0xa: G=1, L=1 (D must be 0 with L).  Data 0x93 with G=1,
	 * D/B=1.  The TSS is a 16-byte system descriptor: 0x8b is a busy
	 * 64-bit TSS, matching what boot__setup_vcpu loads into TR (VM entry
	 * requires TR to be usable and busy).
	 */
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS / 8] = gdt_entry(0xa09b, 0, 0xfffff);
	gdt[BOOT_DS / 8] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[BOOT_TSS / 8] = gdt_entry(0x008b, (u32)BOOT_TSS_ADDR, 103);
	gdt[BOOT_TSS / 8 + 1] = BOOT_TSS_ADDR >> 32;

	/*
	 * An all-zero TSS, except the I/O map base, which points past the
	 * limit: "no I/O permission bitmap".  It is only consulted for a
	 * privilege change or an IST, neither of which a ring-0 guest that
	 * has not loaded its own IDT and TR can meet.
	 */
	memset(tss, 0, 104);
	tss[102] = 104;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (i = 0; i < BOOT_PD_COUNT; i++) {
		pdpt[i] = (BOOT_PD_ADDR + i * 4096ULL) | PTE_PRESENT | PTE_RW;
		for (j = 0; j < 512; j++) {
			u64 addr = ((u64)i << 30) | ((u64)j << 21);

			pd[i * 512 + j] = addr | PTE_PRESENT | PTE_RW | PTE_PS;
		}
	}

	bi->pml4 = BOOT_PML4_ADDR;
	bi->gdt_base = BOOT_GDT_ADDR;
	bi->gdt_limit = BOOT_GDT_ENTRIES * 8 - 1;
	return 0;
}

static int load_kernel(struct guest_mem *mem, const char *path,
		       struct boot_kernel *k)
{
	u8 magic[0x206];
	struct stat st;
	u64 fsize;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("cannot open kernel %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		pr_err("cannot stat kernel %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("kernel %s is not a regular file; give the path of a vmlinux or bzImage",
		       path);
		ret = -ENOEXEC;
		goto out;
	}
	fsize = st.st_size;
	if (fsize == 0) {
		pr_err("kernel %s is empty: not a kernel image", path);
		ret = -ENOEXEC;
		goto out;
	}

	memset(magic, 0, sizeof(magic));
	ret = boot_pread(fd, magic, MIN(fsize, sizeof(magic)), 0);
	if (ret < 0) {
		pr_err("cannot read kernel %s: %s", path, strerror(-ret));
		goto out;
	}

	if (fsize >= 4 && !memcmp(magic, ELF_MAGIC, 4)) {
		ret = boot_elf_load(mem, fd, fsize, path, k);
	} else if (fsize >= sizeof(magic) &&
		   !memcmp(magic + 0x202, "HdrS", 4)) {
		ret = boot_bzimage_load(mem, fd, fsize, path, k);
	} else {
		pr_err("%s is not a kernel image: no ELF header and no bzImage 'HdrS' signature",
		       path);
		ret = -ENOEXEC;
	}
out:
	close(fd);
	return ret;
}

int boot__load(struct guest_mem *mem, const struct boot_config *cfg,
	       struct boot_info *bi)
{
	struct boot_kernel k;
	const char *cmdline;
	u64 initrd_start = 0, initrd_size = 0;
	size_t len;
	int ret;

	if (!cfg->kernel_path || !*cfg->kernel_path) {
		pr_err("no kernel image given; pass the path of a vmlinux or bzImage");
		return -EINVAL;
	}
	/*
	 * The fixed layout needs RAM above 1 MiB for the kernel, and the
	 * identity map and the 32-bit zero-page fields stop at 4 GiB.
	 */
	if (mem->size <= BOOT_HIGH_RAM_ADDR || mem->size > BOOT_MAX_RAM) {
		pr_err("cannot boot %s with %llu KiB of guest RAM: it must be more than 1 MiB and at most 4 GiB",
		       cfg->kernel_path,
		       (unsigned long long)(mem->size / KiB));
		return -EINVAL;
	}

	memset(&k, 0, sizeof(k));
	ret = load_kernel(mem, cfg->kernel_path, &k);
	if (ret < 0)
		return ret;

	cmdline = cfg->cmdline ? cfg->cmdline : "";
	len = strlen(cmdline);
	if (len > k.cmdline_max) {
		pr_err("command line is %zu bytes but kernel %s accepts at most %u; shorten it",
		       len, cfg->kernel_path, k.cmdline_max);
		return -E2BIG;
	}

	if (cfg->initrd_path) {
		ret = boot_initrd_load(mem, cfg->initrd_path, &k, &initrd_start,
				       &initrd_size);
		if (ret < 0)
			return ret;
	}

	ret = boot_zeropage_build(mem, &k, cmdline, initrd_start, initrd_size);
	if (ret < 0)
		return ret;

	memset(bi, 0, sizeof(*bi));
	ret = boot__setup_tables(mem, bi);
	if (ret < 0)
		return ret;
	bi->entry = k.entry;
	bi->zero_page = BOOT_ZERO_PAGE_ADDR;
	bi->kernel_start = k.start;
	bi->kernel_end = k.end;
	bi->initrd_start = initrd_start;
	bi->initrd_size = initrd_size;
	bi->format = k.format;

	pr_debug("%s: %s at [0x%llx, 0x%llx), entry 0x%llx, initrd [0x%llx, +0x%llx)",
		 cfg->kernel_path, k.format, (unsigned long long)k.start,
		 (unsigned long long)k.end, (unsigned long long)k.entry,
		 (unsigned long long)initrd_start,
		 (unsigned long long)initrd_size);
	return 0;
}
