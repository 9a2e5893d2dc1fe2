/*
 * fuzz-recipe.c - libFuzzer target for the recipe parser.
 *
 * The input is a whole recipe held in memory; pl_recipe_parse() touches no
 * file, so every iteration is independent.  Besides the sanitizers, the
 * error contract of plinth/common.h is checked: success leaves *err alone,
 * failure returns a negative code and sets an error with that code and a
 * message.  A broken contract aborts, so libFuzzer reports it as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plinth/recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl_recipe *r = NULL;
	struct pl_error *err = NULL;
	/* libFuzzer may hand an empty input as NULL; libyaml wants a pointer. */
	const char *text = data ? (const char *)data : "";
	int rc = pl_recipe_parse("fuzz.yaml", text, size, &r, &err);
	if (rc == 0) {
		if (!r || err)
			abort();
		/* Read what a successful parse promises, so ASan checks it. */
		uint64_t epoch;
		if (!*pl_recipe_name(r) || !*pl_recipe_version(r))
			abort();
		(void)pl_recipe_epoch(r, &epoch);
		pl_recipe_free(r);
		return 0;
	}
	if (rc > 0 || !err || pl_error_code(err) != rc || !*pl_error_message(err))
		abort();
	pl_error_free(err);
	return 0;
}
