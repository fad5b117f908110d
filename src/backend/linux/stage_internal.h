// SPDX-License-Identifier: Apache-2.0
/* Shared by stage_cmd.c (the verbs) and stage_commit.c (the journal). */
#ifndef CORDON_BACKEND_LINUX_STAGE_INTERNAL_H
#define CORDON_BACKEND_LINUX_STAGE_INTERNAL_H

#include <jansson.h>

#include "backend/linux/layer.h"
#include "backend/linux/stage.h"

struct commit {
	struct stage *s;
	size_t nroots;
	int real[STAGE_MAX_ROOTS];  /* the real roots (O_RDONLY directories), -1 when gone */
	int upper[STAGE_MAX_ROOTS]; /* their upper layers */
	const char *id;
	json_t *ops;
	unsigned long failed;
};

/* A session opened for diff or commit: its fds and its changes (stage_cmd.c). */
struct view {
	struct commit c;
	struct changes ch;
};

void view_release(struct view *v);
int view_open_fds(struct view *v, struct cordon_error **err);
int view_scan(struct view *v, struct cordon_error **err);
/* PATH arguments: absolute, symlinks resolved in the part that exists (NULL-terminated array). */
int resolve_args(const struct stage_request *req, char ***out, struct cordon_error **err);
void free_args(char **v);
bool change_matches(const struct view *v, const struct change *c, char *const *args, size_t n);
/* A name as a terminal may show it: as is, or in double quotes with control characters and bytes
 * that are not UTF-8 escaped (as git quotes paths). */
void stage_quote_name(const char *s, char *out, size_t cap);

/* Runs the journal left by an interrupted commit: 1 when there was one, 0 when not, -1 on error. */
int commit_resume(struct commit *c, struct cordon_error **err);
/* Journals `ops` (an array of {op, root, path, mode}) and carries them out. */
int commit_start(struct commit *c, json_t *ops, struct cordon_error **err);
int commit_run_journal(struct commit *c, json_t *j, struct cordon_error **err);

#endif
