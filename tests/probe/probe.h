// SPDX-License-Identifier: Apache-2.0
#ifndef CORDON_TESTS_PROBE_H
#define CORDON_TESTS_PROBE_H
/*
 * probe: performs ONE attack action named on the command line and reports what the kernel said.
 *
 *   probe ACTION ARGS...
 *
 * prints one line, `ok [detail]` or `fail ERRNO-NAME: detail`, and exits 0 when the action
 * succeeded, 1 when it was refused, 2 on a usage error. A process killed by seccomp never gets to
 * print; the caller sees 128+SIGSYS from the sandbox instead. `listen` and `pty` are helpers the
 * tests run on the host side; they stream several lines (documented at their functions).
 *
 * The escape tests run it inside the sandbox to attack, and outside it (as the same user) as a
 * positive control: an attack that also fails outside proves nothing about the sandbox. It is
 * linked statically so that it runs in a sandbox whatever libraries the view hides, and it never
 * uses NSS (no name lookups): addresses and ids are numeric.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>

#define EXIT_OK 0
#define EXIT_REFUSED 1
#define EXIT_USAGE 2

#define DEFAULT_DATA "cordon-probe\n"

/* Every action has the same signature; many ignore one or both arguments. */
#define ACTION(fn) int fn(int argc __attribute__((unused)), char **argv __attribute__((unused)))
#define MAX_SHOW 200


/* Helpers shared between the probe's files. */
const char *errname(int err);
__attribute__((format(printf, 2, 3))) int fail(int err, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int okay(const char *fmt, ...);
int usage_error(const char *msg);
void printable(char *out, size_t outlen, const char *data, size_t len);
bool parse_ull(const char *s, unsigned long long *out);
bool parse_ll(const char *s, long long *out);
bool parse_int(const char *s, int *out);
const char *data_arg(int argc, char **argv, int idx);
void sleep_ms(long ms);
long long now_ms(void);
int write_all(int fd, const char *data);
int open_and_write(const char *path, int flags, const char *data);
bool fill_sun(struct sockaddr_un *su, socklen_t *len, const char *name, bool abstract);

/* The actions, one per file section: probe_fs.c, probe_net.c, probe_proc.c. */
ACTION(act_write);
ACTION(act_create);
ACTION(act_append);
ACTION(act_truncate);
ACTION(act_mkdir);
ACTION(act_rmdir);
ACTION(act_unlink);
ACTION(act_rename);
ACTION(act_exchange);
ACTION(act_chmod);
ACTION(act_chown);
ACTION(act_utimes);
ACTION(act_setxattr);
ACTION(act_getxattr);
ACTION(act_mkfifo);
ACTION(act_mknod);
ACTION(act_symlink);
ACTION(act_link);
ACTION(act_bind_unix);
ACTION(act_tmpfile);
ACTION(act_openat2);
ACTION(act_createat);
ACTION(act_mkdirat);
ACTION(act_proc_fd_mkdir);
ACTION(act_race_mkdir);
ACTION(act_proc_root_write);
ACTION(act_proc_cwd_write);
ACTION(act_reopen_write);
ACTION(act_read);
ACTION(act_readdir);
ACTION(act_stat);
ACTION(act_uring_setup);
ACTION(act_uring_openat);
ACTION(act_uring_mkdir);
ACTION(act_tcp);
ACTION(act_udp);
ACTION(act_icmp_raw);
ACTION(act_icmp_dgram);
ACTION(act_packet);
ACTION(act_unix_connect);
ACTION(act_abstract_connect);
ACTION(act_socket);
ACTION(act_socket_hi);
ACTION(act_listen);
ACTION(act_loopback);
ACTION(act_kill);
ACTION(act_ptrace);
ACTION(act_proc_mem);
ACTION(act_vm_write);
ACTION(act_tiocsti);
ACTION(act_tiocsti_hi);
ACTION(act_read_tty);
ACTION(act_pty);
ACTION(act_daemonize);
ACTION(act_sleep);
ACTION(act_linger);
ACTION(act_fds);
ACTION(act_whoami);
ACTION(act_caps);
ACTION(act_nnp);
ACTION(act_seccomp);
ACTION(act_setuid0);
ACTION(act_unshare_user);
ACTION(act_userns_write);
ACTION(act_clone_user);
ACTION(act_clone3);
ACTION(act_clone3_user);
ACTION(act_mount_tmpfs);
ACTION(act_fsopen);
ACTION(act_open_tree);
ACTION(act_keyctl);
ACTION(act_add_key);
ACTION(act_bpf);
ACTION(act_perf);
ACTION(act_userfaultfd);
ACTION(act_getenv);

#endif
