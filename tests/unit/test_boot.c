// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the boot protocol loader: synthetic ELF64 and bzImage files
 * in a temporary directory, loaded into a guest_mem backed by an anonymous
 * mapping, then the guest memory, zero page and tables are inspected.  Error
 * cases also check the single message the loader prints (stderr is captured).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../boot/boot.h"
#include "check.h"

#define SEG_OFF		0x1000	/* where synthetic ELFs keep segment data */
#define MAX_FILES	128

static char tmpdir[64];
static char *files[MAX_FILES];
static int nfiles;

/* ---- fixtures ---- */

static const char *write_file(const void *buf, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/f.XXXXXX", tmpdir);
	fd = mkstemp(path);
	if (fd < 0 || (len && util__write_full(fd, buf, len) != (ssize_t)len)) {
		perror("test_boot: write_file");
		exit(2);
	}
	close(fd);
	if (nfiles == MAX_FILES) {
		fprintf(stderr, "test_boot: too many temp files\n");
		exit(2);
	}
	files[nfiles] = strdup(path);
	return files[nfiles++];
}

static const char *missing_path(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	return path;
}

static void cleanup(void)
{
	int i;

	for (i = 0; i < nfiles; i++) {
		unlink(files[i]);
		free(files[i]);
	}
	rmdir(tmpdir);
}

static struct guest_mem mem_new(u64 size)
{
	struct guest_mem m;
	void *p;

	/* Anonymous pages read as zero and cost nothing until touched. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("test_boot: mmap");
		exit(2);
	}
	m.host = p;
	m.size = size;
	return m;
}

static void mem_free(struct guest_mem *m)
{
	munmap(m->host, m->size);
}

static struct boot_zero_page *zero_page(struct guest_mem *m)
{
	return guest_mem__ptr(m, BOOT_ZERO_PAGE_ADDR, 4096);
}

/* ---- capturing the loader's messages ---- */

static int saved_stderr = -1;
static FILE *capture_file;

static void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	if (!capture_file || saved_stderr < 0) {
		perror("test_boot: capture");
		exit(2);
	}
	dup2(fileno(capture_file), STDERR_FILENO);
}

static void capture_end(char *out, size_t cap)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(capture_file);
	n = fread(out, 1, cap - 1, capture_file);
	out[n] = '\0';
	fclose(capture_file);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * boot__load must fail with @err after exactly one error line that names
 * @file and contains @what.
 */
static void expect_fail_at(int line, struct guest_mem *m,
			   const struct boot_config *cfg, int err,
			   const char *file, const char *what)
{
	struct boot_info bi;
	char msg[2048];
	int ret;

	capture_begin();
	ret = boot__load(m, cfg, &bi);
	capture_end(msg, sizeof(msg));
	if (ret != err || !strstr(msg, file) || !strstr(msg, what) ||
	    count_lines(msg) != 1 || !strstr(msg, "error: ")) {
		fprintf(stderr,
			"test_boot.c:%d: expected %d with one error naming '%s' and saying '%s'; got %d and:\n%s",
			line, err, file, what, ret, msg);
		check_failures++;
	}
}

#define expect_fail(m, cfg, err, file, what) \
	expect_fail_at(__LINE__, m, cfg, err, file, what)

/* ---- synthetic ELF64 images ---- */

/*
 * Write an ELF64 x86-64 executable header with @n program headers into
 * @buf; the caller puts segment data at the p_offsets it chose.
 */
static void elf_build(u8 *buf, u64 entry, const Elf64_Phdr *ph, unsigned n)
{
	Elf64_Ehdr eh;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = n;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, n * sizeof(*ph));
}

static Elf64_Phdr load_phdr(u64 paddr, u64 off, u64 filesz, u64 memsz)
{
	Elf64_Phdr p;

	memset(&p, 0, sizeof(p));
	p.p_type = PT_LOAD;
	p.p_flags = PF_R | PF_X;
	p.p_offset = off;
	p.p_vaddr = paddr;
	p.p_paddr = paddr;
	p.p_filesz = filesz;
	p.p_memsz = memsz;
	p.p_align = 0x1000;
	return p;
}

/* One PT_LOAD at 1 MiB: 0x100 bytes of pattern, 0x2000 in memory. */
static const char *minimal_elf(void)
{
	static u8 buf[SEG_OFF + 0x100];
	Elf64_Phdr ph = load_phdr(MiB, SEG_OFF, 0x100, 0x2000);
	unsigned i;

	memset(buf, 0, sizeof(buf));
	elf_build(buf, MiB + 0x10, &ph, 1);
	for (i = 0; i < 0x100; i++)
		buf[SEG_OFF + i] = (u8)(i ^ 0x5a);
	return write_file(buf, sizeof(buf));
}

/* An ELF whose single program header is @ph, data = 0x100 bytes at SEG_OFF. */
static const char *elf_with(Elf64_Phdr ph, u64 entry, size_t len)
{
	static u8 buf[SEG_OFF + 0x100];

	memset(buf, 0, sizeof(buf));
	elf_build(buf, entry, &ph, 1);
	memset(buf + SEG_OFF, 0x90, 0x100);
	return write_file(buf, MIN(len, sizeof(buf)));
}

/* ---- synthetic bzImages ---- */

struct bz_opts {
	u16 version;
	u16 xloadflags;
	u8 setup_sects;
	u8 jump;		/* header ends at 0x202 + jump */
	u32 init_size;
	u32 cmdline_size;
	u32 initrd_addr_max;
	u32 pm_size;		/* protected-mode code bytes */
	u64 pref_address;	/* LOAD_PHYSICAL_ADDR */
};

static const struct bz_opts bz_default = {
	.version = 0x020f,
	.xloadflags = BOOT_XLF_KERNEL_64,
	.setup_sects = 4,
	.jump = 0x66,		/* 0x268: kernel_info_offset stays out */
	.init_size = 0x400000,	/* 4 MiB */
	.cmdline_size = 2047,
	.initrd_addr_max = 0x7fffffff,
	.pm_size = 0x3000,
	.pref_address = 16 * MiB,
};

static u8 bz_payload_byte(u32 i)
{
	return (u8)(i * 7 + 3);
}

static const char *bzimage(const struct bz_opts *o, size_t *len_out)
{
	static u8 buf[64 * 1024];
	struct boot_setup_header h;
	unsigned sects = o->setup_sects ? o->setup_sects : 4;
	size_t setup = (sects + 1) * 512, len = setup + o->pm_size;
	u32 i;

	if (len > sizeof(buf)) {
		fprintf(stderr, "test_boot: bzImage too big\n");
		exit(2);
	}
	memset(buf, 0, sizeof(buf));
	memset(&h, 0, sizeof(h));
	h.setup_sects = o->setup_sects;
	h.syssize = o->pm_size / 16;
	h.vid_mode = 0xffff;
	h.boot_flag = BOOT_FLAG_MAGIC;
	h.jump = 0xeb | (u16)o->jump << 8;
	h.header = BOOT_HDRS_MAGIC;
	h.version = o->version;
	h.kernel_version = 0x1234;	/* a marker to find in the zero page */
	h.type_of_loader = 0;
	h.loadflags = BOOT_LOADED_HIGH | BOOT_QUIET_FLAG;
	h.code32_start = 0x100000;
	h.initrd_addr_max = o->initrd_addr_max;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = o->xloadflags;
	h.cmdline_size = o->cmdline_size;
	h.pref_address = o->pref_address;
	h.init_size = o->init_size;
	h.kernel_info_offset = 0xdeadbeef;	/* beyond the jump length */
	memcpy(buf + BOOT_HDR_OFFSET, &h, sizeof(h));
	for (i = 0; i < o->pm_size; i++)
		buf[setup + i] = bz_payload_byte(i);
	if (len_out)
		*len_out = len;
	return write_file(buf, len);
}

/* ---- software page walk ---- */

static u64 walk(struct guest_mem *m, u64 cr3, u64 va)
{
	u64 *pml4 = guest_mem__ptr(m, cr3 & ~0xfffULL, 4096);
	u64 e, *pdpt, *pd;

	if (!pml4)
		return ~0ULL;
	e = pml4[(va >> 39) & 511];
	if (!(e & 1) || !(e & 2))
		return ~0ULL;
	pdpt = guest_mem__ptr(m, e & 0x000ffffffffff000ULL, 4096);
	if (!pdpt)
		return ~0ULL;
	e = pdpt[(va >> 30) & 511];
	if (!(e & 1) || !(e & 2) || (e & 0x80))
		return ~0ULL;
	pd = guest_mem__ptr(m, e & 0x000ffffffffff000ULL, 4096);
	if (!pd)
		return ~0ULL;
	e = pd[(va >> 21) & 511];
	if (!(e & 1) || !(e & 2) || !(e & 0x80))
		return ~0ULL;
	return (e & 0x000fffffffe00000ULL) | (va & 0x1fffff);
}

/* ---- ELF tests ---- */

static void test_elf_minimal(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .kernel_path = minimal_elf(), .cmdline = "" };
	struct boot_info bi;
	u8 *p = guest_mem__ptr(&m, MiB, 0x2000);
	unsigned i;
	bool ok = true;

	/* Garbage where the BSS goes: the loader must zero it. */
	memset(p, 0xcc, 0x3000);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.entry, MiB + 0x10);
	CHECK_EQ(bi.kernel_start, MiB);
	CHECK_EQ(bi.kernel_end, MiB + 0x2000);
	CHECK_EQ(bi.zero_page, BOOT_ZERO_PAGE_ADDR);
	CHECK_EQ(bi.pml4, BOOT_PML4_ADDR);
	CHECK_EQ(bi.gdt_base, BOOT_GDT_ADDR);
	CHECK_EQ(bi.gdt_limit, BOOT_GDT_ENTRIES * 8 - 1);
	CHECK_EQ(bi.initrd_start, 0);
	CHECK_EQ(bi.initrd_size, 0);
	CHECK(bi.format && !strcmp(bi.format, "ELF64"));
	for (i = 0; i < 0x100; i++)
		ok &= p[i] == (u8)(i ^ 0x5a);
	CHECK(ok);
	for (i = 0x100; i < 0x2000; i++)
		ok &= p[i] == 0;
	CHECK(ok);
	/* The byte after the segment is not the loader's business. */
	CHECK_EQ(p[0x2000], 0xcc);
	mem_free(&m);
}

static void test_elf_zero_page(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .kernel_path = minimal_elf(),
				   .cmdline = "console=ttyS0" };
	struct boot_zero_page *zp = zero_page(&m);
	struct boot_info bi;

	/* Stale bytes in the zero page must not survive. */
	memset(zp, 0xee, 4096);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(zp->hdr.boot_flag, 0xaa55);
	CHECK_EQ(zp->hdr.header, 0x53726448);
	CHECK(!memcmp(&zp->hdr.header, "HdrS", 4));
	CHECK_EQ(zp->hdr.version, 0x020f);
	CHECK_EQ(zp->hdr.type_of_loader, 0xff);
	CHECK_EQ(zp->hdr.loadflags, BOOT_LOADED_HIGH);
	CHECK_EQ(zp->hdr.kernel_alignment, 16 * MiB);
	CHECK_EQ(zp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	CHECK_EQ(zp->hdr.cmdline_size, 2047);
	CHECK_EQ(zp->hdr.initrd_addr_max, 0x7fffffff);
	CHECK_EQ(zp->hdr.ramdisk_image, 0);
	CHECK_EQ(zp->hdr.ramdisk_size, 0);
	CHECK_EQ(zp->hdr.setup_data, 0);
	CHECK_EQ(zp->ext_cmd_line_ptr, 0);
	CHECK_EQ(zp->ext_ramdisk_image, 0);
	CHECK_EQ(zp->e820_entries, 4);
	/* The sentinel at 0x1ef: nonzero would make Linux distrust the page. */
	CHECK_EQ(((u8 *)zp)[0x1ef], 0);
	CHECK_EQ(((u8 *)zp)[0xfff], 0);
	mem_free(&m);
}

/* vmlinux-like: linked high virtually, loaded by p_paddr, two segments. */
static void test_elf_vmlinux_like(void)
{
	static u8 buf[SEG_OFF + 0x3000];
	struct guest_mem m = mem_new(64 * MiB);
	Elf64_Phdr ph[3];
	struct boot_config cfg = { .cmdline = "" };
	struct boot_info bi;

	memset(buf, 0, sizeof(buf));
	ph[0] = load_phdr(16 * MiB, SEG_OFF, 0x1000, 0x1000);
	ph[0].p_vaddr = 0xffffffff81000000ULL;
	memset(&ph[1], 0, sizeof(ph[1]));
	ph[1].p_type = PT_NOTE;		/* ignored */
	ph[1].p_offset = 0xfffffffff0ULL;
	ph[1].p_filesz = 0x1000;
	ph[2] = load_phdr(18 * MiB, SEG_OFF + 0x1000, 0x2000, 0x10000);
	ph[2].p_vaddr = 0xffffffff81200000ULL;
	elf_build(buf, 16 * MiB, ph, 3);
	memset(buf + SEG_OFF, 0x11, 0x1000);
	memset(buf + SEG_OFF + 0x1000, 0x22, 0x2000);
	cfg.kernel_path = write_file(buf, sizeof(buf));

	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.entry, 16 * MiB);
	CHECK_EQ(bi.kernel_start, 16 * MiB);
	CHECK_EQ(bi.kernel_end, 18 * MiB + 0x10000);
	CHECK_EQ(m.host[16 * MiB], 0x11);
	CHECK_EQ(m.host[16 * MiB + 0xfff], 0x11);
	CHECK_EQ(m.host[18 * MiB], 0x22);
	CHECK_EQ(m.host[18 * MiB + 0x1fff], 0x22);
	CHECK_EQ(m.host[18 * MiB + 0x2000], 0);
	mem_free(&m);
}

static void test_elf_errors(void)
{
	struct guest_mem m = mem_new(8 * MiB);
	struct boot_config cfg = { .cmdline = "" };
	static u8 buf[SEG_OFF + 0x100];
	Elf64_Phdr ph[2];
	const char *p;

	/* Below 1 MiB, where the zero page and page tables live. */
	cfg.kernel_path = elf_with(load_phdr(0x8000, SEG_OFF, 0x100, 0x100),
				   0x8000, SIZE_MAX);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "below 1 MiB");

	/* Beyond RAM: says how much is needed and what to do. */
	cfg.kernel_path = elf_with(load_phdr(7 * MiB, SEG_OFF, 0x100,
					     2 * MiB), 7 * MiB, SIZE_MAX);
	expect_fail(&m, &cfg, -ENOMEM, cfg.kernel_path, "needs at least 9 MiB");
	expect_fail(&m, &cfg, -ENOMEM, cfg.kernel_path, "increase --mem");

	/* A virtual address in p_paddr, and an end that overflows. */
	cfg.kernel_path = elf_with(load_phdr(0xffffffff81000000ULL, SEG_OFF,
					     0x100, 0x100),
				   0xffffffff81000000ULL, SIZE_MAX);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "above 4 GiB");
	cfg.kernel_path = elf_with(load_phdr(MiB, SEG_OFF, 0x100, ~0ULL),
				   MiB, SIZE_MAX);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "above 4 GiB");

	/* Segment data beyond EOF, including an offset that overflows. */
	cfg.kernel_path = elf_with(load_phdr(MiB, SEG_OFF, 0x100, 0x100), MiB,
				   SEG_OFF + 0x80);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "truncated");
	cfg.kernel_path = elf_with(load_phdr(MiB, ~0ULL - 8, 0x100, 0x100),
				   MiB, SIZE_MAX);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "truncated");

	/* Program header table cut off. */
	cfg.kernel_path = elf_with(load_phdr(MiB, SEG_OFF, 0x100, 0x100), MiB,
				   sizeof(Elf64_Ehdr) + 20);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "program headers");

	/* Only part of an ELF header. */
	cfg.kernel_path = elf_with(load_phdr(MiB, SEG_OFF, 0x100, 0x100), MiB,
				   32);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "truncated");

	cfg.kernel_path = elf_with(load_phdr(MiB, SEG_OFF, 0x100, 0x80), MiB,
				   SIZE_MAX);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "p_filesz");

	/* Entry outside every segment. */
	cfg.kernel_path = elf_with(load_phdr(MiB, SEG_OFF, 0x100, 0x100),
				   MiB + 0x100, SIZE_MAX);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "entry point");

	/* Overlapping segments (listed out of order). */
	memset(buf, 0, sizeof(buf));
	ph[0] = load_phdr(MiB + 0x1000, SEG_OFF, 0x100, 0x1000);
	ph[1] = load_phdr(MiB, SEG_OFF, 0x100, 0x1001);
	elf_build(buf, MiB, ph, 2);
	cfg.kernel_path = write_file(buf, sizeof(buf));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "overlap");

	/* No PT_LOAD at all. */
	ph[0].p_type = PT_NOTE;
	elf_build(buf, MiB, ph, 1);
	cfg.kernel_path = write_file(buf, sizeof(buf));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "PT_LOAD");

	/* ELF32, another machine, a shared object. */
	ph[0] = load_phdr(MiB, SEG_OFF, 0x100, 0x100);
	elf_build(buf, MiB, ph, 1);
	buf[EI_CLASS] = ELFCLASS32;
	cfg.kernel_path = write_file(buf, sizeof(buf));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "32-bit");
	buf[EI_CLASS] = ELFCLASS64;
	buf[offsetof(Elf64_Ehdr, e_machine)] = EM_AARCH64;
	cfg.kernel_path = write_file(buf, sizeof(buf));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "not x86-64");
	buf[offsetof(Elf64_Ehdr, e_machine)] = EM_X86_64;
	buf[offsetof(Elf64_Ehdr, e_type)] = ET_DYN;
	cfg.kernel_path = write_file(buf, sizeof(buf));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "not an ELF executable");

	/* Not kernels at all. */
	p = "#!/bin/sh\necho this is a text file, long enough to be read\n";
	cfg.kernel_path = write_file(p, strlen(p));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path,
		    "is not a kernel image: no ELF header and no bzImage 'HdrS' signature");
	cfg.kernel_path = write_file("", 0);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "empty");
	cfg.kernel_path = write_file("\177ELF", 4);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "truncated");
	cfg.kernel_path = missing_path();
	expect_fail(&m, &cfg, -ENOENT, cfg.kernel_path, strerror(ENOENT));
	cfg.kernel_path = tmpdir;
	expect_fail(&m, &cfg, -ENOEXEC, tmpdir, "not a regular file");
	mem_free(&m);
}

/* Nothing is loaded when validation fails on a later segment. */
static void test_elf_validates_before_loading(void)
{
	static u8 buf[SEG_OFF + 0x100];
	struct guest_mem m = mem_new(8 * MiB);
	struct boot_config cfg = { .cmdline = "" };
	Elf64_Phdr ph[2];

	memset(buf, 0, sizeof(buf));
	ph[0] = load_phdr(MiB, SEG_OFF, 0x100, 0x100);
	ph[1] = load_phdr(0x1000, SEG_OFF, 0x100, 0x100);
	elf_build(buf, MiB, ph, 2);
	memset(buf + SEG_OFF, 0x77, 0x100);
	cfg.kernel_path = write_file(buf, sizeof(buf));
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "below 1 MiB");
	CHECK_EQ(m.host[MiB], 0);
	CHECK_EQ(m.host[0x1000], 0);
	mem_free(&m);
}

/* ---- bzImage tests ---- */

static void test_bzimage(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .cmdline = "root=/dev/vda" };
	struct boot_zero_page *zp = zero_page(&m);
	struct bz_opts o = bz_default;
	struct boot_info bi;
	bool ok = true;
	u32 i;

	cfg.kernel_path = bzimage(&o, NULL);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK(bi.format && !strcmp(bi.format, "bzImage"));
	CHECK_EQ(bi.entry, 0x100200);
	CHECK_EQ(bi.kernel_start, 0x100000);
	CHECK_EQ(bi.kernel_end, 0x100000 + o.pm_size);
	for (i = 0; i < o.pm_size; i++)
		ok &= m.host[0x100000 + i] == bz_payload_byte(i);
	CHECK(ok);
	/* The real-mode part is not loaded anywhere. */
	CHECK_EQ(m.host[0x100000 + o.pm_size], 0);

	/* Header copied from the file... */
	CHECK_EQ(zp->hdr.setup_sects, 4);
	CHECK_EQ(zp->hdr.kernel_version, 0x1234);
	CHECK_EQ(zp->hdr.version, 0x020f);
	CHECK_EQ(zp->hdr.xloadflags, BOOT_XLF_KERNEL_64);
	CHECK_EQ(zp->hdr.init_size, 0x400000);
	CHECK_EQ(zp->hdr.kernel_alignment, 0x200000);
	CHECK_EQ(zp->hdr.jump, 0x66eb);
	/* ...up to where its jump says it ends, and no further. */
	CHECK_EQ(zp->hdr.kernel_info_offset, 0);
	/* ...and the loader's fields written. */
	CHECK_EQ(zp->hdr.type_of_loader, 0xff);
	CHECK(zp->hdr.loadflags & BOOT_LOADED_HIGH);
	CHECK(!(zp->hdr.loadflags & BOOT_QUIET_FLAG));
	CHECK(zp->hdr.loadflags & BOOT_CAN_USE_HEAP);
	CHECK_EQ(zp->hdr.heap_end_ptr, 0xde00);
	CHECK_EQ(zp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	CHECK(!strcmp((char *)m.host + BOOT_CMDLINE_ADDR, "root=/dev/vda"));
	CHECK_EQ(zp->ext_cmd_line_ptr, 0);
	CHECK_EQ(zp->ext_ramdisk_image, 0);
	CHECK_EQ(zp->ext_ramdisk_size, 0);
	CHECK_EQ(zp->e820_entries, 4);

	/* setup_sects == 0 means 4. */
	memset(m.host + 0x100000, 0, o.pm_size);
	o.setup_sects = 0;
	cfg.kernel_path = bzimage(&o, NULL);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(m.host[0x100000], bz_payload_byte(0));
	CHECK_EQ(bi.kernel_end, 0x100000 + o.pm_size);

	/* A larger setup area. */
	o.setup_sects = 30;
	cfg.kernel_path = bzimage(&o, NULL);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(m.host[0x100001], bz_payload_byte(1));
	mem_free(&m);
}

static void test_bzimage_errors(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .cmdline = "" };
	struct bz_opts o;
	size_t len;
	const char *p;
	u8 *buf;
	int fd;

	o = bz_default;
	o.xloadflags = 0;
	cfg.kernel_path = bzimage(&o, NULL);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "XLF_KERNEL_64");

	o = bz_default;
	o.version = 0x0205;
	cfg.kernel_path = bzimage(&o, NULL);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "protocol 2.05");
	o.version = 0x020b;
	cfg.kernel_path = bzimage(&o, NULL);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "no 64-bit entry");

	/* setup_sects beyond EOF. */
	o = bz_default;
	o.setup_sects = 100;
	o.pm_size = 0;
	p = bzimage(&o, &len);
	cfg.kernel_path = p;
	expect_fail(&m, &cfg, -ENOEXEC, p, "setup_sects");

	/* Cut in the middle of the setup header. */
	o = bz_default;
	p = bzimage(&o, &len);
	buf = malloc(len);
	fd = open(p, O_RDONLY);
	CHECK(fd >= 0 && util__read_full(fd, buf, len) == (ssize_t)len);
	close(fd);
	cfg.kernel_path = write_file(buf, 0x240);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "truncated");
	/* Too short for the 64-bit entry. */
	cfg.kernel_path = write_file(buf, 5 * 512 + 0x100);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "truncated");
	/* No jump instruction. */
	buf[0x200] = 0x90;
	cfg.kernel_path = write_file(buf, len);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "setup header");
	buf[0x200] = 0xeb;
	/* zImage. */
	buf[0x211] &= ~BOOT_LOADED_HIGH;
	cfg.kernel_path = write_file(buf, len);
	expect_fail(&m, &cfg, -ENOEXEC, cfg.kernel_path, "zImage");
	free(buf);

	/* Not enough RAM to decompress: 16 MiB + init_size (4 MiB). */
	mem_free(&m);
	m = mem_new(16 * MiB);
	cfg.kernel_path = bzimage(&bz_default, NULL);
	expect_fail(&m, &cfg, -ENOMEM, cfg.kernel_path, "needs at least 20 MiB");
	expect_fail(&m, &cfg, -ENOMEM, cfg.kernel_path, "increase --mem");
	mem_free(&m);
}

/* ---- command line ---- */

static void test_cmdline(void)
{
	struct guest_mem m = mem_new(16 * MiB);
	struct boot_config cfg = { .kernel_path = minimal_elf() };
	struct boot_zero_page *zp = zero_page(&m);
	char *cl = (char *)m.host + BOOT_CMDLINE_ADDR;
	char big[4096];
	struct boot_info bi;
	struct bz_opts o;

	/* NULL and "" are both an empty command line. */
	memset(cl, 'x', 16);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(cl[0], 0);
	CHECK_EQ(zp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cfg.cmdline = "";
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(cl[0], 0);

	/* A longer line earlier does not leave a tail behind. */
	cfg.cmdline = "console=ttyS0 earlyprintk=serial panic=-1";
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	cfg.cmdline = "quiet";
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK(!memcmp(cl, "quiet\0\0\0", 8));

	/* 2047 bytes fit, 2048 do not. */
	memset(big, 'a', sizeof(big));
	big[2047] = '\0';
	cfg.cmdline = big;
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(strlen(cl), 2047);
	big[2047] = 'a';
	big[2048] = '\0';
	expect_fail(&m, &cfg, -E2BIG, cfg.kernel_path, "at most 2047");

	/* A bzImage's smaller cmdline_size is the limit. */
	mem_free(&m);
	m = mem_new(32 * MiB);
	o = bz_default;
	o.cmdline_size = 16;
	cfg.kernel_path = bzimage(&o, NULL);
	cfg.cmdline = "0123456789abcdef";
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	cfg.cmdline = "0123456789abcdefg";
	expect_fail(&m, &cfg, -E2BIG, cfg.kernel_path, "at most 16");
	mem_free(&m);
}

/* ---- e820 ---- */

static void test_e820(void)
{
	static const u64 sizes[] = { 2 * MiB, 64 * MiB, 3 * GiB };
	struct boot_config cfg = { .cmdline = "" };
	struct boot_info bi;
	unsigned i;

	cfg.kernel_path = minimal_elf();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct guest_mem m = mem_new(sizes[i]);
		struct boot_zero_page *zp = zero_page(&m);
		const struct boot_e820 *e = zp->e820_table;

		CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
		CHECK_EQ(zp->e820_entries, 4);
		CHECK_EQ(e[0].addr, 0);
		CHECK_EQ(e[0].size, 0x9fc00);
		CHECK_EQ(e[0].type, BOOT_E820_RAM);
		CHECK_EQ(e[1].addr, 0x9fc00);
		CHECK_EQ(e[1].size, 0x400);
		CHECK_EQ(e[1].type, BOOT_E820_RESERVED);
		CHECK_EQ(e[2].addr, 0xf0000);
		CHECK_EQ(e[2].size, 0x10000);
		CHECK_EQ(e[2].type, BOOT_E820_RESERVED);
		CHECK_EQ(e[3].addr, 0x100000);
		CHECK_EQ(e[3].size, sizes[i] - 0x100000);
		CHECK_EQ(e[3].type, BOOT_E820_RAM);
		CHECK_EQ(e[4].size, 0);
		/* The tables the loader built are inside reported RAM. */
		CHECK(BOOT_PD_ADDR + BOOT_PD_COUNT * 4096 <= e[0].size);
		CHECK(BOOT_CMDLINE_ADDR + 2048 <= e[0].size);
		mem_free(&m);
	}
}

static void test_ram_size_limits(void)
{
	struct guest_mem m = mem_new(MiB);
	struct boot_config cfg = { .cmdline = "" };

	cfg.kernel_path = minimal_elf();
	expect_fail(&m, &cfg, -EINVAL, cfg.kernel_path, "more than 1 MiB");
	mem_free(&m);
	m.host = NULL;	/* never touched: rejected on size alone */
	m.size = 4 * GiB + 4096;
	expect_fail(&m, &cfg, -EINVAL, cfg.kernel_path, "at most 4 GiB");
	cfg.kernel_path = NULL;
	expect_fail(&m, &cfg, -EINVAL, "kernel", "no kernel image");
}

/* ---- initrd ---- */

static void test_initrd_top_of_ram(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .kernel_path = minimal_elf(), .cmdline = "" };
	struct boot_zero_page *zp = zero_page(&m);
	struct boot_info bi;
	static u8 rd[5000];
	unsigned i;
	bool ok = true;

	for (i = 0; i < sizeof(rd); i++)
		rd[i] = (u8)(i * 13);
	cfg.initrd_path = write_file(rd, sizeof(rd));
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.initrd_size, sizeof(rd));
	CHECK_EQ(bi.initrd_start % 4096, 0);
	/* As high as possible: the next aligned address would not fit. */
	CHECK(bi.initrd_start + sizeof(rd) <= 64 * MiB);
	CHECK(bi.initrd_start + 4096 + sizeof(rd) > 64 * MiB);
	CHECK_EQ(bi.initrd_start, 64 * MiB - 8192);
	CHECK(bi.initrd_start >= bi.kernel_end);
	CHECK_EQ(zp->hdr.ramdisk_image, bi.initrd_start);
	CHECK_EQ(zp->hdr.ramdisk_size, sizeof(rd));
	for (i = 0; i < sizeof(rd); i++)
		ok &= m.host[bi.initrd_start + i] == (u8)(i * 13);
	CHECK(ok);
	mem_free(&m);
}

static void test_initrd_bzimage_limits(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .cmdline = "" };
	struct bz_opts o = bz_default;
	struct boot_info bi;
	static u8 rd[3 * 4096];

	memset(rd, 0x42, sizeof(rd));
	cfg.initrd_path = write_file(rd, sizeof(rd));

	/* initrd_addr_max is the last byte the initrd may use. */
	o.initrd_addr_max = 32 * MiB - 1;
	cfg.kernel_path = bzimage(&o, NULL);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.initrd_start, 32 * MiB - sizeof(rd));
	CHECK_EQ(m.host[32 * MiB - 1], 0x42);
	CHECK_EQ(zero_page(&m)->hdr.ramdisk_image, 32 * MiB - sizeof(rd));
	mem_free(&m);

	/*
	 * The decompressor uses [16 MiB, 16 MiB + init_size): with exactly
	 * that much RAM plus the initrd it fits, one page less it does not,
	 * even though there is plenty of room above the loaded image itself.
	 */
	o = bz_default;
	cfg.kernel_path = bzimage(&o, NULL);
	m = mem_new(20 * MiB + sizeof(rd));
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.initrd_start, 20 * MiB);
	mem_free(&m);
	m = mem_new(20 * MiB + sizeof(rd) - 4096);
	expect_fail(&m, &cfg, -ENOMEM, cfg.initrd_path,
		    "(12 KiB) does not fit in guest RAM (20 MiB) above the kernel");
	mem_free(&m);

	/*
	 * A kernel built with LOAD_PHYSICAL_ADDR = 2 MiB decompresses at
	 * 2 MiB (1 MiB aligned up to kernel_alignment): it needs 6 MiB.
	 */
	o.pref_address = 2 * MiB;
	cfg.kernel_path = bzimage(&o, NULL);
	m = mem_new(8 * MiB);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.initrd_start, 8 * MiB - sizeof(rd));
	m.size = 6 * MiB - 4096;
	expect_fail(&m, &cfg, -ENOMEM, cfg.kernel_path, "at least 6 MiB");
	m.size = 6 * MiB + sizeof(rd) - 4096;
	expect_fail(&m, &cfg, -ENOMEM, cfg.initrd_path, "does not fit");
	m.size = 8 * MiB;
	mem_free(&m);

	/* A relocatable kernel loaded low with a big init_size. */
	o.pref_address = 16 * MiB;
	o.init_size = 0x2000000;	/* 32 MiB */
	cfg.kernel_path = bzimage(&o, NULL);
	m = mem_new(64 * MiB);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK(bi.initrd_start >= 48 * MiB);
	mem_free(&m);
}

static void test_initrd_errors(void)
{
	struct guest_mem m = mem_new(4 * MiB);
	static u8 kbuf[SEG_OFF + 0x100];
	struct boot_config cfg = { .cmdline = "" };
	Elf64_Phdr ph = load_phdr(MiB, SEG_OFF, 0x100, 2 * MiB);
	struct boot_info bi;
	u8 *rd = calloc(1, 2 * MiB);

	memset(kbuf, 0, sizeof(kbuf));
	elf_build(kbuf, MiB, &ph, 1);
	cfg.kernel_path = write_file(kbuf, sizeof(kbuf));

	/* 1 MiB above a kernel ending at 3 MiB fits exactly. */
	cfg.initrd_path = write_file(rd, MiB);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.initrd_start, 3 * MiB);
	CHECK_EQ(bi.initrd_start, bi.kernel_end);

	cfg.initrd_path = write_file(rd, 2 * MiB);
	expect_fail(&m, &cfg, -ENOMEM, cfg.initrd_path,
		    "(2 MiB) does not fit in guest RAM (4 MiB) above the kernel");
	expect_fail(&m, &cfg, -ENOMEM, cfg.initrd_path, "increase --mem");

	/* Larger than RAM altogether. */
	cfg.initrd_path = write_file(rd, 2 * MiB);
	m.size = MiB * 2;	/* a smaller view of the same mapping */
	ph = load_phdr(MiB, SEG_OFF, 0x100, 0x100);
	elf_build(kbuf, MiB, &ph, 1);
	cfg.kernel_path = write_file(kbuf, sizeof(kbuf));
	expect_fail(&m, &cfg, -ENOMEM, cfg.initrd_path, "does not fit");
	m.size = 4 * MiB;

	/* Empty is fine: no initrd. */
	cfg.initrd_path = write_file("", 0);
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(bi.initrd_start, 0);
	CHECK_EQ(bi.initrd_size, 0);
	CHECK_EQ(zero_page(&m)->hdr.ramdisk_image, 0);
	CHECK_EQ(zero_page(&m)->hdr.ramdisk_size, 0);

	cfg.initrd_path = missing_path();
	expect_fail(&m, &cfg, -ENOENT, cfg.initrd_path, "cannot open initrd");
	cfg.initrd_path = tmpdir;
	expect_fail(&m, &cfg, -EINVAL, tmpdir, "not a regular file");
	free(rd);
	mem_free(&m);
}

/* ---- tables ---- */

static void test_tables(void)
{
	struct guest_mem m = mem_new(8 * MiB);
	struct boot_info bi;
	static const u64 probes[] = {
		0, 0x7000, 0x1fffff, 0x200000, MiB + 0x123, 0x3fffffff,
		0x40000000, 0xbffff000, 0xfee00000, 0xffffffff,
	};
	u64 *gdt, va;
	unsigned i;
	bool ok = true;

	memset(&bi, 0, sizeof(bi));
	bi.entry = 0x1234;
	memset(m.host, 0xff, 0x10000);	/* garbage must be overwritten */
	CHECK_EQ(boot__setup_tables(&m, &bi), 0);
	CHECK_EQ(bi.pml4, BOOT_PML4_ADDR);
	CHECK_EQ(bi.gdt_base, BOOT_GDT_ADDR);
	CHECK_EQ(bi.gdt_limit, 0x2f);
	CHECK_EQ(bi.entry, 0x1234);	/* left alone */

	/* Every 2 MiB page of the first 4 GiB maps to itself... */
	for (va = 0; va < 4 * GiB; va += 2 * MiB)
		ok &= walk(&m, bi.pml4, va + 0x1ff) == va + 0x1ff;
	CHECK(ok);
	for (i = 0; i < ARRAY_SIZE(probes); i++)
		CHECK_EQ(walk(&m, bi.pml4, probes[i]), probes[i]);
	/* ...and nothing above it. */
	CHECK_EQ(walk(&m, bi.pml4, 4 * GiB), ~0ULL);
	CHECK_EQ(walk(&m, bi.pml4, 512 * GiB), ~0ULL);
	CHECK_EQ(walk(&m, bi.pml4, 0xffffffff81000000ULL), ~0ULL);

	gdt = guest_mem__ptr(&m, BOOT_GDT_ADDR, 48);
	CHECK_EQ(gdt[0], 0);
	CHECK_EQ(gdt[1], 0);
	CHECK_EQ(gdt[BOOT_CS / 8], 0x00af9b000000ffffULL);
	CHECK_EQ(gdt[BOOT_DS / 8], 0x00cf93000000ffffULL);
	/* Busy 64-bit TSS at BOOT_TSS_ADDR, limit 0x67. */
	CHECK_EQ(gdt[BOOT_TSS / 8], 0x00008b0005800067ULL);
	CHECK_EQ(gdt[BOOT_TSS / 8 + 1], 0);
	CHECK_EQ(m.host[BOOT_TSS_ADDR], 0);
	CHECK_EQ(m.host[BOOT_TSS_ADDR + 102], 104);
	mem_free(&m);

	/* RAM that does not reach the page directories. */
	m = mem_new(0xe000);
	capture_begin();
	CHECK_EQ(boot__setup_tables(&m, &bi), -EINVAL);
	capture_end((char[256]){ 0 }, 256);
	mem_free(&m);
}

/* boot__load builds the same tables, and they map what it loaded. */
static void test_load_maps_everything(void)
{
	struct guest_mem m = mem_new(64 * MiB);
	struct boot_config cfg = { .cmdline = "x" };
	struct boot_info bi;
	static u8 rd[4096];

	cfg.kernel_path = bzimage(&bz_default, NULL);
	cfg.initrd_path = write_file(rd, sizeof(rd));
	CHECK_EQ(boot__load(&m, &cfg, &bi), 0);
	CHECK_EQ(walk(&m, bi.pml4, bi.entry), bi.entry);
	CHECK_EQ(walk(&m, bi.pml4, bi.zero_page), bi.zero_page);
	CHECK_EQ(walk(&m, bi.pml4, BOOT_CMDLINE_ADDR), BOOT_CMDLINE_ADDR);
	CHECK_EQ(walk(&m, bi.pml4, bi.initrd_start), bi.initrd_start);
	CHECK_EQ(walk(&m, bi.pml4, 16 * MiB + 0x400000 - 1),
		 16 * MiB + 0x400000 - 1);
	CHECK_EQ(bi.gdt_limit, 0x2f);
	mem_free(&m);
}

/* ---- robustness: corrupt headers must be refused, never crash ---- */

static u32 rng_state = 0x12345678;

static u32 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void fuzz_one(struct guest_mem *m, const u8 *orig, size_t len,
		     size_t hot_lo, size_t hot_hi, int rounds)
{
	struct boot_config cfg = { .cmdline = "" };
	struct boot_info bi;
	u8 *buf = malloc(len);
	char sink[4096];
	int i, j, ret, bad = 0;
	const char *p;

	for (i = 0; i < rounds; i++) {
		memcpy(buf, orig, len);
		for (j = 0; j < 1 + (int)(rng() % 4); j++) {
			size_t at = hot_lo + rng() % (hot_hi - hot_lo);

			buf[at] = (rng() & 1) ? (u8)rng() : 0xff;
		}
		p = write_file(buf, len);
		cfg.kernel_path = p;
		capture_begin();
		ret = boot__load(m, &cfg, &bi);
		capture_end(sink, sizeof(sink));
		if (ret > 0 || (ret == 0 && bi.kernel_end > m->size) ||
		    (ret < 0 && count_lines(sink) != 1))
			bad++;
		unlink(p);
		free(files[--nfiles]);
	}
	CHECK_EQ(bad, 0);
	free(buf);
}

static void test_fuzz_headers(void)
{
	struct guest_mem m = mem_new(24 * MiB);
	static u8 ebuf[SEG_OFF + 0x100];
	Elf64_Phdr ph[2];
	size_t len;
	u8 *bz;
	int fd;
	const char *p;

	ph[0] = load_phdr(MiB, SEG_OFF, 0x80, 0x1000);
	ph[1] = load_phdr(2 * MiB, SEG_OFF + 0x80, 0x80, 0x80);
	memset(ebuf, 0, sizeof(ebuf));
	elf_build(ebuf, MiB, ph, 2);
	fuzz_one(&m, ebuf, sizeof(ebuf), 0,
		 sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr), 400);

	p = bzimage(&bz_default, &len);
	bz = malloc(len);
	fd = open(p, O_RDONLY);
	CHECK(fd >= 0 && util__read_full(fd, bz, len) == (ssize_t)len);
	close(fd);
	fuzz_one(&m, bz, len, BOOT_HDR_OFFSET, 0x270, 400);
	free(bz);
	mem_free(&m);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_boot.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("test_boot: mkdtemp");
		return 2;
	}

	RUN(test_elf_minimal);
	RUN(test_elf_zero_page);
	RUN(test_elf_vmlinux_like);
	RUN(test_elf_errors);
	RUN(test_elf_validates_before_loading);
	RUN(test_bzimage);
	RUN(test_bzimage_errors);
	RUN(test_cmdline);
	RUN(test_e820);
	RUN(test_ram_size_limits);
	RUN(test_initrd_top_of_ram);
	RUN(test_initrd_bzimage_limits);
	RUN(test_initrd_errors);
	RUN(test_tables);
	RUN(test_load_maps_everything);
	RUN(test_fuzz_headers);

	cleanup();
	return check_summary();
}
