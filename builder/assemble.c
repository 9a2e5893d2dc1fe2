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
	struct pl__entry e = { .kind = kind, .mode = mode, .uid = uid, .gid = gid, .generated = true };
	e.path = pl__strdup(path, a->err);
	if (!e.path)
		return PL_ENOMEM;
	if (content)
		e.data = pl_buf_detach(content, &e.size);
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
		if (pl_buf_addf(&group, a->err, "%s:x:%u:\n", r->groups[i].name, r->groups[i].gid) < 0)
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
	if (add_generated(a, "etc/passwd", PL__REG, 0644, 0, 0, &passwd) < 0 ||
	    add_generated(a, "etc/group", PL__REG, 0644, 0, 0, &group) < 0)
		return PL_EINVAL;
	return 0;
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
	const struct pl_recipe *r = a->r;
	if (add_generated(a, "etc", PL__DIR, 0755, 0, 0, NULL) < 0 ||
	    add_generated(a, "tmp", PL__DIR, 01777, 0, 0, NULL) < 0 ||
	    add_generated(a, "root", PL__DIR, 0700, 0, 0, NULL) < 0 ||
	    add_generated(a, "home", PL__DIR, 0755, 0, 0, NULL) < 0 ||
	    add_generated(a, "home/nonroot", PL__DIR, 0700, 65532, 65532, NULL) < 0)
		return PL_EINVAL;
	if (add_accounts(a) < 0)
		return PL_EINVAL;
	if (add_text(a, "etc/nsswitch.conf",
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
		     "rpc:            files\n") < 0)
		return PL_EINVAL;
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
	if (add_generated(a, "etc/os-release", PL__REG, 0644, 0, 0, &os) < 0)
		return PL_EINVAL;
	for (size_t i = 0; i < r->nusers; i++) {
		const struct pl__user *u = &r->users[i];
		if (!strncmp(u->home, "/home/", 6) &&
		    add_generated(a, u->home + 1, PL__DIR, 0700, u->uid, u->gid, NULL) < 0)
			return PL_EINVAL;
	}
	return 0;
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

static int add_host_file(struct actx *a, const struct pl__file_spec *f, const char *path,
			 const char *host, const struct stat *st)
{
	struct pl__entry e = { .kind = PL__REG, .size = (uint64_t)st->st_size };
	e.mode = f->has_mode ? f->mode : (st->st_mode & 0111) ? 0755 : 0644;
	if (f->has_owner) {
		e.uid = f->uid;
		e.gid = f->gid;
	}
	if (f->has_sha256) {
		e.has_sha256 = true;
		memcpy(e.sha256, f->sha256, PL_SHA256_LEN);
	}
	e.path = pl__strdup(path, a->err);
	e.source = pl__strdup(host, a->err);
	e.origin = origin_of(a, f->pos);
	if (!e.path || !e.source || !e.origin) {
		free(e.path);
		free(e.source);
		free(e.origin);
		return PL_ENOMEM;
	}
	return pl__tree_add(a->t, &e, a->err);
}

/* Copy the host directory `host` (already lstat'ed) to image path `path`. */
static int add_host_tree(struct actx *a, const struct pl__file_spec *f, const char *path,
			 const char *host, unsigned depth)
{
	if (depth > 256)
		return fail_at(a, f->source_pos, "'%s' is nested more than 256 levels deep", host);
	struct pl__entry d = { .kind = PL__DIR, .mode = 0755 };
	if (f->has_owner) {
		d.uid = f->uid;
		d.gid = f->gid;
	}
	d.path = pl__strdup(path, a->err);
	d.origin = origin_of(a, f->pos);
	if (!d.path || !d.origin) {
		free(d.path);
		free(d.origin);
		return PL_ENOMEM;
	}
	if (pl__tree_add(a->t, &d, a->err) < 0)
		return PL_EINVAL;

	DIR *dir = opendir(host);
	if (!dir)
		return pl__error_set(a->err, PL_ESYS, errno, "%s:%u:%u: cannot read directory '%s'",
				     a->r->path, f->source_pos.line, f->source_pos.col, host);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *hchild = pl__asprintf(a->err, "%s/%s", host, de->d_name);
		cleanup_free char *ichild = pl__asprintf(a->err, "%s/%s", path, de->d_name);
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
		if (lstat(hchild, &st) < 0) {
			rc = pl__error_set(a->err, PL_ESYS, errno, "cannot stat '%s'", hchild);
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_host_tree(a, f, ichild, hchild, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = add_host_file(a, f, ichild, hchild, &st);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PL_PATH_MAX + 1];
			ssize_t n = readlink(hchild, target, sizeof(target));
			if (n < 0 || (size_t)n > PL_PATH_MAX) {
				rc = pl__error_set(a->err, PL_ESYS, n < 0 ? errno : ENAMETOOLONG,
						   "cannot read symlink '%s'", hchild);
				break;
			}
			struct pl__entry l = { .kind = PL__SYMLINK };
			if (f->has_owner) {
				l.uid = f->uid;
				l.gid = f->gid;
			}
			l.path = pl__strdup(ichild, a->err);
			l.target = pl__strndup(target, (size_t)n, a->err);
			l.origin = origin_of(a, f->pos);
			rc = l.path && l.target && l.origin ? pl__tree_add(a->t, &l, a->err) : PL_ENOMEM;
			if (rc == PL_ENOMEM) {
				free(l.path);
				free(l.target);
				free(l.origin);
			}
		} else {
			rc = fail_at(a, f->source_pos, "'%s' is %s; only files, directories and "
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
			       "'source' must be relative to the recipe's directory, not '%s'", src);
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
		return fail_at(a, f->sha256_pos, "'sha256' pins a single file, but source '%s' is a "
						 "directory",
			       src);
	return add_host_tree(a, f, f->path + 1, real, 0);
}

static int add_declared(struct actx *a)
{
	const struct pl_recipe *r = a->r;
	for (size_t i = 0; i < r->ndirs; i++) {
		const struct pl__dir_spec *d = &r->dirs[i];
		struct pl__entry e = { .kind = PL__DIR, .mode = d->has_mode ? d->mode : 0755 };
		if (d->has_owner) {
			e.uid = d->uid;
			e.gid = d->gid;
		}
		e.path = pl__strdup(d->path + 1, a->err);
		e.origin = origin_of(a, d->pos);
		if (!e.path || !e.origin) {
			free(e.path);
			free(e.origin);
			return PL_ENOMEM;
		}
		if (pl__tree_add(a->t, &e, a->err) < 0)
			return PL_EINVAL;
	}
	for (size_t i = 0; i < r->nlinks; i++) {
		const struct pl__link_spec *l = &r->links[i];
		struct pl__entry e = { .kind = PL__SYMLINK };
		e.path = pl__strdup(l->path + 1, a->err);
		e.target = pl__strdup(l->target, a->err);
		e.origin = origin_of(a, l->pos);
		if (!e.path || !e.target || !e.origin) {
			free(e.path);
			free(e.target);
			free(e.origin);
			return PL_ENOMEM;
		}
		if (pl__tree_add(a->t, &e, a->err) < 0)
			return PL_EINVAL;
	}
	for (size_t i = 0; i < r->nfiles; i++) {
		int rc = add_file(a, &r->files[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pl__assemble(const struct pl_recipe *r, struct pl__tree **out, struct pl_error **err)
{
	cleanup_tree struct pl__tree *t = pl__tree_new(err);
	if (!t)
		return PL_ENOMEM;
	cleanup_free char *root = realpath(r->dir, NULL);
	if (!root)
		return pl__error_set(err, PL_ESYS, errno, "cannot resolve the recipe's directory '%s'",
				     r->dir);
	struct actx a = { r, t, root, err };
	int rc = add_defaults(&a);
	if (rc == 0)
		rc = add_declared(&a);
	if (rc < 0)
		return rc;
	*out = steal_pointer(&t);
	return 0;
}
