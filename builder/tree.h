/*
 * tree.h - the in-memory tree of an image layer.
 *
 * Invariants: every entry's path is relative ("usr/bin/x"), normalised and
 * unique; every parent of an entry is present and is a directory; `data`
 * is set only for generated regular files and `source` only for regular
 * files read from the host, never both.  Entries are kept in insertion
 * order; pl__tree_sort() puts them in layer order (parents first, then
 * siblings byte-wise, a directory's whole subtree before its next sibling).
 */
#ifndef PLINTH_TREE_H
#define PLINTH_TREE_H

#include "internal.h"

enum pl__kind { PL__REG, PL__DIR, PL__SYMLINK };

struct pl__entry {
	char *path;
	enum pl__kind kind;
	uint32_t mode, uid, gid;
	uint64_t size;             /* regular files */
	char *data;                /* generated content, `size` bytes */
	char *source;              /* host file to stream from (absolute, no symlinks) */
	uint64_t src_dev, src_ino; /* ...and its identity when the tree was made */
	char *target;              /* symlinks */
	bool has_sha256;           /* `source` must hash to sha256 */
	uint8_t sha256[PL_SHA256_LEN];
	char *origin;   /* "FILE:LINE:COL" that declared it, or NULL */
	bool implicit;  /* a parent directory nobody declared */
	bool generated; /* plinth's default; a declared entry replaces it */
	size_t children;
};

struct pl__tree;

struct pl__tree *pl__tree_new(struct pl_error **err);
void pl__tree_free(struct pl__tree *t);
void pl__tree_freep(struct pl__tree **t);
#define cleanup_tree __attribute__((cleanup(pl__tree_freep)))

/*
 * Add an entry; the tree takes ownership of every pointer in *e (also on
 * failure) and copies the struct.  Missing parents are created as implicit
 * directories 0755 root:root.  A second entry for the same path is an
 * error unless the existing one is implicit or generated (the new one then
 * replaces it, as long as a directory with children stays a directory).
 */
int pl__tree_add(struct pl__tree *t, struct pl__entry *e, struct pl_error **err);

/* Entry for `path` (relative), or NULL. */
struct pl__entry *pl__tree_get(struct pl__tree *t, const char *path);

void pl__tree_sort(struct pl__tree *t);
size_t pl__tree_count(const struct pl__tree *t);
const struct pl__entry *pl__tree_at(const struct pl__tree *t, size_t i);

/* The total bytes of content, for progress. */
uint64_t pl__tree_content_size(const struct pl__tree *t);

/* Order of two relative paths in a layer ('/' sorts before every byte). */
int pl__path_cmp(const char *a, const char *b);

#endif
