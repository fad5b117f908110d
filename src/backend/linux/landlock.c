// SPDX-License-Identifier: Apache-2.0
/*
 * The second, independent layer of the write policy: Landlock grants write rights beneath the
 * writable roots, the private temp dirs and /dev's nodes, and nothing else. Where the kernel has
 * Landlock's scopes (ABI 6), it also keeps the sandbox from connecting to abstract unix sockets and
 * from signalling processes made outside it.
 *
 * The headers of Debian 12 describe ABI 2; the later rights and scopes are stable kernel ABI and are
 * defined here when missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"

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
#define FS_FILE_ONLY (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)

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

int lx_landlock_apply(const struct plan *plan, int abi, struct cordon_error **err)
{
	struct ll_attr attr = {.handled_access_fs = handled_for(abi)};
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
		struct landlock_path_beneath_attr pb = {.allowed_access = allowed, .parent_fd = fd};
		if (allowed && syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			return cerr_sys(err, errno, "add Landlock rule for `%s`", plan->grants[i].path);
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return cerr_sys(err, errno, "enforce the Landlock ruleset");
	return 0;
}
