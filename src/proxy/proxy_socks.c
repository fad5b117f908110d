// SPDX-License-Identifier: Apache-2.0
/* The SOCKS5 side: greeting, CONNECT request, reply; names are resolved by the proxy ("socks5h"). */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/socks5.h"

/* Drops the first n bytes of c->in (a message handled); what follows was sent early. */
static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

static int send_failure(struct conn *c, enum s5_rep code)
{
	uint8_t out[S5_MAX_REPLY];
	int n = s5_reply_failure(out, sizeof(out), code);
	if (n < 0 || wbuf_set(&c->cl.out, out, (size_t)n) < 0)
		return -1;
	return linger_start(c);
}

/* 1 when the greeting was handled, 0 when more bytes are needed, -1 to close. */
static int on_greeting(struct conn *c)
{
	struct s5_greeting g;
	size_t used = 0;
	enum s5_status st = s5_parse_greeting(c->in, c->in_len, &g, &used);
	if (st == S5_NEED_MORE)
		return 0;
	if (st == S5_ERROR)
		return -1; /* not SOCKS5: no reply */
	uint8_t out[S5_MAX_REPLY];
	int n = s5_method_reply(out, sizeof(out), g.noauth);
	if (n < 0 || wbuf_set(&c->cl.out, out, (size_t)n) < 0)
		return -1;
	if (!g.noauth)
		return linger_start(c) < 0 ? -1 : 0;
	consume(c, used);
	c->state = CS_S5_REQ;
	return wbuf_flush(&c->cl) < 0 ? -1 : 1;
}

static int on_request(struct conn *c)
{
	struct s5_request rq;
	size_t used = 0;
	enum s5_status st = s5_parse_request(c->in, c->in_len, &rq, &used);
	if (st == S5_NEED_MORE)
		return 0;
	if (st == S5_ERROR)
		return send_failure(c, s5_error_reply(rq.error));
	consume(c, used);
	if (wbuf_set(&c->up.out, c->in, c->in_len) < 0)
		return -1;
	c->in_len = 0;
	return dial_start(c, rq.host, rq.port);
}

int socks_on_read(struct conn *c)
{
	if (wbuf_flush(&c->cl) < 0)
		return -1;
	for (;;) {
		ssize_t n = conn_read_in(c, PROXY_SOCKS_BUF);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1; /* EOF, an error, or more than any handshake message (ENOBUFS) */
		if (c->state == CS_S5_GREET && on_greeting(c) < 0)
			return -1;
		if (c->state == CS_S5_REQ && on_request(c) < 0)
			return -1;
		if (n < 0 || (c->state != CS_S5_GREET && c->state != CS_S5_REQ))
			return 0;
	}
}

static int success_reply(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct s5_bound b = {.atyp = S5_ATYP_IPV4};
	if (getsockname(c->up.fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
		b.atyp = S5_ATYP_IPV6;
		memcpy(b.addr, &s6->sin6_addr, 16);
		b.port = ntohs(s6->sin6_port);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
		memcpy(b.addr, &s4->sin_addr, 4);
		b.port = ntohs(s4->sin_port);
	}
	uint8_t out[S5_MAX_REPLY];
	int n = s5_reply_success(out, sizeof(out), &b);
	/* The reply must go before anything relayed: wbuf_set puts it ahead of nothing else. */
	return n < 0 ? -1 : wbuf_set(&c->cl.out, out, (size_t)n);
}

int socks_dial_done(struct conn *c, enum dial_result r)
{
	switch (r) {
	case DIAL_OK:
		if (success_reply(c) < 0)
			return -1;
		return relay_start(c);
	case DIAL_DENIED:
		return send_failure(c, S5_REP_NOT_ALLOWED);
	case DIAL_REFUSED:
		return send_failure(c, S5_REP_REFUSED);
	case DIAL_NOT_FOUND:
	case DIAL_UNREACHABLE:
	case DIAL_TIMEOUT:
		break;
	}
	return send_failure(c, S5_REP_HOST_UNREACHABLE);
}
