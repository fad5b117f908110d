// SPDX-License-Identifier: Apache-2.0
/* The engine's life cycle, its epoll loop, connections, deadlines, the denial list and the records. */
#include "proxy/proxy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

int64_t proxy_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void apply_defaults(struct proxy_opts *o)
{
	if (o->connect_timeout_ms <= 0)
		o->connect_timeout_ms = 10000;
	if (o->idle_timeout_ms <= 0)
		o->idle_timeout_ms = 300000;
	if (o->head_timeout_ms <= 0)
		o->head_timeout_ms = 10000;
	if (!o->max_conns)
		o->max_conns = 512;
	if (!o->resolver_threads)
		o->resolver_threads = 4;
	if (!o->resolve)
		o->resolve = proxy_default_resolve;
}

static int epoll_add(int epfd, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int add_listeners(struct proxy *p, const int *fds, size_t n, enum ev_tag tag, struct cordon_error **err)
{
	for (size_t i = 0; i < n; i++) {
		struct listener *l = &p->lis[p->n_lis];
		int fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0)
			return cerr_sys(err, errno, "proxy: listening fd %d", fds[i]);
		l->tag = tag;
		l->fd = fds[i];
		if (epoll_add(p->epfd, l->fd, EPOLLIN, l) < 0)
			return cerr_sys(err, errno, "proxy: epoll_ctl on listening fd %d", fds[i]);
		p->n_lis++;
	}
	return 0;
}

static int proxy_init_fds(struct proxy *p, struct cordon_error **err)
{
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->resfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->epfd < 0 || p->stopfd < 0 || p->resfd < 0)
		return cerr_sys(err, errno, "proxy: epoll or eventfd");
	p->stop_tag = EV_STOP;
	p->res_tag = EV_RESOLVED;
	if (epoll_add(p->epfd, p->stopfd, EPOLLIN, &p->stop_tag) < 0 ||
	    epoll_add(p->epfd, p->resfd, EPOLLIN, &p->res_tag) < 0)
		return cerr_sys(err, errno, "proxy: epoll_ctl");
	return 0;
}

struct proxy *proxy_new(const struct allowlist *al, const int *http_fds, size_t n_http, const int *socks_fds,
			size_t n_socks, const struct proxy_opts *o, struct cordon_error **err)
{
	struct proxy *p = calloc(1, sizeof(*p));
	if (!p) {
		cerr_set(err, ENOMEM, "proxy: out of memory");
		return NULL;
	}
	p->epfd = p->stopfd = p->resfd = -1;
	if (o)
		p->o = *o;
	apply_defaults(&p->o);
	p->al = al;
	p->listening = true;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_init(&p->dmu, NULL);
	p->dns.fd = -1;
	p->lis = calloc(n_http + n_socks + p->o.n_transparent + 1, sizeof(*p->lis));
	if (!p->lis) {
		cerr_set(err, ENOMEM, "proxy: out of memory");
		goto fail;
	}
	if (proxy_init_fds(p, err) < 0 || add_listeners(p, http_fds, n_http, EV_LISTEN_HTTP, err) < 0 ||
	    add_listeners(p, socks_fds, n_socks, EV_LISTEN_SOCKS, err) < 0 ||
	    add_listeners(p, p->o.transparent_fds, p->o.n_transparent, EV_LISTEN_TPROXY, err) < 0)
		goto fail;
	if (p->o.has_dns) {
		p->dns = (struct listener){.tag = EV_DNS, .fd = p->o.dns_fd};
		int fl = fcntl(p->dns.fd, F_GETFL);
		if (fl < 0 || fcntl(p->dns.fd, F_SETFL, fl | O_NONBLOCK) < 0 || epoll_add(p->epfd, p->dns.fd, EPOLLIN, &p->dns) < 0) {
			cerr_sys(err, errno, "proxy: the DNS socket");
			goto fail;
		}
	}
	if (resolver_start(p) < 0) {
		cerr_sys(err, errno, "proxy: starting resolver threads");
		goto fail;
	}
	return p;
fail:
	proxy_free(p);
	return NULL;
}

void proxy_stop(struct proxy *p)
{
	uint64_t one = 1;
	int saved = errno;
	ssize_t n = write(p->stopfd, &one, sizeof(one));
	(void)n;
	errno = saved;
}

/* ---- connections */

static void set_listening(struct proxy *p, bool on)
{
	if (p->listening == on)
		return;
	for (size_t i = 0; i < p->n_lis; i++) {
		struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &p->lis[i]};
		epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->lis[i].fd, &ev);
	}
	p->listening = on;
}

static void conn_free(struct conn *c)
{
	free(c->in);
	free(c->addrs);
	free(c->cl.out.buf);
	free(c->up.out.buf);
	free(c);
}

static void conn_bury(struct conn *c)
{
	c->dead_next = c->p->dead;
	c->p->dead = c;
}

static void reap_dead(struct proxy *p)
{
	while (p->dead) {
		struct conn *c = p->dead;
		p->dead = c->dead_next;
		conn_free(c);
	}
}

static void conn_record(struct conn *c, const char *reason, int64_t now);

static void conn_close(struct conn *c)
{
	struct proxy *p = c->p;
	if (c->closed)
		return;
	c->closed = true;
	if (c->allowed && !c->recorded)
		conn_record(c, NULL, proxy_now_ms());
	if (c->cl.fd >= 0)
		close(c->cl.fd);
	if (c->up.fd >= 0)
		close(c->up.fd);
	c->cl.fd = c->up.fd = -1;
	relay_close(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->n_conns--;
	if (p->n_conns < p->o.max_conns)
		set_listening(p, true);
	if (c->job_pending)
		c->zombie = true;
	else
		conn_bury(c);
}

static struct conn *conn_new(struct proxy *p, int fd, bool socks)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->p = p;
	c->cl = (struct endpoint){.tag = EV_CLIENT, .fd = fd, .c = c};
	c->up = (struct endpoint){.tag = EV_UPSTREAM, .fd = -1, .c = c};
	c->dir[0].r = c->dir[0].w = c->dir[1].r = c->dir[1].w = -1;
	c->socks = socks;
	c->state = socks ? CS_S5_GREET : CS_HEAD;
	c->deadline = p->now + p->o.head_timeout_ms;
	c->next = p->conns;
	if (c->next)
		c->next->prev = c;
	p->conns = c;
	p->n_conns++;
	return c;
}

int conn_put_in(struct conn *c, const void *data, size_t len)
{
	if (!len)
		return 0;
	if (c->in_len + len > c->in_cap) {
		uint8_t *n = realloc(c->in, c->in_len + len);
		if (!n)
			return -1;
		c->in = n;
		c->in_cap = c->in_len + len;
	}
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	return 0;
}

ssize_t conn_read_in(struct conn *c, size_t cap)
{
	if (c->in_len >= cap) {
		errno = ENOBUFS;
		return -1;
	}
	if (c->in_len == c->in_cap) {
		size_t ncap = c->in_cap ? c->in_cap * 2 : 1024;
		ncap = ncap < cap ? ncap : cap;
		uint8_t *n = realloc(c->in, ncap);
		if (!n)
			return -1;
		c->in = n;
		c->in_cap = ncap;
	}
	ssize_t n = read(c->cl.fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n > 0)
		c->in_len += (size_t)n;
	return n;
}

static int set_interest(struct proxy *p, struct endpoint *ep, uint32_t events)
{
	if (ep->fd < 0 || ep->gone || (ep->registered && ep->events == events))
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = ep};
	if (epoll_ctl(p->epfd, ep->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, ep->fd, &ev) < 0)
		return -1;
	ep->registered = true;
	ep->events = events;
	return 0;
}

int conn_update_events(struct conn *c)
{
	uint32_t cl = 0, up = 0;
	switch (c->state) {
	case CS_HEAD:
	case CS_S5_GREET:
	case CS_S5_REQ:
		cl = c->cl.out.len > c->cl.out.off ? EPOLLOUT : EPOLLIN;
		break;
	case CS_T_PEEK:
		cl = EPOLLIN;
		break;
	case CS_RESOLVING:
		break;
	case CS_CONNECTING:
		up = EPOLLOUT;
		break;
	case CS_RELAY:
		relay_events(c, &cl, &up);
		break;
	case CS_LINGER:
		cl = c->cl.out.len > c->cl.out.off ? EPOLLOUT : EPOLLIN;
		break;
	}
	if (set_interest(c->p, &c->cl, cl) < 0 || set_interest(c->p, &c->up, up) < 0)
		return -1;
	return 0;
}

static void accept_all(struct proxy *p, struct listener *l)
{
	while (p->n_conns < p->o.max_conns) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			/* Out of descriptors: a pending connection would wake epoll at once, forever. Stop
			 * listening; the next tick (or a closed connection) listens again. */
			set_listening(p, false);
			p->accept_paused = true;
			return;
		}
		if (fd < 0)
			return; /* EAGAIN: nothing more to accept */
		struct conn *c = conn_new(p, fd, l->tag == EV_LISTEN_SOCKS);
		if (!c) {
			close(fd);
			return;
		}
		if ((l->tag == EV_LISTEN_TPROXY && tproxy_accept(p, c) < 0) || conn_update_events(c) < 0)
			conn_close(c);
	}
	set_listening(p, false);
}

/* Returns 0 or -1 (close), as the handlers do. */
static int conn_dispatch(struct conn *c, struct endpoint *ep, uint32_t events)
{
	switch (c->state) {
	case CS_HEAD:
		return http_on_read(c);
	case CS_S5_GREET:
	case CS_S5_REQ:
		return socks_on_read(c);
	case CS_RESOLVING:
		return (events & (EPOLLERR | EPOLLHUP)) ? -1 : 0;
	case CS_CONNECTING:
		if (ep == &c->up)
			return dial_on_connect(c);
		return (events & (EPOLLERR | EPOLLHUP)) ? -1 : 0;
	case CS_RELAY:
		return relay_on_event(c, ep, events);
	case CS_LINGER:
		return linger_on_event(c);
	case CS_T_PEEK:
		return tproxy_on_read(c);
	}
	return -1;
}

static void conn_event(struct endpoint *ep, uint32_t events)
{
	struct conn *c = ep->c;
	if (c->closed)
		return;
	if (conn_dispatch(c, ep, events) < 0 || conn_update_events(c) < 0)
		conn_close(c);
}

/* ---- resolver results and deadlines */

static void take_resolved(struct proxy *p)
{
	uint64_t v;
	if (read(p->resfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&p->mu);
	struct rjob *j = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	while (j) {
		struct rjob *next = j->next;
		struct conn *c = j->c;
		if (!c) {
			dns_on_resolved(p, j);
			free(j);
			j = next;
			continue;
		}
		c->job_pending = false;
		if (c->zombie)
			conn_bury(c);
		else if (c->state == CS_RESOLVING && (dial_on_resolved(c, j) < 0 || conn_update_events(c) < 0))
			conn_close(c);
		free(j);
		j = next;
	}
}

static int conn_timeout(struct conn *c)
{
	switch (c->state) {
	case CS_HEAD:
		return http_timeout(c);
	case CS_T_PEEK:
		return tproxy_timeout(c);
	case CS_RESOLVING:
	case CS_CONNECTING:
		if (c->up.fd >= 0) {
			close(c->up.fd);
			c->up.fd = -1;
			c->up.registered = false;
		}
		return proto_dial_done(c, DIAL_TIMEOUT, NULL);
	default:
		return -1;
	}
}

static void sweep_deadlines(struct proxy *p)
{
	struct conn *c = p->conns;
	while (c) {
		struct conn *next = c->next;
		if (p->now >= c->deadline && (conn_timeout(c) < 0 || conn_update_events(c) < 0))
			conn_close(c);
		c = next;
	}
}

/* ---- the loop */

static bool handle_event(struct proxy *p, struct epoll_event *ev)
{
	enum ev_tag *tag = ev->data.ptr;
	switch (*tag) {
	case EV_STOP:
		return false;
	case EV_RESOLVED:
		take_resolved(p);
		break;
	case EV_LISTEN_HTTP:
	case EV_LISTEN_SOCKS:
	case EV_LISTEN_TPROXY:
		accept_all(p, (struct listener *)tag);
		break;
	case EV_DNS:
		dns_on_read(p);
		break;
	case EV_CLIENT:
	case EV_UPSTREAM:
		conn_event((struct endpoint *)tag, ev->events);
		break;
	}
	return true;
}

/* A splice() to a socket the peer has closed raises SIGPIPE (splice has no MSG_NOSIGNAL). It is
 * directed at the calling thread: blocked here, it stays pending and is taken before returning. */
static void block_sigpipe(sigset_t *old)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, old);
}

static void restore_sigpipe(const sigset_t *old)
{
	sigset_t s;
	struct timespec zero = {0, 0};
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	while (sigtimedwait(&s, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int proxy_run(struct proxy *p)
{
	sigset_t oldmask;
	block_sigpipe(&oldmask);
	struct epoll_event evs[64];
	int64_t next_sweep = 0;
	bool running = true;
	int rc = 0;
	while (running) {
		int n = epoll_wait(p->epfd, evs, (int)ARRAY_LEN(evs),
				   p->conns || p->accept_paused ? PROXY_TICK_MS : -1);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		p->now = proxy_now_ms();
		for (int i = 0; i < n && running; i++)
			running = handle_event(p, &evs[i]);
		if (p->now >= next_sweep) {
			sweep_deadlines(p);
			next_sweep = p->now + PROXY_TICK_MS;
			if (p->accept_paused && p->n_conns < p->o.max_conns) {
				p->accept_paused = false;
				set_listening(p, true);
			}
		}
		reap_dead(p);
	}
	while (p->conns)
		conn_close(p->conns);
	reap_dead(p);
	restore_sigpipe(&oldmask);
	return rc;
}

static void free_jobs(struct rjob *j)
{
	while (j) {
		struct rjob *next = j->next;
		if (j->c && j->c->zombie)
			conn_free(j->c);
		dns_job_free(j->dns);
		free(j);
		j = next;
	}
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	resolver_stop(p);
	/* Only proxy_run() makes connections, and it closes them all before it returns: none is left
	 * here to send a record after it. */
	while (p->conns)
		conn_close(p->conns);
	free_jobs(p->todo);
	free_jobs(p->done);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->stopfd >= 0)
		close(p->stopfd);
	if (p->resfd >= 0)
		close(p->resfd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->dmu);
	free(p->lis);
	free(p->den);
	free(p);
}

/* ---- denials */

void proxy_record_denial(struct proxy *p, const char *host, uint16_t port, const char *reason)
{
	pthread_mutex_lock(&p->dmu);
	for (size_t i = 0; i < p->n_den; i++) {
		struct proxy_denial *d = &p->den[i];
		if (d->port == port && strcmp(d->host, host) == 0 && strcmp(d->reason, reason) == 0) {
			d->count++;
			goto out;
		}
	}
	if (p->n_den == PROXY_MAX_DENIALS) {
		/* The sandbox chooses the names: past the cap they are counted, not kept, so that it
		 * cannot grow cordon's memory or make each record cost more. */
		p->den_dropped++;
		goto out;
	}
	if (p->n_den == p->cap_den) {
		size_t ncap = p->cap_den ? p->cap_den * 2 : 8;
		struct proxy_denial *n = realloc(p->den, ncap * sizeof(*n));
		if (!n)
			goto out; /* the connection is still refused; only the record is lost */
		p->den = n;
		p->cap_den = ncap;
	}
	struct proxy_denial *d = &p->den[p->n_den++];
	memset(d, 0, sizeof(*d));
	snprintf(d->host, sizeof(d->host), "%s", host);
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	d->port = port;
	d->count = 1;
out:
	pthread_mutex_unlock(&p->dmu);
}

size_t proxy_denials_dropped(struct proxy *p)
{
	pthread_mutex_lock(&p->dmu);
	size_t n = p->den_dropped;
	pthread_mutex_unlock(&p->dmu);
	return n;
}

size_t proxy_denials(struct proxy *p, struct proxy_denial *out, size_t max)
{
	pthread_mutex_lock(&p->dmu);
	size_t n = p->n_den;
	if (out && n && max)
		memcpy(out, p->den, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&p->dmu);
	return n;
}

/* ---- records */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void conn_allowed(struct conn *c)
{
	c->allowed = true;
	c->decided_at = proxy_now_ms();
	c->decided_wall = wall_ms();
}

/* Sends c's one record: a refusal when `reason` is set, else the allowed connection, closing. */
static void conn_record(struct conn *c, const char *reason, int64_t now)
{
	const struct proxy_opts *o = &c->p->o;
	c->recorded = true;
	if (!o->on_conn)
		return;
	struct proxy_conn_record r = {
		.port = c->port,
		.allowed = reason == NULL,
		/* What the engine wrote upstream itself (a rewritten head, bytes it read to check) is
		 * the client's too; its replies to the client are not upstream's, and are not counted. */
		.bytes_out = c->dir[0].moved + c->up.sent,
		.bytes_in = c->dir[1].moved,
		.start_ms = c->decided_wall,
		.duration_ms = now - c->decided_at,
	};
	snprintf(r.host, sizeof(r.host), "%s", c->host);
	snprintf(r.address, sizeof(r.address), "%s", c->dialled);
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	o->on_conn(o->on_conn_ctx, &r);
}

void conn_denied(struct conn *c, const char *reason)
{
	proxy_record_denial(c->p, c->host, c->port, reason);
	if (c->recorded)
		return;
	/* A refusal is a verdict of its own, even after the allowlist passed (a name that resolves to
	 * this host, a tunnel fronting for another): it is recorded now, and takes no time. */
	c->decided_at = proxy_now_ms();
	c->decided_wall = wall_ms();
	conn_record(c, reason, c->decided_at);
}
