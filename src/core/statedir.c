// SPDX-License-Identifier: Apache-2.0
#include "core/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/dirwalk.h"
#include "common/error.h"

/* The base and the part below it that cordon owns ("cordon/<sub>" or ".local/state/cordon/<sub>"). */
static int split(const char *sub, char *base, size_t bcap, char *rest, size_t rcap)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n, m;
	if (xdg && xdg[0] == '/') {
		n = snprintf(base, bcap, "%s", xdg);
		m = snprintf(rest, rcap, "cordon/%s", sub);
	} else {
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());
			home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
		}
		if (!home)
			return -1;
		n = snprintf(base, bcap, "%s", home);
		m = snprintf(rest, rcap, ".local/state/cordon/%s", sub);
	}
	if (n < 0 || (size_t)n >= bcap || m < 0 || (size_t)m >= rcap)
		return -1;
	/* "/" as a base keeps its slash; any other loses a trailing one. */
	while (n > 1 && base[n - 1] == '/')
		base[--n] = '\0';
	return 0;
}

int state_dir_path(const char *sub, char *out, size_t cap)
{
	char base[PATH_MAX], rest[PATH_MAX];
	if (split(sub, base, sizeof(base), rest, sizeof(rest)) < 0)
		return -1;
	int n = snprintf(out, cap, "%s/%s", strcmp(base, "/") == 0 ? "" : base, rest);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int state_dir_open(const char *sub, const char *what, char *out, size_t cap, struct cordon_error **err)
{
	char base[PATH_MAX], rest[PATH_MAX];
	if (split(sub, base, sizeof(base), rest, sizeof(rest)) < 0 || state_dir_path(sub, out, cap) < 0)
		return cerr_set(err, ENOENT, "no place for the %s: neither XDG_STATE_HOME nor HOME is set", what);
	/* The base is the user's own choice: made when missing (XDG_STATE_HOME need not exist yet). Tried
	 * first as it is: this runs at every start. */
	_cleanup_close_ int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0 && errno == ENOENT) {
		for (char *p = base + 1; *p; p++)
			if (*p == '/') {
				*p = '\0';
				mkdir(base, 0700);
				*p = '/';
			}
		mkdir(base, 0700);
		bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (bfd < 0)
		return cerr_sys(err, errno, "%s directory's base `%s`", what, base);
	int fd = dir_walk_nofollow(bfd, rest, 0700);
	if (fd < 0)
		return cerr_sys(err, errno, "%s directory `%s`: %s", what, out,
				errno == ELOOP ? "a component is not a directory (a symlink is refused)" : "cannot open it");
	return fd;
}
