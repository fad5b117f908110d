// SPDX-License-Identifier: Apache-2.0
/*
 * Loads cordon's seccomp filter: a BPF program that libseccomp generated at build time from the rules
 * in seccomp_rules.c (see seccomp_gen.c, and the unit test that rebuilds it and compares). Every
 * variant but the plain one has NOTIFY rules, and is loaded with a listener (filter.h).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/error.h"

int lx_seccomp_apply(enum lx_filter variant, int *notify_fd, struct cordon_error **err)
{
	*notify_fd = -1;
	bool broker = variant != LX_FILTER_PLAIN;
	size_t len = lx_filters[variant].len;
	struct sock_fprog prog = {
		.len = (unsigned short)(len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)lx_filters[variant].bpf,
	};
	if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return cerr_set(err, EINVAL, "the built-in seccomp program is malformed (%zu bytes)", len);
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, broker ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
	if (rc < 0) {
		cerr_sys(err, errno, "load the seccomp filter");
		return broker ? cerr_hint(err, "protected names and the audit observer need seccomp user notification "
					       "(Linux 5.0+)")
			      : -1;
	}
	if (broker)
		*notify_fd = (int)rc;
	/* Check that it took effect before trusting it. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
		return cerr_set(err, EPERM, "the seccomp filter did not take effect");
	return 0;
}
