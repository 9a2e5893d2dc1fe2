/* deb822.c - Debian control-format paragraphs (see deb822.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deb822.h"

void pl__deb822_init(struct pl__deb822 *d, const char *name, const char *text, size_t len)
{
	d->name = name;
	d->text = text;
	d->len = len;
	d->pos = 0;
	d->line = 1;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The line at d->pos: [*start, *end) without its newline. */
static bool next_line(struct pl__deb822 *d, const char **start, const char **end)
{
	if (d->pos >= d->len)
		return false;
	*start = d->text + d->pos;
	const char *nl = memchr(*start, '\n', d->len - d->pos);
	*end = nl ? nl : d->text + d->len;
	return true;
}

static void advance(struct pl__deb822 *d, const char *end)
{
	d->pos = (size_t)(end - d->text) + (end < d->text + d->len);
	d->line++;
}

static bool is_blank_line(const char *s, const char *e)
{
	while (s < e && blank(*s))
		s++;
	return s == e;
}

static int fail(struct pl__deb822 *d, unsigned col, struct pl_error **err, const char *what)
{
	return pl__error_set(err, PL_EINVAL, 0, "%s:%u:%u: %s", d->name, d->line, col, what);
}

const struct pl__field *pl__para_get(const struct pl__para *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->n; i++)
		if (p->f[i].name_len == n && !strncasecmp(p->f[i].name, name, n))
			return &p->f[i];
	return NULL;
}

void pl__para_release(struct pl__para *p)
{
	free(p->f);
	p->f = NULL;
	p->n = p->alloc = 0;
}

int pl__deb822_next(struct pl__deb822 *d, struct pl__para *p, struct pl_error **err)
{
	const char *s, *e;
	p->n = 0;
	/* Skip blank lines and comments between paragraphs. */
	while (next_line(d, &s, &e) && (is_blank_line(s, e) || *s == '#'))
		advance(d, e);
	if (d->pos >= d->len)
		return 0;
	p->line = d->line;
	while (next_line(d, &s, &e) && !is_blank_line(s, e)) {
		if (*s == '#') {
			advance(d, e);
			continue;
		}
		if (blank(*s)) {
			if (p->n == 0)
				return fail(d, 1, err,
					    "a continuation line with no field before it");
			/* Extend the previous value over this line. */
			struct pl__field *f = &p->f[p->n - 1];
			const char *v = s, *ve = e;
			while (v < ve && blank(*v))
				v++;
			while (ve > v && blank(ve[-1]))
				ve--;
			if (ve > v) {
				if (f->value_len == 0)
					f->value = v;
				f->value_len = (size_t)(ve - f->value);
			}
			advance(d, e);
			continue;
		}
		const char *colon = memchr(s, ':', (size_t)(e - s));
		if (!colon || colon == s)
			return fail(d, 1, err, "expected 'Field: value'");
		for (const char *c = s; c < colon; c++)
			if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
				return fail(d, (unsigned)(c - s) + 1, err,
					    "a field name holds a character that is not printable "
					    "ASCII");
		if (p->n == PL_DEB822_FIELDS_MAX)
			return fail(d, 1, err, "a paragraph has more than 256 fields");
		for (size_t i = 0; i < p->n; i++)
			if (p->f[i].name_len == (size_t)(colon - s) &&
			    !strncasecmp(p->f[i].name, s, (size_t)(colon - s)))
				return fail(d, 1, err, "a field is repeated in one paragraph");
		int rc = pl__grow(&p->f, &p->alloc, p->n + 1, sizeof(*p->f), err);
		if (rc < 0)
			return rc;
		const char *v = colon + 1, *ve = e;
		while (v < ve && blank(*v))
			v++;
		while (ve > v && blank(ve[-1]))
			ve--;
		p->f[p->n++] =
		    (struct pl__field){ s, v, (size_t)(colon - s), (size_t)(ve - v), d->line };
		advance(d, e);
	}
	return 1;
}
