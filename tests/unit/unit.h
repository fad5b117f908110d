// SPDX-License-Identifier: Apache-2.0
/* What every unit test program includes: cmocka and the headers it expects before it. */
#ifndef CORDON_TESTS_UNIT_H
#define CORDON_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Fails the test, printing the haystack, unless needle occurs in it. */
#define assert_contains(haystack, needle)                                                              \
	do {                                                                                           \
		const char *h_ = (haystack), *n_ = (needle);                                           \
		if (!h_ || !strstr(h_, n_))                                                            \
			fail_msg("expected `%s` in `%s`", n_, h_ ? h_ : "(null)");                      \
	} while (0)

#endif
