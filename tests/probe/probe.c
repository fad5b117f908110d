// SPDX-License-Identifier: Apache-2.0
/*
 * probe: performs ONE attack action named on the command line and reports what the kernel said.
 *
 *   probe ACTION ARGS...
 *
 * prints one line, `ok [detail]` or `fail ERRNO-NAME: detail`, and exits 0 when the action
 * succeeded, 1 when it was refused, 2 on a usage error. A process killed by seccomp never gets to
 * print; the caller sees 128+SIGSYS from the sandbox instead. `listen` and `pty` are helpers the
 * tests run on the host side; they stream several lines (documented at their functions).
 *
 * The escape tests run it inside the sandbox to attack, and outside it (as the same user) as a
 * positive control: an attack that also fails outside proves nothing about the sandbox. It is
 * linked statically so that it runs in a sandbox whatever libraries the view hides, and it never
 * uses NSS (no name lookups): addresses and ids are numeric.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>

#define EXIT_OK 0
#define EXIT_REFUSED 1
#define EXIT_USAGE 2

#define DEFAULT_DATA "cordon-probe\n"

/* Every action has the same signature; many ignore one or both arguments. */
#define ACTION(fn) static int fn(int argc __attribute__((unused)), char **argv __attribute__((unused)))
#define MAX_SHOW 200

/* ------------------------------------------------------------------------------------------ */
/* Reporting                                                                                  */

static const char *errname(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "E?";
}

/* Prints `fail ERRNAME: DETAIL: strerror` for err and returns EXIT_REFUSED. */
__attribute__((format(printf, 2, 3))) static int fail(int err, const char *fmt, ...)
{
	va_list ap;
	printf("fail %s: ", errname(err));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", strerror(err));
	fflush(stdout);
	return EXIT_REFUSED;
}

/* Prints `ok` followed by an optional detail and returns EXIT_OK. */
__attribute__((format(printf, 1, 2))) static int okay(const char *fmt, ...)
{
	va_list ap;
	fputs("ok", stdout);
	if (fmt && *fmt) {
		fputc(' ', stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	fputc('\n', stdout);
	fflush(stdout);
	return EXIT_OK;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "probe: %s\n", msg);
	return EXIT_USAGE;
}

/* Copies at most cap bytes of data into out as printable text (other bytes become '.'). */
static void printable(char *out, size_t outlen, const char *data, size_t len)
{
	size_t n = len < outlen - 1 ? len : outlen - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	}
	out[n] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Argument parsing                                                                           */

static bool parse_ull(const char *s, unsigned long long *out)
{
	char *end = NULL;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && end != s && *end == '\0';
}

static bool parse_ll(const char *s, long long *out)
{
	char *end = NULL;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return errno == 0 && end != s && *end == '\0';
}

static bool parse_int(const char *s, int *out)
{
	long long v = 0;
	if (!parse_ll(s, &v) || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

static const char *data_arg(int argc, char **argv, int idx)
{
	return argc > idx ? argv[idx] : DEFAULT_DATA;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all of data to fd; returns 0 or an errno value. */
static int write_all(int fd, const char *data)
{
	size_t len = strlen(data);
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens path with flags, writes data, closes. Returns an exit code after reporting. */
static int open_and_write(const char *path, int flags, const char *data)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(errno, "open %s", path);
	int err = write_all(fd, data);
	if (err) {
		close(fd);
		return fail(err, "write %s", path);
	}
	if (close(fd) < 0)
		return fail(errno, "close %s", path);
	return okay(NULL);
}

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

static bool fill_sun(struct sockaddr_un *su, socklen_t *len, const char *name, bool abstract)
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

/* ------------------------------------------------------------------------------------------ */
/* Network                                                                                    */

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

/* Parses a numeric IPv4 or IPv6 address and a port. No name resolution, ever. */
static bool parse_addr(const char *host, const char *port, struct addr *a)
{
	int p = 0;
	if (!parse_int(port, &p) || p < 0 || p > 65535)
		return false;
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		a->len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*in6);
	} else {
		return false;
	}
	a->family = a->ss.ss_family;
	return true;
}

ACTION(act_tcp)
{
	struct addr a;
	if (!parse_addr(argv[0], argv[1], &a))
		return usage_error("tcp: ADDR must be numeric IPv4/IPv6, PORT 0-65535");
	int fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(tcp)");
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "connect %s port %s", argv[0], argv[1]);
	int err = write_all(fd, data_arg(argc, argv, 2));
	if (err)
		return fail(err, "send");
	return okay("connected");
}

ACTION(act_udp)
{
	struct addr a;
	if (!parse_addr(argv[0], argv[1], &a))
		return usage_error("udp: ADDR must be numeric IPv4/IPv6, PORT 0-65535");
	int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(udp)");
	const char *msg = data_arg(argc, argv, 2);
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "sendto %s port %s", argv[0], argv[1]);
	return okay("sent");
}

static uint16_t inet_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Sends one ICMP echo request carrying the payload, on a raw or a datagram ("ping") socket. */
static int send_icmp(const char *host, const char *payload, int type)
{
	struct addr a;
	if (!parse_addr(host, "0", &a))
		return usage_error("icmp: ADDR must be numeric IPv4/IPv6");
	bool v6 = a.family == AF_INET6;
	int fd = socket(a.family, type | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return fail(errno, "socket(%s, %s)", v6 ? "AF_INET6" : "AF_INET",
			    type == SOCK_RAW ? "SOCK_RAW" : "SOCK_DGRAM");
	unsigned char pkt[8 + 64] = { 0 };
	size_t plen = strlen(payload) < 64 ? strlen(payload) : 64;
	pkt[0] = v6 ? 128 : 8; /* echo request */
	pkt[4] = 0x12;
	pkt[5] = 0x34;
	pkt[7] = 1;
	memcpy(pkt + 8, payload, plen);
	if (!v6) {
		uint16_t sum = inet_checksum(pkt, 8 + plen);
		memcpy(pkt + 2, &sum, 2);
	}
	if (sendto(fd, pkt, 8 + plen, 0, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "sendto(icmp) %s", host);
	return okay("echo request sent");
}

ACTION(act_icmp_raw)
{
	return send_icmp(argv[0], data_arg(argc, argv, 1), SOCK_RAW);
}

ACTION(act_icmp_dgram)
{
	return send_icmp(argv[0], data_arg(argc, argv, 1), SOCK_DGRAM);
}

ACTION(act_packet)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return fail(errno, "socket(AF_PACKET, SOCK_RAW)");
	return okay("packet socket");
}

static int unix_connect(const char *name, bool abstract, const char *msg)
{
	struct sockaddr_un su;
	socklen_t len = 0;
	if (!fill_sun(&su, &len, name, abstract))
		return usage_error("unix socket name too long");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "socket(AF_UNIX)");
	if (connect(fd, (struct sockaddr *)&su, len) < 0)
		return fail(errno, "connect %s%s", abstract ? "@" : "", name);
	int err = write_all(fd, msg);
	if (err)
		return fail(err, "send");
	return okay("connected");
}

ACTION(act_unix_connect)
{
	return unix_connect(argv[0], false, data_arg(argc, argv, 1));
}

ACTION(act_abstract_connect)
{
	return unix_connect(argv[0], true, data_arg(argc, argv, 1));
}

static bool parse_named(const char *s, const char *const *names, const int *values, size_t n,
			unsigned long long *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (unsigned long long)values[i];
			return true;
		}
	}
	return parse_ull(s, out);
}

/* socket DOMAIN TYPE PROTO with 64-bit arguments passed as they are: names or numbers. */
static int raw_socket(char **argv, unsigned long long high)
{
	static const char *const dnames[] = { "unix", "inet", "inet6", "netlink", "packet", "key",
					      "bluetooth", "alg", "vsock", "can", "xdp", "tipc" };
	static const int dvalues[] = { AF_UNIX, AF_INET,     AF_INET6, AF_NETLINK, AF_PACKET, AF_KEY,
				       AF_BLUETOOTH, AF_ALG, AF_VSOCK, AF_CAN, AF_XDP, AF_TIPC };
	static const char *const tnames[] = { "stream", "dgram", "raw", "seqpacket" };
	static const int tvalues[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
	unsigned long long d = 0, t = 0, p = 0;
	if (!parse_named(argv[0], dnames, dvalues, sizeof(dvalues) / sizeof(dvalues[0]), &d) ||
	    !parse_named(argv[1], tnames, tvalues, sizeof(tvalues) / sizeof(tvalues[0]), &t) ||
	    !parse_ull(argv[2], &p))
		return usage_error("socket: DOMAIN TYPE PROTO (names or numbers)");
	d |= high;
	long fd = syscall(SYS_socket, (unsigned long)d, (unsigned long)t, (unsigned long)p);
	if (fd < 0)
		return fail(errno, "socket(0x%llx, %llu, %llu)", d, t, p);
	return okay("socket(0x%llx, %llu, %llu) = %ld", d, t, p, fd);
}

ACTION(act_socket)
{
	return raw_socket(argv, 0);
}

/* Same as socket, with bit 32 set in the domain: the kernel reads an int and drops it, so a
 * seccomp rule that compares all 64 bits would be bypassed. */
ACTION(act_socket_hi)
{
	return raw_socket(argv, 1ULL << 32);
}

static int make_listener(const char *kind, const char *where, const char *port, int *type_out)
{
	bool stream = strncmp(kind, "tcp", 3) == 0 || strcmp(kind, "unix") == 0 ||
		      strcmp(kind, "abstract") == 0;
	int type = stream ? SOCK_STREAM : strncmp(kind, "icmp", 4) == 0 ? SOCK_RAW : SOCK_DGRAM;
	*type_out = type;
	if (strcmp(kind, "unix") == 0 || strcmp(kind, "abstract") == 0) {
		bool abstract = kind[0] == 'a';
		struct sockaddr_un su;
		socklen_t len = 0;
		if (!fill_sun(&su, &len, where, abstract))
			return -ENAMETOOLONG;
		int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&su, len) < 0)
			return -errno;
		/* Anyone may connect: the sandbox, not file modes, must be what stops them. */
		if (!abstract && chmod(where, 0777) < 0)
			return -errno;
		return listen(fd, 16) < 0 ? -errno : fd;
	}
	struct addr a;
	if (!parse_addr(where, port, &a))
		return -EINVAL;
	int proto = type != SOCK_RAW ? 0 : a.family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd = socket(a.family, type | SOCK_CLOEXEC, proto);
	int one = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type != SOCK_RAW && bind(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return -errno;
	if (stream && listen(fd, 16) < 0)
		return -errno;
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Receives one message on the listener: a stream connection's first bytes, a datagram, or an
 * ICMP echo request's payload. Returns its length, 0 for nothing worth reporting, -1 on error. */
static ssize_t receive_one(int fd, int type, bool v6, char *buf, size_t len)
{
	if (type == SOCK_STREAM) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return -1;
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		ssize_t n = poll(&pfd, 1, 2000) > 0 ? read(c, buf, len) : 0;
		close(c);
		return n < 0 ? 0 : n;
	}
	ssize_t n = recv(fd, buf, len, 0);
	if (n < 0 || type != SOCK_RAW)
		return n;
	/* Raw ICMP: IPv4 delivers the IP header too; IPv6 starts at the ICMPv6 header. */
	size_t skip = v6 ? 0 : (size_t)(buf[0] & 0x0f) * 4;
	if ((size_t)n < skip + 8 || (unsigned char)buf[skip] != (v6 ? 128 : 8))
		return 0;
	memmove(buf, buf + skip + 8, (size_t)n - skip - 8);
	return n - (ssize_t)skip - 8;
}

/*
 * listen KIND ADDR PORT SECONDS, a host-side helper. KIND: tcp4 tcp6 udp4 udp6 unix abstract icmp4
 * icmp6 (ADDR is a path or an abstract name for unix/abstract; PORT 0 picks one). Prints
 * `listening PORT`, then `got MESSAGE` for each connection, datagram or echo request received,
 * and ends with `ok stop` (exit 0) when a message starting with STOP arrives, or with a fail
 * line (exit 1) when SECONDS pass first.
 */
ACTION(act_listen)
{
	int type = 0, secs = 0;
	if (!parse_int(argv[3], &secs) || secs <= 0)
		return usage_error("listen: SECONDS must be positive");
	int fd = make_listener(argv[0], argv[1], argv[2], &type);
	if (fd < 0)
		return fail(-fd, "listen %s %s %s", argv[0], argv[1], argv[2]);
	printf("listening %d\n", bound_port(fd));
	fflush(stdout);
	bool v6 = strchr(argv[0], '6') != NULL;
	long long deadline = now_ms() + secs * 1000LL;
	for (long long left = secs * 1000LL; left > 0; left = deadline - now_ms()) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		char buf[512], show[MAX_SHOW];
		ssize_t n = receive_one(fd, type, v6, buf, sizeof(buf));
		if (n <= 0)
			continue;
		printable(show, sizeof(show), buf, (size_t)n);
		printf("got %s\n", show);
		fflush(stdout);
		if (strncmp(show, "STOP", 4) == 0)
			return okay("stop");
	}
	return fail(ETIMEDOUT, "no STOP within %d s", secs);
}

/* loopback tcp4|tcp6|udp4|udp6: a server and a client in this process talk over loopback. */
ACTION(act_loopback)
{
	bool v6 = strchr(argv[0], '6') != NULL;
	bool tcp = strncmp(argv[0], "tcp", 3) == 0;
	const char *host = v6 ? "::1" : "127.0.0.1";
	int type = 0;
	int srv = make_listener(tcp ? (v6 ? "tcp6" : "tcp4") : (v6 ? "udp6" : "udp4"), host, "0", &type);
	if (srv < 0)
		return fail(-srv, "server on %s", host);
	char port[16];
	snprintf(port, sizeof(port), "%d", bound_port(srv));
	struct addr a;
	parse_addr(host, port, &a);
	int cli = socket(a.family, type | SOCK_CLOEXEC, 0);
	if (cli < 0)
		return fail(errno, "client socket");
	if (connect(cli, (struct sockaddr *)&a.ss, a.len) < 0)
		return fail(errno, "connect %s port %s", host, port);
	if (write_all(cli, "ping") != 0)
		return fail(errno, "send");
	struct pollfd pfd = { .fd = srv, .events = POLLIN };
	if (poll(&pfd, 1, 2000) <= 0)
		return fail(ETIMEDOUT, "nothing arrived on %s port %s", host, port);
	char buf[16];
	ssize_t n = receive_one(srv, type, v6, buf, sizeof(buf));
	if (n != 4 || memcmp(buf, "ping", 4) != 0)
		return fail(EPROTO, "wrong data on loopback");
	return okay("%s port %s", host, port);
}

/* ------------------------------------------------------------------------------------------ */
/* Other processes and the terminal                                                           */

static bool parse_pid(const char *s, pid_t *pid)
{
	int v = 0;
	if (!parse_int(s, &v) || v <= 0)
		return false;
	*pid = v;
	return true;
}

ACTION(act_kill)
{
	pid_t pid = 0;
	int sig = 0;
	if (!parse_pid(argv[0], &pid) || !parse_int(argv[1], &sig))
		return usage_error("kill: PID SIGNAL (numbers)");
	if (kill(pid, sig) < 0)
		return fail(errno, "kill(%d, %d)", (int)pid, sig);
	return okay("signal %d sent to %d", sig, (int)pid);
}

ACTION(act_ptrace)
{
	pid_t pid = 0;
	if (!parse_pid(argv[0], &pid))
		return usage_error("ptrace: PID");
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
		return fail(errno, "ptrace(PTRACE_ATTACH, %d)", (int)pid);
	/* Let it go at once: the test checks the target, not how long we could hold it. */
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return okay("attached to %d", (int)pid);
}

ACTION(act_proc_mem)
{
	char path[64];
	pid_t pid = 0;
	if (!parse_pid(argv[0], &pid))
		return usage_error("proc-mem: PID");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s for writing", path);
	return okay("%s open for writing", path);
}

/* Finds the start of a writable private mapping of pid, or returns 0. */
static unsigned long writable_address(pid_t pid)
{
	char path[64], line[512];
	unsigned long start = 0, end = 0;
	char perms[8];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[0] == 'r' &&
		    perms[1] == 'w') {
			fclose(f);
			return start;
		}
	}
	fclose(f);
	return 0;
}

/* Writes one byte into another process (the byte it already holds, when its memory can be
 * read). EFAULT means the kernel granted access and only the address was bad: that counts. */
ACTION(act_vm_write)
{
	pid_t pid = 0;
	if (!parse_pid(argv[0], &pid))
		return usage_error("vm-write: PID");
	unsigned long addr = writable_address(pid);
	char byte = 0;
	struct iovec local = { .iov_base = &byte, .iov_len = 1 };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = 1 };
	if (addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0 && errno != EFAULT)
		return fail(errno, "process_vm_readv(%d)", (int)pid);
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) < 0) {
		if (errno == EFAULT)
			return okay("process_vm_writev(%d) allowed (bad address)", (int)pid);
		return fail(errno, "process_vm_writev(%d)", (int)pid);
	}
	return okay("wrote one byte into %d at 0x%lx", (int)pid, addr);
}

/* Pushes TEXT and a newline into the input of the terminal on fd 0, one byte at a time. */
static int tiocsti(const char *text, unsigned long high)
{
	char line[256];
	snprintf(line, sizeof(line), "%s\n", text);
	for (const char *c = line; *c; c++) {
		if (syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | high, c) < 0)
			return fail(errno, "ioctl(0, TIOCSTI%s)", high ? " | 1<<32" : "");
	}
	return okay("injected");
}

ACTION(act_tiocsti)
{
	return tiocsti(argc > 0 ? argv[0] : "echo cordon-injected", 0);
}

ACTION(act_tiocsti_hi)
{
	return tiocsti(argc > 0 ? argv[0] : "echo cordon-injected", 1UL << 32);
}

/* read-tty MS: reads what is waiting on fd 0 within MS milliseconds: ok = something was there. */
ACTION(act_read_tty)
{
	int ms = 0;
	if (!parse_int(argv[0], &ms))
		return usage_error("read-tty: MS");
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	if (poll(&pfd, 1, ms) <= 0)
		return fail(ETIMEDOUT, "nothing to read on fd 0 within %d ms", ms);
	char buf[256], show[MAX_SHOW];
	ssize_t n = read(0, buf, sizeof(buf));
	if (n <= 0)
		return fail(n < 0 ? errno : ENODATA, "read fd 0");
	printable(show, sizeof(show), buf, (size_t)n);
	return okay("got=%s", show);
}

/* Copies from -> to until nothing comes for timeout_ms; false when from is closed or broken. */
static bool relay(int from, int to, int timeout_ms)
{
	char buf[4096];
	struct pollfd pfd = { .fd = from, .events = POLLIN };
	while (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n <= 0 || write(to, buf, (size_t)n) != n)
			return false;
	}
	return true;
}

/*
 * pty CMD ARGS..., a host-side helper: runs CMD as a session leader with a new pseudo-terminal as
 * its controlling terminal and stdio, copies the terminal's output to stdout, and exits with CMD's
 * status. Nothing is fed to the terminal's input, so whatever CMD reads from it was injected.
 */
ACTION(act_pty)
{
	char name[128];
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		return fail(errno, "posix_openpt");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid == 0) {
		setsid();
		int slave = open(name, O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			_exit(125);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (!relay(master, 1, 100))
			sleep_ms(20);
	}
	relay(master, 1, 100);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

ACTION(act_daemonize)
{
	int ms = 0;
	if (!parse_int(argv[1], &ms) || ms < 0)
		return usage_error("daemonize: MARKER MS");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		return okay("daemon started, marker %s in %d ms", argv[0], ms);
	}
	/* The classic escape from a job: new session, orphaned grandchild, deaf to polite signals. */
	setsid();
	if (fork() != 0)
		_exit(0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd <= 2 && null >= 0; fd++)
		dup2(null, fd);
	sleep_ms(ms);
	int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		char line[64];
		snprintf(line, sizeof(line), "survived pid %d\n", (int)getpid());
		write_all(fd, line);
		close(fd);
	}
	_exit(0);
}

/* sleep MS [TAG...]: the TAG arguments only make the process easy to find with pgrep -f. */
ACTION(act_sleep)
{
	int ms = 0;
	if (!parse_int(argv[0], &ms) || ms < 0)
		return usage_error("sleep: MS");
	sleep_ms(ms);
	return okay(NULL);
}

/* linger MS [TAG...]: like sleep, but ignores SIGHUP, SIGTERM and SIGINT. */
ACTION(act_linger)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	return act_sleep(argc, argv);
}

/* Lists the open file descriptors above stdio, without /proc when it is missing. */
ACTION(act_fds)
{
	char list[1024] = "";
	size_t used = 0;
	struct rlimit rl = { 0 };
	getrlimit(RLIMIT_NOFILE, &rl);
	int max = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	for (int fd = 3; fd < max; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		char path[64], target[256] = "?";
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		int w = snprintf(list + used, sizeof(list) - used, "%s%d:%s", used ? "," : "", fd, target);
		if (w > 0 && (size_t)w < sizeof(list) - used)
			used += (size_t)w;
	}
	return okay("fds=%s", list);
}

/* ------------------------------------------------------------------------------------------ */
/* Privilege                                                                                  */

ACTION(act_whoami)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	return okay("uid=%u euid=%u suid=%u gid=%u egid=%u sgid=%u", (unsigned)r, (unsigned)e,
		    (unsigned)s, (unsigned)rg, (unsigned)eg, (unsigned)sg);
}

ACTION(act_caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return fail(errno, "capget");
	uint64_t eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	uint64_t prm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	uint64_t inh = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
	uint64_t bnd = 0, amb = 0;
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
			bnd |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			amb |= 1ULL << cap;
	}
	return okay("eff=%016" PRIx64 " prm=%016" PRIx64 " inh=%016" PRIx64 " bnd=%016" PRIx64
		    " amb=%016" PRIx64,
		    eff, prm, inh, bnd, amb);
}

ACTION(act_nnp)
{
	int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (v < 0)
		return fail(errno, "prctl(PR_GET_NO_NEW_PRIVS)");
	return okay("no_new_privs=%d", v);
}

ACTION(act_seccomp)
{
	int v = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	if (v < 0)
		return fail(errno, "prctl(PR_GET_SECCOMP)");
	return okay("seccomp=%d", v);
}

ACTION(act_setuid0)
{
	if (setuid(0) < 0)
		return fail(errno, "setuid(0)");
	return okay("uid=%u euid=%u", (unsigned)getuid(), (unsigned)geteuid());
}

ACTION(act_unshare_user)
{
	if (unshare(CLONE_NEWUSER) < 0)
		return fail(errno, "unshare(CLONE_NEWUSER)");
	return okay("new user namespace");
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int err = write_all(fd, text);
	close(fd);
	return err == 0;
}

/* userns-write PATH [DATA]: enters a new user and mount namespace, tries to shed the read-only
 * mounts over PATH (unmount, remount read-write), then writes PATH. */
ACTION(act_userns_write)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return fail(errno, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
	char map[64];
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
	/* Each attempt may fail; only the final write decides. */
	umount2(argv[0], MNT_DETACH);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	umount2(dir, MNT_DETACH);
	mount(dir, dir, NULL, MS_BIND | MS_REC, NULL);
	mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL);
	return open_and_write(argv[0], O_WRONLY | O_CREAT | O_TRUNC, data_arg(argc, argv, 1));
}

static int wait_child(pid_t pid, const char *what)
{
	int status = 0;
	if (waitpid(pid, &status, __WALL) < 0)
		return fail(errno, "waitpid after %s", what);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(ECHILD, "%s child did not exit 0", what);
	return okay("%s child ran", what);
}

ACTION(act_clone_user)
{
	fflush(stdout);
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return fail(errno, "clone(CLONE_NEWUSER)");
	if (pid == 0)
		_exit(0);
	return wait_child((pid_t)pid, "clone(CLONE_NEWUSER)");
}

/* struct clone_args from linux/sched.h, spelled out: that header fights glibc's sched.h. */
struct probe_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int clone3_with(uint64_t flags, const char *what)
{
	struct probe_clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
	fflush(stdout);
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return fail(errno, "%s", what);
	if (pid == 0)
		_exit(0);
	return wait_child((pid_t)pid, what);
}

ACTION(act_clone3)
{
	return clone3_with(0, "clone3()");
}

ACTION(act_clone3_user)
{
	return clone3_with(CLONE_NEWUSER, "clone3(CLONE_NEWUSER)");
}

ACTION(act_mount_tmpfs)
{
	if (mount("tmpfs", argv[0], "tmpfs", 0, "size=1m") < 0)
		return fail(errno, "mount tmpfs on %s", argv[0]);
	return okay("tmpfs mounted on %s", argv[0]);
}

ACTION(act_fsopen)
{
	long fd = syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */);
	if (fd < 0)
		return fail(errno, "fsopen(tmpfs)");
	return okay("fsopen fd %ld", fd);
}

ACTION(act_open_tree)
{
	/* OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE: a detached copy of the mount tree. */
	long fd = syscall(SYS_open_tree, AT_FDCWD, argv[0], 1 | O_CLOEXEC | AT_RECURSIVE);
	if (fd < 0)
		return fail(errno, "open_tree(%s, OPEN_TREE_CLONE)", argv[0]);
	return okay("open_tree fd %ld", fd);
}

ACTION(act_keyctl)
{
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	if (id < 0)
		return fail(errno, "keyctl(KEYCTL_GET_KEYRING_ID)");
	return okay("session keyring %ld", id);
}

ACTION(act_add_key)
{
	long id = syscall(SYS_add_key, "user", "cordon-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	if (id < 0)
		return fail(errno, "add_key(user)");
	return okay("key %ld", id);
}

ACTION(act_bpf)
{
	/* r0 = 0; exit: the smallest valid socket filter. */
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = 2;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return fail(errno, "bpf(BPF_PROG_LOAD)");
	return okay("bpf program fd %ld", fd);
}

ACTION(act_perf)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return fail(errno, "perf_event_open(task clock, self)");
	return okay("perf fd %ld", fd);
}

ACTION(act_userfaultfd)
{
	/* User-mode-only faults are allowed unprivileged since 5.11; try it first. */
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "userfaultfd");
	return okay("userfaultfd %ld", fd);
}

ACTION(act_getenv)
{
	const char *v = getenv(argv[0]);
	if (!v)
		return fail(ENOENT, "%s is not set", argv[0]);
	return okay("%s", v);
}

/* ------------------------------------------------------------------------------------------ */
/* The action table                                                                           */

struct action {
	const char *name;
	int min_args, max_args; /* max_args < 0: any number */
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct action actions[] = {
	/* Files. */
	{ "write", 1, 2, act_write, "PATH [DATA]   create or truncate, then write" },
	{ "create", 1, 1, act_create, "PATH   create a new file (O_EXCL)" },
	{ "append", 1, 2, act_append, "PATH [DATA]" },
	{ "truncate", 1, 2, act_truncate, "PATH [LENGTH]" },
	{ "mkdir", 1, 1, act_mkdir, "PATH" },
	{ "rmdir", 1, 1, act_rmdir, "PATH" },
	{ "unlink", 1, 1, act_unlink, "PATH" },
	{ "rename", 2, 2, act_rename, "FROM TO" },
	{ "exchange", 2, 2, act_exchange, "A B   renameat2(RENAME_EXCHANGE)" },
	{ "chmod", 2, 2, act_chmod, "PATH OCTAL-MODE" },
	{ "chown", 3, 3, act_chown, "PATH UID GID   (-1 keeps)" },
	{ "utimes", 1, 1, act_utimes, "PATH   set atime and mtime to 2001-09-09" },
	{ "setxattr", 3, 3, act_setxattr, "PATH NAME VALUE" },
	{ "getxattr", 2, 2, act_getxattr, "PATH NAME" },
	{ "mkfifo", 1, 1, act_mkfifo, "PATH" },
	{ "mknod", 3, 3, act_mknod, "PATH MAJOR MINOR   character device" },
	{ "symlink", 2, 2, act_symlink, "TARGET LINKPATH" },
	{ "link", 2, 2, act_link, "EXISTING NEWPATH   hard link" },
	{ "bind-unix", 1, 1, act_bind_unix, "PATH   bind a unix socket file" },
	{ "tmpfile", 1, 2, act_tmpfile, "DIR [NEWPATH]   O_TMPFILE, then linkat to NEWPATH" },
	{ "openat2", 3, 4, act_openat2, "DIR REL RESOLVE[,..] [DATA]   write REL under DIR" },
	{ "createat", 2, 2, act_createat, "DIR NAME   openat(dirfd, NAME, O_CREAT|O_EXCL)" },
	{ "mkdirat", 2, 2, act_mkdirat, "DIR NAME   mkdirat(dirfd, NAME)" },
	{ "proc-fd-mkdir", 2, 2, act_proc_fd_mkdir, "DIR NAME   mkdir /proc/self/fd/N/NAME" },
	{ "race-mkdir", 3, 3, act_race_mkdir, "DIR NAME MS   race a symlink flip against mkdir DIR/link/NAME" },
	{ "proc-root-write", 1, 2, act_proc_root_write, "PATH [DATA]   via /proc/self/root" },
	{ "proc-cwd-write", 1, 2, act_proc_cwd_write, "REL [DATA]   via /proc/self/cwd" },
	{ "reopen-write", 1, 2, act_reopen_write, "PATH [DATA]   open read-only, reopen via /proc/self/fd" },
	{ "uring-setup", 0, 0, act_uring_setup, "" },
	{ "uring-openat", 1, 2, act_uring_openat, "PATH [DATA]   IORING_OP_OPENAT and write" },
	{ "uring-mkdir", 1, 1, act_uring_mkdir, "PATH   IORING_OP_MKDIRAT" },
	{ "read", 1, 1, act_read, "PATH   prints the first bytes" },
	{ "readdir", 1, 1, act_readdir, "PATH   prints the count and names" },
	{ "stat", 1, 1, act_stat, "PATH   lstat" },
	/* Network. */
	{ "tcp", 2, 3, act_tcp, "ADDR PORT [MSG]   connect and send" },
	{ "udp", 2, 3, act_udp, "ADDR PORT [MSG]   send a datagram" },
	{ "icmp-raw", 1, 2, act_icmp_raw, "ADDR [PAYLOAD]   echo request on a raw socket" },
	{ "icmp-dgram", 1, 2, act_icmp_dgram, "ADDR [PAYLOAD]   echo request on a ping socket" },
	{ "packet", 0, 0, act_packet, "   socket(AF_PACKET, SOCK_RAW)" },
	{ "unix-connect", 1, 2, act_unix_connect, "PATH [MSG]" },
	{ "abstract-connect", 1, 2, act_abstract_connect, "NAME [MSG]   (without the leading @)" },
	{ "socket", 3, 3, act_socket, "DOMAIN TYPE PROTO   names (unix inet packet vsock alg ...) or numbers" },
	{ "socket-hi", 3, 3, act_socket_hi, "DOMAIN TYPE PROTO   same with bit 32 set in DOMAIN" },
	{ "listen", 4, 4, act_listen, "KIND ADDR PORT SECONDS   host-side listener (see source)" },
	{ "loopback", 1, 1, act_loopback, "tcp4|tcp6|udp4|udp6   talk to itself over loopback" },
	/* Processes and terminal. */
	{ "kill", 2, 2, act_kill, "PID SIGNAL" },
	{ "ptrace", 1, 1, act_ptrace, "PID   PTRACE_ATTACH" },
	{ "proc-mem", 1, 1, act_proc_mem, "PID   open /proc/PID/mem for writing" },
	{ "vm-write", 1, 1, act_vm_write, "PID   process_vm_writev one byte" },
	{ "tiocsti", 0, 1, act_tiocsti, "[TEXT]   inject TEXT and a newline into the terminal on fd 0" },
	{ "tiocsti-hi", 0, 1, act_tiocsti_hi, "[TEXT]   same, ioctl command with bit 32 set" },
	{ "read-tty", 1, 1, act_read_tty, "MS   read what waits on fd 0" },
	{ "pty", 1, -1, act_pty, "CMD [ARG...]   host-side: run CMD on a new controlling terminal" },
	{ "daemonize", 2, 2, act_daemonize, "MARKER MS   double fork, setsid, write MARKER after MS" },
	{ "sleep", 1, -1, act_sleep, "MS [TAG...]" },
	{ "linger", 1, -1, act_linger, "MS [TAG...]   sleep ignoring SIGHUP/SIGTERM/SIGINT" },
	{ "fds", 0, 0, act_fds, "   list open fds above 2" },
	/* Privilege. */
	{ "whoami", 0, 0, act_whoami, "   real/effective/saved ids" },
	{ "caps", 0, 0, act_caps, "   effective, permitted, inheritable, bounding, ambient sets" },
	{ "nnp", 0, 0, act_nnp, "   PR_GET_NO_NEW_PRIVS" },
	{ "seccomp", 0, 0, act_seccomp, "   PR_GET_SECCOMP" },
	{ "setuid0", 0, 0, act_setuid0, "" },
	{ "unshare-user", 0, 0, act_unshare_user, "" },
	{ "userns-write", 1, 2, act_userns_write, "PATH [DATA]   new userns+mountns, unmount/remount, write" },
	{ "clone-user", 0, 0, act_clone_user, "   clone(CLONE_NEWUSER)" },
	{ "clone3", 0, 0, act_clone3, "   plain clone3()" },
	{ "clone3-user", 0, 0, act_clone3_user, "   clone3(CLONE_NEWUSER)" },
	{ "mount-tmpfs", 1, 1, act_mount_tmpfs, "DIR" },
	{ "fsopen", 0, 0, act_fsopen, "   fsopen(\"tmpfs\")" },
	{ "open-tree", 1, 1, act_open_tree, "PATH   open_tree(OPEN_TREE_CLONE)" },
	{ "keyctl", 0, 0, act_keyctl, "   keyctl(KEYCTL_GET_KEYRING_ID)" },
	{ "add-key", 0, 0, act_add_key, "   add_key to the process keyring" },
	{ "bpf", 0, 0, act_bpf, "   BPF_PROG_LOAD a socket filter" },
	{ "perf", 0, 0, act_perf, "   perf_event_open on itself" },
	{ "userfaultfd", 0, 0, act_userfaultfd, "" },
	{ "getenv", 1, 1, act_getenv, "NAME" },
};

static int usage(void)
{
	fputs("usage: probe ACTION ARGS...\nprints `ok [...]` (exit 0) or `fail ERRNO: ...` (exit 1)\n"
	      "actions:\n",
	      stderr);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		fprintf(stderr, "  %-18s %s\n", actions[i].name, actions[i].usage);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action *a = &actions[i];
		if (strcmp(argv[1], a->name) != 0)
			continue;
		int n = argc - 2;
		if (n < a->min_args || (a->max_args >= 0 && n > a->max_args)) {
			fprintf(stderr, "usage: probe %s %s\n", a->name, a->usage);
			return EXIT_USAGE;
		}
		return a->fn(n, argv + 2);
	}
	fprintf(stderr, "probe: unknown action `%s`\n", argv[1]);
	return usage();
}
