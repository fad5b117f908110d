// SPDX-License-Identifier: Apache-2.0
/*
 * The policy -> plan compiler. Resolved policies are built by hand (no file system is touched) and
 * the printed plans compared with golden texts in golden/. After an intended change, run this test
 * with CORDON_UPDATE_GOLDEN=1 to rewrite them, and review the diff.
 */
#include "unit.h"

#include <errno.h>

#include "common/error.h"
#include "compile/plan.h"
#include "core/paths.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must name tests/unit/golden"
#endif

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, 4096, f);
		len += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void check_golden(const char *name, const char *got)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.txt", GOLDEN_DIR, name);
	const char *update = getenv("CORDON_UPDATE_GOLDEN");
	if (update && strcmp(update, "1") == 0) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fputs(got, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		print_message("rewrote %s\n", path);
		return;
	}
	char *want = read_all(path);
	if (!want)
		fail_msg("cannot read golden file %s", path);
	if (strcmp(want, got) != 0) {
		print_error("plan differs from %s\n--- want\n%s--- got\n%s---\n", path, want, got);
		free(want);
		fail_msg("golden mismatch: %s", name);
	}
	free(want);
}

static void push(struct rlist *l, const char *path, enum rkind kind, const char *target)
{
	assert_int_equal(rlist_push(l, path, kind, target), 0);
}

/* Compiles r, which must succeed, and returns the described plan (caller frees). */
static char *compile_describe(const struct resolved *r, struct plan *plan)
{
	struct cordon_error *err = NULL;
	int rc = plan_compile(r, plan, &err);
	if (rc != 0)
		fail_msg("plan_compile: %s", err ? err->message : "(no error)");
	assert_null(err);
	char *text = plan_describe(plan);
	assert_non_null(text);
	return text;
}

/* The ops must be in an order where nothing is mounted before a mount on one of its ancestors, and
 * at one path the writable bind comes before what is layered on top of it. */
static void assert_ancestors_first(const struct plan *plan)
{
	for (size_t i = 0; i < plan->nops; i++)
		for (size_t j = i + 1; j < plan->nops; j++) {
			const struct mount_op *a = &plan->ops[i], *b = &plan->ops[j];
			bool same = strcmp(a->path, b->path) == 0;
			if (!same && path_is_under(a->path, b->path))
				fail_msg("op %zu (%s %s) comes before its ancestor, op %zu (%s %s)", i,
					 mop_kind_name(a->kind), a->path, j, mop_kind_name(b->kind), b->path);
			if (same && a->kind > b->kind)
				fail_msg("at %s, %s comes before %s", a->path, mop_kind_name(a->kind),
					 mop_kind_name(b->kind));
		}
}

/*
 * Workspace-write with everything: an extra writable root, `.git` a directory in the workspace,
 * `.agents` missing, a `.git` symlink in the extra root pointing into the workspace (a git worktree),
 * a deny-read directory and file, the network on with the resolver's directory under /run kept, and
 * two of the host's unix sockets (one inside the workspace) masked.
 */
static void test_golden_workspace_write(void **state)
{
	(void)state;
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	r.network = CORDON_NETWORK_ON;
	r.workspace = strdup("/home/u/proj");
	r.cwd = strdup("/home/u/proj/src");
	push(&r.writable, "/home/u/proj", RK_DIR, NULL);
	push(&r.writable, "/var/cache/build", RK_DIR, NULL);
	push(&r.protect, "/home/u/proj/.git", RK_DIR, NULL);
	push(&r.protect, "/home/u/proj/.agents", RK_MISSING, NULL);
	push(&r.protect, "/var/cache/build/.git", RK_SYMLINK, "/home/u/proj/.git/worktrees/build");
	push(&r.protect, "/var/cache/build/.agents", RK_MISSING, NULL);
	push(&r.deny_read, "/home/u/.ssh", RK_DIR, NULL);
	push(&r.deny_read, "/home/u/proj/.env", RK_FILE, NULL);
	push(&r.run_keep, "/run/systemd/resolve", RK_DIR, NULL);
	push(&r.sockets, "/var/lib/mysql/mysql.sock", RK_OTHER, NULL);
	push(&r.sockets, "/home/u/proj/.dev.sock", RK_OTHER, NULL);

	struct plan plan;
	char *text = compile_describe(&r, &plan);
	check_golden("workspace_write", text);
	assert_true(plan.fs_restricted);
	assert_false(plan.new_netns);
	assert_ancestors_first(&plan);
	assert_int_equal(plan.nguarded, 4);
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

static void test_golden_read_only(void **state)
{
	(void)state;
	struct resolved r = {0};
	r.mode = CORDON_MODE_READ_ONLY;
	r.network = CORDON_NETWORK_OFF;
	r.workspace = strdup("/home/u/proj");
	r.cwd = strdup("/home/u/proj");
	push(&r.deny_read, "/home/u/.aws", RK_DIR, NULL);
	push(&r.deny_read, "/home/u/.netrc", RK_FILE, NULL);
	push(&r.deny_read, "/home/u/.config/gh", RK_DIR, NULL);

	struct plan plan;
	char *text = compile_describe(&r, &plan);
	check_golden("read_only", text);
	assert_true(plan.new_netns);
	/* Nothing of the host is writable: no writable bind, no Landlock grant beyond the sandbox's own. */
	for (size_t i = 0; i < plan.nops; i++)
		assert_int_not_equal(plan.ops[i].kind, MOP_BIND_RW);
	for (size_t i = 0; i < plan.ngrants; i++)
		assert_true(strcmp(plan.grants[i].path, "/tmp") == 0 || strcmp(plan.grants[i].path, "/dev/shm") == 0 ||
			    strcmp(plan.grants[i].path, "/dev") == 0);
	assert_ancestors_first(&plan);
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

static void test_full_access_no_mounts(void **state)
{
	(void)state;
	for (int net = 0; net < 2; net++) {
		struct resolved r = {0};
		r.mode = CORDON_MODE_FULL_ACCESS;
		r.network = net ? CORDON_NETWORK_ON : CORDON_NETWORK_OFF;
		r.workspace = strdup("/w");
		r.cwd = strdup("/w");
		/* Even with lists filled in, full access compiles to no file system restriction. */
		push(&r.writable, "/w", RK_DIR, NULL);
		push(&r.protect, "/w/.git", RK_DIR, NULL);
		push(&r.deny_read, "/home/u/.ssh", RK_DIR, NULL);
		struct plan plan;
		char *text = compile_describe(&r, &plan);
		assert_false(plan.fs_restricted);
		assert_int_equal(plan.nops, 0);
		assert_int_equal(plan.ngrants, 0);
		assert_int_equal(plan.nguarded, 0);
		assert_int_equal(plan.new_netns, !net);
		assert_null(strstr(text, "mount "));
		assert_null(strstr(text, "landlock "));
		if (net)
			check_golden("full_access", text);
		free(text);
		plan_release(&plan);
		resolved_release(&r);
	}
}

static void expect_conflict(const char *writable, const char *deny, enum rkind deny_kind)
{
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	r.workspace = strdup("/home/u/proj");
	r.cwd = strdup("/home/u/proj");
	push(&r.writable, "/home/u/proj", RK_DIR, NULL);
	push(&r.writable, writable, RK_DIR, NULL);
	push(&r.deny_read, "/home/u/.aws", RK_DIR, NULL);
	push(&r.deny_read, deny, deny_kind, NULL);
	struct plan plan;
	struct cordon_error *err = NULL;
	assert_int_equal(plan_compile(&r, &plan, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->code, EINVAL);
	char want_w[256], want_d[256];
	snprintf(want_w, sizeof(want_w), "`%s`", writable);
	snprintf(want_d, sizeof(want_d), "`%s`", deny);
	assert_contains(err->message, want_w);
	assert_contains(err->message, want_d);
	assert_contains(err->message, "deny-read");
	cordon_error_free(err);
	plan_release(&plan);
	resolved_release(&r);
}

static void test_writable_inside_deny_read(void **state)
{
	(void)state;
	expect_conflict("/home/u/.ssh/agent-scratch", "/home/u/.ssh", RK_DIR);
	expect_conflict("/home/u/.ssh", "/home/u/.ssh", RK_DIR);
	expect_conflict("/srv/secret/a/b", "/srv/secret", RK_DIR);

	/* A deny-read path inside a writable root is fine: it is masked over the writable bind. */
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	push(&r.writable, "/home/u/proj", RK_DIR, NULL);
	push(&r.writable, "/home/u/projects", RK_DIR, NULL); /* a sibling with a common prefix */
	push(&r.deny_read, "/home/u/proj/secrets", RK_DIR, NULL);
	push(&r.deny_read, "/home/u/proj", RK_DIR, NULL);
	struct plan plan;
	struct cordon_error *err = NULL;
	/* ...but the workspace itself masked is a conflict, and the message names the right pair. */
	assert_int_equal(plan_compile(&r, &plan, &err), -1);
	assert_contains(err->message, "`/home/u/proj`");
	assert_null(strstr(err->message, "projects"));
	assert_null(strstr(err->message, "secrets"));
	cordon_error_free(err);
	err = NULL;
	plan_release(&plan);
	free(r.deny_read.v[1].path);
	r.deny_read.n = 1;
	assert_int_equal(plan_compile(&r, &plan, &err), 0);
	assert_null(err);
	assert_ancestors_first(&plan);
	plan_release(&plan);
	resolved_release(&r);
}

static void test_ops_ancestors_first(void **state)
{
	(void)state;
	/* Paths given deepest first, in every list, so that a plan in input order would be wrong. */
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	r.network = CORDON_NETWORK_ON;
	push(&r.run_keep, "/run/resolvconf", RK_DIR, NULL);
	push(&r.writable, "/w/a/b/c", RK_DIR, NULL);
	push(&r.writable, "/w/a", RK_DIR, NULL);
	push(&r.writable, "/w", RK_DIR, NULL);
	push(&r.writable, "/tmp/build", RK_DIR, NULL);
	push(&r.protect, "/w/a/b/c/.git", RK_DIR, NULL);
	push(&r.protect, "/w/a/.git", RK_FILE, NULL);
	push(&r.protect, "/w/.git", RK_DIR, NULL);
	push(&r.protect, "/w/a/b/c/.agents", RK_SYMLINK, "/w/a/shared-agents");
	push(&r.deny_read, "/w/a/b/c/.env", RK_FILE, NULL);
	push(&r.deny_read, "/w/a/b/keys", RK_DIR, NULL);
	push(&r.deny_read, "/w/.git", RK_DIR, NULL); /* both protected and deny-read: the mask goes last */
	push(&r.sockets, "/w/a/b/app.sock", RK_OTHER, NULL);
	struct plan plan;
	char *text = compile_describe(&r, &plan);
	assert_ancestors_first(&plan);
	/* 2 fixed + 1 run_keep + 4 writable + 3 deny-read + 1 socket + 3 protect binds + 1 symlink target. */
	assert_int_equal(plan.nops, 15);
	assert_string_equal(plan.ops[0].path, "/run");
	assert_string_equal(plan.ops[1].path, "/tmp");
	assert_string_equal(plan.ops[2].path, "/w");
	assert_int_equal(plan.ops[2].kind, MOP_BIND_RW);
	/* The two deepest paths come last. */
	for (size_t i = plan.nops - 2; i < plan.nops; i++)
		assert_true(strcmp(plan.ops[i].path, "/w/a/b/c/.env") == 0 ||
			    strcmp(plan.ops[i].path, "/w/a/b/c/.git") == 0);
	/* At /w/.git: the read-only bind, then the mask over it. */
	size_t git = 0;
	while (git < plan.nops && strcmp(plan.ops[git].path, "/w/.git") != 0)
		git++;
	assert_true(git + 1 < plan.nops);
	assert_int_equal(plan.ops[git].kind, MOP_BIND_RO);
	assert_int_equal(plan.ops[git + 1].kind, MOP_MASK_DIR);
	assert_string_equal(plan.ops[git + 1].path, "/w/.git");
	/* Landlock: the fixed grants, then every writable root with every write right. */
	assert_int_equal(plan.ngrants, 3 + 4);
	for (size_t i = 3; i < plan.ngrants; i++)
		assert_int_equal(plan.grants[i].rights, LL_ALL);
	assert_contains(text, "landlock /dev write truncate\n");
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

static void test_protected_symlinks(void **state)
{
	(void)state;
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	push(&r.writable, "/w", RK_DIR, NULL);
	push(&r.writable, "/x", RK_DIR, NULL);
	/* Target in another writable root: it is what must become read-only. */
	push(&r.protect, "/w/.git", RK_SYMLINK, "/x/repo.git");
	/* Target outside every writable root: read-only already; only the link's name is guarded. */
	push(&r.protect, "/w/.codex", RK_SYMLINK, "/etc/codex");
	/* Dangling: nothing to bind. */
	push(&r.protect, "/w/.agents", RK_SYMLINK, NULL);
	/* A target that merely shares a prefix with a writable root is outside it. */
	push(&r.protect, "/x/.git", RK_SYMLINK, "/wx/repo.git");
	/* Sockets and the like are guarded, not bound. */
	push(&r.protect, "/x/.agents", RK_OTHER, NULL);
	struct plan plan;
	char *text = compile_describe(&r, &plan);
	size_t binds_ro = 0;
	for (size_t i = 0; i < plan.nops; i++) {
		if (plan.ops[i].kind != MOP_BIND_RO)
			continue;
		binds_ro++;
		assert_string_equal(plan.ops[i].path, "/x/repo.git");
	}
	assert_int_equal(binds_ro, 1);
	assert_null(strstr(text, "/etc/codex"));
	assert_null(strstr(text, "/wx/repo.git"));
	assert_int_equal(plan.nguarded, 5);
	for (size_t i = 0; i < plan.nguarded; i++)
		assert_true(plan.guarded[i].existed);
	assert_string_equal(plan.guarded[0].dir, "/w");
	assert_string_equal(plan.guarded[0].name, ".git");
	assert_contains(text, "guard /w/.git\n");
	assert_contains(text, "guard /x/.agents\n");
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

/* Returns the index of the guard dir/name, or -1. */
static long find_guard(const struct plan *plan, const char *dir, const char *name)
{
	for (size_t i = 0; i < plan->nguarded; i++)
		if (strcmp(plan->guarded[i].dir, dir) == 0 && strcmp(plan->guarded[i].name, name) == 0)
			return (long)i;
	return -1;
}

static void test_guard_names(void **state)
{
	(void)state;
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	push(&r.writable, "/", RK_DIR, NULL);
	push(&r.protect, "/.git", RK_MISSING, NULL);
	push(&r.protect, "/a/b/.codex", RK_DIR, NULL);
	struct plan plan;
	char *text = compile_describe(&r, &plan);
	/* The two protected names, and the directories between the root and the deeper one. */
	assert_int_equal(plan.nguarded, 4);
	assert_string_equal(plan.guarded[0].dir, "/");
	assert_string_equal(plan.guarded[0].name, ".git");
	assert_false(plan.guarded[0].existed);
	assert_string_equal(plan.guarded[1].dir, "/a/b");
	assert_string_equal(plan.guarded[1].name, ".codex");
	assert_true(plan.guarded[1].existed);
	assert_true(find_guard(&plan, "/", "a") >= 0);
	assert_true(find_guard(&plan, "/a", "b") >= 0);
	assert_contains(text, "guard /.git (absent)\n");
	assert_contains(text, "guard /a/b/.codex\n");
	assert_contains(text, "guard /a\n");
	assert_contains(text, "guard /a/b\n");
	assert_null(strstr(text, "guard //"));
	/* A missing protected name gets no mount: nothing is created on the host for it. */
	assert_null(strstr(text, "mount bind-ro /.git"));
	assert_contains(text, "mount bind-ro /a/b/.codex\n");
	assert_ancestors_first(&plan);
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

/* A protected path deep in a root: renaming a directory above it away and rebuilding the path would
 * escape its mount, so every name between the root and the path is guarded, each once. */
static void test_guard_ancestors(void **state)
{
	(void)state;
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	push(&r.writable, "/w", RK_DIR, NULL);
	push(&r.writable, "/v", RK_DIR, NULL);
	push(&r.protect, "/w/a/b/secret", RK_FILE, NULL);
	push(&r.protect, "/w/a/c/other", RK_MISSING, NULL);
	push(&r.protect, "/w/.git", RK_DIR, NULL);
	push(&r.protect, "/v/.git", RK_DIR, NULL);
	push(&r.protect, "/v/.git", RK_DIR, NULL); /* listed twice: guarded once */
	struct plan plan;
	char *text = compile_describe(&r, &plan);
	static const char *const want[][2] = {
		{"/w/a/b", "secret"}, {"/w", "a"}, {"/w/a", "b"}, {"/w/a/c", "other"},
		{"/w/a", "c"}, {"/w", ".git"}, {"/v", ".git"},
	};
	assert_int_equal(plan.nguarded, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (find_guard(&plan, want[i][0], want[i][1]) < 0)
			fail_msg("no guard for %s/%s in:\n%s", want[i][0], want[i][1], text);
	/* Nothing above the root is guarded. */
	assert_int_equal(find_guard(&plan, "/", "w"), -1);
	/* Only a name that is missing is marked absent; the directories above it exist. */
	assert_false(plan.guarded[find_guard(&plan, "/w/a/c", "other")].existed);
	assert_true(plan.guarded[find_guard(&plan, "/w/a", "c")].existed);
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

/* A protected name that is itself a writable root, e.g. `--writable .git` with `.git` protected by
 * default: the deepest root holding the path is the path itself. */
static void test_guard_protected_root(void **state)
{
	(void)state;
	struct resolved r = {0};
	r.mode = CORDON_MODE_WORKSPACE_WRITE;
	push(&r.writable, "/home/u/proj", RK_DIR, NULL);
	push(&r.writable, "/home/u/proj/.git", RK_DIR, NULL);
	push(&r.protect, "/home/u/proj/.git", RK_DIR, NULL);
	struct plan plan;
	char *text = compile_describe(&r, &plan);
	assert_int_equal(plan.nguarded, 1);
	assert_string_equal(plan.guarded[0].dir, "/home/u/proj");
	assert_string_equal(plan.guarded[0].name, ".git");
	assert_ancestors_first(&plan);
	free(text);
	plan_release(&plan);
	resolved_release(&r);
}

static void test_describe_empty(void **state)
{
	(void)state;
	struct plan plan = {0};
	char *text = plan_describe(&plan);
	assert_string_equal(text, "filesystem: full-access\nnetwork: host\n");
	free(text);
	assert_string_equal(mop_kind_name(MOP_MASK_FILE), "mask-file");
	assert_string_equal(mop_kind_name((enum mop_kind)99), "?");
	plan_release(&plan);
	resolved_release(&(struct resolved){0});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_workspace_write),
		cmocka_unit_test(test_golden_read_only),
		cmocka_unit_test(test_full_access_no_mounts),
		cmocka_unit_test(test_writable_inside_deny_read),
		cmocka_unit_test(test_ops_ancestors_first),
		cmocka_unit_test(test_protected_symlinks),
		cmocka_unit_test(test_guard_names),
		cmocka_unit_test(test_guard_ancestors),
		cmocka_unit_test(test_guard_protected_root),
		cmocka_unit_test(test_describe_empty),
	};
	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
