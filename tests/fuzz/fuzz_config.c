// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: configuration files. Any byte string goes to config_parse() with a fresh policy;
 * besides the sanitizers, it checks the error convention (an error exactly when the call fails, and the
 * message names the file) and layers a parsed policy with policy_merge().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/error.h"
#include "core/config.h"
#include "core/policy.h"

#define ORIGIN "fuzz.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, not NUL-terminated: config_parse must read only `size` bytes, and ASan
	 * catches a read past the end. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);

	struct cordon_policy p;
	policy_init(&p);
	struct cordon_error *err = NULL;
	int rc = config_parse(text, size, ORIGIN, &p, &err);
	if ((rc < 0) != (err != NULL))
		abort(); /* the error convention is broken */
	if (rc < 0 && rc != -1)
		abort();
	if (err && (!err->message || strncmp(err->message, ORIGIN, strlen(ORIGIN)) != 0))
		abort(); /* every message starts with the file's name */
	if (rc == 0) {
		/* Whatever a config sets, it layers over the defaults without trouble. */
		struct cordon_policy base;
		policy_init(&base);
		if (policy_merge(&base, &p) < 0)
			abort();
		if (base.set != p.set || base.mode != p.mode || base.writable.n != p.writable.n)
			abort();
		policy_release(&base);
	}
	cordon_error_free(err);
	policy_release(&p);
	free(text);
	return 0;
}
