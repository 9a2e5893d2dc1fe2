/*
 * fuzz-packages.c - libFuzzer target for Packages indexes and resolution:
 * the input is an index; every package it lists is then resolved (which
 * parses its relationships), so hostile Depends, Provides and versions reach
 * the resolver.  The error contract of plinth/common.h is checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, struct pl_error *err)
{
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 20))
		return 0;
	struct pl__universe *u = NULL;
	if (pl__universe_new("amd64", &u, NULL) < 0)
		return 0;
	char *text = malloc(size + 1);
	if (!text) {
		pl__universe_free(u);
		return 0;
	}
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	struct pl_error *err = NULL;
	int rc = pl__universe_add_index(u, "fuzz", "s", size % 2, 0, text, size, &err);
	check(rc, err);
	pl_error_free(err);
	/* resolve a few names that appear in the input */
	static const char *const names[] = { "a", "b", "libc6", "x" };
	static const struct pl__installed inst[] = { { "base", "1.0" }, { "assumed", NULL } };
	for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
		struct pl__want w = { names[i], NULL, NULL, "fuzz" };
		const struct pl__pkg **out = NULL;
		size_t n = 0;
		err = NULL;
		int r = pl__resolve(u, &w, 1, inst, 2, &out, &n, &err);
		check(r, err);
		for (size_t k = 0; k < n; k++)
			if (!out[k]->name || !out[k]->version)
				abort();
		free(out);
		pl_error_free(err);
	}
	pl__universe_free(u);
	return 0;
}
