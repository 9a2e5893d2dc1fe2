/*
 * deb822.h - Debian control-format paragraphs (Packages, Release, control,
 * status and .sources files).
 *
 * A paragraph is a run of "Field: value" lines, continuation lines starting
 * with a space or tab, ended by a blank line or the end of input.  Values
 * point into the input, not copied: from the first non-blank after the
 * colon to the last non-blank of the field's last line, continuation lines
 * included verbatim ("\n " between them).  Lines starting with '#' are
 * comments, as in .sources files.  Field names compare case-insensitively.
 */
#ifndef PLINTH_DEB822_H
#define PLINTH_DEB822_H

#include "internal.h"

#define PL_DEB822_FIELDS_MAX 256 /* fields in one paragraph */

struct pl__field {
	const char *name, *value;
	size_t name_len, value_len;
	unsigned line;
};

struct pl__para {
	struct pl__field *f;
	size_t n, alloc;
	unsigned line; /* of its first field */
};

struct pl__deb822 {
	const char *name; /* for messages */
	const char *text;
	size_t len, pos;
	unsigned line; /* 1-based line of text[pos] */
};

void pl__deb822_init(struct pl__deb822 *d, const char *name, const char *text, size_t len);

/*
 * Read the next paragraph into *p (its fields reuse p's storage).
 * @return 1 with a paragraph, 0 at the end of input, or a negative pl_code
 *         with *err set ("NAME:LINE:COL: ...") for a malformed line, a
 *         continuation with no field, a repeated field or too many fields.
 */
int pl__deb822_next(struct pl__deb822 *d, struct pl__para *p, struct pl_error **err);

/* The field `name` of `p`, or NULL. */
const struct pl__field *pl__para_get(const struct pl__para *p, const char *name);

void pl__para_release(struct pl__para *p);
#define cleanup_para __attribute__((cleanup(pl__para_release)))

#endif
