// SPDX-License-Identifier: Apache-2.0
/*
 * The staged sessions' own files, session.json and journal.json (docs/staged.md), checked before
 * cordon acts on them: they are cordon's, but a full-access run or another program could have
 * changed them, and a journal names paths that a commit writes. Pure functions over jansson values
 * (no OS headers), fuzzed by tests/fuzz/fuzz_stagefile.c.
 */
#ifndef CORDON_CORE_STAGEFILE_H
#define CORDON_CORE_STAGEFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define STAGEFILE_SCHEMA 1
#define STAGEFILE_MAX_ROOTS 64
#define STAGEFILE_MAX_ID 32

/* A path relative to a root: not empty, no leading '/', no empty, "." or ".." component. */
bool stagefile_rel_ok(const char *rel);
/* 0 when `meta` is a session.json cordon can use; else -1 with the reason in `why`. */
int stagefile_meta_check(const json_t *meta, char *why, size_t cap);
/* 0 when `j` is a journal.json for a session of `nroots` roots; else -1 with the reason. */
int stagefile_journal_check(const json_t *j, size_t nroots, char *why, size_t cap);
/* Whether `rel` (relative to root i of a checked session.json) is protected: a component is `.git`,
 * `.codex` or `.agents` (always) or a protected name, or the path is or lies under a protected path. */
bool stagefile_is_protected(const json_t *meta, size_t i, const char *rel);

#endif
