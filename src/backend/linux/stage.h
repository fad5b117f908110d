// SPDX-License-Identifier: Apache-2.0
/*
 * Staged sessions (docs/staged.md): a run's writes to its writable roots land in an overlayfs upper
 * layer kept in $XDG_STATE_HOME/cordon/sessions/NAME, and reach the real files only through a
 * journaled `cordon commit`.
 *
 *   NAME/lock           flock()ed by every run, diff, commit and discard of the session
 *   NAME/session.json   name, creation time, roots, protected names, baselines (stage.c)
 *   NAME/journal.json   only while a commit is under way (stage_commit.c)
 *   NAME/layers/I/upper the overlay's upper layer over root I
 *   NAME/layers/I/work  the overlay's work directory
 */
#ifndef CORDON_BACKEND_LINUX_STAGE_H
#define CORDON_BACKEND_LINUX_STAGE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/backend.h"
#include "compile/plan.h"

#define STAGE_NAME_MAX 64
#define STAGE_MAX_ROOTS 64

struct stage {
	char *name;
	char dir[PATH_MAX]; /* the session's directory */
	int dirfd;          /* O_RDONLY | O_DIRECTORY */
	int lockfd;
	json_t *meta;
};

/* A session name: 1 to 64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
int stage_check_name(const char *name, struct cordon_error **err);
/* The sessions' directory ($XDG_STATE_HOME/cordon/sessions) into out; -1 when unknown. */
int stage_base_path(char *out, size_t cap);

enum stage_open_flags {
	STAGE_CREATE = 1, /* make the session when it does not exist */
	STAGE_WAIT = 2,   /* wait for another holder of the lock (saying so once), else fail EBUSY */
	STAGE_RETRIED = 4, /* internal: the session went away while this process waited */
};
/* Opens the session `name`, locked for this process until stage_close(). A missing session is ENOENT
 * (without STAGE_CREATE). */
int stage_open(const char *name, unsigned flags, struct stage **out, struct cordon_error **err);
void stage_close(struct stage *s);
void stage_closep(struct stage **s);

size_t stage_nroots(const struct stage *s);
const char *stage_root(const struct stage *s, size_t i);
/* The index of root `real` in the session, adding it (and its layer directories) when new. */
int stage_add_root(struct stage *s, const char *real, struct cordon_error **err);
/* "layers/I/upper" or "layers/I/work" of root i, absolute, into out. */
int stage_layer_path(const struct stage *s, size_t i, const char *which, char *out, size_t cap);
/* Root i, opened without following any symlink on its path, and checked to be the very directory
 * the session staged (ESTALE when it was replaced); -1 with errno. */
int stage_open_root(const struct stage *s, size_t i);
/* An O_RDONLY directory fd of root i's upper layer, or -1 with errno. */
int stage_upper_fd(const struct stage *s, size_t i);

/* Protected names (bare, matched at any depth) and paths (absolute) the session's runs had: 1 when
 * added, 0 when known, -1 on ENOMEM. */
int stage_add_protected(struct stage *s, const char *name_or_path);
/* Whether `rel` (relative to root i) is protected: a component is a protected name, or the path is
 * (or lies under) a protected path. */
bool stage_is_protected(const struct stage *s, size_t i, const char *rel);

/* The real file's ctime (ns) recorded when cordon last committed it, or -1. */
int64_t stage_baseline(const struct stage *s, size_t i, const char *rel);
int stage_set_baseline(struct stage *s, size_t i, const char *rel, int64_t ctime_ns);
int64_t stage_created_ns(const struct stage *s);
/* When a run, diff or commit last used the session. */
int64_t stage_last_used_ns(const struct stage *s);

/* Writes session.json (temp file, fsync, rename). */
int stage_save(struct stage *s, struct cordon_error **err);

struct resolved;
/* Opens (or makes) the run's session, adds its writable roots and protected names, and points
 * r->stage_layers at the layers. The session stays locked until stage_close(). */
int stage_for_run(const struct run_request *req, struct resolved *r, struct stage **out, struct cordon_error **err);

/* `cordon sessions`, `diff`, `commit`, `discard` (stage_cmd.c). */
int lx_stage(const struct stage_request *req, struct cordon_error **err);
/* `cordon diff` (stage_diff.c, in the cordon-diff program). */
int lx_stage_diff(const struct stage_request *req, struct cordon_error **err);

#endif
