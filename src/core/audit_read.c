// SPDX-License-Identifier: Apache-2.0
/* Reading audit records back: the checks a line must pass, times, filters (docs/audit.md). */
#include "core/audit_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"

#define MS_PER_DAY 86400000LL

static const char *const type_names[] = {
	[AUDIT_REC_START] = "start",
	[AUDIT_REC_FILE] = "file",
	[AUDIT_REC_NET] = "net",
	[AUDIT_REC_DENIAL] = "denial",
	[AUDIT_REC_END] = "end",
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). Pure integer
 * arithmetic rather than timegm(), which is neither standard C nor free of the TZ environment. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Exactly n decimal digits at s, into *out. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* "YYYY-MM-DD" at s (10 bytes) to days since the epoch. */
static bool parse_date(const char *s, int64_t *days)
{
	int y, m, d;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' || !digits(s + 8, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return false;
	*days = days_from_civil(y, m, d);
	return true;
}

/* "HH:MM" (with_seconds false, 5 bytes) or "HH:MM:SS" (8 bytes) at s, to milliseconds into the day. */
static bool parse_clock(const char *s, bool with_seconds, int64_t *ms)
{
	int h, mi, sec = 0;
	if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &mi))
		return false;
	if (with_seconds && (s[5] != ':' || !digits(s + 6, 2, &sec)))
		return false;
	if (h > 23 || mi > 59 || sec > 59)
		return false;
	*ms = ((int64_t)h * 3600 + mi * 60 + sec) * 1000;
	return true;
}

int audit_parse_ts(const char *s, int64_t *ms)
{
	int64_t days, clock;
	int frac;
	if (strlen(s) != 24 || !parse_date(s, &days) || s[10] != 'T' || !parse_clock(s + 11, true, &clock) ||
	    s[19] != '.' || !digits(s + 20, 3, &frac) || s[23] != 'Z')
		return -1;
	*ms = days * MS_PER_DAY + clock + frac;
	return 0;
}

/* The first and last milliseconds audit_day_name() names without clamping. */
#define YEAR0_MS (-62167219200000LL)	 /* 0000-01-01T00:00:00.000Z */
#define YEAR10000_MS (253402300800000LL) /* 10000-01-01T00:00:00.000Z */

static int parse_relative(const char *s, size_t len, int64_t now_ms, int64_t *since_ms)
{
	int64_t unit;
	switch (s[len - 1]) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = MS_PER_DAY; break;
	default: return -1;
	}
	if (len < 2)
		return -1;
	/* Saturates: any amount past year 0 means the same thing, "everything". */
	uint64_t n = 0;
	for (size_t i = 0; i < len - 1; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n > UINT64_MAX / 20 ? UINT64_MAX / 2 : n * 10 + (uint64_t)(s[i] - '0');
	}
	if (now_ms < YEAR0_MS)
		now_ms = YEAR0_MS;
	if (now_ms > YEAR10000_MS)
		now_ms = YEAR10000_MS;
	uint64_t reach = (uint64_t)(now_ms - YEAR0_MS) / (uint64_t)unit;
	*since_ms = n > reach ? AUDIT_SINCE_ANY : now_ms - (int64_t)n * unit;
	return 0;
}

int audit_parse_since(const char *s, int64_t now_ms, int64_t *since_ms)
{
	size_t len = strlen(s);
	if (len == 0)
		return -1;
	if (len < 10 || (len > 10 && s[10] != 'T'))
		return parse_relative(s, len, now_ms, since_ms);
	if (audit_parse_ts(s, since_ms) == 0)
		return 0; /* a record's own ts, pasted from --json output */
	if (len > 10 && s[len - 1] == 'Z')
		len--;
	int64_t days, clock = 0;
	if (!parse_date(s, &days))
		return -1;
	if (len == 16 && !parse_clock(s + 11, false, &clock))
		return -1;
	if (len == 19 && !parse_clock(s + 11, true, &clock))
		return -1;
	if (len != 10 && len != 16 && len != 19)
		return -1;
	*since_ms = days * MS_PER_DAY + clock;
	return 0;
}

void audit_day_name(int64_t ms, char *out, size_t cap)
{
	if (ms < YEAR0_MS)
		ms = YEAR0_MS;
	if (ms >= YEAR10000_MS)
		ms = YEAR10000_MS - 1;
	int64_t days = ms / MS_PER_DAY - (ms % MS_PER_DAY < 0);
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, cap, "%04d-%02d-%02d", (int)y, m, d);
}

bool audit_is_day_file(const char *name)
{
	static const char shape[] = "dddd-dd-dd.jsonl";
	if (strlen(name) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (name[i] < '0' || name[i] > '9') : name[i] != shape[i])
			return false;
	return true;
}

static int fail(struct audit_rec *out, char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct audit_rec *out, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	audit_rec_release(out);
	return -1;
}

/* The string member `key` of o; NULL (with why filled) when absent, not a string or empty. */
static const char *need_string(json_t *o, const char *key, char *why, size_t cap)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	if (!s || !*s)
		snprintf(why, cap, !v ? "no `%s`" : "`%s` is not a non-empty string", key);
	return s && *s ? s : NULL;
}

int audit_rec_parse(const char *line, size_t len, struct audit_rec *out, char *why, size_t why_cap)
{
	char dummy[1];
	if (!why || !why_cap) {
		why = dummy;
		why_cap = sizeof(dummy);
	}
	memset(out, 0, sizeof(*out));
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return fail(out, why, why_cap, "empty line");
	json_error_t e;
	/* Duplicate keys are refused: a second `session` or `type` must not hide behind the first. */
	out->obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
	if (!out->obj)
		return fail(out, why, why_cap, "not JSON: %s (column %d)", e.text, e.column);
	if (!json_is_object(out->obj))
		return fail(out, why, why_cap, "not a JSON object");
	json_t *schema = json_object_get(out->obj, "schema");
	if (!json_is_integer(schema))
		return fail(out, why, why_cap, schema ? "`schema` is not an integer" : "no `schema`");
	if (json_integer_value(schema) != AUDIT_SCHEMA)
		return fail(out, why, why_cap, "schema %" JSON_INTEGER_FORMAT ", this cordon reads schema %d",
			    json_integer_value(schema), AUDIT_SCHEMA);
	const char *type = need_string(out->obj, "type", why, why_cap);
	if (!type)
		return audit_rec_release(out), -1;
	size_t t = 0;
	while (t < sizeof(type_names) / sizeof(type_names[0]) && strcmp(type, type_names[t]) != 0)
		t++;
	if (t == sizeof(type_names) / sizeof(type_names[0]))
		return fail(out, why, why_cap, "unknown type `%.40s`", type);
	const char *ts = need_string(out->obj, "ts", why, why_cap);
	if (!ts)
		return audit_rec_release(out), -1;
	if (audit_parse_ts(ts, &out->ts_ms) < 0)
		return fail(out, why, why_cap, "`ts` `%.40s` is not YYYY-MM-DDTHH:MM:SS.mmmZ", ts);
	out->session = need_string(out->obj, "session", why, why_cap);
	if (!out->session)
		return audit_rec_release(out), -1;
	out->type = (enum audit_rec_type)t;
	out->type_name = type_names[t];
	return 0;
}

void audit_rec_release(struct audit_rec *r)
{
	json_decref(r->obj);
	memset(r, 0, sizeof(*r));
}

bool audit_rec_is_denied(const struct audit_rec *r)
{
	if (r->type == AUDIT_REC_DENIAL)
		return true;
	const char *verdict = json_string_value(json_object_get(r->obj, "verdict"));
	return r->type == AUDIT_REC_NET && verdict && strcmp(verdict, "denied") == 0;
}

enum audit_match audit_filter_check(const struct audit_filter *f, const struct audit_rec *r)
{
	if (f->since_ms != AUDIT_SINCE_ANY && r->ts_ms < f->since_ms)
		return AUDIT_SKIP;
	if (f->session && strncmp(r->session, f->session, strlen(f->session)) != 0)
		return AUDIT_SKIP;
	if (!f->denied_only || audit_rec_is_denied(r))
		return AUDIT_MATCH;
	return r->type == AUDIT_REC_START ? AUDIT_CONTEXT : AUDIT_SKIP;
}

const char *audit_pick_session(const char *prefix, char *const *sessions, size_t n, bool *ambiguous)
{
	const char *only = NULL;
	size_t matches = 0;
	*ambiguous = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(sessions[i], prefix) == 0)
			return sessions[i];
		if (strncmp(sessions[i], prefix, strlen(prefix)) == 0) {
			only = sessions[i];
			matches++;
		}
	}
	if (matches > 1) {
		*ambiguous = true;
		return NULL;
	}
	return only;
}

int audit_read_line(FILE *f, char **buf, size_t *cap, size_t *len, size_t max)
{
	size_t n = 0;
	bool over = false, any = false;
	int c;
	if (*cap == 0) {
		char *first = malloc(max < 4095 ? max + 1 : 4096);
		if (!first) {
			errno = ENOMEM;
			return -1;
		}
		*buf = first;
		*cap = max < 4095 ? max + 1 : 4096;
	}
	while ((c = getc(f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (over)
			continue;
		if (n == max) {
			over = true;
			continue;
		}
		if (n + 1 >= *cap) {
			size_t want = *cap * 2;
			if (want > max + 1)
				want = max + 1;
			char *grown = realloc(*buf, want);
			if (!grown) {
				errno = ENOMEM;
				return -1;
			}
			*buf = grown;
			*cap = want;
		}
		(*buf)[n++] = (char)c;
	}
	if (c == EOF && ferror(f))
		return -1;
	if (!any)
		return 0;
	(*buf)[n] = '\0';
	*len = over ? SIZE_MAX : n;
	return 1;
}
