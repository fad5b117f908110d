// SPDX-License-Identifier: Apache-2.0
/* Audit records (docs/audit.md): each type is one line of valid JSON with the documented fields,
 * whatever bytes its strings hold. */
#include "unit.h"

#include <jansson.h>

#include "core/audit.h"
#include "core/policy.h"

static const struct audit_ctx ctx = {.session = "4f2a9c01d3b7e6a8"};
#define TS 1795379825123LL /* 2026-11-22T20:37:05.123Z */

/* Parses a record: exactly one line, valid JSON, with the common fields. Returns it (decref it). */
static json_t *parse_line(char *line, const char *type)
{
	assert_non_null(line);
	size_t len = strlen(line);
	assert_true(len > 1);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1)); /* one line, whatever the strings held */
	json_error_t e;
	json_t *r = json_loads(line, 0, &e);
	if (!r)
		fail_msg("not JSON (%s): %s", e.text, line);
	free(line);
	assert_string_equal(json_string_value(json_object_get(r, "type")), type);
	assert_string_equal(json_string_value(json_object_get(r, "ts")), "2026-11-22T20:37:05.123Z");
	assert_int_equal(json_integer_value(json_object_get(r, "schema")), AUDIT_SCHEMA);
	assert_string_equal(json_string_value(json_object_get(r, "session")), "4f2a9c01d3b7e6a8");
	return r;
}

static const char *str(json_t *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r, key));
	if (!s)
		fail_msg("no string `%s`", key);
	return s;
}

static void test_time(void **state)
{
	(void)state;
	char buf[32];
	audit_format_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	audit_format_time(TS, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-22T20:37:05.123Z");
	audit_format_time(-1, buf, sizeof(buf)); /* before the epoch: still well formed */
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

static void test_start(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	struct cordon_error *err = NULL;
	assert_int_equal(policy_add_net_rule(&p, false, "registry.npmjs.org", &err), 0);
	assert_int_equal(policy_add_path(&p.writable, "writable", "/var/cache/x", &err), 0);
	p.limits[CORDON_LIMIT_MEMORY] = 1 << 30;
	char *argv[] = {"sh", "-c", "echo \"hi\"\nrm -rf \x01/", NULL};
	const char *layers[] = {"mount-namespace", "landlock-abi-7", NULL};
	json_t *r = parse_line(audit_start(&ctx, TS, "0.1.0", argv, "/home/u/proj", 1000, &p, CORDON_NETWORK_PROXY, layers),
			       "start");
	assert_string_equal(str(r, "version"), "0.1.0");
	assert_string_equal(str(r, "cwd"), "/home/u/proj");
	assert_int_equal(json_integer_value(json_object_get(r, "uid")), 1000);
	json_t *a = json_object_get(r, "argv");
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 2)), "echo \"hi\"\nrm -rf \x01/");
	json_t *pol = json_object_get(r, "policy");
	assert_string_equal(str(pol, "mode"), "workspace-write");
	assert_string_equal(str(pol, "network"), "proxy");
	assert_true(json_is_null(json_object_get(pol, "workspace")) || !json_object_get(pol, "workspace"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(pol, "allow"), 0)), "registry.npmjs.org");
	assert_string_equal(json_string_value(json_array_get(json_object_get(pol, "writable"), 0)), "/var/cache/x");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(pol, "limits"), "memory")), 1 << 30);
	assert_true(json_is_true(json_object_get(pol, "default_protect")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "layers"), 1)), "landlock-abi-7");
	json_decref(r);
	policy_release(&p);
}

static void test_denial(void **state)
{
	(void)state;
	json_t *r = parse_line(audit_denial(&ctx, TS, AUDIT_DENY_WRITE, "/home/u/.bashrc", 0, "outside writable roots"),
			       "denial");
	assert_string_equal(str(r, "kind"), "write");
	assert_string_equal(str(r, "target"), "/home/u/.bashrc");
	assert_null(json_object_get(r, "port"));
	assert_string_equal(str(r, "rule"), "outside writable roots");
	json_decref(r);
	r = parse_line(audit_denial(&ctx, TS, AUDIT_DENY_CONNECT, "evil.test", 443, "--deny *.test"), "denial");
	assert_string_equal(str(r, "kind"), "connect");
	assert_int_equal(json_integer_value(json_object_get(r, "port")), 443);
	json_decref(r);
	static const char *const kinds[] = {"write", "read", "connect", "unix-connect", "syscall", "dns"};
	for (int k = AUDIT_DENY_WRITE; k <= AUDIT_DENY_DNS; k++)
		assert_string_equal(audit_denial_kind_name((enum audit_denial_kind)k), kinds[k]);
	assert_string_equal(audit_denial_kind_name((enum audit_denial_kind)99), "?");
}

static void test_net(void **state)
{
	(void)state;
	json_t *r = parse_line(audit_net(&ctx, TS, "registry.npmjs.org", 443, "104.16.0.35", true, 812, 1 << 20, 95),
			       "net");
	assert_string_equal(str(r, "host"), "registry.npmjs.org");
	assert_int_equal(json_integer_value(json_object_get(r, "port")), 443);
	assert_string_equal(str(r, "address"), "104.16.0.35");
	assert_string_equal(str(r, "verdict"), "allowed");
	assert_int_equal(json_integer_value(json_object_get(r, "bytes_out")), 812);
	assert_int_equal(json_integer_value(json_object_get(r, "bytes_in")), 1 << 20);
	assert_int_equal(json_integer_value(json_object_get(r, "duration_ms")), 95);
	json_decref(r);
	r = parse_line(audit_net(&ctx, TS, "evil.test", 80, NULL, false, 0, 0, 0), "net");
	assert_string_equal(str(r, "verdict"), "denied");
	assert_true(!json_object_get(r, "address") || json_is_null(json_object_get(r, "address")));
	json_decref(r);
}

static void test_file(void **state)
{
	(void)state;
	json_t *r = parse_line(audit_file(&ctx, TS, AUDIT_RENAMED, "/w/new\nname", "/w/old"), "file");
	assert_string_equal(str(r, "change"), "renamed");
	assert_string_equal(str(r, "path"), "/w/new\nname");
	assert_string_equal(str(r, "from"), "/w/old");
	json_decref(r);
	r = parse_line(audit_file(&ctx, TS, AUDIT_CREATED, "/w/a.c", NULL), "file");
	assert_string_equal(str(r, "change"), "created");
	json_decref(r);
}

static void test_end(void **state)
{
	(void)state;
	json_t *r = parse_line(audit_end(&ctx, TS, 137, 9, 2500, 1200, 64 << 20), "end");
	assert_int_equal(json_integer_value(json_object_get(r, "exit_status")), 137);
	assert_int_equal(json_integer_value(json_object_get(r, "signal")), 9);
	assert_int_equal(json_integer_value(json_object_get(r, "wall_ms")), 2500);
	assert_int_equal(json_integer_value(json_object_get(r, "cpu_ms")), 1200);
	assert_int_equal(json_integer_value(json_object_get(r, "peak_memory")), 64 << 20);
	json_decref(r);
}

/* A NULL where a string is required is refused (NULL), not written as a broken record. */
static void test_missing_fields(void **state)
{
	(void)state;
	assert_null(audit_file(&ctx, TS, AUDIT_CREATED, NULL, NULL));
	assert_null(audit_net(&ctx, TS, NULL, 80, NULL, false, 0, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),   cmocka_unit_test(test_start), cmocka_unit_test(test_denial),
		cmocka_unit_test(test_net),    cmocka_unit_test(test_file),  cmocka_unit_test(test_end),
		cmocka_unit_test(test_missing_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
