// SPDX-License-Identifier: Apache-2.0
#include "core/env.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Substrings (upper case) that mark a secret anywhere in the name. */
static const char *const secret_parts[] = {
	"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "APIKEY", "API_KEY", "PRIVATE_KEY", "AUTH_",
	"AUTHORIZATION", "COOKIE", "PASSPHRASE", NULL,
};
/* Prefixes of whole families of cloud credentials. */
static const char *const secret_prefixes[] = {"AWS_", "AZURE_", "GOOGLE_APPLICATION_CREDENTIALS", "GCP_", NULL};
/* Exact names: agent sockets and session keys that let a process act as the user. */
static const char *const secret_names[] = {"SSH_AUTH_SOCK", "GPG_AGENT_INFO", "SSH_AGENT_PID", NULL};

static bool has_part(const char *up, const char *part)
{
	return strstr(up, part) != NULL;
}

bool env_name_is_secret(const char *name, size_t len)
{
	char up[256];
	if (len >= sizeof(up))
		return true; /* absurd names are not worth the risk */
	for (size_t i = 0; i < len; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[len] = '\0';
	for (int i = 0; secret_parts[i]; i++)
		if (has_part(up, secret_parts[i]))
			return true;
	for (int i = 0; secret_prefixes[i]; i++)
		if (strncmp(up, secret_prefixes[i], strlen(secret_prefixes[i])) == 0)
			return true;
	for (int i = 0; secret_names[i]; i++)
		if (strcmp(up, secret_names[i]) == 0)
			return true;
	/* *_KEY, *_AUTH (NPM_CONFIG__AUTH), *_PAT (GITHUB_PAT), *_PWD (MYSQL_PWD), but not KEYBOARD, XKB_*,
	 * GIT_AUTHOR_NAME, PATH or PWD/OLDPWD. */
	static const char *const suffixes[] = {"_KEY", "_AUTH", "_PAT", "_PWD", NULL};
	for (int i = 0; suffixes[i]; i++) {
		size_t n = strlen(suffixes[i]);
		if (len >= n && strcmp(up + len - n, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool kept(const struct cordon_policy *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->env_keep.n; i++)
		if (strlen(p->env_keep.v[i]) == len && strncmp(p->env_keep.v[i], name, len) == 0)
			return true;
	return false;
}

/* Sets kv in out, replacing an earlier entry of the same name. */
static int env_put(struct strv *out, const char *kv)
{
	size_t len = name_len(kv);
	for (size_t i = 0; i < out->n; i++)
		if (name_len(out->v[i]) == len && strncmp(out->v[i], kv, len) == 0) {
			char *dup = strdup(kv);
			if (!dup)
				return -1;
			free(out->v[i]);
			out->v[i] = dup;
			return 0;
		}
	return strv_push(out, kv);
}

int env_build(const struct cordon_policy *p, char *const *inherited, const char *const *forced, struct strv *out)
{
	if (!p->env_clear && inherited) {
		for (size_t i = 0; inherited[i]; i++) {
			const char *kv = inherited[i];
			size_t len = name_len(kv);
			if (!strchr(kv, '=') || len == 0)
				continue;
			if (env_name_is_secret(kv, len) && !kept(p, kv, len))
				continue;
			if (env_put(out, kv) < 0)
				return -1;
		}
	} else if (inherited) {
		/* --env-clear keeps only what --env-keep names. */
		for (size_t i = 0; inherited[i]; i++) {
			size_t len = name_len(inherited[i]);
			if (strchr(inherited[i], '=') && kept(p, inherited[i], len) && env_put(out, inherited[i]) < 0)
				return -1;
		}
	}
	for (size_t i = 0; i < p->env_set.n; i++)
		if (env_put(out, p->env_set.v[i]) < 0)
			return -1;
	for (size_t i = 0; forced && forced[i]; i++)
		if (env_put(out, forced[i]) < 0)
			return -1;
	return 0;
}
