/*
 * deb.h - reading a .deb: the ar container, control.tar.* and data.tar.*,
 * all through libarchive, all in memory.
 *
 * The reader is the guard against hostile packages: what it returns is
 * safe to put into an image tree.  Every path is relative and normalised
 * ("usr/bin/x": no "./", no "..", no empty component, no trailing '/'),
 * no two entries share a path, and every symlink's target stays inside the
 * root when resolved from the link's directory.
 */
#ifndef PLINTH_DEB_H
#define PLINTH_DEB_H

#include "internal.h"

#define PL_DEB_ENTRIES_MAX ((size_t)1 << 20)   /* members of data.tar */
#define PL_DEB_CONTENT_MAX ((uint64_t)4 << 30) /* bytes of file content */
#define PL_DEB_CONTROL_MAX ((size_t)4 << 20)   /* the control file, md5sums */

enum pl__deb_kind { PL__DEB_REG, PL__DEB_DIR, PL__DEB_SYMLINK, PL__DEB_HARDLINK };

struct pl__deb_entry {
	char *path; /* normalised, relative */
	enum pl__deb_kind kind;
	uint32_t mode; /* permission bits, setuid/setgid/sticky included (07777) */
	uint32_t uid, gid;
	uint64_t size; /* regular files */
	char *data;    /* regular files: `size` bytes (non-NULL even when empty) */
	/* symlinks: the target as stored; hardlinks: the normalised path of an
	 * earlier regular file in the same data.tar */
	char *target;
};

struct pl__deb {
	char *control; /* the control file: one deb822 paragraph */
	size_t control_len;
	char *md5sums; /* NULL when the package has none */
	size_t md5sums_len;
	char *conffiles; /* the conffiles list; NULL when the package has none */
	size_t conffiles_len;
	struct pl__deb_entry *e; /* in archive order */
	size_t n;
};

/*
 * Read the .deb held in `len` bytes at `p`.  `name` is used in messages
 * ("NAME: ...").  The ar members must be debian-binary ("2.x\n"), then
 * control.tar[.gz|.xz|.zst], then data.tar[.gz|.xz|.zst|.bz2] (members
 * starting with '_' may appear between them and are skipped).  Refused, as
 * PL_EINVAL with the member and path named: absolute paths, ".."
 * components, symlinks whose target leaves the root, device nodes, fifos,
 * sockets, hardlinks to anything but an earlier regular file, a path seen
 * twice, names that are not UTF-8 or longer than PL_PATH_MAX; beyond the
 * limits above, PL_ELIMIT.  The root entry "./" itself is dropped.
 * @return 0 with *out filled in (release with pl__deb_release), or a
 *         negative pl_code; *out is left empty on failure.
 */
int pl__deb_read(const void *p, size_t len, const char *name, struct pl__deb *out,
		 struct pl_error **err);

void pl__deb_release(struct pl__deb *d);
#define cleanup_deb __attribute__((cleanup(pl__deb_release)))

#endif
