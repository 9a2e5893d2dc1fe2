/*
 * plinth/registry.h - push images to, and pull them from, OCI registries.
 *
 * plinth speaks the OCI distribution API itself.  A push uploads only the
 * blobs the registry lacks (asking first, and mounting them from another
 * repository of the same registry when one is named), in parallel, then
 * the manifest, then the image's signature and artifacts (SBOM, tests).
 * A pull checks every byte it receives against its digest and writes the
 * image, its signature and artifacts into an OCI layout as one
 * transaction: a failed pull leaves the layout as it was.
 *
 * Registries are named "host[:port]"; references "HOST[:PORT]/REPO:TAG"
 * or "HOST[:PORT]/REPO@sha256:HEX".  HTTPS with verified certificates is
 * the only transport unless a registry is named in `insecure`.
 * Credentials are never part of a message.
 */
#ifndef PLINTH_REGISTRY_H
#define PLINTH_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "plinth/common.h"

/* How far a transfer has got (for a progress display). */
struct pl_transfer {
	uint64_t bytes_done, bytes_total; /* of the blobs being moved */
	unsigned blobs_done, blobs_total;
};

struct pl_registry_options {
	/* Credential files (containers' auth.json or docker's config.json
	 * format), NULL-terminated: the first that holds credentials for a
	 * registry gives them.  NULL: anonymous only. */
	const char *const *auth_files;
	/* Registries ("host[:port]") reached over plain HTTP; NULL-terminated. */
	const char *const *insecure;
	/* PEM bundle of the certificate authorities to trust; NULL: the system's. */
	const char *ca_file;
	/* Blobs moved at once; 0: 4. */
	unsigned jobs;
	/* Attempts after the first, on 408/429/5xx answers and broken
	 * connections, with exponential backoff (0.25 s, 0.5 s, ...); -1: 4. */
	int retries;
	/* Blobs larger than this are uploaded in chunks of this size (PATCH);
	 * 0: 64 MiB. */
	uint64_t chunk_size;
	/* Called now and then while blobs move (from any thread, never two
	 * at once); NULL for none. */
	void (*progress)(void *ctx, const struct pl_transfer *t);
	void *progress_ctx;
};

/* What a push did. */
struct pl_push_result {
	char digest[72];   /* "sha256:..." of the pushed manifest */
	unsigned uploaded; /* blobs uploaded */
	unsigned mounted;  /* blobs mounted from another repository */
	unsigned present;  /* blobs the registry had already */
	uint64_t bytes_uploaded;
	size_t nartifacts;
	struct pl_pushed_artifact {
		char *reference; /* "HOST/REPO:TAG" or "HOST/REPO@sha256:..." */
		char *
		    artifact_type; /* the signature's is "application/vnd.dev.cosign.simplesigning.v1+json" */
	} * artifacts;
};

/** Free what a pl_push_result holds (not the struct). */
void pl_push_result_release(struct pl_push_result *r);

/**
 * Push the image `src` ("oci:DIR:TAG") to `dst` ("HOST/REPO:TAG"), with
 * its signature (tag sha256-HEX.sig of the layout) and the artifacts
 * stored about it.  A blob the registry lacks is first asked to be
 * mounted from the repository `mount_from` of the same registry (a name
 * without the host; NULL: none), else uploaded.  The artifacts, the
 * signature and, on a registry without the referrers API, the referrers
 * tag (sha256-HEX, an index listing them, as the distribution spec says)
 * go before the image's tag, so a push that fails leaves no tag on an
 * image without its signature.
 * @return 0 with *res filled (release it), or a negative pl_code.
 */
int pl_push(const char *src, const char *dst, const char *mount_from,
	    const struct pl_registry_options *o, struct pl_push_result *res, struct pl_error **err);

/* What a pull did. */
struct pl_pull_result {
	char digest[72];        /* of the manifest stored in the layout */
	char remote_digest[72]; /* of the manifest the registry holds */
	bool converted;         /* a Docker schema 2 image, stored as OCI */
	unsigned fetched;       /* blobs downloaded */
	unsigned present;       /* blobs the layout had already */
	uint64_t bytes_fetched;
	unsigned artifacts; /* signature and artifacts stored with it */
};

/**
 * Pull `src` ("HOST/REPO:TAG" or "HOST/REPO@sha256:HEX") into `dst`
 * ("oci:DIR:TAG"), with its signature and artifacts.  OCI image manifests
 * and Docker schema 2 manifests are accepted; from an index (or Docker
 * manifest list) the image for `platform` ("OS/ARCH[/VARIANT]", NULL:
 * linux and the architecture plinth runs on) is taken.  A Docker image is
 * stored as an OCI image with the same config and layers (its manifest
 * digest changes, as skopeo's conversion does; its signature and artifacts,
 * which name the old digest, are not pulled).
 * @return 0 with *res filled, or a negative pl_code.
 */
int pl_pull(const char *src, const char *dst, const char *platform,
	    const struct pl_registry_options *o, struct pl_pull_result *res, struct pl_error **err);

/**
 * The tags of the repository `repo` ("HOST/REPO"), sorted, in a newly
 * allocated NULL-terminated array (free each, then the array).
 * @return 0, or a negative pl_code.
 */
int pl_registry_tags(const char *repo, const struct pl_registry_options *o, char ***tags, size_t *n,
		     struct pl_error **err);

#endif
