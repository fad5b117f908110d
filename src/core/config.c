// SPDX-License-Identifier: Apache-2.0
#include "core/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"

static void json_decref_p(json_t **j)
{
	if (*j)
		json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_p)))

struct ctx {
	const char *origin;
	struct cordon_policy *p;
	struct cordon_error **err;
};

static int bad(struct ctx *c, const char *key, const char *what, const char *detail)
{
	return cerr_set(c->err, EINVAL, "%s: key `%s`: %s%s", c->origin, key, what, detail ? detail : "");
}

static int get_string(struct ctx *c, const char *key, json_t *v, const char **out)
{
	if (!json_is_string(v))
		return bad(c, key, "expected a string", NULL);
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return bad(c, key, "string contains a NUL byte", NULL);
	return 0;
}

static int get_bool(struct ctx *c, const char *key, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return bad(c, key, "expected true or false", NULL);
	*out = json_is_true(v);
	return 0;
}

typedef int (*str_adder)(struct ctx *c, const char *key, const char *s);

static int get_string_list(struct ctx *c, const char *key, json_t *v, str_adder add)
{
	if (!json_is_array(v))
		return bad(c, key, "expected an array of strings", NULL);
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		const char *s = NULL;
		if (get_string(c, key, item, &s) < 0 || add(c, key, s) < 0)
			return -1;
	}
	return 0;
}

static int wrap(struct ctx *c, const char *key, int rc)
{
	if (rc < 0)
		cerr_prefix(c->err, "%s: key `%s`", c->origin, key);
	return rc;
}

static int add_writable(struct ctx *c, const char *key, const char *s)
{
	return wrap(c, key, policy_add_path(&c->p->writable, "writable", s, c->err));
}
static int add_protect(struct ctx *c, const char *key, const char *s)
{
	return wrap(c, key, policy_add_protect(c->p, s, c->err));
}
static int add_deny_read(struct ctx *c, const char *key, const char *s)
{
	return wrap(c, key, policy_add_path(&c->p->deny_read, "deny_read", s, c->err));
}
static int add_allow(struct ctx *c, const char *key, const char *s)
{
	return wrap(c, key, policy_add_net_rule(c->p, false, s, c->err));
}
static int add_deny(struct ctx *c, const char *key, const char *s)
{
	return wrap(c, key, policy_add_net_rule(c->p, true, s, c->err));
}
static int add_env_keep(struct ctx *c, const char *key, const char *s)
{
	return wrap(c, key, policy_add_env_keep(c->p, s, c->err));
}

static int parse_env(struct ctx *c, json_t *env)
{
	if (!json_is_object(env))
		return bad(c, "env", "expected an object with `set`, `keep`, `clear`", NULL);
	const char *k;
	json_t *v;
	json_object_foreach(env, k, v) {
		if (strcmp(k, "set") == 0) {
			if (!json_is_object(v))
				return bad(c, "env.set", "expected an object of NAME: \"value\"", NULL);
			const char *name;
			json_t *val;
			json_object_foreach(v, name, val) {
				const char *s;
				_cleanup_free_ char *kv = NULL;
				if (get_string(c, "env.set", val, &s) < 0)
					return -1;
				if (strchr(name, '=') || !*name)
					return bad(c, "env.set", "not a variable name: ", name);
				if (asprintf(&kv, "%s=%s", name, s) < 0)
					return cerr_set(c->err, ENOMEM, "out of memory");
				if (wrap(c, "env.set", policy_add_env_set(c->p, kv, c->err)) < 0)
					return -1;
			}
		} else if (strcmp(k, "keep") == 0) {
			if (get_string_list(c, "env.keep", v, add_env_keep) < 0)
				return -1;
		} else if (strcmp(k, "clear") == 0) {
			if (get_bool(c, "env.clear", v, &c->p->env_clear) < 0)
				return -1;
			c->p->set |= PF_ENV_CLEAR;
		} else {
			return bad(c, "env", "unknown key ", k);
		}
	}
	return 0;
}

static int parse_limits(struct ctx *c, json_t *lim)
{
	if (!json_is_object(lim))
		return bad(c, "limits", "expected an object", NULL);
	const char *k;
	json_t *v;
	json_object_foreach(lim, k, v) {
		int which = -1;
		for (int i = 0; i < POLICY_NLIMITS; i++)
			if (strcmp(k, policy_limit_name((enum cordon_limit)i)) == 0)
				which = i;
		if (which < 0)
			return bad(c, "limits", "unknown key ", k);
		uint64_t val;
		if (which == CORDON_LIMIT_TIMEOUT_MS) {
			double secs = json_is_number(v) ? json_number_value(v) : -1;
			if (!(secs > 0) || secs > 1e9)
				return bad(c, "limits.timeout", "expected a number of seconds greater than 0", NULL);
			val = (uint64_t)(secs * 1000.0 + 0.5);
			if (val == 0)
				val = 1;
		} else {
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				char key[64];
				snprintf(key, sizeof(key), "limits.%s", k);
				return bad(c, key, "expected a non-negative integer", NULL);
			}
			val = (uint64_t)json_integer_value(v);
		}
		c->p->limits[which] = val;
		c->p->set |= PF_LIMIT0 << which;
	}
	return 0;
}

static int parse_top(struct ctx *c, const char *k, json_t *v)
{
	struct cordon_policy *p = c->p;
	const char *s;
	if (strcmp(k, "mode") == 0) {
		if (get_string(c, k, v, &s) < 0)
			return -1;
		if (policy_parse_mode(s, &p->mode) < 0)
			return bad(c, k, "expected read-only, workspace-write or full-access, not ", s);
		p->set |= PF_MODE;
	} else if (strcmp(k, "network") == 0) {
		if (get_string(c, k, v, &s) < 0)
			return -1;
		if (policy_parse_network(s, &p->network) < 0)
			return bad(c, k, "expected off, on or proxy, not ", s);
		p->set |= PF_NETWORK;
	} else if (strcmp(k, "workspace") == 0) {
		if (get_string(c, k, v, &s) < 0)
			return -1;
		if (!*s)
			return bad(c, k, "empty path", NULL);
		free(p->workspace);
		if (!(p->workspace = strdup(s)))
			return cerr_set(c->err, ENOMEM, "out of memory");
		p->set |= PF_WORKSPACE;
	} else if (strcmp(k, "writable") == 0) {
		return get_string_list(c, k, v, add_writable);
	} else if (strcmp(k, "protect") == 0) {
		return get_string_list(c, k, v, add_protect);
	} else if (strcmp(k, "deny_read") == 0) {
		return get_string_list(c, k, v, add_deny_read);
	} else if (strcmp(k, "allow") == 0) {
		return get_string_list(c, k, v, add_allow);
	} else if (strcmp(k, "deny") == 0) {
		return get_string_list(c, k, v, add_deny);
	} else if (strcmp(k, "default_protect") == 0) {
		p->set |= PF_DEFAULT_PROTECT;
		return get_bool(c, k, v, &p->default_protect);
	} else if (strcmp(k, "default_deny_read") == 0) {
		p->set |= PF_DEFAULT_DENY_READ;
		return get_bool(c, k, v, &p->default_deny_read);
	} else if (strcmp(k, "allow_degraded") == 0) {
		p->set |= PF_ALLOW_DEGRADED;
		return get_bool(c, k, v, &p->allow_degraded);
	} else if (strcmp(k, "audit_reads") == 0) {
		p->set |= PF_AUDIT_READS;
		return get_bool(c, k, v, &p->audit_reads);
	} else if (strcmp(k, "env") == 0) {
		return parse_env(c, v);
	} else if (strcmp(k, "limits") == 0) {
		return parse_limits(c, v);
	} else if (strcmp(k, "version") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) != 1)
			return bad(c, k, "only version 1 is known", NULL);
	} else {
		return bad(c, k, "unknown key (see docs/config.md)", NULL);
	}
	return 0;
}

int config_parse(const char *text, size_t len, const char *origin, struct cordon_policy *out,
		 struct cordon_error **err)
{
	if (len > CONFIG_MAX_BYTES)
		return cerr_set(err, EFBIG, "%s: larger than %u bytes", origin, CONFIG_MAX_BYTES);
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return cerr_set(err, EINVAL, "%s:%d:%d: %s", origin, jerr.line, jerr.column, jerr.text);
	return config_parse_json(root, origin, out, err);
}

int config_parse_json(json_t *root, const char *origin, struct cordon_policy *out, struct cordon_error **err)
{
	if (!json_is_object(root))
		return cerr_set(err, EINVAL, "%s: expected a JSON object at the top", origin);
	struct ctx c = {.origin = origin, .p = out, .err = err};
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v) {
		if (parse_top(&c, k, v) < 0)
			return -1;
	}
	return 0;
}

static int dump_list(json_t *o, const char *key, const struct strv *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < l->n; i++)
		if (json_array_append_new(a, json_string(l->v[i])) < 0) {
			json_decref(a);
			return -1;
		}
	return a ? json_object_set_new(o, key, a) : -1;
}

json_t *config_dump(const struct cordon_policy *p)
{
	_cleanup_json_ json_t *o = json_object();
	json_t *env = json_object(), *set = json_object(), *lim = json_object();
	if (!o || !env || !set || !lim || json_object_set_new(o, "env", env) < 0 || json_object_set_new(env, "set", set) < 0 ||
	    json_object_set_new(o, "limits", lim) < 0)
		return NULL;
	int rc = 0;
	if (p->set & PF_MODE)
		rc |= json_object_set_new(o, "mode", json_string(policy_mode_name(p->mode)));
	if (p->set & PF_NETWORK)
		rc |= json_object_set_new(o, "network", json_string(policy_network_name(p->network)));
	if ((p->set & PF_WORKSPACE) && p->workspace)
		rc |= json_object_set_new(o, "workspace", json_string(p->workspace));
	if (p->set & PF_DEFAULT_PROTECT)
		rc |= json_object_set_new(o, "default_protect", json_boolean(p->default_protect));
	if (p->set & PF_DEFAULT_DENY_READ)
		rc |= json_object_set_new(o, "default_deny_read", json_boolean(p->default_deny_read));
	if (p->set & PF_ALLOW_DEGRADED)
		rc |= json_object_set_new(o, "allow_degraded", json_boolean(p->allow_degraded));
	if (p->set & PF_AUDIT_READS)
		rc |= json_object_set_new(o, "audit_reads", json_boolean(p->audit_reads));
	if (p->set & PF_ENV_CLEAR)
		rc |= json_object_set_new(env, "clear", json_boolean(p->env_clear));
	rc |= dump_list(o, "writable", &p->writable) | dump_list(o, "protect", &p->protect) |
	      dump_list(o, "deny_read", &p->deny_read) | dump_list(o, "allow", &p->net_allow) |
	      dump_list(o, "deny", &p->net_deny) | dump_list(env, "keep", &p->env_keep);
	/* A name set twice: the later value is the one the command gets, as when the lists merge. */
	for (size_t i = 0; i < p->env_set.n; i++) {
		const char *kv = p->env_set.v[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *name = eq ? strndup(kv, (size_t)(eq - kv)) : NULL;
		if (!name || json_object_set_new(set, name, json_string(eq + 1)) < 0)
			return NULL;
	}
	for (int i = 0; i < POLICY_NLIMITS; i++) {
		/* 0 is no limit, as unset is. A value the file format cannot hold makes no document. */
		if (!(p->set & (PF_LIMIT0 << i)) || p->limits[i] == 0)
			continue;
		if (p->limits[i] > (uint64_t)INT64_MAX ||
		    (i == CORDON_LIMIT_TIMEOUT_MS && p->limits[i] > (uint64_t)1e12))
			return NULL;
		json_t *v = i == CORDON_LIMIT_TIMEOUT_MS ? json_real((double)p->limits[i] / 1000.0)
							 : json_integer((json_int_t)p->limits[i]);
		rc |= json_object_set_new(lim, policy_limit_name((enum cordon_limit)i), v);
	}
	return rc ? NULL : steal_ptr(&o);
}
