// SPDX-License-Identifier: Apache-2.0
/*
 * Reading a sandboxed process's view of a path, for the broker and the observer: the path argument
 * from its memory, and the directory it is relative to from /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/linux/linux.h"

/*
 * Reads the path at `addr` in the target's memory, page by page, as the kernel would: up to PATH_MAX
 * bytes including the NUL. Returns 0, or the errno the kernel itself would fail the call with
 * (EFAULT, ENAMETOOLONG): the broker then answers with it instead of letting the call go on.
 */
int lx_read_path(pid_t pid, uint64_t addr, char buf[PATH_MAX])
{
	size_t got = 0;
	while (got < PATH_MAX) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t want = page_left < PATH_MAX - got ? page_left : PATH_MAX - got;
		struct iovec local = {.iov_base = buf + got, .iov_len = want};
		struct iovec remote = {.iov_base = (void *)(uintptr_t)(addr + got), .iov_len = want};
		ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return EFAULT;
		if (memchr(buf + got, '\0', (size_t)n))
			return 0;
		got += (size_t)n;
	}
	return ENAMETOOLONG;
}

/* The sandbox-view path of /proc/PID/cwd or /proc/PID/fd/N. */
int lx_view_path_of(pid_t pid, int dirfd, char *out, size_t cap)
{
	char link[64];
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, dirfd);
	ssize_t n = readlink(link, out, cap - 1);
	if (n <= 0 || out[0] != '/')
		return -1;
	out[n] = '\0';
	return 0;
}

/* The last component of `path`, trailing slashes ignored ("" for "/"). */
void lx_final_name(const char *path, char name[NAME_MAX + 1])
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	size_t n = len - start;
	if (n > NAME_MAX)
		n = NAME_MAX + 1; /* longer than any name: matches nothing, the kernel refuses it */
	memcpy(name, path + start, n < NAME_MAX + 1 ? n : NAME_MAX);
	name[n < NAME_MAX + 1 ? n : NAME_MAX] = '\0';
}

/* The parent of `path` as an absolute path in the sandbox's view. -1 when it cannot be rebuilt
 * exactly (an unreadable base, or a result that does not fit): the caller then refuses. */
int lx_parent_of(pid_t pid, int dirfd, const char *path, char *parent, size_t cap)
{
	char base[PATH_MAX];
	int n;
	if (path[0] == '/')
		n = snprintf(parent, cap, "%s", path);
	else if (lx_view_path_of(pid, dirfd, base, sizeof(base)) < 0)
		return -1;
	else
		n = snprintf(parent, cap, "%s/%s", base, path);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	size_t len = (size_t)n;
	while (len > 1 && parent[len - 1] == '/')
		parent[--len] = '\0';
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

