// SPDX-License-Identifier: Apache-2.0
/* The Linux backend's internals. Only files in this folder include it. */
#ifndef CORDON_BACKEND_LINUX_H
#define CORDON_BACKEND_LINUX_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#include "backend/backend.h"
#include "backend/linux/filter.h"
#include "compile/plan.h"

/* ---- messages between the supervisor and the sandbox init, over a SOCK_SEQPACKET pair ----
 * Fixed size and versioned; an error travels as code + message + hint and becomes exit 125. */
#define SYNC_VERSION 2u

enum sync_type {
	SYNC_GO = 1,     /* parent -> init: the id maps are written; carries the terminal size */
	SYNC_ERROR,      /* init -> parent: setup failed (code, text, hint); init exits */
	SYNC_READY,      /* init -> parent: locked down; SCM_RIGHTS may carry the pty master */
	SYNC_EXEC_FAILED,/* command -> parent: execve failed with `code`; status 1: it was the chdir */
	SYNC_EXIT,       /* init -> parent: the command ended with wait status `status`; init has killed
			  * and reaped every other process of the sandbox (`code` SYNC_EXIT_ALL_GONE) */
	SYNC_VIEW,       /* init -> parent, before READY: `code` staged overlays' roots (O_PATH), from the
			  * `status`-th overlay of the plan on (the audit observer reads file states there) */
	SYNC_MOUNTS,     /* init -> parent, before READY, in a sandbox built ahead: its /proc/self/mountinfo,
			  * opened once the view is built (a mount event there means the view changed: a
			  * host rmdir detaches a bind mount on that directory in every namespace) */
	SYNC_RUN,        /* parent -> init, after READY: the command. SCM_RIGHTS carries a sealed memfd
			  * (u32 argc, u32 envc, then cwd, argv and envp as NUL-terminated strings) and the
			  * client's stdin, stdout and stderr, each when its RUN_STD* bit is in `status` */
};

/* SYNC_EXIT.code: nothing of the command is left; only init, about to exit. */
#define SYNC_EXIT_ALL_GONE 1

/* SYNC_RUN.status bits. */
enum {
	RUN_STDIN = 1, RUN_STDOUT = 2, RUN_STDERR = 4, /* these stdio fds travel (in this order) */
	RUN_PTY = 8,         /* the command's stdin is the pty init opened */
	RUN_PTY_STDOUT = 16, /* and its stdout */
	RUN_PTY_STDERR = 32, /* and its stderr */
};
#define RUN_MAX_BYTES (64u << 20)

/* In SYNC_RUN's memfd, after the two counts: the client's process attributes, when the supervisor
 * is not the client's own process (the daemon). Each limit only ever lowers what init has. */
struct run_wire_attrs {
	uint32_t present;
	uint32_t umask;
	int32_t nice;
	uint32_t has_limit; /* bit N: RLIMIT number N */
	uint64_t soft[RUN_NLIMITS];
	uint64_t hard[RUN_NLIMITS];
};

struct sync_msg {
	uint32_t version;
	uint32_t type;
	int32_t code;
	int32_t status;
	struct winsize ws;
	/* SYNC_EXIT with SYNC_EXIT_ALL_GONE: what the command's processes used, all reaped (init's
	 * RUSAGE_CHILDREN): CPU time in ms, and the largest peak resident set in bytes. */
	int64_t cpu_ms;
	uint64_t peak_rss;
	char text[400];
	char hint[200];
};

/* ---- what the sandbox init needs; built by the supervisor before clone ---- */
struct lx_child {
	const struct plan *plan;
	const struct cordon_policy *policy;
	int sync_fd;
	int landlock_abi;     /* 0: not applied (full-access, or degraded by request) */
	int cap_last;
	uint64_t nproc_rlimit; /* RLIMIT_NPROC to set inside the user namespace (no cgroup), or 0 */
	uint64_t as_rlimit;    /* RLIMIT_AS per process (--memory, degraded by request), or 0 */
	const struct allowlist *net_rules; /* --network proxy: the rules (for the localhost ports) */
	enum lx_filter filter;  /* which seccomp program; all but the plain one have a listener */
	int audit_fd;           /* the supervisor's audit log: init closes its copy first thing */
	bool verbose;
	bool ahead;             /* built ahead of its command: send SYNC_MOUNTS */
};

/* READY.status bits: which fds travel with it, in this order. */
enum {
	READY_PTY = 1,         /* the pty master */
	READY_NOTIFY = 2,      /* the seccomp listener for the broker */
	READY_PROXY = 4,       /* the proxy's HTTP and SOCKS listeners */
	READY_TRANSPARENT = 8, /* the transparent redirect target and the DNS socket */
};

/* netproxy.c: --network proxy. The sockets, in the order they travel. */
enum { NP_HTTP, NP_SOCKS, NP_TPROXY, NP_DNS, NP_NFDS };
#define NP_HTTP_PORT 3128
#define NP_HTTP_PORT_S "3128"
#define NP_SOCKS_PORT 1080
#define NP_SOCKS_PORT_S "1080"
struct allowlist;
struct lx_netproxy;
struct cordon_policy;
/* The variables that point programs at the proxy (set over any inherited ones). */
#define LX_PROXY_ENV_N 8
extern const char *const lx_proxy_env[LX_PROXY_ENV_N + 1];
int lx_netproxy_new(const struct cordon_policy *p, struct lx_netproxy **out, struct cordon_error **err);
const struct allowlist *lx_netproxy_allowlist(const struct lx_netproxy *np);
/* In init: makes the sockets and, where the kernel allows, the transparent redirect. */
int lx_netproxy_listen(const struct allowlist *al, int fds[NP_NFDS], bool *transparent, struct cordon_error **err);
/* In the supervisor: serves the sockets (owned from then on) from a thread. */
struct audit_sink;
int lx_netproxy_start(struct lx_netproxy *np, const int fds[NP_NFDS], struct audit_sink *sink,
		      struct cordon_error **err);
void lx_netproxy_stop(struct lx_netproxy *np);
/* Hands the proxy's denials (each destination once, with its count) to the run's audit sink. */
void lx_netproxy_collect(struct lx_netproxy *np, struct audit_sink *sink);
void lx_netproxy_free(struct lx_netproxy *np);
static inline void lx_netproxy_freep(struct lx_netproxy **np)
{
	lx_netproxy_free(*np);
}

/* resolve.c. `audit_path` (or NULL): the audit log's file or directory, kept read-only in the view
 * (also in full-access) and, inside a writable root, guarded like a protected path. */
int lx_resolve(const struct cordon_policy *p, const char *audit_path, struct resolved *r, struct cordon_error **err);
/* Keeps `path` (cordon's own state: the staged sessions) out of the command's reach, like the audit
 * log: unreadable, and guarded inside a writable root. A missing path needs nothing. */
int lx_resolve_hide(struct resolved *r, const char *path, const char *what, struct cordon_error **err);
const char *lx_home(void);

/* mounts.c: builds the view and pivots into it (inside the new mount namespace). */
int lx_build_view(const struct plan *plan, struct cordon_error **err);
int lx_loopback_up(struct cordon_error **err);

/* landlock.c */
int lx_landlock_abi(void);
int lx_landlock_apply(const struct plan *plan, int abi, struct cordon_error **err);

/* lockdown.c: capabilities, securebits, no_new_privs, rlimits. */
int lx_drop_privileges(int cap_last, struct cordon_error **err);
int lx_set_rlimits(const struct lx_child *c, struct cordon_error **err);
int lx_cap_last(void);

/* seccomp.c: loads one variant of the filter; but for the plain one, *notify_fd gets the
 * user-notification listener. The programs are generated at build time (seccomp_gen.c). */
int lx_seccomp_apply(enum lx_filter variant, int *notify_fd, struct cordon_error **err);

/* notify_path.c: a notified process's path arguments. lx_read_path returns 0 or the errno the kernel
 * would fail the call with; the others 0 or -1. */
int lx_read_path(pid_t pid, uint64_t addr, char buf[PATH_MAX]);
int lx_view_path_of(pid_t pid, int dirfd, char *out, size_t cap);
void lx_final_name(const char *path, char name[NAME_MAX + 1]);
int lx_parent_of(pid_t pid, int dirfd, const char *path, char *parent, size_t cap);

/* broker.c: the supervisor's side of the protected-names broker. */
struct broker;
struct observer;
/* `obs` (may be NULL) sees every notification the broker does not refuse. */
struct broker *broker_new(const struct plan *plan, struct observer *obs, struct cordon_error **err);
void broker_set_notify_fd(struct broker *b, int fd);
void broker_free(struct broker *b);
int broker_fds(struct broker *b, struct pollfd *pfd); /* fills 1 */
void broker_handle(struct broker *b, struct pollfd *pfd);
/* When the next re-check of the guarded names is due (ms; -1: none pending). */
int broker_timeout_ms(const struct broker *b);
/* Re-checks the guarded names if due (always when `final`); true once one was violated. */
bool broker_check(struct broker *b, bool final);
void broker_repair(struct broker *b);
const char *broker_violation(const struct broker *b);
const char *broker_repaired(const struct broker *b);

/* observe.c: the audit observer. It answers the notifications of the observing filter variants:
 * calls the filter denies outright (refused here with the same errno, and recorded), writes through
 * paths that a read-only mount would refuse (refused here with EROFS, recorded), reads of deny-read
 * paths, connects the network policy refuses; and it notes the files changed under the writable
 * roots. It only ever refuses what the kernel layers would refuse anyway; everything else goes on. */
struct audit_sink;
struct observer *observer_new(const struct plan *plan, const struct cordon_policy *p, struct audit_sink *sink);
void observer_free(struct observer *o);
/* Staged mode: the `ordinal`-th overlay of the plan as the sandbox sees it (an fd init sent; the
 * observer owns it), so that file records follow the session layer, not the unchanged real files. */
void observer_set_view(struct observer *o, size_t ordinal, int fd);
/* 0: let the call go on; else the errno to refuse it with. */
int observer_decide(struct observer *o, const struct seccomp_notif *req);
/* The broker refused to create, remove or replace a protected name. */
void observer_protected(struct observer *o, const char *dir, const char *name);
/* After each notification: records the denial decided for it if the notification was still live
 * (a reused pid would have shown another process's memory), else forgets it. */
void observer_settle(struct observer *o, bool valid);
/* After the sandbox is gone: one `file` record per path that changed under the writable roots. */
void observer_finish(struct observer *o);

/* sandbox.c: the sandbox init (PID 1 of the new PID namespace). Never returns. */
__attribute__((noreturn)) void lx_child_main(struct lx_child *c);

/* sync.c: up to SYNC_MAX_FDS file descriptors travel with a message (SCM_RIGHTS). */
#define SYNC_MAX_FDS 6
int sync_send(int fd, const struct sync_msg *m, const int *fds, int nfds);
/* Receives one message; fds[] gets the fds passed with it, -1 for each missing. 0, or -1 on EOF/error. */
int sync_recv(int fd, struct sync_msg *m, int fds[SYNC_MAX_FDS]);
__attribute__((noreturn)) void sync_fail(int fd, struct cordon_error *err);

/* pty.c: the supervisor's side of the command's terminal. */
struct pty_relay;
struct pty_relay *pty_relay_new(int master);
void pty_relay_free(struct pty_relay *r);
/* Fills pollfds; returns how many were added. */
int pty_relay_fds(struct pty_relay *r, struct pollfd *pfd);
void pty_relay_handle(struct pty_relay *r, struct pollfd *pfd, int n);
void pty_relay_drain(struct pty_relay *r);
void pty_relay_winch(struct pty_relay *r);
/* Passes SIGINT or SIGQUIT to the sandbox's pty as its interrupt or quit character. */
void pty_relay_interrupt(struct pty_relay *r, int sig);
int pty_enter_raw(void);
void pty_leave_raw(void);

/* cgroup.c: a cgroup for the run with memory and/or pids limits (0: none). Returns the list of its
 * directories (free it), or NULL when no cgroup can be made here. */
char *lx_cgroup_create(uint64_t mem, uint64_t procs);
int lx_cgroup_enter(const char *list, pid_t pid, struct cordon_error **err);
void lx_cgroup_remove(const char *list);

/* doctor.c, setup.c */
int lx_doctor(bool json);
int lx_setup(bool dry_run, struct cordon_error **err);

/* util.c: writes `text` to an existing file (a /proc or cgroup control file) relative to dirfd
 * (AT_FDCWD for absolute paths), not following a final symlink. 0, or -1 with errno. */
int lx_write_text(int dirfd, const char *path, const char *text);
/* util.c: what this process's waited-for children used (RUSAGE_CHILDREN): CPU time in ms and the
 * largest peak resident set in bytes; both left as they are when getrusage fails. */
void lx_children_usage(int64_t *cpu_ms, uint64_t *peak_rss);

/* Small syscall wrappers glibc 2.36 lacks or that the headers of linux-libc-dev 6.1 do not declare. */
int lx_pivot_root(const char *new_root, const char *put_old);
int lx_mount_setattr_rec(int dfd, const char *path, uint64_t set, uint64_t clr);
int lx_open_beneath(int root_fd, const char *path, int flags, bool no_symlinks);

#endif
