// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: one audit log line, as `cordon log` reads it. The input goes to audit_rec_parse()
 * as an exact-size copy; besides the sanitizers it checks that
 *   - a record is accepted exactly when a checked object comes back, with a reason otherwise;
 *   - an accepted record's ts is the one audit_format_time() writes for it (reader and writer agree);
 *   - the filters agree with the record (its own ts and session prefix let it through);
 *   - its summary is valid UTF-8 with nothing in it that could act on a terminal;
 * and feeds the same bytes to audit_parse_since() and to the capped line reader.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "core/audit.h"
#include "core/audit_read.h"
#include "core/audit_show.h"

/* Valid UTF-8 with no C0 or C1 control, DEL, bidi control, line separator or BOM. */
static bool terminal_safe(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (len == 0 || c > 0xf4 || i + len > n)
			return false;
		uint32_t cp = c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp <= 0x9f || cp == 0x61c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
			return false;
		i += len;
	}
	return true;
}

static void check_record(const struct audit_rec *r)
{
	CHECK(r->obj && json_is_object(r->obj));
	CHECK(json_integer_value(json_object_get(r->obj, "schema")) == AUDIT_SCHEMA);
	CHECK(strcmp(json_string_value(json_object_get(r->obj, "type")), r->type_name) == 0);
	CHECK(r->session && *r->session && r->session == json_string_value(json_object_get(r->obj, "session")));
	char ts[32];
	audit_format_time(r->ts_ms, ts, sizeof(ts));
	CHECK(strcmp(ts, json_string_value(json_object_get(r->obj, "ts"))) == 0);

	char prefix[AUDIT_SESSION_PREFIX_MIN + 1] = "";
	strncat(prefix, r->session, AUDIT_SESSION_PREFIX_MIN);
	struct audit_filter f = {.since_ms = r->ts_ms, .session = prefix};
	CHECK(audit_filter_check(&f, r) == AUDIT_MATCH);
	f.denied_only = true;
	enum audit_match m = audit_filter_check(&f, r);
	CHECK(m == (audit_rec_is_denied(r) ? AUDIT_MATCH : r->type == AUDIT_REC_START ? AUDIT_CONTEXT : AUDIT_SKIP));
	f.since_ms = r->ts_ms + 1;
	CHECK(audit_filter_check(&f, r) == AUDIT_SKIP);

	struct audit_text t = {0};
	audit_summary(r, &t);
	CHECK(!t.oom && t.s && strlen(t.s) == t.len);
	CHECK(terminal_safe((const unsigned char *)t.s, t.len));
	audit_text_free(&t);
}

/* The line reader over the same bytes, with a small cap: every byte is accounted for. */
static void check_reader(const uint8_t *data, size_t size)
{
	if (size == 0)
		return;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return;
	char *buf = NULL;
	size_t cap = 0, len = 0, kept = 0, lines = 0;
	int rc;
	while ((rc = audit_read_line(f, &buf, &cap, &len, 64)) == 1) {
		lines++;
		CHECK(len == SIZE_MAX || len <= 64);
		CHECK(cap <= 65);
		if (len != SIZE_MAX)
			kept += len;
	}
	CHECK(rc == 0);
	size_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	CHECK(lines == newlines + (data[size - 1] != '\n'));
	CHECK(kept <= size - newlines);
	free(buf);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact size, not NUL-terminated: the parser must read only `size` bytes. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	char why[256];
	memset(why, 'x', sizeof(why));
	struct audit_rec r;
	int rc = audit_rec_parse(text, size, &r, why, sizeof(why));
	CHECK(rc == 0 || rc == -1);
	if (rc == 0)
		check_record(&r);
	else
		CHECK(r.obj == NULL && memchr(why, '\0', sizeof(why)) && why[0] != '\0');
	audit_rec_release(&r);
	free(text);

	/* --since: a NUL-terminated copy; a relative time it accepts lies before `now`. */
	char *since = malloc(size + 1);
	if (!since)
		return 0;
	memcpy(since, data, size);
	since[size] = '\0';
	int64_t now = 1795379825123LL, s = 0;
	bool relative = size && strchr("smhd", since[size - 1]);
	if (strlen(since) == size && audit_parse_since(since, now, &s) == 0 && relative)
		CHECK(s == AUDIT_SINCE_ANY || s <= now);
	free(since);

	check_reader(data, size);
	return 0;
}
