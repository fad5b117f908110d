// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy's protocol parsers: HTTP request heads, SOCKS5, the TLS ClientHello's SNI and DNS
 * queries. Each valid input is also fed one byte at a time (the first result that is not NEED_MORE
 * must be the one the whole input gives), and each cap is tried one byte under and one over.
 */
#include "unit.h"

#include "proxy/dns_query.h"
#include "proxy/http_head.h"
#include "proxy/socks5.h"
#include "proxy/tls_sni.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* Parses s whole and byte by byte; returns the whole-input status, with *req and *used from it. */
static enum hh_status hh(const char *s, size_t n, struct hh_request *req, size_t *used)
{
	const uint8_t *b = (const uint8_t *)s;
	enum hh_status st = http_head_parse(b, n, req, used);
	for (size_t k = 0; k <= n; k++) {
		struct hh_request r2;
		size_t u2;
		enum hh_status s2 = http_head_parse(b, k, &r2, &u2);
		if (s2 == HH_NEED_MORE) {
			assert_int_equal(u2, 0);
			continue;
		}
		if (s2 != st || r2.error != req->error || u2 != *used)
			fail_msg("`%.60s`: at %zu bytes %d/%d, whole %d/%d", s, k, s2, r2.error, st, req->error);
		break;
	}
	return st;
}

static void test_http_valid(void **state)
{
	(void)state;
	struct hh_request r;
	size_t used;
	const char *s = "CONNECT Example.COM:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_int_equal(used, strlen(s) - 3);
	assert_int_equal(r.head_len, used);
	assert_true(r.connect);
	assert_int_equal(r.form, HH_FORM_AUTHORITY);
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.host_kind, HH_HOST_NAME);
	assert_int_equal(r.port, 443);
	assert_int_equal(r.nheaders, 1);

	s = "CONNECT [2001:DB8::1]:8443 HTTP/1.0\r\n\r\n";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_string_equal(r.host, "2001:db8::1");
	assert_int_equal(r.host_kind, HH_HOST_IPV6);
	assert_int_equal(r.port, 8443);
	assert_int_equal(r.minor, 0);

	s = "GET http://Example.com:8080/a/b?c=d HTTP/1.1\r\nHost:example.COM:8080 \r\nX-A: 1\r\n\r\nbody";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_int_equal(r.form, HH_FORM_ABSOLUTE);
	assert_int_equal(r.port, 8080);
	assert_false(r.path_slash);
	assert_int_equal(r.path.len, 8);
	assert_memory_equal(s + r.path.off, "/a/b?c=d", 8);
	assert_memory_equal(s + r.method.off, "GET", r.method.len);
	assert_int_equal(r.headers_off, strlen("GET http://Example.com:8080/a/b?c=d HTTP/1.1\r\n"));

	s = "POST http://example.com HTTP/1.1\r\nHost: example.com:80\r\nContent-Length: 12\r\n"
	    "content-length: 12\r\n\r\n";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_int_equal(r.port, 80);
	assert_true(r.path_slash);
	assert_int_equal(r.path.len, 0);
	assert_true(r.has_content_length);
	assert_int_equal(r.content_length, 12);

	s = "GET http://[::1]?q HTTP/1.1\r\nHost: [::1]\r\nTransfer-Encoding: Chunked\r\n\r\n";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_string_equal(r.host, "::1");
	assert_true(r.path_slash);
	assert_memory_equal(s + r.path.off, "?q", r.path.len);
	assert_true(r.chunked);

	/* Origin-form (transparent mode): the destination is the Host header. */
	s = "GET /x HTTP/1.1\r\nUser-Agent: t\r\nHOST: 10.0.0.1:81\r\n\r\n";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_int_equal(r.form, HH_FORM_ORIGIN);
	assert_int_equal(r.host_kind, HH_HOST_IPV4);
	assert_string_equal(r.host, "10.0.0.1");
	assert_int_equal(r.port, 81);
	assert_memory_equal(s + r.path.off, "/x", r.path.len);

	s = "GET / HTTP/1.0\r\n\r\n";
	assert_int_equal(hh(s, strlen(s), &r, &used), HH_DONE);
	assert_int_equal(r.host_kind, HH_HOST_NONE);
	assert_false(r.has_host_header);
}

struct hh_bad {
	const char *in;
	enum hh_error err;
	int status;
};

static void test_http_errors(void **state)
{
	(void)state;
	static const struct hh_bad cases[] = {
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HH_ERR_HOST_DUPLICATE, 400},
		{"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", HH_ERR_HOST_MISMATCH, 400},
		{"GET http://a/ HTTP/1.1\r\nHost: a:81\r\n\r\n", HH_ERR_HOST_MISMATCH, 400},
		{"GET http://a:81/ HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_HOST_MISMATCH, 400},
		{"GET / HTTP/1.1\r\n\r\n", HH_ERR_HOST_MISSING, 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", HH_ERR_OBS_FOLD, 400},
		{"GET / HTTP/1.1\r\n\tX: 1\r\n\r\n", HH_ERR_OBS_FOLD, 400},
		{"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", HH_ERR_BARE_CR, 400},
		{"GET / HTTP/1.1\nHost: a\n\n", HH_ERR_BARE_LF, 400},
		{"GET / HTTP/1.1\r\nX: 1\n\r\n", HH_ERR_BARE_LF, 400},
		{"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", HH_ERR_NUL, 400},
		{"GET /\0 HTTP/1.1\r\n\r\n", HH_ERR_NUL, 400},
		{"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", HH_ERR_CTL, 400},
		{"GET / HTTP/1.1\r\nX(y): 1\r\n\r\n", HH_ERR_HEADER_NAME, 400},
		{"GET / HTTP/1.1\r\n: 1\r\n\r\n", HH_ERR_HEADER_NAME, 400},
		{"GET / HTTP/1.1\r\nnocolon\r\n\r\n", HH_ERR_HEADER_NAME, 400},
		{"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", HH_ERR_HEADER_NAME, 400},
		{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HH_ERR_SPACE_BEFORE_COLON, 400},
		{"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HH_ERR_SPACE_BEFORE_COLON, 400},
		{"CONNECT a:0 HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a:65536 HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a:000443 HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a: HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a:8o HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a:+80 HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT [::1] HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT a:1:2 HTTP/1.1\r\n\r\n", HH_ERR_PORT, 400},
		{"CONNECT exa_mple.com:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT a..b:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT .a:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT a.:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT :443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT 1.2.3:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT 2130706433:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT 1.2.3.256:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT [::1:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT [zz::1]:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT [1.2.3.4]:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT [::1]x:443 HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT /x HTTP/1.1\r\n\r\n", HH_ERR_HOST, 400},
		{"CONNECT u@a:443 HTTP/1.1\r\n\r\n", HH_ERR_USERINFO, 400},
		{"GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_USERINFO, 400},
		{"GET / HTTP/1.1\r\nHost: \r\n\r\n", HH_ERR_HOST, 400},
		{"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HH_ERR_HOST, 400},
		{"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_SCHEME, 501},
		{"GET https://a/ HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_SCHEME, 501},
		{"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_TARGET, 400},
		{"GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_TARGET, 400},
		{"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_TARGET, 400},
		{"GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", HH_ERR_TARGET, 400},
		{"GET / HTTP/2.0\r\n\r\n", HH_ERR_VERSION, 505},
		{"GET / HTTP/1.2\r\n\r\n", HH_ERR_VERSION, 505},
		{"GET / http/1.1\r\n\r\n", HH_ERR_REQUEST_LINE, 400},
		{"GET / HTTP/1.1 \r\n\r\n", HH_ERR_REQUEST_LINE, 400},
		{"GET  / HTTP/1.1\r\n\r\n", HH_ERR_REQUEST_LINE, 400},
		{"GET\r\n\r\n", HH_ERR_REQUEST_LINE, 400},
		{"\r\n\r\n", HH_ERR_REQUEST_LINE, 400},
		{"G(T / HTTP/1.1\r\n\r\n", HH_ERR_METHOD, 400},
		{" / HTTP/1.1\r\n\r\n", HH_ERR_METHOD, 400},
		{"GET\t/ HTTP/1.1\r\n\r\n", HH_ERR_REQUEST_LINE, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		 HH_ERR_TE_WITH_CL, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
		 HH_ERR_TE_WITH_CL, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HH_ERR_TRANSFER_CODING, 501},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		 HH_ERR_TRANSFER_CODING, 501},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", HH_ERR_CONTENT_LENGTH, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", HH_ERR_CONTENT_LENGTH, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", HH_ERR_CONTENT_LENGTH, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", HH_ERR_CONTENT_LENGTH, 400},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		 HH_ERR_CONTENT_LENGTH, 400},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct hh_request r;
		size_t used;
		/* sizeof-based length: some inputs hold a NUL. */
		size_t n = strlen(cases[i].in);
		if (cases[i].err == HH_ERR_NUL)
			n += 1 + strlen(cases[i].in + n + 1);
		enum hh_status st = hh(cases[i].in, n, &r, &used);
		if (st != HH_ERROR || r.error != cases[i].err)
			fail_msg("case %zu `%s`: status %d error %d (%s), want error %d", i, cases[i].in, st,
				 r.error, http_head_strerror(r.error), cases[i].err);
		assert_int_equal(used, 0);
		assert_int_equal(http_head_status(r.error), cases[i].status);
		assert_non_null(http_head_strerror(r.error));
	}
	assert_int_equal(http_head_status(HH_OK), 0);
	assert_string_equal(http_head_strerror((enum hh_error)999), "unknown error");
}

static char big[HH_MAX_HEAD + 64];

/* "GET /aaa...a HTTP/1.1" with a request line of exactly `line` bytes before its CRLF. */
static char *long_request(size_t line, size_t *n)
{
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', line - 14);
	strcpy(big + line - 9, " HTTP/1.1\r\nHost: a\r\n\r\n");
	*n = strlen(big);
	return big;
}

/* A head of exactly `total` bytes: request line, Host, one filler header, empty line. */
static char *big_head(size_t total)
{
	const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
	size_t k = strlen(start);
	memcpy(big, start, k);
	memset(big + k, 'v', total - k - 4);
	memcpy(big + total - 4, "\r\n\r\n", 4);
	big[total] = '\0';
	return big;
}

static void test_http_caps(void **state)
{
	(void)state;
	struct hh_request r;
	size_t used, n;
	char *s = long_request(HH_MAX_REQUEST_LINE, &n);
	assert_int_equal(http_head_parse((uint8_t *)s, n, &r, &used), HH_DONE);
	assert_int_equal(used, n);
	s = long_request(HH_MAX_REQUEST_LINE + 1, &n);
	assert_int_equal(http_head_parse((uint8_t *)s, n, &r, &used), HH_ERROR);
	assert_int_equal(r.error, HH_ERR_LINE_TOO_LONG);
	assert_int_equal(http_head_status(r.error), 414);
	/* Known as soon as the line's 8193rd byte arrives, with no CRLF in sight. */
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_REQUEST_LINE, &r, &used), HH_NEED_MORE);
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_REQUEST_LINE + 1, &r, &used), HH_ERROR);

	s = big_head(HH_MAX_HEAD);
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_HEAD, &r, &used), HH_DONE);
	assert_int_equal(used, HH_MAX_HEAD);
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_HEAD - 1, &r, &used), HH_NEED_MORE);
	s = big_head(HH_MAX_HEAD + 1);
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_HEAD + 1, &r, &used), HH_ERROR);
	assert_int_equal(r.error, HH_ERR_HEAD_TOO_LARGE);
	assert_int_equal(http_head_status(r.error), 431);
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_HEAD - 1, &r, &used), HH_NEED_MORE);
	assert_int_equal(http_head_parse((uint8_t *)s, HH_MAX_HEAD, &r, &used), HH_ERROR);

	for (int count = HH_MAX_HEADERS; count <= HH_MAX_HEADERS + 1; count++) {
		char buf[4096];
		size_t k = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
		for (int i = 1; i < count; i++)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "X%d: %d\r\n", i, i);
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\r\n");
		enum hh_status st = hh(buf, k, &r, &used);
		assert_int_equal(st, count == HH_MAX_HEADERS ? HH_DONE : HH_ERROR);
		if (st == HH_ERROR) {
			assert_int_equal(r.error, HH_ERR_TOO_MANY_HEADERS);
			assert_int_equal(http_head_status(r.error), 431);
		}
	}
}

/* ---- SOCKS5 -------------------------------------------------------------------------------- */

static enum s5_status s5req(const uint8_t *b, size_t n, struct s5_request *r, size_t *used)
{
	enum s5_status st = s5_parse_request(b, n, r, used);
	for (size_t k = 0; k <= n; k++) {
		struct s5_request r2;
		size_t u2;
		enum s5_status s2 = s5_parse_request(b, k, &r2, &u2);
		if (s2 == S5_NEED_MORE)
			continue;
		assert_int_equal(s2, st);
		assert_int_equal(r2.error, r->error);
		assert_int_equal(u2, *used);
		break;
	}
	return st;
}

static void test_socks5_greeting(void **state)
{
	(void)state;
	struct s5_greeting g;
	size_t used;
	const uint8_t ok[] = {5, 2, 2, 0, 0xee};
	for (size_t k = 0; k < 4; k++)
		assert_int_equal(s5_parse_greeting(ok, k, &g, &used), S5_NEED_MORE);
	assert_int_equal(s5_parse_greeting(ok, sizeof(ok), &g, &used), S5_DONE);
	assert_int_equal(used, 4);
	assert_true(g.noauth);
	const uint8_t noauth_absent[] = {5, 1, 2};
	assert_int_equal(s5_parse_greeting(noauth_absent, 3, &g, &used), S5_DONE);
	assert_false(g.noauth);
	const uint8_t none[] = {5, 0};
	assert_int_equal(s5_parse_greeting(none, 2, &g, &used), S5_DONE);
	assert_int_equal(used, 2);
	assert_false(g.noauth);
	const uint8_t v4[] = {4, 1, 0};
	assert_int_equal(s5_parse_greeting(v4, 1, &g, &used), S5_ERROR);
	assert_int_equal(g.error, S5_ERR_VERSION);
	uint8_t out[2];
	assert_int_equal(s5_method_reply(out, 2, true), 2);
	assert_memory_equal(out, "\x05\x00", 2);
	assert_int_equal(s5_method_reply(out, 2, false), 2);
	assert_memory_equal(out, "\x05\xff", 2);
	assert_int_equal(s5_method_reply(out, 1, true), -1);
}

static void test_socks5_request(void **state)
{
	(void)state;
	struct s5_request r;
	size_t used;
	const uint8_t v4[] = {5, 1, 0, 1, 192, 0, 2, 1, 0x01, 0xbb, 'x'};
	assert_int_equal(s5req(v4, sizeof(v4), &r, &used), S5_DONE);
	assert_int_equal(used, 10);
	assert_string_equal(r.host, "192.0.2.1");
	assert_int_equal(r.port, 443);
	const uint8_t dn[] = {5, 1, 0, 3, 11, 'E', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'C', 'o', 'm', 0, 80};
	assert_int_equal(s5req(dn, sizeof(dn), &r, &used), S5_DONE);
	assert_int_equal(used, sizeof(dn));
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.port, 80);
	const uint8_t v6[] = {5, 1, 0, 4, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90};
	assert_int_equal(s5req(v6, sizeof(v6), &r, &used), S5_DONE);
	assert_string_equal(r.host, "2001:db8::1");
	assert_int_equal(r.atyp, S5_ATYP_IPV6);
	assert_memory_equal(r.addr, v6 + 4, 16);
	assert_int_equal(r.port, 8080);
	/* The longest name: 255 bytes. */
	uint8_t longest[4 + 1 + 255 + 2] = {5, 1, 0, 3, 255};
	memset(longest + 5, 'a', 255);
	longest[sizeof(longest) - 1] = 1;
	assert_int_equal(s5req(longest, sizeof(longest), &r, &used), S5_DONE);
	assert_int_equal(strlen(r.host), 255);

	static const struct {
		uint8_t in[12];
		size_t n;
		enum s5_error err;
		enum s5_rep rep;
	} bad[] = {
		{{4, 1, 0, 1}, 4, S5_ERR_VERSION, S5_REP_GENERAL_FAILURE},
		{{5, 2, 0, 1}, 4, S5_ERR_COMMAND, S5_REP_CMD_UNSUPPORTED},
		{{5, 3, 0, 1}, 4, S5_ERR_COMMAND, S5_REP_CMD_UNSUPPORTED},
		{{5, 1, 1, 1}, 4, S5_ERR_RESERVED, S5_REP_GENERAL_FAILURE},
		{{5, 1, 0, 2}, 4, S5_ERR_ATYP, S5_REP_ATYP_UNSUPPORTED},
		{{5, 1, 0, 3, 0, 0, 80}, 7, S5_ERR_NAME, S5_REP_HOST_UNREACHABLE},
		{{5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80}, 10, S5_ERR_NAME, S5_REP_HOST_UNREACHABLE},
		{{5, 1, 0, 3, 3, 'a', '_', 'b', 0, 80}, 10, S5_ERR_NAME, S5_REP_HOST_UNREACHABLE},
		{{5, 1, 0, 1, 1, 2, 3, 4, 0, 0}, 10, S5_ERR_PORT, S5_REP_HOST_UNREACHABLE},
	};
	for (size_t i = 0; i < N(bad); i++) {
		if (s5req(bad[i].in, bad[i].n, &r, &used) != S5_ERROR || r.error != bad[i].err)
			fail_msg("case %zu: error %d, want %d", i, r.error, bad[i].err);
		assert_int_equal(s5_error_reply(r.error), bad[i].rep);
		assert_non_null(s5_strerror(r.error));
	}
}

static void test_socks5_replies(void **state)
{
	(void)state;
	uint8_t out[S5_MAX_REPLY];
	struct s5_bound b4 = {.atyp = S5_ATYP_IPV4, .addr = {10, 0, 0, 2}, .port = 40000};
	assert_int_equal(s5_reply_success(out, sizeof(out), &b4), 10);
	assert_memory_equal(out, "\x05\x00\x00\x01\x0a\x00\x00\x02\x9c\x40", 10);
	assert_int_equal(s5_reply_success(out, 9, &b4), -1);
	struct s5_bound b6 = {.atyp = S5_ATYP_IPV6, .addr = {0xfe, 0x80, [15] = 1}, .port = 1};
	assert_int_equal(s5_reply_success(out, sizeof(out), &b6), 22);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[3], S5_ATYP_IPV6);
	assert_memory_equal(out + 4, b6.addr, 16);
	assert_int_equal(out[20] << 8 | out[21], 1);
	struct s5_bound bad = {.atyp = S5_ATYP_DOMAIN};
	assert_int_equal(s5_reply_success(out, sizeof(out), &bad), -1);
	static const enum s5_rep codes[] = {S5_REP_NOT_ALLOWED, S5_REP_HOST_UNREACHABLE, S5_REP_REFUSED,
					    S5_REP_CMD_UNSUPPORTED, S5_REP_ATYP_UNSUPPORTED};
	for (size_t i = 0; i < N(codes); i++) {
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(s5_reply_failure(out, sizeof(out), codes[i]), 10);
		assert_int_equal(out[0], 5);
		assert_int_equal(out[1], codes[i]);
		assert_int_equal(out[2], 0);
		assert_int_equal(out[3], S5_ATYP_IPV4);
		assert_memory_equal(out + 4, "\0\0\0\0\0\0", 6);
	}
	assert_int_equal(s5_reply_failure(out, sizeof(out), S5_REP_SUCCEEDED), -1);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

#define HELLO_FIXED 86 /* record header, handshake header and the body up to the extensions block */

static size_t put_name_ext(uint8_t *o, uint16_t type, const char *name)
{
	size_t n = strlen(name);
	uint8_t *p = o;
	*p++ = (uint8_t)(type >> 8), *p++ = (uint8_t)type;
	*p++ = (uint8_t)((n + 5) >> 8), *p++ = (uint8_t)(n + 5);
	*p++ = (uint8_t)((n + 3) >> 8), *p++ = (uint8_t)(n + 3);
	*p++ = 0, *p++ = (uint8_t)(n >> 8), *p++ = (uint8_t)n;
	memcpy(p, name, n);
	return 9 + n;
}

static size_t put_ext(uint8_t *o, uint16_t type, size_t len)
{
	o[0] = (uint8_t)(type >> 8), o[1] = (uint8_t)type, o[2] = (uint8_t)(len >> 8), o[3] = (uint8_t)len;
	memset(o + 4, 0, len);
	return 4 + len;
}

/* One record holding a ClientHello with the given extensions (no block at all when elen is -1). */
static size_t hello(uint8_t *o, const uint8_t *exts, long elen)
{
	size_t body = HELLO_FIXED - 9 + (elen >= 0 ? 2 + (size_t)elen : 0) - 2;
	uint8_t *p = o;
	*p++ = 22, *p++ = 3, *p++ = 1, *p++ = (uint8_t)((body + 4) >> 8), *p++ = (uint8_t)(body + 4);
	*p++ = 1, *p++ = 0, *p++ = (uint8_t)(body >> 8), *p++ = (uint8_t)body;
	*p++ = 3, *p++ = 3;
	memset(p, 0x11, 32), p += 32;
	*p++ = 32, memset(p, 0x22, 32), p += 32;
	*p++ = 0, *p++ = 4, *p++ = 0x13, *p++ = 1, *p++ = 0x13, *p++ = 2;
	*p++ = 1, *p++ = 0;
	if (elen >= 0) {
		*p++ = (uint8_t)(elen >> 8), *p++ = (uint8_t)elen;
		memcpy(p, exts, (size_t)elen), p += elen;
	}
	return (size_t)(p - o);
}

/* Re-frames the handshake message of a one-record hello into records of `chunk` bytes. */
static size_t split(uint8_t *o, const uint8_t *one, size_t n, size_t chunk)
{
	size_t msg = n - 5, k = 0;
	for (size_t off = 0; off < msg; off += chunk) {
		size_t c = msg - off < chunk ? msg - off : chunk;
		o[k++] = 22, o[k++] = 3, o[k++] = 3, o[k++] = (uint8_t)(c >> 8), o[k++] = (uint8_t)c;
		memcpy(o + k, one + 5 + off, c);
		k += c;
	}
	return k;
}

static enum tls_status tls(const uint8_t *b, size_t n, struct tls_hello *h, size_t *used)
{
	enum tls_status st = tls_sni_parse(b, n, h, used);
	for (size_t k = 0; k <= n; k++) {
		struct tls_hello h2;
		size_t u2;
		enum tls_status s2 = tls_sni_parse(b, k, &h2, &u2);
		if (s2 == TLS_NEED_MORE)
			continue;
		if (s2 != st || h2.error != h->error || u2 != *used || strcmp(h2.sni, h->sni) != 0)
			fail_msg("at %zu of %zu bytes: %d/%d, whole %d/%d", k, n, s2, h2.error, st, h->error);
		break;
	}
	return st;
}

static uint8_t tbuf[3][20000];

static void test_tls_valid(void **state)
{
	(void)state;
	struct tls_hello h;
	size_t used, e = 0, n;
	uint8_t *ex = tbuf[0], *b = tbuf[1];
	e += put_ext(ex + e, 0x002b, 3);
	e += put_name_ext(ex + e, 0, "Www.Example.COM");
	e += put_ext(ex + e, 0xfe0d, 8);
	n = hello(b, ex, (long)e);
	memcpy(b + n, "\x17\x03\x03", 3); /* what follows is not consumed */
	assert_int_equal(tls(b, n + 3, &h, &used), TLS_DONE);
	assert_int_equal(used, n);
	assert_true(h.has_sni);
	assert_string_equal(h.sni, "www.example.com");
	assert_true(h.has_ech);
	assert_int_equal(h.version, 0x0303);

	n = hello(b, NULL, -1);
	assert_int_equal(tls(b, n, &h, &used), TLS_DONE);
	assert_false(h.has_sni);
	assert_string_equal(h.sni, "");
	n = hello(b, ex, 7);
	assert_int_equal(tls(b, n, &h, &used), TLS_DONE);
	assert_false(h.has_sni);
	assert_false(h.has_ech);

	/* A name of another type before the host_name is skipped. */
	const uint8_t two[] = {0, 0, 0, 14, 0, 12, 9, 0, 1, 'x', 0, 0, 5, 'a', '.', 'b', '-', 'c'};
	n = hello(b, two, sizeof(two));
	assert_int_equal(tls(b, n, &h, &used), TLS_DONE);
	assert_string_equal(h.sni, "a.b-c");
}

static void test_tls_split(void **state)
{
	(void)state;
	struct tls_hello h;
	size_t used, n, m;
	uint8_t *ex = tbuf[0], *one = tbuf[1], *b = tbuf[2];
	size_t e = put_name_ext(ex, 0, "split.example");
	e += put_ext(ex + e, 0x0015, 40);
	n = hello(one, ex, (long)e);
	static const size_t chunks[] = {1, 2, 3, 7, 50, 4096};
	for (size_t i = 0; i < N(chunks); i++) {
		m = split(b, one, n, chunks[i]);
		memcpy(b + m, "\x16\x03\x03\x00\x05", 5); /* the next record stays unread */
		assert_int_equal(tls(b, m + 5, &h, &used), TLS_DONE);
		assert_int_equal(used, m);
		assert_string_equal(h.sni, "split.example");
	}
	/* A record that is not a handshake in the middle of the message. */
	m = split(b, one, n, 30);
	b[35] = 23;
	assert_int_equal(tls(b, m, &h, &used), TLS_ERROR);
	assert_int_equal(h.error, TLS_ERR_RECORD);
}

struct tls_bad {
	size_t at; /* byte to overwrite in a plain one-record hello; 0: use `raw` extensions */
	uint8_t val;
	uint8_t raw[24];
	long rawlen;
	enum tls_error err;
};

static void test_tls_errors(void **state)
{
	(void)state;
	static const struct tls_bad cases[] = {
		{0, 23, {0}, -2, TLS_ERR_NOT_HANDSHAKE},
		{0, 'G', {0}, -2, TLS_ERR_NOT_HANDSHAKE},
		{1, 2, {0}, -2, TLS_ERR_NOT_HANDSHAKE},
		{2, 0, {0}, -2, TLS_ERR_NOT_HANDSHAKE},
		{2, 5, {0}, -2, TLS_ERR_NOT_HANDSHAKE},
		{3, 0x40, {0}, -2, TLS_ERR_RECORD}, /* 0x40xx > 16384 */
		{5, 2, {0}, -2, TLS_ERR_NOT_CLIENT_HELLO},
		{6, 1, {0}, -2, TLS_ERR_TOO_LARGE}, /* handshake length 64 KiB */
		{43, 33, {0}, -2, TLS_ERR_LENGTH},  /* session id */
		{77, 3, {0}, -2, TLS_ERR_LENGTH},   /* odd cipher suites */
		{77, 0, {0}, -2, TLS_ERR_LENGTH},
		{82, 0, {0}, -2, TLS_ERR_LENGTH}, /* no compression method */
		{77, 200, {0}, -2, TLS_ERR_LENGTH}, /* cipher suites overrun the message */
		{0, 0, {0, 0}, 2, TLS_ERR_LENGTH}, /* an extension header cut short */
		{0, 0, {0, 5, 0, 9, 0}, 5, TLS_ERR_LENGTH}, /* extension longer than the block */
		{0, 0, {0, 0, 0, 1, 0}, 5, TLS_ERR_LENGTH}, /* server_name shorter than its list length */
		{0, 0, {0, 0, 0, 3, 0, 2, 0}, 7, TLS_ERR_LENGTH}, /* list length != extension length - 2 */
		{0, 0, {0, 0, 0, 6, 0, 4, 0, 0, 2, 'a'}, 10, TLS_ERR_LENGTH}, /* name overruns list */
		{0, 0, {0, 0, 0, 5, 0, 3, 0, 0, 0}, 9, TLS_ERR_NAME}, /* empty name */
		{0, 0, {0, 0, 0, 10, 0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b'}, 14, TLS_ERR_DUPLICATE},
		{0, 0, {0, 0, 0, 2, 0, 0, 0, 0, 0, 2, 0, 0}, 12, TLS_ERR_DUPLICATE},
	};
	uint8_t *b = tbuf[1];
	struct tls_hello h;
	size_t used;
	for (size_t i = 0; i < N(cases); i++) {
		size_t n = cases[i].rawlen >= 0 ? hello(b, cases[i].raw, cases[i].rawlen) : hello(b, NULL, -1);
		if (cases[i].rawlen < 0)
			b[cases[i].at] = cases[i].val;
		if (tls(b, n, &h, &used) != TLS_ERROR || h.error != cases[i].err)
			fail_msg("case %zu: error %d (%s), want %d", i, h.error, tls_sni_strerror(h.error),
				 cases[i].err);
		assert_int_equal(used, 0);
	}
	/* Zero-length record; handshake length too short for the body. */
	size_t n = hello(b, NULL, -1);
	b[3] = 0, b[4] = 0;
	assert_int_equal(tls(b, n, &h, &used), TLS_ERROR);
	assert_int_equal(h.error, TLS_ERR_RECORD);
	n = hello(b, NULL, -1);
	b[8] = 40;
	assert_int_equal(tls(b, n, &h, &used), TLS_ERROR);
	assert_int_equal(h.error, TLS_ERR_LENGTH);

	static const char *const names[] = {"a_b.com", "example.com.", ".a", "a..b", "1.2.3.4", "a b", "a\x01"};
	for (size_t i = 0; i < N(names); i++) {
		n = hello(b, tbuf[0], (long)put_name_ext(tbuf[0], 0, names[i]));
		assert_int_equal(tls(b, n, &h, &used), TLS_ERROR);
		assert_int_equal(h.error, TLS_ERR_NAME);
		assert_false(h.has_sni);
	}
	char name[300];
	memset(name, 'a', sizeof(name));
	name[63] = '.', name[127] = '.', name[191] = '.';
	name[253] = '\0'; /* 253 bytes: the longest */
	n = hello(b, tbuf[0], (long)put_name_ext(tbuf[0], 0, name));
	assert_int_equal(tls_sni_parse(b, n, &h, &used), TLS_DONE);
	assert_int_equal(strlen(h.sni), 253);
	name[253] = 'a', name[254] = '\0';
	n = hello(b, tbuf[0], (long)put_name_ext(tbuf[0], 0, name));
	assert_int_equal(tls_sni_parse(b, n, &h, &used), TLS_ERROR);
	name[63] = 'a', name[64] = '\0'; /* a 64-byte label */
	n = hello(b, tbuf[0], (long)put_name_ext(tbuf[0], 0, name));
	assert_int_equal(tls_sni_parse(b, n, &h, &used), TLS_ERROR);
	assert_string_equal(tls_sni_strerror((enum tls_error)99), "unknown error");
}

/* A hello whose handshake message is msg bytes long, padded with a padding extension. */
static size_t padded(uint8_t *o, size_t msg)
{
	size_t e = put_name_ext(tbuf[0], 0, "cap.example");
	e += put_ext(tbuf[0] + e, 0x0015, msg - (HELLO_FIXED - 5) - e - 4);
	return hello(o, tbuf[0], (long)e);
}

static void test_tls_cap(void **state)
{
	(void)state;
	struct tls_hello h;
	size_t used, n;
	uint8_t *b = tbuf[1];
	n = padded(b, TLS_SNI_MAX_INPUT - 5); /* one record ending at the cap */
	assert_int_equal(n, TLS_SNI_MAX_INPUT);
	assert_int_equal(tls_sni_parse(b, n - 1, &h, &used), TLS_NEED_MORE);
	assert_int_equal(tls_sni_parse(b, n, &h, &used), TLS_DONE);
	assert_string_equal(h.sni, "cap.example");
	n = padded(b, TLS_SNI_MAX_INPUT - 4);
	assert_int_equal(tls_sni_parse(b, 9, &h, &used), TLS_ERROR); /* known from the header */
	assert_int_equal(h.error, TLS_ERR_TOO_LARGE);
	/* Split into four records: the overhead counts. */
	uint8_t *one = tbuf[2];
	n = padded(one, 16364);
	size_t m = split(b, one, n, 4096);
	assert_int_equal(m, TLS_SNI_MAX_INPUT);
	assert_int_equal(tls_sni_parse(b, m, &h, &used), TLS_DONE);
	assert_int_equal(used, m);
	n = padded(one, 16365);
	m = split(b, one, n, 4096);
	assert_int_equal(tls_sni_parse(b, m - 2, &h, &used), TLS_NEED_MORE);
	assert_int_equal(tls_sni_parse(b, TLS_SNI_MAX_INPUT, &h, &used), TLS_ERROR);
	assert_int_equal(h.error, TLS_ERR_TOO_LARGE);
}

/* ---- DNS ----------------------------------------------------------------------------------- */

/* A query for a dotted name (each label copied as is), with an EDNS OPT record if `opt`. */
static size_t dns_q(uint8_t *o, uint16_t flags, const char *name, uint16_t qtype, bool opt)
{
	size_t n = 0;
	const uint8_t head[12] = {0xbe, 0xef, (uint8_t)(flags >> 8), (uint8_t)flags, 0, 1, 0, 0, 0, 0, 0, opt};
	memcpy(o, head, 12), n = 12;
	for (const char *p = name; *p;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		o[n++] = (uint8_t)l;
		memcpy(o + n, p, l), n += l;
		p += l + (dot != NULL);
	}
	o[n++] = 0;
	o[n++] = (uint8_t)(qtype >> 8), o[n++] = (uint8_t)qtype, o[n++] = 0, o[n++] = 1;
	if (opt) {
		const uint8_t rr[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
		memcpy(o + n, rr, 11), n += 11;
	}
	return n;
}

static void test_dns_parse(void **state)
{
	(void)state;
	uint8_t m[600];
	struct dns_query q;
	size_t n = dns_q(m, 0x0100, "WwW.Example.com", DNS_TYPE_A, true);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	assert_int_equal(q.id, 0xbeef);
	assert_true(q.rd);
	assert_string_equal(q.name, "www.example.com");
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.question_len, 17 + 4);
	assert_memory_equal(q.question, m + 12, q.question_len);
	assert_int_equal(q.msg_len, n);
	n = dns_q(m, 0, "", DNS_TYPE_AAAA, false);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	assert_string_equal(q.name, "");
	assert_false(q.rd);
	n = dns_q(m, 0, "_sip._tcp.a-b.example", 33, false);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	assert_string_equal(q.name, "_sip._tcp.a-b.example");
	/* 253 text bytes (255 on the wire) is the longest name; 254 is too long. */
	char name[300];
	memset(name, 'a', sizeof(name));
	name[63] = '.', name[127] = '.', name[191] = '.', name[253] = '\0';
	n = dns_q(m, 0, name, 1, false);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	assert_int_equal(strlen(q.name), 253);
	name[253] = 'a', name[254] = '\0';
	n = dns_q(m, 0, name, 1, false);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_ERROR);
	assert_int_equal(q.error, DNS_ERR_NAME_LENGTH);
	/* The message cap: DNS_MAX_QUERY bytes, padded with additional-section bytes. */
	n = dns_q(m, 0, "a", 1, true);
	memset(m + n, 0, sizeof(m) - n);
	assert_int_equal(dns_parse_query(m, DNS_MAX_QUERY, &q), DNS_DONE);
	assert_int_equal(dns_parse_query(m, DNS_MAX_QUERY + 1, &q), DNS_ERROR);
	assert_int_equal(q.error, DNS_ERR_TOO_LONG);
}

static void test_dns_errors(void **state)
{
	(void)state;
	static const struct {
		size_t at; /* byte to overwrite in a query for "ab.c", type A */
		uint8_t val;
		size_t cut; /* if not 0, the message length */
		enum dns_error err;
	} cases[] = {
		{0, 0, 11, DNS_ERR_SHORT},	   {0, 0, 12, DNS_ERR_SHORT},
		{0, 0, 16, DNS_ERR_SHORT},	   {0, 0, 21, DNS_ERR_SHORT},
		{2, 0x80, 0, DNS_ERR_NOT_QUERY},   {2, 0x08, 0, DNS_ERR_NOT_QUERY},
		{2, 0x28, 0, DNS_ERR_NOT_QUERY},   {5, 0, 0, DNS_ERR_COUNTS},
		{5, 2, 0, DNS_ERR_COUNTS},	   {4, 1, 0, DNS_ERR_COUNTS},
		{7, 1, 0, DNS_ERR_COUNTS},	   {9, 1, 0, DNS_ERR_COUNTS},
		{12, 0xc0, 0, DNS_ERR_POINTER},	   {15, 0xc0, 0, DNS_ERR_POINTER},
		{12, 0x40, 0, DNS_ERR_POINTER},	   {12, 0x80, 0, DNS_ERR_POINTER},
		{12, 20, 0, DNS_ERR_SHORT},	   {17, 5, 0, DNS_ERR_SHORT},
	};
	uint8_t m[64];
	struct dns_query q;
	for (size_t i = 0; i < N(cases); i++) {
		size_t n = dns_q(m, 0x0100, "ab.c", 1, false);
		if (cases[i].cut)
			n = cases[i].cut;
		else
			m[cases[i].at] = cases[i].val;
		if (dns_parse_query(m, n, &q) != DNS_ERROR || q.error != cases[i].err)
			fail_msg("case %zu: error %d (%s), want %d", i, q.error, dns_strerror(q.error), cases[i].err);
		assert_int_equal(q.question_len, 0);
		assert_int_equal(dns_build_response(&q, DNS_RCODE_REFUSED, m, sizeof(m)), -1);
	}
	/* Names no allowlist holds: an error, but answerable with REFUSED. */
	static const char *const odd[] = {"a*.b", "a b", "a\x01", "\xc3\xa9.fr"};
	for (size_t i = 0; i < N(odd); i++) {
		size_t n = dns_q(m, 0x0100, odd[i], 1, false);
		assert_int_equal(dns_parse_query(m, n, &q), DNS_ERROR);
		assert_int_equal(q.error, DNS_ERR_NAME);
		assert_string_equal(q.name, "");
		uint8_t out[64];
		int r = dns_build_response(&q, DNS_RCODE_REFUSED, out, sizeof(out));
		assert_int_equal(r, (int)n);
		assert_int_equal(out[3] & 0xf, DNS_RCODE_REFUSED);
	}
	assert_string_equal(dns_strerror((enum dns_error)77), "unknown error");
}

static void test_dns_tcp(void **state)
{
	(void)state;
	uint8_t m[600];
	struct dns_query q;
	size_t used;
	size_t n = dns_q(m + 2, 0x0100, "tcp.example", 1, false);
	m[0] = 0, m[1] = (uint8_t)n;
	m[2 + n] = 0x55; /* the next message's first byte */
	for (size_t k = 0; k < n + 2; k++)
		assert_int_equal(dns_parse_query_tcp(m, k, &q, &used), DNS_NEED_MORE);
	assert_int_equal(dns_parse_query_tcp(m, n + 3, &q, &used), DNS_DONE);
	assert_int_equal(used, n + 2);
	assert_string_equal(q.name, "tcp.example");
	m[0] = (DNS_MAX_QUERY + 1) >> 8, m[1] = (DNS_MAX_QUERY + 1) & 0xff;
	assert_int_equal(dns_parse_query_tcp(m, 2, &q, &used), DNS_ERROR);
	assert_int_equal(q.error, DNS_ERR_TOO_LONG);
	m[0] = 0, m[1] = 5;
	assert_int_equal(dns_parse_query_tcp(m, 7, &q, &used), DNS_ERROR);
	assert_int_equal(q.error, DNS_ERR_SHORT);
	assert_int_equal(used, 0);
}

/* Checks a response's header and question against the query. */
static void check_head(const uint8_t *r, const uint8_t *qm, size_t qlen, int rcode, int an)
{
	assert_memory_equal(r, qm, 2);
	assert_int_equal(r[2] & 0x80, 0x80);		    /* QR */
	assert_int_equal(r[2] & 0x78, 0);		    /* opcode */
	assert_int_equal(r[2] & 0x01, qm[2] & 0x01);	    /* RD copied */
	assert_int_equal(r[3] & 0x80, 0x80);		    /* RA */
	assert_int_equal(r[3] & 0x0f, rcode);
	assert_int_equal(r[4] << 8 | r[5], 1);
	assert_int_equal(r[6] << 8 | r[7], an);
	assert_int_equal(r[8] | r[9] | r[10] | r[11], 0);
	assert_memory_equal(r + 12, qm + 12, qlen);
}

static void test_dns_builders(void **state)
{
	(void)state;
	uint8_t m[300], out[512];
	struct dns_query q;
	size_t n = dns_q(m, 0x0100, "ApI.Example.com", DNS_TYPE_A, true);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	const uint8_t v4[8] = {192, 0, 2, 1, 192, 0, 2, 2};
	int len = dns_build_answer(&q, v4, 2, 300, out, sizeof(out));
	size_t ql = q.question_len;
	assert_int_equal(len, 12 + ql + 2 * 16);
	check_head(out, m, ql, 0, 2);
	for (size_t i = 0; i < 2; i++) {
		const uint8_t *rr = out + 12 + ql + i * 16;
		assert_memory_equal(rr, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04", 12);
		assert_memory_equal(rr + 12, v4 + 4 * i, 4);
	}
	/* The answer parses back as a message whose question is the query's. */
	for (size_t i = 0; i < 3; i++) {
		static const enum dns_rcode rc[] = {DNS_RCODE_NOERROR, DNS_RCODE_NXDOMAIN, DNS_RCODE_REFUSED};
		len = dns_build_response(&q, rc[i], out, sizeof(out));
		assert_int_equal(len, 12 + ql);
		check_head(out, m, ql, (int)rc[i], 0);
	}
	assert_int_equal(dns_build_response(&q, DNS_RCODE_NXDOMAIN, out, 12 + ql - 1), -1);

	n = dns_q(m, 0, "v6.example", DNS_TYPE_AAAA, false);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	uint8_t v6[16 * 40];
	for (size_t i = 0; i < sizeof(v6); i++)
		v6[i] = (uint8_t)i;
	ql = q.question_len;
	len = dns_build_answer(&q, v6, 1, 0xffffffffu, out, sizeof(out));
	assert_int_equal(len, 12 + ql + 28);
	check_head(out, m, ql, 0, 1);
	const uint8_t *rr = out + 12 + ql;
	assert_memory_equal(rr, "\xc0\x0c\x00\x1c\x00\x01\x7f\xff\xff\xff\x00\x10", 12);
	assert_memory_equal(rr + 12, v6, 16);
	/* More addresses than fit: as many as fit, and the count says so. */
	len = dns_build_answer(&q, v6, 40, 60, out, sizeof(out));
	size_t fit = (512 - 12 - ql) / 28;
	assert_int_equal(len, 12 + ql + fit * 28);
	check_head(out, m, ql, 0, (int)fit);
	assert_int_equal(dns_build_answer(&q, v6, 1, 60, out, 12 + ql - 1), -1);
	/* Neither A nor AAAA: no answer can be built. */
	n = dns_q(m, 0, "mx.example", 15, false);
	assert_int_equal(dns_parse_query(m, n, &q), DNS_DONE);
	assert_int_equal(dns_build_answer(&q, v4, 1, 60, out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_valid),	 cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_http_caps),	 cmocka_unit_test(test_socks5_greeting),
		cmocka_unit_test(test_socks5_request),	 cmocka_unit_test(test_socks5_replies),
		cmocka_unit_test(test_tls_valid),	 cmocka_unit_test(test_tls_split),
		cmocka_unit_test(test_tls_errors),	 cmocka_unit_test(test_tls_cap),
		cmocka_unit_test(test_dns_parse),	 cmocka_unit_test(test_dns_errors),
		cmocka_unit_test(test_dns_tcp),		 cmocka_unit_test(test_dns_builders),
	};
	return cmocka_run_group_tests_name("proxy_parsers", tests, NULL, NULL);
}
