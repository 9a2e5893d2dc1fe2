/* assemble.h - a recipe's layer as an in-memory tree. */
#ifndef PLINTH_ASSEMBLE_H
#define PLINTH_ASSEMBLE_H

#include "recipe-impl.h"
#include "tree.h"

/* Adds the recipe's Debian packages to a tree that holds plinth's defaults. */
typedef int (*pl__assemble_hook)(void *ctx, struct pl__tree *t, struct pl_error **err);

/*
 * Build the tree for `r`: plinth's defaults, then what `packages` (may be
 * NULL) adds, then the recipe's directories, symlinks and files (host
 * sources are stat'ed, not yet read).  Each layer may replace what the one
 * before generated.  Errors carry the recipe's FILE:LINE:COL.
 */
int pl__assemble(const struct pl_recipe *r, pl__assemble_hook packages, void *ctx,
		 struct pl__tree **out, struct pl_error **err);

#endif
