// SPDX-License-Identifier: Apache-2.0
/* Other processes, the terminal, and privilege. */
#include "probe.h"

/* ------------------------------------------------------------------------------------------ */
/* Other processes and the terminal                                                           */

static bool parse_pid(const char *s, pid_t *pid)
{
	int v = 0;
	if (!parse_int(s, &v) || v <= 0)
		return false;
	*pid = v;
	return true;
}

ACTION(act_kill)
{
	pid_t pid = 0;
	int sig = 0;
	if (!parse_pid(argv[0], &pid) || !parse_int(argv[1], &sig))
		return usage_error("kill: PID SIGNAL (numbers)");
	if (kill(pid, sig) < 0)
		return fail(errno, "kill(%d, %d)", (int)pid, sig);
	return okay("signal %d sent to %d", sig, (int)pid);
}

ACTION(act_ptrace)
{
	pid_t pid = 0;
	if (!parse_pid(argv[0], &pid))
		return usage_error("ptrace: PID");
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
		return fail(errno, "ptrace(PTRACE_ATTACH, %d)", (int)pid);
	/* Let it go at once: the test checks the target, not how long we could hold it. */
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return okay("attached to %d", (int)pid);
}

ACTION(act_proc_mem)
{
	char path[64];
	pid_t pid = 0;
	if (!parse_pid(argv[0], &pid))
		return usage_error("proc-mem: PID");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s for writing", path);
	return okay("%s open for writing", path);
}

/* Finds the start of a writable private mapping of pid, or returns 0. */
static unsigned long writable_address(pid_t pid)
{
	char path[64], line[512];
	unsigned long start = 0, end = 0;
	char perms[8];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && perms[0] == 'r' &&
		    perms[1] == 'w') {
			fclose(f);
			return start;
		}
	}
	fclose(f);
	return 0;
}

/* Writes one byte into another process (the byte it already holds, when its memory can be
 * read). EFAULT means the kernel granted access and only the address was bad: that counts. */
ACTION(act_vm_write)
{
	pid_t pid = 0;
	if (!parse_pid(argv[0], &pid))
		return usage_error("vm-write: PID");
	unsigned long addr = writable_address(pid);
	char byte = 0;
	struct iovec local = { .iov_base = &byte, .iov_len = 1 };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = 1 };
	if (addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0 && errno != EFAULT)
		return fail(errno, "process_vm_readv(%d)", (int)pid);
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) < 0) {
		if (errno == EFAULT)
			return okay("process_vm_writev(%d) allowed (bad address)", (int)pid);
		return fail(errno, "process_vm_writev(%d)", (int)pid);
	}
	return okay("wrote one byte into %d at 0x%lx", (int)pid, addr);
}

/* Pushes TEXT and a newline into the input of the terminal on fd 0, one byte at a time. */
static int tiocsti(const char *text, unsigned long high)
{
	char line[256];
	snprintf(line, sizeof(line), "%s\n", text);
	for (const char *c = line; *c; c++) {
		if (syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | high, c) < 0)
			return fail(errno, "ioctl(0, TIOCSTI%s)", high ? " | 1<<32" : "");
	}
	return okay("injected");
}

ACTION(act_tiocsti)
{
	return tiocsti(argc > 0 ? argv[0] : "echo cordon-injected", 0);
}

ACTION(act_tiocsti_hi)
{
	return tiocsti(argc > 0 ? argv[0] : "echo cordon-injected", 1UL << 32);
}

/* read-tty MS: reads what is waiting on fd 0 within MS milliseconds: ok = something was there. */
ACTION(act_read_tty)
{
	int ms = 0;
	if (!parse_int(argv[0], &ms))
		return usage_error("read-tty: MS");
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	if (poll(&pfd, 1, ms) <= 0)
		return fail(ETIMEDOUT, "nothing to read on fd 0 within %d ms", ms);
	char buf[256], show[MAX_SHOW];
	ssize_t n = read(0, buf, sizeof(buf));
	if (n <= 0)
		return fail(n < 0 ? errno : ENODATA, "read fd 0");
	printable(show, sizeof(show), buf, (size_t)n);
	return okay("got=%s", show);
}

/* Copies from -> to until nothing comes for timeout_ms; false when from is closed or broken. */
static bool relay(int from, int to, int timeout_ms)
{
	char buf[4096];
	struct pollfd pfd = { .fd = from, .events = POLLIN };
	while (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n <= 0 || write(to, buf, (size_t)n) != n)
			return false;
	}
	return true;
}

/*
 * pty CMD ARGS..., a host-side helper: runs CMD as a session leader with a new pseudo-terminal as
 * its controlling terminal and stdio, copies the terminal's output to stdout, and exits with CMD's
 * status. Nothing is fed to the terminal's input, so whatever CMD reads from it was injected.
 */
ACTION(act_pty)
{
	char name[128];
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		return fail(errno, "posix_openpt");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid == 0) {
		setsid();
		int slave = open(name, O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			_exit(125);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (!relay(master, 1, 100))
			sleep_ms(20);
	}
	relay(master, 1, 100);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

ACTION(act_daemonize)
{
	int ms = 0;
	if (!parse_int(argv[1], &ms) || ms < 0)
		return usage_error("daemonize: MARKER MS");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		return okay("daemon started, marker %s in %d ms", argv[0], ms);
	}
	/* The classic escape from a job: new session, orphaned grandchild, deaf to polite signals. */
	setsid();
	if (fork() != 0)
		_exit(0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd <= 2 && null >= 0; fd++)
		dup2(null, fd);
	sleep_ms(ms);
	int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		char line[64];
		snprintf(line, sizeof(line), "survived pid %d\n", (int)getpid());
		write_all(fd, line);
		close(fd);
	}
	_exit(0);
}

/* sleep MS [TAG...]: the TAG arguments only make the process easy to find with pgrep -f. */
ACTION(act_sleep)
{
	int ms = 0;
	if (!parse_int(argv[0], &ms) || ms < 0)
		return usage_error("sleep: MS");
	sleep_ms(ms);
	return okay(NULL);
}

/* linger MS [TAG...]: like sleep, but ignores SIGHUP, SIGTERM and SIGINT. */
ACTION(act_linger)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	return act_sleep(argc, argv);
}

/* Lists the open file descriptors above stdio, without /proc when it is missing. */
ACTION(act_fds)
{
	char list[1024] = "";
	size_t used = 0;
	struct rlimit rl = { 0 };
	getrlimit(RLIMIT_NOFILE, &rl);
	int max = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	for (int fd = 3; fd < max; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		char path[64], target[256] = "?";
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		int w = snprintf(list + used, sizeof(list) - used, "%s%d:%s", used ? "," : "", fd, target);
		if (w > 0 && (size_t)w < sizeof(list) - used)
			used += (size_t)w;
	}
	return okay("fds=%s", list);
}

/* ------------------------------------------------------------------------------------------ */
/* Privilege                                                                                  */

ACTION(act_whoami)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	return okay("uid=%u euid=%u suid=%u gid=%u egid=%u sgid=%u", (unsigned)r, (unsigned)e,
		    (unsigned)s, (unsigned)rg, (unsigned)eg, (unsigned)sg);
}

ACTION(act_caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return fail(errno, "capget");
	uint64_t eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	uint64_t prm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	uint64_t inh = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
	uint64_t bnd = 0, amb = 0;
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
			bnd |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			amb |= 1ULL << cap;
	}
	return okay("eff=%016" PRIx64 " prm=%016" PRIx64 " inh=%016" PRIx64 " bnd=%016" PRIx64
		    " amb=%016" PRIx64,
		    eff, prm, inh, bnd, amb);
}

ACTION(act_nnp)
{
	int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (v < 0)
		return fail(errno, "prctl(PR_GET_NO_NEW_PRIVS)");
	return okay("no_new_privs=%d", v);
}

ACTION(act_seccomp)
{
	int v = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	if (v < 0)
		return fail(errno, "prctl(PR_GET_SECCOMP)");
	return okay("seccomp=%d", v);
}

ACTION(act_setuid0)
{
	if (setuid(0) < 0)
		return fail(errno, "setuid(0)");
	return okay("uid=%u euid=%u", (unsigned)getuid(), (unsigned)geteuid());
}

ACTION(act_unshare_user)
{
	if (unshare(CLONE_NEWUSER) < 0)
		return fail(errno, "unshare(CLONE_NEWUSER)");
	return okay("new user namespace");
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int err = write_all(fd, text);
	close(fd);
	return err == 0;
}

/* userns-write PATH [DATA]: enters a new user and mount namespace, tries to shed the read-only
 * mounts over PATH (unmount, remount read-write), then writes PATH. */
ACTION(act_userns_write)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return fail(errno, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
	char map[64];
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
	/* Each attempt may fail; only the final write decides. */
	umount2(argv[0], MNT_DETACH);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	umount2(dir, MNT_DETACH);
	mount(dir, dir, NULL, MS_BIND | MS_REC, NULL);
	mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL);
	return open_and_write(argv[0], O_WRONLY | O_CREAT | O_TRUNC, data_arg(argc, argv, 1));
}

static int wait_child(pid_t pid, const char *what)
{
	int status = 0;
	if (waitpid(pid, &status, __WALL) < 0)
		return fail(errno, "waitpid after %s", what);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(ECHILD, "%s child did not exit 0", what);
	return okay("%s child ran", what);
}

ACTION(act_clone_user)
{
	fflush(stdout);
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return fail(errno, "clone(CLONE_NEWUSER)");
	if (pid == 0)
		_exit(0);
	return wait_child((pid_t)pid, "clone(CLONE_NEWUSER)");
}

/* struct clone_args from linux/sched.h, spelled out: that header fights glibc's sched.h. */
struct probe_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int clone3_with(uint64_t flags, const char *what)
{
	struct probe_clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
	fflush(stdout);
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return fail(errno, "%s", what);
	if (pid == 0)
		_exit(0);
	return wait_child((pid_t)pid, what);
}

ACTION(act_clone3)
{
	return clone3_with(0, "clone3()");
}

ACTION(act_clone3_user)
{
	return clone3_with(CLONE_NEWUSER, "clone3(CLONE_NEWUSER)");
}

ACTION(act_mount_tmpfs)
{
	if (mount("tmpfs", argv[0], "tmpfs", 0, "size=1m") < 0)
		return fail(errno, "mount tmpfs on %s", argv[0]);
	return okay("tmpfs mounted on %s", argv[0]);
}

ACTION(act_fsopen)
{
	long fd = syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */);
	if (fd < 0)
		return fail(errno, "fsopen(tmpfs)");
	return okay("fsopen fd %ld", fd);
}

ACTION(act_open_tree)
{
	/* OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE: a detached copy of the mount tree. */
	long fd = syscall(SYS_open_tree, AT_FDCWD, argv[0], 1 | O_CLOEXEC | AT_RECURSIVE);
	if (fd < 0)
		return fail(errno, "open_tree(%s, OPEN_TREE_CLONE)", argv[0]);
	return okay("open_tree fd %ld", fd);
}

ACTION(act_keyctl)
{
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	if (id < 0)
		return fail(errno, "keyctl(KEYCTL_GET_KEYRING_ID)");
	return okay("session keyring %ld", id);
}

ACTION(act_add_key)
{
	long id = syscall(SYS_add_key, "user", "cordon-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	if (id < 0)
		return fail(errno, "add_key(user)");
	return okay("key %ld", id);
}

ACTION(act_bpf)
{
	/* r0 = 0; exit: the smallest valid socket filter. */
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = 2;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return fail(errno, "bpf(BPF_PROG_LOAD)");
	return okay("bpf program fd %ld", fd);
}

ACTION(act_perf)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return fail(errno, "perf_event_open(task clock, self)");
	return okay("perf fd %ld", fd);
}

ACTION(act_userfaultfd)
{
	/* User-mode-only faults are allowed unprivileged since 5.11; try it first. */
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "userfaultfd");
	return okay("userfaultfd %ld", fd);
}

ACTION(act_getenv)
{
	const char *v = getenv(argv[0]);
	if (!v)
		return fail(ENOENT, "%s is not set", argv[0]);
	return okay("%s", v);
}
