// SPDX-License-Identifier: Apache-2.0
/*
 * What the proxy engine's files share: the engine, a connection and its phases, and the functions one
 * file calls in another. Everything here runs on the epoll thread except the resolver workers, which
 * touch only their own job and the queues under `mu`.
 */
#ifndef CORDON_PROXY_PROXY_INTERNAL_H
#define CORDON_PROXY_PROXY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy/proxy.h"

#define PROXY_MAX_ADDRS 8      /* addresses tried per destination */
#define PROXY_LINGER_MS 2000   /* draining a client after an error reply, so it is not reset */
#define PROXY_TICK_MS 100      /* how often deadlines are checked while connections exist */
#define PROXY_SOCKS_BUF 600    /* a greeting (2 + 255) or a request (4 + 1 + 255 + 2), with slack */

/* What an epoll event's data.ptr points at: every such struct starts with one of these. */
enum ev_tag { EV_LISTEN_HTTP, EV_LISTEN_SOCKS, EV_LISTEN_TPROXY, EV_DNS, EV_STOP, EV_RESOLVED, EV_CLIENT, EV_UPSTREAM };

#define PROXY_PEEK_MAX 16384 /* transparent mode: client bytes read to find a TLS SNI or HTTP Host */
#define PROXY_PEEK_QUIET_MS 200 /* ...and how long to wait for a first byte when DNS already named the
				 * destination (a protocol where the server speaks first, like SSH) */
#define PROXY_DNS_SEEN 1024  /* (address, name) pairs the DNS resolver answered, newest kept */
#define PROXY_DNS_TTL 30
#define PROXY_MAX_LOCAL 64
#define PROXY_MAX_DENIALS 256 /* distinct (host, port, reason) kept; the rest are only counted */
#define PROXY_PIPE_SZ (256 * 1024) /* each relay direction's pipe, for the first connections: */
#define PROXY_BIG_PIPE_CONNS 24

struct listener {
	enum ev_tag tag;
	int fd;
};

enum conn_state {
	CS_HEAD,       /* reading the HTTP request head */
	CS_S5_GREET,   /* reading the SOCKS5 greeting */
	CS_S5_REQ,     /* reading the SOCKS5 request */
	CS_RESOLVING,  /* a resolver thread has the name */
	CS_CONNECTING, /* a non-blocking connect() is in flight */
	CS_RELAY,      /* bytes flow both ways */
	CS_LINGER,     /* an error reply is being sent; then the client is drained and closed */
	CS_T_PEEK,     /* transparent: reading the client's first bytes for a TLS SNI or HTTP Host */
};

enum dial_result { DIAL_OK, DIAL_DENIED, DIAL_NOT_FOUND, DIAL_UNREACHABLE, DIAL_REFUSED, DIAL_TIMEOUT };

/* Bytes to write before the relay takes over a direction (replies, a rewritten request head). */
struct wbuf {
	uint8_t *buf;
	size_t len, off;
};

struct conn;

struct endpoint {
	enum ev_tag tag; /* EV_CLIENT or EV_UPSTREAM */
	int fd;
	uint32_t events; /* the interest last given to epoll */
	bool registered;
	bool gone; /* taken out of epoll: nothing more to read from or write to it */
	struct conn *c;
	struct wbuf out;
	uint64_t sent; /* bytes wbuf_flush() wrote to fd (for the upstream: the client's, forwarded) */
};

/* One direction of the relay: src -> pipe -> dst. */
struct relay_dir {
	int r, w;	 /* the pipe */
	size_t bytes;	 /* in the pipe */
	bool eof;	 /* src said EOF */
	bool in_blocked; /* the pipe refused more: wait for it to drain before reading src again */
	bool done;	 /* dst was shut down for writing */
	uint64_t moved;	 /* bytes spliced into dst */
};

struct conn {
	struct proxy *p;
	struct conn *prev, *next;
	struct endpoint cl, up;
	enum conn_state state;
	bool socks;
	bool tproxy;	   /* came through the transparent listener (nftables redirect) */
	bool pin_orig;	   /* the name must resolve to `orig`, and only `orig` is dialled */
	bool check_sni;	   /* a tunnel to a name: a TLS hello or HTTP head in it must name that host */
	bool verify_later; /* transparent, named by the DNS table only: check the first bytes in the relay */
	struct proxy_addr orig; /* transparent: where the client meant to connect (SO_ORIGINAL_DST) */
	int64_t peek_until; /* transparent: when to stop waiting for the client's first bytes */
	bool http_connect; /* the HTTP request was CONNECT (else it is forwarded) */
	bool job_pending; /* a resolver job points at this conn: it may not be freed yet */
	bool zombie;	  /* closed while job_pending; freed when the job comes back */
	bool closed;	  /* conn_close() ran: events still in the current epoll batch are ignored */
	struct conn *dead_next; /* on proxy.dead, freed once the current batch is done */
	bool cl_shut;	  /* CS_LINGER: the reply is out and the client's write side is shut */
	int64_t deadline; /* ms, CLOCK_MONOTONIC, for the current phase */
	uint8_t *in;	  /* the head or handshake read so far; freed when the relay starts */
	size_t in_len, in_cap;
	char host[256];
	uint16_t port;
	struct proxy_addr *addrs;
	size_t n_addrs, next_addr;
	int last_errno;
	struct relay_dir dir[2]; /* [0] client to upstream, [1] upstream to client */
	size_t pipe_sz;
	/* The audit record (proxy_opts.on_conn). */
	bool allowed;	  /* the allowlist passed: the record goes out at the close */
	bool recorded;	  /* it went out (a refusal's at once) */
	int64_t decided_at, decided_wall; /* ms, CLOCK_MONOTONIC and CLOCK_REALTIME */
	char dialled[64]; /* the address last dialled, as text */
};

struct dns_job;

struct rjob {
	struct rjob *next;
	struct conn *c;	     /* a connection's destination, or NULL and: */
	struct dns_job *dns; /* a DNS question from inside the sandbox */
	char host[256];
	uint16_t port;
	int rc;
	struct proxy_addr addrs[PROXY_MAX_ADDRS];
};

struct proxy {
	const struct allowlist *al;
	struct proxy_opts o;
	int epfd, stopfd, resfd;
	enum ev_tag stop_tag, res_tag;
	struct listener *lis;
	size_t n_lis;
	bool listening;
	bool accept_paused; /* accept() ran out of descriptors: retried every tick */
	/* This host's interface addresses (refreshed at most once a second): dialling one reaches the
	 * host's own services, as 127.0.0.1 does. */
	struct local_addr {
		int family; /* 4 or 6 */
		uint8_t b[16];
	} local[PROXY_MAX_LOCAL];
	size_t n_local;
	int64_t local_at;
	int64_t now;
	struct conn *conns;
	size_t n_conns;
	/* Closed conns wait here until the epoll batch that closed them is done: a later event of the
	 * same batch (the other endpoint's) still points at them. */
	struct conn *dead;
	/* Resolver pool. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rjob *todo, *todo_tail, *done;
	bool quit;
	pthread_t *thr;
	size_t n_thr;
	/* Transparent mode's DNS resolver and the names it answered, by address. */
	struct listener dns;
	struct dns_seen {
		uint8_t ip[4];
		char name[254];
	} seen[PROXY_DNS_SEEN];
	size_t seen_next;
	/* Denials, read by other threads. */
	pthread_mutex_t dmu;
	struct proxy_denial *den;
	size_t n_den, cap_den;
	size_t den_dropped; /* denials past PROXY_MAX_DENIALS distinct ones */
};

/* proxy.c */
int64_t proxy_now_ms(void);
/* Makes epoll's interest for each of c's fds what c's state asks for. -1 on failure. */
int conn_update_events(struct conn *c);
void proxy_record_denial(struct proxy *p, const char *host, uint16_t port, const char *reason);
/* The allowlist passed c's destination: its record goes out when it closes. */
void conn_allowed(struct conn *c);
/* c's destination is refused: counted with the denials, and c's record goes out now. */
void conn_denied(struct conn *c, const char *reason);

/* proxy_dial.c: check, resolve, connect. Each returns 0, or -1 when the connection must be closed. */
int dial_start(struct conn *c, const char *host, uint16_t port);
/* Loopback, the unspecified address, or an address of one of this host's interfaces. */
bool proxy_addr_is_local(struct proxy *p, const struct proxy_addr *a);
int dial_on_connect(struct conn *c);
int dial_on_resolved(struct conn *c, struct rjob *j);
int resolver_start(struct proxy *p);
void resolver_stop(struct proxy *p);
int proxy_default_resolve(void *ctx, const char *host, uint16_t port, struct proxy_addr *out, size_t max);

/* proxy_relay.c */
int wbuf_set(struct wbuf *w, const void *data, size_t len);
/* Writes what it can: 1 when empty, 0 when bytes remain, -1 on error. */
int wbuf_flush(struct endpoint *ep);
int relay_start(struct conn *c);
int relay_on_event(struct conn *c, struct endpoint *ep, uint32_t events);
void relay_events(struct conn *c, uint32_t *cl, uint32_t *up);
void relay_close(struct conn *c);
/* An error reply is in c->cl.out: send it, then drain and close. */
int linger_start(struct conn *c);
int linger_on_event(struct conn *c);

/* proxy_http.c */
int http_on_read(struct conn *c);
int http_dial_done(struct conn *c, enum dial_result r, const char *reason);
int http_timeout(struct conn *c);
/* Queues c->in for upstream: an HTTP head in it is rewritten like a forwarded request (hop-by-hop
 * headers dropped, Connection: close), so that a checked connection carries that one request and no
 * second one for another host; anything else goes as it is. */
int http_queue_first(struct conn *c);

/* proxy_socks.c */
int socks_on_read(struct conn *c);
int socks_dial_done(struct conn *c, enum dial_result r);

/* Whichever protocol c speaks. `reason` names the rule for DIAL_DENIED. */
/* proxy_transparent.c: connections nftables redirected, and the DNS resolver beside them. */
/* What a client's first bytes say about the host it means: a TLS ClientHello's SNI or an HTTP
 * head's Host (FB_NAME, into name), neither (FB_NONE: another protocol, or a hello without SNI),
 * or bytes that look like TLS or HTTP but do not parse (FB_BAD: refused, since a server might read
 * them differently than the parser did). */
enum first_bytes { FB_NEED_MORE, FB_NAME, FB_NONE, FB_BAD };
enum first_bytes first_bytes_name(const uint8_t *b, size_t len, char *name, size_t cap);
int tproxy_accept(struct proxy *p, struct conn *c);
/* A refused transparent connection is reset, not closed: the client sees ECONNRESET at once. -1. */
int tproxy_reset(struct conn *c);
int tproxy_on_read(struct conn *c);
int tproxy_timeout(struct conn *c);
int tproxy_dial_done(struct conn *c, enum dial_result r);
void dns_on_read(struct proxy *p);
void dns_on_resolved(struct proxy *p, struct rjob *j);
void dns_job_free(struct dns_job *d);
int queue_job(struct proxy *p, struct rjob *j);

static inline int proto_dial_done(struct conn *c, enum dial_result r, const char *reason)
{
	if (c->tproxy)
		return tproxy_dial_done(c, r);
	return c->socks ? socks_dial_done(c, r) : http_dial_done(c, r, reason);
}

/* Appends up to `want` bytes from the client to c->in (growing it up to `cap`). Returns the bytes
 * read, 0 on EOF, -1 with errno (EAGAIN when nothing is there, ENOBUFS when c->in is full). */
ssize_t conn_read_in(struct conn *c, size_t cap);
/* Appends len bytes to c->in. -1 on ENOMEM. */
int conn_put_in(struct conn *c, const void *data, size_t len);

#endif
