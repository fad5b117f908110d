// SPDX-License-Identifier: Apache-2.0
/* The warm pool daemon (`cordon serve`, docs/daemon.md) and its clients. POSIX. */
#ifndef CORDON_DAEMON_DAEMON_H
#define CORDON_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/proto.h"

/* The socket a client uses: $CORDON_SOCKET when set (empty: none), else
 * $XDG_RUNTIME_DIR/cordon/cordon.sock. -1 when there is none to try. */
int daemon_socket_path(char *out, size_t cap);

struct serve_options {
	const char *socket;  /* NULL: daemon_socket_path() */
	unsigned pool;       /* sandboxes kept ready per policy */
	unsigned policies;   /* policies kept (the most recently used) */
};
/* Serves until SIGTERM or SIGINT; then every sandbox it owns is killed. 0, or -1 with *err set. */
int daemon_serve(const struct serve_options *o, struct cordon_error **err);

/* Connects to the daemon at `path`. 0 and *fd; 1 when no daemon is there; -1 with *err set (one is
 * there but cannot be used: another user's, a refusal). */
int daemon_connect(const char *path, int *fd, struct cordon_error **err);

/* `cordon serve --status`: prints the daemon's answer to STATUS (JSON) on stdout. */
int daemon_status(const char *socket, struct cordon_error **err);

#endif
