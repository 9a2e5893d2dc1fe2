/*
 * ytree.h - a YAML document as a small tree of nodes that keep their
 * positions, for strict parsers of plinth's YAML inputs (recipes,
 * policies).
 *
 * libyaml's events become nodes; aliases, anchors, tags, duplicate keys,
 * NUL bytes, more than one document and anything over PL_RECIPE_MAX and
 * the PL_YAML_* limits are refused (a plinth document never needs them,
 * and aliases allow exponential expansion).  Every error starts
 * "FILE:LINE:COLUMN: ".
 */
#ifndef PLINTH_YTREE_H
#define PLINTH_YTREE_H

#include "recipe-impl.h"

enum pl__ykind { PL__Y_SCALAR, PL__Y_SEQ, PL__Y_MAP };

struct pl__ynode {
	enum pl__ykind kind;
	bool plain;               /* scalar written without quotes or block style */
	char *value;              /* scalar text, NUL-terminated */
	struct pl__ynode **items; /* seq: elements; map: key, value, key, value... */
	size_t n, alloc;
	struct pl__pos pos;
};

void pl__ynode_free(struct pl__ynode *y);
void pl__ynode_freep(struct pl__ynode **y);
#define cleanup_ynode __attribute__((cleanup(pl__ynode_freep)))

/* What is being parsed: `file` for messages, `what` ("recipe", "policy")
 * to name the document in them. */
struct pl__yctx {
	const char *file;
	const char *what;
	struct pl_error **err;
};

#define PL__POSFMT "%s:%u:%u: "

/* Set an error "FILE:LINE:COLUMN: <message>"; returns PL_EINVAL. */
int pl__y_fail_at(struct pl__yctx *c, struct pl__pos pos, const char *fmt, ...) PL__PRINTF(3, 4);

/* Parse `data` into a tree (one document, a non-empty one). */
int pl__y_load(struct pl__yctx *c, const char *data, size_t len, struct pl__ynode **out);

/* "a list", "a mapping" or "a scalar". */
const char *pl__y_kind_name(const struct pl__ynode *y);
/* A plain null scalar: empty, "~" or null. */
bool pl__y_is_null(const struct pl__ynode *y);
/* Check that the value of `key` is of kind `k` (a scalar: not null). */
int pl__y_want_kind(struct pl__yctx *c, const struct pl__ynode *y, enum pl__ykind k,
		    const char *key);
/* The scalar `y` (the value of `key`) into *out, replacing what it held. */
int pl__y_get_str(struct pl__yctx *c, const struct pl__ynode *y, const char *key, char **out);
/* A whole number of at most `max`, written plainly without leading zeros. */
int pl__y_get_u64(struct pl__yctx *c, const struct pl__ynode *y, const char *key, uint64_t max,
		  uint64_t *out);
/* Refuse keys of `map` not in `known` (NULL-terminated), suggesting the
 * closest; `where` names the mapping in the message (NULL: the top). */
int pl__y_check_keys(struct pl__yctx *c, const struct pl__ynode *map, const char *const *known,
		     const char *where);
/* The value of `key` in `map`, or NULL. */
const struct pl__ynode *pl__y_lookup(const struct pl__ynode *map, const char *key);
/* The value of `key` in `map`, which must have it. */
int pl__y_require(struct pl__yctx *c, const struct pl__ynode *map, const char *key,
		  const char *where, const struct pl__ynode **out);

#endif
