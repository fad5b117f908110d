// SPDX-License-Identifier: Apache-2.0
/*
 * The transparent-proxy route and nftables rules (backend/linux/nft.c), checked by traffic: each test
 * forks a child that enters a new user and network namespace (only `lo`, so no packet can leave it),
 * installs the rules and probes them. The child reports a failure as text over a pipe; cmocka asserts
 * only in the parent. Needs user namespaces: as root, or unprivileged where the system allows them.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter_ipv4.h>

#include "backend/linux/nft.h"
#include "common/cleanup.h"
#include "common/error.h"

#define TCP_PORT 15001
#define DNS_PORT 15053

/* ---- in the child: the first failure's text, sent to the parent ---- */

static char child_msg[512];

__attribute__((format(printf, 1, 2))) static int failf(const char *fmt, ...)
{
	if (!child_msg[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(child_msg, sizeof(child_msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static const char *show(const struct sockaddr_in *a)
{
	static char buf[2][32];
	static int i;
	char *s = buf[i++ % 2], ip[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(s, sizeof(buf[0]), "%s:%u", ip, ntohs(a->sin_port));
	return s;
}

static bool same(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static int bound(int type, const char *ip, uint16_t port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sin4(ip, port);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && (type != SOCK_STREAM || listen(fd, 8) == 0))
		return fd;
	failf("bind %s: %s", show(&a), strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* A connected TCP socket, or -1 with errno set (and no failure recorded: callers decide). */
static int connect_to(const char *ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = sin4(ip, port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

static int accept_within(int lfd, const char *what)
{
	int fd = readable(lfd, 2000) ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	return fd >= 0 ? fd : failf("%s: no connection arrived", what);
}

/* The accepted connection's destination before NAT must be `want`. */
static int check_orig_dst(int fd, const struct sockaddr_in *want)
{
	struct sockaddr_in got = {0};
	socklen_t len = sizeof(got);
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &got, &len) < 0)
		return failf("SO_ORIGINAL_DST (want %s): %s", show(want), strerror(errno));
	return same(&got, want) ? 0 : failf("original destination %s, want %s", show(&got), show(want));
}

/* Connects to ip:port and checks that the TCP_PORT listener gets it, with that original destination. */
static int expect_redirected(int lfd, const char *ip, uint16_t port)
{
	struct sockaddr_in want = sin4(ip, port), peer = {0};
	socklen_t len = sizeof(peer);
	_cleanup_close_ int c = connect_to(ip, port);
	if (c < 0)
		return failf("connect %s: %s", show(&want), strerror(errno));
	if (getpeername(c, (struct sockaddr *)&peer, &len) < 0 || !same(&peer, &want))
		return failf("connect %s: the client sees peer %s", show(&want), show(&peer));
	_cleanup_close_ int a = accept_within(lfd, show(&want));
	return a < 0 ? -1 : check_orig_dst(a, &want);
}

static int expect_refused(const char *ip, uint16_t port)
{
	struct sockaddr_in a = sin4(ip, port);
	_cleanup_close_ int c = connect_to(ip, port);
	if (c >= 0 || errno != ECONNREFUSED)
		return failf("connect %s: %s, want ECONNREFUSED (not redirected, nobody listens)", show(&a),
			     c >= 0 ? "connected" : strerror(errno));
	return 0;
}

/* Receives one datagram within a second; it must read `want`. */
static int expect_datagram(int fd, const char *want, struct sockaddr_in *from, const char *what)
{
	char buf[64] = {0};
	socklen_t len = sizeof(*from);
	if (!readable(fd, 1000) || recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)from, &len) < 0 ||
	    strcmp(buf, want) != 0)
		return failf("%s: `%s` did not arrive (got `%s`)", what, want, buf);
	return 0;
}

static int send_to(int fd, const char *text, const struct sockaddr_in *to)
{
	return sendto(fd, text, strlen(text), 0, (const struct sockaddr *)to, sizeof(*to)) < 0 ? -1 : 0;
}

/* ---- the probes, one per test ---- */

static int probe_tcp(void)
{
	_cleanup_close_ int lfd = bound(SOCK_STREAM, "127.0.0.1", TCP_PORT);
	return lfd < 0 ? -1 : expect_redirected(lfd, "198.18.0.5", 443);
}

/* A query to any address's port 53 reaches the DNS listener, and its answer seems to come from there. */
static int probe_dns(void)
{
	_cleanup_close_ int srv = bound(SOCK_DGRAM, "127.0.0.1", DNS_PORT);
	_cleanup_close_ int cli = bound(SOCK_DGRAM, "127.0.0.1", 0);
	if (srv < 0 || cli < 0)
		return -1;
	struct sockaddr_in dns = sin4("192.0.2.53", 53), local = sin4("127.0.0.1", 53), from = {0};
	if (send_to(cli, "q1", &dns) < 0)
		return failf("send to %s: %s", show(&dns), strerror(errno));
	if (expect_datagram(srv, "q1", &from, "query to 192.0.2.53:53") < 0)
		return -1;
	if (send_to(srv, "a1", &from) < 0)
		return failf("answer to %s: %s", show(&from), strerror(errno));
	if (expect_datagram(cli, "a1", &from, "answer") < 0)
		return -1;
	if (!same(&from, &dns))
		return failf("the answer comes from %s, want %s", show(&from), show(&dns));
	if (send_to(cli, "q2", &local) < 0)
		return failf("send to %s: %s", show(&local), strerror(errno));
	return expect_datagram(srv, "q2", &from, "query to 127.0.0.1:53");
}

static int probe_dropped(void)
{
	_cleanup_close_ int sink = bound(SOCK_DGRAM, "127.0.0.1", 9);
	_cleanup_close_ int dns = bound(SOCK_DGRAM, "127.0.0.1", DNS_PORT);
	_cleanup_close_ int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	_cleanup_close_ int icmp = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (sink < 0 || dns < 0 || udp < 0 || icmp < 0)
		return failf("sockets: %s", strerror(errno));
	struct sockaddr_in to = sin4("192.0.2.1", 9);
	errno = 0;
	if (send_to(udp, "x", &to) == 0 || errno != EPERM)
		return failf("UDP to %s: %s, want EPERM", show(&to), errno ? strerror(errno) : "sent");
	static const unsigned char echo[8] = {8, 0, 0xf7, 0xff}; /* type 8, checksum over the rest */
	to.sin_port = 0;
	errno = 0;
	if (sendto(icmp, echo, sizeof(echo), 0, (struct sockaddr *)&to, sizeof(to)) >= 0 || errno != EPERM)
		return failf("ICMP echo to 192.0.2.1: %s, want EPERM", errno ? strerror(errno) : "sent");
	if (readable(sink, 200) || readable(dns, 0))
		return failf("the dropped datagram arrived on loopback");
	return 0;
}

/* Loopback is the namespace's own business: not redirected, not filtered (host ports aside). */
static int probe_loopback(void)
{
	_cleanup_close_ int proxy = bound(SOCK_STREAM, "127.0.0.1", TCP_PORT);
	_cleanup_close_ int lfd = bound(SOCK_STREAM, "127.0.0.1", 4000);
	_cleanup_close_ int u = bound(SOCK_DGRAM, "127.0.0.1", 4001);
	if (proxy < 0 || lfd < 0 || u < 0)
		return -1;
	_cleanup_close_ int c = connect_to("127.0.0.1", 4000);
	if (c < 0)
		return failf("connect 127.0.0.1:4000: %s", strerror(errno));
	_cleanup_close_ int a = accept_within(lfd, "127.0.0.1:4000");
	if (a < 0 || readable(proxy, 0))
		return failf("127.0.0.1:4000 went to the proxy listener");
	struct sockaddr_in orig = {0}, want = sin4("127.0.0.1", 4000), udp = sin4("127.0.0.1", 4001), from = {0};
	socklen_t len = sizeof(orig);
	if (getsockopt(a, SOL_IP, SO_ORIGINAL_DST, &orig, &len) == 0 ? !same(&orig, &want) : errno != ENOENT)
		return failf("127.0.0.1:4000 was translated (original destination %s)", show(&orig));
	if (send_to(u, "hi", &udp) < 0)
		return failf("UDP to 127.0.0.1:4001: %s", strerror(errno));
	if (expect_datagram(u, "hi", &from, "UDP on loopback") < 0)
		return -1;
	return expect_refused("127.0.0.1", 5432);
}

/* Only the listed ports of 127.0.0.1 itself go to the proxy. */
static int probe_host_ports(void)
{
	_cleanup_close_ int lfd = bound(SOCK_STREAM, "127.0.0.1", TCP_PORT);
	if (lfd < 0 || expect_redirected(lfd, "127.0.0.1", 5432) < 0 || expect_redirected(lfd, "127.0.0.1", 6379) < 0)
		return -1;
	if (expect_refused("127.0.0.1", 5433) < 0 || expect_refused("127.0.0.2", 5432) < 0)
		return -1;
	return expect_redirected(lfd, "198.18.0.5", 80);
}

static int probe_many_ports(void)
{
	_cleanup_close_ int lfd = bound(SOCK_STREAM, "127.0.0.1", TCP_PORT);
	if (lfd < 0 || expect_redirected(lfd, "127.0.0.1", 20000) < 0)
		return -1;
	return expect_redirected(lfd, "127.0.0.1", 20000 + LX_MAX_HOST_PORTS - 1);
}

static int probe_ipv6(void)
{
	_cleanup_close_ int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT)
		return 0; /* no IPv6 at all: nothing can leave by it */
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "2001:db8::1", &a.sin6_addr);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&a, sizeof(a));
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0 || (e != ENETUNREACH && e != EACCES && e != EPERM))
		return failf("connect [2001:db8::1]:443: %s, want ENETUNREACH", rc == 0 ? "connected" : strerror(e));
	return t1.tv_sec - t0.tv_sec < 1 ? 0 : failf("connect [2001:db8::1]:443 took over a second to fail");
}

/* ---- the child's setup and the parent's side ---- */

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return failf("write %s: %s", path, strerror(errno));
	return 0;
}

/* As `unshare -rn`: root in a new user namespace that owns a new network namespace, `lo` up. */
static int enter_netns(void)
{
	char uid_map[32], gid_map[32];
	snprintf(uid_map, sizeof(uid_map), "0 %u 1", (unsigned)getuid());
	snprintf(gid_map, sizeof(gid_map), "0 %u 1", (unsigned)getgid());
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return failf("unshare(CLONE_NEWUSER | CLONE_NEWNET): %s; this test needs user namespaces (run it "
			     "as root, or allow them: user.max_user_namespaces, kernel.unprivileged_userns_clone, "
			     "AppArmor's userns restriction)", strerror(errno));
	if (write_file("/proc/self/setgroups", "deny") < 0 || write_file("/proc/self/uid_map", uid_map) < 0 ||
	    write_file("/proc/self/gid_map", gid_map) < 0)
		return -1;
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_RUNNING};
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return failf("bring lo up: %s", strerror(errno));
	return 0;
}

static int child(const uint16_t *host_ports, size_t n, int (*probe)(void))
{
	struct lx_transparent t = {.tcp_port = TCP_PORT, .dns_port = DNS_PORT, .host_ports = host_ports,
				   .n_host_ports = n};
	struct cordon_error *err = NULL;
	if (enter_netns() < 0)
		return -1;
	if (lx_transparent_setup(&t, &err) < 0)
		return failf("lx_transparent_setup: %s", err ? err->message : "(no error)");
	return probe();
}

/* Runs `probe` in a child in a fresh namespace with the rules installed; fails the test with its text. */
static void run(const uint16_t *host_ports, size_t n, int (*probe)(void))
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		alarm(30); /* a hang ends as SIGALRM, reported below */
		int rc = child(host_ports, n, probe);
		if (rc < 0 && write(p[1], child_msg, strlen(child_msg)) < 0)
			_exit(2);
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	char msg[sizeof(child_msg)] = {0};
	size_t got = 0;
	for (ssize_t r; got < sizeof(msg) - 1 && (r = read(p[0], msg + got, sizeof(msg) - 1 - got)) > 0;)
		got += (size_t)r;
	close(p[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the probe child died of signal %d (%s)", WTERMSIG(status), msg);
	if (WEXITSTATUS(status) != 0)
		fail_msg("%s", msg[0] ? msg : "the probe child failed without a message");
}

static void test_tcp_redirected(void **state)
{
	(void)state;
	run(NULL, 0, probe_tcp);
}

static void test_dns_redirected(void **state)
{
	(void)state;
	run(NULL, 0, probe_dns);
}

static void test_other_traffic_dropped(void **state)
{
	(void)state;
	run(NULL, 0, probe_dropped);
}

static void test_loopback_untouched(void **state)
{
	(void)state;
	run(NULL, 0, probe_loopback);
}

static void test_host_ports(void **state)
{
	(void)state;
	static const uint16_t ports[] = {5432, 6379};
	run(ports, ARRAY_LEN(ports), probe_host_ports);
}

static void test_many_host_ports(void **state)
{
	(void)state;
	static uint16_t ports[LX_MAX_HOST_PORTS];
	for (size_t i = 0; i < ARRAY_LEN(ports); i++)
		ports[i] = (uint16_t)(20000 + i);
	run(ports, ARRAY_LEN(ports), probe_many_ports);
}

static void test_ipv6_unreachable(void **state)
{
	(void)state;
	run(NULL, 0, probe_ipv6);
}

/* A second setup must fail (the table exists) with a message naming what failed. */
static int probe_second_setup(void)
{
	struct lx_transparent t = {.tcp_port = TCP_PORT, .dns_port = DNS_PORT};
	struct cordon_error *err = NULL;
	if (lx_transparent_setup(&t, &err) == 0)
		return failf("a second setup succeeded");
	bool ok = err && err->code == EEXIST &&
		  strstr(err->message, "install the transparent-proxy rules (nftables): File exists");
	if (!ok)
		failf("second setup: code %d, `%s`", err ? err->code : 0, err ? err->message : "(no error)");
	cordon_error_free(err);
	return ok ? 0 : -1;
}

static void test_second_setup_fails(void **state)
{
	(void)state;
	run(NULL, 0, probe_second_setup);
}

/* Bad arguments are refused before anything is touched, so this runs in the test process itself. */
static void test_bad_arguments(void **state)
{
	(void)state;
	static const uint16_t zero[] = {0};
	static const uint16_t many[LX_MAX_HOST_PORTS + 1] = {1};
	const struct lx_transparent cases[] = {
		{.tcp_port = 0, .dns_port = DNS_PORT},
		{.tcp_port = TCP_PORT, .dns_port = 0},
		{.tcp_port = TCP_PORT, .dns_port = DNS_PORT, .host_ports = zero, .n_host_ports = 1},
		{.tcp_port = TCP_PORT, .dns_port = DNS_PORT, .host_ports = many, .n_host_ports = ARRAY_LEN(many)},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cordon_error *err = NULL;
		assert_int_equal(lx_transparent_setup(&cases[i], &err), -1);
		assert_non_null(err);
		assert_int_equal(err->code, EINVAL);
		assert_contains(err->message, "transparent proxy: ");
		cordon_error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_redirected),     cmocka_unit_test(test_dns_redirected),
		cmocka_unit_test(test_other_traffic_dropped), cmocka_unit_test(test_loopback_untouched),
		cmocka_unit_test(test_host_ports),         cmocka_unit_test(test_many_host_ports),
		cmocka_unit_test(test_ipv6_unreachable),   cmocka_unit_test(test_second_setup_fails),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
