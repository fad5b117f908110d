// SPDX-License-Identifier: Apache-2.0
#include "core/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "core/allowlist.h"

const char *const policy_default_protect[] = {".git", ".codex", ".agents", NULL};

/* Credential stores a build never needs. Documented in docs/policy.md; keep the two in step. */
const char *const policy_default_deny_read[] = {
	"~/.ssh",
	"~/.gnupg",
	"~/.aws",
	"~/.config/gcloud",
	"~/.azure",
	"~/.kube",
	"~/.docker/config.json",
	"~/.netrc",
	"~/.git-credentials",
	"~/.config/gh",
	"~/.config/hub",
	"~/.password-store",
	"~/.local/share/keyrings",
	"~/.pypirc",
	"~/.cargo/credentials",
	"~/.cargo/credentials.toml",
	"~/.vault-token",
	"~/.terraform.d/credentials.tfrc.json",
	NULL,
};

void policy_init(struct cordon_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = CORDON_MODE_WORKSPACE_WRITE;
	p->network = CORDON_NETWORK_OFF;
	p->default_protect = true;
	p->default_deny_read = true;
}

void policy_release(struct cordon_policy *p)
{
	free(p->workspace);
	strv_clear(&p->writable);
	strv_clear(&p->protect);
	strv_clear(&p->deny_read);
	strv_clear(&p->env_set);
	strv_clear(&p->env_keep);
	strv_clear(&p->net_allow);
	strv_clear(&p->net_deny);
	memset(p, 0, sizeof(*p));
}

int policy_merge(struct cordon_policy *dst, const struct cordon_policy *src)
{
	if (src->set & PF_MODE)
		dst->mode = src->mode;
	if (src->set & PF_NETWORK)
		dst->network = src->network;
	if (src->set & PF_WORKSPACE) {
		char *w = strdup(src->workspace);
		if (!w)
			return -1;
		free(dst->workspace);
		dst->workspace = w;
	}
	if (src->set & PF_DEFAULT_PROTECT)
		dst->default_protect = src->default_protect;
	if (src->set & PF_DEFAULT_DENY_READ)
		dst->default_deny_read = src->default_deny_read;
	if (src->set & PF_ENV_CLEAR)
		dst->env_clear = src->env_clear;
	if (src->set & PF_ALLOW_DEGRADED)
		dst->allow_degraded = src->allow_degraded;
	if (src->set & PF_AUDIT_READS)
		dst->audit_reads = src->audit_reads;
	for (int i = 0; i < POLICY_NLIMITS; i++)
		if (src->set & (PF_LIMIT0 << i))
			dst->limits[i] = src->limits[i];
	dst->set |= src->set;
	if (strv_extend(&dst->writable, &src->writable) < 0 || strv_extend(&dst->protect, &src->protect) < 0 ||
	    strv_extend(&dst->deny_read, &src->deny_read) < 0 || strv_extend(&dst->env_set, &src->env_set) < 0 ||
	    strv_extend(&dst->env_keep, &src->env_keep) < 0 || strv_extend(&dst->net_allow, &src->net_allow) < 0 ||
	    strv_extend(&dst->net_deny, &src->net_deny) < 0)
		return -1;
	return 0;
}

/* Looks `s` up in a table of names indexed by enum value; -1 when absent. */
static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const mode_names[] = {
	[CORDON_MODE_READ_ONLY] = "read-only",
	[CORDON_MODE_WORKSPACE_WRITE] = "workspace-write",
	[CORDON_MODE_FULL_ACCESS] = "full-access",
};

static const char *const network_names[] = {
	[CORDON_NETWORK_OFF] = "off",
	[CORDON_NETWORK_ON] = "on",
	[CORDON_NETWORK_PROXY] = "proxy",
};

const char *policy_mode_name(enum cordon_mode m)
{
	return (unsigned)m < ARRAY_LEN(mode_names) ? mode_names[m] : "?";
}

int policy_parse_mode(const char *s, enum cordon_mode *out)
{
	int i = name_index(mode_names, ARRAY_LEN(mode_names), s);
	if (i >= 0)
		*out = (enum cordon_mode)i;
	return i < 0 ? -1 : 0;
}

const char *policy_network_name(enum cordon_network n)
{
	return (unsigned)n < ARRAY_LEN(network_names) ? network_names[n] : "?";
}

int policy_parse_network(const char *s, enum cordon_network *out)
{
	int i = name_index(network_names, ARRAY_LEN(network_names), s);
	if (i >= 0)
		*out = (enum cordon_network)i;
	return i < 0 ? -1 : 0;
}

const char *policy_limit_name(enum cordon_limit l)
{
	static const char *const names[] = {"timeout", "memory", "max_procs", "cpu_seconds", "file_size"};
	return (unsigned)l < ARRAY_LEN(names) ? names[l] : "?";
}

static int parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		s++;
	}
	*sp = s;
	*out = v;
	return 0;
}

int policy_parse_count(const char *s, uint64_t *out)
{
	if (parse_digits(&s, out) < 0 || *s)
		return -1;
	return 0;
}

int policy_parse_bytes(const char *s, uint64_t *out)
{
	uint64_t v;
	if (parse_digits(&s, &v) < 0)
		return -1;
	unsigned shift = 0;
	switch (*s) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (shift) {
		s++;
		if (strcasecmp(s, "ib") == 0 || strcasecmp(s, "b") == 0)
			s += strlen(s);
		if (*s)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int policy_parse_seconds_ms(const char *s, uint64_t *out_ms)
{
	uint64_t whole = 0;
	if (*s != '.' && (parse_digits(&s, &whole) < 0 || whole > UINT64_MAX / 1000 - 1))
		return -1;
	uint64_t ms = whole * 1000;
	if (*s == '.') {
		s++;
		uint64_t scale = 100;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			ms += (uint64_t)(*s - '0') * scale;
			scale /= 10;
			s++;
		}
	}
	if (*s || ms == 0)
		return -1;
	*out_ms = ms;
	return 0;
}

int policy_add_path(struct strv *list, const char *what, const char *path, struct cordon_error **err)
{
	if (!path || !*path)
		return cerr_set(err, EINVAL, "%s: empty path", what);
	if (strlen(path) >= 4096)
		return cerr_set(err, ENAMETOOLONG, "%s: path longer than 4095 bytes", what);
	if (strv_push(list, path) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

int policy_add_protect(struct cordon_policy *p, const char *s, struct cordon_error **err)
{
	if (s && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0))
		return cerr_set(err, EINVAL, "--protect `%s`: not a name or a path", s);
	return policy_add_path(&p->protect, "--protect", s, err);
}

static bool valid_env_name(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

int policy_add_env_set(struct cordon_policy *p, const char *a, struct cordon_error **err)
{
	const char *eq = a ? strchr(a, '=') : NULL;
	if (!eq || !valid_env_name(a, (size_t)(eq - a)))
		return cerr_set(err, EINVAL, "environment assignment `%s`: expected NAME=VALUE with NAME made of letters, "
					     "digits and _", a ? a : "");
	if (strv_push(&p->env_set, a) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

int policy_add_env_keep(struct cordon_policy *p, const char *name, struct cordon_error **err)
{
	if (!name || !valid_env_name(name, strlen(name)))
		return cerr_set(err, EINVAL, "variable name `%s`: letters, digits and _ only", name ? name : "");
	if (strv_push(&p->env_keep, name) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

int policy_add_net_rule(struct cordon_policy *p, bool deny, const char *rule, struct cordon_error **err)
{
	struct allowlist check = {0};
	int r = allowlist_add(&check, deny ? AL_DENY : AL_ALLOW, rule, err);
	allowlist_free(&check);
	if (r < 0)
		return -1;
	if (strv_push(deny ? &p->net_deny : &p->net_allow, rule) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

int policy_network_in_force(const struct cordon_policy *p, enum cordon_network *out, struct cordon_error **err)
{
	bool rules = p->net_allow.n || p->net_deny.n;
	*out = p->network;
	if (!(p->set & PF_NETWORK)) {
		if (rules)
			*out = CORDON_NETWORK_PROXY;
		else if (p->mode == CORDON_MODE_FULL_ACCESS)
			*out = CORDON_NETWORK_ON;
		return 0;
	}
	if (!rules || p->network == CORDON_NETWORK_PROXY)
		return 0;
	const char *what = p->net_allow.n ? "--allow" : "--deny";
	const char *first = p->net_allow.n ? p->net_allow.v[0] : p->net_deny.v[0];
	cerr_set(err, EINVAL, "%s `%s` with --network %s: host rules need --network proxy", what, first,
		 policy_network_name(p->network));
	return cerr_hint(err, "use --network proxy (the default when rules are given and no mode is)");
}
