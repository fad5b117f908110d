// SPDX-License-Identifier: Apache-2.0
/* `cordon sessions`, `cordon diff`, `cordon commit`, `cordon discard`: staged sessions (docs/staged.md). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "common/error.h"

enum { OPT_JSON = 0x100, OPT_STAT, OPT_FORCE, OPT_GC, OPT_OLDER_THAN };

static const struct option stage_opts[] = {
	{"json", no_argument, NULL, OPT_JSON},   {"stat", no_argument, NULL, OPT_STAT},
	{"force", no_argument, NULL, OPT_FORCE}, {"gc", no_argument, NULL, OPT_GC},
	{"older-than", required_argument, NULL, OPT_OLDER_THAN}, {"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

struct verb_spec {
	const char *name;
	enum stage_verb verb;
	unsigned allowed; /* bits: 1 json, 2 stat, 4 force, 8 gc/older-than */
	bool session_arg;
	bool paths;
	const char *usage;
};

static const struct verb_spec specs[] = {
	{"sessions", STAGE_LIST, 1 | 8, false, false,
	 "usage: cordon sessions [--json]\n"
	 "       cordon sessions --gc --older-than DAYS\n\n"
	 "Lists the staged sessions: name, creation time, age in days (since last used), number of changes,\n"
	 "bytes in their layers, and their roots. --gc removes the sessions not used for DAYS days (not one\n"
	 "in use, nor one with an interrupted commit).\n"},
	{"diff", STAGE_DIFF, 1 | 2, true, true,
	 "usage: cordon diff SESSION [--stat] [--json] [PATH...]\n\n"
	 "What committing SESSION would change in the real files: added, modified, deleted and renamed\n"
	 "files, mode and symlink changes; a unified diff for text, \"Binary files ... differ\" otherwise.\n"
	 "PATHs (real paths, or relative to the current directory) limit it to those files or trees.\n"
	 "  --stat   one line a change, with the lines added and removed\n"
	 "  --json   one JSON object (docs/staged.md)\n"},
	{"commit", STAGE_COMMIT, 4, true, true,
	 "usage: cordon commit SESSION [--force] [PATH...]\n\n"
	 "Applies SESSION's changes (all, or those under the PATHs) to the real files, journaled: a commit\n"
	 "that is interrupted leaves every file old or new, and running it again finishes it. What was applied\n"
	 "leaves the session. Protected paths (.git, .codex, .agents, --protect) are never applied. A real\n"
	 "file changed since the session started, that the session changed too, is held back unless --force.\n"
	 "Exit status: 0 when everything asked for was applied, 1 when something was held back, 125 on error.\n"},
	{"discard", STAGE_DISCARD, 0, true, false,
	 "usage: cordon discard SESSION\n\nDrops SESSION and its changes; the real files are not touched.\n"},
};

static int stage_main(const struct verb_spec *v, int argc, char **argv,
		      int (*fn)(const struct stage_request *, struct cordon_error **))
{
	struct stage_request req = {.verb = v->verb};
	bool gc = false, older = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", stage_opts, NULL)) != -1) {
		unsigned bit = c == OPT_JSON ? 1 : c == OPT_STAT ? 2 : c == OPT_FORCE ? 4 : c == OPT_GC || c == OPT_OLDER_THAN ? 8 : 0;
		if (c == 'h') {
			printf("%s", v->usage);
			return 0;
		}
		if (c == '?' || c == ':' || (bit && !(v->allowed & bit)) || !bit) {
			const char *bad = argv[optind - 1] ? argv[optind - 1] : "?";
			return cli_usage_error(v->name, c == ':' ? "option `%s` needs a value" : "unknown option `%s`", bad);
		}
		if (c == OPT_JSON)
			req.json = true;
		else if (c == OPT_STAT)
			req.stat = true;
		else if (c == OPT_FORCE)
			req.force = true;
		else if (c == OPT_GC)
			gc = true;
		else {
			char *end;
			unsigned long d = strtoul(optarg, &end, 10);
			if (!optarg[0] || *end || optarg[0] == '-' || d > 100000)
				return cli_usage_error(v->name, "--older-than `%s`: expected a number of days", optarg);
			req.older_than_days = (unsigned)d;
			older = true;
		}
	}
	if (gc != older)
		return cli_usage_error(v->name, "--gc and --older-than DAYS go together");
	if (gc) {
		if (req.json)
			return cli_usage_error(v->name, "--gc and --json contradict each other");
		req.verb = STAGE_GC;
	}
	if (v->session_arg) {
		if (optind >= argc)
			return cli_usage_error(v->name, "no session given");
		req.session = argv[optind++];
	}
	if (optind < argc && !v->paths)
		return cli_usage_error(v->name, "unexpected argument `%s`", argv[optind]);
	req.paths = argv + optind;
	req.npaths = (size_t)(argc - optind);
	struct cordon_error *err = NULL;
	int rc = fn(&req, &err);
	if (rc < 0) {
		rc = cli_fail(err);
		cordon_error_free(err);
	}
	return rc;
}

int cmd_sessions(int argc, char **argv)
{
	return stage_main(&specs[0], argc, argv, cordon_backend_linux.stage);
}

int cmd_commit(int argc, char **argv)
{
	return stage_main(&specs[2], argc, argv, cordon_backend_linux.stage);
}

int cmd_discard(int argc, char **argv)
{
	return stage_main(&specs[3], argc, argv, cordon_backend_linux.stage);
}

int cmd_diff_with(int argc, char **argv, int (*fn)(const struct stage_request *, struct cordon_error **))
{
	return stage_main(&specs[1], argc, argv, fn);
}

/*
 * `cordon diff` is the program cordon-diff beside this one: it links libgit2, which cordon itself,
 * the program that starts every sandbox, does not load (a dozen shared libraries at every start).
 */
int cmd_diff(int argc, char **argv)
{
	char self[PATH_MAX], helper[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "cordon: cannot find cordon-diff: /proc/self/exe: %s\n", strerror(errno));
		return CORDON_EXIT_FAILURE;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	snprintf(helper, sizeof(helper), "%.*s/cordon-diff", (int)(slash ? slash - self : 0), self);
	argv[0] = "cordon-diff";
	(void)argc;
	execv(helper, argv);
	fprintf(stderr, "cordon: run `%s`: %s; hint: cordon-diff is installed beside cordon\n", helper, strerror(errno));
	return CORDON_EXIT_FAILURE;
}
