// SPDX-License-Identifier: Apache-2.0
/*
 * `cordon setup`: the one-time privileged step, kept apart from the unprivileged runner. It changes
 * only what stops unprivileged user namespaces, which `cordon run` needs:
 *   - Ubuntu 23.10+ (AppArmor's kernel.apparmor_restrict_unprivileged_userns = 1): an AppArmor profile
 *     that allows user namespaces for this cordon binary only;
 *   - Debian's kernel.unprivileged_userns_clone = 0, and user.max_user_namespaces = 0: a sysctl.d file.
 * Nothing else on the machine is touched. --dry-run prints what it would do.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/cleanup.h"
#include "common/error.h"

#define APPARMOR_PROFILE "/etc/apparmor.d/cordon"
#define SYSCTL_FILE "/etc/sysctl.d/60-cordon-userns.conf"

static long read_long(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	long v = -1;
	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	return v;
}

static int write_whole(const char *path, const char *text, struct cordon_error **err)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.cordon-new", path);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return cerr_sys(err, errno, "create `%s`", tmp);
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cerr_sys(err, e, "write `%s`", path);
	}
	return 0;
}

static int run_tool(char *const argv[], struct cordon_error **err)
{
	pid_t pid = fork();
	if (pid < 0)
		return cerr_sys(err, errno, "fork");
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return cerr_set(err, EIO, "`%s` failed", argv[0]);
	return 0;
}

static int apparmor_step(bool dry, const char *self, struct cordon_error **err)
{
	char profile[PATH_MAX + 512];
	snprintf(profile, sizeof(profile),
		 "# Written by `cordon setup`: lets this cordon binary create user namespaces, which\n"
		 "# it needs to build its sandbox without privilege. Remove the file to undo.\n"
		 "abi <abi/4.0>,\ninclude <tunables/global>\n\n"
		 "profile cordon %s flags=(unconfined) {\n  userns,\n\n  include if exists <local/cordon>\n}\n",
		 self);
	printf("AppArmor restricts unprivileged user namespaces: %s %s and load it\n",
	       dry ? "would write" : "writing", APPARMOR_PROFILE);
	if (dry) {
		fputs(profile, stdout);
		return 0;
	}
	if (write_whole(APPARMOR_PROFILE, profile, err) < 0)
		return -1;
	char *argv[] = {"/sbin/apparmor_parser", "-r", APPARMOR_PROFILE, NULL};
	return run_tool(argv, err);
}

static int sysctl_step(bool dry, bool clone_off, bool max_zero, struct cordon_error **err)
{
	char text[256] = "# Written by `cordon setup`: unprivileged user namespaces for cordon run.\n";
	if (clone_off)
		strcat(text, "kernel.unprivileged_userns_clone = 1\n");
	if (max_zero)
		strcat(text, "user.max_user_namespaces = 15000\n");
	printf("%s %s:\n%s", dry ? "would write" : "writing", SYSCTL_FILE, text);
	if (dry)
		return 0;
	if (write_whole(SYSCTL_FILE, text, err) < 0)
		return -1;
	/* Apply now as well as at boot. */
	_cleanup_close_ int a = clone_off ? open("/proc/sys/kernel/unprivileged_userns_clone", O_WRONLY | O_CLOEXEC) : -1;
	_cleanup_close_ int b = max_zero ? open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC) : -1;
	if ((a >= 0 && write(a, "1", 1) != 1) || (b >= 0 && write(b, "15000", 5) != 5))
		return cerr_sys(err, errno, "apply the sysctl settings");
	return 0;
}

int lx_setup(bool dry_run, struct cordon_error **err)
{
	bool apparmor = read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1;
	bool clone_off = read_long("/proc/sys/kernel/unprivileged_userns_clone") == 0;
	bool max_zero = read_long("/proc/sys/user/max_user_namespaces") == 0;
	if (!apparmor && !clone_off && !max_zero) {
		printf("nothing to do: unprivileged user namespaces are allowed on this machine\n");
		return 0;
	}
	if (!dry_run && geteuid() != 0) {
		cerr_set(err, EPERM, "setup changes system settings and needs root");
		return cerr_hint(err, "run `sudo cordon setup`, or `cordon setup --dry-run` to see what it would do");
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return cerr_sys(err, errno, "find cordon's own path");
	self[n] = '\0';
	if (apparmor && apparmor_step(dry_run, self, err) < 0)
		return -1;
	if ((clone_off || max_zero) && sysctl_step(dry_run, clone_off, max_zero, err) < 0)
		return -1;
	if (!dry_run)
		printf("done: `cordon doctor` should now report every guarantee\n");
	return 0;
}
