/*
 * layout.h - write into an OCI image layout as one transaction.
 *
 * Blobs are staged in a private directory (DIR/.plinth-XXXXXX, or, for a
 * layout that does not exist yet, a sibling .NAME.plinth-XXXXXX that
 * becomes DIR by one rename).  Commit moves the blobs in and replaces
 * index.json (temp file, fsync, rename) under an exclusive lock on DIR;
 * until then the layout does not change, and freeing an uncommitted
 * transaction removes the staging directory.  A staging directory left by
 * a killed process is removed by the next transaction on that layout
 * (each live one holds a lock on its own).
 */
#ifndef PLINTH_LAYOUT_H
#define PLINTH_LAYOUT_H

#include "internal.h"

struct pl__layout;

/* Check that `path` is an OCI layout, an empty directory or absent, and
 * start a transaction on it. */
int pl__layout_open(const char *path, struct pl__layout **out, struct pl_error **err);

/* Abort (when not committed) and release. */
void pl__layout_free(struct pl__layout *l);
void pl__layout_freep(struct pl__layout **l);
#define cleanup_layout __attribute__((cleanup(pl__layout_freep)))

/* A new temporary file in the staging directory, for streaming a blob. */
int pl__layout_blob_open(struct pl__layout *l, int *fd, struct pl_error **err);

/* Sync and close `fd` (from pl__layout_blob_open) and stage it as the blob
 * with `digest`. */
int pl__layout_blob_close(struct pl__layout *l, int fd, const uint8_t digest[PL_SHA256_LEN],
			  struct pl_error **err);

/* Stage a blob held in memory; its digest goes to `digest`. */
int pl__layout_blob_put(struct pl__layout *l, const void *p, size_t n,
			uint8_t digest[PL_SHA256_LEN], struct pl_error **err);

struct pl__descriptor {
	const char *media_type;
	uint8_t digest[PL_SHA256_LEN];
	uint64_t size;
	const char *architecture, *os; /* platform; NULL for none */
};

/* Move the staged blobs in and point `tag` at `d` in index.json,
 * replacing any earlier reference of that name. */
int pl__layout_commit(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
		      struct pl_error **err);

#endif
