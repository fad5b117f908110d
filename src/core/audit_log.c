// SPDX-License-Identifier: Apache-2.0
/* The audit sink of one run (core/audit_log.h). */
#include "core/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "core/audit_show.h"
#include "core/statedir.h"

/* Open addressing over the kept denials: twice their cap, a power of two. */
#define DENIAL_SLOTS (AUDIT_MAX_DENIALS * 2)

struct audit_sink {
	struct audit_ctx ctx;
	int fd;       /* -1: no log */
	bool own_fd;  /* false for stderr */
	char *path;   /* the file, or NULL */
	char *staged; /* the staged session of the run, or NULL */
	pthread_mutex_t lock;
	struct audit_denial_entry *denials;
	size_t ndenials;
	size_t nkind[AUDIT_DENIAL_KINDS];
	unsigned long dropped;
	unsigned long lost;
	int32_t slots[DENIAL_SLOTS]; /* index + 1 into denials, 0: empty */
};

int64_t audit_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int audit_default_dir(char *out, size_t cap)
{
	return state_dir_path("audit", out, cap);
}

static int open_log(struct audit_sink *s, const char *path, struct cordon_error **err)
{
	char file[PATH_MAX], abs[PATH_MAX * 2];
	_cleanup_close_ int dirfd = AT_FDCWD;
	snprintf(abs, sizeof(abs), "%s", path ? path : "");
	if (!path) {
		char dir[PATH_MAX - 32];
		if ((dirfd = state_dir_open("audit", "audit log", dir, sizeof(dir), err)) < 0)
			return cerr_hint(err, "pass --audit FILE to log elsewhere (the default needs HOME or XDG_STATE_HOME)");
		struct tm tm;
		time_t now = time(NULL);
		gmtime_r(&now, &tm);
		snprintf(file, sizeof(file), "%04d-%02d-%02d.jsonl", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		snprintf(abs, sizeof(abs), "%s/%s", dir, file);
		path = file;
	}
	/* O_NONBLOCK: a FIFO planted at the path must not hang cordon before it refuses it. */
	s->fd = openat(dirfd, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
	if (s->fd < 0) {
		cerr_sys(err, errno, "open the audit log `%s`", path);
		return cerr_hint(err, "pass --audit FILE to log elsewhere (or --no-audit to run without a log)");
	}
	/* A log someone else could write, or a second name for another file (a hard link an earlier,
	 * unaudited or full-access run planted), is no log to trust. */
	struct stat st;
	const char *why = NULL;
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_nlink != 1)
		why = "it has other names (hard links)";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		why = "writable by others";
	if (why) {
		cerr_set(err, EPERM, "audit log `%s`: %s; refusing to append to it", path, why);
		return cerr_hint(err, "move it aside and run again, or pass --audit FILE naming a file of your own");
	}
	/* The real path, from the descriptor where the system tells it (what the view keeps read-only). */
	char link[64], real[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", s->fd);
	ssize_t n = readlink(link, real, sizeof(real) - 1);
	if (n > 0 && real[0] == '/')
		real[n] = '\0';
	else if (!realpath(abs, real))
		return cerr_sys(err, errno, "audit log `%s`", abs);
	if (!(s->path = strdup(real)))
		return cerr_set(err, ENOMEM, "out of memory");
	s->own_fd = true;
	return 0;
}

static void new_session_id(struct audit_ctx *a)
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* No entropy yet (early boot): time and pid still tell runs apart. */
		uint64_t t = (uint64_t)audit_now_ms(), pid = (uint64_t)getpid();
		memcpy(r, &t, 8);
		memcpy(r + 8, &pid, 8);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(a->session + 2 * i, 3, "%02x", r[i]);
}

int audit_sink_open(const char *path, bool log, struct audit_sink **out, struct cordon_error **err)
{
	struct audit_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return cerr_set(err, ENOMEM, "out of memory");
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	new_session_id(&s->ctx);
	if (log && path && strcmp(path, "-") == 0) {
		s->fd = STDERR_FILENO;
	} else if (log && open_log(s, path, err) < 0) {
		audit_sink_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void audit_sink_close(struct audit_sink *s)
{
	if (!s)
		return;
	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	for (size_t i = 0; i < s->ndenials; i++) {
		free(s->denials[i].target);
		free(s->denials[i].rule);
	}
	free(s->denials);
	free(s->path);
	free(s->staged);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *audit_sink_path(const struct audit_sink *s)
{
	return s->path;
}

bool audit_sink_current(const struct audit_sink *s)
{
	if (!s->own_fd || !s->path)
		return true;
	struct stat a, b;
	return fstat(s->fd, &a) == 0 && lstat(s->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
	       a.st_nlink == 1;
}

const struct audit_ctx *audit_sink_ctx(const struct audit_sink *s)
{
	return &s->ctx;
}

int audit_sink_fd(const struct audit_sink *s)
{
	return s->own_fd ? s->fd : -1;
}

bool audit_sink_logging(const struct audit_sink *s)
{
	return s->fd >= 0;
}

unsigned long audit_sink_lost(const struct audit_sink *s)
{
	return s->lost;
}

void audit_sink_write(struct audit_sink *s, char *line)
{
	if (s->fd < 0) {
		free(line);
		return;
	}
	if (!line) {
		__atomic_add_fetch(&s->lost, 1, __ATOMIC_RELAXED);
		return;
	}
	/* One write per record: O_APPEND places it whole at the end, even beside other runs. */
	size_t len = strlen(line);
	ssize_t n;
	do
		n = write(s->fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		__atomic_add_fetch(&s->lost, 1, __ATOMIC_RELAXED);
	free(line);
}

static uint32_t denial_hash(enum audit_denial_kind kind, const char *target, uint16_t port, const char *rule)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind ^ ((uint32_t)port << 8);
	for (const char *p = target; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *p = rule; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

void audit_sink_denial(struct audit_sink *s, enum audit_denial_kind kind, const char *target, uint16_t port,
		       const char *rule, unsigned long count)
{
	if (!target)
		target = "";
	if (!rule)
		rule = "";
	uint32_t h = denial_hash(kind, target, port, rule);
	bool first = false;
	pthread_mutex_lock(&s->lock);
	size_t slot = h & (DENIAL_SLOTS - 1);
	for (;;) {
		int32_t idx = s->slots[slot];
		if (idx == 0)
			break;
		struct audit_denial_entry *d = &s->denials[idx - 1];
		if (d->kind == kind && d->port == port && strcmp(d->target, target) == 0 && strcmp(d->rule, rule) == 0) {
			d->count += count;
			pthread_mutex_unlock(&s->lock);
			return;
		}
		slot = (slot + 1) & (DENIAL_SLOTS - 1);
	}
	if ((unsigned)kind >= AUDIT_DENIAL_KINDS || s->nkind[kind] >= AUDIT_MAX_DENIALS_PER_KIND) {
		s->dropped += count;
	} else {
		if (!s->denials)
			s->denials = calloc(AUDIT_MAX_DENIALS, sizeof(*s->denials));
		struct audit_denial_entry *d = s->denials ? &s->denials[s->ndenials] : NULL;
		if (d && (d->target = strdup(target)) && (d->rule = strdup(rule))) {
			d->kind = kind;
			d->port = port;
			d->count = count;
			s->slots[slot] = (int32_t)++s->ndenials;
			s->nkind[kind]++;
			first = true;
		} else {
			if (d) {
				free(d->target);
				d->target = NULL;
			}
			s->dropped += count;
		}
	}
	pthread_mutex_unlock(&s->lock);
	/* Past the cap a denial is counted (denials_dropped in the report), not logged. */
	if (first)
		audit_sink_write(s, audit_denial(&s->ctx, audit_now_ms(), kind, target, port, rule));
}

size_t audit_sink_denials(struct audit_sink *s, const struct audit_denial_entry **v, unsigned long *dropped)
{
	pthread_mutex_lock(&s->lock);
	*v = s->denials;
	size_t n = s->ndenials;
	if (dropped)
		*dropped = s->dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void audit_sink_print_denials(struct audit_sink *s, FILE *f)
{
	const struct audit_denial_entry *d;
	unsigned long dropped;
	size_t n = audit_sink_denials(s, &d, &dropped);
	/* The target and rule came from the sandbox (a path, a host): escaped so that they cannot act on
	 * a terminal or forge a line. */
	struct audit_text t = {0};
	for (size_t i = 0; i < n; i++) {
		const char *what = d[i].kind == AUDIT_DENY_DNS ? "DNS lookup" : audit_denial_kind_name(d[i].kind);
		audit_text_clear(&t);
		audit_text_printf(&t, "cordon: denied %s ", what);
		audit_put_escaped(&t, d[i].target, strlen(d[i].target));
		if (d[i].port)
			audit_text_printf(&t, " port %u", d[i].port);
		audit_text_put(&t, ": ", 2);
		audit_put_escaped(&t, d[i].rule, strlen(d[i].rule));
		if (d[i].count > 1)
			audit_text_printf(&t, " (%lu times)", d[i].count);
		if (t.s)
			fprintf(f, "%s\n", t.s);
	}
	audit_text_free(&t);
	if (dropped)
		fprintf(f, "cordon: ... and %lu more denials past the first %d distinct ones of their kind\n", dropped,
			AUDIT_MAX_DENIALS_PER_KIND);
}

int audit_sink_set_staged(struct audit_sink *s, const char *session)
{
	free(s->staged);
	return (s->staged = strdup(session)) ? 0 : -1;
}

char *audit_sink_report(struct audit_sink *s, int exit_status, int signal, bool timed_out, int64_t wall_ms,
			const char *error)
{
	const struct audit_denial_entry *d;
	unsigned long dropped;
	size_t n = audit_sink_denials(s, &d, &dropped);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_pack("{s:s, s:o}", "kind", audit_denial_kind_name(d[i].kind), "target",
				      audit_json_text(d[i].target));
		if (o && d[i].port)
			json_object_set_new(o, "port", json_integer(d[i].port));
		if (o) {
			json_object_set_new(o, "rule", audit_json_text(d[i].rule));
			json_object_set_new(o, "count", json_integer((json_int_t)d[i].count));
		}
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	if (!arr)
		return NULL;
	json_t *r = json_pack("{s:i, s:s, s:i, s:i, s:b, s:I, s:o, s:I, s:o?}", "schema", AUDIT_SCHEMA, "session",
			      s->ctx.session, "exit_status", exit_status, "signal", signal, "timed_out", timed_out,
			      "wall_ms", (json_int_t)wall_ms, "denials", arr, "denials_dropped", (json_int_t)dropped,
			      "log", audit_json_text(s->path));
	if (!r || (error && json_object_set_new(r, "error", audit_json_text(error)) < 0) ||
	    (s->staged && json_object_set_new(r, "staged_session", json_string(s->staged)) < 0)) {
		json_decref(r);
		return NULL;
	}
	char *text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(r);
	return text;
}

int audit_write_file_atomic(const char *path, const char *text, struct cordon_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.cordon-tmp-%d", path, (int)getpid()) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return cerr_sys(err, errno, "write the report `%s`", path);
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			unlink(tmp);
			return cerr_sys(err, e, "write the report `%s`", path);
		}
		off += (size_t)w;
	}
	if (write(fd, "\n", 1) != 1 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cerr_sys(err, e, "write the report `%s`", path);
	}
	return 0;
}
