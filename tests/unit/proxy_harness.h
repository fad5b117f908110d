// SPDX-License-Identifier: Apache-2.0
/*
 * What the proxy engine's tests share. Each test starts an engine in a thread on listeners it makes
 * on 127.0.0.1, with an injected resolver: allowed and denied test names resolve to 192.0.2.1
 * (TEST-NET-1), which the test dial hook turns into 127.0.0.1 at the last moment, so the engine's
 * loopback rules see an ordinary address while the traffic stays on this host; rebind.test resolves
 * to 127.0.0.1 itself, nx.test to nothing, and slow.test answers after 800 ms. The upstream servers
 * are an epoll echo server (started by harness_setup()) and a one-shot HTTP origin, each in its own
 * thread. The helpers fail the running test with cmocka's asserts: call them from its thread only.
 */
#ifndef CORDON_TESTS_UNIT_PROXY_HARNESS_H
#define CORDON_TESTS_UNIT_PROXY_HARNESS_H

#include "unit.h"

#include <pthread.h>
#include <stdbool.h>

#include "core/allowlist.h"
#include "proxy/proxy.h"

/* ---- sockets */

/* A listening TCP socket on 127.0.0.1 and a free port; *port gets the port. */
int listen_loopback(uint16_t *port);
/* A blocking client connected to 127.0.0.1:port, with a 5 s receive timeout. */
int connect_loopback(uint16_t port);
void send_all(int fd, const void *buf, size_t len);
/* Reads until `needle` has been seen (NULL: until EOF) or cap-1 bytes; returns the length. */
size_t recv_until(int fd, char *buf, size_t cap, const char *needle);

/* ---- the echo server: one thread, epoll, a shared buffer (so that it adds little to VmRSS) */

struct echo_server {
	int lfd, stopfd;
	uint16_t port;
	pthread_t thr;
};
extern struct echo_server echo;

/* ---- the engine under test */

struct env {
	struct allowlist al;
	struct proxy *p;
	pthread_t thr;
	int http_fd, socks_fd;
	uint16_t http_port, socks_port;
	int run_rc;
};

extern int env_dns_fd; /* when >= 0, env_start() gives the engine this DNS socket */

/* Starts an engine with rules "allow:RULE" / "deny:RULE"; %u in a rule is the echo server's port. */
void env_start(struct env *e, const char *const *rules);
/* The same with the options in `base` (NULL: none), under the harness's own: its resolver and dial
 * hook, env_dns_fd, and 400 ms head and connect timeouts where base leaves them 0. */
void env_start_with(struct env *e, const char *const *rules, const struct proxy_opts *base);
/* Stops and frees it; fails the test if it dialled anything but loopback. */
void env_stop(struct env *e);

/* ---- HTTP */

/* Sends CONNECT target; returns the status and leaves *fd open (the tunnel on 200). */
int http_connect(struct env *e, const char *target, int *fd, char *body, size_t cap);
/* CONNECT host:port, and on 200 check that a line goes through the echo server and back. */
int try_connect(struct env *e, const char *host, unsigned port, char *body, size_t cap);

#define EXPECT(e, host, port, want, needle)                                                            \
	do {                                                                                           \
		char body_[2048] = "";                                                                 \
		int got_ = try_connect(e, host, port, body_, sizeof(body_));                           \
		if (got_ != (want))                                                                    \
			fail_msg("%s:%u: status %d, want %d: %s", host, (unsigned)(port), got_, want, body_); \
		if (needle)                                                                            \
			assert_contains(body_, (const char *)(needle));                                \
	} while (0)
/* A one-shot HTTP origin: accepts once on lfd, reads a head into `head`, answers 200 "ok". */
struct origin {
	int lfd;
	char head[4096];
};
void *origin_main(void *arg);

/* ---- SOCKS5, TLS and DNS */

/* Greets, sends a request for host:port with `cmd`; returns the reply code (-1: no reply). */
int socks_request(struct env *e, uint8_t cmd, const char *host, uint16_t port, int *fd);
/* A minimal TLS 1.2 ClientHello whose server_name is `sni`; returns its length. */
size_t client_hello(const char *sni, uint8_t *out);

/* Sends an A or AAAA question for `name` to the engine's DNS socket; returns the response length. */
size_t dns_ask(int dns_fd, const char *name, uint16_t qtype, uint8_t *resp, size_t cap);

/* cmocka group setup and teardown: SIGPIPE ignored, the open-files limit raised, the echo server. */
int harness_setup(void **state);
int harness_teardown(void **state);

#endif
