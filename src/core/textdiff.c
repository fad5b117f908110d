// SPDX-License-Identifier: Apache-2.0
#include "core/textdiff.h"

#include <errno.h>
#include <git2.h>
#include <pthread.h>
#include <string.h>

#include "common/error.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void init_libgit2(void)
{
	init_rc = git_libgit2_init();
}

static int print_line(const git_diff_delta *delta, const git_diff_hunk *hunk, const git_diff_line *line, void *payload)
{
	(void)delta;
	(void)hunk;
	FILE *out = payload;
	switch (line->origin) {
	case GIT_DIFF_LINE_CONTEXT:
	case GIT_DIFF_LINE_ADDITION:
	case GIT_DIFF_LINE_DELETION:
		fputc(line->origin, out);
		break;
	case GIT_DIFF_LINE_HUNK_HDR:
	case GIT_DIFF_LINE_CONTEXT_EOFNL:
	case GIT_DIFF_LINE_ADD_EOFNL:
	case GIT_DIFF_LINE_DEL_EOFNL:
		break;
	default: /* file headers and the binary notice: the caller writes its own */
		return 0;
	}
	fwrite(line->content, 1, line->content_len, out);
	return 0;
}

static bool looks_binary(const void *p, size_t n)
{
	/* git's rule: a NUL byte in the first 8000 bytes. */
	return p && memchr(p, '\0', n < 8000 ? n : 8000) != NULL;
}

int textdiff_buffers(const void *a, size_t alen, const void *b, size_t blen, FILE *out, struct textdiff *st,
		     struct cordon_error **err)
{
	memset(st, 0, sizeof(*st));
	if (alen > TEXTDIFF_MAX_BYTES || blen > TEXTDIFF_MAX_BYTES || looks_binary(a, alen) || looks_binary(b, blen)) {
		st->binary = true;
		return 0;
	}
	pthread_once(&init_once, init_libgit2);
	if (init_rc < 0)
		return cerr_set(err, EIO, "libgit2 did not initialise");
	git_diff_options opts;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.context_lines = 3;
	git_patch *patch = NULL;
	if (git_patch_from_buffers(&patch, a, alen, "a", b, blen, "b", &opts) < 0) {
		const git_error *e = git_error_last();
		return cerr_set(err, EIO, "diff: %s", e && e->message ? e->message : "libgit2 failed");
	}
	int rc = 0;
	if (git_patch_get_delta(patch)->flags & GIT_DIFF_FLAG_BINARY) {
		st->binary = true;
	} else {
		git_patch_line_stats(NULL, &st->additions, &st->deletions, patch);
		if (out && git_patch_print(patch, print_line, out) < 0)
			rc = cerr_set(err, EIO, "diff: printing the hunks failed");
	}
	git_patch_free(patch);
	return rc;
}
