// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.x request heads (RFC 9110, 9112). The parse is redone from the first byte on every call:
 * no state survives between calls, so a result on a prefix of the input can only be NEED_MORE or the
 * same result as on the whole input. Every check works on complete lines, except the two size caps.
 */
#include "proxy/http_head.h"

#include <arpa/inet.h>
#include <string.h>

/* What the head's interesting headers said; kept out of hh_request because only the parse needs it. */
struct hh_ctx {
	bool have_host;
	enum hh_host_kind host_kind;
	char host[HH_MAX_HOST + 1];
	uint16_t port;
	bool have_te;
};

enum line_res { LINE_OK, LINE_MORE, LINE_ERR };

static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool span_ieq(const uint8_t *s, size_t n, const char *lit)
{
	size_t m = strlen(lit);
	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

/*
 * Finds the CRLF ending the line that starts at `start`. At most `cap` bytes may precede the CR; a
 * longer line is an error as soon as its cap+1st byte has arrived, so that a client cannot make the
 * proxy wait for an endless line.
 */
static enum line_res find_line(const uint8_t *b, size_t n, size_t start, size_t cap, size_t *end,
			       enum hh_error *err)
{
	for (size_t i = start; i < n; i++) {
		if (b[i] == '\r') {
			if (i + 1 == n)
				return LINE_MORE;
			if (b[i + 1] != '\n')
				return *err = HH_ERR_BARE_CR, LINE_ERR;
			*end = i;
			return LINE_OK;
		}
		if (b[i] == '\n')
			return *err = HH_ERR_BARE_LF, LINE_ERR;
		if (i - start >= cap)
			return *err = HH_ERR_LINE_TOO_LONG, LINE_ERR;
	}
	return LINE_MORE;
}

/* NUL and the other control characters (HTAB aside) have no place anywhere in a head. */
static enum hh_error check_ctl(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0)
			return HH_ERR_NUL;
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return HH_ERR_CTL;
	}
	return HH_OK;
}

static enum hh_error parse_port(const uint8_t *s, size_t n, uint16_t *port)
{
	if (n == 0 || n > 5)
		return HH_ERR_PORT;
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return HH_ERR_PORT;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return HH_ERR_PORT;
	*port = (uint16_t)v;
	return HH_OK;
}

/*
 * A host name: letters, digits, '-' and '.', in labels of 1 to 63 bytes, at most 253 bytes. A name
 * whose last label is all digits must be a dotted quad, so that "1.2.3" or "2130706433" (which some
 * resolvers read as addresses) cannot stand in for an allowlisted name.
 */
static enum hh_error parse_hostname(const uint8_t *s, size_t n, char *out, enum hh_host_kind *kind)
{
	if (n == 0 || n > 253)
		return HH_ERR_HOST;
	size_t label = 0;
	bool digits = true;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = lower(s[i]);
		if (c == '.') {
			if (label == 0)
				return HH_ERR_HOST;
			label = 0;
			digits = true;
		} else if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-') {
			if (++label > 63)
				return HH_ERR_HOST;
			digits = digits && is_digit(c);
		} else {
			return HH_ERR_HOST;
		}
		out[i] = (char)c;
	}
	out[n] = '\0';
	if (label == 0)
		return HH_ERR_HOST; /* trailing dot */
	*kind = HH_HOST_NAME;
	if (digits) {
		struct in_addr a;
		if (inet_pton(AF_INET, out, &a) != 1)
			return HH_ERR_HOST;
		*kind = HH_HOST_IPV4;
	}
	return HH_OK;
}

static enum hh_error parse_ipv6(const uint8_t *s, size_t n, char *out)
{
	if (n < 2 || n > 45)
		return HH_ERR_HOST;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = lower(s[i]);
		if (!(is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.'))
			return HH_ERR_HOST; /* also keeps zone ids ("%25eth0") out */
		out[i] = (char)c;
	}
	out[n] = '\0';
	struct in6_addr a;
	return inet_pton(AF_INET6, out, &a) == 1 ? HH_OK : HH_ERR_HOST;
}

/* host[:port] or [v6][:port]; the port is required when default_port is 0. */
static enum hh_error parse_authority(const uint8_t *s, size_t n, uint16_t default_port, struct hh_ctx *hp)
{
	size_t hlen, rest;
	enum hh_error e;
	if (n > 0 && s[0] == '[') {
		const uint8_t *close = memchr(s, ']', n);
		if (!close)
			return HH_ERR_HOST;
		hlen = (size_t)(close - s) + 1;
		e = parse_ipv6(s + 1, hlen - 2, hp->host);
		hp->host_kind = HH_HOST_IPV6;
	} else {
		const uint8_t *colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
		e = parse_hostname(s, hlen, hp->host, &hp->host_kind);
	}
	if (e != HH_OK)
		return e;
	rest = n - hlen;
	if (rest == 0) {
		hp->port = default_port;
		return default_port ? HH_OK : HH_ERR_PORT;
	}
	if (s[hlen] != ':')
		return HH_ERR_HOST;
	return parse_port(s + hlen + 1, rest - 1, &hp->port);
}

static void set_dest(struct hh_request *req, const struct hh_ctx *hp)
{
	req->host_kind = hp->host_kind;
	memcpy(req->host, hp->host, sizeof(req->host));
	req->port = hp->port;
}

/* "http://authority[/path][?query]"; the scheme has been checked. */
static enum hh_error parse_absolute(const uint8_t *b, struct hh_request *req)
{
	size_t start = req->target.off + 7, end = (size_t)req->target.off + req->target.len;
	size_t i = start;
	while (i < end && b[i] != '/' && b[i] != '?')
		i++;
	if (memchr(b + start, '@', i - start))
		return HH_ERR_USERINFO;
	struct hh_ctx hp = {0};
	enum hh_error e = parse_authority(b + start, i - start, 80, &hp);
	if (e != HH_OK)
		return e;
	set_dest(req, &hp);
	req->form = HH_FORM_ABSOLUTE;
	req->path = (struct hh_span){(uint32_t)i, (uint32_t)(end - i)};
	req->path_slash = i == end || b[i] == '?';
	return HH_OK;
}

/* Tells a scheme ("x+y-z.w://") from anything else, so an ftp:// target is a 501, not a 400. */
static bool has_scheme(const uint8_t *s, size_t n, size_t *slen)
{
	size_t i = 0;
	while (i < n && (is_digit(s[i]) || (lower(s[i]) >= 'a' && lower(s[i]) <= 'z') || s[i] == '+' ||
			 s[i] == '-' || s[i] == '.'))
		i++;
	if (i == 0 || !(lower(s[0]) >= 'a' && lower(s[0]) <= 'z') || n - i < 3 || memcmp(s + i, "://", 3))
		return false;
	*slen = i;
	return true;
}

static enum hh_error parse_target(const uint8_t *b, struct hh_request *req)
{
	const uint8_t *t = b + req->target.off;
	size_t n = req->target.len, slen;
	if (memchr(t, '#', n))
		return HH_ERR_TARGET; /* a fragment is never sent */
	if (req->connect) {
		struct hh_ctx hp = {0};
		if (memchr(t, '@', n))
			return HH_ERR_USERINFO;
		enum hh_error e = parse_authority(t, n, 0, &hp);
		if (e == HH_OK) {
			set_dest(req, &hp);
			req->form = HH_FORM_AUTHORITY;
		}
		return e;
	}
	if (t[0] == '/') {
		req->form = HH_FORM_ORIGIN;
		req->path = req->target;
		return HH_OK;
	}
	if (!has_scheme(t, n, &slen))
		return HH_ERR_TARGET;
	if (!span_ieq(t, slen, "http"))
		return HH_ERR_SCHEME;
	return parse_absolute(b, req);
}

static enum hh_error parse_version(const uint8_t *s, size_t n, struct hh_request *req)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
		return HH_ERR_REQUEST_LINE;
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return HH_ERR_VERSION;
	req->minor = s[7] - '0';
	return HH_OK;
}

/* method SP request-target SP HTTP-version, single spaces. */
static enum hh_error parse_request_line(const uint8_t *b, size_t end, struct hh_request *req)
{
	enum hh_error e = check_ctl(b, end);
	if (e != HH_OK)
		return e;
	const uint8_t *sp1 = memchr(b, ' ', end);
	if (!sp1)
		return HH_ERR_REQUEST_LINE;
	size_t m = (size_t)(sp1 - b);
	const uint8_t *sp2 = memchr(sp1 + 1, ' ', end - m - 1);
	if (!sp2)
		return HH_ERR_REQUEST_LINE;
	size_t t0 = m + 1, tn = (size_t)(sp2 - b) - t0;
	for (size_t i = 0; i < m; i++)
		if (!is_tchar(b[i]))
			return HH_ERR_METHOD;
	if (m == 0)
		return HH_ERR_METHOD;
	if (tn == 0)
		return HH_ERR_REQUEST_LINE;
	for (size_t i = t0; i < t0 + tn; i++)
		if (b[i] <= 0x20 || b[i] >= 0x7f)
			return HH_ERR_TARGET;
	e = parse_version(sp2 + 1, end - (size_t)(sp2 + 1 - b), req);
	if (e != HH_OK)
		return e;
	req->method = (struct hh_span){0, (uint32_t)m};
	req->target = (struct hh_span){(uint32_t)t0, (uint32_t)tn};
	req->connect = m == 7 && memcmp(b, "CONNECT", 7) == 0;
	return parse_target(b, req);
}

static enum hh_error parse_content_length(const uint8_t *v, size_t n, struct hh_request *req)
{
	if (n == 0 || n > 19)
		return HH_ERR_CONTENT_LENGTH;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(v[i]))
			return HH_ERR_CONTENT_LENGTH;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	/* A repeated Content-Length is tolerated only with the same value (RFC 9112 section 6.3). */
	if (req->has_content_length && req->content_length != x)
		return HH_ERR_CONTENT_LENGTH;
	req->has_content_length = true;
	req->content_length = x;
	return HH_OK;
}

static enum hh_error header_value(const uint8_t *name, size_t nn, const uint8_t *v, size_t vn,
				  struct hh_request *req, struct hh_ctx *ctx)
{
	if (span_ieq(name, nn, "host")) {
		if (ctx->have_host)
			return HH_ERR_HOST_DUPLICATE;
		ctx->have_host = true;
		if (memchr(v, '@', vn))
			return HH_ERR_USERINFO;
		return parse_authority(v, vn, 80, ctx);
	}
	if (span_ieq(name, nn, "content-length"))
		return parse_content_length(v, vn, req);
	if (span_ieq(name, nn, "transfer-encoding")) {
		/* Only one coding the proxy can frame: a single "chunked" (anything else is a 501). */
		if (ctx->have_te || !span_ieq(v, vn, "chunked"))
			return HH_ERR_TRANSFER_CODING;
		ctx->have_te = true;
		req->chunked = true;
	}
	return HH_OK;
}

/* field-name ":" OWS field-value OWS, with the line's bounds [s, e). */
static enum hh_error parse_header(const uint8_t *b, size_t s, size_t e, struct hh_request *req,
				  struct hh_ctx *ctx)
{
	enum hh_error err = check_ctl(b + s, e - s);
	if (err != HH_OK)
		return err;
	if (b[s] == ' ' || b[s] == '\t')
		return HH_ERR_OBS_FOLD;
	const uint8_t *colon = memchr(b + s, ':', e - s);
	if (!colon || colon == b + s)
		return HH_ERR_HEADER_NAME;
	size_t nn = (size_t)(colon - (b + s));
	if (colon[-1] == ' ' || colon[-1] == '\t')
		return HH_ERR_SPACE_BEFORE_COLON;
	for (size_t i = s; i < s + nn; i++)
		if (!is_tchar(b[i]))
			return HH_ERR_HEADER_NAME;
	size_t vs = s + nn + 1, ve = e;
	while (vs < ve && (b[vs] == ' ' || b[vs] == '\t'))
		vs++;
	while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
		ve--;
	return header_value(b + s, nn, b + vs, ve - vs, req, ctx);
}

/* The checks that need the whole head. */
static enum hh_error finish(struct hh_request *req, const struct hh_ctx *ctx)
{
	req->has_host_header = ctx->have_host;
	if (req->chunked && req->has_content_length)
		return HH_ERR_TE_WITH_CL; /* the classic request-smuggling ambiguity */
	if (!ctx->have_host && req->minor == 1 && !req->connect)
		return HH_ERR_HOST_MISSING;
	if (req->form == HH_FORM_ORIGIN && ctx->have_host)
		set_dest(req, ctx);
	if (req->form == HH_FORM_ABSOLUTE && ctx->have_host &&
	    (ctx->host_kind != req->host_kind || strcmp(ctx->host, req->host) != 0 || ctx->port != req->port))
		return HH_ERR_HOST_MISMATCH;
	return HH_OK;
}

static enum hh_status fail(struct hh_request *req, enum hh_error e)
{
	req->error = e;
	return HH_ERROR;
}

enum hh_status http_head_parse(const uint8_t *buf, size_t len, struct hh_request *req, size_t *consumed)
{
	*consumed = 0;
	memset(req, 0, sizeof(*req));
	/* Nothing past the cap is looked at: a head that has not ended within it is too large. */
	size_t n = len < HH_MAX_HEAD ? len : HH_MAX_HEAD;
	size_t end = 0, pos;
	enum hh_error e = HH_OK;
	struct hh_ctx ctx = {0};

	enum line_res r = find_line(buf, n, 0, HH_MAX_REQUEST_LINE, &end, &e);
	if (r == LINE_ERR)
		return fail(req, e);
	if (r == LINE_MORE)
		return HH_NEED_MORE; /* the request-line cap is far below the head's */
	if ((e = parse_request_line(buf, end, req)) != HH_OK)
		return fail(req, e);
	pos = end + 2;
	req->headers_off = (uint32_t)pos;
	for (;;) {
		r = find_line(buf, n, pos, SIZE_MAX, &end, &e);
		if (r == LINE_ERR)
			return fail(req, e);
		if (r == LINE_MORE)
			return len >= HH_MAX_HEAD ? fail(req, HH_ERR_HEAD_TOO_LARGE) : HH_NEED_MORE;
		if (end == pos)
			break;
		if (++req->nheaders > HH_MAX_HEADERS)
			return fail(req, HH_ERR_TOO_MANY_HEADERS);
		if ((e = parse_header(buf, pos, end, req, &ctx)) != HH_OK)
			return fail(req, e);
		pos = end + 2;
	}
	if ((e = finish(req, &ctx)) != HH_OK)
		return fail(req, e);
	req->head_len = (uint32_t)(pos + 2);
	*consumed = pos + 2;
	return HH_DONE;
}

int http_head_status(enum hh_error e)
{
	switch (e) {
	case HH_OK:
		return 0;
	case HH_ERR_LINE_TOO_LONG:
		return 414;
	case HH_ERR_HEAD_TOO_LARGE:
	case HH_ERR_TOO_MANY_HEADERS:
		return 431;
	case HH_ERR_SCHEME:
	case HH_ERR_TRANSFER_CODING:
		return 501;
	case HH_ERR_VERSION:
		return 505;
	default:
		return 400;
	}
}

const char *http_head_strerror(enum hh_error e)
{
	static const char *const names[HH_ERR__COUNT] = {
		[HH_OK] = "no error",
		[HH_ERR_LINE_TOO_LONG] = "request line too long",
		[HH_ERR_HEAD_TOO_LARGE] = "request head too large",
		[HH_ERR_TOO_MANY_HEADERS] = "too many header fields",
		[HH_ERR_SCHEME] = "unsupported URI scheme",
		[HH_ERR_TRANSFER_CODING] = "unsupported transfer coding",
		[HH_ERR_VERSION] = "unsupported HTTP version",
		[HH_ERR_REQUEST_LINE] = "malformed request line",
		[HH_ERR_METHOD] = "invalid method",
		[HH_ERR_TARGET] = "invalid request target",
		[HH_ERR_BARE_CR] = "bare CR",
		[HH_ERR_BARE_LF] = "bare LF (lines must end in CRLF)",
		[HH_ERR_NUL] = "NUL byte",
		[HH_ERR_CTL] = "control character",
		[HH_ERR_OBS_FOLD] = "obsolete line folding",
		[HH_ERR_HEADER_NAME] = "invalid header field name",
		[HH_ERR_SPACE_BEFORE_COLON] = "whitespace before the colon",
		[HH_ERR_HOST] = "invalid host",
		[HH_ERR_PORT] = "invalid port",
		[HH_ERR_USERINFO] = "user information in the authority",
		[HH_ERR_HOST_MISSING] = "missing Host header",
		[HH_ERR_HOST_DUPLICATE] = "duplicate Host header",
		[HH_ERR_HOST_MISMATCH] = "Host header disagrees with the request target",
		[HH_ERR_CONTENT_LENGTH] = "invalid Content-Length",
		[HH_ERR_TE_WITH_CL] = "Transfer-Encoding together with Content-Length",
	};
	return ((unsigned)e < HH_ERR__COUNT && names[e]) ? names[e] : "unknown error";
}
