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
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "core/policy.h"

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
	/* Full-access keeps the host's /dev: its devpts is reached through /dev/ptmx. */
	if (*master < 0 && errno == EACCES)
		*master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
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

/* What SYNC_RUN brings: the command, and the client's stdio. */
struct command {
	char *cwd;  /* these point into the memfd's mapping */
	char **argv;
	char **envp;
	int stdio[3];
	unsigned flags;
	struct run_wire_attrs attrs;
};

/* Maps the memfd of a SYNC_RUN (cordon's own supervisor wrote it: checked all the same). No malloc:
 * init may have been cloned from a threaded process (libcordon's caller) whose allocator lock it
 * could inherit held. */
static int read_command(int mfd, struct command *cmd, struct cordon_error **err)
{
	struct stat st;
	if (fstat(mfd, &st) < 0 || (uint64_t)st.st_size < 8 + sizeof(cmd->attrs) || (uint64_t)st.st_size > RUN_MAX_BYTES)
		return cerr_set(err, EPROTO, "the command for the sandbox is malformed");
	size_t len = (size_t)st.st_size;
	char *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, mfd, 0);
	if (buf == MAP_FAILED)
		return cerr_sys(err, errno, "map the command");
	uint32_t n[2];
	memcpy(n, buf, sizeof(n));
	memcpy(&cmd->attrs, buf + sizeof(n), sizeof(cmd->attrs));
	if (n[0] == 0 || n[0] > len || n[1] > len)
		return cerr_set(err, EPROTO, "the command for the sandbox is malformed");
	size_t vec = ((size_t)n[0] + (size_t)n[1] + 2) * sizeof(char *);
	char **v = mmap(NULL, vec, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return cerr_sys(err, errno, "map the command's vectors");
	cmd->argv = v;
	cmd->envp = v + n[0] + 1;
	char *p = buf + sizeof(n) + sizeof(cmd->attrs), *end = buf + len;
	size_t total = 1 + (size_t)n[0] + (size_t)n[1];
	for (size_t i = 0; i < total; i++) {
		char *nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		if (!nul)
			return cerr_set(err, EPROTO, "the command for the sandbox is malformed");
		if (i == 0)
			cmd->cwd = p;
		else if (i <= n[0])
			cmd->argv[i - 1] = p;
		else
			cmd->envp[i - 1 - n[0]] = p;
		p = nul + 1;
	}
	return 0;
}

/* The resource limits lx_set_rlimits() set from the policy. */
static bool policy_limited(const struct lx_child *c, int res)
{
	const struct cordon_policy *p = c->policy;
	return (res == RLIMIT_NPROC && c->nproc_rlimit) || (res == RLIMIT_AS && c->as_rlimit) ||
	       (res == RLIMIT_CPU && p->limits[CORDON_LIMIT_CPU_SECONDS]) ||
	       (res == RLIMIT_FSIZE && p->limits[CORDON_LIMIT_FILE_SIZE]);
}

static int above_stdio(int fd)
{
	return fd >= 0 && fd <= 2 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

/* The command's side of the fork: session, terminal, fds, directory, exec. */
__attribute__((noreturn)) static void exec_command(struct lx_child *c, struct command *cmd, int slave)
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
	/* The client's stdio (closed where the client's was closed). Whatever landed on 0, 1 or 2
	 * (when the supervisor started with one of them closed) moves up first. */
	c->sync_fd = above_stdio(c->sync_fd);
	slave = above_stdio(slave);
	for (int i = 0; i < 3; i++)
		cmd->stdio[i] = above_stdio(cmd->stdio[i]);
	for (int i = 0; i < 3; i++) {
		if (cmd->stdio[i] < 0)
			close(i);
		else if (cmd->stdio[i] != i && dup2(cmd->stdio[i], i) < 0)
			goto fail;
	}
	if (cmd->flags & RUN_PTY) {
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 ||
		    ((cmd->flags & RUN_PTY_STDOUT) && dup2(slave, 1) < 0) ||
		    ((cmd->flags & RUN_PTY_STDERR) && dup2(slave, 2) < 0))
			goto fail;
	}
	/* Only stdio is inherited; the sync socket stays open until execve succeeds. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = 3; fd < 65536; fd++)
			if (fd != c->sync_fd)
				close(fd);
	}
	/* The client's umask, nice value and limits, as a cold run's command inherits them (through the
	 * daemon, init has the daemon's). A limit only comes down: the policy's stay. */
	if (cmd->attrs.present) {
		umask((mode_t)cmd->attrs.umask);
		setpriority(PRIO_PROCESS, 0, cmd->attrs.nice);
		for (int i = 0; i < RUN_NLIMITS; i++) {
			struct rlimit cur;
			if (!(cmd->attrs.has_limit & (1u << i)) || getrlimit(i, &cur) < 0)
				continue;
			rlim_t hard = cmd->attrs.hard[i] < cur.rlim_max ? (rlim_t)cmd->attrs.hard[i] : cur.rlim_max;
			rlim_t soft = cmd->attrs.soft[i] < hard ? (rlim_t)cmd->attrs.soft[i] : hard;
			/* A limit the policy set is init's own soft limit, which must stay (--cpu-seconds
			 * leaves a second between SIGXCPU and SIGKILL). */
			if (policy_limited(c, i) && soft > cur.rlim_cur)
				soft = cur.rlim_cur;
			setrlimit(i, &(struct rlimit){.rlim_cur = soft, .rlim_max = hard});
		}
	}
	if (chdir(cmd->cwd) < 0) {
		snprintf(m.text, sizeof(m.text), "working directory `%s`", cmd->cwd);
		m.status = 1;
		goto fail;
	}
	environ = cmd->envp;
	execvp(cmd->argv[0], cmd->argv);
fail:
	m.code = errno;
	if (!m.text[0])
		snprintf(m.text, sizeof(m.text), "%s", cmd->argv[0]);
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
			/* What the command left is killed and reaped first (init's exit would have the
			 * kernel do the same): the report then says that nothing of the command is left,
			 * and the supervisor may answer before the namespaces are torn down. */
			kill(-1, SIGKILL);
			while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
				;
			struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_EXIT, .status = status,
					     .code = errno == ECHILD ? SYNC_EXIT_ALL_GONE : 0};
			lx_children_usage(&m.cpu_ms, &m.peak_rss);
			sync_send(c->sync_fd, &m, NULL, 0);
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
	/* The clone copied the supervisor's descriptors (the audit log's, a daemon's sockets and memfds,
	 * a client's connection): init keeps its stdio and the sync socket, nothing else. */
	if (fd > 3)
		syscall(SYS_close_range, 3, (unsigned)fd - 1, 0);
	syscall(SYS_close_range, fd >= 3 ? (unsigned)fd + 1 : 3u, ~0U, 0);
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
	/* Built ahead: the view's mount table, watched from now on (opened before the lockdown: an open
	 * under the observing filter would wait for a supervisor that is not answering yet). */
	int mounts = -1;
	if (c->ahead && (mounts = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0) {
		cerr_sys(&err, errno, "open the sandbox's mountinfo");
		fail(fd, err);
	}
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
	/* A pty for the command, made now (the lockdown below would refuse it later); it gets it only
	 * when the client turns out to be at a terminal. Without one (full-access sees the host's /dev,
	 * whose ptmx a user namespace may not open), a command at a terminal is refused then. */
	int master = -1, slave = -1;
	if (open_pty(&master, &slave, &go.ws, &err) < 0) {
		cordon_error_free(err);
		err = NULL;
		if (master >= 0)
			close(master);
		if (slave >= 0)
			close(slave);
		master = slave = -1;
	}
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
	if (mounts >= 0) {
		struct sync_msg m = {.version = SYNC_VERSION, .type = SYNC_MOUNTS};
		if (sync_send(fd, &m, &mounts, 1) < 0)
			_exit(CORDON_EXIT_FAILURE);
		close(mounts);
	}
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

	/* Built: wait for the command (at once in a cold run; when a request comes in the warm pool).
	 * EOF means the supervisor dropped this sandbox. */
	struct sync_msg run;
	int rfds[SYNC_MAX_FDS];
	if (sync_recv(fd, &run, rfds) < 0 || run.type != SYNC_RUN || rfds[0] < 0)
		_exit(CORDON_EXIT_FAILURE);
	struct command cmd = {.flags = (unsigned)run.status};
	for (int i = 0, k = 1; i < 3; i++)
		cmd.stdio[i] = (cmd.flags & (RUN_STDIN << i)) ? rfds[k++] : -1;
	if (read_command(rfds[0], &cmd, &err) < 0)
		fail(fd, err);
	close(rfds[0]);
	pid_t pid = fork();
	if (pid < 0) {
		cerr_sys(&err, errno, "fork the command");
		fail(fd, err);
	}
	if (pid == 0)
		exec_command(c, &cmd, slave);
	if (slave >= 0)
		close(slave);
	for (int i = 0; i < 3; i++)
		if (cmd.stdio[i] >= 0)
			close(cmd.stdio[i]);
	init_loop(c, pid, &set);
}
