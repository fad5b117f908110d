// SPDX-License-Identifier: Apache-2.0
#include "daemon/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"

int conn_send(int fd, uint16_t type, const char *payload, size_t len, const int *fds, int nfds)
{
	if (len > PROTO_MAX_PAYLOAD || nfds > CONN_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	uint8_t hdr[PROTO_HEADER_LEN];
	proto_header_build(hdr, type, (uint32_t)len);
	struct iovec iov[2] = {{.iov_base = hdr, .iov_len = sizeof(hdr)}, {.iov_base = (void *)payload, .iov_len = len}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * CONN_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	size_t total = sizeof(hdr) + len, sent = 0;
	while (sent < total) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
		/* The rest, without the fds (they went with the first byte). */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0 && mh.msg_iovlen > 0) {
			size_t take = (size_t)n < mh.msg_iov->iov_len ? (size_t)n : mh.msg_iov->iov_len;
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + take;
			mh.msg_iov->iov_len -= take;
			n -= (ssize_t)take;
			if (mh.msg_iov->iov_len == 0) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

void conn_reader_init(struct conn_reader *r, int maxfds)
{
	memset(r, 0, sizeof(*r));
	r->maxfds = maxfds;
	for (int i = 0; i < CONN_MAX_FDS; i++)
		r->fds[i] = -1;
}

void conn_reader_release(struct conn_reader *r)
{
	for (int i = 0; i < r->nfds; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	free(r->payload);
	conn_reader_init(r, r->maxfds);
}

/* Takes the fds a recvmsg brought; false when there were more than allowed (all closed). */
static bool take_fds(struct conn_reader *r, struct msghdr *mh)
{
	bool ok = !(mh->msg_flags & MSG_CTRUNC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int v;
			memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (r->nfds < r->maxfds)
				r->fds[r->nfds++] = v;
			else {
				close(v);
				ok = false;
			}
		}
	}
	return ok;
}

/* The payload buffer holds at least `need` bytes (never more than the frame's length, plus a NUL). */
static int reserve(struct conn_reader *r, size_t need)
{
	if (need <= r->cap && r->payload)
		return 0;
	size_t cap = r->cap ? r->cap * 2 : 4096;
	if (cap < need)
		cap = need;
	if (cap > (size_t)r->len)
		cap = (size_t)r->len;
	char *p = realloc(r->payload, cap + 1);
	if (!p)
		return -1;
	r->payload = p;
	r->cap = cap;
	return 0;
}

int conn_reader_step(struct conn_reader *r, int fd, struct cordon_error **err)
{
	for (;;) {
		bool in_hdr = r->got < PROTO_HEADER_LEN;
		if (!in_hdr && r->got == PROTO_HEADER_LEN + r->len) {
			if (reserve(r, r->len) < 0)
				return cerr_set(err, ENOMEM, "out of memory");
			r->payload[r->len] = '\0';
			return 1;
		}
		size_t off = in_hdr ? 0 : r->got - PROTO_HEADER_LEN;
		size_t want = in_hdr ? PROTO_HEADER_LEN - r->got : PROTO_HEADER_LEN + r->len - r->got;
		/* A payload is taken 64 KiB at a time: memory follows what a peer sent, not what it said. */
		if (!in_hdr && want > 65536)
			want = 65536;
		if (!in_hdr && reserve(r, off + want) < 0)
			return cerr_set(err, ENOMEM, "out of memory");
		char *dst = in_hdr ? (char *)r->hdr + r->got : r->payload + off;
		struct iovec iov = {.iov_base = dst, .iov_len = want};
		union {
			char buf[CMSG_SPACE(sizeof(int) * CONN_MAX_FDS)];
			struct cmsghdr align;
		} u;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | (r->nonblock ? MSG_DONTWAIT : 0));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return cerr_sys(err, errno, "read from the peer");
		if (n == 0)
			return cerr_set(err, r->got ? EPROTO : 0, r->got ? "the peer closed mid-frame" : "the peer closed");
		if (!take_fds(r, &mh))
			return cerr_set(err, EPROTO, "a frame carried more than %d file descriptors", r->maxfds);
		r->got += (size_t)n;
		if (in_hdr && r->got == PROTO_HEADER_LEN && proto_header_parse(r->hdr, &r->type, &r->len, err) < 0)
			return -1;
	}
}

int conn_recv(int fd, uint16_t *type, char **payload, size_t *len, int *fds, int maxfds, int *nfds,
	      struct cordon_error **err)
{
	struct conn_reader r;
	conn_reader_init(&r, maxfds < CONN_MAX_FDS ? maxfds : CONN_MAX_FDS);
	/* A blocking socket: 0 comes only after EAGAIN, from a receive timeout. */
	int rc = conn_reader_step(&r, fd, err);
	if (rc == 0)
		rc = cerr_set(err, ETIMEDOUT, "the peer sent part of a frame and stopped");
	if (rc < 0) {
		bool eof = r.got == 0 && *err && (*err)->code == 0;
		conn_reader_release(&r);
		if (eof) {
			cordon_error_free(*err);
			*err = NULL;
			return 1;
		}
		return -1;
	}
	*type = r.type;
	*payload = r.payload;
	*len = r.len;
	*nfds = r.nfds;
	for (int i = 0; i < r.nfds; i++)
		fds[i] = r.fds[i];
	return 0;
}

long conn_peer_uid(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return -1;
	return (long)cr.uid;
}
