/* layer.c - tree -> pax tar -> zstd|gzip -> blob, with both digests in one pass. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libarchive.h"
#include "libarchive.h"
#include <zlib.h>
#include <zstd.h>

#include "layer.h"

#define READ_CHUNK ((size_t)1 << 20)
#define ZSTD_LEVEL 3
/* zstd's output is the same for any worker count >= 1, so a fixed count
 * keeps the bytes independent of the machine while compressing alongside
 * the reading and hashing done on this thread. */
#define ZSTD_WORKERS 2
/* Memory follows the job size (input ring + output per job): 4 MiB jobs
 * keep a build near 45 MiB peak for about 0.15% more bytes than the
 * 8 MiB default.  Fixed, like everything that shapes the output. */
#define ZSTD_JOB_SIZE (4 << 20)
#define GZIP_LEVEL    6

struct sink {
	int fd;
	enum pl_compression comp;
	ZSTD_CCtx *zstd;
	z_stream z;
	bool z_live;
	struct pl_sha256 *tar_sha, *blob_sha;
	/* Set once the layer has failed: libarchive, when freed, pads an
	 * unfinished entry to its full size, which must not cost a thing. */
	bool abandoned;
	uint64_t tar_size, size;
	uint8_t *out;
	size_t out_cap;
	struct pl_error **err;
	int failed; /* the pl_code of a failure inside a libarchive callback */
};

static int emit(struct sink *s, const void *p, size_t n)
{
	if (!n)
		return 0;
	pl__sha256_update(s->blob_sha, p, n);
	s->size += n;
	if (pl__write_all(s->fd, p, n) < 0)
		return pl__error_set(s->err, PL_ESYS, errno, "cannot write the layer blob");
	return 0;
}

static int compress_zstd(struct sink *s, const void *p, size_t n, bool end)
{
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { s->out, s->out_cap, 0 };
		size_t left =
		    ZSTD_compressStream2(s->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return pl__error_set(s->err, PL_EINVAL, 0, "zstd: %s",
					     ZSTD_getErrorName(left));
		if (emit(s, s->out, out.pos) < 0)
			return PL_ESYS;
		if (end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int compress_gzip(struct sink *s, const void *p, size_t n, bool end)
{
	s->z.next_in = (Bytef *)(uintptr_t)p;
	s->z.avail_in = (uInt)n;
	for (;;) {
		s->z.next_out = s->out;
		s->z.avail_out = (uInt)s->out_cap;
		int rc = deflate(&s->z, end ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR)
			return pl__error_set(s->err, PL_EINVAL, 0, "gzip: deflate failed");
		if (emit(s, s->out, s->out_cap - s->z.avail_out) < 0)
			return PL_ESYS;
		if (end ? rc == Z_STREAM_END : s->z.avail_in == 0 && s->z.avail_out != 0)
			return 0;
	}
}

static int feed(struct sink *s, const void *p, size_t n, bool end)
{
	if (s->comp == PL_COMPRESSION_ZSTD)
		return compress_zstd(s, p, n, end);
	return compress_gzip(s, p, n, end);
}

static la_ssize_t on_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	struct sink *s = ctx;
	if (s->abandoned) {
		archive_set_error(a, ECANCELED, "layer abandoned");
		return -1;
	}
	pl__sha256_update(s->tar_sha, p, n);
	s->tar_size += n;
	int rc = feed(s, p, n, false);
	if (rc < 0) {
		s->failed = rc;
		archive_set_error(a, EIO, "compression failed");
		return -1;
	}
	return (la_ssize_t)n;
}

static int sink_init(struct sink *s, int fd, enum pl_compression comp, struct pl_error **err)
{
	s->fd = fd;
	s->comp = comp;
	s->err = err;
	if (!(s->tar_sha = pl__sha256_new(err)) || !(s->blob_sha = pl__sha256_new(err)))
		return PL_ENOMEM;
	if (comp == PL_COMPRESSION_ZSTD) {
		s->out_cap = ZSTD_CStreamOutSize();
		s->zstd = ZSTD_createCCtx();
		if (!s->zstd)
			return pl__error_nomem(err);
		size_t rc = ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		if (!ZSTD_isError(rc))
			rc = ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_checksumFlag, 1);
		if (!ZSTD_isError(rc))
			rc = ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_nbWorkers, ZSTD_WORKERS);
		if (!ZSTD_isError(rc))
			rc = ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_jobSize, ZSTD_JOB_SIZE);
		if (ZSTD_isError(rc))
			return pl__error_set(err, PL_EINVAL, 0,
					     "zstd: %s (a libzstd with threads is required)",
					     ZSTD_getErrorName(rc));
	} else {
		s->out_cap = 128 * 1024;
		if (deflateInit2(&s->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK)
			return pl__error_nomem(err);
		s->z_live = true;
		/* No name, no mtime, OS "unknown": nothing of the build host. */
		static gz_header hdr = { .os = 255 };
		if (deflateSetHeader(&s->z, &hdr) != Z_OK)
			return pl__error_set(err, PL_EINVAL, 0, "gzip: cannot set the header");
	}
	s->out = malloc(s->out_cap);
	return s->out ? 0 : pl__error_nomem(err);
}

static void sink_release(struct sink *s)
{
	ZSTD_freeCCtx(s->zstd);
	if (s->z_live)
		deflateEnd(&s->z);
	pl__sha256_free(s->tar_sha);
	pl__sha256_free(s->blob_sha);
	free(s->out);
}

static void archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static void archive_entry_freep(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

static int archive_fail(struct sink *s, struct archive *a, const char *what, const char *path)
{
	if (s->failed)
		return s->failed;
	return pl__error_set(s->err, PL_EINVAL, 0, "cannot write %s '/%s' to the layer: %s", what,
			     path, archive_error_string(a));
}

static const char *where(const struct pl__entry *e)
{
	return e->origin ? e->origin : "";
}

static const char *sep(const struct pl__entry *e)
{
	return e->origin ? ": " : "";
}

/* Stream a host file's content, checking its size and pinned digest. */
static int copy_source(struct sink *s, struct archive *a, const struct pl__entry *e, char *buf,
		       const struct pl__progress *prog, uint64_t *done, uint64_t total)
{
	cleanup_close int fd = pl__open_exact(e->source, false, e->src_dev, e->src_ino);
	if (fd < 0 && errno == ESTALE)
		return pl__error_set(s->err, PL_EINVAL, 0,
				     "%s%s'%s' changed while the image was built", where(e), sep(e),
				     e->source);
	if (fd < 0)
		return pl__error_set(s->err, PL_ESYS, errno, "%s%scannot open '%s'", where(e),
				     sep(e), e->source);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pl__error_set(s->err, PL_ESYS, errno, "cannot stat '%s'", e->source);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
		return pl__error_set(s->err, PL_EINVAL, 0,
				     "%s%s'%s' changed while the image was built", where(e), sep(e),
				     e->source);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	cleanup_sha256 struct pl_sha256 *pin = NULL;
	if (e->has_sha256 && !(pin = pl__sha256_new(s->err)))
		return PL_ENOMEM;
	uint64_t left = e->size;
	while (left) {
		int rc = pl__check_cancel(prog->cancel, s->err);
		if (rc < 0)
			return rc;
		size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pl__error_set(s->err, PL_ESYS, errno, "cannot read '%s'", e->source);
		if (n == 0)
			return pl__error_set(s->err, PL_EINVAL, 0,
					     "%s%s'%s' shrank while the image was built", where(e),
					     sep(e), e->source);
		if (pin)
			pl__sha256_update(pin, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return archive_fail(s, a, "file", e->path);
		left -= (uint64_t)n;
		*done += (uint64_t)n;
		if (prog->fn)
			prog->fn(prog->ctx, *done, total);
	}
	if (pin) {
		uint8_t got[PL_SHA256_LEN];
		pl__sha256_final(pin, got);
		if (memcmp(got, e->sha256, PL_SHA256_LEN)) {
			char hg[65], hw[65];
			pl__hex(got, PL_SHA256_LEN, hg);
			pl__hex(e->sha256, PL_SHA256_LEN, hw);
			return pl__error_set(
			    s->err, PL_EDIGEST, 0,
			    "%s%ssha256 mismatch for '%s': the recipe pins %s, the "
			    "file has %s",
			    where(e), sep(e), e->source, hw, hg);
		}
	}
	return 0;
}

static int write_entries(struct sink *s, struct archive *a, struct pl__tree *t, uint64_t clock,
			 const struct pl__progress *prog)
{
	__attribute__((cleanup(archive_entry_freep))) struct archive_entry *ae =
	    archive_entry_new();
	cleanup_free char *buf = malloc(READ_CHUNK);
	if (!ae)
		return pl__archive_failed(s->err);
	if (!buf)
		return pl__error_nomem(s->err);
	uint64_t done = 0, total = pl__tree_content_size(t);
	for (size_t i = 0; i < pl__tree_count(t); i++) {
		const struct pl__entry *e = pl__tree_at(t, i);
		int rc = pl__check_cancel(prog->cancel, s->err);
		if (rc < 0)
			return rc;
		archive_entry_clear(ae);
		archive_entry_set_pathname_utf8(ae, e->path);
		archive_entry_set_uid(ae, e->uid);
		archive_entry_set_gid(ae, e->gid);
		archive_entry_set_mtime(ae, (time_t)clock, 0);
		switch (e->kind) {
		case PL__DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, e->mode);
			break;
		case PL__SYMLINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_set_symlink_utf8(ae, e->target);
			break;
		case PL__REG:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, e->mode);
			archive_entry_set_size(ae, (la_int64_t)e->size);
			break;
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK)
			return archive_fail(s, a, "entry", e->path);
		if (e->kind != PL__REG)
			continue;
		if (e->data) {
			if (archive_write_data(a, e->data, e->size) != (la_ssize_t)e->size)
				return archive_fail(s, a, "file", e->path);
		} else {
			rc = copy_source(s, a, e, buf, prog, &done, total);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int write_layer(struct sink *s, struct pl__tree *t, uint64_t clock,
		       const struct pl__progress *prog, struct pl_error **err);

int pl__layer_write(struct pl__tree *t, uint64_t clock, enum pl_compression comp, int fd,
		    const struct pl__progress *progress, struct pl__layer *out,
		    struct pl_error **err)
{
	static const struct pl__progress none = { 0 };
	const struct pl__progress *prog = progress ? progress : &none;
	__attribute__((cleanup(sink_release))) struct sink s = { 0 };
	int rc = sink_init(&s, fd, comp, err);
	if (rc < 0)
		return rc;

	/* libarchive converts names through the calling thread's locale: pin
	 * it to C.UTF-8 so UTF-8 names work and the bytes never depend on the
	 * user's environment (uselocale is per thread; the process is untouched). */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!utf8)
		return pl__error_set(err, PL_ESYS, errno, "cannot load the C.UTF-8 locale");
	locale_t saved = uselocale(utf8);
	rc = write_layer(&s, t, clock, prog, err);
	uselocale(saved);
	freelocale(utf8);
	if (rc < 0)
		return rc;
	pl__sha256_final(s.tar_sha, out->diff_id);
	pl__sha256_final(s.blob_sha, out->digest);
	out->size = s.size;
	out->tar_size = s.tar_size;
	return 0;
}

static int write_layer(struct sink *s, struct pl__tree *t, uint64_t clock,
		       const struct pl__progress *prog, struct pl_error **err)
{
	pl__tree_sort(t);
	__attribute__((cleanup(archive_write_freep))) struct archive *a = archive_write_new();
	if (!a)
		return pl__archive_failed(err);
	/* Unblocked: libarchive hands each write straight to on_write, and the
	 * archive ends with the two zero blocks and nothing more. */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open2(a, s, NULL, on_write, NULL, NULL) != ARCHIVE_OK)
		return pl__error_set(err, PL_EINVAL, 0, "cannot start the layer: %s",
				     archive_error_string(a));
	int rc = write_entries(s, a, t, clock, prog);
	if (rc < 0) {
		s->abandoned = true;
		return rc;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		return archive_fail(s, a, "the end of", "");
	return feed(s, NULL, 0, true);
}
