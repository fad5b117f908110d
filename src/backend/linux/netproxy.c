// SPDX-License-Identifier: Apache-2.0
/*
 * `--network proxy` on Linux. The sandbox has its own network namespace with only `lo`. Its init
 * makes the proxy's sockets there (HTTP on 127.0.0.1:3128, SOCKS5 on 127.0.0.1:1080, and for
 * transparent mode a redirect target and a DNS socket on 127.0.0.1:53), installs the nftables rules
 * that send every other TCP connection and every DNS question to them, and hands the sockets to the
 * supervisor with READY. The supervisor serves them from a thread running the proxy engine, in the
 * host's namespace, so every connection out is one cordon made after checking the allowlist.
 */
#include "backend/linux/linux.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/linux/nft.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/allowlist.h"
#include "core/audit_log.h"
#include "core/policy.h"
#include "proxy/proxy.h"

/* Past this many connections in one run, `net` records are counted, not written: a command must not
 * fill the user's disk through cordon's log. */
#define MAX_NET_RECORDS 10000

struct lx_netproxy {
	struct allowlist al;
	struct audit_sink *sink;      /* net records, from the engine's thread */
	unsigned long net_records;    /* written so far; the engine's thread only */
	struct proxy *engine;
	pthread_t thr;
	bool running;
	int fds[NP_NFDS];
};

const char *const lx_proxy_env[LX_PROXY_ENV_N + 1] = {
	"HTTP_PROXY=http://127.0.0.1:" NP_HTTP_PORT_S,
	"HTTPS_PROXY=http://127.0.0.1:" NP_HTTP_PORT_S,
	"ALL_PROXY=socks5h://127.0.0.1:" NP_SOCKS_PORT_S,
	"NO_PROXY=localhost,127.0.0.1,::1",
	"http_proxy=http://127.0.0.1:" NP_HTTP_PORT_S,
	"https_proxy=http://127.0.0.1:" NP_HTTP_PORT_S,
	"all_proxy=socks5h://127.0.0.1:" NP_SOCKS_PORT_S,
	"no_proxy=localhost,127.0.0.1,::1",
	NULL,
};

int lx_netproxy_new(const struct cordon_policy *p, struct lx_netproxy **out, struct cordon_error **err)
{
	struct lx_netproxy *np = calloc(1, sizeof(*np));
	if (!np)
		return cerr_set(err, ENOMEM, "out of memory");
	for (int i = 0; i < NP_NFDS; i++)
		np->fds[i] = -1;
	for (size_t i = 0; i < p->net_allow.n; i++)
		if (allowlist_add(&np->al, AL_ALLOW, p->net_allow.v[i], err) < 0)
			goto fail;
	for (size_t i = 0; i < p->net_deny.n; i++)
		if (allowlist_add(&np->al, AL_DENY, p->net_deny.v[i], err) < 0)
			goto fail;
	*out = np;
	return 0;
fail:
	lx_netproxy_free(np);
	return -1;
}

const struct allowlist *lx_netproxy_allowlist(const struct lx_netproxy *np)
{
	return &np->al;
}

/* ---- inside the sandbox (init, before it drops its capabilities) */

static int listen_on(int type, uint16_t port, struct cordon_error **err)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0)
		return cerr_sys(err, errno, "proxy socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (type == SOCK_STREAM && listen(fd, 512) < 0)) {
		int e = errno;
		close(fd);
		return cerr_sys(err, e, "proxy socket on 127.0.0.1:%u inside the sandbox", port);
	}
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	return getsockname(fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : 0;
}

int lx_netproxy_listen(const struct allowlist *al, int fds[NP_NFDS], bool *transparent, struct cordon_error **err)
{
	for (int i = 0; i < NP_NFDS; i++)
		fds[i] = -1;
	*transparent = false;
	if ((fds[NP_HTTP] = listen_on(SOCK_STREAM, NP_HTTP_PORT, err)) < 0 ||
	    (fds[NP_SOCKS] = listen_on(SOCK_STREAM, NP_SOCKS_PORT, err)) < 0)
		return -1;
	/* Transparent mode is a convenience on top: without it nothing gets out but through the two
	 * listeners above, so a kernel without nftables in a user namespace only loses it. */
	struct cordon_error *terr = NULL;
	uint16_t ports[LX_MAX_HOST_PORTS];
	size_t n = allowlist_localhost_ports(al, ports, ARRAY_LEN(ports));
	if ((fds[NP_TPROXY] = listen_on(SOCK_STREAM, 0, &terr)) < 0 || (fds[NP_DNS] = listen_on(SOCK_DGRAM, 53, &terr)) < 0)
		goto degrade;
	struct lx_transparent t = {.tcp_port = local_port(fds[NP_TPROXY]), .dns_port = 53, .host_ports = ports,
				   .n_host_ports = n < ARRAY_LEN(ports) ? n : ARRAY_LEN(ports)};
	if (lx_transparent_setup(&t, &terr) < 0)
		goto degrade;
	*transparent = true;
	return 0;
degrade:
	cordon_error_free(terr);
	for (int i = NP_TPROXY; i <= NP_DNS; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	return 0;
}

/* ---- in the supervisor */

static void *engine_main(void *arg)
{
	struct lx_netproxy *np = arg;
	proxy_run(np->engine);
	return NULL;
}

/* One `net` record per connection the proxy decided on (on the engine's thread: the sink is
 * thread-safe, one write() per record). */
static void on_conn(void *ctx, const struct proxy_conn_record *r)
{
	struct lx_netproxy *np = ctx;
	struct audit_sink *sink = np->sink;
	if (np->net_records++ >= MAX_NET_RECORDS)
		return;
	audit_sink_write(sink, audit_net(audit_sink_ctx(sink), r->start_ms, r->host, r->port,
					 r->address[0] ? r->address : NULL, r->allowed, r->bytes_out, r->bytes_in,
					 r->duration_ms));
}

int lx_netproxy_start(struct lx_netproxy *np, const int fds[NP_NFDS], struct audit_sink *sink,
		      struct cordon_error **err)
{
	np->sink = sink;
	for (int i = 0; i < NP_NFDS; i++)
		np->fds[i] = fds[i];
	/* A relayed connection holds six descriptors (two sockets, two pipes): raise cordon's own soft
	 * limit (the sandbox was cloned already and keeps its own), and never accept more than fit. */
	struct rlimit rl;
	size_t max_conns = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && (rl.rlim_cur - 64) / 6 < max_conns)
			max_conns = rl.rlim_cur > 64 + 6 ? (size_t)((rl.rlim_cur - 64) / 6) : 1;
	}
	struct proxy_opts o = {
		.max_conns = max_conns,
		.transparent_fds = &np->fds[NP_TPROXY],
		.n_transparent = np->fds[NP_TPROXY] >= 0,
		.has_dns = np->fds[NP_DNS] >= 0,
		.dns_fd = np->fds[NP_DNS],
		.on_conn = sink && audit_sink_logging(sink) ? on_conn : NULL,
		.on_conn_ctx = np,
	};
	np->engine = proxy_new(&np->al, &np->fds[NP_HTTP], 1, &np->fds[NP_SOCKS], 1, &o, err);
	if (!np->engine)
		return -1;
	int e = pthread_create(&np->thr, NULL, engine_main, np);
	if (e)
		return cerr_sys(err, e, "start the proxy thread");
	np->running = true;
	return 0;
}

void lx_netproxy_collect(struct lx_netproxy *np, struct audit_sink *sink)
{
	if (!np || !np->engine)
		return;
	static struct proxy_denial d[256];
	size_t n = proxy_denials(np->engine, d, ARRAY_LEN(d));
	for (size_t i = 0; i < n && i < ARRAY_LEN(d); i++)
		audit_sink_denial(sink, d[i].port ? AUDIT_DENY_CONNECT : AUDIT_DENY_DNS, d[i].host, d[i].port, d[i].reason,
				  d[i].count);
	if (np->net_records > MAX_NET_RECORDS)
		fprintf(stderr, "cordon: warning: %lu connections past the first %d have no net record in the audit log\n",
			np->net_records - MAX_NET_RECORDS, MAX_NET_RECORDS);
	size_t dropped = proxy_denials_dropped(np->engine) + (n > ARRAY_LEN(d) ? n - ARRAY_LEN(d) : 0);
	if (dropped)
		audit_sink_denial(sink, AUDIT_DENY_CONNECT, "(more destinations)", 0,
				  "past the proxy's first 256 distinct denials", dropped);
}

void lx_netproxy_stop(struct lx_netproxy *np)
{
	if (!np || !np->running)
		return;
	proxy_stop(np->engine);
	pthread_join(np->thr, NULL);
	np->running = false;
}

void lx_netproxy_free(struct lx_netproxy *np)
{
	if (!np)
		return;
	lx_netproxy_stop(np);
	proxy_free(np->engine);
	for (int i = 0; i < NP_NFDS; i++)
		if (np->fds[i] >= 0)
			close(np->fds[i]);
	allowlist_free(&np->al);
	free(np);
}
