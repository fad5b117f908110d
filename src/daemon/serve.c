// SPDX-License-Identifier: Apache-2.0
/*
 * `cordon serve`: the warm pool. One process per user, on a unix socket only that user can reach
 * (mode 0600, and SO_PEERCRED checked on every connection). For each of the policies used last it
 * keeps sandboxes built ahead: a forked process that has done all of `cordon run` up to the command
 * (namespaces, view, Landlock, seccomp) and waits on a socketpair. A request with the same key goes to
 * one of them with the client's connection and stdio; it serves that one request and exits, so a
 * sandbox is never used twice. A request with no sandbox ready gets a process that starts cold.
 *
 * The daemon reads requests without blocking (one slow client holds up nobody) and never runs a
 * command itself. Every process it forks dies with it (PR_SET_PDEATHSIG), and each sandbox with its
 * supervisor: killing the daemon kills every sandbox it owns.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "build-config.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "daemon/child.h"
#include "daemon/conn.h"
#include "daemon/daemon.h"

extern char **environ;

/* A connection whose request is still coming in. */
struct pending {
	int fd;
	struct conn_reader r;
	struct timespec since;
};

/* A policy the pool builds for: the latest request with that key is what its sandboxes are built
 * from (environment, directory, policy). */
struct slot {
	char *key;
	uint64_t digest;
	struct proto_run pred;
	uint64_t used; /* when last used (the daemon's request counter) */
	bool refill;   /* its pool is to be topped up (see refill_due) */
};

/* A forked process: building or holding a sandbox (in the pool), or serving a request. */
struct child {
	pid_t pid;
	int ctl;        /* the daemon's end of its socketpair; -1 once it has its request */
	struct slot *slot; /* pooled: the policy it was built for; NULL: serving */
	bool ready;     /* its sandbox is built (it said so) */
};

struct daemon {
	int lfd;
	int sfd;
	bool own_socket;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pid_t pid;
	unsigned pool_n;
	unsigned policies_n;
	struct slot *slots;
	size_t nslots;
	struct child *kids;
	size_t nkids, capkids;
	struct pending *pend;
	size_t npend, cappend;
	uint64_t requests;
	bool stop;
	struct timespec refill_at; /* when the pools are topped up, unless nothing runs before */
	struct timespec accept_paused; /* out of file descriptors: the listener rests a moment */
	bool paused;
};

/* The longest a pool waits to be topped up after a hand-out. */
#define REFILL_DELAY_MS 50

/* Bytes of requests still coming in, all connections together; past it the largest is dropped. */
#define PENDING_MAX_BYTES (256u << 20)

/* Requests still being sent after this long are dropped. */
#define PENDING_MAX_MS 10000
#define PENDING_MAX 4096

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* ---- children ---- */

static void child_main(struct daemon *d, int ctl, const struct proto_run *pred) __attribute__((noreturn));

/* What runs in a forked child: builds the sandbox ahead when `pred` is given, then waits for its one
 * request on `ctl` (the client's connection and stdio come with it) and serves it. */
static void child_main(struct daemon *d, int ctl, const struct proto_run *pred)
{
	const struct cordon_backend *be = &cordon_backend_linux;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != d->pid)
		_exit(CORDON_EXIT_FAILURE);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Only its own socketpair: not the listening socket, nor other clients' connections. */
	if (dup2(ctl, 3) < 0)
		_exit(CORDON_EXIT_FAILURE);
	ctl = 3;
	if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(CORDON_EXIT_FAILURE);
	struct backend_prep *prep = NULL;
	int captured = -1;
	if (pred) {
		/* What the build prints (a warning for --allow-degraded) reaches the client that gets this
		 * sandbox, as a cold run would have printed it. */
		captured = memfd_create("cordon-build-stderr", MFD_CLOEXEC);
		if (captured >= 0)
			dup2(captured, 2);
		environ = pred->env.v;
		struct strv cfg = pred->config_files;
		struct run_request rq = {
			.policy = &pred->policy, .argv = NULL, .environ = pred->env.v, .config_files = &cfg,
			.audit_path = pred->audit, .no_audit = pred->no_audit, .ahead = true,
		};
		struct cordon_error *err = NULL;
		if (chdir(pred->cwd) < 0 || be->prepare(&rq, &prep, &err) != 0)
			prep = NULL;
		cordon_error_free(err);
		dup2(null, 2);
		send(ctl, "R", 1, MSG_NOSIGNAL);
	}
	uint16_t type;
	char *payload = NULL;
	size_t len;
	int fds[CONN_MAX_FDS], nfds = 0;
	struct cordon_error *err = NULL;
	if (conn_recv(ctl, &type, &payload, &len, fds, CONN_MAX_FDS, &nfds, &err) != 0 || type != PROTO_RUN ||
	    nfds != 4) {
		if (prep)
			be->discard(prep);
		_exit(0);
	}
	close(ctl);
	struct proto_run req;
	proto_run_init(&req);
	if (proto_run_parse(payload, len, &req, &err) < 0)
		_exit(CORDON_EXIT_FAILURE); /* the daemon checked it: cannot happen */
	child_serve(fds[0], &req, fds + 1, prep, captured);
	_exit(0);
}

static struct child *add_child(struct daemon *d)
{
	if (d->nkids == d->capkids) {
		size_t cap = d->capkids ? d->capkids * 2 : 32;
		struct child *k = realloc(d->kids, cap * sizeof(*k));
		if (!k)
			return NULL;
		d->kids = k;
		d->capkids = cap;
	}
	return &d->kids[d->nkids++];
}

/* Forks a child: pooled (for `slot`) or, with slot NULL, one that serves the next request cold. */
static struct child *spawn(struct daemon *d, struct slot *slot)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	struct child *k = add_child(d);
	if (!k) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		d->nkids--;
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(d, sv[1], slot ? &slot->pred : NULL);
	}
	close(sv[1]);
	*k = (struct child){.pid = pid, .ctl = sv[0], .slot = slot};
	return k;
}

static void drop_child(struct daemon *d, size_t i)
{
	if (d->kids[i].ctl >= 0)
		close(d->kids[i].ctl);
	d->kids[i] = d->kids[--d->nkids];
}

static size_t idle_for(const struct daemon *d, const struct slot *s)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nkids; i++)
		n += d->kids[i].slot == s;
	return n;
}

static void refill(struct daemon *d, struct slot *s)
{
	for (size_t n = idle_for(d, s); n < d->pool_n; n++)
		if (!spawn(d, s))
			break;
}

/* ---- policies ---- */

static void slot_release(struct daemon *d, struct slot *s)
{
	/* Its idle sandboxes go: killed (their processes die with their supervisors). */
	for (size_t i = d->nkids; i-- > 0;)
		if (d->kids[i].slot == s) {
			kill(d->kids[i].pid, SIGKILL);
			d->kids[i].slot = NULL;
			close(d->kids[i].ctl);
			d->kids[i].ctl = -1;
		}
	free(s->key);
	proto_run_release(&s->pred);
}

/* The slot for `key`; a new one takes the place of the least recently used. Takes `req`. */
static struct slot *slot_for(struct daemon *d, char *key, struct proto_run *req)
{
	uint64_t h = fnv1a(key);
	struct slot *s = NULL;
	for (size_t i = 0; i < d->nslots && !s; i++)
		if (d->slots[i].digest == h && strcmp(d->slots[i].key, key) == 0)
			s = &d->slots[i];
	if (s) {
		free(key);
		proto_run_release(&s->pred);
	} else {
		if (d->nslots < d->policies_n) {
			s = &d->slots[d->nslots++];
		} else {
			s = &d->slots[0];
			for (size_t i = 1; i < d->nslots; i++)
				if (d->slots[i].used < s->used)
					s = &d->slots[i];
			slot_release(d, s);
		}
		s->key = key;
		s->digest = h;
		s->refill = false;
	}
	s->pred = *req; /* the latest request: its environment is what the next sandboxes are built with */
	proto_run_init(req);
	s->used = ++d->requests;
	return s;
}

/* ---- requests ---- */

static void refuse(int fd, const struct cordon_error *e)
{
	size_t len = 0;
	_cleanup_free_ char *payload = proto_error_build(e, &len);
	if (payload)
		conn_send(fd, PROTO_ERROR, payload, len, NULL, 0);
}

static void answer_status(struct daemon *d, int fd)
{
	json_t *pols = json_array();
	size_t running = 0;
	for (size_t i = 0; i < d->nkids; i++)
		running += d->kids[i].slot == NULL;
	for (size_t s = 0; pols && s < d->nslots; s++) {
		size_t idle = 0, ready = 0;
		for (size_t i = 0; i < d->nkids; i++)
			if (d->kids[i].slot == &d->slots[s]) {
				idle++;
				ready += d->kids[i].ready;
			}
		char dig[17];
		snprintf(dig, sizeof(dig), "%016" PRIx64, d->slots[s].digest);
		json_array_append_new(pols, json_pack("{s:s, s:I, s:I}", "digest", dig, "idle", (json_int_t)idle, "ready",
						      (json_int_t)ready));
	}
	json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:o, s:I, s:I}", "pid", (json_int_t)d->pid, "version", CORDON_VERSION,
			      "pool", (json_int_t)d->pool_n, "max_policies", (json_int_t)d->policies_n, "policies", pols,
			      "serving", (json_int_t)running, "requests", (json_int_t)d->requests);
	_cleanup_free_ char *payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (payload)
		conn_send(fd, PROTO_STATUS, payload, strlen(payload), NULL, 0);
}

/* Hands the request to child `k`: the frame, the client's connection and its stdio. */
static bool hand_over(struct daemon *d, struct child *k, int conn, struct conn_reader *r)
{
	int fds[4] = {conn, r->fds[0], r->fds[1], r->fds[2]};
	bool ok = conn_send(k->ctl, PROTO_RUN, r->payload, r->len, fds, 4) == 0;
	if (ok) {
		close(k->ctl);
		k->ctl = -1;
		k->slot = NULL; /* serving now */
	}
	(void)d;
	return ok;
}

static void dispatch(struct daemon *d, int conn, struct conn_reader *r)
{
	struct cordon_error *err = NULL;
	struct proto_run req;
	proto_run_init(&req);
	if (r->nfds != 3) {
		cerr_set(&err, EPROTO, "RUN request: expected 3 file descriptors (stdin, stdout, stderr), got %d", r->nfds);
		goto refused;
	}
	if (proto_run_parse(r->payload, r->len, &req, &err) < 0)
		goto refused;
	struct slot *slot = NULL;
	if (proto_run_poolable(&req)) {
		char *key = proto_run_key(&req);
		if (!key) {
			cerr_set(&err, ENOMEM, "out of memory");
			goto refused;
		}
		slot = slot_for(d, key, &req);
		/* A ready sandbox first, else one still being built (it is the soonest), else a cold one. */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < d->nkids; i++) {
				struct child *k = &d->kids[i];
				if (k->slot == slot && k->ready == (pass == 0) && hand_over(d, k, conn, r))
					goto handed;
			}
	} else {
		d->requests++;
	}
	struct child *k = spawn(d, NULL);
	if (!k || !hand_over(d, k, conn, r)) {
		cerr_set(&err, errno ? errno : EAGAIN, "cannot start a process for the request");
		goto refused;
	}
handed:
	/* Building sandboxes takes CPU the command just handed out needs to start: the pool is topped
	 * up once no request is running, or REFILL_DELAY_MS later at the latest. */
	if (slot && !slot->refill) {
		slot->refill = true;
		clock_gettime(CLOCK_MONOTONIC, &d->refill_at);
	}
	proto_run_release(&req);
	return;
refused:
	refuse(conn, err);
	cordon_error_free(err);
	proto_run_release(&req);
}

static void close_pending(struct daemon *d, size_t i)
{
	close(d->pend[i].fd);
	conn_reader_release(&d->pend[i].r);
	d->pend[i] = d->pend[--d->npend];
}

static void on_frame(struct daemon *d, size_t i)
{
	struct pending *p = &d->pend[i];
	if (p->r.type == PROTO_STATUS) {
		answer_status(d, p->fd);
	} else if (p->r.type == PROTO_RUN) {
		dispatch(d, p->fd, &p->r);
	} else {
		struct cordon_error *e = NULL;
		cerr_set(&e, EPROTO, "expected a RUN or STATUS frame, got type %u", p->r.type);
		refuse(p->fd, e);
		cordon_error_free(e);
	}
	close_pending(d, i);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/*
 * A peer of the same uid is not enough: a sandboxed command runs as that uid too, and could ask for
 * a run under another policy (full-access). Every sandbox is in a user namespace of its own, so the
 * peer must be in the daemon's. Its pid comes from SO_PEERCRED; a pidfd (SO_PEERPIDFD, Linux 6.5)
 * proves the namespace read was that process's and not a successor's under a reused pid.
 */
static bool peer_in_my_userns(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || cr.pid <= 0)
		return false; /* not visible from the daemon's PID namespace */
	int pidfd = -1;
	l = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) < 0)
		pidfd = -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)cr.pid);
	struct stat peer, mine;
	bool same = stat(path, &peer) == 0 && stat("/proc/self/ns/user", &mine) == 0 && peer.st_dev == mine.st_dev &&
		    peer.st_ino == mine.st_ino;
	if (pidfd >= 0) {
		same = same && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
		close(pidfd);
	}
	return same;
}

static void on_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
			/* The connection stays queued, the listener readable: polling it now would spin. */
			d->paused = true;
			clock_gettime(CLOCK_MONOTONIC, &d->accept_paused);
		}
		if (fd < 0)
			return;
		/* Same user only: a sandbox runs as the daemon's user, with the client's stdio. And not
		 * from inside a sandbox. */
		long uid = conn_peer_uid(fd);
		bool here = uid == (long)geteuid() && peer_in_my_userns(fd);
		if (!here || d->npend >= PENDING_MAX) {
			struct cordon_error *e = NULL;
			if (uid != (long)geteuid())
				cerr_set(&e, EACCES, "this cordon daemon serves uid %u only, not uid %ld", geteuid(), uid);
			else if (!here)
				cerr_set(&e, EACCES, "this cordon daemon serves clients in its own user namespace only (a "
						     "command inside a sandbox cannot ask it for runs)");
			else
				cerr_set(&e, EAGAIN, "the daemon has %u requests coming in already", PENDING_MAX);
			refuse(fd, e);
			cordon_error_free(e);
			close(fd);
			continue;
		}
		if (d->npend == d->cappend) {
			size_t cap = d->cappend ? d->cappend * 2 : 64;
			struct pending *n = realloc(d->pend, cap * sizeof(*n));
			if (!n) {
				close(fd);
				continue;
			}
			d->pend = n;
			d->cappend = cap;
		}
		struct pending *p = &d->pend[d->npend++];
		p->fd = fd;
		conn_reader_init(&p->r, 3);
		clock_gettime(CLOCK_MONOTONIC, &p->since);
	}
}

static void reap(struct daemon *d)
{
	pid_t pid;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (size_t i = 0; i < d->nkids; i++)
			if (d->kids[i].pid == pid) {
				drop_child(d, i);
				break;
			}
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(d);
		else
			d->stop = true;
	}
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Requests coming in hold at most PENDING_MAX_BYTES together: the largest goes first. */
static void drop_greedy(struct daemon *d)
{
	for (;;) {
		size_t total = 0, big = 0;
		for (size_t i = 0; i < d->npend; i++) {
			total += d->pend[i].r.cap;
			if (d->pend[i].r.cap > d->pend[big].r.cap)
				big = i;
		}
		if (total <= PENDING_MAX_BYTES)
			return;
		struct cordon_error *e = NULL;
		cerr_set(&e, ENOBUFS, "the daemon holds %u MiB of requests coming in already", PENDING_MAX_BYTES >> 20);
		refuse(d->pend[big].fd, e);
		cordon_error_free(e);
		close_pending(d, big);
	}
}

static bool serving(const struct daemon *d)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (!d->kids[i].slot)
			return true;
	return false;
}

static bool refill_pending(const struct daemon *d)
{
	for (size_t i = 0; i < d->nslots; i++)
		if (d->slots[i].refill)
			return true;
	return false;
}

static void refill_due(struct daemon *d)
{
	if (!refill_pending(d) || (serving(d) && ms_since(&d->refill_at) < REFILL_DELAY_MS))
		return;
	for (size_t i = 0; i < d->nslots; i++)
		if (d->slots[i].refill) {
			d->slots[i].refill = false;
			refill(d, &d->slots[i]);
		}
}

static int loop(struct daemon *d)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	while (!d->stop) {
		size_t need = 2 + d->npend + d->nkids;
		if (need > cap) {
			struct pollfd *n = realloc(pfd, need * sizeof(*n));
			if (!n) {
				free(pfd);
				return -1;
			}
			pfd = n;
			cap = need;
		}
		size_t n = 0;
		if (d->paused && ms_since(&d->accept_paused) >= 100)
			d->paused = false;
		pfd[n++] = (struct pollfd){.fd = d->paused ? -1 : d->lfd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
		size_t npend = d->npend, nkids = d->nkids;
		for (size_t i = 0; i < npend; i++)
			pfd[n++] = (struct pollfd){.fd = d->pend[i].fd, .events = POLLIN};
		for (size_t i = 0; i < nkids; i++)
			pfd[n++] = (struct pollfd){.fd = d->kids[i].ctl, .events = POLLIN};
		int timeout = npend ? 1000 : -1;
		if (refill_pending(d) || d->paused)
			timeout = 10;
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		/* Children first (by pid: the array moves as they come and go), then requests. */
		for (size_t j = 0; j < nkids; j++) {
			if (!pfd[2 + npend + j].revents)
				continue;
			for (size_t i = 0; i < d->nkids; i++) {
				if (d->kids[i].ctl != pfd[2 + npend + j].fd || d->kids[i].ctl < 0)
					continue;
				char c;
				if (recv(d->kids[i].ctl, &c, 1, MSG_DONTWAIT) == 1)
					d->kids[i].ready = true;
				else {
					/* Gone before its request: it will be reaped. */
					kill(d->kids[i].pid, SIGKILL);
					drop_child(d, i);
				}
				break;
			}
		}
		for (size_t j = npend; j-- > 0;) {
			struct cordon_error *err = NULL;
			int rc = 0;
			if (pfd[2 + j].revents)
				rc = conn_reader_step(&d->pend[j].r, d->pend[j].fd, &err);
			if (rc == 0 && ms_since(&d->pend[j].since) > PENDING_MAX_MS)
				rc = cerr_set(&err, ETIMEDOUT, "the request did not arrive whole within %d s", PENDING_MAX_MS / 1000);
			if (rc > 0)
				on_frame(d, j);
			else if (rc < 0) {
				if (err && err->code)
					refuse(d->pend[j].fd, err);
				close_pending(d, j);
			}
			cordon_error_free(err);
		}
		drop_greedy(d);
		if (pfd[1].revents)
			on_signal(d);
		if (pfd[0].revents)
			on_accept(d);
		refill_due(d);
	}
	free(pfd);
	return 0;
}

/* ---- the socket ---- */

int daemon_socket_path(char *out, size_t cap)
{
	const char *env = getenv("CORDON_SOCKET");
	if (env)
		return env[0] && snprintf(out, cap, "%s", env) < (int)cap ? 0 : -1;
	const char *run = getenv("XDG_RUNTIME_DIR");
	if (!run || run[0] != '/')
		return -1;
	return snprintf(out, cap, "%s/cordon/cordon.sock", run) < (int)cap ? 0 : -1;
}

/* systemd's socket activation (sd_listen_fds(3)): one listening unix stream socket, fd 3. */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid() || strcmp(fds, "1") != 0)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	int type = 0, listening = 0;
	socklen_t l = sizeof(int);
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM ||
	    getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l) < 0 || !listening ||
	    getsockname(3, (struct sockaddr *)&sa, &sl) < 0 || sa.sun_family != AF_UNIX)
		return -1;
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	return 3;
}

static int bind_socket(struct daemon *d, const char *path, bool default_path, struct cordon_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return cerr_set(err, ENAMETOOLONG, "socket `%s`: longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (default_path) {
		/* $XDG_RUNTIME_DIR/cordon: the user's own, mode 0700. */
		char dir[sizeof(sa.sun_path)];
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return cerr_sys(err, errno, "make `%s`", dir);
		struct stat st;
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
			return cerr_set(err, EPERM, "`%s` is not a directory of yours with mode 0700", dir);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cerr_sys(err, errno, "socket");
	/* A daemon already there keeps its socket; a stale one (nobody listening) is replaced. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool alive = probe >= 0 && S_ISSOCK(st.st_mode) && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (alive || !S_ISSOCK(st.st_mode)) {
			close(fd);
			cerr_set(err, EADDRINUSE, alive ? "a cordon daemon already serves `%s`" : "`%s` exists and is not a socket",
				 path);
			return cerr_hint(err, alive ? "stop it first, or pass --socket PATH for another one"
						  : "remove it, or pass --socket PATH");
		}
		unlink(path);
	}
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		close(fd);
		return cerr_sys(err, e, "listen on `%s`", path);
	}
	d->own_socket = true;
	return fd;
}

int daemon_serve(const struct serve_options *o, struct cordon_error **err)
{
	struct daemon d = {.lfd = -1, .sfd = -1, .pid = getpid(), .pool_n = o->pool, .policies_n = o->policies};
	if (!(d.slots = calloc(o->policies, sizeof(*d.slots))))
		return cerr_set(err, ENOMEM, "out of memory");
	d.lfd = o->socket ? -1 : activated_socket();
	if (d.lfd < 0) {
		char path[PATH_MAX];
		char cwd[PATH_MAX];
		if (o->socket && o->socket[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
			free(d.slots);
			return cerr_sys(err, errno, "getcwd");
		}
		/* Absolute: a relative name in /proc/net/unix is one no sandbox could mask. */
		if (o->socket && o->socket[0] != '/') {
			if (snprintf(path, sizeof(path), "%s/%s", cwd, o->socket) >= (int)sizeof(path)) {
				free(d.slots);
				return cerr_set(err, ENAMETOOLONG, "socket `%s`: too long", o->socket);
			}
		} else if (o->socket)
			snprintf(path, sizeof(path), "%s", o->socket);
		else if (daemon_socket_path(path, sizeof(path)) < 0) {
			free(d.slots);
			cerr_set(err, EINVAL, "no socket path: CORDON_SOCKET is empty or unset, and XDG_RUNTIME_DIR is unset");
			return cerr_hint(err, "pass --socket PATH");
		}
		if ((d.lfd = bind_socket(&d, path, !o->socket && !getenv("CORDON_SOCKET"), err)) < 0) {
			free(d.slots);
			return -1;
		}
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int rc = d.sfd < 0 ? cerr_sys(err, errno, "signalfd") : 0;
	if (rc == 0) {
		fprintf(stderr, "cordon: serving on %s (pool %u per policy, %u policies)\n", d.own_socket ? d.path : "fd 3",
			d.pool_n, d.policies_n);
		rc = loop(&d);
		if (rc < 0)
			cerr_set(err, ENOMEM, "out of memory");
	}
	/* Everything it owns goes with it: idle sandboxes and those serving a request. */
	for (size_t i = 0; i < d.nkids; i++)
		kill(d.kids[i].pid, SIGKILL);
	while (d.nkids) {
		waitpid(d.kids[0].pid, NULL, 0);
		drop_child(&d, 0);
	}
	for (size_t i = 0; i < d.npend; i++) {
		close(d.pend[i].fd);
		conn_reader_release(&d.pend[i].r);
	}
	for (size_t i = 0; i < d.nslots; i++)
		slot_release(&d, &d.slots[i]);
	if (d.own_socket)
		unlink(d.path);
	close(d.lfd);
	if (d.sfd >= 0)
		close(d.sfd);
	free(d.slots);
	free(d.kids);
	free(d.pend);
	return rc;
}
