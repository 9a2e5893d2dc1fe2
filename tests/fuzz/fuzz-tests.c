/*
 * fuzz-tests.c - libFuzzer target for the tests stored beside an image (JSON
 * anyone who can write a layout may have written): parsed strictly, and what
 * parses is written back out and read again, which must give the same bytes.
 */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse `json`; abort when the error contract is broken. */
static int parse(const char *json, size_t len, struct pl__test **t, size_t *n)
{
	struct pl_error *err = NULL;
	int rc = pl__tests_from_json(json, len, t, n, &err);
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > PL__TESTS_MAX)
		return 0;
	struct pl__test *t = NULL;
	size_t n = 0;
	if (parse((const char *)data, size, &t, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		regex_t rx;
		const char *re[] = { t[i].expect_stdout, t[i].expect_stderr };
		if (t[i].run.n == 0 || !t[i].run.v[0][0] || t[i].expect_exit < 0 ||
		    t[i].expect_exit > 255 || t[i].timeout > PL__TEST_TIMEOUT_MAX)
			abort();
		for (size_t k = 0; k < 2; k++) {
			if (!re[k])
				continue;
			if (regcomp(&rx, re[k], REG_EXTENDED | REG_NOSUB))
				abort();
			regfree(&rx);
		}
	}
	struct pl_recipe r = { .tests = t, .ntests = n };
	char *once = pl__tests_to_json(&r, NULL);
	struct pl__test *t2 = NULL;
	size_t n2 = 0;
	if (!once || parse(once, strlen(once), &t2, &n2) < 0 || n2 != n)
		abort();
	r.tests = t2;
	char *twice = pl__tests_to_json(&r, NULL);
	if (!twice || strcmp(once, twice))
		abort();
	free(once);
	free(twice);
	pl__tests_free(t, n);
	pl__tests_free(t2, n2);
	return 0;
}
