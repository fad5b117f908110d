// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy engine end to end, on loopback only, through the harness in proxy_harness.h: the
 * allowlist's verdicts, the relay, forwarding, SOCKS5, scale and memory, the denial summary, tunnel
 * fronting and transparent mode's DNS resolver.
 */
#include "proxy_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- rules */

static void test_allowed_name(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, (const char *const[]){"allow:allowed.test:%u", NULL});
	EXPECT(&e, "allowed.test", echo.port, 200, NULL);
	EXPECT(&e, "ALLOWED.test", echo.port, 200, NULL);
	EXPECT(&e, "allowed.test", 1, 403, "not in the allowlist (--allow)"); /* port not allowed */
	EXPECT(&e, "other.test", echo.port, 403, "other.test port");
	env_stop(&e);
}

static void test_wildcard(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, (const char *const[]){"allow:*.wild.test:*", NULL});
	EXPECT(&e, "www.wild.test", echo.port, 200, NULL);
	EXPECT(&e, "a.b.wild.test", echo.port, 200, NULL);
	EXPECT(&e, "wild.test", echo.port, 403, "not in the allowlist"); /* the apex is not matched */
	env_stop(&e);
}

static void test_ip_literal(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	EXPECT(&e, "192.0.2.1", echo.port, 403, "not in the allowlist");
	EXPECT(&e, "127.0.0.1", echo.port, 403, "not in the allowlist");
	EXPECT(&e, "[::1]", echo.port, 403, "not in the allowlist");
	env_stop(&e);
	/* An IP rule covering loopback still does not reach it without localhost:PORT. */
	env_start(&e, (const char *const[]){"allow:0.0.0.0/0:*", NULL});
	EXPECT(&e, "127.0.0.1", echo.port, 403, "local address");
	env_stop(&e);
}

static void test_deny_wins(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, (const char *const[]){"allow:*.evil.test:*", "deny:x.evil.test:*", NULL});
	EXPECT(&e, "x.evil.test", echo.port, 403, "denied by --deny x.evil.test:*");
	EXPECT(&e, "y.evil.test", echo.port, 200, NULL);
	env_stop(&e);
}

static void test_empty_allowlist(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, NULL);
	EXPECT(&e, "allowed.test", echo.port, 403, "not in the allowlist");
	EXPECT(&e, "localhost", echo.port, 403, "not in the allowlist");
	env_stop(&e);
}

static void test_localhost(void **state)
{
	(void)state;
	struct env e;
	uint16_t other_port;
	int other = listen_loopback(&other_port);
	env_start(&e, (const char *const[]){"allow:localhost:%u", NULL});
	EXPECT(&e, "localhost", echo.port, 200, NULL);
	EXPECT(&e, "127.0.0.1", echo.port, 200, NULL);
	EXPECT(&e, "localhost", other_port, 403, "not in the allowlist");
	EXPECT(&e, "127.0.0.1", other_port, 403, "not in the allowlist");
	env_stop(&e);
	close(other);
}

static void test_rebinding(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, (const char *const[]){"allow:rebind.test:*", "allow:localhost:%u", NULL});
	EXPECT(&e, "rebind.test", echo.port, 403, "resolves to local address 127.0.0.1");
	env_stop(&e);
}

static void test_unreachable_and_timeout(void **state)
{
	(void)state;
	struct env e;
	uint16_t closed_port;
	close(listen_loopback(&closed_port)); /* nothing listens there now */
	env_start(&e, (const char *const[]){"allow:allowed.test:*", "allow:slow.test:*", "allow:nx.test:*", NULL});
	EXPECT(&e, "allowed.test", closed_port, 502, "cannot connect to allowed.test");
	EXPECT(&e, "nx.test", echo.port, 502, "cannot resolve nx.test");
	EXPECT(&e, "slow.test", echo.port, 504, "timed out connecting");
	env_stop(&e);
}

/* ---- relay */

#define BIG (1024 * 1024)

struct writer {
	int fd;
	const uint8_t *data;
	size_t len;
	int err; /* errno of a failed send: cmocka's asserts belong to the main thread */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	for (size_t off = 0; off < w->len;) {
		ssize_t n = send(w->fd, w->data + off, w->len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			w->err = n < 0 ? errno : EPIPE;
			return NULL;
		}
		off += (size_t)n;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

static void test_relay_1mb(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	char target[64];
	int fd = -1;
	snprintf(target, sizeof(target), "allowed.test:%u", echo.port);
	assert_int_equal(http_connect(&e, target, &fd, NULL, 0), 200);
	uint8_t *out = malloc(BIG), *in = malloc(BIG + 1);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < BIG; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		out[i] = (uint8_t)x;
	}
	/* One thread writes and then half-closes; this one reads everything echoed back, then EOF. */
	struct writer w = {fd, out, BIG, 0};
	pthread_t t;
	pthread_create(&t, NULL, writer_main, &w);
	size_t got = 0;
	ssize_t n;
	while ((n = recv(fd, in + got, BIG + 1 - got, 0)) > 0)
		got += (size_t)n;
	int rerr = n < 0 ? errno : 0;
	pthread_join(t, NULL);
	if (w.err || n != 0)
		fail_msg("writer: %s; reader: n=%zd %s after %zu bytes", strerror(w.err), n, strerror(rerr), got);
	assert_int_equal(got, BIG);
	assert_memory_equal(in, out, BIG);
	free(out);
	free(in);
	close(fd);
	env_stop(&e);
}

static void test_half_close(void **state)
{
	(void)state;
	struct env e;
	char buf[64];
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	char target[64];
	int fd = -1;
	snprintf(target, sizeof(target), "allowed.test:%u", echo.port);
	assert_int_equal(http_connect(&e, target, &fd, NULL, 0), 200);
	send_all(fd, "last words", 10);
	shutdown(fd, SHUT_WR);
	/* The upstream still answers after our EOF, then its own EOF comes through. */
	assert_int_equal(recv_until(fd, buf, sizeof(buf), NULL), 10);
	assert_string_equal(buf, "last words");
	close(fd);
	env_stop(&e);
}

static void test_get_forwarding(void **state)
{
	(void)state;
	struct env e;
	struct origin o = {0};
	uint16_t port;
	char req[512], buf[2048], want[128];
	o.lfd = listen_loopback(&port);
	pthread_t t;
	pthread_create(&t, NULL, origin_main, &o);
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	int fd = connect_loopback(e.http_port);
	snprintf(req, sizeof(req),
		 "GET http://allowed.test:%u/path?q=1 HTTP/1.1\r\nHost: allowed.test:%u\r\n"
		 "Proxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n",
		 port, port);
	send_all(fd, req, strlen(req));
	recv_until(fd, buf, sizeof(buf), NULL);
	pthread_join(t, NULL);
	assert_contains(buf, "HTTP/1.1 200 OK");
	assert_contains(buf, "\r\n\r\nok");
	assert_true(strncmp(o.head, "GET /path?q=1 HTTP/1.1\r\n", 24) == 0);
	snprintf(want, sizeof(want), "\r\nHost: allowed.test:%u\r\n", port);
	assert_contains(o.head, want);
	assert_contains(o.head, "\r\nAccept: */*\r\n");
	assert_contains(o.head, "\r\nConnection: close\r\n\r\n");
	assert_null(strstr(o.head, "Proxy-Connection"));
	close(fd);
	close(o.lfd);
	env_stop(&e);
}

static void test_slow_client(void **state)
{
	(void)state;
	struct env e;
	char buf[1024];
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	int fd = connect_loopback(e.http_port);
	send_all(fd, "CONNECT allowed.te", 18); /* and nothing more */
	recv_until(fd, buf, sizeof(buf), NULL);
	assert_contains(buf, "HTTP/1.1 408 ");
	close(fd);
	env_stop(&e);
}

static void test_oversize_head(void **state)
{
	(void)state;
	struct env e;
	char buf[1024], line[400];
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	int fd = connect_loopback(e.http_port);
	static const char start[] = "GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n";
	send_all(fd, start, sizeof(start) - 1);
	memset(line, 'a', sizeof(line));
	memcpy(line, "X-Pad: ", 7);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	for (int i = 0; i < 90; i++) /* 36 KB, past the 32 KiB cap, under 100 header lines */
		send_all(fd, line, sizeof(line));
	recv_until(fd, buf, sizeof(buf), NULL);
	assert_contains(buf, "HTTP/1.1 431 ");
	close(fd);
	env_stop(&e);
}

/* ---- SOCKS5 */

static void test_socks5(void **state)
{
	(void)state;
	struct env e;
	char buf[64];
	uint8_t rep[2];
	int fd = -1;
	env_start(&e, (const char *const[]){"allow:allowed.test:*", "deny:x.evil.test:*", NULL});
	assert_int_equal(socks_request(&e, 1, "allowed.test", echo.port, &fd), 0);
	send_all(fd, "hello\n", 6);
	recv_until(fd, buf, sizeof(buf), "\n");
	assert_string_equal(buf, "hello\n");
	close(fd);
	assert_int_equal(socks_request(&e, 1, "x.evil.test", echo.port, &fd), 2);	 /* not allowed */
	close(fd);
	assert_int_equal(socks_request(&e, 1, "other.test", echo.port, &fd), 2);
	close(fd);
	assert_int_equal(socks_request(&e, 2, "allowed.test", echo.port, &fd), 7); /* BIND */
	close(fd);
	/* A client that offers only username/password gets "no acceptable methods". */
	fd = connect_loopback(e.socks_port);
	send_all(fd, "\x05\x01\x02", 3);
	assert_int_equal(recv(fd, rep, 2, MSG_WAITALL), 2);
	assert_int_equal(rep[1], 0xff);
	close(fd);
	env_stop(&e);
}

/* ---- scale and memory */

static long status_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

#define NCONN 200

/* ASan's shadow memory and quarantine dwarf the engine: the limit is checked in plain builds only. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void test_200_connections(void **state)
{
	(void)state;
	struct env e;
	static int fds[NCONN];
	char target[64], buf[64];
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	snprintf(target, sizeof(target), "allowed.test:%u", echo.port);
	/* Warm up once, so that the baseline includes the engine's one-time allocations. */
	assert_int_equal(try_connect(&e, "allowed.test", echo.port, NULL, 0), 200);
	long base = status_kib("VmRSS:");
	for (int i = 0; i < NCONN; i++)
		assert_int_equal(http_connect(&e, target, &fds[i], NULL, 0), 200);
	for (int i = 0; i < NCONN; i++)
		send_all(fds[i], "0123456789abcdef\n", 17);
	for (int i = 0; i < NCONN; i++) {
		recv_until(fds[i], buf, sizeof(buf), "\n");
		assert_string_equal(buf, "0123456789abcdef\n");
	}
	long rss = status_kib("VmRSS:"), hwm = status_kib("VmHWM:");
	printf("# %d open tunnels: VmRSS %ld KiB (%+ld KiB over the baseline), VmHWM %ld KiB\n", NCONN, rss,
	       rss - base, hwm);
	if (!UNDER_ASAN)
		assert_true(rss < 10 * 1024); /* the whole test process, engine included */
	for (int i = 0; i < NCONN; i++)
		close(fds[i]);
	env_stop(&e);
}

/* ---- the summary cordon prints */

static void test_denials(void **state)
{
	(void)state;
	struct env e;
	int fd = -1;
	env_start(&e, (const char *const[]){"allow:*.evil.test:*", "deny:x.evil.test:*", "allow:rebind.test:*", NULL});
	EXPECT(&e, "x.evil.test", echo.port, 403, "denied");
	EXPECT(&e, "x.evil.test", echo.port, 403, "denied");
	EXPECT(&e, "nope.test", 443, 403, "not in the allowlist");
	EXPECT(&e, "rebind.test", 443, 403, "local address");
	assert_int_equal(socks_request(&e, 1, "x.evil.test", echo.port, &fd), 2);
	close(fd);
	EXPECT(&e, "y.evil.test", echo.port, 200, NULL);
	struct proxy_denial d[8];
	assert_int_equal(proxy_denials(e.p, d, 8), 3);
	assert_string_equal(d[0].host, "x.evil.test");
	assert_int_equal(d[0].port, echo.port);
	assert_string_equal(d[0].reason, "denied by --deny x.evil.test:*");
	assert_int_equal(d[0].count, 3);
	assert_string_equal(d[1].host, "nope.test");
	assert_int_equal(d[1].port, 443);
	assert_string_equal(d[1].reason, "not in the allowlist (--allow)");
	assert_int_equal(d[1].count, 1);
	assert_string_equal(d[2].host, "rebind.test");
	assert_contains(d[2].reason, "resolves to local address 127.0.0.1");
	env_stop(&e);
}

/* ---- TLS inside a tunnel must name the tunnel's host */

static void test_tunnel_sni(void **state)
{
	(void)state;
	struct env e;
	uint8_t hello[300], back[300];
	char target[64];
	int fd = -1;
	env_start(&e, (const char *const[]){"allow:allowed.test:*", "allow:*.wild.test:*", NULL});
	snprintf(target, sizeof(target), "allowed.test:%u", echo.port);
	/* The hello names the tunnel's host: it reaches the server (the echo comes back). */
	assert_int_equal(http_connect(&e, target, &fd, NULL, 0), 200);
	size_t n = client_hello("Allowed.Test", hello);
	send_all(fd, hello, n);
	size_t got = 0;
	ssize_t r;
	while (got < n && (r = recv(fd, back + got, n - got, 0)) > 0)
		got += (size_t)r;
	assert_int_equal(got, n);
	assert_memory_equal(back, hello, n);
	close(fd);
	/* Another name, even an allowed one: closed before a byte goes upstream. */
	snprintf(target, sizeof(target), "www.wild.test:%u", echo.port);
	assert_int_equal(http_connect(&e, target, &fd, NULL, 0), 200);
	n = client_hello("other.wild.test", hello);
	send_all(fd, hello, n);
	r = recv(fd, back, sizeof(back), 0);
	assert_true(r <= 0);
	close(fd);
	/* The same through SOCKS5. */
	assert_int_equal(socks_request(&e, 1, "allowed.test", echo.port, &fd), 0);
	n = client_hello("evil.test", hello);
	send_all(fd, hello, n);
	r = recv(fd, back, sizeof(back), 0);
	assert_true(r <= 0);
	close(fd);
	struct proxy_denial d[4];
	assert_int_equal(proxy_denials(e.p, d, 4), 2);
	assert_string_equal(d[0].host, "www.wild.test");
	assert_contains(d[0].reason, "names other.wild.test");
	assert_string_equal(d[1].host, "allowed.test");
	assert_contains(d[1].reason, "names evil.test");
	env_stop(&e);
}

/* A hello sent along with the CONNECT request, before the 200, is checked at once: the client now
 * waits for the server and sends nothing more that would wake the check. */
static void test_tunnel_early_hello(void **state)
{
	(void)state;
	struct env e;
	uint8_t req[400], back[300];
	char reply[256];
	env_start(&e, (const char *const[]){"allow:allowed.test:*", NULL});
	int fd = connect_loopback(e.http_port);
	size_t head = (size_t)snprintf((char *)req, sizeof(req), "CONNECT allowed.test:%u HTTP/1.1\r\n\r\n", echo.port);
	size_t n = client_hello("allowed.test", req + head);
	send_all(fd, req, head + n);
	recv_until(fd, reply, sizeof(reply), "\r\n\r\n");
	assert_contains(reply, "HTTP/1.1 200 ");
	assert_int_equal(recv(fd, back, n, MSG_WAITALL), (ssize_t)n);
	assert_memory_equal(back, req + head, n);
	close(fd);
	env_stop(&e);
}

/* ---- the DNS resolver of transparent mode */

static void test_dns(void **state)
{
	(void)state;
	int dns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(dns, (struct sockaddr *)&a, sizeof(a)), 0);
	env_dns_fd = dns;
	struct env e;
	env_start(&e, (const char *const[]){"allow:allowed.test:443", "allow:*.wild.test", "allow:rebind.test",
					    "allow:x.evil.test", "deny:x.evil.test:*", NULL});
	env_dns_fd = -1;
	uint8_t r[512];
	size_t n = dns_ask(dns, "Allowed.Test", 1, r, sizeof(r));
	assert_int_equal(r[3] & 0xf, 0);		 /* NOERROR */
	assert_int_equal(r[6] << 8 | r[7], 1);		 /* one answer */
	assert_memory_equal(r + n - 4, "\xc0\x00\x02\x01", 4); /* 192.0.2.1, what the resolver said */
	n = dns_ask(dns, "a.b.wild.test", 1, r, sizeof(r));
	assert_int_equal(r[6] << 8 | r[7], 1);
	dns_ask(dns, "wild.test", 1, r, sizeof(r)); /* the apex is not listed */
	assert_int_equal(r[3] & 0xf, 3);
	dns_ask(dns, "nope.test", 1, r, sizeof(r));
	assert_int_equal(r[3] & 0xf, 3); /* NXDOMAIN */
	dns_ask(dns, "x.evil.test", 1, r, sizeof(r));
	assert_int_equal(r[3] & 0xf, 3); /* denied on every port */
	dns_ask(dns, "allowed.test", 28, r, sizeof(r));
	assert_int_equal(r[3] & 0xf, 0); /* AAAA: the name exists, no IPv6 answer */
	assert_int_equal(r[6] << 8 | r[7], 0);
	dns_ask(dns, "rebind.test", 1, r, sizeof(r));
	assert_int_equal(r[6] << 8 | r[7], 0); /* 127.0.0.1 outside is not the sandbox's loopback */
	struct proxy_denial d[8];
	size_t nd = proxy_denials(e.p, d, 8);
	assert_int_equal(nd, 3);
	assert_string_equal(d[0].host, "wild.test");
	assert_int_equal(d[0].port, 0);
	assert_string_equal(d[1].host, "nope.test");
	assert_string_equal(d[2].host, "x.evil.test");
	assert_int_equal(proxy_denials_dropped(e.p), 0);
	/* The sandbox chooses the names: past 256 distinct denials they are counted, not kept. */
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%d.test", i);
		dns_ask(dns, name, 1, r, sizeof(r));
	}
	assert_int_equal(proxy_denials(e.p, NULL, 0), 256);
	assert_int_equal(proxy_denials_dropped(e.p), 300 + 3 - 256);
	env_stop(&e);
	close(dns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_name),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_ip_literal),
		cmocka_unit_test(test_deny_wins),
		cmocka_unit_test(test_empty_allowlist),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_rebinding),
		cmocka_unit_test(test_unreachable_and_timeout),
		cmocka_unit_test(test_relay_1mb),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_get_forwarding),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_oversize_head),
		cmocka_unit_test(test_socks5),
		cmocka_unit_test(test_200_connections),
		cmocka_unit_test(test_denials),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_tunnel_sni),
		cmocka_unit_test(test_tunnel_early_hello),
	};
	return cmocka_run_group_tests(tests, harness_setup, harness_teardown);
}
