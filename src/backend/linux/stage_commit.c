// SPDX-License-Identifier: Apache-2.0
/*
 * `cordon commit`: applies a session's changes to the real files, journaled.
 *
 * The decisions (which changes, conflicts, protected names) are made first and written, with the
 * operations that carry them out, to journal.json. Then:
 *   1. directories are made, and every new file's content is written to a temporary name beside its
 *      target (".cordon-commit-ID-N"); the file system is synced;
 *   2. each temporary file is renamed over its target: a file is old or new, never half-written;
 *   3. deletions, deepest first (and files that replace a directory, by an exchange);
 *   4. the file system is synced and the journal switches to its "drop" phase, with the real files'
 *      new ctimes (the next commit's baselines);
 *   5. what the real files now hold is dropped from the layer, checked entry by entry;
 *   6. the baselines go to session.json and the journal is removed.
 * Every step is idempotent: `cordon commit` finds a journal and runs it again from the start of its
 * phase, so a kill -9 at any point loses nothing. CORDON_FAULT_INJECT=commit:N kills cordon at the
 * N-th step on purpose (the tests go through every N).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/linux/layer.h"
#include "backend/linux/linux.h"
#include "backend/linux/stage.h"
#include "backend/linux/stage_internal.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/stagefile.h"

#define JOURNAL "journal.json"

/* ---- fault injection (tests only; see the file comment) ---- */

static long fault_left = -1;

static void fault_point(void)
{
	if (fault_left < 0) {
		const char *v = getenv("CORDON_FAULT_INJECT");
		fault_left = v && strncmp(v, "commit:", 7) == 0 ? strtol(v + 7, NULL, 10) : 0;
	}
	if (fault_left > 0 && --fault_left == 0)
		raise(SIGKILL);
}

/* ---- paths in the real tree: never through a symlink ---- */

static int open_in(int root, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root, rel[0] ? rel : ".", &how, sizeof(how));
}

/* The parent directory of `rel` beneath `root`, and the last component. */
static int open_parent(int root, const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');
	*name = slash ? slash + 1 : rel;
	if (!slash)
		return open_in(root, "", O_RDONLY | O_DIRECTORY);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
	return open_in(root, dir, O_RDONLY | O_DIRECTORY);
}

static void tmp_name(char *out, size_t cap, const char *id, size_t n)
{
	snprintf(out, cap, ".cordon-commit-%s-%zu", id, n);
}

/* ---- the journal ---- */

struct journal {
	json_t *j;
	const char *id;
	json_t *ops;
};

static int journal_write(struct stage *s, json_t *j, struct cordon_error **err)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return cerr_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = openat(s->dirfd, JOURNAL ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
	    renameat(s->dirfd, JOURNAL ".tmp", s->dirfd, JOURNAL) < 0 || fsync(s->dirfd) < 0)
		return cerr_sys(err, errno, "session `%s`: write the commit journal", s->name);
	fault_point();
	return 0;
}

static json_t *journal_load(struct stage *s, struct cordon_error **err)
{
	_cleanup_close_ int fd = openat(s->dirfd, JOURNAL, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			cerr_sys(err, errno, "session `%s`: open the commit journal", s->name);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	char why[160];
	if (!j)
		snprintf(why, sizeof(why), "%s", je.text);
	if (!j || stagefile_journal_check(j, stage_nroots(s), why, sizeof(why)) < 0) {
		json_decref(j);
		j = NULL;
		cerr_set(err, EINVAL, "session `%s`: the commit journal %s/" JOURNAL " is damaged: %s", s->name, s->dir, why);
		cerr_hint(err, "each real file is whole (old or new); look at the session with `cordon diff %s`, then "
			       "remove the journal by hand to commit again", s->name);
	}
	return j;
}

/* ---- applying one operation ---- */

struct op {
	const char *kind; /* mkdir chmod put put_over_dir delete unit */
	size_t root;
	const char *path;
	mode_t mode;
};

static void op_get(json_t *o, struct op *op)
{
	op->kind = json_string_value(json_object_get(o, "op"));
	op->root = (size_t)json_integer_value(json_object_get(o, "root"));
	op->path = json_string_value(json_object_get(o, "path"));
	op->mode = (mode_t)json_integer_value(json_object_get(o, "mode"));
}

static int copy_fd(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n <= 0)
			return (int)n;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0)
				return -1;
			w += k;
		}
	}
}

/*
 * The permission bits a commit gives a file: never setuid or setgid. A staged run may chmod 4755 a
 * file it made (the sandbox's nosuid mounts do not stop chmod), and a commit must not turn that into a
 * set-id program in the real tree (one of root's, when cordon runs as root). Directories keep
 * theirs: setgid on a directory only passes its group on.
 */
static mode_t commit_mode(mode_t mode)
{
	return mode & (S_ISDIR(mode) ? 07777 : 01777);
}

/* chmod of the entry `name` in `dir`, never through a symlink, and only when it still is a `type`. */
static int chmod_entry(int dir, const char *name, mode_t type, mode_t mode)
{
	_cleanup_close_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if ((st.st_mode & S_IFMT) != type)
		return errno = EEXIST, -1; /* replaced since: not ours to change */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return chmod(proc, commit_mode((mode & 07777) | type));
}

/* Whether the directory `name` in `dir` is empty (what a held change left in it must not move). */
static bool dir_empty(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* The staged entry's content (a file or a symlink) at the temporary name `tmp` in `dir`. */
static int write_tmp(int upper, const char *rel, int dir, const char *tmp)
{
	struct stat st;
	if (fstatat(upper, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (unlinkat(dir, tmp, 0) < 0 && errno != ENOENT && (errno != EISDIR || unlinkat(dir, tmp, AT_REMOVEDIR) < 0))
		return -1;
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = layer_readlink(upper, rel, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		return symlinkat(target, dir, tmp);
	}
	/* Only a regular file is copied (O_NONBLOCK: a FIFO put in its place must not hang the commit). */
	_cleanup_close_ int in = layer_open_file(upper, rel);
	_cleanup_close_ int out = in < 0 ? -1 : openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0 || fstat(in, &st) < 0 || copy_fd(in, out) < 0 || fchmod(out, commit_mode(st.st_mode)) < 0)
		return -1;
	struct timespec times[2] = {st.st_atim, st.st_mtim};
	return futimens(out, times);
}

static int apply_first(struct commit *c, struct op *op, size_t n)
{
	if (strcmp(op->kind, "delete") == 0 || strcmp(op->kind, "unit") == 0)
		return 0;
	const char *name;
	_cleanup_close_ int dir = open_parent(c->real[op->root], op->path, &name);
	if (dir < 0)
		return -1;
	char tmp[96];
	tmp_name(tmp, sizeof(tmp), c->id, n);
	struct stat st;
	bool exists = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (strcmp(op->kind, "mkdir") == 0) {
		if (exists && S_ISDIR(st.st_mode))
			return chmod_entry(dir, name, S_IFDIR, op->mode);
		if (!exists)
			return mkdirat(dir, name, op->mode & 07777) < 0 && errno != EEXIST ? -1
											     : chmod_entry(dir, name, S_IFDIR, op->mode);
		/* A directory where a file was: made aside, then exchanged, so that the name is never empty. */
		if (mkdirat(dir, tmp, op->mode & 07777) < 0 && errno != EEXIST)
			return -1;
		if (renameat2(dir, tmp, dir, name, RENAME_EXCHANGE) < 0)
			return -1;
		fault_point();
		return unlinkat(dir, tmp, 0);
	}
	if (strcmp(op->kind, "chmod") == 0)
		return chmod_entry(dir, name, op->mode & S_IFMT, op->mode);
	if (strcmp(op->kind, "put") == 0 || strcmp(op->kind, "put_over_dir") == 0) {
		if (write_tmp(c->upper[op->root], op->path, dir, tmp) < 0)
			return -1;
		fault_point();
	}
	return 0;
}

static int apply_second(struct commit *c, struct op *op, size_t n)
{
	if (strcmp(op->kind, "put") != 0)
		return 0;
	const char *name;
	_cleanup_close_ int dir = open_parent(c->real[op->root], op->path, &name);
	char tmp[96];
	tmp_name(tmp, sizeof(tmp), c->id, n);
	if (dir < 0)
		return -1;
	if (renameat(dir, tmp, dir, name) < 0)
		return errno == ENOENT && faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -1; /* done before */
	fault_point();
	return 0;
}

static int apply_third(struct commit *c, struct op *op, size_t n)
{
	const char *name;
	if (strcmp(op->kind, "delete") != 0 && strcmp(op->kind, "put_over_dir") != 0)
		return 0;
	_cleanup_close_ int dir = open_parent(c->real[op->root], op->path, &name);
	/* A parent gone, or replaced by a file (a directory that became one, before a kill): done. */
	if (dir < 0)
		return (errno == ENOENT || errno == ENOTDIR) && strcmp(op->kind, "delete") == 0 ? 0 : -1;
	struct stat st;
	if (strcmp(op->kind, "delete") == 0) {
		if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -1;
		if (unlinkat(dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			return -1;
		fault_point();
		return 0;
	}
	char tmp[96];
	tmp_name(tmp, sizeof(tmp), c->id, n);
	if (fstatat(dir, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1; /* exchanged and cleared before */
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		/* Something held back below it (a protected name) must not move with it. */
		if (!dir_empty(dir, name))
			return errno = ENOTEMPTY, -1;
		if (renameat2(dir, tmp, dir, name, RENAME_EXCHANGE) < 0)
			return -1;
		fault_point();
		return unlinkat(dir, tmp, AT_REMOVEDIR);
	}
	return renameat(dir, tmp, dir, name);
}

/* A temporary name a killed commit may have left (a file written, or the old entry an exchange put
 * aside): gone before the journal leaves its apply phase. */
static int clear_tmp(struct commit *c, struct op *op, size_t n)
{
	const char *name;
	_cleanup_close_ int dir = open_parent(c->real[op->root], op->path, &name);
	char tmp[96];
	tmp_name(tmp, sizeof(tmp), c->id, n);
	if (dir >= 0 && unlinkat(dir, tmp, 0) < 0 && errno == EISDIR)
		unlinkat(dir, tmp, AT_REMOVEDIR);
	return 0;
}

static bool same_target(int da, const char *a, int db, const char *b)
{
	char x[PATH_MAX], y[PATH_MAX];
	ssize_t nx = readlinkat(da, a, x, sizeof(x)), ny = readlinkat(db, b, y, sizeof(y));
	return nx >= 0 && nx == ny && memcmp(x, y, (size_t)nx) == 0;
}

/* Drops the upper entry of an applied operation, when the real file now is what it says. */
static void drop_one(struct commit *c, struct op *op)
{
	int upper = c->upper[op->root];
	struct stat us, rs;
	bool staged = fstatat(upper, op->path, &us, AT_SYMLINK_NOFOLLOW) == 0;
	const char *name;
	_cleanup_close_ int dir = open_parent(c->real[op->root], op->path, &name);
	bool real = dir >= 0 && fstatat(dir, name, &rs, AT_SYMLINK_NOFOLLOW) == 0;
	if (strcmp(op->kind, "unit") == 0) {
		/* The opaque directory's content is all in the real one now: it hides nothing any more. */
		_cleanup_close_ int ud = openat(upper, op->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ud >= 0 && real && S_ISDIR(rs.st_mode))
			fremovexattr(ud, "user.overlay.opaque");
		if (staged && real && S_ISDIR(rs.st_mode) && (us.st_mode & 07777) == (rs.st_mode & 07777))
			unlinkat(upper, op->path, AT_REMOVEDIR);
		return;
	}
	if (!staged)
		return;
	bool done;
	if (strcmp(op->kind, "delete") == 0)
		done = !real && S_ISCHR(us.st_mode);
	else if (S_ISDIR(us.st_mode))
		done = real && S_ISDIR(rs.st_mode) && (us.st_mode & 07777) == (rs.st_mode & 07777);
	else if (!real || (us.st_mode & S_IFMT) != (rs.st_mode & S_IFMT))
		done = false;
	else if (S_ISREG(us.st_mode))
		done = us.st_size == rs.st_size && layer_same_content(dir, name, upper, op->path);
	else
		done = same_target(dir, name, upper, op->path);
	if (done && unlinkat(upper, op->path, S_ISDIR(us.st_mode) ? AT_REMOVEDIR : 0) == 0)
		fault_point();
}

/* Removes the directories left empty in the layer that only mirror a real one (the parents of files
 * that were copied up): they hold no change. Children first. */
static bool prune(int upper, int real, int depth)
{
	int fd = dup(upper);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	rewinddir(d);
	bool empty = true;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat us, rs;
		_cleanup_close_ int ud = -1, rd = -1;
		if (depth < 256 && fstatat(dirfd(d), de->d_name, &us, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(us.st_mode) &&
		    fstatat(real, de->d_name, &rs, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(rs.st_mode) &&
		    (ud = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
		    (rd = openat(real, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
		    prune(ud, rd, depth + 1) && (us.st_mode & 07777) == (rs.st_mode & 07777) &&
		    fgetxattr(ud, "user.overlay.opaque", NULL, 0) < 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
			continue;
		empty = false;
	}
	closedir(d);
	return empty;
}

/* ---- running a journal ---- */

typedef int (*step_fn)(struct commit *c, struct op *op, size_t n);

static int run_step(struct commit *c, step_fn fn)
{
	size_t n;
	json_t *o;
	json_array_foreach (c->ops, n, o) {
		struct op op;
		op_get(o, &op);
		if (!op.kind || !op.path || op.root >= c->nroots)
			continue;
		if (fn(c, &op, n) < 0 && !json_is_true(json_object_get(o, "failed"))) {
			int e = errno;
			char raw[PATH_MAX * 2], q[PATH_MAX * 8];
			snprintf(raw, sizeof(raw), "%s/%s", stage_root(c->s, op.root), op.path);
			stage_quote_name(raw, q, sizeof(q));
			fprintf(stderr, "cordon: commit: %s %s: %s\n", op.kind, q, strerror(e));
			json_object_set_new(o, "failed", json_true());
			c->failed++;
		}
	}
	return 0;
}

static void record_baselines(struct commit *c, json_t *baselines)
{
	size_t n;
	json_t *o;
	json_array_foreach (c->ops, n, o) {
		struct op op;
		op_get(o, &op);
		/* A failed operation changed nothing: its file keeps the baseline it had (or none). */
		if (!op.kind || !op.path || op.root >= c->nroots || strcmp(op.kind, "unit") == 0 ||
		    json_is_true(json_object_get(o, "failed")))
			continue;
		struct statx sx;
		char key[PATH_MAX + 32];
		snprintf(key, sizeof(key), "%zu:%s", op.root, op.path);
		_cleanup_close_ int fd = open_in(c->real[op.root], op.path, O_PATH | O_NOFOLLOW);
		if (fd >= 0 && statx(fd, "", AT_EMPTY_PATH, STATX_CTIME, &sx) == 0)
			json_object_set_new(baselines, key,
					    json_integer((json_int_t)sx.stx_ctime.tv_sec * 1000000000 + sx.stx_ctime.tv_nsec));
		else
			json_object_set_new(baselines, key, json_integer(-1));
	}
}

int commit_run_journal(struct commit *c, json_t *j, struct cordon_error **err)
{
	c->id = json_string_value(json_object_get(j, "id"));
	c->ops = json_object_get(j, "ops");
	if (strcmp(json_string_value(json_object_get(j, "phase")), "apply") == 0) {
		run_step(c, apply_first);
		for (size_t i = 0; i < c->nroots; i++)
			syncfs(c->real[i]);
		run_step(c, apply_second);
		run_step(c, apply_third);
		run_step(c, clear_tmp);
		for (size_t i = 0; i < c->nroots; i++)
			syncfs(c->real[i]);
		json_t *baselines = json_object();
		if (!baselines)
			return cerr_set(err, ENOMEM, "out of memory");
		record_baselines(c, baselines);
		json_object_set_new(j, "baselines", baselines);
		json_object_set_new(j, "phase", json_string("drop"));
		if (journal_write(c->s, j, err) < 0)
			return -1;
	}
	/* Deepest first; the opaque units after everything inside them. */
	for (int units = 0; units < 2; units++) {
		size_t n = json_array_size(c->ops);
		while (n-- > 0) {
			struct op op;
			json_t *o = json_array_get(c->ops, n);
			op_get(o, &op);
			/* A failed operation's change stays in the layer, whatever the real file looks like. */
			if (op.kind && op.path && op.root < c->nroots && (strcmp(op.kind, "unit") == 0) == units &&
			    !json_is_true(json_object_get(o, "failed")))
				drop_one(c, &op);
		}
	}
	for (size_t i = 0; i < c->nroots; i++)
		if (c->real[i] >= 0)
			prune(c->upper[i], c->real[i], 0);
	const char *key;
	json_t *v;
	json_object_foreach (json_object_get(j, "baselines"), key, v) {
		char *colon = strchr(key, ':');
		if (colon && json_integer_value(v) >= 0)
			stage_set_baseline(c->s, (size_t)strtoul(key, NULL, 10), colon + 1, (int64_t)json_integer_value(v));
	}
	if (stage_save(c->s, err) < 0)
		return -1;
	fault_point();
	if (unlinkat(c->s->dirfd, JOURNAL, 0) < 0 && errno != ENOENT)
		return cerr_sys(err, errno, "session `%s`: remove the finished journal", c->s->name);
	fsync(c->s->dirfd);
	return 0;
}

int commit_resume(struct commit *c, struct cordon_error **err)
{
	json_t *j = journal_load(c->s, err);
	if (!j)
		return err && *err ? -1 : 0;
	fprintf(stderr, "cordon: finishing the interrupted commit of session `%s` (%zu operations)\n", c->s->name,
		json_array_size(json_object_get(j, "ops")));
	int rc = commit_run_journal(c, j, err);
	json_decref(j);
	return rc < 0 ? -1 : 1;
}

int commit_start(struct commit *c, json_t *ops, struct cordon_error **err)
{
	unsigned char rnd[6];
	char id[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cerr_sys(err, errno, "getrandom");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	json_t *j = json_pack("{s:i, s:s, s:s, s:O}", "schema", 1, "id", id, "phase", "apply", "ops", ops);
	if (!j)
		return cerr_set(err, ENOMEM, "out of memory");
	int rc = journal_write(c->s, j, err) < 0 ? -1 : commit_run_journal(c, j, err);
	json_decref(j);
	return rc;
}
