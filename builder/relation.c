/* relation.c - Debian package relationships (see relation.h). */
#include <stdlib.h>
#include <string.h>

#include "debversion.h"
#include "relation.h"

struct cursor {
	const char *s, *p, *end, *where;
	struct pl_error **err;
};

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct cursor *c)
{
	while (c->p < c->end && space(*c->p))
		c->p++;
}

static int fail(struct cursor *c, const char *what)
{
	return pl__error_set(c->err, PL_EINVAL, 0, "%s: column %zu: %s", c->where,
			     (size_t)(c->p - c->s) + 1, what);
}

/* A run of the characters in `set`, copied; NULL (no error) when empty. */
static int take(struct cursor *c, const char *set, char **out)
{
	const char *start = c->p;
	while (c->p < c->end && *c->p && strchr(set, *c->p))
		c->p++;
	*out = NULL;
	if (c->p == start)
		return 0;
	*out = pl__strndup(start, (size_t)(c->p - start), c->err);
	return *out ? 0 : PL_ENOMEM;
}

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789+.-";
static const char arch_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
static const char version_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~-:";

static int parse_op(struct cursor *c, enum pl__relop *op)
{
	static const struct {
		const char *text;
		enum pl__relop op;
	} ops[] = {
		/* dpkg still reads the obsolete "<" and ">" as "<=" and ">=". */
		{ "<<", PL__REL_LT }, { "<=", PL__REL_LE }, { ">=", PL__REL_GE },
		{ ">>", PL__REL_GT }, { "=", PL__REL_EQ },  { "<", PL__REL_LE },
		{ ">", PL__REL_GE },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].text);
		if ((size_t)(c->end - c->p) >= n && !strncmp(c->p, ops[i].text, n)) {
			c->p += n;
			*op = ops[i].op;
			return 0;
		}
	}
	return fail(c, "expected a version relation: <<, <=, =, >= or >>");
}

static int parse_rel(struct cursor *c, struct pl__rel *r)
{
	skip_space(c);
	int rc = take(c, name_chars, &r->name);
	if (rc < 0)
		return rc;
	if (!r->name || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", r->name[0]))
		return fail(c, "expected a package name");
	if (c->p < c->end && *c->p == ':') {
		c->p++;
		if ((rc = take(c, arch_chars, &r->arch)) < 0)
			return rc;
		if (!r->arch)
			return fail(c, "expected an architecture after ':'");
	}
	skip_space(c);
	if (c->p < c->end && *c->p == '(') {
		c->p++;
		skip_space(c);
		if ((rc = parse_op(c, &r->op)) < 0)
			return rc;
		skip_space(c);
		const char *at = c->p;
		if ((rc = take(c, version_chars, &r->version)) < 0)
			return rc;
		const char *why;
		if (!r->version || !pl__debver_valid(r->version, &why)) {
			c->p = at;
			return fail(c, "expected a version");
		}
		skip_space(c);
		if (c->p >= c->end || *c->p != ')')
			return fail(c, "expected ')'");
		c->p++;
		skip_space(c);
	}
	if (c->p < c->end && (*c->p == '[' || *c->p == '<'))
		return fail(c, "architecture lists and build profiles belong to source packages");
	return 0;
}

void pl__relations_release(struct pl__relations *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->c[i].n; j++) {
			free(r->c[i].alt[j].name);
			free(r->c[i].alt[j].arch);
			free(r->c[i].alt[j].version);
		}
		free(r->c[i].alt);
	}
	free(r->c);
	r->c = NULL;
	r->n = 0;
}

int pl__relations_parse(const char *where, const char *s, size_t len, struct pl__relations *out,
			struct pl_error **err)
{
	struct cursor c = { s, s, s + len, where, err };
	struct pl__relations r = { 0 };
	size_t clauses_alloc = 0;
	int rc = 0;
	skip_space(&c);
	while (rc == 0 && c.p < c.end) {
		rc = pl__grow(&r.c, &clauses_alloc, r.n + 1, sizeof(*r.c), err);
		if (rc < 0)
			break;
		struct pl__clause *cl = &r.c[r.n++];
		*cl = (struct pl__clause){ 0 };
		size_t alt_alloc = 0;
		for (;;) {
			rc = pl__grow(&cl->alt, &alt_alloc, cl->n + 1, sizeof(*cl->alt), err);
			if (rc < 0)
				break;
			cl->alt[cl->n] = (struct pl__rel){ 0 };
			rc = parse_rel(&c, &cl->alt[cl->n++]);
			if (rc < 0 || c.p >= c.end || *c.p != '|')
				break;
			c.p++;
		}
		if (rc < 0)
			break;
		if (c.p < c.end && *c.p != ',')
			rc = fail(&c, "expected ',' or '|'");
		else if (c.p < c.end) {
			c.p++;
			skip_space(&c);
			if (c.p >= c.end)
				rc = fail(&c, "expected a package name after ','");
		}
	}
	if (rc < 0) {
		pl__relations_release(&r);
		return rc;
	}
	*out = r;
	return 0;
}

bool pl__rel_satisfied(const struct pl__rel *r, const char *version)
{
	if (r->op == PL__REL_ANY)
		return true;
	int d = pl__debver_cmp(version, r->version);
	switch (r->op) {
	case PL__REL_LT:
		return d < 0;
	case PL__REL_LE:
		return d <= 0;
	case PL__REL_EQ:
		return d == 0;
	case PL__REL_GE:
		return d >= 0;
	case PL__REL_GT:
		return d > 0;
	default:
		return true;
	}
}
