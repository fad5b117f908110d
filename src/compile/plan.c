// SPDX-License-Identifier: Apache-2.0
#include "compile/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "core/paths.h"

int rlist_push(struct rlist *l, const char *path, enum rkind kind, const char *target)
{
	struct rpath *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	l->v = v;
	struct rpath *e = &v[l->n];
	e->path = strdup(path);
	e->kind = kind;
	e->target = target ? strdup(target) : NULL;
	if (!e->path || (target && !e->target)) {
		free(e->path);
		free(e->target);
		return -1;
	}
	l->n++;
	return 0;
}

static void rlist_release(struct rlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].target);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void resolved_release(struct resolved *r)
{
	for (size_t i = 0; r->stage_layers && i < r->writable.n; i++)
		free(r->stage_layers[i]);
	free(r->stage_layers);
	free(r->workspace);
	free(r->cwd);
	rlist_release(&r->writable);
	rlist_release(&r->protect);
	rlist_release(&r->deny_read);
	rlist_release(&r->run_keep);
	rlist_release(&r->sockets);
	rlist_release(&r->read_deny);
	free(r->audit_path);
	memset(r, 0, sizeof(*r));
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->nops; i++) {
		free(p->ops[i].path);
		free(p->ops[i].src);
	}
	for (size_t i = 0; i < p->ngrants; i++)
		free(p->grants[i].path);
	for (size_t i = 0; i < p->nguarded; i++) {
		free(p->guarded[i].dir);
		free(p->guarded[i].name);
	}
	for (size_t i = 0; i < p->nread_deny; i++)
		free(p->read_deny[i]);
	free(p->ops);
	free(p->grants);
	free(p->guarded);
	free(p->read_deny);
	memset(p, 0, sizeof(*p));
}

const char *mop_kind_name(enum mop_kind k)
{
	static const char *const names[] = {
		[MOP_TMPFS] = "tmpfs", [MOP_EMPTY_RO] = "empty-ro", [MOP_BIND_RW] = "bind-rw", [MOP_OVERLAY] = "overlay",
		[MOP_BIND_RO] = "bind-ro", [MOP_MASK_DIR] = "mask-dir", [MOP_MASK_FILE] = "mask-file",
	};
	return (unsigned)k < ARRAY_LEN(names) ? names[k] : "?";
}

static int add_op(struct plan *p, enum mop_kind kind, const char *path)
{
	struct mount_op *v = realloc(p->ops, (p->nops + 1) * sizeof(*v));
	if (!v)
		return -1;
	p->ops = v;
	if (!(v[p->nops].path = strdup(path)))
		return -1;
	v[p->nops].src = NULL;
	v[p->nops++].kind = kind;
	return 0;
}

static int add_overlay(struct plan *p, const char *path, const char *layer)
{
	if (add_op(p, MOP_OVERLAY, path) < 0)
		return -1;
	return (p->ops[p->nops - 1].src = strdup(layer)) ? 0 : -1;
}

static int add_grant(struct plan *p, const char *path, unsigned rights)
{
	struct ll_grant *v = realloc(p->grants, (p->ngrants + 1) * sizeof(*v));
	if (!v)
		return -1;
	p->grants = v;
	if (!(v[p->ngrants].path = strdup(path)))
		return -1;
	v[p->ngrants++].rights = rights;
	return 0;
}

static int add_guarded(struct plan *p, const char *dir, const char *name, bool existed)
{
	for (size_t i = 0; i < p->nguarded; i++)
		if (strcmp(p->guarded[i].dir, dir) == 0 && strcmp(p->guarded[i].name, name) == 0)
			return 0;
	struct guarded_name *v = realloc(p->guarded, (p->nguarded + 1) * sizeof(*v));
	if (!v)
		return -1;
	p->guarded = v;
	struct guarded_name *g = &v[p->nguarded];
	g->dir = strdup(dir);
	g->name = strdup(name);
	g->existed = existed;
	if (!g->dir || !g->name) {
		free(g->dir);
		free(g->name);
		return -1;
	}
	p->nguarded++;
	return 0;
}

static size_t depth(const char *path)
{
	size_t d = 0;
	for (const char *c = path; *c; c++)
		d += *c == '/';
	return strcmp(path, "/") == 0 ? 0 : d;
}

/* Ancestors are mounted before what lies beneath them; at equal depth the order of kinds decides
 * (a writable bind before the read-only or masking layer that goes on top of it). */
static int op_cmp(const void *a, const void *b)
{
	const struct mount_op *x = a, *y = b;
	size_t dx = depth(x->path), dy = depth(y->path);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return (int)x->kind - (int)y->kind;
}

static const char *under_any(const struct rlist *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (path_is_under(path, l->v[i].path))
			return l->v[i].path;
	return NULL;
}

/* The outermost writable root that holds `path`: with nested roots, a directory of the outer one
 * could be renamed away with the inner root's mount inside it, so the guards start from the top. */
static const char *outermost_root(const struct rlist *l, const char *path)
{
	const char *best = NULL;
	for (size_t i = 0; i < l->n; i++)
		if (path_is_under(path, l->v[i].path) && (!best || strlen(l->v[i].path) < strlen(best)))
			best = l->v[i].path;
	return best;
}

/*
 * A protected path below the top of its writable root (root/a/b/secret) is only as safe as the
 * directories above it: renaming `a` away and making a new root/a/b/secret would escape every mount.
 * So each intermediate name is guarded too: it cannot be removed, renamed or replaced.
 */
static int guard_ancestors(const struct resolved *r, struct plan *out, const char *path)
{
	const char *root = outermost_root(&r->writable, path);
	if (!root)
		return 0;
	size_t rootlen = strcmp(root, "/") ? strlen(root) : 0;
	if (strlen(path) <= rootlen + 1)
		return 0; /* the path is the root itself (refused earlier) or directly beneath it */
	_cleanup_free_ char *buf = strdup(path);
	if (!buf)
		return -1;
	/* Walk the components after the root, up to (not including) the last one. */
	for (char *p = buf + rootlen + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		char *slash = strrchr(buf, '/');
		*slash = '\0';
		int rc = add_guarded(out, *buf ? buf : "/", slash + 1, true);
		*slash = '/';
		*p = '/';
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int compile_protect(const struct resolved *r, struct plan *out, struct cordon_error **err)
{
	for (size_t i = 0; i < r->protect.n; i++) {
		const struct rpath *pp = &r->protect.v[i];
		_cleanup_free_ char *dir = strdup(pp->path);
		if (!dir)
			return cerr_set(err, ENOMEM, "out of memory");
		char *slash = strrchr(dir, '/');
		const char *name = slash + 1;
		*slash = '\0';
		const char *parent = *dir ? dir : "/";
		/* Every protected path is guarded by name: the broker refuses to create, remove or replace
		 * it, so a name that does not exist yet is covered without a placeholder on the host. */
		if (add_guarded(out, parent, name, pp->kind != RK_MISSING) < 0 || guard_ancestors(r, out, pp->path) < 0)
			return cerr_set(err, ENOMEM, "out of memory");
		if (pp->kind == RK_DIR || pp->kind == RK_FILE) {
			if (add_op(out, MOP_BIND_RO, pp->path) < 0)
				return cerr_set(err, ENOMEM, "out of memory");
		} else if (pp->kind == RK_SYMLINK && pp->target && under_any(&r->writable, pp->target) &&
			   !under_any(&r->deny_read, pp->target)) {
			/* A `.git` symlink to a git dir inside a writable root: what it points at is the
			 * thing to keep read-only. The link itself is guarded by name. */
			if (add_op(out, MOP_BIND_RO, pp->target) < 0)
				return cerr_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

int plan_compile(const struct resolved *r, struct plan *out, struct cordon_error **err)
{
	memset(out, 0, sizeof(*out));
	out->new_netns = r->network != CORDON_NETWORK_ON;
	out->proxy = r->network == CORDON_NETWORK_PROXY;
	out->fs_restricted = r->mode != CORDON_MODE_FULL_ACCESS;
	/* Full access has no file boundary, but the audit log stays out of the command's reach. */
	if (!out->fs_restricted)
		return r->audit_path && add_op(out, MOP_BIND_RO, r->audit_path) < 0 ? cerr_set(err, ENOMEM, "out of memory")
										     : 0;

	for (size_t i = 0; i < r->writable.n; i++) {
		const char *w = r->writable.v[i].path;
		const char *d = under_any(&r->deny_read, w);
		if (d)
			return cerr_set(err, EINVAL, "writable root `%s` lies inside deny-read path `%s`", w, d);
	}
	int rc = 0;
	rc |= add_op(out, MOP_TMPFS, "/tmp");
	rc |= add_op(out, MOP_EMPTY_RO, "/run");
	for (size_t i = 0; i < r->run_keep.n; i++)
		rc |= add_op(out, MOP_BIND_RO, r->run_keep.v[i].path);
	for (size_t i = 0; i < r->writable.n; i++)
		rc |= r->stage_layers ? add_overlay(out, r->writable.v[i].path, r->stage_layers[i])
				      : add_op(out, MOP_BIND_RW, r->writable.v[i].path);
	/* Read-only mode: the workspace stays visible (it may lie under the private /tmp), unwritable. */
	if (r->mode == CORDON_MODE_READ_ONLY && r->workspace)
		rc |= add_op(out, MOP_BIND_RO, r->workspace);
	for (size_t i = 0; i < r->deny_read.n; i++)
		rc |= add_op(out, r->deny_read.v[i].kind == RK_DIR ? MOP_MASK_DIR : MOP_MASK_FILE,
			     r->deny_read.v[i].path);
	/* A read-only mount does not stop connect() to a socket file, and pathname sockets cross network
	 * namespaces: the host's sockets are covered with an empty unreadable file (ECONNREFUSED). */
	for (size_t i = 0; i < r->sockets.n; i++)
		rc |= add_op(out, MOP_MASK_FILE, r->sockets.v[i].path);
	if (rc)
		return cerr_set(err, ENOMEM, "out of memory");
	if (compile_protect(r, out, err) < 0)
		return -1;
	qsort(out->ops, out->nops, sizeof(*out->ops), op_cmp);

	/* The second layer: Landlock grants the same write set, and nothing else. */
	rc |= add_grant(out, "/tmp", LL_ALL);
	rc |= add_grant(out, "/dev/shm", LL_ALL);
	/* Device nodes: /dev/null, /dev/tty, the pty. No MAKE or REMOVE: /dev's entries stay as built. */
	rc |= add_grant(out, "/dev", LL_WRITE_FILE | LL_TRUNCATE);
	for (size_t i = 0; i < r->writable.n; i++)
		rc |= add_grant(out, r->writable.v[i].path, LL_ALL);
	if (rc)
		return cerr_set(err, ENOMEM, "out of memory");
	if (r->read_deny.n && !(out->read_deny = calloc(r->read_deny.n, sizeof(char *))))
		return cerr_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < r->read_deny.n; i++, out->nread_deny++)
		if (!(out->read_deny[i] = strdup(r->read_deny.v[i].path)))
			return cerr_set(err, ENOMEM, "out of memory");
	return 0;
}

char *plan_describe(const struct plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "filesystem: %s\nnetwork: %s\n", p->fs_restricted ? "restricted" : "full-access",
		p->proxy ? "own namespace; out only through cordon's proxy (--allow)"
		: p->new_netns ? "own namespace (loopback only)" : "host");
	for (size_t i = 0; i < p->nops; i++)
		fprintf(f, "mount %s %s%s%s\n", mop_kind_name(p->ops[i].kind), p->ops[i].path, p->ops[i].src ? " layer " : "",
			p->ops[i].src ? p->ops[i].src : "");
	for (size_t i = 0; i < p->ngrants; i++) {
		unsigned r = p->grants[i].rights;
		fprintf(f, "landlock %s%s%s%s%s%s\n", p->grants[i].path, r & LL_WRITE_FILE ? " write" : "",
			r & LL_TRUNCATE ? " truncate" : "", r & LL_MAKE ? " make" : "", r & LL_REMOVE ? " remove" : "",
			r & LL_REFER ? " refer" : "");
	}
	for (size_t i = 0; i < p->nread_deny; i++)
		fprintf(f, "landlock-unreadable %s\n", p->read_deny[i]);
	for (size_t i = 0; i < p->nguarded; i++)
		fprintf(f, "guard %s/%s%s\n", strcmp(p->guarded[i].dir, "/") ? p->guarded[i].dir : "",
			p->guarded[i].name, p->guarded[i].existed ? "" : " (absent)");
	fclose(f);
	return buf;
}
