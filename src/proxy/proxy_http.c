// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP side: read a request head, hand its destination to the dial code, and then either answer
 * CONNECT with 200 or forward an absolute-form request upstream in origin-form. Errors are short
 * text/plain responses.
 */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/http_head.h"

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* Queues an error response for the client and starts the linger. */
static int http_error(struct conn *c, int status, const char *body)
{
	char msg[1024];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n"
			 "cordon: %s\n",
			 status, status_text(status), strlen(body) + 9, body);
	if (n < 0 || (size_t)n >= sizeof(msg) || wbuf_set(&c->cl.out, msg, (size_t)n) < 0)
		return -1;
	return linger_start(c);
}

int http_timeout(struct conn *c)
{
	return http_error(c, 408, "timed out reading the request head");
}

/* Hop-by-hop headers the proxy must not pass on (RFC 9110 7.6.1), and credentials meant for it. */
static bool drop_header(const uint8_t *line, size_t len)
{
	static const char *const names[] = {"connection", "proxy-connection", "keep-alive", "proxy-authorization",
					    "te", "upgrade"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (len > n && line[n] == ':' && strncasecmp((const char *)line, names[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * The request in origin-form, its headers less the hop-by-hop ones, and "Connection: close": one
 * request per connection, so that a second request on it cannot go to a host nobody checked.
 */
static int rewrite_head(struct conn *c, const struct hh_request *rq)
{
	struct wbuf *w = &c->up.out;
	const uint8_t *b = c->in;
	char ver[16];
	int vn = snprintf(ver, sizeof(ver), " HTTP/1.%d\r\n", rq->minor);
	if (wbuf_set(w, b + rq->method.off, rq->method.len) < 0 || wbuf_set(w, " ", 1) < 0 ||
	    (rq->path_slash && wbuf_set(w, "/", 1) < 0) || wbuf_set(w, b + rq->path.off, rq->path.len) < 0 ||
	    wbuf_set(w, ver, (size_t)vn) < 0)
		return -1;
	size_t pos = rq->headers_off, end = rq->head_len - 2; /* before the empty line */
	while (pos < end) {
		const uint8_t *eol = memmem(b + pos, end - pos, "\r\n", 2);
		size_t len = eol ? (size_t)(eol - (b + pos)) : end - pos;
		if (!drop_header(b + pos, len) && wbuf_set(w, b + pos, len + 2) < 0)
			return -1;
		pos += len + 2;
	}
	return wbuf_set(w, "Connection: close\r\n\r\n", 21);
}

int http_queue_first(struct conn *c)
{
	struct hh_request rq;
	size_t used = 0;
	if (c->in_len && http_head_parse(c->in, c->in_len, &rq, &used) == HH_DONE && !rq.connect) {
		if (rewrite_head(c, &rq) < 0 ||
		    wbuf_set(&c->up.out, c->in + rq.head_len, c->in_len - rq.head_len) < 0)
			return -1;
	} else if (wbuf_set(&c->up.out, c->in, c->in_len) < 0) {
		return -1;
	}
	c->in_len = 0;
	return 0;
}

static int head_done(struct conn *c, const struct hh_request *rq)
{
	if (rq->form == HH_FORM_ORIGIN)
		return http_error(c, 400, "this is a proxy: send CONNECT host:port or an absolute http:// URL");
	if (!rq->connect && rewrite_head(c, rq) < 0)
		return -1;
	/* Bytes after the head (a request body, or a TLS hello sent early) go upstream after it. */
	if (wbuf_set(&c->up.out, c->in + rq->head_len, c->in_len - rq->head_len) < 0)
		return -1;
	c->in_len = 0;
	c->http_connect = rq->connect;
	return dial_start(c, rq->host, rq->port);
}

int http_on_read(struct conn *c)
{
	for (;;) {
		ssize_t n = conn_read_in(c, HH_MAX_HEAD);
		if (n == 0)
			return -1;
		if (n < 0 && errno != ENOBUFS)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		struct hh_request rq;
		size_t consumed = 0;
		enum hh_status st = http_head_parse(c->in, c->in_len, &rq, &consumed);
		if (st == HH_DONE)
			return head_done(c, &rq);
		if (st == HH_ERROR)
			return http_error(c, http_head_status(rq.error), http_head_strerror(rq.error));
		if (n < 0)
			return -1; /* full, and the parser still wants more: cannot happen with its caps */
	}
}

static int connect_reply(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	return wbuf_set(&c->cl.out, ok, sizeof(ok) - 1);
}

int http_dial_done(struct conn *c, enum dial_result r, const char *reason)
{
	char body[600];
	switch (r) {
	case DIAL_OK:
		if (c->http_connect && connect_reply(c) < 0)
			return -1;
		return relay_start(c);
	case DIAL_DENIED:
		snprintf(body, sizeof(body), "connection to %s port %u %s", c->host, c->port, reason);
		break;
	case DIAL_NOT_FOUND:
		snprintf(body, sizeof(body), "cannot resolve %s", c->host);
		return http_error(c, 502, body);
	case DIAL_UNREACHABLE:
	case DIAL_REFUSED:
		snprintf(body, sizeof(body), "cannot connect to %s port %u", c->host, c->port);
		return http_error(c, 502, body);
	case DIAL_TIMEOUT:
		snprintf(body, sizeof(body), "timed out connecting to %s port %u", c->host, c->port);
		return http_error(c, 504, body);
	}
	return http_error(c, 403, body);
}
