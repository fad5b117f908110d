// SPDX-License-Identifier: Apache-2.0
/* One-line summaries of audit records, and the escaping that keeps log contents from acting on a
 * terminal. */
#include "core/audit_show.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void audit_text_clear(struct audit_text *t)
{
	t->len = 0;
	if (t->s)
		t->s[0] = '\0';
}

void audit_text_free(struct audit_text *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* Room for n more bytes and the NUL; false (and oom set) when there is none. */
static bool reserve(struct audit_text *t, size_t n)
{
	if (t->oom || n > AUDIT_TEXT_MAX - t->len) {
		t->oom = true;
		return false;
	}
	if (t->len + n < t->cap)
		return true;
	size_t want = t->cap ? t->cap : 256;
	while (want <= t->len + n)
		want *= 2;
	char *grown = realloc(t->s, want);
	if (!grown) {
		t->oom = true;
		return false;
	}
	t->s = grown;
	t->cap = want;
	return true;
}

void audit_text_put(struct audit_text *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void put_str(struct audit_text *t, const char *s)
{
	audit_text_put(t, s, strlen(s));
}

void audit_text_printf(struct audit_text *t, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		audit_text_put(t, small, (size_t)n);
		return;
	}
	if (!reserve(t, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* Decodes one UTF-8 character at s (n bytes left, n > 0): its length, or 0 when the bytes are not
 * valid UTF-8 (overlong forms and surrogates included). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || len > n || s[0] > 0xf4)
		return 0;
	uint32_t v = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < least[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Characters that change what a terminal shows beyond themselves: C0 and C1 controls, DEL, the
 * bidirectional marks, embeddings, overrides and isolates, line and paragraph separators, and the
 * zero-width no-break space. */
static bool unsafe_cp(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* Appends the escape of one character (cp valid when len > 0) or, when len is 0, of the byte b. */
static void put_escape(struct audit_text *t, uint32_t cp, size_t len, unsigned char b)
{
	if (len == 0)
		audit_text_printf(t, "\\x%02x", b);
	else if (cp == '\n')
		put_str(t, "\\n");
	else if (cp == '\t')
		put_str(t, "\\t");
	else if (cp == '\r')
		put_str(t, "\\r");
	else if (cp < 0x80)
		audit_text_printf(t, "\\x%02x", (unsigned)cp);
	else
		audit_text_printf(t, "\\u%04x", (unsigned)cp);
}

/* Appends s (n bytes), escaping what is unsafe; `quote` (when not 0) is escaped too. */
static void put_escaped_quoting(struct audit_text *t, const char *s, size_t n, char quote)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n && !t->oom) {
		uint32_t cp = 0;
		size_t len = utf8_decode(u + i, n - i, &cp);
		if (len == 0 || unsafe_cp(cp)) {
			put_escape(t, cp, len, u[i]);
			i += len ? len : 1;
		} else if (cp == '\\' || (quote && cp == (unsigned char)quote)) {
			char esc[2] = {'\\', (char)cp};
			audit_text_put(t, esc, 2);
			i++;
		} else {
			audit_text_put(t, s + i, len);
			i += len;
		}
	}
}

void audit_put_escaped(struct audit_text *t, const char *s, size_t n)
{
	put_escaped_quoting(t, s, n, 0);
}

static bool needs_escape(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(u + i, n - i, &cp);
		if (len == 0 || unsafe_cp(cp))
			return true;
		i += len;
	}
	return false;
}

void audit_put_word(struct audit_text *t, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-";
	if (*s && strspn(s, safe) == strlen(s)) {
		put_str(t, s);
		return;
	}
	if (needs_escape(s)) {
		put_str(t, "$'");
		put_escaped_quoting(t, s, strlen(s), '\'');
		put_str(t, "'");
		return;
	}
	put_str(t, "'");
	for (const char *q; (q = strchr(s, '\'')) != NULL; s = q + 1) {
		audit_text_put(t, s, (size_t)(q - s));
		put_str(t, "'\\''");
	}
	put_str(t, s);
	put_str(t, "'");
}

void audit_put_bytes(struct audit_text *t, uint64_t n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (n < 1024) {
		audit_text_printf(t, "%u B", (unsigned)n);
		return;
	}
	unsigned k = 1;
	while (k < 6 && n >> (10 * (k + 1)) != 0)
		k++;
	uint64_t whole = n >> (10 * k);
	/* The remainder in the next smaller unit (below 1024), to tenths; no overflow at any size. */
	uint64_t tenth = ((n >> (10 * (k - 1))) & 1023) * 10 / 1024;
	audit_text_printf(t, "%llu.%llu %s", (unsigned long long)whole, (unsigned long long)tenth, units[k - 1]);
}

void audit_put_duration(struct audit_text *t, int64_t ms)
{
	if (ms < 0)
		put_str(t, "?");
	else if (ms < 1000)
		audit_text_printf(t, "%lldms", (long long)ms);
	else if (ms < 60 * 1000)
		audit_text_printf(t, "%lld.%llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
	else if (ms < 3600 * 1000)
		audit_text_printf(t, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		audit_text_printf(t, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

/* Field helpers: each writes "?" for a missing field or one of another type. */
static void put_field_word(struct audit_text *t, json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (s)
		audit_put_word(t, s);
	else
		put_str(t, "?");
}

static void put_field_escaped(struct audit_text *t, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		audit_put_escaped(t, json_string_value(v), json_string_length(v));
	else
		put_str(t, "?");
}

static bool get_int(json_t *o, const char *key, json_int_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static void put_field_int(struct audit_text *t, json_t *o, const char *key)
{
	json_int_t v;
	if (get_int(o, key, &v))
		audit_text_printf(t, "%" JSON_INTEGER_FORMAT, v);
	else
		put_str(t, "?");
}

static void put_field_bytes(struct audit_text *t, json_t *o, const char *key)
{
	json_int_t v;
	if (get_int(o, key, &v) && v >= 0)
		audit_put_bytes(t, (uint64_t)v);
	else
		put_str(t, "?");
}

static void put_field_duration(struct audit_text *t, json_t *o, const char *key)
{
	json_int_t v;
	audit_put_duration(t, get_int(o, key, &v) ? (int64_t)v : -1);
}

/* HOST:PORT, with an IPv6 literal in brackets; HOST alone when the port is optional and absent (a
 * denial's target is a path or a system call as often as a host). */
static void put_host_port(struct audit_text *t, json_t *o, const char *host_key, bool port_optional)
{
	bool port = !port_optional || json_object_get(o, "port");
	const char *host = json_string_value(json_object_get(o, host_key));
	bool brackets = port && host && strchr(host, ':');
	if (brackets)
		put_str(t, "[");
	put_field_word(t, o, host_key);
	if (brackets)
		put_str(t, "]");
	if (!port)
		return;
	put_str(t, ":");
	put_field_int(t, o, "port");
}

static void summary_start(json_t *o, struct audit_text *t)
{
	json_t *argv = json_object_get(o, "argv");
	if (!json_is_array(argv) || json_array_size(argv) == 0)
		put_str(t, "?");
	for (size_t i = 0; i < json_array_size(argv); i++) {
		const char *w = json_string_value(json_array_get(argv, i));
		if (i)
			put_str(t, " ");
		if (w)
			audit_put_word(t, w);
		else
			put_str(t, "?");
	}
	put_str(t, "  in ");
	put_field_word(t, o, "cwd");
}

static void summary_end(json_t *o, struct audit_text *t)
{
	json_int_t status = 0, sig = 0, peak = 0, denials = 0;
	put_str(t, "exit ");
	put_field_int(t, o, "exit_status");
	if (get_int(o, "signal", &sig) && sig > 0)
		audit_text_printf(t, " (signal %" JSON_INTEGER_FORMAT ")", sig);
	else if (get_int(o, "exit_status", &status) && status == 124)
		put_str(t, " (timeout)");
	put_str(t, ", ");
	put_field_duration(t, o, "wall_ms");
	put_str(t, " wall, ");
	put_field_duration(t, o, "cpu_ms");
	put_str(t, " CPU, ");
	if (get_int(o, "peak_memory", &peak) && peak == 0)
		put_str(t, "peak memory unknown");
	else {
		put_field_bytes(t, o, "peak_memory");
		put_str(t, " peak");
	}
	/* Not in schema 1's list but written by later writers: the denials the run had. */
	if (get_int(o, "denials", &denials) && denials > 0)
		audit_text_printf(t, ", %" JSON_INTEGER_FORMAT " denial%s", denials, denials == 1 ? "" : "s");
}

static void summary_file(json_t *o, struct audit_text *t)
{
	put_field_escaped(t, o, "change");
	put_str(t, " ");
	/* The writer puts "from": null on every change but a rename. */
	json_t *from = json_object_get(o, "from");
	if (from && !json_is_null(from)) {
		put_field_word(t, o, "from");
		put_str(t, " -> ");
	}
	put_field_word(t, o, "path");
}

static void summary_net(json_t *o, struct audit_text *t)
{
	put_field_escaped(t, o, "verdict");
	put_str(t, " ");
	put_host_port(t, o, "host", false);
	put_str(t, ", ");
	put_field_bytes(t, o, "bytes_out");
	put_str(t, " out, ");
	put_field_bytes(t, o, "bytes_in");
	put_str(t, " in, ");
	put_field_duration(t, o, "duration_ms");
}

static void summary_denial(json_t *o, struct audit_text *t)
{
	json_int_t count = 0;
	put_field_escaped(t, o, "kind");
	put_str(t, " ");
	put_host_port(t, o, "target", true);
	/* As cordon run's own lines on stderr say it; rules hold parentheses ("(--allow)"). */
	put_str(t, ": ");
	put_field_escaped(t, o, "rule");
	/* Optional: the same denial repeated, counted once by the writer. */
	if (get_int(o, "count", &count) && count > 1)
		audit_text_printf(t, " (%" JSON_INTEGER_FORMAT " times)", count);
}

void audit_summary(const struct audit_rec *r, struct audit_text *t)
{
	switch (r->type) {
	case AUDIT_REC_START: summary_start(r->obj, t); break;
	case AUDIT_REC_END: summary_end(r->obj, t); break;
	case AUDIT_REC_FILE: summary_file(r->obj, t); break;
	case AUDIT_REC_NET: summary_net(r->obj, t); break;
	case AUDIT_REC_DENIAL: summary_denial(r->obj, t); break;
	}
}
