// SPDX-License-Identifier: Apache-2.0
/* A growable, NULL-terminated vector of owned strings. */
#ifndef CORDON_COMMON_STRV_H
#define CORDON_COMMON_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
	char **v; /* NULL-terminated once anything was added; may be NULL when empty */
	size_t n;
	size_t cap;
};

/* Appends a copy of s. -1 on ENOMEM. */
int strv_push(struct strv *sv, const char *s);
/* Appends s, taking ownership (freed on failure). */
int strv_push_owned(struct strv *sv, char *s);
bool strv_contains(const struct strv *sv, const char *s);
void strv_clear(struct strv *sv);
/* Appends copies of every string of src. */
int strv_extend(struct strv *dst, const struct strv *src);

#endif
