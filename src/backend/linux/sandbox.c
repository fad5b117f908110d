// SPDX-License-Identifier: Apache-2.0
/*
 * The sandbox init: PID 1 of the new PID namespace. It builds the view, locks itself down (so that
 * nothing it leaves behind is stronger than the command), starts the command, reaps, forwards
 * signals, and reports the command's status. When it exits, the kernel kills everything left in the
 * namespace; when the supervisor dies, PR_SET_PDEATHSIG kills it. So no process outlives the run.
 *
 * After the first unshare nothing may go on weaker: every failure is sent to the supervisor over the
 * sync socket and the process exits (sync_fail).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGTSTP};

static void fail(int fd, struct cordon_error *err)
{
	sync_fail(fd, err);
}

static int open_pty(int *master, int *slave, const struct winsize *ws, struct cordon_error **err)
{
	*master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return cerr_sys(err, errno, "open the sandbox's /dev/pts/ptmx");
	int unlock = 0;
	if (ioctl(*master, TIOCSPTLCK, &unlock) < 0)
		return cerr_sys(err, errno, "unlock pty");
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		return cerr_sys(err, errno, "open pty peer");
	if (ws->ws_row && ioctl(*master, TIOCSWINSZ, ws) < 0)
		return cerr_sys(err, errno, "set the pty's size");
	return 0;
}

/* The command's side of the fork: session, terminal, fds, directory, exec. */
__attribute__((noreturn)) static void exec_command(struct lx_child *c, int slave)
{
	struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_EXEC_FAILED};
	/* cordon answers for the signals it forwards: the command starts with their default action,
	 * even when the caller ignored them (a background job's SIGINT), and with none blocked (a
	 * blocked mask would make Ctrl-C and every forwarded signal a silent no-op). */
	for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
		signal(forwarded[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A new session: the command has no controlling terminal but its own pty, so it cannot reach
	 * the user's terminal with TIOCSTI (the seccomp filter refuses TIOCSTI too). */
	if (setsid() < 0)
		goto fail;
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 ||
		    (c->pty_stdout && dup2(slave, 1) < 0) || (c->pty_stderr && dup2(slave, 2) < 0))
			goto fail;
	}
	/* Only stdio is inherited; the sync socket stays open until execve succeeds. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 65536; fd++)
			if (fd != c->sync_fd)
				close(fd);
	}
	if (chdir(c->cwd) < 0) {
		snprintf(m.text, sizeof(m.text), "working directory `%s`", c->cwd);
		m.status = 1;
		goto fail;
	}
	environ = c->envp;
	execvp(c->argv[0], c->argv);
fail:
	m.code = errno;
	if (!m.text[0])
		snprintf(m.text, sizeof(m.text), "%s", c->argv[0]);
	sync_send(c->sync_fd, &m, NULL, 0);
	_exit(m.status ? CORDON_EXIT_FAILURE : m.code == ENOENT ? CORDON_EXIT_NOT_FOUND : CORDON_EXIT_CANNOT_EXEC);
}

/* Reaps children until the command itself ends; forwards signals to its process group. */
__attribute__((noreturn)) static void init_loop(struct lx_child *c, pid_t cmd, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(-cmd, sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != cmd)
				continue;
			struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_EXIT, .status = status};
			sync_send(c->sync_fd, &m, NULL, 0);
			/* Exiting ends the PID namespace: the kernel kills whatever the command left. */
			_exit(0);
		}
	}
}

#define MAX_VIEWS 64

static int open_views(const struct plan *plan, int views[MAX_VIEWS], struct cordon_error **err)
{
	size_t n = 0;
	for (size_t i = 0; i < MAX_VIEWS; i++)
		views[i] = -1;
	for (size_t i = 0; i < plan->nops; i++) {
		if (plan->ops[i].kind != MOP_OVERLAY)
			continue;
		if (n == MAX_VIEWS)
			return cerr_set(err, E2BIG, "more than %d staged roots", MAX_VIEWS);
		views[n] = open(plan->ops[i].path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (views[n++] < 0)
			return cerr_sys(err, errno, "open the staged `%s`", plan->ops[i].path);
	}
	return 0;
}

static int send_views(int fd, int views[MAX_VIEWS])
{
	for (int i = 0; i < MAX_VIEWS && views[i] >= 0; i += SYNC_MAX_FDS) {
		struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_VIEW, .status = i};
		int n = MAX_VIEWS - i < SYNC_MAX_FDS ? MAX_VIEWS - i : SYNC_MAX_FDS;
		if (sync_send(fd, &m, views + i, n) < 0)
			return -1;
	}
	for (int i = 0; i < MAX_VIEWS; i++)
		if (views[i] >= 0)
			close(views[i]);
	return 0;
}

void lx_child_main(struct lx_child *c)
{
	_cleanup_error_ struct cordon_error *err = NULL;
	int fd = c->sync_fd;
	/* The clone copied the supervisor's descriptors: the audit log's is not the sandbox's to hold. */
	if (c->audit_fd >= 0)
		close(c->audit_fd);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(CORDON_EXIT_FAILURE);
	struct sync_msg go;
	/* Wait for the id maps; EOF means the supervisor is gone. */
	if (sync_recv(fd, &go, NULL) < 0 || go.type != SYNC_GO)
		_exit(CORDON_EXIT_FAILURE);

	if (lx_build_view(c->plan, &err) < 0)
		fail(fd, err);
	/* Staged: the overlays' roots, for the supervisor's audit observer (sent before READY). */
	int views[MAX_VIEWS];
	if (open_views(c->plan, views, &err) < 0)
		fail(fd, err);
	if (sethostname("cordon", 6) < 0) {
		cerr_sys(&err, errno, "set hostname");
		fail(fd, err);
	}
	if (c->plan->new_netns && lx_loopback_up(&err) < 0)
		fail(fd, err);
	int net[NP_NFDS] = {-1, -1, -1, -1};
	bool transparent = false;
	if (c->net_rules && lx_netproxy_listen(c->net_rules, net, &transparent, &err) < 0)
		fail(fd, err);
	int master = -1, slave = -1;
	if (c->use_pty && open_pty(&master, &slave, &go.ws, &err) < 0)
		fail(fd, err);
	if (lx_set_rlimits(c, &err) < 0)
		fail(fd, err);

	/* Lock down init itself, so that nothing in the sandbox is stronger than the command. */
	if (lx_drop_privileges(c->cap_last, &err) < 0)
		fail(fd, err);
	if (c->landlock_abi > 0 && lx_landlock_apply(c->plan, c->landlock_abi, &err) < 0)
		fail(fd, err);
	int notify = -1;
	if (lx_seccomp_apply(c->filter, &notify, &err) < 0)
		fail(fd, err);
	/* Not dumpable: the command (same uid, no capabilities) cannot ptrace or read init's memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (send_views(fd, views) < 0)
		_exit(CORDON_EXIT_FAILURE);
	struct sync_msg ready = {.version = SYNC_VERSION, .type = SYNC_READY};
	/* The pty master and the broker's listener go to the supervisor; the numbering is fixed. */
	int pass[SYNC_MAX_FDS] = {master, notify, net[NP_HTTP], net[NP_SOCKS], net[NP_TPROXY], net[NP_DNS]};
	ready.status = (master >= 0 ? READY_PTY : 0) | (notify >= 0 ? READY_NOTIFY : 0) |
		       (net[NP_HTTP] >= 0 ? READY_PROXY : 0) | (transparent ? READY_TRANSPARENT : 0);
	if (sync_send(fd, &ready, pass, SYNC_MAX_FDS) < 0)
		_exit(CORDON_EXIT_FAILURE);
	if (master >= 0)
		close(master);
	if (notify >= 0)
		close(notify);
	for (int i = 0; i < NP_NFDS; i++)
		if (net[i] >= 0)
			close(net[i]);

	pid_t cmd = fork();
	if (cmd < 0) {
		cerr_sys(&err, errno, "fork the command");
		fail(fd, err);
	}
	if (cmd == 0)
		exec_command(c, slave);
	if (slave >= 0)
		close(slave);
	init_loop(c, cmd, &set);
}
