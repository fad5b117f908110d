// SPDX-License-Identifier: Apache-2.0
/*
 * bench-proxy-conns: holds N connections open through cordon's proxy at once, for bench/proxy.sh's
 * memory measurement. It runs inside `cordon run --network proxy --allow localhost:PORT`.
 *
 *   bench-proxy-conns --port PORT [-n N] [--mode get|connect|tunnel|direct] [--hold BYTES]
 *
 * Modes (the server is bench-proxy-server on the host's 127.0.0.1:PORT):
 *   get      GET http://localhost:PORT/big sent to the HTTP proxy 127.0.0.1:3128 (absolute form)
 *   connect  CONNECT localhost:PORT through 127.0.0.1:3128, then GET /big inside the tunnel
 *   tunnel   CONNECT localhost:PORT through 127.0.0.1:3128, and nothing sent inside (idle tunnels)
 *   direct   GET /big sent straight to 127.0.0.1:PORT (nftables redirects it to the proxy)
 * Each download is read until its response head and BYTES (default 64 KiB) of body have arrived,
 * then left unread: the downloads stall with every buffer on the way full, the proxy's included.
 *
 * It talks to its caller in lines: it prints "ready" and waits for a line on stdin; opens the N
 * connections and prints "open N"; waits for a line; closes them all and prints "closed"; waits for
 * a line (or EOF) and exits 0. Any failure is reported on stderr with exit status 1. It gives up
 * by itself after --timeout SECONDS (default 300).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum mode { M_GET, M_CONNECT, M_TUNNEL, M_DIRECT };

static unsigned port;
static size_t hold = 64 * 1024;

static void fail(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void fail(int e, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "bench-proxy-conns: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	exit(1);
}

static unsigned long parse_num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		fail(0, "bad %s", what);
	return v;
}

static int dial(const char *ip, unsigned p)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail(errno, "socket");
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		fail(errno, "connect %s", ip);
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(errno, "send");
		s += n;
		len -= (size_t)n;
	}
}

/* Reads a response head; checks for a 200; returns how many body bytes came with it. */
static size_t read_head(int fd, const char *what)
{
	char buf[8192];
	size_t len = 0;
	for (;;) {
		if (len == sizeof(buf) - 1)
			fail(0, "%s: response head too long", what);
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(n < 0 ? errno : 0, "%s: reading the response head", what);
		len += (size_t)n;
		buf[len] = 0;
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		char *sp = strchr(buf, ' ');
		if (!sp || strncmp(sp + 1, "200", 3) != 0) {
			*end = 0;
			fail(0, "%s: not a 200 response: %s", what, buf);
		}
		return len - (size_t)(end + 4 - buf);
	}
}

static void read_body(int fd, size_t have)
{
	char buf[16384];
	while (have < hold) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(n < 0 ? errno : 0, "reading the body");
		have += (size_t)n;
	}
}

static int open_one(enum mode m)
{
	char req[512];
	int fd;
	switch (m) {
	case M_GET:
		fd = dial("127.0.0.1", 3128);
		snprintf(req, sizeof(req), "GET http://localhost:%u/big HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", port,
			 port);
		send_str(fd, req);
		read_body(fd, read_head(fd, "GET through the proxy"));
		return fd;
	case M_CONNECT:
	case M_TUNNEL:
		fd = dial("127.0.0.1", 3128);
		snprintf(req, sizeof(req), "CONNECT localhost:%u HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", port, port);
		send_str(fd, req);
		if (read_head(fd, "CONNECT") != 0)
			fail(0, "CONNECT: bytes after the reply");
		if (m == M_TUNNEL)
			return fd;
		snprintf(req, sizeof(req), "GET /big HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", port);
		send_str(fd, req);
		read_body(fd, read_head(fd, "GET in the tunnel"));
		return fd;
	case M_DIRECT:
		fd = dial("127.0.0.1", port);
		snprintf(req, sizeof(req), "GET /big HTTP/1.1\r\nHost: localhost:%u\r\n\r\n", port);
		send_str(fd, req);
		read_body(fd, read_head(fd, "GET (transparent)"));
		return fd;
	}
	return -1;
}

static bool wait_line(void)
{
	char line[64];
	return fgets(line, sizeof(line), stdin) != NULL;
}

int main(int argc, char **argv)
{
	unsigned long n = 200, timeout = 300;
	enum mode m = M_GET;
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"mode", required_argument, NULL, 'm'},
		{"hold", required_argument, NULL, 'b'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:p:m:b:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': n = parse_num(optarg, "count"); break;
		case 'p': port = (unsigned)parse_num(optarg, "port"); break;
		case 'b': hold = parse_num(optarg, "hold"); break;
		case 't': timeout = parse_num(optarg, "timeout"); break;
		case 'm':
			if (strcmp(optarg, "get") == 0)
				m = M_GET;
			else if (strcmp(optarg, "connect") == 0)
				m = M_CONNECT;
			else if (strcmp(optarg, "tunnel") == 0)
				m = M_TUNNEL;
			else if (strcmp(optarg, "direct") == 0)
				m = M_DIRECT;
			else
				fail(0, "unknown mode '%s'", optarg);
			break;
		case 'h':
			printf("usage: bench-proxy-conns --port PORT [-n N] [--mode get|connect|tunnel|direct] "
			       "[--hold BYTES] [--timeout SECONDS]\n");
			return 0;
		default: return 2;
		}
	}
	if (optind != argc || !port || port > 65535 || !n || n > 100000 || !timeout)
		fail(0, "bad arguments (try --help)");
	alarm((unsigned)timeout);
	setvbuf(stdout, NULL, _IOLBF, 0);

	int *fds = calloc(n, sizeof(*fds));
	if (!fds)
		fail(ENOMEM, "calloc");
	printf("ready\n");
	if (!wait_line())
		return 1;
	for (unsigned long i = 0; i < n; i++)
		fds[i] = open_one(m);
	printf("open %lu\n", n);
	if (!wait_line())
		return 1;
	for (unsigned long i = 0; i < n; i++)
		close(fds[i]);
	printf("closed\n");
	wait_line();
	return 0;
}
