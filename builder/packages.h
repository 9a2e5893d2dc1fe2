/*
 * packages.h - a recipe's Debian packages, from signed repositories to the
 * image tree, and the lock that pins them.
 */
#ifndef PLINTH_PACKAGES_IMPL_H
#define PLINTH_PACKAGES_IMPL_H

#include "plinth/packages.h"
#include "recipe-impl.h"
#include "tree.h"

/* One pinned package.  Invariants: name, version, arch, source, filename
 * are valid (as checked by the lock reader); filename is relative without
 * "..". */
struct pl__locked {
	char *name, *version, *arch, *source, *source_version, *filename;
	uint64_t size;
	uint8_t sha256[PL_SHA256_LEN];
};

struct pl__lock {
	uint8_t inputs[PL_SHA256_LEN];      /* pl__lock_inputs() of the recipe */
	uint8_t file_digest[PL_SHA256_LEN]; /* of the file's bytes, when read from one */
	char *arch;
	char *path;           /* the file it was read from; NULL when resolved afresh */
	struct pl__locked *p; /* sorted by name, names unique */
	size_t n;
};

void pl__lock_release(struct pl__lock *l);
#define cleanup_lock __attribute__((cleanup(pl__lock_release)))

/*
 * The digest of what a lock depends on: the architecture and the recipe's
 * base, repositories (as written, before ${VAR} expansion), packages and
 * assume-installed.  Files, config and the rest may change freely.
 */
int pl__lock_inputs(const struct pl_recipe *r, const char *arch, uint8_t out[PL_SHA256_LEN],
		    struct pl_error **err);

/* Read and check a lock file.  @return 0, PL__LOCK_ABSENT (no error set)
 * when there is no file, or a negative pl_code ("FILE: ..." messages). */
#define PL__LOCK_ABSENT 1
int pl__lock_read(const char *path, struct pl__lock *out, struct pl_error **err);

struct pl__baseimg;

/*
 * The check pl__packages_install() makes of a lock read from a file on a
 * base (every dependency of what it installs met, no conflict with the
 * base), for a layer taken from the layer cache: `controls` are the control
 * paragraphs of the packages it installs, in the lock's order, as the build
 * that made the layer read them.  PL__PINNED_FOREIGN (no error set) when
 * they are not that: the layer is not one to take.
 */
#define PL__PINNED_FOREIGN 1
int pl__packages_check_pinned(const struct pl_recipe *r, const struct pl__lock *l,
			      const struct pl__baseimg *base, const char *base_ref,
			      const char *const *controls, size_t n, struct pl_error **err);

/* The digest of what the lock pins (its canonical JSON); an empty lock
 * (no packages, no architecture) has the digest of nothing. */
int pl__lock_digest(const struct pl__lock *l, uint8_t out[PL_SHA256_LEN], struct pl_error **err);
/* Write `l` to `path` atomically (temp file, fsync, rename, fsync dir). */
int pl__lock_write(const char *path, const struct pl__lock *l, struct pl_error **err);

/* Parse lock JSON held in memory (for pl__lock_read and the fuzzer). */
int pl__lock_parse(const char *name, const char *text, size_t len, struct pl__lock *out,
		   struct pl_error **err);

struct pl__baseimg;

/*
 * Resolve r's packages against its repositories (fetching and verifying
 * InRelease and the indexes) into *out.  With a `base` (NULL: scratch),
 * what it has installed counts as installed, its packages' Provides too (as
 * a repository's count), and their Conflicts and Breaks are checked both
 * ways against what is chosen: a requested package the base has is not
 * chosen again, and asking for another version of one is an error.
 */
int pl__packages_resolve(const struct pl_recipe *r, const struct pl_apt_options *o,
			 const struct pl__baseimg *base, struct pl__lock *out,
			 struct pl_error **err);

/*
 * Fetch (or take from the cache) every package `l` pins that `base` (NULL:
 * scratch) has not installed, check each against its sha256 and size, and
 * add their contents to `t`, with the default and the recipe's excludes,
 * merged-/usr links, /var/lib/dpkg/status.d and the CA bundle (which, when
 * a package adds certificates, holds the base's too).  *installed gets how
 * many were installed.  A lock read from a file on a base (named
 * `base_ref` in messages) is refused as stale when a package it installs
 * depends on what neither it, the base nor assume-installed has: the base
 * may have dropped it since the lock was made.
 */
int pl__packages_install(const struct pl_recipe *r, const struct pl__lock *l,
			 const struct pl_apt_options *o, const struct pl__baseimg *base,
			 const char *base_ref, struct pl__tree *t, size_t *installed,
			 struct pl_error **err);

/* Whether `path` (absolute) matches the glob `pattern` (as below), in time
 * bounded by the product of their lengths. */
bool pl__glob_match(const char *pattern, const char *path);

/* Whether `path` (absolute) or one of its parent directories matches the
 * glob `pattern`: '*' and '?' within a component, "**" across them,
 * [...] classes. */
bool pl__glob_match_path(const char *pattern, const char *path);

#endif
