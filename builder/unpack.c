/* unpack.c - an image's final filesystem written into a directory (see unpack.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unpack.h"

/* Parents: resolved as the container would, never above the root. */
#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
/* What is made: one component, no symlink followed. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* Passes over the hard links: a link to a link waits for that one. */
#define LINK_PASSES_MAX 8

struct unpack {
	int root;                   /* the root directory */
	int fd;                     /* the regular file being written, or -1 */
	char path[PL_PATH_MAX + 1]; /* ...its path */
	const volatile int *cancel;
};

static int open2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.mode = mode,
				.resolve = resolve };
	/* EAGAIN: a rename raced the lookup (nothing renames here, but the
	 * kernel may still say so once) */
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN || tries == 3)
			return (int)fd;
	}
}

/* The last component of `path` (relative, normalised). */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Why a parent of '/PATH' cannot be opened (errno from openat2). */
static int parent_error(const char *path, const char *dir, int e, struct pl_error **err)
{
	if (e == ENOTDIR)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'/%s': a component of '/%s' is not a directory", path, dir);
	if (e == ELOOP || e == EXDEV)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'/%s': '/%s' goes through too many symlinks or a magic link",
				     path, dir);
	return pl__error_set(err, PL_ESYS, e, "'/%s': cannot open '/%s'", path, dir);
}

/* Give the directory `fd` its mode and owner (after the owner: chown
 * clears setgid). */
static int set_owner_mode(int fd, const char *path, uint32_t uid, uint32_t gid, uint32_t mode,
			  struct pl_error **err)
{
	if (fchown(fd, uid, gid) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot give '/%s' the owner %u:%u", path,
				     uid, gid);
	if (fchmod(fd, mode & 07777) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot give '/%s' the mode %04o", path,
				     mode & 07777);
	return 0;
}

/*
 * Open the directory holding `path` (relative, normalised) into *out.
 * With `create`, missing directories on the way are made 0755 0:0, each
 * beneath the one before it; a symlink that leads nowhere is an error.
 */
static int open_parent(const struct unpack *u, const char *path, bool create, int *out,
		       struct pl_error **err)
{
	char dir[PL_PATH_MAX + 1];
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	memcpy(dir, path, len);
	dir[len] = '\0';
	int fd = open2(u->root, len ? dir : ".", O_PATH | O_DIRECTORY, 0, IN_ROOT);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	if (errno != ENOENT || !create)
		return parent_error(path, dir, errno, err);

	/* One component at a time, from the root down. */
	cleanup_close int parent = open2(u->root, ".", O_PATH | O_DIRECTORY, 0, IN_ROOT);
	if (parent < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the root");
	for (size_t end = 0; end < len;) {
		size_t start = end + (end > 0);
		end = start + strcspn(dir + start, "/");
		char saved = dir[end];
		dir[end] = '\0';
		cleanup_close int next = open2(u->root, dir, O_PATH | O_DIRECTORY, 0, IN_ROOT);
		if (next < 0 && errno == ENOENT) {
			const char *name = dir + start;
			if (mkdirat(parent, name, 0700) < 0)
				return errno == EEXIST
					   ? pl__error_set(err, PL_EINVAL, 0,
							   "'/%s': '/%s' is a symlink that leads "
							   "nowhere in the image",
							   path, dir)
					   : pl__error_set(err, PL_ESYS, errno,
							   "'/%s': cannot make '/%s'", path, dir);
			next = open2(parent, name, O_RDONLY | O_DIRECTORY, 0, BENEATH);
			if (next < 0)
				return pl__error_set(err, PL_ESYS, errno,
						     "'/%s': cannot open '/%s'", path, dir);
			int rc = set_owner_mode(next, dir, 0, 0, 0755, err);
			if (rc < 0)
				return rc;
		}
		if (next < 0)
			return parent_error(path, dir, errno, err);
		close(parent);
		parent = pl__steal_fd(&next);
		dir[end] = saved;
	}
	*out = pl__steal_fd(&parent);
	return 0;
}

/* Remove what a layer put at `path` before (in `pfd`): the later entry counts. */
static int clear(int pfd, const char *path, const char *kind, struct pl_error **err)
{
	const char *name = base_name(path);
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT
			   ? 0
			   : pl__error_set(err, PL_ESYS, errno, "cannot stat '/%s'", path);
	if (!unlinkat(pfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0))
		return 0;
	if (errno == ENOTEMPTY || errno == EEXIST)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'/%s' is a directory with paths below it, and a %s in the "
				     "image",
				     path, kind);
	return pl__error_set(err, PL_ESYS, errno, "cannot replace '/%s'", path);
}

static int check_owner(const struct pl__bentry *e, struct pl_error **err)
{
	/* the reader's mark for an owner that does not fit, and chown's "keep" */
	if (e->uid == UINT32_MAX || e->gid == UINT32_MAX)
		return pl__error_set(err, PL_EINVAL, 0, "'/%s' has an owner out of range", e->path);
	return 0;
}

static int make_dir(int pfd, const struct pl__bentry *e, struct pl_error **err)
{
	const char *name = base_name(e->path);
	struct stat st;
	int rc;
	/* it may be there already: made as the parent of what came before */
	bool is_dir = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	if (!is_dir && ((rc = clear(pfd, e->path, "directory", err)) < 0))
		return rc;
	if (!is_dir && mkdirat(pfd, name, 0700) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot make '/%s'", e->path);
	cleanup_close int fd = open2(pfd, name, O_RDONLY | O_DIRECTORY, 0, BENEATH);
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '/%s'", e->path);
	return set_owner_mode(fd, e->path, e->uid, e->gid, e->mode, err);
}

static int make_file(struct unpack *u, int pfd, const struct pl__bentry *e, struct pl_error **err)
{
	int rc = clear(pfd, e->path, "file", err);
	if (rc < 0)
		return rc;
	u->fd =
	    open2(pfd, base_name(e->path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600, BENEATH);
	if (u->fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot make '/%s'", e->path);
	snprintf(u->path, sizeof(u->path), "%s", e->path);
	return 0;
}

static int make_symlink(int pfd, const struct pl__bentry *e, struct pl_error **err)
{
	const char *name = base_name(e->path);
	int rc = clear(pfd, e->path, "symlink", err);
	if (rc < 0)
		return rc;
	if (symlinkat(e->target, pfd, name) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot make the symlink '/%s'", e->path);
	if (fchownat(pfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot give '/%s' the owner %u:%u",
				     e->path, e->uid, e->gid);
	return 0;
}

static int on_entry(void *ctx, const struct pl__bentry *e, struct pl_error **err)
{
	struct unpack *u = ctx;
	if (u->cancel && *u->cancel)
		return pl__error_set(err, PL_ESYS, 0, "cancelled by a signal");
	if (e->kind == PL__B_OTHER)
		return pl__error_set(
		    err, PL_EPOLICY, 0,
		    "'/%s' is a device node, FIFO or socket, which plinth does not "
		    "unpack",
		    e->path);
	int rc = check_owner(e, err);
	/* hard links wait for every layer: the target may be in a lower one */
	if (rc < 0 || e->kind == PL__B_HARDLINK)
		return rc;
	cleanup_close int pfd = -1;
	if ((rc = open_parent(u, e->path, true, &pfd, err)) < 0)
		return rc;
	switch (e->kind) {
	case PL__B_DIR:
		return make_dir(pfd, e, err);
	case PL__B_REG:
		return make_file(u, pfd, e, err);
	default:
		return make_symlink(pfd, e, err);
	}
}

static int on_data(void *ctx, const void *p, size_t n, struct pl_error **err)
{
	struct unpack *u = ctx;
	if (pl__write_all(u->fd, p, n) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot write '/%s'", u->path);
	return 0;
}

static int on_end(void *ctx, const struct pl__bentry *e, struct pl_error **err)
{
	struct unpack *u = ctx;
	cleanup_close int fd = pl__steal_fd(&u->fd);
	int rc = set_owner_mode(fd, e->path, e->uid, e->gid, e->mode, err);
	if (rc < 0)
		return rc;
	if (close(pl__steal_fd(&fd)) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot write '/%s'", e->path);
	return 0;
}

/* Make the hard link `e` to its target, inside the root: 1 when the
 * target is not there (yet), else 0 or an error. */
static int make_link(const struct unpack *u, const struct pl__bentry *e, struct pl_error **err)
{
	cleanup_close int tfd = -1, lfd = -1;
	const char *tname = base_name(e->target);
	struct stat st;
	int rc = open_parent(u, e->target, false, &tfd, NULL);
	if (rc < 0 || fstatat(tfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	if (S_ISDIR(st.st_mode))
		return pl__error_set(err, PL_EINVAL, 0,
				     "'/%s' is a hard link to a directory, '/%s'", e->path,
				     e->target);
	if ((rc = open_parent(u, e->path, true, &lfd, err)) < 0 ||
	    (rc = clear(lfd, e->path, "hard link", err)) < 0)
		return rc;
	if (linkat(tfd, tname, lfd, base_name(e->path), 0) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot link '/%s' to '/%s'", e->path,
				     e->target);
	return 0;
}

/* The image's hard links, to what is at their targets now that every
 * layer is in (the last showing of a path counts: `fs` has only that). */
static int make_links(const struct unpack *u, const struct pl__baseimg *fs, struct pl_error **err)
{
	size_t n = pl__baseimg_slots(fs), waiting = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pl__bentry *e = pl__baseimg_at(fs, i);
		waiting += e && e->kind == PL__B_HARDLINK;
	}
	if (!waiting)
		return 0;
	cleanup_free bool *done = pl__calloc(n, sizeof(*done), err);
	if (!done)
		return PL_ENOMEM;
	for (unsigned pass = 0; waiting && pass < LINK_PASSES_MAX; pass++) {
		size_t before = waiting;
		for (size_t i = 0; i < n; i++) {
			const struct pl__bentry *e = pl__baseimg_at(fs, i);
			if (!e || e->kind != PL__B_HARDLINK || done[i])
				continue;
			int rc = make_link(u, e, err);
			if (rc < 0)
				return rc;
			if (rc == 0) {
				done[i] = true;
				waiting--;
			}
		}
		if (waiting == before)
			break;
	}
	for (size_t i = 0; waiting && i < n; i++) {
		const struct pl__bentry *e = pl__baseimg_at(fs, i);
		if (e && e->kind == PL__B_HARDLINK && !done[i])
			return pl__error_set(err, PL_EINVAL, 0,
					     "'/%s' is a hard link to '/%s', which the image does "
					     "not have",
					     e->path, e->target);
	}
	return 0;
}

int pl__unpack_fs(const struct pl__blob_source *src, const json_t *layers, const char *root,
		  const volatile int *cancel, struct pl__baseimg **fs, struct pl_error **err)
{
	struct unpack u = { .root = -1, .fd = -1, .cancel = cancel };
	cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", root);
	u.root = rootfd;
	struct pl__fs_visitor v = { on_entry, on_data, on_end, &u };
	cleanup_baseimg struct pl__baseimg *b = NULL;
	int rc = pl__baseimg_read_visit(src, layers, &v, &b, err);
	if (u.fd >= 0)
		close(u.fd);
	if (rc == 0)
		rc = make_links(&u, b, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "cannot unpack the image into '%s'", root);
	if (fs)
		*fs = steal_pointer(&b);
	return 0;
}

int pl__unpack(const struct pl__blob_source *src, const json_t *layers, const char *root,
	       struct pl_error **err)
{
	return pl__unpack_fs(src, layers, root, NULL, NULL, err);
}
