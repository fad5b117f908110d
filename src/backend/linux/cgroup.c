// SPDX-License-Identifier: Apache-2.0
/*
 * Limits for the whole sandbox (--memory, --max-procs) need a cgroup: rlimits count per process (or,
 * for RLIMIT_NPROC, per user, and not at all for root). The supervisor makes a cgroup for the run and
 * puts the sandbox init in it before init starts the command, so every descendant is inside.
 *
 * cgroup v2 is used where our own cgroup is writable and offers the controller (root, or a systemd
 * delegated subtree); else cgroup v1's per-controller hierarchies (root). Where neither works the
 * caller decides: --max-procs falls back to RLIMIT_NPROC inside the user namespace for a non-root
 * user (counted per namespace, so exact), --memory refuses unless --allow-degraded.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"

#define V2_ROOT "/sys/fs/cgroup"
/* Room for a cgroup path plus a file name; a cgroup path longer than PATH_MAX is refused. */
#define CG_PATH (PATH_MAX + 256)

static int write_str(const char *dir, const char *file, const char *val)
{
	char path[CG_PATH + 64];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -1;
	return lx_write_text(AT_FDCWD, path, val);
}

/* Our own cgroup in the hierarchy whose /proc/self/cgroup line starts with `prefix` ("0::" for v2,
 * "N:memory:" for v1's memory...). */
static int own_cgroup(const char *controller, char *out, size_t cap)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[CG_PATH];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match = controller ? (strcmp(c1 + 1, controller) == 0 || strstr(c1 + 1, controller) != NULL)
					: (strcmp(line, "0") == 0 && c1[1] == '\0');
		if (match) {
			snprintf(out, cap, "%s", c2 + 1);
			return 0;
		}
	}
	return -1;
}

static bool v2_has(const char *dir, const char *controller)
{
	char path[CG_PATH + 64], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		return false;
	for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, controller) == 0)
			return true;
	return false;
}

struct cg_run {
	char dirs[2][CG_PATH]; /* one for v2; memory and pids for v1 */
	int n;
};

/* The pid a directory named "cordon-PID" or "cordon-supervisor-PID" was made for, or 0. */
static pid_t owner_of(const char *name)
{
	const char *p = strncmp(name, "cordon-supervisor-", 18) == 0 ? name + 18
			: strncmp(name, "cordon-", 7) == 0	       ? name + 7
								       : NULL;
	if (!p || *p < '1' || *p > '9')
		return 0;
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	return *end || errno || v > INT_MAX ? 0 : (pid_t)v;
}

/* Whether `pid` is a process that has not ended: a zombie has (its parent died with the daemon, and
 * init has not reaped it yet). */
static bool running(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return true; /* /proc unreadable or hidden (hidepid), or gone just now: a later run sees */
	buf[n] = '\0';
	const char *st = strrchr(buf, ')'); /* "PID (COMM) STATE ...": COMM may hold anything */
	return !(st && st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X'));
}

/* Removes what runs killed before their cleanup left in `parent` (a supervisor SIGKILLed, e.g.
 * with the daemon that forked it): directories named for a pid that is gone. rmdir removes only
 * an empty cgroup, so one still in use stays whatever its name says. */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t pid = owner_of(e->d_name);
		if (e->d_type != DT_DIR || pid <= 0 || pid == getpid() || running(pid))
			continue;
		char path[CG_PATH + 256];
		if (snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) < (int)sizeof(path))
			rmdir(path);
	}
	closedir(d);
}

static int make_dir(struct cg_run *cg, const char *base, const char *rel)
{
	char dir[CG_PATH];
	char parent[CG_PATH];
	if (snprintf(parent, sizeof(parent), "%s%s", base, strcmp(rel, "/") ? rel : "") < (int)sizeof(parent))
		sweep_stale(parent);
	if (snprintf(dir, sizeof(dir), "%s%s/cordon-%d", base, strcmp(rel, "/") ? rel : "", getpid()) >= (int)sizeof(dir))
		return -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	memcpy(cg->dirs[cg->n++], dir, sizeof(dir));
	return 0;
}

static int try_v2(struct cg_run *cg, uint64_t mem, uint64_t procs)
{
	char rel[PATH_MAX], base[CG_PATH];
	if (own_cgroup(NULL, rel, sizeof(rel)) < 0)
		return -1;
	snprintf(base, sizeof(base), V2_ROOT "%s", strcmp(rel, "/") ? rel : "");
	if ((mem && !v2_has(base, "memory")) || (procs && !v2_has(base, "pids")))
		return -1;
	char ctl[64];
	snprintf(ctl, sizeof(ctl), "%s%s", mem ? "+memory " : "", procs ? "+pids" : "");
	if (write_str(base, "cgroup.subtree_control", ctl) < 0 && errno == EBUSY) {
		/* cgroup v2 enables controllers for children only when the cgroup itself holds no process,
		 * and cordon is in it (e.g. a `systemd-run --scope -p Delegate=yes` scope): move cordon
		 * into a leaf of its own first. The leaf stays after the run (cordon is in it till it exits);
		 * a later run removes it (sweep_stale). */
		char leaf[CG_PATH + 32], pid[32];
		snprintf(leaf, sizeof(leaf), "%s/cordon-supervisor-%d", base, getpid());
		snprintf(pid, sizeof(pid), "%d", getpid());
		if ((mkdir(leaf, 0755) < 0 && errno != EEXIST) || write_str(leaf, "cgroup.procs", pid) < 0 ||
		    write_str(base, "cgroup.subtree_control", ctl) < 0)
			return -1;
	}
	if (make_dir(cg, V2_ROOT, rel) < 0)
		return -1;
	char v[32];
	if (mem) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)mem);
		if (write_str(cg->dirs[0], "memory.max", v) < 0)
			return -1;
		write_str(cg->dirs[0], "memory.swap.max", "0");
	}
	if (procs) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)procs);
		if (write_str(cg->dirs[0], "pids.max", v) < 0)
			return -1;
	}
	return 0;
}

static int try_v1(struct cg_run *cg, const char *controller, const char *file, uint64_t value)
{
	char rel[PATH_MAX], base[CG_PATH];
	if (own_cgroup(controller, rel, sizeof(rel)) < 0)
		return -1;
	snprintf(base, sizeof(base), V2_ROOT "/%s", controller);
	if (make_dir(cg, base, rel) < 0)
		return -1;
	char v[32];
	snprintf(v, sizeof(v), "%llu", (unsigned long long)value);
	return write_str(cg->dirs[cg->n - 1], file, v);
}

static void remove_dirs(struct cg_run *cg)
{
	for (int i = 0; i < cg->n; i++)
		rmdir(cg->dirs[i]);
	cg->n = 0;
}

char *lx_cgroup_create(uint64_t mem, uint64_t procs)
{
	struct cg_run cg = {.n = 0};
	if (try_v2(&cg, mem, procs) < 0) {
		remove_dirs(&cg);
		if ((mem && try_v1(&cg, "memory", "memory.limit_in_bytes", mem) < 0) ||
		    (procs && try_v1(&cg, "pids", "pids.max", procs) < 0)) {
			remove_dirs(&cg);
			return NULL;
		}
	}
	/* A list of directories, one a line: what lx_cgroup_enter and lx_cgroup_remove walk. */
	char *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	if (!f) {
		remove_dirs(&cg);
		return NULL;
	}
	for (int i = 0; i < cg.n; i++)
		fprintf(f, "%s\n", cg.dirs[i]);
	fclose(f);
	return list;
}

int lx_cgroup_enter(const char *list, pid_t pid, struct cordon_error **err)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", pid);
	_cleanup_free_ char *copy = strdup(list);
	for (char *save = NULL, *d = copy ? strtok_r(copy, "\n", &save) : NULL; d; d = strtok_r(NULL, "\n", &save))
		if (write_str(d, "cgroup.procs", v) < 0)
			return cerr_sys(err, errno, "move the sandbox into cgroup `%s`", d);
	return copy ? 0 : cerr_set(err, ENOMEM, "out of memory");
}

void lx_cgroup_remove(const char *list)
{
	_cleanup_free_ char *copy = list ? strdup(list) : NULL;
	for (char *save = NULL, *d = copy ? strtok_r(copy, "\n", &save) : NULL; d; d = strtok_r(NULL, "\n", &save)) {
		/* The processes are gone once init is reaped, but the kernel may lag a moment (longer on
		 * a loaded machine after a fork bomb): up to a second. */
		for (int i = 0; i < 500 && rmdir(d) < 0 && errno == EBUSY; i++)
			usleep(2000);
	}
}
