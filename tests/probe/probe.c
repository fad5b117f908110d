// SPDX-License-Identifier: Apache-2.0
/* The action table and main; the actions are in probe_fs.c, probe_net.c and probe_proc.c. */
#include "probe.h"

/* ------------------------------------------------------------------------------------------ */
/* The action table                                                                           */

struct action {
	const char *name;
	int min_args, max_args; /* max_args < 0: any number */
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct action actions[] = {
	/* Files. */
	{ "write", 1, 2, act_write, "PATH [DATA]   create or truncate, then write" },
	{ "create", 1, 1, act_create, "PATH   create a new file (O_EXCL)" },
	{ "append", 1, 2, act_append, "PATH [DATA]" },
	{ "truncate", 1, 2, act_truncate, "PATH [LENGTH]" },
	{ "mkdir", 1, 1, act_mkdir, "PATH" },
	{ "rmdir", 1, 1, act_rmdir, "PATH" },
	{ "unlink", 1, 1, act_unlink, "PATH" },
	{ "rename", 2, 2, act_rename, "FROM TO" },
	{ "exchange", 2, 2, act_exchange, "A B   renameat2(RENAME_EXCHANGE)" },
	{ "chmod", 2, 2, act_chmod, "PATH OCTAL-MODE" },
	{ "chown", 3, 3, act_chown, "PATH UID GID   (-1 keeps)" },
	{ "utimes", 1, 1, act_utimes, "PATH   set atime and mtime to 2001-09-09" },
	{ "setxattr", 3, 3, act_setxattr, "PATH NAME VALUE" },
	{ "getxattr", 2, 2, act_getxattr, "PATH NAME" },
	{ "mkfifo", 1, 1, act_mkfifo, "PATH" },
	{ "mknod", 3, 3, act_mknod, "PATH MAJOR MINOR   character device" },
	{ "symlink", 2, 2, act_symlink, "TARGET LINKPATH" },
	{ "link", 2, 2, act_link, "EXISTING NEWPATH   hard link" },
	{ "bind-unix", 1, 1, act_bind_unix, "PATH   bind a unix socket file" },
	{ "tmpfile", 1, 2, act_tmpfile, "DIR [NEWPATH]   O_TMPFILE, then linkat to NEWPATH" },
	{ "openat2", 3, 4, act_openat2, "DIR REL RESOLVE[,..] [DATA]   write REL under DIR" },
	{ "createat", 2, 2, act_createat, "DIR NAME   openat(dirfd, NAME, O_CREAT|O_EXCL)" },
	{ "mkdirat", 2, 2, act_mkdirat, "DIR NAME   mkdirat(dirfd, NAME)" },
	{ "proc-fd-mkdir", 2, 2, act_proc_fd_mkdir, "DIR NAME   mkdir /proc/self/fd/N/NAME" },
	{ "race-mkdir", 3, 3, act_race_mkdir, "DIR NAME MS   race a symlink flip against mkdir DIR/link/NAME" },
	{ "proc-root-write", 1, 2, act_proc_root_write, "PATH [DATA]   via /proc/self/root" },
	{ "proc-cwd-write", 1, 2, act_proc_cwd_write, "REL [DATA]   via /proc/self/cwd" },
	{ "reopen-write", 1, 2, act_reopen_write, "PATH [DATA]   open read-only, reopen via /proc/self/fd" },
	{ "uring-setup", 0, 0, act_uring_setup, "" },
	{ "uring-openat", 1, 2, act_uring_openat, "PATH [DATA]   IORING_OP_OPENAT and write" },
	{ "uring-mkdir", 1, 1, act_uring_mkdir, "PATH   IORING_OP_MKDIRAT" },
	{ "read", 1, 1, act_read, "PATH   prints the first bytes" },
	{ "readdir", 1, 1, act_readdir, "PATH   prints the count and names" },
	{ "stat", 1, 1, act_stat, "PATH   lstat" },
	/* Network. */
	{ "tcp", 2, 3, act_tcp, "ADDR PORT [MSG]   connect and send" },
	{ "udp", 2, 3, act_udp, "ADDR PORT [MSG]   send a datagram" },
	{ "icmp-raw", 1, 2, act_icmp_raw, "ADDR [PAYLOAD]   echo request on a raw socket" },
	{ "icmp-dgram", 1, 2, act_icmp_dgram, "ADDR [PAYLOAD]   echo request on a ping socket" },
	{ "packet", 0, 0, act_packet, "   socket(AF_PACKET, SOCK_RAW)" },
	{ "unix-connect", 1, 2, act_unix_connect, "PATH [MSG]" },
	{ "abstract-connect", 1, 2, act_abstract_connect, "NAME [MSG]   (without the leading @)" },
	{ "socket", 3, 3, act_socket, "DOMAIN TYPE PROTO   names (unix inet packet vsock alg ...) or numbers" },
	{ "socket-hi", 3, 3, act_socket_hi, "DOMAIN TYPE PROTO   same with bit 32 set in DOMAIN" },
	{ "listen", 4, 4, act_listen, "KIND ADDR PORT SECONDS   host-side listener (see source)" },
	{ "loopback", 1, 1, act_loopback, "tcp4|tcp6|udp4|udp6   talk to itself over loopback" },
	/* Processes and terminal. */
	{ "kill", 2, 2, act_kill, "PID SIGNAL" },
	{ "ptrace", 1, 1, act_ptrace, "PID   PTRACE_ATTACH" },
	{ "proc-mem", 1, 1, act_proc_mem, "PID   open /proc/PID/mem for writing" },
	{ "vm-write", 1, 1, act_vm_write, "PID   process_vm_writev one byte" },
	{ "tiocsti", 0, 1, act_tiocsti, "[TEXT]   inject TEXT and a newline into the terminal on fd 0" },
	{ "tiocsti-hi", 0, 1, act_tiocsti_hi, "[TEXT]   same, ioctl command with bit 32 set" },
	{ "read-tty", 1, 1, act_read_tty, "MS   read what waits on fd 0" },
	{ "pty", 1, -1, act_pty, "CMD [ARG...]   host-side: run CMD on a new controlling terminal" },
	{ "daemonize", 2, 2, act_daemonize, "MARKER MS   double fork, setsid, write MARKER after MS" },
	{ "sleep", 1, -1, act_sleep, "MS [TAG...]" },
	{ "linger", 1, -1, act_linger, "MS [TAG...]   sleep ignoring SIGHUP/SIGTERM/SIGINT" },
	{ "fds", 0, 0, act_fds, "   list open fds above 2" },
	/* Privilege. */
	{ "whoami", 0, 0, act_whoami, "   real/effective/saved ids" },
	{ "caps", 0, 0, act_caps, "   effective, permitted, inheritable, bounding, ambient sets" },
	{ "nnp", 0, 0, act_nnp, "   PR_GET_NO_NEW_PRIVS" },
	{ "seccomp", 0, 0, act_seccomp, "   PR_GET_SECCOMP" },
	{ "setuid0", 0, 0, act_setuid0, "" },
	{ "unshare-user", 0, 0, act_unshare_user, "" },
	{ "userns-write", 1, 2, act_userns_write, "PATH [DATA]   new userns+mountns, unmount/remount, write" },
	{ "clone-user", 0, 0, act_clone_user, "   clone(CLONE_NEWUSER)" },
	{ "clone3", 0, 0, act_clone3, "   plain clone3()" },
	{ "clone3-user", 0, 0, act_clone3_user, "   clone3(CLONE_NEWUSER)" },
	{ "mount-tmpfs", 1, 1, act_mount_tmpfs, "DIR" },
	{ "fsopen", 0, 0, act_fsopen, "   fsopen(\"tmpfs\")" },
	{ "open-tree", 1, 1, act_open_tree, "PATH   open_tree(OPEN_TREE_CLONE)" },
	{ "keyctl", 0, 0, act_keyctl, "   keyctl(KEYCTL_GET_KEYRING_ID)" },
	{ "add-key", 0, 0, act_add_key, "   add_key to the process keyring" },
	{ "bpf", 0, 0, act_bpf, "   BPF_PROG_LOAD a socket filter" },
	{ "perf", 0, 0, act_perf, "   perf_event_open on itself" },
	{ "userfaultfd", 0, 0, act_userfaultfd, "" },
	{ "getenv", 1, 1, act_getenv, "NAME" },
};

static int usage(void)
{
	fputs("usage: probe ACTION ARGS...\nprints `ok [...]` (exit 0) or `fail ERRNO: ...` (exit 1)\n"
	      "actions:\n",
	      stderr);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		fprintf(stderr, "  %-18s %s\n", actions[i].name, actions[i].usage);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action *a = &actions[i];
		if (strcmp(argv[1], a->name) != 0)
			continue;
		int n = argc - 2;
		if (n < a->min_args || (a->max_args >= 0 && n > a->max_args)) {
			fprintf(stderr, "usage: probe %s %s\n", a->name, a->usage);
			return EXIT_USAGE;
		}
		return a->fn(n, argv + 2);
	}
	fprintf(stderr, "probe: unknown action `%s`\n", argv[1]);
	return usage();
}
