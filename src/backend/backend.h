// SPDX-License-Identifier: Apache-2.0
/* One backend per OS, each exporting one const struct of function pointers. The portable core calls
 * only through it. */
#ifndef CORDON_BACKEND_H
#define CORDON_BACKEND_H

#include <stdbool.h>

#include "common/strv.h"
#include "core/policy.h"

struct run_request {
	const struct cordon_policy *policy;
	char *const *argv;
	char *const *environ; /* the caller's environment, filtered by the backend per the policy */
	bool verbose;         /* print the plan and the enforcing layers on stderr */
	bool explain_only;    /* resolve and compile, print the plan, run nothing */
	const struct strv *config_files; /* configuration files read; refused when inside a writable root */
	/* Auditing (docs/audit.md): the log (NULL: the default daily file; "-": stderr), or no log and no
	 * observer at all with `no_audit`; `report`: the JSON report's file (NULL: denials on stderr). */
	const char *audit_path;
	bool no_audit;
	const char *report_path;
	/* Staged mode (docs/staged.md): writes to the writable roots land in session `session` (NULL: a
	 * new one, named on stderr). */
	bool staged;
	const char *session;
	/* When the caller is not the client itself (the daemon runs it for one): whether the client's
	 * stdin was a terminal whose foreground it owned. RUN_TTY_HERE (0): decide here (tcgetpgrp). */
	enum run_tty { RUN_TTY_HERE, RUN_TTY_FOREGROUND, RUN_TTY_BACKGROUND } tty;
	/* A controller polled during the run when `control` is set (the daemon's connection to its
	 * client). `control` reads what arrived: a signal number to act on as if cordon had received it,
	 * 0 for nothing, -1 when the client is gone (the sandbox is then killed). */
	int control_fd;
	int (*control)(void *ctx);
	void *control_ctx;
	/* Bits 0-2: the caller's stdin, stdout, stderr were closed when it started (an fd cordon opened
	 * since may sit there now: the command must not get it). */
	unsigned stdio_closed;
	/* The client's umask, nice value and resource limits, when the caller is not the client (the
	 * daemon); NULL: this process's own. Never more than what the policy and this process allow. */
	const struct run_attrs *attrs;
	/* Prepared ahead of its command (the warm pool): also note what prepared_for checks later. */
	bool ahead;
	/* If not NULL: receives the run's report (JSON text, as --report writes it; free it). */
	char **report_json;
	/* If not NULL: called once with the run's status (and error, and report when report_json is
	 * set) as soon as they are final: every process of the command is gone and the audit log has
	 * the `end` record, but the sandbox's own namespaces may still be going away. The daemon
	 * answers its client here rather than after that teardown. Not called when start fails before
	 * the command ran, when the sandbox had to be killed whole (timeout, a protected path
	 * changed, the client gone), nor for staged runs: the caller then uses start's return. */
	void (*on_result)(void *ctx, int status, const struct cordon_error *err, const char *report);
	void *on_result_ctx;
};

/* The caller's process attributes the command inherits in a cold run: umask, nice value, resource
 * limits (indexed by the OS's RLIMIT_* numbers; UINT64_MAX is unlimited). */
#define RUN_NLIMITS 16
struct run_attrs {
	unsigned umask;
	int nice;
	bool has_limit[RUN_NLIMITS];
	uint64_t soft[RUN_NLIMITS];
	uint64_t hard[RUN_NLIMITS];
};

/* A sandbox built ahead of its command (the warm pool, docs/daemon.md). */
struct backend_prep;

/* `cordon sessions`, `diff`, `commit`, `discard` (docs/staged.md). */
enum stage_verb { STAGE_LIST, STAGE_GC, STAGE_DIFF, STAGE_COMMIT, STAGE_DISCARD };

struct stage_request {
	enum stage_verb verb;
	const char *session;
	char *const *paths; /* diff, commit: only these (real paths, or relative to the current directory) */
	size_t npaths;
	bool json;
	bool stat;  /* diff --stat */
	bool force; /* commit --force: over real files changed since the session started */
	unsigned older_than_days; /* sessions --gc */
};

struct cordon_backend {
	const char *name;
	/* Runs the request; returns the exit status `cordon run` reports, or -1 with *err set (exit 125). */
	int (*run)(const struct run_request *req, struct cordon_error **err);
	/* Prints what this machine enforces; returns 0 when the default policy can be enforced. */
	int (*doctor)(bool json);
	/* The one-time privileged setup; prints what it does. 0, or -1 with *err set. */
	int (*setup)(bool dry_run, struct cordon_error **err);
	/* A session verb; returns the exit status (0, or 1 when a commit left changes out), or -1. */
	int (*stage)(const struct stage_request *req, struct cordon_error **err);
	/* The run, in two halves. `prepare` builds the sandbox for `req` up to its command: policy
	 * resolved, namespaces, view, lockdown. 1: nothing to run (--explain printed the plan); 0 and *out;
	 * or -1 with *err set. `start` runs `req`'s command in it (argv, environment, stdio, the report:
	 * `req` may be another request than the one prepared, after `prepared_for` said yes) and frees
	 * it; it returns what `run` does. */
	int (*prepare)(const struct run_request *req, struct backend_prep **out, struct cordon_error **err);
	/* True when `prep` is still exactly the sandbox `req` would get now, from the current directory
	 * and environment (the paths re-resolved: a `.git` made since, a new socket, the log's day). */
	bool (*prepared_for)(struct backend_prep *prep, const struct run_request *req);
	int (*start)(struct backend_prep *prep, const struct run_request *req, struct cordon_error **err);
	void (*discard)(struct backend_prep *prep);
};

extern const struct cordon_backend cordon_backend_linux;

#endif
