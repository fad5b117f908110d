// SPDX-License-Identifier: Apache-2.0
/* One request served in a process of its own: a pooled sandbox's supervisor, a cold one the daemon
 * forks, or libcordon's cordon_spawn() without a daemon. */
#ifndef CORDON_DAEMON_CHILD_H
#define CORDON_DAEMON_CHILD_H

#include "core/proto.h"

struct backend_prep;

/* proto_limit_names, in order, as this OS numbers them (RLIMIT_*). */
extern const int limit_numbers[PROTO_NLIMITS];

/* Runs `req` with the client's stdio, answering on `conn` (RESULT), and returns. `prep` (or NULL) is
 * a sandbox built ahead for a request with the same key (proto_run_key); it is used only when it
 * still is what `req` would get, and then `prep_stderr` (or -1) holds what its build printed. This
 * process is used for nothing else afterwards: it changes its directory, environment and stdio. */
void child_serve(int conn, struct proto_run *req, int stdio[3], struct backend_prep *prep, int prep_stderr);

#endif
