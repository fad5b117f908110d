// SPDX-License-Identifier: Apache-2.0
/*
 * The daemon protocol (docs/protocol.md): frames of a 12-byte header ("CRDN", version, type, payload
 * length, big-endian) and a JSON object; file descriptors travel with the header (SCM_RIGHTS, done by
 * the I/O side in src/daemon/). This file only builds and checks bytes: every field of a frame that
 * came from a peer is checked here before anything uses it.
 */
#ifndef CORDON_CORE_PROTO_H
#define CORDON_CORE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strv.h"
#include "core/policy.h"

#define PROTO_MAGIC "CRDN"
#define PROTO_VERSION 1u
#define PROTO_HEADER_LEN 12u
/* argv and the environment are at most ARG_MAX together (2 MiB by default); the rest is small. */
#define PROTO_MAX_PAYLOAD (8u << 20)
/* Strings in a request: a path or an argument, a variable, a list's length. */
#define PROTO_MAX_LIST 65536u

enum proto_type {
	PROTO_RUN = 1,    /* client -> daemon: run a command (3 fds: stdin, stdout, stderr) */
	PROTO_SIGNAL = 2, /* client -> sandbox: act on this signal as if cordon had received it */
	PROTO_RESULT = 3, /* sandbox -> client: how the command ended, the report */
	PROTO_ERROR = 4,  /* daemon -> client: the request was refused; nothing ran */
	PROTO_STATUS = 5, /* client -> daemon, and the daemon's answer: the pool's state */
};

/* Checks a header; *type and *len are the frame's. -1 with *err naming what is wrong. */
int proto_header_parse(const uint8_t hdr[PROTO_HEADER_LEN], uint16_t *type, uint32_t *len, struct cordon_error **err);
void proto_header_build(uint8_t hdr[PROTO_HEADER_LEN], uint16_t type, uint32_t len);

enum proto_tty { PROTO_TTY_NONE, PROTO_TTY_FOREGROUND, PROTO_TTY_BACKGROUND };

/* The resource limits a request carries, by name (the daemon maps them to its OS's numbers). */
#define PROTO_NLIMITS 16
extern const char *const proto_limit_names[PROTO_NLIMITS];

/* A RUN request: the policy, the command, and `cordon run`'s options. */
struct proto_run {
	struct cordon_policy policy;
	struct strv argv;
	struct strv env;
	char *cwd;          /* absolute */
	char *audit;        /* --audit (absolute, or "-"), or NULL */
	bool no_audit;
	char *report;       /* --report (absolute), or NULL */
	bool staged;
	char *session;      /* NULL: a new one */
	bool verbose;
	struct strv config_files; /* absolute */
	enum proto_tty tty; /* the client's stdin: a terminal whose foreground it owns, or not */
	unsigned stdio_closed; /* bits 0-2: the client's stdin, stdout, stderr were closed */
	/* The client's process attributes, which a cold run's command would inherit. */
	unsigned umask;
	int nice;
	bool has_limit[PROTO_NLIMITS];
	uint64_t soft[PROTO_NLIMITS]; /* UINT64_MAX: unlimited (-1 on the wire) */
	uint64_t hard[PROTO_NLIMITS];
};

void proto_run_init(struct proto_run *r);
void proto_run_release(struct proto_run *r);
/* The payload of a RUN frame (free it). NULL on ENOMEM. */
char *proto_run_build(const struct proto_run *r, size_t *len);
int proto_run_parse(const char *buf, size_t len, struct proto_run *out, struct cordon_error **err);
/* What a sandbox built ahead depends on: the policy, the options but the report, the directory, and
 * the variables cordon's paths come from. Two requests with the same key get the same sandbox (the
 * pool checks the plan again before it hands one out). NULL on ENOMEM. */
char *proto_run_key(const struct proto_run *r);
/* Requests the pool does not build ahead: staged, verbose (the plan is printed while it is built). */
bool proto_run_poolable(const struct proto_run *r);

char *proto_signal_build(int sig, size_t *len);
/* Only the signals `cordon run` forwards: INT, TERM, HUP, QUIT, USR1, USR2, WINCH. */
int proto_signal_parse(const char *buf, size_t len, int *sig, struct cordon_error **err);

struct proto_result {
	int status;       /* cordon run's exit status, or -1: cordon failed (error set) */
	int code;         /* the error: an errno value */
	char *message;
	char *hint;
	char *report;     /* the report (JSON text, as --report writes it), or NULL */
};
void proto_result_release(struct proto_result *r);
char *proto_result_build(const struct proto_result *r, size_t *len);
int proto_result_parse(const char *buf, size_t len, struct proto_result *out, struct cordon_error **err);

/* ERROR: a refused request (code, message, hint). */
char *proto_error_build(const struct cordon_error *e, size_t *len);
int proto_error_parse(const char *buf, size_t len, struct cordon_error **out, struct cordon_error **err);

#endif
