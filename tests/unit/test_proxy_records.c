// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy engine's connection records (proxy_opts.on_conn), through the harness in proxy_harness.h:
 * one per connection that got a verdict, with exact byte counts each way, for CONNECT, a forwarded
 * request, SOCKS5, refusals, failed dials, the idle timeout and proxy_stop(); none for DNS questions.
 * Transparent mode runs in a user and network namespace of its own with cordon's nftables rules, so
 * that its connections carry SO_ORIGINAL_DST as in `cordon run`.
 */
#include "proxy_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/linux/nft.h"
#include "common/cleanup.h"
#include "common/error.h"

#define MAX_RECORDS 16

/* ---- what the callback saw */

struct records {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct proxy_conn_record r[MAX_RECORDS];
	pthread_t thr[MAX_RECORDS]; /* the thread that made each call */
	size_t n;		    /* calls, even past MAX_RECORDS */
};

static void on_conn(void *ctx, const struct proxy_conn_record *r)
{
	struct records *rs = ctx;
	pthread_mutex_lock(&rs->mu);
	if (rs->n < MAX_RECORDS) {
		rs->r[rs->n] = *r;
		rs->thr[rs->n] = pthread_self();
	}
	rs->n++;
	pthread_cond_broadcast(&rs->cv);
	pthread_mutex_unlock(&rs->mu);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to 5 s for at least n records; returns how many there are. */
static size_t wait_records(struct records *rs, size_t n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&rs->mu);
	while (rs->n < n && pthread_cond_timedwait(&rs->cv, &rs->mu, &until) == 0)
		;
	size_t got = rs->n;
	pthread_mutex_unlock(&rs->mu);
	return got;
}

/* Starts an engine whose records go to rs (emptied first); `base` as in env_start_with(). */
static void env_records(struct env *e, struct records *rs, const char *const *rules,
			const struct proxy_opts *base)
{
	struct proxy_opts o = base ? *base : (struct proxy_opts){0};
	pthread_mutex_init(&rs->mu, NULL);
	pthread_cond_init(&rs->cv, NULL);
	rs->n = 0;
	o.on_conn = on_conn;
	o.on_conn_ctx = rs;
	env_start_with(e, rules, &o);
}

/* Stops the engine, then checks that it made exactly `want` calls, all on its own thread. */
static void env_records_stop(struct env *e, struct records *rs, size_t want)
{
	pthread_t engine = e->thr;
	env_stop(e);
	assert_int_equal(rs->n, want);
	for (size_t i = 0; i < want && i < MAX_RECORDS; i++)
		assert_true(pthread_equal(rs->thr[i], engine));
	pthread_cond_destroy(&rs->cv);
	pthread_mutex_destroy(&rs->mu);
}

struct want {
	const char *host;
	uint16_t port;
	const char *address;
	bool allowed;
	const char *reason;
	uint64_t out, in;
};

/* Waits for record i and checks every field; t0 is the wall clock before its connection began. */
static void expect_record(struct records *rs, size_t i, int64_t t0, const struct want *w)
{
	if (wait_records(rs, i + 1) < i + 1)
		fail_msg("record %zu (%s:%u) never came; %zu so far", i, w->host, w->port, rs->n);
	int64_t t1 = wall_ms();
	const struct proxy_conn_record *r = &rs->r[i];
	if (strcmp(r->host, w->host) != 0 || r->port != w->port || strcmp(r->address, w->address) != 0 ||
	    r->allowed != w->allowed || strcmp(r->reason, w->reason) != 0 || r->bytes_out != w->out ||
	    r->bytes_in != w->in)
		fail_msg("record %zu: %s:%u `%s` %s `%s` out %llu in %llu; want %s:%u `%s` %s `%s` %llu %llu", i,
			 r->host, r->port, r->address, r->allowed ? "allowed" : "denied", r->reason,
			 (unsigned long long)r->bytes_out, (unsigned long long)r->bytes_in, w->host, w->port,
			 w->address, w->allowed ? "allowed" : "denied", w->reason, (unsigned long long)w->out,
			 (unsigned long long)w->in);
	/* Each clock is cut to whole ms on its own: a duration may pass the wall-clock span by one. */
	if (r->start_ms < t0 || r->start_ms > t1 || r->duration_ms < 0 || r->duration_ms > t1 - t0 + 1)
		fail_msg("record %zu: start %lld, duration %lld ms, outside [%lld, %lld]", i,
			 (long long)r->start_ms, (long long)r->duration_ms, (long long)t0, (long long)t1);
	if (!w->allowed)
		assert_int_equal(r->duration_ms, 0);
}

static void expect_allowed(struct records *rs, size_t i, int64_t t0, const char *host, uint16_t port,
			   const char *address, uint64_t out, uint64_t in)
{
	expect_record(rs, i, t0, &(struct want){host, port, address, true, "", out, in});
}

/* A refusal: nothing went either way in these tests. */
static void expect_denied(struct records *rs, size_t i, int64_t t0, const char *host, uint16_t port,
			  const char *address, const char *reason)
{
	expect_record(rs, i, t0, &(struct want){host, port, address, false, reason, 0, 0});
}

/* ---- client helpers */

/* Sends len bytes of a pattern through a tunnel to the echo server and reads them back. */
static void echo_exchange(int fd, size_t len)
{
	static uint8_t out[1 << 16], in[1 << 16];
	assert_true(len <= sizeof(out));
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	send_all(fd, out, len);
	size_t got = 0;
	for (ssize_t n; got < len && (n = recv(fd, in + got, len - got, 0)) > 0;)
		got += (size_t)n;
	assert_int_equal(got, len);
	assert_memory_equal(in, out, len);
}

/* Half-closes, and waits for the EOF that comes back once the engine has closed the upstream side. */
static void finish(int fd)
{
	char c;
	shutdown(fd, SHUT_WR);
	assert_int_equal(recv(fd, &c, 1, 0), 0);
	close(fd);
}

static int connect_tunnel(struct env *e, const char *host, uint16_t port)
{
	char target[300];
	int fd = -1;
	snprintf(target, sizeof(target), "%s:%u", host, port);
	assert_int_equal(http_connect(e, target, &fd, NULL, 0), 200);
	return fd;
}

/* ---- HTTP */

static void test_connect_records(void **state)
{
	(void)state;
	struct env e;
	struct records rs;
	static const char *const rules[] = {"allow:allowed.test:%u", "allow:*.evil.test:*", "deny:x.evil.test:*",
					    NULL};
	env_records(&e, &rs, rules, NULL);
	int64_t t0 = wall_ms();
	int fd = connect_tunnel(&e, "Allowed.Test", echo.port);
	echo_exchange(fd, 3000);
	echo_exchange(fd, 50000);
	finish(fd);
	expect_allowed(&rs, 0, t0, "allowed.test", echo.port, "127.0.0.1", 53000, 53000);
	t0 = wall_ms();
	EXPECT(&e, "other.test", echo.port, 403, "not in the allowlist");
	expect_denied(&rs, 1, t0, "other.test", echo.port, "", "not in the allowlist (--allow)");
	t0 = wall_ms();
	EXPECT(&e, "x.evil.test", 443, 403, "denied by");
	expect_denied(&rs, 2, t0, "x.evil.test", 443, "", "denied by --deny x.evil.test:*");
	/* The denials the summary prints say the same. */
	struct proxy_denial d[4];
	assert_int_equal(proxy_denials(e.p, d, 4), 2);
	assert_string_equal(d[1].reason, rs.r[2].reason);
	env_records_stop(&e, &rs, 3);
}

/* The request head the engine rewrote is what went upstream, and is what is counted. */
static void test_forwarded_record(void **state)
{
	(void)state;
	struct env e;
	struct records rs;
	struct origin o = {0};
	uint16_t port;
	char req[512], buf[2048];
	o.lfd = listen_loopback(&port);
	pthread_t t;
	pthread_create(&t, NULL, origin_main, &o);
	env_records(&e, &rs, (const char *const[]){"allow:allowed.test:*", NULL}, NULL);
	int64_t t0 = wall_ms();
	int fd = connect_loopback(e.http_port);
	snprintf(req, sizeof(req),
		 "GET http://allowed.test:%u/p HTTP/1.1\r\nHost: allowed.test:%u\r\n"
		 "Proxy-Connection: keep-alive\r\n\r\n",
		 port, port);
	send_all(fd, req, strlen(req));
	size_t got = recv_until(fd, buf, sizeof(buf), NULL);
	pthread_join(t, NULL);
	close(fd);
	assert_contains(buf, "\r\n\r\nok");
	assert_int_not_equal(strlen(o.head), strlen(req));
	expect_allowed(&rs, 0, t0, "allowed.test", port, "127.0.0.1", strlen(o.head), got);
	close(o.lfd);
	env_records_stop(&e, &rs, 1);
}

/* ---- SOCKS5 */

static void test_socks5_records(void **state)
{
	(void)state;
	struct env e;
	struct records rs;
	uint8_t rep[10], req[64];
	char early[8];
	env_records(&e, &rs, (const char *const[]){"allow:allowed.test:*", "deny:x.evil.test:*", NULL}, NULL);
	/* The request and the first payload bytes in one write: the engine holds those, then sends
	 * them upstream itself, and they count. */
	int64_t t0 = wall_ms();
	int fd = connect_loopback(e.socks_port);
	send_all(fd, "\x05\x01\x00", 3);
	assert_int_equal(recv(fd, rep, 2, MSG_WAITALL), 2);
	size_t n = 0;
	req[n++] = 5, req[n++] = 1, req[n++] = 0, req[n++] = 3, req[n++] = 12;
	memcpy(req + n, "allowed.test", 12), n += 12;
	req[n++] = (uint8_t)(echo.port >> 8), req[n++] = (uint8_t)echo.port;
	memcpy(req + n, "early!", 6), n += 6;
	send_all(fd, req, n);
	assert_int_equal(recv(fd, rep, 10, MSG_WAITALL), 10);
	assert_int_equal(rep[1], 0);
	assert_int_equal(recv(fd, early, 6, MSG_WAITALL), 6);
	assert_memory_equal(early, "early!", 6);
	echo_exchange(fd, 1234);
	finish(fd);
	expect_allowed(&rs, 0, t0, "allowed.test", echo.port, "127.0.0.1", 1240, 1240);
	t0 = wall_ms();
	assert_int_equal(socks_request(&e, 1, "x.evil.test", echo.port, &fd), 2);
	close(fd);
	expect_denied(&rs, 1, t0, "x.evil.test", echo.port, "", "denied by --deny x.evil.test:*");
	env_records_stop(&e, &rs, 2);
}

/* ---- dials that fail, and refusals after the allowlist passed */

static void test_failed_dial_records(void **state)
{
	(void)state;
	struct env e;
	struct records rs;
	uint16_t closed_port;
	close(listen_loopback(&closed_port)); /* nothing listens there now */
	static const char *const rules[] = {"allow:allowed.test:*", "allow:nx.test:*", "allow:slow.test:*", NULL};
	env_records(&e, &rs, rules, NULL);
	int64_t t0 = wall_ms();
	EXPECT(&e, "allowed.test", closed_port, 502, "cannot connect");
	expect_allowed(&rs, 0, t0, "allowed.test", closed_port, "127.0.0.1", 0, 0);
	t0 = wall_ms();
	EXPECT(&e, "nx.test", echo.port, 502, "cannot resolve");
	expect_allowed(&rs, 1, t0, "nx.test", echo.port, "", 0, 0);
	t0 = wall_ms();
	EXPECT(&e, "slow.test", echo.port, 504, "timed out");
	expect_allowed(&rs, 2, t0, "slow.test", echo.port, "", 0, 0);
	assert_true(rs.r[2].duration_ms >= 350); /* the 400 ms connect timeout, less a clock tick */
	env_records_stop(&e, &rs, 3);
}

static void test_refused_after_allowed(void **state)
{
	(void)state;
	struct env e;
	struct records rs;
	uint8_t hello[300], back[300];
	env_records(&e, &rs, (const char *const[]){"allow:*.wild.test:*", "allow:rebind.test:*", NULL}, NULL);
	/* A tunnel whose TLS hello names another host: one record, the refusal, after the dial. */
	int64_t t0 = wall_ms();
	int fd = connect_tunnel(&e, "www.wild.test", echo.port);
	size_t n = client_hello("other.wild.test", hello);
	send_all(fd, hello, n);
	assert_true(recv(fd, back, sizeof(back), 0) <= 0);
	close(fd);
	expect_denied(&rs, 0, t0, "www.wild.test", echo.port, "127.0.0.1",
		      "the connection's TLS hello or HTTP head names other.wild.test (no fronting)");
	/* A name that resolves to this host: refused after the allowlist passed, never dialled. */
	t0 = wall_ms();
	EXPECT(&e, "rebind.test", echo.port, 403, "local address");
	expect_denied(&rs, 1, t0, "rebind.test", echo.port, "",
		      "resolves to local address 127.0.0.1 (only --allow localhost:PORT reaches it)");
	env_records_stop(&e, &rs, 2);
}

/* ---- closed by the engine: the idle timeout, proxy_stop() */

static void test_idle_and_stop_records(void **state)
{
	(void)state;
	struct env e;
	struct records rs;
	struct proxy_opts o = {.idle_timeout_ms = 300};
	env_records(&e, &rs, (const char *const[]){"allow:allowed.test:*", NULL}, &o);
	int64_t t0 = wall_ms();
	int idle = connect_tunnel(&e, "allowed.test", echo.port);
	echo_exchange(idle, 5);
	expect_allowed(&rs, 0, t0, "allowed.test", echo.port, "127.0.0.1", 5, 5);
	assert_true(rs.r[0].duration_ms >= 250);
	close(idle);
	/* Still open when the engine stops: its record comes before proxy_run() returns. */
	int fd = connect_tunnel(&e, "allowed.test", echo.port);
	echo_exchange(fd, 7);
	assert_int_equal(wait_records(&rs, 1), 1);
	env_records_stop(&e, &rs, 2);
	assert_string_equal(rs.r[1].host, "allowed.test");
	assert_string_equal(rs.r[1].address, "127.0.0.1");
	assert_true(rs.r[1].allowed);
	assert_int_equal(rs.r[1].bytes_out, 7);
	assert_int_equal(rs.r[1].bytes_in, 7);
	close(fd);
}

/* ---- without a callback, and DNS */

static void test_no_callback(void **state)
{
	(void)state;
	struct env e;
	uint16_t closed_port;
	close(listen_loopback(&closed_port));
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	EXPECT(&e, "allowed.test", echo.port, 200, NULL);
	EXPECT(&e, "other.test", echo.port, 403, "not in the allowlist");
	EXPECT(&e, "allowed.test", closed_port, 502, "cannot connect");
	int fd = connect_tunnel(&e, "allowed.test", echo.port);
	env_stop(&e);
	close(fd);
}

static void test_dns_no_records(void **state)
{
	(void)state;
	int dns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(dns, (struct sockaddr *)&a, sizeof(a)), 0);
	struct env e;
	struct records rs;
	uint8_t r[512];
	env_dns_fd = dns;
	env_records(&e, &rs, (const char *const[]){"allow:allowed.test:*", NULL}, NULL);
	env_dns_fd = -1;
	dns_ask(dns, "allowed.test", 1, r, sizeof(r));
	assert_int_equal(r[6] << 8 | r[7], 1); /* answered */
	dns_ask(dns, "nope.test", 1, r, sizeof(r));
	assert_int_equal(r[3] & 0xf, 3); /* refused: a denial, not a connection */
	assert_int_equal(proxy_denials(e.p, NULL, 0), 1);
	/* A connection after them is the first record. */
	int64_t t0 = wall_ms();
	EXPECT(&e, "other.test", 80, 403, "not in the allowlist");
	expect_denied(&rs, 0, t0, "other.test", 80, "", "not in the allowlist (--allow)");
	env_records_stop(&e, &rs, 1);
	close(dns);
}

/* ---- transparent mode */

#define T_PORT 15001 /* the transparent listener, inside the namespace */
#define T_CLIENTS 4

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	return fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
}

/* Sends text and fds (if any) over sock: the child's whole report. */
__attribute__((format(printf, 4, 5))) static int report(int sock, const int *fds, size_t n, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	union {
		char buf[CMSG_SPACE(sizeof(int) * (T_CLIENTS + 1))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = text, .iov_len = strlen(text) + 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &m, 0) < 0 ? 1 : 0;
}

/*
 * In a child: as `cordon run` does, a new user and network namespace (only `lo`) with cordon's rules,
 * which send TCP for any non-loopback address to 127.0.0.1:T_PORT. Back over sock go a listener on
 * that port and T_CLIENTS unconnected sockets made there; the namespace lives on with them, and the
 * engine, in the parent's namespace, dials out of it as cordon's does.
 */
static int netns_child(int sock)
{
	char uid_map[32], gid_map[32];
	snprintf(uid_map, sizeof(uid_map), "0 %u 1", (unsigned)getuid());
	snprintf(gid_map, sizeof(gid_map), "0 %u 1", (unsigned)getgid());
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return report(sock, NULL, 0, "skip: unshare(CLONE_NEWUSER | CLONE_NEWNET): %s", strerror(errno));
	if (write_file("/proc/self/setgroups", "deny") < 0 || write_file("/proc/self/uid_map", uid_map) < 0 ||
	    write_file("/proc/self/gid_map", gid_map) < 0)
		return report(sock, NULL, 0, "map the user and group: %s", strerror(errno));
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_RUNNING};
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return report(sock, NULL, 0, "bring lo up: %s", strerror(errno));
	struct lx_transparent t = {.tcp_port = T_PORT, .dns_port = T_PORT + 1};
	struct cordon_error *err = NULL;
	if (lx_transparent_setup(&t, &err) < 0)
		return report(sock, NULL, 0, "lx_transparent_setup: %s", err ? err->message : "?");
	int fds[T_CLIENTS + 1];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(T_PORT),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || bind(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fds[0], 16) < 0)
		return report(sock, NULL, 0, "listen on 127.0.0.1:%d: %s", T_PORT, strerror(errno));
	for (int i = 1; i <= T_CLIENTS; i++)
		if ((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return report(sock, NULL, 0, "socket: %s", strerror(errno));
	return report(sock, fds, T_CLIENTS + 1, "ok");
}

/* fds[0] is the listener, the rest clients; false (and the test skipped) without user namespaces. */
static bool netns_sockets(int fds[T_CLIENTS + 1])
{
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sp[0]);
		alarm(30);
		_exit(netns_child(sp[1]));
	}
	close(sp[1]);
	char text[512] = "";
	union {
		char buf[CMSG_SPACE(sizeof(int) * (T_CLIENTS + 1))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = text, .iov_len = sizeof(text) - 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	ssize_t n = recvmsg(sp[0], &m, MSG_CMSG_CLOEXEC);
	close(sp[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (n <= 0)
		fail_msg("the namespace child sent nothing (status %#x)", status);
	if (strncmp(text, "skip: ", 6) == 0) {
		printf("# transparent mode skipped: %s\n", text + 6);
		return false;
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (strcmp(text, "ok") != 0 || !c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * (T_CLIENTS + 1)))
		fail_msg("the namespace child: %s", text);
	memcpy(fds, CMSG_DATA(c), sizeof(int) * (T_CLIENTS + 1));
	return true;
}

/* Connects a client made in the namespace to 192.0.2.1:port; the rules send it to the listener. */
static int tconnect(int fd, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(0xc0000201u)}; /* 192.0.2.1 */
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void test_transparent_records(void **state)
{
	(void)state;
	int fds[T_CLIENTS + 1];
	if (!netns_sockets(fds))
		skip();
	struct env e;
	struct records rs;
	struct proxy_opts o = {.transparent_fds = &fds[0], .n_transparent = 1};
	uint8_t hello[300], back[300];
	char buf[512];
	env_records(&e, &rs, (const char *const[]){"allow:allowed.test:%u", NULL}, &o);
	/* Named by its TLS hello: the bytes read to find the name go upstream, and are counted. */
	int64_t t0 = wall_ms();
	int fd = tconnect(fds[1], echo.port);
	size_t n = client_hello("allowed.test", hello);
	send_all(fd, hello, n);
	assert_int_equal(recv(fd, back, n, MSG_WAITALL), (ssize_t)n);
	echo_exchange(fd, 100);
	finish(fd);
	expect_allowed(&rs, 0, t0, "allowed.test", echo.port, "127.0.0.1", n + 100, n + 100);
	/* Named by an HTTP Host: the head is rewritten (Keep-Alive out, Connection: close in), and the
	 * rewritten one is what went upstream and came back from the echo server. */
	t0 = wall_ms();
	static const char head[] = "GET / HTTP/1.1\r\nHost: allowed.test\r\nKeep-Alive: 1\r\n\r\n";
	fd = tconnect(fds[2], echo.port);
	send_all(fd, head, sizeof(head) - 1);
	size_t got = recv_until(fd, buf, sizeof(buf), "\r\n\r\n");
	assert_contains(buf, "\r\nConnection: close\r\n");
	assert_int_not_equal(got, sizeof(head) - 1);
	finish(fd);
	expect_allowed(&rs, 1, t0, "allowed.test", echo.port, "127.0.0.1", got, got);
	/* A name nobody allowed: reset, recorded under that name. */
	t0 = wall_ms();
	fd = tconnect(fds[3], echo.port);
	n = client_hello("nope.test", hello);
	send_all(fd, hello, n);
	assert_true(recv(fd, back, sizeof(back), 0) <= 0);
	close(fd);
	expect_denied(&rs, 2, t0, "nope.test", echo.port, "", "not in the allowlist (--allow)");
	env_records_stop(&e, &rs, 3);
	/* An address an IP rule allows: dialled as it is, recorded under the address. */
	env_records(&e, &rs, (const char *const[]){"allow:192.0.2.1:%u", NULL}, &o);
	t0 = wall_ms();
	fd = tconnect(fds[4], echo.port);
	echo_exchange(fd, 4096);
	finish(fd);
	expect_allowed(&rs, 0, t0, "192.0.2.1", echo.port, "127.0.0.1", 4096, 4096);
	env_records_stop(&e, &rs, 1);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_records),
		cmocka_unit_test(test_forwarded_record),
		cmocka_unit_test(test_socks5_records),
		cmocka_unit_test(test_failed_dial_records),
		cmocka_unit_test(test_refused_after_allowed),
		cmocka_unit_test(test_idle_and_stop_records),
		cmocka_unit_test(test_no_callback),
		cmocka_unit_test(test_dns_no_records),
		cmocka_unit_test(test_transparent_records),
	};
	return cmocka_run_group_tests(tests, harness_setup, harness_teardown);
}
