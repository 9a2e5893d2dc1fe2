/*
 * fetch.h - downloads from Debian archives (http://, https://, file://) and
 * the content-addressed cache they land in.
 *
 * The cache is a directory: sha256/<hex> holds blobs named by the SHA-256
 * of their content, tmp/ holds downloads in progress.  A blob enters the
 * cache only after its size and digest were checked against what a signed
 * index (or a lock) says: a download goes to a new file under tmp/, is
 * hashed while it is written, fsynced, and renamed into place.  Many plinth
 * processes may share one cache: renames are atomic and two processes
 * fetching the same blob write the same bytes.  A truncated, oversized or
 * tampered download is removed and never cached.
 */
#ifndef PLINTH_FETCH_H
#define PLINTH_FETCH_H

#include "internal.h"

/* fetch_mem(): the URL does not exist (HTTP 404/410, or no such file). */
#define PL__FETCH_NOT_FOUND 1

struct pl__cache;

/*
 * Open the cache at `dir`, creating it (and sha256/, tmp/) with mode 0755
 * when absent.  `cancel` (may be NULL) stops a transfer when it becomes
 * non-zero; it is kept for every later call.
 */
int pl__cache_open(const char *dir, const volatile int *cancel, struct pl__cache **out,
		   struct pl_error **err);
void pl__cache_free(struct pl__cache *c);
void pl__cache_freep(struct pl__cache **c);
#define cleanup_cache __attribute__((cleanup(pl__cache_freep)))

/*
 * Open the cached blob with digest `sha256` for reading.  Its size must be
 * `size` (UINT64_MAX: any) and its content is hashed before it is handed
 * out; a blob that fails either check is removed, as if it were absent.
 * @return 0 with *fd set to a descriptor at offset 0, or 0 with *fd = -1
 *         when the blob is not cached, or a negative pl_code.
 */
int pl__cache_get(struct pl__cache *c, const uint8_t sha256[PL_SHA256_LEN], uint64_t size, int *fd,
		  struct pl_error **err);

/*
 * The blob with digest `sha256` and `size` bytes: from the cache, or else
 * fetched from `url` and checked.  A wrong digest is PL_EDIGEST, more bytes
 * than `size` PL_ELIMIT, fewer (a truncated download) PL_EDIGEST; each
 * message names the URL.
 * @return 0 with *fd set to a descriptor at offset 0, or a negative pl_code.
 */
int pl__cache_fetch(struct pl__cache *c, const char *url, const uint8_t sha256[PL_SHA256_LEN],
		    uint64_t size, int *fd, struct pl_error **err);

/*
 * Fetch `url` into memory (not cached): for files whose digest nobody
 * knows beforehand, like InRelease, which the caller verifies.  At most
 * `max` bytes (PL_ELIMIT beyond).  *out is NUL-terminated.
 * @return 0, PL__FETCH_NOT_FOUND (no error set), or a negative pl_code.
 */
int pl__fetch_mem(struct pl__cache *c, const char *url, size_t max, char **out, size_t *len,
		  struct pl_error **err);

#endif
