// SPDX-License-Identifier: Apache-2.0
/* The changes an overlayfs upper layer holds (layer.h). */
#include "backend/linux/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

/* A session that deep is no source tree: refuse it rather than recurse without bound. */
#define MAX_DEPTH 256

const char *change_kind_name(enum change_kind k)
{
	static const char *const names[] = {
		[CH_ADDED] = "added", [CH_MODIFIED] = "modified", [CH_DELETED] = "deleted",
		[CH_RENAMED] = "renamed", [CH_SPECIAL] = "special",
	};
	return k <= CH_SPECIAL ? names[k] : "?";
}

void changes_release(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].from);
		free(c->v[i].unit);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static struct change *push(struct changes *c, size_t root, const char *path, enum change_kind kind, const char *unit)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct change *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	struct change *ch = &c->v[c->n];
	memset(ch, 0, sizeof(*ch));
	ch->root = root;
	ch->kind = kind;
	if (!(ch->path = strdup(path)) || (unit && !(ch->unit = strdup(unit)))) {
		free(ch->path);
		return NULL;
	}
	c->n++;
	return ch;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd)
{
	char v[2];
	ssize_t n = fgetxattr(dirfd, "user.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static int open_beneath(int dfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
}

int layer_open_file(int dfd, const char *rel)
{
	int fd = open_beneath(dfd, rel, O_RDONLY | O_NONBLOCK);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

ssize_t layer_readlink(int dfd, const char *rel, char *buf, size_t cap)
{
	_cleanup_close_ int fd = open_beneath(dfd, rel, O_PATH);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (!S_ISLNK(st.st_mode))
		return errno = EINVAL, -1;
	return readlinkat(fd, "", buf, cap);
}

bool layer_same_content(int dfd_a, const char *a, int dfd_b, const char *b)
{
	_cleanup_close_ int fa = layer_open_file(dfd_a, a);
	_cleanup_close_ int fb = layer_open_file(dfd_b, b);
	if (fa < 0 || fb < 0)
		return false;
	static _Thread_local char ba[65536], bb[65536];
	for (;;) {
		ssize_t na = read(fa, ba, sizeof(ba));
		if (na < 0)
			return false;
		size_t got = 0;
		while (got < (size_t)na) {
			ssize_t nb = read(fb, bb + got, (size_t)na - got);
			if (nb <= 0)
				return false;
			got += (size_t)nb;
		}
		if (memcmp(ba, bb, (size_t)na) != 0)
			return false;
		if (na == 0)
			return read(fb, bb, 1) == 0;
	}
}

static bool same_link(int dfd_a, const char *a, int dfd_b, const char *b)
{
	char la[PATH_MAX], lb[PATH_MAX];
	ssize_t na = layer_readlink(dfd_a, a, la, sizeof(la));
	ssize_t nb = layer_readlink(dfd_b, b, lb, sizeof(lb));
	return na >= 0 && na == nb && memcmp(la, lb, (size_t)na) == 0;
}

struct walk {
	size_t root;
	struct changes *out;
	struct cordon_error **err;
};

static int join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = dir[0] ? snprintf(out, cap, "%s/%s", dir, name) : snprintf(out, cap, "%s", name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Everything below (and then) the lower directory `rel`, as deleted: children first. */
static int deleted_tree(struct walk *w, int lower_parent, const char *name, const char *rel, const struct stat *st,
			const char *unit, int depth)
{
	if (S_ISDIR(st->st_mode)) {
		if (depth > MAX_DEPTH)
			return cerr_set(w->err, ELOOP, "`%s`: deeper than %d directories", rel, MAX_DEPTH);
		int fd = openat(lower_parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return cerr_sys(w->err, errno, "read the real directory `%s`", rel);
		}
		struct dirent *de;
		int rc = 0;
		while (rc == 0 && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char sub[PATH_MAX];
			struct stat cst;
			if (join(sub, sizeof(sub), rel, de->d_name) < 0)
				rc = cerr_set(w->err, ENAMETOOLONG, "`%s/%s`: name too long", rel, de->d_name);
			else if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0)
				rc = deleted_tree(w, dirfd(d), de->d_name, sub, &cst, unit, depth + 1);
		}
		closedir(d);
		if (rc < 0)
			return -1;
	}
	struct change *ch = push(w->out, w->root, rel, CH_DELETED, unit);
	if (!ch)
		return cerr_set(w->err, ENOMEM, "out of memory");
	ch->old_mode = st->st_mode;
	ch->old_size = S_ISREG(st->st_mode) ? st->st_size : 0;
	return 0;
}

static int walk_dir(struct walk *w, int lower, int upper, const char *rel, bool opaque, const char *unit, int depth);

/* One upper entry `name` of directory `rel` against the lower one (lower: -1 when there is none). */
static int walk_entry(struct walk *w, int lower, int upper, const char *rel, const char *name, const char *unit,
		      int depth)
{
	char path[PATH_MAX];
	if (join(path, sizeof(path), rel, name) < 0)
		return cerr_set(w->err, ENAMETOOLONG, "`%s/%s`: name too long", rel, name);
	struct stat us, ls;
	if (fstatat(upper, name, &us, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cerr_sys(w->err, errno, "stat the staged `%s`", path);
	bool below = lower >= 0 && fstatat(lower, name, &ls, AT_SYMLINK_NOFOLLOW) == 0;
	if (is_whiteout(&us))
		return below ? deleted_tree(w, lower, name, path, &ls, unit, depth) : 0;
	/* A directory over a file, or a file over a directory: the old one goes first. */
	if (below && S_ISDIR(ls.st_mode) != S_ISDIR(us.st_mode) && S_ISDIR(ls.st_mode)) {
		if (deleted_tree(w, lower, name, path, &ls, unit, depth) < 0)
			return -1;
		w->out->n--; /* the directory itself is replaced, not deleted: one change below says so */
		free(w->out->v[w->out->n].path);
		free(w->out->v[w->out->n].unit);
	}
	struct change *ch = NULL;
	if (S_ISDIR(us.st_mode)) {
		_cleanup_close_ int ud = openat(upper, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ud < 0)
			return cerr_sys(w->err, errno, "open the staged `%s`", path);
		bool merged = below && S_ISDIR(ls.st_mode);
		bool opaque = merged && is_opaque(ud);
		if (!merged || (us.st_mode & 07777) != (ls.st_mode & 07777)) {
			if (!(ch = push(w->out, w->root, path, merged ? CH_MODIFIED : below ? CH_MODIFIED : CH_ADDED, unit)))
				return cerr_set(w->err, ENOMEM, "out of memory");
			ch->old_mode = below ? ls.st_mode : 0;
			ch->new_mode = us.st_mode;
			ch->content = !merged && below;
		}
		_cleanup_close_ int ld = merged ? openat(lower, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (depth > MAX_DEPTH)
			return cerr_set(w->err, ELOOP, "`%s`: deeper than %d directories", path, MAX_DEPTH);
		return walk_dir(w, opaque ? ld : merged ? ld : -1, ud, path, opaque, opaque && !unit ? path : unit,
				depth + 1);
	}
	enum change_kind kind = S_ISREG(us.st_mode) || S_ISLNK(us.st_mode) ? CH_ADDED : CH_SPECIAL;
	bool content = true;
	if (kind == CH_ADDED && below) {
		kind = CH_MODIFIED;
		if ((us.st_mode & S_IFMT) == (ls.st_mode & S_IFMT)) {
			content = S_ISREG(us.st_mode) ? us.st_size != ls.st_size || !layer_same_content(lower, name, upper, name)
						      : !same_link(lower, name, upper, name);
			if (!content && us.st_mode == ls.st_mode)
				return 0; /* copied up, not changed (opened for writing, touched) */
		}
	}
	if (!(ch = push(w->out, w->root, path, kind, unit)))
		return cerr_set(w->err, ENOMEM, "out of memory");
	ch->old_mode = below ? ls.st_mode : 0;
	ch->new_mode = us.st_mode;
	ch->old_size = below && S_ISREG(ls.st_mode) ? ls.st_size : 0;
	ch->new_size = S_ISREG(us.st_mode) ? us.st_size : 0;
	ch->content = content;
	return 0;
}

static int walk_dir(struct walk *w, int lower, int upper, const char *rel, bool opaque, const char *unit, int depth)
{
	int fd = dup(upper);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return cerr_sys(w->err, errno, "read the staged directory `%s`", rel[0] ? rel : ".");
	}
	rewinddir(d);
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = walk_entry(w, lower, upper, rel, de->d_name, unit, depth);
	closedir(d);
	if (rc < 0 || !opaque || lower < 0)
		return rc;
	/* Opaque: what the lower directory held and the upper one does not is gone. */
	fd = dup(lower);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return cerr_sys(w->err, errno, "read the real directory `%s`", rel);
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d))) {
		struct stat st, ls;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(upper, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    fstatat(lower, de->d_name, &ls, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char path[PATH_MAX];
		if (join(path, sizeof(path), rel, de->d_name) < 0)
			rc = cerr_set(w->err, ENAMETOOLONG, "`%s/%s`: name too long", rel, de->d_name);
		else
			rc = deleted_tree(w, lower, de->d_name, path, &ls, unit, depth);
	}
	closedir(d);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	return strcmp(x->path, y->path);
}

int layer_changes(size_t root, int lower, int upper, struct changes *out, struct cordon_error **err)
{
	struct walk w = {.root = root, .out = out, .err = err};
	size_t first = out->n;
	if (walk_dir(&w, lower, upper, "", false, NULL, 0) < 0)
		return -1;
	if (out->n > first)
		qsort(out->v + first, out->n - first, sizeof(*out->v), by_path);
	return 0;
}

static const struct changes *sort_ctx;

static int by_old_size(const void *a, const void *b)
{
	off_t x = sort_ctx->v[*(const size_t *)a].old_size, y = sort_ctx->v[*(const size_t *)b].old_size;
	return x < y ? -1 : x > y;
}

/* How many deleted files of the same size one added file is compared with, at most. */
#define RENAME_CANDIDATES 8

/* Deleted files are looked up by size; a rename is a deleted file and an added one with equal bytes
 * (as git's exact rename detection). */
void layer_find_renames(struct changes *c, int const *lower, int const *upper)
{
	size_t *del = malloc((c->n + 1) * sizeof(*del));
	bool *gone = calloc(c->n + 1, sizeof(*gone));
	size_t nd = 0;
	if (!del || !gone)
		goto out;
	for (size_t j = 0; j < c->n; j++)
		if (c->v[j].kind == CH_DELETED && S_ISREG(c->v[j].old_mode) && c->v[j].old_size > 0 && !c->v[j].unit)
			del[nd++] = j;
	sort_ctx = c;
	if (nd)
		qsort(del, nd, sizeof(*del), by_old_size);
	for (size_t i = 0; i < c->n; i++) {
		struct change *add = &c->v[i];
		if (add->kind != CH_ADDED || !S_ISREG(add->new_mode) || add->new_size == 0 || add->unit)
			continue;
		size_t lo = 0, hi = nd;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (c->v[del[mid]].old_size < add->new_size)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo, tried = 0; k < nd && tried < RENAME_CANDIDATES; k++) {
			struct change *d = &c->v[del[k]];
			if (d->old_size != add->new_size)
				break;
			if (gone[del[k]] || d->root != add->root)
				continue;
			tried++;
			if (!layer_same_content(lower[d->root], d->path, upper[add->root], add->path))
				continue;
			add->kind = CH_RENAMED;
			add->from = steal_ptr(&d->path);
			add->old_mode = d->old_mode;
			add->old_size = d->old_size;
			gone[del[k]] = true;
			break;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (gone[i]) {
			free(c->v[i].path);
			free(c->v[i].unit);
			continue;
		}
		c->v[k++] = c->v[i];
	}
	c->n = k;
out:
	free(del);
	free(gone);
}
