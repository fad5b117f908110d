// SPDX-License-Identifier: Apache-2.0
/* Shared by stage_cmd.c (the verbs) and stage_commit.c (the journal). */
#ifndef CORDON_BACKEND_LINUX_STAGE_INTERNAL_H
#define CORDON_BACKEND_LINUX_STAGE_INTERNAL_H

#include <jansson.h>

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

/* Runs the journal left by an interrupted commit: 1 when there was one, 0 when not, -1 on error. */
int commit_resume(struct commit *c, struct cordon_error **err);
/* Journals `ops` (an array of {op, root, path, mode}) and carries them out. */
int commit_start(struct commit *c, json_t *ops, struct cordon_error **err);
int commit_run_journal(struct commit *c, json_t *j, struct cordon_error **err);

#endif
