/*
 * deb.c - reading a .deb held in memory (see deb.h).
 *
 * The outer ar is read with libarchive straight from memory; each inner tar
 * is a second libarchive reader whose input callback pulls the member's
 * bytes from the outer one, so compressed members are streamed, never
 * copied whole.  Names are taken as the bytes stored: the reader runs under
 * the "C" locale, in which libarchive leaves ustar/GNU names alone and, for
 * a non-ASCII pax name, keeps the stored UTF-8 with a warning (under a
 * UTF-8 locale it would silently rewrite pax names to NFC).
 */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "libarchive.h"
#include "archive-util.h"
#include "deb.h"

#define DEB_BINARY_MAX 64                 /* the debian-binary member */
#define CONTENT_CHUNK  ((size_t)64 << 20) /* first allocation for a file's content */
#define IMPLIED        SIZE_MAX           /* a slot for a directory known only as a parent */

/* ---- names in messages ----------------------------------------------- */

/* A name as shown in a message: bounded, with control bytes and backslashes
 * escaped, and bytes >= 0x80 escaped too when the name is not UTF-8. */
struct shown {
	char s[512];
};

static const char *show(struct shown *b, const char *s)
{
	bool utf8 = pl__utf8_valid(s);
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (o + 8 > sizeof(b->s)) {
			/* Cut at a character boundary. */
			while (o > 0 && ((unsigned char)b->s[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 0 && (unsigned char)b->s[o - 1] >= 0xc0)
				o--;
			memcpy(b->s + o, "...", 4);
			return b->s;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || (*p >= 0x80 && !utf8))
			o += (size_t)snprintf(b->s + o, sizeof(b->s) - o, "\\x%02x", *p);
		else
			b->s[o++] = (char)*p;
	}
	b->s[o] = '\0';
	return b->s;
}

/* Report libarchive's error on `a` after "what: ". */
static int archive_fail(struct pl_error **err, struct archive *a, const char *what)
{
	if (archive_errno(a) == ENOMEM)
		return pl__error_nomem(err);
	return pl__error_set(err, PL_EINVAL, 0, "%s: %s", what, pl__archive_why(a));
}

/* ---- the set of paths seen ----------------------------------------------- */

/*
 * Open addressing over the entries' paths and the directories implied as
 * their parents.  Keys point into the entries' path strings, which outlive
 * the set.  Invariants: cap is 0 or a power of two, 2 * n <= cap.
 */
struct slot {
	const char *key; /* NULL: a free slot */
	size_t len;
	size_t idx; /* into d->e, or IMPLIED */
	uint64_t hash;
};

struct pathset {
	struct slot *s;
	size_t cap, n;
};

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3u;
	}
	return h ^ (h >> 29);
}

static struct slot *pathset_find(const struct pathset *ps, const char *key, size_t len, uint64_t h)
{
	size_t mask = ps->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct slot *s = &ps->s[i];
		if (!s->key || (s->hash == h && s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

/* Make room for one more key. */
static int pathset_reserve(struct pathset *ps, struct pl_error **err)
{
	if (ps->cap && ps->n + 1 <= ps->cap / 2)
		return 0;
	size_t cap = ps->cap ? ps->cap : 512;
	if (cap > SIZE_MAX / 2 / sizeof(struct slot))
		return pl__error_nomem(err);
	cap *= 2;
	struct slot *s = pl__calloc(cap, sizeof(*s), err);
	if (!s)
		return PL_ENOMEM;
	struct pathset grown = { s, cap, ps->n };
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->s[i].key)
			*pathset_find(&grown, ps->s[i].key, ps->s[i].len, ps->s[i].hash) = ps->s[i];
	free(ps->s);
	*ps = grown;
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

struct reader {
	struct pl__deb *d;
	size_t alloc;     /* entries allocated at d->e */
	uint64_t content; /* bytes of file content so far */
	size_t headers;   /* data.tar members so far, the root included */
	struct pathset set;
};

static void reader_release(struct reader *r)
{
	free(r->set.s);
}

/* An ar member being read as the input of an inner archive. */
struct member {
	struct archive *outer;
	la_int64_t off;
	bool failed; /* reading the outer archive failed */
};

static la_ssize_t member_read(struct archive *a, void *ctx, const void **buf)
{
	struct member *m = ctx;
	for (;;) {
		const void *p;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(m->outer, &p, &n, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK) {
			int e = archive_errno(m->outer);
			archive_set_error(a, e ? e : EIO, "%s", pl__archive_why(m->outer));
			m->failed = true;
			return -1;
		}
		if (off != m->off) {
			archive_set_error(a, EINVAL, "unexpected offset in the member");
			m->failed = true;
			return -1;
		}
		m->off += (la_int64_t)n;
		if (n > 0) {
			*buf = p;
			return (la_ssize_t)n;
		}
	}
}

/* Open the tar in ar member `mname` (compressed as its suffix `comp` says). */
static int open_tar(struct archive **out, struct member *m, const char *mname, const char *comp,
		    struct pl_error **err)
{
	cleanup_archive_read struct archive *a = archive_read_new();
	if (!a)
		return pl__archive_failed(err);
	int want = ARCHIVE_FILTER_NONE, r = ARCHIVE_OK;
	const char *what = "";
	if (!strcmp(comp, ".gz")) {
		want = ARCHIVE_FILTER_GZIP;
		what = "gzip";
		r = archive_read_support_filter_gzip(a);
	} else if (!strcmp(comp, ".xz")) {
		want = ARCHIVE_FILTER_XZ;
		what = "xz";
		r = archive_read_support_filter_xz(a);
	} else if (!strcmp(comp, ".zst")) {
		want = ARCHIVE_FILTER_ZSTD;
		what = "zstd";
		r = archive_read_support_filter_zstd(a);
	} else if (!strcmp(comp, ".bz2")) {
		want = ARCHIVE_FILTER_BZIP2;
		what = "bzip2";
		r = archive_read_support_filter_bzip2(a);
	}
	/* ARCHIVE_WARN would mean running an external program: refused. */
	if (r != ARCHIVE_OK)
		return pl__error_set(err, PL_EINVAL, 0,
				     "cannot read '%s': libarchive has no built-in %s support",
				     mname, what);
	if (archive_read_support_format_tar(a) != ARCHIVE_OK)
		return archive_fail(err, a, "cannot read");
	m->off = 0;
	m->failed = false;
	r = archive_read_open(a, m, NULL, member_read, NULL);
	if (m->failed || archive_errno(a) == ENOMEM)
		return archive_fail(err, a, "cannot read");
	/* The filters bid before the format: a failure to open with the
	 * wrong filters in place says the suffix lies. */
	if (archive_filter_code(a, 0) != want ||
	    archive_filter_count(a) != (want == ARCHIVE_FILTER_NONE ? 1 : 2)) {
		if (want == ARCHIVE_FILTER_NONE)
			return pl__error_set(err, PL_EINVAL, 0, "member '%s' is compressed", mname);
		return pl__error_set(err, PL_EINVAL, 0, "member '%s' is not %s-compressed", mname,
				     what);
	}
	if (r != ARCHIVE_OK)
		return archive_fail(err, a, "cannot read");
	*out = steal_pointer(&a);
	return 0;
}

/*
 * The next header of an inner tar: 1, 0 at the end, or a negative code.
 * The one warning accepted is a pax name libarchive could not convert to
 * the "C" locale: it then keeps the stored bytes, which are checked later.
 */
static int next_header(struct archive *a, struct archive_entry **ae, struct pl_error **err)
{
	int r = archive_read_next_header(a, ae);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK)
		return 1;
	if (r == ARCHIVE_WARN && strstr(pl__archive_why(a), "can't be converted from UTF-8"))
		return 1;
	return archive_fail(err, a, "cannot read");
}

/*
 * Read the content of the current entry, `size` bytes by its header, into
 * a new NUL-terminated buffer.  Beyond CONTENT_CHUNK the buffer grows with
 * the data actually read, so a header claiming a huge size costs little
 * until the bytes arrive.
 */
static int read_content(struct archive *a, const char *path, size_t size, char **out,
			struct pl_error **err)
{
	struct shown s;
	if (size > SIZE_MAX - 1)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s': too large", show(&s, path));
	size_t alloc = (size < CONTENT_CHUNK ? size : CONTENT_CHUNK) + 1;
	cleanup_free char *buf = malloc(alloc);
	if (!buf)
		return pl__error_nomem(err);
	size_t got = 0;
	for (;;) {
		const void *p;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(a, &p, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			if (archive_errno(a) == ENOMEM)
				return pl__error_nomem(err);
			return pl__error_set(err, PL_EINVAL, 0, "'%s': cannot read: %s",
					     show(&s, path), pl__archive_why(a));
		}
		/* A hole: only sparse files have them. */
		if (off < 0 || (uint64_t)off != got)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': sparse files are not allowed", show(&s, path));
		if (n > size - got)
			return pl__error_set(err, PL_EINVAL, 0, "'%s': more data than its size",
					     show(&s, path));
		if (n > alloc - 1 - got) {
			size_t grown = alloc - 1 > size / 2 ? size + 1 : 2 * (alloc - 1) + 1;
			if (grown < got + n + 1)
				grown = got + n + 1;
			char *nb = realloc(buf, grown);
			if (!nb)
				return pl__error_nomem(err);
			buf = nb;
			alloc = grown;
		}
		memcpy(buf + got, p, n);
		got += n;
	}
	if (got != size)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': truncated", show(&s, path));
	buf[got] = '\0';
	*out = steal_pointer(&buf);
	return 0;
}

static int read_control(struct reader *r, struct member *m, const char *mname, const char *comp,
			struct pl_error **err)
{
	cleanup_archive_read struct archive *a = NULL;
	int rc = open_tar(&a, m, mname, comp, err);
	if (rc < 0)
		return rc;
	struct pl__deb *d = r->d;
	struct archive_entry *ae;
	size_t count = 0;
	while ((rc = next_header(a, &ae, err)) == 1) {
		if (++count > PL_DEB_ENTRIES_MAX)
			return pl__error_set(err, PL_ELIMIT, 0, "more than %zu entries",
					     PL_DEB_ENTRIES_MAX);
		const char *path = archive_entry_pathname(ae);
		if (!path)
			continue;
		if (!strncmp(path, "./", 2))
			path += 2;
		char **dst;
		size_t *dlen;
		if (!strcmp(path, "control")) {
			dst = &d->control;
			dlen = &d->control_len;
		} else if (!strcmp(path, "md5sums")) {
			dst = &d->md5sums;
			dlen = &d->md5sums_len;
		} else if (!strcmp(path, "conffiles")) {
			dst = &d->conffiles;
			dlen = &d->conffiles_len;
		} else {
			/* Maintainer scripts, shlibs, triggers: not used. */
			continue;
		}
		if (archive_entry_hardlink(ae) || archive_entry_filetype(ae) != AE_IFREG)
			return pl__error_set(err, PL_EINVAL, 0, "'%s' is not a regular file", path);
		if (*dst)
			return pl__error_set(err, PL_EINVAL, 0, "'%s' appears twice", path);
		la_int64_t size = archive_entry_size(ae);
		if (size < 0 || (uint64_t)size > PL_DEB_CONTROL_MAX)
			return pl__error_set(err, PL_ELIMIT, 0, "'%s' is larger than %zu bytes",
					     path, PL_DEB_CONTROL_MAX);
		rc = read_content(a, path, (size_t)size, dst, err);
		if (rc < 0)
			return rc;
		*dlen = (size_t)size;
	}
	if (rc < 0)
		return rc;
	if (!d->control)
		return pl__error_set(err, PL_EINVAL, 0, "no 'control' file");
	return 0;
}

/* Why the relative path p[0..n) is not a clean one, or NULL. */
static const char *path_problem(const char *p, size_t n)
{
	if (n == 0)
		return "empty path";
	if (memchr(p, '\n', n))
		return "newline in path";
	size_t depth = 0;
	bool dotdot = false;
	for (size_t i = 0;;) {
		const char *c = p + i;
		const char *slash = memchr(c, '/', n - i);
		size_t cl = slash ? (size_t)(slash - c) : n - i;
		if (cl == 0)
			return "empty path component";
		if (cl == 1 && c[0] == '.')
			return "'.' path component";
		if (cl == 2 && c[0] == '.' && c[1] == '.') {
			if (depth == 0)
				return "path leaves the root";
			depth--;
			dotdot = true;
		} else {
			depth++;
		}
		if (!slash)
			break;
		i += cl + 1;
	}
	return dotdot ? "'..' path component" : NULL;
}

/* Whether symlink `target`, resolved lexically from the directory of the
 * clean path `path` (absolute targets from the root), climbs above the root. */
static bool target_escapes(const char *path, const char *target)
{
	size_t depth = 0;
	if (target[0] != '/')
		for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/'))
			depth++;
	for (const char *c = target; *c;) {
		size_t cl = strcspn(c, "/");
		if (cl == 2 && c[0] == '.' && c[1] == '.') {
			if (depth == 0)
				return true;
			depth--;
		} else if (cl > 0 && !(cl == 1 && c[0] == '.')) {
			depth++;
		}
		c += cl;
		if (*c == '/')
			c++;
	}
	return false;
}

/*
 * Record entry `idx` in the path set: refuse a path seen before, a
 * non-directory below which entries were seen, and an entry below a
 * non-directory; note its missing ancestors as implied directories.
 */
static int place(struct reader *r, size_t idx, struct pl_error **err)
{
	struct shown s1, s2;
	const struct pl__deb_entry *e = &r->d->e[idx];
	size_t len = strlen(e->path);
	int rc = pathset_reserve(&r->set, err);
	if (rc < 0)
		return rc;
	uint64_t h = hash_path(e->path, len);
	struct slot *s = pathset_find(&r->set, e->path, len, h);
	if (s->key) {
		if (s->idx != IMPLIED)
			return pl__error_set(err, PL_EINVAL, 0, "'%s': path appears twice",
					     show(&s1, e->path));
		if (e->kind != PL__DEB_DIR)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': not a directory, but entries are below it",
					     show(&s1, e->path));
		s->key = e->path;
		s->idx = idx;
	} else {
		*s = (struct slot){ e->path, len, idx, h };
		r->set.n++;
	}
	for (size_t n = len; n > 0;) {
		while (n > 0 && e->path[n - 1] != '/')
			n--;
		if (n == 0)
			break;
		n--;
		rc = pathset_reserve(&r->set, err);
		if (rc < 0)
			return rc;
		h = hash_path(e->path, n);
		s = pathset_find(&r->set, e->path, n, h);
		if (s->key) {
			/* Its own ancestors were dealt with when it was placed. */
			if (s->idx != IMPLIED && r->d->e[s->idx].kind != PL__DEB_DIR)
				return pl__error_set(
				    err, PL_EINVAL, 0, "'%s': parent '%s' is not a directory",
				    show(&s1, e->path), show(&s2, r->d->e[s->idx].path));
			break;
		}
		*s = (struct slot){ e->path, n, IMPLIED, h };
		r->set.n++;
	}
	return 0;
}

static int check_symlink(struct pl__deb_entry *e, const char *target, struct pl_error **err)
{
	struct shown s1, s2;
	if (!target || !target[0])
		return pl__error_set(err, PL_EINVAL, 0, "'%s': empty symlink target",
				     show(&s1, e->path));
	if (strlen(target) > PL_PATH_MAX)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s': symlink target is longer than %d bytes",
				     show(&s1, e->path), PL_PATH_MAX);
	if (!pl__utf8_valid(target))
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s': symlink target '%s' is not valid UTF-8",
				     show(&s1, e->path), show(&s2, target));
	if (target_escapes(e->path, target))
		return pl__error_set(err, PL_EINVAL, 0, "'%s': symlink target '%s' leaves the root",
				     show(&s1, e->path), show(&s2, target));
	e->target = pl__strdup(target, err);
	return e->target ? 0 : PL_ENOMEM;
}

static int check_hardlink(struct reader *r, struct pl__deb_entry *e, const char *target,
			  struct pl_error **err)
{
	struct shown s1, s2;
	if (target[0] == '/')
		return pl__error_set(err, PL_EINVAL, 0, "'%s': hardlink target '%s' is absolute",
				     show(&s1, e->path), show(&s2, target));
	if (!strncmp(target, "./", 2))
		target += 2;
	size_t n = strlen(target);
	const char *why = n > PL_PATH_MAX ? "path too long" : path_problem(target, n);
	if (why)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': hardlink target '%s': %s",
				     show(&s1, e->path), show(&s2, target), why);
	const struct slot *s =
	    r->set.cap ? pathset_find(&r->set, target, n, hash_path(target, n)) : NULL;
	if (!s || !s->key || s->idx == IMPLIED || r->d->e[s->idx].kind != PL__DEB_REG)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s': hardlink target '%s' is not an earlier regular file",
				     show(&s1, e->path), show(&s2, target));
	e->target = pl__strndup(target, n, err);
	return e->target ? 0 : PL_ENOMEM;
}

static int add_entry(struct reader *r, struct archive *a, struct archive_entry *ae,
		     struct pl_error **err)
{
	struct shown s1;
	const char *raw = archive_entry_pathname(ae);
	if (!raw || !raw[0])
		return pl__error_set(err, PL_EINVAL, 0, "an entry has no name");
	if (strlen(raw) > PL_PATH_MAX)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': path is longer than %d bytes",
				     show(&s1, raw), PL_PATH_MAX);
	if (!pl__utf8_valid(raw))
		return pl__error_set(err, PL_EINVAL, 0, "'%s': path is not valid UTF-8",
				     show(&s1, raw));
	if (raw[0] == '/')
		return pl__error_set(err, PL_EINVAL, 0, "'%s': path is absolute", show(&s1, raw));
	const char *hardlink = archive_entry_hardlink(ae);
	mode_t type = archive_entry_filetype(ae);
	bool dir = !hardlink && type == AE_IFDIR;
	const char *rel = raw;
	if (rel[0] == '.' && (rel[1] == '/' || rel[1] == '\0'))
		rel += rel[1] ? 2 : 1;
	size_t n = strlen(rel);
	if (n == 0) {
		/* The root itself: dropped, but it must not pose as anything else. */
		if (!dir)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': the root entry is not a directory",
					     show(&s1, raw));
		return 0;
	}
	if (rel[n - 1] == '/') {
		if (!dir)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': trailing '/' on a non-directory",
					     show(&s1, rel));
		n--;
	}
	const char *why = path_problem(rel, n);
	if (why)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': %s", show(&s1, rel), why);

	enum pl__deb_kind kind;
	if (hardlink) {
		kind = PL__DEB_HARDLINK;
	} else {
		switch (type) {
		case AE_IFREG:
			kind = PL__DEB_REG;
			break;
		case AE_IFDIR:
			kind = PL__DEB_DIR;
			break;
		case AE_IFLNK:
			kind = PL__DEB_SYMLINK;
			break;
		case AE_IFCHR:
		case AE_IFBLK:
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': device nodes are not allowed", show(&s1, rel));
		case AE_IFIFO:
			return pl__error_set(err, PL_EINVAL, 0, "'%s': fifos are not allowed",
					     show(&s1, rel));
		case AE_IFSOCK:
			return pl__error_set(err, PL_EINVAL, 0, "'%s': sockets are not allowed",
					     show(&s1, rel));
		default:
			return pl__error_set(err, PL_EINVAL, 0, "'%s': unsupported entry type",
					     show(&s1, rel));
		}
	}
	la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': owner out of range", show(&s1, rel));

	struct pl__deb *d = r->d;
	if (d->n >= PL_DEB_ENTRIES_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "more than %zu entries",
				     PL_DEB_ENTRIES_MAX);
	int rc = pl__grow(&d->e, &r->alloc, d->n + 1, sizeof(*d->e), err);
	if (rc < 0)
		return rc;
	size_t idx = d->n;
	struct pl__deb_entry *e = &d->e[idx];
	memset(e, 0, sizeof(*e));
	e->path = pl__strndup(rel, n, err);
	if (!e->path)
		return PL_ENOMEM;
	d->n++;
	e->kind = kind;
	e->mode = (uint32_t)archive_entry_mode(ae) & 07777;
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;

	if (kind == PL__DEB_SYMLINK)
		rc = check_symlink(e, archive_entry_symlink(ae), err);
	else if (kind == PL__DEB_HARDLINK)
		rc = check_hardlink(r, e, hardlink, err);
	if (rc < 0)
		return rc;
	rc = place(r, idx, err);
	if (rc < 0 || kind != PL__DEB_REG)
		return rc;

	la_int64_t size = archive_entry_size(ae);
	if (size < 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': negative size", show(&s1, e->path));
	if ((uint64_t)size > PL_DEB_CONTENT_MAX - r->content)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "'%s': file content beyond the limit of %llu bytes",
				     show(&s1, e->path), (unsigned long long)PL_DEB_CONTENT_MAX);
	if ((uint64_t)size > SIZE_MAX - 1)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s': too large", show(&s1, e->path));
	rc = read_content(a, e->path, (size_t)size, &e->data, err);
	if (rc < 0)
		return rc;
	e->size = (uint64_t)size;
	r->content += (uint64_t)size;
	return 0;
}

static int read_data(struct reader *r, struct member *m, const char *mname, const char *comp,
		     struct pl_error **err)
{
	cleanup_archive_read struct archive *a = NULL;
	int rc = open_tar(&a, m, mname, comp, err);
	if (rc < 0)
		return rc;
	struct archive_entry *ae;
	while ((rc = next_header(a, &ae, err)) == 1) {
		/* Roots count too: nothing is read unbounded. */
		if (++r->headers > PL_DEB_ENTRIES_MAX + 1)
			return pl__error_set(err, PL_ELIMIT, 0, "more than %zu entries",
					     PL_DEB_ENTRIES_MAX);
		rc = add_entry(r, a, ae, err);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int read_binary(struct archive *ar, struct archive_entry *ae, struct pl_error **err)
{
	la_int64_t size = archive_entry_size(ae);
	if (size < 3 || size > DEB_BINARY_MAX)
		return pl__error_set(err, PL_EINVAL, 0,
				     "not a Debian package: 'debian-binary' has %lld bytes",
				     (long long)size);
	char buf[DEB_BINARY_MAX];
	size_t got = 0;
	while (got < (size_t)size) {
		la_ssize_t n = archive_read_data(ar, buf + got, (size_t)size - got);
		if (n < 0)
			return archive_fail(err, ar, "not a Debian package");
		if (n == 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "not a Debian package: 'debian-binary' is truncated");
		got += (size_t)n;
	}
	if (memcmp(buf, "2.", 2) != 0 || buf[got - 1] != '\n')
		return pl__error_set(err, PL_EINVAL, 0,
				     "not a Debian package: 'debian-binary' is not version 2.x");
	return 0;
}

/* If `m` is `base` with one of the suffixes allowed, that suffix, else NULL. */
static const char *member_comp(const char *m, const char *base, bool data)
{
	size_t n = strlen(base);
	if (strncmp(m, base, n) != 0)
		return NULL;
	const char *s = m + n;
	if (!*s || !strcmp(s, ".gz") || !strcmp(s, ".xz") || !strcmp(s, ".zst") ||
	    (data && !strcmp(s, ".bz2")))
		return s;
	return NULL;
}

static int read_deb(const void *p, size_t len, struct reader *r, struct pl_error **err)
{
	if (len < 8 || memcmp(p, "!<arch>\n", 8) != 0)
		return pl__error_set(err, PL_EINVAL, 0, "not a Debian package: not an ar archive");
	cleanup_archive_read struct archive *ar = archive_read_new();
	if (!ar)
		return pl__archive_failed(err);
	if (archive_read_support_format_ar(ar) != ARCHIVE_OK ||
	    archive_read_open_memory(ar, p, len) != ARCHIVE_OK)
		return archive_fail(err, ar, "not a Debian package");

	enum { WANT_BINARY, WANT_CONTROL, WANT_DATA, DONE } state = WANT_BINARY;
	struct member m = { ar, 0, false };
	struct archive_entry *ae;
	int r_ar, rc;
	struct shown s1;
	while ((r_ar = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		if (!name)
			name = "";
		const char *comp;
		if (state == WANT_BINARY) {
			if (strcmp(name, "debian-binary") != 0)
				return pl__error_set(err, PL_EINVAL, 0,
						     "not a Debian package: first member is '%s', "
						     "not 'debian-binary'",
						     show(&s1, name));
			rc = read_binary(ar, ae, err);
			if (rc < 0)
				return rc;
			state = WANT_CONTROL;
		} else if (name[0] == '_') {
			continue;
		} else if (state == WANT_CONTROL &&
			   (comp = member_comp(name, "control.tar", false))) {
			rc = read_control(r, &m, name, comp, err);
			if (rc < 0)
				return pl__error_wrap(err, rc, "control.tar");
			state = WANT_DATA;
		} else if (state == WANT_DATA && (comp = member_comp(name, "data.tar", true))) {
			rc = read_data(r, &m, name, comp, err);
			if (rc < 0)
				return pl__error_wrap(err, rc, "data.tar");
			state = DONE;
		} else if (state == WANT_CONTROL && member_comp(name, "data.tar", true)) {
			return pl__error_set(err, PL_EINVAL, 0, "missing 'control.tar' member");
		} else {
			return pl__error_set(err, PL_EINVAL, 0, "unexpected member '%s'",
					     show(&s1, name));
		}
	}
	if (r_ar != ARCHIVE_EOF)
		return archive_fail(err, ar,
				    state == WANT_BINARY ? "not a Debian package" : "cannot read");
	/* libarchive takes a short member header at the end for the end. */
	la_int64_t used = archive_filter_bytes(ar, -1);
	if (used >= 0 && (uint64_t)used < len)
		return pl__error_set(err, PL_EINVAL, 0,
				     "not a Debian package: truncated member header at offset %lld",
				     (long long)used);
	switch (state) {
	case WANT_BINARY:
		return pl__error_set(err, PL_EINVAL, 0, "not a Debian package: no members");
	case WANT_CONTROL:
		return pl__error_set(err, PL_EINVAL, 0, "missing 'control.tar' member");
	case WANT_DATA:
		return pl__error_set(err, PL_EINVAL, 0, "missing 'data.tar' member");
	case DONE:
		break;
	}
	return 0;
}

int pl__deb_read(const void *p, size_t len, const char *name, struct pl__deb *out,
		 struct pl_error **err)
{
	memset(out, 0, sizeof(*out));
	struct pl__deb d = { 0 };
	__attribute__((cleanup(reader_release))) struct reader r = { .d = &d };

	/* libarchive converts names through the calling thread's locale: pin
	 * it (per thread) to "C", where stored bytes are kept as they are. */
	locale_t c = newlocale(LC_CTYPE_MASK, "C", (locale_t)0);
	if (!c)
		return pl__error_set(err, PL_ESYS, errno, "%s: cannot load the C locale", name);
	locale_t saved = uselocale(c);
	int rc = read_deb(p, len, &r, err);
	uselocale(saved);
	freelocale(c);
	if (rc < 0) {
		pl__deb_release(&d);
		return pl__error_wrap(err, rc, "%s", name);
	}
	*out = d;
	return 0;
}

void pl__deb_release(struct pl__deb *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->e[i].path);
		free(d->e[i].data);
		free(d->e[i].target);
	}
	free(d->e);
	free(d->control);
	free(d->md5sums);
	free(d->conffiles);
	memset(d, 0, sizeof(*d));
}
