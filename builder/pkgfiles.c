/* pkgfiles.c - the paths each installed package owns (see pkgfiles.h). */
#include <stdlib.h>
#include <string.h>

#include "archive-util.h"
#include "pkgfiles.h"

#define STATUS_DIR "var/lib/dpkg/status.d/"
#define MD5SUMS    ".md5sums"
#define MD5_HEX    32

/* Top-level directories that live under /usr on a merged-/usr system, as
 * plinth installs packages. */
static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

struct owned {
	char *path;
	size_t pkg; /* index into pkgs */
};

struct pl__pkgfiles {
	struct owned *v;
	size_t n, alloc;
	size_t *slots; /* open addressing: index + 1, 0 = empty */
	size_t nslots; /* power of two, more than n * 10 / 7 */
	char **pkgs;   /* package names, one for each pl__pkgfiles_add() */
	size_t npkgs, pkgs_alloc;
};

struct pl__pkgfiles *pl__pkgfiles_new(struct pl_error **err)
{
	struct pl__pkgfiles *pf = pl__calloc(1, sizeof(*pf), err);
	if (!pf)
		return NULL;
	pf->nslots = 1024;
	if (!(pf->slots = pl__calloc(pf->nslots, sizeof(*pf->slots), err))) {
		free(pf);
		return NULL;
	}
	return pf;
}

void pl__pkgfiles_free(struct pl__pkgfiles *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->n; i++)
		free(pf->v[i].path);
	for (size_t i = 0; i < pf->npkgs; i++)
		free(pf->pkgs[i]);
	free(pf->v);
	free(pf->slots);
	free(pf->pkgs);
	free(pf);
}

void pl__pkgfiles_freep(struct pl__pkgfiles **pf)
{
	pl__pkgfiles_free(*pf);
}

size_t pl__pkgfiles_count(const struct pl__pkgfiles *pf)
{
	return pf->n;
}

/*
 * `in` (n bytes) normalised and merged into `out` (PL_PATH_MAX + 1 bytes,
 * which leaves room for "usr/"); false for an empty path, a ".." component
 * or one too long.
 */
static bool canonical(const char *in, size_t n, char out[PL_PATH_MAX + 1])
{
	char raw[PL_PATH_MAX + 1], norm[PL_PATH_MAX + 1];
	if (n > PL_PATH_MAX || memchr(in, '\0', n))
		return false;
	memcpy(raw, in, n);
	raw[n] = '\0';
	if (!pl__path_normalise(raw, norm, sizeof(norm) - 4, false) || !*norm)
		return false;
	size_t first = strcspn(norm, "/");
	bool merged = false;
	for (size_t i = 0; i < sizeof(merged_dirs) / sizeof(*merged_dirs); i++)
		merged |= strlen(merged_dirs[i]) == first && !strncmp(norm, merged_dirs[i], first);
	size_t at = merged ? 4 : 0, len = strlen(norm); /* len <= PL_PATH_MAX - 4 */
	memcpy(out, "usr/", at);
	memcpy(out + at, norm, len + 1);
	return true;
}

static size_t *find_slot(const struct pl__pkgfiles *pf, const char *path)
{
	size_t mask = pf->nslots - 1, i = (size_t)pl__str_hash(path) & mask;
	for (;; i = (i + 1) & mask) {
		size_t s = pf->slots[i];
		if (!s || !strcmp(pf->v[s - 1].path, path))
			return &pf->slots[i];
	}
}

static int rehash(struct pl__pkgfiles *pf, struct pl_error **err)
{
	size_t n = pf->nslots * 2;
	size_t *slots = pl__calloc(n, sizeof(*slots), err);
	if (!slots)
		return PL_ENOMEM;
	free(pf->slots);
	pf->slots = slots;
	pf->nslots = n;
	for (size_t i = 0; i < pf->n; i++)
		*find_slot(pf, pf->v[i].path) = i + 1;
	return 0;
}

/* Keep the name `pkg` in pf->pkgs (once per call: a package added twice
 * is listed twice, harmlessly); -1 without memory. */
static ssize_t keep_name(struct pl__pkgfiles *pf, const char *pkg, struct pl_error **err)
{
	if (pl__grow(&pf->pkgs, &pf->pkgs_alloc, pf->npkgs + 1, sizeof(*pf->pkgs), err) < 0 ||
	    !(pf->pkgs[pf->npkgs] = pl__strdup(pkg, err)))
		return -1;
	return (ssize_t)pf->npkgs++;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	return true;
}

/* Check every line of `text` before anything is added; *lines gets their
 * number. */
static int check_lines(const char *pkg, const char *text, size_t len, size_t *lines,
		       struct pl_error **err)
{
	size_t lineno = 0;
	for (const char *line = text, *end = text + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl ? nl : end) - line);
		char path[PL_PATH_MAX + 1];
		lineno++;
		if (n < MD5_HEX + 3 || !is_hex(line, MD5_HEX) || line[MD5_HEX] != ' ' ||
		    line[MD5_HEX + 1] != ' ')
			return pl__error_set(err, PL_EINVAL, 0,
					     "package '%s': md5sums line %zu is not 32 hex digits, "
					     "two spaces and a path",
					     pkg, lineno);
		if (!canonical(line + MD5_HEX + 2, n - MD5_HEX - 2, path))
			return pl__error_set(
			    err, PL_EINVAL, 0,
			    "package '%s': md5sums line %zu: the path is empty, has a "
			    "'..' component or a NUL byte, or is longer than %d bytes",
			    pkg, lineno, PL_PATH_MAX);
		line += n + 1;
	}
	*lines = lineno;
	return 0;
}

int pl__pkgfiles_add(struct pl__pkgfiles *pf, const char *pkg, const char *md5sums, size_t len,
		     struct pl_error **err)
{
	size_t lines = 0;
	int rc = check_lines(pkg, md5sums, len, &lines, err);
	if (rc < 0)
		return rc;
	if (lines > PL__PKGFILES_PATHS_MAX - pf->n)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "package '%s': the packages list more than %zu paths together",
				     pkg, PL__PKGFILES_PATHS_MAX);
	ssize_t who = lines ? keep_name(pf, pkg, err) : 0;
	if (who < 0)
		return PL_ENOMEM;
	for (const char *line = md5sums, *end = md5sums + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl ? nl : end) - line);
		char path[PL_PATH_MAX + 1];
		canonical(line + MD5_HEX + 2, n - MD5_HEX - 2, path);
		line += n + 1;
		size_t *slot = find_slot(pf, path);
		if (*slot) {
			struct owned *o = &pf->v[*slot - 1];
			if (strcmp(pkg, pf->pkgs[o->pkg]) < 0)
				o->pkg = (size_t)who;
			continue;
		}
		if ((pf->n + 1) * 10 > pf->nslots * 7) {
			if ((rc = rehash(pf, err)) < 0)
				return rc;
			slot = find_slot(pf, path);
		}
		if ((rc = pl__grow(&pf->v, &pf->alloc, pf->n + 1, sizeof(*pf->v), err)) < 0)
			return rc;
		if (!(pf->v[pf->n].path = pl__strdup(path, err)))
			return PL_ENOMEM;
		pf->v[pf->n].pkg = (size_t)who;
		*slot = ++pf->n;
	}
	return 0;
}

const char *pl__pkgfiles_owner(const struct pl__pkgfiles *pf, const char *path)
{
	char canon[PL_PATH_MAX + 1];
	if (!canonical(path, strlen(path), canon))
		return NULL;
	size_t s = *find_slot(pf, canon);
	return s ? pf->pkgs[pf->v[s - 1].pkg] : NULL;
}

bool pl__pkgfiles_is_md5sums(const char *path, const char **pkg, size_t *pkg_len)
{
	if (strncmp(path, STATUS_DIR, sizeof(STATUS_DIR) - 1))
		return false;
	const char *name = path + sizeof(STATUS_DIR) - 1;
	size_t n = strlen(name), k = sizeof(MD5SUMS) - 1;
	if (n <= k || strchr(name, '/') || strcmp(name + n - k, MD5SUMS))
		return false;
	*pkg = name;
	*pkg_len = n - k;
	return true;
}

/* ---- collecting md5sums while layers are read --------------------------- */

static void collect_reset(struct pl__pkgfiles_collector *c)
{
	pl_buf_release(&c->cur);
	free(c->cur_pkg);
	c->cur_pkg = NULL;
}

void pl__pkgfiles_collector_release(struct pl__pkgfiles_collector *c)
{
	collect_reset(c);
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].pkg);
		free(c->v[i].text);
	}
	free(c->v);
	*c = (struct pl__pkgfiles_collector){ 0 };
}

int pl__pkgfiles_collect_entry(struct pl__pkgfiles_collector *c, const struct pl__bentry *e,
			       struct pl_error **err)
{
	const char *pkg;
	size_t len;
	collect_reset(c);
	if (e->kind != PL__B_REG || !pl__pkgfiles_is_md5sums(e->path, &pkg, &len))
		return 0;
	if (c->total >= PL__PKGFILES_TEXT_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "its md5sums files exceed %zu bytes together",
				     PL__PKGFILES_TEXT_MAX);
	if (pl_buf_init(&c->cur, PL__PKGFILES_TEXT_MAX - c->total, err) < 0 ||
	    !(c->cur_pkg = pl__strndup(pkg, len, err)))
		return PL_ENOMEM;
	return 0;
}

int pl__pkgfiles_collect_data(struct pl__pkgfiles_collector *c, const void *p, size_t n,
			      struct pl_error **err)
{
	if (!c->cur_pkg)
		return 0;
	int rc = pl_buf_add(&c->cur, p, n, NULL);
	if (rc == PL_ELIMIT)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "its md5sums files exceed %zu bytes together",
				     PL__PKGFILES_TEXT_MAX);
	return rc < 0 ? pl__error_nomem(err) : 0;
}

int pl__pkgfiles_collect_end(struct pl__pkgfiles_collector *c, const struct pl__bentry *e,
			     struct pl_error **err)
{
	(void)e;
	if (!c->cur_pkg)
		return 0;
	if (pl__grow(&c->v, &c->alloc, c->n + 1, sizeof(*c->v), err) < 0)
		return PL_ENOMEM;
	struct pl__md5sums *m = &c->v[c->n];
	m->seq = c->n++;
	m->pkg = steal_pointer(&c->cur_pkg);
	m->text = pl_buf_detach(&c->cur, &m->len);
	c->total += m->len;
	return 0;
}

static int cmp_md5sums(const void *a, const void *b)
{
	const struct pl__md5sums *x = a, *y = b;
	int d = strcmp(x->pkg, y->pkg);
	return d ? d : (x->seq > y->seq) - (x->seq < y->seq);
}

void pl__pkgfiles_collect_finish(struct pl__pkgfiles_collector *c)
{
	collect_reset(c);
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_md5sums);
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		/* the same path twice in one layer: the later one counts */
		if (i + 1 < c->n && !strcmp(c->v[i].pkg, c->v[i + 1].pkg)) {
			free(c->v[i].pkg);
			free(c->v[i].text);
			continue;
		}
		c->v[k++] = c->v[i];
	}
	c->n = k;
}

/* The installed package an md5sums file names: NAME, or NAME:ARCH. */
static const struct pl__base_pkg *md5sums_package(const struct pl__baseimg *b, const char *pkg)
{
	const char *colon = strchr(pkg, ':');
	if (!colon)
		return pl__baseimg_package(b, pkg);
	size_t n = 0;
	const struct pl__base_pkg *v = pl__baseimg_packages(b, &n);
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i].name) == (size_t)(colon - pkg) &&
		    !strncmp(v[i].name, pkg, (size_t)(colon - pkg)) && v[i].arch &&
		    !strcmp(v[i].arch, colon + 1))
			return &v[i];
	return NULL;
}

/*
 * The Conffiles field of a status paragraph (" /etc/rpc MD5" lines, as
 * dpkg and plinth write them) as md5sums text: md5sums leaves a package's
 * configuration files out, the field names them.
 */
static int conffiles_md5sums(const char *para, size_t len, struct pl_buf *out,
			     struct pl_error **err)
{
	const char *p = para, *end = para + len;
	bool in = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n && (*p == ' ' || *p == '\t')) {
			const char *path = p + strspn(p, " \t");
			size_t plen = strcspn(path, " \t\n");
			const char *md5 = path + plen + strspn(path + plen, " \t");
			if (in && plen > 1 && *path == '/' && md5 + MD5_HEX <= p + n &&
			    is_hex(md5, MD5_HEX) &&
			    pl_buf_addf(out, err, "%.*s  %.*s\n", MD5_HEX, md5, (int)plen - 1,
					path + 1) < 0)
				return PL_ENOMEM;
		} else {
			in = n >= 10 && !strncasecmp(p, "Conffiles:", 10);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int pl__pkgfiles_add_installed(struct pl__pkgfiles *pf, const struct pl__pkgfiles_collector *c,
			       const struct pl__baseimg *b, struct pl_error **err)
{
	size_t npkgs;
	const struct pl__base_pkg *pkgs = pl__baseimg_packages(b, &npkgs);
	for (size_t i = 0; i < npkgs; i++) {
		char path[PL_PATH_MAX + 1];
		snprintf(path, sizeof(path), "var/lib/dpkg/status.d/%s", pkgs[i].name);
		const struct pl__bentry *e = pl__baseimg_get(b, path);
		if (!e || !e->data)
			continue;
		cleanup_buf struct pl_buf sums = { 0 };
		int rc = pl_buf_init(&sums, PL__PKGFILES_TEXT_MAX, err);
		if (rc == 0)
			rc = conffiles_md5sums(e->data, (size_t)e->size, &sums, err);
		if (rc == 0 && sums.len)
			rc = pl__pkgfiles_add(pf, pkgs[i].name, sums.buf, sums.len, err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct pl__md5sums *m = &c->v[i];
		int rc;
		if (md5sums_package(b, m->pkg) &&
		    (rc = pl__pkgfiles_add(pf, m->pkg, m->text, m->len, err)) < 0)
			return rc;
	}
	return 0;
}
