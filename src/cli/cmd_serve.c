// SPDX-License-Identifier: Apache-2.0
/* `cordon serve`: the warm pool daemon (docs/daemon.md). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "daemon/daemon.h"

#define POOL_MAX 256u
#define POLICIES_MAX 64u

static void serve_help(void)
{
	printf("usage: cordon serve [--socket PATH] [--pool N] [--policies N]\n"
	       "       cordon serve --status [--socket PATH]\n\n"
	       "Keeps sandboxes built ahead for the policies used last, so that `cordon run` (and libcordon)\n"
	       "start a command without waiting for its sandbox to be built. Serves only its own user.\n\n"
	       "  --socket PATH   listen here (default: the socket systemd passes (socket activation), else\n"
	       "                  $CORDON_SOCKET, else $XDG_RUNTIME_DIR/cordon/cordon.sock)\n"
	       "  --pool N        sandboxes kept ready per policy (default 4, at most %u; 0: none, every\n"
	       "                  request starts cold in the daemon)\n"
	       "  --policies N    policies kept (the most recently used; default 4, at most %u)\n"
	       "  --status        ask the daemon at the socket how its pool stands (JSON on stdout)\n\n"
	       "Stops on SIGTERM, SIGINT or SIGHUP; every sandbox it owns is killed with it. See cordon-serve(1).\n",
	       POOL_MAX, POLICIES_MAX);
}

static int count(const char *flag, const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (!*v || *end || v[0] == '-' || n < min || n > max)
		return cli_usage_error("serve", "%s `%s`: expected a number from %u to %u", flag, v, min, max), -1;
	*out = (unsigned)n;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"pool", required_argument, NULL, 'p'},
		{"policies", required_argument, NULL, 'P'},
		{"status", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool status = false;
	struct serve_options o = {.pool = 4, .policies = 4};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			serve_help();
			return 0;
		case 's':
			if (!optarg[0])
				return cli_usage_error("serve", "--socket: empty path");
			o.socket = optarg;
			break;
		case 'p':
			if (count("--pool", optarg, 0, POOL_MAX, &o.pool) < 0)
				return CORDON_EXIT_FAILURE;
			break;
		case 'S':
			status = true;
			break;
		case 'P':
			if (count("--policies", optarg, 1, POLICIES_MAX, &o.policies) < 0)
				return CORDON_EXIT_FAILURE;
			break;
		default:
			return cli_usage_error("serve", c == ':' ? "option `%s` needs a value" : "unknown option `%s`",
					       argv[optind - 1] ? argv[optind - 1] : "?");
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument `%s`", argv[optind]);
	struct cordon_error *err = NULL;
	int rc = (status ? daemon_status(o.socket, &err) : daemon_serve(&o, &err)) < 0 ? cli_fail(err) : 0;
	cordon_error_free(err);
	return rc;
}
