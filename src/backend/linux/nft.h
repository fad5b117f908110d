// SPDX-License-Identifier: Apache-2.0
/*
 * Transparent redirection for `--network proxy`: inside the command's own network namespace (only
 * `lo`), a default route via lo and an nftables ruleset send every TCP connection to a non-loopback
 * address, and every DNS datagram, to cordon's proxy listeners on 127.0.0.1; other traffic that would
 * leave loopback is dropped.
 */
#ifndef CORDON_BACKEND_LINUX_NFT_H
#define CORDON_BACKEND_LINUX_NFT_H

#include <stddef.h>
#include <stdint.h>

struct cordon_error;

/* The most host ports lx_transparent_setup() takes: one rule (about 400 bytes) each, and the whole
 * ruleset goes to the kernel in one netlink write, which must fit the socket's send buffer. */
#define LX_MAX_HOST_PORTS 256

struct lx_transparent {
	uint16_t tcp_port;          /* TCP to any non-loopback address goes to 127.0.0.1:tcp_port */
	uint16_t dns_port;          /* UDP to port 53 (any address, loopback too) goes to 127.0.0.1:dns_port */
	const uint16_t *host_ports; /* TCP to 127.0.0.1:P for these P goes to tcp_port too (owned by the caller) */
	size_t n_host_ports;
};

/* Installs the route and the `ip cordon` table in the calling thread's network namespace; needs
 * CAP_NET_ADMIN there. The ruleset goes in as one atomic batch. Ports are in host byte order. */
int lx_transparent_setup(const struct lx_transparent *t, struct cordon_error **err);

#endif
