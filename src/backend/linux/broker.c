// SPDX-License-Identifier: Apache-2.0
/*
 * The protected-names broker. A protected name that does not exist yet has no inode to mount over,
 * and a placeholder created on the host would be a stray file. Instead, the seccomp filter sends the
 * calls that create, remove or rename a directory entry (open and openat only with O_CREAT) here, to
 * the supervisor, which reads the path from the caller's memory, resolves its parent directory inside
 * the sandbox's own root, and denies the call when (parent, name) is guarded.
 *
 * CONTINUE is never the security decision: the path can change between this check and the kernel's
 * own lookup. What CONTINUE lets through is still subject to the mount and Landlock layers; and for
 * the race that would create a guarded name, the broker itself is the backstop: every call it lets go
 * on marks the guarded names for a re-check (at once, again RECHECK_MS later when the kernel has
 * surely finished the call, and always when the run ends). A guarded name that appeared, vanished or
 * changed kills the sandbox; what appeared is moved into a quarantine directory (a guarded symlink is
 * restored). Who made it cannot be known (it may be the user, working beside the sandbox), so it is
 * moved aside, never deleted, when the quarantine is on the same file system.
 *
 * (An inotify watch would see it sooner, but closing an inotify fd that holds a watch waits for an
 * SRCU grace period in the kernel: 15-30 ms on every run.)
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/dirwalk.h"
#include "common/error.h"
#include "core/paths.h"

#define RECHECK_MS 50

struct guard {
	const struct guarded_name *g;
	dev_t dev;
	ino_t ino;
	int dirfd;        /* O_PATH of the directory, for the re-checks and repairs */
	char *link_text;  /* the guarded entry was a symlink: its text, to restore it */
	struct stat entry; /* what the entry was at the start (when it existed): dev, inode, type */
};

struct broker {
	const struct plan *plan;
	struct observer *obs;
	struct guard *guards;
	size_t n;
	int notify_fd;
	bool dirty;             /* a call went on since the last clean check */
	struct timespec last_continue;
	bool violated;
	char violation[512];
	char repaired[PATH_MAX + NAME_MAX + 200]; /* where the entry went, for the message */
};

/* Where a syscall names the entries it creates or removes: (dirfd arg or -1 for the cwd, path arg). */
struct target {
	int dirfd_arg;
	int path_arg;
};

struct entry_call {
	int nr;
	struct target t[2];
	int nt;
};

static const struct entry_call entry_calls[] = {
	{SYS_mkdir, {{-1, 0}}, 1},          {SYS_mkdirat, {{0, 1}}, 1},
	{SYS_open, {{-1, 0}}, 1},           {SYS_openat, {{0, 1}}, 1},
	{SYS_openat2, {{0, 1}}, 1},         {SYS_creat, {{-1, 0}}, 1},
	{SYS_mknod, {{-1, 0}}, 1},          {SYS_mknodat, {{0, 1}}, 1},
	{SYS_symlink, {{-1, 1}}, 1},        {SYS_symlinkat, {{1, 2}}, 1},
	{SYS_link, {{-1, 1}}, 1},           {SYS_linkat, {{2, 3}}, 1},
	{SYS_rename, {{-1, 0}, {-1, 1}}, 2}, {SYS_renameat, {{0, 1}, {2, 3}}, 2},
	{SYS_renameat2, {{0, 1}, {2, 3}}, 2}, {SYS_unlink, {{-1, 0}}, 1},
	{SYS_unlinkat, {{0, 1}}, 1},        {SYS_rmdir, {{-1, 0}}, 1},
};

/* Can the sandbox write in the directory `dirfd` (a path in its own view)? */
static bool sandbox_writable(const struct broker *b, int dirfd)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return true; /* cannot tell: assume the worst */
	path[n] = '\0';
	if (path_is_under(path, "/tmp") || path_is_under(path, "/dev/shm"))
		return true;
	for (size_t i = 0; i < b->plan->nops; i++)
		if (mop_writable(b->plan->ops[i].kind) && path_is_under(path, b->plan->ops[i].path))
			return true;
	return false;
}

/*
 * True when the path to `parent` passes through a symlink that the sandbox could flip between this
 * check and the kernel's own lookup (one in a directory it can write). Only paths that end in a
 * guarded name are walked, so the cost is paid only there.
 */
static bool flippable_symlink(const struct broker *b, int rfd, const char *parent)
{
	char buf[PATH_MAX], prefix[PATH_MAX] = ".";
	int n = snprintf(buf, sizeof(buf), "%s", parent);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return true; /* cannot be walked whole: treat as unsafe */
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		_cleanup_close_ int dir = (int)syscall(SYS_openat2, rfd, prefix, &how, sizeof(how));
		struct stat st;
		if (dir < 0)
			return true;
		if (fstatat(dir, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && sandbox_writable(b, dir))
			return true;
		size_t len = strlen(prefix);
		if (len + 1 + strlen(c) >= sizeof(prefix))
			return true;
		prefix[len] = '/';
		strcpy(prefix + len + 1, c);
	}
	return false;
}

/* Is the entry `path` names (relative to dirfd) a guarded one, as the process at `pid` sees it?
 * Returns the guard, or NULL. A guarded name whose parent cannot be resolved exactly from here (a
 * magic link such as /proc/self/cwd, which would name the supervisor; a path that does not fit; a
 * symlink the sandbox could flip) counts as guarded: refusing is safe, guessing is not. */
static const struct guard *guarded(struct broker *b, pid_t pid, int dirfd, const char *path)
{
	char name[NAME_MAX + 1];
	lx_final_name(path, name);
	const struct guard *named = NULL;
	for (size_t i = 0; i < b->n && !named; i++)
		if (strcmp(b->guards[i].g->name, name) == 0)
			named = &b->guards[i];
	if (!named)
		return NULL; /* the common case: no need to resolve anything */
	char parent[PATH_MAX * 2 + 2], root[64];
	if (lx_parent_of(pid, dirfd, path, parent, sizeof(parent)) < 0)
		return named;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return named;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int pfd = (int)syscall(SYS_openat2, rfd, parent, &how, sizeof(how));
	struct stat st;
	if (pfd < 0 || fstat(pfd, &st) < 0)
		return named;
	/* A symlink the sandbox can flip would let the kernel's lookup reach another directory than
	 * this one did: a guarded name is not created through one. */
	if (flippable_symlink(b, rfd, parent))
		return named;
	for (size_t i = 0; i < b->n; i++)
		if (b->guards[i].dev == st.st_dev && b->guards[i].ino == st.st_ino && strcmp(b->guards[i].g->name, name) == 0)
			return &b->guards[i];
	return NULL;
}

static bool creates(pid_t pid, const struct seccomp_data *d)
{
	/* With the observer, opens without O_CREAT come here too. */
	if (d->nr == SYS_open)
		return d->args[1] & O_CREAT;
	if (d->nr == SYS_openat)
		return d->args[2] & O_CREAT;
	if (d->nr == SYS_openat2) {
		struct open_how how;
		struct iovec local = {.iov_base = &how, .iov_len = sizeof(how)};
		struct iovec remote = {.iov_base = (void *)(uintptr_t)d->args[2], .iov_len = sizeof(how)};
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(how))
			return true; /* look at the name anyway */
		return how.flags & O_CREAT;
	}
	return true;
}

/* Decides one notification: 0 to let the kernel go on, or an errno to deny. */
static int decide(struct broker *b, const struct seccomp_notif *req, const struct guard **hit)
{
	pid_t pid = (pid_t)req->pid;
	const struct seccomp_data *d = &req->data;
	if (d->nr == SYS_bind) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		size_t len = d->args[2] < sizeof(sun) ? (size_t)d->args[2] : sizeof(sun);
		struct iovec local = {.iov_base = &sun, .iov_len = len};
		struct iovec remote = {.iov_base = (void *)(uintptr_t)d->args[1], .iov_len = len};
		if (len <= offsetof(struct sockaddr_un, sun_path) || process_vm_readv(pid, &local, 1, &remote, 1, 0) <= 0 ||
		    sun.sun_family != AF_UNIX || sun.sun_path[0] == '\0')
			return 0;
		sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
		*hit = guarded(b, pid, AT_FDCWD, sun.sun_path);
		return *hit ? EACCES : 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(entry_calls); i++) {
		if (entry_calls[i].nr != (int)d->nr)
			continue;
		if (!creates(pid, d))
			return 0;
		for (int t = 0; t < entry_calls[i].nt; t++) {
			const struct target *tg = &entry_calls[i].t[t];
			char path[PATH_MAX];
			int e = lx_read_path(pid, d->args[tg->path_arg], path);
			if (e)
				return e; /* what the kernel would answer; never let an unread path go on */
			int dirfd = tg->dirfd_arg < 0 ? AT_FDCWD : (int)(int32_t)d->args[tg->dirfd_arg];
			if ((*hit = guarded(b, pid, dirfd, path)))
				return EACCES;
		}
	}
	return 0;
}

static void on_notify(struct broker *b)
{
	struct seccomp_notif req;
	memset(&req, 0, sizeof(req));
	if (ioctl(b->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return;
	const struct guard *hit = NULL;
	int e = decide(b, &req, &hit);
	if (e && hit && b->obs)
		observer_protected(b->obs, hit->g->dir, hit->g->name);
	else if (!e && b->obs)
		e = observer_decide(b->obs, &req);
	struct seccomp_notif_resp resp = {.id = req.id};

	/* The pid may have been reused while we read its memory: only answer (and record) a live
	 * request. */
	bool valid = ioctl(b->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0;
	if (b->obs)
		observer_settle(b->obs, valid);
	if (!valid)
		return;
	if (e) {
		resp.error = -e;
		if (hit && getenv("CORDON_DEBUG_BROKER"))
			fprintf(stderr, "cordon: denied entry %s/%s\n", hit->g->dir, hit->g->name);
	} else {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		b->dirty = true;
		clock_gettime(CLOCK_MONOTONIC, &b->last_continue);
	}
	ioctl(b->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* Is the guarded entry what it was at the start: absent if it was, else the same inode, type and
 * (for a symlink) text? An entry replaced by another one (rename over, RENAME_EXCHANGE) is not. */
static bool entry_intact(const struct guard *g)
{
	struct stat st;
	bool present = fstatat(g->dirfd, g->g->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (present != g->g->existed)
		return false;
	if (!present)
		return true;
	if (st.st_dev != g->entry.st_dev || st.st_ino != g->entry.st_ino ||
	    (st.st_mode & S_IFMT) != (g->entry.st_mode & S_IFMT))
		return false;
	if (g->link_text) {
		char text[PATH_MAX];
		ssize_t tl = readlinkat(g->dirfd, g->g->name, text, sizeof(text) - 1);
		return tl >= 0 && (size_t)tl == strlen(g->link_text) && memcmp(text, g->link_text, (size_t)tl) == 0;
	}
	return true;
}

/* Is every guarded entry as it was at the start? Records the first that is not. */
static bool names_intact(struct broker *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct guard *g = &b->guards[i];
		if (!entry_intact(g)) {
			if (!b->violated)
				snprintf(b->violation, sizeof(b->violation), "%s/%s", strcmp(g->g->dir, "/") ? g->g->dir : "",
					 g->g->name);
			b->violated = true;
			return false;
		}
	}
	return true;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

int broker_timeout_ms(const struct broker *b)
{
	if (!b->dirty)
		return -1;
	long left = RECHECK_MS - ms_since(&b->last_continue);
	return left > 0 ? (int)left : 0;
}

bool broker_check(struct broker *b, bool final)
{
	if (!b->dirty && !final)
		return b->violated;
	if (!names_intact(b))
		return true;
	/* Clean, and no call went on in the last RECHECK_MS: nothing can still be on its way. */
	if (ms_since(&b->last_continue) >= RECHECK_MS)
		b->dirty = false;
	return false;
}

struct broker *broker_new(const struct plan *plan, struct observer *obs, struct cordon_error **err)
{
	struct broker *b = calloc(1, sizeof(*b));
	if (!b || !(b->guards = calloc(plan->nguarded ? plan->nguarded : 1, sizeof(*b->guards)))) {
		free(b);
		cerr_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	b->notify_fd = -1;
	b->plan = plan;
	b->obs = obs;
	for (size_t i = 0; i < plan->nguarded; i++) {
		struct guard *g = &b->guards[b->n];
		struct stat st;
		g->g = &plan->guarded[i];
		g->dirfd = -1;
		if (stat(g->g->dir, &st) < 0) {
			cerr_sys(err, errno, "protected path's directory `%s`", g->g->dir);
			broker_free(b);
			return NULL;
		}
		g->dev = st.st_dev;
		g->ino = st.st_ino;
		g->dirfd = open(g->g->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (g->dirfd < 0) {
			cerr_sys(err, errno, "open `%s`", g->g->dir);
			broker_free(b);
			return NULL;
		}
		char text[PATH_MAX];
		if (g->g->existed && fstatat(g->dirfd, g->g->name, &g->entry, AT_SYMLINK_NOFOLLOW) < 0) {
			cerr_sys(err, errno, "protected path `%s/%s`", g->g->dir, g->g->name);
			broker_free(b);
			return NULL;
		}
		ssize_t tl = S_ISLNK(g->entry.st_mode) ? readlinkat(g->dirfd, g->g->name, text, sizeof(text) - 1) : -1;
		if (tl >= 0) {
			text[tl] = '\0';
			g->link_text = strdup(text);
		}
		b->n++;
	}
	return b;
}

/* Linux 6.6: the notifying thread and the supervisor hand the CPU to each other on a notification
 * and its answer, instead of waking through the scheduler: on a busy machine that wait is most of
 * a round trip's cost. Headers older than 6.6 lack the names. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

void broker_set_notify_fd(struct broker *b, int fd)
{
	b->notify_fd = fd;
	/* Older kernels answer EINVAL: the round trips are then merely slower. */
	ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	if (b->notify_fd >= 0)
		close(b->notify_fd);
	for (size_t i = 0; i < b->n; i++) {
		free(b->guards[i].link_text);
		if (b->guards[i].dirfd >= 0)
			close(b->guards[i].dirfd);
	}
	free(b->guards);
	free(b);
}

int broker_fds(struct broker *b, struct pollfd *pfd)
{
	pfd[0] = (struct pollfd){.fd = b->notify_fd, .events = POLLIN};
	return 1;
}

void broker_handle(struct broker *b, struct pollfd *pfd)
{
	if (pfd[0].revents & POLLIN)
		on_notify(b);
	if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
		close(b->notify_fd);
		b->notify_fd = -1;
	}
}

/* Lets cordon (same uid as the sandbox, which made the entry) enter and change a directory the
 * sandbox made read-only: moving a directory to another parent, or emptying it, needs that. */
static void make_writable(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		fchmodat(dirfd, name, (st.st_mode & 07777) | S_IRWXU, 0);
}

/* Removes `name` beneath dirfd without following any symlink (at most 256 levels deep). */
static void remove_tree(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT || depth > 256)
		return;
	make_writable(dirfd, name);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		int dfd = dup(fd);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_tree(fd, de->d_name, depth + 1);
		if (d)
			closedir(d);
		else if (dfd >= 0)
			close(dfd);
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/*
 * Opens $XDG_STATE_HOME/cordon/quarantine (default ~/.local/state/cordon/quarantine), making missing
 * directories 0700, one component at a time without following a symlink: cordon moves things there
 * with its own rights, so the sandbox must not be able to point it elsewhere. A quarantine inside a
 * writable root is refused for the same reason (the sandbox could have prepared it).
 */
static int open_quarantine(const struct broker *b)
{
	char path[PATH_MAX];
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = lx_home();
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(path, sizeof(path), "%s/cordon/quarantine", xdg);
	else if (home)
		n = snprintf(path, sizeof(path), "%s/.local/state/cordon/quarantine", home);
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = rootfd < 0 ? -1 : dir_walk_nofollow(rootfd, path + 1, 0700);
	if (fd < 0)
		return -1;
	char link[64], real[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t rl = readlink(link, real, sizeof(real) - 1);
	bool inside = rl <= 0;
	if (rl > 0)
		real[rl] = '\0';
	for (size_t i = 0; !inside && i < b->plan->nops; i++)
		inside = mop_writable(b->plan->ops[i].kind) && path_is_under(real, b->plan->ops[i].path);
	if (inside) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Moves dir/name into the quarantine; removes it only when it cannot be moved (another file system,
 * or no trustworthy quarantine). */
static void set_aside(struct broker *b, int dirfd, const char *name)
{
	_cleanup_close_ int q = open_quarantine(b);
	make_writable(dirfd, name); /* a directory is moved to another parent only if it is writable */
	char dest[NAME_MAX + 64];
	snprintf(dest, sizeof(dest), "%ld-%d-%s", (long)time(NULL), getpid(), name);
	if (q >= 0 && renameat(dirfd, name, q, dest) == 0) {
		char qpath[PATH_MAX], link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", q);
		ssize_t rl = readlink(link, qpath, sizeof(qpath) - 1);
		qpath[rl > 0 ? rl : 0] = '\0';
		snprintf(b->repaired, sizeof(b->repaired), "moved to %s/%s", qpath, dest);
		return;
	}
	remove_tree(dirfd, name, 0);
	snprintf(b->repaired, sizeof(b->repaired), "removed (no quarantine outside the writable roots on the same "
						   "file system)");
}

/* After the sandbox is dead: undo what a race let through, through the directory fds held since the
 * start (reopening the paths could follow a symlink swapped into one of them). */
void broker_repair(struct broker *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct guard *g = &b->guards[i];
		if (entry_intact(g))
			continue;
		struct stat st;
		bool present = fstatat(g->dirfd, g->g->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (!g->g->existed && present) {
			set_aside(b, g->dirfd, g->g->name);
		} else if (g->link_text) {
			if (present)
				set_aside(b, g->dirfd, g->g->name);
			if (symlinkat(g->link_text, g->dirfd, g->g->name) == 0)
				snprintf(b->repaired + strlen(b->repaired), sizeof(b->repaired) - strlen(b->repaired),
					 "%sthe symlink restored", present ? "; " : "");
		}
	}
	/* Say what is still wrong rather than claim a repair. */
	for (size_t i = 0; i < b->n; i++)
		if (!entry_intact(&b->guards[i])) {
			snprintf(b->repaired, sizeof(b->repaired),
				 "could NOT be put back: `%s/%s` is not what it was; inspect it before trusting it",
				 b->guards[i].g->dir, b->guards[i].g->name);
			return;
		}
}

const char *broker_violation(const struct broker *b)
{
	return b->violated ? b->violation : NULL;
}

const char *broker_repaired(const struct broker *b)
{
	return b->repaired[0] ? b->repaired : "was already back as it was";
}

