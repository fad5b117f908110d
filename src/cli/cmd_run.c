// SPDX-License-Identifier: Apache-2.0
/* `cordon run`: flags and configuration files, layered (user config, then --config files, then
 * flags: flags win), then the backend. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/config.h"
#include "core/policy.h"

extern char **environ;

enum {
	OPT_MODE = 0x100, OPT_WRITABLE, OPT_PROTECT, OPT_NO_DEFAULT_PROTECT, OPT_DENY_READ, OPT_NO_DEFAULT_DENY_READ,
	OPT_NETWORK, OPT_ENV, OPT_ENV_KEEP, OPT_ENV_CLEAR, OPT_TIMEOUT, OPT_MEMORY, OPT_MAX_PROCS, OPT_CPU_SECONDS,
	OPT_FILE_SIZE, OPT_CONFIG, OPT_NO_USER_CONFIG, OPT_ALLOW_DEGRADED, OPT_EXPLAIN, OPT_ALLOW, OPT_DENY,
	OPT_AUDIT, OPT_NO_AUDIT, OPT_AUDIT_READS, OPT_REPORT, OPT_STAGED, OPT_SESSION, OPT_NO_DAEMON,
};

static const struct option run_opts[] = {
	{"workspace", required_argument, NULL, 'w'},
	{"mode", required_argument, NULL, OPT_MODE},
	{"writable", required_argument, NULL, OPT_WRITABLE},
	{"protect", required_argument, NULL, OPT_PROTECT},
	{"no-default-protect", no_argument, NULL, OPT_NO_DEFAULT_PROTECT},
	{"deny-read", required_argument, NULL, OPT_DENY_READ},
	{"no-default-deny-read", no_argument, NULL, OPT_NO_DEFAULT_DENY_READ},
	{"network", required_argument, NULL, OPT_NETWORK},
	{"allow", required_argument, NULL, OPT_ALLOW},
	{"deny", required_argument, NULL, OPT_DENY},
	{"env", required_argument, NULL, OPT_ENV},
	{"env-keep", required_argument, NULL, OPT_ENV_KEEP},
	{"env-clear", no_argument, NULL, OPT_ENV_CLEAR},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"max-procs", required_argument, NULL, OPT_MAX_PROCS},
	{"cpu-seconds", required_argument, NULL, OPT_CPU_SECONDS},
	{"file-size", required_argument, NULL, OPT_FILE_SIZE},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"no-user-config", no_argument, NULL, OPT_NO_USER_CONFIG},
	{"allow-degraded", no_argument, NULL, OPT_ALLOW_DEGRADED},
	{"explain", no_argument, NULL, OPT_EXPLAIN},
	{"audit", required_argument, NULL, OPT_AUDIT},
	{"no-audit", no_argument, NULL, OPT_NO_AUDIT},
	{"audit-reads", no_argument, NULL, OPT_AUDIT_READS},
	{"report", required_argument, NULL, OPT_REPORT},
	{"staged", no_argument, NULL, OPT_STAGED},
	{"session", required_argument, NULL, OPT_SESSION},
	{"no-daemon", no_argument, NULL, OPT_NO_DAEMON},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

static void run_help(void)
{
	printf("usage: cordon run [OPTIONS] [--] COMMAND [ARG...]\n\n"
	       "  -w, --workspace DIR       writable workspace (default: the current directory)\n"
	       "      --mode MODE           read-only | workspace-write (default) | full-access\n"
	       "      --writable PATH       another writable root (repeatable)\n"
	       "      --protect NAME|PATH   keep read-only inside writable roots (repeatable;\n"
	       "                            defaults .git .codex .agents)\n"
	       "      --no-default-protect  drop the default protected names\n"
	       "      --deny-read PATH      make unreadable (repeatable; defaults: credential stores)\n"
	       "      --no-default-deny-read  drop the default deny-read list\n"
	       "      --network off|on|proxy  network access (default off; proxy: only the hosts\n"
	       "                            --allow lists, through cordon's filtering proxy)\n"
	       "      --allow HOST[:PORT]   reachable with --network proxy (repeatable): a name,\n"
	       "                            *.suffix, IP or CIDR; port default 80,443; `*` any;\n"
	       "                            localhost:PORT is the host's own loopback\n"
	       "      --deny HOST[:PORT]    never reachable, whatever --allow says (repeatable)\n"
	       "      --env K=V             set a variable (repeatable)\n"
	       "      --env-keep NAME       keep a variable that looks like a secret (repeatable)\n"
	       "      --env-clear           start from an empty environment\n"
	       "      --timeout SECONDS     kill everything after this long (exit 124)\n"
	       "      --memory BYTES        memory for the whole sandbox (K, M, G suffixes)\n"
	       "      --max-procs N         processes at once\n"
	       "      --cpu-seconds N       CPU seconds per process\n"
	       "      --file-size BYTES     largest file a process may write\n"
	       "      --config FILE         a policy file (JSON; see docs/config.md)\n"
	       "      --no-user-config      do not read $XDG_CONFIG_HOME/cordon/config.json\n"
	       "      --allow-degraded      run even when a guarantee cannot be enforced here (warns)\n"
	       "      --audit FILE          append the audit log here (`-`: stderr; default: a file a\n"
	       "                            day in $XDG_STATE_HOME/cordon/audit/; see docs/audit.md)\n"
	       "      --no-audit            no audit log and no observer (denials only from the proxy)\n"
	       "      --audit-reads         record refused reads of deny-read paths too (every open\n"
	       "                            goes past the observer: slower, see docs/audit.md)\n"
	       "      --report FILE         after the command, write a JSON report with its exit\n"
	       "                            status and denials (else denials go to stderr)\n"
	       "      --staged              writes to the writable roots land in a session layer,\n"
	       "                            not in the real files (review: cordon diff; apply:\n"
	       "                            cordon commit; drop: cordon discard; docs/staged.md)\n"
	       "      --session NAME        the staged session (default: a new one, named on stderr)\n"
	       "      --explain             print the compiled plan and exit\n"
	       "  -v, --verbose             print the plan on stderr before running\n\n"
	       "Exit status: the command's; 128+N on signal N; 124 on timeout; 125 when cordon failed;\n"
	       "126/127 when the command cannot be run or is not found.\n");
}

static int set_limit(struct cordon_policy *p, enum cordon_limit which, const char *flag, const char *v,
		     int (*parse)(const char *, uint64_t *))
{
	uint64_t n;
	if (parse(v, &n) < 0 || n == 0)
		return cli_usage_error("run", "%s `%s`: expected a positive number", flag, v);
	p->limits[which] = n;
	p->set |= PF_LIMIT0 << which;
	return 0;
}

/* Reports a setter's error (the setter has run: rc and err are both settled). */
static int take(int rc, struct cordon_error **err)
{
	if (rc < 0) {
		fprintf(stderr, "cordon run: %s; hint: see `cordon run --help`\n", *err ? (*err)->message : "bad option");
		cordon_error_free(*err);
		*err = NULL;
		return -1;
	}
	return 0;
}

struct run_flags {
	struct cordon_policy p;
	struct strv configs;
	bool no_user_config;
	bool verbose;
	bool explain;
	const char *audit;
	bool no_audit;
	bool audit_reads;
	const char *report;
	bool staged;
	const char *session;
	bool no_daemon;
};

static int parse_opt(struct run_flags *f, int c, const char *arg)
{
	struct cordon_policy *p = &f->p;
	struct cordon_error *err = NULL;
	int rc;
	switch (c) {
	case 'w':
		rc = cordon_policy_set_workspace(p, arg, &err);
		return take(rc, &err);
	case OPT_MODE:
		if (policy_parse_mode(arg, &p->mode) < 0)
			return cli_usage_error("run", "--mode `%s`: expected read-only, workspace-write or full-access", arg), -1;
		p->set |= PF_MODE;
		return 0;
	case OPT_WRITABLE:
		rc = policy_add_path(&p->writable, "--writable", arg, &err);
		return take(rc, &err);
	case OPT_PROTECT:
		rc = policy_add_protect(p, arg, &err);
		return take(rc, &err);
	case OPT_NO_DEFAULT_PROTECT:
		return cordon_policy_set_default_protect(p, false);
	case OPT_DENY_READ:
		rc = policy_add_path(&p->deny_read, "--deny-read", arg, &err);
		return take(rc, &err);
	case OPT_NO_DEFAULT_DENY_READ:
		return cordon_policy_set_default_deny_read(p, false);
	case OPT_NETWORK:
		if (policy_parse_network(arg, &p->network) < 0)
			return cli_usage_error("run", "--network `%s`: expected off, on or proxy", arg), -1;
		p->set |= PF_NETWORK;
		return 0;
	case OPT_ALLOW:
	case OPT_DENY:
		rc = policy_add_net_rule(p, c == OPT_DENY, arg, &err);
		return take(rc, &err);
	case OPT_ENV:
		rc = policy_add_env_set(p, arg, &err);
		return take(rc, &err);
	case OPT_ENV_KEEP:
		rc = policy_add_env_keep(p, arg, &err);
		return take(rc, &err);
	case OPT_ENV_CLEAR:
		return cordon_policy_env_clear(p, true);
	case OPT_TIMEOUT:
		return set_limit(p, CORDON_LIMIT_TIMEOUT_MS, "--timeout", arg, policy_parse_seconds_ms) ? -1 : 0;
	case OPT_MEMORY:
		return set_limit(p, CORDON_LIMIT_MEMORY, "--memory", arg, policy_parse_bytes) ? -1 : 0;
	case OPT_MAX_PROCS:
		return set_limit(p, CORDON_LIMIT_MAX_PROCS, "--max-procs", arg, policy_parse_count) ? -1 : 0;
	case OPT_CPU_SECONDS:
		return set_limit(p, CORDON_LIMIT_CPU_SECONDS, "--cpu-seconds", arg, policy_parse_count) ? -1 : 0;
	case OPT_FILE_SIZE:
		return set_limit(p, CORDON_LIMIT_FILE_SIZE, "--file-size", arg, policy_parse_bytes) ? -1 : 0;
	case OPT_CONFIG:
		return strv_push(&f->configs, arg);
	case OPT_NO_USER_CONFIG:
		f->no_user_config = true;
		return 0;
	case OPT_ALLOW_DEGRADED:
		return cordon_policy_allow_degraded(p, true);
	case OPT_EXPLAIN:
		f->explain = true;
		return 0;
	case OPT_AUDIT:
		if (!arg[0])
			return cli_usage_error("run", "--audit: expected a file, or `-` for stderr"), -1;
		f->audit = arg;
		return 0;
	case OPT_NO_AUDIT:
		f->no_audit = true;
		return 0;
	case OPT_AUDIT_READS:
		f->audit_reads = true;
		p->audit_reads = true;
		p->set |= PF_AUDIT_READS;
		return 0;
	case OPT_REPORT:
		if (!arg[0] || strcmp(arg, "-") == 0)
			return cli_usage_error("run", "--report `%s`: expected a file", arg), -1;
		f->report = arg;
		return 0;
	case OPT_STAGED:
		f->staged = true;
		return 0;
	case OPT_SESSION:
		f->session = arg;
		return 0;
	case OPT_NO_DAEMON:
		f->no_daemon = true;
		return 0;
	case 'v':
		f->verbose = true;
		return 0;
	}
	return cli_usage_error("run", "unknown option"), -1;
}

/* Reads and parses one configuration file into `out`. */
static int load_config(const char *path, bool must_exist, struct cordon_policy *out, struct cordon_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return cerr_sys(err, errno, "config file `%s`", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return cerr_sys(err, errno, "config file `%s`", path);
	if (!S_ISREG(st.st_mode))
		return cerr_set(err, EINVAL, "config file `%s`: not a regular file", path);
	if (st.st_mode & S_IWOTH)
		return cerr_set(err, EPERM, "config file `%s`: writable by every user, refusing to trust it", path);
	if ((size_t)st.st_size > CONFIG_MAX_BYTES)
		return cerr_set(err, EFBIG, "config file `%s`: larger than %u bytes", path, CONFIG_MAX_BYTES);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return cerr_set(err, ENOMEM, "out of memory");
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cerr_sys(err, errno, "read config file `%s`", path);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return config_parse(buf, got, path, out, err);
}

static char *user_config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *path = NULL;
	if (xdg && xdg[0] == '/') {
		if (asprintf(&path, "%s/cordon/config.json", xdg) < 0)
			return NULL;
	} else {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/' || asprintf(&path, "%s/.config/cordon/config.json", home) < 0)
			return NULL;
	}
	return path;
}

/* Builds the final policy: defaults, user config, --config files, flags. */
static int build_policy(struct run_flags *f, struct cordon_policy *out, struct strv *read_files,
			struct cordon_error **err)
{
	policy_init(out);
	if (!f->no_user_config) {
		_cleanup_free_ char *path = user_config_path();
		if (path && access(path, F_OK) == 0) {
			struct cordon_policy layer;
			policy_init(&layer);
			int rc = load_config(path, false, &layer, err);
			if (rc == 0)
				rc = policy_merge(out, &layer);
			policy_release(&layer);
			if (rc < 0 || strv_push(read_files, path) < 0)
				return -1;
		}
	}
	for (size_t i = 0; i < f->configs.n; i++) {
		struct cordon_policy layer;
		policy_init(&layer);
		int rc = load_config(f->configs.v[i], true, &layer, err);
		if (rc == 0)
			rc = policy_merge(out, &layer);
		policy_release(&layer);
		if (rc < 0 || strv_push(read_files, f->configs.v[i]) < 0)
			return -1;
	}
	return policy_merge(out, &f->p) < 0 ? cerr_set(err, ENOMEM, "out of memory") : 0;
}

/* Through libcordon: the daemon when one serves this user (and --no-daemon is not given), else here. */
static int run_it(const struct run_flags *f, const struct cordon_policy *policy, const char *const *argv,
		  const struct strv *read_files, struct cordon_error **err)
{
	cordon_command *cmd = cordon_command_new(argv);
	if (!cmd)
		return cli_usage_error("run", "no command given");
	int rc = 0;
	unsigned closed = cli_stdio_closed;
	cordon_command_set_stdio(cmd, closed & 1 ? -1 : 0, closed & 2 ? -1 : 1, closed & 4 ? -1 : 2);
	cordon_command_set_flags(cmd, (f->verbose ? CORDON_COMMAND_VERBOSE : 0) | (f->explain ? CORDON_COMMAND_EXPLAIN : 0));
	if (f->no_daemon)
		rc = cordon_command_set_daemon(cmd, CORDON_DAEMON_NEVER, NULL, err);
	if (rc == 0 && (f->no_audit || f->audit))
		rc = cordon_command_set_audit(cmd, !f->no_audit, f->audit, err);
	if (rc == 0 && f->report)
		rc = cordon_command_set_report(cmd, f->report, err);
	if (rc == 0 && f->staged)
		rc = cordon_command_set_staged(cmd, f->session, err);
	for (size_t i = 0; rc == 0 && i < read_files->n; i++)
		rc = cordon_command_add_policy_file(cmd, read_files->v[i], err);
	int status = CORDON_EXIT_FAILURE;
	if (rc == 0) {
		status = cordon_run_command(policy, cmd, NULL, err);
		if (status == CORDON_EXIT_FAILURE && *err)
			cli_fail(*err);
	} else {
		cli_fail(*err);
	}
	cordon_command_free(cmd);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_flags f = {0};
	policy_init(&f.p);
	int status = CORDON_EXIT_FAILURE, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:w:vh", run_opts, NULL)) != -1) {
		if (c == 'h') {
			run_help();
			status = 0;
			goto out;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1] ? argv[optind - 1] : "?";
			cli_usage_error("run", c == ':' ? "option `%s` needs a value" : "unknown option `%s`", bad);
			goto out;
		}
		if (parse_opt(&f, c, optarg) < 0)
			goto out;
	}
	if (optind >= argc && !f.explain) {
		cli_usage_error("run", "no command given");
		goto out;
	}
	if ((f.audit || f.audit_reads) && f.no_audit) {
		cli_usage_error("run", "%s and --no-audit contradict each other", f.audit ? "--audit" : "--audit-reads");
		goto out;
	}
	if (f.session && !f.staged) {
		cli_usage_error("run", "--session names a staged session: add --staged");
		goto out;
	}
	struct cordon_policy policy;
	struct strv read_files = {0};
	struct cordon_error *err = NULL;
	if (build_policy(&f, &policy, &read_files, &err) < 0) {
		status = cli_fail(err);
	} else {
		const char *none[] = {"true", NULL};
		status = run_it(&f, &policy, optind < argc ? (const char *const *)argv + optind : none, &read_files, &err);
	}
	cordon_error_free(err);
	policy_release(&policy);
	strv_clear(&read_files);
out:
	policy_release(&f.p);
	strv_clear(&f.configs);
	return status;
}
