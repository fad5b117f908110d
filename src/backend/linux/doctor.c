// SPDX-License-Identifier: Apache-2.0
/*
 * `cordon doctor`: probes every kernel feature cordon uses, once, each in a throwaway child process,
 * and says which guarantees hold on this machine and what to do about those that do not.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "backend/linux/nft.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "build-config.h"

enum feat {
	F_USERNS, F_MNTNS, F_PIDNS, F_NETNS, F_MOUNT_SETATTR, F_OPENAT2, F_LANDLOCK, F_LANDLOCK_SCOPES,
	F_SECCOMP, F_SECCOMP_NOTIFY, F_OVERLAY_USERNS, F_CGROUP2, F_NFT_USERNS, F_COUNT
};

struct feature {
	const char *name;
	bool ok;
	char detail[200];
	const char *hint;
};

/* Runs fn in a child and returns its exit code (0: the feature works, else an errno). */
static int in_child(int (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(fn());
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return EIO;
	return WEXITSTATUS(st);
}

static int enter_userns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	char map[64];
	snprintf(map, sizeof(map), "%u %u 1\n", uid, uid);
	if (lx_write_text(AT_FDCWD, "/proc/self/setgroups", "deny") < 0 ||
	    lx_write_text(AT_FDCWD, "/proc/self/uid_map", map) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", gid, gid);
	return lx_write_text(AT_FDCWD, "/proc/self/gid_map", map);
}

static int probe_userns(void) { return unshare(CLONE_NEWUSER) < 0 ? errno : 0; }
static int probe_mntns(void) { return enter_userns() < 0 || unshare(CLONE_NEWNS) < 0 ? errno : 0; }
static int probe_pidns(void) { return enter_userns() < 0 || unshare(CLONE_NEWPID) < 0 ? errno : 0; }
static int probe_netns(void) { return enter_userns() < 0 || unshare(CLONE_NEWNET) < 0 ? errno : 0; }

/* What --network proxy's transparent mode does in init: the route and the nftables rules. */
static int probe_nft(void)
{
	struct cordon_error *err = NULL;
	if (enter_userns() < 0 || unshare(CLONE_NEWNET) < 0 || lx_loopback_up(&err) < 0)
		return errno ? errno : EIO;
	struct lx_transparent t = {.tcp_port = 3129, .dns_port = 53};
	int rc = lx_transparent_setup(&t, &err) < 0 ? (err && err->code ? err->code : EIO) : 0;
	cordon_error_free(err);
	return rc;
}

static int probe_mount_setattr(void)
{
	if (enter_userns() < 0 || unshare(CLONE_NEWNS) < 0)
		return errno;
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 || mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0)
		return errno;
	return lx_mount_setattr_rec(AT_FDCWD, "/tmp", MOUNT_ATTR_RDONLY, 0) < 0 ? errno : 0;
}

static int probe_openat2(void)
{
	int fd = lx_open_beneath(AT_FDCWD, "/", O_PATH, true);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int probe_seccomp_notify(void)
{
	struct seccomp_notif_sizes sz;
	return syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0 ? errno : 0;
}

static int probe_overlay(void)
{
	if (enter_userns() < 0 || unshare(CLONE_NEWNS) < 0)
		return errno;
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 || mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0)
		return errno;
	if (mkdir("/tmp/l", 0755) < 0 || mkdir("/tmp/u", 0755) < 0 || mkdir("/tmp/w", 0755) < 0 ||
	    mkdir("/tmp/m", 0755) < 0)
		return errno;
	/* As staged runs mount it: user.overlay.* xattrs, which an unprivileged mount may write. */
	return mount("overlay", "/tmp/m", "overlay", 0, "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w,userxattr") < 0
		       ? errno
		       : 0;
}

static void set(struct feature *f, int rc, const char *ok_detail, const char *hint)
{
	f->ok = rc == 0;
	if (rc == 0)
		snprintf(f->detail, sizeof(f->detail), "%s", ok_detail);
	else
		snprintf(f->detail, sizeof(f->detail), "%s", strerror(rc));
	f->hint = rc == 0 ? NULL : hint;
}

static const char *userns_hint(void)
{
	FILE *f = fopen("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "re");
	int v = 0;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	if (v == 1)
		return "AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+): run `sudo cordon setup`, which "
		       "installs an AppArmor profile that allows them for cordon only";
	return "allow unprivileged user namespaces: `sysctl -w kernel.unprivileged_userns_clone=1` (Debian before "
	       "11) and `sysctl -w user.max_user_namespaces=15000`";
}

static void probe_all(struct feature *f)
{
	static const char *const names[F_COUNT] = {
		"user namespaces", "mount namespaces", "pid namespaces", "network namespaces", "mount_setattr",
		"openat2", "landlock", "landlock scopes", "seccomp filter", "seccomp user notification",
		"overlayfs in a user namespace", "cgroup v2", "nftables in a user namespace",
	};
	for (int i = 0; i < F_COUNT; i++)
		f[i].name = names[i];
	set(&f[F_USERNS], in_child(probe_userns), "unprivileged", userns_hint());
	set(&f[F_MNTNS], in_child(probe_mntns), "available", userns_hint());
	set(&f[F_PIDNS], in_child(probe_pidns), "available", userns_hint());
	set(&f[F_NETNS], in_child(probe_netns), "available", userns_hint());
	set(&f[F_MOUNT_SETATTR], in_child(probe_mount_setattr), "recursive read-only binds",
	    "needs Linux 5.12 or later");
	set(&f[F_OPENAT2], in_child(probe_openat2), "RESOLVE_BENEATH", "needs Linux 5.6 or later");
	int abi = lx_landlock_abi();
	char d[64];
	snprintf(d, sizeof(d), "ABI %d", abi);
	set(&f[F_LANDLOCK], abi >= 1 ? 0 : ENOSYS, d,
	    "enable Landlock: CONFIG_SECURITY_LANDLOCK=y and `lsm=landlock,...` on the kernel command line");
	set(&f[F_LANDLOCK_SCOPES], abi >= 6 ? 0 : ENOSYS, "abstract unix sockets and signals",
	    "Linux 6.12 or later adds a second layer for abstract sockets and signals (namespaces still hold)");
	set(&f[F_SECCOMP], prctl(PR_GET_SECCOMP) < 0 ? errno : 0, "available", "needs CONFIG_SECCOMP_FILTER=y");
	set(&f[F_SECCOMP_NOTIFY], in_child(probe_seccomp_notify), "available", "needs Linux 5.0 or later");
	set(&f[F_OVERLAY_USERNS], in_child(probe_overlay), "available",
	    "staged sessions need Linux 5.11 or later (overlayfs in user namespaces)");
	set(&f[F_NFT_USERNS], in_child(probe_nft), "transparent proxy",
	    "--network proxy still works for programs that use the proxy variables; the others need "
	    "CONFIG_NF_TABLES, CONFIG_NFT_NAT and CONFIG_NFT_REDIR to reach allowed hosts");
	struct stat st;
	set(&f[F_CGROUP2], stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0 ? 0 : ENOENT, "unified hierarchy",
	    "--memory and --max-procs for the whole sandbox need cgroup v2 (systemd.unified_cgroup_hierarchy=1)");
}

struct guarantee {
	const char *name;
	enum feat need[4];
	int nneed;
	const char *layers;
	bool opt_in; /* asked for by a flag (not in the default policy): does not decide the verdict */
};

static const struct guarantee guarantees[] = {
	{"writes only inside writable roots", {F_USERNS, F_MNTNS, F_MOUNT_SETATTR, F_OPENAT2}, 4,
	 "mount namespace (recursive read-only) + Landlock", false},
	{"second write layer (Landlock)", {F_LANDLOCK}, 1, "Landlock", false},
	{"protected names, also ones that do not exist yet", {F_MNTNS, F_SECCOMP_NOTIFY}, 2,
	 "read-only binds + seccomp user-notification broker + inotify backstop", false},
	{"deny-read paths hidden", {F_MNTNS, F_LANDLOCK}, 2, "mount namespace + Landlock on reads", false},
	{"network off", {F_NETNS}, 1, "network namespace + Landlock scope + seccomp socket families", false},
	{"network allowlist (--network proxy)", {F_NETNS}, 1,
	 "network namespace; out only through cordon's proxy, which checks every destination", false},
	{"no process outlives the command", {F_PIDNS}, 1, "pid namespace + PR_SET_PDEATHSIG", false},
	{"no privilege gain", {F_SECCOMP}, 1, "capabilities dropped, securebits, no_new_privs, seccomp", false},
	{"audit: denials known, the log out of the sandbox's reach", {F_MNTNS, F_SECCOMP_NOTIFY}, 2,
	 "seccomp user-notification observer + the log read-only in the view", false},
	{"staged sessions (--staged): writes held until committed", {F_MNTNS, F_OVERLAY_USERNS}, 2,
	 "overlayfs over each writable root, its upper layer in the session; journaled commit", true},
};

int lx_doctor(bool json)
{
	struct feature f[F_COUNT] = {0};
	probe_all(f);
	bool all_ok = true;
	struct utsname u;
	uname(&u);
	json_t *root = json ? json_object() : NULL;
	json_t *jf = json ? json_array() : NULL, *jg = json ? json_array() : NULL;
	if (!json)
		printf("cordon %s on Linux %s (%s), uid %u\n\nkernel features:\n", CORDON_VERSION, u.release,
		       u.machine, getuid());
	for (int i = 0; i < F_COUNT; i++) {
		if (json)
			json_array_append_new(jf, json_pack("{s:s, s:b, s:s, s:s?}", "name", f[i].name, "ok", f[i].ok,
							     "detail", f[i].detail, "hint", f[i].hint));
		else
			printf("  %-4s %-30s %s\n", f[i].ok ? "ok" : "NO", f[i].name, f[i].detail);
	}
	if (!json)
		printf("\nguarantees:\n");
	for (size_t g = 0; g < ARRAY_LEN(guarantees); g++) {
		const struct guarantee *gr = &guarantees[g];
		const char *hint = NULL;
		for (int i = 0; i < gr->nneed && !hint; i++)
			if (!f[gr->need[i]].ok)
				hint = f[gr->need[i]].hint ? f[gr->need[i]].hint : "unavailable";
		all_ok &= hint == NULL || gr->opt_in;
		if (json)
			json_array_append_new(jg, json_pack("{s:s, s:b, s:s, s:s?}", "name", gr->name, "holds",
							     hint == NULL, "layers", gr->layers, "hint", hint));
		else {
			printf("  %-5s %s (%s)\n", hint ? "NO" : "holds", gr->name, gr->layers);
			if (hint)
				printf("        what to do: %s\n", hint);
		}
	}
	if (json) {
		json_object_set_new(root, "version", json_string(CORDON_VERSION));
		json_object_set_new(root, "kernel", json_string(u.release));
		json_object_set_new(root, "landlock_abi", json_integer(lx_landlock_abi()));
		json_object_set_new(root, "features", jf);
		json_object_set_new(root, "guarantees", jg);
		json_object_set_new(root, "default_policy_enforceable", json_boolean(all_ok));
		char *s = json_dumps(root, JSON_INDENT(2));
		printf("%s\n", s ? s : "{}");
		free(s);
		json_decref(root);
	} else {
		printf("\n%s\n", all_ok ? "The default policy can be enforced on this machine."
					: "The default policy can NOT be fully enforced here; `cordon run` refuses what it "
					  "cannot enforce (exit 125) unless --allow-degraded is given.");
	}
	return all_ok ? 0 : 1;
}
