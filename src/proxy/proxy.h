// SPDX-License-Identifier: Apache-2.0
/*
 * The filtering proxy engine: HTTP (CONNECT and absolute-form requests) and SOCKS5 (CONNECT) on
 * listening sockets the caller made, every destination checked against the allowlist before it is
 * resolved, then relayed with splice(). One thread runs proxy_run()'s epoll loop; name resolution runs
 * in a few worker threads so that a slow resolver never stalls the loop.
 *
 * The engine accepts on the listening sockets wherever they were made (cordon makes them inside the
 * sandbox's network namespace) and dials from the namespace of the thread that runs proxy_run().
 */
#ifndef CORDON_PROXY_PROXY_H
#define CORDON_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct allowlist;
struct cordon_error;
struct proxy;

/* One resolved address. */
struct proxy_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Resolves `host` (a name, never an IP literal: those skip the resolver) for `port` into out[0..max).
 * Returns the number of addresses (0 when the name does not exist) or a negative errno value. Called
 * from the resolver threads, never from the epoll thread; it may block.
 */
typedef int (*proxy_resolve_fn)(void *ctx, const char *host, uint16_t port, struct proxy_addr *out,
				size_t max);

/*
 * One connection the engine decided on, for the audit log. Strings are NUL-terminated; the record is
 * the callback's only for the call (copy what you keep).
 */
struct proxy_conn_record {
	char host[256];	   /* the name or IP as asked, lowercased as the allowlist saw it: the CONNECT or
			    * SOCKS5 target; in transparent mode the TLS SNI or HTTP Host, else the name
			    * DNS gave out for the address, else the address */
	uint16_t port;
	char address[64];  /* the address last dialled, "192.0.2.1" or "2001:db8::1" (no port); "" when none
			    * was (refused before dialling, the name did not resolve) */
	bool allowed;	   /* false: refused, and proxy_denials() counts it too */
	char reason[300];  /* for a refusal, the text of its proxy_denial.reason; "" when allowed */
	uint64_t bytes_out; /* client to upstream: what reached the upstream socket, the request head the
			     * engine rewrote and any bytes it read to check included; never a reply of its own */
	uint64_t bytes_in;  /* upstream to client, likewise */
	int64_t start_ms;   /* CLOCK_REALTIME, ms: when the verdict was made */
	int64_t duration_ms; /* from the verdict to the close; 0 for a refusal */
};

/*
 * Called on proxy_run()'s thread, never after it returns, once for each connection that got a verdict:
 * for an allowed one when it closes, whatever closed it (either side's EOF, an error, the idle timeout,
 * a failed dial, proxy_stop()); for a refused one at the refusal. A connection that never named a
 * destination (closed early, a malformed request) has none, and neither has a DNS question. A tunnel
 * whose first bytes name another host (no fronting) was allowed, then refused: its one record is the
 * refusal, with the address it dialled. The callback should be quick: the engine waits for it.
 */
typedef void (*proxy_conn_fn)(void *ctx, const struct proxy_conn_record *r);

struct proxy_opts {
	int connect_timeout_ms; /* resolution plus connect; 0: 10000. Answer 504 / SOCKS 0x04 */
	int idle_timeout_ms;	/* a relay with no bytes moving either way; 0: 300000 */
	int head_timeout_ms;	/* the HTTP head or SOCKS handshake; 0: 10000. Answer 408 */
	size_t max_conns;	/* concurrent connections; 0: 512. Beyond it the listeners wait */
	size_t resolver_threads; /* 0: 4 */
	proxy_resolve_fn resolve; /* NULL: getaddrinfo() (the system resolver, /etc/hosts honoured) */
	void *resolve_ctx;
	/* Transparent mode (cordon's nftables rules redirect every TCP connection and DNS question from
	 * the sandbox here): listening TCP sockets whose connections carry SO_ORIGINAL_DST, and a UDP
	 * socket for DNS (when has_dns), which answers only names some --allow rule lists. */
	const int *transparent_fds;
	size_t n_transparent;
	bool has_dns;
	int dns_fd;
	proxy_conn_fn on_conn; /* NULL: no records */
	void *on_conn_ctx;
	/* Tests only (cordon never sets it): called on each address just before connect(), after every
	 * check, so that a test can send names it resolved to TEST-NET addresses to its loopback servers. */
	void (*test_dial_rewrite)(void *ctx, struct proxy_addr *a);
	void *test_dial_ctx;
};

/* One refused destination; the same host, port and reason are counted once. */
struct proxy_denial {
	char host[256];
	uint16_t port;
	char reason[300]; /* "denied by --deny *.evil.com", "not in the allowlist (--allow)", ... */
	unsigned count;
};

/*
 * Makes an engine. `al` is borrowed and must outlive it; the listening fds are borrowed too (the
 * caller closes them after proxy_free()) and are made non-blocking. `o` may be NULL for the defaults.
 */
struct proxy *proxy_new(const struct allowlist *al, const int *http_fds, size_t n_http, const int *socks_fds,
			size_t n_socks, const struct proxy_opts *o, struct cordon_error **err);

/* Runs the loop until proxy_stop(); closes every connection before returning. 0, or a negative errno
 * value if epoll itself failed. Call it once, from one thread. */
int proxy_run(struct proxy *p);

/* Asks proxy_run() to return. Safe from any thread and from a signal handler. */
void proxy_stop(struct proxy *p);

/* Copies up to `max` denials, in the order first seen, into out; returns how many there are in all
 * (at most 256 distinct ones are kept). Safe from any thread, during or after proxy_run(). */
size_t proxy_denials(struct proxy *p, struct proxy_denial *out, size_t max);
/* How many denials came after the 256 distinct ones were kept: counted, not kept. */
size_t proxy_denials_dropped(struct proxy *p);

/* Stops and joins the resolver threads and frees the engine; NULL is a no-op. Not while running. */
void proxy_free(struct proxy *p);

#endif
