// SPDX-License-Identifier: Apache-2.0
/* The variants of cordon's seccomp program (generated at build time) and what the observer needs to
 * know of them. Shared by the generator, the runner and the tests. */
#ifndef CORDON_BACKEND_LINUX_FILTER_H
#define CORDON_BACKEND_LINUX_FILTER_H

#include <stddef.h>

enum lx_filter {
	LX_FILTER_PLAIN,         /* denials only (no listener) */
	LX_FILTER_BROKER,        /* + the protected-names broker's entry calls */
	LX_FILTER_OBSERVE,       /* + every write-intent call and connect(); denials go to the observer */
	LX_FILTER_OBSERVE_READS, /* + every open, for the deny-read paths' denials */
	LX_FILTER_N,
};

struct lx_filter_prog {
	const unsigned char *bpf;
	size_t len;
};
extern const struct lx_filter_prog lx_filters[LX_FILTER_N];

/* A call the filter denies whatever its arguments (clone, unshare, socket and ioctl are denied only
 * for some arguments: the observer knows those itself). */
struct lx_denied_call {
	int nr;
	int err;
	const char *name;
};
extern const struct lx_denied_call lx_denied_calls[];
extern const size_t lx_denied_calls_n;

#endif
