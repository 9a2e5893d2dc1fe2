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

#include <jansson.h>

#include "internal.h"

struct pl__layout;

/* Check that `path` is an OCI layout, an empty directory or absent, and
 * start a transaction on it. */
int pl__layout_open(const char *path, struct pl__layout **out, struct pl_error **err);

/* Abort (when not committed) and release. */
void pl__layout_free(struct pl__layout *l);
void pl__layout_freep(struct pl__layout **l);
#define cleanup_layout __attribute__((cleanup(pl__layout_freep)))

/* A new temporary file in the staging directory, for streaming a blob;
 * *seq names it for pl__layout_blob_close(). */
int pl__layout_blob_open(struct pl__layout *l, int *fd, unsigned *seq, struct pl_error **err);

/* Sync and close `fd` (the file `seq` from pl__layout_blob_open) and stage
 * it as the blob with `digest`. */
int pl__layout_blob_close(struct pl__layout *l, int fd, unsigned seq,
			  const uint8_t digest[PL_SHA256_LEN], struct pl_error **err);

/* Stage a blob held in memory; its digest goes to `digest`. */
int pl__layout_blob_put(struct pl__layout *l, const void *p, size_t n,
			uint8_t digest[PL_SHA256_LEN], struct pl_error **err);

/*
 * A blob read in chunks: every byte counted against the `size` its
 * descriptor gives and hashed, for checking once it is all read.
 * Invariants: got <= size; once `over` or `read_errno` is set, nothing
 * more is read.
 */
struct pl__blob_reader {
	int fd;          /* borrowed */
	uint64_t size;   /* what the descriptor says */
	uint64_t got;    /* read so far */
	bool over;       /* the blob has more than `size` bytes */
	int read_errno;  /* a read failed */
	char buf[65536]; /* the last chunk read */
	struct pl_sha256 *sha;
	uint8_t want[PL_SHA256_LEN];
};

struct pl__blob_reader *pl__blob_reader_new(int fd, const uint8_t digest[PL_SHA256_LEN],
					    uint64_t size, struct pl_error **err);
void pl__blob_reader_free(struct pl__blob_reader *r);
void pl__blob_reader_freep(struct pl__blob_reader **r);
#define cleanup_blob_reader __attribute__((cleanup(pl__blob_reader_freep)))

/* The next chunk, in r->buf: its length, 0 at the end of the file, -1 when
 * a read failed or the blob turned out longer than `size`. */
ssize_t pl__blob_reader_next(struct pl__blob_reader *r);

/* What pl__blob_reader_finish() found. */
enum pl__blob_check { PL__BLOB_OK, PL__BLOB_SIZE, PL__BLOB_DIGEST };

/* Read what is left, then check size and digest.  @return an enum
 * pl__blob_check, or -1 when a read failed (r->read_errno says why). */
int pl__blob_reader_finish(struct pl__blob_reader *r);

/*
 * Stage the blob `digest` of the layout `src` (another layout, or this
 * one), checking its content against the digest and `size` on the way:
 * hard-linked when it can be, copied otherwise.
 */
int pl__layout_blob_copy(struct pl__layout *l, const char *src, const uint8_t digest[PL_SHA256_LEN],
			 uint64_t size, struct pl_error **err);

struct pl__descriptor {
	const char *media_type;
	uint8_t digest[PL_SHA256_LEN];
	uint64_t size;
	const char *architecture, *os; /* platform; NULL for none */
};

/* Check that `idx` is an OCI image index (of layout `dir`, for errors):
 * schemaVersion 2 and a list of descriptor objects. */
int pl__index_check(const char *dir, const json_t *idx, struct pl_error **err);

/* The descriptor tagged `tag` in a checked index (the last one), or NULL. */
json_t *pl__index_find(const json_t *idx, const char *tag);

/* Open the staged blob `digest` for reading (a gate reads the image before
 * the commit). */
int pl__layout_blob_read_staged(struct pl__layout *l, const uint8_t digest[PL_SHA256_LEN], int *fd,
				struct pl_error **err);

/*
 * Have the commit add the artifact manifest `d` (staged, of type
 * `artifact_type`, whose subject is the manifest `subject`) to index.json,
 * untagged.  Every commit drops the artifacts whose subject no tag points
 * at any more.
 */
int pl__layout_add_referrer(struct pl__layout *l, const struct pl__descriptor *d,
			    const char *artifact_type, const uint8_t subject[PL_SHA256_LEN],
			    struct pl_error **err);

/* Have the commit point `tag` at `d` (staged) too, as pl__layout_commit()
 * does with its own tag (before it: a tag given twice ends up at the
 * commit's). */
int pl__layout_add_tag(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
		       struct pl_error **err);

/* Move the staged blobs in and point `tag` at `d` in index.json,
 * replacing any earlier reference of that name. */
int pl__layout_commit(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
		      struct pl_error **err);

/*
 * pl__layout_commit(), if `tag` still points at the manifest with digest
 * `was` (or is still absent, for NULL), checked under the layout's lock:
 * for read-modify-write of a tag (signatures) by concurrent processes.
 * @return 0, PL__LAYOUT_MOVED (nothing changed: read again and retry) when
 *         another commit moved the tag, or a negative pl_code.
 */
#define PL__LAYOUT_MOVED 1
int pl__layout_commit_if(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
			 const uint8_t *was, struct pl_error **err);

#endif
