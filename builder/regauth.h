/*
 * regauth.h - registry credentials from auth files, and the challenges a
 * registry answers an unauthenticated request with.
 *
 * Credentials come from containers' auth.json or docker's config.json, in
 * the order the caller lists them; plinth runs no credential helper.  They
 * are secrets: no message names the user, the password or the token (only
 * the file and the registry key), and releasing them wipes the secret.
 * Both an auth file and a WWW-Authenticate header are untrusted input:
 * files are read under PL__REGAUTH_FILE_MAX, headers under
 * PL__CHALLENGE_MAX.
 */
#ifndef PLINTH_REGAUTH_H
#define PLINTH_REGAUTH_H

#include "internal.h"

#define PL__REGAUTH_FILE_MAX ((size_t)1 << 20) /* an auth file */
#define PL__CHALLENGE_MAX    16384             /* a WWW-Authenticate header value */

/* Credentials for a registry (never printed or logged: messages name the file and
 * the registry key, never the user or the secret). */
struct pl__cred {
	char *user;   /* NULL with an identity token */
	char *secret; /* password, or the identity token */
	bool identity_token;
	char *source; /* the file it came from, for messages */
};

/* Wipe the secret (and the user), free the members and zero `c`; NULL
 * members (and c == NULL) are fine. */
void pl__cred_release(struct pl__cred *c);
#define cleanup_cred __attribute__((cleanup(pl__cred_release)))

/*
 * Look `registry` ("host[:port]", lowercased as pl__regref_parse() leaves
 * it) and `repo` (NULL: only registry-wide keys match) up in `files`
 * (NULL-terminated; a file that does not exist is skipped, any other read
 * error is an error).  The first file holding a matching entry wins.
 *
 * A file is {"auths": {KEY: ENTRY, ...}, ...}; other top-level members are
 * ignored.  KEY is "host[:port]", "host[:port]/ns" or "host[:port]/ns/repo":
 * the longest key that is "registry/repo" or a prefix of it ending at a
 * '/' wins (containers-auth.json(5)).  Docker's legacy keys
 * "https://host[:port]/v1/" and "http://host[:port]" stand for their host
 * (scheme and path stripped), after the plain keys of the same length;
 * "index.docker.io", "registry-1.docker.io" and "docker.io" are one
 * registry.  A key's host is compared case-insensitively.  ENTRY is an
 * object holding "identitytoken" (used first), "auth" (base64 of
 * "user:password", split at the first ':'), or docker's "username" and
 * "password"; an entry with none of them (docker writes such entries for
 * its credsStore) is no entry.  Unknown members of an entry are ignored.
 *
 * When nothing matched but a file's "credHelpers" names the registry (as a
 * key would match) or a file sets "credsStore", *helper_note (when
 * helper_note is not NULL) is set to a static sentence saying that
 * credential helpers are not supported; it is set to NULL otherwise.
 *
 * Files are JSON (duplicate keys refused), at most PL__REGAUTH_FILE_MAX
 * bytes.  Errors name the file and the key, never the content: a syntax
 * error as "auth file 'F': line L, column C: why" (without jansson's quote
 * of the text), a malformed entry as "auth file 'F': entry 'KEY': why".
 * @return 0 with *out filled (the caller's: pl__cred_release()), 1 when no
 * file has credentials for it (*out zeroed), or a negative pl_code.
 */
int pl__regauth_lookup(const char *const *files, const char *registry, const char *repo,
		       struct pl__cred *out, const char **helper_note, struct pl_error **err);

/*
 * pl__regauth_lookup() for one file already read: `len` bytes of `text`,
 * named `name` in messages and in out->source.  `text` is not wiped.
 * @return 0 with *out filled, 1 when the file has no entry for the
 * registry (*helper_note set as above), or a negative pl_code.
 */
int pl__regauth_parse(const char *name, const char *text, size_t len, const char *registry,
		      const char *repo, struct pl__cred *out, const char **helper_note,
		      struct pl_error **err);

/* One parsed WWW-Authenticate challenge (RFC 7235 / distribution token auth). */
struct pl__challenge {
	char *scheme;                          /* "basic" or "bearer", lowercased */
	char *realm, *service, *scope, *error; /* NULL when absent; unquoted, escapes resolved */
};

/* Free the members of `c` and zero it; NULL members (and c == NULL) are fine. */
void pl__challenge_release(struct pl__challenge *c);
#define cleanup_challenge __attribute__((cleanup(pl__challenge_release)))

/*
 * Parse a WWW-Authenticate header value, which may hold several challenges
 * ("Basic realm=\"x\", Bearer realm=\"https://a/token\",service=\"s\",scope=\"repository:r:pull\"").
 * Picks the first Bearer challenge that has a realm, else the first Basic
 * one; other schemes are skipped.  Auth-params are token=token or
 * token=quoted-string (with \-escapes); names are case-insensitive, unknown
 * ones ignored; a known one (realm, service, scope, error) given twice in
 * a Basic or Bearer challenge is an error.  A token68 ("Basic dXNlcg==") is tolerated and ignored.  The
 * header must follow RFC 7235's grammar throughout: text it cannot read is
 * an error even after a usable challenge.  *out is overwritten (zeroed on
 * failure); the members are the caller's: pl__challenge_release().
 * @return 0, or PL_EINVAL "invalid WWW-Authenticate header '<header shown
 * printable, at most 200 bytes>': why" when no Basic or Bearer challenge
 * parses, or PL_ENOMEM.
 */
int pl__challenge_parse(const char *header, struct pl__challenge *out, struct pl_error **err);

/*
 * base64 of "user:secret" for an Authorization: Basic header.  Credentials
 * holding an identity token, or a user with ':' in it (RFC 7617), are an
 * error naming c->source.
 * @return the string (the caller wipes and frees it), or NULL with *err.
 */
char *pl__basic_auth(const struct pl__cred *c, struct pl_error **err);

#endif
