/*
 * resolve.h - the packages of Debian indexes, and choosing the set a
 * recipe's package list needs.
 *
 * A universe holds every package of one architecture (and "all") read from
 * verified Packages indexes.  Its strings live in the index texts, which
 * the universe owns and terminates in place.  Resolution follows Depends and
 * Pre-Depends (never Recommends), picks the newest version that satisfies
 * every constraint seen so far, follows Provides for virtual packages, and
 * checks Conflicts and Breaks over the result; it does not backtrack, so a
 * choice that a later constraint contradicts is reported, with the chains
 * of packages that led to both.
 */
#ifndef PLINTH_RESOLVE_H
#define PLINTH_RESOLVE_H

#include "internal.h"
#include "relation.h"

#define PL_PACKAGES_MAX ((size_t)1 << 30) /* an uncompressed Packages index */

struct pl__pkg {
	const char *name, *version, *arch;
	const char *source, *source_version; /* source_version: NULL when = version */
	const char *filename, *multi_arch;
	uint64_t size;
	uint8_t sha256[PL_SHA256_LEN];
	const char *suite;  /* the suite whose index listed it */
	bool not_automatic; /* ...which is NotAutomatic (backports) */
	size_t repo;        /* the caller's number for the repository */
	/* raw relationship fields (NULL when absent), parsed when needed */
	const char *depends, *pre_depends, *conflicts, *breaks, *provides;
	unsigned line; /* of its paragraph in the index */
	const char *index_name;
};

/* The relationships of a binary package, parsed. */
struct pl__pkg_rels {
	struct pl__relations pre, dep, conflicts, breaks, provides;
};

void pl__pkg_rels_release(struct pl__pkg_rels *r);

struct pl__universe;

int pl__universe_new(const char *arch, struct pl__universe **out, struct pl_error **err);
void pl__universe_free(struct pl__universe *u);
void pl__universe_freep(struct pl__universe **u);
#define cleanup_universe __attribute__((cleanup(pl__universe_freep)))

/*
 * Add the packages of a Packages index to `u`; those of a NotAutomatic suite
 * are chosen only when no other version satisfies, or their suite is asked
 * for.  The universe takes `text` (malloc'd, `len` bytes, NUL-terminated)
 * in every case.  `name` is used in
 * messages ("NAME:LINE:COL: ..."), `suite` and `repo` are recorded in each
 * package.  Packages of other architectures are skipped; a paragraph
 * without Package, Version, Architecture, Filename, Size or SHA256, or
 * with a malformed one of them, is an error.
 */
int pl__universe_add_index(struct pl__universe *u, const char *name, const char *suite,
			   bool not_automatic, size_t repo, char *text, size_t len,
			   struct pl_error **err);

/* Number of packages (all versions) in `u`. */
size_t pl__universe_count(const struct pl__universe *u);

/* A package already present (from the base image) or assumed present. */
struct pl__installed {
	const char *name, *version; /* version NULL: assumed, any version */
};

/*
 * What an image has before resolution: packages present at a version or
 * assumed present at any, and the names their Provides give, read as
 * Debian reads them (an unversioned Provides satisfies only an
 * unversioned dependency).  Every string and relation added is borrowed:
 * the caller keeps it alive as long as the set.
 */
struct pl__instset;

/* A new empty set for the architecture `arch` (borrowed). */
int pl__instset_new(const char *arch, struct pl__instset **out, struct pl_error **err);
void pl__instset_free(struct pl__instset *s);
void pl__instset_freep(struct pl__instset **s);
#define cleanup_instset __attribute__((cleanup(pl__instset_freep)))

/* The package `name` at `version` (NULL: assumed, any version), with its
 * Conflicts and Breaks (NULL: none), which resolution checks too. */
int pl__instset_add(struct pl__instset *s, const char *name, const char *version,
		    const struct pl__relations *conflicts, const struct pl__relations *breaks,
		    struct pl_error **err);

/* The name `name` that the present package `by` provides, at `version`
 * (NULL: an unversioned Provides). */
int pl__instset_add_provided(struct pl__instset *s, const char *name, const char *version,
			     const char *by, struct pl_error **err);

/* Whether something in `s` satisfies `r` (an alternative for another
 * architecture never is). */
bool pl__instset_satisfies(const struct pl__instset *s, const struct pl__rel *r);

/* "a (>= 1) | b:any" for a clause, appended to `b`. */
int pl__clause_text(const struct pl__clause *cl, struct pl_buf *b, struct pl_error **err);

struct pl__want {
	const char *name, *version, *suite; /* version, suite: NULL for any */
	const char *origin;                 /* "FILE:LINE:COL" for messages */
};

/*
 * Choose the packages that `want` needs in `u`, leaving out what
 * `installed` has.  *out receives the chosen packages sorted by name (each
 * pointing into `u`, so `u` must outlive it).  Conflicts and Breaks are
 * checked among the chosen packages and, both ways, between them and the
 * present ones.  Errors name the chain of packages that led to the
 * problem: "package 'b' (needed by a -> b): ...".
 */
int pl__resolve_in(struct pl__universe *u, const struct pl__want *want, size_t nwant,
		   const struct pl__instset *installed, const struct pl__pkg ***out, size_t *n,
		   struct pl_error **err);

/* pl__resolve_in() with the packages `installed`. */
int pl__resolve(struct pl__universe *u, const struct pl__want *want, size_t nwant,
		const struct pl__installed *installed, size_t ninstalled,
		const struct pl__pkg ***out, size_t *n, struct pl_error **err);

#endif
