// SPDX-License-Identifier: Apache-2.0
/*
 * SOCKS5 greeting, request and replies (RFC 1928). Each check runs as soon as the byte it needs has
 * arrived, and only then, so a prefix of a message gives NEED_MORE or the same result as the whole.
 */
#include "proxy/socks5.h"

#include <arpa/inet.h>
#include <string.h>

static enum s5_status fail_req(struct s5_request *r, enum s5_error e)
{
	r->error = e;
	return S5_ERROR;
}

enum s5_status s5_parse_greeting(const uint8_t *buf, size_t len, struct s5_greeting *g, size_t *consumed)
{
	*consumed = 0;
	memset(g, 0, sizeof(*g));
	if (len < 1)
		return S5_NEED_MORE;
	if (buf[0] != S5_VERSION) {
		g->error = S5_ERR_VERSION;
		return S5_ERROR;
	}
	if (len < 2)
		return S5_NEED_MORE;
	g->nmethods = buf[1];
	if (len < 2 + (size_t)g->nmethods)
		return S5_NEED_MORE;
	/* No methods at all is not an error: it is a client we cannot serve, like one without 0x00. */
	g->noauth = memchr(buf + 2, S5_METHOD_NOAUTH, g->nmethods) != NULL;
	*consumed = 2 + (size_t)g->nmethods;
	return S5_DONE;
}

/* A length-prefixed name: 1-255 bytes of letters, digits, '-' and '.', lowercased. */
static enum s5_error parse_name(const uint8_t *s, size_t n, char *out)
{
	if (n == 0)
		return S5_ERR_NAME;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return S5_ERR_NAME;
		out[i] = (char)c;
	}
	out[n] = '\0';
	return S5_OK;
}

/* The address part starting at buf[4]; sets *alen to its length, or returns NEED_MORE. */
static enum s5_status parse_addr(const uint8_t *buf, size_t len, struct s5_request *r, size_t *alen)
{
	const uint8_t *a = buf + 4;
	switch (r->atyp) {
	case S5_ATYP_IPV4:
		*alen = 4;
		break;
	case S5_ATYP_IPV6:
		*alen = 16;
		break;
	case S5_ATYP_DOMAIN:
		if (len < 5)
			return S5_NEED_MORE;
		*alen = 1 + (size_t)a[0];
		if (a[0] == 0)
			return fail_req(r, S5_ERR_NAME);
		break;
	default:
		return fail_req(r, S5_ERR_ATYP);
	}
	if (len < 4 + *alen)
		return S5_NEED_MORE;
	if (r->atyp == S5_ATYP_DOMAIN) {
		enum s5_error e = parse_name(a + 1, a[0], r->host);
		return e == S5_OK ? S5_DONE : fail_req(r, e);
	}
	memcpy(r->addr, a, *alen);
	inet_ntop(r->atyp == S5_ATYP_IPV4 ? AF_INET : AF_INET6, r->addr, r->host, sizeof(r->host));
	return S5_DONE;
}

enum s5_status s5_parse_request(const uint8_t *buf, size_t len, struct s5_request *r, size_t *consumed)
{
	*consumed = 0;
	memset(r, 0, sizeof(*r));
	if (len < 1)
		return S5_NEED_MORE;
	if (buf[0] != S5_VERSION)
		return fail_req(r, S5_ERR_VERSION);
	if (len < 2)
		return S5_NEED_MORE;
	r->cmd = buf[1];
	if (r->cmd != S5_CMD_CONNECT)
		return fail_req(r, S5_ERR_COMMAND);
	if (len < 3)
		return S5_NEED_MORE;
	if (buf[2] != 0)
		return fail_req(r, S5_ERR_RESERVED);
	if (len < 4)
		return S5_NEED_MORE;
	r->atyp = buf[3];
	size_t alen = 0;
	enum s5_status st = parse_addr(buf, len, r, &alen);
	if (st != S5_DONE)
		return st;
	if (len < 4 + alen + 2)
		return S5_NEED_MORE;
	r->port = (uint16_t)(buf[4 + alen] << 8 | buf[4 + alen + 1]);
	if (r->port == 0)
		return fail_req(r, S5_ERR_PORT);
	*consumed = 4 + alen + 2;
	return S5_DONE;
}

enum s5_rep s5_error_reply(enum s5_error e)
{
	switch (e) {
	case S5_ERR_COMMAND:
		return S5_REP_CMD_UNSUPPORTED;
	case S5_ERR_ATYP:
		return S5_REP_ATYP_UNSUPPORTED;
	case S5_ERR_NAME:
	case S5_ERR_PORT:
		return S5_REP_HOST_UNREACHABLE;
	default:
		return S5_REP_GENERAL_FAILURE;
	}
}

const char *s5_strerror(enum s5_error e)
{
	static const char *const names[S5_ERR__COUNT] = {
		[S5_OK] = "no error",
		[S5_ERR_VERSION] = "not SOCKS version 5",
		[S5_ERR_COMMAND] = "command not supported (CONNECT only)",
		[S5_ERR_RESERVED] = "reserved byte not zero",
		[S5_ERR_ATYP] = "address type not supported",
		[S5_ERR_NAME] = "invalid host name",
		[S5_ERR_PORT] = "port 0",
	};
	return ((unsigned)e < S5_ERR__COUNT && names[e]) ? names[e] : "unknown error";
}

int s5_method_reply(uint8_t *out, size_t cap, bool accept_noauth)
{
	if (cap < 2)
		return -1;
	out[0] = S5_VERSION;
	out[1] = accept_noauth ? S5_METHOD_NOAUTH : S5_METHOD_NONE;
	return 2;
}

static int build_reply(uint8_t *out, size_t cap, uint8_t rep, uint8_t atyp, const uint8_t *addr, uint16_t port)
{
	size_t alen = atyp == S5_ATYP_IPV6 ? 16 : 4;
	if (cap < 4 + alen + 2)
		return -1;
	out[0] = S5_VERSION;
	out[1] = rep;
	out[2] = 0;
	out[3] = atyp;
	memcpy(out + 4, addr, alen);
	out[4 + alen] = (uint8_t)(port >> 8);
	out[5 + alen] = (uint8_t)port;
	return (int)(4 + alen + 2);
}

int s5_reply_success(uint8_t *out, size_t cap, const struct s5_bound *bound)
{
	if (bound->atyp != S5_ATYP_IPV4 && bound->atyp != S5_ATYP_IPV6)
		return -1;
	return build_reply(out, cap, S5_REP_SUCCEEDED, bound->atyp, bound->addr, bound->port);
}

int s5_reply_failure(uint8_t *out, size_t cap, enum s5_rep code)
{
	static const uint8_t zero[4];
	if (code == S5_REP_SUCCEEDED)
		return -1;
	return build_reply(out, cap, (uint8_t)code, S5_ATYP_IPV4, zero, 0);
}
