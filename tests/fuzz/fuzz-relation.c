/*
 * fuzz-relation.c - libFuzzer target for Depends-style relationship fields.
 * Every parsed alternative is checked against a version, and the error
 * contract of plinth/common.h is checked as in the other targets.
 */
#include <stdint.h>
#include <stdlib.h>

#include "relation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl__relations r = { 0 };
	struct pl_error *err = NULL;
	int rc = pl__relations_parse("fuzz", data ? (const char *)data : "", size, &r, &err);
	if ((rc == 0) != (err == NULL) || (rc < 0 && (pl_error_code(err) != rc || r.c)))
		abort();
	for (size_t i = 0; i < r.n; i++) {
		if (r.c[i].n == 0)
			abort();
		for (size_t j = 0; j < r.c[i].n; j++) {
			const struct pl__rel *a = &r.c[i].alt[j];
			if (!a->name || (a->op != PL__REL_ANY) != (a->version != NULL))
				abort();
			(void)pl__rel_satisfied(a, "1:2.36-9+deb12u14");
		}
	}
	pl__relations_release(&r);
	pl_error_free(err);
	return 0;
}
