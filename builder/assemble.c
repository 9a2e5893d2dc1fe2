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
#include "baseimg.h"

struct actx {
	const struct pl_recipe *r;
	const char *version;            /* the image's */
	const struct pl__baseimg *base; /* NULL: scratch */
	struct pl__tree *t;
	char *root; /* realpath of the recipe's directory */
	struct pl_error **err;
};

static bool base_has(const struct actx *a, const char *path)
{
	return a->base && pl__baseimg_view(a->base, path, 'e');
}

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

/* The base's accounts (none on scratch), released together. */
struct base_accounts {
	struct pl__account *users, *groups;
	size_t nusers, ngroups;
};

static void base_accounts_release(struct base_accounts *b)
{
	pl__accounts_free(b->users, b->nusers);
	pl__accounts_free(b->groups, b->ngroups);
}

static const struct pl__account *account_named(const struct pl__account *v, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static const struct pl__account *account_with_id(const struct pl__account *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* Start a passwd or group file with the base's one, newline-terminated. */
static int base_file(struct actx *a, const char *path, struct pl_buf *b)
{
	const struct pl__bentry *e = a->base ? pl__baseimg_get(a->base, path) : NULL;
	if (!e || !e->size)
		return 0;
	if (pl_buf_add(b, e->data, e->size, a->err) < 0 ||
	    (e->data[e->size - 1] != '\n' && pl_buf_add(b, "\n", 1, a->err) < 0))
		return PL_ENOMEM;
	return 0;
}

/* Whether a base account stands in for the built-in one: same name or id. */
static bool base_builtin(const struct pl__account *v, size_t n, const char *name, uint32_t id)
{
	return account_named(v, n, name) || account_with_id(v, n, id);
}

/* A recipe group: 1 when the base has it already, 0 to add it, or an error. */
static int check_group(struct actx *a, const struct base_accounts *ba, const char *name,
		       uint32_t gid, struct pl__pos pos)
{
	const struct pl__account *same = account_named(ba->groups, ba->ngroups, name);
	const struct pl__account *with = account_with_id(ba->groups, ba->ngroups, gid);
	if (same && same->gid == gid)
		return 1;
	if (same || with)
		return fail_at(a, pos, "group '%s' (gid %u) clashes with the base's '%s' (gid %u)",
			       name, gid, (same ? same : with)->name, (same ? same : with)->gid);
	return 0;
}

static int check_user(struct actx *a, const struct base_accounts *ba, const struct pl__user *u)
{
	const struct pl__account *same = account_named(ba->users, ba->nusers, u->name);
	const struct pl__account *with = account_with_id(ba->users, ba->nusers, u->uid);
	if (same && same->id == u->uid && same->gid == u->gid && !strcmp(same->home, u->home) &&
	    !strcmp(same->shell, u->shell))
		return 1;
	if (same)
		return fail_at(a, u->pos,
			       "user '%s' (uid %u, gid %u, home '%s', shell '%s') differs from "
			       "the base's (uid %u, gid %u, home '%s', shell '%s')",
			       u->name, u->uid, u->gid, u->home, u->shell, same->id, same->gid,
			       same->home, same->shell);
	if (with)
		return fail_at(a, u->pos,
			       "user '%s' (uid %u) clashes with the base's '%s' (uid %u)", u->name,
			       u->uid, with->name, with->id);
	return 0;
}

static int add_accounts(struct actx *a)
{
	static const struct {
		const char *name, *passwd;
		uint32_t id;
	} builtin[] = {
		{ "root", "root:x:0:0:root:/root:/sbin/nologin\n", 0 },
		{ "nobody", "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n", 65534 },
		{ "nonroot", "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", 65532 },
	};
	const struct pl_recipe *r = a->r;
	__attribute__((cleanup(base_accounts_release))) struct base_accounts ba = { 0 };
	int rc;
	if (a->base &&
	    ((rc = pl__baseimg_accounts(a->base, false, &ba.users, &ba.nusers, a->err)) < 0 ||
	     (rc = pl__baseimg_accounts(a->base, true, &ba.groups, &ba.ngroups, a->err)) < 0))
		return pl__error_wrap(a->err, rc, "the base image");
	cleanup_buf struct pl_buf passwd = { 0 };
	cleanup_buf struct pl_buf group = { 0 };
	if (pl_buf_init(&passwd, 0, a->err) < 0 || pl_buf_init(&group, 0, a->err) < 0)
		return PL_ENOMEM;
	if ((rc = base_file(a, "etc/passwd", &passwd)) < 0 ||
	    (rc = base_file(a, "etc/group", &group)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (!base_builtin(ba.users, ba.nusers, builtin[i].name, builtin[i].id) &&
		    pl_buf_adds(&passwd, builtin[i].passwd, a->err) < 0)
			return PL_ENOMEM;
		if (!base_builtin(ba.groups, ba.ngroups, builtin[i].name, builtin[i].id) &&
		    pl_buf_addf(&group, a->err, "%s:x:%u:\n", builtin[i].name, builtin[i].id) < 0)
			return PL_ENOMEM;
	}
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct pl__group *g = &r->groups[i];
		if ((rc = check_group(a, &ba, g->name, g->gid, g->pos)) < 0)
			return rc;
		if (rc == 0 && pl_buf_addf(&group, a->err, "%s:x:%u:\n", g->name, g->gid) < 0)
			return PL_ENOMEM;
	}
	for (size_t i = 0; i < r->nusers; i++) {
		const struct pl__user *u = &r->users[i];
		if ((rc = check_user(a, &ba, u)) < 0)
			return rc;
		if (rc == 0 && pl_buf_addf(&passwd, a->err, "%s:x:%u:%u:%s:%s:%s\n", u->name,
					   u->uid, u->gid, u->name, u->home, u->shell) < 0)
			return PL_ENOMEM;
		if (builtin_gid(u->gid) || group_by_gid(r, u->gid) ||
		    account_with_id(ba.groups, ba.ngroups, u->gid))
			continue;
		/* A user whose gid no group has gets a group of its own name. */
		for (size_t j = 0; j < r->ngroups; j++)
			if (!strcmp(r->groups[j].name, u->name))
				return fail_at(a, u->pos,
					       "user '%s' has gid %u, which no group has, and the "
					       "group named '%s' has gid %u",
					       u->name, u->gid, u->name, r->groups[j].gid);
		if ((rc = check_group(a, &ba, u->name, u->gid, u->pos)) < 0)
			return rc;
		bool done = false; /* generated already, for an earlier user */
		for (size_t j = 0; j < i && !done; j++)
			done = r->users[j].gid == u->gid;
		if (!done && pl_buf_addf(&group, a->err, "%s:x:%u:\n", u->name, u->gid) < 0)
			return PL_ENOMEM;
	}
	rc = add_generated(a, "etc/passwd", PL__REG, 0644, 0, 0, &passwd);
	return rc < 0 ? rc : add_generated(a, "etc/group", PL__REG, 0644, 0, 0, &group);
}

static int add_text(struct actx *a, const char *path, const char *text)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, a->err) < 0 || pl_buf_adds(&b, text, a->err) < 0)
		return PL_ENOMEM;
	return add_generated(a, path, PL__REG, 0644, 0, 0, &b);
}

static int add_homes(struct actx *a)
{
	const struct pl_recipe *r = a->r;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->nusers; i++) {
		const struct pl__user *u = &r->users[i];
		if (!strncmp(u->home, "/home/", 6))
			rc = add_generated(a, u->home + 1, PL__DIR, 0700, u->uid, u->gid, NULL);
	}
	return rc;
}

/*
 * Whether the image gets plinth's /etc/os-release, which names it: always
 * on scratch; on a base whose os-release is plinth's too (ID=plinth), or
 * that has none.  Any other os-release names the distribution the base's
 * packages come from, which scanners read to match vulnerabilities: kept.
 */
static bool own_os_release(const struct actx *a)
{
	char id[16];
	int rc = a->base ? pl__baseimg_os_id(a->base, id, sizeof(id)) : 0;
	return rc == 0 || (rc == 1 && !strcmp(id, "plinth"));
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
	/* on a base, the base's own win: the derived image changes only what
	 * its recipe asks for */
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!base_has(a, dirs[i].path))
			rc = add_generated(a, dirs[i].path, PL__DIR, dirs[i].mode, dirs[i].owner,
					   dirs[i].owner, NULL);
	if (rc == 0)
		rc = add_accounts(a);
	if (rc == 0 && !base_has(a, "etc/nsswitch.conf"))
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
	if (!own_os_release(a))
		return add_homes(a);
	cleanup_buf struct pl_buf os = { 0 };
	if (pl_buf_init(&os, 0, a->err) < 0 ||
	    pl_buf_addf(&os, a->err,
			"NAME=\"plinth\"\n"
			"ID=plinth\n"
			"PRETTY_NAME=\"%s %s (plinth)\"\n"
			"IMAGE_ID=%s\n"
			"IMAGE_VERSION=%s\n",
			r->name, a->version, r->name, a->version) < 0)
		return PL_ENOMEM;
	rc = add_generated(a, "etc/os-release", PL__REG, 0644, 0, 0, &os);
	return rc < 0 ? rc : add_homes(a);
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
	if (!pl__path_inside(a->root, real))
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

/* ---- on a base ------------------------------------------------------ */

/* Whether the base has `e` already: a directory (of the same mode and
 * owner, unless nobody declared it), a symlink to the same target, a file
 * with the same content, mode and owner.  Asked as that yes or no, so that
 * a base patched elsewhere gives the same answer. */
static bool same_as_base(const struct actx *a, const struct pl__entry *e)
{
	struct pl__bentry want = { .mode = e->mode, .uid = e->uid, .gid = e->gid };
	char view;
	if (e->kind == PL__DIR) {
		want.kind = PL__B_DIR;
		view = e->implicit ? 'k' : 'd';
	} else if (e->kind == PL__SYMLINK) {
		want.kind = PL__B_SYMLINK;
		want.target = e->target;
		view = 'l';
	} else if (e->data) {
		want.kind = PL__B_REG;
		want.size = e->size;
		pl__sha256(e->data, e->size, want.sha256);
		view = 'f';
	} else {
		/* a host file's content is read only when the layer is written */
		return false;
	}
	return pl__baseimg_same(a->base, e->path, &want, view);
}

static const char *bkind_name(enum pl__bkind k)
{
	switch (k) {
	case PL__B_REG:
		return "file";
	case PL__B_DIR:
		return "directory";
	case PL__B_SYMLINK:
		return "symlink";
	case PL__B_HARDLINK:
		return "hard link";
	default:
		return "special file";
	}
}

/* What plinth adds on its own must not bury or replace what the base has. */
static int check_over_base(struct actx *a, const struct pl__entry *e, const struct pl__bentry *b)
{
	const char *by = e->origin ? e->origin : "plinth's defaults";
	if (!b)
		return 0;
	if (e->kind != PL__DIR && b->kind == PL__B_DIR && e->generated)
		return pl__error_set(a->err, PL_EINVAL, 0,
				     "'/%s' is a directory in the base image; %s would replace it "
				     "with a %s",
				     e->path, by, e->kind == PL__SYMLINK ? "symlink" : "file");
	if (e->kind == PL__DIR && b->kind != PL__B_DIR && (e->implicit || e->generated))
		return pl__error_set(a->err, PL_EINVAL, 0,
				     "'/%s' is a %s in the base image, but the layer needs a "
				     "directory there for what goes below it",
				     e->path, bkind_name(b->kind));
	return 0;
}

/* Move the entry at `path` of `from` (which is then only good for freeing)
 * into `to`; an implicit directory takes the base's mode and owner. */
static int move_entry(struct actx *a, struct pl__tree *from, struct pl__tree *to, const char *path)
{
	struct pl__entry *e = pl__tree_get(from, path);
	/* what is looked at below: the kind, and an implicit directory's mode
	 * and owner */
	const struct pl__bentry *b =
	    pl__baseimg_view(a->base, path, e->kind == PL__DIR && e->implicit ? 'd' : 'k');
	int rc = check_over_base(a, e, b);
	if (rc < 0)
		return rc;
	struct pl__entry n = *e;
	n.children = 0;
	if (!(n.path = pl__strdup(path, a->err)))
		return PL_ENOMEM;
	e->data = e->source = e->target = e->origin = NULL;
	if (n.kind == PL__DIR && n.implicit && b && b->kind == PL__B_DIR) {
		n.mode = b->mode;
		n.uid = b->uid;
		n.gid = b->gid;
	}
	return pl__tree_add(to, &n, a->err);
}

/* The layer on the base: what differs from it, with the parents that needs. */
static int prune(struct actx *a, struct pl__tree **t)
{
	cleanup_tree struct pl__tree *to = pl__tree_new(a->err);
	if (!to)
		return PL_ENOMEM;
	struct pl__tree *from = *t;
	pl__tree_sort(from);
	for (size_t i = 0; i < pl__tree_count(from); i++) {
		const struct pl__entry *e = pl__tree_at(from, i);
		if (same_as_base(a, e))
			continue;
		char path[PL_PATH_MAX + 1];
		snprintf(path, sizeof(path), "%s", e->path);
		int rc = 0;
		for (char *s = strchr(path, '/'); rc == 0 && s; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (!pl__tree_get(to, path))
				rc = move_entry(a, from, to, path);
			*s = '/';
		}
		if (rc == 0)
			rc = move_entry(a, from, to, path);
		if (rc < 0)
			return rc;
	}
	pl__tree_free(from);
	*t = steal_pointer(&to);
	return 0;
}

int pl__assemble(const struct pl_recipe *r, const char *version, const struct pl__baseimg *base,
		 pl__assemble_hook packages, void *ctx, struct pl__tree **out,
		 struct pl_error **err)
{
	cleanup_tree struct pl__tree *t = pl__tree_new(err);
	if (!t)
		return PL_ENOMEM;
	cleanup_free char *root = realpath(r->dir, NULL);
	if (!root)
		return pl__error_set(err, PL_ESYS, errno,
				     "cannot resolve the recipe's directory '%s'", r->dir);
	struct actx a = { r, version ? version : r->version, base, t, root, err };
	int rc = add_defaults(&a);
	if (rc == 0 && packages)
		rc = packages(ctx, t, err);
	if (rc == 0)
		rc = add_declared(&a);
	if (rc == 0 && base)
		rc = prune(&a, &t);
	if (rc < 0)
		return rc;
	*out = steal_pointer(&t);
	return 0;
}
