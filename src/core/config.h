// SPDX-License-Identifier: Apache-2.0
/* Policy configuration files (JSON). Schema: docs/config.md. Portable. */
#ifndef CORDON_CORE_CONFIG_H
#define CORDON_CORE_CONFIG_H

#include <stddef.h>

#include "core/policy.h"

/* Largest configuration file accepted, in bytes. */
#define CONFIG_MAX_BYTES (1u << 20)

/*
 * Parses `len` bytes of JSON text into `out` (initialised by the caller with policy_init()), marking
 * every setting it contains in out->set. `origin` names the input in messages ("FILE:LINE:COL: ...",
 * "FILE: key `limits.memory`: ..."). Unknown keys are errors: a misspelt key must not weaken a policy.
 */
int config_parse(const char *text, size_t len, const char *origin, struct cordon_policy *out,
		 struct cordon_error **err);

/* The policy as a configuration file that config_parse() reads back into the same policy: only the
 * settings it sets, every list (the daemon protocol carries policies this way). NULL on ENOMEM. */
struct json_t;
struct json_t *config_dump(const struct cordon_policy *p);
/* config_parse() over a parsed document (`root` is not consumed). */
int config_parse_json(struct json_t *root, const char *origin, struct cordon_policy *out, struct cordon_error **err);

#endif
