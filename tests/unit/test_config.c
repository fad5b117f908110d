// SPDX-License-Identifier: Apache-2.0
/* JSON configuration files: the full schema, and an error naming the file and key for each mistake. */
#include "unit.h"

#include <errno.h>

#include "common/error.h"
#include "core/config.h"
#include "core/policy.h"

#define ORIGIN "/etc/cordon/cfg.json"

/* Parses text into a fresh policy (released by the caller) and returns config_parse's result. */
static int parse_n(const char *text, size_t len, struct cordon_policy *p, struct cordon_error **err)
{
	policy_init(p);
	*err = NULL;
	int rc = config_parse(text, len, ORIGIN, p, err);
	/* The convention: an error is set exactly when the call fails. */
	if (rc < 0 && !*err)
		fail_msg("config_parse failed without an error for: %s", text);
	if (rc == 0 && *err)
		fail_msg("config_parse succeeded but set an error (%s) for: %s", (*err)->message, text);
	return rc;
}

static int parse(const char *text, struct cordon_policy *p, struct cordon_error **err)
{
	return parse_n(text, strlen(text), p, err);
}

/* Expects text to be rejected with a message holding each of the given strings (NULL-terminated). */
static void expect_error(const char *text, const char *const *needles)
{
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	if (parse(text, &p, &err) != -1) {
		policy_release(&p);
		fail_msg("accepted: %s", text);
	}
	int code = err->code;
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", err->message);
	cordon_error_free(err);
	policy_release(&p);
	assert_int_equal(code, EINVAL);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(msg, needles[i]))
			fail_msg("for %s: expected `%s` in the message `%s`", text, needles[i], msg);
}

#define EXPECT_ERROR(text, ...) expect_error((text), (const char *const[]){__VA_ARGS__, NULL})

static const char full_config[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"mode\": \"read-only\",\n"
	"  \"network\": \"on\",\n"
	"  \"workspace\": \"/home/u/proj\",\n"
	"  \"writable\": [\"/var/cache/build\", \"~/.cache/pip\"],\n"
	"  \"protect\": [\".env\", \"/home/u/proj/secrets\"],\n"
	"  \"deny_read\": [\"~/.private\", \"/etc/shadow\"],\n"
	"  \"default_protect\": false,\n"
	"  \"default_deny_read\": false,\n"
	"  \"allow_degraded\": true,\n"
	"  \"audit_reads\": true,\n"
	"  \"env\": {\n"
	"    \"set\": {\"CI\": \"1\", \"EMPTY\": \"\", \"WITH_EQ\": \"a=b\"},\n"
	"    \"keep\": [\"GITHUB_TOKEN\"],\n"
	"    \"clear\": true\n"
	"  },\n"
	"  \"limits\": {\n"
	"    \"timeout\": 30,\n"
	"    \"memory\": 1073741824,\n"
	"    \"max_procs\": 256,\n"
	"    \"cpu_seconds\": 60,\n"
	"    \"file_size\": 1048576\n"
	"  }\n"
	"}\n";

static void test_full_config(void **state)
{
	(void)state;
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse(full_config, &p, &err), 0);
	assert_int_equal(p.mode, CORDON_MODE_READ_ONLY);
	assert_int_equal(p.network, CORDON_NETWORK_ON);
	assert_string_equal(p.workspace, "/home/u/proj");
	assert_int_equal(p.writable.n, 2);
	assert_string_equal(p.writable.v[0], "/var/cache/build");
	assert_string_equal(p.writable.v[1], "~/.cache/pip");
	assert_int_equal(p.protect.n, 2);
	assert_string_equal(p.protect.v[0], ".env");
	assert_string_equal(p.protect.v[1], "/home/u/proj/secrets");
	assert_int_equal(p.deny_read.n, 2);
	assert_string_equal(p.deny_read.v[0], "~/.private");
	assert_false(p.default_protect);
	assert_false(p.default_deny_read);
	assert_true(p.allow_degraded);
	assert_true(p.audit_reads);
	assert_true(p.set & PF_AUDIT_READS);
	assert_int_equal(p.env_set.n, 3);
	assert_string_equal(p.env_set.v[0], "CI=1");
	assert_string_equal(p.env_set.v[1], "EMPTY=");
	assert_string_equal(p.env_set.v[2], "WITH_EQ=a=b");
	assert_int_equal(p.env_keep.n, 1);
	assert_string_equal(p.env_keep.v[0], "GITHUB_TOKEN");
	assert_true(p.env_clear);
	assert_int_equal(p.limits[CORDON_LIMIT_TIMEOUT_MS], 30000);
	assert_int_equal(p.limits[CORDON_LIMIT_MEMORY], 1073741824);
	assert_int_equal(p.limits[CORDON_LIMIT_MAX_PROCS], 256);
	assert_int_equal(p.limits[CORDON_LIMIT_CPU_SECONDS], 60);
	assert_int_equal(p.limits[CORDON_LIMIT_FILE_SIZE], 1048576);
	unsigned want = PF_MODE | PF_NETWORK | PF_WORKSPACE | PF_DEFAULT_PROTECT | PF_DEFAULT_DENY_READ |
			PF_ENV_CLEAR | PF_ALLOW_DEGRADED | PF_AUDIT_READS;
	for (int i = 0; i < POLICY_NLIMITS; i++)
		want |= PF_LIMIT0 << i;
	assert_int_equal(p.set, want);
	policy_release(&p);
}

static void test_only_given_keys_are_set(void **state)
{
	(void)state;
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse("{}", &p, &err), 0);
	assert_int_equal(p.set, 0);
	assert_int_equal(p.mode, CORDON_MODE_WORKSPACE_WRITE);
	policy_release(&p);

	/* Setting a value equal to the default still marks it: it must override a lower layer. */
	assert_int_equal(parse("{\"network\": \"off\", \"limits\": {\"memory\": 0}, \"version\": 1}", &p, &err), 0);
	assert_int_equal(p.set, PF_NETWORK | (PF_LIMIT0 << CORDON_LIMIT_MEMORY));
	assert_int_equal(p.network, CORDON_NETWORK_OFF);
	policy_release(&p);

	/* Lists given as empty arrays change nothing. */
	assert_int_equal(parse("{\"writable\": [], \"env\": {\"set\": {}, \"keep\": []}}", &p, &err), 0);
	assert_int_equal(p.set, 0);
	assert_int_equal(p.writable.n, 0);
	policy_release(&p);
}

static void test_wrong_types(void **state)
{
	(void)state;
	EXPECT_ERROR("{\"mode\": 1}", ORIGIN, "`mode`");
	EXPECT_ERROR("{\"mode\": \"fast\"}", ORIGIN, "`mode`", "fast");
	EXPECT_ERROR("{\"network\": true}", ORIGIN, "`network`");
	EXPECT_ERROR("{\"network\": \"maybe\"}", ORIGIN, "`network`", "maybe");
	EXPECT_ERROR("{\"workspace\": []}", ORIGIN, "`workspace`");
	EXPECT_ERROR("{\"workspace\": \"\"}", ORIGIN, "`workspace`", "empty");
	EXPECT_ERROR("{\"writable\": \"/x\"}", ORIGIN, "`writable`");
	EXPECT_ERROR("{\"writable\": [\"/ok\", 1]}", ORIGIN, "`writable`");
	EXPECT_ERROR("{\"writable\": [\"\"]}", ORIGIN, "`writable`", "empty");
	EXPECT_ERROR("{\"protect\": {}}", ORIGIN, "`protect`");
	EXPECT_ERROR("{\"protect\": [\"..\"]}", ORIGIN, "`protect`", "..");
	EXPECT_ERROR("{\"deny_read\": [null]}", ORIGIN, "`deny_read`");
	EXPECT_ERROR("{\"deny_read\": 5}", ORIGIN, "`deny_read`");
	EXPECT_ERROR("{\"default_protect\": \"yes\"}", ORIGIN, "`default_protect`");
	EXPECT_ERROR("{\"default_deny_read\": 0}", ORIGIN, "`default_deny_read`");
	EXPECT_ERROR("{\"allow_degraded\": null}", ORIGIN, "`allow_degraded`");
	EXPECT_ERROR("{\"audit_reads\": \"yes\"}", ORIGIN, "`audit_reads`");
	EXPECT_ERROR("{\"env\": []}", ORIGIN, "`env`");
	EXPECT_ERROR("{\"env\": {\"set\": [\"A=1\"]}}", ORIGIN, "`env.set`");
	EXPECT_ERROR("{\"env\": {\"set\": {\"A\": 1}}}", ORIGIN, "`env.set`");
	EXPECT_ERROR("{\"env\": {\"set\": {\"1A\": \"x\"}}}", ORIGIN, "`env.set`", "1A");
	EXPECT_ERROR("{\"env\": {\"set\": {\"A-B\": \"x\"}}}", ORIGIN, "`env.set`", "A-B");
	EXPECT_ERROR("{\"env\": {\"set\": {\"\": \"x\"}}}", ORIGIN, "`env.set`");
	EXPECT_ERROR("{\"env\": {\"keep\": \"A\"}}", ORIGIN, "`env.keep`");
	EXPECT_ERROR("{\"env\": {\"keep\": [\"A=B\"]}}", ORIGIN, "`env.keep`", "A=B");
	EXPECT_ERROR("{\"env\": {\"clear\": \"true\"}}", ORIGIN, "`env.clear`");
	EXPECT_ERROR("{\"limits\": []}", ORIGIN, "`limits`");
	EXPECT_ERROR("{\"limits\": {\"timeout\": \"30\"}}", ORIGIN, "`limits.timeout`");
	EXPECT_ERROR("{\"limits\": {\"timeout\": 0}}", ORIGIN, "`limits.timeout`");
	EXPECT_ERROR("{\"limits\": {\"timeout\": -2.5}}", ORIGIN, "`limits.timeout`");
	EXPECT_ERROR("{\"limits\": {\"timeout\": 1e10}}", ORIGIN, "`limits.timeout`");
	EXPECT_ERROR("{\"limits\": {\"timeout\": null}}", ORIGIN, "`limits.timeout`");
	EXPECT_ERROR("{\"version\": \"1\"}", ORIGIN, "`version`");
	EXPECT_ERROR("{\"allow\": \"example.com\"}", ORIGIN, "`allow`");
	EXPECT_ERROR("{\"allow\": [\"ok.test\", 443]}", ORIGIN, "`allow`");
	EXPECT_ERROR("{\"allow\": [\"a b\"]}", ORIGIN, "`allow`", "a b");
	EXPECT_ERROR("{\"allow\": [\"localhost\"]}", ORIGIN, "`allow`", "localhost");
	EXPECT_ERROR("{\"deny\": [\"x.test:99999\"]}", ORIGIN, "`deny`", "99999");
}

/* The network rules: kept as given, in order, and they make `proxy` the mode unless one is chosen. */
static void test_network_rules(void **state)
{
	(void)state;
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	enum cordon_network n;
	assert_int_equal(parse("{\"allow\": [\"registry.npmjs.org\", \"*.pypi.org:443\", \"localhost:5432\"],"
			       " \"deny\": [\"evil.pypi.org\"]}", &p, &err), 0);
	assert_int_equal(p.net_allow.n, 3);
	assert_string_equal(p.net_allow.v[1], "*.pypi.org:443");
	assert_int_equal(p.net_deny.n, 1);
	assert_false(p.set & PF_NETWORK);
	assert_int_equal(policy_network_in_force(&p, &n, &err), 0);
	assert_int_equal(n, CORDON_NETWORK_PROXY);
	policy_release(&p);
	/* Rules with a mode that cannot enforce them: an error naming both, not rules ignored. */
	assert_int_equal(parse("{\"network\": \"on\", \"allow\": [\"a.test\"]}", &p, &err), 0);
	assert_int_equal(policy_network_in_force(&p, &n, &err), -1);
	assert_non_null(strstr(err->message, "--allow `a.test`"));
	assert_non_null(strstr(err->message, "--network on"));
	cordon_error_free(err);
	err = NULL;
	policy_release(&p);
	assert_int_equal(parse("{\"network\": \"proxy\"}", &p, &err), 0);
	assert_int_equal(policy_network_in_force(&p, &n, &err), 0);
	assert_int_equal(n, CORDON_NETWORK_PROXY); /* an empty allowlist: nothing reachable */
	policy_release(&p);
	/* full-access implies the host's network only when no mode and no rules were given. */
	assert_int_equal(parse("{\"mode\": \"full-access\"}", &p, &err), 0);
	assert_int_equal(policy_network_in_force(&p, &n, &err), 0);
	assert_int_equal(n, CORDON_NETWORK_ON);
	policy_release(&p);
	assert_int_equal(parse("{\"mode\": \"full-access\", \"deny\": [\"x.test\"]}", &p, &err), 0);
	assert_int_equal(policy_network_in_force(&p, &n, &err), 0);
	assert_int_equal(n, CORDON_NETWORK_PROXY);
	policy_release(&p);
}

/* config.h documents messages of the form "FILE: key `limits.memory`: ...". */
static void test_wrong_types_integer_limits(void **state)
{
	(void)state;
	EXPECT_ERROR("{\"limits\": {\"memory\": \"1G\"}}", ORIGIN, "`limits.memory`");
	EXPECT_ERROR("{\"limits\": {\"memory\": -1}}", ORIGIN, "`limits.memory`");
	EXPECT_ERROR("{\"limits\": {\"max_procs\": 1.5}}", ORIGIN, "`limits.max_procs`");
	EXPECT_ERROR("{\"limits\": {\"cpu_seconds\": true}}", ORIGIN, "`limits.cpu_seconds`");
	EXPECT_ERROR("{\"limits\": {\"file_size\": null}}", ORIGIN, "`limits.file_size`");
}

/* In a config the JSON key is the whole variable name: "A=B" is not a name, and must not turn into
 * A set to "B=x" as it would on a command line. */
static void test_env_set_name_with_equals(void **state)
{
	(void)state;
	EXPECT_ERROR("{\"env\": {\"set\": {\"A=B\": \"x\"}}}", ORIGIN, "`env.set`", "A=B");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	EXPECT_ERROR("{\"mods\": \"read-only\"}", ORIGIN, "`mods`", "unknown key");
	EXPECT_ERROR("{\"Mode\": \"read-only\"}", ORIGIN, "`Mode`", "unknown key");
	EXPECT_ERROR("{\"deny-read\": []}", ORIGIN, "`deny-read`", "unknown key");
	EXPECT_ERROR("{\"env\": {\"sett\": {}}}", ORIGIN, "env", "unknown key", "sett");
	EXPECT_ERROR("{\"limits\": {\"memroy\": 1}}", ORIGIN, "limits", "unknown key", "memroy");
	EXPECT_ERROR("{\"limits\": {\"timeout_ms\": 1}}", ORIGIN, "limits", "unknown key", "timeout_ms");
	/* An unknown key after valid ones is still an error. */
	EXPECT_ERROR("{\"mode\": \"read-only\", \"netwrok\": \"on\"}", ORIGIN, "`netwrok`");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	/* A second "mode" could silently undo the first: duplicates are rejected at every level. */
	EXPECT_ERROR("{\"mode\": \"read-only\", \"mode\": \"full-access\"}", ORIGIN ":1:", "duplicate");
	EXPECT_ERROR("{\n\"env\": {\"clear\": true,\n \"clear\": false}}", ORIGIN ":3:", "duplicate");
	EXPECT_ERROR("{\"limits\": {\"memory\": 1, \"memory\": 2}}", ORIGIN ":", "duplicate");
}

static void test_malformed_json(void **state)
{
	(void)state;
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse("{\n  \"mode\": \"read-only\",\n  oops\n}\n", &p, &err), -1);
	/* FILE:LINE:COL: message */
	const char *prefix = ORIGIN ":3:";
	if (strncmp(err->message, prefix, strlen(prefix)) != 0)
		fail_msg("expected `%s` at the start of `%s`", prefix, err->message);
	const char *col = err->message + strlen(prefix);
	assert_true(col[0] >= '0' && col[0] <= '9');
	while (*col >= '0' && *col <= '9')
		col++;
	assert_true(strncmp(col, ": ", 2) == 0);
	assert_true(strlen(col) > 2);
	cordon_error_free(err);
	policy_release(&p);

	EXPECT_ERROR("", ORIGIN ":");
	EXPECT_ERROR("{", ORIGIN ":1:");
	EXPECT_ERROR("{\"mode\": \"read-only\",}", ORIGIN ":1:");
	EXPECT_ERROR("{\"mode\": 'read-only'}", ORIGIN ":1:");
	EXPECT_ERROR("{} {}", ORIGIN ":1:");
	EXPECT_ERROR("{\"a\": \"\xff\xfe\"}", ORIGIN ":1:");
	/* The top level must be an object. */
	EXPECT_ERROR("[]", ORIGIN, "object");
	EXPECT_ERROR("\"mode\"", ORIGIN);
	EXPECT_ERROR("null", ORIGIN);
}

static void test_timeout_float(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		uint64_t want_ms;
	} cases[] = {
		{"{\"limits\": {\"timeout\": 2.5}}", 2500},
		{"{\"limits\": {\"timeout\": 0.25}}", 250},
		{"{\"limits\": {\"timeout\": 30}}", 30000},
		{"{\"limits\": {\"timeout\": 1.0005}}", 1001},  /* rounded to the nearest ms */
		{"{\"limits\": {\"timeout\": 0.0001}}", 1},     /* never rounded down to "no limit" */
		{"{\"limits\": {\"timeout\": 1e3}}", 1000000},
		{"{\"limits\": {\"timeout\": 1e9}}", 1000000000000ull},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cordon_policy p;
		struct cordon_error *err = NULL;
		assert_int_equal(parse(cases[i].json, &p, &err), 0);
		if (p.limits[CORDON_LIMIT_TIMEOUT_MS] != cases[i].want_ms)
			fail_msg("%s: timeout %llu ms, want %llu", cases[i].json,
				 (unsigned long long)p.limits[CORDON_LIMIT_TIMEOUT_MS],
				 (unsigned long long)cases[i].want_ms);
		assert_true(p.set & (PF_LIMIT0 << CORDON_LIMIT_TIMEOUT_MS));
		policy_release(&p);
	}
}

static void test_version(void **state)
{
	(void)state;
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse("{\"version\": 1}", &p, &err), 0);
	policy_release(&p);
	EXPECT_ERROR("{\"version\": 2}", ORIGIN, "`version`");
	EXPECT_ERROR("{\"version\": 0}", ORIGIN, "`version`");
	EXPECT_ERROR("{\"version\": 1.5}", ORIGIN, "`version`");
	EXPECT_ERROR("{\"version\": null}", ORIGIN, "`version`");
	/* A version 2 file is refused before anything in it is trusted, wherever the key is. */
	EXPECT_ERROR("{\"mode\": \"full-access\", \"version\": 2}", ORIGIN, "`version`");
}

static void test_nul_bytes(void **state)
{
	(void)state;
	/* An escaped NUL would cut a path short where C reads it: "/home/u\0/anything" is "/home/u". */
	EXPECT_ERROR("{\"workspace\": \"/home/u\\u0000/x\"}", ORIGIN);
	EXPECT_ERROR("{\"writable\": [\"/a\\u0000b\"]}", ORIGIN);
	EXPECT_ERROR("{\"env\": {\"set\": {\"A\": \"x\\u0000y\"}}}", ORIGIN);
	EXPECT_ERROR("{\"env\": {\"set\": {\"A\\u0000B\": \"x\"}}}", ORIGIN);
	EXPECT_ERROR("{\"mode\\u0000x\": \"read-only\"}", ORIGIN);

	/* A raw NUL byte inside the buffer, in a string and outside one. */
	static const char raw1[] = "{\"workspace\": \"/a\0b\"}";
	static const char raw2[] = "{\"mode\": \"read-only\"}\0{\"mode\": \"full-access\"}";
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse_n(raw1, sizeof(raw1) - 1, &p, &err), -1);
	assert_contains(err->message, ORIGIN);
	assert_null(p.workspace);
	cordon_error_free(err);
	policy_release(&p);
	assert_int_equal(parse_n(raw2, sizeof(raw2) - 1, &p, &err), -1);
	assert_contains(err->message, ORIGIN);
	cordon_error_free(err);
	policy_release(&p);
}

static void test_size_cap(void **state)
{
	(void)state;
	size_t n = CONFIG_MAX_BYTES + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{}", 2);

	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse_n(big, n, &p, &err), -1);
	assert_int_equal(err->code, EFBIG);
	assert_contains(err->message, ORIGIN);
	cordon_error_free(err);
	policy_release(&p);

	/* Exactly at the cap is fine. */
	assert_int_equal(parse_n(big, n - 1, &p, &err), 0);
	policy_release(&p);
	free(big);
}

static void test_parse_is_bounded_by_len(void **state)
{
	(void)state;
	/* Only `len` bytes are read: the text need not be NUL-terminated. */
	static const char text[] = "{\"mode\": \"read-only\"}GARBAGE";
	struct cordon_policy p;
	struct cordon_error *err = NULL;
	assert_int_equal(parse_n(text, strlen("{\"mode\": \"read-only\"}"), &p, &err), 0);
	assert_int_equal(p.mode, CORDON_MODE_READ_ONLY);
	policy_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_only_given_keys_are_set),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_network_rules),
		cmocka_unit_test(test_wrong_types_integer_limits),
		cmocka_unit_test(test_env_set_name_with_equals),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_timeout_float),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_parse_is_bounded_by_len),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
