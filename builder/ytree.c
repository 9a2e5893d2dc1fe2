/*
 * ytree.c - YAML documents as a small tree of nodes that keep their
 * positions, for the strict parsers of recipes and policies (see ytree.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ytree.h"

void pl__ynode_free(struct pl__ynode *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->n; i++)
		pl__ynode_free(y->items[i]);
	free(y->items);
	free(y->value);
	free(y);
}

void pl__ynode_freep(struct pl__ynode **y)
{
	pl__ynode_free(*y);
}

static void yaml_event_release(yaml_event_t *e)
{
	yaml_event_delete(e);
}

int pl__y_fail_at(struct pl__yctx *c, struct pl__pos pos, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pl__error_set(c->err, PL_EINVAL, 0, PL__POSFMT "%s", c->file, pos.line, pos.col,
			     msg);
}

static struct pl__pos mark_pos(yaml_mark_t m)
{
	return (struct pl__pos){ (unsigned)m.line + 1, (unsigned)m.column + 1 };
}

static int ynode_push(struct pl__yctx *c, struct pl__ynode *parent, struct pl__ynode *child)
{
	if (pl__grow(&parent->items, &parent->alloc, parent->n + 1, sizeof(*parent->items),
		     c->err) < 0)
		return PL_ENOMEM;
	parent->items[parent->n++] = child;
	return 0;
}

/* Check that a freshly completed map key does not repeat an earlier one. */
static int check_key_kind(struct pl__yctx *c, const struct pl__ynode *map)
{
	const struct pl__ynode *key = map->items[map->n - 1];
	if (key->kind != PL__Y_SCALAR)
		return pl__y_fail_at(c, key->pos, "mapping keys must be plain strings");
	return 0;
}

static int cmp_key_index(const void *a, const void *b, void *items)
{
	const struct pl__ynode *const *v = items;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int d = strcmp(v[x]->value, v[y]->value);
	return d ? d : (x > y) - (x < y);
}

/*
 * Refuse a key that repeats an earlier one, naming the first repetition in
 * document order.  Sorting keeps a mapping of many keys O(n log n).
 */
static int check_dup_keys(struct pl__yctx *c, const struct pl__ynode *map)
{
	size_t n = map->n / 2;
	if (n < 2)
		return 0;
	cleanup_free size_t *idx = pl__calloc(n, sizeof(*idx), c->err);
	if (!idx)
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = 2 * i;
	qsort_r(idx, n, sizeof(*idx), cmp_key_index, map->items);
	size_t dup = SIZE_MAX, first = 0;
	for (size_t i = 1; i < n; i++) {
		if (strcmp(map->items[idx[i]]->value, map->items[idx[i - 1]]->value))
			continue;
		size_t f = i - 1;
		while (f > 0 && !strcmp(map->items[idx[f - 1]]->value, map->items[idx[i]]->value))
			f--;
		if (idx[i] < dup) {
			dup = idx[i];
			first = idx[f];
		}
	}
	if (dup == SIZE_MAX)
		return 0;
	const struct pl__ynode *k = map->items[dup], *k0 = map->items[first];
	return pl__y_fail_at(c, k->pos, "duplicate key '%s' (first at line %u, column %u)",
			     k->value, k0->pos.line, k0->pos.col);
}

static int yaml_problem(struct pl__yctx *c, const yaml_parser_t *p)
{
	struct pl__pos pos = mark_pos(p->problem_mark);
	if (p->error == YAML_MEMORY_ERROR)
		return pl__error_nomem(c->err);
	return pl__y_fail_at(c, pos, "%s%s%s", p->problem ? p->problem : "malformed YAML",
			     p->context ? " " : "", p->context ? p->context : "");
}

static int load_events(struct pl__yctx *c, yaml_parser_t *parser, struct pl__ynode **out)
{
	struct pl__ynode *stack[PL_YAML_DEPTH_MAX + 1];
	size_t depth = 0, nodes = 0, docs = 0;
	cleanup_ynode struct pl__ynode *root = NULL;

	for (;;) {
		__attribute__((cleanup(yaml_event_release))) yaml_event_t ev;
		if (!yaml_parser_parse(parser, &ev))
			return yaml_problem(c, parser);
		struct pl__pos pos = mark_pos(ev.start_mark);
		if (ev.type == YAML_STREAM_END_EVENT)
			break;
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
			return pl__y_fail_at(c, pos, "a %s is a single YAML document", c->what);
		if (ev.type == YAML_ALIAS_EVENT)
			return pl__y_fail_at(c, pos, "aliases are not allowed in a %s", c->what);

		const unsigned char *anchor = NULL, *tag = NULL;
		enum pl__ykind kind;
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			tag = ev.data.scalar.tag;
			kind = PL__Y_SCALAR;
			break;
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			tag = ev.data.sequence_start.tag;
			kind = PL__Y_SEQ;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			tag = ev.data.mapping_start.tag;
			kind = PL__Y_MAP;
			break;
		case YAML_MAPPING_END_EVENT:
			if (check_dup_keys(c, stack[depth - 1]) < 0)
				return PL_EINVAL;
			depth--;
			continue;
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			continue;
		default:
			continue;
		}
		if (anchor)
			return pl__y_fail_at(c, pos, "anchors are not allowed in a %s", c->what);
		if (tag)
			return pl__y_fail_at(c, pos, "tags are not allowed in a %s", c->what);
		if (++nodes > PL_YAML_NODES_MAX)
			return pl__y_fail_at(c, pos, "%s has more than %d nodes", c->what,
					     PL_YAML_NODES_MAX);

		struct pl__ynode *y = pl__calloc(1, sizeof(*y), c->err);
		if (!y)
			return PL_ENOMEM;
		y->kind = kind;
		y->pos = pos;
		if (kind == PL__Y_SCALAR) {
			size_t n = ev.data.scalar.length;
			if (memchr(ev.data.scalar.value, '\0', n)) {
				free(y);
				return pl__y_fail_at(c, pos, "NUL bytes are not allowed in a %s",
						     c->what);
			}
			y->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			y->value = pl__strndup((const char *)ev.data.scalar.value, n, c->err);
			if (!y->value) {
				free(y);
				return PL_ENOMEM;
			}
		}
		if (depth == 0) {
			root = y;
		} else {
			struct pl__ynode *parent = stack[depth - 1];
			if (ynode_push(c, parent, y) < 0) {
				pl__ynode_free(y);
				return PL_ENOMEM;
			}
			if (parent->kind == PL__Y_MAP && parent->n % 2 == 1 &&
			    check_key_kind(c, parent) < 0)
				return PL_EINVAL;
		}
		if (kind != PL__Y_SCALAR) {
			if (depth == PL_YAML_DEPTH_MAX)
				return pl__y_fail_at(c, pos, "%s is nested deeper than %d levels",
						     c->what, PL_YAML_DEPTH_MAX);
			stack[depth++] = y;
		}
	}
	if (!root)
		return pl__y_fail_at(c, (struct pl__pos){ 1, 1 }, "%s is empty", c->what);
	*out = steal_pointer(&root);
	return 0;
}

int pl__y_load(struct pl__yctx *c, const char *data, size_t len, struct pl__ynode **out)
{
	if (len > PL_RECIPE_MAX)
		return pl__error_set(c->err, PL_ELIMIT, 0, "%s: %s is larger than %zu bytes",
				     c->file, c->what, PL_RECIPE_MAX);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return pl__error_nomem(c->err);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	int rc = load_events(c, &parser, out);
	yaml_parser_delete(&parser);
	return rc;
}

/* ---- typed access with positions ----------------------------------- */

const char *pl__y_kind_name(const struct pl__ynode *y)
{
	if (y->kind == PL__Y_SEQ)
		return "a list";
	if (y->kind == PL__Y_MAP)
		return "a mapping";
	return "a scalar";
}

bool pl__y_is_null(const struct pl__ynode *y)
{
	return y->kind == PL__Y_SCALAR && y->plain &&
	       (!*y->value || !strcmp(y->value, "~") || !strcmp(y->value, "null") ||
		!strcmp(y->value, "Null") || !strcmp(y->value, "NULL"));
}

int pl__y_want_kind(struct pl__yctx *c, const struct pl__ynode *y, enum pl__ykind k,
		    const char *key)
{
	static const char *want[] = { "a string", "a list", "a mapping" };
	if (y->kind == k && !(k == PL__Y_SCALAR && pl__y_is_null(y)))
		return 0;
	return pl__y_fail_at(c, y->pos, "'%s' must be %s, not %s", key, want[k],
			     pl__y_is_null(y) ? "null" : pl__y_kind_name(y));
}

int pl__y_get_str(struct pl__yctx *c, const struct pl__ynode *y, const char *key, char **out)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, key) < 0)
		return PL_EINVAL;
	free(*out);
	*out = pl__strdup(y->value, c->err);
	return *out ? 0 : PL_ENOMEM;
}

int pl__y_get_u64(struct pl__yctx *c, const struct pl__ynode *y, const char *key, uint64_t max,
		  uint64_t *out)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, key) < 0)
		return PL_EINVAL;
	const char *s = y->value;
	if (!y->plain || !*s || strspn(s, "0123456789") != strlen(s))
		return pl__y_fail_at(c, y->pos, "'%s' must be a whole number, not '%s'", key, s);
	if (s[0] == '0' && s[1])
		return pl__y_fail_at(c, y->pos,
				     "'%s' must be written without leading zeros (YAML may "
				     "read '%s' as octal)",
				     key, s);
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v > max)
		return pl__y_fail_at(c, y->pos, "'%s' must be at most %llu, not '%s'", key,
				     (unsigned long long)max, s);
	*out = v;
	return 0;
}

static const char *const *closest(const char *word, const char *const *known)
{
	const char *const *best = NULL;
	size_t best_d = 3;
	for (const char *const *k = known; *k; k++) {
		size_t d = pl__edit_distance(word, *k, 2);
		if (d < best_d) {
			best_d = d;
			best = k;
		}
	}
	return best;
}

/* Reject keys of `map` that are not in `known` (NULL-terminated). */
int pl__y_check_keys(struct pl__yctx *c, const struct pl__ynode *map, const char *const *known,
		     const char *where)
{
	for (size_t i = 0; i < map->n; i += 2) {
		const struct pl__ynode *k = map->items[i];
		const char *const *p;
		for (p = known; *p && strcmp(*p, k->value); p++)
			;
		if (*p)
			continue;
		const char *const *near = closest(k->value, known);
		char in[128] = "";
		if (where)
			snprintf(in, sizeof(in), " in '%s'", where);
		if (near)
			return pl__y_fail_at(c, k->pos, "unknown key '%s'%s (did you mean '%s'?)",
					     k->value, in, *near);
		return pl__y_fail_at(c, k->pos, "unknown key '%s'%s", k->value, in);
	}
	return 0;
}

const struct pl__ynode *pl__y_lookup(const struct pl__ynode *map, const char *key)
{
	for (size_t i = 0; i < map->n; i += 2)
		if (!strcmp(map->items[i]->value, key))
			return map->items[i + 1];
	return NULL;
}

int pl__y_require(struct pl__yctx *c, const struct pl__ynode *map, const char *key,
		  const char *where, const struct pl__ynode **out)
{
	*out = pl__y_lookup(map, key);
	if (*out)
		return 0;
	if (where)
		return pl__y_fail_at(c, map->pos, "'%s' needs a '%s'", where, key);
	return pl__y_fail_at(c, map->pos, "%s needs a '%s'", c->what, key);
}
