/*
 * plinth/build.h - build an OCI image from a recipe.
 *
 * A build assembles the recipe's tree in memory, streams it as one layer
 * (sorted pax tar, compressed, both digests in one pass) into an OCI image
 * layout, and tags the manifest.  The layout is changed atomically: until
 * the build succeeds nothing in it changes, and a failed or cancelled build
 * leaves it as it was.
 */
#ifndef PLINTH_BUILD_H
#define PLINTH_BUILD_H

#include "plinth/catalog.h"
#include "plinth/common.h"
#include "plinth/registry.h"
#include "plinth/packages.h"
#include "plinth/recipe.h"

enum pl_compression {
	PL_COMPRESSION_ZSTD = 0, /* level 3, fixed worker mode */
	PL_COMPRESSION_GZIP = 1, /* level 6, header without name or mtime */
};

struct pl_build_options {
	/* The OCI layout directory: created when absent, added to when it is a
	 * layout (an empty directory counts as an empty layout). */
	const char *layout;
	/* The tag (org.opencontainers.image.ref.name); NULL: the recipe's
	 * version.  Tagging again replaces the old reference. */
	const char *tag;
	/* The image's version (org.opencontainers.image.version, and the
	 * default tag): MAJOR.MINOR.PATCH, or NULL for the recipe's. */
	const char *version;
	enum pl_compression compression;
	/* The clock for every timestamp: when has_clock is false the recipe's
	 * epoch, else 0.  The CLI passes SOURCE_DATE_EPOCH here. */
	bool has_clock;
	uint64_t clock;
	/* Called now and then while content is written; may be NULL. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* When non-NULL and it becomes non-zero, the build stops with an
	 * error and leaves the layout as it was (set it from a signal
	 * handler). */
	const volatile int *cancel;
	/* Debian packages: where they come from (apt.cancel is ignored:
	 * `cancel` above counts).  A recipe with packages is built from its
	 * lock (lock_path, NULL: pl_lock_path() of the recipe) when there is
	 * one; a lock made for other packages or repositories than the
	 * recipe's is an error.  Without a lock the packages are resolved
	 * afresh, unless `frozen`, which makes a missing lock an error. */
	struct pl_apt_options apt;
	const char *lock_path;
	bool frozen;
	/* The catalog a recipe's `base: NAME@RANGE` is resolved in; NULL
	 * makes such a recipe an error.  Warnings from the resolution (a
	 * superseded or deprecated base) go to `warn` when it is not NULL. */
	struct pl_catalog *catalog;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* A base whose layout is not on this machine, and that the catalog
	 * locates in a registry (pl_catalog_locate()), is pulled from there by
	 * its digest, with `registry`, into the OCI layout `base_cache`
	 * (tagged NAME-VERSION); either NULL: never. */
	const char *base_cache;
	const struct pl_registry_options *registry;
	/* A directory of layers kept for reuse, or NULL.  When it holds the
	 * layer of a build with the same inputs (recipe, locked packages,
	 * host files' content, clock, compression) on a base that answers
	 * what that build asked of it the same way (its packages, accounts,
	 * the paths the layer touches), the layer is taken as it is instead
	 * of being assembled and compressed again: the image is the same,
	 * byte for byte.  Every layer made is recorded there. */
	const char *layer_cache;
	/* The gates (plinth/check.h).  The recipe is linted first, with
	 * `policy` (NULL: none): a finding of severity error stops the build.
	 * The layer the recipe adds is scanned before the image is tagged: a
	 * secret (S004-S008) or a setuid/setgid file (S001) that the policy
	 * does not opt out of stops it.  The recipe's tests then run in the
	 * image with runc (`runc`, NULL: found on PATH): a failing test stops
	 * it, its TAP report in the error.  `skip_tests` skips
	 * them, and the image's annotations say so (dev.plinth.tests:
	 * skipped).  Findings that stop nothing are left to plinth lint and
	 * plinth scan to show. */
	const struct pl_policy *policy;
	bool skip_tests;
	const char *runc;
	/* For the tests: where their work directory is made (NULL: /tmp)
	 * and the PATH runc is looked up in (NULL: the system's). */
	const char *tmpdir, *path;
};

struct pl_build_result {
	char manifest_digest[72]; /* "sha256:<hex>" */
	char config_digest[72];
	char layer_digest[72];
	char diff_id[72];
	uint64_t manifest_size, layer_size, tar_size;
	size_t entries;
	size_t packages;   /* Debian packages installed */
	bool from_lock;    /* ...as pinned by the lock */
	bool layer_reused; /* the layer came from the layer cache */
	/* With a layer cache: the digest of the host files the recipe copies
	 * (names, kinds, modes, contents) as the build found them; else "". */
	char sources_digest[72];
	char tag[129];
	char version[64]; /* the image's */
	/* The base, when not scratch: NAME@VERSION and its manifest digest. */
	char base[200];
	char base_digest[72];
	size_t base_packages; /* Debian packages the base already had */
};

/**
 * Build `r` into the layout named by `o->layout`.
 *
 * @return 0 with *res filled in, or a negative pl_code with *err set; on
 *         failure the layout is unchanged.
 */
int pl_build(const struct pl_recipe *r, const struct pl_build_options *o,
	     struct pl_build_result *res, struct pl_error **err);

/**
 * Whether `tag` is a valid tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
 */
bool pl_tag_valid(const char *tag);

#endif
