/*
 * plinth/catalog.h - the versioned, signed catalog of approved bases.
 *
 * A catalog is a directory (format: catalog/README.md).  Its state - every
 * published base version with its status - is signed by an ops key from
 * the catalog's own trust root, carries a version number that grows by one
 * with every change, and commits to an append-only, hash-chained history
 * of those changes.  Readers check the signature, the history's tail, and
 * (with a state directory) that the version never goes back and the
 * history only grows; pl_catalog_verify() replays the whole history.
 *
 * Writers serialise on a lock in the directory; each change is written as
 * new files (temp, fsync, rename) and takes effect with one rename of
 * catalog.json, so a killed writer leaves the catalog as it was.
 */
#ifndef PLINTH_CATALOG_H
#define PLINTH_CATALOG_H

#include "plinth/common.h"
#include "plinth/sign.h"

struct pl_catalog;

/**
 * Split skopeo's "oci:DIR:TAG" into newly allocated *dir and *tag (free
 * both).  DIR may contain ':'; TAG is what follows the last one and must be
 * a valid tag.
 *
 * @return 0, or PL_EINVAL with *err set.
 */
int pl_oci_ref_parse(const char *ref, char **dir, char **tag, struct pl_error **err);

enum pl_status {
	PL_STATUS_APPROVED = 0,
	PL_STATUS_DEPRECATED = 1,
	PL_STATUS_SUPERSEDED = 2,
	PL_STATUS_BANNED = 3,
};

/** "approved", "deprecated", "superseded" or "banned". */
const char *pl_status_name(enum pl_status s);

/* One published base version.  Strings are owned by the catalog handle;
 * optional ones are NULL when absent. */
struct pl_catalog_entry {
	const char *name;
	const char *version; /* MAJOR.MINOR.PATCH */
	const char *digest;  /* the image manifest's, "sha256:<hex>" */
	enum pl_status status;
	const char *reason;        /* why deprecated or banned */
	uint64_t status_time;      /* when the status last changed (Unix seconds) */
	uint64_t published;        /* when it was published */
	const char *superseded_by; /* the replacing version */
	const char *recipe_digest; /* dev.plinth.recipe.digest of the image */
	const char *lock_digest;   /* dev.plinth.lock.digest */
	const char *base_name;     /* org.opencontainers.image.base.name */
	const char *base_digest;   /* org.opencontainers.image.base.digest */
	const char *signer;        /* fingerprint of the key that signed the image */
	const char *publisher;     /* fingerprint of the ops key that published it */
	const char *layout;        /* absolute path of the OCI layout holding it */
	const char *tag;           /* its tag there */
	const char *registry;      /* "HOST/REPO" holding it (by digest), or NULL */
};

struct pl_catalog_options {
	const char *dir;
	/* Where this reader remembers, per catalog, the newest version it has
	 * seen (rollback protection); NULL: no memory.  Created on demand. */
	const char *state_dir;
	/* The time recorded for changes (Unix seconds). */
	uint64_t now;
	/* The catalog this must be: its id (64 hex digits), or NULL, and a
	 * catalog never read on this machine is trusted on first use. */
	const char *id;
};

/**
 * Create a catalog in `o->dir` (absent or empty) whose trust root is `k`'s
 * public key, signed by `k` (a private key), at version 1.
 */
int pl_catalog_init(const struct pl_catalog_options *o, const struct pl_key *k,
		    struct pl_error **err);

/**
 * Restore the export `path` into `o->dir` (absent or empty), after checking
 * it completely (signatures, history replay).  `k` must be in its trust
 * root: restoring is an act of trust, like init.
 */
int pl_catalog_restore(const struct pl_catalog_options *o, const char *path, const struct pl_key *k,
		       struct pl_error **err);

/**
 * Open and check the catalog (see the top of this file).
 *
 * @return 0 with *out set (free with pl_catalog_free), or a negative
 *         pl_code: PL_EPOLICY for a bad signature, a rollback or a history
 *         that does not add up; PL_EINVAL for malformed files.
 */
int pl_catalog_open(const struct pl_catalog_options *o, struct pl_catalog **out,
		    struct pl_error **err);
void pl_catalog_free(struct pl_catalog *c);

/** The catalog's version (number of changes so far). */
uint64_t pl_catalog_version(const struct pl_catalog *c);

/** Its identity: hex sha256 of its first history record. */
const char *pl_catalog_id(const struct pl_catalog *c);

/** The trust root's fingerprints; *n gets the count. */
const char *const *pl_catalog_trust(const struct pl_catalog *c, size_t *n);

/** The trust root's keys (public), for pl_verify_image(). */
const struct pl_key *const *pl_catalog_trust_keys(struct pl_catalog *c, size_t *n);

/**
 * The entries of base `name` (NULL: every base), sorted by name, then by
 * version (oldest first).  *out points into the catalog.
 */
int pl_catalog_entries(struct pl_catalog *c, const char *name,
		       const struct pl_catalog_entry *const **out, size_t *n,
		       struct pl_error **err);

/**
 * Look up NAME@VERSION exactly.  @return 0, or PL_EINVAL when absent.
 */
int pl_catalog_get(struct pl_catalog *c, const char *name, const char *version,
		   const struct pl_catalog_entry **out, struct pl_error **err);

/**
 * The entry of base `name` whose digest is `digest`, or NULL.
 */
int pl_catalog_find_digest(struct pl_catalog *c, const char *name, const char *digest,
			   const struct pl_catalog_entry **out, struct pl_error **err);

/**
 * Resolve "NAME@RANGE" (RANGE: MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH) to
 * the newest approved version in range.  When the range holds no approved
 * version, an exact pin (or the newest version in range) that was
 * superseded resolves through its replacements, and a deprecated one
 * resolves as it is; both set *warning (allocated; the caller frees it).
 * A banned version is refused with its reason (PL_EPOLICY); an empty range
 * is PL_EINVAL.
 */
int pl_catalog_resolve(struct pl_catalog *c, const char *spec, const struct pl_catalog_entry **out,
		       char **warning, struct pl_error **err);

/* One change in the history. */
struct pl_catalog_change {
	uint64_t seq; /* 1, 2, ...; the catalog's version after it */
	uint64_t time;
	const char *op; /* init, publish, deprecate, ban, supersede, trust */
	const char *name, *version, *digest, *reason, *to; /* when they apply */
	const char *key;    /* fingerprint of the ops key that made the change */
	const char *record; /* the record as stored (one JSON line, no newline) */
};

/**
 * Replay the whole history, checking every link and that it rebuilds the
 * signed state exactly; call `fn` for each change when `fn` is not NULL
 * (non-zero from fn stops and is returned).
 */
int pl_catalog_verify(struct pl_catalog *c,
		      int (*fn)(void *ctx, const struct pl_catalog_change *ch), void *ctx,
		      struct pl_error **err);

/**
 * Write a self-contained backup of the catalog (state, history, objects)
 * to `path` atomically.
 */
int pl_catalog_export(struct pl_catalog *c, const char *path, struct pl_error **err);

struct pl_publish_result {
	char name[129];
	char version[64];
	char digest[72];
	uint64_t catalog_version;
	bool existed; /* already published with this digest: nothing changed */
};

/**
 * Publish the images `tags[i]` of the layouts `dirs[i]` (i < n), as one
 * atomic change: all of them or, on any error, none.  Name and version come
 * from each image's org.opencontainers.image.title/version annotations;
 * each must be signed by a key in the trust root, and `k` must be in it.
 * res[i] says what became of image i.
 */
int pl_catalog_publish(const struct pl_catalog_options *o, const struct pl_key *k,
		       const char *const *dirs, const char *const *tags, size_t n,
		       struct pl_publish_result *res, struct pl_error **err);

/**
 * Deprecate or ban NAME@VERSION (status PL_STATUS_DEPRECATED or
 * PL_STATUS_BANNED) with `reason` (required for a ban).  Banning is final.
 * Setting the status a version has already changes nothing (*changed false).
 */
int pl_catalog_set_status(const struct pl_catalog_options *o, const struct pl_key *k,
			  const char *name, const char *version, enum pl_status status,
			  const char *reason, bool *changed, struct pl_error **err);

/**
 * Record that NAME@VERSION is in the registry repository `registry`
 * ("HOST/REPO"), where builds on it pull it from (by its digest) when its
 * layout is not on their machine.  Recording the same place again changes
 * nothing (*changed false).
 */
int pl_catalog_locate(const struct pl_catalog_options *o, const struct pl_key *k, const char *name,
		      const char *version, const char *registry, bool *changed,
		      struct pl_error **err);

/**
 * Record that NAME@OLD is replaced by NAME@NEW (approved or deprecated).
 */
int pl_catalog_supersede(const struct pl_catalog_options *o, const struct pl_key *k,
			 const char *name, const char *old_version, const char *new_version,
			 bool *changed, struct pl_error **err);

/** Add (add true) or remove the public key `pub` from the trust root. */
int pl_catalog_trust_change(const struct pl_catalog_options *o, const struct pl_key *k,
			    const struct pl_key *pub, bool add, bool *changed,
			    struct pl_error **err);

struct pl_admit_result {
	char digest[72]; /* the image's manifest digest */
	char signer[72]; /* fingerprint of the key whose signature verified */
	size_t chain;    /* bases checked */
};

/**
 * May the image `tag` of `image_dir` run?  Yes (0) when it is signed by a
 * key in c's trust root, and every base in its chain (from the
 * org.opencontainers.image.base.* annotations, then each base's recorded
 * base) is in the catalog and approved or deprecated (superseded too when
 * `allow_superseded`); the image itself, when it is a catalog entry, must
 * be too.  Otherwise PL_EPOLICY with the reason.
 */
int pl_admit(struct pl_catalog *c, const char *image_dir, const char *tag, bool allow_superseded,
	     struct pl_admit_result *res, struct pl_error **err);

#endif
