// SPDX-License-Identifier: Apache-2.0
/*
 * The seccomp filter's rules, built with libseccomp. This file is compiled into the build-time
 * generator (seccomp_gen.c), which exports the finished BPF into the binary, and into the unit test
 * that checks the embedded program is still what libseccomp makes of these rules; the runner itself
 * only loads the finished program (seccomp.c).
 *
 * Default allow, with a denylist of what a build never
 * needs: io_uring (it would bypass this filter's view of file and socket calls), keyctl, bpf,
 * perf_event_open, userfaultfd, new namespaces, mounts, kernel modules, TIOCSTI, and socket families
 * other than unix, inet, inet6 and netlink.
 *
 * - The architecture is checked: a syscall from another ABI (i386 via int 0x80, x32) kills the process
 *   instead of being looked up in the wrong table.
 * - Arguments the kernel reads as int are compared on their low 32 bits, with SCMP_CMP_MASKED_EQ and
 *   a 0xffffffff mask: the kernel drops the high bits, so an equality over all 64 bits of socket()'s
 *   domain or ioctl()'s request is bypassed by setting them. (libseccomp 2.5's SCMP_A*_32 macros only
 *   cast the datum; the comparison stays 64-bit. The escape tests try exactly that bypass.)
 * - libseccomp's binary-tree optimisation keeps the path of a common syscall short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "backend/linux/seccomp_rules.h"
#include "common/cleanup.h"
#include "common/error.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Denied with EPERM. Names, so that a syscall this libseccomp does not know is skipped, not fatal. */
static const char *const denied[] = {
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
	"fsmount", "fspick", "mount_setattr", "setns", "keyctl", "add_key", "request_key", "bpf",
	"perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd",
	"open_by_handle_at", "iopl", "ioperm", "vhangup", "nfsservctl", "lookup_dcookie", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "uselib", "create_module", "get_kernel_syms",
	"query_module", "_sysctl", "fanotify_init", NULL,
};

/* Denied with ENOSYS, so that callers fall back as on a kernel without them. */
static const char *const missing[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* clone3 passes its flags in memory, where a filter cannot see them; glibc falls back to clone. */
	"clone3", NULL,
};

static const unsigned long ns_flags[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
					  CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME};

/* Socket families below AF_PACKET that a build does not need (AF_UNIX, AF_INET, AF_INET6 and
 * AF_NETLINK stay allowed). */
static const int denied_families[] = {3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15};

/* Families 17 (AF_PACKET) to 63 as (mask, value) pairs over the low 32 bits; the kernel refuses 64
 * and up itself (AF_MAX is below 64). */
static const uint32_t high_families[][2] = {
	{0xffffffffu, 0x11}, {0xfffffffeu, 0x12}, {0xfffffffcu, 0x14}, {0xfffffff8u, 0x18}, {0xffffffe0u, 0x20},
};

#define LOW32 0xffffffffu

static int rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp,
		const char *what, struct cordon_error **err)
{
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (rc < 0)
		return cerr_sys(err, -rc, "seccomp rule for %s", what);
	return 0;
}

/* With the observer, a denied call goes to the supervisor, which answers with the same errno (the
 * observer's table, lx_denied_calls, says which) and records the denial: never a CONTINUE. */
static uint32_t deny(bool observe, int e)
{
	return observe ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO((uint32_t)e);
}

static int add_denials(scmp_filter_ctx ctx, bool observe, struct cordon_error **err)
{
	for (int i = 0; denied[i]; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr != __NR_SCMP_ERROR && nr >= 0 && rule(ctx, deny(observe, EPERM), nr, 0, NULL, denied[i], err) < 0)
			return -1;
	}
	/* The calls answered as missing stay an ENOSYS in the filter, observed or not: glibc tries
	 * clone3 before every fork, libuv (node) probes io_uring at start, and both fall back. A
	 * compatibility answer, not a denial worth a record, a line on stderr and a round trip. */
	for (int i = 0; missing[i]; i++) {
		int nr = seccomp_syscall_resolve_name(missing[i]);
		if (nr != __NR_SCMP_ERROR && nr >= 0 && rule(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0, NULL, missing[i], err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(ns_flags); i++) {
		struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
		if (rule(ctx, deny(observe, EPERM), SCMP_SYS(unshare), 1, &c, "unshare", err) < 0)
			return -1;
		/* In clone(), the low byte is the exit signal and 0x80 belongs to it, not CLONE_NEWTIME. */
		if (ns_flags[i] != CLONE_NEWTIME &&
		    rule(ctx, deny(observe, EPERM), SCMP_SYS(clone), 1, &c, "clone", err) < 0)
			return -1;
	}
	static const unsigned long ioctls[] = {TIOCSTI, TIOCLINUX};
	for (size_t i = 0; i < ARRAY_LEN(ioctls); i++) {
		struct scmp_arg_cmp c = SCMP_A1_64(SCMP_CMP_MASKED_EQ, LOW32, (uint32_t)ioctls[i]);
		if (rule(ctx, deny(observe, EPERM), SCMP_SYS(ioctl), 1, &c, "ioctl", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(high_families); i++) {
		struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_MASKED_EQ, high_families[i][0], high_families[i][1]);
		if (rule(ctx, deny(observe, EAFNOSUPPORT), SCMP_SYS(socket), 1, &c, "socket", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(denied_families); i++) {
		struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_MASKED_EQ, LOW32, (uint32_t)denied_families[i]);
		if (rule(ctx, deny(observe, EAFNOSUPPORT), SCMP_SYS(socket), 1, &c, "socket", err) < 0)
			return -1;
	}
	return 0;
}

/* The calls that create, remove or rename a directory entry go to the protected-names broker.
 * open and openat only when O_CREAT is set (compared as 32-bit: flags is an int), so that the
 * common read-only open never leaves the kernel. */
static int add_broker_rules(scmp_filter_ctx ctx, bool opens, struct cordon_error **err)
{
	static const char *const always[] = {"mkdir", "mkdirat", "creat", "mknod", "mknodat", "symlink",
					     "symlinkat", "link", "linkat", "rename", "renameat", "renameat2",
					     "unlink", "unlinkat", "rmdir", "openat2", "bind", NULL};
	for (int i = 0; always[i]; i++) {
		int nr = seccomp_syscall_resolve_name(always[i]);
		if (nr >= 0 && rule(ctx, SCMP_ACT_NOTIFY, nr, 0, NULL, always[i], err) < 0)
			return -1;
	}
	if (!opens)
		return 0;
	struct scmp_arg_cmp open_creat = SCMP_A1_64(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT);
	struct scmp_arg_cmp openat_creat = SCMP_A2_64(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT);
	if (rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(open), 1, &open_creat, "open", err) < 0 ||
	    rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 1, &openat_creat, "openat", err) < 0)
		return -1;
	return 0;
}

int lx_seccomp_emit_denied(FILE *out)
{
	size_t n = 0;
	fprintf(out, "const struct lx_denied_call lx_denied_calls[] = {\n");
	for (int i = 0; denied[i]; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue;
		fprintf(out, "\t{%d, %d, \"%s\"},\n", nr, EPERM, denied[i]);
		n++;
	}
	fprintf(out, "};\nconst size_t lx_denied_calls_n = %zu;\n\n", n);
	return ferror(out) ? -1 : 0;
}

/*
 * The observer's extra rules: every call that could write through a path (open and openat with any
 * of O_WRONLY, O_RDWR, O_TRUNC; attribute and time changes; truncate), and connect(). With `reads`,
 * every open as well (the deny-read paths' denials are then recorded).
 */
static int add_observer_rules(scmp_filter_ctx ctx, bool reads, struct cordon_error **err)
{
	static const char *const always[] = {"truncate", "chmod", "fchmodat", "fchmodat2", "chown", "lchown",
					     "fchownat", "utime", "utimes", "futimesat", "utimensat", "setxattr",
					     "lsetxattr", "removexattr", "lremovexattr", "connect", NULL};
	for (int i = 0; always[i]; i++) {
		int nr = seccomp_syscall_resolve_name(always[i]);
		if (nr >= 0 && rule(ctx, SCMP_ACT_NOTIFY, nr, 0, NULL, always[i], err) < 0)
			return -1;
	}
	if (reads)
		return rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(open), 0, NULL, "open", err) < 0 ||
				       rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 0, NULL, "openat", err) < 0
			       ? -1
			       : 0;
	static const int write_bits[] = {O_WRONLY, O_RDWR, O_TRUNC};
	for (size_t i = 0; i < ARRAY_LEN(write_bits); i++) {
		struct scmp_arg_cmp o = SCMP_A1_64(SCMP_CMP_MASKED_EQ, (uint32_t)write_bits[i], (uint32_t)write_bits[i]);
		struct scmp_arg_cmp oa = SCMP_A2_64(SCMP_CMP_MASKED_EQ, (uint32_t)write_bits[i], (uint32_t)write_bits[i]);
		if (rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(open), 1, &o, "open", err) < 0 ||
		    rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 1, &oa, "openat", err) < 0)
			return -1;
	}
	return 0;
}

int lx_seccomp_rules(scmp_filter_ctx ctx, enum lx_filter variant, struct cordon_error **err)
{
	int rc;
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0)
		return cerr_sys(err, -rc, "configure the seccomp filter");
	bool observe = variant == LX_FILTER_OBSERVE || variant == LX_FILTER_OBSERVE_READS;
	if (add_denials(ctx, observe, err) < 0)
		return -1;
	if (variant == LX_FILTER_OBSERVE_READS && add_observer_rules(ctx, true, err) < 0)
		return -1;
	/* The broker's open/openat rules are covered by the unconditional ones with reads. */
	if (variant != LX_FILTER_PLAIN && add_broker_rules(ctx, variant != LX_FILTER_OBSERVE_READS, err) < 0)
		return -1;
	return variant == LX_FILTER_OBSERVE ? add_observer_rules(ctx, false, err) : 0;
}

int lx_seccomp_export(enum lx_filter variant, unsigned char **bpf, size_t *len, struct cordon_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return cerr_set(err, ENOMEM, "seccomp_init failed");
	int rc = lx_seccomp_rules(ctx, variant, err);
	FILE *f = NULL;
	char *buf = NULL;
	size_t n = 0;
	if (rc == 0 && !(f = open_memstream(&buf, &n)))
		rc = cerr_sys(err, errno, "open_memstream");
	/* libseccomp 2.5 exports to an fd only: a pipe would block on a large program, a memfd does not. */
	int fd = rc == 0 ? memfd_create("seccomp-bpf", MFD_CLOEXEC) : -1;
	if (rc == 0 && fd < 0)
		rc = cerr_sys(err, errno, "memfd_create");
	int e;
	if (rc == 0 && (e = seccomp_export_bpf(ctx, fd)) < 0)
		rc = cerr_sys(err, -e, "export the seccomp filter");
	if (rc == 0) {
		char chunk[4096];
		ssize_t got;
		lseek(fd, 0, SEEK_SET);
		while ((got = read(fd, chunk, sizeof(chunk))) > 0)
			fwrite(chunk, 1, (size_t)got, f);
	}
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	if (rc < 0) {
		free(buf);
		return -1;
	}
	*bpf = (unsigned char *)buf;
	*len = n;
	return 0;
}
