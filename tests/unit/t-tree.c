/* t-tree.c - the in-memory tree: layer order, implicit parents, conflicts. */
#include <stdlib.h>

#include "tap.h"
#include "tree.h"

static int add(struct pl__tree *t, const char *path, enum pl__kind kind, bool generated,
	       const char *origin, struct pl_error **err)
{
	struct pl__entry e = { .kind = kind, .mode = 0644, .generated = generated };
	e.path = strdup(path);
	e.origin = origin ? strdup(origin) : NULL;
	if (kind == PL__SYMLINK)
		e.target = strdup("x");
	return pl__tree_add(t, &e, err);
}

static void test_order(void)
{
	struct pl__tree *t = pl__tree_new(NULL);
	static const char *const paths[] = { "usr/bin/z",   "a-b",   "a/b", "a.c",
					     "usr/bin-x/y", "a/b/c", "B" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		check_int(add(t, paths[i],
			      strchr(paths[i], 'c') && !strcmp(paths[i], "a.c") ? PL__REG : PL__DIR,
			      false, NULL, NULL),
			  ==, 0);
	pl__tree_sort(t);
	/* '/' sorts first, so a directory's subtree comes before its siblings. */
	static const char *const want[] = { "B",         "a",         "a/b",        "a/b/c",
					    "a-b",       "a.c",       "usr",        "usr/bin",
					    "usr/bin/z", "usr/bin-x", "usr/bin-x/y" };
	check_int(pl__tree_count(t), ==, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < pl__tree_count(t) && i < sizeof(want) / sizeof(want[0]); i++)
		check_str(pl__tree_at(t, i)->path, want[i]);
	check(pl__tree_get(t, "usr/bin")->implicit);
	check_int(pl__tree_get(t, "usr/bin")->mode, ==, 0755);
	check(pl__tree_get(t, "a/b/c") != NULL);
	check(pl__tree_get(t, "nope") == NULL);
	pl__tree_free(t);
}

static void test_conflicts(void)
{
	struct pl__tree *t = pl__tree_new(NULL);
	struct pl_error *err = NULL;

	check_int(add(t, "etc/passwd", PL__REG, true, NULL, NULL), ==, 0);
	/* A declared entry replaces a generated one. */
	check_int(add(t, "etc/passwd", PL__REG, false, "r.yaml:3:5", NULL), ==, 0);
	check(!pl__tree_get(t, "etc/passwd")->generated);
	/* ...but not another declared one. */
	check_int(add(t, "etc/passwd", PL__SYMLINK, false, "r.yaml:9:5", &err), ==, PL_EINVAL);
	check_str(pl_error_message(err),
		  "r.yaml:9:5: path '/etc/passwd' is already declared as a file at r.yaml:3:5");
	pl_error_free(err);
	err = NULL;

	/* A file cannot hold children. */
	check_int(add(t, "etc/passwd/x", PL__REG, false, "r.yaml:12:5", &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "r.yaml:12:5: path '/etc/passwd/x' needs '/etc/passwd' to "
					 "be a directory, but it is a file declared at r.yaml:3:5");
	pl_error_free(err);
	err = NULL;

	/* An implicit directory with children cannot become a file. */
	check_int(add(t, "etc", PL__REG, false, "r.yaml:14:5", &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "r.yaml:14:5: path '/etc' is a directory that holds "
					 "other entries; it can only be declared as a directory");
	pl_error_free(err);
	/* ...but it can be declared as a directory, keeping its children. */
	check_int(add(t, "etc", PL__DIR, false, "r.yaml:15:5", NULL), ==, 0);
	check_int(pl__tree_get(t, "etc")->children, ==, 1);
	check(!pl__tree_get(t, "etc")->implicit);
	pl__tree_free(t);
}

static void test_many(void)
{
	/* Enough entries to make the index grow several times. */
	struct pl__tree *t = pl__tree_new(NULL);
	char path[64];
	int failures = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "d%d/f%d", i % 37, i);
		failures += add(t, path, PL__REG, false, NULL, NULL) != 0;
	}
	check_int(failures, ==, 0);
	check_int(pl__tree_count(t), ==, 5000 + 37);
	check_int(pl__tree_get(t, "d5")->children, ==, 5000 / 37 + (5 < 5000 % 37));
	pl__tree_sort(t);
	int unordered = 0;
	for (size_t i = 1; i < pl__tree_count(t); i++)
		unordered +=
		    pl__path_cmp(pl__tree_at(t, i - 1)->path, pl__tree_at(t, i)->path) >= 0;
	check_int(unordered, ==, 0);
	check(pl__tree_get(t, "d36/f36") != NULL);
	pl__tree_free(t);
}

int main(void)
{
	test_order();
	test_conflicts();
	test_many();
	return tap_done();
}
