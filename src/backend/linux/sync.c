// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/error.h"

int sync_send(int fd, const struct sync_msg *m, const int *fds, int nfds)
{
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int pass[SYNC_MAX_FDS], n = 0;
	for (int i = 0; i < nfds && i < SYNC_MAX_FDS; i++)
		if (fds[i] >= 0)
			pass[n++] = fds[i];
	if (n) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), pass, sizeof(int) * (size_t)n);
	}
	ssize_t sent;
	do
		sent = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	return sent == (ssize_t)sizeof(*m) ? 0 : -1;
}

int sync_recv(int fd, struct sync_msg *m, int fds[SYNC_MAX_FDS])
{
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	int got[SYNC_MAX_FDS], ngot = 0;
	for (int i = 0; i < SYNC_MAX_FDS; i++)
		got[i] = -1;
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int v;
			memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ngot < SYNC_MAX_FDS && fds)
				got[ngot++] = v;
			else
				close(v);
		}
	}
	bool bad = n != (ssize_t)sizeof(*m) || m->version != SYNC_VERSION || (mh.msg_flags & MSG_CTRUNC);
	for (int i = 0; i < SYNC_MAX_FDS; i++) {
		if (bad && got[i] >= 0)
			close(got[i]);
		if (fds)
			fds[i] = bad ? -1 : got[i];
	}
	if (bad)
		return -1;
	m->text[sizeof(m->text) - 1] = '\0';
	m->hint[sizeof(m->hint) - 1] = '\0';
	return 0;
}

void sync_fail(int fd, struct cordon_error *err)
{
	struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_ERROR};
	m.code = err ? err->code : 0;
	snprintf(m.text, sizeof(m.text), "%s", err && err->message ? err->message : "sandbox setup failed");
	if (err && err->hint)
		snprintf(m.hint, sizeof(m.hint), "%s", err->hint);
	sync_send(fd, &m, NULL, 0);
	_exit(CORDON_EXIT_FAILURE);
}
