/*
 * pkgfiles.h - which installed Debian package owns a path of an image, from
 * the packages' md5sums files (/var/lib/dpkg/status.d/<pkg>.md5sums, as
 * plinth and distroless write them beside each package's status paragraph).
 *
 * An md5sums file lists the regular files its package shipped, one a line:
 * 32 hex digits (MD5), two spaces, the path without its leading '/'
 * ("usr/bin/x"); the last line may lack its newline.  Anything else is an
 * error naming the package and the line.  Paths are kept normalised and as
 * a merged-/usr image has them: plinth installs a package's /bin, /sbin and
 * /lib* under /usr, so "bin/x" of an md5sums and "usr/bin/x" are the same
 * file, whichever is asked.  (On an image that is not merged, a file at
 * /usr/bin/x is thus taken as owned by a package that lists /bin/x.)
 *
 * Invariants: every path held is normalised (no leading '/', no empty, "."
 * or ".." component) and merged; each has exactly one owner, the package
 * whose name sorts first among those listing it, so the answer does not
 * depend on the order packages were added in.
 */
#ifndef PLINTH_PKGFILES_H
#define PLINTH_PKGFILES_H

#include "baseimg.h"

#define PL__PKGFILES_PATHS_MAX ((size_t)1 << 20)  /* paths of all packages together */
#define PL__PKGFILES_TEXT_MAX  ((size_t)16 << 20) /* md5sums collected from an image */

struct pl__pkgfiles;

struct pl__pkgfiles *pl__pkgfiles_new(struct pl_error **err);
void pl__pkgfiles_free(struct pl__pkgfiles *pf);
void pl__pkgfiles_freep(struct pl__pkgfiles **pf);
#define cleanup_pkgfiles __attribute__((cleanup(pl__pkgfiles_freep)))

/*
 * Add the `len` bytes of package `pkg`'s md5sums (need not be
 * NUL-terminated).  On an error nothing of it is kept: PL_EINVAL for a
 * malformed line ("package 'P': md5sums line N: why"), PL_ELIMIT past
 * PL__PKGFILES_PATHS_MAX paths.  Adding a package twice adds its paths
 * again (no harm: its name is the same).
 */
int pl__pkgfiles_add(struct pl__pkgfiles *pf, const char *pkg, const char *md5sums, size_t len,
		     struct pl_error **err);

/* The package owning `path` (relative, "usr/bin/x"; normalised here too),
 * or NULL for a file no package listed.  Owned by `pf`. */
const char *pl__pkgfiles_owner(const struct pl__pkgfiles *pf, const char *path);

/* How many distinct paths the packages own. */
size_t pl__pkgfiles_count(const struct pl__pkgfiles *pf);

/* Whether `path` (relative) is the md5sums of a package: status.d/PKG.md5sums,
 * with *pkg and *pkg_len naming PKG within `path`. */
bool pl__pkgfiles_is_md5sums(const char *path, const char **pkg, size_t *pkg_len);

/*
 * What reads an image's layers collects the md5sums files on the way (the
 * base image reader keeps no md5sums content): call the three functions
 * below from a pl__fs_visitor's entry(), data() and end() (they ignore
 * every other entry), pl__pkgfiles_collect_finish() once the layers are
 * read, then add what was collected, for the packages that count, with
 * pl__pkgfiles_add().  All of it together is bounded by
 * PL__PKGFILES_TEXT_MAX.  A zeroed collector is an empty one.
 */
struct pl__md5sums {
	char *pkg;  /* from the file's name */
	char *text; /* NUL-terminated */
	size_t len;
	size_t seq; /* the order it was read in */
};

struct pl__pkgfiles_collector {
	struct pl__md5sums *v; /* after finish: sorted by pkg, each once */
	size_t n, alloc, total;
	struct pl_buf cur; /* content of the md5sums being read, when cur_pkg */
	char *cur_pkg;
};

void pl__pkgfiles_collector_release(struct pl__pkgfiles_collector *c);
int pl__pkgfiles_collect_entry(struct pl__pkgfiles_collector *c, const struct pl__bentry *e,
			       struct pl_error **err);
int pl__pkgfiles_collect_data(struct pl__pkgfiles_collector *c, const void *p, size_t n,
			      struct pl_error **err);
int pl__pkgfiles_collect_end(struct pl__pkgfiles_collector *c, const struct pl__bentry *e,
			     struct pl_error **err);
/* Sort what was collected by package; a path shown twice (in one layer)
 * keeps its later content. */
void pl__pkgfiles_collect_finish(struct pl__pkgfiles_collector *c);

/* Add what the collected md5sums (finished) say of the packages `b` has
 * installed: the md5sums of a package no longer installed own nothing. */
int pl__pkgfiles_add_installed(struct pl__pkgfiles *pf, const struct pl__pkgfiles_collector *c,
			       const struct pl__baseimg *b, struct pl_error **err);

#endif
