// SPDX-License-Identifier: Apache-2.0
/*
 * Transparent mode: connections that cordon's nftables rules redirected from inside the sandbox,
 * and the DNS resolver that answers the sandbox's questions.
 *
 * A redirected connection carries where the client meant to go (SO_ORIGINAL_DST). An address that an
 * IP --allow rule covers is dialled as it is. Otherwise the destination must be a name: the TLS SNI
 * or HTTP Host in the client's first bytes, or else (a protocol where the server speaks first, like
 * SSH) the name this resolver answered with that address. The name goes through the allowlist like
 * any other, is resolved again outside, and must resolve to the very address the client chose, which
 * is the only one dialled: an allowed name cannot front for another host on a shared address.
 * Anything refused is reset at once, so the client fails fast.
 */
#include "proxy/proxy_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/allowlist.h"
#include "proxy/dns_query.h"
#include "proxy/http_head.h"
#include "proxy/tls_sni.h"

struct dns_job {
	struct dns_query q;
	struct sockaddr_storage from;
	socklen_t from_len;
};

void dns_job_free(struct dns_job *d)
{
	free(d);
}

static const uint8_t *v4_bytes(const struct proxy_addr *a)
{
	return (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
}

int tproxy_reset(struct conn *c)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->cl.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return -1;
}

/* The newest name this resolver gave out for `ip` that is allowed on `port`, else the newest one
 * at all (so that a denial names it), else NULL. */
static const char *seen_name(const struct proxy *p, const uint8_t ip[4], uint16_t port)
{
	const char *any = NULL;
	for (size_t k = 1; k <= PROXY_DNS_SEEN; k++) {
		const struct dns_seen *s = &p->seen[(p->seen_next + PROXY_DNS_SEEN - k) % PROXY_DNS_SEEN];
		if (!s->name[0] || memcmp(s->ip, ip, 4) != 0)
			continue;
		if (allowlist_match(p->al, s->name, port, NULL) == AL_ALLOWED)
			return s->name;
		if (!any)
			any = s->name;
	}
	return any;
}

static void remember(struct proxy *p, const uint8_t ip[4], const char *name)
{
	struct dns_seen *s = &p->seen[p->seen_next];
	memcpy(s->ip, ip, 4);
	snprintf(s->name, sizeof(s->name), "%s", name);
	p->seen_next = (p->seen_next + 1) % PROXY_DNS_SEEN;
}

/* An HTTP request line: a method of 1 to 16 capital letters and a space, as clients send; or any
 * first line naming an HTTP version, as a lenient server might still take. -1: too short to tell. */
static int looks_http(const uint8_t *b, size_t len)
{
	const uint8_t *nl = memchr(b, '\n', len);
	if (nl && memmem(b, (size_t)(nl - b), " HTTP/", 6))
		return 1;
	for (size_t i = 0; i < len && i <= 16; i++) {
		if (b[i] == ' ')
			return i > 0 ? 1 : 0;
		if (b[i] < 'A' || b[i] > 'Z')
			return 0;
	}
	return len <= 16 ? -1 : 0;
}

enum first_bytes first_bytes_name(const uint8_t *b, size_t len, char *name, size_t cap)
{
	size_t used = 0;
	if (len == 0)
		return FB_NEED_MORE;
	if (b[0] == '\r' || b[0] == '\n')
		return FB_BAD; /* no client starts so; a server may skip it and read a Host after it */
	if (b[0] == 0x16) { /* a TLS handshake record */
		struct tls_hello h;
		enum tls_status st = tls_sni_parse(b, len, &h, &used);
		if (st == TLS_NEED_MORE)
			return len >= PROXY_PEEK_MAX ? FB_BAD : FB_NEED_MORE;
		if (st == TLS_ERROR)
			return FB_BAD;
		if (!h.has_sni || !h.sni[0])
			return FB_NONE;
		snprintf(name, cap, "%s", h.sni);
		return FB_NAME;
	}
	int http = looks_http(b, len);
	if (http == 0)
		return FB_NONE;
	if (http < 0)
		return FB_NEED_MORE;
	struct hh_request rq;
	enum hh_status st = http_head_parse(b, len, &rq, &used);
	if (st == HH_NEED_MORE)
		return len >= PROXY_PEEK_MAX ? FB_BAD : FB_NEED_MORE;
	if (st == HH_ERROR || !rq.host[0])
		return FB_BAD;
	snprintf(name, cap, "%s", rq.host);
	return FB_NAME;
}

static int refuse(struct conn *c, const char *reason)
{
	conn_denied(c, reason);
	return tproxy_reset(c);
}

/* The destination's name is known (or known to be missing): check and dial it. */
static int decide(struct conn *c, const char *named)
{
	struct proxy *p = c->p;
	const char *name = named ? named : seen_name(p, v4_bytes(&c->orig), c->port);
	if (!name)
		return refuse(c, "an address no allowed name resolved to (an IP needs an IP --allow rule)");
	if (http_queue_first(c) < 0)
		return -1;
	c->pin_orig = true;
	/* Named by the DNS table alone: whatever the client sends first is checked in the relay. */
	c->verify_later = named == NULL;
	return dial_start(c, name, c->port);
}

int tproxy_accept(struct proxy *p, struct conn *c)
{
	struct sockaddr_in dst;
	socklen_t len = sizeof(dst);
	c->tproxy = true;
	if (getsockopt(c->cl.fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) < 0 || dst.sin_family != AF_INET)
		return -1;
	memset(&c->orig, 0, sizeof(c->orig));
	memcpy(&c->orig.ss, &dst, sizeof(dst));
	c->orig.len = sizeof(dst);
	c->port = ntohs(dst.sin_port);
	inet_ntop(AF_INET, &dst.sin_addr, c->host, sizeof(c->host));
	/* The nftables rules send the sandbox's own loopback here only for the --allow localhost:PORT
	 * ports: those mean the host's. */
	if (v4_bytes(&c->orig)[0] == 127)
		return dial_start(c, "localhost", c->port);
	if (allowlist_match(p->al, c->host, c->port, NULL) == AL_ALLOWED)
		return dial_start(c, c->host, c->port);
	bool named = seen_name(p, v4_bytes(&c->orig), c->port) != NULL;
	c->state = CS_T_PEEK;
	c->deadline = p->now + (named ? PROXY_PEEK_QUIET_MS : p->o.head_timeout_ms);
	return 0;
}

int tproxy_on_read(struct conn *c)
{
	ssize_t n = conn_read_in(c, PROXY_PEEK_MAX);
	if (n == 0)
		return -1;
	if (n < 0 && errno != ENOBUFS)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	/* Bytes arrived: the client speaks first, so wait for the whole hello or head. */
	c->deadline = c->p->now + c->p->o.head_timeout_ms;
	char name[256];
	switch (first_bytes_name(c->in, c->in_len, name, sizeof(name))) {
	case FB_NEED_MORE:
		return 0;
	case FB_NAME:
		return decide(c, name);
	case FB_NONE:
		return decide(c, NULL);
	case FB_BAD:
		break;
	}
	return refuse(c, "a TLS hello or HTTP head that does not parse (the name cannot be checked)");
}

int tproxy_timeout(struct conn *c)
{
	/* Silence: a protocol where the server speaks first. Half a hello or head: refused. */
	if (c->in_len == 0)
		return decide(c, NULL);
	return refuse(c, "an incomplete TLS hello or HTTP head (the name cannot be checked)");
}

int tproxy_dial_done(struct conn *c, enum dial_result r)
{
	if (r == DIAL_OK)
		return relay_start(c);
	return tproxy_reset(c);
}

/* ---- DNS */

static void dns_send(struct proxy *p, const struct dns_job *d, const uint8_t *msg, int len)
{
	if (len > 0)
		sendto(p->dns.fd, msg, (size_t)len, MSG_DONTWAIT, (const struct sockaddr *)&d->from, d->from_len);
}

static void dns_reply(struct proxy *p, const struct dns_job *d, enum dns_rcode rcode)
{
	uint8_t out[DNS_MAX_QUERY];
	dns_send(p, d, out, dns_build_response(&d->q, rcode, out, sizeof(out)));
}

/* One question: refused names get NXDOMAIN at once; an allowed name's A records are looked up
 * outside, by the resolver threads. */
static void dns_question(struct proxy *p, struct dns_job *d)
{
	if (!allowlist_name_listed(p->al, d->q.name)) {
		proxy_record_denial(p, d->q.name, 0, "not in the allowlist (--allow)");
		dns_reply(p, d, DNS_RCODE_NXDOMAIN);
		return;
	}
	/* No AAAA: the sandbox has no IPv6 route, so an IPv6 answer would only slow clients down. */
	if (d->q.qtype != DNS_TYPE_A || d->q.qclass != DNS_CLASS_IN) {
		dns_reply(p, d, DNS_RCODE_NOERROR);
		return;
	}
	struct rjob *j = calloc(1, sizeof(*j));
	struct dns_job *copy = malloc(sizeof(*copy));
	if (!j || !copy) {
		free(j);
		free(copy);
		dns_reply(p, d, DNS_RCODE_SERVFAIL);
		return;
	}
	*copy = *d;
	j->dns = copy;
	snprintf(j->host, sizeof(j->host), "%s", d->q.name);
	queue_job(p, j);
}

void dns_on_read(struct proxy *p)
{
	for (int i = 0; i < 64; i++) {
		uint8_t msg[DNS_MAX_QUERY + 1];
		struct dns_job d = {.from_len = sizeof(d.from)};
		ssize_t n = recvfrom(p->dns.fd, msg, sizeof(msg), MSG_DONTWAIT, (struct sockaddr *)&d.from, &d.from_len);
		if (n < 0)
			return;
		enum dns_status st = dns_parse_query(msg, (size_t)n, &d.q);
		if (st == DNS_DONE)
			dns_question(p, &d);
		else if (d.q.error == DNS_ERR_NAME)
			dns_reply(p, &d, DNS_RCODE_REFUSED);
		/* Anything else is not a question to answer: dropped. */
	}
}

void dns_on_resolved(struct proxy *p, struct rjob *j)
{
	struct dns_job *d = j->dns;
	j->dns = NULL;
	if (j->rc < 0) {
		dns_reply(p, d, DNS_RCODE_SERVFAIL);
	} else if (j->rc == 0) {
		dns_reply(p, d, DNS_RCODE_NXDOMAIN);
	} else {
		uint8_t addrs[PROXY_MAX_ADDRS * 4];
		size_t n = 0;
		for (int i = 0; i < j->rc && i < PROXY_MAX_ADDRS; i++) {
			if (j->addrs[i].ss.ss_family != AF_INET || proxy_addr_is_local(p, &j->addrs[i]))
				continue; /* this host's addresses are refused anyway (only localhost:PORT) */
			memcpy(addrs + 4 * n, v4_bytes(&j->addrs[i]), 4);
			remember(p, addrs + 4 * n, d->q.name);
			n++;
		}
		uint8_t out[DNS_MAX_QUERY];
		dns_send(p, d, out, dns_build_answer(&d->q, addrs, n, PROXY_DNS_TTL, out, sizeof(out)));
	}
	dns_job_free(d);
}
