// SPDX-License-Identifier: Apache-2.0
/* The seccomp programs embedded at build time are exactly what libseccomp makes of the rules now:
 * a stale or hand-edited program cannot ship. */
#include "unit.h"

#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linux/seccomp_rules.h"

extern const unsigned char lx_filter_plain[], lx_filter_broker[];
extern const size_t lx_filter_plain_len, lx_filter_broker_len;

static void check(bool broker, const unsigned char *embedded, size_t embedded_len)
{
	struct cordon_error *err = NULL;
	unsigned char *fresh = NULL;
	size_t len = 0;
	assert_int_equal(lx_seccomp_export(broker, &fresh, &len, &err), 0);
	assert_null(err);
	assert_int_equal(len, embedded_len);
	assert_int_equal(len % sizeof(struct sock_filter), 0);
	assert_memory_equal(fresh, embedded, len);
	/* The program starts by checking the architecture (BPF_LD of seccomp_data.arch, offset 4). */
	const struct sock_filter *insn = (const struct sock_filter *)embedded;
	assert_int_equal(insn[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(insn[0].k, 4);
	free(fresh);
}

static void test_plain_matches(void **state)
{
	(void)state;
	check(false, lx_filter_plain, lx_filter_plain_len);
}

static void test_broker_matches(void **state)
{
	(void)state;
	check(true, lx_filter_broker, lx_filter_broker_len);
	/* The broker variant adds rules: it is longer. */
	assert_true(lx_filter_broker_len > lx_filter_plain_len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_matches),
		cmocka_unit_test(test_broker_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
