// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/error.h"

int sync_send(int fd, const struct sync_msg *m, int pass_fd)
{
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (pass_fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

int sync_recv(int fd, struct sync_msg *m, int *passed_fd)
{
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (passed_fd)
		*passed_fd = -1;
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;
			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (passed_fd && *passed_fd < 0)
				*passed_fd = got;
			else
				close(got);
		}
	if (n != (ssize_t)sizeof(*m) || m->version != SYNC_VERSION) {
		if (passed_fd && *passed_fd >= 0) {
			close(*passed_fd);
			*passed_fd = -1;
		}
		return -1;
	}
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
	sync_send(fd, &m, -1);
	_exit(CORDON_EXIT_FAILURE);
}
