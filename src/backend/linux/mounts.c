// SPDX-License-Identifier: Apache-2.0
/*
 * Builds the sandbox's view of the file system, inside its own mount namespace, and pivots into it.
 *
 *   1. a tmpfs over /tmp (private to this namespace) becomes the new root; the old root is put at
 *      /oldroot, and /oldroot is bound recursively at /newroot;
 *   2. /newroot is made read-only (and nosuid, nodev) **recursively** with mount_setattr(AT_RECURSIVE):
 *      a plain read-only remount would not reach submounts;
 *   3. the plan's operations go on top, ancestors first: the private /tmp, an empty /run, writable
 *      roots bound read-write from /oldroot, protected paths read-only on top, deny-read masks;
 *   4. a minimal /dev, a new /proc for the new PID namespace, with its dangerous files read-only;
 *   5. pivot into /newroot and detach everything else.
 *
 * Sources and targets are opened with openat2(RESOLVE_NO_SYMLINKS) beneath their root and mounted
 * through /proc/self/fd: a symlink swapped into a path after it was resolved makes the run fail
 * instead of redirecting a bind mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"

#define BASE "/tmp"
#define NEWROOT "/newroot"
#define OLDROOT "/oldroot"

int lx_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int lx_mount_setattr_rec(int dfd, const char *path, uint64_t set, uint64_t clr)
{
	struct mount_attr attr = {.attr_set = set, .attr_clr = clr};
	unsigned flags = AT_RECURSIVE | AT_NO_AUTOMOUNT | (path[0] ? 0 : AT_EMPTY_PATH);
	return mount_setattr(dfd, path, flags, &attr, sizeof(attr));
}

int lx_open_beneath(int root_fd, const char *path, int flags, bool no_symlinks)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* Between the two pivots the only /proc is the host's, under /oldroot. */
static int fdpath(char buf[static 40], int fd)
{
	snprintf(buf, 40, OLDROOT "/proc/self/fd/%d", fd);
	return 0;
}

/* Creates `path` beneath root_fd (a directory or an empty file), with missing parents, without
 * following symlinks. Used only inside fresh tmpfs mounts that this process made. */
static int make_mountpoint(int root_fd, const char *path, bool dir, struct cordon_error **err)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return cerr_set(err, ENAMETOOLONG, "mount point `%s`", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdirat(root_fd, buf + 1, 0755) < 0 && errno != EEXIST)
			return cerr_sys(err, errno, "create mount point `%s`", buf);
		*p = '/';
	}
	int rc = dir ? mkdirat(root_fd, buf + 1, 0755) : mknodat(root_fd, buf + 1, S_IFREG | 0600, 0);
	if (rc < 0 && errno != EEXIST)
		return cerr_sys(err, errno, "create mount point `%s`", path);
	return 0;
}

/* Opens `path` beneath /newroot as a mount target; creates it first when it is missing. */
static int open_target(int newroot, const char *path, bool dir, struct cordon_error **err)
{
	int fd = lx_open_beneath(newroot, path, O_PATH | O_NOFOLLOW, true);
	if (fd < 0 && errno == ENOENT) {
		if (make_mountpoint(newroot, path, dir, err) < 0)
			return -1;
		fd = lx_open_beneath(newroot, path, O_PATH | O_NOFOLLOW, true);
	}
	if (fd < 0)
		return cerr_sys(err, errno, "open mount point `%s` (a symlink planted in the path is refused)", path);
	return fd;
}

enum bind_kind { BIND_RW, BIND_RO, BIND_DEVICE };

static int bind_path(int oldroot, int newroot, const char *path, enum bind_kind kind, struct cordon_error **err)
{
	_cleanup_close_ int src = lx_open_beneath(oldroot, path, O_PATH | O_NOFOLLOW, true);
	if (src < 0)
		return cerr_sys(err, errno, "open `%s` to bind (a symlink planted in the path is refused)", path);
	struct stat st;
	if (fstat(src, &st) < 0)
		return cerr_sys(err, errno, "stat `%s`", path);
	_cleanup_close_ int dst = open_target(newroot, path, S_ISDIR(st.st_mode), err);
	if (dst < 0)
		return -1;
	char s[40], d[40];
	fdpath(s, src);
	fdpath(d, dst);
	if (mount(s, d, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cerr_sys(err, errno, "bind `%s`", path);
	/* Re-open: the target fd still names the directory below the new mount. */
	_cleanup_close_ int top = lx_open_beneath(newroot, path, O_PATH | O_NOFOLLOW, true);
	if (top < 0)
		return cerr_sys(err, errno, "reopen `%s`", path);
	/* Device nodes are bound one by one from the host's /dev: only they keep dev semantics. */
	uint64_t set = MOUNT_ATTR_NOSUID | (kind == BIND_DEVICE ? 0 : MOUNT_ATTR_NODEV) |
		       (kind == BIND_RO ? MOUNT_ATTR_RDONLY : 0);
	if (lx_mount_setattr_rec(top, "", set, 0) < 0)
		return cerr_sys(err, errno, "set attributes of `%s`", path);
	return 0;
}

/*
 * A staged root: overlayfs, mounted in the sandbox's user namespace, with the real directory as its
 * read-only lower layer and the session's layer above it. `userxattr` keeps the overlay's own marks in
 * user.overlay.* (an unprivileged mount may not write trusted.*); it also turns off redirects and
 * metacopy, so the upper layer holds whole files (layer.h reads it).
 */
static int overlay_at(int oldroot, int newroot, const char *path, const char *layer, struct cordon_error **err)
{
	char up[PATH_MAX], wk[PATH_MAX];
	snprintf(up, sizeof(up), "%s/upper", layer);
	snprintf(wk, sizeof(wk), "%s/work", layer);
	_cleanup_close_ int lower = lx_open_beneath(oldroot, path, O_PATH | O_DIRECTORY | O_NOFOLLOW, true);
	_cleanup_close_ int upper = lx_open_beneath(oldroot, up, O_PATH | O_DIRECTORY | O_NOFOLLOW, true);
	_cleanup_close_ int work = lx_open_beneath(oldroot, wk, O_PATH | O_DIRECTORY | O_NOFOLLOW, true);
	if (lower < 0 || upper < 0 || work < 0)
		return cerr_sys(err, errno, "open `%s` or its session layer `%s` (a symlink planted in the path is refused)",
				path, layer);
	_cleanup_close_ int dst = open_target(newroot, path, true, err);
	if (dst < 0)
		return -1;
	char l[40], u[40], w[40], d[40], opts[160];
	fdpath(l, lower);
	fdpath(u, upper);
	fdpath(w, work);
	fdpath(d, dst);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", l, u, w);
	if (mount("overlay", d, "overlay", MS_NOSUID | MS_NODEV, opts) < 0) {
		cerr_sys(err, errno, "mount the staged overlay on `%s` (layer `%s`)", path, layer);
		return cerr_hint(err, "staged mode needs overlayfs in user namespaces (Linux 5.11+) and a session "
				      "directory on a file system with user xattrs (ext4, xfs, btrfs, tmpfs 6.6+); "
				      "see `cordon doctor`");
	}
	return 0;
}

static int tmpfs_at(int newroot, const char *path, const char *opts, struct cordon_error **err)
{
	_cleanup_close_ int dst = open_target(newroot, path, true, err);
	if (dst < 0)
		return -1;
	char d[40];
	fdpath(d, dst);
	if (mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return cerr_sys(err, errno, "mount tmpfs on `%s`", path);
	return 0;
}

static int set_rdonly(int newroot, const char *path, bool recursive, struct cordon_error **err)
{
	_cleanup_close_ int fd = lx_open_beneath(newroot, path, O_PATH | O_NOFOLLOW, true);
	if (fd < 0)
		return cerr_sys(err, errno, "reopen `%s`", path);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
		return cerr_sys(err, errno, "make `%s` read-only", path);
	return 0;
}

static int mask_file(int newroot, const char *path, struct cordon_error **err)
{
	/* An empty file with mode 000, in the base tmpfs that is our root for now. */
	_cleanup_close_ int blank = open("/.mask", O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (blank < 0)
		return cerr_sys(err, errno, "create mask file");
	_cleanup_close_ int dst = lx_open_beneath(newroot, path, O_PATH | O_NOFOLLOW, true);
	if (dst < 0)
		return errno == ENOENT ? 0 : cerr_sys(err, errno, "open `%s` to mask", path);
	char s[40], d[40];
	fdpath(s, blank);
	fdpath(d, dst);
	if (mount(s, d, NULL, MS_BIND, NULL) < 0)
		return cerr_sys(err, errno, "mask `%s`", path);
	return set_rdonly(newroot, path, false, err);
}

static int mask_dir(int newroot, const char *path, struct cordon_error **err)
{
	_cleanup_close_ int dst = lx_open_beneath(newroot, path, O_PATH | O_NOFOLLOW | O_DIRECTORY, true);
	if (dst < 0)
		return errno == ENOENT ? 0 : cerr_sys(err, errno, "open `%s` to mask", path);
	char d[40];
	fdpath(d, dst);
	if (mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=000,size=4k") < 0)
		return cerr_sys(err, errno, "mask `%s`", path);
	return 0;
}

static int apply_op(int oldroot, int newroot, const struct mount_op *op, struct cordon_error **err)
{
	switch (op->kind) {
	case MOP_TMPFS:
		return tmpfs_at(newroot, op->path, "mode=1777", err);
	case MOP_EMPTY_RO:
		return tmpfs_at(newroot, op->path, "mode=0755", err); /* made read-only once populated */
	case MOP_BIND_RW:
		return bind_path(oldroot, newroot, op->path, BIND_RW, err);
	case MOP_OVERLAY:
		return overlay_at(oldroot, newroot, op->path, op->src, err);
	case MOP_BIND_RO:
		return bind_path(oldroot, newroot, op->path, BIND_RO, err);
	case MOP_MASK_DIR:
		return mask_dir(newroot, op->path, err);
	case MOP_MASK_FILE:
		return mask_file(newroot, op->path, err);
	}
	return cerr_set(err, EINVAL, "unknown mount operation %d", (int)op->kind);
}

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};
static const char *const dev_links[][2] = {
	{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
};

static int build_dev(int oldroot, int newroot, struct cordon_error **err)
{
	if (tmpfs_at(newroot, "/dev", "mode=0755", err) < 0)
		return -1;
	for (int i = 0; dev_nodes[i]; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		if (bind_path(oldroot, newroot, path, BIND_DEVICE, err) < 0)
			return -1;
	}
	_cleanup_close_ int dev = lx_open_beneath(newroot, "/dev", O_PATH | O_DIRECTORY, true);
	if (dev < 0)
		return cerr_sys(err, errno, "open /dev");
	for (size_t i = 0; i < ARRAY_LEN(dev_links); i++)
		if (symlinkat(dev_links[i][1], dev, dev_links[i][0]) < 0)
			return cerr_sys(err, errno, "create /dev/%s", dev_links[i][0]);
	_cleanup_close_ int pts = open_target(newroot, "/dev/pts", true, err);
	if (pts < 0)
		return -1;
	char d[40];
	fdpath(d, pts);
	if (mount("devpts", d, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
		return cerr_sys(err, errno, "mount devpts");
	if (tmpfs_at(newroot, "/dev/shm", "mode=1777", err) < 0)
		return -1;
	return set_rdonly(newroot, "/dev", false, err);
}

/* Files of /proc that act on the whole machine rather than on a process. Kept read-only, as
 * container runtimes do: a sandbox started as root is uid 0 and owns them. */
static const char *const proc_readonly[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus",
					    "/proc/fs", "/proc/kcore", NULL};

static int build_proc(int newroot, bool restricted, struct cordon_error **err)
{
	_cleanup_close_ int dst = lx_open_beneath(newroot, "/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW, true);
	if (dst < 0)
		return cerr_sys(err, errno, "open /proc");
	char d[40];
	fdpath(d, dst);
	if (mount("proc", d, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		cerr_sys(err, errno, "mount a new /proc");
		return cerr_hint(err, "the host's /proc may be partly masked (as in some containers); cordon needs a "
				      "fully visible /proc to mount its own");
	}
	if (!restricted)
		return 0;
	for (int i = 0; proc_readonly[i]; i++) {
		_cleanup_close_ int fd = lx_open_beneath(newroot, proc_readonly[i], O_PATH | O_NOFOLLOW, true);
		if (fd < 0)
			continue; /* absent on this kernel */
		char s[40];
		fdpath(s, fd);
		if (mount(s, s, NULL, MS_BIND | MS_REC, NULL) < 0)
			return cerr_sys(err, errno, "bind `%s`", proc_readonly[i]);
		if (set_rdonly(newroot, proc_readonly[i], true, err) < 0)
			return -1;
	}
	return 0;
}

static int enter_base(struct cordon_error **err)
{
	/* Slave: the host's mount events still reach us, ours never reach the host. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return cerr_sys(err, errno, "make / a slave mount");
	if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		return cerr_sys(err, errno, "mount tmpfs on " BASE);
	if (chdir(BASE) < 0 || mkdir("." NEWROOT, 0755) < 0 || mkdir("." OLDROOT, 0755) < 0)
		return cerr_sys(err, errno, "prepare " BASE);
	if (lx_pivot_root(".", "." OLDROOT) < 0)
		return cerr_sys(err, errno, "pivot_root into " BASE);
	if (chdir("/") < 0)
		return cerr_sys(err, errno, "chdir /");
	if (mount(OLDROOT, NEWROOT, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cerr_sys(err, errno, "bind the old root");
	return 0;
}

int lx_build_view(const struct plan *plan, struct cordon_error **err)
{
	if (enter_base(err) < 0)
		return -1;
	_cleanup_close_ int oldroot = open(OLDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return cerr_sys(err, errno, "open the roots");
	if (plan->fs_restricted) {
		uint64_t set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
		if (lx_mount_setattr_rec(newroot, "", set, 0) < 0)
			return cerr_sys(err, errno, "make the root read-only recursively"),
			       cerr_hint(err, "mount_setattr(2) needs Linux 5.12 or later");
		for (size_t i = 0; i < plan->nops; i++)
			if (apply_op(oldroot, newroot, &plan->ops[i], err) < 0)
				return -1;
		for (size_t i = 0; i < plan->nops; i++)
			if (plan->ops[i].kind == MOP_EMPTY_RO && set_rdonly(newroot, plan->ops[i].path, false, err) < 0)
				return -1;
		if (build_dev(oldroot, newroot, err) < 0)
			return -1;
	} else {
		/* Full access: only the audit log is kept read-only (its one op). */
		for (size_t i = 0; i < plan->nops; i++)
			if (apply_op(oldroot, newroot, &plan->ops[i], err) < 0)
				return -1;
	}
	if (build_proc(newroot, plan->fs_restricted, err) < 0)
		return -1;
	if (chdir(NEWROOT) < 0)
		return cerr_sys(err, errno, "chdir " NEWROOT);
	if (lx_pivot_root(".", ".") < 0)
		return cerr_sys(err, errno, "pivot_root into the new root");
	if (umount2(".", MNT_DETACH) < 0)
		return cerr_sys(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return cerr_sys(err, errno, "chdir /");
	return 0;
}

int lx_loopback_up(struct cordon_error **err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return cerr_sys(err, errno, "socket for loopback");
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return cerr_sys(err, errno, "read loopback flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return cerr_sys(err, errno, "bring loopback up");
	return 0;
}
