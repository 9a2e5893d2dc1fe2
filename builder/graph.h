/*
 * graph.h - the recipes under some directories, as a graph of bases.
 *
 * The rebuild storm (issue 5) works on this: every recipe found, which
 * of them are built on which (a recipe whose `base` names another recipe
 * of the set depends on it; any other base comes from the catalog), and
 * an order in which every recipe comes after its base.
 */
#ifndef PLINTH_GRAPH_H
#define PLINTH_GRAPH_H

#include "plinth/recipe.h"
#include "internal.h"

/* No node: a base from the catalog, or scratch. */
#define PL__NO_NODE ((size_t)-1)

struct pl__node {
	char *path; /* the recipe file */
	struct pl_recipe *recipe;
	const char *name, *version, *base; /* the recipe's (base: "scratch" or NAME@RANGE) */
	size_t parent;                     /* the node of its base, or PL__NO_NODE */
};

struct pl__graph {
	struct pl__node *nodes; /* sorted by name */
	size_t n;
	size_t *order; /* node indices, every base before what is built on it */
};

/*
 * Read every recipe (*.yaml, *.yml) under the directories `dirs`, at any
 * depth (directories and files whose names start with '.' are skipped),
 * and link each to the recipe its base names.  Errors: a file that is not
 * a valid recipe (its parser's file:line:column message), two recipes of
 * one name, a cycle of bases (named in order), more than PL__GRAPH_MAX
 * recipes.
 */
#define PL__GRAPH_MAX 100000
int pl__graph_load(const char *const *dirs, size_t ndirs, struct pl__graph **out,
		   struct pl_error **err);
void pl__graph_free(struct pl__graph *g);
void pl__graph_freep(struct pl__graph **g);
#define cleanup_graph __attribute__((cleanup(pl__graph_freep)))

/* The node of recipe `name`, or PL__NO_NODE. */
size_t pl__graph_find(const struct pl__graph *g, const char *name);

#endif
