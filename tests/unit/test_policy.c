// SPDX-License-Identifier: Apache-2.0
/* The policy model: number parsers, mode and network names, setters, and layering with policy_merge. */
#include "unit.h"

#include <errno.h>

#include "common/error.h"
#include "core/policy.h"

struct num_case {
	const char *in;
	int rc;
	uint64_t want;
};

static void check_cases(int (*parse)(const char *, uint64_t *), const struct num_case *cases, size_t n,
			const char *what)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t got = 0xdeadbeefcafef00dULL;
		int rc = parse(cases[i].in, &got);
		if (rc != cases[i].rc)
			fail_msg("%s(\"%s\"): rc %d, want %d", what, cases[i].in, rc, cases[i].rc);
		if (rc == 0 && got != cases[i].want)
			fail_msg("%s(\"%s\") = %llu, want %llu", what, cases[i].in, (unsigned long long)got,
				 (unsigned long long)cases[i].want);
	}
}

static void test_parse_bytes(void **state)
{
	(void)state;
	static const struct num_case cases[] = {
		{"0", 0, 0},
		{"1", 0, 1},
		{"4096", 0, 4096},
		{"1k", 0, 1024},
		{"1K", 0, 1024},
		{"1KiB", 0, 1024},
		{"1KB", 0, 1024},
		{"2m", 0, 2u << 20},
		{"512M", 0, 512ull << 20},
		{"512MiB", 0, 512ull << 20},
		{"3G", 0, 3ull << 30},
		{"3g", 0, 3ull << 30},
		{"1T", 0, 1ull << 40},
		{"1TiB", 0, 1ull << 40},
		{"18446744073709551615", 0, UINT64_MAX},
		{"16777215T", 0, 16777215ull << 40},
		/* Overflow, with and without a suffix. */
		{"18446744073709551616", -1, 0},
		{"99999999999999999999999", -1, 0},
		{"16777216T", -1, 0},
		{"17179869184G", -1, 0},
		/* Garbage. */
		{"", -1, 0},
		{"K", -1, 0},
		{"G1", -1, 0},
		{"-1", -1, 0},
		{"+1", -1, 0},
		{" 1", -1, 0},
		{"1 ", -1, 0},
		{"1.5G", -1, 0},
		{"1B", -1, 0},
		{"1P", -1, 0},
		{"1Ki", -1, 0},
		{"1KiBB", -1, 0},
		{"1GG", -1, 0},
		{"0x10", -1, 0},
	};
	check_cases(policy_parse_bytes, cases, sizeof(cases) / sizeof(cases[0]), "policy_parse_bytes");
}

static void test_parse_count(void **state)
{
	(void)state;
	static const struct num_case cases[] = {
		{"0", 0, 0},
		{"7", 0, 7},
		{"007", 0, 7},
		{"1000000", 0, 1000000},
		{"18446744073709551615", 0, UINT64_MAX},
		{"18446744073709551616", -1, 0},
		{"", -1, 0},
		{"1K", -1, 0},
		{"-3", -1, 0},
		{"3 ", -1, 0},
		{"1.0", -1, 0},
		{"abc", -1, 0},
	};
	check_cases(policy_parse_count, cases, sizeof(cases) / sizeof(cases[0]), "policy_parse_count");
}

static void test_parse_seconds(void **state)
{
	(void)state;
	static const struct num_case cases[] = {
		{"1", 0, 1000},
		{"30", 0, 30000},
		{"2.5", 0, 2500},
		{"0.5", 0, 500},
		{"0.001", 0, 1},
		{"1.25", 0, 1250},
		{"1.2349", 0, 1234}, /* digits past the millisecond are dropped */
		{"1.000000000000000000000000001", 0, 1000},
		{"18446744073709550", 0, 18446744073709550000ull},
		{"18446744073709550.999", 0, 18446744073709550999ull},
		/* Zero and what rounds down to it: a timeout must be > 0. */
		{"0", -1, 0},
		{"0.0", -1, 0},
		{"0.0004", -1, 0},
		/* A leading dot is not accepted: the integer part is required. */
		{".5", 0, 500},
		{"1.", -1, 0},
		{"18446744073709551", -1, 0},
		{"18446744073709551615", -1, 0},
		{"99999999999999999999", -1, 0},
		{"", -1, 0},
		{"-1", -1, 0},
		{"1s", -1, 0},
		{"1.5.0", -1, 0},
		{"1e3", -1, 0},
		{" 1", -1, 0},
	};
	check_cases(policy_parse_seconds_ms, cases, sizeof(cases) / sizeof(cases[0]), "policy_parse_seconds_ms");
}

static void test_mode_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum cordon_mode mode;
	} modes[] = {
		{"read-only", CORDON_MODE_READ_ONLY},
		{"workspace-write", CORDON_MODE_WORKSPACE_WRITE},
		{"full-access", CORDON_MODE_FULL_ACCESS},
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		enum cordon_mode m = (enum cordon_mode)-1;
		assert_int_equal(policy_parse_mode(modes[i].name, &m), 0);
		assert_int_equal(m, modes[i].mode);
		assert_string_equal(policy_mode_name(modes[i].mode), modes[i].name);
	}
	static const char *const bad[] = {"", "Read-Only", "readonly", "read-only ", "workspace", "full", "on"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum cordon_mode m = CORDON_MODE_READ_ONLY;
		if (policy_parse_mode(bad[i], &m) != -1)
			fail_msg("mode `%s` accepted", bad[i]);
		assert_int_equal(m, CORDON_MODE_READ_ONLY);
	}
	assert_string_equal(policy_mode_name((enum cordon_mode)42), "?");
}

static void test_network_names(void **state)
{
	(void)state;
	enum cordon_network n = CORDON_NETWORK_ON;
	assert_int_equal(policy_parse_network("off", &n), 0);
	assert_int_equal(n, CORDON_NETWORK_OFF);
	assert_int_equal(policy_parse_network("on", &n), 0);
	assert_int_equal(n, CORDON_NETWORK_ON);
	assert_string_equal(policy_network_name(CORDON_NETWORK_OFF), "off");
	assert_string_equal(policy_network_name(CORDON_NETWORK_ON), "on");
	assert_int_equal(policy_parse_network("proxy", &n), 0);
	assert_int_equal(n, CORDON_NETWORK_PROXY);
	assert_string_equal(policy_network_name(CORDON_NETWORK_PROXY), "proxy");
	assert_string_equal(policy_network_name((enum cordon_network)7), "?");
	static const char *const bad[] = {"", "ON", "true", "1", "yes", "offline"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (policy_parse_network(bad[i], &n) != -1)
			fail_msg("network `%s` accepted", bad[i]);
}

static void test_limit_names(void **state)
{
	(void)state;
	assert_string_equal(policy_limit_name(CORDON_LIMIT_TIMEOUT_MS), "timeout");
	assert_string_equal(policy_limit_name(CORDON_LIMIT_MEMORY), "memory");
	assert_string_equal(policy_limit_name(CORDON_LIMIT_MAX_PROCS), "max_procs");
	assert_string_equal(policy_limit_name(CORDON_LIMIT_CPU_SECONDS), "cpu_seconds");
	assert_string_equal(policy_limit_name(CORDON_LIMIT_FILE_SIZE), "file_size");
	assert_string_equal(policy_limit_name((enum cordon_limit)POLICY_NLIMITS), "?");
}

static void test_defaults(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	assert_int_equal(p.set, 0);
	assert_int_equal(p.mode, CORDON_MODE_WORKSPACE_WRITE);
	assert_int_equal(p.network, CORDON_NETWORK_OFF);
	assert_true(p.default_protect);
	assert_true(p.default_deny_read);
	assert_false(p.env_clear);
	assert_false(p.allow_degraded);
	assert_null(p.workspace);
	for (int i = 0; i < POLICY_NLIMITS; i++)
		assert_int_equal(p.limits[i], 0);
	policy_release(&p);

	/* The protected names a coding agent must not rewrite. */
	bool git = false;
	for (int i = 0; policy_default_protect[i]; i++)
		git |= strcmp(policy_default_protect[i], ".git") == 0;
	assert_true(git);
	bool ssh = false;
	for (int i = 0; policy_default_deny_read[i]; i++) {
		ssh |= strcmp(policy_default_deny_read[i], "~/.ssh") == 0;
		/* Every default deny-read entry is under the home directory. */
		assert_true(strncmp(policy_default_deny_read[i], "~/", 2) == 0);
	}
	assert_true(ssh);
}

static void test_setters_validate(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	struct cordon_error *err = NULL;

	assert_int_equal(policy_add_env_set(&p, "A_1=x=y", &err), 0);
	assert_int_equal(policy_add_env_set(&p, "EMPTY=", &err), 0);
	assert_null(err);
	assert_int_equal(p.env_set.n, 2);
	assert_string_equal(p.env_set.v[0], "A_1=x=y");
	static const char *const bad_set[] = {"NOEQUALS", "=v", "1A=v", "A-B=v", "A B=v", ""};
	for (size_t i = 0; i < sizeof(bad_set) / sizeof(bad_set[0]); i++) {
		assert_int_equal(policy_add_env_set(&p, bad_set[i], &err), -1);
		assert_non_null(err);
		assert_int_equal(err->code, EINVAL);
		if (*bad_set[i])
			assert_contains(err->message, bad_set[i]);
		cordon_error_free(err);
		err = NULL;
	}
	assert_int_equal(p.env_set.n, 2);

	assert_int_equal(policy_add_env_keep(&p, "GITHUB_TOKEN", &err), 0);
	assert_int_equal(policy_add_env_keep(&p, "BAD=NAME", &err), -1);
	assert_contains(err->message, "BAD=NAME");
	cordon_error_free(err);
	err = NULL;
	assert_int_equal(policy_add_env_keep(&p, "", &err), -1);
	cordon_error_free(err);
	err = NULL;
	assert_int_equal(p.env_keep.n, 1);

	assert_int_equal(policy_add_protect(&p, ".git", &err), 0);
	assert_int_equal(policy_add_protect(&p, "/abs/path", &err), 0);
	assert_int_equal(policy_add_protect(&p, "..", &err), -1);
	assert_contains(err->message, "`..`");
	cordon_error_free(err);
	err = NULL;
	assert_int_equal(policy_add_protect(&p, ".", &err), -1);
	cordon_error_free(err);
	err = NULL;
	assert_int_equal(policy_add_protect(&p, "", &err), -1);
	assert_contains(err->message, "empty path");
	cordon_error_free(err);
	err = NULL;
	assert_int_equal(p.protect.n, 2);

	char *long_path = malloc(4097);
	assert_non_null(long_path);
	memset(long_path, 'a', 4096);
	long_path[4096] = '\0';
	assert_int_equal(policy_add_path(&p.writable, "writable", long_path, &err), -1);
	assert_int_equal(err->code, ENAMETOOLONG);
	assert_contains(err->message, "writable");
	cordon_error_free(err);
	err = NULL;
	long_path[4095] = '\0';
	assert_int_equal(policy_add_path(&p.writable, "writable", long_path, &err), 0);
	free(long_path);
	assert_int_equal(p.writable.n, 1);

	/* A NULL err is allowed: the error is dropped, the failure still reported. */
	assert_int_equal(policy_add_env_keep(&p, "1BAD", NULL), -1);
	policy_release(&p);
}

static void test_merge(void **state)
{
	(void)state;
	struct cordon_policy lower, upper;
	policy_init(&lower);
	policy_init(&upper);

	/* The lower layer (say the user's config) sets several scalars and lists. */
	lower.mode = CORDON_MODE_READ_ONLY;
	lower.network = CORDON_NETWORK_ON;
	lower.default_protect = false;
	lower.limits[CORDON_LIMIT_MEMORY] = 1u << 30;
	lower.limits[CORDON_LIMIT_TIMEOUT_MS] = 60000;
	lower.workspace = strdup("/lower/ws");
	lower.set = PF_MODE | PF_NETWORK | PF_DEFAULT_PROTECT | PF_WORKSPACE |
		    (PF_LIMIT0 << CORDON_LIMIT_MEMORY) | (PF_LIMIT0 << CORDON_LIMIT_TIMEOUT_MS);
	assert_int_equal(strv_push(&lower.writable, "/lower/w"), 0);
	assert_int_equal(strv_push(&lower.env_keep, "LOWER"), 0);

	/* The upper layer (the command line) sets the mode and one limit, and holds values in other
	 * scalars that it did not set: those must not override. */
	upper.mode = CORDON_MODE_FULL_ACCESS;
	upper.network = CORDON_NETWORK_OFF; /* default, not set */
	upper.default_protect = true;       /* default, not set */
	upper.limits[CORDON_LIMIT_MEMORY] = 5;
	upper.limits[CORDON_LIMIT_TIMEOUT_MS] = 0; /* unset */
	upper.env_clear = true;                    /* value without PF_ENV_CLEAR: ignored */
	upper.set = PF_MODE | (PF_LIMIT0 << CORDON_LIMIT_MEMORY);
	assert_int_equal(strv_push(&upper.writable, "/upper/w"), 0);
	assert_int_equal(strv_push(&upper.deny_read, "/upper/secret"), 0);
	assert_int_equal(strv_push(&upper.env_set, "K=V"), 0);

	struct cordon_policy out;
	policy_init(&out);
	assert_int_equal(policy_merge(&out, &lower), 0);
	assert_int_equal(policy_merge(&out, &upper), 0);

	assert_int_equal(out.mode, CORDON_MODE_FULL_ACCESS);             /* set above: wins */
	assert_int_equal(out.network, CORDON_NETWORK_ON);                /* unset above: kept */
	assert_false(out.default_protect);                               /* unset above: kept */
	assert_false(out.env_clear);                                     /* never set */
	assert_string_equal(out.workspace, "/lower/ws");
	assert_int_equal(out.limits[CORDON_LIMIT_MEMORY], 5);            /* set above: wins */
	assert_int_equal(out.limits[CORDON_LIMIT_TIMEOUT_MS], 60000);    /* unset above: kept */
	assert_int_equal(out.set, lower.set | upper.set);

	/* Lists append, lower layer first. */
	assert_int_equal(out.writable.n, 2);
	assert_string_equal(out.writable.v[0], "/lower/w");
	assert_string_equal(out.writable.v[1], "/upper/w");
	assert_null(out.writable.v[2]);
	assert_int_equal(out.deny_read.n, 1);
	assert_int_equal(out.env_keep.n, 1);
	assert_string_equal(out.env_keep.v[0], "LOWER");
	assert_int_equal(out.env_set.n, 1);

	/* The sources are copied, not moved. */
	assert_int_equal(lower.writable.n, 1);
	assert_string_equal(upper.writable.v[0], "/upper/w");

	/* A layer that sets a scalar to false overrides true below it. */
	struct cordon_policy off;
	policy_init(&off);
	off.default_deny_read = false;
	off.allow_degraded = false;
	off.set = PF_DEFAULT_DENY_READ;
	out.allow_degraded = true;
	assert_int_equal(policy_merge(&out, &off), 0);
	assert_false(out.default_deny_read);
	assert_true(out.allow_degraded);

	/* A later workspace replaces an earlier one. */
	struct cordon_policy ws;
	policy_init(&ws);
	ws.workspace = strdup("/upper/ws");
	ws.set = PF_WORKSPACE;
	assert_int_equal(policy_merge(&out, &ws), 0);
	assert_string_equal(out.workspace, "/upper/ws");

	policy_release(&ws);
	policy_release(&off);
	policy_release(&out);
	policy_release(&lower);
	policy_release(&upper);
}

static void test_errors(void **state)
{
	(void)state;
	struct cordon_error *err = NULL;
	assert_int_equal(cerr_set(&err, ENOENT, "open `%s`", "/x"), -1);
	assert_int_equal(err->code, ENOENT);
	assert_string_equal(err->message, "open `/x`");
	/* The first error wins: a later one does not replace it. */
	assert_int_equal(cerr_set(&err, EINVAL, "second"), -1);
	assert_string_equal(err->message, "open `/x`");
	assert_int_equal(cerr_prefix(&err, "config `%s`", "a.json"), -1);
	assert_string_equal(err->message, "config `a.json`: open `/x`");
	assert_int_equal(cerr_hint(&err, "create it"), -1);
	assert_string_equal(err->hint, "create it");
	cordon_error_free(err);
	err = NULL;

	assert_int_equal(cerr_sys(&err, ENOENT, "stat `%s`", "/y"), -1);
	assert_contains(err->message, "stat `/y`: ");
	assert_contains(err->message, strerror(ENOENT));
	cordon_error_free(err);

	/* NULL err and no error yet: nothing to do, still -1. */
	assert_int_equal(cerr_set(NULL, EINVAL, "dropped"), -1);
	err = NULL;
	assert_int_equal(cerr_prefix(&err, "ctx"), -1);
	assert_null(err);
	cordon_error_free(NULL);
}

static void test_strv(void **state)
{
	(void)state;
	struct strv sv = {0};
	assert_false(strv_contains(&sv, "a"));
	for (int i = 0; i < 100; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "s%d", i);
		assert_int_equal(strv_push(&sv, buf), 0);
		assert_null(sv.v[sv.n]);
	}
	assert_int_equal(sv.n, 100);
	assert_string_equal(sv.v[99], "s99");
	assert_true(strv_contains(&sv, "s42"));
	assert_false(strv_contains(&sv, "s100"));
	assert_int_equal(strv_push_owned(&sv, NULL), -1);
	struct strv copy = {0};
	assert_int_equal(strv_extend(&copy, &sv), 0);
	assert_int_equal(copy.n, 100);
	assert_true(copy.v[0] != sv.v[0]);
	strv_clear(&sv);
	assert_int_equal(sv.n, 0);
	assert_null(sv.v);
	assert_string_equal(copy.v[0], "s0");
	strv_clear(&copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_parse_seconds),
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_network_names),
		cmocka_unit_test(test_limit_names),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_setters_validate),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
