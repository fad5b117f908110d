// SPDX-License-Identifier: Apache-2.0
/* Audit records as JSON lines (docs/audit.md). jansson builds and escapes them. */
#include "core/audit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"

static const char *const denial_names[] = {
	[AUDIT_DENY_WRITE] = "write",
	[AUDIT_DENY_READ] = "read",
	[AUDIT_DENY_CONNECT] = "connect",
	[AUDIT_DENY_UNIX_CONNECT] = "unix-connect",
	[AUDIT_DENY_SYSCALL] = "syscall",
	[AUDIT_DENY_DNS] = "dns",
};

static const char *const change_names[] = {
	[AUDIT_CREATED] = "created",
	[AUDIT_MODIFIED] = "modified",
	[AUDIT_DELETED] = "deleted",
	[AUDIT_RENAMED] = "renamed",
};

const char *audit_denial_kind_name(enum audit_denial_kind k)
{
	return (unsigned)k < ARRAY_LEN(denial_names) ? denial_names[k] : "?";
}

const char *audit_file_change_name(enum audit_file_change c)
{
	return (unsigned)c < ARRAY_LEN(change_names) ? change_names[c] : "?";
}

void audit_format_time(int64_t ts_ms, char *out, unsigned cap)
{
	time_t secs = (time_t)(ts_ms / 1000);
	int ms = (int)(ts_ms % 1000);
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	struct tm tm;
	if (!gmtime_r(&secs, &tm)) {
		snprintf(out, cap, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* A record with the fields every one has; NULL on ENOMEM. */
static json_t *record(const struct audit_ctx *a, int64_t ts_ms, const char *type)
{
	char ts[32];
	audit_format_time(ts_ms, ts, sizeof(ts));
	return json_pack("{s:s, s:s, s:i, s:s}", "type", type, "ts", ts, "schema", AUDIT_SCHEMA, "session", a->session);
}

/* Serialises and frees r: one line, keys in insertion order, ending in "\n". */
static char *finish(json_t *r)
{
	if (!r)
		return NULL;
	char *text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(r);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *line = realloc(text, len + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

/* Adds `fields` (an object, stolen; NULL when building it failed) to r, then finishes r. */
static char *finish_with(json_t *r, json_t *fields)
{
	if (!r || !fields || json_object_update_new(r, fields) < 0) {
		json_decref(r);
		if (!r)
			json_decref(fields);
		return NULL;
	}
	return finish(r);
}

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, a surrogate, or past U+10FFFF */
	return n;
}

json_t *audit_json_text(const char *s)
{
	if (!s)
		return NULL;
	json_t *j = json_string(s);
	if (j)
		return j;
	/* Not UTF-8 (a file name can be any bytes): each byte that does not fit is written as the text
	 * \xHH, so the record is still written and says what was there. */
	size_t len = strlen(s);
	_cleanup_free_ char *out = malloc(len * 4 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);
		if (n) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		} else {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", *p++);
		}
	}
	out[o] = '\0';
	return json_string(out);
}

static json_t *string_array(char *const *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && v && (n == SIZE_MAX ? v[i] != NULL : i < n); i++)
		if (json_array_append_new(arr, audit_json_text(v[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *policy_json(const struct cordon_policy *p, enum cordon_network network)
{
	json_t *limits = json_object();
	for (int i = 0; limits && i < POLICY_NLIMITS; i++)
		if (p->limits[i])
			json_object_set_new(limits, policy_limit_name((enum cordon_limit)i), json_integer((json_int_t)p->limits[i]));
	return json_pack("{s:s, s:s, s:o?, s:o, s:o, s:b, s:o, s:b, s:o, s:o, s:o, s:b}", "mode", policy_mode_name(p->mode),
			 "network", policy_network_name(network), "workspace", audit_json_text(p->workspace), "writable",
			 string_array(p->writable.v, p->writable.n), "protect", string_array(p->protect.v, p->protect.n),
			 "default_protect", p->default_protect, "deny_read", string_array(p->deny_read.v, p->deny_read.n),
			 "default_deny_read", p->default_deny_read, "allow",
			 string_array(p->net_allow.v, p->net_allow.n), "deny", string_array(p->net_deny.v, p->net_deny.n),
			 "limits", limits, "audit_reads", p->audit_reads);
}

char *audit_start(const struct audit_ctx *a, int64_t ts_ms, const char *version, char *const *argv, const char *cwd,
		  uint32_t uid, const struct cordon_policy *p, enum cordon_network network, const char *const *layers)
{
	json_t *f = json_pack("{s:s, s:o, s:o, s:i, s:o, s:o}", "version", version, "argv", string_array(argv, SIZE_MAX),
			      "cwd", audit_json_text(cwd), "uid", (json_int_t)uid, "policy", policy_json(p, network), "layers",
			      string_array((char *const *)layers, SIZE_MAX));
	return finish_with(record(a, ts_ms, "start"), f);
}

char *audit_denial(const struct audit_ctx *a, int64_t ts_ms, enum audit_denial_kind kind, const char *target,
		   uint16_t port, const char *rule)
{
	json_t *f = json_pack("{s:s, s:o}", "kind", audit_denial_kind_name(kind), "target", audit_json_text(target ? target : ""));
	if (f && port && json_object_set_new(f, "port", json_integer(port)) < 0) {
		json_decref(f);
		f = NULL;
	}
	if (f && json_object_set_new(f, "rule", audit_json_text(rule ? rule : "")) < 0) {
		json_decref(f);
		f = NULL;
	}
	return finish_with(record(a, ts_ms, "denial"), f);
}

char *audit_net(const struct audit_ctx *a, int64_t ts_ms, const char *host, uint16_t port, const char *address,
		bool allowed, uint64_t bytes_out, uint64_t bytes_in, int64_t duration_ms)
{
	json_t *f = json_pack("{s:o, s:i, s:o?, s:s, s:I, s:I, s:I}", "host", audit_json_text(host), "port", (int)port,
			      "address", audit_json_text(address),
			      "verdict", allowed ? "allowed" : "denied", "bytes_out", (json_int_t)bytes_out, "bytes_in",
			      (json_int_t)bytes_in, "duration_ms", (json_int_t)duration_ms);
	return finish_with(record(a, ts_ms, "net"), f);
}

char *audit_file(const struct audit_ctx *a, int64_t ts_ms, enum audit_file_change change, const char *path,
		 const char *from)
{
	json_t *f = json_pack("{s:s, s:o, s:o?}", "change", audit_file_change_name(change), "path", audit_json_text(path),
			      "from", audit_json_text(from));
	return finish_with(record(a, ts_ms, "file"), f);
}

char *audit_end(const struct audit_ctx *a, int64_t ts_ms, int exit_status, int signal, int64_t wall_ms,
		int64_t cpu_ms, uint64_t peak_memory)
{
	json_t *f = json_pack("{s:i, s:i, s:I, s:I, s:I}", "exit_status", exit_status, "signal", signal, "wall_ms",
			      (json_int_t)wall_ms, "cpu_ms", (json_int_t)cpu_ms, "peak_memory", (json_int_t)peak_memory);
	return finish_with(record(a, ts_ms, "end"), f);
}
