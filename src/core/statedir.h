// SPDX-License-Identifier: Apache-2.0
/* cordon's per-user state directory: $XDG_STATE_HOME/cordon, or ~/.local/state/cordon. The audit log
 * and the staged sessions live below it. */
#ifndef CORDON_CORE_STATEDIR_H
#define CORDON_CORE_STATEDIR_H

#include <stddef.h>

#include <cordon/cordon.h>

/* "<state>/cordon/<sub>" into out; -1 when neither XDG_STATE_HOME nor a home directory is known. */
int state_dir_path(const char *sub, char *out, size_t cap);

/*
 * Opens "<state>/cordon/<sub>" (its path from state_dir_path() into `out`), making the missing
 * directories 0700. Below the base (XDG_STATE_HOME or HOME, which may be symlinks of the user's own
 * making) it goes one component at a time and never follows a symlink: a run that could write there
 * (--no-audit, full-access) could have planted one to lead a later run somewhere the sandbox writes.
 * Returns an O_PATH directory fd, or -1 with *err set (naming `what`).
 */
int state_dir_open(const char *sub, const char *what, char *out, size_t cap, struct cordon_error **err);

#endif
