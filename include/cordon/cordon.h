// SPDX-License-Identifier: Apache-2.0
/*
 * libcordon: run a command so that the kernel enforces a policy over it and every process it starts.
 *
 * Conventions
 * - Functions that can fail return a negative int (or NULL) and, when `err` is not NULL, store a newly
 *   allocated error in `*err` (which must be NULL on entry). The caller owns it and frees it with
 *   cordon_error_free().
 * - Strings passed in are copied; the caller keeps ownership of its arguments.
 * - The policy handle is opaque. Build it with cordon_policy_new() and the setters, run with
 *   cordon_run(), free with cordon_policy_free().
 */
#ifndef CORDON_CORDON_H
#define CORDON_CORDON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CORDON_BUILDING_LIBRARY)
#define CORDON_EXPORT __attribute__((visibility("default")))
#else
#define CORDON_EXPORT
#endif

/*
 * Exit statuses of the `cordon run` command line. They are API: scripts rely on them.
 * The command's own status is passed through unchanged (0..123 and anything it chose).
 */
enum cordon_exit {
	CORDON_EXIT_TIMEOUT = 124,    /* the command ran past --timeout and was killed */
	CORDON_EXIT_FAILURE = 125,    /* cordon itself failed, or the policy cannot be enforced here */
	CORDON_EXIT_CANNOT_EXEC = 126,/* the command exists but cannot be executed */
	CORDON_EXIT_NOT_FOUND = 127,  /* the command was not found */
	CORDON_EXIT_SIGNAL_BASE = 128 /* 128 + N: the command died of signal N */
};

/*
 * An error: `code` is an errno value (or 0), `message` names what failed and why ("open `/x`: ..."),
 * `hint` (may be NULL) says what the user can do about it.
 */
struct cordon_error {
	int code;
	char *message;
	char *hint;
};

CORDON_EXPORT void cordon_error_free(struct cordon_error *err);

enum cordon_mode {
	CORDON_MODE_READ_ONLY,       /* nothing writable but the private temp dir */
	CORDON_MODE_WORKSPACE_WRITE, /* the workspace and the extra writable roots */
	CORDON_MODE_FULL_ACCESS      /* no file or network restriction; process containment stays */
};

enum cordon_network {
	CORDON_NETWORK_OFF,  /* a network namespace with only its own loopback */
	CORDON_NETWORK_ON,   /* the host's network */
	CORDON_NETWORK_PROXY /* its own namespace; out only through cordon's filtering proxy, to the
			      * hosts and ports cordon_policy_allow_host() lists */
};

typedef struct cordon_policy cordon_policy;

/* A new policy with cordon's defaults: workspace-write, network off, default protected names and
 * default deny-read list on, secret-looking environment variables dropped. NULL on ENOMEM. */
CORDON_EXPORT cordon_policy *cordon_policy_new(void);
CORDON_EXPORT void cordon_policy_free(cordon_policy *policy);

CORDON_EXPORT int cordon_policy_set_mode(cordon_policy *p, enum cordon_mode mode);
CORDON_EXPORT int cordon_policy_set_network(cordon_policy *p, enum cordon_network net);
/* Network rules for CORDON_NETWORK_PROXY, as `--allow` / `--deny` take them (docs/network-rules.md):
 * HOST[:PORT], HOST a name, `*.suffix`, an IP literal or a CIDR; PORT a number or `*` (default 80
 * and 443). A deny rule wins over any allow rule. Rules with any other network mode are an error at
 * cordon_run(). */
CORDON_EXPORT int cordon_policy_allow_host(cordon_policy *p, const char *rule, struct cordon_error **err);
CORDON_EXPORT int cordon_policy_deny_host(cordon_policy *p, const char *rule, struct cordon_error **err);
/* The workspace directory (writable in workspace-write mode). Default: the current directory. */
CORDON_EXPORT int cordon_policy_set_workspace(cordon_policy *p, const char *dir, struct cordon_error **err);
CORDON_EXPORT int cordon_policy_add_writable(cordon_policy *p, const char *path, struct cordon_error **err);
/* A bare NAME (no slash) is protected at the top of every writable root; a PATH is protected as is. */
CORDON_EXPORT int cordon_policy_add_protect(cordon_policy *p, const char *name_or_path, struct cordon_error **err);
CORDON_EXPORT int cordon_policy_set_default_protect(cordon_policy *p, bool on);
CORDON_EXPORT int cordon_policy_add_deny_read(cordon_policy *p, const char *path, struct cordon_error **err);
CORDON_EXPORT int cordon_policy_set_default_deny_read(cordon_policy *p, bool on);
/* Environment: K=V set, NAME kept even if it looks secret, or start from an empty environment. */
CORDON_EXPORT int cordon_policy_env_set(cordon_policy *p, const char *assignment, struct cordon_error **err);
CORDON_EXPORT int cordon_policy_env_keep(cordon_policy *p, const char *name, struct cordon_error **err);
CORDON_EXPORT int cordon_policy_env_clear(cordon_policy *p, bool on);

enum cordon_limit {
	CORDON_LIMIT_TIMEOUT_MS,  /* wall-clock time; the whole sandbox is killed after it */
	CORDON_LIMIT_MEMORY,      /* bytes of memory for the whole sandbox (cgroup v2) */
	CORDON_LIMIT_MAX_PROCS,   /* processes in the sandbox at once */
	CORDON_LIMIT_CPU_SECONDS, /* CPU seconds, per process (RLIMIT_CPU) */
	CORDON_LIMIT_FILE_SIZE    /* largest file a process may write, bytes (RLIMIT_FSIZE) */
};
CORDON_EXPORT int cordon_policy_set_limit(cordon_policy *p, enum cordon_limit which, uint64_t value);
/* Allow the run to go ahead, with a printed warning, when a guarantee cannot be enforced on this
 * kernel (for example no Landlock). Off by default: cordon refuses instead. */
CORDON_EXPORT int cordon_policy_allow_degraded(cordon_policy *p, bool on);

/*
 * Run argv[0] with argv under `policy`, with stdin/stdout/stderr of the caller, and wait for it.
 * Returns the exit status as `cordon run` reports it (the command's status, 128+N, 124, 126, 127),
 * or CORDON_EXIT_FAILURE with `*err` set when the sandbox could not be set up. Same as
 * cordon_run_command() with a command of argv and every default.
 */
CORDON_EXPORT int cordon_run(const cordon_policy *policy, char *const argv[], struct cordon_error **err);

/* ---- Commands: what to run under a policy, and how ----
 * Defaults: the caller's current directory, environment and stdio; the default audit log; through
 * the daemon (`cordon serve`) when one serves this user, else started here. */
typedef struct cordon_command cordon_command;

/* argv[0] is looked up in the sandbox's PATH. NULL when argv is empty, or on ENOMEM. */
CORDON_EXPORT cordon_command *cordon_command_new(const char *const argv[]);
CORDON_EXPORT void cordon_command_free(cordon_command *cmd);
CORDON_EXPORT int cordon_command_set_cwd(cordon_command *cmd, const char *dir, struct cordon_error **err);
/* The environment the policy's env rules start from (NULL-terminated "K=V"); default: `environ`. */
CORDON_EXPORT int cordon_command_set_env(cordon_command *cmd, const char *const envp[], struct cordon_error **err);
/* The command's stdin, stdout and stderr (dup'd at spawn; the caller keeps its own). -1: closed. */
CORDON_EXPORT int cordon_command_set_stdio(cordon_command *cmd, int in, int out, int err_fd);
/* The audit log (docs/audit.md): off, or on into `path` (NULL: the default daily file; "-": the
 * command's stderr). */
CORDON_EXPORT int cordon_command_set_audit(cordon_command *cmd, bool on, const char *path, struct cordon_error **err);
/* Also write the report (JSON, docs/audit.md) to `path`; the result carries it either way. */
CORDON_EXPORT int cordon_command_set_report(cordon_command *cmd, const char *path, struct cordon_error **err);
/* Staged mode (docs/staged.md): writes land in session `session` (NULL: a new one). */
CORDON_EXPORT int cordon_command_set_staged(cordon_command *cmd, const char *session, struct cordon_error **err);
/* A configuration file the policy was read from: the run is refused when a writable root holds it. */
CORDON_EXPORT int cordon_command_add_policy_file(cordon_command *cmd, const char *path, struct cordon_error **err);

enum cordon_command_flag {
	CORDON_COMMAND_VERBOSE = 1, /* the plan and the enforcing layers on stderr */
	CORDON_COMMAND_EXPLAIN = 2  /* print the plan on stdout and run nothing (exit status 0) */
};
CORDON_EXPORT int cordon_command_set_flags(cordon_command *cmd, unsigned flags);

enum cordon_daemon_use {
	CORDON_DAEMON_AUTO,   /* through the daemon when one answers at the socket, else here; a daemon
			       * that answers but may not be used (another user's) is an error, not a
			       * reason to start here */
	CORDON_DAEMON_NEVER,  /* always here (a cold start) */
	CORDON_DAEMON_ALWAYS  /* through the daemon, or fail */
};
/* `socket`: NULL for $CORDON_SOCKET, else $XDG_RUNTIME_DIR/cordon/cordon.sock. */
CORDON_EXPORT int cordon_command_set_daemon(cordon_command *cmd, enum cordon_daemon_use use, const char *socket,
					    struct cordon_error **err);

/* ---- Results ---- */
typedef struct cordon_result cordon_result;

/* As `cordon run` exits: the command's status, 128+N, 124 (timeout), 125 (see the error), 126, 127. */
CORDON_EXPORT int cordon_result_exit_status(const cordon_result *r);
/* The signal that ended the command, or 0. */
CORDON_EXPORT int cordon_result_signal(const cordon_result *r);
CORDON_EXPORT bool cordon_result_timed_out(const cordon_result *r);
/* Exit status 125: what failed (NULL otherwise). Owned by the result. */
CORDON_EXPORT const struct cordon_error *cordon_result_error(const cordon_result *r);

/* What the policy refused, each target once with its count: what a harness shows its user to ask for
 * approval. `kind`: "write" (a protected name is a write with rule "protected path P"), "read",
 * "connect", "dns", "unix-connect", "syscall" (docs/audit.md). The
 * strings are owned by the result. */
struct cordon_denial {
	const char *kind;
	const char *target;
	unsigned port; /* network denials; else 0 */
	const char *rule; /* why (may be NULL) */
	uint64_t count;
};
CORDON_EXPORT size_t cordon_result_denial_count(const cordon_result *r);
CORDON_EXPORT int cordon_result_denial(const cordon_result *r, size_t i, struct cordon_denial *out);
/* The whole report, as `cordon run --report` writes it (JSON), or NULL. */
CORDON_EXPORT const char *cordon_result_report(const cordon_result *r);
CORDON_EXPORT void cordon_result_free(cordon_result *r);

/* ---- Running ----
 * cordon_run_command() runs and waits. While it waits, the calling thread has SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH blocked and passes them on as `cordon run` does
 * (the first terminating one to the command, a second one ends the sandbox). `out` may be NULL.
 * Returns the exit status (125 with *err set when the sandbox could not be set up). */
CORDON_EXPORT int cordon_run_command(const cordon_policy *policy, const cordon_command *cmd, cordon_result **out,
				     struct cordon_error **err);

/* cordon_spawn() starts the command and returns at once; the caller waits with cordon_wait() (or
 * polls cordon_process_fd(), readable once the result is there) and may cordon_kill() meanwhile.
 * Without a daemon, the sandbox's supervisor is a child process of the caller (forked; it dies when
 * the thread that called cordon_spawn() exits, and the sandbox with it). A process freed before it was waited for is killed. */
typedef struct cordon_process cordon_process;
CORDON_EXPORT int cordon_spawn(const cordon_policy *policy, const cordon_command *cmd, cordon_process **out,
			       struct cordon_error **err);
CORDON_EXPORT int cordon_process_fd(const cordon_process *proc);
/* As if `cordon run` received `sig` (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH).
 * SIGKILL ends the whole sandbox at once (as a second Ctrl-C does: the result then says 128+SIGTERM).
 * After the process ended, this fails (EPIPE) and changes nothing. */
CORDON_EXPORT int cordon_kill(cordon_process *proc, int sig, struct cordon_error **err);
/* Waits for the end; *out gets the result (free it). 0, or -1 with *err set. */
CORDON_EXPORT int cordon_wait(cordon_process *proc, cordon_result **out, struct cordon_error **err);
CORDON_EXPORT void cordon_process_free(cordon_process *proc);

CORDON_EXPORT const char *cordon_version(void);

#ifdef __cplusplus
}
#endif
#endif
