/*
 * plinth/packages.h - Debian packages: where they come from, and the lock
 * that pins them.
 *
 * A recipe's `packages` are resolved against its `repositories` (each one's
 * InRelease checked with gpgv, every index and .deb checked against the
 * digests of that signed chain) and written to a lock: every package with
 * its version, architecture, source, file name, sha256 and size.  A build
 * from a lock fetches exactly the pinned files, checked against the lock.
 */
#ifndef PLINTH_PACKAGES_H
#define PLINTH_PACKAGES_H

#include "plinth/common.h"
#include "plinth/registry.h"
#include "plinth/recipe.h"

struct pl_apt_options {
	/* The download cache (required when the recipe has packages); created
	 * when absent and safe to share between processes. */
	const char *cache_dir;
	/* "NAME=value" strings, NULL-terminated, for ${NAME} in repository
	 * URIs; NULL: none. */
	const char *const *environ;
	/* The build host's apt configuration, read for `repositories: [host]`
	 * and for repositories without a keyring; NULL: "/etc/apt". */
	const char *apt_dir;
	/* The gpgv program; NULL: "gpgv" from PATH. */
	const char *gpgv;
	/* Reports what is being fetched (one short line each); may be NULL. */
	void (*note)(void *ctx, const char *what);
	void *note_ctx;
	/* When non-NULL and it becomes non-zero, the work stops with an error. */
	const volatile int *cancel;
};

/**
 * The lock file of the recipe at `recipe_path`: "x.yaml" and "x.yml" give
 * "x.lock.json", any other name gets ".lock.json" appended.
 * @return a new string (free() it), or NULL with *err set.
 */
char *pl_lock_path(const char *recipe_path, struct pl_error **err);

struct pl_catalog;

struct pl_lock_options {
	struct pl_apt_options apt;
	/* Where to write the lock; NULL: pl_lock_path() of the recipe. */
	const char *lock_path;
	/* The catalog a recipe's `base: NAME@RANGE` is resolved in; NULL
	 * makes such a recipe an error.  Warnings from the resolution (a
	 * superseded or deprecated base) go to `warn` when it is not NULL. */
	struct pl_catalog *catalog;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* As in pl_build_options: where a base not on this machine is pulled. */
	const char *base_cache;
	const struct pl_registry_options *registry;
};

struct pl_lock_result {
	size_t packages;        /* how many the lock pins */
	uint64_t download_size; /* their .deb files, in bytes */
	/* The base, when not scratch: NAME@VERSION, and how many packages it
	 * has installed (which the lock leaves out). */
	char base[200];
	size_t base_packages;
};

/**
 * Resolve `r`'s packages and write the lock atomically.  The previous
 * lock, if any, is ignored and replaced.  On a base the packages the base
 * has installed count as installed: the lock pins only what the base
 * lacks.
 * @return 0 with *res filled in, or a negative pl_code with *err set; on
 *         failure the lock file is unchanged.
 */
int pl_lock(const struct pl_recipe *r, const struct pl_lock_options *o, struct pl_lock_result *res,
	    struct pl_error **err);

#endif
