// SPDX-License-Identifier: Apache-2.0
/* Network actions. */
#include "probe.h"

/* ------------------------------------------------------------------------------------------ */
/* Network                                                                                    */

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

/* Parses a numeric IPv4 or IPv6 address and a port. No name resolution, ever. */
static bool parse_addr(const char *host, const char *port, struct addr *a)
{
	int p = 0;
	if (!parse_int(port, &p) || p < 0 || p > 65535)
		return false;
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		a->len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*in6);
	} else {
		return false;
	}
	a->family = a->ss.ss_family;
	return true;
}

ACTION(act_tcp)
{
	struct addr a;
	if (!parse_addr(argv[0], argv[1], &a))
		return usage_error("tcp: ADDR must be numeric IPv4/IPv6, PORT 0-65535");
	int fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(tcp)");
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "connect %s port %s", argv[0], argv[1]);
	int err = write_all(fd, data_arg(argc, argv, 2));
	if (err)
		return fail(err, "send");
	return okay("connected");
}

ACTION(act_udp)
{
	struct addr a;
	if (!parse_addr(argv[0], argv[1], &a))
		return usage_error("udp: ADDR must be numeric IPv4/IPv6, PORT 0-65535");
	int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(udp)");
	const char *msg = data_arg(argc, argv, 2);
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "sendto %s port %s", argv[0], argv[1]);
	return okay("sent");
}

static uint16_t inet_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Sends one ICMP echo request carrying the payload, on a raw or a datagram ("ping") socket. */
static int send_icmp(const char *host, const char *payload, int type)
{
	struct addr a;
	if (!parse_addr(host, "0", &a))
		return usage_error("icmp: ADDR must be numeric IPv4/IPv6");
	bool v6 = a.family == AF_INET6;
	int fd = socket(a.family, type | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return fail(errno, "socket(%s, %s)", v6 ? "AF_INET6" : "AF_INET",
			    type == SOCK_RAW ? "SOCK_RAW" : "SOCK_DGRAM");
	unsigned char pkt[8 + 64] = { 0 };
	size_t plen = strlen(payload) < 64 ? strlen(payload) : 64;
	pkt[0] = v6 ? 128 : 8; /* echo request */
	pkt[4] = 0x12;
	pkt[5] = 0x34;
	pkt[7] = 1;
	memcpy(pkt + 8, payload, plen);
	if (!v6) {
		uint16_t sum = inet_checksum(pkt, 8 + plen);
		memcpy(pkt + 2, &sum, 2);
	}
	if (sendto(fd, pkt, 8 + plen, 0, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "sendto(icmp) %s", host);
	return okay("echo request sent");
}

ACTION(act_icmp_raw)
{
	return send_icmp(argv[0], data_arg(argc, argv, 1), SOCK_RAW);
}

ACTION(act_icmp_dgram)
{
	return send_icmp(argv[0], data_arg(argc, argv, 1), SOCK_DGRAM);
}

ACTION(act_packet)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return fail(errno, "socket(AF_PACKET, SOCK_RAW)");
	return okay("packet socket");
}

static int unix_connect(const char *name, bool abstract, const char *msg)
{
	struct sockaddr_un su;
	socklen_t len = 0;
	if (!fill_sun(&su, &len, name, abstract))
		return usage_error("unix socket name too long");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(AF_UNIX)");
	if (connect(fd, (struct sockaddr *)&su, len) < 0)
		return fail(errno, "connect %s%s", abstract ? "@" : "", name);
	int err = write_all(fd, msg);
	if (err)
		return fail(err, "send");
	return okay("connected");
}

ACTION(act_unix_connect)
{
	return unix_connect(argv[0], false, data_arg(argc, argv, 1));
}

ACTION(act_abstract_connect)
{
	return unix_connect(argv[0], true, data_arg(argc, argv, 1));
}

static bool parse_named(const char *s, const char *const *names, const int *values, size_t n,
			unsigned long long *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (unsigned long long)values[i];
			return true;
		}
	}
	return parse_ull(s, out);
}

/* socket DOMAIN TYPE PROTO with 64-bit arguments passed as they are: names or numbers. */
static int raw_socket(char **argv, unsigned long long high)
{
	static const char *const dnames[] = { "unix", "inet", "inet6", "netlink", "packet", "key",
					      "bluetooth", "alg", "vsock", "can", "xdp", "tipc" };
	static const int dvalues[] = { AF_UNIX, AF_INET,     AF_INET6, AF_NETLINK, AF_PACKET, AF_KEY,
				       AF_BLUETOOTH, AF_ALG, AF_VSOCK, AF_CAN, AF_XDP, AF_TIPC };
	static const char *const tnames[] = { "stream", "dgram", "raw", "seqpacket" };
	static const int tvalues[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
	unsigned long long d = 0, t = 0, p = 0;
	if (!parse_named(argv[0], dnames, dvalues, sizeof(dvalues) / sizeof(dvalues[0]), &d) ||
	    !parse_named(argv[1], tnames, tvalues, sizeof(tvalues) / sizeof(tvalues[0]), &t) ||
	    !parse_ull(argv[2], &p))
		return usage_error("socket: DOMAIN TYPE PROTO (names or numbers)");
	d |= high;
	long fd = syscall(SYS_socket, (unsigned long)d, (unsigned long)t, (unsigned long)p);
	if (fd < 0)
		return fail(errno, "socket(0x%llx, %llu, %llu)", d, t, p);
	return okay("socket(0x%llx, %llu, %llu) = %ld", d, t, p, fd);
}

ACTION(act_socket)
{
	return raw_socket(argv, 0);
}

/* Same as socket, with bit 32 set in the domain: the kernel reads an int and drops it, so a
 * seccomp rule that compares all 64 bits would be bypassed. */
ACTION(act_socket_hi)
{
	return raw_socket(argv, 1ULL << 32);
}

static int make_listener(const char *kind, const char *where, const char *port, int *type_out)
{
	bool stream = strncmp(kind, "tcp", 3) == 0 || strcmp(kind, "unix") == 0 ||
		      strcmp(kind, "abstract") == 0;
	int type = stream ? SOCK_STREAM : strncmp(kind, "icmp", 4) == 0 ? SOCK_RAW : SOCK_DGRAM;
	*type_out = type;
	if (strcmp(kind, "unix") == 0 || strcmp(kind, "abstract") == 0) {
		bool abstract = kind[0] == 'a';
		struct sockaddr_un su;
		socklen_t len = 0;
		if (!fill_sun(&su, &len, where, abstract))
			return -ENAMETOOLONG;
		int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&su, len) < 0)
			return -errno;
		/* Anyone may connect: the sandbox, not file modes, must be what stops them. */
		if (!abstract && chmod(where, 0777) < 0)
			return -errno;
		return listen(fd, 16) < 0 ? -errno : fd;
	}
	struct addr a;
	if (!parse_addr(where, port, &a))
		return -EINVAL;
	int proto = type != SOCK_RAW ? 0 : a.family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd = socket(a.family, type | SOCK_CLOEXEC, proto);
	int one = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type != SOCK_RAW && bind(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return -errno;
	if (stream && listen(fd, 16) < 0)
		return -errno;
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Receives one message on the listener: a stream connection's first bytes, a datagram, or an
 * ICMP echo request's payload. Returns its length, 0 for nothing worth reporting, -1 on error. */
static ssize_t receive_one(int fd, int type, bool v6, char *buf, size_t len)
{
	if (type == SOCK_STREAM) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return -1;
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		ssize_t n = poll(&pfd, 1, 2000) > 0 ? read(c, buf, len) : 0;
		close(c);
		return n < 0 ? 0 : n;
	}
	ssize_t n = recv(fd, buf, len, 0);
	if (n < 0 || type != SOCK_RAW)
		return n;
	/* Raw ICMP: IPv4 delivers the IP header too; IPv6 starts at the ICMPv6 header. */
	size_t skip = v6 ? 0 : (size_t)(buf[0] & 0x0f) * 4;
	if ((size_t)n < skip + 8 || (unsigned char)buf[skip] != (v6 ? 128 : 8))
		return 0;
	memmove(buf, buf + skip + 8, (size_t)n - skip - 8);
	return n - (ssize_t)skip - 8;
}

/*
 * listen KIND ADDR PORT SECONDS, a host-side helper. KIND: tcp4 tcp6 udp4 udp6 unix abstract icmp4
 * icmp6 (ADDR is a path or an abstract name for unix/abstract; PORT 0 picks one). Prints
 * `listening PORT`, then `got MESSAGE` for each connection, datagram or echo request received,
 * and ends with `ok stop` (exit 0) when a message starting with STOP arrives, or with a fail
 * line (exit 1) when SECONDS pass first.
 */
ACTION(act_listen)
{
	int type = 0, secs = 0;
	if (!parse_int(argv[3], &secs) || secs <= 0)
		return usage_error("listen: SECONDS must be positive");
	int fd = make_listener(argv[0], argv[1], argv[2], &type);
	if (fd < 0)
		return fail(-fd, "listen %s %s %s", argv[0], argv[1], argv[2]);
	printf("listening %d\n", bound_port(fd));
	fflush(stdout);
	bool v6 = strchr(argv[0], '6') != NULL;
	long long deadline = now_ms() + secs * 1000LL;
	for (long long left = secs * 1000LL; left > 0; left = deadline - now_ms()) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		char buf[512], show[MAX_SHOW];
		ssize_t n = receive_one(fd, type, v6, buf, sizeof(buf));
		if (n <= 0)
			continue;
		printable(show, sizeof(show), buf, (size_t)n);
		printf("got %s\n", show);
		fflush(stdout);
		if (strncmp(show, "STOP", 4) == 0)
			return okay("stop");
	}
	return fail(ETIMEDOUT, "no STOP within %d s", secs);
}

/* loopback tcp4|tcp6|udp4|udp6: a server and a client in this process talk over loopback. */
ACTION(act_loopback)
{
	bool v6 = strchr(argv[0], '6') != NULL;
	bool tcp = strncmp(argv[0], "tcp", 3) == 0;
	const char *host = v6 ? "::1" : "127.0.0.1";
	int type = 0;
	int srv = make_listener(tcp ? (v6 ? "tcp6" : "tcp4") : (v6 ? "udp6" : "udp4"), host, "0", &type);
	if (srv < 0)
		return fail(-srv, "server on %s", host);
	char port[16];
	snprintf(port, sizeof(port), "%d", bound_port(srv));
	struct addr a;
	parse_addr(host, port, &a);
	int cli = socket(a.family, type | SOCK_CLOEXEC, 0);
	if (cli < 0)
		return fail(errno, "client socket");
	if (connect(cli, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "connect %s port %s", host, port);
	if (write_all(cli, "ping") != 0)
		return fail(errno, "send");
	struct pollfd pfd = { .fd = srv, .events = POLLIN };
	if (poll(&pfd, 1, 2000) <= 0)
		return fail(ETIMEDOUT, "nothing arrived on %s port %s", host, port);
	char buf[16];
	ssize_t n = receive_one(srv, type, v6, buf, sizeof(buf));
	if (n != 4 || memcmp(buf, "ping", 4) != 0)
		return fail(EPROTO, "wrong data on loopback");
	return okay("%s port %s", host, port);
}
