// SPDX-License-Identifier: Apache-2.0
/*
 * Compile, then apply. A policy is first resolved against the machine (real paths, what exists and
 * what kind of file it is: the backend does that), then compiled here by pure functions into a plan:
 * an ordered list of mount operations and the Landlock grants. The backend applies a finished plan.
 * `cordon run --explain` and the golden tests print plans.
 */
#ifndef CORDON_COMPILE_PLAN_H
#define CORDON_COMPILE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/policy.h"

enum rkind { RK_MISSING, RK_DIR, RK_FILE, RK_SYMLINK, RK_OTHER };

struct rpath {
	char *path;   /* absolute, symlinks resolved except the last component for protected paths */
	enum rkind kind;
	char *target; /* RK_SYMLINK: the link's resolved absolute target, or NULL when it dangles */
};

struct rlist {
	struct rpath *v;
	size_t n;
};

/* A policy resolved against one machine. */
struct resolved {
	enum cordon_mode mode;
	enum cordon_network network;
	char *workspace; /* real path */
	char *cwd;       /* where the command starts (real path) */
	struct rlist writable;  /* real directories; the workspace first in workspace-write mode */
	struct rlist protect;   /* absolute paths inside writable roots; kind from lstat */
	struct rlist deny_read; /* real paths that exist */
	struct rlist run_keep;  /* paths under /run kept visible (read-only), e.g. the resolver's */
	struct rlist sockets;   /* the host's bound unix sockets the sandbox could see: masked */
	struct rlist read_deny; /* deny-read paths outside the writable roots, existing or not: Landlock */
	char *audit_path;       /* the audit log's file or directory (real path), or NULL: read-only always */
	char **stage_layers;    /* staged mode: per writable root, its session layer's directory; else NULL */
};

enum mop_kind {
	MOP_TMPFS,     /* a new, empty, writable tmpfs (the private /tmp) */
	MOP_EMPTY_RO,  /* a new, empty, read-only tmpfs, mode 0755 (hides /run's sockets) */
	MOP_BIND_RW,   /* the host path, read-write, at the same place */
	MOP_OVERLAY,   /* an overlay at the path: the host path below, a staged session's layer (src) above */
	MOP_BIND_RO,   /* the host path, read-only, at the same place */
	MOP_MASK_DIR,  /* an empty read-only directory with mode 000 over a deny-read directory */
	MOP_MASK_FILE, /* an empty file with mode 000 over a deny-read file */
};

/* A mount the sandbox may write through: a writable root, direct or staged. */
static inline bool mop_writable(enum mop_kind k)
{
	return k == MOP_BIND_RW || k == MOP_OVERLAY;
}

struct mount_op {
	enum mop_kind kind;
	char *path;
	char *src; /* MOP_OVERLAY: the layer's directory (holding upper/ and work/); else NULL */
};

/* Landlock write rights, as a set independent of the kernel's ABI (the backend maps them). */
enum ll_right {
	LL_WRITE_FILE = 1u << 0,
	LL_TRUNCATE = 1u << 1,
	LL_MAKE = 1u << 2,   /* every MAKE_* right */
	LL_REMOVE = 1u << 3, /* REMOVE_FILE and REMOVE_DIR */
	LL_REFER = 1u << 4,
};
#define LL_ALL (LL_WRITE_FILE | LL_TRUNCATE | LL_MAKE | LL_REMOVE | LL_REFER)

struct ll_grant {
	char *path;
	unsigned rights;
};

/* A name the broker keeps from being created, removed or replaced in one directory. */
struct guarded_name {
	char *dir;  /* real path of the directory */
	char *name; /* one path component */
	bool existed;
};

struct plan {
	bool fs_restricted; /* false in full-access */
	bool new_netns;
	bool proxy; /* --network proxy: out only through cordon's filtering proxy */
	struct mount_op *ops;
	size_t nops;
	struct ll_grant *grants;
	size_t ngrants;
	struct guarded_name *guarded;
	size_t nguarded;
	/* Paths Landlock keeps unreadable, whatever inode appears there during the run. */
	char **read_deny;
	size_t nread_deny;
};

/* Compiles r into out. Errors name the conflicting paths (e.g. a writable root inside a deny-read path). */
int plan_compile(const struct resolved *r, struct plan *out, struct cordon_error **err);
void plan_release(struct plan *p);
void resolved_release(struct resolved *r);
int rlist_push(struct rlist *l, const char *path, enum rkind kind, const char *target);
/* Writes a human-readable plan, one operation a line (for `explain` and golden tests). */
char *plan_describe(const struct plan *p);
const char *mop_kind_name(enum mop_kind k);

#endif
