/*
 * fuzz-debversion.c - libFuzzer target for Debian version parsing and
 * ordering.  The input is two versions separated by a NUL byte.  Besides the
 * sanitizers it checks that the order is one: antisymmetric and reflexive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debversion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 2);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	const char *a = buf, *b = buf + strlen(buf) + 1;
	if (b > buf + size)
		b = buf + size + 1;
	const char *why = NULL;
	if (!pl__debver_valid(a, &why) && !why)
		abort();
	if (sign(pl__debver_cmp(a, b)) != -sign(pl__debver_cmp(b, a)) || pl__debver_cmp(a, a))
		abort();
	free(buf);
	return 0;
}
