// SPDX-License-Identifier: Apache-2.0
/* Privilege: every capability dropped (also when started as root, whose uid 0 would otherwise regain
 * them on execve), securebits locked, no_new_privs; and the per-process resource limits. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/error.h"

int lx_cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = -1;
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	return last > 0 ? last : 40;
}

int lx_drop_privileges(int cap_last, struct cordon_error **err)
{
	for (int cap = 0; cap <= cap_last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return cerr_sys(err, errno, "drop capability %d from the bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return cerr_sys(err, errno, "clear ambient capabilities");
	/* uid 0 gains nothing on execve, and none of this can be undone. */
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return cerr_sys(err, errno, "lock securebits");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return cerr_sys(err, errno, "drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cerr_sys(err, errno, "set no_new_privs");
	/* Check that it took effect before trusting it. */
	if (syscall(SYS_capget, &hdr, data) < 0 || data[0].effective || data[0].permitted || data[1].effective ||
	    data[1].permitted || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return cerr_set(err, EPERM, "capabilities or no_new_privs did not take effect");
	return 0;
}

static int set_one(int res, uint64_t v, const char *what, struct cordon_error **err)
{
	/* CPU: SIGXCPU at the limit and SIGKILL a second later; with both equal the kernel sends
	 * SIGKILL at once and the command never learns why. */
	struct rlimit rl = {.rlim_cur = (rlim_t)v, .rlim_max = (rlim_t)(res == RLIMIT_CPU ? v + 1 : v)};
	if (setrlimit(res, &rl) < 0)
		return cerr_sys(err, errno, "set %s limit to %llu", what, (unsigned long long)v);
	return 0;
}

int lx_set_rlimits(const struct lx_child *c, struct cordon_error **err)
{
	const struct cordon_policy *p = c->policy;
	/* Counted per user namespace: the processes of this uid inside the sandbox, not the user's others. */
	if (c->nproc_rlimit && set_one(RLIMIT_NPROC, c->nproc_rlimit, "--max-procs", err) < 0)
		return -1;
	if (c->as_rlimit && set_one(RLIMIT_AS, c->as_rlimit, "--memory (per process, degraded)", err) < 0)
		return -1;
	if (p->limits[CORDON_LIMIT_CPU_SECONDS] &&
	    set_one(RLIMIT_CPU, p->limits[CORDON_LIMIT_CPU_SECONDS], "--cpu-seconds", err) < 0)
		return -1;
	if (p->limits[CORDON_LIMIT_FILE_SIZE] &&
	    set_one(RLIMIT_FSIZE, p->limits[CORDON_LIMIT_FILE_SIZE], "--file-size", err) < 0)
		return -1;
	return 0;
}
