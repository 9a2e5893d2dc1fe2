/*
 * builder/internal.h - helpers shared by the library's own files.
 * Nothing here is part of the public API.
 */
#ifndef PLINTH_INTERNAL_H
#define PLINTH_INTERNAL_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "plinth/common.h"

#define PL__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PL__MUST_USE     __attribute__((warn_unused_result))

/* Named limits on untrusted input. */
#define PL_RECIPE_MAX     ((size_t)1 << 20)  /* a recipe file */
#define PL_INDEX_MAX      ((size_t)16 << 20) /* an OCI index.json */
#define PL_YAML_DEPTH_MAX 32                 /* nesting in a recipe */
#define PL_YAML_NODES_MAX 100000             /* nodes in a recipe */
#define PL_PATH_MAX       4096               /* an in-image path */

/* The images plinth writes are for the architecture it was built for:
 * its OCI name and its Debian name. */
#if defined(__x86_64__)
#define PL_ARCH     "amd64"
#define PL_DEB_ARCH "amd64"
#elif defined(__aarch64__)
#define PL_ARCH     "arm64"
#define PL_DEB_ARCH "arm64"
#elif defined(__i386__)
#define PL_ARCH     "386"
#define PL_DEB_ARCH "i386"
#elif defined(__arm__)
#define PL_ARCH     "arm"
#define PL_DEB_ARCH "armhf"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PL_ARCH     "ppc64le"
#define PL_DEB_ARCH "ppc64el"
#elif defined(__s390x__)
#define PL_ARCH     "s390x"
#define PL_DEB_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define PL_ARCH     "riscv64"
#define PL_DEB_ARCH "riscv64"
#else
#error "unknown architecture: add its OCI and Debian names here"
#endif

/* ---- errors ------------------------------------------------------- */

/*
 * Store a new error in *err (when err is not NULL) and return `code`, so
 * that report-and-return is one statement.  errnum is 0 unless code is
 * PL_ESYS; when set, ": strerror(errnum)" is appended to the message.
 */
int pl__error_set(struct pl_error **err, int code, int errnum, const char *fmt, ...)
    PL__PRINTF(4, 5);

/*
 * Prefix the message of *err with "context: " and return `code` (the code
 * of the failure being wrapped), so callers can write
 * `return pl__error_wrap(err, rc, "recipe '%s'", path);`.
 */
int pl__error_wrap(struct pl_error **err, int code, const char *fmt, ...) PL__PRINTF(3, 4);

/* When *cancel (a flag a signal handler may set; NULL for none) is set,
 * report the cancelled build and return its code; else return 0. */
int pl__check_cancel(const volatile int *cancel, struct pl_error **err);

/* Map a failed allocation to PL_ENOMEM. */
int pl__error_nomem(struct pl_error **err);

/* ---- ownership and cleanup --------------------------------------- */

void pl__freep(void *p);
void pl__closep(int *fd);
void pl__fclosep(FILE **f);

#define cleanup_free   __attribute__((cleanup(pl__freep)))
#define cleanup_close  __attribute__((cleanup(pl__closep)))
#define cleanup_fclose __attribute__((cleanup(pl__fclosep)))

static inline void *pl__steal(void *pp)
{
	void **p = (void **)pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) (0 ? *(pp) : pl__steal(pp))

static inline int pl__steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* Allocation helpers that never return NULL on success paths silently. */
char *pl__strdup(const char *s, struct pl_error **err);
char *pl__strndup(const char *s, size_t n, struct pl_error **err);
char *pl__asprintf(struct pl_error **err, const char *fmt, ...) PL__PRINTF(2, 3);
void *pl__calloc(size_t n, size_t size, struct pl_error **err);
/* Grow *p (of *alloc elements of `size`) to hold at least `need` elements. */
int pl__grow(void *p, size_t *alloc, size_t need, size_t size, struct pl_error **err) PL__MUST_USE;

/* ---- bounded buffers ----------------------------------------------- */

/*
 * A growable byte string with a hard cap.
 * Invariants: buf != NULL, buf[len] == '\0', len < alloc, len <= max.
 */
struct pl_buf {
	char *buf;
	size_t len, alloc, max;
};

/* max == 0 means SIZE_MAX - 1. */
int pl_buf_init(struct pl_buf *b, size_t max, struct pl_error **err) PL__MUST_USE;
void pl_buf_release(struct pl_buf *b);
int pl_buf_add(struct pl_buf *b, const void *p, size_t n, struct pl_error **err) PL__MUST_USE;
int pl_buf_adds(struct pl_buf *b, const char *s, struct pl_error **err) PL__MUST_USE;
int pl_buf_addf(struct pl_buf *b, struct pl_error **err, const char *fmt, ...) PL__MUST_USE
    PL__PRINTF(3, 4);
/* Hand the string to the caller; b is left released. */
char *pl_buf_detach(struct pl_buf *b, size_t *len);

#define cleanup_buf __attribute__((cleanup(pl_buf_release)))

/* ---- files --------------------------------------------------------- */

/* mkdir -p: create `path` (and its missing ancestors) with `mode`. */
int pl__mkdir_p(const char *path, mode_t mode, struct pl_error **err);

/* Read a whole regular file of at most `max` bytes (NUL-terminated). */
int pl__read_file(const char *path, size_t max, char **out, size_t *len, struct pl_error **err);
/* The same from an open file (named `name` in errors), from where it is. */
int pl__read_fd(int fd, const char *name, size_t max, char **out, size_t *len,
		struct pl_error **err);
int pl__read_fileat(int dirfd, const char *name, size_t max, char **out, size_t *len,
		    struct pl_error **err);

/* write(2) everything or fail. */
int pl__write_all(int fd, const void *p, size_t n);

/*
 * Write `len` bytes to dirfd/name atomically: a temporary file in the same
 * directory, fsync, rename.  Success means the rename happened; making it
 * durable (fsync of dirfd) is the caller's, who knows when that is due.
 */
int pl__write_file_atomic(int dirfd, const char *name, const void *p, size_t len, mode_t mode,
			  struct pl_error **err);

/* Whether the absolute, resolved `path` is `root` or below it. */
bool pl__path_inside(const char *root, const char *path);

/* The same without the fsync: readers see the old content or the new one,
 * but after a crash the file may be empty.  For what is only a hint (a
 * cache entry), where an fsync per file costs more than it is worth. */
int pl__write_file_replace(int dirfd, const char *name, const void *p, size_t len, mode_t mode,
			   struct pl_error **err);

/* opendir(3) for dirfd/name (name "." for dirfd itself), not following a
 * final symlink; NULL with errno set on failure. */
DIR *pl__opendirat(int dirfd, const char *name);

/* Remove a directory tree below dirfd/name (no error if it is absent). */
int pl__remove_tree(int dirfd, const char *name);

/* ---- digests --------------------------------------------------------- */

#define PL_SHA256_LEN     32
#define PL_DIGEST_STR_LEN (7 + 64) /* "sha256:" + hex */

struct pl_sha256;
struct pl_sha256 *pl__sha256_new(struct pl_error **err);
void pl__sha256_update(struct pl_sha256 *s, const void *p, size_t n);
void pl__sha256_final(struct pl_sha256 *s, uint8_t out[PL_SHA256_LEN]);
void pl__sha256_free(struct pl_sha256 *s);
void pl__sha256_freep(struct pl_sha256 **s);
#define cleanup_sha256 __attribute__((cleanup(pl__sha256_freep)))

void pl__sha256(const void *p, size_t n, uint8_t out[PL_SHA256_LEN]);
/* Hash `v` as 8 little-endian bytes. */
void pl__sha256_u64(struct pl_sha256 *s, uint64_t v);
void pl__hex(const uint8_t *p, size_t n, char *out); /* out: 2n+1 bytes */
/* "sha256:<hex>" into out[PL_DIGEST_STR_LEN + 1] */
void pl__digest_str(const uint8_t d[PL_SHA256_LEN], char *out);
/* Parse 64 hex digits; returns false when malformed. */
bool pl__hex_sha256(const char *s, uint8_t out[PL_SHA256_LEN]);

/* ---- strings ----------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (n bytes there), 0 when
 * there is none. */
size_t pl__utf8_seq(const unsigned char *p, size_t n);

/* Add `n` bytes of untrusted `p` to `b` for one line of a report: at most
 * `width` bytes of it (then "..."), control characters (C0, DEL, C1) and
 * what is not UTF-8 written \xNN, '#' written "\#" when `hash` (TAP
 * reads a bare one as a directive). */
int pl__show(struct pl_buf *b, const char *p, size_t n, size_t width, bool hash,
	     struct pl_error **err);

/* Whether s is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool pl__utf8_valid(const char *s);

/*
 * Open the regular file (or, with `dir`, the directory) at the absolute
 * path `path` for reading, following no symlink in any component, and check
 * that it is still the one with identity (dev, ino); its type is checked
 * before it is opened for reading.  -1 with errno set on failure; ESTALE
 * when a component was replaced.
 */
int pl__open_exact(const char *path, bool dir, uint64_t dev, uint64_t ino);

/* FNV-1a of a string, for the hash tables. */
uint64_t pl__str_hash(const char *s);

/* Levenshtein distance, capped at `cap` + 1. */
size_t pl__edit_distance(const char *a, const char *b, size_t cap);

#endif
