/*
 * resolve.c - Packages indexes in memory and dependency resolution.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deb822.h"
#include "debversion.h"
#include "resolve.h"

/* ---- a string-keyed hash map of indexes ------------------------------ */

struct smap {
	const char **key;
	size_t *val;
	size_t n, nslots; /* nslots: 0 or a power of two */
};

static void smap_release(struct smap *m)
{
	free(m->key);
	free(m->val);
	*m = (struct smap){ 0 };
}

static size_t *smap_find(const struct smap *m, const char *key)
{
	if (!m->nslots)
		return NULL;
	for (size_t i = pl__str_hash(key) & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
		if (!m->key[i])
			return NULL;
		if (!strcmp(m->key[i], key))
			return &m->val[i];
	}
}

/* Set key (kept by reference) to val, replacing an existing value. */
static int smap_put(struct smap *m, const char *key, size_t val, struct pl_error **err)
{
	size_t *have = smap_find(m, key);
	if (have) {
		*have = val;
		return 0;
	}
	if ((m->n + 1) * 2 > m->nslots) {
		size_t ns = m->nslots ? m->nslots * 2 : 64;
		struct smap bigger = { pl__calloc(ns, sizeof(char *), err),
				       pl__calloc(ns, sizeof(size_t), err), 0, ns };
		if (!bigger.key || !bigger.val) {
			smap_release(&bigger);
			return PL_ENOMEM;
		}
		for (size_t i = 0; i < m->nslots; i++)
			if (m->key[i])
				(void)smap_put(&bigger, m->key[i], m->val[i], err);
		smap_release(m);
		*m = bigger;
	}
	size_t i = pl__str_hash(key) & (m->nslots - 1);
	while (m->key[i])
		i = (i + 1) & (m->nslots - 1);
	m->key[i] = key;
	m->val[i] = val;
	m->n++;
	return 0;
}

/* ---- the universe ------------------------------------------------------ */

#define NONE SIZE_MAX

struct upkg {
	struct pl__pkg p;
	size_t next; /* the next version of the same name, or NONE */
	bool parsed;
	struct pl__pkg_rels rel;
};

struct provider {
	size_t pkg;
	const char *version; /* provided version, or NULL */
	size_t next;         /* next provider of the same name, or NONE */
};

struct pl__universe {
	char *arch;
	struct upkg *v;
	size_t n, alloc;
	struct smap by_name; /* name -> first version */
	char **texts;
	size_t ntexts, texts_alloc;
	char **names; /* index names, for messages */
	size_t nnames, names_alloc;
	/* built at the first resolution */
	bool have_providers;
	struct provider *prov;
	size_t nprov, prov_alloc;
	struct smap providers; /* virtual name -> first provider */
};

int pl__universe_new(const char *arch, struct pl__universe **out, struct pl_error **err)
{
	struct pl__universe *u = pl__calloc(1, sizeof(*u), err);
	if (!u)
		return PL_ENOMEM;
	if (!(u->arch = pl__strdup(arch, err))) {
		free(u);
		return PL_ENOMEM;
	}
	*out = u;
	return 0;
}

void pl__pkg_rels_release(struct pl__pkg_rels *r)
{
	pl__relations_release(&r->pre);
	pl__relations_release(&r->dep);
	pl__relations_release(&r->conflicts);
	pl__relations_release(&r->breaks);
	pl__relations_release(&r->provides);
}

static void upkg_release(struct upkg *p)
{
	pl__pkg_rels_release(&p->rel);
}

void pl__universe_free(struct pl__universe *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		upkg_release(&u->v[i]);
	free(u->v);
	for (size_t i = 0; i < u->ntexts; i++)
		free(u->texts[i]);
	free(u->texts);
	for (size_t i = 0; i < u->nnames; i++)
		free(u->names[i]);
	free(u->names);
	free(u->prov);
	smap_release(&u->by_name);
	smap_release(&u->providers);
	free(u->arch);
	free(u);
}

void pl__universe_freep(struct pl__universe **u)
{
	pl__universe_free(*u);
}

size_t pl__universe_count(const struct pl__universe *u)
{
	return u->n;
}

/* A field's value, terminated in place: the index text is ours, and the
 * byte after a value is the newline (or blank) that ended it. */
static const char *take(const struct pl__para *para, const char *name)
{
	const struct pl__field *f = pl__para_get(para, name);
	if (!f)
		return NULL;
	char *v = (char *)f->value;
	v[f->value_len] = '\0';
	return v;
}

static int para_fail(struct pl_error **err, const char *index, const struct pl__para *para,
		     const char *field, const char *why)
{
	const struct pl__field *f = pl__para_get(para, field);
	return pl__error_set(err, PL_EINVAL, 0, "%s:%u:1: '%s' %s", index, f ? f->line : para->line,
			     field, why);
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* "glibc" or "glibc (2.36-9)" */
static int split_source(char *s, const char **name, const char **version)
{
	char *sp = strchr(s, ' ');
	*name = s;
	*version = NULL;
	if (!sp)
		return 0;
	*sp++ = '\0';
	size_t n = strlen(sp);
	if (n < 3 || sp[0] != '(' || sp[n - 1] != ')')
		return -1;
	sp[n - 1] = '\0';
	*version = sp + 1;
	return 0;
}

static int add_pkg(struct pl__universe *u, const char *index, const char *suite, bool not_automatic,
		   size_t repo, const struct pl__para *para, struct pl_error **err)
{
	static const char *const required[] = { "Package",  "Version", "Architecture",
						"Filename", "Size",    "SHA256" };
	const char *val[6];
	for (size_t i = 0; i < 6; i++)
		if (!(val[i] = take(para, required[i])))
			return pl__error_set(err, PL_EINVAL, 0, "%s:%u:1: package without '%s'",
					     index, para->line, required[i]);
	if (strcmp(val[2], u->arch) && strcmp(val[2], "all"))
		return 0;
	struct upkg p = { .next = NONE };
	p.p.name = val[0];
	p.p.version = val[1];
	p.p.arch = val[2];
	p.p.filename = val[3];
	p.p.suite = suite;
	p.p.not_automatic = not_automatic;
	p.p.repo = repo;
	p.p.line = para->line;
	p.p.index_name = index;
	const char *why;
	if (!pl__debname_valid(p.p.name))
		return para_fail(err, index, para, "Package", "is not a valid package name");
	if (!pl__debver_valid(p.p.version, &why)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "is invalid: %s", why);
		return para_fail(err, index, para, "Version", msg);
	}
	if (!pl__pool_path_valid(p.p.filename))
		return para_fail(err, index, para, "Filename", "is not a relative path");
	char *end;
	errno = 0;
	unsigned long long size = strtoull(val[4], &end, 10);
	if (!all_digits(val[4]) || errno || *end)
		return para_fail(err, index, para, "Size", "is not a number");
	p.p.size = size;
	if (!pl__hex_sha256(val[5], p.p.sha256) || strlen(val[5]) != 64)
		return para_fail(err, index, para, "SHA256", "is not 64 hex digits");
	char *src = (char *)take(para, "Source");
	if (src) {
		if (split_source(src, &p.p.source, &p.p.source_version) < 0 ||
		    !pl__debname_valid(p.p.source) ||
		    (p.p.source_version && !pl__debver_valid(p.p.source_version, &why)))
			return para_fail(err, index, para, "Source", "is not 'NAME [(VERSION)]'");
	} else {
		p.p.source = p.p.name;
	}
	p.p.multi_arch = take(para, "Multi-Arch");
	p.p.depends = take(para, "Depends");
	p.p.pre_depends = take(para, "Pre-Depends");
	p.p.conflicts = take(para, "Conflicts");
	p.p.breaks = take(para, "Breaks");
	p.p.provides = take(para, "Provides");

	if (pl__grow(&u->v, &u->alloc, u->n + 1, sizeof(*u->v), err) < 0)
		return PL_ENOMEM;
	size_t *first = smap_find(&u->by_name, p.p.name);
	if (first) {
		p.next = *first;
		*first = u->n;
	} else if (smap_put(&u->by_name, p.p.name, u->n, err) < 0) {
		return PL_ENOMEM;
	}
	u->v[u->n++] = p;
	u->have_providers = false;
	return 0;
}

int pl__universe_add_index(struct pl__universe *u, const char *name, const char *suite,
			   bool not_automatic, size_t repo, char *text, size_t len,
			   struct pl_error **err)
{
	cleanup_free char *owned = text;
	if (pl__grow(&u->texts, &u->texts_alloc, u->ntexts + 1, sizeof(char *), err) < 0 ||
	    pl__grow(&u->names, &u->names_alloc, u->nnames + 1, sizeof(char *), err) < 0)
		return PL_ENOMEM;
	char *iname = pl__strdup(name, err);
	if (!iname)
		return PL_ENOMEM;
	u->names[u->nnames++] = iname;
	u->texts[u->ntexts++] = steal_pointer(&owned);

	struct pl__deb822 d;
	struct pl__para para = { 0 };
	pl__deb822_init(&d, iname, text, len);
	int rc;
	while ((rc = pl__deb822_next(&d, &para, err)) > 0)
		if ((rc = add_pkg(u, iname, suite, not_automatic, repo, &para, err)) < 0)
			break;
	pl__para_release(&para);
	return rc < 0 ? rc : 0;
}

/* ---- relationships, parsed on demand ----------------------------------- */

static int parse_rel(const struct upkg *p, const char *field, const char *text,
		     struct pl__relations *out, struct pl_error **err)
{
	if (!text)
		return 0;
	char where[512];
	snprintf(where, sizeof(where), "%s:%u: %s '%s'", p->p.index_name, p->p.line, field,
		 p->p.name);
	return pl__relations_parse(where, text, strlen(text), out, err);
}

static int ensure_parsed(struct upkg *p, struct pl_error **err)
{
	if (p->parsed)
		return 0;
	int rc = parse_rel(p, "Pre-Depends", p->p.pre_depends, &p->rel.pre, err);
	if (rc == 0)
		rc = parse_rel(p, "Depends", p->p.depends, &p->rel.dep, err);
	if (rc == 0)
		rc = parse_rel(p, "Conflicts", p->p.conflicts, &p->rel.conflicts, err);
	if (rc == 0)
		rc = parse_rel(p, "Breaks", p->p.breaks, &p->rel.breaks, err);
	if (rc == 0)
		rc = parse_rel(p, "Provides", p->p.provides, &p->rel.provides, err);
	if (rc < 0) {
		upkg_release(p); /* a later call starts afresh */
		return rc;
	}
	p->parsed = true;
	return 0;
}

static int build_providers(struct pl__universe *u, struct pl_error **err)
{
	if (u->have_providers)
		return 0;
	smap_release(&u->providers);
	u->nprov = 0;
	for (size_t i = 0; i < u->n; i++) {
		struct upkg *p = &u->v[i];
		if (!p->p.provides)
			continue;
		int rc = ensure_parsed(p, err);
		if (rc < 0)
			return rc;
		for (size_t c = 0; c < p->rel.provides.n; c++) {
			for (size_t a = 0; a < p->rel.provides.c[c].n; a++) {
				const struct pl__rel *r = &p->rel.provides.c[c].alt[a];
				if (pl__grow(&u->prov, &u->prov_alloc, u->nprov + 1,
					     sizeof(*u->prov), err) < 0)
					return PL_ENOMEM;
				struct provider pv = { i, r->op == PL__REL_EQ ? r->version : NULL,
						       NONE };
				size_t *first = smap_find(&u->providers, r->name);
				if (first) {
					pv.next = *first;
					*first = u->nprov;
				} else if (smap_put(&u->providers, r->name, u->nprov, err) < 0) {
					return PL_ENOMEM;
				}
				u->prov[u->nprov++] = pv;
			}
		}
	}
	u->have_providers = true;
	return 0;
}

/* ---- what is present before resolution --------------------------------- */

struct present {
	const char *name, *version;
	const char *by; /* the package whose Provides gives it; NULL for a package */
	const struct pl__relations *conflicts, *breaks;
	size_t prev; /* the entry before it with the same name, or NONE */
};

struct pl__instset {
	const char *arch;
	struct present *v;
	size_t n, alloc;
	struct smap last; /* name -> the last entry with that name */
};

int pl__instset_new(const char *arch, struct pl__instset **out, struct pl_error **err)
{
	if (!(*out = pl__calloc(1, sizeof(**out), err)))
		return PL_ENOMEM;
	(*out)->arch = arch;
	return 0;
}

void pl__instset_free(struct pl__instset *s)
{
	if (!s)
		return;
	free(s->v);
	smap_release(&s->last);
	free(s);
}

void pl__instset_freep(struct pl__instset **s)
{
	pl__instset_free(*s);
}

static int present_add(struct pl__instset *s, struct present p, struct pl_error **err)
{
	if (pl__grow(&s->v, &s->alloc, s->n + 1, sizeof(*s->v), err) < 0)
		return PL_ENOMEM;
	size_t *last = smap_find(&s->last, p.name);
	p.prev = last ? *last : NONE;
	if (smap_put(&s->last, p.name, s->n, err) < 0)
		return PL_ENOMEM;
	s->v[s->n++] = p;
	return 0;
}

int pl__instset_add(struct pl__instset *s, const char *name, const char *version,
		    const struct pl__relations *conflicts, const struct pl__relations *breaks,
		    struct pl_error **err)
{
	return present_add(s, (struct present){ name, version, NULL, conflicts, breaks, NONE },
			   err);
}

int pl__instset_add_provided(struct pl__instset *s, const char *name, const char *version,
			     const char *by, struct pl_error **err)
{
	return present_add(s, (struct present){ name, version, by, NULL, NULL, NONE }, err);
}

static size_t present_last(const struct pl__instset *s, const char *name)
{
	size_t *k = smap_find(&s->last, name);
	return k ? *k : NONE;
}

/* The package (not a provided name) `name`, one with a version first. */
static const struct present *present_pkg(const struct pl__instset *s, const char *name)
{
	const struct present *any = NULL;
	for (size_t i = present_last(s, name); i != NONE; i = s->v[i].prev) {
		if (s->v[i].by)
			continue;
		if (s->v[i].version)
			return &s->v[i];
		any = &s->v[i];
	}
	return any;
}

/* A present package's Provides of `name`, or NULL. */
static const struct present *present_provided(const struct pl__instset *s, const char *name)
{
	for (size_t i = present_last(s, name); i != NONE; i = s->v[i].prev)
		if (s->v[i].by)
			return &s->v[i];
	return NULL;
}

static bool arch_matches(const char *arch, const struct pl__rel *r)
{
	return !r->arch || !strcmp(r->arch, "any") || !strcmp(r->arch, "native") ||
	       !strcmp(r->arch, arch);
}

/* Whether a provided version (NULL: unversioned) satisfies r. */
static bool provision_satisfies(const struct pl__rel *r, const char *version)
{
	return r->op == PL__REL_ANY || (version && pl__rel_satisfied(r, version));
}

bool pl__instset_satisfies(const struct pl__instset *s, const struct pl__rel *r)
{
	if (!arch_matches(s->arch, r))
		return false;
	for (size_t i = present_last(s, r->name); i != NONE; i = s->v[i].prev) {
		const struct present *p = &s->v[i];
		if (p->by ? provision_satisfies(r, p->version)
			  : !p->version || pl__rel_satisfied(r, p->version))
			return true;
	}
	return false;
}

/* Whether a Conflicts or Breaks `r` hits `p`; an assumed package, of no
 * known version, never is. */
static bool present_hit(const struct present *p, const struct pl__rel *r)
{
	return p->by ? provision_satisfies(r, p->version)
		     : p->version && pl__rel_satisfied(r, p->version);
}

static int rel_text(const struct pl__rel *r, struct pl_buf *b, struct pl_error **err)
{
	static const char *const ops[] = { "", "<<", "<=", "=", ">=", ">>" };
	if (pl_buf_adds(b, r->name, err) < 0 ||
	    (r->arch && pl_buf_addf(b, err, ":%s", r->arch) < 0) ||
	    (r->op != PL__REL_ANY && pl_buf_addf(b, err, " (%s %s)", ops[r->op], r->version) < 0))
		return PL_ENOMEM;
	return 0;
}

int pl__clause_text(const struct pl__clause *cl, struct pl_buf *b, struct pl_error **err)
{
	for (size_t a = 0; a < cl->n; a++)
		if ((a && pl_buf_adds(b, " | ", err) < 0) || rel_text(&cl->alt[a], b, err) < 0)
			return PL_ENOMEM;
	return 0;
}

/* ---- resolution ---------------------------------------------------------- */

struct sel {
	size_t pkg;
	size_t parent; /* index in the selection, NONE for a requested package */
};

struct rctx {
	struct pl__universe *u;
	struct sel *s;
	size_t n, alloc;
	struct smap chosen; /* name -> index in s */
	const struct pl__instset *in;
	struct pl_error **err;
};

static void rctx_release(struct rctx *c)
{
	free(c->s);
	smap_release(&c->chosen);
}

static const struct pl__pkg *sel_pkg(const struct rctx *c, size_t i)
{
	return &c->u->v[c->s[i].pkg].p;
}

/* "a -> b -> c" for selection i. */
static int chain(const struct rctx *c, size_t i, struct pl_buf *b)
{
	size_t path[64], n = 0;
	for (size_t k = i; k != NONE && n < 64; k = c->s[k].parent)
		path[n++] = k;
	while (n--)
		if (pl_buf_addf(b, c->err, "%s%s", sel_pkg(c, path[n])->name, n ? " -> " : "") < 0)
			return PL_ENOMEM;
	return 0;
}

static bool arch_ok(const struct rctx *c, const struct pl__rel *r)
{
	return arch_matches(c->u->arch, r);
}

/* The chosen package that satisfies r, itself or by its Provides, or NONE. */
static size_t chosen_match(const struct rctx *c, const struct pl__rel *r)
{
	size_t *k = smap_find(&c->chosen, r->name);
	if (k && pl__rel_satisfied(r, sel_pkg(c, *k)->version))
		return *k;
	size_t *pv = smap_find(&c->u->providers, r->name);
	for (size_t i = pv ? *pv : NONE; i != NONE; i = c->u->prov[i].next) {
		const struct provider *p = &c->u->prov[i];
		size_t *by = smap_find(&c->chosen, c->u->v[p->pkg].p.name);
		if (!by || c->s[*by].pkg != p->pkg)
			continue;
		if (provision_satisfies(r, p->version))
			return *by;
	}
	return NONE;
}

static bool chosen_satisfies(const struct rctx *c, const struct pl__rel *r)
{
	return chosen_match(c, r) != NONE;
}

static bool installed_satisfies(const struct rctx *c, const struct pl__rel *r)
{
	if (pl__instset_satisfies(c->in, r))
		return true;
	/* a virtual package that an assumed package provides, by the index */
	size_t *pv = smap_find(&c->u->providers, r->name);
	for (size_t i = pv ? *pv : NONE; i != NONE; i = c->u->prov[i].next) {
		const struct provider *p = &c->u->prov[i];
		const struct pl__pkg *pkg = &c->u->v[p->pkg].p;
		const struct present *in = present_pkg(c->in, pkg->name);
		if (in && (!in->version || !strcmp(in->version, pkg->version)) &&
		    provision_satisfies(r, p->version))
			return true;
	}
	return false;
}

static bool in_suite(const struct pl__pkg *p, const char *suite)
{
	return !suite || !strcmp(p->suite, suite);
}

/* The newest version of `r->name` that satisfies r (and is in `suite`). */
static size_t best_version(const struct rctx *c, const struct pl__rel *r, const char *suite)
{
	size_t best = NONE;
	size_t *first = smap_find(&c->u->by_name, r->name);
	for (size_t i = first ? *first : NONE; i != NONE; i = c->u->v[i].next) {
		const struct pl__pkg *p = &c->u->v[i].p;
		if (!pl__rel_satisfied(r, p->version) || !in_suite(p, suite))
			continue;
		if (best == NONE) {
			best = i;
			continue;
		}
		/* automatic suites first (unless one is asked for), then the
		 * newest version, then the first index read */
		const struct pl__pkg *b = &c->u->v[best].p;
		int cmp = suite ? 0 : (int)b->not_automatic - (int)p->not_automatic;
		if (cmp == 0)
			cmp = pl__debver_cmp(p->version, b->version);
		if (cmp > 0 || (cmp == 0 && i < best))
			best = i;
	}
	return best;
}

static int choose(struct rctx *c, size_t pkg, size_t parent)
{
	if (pl__grow(&c->s, &c->alloc, c->n + 1, sizeof(*c->s), c->err) < 0)
		return PL_ENOMEM;
	c->s[c->n] = (struct sel){ pkg, parent };
	if (smap_put(&c->chosen, c->u->v[pkg].p.name, c->n, c->err) < 0)
		return PL_ENOMEM;
	c->n++;
	return 0;
}

/* The distinct names of the packages that provide `name`, in `b`. */
static int provider_names(const struct rctx *c, const char *name, struct pl_buf *b, size_t *count)
{
	*count = 0;
	size_t *pv = smap_find(&c->u->providers, name);
	for (size_t i = pv ? *pv : NONE; i != NONE; i = c->u->prov[i].next) {
		const char *pn = c->u->v[c->u->prov[i].pkg].p.name;
		bool seen = false;
		for (size_t j = pv ? *pv : NONE; j != i; j = c->u->prov[j].next)
			seen = seen || !strcmp(c->u->v[c->u->prov[j].pkg].p.name, pn);
		if (seen)
			continue;
		if (pl_buf_addf(b, c->err, "%s'%s'", *count ? ", " : "", pn) < 0)
			return PL_ENOMEM;
		(*count)++;
	}
	return 0;
}

/*
 * A package that provides r: the only provider, or the newest version of
 * it.  NONE when nothing provides it; *ambiguous when several do.
 */
static size_t one_provider(const struct rctx *c, const struct pl__rel *r, bool *ambiguous)
{
	size_t found = NONE;
	*ambiguous = false;
	size_t *pv = smap_find(&c->u->providers, r->name);
	for (size_t i = pv ? *pv : NONE; i != NONE; i = c->u->prov[i].next) {
		const struct provider *p = &c->u->prov[i];
		if (!provision_satisfies(r, p->version))
			continue;
		if (found == NONE) {
			found = p->pkg;
		} else if (strcmp(c->u->v[found].p.name, c->u->v[p->pkg].p.name)) {
			*ambiguous = true;
		} else if (pl__debver_cmp(c->u->v[p->pkg].p.version, c->u->v[found].p.version) >
			   0) {
			found = p->pkg;
		}
	}
	return found;
}

static int unsatisfiable(struct rctx *c, size_t who, const struct pl__clause *cl)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, c->err) < 0 || pl_buf_adds(&b, "package '", c->err) < 0 ||
	    pl_buf_adds(&b, sel_pkg(c, who)->name, c->err) < 0 ||
	    pl_buf_adds(&b, "' (needed by ", c->err) < 0 || chain(c, who, &b) < 0 ||
	    pl_buf_adds(&b, ") depends on '", c->err) < 0 || pl__clause_text(cl, &b, c->err) < 0 ||
	    pl_buf_adds(&b, "', which ", c->err) < 0)
		return PL_ENOMEM;
	/* say why the first alternative fails, the usual one to care about */
	const struct pl__rel *r = &cl->alt[0];
	size_t *k = smap_find(&c->chosen, r->name);
	const struct present *in = present_pkg(c->in, r->name);
	const struct present *pv = present_provided(c->in, r->name);
	int rc;
	if (k) {
		rc = pl_buf_addf(&b, c->err, "conflicts with '%s' %s, chosen for ", r->name,
				 sel_pkg(c, *k)->version);
		if (rc == 0)
			rc = chain(c, *k, &b);
	} else if (in && in->version) {
		rc = pl_buf_addf(&b, c->err, "the base has only at version %s", in->version);
	} else if (pv && pv->version) {
		rc = pl_buf_addf(&b, c->err, "the base's '%s' provides only at version %s", pv->by,
				 pv->version);
	} else if (pv) {
		rc = pl_buf_addf(&b, c->err, "the base's '%s' provides only without a version",
				 pv->by);
	} else if (smap_find(&c->u->by_name, r->name)) {
		size_t any = best_version(c, &(struct pl__rel){ .name = r->name }, NULL);
		rc = pl_buf_addf(&b, c->err, "no repository has (candidate: %s)",
				 c->u->v[any].p.version);
	} else {
		rc = pl_buf_adds(&b, "no repository has", c->err);
	}
	if (rc < 0)
		return PL_ENOMEM;
	return pl__error_set(c->err, PL_EINVAL, 0, "%s", b.buf);
}

static int ambiguous_virtual(struct rctx *c, size_t who, const struct pl__rel *r)
{
	cleanup_buf struct pl_buf b = { 0 };
	size_t n;
	if (pl_buf_init(&b, 0, c->err) < 0 ||
	    pl_buf_addf(&b, c->err, "package '%s' (needed by ", sel_pkg(c, who)->name) < 0 ||
	    chain(c, who, &b) < 0 ||
	    pl_buf_addf(&b, c->err, ") depends on the virtual package '%s', provided by ",
			r->name) < 0 ||
	    provider_names(c, r->name, &b, &n) < 0 ||
	    pl_buf_adds(&b, ": list the one to install in 'packages'", c->err) < 0)
		return PL_ENOMEM;
	return pl__error_set(c->err, PL_EINVAL, 0, "%s", b.buf);
}

static int follow_clause(struct rctx *c, size_t who, const struct pl__clause *cl)
{
	const struct pl__rel *first_ambiguous = NULL;
	for (size_t a = 0; a < cl->n; a++)
		if (arch_ok(c, &cl->alt[a]) &&
		    (chosen_satisfies(c, &cl->alt[a]) || installed_satisfies(c, &cl->alt[a])))
			return 0;
	for (size_t a = 0; a < cl->n; a++) {
		const struct pl__rel *r = &cl->alt[a];
		if (!arch_ok(c, r) || smap_find(&c->chosen, r->name) || present_pkg(c->in, r->name))
			continue;
		size_t best = best_version(c, r, NULL);
		if (best != NONE)
			return choose(c, best, who);
		bool ambiguous;
		size_t prov = one_provider(c, r, &ambiguous);
		if (ambiguous) {
			/* a later alternative may settle it */
			if (!first_ambiguous)
				first_ambiguous = r;
			continue;
		}
		if (prov != NONE) {
			if (smap_find(&c->chosen, c->u->v[prov].p.name))
				continue; /* another version of it was chosen */
			return choose(c, prov, who);
		}
	}
	if (first_ambiguous)
		return ambiguous_virtual(c, who, first_ambiguous);
	return unsatisfiable(c, who, cl);
}

static int follow(struct rctx *c, size_t who)
{
	struct upkg *p = &c->u->v[c->s[who].pkg];
	int rc = ensure_parsed(p, c->err);
	for (size_t i = 0; rc == 0 && i < p->rel.pre.n; i++)
		rc = follow_clause(c, who, &p->rel.pre.c[i]);
	for (size_t i = 0; rc == 0 && i < p->rel.dep.n; i++)
		rc = follow_clause(c, who, &p->rel.dep.c[i]);
	return rc;
}

static int not_found(struct rctx *c, const struct pl__want *w)
{
	if (smap_find(&c->u->by_name, w->name)) {
		const char *what = w->version ? "version" : "suite";
		return pl__error_set(c->err, PL_EINVAL, 0, "%s: package '%s' has no %s '%s'",
				     w->origin, w->name, what, w->version ? w->version : w->suite);
	}
	cleanup_buf struct pl_buf b = { 0 };
	size_t n;
	if (pl_buf_init(&b, 0, c->err) < 0 || provider_names(c, w->name, &b, &n) < 0)
		return PL_ENOMEM;
	if (n)
		return pl__error_set(c->err, PL_EINVAL, 0,
				     "%s: '%s' is a virtual package, provided by %s: list the one "
				     "to install",
				     w->origin, w->name, b.buf);
	const char *near = NULL;
	size_t best = 3;
	for (size_t i = 0; i < c->u->by_name.nslots; i++) {
		const char *k = c->u->by_name.key[i];
		size_t d = k ? pl__edit_distance(w->name, k, best) : best + 1;
		if (d < best || (d == best && near && d <= 2 && strcmp(k, near) < 0)) {
			best = d;
			near = k;
		}
	}
	if (near && best <= 2)
		return pl__error_set(c->err, PL_EINVAL, 0,
				     "%s: package '%s' is in no repository (did you mean '%s'?)",
				     w->origin, w->name, near);
	return pl__error_set(c->err, PL_EINVAL, 0, "%s: package '%s' is in no repository",
			     w->origin, w->name);
}

static int want_one(struct rctx *c, const struct pl__want *w)
{
	const struct present *in = present_pkg(c->in, w->name);
	if (in && in->version && (!w->version || !pl__debver_cmp(w->version, in->version)))
		return 0;
	if (smap_find(&c->chosen, w->name))
		return 0;
	struct pl__rel r = { .name = (char *)w->name,
			     .version = (char *)w->version,
			     .op = w->version ? PL__REL_EQ : PL__REL_ANY };
	size_t best = best_version(c, &r, w->suite);
	if (best == NONE)
		return not_found(c, w);
	return choose(c, best, NONE);
}

/* Whether the chosen package `other` is, or provides, what `r` names. */
static bool chosen_hit(const struct upkg *other, const struct pl__rel *r)
{
	if (!strcmp(other->p.name, r->name) && pl__rel_satisfied(r, other->p.version))
		return true;
	for (size_t k = 0; k < other->rel.provides.n; k++)
		for (size_t a = 0; a < other->rel.provides.c[k].n; a++) {
			const struct pl__rel *pr = &other->rel.provides.c[k].alt[a];
			if (!strcmp(pr->name, r->name) &&
			    provision_satisfies(r, pr->op == PL__REL_EQ ? pr->version : NULL))
				return true;
		}
	return false;
}

/* A chosen package's Conflicts or Breaks `r` against the other chosen
 * ones and the present ones. */
static int rel_conflict(struct rctx *c, size_t who, const char *field, const struct pl__rel *r)
{
	size_t j = 0;
	while (j < c->n && (j == who || !chosen_hit(&c->u->v[c->s[j].pkg], r)))
		j++;
	const struct present *p = NULL;
	for (size_t i = present_last(c->in, r->name); j == c->n && !p && i != NONE;
	     i = c->in->v[i].prev)
		if (present_hit(&c->in->v[i], r))
			p = &c->in->v[i];
	if (j == c->n && !p)
		return 0;
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, c->err) < 0 ||
	    pl_buf_addf(&b, c->err, "package '%s' %s (needed by ", sel_pkg(c, who)->name,
			sel_pkg(c, who)->version) < 0 ||
	    chain(c, who, &b) < 0 || pl_buf_addf(&b, c->err, ") %s '", field) < 0 ||
	    rel_text(r, &b, c->err) < 0)
		return PL_ENOMEM;
	int rc;
	if (!p) {
		rc = pl_buf_addf(&b, c->err, "', but '%s' %s is needed by ", sel_pkg(c, j)->name,
				 sel_pkg(c, j)->version);
		if (rc == 0)
			rc = chain(c, j, &b);
	} else if (p->by) {
		rc = pl_buf_addf(&b, c->err, "', but the base's '%s' provides '%s%s%s%s'", p->by,
				 p->name, p->version ? " (= " : "", p->version ? p->version : "",
				 p->version ? ")" : "");
	} else {
		rc = pl_buf_addf(&b, c->err, "', but the base has '%s' %s", p->name, p->version);
	}
	if (rc < 0)
		return PL_ENOMEM;
	return pl__error_set(c->err, PL_EINVAL, 0, "%s", b.buf);
}

/* A present package's Conflicts or Breaks `r` against the chosen ones. */
static int present_conflict(struct rctx *c, const struct present *p, const char *field,
			    const struct pl__rel *r)
{
	size_t j = chosen_match(c, r);
	if (j == NONE)
		return 0;
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, c->err) < 0 ||
	    pl_buf_addf(&b, c->err, "the base's package '%s' %s %s '", p->name, p->version, field) <
		0 ||
	    rel_text(r, &b, c->err) < 0 ||
	    pl_buf_addf(&b, c->err, "', but '%s' %s is needed by ", sel_pkg(c, j)->name,
			sel_pkg(c, j)->version) < 0 ||
	    chain(c, j, &b) < 0)
		return PL_ENOMEM;
	return pl__error_set(c->err, PL_EINVAL, 0, "%s", b.buf);
}

static int check_present_conflicts(struct rctx *c)
{
	for (size_t i = 0; i < c->in->n; i++) {
		const struct present *p = &c->in->v[i];
		const struct pl__relations *rels[] = { p->conflicts, p->breaks };
		static const char *const field[] = { "conflicts with", "breaks" };
		for (size_t f = 0; f < 2; f++)
			for (size_t k = 0; rels[f] && k < rels[f]->n; k++)
				for (size_t a = 0; a < rels[f]->c[k].n; a++) {
					int rc =
					    present_conflict(c, p, field[f], &rels[f]->c[k].alt[a]);
					if (rc < 0)
						return rc;
				}
	}
	return 0;
}

static int check_conflicts(struct rctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct upkg *p = &c->u->v[c->s[i].pkg];
		for (size_t k = 0; k < p->rel.conflicts.n; k++)
			for (size_t a = 0; a < p->rel.conflicts.c[k].n; a++) {
				int rc = rel_conflict(c, i, "conflicts with",
						      &p->rel.conflicts.c[k].alt[a]);
				if (rc < 0)
					return rc;
			}
		for (size_t k = 0; k < p->rel.breaks.n; k++)
			for (size_t a = 0; a < p->rel.breaks.c[k].n; a++) {
				int rc = rel_conflict(c, i, "breaks", &p->rel.breaks.c[k].alt[a]);
				if (rc < 0)
					return rc;
			}
	}
	return 0;
}

static int cmp_pkg_name(const void *a, const void *b)
{
	const struct pl__pkg *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

int pl__resolve_in(struct pl__universe *u, const struct pl__want *want, size_t nwant,
		   const struct pl__instset *installed, const struct pl__pkg ***out, size_t *n,
		   struct pl_error **err)
{
	int rc = build_providers(u, err);
	if (rc < 0)
		return rc;
	__attribute__((
	    cleanup(rctx_release))) struct rctx c = { .u = u, .in = installed, .err = err };
	for (size_t i = 0; i < nwant; i++)
		if ((rc = want_one(&c, &want[i])) < 0)
			return rc;
	for (size_t i = 0; i < c.n; i++)
		if ((rc = follow(&c, i)) < 0)
			return rc;
	if ((rc = check_conflicts(&c)) < 0 || (rc = check_present_conflicts(&c)) < 0)
		return rc;
	const struct pl__pkg **v = pl__calloc(c.n + 1, sizeof(*v), err);
	if (!v)
		return PL_ENOMEM;
	for (size_t i = 0; i < c.n; i++)
		v[i] = sel_pkg(&c, i);
	qsort(v, c.n, sizeof(*v), cmp_pkg_name);
	*out = v;
	*n = c.n;
	return 0;
}

int pl__resolve(struct pl__universe *u, const struct pl__want *want, size_t nwant,
		const struct pl__installed *installed, size_t ninstalled,
		const struct pl__pkg ***out, size_t *n, struct pl_error **err)
{
	cleanup_instset struct pl__instset *in = NULL;
	int rc = pl__instset_new(u->arch, &in, err);
	for (size_t i = 0; rc == 0 && i < ninstalled; i++)
		rc = pl__instset_add(in, installed[i].name, installed[i].version, NULL, NULL, err);
	return rc < 0 ? rc : pl__resolve_in(u, want, nwant, in, out, n, err);
}
