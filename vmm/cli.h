/* SPDX-License-Identifier: Apache-2.0 */
#ifndef MICROVM_CLI_H
#define MICROVM_CLI_H

#include <stdio.h>

#include "vm.h"

enum cli_action {
	CLI_RUN,
	CLI_PROBE_HOST,
	CLI_HELP,
	CLI_VERSION,
};

struct cli {
	enum cli_action action;
	struct vm_config vm;
	int verbose;
};

/*
 * Parse argv.  Returns 0, or -EINVAL after printing what is wrong with the
 * command line (the caller exits with VM_EXIT_USAGE).
 */
int cli__parse(struct cli *cli, int argc, char **argv);
void cli__usage(FILE *out);

#endif
