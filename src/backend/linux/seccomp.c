// SPDX-License-Identifier: Apache-2.0
/*
 * Loads cordon's seccomp filter: a BPF program that libseccomp generated at build time from the rules
 * in seccomp_rules.c (see seccomp_gen.c, and the unit test that rebuilds it and compares). Two
 * variants: with the protected-names broker's NOTIFY rules, then loaded with a listener, or without.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/linux/linux.h"
#include "common/error.h"

int lx_seccomp_apply(const struct plan *plan, int *notify_fd, struct cordon_error **err)
{
	*notify_fd = -1;
	bool broker = plan->fs_restricted && plan->nguarded > 0;
	size_t len = broker ? lx_filter_broker_len : lx_filter_plain_len;
	struct sock_fprog prog = {
		.len = (unsigned short)(len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)(broker ? lx_filter_broker : lx_filter_plain),
	};
	if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return cerr_set(err, EINVAL, "the built-in seccomp program is malformed (%zu bytes)", len);
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, broker ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
	if (rc < 0) {
		cerr_sys(err, errno, "load the seccomp filter");
		return broker ? cerr_hint(err, "protected names need seccomp user notification (Linux 5.0+)") : -1;
	}
	if (broker)
		*notify_fd = (int)rc;
	/* Check that it took effect before trusting it. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
		return cerr_set(err, EPERM, "the seccomp filter did not take effect");
	return 0;
}
