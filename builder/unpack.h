/*
 * unpack.h - write an image's final filesystem into a directory, for a
 * runtime to run (plinth test gives it to runc as a bundle's rootfs).
 *
 * The layers are read with pl__baseimg_read_visit() (sizes and digests
 * checked, whiteouts applied) and each visible path is made as it is
 * shown: directories, regular files with their content, symlinks (target
 * stored as written: only the container resolves it) and, once every
 * layer is read, hard links.  Owners are numeric, from the entries; modes
 * keep setuid, setgid and sticky bits (set after the owner, which would
 * clear them).  Device nodes, FIFOs and sockets are refused, naming the
 * path.
 *
 * The layers are untrusted.  Every path is made relative to a descriptor
 * of the root: its parent directory is opened with openat2() and
 * RESOLVE_IN_ROOT (a symlink on the way resolves as it would in the
 * container, never above the root; no magic links), missing parents are
 * made 0755 0:0 one by one beneath it (RESOLVE_BENEATH, no symlinks) and
 * get their own mode and owner when their entry comes, and the last
 * component is never followed (O_CREAT|O_EXCL|O_NOFOLLOW, symlinkat,
 * mkdirat, linkat without AT_SYMLINK_FOLLOW).  A hard link's target is
 * resolved inside the root the same way.  So no write lands outside the
 * root, whatever the layers hold.
 *
 * A path a layer has twice is made again: the later one counts.  A hard
 * link is made to the final file at its target's path; one whose target
 * the image does not have is an error.  Needs root (chown), like running
 * the result does.
 */
#ifndef PLINTH_UNPACK_H
#define PLINTH_UNPACK_H

#include "baseimg.h"

/*
 * Write the filesystem of the image whose manifest lists `layers` (blobs
 * from `src`) into `root`, an existing empty directory.  On failure what
 * was written stays for the caller to remove.  Errors name the path.
 */
int pl__unpack(const struct pl__blob_source *src, const json_t *layers, const char *root,
	       struct pl_error **err);

/*
 * pl__unpack(), stopping with an error when *cancel (NULL: never) becomes
 * non-zero, and handing what was read of the filesystem to *fs (NULL: not
 * wanted; the caller frees it) for pl__baseimg_accounts() and the like.
 */
int pl__unpack_fs(const struct pl__blob_source *src, const json_t *layers, const char *root,
		  const volatile int *cancel, struct pl__baseimg **fs, struct pl_error **err);

#endif
