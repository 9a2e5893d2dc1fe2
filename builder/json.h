/* json.h - jansson helpers shared by the files that write OCI documents. */
#ifndef PLINTH_JSON_H
#define PLINTH_JSON_H

#include <jansson.h>

#include "internal.h"

static inline void pl__json_decrefp(json_t **j)
{
	json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(pl__json_decrefp)))

/* Every digest-bearing document is written one way: sorted keys, no
 * insignificant whitespace.  NULL when out of memory; free() the result. */
static inline char *pl__json_canonical(const json_t *j)
{
	return json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
}

/* A JSON array of the n strings of v; NULL when out of memory. */
static inline json_t *pl__json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Parse `len` bytes of `text` as JSON, refusing duplicate keys: 0 with *out,
 * or PL_EINVAL with "WHAT: line L, column C: why" (`what` names the text). */
static inline int pl__json_parse(const char *what, const char *text, size_t len, json_t **out,
				 struct pl_error **err)
{
	json_error_t je;
	if (!(*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
		return pl__error_set(err, PL_EINVAL, 0, "%s: line %d, column %d: %s", what, je.line,
				     je.column, je.text);
	return 0;
}

#endif
