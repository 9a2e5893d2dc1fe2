/*
 * archive-util.h - what the files that read archives with libarchive
 * share: freeing a reader on scope exit, its error message, and building
 * the normalised relative paths their entries and links name.
 */
#ifndef PLINTH_ARCHIVE_UTIL_H
#define PLINTH_ARCHIVE_UTIL_H

#include <stdbool.h>
#include <string.h>

#include "libarchive.h"

static inline void pl__archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define cleanup_archive_read __attribute__((cleanup(pl__archive_read_freep)))

/* libarchive's message for the last error on `a`; never NULL. */
static inline const char *pl__archive_why(struct archive *a)
{
	const char *s = archive_error_string(a);
	return s ? s : "unknown error";
}

/*
 * Normalise the path `in` into `out` (`size` bytes): relative, without
 * empty or "." components.  A ".." component removes the one before it
 * when `climb` (never above the top), and is refused otherwise.  False
 * when it is refused or the result does not fit.
 */
static inline bool pl__path_normalise(const char *in, char *out, size_t size, bool climb)
{
	size_t len = 0;
	for (const char *c = in; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (!climb)
				return false;
			while (len && out[len - 1] != '/')
				len--;
			if (len)
				len--;
		} else if (n && !(n == 1 && c[0] == '.')) {
			if (len + n + 2 > size)
				return false;
			if (len)
				out[len++] = '/';
			memcpy(out + len, c, n);
			len += n;
		}
		c += n + (c[n] == '/');
	}
	out[len] = '\0';
	return true;
}

#endif
