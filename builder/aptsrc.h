/*
 * aptsrc.h - the apt repositories a build reads: the build host's apt
 * sources and ${VAR} expansion for the recipe's own.
 */
#ifndef PLINTH_APTSRC_H
#define PLINTH_APTSRC_H

#include "internal.h"

struct pl__repo {
	char *uri; /* expanded, without a trailing '/': "http://host/debian", "file:///srv/m" */
	char **suites, **components;
	size_t nsuites, ncomponents;
	/* paths to keyrings or armoured key text (see pl__gpgv_verify) */
	char **keyrings;
	size_t nkeyrings;
	char *origin; /* where it was declared: "FILE:LINE" or "FILE:LINE:COL" */
};

void pl__repo_release(struct pl__repo *r);
void pl__repos_free(struct pl__repo *v, size_t n);

/*
 * Read the host's apt sources under `apt_dir` (NULL: "/etc/apt") the way
 * apt does: sources.list, then sources.list.d/ *.list and *.sources in
 * name order.  One-line entries ("deb [opts] URI SUITE COMP...") and deb822
 * entries (Types, URIs, Suites, Components, Signed-By, Enabled,
 * Architectures) both count; only type "deb" is kept, "Enabled: no" and
 * entries whose Architectures exclude `arch` are skipped, and an entry with
 * several URIs or types becomes one repository per URI.  Signed-By may name
 * keyring files or hold an armoured key; an entry without it is checked
 * against the host's trusted.gpg and trusted.gpg.d/ *.gpg, *.asc.
 * A malformed line is an error naming FILE:LINE.  No repositories at all
 * is an error too.
 */
int pl__host_repos(const char *apt_dir, const char *arch, struct pl__repo **out, size_t *n,
		   struct pl_error **err);

/*
 * Parse one sources file held in memory, as pl__host_repos does each file:
 * `deb822` selects the .sources format, else the one-line format.  `name`
 * is used in messages and origins ("NAME:LINE: ...").  Entries without
 * Signed-By get copies of the `nkeyrings` `keyrings`; when there are none,
 * such an entry is an error.  Finding no repository is not an error here.
 * @return 0 with *out (owned, NULL when *n is 0) and *n set, or a negative
 *         pl_code.
 */
int pl__aptsrc_parse(const char *name, const char *text, size_t len, bool deb822, const char *arch,
		     const char *const *keyrings, size_t nkeyrings, struct pl__repo **out,
		     size_t *n, struct pl_error **err);

/*
 * The keyrings apt trusts for sources without Signed-By: apt_dir/trusted.gpg
 * when it exists, then trusted.gpg.d/ *.gpg and *.asc in name order (NULL
 * apt_dir: "/etc/apt").  None at all is an error.
 */
int pl__host_keyrings(const char *apt_dir, char ***out, size_t *n, struct pl_error **err);

/*
 * Expand ${NAME} in `s` from `env` ("NAME=value" strings, NULL-terminated;
 * NULL for none).  NAME is [A-Za-z_][A-Za-z0-9_]*; "$$" is a literal '$'; an
 * unset variable, an unterminated "${" or any other '$' is PL_EINVAL
 * naming the variable.
 */
int pl__expand_vars(const char *s, const char *const *env, char **out, struct pl_error **err);

#endif
