// SPDX-License-Identifier: Apache-2.0
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cordon_error_free(struct cordon_error *err)
{
	if (!err)
		return;
	free(err->message);
	free(err->hint);
	free(err);
}

__attribute__((format(printf, 4, 0))) static int verr(struct cordon_error **err, int code, bool with_strerror,
						   const char *fmt, va_list ap)
{
	if (!err || *err)
		return -1;
	struct cordon_error *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && with_strerror && code) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", msg, strerror(code)) >= 0) {
			free(msg);
			msg = full;
		}
	}
	e->code = code;
	e->message = msg ? msg : strdup("out of memory");
	*err = e;
	return -1;
}

int cerr_set(struct cordon_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(err, code, false, fmt, ap);
	va_end(ap);
	return -1;
}

int cerr_sys(struct cordon_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(err, code, true, fmt, ap);
	va_end(ap);
	return -1;
}

int cerr_prefix(struct cordon_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	char *ctx = NULL, *full = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (asprintf(&full, "%s: %s", ctx, (*err)->message ? (*err)->message : "") >= 0) {
		free((*err)->message);
		(*err)->message = full;
	}
	free(ctx);
	return -1;
}

int cerr_hint(struct cordon_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	char *h = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&h, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	free((*err)->hint);
	(*err)->hint = h;
	return -1;
}
