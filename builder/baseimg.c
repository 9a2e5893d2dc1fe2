/* baseimg.c - a base image and its filesystem, read from its layers (see baseimg.h). */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libarchive.h"
#include "archive-util.h"
#include "baseimg.h"
#include "deb822.h"
#include "debversion.h"
#include "json.h"
#include "layout.h"
#include "plinth/registry.h"

#define NONE       UINT_MAX          /* no layer */
#define READ_CHUNK ((size_t)1 << 16) /* content bytes read at a time */
#define STATUS_DIR "var/lib/dpkg/status.d/"
#define CERTS_DIR  "usr/share/ca-certificates/"

/*
 * One path seen in the layers: an entry (when has_entry), and what the
 * layers above it hid (layers count from the top, 0 being the topmost; a
 * path is hidden from layer L by a record whose hides_* is below L).
 */
struct brec {
	struct pl__bentry e;
	bool has_entry;
	unsigned layer;       /* of the entry */
	unsigned hides_self;  /* a whiteout of this path */
	unsigned hides_below; /* what lower layers have below it */
};

struct pl__baseimg {
	struct brec *v;
	size_t n, alloc;
	size_t *slots; /* open addressing: index + 1, 0 = empty */
	size_t nslots; /* power of two */
	size_t names, kept;
	uint64_t tar; /* decompressed bytes of the layers read before this one */
	unsigned layers;
	struct pl__base_pkg *pkgs;
	size_t npkgs, pkgs_alloc;
	struct trace *trace; /* questions asked, while on (pl__baseimg_trace_start) */
	const struct pl__fs_visitor *visitor; /* borrowed; NULL for none */
};

static void trace_free(struct trace *t);
static void ask(const struct pl__baseimg *b, char kind, const char *arg);

/* ---- the path table -------------------------------------------------- */

struct pl__baseimg *pl__baseimg_new(struct pl_error **err)
{
	struct pl__baseimg *b = pl__calloc(1, sizeof(*b), err);
	if (!b)
		return NULL;
	b->nslots = 1024;
	if (!(b->slots = pl__calloc(b->nslots, sizeof(*b->slots), err))) {
		free(b);
		return NULL;
	}
	return b;
}

static void pkg_release(struct pl__base_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source);
	free(p->provides);
	free(p->conflicts);
	free(p->breaks);
}

void pl__baseimg_free(struct pl__baseimg *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].e.path);
		free(b->v[i].e.target);
		free(b->v[i].e.data);
	}
	for (size_t i = 0; i < b->npkgs; i++)
		pkg_release(&b->pkgs[i]);
	free(b->pkgs);
	free(b->v);
	free(b->slots);
	trace_free(b->trace);
	free(b);
}

void pl__baseimg_freep(struct pl__baseimg **b)
{
	pl__baseimg_free(*b);
}

static size_t *find_slot(const struct pl__baseimg *b, const char *path)
{
	size_t mask = b->nslots - 1, i = (size_t)pl__str_hash(path) & mask;
	for (;; i = (i + 1) & mask) {
		size_t s = b->slots[i];
		if (!s || !strcmp(b->v[s - 1].e.path, path))
			return &b->slots[i];
	}
}

static struct brec *rec_get(const struct pl__baseimg *b, const char *path)
{
	size_t s = *find_slot(b, path);
	return s ? &b->v[s - 1] : NULL;
}

static int rehash(struct pl__baseimg *b, struct pl_error **err)
{
	size_t n = b->nslots * 2;
	size_t *slots = pl__calloc(n, sizeof(*slots), err);
	if (!slots)
		return PL_ENOMEM;
	free(b->slots);
	b->slots = slots;
	b->nslots = n;
	for (size_t i = 0; i < b->n; i++)
		*find_slot(b, b->v[i].e.path) = i + 1;
	return 0;
}

/* Count `len` more bytes of names against PL__BASE_NAMES_MAX. */
static int charge_names(struct pl__baseimg *b, size_t len, struct pl_error **err)
{
	if (len >= PL__BASE_NAMES_MAX - b->names)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "its paths and link targets exceed %zu bytes together",
				     PL__BASE_NAMES_MAX);
	b->names += len + 1;
	return 0;
}

/* The record of `path`, made when there is none. */
static int rec_add(struct pl__baseimg *b, const char *path, struct brec **out,
		   struct pl_error **err)
{
	if ((*out = rec_get(b, path)))
		return 0;
	if (b->n >= PL__BASE_PATHS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "its layers hold more than %zu paths",
				     PL__BASE_PATHS_MAX);
	int rc = charge_names(b, strlen(path), err);
	if (rc < 0)
		return rc;
	if ((b->n + 1) * 10 > b->nslots * 7 && (rc = rehash(b, err)) < 0)
		return rc;
	if ((rc = pl__grow(&b->v, &b->alloc, b->n + 1, sizeof(*b->v), err)) < 0)
		return rc;
	struct brec *r = &b->v[b->n];
	*r = (struct brec){ .layer = NONE, .hides_self = NONE, .hides_below = NONE };
	if (!(r->e.path = pl__strdup(path, err)))
		return PL_ENOMEM;
	*find_slot(b, path) = ++b->n;
	*out = r;
	return 0;
}

static unsigned min_layer(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* Whether a layer above `layer` hides `path`: a whiteout of it or of a
 * parent, an opaque parent, or a parent that is not a directory there. */
static bool hidden(const struct pl__baseimg *b, char *path, unsigned layer)
{
	const struct brec *r = rec_get(b, "");
	if (r && r->hides_below < layer)
		return true;
	for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		r = rec_get(b, path);
		*s = '/';
		if (r && (r->hides_self < layer || r->hides_below < layer))
			return true;
	}
	r = rec_get(b, path);
	return r && r->hides_self < layer;
}

static const struct pl__bentry *entry_at(const struct pl__baseimg *b, const char *path)
{
	const struct brec *r = rec_get(b, path);
	return r && r->has_entry ? &r->e : NULL;
}

const struct pl__bentry *pl__baseimg_get(const struct pl__baseimg *b, const char *path)
{
	ask(b, 'g', path);
	return entry_at(b, path);
}

const struct pl__bentry *pl__baseimg_view(const struct pl__baseimg *b, const char *path, char view)
{
	ask(b, view, path);
	return entry_at(b, path);
}

size_t pl__baseimg_slots(const struct pl__baseimg *b)
{
	ask(b, 'S', NULL);
	return b->n;
}

const struct pl__bentry *pl__baseimg_at(const struct pl__baseimg *b, size_t i)
{
	return b->v[i].has_entry ? &b->v[i].e : NULL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

bool pl__baseimg_keeps(const char *path)
{
	if (!strcmp(path, "etc/passwd") || !strcmp(path, "etc/group") ||
	    !strcmp(path, "etc/os-release"))
		return true;
	if (!strncmp(path, STATUS_DIR, sizeof(STATUS_DIR) - 1)) {
		const char *name = path + sizeof(STATUS_DIR) - 1;
		return *name && !strchr(name, '/') && !has_suffix(name, ".md5sums");
	}
	return !strncmp(path, CERTS_DIR, sizeof(CERTS_DIR) - 1) && has_suffix(path, ".crt");
}

/* ---- reading a layer --------------------------------------------------- */

static la_ssize_t src_read(struct archive *a, void *ctx, const void **p)
{
	struct pl__blob_reader *s = ctx;
	ssize_t n = pl__blob_reader_next(s);
	if (n < 0) {
		archive_set_error(a, s->over ? EFBIG : s->read_errno, "%s",
				  s->over ? "the blob is larger than its descriptor says"
					  : "cannot read the blob");
		return -1;
	}
	*p = s->buf;
	return (la_ssize_t)n;
}

/* Read what libarchive left of the blob and check size and digest. */
static int src_check(struct pl__blob_reader *s, const char *ds, struct pl_error **err)
{
	switch (pl__blob_reader_finish(s)) {
	case PL__BLOB_OK:
		return 0;
	case PL__BLOB_SIZE:
		return pl__error_set(err, PL_EDIGEST, 0,
				     "base layer %s is not the %llu bytes its descriptor says", ds,
				     (unsigned long long)s->size);
	case PL__BLOB_DIGEST:
		return pl__error_set(err, PL_EDIGEST, 0, "base layer %s does not match its digest",
				     ds);
	default:
		return pl__error_set(err, PL_ESYS, s->read_errno, "cannot read base layer %s", ds);
	}
}

/* Normalise a tar name: relative, no empty or "." components.  False for a
 * ".." component or a name longer than PL_PATH_MAX. */
static bool normalise(const char *in, char *out, size_t size)
{
	return pl__path_normalise(in, out, size, false);
}

/* ".wh.NAME" hides NAME below; ".wh..wh..opq" empties its directory. */
static int whiteout(struct pl__baseimg *b, const char *path, const char *base, unsigned layer,
		    struct pl_error **err)
{
	char target[PL_PATH_MAX + 1];
	size_t dirlen = (size_t)(base - path);
	struct brec *r;
	int rc;
	if (!strcmp(base, ".wh..wh..opq")) {
		snprintf(target, sizeof(target), "%.*s", (int)(dirlen ? dirlen - 1 : 0), path);
		if ((rc = rec_add(b, target, &r, err)) < 0)
			return rc;
		r->hides_below = min_layer(r->hides_below, layer);
		return 0;
	}
	/* other ".wh..wh." names are aufs' bookkeeping, not whiteouts */
	if (!strncmp(base, ".wh..wh.", 8) || !base[4])
		return 0;
	snprintf(target, sizeof(target), "%.*s%s", (int)dirlen, path, base + 4);
	if ((rc = rec_add(b, target, &r, err)) < 0)
		return rc;
	r->hides_self = min_layer(r->hides_self, layer);
	r->hides_below = min_layer(r->hides_below, layer);
	return 0;
}

/* Check what libarchive has decompressed so far against PL__BASE_TAR_MAX. */
static int check_tar_bytes(const struct pl__baseimg *b, struct archive *a, struct pl_error **err)
{
	la_int64_t n = archive_filter_bytes(a, 0);
	if (n > 0 && (uint64_t)n > PL__BASE_TAR_MAX - b->tar)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "its layers hold more than %llu bytes decompressed together",
				     (unsigned long long)PL__BASE_TAR_MAX);
	return 0;
}

/*
 * Read the data of the entry at `path`, hashing it into `sha` and keeping
 * it in `kept` when they are not NULL; *size gets its length.  Every
 * entry's data is read, what is hidden or shadowed too: skipping it would
 * decompress it all the same, uncounted.
 */
static int read_data(const struct pl__baseimg *b, struct archive *a, const char *path,
		     struct pl_sha256 *sha, struct pl_buf *kept, uint64_t *size, bool visit,
		     struct pl_error **err)
{
	const struct pl__fs_visitor *v = visit ? b->visitor : NULL;
	*size = 0;
	for (;;) {
		char chunk[READ_CHUNK];
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0) {
			cleanup_free char *shown = pl_printable(path, false);
			return pl__error_set(err, PL_EINVAL, 0, "'/%s': %s", shown ? shown : "?",
					     pl__archive_why(a));
		}
		int rc = check_tar_bytes(b, a, err);
		if (rc < 0)
			return rc;
		*size += (uint64_t)n;
		if (sha)
			pl__sha256_update(sha, chunk, (size_t)n);
		if (kept && pl_buf_add(kept, chunk, (size_t)n, NULL) < 0)
			return pl__error_set(err, PL_ELIMIT, 0, "'/%s' is larger than %zu bytes",
					     path, PL__BASE_FILE_MAX);
		if (v && v->data && (rc = v->data(v->ctx, chunk, (size_t)n, err)) < 0)
			return rc;
	}
}

/* Read past the data of an entry whose content is not wanted. */
static int skip_data(const struct pl__baseimg *b, struct archive *a, const char *path,
		     struct pl_error **err)
{
	uint64_t size;
	return read_data(b, a, path, NULL, NULL, &size, false, err);
}

static int read_content(struct pl__baseimg *b, struct archive *a, struct brec *r,
			struct pl_error **err)
{
	bool keep = pl__baseimg_keeps(r->e.path);
	cleanup_sha256 struct pl_sha256 *sha = pl__sha256_new(err);
	cleanup_buf struct pl_buf kept = { 0 };
	if (!sha || (keep && pl_buf_init(&kept, PL__BASE_FILE_MAX, err) < 0))
		return PL_ENOMEM;
	int rc = read_data(b, a, r->e.path, sha, keep ? &kept : NULL, &r->e.size, true, err);
	if (rc < 0)
		return rc;
	pl__sha256_final(sha, r->e.sha256);
	const struct pl__fs_visitor *v = b->visitor;
	if (v && v->end && (rc = v->end(v->ctx, &r->e, err)) < 0)
		return rc;
	if (!keep)
		return 0;
	if (kept.len > PL__BASE_KEPT_MAX - b->kept)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "the files plinth reads in it exceed %zu bytes together",
				     PL__BASE_KEPT_MAX);
	b->kept += kept.len;
	r->e.data = pl_buf_detach(&kept, NULL);
	return 0;
}

static int take_entry(struct pl__baseimg *b, struct archive *a, struct archive_entry *ae,
		      unsigned layer, struct pl_error **err)
{
	const char *raw = archive_entry_pathname(ae);
	char path[PL_PATH_MAX + 1];
	if (!raw || !normalise(raw, path, sizeof(path))) {
		/* names from an image reach messages shown, not sent */
		cleanup_free char *shown = pl_printable(raw ? raw : "", false);
		return pl__error_set(err, PL_EINVAL, 0,
				     "entry '%s' has a '..' component or a name longer than %d "
				     "bytes",
				     shown ? shown : "?", PL_PATH_MAX);
	}
	if (!*path)
		return 0; /* the root itself */
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int rc;
	if (!strncmp(base, ".wh.", 4)) {
		if ((rc = whiteout(b, path, base, layer, err)) < 0)
			return rc;
		return skip_data(b, a, path, err);
	}
	if (hidden(b, path, layer))
		return skip_data(b, a, path, err);

	const char *hardlink = archive_entry_hardlink(ae);
	const char *symlink = archive_entry_symlink(ae);
	mode_t type = archive_entry_filetype(ae);
	enum pl__bkind kind = hardlink           ? PL__B_HARDLINK
			      : type == AE_IFREG ? PL__B_REG
			      : type == AE_IFDIR ? PL__B_DIR
			      : type == AE_IFLNK ? PL__B_SYMLINK
						 : PL__B_OTHER;
	struct brec *r = rec_get(b, path);
	if (r && r->has_entry && r->layer < layer) {
		/* an upper layer has the path; a non-directory here still
		 * removed what the layers below had under it */
		if (kind != PL__B_DIR)
			r->hides_below = min_layer(r->hides_below, layer);
		return skip_data(b, a, path, err);
	}
	char target[PL_PATH_MAX + 1] = "";
	if (kind == PL__B_HARDLINK && !normalise(hardlink, target, sizeof(target))) {
		cleanup_free char *p1 = pl_printable(path, false),
				  *p2 = pl_printable(hardlink, false);
		return pl__error_set(err, PL_EINVAL, 0,
				     "'/%s' is a hard link to '%s', which has a '..' component or "
				     "is longer than %d bytes",
				     p1 ? p1 : "?", p2 ? p2 : "?", PL_PATH_MAX);
	}
	if (kind == PL__B_SYMLINK) {
		cleanup_free char *p1 = NULL;
		if (!symlink || strlen(symlink) > PL_PATH_MAX)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'/%s' is a symlink without a target of at most %d "
					     "bytes",
					     (p1 = pl_printable(path, false)) ? p1 : "?",
					     PL_PATH_MAX);
		snprintf(target, sizeof(target), "%s", symlink);
	}
	if ((rc = rec_add(b, path, &r, err)) < 0)
		return rc;
	if (r->has_entry) { /* twice in this layer: the later one counts */
		if (r->e.data)
			b->kept -= r->e.size;
		free(r->e.data);
		free(r->e.target);
		r->e.data = r->e.target = NULL;
	}
	if (*target && ((rc = charge_names(b, strlen(target), err)) < 0 ||
			!(r->e.target = pl__strdup(target, err))))
		return rc < 0 ? rc : PL_ENOMEM;
	la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
	r->e.kind = kind;
	r->e.mode = (uint32_t)archive_entry_perm(ae) & 07777;
	r->e.uid = uid >= 0 && uid <= UINT32_MAX ? (uint32_t)uid : UINT32_MAX;
	r->e.gid = gid >= 0 && gid <= UINT32_MAX ? (uint32_t)gid : UINT32_MAX;
	r->e.size = 0;
	memset(r->e.sha256, 0, PL_SHA256_LEN);
	r->has_entry = true;
	r->layer = r->e.layer = layer;
	if (kind != PL__B_DIR)
		r->hides_below = min_layer(r->hides_below, layer);
	const struct pl__fs_visitor *v = b->visitor;
	if (v && v->entry && (rc = v->entry(v->ctx, &r->e, err)) < 0)
		return rc;
	return kind == PL__B_REG ? read_content(b, a, r, err) : skip_data(b, a, path, err);
}

static int read_tar(struct pl__baseimg *b, struct pl__blob_reader *s, const char *media_type,
		    unsigned layer, struct pl_error **err)
{
	cleanup_archive_read struct archive *a = archive_read_new();
	if (!a)
		return pl__archive_failed(err);
	int want = ARCHIVE_FILTER_NONE, r = ARCHIVE_OK;
	const char *what = "uncompressed";
	if (!strcmp(media_type, PL__MT_LAYER_GZIP)) {
		want = ARCHIVE_FILTER_GZIP;
		what = "gzip-compressed";
		r = archive_read_support_filter_gzip(a);
	} else if (!strcmp(media_type, PL__MT_LAYER_ZSTD)) {
		want = ARCHIVE_FILTER_ZSTD;
		what = "zstd-compressed";
		r = archive_read_support_filter_zstd(a);
	}
	/* ARCHIVE_WARN would mean running an external program: refused. */
	if (r != ARCHIVE_OK)
		return pl__error_set(err, PL_EINVAL, 0,
				     "libarchive cannot read %s layers by itself", what);
	if (archive_read_support_format_tar(a) != ARCHIVE_OK)
		return pl__error_set(err, PL_EINVAL, 0, "%s", pl__archive_why(a));
	r = archive_read_open(a, s, NULL, src_read, NULL);
	if (archive_errno(a) == ENOMEM)
		return pl__error_nomem(err);
	if (s->over || s->read_errno)
		return pl__error_set(err, PL_EINVAL, 0, "%s", pl__archive_why(a));
	/* The filters bid before the format: the wrong filter in place says
	 * the media type lies. */
	if (archive_filter_code(a, 0) != want ||
	    archive_filter_count(a) != (want == ARCHIVE_FILTER_NONE ? 1 : 2))
		return pl__error_set(err, PL_EINVAL, 0, "it is not %s as its media type says",
				     what);
	if (r != ARCHIVE_OK)
		return pl__error_set(err, PL_EINVAL, 0, "%s", pl__archive_why(a));
	for (;;) {
		struct archive_entry *ae;
		r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF) {
			la_int64_t n = archive_filter_bytes(a, 0);
			b->tar += n > 0 ? (uint64_t)n : 0;
			return 0;
		}
		/* a pax name that is not valid in the "C" locale keeps its bytes */
		if (r != ARCHIVE_OK &&
		    !(r == ARCHIVE_WARN &&
		      strstr(pl__archive_why(a), "can't be converted from UTF-8")))
			return pl__error_set(err, PL_EINVAL, 0, "%s", pl__archive_why(a));
		int rc = check_tar_bytes(b, a, err);
		if (rc < 0 || (rc = take_entry(b, a, ae, layer, err)) < 0)
			return rc;
	}
}

int pl__baseimg_add_layer(struct pl__baseimg *b, int fd, const char *media_type,
			  const uint8_t digest[PL_SHA256_LEN], uint64_t size, struct pl_error **err)
{
	char ds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(digest, ds);
	if (strcmp(media_type, PL__MT_LAYER) && strcmp(media_type, PL__MT_LAYER_GZIP) &&
	    strcmp(media_type, PL__MT_LAYER_ZSTD))
		return pl__error_set(err, PL_EINVAL, 0,
				     "base layer %s: media type '%s' is not a tar, tar+gzip or "
				     "tar+zstd layer",
				     ds, media_type);
	if (b->layers >= PL__BASE_LAYERS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "the base has more than %d layers",
				     PL__BASE_LAYERS_MAX);
	if (size > PL__BASE_BLOB_MAX)
		return pl__error_set(
		    err, PL_ELIMIT, 0, "base layer %s: its %llu bytes exceed the limit of %llu", ds,
		    (unsigned long long)size, (unsigned long long)PL__BASE_BLOB_MAX);
	cleanup_blob_reader struct pl__blob_reader *s = pl__blob_reader_new(fd, digest, size, err);
	if (!s)
		return PL_ENOMEM;

	/* libarchive converts names through the calling thread's locale: pin
	 * it (per thread) to "C", where stored bytes are kept as they are. */
	locale_t c = newlocale(LC_CTYPE_MASK, "C", (locale_t)0);
	if (!c)
		return pl__error_set(err, PL_ESYS, errno, "cannot load the C locale");
	locale_t saved = uselocale(c);
	struct pl_error *tar_err = NULL;
	int rc = read_tar(b, s, media_type, b->layers++, &tar_err);
	uselocale(saved);
	freelocale(c);
	/* Bytes that do not match the digest explain any failure to read them. */
	int checked = src_check(s, ds, err);
	if (checked < 0) {
		pl_error_free(tar_err);
		return checked;
	}
	if (rc < 0) {
		if (err)
			*err = tar_err;
		else
			pl_error_free(tar_err);
		return pl__error_wrap(err, rc, "base layer %s", ds);
	}
	return 0;
}

/* ---- packages -------------------------------------------------------- */

/* The field `name` of `p` in *out, left NULL when the paragraph has none. */
static int field(const struct pl__para *p, const char *name, char **out, struct pl_error **err)
{
	const struct pl__field *f = pl__para_get(p, name);
	if (f && !(*out = pl__strndup(f->value, f->value_len, err)))
		return PL_ENOMEM;
	return 0;
}

static int parse_status(struct pl__baseimg *b, const struct pl__bentry *e, struct pl_error **err)
{
	char name[PL_PATH_MAX + 2];
	snprintf(name, sizeof(name), "/%s", e->path);
	struct pl__deb822 d;
	pl__deb822_init(&d, name, e->data, e->size);
	cleanup_para struct pl__para para = { 0 };
	for (;;) {
		int rc = pl__deb822_next(&d, &para, err);
		if (rc <= 0)
			return rc;
		const struct pl__field *st = pl__para_get(&para, "Status");
		/* dpkg's "want flag state": only "installed" packages count */
		if (st && !(st->value_len >= 10 &&
			    !memcmp(st->value + st->value_len - 10, " installed", 10)))
			continue;
		if (b->npkgs >= PL__BASE_PACKAGES_MAX)
			return pl__error_set(err, PL_ELIMIT, 0, "it has more than %zu packages",
					     PL__BASE_PACKAGES_MAX);
		if (pl__grow(&b->pkgs, &b->pkgs_alloc, b->npkgs + 1, sizeof(*b->pkgs), err) < 0)
			return PL_ENOMEM;
		struct pl__base_pkg *p = &b->pkgs[b->npkgs++];
		*p = (struct pl__base_pkg){ 0 };
		if ((rc = field(&para, "Package", &p->name, err)) < 0 ||
		    (rc = field(&para, "Version", &p->version, err)) < 0)
			return rc;
		if (!p->name || !p->version)
			return pl__error_set(err, PL_EINVAL, 0, "%s:%u: the paragraph has no '%s'",
					     name, para.line, !p->name ? "Package" : "Version");
		const char *why;
		if (!pl__debname_valid(p->name))
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: '%s' is not a Debian package name", name,
					     para.line, p->name);
		if (!pl__debver_valid(p->version, &why))
			return pl__error_set(err, PL_EINVAL, 0, "%s:%u: package '%s': %s", name,
					     para.line, p->name, why);
		if ((rc = field(&para, "Architecture", &p->arch, err)) < 0 ||
		    (rc = field(&para, "Source", &p->source, err)) < 0 ||
		    (rc = field(&para, "Provides", &p->provides, err)) < 0 ||
		    (rc = field(&para, "Conflicts", &p->conflicts, err)) < 0 ||
		    (rc = field(&para, "Breaks", &p->breaks, err)) < 0)
			return rc;
	}
}

static int cmp_pkg(const void *a, const void *b)
{
	const struct pl__base_pkg *x = a, *y = b;
	int d = strcmp(x->name, y->name);
	return d ? d : strcmp(x->arch ? x->arch : "", y->arch ? y->arch : "");
}

int pl__baseimg_finish(struct pl__baseimg *b, struct pl_error **err)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct brec *r = &b->v[i];
		if (!r->has_entry || strncmp(r->e.path, STATUS_DIR, sizeof(STATUS_DIR) - 1) ||
		    !pl__baseimg_keeps(r->e.path))
			continue;
		if (r->e.kind != PL__B_REG)
			return pl__error_set(err, PL_EINVAL, 0, "'/%s' is not a regular file",
					     r->e.path);
		int rc = parse_status(b, &r->e, err);
		if (rc < 0)
			return rc;
	}
	if (b->npkgs)
		qsort(b->pkgs, b->npkgs, sizeof(*b->pkgs), cmp_pkg);
	/* dpkg has one of each: a second is a base made by hand, or worse */
	for (size_t i = 1; i < b->npkgs; i++)
		if (!cmp_pkg(&b->pkgs[i - 1], &b->pkgs[i]))
			return pl__error_set(err, PL_EINVAL, 0, "package '%s' is installed twice",
					     b->pkgs[i].name);
	return 0;
}

const struct pl__base_pkg *pl__baseimg_packages(const struct pl__baseimg *b, size_t *n)
{
	ask(b, 'P', NULL);
	*n = b->npkgs;
	return b->pkgs;
}

static const struct pl__base_pkg *find_pkg(const struct pl__baseimg *b, const char *name)
{
	size_t lo = 0, hi = b->npkgs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(b->pkgs[mid].name, name);
		if (d == 0)
			return &b->pkgs[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct pl__base_pkg *pl__baseimg_package(const struct pl__baseimg *b, const char *name)
{
	ask(b, 'p', name);
	return find_pkg(b, name);
}

void pl__baseimg_visit(struct pl__baseimg *b, const struct pl__fs_visitor *v)
{
	b->visitor = v;
}

static int layout_blob(void *ctx, const uint8_t digest[PL_SHA256_LEN], int *fd,
		       struct pl_error **err)
{
	return pl__blob_open(ctx, digest, fd, err);
}

struct pl__blob_source pl__layout_blobs(const char *dir)
{
	return (struct pl__blob_source){ layout_blob, (void *)dir };
}

int pl__baseimg_read(const char *dir, const json_t *layers, struct pl__baseimg **out,
		     struct pl_error **err)
{
	struct pl__blob_source src = pl__layout_blobs(dir);
	return pl__baseimg_read_visit(&src, layers, NULL, out, err);
}

int pl__baseimg_read_visit(const struct pl__blob_source *src, const json_t *layers,
			   const struct pl__fs_visitor *v, struct pl__baseimg **out,
			   struct pl_error **err)
{
	if (!json_is_array(layers))
		return pl__error_set(err, PL_EINVAL, 0, "the manifest has no 'layers' list");
	size_t n = json_array_size(layers);
	if (n > PL__BASE_LAYERS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "the base has more than %d layers",
				     PL__BASE_LAYERS_MAX);
	cleanup_baseimg struct pl__baseimg *b = pl__baseimg_new(err);
	if (!b)
		return PL_ENOMEM;
	b->visitor = v;
	for (size_t i = n; i-- > 0;) {
		const json_t *d = json_array_get(layers, i);
		const char *mt = json_string_value(json_object_get(d, "mediaType"));
		const json_t *size = json_object_get(d, "size");
		uint8_t digest[PL_SHA256_LEN];
		if (!mt || !json_is_integer(size) || json_integer_value(size) < 0 ||
		    !pl__digest_parse(json_string_value(json_object_get(d, "digest")), digest))
			return pl__error_set(err, PL_EINVAL, 0,
					     "layers[%zu] is not a descriptor (mediaType, digest, "
					     "size)",
					     i);
		cleanup_close int fd = -1;
		int rc = src->open(src->ctx, digest, &fd, err);
		if (rc == 0)
			rc = pl__baseimg_add_layer(b, fd, mt, digest,
						   (uint64_t)json_integer_value(size), err);
		if (rc < 0)
			return rc;
	}
	int rc = pl__baseimg_finish(b, err);
	if (rc < 0)
		return rc;
	b->visitor = NULL;
	*out = steal_pointer(&b);
	return 0;
}

/* ---- accounts ---------------------------------------------------------- */

void pl__accounts_free(struct pl__account *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].home);
		free(v[i].shell);
	}
	free(v);
}

static bool parse_u32(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10 || strspn(s, "0123456789") < n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Split `line` (len bytes) at ':' into at most `max` fields. */
static size_t split(const char *line, size_t len, const char **f, size_t *flen, size_t max)
{
	size_t n = 0;
	const char *p = line, *end = line + len;
	while (n < max) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		f[n] = p;
		flen[n++] = (size_t)((colon ? colon : end) - p);
		if (!colon)
			break;
		p = colon + 1;
	}
	return n;
}

/* Whether an account's field is fit for a message: UTF-8 without control
 * characters (C0, DEL or C1), which a hostile base could aim at a
 * terminal. */
static bool printable(const char *s)
{
	if (!pl__utf8_valid(s))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return false;
	return true;
}

int pl__baseimg_accounts(const struct pl__baseimg *b, bool groups, struct pl__account **out,
			 size_t *n, struct pl_error **err)
{
	const char *path = groups ? "etc/group" : "etc/passwd";
	const struct pl__bentry *e = pl__baseimg_get(b, path);
	*out = NULL;
	*n = 0;
	if (!e)
		return 0;
	if (e->kind != PL__B_REG || !e->data)
		return pl__error_set(err, PL_EINVAL, 0, "its '/%s' is not a regular file", path);
	struct pl__account *v = NULL;
	size_t nv = 0, alloc = 0;
	int rc = 0;
	unsigned lineno = 0;
	for (const char *line = e->data, *end = e->data + e->size; rc == 0 && line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)((nl ? nl : end) - line);
		const char *f[7];
		size_t fl[7];
		size_t nf = split(line, len, f, fl, 7);
		line += len + 1;
		lineno++;
		struct pl__account a = { 0 };
		bool ok = groups ? nf == 4 && parse_u32(f[2], fl[2], &a.id)
				 : nf == 7 && parse_u32(f[2], fl[2], &a.id) &&
				       parse_u32(f[3], fl[3], &a.gid);
		if (!ok || fl[0] == 0)
			continue;
		if (groups)
			a.gid = a.id;
		a.name = pl__strndup(f[0], fl[0], err);
		a.home = groups ? NULL : pl__strndup(f[5], fl[5], err);
		a.shell = groups ? NULL : pl__strndup(f[6], fl[6], err);
		if (!a.name || (!groups && (!a.home || !a.shell)) ||
		    pl__grow(&v, &alloc, nv + 1, sizeof(*v), err) < 0)
			rc = PL_ENOMEM;
		else if (!printable(a.name) ||
			 (!groups && (!printable(a.home) || !printable(a.shell))))
			rc = pl__error_set(err, PL_EINVAL, 0,
					   "its '/%s' line %u holds a control character or is not "
					   "UTF-8",
					   path, lineno);
		if (rc < 0) {
			free(a.name);
			free(a.home);
			free(a.shell);
			break;
		}
		v[nv++] = a;
	}
	if (rc < 0) {
		pl__accounts_free(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

/* ---- what a build asked of the base ------------------------------------- */

/* The questions asked while tracing, each once, in the order first asked
 * ("g:PATH", "p:NAME", "P", "S"); `seen` is an open-addressing set of
 * indices + 1 into `q`. */
struct trace {
	char **q;
	size_t n, alloc;
	size_t *seen, nseen; /* nseen: a power of two, more than twice n */
	bool failed;         /* an allocation failed: the trace is incomplete */
	bool paused;         /* questions asked now are not recorded */
};

static void trace_free(struct trace *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->q[i]);
	free(t->q);
	free(t->seen);
	free(t);
}

static size_t str_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Index `i` of t->q into t->seen, which has room. */
static void seen_put(struct trace *t, size_t i)
{
	size_t at = str_hash(t->q[i]) & (t->nseen - 1);
	while (t->seen[at])
		at = (at + 1) & (t->nseen - 1);
	t->seen[at] = i + 1;
}

static bool trace_grow(struct trace *t)
{
	if (t->n == t->alloc) {
		size_t alloc = t->alloc ? t->alloc * 2 : 64;
		char **q = realloc(t->q, alloc * sizeof(*q));
		if (!q)
			return false;
		t->q = q;
		t->alloc = alloc;
	}
	if ((t->n + 1) * 2 < t->nseen)
		return true;
	size_t nseen = t->nseen ? t->nseen * 2 : 256;
	size_t *seen = calloc(nseen, sizeof(*seen));
	if (!seen)
		return false;
	free(t->seen);
	t->seen = seen;
	t->nseen = nseen;
	for (size_t i = 0; i < t->n; i++)
		seen_put(t, i);
	return true;
}

/* Record the question `kind` (with `arg`, or NULL) when a trace is on. */
static void ask(const struct pl__baseimg *b, char kind, const char *arg)
{
	struct trace *t = b->trace;
	if (!t || t->failed || t->paused)
		return;
	char *q = pl__asprintf(NULL, "%c%s%s", kind, arg ? ":" : "", arg ? arg : "");
	if (!q || !trace_grow(t)) {
		free(q);
		t->failed = true;
		return;
	}
	for (size_t at = str_hash(q) & (t->nseen - 1); t->seen[at]; at = (at + 1) & (t->nseen - 1))
		if (!strcmp(t->q[t->seen[at] - 1], q)) {
			free(q);
			return;
		}
	t->q[t->n] = q;
	seen_put(t, t->n++);
}

bool pl__baseimg_trace_pause(const struct pl__baseimg *b, bool pause)
{
	bool was = b->trace && b->trace->paused;
	if (b->trace)
		b->trace->paused = pause;
	return was;
}

void pl__baseimg_under(const struct pl__baseimg *b, const char *prefix,
		       void (*fn)(void *ctx, const struct pl__bentry *e), void *ctx)
{
	ask(b, 'u', prefix);
	size_t n = strlen(prefix);
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].has_entry && !strncmp(b->v[i].e.path, prefix, n))
			fn(ctx, &b->v[i].e);
}

int pl__baseimg_trace_start(struct pl__baseimg *b, struct pl_error **err)
{
	trace_free(b->trace);
	b->trace = pl__calloc(1, sizeof(*b->trace), err);
	return b->trace ? 0 : PL_ENOMEM;
}

int pl__baseimg_trace_stop(struct pl__baseimg *b, json_t **queries, struct pl_error **err)
{
	struct trace *t = b->trace;
	b->trace = NULL;
	*queries = t && !t->failed ? pl__json_strings(t->q, t->n) : NULL;
	trace_free(t);
	return *queries ? 0 : pl__error_nomem(err);
}

/* A string that may be NULL, told apart from every string. */
static void put_str(struct pl_sha256 *s, const char *v)
{
	pl__sha256_update(s, v ? "s" : "n", 1);
	if (v)
		pl__sha256_update(s, v, strlen(v) + 1);
}

static bool is_view(char v)
{
	return v && strchr("ekdlfg", v);
}

/* The part of entry `e` (NULL: none) that view `v` looks at (see
 * pl__baseimg_view). */
static void put_view(struct pl_sha256 *s, const struct pl__bentry *e, char v)
{
	pl__sha256_update(s, e ? "+" : "-", 1);
	if (!e || v == 'e')
		return;
	pl__sha256_u64(s, e->kind);
	if (v == 'd' || v == 'f' || v == 'g')
		pl__sha256_u64(s, e->mode);
	if (v != 'k') {
		pl__sha256_u64(s, e->uid);
		pl__sha256_u64(s, e->gid);
	}
	if (v == 'f' || v == 'g') {
		pl__sha256_u64(s, e->size);
		pl__sha256_update(s, e->sha256, PL_SHA256_LEN);
	}
	if (v == 'l' || v == 'g')
		put_str(s, e->target);
}

static void view_digest(const struct pl__bentry *e, char v, uint8_t out[PL_SHA256_LEN])
{
	struct pl_sha256 *s = pl__sha256_new(NULL);
	if (!s) { /* no memory: a digest nothing matches */
		memset(out, 0xff, PL_SHA256_LEN);
		return;
	}
	put_view(s, e, v);
	pl__sha256_final(s, out);
	pl__sha256_free(s);
}

bool pl__baseimg_same(const struct pl__baseimg *b, const char *path, const struct pl__bentry *want,
		      char view)
{
	uint8_t w[PL_SHA256_LEN], have[PL_SHA256_LEN];
	char hex[2 * PL_SHA256_LEN + 1];
	view_digest(want, view, w);
	pl__hex(w, PL_SHA256_LEN, hex);
	if (b->trace) {
		cleanup_free char *arg = pl__asprintf(NULL, "%c:%s:%s", view, hex, path);
		if (arg)
			ask(b, '=', arg);
		else
			b->trace->failed = true;
	}
	view_digest(entry_at(b, path), view, have);
	return !memcmp(w, have, PL_SHA256_LEN);
}

/* The ID of the base's /etc/os-release: 1 with it in `out`, 0 when there
 * is no such file, -1 when it is not a regular file or has no ID line. */
static int os_id(const struct pl__baseimg *b, char *out, size_t size)
{
	const struct pl__bentry *e = entry_at(b, "etc/os-release");
	if (!e)
		return 0;
	if (e->kind != PL__B_REG || !e->data)
		return -1;
	for (const char *line = e->data; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (strncmp(line, "ID=", 3))
			continue;
		const char *v = line + 3 + (line[3] == '"');
		size_t n = strcspn(v, "\"\n");
		snprintf(out, size, "%.*s", (int)n, v);
		return 1;
	}
	return -1;
}

int pl__baseimg_os_id(const struct pl__baseimg *b, char *out, size_t size)
{
	ask(b, 'I', NULL);
	return os_id(b, out, size);
}

/* Every entry whose path starts with `prefix` ("" for all), whole. */
static void put_under(struct pl_sha256 *s, const struct pl__baseimg *b, const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t k = 0; k < b->n; k++)
		if (b->v[k].has_entry && !strncmp(b->v[k].e.path, prefix, n)) {
			put_str(s, b->v[k].e.path);
			put_view(s, &b->v[k].e, 'g');
		}
}

static void put_pkg(struct pl_sha256 *s, const struct pl__base_pkg *p)
{
	if (!p) {
		pl__sha256_update(s, "-", 1);
		return;
	}
	const char *f[] = { p->name,     p->version,   p->arch,  p->source,
			    p->provides, p->conflicts, p->breaks };
	for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
		put_str(s, f[i]);
}

int pl__baseimg_answers(const struct pl__baseimg *b, const json_t *queries,
			uint8_t out[PL_SHA256_LEN], struct pl_error **err)
{
	if (!json_is_array(queries))
		return pl__error_set(err, PL_EINVAL, 0, "the questions are not a list");
	cleanup_sha256 struct pl_sha256 *s = pl__sha256_new(err);
	if (!s)
		return PL_ENOMEM;
	size_t i;
	json_t *v;
	json_array_foreach (queries, i, v) {
		const char *q = json_string_value(v);
		if (!q || !*q || (q[1] != '\0' && q[1] != ':'))
			return pl__error_set(err, PL_EINVAL, 0, "question %zu is malformed", i);
		pl__sha256_update(s, q, strlen(q) + 1);
		const char *arg = q[1] ? q + 2 : NULL;
		if (is_view(q[0]) && arg) {
			put_view(s, entry_at(b, arg), q[0]);
		} else if (q[0] == '=' && arg && is_view(arg[0]) && arg[1] == ':' &&
			   strlen(arg) > 67 && arg[66] == ':') {
			uint8_t have[PL_SHA256_LEN];
			char hex[2 * PL_SHA256_LEN + 1];
			view_digest(entry_at(b, arg + 67), arg[0], have);
			pl__hex(have, PL_SHA256_LEN, hex);
			pl__sha256_update(s, strncmp(hex, arg + 2, 64) ? "0" : "1", 1);
		} else if (q[0] == 'u' && arg) {
			put_under(s, b, arg);
		} else if (q[0] == 'I' && !arg) {
			char id[256] = "";
			pl__sha256_u64(s, (uint64_t)(os_id(b, id, sizeof(id)) + 1));
			put_str(s, id);
		} else if (q[0] == 'p' && arg) {
			put_pkg(s, find_pkg(b, arg));
		} else if (q[0] == 'P' && !arg) {
			pl__sha256_u64(s, b->npkgs);
			for (size_t k = 0; k < b->npkgs; k++)
				put_pkg(s, &b->pkgs[k]);
		} else if (q[0] == 'S' && !arg) {
			put_under(s, b, "");
		} else {
			return pl__error_set(err, PL_EINVAL, 0, "question %zu is malformed", i);
		}
	}
	pl__sha256_final(s, out);
	return 0;
}

/* ---- the base of a recipe ------------------------------------------------ */

void pl__base_release(struct pl__base *b)
{
	free(b->name);
	free(b->version);
	free(b->ref);
	free(b->layout);
	pl__image_release(&b->image);
	json_decref(b->history);
	pl__baseimg_free(b->fs);
	*b = (struct pl__base){ 0 };
}

int pl__base_history(const json_t *config, size_t nlayers, const char *name, const char *version,
		     json_t **out, struct pl_error **err)
{
	const json_t *history = json_object_get(config, "history");
	if (history && !json_is_array(history))
		return pl__error_set(err, PL_EINVAL, 0, "its config's 'history' is not a list");
	size_t i, layers = 0;
	json_t *h;
	json_array_foreach (history, i, h) {
		if (!json_is_object(h))
			return pl__error_set(err, PL_EINVAL, 0,
					     "its config's history[%zu] is not an object", i);
		layers += !json_is_true(json_object_get(h, "empty_layer"));
	}
	if (layers && layers != nlayers)
		return pl__error_set(err, PL_EINVAL, 0,
				     "its config's history has %zu layers, not the %zu of its "
				     "rootfs",
				     layers, nlayers);
	cleanup_json json_t *v = history ? json_deep_copy(history) : json_array();
	cleanup_free char *by = pl__asprintf(err, "base %s:%s", name, version);
	if (!v || !by)
		return pl__error_nomem(err);
	const json_t *created = json_object_get(config, "created");
	for (i = 0; !layers && i < nlayers; i++) {
		json_t *e = json_pack("{s:s}", "created_by", by);
		if (!e ||
		    (json_is_string(created) &&
		     json_object_set_new(e, "created", json_string(json_string_value(created))) <
			 0) ||
		    json_array_append_new(v, e) < 0)
			return pl__error_nomem(err);
	}
	*out = steal_pointer(&v);
	return 0;
}

static int check_config(struct pl__base *b, struct pl_error **err)
{
	const json_t *cfg = b->image.config;
	const char *arch = json_string_value(json_object_get(cfg, "architecture"));
	const char *os = json_string_value(json_object_get(cfg, "os"));
	if (!arch || !os || strcmp(arch, PL_ARCH) || strcmp(os, "linux"))
		return pl__error_set(err, PL_EINVAL, 0, "the image is for '%s/%s', not 'linux/%s'",
				     os ? os : "?", arch ? arch : "?", PL_ARCH);
	const json_t *rootfs = json_object_get(cfg, "rootfs");
	const char *type = json_string_value(json_object_get(rootfs, "type"));
	b->diff_ids = json_object_get(rootfs, "diff_ids");
	b->layers = json_object_get(b->image.mjson, "layers");
	if (!type || strcmp(type, "layers") || !json_is_array(b->diff_ids) ||
	    json_array_size(b->diff_ids) != json_array_size(b->layers))
		return pl__error_set(err, PL_EINVAL, 0,
				     "its config's rootfs does not list one diff_id per layer");
	size_t i;
	json_t *d;
	uint8_t digest[PL_SHA256_LEN];
	json_array_foreach (b->diff_ids, i, d)
		if (!pl__digest_parse(json_string_value(d), digest))
			return pl__error_set(err, PL_EINVAL, 0,
					     "its config's rootfs.diff_ids[%zu] is not a digest",
					     i);
	const json_t *config = json_object_get(cfg, "config");
	if (config && !json_is_object(config))
		return pl__error_set(err, PL_EINVAL, 0, "its config's 'config' is not an object");
	return pl__base_history(cfg, json_array_size(b->layers), b->name, b->version, &b->history,
				err);
}

static int open_entry(const struct pl_catalog_entry *e, const struct pl__base_fetch *fetch,
		      struct pl__base *b, struct pl_error **err);

static int base_open(const struct pl_recipe *r, struct pl_catalog *catalog,
		     const struct pl__base_fetch *fetch, void (*warn)(void *ctx, const char *msg),
		     void *warn_ctx, struct pl__base *b, struct pl_error **err)
{
	const struct pl_catalog_entry *e = NULL;
	cleanup_free char *warning = NULL;
	int rc = pl_catalog_resolve(catalog, r->base, &e, &warning, err);
	if (rc < 0)
		return rc;
	if (warning && warn) {
		cleanup_free char *msg =
		    pl__asprintf(err, "recipe '%s': base '%s': %s", r->path, r->base, warning);
		if (!msg)
			return PL_ENOMEM;
		warn(warn_ctx, msg);
	}
	return open_entry(e, fetch, b, err);
}

/* The layout that holds `e`: its own, else fetch->cache, pulled into from
 * the registry the catalog names when it is not there either. */
static int entry_layout(const struct pl_catalog_entry *e, const struct pl__base_fetch *fetch,
			char **out, struct pl_error **err)
{
	if (!e->registry || !fetch || !fetch->cache || !fetch->registry ||
	    pl__blob_present(e->layout, e->digest))
		return (*out = pl__strdup(e->layout, err)) ? 0 : PL_ENOMEM;
	if (!pl__blob_present(fetch->cache, e->digest)) {
		cleanup_free char *src = pl__asprintf(err, "%s@%s", e->registry, e->digest);
		cleanup_free char *dst =
		    pl__asprintf(err, "oci:%s:%s-%s", fetch->cache, e->name, e->version);
		if (!src || !dst)
			return PL_ENOMEM;
		struct pl_pull_result res;
		int rc = pl__mkdir_p(fetch->cache, 0755, err);
		if (rc == 0)
			rc = pl_pull(src, dst, NULL, fetch->registry, &res, err);
		if (rc < 0)
			return pl__error_wrap(err, rc,
					      "its layout '%s' is not here, and pulling it from "
					      "the registry failed",
					      e->layout);
	}
	return (*out = pl__strdup(fetch->cache, err)) ? 0 : PL_ENOMEM;
}

static int open_entry(const struct pl_catalog_entry *e, const struct pl__base_fetch *fetch,
		      struct pl__base *b, struct pl_error **err)
{
	int rc;
	if (!pl__digest_parse(e->digest, b->digest))
		return pl__error_set(err, PL_EINVAL, 0, "the catalog's digest '%s' is malformed",
				     e->digest ? e->digest : "");
	if (!e->layout || !*e->layout)
		return pl__error_set(err, PL_EINVAL, 0,
				     "the catalog records no image layout for '%s@%s'", e->name,
				     e->version);
	pl__digest_str(b->digest, b->digest_str);
	if (!(b->name = pl__strdup(e->name, err)) || !(b->version = pl__strdup(e->version, err)) ||
	    !(b->ref = pl__asprintf(err, "%s@%s", e->name, e->version)))
		return PL_ENOMEM;
	if ((rc = entry_layout(e, fetch, &b->layout, err)) < 0)
		return rc;
	if ((rc = pl__image_open_digest(b->layout, b->digest, &b->image, err)) < 0)
		return rc;
	if (memcmp(b->image.digest, b->digest, PL_SHA256_LEN))
		return pl__error_set(err, PL_EDIGEST, 0,
				     "the image opened in '%s' is not %s, the catalog's", b->layout,
				     b->digest_str);
	if ((rc = check_config(b, err)) < 0)
		return rc;
	return pl__baseimg_read(b->layout, b->layers, &b->fs, err);
}

int pl__base_open(const struct pl_recipe *r, struct pl_catalog *catalog,
		  const struct pl__base_fetch *fetch, void (*warn)(void *ctx, const char *msg),
		  void *warn_ctx, struct pl__base *out, struct pl_error **err)
{
	if (!catalog)
		return pl__error_set(err, PL_EINVAL, 0,
				     "recipe '%s': base '%s' needs a catalog (--catalog or "
				     "PLINTH_CATALOG)",
				     r->path, r->base);
	struct pl__base b = { 0 };
	int rc = base_open(r, catalog, fetch, warn, warn_ctx, &b, err);
	if (rc < 0) {
		pl__base_release(&b);
		return pl__error_wrap(err, rc, "recipe '%s': base '%s'", r->path, r->base);
	}
	*out = b;
	return 0;
}

int pl__base_open_entry(const struct pl_catalog_entry *e, const struct pl__base_fetch *fetch,
			struct pl__base *out, struct pl_error **err)
{
	struct pl__base b = { 0 };
	int rc = open_entry(e, fetch, &b, err);
	if (rc < 0) {
		pl__base_release(&b);
		return pl__error_wrap(err, rc, "base '%s@%s'", e->name, e->version);
	}
	*out = b;
	return 0;
}
