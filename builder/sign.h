/* sign.h - raw signatures for the catalog (see plinth/sign.h). */
#ifndef PLINTH_SIGN_IMPL_H
#define PLINTH_SIGN_IMPL_H

#include "plinth/sign.h"
#include "internal.h"

/* ECDSA P-256 over SHA-256 of `p`, DER, base64 (no newlines) in *b64. */
int pl__sign_b64(const struct pl_key *k, const void *p, size_t n, char **b64,
		 struct pl_error **err);

/* pl_verify_image() of an image already open (tagged `tag` in im->dir),
 * for callers that read the image too: it is read once. */
struct pl__image;
int pl__verify_opened(const struct pl__image *im, const char *tag, const struct pl_key *const *keys,
		      size_t nkeys, struct pl_verify_result *res, struct pl_error **err);

/* Whether `b64` is a valid signature of `p` by `k` (malformed base64 or
 * DER: false). */
bool pl__verify_b64(const struct pl_key *k, const void *p, size_t n, const char *b64);

#endif
