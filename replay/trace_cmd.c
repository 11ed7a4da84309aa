// SPDX-License-Identifier: Apache-2.0
/*
 * `microvm trace info|dump|verify FILE`: look into a trace without KVM.
 *   info    the machine description, the sources, totals and bytes per
 *           event kind, duration, and where and why the trace ends;
 *   dump    one line per event, filtered by kind, source and index range
 *           (as `rr dump`);
 *   verify  magic, version, every CRC, ordering, completeness: exit 0 for
 *           a complete trace, REPLAY_EXIT_INCOMPLETE for one that is intact
 *           but has no END record, 1 naming the first bad byte otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: microvm trace info FILE\n"
		"       microvm trace dump [--kind K[,K...]] [--source NAME] [--from N] [--to N] FILE\n"
		"       microvm trace verify FILE\n"
		"kinds: input clock submit checkpoint end\n");
}

static const char *const backend_names[] = {
	[REPLAY_BACKEND_EXIT] = "exit-pinned",
	[REPLAY_BACKEND_STEP] = "single-step",
	[REPLAY_BACKEND_PMU] = "pmu",
};

static const char *const class_names[] = {
	[REPLAY_SRC_INPUT] = "input",
	[REPLAY_SRC_CLOCK] = "clock",
	[REPLAY_SRC_SUBMIT] = "submit",
};

static const char *const end_names[] = {
	[REPLAY_TRACE_READING] = "reading",
	[REPLAY_TRACE_COMPLETE] = "complete",
	[REPLAY_TRACE_CUT] = "cut",
	[REPLAY_TRACE_CORRUPT] = "corrupt",
};

static int open_trace(struct replay_reader **rd, const char *path)
{
	char err[512];

	if (replay__reader_open(rd, path, err, sizeof(err))) {
		fprintf(stderr, "microvm: trace %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static void print_file(const char *what, const struct replay_file *f)
{
	if (!f->path[0])
		return;
	printf("  %-9s %s (%" PRIu64 " bytes, xxh64 %016" PRIx64 "%s)\n", what,
	       f->path, f->size, f->hash, f->ro ? ", read-only" : "");
}

static void print_machine(const struct replay_machine *m)
{
	unsigned int i;
	const char *p, *nl;

	printf("machine:\n");
	printf("  memory    %" PRIu64 " MiB\n", m->mem_size >> 20);
	printf("  cmdline   %s\n", m->cmdline);
	print_file("kernel", &m->kernel);
	print_file("initrd", &m->initrd);
	for (i = 0; i < m->ndisks; i++)
		print_file("disk", &m->disks[i]);
	for (i = 0; i < m->ndevices; i++) {
		const struct replay_device *d = &m->devices[i];

		printf("  device    %-14s %s %#" PRIx64 "+%#" PRIx64, d->name,
		       d->mmio ? "mmio" : "pio ", d->addr, d->size);
		if (d->irq != UINT32_MAX)
			printf(" irq %u", d->irq);
		printf("\n");
	}
	printf("  cpuid     %u leaves set, %u as the host showed them\n", m->ncpuid,
	       m->ncpuid_seen);
	for (p = m->host_probe; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		printf("  probe     %.*s\n", (int)(nl - p + (*nl != '\n')), p);
		if (!nl[1])
			break;
	}
	printf("  backend   %s\n", backend_names[m->backend]);
	printf("  rtc epoch %" PRId64 "\n", m->rtc_epoch);
	printf("  vmm       microvm %s\n", m->vmm_version);
	printf("  start     %s\n", m->start == REPLAY_START_BOOT ? "boot" : "saved state");
}

static int cmd_info(const char *path)
{
	uint64_t count[6] = { 0 }, bytes[6] = { 0 }, per_src[64] = { 0 }, duration = 0;
	struct replay_reader *rd;
	struct replay_event ev;
	unsigned int i, t;
	const char *why;
	uint64_t off, n = 0, exits = 0;
	enum replay_trace_end how;
	bool have_end = false;
	int ret;

	if (open_trace(&rd, path))
		return REPLAY_EXIT_UNREADABLE;
	printf("trace %s: format version %u, %" PRIu64 " bytes\n", path,
	       replay__reader_version(rd), replay__reader_size(rd));
	print_machine(replay__reader_machine(rd));
	while ((ret = replay__reader_next(rd, &ev)) == 1) {
		count[ev.type]++;
		bytes[ev.type] += ev.size;
		if (ev.type <= REPLAY_EV_SUBMIT && ev.source < 64)
			per_src[ev.source]++;
		exits = ev.pos.exits;
		n++;
		if (ev.type == REPLAY_EV_END) {
			duration = ev.duration_ns;
			have_end = true;
		}
	}
	printf("sources:\n");
	for (i = 0; i < replay__reader_nsources(rd); i++) {
		const struct replay_source_info *s = replay__reader_source(rd, i);
		unsigned int f;

		printf("  %-12s %-6s %8" PRIu64 " events  (", s->name,
		       class_names[s->cls], per_src[i]);
		for (f = 0; f < s->nfields; f++)
			printf("%s%s", f ? " " : "", s->field[f]);
		printf("%s%s)\n", s->has_bytes && s->nfields ? " " : "",
		       s->has_bytes ? "bytes" : "");
	}
	printf("events: %" PRIu64 " in all, up to exit %" PRIu64 "\n", n, exits);
	for (t = REPLAY_EV_INPUT; t <= REPLAY_EV_END; t++)
		if (count[t])
			printf("  %-10s %10" PRIu64 " events %10" PRIu64 " bytes  %.2f bytes/event\n",
			       trace__type_name(t), count[t], bytes[t],
			       (double)bytes[t] / (double)count[t]);
	if (have_end)
		printf("duration: %.3f s recorded\n", (double)duration / 1e9);
	how = replay__reader_end(rd, &off, &why);
	printf("ends: %s at byte %" PRIu64 ": %s\n", end_names[how], off, why);
	replay__reader_close(rd);
	return how == REPLAY_TRACE_CORRUPT ? REPLAY_EXIT_UNREADABLE : 0;
}

static int parse_kinds(const char *s, unsigned int *mask)
{
	char buf[128], *tok, *save = NULL;
	unsigned int t;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (t = REPLAY_EV_INPUT; t <= REPLAY_EV_END; t++)
			if (!strcmp(tok, trace__type_name(t)))
				break;
		if (t > REPLAY_EV_END) {
			fprintf(stderr, "microvm: trace dump: unknown kind '%s'\n", tok);
			return -1;
		}
		*mask |= 1u << t;
	}
	return 0;
}

static int parse_index(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "microvm: trace dump: bad event index '%s'\n", s);
		return -1;
	}
	return 0;
}

static int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "source", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t from = 0, to = UINT64_MAX, off;
	const char *source = NULL, *why;
	struct replay_reader *rd;
	struct replay_event ev;
	unsigned int kinds = 0;
	char line[1024];
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:s:f:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (parse_kinds(optarg, &kinds))
				return EXIT_USAGE;
			break;
		case 's':
			source = optarg;
			break;
		case 'f':
			if (parse_index(optarg, &from))
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_index(optarg, &to))
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (open_trace(&rd, argv[optind]))
		return REPLAY_EXIT_UNREADABLE;
	while ((ret = replay__reader_next(rd, &ev)) == 1) {
		if (ev.index < from)
			continue;
		if (ev.index > to)
			break;
		if (kinds && !(kinds & (1u << ev.type)))
			continue;
		if (source && (ev.type > REPLAY_EV_SUBMIT ||
			       strcmp(replay__reader_source(rd, ev.source)->name, source)))
			continue;
		printf("%s\n", replay__event_str(rd, &ev, line, sizeof(line)));
	}
	if (ret <= 0) {
		enum replay_trace_end how = replay__reader_end(rd, &off, &why);

		printf("# %s at byte %" PRIu64 ": %s\n", end_names[how], off, why);
		ret = how == REPLAY_TRACE_CORRUPT ? REPLAY_EXIT_UNREADABLE : 0;
	} else {
		ret = 0;
	}
	replay__reader_close(rd);
	return ret;
}

static int cmd_verify(const char *path)
{
	struct replay_reader *rd;
	struct replay_event ev;
	const char *why;
	uint64_t off, n = 0;
	int ret;

	if (open_trace(&rd, path))
		return REPLAY_EXIT_UNREADABLE;
	while (replay__reader_next(rd, &ev) == 1)
		n++;
	switch (replay__reader_end(rd, &off, &why)) {
	case REPLAY_TRACE_COMPLETE:
		printf("trace %s: good: version %u, %" PRIu64 " events, %" PRIu64 " bytes\n",
		       path, replay__reader_version(rd), n, off);
		ret = 0;
		break;
	case REPLAY_TRACE_CUT:
		fprintf(stderr, "microvm: trace %s: incomplete: readable up to byte %" PRIu64
			" (%" PRIu64 " events), %s\n", path, off, n, why);
		ret = REPLAY_EXIT_INCOMPLETE;
		break;
	default:
		fprintf(stderr, "microvm: trace %s: bad byte at offset %" PRIu64 ": %s (%" PRIu64
			" good events before it)\n", path, off, why, n);
		ret = REPLAY_EXIT_UNREADABLE;
		break;
	}
	replay__reader_close(rd);
	return ret;
}

int replay__trace_main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "info"))
		return cmd_info(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2]);
	usage(stderr);
	return EXIT_USAGE;
}
