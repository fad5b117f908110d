// SPDX-License-Identifier: Apache-2.0
/* The staged sessions' store: naming, locking, session.json (stage.h). */
#include "backend/linux/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/dirwalk.h"
#include "common/error.h"
#include "core/paths.h"
#include "core/stagefile.h"
#include "core/statedir.h"

#define META "session.json"
#define META_SCHEMA 1
/* session.json is cordon's own file, but a corrupt or planted one must not make it allocate without
 * bound. */
#define META_MAX_BYTES (64u << 20)

int stage_check_name(const char *name, struct cordon_error **err)
{
	size_t n = strlen(name);
	bool ok = n >= 1 && n <= STAGE_NAME_MAX && name[0] != '.' && name[0] != '-';
	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		     c == '-';
	}
	if (ok)
		return 0;
	cerr_set(err, EINVAL, "session name `%s`: use 1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -", name,
		 STAGE_NAME_MAX);
	return cerr_hint(err, "e.g. --session fix-tests");
}

int stage_base_path(char *out, size_t cap)
{
	return state_dir_path("sessions", out, cap);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The moment a session starts, for commit's conflict check (a real file whose ctime is at or past it
 * changed since). The kernel stamps files from the coarse clock (or the fine one, with multigrain
 * timestamps), so this takes the fine time and waits until the coarse clock has reached it (at most a
 * tick, once a session): a file changed before has a ctime below it, one changed after, at or above.
 */
static int64_t session_start_ns(void)
{
	int64_t t = now_ns(CLOCK_REALTIME);
	while (now_ns(CLOCK_REALTIME_COARSE) < t) {
		struct timespec ms = {.tv_nsec = 250000};
		nanosleep(&ms, NULL);
	}
	return t;
}

static json_t *new_meta(const char *name)
{
	int64_t t = session_start_ns();
	return json_pack("{s:i, s:s, s:I, s:I, s:[], s:[], s:{}}", "schema", META_SCHEMA, "name", name, "created_ns",
			 (json_int_t)t, "last_used_ns", (json_int_t)t, "roots", "protect", "baselines");
}

static int load_meta(struct stage *s, struct cordon_error **err)
{
	_cleanup_close_ int fd = openat(s->dirfd, META, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cerr_sys(err, errno, "session `%s`: open " META, s->name);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)META_MAX_BYTES)
		return cerr_set(err, EINVAL, "session `%s`: " META " is not a regular file of a sane size", s->name);
	json_error_t je;
	s->meta = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	char why[160];
	if (!s->meta)
		snprintf(why, sizeof(why), "%s", je.text);
	if (!s->meta || stagefile_meta_check(s->meta, why, sizeof(why)) < 0) {
		cerr_set(err, EINVAL, "session `%s`: %s/" META " is damaged: %s", s->name, s->dir, why);
		return cerr_hint(err, "`cordon discard %s` drops it (its changes too)", s->name);
	}
	return 0;
}

void stage_close(struct stage *s)
{
	if (!s)
		return;
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	json_decref(s->meta);
	free(s->name);
	free(s);
}

void stage_closep(struct stage **s)
{
	stage_close(*s);
}

static int lock_session(struct stage *s, unsigned flags, struct cordon_error **err)
{
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0)
		return cerr_sys(err, errno, "session `%s`: open its lock", s->name);
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return cerr_sys(err, errno, "session `%s`: lock", s->name);
	if (!(flags & STAGE_WAIT)) {
		cerr_set(err, EBUSY, "session `%s` is in use by another cordon (a run, diff or commit of it)", s->name);
		return cerr_hint(err, "wait for it to end, or use another --session");
	}
	fprintf(stderr, "cordon: session `%s` is in use by another cordon; waiting for it\n", s->name);
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return cerr_sys(err, errno, "session `%s`: lock", s->name);
	return 0;
}

int stage_open(const char *name, unsigned flags, struct stage **out, struct cordon_error **err)
{
	if (stage_check_name(name, err) < 0)
		return -1;
	__attribute__((cleanup(stage_closep))) struct stage *s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name)))
		return cerr_set(err, ENOMEM, "out of memory");
	s->dirfd = s->lockfd = -1;
	char base[PATH_MAX - STAGE_NAME_MAX - 2];
	_cleanup_close_ int bfd = -1;
	if (flags & STAGE_CREATE) {
		if ((bfd = state_dir_open("sessions", "sessions", base, sizeof(base), err)) < 0)
			return -1;
	} else {
		if (stage_base_path(base, sizeof(base)) < 0)
			return cerr_set(err, ENOENT, "no sessions: neither XDG_STATE_HOME nor HOME is set");
		_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		/* Mode 0 for "never make": a missing component is ENOENT. */
		bfd = root < 0 ? -1 : dir_walk_nofollow(root, base + 1, 0);
	}
	snprintf(s->dir, sizeof(s->dir), "%s/%s", base, name);
	if (bfd >= 0 && (flags & STAGE_CREATE) && mkdirat(bfd, name, 0700) < 0 && errno != EEXIST)
		return cerr_sys(err, errno, "session `%s`: make %s", name, s->dir);
	if (bfd >= 0)
		s->dirfd = openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0) {
		if (errno == ENOENT) {
			cerr_set(err, ENOENT, "no session `%s`", name);
			return cerr_hint(err, "`cordon sessions` lists them");
		}
		return cerr_sys(err, errno, "session `%s`: open %s", name, s->dir);
	}
	if (lock_session(s, flags, err) < 0)
		return -1;
	/* Discarded while this process waited for the lock: the directory is no longer the session's. */
	struct stat a, b;
	if (fstat(s->dirfd, &a) < 0 || bfd < 0 || fstatat(bfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		if (!(flags & STAGE_CREATE) || (flags & STAGE_RETRIED)) {
			cerr_set(err, ENOENT, "no session `%s` (it was discarded)", name);
			return cerr_hint(err, "`cordon sessions` lists them");
		}
		return stage_open(name, flags | STAGE_RETRIED, out, err);
	}
	if (faccessat(s->dirfd, META, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		if (!(flags & STAGE_CREATE)) {
			cerr_set(err, ENOENT, "no session `%s` (its directory has no " META ")", name);
			return cerr_hint(err, "`cordon sessions` lists them");
		}
		if (!(s->meta = new_meta(name)))
			return cerr_set(err, ENOMEM, "out of memory");
		if (stage_save(s, err) < 0)
			return -1;
	} else if (load_meta(s, err) < 0) {
		return -1;
	}
	*out = steal_ptr(&s);
	return 0;
}

size_t stage_nroots(const struct stage *s)
{
	return json_array_size(json_object_get(s->meta, "roots"));
}

const char *stage_root(const struct stage *s, size_t i)
{
	return json_string_value(json_array_get(json_object_get(s->meta, "roots"), i));
}

int stage_layer_path(const struct stage *s, size_t i, const char *which, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/layers/%zu/%s", s->dir, i, which);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int stage_open_root(const struct stage *s, size_t i)
{
	const char *root = stage_root(s, i);
	_cleanup_close_ int top = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Mode 0: make nothing. No symlink is followed on the way: a root replaced by one is refused. */
	_cleanup_close_ int p = top < 0 || !root || root[0] != '/' ? -1 : root[1] ? dir_walk_nofollow(top, root + 1, 0) : dup(top);
	if (p < 0)
		return -1;
	int fd = openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	char id[64];
	if (fd >= 0 && fstat(fd, &st) == 0) {
		snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		const char *want = json_string_value(json_array_get(json_object_get(s->meta, "root_ids"), i));
		if (want && strcmp(want, id) != 0) {
			close(fd);
			errno = ESTALE;
			return -1;
		}
	}
	return fd;
}

int stage_upper_fd(const struct stage *s, size_t i)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "layers/%zu/upper", i);
	return openat(s->dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int stage_add_root(struct stage *s, const char *real, struct cordon_error **err)
{
	json_t *roots = json_object_get(s->meta, "roots");
	size_t n = json_array_size(roots);
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_string_value(json_array_get(roots, i)), real) == 0)
			return (int)i;
	if (n >= STAGE_MAX_ROOTS)
		return cerr_set(err, E2BIG, "session `%s` already stages %d roots", s->name, STAGE_MAX_ROOTS);
	/* Nested roots would be two layers over one tree, committed in two orders: one root a session. */
	for (size_t i = 0; i < n; i++) {
		const char *other = json_string_value(json_array_get(roots, i));
		if (path_is_under(real, other) || path_is_under(other, real)) {
			cerr_set(err, EINVAL, "session `%s` stages `%s`; `%s` would nest with it", s->name, other, real);
			return cerr_hint(err, "use another --session for this run, or the same workspace and --writable roots");
		}
	}
	struct stat st;
	if (stat(real, &st) < 0)
		return cerr_sys(err, errno, "root `%s`", real);
	char id[64];
	snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	json_t *ids = json_object_get(s->meta, "root_ids");
	if (!ids && json_object_set_new(s->meta, "root_ids", ids = json_array()) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	if (json_array_append_new(ids, json_string(id)) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	char rel[64];
	for (const char *which = "upper"; which; which = strcmp(which, "upper") == 0 ? "work" : NULL) {
		snprintf(rel, sizeof(rel), "layers/%zu/%s", n, which);
		_cleanup_close_ int fd = dir_walk_nofollow(s->dirfd, rel, 0700);
		if (fd < 0)
			return cerr_sys(err, errno, "session `%s`: make %s/%s", s->name, s->dir, rel);
	}
	if (json_array_append_new(roots, json_string(real)) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return (int)n;
}

int stage_add_protected(struct stage *s, const char *name_or_path)
{
	json_t *v = json_object_get(s->meta, "protect");
	size_t i;
	json_t *e;
	json_array_foreach (v, i, e)
		if (strcmp(json_string_value(e), name_or_path) == 0)
			return 0;
	return json_array_append_new(v, json_string(name_or_path)) < 0 ? -1 : 1;
}

bool stage_is_protected(const struct stage *s, size_t i, const char *rel)
{
	return stagefile_is_protected(s->meta, i, rel);
}

static void baseline_key(char *out, size_t cap, size_t i, const char *rel)
{
	snprintf(out, cap, "%zu:%s", i, rel);
}

int64_t stage_baseline(const struct stage *s, size_t i, const char *rel)
{
	char key[PATH_MAX + 32];
	baseline_key(key, sizeof(key), i, rel);
	json_t *v = json_object_get(json_object_get(s->meta, "baselines"), key);
	return v ? (int64_t)json_integer_value(v) : -1;
}

int stage_set_baseline(struct stage *s, size_t i, const char *rel, int64_t ctime_ns)
{
	char key[PATH_MAX + 32];
	baseline_key(key, sizeof(key), i, rel);
	return json_object_set_new(json_object_get(s->meta, "baselines"), key, json_integer((json_int_t)ctime_ns));
}

int64_t stage_last_used_ns(const struct stage *s)
{
	int64_t t = (int64_t)json_integer_value(json_object_get(s->meta, "last_used_ns"));
	struct stat st;
	if (s->lockfd >= 0 && fstat(s->lockfd, &st) == 0) {
		int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		t = m > t ? m : t;
	}
	return t;
}

int64_t stage_created_ns(const struct stage *s)
{
	return (int64_t)json_integer_value(json_object_get(s->meta, "created_ns"));
}

int stage_save(struct stage *s, struct cordon_error **err)
{
	json_object_set_new(s->meta, "last_used_ns", json_integer((json_int_t)now_ns(CLOCK_REALTIME)));
	_cleanup_free_ char *text = json_dumps(s->meta, JSON_COMPACT);
	if (!text)
		return cerr_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = openat(s->dirfd, META ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0 ||
	    renameat(s->dirfd, META ".tmp", s->dirfd, META) < 0 || fsync(s->dirfd) < 0)
		return cerr_sys(err, errno, "session `%s`: write %s/" META, s->name, s->dir);
	return 0;
}

static char *new_name(void)
{
	unsigned char rnd[3];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return NULL;
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	char *out = NULL;
	return asprintf(&out, "s-%04d%02d%02d-%02d%02d%02d-%02x%02x%02x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec, rnd[0], rnd[1], rnd[2]) < 0 ? NULL : out;
}

int stage_for_run(const struct run_request *req, struct resolved *r, struct stage **out, struct cordon_error **err)
{
	const struct cordon_policy *p = req->policy;
	if (r->mode != CORDON_MODE_WORKSPACE_WRITE || !r->writable.n) {
		cerr_set(err, EINVAL, "--staged stages the writes of --mode workspace-write; this run is %s",
			 policy_mode_name(r->mode));
		return cerr_hint(err, "drop --staged, or use --mode workspace-write");
	}
	_cleanup_free_ char *generated = req->session ? NULL : new_name();
	if (!req->session && !generated)
		return cerr_set(err, ENOMEM, "out of memory");
	const char *name = req->session ? req->session : generated;
	if (!(r->stage_layers = calloc(r->writable.n, sizeof(char *))))
		return cerr_set(err, ENOMEM, "out of memory");
	if (req->explain_only) {
		/* Nothing is made for --explain: the layers are named as they would be. */
		char base[PATH_MAX];
		if (stage_base_path(base, sizeof(base)) < 0)
			return cerr_set(err, ENOENT, "no place for sessions: neither XDG_STATE_HOME nor HOME is set");
		for (size_t i = 0; i < r->writable.n; i++)
			if (asprintf(&r->stage_layers[i], "%s/%s/layers/?", base, name) < 0)
				return cerr_set(err, ENOMEM, "out of memory");
		return 0;
	}
	__attribute__((cleanup(stage_closep))) struct stage *s = NULL;
	if (stage_open(name, STAGE_CREATE | STAGE_WAIT, &s, err) < 0)
		return -1;
	/* A commit that was interrupted is finished first: its journal names layer entries that a run could
	 * otherwise change under it (the resumed commit would then apply what nobody reviewed). */
	if (faccessat(s->dirfd, "journal.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		cerr_set(err, EBUSY, "session `%s` has an interrupted commit", name);
		return cerr_hint(err, "run `cordon commit %s` to finish it (or `cordon discard %s`), then run again", name,
				 name);
	}
	size_t nroots = stage_nroots(s);
	for (size_t i = 0; i < r->writable.n; i++) {
		int idx = stage_add_root(s, r->writable.v[i].path, err);
		if (idx < 0 || asprintf(&r->stage_layers[i], "%s/layers/%d", s->dir, idx) < 0)
			return idx < 0 ? -1 : cerr_set(err, ENOMEM, "out of memory");
	}
	int rc = 0, added = 0;
	for (int i = 0; rc >= 0 && p->default_protect && policy_default_protect[i]; i++)
		added += rc = stage_add_protected(s, policy_default_protect[i]);
	for (size_t i = 0; rc >= 0 && i < p->protect.n; i++)
		if (path_is_bare_name(p->protect.v[i]))
			added += rc = stage_add_protected(s, p->protect.v[i]);
	for (size_t i = 0; rc >= 0 && i < r->protect.n; i++)
		added += rc = stage_add_protected(s, r->protect.v[i].path);
	if (rc < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	/* session.json is rewritten (and synced) only when it changes: not on every run of a session. The
	 * lock file's mtime says when it was last used. */
	if ((added || stage_nroots(s) != nroots) && stage_save(s, err) < 0)
		return -1;
	futimens(s->lockfd, NULL);
	if (!req->session)
		fprintf(stderr, "cordon: staged in session %s (review: cordon diff %s; apply: cordon commit %s)\n", name,
			name, name);
	*out = steal_ptr(&s);
	return 0;
}
