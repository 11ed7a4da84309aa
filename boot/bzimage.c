// SPDX-License-Identifier: Apache-2.0
/*
 * bzImage loader (boot protocol 2.12+ with a 64-bit entry).
 *
 * The file is a real-mode boot sector and setup code ((setup_sects + 1) *
 * 512 bytes), then the protected-mode kernel: a self-decompressing stub.
 * We skip the real-mode part, load the protected-mode code at 0x100000 and
 * enter it at 0x100000 + 0x200 (startup_64) in long mode.  The stub then
 * decompresses the kernel to its runtime address (LOAD_PHYSICAL_ADDR or
 * higher), using init_size bytes there; the initrd must stay clear of that.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot.h"

#define BZ_SECTOR		512
#define BZ_DEFAULT_SECTS	4	/* setup_sects == 0 means 4 */
#define BZ_ENTRY64_OFFSET	0x200
#define BZ_LOAD_PHYSICAL_ADDR	(16 * MiB)	/* x86_64 default */
#define BZ_MIN_VERSION		0x0206		/* cmdline_size */
#define BZ_VERSION_XLF		0x020c		/* xloadflags */

/* Setup header bytes must reach at least init_size, which we need. */
#define BZ_HDR_MIN_END \
	(BOOT_HDR_OFFSET + offsetof(struct boot_setup_header, init_size) + 4)

int boot_bzimage_load(struct guest_mem *mem, int fd, u64 fsize,
		      const char *path, struct boot_kernel *k)
{
	struct boot_setup_header h;
	u8 head[BOOT_HDR_END_MAX];
	u64 hdr_end, setup_size, pm_size, runtime, init_size, need, ram;
	unsigned int sects;
	u16 version;
	u8 *dst;
	int ret;

	/* The loader only calls us for files of at least 0x206 bytes. */
	memset(head, 0, sizeof(head));
	ret = boot_pread(fd, head, MIN(fsize, sizeof(head)), 0);
	if (ret < 0) {
		pr_err("cannot read kernel %s: %s", path, strerror(-ret));
		return ret;
	}

	/*
	 * Version first: an old kernel has a shorter header, and "too old"
	 * is the message its user needs.
	 */
	version = head[0x206] | (u16)head[0x207] << 8;
	if (version < BZ_MIN_VERSION) {
		pr_err("kernel %s uses boot protocol %u.%02u; microvm needs 2.12 or later (Linux 3.8+) for the 64-bit entry",
		       path, version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (version < BZ_VERSION_XLF) {
		pr_err("kernel %s uses boot protocol %u.%02u, which has no 64-bit entry point (xloadflags came in 2.12); microvm enters kernels in 64-bit mode: use an x86_64 kernel from Linux 3.8 or later",
		       path, version >> 8, version & 0xff);
		return -ENOEXEC;
	}

	/*
	 * The jump at 0x200 (0xEB, rel8) skips the header: its end, 0x202 +
	 * the offset byte, is how long the header of this kernel is.
	 */
	hdr_end = 0x202 + (u64)head[0x201];
	if (head[0x200] != 0xeb || hdr_end < BZ_HDR_MIN_END) {
		pr_err("kernel %s has a 'HdrS' signature but no usable setup header (jump %02x %02x); it is not a bzImage microvm can boot",
		       path, head[0x200], head[0x201]);
		return -ENOEXEC;
	}
	if (hdr_end > fsize) {
		pr_err("kernel %s is truncated: its setup header ends at 0x%llx, beyond the end of the file (%llu bytes)",
		       path, (unsigned long long)hdr_end,
		       (unsigned long long)fsize);
		return -ENOEXEC;
	}
	/* Fields newer than our zero page layout stay out (and unused). */
	hdr_end = MIN(hdr_end, (u64)BOOT_HDR_END_MAX);

	memset(&h, 0, sizeof(h));
	memcpy(&h, head + BOOT_HDR_OFFSET,
	       MIN(sizeof(h), hdr_end - BOOT_HDR_OFFSET));

	if (!(h.xloadflags & BOOT_XLF_KERNEL_64)) {
		pr_err("kernel %s has no 64-bit entry point (XLF_KERNEL_64 not set in xloadflags); microvm enters kernels in 64-bit mode: use an x86_64 kernel",
		       path);
		return -ENOEXEC;
	}
	if (!(h.loadflags & BOOT_LOADED_HIGH)) {
		pr_err("kernel %s is a zImage (not LOADED_HIGH); only bzImage is supported",
		       path);
		return -ENOEXEC;
	}

	sects = h.setup_sects ? h.setup_sects : BZ_DEFAULT_SECTS;
	setup_size = (u64)(sects + 1) * BZ_SECTOR;
	if (setup_size >= fsize) {
		pr_err("kernel %s is truncated: setup_sects %u puts the protected-mode code at 0x%llx, at or beyond the end of the file (%llu bytes)",
		       path, sects, (unsigned long long)setup_size,
		       (unsigned long long)fsize);
		return -ENOEXEC;
	}
	pm_size = fsize - setup_size;
	if (pm_size <= BZ_ENTRY64_OFFSET) {
		pr_err("kernel %s is truncated: its protected-mode code (%llu bytes) does not reach the 64-bit entry at +0x200",
		       path, (unsigned long long)pm_size);
		return -ENOEXEC;
	}

	/*
	 * Memory the kernel needs before it reads the e820 map: the loaded
	 * image, and init_size bytes at the address the stub decompresses
	 * to.  That is pref_address (LOAD_PHYSICAL_ADDR) for a fixed kernel;
	 * a relocatable one uses its load address aligned up to
	 * kernel_alignment, but never less than LOAD_PHYSICAL_ADDR
	 * (arch/x86/boot/compressed/head_64.S).  All terms stay below 2^34:
	 * no overflow.
	 */
	init_size = MAX((u64)h.init_size, pm_size);
	runtime = BZ_LOAD_PHYSICAL_ADDR;
	if (h.pref_address && h.pref_address < BOOT_MAX_RAM)
		runtime = h.pref_address;
	if (h.relocatable_kernel && h.kernel_alignment &&
	    !(h.kernel_alignment & (h.kernel_alignment - 1))) {
		u64 a = h.kernel_alignment;

		runtime = MAX(runtime, (BOOT_BZIMAGE_ADDR + a - 1) & ~(a - 1));
	}
	need = MAX(BOOT_BZIMAGE_ADDR + init_size, runtime + init_size);
	ram = mem->size;
	if (need > ram) {
		pr_err("kernel %s needs at least %llu MiB of guest RAM to decompress (init_size 0x%x at 0x%llx) but the guest has %llu MiB; increase --mem",
		       path, (unsigned long long)((need + MiB - 1) / MiB),
		       h.init_size, (unsigned long long)runtime,
		       (unsigned long long)(ram / MiB));
		return -ENOMEM;
	}

	dst = guest_mem__ptr(mem, BOOT_BZIMAGE_ADDR, pm_size);
	if (!dst)
		return -EFAULT;	/* need >= pm_size + 1 MiB was checked */
	ret = boot_pread(fd, dst, pm_size, setup_size);
	if (ret < 0) {
		pr_err("cannot read kernel %s: %s", path, strerror(-ret));
		return ret;
	}

	k->format = "bzImage";
	k->entry = BOOT_BZIMAGE_ADDR + BZ_ENTRY64_OFFSET;
	k->start = BOOT_BZIMAGE_ADDR;
	k->end = BOOT_BZIMAGE_ADDR + pm_size;
	k->reserve_end = need;
	k->initrd_addr_max = h.initrd_addr_max;
	k->cmdline_max = MIN((u32)BOOT_CMDLINE_MAX, h.cmdline_size);
	k->hdr_len = hdr_end - BOOT_HDR_OFFSET;
	memcpy(k->hdr, head + BOOT_HDR_OFFSET, k->hdr_len);
	return 0;
}
