// SPDX-License-Identifier: Apache-2.0
/* File system actions, and the same through io_uring. */
#include "probe.h"

/* ------------------------------------------------------------------------------------------ */
/* File system actions                                                                        */

ACTION(act_write)
{
	return open_and_write(argv[0], O_WRONLY | O_CREAT | O_TRUNC, data_arg(argc, argv, 1));
}

ACTION(act_create)
{
	return open_and_write(argv[0], O_WRONLY | O_CREAT | O_EXCL, DEFAULT_DATA);
}

ACTION(act_append)
{
	return open_and_write(argv[0], O_WRONLY | O_APPEND, data_arg(argc, argv, 1));
}

ACTION(act_truncate)
{
	long long len = 0;
	if (argc > 1 && !parse_ll(argv[1], &len))
		return usage_error("truncate: bad length");
	if (truncate(argv[0], (off_t)len) < 0)
		return fail(errno, "truncate %s", argv[0]);
	return okay(NULL);
}

ACTION(act_mkdir)
{
	if (mkdir(argv[0], 0755) < 0)
		return fail(errno, "mkdir %s", argv[0]);
	return okay(NULL);
}

ACTION(act_rmdir)
{
	if (rmdir(argv[0]) < 0)
		return fail(errno, "rmdir %s", argv[0]);
	return okay(NULL);
}

ACTION(act_unlink)
{
	if (unlink(argv[0]) < 0)
		return fail(errno, "unlink %s", argv[0]);
	return okay(NULL);
}

ACTION(act_rename)
{
	if (renameat2(AT_FDCWD, argv[0], AT_FDCWD, argv[1], 0) < 0)
		return fail(errno, "rename %s -> %s", argv[0], argv[1]);
	return okay(NULL);
}

ACTION(act_exchange)
{
	if (renameat2(AT_FDCWD, argv[0], AT_FDCWD, argv[1], RENAME_EXCHANGE) < 0)
		return fail(errno, "renameat2(RENAME_EXCHANGE) %s <-> %s", argv[0], argv[1]);
	return okay(NULL);
}

ACTION(act_chmod)
{
	char *end = NULL;
	unsigned long mode = strtoul(argv[1], &end, 8);
	if (*argv[1] == '\0' || *end != '\0' || mode > 07777)
		return usage_error("chmod: MODE is octal");
	if (chmod(argv[0], (mode_t)mode) < 0)
		return fail(errno, "chmod %s %lo", argv[0], mode);
	return okay(NULL);
}

ACTION(act_chown)
{
	int uid = 0, gid = 0;
	if (!parse_int(argv[1], &uid) || !parse_int(argv[2], &gid))
		return usage_error("chown: UID and GID are numbers (-1 keeps)");
	if (chown(argv[0], (uid_t)uid, (gid_t)gid) < 0)
		return fail(errno, "chown %s %d:%d", argv[0], uid, gid);
	return okay(NULL);
}

ACTION(act_utimes)
{
	/* A fixed, recognisable time: 2001-09-09. */
	struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	if (utimensat(AT_FDCWD, argv[0], ts, 0) < 0)
		return fail(errno, "utimensat %s", argv[0]);
	return okay(NULL);
}

ACTION(act_setxattr)
{
	if (setxattr(argv[0], argv[1], argv[2], strlen(argv[2]), 0) < 0)
		return fail(errno, "setxattr %s %s", argv[0], argv[1]);
	return okay(NULL);
}

ACTION(act_getxattr)
{
	char buf[256], show[MAX_SHOW];
	ssize_t n = getxattr(argv[0], argv[1], buf, sizeof(buf));
	if (n < 0)
		return fail(errno, "getxattr %s %s", argv[0], argv[1]);
	printable(show, sizeof(show), buf, (size_t)n);
	return okay("%s", show);
}

ACTION(act_mkfifo)
{
	if (mknod(argv[0], S_IFIFO | 0644, 0) < 0)
		return fail(errno, "mknod(fifo) %s", argv[0]);
	return okay(NULL);
}

ACTION(act_mknod)
{
	int maj = 0, min = 0;
	if (!parse_int(argv[1], &maj) || !parse_int(argv[2], &min))
		return usage_error("mknod: MAJOR MINOR are numbers");
	if (mknod(argv[0], S_IFCHR | 0666, makedev((unsigned)maj, (unsigned)min)) < 0)
		return fail(errno, "mknod(chr %d,%d) %s", maj, min, argv[0]);
	return okay(NULL);
}

ACTION(act_symlink)
{
	if (symlink(argv[0], argv[1]) < 0)
		return fail(errno, "symlink %s -> %s", argv[1], argv[0]);
	return okay(NULL);
}

ACTION(act_link)
{
	if (link(argv[0], argv[1]) < 0)
		return fail(errno, "link %s -> %s", argv[1], argv[0]);
	return okay(NULL);
}

bool fill_sun(struct sockaddr_un *su, socklen_t *len, const char *name, bool abstract)
{
	size_t n = strlen(name);
	memset(su, 0, sizeof(*su));
	su->sun_family = AF_UNIX;
	if (n + 1 > sizeof(su->sun_path))
		return false;
	/* An abstract name starts with a NUL byte and is not NUL-terminated; a path is. */
	memcpy(su->sun_path + (abstract ? 1 : 0), name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return true;
}

ACTION(act_bind_unix)
{
	struct sockaddr_un su;
	socklen_t len = 0;
	if (!fill_sun(&su, &len, argv[0], false))
		return usage_error("bind-unix: path too long");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(AF_UNIX)");
	if (bind(fd, (struct sockaddr *)&su, len) < 0)
		return fail(errno, "bind %s", argv[0]);
	return okay(NULL);
}

/* Makes a file with O_TMPFILE in DIR and, with NEWPATH, gives it that name with linkat. */
ACTION(act_tmpfile)
{
	int fd = open(argv[0], O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(errno, "open(O_TMPFILE) %s", argv[0]);
	int err = write_all(fd, DEFAULT_DATA);
	if (err)
		return fail(err, "write O_TMPFILE");
	if (argc < 2)
		return okay("unnamed");
	/* The /proc route needs no privilege; AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH. */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, argv[1], AT_SYMLINK_FOLLOW) == 0)
		return okay("linked via /proc");
	int proc_err = errno;
	if (linkat(fd, "", AT_FDCWD, argv[1], AT_EMPTY_PATH) == 0)
		return okay("linked via AT_EMPTY_PATH");
	return fail(errno, "linkat O_TMPFILE -> %s (via /proc: %s)", argv[1], errname(proc_err));
}

static bool parse_resolve(const char *spec, __u64 *out)
{
	static const struct {
		const char *name;
		__u64 flag;
	} names[] = {
		{ "none", 0 },
		{ "beneath", RESOLVE_BENEATH },
		{ "in-root", RESOLVE_IN_ROOT },
		{ "no-symlinks", RESOLVE_NO_SYMLINKS },
		{ "no-magiclinks", RESOLVE_NO_MAGICLINKS },
		{ "no-xdev", RESOLVE_NO_XDEV },
		{ "cached", RESOLVE_CACHED },
	};
	char buf[256];
	if (strlen(spec) >= sizeof(buf))
		return false;
	strcpy(buf, spec);
	*out = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool found = false;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(tok, names[i].name) == 0) {
				*out |= names[i].flag;
				found = true;
			}
		}
		if (!found)
			return false;
	}
	return true;
}

/* openat2 DIR REL RESOLVE [DATA]: opens REL relative to DIR for writing (creating it). */
ACTION(act_openat2)
{
	struct open_how how = { .flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, .mode = 0644 };
	if (!parse_resolve(argv[2], &how.resolve))
		return usage_error("openat2: RESOLVE is a comma list of none,beneath,in-root,no-symlinks,"
				   "no-magiclinks,no-xdev,cached");
	int dfd = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(errno, "open %s", argv[0]);
	int fd = (int)syscall(SYS_openat2, dfd, argv[1], &how, sizeof(how));
	if (fd < 0)
		return fail(errno, "openat2 %s / %s", argv[0], argv[1]);
	int err = write_all(fd, data_arg(argc, argv, 3));
	if (err)
		return fail(err, "write");
	return okay(NULL);
}

/* createat DIR NAME and mkdirat DIR NAME: the name resolved against a directory fd, not a path. */
ACTION(act_createat)
{
	int dfd = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(errno, "open %s", argv[0]);
	int fd = openat(dfd, argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(errno, "openat(%s, %s, O_CREAT)", argv[0], argv[1]);
	return okay(NULL);
}

ACTION(act_mkdirat)
{
	int dfd = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(errno, "open %s", argv[0]);
	if (mkdirat(dfd, argv[1], 0755) < 0)
		return fail(errno, "mkdirat(%s, %s)", argv[0], argv[1]);
	return okay(NULL);
}

/* proc-fd-mkdir DIR NAME: opens DIR, then makes /proc/self/fd/N/NAME (a magic link as parent). */
ACTION(act_proc_fd_mkdir)
{
	char path[PATH_MAX];
	int dfd = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(errno, "open %s", argv[0]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, argv[1]);
	if (mkdir(path, 0755) < 0)
		return fail(errno, "mkdir %s", path);
	return okay(NULL);
}

static bool path_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	return n > 0 && (size_t)n < len;
}

/*
 * race-mkdir DIR NAME MS: races a path check. A child keeps flipping the symlink DIR/race-link
 * between DIR/race-safe and DIR itself while this process keeps calling mkdir(DIR/race-link/NAME).
 * A checker that resolves the path and then lets the kernel resolve it again can be made to
 * approve race-safe/NAME and see DIR/NAME made. ok = NAME appeared directly in DIR within MS (the
 * probe then at once writes NAME/planted in it).
 */
ACTION(act_race_mkdir)
{
	int ms = 0;
	if (!parse_int(argv[2], &ms) || ms <= 0)
		return usage_error("race-mkdir: DIR NAME MS");
	char safe[PATH_MAX], lnk[PATH_MAX], tmp[PATH_MAX], via[PATH_MAX], top[PATH_MAX], made[PATH_MAX];
	if (!path_join(safe, sizeof(safe), argv[0], "race-safe") ||
	    !path_join(lnk, sizeof(lnk), argv[0], "race-link") ||
	    !path_join(tmp, sizeof(tmp), argv[0], "race-tmp") || !path_join(via, sizeof(via), lnk, argv[1]) ||
	    !path_join(top, sizeof(top), argv[0], argv[1]) || !path_join(made, sizeof(made), safe, argv[1]))
		return usage_error("race-mkdir: path too long");
	if ((mkdir(safe, 0755) < 0 && errno != EEXIST) || (symlink(safe, lnk) < 0 && errno != EEXIST))
		return fail(errno, "race-mkdir setup in %s", argv[0]);
	fflush(stdout);
	pid_t flipper = fork();
	if (flipper < 0)
		return fail(errno, "fork");
	if (flipper == 0) {
		for (unsigned i = 0;; i++) {
			unlink(tmp);
			if (symlink(i & 1 ? argv[0] : safe, tmp) == 0)
				rename(tmp, lnk);
		}
	}
	long tries = 0, landed_safe = 0;
	int last = 0;
	struct stat st;
	for (long long end = now_ms() + ms; now_ms() < end; tries++) {
		if (mkdir(via, 0755) < 0) {
			last = errno;
			continue;
		}
		if (lstat(top, &st) == 0) {
			/* Won: fill it at once, before anything outside can react. */
			char planted[PATH_MAX];
			int fd = path_join(planted, sizeof(planted), top, "planted")
					 ? open(planted, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)
					 : -1;
			bool filled = fd >= 0 && write_all(fd, DEFAULT_DATA) == 0;
			kill(flipper, SIGKILL);
			waitpid(flipper, NULL, 0);
			return okay("%s made after %ld tries%s", top, tries, filled ? ", and filled" : "");
		}
		landed_safe++;
		rmdir(made);
	}
	kill(flipper, SIGKILL);
	waitpid(flipper, NULL, 0);
	return fail(last ? last : EAGAIN, "%s never appeared in %ld tries (%ld made in race-safe)", top,
		    tries, landed_safe);
}

ACTION(act_proc_root_write)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/root%s", argv[0]);
	return open_and_write(path, O_WRONLY | O_CREAT | O_TRUNC, data_arg(argc, argv, 1));
}

ACTION(act_proc_cwd_write)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/cwd/%s", argv[0]);
	return open_and_write(path, O_WRONLY | O_CREAT | O_TRUNC, data_arg(argc, argv, 1));
}

/* Opens PATH read-only, then reopens that open file for writing through /proc/self/fd. */
ACTION(act_reopen_write)
{
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(argv[0], O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s", argv[0]);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return open_and_write(proc, O_WRONLY, data_arg(argc, argv, 1));
}

ACTION(act_read)
{
	char buf[MAX_SHOW], show[MAX_SHOW];
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s", argv[0]);
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return fail(errno, "read %s", argv[0]);
	printable(show, sizeof(show), buf, (size_t)n);
	return okay("%s", show);
}

ACTION(act_readdir)
{
	char names[MAX_SHOW * 2] = "";
	size_t used = 0;
	int count = 0;
	DIR *d = opendir(argv[0]);
	if (!d)
		return fail(errno, "opendir %s", argv[0]);
	errno = 0;
	for (struct dirent *e = readdir(d); e; e = readdir(d)) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		count++;
		int n = snprintf(names + used, sizeof(names) - used, " %s", e->d_name);
		if (n > 0 && (size_t)n < sizeof(names) - used)
			used += (size_t)n;
	}
	if (errno)
		return fail(errno, "readdir %s", argv[0]);
	closedir(d);
	return okay("%d%s", count, names);
}

ACTION(act_stat)
{
	struct stat st;
	if (lstat(argv[0], &st) < 0)
		return fail(errno, "lstat %s", argv[0]);
	return okay("mode=%o uid=%u gid=%u size=%lld", (unsigned)st.st_mode, (unsigned)st.st_uid,
		    (unsigned)st.st_gid, (long long)st.st_size);
}

/* ------------------------------------------------------------------------------------------ */
/* io_uring: set up a ring and, for the file actions, submit one request and reap it.         */

struct uring {
	int fd;
	struct io_uring_params p;
	unsigned char *sq;
	unsigned char *cq;
	struct io_uring_sqe *sqes;
};

static int uring_open(struct uring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = (int)syscall(SYS_io_uring_setup, 4, &r->p);
	if (r->fd < 0)
		return -errno;
	size_t sq_len = r->p.sq_off.array + r->p.sq_entries * sizeof(unsigned);
	size_t cq_len = r->p.cq_off.cqes + r->p.cq_entries * sizeof(struct io_uring_cqe);
	bool single = r->p.features & IORING_FEAT_SINGLE_MMAP;
	if (single && cq_len > sq_len)
		sq_len = cq_len;
	r->sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->sq == MAP_FAILED)
		return -errno;
	r->cq = single ? r->sq
		       : mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			      IORING_OFF_CQ_RING);
	if (r->cq == MAP_FAILED)
		return -errno;
	r->sqes = mmap(NULL, r->p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	return 0;
}

/* Submits sqe, waits for its completion and returns the completion's res (a -errno on failure). */
static int uring_run(struct uring *r, const struct io_uring_sqe *sqe)
{
	unsigned *tail = (unsigned *)(r->sq + r->p.sq_off.tail);
	unsigned mask = *(unsigned *)(r->sq + r->p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(r->sq + r->p.sq_off.array);
	unsigned t = *tail, idx = t & mask;
	r->sqes[idx] = *sqe;
	array[idx] = idx;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	unsigned *head = (unsigned *)(r->cq + r->p.cq_off.head);
	unsigned cmask = *(unsigned *)(r->cq + r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(r->cq + r->p.cq_off.cqes);
	unsigned h = __atomic_load_n(head, __ATOMIC_ACQUIRE);
	int res = cqes[h & cmask].res;
	__atomic_store_n(head, h + 1, __ATOMIC_RELEASE);
	return res;
}

ACTION(act_uring_setup)
{
	struct uring r;
	int err = uring_open(&r);
	if (err < 0)
		return fail(-err, "io_uring_setup");
	return okay("io_uring fd %d", r.fd);
}

ACTION(act_uring_openat)
{
	struct uring r;
	int err = uring_open(&r);
	if (err < 0)
		return fail(-err, "io_uring_setup");
	struct io_uring_sqe sqe = { .opcode = IORING_OP_OPENAT, .fd = AT_FDCWD };
	sqe.addr = (uint64_t)(uintptr_t)argv[0];
	sqe.len = 0644;
	sqe.open_flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	int fd = uring_run(&r, &sqe);
	if (fd < 0)
		return fail(-fd, "IORING_OP_OPENAT %s", argv[0]);
	err = write_all(fd, data_arg(argc, argv, 1));
	if (err)
		return fail(err, "write %s", argv[0]);
	return okay("opened through io_uring");
}

ACTION(act_uring_mkdir)
{
	struct uring r;
	int err = uring_open(&r);
	if (err < 0)
		return fail(-err, "io_uring_setup");
	struct io_uring_sqe sqe = { .opcode = IORING_OP_MKDIRAT, .fd = AT_FDCWD, .len = 0755 };
	sqe.addr = (uint64_t)(uintptr_t)argv[0];
	int res = uring_run(&r, &sqe);
	if (res < 0)
		return fail(-res, "IORING_OP_MKDIRAT %s", argv[0]);
	return okay("made through io_uring");
}
