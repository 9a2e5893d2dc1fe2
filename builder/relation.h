/*
 * relation.h - Debian package relationships (Depends, Pre-Depends,
 * Provides, Conflicts, Breaks of binary packages).
 *
 * "a (>= 1.0) | b:any, c" is a list of clauses, each a list of
 * alternatives; an alternative names a package, maybe an architecture
 * qualifier, maybe a version constraint.  Source-only syntax
 * ([arch lists], <build profiles>) is refused.
 */
#ifndef PLINTH_RELATION_H
#define PLINTH_RELATION_H

#include "internal.h"

enum pl__relop { PL__REL_ANY, PL__REL_LT, PL__REL_LE, PL__REL_EQ, PL__REL_GE, PL__REL_GT };

struct pl__rel {
	char *name, *arch, *version; /* arch and version may be NULL */
	enum pl__relop op;
};

struct pl__clause {
	struct pl__rel *alt;
	size_t n;
};

struct pl__relations {
	struct pl__clause *c;
	size_t n;
};

/*
 * Parse `len` bytes of a relationship field (continuation newlines are
 * whitespace).  Errors read "WHERE: column N: ..." where N counts from 1.
 */
int pl__relations_parse(const char *where, const char *s, size_t len, struct pl__relations *out,
			struct pl_error **err);

void pl__relations_release(struct pl__relations *r);

/* Whether `version` satisfies r's constraint (always, when it has none). */
bool pl__rel_satisfied(const struct pl__rel *r, const char *version);

#endif
