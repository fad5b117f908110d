// SPDX-License-Identifier: Apache-2.0
/*
 * bench-proxy-server: a minimal HTTP/1.1 server on 127.0.0.1 for bench/proxy.sh.
 *
 *   bench-proxy-server [--size BYTES] [--port N] [--lifetime SECONDS]
 *
 * Every GET (any path) is answered with 200, a Content-Length of BYTES (default 200 MiB) and a body
 * sent with sendfile() from a memfd filled once at start-up: the payload never passes through user
 * space, so the server is not what limits a download (python's http.server would be). One thread per
 * connection (small stacks), "Connection: close". The port (N, or an ephemeral one when N is 0, the
 * default) is printed on stdout as the first line once the server is listening. It listens on
 * 127.0.0.1 only, and exits by itself after SECONDS (default 900) even if nobody stops it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192

static int body_fd = -1;
static off_t body_size = 200 * 1024 * 1024;

static void die(const char *what)
{
	fprintf(stderr, "bench-proxy-server: %s: %s\n", what, strerror(errno));
	exit(2);
}

static unsigned long long parse_num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		goto bad;
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "bench-proxy-server: bad %s: '%s'\n", what, s);
	exit(2);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void serve(int fd)
{
	char head[HEAD_MAX];
	size_t len = 0;
	/* Read up to the end of the request head; a body (there is none for GET) is not read. */
	for (;;) {
		if (len == sizeof(head))
			return;
		ssize_t n = recv(fd, head + len, sizeof(head) - len, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		len += (size_t)n;
		if (memmem(head, len, "\r\n\r\n", 4))
			break;
	}
	if (len < 4 || memcmp(head, "GET ", 4) != 0) {
		static const char bad[] = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
					  "Connection: close\r\n\r\n";
		send_all(fd, bad, sizeof(bad) - 1);
		return;
	}
	char resp[256];
	int rn = snprintf(resp, sizeof(resp),
			  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %lld\r\n"
			  "Connection: close\r\n\r\n",
			  (long long)body_size);
	if (send_all(fd, resp, (size_t)rn) < 0)
		return;
	off_t off = 0;
	while (off < body_size) {
		ssize_t n = sendfile(fd, body_fd, &off, (size_t)(body_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client went away */
	}
	shutdown(fd, SHUT_WR);
	/* Let the client see the EOF before the close, so it is not reset with data in flight. */
	char sink[512];
	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	serve(fd);
	close(fd);
	return NULL;
}

static void fill_body(void)
{
	body_fd = memfd_create("bench-proxy-body", MFD_CLOEXEC);
	if (body_fd < 0)
		die("memfd_create");
	static char chunk[1 << 20];
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)('a' + i % 26);
	for (off_t done = 0; done < body_size;) {
		size_t want = body_size - done < (off_t)sizeof(chunk) ? (size_t)(body_size - done) : sizeof(chunk);
		ssize_t n = write(body_fd, chunk, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("writing the body");
		}
		done += n;
	}
}

int main(int argc, char **argv)
{
	unsigned long long port = 0, lifetime = 900;
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"port", required_argument, NULL, 'p'},
		{"lifetime", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "s:p:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': body_size = (off_t)parse_num(optarg, "size"); break;
		case 'p': port = parse_num(optarg, "port"); break;
		case 'l': lifetime = parse_num(optarg, "lifetime"); break;
		case 'h':
			printf("usage: bench-proxy-server [--size BYTES[K|M|G]] [--port N] [--lifetime SECONDS]\n");
			return 0;
		default: return 2;
		}
	}
	if (optind != argc || port > 65535 || lifetime == 0 || body_size <= 0) {
		fprintf(stderr, "bench-proxy-server: bad arguments (try --help)\n");
		return 2;
	}
	/* SIGALRM's default action ends the process: the server never outlives its lifetime. */
	alarm((unsigned)lifetime);
	signal(SIGPIPE, SIG_IGN);
	fill_body();

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1024) < 0)
		die("bind/listen on 127.0.0.1");
	socklen_t alen = sizeof(a);
	if (getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
		die("getsockname");
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				usleep(10000);
				continue;
			}
			die("accept");
		}
		pthread_t t;
		if (pthread_create(&t, &attr, conn_main, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}
