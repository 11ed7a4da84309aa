// SPDX-License-Identifier: Apache-2.0
/* Command-line parsing: every mistake gets a message naming the option. */
#include <stdio.h>

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MEM (256 * MiB)

enum {
	OPT_KERNEL = 0x100,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_PROBE_HOST,
	OPT_NO_FIXUPS,
	OPT_NO_RDTSC_PATCH,
	OPT_STATS,
	OPT_VERSION,
	OPT_DISK,
	OPT_CPU_POLICY,
	OPT_RTC_EPOCH,
	OPT_RECORD,
	OPT_REPLAY,
	OPT_PIN,
	OPT_CLOCK,
};

static const struct option cli_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "cpu-policy", required_argument, NULL, OPT_CPU_POLICY },
	{ "rtc-epoch", required_argument, NULL, OPT_RTC_EPOCH },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "clock", required_argument, NULL, OPT_CLOCK },
	{ "probe-host", no_argument, NULL, OPT_PROBE_HOST },
	{ "no-cmdline-fixups", no_argument, NULL, OPT_NO_FIXUPS },
	{ "no-rdtsc-patch", no_argument, NULL, OPT_NO_RDTSC_PATCH },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void cli__usage(FILE *out)
{
	fputs("usage: microvm --kernel FILE [options]\n"
	      "       microvm --replay TRACE [--kernel FILE] [--initrd FILE] [--disk PATH]...\n"
	      "       microvm --probe-host\n"
	      "       microvm trace info|dump|verify TRACE\n"
	      "\n"
	      "Boot a Linux kernel (ELF vmlinux or bzImage) or a test guest in a KVM\n"
	      "virtual machine with a 16550A serial console on stdin/stdout.\n"
	      "\n"
	      "  --kernel FILE         kernel image: ELF64 vmlinux, bzImage, or test guest\n"
	      "  --initrd FILE         initial ramdisk (initramfs) to load\n"
	      "  --cmdline STRING      kernel command line, e.g. \"console=ttyS0\"\n"
	      "  --mem SIZE            guest RAM, e.g. 512M or 1G (default 256M, max 3G)\n"
	      "  --disk PATH[,ro][,snapshot][,id=NAME][,engine=auto|uring|threads|sync]\n"
	      "                        attach a raw image as a virtio-blk disk (repeatable,\n"
	      "                        up to 8); Linux sees /dev/vda, /dev/vdb, ... (the\n"
	      "                        virtio_mmio.device= options are added for you);\n"
	      "                        snapshot: the guest writes a temporary copy\n"
	      "  --record TRACE        record the run into TRACE\n"
	      "  --replay TRACE        re-run a recording: the machine comes from TRACE;\n"
	      "                        --kernel, --initrd, --disk point at moved copies\n"
	      "  --pin exit|step|pmu|auto\n"
	      "                        how inputs are pinned to positions (default auto:\n"
	      "                        exit, until the PMU backend has its self-test); step\n"
	      "                        single-steps every instruction and emulates RDTSC,\n"
	      "                        RDRAND (docs/pinning.md); a replay uses the\n"
	      "                        trace's; pmu-sim (tests) replays a step trace\n"
	      "                        through the PMU landing on a simulated counter\n"
	      "  --clock host|insn[:NS]\n"
	      "                        guest time: the host's clock, or NS virtual ns per\n"
	      "                        instruction (default 10, a 100 MHz guest; the\n"
	      "                        default under --pin=step, which it needs)\n"
	      "  --cpu-policy NAME     the CPU the guest sees (default, v2, v1; see below)\n"
	      "  --rtc-epoch SECONDS   the RTC's time at boot, in seconds since 1970-01-01\n"
	      "                        UTC (default: now), so that runs see the same date\n"
	      "  --no-cmdline-fixups   do not append the host workarounds (clearcpuid=,\n"
	      "                        nolapic, noxsave) to the command line\n"
	      "  --no-rdtsc-patch      --record with exit-pinned positions: leave the\n"
	      "                        kernel's RDTSC instructions as they are (by\n"
	      "                        default they become port reads, whose values are\n"
	      "                        logged; docs/pinning.md)\n"
	      "  --stats               print exit statistics on stderr at the end\n"
	      "  --probe-host          run the host probes and print what this host provides\n"
	      "  -v, --verbose         more messages (repeat for more)\n"
	      "  -q, --quiet           only errors\n"
	      "  -h, --help            this help\n"
	      "      --version         print the version\n"
	      "\n"
	      "CPU policies (vendor as the host's, identity and features fixed):\n",
	      out);
	cpuid__list_policies(out);
	fputs("\n"
	      "Console: Ctrl-A x quits, Ctrl-A h shows the escape keys.\n"
	      "Exit status: 0 when the guest powers off or reboots, the guest's code when\n"
	      "it writes to the test exit port (0x501), 1 when the VM cannot start, 2 for\n"
	      "a bad command line, 3 when the guest dies (triple fault, emulation error),\n"
	      "128+N on signal N.\n",
	      out);
}

static int cli_set_mem(struct cli *cli, const char *arg)
{
	int ret = util__parse_size(arg, &cli->vm.mem_size);

	if (ret == -ERANGE) {
		pr_err("--mem %s: value out of range", arg);
		return -EINVAL;
	}
	if (ret) {
		pr_err("--mem %s: not a size (use a number with an optional K, M or G suffix, e.g. 512M)",
		       arg);
		return -EINVAL;
	}
	return 0;
}

/* One ",key[=value]" option of --disk. */
static int cli_disk_option(struct vm_disk_config *d, const char *opt,
			   const char *spec)
{
	if (!strcmp(opt, "ro")) {
		d->ro = true;
	} else if (!strcmp(opt, "snapshot")) {
		d->snapshot = true;
	} else if (!strncmp(opt, "id=", 3)) {
		if (strlen(opt + 3) > VIRTIO_BLK_ID_BYTES) {
			pr_err("--disk %s: id '%s' is longer than %d bytes",
			       spec, opt + 3, VIRTIO_BLK_ID_BYTES);
			return -EINVAL;
		}
		snprintf(d->id, sizeof(d->id), "%s", opt + 3);
		d->has_id = true;
	} else if (!strncmp(opt, "engine=", 7)) {
		if (disk__parse_engine(opt + 7, &d->engine)) {
			pr_err("--disk %s: unknown engine '%s' (auto, uring, threads or sync)",
			       spec, opt + 7);
			return -EINVAL;
		}
	} else {
		pr_err("--disk %s: unknown option '%s' (ro, snapshot, id=NAME, engine=E)",
		       spec, opt);
		return -EINVAL;
	}
	return 0;
}

static int cli_add_disk(struct cli *cli, const char *spec)
{
	struct vm_disk_config *d;
	char buf[4096 + 64], *opt, *save = NULL;

	if (cli->vm.ndisks == VM_MAX_DISKS) {
		pr_err("--disk %s: at most %d disks", spec, VM_MAX_DISKS);
		return -EINVAL;
	}
	if (strlen(spec) >= sizeof(buf)) {
		pr_err("--disk: path too long");
		return -EINVAL;
	}
	d = &cli->vm.disks[cli->vm.ndisks];
	memset(d, 0, sizeof(*d));
	snprintf(buf, sizeof(buf), "%s", spec);
	opt = strtok_r(buf, ",", &save);
	if (!opt || buf[0] == ',') {
		pr_err("--disk %s: no image path (use --disk PATH[,ro][,id=NAME])",
		       spec);
		return -EINVAL;
	}
	snprintf(d->path, sizeof(d->path), "%s", opt);
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (cli_disk_option(d, opt, spec))
			return -EINVAL;
	}
	cli->vm.ndisks++;
	return 0;
}

/* The RTC keeps four-digit years: 1970-01-01 to 9999-12-31. */
#define RTC_EPOCH_MAX 253402300799LL

static int cli_set_rtc_epoch(struct cli *cli, const char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (!*arg || *end || errno || v < 0 || v > RTC_EPOCH_MAX) {
		pr_err("--rtc-epoch %s: not a time (seconds since 1970-01-01 UTC, 0 to %lld; e.g. $(date +%%s))",
		       arg, RTC_EPOCH_MAX);
		return -EINVAL;
	}
	cli->vm.rtc_epoch = v;
	cli->vm.rtc_epoch_set = true;
	return 0;
}

static int cli_set_cpu_policy(struct cli *cli, const char *arg)
{
	if (!cpuid__policy_exists(arg)) {
		pr_err("--cpu-policy %s: unknown policy; the policies are:", arg);
		cpuid__list_policies(stderr);
		return -EINVAL;
	}
	cli->vm.cpu_policy = arg;
	return 0;
}

static int cli_set_pin(struct cli *cli, const char *arg)
{
	static const char *const names[] = {
		[VM_PIN_AUTO] = "auto", [VM_PIN_EXIT] = "exit",
		[VM_PIN_STEP] = "step", [VM_PIN_PMU] = "pmu",
		[VM_PIN_PMU_SIM] = "pmu-sim",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(arg, names[i])) {
			cli->vm.pin = (enum vm_pin)i;
			cli->vm.pin_set = true;
			return 0;
		}
	}
	pr_err("--pin %s: unknown backend (exit, step, pmu, auto; pmu-sim for tests)", arg);
	return -EINVAL;
}

static int cli_set_clock(struct cli *cli, const char *arg)
{
	unsigned long ns = VM_CLOCK_INSN_NS;
	char *end;

	if (!strcmp(arg, "host")) {
		cli->vm.clock = VM_CLOCK_HOST;
		return 0;
	}
	if (strncmp(arg, "insn", 4) || (arg[4] && arg[4] != ':')) {
		pr_err("--clock %s: unknown clock (host, or insn[:NS])", arg);
		return -EINVAL;
	}
	if (arg[4] == ':') {
		errno = 0;
		ns = strtoul(arg + 5, &end, 10);
		if (errno || end == arg + 5 || *end || ns < 1 || ns > 1000) {
			pr_err("--clock %s: NS must be a whole number of virtual nanoseconds per instruction, 1 to 1000",
			       arg);
			return -EINVAL;
		}
	}
	cli->vm.clock = VM_CLOCK_INSN;
	cli->vm.clock_ns = (u32)ns;
	return 0;
}

static int cli_one(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case OPT_KERNEL:
		cli->vm.kernel = arg;
		return 0;
	case OPT_INITRD:
		cli->vm.initrd = arg;
		return 0;
	case OPT_CMDLINE:
		cli->vm.cmdline = arg;
		return 0;
	case OPT_MEM:
		return cli_set_mem(cli, arg);
	case OPT_DISK:
		return cli_add_disk(cli, arg);
	case OPT_CPU_POLICY:
		return cli_set_cpu_policy(cli, arg);
	case OPT_RTC_EPOCH:
		return cli_set_rtc_epoch(cli, arg);
	case OPT_RECORD:
		cli->vm.record = arg;
		return 0;
	case OPT_REPLAY:
		cli->vm.replay = arg;
		return 0;
	case OPT_PIN:
		return cli_set_pin(cli, arg);
	case OPT_CLOCK:
		return cli_set_clock(cli, arg);
	case OPT_PROBE_HOST:
		cli->action = CLI_PROBE_HOST;
		return 0;
	case OPT_NO_FIXUPS:
		cli->vm.cmdline_fixups = false;
		return 0;
	case OPT_NO_RDTSC_PATCH:
		cli->vm.rdtsc_patch = false;
		cli->vm.rdtsc_patch_set = true;
		return 0;
	case OPT_STATS:
		cli->vm.stats = true;
		return 0;
	case 'v':
		cli->verbose++;
		return 0;
	case 'q':
		cli->verbose = -1;
		return 0;
	case 'h':
		cli->action = CLI_HELP;
		return 0;
	case OPT_VERSION:
		cli->action = CLI_VERSION;
		return 0;
	default:
		/* getopt_long has already said what was wrong. */
		return -EINVAL;
	}
}

int cli__parse(struct cli *cli, int argc, char **argv)
{
	int opt;

	memset(cli, 0, sizeof(*cli));
	cli->action = CLI_RUN;
	cli->vm.mem_size = DEFAULT_MEM;
	cli->vm.cmdline_fixups = true;
	cli->vm.rdtsc_patch = true;
	cli->vm.cpu_policy = CPUID_DEFAULT_POLICY;
	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "vqh", cli_options, NULL)) != -1) {
		if (cli_one(cli, opt, optarg))
			return -EINVAL;
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (options start with --; see microvm --help)",
		       argv[optind]);
		return -EINVAL;
	}
	if (cli->vm.record && cli->vm.replay) {
		pr_err("--record and --replay together: record a run, then replay it");
		return -EINVAL;
	}
	if (cli->vm.rdtsc_patch_set && cli->vm.replay) {
		pr_err("--no-rdtsc-patch with --replay: a replay patches the kernel as its recording did");
		return -EINVAL;
	}
	if (cli->vm.clock != VM_CLOCK_DEFAULT && cli->vm.replay) {
		pr_err("--clock with --replay: a replay's guest time comes from the trace");
		return -EINVAL;
	}
	if (cli->action == CLI_RUN && !cli->vm.kernel && !cli->vm.replay) {
		pr_err("no kernel given: use --kernel FILE (see microvm --help)");
		return -EINVAL;
	}
	return 0;
}
