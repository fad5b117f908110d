// SPDX-License-Identifier: Apache-2.0
/*
 * The second, independent layer of the write policy: Landlock grants write rights beneath the
 * writable roots, the private temp dirs and /dev's nodes, and nothing else. With deny-read paths
 * outside the writable roots it also handles reading: every entry of each directory on the way to a
 * deny-read path is granted read rights, except the one on the way; those directories themselves may
 * only be listed. Unlike a mount, this holds for a file created or renamed there during the run, by
 * anyone. Where the kernel has
 * Landlock's scopes (ABI 6), it also keeps the sandbox from connecting to abstract unix sockets and
 * from signalling processes made outside it.
 *
 * The headers of Debian 12 describe ABI 2; the later rights and scopes are stable kernel ABI and are
 * defined here when missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/paths.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* The ruleset attribute as of ABI 6; older kernels get a prefix of it. */
struct ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_MAKE                                                                                          \
	(LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |     \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |  \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
#define FS_REMOVE (LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE)
#define FS_FILE_ONLY                                                                                     \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_READ_FILE |         \
	 LANDLOCK_ACCESS_FS_EXECUTE)
#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

int lx_landlock_abi(void)
{
	static int cached = -2;
	if (cached == -2) {
		long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
		cached = v < 0 ? 0 : (int)v;
	}
	return cached;
}

static uint64_t handled_for(int abi)
{
	uint64_t h = LANDLOCK_ACCESS_FS_WRITE_FILE | FS_MAKE | FS_REMOVE;
	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return h;
}

static uint64_t map_rights(unsigned r)
{
	uint64_t a = 0;
	if (r & LL_WRITE_FILE)
		a |= LANDLOCK_ACCESS_FS_WRITE_FILE;
	if (r & LL_TRUNCATE)
		a |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (r & LL_MAKE)
		a |= FS_MAKE;
	if (r & LL_REMOVE)
		a |= FS_REMOVE;
	if (r & LL_REFER)
		a |= LANDLOCK_ACCESS_FS_REFER;
	return a;
}

static int add_rule(int rs, int fd, uint64_t allowed, const char *what, struct cordon_error **err)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = allowed, .parent_fd = fd};
	if (allowed && syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return cerr_sys(err, errno, "add Landlock rule for `%s`", what);
	return 0;
}

static bool is_read_denied(const struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->nread_deny; i++)
		if (strcmp(p->read_deny[i], path) == 0)
			return true;
	return false;
}

/* A strict ancestor of some deny-read path. */
static bool is_deny_ancestor(const struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->nread_deny; i++)
		if (path_is_under(p->read_deny[i], path) && strcmp(p->read_deny[i], path) != 0)
			return true;
	return false;
}

/* Read rights for the entries of one ancestor of deny-read paths, all but those on the way to one;
 * the ancestor itself may only be listed. */
static int grant_around(const struct plan *p, int rs, const char *dir, struct cordon_error **err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : cerr_sys(err, errno, "open `%s`", dir);
	if (add_rule(rs, dfd, LANDLOCK_ACCESS_FS_READ_DIR, dir, err) < 0)
		return -1;
	int lfd = dup(dfd);
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return cerr_sys(err, errno, "list `%s`", dir);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char child[PATH_MAX];
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name) >= (int)sizeof(child))
			continue;
		if (is_read_denied(p, child) || is_deny_ancestor(p, child))
			continue;
		/* A symlink is followed to its target, which has rules of its own. d_type saves an fstat per
		 * entry (this loop runs over a whole home directory); DT_UNKNOWN falls back to it. */
		if (de->d_type == DT_LNK)
			continue;
		_cleanup_close_ int fd = openat(dfd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		bool is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode))
				continue;
			is_dir = S_ISDIR(st.st_mode);
		}
		rc = add_rule(rs, fd, is_dir ? FS_READ : LANDLOCK_ACCESS_FS_READ_FILE, child, err);
	}
	closedir(d);
	return rc;
}

/* Every directory on the way from / to each deny-read path gets grant_around(), once. */
static int add_read_layer(const struct plan *p, int rs, struct cordon_error **err)
{
	for (size_t i = 0; i < p->nread_deny; i++) {
		char anc[PATH_MAX];
		snprintf(anc, sizeof(anc), "%s", p->read_deny[i]);
		for (char *slash = strrchr(anc, '/'); slash; slash = strrchr(anc, '/')) {
			if (slash == anc)
				slash[1] = '\0';
			else
				*slash = '\0';
			/* Done already if an earlier deny path shares this ancestor. */
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = path_is_under(p->read_deny[j], anc) && strcmp(p->read_deny[j], anc) != 0;
			if (!seen && grant_around(p, rs, anc, err) < 0)
				return -1;
			if (slash == anc)
				break;
		}
	}
	return 0;
}

int lx_landlock_apply(const struct plan *plan, int abi, struct cordon_error **err)
{
	struct ll_attr attr = {.handled_access_fs = handled_for(abi) | (plan->nread_deny ? FS_READ : 0)};
	size_t size = sizeof(attr.handled_access_fs);
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	_cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rs < 0)
		return cerr_sys(err, errno, "create the Landlock ruleset (ABI %d)", abi);
	for (size_t i = 0; i < plan->ngrants; i++) {
		_cleanup_close_ int fd = open(plan->grants[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return cerr_sys(err, errno, "open `%s` for Landlock", plan->grants[i].path);
		}
		struct stat st;
		if (fstat(fd, &st) < 0)
			return cerr_sys(err, errno, "stat `%s`", plan->grants[i].path);
		uint64_t allowed = map_rights(plan->grants[i].rights) & attr.handled_access_fs;
		if (!S_ISDIR(st.st_mode))
			allowed &= FS_FILE_ONLY;
		if (add_rule(rs, fd, allowed, plan->grants[i].path, err) < 0)
			return -1;
	}
	if (plan->nread_deny && add_read_layer(plan, rs, err) < 0)
		return -1;
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return cerr_sys(err, errno, "enforce the Landlock ruleset");
	return 0;
}
