// SPDX-License-Identifier: Apache-2.0
/*
 * Finding a kernel's RDTSC instructions and rewriting them into port
 * reads (see rdtsc_patch.h for why).
 *
 * The file is read, not guest RAM: the symbol table is not loaded.  A
 * function is walked from its symbol's address to its end, one
 * insn__length() at a time; a function whose walk fails or does not end
 * exactly at its symbol's size is left as it is, since a length read
 * wrong would take bytes inside another instruction for an RDTSC.
 */
#include "rdtsc_patch.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "insn.h"

struct elf_view {
	const u8 *base;
	u64 size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const Elf64_Phdr *ph;
};

struct func {
	u64 vaddr, size;
	const u8 *code;
};

/* [off, off + len) inside the file, without overflow. */
static bool view_has(const struct elf_view *v, u64 off, u64 len)
{
	return off <= v->size && len <= v->size - off;
}

/*
 * The tables are read in place (the file is mapped, page-aligned): only
 * where their offsets keep 8-byte alignment, as every linker writes them.
 */
static const void *view_at(const struct elf_view *v, u64 off)
{
	return v->base + off;
}

static const char *view_open(struct elf_view *v)
{
	const Elf64_Ehdr *eh = view_at(v, 0);

	if (v->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return "not an ELF file (a bzImage is compressed: boot the vmlinux to have its RDTSCs trapped)";
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		return "not an x86-64 ELF";
	if (!eh->e_shoff || !eh->e_shnum || eh->e_shoff % 8 || eh->e_phoff % 8 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !view_has(v, eh->e_shoff, (u64)eh->e_shnum * sizeof(Elf64_Shdr)))
		return "it has no usable section table";
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !view_has(v, eh->e_phoff, (u64)eh->e_phnum * sizeof(Elf64_Phdr)))
		return "its program headers lie outside the file";
	v->eh = eh;
	v->sh = view_at(v, eh->e_shoff);
	v->ph = view_at(v, eh->e_phoff);
	return NULL;
}

static bool sec_is_code(const struct elf_view *v, unsigned int i)
{
	const Elf64_Shdr *s = &v->sh[i];

	return i < v->eh->e_shnum && s->sh_type == SHT_PROGBITS &&
	       (s->sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) ==
		       (SHF_ALLOC | SHF_EXECINSTR) &&
	       view_has(v, s->sh_offset, s->sh_size);
}

/* Where a kernel address was loaded (the PT_LOAD that holds it), or 0. */
static u64 view_paddr(const struct elf_view *v, u64 vaddr, u64 len)
{
	for (unsigned int i = 0; i < v->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &v->ph[i];

		if (p->p_type == PT_LOAD && vaddr >= p->p_vaddr &&
		    vaddr - p->p_vaddr < p->p_filesz &&
		    len <= p->p_filesz - (vaddr - p->p_vaddr))
			return p->p_paddr + (vaddr - p->p_vaddr);
	}
	return 0;
}

static int func_cmp(const void *a, const void *b)
{
	const struct func *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* The symbol table's functions inside code sections, sorted. */
static const char *view_funcs(const struct elf_view *v, struct func **out,
			      unsigned int *n)
{
	const Elf64_Shdr *symtab = NULL;
	const Elf64_Sym *sym;
	u64 count;
	struct func *f;

	for (unsigned int i = 0; i < v->eh->e_shnum; i++)
		if (v->sh[i].sh_type == SHT_SYMTAB)
			symtab = &v->sh[i];
	if (!symtab)
		return "it has no symbol table (stripped)";
	if (symtab->sh_entsize != sizeof(Elf64_Sym) || symtab->sh_offset % 8 ||
	    !view_has(v, symtab->sh_offset, symtab->sh_size))
		return "its symbol table lies outside the file";
	sym = view_at(v, symtab->sh_offset);
	count = symtab->sh_size / sizeof(*sym);
	f = calloc(count ? count : 1, sizeof(*f));
	if (!f)
		return "out of memory";
	*n = 0;
	for (u64 i = 0; i < count; i++) {
		const Elf64_Sym *s = &sym[i];
		const Elf64_Shdr *sec;

		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || !s->st_size ||
		    !sec_is_code(v, s->st_shndx))
			continue;
		sec = &v->sh[s->st_shndx];
		if (s->st_value < sec->sh_addr ||
		    s->st_value - sec->sh_addr > sec->sh_size ||
		    s->st_size > sec->sh_size - (s->st_value - sec->sh_addr))
			continue;
		f[*n].vaddr = s->st_value;
		f[*n].size = s->st_size;
		f[*n].code = v->base + sec->sh_offset +
			     (s->st_value - sec->sh_addr);
		(*n)++;
	}
	qsort(f, *n, sizeof(*f), func_cmp);
	*out = f;
	return NULL;
}

static int patch_add(struct rdtsc_patch *kp, const struct elf_view *v,
		     u64 vaddr, unsigned int len, bool rdtscp)
{
	struct rdtsc_site *s;
	u64 paddr = view_paddr(v, vaddr, len);

	if (!paddr)
		return 0;	/* not loaded (a section outside PT_LOAD) */
	s = realloc(kp->site, (kp->nsites + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	kp->site = s;
	s[kp->nsites++] = (struct rdtsc_site){
		.vaddr = vaddr, .paddr = paddr, .len = (u8)len,
		.rdtscp = rdtscp,
	};
	return 0;
}

static bool op_is_rdtsc(const struct insn_op *op)
{
	return !op->vex && op->map == 1 && op->opcode == 0x31;
}

static bool op_is_rdtscp(const struct insn_op *op)
{
	return !op->vex && op->map == 1 && op->opcode == 0x01 &&
	       op->modrm == 0xf9;
}

/*
 * Walk [code, code + size): the sites found are added only when the walk
 * ends exactly at the end (returns 1), else nothing (returns 0).
 */
static int patch_walk(struct rdtsc_patch *kp, const struct elf_view *v,
		      const struct func *f, rdtsc_patch_insn_fn fn, void *ctx)
{
	unsigned int first = kp->nsites;
	u64 off = 0, insns = 0;
	int ret = 0;

	while (off < f->size && !ret) {
		struct insn_op op;
		unsigned int len = insn__length(f->code + off, f->size - off,
						&op);

		if (!len)
			break;
		if (fn)
			fn(ctx, f->vaddr + off, len);
		if (op_is_rdtsc(&op) || op_is_rdtscp(&op))
			ret = patch_add(kp, v, f->vaddr + off, len,
					op_is_rdtscp(&op));
		off += len;
		insns++;
	}
	if (ret)
		return ret;
	kp->insns += insns;
	if (off == f->size)
		return 1;
	kp->nsites = first;
	if (!kp->nbad++)
		kp->bad_vaddr = f->vaddr;
	return 0;
}

/*
 * The alternatives' replacement code has no symbols; it is one sequence
 * after another, each whole instructions, so it is walked from its start.
 */
static int patch_altinstr(struct rdtsc_patch *kp, const struct elf_view *v,
			  rdtsc_patch_insn_fn fn, void *ctx)
{
	const Elf64_Shdr *names;

	if (v->eh->e_shstrndx >= v->eh->e_shnum)
		return 0;
	names = &v->sh[v->eh->e_shstrndx];
	if (!view_has(v, names->sh_offset, names->sh_size))
		return 0;
	for (unsigned int i = 0; i < v->eh->e_shnum; i++) {
		u64 at = v->sh[i].sh_name;
		const char *name = (const char *)v->base + names->sh_offset + at;
		struct func f;

		if (at >= names->sh_size || !sec_is_code(v, i) ||
		    strnlen(name, names->sh_size - at) == names->sh_size - at ||
		    strcmp(name, ".altinstr_replacement"))
			continue;
		f.vaddr = v->sh[i].sh_addr;
		f.size = v->sh[i].sh_size;
		f.code = v->base + v->sh[i].sh_offset;
		return patch_walk(kp, v, &f, fn, ctx) < 0 ? -ENOMEM : 0;
	}
	return 0;
}

static int patch_scan_view(struct rdtsc_patch *kp, const struct elf_view *v,
			   rdtsc_patch_insn_fn fn, void *ctx)
{
	struct func *f = NULL;
	unsigned int n = 0;
	u64 end = 0;
	int ret = 0;

	kp->none = view_funcs(v, &f, &n);
	if (kp->none)
		return 0;
	for (unsigned int i = 0; i < n && ret >= 0; i++) {
		/* An alias, or an entry point inside a function walked. */
		if (f[i].vaddr < end)
			continue;
		ret = patch_walk(kp, v, &f[i], fn, ctx);
		end = f[i].vaddr + f[i].size;
		kp->nfuncs += ret == 1;
	}
	free(f);
	if (ret >= 0)
		ret = patch_altinstr(kp, v, fn, ctx);
	return ret < 0 ? -ENOMEM : 0;
}

int rdtsc_patch__scan(const char *path, struct rdtsc_patch *kp,
		      rdtsc_patch_insn_fn fn, void *ctx)
{
	struct elf_view v = { 0 };
	struct stat st;
	void *map;
	int fd, ret;

	memset(kp, 0, sizeof(*kp));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		pr_err("cannot read kernel %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (st.st_size <= 0) {
		close(fd);
		kp->none = "it is empty";
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	ret = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret) {
		pr_err("cannot map kernel %s: %s", path, strerror(-ret));
		return ret;
	}
	v.base = map;
	v.size = (u64)st.st_size;
	kp->none = view_open(&v);
	if (!kp->none)
		ret = patch_scan_view(kp, &v, fn, ctx);
	munmap(map, (size_t)st.st_size);
	if (ret)
		pr_err("out of memory scanning kernel %s for RDTSC", path);
	return ret;
}

int rdtsc_patch__apply(const struct rdtsc_patch *kp, struct guest_mem *mem)
{
	for (unsigned int i = 0; i < kp->nsites; i++) {
		const struct rdtsc_site *s = &kp->site[i];
		u8 *p = guest_mem__ptr(mem, s->paddr, s->len);
		struct insn_op op;

		if (!p || insn__length(p, s->len, &op) != s->len ||
		    !(s->rdtscp ? op_is_rdtscp(&op) : op_is_rdtsc(&op)))
			return -EFAULT;
		memset(p, 0x90, s->len);	/* NOP */
		p[0] = 0xe4;			/* IN AL, imm8 */
		p[1] = s->rdtscp ? RDTSCP_PATCH_PORT : RDTSC_PATCH_PORT;
	}
	return 0;
}

void rdtsc_patch__free(struct rdtsc_patch *kp)
{
	free(kp->site);
	kp->site = NULL;
	kp->nsites = 0;
}
