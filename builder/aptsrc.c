/* aptsrc.c - the host's apt sources and ${VAR} expansion (see aptsrc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aptsrc.h"
#include "deb822.h"

#define PL_APT_SOURCES_MAX     ((size_t)1 << 20)  /* one sources file */
#define PL_APT_FILES_MAX       1024               /* names in sources.list.d/, trusted.gpg.d/ */
#define PL_APT_WORDS_MAX       4096               /* words in one field or line */
#define PL_APT_REPOS_MAX       4096               /* repositories from all the sources */
#define PL_APT_REPOS_BYTES_MAX ((size_t)16 << 20) /* strings and arrays they hold */
#define PL_EXPAND_MAX          ((size_t)1 << 20)  /* a string after ${VAR} expansion */

static const char key_begin[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
static const char key_end[] = "\n-----END PGP PUBLIC KEY BLOCK-----\n";

void pl__repo_release(struct pl__repo *r)
{
	free(r->uri);
	for (size_t i = 0; i < r->nsuites; i++)
		free(r->suites[i]);
	free(r->suites);
	for (size_t i = 0; i < r->ncomponents; i++)
		free(r->components[i]);
	free(r->components);
	for (size_t i = 0; i < r->nkeyrings; i++)
		free(r->keyrings[i]);
	free(r->keyrings);
	free(r->origin);
	*r = (struct pl__repo){ 0 };
}

void pl__repos_free(struct pl__repo *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		pl__repo_release(&v[i]);
	free(v);
}

#define cleanup_repo __attribute__((cleanup(pl__repo_release)))

/* ---- words ------------------------------------------------------------ */

/* A word of the input: not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
	unsigned line;
};

struct spans {
	struct span *v;
	size_t n, alloc;
};

static void spans_release(struct spans *s)
{
	free(s->v);
	*s = (struct spans){ 0 };
}

#define cleanup_spans __attribute__((cleanup(spans_release)))

static bool span_is(const struct span *s, const char *word)
{
	return s->n == strlen(word) && !memcmp(s->p, word, s->n);
}

static bool ends_with(const char *p, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(p + n - k, suffix, k);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool separator(char c, bool comma)
{
	return blank(c) || c == '\n' || (comma && c == ',');
}

static int push(const char *file, struct spans *s, struct span w, struct pl_error **err)
{
	if (s->n == PL_APT_WORDS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "%s:%u: more than %d words in one entry",
				     file, w.line, PL_APT_WORDS_MAX);
	int rc = pl__grow(&s->v, &s->alloc, s->n + 1, sizeof(*s->v), err);
	if (rc < 0)
		return rc;
	s->v[s->n++] = w;
	return 0;
}

/*
 * Split [p, p + n), which starts on `line`, into words separated by blanks,
 * newlines and (with `comma`) commas.  A deb822 value spans the comment
 * lines between its continuation lines: those start with '#' and are
 * skipped.
 */
static int split(const char *file, const char *p, size_t n, unsigned line, bool comma,
		 struct spans *out, struct pl_error **err)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] == '\n') {
			line++;
			i++;
			if (i < n && p[i] == '#')
				while (i < n && p[i] != '\n')
					i++;
			continue;
		}
		if (separator(p[i], comma)) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < n && !separator(p[i], comma))
			i++;
		int rc = push(file, out, (struct span){ p + start, i - start, line }, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* apt's StringToBool: 1 true, 0 false, -1 neither. */
static int parse_bool(const char *p, size_t n)
{
	static const char *const yes[] = { "yes", "true", "with", "on", "enable", "1" };
	static const char *const no[] = { "no", "false", "without", "off", "disable", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (n == strlen(yes[i]) && !strncasecmp(p, yes[i], n))
			return 1;
		if (n == strlen(no[i]) && !strncasecmp(p, no[i], n))
			return 0;
	}
	return -1;
}

static bool printable_ascii(const struct span *w)
{
	for (size_t i = 0; i < w->n; i++)
		if ((unsigned char)w->p[i] <= 0x20 || (unsigned char)w->p[i] >= 0x7f)
			return false;
	return true;
}

/* ---- one entry: what a line or a paragraph says ------------------------ */

struct entry {
	const char *file;
	unsigned line;
	bool deb; /* lists type "deb" (not only "deb-src") */
	/* Architectures (arch=), Architectures-Add (arch+=), -Remove (arch-=) */
	bool arch_set, arch_listed, arch_removed;
	bool trusted;
	unsigned trusted_line;
	struct spans uris, suites, components, keys;
	char *key; /* armoured key text from Signed-By, or NULL */
};

static void entry_release(struct entry *e)
{
	spans_release(&e->uris);
	spans_release(&e->suites);
	spans_release(&e->components);
	spans_release(&e->keys);
	free(e->key);
	e->key = NULL;
}

#define cleanup_entry __attribute__((cleanup(entry_release)))

enum arch_op { ARCH_SET, ARCH_ADD, ARCH_REMOVE };

static void arch_apply(struct entry *e, const char *arch, enum arch_op op, const struct spans *list)
{
	bool listed = false;
	for (size_t i = 0; arch && i < list->n; i++)
		if (span_is(&list->v[i], arch))
			listed = true;
	switch (op) {
	case ARCH_SET:
		e->arch_set = true;
		e->arch_listed = listed;
		break;
	case ARCH_ADD:
		e->arch_listed |= listed;
		break;
	case ARCH_REMOVE:
		e->arch_removed |= listed;
		break;
	}
}

/* ---- the parse state: the repositories found so far -------------------- */

struct ctx {
	const char *arch;
	const char *apt_dir; /* where default keyrings come from, or NULL */
	char **defkeys;      /* keyrings for entries without Signed-By */
	size_t ndefkeys, adefkeys;
	bool defkeys_loaded;
	struct pl__repo *v;
	size_t n, alloc;
	size_t bytes;           /* held by v's strings and arrays, <= PL_APT_REPOS_BYTES_MAX */
	const struct entry *at; /* the entry being turned into repositories */
};

static void ctx_release(struct ctx *c)
{
	for (size_t i = 0; i < c->ndefkeys; i++)
		free(c->defkeys[i]);
	free(c->defkeys);
	pl__repos_free(c->v, c->n);
	*c = (struct ctx){ 0 };
}

#define cleanup_ctx __attribute__((cleanup(ctx_release)))

static int charge(struct ctx *c, size_t n, struct pl_error **err)
{
	if (n > PL_APT_REPOS_BYTES_MAX - c->bytes)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "%s:%u: the apt sources describe more than %zu bytes of "
				     "repositories",
				     c->at->file, c->at->line, PL_APT_REPOS_BYTES_MAX);
	c->bytes += n;
	return 0;
}

static int dup_charged(struct ctx *c, const char *p, size_t n, char **out, struct pl_error **err)
{
	int rc = n == SIZE_MAX ? pl__error_nomem(err) : charge(c, n + 1, err);
	if (rc < 0)
		return rc;
	*out = pl__strndup(p, n, err);
	return *out ? 0 : PL_ENOMEM;
}

static int dup_list(struct ctx *c, const struct spans *s, char ***out, size_t *nout,
		    struct pl_error **err)
{
	int rc = charge(c, s->n * sizeof(char *), err);
	if (rc < 0)
		return rc;
	*out = pl__calloc(s->n, sizeof(char *), err);
	if (!*out)
		return PL_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		rc = dup_charged(c, s->v[i].p, s->v[i].n, &(*out)[i], err);
		if (rc < 0)
			return rc;
		*nout = i + 1;
	}
	return 0;
}

/* ---- directories ---------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The names apt reads in a .d directory: no dot files, only [A-Za-z0-9_.-]. */
static bool apt_name(const char *name, const char *ext1, const char *ext2)
{
	if (name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	size_t n = strlen(name);
	return ends_with(name, n, ext1) || ends_with(name, n, ext2);
}

/*
 * The regular files (following symlinks) in `dir` whose names apt_name()
 * accepts, in bytewise order; none when `dir` is absent.
 */
static int list_dir(const char *dir, const char *ext1, const char *ext2, char ***out, size_t *nout,
		    struct pl_error **err)
{
	*out = NULL;
	*nout = 0;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return pl__error_set(err, PL_ESYS, errno, "cannot open directory '%s'", dir);
	}
	char **v = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = pl__error_set(err, PL_ESYS, errno,
						   "cannot read directory '%s'", dir);
			break;
		}
		if (!apt_name(de->d_name, ext1, ext2))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			if (errno == ENOENT) /* a dangling symlink, or gone */
				continue;
			rc = pl__error_set(err, PL_ESYS, errno, "cannot stat '%s/%s'", dir,
					   de->d_name);
			break;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (n == PL_APT_FILES_MAX) {
			rc = pl__error_set(err, PL_ELIMIT, 0, "'%s' holds more than %d files", dir,
					   PL_APT_FILES_MAX);
			break;
		}
		rc = pl__grow(&v, &alloc, n + 1, sizeof(*v), err);
		if (rc < 0)
			break;
		v[n] = pl__strdup(de->d_name, err);
		if (!v[n]) {
			rc = PL_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc < 0) {
		names_free(v, n);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	*nout = n;
	return 0;
}

static int add_defkey(struct ctx *c, char *path, struct pl_error **err)
{
	cleanup_free char *p = path;
	if (!p)
		return PL_ENOMEM;
	int rc = pl__grow(&c->defkeys, &c->adefkeys, c->ndefkeys + 1, sizeof(char *), err);
	if (rc < 0)
		return rc;
	c->defkeys[c->ndefkeys++] = steal_pointer(&p);
	return 0;
}

/* apt_dir/trusted.gpg and apt_dir/trusted.gpg.d/ *.gpg, *.asc. */
static int load_defkeys(struct ctx *c, struct pl_error **err)
{
	if (c->defkeys_loaded || !c->apt_dir)
		return 0;
	c->defkeys_loaded = true;
	cleanup_free char *main_key = pl__asprintf(err, "%s/trusted.gpg", c->apt_dir);
	if (!main_key)
		return PL_ENOMEM;
	struct stat st;
	if (stat(main_key, &st) == 0) {
		if (S_ISREG(st.st_mode)) {
			int rc = add_defkey(c, steal_pointer(&main_key), err);
			if (rc < 0)
				return rc;
		}
	} else if (errno != ENOENT) {
		return pl__error_set(err, PL_ESYS, errno, "cannot stat '%s'", main_key);
	}
	cleanup_free char *dir = pl__asprintf(err, "%s/trusted.gpg.d", c->apt_dir);
	if (!dir)
		return PL_ENOMEM;
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(dir, ".gpg", ".asc", &names, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = add_defkey(c, pl__asprintf(err, "%s/%s", dir, names[i]), err);
	names_free(names, n);
	return rc;
}

/* ---- from an entry to repositories ----------------------------------- */

/*
 * The URI `w` as plinth stores it, without a trailing '/'; NULL in *out
 * for a cdrom: entry, which is skipped as apt skips an absent disc.
 */
static int normalise_uri(struct ctx *c, const char *file, const struct span *w, char **out,
			 struct pl_error **err)
{
	*out = NULL;
	int len = (int)w->n;
	if (!printable_ascii(w))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: URI '%.*s' holds a character that is not printable "
				     "ASCII",
				     file, w->line, len, w->p);
	size_t n = w->n;
	while (n > 0 && w->p[n - 1] == '/')
		n--;
	if (w->n >= 6 && !memcmp(w->p, "cdrom:", 6))
		return 0;
	size_t scheme = 0;
	if (n >= 7 && !memcmp(w->p, "http://", 7))
		scheme = 7;
	else if (n >= 8 && !memcmp(w->p, "https://", 8))
		scheme = 8;
	if (scheme) {
		if (n == scheme || w->p[scheme] == '/')
			return pl__error_set(err, PL_EINVAL, 0, "%s:%u: URI '%.*s' names no host",
					     file, w->line, len, w->p);
		return dup_charged(c, w->p, n, out, err);
	}
	if (w->n >= 5 && !memcmp(w->p, "file:", 5)) {
		const char *path = w->p + 5, *end = w->p + n;
		if (end <= path)
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: URI '%.*s' names no directory", file, w->line,
					     len, w->p);
		if (end - path >= 3 && !memcmp(path, "///", 3))
			path += 2;
		else if (end - path >= 2 && !memcmp(path, "//", 2))
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: URI '%.*s' names a host, which file: URIs "
					     "cannot",
					     file, w->line, len, w->p);
		else if (*path != '/')
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: URI '%.*s' does not hold an absolute path",
					     file, w->line, len, w->p);
		size_t plen = (size_t)(end - path);
		int rc = charge(c, plen + 8, err);
		if (rc < 0)
			return rc;
		*out = pl__asprintf(err, "file://%.*s", (int)plen, path);
		return *out ? 0 : PL_ENOMEM;
	}
	return pl__error_set(err, PL_EINVAL, 0,
			     "%s:%u: URI '%.*s' has an unsupported scheme (plinth reads http://, "
			     "https:// and file: URIs)",
			     file, w->line, len, w->p);
}

/* A suite or component becomes part of a path on the archive. */
static int check_path_word(const char *file, const struct span *w, const char *what,
			   struct pl_error **err)
{
	int len = (int)w->n;
	if (!printable_ascii(w))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: %s '%.*s' holds a character that is not printable "
				     "ASCII",
				     file, w->line, what, len, w->p);
	bool dotdot = false;
	for (size_t i = 0; i + 1 < w->n; i++)
		if (w->p[i] == '.' && w->p[i + 1] == '.' && (i == 0 || w->p[i - 1] == '/') &&
		    (i + 2 == w->n || w->p[i + 2] == '/'))
			dotdot = true;
	if (dotdot || w->p[0] == '/')
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: %s '%.*s' leads out of the archive's directory", file,
				     w->line, what, len, w->p);
	return 0;
}

static int add_repo(struct ctx *c, const struct entry *e, char **uri, const struct spans *keys,
		    struct pl_error **err)
{
	if (c->n == PL_APT_REPOS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "%s:%u: the apt sources describe more than %d repositories",
				     e->file, e->line, PL_APT_REPOS_MAX);
	cleanup_repo struct pl__repo r = { 0 };
	r.uri = steal_pointer(uri);
	int rc = dup_list(c, &e->suites, &r.suites, &r.nsuites, err);
	if (rc < 0)
		return rc;
	rc = dup_list(c, &e->components, &r.components, &r.ncomponents, err);
	if (rc < 0)
		return rc;
	rc = dup_list(c, keys, &r.keyrings, &r.nkeyrings, err);
	if (rc < 0)
		return rc;
	rc = charge(c, strlen(e->file) + 12, err);
	if (rc < 0)
		return rc;
	r.origin = pl__asprintf(err, "%s:%u", e->file, e->line);
	if (!r.origin)
		return PL_ENOMEM;
	rc = pl__grow(&c->v, &c->alloc, c->n + 1, sizeof(*c->v), err);
	if (rc < 0)
		return rc;
	c->v[c->n++] = r;
	r = (struct pl__repo){ 0 };
	return 0;
}

/* The normalised URIs of an entry (NULL for skipped ones). */
struct uris {
	char **v;
	size_t n;
};

static void uris_release(struct uris *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i]);
	free(u->v);
}

#define cleanup_uris __attribute__((cleanup(uris_release)))

static int emit(struct ctx *c, const struct entry *e, struct pl_error **err)
{
	if (!e->deb)
		return 0;
	if (c->arch && !((!e->arch_set || e->arch_listed) && !e->arch_removed))
		return 0;
	c->at = e;

	/* Check every URI before making any repository of the entry. */
	cleanup_uris struct uris uris = { 0 };
	uris.v = pl__calloc(e->uris.n, sizeof(char *), err);
	if (!uris.v)
		return PL_ENOMEM;
	bool usable = false;
	for (size_t i = 0; i < e->uris.n; i++) {
		int rc = normalise_uri(c, e->file, &e->uris.v[i], &uris.v[i], err);
		uris.n = i + 1;
		if (rc < 0)
			return rc;
		usable |= uris.v[i] != NULL;
	}
	if (!usable)
		return 0;
	if (e->trusted)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "%s:%u: refusing a repository marked trusted: plinth never "
				     "builds from unverified archives",
				     e->file, e->trusted_line);

	for (size_t i = 0; i < e->suites.n; i++) {
		const struct span *s = &e->suites.v[i];
		if (s->p[s->n - 1] == '/')
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: flat repositories are not supported (suite "
					     "'%.*s')",
					     e->file, s->line, (int)s->n, s->p);
		int rc = check_path_word(e->file, s, "suite", err);
		if (rc < 0)
			return rc;
	}
	if (e->components.n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: suite '%.*s' needs a component",
				     e->file, e->suites.v[0].line, (int)e->suites.v[0].n,
				     e->suites.v[0].p);
	for (size_t i = 0; i < e->components.n; i++) {
		int rc = check_path_word(e->file, &e->components.v[i], "component", err);
		if (rc < 0)
			return rc;
	}

	cleanup_spans struct spans keys = { 0 };
	if (e->key) {
		int rc =
		    push(e->file, &keys, (struct span){ e->key, strlen(e->key), e->line }, err);
		if (rc < 0)
			return rc;
	} else if (e->keys.n) {
		for (size_t i = 0; i < e->keys.n; i++) {
			const struct span *k = &e->keys.v[i];
			for (size_t j = 0; j < k->n; j++)
				if ((unsigned char)k->p[j] < 0x20 || k->p[j] == 0x7f)
					return pl__error_set(err, PL_EINVAL, 0,
							     "%s:%u: keyring '%.*s' holds a "
							     "control character",
							     e->file, k->line, (int)k->n, k->p);
			if (k->p[0] != '/')
				return pl__error_set(err, PL_EINVAL, 0,
						     "%s:%u: keyring '%.*s' in Signed-By is not an "
						     "absolute path",
						     e->file, k->line, (int)k->n, k->p);
		}
		int rc = 0;
		for (size_t i = 0; rc == 0 && i < e->keys.n; i++)
			rc = push(e->file, &keys, e->keys.v[i], err);
		if (rc < 0)
			return rc;
	} else {
		int rc = load_defkeys(c, err);
		if (rc < 0)
			return rc;
		if (c->ndefkeys == 0)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "%s:%u: no keyring for the repository: it has no "
					     "Signed-By and there is no trusted.gpg or "
					     "trusted.gpg.d/ keyring",
					     e->file, e->line);
		for (size_t i = 0; rc == 0 && i < c->ndefkeys; i++)
			rc = push(e->file, &keys,
				  (struct span){ c->defkeys[i], strlen(c->defkeys[i]), e->line },
				  err);
		if (rc < 0)
			return rc;
	}

	for (size_t i = 0; i < uris.n; i++) {
		if (!uris.v[i])
			continue;
		int rc = add_repo(c, e, &uris.v[i], &keys, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- the one-line format ------------------------------------------------ */

static int parse_option(struct ctx *c, struct entry *e, const struct span *o, struct pl_error **err)
{
	const char *eq = memchr(o->p, '=', o->n);
	if (!eq || eq == o->p)
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: option '%.*s' is not of the form 'name=value'",
				     e->file, e->line, (int)o->n, o->p);
	size_t nlen = (size_t)(eq - o->p);
	const char *v = eq + 1;
	size_t vlen = o->n - nlen - 1;
	enum arch_op op = ARCH_SET;
	size_t base = nlen;
	if (o->p[nlen - 1] == '+' || o->p[nlen - 1] == '-') {
		op = o->p[nlen - 1] == '+' ? ARCH_ADD : ARCH_REMOVE;
		base--;
	}
	bool is_arch = base == 4 && !strncasecmp(o->p, "arch", 4);
	bool is_signed = nlen == 9 && !strncasecmp(o->p, "signed-by", 9);
	bool is_trusted = nlen == 7 && !strncasecmp(o->p, "trusted", 7);
	if (!is_arch && !is_signed && !is_trusted)
		return 0;
	if (vlen == 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: option '%.*s' has no value",
				     e->file, e->line, (int)nlen, o->p);
	if (is_trusted) {
		int b = parse_bool(v, vlen);
		if (b < 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: option 'trusted' takes 'yes' or 'no', not "
					     "'%.*s'",
					     e->file, e->line, (int)vlen, v);
		e->trusted = b;
		e->trusted_line = e->line;
		return 0;
	}
	cleanup_spans struct spans list = { 0 };
	int rc = split(e->file, v, vlen, e->line, true, &list, err);
	if (rc < 0)
		return rc;
	if (list.n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: option '%.*s' has no value",
				     e->file, e->line, (int)nlen, o->p);
	if (is_arch) {
		arch_apply(e, c->arch, op, &list);
		return 0;
	}
	spans_release(&e->keys);
	e->keys = list;
	list = (struct spans){ 0 };
	return 0;
}

static int parse_line(struct ctx *c, const char *file, unsigned line, const char *s,
		      const char *end, struct pl_error **err)
{
	const char *hash = memchr(s, '#', (size_t)(end - s));
	if (hash)
		end = hash;
	while (s < end && blank(*s))
		s++;
	if (s == end)
		return 0;
	cleanup_entry struct entry e = { .file = file, .line = line };
	const char *t = s;
	while (s < end && !blank(*s))
		s++;
	struct span type = { t, (size_t)(s - t), line };
	if (span_is(&type, "deb"))
		e.deb = true;
	else if (!span_is(&type, "deb-src"))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: unknown type '%.*s' (expected 'deb' or 'deb-src')",
				     file, line, (int)type.n, type.p);
	while (s < end && blank(*s))
		s++;
	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		if (!close)
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: the option list has no closing ']'", file,
					     line);
		cleanup_spans struct spans opts = { 0 };
		int rc = split(file, s + 1, (size_t)(close - s - 1), line, false, &opts, err);
		for (size_t i = 0; rc == 0 && i < opts.n; i++)
			rc = parse_option(c, &e, &opts.v[i], err);
		if (rc < 0)
			return rc;
		s = close + 1;
	}
	cleanup_spans struct spans words = { 0 };
	int rc = split(file, s, (size_t)(end - s), line, false, &words, err);
	if (rc < 0)
		return rc;
	if (words.n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: the URI is missing", file, line);
	if (words.n == 1)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: the suite is missing", file, line);
	rc = push(file, &e.uris, words.v[0], err);
	if (rc == 0)
		rc = push(file, &e.suites, words.v[1], err);
	for (size_t i = 2; rc == 0 && i < words.n; i++)
		rc = push(file, &e.components, words.v[i], err);
	if (rc < 0)
		return rc;
	return emit(c, &e, err);
}

static int parse_lines(struct ctx *c, const char *file, const char *text, size_t len,
		       struct pl_error **err)
{
	unsigned line = 1;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int rc = parse_line(c, file, line, p, le, err);
		if (rc < 0)
			return rc;
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
	return 0;
}

/* ---- deb822 .sources ---------------------------------------------------- */

/*
 * The armoured key of a Signed-By value: continuation lines lose the one
 * blank they start with, a lone "." stands for an empty line, and comment
 * lines (starting with '#') between them are not part of it.
 */
static int inline_key(const char *file, const struct pl__field *f, char **out,
		      struct pl_error **err)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, f->value_len + 1, err) < 0)
		return PL_ENOMEM;
	const char *p = f->value, *end = f->value + f->value_len;
	bool first = true;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *ls = p, *le = nl ? nl : end;
		bool comment = !first && ls < le && *ls == '#';
		if (!first && ls < le && (*ls == ' ' || *ls == '\t'))
			ls++;
		while (le > ls && blank(le[-1]))
			le--;
		if (!first && le - ls == 1 && *ls == '.')
			ls = le;
		if (!comment) {
			int rc = pl_buf_add(&b, ls, (size_t)(le - ls), err);
			if (rc == 0)
				rc = pl_buf_add(&b, "\n", 1, err);
			if (rc < 0)
				return rc;
		}
		if (!nl)
			break;
		p = nl + 1;
		first = false;
	}
	if (!strstr(b.buf, key_end))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: the key in Signed-By has no '%.*s' line", file,
				     f->line, (int)(sizeof(key_end) - 3), key_end + 1);
	*out = pl_buf_detach(&b, NULL);
	return 0;
}

static int get_words(const char *file, const struct pl__para *p, const char *name, bool required,
		     bool comma, struct spans *out, struct pl_error **err)
{
	const struct pl__field *f = pl__para_get(p, name);
	if (!f) {
		if (required)
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: the paragraph has no '%s' field", file,
					     p->line, name);
		return 0;
	}
	int rc = split(file, f->value, f->value_len, f->line, comma, out, err);
	if (rc < 0)
		return rc;
	if (out->n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: field '%s' is empty", file, f->line,
				     name);
	return 0;
}

static int get_bool(const char *file, const struct pl__para *p, const char *name, int *out,
		    struct pl_error **err)
{
	const struct pl__field *f = pl__para_get(p, name);
	if (!f)
		return 0;
	*out = parse_bool(f->value, f->value_len);
	if (*out < 0)
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u: field '%s' takes 'yes' or 'no', not '%.*s'", file,
				     f->line, name, (int)f->value_len, f->value);
	return 0;
}

static int parse_para(struct ctx *c, const char *file, const struct pl__para *p,
		      struct pl_error **err)
{
	int enabled = 1;
	int rc = get_bool(file, p, "Enabled", &enabled, err);
	if (rc < 0)
		return rc;
	if (!enabled)
		return 0;
	cleanup_entry struct entry e = { .file = file, .line = p->line };
	cleanup_spans struct spans types = { 0 };
	rc = get_words(file, p, "Types", true, false, &types, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < types.n; i++) {
		if (span_is(&types.v[i], "deb"))
			e.deb = true;
		else if (!span_is(&types.v[i], "deb-src"))
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u: unknown type '%.*s' (expected 'deb' or "
					     "'deb-src')",
					     file, types.v[i].line, (int)types.v[i].n,
					     types.v[i].p);
	}
	rc = get_words(file, p, "URIs", true, false, &e.uris, err);
	if (rc == 0)
		rc = get_words(file, p, "Suites", true, false, &e.suites, err);
	if (rc == 0)
		rc = get_words(file, p, "Components", false, false, &e.components, err);
	if (rc < 0)
		return rc;

	static const struct {
		const char *name;
		enum arch_op op;
	} arch_fields[] = { { "Architectures", ARCH_SET },
			    { "Architectures-Add", ARCH_ADD },
			    { "Architectures-Remove", ARCH_REMOVE } };
	for (size_t i = 0; i < sizeof(arch_fields) / sizeof(*arch_fields); i++) {
		if (!pl__para_get(p, arch_fields[i].name))
			continue;
		cleanup_spans struct spans archs = { 0 };
		rc = get_words(file, p, arch_fields[i].name, false, true, &archs, err);
		if (rc < 0)
			return rc;
		arch_apply(&e, c->arch, arch_fields[i].op, &archs);
	}

	int trusted = 0;
	rc = get_bool(file, p, "Trusted", &trusted, err);
	if (rc < 0)
		return rc;
	e.trusted = trusted;
	if (trusted)
		e.trusted_line = pl__para_get(p, "Trusted")->line;

	const struct pl__field *sb = pl__para_get(p, "Signed-By");
	if (sb && sb->value_len >= sizeof(key_begin) - 1 &&
	    !memcmp(sb->value, key_begin, sizeof(key_begin) - 1))
		rc = inline_key(file, sb, &e.key, err);
	else if (sb)
		rc = get_words(file, p, "Signed-By", false, true, &e.keys, err);
	if (rc < 0)
		return rc;
	return emit(c, &e, err);
}

static int parse_sources(struct ctx *c, const char *file, const char *text, size_t len,
			 struct pl_error **err)
{
	struct pl__deb822 d;
	struct pl__para p = { 0 };
	pl__deb822_init(&d, file, text, len);
	int rc;
	while ((rc = pl__deb822_next(&d, &p, err)) == 1) {
		rc = parse_para(c, file, &p, err);
		if (rc < 0)
			break;
	}
	pl__para_release(&p);
	return rc < 0 ? rc : 0;
}

static int parse_text(struct ctx *c, const char *file, const char *text, size_t len, bool deb822,
		      struct pl_error **err)
{
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		unsigned line = 1;
		for (const char *q = text; q < nul; q++)
			line += *q == '\n';
		return pl__error_set(err, PL_EINVAL, 0, "%s:%u: a line holds a NUL byte", file,
				     line);
	}
	return deb822 ? parse_sources(c, file, text, len, err)
		      : parse_lines(c, file, text, len, err);
}

int pl__aptsrc_parse(const char *name, const char *text, size_t len, bool deb822, const char *arch,
		     const char *const *keyrings, size_t nkeyrings, struct pl__repo **out,
		     size_t *n, struct pl_error **err)
{
	cleanup_ctx struct ctx c = { .arch = arch, .defkeys_loaded = true };
	for (size_t i = 0; i < nkeyrings; i++) {
		int rc = add_defkey(&c, pl__strdup(keyrings[i], err), err);
		if (rc < 0)
			return rc;
	}
	int rc = parse_text(&c, name, text, len, deb822, err);
	if (rc < 0)
		return rc;
	*n = c.n;
	c.n = 0;
	*out = steal_pointer(&c.v);
	return 0;
}

/* ---- the host's sources ---------------------------------------------- */

/* Parse the file at `path`; an absent one counts as empty. */
static int read_source(struct ctx *c, const char *path, bool deb822, struct pl_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	struct pl_error *e = NULL;
	int rc = pl__read_file(path, PL_APT_SOURCES_MAX, &text, &len, &e);
	if (rc == PL_ESYS && pl_error_errno(e) == ENOENT) {
		pl_error_free(e);
		return 0;
	}
	if (rc < 0) {
		if (err)
			*err = e;
		else
			pl_error_free(e);
		return rc;
	}
	return parse_text(c, path, text, len, deb822, err);
}

int pl__host_repos(const char *apt_dir, const char *arch, struct pl__repo **out, size_t *n,
		   struct pl_error **err)
{
	if (!apt_dir)
		apt_dir = "/etc/apt";
	size_t dlen = strlen(apt_dir);
	while (dlen > 1 && apt_dir[dlen - 1] == '/')
		dlen--;
	cleanup_free char *dir = pl__strndup(apt_dir, dlen, err);
	if (!dir)
		return PL_ENOMEM;
	cleanup_ctx struct ctx c = { .arch = arch, .apt_dir = dir };

	cleanup_free char *list = pl__asprintf(err, "%s/sources.list", dir);
	if (!list)
		return PL_ENOMEM;
	int rc = read_source(&c, list, false, err);
	if (rc < 0)
		return rc;

	cleanup_free char *parts = pl__asprintf(err, "%s/sources.list.d", dir);
	if (!parts)
		return PL_ENOMEM;
	char **names = NULL;
	size_t nnames = 0;
	rc = list_dir(parts, ".list", ".sources", &names, &nnames, err);
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		cleanup_free char *path = pl__asprintf(err, "%s/%s", parts, names[i]);
		size_t k = strlen(names[i]);
		rc = path ? read_source(&c, path, ends_with(names[i], k, ".sources"), err)
			  : PL_ENOMEM;
	}
	names_free(names, nnames);
	if (rc < 0)
		return rc;

	if (c.n == 0)
		return pl__error_set(
		    err, PL_EINVAL, 0, "no 'deb' repository%s%s%s in '%s/sources.list' or '%s'",
		    arch ? " for '" : "", arch ? arch : "", arch ? "'" : "", dir, parts);
	*n = c.n;
	c.n = 0;
	*out = steal_pointer(&c.v);
	return 0;
}

/* ---- ${VAR} expansion ------------------------------------------------- */

static bool name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool name_char(char ch)
{
	return name_start(ch) || (ch >= '0' && ch <= '9');
}

int pl__expand_vars(const char *s, const char *const *env, char **out, struct pl_error **err)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, PL_EXPAND_MAX, err) < 0)
		return PL_ENOMEM;
	const char *p = s;
	for (;;) {
		const char *d = strchr(p, '$');
		int rc = pl_buf_add(&b, p, d ? (size_t)(d - p) : strlen(p), err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "expanding '%s'", s);
		if (!d)
			break;
		if (d[1] == '$') {
			rc = pl_buf_add(&b, "$", 1, err);
			if (rc < 0)
				return pl__error_wrap(err, rc, "expanding '%s'", s);
			p = d + 2;
			continue;
		}
		if (d[1] != '{')
			return pl__error_set(err, PL_EINVAL, 0,
					     "'$' at offset %zu of '%s' does not start '${NAME}' "
					     "(write '$$' for a '$')",
					     (size_t)(d - s), s);
		const char *name = d + 2, *close = strchr(name, '}');
		if (!close)
			return pl__error_set(err, PL_EINVAL, 0, "'${' has no closing '}' in '%s'",
					     s);
		size_t nlen = (size_t)(close - name);
		bool valid = nlen > 0 && name_start(name[0]);
		for (size_t i = 1; valid && i < nlen; i++)
			valid = name_char(name[i]);
		if (!valid)
			return pl__error_set(err, PL_EINVAL, 0,
					     "invalid variable name '%.*s' in '%s'", (int)nlen,
					     name, s);
		const char *value = NULL;
		for (size_t i = 0; env && env[i] && !value; i++)
			if (!strncmp(env[i], name, nlen) && env[i][nlen] == '=')
				value = env[i] + nlen + 1;
		if (!value)
			return pl__error_set(err, PL_EINVAL, 0,
					     "variable '%.*s' is not set in '%s'", (int)nlen, name,
					     s);
		rc = pl_buf_add(&b, value, strlen(value), err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "expanding '%s'", s);
		p = close + 1;
	}
	*out = pl_buf_detach(&b, NULL);
	return 0;
}

int pl__host_keyrings(const char *apt_dir, char ***out, size_t *n, struct pl_error **err)
{
	cleanup_ctx struct ctx c = { .apt_dir = apt_dir ? apt_dir : "/etc/apt" };
	int rc = load_defkeys(&c, err);
	if (rc < 0)
		return rc;
	if (!c.ndefkeys)
		return pl__error_set(err, PL_EINVAL, 0,
				     "no keyring: the repository names none and '%s' has no "
				     "trusted.gpg or trusted.gpg.d/",
				     c.apt_dir);
	*out = steal_pointer(&c.defkeys);
	*n = c.ndefkeys;
	c.ndefkeys = 0;
	return 0;
}
