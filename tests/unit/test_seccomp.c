// SPDX-License-Identifier: Apache-2.0
/* The seccomp programs embedded at build time are exactly what libseccomp makes of the rules now:
 * a stale or hand-edited program cannot ship. */
#include "unit.h"

#include <errno.h>
#include <linux/filter.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linux/seccomp_rules.h"

static void check(enum lx_filter variant)
{
	struct cordon_error *err = NULL;
	unsigned char *fresh = NULL;
	size_t len = 0;
	const unsigned char *embedded = lx_filters[variant].bpf;
	size_t embedded_len = lx_filters[variant].len;
	assert_int_equal(lx_seccomp_export(variant, &fresh, &len, &err), 0);
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

static void test_variants_match(void **state)
{
	(void)state;
	for (int v = 0; v < LX_FILTER_N; v++)
		check((enum lx_filter)v);
	/* Each listener variant adds rules to the plain one, and observing adds to the broker's. */
	for (int v = 1; v < LX_FILTER_N; v++)
		assert_true(lx_filters[v].len > lx_filters[LX_FILTER_PLAIN].len);
	assert_true(lx_filters[LX_FILTER_OBSERVE].len > lx_filters[LX_FILTER_BROKER].len);
}

/* The observer's table of calls denied outright names real ones, with the errno the plain filter
 * returns for them; the ones answered as missing are not in it. */
static void test_denied_table(void **state)
{
	(void)state;
	assert_true(lx_denied_calls_n > 40);
	bool saw_bpf = false, saw_io_uring = false, saw_clone3 = false;
	for (size_t i = 0; i < lx_denied_calls_n; i++) {
		assert_true(lx_denied_calls[i].nr >= 0);
		if (strcmp(lx_denied_calls[i].name, "bpf") == 0)
			saw_bpf = lx_denied_calls[i].nr == SYS_bpf && lx_denied_calls[i].err == EPERM;
		saw_io_uring |= lx_denied_calls[i].nr == SYS_io_uring_setup;
		saw_clone3 |= lx_denied_calls[i].nr == SYS_clone3;
	}
	assert_true(saw_bpf);
	/* Answered as missing (ENOSYS) in the filter itself, never observed: not in the table. */
	assert_false(saw_io_uring);
	assert_false(saw_clone3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variants_match),
		cmocka_unit_test(test_denied_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
