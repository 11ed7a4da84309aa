// SPDX-License-Identifier: Apache-2.0
/*
 * The machine description in the trace header: a flattened device tree
 * built and read with libfdt.  A device tree because it is a documented,
 * self-describing, versionable binary format that tools already read
 * (`dtc -I dtb` prints it), and because a later version can add nodes and
 * properties that an older reader simply does not look at.  The node
 * layout is in docs/trace-format.md.
 *
 * Reading trusts nothing: fdt_check_full() validates the blob's structure
 * and every string and array is checked against its property's length.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>

#include "trace.h"

#define MIN_CPUID(n) ((n) < REPLAY_CPUID_MAX ? (n) : REPLAY_CPUID_MAX)

static const char *const class_names[] = {
	[REPLAY_SRC_INPUT] = "input",
	[REPLAY_SRC_CLOCK] = "clock",
	[REPLAY_SRC_SUBMIT] = "submit",
};

static int put_file(void *fdt, const char *node, const struct replay_file *f)
{
	int err = 0;

	err |= fdt_begin_node(fdt, node);
	err |= fdt_property_string(fdt, "path", f->path);
	err |= fdt_property_u64(fdt, "size", f->size);
	err |= fdt_property_u64(fdt, "hash", f->hash);
	if (f->ro)
		err |= fdt_property(fdt, "read-only", NULL, 0);
	err |= fdt_end_node(fdt);
	return err;
}

static int put_cpuid(void *fdt, const char *name, const struct replay_cpuid *c,
		     unsigned int n)
{
	fdt32_t cells[REPLAY_CPUID_MAX * 6];
	unsigned int i;

	for (i = 0; i < n; i++) {
		cells[6 * i + 0] = cpu_to_fdt32(c[i].function);
		cells[6 * i + 1] = cpu_to_fdt32(c[i].index);
		cells[6 * i + 2] = cpu_to_fdt32(c[i].eax);
		cells[6 * i + 3] = cpu_to_fdt32(c[i].ebx);
		cells[6 * i + 4] = cpu_to_fdt32(c[i].ecx);
		cells[6 * i + 5] = cpu_to_fdt32(c[i].edx);
	}
	return fdt_property(fdt, name, cells, (int)(n * 6 * sizeof(fdt32_t)));
}

static int put_sources(void *fdt, const struct replay_source_info *src,
		       unsigned int nsrc)
{
	char node[32];
	unsigned int i, j;
	int err = 0;

	err |= fdt_begin_node(fdt, "sources");
	for (i = 0; i < nsrc; i++) {
		fdt32_t enc[REPLAY_FIELDS_MAX];
		char names[REPLAY_FIELDS_MAX * REPLAY_NAME_MAX];
		size_t len = 0;

		snprintf(node, sizeof(node), "source@%u", i);
		err |= fdt_begin_node(fdt, node);
		err |= fdt_property_string(fdt, "name", src[i].name);
		err |= fdt_property_string(fdt, "class", class_names[src[i].cls]);
		for (j = 0; j < src[i].nfields; j++) {
			size_t n = strlen(src[i].field[j]) + 1;

			memcpy(names + len, src[i].field[j], n);
			len += n;
			enc[j] = cpu_to_fdt32(src[i].enc[j]);
		}
		err |= fdt_property(fdt, "fields", names, (int)len);
		err |= fdt_property(fdt, "encodings", enc,
				    (int)(src[i].nfields * sizeof(fdt32_t)));
		if (src[i].has_bytes)
			err |= fdt_property(fdt, "has-bytes", NULL, 0);
		err |= fdt_end_node(fdt);
	}
	err |= fdt_end_node(fdt);
	return err;
}

/* Returns the blob's size, or -ENOSPC if it does not fit. */
int machine__to_fdt(const struct replay_machine *m,
		    const struct replay_source_info *src, unsigned int nsrc,
		    void *fdt, size_t size)
{
	char node[32];
	unsigned int i;
	int err = 0;

	if (fdt_create(fdt, (int)size))
		return -ENOSPC;
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", "microvm,trace");
	err |= fdt_begin_node(fdt, "machine");
	err |= fdt_property_u64(fdt, "memory-size", m->mem_size);
	err |= fdt_property_string(fdt, "cmdline", m->cmdline);
	err |= fdt_property_u32(fdt, "backend", m->backend);
	err |= fdt_property_u64(fdt, "rtc-epoch", (uint64_t)m->rtc_epoch);
	err |= fdt_property_string(fdt, "vmm-version", m->vmm_version);
	err |= fdt_property_string(fdt, "host-probe", m->host_probe);
	err |= fdt_property_u32(fdt, "start", m->start);
	err |= put_file(fdt, "kernel", &m->kernel);
	err |= put_file(fdt, "initrd", &m->initrd);
	err |= put_file(fdt, "snapshot", &m->snapshot);
	err |= fdt_begin_node(fdt, "disks");
	for (i = 0; i < m->ndisks && i < REPLAY_DISKS_MAX; i++) {
		snprintf(node, sizeof(node), "disk@%u", i);
		err |= put_file(fdt, node, &m->disks[i]);
	}
	err |= fdt_end_node(fdt);
	err |= fdt_begin_node(fdt, "devices");
	for (i = 0; i < m->ndevices && i < REPLAY_DEVICES_MAX; i++) {
		const struct replay_device *d = &m->devices[i];

		snprintf(node, sizeof(node), "device@%u", i);
		err |= fdt_begin_node(fdt, node);
		err |= fdt_property_string(fdt, "name", d->name);
		err |= fdt_property_u64(fdt, "address", d->addr);
		err |= fdt_property_u64(fdt, "size", d->size);
		if (d->irq != UINT32_MAX)
			err |= fdt_property_u32(fdt, "interrupt", d->irq);
		err |= fdt_property_string(fdt, "space", d->mmio ? "mmio" : "pio");
		err |= fdt_end_node(fdt);
	}
	err |= fdt_end_node(fdt);
	err |= fdt_begin_node(fdt, "cpuid");
	err |= put_cpuid(fdt, "policy", m->cpuid, MIN_CPUID(m->ncpuid));
	err |= put_cpuid(fdt, "seen", m->cpuid_seen, MIN_CPUID(m->ncpuid_seen));
	err |= fdt_end_node(fdt);
	err |= fdt_end_node(fdt);		/* machine */
	err |= put_sources(fdt, src, nsrc);
	err |= fdt_end_node(fdt);		/* / */
	err |= fdt_finish(fdt);
	if (err)
		return -ENOSPC;
	return (int)fdt_totalsize(fdt);
}

/* ---- Reading ---- */

struct fdt_in {
	const void *fdt;
	const char *why;
};

static int sub(struct fdt_in *in, int parent, const char *name)
{
	int off = fdt_subnode_offset(in->fdt, parent, name);

	if (off < 0 && !in->why)
		in->why = "machine description lacks a node";
	return off;
}

static const void *prop(struct fdt_in *in, int node, const char *name, int *len)
{
	const void *p;

	if (node < 0)
		return NULL;
	p = fdt_getprop(in->fdt, node, name, len);
	if (!p && !in->why)
		in->why = "machine description lacks a property";
	return p;
}

static void get_str(struct fdt_in *in, int node, const char *name, char *out,
		    size_t cap)
{
	int len;
	const char *p = prop(in, node, name, &len);

	out[0] = 0;
	if (!p)
		return;
	if (len < 1 || p[len - 1] || (size_t)len > cap) {
		if (!in->why)
			in->why = "machine description: bad or too long string";
		return;
	}
	memcpy(out, p, (size_t)len);
}

static uint64_t get_u64(struct fdt_in *in, int node, const char *name)
{
	int len;
	const void *p = prop(in, node, name, &len);
	fdt64_t v;

	if (!p)
		return 0;
	if (len != 8) {
		if (!in->why)
			in->why = "machine description: property is not 64-bit";
		return 0;
	}
	memcpy(&v, p, 8);
	return fdt64_to_cpu(v);
}

static uint32_t get_u32(struct fdt_in *in, int node, const char *name)
{
	int len;
	const void *p = prop(in, node, name, &len);
	fdt32_t v;

	if (!p)
		return 0;
	if (len != 4) {
		if (!in->why)
			in->why = "machine description: property is not 32-bit";
		return 0;
	}
	memcpy(&v, p, 4);
	return fdt32_to_cpu(v);
}

static void get_file(struct fdt_in *in, int parent, const char *name,
		     struct replay_file *f)
{
	int node = sub(in, parent, name);

	get_str(in, node, "path", f->path, sizeof(f->path));
	f->size = get_u64(in, node, "size");
	f->hash = get_u64(in, node, "hash");
	f->ro = node >= 0 && fdt_getprop(in->fdt, node, "read-only", NULL);
}

static unsigned int get_cpuid(struct fdt_in *in, int node, const char *name,
			      struct replay_cpuid *c)
{
	int len;
	const uint8_t *p = prop(in, node, name, &len);
	unsigned int i, n;
	uint32_t w[6];

	if (!p)
		return 0;
	if (len % 24 || len / 24 > REPLAY_CPUID_MAX) {
		if (!in->why)
			in->why = "machine description: bad CPUID table";
		return 0;
	}
	n = (unsigned int)len / 24;
	for (i = 0; i < n; i++) {
		unsigned int j;

		for (j = 0; j < 6; j++) {
			fdt32_t v;

			memcpy(&v, p + 24 * i + 4 * j, 4);
			w[j] = fdt32_to_cpu(v);
		}
		c[i] = (struct replay_cpuid){ w[0], w[1], w[2], w[3], w[4], w[5] };
	}
	return n;
}

/* Children of `parent` named prefix@0, prefix@1, ... in order. */
static int nth(struct fdt_in *in, int parent, const char *prefix, unsigned int i)
{
	char node[32];

	snprintf(node, sizeof(node), "%s@%u", prefix, i);
	return fdt_subnode_offset(in->fdt, parent, node);
}

static void get_sources(struct fdt_in *in, struct replay_source_info *src,
			unsigned int *nsrc)
{
	int parent = sub(in, 0, "sources");
	unsigned int i;
	int node;

	*nsrc = 0;
	for (i = 0; parent >= 0 && !in->why; i++) {
		struct replay_source_info *s = &src[i];
		char cls[16];
		const uint8_t *enc;
		int len, n, j;

		node = nth(in, parent, "source", i);
		if (node < 0)
			break;
		if (i >= TRACE_SOURCES_MAX) {
			in->why = "more than 64 sources";
			return;
		}
		memset(s, 0, sizeof(*s));
		get_str(in, node, "name", s->name, sizeof(s->name));
		get_str(in, node, "class", cls, sizeof(cls));
		for (j = REPLAY_SRC_INPUT; j <= REPLAY_SRC_SUBMIT; j++)
			if (!strcmp(cls, class_names[j]))
				s->cls = j;
		if (!s->cls && !in->why)
			in->why = "source of an unknown class";
		n = fdt_stringlist_count(in->fdt, node, "fields");
		enc = prop(in, node, "encodings", &len);
		if (n == -FDT_ERR_NOTFOUND) {
			n = 0;
		} else if (n < 0 || n > REPLAY_FIELDS_MAX) {
			if (!in->why)
				in->why = "source with a bad field list";
			return;
		}
		if (!enc || len != n * 4) {
			if (!in->why)
				in->why = "source: encodings do not match fields";
			return;
		}
		s->nfields = (unsigned int)n;
		for (j = 0; j < n; j++) {
			const char *f = fdt_stringlist_get(in->fdt, node, "fields", j, &len);
			fdt32_t e;

			if (!f || len >= REPLAY_NAME_MAX) {
				in->why = "source: bad field name";
				return;
			}
			memcpy(s->field[j], f, (size_t)len + 1);
			memcpy(&e, enc + 4 * j, 4);
			s->enc[j] = fdt32_to_cpu(e);
			if (s->enc[j] < REPLAY_ENC_VARINT || s->enc[j] > REPLAY_ENC_FIXED64) {
				in->why = "source: unknown field encoding";
				return;
			}
		}
		s->has_bytes = fdt_getprop(in->fdt, node, "has-bytes", NULL) != NULL;
		(*nsrc)++;
	}
}

/*
 * The whole structure block, tag by tag, with bounds: nodes balanced,
 * every property's name in the strings block, one FDT_END at the end.
 * Not fdt_check_full(): Debian's libfdt 1.6.1 reads through a NULL
 * pointer in it on some malformed blobs whose header is valid (found by
 * tests/fuzz/fuzz_trace).
 */
static int fdt_walk_check(const void *fdt)
{
	int offset = 0, next, depth = 0, len;
	const char *name;
	uint32_t tag;

	for (;;) {
		tag = fdt_next_tag(fdt, offset, &next);
		if (next < 0)
			return next;
		switch (tag) {
		case FDT_BEGIN_NODE:
			depth++;
			break;
		case FDT_END_NODE:
			if (--depth < 0)
				return -FDT_ERR_BADSTRUCTURE;
			break;
		case FDT_PROP:
			/* With a name pointer, libfdt checks the name too. */
			if (depth < 1 ||
			    !fdt_getprop_by_offset(fdt, offset, &name, &len))
				return -FDT_ERR_BADSTRUCTURE;
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			return depth == 0 ? 0 : -FDT_ERR_BADSTRUCTURE;
		default:
			return -FDT_ERR_BADSTRUCTURE;
		}
		offset = next;
	}
}

int machine__from_fdt(const void *fdt, size_t size, struct replay_machine *m,
		      struct replay_source_info *src, unsigned int *nsrc,
		      const char **why)
{
	struct fdt_in in = { fdt, NULL };
	int root, node;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	*nsrc = 0;
	if (size < sizeof(struct fdt_header) || fdt_magic(fdt) != FDT_MAGIC ||
	    fdt_totalsize(fdt) > size || fdt_check_header(fdt) ||
	    fdt_walk_check(fdt)) {
		*why = "machine description is not a valid device tree";
		return -EINVAL;
	}
	root = sub(&in, 0, "machine");
	m->mem_size = get_u64(&in, root, "memory-size");
	get_str(&in, root, "cmdline", m->cmdline, sizeof(m->cmdline));
	m->backend = get_u32(&in, root, "backend");
	m->rtc_epoch = (int64_t)get_u64(&in, root, "rtc-epoch");
	get_str(&in, root, "vmm-version", m->vmm_version, sizeof(m->vmm_version));
	get_str(&in, root, "host-probe", m->host_probe, sizeof(m->host_probe));
	m->start = get_u32(&in, root, "start");
	get_file(&in, root, "kernel", &m->kernel);
	get_file(&in, root, "initrd", &m->initrd);
	get_file(&in, root, "snapshot", &m->snapshot);
	node = sub(&in, root, "disks");
	for (i = 0; node >= 0 && i < REPLAY_DISKS_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "disk@%u", i);
		if (fdt_subnode_offset(fdt, node, name) < 0)
			break;
		get_file(&in, node, name, &m->disks[i]);
		m->ndisks++;
	}
	node = sub(&in, root, "devices");
	for (i = 0; node >= 0 && i < REPLAY_DEVICES_MAX; i++) {
		struct replay_device *d = &m->devices[i];
		int dn = nth(&in, node, "device", i);
		char space[8];

		if (dn < 0)
			break;
		get_str(&in, dn, "name", d->name, sizeof(d->name));
		d->addr = get_u64(&in, dn, "address");
		d->size = get_u64(&in, dn, "size");
		d->irq = fdt_getprop(fdt, dn, "interrupt", NULL) ?
				 get_u32(&in, dn, "interrupt") : UINT32_MAX;
		get_str(&in, dn, "space", space, sizeof(space));
		d->mmio = !strcmp(space, "mmio");
		m->ndevices++;
	}
	node = sub(&in, root, "cpuid");
	m->ncpuid = get_cpuid(&in, node, "policy", m->cpuid);
	m->ncpuid_seen = get_cpuid(&in, node, "seen", m->cpuid_seen);
	if (!in.why)
		get_sources(&in, src, nsrc);
	if (!in.why && (m->backend < REPLAY_BACKEND_EXIT || m->backend > REPLAY_BACKEND_PMU))
		in.why = "unknown position backend";
	if (in.why) {
		*why = in.why;
		return -EINVAL;
	}
	return 0;
}
