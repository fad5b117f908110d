// SPDX-License-Identifier: Apache-2.0
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "backend/backend.h"
#include "cli/cli.h"

int cmd_setup(int argc, char **argv)
{
	static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool dry = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+nh", opts, NULL)) != -1) {
		if (c == 'n')
			dry = true;
		else if (c == 'h') {
			printf("usage: cordon setup [--dry-run]\n\nThe one-time privileged step (run as root): allows "
			       "unprivileged user namespaces where the\ndistribution restricts them (Ubuntu's AppArmor "
			       "rule, Debian's sysctl). Changes nothing else.\n");
			return 0;
		} else
			return cli_usage_error("setup", "unknown option `%s`", argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("setup", "unexpected argument `%s`", argv[optind]);
	struct cordon_error *err = NULL;
	int rc = cordon_backend_linux.setup(dry, &err);
	if (rc < 0) {
		rc = cli_fail(err);
		cordon_error_free(err);
	}
	return rc;
}
