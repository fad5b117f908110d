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
};

struct cordon_backend {
	const char *name;
	/* Runs the request; returns the exit status `cordon run` reports, or -1 with *err set (exit 125). */
	int (*run)(const struct run_request *req, struct cordon_error **err);
	/* Prints what this machine enforces; returns 0 when the default policy can be enforced. */
	int (*doctor)(bool json);
	/* The one-time privileged setup; prints what it does. 0, or -1 with *err set. */
	int (*setup)(bool dry_run, struct cordon_error **err);
};

extern const struct cordon_backend cordon_backend_linux;

#endif
