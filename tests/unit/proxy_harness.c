// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy engine's test harness (see proxy_harness.h): loopback sockets, the echo server, an engine
 * in a thread with an injected resolver and dial hook, and clients for HTTP, SOCKS5 and TLS.
 */
#include "proxy_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

#define TEST_NET 0xc0000201u /* 192.0.2.1 */

/* ---- sockets */

int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 512), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

int connect_loopback(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 5};
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

size_t recv_until(int fd, char *buf, size_t cap, const char *needle)
{
	size_t len = 0;
	buf[0] = '\0';
	while (len + 1 < cap && !(needle && strstr(buf, needle))) {
		ssize_t n = recv(fd, buf + len, needle ? 1 : cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return len;
}

/* ---- the echo server: one thread, epoll, a shared buffer (so that it adds little to VmRSS) */

struct echo_server echo;

static void echo_conn(int epfd, int fd)
{
	static char buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		shutdown(fd, SHUT_WR); /* half-close back, after everything was echoed */
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		return;
	}
	/* Blocking writes: the test's clients read concurrently, so they cannot deadlock. */
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += w;
	}
	fcntl(fd, F_SETFL, fl);
}

static void *echo_main(void *arg)
{
	(void)arg;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = echo.lfd};
	epoll_ctl(epfd, EPOLL_CTL_ADD, echo.lfd, &ev);
	ev.data.fd = echo.stopfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, echo.stopfd, &ev);
	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(epfd, evs, 32, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == echo.stopfd) {
				close(epfd);
				return NULL;
			}
			if (fd != echo.lfd) {
				echo_conn(epfd, fd);
				continue;
			}
			int c = accept4(echo.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
			if (c >= 0)
				epoll_ctl(epfd, EPOLL_CTL_ADD, c, &cev);
		}
	}
}

/* ---- the engine under test */

static atomic_int bad_dials; /* addresses the engine dialled that were not loopback: must stay 0 */
int env_dns_fd = -1;

static int test_resolve(void *ctx, const char *host, uint16_t port, struct proxy_addr *out, size_t max)
{
	(void)ctx;
	(void)max;
	static const char *const testnet[] = {"allowed.test", "www.wild.test", "a.b.wild.test", "wild.test",
					      "x.evil.test", "y.evil.test", "portonly.test", "slow.test"};
	struct sockaddr_in *s = (struct sockaddr_in *)&out->ss;
	memset(out, 0, sizeof(*out));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	out->len = sizeof(*s);
	if (strcmp(host, "rebind.test") == 0) {
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return 1;
	}
	if (strcmp(host, "slow.test") == 0)
		usleep(800 * 1000);
	for (size_t i = 0; i < ARRAY_LEN(testnet); i++) {
		if (strcmp(host, testnet[i]) == 0) {
			s->sin_addr.s_addr = htonl(TEST_NET);
			return 1;
		}
	}
	return 0;
}

static void test_rewrite(void *ctx, struct proxy_addr *a)
{
	(void)ctx;
	struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
	if (a->ss.ss_family == AF_INET && s->sin_addr.s_addr == htonl(TEST_NET))
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = a->ss.ss_family == AF_INET ? s->sin_addr.s_addr == htonl(INADDR_LOOPBACK)
					     : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&a->ss)->sin6_addr);
	if (!ok) {
		bad_dials++;
		/* Never leave the host: send it to the discard-nothing port 0, which fails. */
		memset(a, 0, sizeof(*a));
	}
}

static void *engine_main(void *arg)
{
	struct env *e = arg;
	e->run_rc = proxy_run(e->p);
	return NULL;
}

void env_start_with(struct env *e, const char *const *rules, const struct proxy_opts *base)
{
	memset(e, 0, sizeof(*e));
	for (; rules && *rules; rules++) {
		char text[256];
		struct cordon_error *err = NULL;
		bool deny = strncmp(*rules, "deny:", 5) == 0;
		const char *r = strchr(*rules, ':') + 1, *pct = strstr(r, "%u");
		if (pct)
			snprintf(text, sizeof(text), "%.*s%u%s", (int)(pct - r), r, echo.port, pct + 2);
		else
			snprintf(text, sizeof(text), "%s", r);
		if (allowlist_add(&e->al, deny ? AL_DENY : AL_ALLOW, text, &err) < 0)
			fail_msg("rule `%s`: %s", text, err->message);
	}
	e->http_fd = listen_loopback(&e->http_port);
	e->socks_fd = listen_loopback(&e->socks_port);
	struct proxy_opts o = base ? *base : (struct proxy_opts){0};
	o.head_timeout_ms = o.head_timeout_ms ? o.head_timeout_ms : 400;
	o.connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : 400;
	o.resolve = test_resolve;
	o.test_dial_rewrite = test_rewrite;
	if (env_dns_fd >= 0) {
		o.has_dns = true;
		o.dns_fd = env_dns_fd;
	}
	struct cordon_error *err = NULL;
	e->p = proxy_new(&e->al, &e->http_fd, 1, &e->socks_fd, 1, &o, &err);
	if (!e->p)
		fail_msg("proxy_new: %s", err->message);
	assert_int_equal(pthread_create(&e->thr, NULL, engine_main, e), 0);
}

void env_start(struct env *e, const char *const *rules)
{
	env_start_with(e, rules, NULL);
}

void env_stop(struct env *e)
{
	proxy_stop(e->p);
	pthread_join(e->thr, NULL);
	assert_int_equal(e->run_rc, 0);
	proxy_free(e->p);
	close(e->http_fd);
	close(e->socks_fd);
	allowlist_free(&e->al);
	assert_int_equal(bad_dials, 0);
}

/* ---- HTTP helpers */

int http_connect(struct env *e, const char *target, int *fd, char *body, size_t cap)
{
	char req[512], buf[2048];
	*fd = connect_loopback(e->http_port);
	snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	send_all(*fd, req, strlen(req));
	recv_until(*fd, buf, sizeof(buf), "\r\n\r\n");
	int status = 0;
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	if (status != 200)
		recv_until(*fd, buf, sizeof(buf), NULL);
	if (body)
		snprintf(body, cap, "%s", buf);
	return status;
}

int try_connect(struct env *e, const char *host, unsigned port, char *body, size_t cap)
{
	char target[300], buf[64];
	int fd = -1;
	snprintf(target, sizeof(target), "%s:%u", host, port);
	int status = http_connect(e, target, &fd, body, cap);
	if (status == 200) {
		send_all(fd, "ping\n", 5);
		recv_until(fd, buf, sizeof(buf), "\n");
		assert_string_equal(buf, "ping\n");
	}
	close(fd);
	return status;
}


/* ---- an HTTP origin and SOCKS5 */

void *origin_main(void *arg)
{
	struct origin *o = arg;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	int fd = accept4(o->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	recv_until(fd, o->head, sizeof(o->head), "\r\n\r\n");
	send_all(fd, resp, sizeof(resp) - 1);
	close(fd);
	return NULL;
}

int socks_request(struct env *e, uint8_t cmd, const char *host, uint16_t port, int *fd)
{
	uint8_t req[300], rep[32];
	size_t hl = strlen(host), n = 0;
	*fd = connect_loopback(e->socks_port);
	send_all(*fd, "\x05\x01\x00", 3);
	if (recv(*fd, rep, 2, MSG_WAITALL) != 2 || rep[0] != 5 || rep[1] != 0)
		return -1;
	req[n++] = 5, req[n++] = cmd, req[n++] = 0, req[n++] = 3, req[n++] = (uint8_t)hl;
	memcpy(req + n, host, hl);
	n += hl;
	req[n++] = (uint8_t)(port >> 8), req[n++] = (uint8_t)port;
	send_all(*fd, req, n);
	if (recv(*fd, rep, 10, MSG_WAITALL) != 10 || rep[0] != 5) /* IPv4 bound address: 10 bytes */
		return -1;
	return rep[1];
}

/* ---- TLS */

size_t client_hello(const char *sni, uint8_t *out)
{
	size_t sl = strlen(sni), ext = 9 + sl, body = 2 + 32 + 1 + 4 + 2 + 2 + ext;
	uint8_t *p = out;
	*p++ = 0x16, *p++ = 3, *p++ = 1, *p++ = (uint8_t)((body + 4) >> 8), *p++ = (uint8_t)(body + 4);
	*p++ = 1, *p++ = 0, *p++ = (uint8_t)(body >> 8), *p++ = (uint8_t)body;
	*p++ = 3, *p++ = 3;
	memset(p, 0x42, 32), p += 32;
	*p++ = 0;				    /* session id */
	*p++ = 0, *p++ = 2, *p++ = 0x13, *p++ = 0x01; /* one cipher suite */
	*p++ = 1, *p++ = 0;			    /* null compression */
	*p++ = (uint8_t)(ext >> 8), *p++ = (uint8_t)ext;
	*p++ = 0, *p++ = 0, *p++ = (uint8_t)((sl + 5) >> 8), *p++ = (uint8_t)(sl + 5); /* server_name */
	*p++ = (uint8_t)((sl + 3) >> 8), *p++ = (uint8_t)(sl + 3), *p++ = 0;
	*p++ = (uint8_t)(sl >> 8), *p++ = (uint8_t)sl;
	memcpy(p, sni, sl), p += sl;
	return (size_t)(p - out);
}

/* ---- DNS */

size_t dns_ask(int dns_fd, const char *name, uint16_t qtype, uint8_t *resp, size_t cap)
{
	uint8_t q[300] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t n = 12;
	for (const char *l = name; *l;) {
		const char *dot = strchr(l, '.');
		size_t len = dot ? (size_t)(dot - l) : strlen(l);
		q[n++] = (uint8_t)len;
		memcpy(q + n, l, len);
		n += len;
		l += len + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(qtype >> 8), q[n++] = (uint8_t)qtype, q[n++] = 0, q[n++] = 1;
	struct sockaddr_in to;
	socklen_t len = sizeof(to);
	assert_int_equal(getsockname(dns_fd, (struct sockaddr *)&to, &len), 0);
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(sendto(c, q, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
	ssize_t r = recv(c, resp, cap, 0);
	close(c);
	if (r < 12)
		fail_msg("no DNS answer for %s (%zd)", name, r);
	assert_int_equal(resp[0], 0x12); /* the ID comes back */
	return (size_t)r;
}

/* ---- the group */

int harness_setup(void **state)
{
	(void)state;
	struct rlimit rl;
	signal(SIGPIPE, SIG_IGN);
	/* 200 tunnels hold about 1,600 fds in this one process (both ends, two pipes each). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	echo.lfd = listen_loopback(&echo.port);
	fcntl(echo.lfd, F_SETFL, O_NONBLOCK);
	echo.stopfd = eventfd(0, EFD_CLOEXEC);
	return pthread_create(&echo.thr, NULL, echo_main, NULL);
}

int harness_teardown(void **state)
{
	(void)state;
	uint64_t one = 1;
	if (write(echo.stopfd, &one, sizeof(one)) != sizeof(one))
		return -1;
	pthread_join(echo.thr, NULL);
	close(echo.lfd);
	close(echo.stopfd);
	return 0;
}
