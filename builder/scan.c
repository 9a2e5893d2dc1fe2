/*
 * scan.c - what a hardened image should not have (see plinth/check.h).
 *
 * The image's layers are read once, top down, by the base image reader
 * (baseimg.h), which applies whiteouts and shows each final file's content
 * to a visitor here: the content is searched for secrets in windows of
 * SCAN_WINDOW bytes that overlap by SCAN_OVERLAP, so a file of any size is
 * searched in bounded memory.  Modes, names and accounts are checked on
 * the entries afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "baseimg.h"
#include "check-impl.h"
#include "oci.h"
#include "osv.h"
#include "pkgfiles.h"
#include "scan-impl.h"
#include "secrets.h"

#define SCAN_WINDOW  ((size_t)1 << 20) /* bytes searched at a time */
#define SCAN_OVERLAP ((size_t)8192)    /* searched again with the next window */
#define SHADOW_MAX   ((size_t)1 << 20) /* /etc/shadow, kept to check */

/* A secret in the content of a regular file, kept until the layers are
 * read: the path's final entry (and every hard link to it) is reported,
 * once what it is is known. */
struct hit {
	char *path;                    /* relative, as the entry's */
	uint8_t sha256[PL_SHA256_LEN]; /* of the content it was found in */
	enum pl__secret_kind kind;
	unsigned long line;
};

struct scan {
	struct pl_findings *f;
	const struct pl_policy *p;
	/* the regular file being read */
	bool reading, shadow;
	char *buf;
	size_t len, from;                     /* the window; matches start at `from` */
	unsigned long lines;                  /* newlines in what left the window */
	unsigned seen;                        /* kinds found in this file (1 << kind) */
	struct hit pending[PL__SECRET_KINDS]; /* this file's, until its sha256 is known */
	size_t npending;
	struct hit *hits; /* in every file */
	size_t nhits, hits_alloc;
	struct pl_buf shadow_text;
	bool os_release; /* reading usr/lib/os-release */
	struct pl_buf os_release_text;
	struct pl__pkgfiles_collector md5sums;
	struct pl_error **err;
};

static void scan_release(struct scan *s)
{
	for (size_t i = 0; i < s->nhits; i++)
		free(s->hits[i].path);
	free(s->hits);
	pl_buf_release(&s->shadow_text);
	pl_buf_release(&s->os_release_text);
	pl__pkgfiles_collector_release(&s->md5sums);
}

/* Paths that hold known test data (and documentation): not reported for
 * secrets.  A component among these, or under usr/share/doc. */
static bool test_data(const char *path)
{
	static const char *const dirs[] = { "test",    "tests",    "testdata",  "test-data",
					    "testing", "fixtures", "__tests__", NULL };
	if (!strncmp(path, "/usr/share/doc/", 15))
		return true;
	for (const char *p = path; (p = strchr(p, '/'));) {
		p++;
		size_t n = strcspn(p, "/");
		if (!p[n])
			break; /* the file's own name */
		for (const char *const *d = dirs; *d; d++)
			if (strlen(*d) == n && !strncmp(p, *d, n))
				return true;
	}
	return false;
}

static const char *secret_rule(enum pl__secret_kind k)
{
	switch (k) {
	case PL__SECRET_PRIVATE_KEY:
		return "S004";
	case PL__SECRET_PASSWORD:
		return "S008";
	default:
		return "S006";
	}
}

static unsigned long count_lines(const char *p, size_t n)
{
	unsigned long k = 0;
	for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))); q++)
		k++;
	return k;
}

/*
 * Search the window; `final`: it is the file's last.  Otherwise a match
 * in its last SCAN_OVERLAP bytes is left to the next window, which starts
 * with those bytes (and the one before them, as context): there it has
 * what follows it too, so a token is never cut short by a window's end,
 * nor found twice.
 */
static void search_window(struct scan *s, bool final)
{
	struct pl__secret_hit found[PL__SECRET_KINDS];
	size_t n =
	    pl__secrets_find(s->buf, s->len, s->from, true, &s->seen, found, PL__SECRET_KINDS);
	size_t limit = final ? s->len : s->len - SCAN_OVERLAP;
	for (size_t i = 0; i < n; i++) {
		if (found[i].off >= limit) {
			s->seen &= ~(1u << found[i].kind);
			continue;
		}
		struct hit *h = &s->pending[s->npending++];
		h->kind = found[i].kind;
		h->line = s->lines + count_lines(s->buf, found[i].off) + 1;
	}
	if (!final) {
		size_t drop = s->len - SCAN_OVERLAP - 1;
		s->lines += count_lines(s->buf, drop);
		memmove(s->buf, s->buf + drop, SCAN_OVERLAP + 1);
		s->len = SCAN_OVERLAP + 1;
		s->from = 1;
	}
}

static int on_entry(void *ctx, const struct pl__bentry *e, struct pl_error **err)
{
	struct scan *s = ctx;
	s->reading = false;
	int rc = pl__pkgfiles_collect_entry(&s->md5sums, e, err);
	if (rc < 0 || e->kind != PL__B_REG)
		return rc;
	s->reading = true;
	s->shadow = !strcmp(e->path, "etc/shadow");
	s->len = s->from = 0;
	s->lines = 0;
	s->seen = 0;
	s->npending = 0;
	if (s->shadow)
		s->shadow_text.len = 0;
	/* Debian's /etc/os-release is a link to this one */
	s->os_release = !strcmp(e->path, "usr/lib/os-release");
	if (s->os_release)
		s->os_release_text.len = 0;
	return 0;
}

static int on_data(void *ctx, const void *p, size_t n, struct pl_error **err)
{
	struct scan *s = ctx;
	int rc = pl__pkgfiles_collect_data(&s->md5sums, p, n, err);
	if (rc < 0)
		return rc;
	if (s->shadow && pl_buf_add(&s->shadow_text, p, n, NULL) < 0)
		return pl__error_set(err, PL_ELIMIT, 0, "/etc/shadow is larger than %zu bytes",
				     SHADOW_MAX);
	if (s->os_release && pl_buf_add(&s->os_release_text, p, n, NULL) < 0)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "/usr/lib/os-release is larger than %zu bytes", SHADOW_MAX);
	while (s->reading && n > 0) {
		size_t k = SCAN_WINDOW - s->len < n ? SCAN_WINDOW - s->len : n;
		memcpy(s->buf + s->len, p, k);
		s->len += k;
		p = (const char *)p + k;
		n -= k;
		if (s->len == SCAN_WINDOW)
			search_window(s, false);
	}
	return 0;
}

static int on_end(void *ctx, const struct pl__bentry *e, struct pl_error **err)
{
	struct scan *s = ctx;
	int rc = pl__pkgfiles_collect_end(&s->md5sums, e, err);
	if (rc < 0 || !s->reading)
		return rc;
	s->reading = false;
	if (s->len > s->from)
		search_window(s, true);
	/* kept with the content's digest: a later showing of the path (a
	 * layer that has it twice) replaces it, and that is told apart */
	for (size_t i = 0; i < s->npending; i++) {
		if (pl__grow(&s->hits, &s->hits_alloc, s->nhits + 1, sizeof(*s->hits), err) < 0)
			return PL_ENOMEM;
		struct hit *h = &s->hits[s->nhits];
		*h = s->pending[i];
		memcpy(h->sha256, e->sha256, PL_SHA256_LEN);
		if (!(h->path = pl__strdup(e->path, err)))
			return PL_ENOMEM;
		s->nhits++;
	}
	s->npending = 0;
	return 0;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int d = strcmp(x->path, y->path);
	return d ? d : (int)x->kind - (int)y->kind;
}

/* `path` (relative) as shown in findings: "/" and it, control characters
 * and what is not UTF-8 written \xNN. */
static int shown(const char *path, struct pl_buf *b, struct pl_error **err)
{
	b->len = 0;
	int rc = pl_buf_adds(b, "/", err);
	return rc < 0 ? rc : pl__show(b, path, strlen(path), SIZE_MAX, false, err);
}

/*
 * The regular file whose content `e` has: itself, or for a hard link its
 * target, through chains of links.  NULL when that is not the content the
 * layers gave the link: the target is missing, not a regular file, or
 * from another layer (a layer above replaced or hid it; a hard link and
 * its target are in one layer).
 */
static const struct pl__bentry *link_content(const struct pl__baseimg *b,
					     const struct pl__bentry *e)
{
	const struct pl__bentry *c = e;
	for (unsigned hops = 0; c && c->kind == PL__B_HARDLINK && hops < 16; hops++) {
		const struct pl__bentry *t = pl__baseimg_get(b, c->target);
		if (!t || t->layer != c->layer)
			return NULL;
		c = t;
	}
	return c && c->kind == PL__B_REG ? c : NULL;
}

/* The secrets found in `c`, the content of the entry `e` (a regular file,
 * or a hard link to one: link_content()), shown as `name`, when it is not
 * known test data.  A password counts only in a configuration file (by
 * e's path).  A hard link without readable content is a finding itself. */
static int secret_findings(struct scan *s, const struct pl__bentry *e, const struct pl__bentry *c,
			   const char *name)
{
	if (e->kind == PL__B_HARDLINK && !c &&
	    !pl__finding_add(s->f, s->p, "S014", NULL, (struct pl__pos){ 0 }, name, s->err,
			     "%s is a hard link whose content was not read (its target is "
			     "replaced or hidden in a layer above it)",
			     name))
		return PL_ENOMEM;
	if (!c || !s->nhits)
		return 0;
	struct hit key = { .path = c->path, .kind = 0 };
	size_t lo = 0, hi = s->nhits;
	while (lo < hi) { /* the first hit of the content's path */
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_hit(&s->hits[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (test_data(name))
		return 0;
	bool config = pl__secret_config_path(e->path);
	unsigned reported = 0;
	for (size_t i = lo; i < s->nhits && !strcmp(s->hits[i].path, c->path); i++) {
		const struct hit *h = &s->hits[i];
		if (memcmp(h->sha256, c->sha256, PL_SHA256_LEN) || (reported & 1u << h->kind) ||
		    (h->kind == PL__SECRET_PASSWORD && !config))
			continue;
		reported |= 1u << h->kind;
		if (!pl__finding_add(s->f, s->p, secret_rule(h->kind), NULL, (struct pl__pos){ 0 },
				     name, s->err, "%s holds %s (line %lu)", name,
				     pl__secret_what(h->kind), h->line))
			return PL_ENOMEM;
	}
	return 0;
}

/* ---- what the entries say ---------------------------------------------- */

static bool in_list(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(*list, s, n))
			return true;
	return false;
}

/* Whether `path` (relative) is NAME in a directory programs are run from. */
static bool in_bin(const char *path, const char *const *names)
{
	static const char *const bins[] = { "bin",      "sbin",          "usr/bin",
					    "usr/sbin", "usr/local/bin", "usr/local/sbin",
					    NULL };
	const char *slash = strrchr(path, '/');
	return slash && in_list(path, (size_t)(slash - path), bins) &&
	       in_list(slash + 1, strlen(slash + 1), names);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* An ssh private key by its name: a host key, or a user's identity. */
static bool ssh_key_path(const char *path, const char *base)
{
	static const char *const ids[] = { "id_rsa",      "id_dsa",        "id_ecdsa", "id_ed25519",
					   "id_ecdsa_sk", "id_ed25519_sk", "identity", NULL };
	if (!strncmp(path, "etc/ssh/ssh_host_", 17) && ends_with(path, "_key"))
		return true;
	size_t dir = (size_t)(base - path);
	return dir >= 5 && !strncmp(base - 5, ".ssh/", 5) && (dir == 5 || base[-6] == '/') &&
	       in_list(base, strlen(base), ids);
}

/* A file whose purpose is to hold secrets, by its name. */
static bool secret_file_path(const char *path, const char *base)
{
	static const char *const names[] = { ".git-credentials", ".netrc",  ".pgpass", ".htpasswd",
					     "credentials.json", ".my.cnf", NULL };
	static const char *const samples[] = { ".example", ".sample", ".template", ".dist", NULL };
	if (!strcmp(base, ".env") || !strncmp(base, ".env.", 5)) {
		for (const char *const *x = samples; *x; x++)
			if (ends_with(base, *x))
				return false;
		return true;
	}
	if (in_list(base, strlen(base), names))
		return true;
	return ends_with(path, ".aws/credentials") || ends_with(path, ".docker/config.json");
}

static int entry_findings(struct scan *s, const struct pl__baseimg *b, const struct pl__bentry *e,
			  struct pl_buf *name)
{
	static const char *const shells[] = { "sh",  "bash", "dash", "zsh",  "ksh",     "mksh",
					      "ash", "tcsh", "csh",  "fish", "busybox", NULL };
	static const char *const managers[] = { "apt", "apt-get", "dpkg", "aptitude", "pip", "pip3",
						"rpm", "yum",     "dnf",  "apk",      "npm", NULL };
	int rc = shown(e->path, name, s->err);
	if (rc < 0)
		return rc;
	const char *path = name->buf;
	/* a hard link's content is its target's */
	const struct pl__bentry *c = link_content(b, e);
	uint64_t size = c ? c->size : 0;
	const char *base = strrchr(e->path, '/');
	base = base ? base + 1 : e->path;
	struct pl_findings *f = s->f;
	const struct pl_policy *p = s->p;
	struct pl__pos none = { 0 };
	struct pl_error **err = s->err;
	bool reg = e->kind == PL__B_REG || e->kind == PL__B_HARDLINK;
	bool dir = e->kind == PL__B_DIR;
	if (reg && (e->mode & 06000) &&
	    !pl__finding_add(f, p, "S001", NULL, none, path, err,
			     "%s is set%sid (mode %04o, owner %u:%u)", path,
			     (e->mode & 04000) ? "u" : "g", e->mode, e->uid, e->gid))
		return PL_ENOMEM;
	if (dir && (e->mode & 0002) && !(e->mode & 01000) &&
	    !pl__finding_add(f, p, "S002", NULL, none, path, err,
			     "%s is world-writable without the sticky bit (mode %04o)", path,
			     e->mode))
		return PL_ENOMEM;
	if (reg && (e->mode & 0002) &&
	    !pl__finding_add(f, p, "S003", NULL, none, path, err,
			     "%s is world-writable (mode %04o)", path, e->mode))
		return PL_ENOMEM;
	if (reg && !test_data(path)) {
		if (ssh_key_path(e->path, base) &&
		    !pl__finding_add(f, p, "S005", NULL, none, path, err,
				     "%s is an ssh private key", path))
			return PL_ENOMEM;
		if (secret_file_path(e->path, base) && size > 0 &&
		    !pl__finding_add(f, p, "S007", NULL, none, path, err,
				     "%s is a secrets file (%llu bytes)", path,
				     (unsigned long long)size))
			return PL_ENOMEM;
	}
	if ((reg || e->kind == PL__B_SYMLINK) && in_bin(e->path, shells) &&
	    !pl__finding_add(f, p, "S009", NULL, none, path, err, "%s is a shell", path))
		return PL_ENOMEM;
	if ((reg || e->kind == PL__B_SYMLINK) && in_bin(e->path, managers) &&
	    !pl__finding_add(f, p, "S010", NULL, none, path, err, "%s is a package manager", path))
		return PL_ENOMEM;
	return secret_findings(s, e, c, path);
}

/* The n-th (0-based) ':' field of `line` (len bytes): start and length. */
static bool field(const char *line, size_t len, unsigned n, const char **out, size_t *olen)
{
	const char *p = line, *end = line + len;
	for (unsigned i = 0; i < n; i++) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		if (!c)
			return false;
		p = c + 1;
	}
	const char *c = memchr(p, ':', (size_t)(end - p));
	*out = p;
	*olen = (size_t)((c ? c : end) - p);
	return true;
}

/* Accounts of /etc/passwd (and /etc/shadow) without a password. */
static int empty_passwords(struct scan *s, const char *text, size_t len, const char *file)
{
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *name, *pw;
		size_t name_len, pw_len;
		if (n && *p != '#' && *p != '+' && *p != '-' && field(p, n, 0, &name, &name_len) &&
		    field(p, n, 1, &pw, &pw_len) && pw_len == 0) {
			cleanup_buf struct pl_buf shown_name = { 0 };
			if (pl_buf_init(&shown_name, 0, s->err) < 0 ||
			    pl__show(&shown_name, name, name_len, 64, false, s->err) < 0 ||
			    !pl__finding_add(s->f, s->p, "S012", NULL, (struct pl__pos){ 0 }, file,
					     s->err, "account '%s' has an empty password in %s",
					     shown_name.buf ? shown_name.buf : "", file))
				return PL_ENOMEM;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int cmp_account(const void *a, const void *b)
{
	const struct pl__account *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int account_findings(struct scan *s, const struct pl__baseimg *b)
{
	struct pl__account *v = NULL;
	size_t n = 0;
	int rc = pl__baseimg_accounts(b, false, &v, &n, s->err);
	if (rc < 0)
		return rc;
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_account);
	for (size_t i = 0; i + 1 < n && rc == 0; i++) {
		if (v[i].id != v[i + 1].id || (i > 0 && v[i - 1].id == v[i].id))
			continue;
		size_t j = i + 1;
		while (j + 1 < n && v[j + 1].id == v[i].id)
			j++;
		if (!pl__finding_add(s->f, s->p, "S011", NULL, (struct pl__pos){ 0 }, "/etc/passwd",
				     s->err, "uid %u is shared by '%s' and '%s'%s", v[i].id,
				     v[i].name, v[i + 1].name, j > i + 1 ? " and others" : ""))
			rc = PL_ENOMEM;
	}
	pl__accounts_free(v, n);
	const struct pl__bentry *pw = pl__baseimg_get(b, "etc/passwd");
	if (rc == 0 && pw && pw->data)
		rc = empty_passwords(s, pw->data, (size_t)pw->size, "/etc/passwd");
	if (rc == 0 && s->shadow_text.len)
		rc = empty_passwords(s, s->shadow_text.buf, s->shadow_text.len, "/etc/shadow");
	return rc;
}

/* Regular files no installed package's md5sums lists (dpkg's own
 * records under status.d aside). */
static int unowned_findings(struct scan *s, const struct pl__baseimg *b)
{
	cleanup_pkgfiles struct pl__pkgfiles *pf = pl__pkgfiles_new(s->err);
	cleanup_buf struct pl_buf name = { 0 };
	if (!pf || pl_buf_init(&name, 0, s->err) < 0)
		return PL_ENOMEM;
	pl__pkgfiles_collect_finish(&s->md5sums);
	int rc = pl__pkgfiles_add_installed(pf, &s->md5sums, b, s->err);
	for (size_t i = 0; rc == 0 && i < pl__baseimg_slots(b); i++) {
		const struct pl__bentry *e = pl__baseimg_at(b, i);
		if (!e || (e->kind != PL__B_REG && e->kind != PL__B_HARDLINK) ||
		    !strncmp(e->path, "var/lib/dpkg/status.d/", 22) ||
		    pl__pkgfiles_owner(pf, e->path))
			continue;
		const struct pl__bentry *c = link_content(b, e);
		if ((rc = shown(e->path, &name, s->err)) == 0 &&
		    !pl__finding_add(s->f, s->p, "S013", NULL, (struct pl__pos){ 0 }, name.buf,
				     s->err, "%s belongs to no package (%llu bytes)", name.buf,
				     (unsigned long long)(c ? c->size : 0)))
			rc = PL_ENOMEM;
	}
	return rc;
}

/* ---- known vulnerabilities ------------------------------------------- */

/*
 * The image's ecosystem ("Debian:12"): the one given, else its
 * os-release's (/etc/os-release, or the /usr/lib/os-release Debian links it
 * to), else the major version of its base-files package, which is the
 * release it was made for.
 */
static int ecosystem(struct scan *s, const struct pl__baseimg *b, const char *given, char *out,
		     size_t size)
{
	if (given) {
		if (strncmp(given, "Debian:", 7) || !given[7] || strlen(given) >= size)
			return pl__error_set(s->err, PL_EINVAL, 0,
					     "ecosystem '%s' is not Debian:RELEASE", given);
		snprintf(out, size, "%s", given);
		return 0;
	}
	const struct pl__bentry *e = pl__baseimg_get(b, "etc/os-release");
	const char *text = e && e->data ? e->data : NULL;
	size_t len = text ? (size_t)e->size : 0;
	if (e && e->kind == PL__B_SYMLINK && s->os_release_text.len) {
		text = s->os_release_text.buf;
		len = s->os_release_text.len;
	}
	struct pl_error *why = NULL;
	if (text && pl__osv_ecosystem(text, len, out, size, &why) == 0)
		return 0;
	const struct pl__base_pkg *bf = pl__baseimg_package(b, "base-files");
	size_t digits = bf ? strspn(bf->version, "0123456789") : 0;
	if (digits && digits < 8) {
		snprintf(out, size, "Debian:%.*s", (int)digits, bf->version);
		pl_error_free(why);
		return 0;
	}
	int rc = pl__error_set(s->err, PL_EINVAL, 0,
			       "cannot tell which Debian release the image's packages are from "
			       "(%s, and no base-files package): name it with --ecosystem "
			       "Debian:RELEASE",
			       why ? pl_error_message(why) : "it has no /etc/os-release");
	pl_error_free(why);
	return rc;
}

static const char *severity_of(const struct pl__osv_match *m)
{
	return !strcmp(m->severity_word, "none") ? "info" : m->severity_word;
}

static int scan_vulns(struct scan *s, const struct pl__baseimg *b, const struct pl_scan_options *o)
{
	char eco[PL__OSV_ECO_MAX];
	int rc = ecosystem(s, b, o->ecosystem, eco, sizeof(eco));
	if (rc < 0)
		return rc;
	cleanup_osv struct pl__osv *db = NULL;
	if ((rc = pl__osv_load(o->vulns, &db, s->err)) < 0)
		return rc;
	size_t npkgs;
	const struct pl__base_pkg *pkgs = pl__baseimg_packages(b, &npkgs);
	cleanup_free struct pl__osv_pkg *in = pl__calloc(npkgs + 1, sizeof(*in), s->err);
	if (!in)
		return PL_ENOMEM;
	for (size_t i = 0; i < npkgs; i++)
		in[i] = (struct pl__osv_pkg){ pkgs[i].name, pkgs[i].version, pkgs[i].arch,
					      pkgs[i].source };
	struct pl__osv_match *m = NULL;
	size_t n = 0;
	if ((rc = pl__osv_match(db, eco, in, npkgs, &m, &n, s->err)) < 0)
		return rc;
	bool keep_severity = !pl__policy_severity(s->p, "S100");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char path[PL_PATH_MAX + 2];
		snprintf(path, sizeof(path), "/var/lib/dpkg/status.d/%s", m[i].package);
		struct pl_finding *x = pl__finding_add(
		    s->f, s->p, "S100", NULL, (struct pl__pos){ 0 }, path, s->err,
		    "%s: %s (source %s %s)%s%s%s%s", m[i].id, m[i].package, m[i].source,
		    m[i].version, m[i].fixed ? ", fixed in " : ", no fix yet",
		    m[i].fixed ? m[i].fixed : "", *m[i].summary ? ": " : "", m[i].summary);
		if (!x || !(x->vuln_id = pl__findings_keep(s->f, m[i].id, s->err)) ||
		    !(x->package = pl__findings_keep(s->f, m[i].package, s->err)) ||
		    !(x->version = pl__findings_keep(s->f, m[i].version, s->err)) ||
		    !(x->source = pl__findings_keep(s->f, m[i].source, s->err)) ||
		    (m[i].fixed && !(x->fixed = pl__findings_keep(s->f, m[i].fixed, s->err))) ||
		    (keep_severity &&
		     !(x->severity = pl__findings_keep(s->f, severity_of(&m[i]), s->err))))
			rc = PL_ENOMEM;
	}
	pl__osv_matches_free(m, n);
	return rc;
}

int pl__scan_layers(const struct pl__blob_source *src, const json_t *layers,
		    const struct pl_scan_options *o, struct pl_findings **out,
		    struct pl_error **err)
{
	__attribute__((cleanup(pl__findings_freep))) struct pl_findings *f = pl__findings_new(err);
	cleanup_free char *buf = pl__calloc(1, SCAN_WINDOW, err);
	if (!f || !buf)
		return PL_ENOMEM;
	__attribute__((cleanup(
	    scan_release))) struct scan s = { .f = f, .p = o->policy, .buf = buf, .err = err };
	cleanup_buf struct pl_buf name = { 0 };
	if (pl_buf_init(&s.shadow_text, SHADOW_MAX, err) < 0 ||
	    pl_buf_init(&s.os_release_text, SHADOW_MAX, err) < 0 || pl_buf_init(&name, 0, err) < 0)
		return PL_ENOMEM;
	struct pl__fs_visitor v = { on_entry, on_data, on_end, &s };
	cleanup_baseimg struct pl__baseimg *b = NULL;
	int rc = pl__baseimg_read_visit(src, layers, &v, &b, err);
	if (rc == 0 && s.nhits > 1)
		qsort(s.hits, s.nhits, sizeof(*s.hits), cmp_hit);
	for (size_t i = 0; rc == 0 && i < pl__baseimg_slots(b); i++) {
		const struct pl__bentry *e = pl__baseimg_at(b, i);
		if (e)
			rc = entry_findings(&s, b, e, &name);
	}
	if (rc == 0)
		rc = account_findings(&s, b);
	if (rc == 0)
		rc = unowned_findings(&s, b);
	if (rc == 0 && o->vulns)
		rc = scan_vulns(&s, b, o);
	if (rc < 0)
		return rc;
	pl__findings_sort(f, false);
	*out = steal_pointer(&f);
	return 0;
}

int pl_scan(const char *ref, const struct pl_scan_options *o, struct pl_findings **out,
	    struct pl_error **err)
{
	cleanup_free char *dir = NULL, *tag = NULL;
	int rc = pl__oci_ref_parse(ref, &dir, &tag, err);
	if (rc < 0)
		return rc;
	cleanup_image struct pl__image im = { 0 };
	if ((rc = pl__image_open(dir, tag, false, &im, err)) < 0)
		return rc;
	struct pl__blob_source src = pl__layout_blobs(dir);
	rc = pl__scan_layers(&src, json_object_get(im.mjson, "layers"), o, out, err);
	return rc < 0 ? pl__error_wrap(err, rc, "scan '%s'", ref) : 0;
}
