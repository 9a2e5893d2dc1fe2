/*
 * debversion.h - Debian package versions: parsing and dpkg's ordering.
 *
 * A version is [EPOCH:]UPSTREAM[-REVISION]: the epoch is the digits before
 * the first ':', the revision what follows the last '-'.  Ordering is
 * dpkg's: epochs numerically, then upstream and revision alternately by
 * non-digit runs (letters before other characters, '~' before everything,
 * even the end) and digit runs (numerically).
 */
#ifndef PLINTH_DEBVERSION_H
#define PLINTH_DEBVERSION_H

#include "internal.h"

#define PL_DEBVER_MAX 256

/*
 * Check that `s` is a well-formed version as dpkg accepts it: an epoch of
 * digits (at most 9), an upstream part that starts with a digit and holds
 * only [A-Za-z0-9.+~-:] (':' only with an epoch, '-' only with a
 * revision), a revision of [A-Za-z0-9.+~]; at most PL_DEBVER_MAX bytes.
 * On failure *why says what is wrong (a static string).
 */
bool pl__debver_valid(const char *s, const char **why);

/*
 * Compare two versions the way `dpkg --compare-versions` does.  Both should
 * be valid; an invalid one is compared by the same rules, never crashes.
 * @return <0, 0 or >0.
 */
int pl__debver_cmp(const char *a, const char *b);

/* Whether `s` is a valid package name: [a-z0-9][a-z0-9+.-]+, at most 128. */
bool pl__debname_valid(const char *s);

/* Whether `s` is a Filename plinth fetches: relative, no "." or ".."
 * components, no empty ones, none of " \t\r\n\\?#%". */
bool pl__pool_path_valid(const char *s);

#endif
