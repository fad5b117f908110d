// SPDX-License-Identifier: Apache-2.0
/*
 * libcordon's run API: commands, results, and running them, through the daemon when one serves this
 * user, else here. Both ways end in the same code (backend->run, or child_serve() around it), so a
 * command behaves the same either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "backend/backend.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/proto.h"
#include "daemon/child.h"
#include "daemon/conn.h"
#include "daemon/daemon.h"

extern char **environ;

struct cordon_command {
	struct strv argv;
	struct strv env;
	bool env_set;
	char *cwd;
	int stdio[3];
	bool audit;
	char *audit_path;
	char *report;
	bool staged;
	char *session;
	struct strv policy_files;
	unsigned flags;
	enum cordon_daemon_use daemon;
	char *socket;
};

struct cordon_result {
	int status;
	int signal;
	bool timed_out;
	struct cordon_error *error;
	char *report;
	json_t *denials; /* the report's array */
};

struct cordon_process {
	int conn;
	pid_t pid; /* a cold start's supervisor (our child), or 0 through the daemon */
	struct cordon_result *result;
	struct proto_run req;
	int stdio[3];
};

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* proto_limit_names, in order, as this OS numbers them. */
const int limit_numbers[PROTO_NLIMITS] = {
	RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE,
	RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO,
	RLIMIT_RTTIME,
};

/* ---- commands ---- */

CORDON_EXPORT cordon_command *cordon_command_new(const char *const argv[])
{
	if (!argv || !argv[0] || !argv[0][0])
		return NULL;
	cordon_command *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->stdio[0] = 0;
	c->stdio[1] = 1;
	c->stdio[2] = 2;
	c->audit = true;
	for (size_t i = 0; argv[i]; i++)
		if (strv_push(&c->argv, argv[i]) < 0) {
			cordon_command_free(c);
			return NULL;
		}
	return c;
}

CORDON_EXPORT void cordon_command_free(cordon_command *c)
{
	if (!c)
		return;
	strv_clear(&c->argv);
	strv_clear(&c->env);
	strv_clear(&c->policy_files);
	free(c->cwd);
	free(c->audit_path);
	free(c->report);
	free(c->session);
	free(c->socket);
	free(c);
}

static int set_str(char **dst, const char *v, const char *what, bool may_be_null, struct cordon_error **err)
{
	if (!v && !may_be_null)
		return cerr_set(err, EINVAL, "%s: NULL", what);
	if (v && !*v)
		return cerr_set(err, EINVAL, "%s: empty", what);
	char *d = v ? strdup(v) : NULL;
	if (v && !d)
		return cerr_set(err, ENOMEM, "out of memory");
	free(*dst);
	*dst = d;
	return 0;
}

CORDON_EXPORT int cordon_command_set_cwd(cordon_command *c, const char *dir, struct cordon_error **err)
{
	return set_str(&c->cwd, dir, "cwd", false, err);
}

CORDON_EXPORT int cordon_command_set_env(cordon_command *c, const char *const envp[], struct cordon_error **err)
{
	strv_clear(&c->env);
	c->env_set = true;
	for (size_t i = 0; envp && envp[i]; i++) {
		if (!strchr(envp[i], '=') || envp[i][0] == '=')
			return cerr_set(err, EINVAL, "environment: `%s` is not NAME=VALUE", envp[i]);
		if (strv_push(&c->env, envp[i]) < 0)
			return cerr_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

CORDON_EXPORT int cordon_command_set_stdio(cordon_command *c, int in, int out, int err_fd)
{
	int v[3] = {in, out, err_fd};
	for (int i = 0; i < 3; i++)
		if (v[i] < -1)
			return -1;
	memcpy(c->stdio, v, sizeof(v));
	return 0;
}

CORDON_EXPORT int cordon_command_set_audit(cordon_command *c, bool on, const char *path, struct cordon_error **err)
{
	if (!on && path)
		return cerr_set(err, EINVAL, "audit: a log path with the log off");
	c->audit = on;
	return set_str(&c->audit_path, path, "audit log", true, err);
}

CORDON_EXPORT int cordon_command_set_report(cordon_command *c, const char *path, struct cordon_error **err)
{
	if (path && strcmp(path, "-") == 0)
		return cerr_set(err, EINVAL, "report `-`: expected a file");
	return set_str(&c->report, path, "report", true, err);
}

CORDON_EXPORT int cordon_command_set_staged(cordon_command *c, const char *session, struct cordon_error **err)
{
	/* The name is checked where sessions live (the backend), with the rules for a name. */
	char *s = session ? strdup(session) : NULL;
	if (session && !s)
		return cerr_set(err, ENOMEM, "out of memory");
	free(c->session);
	c->session = s;
	c->staged = true;
	return 0;
}

CORDON_EXPORT int cordon_command_add_policy_file(cordon_command *c, const char *path, struct cordon_error **err)
{
	if (!path || !*path)
		return cerr_set(err, EINVAL, "policy file: empty path");
	return strv_push(&c->policy_files, path) < 0 ? cerr_set(err, ENOMEM, "out of memory") : 0;
}

CORDON_EXPORT int cordon_command_set_flags(cordon_command *c, unsigned flags)
{
	if (flags & ~(unsigned)(CORDON_COMMAND_VERBOSE | CORDON_COMMAND_EXPLAIN))
		return -1;
	c->flags = flags;
	return 0;
}

CORDON_EXPORT int cordon_command_set_daemon(cordon_command *c, enum cordon_daemon_use use, const char *socket,
					    struct cordon_error **err)
{
	if ((unsigned)use > CORDON_DAEMON_ALWAYS)
		return cerr_set(err, EINVAL, "daemon: unknown use %d", (int)use);
	c->daemon = use;
	return set_str(&c->socket, socket, "socket", true, err);
}

/* ---- results ---- */

CORDON_EXPORT int cordon_result_exit_status(const cordon_result *r)
{
	return r->status;
}

CORDON_EXPORT int cordon_result_signal(const cordon_result *r)
{
	return r->signal;
}

CORDON_EXPORT bool cordon_result_timed_out(const cordon_result *r)
{
	return r->timed_out;
}

CORDON_EXPORT const struct cordon_error *cordon_result_error(const cordon_result *r)
{
	return r->error;
}

CORDON_EXPORT size_t cordon_result_denial_count(const cordon_result *r)
{
	return json_array_size(r->denials);
}

CORDON_EXPORT int cordon_result_denial(const cordon_result *r, size_t i, struct cordon_denial *out)
{
	json_t *d = json_array_get(r->denials, i);
	if (!json_is_object(d))
		return -1;
	json_t *port = json_object_get(d, "port"), *count = json_object_get(d, "count");
	*out = (struct cordon_denial){
		.kind = json_string_value(json_object_get(d, "kind")),
		.target = json_string_value(json_object_get(d, "target")),
		.port = json_is_integer(port) ? (unsigned)json_integer_value(port) : 0,
		.rule = json_string_value(json_object_get(d, "rule")),
		.count = json_is_integer(count) ? (uint64_t)json_integer_value(count) : 1,
	};
	return out->kind && out->target ? 0 : -1;
}

CORDON_EXPORT const char *cordon_result_report(const cordon_result *r)
{
	return r->report;
}

CORDON_EXPORT void cordon_result_free(cordon_result *r)
{
	if (!r)
		return;
	cordon_error_free(r->error);
	free(r->report);
	json_decref(r->denials);
	free(r);
}

static struct cordon_error *err_dup(const struct cordon_error *e)
{
	struct cordon_error *d = NULL;
	if (e) {
		cerr_set(&d, e->code, "%s", e->message ? e->message : "cordon failed");
		if (e->hint)
			cerr_hint(&d, "%s", e->hint);
	}
	return d;
}

/* A result from the exit status, the error and the report (taken). */
static cordon_result *make_result(int status, struct cordon_error *e, char *report)
{
	cordon_result *r = calloc(1, sizeof(*r));
	if (!r) {
		cordon_error_free(e);
		free(report);
		return NULL;
	}
	r->status = status < 0 ? CORDON_EXIT_FAILURE : status;
	r->error = status < 0 ? e : (cordon_error_free(e), NULL);
	r->report = report;
	json_t *rep = report ? json_loads(report, 0, NULL) : NULL;
	if (rep) {
		r->signal = (int)json_integer_value(json_object_get(rep, "signal"));
		r->timed_out = json_is_true(json_object_get(rep, "timed_out"));
		json_t *d = json_object_get(rep, "denials");
		if (json_is_array(d))
			r->denials = json_incref(d);
	}
	json_decref(rep);
	return r;
}

/* ---- the request ---- */

static int absolute(const char *p, char **out, struct cordon_error **err)
{
	if (p[0] == '/' || strcmp(p, "-") == 0)
		*out = strdup(p);
	else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return cerr_sys(err, errno, "getcwd");
		if (asprintf(out, "%s/%s", cwd, p) < 0)
			*out = NULL;
	}
	return *out ? 0 : cerr_set(err, ENOMEM, "out of memory");
}

/* This process's umask (from /proc: umask() would change it for a moment, for every thread), nice
 * value and resource limits, which a command started here would inherit. */
static void process_attrs(struct proto_run *r)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	bool found = false;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &r->umask) == 1) {
			found = true;
			break;
		}
	if (f)
		fclose(f);
	if (!found) {
		mode_t m = umask(022);
		umask(m);
		r->umask = m;
	}
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	r->nice = errno ? 0 : nice;
	for (int i = 0; i < PROTO_NLIMITS; i++) {
		struct rlimit rl;
		if (limit_numbers[i] < 0 || getrlimit(limit_numbers[i], &rl) < 0)
			continue;
		r->has_limit[i] = true;
		r->soft[i] = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
		r->hard[i] = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_max;
	}
}

/* `elsewhere`: the command starts in another process (the daemon's, a child of ours), which must be
 * told this process's attributes; here it inherits them. */
static int build_request(const cordon_policy *p, const cordon_command *c, bool elsewhere, struct proto_run *r,
			 struct cordon_error **err)
{
	proto_run_init(r);
	if (policy_merge(&r->policy, p) < 0 || strv_extend(&r->argv, &c->argv) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	for (char **e = c->env_set ? c->env.v : environ; e && *e; e++)
		if (strv_push(&r->env, *e) < 0)
			return cerr_set(err, ENOMEM, "out of memory");
	char cwd[PATH_MAX];
	if (!c->cwd && !getcwd(cwd, sizeof(cwd)))
		return cerr_sys(err, errno, "getcwd");
	if (absolute(c->cwd ? c->cwd : cwd, &r->cwd, err) < 0 ||
	    (c->audit_path && absolute(c->audit_path, &r->audit, err) < 0) ||
	    (c->report && absolute(c->report, &r->report, err) < 0))
		return -1;
	for (size_t i = 0; i < c->policy_files.n; i++) {
		char *abs = NULL;
		if (absolute(c->policy_files.v[i], &abs, err) < 0 || strv_push_owned(&r->config_files, abs) < 0)
			return -1;
	}
	r->no_audit = !c->audit;
	r->staged = c->staged;
	if (c->session && !(r->session = strdup(c->session)))
		return cerr_set(err, ENOMEM, "out of memory");
	r->verbose = c->flags & CORDON_COMMAND_VERBOSE;
	/* The terminal: given a pty only when the caller owns its foreground (as `cordon run` decides). */
	int in = c->stdio[0];
	r->tty = in >= 0 && isatty(in) == 1 ? (tcgetpgrp(in) == getpgrp() ? PROTO_TTY_FOREGROUND : PROTO_TTY_BACKGROUND)
					    : PROTO_TTY_NONE;
	for (int i = 0; i < 3; i++)
		if (c->stdio[i] < 0 || fcntl(c->stdio[i], F_GETFD) < 0)
			r->stdio_closed |= 1u << i;
	if (elsewhere)
		process_attrs(r);
	return 0;
}

/* The stdio to hand over: the command's own, /dev/null where it is closed (flagged in the request). */
static int stdio_fds(const cordon_command *c, const struct proto_run *r, int out[3], struct cordon_error **err)
{
	for (int i = 0; i < 3; i++) {
		out[i] = (r->stdio_closed & (1u << i)) ? open("/dev/null", O_RDWR | O_CLOEXEC)
						       : fcntl(c->stdio[i], F_DUPFD_CLOEXEC, 3);
		if (out[i] < 0) {
			int e = errno;
			for (int k = 0; k < i; k++)
				close(out[k]);
			return cerr_sys(err, e, "the command's stdio");
		}
	}
	return 0;
}

/* ---- the daemon ---- */

int daemon_connect(const char *path, int *out, struct cordon_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return cerr_set(err, ENAMETOOLONG, "daemon socket `%s`: too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cerr_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			return 1;
		return cerr_sys(err, e, "connect to the daemon at `%s`", path);
	}
	/* Our stdio and our command go only to a daemon of our own user. */
	long uid = conn_peer_uid(fd);
	if (uid != (long)geteuid()) {
		close(fd);
		cerr_set(err, EACCES, "the daemon at `%s` runs as uid %ld, not as you (uid %u)", path, uid, geteuid());
		return cerr_hint(err, "unset CORDON_SOCKET or point it at your own `cordon serve`");
	}
	*out = fd;
	return 0;
}

int daemon_status(const char *socket, struct cordon_error **err)
{
	char path[PATH_MAX];
	if (socket)
		snprintf(path, sizeof(path), "%s", socket);
	else if (daemon_socket_path(path, sizeof(path)) < 0)
		return cerr_set(err, ENOENT, "no daemon socket: CORDON_SOCKET and XDG_RUNTIME_DIR are unset");
	int fd = -1;
	int rc = daemon_connect(path, &fd, err);
	if (rc == 1)
		return cerr_set(err, ENOENT, "no cordon daemon serves `%s`", path);
	if (rc < 0)
		return -1;
	uint16_t type;
	_cleanup_free_ char *payload = NULL;
	size_t len;
	int fds[CONN_MAX_FDS], nfds = 0;
	rc = conn_send(fd, PROTO_STATUS, "{}", 2, NULL, 0) < 0 ? cerr_sys(err, errno, "ask the daemon") : 0;
	if (rc == 0 && (rc = conn_recv(fd, &type, &payload, &len, fds, 0, &nfds, err)) == 1)
		rc = cerr_set(err, EPIPE, "the daemon closed without an answer");
	close(fd);
	if (rc < 0)
		return -1;
	if (type != PROTO_STATUS)
		return cerr_set(err, EPROTO, "the daemon answered with frame type %u", type);
	printf("%s\n", payload);
	return 0;
}

/* Connects as the command asks: 0 and *fd, 1 when it is to start here, -1 with *err set. */
static int connect_for(const cordon_command *c, int *fd, struct cordon_error **err)
{
	if (c->daemon == CORDON_DAEMON_NEVER || (c->flags & CORDON_COMMAND_EXPLAIN))
		return 1;
	char path[PATH_MAX];
	if (c->socket)
		snprintf(path, sizeof(path), "%s", c->socket);
	else if (daemon_socket_path(path, sizeof(path)) < 0) {
		if (c->daemon == CORDON_DAEMON_ALWAYS)
			return cerr_set(err, ENOENT, "no daemon socket: CORDON_SOCKET and XDG_RUNTIME_DIR are unset");
		return 1;
	}
	int rc = daemon_connect(path, fd, err);
	if (rc == 1 && c->daemon == CORDON_DAEMON_ALWAYS) {
		cerr_set(err, ENOENT, "no cordon daemon serves `%s`", path);
		return cerr_hint(err, "start one with `cordon serve` (or `systemctl --user start cordon.socket`)");
	}
	return rc;
}

/* ---- spawning ---- */

static void process_release(cordon_process *proc)
{
	if (proc->conn >= 0)
		close(proc->conn);
	for (int i = 0; i < 3; i++)
		if (proc->stdio[i] >= 0)
			close(proc->stdio[i]);
	proto_run_release(&proc->req);
	cordon_result_free(proc->result);
}

/* Here: a child of ours is the supervisor, talking to us over a socketpair as the daemon's would. */
static int spawn_here(cordon_process *proc, struct cordon_error **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cerr_sys(err, errno, "socketpair");
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return cerr_sys(err, e, "fork");
	}
	if (pid == 0) {
		/* Nothing outlives the caller: the supervisor dies with it, and the sandbox with that. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(CORDON_EXIT_FAILURE);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(sv[0]);
		child_serve(sv[1], &proc->req, proc->stdio, NULL, -1);
		_exit(0);
	}
	close(sv[1]);
	for (int i = 0; i < 3; i++) {
		close(proc->stdio[i]);
		proc->stdio[i] = -1;
	}
	proc->conn = sv[0];
	proc->pid = pid;
	return 0;
}

static int send_request(cordon_process *proc, struct cordon_error **err)
{
	size_t len = 0;
	_cleanup_free_ char *payload = proto_run_build(&proc->req, &len);
	if (!payload)
		return 1; /* not sayable in the protocol (bytes that are not UTF-8): start here */
	if (conn_send(proc->conn, PROTO_RUN, payload, len, proc->stdio, 3) < 0)
		return cerr_sys(err, errno, "send the request to the daemon");
	return 0;
}

/* `conn`: a connection to the daemon made already, or -1 to connect as the command asks. */
static int spawn(const cordon_policy *p, const cordon_command *c, int conn, cordon_process **out, struct cordon_error **err)
{
	if (!p || !c || !out)
		return cerr_set(err, EINVAL, "cordon_spawn: NULL argument");
	if (c->flags & CORDON_COMMAND_EXPLAIN)
		return cerr_set(err, EINVAL, "cordon_spawn: --explain runs nothing; use cordon_run_command()");
	cordon_process *proc = calloc(1, sizeof(*proc));
	if (!proc)
		return cerr_set(err, ENOMEM, "out of memory");
	proc->conn = -1;
	proc->stdio[0] = proc->stdio[1] = proc->stdio[2] = -1;
	int rc = build_request(p, c, true, &proc->req, err);
	if (rc == 0)
		rc = stdio_fds(c, &proc->req, proc->stdio, err);
	if (rc == 0 && conn >= 0)
		proc->conn = steal_fd(&conn);
	else if (rc == 0)
		rc = connect_for(c, &proc->conn, err);
	if (rc == 0) {
		rc = send_request(proc, err);
		if (rc == 1 && c->daemon == CORDON_DAEMON_ALWAYS)
			rc = cerr_set(err, EILSEQ, "the request cannot go to the daemon: a path, argument or variable "
						   "is not UTF-8 (the protocol is JSON)");
		if (rc == 1) {
			close(proc->conn);
			proc->conn = -1;
		}
		/* Sent: the daemon holds the stdio now; keeping copies would cost the caller 3 fds a run. */
		for (int i = 0; rc == 0 && i < 3; i++) {
			close(proc->stdio[i]);
			proc->stdio[i] = -1;
		}
	}
	if (rc == 1)
		rc = spawn_here(proc, err);
	if (conn >= 0)
		close(conn);
	if (rc < 0) {
		process_release(proc);
		free(proc);
		return -1;
	}
	*out = proc;
	return 0;
}

CORDON_EXPORT int cordon_spawn(const cordon_policy *p, const cordon_command *c, cordon_process **out,
			       struct cordon_error **err)
{
	return spawn(p, c, -1, out, err);
}

CORDON_EXPORT int cordon_process_fd(const cordon_process *proc)
{
	return proc->conn;
}

CORDON_EXPORT int cordon_kill(cordon_process *proc, int sig, struct cordon_error **err)
{
	if (proc->result)
		return 0;
	/* SIGKILL: a terminating signal twice is how `cordon run` ends everything at once. */
	int n = sig == SIGKILL ? 2 : 1;
	if (sig == SIGKILL)
		sig = SIGTERM;
	bool ok = false;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		ok |= forwarded[i] == sig;
	if (!ok)
		return cerr_set(err, EINVAL, "cordon_kill: signal %d is not one cordon passes on", sig);
	size_t len = 0;
	_cleanup_free_ char *payload = proto_signal_build(sig, &len);
	if (!payload)
		return cerr_set(err, ENOMEM, "out of memory");
	for (int i = 0; i < n; i++)
		if (conn_send(proc->conn, PROTO_SIGNAL, payload, len, NULL, 0) < 0)
			return cerr_sys(err, errno, "signal the sandbox");
	return 0;
}

/* Reads frames until the result. 0; -1 with *err set. */
static int read_result(cordon_process *proc, struct cordon_error **err)
{
	uint16_t type;
	_cleanup_free_ char *payload = NULL;
	size_t len;
	int fds[CONN_MAX_FDS], nfds = 0;
	int rc = conn_recv(proc->conn, &type, &payload, &len, fds, 0, &nfds, err);
	if (rc == 1) {
		cerr_set(err, EPIPE, "the %s ended without a result: the command was killed with it",
			 proc->pid ? "sandbox's supervisor" : "cordon daemon");
		return cerr_hint(err, "see the daemon's log (`journalctl --user -u cordon`) or run with --no-daemon");
	}
	if (rc < 0)
		return cerr_prefix(err, "read the result"), -1;
	if (type == PROTO_ERROR) {
		/* Refused before anything ran (another protocol version, a malformed request). */
		struct cordon_error *refused = NULL;
		if (proto_error_parse(payload, len, &refused, err) < 0)
			return -1;
		*err = refused;
		return cerr_prefix(err, "the cordon daemon refused the request"), -1;
	}
	if (type != PROTO_RESULT)
		return cerr_set(err, EPROTO, "expected a RESULT frame, got type %u", type);
	struct proto_result r = {0};
	if (proto_result_parse(payload, len, &r, err) < 0)
		return -1;
	struct cordon_error *e = NULL;
	if (r.status < 0) {
		cerr_set(&e, r.code, "%s", r.message);
		if (r.hint)
			cerr_hint(&e, "%s", r.hint);
	}
	proc->result = make_result(r.status, e, steal_ptr(&r.report));
	proto_result_release(&r);
	return proc->result ? 0 : cerr_set(err, ENOMEM, "out of memory");
}

CORDON_EXPORT int cordon_wait(cordon_process *proc, cordon_result **out, struct cordon_error **err)
{
	int rc = proc->result ? 0 : read_result(proc, err);
	if (proc->pid > 0) {
		waitpid(proc->pid, NULL, 0);
		proc->pid = 0;
	}
	if (rc < 0)
		return -1;
	if (out)
		*out = steal_ptr(&proc->result);
	return 0;
}

CORDON_EXPORT void cordon_process_free(cordon_process *proc)
{
	if (!proc)
		return;
	/* Not waited for: closing the connection makes its supervisor kill the sandbox. */
	if (proc->conn >= 0) {
		close(proc->conn);
		proc->conn = -1;
	}
	if (proc->pid > 0)
		waitpid(proc->pid, NULL, 0);
	process_release(proc);
	free(proc);
}

/* ---- running and waiting ---- */

/* Through a process (the daemon's, or a child of ours): waits, passing this thread's signals on. */
static int wait_forwarding(cordon_process *proc, cordon_result **out, struct cordon_error **err)
{
	sigset_t set, old;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	/* The sandbox may put the terminal in raw mode; a supervisor killed mid-run cannot put it back. */
	struct termios tio;
	bool tty = proc->req.tty == PROTO_TTY_FOREGROUND && tcgetattr(0, &tio) == 0;
	int rc = 0;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = proc->conn, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (sfd >= 0 && pfd[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				cordon_kill(proc, (int)si.ssi_signo, NULL);
		}
		if (pfd[0].revents) {
			rc = cordon_wait(proc, out, err);
			break;
		}
	}
	if (tty && (rc < 0 || !out || !*out))
		tcsetattr(0, TCSADRAIN, &tio);
	if (sfd >= 0)
		close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Through a process of its own (the daemon's, or a child of ours): spawn, then wait passing signals on. */
static int run_through(const cordon_policy *p, const cordon_command *c, int conn, cordon_result **out,
		       struct cordon_error **err)
{
	cordon_process *proc = NULL;
	cordon_result *res = NULL;
	if (spawn(p, c, conn, &proc, err) < 0)
		return CORDON_EXIT_FAILURE;
	int rc = wait_forwarding(proc, &res, err);
	cordon_process_free(proc);
	if (rc < 0)
		return CORDON_EXIT_FAILURE;
	int status = res->status;
	if (res->error && err)
		*err = err_dup(res->error);
	if (out)
		*out = res;
	else
		cordon_result_free(res);
	return status;
}

CORDON_EXPORT int cordon_run_command(const cordon_policy *p, const cordon_command *c, cordon_result **out,
				     struct cordon_error **err)
{
	if (!p || !c)
		return cerr_set(err, EINVAL, "cordon_run_command: NULL argument"), CORDON_EXIT_FAILURE;
	int fd = -1;
	int rc = connect_for(c, &fd, err);
	if (rc < 0)
		return CORDON_EXIT_FAILURE;
	if (rc == 0)
		return run_through(p, c, fd, out, err);
	/* Another directory or stdio than this process's: in a child of ours, which changes them for
	 * itself (a library does not change the caller's). */
	bool here = !c->cwd || (c->flags & CORDON_COMMAND_EXPLAIN);
	for (int i = 0; i < 3; i++)
		here &= c->stdio[i] == i || (c->stdio[i] < 0 && fcntl(i, F_GETFD) < 0);
	if (!here) {
		struct cordon_command cold = *c;
		cold.daemon = CORDON_DAEMON_NEVER;
		return run_through(p, &cold, -1, out, err);
	}
	/* Here, in this process: the cold start `cordon run --no-daemon` is. */
	struct proto_run r;
	if (build_request(p, c, false, &r, err) < 0) {
		proto_run_release(&r);
		return CORDON_EXIT_FAILURE;
	}
	char *report = NULL;
	char *none[] = {NULL};
	struct run_request req = {
		.policy = &r.policy, .argv = r.argv.v, .environ = r.env.n ? r.env.v : none, .config_files = &r.config_files,
		.audit_path = r.audit, .no_audit = r.no_audit, .report_path = r.report, .staged = r.staged,
		.session = r.session, .verbose = r.verbose, .explain_only = c->flags & CORDON_COMMAND_EXPLAIN,
		.stdio_closed = r.stdio_closed, .report_json = out ? &report : NULL,
	};
	struct cordon_error *e = NULL;
	int status = cordon_backend_linux.run(&req, &e);
	proto_run_release(&r);
	if (out)
		*out = make_result(status, err_dup(e), report);
	else
		free(report);
	if (status < 0) {
		if (err)
			*err = e;
		else
			cordon_error_free(e);
		return CORDON_EXIT_FAILURE;
	}
	cordon_error_free(e);
	return status;
}

CORDON_EXPORT int cordon_run(const cordon_policy *policy, char *const argv[], struct cordon_error **err)
{
	if (!policy || !argv || !argv[0])
		return cerr_set(err, EINVAL, "cordon_run: no command"), CORDON_EXIT_FAILURE;
	cordon_command *c = cordon_command_new((const char *const *)argv);
	if (!c)
		return cerr_set(err, ENOMEM, "out of memory"), CORDON_EXIT_FAILURE;
	int rc = cordon_run_command(policy, c, NULL, err);
	cordon_command_free(c);
	return rc;
}
