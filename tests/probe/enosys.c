// SPDX-License-Identifier: Apache-2.0
/*
 * enosys SYSCALL[,SYSCALL...] -- COMMAND [ARG...]
 * Runs COMMAND with the named syscalls failing with ENOSYS, as on a kernel without them: the tests
 * use it to check that cordon refuses (or, with --allow-degraded, says it degrades) when a layer it
 * relies on is missing. The pseudo-name `userns` makes clone and unshare with CLONE_NEWUSER fail
 * with EPERM, as where unprivileged user namespaces are disabled, and leaves other clones alone
 * (sanitizer runtimes need them).
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: enosys SYSCALL[,SYSCALL...] -- COMMAND [ARG...]\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return 1;
	char *save = NULL;
	for (char *name = strtok_r(argv[1], ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (strcmp(name, "userns") == 0) {
			struct scmp_arg_cmp c = SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
			if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, c) < 0 ||
			    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1, c) < 0 ||
			    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0)
				return 1;
			continue;
		}
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0) < 0) {
			fprintf(stderr, "enosys: unknown syscall `%s`\n", name);
			return 2;
		}
	}
	if (seccomp_load(ctx) < 0) {
		perror("enosys: seccomp_load");
		return 1;
	}
	seccomp_release(ctx);
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
