// SPDX-License-Identifier: Apache-2.0
/* microvm: parse the command line, build the VM, run it, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microvm/replay.h"

#include "cli.h"
#include "probe.h"
#include "vm.h"

static struct vm the_vm;

int main(int argc, char **argv)
{
	struct cli cli;
	int code;

	/* `microvm trace ...` reads traces: no VM, no KVM, nothing else. */
	if (argc >= 2 && !strcmp(argv[1], "trace"))
		return replay__trace_main(argc - 1, argv + 1);
	if (cli__parse(&cli, argc, argv)) {
		fprintf(stderr, "Try 'microvm --help' for more information.\n");
		return VM_EXIT_USAGE;
	}
	util__set_verbose(cli.verbose);
	switch (cli.action) {
	case CLI_HELP:
		cli__usage(stdout);
		return VM_EXIT_OK;
	case CLI_VERSION:
		printf("microvm %s\n", MICROVM_VERSION);
		return VM_EXIT_OK;
	case CLI_PROBE_HOST:
		return probe__print_table() ? VM_EXIT_SETUP : VM_EXIT_OK;
	case CLI_RUN:
		break;
	}
	if (cli.vm.replay && vm_replay__load_config(cli.vm.replay, &cli.vm))
		return VM_EXIT_SETUP;
	if (vm__init(&the_vm, &cli.vm)) {
		vm__exit(&the_vm);
		return VM_EXIT_SETUP;
	}
	code = vm__run(&the_vm);
	vm__exit(&the_vm);
	if (cli.vm.stats)
		vm__print_stats(&the_vm);
	return code;
}
