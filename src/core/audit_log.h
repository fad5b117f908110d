// SPDX-License-Identifier: Apache-2.0
/*
 * The audit sink of one run: appends records (core/audit.h) to the log, and keeps the run's denials,
 * counted once per (kind, target, port, rule), for `--report` and the lines on stderr. Portable POSIX;
 * the backend opens it before the sandbox exists and keeps the only descriptor, so nothing inside the
 * sandbox can write, truncate or close it.
 *
 * Thread-safe: the proxy's thread and the supervisor's loop both report into it.
 */
#ifndef CORDON_CORE_AUDIT_LOG_H
#define CORDON_CORE_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/audit.h"

struct cordon_error;

/* At most this many distinct denials of each kind are kept (and logged); the rest are counted. Per
 * kind, so that a flood of one (writes to junk paths) cannot hide another (a blocked system call). */
#define AUDIT_MAX_DENIALS_PER_KIND 1024
#define AUDIT_DENIAL_KINDS 6
#define AUDIT_MAX_DENIALS (AUDIT_MAX_DENIALS_PER_KIND * AUDIT_DENIAL_KINDS)

struct audit_denial_entry {
	enum audit_denial_kind kind;
	char *target;
	uint16_t port;
	char *rule;
	unsigned long count;
};

struct audit_sink;

/*
 * `path`: NULL for the default daily file under audit_default_dir(), "-" for stderr, else a file
 * (created 0600 if missing; appended to). `log` false: no log at all, denials are still kept. The log
 * is opened O_APPEND, never following a final symlink; a log that cannot be opened is an error
 * naming it (the caller refuses to run: every run is on record).
 */
int audit_sink_open(const char *path, bool log, struct audit_sink **out, struct cordon_error **err);
void audit_sink_close(struct audit_sink *s);

/* $XDG_STATE_HOME/cordon/audit, or ~/.local/state/cordon/audit: into out; -1 when neither is known. */
int audit_default_dir(char *out, size_t cap);
/* The run's staged session (docs/staged.md): the report names it as `staged_session`. -1 on ENOMEM. */
int audit_sink_set_staged(struct audit_sink *s, const char *session);
/* The file the sink appends to (NULL: stderr or none). */
const char *audit_sink_path(const struct audit_sink *s);
/* False when the log file was moved aside or removed since it was opened (a sink kept open ahead, in
 * the warm pool, would write into a file nobody reads). */
bool audit_sink_current(const struct audit_sink *s);
const struct audit_ctx *audit_sink_ctx(const struct audit_sink *s);
bool audit_sink_logging(const struct audit_sink *s);
/* The log's own descriptor (not stderr), or -1: a child that will run untrusted code closes it. */
int audit_sink_fd(const struct audit_sink *s);
int64_t audit_now_ms(void);

/* Appends one record (from a builder of core/audit.h) and frees it; NULL counts as a lost record. */
void audit_sink_write(struct audit_sink *s, char *line);
/* Records a denial: the first of its kind is logged at once, the next ones counted. */
void audit_sink_denial(struct audit_sink *s, enum audit_denial_kind kind, const char *target, uint16_t port,
		       const char *rule, unsigned long count);
/* The denials so far, in the order first seen (valid until the next call into the sink). */
size_t audit_sink_denials(struct audit_sink *s, const struct audit_denial_entry **v, unsigned long *dropped);
/* Records that could not be written (disk full, ...), to be said at the end. */
unsigned long audit_sink_lost(const struct audit_sink *s);

/* One line per denial: "cordon: denied write /home/u/.bashrc: outside writable roots (3 times)". */
void audit_sink_print_denials(struct audit_sink *s, FILE *f);

/* The `--report` object: {"schema", "session", "exit_status", "signal", "timed_out", "wall_ms",
 * "denials": [{"kind", "target", "port"?, "rule", "count"}], "denials_dropped", "log", "error"?};
 * `error`: why cordon itself failed (exit 125), or NULL. */
char *audit_sink_report(struct audit_sink *s, int exit_status, int signal, bool timed_out, int64_t wall_ms,
			const char *error);
/* Writes text to `path` whole or not at all (a temporary file beside it, then rename). */
int audit_write_file_atomic(const char *path, const char *text, struct cordon_error **err);

#endif
