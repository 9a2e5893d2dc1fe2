/* graph.c - the recipes under some directories, as a graph of bases. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graph.h"

#define DEPTH_MAX 64 /* directories within directories */

struct paths {
	char **v;
	size_t n, alloc;
};

static void paths_release(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
}

static bool is_recipe_name(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append *path (taken) to `out`. */
static int add_path(struct paths *out, char **path, struct pl_error **err)
{
	if (out->n >= PL__GRAPH_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "more than %d recipes", PL__GRAPH_MAX);
	int rc = out->n == out->alloc
		     ? pl__grow(&out->v, &out->alloc, out->n + 1, sizeof(*out->v), err)
		     : 0;
	if (rc == 0)
		out->v[out->n++] = steal_pointer(path);
	return rc;
}

/* Add the recipe files under `dir` to `out`, in name order. */
static int walk(const char *dir, unsigned depth, struct paths *out, struct pl_error **err)
{
	if (depth > DEPTH_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s' is more than %d directories deep",
				     dir, DEPTH_MAX);
	DIR *d = opendir(dir);
	if (!d)
		return pl__error_set(err, PL_ESYS, errno, "cannot read directory '%s'", dir);
	struct paths names = { 0 };
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (names.n == names.alloc &&
		    (rc = pl__grow(&names.v, &names.alloc, names.n + 1, sizeof(*names.v), err)) < 0)
			break;
		if (!(names.v[names.n] = pl__strdup(de->d_name, err)))
			rc = PL_ENOMEM;
		else
			names.n++;
	}
	if (rc == 0 && errno)
		rc = pl__error_set(err, PL_ESYS, errno, "cannot read directory '%s'", dir);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), name_cmp);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		cleanup_free char *path = pl__asprintf(err, "%s/%s", dir, names.v[i]);
		struct stat st;
		if (!path) {
			rc = PL_ENOMEM;
		} else if (lstat(path, &st) < 0) {
			rc = pl__error_set(err, PL_ESYS, errno, "cannot stat '%s'", path);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(path, depth + 1, out, err);
		} else if (is_recipe_name(names.v[i]) &&
			   (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			rc = add_path(out, &path, err);
		}
	}
	paths_release(&names);
	return rc;
}

void pl__graph_free(struct pl__graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->nodes[i].path);
		pl_recipe_free(g->nodes[i].recipe);
	}
	free(g->nodes);
	free(g->order);
	free(g);
}

void pl__graph_freep(struct pl__graph **g)
{
	pl__graph_free(*g);
}

static int node_cmp(const void *a, const void *b)
{
	const struct pl__node *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->path, y->path);
}

size_t pl__graph_find(const struct pl__graph *g, const char *name)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(g->nodes[mid].name, name);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return PL__NO_NODE;
}

/* The parent of every node, from the name part of its base. */
static int link_bases(struct pl__graph *g, struct pl_error **err)
{
	for (size_t i = 0; i < g->n; i++) {
		struct pl__node *nd = &g->nodes[i];
		nd->parent = PL__NO_NODE;
		if (!strcmp(nd->base, "scratch"))
			continue;
		const char *at = strchr(nd->base, '@');
		size_t len = at ? (size_t)(at - nd->base) : strlen(nd->base);
		cleanup_free char *name = pl__strndup(nd->base, len, err);
		if (!name)
			return PL_ENOMEM;
		nd->parent = pl__graph_find(g, name);
	}
	return 0;
}

/* A cycle through `start` (following bases), as "a -> b -> a". */
static int cycle_error(const struct pl__graph *g, size_t start, struct pl_error **err)
{
	/* walk far enough to be on the cycle itself, then name it from its
	 * first node by name (nodes are sorted by name) */
	size_t at = start;
	for (size_t i = 0; i < g->n; i++)
		at = g->nodes[at].parent;
	for (size_t i = g->nodes[at].parent; i != at; i = g->nodes[i].parent)
		if (i < at)
			at = i;
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, err) < 0)
		return PL_ENOMEM;
	size_t i = at;
	do {
		if (pl_buf_addf(&b, err, "%s (%s) -> ", g->nodes[i].name, g->nodes[i].path) < 0)
			return PL_ENOMEM;
		i = g->nodes[i].parent;
	} while (i != at);
	if (pl_buf_addf(&b, err, "%s", g->nodes[at].name) < 0)
		return PL_ENOMEM;
	return pl__error_set(err, PL_EINVAL, 0,
			     "recipes are built on each other in a cycle (each on the next): %s",
			     b.buf);
}

/* Every node after its parent: children in name order, level by level. */
static int sort_nodes(struct pl__graph *g, struct pl_error **err)
{
	cleanup_free size_t *first = pl__calloc(g->n + 1, sizeof(*first), err);
	cleanup_free size_t *kids = pl__calloc(g->n + 1, sizeof(*kids), err);
	if (!first || !kids || !(g->order = pl__calloc(g->n + 1, sizeof(*g->order), err)))
		return PL_ENOMEM;
	/* children of each node, by index (so by name), in kids[first[p]..first[p+1]) */
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i].parent != PL__NO_NODE)
			first[g->nodes[i].parent + 1]++;
	for (size_t p = 0; p < g->n; p++)
		first[p + 1] += first[p];
	cleanup_free size_t *fill = pl__calloc(g->n + 1, sizeof(*fill), err);
	if (!fill)
		return PL_ENOMEM;
	memcpy(fill, first, (g->n + 1) * sizeof(*fill));
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i].parent != PL__NO_NODE)
			kids[fill[g->nodes[i].parent]++] = i;
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i].parent == PL__NO_NODE)
			g->order[n++] = i;
	for (size_t q = 0; q < n; q++)
		for (size_t k = first[g->order[q]]; k < first[g->order[q] + 1]; k++)
			g->order[n++] = kids[k];
	if (n == g->n)
		return 0;
	/* what was not reached hangs on a cycle */
	cleanup_free bool *seen = pl__calloc(g->n + 1, sizeof(*seen), err);
	if (!seen)
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		seen[g->order[i]] = true;
	for (size_t i = 0; i < g->n; i++)
		if (!seen[i])
			return cycle_error(g, i, err);
	return 0;
}

int pl__graph_load(const char *const *dirs, size_t ndirs, struct pl__graph **out,
		   struct pl_error **err)
{
	__attribute__((cleanup(paths_release))) struct paths files = { 0 };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < ndirs; i++)
		rc = walk(dirs[i], 0, &files, err);
	if (rc < 0)
		return rc;
	cleanup_graph struct pl__graph *g = pl__calloc(1, sizeof(*g), err);
	if (!g || !(g->nodes = pl__calloc(files.n + 1, sizeof(*g->nodes), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < files.n; i++) {
		struct pl__node *nd = &g->nodes[g->n];
		if ((rc = pl_recipe_load(files.v[i], &nd->recipe, err)) < 0)
			return rc;
		nd->path = steal_pointer(&files.v[i]);
		nd->name = pl_recipe_name(nd->recipe);
		nd->version = pl_recipe_version(nd->recipe);
		nd->base = pl_recipe_base(nd->recipe);
		g->n++;
	}
	if (g->n)
		qsort(g->nodes, g->n, sizeof(*g->nodes), node_cmp);
	for (size_t i = 1; i < g->n; i++)
		if (!strcmp(g->nodes[i - 1].name, g->nodes[i].name))
			return pl__error_set(
			    err, PL_EINVAL, 0, "recipes '%s' and '%s' are both named '%s'",
			    g->nodes[i - 1].path, g->nodes[i].path, g->nodes[i].name);
	if ((rc = link_bases(g, err)) < 0 || (rc = sort_nodes(g, err)) < 0)
		return rc;
	*out = steal_pointer(&g);
	return 0;
}
