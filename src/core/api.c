// SPDX-License-Identifier: Apache-2.0
/* The public builder API of libcordon: thin, validating wrappers over the policy model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "build-config.h"
#include "core/policy.h"

CORDON_EXPORT const char *cordon_version(void)
{
	return CORDON_VERSION;
}

CORDON_EXPORT cordon_policy *cordon_policy_new(void)
{
	cordon_policy *p = malloc(sizeof(*p));
	if (p)
		policy_init(p);
	return p;
}

CORDON_EXPORT void cordon_policy_free(cordon_policy *p)
{
	if (!p)
		return;
	policy_release(p);
	free(p);
}

CORDON_EXPORT int cordon_policy_set_mode(cordon_policy *p, enum cordon_mode mode)
{
	if ((unsigned)mode > CORDON_MODE_FULL_ACCESS)
		return -1;
	p->mode = mode;
	p->set |= PF_MODE;
	return 0;
}

CORDON_EXPORT int cordon_policy_set_network(cordon_policy *p, enum cordon_network net)
{
	if ((unsigned)net > CORDON_NETWORK_PROXY)
		return -1;
	p->network = net;
	p->set |= PF_NETWORK;
	return 0;
}

CORDON_EXPORT int cordon_policy_set_workspace(cordon_policy *p, const char *dir, struct cordon_error **err)
{
	if (!dir || !*dir)
		return cerr_set(err, EINVAL, "workspace: empty path");
	char *d = strdup(dir);
	if (!d)
		return cerr_set(err, ENOMEM, "out of memory");
	free(p->workspace);
	p->workspace = d;
	p->set |= PF_WORKSPACE;
	return 0;
}

CORDON_EXPORT int cordon_policy_add_writable(cordon_policy *p, const char *path, struct cordon_error **err)
{
	return policy_add_path(&p->writable, "--writable", path, err);
}

CORDON_EXPORT int cordon_policy_add_protect(cordon_policy *p, const char *s, struct cordon_error **err)
{
	return policy_add_protect(p, s, err);
}

CORDON_EXPORT int cordon_policy_set_default_protect(cordon_policy *p, bool on)
{
	p->default_protect = on;
	p->set |= PF_DEFAULT_PROTECT;
	return 0;
}

CORDON_EXPORT int cordon_policy_add_deny_read(cordon_policy *p, const char *path, struct cordon_error **err)
{
	return policy_add_path(&p->deny_read, "--deny-read", path, err);
}

CORDON_EXPORT int cordon_policy_set_default_deny_read(cordon_policy *p, bool on)
{
	p->default_deny_read = on;
	p->set |= PF_DEFAULT_DENY_READ;
	return 0;
}

CORDON_EXPORT int cordon_policy_env_set(cordon_policy *p, const char *a, struct cordon_error **err)
{
	return policy_add_env_set(p, a, err);
}

CORDON_EXPORT int cordon_policy_env_keep(cordon_policy *p, const char *name, struct cordon_error **err)
{
	return policy_add_env_keep(p, name, err);
}

CORDON_EXPORT int cordon_policy_allow_host(cordon_policy *p, const char *rule, struct cordon_error **err)
{
	return policy_add_net_rule(p, false, rule, err);
}

CORDON_EXPORT int cordon_policy_deny_host(cordon_policy *p, const char *rule, struct cordon_error **err)
{
	return policy_add_net_rule(p, true, rule, err);
}

CORDON_EXPORT int cordon_policy_env_clear(cordon_policy *p, bool on)
{
	p->env_clear = on;
	p->set |= PF_ENV_CLEAR;
	return 0;
}

CORDON_EXPORT int cordon_policy_set_limit(cordon_policy *p, enum cordon_limit which, uint64_t value)
{
	if ((unsigned)which >= POLICY_NLIMITS)
		return -1;
	p->limits[which] = value;
	p->set |= PF_LIMIT0 << which;
	return 0;
}

CORDON_EXPORT int cordon_policy_allow_degraded(cordon_policy *p, bool on)
{
	p->allow_degraded = on;
	p->set |= PF_ALLOW_DEGRADED;
	return 0;
}
