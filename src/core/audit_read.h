// SPDX-License-Identifier: Apache-2.0
/*
 * Reading audit records back (docs/audit.md, schema 1): one line at a time, checked and filtered.
 * Portable: the caller supplies the lines and the current time; files, directories and terminals are
 * the command line's business (src/cli/cmd_log.c).
 *
 * A line is a record when it is one JSON object with `schema` 1, a known `type`, a `ts` in the
 * documented form and a non-empty `session`. Every other field is optional to the reader: a field
 * that is missing or of another type is shown as "?", never a reason to refuse the record.
 */
#ifndef CORDON_CORE_AUDIT_READ_H
#define CORDON_CORE_AUDIT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* The longest line read; a longer one is skipped with a warning. A `start` record holds the whole
 * argv, up to ARG_MAX (2 MiB by default), which JSON's \u escapes can make six times longer. */
#define AUDIT_LINE_MAX (32u << 20)

/* No lower bound on the time of a record. */
#define AUDIT_SINCE_ANY INT64_MIN

/* The shortest --session prefix accepted. */
#define AUDIT_SESSION_PREFIX_MIN 4

enum audit_rec_type { AUDIT_REC_START, AUDIT_REC_FILE, AUDIT_REC_NET, AUDIT_REC_DENIAL, AUDIT_REC_END };

/* One checked record. `obj` is owned (release with audit_rec_release()); `session` and `type_name`
 * point into it. */
struct audit_rec {
	json_t *obj;
	enum audit_rec_type type;
	const char *type_name;
	int64_t ts_ms;
	const char *session;
};

/*
 * Parses one line (len bytes, not NUL-terminated; a trailing "\n" or "\r\n" is allowed) into out.
 * Returns 0, or -1 with a one-line reason in why ("not JSON: ...", "schema 2, not 1") and out
 * zeroed. why may hold bytes of the input: escape it before printing it to a terminal.
 */
int audit_rec_parse(const char *line, size_t len, struct audit_rec *out, char *why, size_t why_cap);
void audit_rec_release(struct audit_rec *r);

/* "2026-11-22T20:37:05.123Z" (exactly that form) to milliseconds since the epoch; -1 when malformed. */
int audit_parse_ts(const char *s, int64_t *ms);

/*
 * A --since value to a time in milliseconds since the epoch: `30s`, `10m`, `2h`, `3d` before now_ms,
 * or `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, UTC, with an optional trailing `Z`,
 * or a record's own `ts`.
 * A relative time reaching before year 0 gives AUDIT_SINCE_ANY. -1 when malformed.
 */
int audit_parse_since(const char *s, int64_t now_ms, int64_t *since_ms);

/* The UTC day of ms as "YYYY-MM-DD" (out: at least 11 bytes), the name of its log file without
 * ".jsonl". Years outside 0..9999 are clamped to them. */
void audit_day_name(int64_t ms, char *out, size_t cap);

/* True when name is a day file's: "YYYY-MM-DD.jsonl", digits where digits are. */
bool audit_is_day_file(const char *name);

struct audit_filter {
	int64_t since_ms;    /* records before this are left out (AUDIT_SINCE_ANY: none) */
	const char *session; /* a session id or a prefix of one; NULL: every session */
	bool denied_only;    /* only `denial` records and `net` records with verdict `denied` */
};

enum audit_match {
	AUDIT_SKIP,    /* not wanted */
	AUDIT_MATCH,   /* wanted */
	AUDIT_CONTEXT, /* a `start` record, wanted only to say which command a denial came from */
};

enum audit_match audit_filter_check(const struct audit_filter *f, const struct audit_rec *r);

/* A net record with verdict "denied", or a denial record. */
bool audit_rec_is_denied(const struct audit_rec *r);

/*
 * Which session a --session prefix names, given the distinct sessions (n of them) whose ids start
 * with it: one that equals the prefix, else the only one. NULL when none; NULL with *ambiguous set to
 * true when several do.
 */
const char *audit_pick_session(const char *prefix, char *const *sessions, size_t n, bool *ambiguous);

/*
 * Reads one line from f into *buf (grown as needed, *cap its size), without its "\n", and sets *len.
 * A line longer than max is consumed but not kept: *len is then SIZE_MAX. Returns 1 for a line, 0 at
 * the end of the input, -1 on a read error (errno set) or ENOMEM.
 */
int audit_read_line(FILE *f, char **buf, size_t *cap, size_t *len, size_t max);

#endif
