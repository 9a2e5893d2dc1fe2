/*
 * assemble.c - turn a recipe into the in-memory tree of its layer: plinth's
 * hardened defaults first (accounts, /etc files, /tmp, homes), then what the
 * recipe declares, which may replace a default but never another
 * declaration.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble.h"

struct actx {
	const struct pl_recipe *r;
	struct pl__tree *t;
	char *root; /* realpath of the recipe's directory */
	struct pl_error **err;
};

static char *origin_of(const struct actx *a, struct pl__pos pos)
{
	return pl__asprintf(a->err, "%s:%u:%u", a->r->path, pos.line, pos.col);
}

static int fail_at(struct actx *a, struct pl__pos pos, const char *fmt, ...) PL__PRINTF(3, 4);

static int fail_at(struct actx *a, struct pl__pos pos, const char *fmt, ...)
{
	char msg[PL_PATH_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pl__error_set(a->err, PL_EINVAL, 0, "%s:%u:%u: %s", a->r->path, pos.line, pos.col,
			     msg);
}

/* Add a generated entry (a default a declared entry may replace). */
static int add_generated(struct actx *a, const char *path, enum pl__kind kind, uint32_t mode,
			 uint32_t uid, uint32_t gid, struct pl_buf *content)
{
	struct pl__entry e = {
		.kind = kind, .mode = mode, .uid = uid, .gid = gid, .generated = true
	};
	e.path = pl__strdup(path, a->err);
	if (!e.path)
		return PL_ENOMEM;
	if (content) {
		size_t n;
		e.data = pl_buf_detach(content, &n);
		e.size = n;
	}
	return pl__tree_add(a->t, &e, a->err);
}

static const struct pl__group *group_by_gid(const struct pl_recipe *r, uint32_t gid)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (r->groups[i].gid == gid)
			return &r->groups[i];
	return NULL;
}

static bool builtin_gid(uint32_t gid)
{
	return gid == 0 || gid == 65532 || gid == 65534;
}

static int add_accounts(struct actx *a)
{
	const struct pl_recipe *r = a->r;
	cleanup_buf struct pl_buf passwd = { 0 };
	cleanup_buf struct pl_buf group = { 0 };
	if (pl_buf_init(&passwd, 0, a->err) < 0 || pl_buf_init(&group, 0, a->err) < 0)
		return PL_ENOMEM;
	if (pl_buf_adds(&passwd,
			"root:x:0:0:root:/root:/sbin/nologin\n"
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
			a->err) < 0 ||
	    pl_buf_adds(&group, "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n", a->err) < 0)
		return PL_ENOMEM;
	for (size_t i = 0; i < r->ngroups; i++)
		if (pl_buf_addf(&group, a->err, "%s:x:%u:\n", r->groups[i].name, r->groups[i].gid) <
		    0)
			return PL_ENOMEM;
	for (size_t i = 0; i < r->nusers; i++) {
		const struct pl__user *u = &r->users[i];
		if (pl_buf_addf(&passwd, a->err, "%s:x:%u:%u:%s:%s:%s\n", u->name, u->uid, u->gid,
				u->name, u->home, u->shell) < 0)
			return PL_ENOMEM;
		if (builtin_gid(u->gid) || group_by_gid(r, u->gid))
			continue;
		/* A user whose gid no group has gets a group of its own name. */
		for (size_t j = 0; j < r->ngroups; j++)
			if (!strcmp(r->groups[j].name, u->name))
				return fail_at(a, u->pos,
					       "user '%s' has gid %u, which no group has, and the "
					       "group named '%s' has gid %u",
					       u->name, u->gid, u->name, r->groups[j].gid);
		bool done = false; /* generated already, for an earlier user */
		for (size_t j = 0; j < i && !done; j++)
			done = r->users[j].gid == u->gid;
		if (!done && pl_buf_addf(&group, a->err, "%s:x:%u:\n", u->name, u->gid) < 0)
			return PL_ENOMEM;
	}
	int rc = add_generated(a, "etc/passwd", PL__REG, 0644, 0, 0, &passwd);
	return rc < 0 ? rc : add_generated(a, "etc/group", PL__REG, 0644, 0, 0, &group);
}

static int add_text(struct actx *a, const char *path, const char *text)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, a->err) < 0 || pl_buf_adds(&b, text, a->err) < 0)
		return PL_ENOMEM;
	return add_generated(a, path, PL__REG, 0644, 0, 0, &b);
}

static int add_defaults(struct actx *a)
{
	static const struct {
		const char *path;
		uint32_t mode, owner;
	} dirs[] = {
		{ "etc", 0755, 0 },
		{ "tmp", 01777, 0 },
		{ "root", 0700, 0 },
		{ "home", 0755, 0 },
		{ "home/nonroot", 0700, 65532 },
	};
	const struct pl_recipe *r = a->r;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		rc = add_generated(a, dirs[i].path, PL__DIR, dirs[i].mode, dirs[i].owner,
				   dirs[i].owner, NULL);
	if (rc == 0)
		rc = add_accounts(a);
	if (rc == 0)
		rc = add_text(a, "etc/nsswitch.conf",
			      "passwd:         files\n"
			      "group:          files\n"
			      "shadow:         files\n"
			      "gshadow:        files\n"
			      "\n"
			      "hosts:          files dns\n"
			      "networks:       files\n"
			      "\n"
			      "protocols:      files\n"
			      "services:       files\n"
			      "ethers:         files\n"
			      "rpc:            files\n");
	if (rc < 0)
		return rc;
	cleanup_buf struct pl_buf os = { 0 };
	if (pl_buf_init(&os, 0, a->err) < 0 ||
	    pl_buf_addf(&os, a->err,
			"NAME=\"plinth\"\n"
			"ID=plinth\n"
			"PRETTY_NAME=\"%s %s (plinth)\"\n"
			"IMAGE_ID=%s\n"
			"IMAGE_VERSION=%s\n",
			r->name, r->version, r->name, r->version) < 0)
		return PL_ENOMEM;
	rc = add_generated(a, "etc/os-release", PL__REG, 0644, 0, 0, &os);
	for (size_t i = 0; rc == 0 && i < r->nusers; i++) {
		const struct pl__user *u = &r->users[i];
		if (!strncmp(u->home, "/home/", 6))
			rc = add_generated(a, u->home + 1, PL__DIR, 0700, u->uid, u->gid, NULL);
	}
	return rc;
}

static const char *type_name(mode_t m)
{
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device node";
	return "not a regular file, directory or symlink";
}

/*
 * Add a declared entry: `e` gives kind, mode, ids, size and source
 * identity; path, target and source are copied and the origin is `pos`.
 * The tree owns the copies, also when adding fails.
 */
static int add_entry(struct actx *a, struct pl__entry e, const char *path, const char *target,
		     const char *source, struct pl__pos pos)
{
	e.path = pl__strdup(path, a->err);
	e.target = target ? pl__strdup(target, a->err) : NULL;
	e.source = source ? pl__strdup(source, a->err) : NULL;
	e.origin = origin_of(a, pos);
	if (!e.path || (target && !e.target) || (source && !e.source) || !e.origin) {
		free(e.path);
		free(e.target);
		free(e.source);
		free(e.origin);
		return PL_ENOMEM;
	}
	return pl__tree_add(a->t, &e, a->err);
}

static int add_host_file(struct actx *a, const struct pl__file_spec *f, const char *path,
			 const char *host, const struct stat *st)
{
	struct pl__entry e = {
		.kind = PL__REG,
		.size = (uint64_t)st->st_size,
		.mode = f->has_mode            ? f->mode
			: (st->st_mode & 0111) ? 0755
					       : 0644,
		.uid = f->has_owner ? f->uid : 0,
		.gid = f->has_owner ? f->gid : 0,
		.has_sha256 = f->has_sha256,
		.src_dev = (uint64_t)st->st_dev,
		.src_ino = (uint64_t)st->st_ino,
	};
	memcpy(e.sha256, f->sha256, PL_SHA256_LEN);
	return add_entry(a, e, path, NULL, host, f->pos);
}

/* Open dirfd/name as a directory without following a symlink, and check
 * it is still what `st` saw. */
static int open_dir_checked(struct actx *a, int dirfd, const char *name, const char *host,
			    const struct stat *st, int *out)
{
	struct stat now;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pl__error_set(a->err, PL_ESYS, errno, "cannot open directory '%s'", host);
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		return pl__error_set(a->err, PL_EINVAL, 0, "'%s' changed while the recipe was read",
				     host);
	}
	*out = fd;
	return 0;
}

/*
 * Copy the host directory `host` (open as `dfd`) to image path `path`.
 * Every name is looked up relative to its directory's descriptor, never
 * following a symlink, so a swapped component cannot lead outside.
 */
static int add_host_tree(struct actx *a, const struct pl__file_spec *f, const char *path,
			 const char *host, int dfd, unsigned depth)
{
	if (depth > 256)
		return fail_at(a, f->source_pos, "'%s' is nested more than 256 levels deep", host);
	struct pl__entry d = { .kind = PL__DIR, .mode = 0755 };
	if (f->has_owner) {
		d.uid = f->uid;
		d.gid = f->gid;
	}
	int rc = add_entry(a, d, path, NULL, NULL, f->pos);
	if (rc < 0)
		return rc;

	DIR *dir = pl__opendirat(dfd, ".");
	if (!dir)
		return pl__error_set(a->err, PL_ESYS, errno, "%s:%u:%u: cannot read directory '%s'",
				     a->r->path, f->source_pos.line, f->source_pos.col, host);
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(dir))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (!pl__utf8_valid(name)) {
			rc = fail_at(a, f->source_pos, "a name in '%s' is not valid UTF-8", host);
			break;
		}
		cleanup_free char *hchild = pl__asprintf(a->err, "%s/%s", host, name);
		cleanup_free char *ichild = pl__asprintf(a->err, "%s/%s", path, name);
		if (!hchild || !ichild) {
			rc = PL_ENOMEM;
			break;
		}
		if (strlen(ichild) > PL_PATH_MAX) {
			rc = fail_at(a, f->source_pos, "'/%s' is longer than %d bytes", ichild,
				     PL_PATH_MAX);
			break;
		}
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = pl__error_set(a->err, PL_ESYS, errno, "cannot stat '%s'", hchild);
		} else if (S_ISDIR(st.st_mode)) {
			cleanup_close int cfd = -1;
			rc = open_dir_checked(a, dfd, name, hchild, &st, &cfd);
			if (rc == 0)
				rc = add_host_tree(a, f, ichild, hchild, cfd, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = add_host_file(a, f, ichild, hchild, &st);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PL_PATH_MAX + 1];
			ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
			if (n < 0 || (size_t)n >= sizeof(target) - 1) {
				rc = pl__error_set(a->err, PL_ESYS, n < 0 ? errno : ENAMETOOLONG,
						   "cannot read symlink '%s'", hchild);
				break;
			}
			target[n] = '\0';
			struct pl__entry l = { .kind = PL__SYMLINK };
			if (f->has_owner) {
				l.uid = f->uid;
				l.gid = f->gid;
			}
			rc = add_entry(a, l, ichild, target, NULL, f->pos);
		} else {
			rc = fail_at(a, f->source_pos,
				     "'%s' is %s; only files, directories and "
				     "symlinks can be copied",
				     hchild, type_name(st.st_mode));
		}
	}
	if (rc == 0 && errno)
		rc = pl__error_set(a->err, PL_ESYS, errno, "cannot read directory '%s'", host);
	closedir(dir);
	return rc;
}

static bool inside(const char *root, const char *path)
{
	size_t n = strlen(root);
	if (!strcmp(root, "/"))
		return true;
	return !strncmp(root, path, n) && (path[n] == '/' || path[n] == '\0');
}

static int add_file(struct actx *a, const struct pl__file_spec *f)
{
	const char *src = f->source;
	if (src[0] == '/')
		return fail_at(a, f->source_pos,
			       "'source' must be relative to the recipe's directory, not '%s'",
			       src);
	cleanup_free char *joined = pl__asprintf(a->err, "%s/%s", a->r->dir, src);
	if (!joined)
		return PL_ENOMEM;
	cleanup_free char *real = realpath(joined, NULL);
	if (!real) {
		if (errno == ENOENT || errno == ENOTDIR)
			return fail_at(a, f->source_pos, "source '%s' does not exist", src);
		return pl__error_set(a->err, PL_ESYS, errno, "%s:%u:%u: cannot resolve source '%s'",
				     a->r->path, f->source_pos.line, f->source_pos.col, src);
	}
	if (!inside(a->root, real))
		return fail_at(a, f->source_pos,
			       "source '%s' resolves to '%s', outside the recipe's directory '%s'",
			       src, real, a->root);
	struct stat st;
	if (lstat(real, &st) < 0)
		return pl__error_set(a->err, PL_ESYS, errno, "%s:%u:%u: cannot stat source '%s'",
				     a->r->path, f->source_pos.line, f->source_pos.col, src);
	if (access(real, R_OK) < 0)
		return pl__error_set(a->err, PL_ESYS, errno, "%s:%u:%u: cannot read source '%s'",
				     a->r->path, f->source_pos.line, f->source_pos.col, src);
	if (S_ISREG(st.st_mode))
		return add_host_file(a, f, f->path + 1, real, &st);
	if (!S_ISDIR(st.st_mode))
		return fail_at(a, f->source_pos, "source '%s' is %s", src, type_name(st.st_mode));
	if (f->has_sha256)
		return fail_at(a, f->sha256_pos,
			       "'sha256' pins a single file, but source '%s' is a "
			       "directory",
			       src);
	cleanup_close int dfd =
	    pl__open_exact(real, true, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (dfd < 0 && errno == ESTALE)
		return pl__error_set(a->err, PL_EINVAL, 0, "'%s' changed while the recipe was read",
				     real);
	if (dfd < 0)
		return pl__error_set(a->err, PL_ESYS, errno, "cannot open directory '%s'", real);
	return add_host_tree(a, f, f->path + 1, real, dfd, 0);
}

static int add_declared(struct actx *a)
{
	const struct pl_recipe *r = a->r;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->ndirs; i++) {
		const struct pl__dir_spec *d = &r->dirs[i];
		struct pl__entry e = {
			.kind = PL__DIR,
			.mode = d->has_mode ? d->mode : 0755,
			.uid = d->has_owner ? d->uid : 0,
			.gid = d->has_owner ? d->gid : 0,
		};
		rc = add_entry(a, e, d->path + 1, NULL, NULL, d->pos);
	}
	for (size_t i = 0; rc == 0 && i < r->nlinks; i++) {
		const struct pl__link_spec *l = &r->links[i];
		rc = add_entry(a, (struct pl__entry){ .kind = PL__SYMLINK }, l->path + 1, l->target,
			       NULL, l->pos);
	}
	for (size_t i = 0; rc == 0 && i < r->nfiles; i++)
		rc = add_file(a, &r->files[i]);
	return rc;
}

int pl__assemble(const struct pl_recipe *r, pl__assemble_hook packages, void *ctx,
		 struct pl__tree **out, struct pl_error **err)
{
	cleanup_tree struct pl__tree *t = pl__tree_new(err);
	if (!t)
		return PL_ENOMEM;
	cleanup_free char *root = realpath(r->dir, NULL);
	if (!root)
		return pl__error_set(err, PL_ESYS, errno,
				     "cannot resolve the recipe's directory '%s'", r->dir);
	struct actx a = { r, t, root, err };
	int rc = add_defaults(&a);
	if (rc == 0 && packages)
		rc = packages(ctx, t, err);
	if (rc == 0)
		rc = add_declared(&a);
	if (rc < 0)
		return rc;
	*out = steal_pointer(&t);
	return 0;
}
