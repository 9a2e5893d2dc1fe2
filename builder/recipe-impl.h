/*
 * recipe-impl.h - the parsed form of a recipe, shared by recipe.c (which
 * fills it) and assemble.c / build.c (which read it).
 *
 * Invariants after a successful parse: every path is absolute and
 * normalised (no empty, "." or ".." components, no trailing slash), no two
 * of files/directories/symlinks share a path, every mode is <= 07777,
 * run_uid/run_gid name an account that exists (unless run_as_deferred),
 * no package is requested twice and packages come with at least one
 * repository.
 */
#ifndef PLINTH_RECIPE_IMPL_H
#define PLINTH_RECIPE_IMPL_H

#include <string.h>

#include "internal.h"
#include "plinth/recipe.h"

struct pl__pos {
	unsigned line, col; /* 1-based */
};

struct pl__file_spec {
	char *path, *source;
	bool has_sha256, has_mode, has_owner;
	uint8_t sha256[PL_SHA256_LEN];
	uint32_t mode, uid, gid;
	struct pl__pos pos, source_pos, sha256_pos;
};

struct pl__dir_spec {
	char *path;
	bool has_mode, has_owner;
	uint32_t mode, uid, gid;
	struct pl__pos pos;
};

struct pl__link_spec {
	char *path, *target;
	struct pl__pos pos;
};

struct pl__user {
	char *name, *home, *shell;
	uint32_t uid, gid;
	struct pl__pos pos;
};

struct pl__group {
	char *name;
	uint32_t gid;
	struct pl__pos pos;
};

struct pl__strv {
	char **v;
	size_t n;
	bool set; /* the key was present (an empty list is not "absent") */
};

struct pl__kv {
	char *key, *value;
	struct pl__pos pos; /* of the key */
};

struct pl__kvv {
	struct pl__kv *v;
	size_t n;
};

#define PL__TEST_TIMEOUT     30   /* seconds a test may run when it says nothing */
#define PL__TEST_TIMEOUT_MAX 3600 /* the most it may ask for */

struct pl__test {
	struct pl__strv run;
	int expect_exit;
	char *expect_stdout, *expect_stderr; /* NULL: not checked */
	unsigned timeout;                    /* seconds; 0: not given (PL__TEST_TIMEOUT) */
	struct pl__pos pos;
};

/* An apt repository as the recipe wrote it: `host`, or one of its own. */
struct pl__repo_spec {
	bool host;
	char *uri; /* before ${VAR} expansion */
	struct pl__strv suites, components;
	char *keyring; /* NULL: the host's trusted keyrings */
	struct pl__pos pos;
};

/* A requested package: "name", "name=version" or "name/suite". */
struct pl__pkg_spec {
	char *name, *version, *suite; /* version, suite may be NULL */
	struct pl__pos pos;
};

struct pl_recipe {
	char *path; /* as given, for messages */
	char *dir;  /* directory that relative sources are resolved against */
	char *name, *version, *description;
	/* "scratch", or NAME@RANGE (a catalog base; RANGE is MAJOR,
	 * MAJOR.MINOR or MAJOR.MINOR.PATCH), checked */
	char *base;
	struct pl__pos base_pos;
	bool has_epoch;
	uint64_t epoch;
	uint8_t digest[PL_SHA256_LEN]; /* sha256 of the recipe's bytes */

	struct pl__file_spec *files;
	size_t nfiles;
	struct pl__dir_spec *dirs;
	size_t ndirs;
	struct pl__link_spec *links;
	size_t nlinks;

	struct pl__user *users;
	size_t nusers;
	struct pl__group *groups;
	size_t ngroups;
	char *run_as;
	/* run_as_set: `run-as` was written.  run_as_deferred: it names no
	 * account the recipe knows, so the base's /etc/passwd must have it
	 * (only for a recipe on a base; run_uid/run_gid are then unset). */
	bool run_as_set, run_as_deferred;
	struct pl__pos run_as_pos;
	uint32_t run_uid, run_gid;

	struct pl__strv entrypoint, cmd, ports;
	struct pl__kvv env, labels;
	char *workdir, *stop_signal;

	struct pl__test *tests;
	size_t ntests;

	struct pl__repo_spec *repos;
	size_t nrepos;
	struct pl__pkg_spec *pkgs;
	size_t npkgs;
	struct pl__strv exclude;          /* absolute globs */
	struct pl__strv assume_installed; /* package names */
};

/* Why the extended regular expression `re` is refused before regcomp()
 * sees it (longer than 1024 bytes, repetitions that would expand too far),
 * or NULL when it is fine: what a test expects is checked the same way
 * wherever it comes from. */
const char *pl__regex_too_costly(const char *re);

/* Whether the recipe builds on a catalog base (not scratch). */
static inline bool pl__recipe_has_base(const struct pl_recipe *r)
{
	return r->base && strcmp(r->base, "scratch") != 0;
}

#endif
