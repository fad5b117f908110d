// SPDX-License-Identifier: Apache-2.0
/* Frames of the daemon protocol (core/proto.h) over a unix stream socket, with their fds. POSIX. */
#ifndef CORDON_DAEMON_CONN_H
#define CORDON_DAEMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

#define CONN_MAX_FDS 4

/* Sends one frame; `fds` ride with its first byte. 0, or -1 with errno. */
int conn_send(int fd, uint16_t type, const char *payload, size_t len, const int *fds, int nfds);
/* Receives one frame, blocking. *payload is NUL-terminated (free it). fds[] gets what came with it
 * (CLOEXEC), *nfds how many; more than `maxfds` is an error (all are closed). 0; 1 on EOF before
 * a frame; -1 with *err set. */
int conn_recv(int fd, uint16_t *type, char **payload, size_t *len, int *fds, int maxfds, int *nfds,
	      struct cordon_error **err);

/* A frame read a piece at a time from a non-blocking socket (the daemon reads many at once). */
struct conn_reader {
	uint8_t hdr[PROTO_HEADER_LEN];
	size_t got;       /* bytes of header and payload so far */
	uint16_t type;
	uint32_t len;
	char *payload;
	size_t cap;       /* bytes allocated for the payload: grown as it arrives, not as announced */
	int fds[CONN_MAX_FDS];
	int nfds;
	int maxfds;
	bool nonblock;    /* receive with MSG_DONTWAIT (the socket itself may block for writes) */
};
void conn_reader_init(struct conn_reader *r, int maxfds);
void conn_reader_release(struct conn_reader *r);
/* Reads what is there. 1: a frame is complete; 0: more to come; -1: EOF or error (*err set). */
int conn_reader_step(struct conn_reader *r, int fd, struct cordon_error **err);

/* SO_PEERCRED: the peer's uid, or -1. */
long conn_peer_uid(int fd);

#endif
