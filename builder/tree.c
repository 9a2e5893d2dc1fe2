/* tree.c - the in-memory tree: a vector of entries and a hash index by path. */
#include <stdlib.h>
#include <string.h>

#include "tree.h"

struct pl__tree {
	struct pl__entry *v;
	size_t n, alloc;
	size_t *slots; /* open addressing: index + 1, 0 = empty */
	size_t nslots; /* power of two */
};

static void entry_release(struct pl__entry *e)
{
	free(e->path);
	free(e->data);
	free(e->source);
	free(e->target);
	free(e->origin);
}

struct pl__tree *pl__tree_new(struct pl_error **err)
{
	struct pl__tree *t = pl__calloc(1, sizeof(*t), err);
	if (!t)
		return NULL;
	t->nslots = 256;
	t->slots = pl__calloc(t->nslots, sizeof(*t->slots), err);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void pl__tree_free(struct pl__tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		entry_release(&t->v[i]);
	free(t->v);
	free(t->slots);
	free(t);
}

void pl__tree_freep(struct pl__tree **t)
{
	pl__tree_free(*t);
}

static size_t *find_slot(struct pl__tree *t, const char *path)
{
	size_t mask = t->nslots - 1, i = (size_t)pl__str_hash(path) & mask;
	for (;; i = (i + 1) & mask) {
		size_t s = t->slots[i];
		if (!s || !strcmp(t->v[s - 1].path, path))
			return &t->slots[i];
	}
}

static int rehash(struct pl__tree *t, struct pl_error **err)
{
	size_t n = t->nslots * 2;
	size_t *slots = pl__calloc(n, sizeof(*slots), err);
	if (!slots)
		return PL_ENOMEM;
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	for (size_t i = 0; i < t->n; i++)
		*find_slot(t, t->v[i].path) = i + 1;
	return 0;
}

struct pl__entry *pl__tree_get(struct pl__tree *t, const char *path)
{
	size_t s = *find_slot(t, path);
	return s ? &t->v[s - 1] : NULL;
}

static const char *kind_name(enum pl__kind k)
{
	return k == PL__DIR ? "directory" : k == PL__SYMLINK ? "symlink" : "file";
}

static int describe_clash(const struct pl__entry *old, const struct pl__entry *e,
			  struct pl_error **err)
{
	if (old->generated || old->implicit)
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s%spath '/%s' is a directory that holds other entries; it "
				     "can only be declared as a directory",
				     e->origin ? e->origin : "", e->origin ? ": " : "", e->path);
	if (old->origin && e->origin)
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: path '/%s' is already declared as a %s at %s", e->origin,
				     e->path, kind_name(old->kind), old->origin);
	return pl__error_set(err, PL_EINVAL, 0, "%s%spath '/%s' is declared twice",
			     e->origin ? e->origin : "", e->origin ? ": " : "", e->path);
}

static int insert(struct pl__tree *t, struct pl__entry *e, struct pl_error **err)
{
	if ((t->n + 1) * 10 > t->nslots * 7 && rehash(t, err) < 0)
		return PL_ENOMEM;
	if (pl__grow(&t->v, &t->alloc, t->n + 1, sizeof(*t->v), err) < 0)
		return PL_ENOMEM;
	t->v[t->n] = *e;
	*find_slot(t, e->path) = ++t->n;
	return 0;
}

/* Make sure every parent of `path` is a directory, creating implicit ones. */
static int ensure_parents(struct pl__tree *t, const struct pl__entry *e, struct pl_error **err)
{
	char *path = e->path;
	size_t parent = SIZE_MAX; /* index: t->v moves when it grows */
	for (char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		struct pl__entry *p = pl__tree_get(t, path);
		size_t at = p ? (size_t)(p - t->v) : SIZE_MAX;
		int rc = 0;
		if (p && p->kind != PL__DIR) {
			*slash = '/';
			rc = pl__error_set(
			    err, PL_EINVAL, 0,
			    "%s%spath '/%s' needs '/%.*s' to be a directory, but it is "
			    "a %s%s%s",
			    e->origin ? e->origin : "", e->origin ? ": " : "", path,
			    (int)(slash - path), path, kind_name(p->kind),
			    p->origin ? " declared at " : "", p->origin ? p->origin : "");
		} else if (!p) {
			struct pl__entry d = { .kind = PL__DIR, .mode = 0755, .implicit = true };
			d.path = pl__strdup(path, err);
			rc = d.path ? insert(t, &d, err) : PL_ENOMEM;
			if (rc < 0) {
				free(d.path);
			} else {
				at = t->n - 1;
				if (parent != SIZE_MAX)
					t->v[parent].children++;
			}
		}
		*slash = '/';
		if (rc < 0)
			return rc;
		parent = at;
	}
	if (parent != SIZE_MAX)
		t->v[parent].children++;
	return 0;
}

int pl__tree_add(struct pl__tree *t, struct pl__entry *e, struct pl_error **err)
{
	struct pl__entry *old = pl__tree_get(t, e->path);
	int rc;
	if (old) {
		bool keeps_children = old->children == 0 || e->kind == PL__DIR;
		if ((old->implicit || old->generated) && keeps_children) {
			e->children = old->children;
			entry_release(old);
			*old = *e;
			return 0;
		}
		rc = describe_clash(old, e, err);
	} else {
		rc = ensure_parents(t, e, err);
		if (rc == 0)
			rc = insert(t, e, err);
		if (rc == 0)
			return 0;
	}
	entry_release(e);
	return rc;
}

int pl__path_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	while (*x && *x == *y)
		x++, y++;
	unsigned cx = *x == '/' ? 1 : *x ? (unsigned)*x + 1 : 0;
	unsigned cy = *y == '/' ? 1 : *y ? (unsigned)*y + 1 : 0;
	return (cx > cy) - (cx < cy);
}

static int cmp_entry(const void *a, const void *b)
{
	return pl__path_cmp(((const struct pl__entry *)a)->path,
			    ((const struct pl__entry *)b)->path);
}

void pl__tree_sort(struct pl__tree *t)
{
	qsort(t->v, t->n, sizeof(*t->v), cmp_entry);
	memset(t->slots, 0, t->nslots * sizeof(*t->slots));
	for (size_t i = 0; i < t->n; i++)
		*find_slot(t, t->v[i].path) = i + 1;
}

size_t pl__tree_count(const struct pl__tree *t)
{
	return t->n;
}

const struct pl__entry *pl__tree_at(const struct pl__tree *t, size_t i)
{
	return &t->v[i];
}

uint64_t pl__tree_content_size(const struct pl__tree *t)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].kind == PL__REG)
			sum += t->v[i].size;
	return sum;
}
