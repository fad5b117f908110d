// SPDX-License-Identifier: Apache-2.0
/*
 * Audit records: one JSON object per line (JSON Lines), schema version AUDIT_SCHEMA, documented in
 * docs/audit.md. Portable: the caller supplies the time and the session id, and writing the line
 * (append-only, outside the sandbox's reach) is the backend's business.
 *
 * Every builder returns a malloc'd line ending in "\n", with no other newline in it whatever the
 * strings hold (JSON escapes them), or NULL when out of memory.
 */
#ifndef CORDON_CORE_AUDIT_H
#define CORDON_CORE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/policy.h"

#define AUDIT_SCHEMA 1

/* What the whole run shares: every record carries it. */
struct audit_ctx {
	char session[40]; /* an opaque id, the same in every record of one run */
};

/* What was attempted, in a `denial` record. */
enum audit_denial_kind {
	AUDIT_DENY_WRITE,
	AUDIT_DENY_READ,
	AUDIT_DENY_CONNECT,
	AUDIT_DENY_UNIX_CONNECT,
	AUDIT_DENY_SYSCALL,
	AUDIT_DENY_DNS,
};

/* A file change under the writable roots, in a `file` record. */
enum audit_file_change { AUDIT_CREATED, AUDIT_MODIFIED, AUDIT_DELETED, AUDIT_RENAMED };

/* A JSON string for any bytes: UTF-8 as it is, each byte that is not as the text \xHH (a path can
 * hold any bytes, and a record must not be lost for it). NULL for NULL or on ENOMEM. */
struct json_t;
struct json_t *audit_json_text(const char *s);

const char *audit_denial_kind_name(enum audit_denial_kind k);
const char *audit_file_change_name(enum audit_file_change c);

/* "2026-11-22T20:17:05.123Z" for ts_ms milliseconds since the epoch, into out (at least 32 bytes). */
void audit_format_time(int64_t ts_ms, char *out, unsigned cap);

/* `start`: the command, where and as whom it runs, the policy in force (after every layer merged)
 * and the kernel layers that enforce it (NULL-terminated names, e.g. "landlock-abi-7"). */
char *audit_start(const struct audit_ctx *a, int64_t ts_ms, const char *version, char *const *argv, const char *cwd,
		  uint32_t uid, const struct cordon_policy *p, enum cordon_network network, const char *const *layers);

/* `denial`: `target` is the path, or the host (then `port` is set), or the system call's name; `rule`
 * says what denied it ("outside writable roots", "--deny *.evil.com"). */
char *audit_denial(const struct audit_ctx *a, int64_t ts_ms, enum audit_denial_kind kind, const char *target,
		   uint16_t port, const char *rule);

/* `net`: one connection the proxy decided on; `address` is what was dialled (NULL when refused). */
char *audit_net(const struct audit_ctx *a, int64_t ts_ms, const char *host, uint16_t port, const char *address,
		bool allowed, uint64_t bytes_out, uint64_t bytes_in, int64_t duration_ms);

/* `file`: `from` is the old path of a rename, else NULL. */
char *audit_file(const struct audit_ctx *a, int64_t ts_ms, enum audit_file_change change, const char *path,
		 const char *from);

/* `end`: the exit status as cordon reports it, and the signal that ended the command (0: none);
 * peak_memory in bytes, 0 when unknown. */
char *audit_end(const struct audit_ctx *a, int64_t ts_ms, int exit_status, int signal, int64_t wall_ms,
		int64_t cpu_ms, uint64_t peak_memory);

#endif
