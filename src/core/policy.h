// SPDX-License-Identifier: Apache-2.0
/* The policy model: what the user asked for, before any path is resolved on a real machine.
 * Portable: no OS headers. */
#ifndef CORDON_CORE_POLICY_H
#define CORDON_CORE_POLICY_H

#include <cordon/cordon.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/strv.h"

#define POLICY_NLIMITS 5

/* Bits of cordon_policy.set: which scalar settings were given explicitly (for merging layers). */
enum policy_field {
	PF_MODE = 1u << 0,
	PF_NETWORK = 1u << 1,
	PF_WORKSPACE = 1u << 2,
	PF_DEFAULT_PROTECT = 1u << 3,
	PF_DEFAULT_DENY_READ = 1u << 4,
	PF_ENV_CLEAR = 1u << 5,
	PF_ALLOW_DEGRADED = 1u << 6,
	PF_AUDIT_READS = 1u << 7,
	PF_LIMIT0 = 1u << 8, /* PF_LIMIT0 << which */
};

struct cordon_policy {
	unsigned set;
	enum cordon_mode mode;
	enum cordon_network network;
	char *workspace; /* NULL: the current directory */
	struct strv writable;
	struct strv protect;   /* bare names and paths, as given */
	struct strv deny_read; /* paths as given; `~/` expanded at resolve time */
	bool default_protect;
	bool default_deny_read;
	struct strv env_set;  /* "K=V" */
	struct strv env_keep; /* names */
	struct strv net_allow; /* --allow rules, as given (checked when added) */
	struct strv net_deny;  /* --deny rules */
	bool env_clear;
	uint64_t limits[POLICY_NLIMITS]; /* 0: no limit */
	bool allow_degraded;
	bool audit_reads; /* the audit observer also sees every open (deny-read denials on record) */
};

extern const char *const policy_default_protect[];
extern const char *const policy_default_deny_read[];

void policy_init(struct cordon_policy *p);
void policy_release(struct cordon_policy *p);
/* Layers `src` over `dst`: scalars set in src win, lists are appended. -1 on ENOMEM. */
int policy_merge(struct cordon_policy *dst, const struct cordon_policy *src);

const char *policy_mode_name(enum cordon_mode m);
int policy_parse_mode(const char *s, enum cordon_mode *out);
const char *policy_network_name(enum cordon_network n);
int policy_parse_network(const char *s, enum cordon_network *out);
const char *policy_limit_name(enum cordon_limit l);

/* Parses a byte count: digits with an optional K, M, G or T suffix (powers of 1024, optional "iB"). */
int policy_parse_bytes(const char *s, uint64_t *out);
/* Parses a count: digits only. */
int policy_parse_count(const char *s, uint64_t *out);
/* Parses seconds, decimal allowed ("2.5"), into milliseconds; must be > 0. */
int policy_parse_seconds_ms(const char *s, uint64_t *out_ms);

/* Setters shared by the CLI, config files and the public API. They validate and copy. */
int policy_add_path(struct strv *list, const char *what, const char *path, struct cordon_error **err);
int policy_add_protect(struct cordon_policy *p, const char *name_or_path, struct cordon_error **err);
int policy_add_env_set(struct cordon_policy *p, const char *assignment, struct cordon_error **err);
int policy_add_env_keep(struct cordon_policy *p, const char *name, struct cordon_error **err);
/* An --allow (deny false) or --deny rule: parsed once to reject a bad one now, kept as text. */
int policy_add_net_rule(struct cordon_policy *p, bool deny, const char *rule, struct cordon_error **err);
/* After merging every layer: the network mode in force. full-access implies `on`, and host rules
 * imply `proxy`, when no layer chose a mode; rules with `off` or `on` chosen are an error. */
int policy_network_in_force(const struct cordon_policy *p, enum cordon_network *out, struct cordon_error **err);

#endif
