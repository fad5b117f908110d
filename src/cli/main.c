// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "build-config.h"

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("cordon %s\n", CORDON_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct verb verbs[] = {
	{"run", cmd_run, "run a command in the sandbox"},
	{"doctor", cmd_doctor, "say which guarantees hold on this machine"},
	{"log", cmd_log, "show recent audit records (--denied, --session, --since, --json)"},
	{"sessions", cmd_sessions, "list staged sessions (--json; --gc --older-than DAYS)"},
	{"diff", cmd_diff, "show what a staged session changed (--stat, --json, PATH...)"},
	{"commit", cmd_commit, "apply a staged session to the real files (journaled; PATH..., --force)"},
	{"discard", cmd_discard, "drop a staged session"},
	{"serve", cmd_serve, "the warm pool daemon: near-native starts through a unix socket (--socket, --pool)"},
	{"setup", cmd_setup, "one-time privileged setup where user namespaces are restricted"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "this text"},
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: cordon VERB [OPTIONS] ...\n\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		printf("  %-8s %s\n", verbs[i].name, verbs[i].summary);
	printf("\n`cordon VERB --help` for a verb's options; man cordon-run, man cordon-doctor, man cordon-log, man cordon-staged, man cordon-serve.\n");
	return 0;
}

int main(int argc, char **argv)
{
	/* A closed stdin, stdout or stderr would be taken by the next file cordon opens (the audit
	 * log, a socket) and reach the sandbox as the command's stdio: /dev/null holds the place, and the
	 * command still finds it closed (cli_stdio_closed). */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			cli_stdio_closed |= 1u << fd;
			if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
				return CORDON_EXIT_FAILURE;
		}
	if (argc < 2)
		return cmd_help(0, NULL), CORDON_EXIT_FAILURE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "cordon: unknown verb `%s`; hint: see `cordon help`\n", argv[1]);
	return CORDON_EXIT_FAILURE;
}
