// SPDX-License-Identifier: Apache-2.0
#include "core/stagefile.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/paths.h"

static int bad(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

bool stagefile_rel_ok(const char *rel)
{
	size_t n = strlen(rel);
	if (n == 0 || n >= PATH_MAX || rel[0] == '/')
		return false;
	for (const char *p = rel;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool is_abs(const char *s)
{
	return s && s[0] == '/' && strlen(s) < PATH_MAX;
}

/* "I:rel" with I a root index below nroots. */
static bool baseline_key_ok(const char *key, size_t nroots)
{
	size_t i = 0;
	const char *p = key;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9' && i < STAGEFILE_MAX_ROOTS)
		i = i * 10 + (size_t)(*p++ - '0');
	return *p == ':' && i < nroots && stagefile_rel_ok(p + 1);
}

/* Baselines, in session.json and in a journal: {"I:rel": ctime_ns}. */
static int baselines_check(const json_t *baselines, size_t nroots, char *why, size_t cap)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)baselines, key, v)
		if (!json_is_integer(v) || !baseline_key_ok(key, nroots))
			return bad(why, cap, "baselines: a bad entry");
	return 0;
}

int stagefile_meta_check(const json_t *meta, char *why, size_t cap)
{
	if (!json_is_object(meta))
		return bad(why, cap, "not a JSON object");
	if (json_integer_value(json_object_get(meta, "schema")) != STAGEFILE_SCHEMA)
		return bad(why, cap, "schema is not %d", STAGEFILE_SCHEMA);
	if (!json_is_string(json_object_get(meta, "name")) || !json_is_integer(json_object_get(meta, "created_ns")) ||
	    json_integer_value(json_object_get(meta, "created_ns")) < 0)
		return bad(why, cap, "no name or creation time");
	const json_t *roots = json_object_get(meta, "roots"), *protect = json_object_get(meta, "protect"),
		     *baselines = json_object_get(meta, "baselines"), *ids = json_object_get(meta, "root_ids");
	if (!json_is_array(roots) || json_array_size(roots) > STAGEFILE_MAX_ROOTS)
		return bad(why, cap, "roots: not a list of at most %d", STAGEFILE_MAX_ROOTS);
	size_t nroots = json_array_size(roots);
	for (size_t i = 0; i < nroots; i++)
		if (!is_abs(json_string_value(json_array_get(roots, i))))
			return bad(why, cap, "roots[%zu]: not an absolute path", i);
	if (ids && (!json_is_array(ids) || json_array_size(ids) > nroots))
		return bad(why, cap, "root_ids: not a list as long as roots");
	for (size_t i = 0; ids && i < json_array_size(ids); i++)
		if (!json_is_string(json_array_get(ids, i)))
			return bad(why, cap, "root_ids[%zu]: not a string", i);
	if (!json_is_array(protect))
		return bad(why, cap, "protect: not a list");
	for (size_t i = 0; i < json_array_size(protect); i++) {
		const char *p = json_string_value(json_array_get(protect, i));
		if (!p || !(is_abs(p) || path_is_bare_name(p)))
			return bad(why, cap, "protect[%zu]: neither a name nor an absolute path", i);
	}
	if (!json_is_object(baselines))
		return bad(why, cap, "baselines: not an object");
	return baselines_check(baselines, nroots, why, cap);
}

static const char *const ops[] = {"mkdir", "chmod", "put", "put_over_dir", "delete", "unit", NULL};

int stagefile_journal_check(const json_t *j, size_t nroots, char *why, size_t cap)
{
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "schema")) != STAGEFILE_SCHEMA)
		return bad(why, cap, "not a journal of schema %d", STAGEFILE_SCHEMA);
	/* The id goes into temporary file names beside real files: hex digits only. */
	const char *id = json_string_value(json_object_get(j, "id"));
	if (!id || !*id || strlen(id) > STAGEFILE_MAX_ID || strspn(id, "0123456789abcdef") != strlen(id))
		return bad(why, cap, "id: not 1 to %d hex digits", STAGEFILE_MAX_ID);
	const char *phase = json_string_value(json_object_get(j, "phase"));
	if (!phase || (strcmp(phase, "apply") != 0 && strcmp(phase, "drop") != 0))
		return bad(why, cap, "phase: neither apply nor drop");
	const json_t *arr = json_object_get(j, "ops");
	if (!json_is_array(arr))
		return bad(why, cap, "ops: not a list");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *o = json_array_get(arr, i);
		const char *op = json_string_value(json_object_get(o, "op"));
		const char *path = json_string_value(json_object_get(o, "path"));
		const json_t *root = json_object_get(o, "root"), *mode = json_object_get(o, "mode"),
			     *failed = json_object_get(o, "failed");
		size_t k = 0;
		while (op && ops[k] && strcmp(ops[k], op) != 0)
			k++;
		if (!op || !ops[k])
			return bad(why, cap, "ops[%zu]: unknown operation", i);
		if (!json_is_integer(root) || json_integer_value(root) < 0 || (size_t)json_integer_value(root) >= nroots)
			return bad(why, cap, "ops[%zu]: root out of range", i);
		if (!path || !stagefile_rel_ok(path))
			return bad(why, cap, "ops[%zu]: path not relative to its root", i);
		if (!json_is_integer(mode) || json_integer_value(mode) < 0 || json_integer_value(mode) > 0177777)
			return bad(why, cap, "ops[%zu]: bad mode", i);
		if (failed && !json_is_boolean(failed))
			return bad(why, cap, "ops[%zu]: bad failed flag", i);
	}
	const json_t *baselines = json_object_get(j, "baselines");
	if (baselines && !json_is_object(baselines))
		return bad(why, cap, "baselines: not an object");
	return baselines ? baselines_check(baselines, nroots, why, cap) : 0;
}

/* Names protected whatever the session recorded: a new `.git` or `.agents` never reaches the real tree. */
static const char *const always_protected[] = {".git", ".codex", ".agents", NULL};

static bool component_is(const char *rel, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = rel; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == '/' || p[n] == '\0'))
			return true;
	return false;
}

bool stagefile_is_protected(const json_t *meta, size_t i, const char *rel)
{
	for (int k = 0; always_protected[k]; k++)
		if (component_is(rel, always_protected[k]))
			return true;
	const char *root = json_string_value(json_array_get(json_object_get(meta, "roots"), i));
	char abs[PATH_MAX * 2];
	snprintf(abs, sizeof(abs), "%s/%s", root ? root : "", rel);
	size_t k;
	json_t *e;
	json_array_foreach (json_object_get(meta, "protect"), k, e) {
		const char *p = json_string_value(e);
		if (p && (p[0] == '/' ? path_is_under(abs, p) : component_is(rel, p)))
			return true;
	}
	return false;
}
