// SPDX-License-Identifier: Apache-2.0
/* The audit sink: where the log goes, one record a line appended, denials counted once each with a
 * cap, the report's JSON, and files written whole or not at all. */
#include "unit.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit_log.h"

static char dir[] = "/tmp/cordon-test-audit-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_default_dir(void **state)
{
	(void)state;
	char out[PATH_MAX];
	setenv("XDG_STATE_HOME", "/x/state", 1);
	assert_int_equal(audit_default_dir(out, sizeof(out)), 0);
	assert_string_equal(out, "/x/state/cordon/audit");
	setenv("XDG_STATE_HOME", "relative", 1); /* not absolute: ignored, as the spec says */
	setenv("HOME", "/home/u", 1);
	assert_int_equal(audit_default_dir(out, sizeof(out)), 0);
	assert_string_equal(out, "/home/u/.local/state/cordon/audit");
	unsetenv("XDG_STATE_HOME");
}

/* The default daily file is made under XDG_STATE_HOME with private modes, and appended to. */
static void test_default_file_and_modes(void **state)
{
	(void)state;
	char xdg[PATH_MAX / 2];
	snprintf(xdg, sizeof(xdg), "%s/state", dir);
	setenv("XDG_STATE_HOME", xdg, 1);
	struct audit_sink *s = NULL;
	struct cordon_error *err = NULL;
	assert_int_equal(audit_sink_open(NULL, true, &s, &err), 0);
	const char *path = audit_sink_path(s);
	assert_non_null(path);
	assert_non_null(strstr(path, "/state/cordon/audit/"));
	assert_non_null(strstr(path, ".jsonl"));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s/cordon/audit", xdg);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	audit_sink_write(s, audit_end(audit_sink_ctx(s), 0, 0, 0, 1, 1, 1));
	char keep[PATH_MAX];
	snprintf(keep, sizeof(keep), "%s", path);
	audit_sink_close(s);
	assert_int_equal(audit_sink_open(NULL, true, &s, &err), 0);
	audit_sink_write(s, audit_end(audit_sink_ctx(s), 0, 0, 0, 1, 1, 1));
	audit_sink_close(s);
	assert_int_equal(count_lines(slurp(keep)), 2);
	unsetenv("XDG_STATE_HOME");
}

/* Each distinct denial is logged once and counted; the report carries the counts. */
static void test_denials_counted_once(void **state)
{
	(void)state;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/denials.jsonl", dir);
	struct audit_sink *s = NULL;
	struct cordon_error *err = NULL;
	assert_int_equal(audit_sink_open(path, true, &s, &err), 0);
	for (int i = 0; i < 5; i++)
		audit_sink_denial(s, AUDIT_DENY_WRITE, "/etc/passwd", 0, "outside writable roots", 1);
	audit_sink_denial(s, AUDIT_DENY_CONNECT, "evil.example", 443, "denied by --deny evil.example", 3);
	audit_sink_denial(s, AUDIT_DENY_CONNECT, "evil.example", 80, "denied by --deny evil.example", 1);
	const struct audit_denial_entry *d;
	unsigned long dropped = 99;
	assert_int_equal(audit_sink_denials(s, &d, &dropped), 3);
	assert_int_equal(dropped, 0);
	assert_int_equal(d[0].count, 5);
	assert_int_equal(d[1].count, 3);
	assert_int_equal(d[2].port, 80);
	assert_int_equal(count_lines(slurp(path)), 3);

	char *text = audit_sink_report(s, 1, 0, false, 42, NULL);
	assert_non_null(text);
	json_error_t e;
	json_t *r = json_loads(text, 0, &e);
	free(text);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "exit_status")), 1);
	assert_true(json_is_false(json_object_get(r, "timed_out")));
	assert_string_equal(json_string_value(json_object_get(r, "session")), audit_sink_ctx(s)->session);
	json_t *arr = json_object_get(r, "denials");
	assert_int_equal(json_array_size(arr), 3);
	json_t *w = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(w, "kind")), "write");
	assert_int_equal(json_integer_value(json_object_get(w, "count")), 5);
	assert_null(json_object_get(w, "port"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "port")), 443);
	json_decref(r);

	FILE *f = tmpfile();
	audit_sink_print_denials(s, f);
	rewind(f);
	char line[256];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "cordon: denied write /etc/passwd: outside writable roots (5 times)\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "cordon: denied connect evil.example port 443: denied by --deny evil.example "
				  "(3 times)\n");
	fclose(f);
	audit_sink_close(s);
}

/* Past the cap, denials are counted as dropped and not logged. */
static void test_denial_cap(void **state)
{
	(void)state;
	struct audit_sink *s = NULL;
	struct cordon_error *err = NULL;
	assert_int_equal(audit_sink_open(NULL, false, &s, &err), 0);
	char target[64];
	for (int i = 0; i < AUDIT_MAX_DENIALS_PER_KIND + 10; i++) {
		snprintf(target, sizeof(target), "/x/%d", i);
		audit_sink_denial(s, AUDIT_DENY_WRITE, target, 0, "r", 1);
	}
	audit_sink_denial(s, AUDIT_DENY_WRITE, "/x/0", 0, "r", 1); /* a kept one still counts */
	/* A flood of one kind does not hide another. */
	audit_sink_denial(s, AUDIT_DENY_SYSCALL, "bpf", 0, "blocked system call", 1);
	const struct audit_denial_entry *d;
	unsigned long dropped;
	assert_int_equal(audit_sink_denials(s, &d, &dropped), AUDIT_MAX_DENIALS_PER_KIND + 1);
	assert_int_equal(dropped, 10);
	assert_int_equal(d[0].count, 2);
	assert_int_equal(d[AUDIT_MAX_DENIALS_PER_KIND].kind, AUDIT_DENY_SYSCALL);
	assert_null(audit_sink_path(s));
	assert_false(audit_sink_logging(s));
	audit_sink_close(s);
}

/* A log path that is a symlink or a directory is refused, naming it. */
static void test_bad_log_paths(void **state)
{
	(void)state;
	char link[PATH_MAX], target[PATH_MAX];
	snprintf(link, sizeof(link), "%s/link.jsonl", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	assert_int_equal(symlink(target, link), 0);
	struct audit_sink *s = NULL;
	struct cordon_error *err = NULL;
	assert_int_equal(audit_sink_open(link, true, &s, &err), -1);
	assert_non_null(strstr(err->message, link));
	assert_int_equal(access(target, F_OK), -1); /* nothing created through the link */
	cordon_error_free(err);
	err = NULL;
	assert_int_equal(audit_sink_open(dir, true, &s, &err), -1);
	assert_non_null(strstr(err->message, dir));
	cordon_error_free(err);
}

static void test_atomic_file(void **state)
{
	(void)state;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/report.json", dir);
	struct cordon_error *err = NULL;
	assert_int_equal(audit_write_file_atomic(path, "{\"a\": 1}", &err), 0);
	assert_string_equal(slurp(path), "{\"a\": 1}\n");
	assert_int_equal(audit_write_file_atomic(path, "{}", &err), 0);
	assert_string_equal(slurp(path), "{}\n");
	char missing[PATH_MAX];
	snprintf(missing, sizeof(missing), "%s/no/such/dir/r.json", dir);
	assert_int_equal(audit_write_file_atomic(missing, "{}", &err), -1);
	assert_non_null(strstr(err->message, missing));
	cordon_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_dir),
		cmocka_unit_test(test_default_file_and_modes),
		cmocka_unit_test(test_denials_counted_once),
		cmocka_unit_test(test_denial_cap),
		cmocka_unit_test(test_bad_log_paths),
		cmocka_unit_test(test_atomic_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
