/*
 * libarchive.h - libarchive, loaded when the first archive is read or
 * written.  Include this instead of <archive.h> and <archive_entry.h>.
 *
 * libarchive brings libxml2, ICU, libstdc++, nettle and more with it:
 * loading them costs every start of plinth over a millisecond, which
 * `plinth admit` and `catalog resolve`, called before every container
 * start and never touching an archive, should not pay.  So plinth loads
 * libarchive with dlopen() (as it does libcurl, see curl.h) and calls it
 * through pointers, under the library's own names (macros below).
 *
 * Every use starts with archive_read_new(), archive_write_new() or
 * archive_entry_new(): those load libarchive first (NULL when it cannot
 * be loaded), and every other function needs what they return.  Entry
 * points call pl__archive_load() first for a clear error instead.
 */
#ifndef PLINTH_LIBARCHIVE_H
#define PLINTH_LIBARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "internal.h"

#define PL__ARCHIVE_SONAME "libarchive.so.13"

/* Load libarchive once (thread-safe); an error says why it cannot be. */
int pl__archive_load(struct pl_error **err);

/* The error for a constructor that returned NULL: libarchive could not be
 * loaded, or memory ran out. */
int pl__archive_failed(struct pl_error **err);

/* The functions plinth calls, each with its own type. */
#define PL__ARCHIVE_FUNCTIONS(X)                                                                   \
	X(archive_entry_clear)                                                                     \
	X(archive_entry_filetype)                                                                  \
	X(archive_entry_free)                                                                      \
	X(archive_entry_gid)                                                                       \
	X(archive_entry_hardlink)                                                                  \
	X(archive_entry_mode)                                                                      \
	X(archive_entry_new)                                                                       \
	X(archive_entry_pathname)                                                                  \
	X(archive_entry_perm)                                                                      \
	X(archive_entry_set_filetype)                                                              \
	X(archive_entry_set_gid)                                                                   \
	X(archive_entry_set_mtime)                                                                 \
	X(archive_entry_set_pathname_utf8)                                                         \
	X(archive_entry_set_perm)                                                                  \
	X(archive_entry_set_size)                                                                  \
	X(archive_entry_set_symlink_utf8)                                                          \
	X(archive_entry_set_uid)                                                                   \
	X(archive_entry_size)                                                                      \
	X(archive_entry_symlink)                                                                   \
	X(archive_entry_uid)                                                                       \
	X(archive_errno)                                                                           \
	X(archive_error_string)                                                                    \
	X(archive_filter_bytes)                                                                    \
	X(archive_filter_code)                                                                     \
	X(archive_filter_count)                                                                    \
	X(archive_read_data)                                                                       \
	X(archive_read_data_block)                                                                 \
	X(archive_read_free)                                                                       \
	X(archive_read_new)                                                                        \
	X(archive_read_next_header)                                                                \
	X(archive_read_open)                                                                       \
	X(archive_read_open_fd)                                                                    \
	X(archive_read_open_memory)                                                                \
	X(archive_read_support_filter_bzip2)                                                       \
	X(archive_read_support_filter_gzip)                                                        \
	X(archive_read_support_filter_xz)                                                          \
	X(archive_read_support_filter_zstd)                                                        \
	X(archive_read_support_format_ar)                                                          \
	X(archive_read_support_format_raw)                                                         \
	X(archive_read_support_format_tar)                                                         \
	X(archive_set_error)                                                                       \
	X(archive_write_close)                                                                     \
	X(archive_write_data)                                                                      \
	X(archive_write_free)                                                                      \
	X(archive_write_header)                                                                    \
	X(archive_write_new)                                                                       \
	X(archive_write_open2)                                                                     \
	X(archive_write_set_bytes_per_block)                                                       \
	X(archive_write_set_format_pax_restricted)

#define PL__ARCHIVE_POINTER(f) __typeof__(f) *f;
struct pl__archive {
	PL__ARCHIVE_FUNCTIONS(PL__ARCHIVE_POINTER)
};
#undef PL__ARCHIVE_POINTER
extern struct pl__archive pl__archive;

/* archive_set_error() takes a format: plinth's calls go through this,
 * which formats the message itself. */
void pl__archive_set_error(struct archive *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifndef PL__ARCHIVE_IMPL
#define archive_entry_clear               (*pl__archive.archive_entry_clear)
#define archive_entry_filetype            (*pl__archive.archive_entry_filetype)
#define archive_entry_free                (*pl__archive.archive_entry_free)
#define archive_entry_gid                 (*pl__archive.archive_entry_gid)
#define archive_entry_hardlink            (*pl__archive.archive_entry_hardlink)
#define archive_entry_mode                (*pl__archive.archive_entry_mode)
#define archive_entry_new                 (*pl__archive.archive_entry_new)
#define archive_entry_pathname            (*pl__archive.archive_entry_pathname)
#define archive_entry_perm                (*pl__archive.archive_entry_perm)
#define archive_entry_set_filetype        (*pl__archive.archive_entry_set_filetype)
#define archive_entry_set_gid             (*pl__archive.archive_entry_set_gid)
#define archive_entry_set_mtime           (*pl__archive.archive_entry_set_mtime)
#define archive_entry_set_pathname_utf8   (*pl__archive.archive_entry_set_pathname_utf8)
#define archive_entry_set_perm            (*pl__archive.archive_entry_set_perm)
#define archive_entry_set_size            (*pl__archive.archive_entry_set_size)
#define archive_entry_set_symlink_utf8    (*pl__archive.archive_entry_set_symlink_utf8)
#define archive_entry_set_uid             (*pl__archive.archive_entry_set_uid)
#define archive_entry_size                (*pl__archive.archive_entry_size)
#define archive_entry_symlink             (*pl__archive.archive_entry_symlink)
#define archive_entry_uid                 (*pl__archive.archive_entry_uid)
#define archive_errno                     (*pl__archive.archive_errno)
#define archive_error_string              (*pl__archive.archive_error_string)
#define archive_filter_bytes              (*pl__archive.archive_filter_bytes)
#define archive_filter_code               (*pl__archive.archive_filter_code)
#define archive_filter_count              (*pl__archive.archive_filter_count)
#define archive_read_data                 (*pl__archive.archive_read_data)
#define archive_read_data_block           (*pl__archive.archive_read_data_block)
#define archive_read_free                 (*pl__archive.archive_read_free)
#define archive_read_new                  (*pl__archive.archive_read_new)
#define archive_read_next_header          (*pl__archive.archive_read_next_header)
#define archive_read_open                 (*pl__archive.archive_read_open)
#define archive_read_open_fd              (*pl__archive.archive_read_open_fd)
#define archive_read_open_memory          (*pl__archive.archive_read_open_memory)
#define archive_read_support_filter_bzip2 (*pl__archive.archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip  (*pl__archive.archive_read_support_filter_gzip)
#define archive_read_support_filter_xz    (*pl__archive.archive_read_support_filter_xz)
#define archive_read_support_filter_zstd  (*pl__archive.archive_read_support_filter_zstd)
#define archive_read_support_format_ar    (*pl__archive.archive_read_support_format_ar)
#define archive_read_support_format_raw   (*pl__archive.archive_read_support_format_raw)
#define archive_read_support_format_tar   (*pl__archive.archive_read_support_format_tar)
#define archive_set_error                 pl__archive_set_error
#define archive_write_close               (*pl__archive.archive_write_close)
#define archive_write_data                (*pl__archive.archive_write_data)
#define archive_write_free                (*pl__archive.archive_write_free)
#define archive_write_header              (*pl__archive.archive_write_header)
#define archive_write_new                 (*pl__archive.archive_write_new)
#define archive_write_open2               (*pl__archive.archive_write_open2)
#define archive_write_set_bytes_per_block (*pl__archive.archive_write_set_bytes_per_block)
#define archive_write_set_format_pax_restricted                                                    \
	(*pl__archive.archive_write_set_format_pax_restricted)
#endif

#endif
