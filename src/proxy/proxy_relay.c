// SPDX-License-Identifier: Apache-2.0
/*
 * Moving bytes: small buffered writes (replies, a rewritten request head), then the relay proper,
 * which splices each direction through its own pipe so that the payload never enters user space, and
 * the linger after an error reply.
 */
#include "proxy/proxy_internal.h"

#include "core/allowlist.h"
#include "proxy/tls_sni.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_ROUNDS 8 /* splice rounds per event, so one busy connection cannot starve the rest */

int wbuf_set(struct wbuf *w, const void *data, size_t len)
{
	if (!len)
		return 0;
	uint8_t *n = realloc(w->buf, w->len + len);
	if (!n)
		return -1;
	memcpy(n + w->len, data, len);
	w->buf = n;
	w->len += len;
	return 0;
}

int wbuf_flush(struct endpoint *ep)
{
	struct wbuf *w = &ep->out;
	while (w->off < w->len) {
		ssize_t n = send(ep->fd, w->buf + w->off, w->len - w->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		w->off += (size_t)n;
		ep->sent += (uint64_t)n;
	}
	free(w->buf);
	*w = (struct wbuf){0};
	return 1;
}

/* ---- the relay */

static int make_pipe(struct relay_dir *d)
{
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	d->r = fds[0];
	d->w = fds[1];
	return 0;
}

void relay_close(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->dir[i].r >= 0)
			close(c->dir[i].r);
		if (c->dir[i].w >= 0)
			close(c->dir[i].w);
		c->dir[i].r = c->dir[i].w = -1;
	}
}

/*
 * A tunnel to a name (CONNECT, SOCKS5, or a transparent connection named by DNS alone): the first
 * client bytes are read, not spliced, until it is clear whether they are a TLS ClientHello or an
 * HTTP head, and if one names another host (SNI, Host) or does not parse, the connection is closed:
 * an allowed name must not front for a host nobody allowed on the same address. 1 when the bytes
 * may go (they are queued for upstream), 0 to wait for more, -1 to close.
 */
static int check_first_bytes(struct conn *c, struct relay_dir *d)
{
	/* Nothing new to read is no reason to wait: bytes sent with the request are in c->in already,
	 * and may be a whole hello (the client then waits for the server, and nothing more would come). */
	ssize_t n = conn_read_in(c, PROXY_PEEK_MAX);
	if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
		return -1;
	if (n == 0)
		d->eof = true;
	char name[256], reason[300];
	enum first_bytes fb = first_bytes_name(c->in, c->in_len, name, sizeof(name));
	if (fb == FB_NEED_MORE && !d->eof)
		return 0;
	if (fb == FB_NAME && strcasecmp(name, c->host) != 0)
		snprintf(reason, sizeof(reason), "the connection's TLS hello or HTTP head names %.200s (no fronting)", name);
	else if (fb == FB_BAD || (fb == FB_NEED_MORE && c->in_len))
		snprintf(reason, sizeof(reason), "a TLS hello or HTTP head that does not parse");
	else
		goto pass;
	conn_denied(c, reason);
	return c->tproxy ? tproxy_reset(c) : -1; /* transparent refusals are resets, as everywhere there */
pass:
	if (http_queue_first(c) < 0)
		return -1;
	c->check_sni = false;
	return 1;
}

/* Moves what it can from src through d's pipe to dst. 0, or -1 on a socket error. */
static int pump_dir(struct conn *c, struct relay_dir *d, struct endpoint *src, struct endpoint *dst)
{
	if (c->check_sni && d == &c->dir[0]) {
		int v = check_first_bytes(c, d);
		if (v <= 0)
			return v;
	}
	int r = wbuf_flush(dst);
	if (r <= 0)
		return r;
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		bool progress = false;
		if (!d->eof && !d->in_blocked && d->bytes < c->pipe_sz) {
			ssize_t n = splice(src->fd, NULL, d->w, NULL, c->pipe_sz - d->bytes,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				d->bytes += (size_t)n;
			else if (n == 0)
				d->eof = true;
			else if (errno != EAGAIN && errno != EINTR)
				return -1;
			/* EAGAIN with bytes in the pipe may mean the pipe is out of slots (a socket fills
			 * a page per segment): wait for it to drain rather than spin on a readable src. */
			else if (d->bytes > 0)
				d->in_blocked = true;
			progress = n >= 0;
		}
		if (d->bytes > 0) {
			ssize_t n = splice(d->r, NULL, dst->fd, NULL, d->bytes, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->bytes -= (size_t)n;
				d->moved += (uint64_t)n;
				d->in_blocked = false;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (progress)
			c->deadline = c->p->now + c->p->o.idle_timeout_ms;
		if (!progress || d->eof)
			break;
	}
	if (d->eof && d->bytes == 0 && !d->done) {
		/* Half-close: the other side learns of the EOF and may still answer. */
		shutdown(dst->fd, SHUT_WR);
		d->done = true;
	}
	return 0;
}

static int relay_pump(struct conn *c)
{
	if (pump_dir(c, &c->dir[0], &c->cl, &c->up) < 0 || pump_dir(c, &c->dir[1], &c->up, &c->cl) < 0)
		return -1;
	return c->dir[0].done && c->dir[1].done ? -1 : 0; /* both finished: close */
}

int relay_start(struct conn *c)
{
	if (make_pipe(&c->dir[0]) < 0 || make_pipe(&c->dir[1]) < 0)
		return -1;
	/* Bigger pipes mean fewer splice rounds per megabyte. Pipe pages count against a per-user
	 * quota (fs.pipe-user-pages-soft) that the sandboxed command shares when cordon is not root,
	 * and past it every new pipe of that user shrinks to two pages: so only the first connections
	 * get them, keeping well under a quarter of the default quota. */
	if (c->p->n_conns <= PROXY_BIG_PIPE_CONNS)
		for (int i = 0; i < 2; i++)
			fcntl(c->dir[i].w, F_SETPIPE_SZ, PROXY_PIPE_SZ);
	int sz = fcntl(c->dir[0].w, F_GETPIPE_SZ);
	int sz1 = fcntl(c->dir[1].w, F_GETPIPE_SZ);
	if (sz <= 0 || sz1 <= 0)
		return -1;
	c->pipe_sz = (size_t)(sz < sz1 ? sz : sz1);
	uint8_t ip[16];
	c->check_sni = ((c->http_connect || c->socks) && !c->tproxy && !allowlist_parse_ip(c->host, ip)) ||
		       c->verify_later;
	if (c->check_sni) {
		/* Bytes the client sent with its request (an early TLS hello) are checked too. */
		struct wbuf *w = &c->up.out;
		c->in_len = 0;
		if (conn_put_in(c, w->buf + w->off, w->len - w->off) < 0)
			return -1;
		free(w->buf);
		*w = (struct wbuf){0};
	} else {
		free(c->in);
		c->in = NULL;
		c->in_len = c->in_cap = 0;
	}
	c->state = CS_RELAY;
	c->deadline = c->p->now + c->p->o.idle_timeout_ms;
	return relay_pump(c);
}

void relay_events(struct conn *c, uint32_t *cl, uint32_t *up)
{
	for (int i = 0; i < 2; i++) {
		const struct relay_dir *d = &c->dir[i];
		uint32_t *src = i ? up : cl, *dst = i ? cl : up;
		const struct endpoint *dep = i ? &c->cl : &c->up;
		if (!d->eof && !d->in_blocked && d->bytes < c->pipe_sz)
			*src |= EPOLLIN;
		if (d->bytes > 0 || dep->out.off < dep->out.len)
			*dst |= EPOLLOUT;
	}
}

int relay_on_event(struct conn *c, struct endpoint *ep, uint32_t events)
{
	if (relay_pump(c) < 0)
		return -1;
	if (!(events & (EPOLLHUP | EPOLLERR)))
		return 0;
	/* The peer is gone both ways. What was still to go to it cannot be delivered; if nothing was,
	 * and everything from it has been read, stop watching it (epoll would report HUP forever). */
	const struct relay_dir *into = ep == &c->cl ? &c->dir[1] : &c->dir[0];
	const struct relay_dir *from = ep == &c->cl ? &c->dir[0] : &c->dir[1];
	if (!into->done)
		return -1;
	if (from->eof && ep->registered) {
		epoll_ctl(c->p->epfd, EPOLL_CTL_DEL, ep->fd, NULL);
		ep->registered = false;
		ep->gone = true;
	}
	return 0;
}

/* ---- error replies */

int linger_start(struct conn *c)
{
	if (c->up.fd >= 0) {
		close(c->up.fd);
		c->up.fd = -1;
		c->up.registered = false;
	}
	c->state = CS_LINGER;
	c->deadline = c->p->now + PROXY_LINGER_MS;
	return linger_on_event(c);
}

/* Closing a socket with unread input sends a reset, which can destroy the reply before the client
 * reads it: so shut down writing and read until EOF or the deadline. */
int linger_on_event(struct conn *c)
{
	int r = wbuf_flush(&c->cl);
	if (r <= 0)
		return r;
	if (!c->cl_shut) {
		shutdown(c->cl.fd, SHUT_WR);
		c->cl_shut = true;
	}
	uint8_t sink[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(c->cl.fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			return 0;
	}
	return 0;
}
