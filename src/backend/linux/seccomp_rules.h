// SPDX-License-Identifier: Apache-2.0
/* The seccomp rules, for the build-time generator and the consistency test (not the runner). */
#ifndef CORDON_BACKEND_LINUX_SECCOMP_RULES_H
#define CORDON_BACKEND_LINUX_SECCOMP_RULES_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>

#include <cordon/cordon.h>

#include <stdio.h>

#include "backend/linux/filter.h"

/* Adds cordon's rules for one variant to ctx. */
int lx_seccomp_rules(scmp_filter_ctx ctx, enum lx_filter variant, struct cordon_error **err);
/* The finished BPF program for one variant; *bpf is malloc'd (struct sock_filter records). */
int lx_seccomp_export(enum lx_filter variant, unsigned char **bpf, size_t *len, struct cordon_error **err);
/* Writes the table of calls denied outright (number, errno, name) as C, for the observer. */
int lx_seccomp_emit_denied(FILE *out);

#endif
