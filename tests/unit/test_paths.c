// SPDX-License-Identifier: Apache-2.0
/* Lexical path helpers. */
#include "unit.h"

#include "core/paths.h"

static void test_join_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *base, *rel, *want;
	} cases[] = {
		{"/a/b", "c", "/a/b/c"},
		{"/a/b", "..", "/a"},
		{"/a/b", "../..", "/"},
		{"/a/b", "../../..", "/"},
		{"/", "..", "/"},
		{"/a", "/..", "/"},
		{"/a", "/../..", "/"},
		{"/x", "a/../../b", "/b"},
		{"/x/y", "a/../../b", "/x/b"},
		{"/a/", "b/", "/a/b"},
		{"/a///", "b///c//", "/a/b/c"},
		{"//", "//", "/"},
		{"/", "", "/"},
		{"/a", "", "/a"},
		{"/a", ".", "/a"},
		{"/a", "./b/./c/.", "/a/b/c"},
		{"/a", "/abs/path", "/abs/path"},
		{"/ignored", "/abs/../other", "/other"},
		{"/a", "...", "/a/..."},
		{"/a", "..b/.c", "/a/..b/.c"},
		{"/a/b/c", "../../d/../e", "/a/e"},
		{"/a/./b/../c", "d", "/a/c/d"},
		{"/home/u/proj", "~", "/home/u/proj/~"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = path_join_normalize(cases[i].base, cases[i].rel);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("path_join_normalize(\"%s\", \"%s\") = \"%s\", want \"%s\"", cases[i].base,
				 cases[i].rel, got, cases[i].want);
		/* Normalising a normal path changes nothing. */
		char *again = path_join_normalize("/", got);
		assert_string_equal(again, got);
		free(again);
		free(got);
	}
}

static void test_join_long(void **state)
{
	(void)state;
	/* Many short components: the output buffer must hold a leading slash per component. */
	char base[2] = "a", rel[4001];
	for (int i = 0; i < 2000; i++) {
		rel[2 * i] = 'b';
		rel[2 * i + 1] = '/';
	}
	rel[4000] = '\0';
	char *got = path_join_normalize(base, rel);
	assert_non_null(got);
	assert_int_equal(strlen(got), 2 + 2 * 2000);
	assert_true(strncmp(got, "/a/b/b/", 7) == 0);
	free(got);
}

static void test_is_under(void **state)
{
	(void)state;
	static const struct {
		const char *path, *root;
		bool want;
	} cases[] = {
		{"/a/b", "/a/b", true},
		{"/a/b/c", "/a/b", true},
		{"/a/b/c/d", "/a/b", true},
		{"/a/bc", "/a/b", false},
		{"/a/b.c", "/a/b", false},
		{"/a", "/a/b", false},
		{"/b/a", "/a", false},
		{"/", "/", true},
		{"/anything/at/all", "/", true},
		{"/", "/a", false},
		{"relative", "/", false},
		{"/tmp", "/tmp", true},
		{"/tmpfoo", "/tmp", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (path_is_under(cases[i].path, cases[i].root) != cases[i].want)
			fail_msg("path_is_under(\"%s\", \"%s\") != %s", cases[i].path, cases[i].root,
				 cases[i].want ? "true" : "false");
}

static void test_expand_home(void **state)
{
	(void)state;
	char *s;
	s = path_expand_home("~", "/home/u");
	assert_string_equal(s, "/home/u");
	free(s);
	s = path_expand_home("~/", "/home/u");
	assert_string_equal(s, "/home/u/");
	free(s);
	s = path_expand_home("~/.ssh", "/home/u");
	assert_string_equal(s, "/home/u/.ssh");
	free(s);
	s = path_expand_home("~/.config/gh", "/root");
	assert_string_equal(s, "/root/.config/gh");
	free(s);
	/* Only a leading ~ is special. */
	s = path_expand_home("/abs/~/x", "/home/u");
	assert_string_equal(s, "/abs/~/x");
	free(s);
	s = path_expand_home("rel/x", NULL);
	assert_string_equal(s, "rel/x");
	free(s);
	s = path_expand_home("", NULL);
	assert_string_equal(s, "");
	free(s);
	/* ~user is not supported; without a usable home there is nothing to expand to. */
	assert_null(path_expand_home("~root/x", "/home/u"));
	assert_null(path_expand_home("~~", "/home/u"));
	assert_null(path_expand_home("~/x", NULL));
	assert_null(path_expand_home("~", NULL));
	assert_null(path_expand_home("~/x", "relative/home"));
	assert_null(path_expand_home("~/x", ""));
}

static void test_bare_name(void **state)
{
	(void)state;
	assert_true(path_is_bare_name(".git"));
	assert_true(path_is_bare_name("name"));
	assert_true(path_is_bare_name("..."));
	assert_true(path_is_bare_name("~"));
	assert_false(path_is_bare_name(""));
	assert_false(path_is_bare_name("."));
	assert_false(path_is_bare_name(".."));
	assert_false(path_is_bare_name("a/b"));
	assert_false(path_is_bare_name("/abs"));
	assert_false(path_is_bare_name("dir/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_normalize),
		cmocka_unit_test(test_join_long),
		cmocka_unit_test(test_is_under),
		cmocka_unit_test(test_expand_home),
		cmocka_unit_test(test_bare_name),
	};
	return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
