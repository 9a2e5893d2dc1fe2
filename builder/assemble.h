/* assemble.h - a recipe's layer as an in-memory tree. */
#ifndef PLINTH_ASSEMBLE_H
#define PLINTH_ASSEMBLE_H

#include "recipe-impl.h"
#include "tree.h"

/* Adds the recipe's Debian packages to a tree that holds plinth's defaults. */
typedef int (*pl__assemble_hook)(void *ctx, struct pl__tree *t, struct pl_error **err);

struct pl__baseimg;

/*
 * Build the tree for `r`: plinth's defaults, then what `packages` (may be
 * NULL) adds, then the recipe's directories, symlinks and files (host
 * sources are stat'ed, not yet read).  Each layer may replace what the one
 * before generated.  Errors carry the recipe's FILE:LINE:COL.
 *
 * On a base (`base` not NULL) the tree is the layer that goes on top of
 * it: /etc/passwd and /etc/group are the base's with the recipe's accounts
 * added (a clash with a base account is an error); the default
 * directories and /etc/nsswitch.conf are left to the base when it has
 * them; /etc/os-release is the derived image's own unless the base's is
 * not plinth's (then the base's names the distribution and stays); and
 * every entry the base already has the same (kind, mode, owner, content
 * or target) is left out, except as the parent of one that is not.  A
 * directory plinth needs where the base has something else, or a file or
 * link plinth generates where the base has a directory, is an error.
 * `version` is the image's (in /etc/os-release); NULL: the recipe's.
 */
int pl__assemble(const struct pl_recipe *r, const char *version, const struct pl__baseimg *base,
		 pl__assemble_hook packages, void *ctx, struct pl__tree **out,
		 struct pl_error **err);

#endif
