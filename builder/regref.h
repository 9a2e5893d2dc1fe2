/*
 * regref.h - references to images in an OCI registry ("HOST[:PORT]/REPO[:TAG][@DIGEST]").
 *
 * A reference always names its registry: plinth never defaults to one, so
 * "debian:12" is refused with a message showing the form it wants.  The
 * first '/'-component is the registry when it holds '.' or ':' or is
 * "localhost"; the rest is the repository, then an optional tag and an
 * optional digest (both may be given: the digest is what is pulled, the tag
 * is kept for messages and annotations).
 *
 * Grammar (the distribution spec's, narrowed where plinth needs less):
 *   host       DNS labels ([A-Za-z0-9] with inner '-', at most 63 each and
 *              253 in all; a name of only digits and dots must be an IPv4
 *              address), an IPv4 address, or an IPv6 address in brackets;
 *              lowercased
 *   port       1..65535 in decimal, no leading zero
 *   repo       components [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)* joined by
 *              '/'; "registry/repo" at most PL__REGNAME_MAX characters
 *   tag        [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     "sha256:" and 64 lowercase hex digits (no other algorithm)
 * A reference is untrusted input (a recipe, a command line): it is read
 * under PL__REGREF_MAX and every error shows it printable.
 */
#ifndef PLINTH_REGREF_H
#define PLINTH_REGREF_H

#include "internal.h"

#define PL__REGREF_MAX  1024 /* a whole reference, in bytes */
#define PL__REGNAME_MAX 255  /* "registry/repo" (as most registries limit it) */
#define PL__REGTAG_MAX  128

/* A reference to an image in a registry: "HOST[:PORT]/REPO[:TAG][@sha256:HEX]". */
struct pl__regref {
	char *registry; /* "host[:port]", as written (host lowercased) */
	char *repo;     /* "a/b/c" */
	char *tag;      /* NULL when none was given */
	char *digest;   /* "sha256:<64 lowercase hex>", NULL when none */
};

/*
 * Parse `s` into *out, which is overwritten (not released) first and left
 * zeroed on failure.  The members are the caller's: pl__regref_release().
 * @return 0, or PL_EINVAL "invalid registry reference '<s shown printable>':
 * <why>" (a missing registry says which form is wanted), or PL_ENOMEM.
 */
int pl__regref_parse(const char *s, struct pl__regref *out, struct pl_error **err);

/* Free the members of `r` and zero it; NULL members (and r == NULL) are fine. */
void pl__regref_release(struct pl__regref *r);
#define cleanup_regref __attribute__((cleanup(pl__regref_release)))

/*
 * Parse the repository name "registry/repo" (no tag, no digest) the way
 * pl__regref_parse() does into out->registry and out->repo; out->tag and
 * out->digest stay NULL.  A tag or digest is an error.
 * @return 0, or PL_EINVAL "invalid registry repository '<s>': <why>", or
 * PL_ENOMEM.
 */
int pl__regrepo_parse(const char *s, struct pl__regref *out, struct pl_error **err);

#endif
