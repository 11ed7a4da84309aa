/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_BOOT_H
#define MICROVM_BOOT_H

/*
 * The Linux x86 boot protocol, 64-bit entry (Documentation/x86/boot.rst,
 * "64-bit Boot Protocol"): load an ELF64 vmlinux (or a test guest that
 * follows the same protocol) or a bzImage into guest RAM, build the zero
 * page (struct boot_params) with the command line, initrd and e820 map,
 * build identity page tables and a GDT, and put the vCPU straight into long
 * mode at the kernel's 64-bit entry point with RSI = zero page.
 *
 * Guest-physical layout (fixed, the same for every guest):
 *
 *   0x000000 - 0x0004ff  real-mode IVT and BIOS data area (left zero)
 *   0x000500 - 0x00052f  GDT: 0x00 null, 0x08 null, 0x10 __BOOT_CS (64-bit
 *                        code, L=1, DPL0), 0x18 __BOOT_DS (flat data),
 *                        0x20 64-bit TSS descriptor (16 bytes)
 *   0x000580 - 0x0005e7  TSS (zero, no I/O bitmap): only so that TR is usable
 *   0x007000 - 0x007fff  zero page (struct boot_params), RSI at entry
 *   0x009000             PML4 (CR3)
 *   0x00a000             PDPT
 *   0x00b000 - 0x00efff  four page directories: the first 4 GiB mapped
 *                        identically with 2 MiB pages
 *   0x020000 - 0x0207ff  kernel command line (NUL-terminated)
 *   0x09fc00 - 0x09ffff  reserved in e820 (where a PC has its EBDA)
 *   0x0f0000 - 0x0fffff  reserved in e820 (where a PC has its BIOS ROM)
 *   0x100000 -           kernel: ELF PT_LOAD segments at p_paddr (>= 1 MiB),
 *                        or a bzImage's protected-mode code at 0x100000
 *   top of RAM           initrd, 4 KiB aligned, as high as the kernel's
 *                        initrd_addr_max allows
 *
 * e820: [0, 0x9fc00) RAM, [0x9fc00, 0xa0000) reserved, [0xf0000, 0x100000)
 * reserved, [0x100000, ram_size) RAM.  Guest RAM is at most 3 GiB (the VMM
 * enforces that; the loader itself refuses more than 4 GiB).
 */
#include <stddef.h>

#include "../common/guest_mem.h"
#include "../common/util.h"

#define BOOT_GDT_ADDR		0x500ULL
#define BOOT_TSS_ADDR		0x580ULL
#define BOOT_ZERO_PAGE_ADDR	0x7000ULL
#define BOOT_PML4_ADDR		0x9000ULL
#define BOOT_PDPT_ADDR		0xa000ULL
#define BOOT_PD_ADDR		0xb000ULL	/* four, 4 KiB each */
#define BOOT_PD_COUNT		4
#define BOOT_CMDLINE_ADDR	0x20000ULL
#define BOOT_CMDLINE_MAX	2047	/* COMMAND_LINE_SIZE - 1 on x86 */
#define BOOT_EBDA_ADDR		0x9fc00ULL
#define BOOT_LOW_RAM_END	0xa0000ULL
#define BOOT_BIOS_ADDR		0xf0000ULL
#define BOOT_HIGH_RAM_ADDR	0x100000ULL	/* 1 MiB */
#define BOOT_BZIMAGE_ADDR	0x100000ULL
#define BOOT_MAX_RAM		(4 * GiB)

/* GDT selectors the protocol requires, and our TSS. */
#define BOOT_CS			0x10
#define BOOT_DS			0x18
#define BOOT_TSS		0x20
#define BOOT_GDT_ENTRIES	6	/* the TSS descriptor takes two */

struct boot_config {
	const char *kernel_path;	/* ELF64 vmlinux, test guest, bzImage */
	const char *initrd_path;	/* NULL for none */
	const char *cmdline;		/* final command line, "" allowed */
};

struct boot_info {
	u64 entry;			/* 64-bit entry point (physical) */
	u64 zero_page;			/* goes in RSI */
	u64 pml4;			/* CR3 */
	u64 gdt_base;
	u16 gdt_limit;
	u64 kernel_start, kernel_end;	/* what was loaded: [start, end) */
	u64 initrd_start, initrd_size;	/* 0, 0 for none or an empty one */
	const char *format;		/* "ELF64" or "bzImage" */
};

/*
 * Load the kernel, initrd and command line of @cfg into @mem and build the
 * zero page, GDT and page tables.  Returns 0, or a negative errno after one
 * pr_err() that names the file, what is wrong with it and the fix:
 * -ENOEXEC for a file that is not a usable kernel (or is truncated), -ENOMEM
 * when the kernel or initrd does not fit in guest RAM, -E2BIG for a command
 * line longer than the kernel accepts, -EINVAL for an unusable RAM size, or
 * the errno of a failed open/read.
 */
int boot__load(struct guest_mem *mem, const struct boot_config *cfg,
	       struct boot_info *bi);

/*
 * Put the vCPU @vcpu_fd in 64-bit mode at bi->entry with RSI = bi->zero_page,
 * paging on with CR3 = bi->pml4 and the GDT of bi.  Returns 0 or -errno (after
 * a pr_err naming the ioctl).
 */
int boot__setup_vcpu(int vcpu_fd, const struct boot_info *bi);

/*
 * Identity page tables + GDT/TSS only (no kernel), for tiny probe guests the
 * VMM builds in memory.  Sets bi->pml4, bi->gdt_base and bi->gdt_limit and
 * leaves the other fields as the caller set them.  Returns 0, or -EINVAL if
 * RAM does not cover the tables.
 */
int boot__setup_tables(struct guest_mem *mem, struct boot_info *bi);

/*
 * The boot protocol ABI (arch/x86/include/uapi/asm/bootparam.h), defined
 * here with our own names so that no kernel header is needed.  Offsets are
 * checked with _Static_assert in zeropage.c.
 */
#define BOOT_HDR_OFFSET		0x1f1	/* setup header, in file & zero page */
#define BOOT_HDR_END_MAX	0x290	/* the zero page has room up to here */
#define BOOT_HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG_MAGIC		0xaa55

#define BOOT_LOADED_HIGH	(1 << 0)
#define BOOT_QUIET_FLAG		(1 << 5)
#define BOOT_CAN_USE_HEAP	(1 << 7)
#define BOOT_XLF_KERNEL_64	(1 << 0)

#define BOOT_E820_RAM		1
#define BOOT_E820_RESERVED	2
#define BOOT_E820_MAX		128

struct boot_setup_header {
	u8 setup_sects;			/* 0x1f1 */
	u16 root_flags;
	u32 syssize;
	u16 ram_size;
	u16 vid_mode;
	u16 root_dev;
	u16 boot_flag;			/* 0x1fe */
	u16 jump;			/* 0x200 */
	u32 header;			/* 0x202 */
	u16 version;			/* 0x206 */
	u32 realmode_swtch;
	u16 start_sys_seg;
	u16 kernel_version;
	u8 type_of_loader;		/* 0x210 */
	u8 loadflags;			/* 0x211 */
	u16 setup_move_size;
	u32 code32_start;
	u32 ramdisk_image;		/* 0x218 */
	u32 ramdisk_size;		/* 0x21c */
	u32 bootsect_kludge;
	u16 heap_end_ptr;		/* 0x224 */
	u8 ext_loader_ver;
	u8 ext_loader_type;
	u32 cmd_line_ptr;		/* 0x228 */
	u32 initrd_addr_max;		/* 0x22c */
	u32 kernel_alignment;		/* 0x230 */
	u8 relocatable_kernel;
	u8 min_alignment;
	u16 xloadflags;			/* 0x236 */
	u32 cmdline_size;		/* 0x238 */
	u32 hardware_subarch;
	u64 hardware_subarch_data;
	u32 payload_offset;
	u32 payload_length;
	u64 setup_data;			/* 0x250 */
	u64 pref_address;		/* 0x258 */
	u32 init_size;			/* 0x260 */
	u32 handover_offset;
	u32 kernel_info_offset;		/* 0x268 */
} __attribute__((packed));

struct boot_e820 {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));

/* struct boot_params, "the zero page": only the fields we use are named. */
struct boot_zero_page {
	u8 _pad0[0xc0];
	u32 ext_ramdisk_image;		/* 0x0c0 */
	u32 ext_ramdisk_size;		/* 0x0c4 */
	u32 ext_cmd_line_ptr;		/* 0x0c8 */
	u8 _pad1[0x1e8 - 0xcc];
	u8 e820_entries;		/* 0x1e8 */
	u8 _pad2[BOOT_HDR_OFFSET - 0x1e9];
	struct boot_setup_header hdr;	/* 0x1f1 */
	u8 _pad3[0x2d0 - BOOT_HDR_OFFSET - sizeof(struct boot_setup_header)];
	struct boot_e820 e820_table[BOOT_E820_MAX];	/* 0x2d0 */
	u8 _pad4[0x1000 - 0xcd0];
} __attribute__((packed));

/* ---- internal: shared by the files of the boot module only ---- */

/* What a format loader learned about the kernel it put in guest RAM. */
struct boot_kernel {
	const char *format;
	u64 entry;
	u64 start, end;		/* loaded bytes */
	/*
	 * End of what the kernel may use before it has read the e820 map
	 * (a bzImage decompresses above its load address): the initrd goes
	 * above this.
	 */
	u64 reserve_end;
	u64 initrd_addr_max;	/* highest byte the initrd may occupy */
	u32 cmdline_max;	/* longest command line, without the NUL */
	/* bzImage only: the setup header as the file has it. */
	u32 hdr_len;		/* bytes from BOOT_HDR_OFFSET; 0 for an ELF */
	u8 hdr[BOOT_HDR_END_MAX - BOOT_HDR_OFFSET];
};

/* loader.c: read exactly @len bytes at @off; -EIO if the file is shorter. */
int boot_pread(int fd, void *buf, size_t len, u64 off);

/* elf.c / bzimage.c: validate and load the image open on @fd. */
int boot_elf_load(struct guest_mem *mem, int fd, u64 fsize, const char *path,
		  struct boot_kernel *k);
int boot_bzimage_load(struct guest_mem *mem, int fd, u64 fsize,
		      const char *path, struct boot_kernel *k);

/* zeropage.c */
int boot_initrd_load(struct guest_mem *mem, const char *path,
		     const struct boot_kernel *k, u64 *start, u64 *size);
int boot_zeropage_build(struct guest_mem *mem, const struct boot_kernel *k,
			const char *cmdline, u64 initrd_start, u64 initrd_size);

#endif
