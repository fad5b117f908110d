// SPDX-License-Identifier: Apache-2.0
#include "core/proto.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "core/config.h"

static void json_decref_p(json_t **j)
{
	json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_decref_p)))

static void put_be(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)(v & 0xff);
}

static uint32_t get_be(const uint8_t *p, int bytes)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

void proto_header_build(uint8_t hdr[PROTO_HEADER_LEN], uint16_t type, uint32_t len)
{
	memcpy(hdr, PROTO_MAGIC, 4);
	put_be(hdr + 4, PROTO_VERSION, 2);
	put_be(hdr + 6, type, 2);
	put_be(hdr + 8, len, 4);
}

int proto_header_parse(const uint8_t hdr[PROTO_HEADER_LEN], uint16_t *type, uint32_t *len, struct cordon_error **err)
{
	if (memcmp(hdr, PROTO_MAGIC, 4) != 0)
		return cerr_set(err, EPROTO, "not a cordon protocol frame (bad magic)");
	uint32_t version = get_be(hdr + 4, 2);
	if (version != PROTO_VERSION) {
		cerr_set(err, EPROTONOSUPPORT, "protocol version %u, this cordon speaks %u", version, PROTO_VERSION);
		return cerr_hint(err, "the daemon and the client are different cordon versions: restart `cordon serve`");
	}
	*type = (uint16_t)get_be(hdr + 6, 2);
	*len = get_be(hdr + 8, 4);
	if (*type < PROTO_RUN || *type > PROTO_STATUS)
		return cerr_set(err, EPROTO, "unknown frame type %u", *type);
	if (*len > PROTO_MAX_PAYLOAD)
		return cerr_set(err, EMSGSIZE, "frame of %u bytes, more than the %u allowed", *len, PROTO_MAX_PAYLOAD);
	return 0;
}

/* ---- building ---- */

static char *dump(json_t *o, size_t *len)
{
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s)
		*len = strlen(s);
	return s;
}

static json_t *str_array(const struct strv *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < l->n; i++)
		if (json_array_append_new(a, json_stringn(l->v[i], strlen(l->v[i]))) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *const tty_names[] = {"none", "foreground", "background"};

const char *const proto_limit_names[PROTO_NLIMITS] = {
	"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
	"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
};

static json_t *limit_value(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? -1 : (json_int_t)v);
}

static json_t *process_json(const struct proto_run *r)
{
	json_t *lim = json_object();
	for (size_t i = 0; lim && i < PROTO_NLIMITS; i++)
		if (r->has_limit[i] && json_object_set_new(lim, proto_limit_names[i],
							   json_pack("[o, o]", limit_value(r->soft[i]), limit_value(r->hard[i]))) < 0) {
			json_decref(lim);
			return NULL;
		}
	return json_pack("{s:i, s:i, s:o}", "umask", (int)r->umask, "nice", r->nice, "limits", lim);
}

/* The options; for the pool's key only those a sandbox built ahead depends on. */
static json_t *options_json(const struct proto_run *r, bool key)
{
	json_t *o = json_pack("{s:o, s:b, s:b, s:o, s:b}", "audit", str_or_null(r->audit), "no_audit", r->no_audit,
			      "staged", r->staged, "session", str_or_null(r->session), "verbose", r->verbose);
	if (o && !key &&
	    (json_object_set_new(o, "report", str_or_null(r->report)) < 0 ||
	     json_object_set_new(o, "config_files", str_array(&r->config_files)) < 0 ||
	     json_object_set_new(o, "tty", json_string(tty_names[r->tty])) < 0 ||
	     json_object_set_new(o, "stdio_closed", json_integer(r->stdio_closed)) < 0 ||
	     json_object_set_new(o, "process", process_json(r)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *proto_run_build(const struct proto_run *r, size_t *len)
{
	return dump(json_pack("{s:o, s:o, s:o, s:s, s:o}", "argv", str_array(&r->argv), "env", str_array(&r->env),
			      "policy", config_dump(&r->policy), "cwd", r->cwd ? r->cwd : "", "options",
			      options_json(r, false)),
		    len);
}

char *proto_run_key(const struct proto_run *r)
{
	/* The variables cordon's own paths come from: the home directory (default deny-read list),
	 * the state directory (audit log, sessions). */
	static const char *const vars[] = {"HOME=", "XDG_STATE_HOME="};
	json_t *env = json_array();
	for (size_t i = 0; env && i < r->env.n; i++)
		for (size_t v = 0; v < ARRAY_LEN(vars); v++)
			if (strncmp(r->env.v[i], vars[v], strlen(vars[v])) == 0 &&
			    json_array_append_new(env, json_string(r->env.v[i])) < 0) {
				json_decref(env);
				env = NULL;
				break;
			}
	size_t len;
	return dump(json_pack("{s:o, s:s, s:o, s:o}", "policy", config_dump(&r->policy), "cwd", r->cwd ? r->cwd : "",
			      "options", options_json(r, true), "env", env),
		    &len);
}

bool proto_run_poolable(const struct proto_run *r)
{
	return !r->staged && !r->verbose;
}

char *proto_signal_build(int sig, size_t *len)
{
	return dump(json_pack("{s:i}", "signal", sig), len);
}

char *proto_result_build(const struct proto_result *r, size_t *len)
{
	json_t *o = json_pack("{s:i}", "status", r->status);
	if (o && r->message &&
	    json_object_set_new(o, "error", json_pack("{s:i, s:s, s:o}", "code", r->code, "message", r->message, "hint",
						      str_or_null(r->hint))) < 0)
		goto fail;
	if (o && r->report) {
		/* The same flags as the parser's: a report it took (a \u0000 in a string is JSON) is sent on as it came. */
		json_t *rep = json_loads(r->report, JSON_ALLOW_NUL, NULL);
		if (!rep || json_object_set_new(o, "report", rep) < 0)
			goto fail;
	}
	return dump(o, len);
fail:
	json_decref(o);
	return NULL;
}

char *proto_error_build(const struct cordon_error *e, size_t *len)
{
	return dump(json_pack("{s:i, s:s, s:o}", "code", e && e->code ? e->code : EPROTO, "message",
			      e && e->message ? e->message : "refused", "hint", str_or_null(e ? e->hint : NULL)),
		    len);
}

/* ---- parsing: a peer's bytes, checked field by field ---- */

static int bad(struct cordon_error **err, const char *what, const char *field, const char *why)
{
	return cerr_set(err, EPROTO, "%s: `%s` %s", what, field, why);
}

static json_t *load(const char *buf, size_t len, const char *what, struct cordon_error **err)
{
	json_error_t je;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!o) {
		cerr_set(err, EPROTO, "%s: not JSON (%s)", what, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		cerr_set(err, EPROTO, "%s: expected a JSON object", what);
		return NULL;
	}
	return o;
}

/* A string without NUL bytes (they would cut it short on the other side of an exec). */
static int get_str(json_t *v, const char *what, const char *field, bool nullable, char **out, struct cordon_error **err)
{
	if (nullable && (!v || json_is_null(v)))
		return 0;
	if (!json_is_string(v))
		return bad(err, what, field, nullable ? "must be a string or null" : "must be a string");
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return bad(err, what, field, "holds a NUL byte");
	if (!(*out = strdup(s)))
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

static int get_list(json_t *v, const char *what, const char *field, struct strv *out, struct cordon_error **err)
{
	if (!json_is_array(v))
		return bad(err, what, field, "must be an array of strings");
	if (json_array_size(v) > PROTO_MAX_LIST)
		return bad(err, what, field, "is too long");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		_cleanup_free_ char *s = NULL;
		if (get_str(e, what, field, false, &s, err) < 0)
			return -1;
		if (strv_push(out, s) < 0)
			return cerr_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int get_bool(json_t *v, const char *what, const char *field, bool *out, struct cordon_error **err)
{
	if (!json_is_boolean(v))
		return bad(err, what, field, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

/* Refuses a key not in `keys`, naming it. */
static int only_keys(json_t *o, const char *what, const char *field, const char *const *keys, struct cordon_error **err)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known)
			return cerr_set(err, EPROTO, "%s: unknown key `%s`%s%s", what, k, field ? " in " : "", field ? field : "");
	}
	return 0;
}

static bool absolute(const char *p)
{
	return p && p[0] == '/';
}

static int parse_limit_value(json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < -1)
		return -1;
	*out = json_integer_value(v) == -1 ? UINT64_MAX : (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_process(json_t *o, struct proto_run *r, struct cordon_error **err)
{
	const char *w = "RUN request";
	static const char *const keys[] = {"umask", "nice", "limits", NULL};
	if (!json_is_object(o))
		return bad(err, w, "options.process", "must be an object");
	if (only_keys(o, w, "options.process", keys, err) < 0)
		return -1;
	json_t *um = json_object_get(o, "umask"), *nice = json_object_get(o, "nice"), *lim = json_object_get(o, "limits");
	if (!json_is_integer(um) || json_integer_value(um) < 0 || json_integer_value(um) > 0777)
		return bad(err, w, "options.process.umask", "must be an integer from 0 to 0777");
	if (!json_is_integer(nice) || json_integer_value(nice) < -20 || json_integer_value(nice) > 19)
		return bad(err, w, "options.process.nice", "must be an integer from -20 to 19");
	if (!json_is_object(lim))
		return bad(err, w, "options.process.limits", "must be an object");
	r->umask = (unsigned)json_integer_value(um);
	r->nice = (int)json_integer_value(nice);
	const char *k;
	json_t *v;
	json_object_foreach(lim, k, v) {
		size_t i = 0;
		while (i < PROTO_NLIMITS && strcmp(k, proto_limit_names[i]) != 0)
			i++;
		if (i == PROTO_NLIMITS)
			return cerr_set(err, EPROTO, "%s: unknown key `%s` in options.process.limits", w, k);
		if (!json_is_array(v) || json_array_size(v) != 2 || parse_limit_value(json_array_get(v, 0), &r->soft[i]) < 0 ||
		    parse_limit_value(json_array_get(v, 1), &r->hard[i]) < 0 || r->soft[i] > r->hard[i])
			return bad(err, w, "options.process.limits", "must map names to [soft, hard], -1 unlimited, soft <= hard");
		r->has_limit[i] = true;
	}
	return 0;
}

static int parse_options(json_t *o, struct proto_run *r, struct cordon_error **err)
{
	static const char *const keys[] = {"audit", "no_audit", "report", "staged", "session", "verbose",
					   "config_files", "tty", "stdio_closed", "process", NULL};
	const char *w = "RUN request";
	if (!json_is_object(o))
		return bad(err, w, "options", "must be an object");
	if (only_keys(o, w, "options", keys, err) < 0)
		return -1;
	json_t *tty = json_object_get(o, "tty"), *closed = json_object_get(o, "stdio_closed");
	if (get_str(json_object_get(o, "audit"), w, "options.audit", true, &r->audit, err) < 0 ||
	    get_bool(json_object_get(o, "no_audit"), w, "options.no_audit", &r->no_audit, err) < 0 ||
	    get_str(json_object_get(o, "report"), w, "options.report", true, &r->report, err) < 0 ||
	    get_bool(json_object_get(o, "staged"), w, "options.staged", &r->staged, err) < 0 ||
	    get_str(json_object_get(o, "session"), w, "options.session", true, &r->session, err) < 0 ||
	    get_bool(json_object_get(o, "verbose"), w, "options.verbose", &r->verbose, err) < 0 ||
	    get_list(json_object_get(o, "config_files"), w, "options.config_files", &r->config_files, err) < 0)
		return -1;
	if (r->audit && !absolute(r->audit) && strcmp(r->audit, "-") != 0)
		return bad(err, w, "options.audit", "must be an absolute path or `-`");
	if (r->report && !absolute(r->report))
		return bad(err, w, "options.report", "must be an absolute path");
	for (size_t i = 0; i < r->config_files.n; i++)
		if (!absolute(r->config_files.v[i]))
			return bad(err, w, "options.config_files", "must hold absolute paths");
	if (r->no_audit && r->audit)
		return bad(err, w, "options.audit", "contradicts options.no_audit");
	if (r->session && !r->staged)
		return bad(err, w, "options.session", "needs options.staged");
	const char *t = json_string_value(tty);
	r->tty = ARRAY_LEN(tty_names);
	for (size_t i = 0; t && i < ARRAY_LEN(tty_names); i++)
		if (strcmp(t, tty_names[i]) == 0)
			r->tty = (enum proto_tty)i;
	if (r->tty == ARRAY_LEN(tty_names))
		return bad(err, w, "options.tty", "must be none, foreground or background");
	if (!json_is_integer(closed) || json_integer_value(closed) < 0 || json_integer_value(closed) > 7)
		return bad(err, w, "options.stdio_closed", "must be an integer from 0 to 7");
	r->stdio_closed = (unsigned)json_integer_value(closed);
	return parse_process(json_object_get(o, "process"), r, err);
}

int proto_run_parse(const char *buf, size_t len, struct proto_run *r, struct cordon_error **err)
{
	static const char *const keys[] = {"argv", "env", "policy", "cwd", "options", NULL};
	const char *w = "RUN request";
	_cleanup_json_ json_t *o = load(buf, len, w, err);
	if (!o)
		return -1;
	if (only_keys(o, w, NULL, keys, err) < 0)
		return -1;
	if (get_list(json_object_get(o, "argv"), w, "argv", &r->argv, err) < 0 ||
	    get_list(json_object_get(o, "env"), w, "env", &r->env, err) < 0 ||
	    get_str(json_object_get(o, "cwd"), w, "cwd", false, &r->cwd, err) < 0)
		return -1;
	if (r->argv.n == 0 || !r->argv.v[0][0])
		return bad(err, w, "argv", "must name a command");
	if (!absolute(r->cwd))
		return bad(err, w, "cwd", "must be an absolute path");
	for (size_t i = 0; i < r->env.n; i++)
		if (!strchr(r->env.v[i], '=') || r->env.v[i][0] == '=')
			return bad(err, w, "env", "must hold NAME=VALUE strings");
	json_t *policy = json_object_get(o, "policy");
	if (!policy || config_parse_json(policy, "RUN request: policy", &r->policy, err) < 0) {
		if (!policy)
			bad(err, w, "policy", "is missing");
		return -1;
	}
	return parse_options(json_object_get(o, "options"), r, err);
}

int proto_signal_parse(const char *buf, size_t len, int *sig, struct cordon_error **err)
{
	static const int ok[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	_cleanup_json_ json_t *o = load(buf, len, "SIGNAL", err);
	if (!o)
		return -1;
	json_t *v = json_object_get(o, "signal");
	if (json_object_size(o) != 1 || !json_is_integer(v))
		return bad(err, "SIGNAL", "signal", "must be the only key, an integer");
	for (size_t i = 0; i < ARRAY_LEN(ok); i++)
		if (json_integer_value(v) == ok[i]) {
			*sig = ok[i];
			return 0;
		}
	return bad(err, "SIGNAL", "signal", "is not one cordon forwards");
}

void proto_result_release(struct proto_result *r)
{
	free(r->message);
	free(r->hint);
	free(r->report);
	memset(r, 0, sizeof(*r));
}

static int parse_error_obj(json_t *e, const char *w, int *code, char **message, char **hint, struct cordon_error **err)
{
	if (!json_is_object(e))
		return bad(err, w, "error", "must be an object");
	json_t *c = json_object_get(e, "code");
	if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) > 4095)
		return bad(err, w, "error.code", "must be an errno value");
	*code = (int)json_integer_value(c);
	if (get_str(json_object_get(e, "message"), w, "error.message", false, message, err) < 0 ||
	    get_str(json_object_get(e, "hint"), w, "error.hint", true, hint, err) < 0)
		return -1;
	return 0;
}

int proto_result_parse(const char *buf, size_t len, struct proto_result *r, struct cordon_error **err)
{
	const char *w = "RESULT";
	_cleanup_json_ json_t *o = load(buf, len, w, err);
	if (!o)
		return -1;
	static const char *const keys[] = {"status", "error", "report", NULL};
	if (only_keys(o, w, NULL, keys, err) < 0)
		return -1;
	json_t *st = json_object_get(o, "status"), *e = json_object_get(o, "error"), *rep = json_object_get(o, "report");
	if (!json_is_integer(st) || json_integer_value(st) < -1 || json_integer_value(st) > 255)
		return bad(err, w, "status", "must be an integer from -1 to 255");
	r->status = (int)json_integer_value(st);
	if (e && parse_error_obj(e, w, &r->code, &r->message, &r->hint, err) < 0)
		return -1;
	if (r->status < 0 && !r->message)
		return bad(err, w, "error", "must be there when status is -1");
	if (rep && !json_is_object(rep))
		return bad(err, w, "report", "must be an object");
	if (rep && !(r->report = json_dumps(rep, JSON_INDENT(2))))
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

int proto_error_parse(const char *buf, size_t len, struct cordon_error **out, struct cordon_error **err)
{
	_cleanup_json_ json_t *o = load(buf, len, "ERROR", err);
	if (!o)
		return -1;
	int code = 0;
	_cleanup_free_ char *message = NULL, *hint = NULL;
	if (parse_error_obj(o, "ERROR", &code, &message, &hint, err) < 0)
		return -1;
	cerr_set(out, code, "%s", message ? message : "refused");
	if (hint)
		cerr_hint(out, "%s", hint);
	return 0;
}

void proto_run_init(struct proto_run *r)
{
	memset(r, 0, sizeof(*r));
	policy_init(&r->policy);
}

void proto_run_release(struct proto_run *r)
{
	policy_release(&r->policy);
	strv_clear(&r->argv);
	strv_clear(&r->env);
	strv_clear(&r->config_files);
	free(r->cwd);
	free(r->audit);
	free(r->report);
	free(r->session);
	memset(r, 0, sizeof(*r));
}
