// SPDX-License-Identifier: Apache-2.0
/* Opening a directory path below a trusted one without following any symlink in it. */
#ifndef CORDON_COMMON_DIRWALK_H
#define CORDON_COMMON_DIRWALK_H

#include <sys/types.h>

/*
 * Opens `rest` (a relative path of directory names) beneath the directory `start`, one component at
 * a time, making each missing one with `mode` (0: making none, a missing one is ENOENT), and never
 * following a symlink: a command that could write there cannot point cordon elsewhere. Returns a directory descriptor (O_PATH where the system
 * has it), or -1 with errno set (ELOOP when a component is a symlink or not a directory). `start` is
 * not closed.
 */
int dir_walk_nofollow(int start, const char *rest, mode_t mode);

#endif
