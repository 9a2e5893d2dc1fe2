/*
 * plinth/recipe.h - recipes: the declarative YAML description of an image.
 *
 * A recipe is parsed strictly (schema v1, see docs/recipe.md): unknown keys,
 * wrong types, bad modes, relative in-image paths and duplicate paths are
 * errors whose message starts with "FILE:LINE:COLUMN: ".  Parsing reads only
 * the recipe itself; the files a recipe names are read when it is built.
 */
#ifndef PLINTH_RECIPE_H
#define PLINTH_RECIPE_H

#include "plinth/common.h"

struct pl_recipe;

/**
 * Load and validate the recipe at `path` (at most 1 MiB).  Relative
 * `source` paths in the recipe are resolved against the directory that
 * holds `path`.
 *
 * @return 0 and a new recipe in *out (release with pl_recipe_free()), or a
 *         negative pl_code with *err set.
 */
int pl_recipe_load(const char *path, struct pl_recipe **out, struct pl_error **err);

/**
 * Parse a recipe held in memory.  `name` is used in messages and to
 * resolve relative sources (as pl_recipe_load() does with its path).
 * Touches no file.
 *
 * @return as pl_recipe_load().
 */
int pl_recipe_parse(const char *name, const char *data, size_t len, struct pl_recipe **out,
		    struct pl_error **err);

/** Release a recipe; NULL is a no-op. */
void pl_recipe_free(struct pl_recipe *r);

/** The recipe's `name`; owned by the recipe. */
const char *pl_recipe_name(const struct pl_recipe *r);

/** The recipe's `version` (MAJOR.MINOR.PATCH); owned by the recipe. */
const char *pl_recipe_version(const struct pl_recipe *r);

/**
 * The recipe's `base`: "scratch" (also when the recipe has no `base`), or
 * NAME@RANGE, a base to resolve in a catalog.  Owned by the recipe.
 */
const char *pl_recipe_base(const struct pl_recipe *r);

/**
 * The recipe's `epoch`, when it has one.
 * @return true and the epoch in *epoch, or false when the recipe has none.
 */
bool pl_recipe_epoch(const struct pl_recipe *r, uint64_t *epoch);

#endif
