// SPDX-License-Identifier: Apache-2.0
/* session.json and journal.json as cordon checks them before acting on them (core/stagefile.c). */
#include "unit.h"

#include <jansson.h>

#include "core/stagefile.h"

static json_t *parse(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

static void test_rel(void **state)
{
	(void)state;
	const char *good[] = {"a", "a/b", ".git", "a/.b/c", "x..y", NULL};
	const char *bad[] = {"", "/a", "a//b", "a/", ".", "..", "a/../b", "a/./b", "../x", NULL};
	for (int i = 0; good[i]; i++)
		assert_true(stagefile_rel_ok(good[i]));
	for (int i = 0; bad[i]; i++)
		if (stagefile_rel_ok(bad[i]))
			fail_msg("`%s` accepted", bad[i]);
}

#define META_OK "{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"/w\"],\"protect\":[\".git\",\"/w/k\"],\"baselines\":{\"0:a\":3}}"

static void test_meta(void **state)
{
	(void)state;
	char why[160];
	json_t *m = parse(META_OK);
	assert_int_equal(stagefile_meta_check(m, why, sizeof(why)), 0);
	assert_true(stagefile_is_protected(m, 0, "k/x"));
	assert_false(stagefile_is_protected(m, 0, "kx"));
	json_decref(m);
	const char *bad[] = {
		"[]",
		"{\"schema\":2,\"name\":\"s\",\"created_ns\":1,\"roots\":[],\"protect\":[],\"baselines\":{}}",
		"{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"w\"],\"protect\":[],\"baselines\":{}}",
		"{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"/w\"],\"protect\":[7],\"baselines\":{}}",
		"{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"/w\"],\"protect\":[\"a/b\"],\"baselines\":{}}",
		"{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"/w\"],\"protect\":[],\"baselines\":{\"1:a\":1}}",
		"{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"/w\"],\"protect\":[],\"baselines\":{\"0:../a\":1}}",
		"{\"schema\":1,\"name\":\"s\",\"created_ns\":1,\"roots\":[\"/w\"],\"protect\":[],\"baselines\":{},\"root_ids\":[1]}",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		json_t *b = parse(bad[i]);
		why[0] = '\0';
		if (stagefile_meta_check(b, why, sizeof(why)) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_true(why[0] != '\0');
		json_decref(b);
	}
}

static void test_journal(void **state)
{
	(void)state;
	char why[160];
	json_t *j = parse("{\"schema\":1,\"id\":\"ab12\",\"phase\":\"apply\",\"ops\":[{\"op\":\"put\",\"root\":1,"
			  "\"path\":\"a/b\",\"mode\":33188,\"failed\":true}],\"baselines\":{\"1:a/b\":9}}");
	assert_int_equal(stagefile_journal_check(j, 2, why, sizeof(why)), 0);
	assert_int_equal(stagefile_journal_check(j, 1, why, sizeof(why)), -1); /* root 1 of 1 */
	json_decref(j);
	const char *bad[] = {
		"{\"schema\":1,\"id\":\"../x\",\"phase\":\"apply\",\"ops\":[]}",
		"{\"schema\":1,\"id\":\"\",\"phase\":\"apply\",\"ops\":[]}",
		"{\"schema\":1,\"id\":\"ab\",\"phase\":\"later\",\"ops\":[]}",
		"{\"schema\":1,\"id\":\"ab\",\"phase\":\"apply\",\"ops\":[{\"op\":\"rm\",\"root\":0,\"path\":\"a\",\"mode\":0}]}",
		"{\"schema\":1,\"id\":\"ab\",\"phase\":\"apply\",\"ops\":[{\"op\":\"put\",\"root\":0,\"path\":\"../a\",\"mode\":0}]}",
		"{\"schema\":1,\"id\":\"ab\",\"phase\":\"apply\",\"ops\":[{\"op\":\"put\",\"root\":0,\"path\":\"/etc/x\",\"mode\":0}]}",
		"{\"schema\":1,\"id\":\"ab\",\"phase\":\"apply\",\"ops\":[{\"op\":\"put\",\"root\":-1,\"path\":\"a\",\"mode\":0}]}",
		"{\"schema\":1,\"id\":\"ab\",\"phase\":\"apply\",\"ops\":[{\"op\":\"put\",\"root\":0,\"path\":\"a\",\"mode\":\"x\"}]}",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		json_t *b = parse(bad[i]);
		if (stagefile_journal_check(b, 2, why, sizeof(why)) == 0)
			fail_msg("accepted: %s", bad[i]);
		json_decref(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rel),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_journal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
