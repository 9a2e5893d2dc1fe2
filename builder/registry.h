/*
 * registry.h - the OCI distribution API over libcurl.
 *
 * A struct pl__registry is one registry: its address, the credentials
 * found for it and the bearer tokens it granted; it is shared by the
 * threads of a transfer (its mutable state is under a lock).  Each thread
 * talks through its own struct pl__regconn (one libcurl handle, which
 * keeps its connections open between requests).
 *
 * Every request is retried, with exponential backoff, on a broken
 * connection and on 408, 429 (honouring Retry-After), 500, 502, 503 and
 * 504; a 401 is answered once per request by authenticating (Basic, or a
 * bearer token for the request's scope from the challenge's realm).
 */
#ifndef PLINTH_REGISTRY_INTERNAL_H
#define PLINTH_REGISTRY_INTERNAL_H

#include <jansson.h>

#include "internal.h"
#include "plinth/registry.h"

#define PL__MT_INDEX       "application/vnd.oci.image.index.v1+json"
#define PL__MT_DOCKER      "application/vnd.docker.distribution.manifest.v2+json"
#define PL__MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define PL__MT_DOCKER_CFG  "application/vnd.docker.container.image.v1+json"
#define PL__TAGS_MAX       ((size_t)16 << 20) /* a page of tags */
#define PL__TAGS_TOTAL     1000000            /* tags of a repository */
#define PL__TOKEN_MAX      ((size_t)1 << 20)  /* a token endpoint's answer */

struct pl__registry;
struct pl__regconn;

/* Open `host` ("host[:port]") with `o` (borrowed for the registry's life);
 * `repo` picks the credentials (they may be per repository); `push` asks
 * tokens for pushing too. */
int pl__registry_open(const char *host, const char *repo, bool push,
		      const struct pl_registry_options *o, struct pl__registry **out,
		      struct pl_error **err);
void pl__registry_free(struct pl__registry *r);
void pl__registry_freep(struct pl__registry **r);
#define cleanup_registry __attribute__((cleanup(pl__registry_freep)))

/* A connection for one thread. */
int pl__regconn_new(struct pl__registry *r, struct pl__regconn **out, struct pl_error **err);
void pl__regconn_free(struct pl__regconn *c);
void pl__regconn_freep(struct pl__regconn **c);
#define cleanup_regconn __attribute__((cleanup(pl__regconn_freep)))

/* Bytes of blobs sent and received so far, by every connection (progress). */
uint64_t pl__registry_moved(struct pl__registry *r);

/* Whether the blob `digest` ("sha256:...") is in `repo`.  @return 0 when
 * it is (with its size in *size when not NULL), 1 when not. */
int pl__reg_blob_exists(struct pl__regconn *c, const char *repo, const char *digest, uint64_t *size,
			struct pl_error **err);

/*
 * Put the blob `digest` (`size` bytes, read from `fd`, checked against the
 * digest as it is sent: a mismatch sends nothing whole and is PL_EDIGEST)
 * into `repo`.  With `from`, the registry is first asked to mount it from
 * that repository.  @return 0 when uploaded (*sent: the bytes sent), 1
 * when mounted.
 */
int pl__reg_blob_put(struct pl__regconn *c, const char *repo, const char *digest, uint64_t size,
		     int fd, const char *from, uint64_t *sent, struct pl_error **err);

/* Download the blob `digest` of `repo` into `fd` (truncated first), checking
 * its size and digest (PL_EDIGEST when they do not match). */
int pl__reg_blob_get(struct pl__regconn *c, const char *repo, const char *digest, uint64_t size,
		     int fd, struct pl_error **err);

/*
 * GET the manifest `ref` (tag or digest) of `repo`, accepting the media
 * types `accept` (comma-separated).  Its digest is checked: against `ref`
 * when that is one, else against the registry's Docker-Content-Digest.
 * @return 0 with *body (NUL-terminated, at most PL__MANIFEST_MAX), *len,
 * *media_type (the Content-Type) and digest, or 1 when there is none.
 */
int pl__reg_manifest_get(struct pl__regconn *c, const char *repo, const char *ref,
			 const char *accept, char **body, size_t *len, char **media_type,
			 uint8_t digest[PL_SHA256_LEN], struct pl_error **err);

/* PUT the manifest `body` as `ref` of `repo`; *subject (may be NULL) says
 * whether the registry answered OCI-Subject (it keeps referrers itself). */
int pl__reg_manifest_put(struct pl__regconn *c, const char *repo, const char *ref,
			 const char *media_type, const char *body, size_t len, bool *subject,
			 struct pl_error **err);

/* The referrers of `digest` in `repo` (an image index), or 1 when the
 * registry has no referrers API. */
int pl__reg_referrers(struct pl__regconn *c, const char *repo, const char *digest, json_t **out,
		      struct pl_error **err);

/* Every tag of `repo` (following the Link header's pages), unsorted. */
int pl__reg_tags(struct pl__regconn *c, const char *repo, json_t **out, struct pl_error **err);

#endif
