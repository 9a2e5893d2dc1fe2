/*
 * baseimg.h - the base image a derived recipe builds on: resolved in the
 * catalog, opened by its digest, and the parts of its filesystem a derived
 * build reads.
 *
 * The filesystem is read from the image's layers (tar, tar+gzip or
 * tar+zstd, as many as the manifest lists) with libarchive, streaming:
 * each blob's size and sha256 are checked on the bytes libarchive is fed,
 * and a layer whose bytes do not match its descriptor fails the read (what
 * was gathered from it is then never used: a failed read leaves the
 * baseimg good only for freeing).  Whiteouts are honoured as the OCI image
 * spec has them: ".wh.NAME" removes NAME (and what is below it) from the
 * layers under it, ".wh..wh..opq" empties its directory of what the layers
 * under it put there, and a non-directory hides what lower layers had below
 * its path.
 *
 * The layers are read from the top one down (a path is taken from the
 * highest layer that has it, unless a layer above hides it), which gives
 * exactly the filesystem of applying them in order from the bottom, with a
 * hash lookup per path component instead of scans for every whiteout.
 *
 * What is kept: every visible path with its kind, mode, owner, size,
 * link target and, for regular files, the sha256 of its content (so a
 * derived layer can leave out what the base already has), and the content
 * of the few files plinth reads (pl__baseimg_keeps): /etc/passwd,
 * /etc/group, /etc/os-release, /var/lib/dpkg/status.d/<pkg> and the
 * certificates under /usr/share/ca-certificates.  Everything is bounded by
 * the limits below; every byte libarchive decompresses counts against
 * PL__BASE_TAR_MAX, what is hidden or skipped as well.
 */
#ifndef PLINTH_BASEIMG_H
#define PLINTH_BASEIMG_H

#include "plinth/catalog.h"
#include "oci.h"
#include "recipe-impl.h"

#define PL__BASE_LAYERS_MAX   256                  /* layers in a base image */
#define PL__BASE_PATHS_MAX    ((size_t)1 << 20)    /* paths (and whiteouts) in its layers */
#define PL__BASE_NAMES_MAX    ((size_t)256 << 20)  /* bytes of those paths and link targets */
#define PL__BASE_FILE_MAX     ((size_t)1 << 20)    /* one file whose content is kept */
#define PL__BASE_KEPT_MAX     ((size_t)64 << 20)   /* all content kept, together */
#define PL__BASE_BLOB_MAX     ((uint64_t)16 << 30) /* one layer blob, as stored */
#define PL__BASE_TAR_MAX      ((uint64_t)64 << 30) /* tar bytes decompressed, all layers */
#define PL__BASE_PACKAGES_MAX ((size_t)100000)     /* Debian packages installed */

#define PL__MT_LAYER      "application/vnd.oci.image.layer.v1.tar"
#define PL__MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define PL__MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

enum pl__bkind { PL__B_REG, PL__B_DIR, PL__B_SYMLINK, PL__B_HARDLINK, PL__B_OTHER };

/* A path of the base's filesystem. */
struct pl__bentry {
	char *path; /* relative and normalised: "etc/passwd" */
	enum pl__bkind kind;
	uint32_t mode, uid, gid;       /* mode: permission bits (07777) */
	uint64_t size;                 /* regular files: content bytes */
	uint8_t sha256[PL_SHA256_LEN]; /* regular files: of the content */
	char *target;                  /* symlinks and hard links */
	char *data;                    /* content (NUL-terminated) when kept */
	unsigned layer;                /* the layer it is from, 0 the top one */
};

/* An installed Debian package, from its status.d paragraph.  source,
 * provides, conflicts and breaks are NULL when the paragraph has none;
 * source is the field as written ("glibc" or "glibc (2.36-9)").  No two
 * have the same name and architecture. */
struct pl__base_pkg {
	char *name, *version, *arch, *source, *provides, *conflicts, *breaks;
};

struct pl__baseimg;

struct pl__baseimg *pl__baseimg_new(struct pl_error **err);
void pl__baseimg_free(struct pl__baseimg *b);
void pl__baseimg_freep(struct pl__baseimg **b);
#define cleanup_baseimg __attribute__((cleanup(pl__baseimg_freep)))

/* Whether the content of `path` (relative) is kept. */
bool pl__baseimg_keeps(const char *path);

/*
 * Read the image's layers: `layers` is its manifest's "layers" list (of
 * descriptors, checked), each blob read from the OCI layout `dir`.  Errors
 * name the layer: "base layer sha256:...: ...".
 */
int pl__baseimg_read(const char *dir, const json_t *layers, struct pl__baseimg **out,
		     struct pl_error **err);

/*
 * Read one layer blob from `fd`, which holds `size` bytes with `digest`
 * and media type `media_type`.  Layers go from the top one (the last in
 * the manifest) down; pl__baseimg_finish() after the bottom one.
 */
int pl__baseimg_add_layer(struct pl__baseimg *b, int fd, const char *media_type,
			  const uint8_t digest[PL_SHA256_LEN], uint64_t size,
			  struct pl_error **err);

/*
 * What reads the whole filesystem (scan, SBOM, unpacking for tests) is
 * shown each visible entry as its layer is read: entry() with it (a
 * regular file's size and sha256 are not known yet), then, for a regular
 * file, data() with its content in chunks and end() with the entry, size
 * and sha256 filled in.  Layers go from the top down, so a path is shown
 * once it is final; only a layer that has a path twice shows it twice (the
 * later one counts), and a directory may be shown after paths below it.
 * An error a callback returns fails the read.
 */
struct pl__fs_visitor {
	int (*entry)(void *ctx, const struct pl__bentry *e, struct pl_error **err);
	int (*data)(void *ctx, const void *p, size_t n, struct pl_error **err);
	int (*end)(void *ctx, const struct pl__bentry *e, struct pl_error **err);
	void *ctx;
};

/* Show what the next layers add to `v` (borrowed; NULL for nothing). */
void pl__baseimg_visit(struct pl__baseimg *b, const struct pl__fs_visitor *v);

/* Where layer blobs come from: open() gives a file descriptor for reading
 * the blob `digest` (its content is checked by the reader). */
struct pl__blob_source {
	int (*open)(void *ctx, const uint8_t digest[PL_SHA256_LEN], int *fd, struct pl_error **err);
	void *ctx;
};

/* The blobs of the OCI layout `dir` (borrowed: it must outlive the source). */
struct pl__blob_source pl__layout_blobs(const char *dir);

/* pl__baseimg_read(), with the blobs from `src`, showing every visible
 * entry to `v` (NULL for none). */
int pl__baseimg_read_visit(const struct pl__blob_source *src, const json_t *layers,
			   const struct pl__fs_visitor *v, struct pl__baseimg **out,
			   struct pl_error **err);

/* Parse the installed packages out of the status.d files, once every layer
 * is in. */
int pl__baseimg_finish(struct pl__baseimg *b, struct pl_error **err);

/* The entry at `path` (relative), or NULL when the base has no such path. */
const struct pl__bentry *pl__baseimg_get(const struct pl__baseimg *b, const char *path);

/* Every entry: i < pl__baseimg_slots(); NULL for a slot that holds none
 * (a whiteout's record). */
size_t pl__baseimg_slots(const struct pl__baseimg *b);
const struct pl__bentry *pl__baseimg_at(const struct pl__baseimg *b, size_t i);

/* The installed packages, sorted by name then architecture. */
const struct pl__base_pkg *pl__baseimg_packages(const struct pl__baseimg *b, size_t *n);

/* The installed package `name` (any architecture), or NULL. */
const struct pl__base_pkg *pl__baseimg_package(const struct pl__baseimg *b, const char *name);

/* An account of the base's /etc/passwd or /etc/group. */
struct pl__account {
	char *name;
	uint32_t id, gid;   /* uid and gid; groups: id == gid */
	char *home, *shell; /* users only */
};

/* The base's /etc/passwd (group: /etc/group) lines that parse as accounts;
 * *n = 0 when the base has no such file.  Lines that do not parse (comments,
 * NIS "+" lines) are kept in the file but not returned; an account whose
 * name, home or shell is not UTF-8 or holds a control character is an
 * error (those go into messages). */
int pl__baseimg_accounts(const struct pl__baseimg *b, bool groups, struct pl__account **out,
			 size_t *n, struct pl_error **err);
void pl__accounts_free(struct pl__account *v, size_t n);

/* ---- what a build asked of the base ------------------------------------- */

/*
 * While a trace is on, every question asked through the functions above
 * (an entry by path, a package by name, the package list, every path) is
 * recorded, once, in the order first asked.  A derived layer is a function
 * of its recipe's inputs and of the answers its build got from the base;
 * on another base that gives the same answers to the same questions the
 * same build asks the same questions and makes the same layer.  The layer
 * cache relies on exactly that.
 *
 * pl__baseimg_trace_stop() gives the questions as a JSON array of strings
 * (the caller owns it): "V:PATH" for pl__baseimg_view() (pl__baseimg_get()
 * is view 'g'), "=V:HEX:PATH" for pl__baseimg_same(), "u:PREFIX" for
 * pl__baseimg_under(), "p:NAME", "P" (the package list), "S" (every path),
 * "I" (the os-release ID).  pl__baseimg_answers() hashes a base's answers to such a list
 * (PL_EINVAL for a malformed one).
 */
int pl__baseimg_trace_start(struct pl__baseimg *b, struct pl_error **err);

/*
 * The entry at `path`, for a caller that looks only at what `view` names,
 * so that only that is its answer: 'e' whether there is one, 'k' its kind,
 * 'd' kind, mode and owner, 'l' kind, owner and link target, 'f' kind,
 * owner, mode, size and content, 'g' all of it (pl__baseimg_get()).
 */
const struct pl__bentry *pl__baseimg_view(const struct pl__baseimg *b, const char *path, char view);
/* Whether the entry at `path` is `want` in what `view` looks at (no entry
 * is never `want`); the answer is that yes or no, not the entry. */
bool pl__baseimg_same(const struct pl__baseimg *b, const char *path, const struct pl__bentry *want,
		      char view);
/* Call `fn` for every entry whose path starts with `prefix`; the answer is
 * all of those entries. */
void pl__baseimg_under(const struct pl__baseimg *b, const char *prefix,
		       void (*fn)(void *ctx, const struct pl__bentry *e), void *ctx);
/* Stop (pause true) or go on recording questions; returns whether it was
 * paused.  For checks whose outcome is pass or fail, never part of a
 * layer, which a build taking a cached layer makes again itself. */
bool pl__baseimg_trace_pause(const struct pl__baseimg *b, bool pause);
/* The ID= of the base's /etc/os-release, unquoted, in `out`: 1; 0 when it
 * has none; -1 when it is not a regular file or has no ID line. */
int pl__baseimg_os_id(const struct pl__baseimg *b, char *out, size_t size);
int pl__baseimg_trace_stop(struct pl__baseimg *b, json_t **queries, struct pl_error **err);
int pl__baseimg_answers(const struct pl__baseimg *b, const json_t *queries,
			uint8_t out[PL_SHA256_LEN], struct pl_error **err);

/* ---- the base of a recipe ------------------------------------------------ */

struct pl__base {
	char *name, *version; /* as resolved in the catalog */
	char *ref;            /* "NAME@VERSION" */
	char *layout;         /* the OCI layout holding it */
	uint8_t digest[PL_SHA256_LEN];
	char digest_str[PL_DIGEST_STR_LEN + 1];
	struct pl__image image; /* manifest and config, checked */
	json_t *layers;         /* image.mjson's "layers" (borrowed) */
	json_t *diff_ids;       /* image.config's rootfs.diff_ids (borrowed) */
	json_t *history;        /* pl__base_history() of it (owned) */
	struct pl__baseimg *fs;
};

void pl__base_release(struct pl__base *b);

/*
 * The history an image on a base starts with, one entry that is not an
 * empty layer for each of the base's `nlayers` layers: the history of its
 * `config` when it has that, or, when it has no entry for a layer at all,
 * what it has followed by {"created", "created_by": "base NAME:VERSION"}
 * for each layer ("created" being the config's, when it has one).  A
 * history with another number of layers is refused.
 */
int pl__base_history(const json_t *config, size_t nlayers, const char *name, const char *version,
		     json_t **out, struct pl_error **err);
#define cleanup_base __attribute__((cleanup(pl__base_release)))

/*
 * Resolve `r`'s base (NAME@RANGE) in `catalog` (NULL is an error that says
 * how to name one), pass a resolution warning (superseded, deprecated) to
 * `warn`, open the image by the catalog's digest in the layout the catalog
 * records, check it is for this architecture and read its filesystem.
 * Errors start "recipe 'FILE': base 'NAME@RANGE': ".
 */
struct pl__base_fetch;
int pl__base_open(const struct pl_recipe *r, struct pl_catalog *catalog,
		  const struct pl__base_fetch *fetch, void (*warn)(void *ctx, const char *msg),
		  void *warn_ctx, struct pl__base *out, struct pl_error **err);

/*
 * Where a base whose layout is not on this machine is pulled from the
 * registry the catalog locates it in (by its digest, so the catalog's
 * trust carries over): into the OCI layout `cache`, tagged NAME-VERSION.
 */
struct pl_registry_options;
struct pl__base_fetch {
	const char *cache;
	const struct pl_registry_options *registry;
};

/* Open the base the catalog entry `e` names, as pl__base_open() does once
 * it has resolved one (pulling it as `fetch` says when it is not here;
 * NULL: never).  Errors start "base 'NAME@VERSION': ". */
int pl__base_open_entry(const struct pl_catalog_entry *e, const struct pl__base_fetch *fetch,
			struct pl__base *out, struct pl_error **err);

/* pl_build(), on `base` when it is not NULL (opened already, with
 * pl__base_open_entry(); the build asks it questions but leaves it open)
 * instead of the base the recipe resolves to in o->catalog. */
struct pl_build_options;
struct pl_build_result;
int pl__build_on(const struct pl_recipe *r, const struct pl_build_options *o, struct pl__base *base,
		 struct pl_build_result *res, struct pl_error **err);

#endif
