// SPDX-License-Identifier: Apache-2.0
#include "daemon/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "daemon/conn.h"

extern char **environ;

/* The client's side during the run: its frames are read a piece at a time (the supervisor's loop
 * must go on meanwhile: the timeout, the broker, the pty), and a frame must arrive whole within
 * FRAME_MAX_MS of its first byte. */
#define FRAME_MAX_MS 2000

struct client {
	int conn;
	struct conn_reader r;
	struct timespec first; /* when the frame being read began */
};

/* A signal to forward, 0 for nothing (yet), or -1: the client is gone, or broke the protocol. */
static int on_client(void *ctx)
{
	struct client *c = ctx;
	struct cordon_error *err = NULL;
	bool fresh = c->r.got == 0;
	int rc = conn_reader_step(&c->r, c->conn, &err);
	int sig = 0;
	if (rc > 0) {
		if (c->r.type != PROTO_SIGNAL || c->r.nfds || proto_signal_parse(c->r.payload, c->r.len, &sig, &err) < 0)
			sig = -1;
		conn_reader_release(&c->r);
		c->r.nonblock = true;
	} else if (rc < 0) {
		sig = -1;
	} else {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (fresh && c->r.got)
			c->first = now;
		long ms = (long)(now.tv_sec - c->first.tv_sec) * 1000 + (now.tv_nsec - c->first.tv_nsec) / 1000000;
		if (c->r.got && ms > FRAME_MAX_MS)
			sig = -1;
	}
	cordon_error_free(err);
	return sig;
}

static void replay(int from, int to)
{
	char buf[4096];
	ssize_t n;
	off_t off = 0;
	while ((n = pread(from, buf, sizeof(buf), off)) > 0) {
		off += n;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = write(to, buf + w, (size_t)(n - w));
			if (k <= 0)
				return;
			w += k;
		}
	}
}

static void send_result(int conn, int status, const struct cordon_error *err, const char *report)
{
	struct proto_result r = {.status = status, .report = (char *)report}; /* only read */
	if (status < 0 && err) {
		r.code = err->code;
		r.message = err->message;
		r.hint = err->hint;
	} else if (status < 0) {
		r.code = EIO;
		r.message = "cordon failed";
	}
	size_t len = 0;
	_cleanup_free_ char *payload = proto_result_build(&r, &len);
	if (!payload || len > PROTO_MAX_PAYLOAD) {
		/* The report would not go into a frame: the status still does. */
		free(payload);
		r.report = NULL;
		payload = proto_result_build(&r, &len);
	}
	if (payload)
		conn_send(conn, PROTO_RESULT, payload, len, NULL, 0);
}

struct answer {
	int conn;
	bool sent;
};

/* The backend's on_result: the client hears its result as soon as it is final. Its stdio is let go
 * first: a caller reading the command's output to its end (`$(cordon run ...)`, a pipe) must not
 * wait for the sandbox's teardown that follows. */
static void answer_now(void *ctx, int status, const struct cordon_error *err, const char *report)
{
	struct answer *a = ctx;
	signal(SIGPIPE, SIG_IGN); /* a reader gone: the teardown must still happen */
	fflush(NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && null >= 0; i++)
		if (null != i)
			dup2(null, i);
	if (null > 2)
		close(null);
	send_result(a->conn, status, err, report);
	a->sent = true;
}

void child_serve(int conn, struct proto_run *req, int stdio[3], struct backend_prep *prep, int prep_stderr)
{
	const struct cordon_backend *be = &cordon_backend_linux;
	struct cordon_error *err = NULL;
	for (int i = 0; i < 3; i++)
		if (stdio[i] != i) {
			dup2(stdio[i], i);
			close(stdio[i]);
		}
	static char *no_env[] = {NULL};
	environ = req->env.n ? req->env.v : no_env;
	/* Blocking from here (the daemon accepted it non-blocking): a result larger than the socket's
	 * buffer must wait for the client to read it, not be cut off. */
	int fl = fcntl(conn, F_GETFL);
	if (fl >= 0)
		fcntl(conn, F_SETFL, fl & ~O_NONBLOCK);
	/* A client that stops reading the result cannot hold this process forever. */
	struct timeval tv = {.tv_sec = 30};
	setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct client client = {.conn = conn};
	conn_reader_init(&client.r, 0);
	client.r.nonblock = true;
	if (chdir(req->cwd) < 0) {
		cerr_sys(&err, errno, "working directory `%s`", req->cwd);
		if (prep)
			be->discard(prep);
		send_result(conn, -1, err, NULL);
		cordon_error_free(err);
		return;
	}
	char *none[] = {NULL};
	_cleanup_free_ char *report = NULL;
	struct strv cfg = req->config_files;
	struct run_request rq = {
		.policy = &req->policy,
		.argv = req->argv.v,
		.environ = req->env.n ? req->env.v : none,
		.config_files = &cfg,
		.audit_path = req->audit,
		.no_audit = req->no_audit,
		.report_path = req->report,
		.staged = req->staged,
		.session = req->session,
		.verbose = req->verbose,
		.tty = req->tty == PROTO_TTY_FOREGROUND ? RUN_TTY_FOREGROUND : RUN_TTY_BACKGROUND,
		.control_fd = conn,
		.control = on_client,
		.control_ctx = &client,
		.stdio_closed = req->stdio_closed,
		.report_json = &report,
	};
	struct answer answer = {.conn = conn};
	rq.on_result = answer_now;
	rq.on_result_ctx = &answer;
	struct run_attrs attrs = {.umask = req->umask, .nice = req->nice};
	for (int i = 0; i < PROTO_NLIMITS; i++) {
		int n = limit_numbers[i];
		if (req->has_limit[i] && n >= 0 && n < RUN_NLIMITS) {
			attrs.has_limit[n] = true;
			attrs.soft[n] = req->soft[i];
			attrs.hard[n] = req->hard[i];
		}
	}
	rq.attrs = &attrs;
	int status;
	bool reuse = prep && be->prepared_for(prep, &rq);
	if (getenv("CORDON_DEBUG_POOL"))
		fprintf(stderr, "cordon: debug: pooled sandbox %s\n", !prep ? "none" : reuse ? "used" : "stale");
	if (reuse) {
		if (prep_stderr >= 0)
			replay(prep_stderr, 2);
		status = be->start(prep, &rq, &err);
	} else {
		if (prep)
			be->discard(prep);
		status = be->run(&rq, &err);
	}
	fflush(NULL);
	if (!answer.sent)
		send_result(conn, status, err, report);
	conn_reader_release(&client.r);
	cordon_error_free(err);
}
