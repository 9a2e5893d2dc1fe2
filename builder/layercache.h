/*
 * layercache.h - derived layers kept for reuse, keyed by what made them.
 *
 * A recipe's own layer is a function of its inputs - the recipe, the
 * packages it pins, the content of its host files, the clock and the
 * compression - and of the answers its build got from the base (see
 * pl__baseimg_trace_start).  The cache keeps, per digest of the inputs
 * (the key), the layer last made from them with the questions asked of
 * its base and the digest of their answers.  A build whose key is there
 * and whose base answers the same questions the same way takes the layer
 * as it is: nothing is assembled or compressed, and the image is the
 * same, byte for byte, as one built from nothing.
 *
 * An entry is DIR/<key hex>.json; the blob itself stays in the layout it
 * was written to, which the entry names.  Entries are written atomically;
 * one that cannot be read or whose blob is gone is a miss, never an error.
 */
#ifndef PLINTH_LAYERCACHE_H
#define PLINTH_LAYERCACHE_H

#include "baseimg.h"
#include "layer.h"
#include "packages.h"

#define PL__LAYER_CACHE_ENTRY_MAX ((size_t)64 << 20) /* bytes of one entry */

struct pl__cached_layer {
	struct pl__layer layer;
	size_t entries;  /* entries in the layer's tree */
	size_t packages; /* Debian packages it installed */
	/* From a lock file on a base: the control paragraphs of the packages
	 * installed, for the stale-lock check a taken layer is put through
	 * (pl__packages_check_pinned); else NULL.  Owned. */
	json_t *pinned;
};

/*
 * The key of `r`'s layer as image version `version` (it is in
 * /etc/os-release), with the packages `lock` pins (and whether from a lock
 * file, which is then checked against the base), at
 * `clock`, compressed as `compression` (a pl_compression).  Hashes the
 * content of every host file the recipe copies.  PL_EINVAL when a source
 * cannot be read the way a build reads it (the build then says why).
 */
int pl__layer_key(const struct pl_recipe *r, const char *version, const struct pl__lock *lock,
		  uint64_t clock, int compression, uint8_t key[PL_SHA256_LEN],
		  uint8_t sources[PL_SHA256_LEN], struct pl_error **err);

/*
 * The digest of the host files `r` copies (part of its key, in `sources`
 * above): each source's name as written, and what it is - kind, mode,
 * a file's content, a directory's names and what they are, a link's
 * target.  PL_EINVAL when a source cannot be read as a build reads it.
 */
int pl__sources_digest(const struct pl_recipe *r, uint8_t out[PL_SHA256_LEN],
		       struct pl_error **err);

/* Read what every key depends on once, before forking builds that make
 * keys (so that each does not read it again). */
void pl__layer_cache_prime(void);

/*
 * Look `key` up in the cache `dir` for a build on `base` (NULL: scratch).
 * @return 1 with *out filled and *layout set to the layout holding the blob
 * (allocated), 0 for a miss, or a negative pl_code for an allocation
 * failure.
 */
int pl__layer_cache_get(const char *dir, const uint8_t key[PL_SHA256_LEN],
			const struct pl__baseimg *base, struct pl__cached_layer *out, char **layout,
			struct pl_error **err);

/* The entry `text` (`len` bytes) for a build on `base`, as
 * pl__layer_cache_get() takes it: 1, 0 or a negative pl_code. */
int pl__layer_cache_entry(const char *text, size_t len, const struct pl__baseimg *base,
			  struct pl__cached_layer *out, char **layout, struct pl_error **err);

/*
 * Record that `key` made `l`, now in the layout `layout`, on `base` (NULL:
 * scratch) which was asked `questions` (pl__baseimg_trace_stop()).
 */
int pl__layer_cache_put(const char *dir, const uint8_t key[PL_SHA256_LEN],
			const struct pl__baseimg *base, const json_t *questions,
			const struct pl__cached_layer *l, const char *layout,
			struct pl_error **err);

/* The digest of the running plinth binary (read once): what it found in
 * a layer is remembered only for the same binary. */
const uint8_t *pl__self_digest(void);

#endif
