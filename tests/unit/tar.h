/*
 * tar.h - layers made in memory for the unit tests that read images: a
 * tar of a few entries, uncompressed or compressed, as another tool might
 * write it.
 */
#ifndef PLINTH_TEST_TAR_H
#define PLINTH_TEST_TAR_H

#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "internal.h"
#include "tap.h"

/* One tar entry: 'f' file (text), 'd' directory, 'l' symlink (text is the
 * target), 'h' hard link (text is the target path), 'c' character device
 * (1, 3), 'p' FIFO.  A mode of 0 is the kind's usual one. */
struct tent {
	char kind;
	const char *path, *text;
	unsigned mode, uid;
};

static inline la_ssize_t tar_to_buf(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return pl_buf_add(ctx, p, n, NULL) < 0 ? -1 : (la_ssize_t)n;
}

/* A tar of `v` compressed with `filter` (ARCHIVE_FILTER_NONE, _GZIP or
 * _ZSTD) in *out. */
static inline void make_tar(int filter, const struct tent *v, size_t n, struct pl_buf *out)
{
	check_int(pl_buf_init(out, 0, NULL), ==, 0);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (filter == ARCHIVE_FILTER_GZIP)
		archive_write_add_filter_gzip(a);
	else if (filter == ARCHIVE_FILTER_ZSTD)
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1);
	check_int(archive_write_open(a, out, NULL, tar_to_buf, NULL), ==, ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, v[i].path);
		archive_entry_set_uid(e, v[i].uid);
		archive_entry_set_gid(e, v[i].uid);
		size_t len = v[i].text ? strlen(v[i].text) : 0;
		switch (v[i].kind) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, v[i].mode ? v[i].mode : 0644);
			archive_entry_set_size(e, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, v[i].mode ? v[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, v[i].text);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_perm(e, 0666);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			archive_entry_set_perm(e, 0644);
			break;
		default:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, v[i].text);
			break;
		}
		check_int(archive_write_header(a, e), ==, ARCHIVE_OK);
		if (v[i].kind == 'f' && len)
			check_int(archive_write_data(a, v[i].text, len), ==, (la_ssize_t)len);
		archive_entry_free(e);
	}
	check_int(archive_write_close(a), ==, ARCHIVE_OK);
	archive_write_free(a);
}

#endif
