// SPDX-License-Identifier: Apache-2.0
/* `cordon sessions`, `diff`, `commit` and `discard` over the session store (stage.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend/linux/layer.h"
#include "backend/linux/stage.h"
#include "backend/linux/stage_internal.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/audit.h"
#include "core/audit_show.h"
#include "core/paths.h"

/* ---- a session's changes ---- */


void view_release(struct view *v)
{
	for (size_t i = 0; i < v->c.nroots; i++) {
		if (v->c.real[i] >= 0)
			close(v->c.real[i]);
		if (v->c.upper[i] >= 0)
			close(v->c.upper[i]);
	}
	changes_release(&v->ch);
	stage_close(v->c.s);
	memset(v, 0, sizeof(*v));
}

int view_open_fds(struct view *v, struct cordon_error **err)
{
	v->c.nroots = stage_nroots(v->c.s);
	for (size_t i = 0; i < v->c.nroots; i++) {
		const char *root = stage_root(v->c.s, i);
		v->c.real[i] = stage_open_root(v->c.s, i);
		if (v->c.real[i] < 0 && errno == ESTALE) {
			cerr_set(err, ESTALE, "session `%s`: its root `%s` is no longer the directory it staged (replaced "
					      "or moved since)", v->c.s->name, root);
			return cerr_hint(err, "restore the directory, or `cordon discard %s`", v->c.s->name);
		}
		if (v->c.real[i] < 0 && errno == ELOOP) {
			cerr_set(err, ELOOP, "session `%s`: the path of its root `%s` now holds a symlink", v->c.s->name, root);
			return cerr_hint(err, "restore the directory, or `cordon discard %s`", v->c.s->name);
		}
		if (v->c.real[i] < 0 && errno != ENOENT)
			return cerr_sys(err, errno, "session `%s`: open its root `%s`", v->c.s->name, root);
		if ((v->c.upper[i] = stage_upper_fd(v->c.s, i)) < 0)
			return cerr_sys(err, errno, "session `%s`: open the layer of `%s`", v->c.s->name, root);
	}
	return 0;
}

int view_scan(struct view *v, struct cordon_error **err)
{
	changes_release(&v->ch);
	for (size_t i = 0; i < v->c.nroots; i++)
		if (layer_changes(i, v->c.real[i], v->c.upper[i], &v->ch, err) < 0)
			return cerr_prefix(err, "session `%s`", v->c.s->name);
	layer_find_renames(&v->ch, v->c.real, v->c.upper);
	return 0;
}

/* ---- selecting by PATH arguments ---- */

/* The argument as an absolute path, with symlinks resolved in the part that exists. */
static char *arg_path(const char *arg)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	_cleanup_free_ char *abs = path_join_normalize(cwd, arg);
	if (!abs)
		return NULL;
	char real[PATH_MAX];
	if (realpath(abs, real))
		return strdup(real);
	/* Not on disk (an added file): resolve its longest existing parent. */
	char *slash = strrchr(abs, '/');
	if (!slash || slash == abs)
		return steal_ptr(&abs);
	*slash = '\0';
	_cleanup_free_ char *parent = arg_path(abs);
	if (!parent)
		return NULL;
	char *out = NULL;
	return asprintf(&out, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, slash + 1) < 0 ? NULL : out;
}

bool change_matches(const struct view *v, const struct change *c, char *const *args, size_t n)
{
	if (!n)
		return true;
	char abs[PATH_MAX * 2];
	const char *root = stage_root(v->c.s, c->root);
	for (size_t i = 0; i < n; i++) {
		snprintf(abs, sizeof(abs), "%s/%s", root, c->path);
		if (path_is_under(abs, args[i]))
			return true;
		snprintf(abs, sizeof(abs), "%s/%s", root, c->unit ? c->unit : c->from ? c->from : c->path);
		if ((c->unit || c->from) && path_is_under(abs, args[i]))
			return true;
	}
	return false;
}

int resolve_args(const struct stage_request *req, char ***out, struct cordon_error **err)
{
	*out = calloc(req->npaths + 1, sizeof(char *));
	if (!*out)
		return cerr_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < req->npaths; i++)
		if (!((*out)[i] = arg_path(req->paths[i])))
			return cerr_sys(err, errno ? errno : ENOMEM, "path `%s`", req->paths[i]);
	return 0;
}

void free_args(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A name as the terminal may show it: as is, or in double quotes with control characters and bytes
 * that are not UTF-8 escaped (as git quotes paths): a file name cannot forge a line of the review. */
void stage_quote_name(const char *s, char *out, size_t cap)
{
	struct audit_text t = {0};
	size_t n = strlen(s);
	audit_put_escaped(&t, s, n);
	if (!t.oom && t.len == n && memcmp(t.s, s, n) == 0)
		snprintf(out, cap, "%s", s);
	else
		snprintf(out, cap, "\"%s\"", t.oom ? "?" : t.s);
	audit_text_free(&t);
}

/* ---- commit ---- */

static int64_t ctime_of(int root, const char *rel, bool *exists)
{
	struct statx sx;
	*exists = root >= 0 && statx(root, rel, AT_SYMLINK_NOFOLLOW, STATX_CTIME | STATX_TYPE, &sx) == 0;
	return *exists ? (int64_t)sx.stx_ctime.tv_sec * 1000000000 + sx.stx_ctime.tv_nsec : -1;
}

/* Has the real file at `rel` changed since the session started (or since cordon last committed it)? */
static bool real_changed(const struct view *v, size_t root, const char *rel, mode_t old_mode, bool adding_dir)
{
	bool exists;
	int64_t ct = ctime_of(v->c.real[root], rel, &exists);
	if (!exists)
		return old_mode != 0; /* it was there when the session saw it */
	if (adding_dir)
		return false; /* a directory made on both sides: nothing to lose */
	if (!old_mode)
		return true; /* made on both sides */
	int64_t base = stage_baseline(v->c.s, root, rel);
	return base >= 0 ? ct != base : ct >= stage_created_ns(v->c.s);
}

/* The index of the first change of `root` at or after "path/" (the changes are sorted). */
static size_t first_below(const struct view *v, size_t root, const char *path)
{
	char key[PATH_MAX + 2];
	snprintf(key, sizeof(key), "%s/", path);
	size_t lo = 0, hi = v->ch.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct change *m = &v->ch.v[mid];
		if (m->root < root || (m->root == root && strcmp(m->path, key) < 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_below(const struct change *c, const struct change *dir)
{
	size_t n = strlen(dir->path);
	return c->root == dir->root && strncmp(c->path, dir->path, n) == 0 && c->path[n] == '/';
}

enum verdict { V_APPLY, V_PROTECTED, V_CONFLICT, V_SPECIAL, V_UNIT, V_BELOW, V_SKIP };

static bool same_unit(const struct change *a, const struct change *b)
{
	return a->unit && b->unit && a->root == b->root && strcmp(a->unit, b->unit) == 0;
}

static enum verdict judge(const struct view *v, const struct change *c, bool force)
{
	if (stage_is_protected(v->c.s, c->root, c->path) || (c->from && stage_is_protected(v->c.s, c->root, c->from)))
		return V_PROTECTED;
	if (c->kind == CH_SPECIAL)
		return V_SPECIAL;
	if (v->c.real[c->root] < 0)
		return V_CONFLICT; /* the root itself is gone */
	if (force)
		return V_APPLY;
	bool adding_dir = S_ISDIR(c->new_mode) && c->kind == CH_ADDED;
	if (real_changed(v, c->root, c->path, c->kind == CH_RENAMED ? 0 : c->old_mode, adding_dir))
		return V_CONFLICT;
	if (c->from && real_changed(v, c->root, c->from, c->old_mode, false))
		return V_CONFLICT;
	return V_APPLY;
}

struct phase_b {
	size_t root;
	const char *path;
	const char *op;
	mode_t mode;
};

static int by_path_desc(const void *a, const void *b)
{
	const struct phase_b *x = a, *y = b;
	if (x->root != y->root)
		return x->root < y->root ? 1 : -1;
	return -strcmp(x->path, y->path);
}

static int add_op(json_t *ops, const char *op, size_t root, const char *path, mode_t mode)
{
	return json_array_append_new(ops, json_pack("{s:s, s:I, s:s, s:I}", "op", op, "root", (json_int_t)root, "path", path,
						    "mode", (json_int_t)mode));
}

/* The operations for the applied changes: phase A in path order (parents first), phase B (deletions,
 * files over directories, opaque units) deepest first. */
static json_t *plan_ops(const struct view *v, const enum verdict *verdicts)
{
	json_t *ops = json_array();
	struct phase_b *b = calloc(v->ch.n * 2 + 1, sizeof(*b));
	size_t nb = 0;
	if (!ops || !b) {
		free(b);
		json_decref(ops);
		return NULL;
	}
	const char *last_unit = NULL;
	for (size_t i = 0; i < v->ch.n; i++) {
		const struct change *c = &v->ch.v[i];
		if (verdicts[i] != V_APPLY)
			continue;
		if (c->unit && (!last_unit || strcmp(last_unit, c->unit) != 0)) {
			b[nb++] = (struct phase_b){c->root, c->unit, "unit", 0};
			last_unit = c->unit;
		}
		if (c->kind == CH_DELETED) {
			b[nb++] = (struct phase_b){c->root, c->path, "delete", 0};
			continue;
		}
		if (c->kind == CH_RENAMED)
			b[nb++] = (struct phase_b){c->root, c->from, "delete", 0};
		if (S_ISDIR(c->new_mode))
			add_op(ops, S_ISDIR(c->old_mode) ? "chmod" : "mkdir", c->root, c->path, c->new_mode);
		else if (S_ISDIR(c->old_mode))
			b[nb++] = (struct phase_b){c->root, c->path, "put_over_dir", c->new_mode};
		else
			add_op(ops, "put", c->root, c->path, c->new_mode);
	}
	qsort(b, nb, sizeof(*b), by_path_desc);
	for (size_t i = 0; i < nb; i++)
		add_op(ops, b[i].op, b[i].root, b[i].path, b[i].mode);
	free(b);
	return ops;
}

static const char *verdict_why(enum verdict w)
{
	return w == V_PROTECTED ? "protected path: never committed"
	       : w == V_CONFLICT ? "the real file changed since the session started (--force overrides)"
	       : w == V_SPECIAL  ? "special file: not committed"
	       : w == V_UNIT	 ? "held with its directory, which was deleted and made again: a change in it is held"
	       : w == V_BELOW	 ? "a directory deleted or replaced goes only with everything below it, and a change below is held"
				 : "";
}

static int do_commit(struct view *v, const struct stage_request *req, char **args, struct cordon_error **err)
{
	int resumed = commit_resume(&v->c, err);
	if (resumed < 0)
		return -1;
	if (resumed && view_scan(v, err) < 0)
		return -1;
	_cleanup_free_ enum verdict *w = calloc(v->ch.n + 1, sizeof(*w));
	if (!w)
		return cerr_set(err, ENOMEM, "out of memory");
	_cleanup_free_ bool *sel = calloc(v->ch.n + 1, sizeof(*sel));
	if (!sel)
		return cerr_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < v->ch.n; i++)
		sel[i] = change_matches(v, &v->ch.v[i], args, req->npaths);
	/*
	 * An opaque directory (deleted, then made again) goes whole or not at all. The changes are sorted
	 * by root and path, so a unit's members (all below its directory) are one run of them, and so are
	 * the changes below any path: each rule below is one pass, not a scan per change.
	 */
	for (size_t i = 0, j; i < v->ch.n; i = j) {
		for (j = i + 1; v->ch.v[i].unit && j < v->ch.n && same_unit(&v->ch.v[i], &v->ch.v[j]); j++)
			;
		bool any = false;
		for (size_t k = i; k < j; k++)
			any |= sel[k];
		for (size_t k = i; any && k < j; k++)
			sel[k] = true;
	}
	for (size_t i = 0; i < v->ch.n; i++)
		w[i] = sel[i] ? judge(v, &v->ch.v[i], req->force) : V_SKIP;
	for (size_t i = 0, j; i < v->ch.n; i = j) {
		for (j = i + 1; v->ch.v[i].unit && j < v->ch.n && same_unit(&v->ch.v[i], &v->ch.v[j]); j++)
			;
		bool held = false;
		for (size_t k = i; k < j; k++)
			held |= w[k] != V_APPLY && w[k] != V_SKIP;
		for (size_t k = i; held && k < j; k++)
			if (w[k] == V_APPLY)
				w[k] = V_UNIT;
	}
	/* A directory deleted, or replaced by a file, goes only with everything below it. */
	for (size_t i = 0; i < v->ch.n; i++) {
		const struct change *c = &v->ch.v[i];
		if (w[i] != V_APPLY || !S_ISDIR(c->old_mode) || (c->kind != CH_DELETED && S_ISDIR(c->new_mode)))
			continue;
		for (size_t j = first_below(v, c->root, c->path); j < v->ch.n && is_below(&v->ch.v[j], c); j++)
			if (w[j] != V_APPLY)
				w[i] = V_BELOW;
	}
	size_t applied = 0, held = 0;
	for (size_t i = 0; i < v->ch.n; i++) {
		if (w[i] == V_APPLY) {
			applied++;
		} else if (w[i] != V_SKIP) {
			held++;
			char raw[PATH_MAX * 2], q[PATH_MAX * 8];
			snprintf(raw, sizeof(raw), "%s/%s", stage_root(v->c.s, v->ch.v[i].root), v->ch.v[i].path);
			stage_quote_name(raw, q, sizeof(q));
			fprintf(stderr, "cordon: not committed: %s: %s\n", q, verdict_why(w[i]));
		}
	}
	for (size_t i = 0; i < v->ch.n; i++) {
		const struct change *c = &v->ch.v[i];
		if (w[i] == V_APPLY && !S_ISDIR(c->new_mode) && (c->new_mode & (S_ISUID | S_ISGID))) {
			char raw[PATH_MAX * 2], q[PATH_MAX * 8];
			snprintf(raw, sizeof(raw), "%s/%s", stage_root(v->c.s, c->root), c->path);
			stage_quote_name(raw, q, sizeof(q));
			fprintf(stderr, "cordon: %s: committed without its setuid/setgid bits\n", q);
		}
	}
	if (applied) {
		json_t *ops = plan_ops(v, w);
		if (!ops)
			return cerr_set(err, ENOMEM, "out of memory");
		int rc = commit_start(&v->c, ops, err);
		json_decref(ops);
		if (rc < 0)
			return -1;
	}
	/* Operations that failed were named as they failed; their changes stay in the session. */
	fprintf(stderr, "cordon: session `%s`: %zu change%s committed", v->c.s->name, applied, applied == 1 ? "" : "s");
	if (v->c.failed)
		fprintf(stderr, " (%lu operation%s failed, above: those changes stay in the session)", v->c.failed,
			v->c.failed == 1 ? "" : "s");
	if (held)
		fprintf(stderr, ", %zu held back (listed above; they stay in the session)", held);
	fprintf(stderr, "\n");
	return held || v->c.failed ? 1 : 0;
}

/* ---- discard, sessions, gc ---- */

/* Removes everything below `dfd` (never following a symlink), making directories writable first: the
 * overlay's work directory is mode 000. */
static int rm_children(int dfd, int depth)
{
	if (depth > 4096)
		return errno = ELOOP, -1;
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	rewinddir(d);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		fchmodat(dirfd(d), de->d_name, 0700, 0); /* no AT_SYMLINK_NOFOLLOW needed: a symlink unlinked above */
		_cleanup_close_ int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || rm_children(sub, depth + 1) < 0 || unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

static int discard_locked(struct stage *s, struct cordon_error **err)
{
	if (faccessat(s->dirfd, "journal.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		fprintf(stderr, "cordon: session `%s` had an interrupted commit; each real file it touched is whole, "
				"old or new\n", s->name);
	/* session.json first: a run waiting for the lock then finds no session here and starts anew. */
	if (unlinkat(s->dirfd, "session.json", 0) < 0 && errno != ENOENT)
		return cerr_sys(err, errno, "session `%s`: remove", s->name);
	char base[PATH_MAX];
	stage_base_path(base, sizeof(base));
	_cleanup_close_ int bfd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rm_children(s->dirfd, 0) < 0 || bfd < 0 || unlinkat(bfd, s->name, AT_REMOVEDIR) < 0)
		return cerr_sys(err, errno, "session `%s`: remove %s", s->name, s->dir);
	return 0;
}

static off_t layer_bytes(int dfd, int depth)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	off_t sum = 0;
	struct dirent *de;
	rewinddir(d); /* the dup shares its offset with the walk that read it before */
	while ((de = readdir(d))) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 256) {
			_cleanup_close_ int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				sum += layer_bytes(sub, depth + 1);
		}
	}
	closedir(d);
	return sum;
}

static void iso_time(int64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int list_one(const char *name, const struct stage_request *req, json_t *arr, struct cordon_error **err)
{
	struct view v = {0};
	struct cordon_error *e = NULL;
	bool busy = false;
	if (stage_open(name, 0, &v.c.s, &e) < 0) {
		busy = e && e->code == EBUSY;
		cordon_error_free(e);
		if (!busy)
			return 0; /* not a session (or one being removed) */
		fprintf(stderr, "cordon: session `%s` is in use; skipped\n", name);
		return 0;
	}
	int64_t last = stage_last_used_ns(v.c.s);
	int64_t age_days = (wall_ns() - last) / 1000000000 / 86400;
	if (req->verb == STAGE_GC) {
		int rc = 0;
		if (age_days >= (int64_t)req->older_than_days) {
			if (faccessat(v.c.s->dirfd, "journal.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
				fprintf(stderr, "cordon: session `%s` has an interrupted commit: kept (run `cordon commit %s`)\n",
					name, name);
			} else if ((rc = discard_locked(v.c.s, err)) == 0) {
				printf("removed session %s (last used %lld days ago)\n", name, (long long)age_days);
			}
		}
		view_release(&v);
		return rc;
	}
	int rc = view_open_fds(&v, err) < 0 || view_scan(&v, err) < 0 ? -1 : 0;
	off_t bytes = 0;
	for (size_t i = 0; rc == 0 && i < v.c.nroots; i++)
		bytes += layer_bytes(v.c.upper[i], 0);
	char created[32], used[32];
	iso_time(stage_created_ns(v.c.s), created, sizeof(created));
	iso_time(last, used, sizeof(used));
	bool pending = faccessat(v.c.s->dirfd, "journal.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (rc == 0 && arr) {
		json_t *roots = json_array();
		for (size_t i = 0; i < v.c.nroots; i++)
			json_array_append_new(roots, json_string(stage_root(v.c.s, i)));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:b}", "name", name, "roots", roots,
						     "created", created, "last_used", used, "age_days", (json_int_t)age_days,
						     "changes", (json_int_t)v.ch.n, "bytes", (json_int_t)bytes,
						     "interrupted_commit", pending));
	} else if (rc == 0) {
		printf("%-24s %-20s %4lldd %7zu %10lld  ", name, created, (long long)age_days, v.ch.n, (long long)bytes);
		for (size_t i = 0; i < v.c.nroots; i++)
			printf("%s%s", i ? "," : "", stage_root(v.c.s, i));
		printf("%s\n", pending ? "  (interrupted commit: run `cordon commit`)" : "");
	}
	view_release(&v);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_list(const struct stage_request *req, struct cordon_error **err)
{
	char base[PATH_MAX];
	if (stage_base_path(base, sizeof(base)) < 0)
		return cerr_set(err, ENOENT, "no sessions: neither XDG_STATE_HOME nor HOME is set");
	DIR *d = opendir(base);
	struct strv names = {0};
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && strv_push(&names, de->d_name) < 0)
				break;
		closedir(d);
	} else if (errno != ENOENT) {
		return cerr_sys(err, errno, "read %s", base);
	}
	qsort(names.v, names.n, sizeof(*names.v), by_name);
	json_t *arr = req->json && req->verb == STAGE_LIST ? json_array() : NULL;
	if (!arr && !req->json && req->verb == STAGE_LIST && names.n)
		printf("%-24s %-20s %5s %7s %10s  %s\n", "SESSION", "CREATED", "AGE", "CHANGES", "BYTES", "ROOTS");
	int rc = 0;
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		struct cordon_error *e = NULL;
		/* One damaged session does not hide the others. */
		if (list_one(names.v[i], req, arr, &e) < 0)
			fprintf(stderr, "cordon: session `%s`: %s\n", names.v[i], e && e->message ? e->message : "unreadable");
		cordon_error_free(e);
	}
	strv_clear(&names);
	if (arr && rc == 0) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	}
	json_decref(arr);
	return rc;
}

int lx_stage(const struct stage_request *req, struct cordon_error **err)
{
	/* Diffs link libgit2, which cordon itself does not load: a run would pay for it at every start. */
	if (req->verb == STAGE_DIFF)
		return cerr_set(err, ENOTSUP, "diffs are made by cordon-diff (lx_stage_diff)");
	if (req->verb == STAGE_LIST || req->verb == STAGE_GC)
		return do_list(req, err);
	struct view v = {0};
	if (stage_open(req->session, STAGE_WAIT, &v.c.s, err) < 0)
		return -1;
	int rc;
	if (req->verb == STAGE_DISCARD) {
		rc = discard_locked(v.c.s, err);
		if (rc == 0)
			fprintf(stderr, "cordon: session `%s` discarded: what it held and was not committed is gone; the real "
					"files were not touched\n", req->session);
		view_release(&v);
		return rc;
	}
	char **args = NULL;
	rc = view_open_fds(&v, err) < 0 || resolve_args(req, &args, err) < 0 || view_scan(&v, err) < 0 ? -1 : 0;
	if (rc == 0)
		rc = do_commit(&v, req, args, err);
	free_args(args);
	view_release(&v);
	return rc;
}
