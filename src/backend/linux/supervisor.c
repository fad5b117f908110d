// SPDX-License-Identifier: Apache-2.0
/*
 * The supervisor: the unprivileged parent that stays outside the sandbox. It resolves and compiles
 * the policy, decides before anything starts whether every promised layer can be enforced (and
 * refuses otherwise), clones the sandbox init into new namespaces, writes its id maps, then waits:
 * relaying the terminal, forwarding signals, enforcing the timeout, and turning what init reports
 * into cordon's exit status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "backend/linux/stage.h"
#include "core/statedir.h"
#include "build-config.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/audit_log.h"
#include "core/env.h"
#include "core/paths.h"

static int write_file(const char *path, const char *text, struct cordon_error **err)
{
	return lx_write_text(AT_FDCWD, path, text) < 0 ? cerr_sys(err, errno, "write `%s`", path) : 0;
}

/* Maps the caller's uid and gid to themselves, so tools see the real user and files get the real
 * owner. Root maps the whole range: started as root, the sandbox sees every owner as it is. */
static int write_id_maps(pid_t pid, struct cordon_error **err)
{
	char path[64], map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (uid == 0) {
		snprintf(map, sizeof(map), "0 0 4294967295\n");
		snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
		if (write_file(path, map, err) < 0)
			return -1;
		snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
		return write_file(path, map, err);
	}
	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	if (write_file(path, "deny", err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	snprintf(map, sizeof(map), "%u %u 1\n", uid, uid);
	if (write_file(path, map, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	snprintf(map, sizeof(map), "%u %u 1\n", gid, gid);
	return write_file(path, map, err);
}

static int clone_error(int e, struct cordon_error **err)
{
	cerr_sys(err, e, "create the sandbox's namespaces");
	if (e == EPERM || e == ENOSPC || e == EACCES)
		cerr_hint(err, "unprivileged user namespaces look disabled here; run `cordon doctor` for what to do "
			       "(e.g. `sysctl kernel.unprivileged_userns_clone=1`, or `cordon setup` as root on Ubuntu)");
	return -1;
}

/* Decides, before anything starts, which layers apply; refuses when a promised one is missing. */
static int check_layers(const struct cordon_policy *p, const struct plan *plan, struct lx_child *c,
			struct cordon_error **err)
{
	c->landlock_abi = 0;
	if (!plan->fs_restricted)
		return 0;
	int abi = lx_landlock_abi();
	if (abi >= 1) {
		c->landlock_abi = abi;
		return 0;
	}
	if (p->allow_degraded) {
		fprintf(stderr, "cordon: warning: Landlock is not available; the write policy rests on the mount "
				"namespace alone (--allow-degraded)\n");
		return 0;
	}
	cerr_set(err, ENOSYS, "Landlock is not available on this kernel: the write policy would have one layer "
			      "instead of two");
	return cerr_hint(err, "enable Landlock (CONFIG_SECURITY_LANDLOCK=y, `lsm=landlock,...` on the kernel "
			      "command line), or pass --allow-degraded to run with the mount layer alone");
}

/* Decides how --memory and --max-procs are enforced, before anything starts. */
static int plan_limits(const struct cordon_policy *p, struct lx_child *c, char **cgroups, struct cordon_error **err)
{
	uint64_t mem = p->limits[CORDON_LIMIT_MEMORY], procs = p->limits[CORDON_LIMIT_MAX_PROCS];
	if (!mem && !procs)
		return 0;
	if ((*cgroups = lx_cgroup_create(mem, procs)))
		return 0;
	if (procs && geteuid() != 0)
		c->nproc_rlimit = procs; /* exact: counted inside the new user namespace */
	else if (procs) {
		cerr_set(err, ENOTSUP, "--max-procs: no cgroup with the pids controller can be made here, and "
				       "RLIMIT_NPROC does not apply to root");
		return cerr_hint(err, "mount cgroup v2 with the pids controller, or run cordon as a regular user");
	}
	if (mem && !p->allow_degraded) {
		cerr_set(err, ENOTSUP, "--memory: no cgroup with the memory controller can be made here, so the "
				       "sandbox's total memory cannot be limited");
		return cerr_hint(err, "run under a delegated cgroup v2 subtree (e.g. `systemd-run --user --scope "
				      "-p Delegate=yes cordon run ...`), or pass --allow-degraded to limit each "
				      "process's address space instead");
	}
	if (mem) {
		fprintf(stderr, "cordon: warning: --memory limits each process's address space (RLIMIT_AS), not "
				"the sandbox's total (--allow-degraded)\n");
		c->as_rlimit = mem;
	}
	return 0;
}

static int exit_status_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return CORDON_EXIT_SIGNAL_BASE + WTERMSIG(status);
	return CORDON_EXIT_FAILURE;
}

struct loop {
	pid_t init;
	int sync_fd;
	int sig_fd;
	int timer_fd;
	struct pty_relay *pty;
	struct broker *broker;
	struct observer *observer; /* staged mode: takes the overlays' fds init sends */
	int result; /* -1 until known */
	int signal; /* the signal that ended the command, or 0 */
	bool timed_out;
	bool violated;
	int term_sig;                /* the first terminating signal cordon received, or 0 */
	struct timespec term_at;
	struct timespec keys[2];     /* pty mode: when the last two keyboard interrupts came */
	struct cordon_error **err;
	bool verbose;
	const struct run_request *ctl; /* its control fd is polled while `ctl` is set */
	int view_mounts_fd;            /* built ahead: the sandbox's mountinfo (SYNC_MOUNTS), or -1 */
	bool all_gone;                 /* init reported the end with nothing of the command left */
	bool reaped;                   /* init itself is reaped (else prep_teardown does it) */
	int64_t cpu_ms;                /* with all_gone: what the command used, from init */
	uint64_t peak_rss;
};

static void on_sync(struct loop *l)
{
	struct sync_msg m;
	if (sync_recv(l->sync_fd, &m, NULL) < 0) {
		/* EOF: init is gone (killed, or it exited after reporting). */
		close(l->sync_fd);
		l->sync_fd = -1;
		return;
	}
	if (m.type == SYNC_EXIT) {
		l->result = exit_status_of(m.status);
		l->signal = WIFSIGNALED(m.status) ? WTERMSIG(m.status) : 0;
		l->all_gone = m.code == SYNC_EXIT_ALL_GONE;
		l->cpu_ms = m.cpu_ms;
		l->peak_rss = m.peak_rss;
	}
	else if (m.type == SYNC_EXEC_FAILED && m.status == 1) {
		cerr_set(l->err, m.code, "cannot enter the %s inside the sandbox: %s", m.text, strerror(m.code));
		l->result = CORDON_EXIT_FAILURE;
	} else if (m.type == SYNC_EXEC_FAILED) {
		l->result = m.code == ENOENT ? CORDON_EXIT_NOT_FOUND : CORDON_EXIT_CANNOT_EXEC;
		fprintf(stderr, "cordon: %s: %s\n", m.text, m.code == ENOENT ? "command not found" : strerror(m.code));
	} else if (m.type == SYNC_ERROR) {
		cerr_set(l->err, m.code, "%s", m.text);
		if (m.hint[0])
			cerr_hint(l->err, "%s", m.hint);
		l->result = CORDON_EXIT_FAILURE;
	}
}

/* Grace a command gets after a terminating signal before the whole sandbox is killed. */
#define TERM_GRACE_MS 10000

static bool terminating(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

/* Ends the sandbox for a signal the command did not act on: exit status 128 + that signal. */
static void escalate(struct loop *l)
{
	kill(l->init, SIGKILL);
	if (l->result < 0) {
		l->result = CORDON_EXIT_SIGNAL_BASE + l->term_sig;
		l->signal = l->term_sig;
	}
}

#define KEY_BURST_MS 2000

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Records a keyboard interrupt; true when it is the third within KEY_BURST_MS. */
static bool key_burst(struct loop *l)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool burst = l->keys[0].tv_sec && ms_between(&l->keys[0], &now) <= KEY_BURST_MS;
	l->keys[0] = l->keys[1];
	l->keys[1] = now;
	return burst;
}

static void handle_signal(struct loop *l, int sig)
{
	if (sig == SIGCHLD)
		return;
	if (sig == SIGWINCH) {
		if (l->pty)
			pty_relay_winch(l->pty);
		return;
	}
	/* On a pty, Ctrl-C and Ctrl-\ go to the sandbox's terminal as keys (its foreground job gets
	 * them, as at any terminal); an interactive shell inside sees many. Three within
	 * KEY_BURST_MS mean the user wants out: everything is killed. */
	if (l->pty && (sig == SIGINT || sig == SIGQUIT)) {
		pty_relay_interrupt(l->pty, sig);
		if (key_burst(l)) {
			l->term_sig = sig;
			escalate(l);
		}
		return;
	}
	/* The first terminating signal goes to the command, which may clean up; a second one (a
	 * second Ctrl-C), or TERM_GRACE_MS without an end, kills everything. */
	if (terminating(sig) && l->term_sig) {
		escalate(l);
		return;
	}
	if (terminating(sig)) {
		l->term_sig = sig;
		clock_gettime(CLOCK_MONOTONIC, &l->term_at);
	}
	kill(l->init, sig);
}

static void on_signal(struct loop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sig_fd, &si, sizeof(si)) == sizeof(si))
		handle_signal(l, (int)si.ssi_signo);
}

/* The daemon's client: a signal it forwards, or its going away (nothing may run for nobody). */
static void on_control(struct loop *l)
{
	int sig = l->ctl->control(l->ctl->control_ctx);
	if (sig > 0) {
		handle_signal(l, sig);
		return;
	}
	if (sig < 0) {
		l->ctl = NULL;
		kill(l->init, SIGKILL);
	}
}

static int grace_left_ms(const struct loop *l)
{
	if (!l->term_sig)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long spent = (long)(now.tv_sec - l->term_at.tv_sec) * 1000 + (now.tv_nsec - l->term_at.tv_nsec) / 1000000;
	return spent >= TERM_GRACE_MS ? 0 : (int)(TERM_GRACE_MS - spent);
}

static int event_loop(struct loop *l)
{
	bool init_gone = false;
	int init_status = 0;
	/* Until init is gone, or has said that nothing of the command is left (its own exit, which
	 * tears the namespaces down, is then waited for in prep_teardown). */
	while (!init_gone && !l->all_gone) {
		struct pollfd pfd[8];
		int n = 0;
		int i_sync = -1, i_sig = n, i_timer = -1;
		pfd[n++] = (struct pollfd){.fd = l->sig_fd, .events = POLLIN};
		if (l->sync_fd >= 0) {
			i_sync = n;
			pfd[n++] = (struct pollfd){.fd = l->sync_fd, .events = POLLIN};
		}
		if (l->timer_fd >= 0) {
			i_timer = n;
			pfd[n++] = (struct pollfd){.fd = l->timer_fd, .events = POLLIN};
		}
		int i_ctl = -1;
		if (l->ctl) {
			i_ctl = n;
			pfd[n++] = (struct pollfd){.fd = l->ctl->control_fd, .events = POLLIN};
		}
		int i_broker = n;
		if (l->broker)
			n += broker_fds(l->broker, pfd + n);
		int i_pty = n;
		if (l->pty)
			n += pty_relay_fds(l->pty, pfd + n);
		int timeout = l->broker ? broker_timeout_ms(l->broker) : -1;
		int grace = grace_left_ms(l);
		if (grace >= 0 && (timeout < 0 || grace < timeout))
			timeout = grace;
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (l->broker)
			broker_handle(l->broker, pfd + i_broker);
		if (l->broker && broker_check(l->broker, false) && !l->violated) {
			/* A guarded name appeared (or vanished) despite the broker: a race. Stop everything
			 * first, so nothing in the sandbox can act on it, then repair. */
			l->violated = true;
			kill(l->init, SIGKILL);
		}
		if (l->pty && n > i_pty)
			pty_relay_handle(l->pty, pfd + i_pty, n - i_pty);
		if (pfd[i_sig].revents)
			on_signal(l);
		if (i_sync >= 0 && pfd[i_sync].revents)
			on_sync(l);
		if (i_ctl >= 0 && pfd[i_ctl].revents)
			on_control(l);
		if (i_timer >= 0 && pfd[i_timer].revents) {
			l->timed_out = true;
			kill(l->init, SIGKILL);
			close(l->timer_fd);
			l->timer_fd = -1;
		}
		if (grace_left_ms(l) == 0)
			escalate(l);
		if (waitpid(l->init, &init_status, WNOHANG) == l->init)
			init_gone = true;
	}
	/* Init is gone, and with it the whole PID namespace: what it sent before exiting is still in the
	 * socket. Read it to EOF; the short timeout only guards against a stray holder of the other end. */
	while (l->sync_fd >= 0 && !l->all_gone) {
		struct pollfd p = {.fd = l->sync_fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			break;
		on_sync(l);
	}
	if (!init_gone && !l->all_gone)
		waitpid(l->init, &init_status, 0);
	l->reaped = init_gone || !l->all_gone;
	if (l->pty)
		pty_relay_drain(l->pty);
	/* The sandbox is gone: one last look, so that no race outlives the run unnoticed. */
	if (l->broker && broker_check(l->broker, true))
		l->violated = true;
	if (l->violated) {
		broker_repair(l->broker);
		cerr_set(l->err, EACCES, "protected path `%s` changed during the run (the command racing cordon's "
					 "checks, or another program beside it); the sandbox was killed and the entry %s",
			 broker_violation(l->broker), broker_repaired(l->broker));
		cerr_hint(l->err, "if you made that change yourself, take it back from there and run again");
		return -1;
	}
	if (l->timed_out)
		return CORDON_EXIT_TIMEOUT;
	if (l->result >= 0)
		return l->result;
	/* init died without a report: it was killed from outside, or setup crashed. */
	if (WIFSIGNALED(init_status)) {
		l->signal = WTERMSIG(init_status);
		return CORDON_EXIT_SIGNAL_BASE + WTERMSIG(init_status);
	}
	cerr_set(l->err, EIO, "the sandbox ended without reporting the command's status");
	return -1;
}

static int make_timer(uint64_t ms, struct cordon_error **err)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return cerr_sys(err, errno, "timerfd_create");
	struct itimerspec it = {.it_value = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000}};
	if (timerfd_settime(fd, 0, &it, NULL) < 0) {
		close(fd);
		return cerr_sys(err, errno, "timerfd_settime");
	}
	return fd;
}

static const int watched[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGWINCH};

/* Waits for READY; takes the pty master, the broker's listener and the proxy's sockets with it. */
static int await_ready(struct loop *l, int parent_fd, int *master, struct lx_netproxy *np, struct audit_sink *sink,
		       struct cordon_error **err)
{
	struct sync_msg m;
	int fds[SYNC_MAX_FDS];
	int notify = -1, k = 0;
	int net[NP_NFDS] = {-1, -1, -1, -1};
	if (sync_recv(parent_fd, &m, fds) < 0)
		return cerr_set(err, EIO, "the sandbox failed during setup");
	while (m.type == SYNC_VIEW || m.type == SYNC_MOUNTS) {
		if (m.type == SYNC_MOUNTS && fds[0] >= 0 && l->view_mounts_fd < 0)
			l->view_mounts_fd = steal_fd(&fds[0]);
		for (int i = 0; i < SYNC_MAX_FDS; i++)
			if (fds[i] >= 0 && m.type == SYNC_VIEW && l->observer)
				observer_set_view(l->observer, (size_t)m.status + (size_t)i, fds[i]);
			else if (fds[i] >= 0)
				close(fds[i]);
		if (sync_recv(parent_fd, &m, fds) < 0)
			return cerr_set(err, EIO, "the sandbox failed during setup");
	}
	if (m.type == SYNC_ERROR) {
		cerr_set(err, m.code, "%s", m.text);
		return m.hint[0] ? cerr_hint(err, "%s", m.hint) : -1;
	}
	if (m.type != SYNC_READY)
		return cerr_set(err, EPROTO, "unexpected message %u from the sandbox", m.type);
	if (m.status & READY_PTY)
		*master = fds[k++];
	if (m.status & READY_NOTIFY)
		notify = fds[k++];
	if (m.status & READY_PROXY) {
		net[NP_HTTP] = fds[k++];
		net[NP_SOCKS] = fds[k++];
	}
	if (m.status & READY_TRANSPARENT) {
		net[NP_TPROXY] = fds[k++];
		net[NP_DNS] = fds[k++];
	}
	if (np && net[NP_HTTP] < 0)
		return cerr_set(err, EPROTO, "the sandbox sent no proxy sockets");
	if (np && lx_netproxy_start(np, net, sink, err) < 0)
		return -1;
	if (np && l->verbose && !(m.status & READY_TRANSPARENT))
		fprintf(stderr, "cordon: transparent proxy unavailable here (see `cordon doctor`): only programs "
				"that use the proxy variables reach the allowed hosts\n");
	if (l->broker && notify < 0)
		return cerr_set(err, EPROTO, "the sandbox sent no seccomp listener: protected names would be open");
	if (l->broker)
		broker_set_notify_fd(l->broker, notify);
	else if (notify >= 0)
		close(notify);
	return 0;
}

/* How the command ended, beyond the exit status: for the audit log and the report. */
struct outcome {
	int signal;
	bool timed_out;
	bool usage;      /* init reported what the command used (cpu_ms, peak_rss) */
	int64_t cpu_ms;
	uint64_t peak_rss;
};

static bool has_deny_read(const struct plan *plan)
{
	for (size_t i = 0; i < plan->nops; i++)
		if (plan->ops[i].kind == MOP_MASK_DIR || plan->ops[i].kind == MOP_MASK_FILE)
			return true;
	return plan->nread_deny > 0;
}

/* The kernel layers that enforce this run, for the `start` record. */
static void layer_names(const struct plan *plan, const struct lx_child *c, bool cgroup, const char **v, char *ll,
			size_t llcap)
{
	size_t n = 0;
	v[n++] = "user-namespace";
	v[n++] = "pid-namespace";
	v[n++] = plan->fs_restricted ? "mount-namespace-read-only-root" : "mount-namespace";
	if (plan->new_netns)
		v[n++] = "network-namespace";
	if (c->landlock_abi > 0) {
		snprintf(ll, llcap, "landlock-abi-%d", c->landlock_abi);
		v[n++] = ll;
	}
	v[n++] = "seccomp";
	if (plan->fs_restricted && plan->nguarded)
		v[n++] = "seccomp-notify-protected-names";
	if (c->filter == LX_FILTER_OBSERVE || c->filter == LX_FILTER_OBSERVE_READS)
		v[n++] = "seccomp-notify-observer";
	if (plan->proxy)
		v[n++] = "filtering-proxy";
	if (cgroup)
		v[n++] = "cgroup";
	v[n++] = "no-new-privs";
	v[n] = NULL;
}

/* Writes the report (whole or not at all) where --report said, and hands it to the caller who asked
 * for it (the daemon's client); says on stderr when it cannot. */
static void emit_report(const struct run_request *req, struct audit_sink *sink, int exit_status,
			const struct outcome *oc, int64_t wall, const char *error)
{
	_cleanup_free_ char *report = audit_sink_report(sink, exit_status, oc->signal, oc->timed_out, wall, error);
	struct cordon_error *err = NULL;
	if (!report)
		fprintf(stderr, "cordon: out of memory writing the report\n");
	else if (req->report_path && audit_write_file_atomic(req->report_path, report, &err) < 0)
		fprintf(stderr, "cordon: %s\n", err && err->message ? err->message : "cannot write the report");
	cordon_error_free(err);
	if (req->report_json)
		*req->report_json = steal_ptr(&report);
}

/* After the run: the file changes, the `end` record, and the denials (report or stderr). */
static void audit_end_of_run(const struct run_request *req, struct audit_sink *sink, struct observer *obs,
			     int status, const struct outcome *oc, const struct timespec *t0, bool *reported,
			     const struct cordon_error *failure)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t wall = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
	int64_t cpu = oc->cpu_ms;
	uint64_t peak = oc->peak_rss;
	if (!oc->usage) /* init was killed: what was reaped here (init, and what it had reaped) */
		lx_children_usage(&cpu, &peak);
	if (obs)
		observer_finish(obs);
	int exit_status = status < 0 ? CORDON_EXIT_FAILURE : status;
	audit_sink_write(sink, audit_end(audit_sink_ctx(sink), audit_now_ms(), exit_status, oc->signal, wall, cpu, peak));
	if (audit_sink_lost(sink))
		fprintf(stderr, "cordon: warning: %lu audit records could not be written to %s\n", audit_sink_lost(sink),
			audit_sink_path(sink) ? audit_sink_path(sink) : "stderr");
	if (!req->report_path)
		audit_sink_print_denials(sink, stderr);
	if (!req->report_path && !req->report_json)
		return;
	emit_report(req, sink, exit_status, oc, wall, status < 0 && failure ? failure->message : NULL);
	*reported = true;
}

/* A configuration file the command could have written is no policy: refuse it. */
static int check_config_files(const struct run_request *req, const struct resolved *r, struct cordon_error **err)
{
	for (size_t i = 0; req->config_files && i < req->config_files->n; i++) {
		const char *given = req->config_files->v[i];
		char real[PATH_MAX];
		if (!realpath(given, real))
			return cerr_sys(err, errno, "config file `%s`", given);
		const char *root = path_is_under(real, r->workspace) ? r->workspace : NULL;
		for (size_t w = 0; !root && w < r->writable.n; w++)
			if (path_is_under(real, r->writable.v[w].path))
				root = r->writable.v[w].path;
		if (root) {
			cerr_set(err, EPERM, "config file `%s` lies inside writable root `%s`, where a sandboxed command "
					     "could have written it", given, root);
			return cerr_hint(err, "keep policy files outside the workspace and writable roots (or pass "
					      "--no-user-config to skip the user config)");
		}
	}
	return 0;
}

/* What of the audit log the view keeps read-only: its directory for the daily files, else the file. */
static int audit_target(const struct run_request *req, const struct audit_sink *sink, char *out, size_t cap)
{
	const char *path = sink ? audit_sink_path(sink) : NULL;
	if (!path && (!req->explain_only || req->no_audit || (req->audit_path && strcmp(req->audit_path, "-") == 0)))
		return -1;
	if (path && req->audit_path)
		return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
	if (path) {
		const char *slash = strrchr(path, '/');
		return snprintf(out, cap, "%.*s", (int)(slash - path), path) < (int)cap ? 0 : -1;
	}
	/* --explain opens nothing: what would be protected, if it exists already. */
	if (req->audit_path)
		return snprintf(out, cap, "%s", req->audit_path) < (int)cap && access(out, F_OK) == 0 ? 0 : -1;
	return audit_default_dir(out, cap) == 0 && access(out, F_OK) == 0 ? 0 : -1;
}

/*
 * The report goes where the command cannot reach: a report inside a writable root could be written by
 * the command itself, or its directory swapped for a symlink that sends cordon's write elsewhere.
 */
static int check_report_path(const struct run_request *req, const struct resolved *r, struct cordon_error **err)
{
	_cleanup_free_ char *copy = strdup(req->report_path);
	if (!copy)
		return cerr_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(copy, '/');
	const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return cerr_sys(err, errno, "--report `%s`: its directory", req->report_path);
	const char *root = path_is_under(real, r->workspace) && r->mode == CORDON_MODE_WORKSPACE_WRITE ? r->workspace : NULL;
	for (size_t w = 0; !root && w < r->writable.n; w++)
		if (path_is_under(real, r->writable.v[w].path))
			root = r->writable.v[w].path;
	if (root) {
		cerr_set(err, EPERM, "--report `%s` lies inside writable root `%s`, where the sandboxed command could "
				     "write or replace it", req->report_path, root);
		return cerr_hint(err, "write the report outside the workspace and writable roots (e.g. in $XDG_RUNTIME_DIR "
				      "or /tmp: the sandbox has a private /tmp)");
	}
	return 0;
}

/* Says why cordon failed in the report too, so that a harness reading it is never left with nothing
 * (or with a previous run's report). */
static void report_failure(const struct run_request *req, struct audit_sink *sink, const struct cordon_error *e)
{
	struct audit_sink *tmp = NULL;
	struct cordon_error *ignored = NULL;
	if (!sink && audit_sink_open(NULL, false, &tmp, &ignored) < 0) {
		cordon_error_free(ignored);
		return;
	}
	struct outcome oc = {0};
	emit_report(req, sink ? sink : tmp, CORDON_EXIT_FAILURE, &oc, 0, e && e->message ? e->message : "failed");
	audit_sink_close(tmp);
}

/*
 * A sandbox built up to its command: everything `cordon run` does before it needs the command's own
 * data (argv, environment, stdio, terminal). A cold run builds one and starts it at once; the daemon
 * builds them ahead for a policy and starts one when a request with that policy comes (docs/daemon.md).
 */
struct backend_prep {
	struct resolved r;
	struct plan plan;
	char *plan_text;  /* the plan as --explain prints it */
	char *identity;   /* built ahead: the plan with the identity of every path it names (what a later
			   * request must still resolve to), and the host's mount table, watched */
	int mounts_fd;
	int64_t day;      /* when it was built (UTC days): the default audit log is one file a day */
	struct stage *stage;
	struct audit_sink *sink;
	struct lx_netproxy *np;
	char *cgroups;
	bool cgroup_at_start; /* built ahead: the run's cgroup is made when the command comes (an idle
			       * sandbox holds none, and leaves none behind if its daemon is killed) */
	struct observer *obs;
	struct lx_child c;
	struct loop l;
	int master;       /* the pty init opened; the command gets it when the client is at a terminal */
	sigset_t old;     /* the signal mask before the watched signals were blocked */
	bool masked;
	bool reported;    /* the report is written (or its place was what was refused) */
	bool checked;     /* prepare checked the request's own files: a cold run, started with that request */
};

/* What the pooled re-check and a cold start both do: the policy against the machine as it is now. */
static int resolve_plan(const struct run_request *req, struct audit_sink *sink, struct resolved *r, struct plan *plan,
			struct stage **stage, struct cordon_error **err)
{
	char audit_path[PATH_MAX];
	bool protect_audit = audit_target(req, sink, audit_path, sizeof(audit_path)) == 0;
	if (lx_resolve(req->policy, protect_audit ? audit_path : NULL, r, err) < 0)
		return -1;
	/* The staged sessions are cordon's own state: out of every command's reach (made first when this
	 * run stages, so that it is hidden, and recorded as protected, from the first run on). */
	char sessions[PATH_MAX];
	if (req->staged && !req->explain_only) {
		int sfd = state_dir_open("sessions", "sessions", sessions, sizeof(sessions), err);
		if (sfd < 0)
			return -1;
		close(sfd);
	}
	if (stage_base_path(sessions, sizeof(sessions)) == 0 && lx_resolve_hide(r, sessions, "sessions directory", err) < 0)
		return -1;
	if (req->staged && stage_for_run(req, r, stage, err) < 0)
		return -1;
	/* The harness learns the session's name from the report too (a generated one is on stderr). */
	if (*stage && sink && audit_sink_set_staged(sink, (*stage)->name) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	return plan_compile(r, plan, err);
}

/* A path's file: device, inode and, where the file system keeps it, birth time (an inode number is
 * reused at once: `rm -rf .git && mkdir .git` often gets the same one). */
static void path_identity(FILE *f, const char *path)
{
	struct statx sx;
	if (path && statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO | STATX_BTIME, &sx) == 0)
		fprintf(f, "%s %x:%x:%jx %o %jd.%u\n", path, sx.stx_dev_major, sx.stx_dev_minor, (uintmax_t)sx.stx_ino,
			(unsigned)(sx.stx_mode & S_IFMT), (sx.stx_mask & STATX_BTIME) ? (intmax_t)sx.stx_btime.tv_sec : -1,
			(sx.stx_mask & STATX_BTIME) ? sx.stx_btime.tv_nsec : 0);
	else
		fprintf(f, "%s -\n", path ? path : "");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's entries (name and inode, sorted), once per directory. */
static void dir_identity(FILE *f, const char *dir, struct strv *seen)
{
	if (strv_contains(seen, dir) || strv_push(seen, dir) < 0)
		return;
	DIR *d = opendir(dir);
	struct strv names = {0};
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *e = NULL;
		if (asprintf(&e, "%s:%ju", de->d_name, (uintmax_t)de->d_ino) >= 0)
			strv_push_owned(&names, e);
	}
	if (d)
		closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	fprintf(f, "dir %s %s\n", dir, d ? "" : "-");
	for (size_t i = 0; i < names.n; i++)
		fprintf(f, " %s\n", names.v[i]);
	strv_clear(&names);
}

/*
 * What a sandbox built ahead stands on: its plan, and which inode each path of the plan was when
 * the view was built. A bind mount holds the inode, not the name: a workspace or a .git replaced
 * since (`rm -rf .git && git init`) would otherwise be shown as it was, and the broker would take the
 * new one for an attack. NULL on ENOMEM.
 */
static char *plan_identity(const struct plan *p, const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs(text, f);
	for (size_t i = 0; i < p->nops; i++)
		path_identity(f, p->ops[i].path);
	for (size_t i = 0; i < p->ngrants; i++)
		path_identity(f, p->grants[i].path);
	/* Landlock grants reading entry by entry in each directory on the way to a deny-read path (as it
	 * was when the rules were made): a name made there since is unreadable to a sandbox built before. */
	struct strv seen = {0};
	for (size_t i = 0; i < p->nread_deny; i++) {
		path_identity(f, p->read_deny[i]);
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", p->read_deny[i]);
		for (char *slash = dir; (slash = strchr(slash + 1, '/'));) {
			*slash = '\0';
			dir_identity(f, dir, &seen);
			*slash = '/';
		}
		dir_identity(f, "/", &seen);
	}
	strv_clear(&seen);
	for (size_t i = 0; i < p->nguarded; i++) {
		char path[PATH_MAX];
		path_identity(f, p->guarded[i].dir);
		snprintf(path, sizeof(path), "%s/%s", p->guarded[i].dir, p->guarded[i].name);
		path_identity(f, path);
	}
	return fclose(f) == 0 ? buf : (free(buf), NULL);
}

/* The request's own files: the previous report gone, the report's and the config files' places. */
static int check_request(const struct run_request *req, const struct resolved *r, bool *reported,
			 struct cordon_error **err)
{
	/* A previous run's report must not pass for this one's. */
	if (req->report_path && unlink(req->report_path) < 0 && errno != ENOENT)
		return cerr_sys(err, errno, "--report `%s`: remove the previous report", req->report_path);
	if (check_config_files(req, r, err) < 0)
		return -1;
	if (req->report_path && check_report_path(req, r, err) < 0) {
		*reported = true; /* not there: that place is what was refused */
		return -1;
	}
	return 0;
}

static void print_plan(const struct run_request *req, const struct backend_prep *x)
{
	FILE *out = req->explain_only ? stdout : stderr;
	fprintf(out, "%s", x->plan_text ? x->plan_text : "");
	for (size_t i = 0; x->plan.proxy && i < req->policy->net_allow.n; i++)
		fprintf(out, "allow %s\n", req->policy->net_allow.v[i]);
	for (size_t i = 0; x->plan.proxy && i < req->policy->net_deny.n; i++)
		fprintf(out, "deny %s\n", req->policy->net_deny.v[i]);
	fprintf(out, "landlock abi: %d\ncwd: %s\n", lx_landlock_abi(), x->r.cwd);
}

/* Ends what the sandbox left: init (and with it every process inside), the fds, the cgroup. */
static void prep_teardown(struct backend_prep *x)
{
	if (x->l.init > 0) {
		kill(x->l.init, SIGKILL);
		waitpid(x->l.init, NULL, 0);
		x->l.init = 0;
	}
	lx_netproxy_stop(x->np);
	int *fds[] = {&x->master, &x->l.sig_fd, &x->l.timer_fd, &x->l.sync_fd, &x->l.view_mounts_fd};
	for (size_t i = 0; i < ARRAY_LEN(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	broker_free(x->l.broker);
	x->l.broker = NULL;
	lx_cgroup_remove(x->cgroups);
	free(x->cgroups);
	x->cgroups = NULL;
	if (x->masked)
		sigprocmask(SIG_SETMASK, &x->old, NULL);
	x->masked = false;
}

static void lx_discard(struct backend_prep *x)
{
	if (!x)
		return;
	prep_teardown(x);
	observer_free(x->obs);
	lx_netproxy_free(x->np);
	audit_sink_close(x->sink);
	stage_close(x->stage);
	plan_release(&x->plan);
	resolved_release(&x->r);
	free(x->plan_text);
	free(x->identity);
	if (x->mounts_fd >= 0)
		close(x->mounts_fd);
	free(x);
}

static void discardp(struct backend_prep **x)
{
	lx_discard(*x);
}

/* Clones the sandbox init and takes it through setup to READY: namespaces, id maps, cgroup, view,
 * lockdown. The broker, the proxy and the observer are live from here on. */
static int build_sandbox(struct backend_prep *x, struct cordon_error **err)
{
	struct loop *l = &x->l;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cerr_sys(err, errno, "socketpair");
	/* Signals are read from a signalfd; block them before the clone so none is lost. */
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_LEN(watched); i++)
		sigaddset(&set, watched[i]);
	sigprocmask(SIG_BLOCK, &set, &x->old);
	x->masked = true;
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
			      CLONE_NEWCGROUP | SIGCHLD;
	if (x->plan.new_netns)
		flags |= CLONE_NEWNET;
	fflush(NULL);
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return clone_error(e, err);
	}
	if (pid == 0) {
		close(sv[0]);
		x->c.sync_fd = sv[1];
		sigprocmask(SIG_SETMASK, &x->old, NULL);
		lx_child_main(&x->c);
	}
	close(sv[1]);
	l->init = pid;
	l->sync_fd = sv[0];
	if ((l->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return cerr_sys(err, errno, "signalfd");
	/* The broker watches the guarded directories before the command can touch them. */
	if (x->c.filter != LX_FILTER_PLAIN && !(l->broker = broker_new(&x->plan, x->obs, err)))
		return -1;
	/* Into the cgroup before init starts anything: every descendant is counted. */
	if (x->cgroups && lx_cgroup_enter(x->cgroups, pid, err) < 0)
		return -1;
	struct sync_msg go = {.version = SYNC_VERSION, .type = SYNC_GO};
	if (write_id_maps(pid, err) < 0 || sync_send(l->sync_fd, &go, NULL, 0) < 0)
		return cerr_prefix(err, "set up the user namespace"), -1;
	return await_ready(l, l->sync_fd, &x->master, x->np, x->sink, err);
}

/* The `start` record: the command, the policy and what enforces it, on record before it runs. */
static int record_start(const struct run_request *req, struct backend_prep *x, struct cordon_error **err)
{
	const char *layers[16];
	char ll[32];
	const struct plan *plan = &x->plan;
	layer_names(plan, &x->c, x->cgroups != NULL, layers, ll, sizeof(ll));
	char *start = audit_start(audit_sink_ctx(x->sink), audit_now_ms(), CORDON_VERSION, req->argv, x->r.cwd, getuid(),
				  req->policy,
				  plan->proxy ? CORDON_NETWORK_PROXY : plan->new_netns ? CORDON_NETWORK_OFF : CORDON_NETWORK_ON,
				  layers);
	if (!start && audit_sink_logging(x->sink))
		return cerr_set(err, ENOMEM, "out of memory building the audit log's start record");
	audit_sink_write(x->sink, start);
	return 0;
}

static int lx_prepare(const struct run_request *req, struct backend_prep **out, struct cordon_error **err)
{
	const struct cordon_policy *p = req->policy;
	__attribute__((cleanup(discardp))) struct backend_prep *x = calloc(1, sizeof(*x));
	if (!x)
		return cerr_set(err, ENOMEM, "out of memory");
	x->master = -1;
	x->mounts_fd = -1;
	x->l = (struct loop){.sync_fd = -1, .sig_fd = -1, .timer_fd = -1, .result = -1, .verbose = req->verbose,
			     .view_mounts_fd = -1};
	/* A previous run's report must not pass for this one's. */
	if (req->report_path && !req->explain_only && unlink(req->report_path) < 0 && errno != ENOENT)
		return cerr_sys(err, errno, "--report `%s`: remove the previous report", req->report_path);
	/* Every run is on record, or does not run: the log is opened before anything else. */
	if (!req->explain_only && audit_sink_open(req->audit_path, !req->no_audit, &x->sink, err) < 0)
		goto fail;
	if (resolve_plan(req, x->sink, &x->r, &x->plan, &x->stage, err) < 0)
		goto fail;
	if (!req->explain_only && check_request(req, &x->r, &x->reported, err) < 0)
		goto fail;
	x->checked = !req->ahead;
	if (!(x->plan_text = plan_describe(&x->plan))) {
		cerr_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (req->verbose || req->explain_only)
		print_plan(req, x);
	if (req->explain_only)
		return 1;
	x->day = (int64_t)(time(NULL) / 86400);
	if (req->ahead) {
		/* poll() says POLLPRI on it once the host's mount table changes (proc(5), mounts). */
		x->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		if (x->mounts_fd < 0 || !(x->identity = plan_identity(&x->plan, x->plan_text))) {
			cerr_sys(err, x->mounts_fd < 0 ? errno : ENOMEM, "note what the sandbox built ahead stands on");
			goto fail;
		}
	}
	x->c = (struct lx_child){.plan = &x->plan, .policy = p, .cap_last = lx_cap_last(), .verbose = req->verbose,
				 .audit_fd = audit_sink_fd(x->sink), .ahead = req->ahead};
	if (check_layers(p, &x->plan, &x->c, err) < 0)
		goto fail;
	if (x->plan.proxy) {
		if (lx_netproxy_new(p, &x->np, err) < 0)
			goto fail;
		x->c.net_rules = lx_netproxy_allowlist(x->np);
	}
	if (plan_limits(p, &x->c, &x->cgroups, err) < 0)
		goto fail;
	if (req->ahead && x->cgroups) {
		lx_cgroup_remove(x->cgroups);
		free(x->cgroups);
		x->cgroups = NULL;
		x->cgroup_at_start = true;
	}
	if (!req->no_audit) {
		if (!(x->obs = observer_new(&x->plan, p, x->sink))) {
			cerr_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		x->c.filter = p->audit_reads && has_deny_read(&x->plan) ? LX_FILTER_OBSERVE_READS : LX_FILTER_OBSERVE;
	} else {
		x->c.filter = x->plan.fs_restricted && x->plan.nguarded ? LX_FILTER_BROKER : LX_FILTER_PLAIN;
	}
	x->l.observer = x->obs;
	if (build_sandbox(x, err) < 0) {
		/* The sandbox was being built: that is on record, with the command it was for. A sandbox
		 * built ahead (no argv yet) leaves no record; its request is then started cold. */
		prep_teardown(x);
		if (req->argv && record_start(req, x, NULL) == 0) {
			struct outcome oc = {0};
			struct timespec t0;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			lx_netproxy_collect(x->np, x->sink);
			audit_end_of_run(req, x->sink, x->obs, -1, &oc, &t0, &x->reported, *err);
		}
		goto fail;
	}
	*out = steal_ptr(&x);
	return 0;
fail:
	if (req->report_path && !x->reported)
		report_failure(req, x->sink, *err);
	return -1;
}

/* Hands init the command: argv, environment and directory in a sealed memfd, and the client's stdio. */
static int send_command(struct backend_prep *x, const struct run_request *req, char *const *envp, unsigned flags,
			struct cordon_error **err)
{
	_cleanup_close_ int mfd = memfd_create("cordon-command", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return cerr_sys(err, errno, "memfd_create");
	FILE *f = fdopen(dup(mfd), "w");
	if (!f)
		return cerr_sys(err, errno, "fdopen");
	char *const *argv = req->argv;
	uint32_t n[2] = {0, 0};
	while (argv[n[0]])
		n[0]++;
	while (envp[n[1]])
		n[1]++;
	fwrite(n, sizeof(n), 1, f);
	struct run_wire_attrs wa = {0};
	if (req->attrs) {
		wa.present = 1;
		wa.umask = req->attrs->umask & 0777;
		wa.nice = req->attrs->nice;
		for (int i = 0; i < RUN_NLIMITS; i++)
			if (req->attrs->has_limit[i]) {
				wa.has_limit |= 1u << i;
				wa.soft[i] = req->attrs->soft[i];
				wa.hard[i] = req->attrs->hard[i];
			}
	}
	fwrite(&wa, sizeof(wa), 1, f);
	fwrite(x->r.cwd, strlen(x->r.cwd) + 1, 1, f);
	for (size_t i = 0; i < n[0]; i++)
		fwrite(argv[i], strlen(argv[i]) + 1, 1, f);
	for (size_t i = 0; i < n[1]; i++)
		fwrite(envp[i], strlen(envp[i]) + 1, 1, f);
	if (fclose(f) != 0)
		return cerr_sys(err, errno, "write the command for the sandbox");
	fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_RUN};
	int fds[4] = {mfd, -1, -1, -1};
	for (int i = 0; i < 3; i++)
		if (!(req->stdio_closed & (1u << i)) && fcntl(i, F_GETFD) >= 0) {
			fds[1 + i] = i;
			flags |= RUN_STDIN << i;
		}
	m.status = (int32_t)flags;
	if (sync_send(x->l.sync_fd, &m, fds, 4) < 0)
		return cerr_sys(err, errno, "hand the command to the sandbox");
	return 0;
}

static int lx_start(struct backend_prep *x, const struct run_request *req, struct cordon_error **err)
{
	__attribute__((cleanup(discardp), unused)) struct backend_prep *xp = x;
	struct loop *l = &x->l;
	l->err = err;
	l->verbose = req->verbose;
	/* Built ahead for another request: this one's report and config files are checked now. */
	if (!x->checked && check_request(req, &x->r, &x->reported, err) < 0) {
		if (req->report_path && !x->reported)
			report_failure(req, x->sink, *err);
		return -1;
	}
	const char *forced[3 + LX_PROXY_ENV_N] = {"CORDON_SANDBOX=1"};
	size_t nf = 1;
	if (x->plan.fs_restricted)
		forced[nf++] = "TMPDIR=/tmp";
	for (size_t i = 0; x->plan.proxy && lx_proxy_env[i]; i++)
		forced[nf++] = lx_proxy_env[i];
	const char **f = forced;
	__attribute__((cleanup(strv_clear))) struct strv env = {0};
	if (env_build(req->policy, req->environ, f, &env) < 0)
		return cerr_set(err, ENOMEM, "out of memory");
	/* A pty (and the user's terminal in raw mode) only when cordon owns the terminal's foreground:
	 * started in the background (`cordon run ... &`), changing the terminal would stop it (SIGTTOU). */
	bool fg = req->tty == RUN_TTY_HERE ? tcgetpgrp(0) == getpgrp() : req->tty == RUN_TTY_FOREGROUND;
	bool use_pty = !(req->stdio_closed & 1) && isatty(0) == 1 && fg;
	if (use_pty && x->master < 0)
		return cerr_set(err, ENOTTY, "the sandbox has no pty to give the command (opening its /dev/pts/ptmx "
					     "failed); stdin is a terminal, which the command must not get"), -1;
	unsigned flags = use_pty ? RUN_PTY | (isatty(1) == 1 ? RUN_PTY_STDOUT : 0) | (isatty(2) == 1 ? RUN_PTY_STDERR : 0) : 0;
	/* Into the cgroup before init starts the command: every descendant is counted. */
	if (x->cgroup_at_start) {
		const struct cordon_policy *p = req->policy;
		x->cgroups = lx_cgroup_create(p->limits[CORDON_LIMIT_MEMORY], p->limits[CORDON_LIMIT_MAX_PROCS]);
		if (!x->cgroups)
			return cerr_set(err, EAGAIN, "cannot make the run's cgroup (--memory, --max-procs) any more"), -1;
		if (lx_cgroup_enter(x->cgroups, x->l.init, err) < 0)
			return -1;
	}
	if (record_start(req, x, err) < 0)
		return -1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct outcome oc = {0};
	int status = -1;
	if (use_pty) {
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row)
			ioctl(x->master, TIOCSWINSZ, &ws);
	}
	if (send_command(x, req, env.v, flags, err) < 0)
		goto end;
	if (req->policy->limits[CORDON_LIMIT_TIMEOUT_MS] &&
	    (l->timer_fd = make_timer(req->policy->limits[CORDON_LIMIT_TIMEOUT_MS], err)) < 0)
		goto end;
	if (use_pty) {
		l->pty = pty_relay_new(steal_fd(&x->master));
		pty_enter_raw();
	}
	l->ctl = req->control ? req : NULL;
	status = event_loop(l);
	if (l->reaped)
		x->l.init = 0;
	if (l->pty) {
		pty_leave_raw();
		pty_relay_free(l->pty);
		l->pty = NULL;
	}
	oc.signal = l->signal;
	oc.timed_out = l->timed_out;
	oc.usage = l->all_gone;
	oc.cpu_ms = l->cpu_ms;
	oc.peak_rss = l->peak_rss;
end:;
	/* Everything of the command is gone: nothing more can connect. The proxy's last records and
	 * its denials go in before the `end` record, on every path. When init said so itself, the
	 * caller hears the result first and the sandbox is torn down after (unmounting the view and
	 * ending the namespaces takes a few hundred microseconds). */
	bool early = l->all_gone && req->on_result && !req->staged;
	if (early)
		lx_netproxy_stop(x->np);
	else
		prep_teardown(x);
	lx_netproxy_collect(x->np, x->sink);
	audit_end_of_run(req, x->sink, x->obs, status, &oc, &t0, &x->reported, *err);
	if (early) {
		req->on_result(req->on_result_ctx, status, *err, req->report_json ? *req->report_json : NULL);
		prep_teardown(x);
	}
	return status;
}

static bool lx_prepared_for(struct backend_prep *x, const struct run_request *req)
{
	if (req->staged || req->explain_only || req->verbose || x->stage || x->l.init <= 0 || !x->identity)
		return false;
	/* A mount or unmount on the host since (the view was copied before it), or in the sandbox's own
	 * view: nothing runs there yet, so that is the host removing a directory the view binds. */
	struct pollfd pm[2] = {{.fd = x->mounts_fd, .events = POLLPRI}, {.fd = x->l.view_mounts_fd, .events = POLLPRI}};
	if (x->l.view_mounts_fd < 0 || poll(pm, 2, 0) != 0)
		return false;
	/* The default log is a file a day; and a log moved aside since would lose the records. */
	if (!req->no_audit && !req->audit_path && (int64_t)(time(NULL) / 86400) != x->day)
		return false;
	if (!audit_sink_current(x->sink))
		return false;
	struct resolved r = {0};
	struct plan plan = {0};
	struct stage *st = NULL;
	struct cordon_error *e = NULL;
	bool same = false;
	if (resolve_plan(req, x->sink, &r, &plan, &st, &e) == 0 && r.cwd) {
		_cleanup_free_ char *text = plan_describe(&plan);
		_cleanup_free_ char *id = text ? plan_identity(&plan, text) : NULL;
		same = id && strcmp(id, x->identity) == 0;
		if (same) {
			free(x->r.cwd);
			x->r.cwd = steal_ptr(&r.cwd);
		}
	}
	cordon_error_free(e);
	stage_close(st);
	plan_release(&plan);
	resolved_release(&r);
	return same;
}

static int lx_run(const struct run_request *req, struct cordon_error **err)
{
	struct backend_prep *x = NULL;
	int rc = lx_prepare(req, &x, err);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	return lx_start(x, req, err);
}

const struct cordon_backend cordon_backend_linux = {
	.name = "linux",
	.run = lx_run,
	.doctor = lx_doctor,
	.setup = lx_setup,
	.stage = lx_stage,
	.prepare = lx_prepare,
	.prepared_for = lx_prepared_for,
	.start = lx_start,
	.discard = lx_discard,
};
