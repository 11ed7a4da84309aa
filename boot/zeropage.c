// SPDX-License-Identifier: Apache-2.0
/*
 * The zero page (struct boot_params): setup header, command line pointer,
 * initrd, e820 map.  Also places the initrd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"

/*
 * The layout is ABI: check it against the offsets of
 * arch/x86/include/uapi/asm/bootparam.h and Documentation/x86/boot.rst.
 */
#define ZP_OFF(f) offsetof(struct boot_zero_page, f)
_Static_assert(sizeof(struct boot_zero_page) == 4096, "zero page size");
_Static_assert(sizeof(struct boot_e820) == 20, "e820 entry size");
_Static_assert(sizeof(struct boot_setup_header) == 0x26c - 0x1f1,
	       "setup header size");
_Static_assert(ZP_OFF(ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
_Static_assert(ZP_OFF(ext_ramdisk_size) == 0x0c4, "ext_ramdisk_size");
_Static_assert(ZP_OFF(ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
_Static_assert(ZP_OFF(e820_entries) == 0x1e8, "e820_entries");
_Static_assert(ZP_OFF(hdr) == 0x1f1, "hdr");
_Static_assert(ZP_OFF(hdr.boot_flag) == 0x1fe, "boot_flag");
_Static_assert(ZP_OFF(hdr.jump) == 0x200, "jump");
_Static_assert(ZP_OFF(hdr.header) == 0x202, "header");
_Static_assert(ZP_OFF(hdr.version) == 0x206, "version");
_Static_assert(ZP_OFF(hdr.type_of_loader) == 0x210, "type_of_loader");
_Static_assert(ZP_OFF(hdr.loadflags) == 0x211, "loadflags");
_Static_assert(ZP_OFF(hdr.code32_start) == 0x214, "code32_start");
_Static_assert(ZP_OFF(hdr.ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(ZP_OFF(hdr.ramdisk_size) == 0x21c, "ramdisk_size");
_Static_assert(ZP_OFF(hdr.heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(ZP_OFF(hdr.ext_loader_ver) == 0x226, "ext_loader_ver");
_Static_assert(ZP_OFF(hdr.cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(ZP_OFF(hdr.initrd_addr_max) == 0x22c, "initrd_addr_max");
_Static_assert(ZP_OFF(hdr.kernel_alignment) == 0x230, "kernel_alignment");
_Static_assert(ZP_OFF(hdr.relocatable_kernel) == 0x234, "relocatable");
_Static_assert(ZP_OFF(hdr.xloadflags) == 0x236, "xloadflags");
_Static_assert(ZP_OFF(hdr.cmdline_size) == 0x238, "cmdline_size");
_Static_assert(ZP_OFF(hdr.hardware_subarch) == 0x23c, "hardware_subarch");
_Static_assert(ZP_OFF(hdr.payload_offset) == 0x248, "payload_offset");
_Static_assert(ZP_OFF(hdr.setup_data) == 0x250, "setup_data");
_Static_assert(ZP_OFF(hdr.pref_address) == 0x258, "pref_address");
_Static_assert(ZP_OFF(hdr.init_size) == 0x260, "init_size");
_Static_assert(ZP_OFF(hdr.kernel_info_offset) == 0x268, "kernel_info_offset");
_Static_assert(ZP_OFF(e820_table) == 0x2d0, "e820_table");
_Static_assert(BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX + 1 <= BOOT_EBDA_ADDR,
	       "command line overlaps the EBDA");
_Static_assert(BOOT_ZERO_PAGE_ADDR + 4096 <= BOOT_PML4_ADDR,
	       "zero page overlaps the page tables");

#define ZP_PAGE			4096ULL
#define ZP_LOADER_UNDEFINED	0xff	/* type_of_loader: no assigned id */
#define ZP_PROTOCOL_VERSION	0x020f
#define ZP_KERNEL_ALIGNMENT	(16 * MiB)
/*
 * heap_end_ptr: end of the setup heap/stack, relative to the real-mode code,
 * minus 0x200.  Only the real-mode setup code uses it and the 64-bit entry
 * skips that code, but the field is "write (obligatory)"; 0xde00 is the
 * conventional value for a setup segment that ends at 0xe000.
 */
#define ZP_HEAP_END_PTR		0xde00

/* "12 KiB", "3 MiB": a size a user recognises, rounded up. */
static const char *zp_size_str(char *buf, size_t len, u64 bytes)
{
	if (bytes < MiB)
		snprintf(buf, len, "%llu KiB",
			 (unsigned long long)((bytes + KiB - 1) / KiB));
	else
		snprintf(buf, len, "%llu MiB",
			 (unsigned long long)((bytes + MiB - 1) / MiB));
	return buf;
}

int boot_initrd_load(struct guest_mem *mem, const char *path,
		     const struct boot_kernel *k, u64 *start, u64 *size)
{
	char sz[32];
	struct stat st;
	u64 limit, fsize, addr, lo;
	u8 *dst;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("cannot open initrd %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		pr_err("cannot stat initrd %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("initrd %s is not a regular file", path);
		ret = -EINVAL;
		goto out;
	}
	fsize = st.st_size;
	if (fsize == 0) {
		/* Nothing to load; the kernel sees no initrd. */
		*start = 0;
		*size = 0;
		ret = 0;
		goto out;
	}

	/*
	 * As high as possible, below both the end of RAM and the kernel's
	 * initrd_addr_max (the last byte the initrd may occupy), 4 KiB
	 * aligned, and above everything the kernel uses before it parses the
	 * e820 map (reserve_end is page-aligned up so that the initrd starts
	 * on a page of its own).
	 */
	limit = MIN(mem->size, k->initrd_addr_max + 1);
	lo = (k->reserve_end + ZP_PAGE - 1) & ~(ZP_PAGE - 1);
	if (fsize > limit || ((limit - fsize) & ~(ZP_PAGE - 1)) < lo) {
		pr_err("initrd %s (%s) does not fit in guest RAM (%llu MiB) above the kernel (which needs memory up to 0x%llx; the initrd must end by 0x%llx); increase --mem",
		       path, zp_size_str(sz, sizeof(sz), fsize),
		       (unsigned long long)(mem->size / MiB),
		       (unsigned long long)k->reserve_end,
		       (unsigned long long)limit);
		ret = -ENOMEM;
		goto out;
	}
	addr = (limit - fsize) & ~(ZP_PAGE - 1);

	dst = guest_mem__ptr(mem, addr, fsize);
	if (!dst) {
		ret = -EFAULT;
		goto out;
	}
	ret = boot_pread(fd, dst, fsize, 0);
	if (ret < 0) {
		pr_err("cannot read initrd %s: %s", path, strerror(-ret));
		goto out;
	}
	*start = addr;
	*size = fsize;
out:
	close(fd);
	return ret;
}

static void zp_add_e820(struct boot_zero_page *zp, u64 addr, u64 size,
			u32 type)
{
	struct boot_e820 *e = &zp->e820_table[zp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

/*
 * A vmlinux has no setup header to copy: fill in what a protocol-aware
 * loader would find in a bzImage of the same kernel and what the kernel
 * reads back from it.
 */
static void zp_synth_header(struct boot_setup_header *h,
			    const struct boot_kernel *k)
{
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->header = BOOT_HDRS_MAGIC;
	h->version = ZP_PROTOCOL_VERSION;
	h->loadflags = BOOT_LOADED_HIGH;
	h->kernel_alignment = ZP_KERNEL_ALIGNMENT;
	h->initrd_addr_max = (u32)MIN(k->initrd_addr_max, (u64)UINT32_MAX);
	h->cmdline_size = k->cmdline_max;
}

int boot_zeropage_build(struct guest_mem *mem, const struct boot_kernel *k,
			const char *cmdline, u64 initrd_start, u64 initrd_size)
{
	struct boot_zero_page *zp;
	struct boot_setup_header *h;
	size_t len = strlen(cmdline);
	char *cl;

	zp = guest_mem__ptr(mem, BOOT_ZERO_PAGE_ADDR, sizeof(*zp));
	cl = guest_mem__ptr(mem, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX + 1);
	if (!zp || !cl || len > k->cmdline_max)
		return -EINVAL;	/* boot__load checked RAM size and length */

	/*
	 * Start from all zeroes, as the protocol asks: fields we do not know
	 * must read as "not provided", not as stale memory.
	 */
	memset(zp, 0, sizeof(*zp));
	h = &zp->hdr;
	if (k->hdr_len) {
		/* The header exactly as the kernel declared it. */
		memcpy(h, k->hdr, MIN((size_t)k->hdr_len, sizeof(*h)));
		h->loadflags |= BOOT_LOADED_HIGH | BOOT_CAN_USE_HEAP;
		/* QUIET would silence the decompressor's messages. */
		h->loadflags &= ~BOOT_QUIET_FLAG;
		h->heap_end_ptr = ZP_HEAP_END_PTR;
		/* We pass no setup_data list. */
		h->setup_data = 0;
	} else {
		zp_synth_header(h, k);
	}
	h->type_of_loader = ZP_LOADER_UNDEFINED;
	h->ext_loader_ver = 0;
	h->ext_loader_type = 0;

	memset(cl, 0, BOOT_CMDLINE_MAX + 1);
	memcpy(cl, cmdline, len);
	h->cmd_line_ptr = (u32)BOOT_CMDLINE_ADDR;
	zp->ext_cmd_line_ptr = 0;

	/* RAM is at most 4 GiB, so the high halves are always zero. */
	h->ramdisk_image = (u32)initrd_start;
	h->ramdisk_size = (u32)initrd_size;
	zp->ext_ramdisk_image = 0;
	zp->ext_ramdisk_size = 0;

	zp->e820_entries = 0;
	zp_add_e820(zp, 0, BOOT_EBDA_ADDR, BOOT_E820_RAM);
	zp_add_e820(zp, BOOT_EBDA_ADDR, BOOT_LOW_RAM_END - BOOT_EBDA_ADDR,
		    BOOT_E820_RESERVED);
	zp_add_e820(zp, BOOT_BIOS_ADDR, BOOT_HIGH_RAM_ADDR - BOOT_BIOS_ADDR,
		    BOOT_E820_RESERVED);
	zp_add_e820(zp, BOOT_HIGH_RAM_ADDR, mem->size - BOOT_HIGH_RAM_ADDR,
		    BOOT_E820_RAM);
	return 0;
}
