// SPDX-License-Identifier: Apache-2.0
/* Resolves a policy against this machine: real paths, what exists, what kind of file it is. Nothing
 * here follows a symlink planted inside a writable root into a bind mount: protected entries are
 * looked at with lstat, and only their resolved target (checked to lie inside a writable root) is
 * ever mounted over. */
#include "backend/linux/linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "core/paths.h"

static enum rkind kind_of(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return RK_DIR;
	if (S_ISREG(st->st_mode))
		return RK_FILE;
	if (S_ISLNK(st->st_mode))
		return RK_SYMLINK;
	return RK_OTHER;
}

const char *lx_home(void)
{
	const char *h = getenv("HOME");
	if (h && h[0] == '/')
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/* Makes `path` absolute (relative to cwd, `~` expanded). */
static char *absolute(const char *path, const char *cwd, const char *what, struct cordon_error **err)
{
	_cleanup_free_ char *exp = path_expand_home(path, lx_home());
	if (!exp) {
		cerr_set(err, EINVAL, "%s `%s`: cannot expand `~` (is HOME set?)", what, path);
		return NULL;
	}
	char *abs = path_join_normalize(cwd, exp);
	if (!abs)
		cerr_set(err, ENOMEM, "out of memory");
	return abs;
}

static const char *const forbidden_roots[] = {"/proc", "/sys", "/dev", NULL};

static int add_writable(struct resolved *r, const char *given, const char *cwd, struct cordon_error **err)
{
	_cleanup_free_ char *abs = absolute(given, cwd, "writable root", err);
	if (!abs)
		return -1;
	char real[PATH_MAX];
	if (!realpath(abs, real))
		return cerr_sys(err, errno, "writable root `%s`", given);
	struct stat st;
	if (stat(real, &st) < 0)
		return cerr_sys(err, errno, "writable root `%s`", given);
	if (!S_ISDIR(st.st_mode))
		return cerr_set(err, ENOTDIR, "writable root `%s`: not a directory", given);
	for (int i = 0; forbidden_roots[i]; i++)
		if (path_is_under(real, forbidden_roots[i]))
			return cerr_set(err, EINVAL, "writable root `%s`: %s cannot be made writable", given,
					forbidden_roots[i]);
	for (size_t i = 0; i < r->writable.n; i++)
		if (strcmp(r->writable.v[i].path, real) == 0)
			return 0;
	return rlist_push(&r->writable, real, RK_DIR, NULL) < 0 ? cerr_set(err, ENOMEM, "out of memory") : 0;
}

/*
 * A protected PATH inside a writable root. The parent is resolved; the last component is not
 * followed. When the parent itself does not exist yet, the first missing component is what gets
 * guarded: nothing can then be created under it.
 */
static int add_protected(struct resolved *r, const char *abs, struct cordon_error **err)
{
	_cleanup_free_ char *path = strdup(abs);
	if (!path)
		return cerr_set(err, ENOMEM, "out of memory");
	for (;;) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return 0; /* protecting a top-level directory: it is read-only unless writable */
		*slash = '\0';
		char parent[PATH_MAX];
		if (realpath(path, parent)) {
			*slash = '/';
			_cleanup_free_ char *full = NULL;
			if (asprintf(&full, "%s/%s", strcmp(parent, "/") ? parent : "", slash + 1) < 0)
				return cerr_set(err, ENOMEM, "out of memory");
			bool inside = false;
			for (size_t i = 0; i < r->writable.n; i++) {
				if (strcmp(full, r->writable.v[i].path) == 0) {
					cerr_set(err, EINVAL, "--protect `%s`: is a writable root itself", abs);
					return cerr_hint(err, "protect paths inside writable roots; to make a root read-only, "
							      "drop it from --writable or use --mode read-only");
				}
				inside |= path_is_under(full, r->writable.v[i].path);
			}
			if (!inside)
				return 0; /* outside every writable root it is read-only already */
			for (size_t i = 0; i < r->protect.n; i++)
				if (strcmp(r->protect.v[i].path, full) == 0)
					return 0;
			struct stat st;
			enum rkind k = lstat(full, &st) == 0 ? kind_of(&st) : RK_MISSING;
			char target[PATH_MAX];
			const char *t = k == RK_SYMLINK && realpath(full, target) ? target : NULL;
			if (rlist_push(&r->protect, full, k, t) < 0)
				return cerr_set(err, ENOMEM, "out of memory");
			return 0;
		}
		if (errno != ENOENT)
			return cerr_sys(err, errno, "protected path `%s`", abs);
	}
}

static int resolve_protect(struct resolved *r, const struct cordon_policy *p, struct cordon_error **err)
{
	struct strv all = {0};
	int rc = 0;
	if (p->default_protect)
		for (int i = 0; policy_default_protect[i]; i++)
			rc |= strv_push(&all, policy_default_protect[i]);
	rc |= strv_extend(&all, &p->protect);
	if (rc) {
		strv_clear(&all);
		return cerr_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < all.n && rc == 0; i++) {
		const char *s = all.v[i];
		if (path_is_bare_name(s)) {
			for (size_t w = 0; w < r->writable.n && rc == 0; w++) {
				_cleanup_free_ char *full = NULL;
				if (asprintf(&full, "%s/%s", strcmp(r->writable.v[w].path, "/") ? r->writable.v[w].path : "",
					     s) < 0)
					rc = cerr_set(err, ENOMEM, "out of memory");
				else
					rc = add_protected(r, full, err);
			}
		} else {
			_cleanup_free_ char *abs = absolute(s, r->cwd, "protected path", err);
			rc = abs ? add_protected(r, abs, err) : -1;
		}
	}
	strv_clear(&all);
	return rc;
}

static bool under_writable(const struct resolved *r, const char *path)
{
	for (size_t i = 0; i < r->writable.n; i++)
		if (path_is_under(path, r->writable.v[i].path))
			return true;
	return false;
}

static bool hidden_already(const struct resolved *r, const char *path)
{
	if ((path_is_under(path, "/tmp") || path_is_under(path, "/run")) && !under_writable(r, path))
		return true; /* the private /tmp and the empty /run */
	for (size_t i = 0; i < r->deny_read.n; i++)
		if (r->deny_read.v[i].kind == RK_DIR && path_is_under(path, r->deny_read.v[i].path))
			return true;
	return false;
}

/* For a path that does not resolve: its longest existing prefix resolved, the rest kept as given. */
static char *real_or_prefix(const char *abs)
{
	char real[PATH_MAX];
	_cleanup_free_ char *head = strdup(abs);
	if (!head)
		return NULL;
	for (char *slash = strrchr(head, '/'); slash && slash != head; slash = strrchr(head, '/')) {
		*slash = '\0';
		if (realpath(head, real)) {
			char *out = NULL;
			if (asprintf(&out, "%s%s", strcmp(real, "/") ? real : "", abs + (slash - head)) < 0)
				return NULL;
			return out;
		}
	}
	return strdup(abs);
}

/* The Landlock read layer covers deny paths outside the writable roots, including ones that do not
 * exist yet: a file created or swapped in at that name during the run stays unreadable. */
static int add_read_deny(struct resolved *r, const char *canon)
{
	if (strcmp(canon, "/") == 0 || under_writable(r, canon) || path_is_under(canon, "/tmp") ||
	    path_is_under(canon, "/run") || path_is_under(canon, "/proc") || path_is_under(canon, "/dev"))
		return 0;
	for (size_t i = 0; i < r->read_deny.n; i++)
		if (strcmp(r->read_deny.v[i].path, canon) == 0)
			return 0;
	return rlist_push(&r->read_deny, canon, RK_MISSING, NULL);
}

static int add_deny(struct resolved *r, const char *given, bool is_default, struct cordon_error **err)
{
	_cleanup_free_ char *exp = path_expand_home(given, lx_home());
	if (!exp) {
		if (is_default)
			return 0; /* no home: the default list has nothing to hide */
		return cerr_set(err, EINVAL, "deny-read path `%s`: cannot expand `~` (is HOME set?)", given);
	}
	_cleanup_free_ char *abs = path_join_normalize(r->cwd, exp);
	if (!abs)
		return cerr_set(err, ENOMEM, "out of memory");
	/* One resolution serves both layers: the mask needs the real path of what exists, Landlock the
	 * real path even of what does not exist yet (its longest existing prefix resolved). */
	char real[PATH_MAX];
	bool exists = realpath(abs, real) != NULL;
	int e = errno;
	_cleanup_free_ char *canon = exists ? strdup(real) : real_or_prefix(abs);
	if (!canon || add_read_deny(r, canon) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	if (!exists) {
		if (e == ENOENT || e == ENOTDIR || e == EACCES)
			return 0; /* nothing there to hide, or unreadable to us already and so to the sandbox */
		return cerr_sys(err, e, "deny-read path `%s`", given);
	}
	if (hidden_already(r, real))
		return 0;
	if (strcmp(real, "/") == 0)
		return cerr_set(err, EINVAL, "deny-read path `%s`: cannot hide the root directory", given);
	struct stat st;
	if (stat(real, &st) < 0)
		return 0;
	for (size_t i = 0; i < r->deny_read.n; i++)
		if (strcmp(r->deny_read.v[i].path, real) == 0)
			return 0;
	if (rlist_push(&r->deny_read, real, S_ISDIR(st.st_mode) ? RK_DIR : RK_FILE, NULL) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

static int resolve_run_keep(struct resolved *r)
{
	if (r->network != CORDON_NETWORK_ON)
		return 0;
	/* With the network on, name resolution must keep working: keep the directory that holds the
	 * resolver's configuration when /etc/resolv.conf points into /run (systemd-resolved, resolvconf). */
	char real[PATH_MAX];
	if (realpath("/etc/resolv.conf", real) && path_is_under(real, "/run")) {
		char *slash = strrchr(real, '/');
		*slash = '\0';
		if (strcmp(real, "/run") != 0 && rlist_push(&r->run_keep, real, RK_DIR, NULL) < 0)
			return -1;
	}
	return 0;
}


/*
 * The host's bound pathname unix sockets (docker.sock, ssh-agent, a database's socket), from
 * /proc/net/unix, that the sandbox could otherwise see. Sockets bound later, or bound with a relative
 * path, are not listed here; /run and /tmp, where most live, are hidden whole.
 */
static int add_socket(struct resolved *r, const char *real)
{
	for (size_t i = 0; i < r->sockets.n; i++)
		if (strcmp(r->sockets.v[i].path, real) == 0)
			return 0;
	return rlist_push(&r->sockets, real, RK_OTHER, NULL);
}

/* Every socket file in `dir`: /proc/net/unix keeps the name a socket was bound with, so one renamed
 * or hard-linked into place (OpenSSH installs ControlMaster sockets that way) is found by looking at
 * the directory it was bound in. Masking a stale socket file costs nothing. */
static int add_sockets_in(struct resolved *r, const char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real) || hidden_already(r, real))
		return 0;
	_cleanup_close_ int dfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int lfd = dfd >= 0 ? dup(dfd) : -1;
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return 0; /* unreadable to us: out of the sandbox's reach as well */
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		struct stat st;
		if ((de->d_type != DT_SOCK && de->d_type != DT_UNKNOWN) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		char path[PATH_MAX + NAME_MAX + 2];
		if (snprintf(path, sizeof(path), "%s/%s", strcmp(real, "/") ? real : "", de->d_name) < (int)sizeof(path))
			rc = add_socket(r, path);
	}
	closedir(d);
	return rc;
}

/*
 * The host's bound pathname unix sockets (docker.sock, ssh-agent, a database's socket), from
 * /proc/net/unix, that the sandbox could otherwise see: every socket file in each directory one was
 * bound in. Sockets bound after the start, bound by a relative path, or moved to another directory
 * are not found; /run and /tmp, where most live, are hidden whole.
 */
static int resolve_sockets(struct resolved *r, struct cordon_error **err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return 0; /* no /proc/net/unix: nothing to learn, the masks of /run and /tmp still hold */
	char line[PATH_MAX + 128];
	struct strv dirs = {0};
	int rc = 0;
	if (!fgets(line, sizeof(line), f))
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *path = strchr(line, '/');
		if (!path || path == line || path[-1] != ' ' || hidden_already(r, path))
			continue; /* unnamed, abstract (@...), relative, or hidden already */
		char *slash = strrchr(path, '/');
		*slash = '\0';
		const char *dir = *path ? path : "/";
		if (!strv_contains(&dirs, dir))
			rc = strv_push(&dirs, dir);
	}
	for (size_t i = 0; rc == 0 && i < dirs.n; i++)
		rc = add_sockets_in(r, dirs.v[i]);
	strv_clear(&dirs);
	return rc < 0 ? cerr_set(err, ENOMEM, "out of memory") : 0;
}

/* The audit log's file or directory: read-only in every mode; guarded inside a writable root. */
static int resolve_audit(struct resolved *r, const char *audit_path, struct cordon_error **err)
{
	char real[PATH_MAX];
	if (!realpath(audit_path, real))
		return cerr_sys(err, errno, "audit log `%s`", audit_path);
	for (size_t i = 0; i < r->writable.n; i++)
		if (path_is_under(r->writable.v[i].path, real)) {
			cerr_set(err, EINVAL, "writable root `%s` would hold the audit log `%s` or lie inside it",
				 r->writable.v[i].path, real);
			return cerr_hint(err, "log elsewhere with --audit FILE, or drop that writable root");
		}
	if (!(r->audit_path = strdup(real)))
		return cerr_set(err, ENOMEM, "out of memory");
	if (r->mode == CORDON_MODE_FULL_ACCESS)
		return 0;
	/* Read-only and guarded like a protected path; and unreadable too, as a deny-read path: the log
	 * holds other runs' commands, which are not this one's business. */
	return add_protected(r, real, err) < 0 ? -1 : add_deny(r, real, false, err);
}

int lx_resolve_hide(struct resolved *r, const char *path, const char *what, struct cordon_error **err)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return errno == ENOENT ? 0 : cerr_sys(err, errno, "%s `%s`", what, path);
	for (size_t i = 0; i < r->writable.n; i++)
		if (path_is_under(r->writable.v[i].path, real)) {
			cerr_set(err, EINVAL, "writable root `%s` lies inside the %s `%s`", r->writable.v[i].path, what, real);
			return cerr_hint(err, "drop that writable root, or set XDG_STATE_HOME elsewhere");
		}
	if (r->mode == CORDON_MODE_FULL_ACCESS)
		return 0;
	return add_protected(r, real, err) < 0 ? -1 : add_deny(r, real, false, err);
}

int lx_resolve(const struct cordon_policy *p, const char *audit_path, struct resolved *r, struct cordon_error **err)
{
	memset(r, 0, sizeof(*r));
	r->mode = p->mode;
	/* full-access means no file or network restriction, unless --network off was asked for. */
	if (policy_network_in_force(p, &r->network, err) < 0)
		return -1;
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof(buf)))
		return cerr_sys(err, errno, "current directory");
	_cleanup_free_ char *cwd = strdup(buf);
	if (!cwd)
		return cerr_set(err, ENOMEM, "out of memory");

	const char *ws = p->workspace ? p->workspace : cwd;
	_cleanup_free_ char *wabs = absolute(ws, cwd, "workspace", err);
	if (!wabs)
		return -1;
	if (!realpath(wabs, buf))
		return cerr_sys(err, errno, "workspace `%s`", ws);
	struct stat st;
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))
		return cerr_set(err, ENOTDIR, "workspace `%s`: not a directory", ws);
	if (!(r->workspace = strdup(buf)))
		return cerr_set(err, ENOMEM, "out of memory");
	r->cwd = path_is_under(cwd, r->workspace) ? steal_ptr(&cwd) : strdup(r->workspace);
	if (!r->cwd)
		return cerr_set(err, ENOMEM, "out of memory");

	if (p->mode == CORDON_MODE_WORKSPACE_WRITE) {
		if (add_writable(r, r->workspace, "/", err) < 0)
			return cerr_prefix(err, "workspace");
		for (size_t i = 0; i < p->writable.n; i++)
			if (add_writable(r, p->writable.v[i], r->cwd, err) < 0)
				return -1;
	}
	if (audit_path && resolve_audit(r, audit_path, err) < 0)
		return -1;
	if (p->mode == CORDON_MODE_FULL_ACCESS)
		return 0;
	if (resolve_protect(r, p, err) < 0)
		return -1;
	if (p->default_deny_read)
		for (int i = 0; policy_default_deny_read[i]; i++)
			if (add_deny(r, policy_default_deny_read[i], true, err) < 0)
				return -1;
	for (size_t i = 0; i < p->deny_read.n; i++)
		if (add_deny(r, p->deny_read.v[i], false, err) < 0)
			return -1;
	if (resolve_run_keep(r) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return resolve_sockets(r, err);
}
