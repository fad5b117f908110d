// SPDX-License-Identifier: Apache-2.0
/* Lexical path helpers: no file system access. Portable. */
#ifndef CORDON_CORE_PATHS_H
#define CORDON_CORE_PATHS_H

#include <stdbool.h>

/* Joins base and rel (rel absolute: rel alone) and normalises "//", "/./" and "/../" lexically.
 * Returns a new string or NULL on ENOMEM. */
char *path_join_normalize(const char *base, const char *rel);
/* Expands a leading "~/" or a lone "~" with home. Returns a new string, NULL on ENOMEM or when the
 * path starts with "~" but home is NULL. */
char *path_expand_home(const char *path, const char *home);
/* True when path equals root or lies beneath it (both absolute and normalised). */
bool path_is_under(const char *path, const char *root);
/* True when s has no slash and is not "." or "..". */
bool path_is_bare_name(const char *s);

#endif
