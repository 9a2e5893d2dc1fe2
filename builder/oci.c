/* oci.c - read images out of an OCI image layout (see oci.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plinth/build.h"
#include "json.h"
#include "layout.h"
#include "oci.h"

int pl__oci_ref_parse(const char *ref, char **dir, char **tag, struct pl_error **err)
{
	if (strncmp(ref, "oci:", 4))
		return pl__error_set(err, PL_EINVAL, 0,
				     "image reference '%s' does not start with 'oci:' (the form is "
				     "oci:DIR:TAG)",
				     ref);
	const char *rest = ref + 4;
	const char *colon = strrchr(rest, ':');
	if (!colon || !colon[1])
		return pl__error_set(err, PL_EINVAL, 0,
				     "image reference '%s' names no tag (the form is oci:DIR:TAG)",
				     ref);
	if (!pl_tag_valid(colon + 1))
		return pl__error_set(err, PL_EINVAL, 0,
				     "image reference '%s': invalid tag '%s': use letters, digits, "
				     "'_', '.' and '-' (at most 128, not starting with '.' or '-')",
				     ref, colon + 1);
	if (colon == rest)
		return pl__error_set(err, PL_EINVAL, 0,
				     "image reference '%s' names no directory (the form is "
				     "oci:DIR:TAG)",
				     ref);
	cleanup_free char *d = pl__strndup(rest, (size_t)(colon - rest), err);
	if (!d)
		return PL_ENOMEM;
	char *t = pl__strdup(colon + 1, err);
	if (!t)
		return PL_ENOMEM;
	*dir = steal_pointer(&d);
	*tag = t;
	return 0;
}

bool pl__digest_parse(const char *s, uint8_t out[PL_SHA256_LEN])
{
	return s && !strncmp(s, "sha256:", 7) && pl__hex_sha256(s + 7, out);
}

void pl__image_release(struct pl__image *im)
{
	free(im->dir);
	free(im->manifest);
	json_decref(im->mjson);
	json_decref(im->config);
	*im = (struct pl__image){ 0 };
}

const char *pl__image_annotation(const struct pl__image *im, const char *key)
{
	return json_string_value(json_object_get(json_object_get(im->mjson, "annotations"), key));
}

int pl__blob_open(const char *dir, const uint8_t digest[PL_SHA256_LEN], int *fd,
		  struct pl_error **err)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(digest, PL_SHA256_LEN, hex);
	cleanup_free char *path = pl__asprintf(err, "%s/blobs/sha256/%s", dir, hex);
	if (!path)
		return PL_ENOMEM;
	/* O_NONBLOCK: a FIFO planted as a blob must not hang the open. */
	cleanup_close int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (f < 0 && errno == ELOOP)
		return pl__error_set(err, PL_EINVAL, 0,
				     "blob sha256:%s is a symbolic link ('%s'): refused", hex,
				     path);
	if (f < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open blob '%s'", path);
	struct stat st;
	if (fstat(f, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat blob '%s'", path);
	if (!S_ISREG(st.st_mode))
		return pl__error_set(err, PL_EINVAL, 0, "blob '%s' is not a regular file", path);
	int flags = fcntl(f, F_GETFL);
	if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot set up blob '%s'", path);
	*fd = pl__steal_fd(&f);
	return 0;
}

int pl__blob_read(const char *dir, const uint8_t digest[PL_SHA256_LEN], size_t max, char **out,
		  size_t *len, struct pl_error **err)
{
	char name[PL_DIGEST_STR_LEN + 8];
	snprintf(name, sizeof(name), "blob ");
	pl__digest_str(digest, name + 5);
	cleanup_close int fd = -1;
	cleanup_free char *text = NULL;
	size_t n = 0;
	int rc = pl__blob_open(dir, digest, &fd, err);
	if (rc < 0 || (rc = pl__read_fd(fd, name, max, &text, &n, err)) < 0)
		return rc;
	uint8_t got[PL_SHA256_LEN];
	pl__sha256(text, n, got);
	if (memcmp(got, digest, PL_SHA256_LEN))
		return pl__error_set(err, PL_EDIGEST, 0, "%s does not match its digest", name);
	*out = steal_pointer(&text);
	*len = n;
	return 0;
}

/* A descriptor's digest and size, checked; `what` names it in errors. */
static int descriptor(const json_t *d, const char *what, uint8_t digest[PL_SHA256_LEN],
		      uint64_t *size, struct pl_error **err)
{
	if (!json_is_object(d))
		return pl__error_set(err, PL_EINVAL, 0, "%s is not a descriptor (an object)", what);
	if (!json_is_string(json_object_get(d, "mediaType")))
		return pl__error_set(err, PL_EINVAL, 0, "%s has no 'mediaType' string", what);
	const char *ds = json_string_value(json_object_get(d, "digest"));
	if (!pl__digest_parse(ds, digest))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: digest '%s' is not sha256: and 64 lowercase hex digits",
				     what, ds ? ds : "(none)");
	json_t *s = json_object_get(d, "size");
	if (!json_is_integer(s) || json_integer_value(s) < 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s has no 'size' (a non-negative integer)",
				     what);
	*size = (uint64_t)json_integer_value(s);
	json_t *ann = json_object_get(d, "annotations");
	if (ann && !json_is_object(ann))
		return pl__error_set(err, PL_EINVAL, 0, "%s: 'annotations' is not an object", what);
	return 0;
}

/* Read the JSON blob `digest`: at most PL__MANIFEST_MAX bytes, of `size`
 * bytes when has_size, a JSON object. */
static int read_json_blob(const char *dir, const uint8_t digest[PL_SHA256_LEN], bool has_size,
			  uint64_t size, char **text, size_t *text_len, json_t **out,
			  struct pl_error **err)
{
	char ds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(digest, ds);
	if (has_size && size > PL__MANIFEST_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "blob %s of %llu bytes is larger than the limit of %zu bytes",
				     ds, (unsigned long long)size, PL__MANIFEST_MAX);
	cleanup_free char *data = NULL;
	size_t len = 0;
	int rc = pl__blob_read(dir, digest, PL__MANIFEST_MAX, &data, &len, err);
	if (rc < 0)
		return rc;
	if (has_size && len != size)
		return pl__error_set(err, PL_EDIGEST, 0,
				     "blob %s is %zu bytes, its descriptor says %llu", ds, len,
				     (unsigned long long)size);
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return pl__error_set(err, PL_EINVAL, 0, "blob %s: line %d, column %d: %s", ds,
				     je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return pl__error_set(err, PL_EINVAL, 0, "blob %s is not a JSON object", ds);
	}
	*out = j;
	if (text) {
		*text = steal_pointer(&data);
		*text_len = len;
	}
	return 0;
}

/* Read, check and parse the manifest `digest` and its config into *out. */
static int load_image(const char *dir, const uint8_t digest[PL_SHA256_LEN], bool has_size,
		      uint64_t size, struct pl__image *out, struct pl_error **err)
{
	char ds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(digest, ds);
	cleanup_image struct pl__image im = { 0 };
	if (!(im.dir = pl__strdup(dir, err)))
		return PL_ENOMEM;
	memcpy(im.digest, digest, PL_SHA256_LEN);
	size_t len = 0;
	int rc = read_json_blob(dir, digest, has_size, size, &im.manifest, &len, &im.mjson, err);
	if (rc < 0)
		return rc;
	im.size = len;
	json_t *m = im.mjson;
	json_t *sv = json_object_get(m, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return pl__error_set(err, PL_EINVAL, 0, "manifest %s: schemaVersion is not 2", ds);
	json_t *mt = json_object_get(m, "mediaType");
	if (mt && (!json_is_string(mt) || strcmp(json_string_value(mt), PL__MT_MANIFEST)))
		return pl__error_set(
		    err, PL_EINVAL, 0, "manifest %s: media type '%s' is not an OCI image manifest",
		    ds, json_is_string(mt) ? json_string_value(mt) : "(not a string)");
	json_t *ann = json_object_get(m, "annotations");
	if (ann && !json_is_object(ann))
		return pl__error_set(err, PL_EINVAL, 0,
				     "manifest %s: 'annotations' is not an object", ds);
	json_t *cfg = json_object_get(m, "config");
	uint64_t csize = 0;
	if ((rc = descriptor(cfg, "config", im.config_digest, &csize, err)) < 0)
		return pl__error_wrap(err, rc, "manifest %s", ds);
	const char *cmt = json_string_value(json_object_get(cfg, "mediaType"));
	if (strcmp(cmt, PL__MT_CONFIG))
		return pl__error_set(
		    err, PL_EINVAL, 0,
		    "manifest %s: config media type '%s' is not an OCI image config", ds, cmt);
	json_t *layers = json_object_get(m, "layers");
	if (!json_is_array(layers))
		return pl__error_set(err, PL_EINVAL, 0, "manifest %s has no 'layers' list", ds);
	size_t i;
	json_t *d;
	json_array_foreach (layers, i, d) {
		char what[48];
		uint8_t ld[PL_SHA256_LEN];
		uint64_t lsize;
		snprintf(what, sizeof(what), "layers[%zu]", i);
		if ((rc = descriptor(d, what, ld, &lsize, err)) < 0)
			return pl__error_wrap(err, rc, "manifest %s", ds);
	}
	if ((rc = read_json_blob(dir, im.config_digest, true, csize, NULL, NULL, &im.config, err)) <
	    0)
		return rc;
	*out = im;
	im = (struct pl__image){ 0 };
	return 0;
}

/* The layout's index.json, parsed (not yet checked); *path names it. */
static int read_index(const char *dir, char **path, json_t **out, struct pl_error **err)
{
	if (!(*path = pl__asprintf(err, "%s/index.json", dir)))
		return PL_ENOMEM;
	cleanup_free char *data = NULL;
	size_t len = 0;
	int rc = pl__read_file(*path, PL_INDEX_MAX, &data, &len, err);
	if (rc < 0)
		return rc;
	json_error_t je;
	if (!(*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)))
		return pl__error_set(err, PL_EINVAL, 0, "'%s': line %d, column %d: %s", *path,
				     je.line, je.column, je.text);
	return 0;
}

static int find_tag(const char *dir, const char *tag, json_t *idx, json_t **found,
		    struct pl_error **err)
{
	int rc = pl__index_check(dir, idx, err);
	*found = rc < 0 ? NULL : pl__index_find(idx, tag);
	return rc;
}

static int image_open(const char *dir, const char *tag, bool missing_ok, struct pl__image *out,
		      struct pl_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *idx = NULL;
	int rc = read_index(dir, &path, &idx, err);
	if (rc < 0)
		return rc;
	json_t *d = NULL;
	if ((rc = find_tag(dir, tag, idx, &d, err)) < 0)
		return rc;
	if (!d) {
		if (missing_ok)
			return PL__OCI_NO_TAG;
		return pl__error_set(err, PL_EINVAL, 0, "no tag '%s' in '%s'", tag, path);
	}
	uint8_t digest[PL_SHA256_LEN];
	uint64_t size = 0;
	if ((rc = descriptor(d, "its descriptor in index.json", digest, &size, err)) < 0)
		return rc;
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	if (strcmp(mt, PL__MT_MANIFEST))
		return pl__error_set(err, PL_EINVAL, 0,
				     "media type '%s' is not an OCI image manifest (expected '%s')",
				     mt, PL__MT_MANIFEST);
	return load_image(dir, digest, true, size, out, err);
}

int pl__image_open(const char *dir, const char *tag, bool missing_ok, struct pl__image *out,
		   struct pl_error **err)
{
	int rc = image_open(dir, tag, missing_ok, out, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "image 'oci:%s:%s'", dir, tag);
	return rc;
}

int pl__image_open_digest(const char *dir, const uint8_t digest[PL_SHA256_LEN],
			  struct pl__image *out, struct pl_error **err)
{
	int rc = load_image(dir, digest, false, 0, out, err);
	if (rc < 0) {
		char ds[PL_DIGEST_STR_LEN + 1];
		pl__digest_str(digest, ds);
		return pl__error_wrap(err, rc, "image %s in '%s'", ds, dir);
	}
	return 0;
}

/* The artifact manifest `d` (an index.json descriptor) if it is of type
 * `type` about `subject`: its only layer's content in *out. */
static int artifact_layer(const char *dir, const json_t *d, const uint8_t subject[PL_SHA256_LEN],
			  const char *type, size_t max, char **out, size_t *len,
			  struct pl_error **err)
{
	uint8_t digest[PL_SHA256_LEN];
	uint64_t size = 0;
	int rc = descriptor(d, "a descriptor in index.json", digest, &size, err);
	if (rc < 0)
		return rc;
	cleanup_json json_t *m = NULL;
	if ((rc = read_json_blob(dir, digest, true, size, NULL, NULL, &m, err)) < 0)
		return rc;
	uint8_t sd[PL_SHA256_LEN], ld[PL_SHA256_LEN];
	uint64_t ssize, lsize;
	const json_t *sub = json_object_get(m, "subject");
	const json_t *layers = json_object_get(m, "layers");
	const char *at = json_string_value(json_object_get(m, "artifactType"));
	if (!sub || !at || strcmp(at, type) || descriptor(sub, "subject", sd, &ssize, NULL) < 0 ||
	    memcmp(sd, subject, PL_SHA256_LEN))
		return PL__OCI_NO_TAG;
	char ds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(digest, ds);
	if (json_array_size(layers) != 1 ||
	    (rc = descriptor(json_array_get(layers, 0), "layers[0]", ld, &lsize, err)) < 0)
		return rc < 0 ? pl__error_wrap(err, rc, "artifact %s", ds)
			      : pl__error_set(err, PL_EINVAL, 0,
					      "artifact %s does not have exactly one layer", ds);
	if (lsize > max)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "artifact %s: its %llu bytes exceed the limit of %zu", ds,
				     (unsigned long long)lsize, max);
	if ((rc = pl__blob_read(dir, ld, max, out, len, err)) < 0)
		return rc;
	if (*len != lsize) {
		free(*out);
		*out = NULL;
		return pl__error_set(
		    err, PL_EDIGEST, 0,
		    "artifact %s: its layer is %zu bytes, its descriptor says %llu", ds, *len,
		    (unsigned long long)lsize);
	}
	return 0;
}

int pl__referrer_read(const char *dir, const uint8_t subject[PL_SHA256_LEN],
		      const char *artifact_type, size_t max, char **out, size_t *len,
		      struct pl_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *idx = NULL;
	int rc = read_index(dir, &path, &idx, err);
	if (rc < 0 || (rc = pl__index_check(dir, idx, err)) < 0)
		return rc;
	const json_t *manifests = json_object_get(idx, "manifests");
	for (size_t i = json_array_size(manifests); i-- > 0;) {
		const json_t *d = json_array_get(manifests, i);
		const char *at = json_string_value(json_object_get(d, "artifactType"));
		const char *mt = json_string_value(json_object_get(d, "mediaType"));
		if (!at || strcmp(at, artifact_type) || !mt || strcmp(mt, PL__MT_MANIFEST))
			continue;
		if ((rc = artifact_layer(dir, d, subject, artifact_type, max, out, len, err)) !=
		    PL__OCI_NO_TAG)
			return rc;
	}
	return PL__OCI_NO_TAG;
}

int pl__referrers_list(const char *dir, const uint8_t subject[PL_SHA256_LEN], json_t **out,
		       struct pl_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *idx = NULL;
	int rc = read_index(dir, &path, &idx, err);
	if (rc < 0 || (rc = pl__index_check(dir, idx, err)) < 0)
		return rc;
	char sd[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(subject, sd);
	cleanup_json json_t *list = json_array();
	if (!list)
		return pl__error_nomem(err);
	size_t i;
	json_t *d;
	json_array_foreach (json_object_get(idx, "manifests"), i, d) {
		const char *mt = json_string_value(json_object_get(d, "mediaType"));
		const char *s = json_string_value(
		    json_object_get(json_object_get(d, "annotations"), "dev.plinth.subject"));
		if (mt && !strcmp(mt, PL__MT_MANIFEST) && s && !strcmp(s, sd) &&
		    json_is_string(json_object_get(d, "artifactType")) &&
		    json_array_append(list, d) < 0)
			return pl__error_nomem(err);
	}
	*out = steal_pointer(&list);
	return 0;
}

bool pl__blob_present(const char *dir, const char *digest)
{
	uint8_t raw[PL_SHA256_LEN];
	if (!pl__digest_parse(digest, raw))
		return false;
	cleanup_free char *p =
	    pl__asprintf(NULL, "%s/blobs/sha256/%s", dir, digest + strlen("sha256:"));
	return p && access(p, F_OK) == 0;
}
