// SPDX-License-Identifier: Apache-2.0
/* Line diffs for `cordon diff` (core/textdiff.c): counts, hunks, binary detection, edge cases. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textdiff.h"

static char *diff(const char *a, const char *b, struct textdiff *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(textdiff_buffers(a, a ? strlen(a) : 0, b, b ? strlen(b) : 0, out, st, NULL), 0);
	fclose(out);
	return text;
}

static void test_modified(void **state)
{
	(void)state;
	struct textdiff st;
	char *t = diff("one\ntwo\nthree\n", "one\nTWO\nthree\nfour\n", &st);
	assert_int_equal(st.additions, 2);
	assert_int_equal(st.deletions, 1);
	assert_false(st.binary);
	assert_string_equal(t, "@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n three\n+four\n");
	free(t);
}

static void test_added_and_deleted(void **state)
{
	(void)state;
	struct textdiff st;
	char *t = diff(NULL, "a\nb\n", &st);
	assert_int_equal(st.additions, 2);
	assert_int_equal(st.deletions, 0);
	assert_string_equal(t, "@@ -0,0 +1,2 @@\n+a\n+b\n");
	free(t);
	t = diff("gone\n", NULL, &st);
	assert_int_equal(st.additions, 0);
	assert_int_equal(st.deletions, 1);
	assert_string_equal(t, "@@ -1 +0,0 @@\n-gone\n");
	free(t);
}

static void test_no_newline_at_end(void **state)
{
	(void)state;
	struct textdiff st;
	char *t = diff("x\n", "x", &st);
	assert_int_equal(st.additions, 1);
	assert_int_equal(st.deletions, 1);
	assert_non_null(strstr(t, "\\ No newline at end of file"));
	free(t);
}

static void test_same(void **state)
{
	(void)state;
	struct textdiff st;
	char *t = diff("same\n", "same\n", &st);
	assert_int_equal(st.additions + st.deletions, 0);
	assert_string_equal(t, "");
	free(t);
}

static void test_binary(void **state)
{
	(void)state;
	struct textdiff st;
	static const char a[] = "text\0more", b[] = "text";
	assert_int_equal(textdiff_buffers(a, sizeof(a), b, 4, NULL, &st, NULL), 0);
	assert_true(st.binary);
	assert_int_equal(st.additions + st.deletions, 0);
	/* Past the size cap: binary, without reading it line by line. */
	size_t big = TEXTDIFF_MAX_BYTES + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, 'a', big);
	assert_int_equal(textdiff_buffers("a", 1, huge, big, NULL, &st, NULL), 0);
	assert_true(st.binary);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modified), cmocka_unit_test(test_added_and_deleted),
		cmocka_unit_test(test_no_newline_at_end), cmocka_unit_test(test_same), cmocka_unit_test(test_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
