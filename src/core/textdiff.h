// SPDX-License-Identifier: Apache-2.0
/* Line diffs of two buffers, for `cordon diff`: libgit2's diff engine (xdiff), not a hand-written one. */
#ifndef CORDON_CORE_TEXTDIFF_H
#define CORDON_CORE_TEXTDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cordon/cordon.h>

/* Past this size a side is not diffed line by line: it is reported as binary. */
#define TEXTDIFF_MAX_BYTES (16u << 20)

struct textdiff {
	size_t additions;
	size_t deletions;
	bool binary; /* a NUL byte in either side's start, or a side past TEXTDIFF_MAX_BYTES */
};

/*
 * Compares `a` (the old text; NULL with alen 0 for none) with `b`. Fills *st; when `out` is not NULL,
 * writes the hunks there in unified format with 3 lines of context ("@@ -1,2 +1,3 @@" and the lines),
 * without file headers (the caller writes those). A binary pair writes nothing.
 */
int textdiff_buffers(const void *a, size_t alen, const void *b, size_t blen, FILE *out, struct textdiff *st,
		     struct cordon_error **err);

#endif
