/*
 * osv.h - known vulnerabilities from an OSV feed, matched against the
 * Debian packages installed in an image.
 *
 * A feed is OSV JSON (https://ossf.github.io/osv-schema/): a file holding
 * one record (an object) or an array of records, or a directory whose
 * "*.json" files are read in byte-wise sorted name order.  A directory is
 * not searched recursively, and names starting with '.' are skipped.
 * Records are checked where matching depends on them; fields plinth does
 * not use are ignored, and withdrawn records are skipped.
 *
 * Only Debian is supported: pl__osv_ecosystem() turns an image's
 * /etc/os-release into "Debian:N" and refuses anything else, and a loaded
 * feed keeps only the affected[] entries whose ecosystem is "Debian" or
 * "Debian:...".  Such an entry names a SOURCE package, and applies to an
 * image of ecosystem E when its ecosystem is exactly E or exactly "Debian".
 *
 * A source version is affected when it is listed in versions[] (equal by
 * dpkg's ordering) or lies in an ECOSYSTEM range, evaluated as the
 * schema's IsVulnerable() does, with dpkg's ordering: events sorted by
 * version (introduced before fixed or last_affected at the same version),
 * introduced "0" before every version, fixed exclusive, last_affected
 * inclusive, and the range counts only below one of its limits (a limit
 * holding '*' is none).  SEMVER and GIT ranges are ignored.
 *
 * A feed is untrusted.  A range event whose version is not a valid dpkg
 * version widens the range instead of hiding a vulnerability: such an
 * introduced counts as "0", such a fixed or last_affected as absent, such
 * a limit as '*'.  Every string a match carries is printable: valid UTF-8
 * without control or bidirectional-formatting characters, which are shown
 * as \xNN or \uNNNN escapes.
 */
#ifndef PLINTH_OSV_H
#define PLINTH_OSV_H

#include "internal.h"

#define PL__OSV_FILE_MAX    ((size_t)64 << 20) /* one feed file */
#define PL__OSV_RECORDS_MAX ((size_t)1000000)  /* records in a feed, withdrawn ones too */
#define PL__OSV_FILES_MAX   ((size_t)1000000)  /* *.json files in a feed directory */
#define PL__OSV_ID_MAX      256                /* bytes in a record's id */
#define PL__OSV_ECO_MAX     32                 /* "Debian:N" and its NUL fit */

/*
 * Severities, in order, so that a threshold (--fail-on) is a comparison.
 * A vulnerability whose severity is not known counts as PL__SEV_MEDIUM
 * there, but is shown as "unknown".
 */
enum pl__severity { PL__SEV_INFO, PL__SEV_LOW, PL__SEV_MEDIUM, PL__SEV_HIGH, PL__SEV_CRITICAL };

/*
 * Parse a severity word, case-insensitively, as feeds and users write
 * them: "none", "info", "informational" and "negligible" are PL__SEV_INFO;
 * "low" and "unimportant" (Debian) PL__SEV_LOW; "medium" and "moderate"
 * PL__SEV_MEDIUM; "high" and "important" PL__SEV_HIGH; "critical"
 * PL__SEV_CRITICAL.
 * @return the severity, or -1 for any other word ("unknown" too).
 */
int pl__severity_parse(const char *word);

/* "none", "low", "medium", "high" or "critical" (what CVSS calls them);
 * "unknown" for a value out of the enum. */
const char *pl__severity_name(enum pl__severity s);

/*
 * The CVSS v3.0 or v3.1 base score of a vector such as
 * "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" (9.8): the base metrics
 * once each, in any order, and temporal or environmental metrics, which
 * do not change the base score, at most once each.  Rounded up with the
 * Roundup function of CVSS v3.1 for both versions.
 * @return true with *score in [0, 10], false when the vector is malformed.
 */
bool pl__cvss3_score(const char *vector, double *score);

/* The severity CVSS gives a base score: critical from 9.0, high from 7.0,
 * medium from 4.0, low above 0, else none (PL__SEV_INFO). */
enum pl__severity pl__cvss_severity(double score);

/*
 * The OSV ecosystem of an image from the `len` bytes of its /etc/os-release
 * (shell-style KEY=VALUE lines, values quoted or not): "Debian:12" for
 * ID=debian and VERSION_ID="12", in out[size].
 * @return 0; PL_EINVAL when the image is not Debian or its release is not
 *         a number (testing and unstable have no VERSION_ID); PL_ELIMIT
 *         when out is too small (PL__OSV_ECO_MAX always suffices).
 */
int pl__osv_ecosystem(const char *text, size_t len, char *out, size_t size, struct pl_error **err);

/* A loaded feed: immutable once loaded, so matching may run in several
 * threads at once. */
struct pl__osv;

/*
 * Load the feed at `path` (a file or a directory, see above).  Errors name
 * the file F: "feed 'F': line L, column C: why" for malformed JSON;
 * "feed 'F': record N: why" for a record that is not an object or has no
 * usable id (N counts from 1 in an array; a file of one record has no
 * "record N"), and "feed 'F': record N ('ID'): why" when its affected is
 * not an array or one of its Debian entries is malformed, such as
 * "... ('DSA-1-1'): affected 1: ranges 2: 'events' is not an array".
 * @return 0 with *out (free it with pl__osv_free()), or a negative pl_code.
 */
int pl__osv_load(const char *path, struct pl__osv **out, struct pl_error **err);

/* The same from the `len` bytes of one file's text, named `name` in
 * errors (for the fuzzer and the unit tests). */
int pl__osv_parse(const char *name, const char *text, size_t len, struct pl__osv **out,
		  struct pl_error **err);

/* Records loaded (withdrawn ones and those with no Debian entry are not). */
size_t pl__osv_count(const struct pl__osv *db);

void pl__osv_free(struct pl__osv *db);
void pl__osv_freep(struct pl__osv **db);
#define cleanup_osv __attribute__((cleanup(pl__osv_freep)))

/* An installed binary package, as /var/lib/dpkg/status.d/ has it.
 * `source` is the Source field as written: NULL (the source package is
 * named as the binary), "glibc", or "glibc (2.36-9)" when the source
 * version differs from the binary's. */
struct pl__osv_pkg {
	const char *name, *version, *arch, *source;
};

/* One record that affects one installed binary package.  Every string is
 * printable (see above) and owned by the array. */
struct pl__osv_match {
	char *id;       /* the record's, e.g. "DSA-5514-1" */
	char *summary;  /* "" when the record has none */
	char **aliases; /* e.g. CVE ids, in the record's order */
	size_t naliases;
	char *package, *arch;       /* the binary package */
	char *source, *version;     /* its source package and installed source version */
	char *fixed;                /* the version fixing it, NULL when none is known */
	const char *severity_word;  /* pl__severity_name(severity), or "unknown" */
	enum pl__severity severity; /* PL__SEV_MEDIUM when the word is "unknown" */
	double score;               /* the CVSS v3 base score, or -1 when none */
};

/*
 * The records of `db` that affect the `npkgs` installed packages of an
 * image whose ecosystem (pl__osv_ecosystem()) is `ecosystem`.  Each binary
 * package gets its own matches, one per record (several binaries of one
 * source each get one), sorted by binary name, architecture and record id;
 * a record id loaded twice counts once (the first loaded).  The severity
 * is, first found: the highest CVSS_V3 base score of the affected entry's
 * severity[], then of the record's; then the first known word of the
 * entry's database_specific.severity, its ecosystem_specific.urgency
 * (Debian's), the record's database_specific.severity; else unknown.
 * The fixed version is that of the first matching range that has one
 * above the installed version.
 * @return 0 with *out (free with pl__osv_matches_free(), NULL when *n is
 *         0) and *n; PL_EINVAL when the ecosystem is not Debian's or a
 *         package lacks its name, version or architecture.
 */
int pl__osv_match(const struct pl__osv *db, const char *ecosystem, const struct pl__osv_pkg *pkgs,
		  size_t npkgs, struct pl__osv_match **out, size_t *n, struct pl_error **err);

void pl__osv_matches_free(struct pl__osv_match *v, size_t n);

#endif
