/*
 * layer.h - stream a tree into a compressed layer blob.
 *
 * One pass: entries in layer order go through libarchive's pax writer; the
 * tar bytes are hashed (diff_id) and compressed; the compressed bytes are
 * hashed (digest) and written to a file descriptor.  Memory stays bounded
 * by the read buffer and the compressor's window, whatever the file sizes.
 */
#ifndef PLINTH_LAYER_H
#define PLINTH_LAYER_H

#include "plinth/build.h"
#include "tree.h"

struct pl__layer {
	uint8_t digest[PL_SHA256_LEN];  /* of the compressed blob */
	uint8_t diff_id[PL_SHA256_LEN]; /* of the tar stream */
	uint64_t size, tar_size;
};

struct pl__progress {
	void (*fn)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
	const volatile int *cancel;
};

/*
 * Sort `t` and write it to `fd`, every mtime set to `clock`.
 * Errors name the entry's origin (FILE:LINE:COL) when it has one.
 */
int pl__layer_write(struct pl__tree *t, uint64_t clock, enum pl_compression comp, int fd,
		    const struct pl__progress *progress, struct pl__layer *out,
		    struct pl_error **err);

#endif
