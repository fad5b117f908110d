// SPDX-License-Identifier: Apache-2.0
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "backend/backend.h"
#include "cli/cli.h"

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			printf("usage: cordon doctor [--json]\n\nProbes the kernel features cordon uses and says which "
			       "guarantees hold here.\nExit status: 0 when the default policy can be enforced, 1 when "
			       "not.\n");
			return 0;
		} else
			return cli_usage_error("doctor", "unknown option `%s`", argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("doctor", "unexpected argument `%s`", argv[optind]);
	return cordon_backend_linux.doctor(json);
}
