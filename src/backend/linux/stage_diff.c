// SPDX-License-Identifier: Apache-2.0
/* `cordon diff`: a session's changes as a unified diff, --stat lines or JSON. Built into its own
 * program, cordon-diff, with libgit2: the cordon binary that starts every sandbox does not load it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/linux/layer.h"
#include "backend/linux/stage.h"
#include "backend/linux/stage_internal.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/audit.h"
#include "core/textdiff.h"

/* A side of a change: a regular file's bytes (at most TEXTDIFF_MAX_BYTES + 1), a symlink's target as a
 * line, nothing for anything else. Reached without following a symlink anywhere on the path: the real
 * tree may change while this reads it. */
static int read_all(int dfd, const char *rel, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (dfd < 0)
		return 0;
	char t[PATH_MAX];
	ssize_t n = layer_readlink(dfd, rel, t, sizeof(t) - 1);
	if (n >= 0) {
		t[n++] = '\n';
		if (!(*buf = malloc((size_t)n)))
			return -1;
		memcpy(*buf, t, (size_t)n);
		*len = (size_t)n;
		return 0;
	}
	_cleanup_close_ int fd = layer_open_file(dfd, rel);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return errno == EINVAL || errno == ELOOP || errno == EXDEV ? 0 : -1; /* not a file (any more) */
	size_t cap = (size_t)st.st_size > TEXTDIFF_MAX_BYTES ? TEXTDIFF_MAX_BYTES + 1 : (size_t)st.st_size;
	if (!(*buf = malloc(cap + 1)))
		return -1;
	while (*len < cap) {
		ssize_t k = read(fd, *buf + *len, cap - *len);
		if (k < 0 && errno == EAGAIN)
			break;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		*len += (size_t)k;
	}
	return 0;
}

static const char *type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "symlink" : m ? "special" : "none";
}

static char kind_letter(const struct change *c)
{
	return c->kind == CH_ADDED ? 'A' : c->kind == CH_DELETED ? 'D' : c->kind == CH_RENAMED ? 'R' : c->kind == CH_SPECIAL ? 'X' : 'M';
}

/* Lines of a text with nothing to compare it against. */
static size_t count_lines(const char *b, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += b[i] == '\n';
	return k + (n && b[n - 1] != '\n');
}

struct diffed {
	struct textdiff st;
	char *text; /* the hunks, when asked for */
	size_t text_len;
};

static int diff_one(const struct view *v, const struct change *c, bool hunks, struct diffed *d, struct cordon_error **err)
{
	memset(d, 0, sizeof(*d));
	bool old_text = S_ISREG(c->old_mode) || S_ISLNK(c->old_mode);
	bool new_text = S_ISREG(c->new_mode) || S_ISLNK(c->new_mode);
	if (c->kind == CH_SPECIAL || (!old_text && !new_text) || (c->kind == CH_MODIFIED && !c->content))
		return 0;
	if (c->kind == CH_RENAMED && !hunks)
		return 0;
	_cleanup_free_ char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	const char *old_rel = c->from ? c->from : c->path;
	if ((old_text && c->kind != CH_ADDED && read_all(v->c.real[c->root], old_rel, &a, &alen) < 0) ||
	    (new_text && c->kind != CH_DELETED && read_all(v->c.upper[c->root], c->path, &b, &blen) < 0))
		return cerr_sys(err, errno, "read `%s`", c->path);
	if (!hunks && (!a || !b) && !memchr(a ? a : b, '\0', (a ? alen : blen) < 8000 ? (a ? alen : blen) : 8000) &&
	    (a ? alen : blen) <= TEXTDIFF_MAX_BYTES) {
		/* Added or deleted whole: every line counts, no diff to run. */
		(a ? &d->st.deletions : &d->st.additions)[0] = count_lines(a ? a : b, a ? alen : blen);
		return 0;
	}
	FILE *out = hunks ? open_memstream(&d->text, &d->text_len) : NULL;
	int rc = textdiff_buffers(a, alen, b, blen, out, &d->st, err);
	if (out)
		fclose(out);
	return rc;
}

static void show_path(const struct view *v, const struct change *c, const char *rel, char *out, size_t cap)
{
	char raw[PATH_MAX * 2];
	if (v->c.nroots > 1)
		snprintf(raw, sizeof(raw), "%s/%s", stage_root(v->c.s, c->root) + 1, rel);
	else
		snprintf(raw, sizeof(raw), "%s", rel);
	stage_quote_name(raw, out, cap);
}

static void print_unified(const struct view *v, const struct change *c, const struct diffed *d, bool prot)
{
	char p[PATH_MAX * 8], f[PATH_MAX * 8];
	show_path(v, c, c->path, p, sizeof(p));
	show_path(v, c, c->from ? c->from : c->path, f, sizeof(f));
	printf("diff --cordon a/%s b/%s\n", f, p);
	if (prot)
		printf("protected path: `cordon commit` never applies it\n");
	if (c->kind == CH_SPECIAL) {
		printf("special file (%s): `cordon commit` does not apply it\n", S_ISFIFO(c->new_mode) ? "fifo" : "socket or device");
		return;
	}
	if (c->kind == CH_ADDED)
		printf("new %s mode %06o\n", S_ISDIR(c->new_mode) ? "directory" : "file", (unsigned)c->new_mode);
	else if (c->kind == CH_DELETED)
		printf("deleted %s mode %06o\n", S_ISDIR(c->old_mode) ? "directory" : "file", (unsigned)c->old_mode);
	else if (c->old_mode != c->new_mode)
		printf("old mode %06o\nnew mode %06o\n", (unsigned)c->old_mode, (unsigned)c->new_mode);
	if (c->kind == CH_RENAMED)
		printf("rename from %s\nrename to %s\n", f, p);
	if (d->st.binary) {
		printf("Binary files %s%s and %s%s differ\n", c->kind == CH_ADDED ? "" : "a/", c->kind == CH_ADDED ? "/dev/null" : f,
		       c->kind == CH_DELETED ? "" : "b/", c->kind == CH_DELETED ? "/dev/null" : p);
	} else if (d->text_len) {
		printf("--- %s%s\n+++ %s%s\n", c->kind == CH_ADDED ? "" : "a/", c->kind == CH_ADDED ? "/dev/null" : f,
		       c->kind == CH_DELETED ? "" : "b/", c->kind == CH_DELETED ? "/dev/null" : p);
		fwrite(d->text, 1, d->text_len, stdout);
	}
}

static void print_stat(const struct view *v, const struct change *c, const struct diffed *d, bool prot)
{
	char p[PATH_MAX * 8], f[PATH_MAX * 8];
	show_path(v, c, c->path, p, sizeof(p));
	printf("%c %s", kind_letter(c), p);
	if (c->kind == CH_RENAMED) {
		show_path(v, c, c->from, f, sizeof(f));
		printf(" (from %s)", f);
	}
	printf(" |");
	if (S_ISDIR(c->new_mode) || (c->kind == CH_DELETED && S_ISDIR(c->old_mode)))
		printf(" directory");
	else if (c->kind == CH_SPECIAL)
		printf(" special file");
	else if (d->st.binary)
		printf(" binary");
	else if (c->kind != CH_MODIFIED || c->content)
		printf(" +%zu -%zu", d->st.additions, d->st.deletions);
	if (c->old_mode && c->new_mode && c->old_mode != c->new_mode)
		printf(" mode %06o -> %06o", (unsigned)c->old_mode, (unsigned)c->new_mode);
	printf("%s\n", prot ? " (protected: never committed)" : "");
}

static json_t *change_json(const struct view *v, const struct change *c, const struct diffed *d, bool prot, bool hunks)
{
	char om[16], nm[16];
	snprintf(om, sizeof(om), "%06o", (unsigned)c->old_mode);
	snprintf(nm, sizeof(nm), "%06o", (unsigned)c->new_mode);
	/* Names are bytes: audit_json_text() keeps one that is not UTF-8 (as \xHH) instead of losing it. */
	json_t *o = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "root",
			      audit_json_text(stage_root(v->c.s, c->root)), "path", audit_json_text(c->path), "change",
			      change_kind_name(c->kind), "old_type", type_name(c->old_mode), "new_type", type_name(c->new_mode),
			      "old_mode", om, "new_mode", nm, "binary", d->st.binary, "protected", prot, "additions",
			      (json_int_t)d->st.additions, "deletions", (json_int_t)d->st.deletions);
	if (o && c->from && json_object_set_new(o, "from", audit_json_text(c->from)) < 0)
		return json_decref(o), NULL;
	if (o && hunks && d->text && json_object_set_new(o, "diff", audit_json_text(d->text)) < 0)
		return json_decref(o), NULL;
	return o;
}

static int do_diff(struct view *v, const struct stage_request *req, char **args, struct cordon_error **err)
{
	json_t *arr = req->json ? json_array() : NULL;
	size_t files = 0, adds = 0, dels = 0;
	for (size_t i = 0; i < v->ch.n; i++) {
		const struct change *c = &v->ch.v[i];
		if (!change_matches(v, c, args, req->npaths))
			continue;
		bool prot = stage_is_protected(v->c.s, c->root, c->path) ||
			    (c->from && stage_is_protected(v->c.s, c->root, c->from));
		struct diffed d;
		if (diff_one(v, c, !req->stat, &d, err) < 0)
			return -1;
		files++;
		adds += d.st.additions;
		dels += d.st.deletions;
		if (arr) {
			if (json_array_append_new(arr, change_json(v, c, &d, prot, !req->stat)) < 0) {
				free(d.text);
				json_decref(arr);
				return cerr_set(err, ENOMEM, "out of memory building the JSON of a change");
			}
		} else if (req->stat)
			print_stat(v, c, &d, prot);
		else
			print_unified(v, c, &d, prot);
		free(d.text);
	}
	if (arr) {
		json_t *roots = json_array();
		for (size_t i = 0; i < v->c.nroots; i++)
			json_array_append_new(roots, json_string(stage_root(v->c.s, i)));
		json_t *o = json_pack("{s:s, s:o, s:o}", "session", v->c.s->name, "roots", roots, "changes", arr);
		int rc = o ? json_dumpf(o, stdout, JSON_INDENT(2)) : -1;
		json_decref(o);
		if (rc < 0)
			return cerr_set(err, ENOMEM, "out of memory");
		printf("\n");
	} else if (req->stat) {
		printf("%zu change%s, %zu insertion%s(+), %zu deletion%s(-)\n", files, files == 1 ? "" : "s", adds,
		       adds == 1 ? "" : "s", dels, dels == 1 ? "" : "s");
	}
	return 0;
}

int lx_stage_diff(const struct stage_request *req, struct cordon_error **err)
{
	struct view v = {0};
	if (stage_open(req->session, STAGE_WAIT, &v.c.s, err) < 0)
		return -1;
	char **args = NULL;
	int rc = view_open_fds(&v, err) < 0 || resolve_args(req, &args, err) < 0 || view_scan(&v, err) < 0 ? -1 : 0;
	if (rc == 0)
		rc = do_diff(&v, req, args, err);
	free_args(args);
	view_release(&v);
	return rc;
}
