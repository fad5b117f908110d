// SPDX-License-Identifier: Apache-2.0
/*
 * From a destination to a connected upstream socket: the allowlist check, then (only if it passed)
 * name resolution in the worker threads, the loopback rules, and non-blocking connects to each
 * address in turn.
 */
#include "proxy/proxy_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/allowlist.h"

/* ---- loopback: only `localhost:PORT` rules reach the host's own services */

static void refresh_local(struct proxy *p)
{
	if (p->local_at && p->now - p->local_at < 1000)
		return;
	p->local_at = p->now ? p->now : 1;
	struct ifaddrs *all;
	if (getifaddrs(&all) < 0)
		return; /* keep the last list */
	size_t n = 0;
	for (struct ifaddrs *i = all; i && n < PROXY_MAX_LOCAL; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			p->local[n].family = 4;
			memcpy(p->local[n++].b, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			p->local[n].family = 6;
			memcpy(p->local[n++].b, &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
	}
	freeifaddrs(all);
	p->n_local = n;
}

/* 127.0.0.0/8, 0.0.0.0/8, ::1, ::, their IPv4-mapped forms, and every address of this host's
 * interfaces: all of them reach this host. */
bool proxy_addr_is_local(struct proxy *p, const struct proxy_addr *a)
{
	const uint8_t *b;
	int fam = 4;
	if (a->ss.ss_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
	} else if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(v6) || IN6_IS_ADDR_UNSPECIFIED(v6))
			return true;
		b = v6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(v6))
			b += 12;
		else
			fam = 6;
	} else {
		return true; /* not something to dial */
	}
	if (fam == 4 && (b[0] == 127 || b[0] == 0))
		return true;
	refresh_local(p);
	for (size_t i = 0; i < p->n_local; i++)
		if (p->local[i].family == fam && memcmp(p->local[i].b, b, fam == 4 ? 4 : 16) == 0)
			return true;
	return false;
}

/* Whether a `localhost:PORT` rule allows exactly this port (and no --deny refuses it). */
static bool localhost_allowed(const struct proxy *p, uint16_t port)
{
	return allowlist_match(p->al, "localhost", port, NULL) == AL_ALLOWED;
}

static bool same_ip(const struct proxy_addr *a, const struct proxy_addr *b)
{
	if (a->ss.ss_family != AF_INET || b->ss.ss_family != AF_INET)
		return false;
	return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
}

static void make_addr(struct proxy_addr *a, int family, const uint8_t *bytes, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, bytes, 4);
		a->len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, bytes, 16);
		a->len = sizeof(*s);
	}
}

/* a's address without its port, "192.0.2.1" or "2001:db8::1"; "" if it is neither family. */
static void addr_text(const struct proxy_addr *a, char *out, size_t cap)
{
	const void *bytes = NULL;
	if (a->ss.ss_family == AF_INET)
		bytes = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	else if (a->ss.ss_family == AF_INET6)
		bytes = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	if (!bytes || !inet_ntop(a->ss.ss_family, bytes, out, (socklen_t)cap))
		out[0] = '\0';
}

static int deny(struct conn *c, const char *reason)
{
	conn_denied(c, reason);
	return proto_dial_done(c, DIAL_DENIED, reason);
}

/* ---- connecting */

static int dial_next(struct conn *c);

static int dial_connected(struct conn *c)
{
	free(c->addrs);
	c->addrs = NULL;
	c->n_addrs = 0;
	return proto_dial_done(c, DIAL_OK, NULL);
}

static int dial_one(struct conn *c, struct proxy_addr *a)
{
	struct proxy *p = c->p;
	if (p->o.test_dial_rewrite)
		p->o.test_dial_rewrite(p->o.test_dial_ctx, a);
	addr_text(a, c->dialled, sizeof(c->dialled));
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r = connect(fd, (struct sockaddr *)&a->ss, a->len);
	if (r == 0 || errno == EINPROGRESS) {
		c->up.fd = fd;
		c->up.registered = false;
		c->up.events = 0;
		return r == 0 ? 0 : 1;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int dial_next(struct conn *c)
{
	errno = 0;
	while (c->next_addr < c->n_addrs) {
		int r = dial_one(c, &c->addrs[c->next_addr++]);
		if (r == 1) {
			c->state = CS_CONNECTING;
			return 0;
		}
		if (r == 0)
			return dial_connected(c);
		c->last_errno = errno;
	}
	return proto_dial_done(c, c->last_errno == ECONNREFUSED ? DIAL_REFUSED : DIAL_UNREACHABLE, NULL);
}

int dial_on_connect(struct conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (getsockopt(c->up.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (!soerr)
		return dial_connected(c);
	c->last_errno = soerr;
	close(c->up.fd); /* also takes it out of the epoll set */
	c->up.fd = -1;
	c->up.registered = false;
	return dial_next(c);
}

static int dial_addrs(struct conn *c, const struct proxy_addr *addrs, size_t n)
{
	c->addrs = calloc(n, sizeof(*c->addrs));
	if (!c->addrs)
		return -1;
	memcpy(c->addrs, addrs, n * sizeof(*addrs));
	c->n_addrs = n;
	c->next_addr = 0;
	c->deadline = c->p->now + c->p->o.connect_timeout_ms;
	return dial_next(c);
}

/* ---- resolving */

int queue_job(struct proxy *p, struct rjob *j)
{
	pthread_mutex_lock(&p->mu);
	if (p->todo_tail)
		p->todo_tail->next = j;
	else
		p->todo = j;
	p->todo_tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int queue_resolve(struct conn *c)
{
	struct proxy *p = c->p;
	struct rjob *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->c = c;
	j->port = c->port;
	memcpy(j->host, c->host, sizeof(j->host));
	c->job_pending = true;
	c->state = CS_RESOLVING;
	c->deadline = p->now + p->o.connect_timeout_ms;
	return queue_job(p, j);
}

int dial_on_resolved(struct conn *c, struct rjob *j)
{
	if (j->rc <= 0)
		return proto_dial_done(c, DIAL_NOT_FOUND, NULL);
	struct proxy_addr ok[PROXY_MAX_ADDRS];
	size_t n = 0;
	char local[INET6_ADDRSTRLEN] = "";
	for (int i = 0; i < j->rc && i < PROXY_MAX_ADDRS; i++) {
		if (!proxy_addr_is_local(c->p, &j->addrs[i])) {
			ok[n++] = j->addrs[i];
			continue;
		}
		addr_text(&j->addrs[i], local, sizeof(local));
	}
	if (c->pin_orig) {
		/* Transparent mode: the client connected to an address of its own choosing and named a
		 * host in its first bytes; that host must resolve to that very address (no fronting). */
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (same_ip(&ok[i], &c->orig))
				k = i + 1;
		if (!k) {
			char ip[INET6_ADDRSTRLEN] = "?";
			inet_ntop(AF_INET, &((const struct sockaddr_in *)&c->orig.ss)->sin_addr, ip, sizeof(ip));
			char reason[400];
			snprintf(reason, sizeof(reason), "%s does not resolve to %s, the address connected to", c->host, ip);
			return deny(c, reason);
		}
		ok[0] = ok[k - 1];
		n = 1;
	}
	if (n == 0) {
		/* A name resolving to this host would let any name rule reach local services: the name
		 * `localhost` never gets here, so this is DNS rebinding or a misconfigured name. */
		char reason[200];
		snprintf(reason, sizeof(reason), "resolves to local address %s (only --allow localhost:PORT reaches it)",
			 local);
		return deny(c, reason);
	}
	return dial_addrs(c, ok, n);
}

static void *resolver_main(void *arg)
{
	struct proxy *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		struct rjob *j = p->todo;
		p->todo = j->next;
		if (!p->todo)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		j->rc = p->o.resolve(p->o.resolve_ctx, j->host, j->port, j->addrs, PROXY_MAX_ADDRS);
		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		uint64_t one = 1;
		ssize_t w = write(p->resfd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int resolver_start(struct proxy *p)
{
	p->thr = calloc(p->o.resolver_threads, sizeof(*p->thr));
	if (!p->thr)
		return -1;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* getaddrinfo() needs far less than the default 8 MiB; this keeps the mappings small. */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (size_t i = 0; i < p->o.resolver_threads; i++) {
		int e = pthread_create(&p->thr[p->n_thr], &attr, resolver_main, p);
		if (e) {
			pthread_attr_destroy(&attr);
			errno = e;
			return -1;
		}
		p->n_thr++;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

void resolver_stop(struct proxy *p)
{
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->n_thr; i++)
		pthread_join(p->thr[i], NULL);
	p->n_thr = 0;
	free(p->thr);
	p->thr = NULL;
}

int proxy_default_resolve(void *ctx, const char *host, uint16_t port, struct proxy_addr *out, size_t max)
{
	(void)ctx;
	char serv[8];
	snprintf(serv, sizeof(serv), "%u", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int e = getaddrinfo(host, serv, &hints, &res);
	if (e == EAI_NONAME || e == EAI_NODATA)
		return 0;
	if (e)
		return e == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	size_t n = 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(out[n].ss))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	return (int)n;
}

/* ---- the check: every destination passes here before anything is resolved or dialled */

int dial_start(struct conn *c, const char *host, uint16_t port)
{
	struct proxy *p = c->p;
	const struct al_rule *rule = NULL;
	char reason[300];
	if (host != c->host) /* transparent mode passes its own buffer: copying onto itself is undefined */
		snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	enum allowlist_result res = allowlist_match(p->al, host, port, &rule);
	if (res != AL_ALLOWED) {
		if (rule)
			snprintf(reason, sizeof(reason), "denied by %s %s", allowlist_rule_flag(rule),
				 allowlist_describe_rule(rule));
		else
			snprintf(reason, sizeof(reason), "not in the allowlist (--allow)");
		return deny(c, reason);
	}
	conn_allowed(c);
	uint8_t ip[16];
	int fam = allowlist_parse_ip(host, ip);
	struct proxy_addr a[2];
	if (fam) {
		make_addr(&a[0], fam, ip, port);
		if (proxy_addr_is_local(p, &a[0]) && !localhost_allowed(p, port))
			return deny(c, "a local address (only --allow localhost:PORT reaches it)");
		return dial_addrs(c, a, 1);
	}
	if (strcmp(c->host, "localhost") == 0) {
		/* Only a localhost:PORT rule matches the name, and it means these two addresses. */
		static const uint8_t v4[4] = {127, 0, 0, 1}, v6[16] = {[15] = 1};
		make_addr(&a[0], 4, v4, port);
		make_addr(&a[1], 6, v6, port);
		return dial_addrs(c, a, 2);
	}
	return queue_resolve(c);
}
