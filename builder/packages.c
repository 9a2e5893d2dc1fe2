/*
 * packages.c - a recipe's Debian packages: the signed chain from InRelease
 * to each .deb, resolution, and installing the packages into the tree the
 * way dpkg would have left them, minus everything maintainer scripts do
 * (nothing runs): the few results an image needs are made here instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "libarchive.h"
#include "archive-util.h"
#include "aptsrc.h"
#include "baseimg.h"
#include "deb.h"
#include "deb822.h"
#include "debversion.h"
#include "fetch.h"
#include "packages.h"
#include "relation.h"
#include "release.h"
#include "resolve.h"

/*
 * Packages that only maintainer scripts use.  No script runs in a plinth
 * image, so a dependency on them counts as met without installing them
 * (listing one in `packages` still installs it).
 */
static const char *const script_only[] = {
	"adduser", "debconf", "debconf-2.0", "dpkg", "init-system-helpers", "install-info", "ucf",
};

/* What no image needs: documentation, manuals, translations. */
static const char *const default_excludes[] = {
	"/usr/share/doc",    "/usr/share/doc-base", "/usr/share/man",   "/usr/share/info",
	"/usr/share/locale", "/usr/share/lintian",  "/usr/share/linda",
};

/* Top-level directories that live under /usr in a merged-/usr system. */
static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
#define NMERGED (sizeof(merged_dirs) / sizeof(merged_dirs[0]))

static void note(const struct pl_apt_options *o, const char *fmt, ...) PL__PRINTF(2, 3);

static void note(const struct pl_apt_options *o, const char *fmt, ...)
{
	if (!o->note)
		return;
	char msg[PL_PATH_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_ctx, msg);
}

/* ---- repositories ---------------------------------------------------- */

struct repos {
	struct pl__repo *v;
	size_t n;
};

static void repos_release(struct repos *r)
{
	pl__repos_free(r->v, r->n);
	*r = (struct repos){ 0 };
}
#define cleanup_repos __attribute__((cleanup(repos_release)))

static int strv_copy(const struct pl__strv *s, char ***out, size_t *n, struct pl_error **err)
{
	if (!(*out = pl__calloc(s->n + 1, sizeof(char *), err)))
		return PL_ENOMEM;
	for (*n = 0; *n < s->n; (*n)++)
		if (!((*out)[*n] = pl__strdup(s->v[*n], err)))
			return PL_ENOMEM;
	return 0;
}

static int recipe_repo(const struct pl_recipe *r, const struct pl_apt_options *o,
		       const struct pl__repo_spec *s, struct pl__repo *out, struct pl_error **err)
{
	const char *apt_dir = o->apt_dir ? o->apt_dir : "/etc/apt";
	if (!(out->origin = pl__asprintf(err, "%s:%u:%u", r->path, s->pos.line, s->pos.col)))
		return PL_ENOMEM;
	int rc = pl__expand_vars(s->uri, o->environ, &out->uri, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "%s: 'uri'", out->origin);
	size_t n = strlen(out->uri);
	while (n > 1 && out->uri[n - 1] == '/')
		out->uri[--n] = '\0';
	if (strncmp(out->uri, "http://", 7) && strncmp(out->uri, "https://", 8) &&
	    strncmp(out->uri, "file:///", 8))
		return pl__error_set(
		    err, PL_EINVAL, 0,
		    "%s: 'uri' must start with http://, https:// or file:///, not '%s'",
		    out->origin, out->uri);
	if ((rc = strv_copy(&s->suites, &out->suites, &out->nsuites, err)) < 0 ||
	    (rc = strv_copy(&s->components, &out->components, &out->ncomponents, err)) < 0)
		return rc;
	if (!s->keyring)
		return pl__host_keyrings(apt_dir, &out->keyrings, &out->nkeyrings, err);
	if (!(out->keyrings = pl__calloc(2, sizeof(char *), err)))
		return PL_ENOMEM;
	out->keyrings[0] = s->keyring[0] == '/' ? pl__strdup(s->keyring, err)
						: pl__asprintf(err, "%s/%s", r->dir, s->keyring);
	if (!out->keyrings[0])
		return PL_ENOMEM;
	out->nkeyrings = 1;
	return 0;
}

static int repos_of(const struct pl_recipe *r, const struct pl_apt_options *o, struct repos *out,
		    struct pl_error **err)
{
	for (size_t i = 0; i < r->nrepos; i++) {
		struct pl__repo *v = NULL;
		size_t n = 0;
		int rc;
		if (r->repos[i].host) {
			rc = pl__host_repos(o->apt_dir, PL_DEB_ARCH, &v, &n, err);
			if (rc < 0)
				return pl__error_wrap(err, rc, "%s:%u:%u: 'host'", r->path,
						      r->repos[i].pos.line, r->repos[i].pos.col);
		} else {
			if (!(v = pl__calloc(1, sizeof(*v), err)))
				return PL_ENOMEM;
			n = 1;
			rc = recipe_repo(r, o, &r->repos[i], v, err);
			if (rc < 0) {
				pl__repos_free(v, n);
				return rc;
			}
		}
		size_t alloc = out->n;
		if (pl__grow(&out->v, &alloc, out->n + n, sizeof(*out->v), err) < 0) {
			pl__repos_free(v, n);
			return PL_ENOMEM;
		}
		memcpy(out->v + out->n, v, n * sizeof(*v));
		out->n += n;
		free(v);
	}
	return 0;
}

/* ---- indexes ---------------------------------------------------------- */

/* Decompress a Packages index (xz, gzip or plain) into memory. */
static int read_index(int fd, const char *name, char **out, size_t *len, struct pl_error **err)
{
	cleanup_archive_read struct archive *a = archive_read_new();
	if (!a)
		return pl__archive_failed(err);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': %s", name, archive_error_string(a));
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, PL_PACKAGES_MAX, err) < 0)
		return PL_ENOMEM;
	char chunk[1 << 16];
	la_ssize_t n;
	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
		if (pl_buf_add(&b, chunk, (size_t)n, err) < 0)
			return pl__error_wrap(err, PL_ELIMIT, "'%s'", name);
	if (n < 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': %s", name, archive_error_string(a));
	*out = pl_buf_detach(&b, len);
	return 0;
}

static bool listed(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* InRelease, or Release with Release.gpg, verified, parsed and checked. */
static int load_release(const struct pl_apt_options *o, struct pl__cache *c,
			const struct pl__repo *repo, const char *suite, struct pl__release *rel,
			struct pl_error **err)
{
	cleanup_free char *base = pl__asprintf(err, "%s/dists/%s", repo->uri, suite);
	cleanup_free char *url = base ? pl__asprintf(err, "%s/InRelease", base) : NULL;
	if (!url)
		return PL_ENOMEM;
	note(o, "fetching %s", url);
	cleanup_free char *data = NULL, *sig = NULL, *text = NULL;
	size_t len = 0, siglen = 0, textlen = 0;
	int rc = pl__fetch_mem(c, url, PL_RELEASE_MAX, &data, &len, err);
	if (rc == PL__FETCH_NOT_FOUND) {
		free(url);
		if (!(url = pl__asprintf(err, "%s/Release", base)))
			return PL_ENOMEM;
		cleanup_free char *sigurl = pl__asprintf(err, "%s/Release.gpg", base);
		if (!sigurl)
			return PL_ENOMEM;
		rc = pl__fetch_mem(c, url, PL_RELEASE_MAX, &data, &len, err);
		if (rc == 0)
			rc = pl__fetch_mem(c, sigurl, PL_RELEASE_MAX, &sig, &siglen, err);
		if (rc == PL__FETCH_NOT_FOUND)
			return pl__error_set(
			    err, PL_EINVAL, 0,
			    "%s: suite '%s' has no InRelease and no signed Release "
			    "at '%s'",
			    repo->origin, suite, base);
	}
	if (rc < 0)
		return pl__error_wrap(err, rc, "%s", repo->origin);
	rc = pl__gpgv_verify(o->gpgv, (const char *const *)repo->keyrings, repo->nkeyrings, data,
			     len, sig, siglen, url, &text, &textlen, err);
	if (rc < 0)
		return rc;
	if ((rc = pl__release_parse(url, text, textlen, rel, err)) < 0 ||
	    (rc = pl__release_check_fresh(rel, url, (int64_t)time(NULL), err)) < 0)
		return rc;
	if ((!rel->suite || strcmp(rel->suite, suite)) &&
	    (!rel->codename || strcmp(rel->codename, suite)))
		return pl__error_set(
		    err, PL_EPOLICY, 0, "'%s' is signed for suite '%s' (codename '%s'), not '%s'",
		    url, rel->suite ? rel->suite : "", rel->codename ? rel->codename : "", suite);
	if (rel->narchitectures && !listed(rel->architectures, rel->narchitectures, PL_DEB_ARCH))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' has no packages for '%s'", url,
				     PL_DEB_ARCH);
	return 0;
}

/* The Packages index of component/binary-ARCH: xz, else gzip, else plain. */
static const struct pl__release_file *index_file(const struct pl__release *rel, const char *comp,
						 const char *arch)
{
	static const char *const ext[] = { ".xz", ".gz", "" };
	char path[PL_PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/binary-%s/Packages%s", comp, arch, ext[i]);
		const struct pl__release_file *f = pl__release_find(rel, path);
		if (f)
			return f;
	}
	return NULL;
}

static int load_index(const struct pl_apt_options *o, struct pl__cache *c, struct pl__universe *u,
		      const struct pl__repo *repo, size_t ri, const char *suite,
		      const struct pl__release *rel, const struct pl__release_file *f,
		      struct pl_error **err)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(f->sha256, PL_SHA256_LEN, hex);
	cleanup_free char *url = pl__asprintf(err, "%s/dists/%s/%s", repo->uri, suite, f->path);
	cleanup_free char *dir =
	    url ? pl__strndup(url, (size_t)(strrchr(url, '/') - url), err) : NULL;
	cleanup_free char *byhash =
	    dir ? pl__asprintf(err, "%s/by-hash/SHA256/%s", dir, hex) : NULL;
	if (!byhash)
		return PL_ENOMEM;
	note(o, "fetching %s", url);
	cleanup_close int fd = -1;
	/* by-hash names stay valid while a mirror updates under us */
	int rc = 1;
	if (rel->acquire_by_hash) {
		/* mirrors do not always carry every by-hash file: fall back */
		struct pl_error *e = NULL;
		rc = pl__cache_fetch(c, byhash, f->sha256, f->size, &fd, &e);
		if (rc == PL_EDIGEST || rc == PL_ELIMIT) {
			if (err)
				*err = e;
			else
				pl_error_free(e);
			return rc;
		}
		pl_error_free(e);
	}
	if (rc != 0 && (rc = pl__cache_fetch(c, url, f->sha256, f->size, &fd, err)) < 0)
		return rc;
	char *text = NULL;
	size_t len = 0;
	if ((rc = read_index(fd, url, &text, &len, err)) < 0)
		return rc;
	return pl__universe_add_index(u, url, suite, rel->not_automatic, ri, text, len, err);
}

static int load_repo(const struct pl_apt_options *o, struct pl__cache *c, struct pl__universe *u,
		     const struct pl__repo *repo, size_t ri, struct pl_error **err)
{
	for (size_t s = 0; s < repo->nsuites; s++) {
		cleanup_release struct pl__release rel = { 0 };
		int rc = load_release(o, c, repo, repo->suites[s], &rel, err);
		if (rc < 0)
			return rc;
		for (size_t k = 0; k < repo->ncomponents; k++) {
			const char *comp = repo->components[k];
			const struct pl__release_file *f = index_file(&rel, comp, PL_DEB_ARCH);
			if (!f)
				return pl__error_set(err, PL_EINVAL, 0,
						     "%s: suite '%s' has no signed index for "
						     "'%s/binary-%s'",
						     repo->origin, repo->suites[s], comp,
						     PL_DEB_ARCH);
			if ((rc = load_index(o, c, u, repo, ri, repo->suites[s], &rel, f, err)) < 0)
				return rc;
			/* as apt: binary-all only when Architectures lists "all" */
			const struct pl__release_file *all = index_file(&rel, comp, "all");
			if (all && !rel.all_in_arch_indexes &&
			    (!rel.narchitectures ||
			     listed(rel.architectures, rel.narchitectures, "all")) &&
			    (rc = load_index(o, c, u, repo, ri, repo->suites[s], &rel, all, err)) <
				0)
				return rc;
		}
	}
	return 0;
}

static int copy_pkg(const struct pl__pkg *p, struct pl__locked *l, struct pl_error **err)
{
	if (!(l->name = pl__strdup(p->name, err)) || !(l->version = pl__strdup(p->version, err)) ||
	    !(l->arch = pl__strdup(p->arch, err)) || !(l->source = pl__strdup(p->source, err)) ||
	    !(l->filename = pl__strdup(p->filename, err)))
		return PL_ENOMEM;
	if (p->source_version && strcmp(p->source_version, p->version) &&
	    !(l->source_version = pl__strdup(p->source_version, err)))
		return PL_ENOMEM;
	l->size = p->size;
	memcpy(l->sha256, p->sha256, PL_SHA256_LEN);
	return 0;
}

/* The relationships of a package present, parsed once; name and version
 * are borrowed. */
struct rels {
	const char *name, *version;
	struct pl__pkg_rels rel;
};

struct rels_list {
	struct rels *v;
	size_t n;
};

static void rels_list_release(struct rels_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pl__pkg_rels_release(&l->v[i].rel);
	free(l->v);
	*l = (struct rels_list){ 0 };
}
#define cleanup_rels_list __attribute__((cleanup(rels_list_release)))

static int parse_rel(const char *who, const char *field, const char *text, size_t len,
		     struct pl__relations *out, struct pl_error **err)
{
	if (!text)
		return 0;
	char where[PL_PATH_MAX + 64];
	snprintf(where, sizeof(where), "%s: %s", who, field);
	return pl__relations_parse(where, text, len, out, err);
}

/* `name` and what its Provides give. */
static int add_present(struct pl__instset *s, const struct rels *r, struct pl_error **err)
{
	int rc =
	    pl__instset_add(s, r->name, r->version, r->rel.conflicts.n ? &r->rel.conflicts : NULL,
			    r->rel.breaks.n ? &r->rel.breaks : NULL, err);
	for (size_t c = 0; rc == 0 && c < r->rel.provides.n; c++)
		for (size_t a = 0; rc == 0 && a < r->rel.provides.c[c].n; a++) {
			const struct pl__rel *pr = &r->rel.provides.c[c].alt[a];
			rc = pl__instset_add_provided(
			    s, pr->name, pr->op == PL__REL_EQ ? pr->version : NULL, r->name, err);
		}
	return rc;
}

/* What counts as installed: packages only scripts use, assume-installed,
 * and the base's packages with their Provides, Conflicts and Breaks (whose
 * relations `base` holds for the set). */
struct installed {
	struct pl__instset *set;
	struct rels_list base;
};

static void installed_release(struct installed *in)
{
	pl__instset_free(in->set);
	rels_list_release(&in->base);
}

static int installed_init(struct installed *in, const struct pl_recipe *r,
			  const struct pl__baseimg *base, struct pl_error **err)
{
	int rc = pl__instset_new(PL_DEB_ARCH, &in->set, err);
	for (size_t i = 0; rc == 0 && i < sizeof(script_only) / sizeof(script_only[0]); i++)
		rc = pl__instset_add(in->set, script_only[i], NULL, NULL, NULL, err);
	for (size_t i = 0; rc == 0 && i < r->assume_installed.n; i++)
		rc = pl__instset_add(in->set, r->assume_installed.v[i], NULL, NULL, NULL, err);
	if (rc < 0 || !base)
		return rc;
	size_t n;
	const struct pl__base_pkg *pkgs = pl__baseimg_packages(base, &n);
	if (!(in->base.v = pl__calloc(n + 1, sizeof(*in->base.v), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pl__base_pkg *p = &pkgs[i];
		struct rels *br = &in->base.v[in->base.n++];
		*br = (struct rels){ .name = p->name, .version = p->version };
		char who[PL_PATH_MAX];
		snprintf(who, sizeof(who), "the base's package '%s'", p->name);
		const char *text[] = { p->provides, p->conflicts, p->breaks };
		static const char *const field[] = { "Provides", "Conflicts", "Breaks" };
		struct pl__relations *out[] = { &br->rel.provides, &br->rel.conflicts,
						&br->rel.breaks };
		for (size_t f = 0; rc == 0 && f < 3; f++)
			rc = parse_rel(who, field[f], text[f], text[f] ? strlen(text[f]) : 0,
				       out[f], err);
		if (rc < 0 || (rc = add_present(in->set, br, err)) < 0)
			return rc;
	}
	return 0;
}

/* A derived image adds packages, it does not replace the base's. */
static int check_pins(const struct pl_recipe *r, const struct pl__baseimg *base,
		      struct pl_error **err)
{
	for (size_t i = 0; base && i < r->npkgs; i++) {
		const struct pl__pkg_spec *p = &r->pkgs[i];
		const struct pl__base_pkg *b = pl__baseimg_package(base, p->name);
		if (b && p->version && pl__debver_cmp(p->version, b->version))
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u:%u: package '%s=%s': the base has version %s, "
					     "and an image cannot replace its base's packages",
					     r->path, p->pos.line, p->pos.col, p->name, p->version,
					     b->version);
	}
	return 0;
}

int pl__packages_resolve(const struct pl_recipe *r, const struct pl_apt_options *o,
			 const struct pl__baseimg *base, struct pl__lock *out,
			 struct pl_error **err)
{
	struct pl__lock l = { 0 };
	int rc = pl__lock_inputs(r, PL_DEB_ARCH, l.inputs, err);
	if (rc < 0)
		return rc;
	if (!(l.arch = pl__strdup(PL_DEB_ARCH, err)))
		return PL_ENOMEM;
	if (!r->npkgs) {
		*out = l;
		return 0;
	}
	cleanup_lock struct pl__lock guard = l;
	if ((rc = check_pins(r, base, err)) < 0)
		return rc;
	/* nothing to add to a base that has every package: no index needed */
	size_t in_base = 0;
	while (base && in_base < r->npkgs && pl__baseimg_package(base, r->pkgs[in_base].name))
		in_base++;
	if (in_base == r->npkgs) {
		*out = guard;
		guard = (struct pl__lock){ 0 };
		return 0;
	}
	if (!o->cache_dir)
		return pl__error_set(
		    err, PL_EINVAL, 0,
		    "no cache directory for Debian packages: set PLINTH_CACHE or HOME");
	cleanup_repos struct repos repos = { 0 };
	cleanup_cache struct pl__cache *c = NULL;
	cleanup_universe struct pl__universe *u = NULL;
	if ((rc = repos_of(r, o, &repos, err)) < 0 ||
	    (rc = pl__cache_open(o->cache_dir, o->cancel, &c, err)) < 0 ||
	    (rc = pl__universe_new(PL_DEB_ARCH, &u, err)) < 0)
		return rc;
	for (size_t i = 0; i < repos.n; i++)
		if ((rc = load_repo(o, c, u, &repos.v[i], i, err)) < 0)
			return rc;

	__attribute__((cleanup(installed_release))) struct installed in = { 0 };
	if ((rc = installed_init(&in, r, base, err)) < 0)
		return rc;
	cleanup_free struct pl__want *want = pl__calloc(r->npkgs, sizeof(*want), err);
	cleanup_free char *origins = pl__calloc(r->npkgs, PL_PATH_MAX, err);
	if (!want || !origins)
		return PL_ENOMEM;
	for (size_t i = 0; i < r->npkgs; i++) {
		char *origin = origins + i * PL_PATH_MAX;
		snprintf(origin, PL_PATH_MAX, "%s:%u:%u", r->path, r->pkgs[i].pos.line,
			 r->pkgs[i].pos.col);
		want[i] = (struct pl__want){ r->pkgs[i].name, r->pkgs[i].version, r->pkgs[i].suite,
					     origin };
	}
	cleanup_free const struct pl__pkg **chosen = NULL;
	size_t n = 0;
	if ((rc = pl__resolve_in(u, want, r->npkgs, in.set, &chosen, &n, err)) < 0)
		return rc;
	if (!(guard.p = pl__calloc(n + 1, sizeof(*guard.p), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((rc = copy_pkg(chosen[i], &guard.p[guard.n++], err)) < 0)
			return rc;
	*out = guard;
	guard = (struct pl__lock){ 0 };
	return 0;
}

/* ---- paths ------------------------------------------------------------- */

/*
 * fnmatch-like: '*' and '?' stay within a component, "**" crosses them.
 * Every (pattern position, string position) is tried at most once: a
 * state that failed is remembered, so stars cost O(pattern x string), not
 * the exponential time of naive backtracking.
 */
struct glob {
	const char *p0, *s0;
	size_t slen;
	uint8_t *failed; /* a bit per state */
};

static bool glob_rec(struct glob *g, const char *p, const char *s)
{
	size_t state = (size_t)(p - g->p0) * (g->slen + 1) + (size_t)(s - g->s0);
	if (g->failed[state / 8] & (1u << (state % 8)))
		return false;
	const char *p_at = p, *s_at = s;
	bool ok = false;
	for (; *p; p++, s++) {
		if (p[0] == '*' && p[1] == '*') {
			for (p += 2; *p == '*'; p++)
				;
			/* a double star before a slash also matches no directory */
			if (*p == '/' && glob_rec(g, p + 1, s)) {
				ok = true;
				goto done;
			}
			for (;; s++) {
				if (glob_rec(g, p, s)) {
					ok = true;
					goto done;
				}
				if (!*s)
					goto done;
			}
		}
		if (*p == '*') {
			for (;; s++) {
				if (glob_rec(g, p + 1, s)) {
					ok = true;
					goto done;
				}
				if (!*s || *s == '/')
					goto done;
			}
		}
		if (!*s)
			goto done;
		if (*p == '?') {
			if (*s == '/')
				goto done;
			continue;
		}
		if (*p == '[') {
			const char *q = p + 1;
			bool neg = *q == '!' || *q == '^', hit = false;
			q += neg;
			const char *start = q;
			for (; *q && (*q != ']' || q == start); q++) {
				if (q[1] == '-' && q[2] && q[2] != ']') {
					hit = hit || (*s >= q[0] && *s <= q[2]);
					q += 2;
				} else {
					hit = hit || *s == *q;
				}
			}
			if (*q == ']') {
				if (hit == neg || *s == '/')
					goto done;
				p = q;
				continue;
			}
			/* no closing bracket: a literal '[' */
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p != *s)
			goto done;
	}
	ok = !*s;
done:
	if (!ok) {
		state = (size_t)(p_at - g->p0) * (g->slen + 1) + (size_t)(s_at - g->s0);
		g->failed[state / 8] |= (uint8_t)(1u << (state % 8));
	}
	return ok;
}

#define GLOB_MEMO_STACK 4096 /* bytes of memo kept on the stack */

bool pl__glob_match(const char *pattern, const char *path)
{
	size_t plen = strlen(pattern), slen = strlen(path);
	if (plen > PL_PATH_MAX || slen > PL_PATH_MAX)
		return false;
	size_t bytes = ((plen + 1) * (slen + 1) + 7) / 8;
	uint8_t stack[GLOB_MEMO_STACK];
	uint8_t *memo = bytes <= sizeof(stack) ? stack : calloc(bytes, 1);
	if (!memo)
		return false;
	if (memo == stack)
		memset(stack, 0, bytes);
	struct glob g = { pattern, path, slen, memo };
	bool ok = glob_rec(&g, pattern, path);
	if (memo != stack)
		free(memo);
	return ok;
}

bool pl__glob_match_path(const char *pattern, const char *path)
{
	char buf[PL_PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, path, n + 1);
	for (;;) {
		if (pl__glob_match(pattern, buf))
			return true;
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return false;
		*slash = '\0';
	}
}

static bool is_merged(const char *path, size_t *which)
{
	for (size_t i = 0; i < NMERGED; i++) {
		size_t n = strlen(merged_dirs[i]);
		if (!strncmp(path, merged_dirs[i], n) && (path[n] == '/' || !path[n])) {
			*which = i;
			return true;
		}
	}
	return false;
}

/* Resolve a relative link target from `dir` (relative, may be "") to a
 * normalised relative path; the reader checked that it stays inside. */
static int resolve_target(const char *dir, const char *target, char *out, size_t size)
{
	char tmp[2 * PL_PATH_MAX + 2];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", dir, target) >= sizeof(tmp))
		return -1;
	return pl__path_normalise(tmp, out, size, true) ? 0 : -1;
}

/*
 * A link moved from old_dir to new_dir by the /usr merge must still point
 * where it did: resolve its target from where it was, merge that too, and
 * make it relative to where it is now.
 */
static char *relocated_target(const char *old_dir, const char *new_dir, const char *target,
			      struct pl_error **err)
{
	char abs[PL_PATH_MAX], merged[PL_PATH_MAX + 8];
	size_t which;
	if (resolve_target(old_dir, target, abs, sizeof(abs)) < 0)
		return pl__strdup(target, err);
	snprintf(merged, sizeof(merged), "%s%s", is_merged(abs, &which) ? "usr/" : "", abs);
	/* common leading components of new_dir and merged */
	size_t common = 0, i = 0;
	for (;; i++) {
		char a = new_dir[i], b = merged[i];
		if ((a == '/' || !a) && (b == '/' || !b))
			common = i;
		if (!a || !b || a != b)
			break;
	}
	if (!(new_dir[i] == '\0' && (merged[i] == '/' || !merged[i])))
		i = common;
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, PL_PATH_MAX, err) < 0)
		return NULL;
	/* one "../" for each component of new_dir below the common part */
	const char *up = new_dir + i + (new_dir[i] == '/');
	for (const char *d = up; *up && d; d = strchr(d + 1, '/'))
		if (pl_buf_adds(&b, "../", err) < 0)
			return NULL;
	const char *rest = merged + i + (merged[i] == '/');
	if (pl_buf_adds(&b, *rest ? rest : ".", err) < 0)
		return NULL;
	return pl_buf_detach(&b, NULL);
}

/* ---- installing ---------------------------------------------------------- */

struct ictx {
	const struct pl_recipe *r;
	const struct pl__baseimg *base;
	struct pl__tree *t;
	bool merged_used[NMERGED];
	struct pl_error **err;
};

static bool excluded(const struct ictx *c, const char *path)
{
	char abs[PL_PATH_MAX + 2];
	snprintf(abs, sizeof(abs), "/%s", path);
	for (size_t i = 0; i < sizeof(default_excludes) / sizeof(default_excludes[0]); i++)
		if (pl__glob_match_path(default_excludes[i], abs))
			return true;
	for (size_t i = 0; i < c->r->exclude.n; i++)
		if (pl__glob_match_path(c->r->exclude.v[i], abs))
			return true;
	return false;
}

static bool from_package(const struct pl__entry *e)
{
	return e->origin && !strncmp(e->origin, "package ", 8);
}

/* Two packages may share a directory, or a file with the same content. */
static int shared_ok(struct ictx *c, const char *pkg, const struct pl__entry *have,
		     const struct pl__entry *e)
{
	if (have->kind == e->kind && (e->kind == PL__DIR ||
				      (e->kind == PL__REG && have->size == e->size && have->data &&
				       !memcmp(have->data, e->data, e->size)) ||
				      (e->kind == PL__SYMLINK && !strcmp(have->target, e->target))))
		return 0;
	return pl__error_set(c->err, PL_EINVAL, 0,
			     "'/%s' is shipped by %s and by package '%s' with different content",
			     e->path, have->origin, pkg);
}

static char *merged_path(struct ictx *c, const char *path)
{
	size_t which;
	if (!is_merged(path, &which))
		return pl__strdup(path, c->err);
	c->merged_used[which] = true;
	return pl__asprintf(c->err, "usr/%s", path);
}

static char *dir_part(const char *path, struct pl_error **err)
{
	const char *slash = strrchr(path, '/');
	return slash ? pl__strndup(path, (size_t)(slash - path), err) : pl__strdup("", err);
}

static const struct pl__deb_entry *deb_find(const struct pl__deb *d, size_t before,
					    const char *path)
{
	for (size_t i = before; i-- > 0;)
		if (!strcmp(d->e[i].path, path))
			return &d->e[i];
	return NULL;
}

static int install_entry(struct ictx *c, const char *pkg, struct pl__deb *d, size_t i)
{
	struct pl__deb_entry *de = &d->e[i];
	struct pl__entry e = {
		.mode = de->mode, .uid = de->uid, .gid = de->gid, .generated = true
	};
	size_t which;
	if (de->kind == PL__DEB_SYMLINK && is_merged(de->path, &which) && !strchr(de->path, '/')) {
		/* newer base-files ship the merged-/usr links themselves */
		char want[32];
		snprintf(want, sizeof(want), "usr/%s", merged_dirs[which]);
		if (strcmp(de->target, want) && strcmp(de->target + (de->target[0] == '/'), want))
			return pl__error_set(c->err, PL_EINVAL, 0,
					     "package '%s': '/%s' is a link to '%s', not to '/%s'",
					     pkg, de->path, de->target, want);
		c->merged_used[which] = true;
		return 0;
	}
	cleanup_free char *path = merged_path(c, de->path);
	if (!path)
		return PL_ENOMEM;
	if (excluded(c, de->path) || excluded(c, path))
		return 0;
	/* hardened by default: no setuid or setgid programs from packages */
	if (de->kind == PL__DEB_REG || de->kind == PL__DEB_HARDLINK)
		e.mode &= ~(uint32_t)06000;
	switch (de->kind) {
	case PL__DEB_DIR:
		e.kind = PL__DIR;
		break;
	case PL__DEB_REG:
		e.kind = PL__REG;
		e.size = de->size;
		e.data = de->data; /* stolen below, once nothing can fail */
		break;
	case PL__DEB_SYMLINK:
		e.kind = PL__SYMLINK;
		if (de->target[0] != '/' && strcmp(path, de->path)) {
			cleanup_free char *od = dir_part(de->path, c->err);
			cleanup_free char *nd = dir_part(path, c->err);
			if (!od || !nd ||
			    !(e.target = relocated_target(od, nd, de->target, c->err)))
				return PL_ENOMEM;
		} else if (!(e.target = pl__strdup(de->target, c->err))) {
			return PL_ENOMEM;
		}
		break;
	case PL__DEB_HARDLINK: {
		/* a layer has no hard links between packages' files: copy */
		const struct pl__deb_entry *to = deb_find(d, i, de->target);
		if (!to || to->kind != PL__DEB_REG)
			return pl__error_set(c->err, PL_EINVAL, 0,
					     "package '%s': '%s' is a hard link to '%s', which it "
					     "does not ship",
					     pkg, de->path, de->target);
		/* its content is in the tree now, unless it was left out */
		const char *src = to->data;
		if (!src) {
			cleanup_free char *tp = merged_path(c, to->path);
			const struct pl__entry *te = tp ? pl__tree_get(c->t, tp) : NULL;
			if (!tp)
				return PL_ENOMEM;
			if (!te || te->kind != PL__REG || !te->data || te->size != to->size)
				return pl__error_set(c->err, PL_EINVAL, 0,
						     "package '%s': '%s' is a hard link to '%s', "
						     "which another package replaced",
						     pkg, de->path, de->target);
			src = te->data;
		}
		e.kind = PL__REG;
		e.size = to->size;
		if (!(e.data = malloc(to->size ? to->size : 1)))
			return pl__error_nomem(c->err);
		memcpy(e.data, src, to->size);
		break;
	}
	}
	e.path = path;
	const struct pl__entry *have = pl__tree_get(c->t, path);
	/* 1: add it; 0: another package ships the same; < 0: an error */
	int rc = have && from_package(have) ? shared_ok(c, pkg, have, &e) : 1;
	if (rc == 1 && !(e.origin = pl__asprintf(c->err, "package '%s'", pkg)))
		rc = PL_ENOMEM;
	if (rc <= 0) {
		free(e.target);
		if (de->kind == PL__DEB_HARDLINK)
			free(e.data);
		return rc;
	}
	if (de->kind == PL__DEB_REG)
		de->data = NULL;
	e.path = steal_pointer(&path);
	return pl__tree_add(c->t, &e, c->err);
}

static int add_meta(struct ictx *c, const char *pkg, const char *suffix, const char *text,
		    size_t len)
{
	struct pl__entry e = { .kind = PL__REG, .mode = 0644, .generated = true };
	bool nl = len && text[len - 1] != '\n';
	e.path = pl__asprintf(c->err, "var/lib/dpkg/status.d/%s%s", pkg, suffix);
	e.origin = pl__asprintf(c->err, "package '%s'", pkg);
	e.data = malloc(len + nl + 1);
	if (!e.path || !e.origin || !e.data) {
		free(e.path);
		free(e.origin);
		free(e.data);
		return pl__error_nomem(c->err);
	}
	memcpy(e.data, text, len);
	if (nl)
		e.data[len] = '\n';
	e.size = len + nl;
	return pl__tree_add(c->t, &e, c->err);
}

/* The control file must describe the package the lock pins; what it
 * needs and provides goes to `rels`. */
static int read_control_text(const struct pl__locked *p, const char *text, size_t len,
			     const char *name, struct rels *rels, struct pl_error **err)
{
	struct pl__deb822 dd;
	cleanup_para struct pl__para para = { 0 };
	cleanup_free char *where = pl__asprintf(err, "%s: control", name);
	if (!where)
		return PL_ENOMEM;
	pl__deb822_init(&dd, where, text, len);
	int rc = pl__deb822_next(&dd, &para, err);
	if (rc < 0)
		return rc;
	const struct pl__field *pk = rc ? pl__para_get(&para, "Package") : NULL;
	const struct pl__field *ver = rc ? pl__para_get(&para, "Version") : NULL;
	if (!pk || !ver || pk->value_len != strlen(p->name) ||
	    memcmp(pk->value, p->name, pk->value_len) || ver->value_len != strlen(p->version) ||
	    memcmp(ver->value, p->version, ver->value_len))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: its control file does not describe '%s' %s", name,
				     p->name, p->version);
	static const char *const field[] = { "Pre-Depends", "Depends", "Provides", "Conflicts",
					     "Breaks" };
	struct pl__relations *out[] = { &rels->rel.pre, &rels->rel.dep, &rels->rel.provides,
					&rels->rel.conflicts, &rels->rel.breaks };
	*rels = (struct rels){ .name = p->name, .version = p->version };
	for (size_t i = 0; rc >= 0 && i < sizeof(field) / sizeof(*field); i++) {
		const struct pl__field *f = pl__para_get(&para, field[i]);
		if (f)
			rc = parse_rel(where, field[i], f->value, f->value_len, out[i], err);
	}
	return rc < 0 ? rc : 0;
}

static int read_control(const struct pl__locked *p, const struct pl__deb *d, const char *name,
			struct rels *rels, struct pl_error **err)
{
	return read_control_text(p, d->control, d->control_len, name, rels, err);
}

/* The entry of `d` at the absolute `path` (n bytes), or NULL. */
static const struct pl__deb_entry *deb_entry(const struct pl__deb *d, const char *path, size_t n)
{
	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->e[i].path) == n - 1 && !memcmp(d->e[i].path, path + 1, n - 1))
			return &d->e[i];
	return NULL;
}

/*
 * The package's status paragraph: its control file and, as dpkg's status
 * has it, a Conffiles field listing each configuration file the package
 * ships with the MD5 of its content.  md5sums leaves conffiles out, so
 * without this field scanners would take /etc/services and the like for
 * files no package owns.  Conffiles the package does not ship (flagged
 * remove-on-upgrade, or absent) are left out.
 */
static int status_text(const struct pl__deb *d, struct pl_buf *out, struct pl_error **err)
{
	if (pl_buf_add(out, d->control, d->control_len, err) < 0)
		return PL_ENOMEM;
	while (out->len && out->buf[out->len - 1] == '\n')
		out->len--;
	if (pl_buf_adds(out, "\n", err) < 0)
		return PL_ENOMEM;
	bool any = false;
	const char *p = d->conffiles, *end = p ? p + d->conffiles_len : NULL;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		const struct pl__deb_entry *e =
		    n && p[0] == '/' && !memchr(p, ' ', n) && !memchr(p, '\t', n)
			? deb_entry(d, p, n)
			: NULL;
		if (e && e->kind == PL__DEB_REG) {
			uint8_t md5[16];
			char hex[33];
			unsigned int len = sizeof(md5);
			if (EVP_Digest(e->data, e->size, md5, &len, EVP_md5(), NULL) != 1)
				return pl__error_nomem(err);
			pl__hex(md5, sizeof(md5), hex);
			if ((!any && pl_buf_adds(out, "Conffiles:\n", err) < 0) ||
			    pl_buf_addf(out, err, " /%s %s\n", e->path, hex) < 0)
				return PL_ENOMEM;
			any = true;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int install_deb(struct ictx *c, const struct pl__locked *p, const char *data, size_t len,
		       struct rels *rels)
{
	cleanup_free char *name =
	    pl__asprintf(c->err, "%s_%s_%s.deb", p->name, p->version, p->arch);
	if (!name)
		return PL_ENOMEM;
	cleanup_deb struct pl__deb d = { 0 };
	int rc = pl__deb_read(data, len, name, &d, c->err);
	if (rc == 0)
		rc = read_control(p, &d, name, rels, c->err);
	/* before the entries' content moves into the tree */
	cleanup_buf struct pl_buf status = { 0 };
	if (rc == 0 && pl_buf_init(&status, 0, c->err) < 0)
		rc = PL_ENOMEM;
	if (rc == 0)
		rc = status_text(&d, &status, c->err);
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		rc = install_entry(c, p->name, &d, i);
	if (rc == 0)
		rc = add_meta(c, p->name, "", status.buf, status.len);
	if (rc == 0 && d.md5sums)
		rc = add_meta(c, p->name, ".md5sums", d.md5sums, d.md5sums_len);
	return rc;
}

static int add_link(struct ictx *c, const char *path, const char *target)
{
	struct pl__entry e = { .kind = PL__SYMLINK, .mode = 0777, .generated = true };
	e.path = pl__strdup(path, c->err);
	e.target = pl__strdup(target, c->err);
	e.origin = pl__strdup("package merged /usr", c->err);
	if (!e.path || !e.target || !e.origin) {
		free(e.path);
		free(e.target);
		free(e.origin);
		return PL_ENOMEM;
	}
	return pl__tree_add(c->t, &e, c->err);
}

static int merge_usr(struct ictx *c)
{
	char target[32];
	for (size_t i = 0; i < NMERGED; i++) {
		/* bin, sbin and lib always exist in a Debian system */
		if (!c->merged_used[i] && i > 2)
			continue;
		snprintf(target, sizeof(target), "usr/%s", merged_dirs[i]);
		int rc = add_link(c, merged_dirs[i], target);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct cert {
	const char *path, *data;
	uint64_t size;
};

static int cmp_cert(const void *a, const void *b)
{
	return strcmp(((const struct cert *)a)->path, ((const struct cert *)b)->path);
}

/*
 * /etc/ssl/certs/ca-certificates.crt as update-ca-certificates writes it
 * on a fresh install: every certificate under /usr/share/ca-certificates in
 * the byte order of their names (ca-certificates.conf's order), each
 * followed by a newline when it lacks one.
 */
struct certs {
	struct cert *v;
	size_t n, alloc;
	struct pl__tree *t;
	bool nomem;
};

/* A certificate of the base's, unless this layer replaces it. */
static void base_cert(void *ctx, const struct pl__bentry *e)
{
	static const char dir[] = "usr/share/ca-certificates/";
	struct certs *cs = ctx;
	if (e->kind != PL__B_REG || !e->data || strncmp(e->path, dir, sizeof(dir) - 1) ||
	    pl__tree_get(cs->t, e->path))
		return;
	if (cs->n == cs->alloc &&
	    pl__grow(&cs->v, &cs->alloc, cs->n + 1, sizeof(*cs->v), NULL) < 0) {
		cs->nomem = true;
		return;
	}
	cs->v[cs->n++] = (struct cert){ e->path, e->data, e->size };
}

static int ca_bundle(struct ictx *c)
{
	static const char dir[] = "usr/share/ca-certificates/";
	if (!pl__tree_get(c->t, "usr/share/ca-certificates"))
		return 0;
	size_t total = pl__tree_count(c->t), n = 0;
	/* the base's: only what is below the directory is asked for */
	struct certs bc = { .t = c->t };
	if (c->base)
		pl__baseimg_under(c->base, dir, base_cert, &bc);
	cleanup_free struct cert *base_certs = bc.v;
	if (bc.nomem)
		return pl__error_nomem(c->err);
	size_t nbase = bc.n;
	cleanup_free struct cert *certs = pl__calloc(total + nbase + 1, sizeof(*certs), c->err);
	if (!certs)
		return PL_ENOMEM;
	for (size_t i = 0; i < total; i++) {
		const struct pl__entry *e = pl__tree_at(c->t, i);
		size_t len = strlen(e->path);
		if (e->kind == PL__REG && e->data && !strncmp(e->path, dir, sizeof(dir) - 1) &&
		    len > 4 && !strcmp(e->path + len - 4, ".crt"))
			certs[n++] = (struct cert){ e->path, e->data, e->size };
	}
	for (size_t i = 0; i < nbase; i++)
		certs[n++] = base_certs[i];
	qsort(certs, n, sizeof(*certs), cmp_cert);
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, c->err) < 0)
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (pl_buf_add(&b, certs[i].data, certs[i].size, c->err) < 0 ||
		    (certs[i].size && certs[i].data[certs[i].size - 1] != '\n' &&
		     pl_buf_add(&b, "\n", 1, c->err) < 0))
			return PL_ENOMEM;
	struct pl__entry e = { .kind = PL__REG, .mode = 0644, .generated = true };
	e.path = pl__strdup("etc/ssl/certs/ca-certificates.crt", c->err);
	e.origin = pl__strdup("package 'ca-certificates'", c->err);
	if (!e.path || !e.origin) {
		free(e.path);
		free(e.origin);
		return PL_ENOMEM;
	}
	size_t len;
	e.data = pl_buf_detach(&b, &len);
	e.size = len;
	return pl__tree_add(c->t, &e, c->err);
}

static int read_all(int fd, uint64_t size, const char *name, char **out, struct pl_error **err)
{
	if (size > PL_DEB_CONTENT_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s' is too large", name);
	cleanup_free char *buf = malloc(size ? size : 1);
	if (!buf)
		return pl__error_nomem(err);
	for (uint64_t got = 0; got < size;) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pl__error_set(err, PL_ESYS, n < 0 ? errno : EIO, "cannot read '%s'",
					     name);
		got += (uint64_t)n;
	}
	*out = steal_pointer(&buf);
	return 0;
}

/* The .deb of `p`: from the cache, else from the first repository that
 * has it. */
static int get_deb(const struct pl_recipe *r, const struct pl_apt_options *o,
		   struct pl__cache *cache, struct repos *repos, const struct pl__locked *p,
		   int *fd, struct pl_error **err)
{
	int rc = pl__cache_get(cache, p->sha256, p->size, fd, err);
	if (rc < 0 || *fd >= 0)
		return rc;
	if (!repos->v && (rc = repos_of(r, o, repos, err)) < 0)
		return rc;
	struct pl_error *first = NULL;
	for (size_t i = 0; i < repos->n; i++) {
		cleanup_free char *url = pl__asprintf(err, "%s/%s", repos->v[i].uri, p->filename);
		if (!url) {
			pl_error_free(first);
			return PL_ENOMEM;
		}
		note(o, "fetching %s", url);
		struct pl_error *e = NULL;
		rc = pl__cache_fetch(cache, url, p->sha256, p->size, fd, &e);
		if (rc == 0) {
			pl_error_free(first);
			return 0;
		}
		/* a digest mismatch is an attack or a broken mirror: say so */
		if (rc == PL_EDIGEST || rc == PL_ELIMIT || !first) {
			pl_error_free(first);
			first = e;
		} else {
			pl_error_free(e);
		}
		if (rc == PL_EDIGEST || rc == PL_ELIMIT)
			break;
	}
	if (!first)
		return pl__error_set(err, PL_EINVAL, 0,
				     "package '%s': no repository to fetch it from", p->name);
	rc = pl_error_code(first);
	if (err)
		*err = first;
	else
		pl_error_free(first);
	return pl__error_wrap(err, rc, "package '%s' %s", p->name, p->version);
}

/* The first Conflicts or Breaks of `p` that something in `s` meets, NULL. */
static const struct pl__clause *conflict_in(const struct pl__instset *s, const struct rels *p)
{
	const struct pl__relations *rels[] = { &p->rel.conflicts, &p->rel.breaks };
	for (size_t f = 0; f < 2; f++)
		for (size_t k = 0; k < rels[f]->n; k++)
			for (size_t a = 0; a < rels[f]->c[k].n; a++)
				if (pl__instset_satisfies(s, &rels[f]->c[k].alt[a]))
					return &rels[f]->c[k];
	return NULL;
}

/*
 * Nor may a package of a newer base conflict with (or break) one the lock
 * pins, or the other way round: the two sets, each with its Provides,
 * are checked against each other.
 */
static int check_pinned_conflicts(const struct pl_recipe *r, const struct pl__lock *l,
				  const struct rels_list *base, const char *base_ref,
				  const struct rels_list *pinned, struct pl_error **err)
{
	cleanup_instset struct pl__instset *bset = NULL, *pset = NULL;
	int rc = pl__instset_new(PL_DEB_ARCH, &bset, err);
	if (rc == 0)
		rc = pl__instset_new(PL_DEB_ARCH, &pset, err);
	for (size_t i = 0; rc == 0 && i < base->n; i++)
		rc = add_present(bset, &base->v[i], err);
	for (size_t i = 0; rc == 0 && i < pinned->n; i++)
		rc = add_present(pset, &pinned->v[i], err);
	if (rc < 0)
		return rc;
	for (size_t side = 0; side < 2; side++) {
		const struct rels_list *these = side ? base : pinned;
		for (size_t i = 0; i < these->n; i++) {
			const struct pl__clause *cl = conflict_in(side ? pset : bset, &these->v[i]);
			if (!cl)
				continue;
			cleanup_buf struct pl_buf b = { 0 };
			if (pl_buf_init(&b, 0, err) < 0 || pl__clause_text(cl, &b, err) < 0)
				return PL_ENOMEM;
			if (side)
				return pl__error_set(
				    err, PL_EPOLICY, 0,
				    "lock '%s' is stale: package '%s' of the base '%s' conflicts "
				    "with '%s', which the lock pins: run 'plinth lock %s'",
				    l->path, these->v[i].name, base_ref, b.buf, r->path);
			return pl__error_set(
			    err, PL_EPOLICY, 0,
			    "lock '%s' is stale: package '%s' conflicts with '%s', "
			    "which the base '%s' has: run 'plinth lock %s'",
			    l->path, these->v[i].name, b.buf, base_ref, r->path);
		}
	}
	return 0;
}

/*
 * A lock read from a file on a base whose packages changed since it was
 * made may pin a package without what it needs: every Pre-Depends and
 * Depends of the packages installed from it must be met by them, the base
 * or what counts as installed.
 */
static int check_pinned(const struct pl_recipe *r, const struct pl__lock *l,
			const struct pl__baseimg *base, const char *base_ref,
			const struct rels_list *pinned, struct pl_error **err)
{
	__attribute__((cleanup(installed_release))) struct installed in = { 0 };
	int rc = installed_init(&in, r, base, err);
	for (size_t i = 0; rc == 0 && i < pinned->n; i++)
		rc = add_present(in.set, &pinned->v[i], err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < pinned->n; i++) {
		const struct rels *p = &pinned->v[i];
		const struct pl__relations *deps[] = { &p->rel.pre, &p->rel.dep };
		for (size_t d = 0; d < 2; d++)
			for (size_t k = 0; k < deps[d]->n; k++) {
				const struct pl__clause *cl = &deps[d]->c[k];
				bool met = false;
				for (size_t a = 0; !met && a < cl->n; a++)
					met = pl__instset_satisfies(in.set, &cl->alt[a]);
				if (met)
					continue;
				cleanup_buf struct pl_buf b = { 0 };
				if (pl_buf_init(&b, 0, err) < 0 || pl__clause_text(cl, &b, err) < 0)
					return PL_ENOMEM;
				return pl__error_set(
				    err, PL_EPOLICY, 0,
				    "lock '%s' is stale: package '%s' depends on "
				    "'%s', which neither the lock nor the base '%s' "
				    "provides: run 'plinth lock %s'",
				    l->path, p->name, b.buf, base_ref, r->path);
			}
	}
	return check_pinned_conflicts(r, l, &in.base, base_ref, pinned, err);
}

int pl__packages_install(const struct pl_recipe *r, const struct pl__lock *l,
			 const struct pl_apt_options *o, const struct pl__baseimg *base,
			 const char *base_ref, struct pl__tree *t, size_t *installed,
			 struct pl_error **err)
{
	*installed = 0;
	for (size_t i = 0; i < l->n; i++)
		*installed += !(base && pl__baseimg_package(base, l->p[i].name));
	if (!*installed)
		return 0;
	if (!o->cache_dir)
		return pl__error_set(
		    err, PL_EINVAL, 0,
		    "no cache directory for Debian packages: set PLINTH_CACHE or HOME");
	cleanup_cache struct pl__cache *cache = NULL;
	cleanup_repos struct repos repos = { 0 };
	int rc = pl__cache_open(o->cache_dir, o->cancel, &cache, err);
	if (rc < 0)
		return rc;
	struct ictx c = { .r = r, .base = base, .t = t, .err = err };
	cleanup_rels_list struct rels_list pinned = { 0 };
	if (!(pinned.v = pl__calloc(*installed, sizeof(*pinned.v), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct pl__locked *p = &l->p[i];
		/* the base's, even when the lock was made before it had it */
		if (base && pl__baseimg_package(base, p->name))
			continue;
		cleanup_close int fd = -1;
		cleanup_free char *data = NULL;
		if ((rc = pl__check_cancel(o->cancel, err)) < 0 ||
		    (rc = get_deb(r, o, cache, &repos, p, &fd, err)) < 0 ||
		    (rc = read_all(fd, p->size, p->filename, &data, err)) < 0 ||
		    (rc = install_deb(&c, p, data, p->size, &pinned.v[pinned.n++])) < 0)
			return rc;
	}
	/* pass or fail, never part of the layer: a build that takes this layer
	 * from the cache makes the check itself (pl__packages_check_pinned) */
	if (base && l->path) {
		bool was = pl__baseimg_trace_pause(base, true);
		rc = check_pinned(r, l, base, base_ref, &pinned, err);
		pl__baseimg_trace_pause(base, was);
		if (rc < 0)
			return rc;
	}
	if ((rc = merge_usr(&c)) < 0)
		return rc;
	return ca_bundle(&c);
}

int pl__packages_check_pinned(const struct pl_recipe *r, const struct pl__lock *l,
			      const struct pl__baseimg *base, const char *base_ref,
			      const char *const *controls, size_t n, struct pl_error **err)
{
	cleanup_rels_list struct rels_list pinned = { 0 };
	if (!(pinned.v = pl__calloc(n + 1, sizeof(*pinned.v), err)))
		return PL_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < l->n && pinned.n < n; i++) {
		const struct pl__locked *p = &l->p[i];
		if (pl__baseimg_package(base, p->name))
			continue;
		cleanup_free char *name =
		    pl__asprintf(err, "%s_%s_%s.deb", p->name, p->version, p->arch);
		if (!name)
			return PL_ENOMEM;
		/* a paragraph that is not this package's: not what a build of
		 * this lock kept, so not a layer to take */
		struct pl_error *e = NULL;
		int rc = read_control_text(p, controls[k], strlen(controls[k]), name,
					   &pinned.v[pinned.n++], &e);
		pl_error_free(e);
		k++;
		if (rc == PL_ENOMEM)
			return pl__error_nomem(err);
		if (rc < 0)
			return PL__PINNED_FOREIGN;
	}
	if (k != n)
		return PL__PINNED_FOREIGN;
	return check_pinned(r, l, base, base_ref, &pinned, err);
}
