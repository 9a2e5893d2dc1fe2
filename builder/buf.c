/* buf.c - the bounded string buffer (see struct pl_buf in internal.h). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int pl_buf_init(struct pl_buf *b, size_t max, struct pl_error **err)
{
	b->len = 0;
	b->alloc = 64;
	b->max = max ? max : SIZE_MAX - 1;
	b->buf = malloc(b->alloc);
	if (!b->buf) {
		b->alloc = 0;
		return pl__error_nomem(err);
	}
	b->buf[0] = '\0';
	return 0;
}

void pl_buf_release(struct pl_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->alloc = 0;
}

int pl_buf_add(struct pl_buf *b, const void *p, size_t n, struct pl_error **err)
{
	if (n > b->max - b->len)
		return pl__error_set(err, PL_ELIMIT, 0, "data exceeds the limit of %zu bytes",
				     b->max);
	size_t need = b->len + n + 1;
	if (need > b->alloc) {
		size_t a = b->alloc ? b->alloc : 64;
		while (a < need)
			a = a > SIZE_MAX / 2 ? need : a * 2;
		char *nb = realloc(b->buf, a);
		if (!nb)
			return pl__error_nomem(err);
		b->buf = nb;
		b->alloc = a;
	}
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int pl_buf_adds(struct pl_buf *b, const char *s, struct pl_error **err)
{
	return pl_buf_add(b, s, strlen(s), err);
}

int pl_buf_addf(struct pl_buf *b, struct pl_error **err, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return pl__error_set(err, PL_EINVAL, 0, "cannot format '%s'", fmt);
	if ((size_t)n < sizeof(small))
		return pl_buf_add(b, small, (size_t)n, err);
	cleanup_free char *big = malloc((size_t)n + 1);
	if (!big)
		return pl__error_nomem(err);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return pl_buf_add(b, big, (size_t)n, err);
}

char *pl_buf_detach(struct pl_buf *b, size_t *len)
{
	char *s = b->buf;
	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->alloc = 0;
	return s;
}
