/*
 * oci.h - read images out of an OCI image layout.
 *
 * Everything read is checked: index.json strictly parsed, every blob's
 * sha256 and size against its descriptor, manifests and configs against
 * their media types.  Nothing here writes; see layout.h for that.
 */
#ifndef PLINTH_OCI_H
#define PLINTH_OCI_H

#include <jansson.h>

#include "internal.h"

#define PL__MT_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define PL__MT_CONFIG    "application/vnd.oci.image.config.v1+json"
#define PL__MANIFEST_MAX ((size_t)4 << 20) /* a manifest or config blob */

/*
 * Split skopeo's "oci:DIR:TAG" into newly allocated *dir and *tag.  The tag
 * is whatever follows the last ':' and must be pl_tag_valid(); DIR may
 * itself contain ':'.  "oci:DIR" without a tag is an error (plinth never
 * guesses "latest").
 */
int pl__oci_ref_parse(const char *ref, char **dir, char **tag, struct pl_error **err);

/* An image manifest read from a layout. */
struct pl__image {
	char *dir;                     /* the layout, as given */
	uint8_t digest[PL_SHA256_LEN]; /* of the manifest */
	uint64_t size;                 /* of the manifest */
	char *manifest;                /* its bytes, NUL-terminated */
	json_t *mjson;                 /* parsed manifest */
	json_t *config;                /* parsed config blob */
	uint8_t config_digest[PL_SHA256_LEN];
};

void pl__image_release(struct pl__image *im);
#define cleanup_image __attribute__((cleanup(pl__image_release)))

/*
 * Open the image that `tag` names in the layout `dir` (the last entry of
 * index.json whose org.opencontainers.image.ref.name is `tag`).  The
 * manifest must be an OCI image manifest; its config is read and checked
 * too.  Errors say "image 'oci:DIR:TAG': ...".  A missing tag is PL_EINVAL
 * with "no tag 'TAG'" in the message; PL__OCI_NO_TAG is returned instead
 * (no error set) when `missing_ok`.
 */
#define PL__OCI_NO_TAG 1
int pl__image_open(const char *dir, const char *tag, bool missing_ok, struct pl__image *out,
		   struct pl_error **err);

/* Open the image manifest with `digest` in `dir` (tagged or not). */
int pl__image_open_digest(const char *dir, const uint8_t digest[PL_SHA256_LEN],
			  struct pl__image *out, struct pl_error **err);

/* The manifest annotation `key`, or NULL. */
const char *pl__image_annotation(const struct pl__image *im, const char *key);

/*
 * Read the blob `digest` of `dir` into memory (at most `max` bytes; more is
 * PL_ELIMIT), checking its sha256.  *out is NUL-terminated, *len excludes
 * the NUL.
 */
int pl__blob_read(const char *dir, const uint8_t digest[PL_SHA256_LEN], size_t max, char **out,
		  size_t *len, struct pl_error **err);

/* Whether the layout `dir` has a file for the blob `digest` ("sha256:HEX";
 * its content is not checked). */
bool pl__blob_present(const char *dir, const char *digest);

/* Open the blob `digest` of `dir` for reading (O_RDONLY|O_CLOEXEC|O_NOFOLLOW);
 * the caller checks the content. */
int pl__blob_open(const char *dir, const uint8_t digest[PL_SHA256_LEN], int *fd,
		  struct pl_error **err);

/*
 * An artifact stored beside the image `subject` in the layout `dir`: the
 * content of the only layer of the last manifest in index.json whose
 * artifactType is `artifact_type` and whose subject is `subject` (at most
 * `max` bytes, checked against its digest).  @return 0 with *out
 * (NUL-terminated) and *len, PL__OCI_NO_TAG when there is none, or a
 * negative pl_code.
 */
int pl__referrer_read(const char *dir, const uint8_t subject[PL_SHA256_LEN],
		      const char *artifact_type, size_t max, char **out, size_t *len,
		      struct pl_error **err);

/* The descriptors in index.json of the artifacts stored about `subject`
 * (as pl__layout_add_referrer() writes them), in a new array. */
int pl__referrers_list(const char *dir, const uint8_t subject[PL_SHA256_LEN], json_t **out,
		       struct pl_error **err);

/* Parse a descriptor's "digest" ("sha256:<64 lowercase hex>") into `out`. */
bool pl__digest_parse(const char *s, uint8_t out[PL_SHA256_LEN]);

#endif
