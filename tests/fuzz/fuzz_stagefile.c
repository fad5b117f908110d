// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: a staged session's session.json and journal.json (core/stagefile.c), as cordon
 * reads them before acting on them. The first byte picks the file and the number of roots; the rest
 * is parsed with jansson and checked. Besides the sanitizers it checks that
 *   - a session.json that passes has absolute roots, and that the protected-path test answers for
 *     each root without crashing, `.git` always protected;
 *   - a journal that passes names only known operations, roots in range and relative paths with no
 *     `..`, and an id that is safe in a file name.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "core/stagefile.h"

static void meta(const json_t *m)
{
	char why[160];
	if (stagefile_meta_check(m, why, sizeof(why)) < 0) {
		CHECK(why[0] != '\0');
		return;
	}
	const json_t *roots = json_object_get(m, "roots");
	for (size_t i = 0; i < json_array_size(roots); i++) {
		CHECK(json_string_value(json_array_get(roots, i))[0] == '/');
		CHECK(stagefile_is_protected(m, i, ".git/hooks/x"));
		(void)stagefile_is_protected(m, i, "src/main.c");
	}
}

static void journal(const json_t *j, size_t nroots)
{
	char why[160];
	if (stagefile_journal_check(j, nroots, why, sizeof(why)) < 0) {
		CHECK(why[0] != '\0');
		return;
	}
	const char *id = json_string_value(json_object_get(j, "id"));
	CHECK(id && !strchr(id, '/') && !strchr(id, '.'));
	const json_t *ops = json_object_get(j, "ops");
	for (size_t i = 0; i < json_array_size(ops); i++) {
		const json_t *o = json_array_get(ops, i);
		const char *path = json_string_value(json_object_get(o, "path"));
		CHECK(path && path[0] != '/' && stagefile_rel_ok(path));
		CHECK((size_t)json_integer_value(json_object_get(o, "root")) < nroots);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	json_t *v = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!v)
		return 0;
	if (data[0] & 1)
		journal(v, (size_t)(data[0] >> 1) % 8);
	else
		meta(v);
	json_decref(v);
	return 0;
}
