// SPDX-License-Identifier: Apache-2.0
/* The command's environment: which names look secret, and how env_build layers the sources. */
#include "unit.h"

#include "core/env.h"
#include "core/policy.h"

static bool secret(const char *name)
{
	return env_name_is_secret(name, strlen(name));
}

static void test_secret_names(void **state)
{
	(void)state;
	static const char *const yes[] = {
		"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "DB_PASSWORD", "SSH_AUTH_SOCK",
		"my_private_key", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AZURE_CLIENT_SECRET", "GCP_PROJECT",
		"GOOGLE_APPLICATION_CREDENTIALS", "NPM_TOKEN", "github_token", "PGPASSWORD", "MYSQL_PWD_PASSWD",
		"ANTHROPIC_APIKEY", "GPG_AGENT_INFO", "SSH_AGENT_PID", "STRIPE_KEY", "X_KEY", "_KEY",
		"CLIENT_CREDENTIALS", "HTTP_AUTHORIZATION", "Vault_Token", "NPM_CONFIG__AUTH", "GH_AUTH_TOKEN",
		"HTTP_AUTH_HEADER", "SESSION_COOKIE", "MYSQL_PWD", "GITHUB_PAT", "GPG_PASSPHRASE", "SSH_KEY_PASSPHRASE",
	};
	static const char *const no[] = {
		"PATH", "HOME", "KEYBOARD", "TERM", "LANG", "USER", "SHELL", "PWD", "LC_ALL", "TMPDIR",
		"XKB_DEFAULT_LAYOUT", "KEY", "KEYS", "MONKEY", "KEY_REPEAT", "EDITOR", "CC", "", "SSH_TTY",
		"DISPLAY", "GOPATH", "CARGO_HOME", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
		"XAUTHORITY", "OAUTHLIB_INSECURE_TRANSPORT", "OLDPWD", "PATH_PAT_LIKE", "GOPATH",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!secret(yes[i]))
			fail_msg("`%s` not treated as secret", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (secret(no[i]))
			fail_msg("`%s` treated as secret", no[i]);
}

static void test_secret_name_length(void **state)
{
	(void)state;
	/* Only `len` bytes are the name: "PATH=x_TOKEN" with len 4 is PATH. */
	assert_false(env_name_is_secret("PATH=x_TOKEN", 4));
	assert_true(env_name_is_secret("GH_TOKEN=abc", 8));
	/* A name too long to inspect (256 bytes or more) is dropped rather than trusted. */
	char big[400];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(secret(big));
	big[256] = '\0';
	assert_true(secret(big));
	big[255] = '\0';
	assert_false(secret(big));
}

/* Returns the value of name in out, or NULL. */
static const char *lookup(const struct strv *out, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < out->n; i++)
		if (strncmp(out->v[i], name, n) == 0 && out->v[i][n] == '=')
			return out->v[i] + n + 1;
	return NULL;
}

static size_t count_name(const struct strv *out, const char *name)
{
	size_t n = strlen(name), c = 0;
	for (size_t i = 0; i < out->n; i++)
		c += strncmp(out->v[i], name, n) == 0 && out->v[i][n] == '=';
	return c;
}

static char *const inherited[] = {
	"PATH=/usr/bin:/bin",
	"HOME=/home/u",
	"GITHUB_TOKEN=ghp_secret",
	"AWS_SECRET_ACCESS_KEY=aws_secret",
	"OPENAI_API_KEY=sk-secret",
	"SSH_AUTH_SOCK=/run/user/1000/ssh",
	"LANG=C.UTF-8",
	"TMPDIR=/host/tmp",
	"NOEQUALS",
	"=novalue",
	NULL,
};

static void test_build_drops_secrets(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	struct strv out = {0};
	assert_int_equal(env_build(&p, inherited, NULL, &out), 0);
	assert_string_equal(lookup(&out, "PATH"), "/usr/bin:/bin");
	assert_string_equal(lookup(&out, "HOME"), "/home/u");
	assert_string_equal(lookup(&out, "LANG"), "C.UTF-8");
	assert_string_equal(lookup(&out, "TMPDIR"), "/host/tmp");
	assert_null(lookup(&out, "GITHUB_TOKEN"));
	assert_null(lookup(&out, "AWS_SECRET_ACCESS_KEY"));
	assert_null(lookup(&out, "OPENAI_API_KEY"));
	assert_null(lookup(&out, "SSH_AUTH_SOCK"));
	/* Entries without a name or without `=` are not passed on. */
	assert_int_equal(out.n, 4);
	for (size_t i = 0; i < out.n; i++) {
		assert_null(strstr(out.v[i], "secret"));
		assert_non_null(strchr(out.v[i], '='));
		assert_true(out.v[i][0] != '=');
	}
	assert_null(out.v[out.n]);
	strv_clear(&out);
	policy_release(&p);
}

static void test_build_keep(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	assert_int_equal(policy_add_env_keep(&p, "GITHUB_TOKEN", NULL), 0);
	/* A prefix of a kept name does not keep a longer name, nor the reverse. */
	assert_int_equal(policy_add_env_keep(&p, "OPENAI_API", NULL), 0);
	struct strv out = {0};
	assert_int_equal(env_build(&p, inherited, NULL, &out), 0);
	assert_string_equal(lookup(&out, "GITHUB_TOKEN"), "ghp_secret");
	assert_null(lookup(&out, "OPENAI_API_KEY"));
	assert_null(lookup(&out, "AWS_SECRET_ACCESS_KEY"));
	assert_string_equal(lookup(&out, "PATH"), "/usr/bin:/bin");
	assert_int_equal(out.n, 5);
	strv_clear(&out);
	policy_release(&p);
}

static void test_build_clear(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	p.env_clear = true;
	struct strv out = {0};
	assert_int_equal(env_build(&p, inherited, NULL, &out), 0);
	assert_int_equal(out.n, 0);
	strv_clear(&out);

	/* --env-clear with --env-keep: only the kept names, secret or not. */
	assert_int_equal(policy_add_env_keep(&p, "PATH", NULL), 0);
	assert_int_equal(policy_add_env_keep(&p, "GITHUB_TOKEN", NULL), 0);
	assert_int_equal(policy_add_env_keep(&p, "NOT_THERE", NULL), 0);
	assert_int_equal(env_build(&p, inherited, NULL, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(lookup(&out, "PATH"), "/usr/bin:/bin");
	assert_string_equal(lookup(&out, "GITHUB_TOKEN"), "ghp_secret");
	assert_null(lookup(&out, "HOME"));
	assert_null(lookup(&out, "NOT_THERE"));
	strv_clear(&out);

	/* No inherited environment at all. */
	assert_int_equal(env_build(&p, NULL, NULL, &out), 0);
	assert_int_equal(out.n, 0);
	strv_clear(&out);
	policy_release(&p);
}

static void test_build_set_and_forced(void **state)
{
	(void)state;
	struct cordon_policy p;
	policy_init(&p);
	assert_int_equal(policy_add_env_set(&p, "LANG=fr_FR.UTF-8", NULL), 0);
	assert_int_equal(policy_add_env_set(&p, "NEW=1", NULL), 0);
	assert_int_equal(policy_add_env_set(&p, "NEW=2", NULL), 0);
	/* --env may set a secret-looking name explicitly: it is the user's choice. */
	assert_int_equal(policy_add_env_set(&p, "API_TOKEN=given", NULL), 0);
	assert_int_equal(policy_add_env_set(&p, "TMPDIR=/mine", NULL), 0);
	static const char *const forced[] = {"TMPDIR=/tmp", "NEW=forced", NULL};
	struct strv out = {0};
	assert_int_equal(env_build(&p, inherited, forced, &out), 0);
	assert_string_equal(lookup(&out, "LANG"), "fr_FR.UTF-8"); /* --env overrides inherited */
	assert_string_equal(lookup(&out, "API_TOKEN"), "given");
	assert_string_equal(lookup(&out, "TMPDIR"), "/tmp");      /* forced overrides all */
	assert_string_equal(lookup(&out, "NEW"), "forced");
	assert_string_equal(lookup(&out, "PATH"), "/usr/bin:/bin");
	/* Each name appears once. */
	assert_int_equal(count_name(&out, "LANG"), 1);
	assert_int_equal(count_name(&out, "NEW"), 1);
	assert_int_equal(count_name(&out, "TMPDIR"), 1);
	assert_null(lookup(&out, "GITHUB_TOKEN"));
	strv_clear(&out);

	/* With --env-clear, the set and forced values still arrive. */
	p.env_clear = true;
	assert_int_equal(env_build(&p, inherited, forced, &out), 0);
	assert_int_equal(out.n, 4);
	assert_string_equal(lookup(&out, "LANG"), "fr_FR.UTF-8");
	assert_string_equal(lookup(&out, "TMPDIR"), "/tmp");
	assert_null(lookup(&out, "PATH"));
	strv_clear(&out);
	policy_release(&p);
}

static void test_build_inherited_duplicates(void **state)
{
	(void)state;
	/* execve allows a name twice; the command sees one, the last. */
	char *const dup[] = {"A=1", "B=2", "A=3", NULL};
	struct cordon_policy p;
	policy_init(&p);
	struct strv out = {0};
	assert_int_equal(env_build(&p, dup, NULL, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(lookup(&out, "A"), "3");
	/* A name that is a prefix of another is a different name. */
	char *const prefix[] = {"AB=1", "A=2", NULL};
	strv_clear(&out);
	assert_int_equal(env_build(&p, prefix, NULL, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(lookup(&out, "AB"), "1");
	assert_string_equal(lookup(&out, "A"), "2");
	strv_clear(&out);
	policy_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_names),
		cmocka_unit_test(test_secret_name_length),
		cmocka_unit_test(test_build_drops_secrets),
		cmocka_unit_test(test_build_keep),
		cmocka_unit_test(test_build_clear),
		cmocka_unit_test(test_build_set_and_forced),
		cmocka_unit_test(test_build_inherited_duplicates),
	};
	return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
