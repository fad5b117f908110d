// SPDX-License-Identifier: Apache-2.0
/*
 * Reading an overlayfs upper layer (mounted with `userxattr`) against its lower directory: the
 * changes a staged session holds. The kernel's formats:
 *   - a whiteout (character device 0/0) hides the lower entry of that name: deleted;
 *   - a directory with the xattr user.overlay.opaque = "y" hides the whole lower directory: what the
 *     lower one held and the upper one does not is deleted;
 *   - any other upper entry is created (nothing below), or replaces the lower one (a copy-up: the
 *     content or mode may still be the same, and is then no change).
 * With `userxattr` the kernel neither writes redirects (a renamed directory is copied) nor metacopy
 * files, so every upper file carries its whole content.
 */
#ifndef CORDON_BACKEND_LINUX_LAYER_H
#define CORDON_BACKEND_LINUX_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cordon/cordon.h>

enum change_kind {
	CH_ADDED,
	CH_MODIFIED, /* content, link target, mode or type */
	CH_DELETED,
	CH_RENAMED,  /* a deleted file and an added one with the same content */
	CH_SPECIAL,  /* a FIFO, socket or device node: never applied */
};

struct change {
	size_t root;
	char *path;   /* relative to the root */
	char *from;   /* CH_RENAMED: the old path */
	enum change_kind kind;
	mode_t old_mode; /* st_mode with the type; 0: absent */
	mode_t new_mode;
	off_t old_size;
	off_t new_size;
	bool content;    /* CH_MODIFIED: the bytes or link target differ (false: the mode alone) */
	char *unit;      /* inside an opaque directory: its path (its changes are committed together) */
};

struct changes {
	struct change *v;
	size_t n, cap;
};

/* Appends root `root`'s changes: `lower` is the real directory (or -1 when it is gone), `upper` the
 * layer. Sorted by path on return. */
int layer_changes(size_t root, int lower, int upper, struct changes *out, struct cordon_error **err);
/* Pairs deletions with additions of the same non-empty content into renames. */
void layer_find_renames(struct changes *c, int const *lower, int const *upper);
void changes_release(struct changes *c);
const char *change_kind_name(enum change_kind k);
/* `rel` beneath `dfd` (no symlink on the way, none at the end), opened O_RDONLY | O_NONBLOCK when it
 * is a regular file; else -1 (EINVAL when it is something else). */
int layer_open_file(int dfd, const char *rel);
/* The target of the symlink `rel` beneath `dfd`, reached without following any symlink. */
ssize_t layer_readlink(int dfd, const char *rel, char *buf, size_t cap);
/* Whether the two regular files hold the same bytes. */
bool layer_same_content(int dfd_a, const char *a, int dfd_b, const char *b);

#endif
