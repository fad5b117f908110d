// SPDX-License-Identifier: Apache-2.0
/*
 * The one error convention: a function that can fail returns a negative int (or NULL) and fills
 * `struct cordon_error **err` with an errno-style code and a message made at the failure site.
 * Callers on the way up may add context with cerr_prefix(). `err` may be NULL (errors are dropped).
 */
#ifndef CORDON_COMMON_ERROR_H
#define CORDON_COMMON_ERROR_H

#include <cordon/cordon.h>

/* Sets *err (if err and !*err) and returns -1. `code` is an errno value or 0. */
int cerr_set(struct cordon_error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like cerr_set() but appends ": strerror(code)" to the message. */
int cerr_sys(struct cordon_error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends "context: " to an existing error's message; returns -1. */
int cerr_prefix(struct cordon_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the hint of an existing error (replacing any); returns -1. */
int cerr_hint(struct cordon_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void cleanup_errorp(struct cordon_error **e)
{
	cordon_error_free(*e);
}
#define _cleanup_error_ __attribute__((cleanup(cleanup_errorp)))

#endif
