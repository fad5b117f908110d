// SPDX-License-Identifier: Apache-2.0
/*
 * The audit observer (linux.h). Denials are known here, not guessed from error text: the filter sends
 * the calls that could be refused to the supervisor, which looks at the call as the process made it
 * (its path resolved inside the sandbox's own root, its socket address) and, when the policy refuses
 * it, answers with the very errno the kernel layers would have given, and records the denial.
 *
 * Refusing early never weakens anything: what the observer lets go on (CONTINUE) still meets the
 * mount namespace, Landlock and the rest of the filter, which stay the enforcement. A race between
 * this look and the kernel's own lookup can only cost a record, never a guarantee. The observer
 * refuses only where it is sure the kernel would refuse too (a read-only mount, a deny-read path
 * named without `..`, a destination outside the sandbox's network): it never breaks a call that would
 * have worked.
 *
 * File changes under the writable roots are noted at the call (the state before it) and settled after
 * the run against what is there then: created, modified, deleted or renamed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/audit_log.h"
#include "core/paths.h"

/* At most this many paths are followed for `file` records; past it they are counted. */
#define MAX_TRACKED 200000

struct tracked {
	char *path;
	char *from;     /* the old path, for the target of a rename */
	int64_t ts_ms;  /* first touched */
	bool existed;
	bool moved_away; /* the source of a rename: its disappearance is that rename, not a deletion */
	struct stat before;
};

/* A denial decided for a notification, recorded only once the notification is known to be live:
 * with the pid reused meanwhile, what was read (memory, cwd) was another process's. */
struct pending {
	bool set;
	enum audit_denial_kind kind;
	uint16_t port;
	char target[PATH_MAX * 2 + 2];
	char rule[PATH_MAX + NAME_MAX + 64];
};

struct observer {
	const struct plan *plan;
	struct audit_sink *sink;
	struct pending pending;
	enum cordon_mode mode;
	bool network_off;
	struct tracked *files;
	size_t nfiles, cap;
	size_t *slots; /* index + 1 into files; open addressing, a power of two */
	size_t nslots;
	unsigned long untracked;
	/* Staged mode: an fd of each overlay's root, as the sandbox sees it (the host's path below it is
	 * the real, unchanged directory). -1: not staged. Index: the plan's op. */
	int *view_fds;
};

struct observer *observer_new(const struct plan *plan, const struct cordon_policy *p, struct audit_sink *sink)
{
	struct observer *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->plan = plan;
	o->sink = sink;
	o->mode = p->mode;
	o->network_off = plan->new_netns && !plan->proxy;
	return o;
}

void observer_set_view(struct observer *o, size_t ordinal, int fd)
{
	const struct plan *plan = o->plan;
	if (!o->view_fds && (o->view_fds = malloc(plan->nops * sizeof(int))))
		for (size_t k = 0; k < plan->nops; k++)
			o->view_fds[k] = -1;
	for (size_t i = 0, n = 0; o->view_fds && i < plan->nops; i++)
		if (plan->ops[i].kind == MOP_OVERLAY && n++ == ordinal && o->view_fds[i] < 0) {
			o->view_fds[i] = fd;
			return;
		}
	close(fd);
}

/* lstat() of a path under the writable roots, as the sandbox sees it: through the staged overlay when
 * there is one (it outlives the sandbox while this fd holds it). */
static int view_lstat(const struct observer *o, const char *path, struct stat *st)
{
	size_t best = 0, len = 0;
	for (size_t i = 0; o->view_fds && i < o->plan->nops; i++) {
		size_t n = strlen(o->plan->ops[i].path);
		if (o->view_fds[i] >= 0 && n > len && path_is_under(path, o->plan->ops[i].path)) {
			best = i;
			len = n;
		}
	}
	if (!len)
		return lstat(path, st);
	const char *rel = path + len;
	while (*rel == '/')
		rel++;
	return fstatat(o->view_fds[best], rel, st, AT_SYMLINK_NOFOLLOW | (*rel ? 0 : AT_EMPTY_PATH));
}

void observer_free(struct observer *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nfiles; i++) {
		free(o->files[i].path);
		free(o->files[i].from);
	}
	free(o->files);
	free(o->slots);
	for (size_t i = 0; o->view_fds && i < o->plan->nops; i++)
		if (o->view_fds[i] >= 0)
			close(o->view_fds[i]);
	free(o->view_fds);
	free(o);
}

static void pend(struct observer *o, enum audit_denial_kind kind, const char *target, uint16_t port, const char *rule)
{
	o->pending.set = true;
	o->pending.kind = kind;
	o->pending.port = port;
	snprintf(o->pending.target, sizeof(o->pending.target), "%s", target);
	snprintf(o->pending.rule, sizeof(o->pending.rule), "%s", rule);
}

void observer_settle(struct observer *o, bool valid)
{
	if (o->pending.set && valid)
		audit_sink_denial(o->sink, o->pending.kind, o->pending.target, o->pending.port, o->pending.rule, 1);
	o->pending.set = false;
}

/* ---- which rule refuses a write, for the record */

static const struct mount_op *innermost_op(const struct plan *plan, const char *path)
{
	const struct mount_op *best = NULL;
	for (size_t i = 0; i < plan->nops; i++)
		if (path_is_under(path, plan->ops[i].path) && (!best || strlen(plan->ops[i].path) > strlen(best->path)))
			best = &plan->ops[i];
	return best;
}

static void write_rule(const struct observer *o, const char *path, char *rule, size_t cap)
{
	const struct mount_op *op = innermost_op(o->plan, path);
	if (op && op->kind == MOP_BIND_RO) {
		for (size_t i = 0; i < o->plan->nops; i++)
			if (mop_writable(o->plan->ops[i].kind) && path_is_under(op->path, o->plan->ops[i].path)) {
				snprintf(rule, cap, "protected path %s", op->path);
				return;
			}
	}
	if (op && (op->kind == MOP_MASK_DIR || op->kind == MOP_MASK_FILE)) {
		snprintf(rule, cap, "deny-read path %s", op->path);
		return;
	}
	snprintf(rule, cap, "%s", o->mode == CORDON_MODE_READ_ONLY ? "read-only mode" : "outside writable roots");
}

/* ---- resolving a path in the sandbox's view */

struct target {
	char view[PATH_MAX * 2 + 2]; /* absolute, in the sandbox's view (the same as the host's for binds) */
	int fd;                      /* O_PATH of what the path names (-1 when missing) or of its parent */
	bool exists;
	struct stat st;
};

static void target_release(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The path as the process named it, made absolute against its cwd or dirfd (not resolved). */
static int absolute_view(pid_t pid, int dirfd, const char *path, char *out, size_t cap)
{
	if (path[0] == '/')
		return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
	char base[PATH_MAX];
	if (lx_view_path_of(pid, dirfd, base, sizeof(base)) < 0)
		return -1;
	int n = snprintf(out, cap, "%s/%s", strcmp(base, "/") ? base : "", path);
	return n >= 0 && (size_t)n < cap ? 0 : -1;
}

static int open_in_root(int rfd, const char *path, bool follow)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	return (int)syscall(SYS_openat2, rfd, path, &how, sizeof(how));
}

/* The path's real location in the sandbox's view, through an O_PATH fd we hold. */
static int fd_view(int fd, char *out, size_t cap)
{
	return lx_view_path_of(getpid(), fd, out, cap);
}

/*
 * Resolves what `path` names for the process: t->fd is the object itself when it exists (following a
 * final symlink when `follow`), else its parent directory. -1 when neither can be resolved exactly
 * (the call then goes on untouched: the kernel decides alone).
 */
static int resolve(pid_t pid, int dirfd, const char *path, bool follow, struct target *t)
{
	t->fd = -1;
	t->exists = false;
	char abs[PATH_MAX * 2 + 2];
	if (!path[0] || absolute_view(pid, dirfd, path, abs, sizeof(abs)) < 0)
		return -1;
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -1;
	t->fd = open_in_root(rfd, abs, follow);
	if (t->fd >= 0) {
		t->exists = true;
		if (fstat(t->fd, &t->st) < 0 || fd_view(t->fd, t->view, sizeof(t->view)) < 0) {
			target_release(t);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	char parent[PATH_MAX * 2 + 2], name[NAME_MAX + 1];
	if (lx_parent_of(pid, dirfd, path, parent, sizeof(parent)) < 0)
		return -1;
	lx_final_name(path, name);
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -1;
	t->fd = open_in_root(rfd, parent, true);
	/* The name is there but leads nowhere from here: a dangling symlink (the kernel would create its
	 * target, elsewhere), or one through /proc/self, which names the process itself only for it. */
	struct stat lst;
	if (t->fd >= 0 && follow && fstatat(t->fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0) {
		target_release(t);
		return -1;
	}
	char pview[PATH_MAX];
	if (t->fd < 0 || fd_view(t->fd, pview, sizeof(pview)) < 0 ||
	    snprintf(t->view, sizeof(t->view), "%s/%s", strcmp(pview, "/") ? pview : "", name) >= (int)sizeof(t->view)) {
		target_release(t);
		return -1;
	}
	return 0;
}

static bool on_readonly_mount(int fd)
{
	struct statvfs sv;
	return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* ---- file changes */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int grow(struct observer *o)
{
	size_t nslots = o->nslots ? o->nslots * 2 : 1024;
	size_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < o->nfiles; i++) {
		size_t s = hash_str(o->files[i].path) & (nslots - 1);
		while (slots[s])
			s = (s + 1) & (nslots - 1);
		slots[s] = i + 1;
	}
	free(o->slots);
	o->slots = slots;
	o->nslots = nslots;
	return 0;
}

static bool under_writable_root(const struct observer *o, const char *path)
{
	const struct mount_op *op = innermost_op(o->plan, path);
	return op && mop_writable(op->kind);
}

/* Notes `path` (in the view) before a call that may change it; the first note keeps the state.
 * Returns its index + 1, or 0 when it is not followed: an index, because the next track() may move
 * the array. */
static size_t track(struct observer *o, const char *path)
{
	if (!under_writable_root(o, path))
		return 0;
	if (o->nfiles * 2 >= o->nslots && grow(o) < 0)
		return 0;
	size_t s = hash_str(path) & (o->nslots - 1);
	for (; o->slots[s]; s = (s + 1) & (o->nslots - 1))
		if (strcmp(o->files[o->slots[s] - 1].path, path) == 0)
			return o->slots[s];
	if (o->nfiles >= MAX_TRACKED) {
		o->untracked++;
		return 0;
	}
	if (o->nfiles == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct tracked *f = realloc(o->files, cap * sizeof(*f));
		if (!f)
			return 0;
		o->files = f;
		o->cap = cap;
	}
	struct tracked *t = &o->files[o->nfiles];
	memset(t, 0, sizeof(*t));
	if (!(t->path = strdup(path)))
		return 0;
	t->ts_ms = audit_now_ms();
	t->existed = view_lstat(o, path, &t->before) == 0;
	o->slots[s] = ++o->nfiles;
	return o->nfiles;
}

static bool changed(const struct stat *a, const struct stat *b)
{
	return a->st_ino != b->st_ino || a->st_dev != b->st_dev || a->st_size != b->st_size ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	       a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec ||
	       a->st_mode != b->st_mode;
}

/* The new names of the run's renames, keyed by their old one: settling a source is then one
 * lookup (a scan per source would make a run of many renames quadratic). */
struct renames {
	size_t *slots; /* index + 1 of the target in o->files */
	size_t n;
};

static void renames_build(const struct observer *o, struct renames *r)
{
	r->n = 1;
	while (r->n < o->nfiles * 2 + 2)
		r->n *= 2;
	if (!(r->slots = calloc(r->n, sizeof(*r->slots))))
		return;
	for (size_t i = 0; i < o->nfiles; i++) {
		const struct tracked *t = &o->files[i];
		if (!t->from || t->existed)
			continue;
		size_t s = hash_str(t->from) & (r->n - 1);
		while (r->slots[s])
			s = (s + 1) & (r->n - 1);
		r->slots[s] = i + 1;
	}
}

/* Was `t` moved to a new name, recorded there as `renamed`? */
static bool renamed_source(const struct observer *o, const struct renames *r, const struct tracked *t)
{
	struct stat st;
	if (!t->moved_away || !r->slots)
		return false;
	for (size_t s = hash_str(t->path) & (r->n - 1); r->slots[s]; s = (s + 1) & (r->n - 1)) {
		const struct tracked *to = &o->files[r->slots[s] - 1];
		if (strcmp(to->from, t->path) == 0 && view_lstat(o, to->path, &st) == 0)
			return true;
	}
	return false;
}

void observer_finish(struct observer *o)
{
	const struct audit_ctx *ctx = audit_sink_ctx(o->sink);
	struct renames ren = {0};
	renames_build(o, &ren);
	for (size_t i = 0; i < o->nfiles; i++) {
		struct tracked *t = &o->files[i];
		struct stat now;
		bool exists = view_lstat(o, t->path, &now) == 0;
		char *line = NULL;
		struct stat src;
		if (t->from && !t->existed && exists && view_lstat(o, t->from, &src) < 0) {
			/* A new name for what was at `from`. A rename over an existing file (an editor's
			 * atomic save) is that file modified, and its source created and gone, or deleted. */
			line = audit_file(ctx, t->ts_ms, AUDIT_RENAMED, t->path, t->from);
		} else if (!t->existed && exists) {
			line = audit_file(ctx, t->ts_ms, AUDIT_CREATED, t->path, NULL);
		} else if (t->existed && !exists) {
			if (renamed_source(o, &ren, t))
				continue; /* moved away by a rename, recorded at its target */
			line = audit_file(ctx, t->ts_ms, AUDIT_DELETED, t->path, NULL);
		} else if (t->existed && exists && changed(&t->before, &now)) {
			line = audit_file(ctx, t->ts_ms, AUDIT_MODIFIED, t->path, NULL);
		} else {
			continue;
		}
		audit_sink_write(o->sink, line);
	}
	free(ren.slots);
	if (o->untracked)
		fprintf(stderr, "cordon: warning: %lu more changed paths past the first %d were not followed for the "
				"audit log\n", o->untracked, MAX_TRACKED);
}

/* ---- the calls */

/* Denies a write: the record, and EROFS (what the read-only mount answers). */
static int deny_write(struct observer *o, const char *view)
{
	char rule[PATH_MAX + 64];
	write_rule(o, view, rule, sizeof(rule));
	pend(o, AUDIT_DENY_WRITE, view, 0, rule);
	return EROFS;
}

/*
 * A call that changes what `path` names (an attribute, a time, the size): refused when it is on a
 * read-only mount; else noted as a change. A missing path is the kernel's ENOENT, not a denial.
 */
static int attr_path(struct observer *o, pid_t pid, int dirfd, uint64_t addr, bool follow)
{
	char path[PATH_MAX];
	int e = lx_read_path(pid, addr, path);
	if (e)
		return e;
	struct target t;
	if (resolve(pid, dirfd, path, follow, &t) < 0)
		return 0;
	int rc = 0;
	if (t.exists && on_readonly_mount(t.fd))
		rc = deny_write(o, t.view);
	else if (t.exists)
		track(o, t.view);
	target_release(&t);
	return rc;
}

/* Would the permission bits let the sandbox's processes (the caller's uid and groups, no
 * capabilities: even root's are dropped) write this file? */
static bool dac_writable(const struct stat *st)
{
	if (st->st_uid == geteuid())
		return st->st_mode & S_IWUSR;
	gid_t groups[256];
	int n = getgroups(256, groups);
	bool in_group = st->st_gid == getegid();
	for (int i = 0; i < n && !in_group; i++)
		in_group = groups[i] == st->st_gid;
	return st->st_mode & (in_group ? S_IWGRP : S_IWOTH);
}

/*
 * An open that may write: refused where the kernel would answer EROFS (opening an existing regular
 * file for writing or truncation, or creating a new name, on a read-only mount); else noted. What
 * the kernel answers otherwise goes on: EEXIST for O_EXCL, EISDIR, devices and pipes (writable on a
 * read-only mount), a read-only open with O_CREAT of an existing file.
 */
static int write_open(struct observer *o, pid_t pid, int dirfd, uint64_t addr, int flags)
{
	char path[PATH_MAX];
	int e = lx_read_path(pid, addr, path);
	if (e)
		return e;
	bool excl = (flags & O_CREAT) && (flags & O_EXCL);
	bool wants_write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	struct target t;
	if (resolve(pid, dirfd, path, !(flags & O_NOFOLLOW) && !excl, &t) < 0)
		return 0;
	int rc = 0;
	if (t.exists) {
		/* (A symlink here was not followed: O_NOFOLLOW, the kernel's ELOOP.) Without O_TRUNC the
		 * kernel checks the file's permission bits before the mount: a file the user may not write
		 * anyway is its EACCES, not a denial of the policy. */
		if (!excl && wants_write && S_ISREG(t.st.st_mode) && ((flags & O_TRUNC) || dac_writable(&t.st)))
			rc = on_readonly_mount(t.fd) ? deny_write(o, t.view) : (track(o, t.view), 0);
	} else if (flags & O_CREAT) {
		rc = on_readonly_mount(t.fd) ? deny_write(o, t.view) : (track(o, t.view), 0);
	}
	target_release(&t);
	return rc;
}

/* An entry a call makes, removes or renames, and the directory that decides. */
struct entry {
	struct target t;
	int dir;   /* O_PATH of the entry's directory, or -1: the kernel decides alone */
};

static void entry_release(struct entry *en)
{
	target_release(&en->t);
	if (en->dir >= 0)
		close(en->dir);
	en->dir = -1;
}

/* 0 (en->dir may be -1: nothing to judge), or the errno the kernel would give for the path itself. */
static int entry_resolve(pid_t pid, int dirfd, uint64_t addr, bool makes, struct entry *en)
{
	en->dir = -1;
	en->t.fd = -1;
	char path[PATH_MAX];
	int e = lx_read_path(pid, addr, path);
	if (e)
		return e;
	if (resolve(pid, dirfd, path, false, &en->t) < 0)
		return 0;
	if (en->t.exists && makes)
		return 0; /* EEXIST, the kernel's answer before EROFS */
	if (!en->t.exists) {
		en->dir = en->t.fd; /* resolve() held the parent */
		en->t.fd = -1;
		return 0;
	}
	char p[PATH_MAX * 2 + 2], root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd >= 0 && lx_parent_of(pid, dirfd, path, p, sizeof(p)) == 0)
		en->dir = open_in_root(rfd, p, true);
	return 0;
}

static uint64_t mount_id(int fd)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* The open's flags; -1 for an openat2 with RESOLVE_* flags of its own (scoped lookups this
 * observer does not repeat: the kernel decides alone). */
static int open_flags(pid_t pid, const struct seccomp_data *d, int *flags)
{
	if (d->nr == SYS_open) {
		*flags = (int)d->args[1];
	} else if (d->nr == SYS_openat) {
		*flags = (int)d->args[2];
	} else if (d->nr == SYS_creat) {
		*flags = O_CREAT | O_WRONLY | O_TRUNC;
	} else {
		struct open_how how;
		struct iovec local = {.iov_base = &how, .iov_len = sizeof(how)};
		struct iovec remote = {.iov_base = (void *)(uintptr_t)d->args[2], .iov_len = sizeof(how)};
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(how) || how.resolve)
			return -1;
		*flags = (int)how.flags;
	}
	return 0;
}

/* Is `path` (absolute, in the view) under a deny-read path? Only a path without `..` is judged: with
 * one, a symlink before it could lead anywhere, and the kernel decides alone. */
static const char *deny_read_rule(const struct observer *o, const char *path)
{
	if (strstr(path, "/../") || (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
		return NULL;
	for (size_t i = 0; i < o->plan->nops; i++) {
		const struct mount_op *op = &o->plan->ops[i];
		if ((op->kind == MOP_MASK_DIR || op->kind == MOP_MASK_FILE) && path_is_under(path, op->path))
			return op->path;
	}
	/* (Landlock's read_deny also lists paths that did not exist at the start: a missing one is the
	 * kernel's ENOENT, so those are left to it.) */
	return NULL;
}

static int read_open(struct observer *o, pid_t pid, int dirfd, uint64_t addr, enum audit_denial_kind kind)
{
	char path[PATH_MAX], abs[PATH_MAX * 2 + 2];
	int e = lx_read_path(pid, addr, path);
	if (e)
		return e;
	if (absolute_view(pid, dirfd, path, abs, sizeof(abs)) < 0)
		return 0;
	/* Collapse "//" and "/./" so that the comparison sees the path the kernel walks. */
	char clean[PATH_MAX * 2 + 2];
	size_t n = 0;
	for (const char *p = abs; *p && n + 1 < sizeof(clean);) {
		if (p[0] == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0')))) {
			p += p[1] == '/' ? 1 : 2;
			continue;
		}
		clean[n++] = *p++;
	}
	while (n > 1 && clean[n - 1] == '/')
		n--;
	clean[n ? n : 1] = '\0';
	if (!n)
		clean[0] = '/';
	const char *hit = deny_read_rule(o, clean);
	if (!hit)
		return 0;
	char rule[PATH_MAX + 32];
	snprintf(rule, sizeof(rule), "deny-read path %s", hit);
	pend(o, kind, clean, 0, rule);
	return EACCES;
}

static int on_open(struct observer *o, pid_t pid, const struct seccomp_data *d)
{
	int flags;
	if (open_flags(pid, d, &flags) < 0)
		return 0;
	int dirfd = d->nr == SYS_open || d->nr == SYS_creat ? AT_FDCWD : (int)(int32_t)d->args[0];
	uint64_t addr = d->nr == SYS_open || d->nr == SYS_creat ? d->args[0] : d->args[1];
	/* O_PATH opens nothing for reading or writing (the kernel ignores the access mode). */
	if (!o->plan->fs_restricted || (flags & O_PATH) || !addr)
		return 0;
	/* A deny-read path refuses every open (its mask has mode 000), for reading or writing. */
	bool writes = flags & (O_WRONLY | O_RDWR | O_TRUNC | O_CREAT);
	int e = read_open(o, pid, dirfd, addr, writes ? AUDIT_DENY_WRITE : AUDIT_DENY_READ);
	if (e || !writes)
		return e;
	return write_open(o, pid, dirfd, addr, flags);
}

/* The entry calls: (dirfd arg or -1, path arg) of each name the call makes or removes. */
struct entry_spec {
	int nr;
	int dirfd_arg[2];
	int path_arg[2];
	int n;
	bool makes; /* makes a new name: an existing one is the kernel's EEXIST, before EROFS */
};

static const struct entry_spec entries[] = {
	{SYS_mkdir, {-1}, {0}, 1, true},   {SYS_mkdirat, {0}, {1}, 1, true},   {SYS_mknod, {-1}, {0}, 1, true},
	{SYS_mknodat, {0}, {1}, 1, true},  {SYS_symlink, {-1}, {1}, 1, true},  {SYS_symlinkat, {1}, {2}, 1, true},
	{SYS_link, {-1}, {1}, 1, true},    {SYS_linkat, {2}, {3}, 1, true},    {SYS_unlink, {-1}, {0}, 1, false},
	{SYS_unlinkat, {0}, {1}, 1, false}, {SYS_rmdir, {-1}, {0}, 1, false},
	{SYS_rename, {-1, -1}, {0, 1}, 2, false}, {SYS_renameat, {0, 2}, {1, 3}, 2, false},
	{SYS_renameat2, {0, 2}, {1, 3}, 2, false},
};

static int on_entry(struct observer *o, pid_t pid, const struct entry_spec *es, const struct seccomp_data *d)
{
	if (!o->plan->fs_restricted)
		return 0;
	struct entry en[2];
	size_t noted[2] = {0, 0};
	int rc = 0, n = 0;
	for (; n < es->n && !rc; n++) {
		int dirfd = es->dirfd_arg[n] < 0 ? AT_FDCWD : (int)(int32_t)d->args[es->dirfd_arg[n]];
		rc = entry_resolve(pid, dirfd, d->args[es->path_arg[n]], es->makes, &en[n]);
	}
	/* A rename between two mounts is the kernel's EXDEV, before any EROFS. */
	bool cross = es->n == 2 && !rc && en[0].dir >= 0 && en[1].dir >= 0 && mount_id(en[0].dir) != mount_id(en[1].dir);
	for (int i = 0; i < n && !rc && !cross; i++)
		if (en[i].dir >= 0 && on_readonly_mount(en[i].dir))
			rc = deny_write(o, en[i].t.view);
	for (int i = 0; i < n && !rc && !cross; i++)
		if (en[i].dir >= 0)
			noted[i] = track(o, en[i].t.view);
	for (int i = 0; i < n; i++)
		entry_release(&en[i]);
	if (es->n == 2 && noted[0] && noted[1]) {
		struct tracked *from = &o->files[noted[0] - 1], *to = &o->files[noted[1] - 1];
		from->moved_away = true;
		if (!to->from)
			to->from = strdup(from->path);
	}
	return rc;
}

/* truncate, chmod, chown, utime*, *xattr: (dirfd arg or -1, path arg, follows the final symlink). */
static int on_attr(struct observer *o, pid_t pid, const struct seccomp_data *d)
{
	if (!o->plan->fs_restricted)
		return 0;
	int dirfd = AT_FDCWD, path_arg = 0;
	bool follow = true;
	switch (d->nr) {
	case SYS_lchown:
	case SYS_lsetxattr:
	case SYS_lremovexattr:
		follow = false;
		break;
	case SYS_fchownat:
		follow = !(d->args[4] & AT_SYMLINK_NOFOLLOW);
		dirfd = (int)(int32_t)d->args[0];
		path_arg = 1;
		break;
	case SYS_utimensat:
		follow = !(d->args[3] & AT_SYMLINK_NOFOLLOW);
		if (!d->args[1])
			return 0; /* futimens(): an open descriptor, no path */
		dirfd = (int)(int32_t)d->args[0];
		path_arg = 1;
		break;
	case SYS_fchmodat:
	case SYS_futimesat:
		dirfd = (int)(int32_t)d->args[0];
		path_arg = 1;
		break;
	default:
		break;
	}
	if (!d->args[path_arg])
		return 0; /* futimesat(fd, NULL, ...): the descriptor itself; the kernel decides */
	return attr_path(o, pid, dirfd, d->args[path_arg], follow);
}

/* Loopback, or the "any" address, which Linux connects to loopback. */
static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
		return (a >> 24) == 127 || a == INADDR_ANY;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a))
		return a->s6_addr[12] == 127 || (a->s6_addr[12] | a->s6_addr[13] | a->s6_addr[14] | a->s6_addr[15]) == 0;
	return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a);
}

/* Is the abstract name bound in the network namespace whose /proc/.../net/unix is `table`? */
static bool abstract_bound(const char *table, const char *name, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(table, "re");
	if (!f)
		return false;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *at = strchr(line, '@');
		if (!at)
			continue;
		size_t l = strcspn(at + 1, "\n");
		if (l == len && memcmp(at + 1, name, len) == 0)
			return true;
	}
	return false;
}

/* Abstract: another network namespace's are out of reach (ECONNREFUSED). Only a name bound on the
 * host and not in the sandbox is a denial. */
static int connect_abstract(struct observer *o, pid_t pid, const struct sockaddr_un *sun, size_t plen)
{
	if (!o->plan->new_netns)
		return 0;
	char proc[64], shown[110];
	size_t nl = plen - 1 < sizeof(shown) - 2 ? plen - 1 : sizeof(shown) - 2;
	for (size_t i = 0; i < nl; i++)
		shown[i] = sun->sun_path[1 + i] ? sun->sun_path[1 + i] : '@';
	snprintf(proc, sizeof(proc), "/proc/%d/net/unix", pid);
	if (abstract_bound(proc, shown, nl) || !abstract_bound("/proc/net/unix", shown, nl))
		return 0;
	char target[120];
	snprintf(target, sizeof(target), "@%.*s", (int)nl, shown);
	pend(o, AUDIT_DENY_UNIX_CONNECT, target, 0, "abstract socket outside the sandbox's network namespace");
	return ECONNREFUSED;
}

/* A socket on the host, hidden or masked in the view (a mask answers ECONNREFUSED, the empty /run
 * ENOENT). */
static int connect_path(struct observer *o, pid_t pid, struct sockaddr_un *sun)
{
	if (!o->plan->fs_restricted)
		return 0;
	sun->sun_path[sizeof(sun->sun_path) - 1] = '\0';
	char abs[PATH_MAX * 2 + 2];
	struct stat st;
	if (absolute_view(pid, AT_FDCWD, sun->sun_path, abs, sizeof(abs)) < 0 || strstr(abs, "/../") ||
	    lstat(abs, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	const struct mount_op *op = innermost_op(o->plan, abs);
	if (!op || (op->kind != MOP_MASK_FILE && op->kind != MOP_EMPTY_RO))
		return 0;
	pend(o, AUDIT_DENY_UNIX_CONNECT, abs, 0, "host unix socket");
	return op->kind == MOP_MASK_FILE ? ECONNREFUSED : ENOENT;
}

/* With the network off, any address but loopback: what the sandbox's network, with only its
 * loopback, answers (ENETUNREACH). */
static int connect_inet(struct observer *o, const struct sockaddr_storage *ss)
{
	if (!o->network_off || loopback(ss))
		return 0;
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	pend(o, AUDIT_DENY_CONNECT, host, port, "network off (--network)");
	return ENETUNREACH;
}

static int on_connect(struct observer *o, pid_t pid, const struct seccomp_data *d)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	size_t len = d->args[2] < sizeof(ss) ? (size_t)d->args[2] : sizeof(ss);
	struct iovec local = {.iov_base = &ss, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)d->args[1], .iov_len = len};
	if (len < sizeof(sa_family_t) || process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return 0;
	if (ss.ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		return sun->sun_path[0] == '\0' ? connect_abstract(o, pid, sun, len - offsetof(struct sockaddr_un, sun_path))
						: connect_path(o, pid, sun);
	}
	return ss.ss_family == AF_INET || ss.ss_family == AF_INET6 ? connect_inet(o, &ss) : 0;
}

static const char *ioctl_name(uint32_t req)
{
	return req == TIOCSTI ? "ioctl TIOCSTI" : "ioctl TIOCLINUX";
}

/* A call the filter denies whatever the policy: its errno, and the record. 0 when it is not one. */
static int denied_call(struct observer *o, const struct seccomp_data *d)
{
	char what[64];
	int e = 0;
	if (d->nr == SYS_socket) {
		snprintf(what, sizeof(what), "socket family %u", (unsigned)(uint32_t)d->args[0]);
		e = EAFNOSUPPORT;
	} else if (d->nr == SYS_clone || d->nr == SYS_unshare) {
		snprintf(what, sizeof(what), "%s with namespace flags", d->nr == SYS_clone ? "clone" : "unshare");
		e = EPERM;
	} else if (d->nr == SYS_ioctl) {
		snprintf(what, sizeof(what), "%s", ioctl_name((uint32_t)d->args[1]));
		e = EPERM;
	} else {
		for (size_t i = 0; i < lx_denied_calls_n && !e; i++)
			if (lx_denied_calls[i].nr == (int)d->nr) {
				snprintf(what, sizeof(what), "%s", lx_denied_calls[i].name);
				e = lx_denied_calls[i].err;
			}
	}
	if (e)
		pend(o, AUDIT_DENY_SYSCALL, what, 0, "blocked system call");
	return e;
}

int observer_decide(struct observer *o, const struct seccomp_notif *req)
{
	pid_t pid = (pid_t)req->pid;
	const struct seccomp_data *d = &req->data;
	int e = denied_call(o, d);
	if (e)
		return e;
	switch (d->nr) {
	case SYS_open:
	case SYS_openat:
	case SYS_openat2:
	case SYS_creat:
		return on_open(o, pid, d);
	case SYS_connect:
		return on_connect(o, pid, d);
	case SYS_bind:
		return 0;
	case SYS_truncate:
	case SYS_chmod:
	case SYS_fchmodat:
	case SYS_chown:
	case SYS_lchown:
	case SYS_fchownat:
	case SYS_utime:
	case SYS_utimes:
	case SYS_futimesat:
	case SYS_utimensat:
	case SYS_setxattr:
	case SYS_lsetxattr:
	case SYS_removexattr:
	case SYS_lremovexattr:
		return on_attr(o, pid, d);
	default:
		break;
	}
	for (size_t i = 0; i < ARRAY_LEN(entries); i++)
		if (entries[i].nr == (int)d->nr)
			return on_entry(o, pid, &entries[i], d);
	return 0;
}

void observer_protected(struct observer *o, const char *dir, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2];
	snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", name);
	char rule[PATH_MAX + NAME_MAX + 32];
	snprintf(rule, sizeof(rule), "protected path %s", path);
	pend(o, AUDIT_DENY_WRITE, path, 0, rule);
}
