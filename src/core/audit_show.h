// SPDX-License-Identifier: Apache-2.0
/*
 * Audit records as text for people: the one-line summary `cordon log` prints for each record, and the
 * quoting it uses. Portable.
 *
 * Everything that came from the log (argv, paths, hosts, rules, ids) is written so that it cannot act
 * on a terminal: control characters, C1 controls, bidirectional overrides and line separators come
 * out as backslash escapes, and nothing else is written that is not printable.
 */
#ifndef CORDON_CORE_AUDIT_SHOW_H
#define CORDON_CORE_AUDIT_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit_read.h"

/* The most one text may hold; past it `oom` is set and nothing more is added. */
#define AUDIT_TEXT_MAX (8 * (size_t)AUDIT_LINE_MAX)

/* A growable, NUL-terminated text. Start it zeroed; `oom` sticks once an allocation failed or the
 * cap was reached. */
struct audit_text {
	char *s;
	size_t len;
	size_t cap;
	bool oom;
};

void audit_text_clear(struct audit_text *t); /* empties it, keeping the memory */
void audit_text_free(struct audit_text *t);
void audit_text_put(struct audit_text *t, const char *s, size_t n);
void audit_text_printf(struct audit_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s (n bytes) with backslashes doubled and every character that is not safe on a terminal escaped
 * (\n, \t, \xHH, \uXXXX); invalid UTF-8 bytes as \xHH. */
void audit_put_escaped(struct audit_text *t, const char *s, size_t n);
/* s as one shell word: as is when it is made of safe characters only, else in '...' quotes, or in
 * bash's $'...' when it holds a character audit_put_escaped() would escape. */
void audit_put_word(struct audit_text *t, const char *s);
/* 512 B, 1.5 KiB, 80.0 MiB (binary units, one decimal, rounded down). */
void audit_put_bytes(struct audit_text *t, uint64_t n);
/* 850ms, 3.2s, 2m05s, 1h02m (rounded down); "?" when negative. */
void audit_put_duration(struct audit_text *t, int64_t ms);

/*
 * The summary of a record, appended to t:
 *   start   npm install left-pad  in /home/u/proj
 *   end     exit 0, 3.2s wall, 1.1s CPU, 80.0 MiB peak
 *   file    created src/x.c    renamed a.c -> b.c
 *   net     allowed registry.npmjs.org:443, 1.2 KiB out, 34.0 KiB in, 1.1s
 *   denial  write /etc/passwd: outside writable roots (3 times)
 * A field that is missing or of another type shows as "?".
 */
void audit_summary(const struct audit_rec *r, struct audit_text *t);

#endif
