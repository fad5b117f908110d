// SPDX-License-Identifier: Apache-2.0
/* The seccomp rules, for the build-time generator and the consistency test (not the runner). */
#ifndef CORDON_BACKEND_LINUX_SECCOMP_RULES_H
#define CORDON_BACKEND_LINUX_SECCOMP_RULES_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>

#include <cordon/cordon.h>

/* Adds cordon's rules (and, with `broker`, the protected-names NOTIFY rules) to ctx. */
int lx_seccomp_rules(scmp_filter_ctx ctx, bool broker, struct cordon_error **err);
/* The finished BPF program for one variant; *bpf is malloc'd (struct sock_filter records). */
int lx_seccomp_export(bool broker, unsigned char **bpf, size_t *len, struct cordon_error **err);

#endif
