/*
 * push-impl.h - what pull makes of the manifests a registry serves,
 * apart from the network, for the fuzz target and the unit tests.
 */
#ifndef PLINTH_PUSH_IMPL_H
#define PLINTH_PUSH_IMPL_H

#include <jansson.h>

#include "internal.h"

/*
 * Parse the manifest `body` a registry served for `ref` with the
 * Content-Type `served` ("" for none): JSON, schemaVersion 2, and its own
 * mediaType, when it has one, agreeing with the served one.  *media_type
 * is the type it is (its own, else the served one).
 */
int pl__manifest_parse(const char *ref, const char *body, size_t len, const char *served,
		       json_t **out, char **media_type, struct pl_error **err);

/* The digest (a new string) of the manifest for `platform` ("os/arch[/variant]",
 * NULL: linux and this machine's) in the index `idx`. */
int pl__index_pick(const json_t *idx, const char *platform, char **digest, struct pl_error **err);

/*
 * The image manifest `img` of type `mt` as plinth stores it, in *out: the
 * OCI manifest itself, or the OCI manifest a Docker schema 2 one converts
 * to (*docker set); its config an image config, its layers tar, gzip or
 * zstd, every descriptor whole.  `src` names it in errors.
 */
int pl__manifest_image(const char *src, const json_t *img, const char *mt, json_t **out,
		       bool *docker, struct pl_error **err);

#endif
