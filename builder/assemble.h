/* assemble.h - a recipe's layer as an in-memory tree. */
#ifndef PLINTH_ASSEMBLE_H
#define PLINTH_ASSEMBLE_H

#include "recipe-impl.h"
#include "tree.h"

/*
 * Build the tree for `r`: plinth's defaults, then the recipe's directories,
 * symlinks and files (host sources are stat'ed, not yet read).  Errors
 * carry the recipe's FILE:LINE:COL.
 */
int pl__assemble(const struct pl_recipe *r, struct pl__tree **out, struct pl_error **err);

#endif
