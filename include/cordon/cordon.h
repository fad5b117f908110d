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
 * or CORDON_EXIT_FAILURE with `*err` set when the sandbox could not be set up.
 */
CORDON_EXPORT int cordon_run(const cordon_policy *policy, char *const argv[], struct cordon_error **err);

CORDON_EXPORT const char *cordon_version(void);

#ifdef __cplusplus
}
#endif
#endif
