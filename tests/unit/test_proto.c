// SPDX-License-Identifier: Apache-2.0
/* The daemon protocol's codec (core/proto.c): headers, RUN requests and their pool key, SIGNAL,
 * RESULT and ERROR payloads, each refusal checked for its code and for the field its message names. */
#include "unit.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>

#include "common/error.h"
#include "core/proto.h"

/* ---- helpers ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	int n = vasprintf(&s, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

/* The members every RUN request's options must have, at their defaults (JSON text). */
#define PROCESS_DEFAULT "\"process\":{\"umask\":18,\"nice\":0,\"limits\":{}}"
#define OPTS_DEFAULT                                                                                   \
	"\"no_audit\":false,\"staged\":false,\"verbose\":false,\"config_files\":[],\"tty\":\"none\",\"stdio_closed\":0," \
	PROCESS_DEFAULT

/* A RUN payload; each argument is JSON text (opts: the members of the options object). */
static char *run_json(const char *argv, const char *env, const char *cwd, const char *policy, const char *opts)
{
	return fmt("{\"argv\":%s,\"env\":%s,\"cwd\":%s,\"policy\":%s,\"options\":{%s}}", argv, env, cwd, policy, opts);
}

/* proto_run_parse into a fresh request (released by the caller), checking the error convention. */
static int parse_run(const char *text, struct proto_run *r, struct cordon_error **err)
{
	proto_run_init(r);
	*err = NULL;
	int rc = proto_run_parse(text, strlen(text), r, err);
	if (rc < 0 && !*err)
		fail_msg("proto_run_parse failed without an error for: %s", text);
	if (rc == 0 && *err)
		fail_msg("proto_run_parse succeeded but set an error (%s) for: %s", (*err)->message, text);
	return rc;
}

/* Expects text (freed here) to be refused with `code` and a message holding each needle. */
static void expect_refused(char *text, int code, const char *const *needles)
{
	struct proto_run r;
	struct cordon_error *err = NULL;
	if (parse_run(text, &r, &err) == 0)
		fail_msg("accepted: %s", text);
	for (size_t i = 0; needles[i]; i++)
		if (!strstr(err->message, needles[i]))
			fail_msg("for %s: expected `%s` in the message `%s`", text, needles[i], err->message);
	if (err->code != code)
		fail_msg("for %s: code %d, expected %d (%s)", text, err->code, code, err->message);
	cordon_error_free(err);
	proto_run_release(&r);
	free(text);
}

#define REFUSED(text, code, ...) expect_refused((text), (code), (const char *const[]){__VA_ARGS__, NULL})

static void assert_strv_equal(const struct strv *a, const struct strv *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void assert_nstr_equal(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_policy_equal(const struct cordon_policy *a, const struct cordon_policy *b)
{
	assert_int_equal(a->set, b->set);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->network, b->network);
	assert_nstr_equal(a->workspace, b->workspace);
	assert_strv_equal(&a->writable, &b->writable);
	assert_strv_equal(&a->protect, &b->protect);
	assert_strv_equal(&a->deny_read, &b->deny_read);
	assert_int_equal(a->default_protect, b->default_protect);
	assert_int_equal(a->default_deny_read, b->default_deny_read);
	assert_strv_equal(&a->env_set, &b->env_set);
	assert_strv_equal(&a->env_keep, &b->env_keep);
	assert_strv_equal(&a->net_allow, &b->net_allow);
	assert_strv_equal(&a->net_deny, &b->net_deny);
	assert_int_equal(a->env_clear, b->env_clear);
	for (int i = 0; i < POLICY_NLIMITS; i++)
		assert_int_equal(a->limits[i], b->limits[i]);
	assert_int_equal(a->allow_degraded, b->allow_degraded);
	assert_int_equal(a->audit_reads, b->audit_reads);
}

static void assert_run_equal(const struct proto_run *a, const struct proto_run *b)
{
	assert_policy_equal(&a->policy, &b->policy);
	assert_strv_equal(&a->argv, &b->argv);
	assert_strv_equal(&a->env, &b->env);
	assert_nstr_equal(a->cwd, b->cwd);
	assert_nstr_equal(a->audit, b->audit);
	assert_int_equal(a->no_audit, b->no_audit);
	assert_nstr_equal(a->report, b->report);
	assert_int_equal(a->staged, b->staged);
	assert_nstr_equal(a->session, b->session);
	assert_int_equal(a->verbose, b->verbose);
	assert_strv_equal(&a->config_files, &b->config_files);
	assert_int_equal(a->tty, b->tty);
	assert_int_equal(a->stdio_closed, b->stdio_closed);
}

/* build(r) parses back into a request equal to r whose build is the same bytes. */
static void assert_run_round_trip(const struct proto_run *r)
{
	size_t len = 0, len2 = 0;
	char *text = proto_run_build(r, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	struct proto_run back;
	struct cordon_error *err = NULL;
	if (parse_run(text, &back, &err) < 0)
		fail_msg("%s: does not parse back: %s", text, err->message);
	assert_run_equal(r, &back);
	char *again = proto_run_build(&back, &len2);
	assert_non_null(again);
	assert_int_equal(len, len2);
	assert_string_equal(text, again);
	free(again);
	free(text);
	proto_run_release(&back);
}

/* ---- header ---- */

static void test_header_round_trip(void **state)
{
	(void)state;
	uint8_t hdr[PROTO_HEADER_LEN];
	proto_header_build(hdr, PROTO_RESULT, 0x01020304u);
	static const uint8_t want[PROTO_HEADER_LEN] = {'C', 'R', 'D', 'N', 0, 1, 0, 3, 1, 2, 3, 4};
	assert_memory_equal(hdr, want, sizeof(want));

	static const uint32_t lens[] = {0, 1, 255, 256, 65536, PROTO_MAX_PAYLOAD};
	for (uint16_t t = PROTO_RUN; t <= PROTO_STATUS; t++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct cordon_error *err = NULL;
			uint16_t type = 0;
			uint32_t len = 0xdeadbeef;
			proto_header_build(hdr, t, lens[i]);
			assert_int_equal(proto_header_parse(hdr, &type, &len, &err), 0);
			assert_null(err);
			assert_int_equal(type, t);
			assert_int_equal(len, lens[i]);
		}
}

/* Parses hdr, expecting a refusal with `code` and `needle` in the message; returns the error. */
static struct cordon_error *header_refused(const uint8_t *hdr, int code, const char *needle)
{
	struct cordon_error *err = NULL;
	uint16_t type;
	uint32_t len;
	assert_int_equal(proto_header_parse(hdr, &type, &len, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->code, code);
	assert_contains(err->message, needle);
	return err;
}

static void test_header_refused(void **state)
{
	(void)state;
	uint8_t hdr[PROTO_HEADER_LEN];
	proto_header_build(hdr, PROTO_RUN, 10);
	hdr[3] = 'X';
	cordon_error_free(header_refused(hdr, EPROTO, "bad magic"));

	proto_header_build(hdr, PROTO_RUN, 10);
	hdr[5] = 2; /* version 2 */
	struct cordon_error *err = header_refused(hdr, EPROTONOSUPPORT, "version 2");
	assert_contains(err->message, "speaks 1");
	assert_non_null(err->hint);
	cordon_error_free(err);
	hdr[4] = 1; /* version 258: the high byte counts */
	cordon_error_free(header_refused(hdr, EPROTONOSUPPORT, "version 258"));
	hdr[4] = hdr[5] = 0;
	cordon_error_free(header_refused(hdr, EPROTONOSUPPORT, "version 0, this cordon speaks 1"));

	static const uint16_t bad_types[] = {0, PROTO_STATUS + 1, 0x0101, 0xffff};
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "unknown frame type %u", bad_types[i]);
		proto_header_build(hdr, bad_types[i], 10);
		cordon_error_free(header_refused(hdr, EPROTO, want));
	}

	proto_header_build(hdr, PROTO_RUN, PROTO_MAX_PAYLOAD + 1);
	cordon_error_free(header_refused(hdr, EMSGSIZE, "frame of 8388609 bytes"));
	proto_header_build(hdr, PROTO_RESULT, 0xffffffffu);
	cordon_error_free(header_refused(hdr, EMSGSIZE, "4294967295"));
}

/* ---- RUN ---- */

static const char full_policy[] =
	"{\"version\":1,\"mode\":\"read-only\",\"network\":\"proxy\",\"workspace\":\"/home/u/proj\","
	"\"writable\":[\"/var/cache/build\",\"~/.cache/pip\"],\"protect\":[\".env\",\"/home/u/proj/secrets\"],"
	"\"deny_read\":[\"~/.private\",\"/etc/shadow\"],\"default_protect\":false,\"default_deny_read\":true,"
	"\"allow_degraded\":true,\"audit_reads\":true,"
	"\"env\":{\"set\":{\"CI\":\"1\",\"EMPTY\":\"\",\"EQ\":\"a=b\"},\"keep\":[\"GITHUB_TOKEN\",\"TERM\"],\"clear\":true},"
	"\"limits\":{\"timeout\":2.5,\"memory\":1073741824,\"max_procs\":256,\"cpu_seconds\":60,\"file_size\":1048576},"
	"\"allow\":[\"registry.npmjs.org:443\",\"*.pypi.org\",\"10.0.0.0/8\",\"[::1]:8080\"],\"deny\":[\"evil.example.com\"]}";

static const char full_opts[] =
	"\"audit\":\"/tmp/audit.jsonl\",\"no_audit\":false,\"report\":\"/tmp/report.json\",\"staged\":true,"
	"\"session\":\"s1\",\"verbose\":true,\"config_files\":[\"/etc/cordon/a.json\",\"/home/u/.config/cordon/b.json\"],"
	"\"tty\":\"foreground\",\"stdio_closed\":5,"
	"\"process\":{\"umask\":63,\"nice\":5,\"limits\":{\"nofile\":[1024,4096],\"core\":[0,-1],\"stack\":[-1,-1]}}";

static void check_full(const struct proto_run *r)
{
	const struct cordon_policy *p = &r->policy;
	assert_int_equal(p->mode, CORDON_MODE_READ_ONLY);
	assert_int_equal(p->network, CORDON_NETWORK_PROXY);
	assert_string_equal(p->workspace, "/home/u/proj");
	assert_int_equal(p->writable.n, 2);
	assert_string_equal(p->writable.v[1], "~/.cache/pip");
	assert_string_equal(p->protect.v[0], ".env");
	assert_false(p->default_protect);
	assert_true(p->allow_degraded && p->audit_reads && p->env_clear);
	assert_int_equal(p->env_set.n, 3);
	assert_string_equal(p->env_set.v[2], "EQ=a=b");
	assert_string_equal(p->env_keep.v[1], "TERM");
	assert_int_equal(p->limits[CORDON_LIMIT_TIMEOUT_MS], 2500);
	assert_int_equal(p->limits[CORDON_LIMIT_MEMORY], 1073741824);
	assert_int_equal(p->limits[CORDON_LIMIT_FILE_SIZE], 1048576);
	assert_int_equal(p->net_allow.n, 4);
	assert_string_equal(p->net_allow.v[3], "[::1]:8080");
	assert_string_equal(p->net_deny.v[0], "evil.example.com");
	assert_int_equal(r->argv.n, 5);
	assert_string_equal(r->argv.v[3], "");
	assert_string_equal(r->argv.v[4], "x y");
	assert_int_equal(r->env.n, 3);
	assert_string_equal(r->env.v[2], "EMPTY=");
	assert_string_equal(r->cwd, "/home/u/proj");
	assert_string_equal(r->audit, "/tmp/audit.jsonl");
	assert_string_equal(r->report, "/tmp/report.json");
	assert_true(r->staged && r->verbose && !r->no_audit);
	assert_string_equal(r->session, "s1");
	assert_int_equal(r->config_files.n, 2);
	assert_int_equal(r->tty, PROTO_TTY_FOREGROUND);
	assert_int_equal(r->stdio_closed, 5);
	assert_int_equal(r->umask, 077);
	assert_int_equal(r->nice, 5);
	assert_true(r->has_limit[7] && r->soft[7] == 1024 && r->hard[7] == 4096); /* nofile */
	assert_true(r->has_limit[4] && r->soft[4] == 0 && r->hard[4] == UINT64_MAX); /* core */
	assert_true(r->has_limit[3] && r->soft[3] == UINT64_MAX);                     /* stack */
	assert_false(r->has_limit[0]);
}

static void test_run_round_trip_parsed(void **state)
{
	(void)state;
	char *text = run_json("[\"sh\",\"-c\",\"printf '%s' \\\"$1\\\"\",\"\",\"x y\"]",
			      "[\"HOME=/home/u\",\"PATH=/usr/bin:/bin\",\"EMPTY=\"]", "\"/home/u/proj\"", full_policy, full_opts);
	struct proto_run r;
	struct cordon_error *err = NULL;
	if (parse_run(text, &r, &err) < 0)
		fail_msg("refused: %s", err->message);
	check_full(&r);
	assert_run_round_trip(&r);
	proto_run_release(&r);
	free(text);
}

/* A request as the client makes it (setters, not JSON): every field survives the trip. */
static void test_run_round_trip_built(void **state)
{
	(void)state;
	struct proto_run r;
	struct cordon_error *err = NULL;
	proto_run_init(&r);
	struct cordon_policy *p = &r.policy;
	assert_int_equal(policy_add_path(&p->writable, "writable", "/srv/out", &err), 0);
	assert_int_equal(policy_add_protect(p, "Makefile", &err), 0);
	assert_int_equal(policy_add_env_set(p, "LANG=C.UTF-8", &err), 0);
	assert_int_equal(policy_add_env_keep(p, "SSH_AUTH_SOCK", &err), 0);
	assert_int_equal(policy_add_net_rule(p, false, "github.com:443", &err), 0);
	assert_int_equal(policy_add_net_rule(p, true, "169.254.169.254", &err), 0);
	p->mode = CORDON_MODE_FULL_ACCESS;
	p->default_deny_read = false;
	p->set |= PF_MODE | PF_DEFAULT_DENY_READ;
	/* Milliseconds that are not a round number of seconds: 1.234 s on the wire. */
	p->limits[CORDON_LIMIT_TIMEOUT_MS] = 1234;
	p->limits[CORDON_LIMIT_MAX_PROCS] = 7;
	p->set |= (PF_LIMIT0 << CORDON_LIMIT_TIMEOUT_MS) | (PF_LIMIT0 << CORDON_LIMIT_MAX_PROCS);
	assert_int_equal(strv_push(&r.argv, "printf"), 0);
	assert_int_equal(strv_push(&r.argv, ""), 0);
	assert_int_equal(strv_push(&r.argv, "caf\xc3\xa9 \"quoted\" \\ \t"), 0);
	assert_int_equal(strv_push(&r.env, "HOME=/root"), 0);
	assert_int_equal(strv_push(&r.env, "A=b=c"), 0);
	r.cwd = strdup("/");
	r.audit = strdup("-");
	r.tty = PROTO_TTY_BACKGROUND;
	r.stdio_closed = 7;
	assert_int_equal(strv_push(&r.config_files, "/etc/cordon/policy.json"), 0);
	assert_null(err);
	assert_run_round_trip(&r);

	/* And the other settings of the options. */
	free(r.audit);
	r.audit = NULL;
	r.no_audit = true;
	r.report = strdup("/tmp/r.json");
	r.tty = PROTO_TTY_NONE;
	r.stdio_closed = 0;
	assert_run_round_trip(&r);
	proto_run_release(&r);
}

static void test_run_refused_command(void **state)
{
	(void)state;
	REFUSED(run_json("[\"ls\"]", "[]", "\"w/sub\"", "{}", OPTS_DEFAULT), EPROTO, "`cwd`", "absolute");
	REFUSED(run_json("[\"ls\"]", "[]", "\"\"", "{}", OPTS_DEFAULT), EPROTO, "`cwd`", "absolute");
	REFUSED(run_json("[\"ls\"]", "[]", "null", "{}", OPTS_DEFAULT), EPROTO, "`cwd`", "must be a string");
	REFUSED(run_json("[]", "[]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`argv`", "must name a command");
	REFUSED(run_json("[\"\",\"x\"]", "[]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`argv`", "must name a command");
	REFUSED(run_json("[\"ls\",1]", "[]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`argv`", "must be a string");
	REFUSED(run_json("\"ls\"", "[]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`argv`", "array of strings");
	REFUSED(run_json("[\"ls\"]", "[\"A=1\",\"NOEQUALS\"]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`env`", "NAME=VALUE");
	REFUSED(run_json("[\"ls\"]", "[\"=x\"]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`env`", "NAME=VALUE");
	REFUSED(run_json("[\"ls\"]", "{}", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`env`", "array of strings");
}

/*
 * A NUL byte inside a string would cut it short on the other side of an exec: refused, naming the
 * field that holds it.
 */
static void test_run_refused_nul(void **state)
{
	(void)state;
	REFUSED(run_json("[\"ls\",\"a\\u0000b\"]", "[]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`argv`", "NUL byte");
	REFUSED(run_json("[\"ls\"]", "[\"A=\\u0000\"]", "\"/w\"", "{}", OPTS_DEFAULT), EPROTO, "`env`", "NUL byte");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\\u0000/x\"", "{}", OPTS_DEFAULT), EPROTO, "`cwd`", "NUL byte");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "{\"workspace\":\"/a\\u0000\"}", OPTS_DEFAULT), EINVAL,
		"workspace", "NUL byte");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "{}", OPTS_DEFAULT ",\"report\":\"/r\\u0000\""), EPROTO,
		"`options.report`", "NUL byte");
}

static void test_run_refused_shape(void **state)
{
	(void)state;
	REFUSED(fmt("{\"argv\":[\"ls\"],\"env\":[],\"cwd\":\"/w\",\"policy\":{},\"options\":{" OPTS_DEFAULT "},\"extra\":1}"),
		EPROTO, "RUN request", "unknown key `extra`");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "{}", OPTS_DEFAULT ",\"colour\":true"), EPROTO,
		"unknown key `colour` in options");
	REFUSED(fmt("{\"argv\":[\"ls\"],\"env\":[],\"cwd\":\"/w\",\"policy\":{}}"), EPROTO, "`options`", "object");
	REFUSED(fmt("{\"argv\":[\"ls\"],\"env\":[],\"cwd\":\"/w\",\"options\":{" OPTS_DEFAULT "}}"), EPROTO, "`policy`",
		"missing");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "{\"mode\":\"yolo\"}", OPTS_DEFAULT), EINVAL, "RUN request: policy",
		"`mode`");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "[]", OPTS_DEFAULT), EINVAL, "RUN request: policy", "object");
	REFUSED(fmt("[\"ls\"]"), EPROTO, "RUN request", "expected a JSON object");
	REFUSED(fmt("{\"argv\":"), EPROTO, "RUN request", "not JSON");
	REFUSED(fmt("{\"argv\":[\"ls\"],\"argv\":[\"rm\"],\"env\":[],\"cwd\":\"/w\",\"policy\":{},\"options\":{" OPTS_DEFAULT
		    "}}"),
		EPROTO, "RUN request", "not JSON");
}

/* The options, spelt out (opts_json's arguments are JSON text). */
static char *opts_json(const char *no_audit, const char *staged, const char *tty, const char *closed, const char *extra)
{
	return fmt("\"no_audit\":%s,\"staged\":%s,\"verbose\":false,\"config_files\":[],\"tty\":%s,\"stdio_closed\":%s,"
		   PROCESS_DEFAULT "%s",
		   no_audit, staged, tty, closed, extra);
}

static char *run_opts(char *opts)
{
	char *t = run_json("[\"ls\"]", "[]", "\"/w\"", "{}", opts);
	free(opts);
	return t;
}

static void test_run_refused_options(void **state)
{
	(void)state;
	REFUSED(run_opts(opts_json("true", "false", "\"none\"", "0", ",\"audit\":\"/a.jsonl\"")), EPROTO, "options.audit",
		"contradicts options.no_audit");
	REFUSED(run_opts(opts_json("true", "false", "\"none\"", "0", ",\"audit\":\"-\"")), EPROTO, "options.audit",
		"contradicts options.no_audit");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "0", ",\"session\":\"s1\"")), EPROTO, "options.session",
		"needs options.staged");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "0", ",\"report\":\"report.json\"")), EPROTO,
		"options.report", "absolute");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "0", ",\"audit\":\"a.jsonl\"")), EPROTO, "options.audit",
		"absolute");
	REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "{}",
			 "\"no_audit\":false,\"staged\":false,\"verbose\":false,\"config_files\":[\"rel.json\"],"
			 "\"tty\":\"none\",\"stdio_closed\":0," PROCESS_DEFAULT),
		EPROTO, "options.config_files", "absolute");
	REFUSED(run_opts(opts_json("false", "false", "\"maybe\"", "0", "")), EPROTO, "options.tty",
		"none, foreground or background");
	REFUSED(run_opts(opts_json("false", "false", "1", "0", "")), EPROTO, "options.tty", "none, foreground");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "8", "")), EPROTO, "options.stdio_closed", "0 to 7");
	/* The process attributes. */
	const char *bad_process[][2] = {
		{"{\"umask\":512,\"nice\":0,\"limits\":{}}", "options.process.umask"},
		{"{\"umask\":-1,\"nice\":0,\"limits\":{}}", "options.process.umask"},
		{"{\"umask\":18,\"nice\":20,\"limits\":{}}", "options.process.nice"},
		{"{\"umask\":18,\"nice\":0}", "options.process.limits"},
		{"{\"umask\":18,\"nice\":0,\"limits\":{\"files\":[1,2]}}", "unknown key `files` in options.process.limits"},
		{"{\"umask\":18,\"nice\":0,\"limits\":{\"nofile\":[5,2]}}", "soft <= hard"},
		{"{\"umask\":18,\"nice\":0,\"limits\":{\"nofile\":[-2,2]}}", "options.process.limits"},
		{"{\"umask\":18,\"nice\":0,\"limits\":{\"nofile\":[1]}}", "options.process.limits"},
		{"{\"umask\":18,\"nice\":0,\"limits\":{},\"groups\":[]}", "unknown key `groups` in options.process"},
	};
	for (size_t i = 0; i < sizeof(bad_process) / sizeof(bad_process[0]); i++) {
		char *opts = fmt("\"no_audit\":false,\"staged\":false,\"verbose\":false,\"config_files\":[],"
				 "\"tty\":\"none\",\"stdio_closed\":0,\"process\":%s", bad_process[i][0]);
		REFUSED(run_json("[\"ls\"]", "[]", "\"/w\"", "{}", opts), EPROTO, bad_process[i][1]);
		free(opts);
	}
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "-1", "")), EPROTO, "options.stdio_closed", "0 to 7");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "1.0", "")), EPROTO, "options.stdio_closed", "integer");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "\"1\"", "")), EPROTO, "options.stdio_closed", "integer");
	REFUSED(run_opts(opts_json("0", "false", "\"none\"", "0", "")), EPROTO, "options.no_audit", "true or false");
	REFUSED(run_opts(opts_json("false", "null", "\"none\"", "0", "")), EPROTO, "options.staged", "true or false");
	REFUSED(run_opts(opts_json("false", "false", "\"none\"", "0", ",\"session\":7")), EPROTO, "options.session",
		"string or null");
	/* The edges that are fine. */
	struct proto_run r;
	struct cordon_error *err = NULL;
	char *ok = run_opts(opts_json("true", "true", "\"background\"", "7", ",\"session\":\"s\",\"audit\":null"));
	if (parse_run(ok, &r, &err) < 0)
		fail_msg("refused: %s", err->message);
	assert_int_equal(r.stdio_closed, 7);
	assert_int_equal(r.tty, PROTO_TTY_BACKGROUND);
	assert_null(r.audit);
	assert_string_equal(r.session, "s");
	proto_run_release(&r);
	free(ok);
}

/* ---- the pool's key ---- */

static char *key_of(char *text)
{
	struct proto_run r;
	struct cordon_error *err = NULL;
	if (parse_run(text, &r, &err) < 0)
		fail_msg("refused: %s (%s)", err->message, text);
	char *key = proto_run_key(&r);
	assert_non_null(key);
	proto_run_release(&r);
	free(text);
	return key;
}

#define BASE_ENV "[\"HOME=/home/u\",\"XDG_STATE_HOME=/home/u/.st\",\"PATH=/bin\"]"
/* A policy's JSON text from its mode, one writable path, the timeout and more members. */
#define POLICY(mode, writable, timeout, more)                                                          \
	"{\"mode\":\"" mode "\",\"writable\":[\"" writable "\"],\"limits\":{\"timeout\":" timeout "}" more "}"
#define BASE_POLICY POLICY("workspace-write", "/tmp/x", "3", "")

static void test_key_same(void **state)
{
	(void)state;
	char *base = key_of(run_json("[\"make\"]", BASE_ENV, "\"/w\"", BASE_POLICY, OPTS_DEFAULT));
	char *same[] = {
		/* report, tty, stdio_closed, config_files */
		run_json("[\"make\"]", BASE_ENV, "\"/w\"", BASE_POLICY, OPTS_DEFAULT ",\"report\":\"/tmp/r.json\""),
		run_json("[\"make\"]", BASE_ENV, "\"/w\"", BASE_POLICY,
			 "\"no_audit\":false,\"staged\":false,\"verbose\":false,\"config_files\":[\"/etc/c.json\"],"
			 "\"tty\":\"foreground\",\"stdio_closed\":6,"
			 "\"process\":{\"umask\":63,\"nice\":3,\"limits\":{\"nofile\":[1,2]}}"),
		/* argv */
		run_json("[\"rm\",\"-rf\",\"/\"]", BASE_ENV, "\"/w\"", BASE_POLICY, OPTS_DEFAULT),
		/* variables other than HOME and XDG_STATE_HOME: changed, added, removed */
		run_json("[\"make\"]", "[\"HOME=/home/u\",\"XDG_STATE_HOME=/home/u/.st\",\"PATH=/usr/bin\",\"TERM=xterm\"]",
			 "\"/w\"", BASE_POLICY, OPTS_DEFAULT),
		run_json("[\"make\"]", "[\"HOME=/home/u\",\"XDG_STATE_HOME=/home/u/.st\"]", "\"/w\"", BASE_POLICY,
			 OPTS_DEFAULT),
		/* a name that only starts like HOME */
		run_json("[\"make\"]", "[\"HOME=/home/u\",\"XDG_STATE_HOME=/home/u/.st\",\"HOMEDIR=/x\"]", "\"/w\"",
			 BASE_POLICY, OPTS_DEFAULT),
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *k = key_of(same[i]);
		if (strcmp(k, base) != 0)
			fail_msg("variant %zu: key\n%s\ndiffers from\n%s", i, k, base);
		free(k);
	}
	free(base);
}

static void test_key_differs(void **state)
{
	(void)state;
	char *base = key_of(run_json("[\"make\"]", BASE_ENV, "\"/w\"", BASE_POLICY, OPTS_DEFAULT));
	char *other[] = {
		run_json("[\"make\"]", BASE_ENV, "\"/w/sub\"", BASE_POLICY, OPTS_DEFAULT),
		run_json("[\"make\"]", BASE_ENV, "\"/w\"", POLICY("read-only", "/tmp/x", "3", ""), OPTS_DEFAULT),
		run_json("[\"make\"]", BASE_ENV, "\"/w\"", POLICY("workspace-write", "/tmp/y", "3", ""), OPTS_DEFAULT),
		run_json("[\"make\"]", BASE_ENV, "\"/w\"", POLICY("workspace-write", "/tmp/x", "3.001", ""), OPTS_DEFAULT),
		run_json("[\"make\"]", BASE_ENV, "\"/w\"",
			 POLICY("workspace-write", "/tmp/x", "3", ",\"env\":{\"set\":{\"A\":\"1\"}}"), OPTS_DEFAULT),
		run_json("[\"make\"]", "[\"HOME=/home/v\",\"XDG_STATE_HOME=/home/u/.st\",\"PATH=/bin\"]", "\"/w\"", BASE_POLICY,
			 OPTS_DEFAULT),
		run_json("[\"make\"]", "[\"XDG_STATE_HOME=/home/u/.st\",\"PATH=/bin\"]", "\"/w\"", BASE_POLICY, OPTS_DEFAULT),
		run_json("[\"make\"]", "[\"HOME=/home/u\",\"XDG_STATE_HOME=/var/st\",\"PATH=/bin\"]", "\"/w\"", BASE_POLICY,
			 OPTS_DEFAULT),
		run_json("[\"make\"]", "[\"HOME=/home/u\",\"PATH=/bin\"]", "\"/w\"", BASE_POLICY, OPTS_DEFAULT),
		/* the options a sandbox built ahead depends on */
		run_json("[\"make\"]", BASE_ENV, "\"/w\"", BASE_POLICY, OPTS_DEFAULT ",\"audit\":\"/a.jsonl\""),
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char *k = key_of(other[i]);
		if (strcmp(k, base) == 0)
			fail_msg("variant %zu: same key as the base: %s", i, k);
		free(k);
	}
	free(base);
}

static void test_poolable(void **state)
{
	(void)state;
	struct proto_run r;
	proto_run_init(&r);
	assert_true(proto_run_poolable(&r));
	r.staged = true;
	assert_false(proto_run_poolable(&r));
	r.staged = false;
	r.verbose = true;
	assert_false(proto_run_poolable(&r));
	r.verbose = false;
	r.report = strdup("/r.json");
	r.tty = PROTO_TTY_FOREGROUND;
	assert_true(proto_run_poolable(&r));
	proto_run_release(&r);

	struct cordon_error *err = NULL;
	char *text = run_opts(opts_json("false", "true", "\"none\"", "0", ""));
	assert_int_equal(parse_run(text, &r, &err), 0);
	assert_false(proto_run_poolable(&r));
	proto_run_release(&r);
	free(text);
}

/* ---- SIGNAL ---- */

static int signal_parse_text(const char *text, int *sig, struct cordon_error **err)
{
	*err = NULL;
	int rc = proto_signal_parse(text, strlen(text), sig, err);
	if ((rc < 0) != (*err != NULL))
		fail_msg("the error convention does not hold for %s", text);
	return rc;
}

static void test_signal(void **state)
{
	(void)state;
	static const int ok[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	struct cordon_error *err = NULL;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t len = 0;
		char *text = proto_signal_build(ok[i], &len);
		assert_non_null(text);
		assert_int_equal(len, strlen(text));
		int sig = -1;
		assert_int_equal(proto_signal_parse(text, len, &sig, &err), 0);
		assert_null(err);
		assert_int_equal(sig, ok[i]);
		free(text);
	}
	static const int no[] = {0, -2, SIGKILL, SIGSTOP, SIGCONT, SIGTSTP, SIGCHLD, SIGPIPE, SIGALRM, SIGSEGV, 64, 1000};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		size_t len = 0;
		char *text = proto_signal_build(no[i], &len);
		int sig = -1;
		if (signal_parse_text(text, &sig, &err) == 0)
			fail_msg("signal %d accepted", no[i]);
		assert_int_equal(err->code, EPROTO);
		assert_contains(err->message, "`signal` is not one cordon forwards");
		assert_int_equal(sig, -1);
		cordon_error_free(err);
		free(text);
	}
	static const char *const shapes[] = {"{\"signal\":2,\"also\":1}", "{\"signal\":\"INT\"}", "{\"signal\":2.0}",
					     "{}", "{\"sig\":2}", NULL};
	for (size_t i = 0; shapes[i]; i++) {
		int sig = -1;
		if (signal_parse_text(shapes[i], &sig, &err) == 0)
			fail_msg("accepted: %s", shapes[i]);
		assert_contains(err->message, "SIGNAL: `signal` must be the only key");
		cordon_error_free(err);
	}
	int sig;
	assert_int_equal(signal_parse_text("[2]", &sig, &err), -1);
	assert_contains(err->message, "SIGNAL: expected a JSON object");
	cordon_error_free(err);
}

/* ---- RESULT ---- */

static int result_parse_text(const char *text, struct proto_result *r, struct cordon_error **err)
{
	memset(r, 0, sizeof(*r));
	*err = NULL;
	int rc = proto_result_parse(text, strlen(text), r, err);
	if ((rc < 0) != (*err != NULL))
		fail_msg("the error convention does not hold for %s", text);
	return rc;
}

static void test_result_round_trip(void **state)
{
	(void)state;
	static const char report[] = "{\"status\":0,\"denials\":[{\"path\":\"/etc/shadow\",\"op\":\"read\"}],\"n\":1.5}";
	struct proto_result in = {.status = 3, .report = (char *)report}, out;
	struct cordon_error *err = NULL;
	size_t len = 0;
	char *text = proto_result_build(&in, &len);
	assert_non_null(text);
	assert_int_equal(result_parse_text(text, &out, &err), 0);
	assert_int_equal(out.status, 3);
	assert_null(out.message);
	assert_non_null(out.report);
	/* The same document, written as --report writes it (indented). */
	json_t *a = json_loads(report, 0, NULL), *b = json_loads(out.report, 0, NULL);
	assert_non_null(b);
	assert_true(json_equal(a, b));
	assert_non_null(strchr(out.report, '\n'));
	json_decref(a);
	json_decref(b);
	proto_result_release(&out);
	free(text);

	struct proto_result fail_in = {.status = -1, .code = ENOENT, .message = "no such thing", .hint = "look elsewhere"};
	text = proto_result_build(&fail_in, &len);
	assert_non_null(text);
	assert_int_equal(result_parse_text(text, &out, &err), 0);
	assert_int_equal(out.status, -1);
	assert_int_equal(out.code, ENOENT);
	assert_string_equal(out.message, "no such thing");
	assert_string_equal(out.hint, "look elsewhere");
	assert_null(out.report);
	proto_result_release(&out);
	assert_null(out.message);
	free(text);

	assert_int_equal(result_parse_text("{\"status\":255,\"error\":{\"code\":0,\"message\":\"m\",\"hint\":null}}", &out,
					   &err),
			 0);
	assert_int_equal(out.status, 255);
	assert_null(out.hint);
	proto_result_release(&out);

	/* A report string may hold \u0000 (it is JSON); what the parser took is built again (fuzz_proto found this). */
	assert_int_equal(result_parse_text("{\"status\":0,\"report\":{\"rule\":\"a\\u0000b\"}}", &out, &err), 0);
	text = proto_result_build(&out, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "a\\u0000b"));
	proto_result_release(&out);
	free(text);
}

static void result_refused(const char *text, const char *needle)
{
	struct proto_result r;
	struct cordon_error *err = NULL;
	if (result_parse_text(text, &r, &err) == 0)
		fail_msg("accepted: %s", text);
	assert_int_equal(err->code, EPROTO);
	if (!strstr(err->message, needle))
		fail_msg("for %s: expected `%s` in `%s`", text, needle, err->message);
	cordon_error_free(err);
	proto_result_release(&r);
}

static void test_result_refused(void **state)
{
	(void)state;
	result_refused("{\"status\":-1}", "RESULT: `error` must be there when status is -1");
	result_refused("{\"status\":-1,\"report\":{}}", "`error` must be there when status is -1");
	result_refused("{\"status\":-2,\"error\":{\"code\":5,\"message\":\"m\"}}",
		       "`status` must be an integer from -1 to 255");
	result_refused("{\"status\":256}", "`status` must be an integer from -1 to 255");
	result_refused("{\"status\":\"0\"}", "`status` must be an integer");
	result_refused("{\"status\":0.0}", "`status` must be an integer");
	result_refused("{\"report\":{}}", "`status` must be an integer");
	result_refused("{\"status\":0,\"report\":[]}", "`report` must be an object");
	result_refused("{\"status\":0,\"report\":\"{}\"}", "`report` must be an object");
	result_refused("{\"status\":0,\"report\":null}", "`report` must be an object");
	result_refused("{\"status\":-1,\"error\":{\"code\":-1,\"message\":\"m\"}}", "`error.code` must be an errno value");
	result_refused("{\"status\":-1,\"error\":{\"code\":4096,\"message\":\"m\"}}", "`error.code`");
	result_refused("{\"status\":-1,\"error\":{\"code\":5}}", "`error.message` must be a string");
	result_refused("{\"status\":-1,\"error\":{\"code\":5,\"message\":\"m\",\"hint\":3}}", "`error.hint`");
	result_refused("{\"status\":-1,\"error\":\"boom\"}", "`error` must be an object");
	result_refused("{\"status\":0,\"extra\":1}", "RESULT: unknown key `extra`");
	result_refused("[7]", "RESULT: expected a JSON object");
}

/* ---- ERROR ---- */

static void test_error(void **state)
{
	(void)state;
	struct cordon_error in = {.code = EACCES, .message = "RUN request: `cwd` must be an absolute path",
				  .hint = "upgrade"};
	struct cordon_error *out = NULL, *err = NULL;
	size_t len = 0;
	char *text = proto_error_build(&in, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_int_equal(proto_error_parse(text, len, &out, &err), 0);
	assert_null(err);
	assert_non_null(out);
	assert_int_equal(out->code, EACCES);
	assert_string_equal(out->message, in.message);
	assert_string_equal(out->hint, "upgrade");
	cordon_error_free(out);
	out = NULL;
	free(text);

	/* No error at all, and one without a code or hint: EPROTO, "refused", no hint. */
	struct cordon_error bare = {.code = 0, .message = "m100%s", .hint = NULL};
	const struct cordon_error *cases[] = {NULL, &bare};
	const char *msgs[] = {"refused", "m100%s"};
	for (size_t i = 0; i < 2; i++) {
		text = proto_error_build(cases[i], &len);
		assert_non_null(text);
		assert_int_equal(proto_error_parse(text, len, &out, &err), 0);
		assert_int_equal(out->code, EPROTO);
		assert_string_equal(out->message, msgs[i]);
		assert_null(out->hint);
		cordon_error_free(out);
		out = NULL;
		free(text);
	}

	static const char *const bad[][2] = {
		{"{\"code\":\"EPERM\",\"message\":\"m\"}", "ERROR: `error.code` must be an errno value"},
		{"{\"code\":1}", "ERROR: `error.message` must be a string"},
		{"{\"code\":1,\"message\":null}", "`error.message` must be a string"},
		{"{\"code\":1,\"message\":\"m\",\"hint\":[]}", "`error.hint` must be a string or null"},
		{"[1]", "ERROR: expected a JSON object"},
		{"", "ERROR: not JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (proto_error_parse(bad[i][0], strlen(bad[i][0]), &out, &err) == 0)
			fail_msg("accepted: %s", bad[i][0]);
		assert_null(out);
		assert_non_null(err);
		assert_int_equal(err->code, EPROTO);
		assert_contains(err->message, bad[i][1]);
		cordon_error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test(test_header_refused),
		cmocka_unit_test(test_run_round_trip_parsed),
		cmocka_unit_test(test_run_round_trip_built),
		cmocka_unit_test(test_run_refused_command),
		cmocka_unit_test(test_run_refused_nul),
		cmocka_unit_test(test_run_refused_shape),
		cmocka_unit_test(test_run_refused_options),
		cmocka_unit_test(test_key_same),
		cmocka_unit_test(test_key_differs),
		cmocka_unit_test(test_poolable),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_result_round_trip),
		cmocka_unit_test(test_result_refused),
		cmocka_unit_test(test_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
