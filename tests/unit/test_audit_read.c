// SPDX-License-Identifier: Apache-2.0
/* Reading audit records back (core/audit_read.c, core/audit_show.c): times, --since, the checks a
 * line must pass, filters, --session prefixes, the capped line reader, and the summaries. */
#include "unit.h"

#include <jansson.h>

#include "core/audit.h"
#include "core/audit_read.h"
#include "core/audit_show.h"

#define TS 1795379825123LL /* 2026-11-22T20:37:05.123Z */
#define MIDNIGHT 1795305600000LL /* 2026-11-22T00:00:00.000Z */

static void test_parse_ts(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_int_equal(audit_parse_ts("2026-11-22T20:37:05.123Z", &ms), 0);
	assert_int_equal(ms, TS);
	assert_int_equal(audit_parse_ts("1970-01-01T00:00:00.000Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(audit_parse_ts("1969-12-31T23:59:59.999Z", &ms), 0);
	assert_int_equal(ms, -1);
	assert_int_equal(audit_parse_ts("2024-02-29T00:00:00.000Z", &ms), 0);
	assert_int_equal(ms, 1709164800000LL);
	static const char *const bad[] = {
		"", "2026-11-22T20:37:05.123", "2026-11-22T20:37:05Z", "2026-11-22T20:37:05.1234Z",
		"2026-11-22 20:37:05.123Z", "2026-11-22t20:37:05.123z", "2026-02-29T00:00:00.000Z",
		"2026-13-01T00:00:00.000Z", "2026-00-01T00:00:00.000Z", "2026-11-00T00:00:00.000Z",
		"2026-11-31T00:00:00.000Z", "2026-11-22T24:00:00.000Z", "2026-11-22T20:60:00.000Z",
		"2026-11-22T20:37:60.000Z", "2026-11-22T20:37:05.12xZ", "+026-11-22T20:37:05.123Z",
		"2026-11-22T20:37:05.123Z ", "2026-1-22T20:37:05.123Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 42;
		if (audit_parse_ts(bad[i], &ms) != -1)
			fail_msg("accepted `%s`", bad[i]);
		assert_int_equal(ms, 42); /* untouched on failure */
	}
}

/* What audit_format_time() writes, audit_parse_ts() reads back exactly, across four centuries. */
static void test_ts_round_trip(void **state)
{
	(void)state;
	char buf[32];
	for (int64_t ms = -2208988800000LL; ms < 4102444800000LL; ms += 86399999LL * 17 + 7) {
		audit_format_time(ms, buf, sizeof(buf));
		int64_t back = 0;
		if (audit_parse_ts(buf, &back) != 0 || back != ms)
			fail_msg("%lld -> %s -> %lld", (long long)ms, buf, (long long)back);
	}
}

static void test_since_relative(void **state)
{
	(void)state;
	int64_t s = 0;
	assert_int_equal(audit_parse_since("30s", TS, &s), 0);
	assert_int_equal(s, TS - 30000);
	assert_int_equal(audit_parse_since("10m", TS, &s), 0);
	assert_int_equal(s, TS - 600000);
	assert_int_equal(audit_parse_since("2h", TS, &s), 0);
	assert_int_equal(s, TS - 7200000);
	assert_int_equal(audit_parse_since("3d", TS, &s), 0);
	assert_int_equal(s, TS - 3 * 86400000LL);
	assert_int_equal(audit_parse_since("0s", TS, &s), 0);
	assert_int_equal(s, TS);
	assert_int_equal(audit_parse_since("0024h", TS, &s), 0);
	assert_int_equal(s, TS - 86400000LL);
	/* Back past year 0: everything. Not an error, and no overflow however many digits. */
	assert_int_equal(audit_parse_since("1000000d", TS, &s), 0);
	assert_int_equal(s, AUDIT_SINCE_ANY);
	assert_int_equal(audit_parse_since("99999999999999999999999999999s", TS, &s), 0);
	assert_int_equal(s, AUDIT_SINCE_ANY);
	assert_int_equal(audit_parse_since("700000d", TS, &s), 0);
	assert_int_equal(s, TS - 700000 * 86400000LL);
}

static void test_since_absolute(void **state)
{
	(void)state;
	int64_t s = 0;
	assert_int_equal(audit_parse_since("2026-11-22", TS, &s), 0);
	assert_int_equal(s, MIDNIGHT);
	assert_int_equal(audit_parse_since("2026-11-22T20:37", TS, &s), 0);
	assert_int_equal(s, MIDNIGHT + (20 * 3600 + 37 * 60) * 1000LL);
	assert_int_equal(audit_parse_since("2026-11-22T20:37Z", TS, &s), 0);
	assert_int_equal(s, MIDNIGHT + (20 * 3600 + 37 * 60) * 1000LL);
	assert_int_equal(audit_parse_since("2026-11-22T20:37:05", TS, &s), 0);
	assert_int_equal(s, TS - 123);
	assert_int_equal(audit_parse_since("2026-11-22T20:37:05Z", TS, &s), 0);
	assert_int_equal(s, TS - 123);
	assert_int_equal(audit_parse_since("2026-11-22T20:37:05.123Z", 0, &s), 0);
	assert_int_equal(s, TS);
	assert_int_equal(audit_parse_since("1960-01-01", TS, &s), 0);
	assert_true(s < 0);
}

static void test_since_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "s", "10", "10x", "-5m", "+5m", "1.5h", " 5m", "5m ", "5 m", "5M", "5H", "m5", "5mm", "0x10s",
		"2026-11-22Z", "2026-11-22T", "2026-11-22T20", "2026-11-22T20Z", "2026-11-22T20:37:5",
		"2026-11-22 20:37", "2026-13-01", "2026-11-31", "2026-11-22T24:00", "2026-11-22T20:60",
		"2026-11-22T20:37:60", "2026-11-22TZ", "20261122", "2026-11-22T20:37ZZ", "2026-11-22T20:37:05.1Z",
		"yesterday", "2026-11-2a", "1234567890Th",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t s = 42;
		if (audit_parse_since(bad[i], TS, &s) != -1)
			fail_msg("accepted `%s`", bad[i]);
		assert_int_equal(s, 42);
	}
}

static void test_day_files(void **state)
{
	(void)state;
	char d[16];
	audit_day_name(TS, d, sizeof(d));
	assert_string_equal(d, "2026-11-22");
	audit_day_name(MIDNIGHT - 1, d, sizeof(d));
	assert_string_equal(d, "2026-11-21");
	audit_day_name(0, d, sizeof(d));
	assert_string_equal(d, "1970-01-01");
	audit_day_name(-1, d, sizeof(d));
	assert_string_equal(d, "1969-12-31");
	audit_day_name(INT64_MIN, d, sizeof(d));
	assert_string_equal(d, "0000-01-01");
	audit_day_name(INT64_MAX, d, sizeof(d));
	assert_string_equal(d, "9999-12-31");

	assert_true(audit_is_day_file("2026-11-22.jsonl"));
	assert_true(audit_is_day_file("0000-00-00.jsonl")); /* the shape only: a bad date sorts harmlessly */
	assert_false(audit_is_day_file("2026-11-22.jsonl.gz"));
	assert_false(audit_is_day_file("2026-11-22.json"));
	assert_false(audit_is_day_file(".2026-11-22.jsonl"));
	assert_false(audit_is_day_file("2026-1a-22.jsonl"));
	assert_false(audit_is_day_file("2026_11_22.jsonl"));
	assert_false(audit_is_day_file(""));
}

/* A record line: "{"type":T,"ts":..,"schema":1,"session":S<rest>}". */
static char *line(const char *type, const char *session, const char *rest)
{
	char *s = NULL;
	if (asprintf(&s, "{\"type\":\"%s\",\"ts\":\"2026-11-22T20:37:05.123Z\",\"schema\":1,\"session\":\"%s\"%s}\n",
		     type, session, rest) < 0)
		fail_msg("asprintf");
	return s;
}

static void parse_ok(const char *text, struct audit_rec *r)
{
	char why[256] = "";
	if (audit_rec_parse(text, strlen(text), r, why, sizeof(why)) != 0)
		fail_msg("refused (%s): %s", why, text);
}

static void parse_bad(const char *text, size_t len, const char *reason)
{
	char why[256] = "";
	struct audit_rec r;
	if (audit_rec_parse(text, len, &r, why, sizeof(why)) != -1)
		fail_msg("accepted: %s", text);
	assert_null(r.obj);
	assert_contains(why, reason);
}

static void test_rec_parse(void **state)
{
	(void)state;
	struct audit_rec r;
	char *l = line("denial", "4f2a9c01d3b7e6a8", ",\"kind\":\"write\",\"count\":3,\"future\":{\"x\":[1,2.5,null]}");
	parse_ok(l, &r);
	assert_int_equal(r.type, AUDIT_REC_DENIAL);
	assert_string_equal(r.type_name, "denial");
	assert_string_equal(r.session, "4f2a9c01d3b7e6a8");
	assert_int_equal(r.ts_ms, TS);
	audit_rec_release(&r);
	assert_null(r.obj);
	free(l);
	static const char *const types[] = {"start", "file", "net", "denial", "end"};
	for (size_t i = 0; i < 5; i++) {
		l = line(types[i], "abc", "");
		parse_ok(l, &r);
		assert_int_equal(r.type, (int)i);
		audit_rec_release(&r);
		free(l);
	}
	const char *crlf = "{\"type\":\"end\",\"ts\":\"2026-11-22T20:37:05.123Z\",\"schema\":1,\"session\":\"s\"}\r\n";
	parse_ok(crlf, &r);
	audit_rec_release(&r);
}

static void test_rec_parse_bad(void **state)
{
	(void)state;
	const char *ts = "\"ts\":\"2026-11-22T20:37:05.123Z\"";
	char buf[512];
	parse_bad("", 0, "empty line");
	parse_bad("\n", 1, "empty line");
	parse_bad("this is not json", 16, "not JSON");
	parse_bad("[1,2]", 5, "not a JSON object");
	parse_bad("\"start\"", 7, "not JSON"); /* a bare value: jansson refuses it without JSON_DECODE_ANY */
#define BAD(reason, ...)                                            \
	do {                                                        \
		snprintf(buf, sizeof(buf), __VA_ARGS__);            \
		parse_bad(buf, strlen(buf), reason);                \
	} while (0)
	BAD("schema 2, this cordon reads schema 1", "{\"type\":\"end\",%s,\"schema\":2,\"session\":\"s\"}", ts);
	BAD("`schema` is not an integer", "{\"type\":\"end\",%s,\"schema\":\"1\",\"session\":\"s\"}", ts);
	BAD("`schema` is not an integer", "{\"type\":\"end\",%s,\"schema\":1.0,\"session\":\"s\"}", ts);
	BAD("no `schema`", "{\"type\":\"end\",%s,\"session\":\"s\"}", ts);
	BAD("no `type`", "{%s,\"schema\":1,\"session\":\"s\"}", ts);
	BAD("`type` is not a non-empty string", "{\"type\":5,%s,\"schema\":1,\"session\":\"s\"}", ts);
	BAD("unknown type `exit`", "{\"type\":\"exit\",%s,\"schema\":1,\"session\":\"s\"}", ts);
	BAD("no `ts`", "{\"type\":\"end\",\"schema\":1,\"session\":\"s\"}");
	BAD("is not YYYY-MM-DDTHH:MM:SS.mmmZ", "{\"type\":\"end\",\"ts\":\"yesterday\",\"schema\":1,\"session\":\"s\"}");
	BAD("no `session`", "{\"type\":\"end\",%s,\"schema\":1}", ts);
	BAD("`session` is not a non-empty string", "{\"type\":\"end\",%s,\"schema\":1,\"session\":\"\"}", ts);
	BAD("`session` is not a non-empty string", "{\"type\":\"end\",%s,\"schema\":1,\"session\":null}", ts);
	/* A second session must not hide behind the first. */
	BAD("duplicate", "{\"type\":\"end\",%s,\"schema\":1,\"session\":\"a\",\"session\":\"b\"}", ts);
	BAD("not JSON", "{\"type\":\"end\",%s,\"schema\":1,\"session\":\"s\"} {}", ts);
	BAD("not JSON", "{\"type\":\"end\",%s,\"schema\":1,\"session\":\"s\\u0000\"}", ts);
	BAD("not JSON", "{\"type\":\"end\",%s,\"schema\":1,\"session\":\"\xff\"}", ts);
#undef BAD
	/* A NUL byte in the line: the length is what counts, not the C string. */
	char nul[] = "{\"type\":\"end\",\"ts\":\"2026-11-22T20:37:05.123Z\",\"schema\":1,\"session\":\"s\"}\0junk";
	parse_bad(nul, sizeof(nul) - 1, "not JSON");
}

static struct audit_rec rec_of(const char *type, const char *session, const char *rest, int64_t ts_ms)
{
	struct audit_rec r;
	char *l = line(type, session, rest);
	parse_ok(l, &r);
	free(l);
	r.ts_ms = ts_ms;
	return r;
}

static void test_filter(void **state)
{
	(void)state;
	struct audit_rec start = rec_of("start", "4f2a9c01", "", TS);
	struct audit_rec denial = rec_of("denial", "4f2a9c01", ",\"kind\":\"write\"", TS);
	struct audit_rec net_no = rec_of("net", "4f2a9c01", ",\"verdict\":\"denied\"", TS);
	struct audit_rec net_yes = rec_of("net", "4f2a9c01", ",\"verdict\":\"allowed\"", TS);
	struct audit_rec net_odd = rec_of("net", "4f2a9c01", ",\"verdict\":7", TS);
	struct audit_rec end = rec_of("end", "77aa0000", "", TS);

	struct audit_filter f = {.since_ms = AUDIT_SINCE_ANY};
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_MATCH);
	assert_int_equal(audit_filter_check(&f, &end), AUDIT_MATCH);
	f.since_ms = TS; /* the bound is inclusive */
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_MATCH);
	f.since_ms = TS + 1;
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_SKIP);

	f = (struct audit_filter){.since_ms = AUDIT_SINCE_ANY, .session = "4f2a"};
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_MATCH);
	assert_int_equal(audit_filter_check(&f, &end), AUDIT_SKIP);
	f.session = "4f2a9c01ff"; /* longer than the id */
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_SKIP);

	f = (struct audit_filter){.since_ms = AUDIT_SINCE_ANY, .denied_only = true};
	assert_int_equal(audit_filter_check(&f, &denial), AUDIT_MATCH);
	assert_int_equal(audit_filter_check(&f, &net_no), AUDIT_MATCH);
	assert_int_equal(audit_filter_check(&f, &net_yes), AUDIT_SKIP);
	assert_int_equal(audit_filter_check(&f, &net_odd), AUDIT_SKIP);
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_CONTEXT);
	assert_int_equal(audit_filter_check(&f, &end), AUDIT_SKIP);
	f.since_ms = TS + 1; /* a context start is still inside the window or not at all */
	assert_int_equal(audit_filter_check(&f, &start), AUDIT_SKIP);
	assert_int_equal(audit_filter_check(&f, &denial), AUDIT_SKIP);

	struct audit_rec *all[] = {&start, &denial, &net_no, &net_yes, &net_odd, &end};
	for (size_t i = 0; i < 6; i++)
		audit_rec_release(all[i]);
}

static void test_pick_session(void **state)
{
	(void)state;
	char *ids[] = {"4f2a9c01", "4f2a9c0199", "4f2b0000"};
	bool amb = true;
	assert_string_equal(audit_pick_session("4f2a9c01", ids, 3, &amb), "4f2a9c01"); /* exact wins */
	assert_false(amb);
	assert_string_equal(audit_pick_session("4f2a9c019", ids, 3, &amb), "4f2a9c0199");
	assert_false(amb);
	assert_null(audit_pick_session("4f2a", ids, 3, &amb));
	assert_true(amb);
	assert_null(audit_pick_session("4f2c", ids, 3, &amb));
	assert_false(amb);
	assert_null(audit_pick_session("4f2a", ids, 0, &amb));
	assert_false(amb);
}

static void test_read_line(void **state)
{
	(void)state;
	static const char data[] = "one\n\ntwo\r\n0123456789abcdef\nnul\0byte\nlast";
	FILE *f = fmemopen((void *)data, sizeof(data) - 1, "r");
	assert_non_null(f);
	char *buf = NULL;
	size_t cap = 0, len = 0;
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 1);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "one");
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 1);
	assert_int_equal(len, 0);
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 1);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "two\r", 4);
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 1);
	assert_int_equal(len, SIZE_MAX); /* 16 bytes, over the cap: consumed, not kept */
	assert_true(cap <= 11);
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 1);
	assert_int_equal(len, 8);
	assert_memory_equal(buf, "nul\0byte", 8);
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 1);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "last");
	assert_int_equal(audit_read_line(f, &buf, &cap, &len, 10), 0);
	fclose(f);
	free(buf);
}

/* The summary of a record given as a JSON line. */
static char *summary_of(const char *type, const char *rest)
{
	struct audit_rec r = rec_of(type, "4f2a9c01", rest, TS);
	struct audit_text t = {0};
	audit_summary(&r, &t);
	audit_rec_release(&r);
	assert_false(t.oom);
	return t.s;
}

#define SUMMARY_IS(type, rest, want)                                   \
	do {                                                           \
		char *got_ = summary_of(type, rest);                   \
		assert_string_equal(got_, want);                       \
		free(got_);                                            \
	} while (0)

static void test_summary(void **state)
{
	(void)state;
	SUMMARY_IS("start", ",\"argv\":[\"npm\",\"install\",\"left-pad\"],\"cwd\":\"/home/u/proj\"",
		   "npm install left-pad  in /home/u/proj");
	SUMMARY_IS("start", ",\"argv\":[\"sh\",\"-c\",\"echo 'hi' > x\"],\"cwd\":\"/home/u/my proj\"",
		   "sh -c 'echo '\\''hi'\\'' > x'  in '/home/u/my proj'");
	SUMMARY_IS("start", ",\"argv\":[\"\",\"a\\nb\",\"\\u001b[31m\",\"it's\\\\\"]",
		   "'' $'a\\nb' $'\\x1b[31m' 'it'\\''s\\'  in ?");
	SUMMARY_IS("start", ",\"argv\":[\"it's\\\\\\n\"]", "$'it\\'s\\\\\\n'  in ?");
	SUMMARY_IS("start", ",\"argv\":[\"caf\\u00e9\",\"\\u202eexe.txt\"],\"cwd\":7", "'caf\xc3\xa9' $'\\u202eexe.txt'  in ?");
	SUMMARY_IS("start", "", "?  in ?");
	SUMMARY_IS("end", ",\"exit_status\":0,\"signal\":0,\"wall_ms\":3250,\"cpu_ms\":1100,\"peak_memory\":83886080",
		   "exit 0, 3.2s wall, 1.1s CPU, 80.0 MiB peak");
	SUMMARY_IS("end", ",\"exit_status\":137,\"signal\":9,\"wall_ms\":125000,\"cpu_ms\":999,\"peak_memory\":0,\"denials\":1",
		   "exit 137 (signal 9), 2m05s wall, 999ms CPU, peak memory unknown, 1 denial");
	SUMMARY_IS("end", ",\"exit_status\":124,\"signal\":0,\"wall_ms\":3723000,\"cpu_ms\":-1,\"peak_memory\":1023,\"denials\":4",
		   "exit 124 (timeout), 1h02m wall, ? CPU, 1023 B peak, 4 denials");
	SUMMARY_IS("end", "", "exit ?, ? wall, ? CPU, ? peak");
	SUMMARY_IS("file", ",\"change\":\"created\",\"path\":\"/w/src/x.c\"", "created /w/src/x.c");
	SUMMARY_IS("file", ",\"change\":\"modified\",\"path\":\"/w/x.c\",\"from\":null", "modified /w/x.c");
	SUMMARY_IS("file", ",\"change\":\"renamed\",\"path\":\"/w/x.c\",\"from\":3", "renamed ? -> /w/x.c");
	SUMMARY_IS("file", ",\"change\":\"renamed\",\"path\":\"/w/b c\",\"from\":\"/w/a\"", "renamed /w/a -> '/w/b c'");
	SUMMARY_IS("file", "", "? ?");
	SUMMARY_IS("net",
		   ",\"host\":\"registry.npmjs.org\",\"port\":443,\"address\":\"1.2.3.4\",\"verdict\":\"allowed\","
		   "\"bytes_out\":1536,\"bytes_in\":35000,\"duration_ms\":1100",
		   "allowed registry.npmjs.org:443, 1.5 KiB out, 34.1 KiB in, 1.1s");
	SUMMARY_IS("net", ",\"host\":\"::1\",\"port\":8080,\"verdict\":\"denied\",\"bytes_out\":0,\"bytes_in\":0,\"duration_ms\":2",
		   "denied [::1]:8080, 0 B out, 0 B in, 2ms");
	SUMMARY_IS("net", ",\"host\":\"x\",\"port\":\"443\",\"verdict\":\"allowed\",\"bytes_out\":-5,\"bytes_in\":5368709120",
		   "allowed x:?, ? out, 5.0 GiB in, ?");
	SUMMARY_IS("denial", ",\"kind\":\"write\",\"target\":\"/etc/passwd\",\"rule\":\"outside writable roots\"",
		   "write /etc/passwd: outside writable roots");
	SUMMARY_IS("denial", ",\"kind\":\"write\",\"target\":\"/tmp/a:b\",\"rule\":\"r\",\"count\":1", "write /tmp/a:b: r");
	SUMMARY_IS("denial", ",\"kind\":\"connect\",\"target\":\"evil.com\",\"port\":443,\"rule\":\"--deny *.evil.com\",\"count\":3",
		   "connect evil.com:443: --deny *.evil.com (3 times)");
	SUMMARY_IS("denial", ",\"kind\":\"connect\",\"target\":\"2001:db8::1\",\"port\":22,\"rule\":\"r\\u001b]0;x\\u0007\"",
		   "connect [2001:db8::1]:22: r\\x1b]0;x\\x07");
	SUMMARY_IS("denial", "", "? ?: ?");
}

static void test_units(void **state)
{
	(void)state;
	static const struct {
		uint64_t n;
		const char *want;
	} bytes[] = {
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1535, "1.4 KiB"}, {1536, "1.5 KiB"},
		{1048575, "1023.9 KiB"}, {1048576, "1.0 MiB"}, {UINT64_MAX, "15.9 EiB"},
	};
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		struct audit_text t = {0};
		audit_put_bytes(&t, bytes[i].n);
		assert_string_equal(t.s, bytes[i].want);
		audit_text_free(&t);
	}
	static const struct {
		int64_t ms;
		const char *want;
	} durations[] = {
		{0, "0ms"}, {999, "999ms"}, {1000, "1.0s"}, {59999, "59.9s"}, {60000, "1m00s"}, {3599999, "59m59s"},
		{3600000, "1h00m"}, {90061000, "25h01m"}, {-1, "?"},
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		struct audit_text t = {0};
		audit_put_duration(&t, durations[i].ms);
		assert_string_equal(t.s, durations[i].want);
		audit_text_free(&t);
	}
}

static void test_escaped(void **state)
{
	(void)state;
	/* C1 CSI (U+009B), an overlong '/', a lone continuation byte, a surrogate, DEL, a zero-width
	 * no-break space; plain UTF-8 and a backslash. */
	static const char in[] = "a\xc2\x9b" "b\xc0\xaf" "c\x80" "d\xed\xa0\x80" "e\x7f" "f\xef\xbb\xbf" "g\xc3\xa9\\";
	struct audit_text t = {0};
	audit_put_escaped(&t, in, sizeof(in) - 1);
	assert_string_equal(t.s, "a\\u009bb\\xc0\\xafc\\x80d\\xed\\xa0\\x80e\\x7ff\\ufeffg\xc3\xa9\\\\");
	audit_text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ts),       cmocka_unit_test(test_ts_round_trip),
		cmocka_unit_test(test_since_relative), cmocka_unit_test(test_since_absolute),
		cmocka_unit_test(test_since_bad),      cmocka_unit_test(test_day_files),
		cmocka_unit_test(test_rec_parse),      cmocka_unit_test(test_rec_parse_bad),
		cmocka_unit_test(test_filter),	       cmocka_unit_test(test_pick_session),
		cmocka_unit_test(test_read_line),      cmocka_unit_test(test_summary),
		cmocka_unit_test(test_units),	       cmocka_unit_test(test_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
