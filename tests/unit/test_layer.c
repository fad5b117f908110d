// SPDX-License-Identifier: Apache-2.0
/* Reading an overlayfs upper layer into changes (backend/linux/layer.c) from hand-made layers, and
 * the session store's name and protected-path rules (stage.c). The real overlay is exercised by
 * tests/integration/staged.sh; here every format case is made on purpose. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backend/linux/layer.h"
#include "backend/linux/stage.h"

static char dir[] = "/var/tmp/cordon-test-layer-XXXXXX";
static int lower = -1, upper = -1;

static void put(const char *base, const char *rel, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, base, rel);
	FILE *f = fopen(p, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *base, const char *rel, mode_t mode)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, base, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/l", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/u", dir);
	mkdir(p, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const struct change *find(const struct changes *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].path, path) == 0)
			return &c->v[i];
	fail_msg("no change for `%s`", path);
	return NULL;
}

static void test_changes(void **state)
{
	(void)state;
	/* The real tree. */
	mk("l", "d", 0755);
	mk("l", "opq", 0755);
	put("l", "same.txt", "same\n");
	put("l", "mod.txt", "old\n");
	put("l", "mode.sh", "m\n");
	put("l", "moved.txt", "moving\n");
	put("l", "d/f", "in d\n");
	put("l", "opq/old", "old in opq\n");
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/l/ln", dir);
	assert_int_equal(symlink("same.txt", p), 0);
	/* The layer: a copy-up without change, a modification, a mode, a new file in a new dir, a
	 * retargeted symlink, a rename (deleted + same bytes added), an opaque directory. */
	put("u", "same.txt", "same\n");
	put("u", "mod.txt", "new\n");
	put("u", "mode.sh", "m\n");
	snprintf(p, sizeof(p), "%s/l/mode.sh", dir);
	chmod(p, 0644);
	snprintf(p, sizeof(p), "%s/u/mode.sh", dir);
	chmod(p, 0755);
	mk("u", "new", 0700);
	put("u", "new/n.txt", "n\n");
	snprintf(p, sizeof(p), "%s/u/ln", dir);
	assert_int_equal(symlink("mod.txt", p), 0);
	put("u", "renamed.txt", "moving\n");
	mk("u", "opq", 0755);
	put("u", "opq/fresh", "fresh\n");
	snprintf(p, sizeof(p), "%s/u/opq", dir);
	bool xattrs = setxattr(p, "user.overlay.opaque", "y", 1, 0) == 0;
	/* Whiteouts are character devices 0/0: only root may make one outside an overlay. */
	snprintf(p, sizeof(p), "%s/u/moved.txt", dir);
	bool whiteouts = mknod(p, S_IFCHR | 0, makedev(0, 0)) == 0;
	if (whiteouts) {
		snprintf(p, sizeof(p), "%s/u/d", dir);
		assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
	}

	snprintf(p, sizeof(p), "%s/l", dir);
	lower = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/u", dir);
	upper = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(lower >= 0 && upper >= 0);
	struct changes c = {0};
	struct cordon_error *err = NULL;
	assert_int_equal(layer_changes(0, lower, upper, &c, &err), 0);
	int lowers[1] = {lower}, uppers[1] = {upper};
	layer_find_renames(&c, lowers, uppers);

	for (size_t i = 0; i < c.n; i++)
		assert_string_not_equal(c.v[i].path, "same.txt"); /* copied up, unchanged: no change */
	const struct change *ch = find(&c, "mod.txt");
	assert_int_equal(ch->kind, CH_MODIFIED);
	assert_true(ch->content);
	ch = find(&c, "mode.sh");
	assert_int_equal(ch->kind, CH_MODIFIED);
	assert_false(ch->content);
	assert_int_equal(ch->old_mode & 0777, 0644);
	assert_int_equal(ch->new_mode & 0777, 0755);
	assert_int_equal(find(&c, "new")->kind, CH_ADDED);
	assert_true(S_ISDIR(find(&c, "new")->new_mode));
	assert_int_equal(find(&c, "new/n.txt")->kind, CH_ADDED);
	ch = find(&c, "ln");
	assert_int_equal(ch->kind, CH_MODIFIED);
	assert_true(S_ISLNK(ch->new_mode) && ch->content);
	if (whiteouts) {
		ch = find(&c, "renamed.txt");
		assert_int_equal(ch->kind, CH_RENAMED);
		assert_string_equal(ch->from, "moved.txt");
		assert_int_equal(find(&c, "d/f")->kind, CH_DELETED);
		assert_int_equal(find(&c, "d")->kind, CH_DELETED);
	} else {
		assert_int_equal(find(&c, "renamed.txt")->kind, CH_ADDED);
	}
	if (xattrs) {
		ch = find(&c, "opq/old");
		assert_int_equal(ch->kind, CH_DELETED);
		assert_string_equal(ch->unit, "opq");
		ch = find(&c, "opq/fresh");
		assert_int_equal(ch->kind, CH_ADDED);
		assert_string_equal(ch->unit, "opq");
	}
	/* Sorted by path. */
	for (size_t i = 1; i < c.n; i++)
		assert_true(strcmp(c.v[i - 1].path, c.v[i].path) < 0);
	changes_release(&c);
	close(lower);
	close(upper);
}

static void test_names(void **state)
{
	(void)state;
	const char *good[] = {"a", "fix-tests", "s-20261122-143005-3fa2b1", "A.b_c-9", NULL};
	const char *bad[] = {"", ".", "..", ".hidden", "-x", "a/b", "a b", "x\n", "é", NULL};
	for (int i = 0; good[i]; i++)
		assert_int_equal(stage_check_name(good[i], NULL), 0);
	for (int i = 0; bad[i]; i++)
		assert_int_equal(stage_check_name(bad[i], NULL), -1);
	char longname[STAGE_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(stage_check_name(longname, NULL), -1);
	longname[STAGE_NAME_MAX] = '\0';
	assert_int_equal(stage_check_name(longname, NULL), 0);
}

static void test_protected(void **state)
{
	(void)state;
	struct stage s = {.meta = json_pack("{s:[s], s:[s, s]}", "roots", "/w", "protect", "secret.cfg", "/w/keep/this")};
	assert_non_null(s.meta);
	const char *yes[] = {".git", ".git/hooks/x", "sub/.git/config", "a/.agents", ".codex", "secret.cfg",
			     "deep/secret.cfg/x", "keep/this", "keep/this/too", NULL};
	const char *no[] = {"src/main.c", ".gitignore", "x.git", "agents", "keep/thisnot", "keep", "secret.cfg.bak", NULL};
	for (int i = 0; yes[i]; i++)
		if (!stage_is_protected(&s, 0, yes[i]))
			fail_msg("`%s` should be protected", yes[i]);
	for (int i = 0; no[i]; i++)
		if (stage_is_protected(&s, 0, no[i]))
			fail_msg("`%s` should not be protected", no[i]);
	json_decref(s.meta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_protected),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
