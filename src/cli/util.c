// SPDX-License-Identifier: Apache-2.0
/* What every verb's front end shares: the one-line error and usage messages. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

int cli_fail(const struct cordon_error *err)
{
	const char *msg = err && err->message ? err->message : "failed";
	if (err && err->hint)
		fprintf(stderr, "cordon: %s; hint: %s\n", msg, err->hint);
	else
		fprintf(stderr, "cordon: %s\n", msg);
	return CORDON_EXIT_FAILURE;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cordon %s: %s; hint: see `cordon %s --help`\n", verb, buf, verb);
	return CORDON_EXIT_FAILURE;
}

unsigned cli_stdio_closed;
