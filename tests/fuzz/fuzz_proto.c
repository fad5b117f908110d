// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the daemon protocol's codec (core/proto.c), which checks every frame a peer
 * sends before anything uses it. The first 12 bytes go to the header parser. When they make a valid
 * header the input is a whole frame: the header's type picks the payload parser and the payload is
 * what follows (at most the header's length). Otherwise the first byte picks the parser and the
 * rest is the payload. Besides the sanitizers (and LeakSanitizer: everything is released) it checks
 *   - a valid header is built back to the same 12 bytes, and a refused one carries a message;
 *   - a RUN request that passes holds what the parser promises (a command, an absolute cwd, ...),
 *     has a pool key, and its payload built again parses back to a request whose payload is the
 *     same bytes and whose key is the same;
 *   - a SIGNAL, RESULT or ERROR that passes is built again and parses back to the same values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "common/error.h"
#include "core/proto.h"

/* Aborts, printing why first, so that a finding explains itself. */
static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_proto: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static bool nstr_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Refused: with a message, and nothing else to check. */
static void refused(struct cordon_error *err)
{
	CHECK(err && err->message && err->message[0]);
	cordon_error_free(err);
}

static void run_invariants(const struct proto_run *r)
{
	CHECK(r->argv.n >= 1 && r->argv.v[0][0] != '\0');
	CHECK(r->cwd && r->cwd[0] == '/');
	for (size_t i = 0; i < r->env.n; i++)
		CHECK(r->env.v[i][0] != '=' && strchr(r->env.v[i], '='));
	for (size_t i = 0; i < r->config_files.n; i++)
		CHECK(r->config_files.v[i][0] == '/');
	CHECK(!r->report || r->report[0] == '/');
	CHECK(!r->audit || r->audit[0] == '/' || strcmp(r->audit, "-") == 0);
	CHECK(!(r->no_audit && r->audit));
	CHECK(!r->session || r->staged);
	CHECK(r->tty <= PROTO_TTY_BACKGROUND && r->stdio_closed <= 7);
}

static void run_payload(const char *buf, size_t len)
{
	struct proto_run r, back;
	struct cordon_error *err = NULL;
	proto_run_init(&r);
	proto_run_init(&back);
	if (proto_run_parse(buf, len, &r, &err) < 0) {
		refused(err);
		proto_run_release(&r); /* a refused request may hold what was parsed before the refusal */
		return;
	}
	CHECK(!err);
	run_invariants(&r);
	size_t len1 = 0, len2 = 0;
	char *built = proto_run_build(&r, &len1), *key = proto_run_key(&r);
	/* Every string came from JSON text, so it is UTF-8 and can be said again. */
	if (!built || !key)
		die("a parsed RUN request does not build", NULL);
	CHECK(len1 == strlen(built));
	if (proto_run_parse(built, len1, &back, &err) < 0)
		die("a built RUN request does not parse back", err->message);
	char *again = proto_run_build(&back, &len2), *key2 = proto_run_key(&back);
	if (!again || len1 != len2 || memcmp(built, again, len1) != 0)
		die("RUN round trip: the payload changed", again);
	if (!key2 || strcmp(key, key2) != 0)
		die("RUN round trip: the pool key changed", key2);
	CHECK(proto_run_poolable(&r) == proto_run_poolable(&back));
	free(built);
	free(again);
	free(key);
	free(key2);
	proto_run_release(&r);
	proto_run_release(&back);
}

static void signal_payload(const char *buf, size_t len)
{
	struct cordon_error *err = NULL;
	int sig = 0, back = 0;
	if (proto_signal_parse(buf, len, &sig, &err) < 0) {
		refused(err);
		return;
	}
	size_t n = 0;
	char *built = proto_signal_build(sig, &n);
	CHECK(built);
	if (proto_signal_parse(built, n, &back, &err) < 0)
		die("a built SIGNAL does not parse back", err->message);
	CHECK(back == sig);
	free(built);
}

static void result_payload(const char *buf, size_t len)
{
	struct proto_result r = {0}, back = {0};
	struct cordon_error *err = NULL;
	if (proto_result_parse(buf, len, &r, &err) < 0) {
		refused(err);
		proto_result_release(&r);
		return;
	}
	CHECK(r.status >= -1 && r.status <= 255 && (r.status >= 0 || r.message));
	size_t n = 0;
	char *built = proto_result_build(&r, &n);
	if (!built)
		die("a parsed RESULT does not build", NULL);
	if (proto_result_parse(built, n, &back, &err) < 0)
		die("a built RESULT does not parse back", err->message);
	CHECK(back.status == r.status && back.code == r.code);
	CHECK(nstr_eq(back.message, r.message) && nstr_eq(back.hint, r.hint) && nstr_eq(back.report, r.report));
	free(built);
	proto_result_release(&r);
	proto_result_release(&back);
}

static void error_payload(const char *buf, size_t len)
{
	struct cordon_error *out = NULL, *back = NULL, *err = NULL;
	if (proto_error_parse(buf, len, &out, &err) < 0) {
		CHECK(!out);
		refused(err);
		return;
	}
	CHECK(out && out->message && out->code >= 0);
	size_t n = 0;
	char *built = proto_error_build(out, &n);
	CHECK(built);
	if (proto_error_parse(built, n, &back, &err) < 0)
		die("a built ERROR does not parse back", err->message);
	/* A code of 0 is sent as EPROTO: a refusal always says why in errno terms. */
	CHECK(back->code == (out->code ? out->code : EPROTO));
	CHECK(nstr_eq(back->message, out->message) && nstr_eq(back->hint, out->hint));
	free(built);
	cordon_error_free(out);
	cordon_error_free(back);
}

/* The 12 bytes as a header: -1 when refused, else the frame's type (and *len). */
static int header(const uint8_t *data, uint32_t *len)
{
	struct cordon_error *err = NULL;
	uint16_t type = 0;
	if (proto_header_parse(data, &type, len, &err) < 0) {
		CHECK(err && (err->code == EPROTO || err->code == EPROTONOSUPPORT || err->code == EMSGSIZE));
		refused(err);
		return -1;
	}
	CHECK(!err && type >= PROTO_RUN && type <= PROTO_STATUS && *len <= PROTO_MAX_PAYLOAD);
	uint8_t again[PROTO_HEADER_LEN];
	proto_header_build(again, type, *len);
	CHECK(memcmp(again, data, PROTO_HEADER_LEN) == 0);
	return type;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t flen = 0;
	int type = size >= PROTO_HEADER_LEN ? header(data, &flen) : -1;
	const char *payload = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	if (type > 0) {
		payload = (const char *)data + PROTO_HEADER_LEN;
		len = size - PROTO_HEADER_LEN < flen ? size - PROTO_HEADER_LEN : flen;
	} else if (size >= 1) {
		type = PROTO_RUN + data[0] % 4;
	} else {
		return 0;
	}
	switch (type) {
	case PROTO_RUN: run_payload(payload, len); break;
	case PROTO_SIGNAL: signal_payload(payload, len); break;
	case PROTO_RESULT: result_payload(payload, len); break;
	case PROTO_ERROR: error_payload(payload, len); break;
	default: break; /* STATUS: no payload parser yet */
	}
	return 0;
}
