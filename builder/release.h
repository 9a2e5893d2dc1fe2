/*
 * release.h - a Debian repository's signed Release file, checked with gpgv.
 *
 * Only what gpgv says was signed is ever parsed: the text is taken from
 * gpgv's output, never from the clearsigned input itself.
 */
#ifndef PLINTH_RELEASE_H
#define PLINTH_RELEASE_H

#include "internal.h"

#define PL_RELEASE_MAX ((size_t)16 << 20) /* an InRelease or Release file */

/*
 * Verify a signature with gpgv (`gpgv`: the program, NULL for "gpgv" from
 * PATH).  Either `data` is a clearsigned InRelease and sig is NULL, or
 * `data` is a Release file and `sig` its detached Release.gpg.  Each of the
 * `nkeyrings` keyrings is a path to a binary or ASCII-armoured OpenPGP
 * keyring, or armoured key text itself (starting "-----BEGIN PGP"), as
 * apt's Signed-By allows.  No keyring of the user's (~/.gnupg) is used.
 * A bad signature, a signature by a key not in the keyrings, an expired or
 * revoked key or an expired signature is PL_EPOLICY, and the message names
 * `what` (the URL) and the reason.
 * @return 0 with the signed text (NUL-terminated) in *out, or a negative
 *         pl_code.
 */
int pl__gpgv_verify(const char *gpgv, const char *const *keyrings, size_t nkeyrings,
		    const char *data, size_t len, const char *sig, size_t siglen, const char *what,
		    char **out, size_t *outlen, struct pl_error **err);

struct pl__release_file {
	char *path; /* relative to the suite's directory: "main/binary-amd64/Packages.xz" */
	uint64_t size;
	uint8_t sha256[PL_SHA256_LEN];
};

struct pl__release {
	char *origin, *label, *suite, *codename; /* NULL when absent */
	char **architectures, **components;
	size_t narchitectures, ncomponents;
	bool has_date, has_valid_until;
	int64_t date, valid_until; /* seconds since the epoch (RFC 2822 dates, UTC) */
	/* "No-Support-for-Architecture-all: Packages": arch all packages are
	 * listed in every binary-ARCH index, there is no binary-all to read */
	bool all_in_arch_indexes;
	bool acquire_by_hash;
	/* "NotAutomatic: yes" (backports, experimental): apt installs from it
	 * only when asked to */
	bool not_automatic;
	struct pl__release_file *files; /* from the SHA256 field only */
	size_t nfiles;
};

/*
 * Parse verified Release text.  `name` is used in messages
 * ("NAME:LINE:COL: ...").  A SHA256 line that is malformed is an error;
 * other hash fields (MD5Sum, SHA1) are ignored.
 */
int pl__release_parse(const char *name, const char *text, size_t len, struct pl__release *out,
		      struct pl_error **err);
void pl__release_release(struct pl__release *r);
#define cleanup_release __attribute__((cleanup(pl__release_release)))

/* The entry for `path` in r's SHA256 list, or NULL. */
const struct pl__release_file *pl__release_find(const struct pl__release *r, const char *path);

/*
 * Refuse a Release whose Valid-Until lies before `now` (PL_EPOLICY,
 * naming `name` and the date), as apt does.
 */
int pl__release_check_fresh(const struct pl__release *r, const char *name, int64_t now,
			    struct pl_error **err);

#endif
