// SPDX-License-Identifier: Apache-2.0
/*
 * run_command: run one command under a cordon policy and say how it ended and what was refused.
 *
 *     run_command [WORKSPACE] -- COMMAND [ARG...]
 *
 * The policy is cordon's default (docs/policy.md) with the workspace WORKSPACE (default: the current
 * directory) writable and the network off. The command gets this program's stdin, stdout, stderr and
 * environment, and runs through the warm pool daemon when one serves this user (`cordon serve`),
 * else from here. Prints, on stdout, after the command's own output:
 *
 *     exit status: N
 *     denial: KIND TARGET (count N, rule: RULE)      one line per distinct thing refused
 *
 * and exits with the command's status, as `cordon run` would (125: cordon failed; the error is on
 * stderr). Uses only the public header; build it with `pkg-config --cflags --libs cordon`
 * (docs/libcordon.md).
 */
#include <cordon/cordon.h>

#include <stdio.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: run_command [WORKSPACE] -- COMMAND [ARG...]\n");
	return CORDON_EXIT_FAILURE;
}

/* Prints a libcordon error the way `cordon run` does: one line, with the hint when there is one. */
static void print_error(const char *what, const struct cordon_error *err)
{
	if (err && err->hint)
		fprintf(stderr, "run_command: %s: %s; hint: %s\n", what, err->message, err->hint);
	else
		fprintf(stderr, "run_command: %s: %s\n", what, err && err->message ? err->message : "failed");
}

int main(int argc, char **argv)
{
	/* [WORKSPACE] -- COMMAND...: the workspace is argv[1] unless argv[1] is the `--` itself. */
	const char *workspace = NULL;
	int dashes = 1;
	if (argc > 2 && strcmp(argv[1], "--") != 0) {
		workspace = argv[1];
		dashes = 2;
	}
	if (argc <= dashes + 1 || strcmp(argv[dashes], "--") != 0)
		return usage();
	const char *const *command = (const char *const *)argv + dashes + 1;

	struct cordon_error *err = NULL;
	cordon_policy *policy = cordon_policy_new(); /* defaults: workspace-write, network off */
	cordon_command *cmd = cordon_command_new(command);
	cordon_result *result = NULL;
	int status = CORDON_EXIT_FAILURE;
	if (!policy || !cmd) {
		fprintf(stderr, "run_command: out of memory\n");
		goto out;
	}
	/* Said explicitly, although both are the defaults: what this program promises its user. */
	if (cordon_policy_set_network(policy, CORDON_NETWORK_OFF) < 0 ||
	    (workspace && cordon_policy_set_workspace(policy, workspace, &err) < 0)) {
		print_error("policy", err);
		goto out;
	}

	/* Runs and waits. While it waits, this thread passes SIGINT, SIGTERM, ... on to the command,
	 * as `cordon run` does. The command's own status comes back (or 128+N, 124, 126, 127); 125
	 * with `err` set when cordon failed, and `result` may then be NULL. */
	status = cordon_run_command(policy, cmd, &result, &err);
	if (status == CORDON_EXIT_FAILURE && err)
		print_error("cordon", err);

	printf("exit status: %d\n", status);
	if (result) {
		if (cordon_result_signal(result))
			printf("signal: %d\n", cordon_result_signal(result));
		if (cordon_result_timed_out(result))
			printf("timed out\n");
		/* Each target once, with how often it was refused: what a harness would show its user
		 * before asking whether to allow it. The strings belong to the result. */
		for (size_t i = 0; i < cordon_result_denial_count(result); i++) {
			struct cordon_denial d;
			if (cordon_result_denial(result, i, &d) < 0)
				continue;
			printf("denial: %s %s", d.kind, d.target);
			if (d.port)
				printf(" port %u", d.port);
			printf(" (count %llu, rule: %s)\n", (unsigned long long)d.count, d.rule ? d.rule : "-");
		}
	}
	fflush(stdout);

out:
	cordon_result_free(result);
	cordon_command_free(cmd);
	cordon_policy_free(policy);
	cordon_error_free(err);
	return status;
}
