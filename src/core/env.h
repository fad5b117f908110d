// SPDX-License-Identifier: Apache-2.0
/* The command's environment: inherited, minus variables whose names look like secrets. Portable. */
#ifndef CORDON_CORE_ENV_H
#define CORDON_CORE_ENV_H

#include <stdbool.h>

#include "common/strv.h"
#include "core/policy.h"

/* True when a variable of this name is dropped by default (documented in docs/policy.md). */
bool env_name_is_secret(const char *name, size_t len);

/*
 * Builds the command's environment from `inherited` (NULL-terminated "K=V" strings) and the policy:
 * start empty if env_clear, else from inherited minus secret-looking names not listed in env_keep;
 * then the env_set assignments; then `forced` assignments that the sandbox needs (TMPDIR...).
 * A later assignment of a name replaces an earlier one.
 */
int env_build(const struct cordon_policy *p, char *const *inherited, const char *const *forced, struct strv *out);

#endif
