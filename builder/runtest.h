/*
 * runtest.h - a recipe's black-box tests: carried beside an image as JSON,
 * and run in the image with runc (see plinth/test.h for what a run does).
 *
 * The tests travel with an image as an artifact manifest whose subject is
 * the image manifest, of type PL__TESTS_ARTIFACT, with one layer:
 *
 *   {"tests":[{"run":["/usr/local/bin/hello"],"expect-exit":0,
 *              "expect-stdout":"^hello","expect-stderr":"","timeout":30}]}
 *
 * "run" is required (a non-empty list of strings); an absent
 * "expect-stdout" or "expect-stderr" is not checked, an absent
 * "expect-exit" is 0 and an absent "timeout" PL__TEST_TIMEOUT.  That
 * JSON is read as untrusted: unknown keys, wrong types, values out of
 * range and regular expressions a recipe could not hold are errors.
 */
#ifndef PLINTH_RUNTEST_H
#define PLINTH_RUNTEST_H

#include <jansson.h>

#include "plinth/test.h"
#include "baseimg.h"
#include "recipe-impl.h"

#define PL__TESTS_ARTIFACT "application/vnd.dev.plinth.tests.v1+json"
#define PL__TESTS_MAX      ((size_t)1 << 20) /* bytes of the tests' JSON */
#define PL__TESTS_N_MAX    1000              /* tests in it */
#define PL__TEST_ARGS_MAX  1024              /* words of one test's run */
#define PL__TEST_OUT_MAX   ((size_t)1 << 20) /* output kept, each of stdout, stderr */

/*
 * The tests of `r` as the artifact's JSON: sorted keys, no insignificant
 * whitespace, so the same tests always give the same bytes (and digest).
 * `{"tests":[]}` for a recipe without tests.  NULL with *err when out of
 * memory; the caller frees the string.
 */
char *pl__tests_to_json(const struct pl_recipe *r, struct pl_error **err);

/*
 * Parse the artifact's JSON (`len` bytes of `data`) into *tests (*n of
 * them; the caller frees them with pl__tests_free()).  Errors say which
 * test and key: "the tests: tests[1]: 'timeout' must be ...".
 */
int pl__tests_from_json(const char *data, size_t len, struct pl__test **tests, size_t *n,
			struct pl_error **err);
void pl__tests_free(struct pl__test *tests, size_t n);

/*
 * Run the `n` tests in the image whose manifest lists `layers` (their
 * blobs from `src`, so an image not yet in any layout can be tested) and
 * whose config blob is `config` (parsed: "os", "architecture", and
 * "config" with User, Env, WorkingDir).  TAP goes to o->tap, each result
 * to o->result.  No tests is "1..0 # SKIP no tests" and needs neither
 * root nor runc.
 *
 * @return 0 when every test ran, *failed saying how many failed; else a
 *         negative pl_code with *err (not root, no runc, an image that
 *         cannot be unpacked or is for another platform, a user it does
 *         not have, runc that cannot be started, cancelled).
 */
int pl__tests_run(const struct pl__blob_source *src, const json_t *layers, const json_t *config,
		  const struct pl__test *tests, size_t n, const struct pl_test_options *o,
		  unsigned *failed, struct pl_error **err);

#endif
