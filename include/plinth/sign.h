/*
 * plinth/sign.h - keys, and cosign-compatible image signatures.
 *
 * Keys are ECDSA P-256.  A private key file is PKCS#8 PEM (mode 0600), a
 * public key file PEM SubjectPublicKeyInfo, as `cosign generate-key-pair`
 * and `openssl ec -pubout` write them.  A key's fingerprint is
 * "sha256:<hex>" of its public key's DER SubjectPublicKeyInfo.
 *
 * A signature follows cosign's layout: the payload is the simple-signing
 * JSON {"critical":{"identity":{"docker-reference":REF},"image":
 * {"docker-manifest-digest":DIGEST},"type":"cosign container image
 * signature"},"optional":null}; the signature is ECDSA over SHA-256 of the
 * payload, DER, base64 in the layer annotation
 * "dev.cosignproject.cosign/signature"; the payload is a layer of media
 * type "application/vnd.dev.cosign.simplesigning.v1+json" in an image
 * manifest tagged "sha256-<hex of the signed manifest digest>.sig" in the
 * same layout, one layer per signature.
 */
#ifndef PLINTH_SIGN_H
#define PLINTH_SIGN_H

#include "plinth/common.h"

struct pl_key;

/**
 * Make a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub.
 * Refuses to replace either file; on failure neither exists.
 *
 * @return 0, or a negative pl_code with *err set.
 */
int pl_keygen(const char *prefix, struct pl_error **err);

/**
 * Load a key from a PEM file: a private key (PKCS#8, or SEC1 "EC PRIVATE
 * KEY") or a public key.  Only P-256 keys are accepted.
 *
 * @return 0 with *out set (free with pl_key_free), or a negative pl_code.
 */
int pl_key_load(const char *path, struct pl_key **out, struct pl_error **err);

/**
 * Load a public key from PEM text held in memory (`name` names it in errors).
 */
int pl_key_from_pem(const char *name, const char *pem, size_t len, struct pl_key **out,
		    struct pl_error **err);

void pl_key_free(struct pl_key *k);

/** Whether the key holds a private part (it can sign). */
bool pl_key_is_private(const struct pl_key *k);

/** "sha256:<hex>" of the public key's DER SPKI; owned by `k`. */
const char *pl_key_fingerprint(const struct pl_key *k);

/** The public key as PEM SPKI text; owned by `k`. */
const char *pl_key_public_pem(const struct pl_key *k);

struct pl_sign_result {
	char manifest_digest[72]; /* the signed image's manifest, "sha256:<hex>" */
	char signature_tag[80];   /* "sha256-<hex>.sig" */
	size_t signatures;        /* signatures under that tag now */
	bool added;               /* false: this key had signed this identity already */
};

/**
 * Sign the image `tag` of the layout `dir` with the private key `k`,
 * naming it `identity` in the payload (the docker-reference; NULL: the
 * image's org.opencontainers.image.title annotation, else DIR's last
 * component).  An existing signature manifest keeps its signatures and
 * gains one; signing again with the same key and identity adds nothing.
 * The layout is changed atomically.
 */
int pl_sign_image(const char *dir, const char *tag, const struct pl_key *k, const char *identity,
		  struct pl_sign_result *res, struct pl_error **err);

struct pl_verify_result {
	char manifest_digest[72];
	char fingerprint[72]; /* of the key that verified */
	char identity[512];   /* the payload's docker-reference */
};

/**
 * Check that the image `tag` of `dir` carries a valid signature by one of
 * `keys` over a payload whose docker-manifest-digest is the image's
 * manifest digest.  Every layer of the signature manifest is tried.
 *
 * @return 0 with *res filled in; PL_EPOLICY with a reason ("is not signed",
 *         "no signature by a trusted key", "signature ... does not verify",
 *         "payload names digest X, image is Y"), or another pl_code.
 */
int pl_verify_image(const char *dir, const char *tag, const struct pl_key *const *keys,
		    size_t nkeys, struct pl_verify_result *res, struct pl_error **err);

#endif
