/*
 * t-runtest.c - a recipe's tests as the JSON that travels beside its image:
 * written the same way every time, read back the same, and read strictly
 * (it comes from a layout anyone may have written).
 */
#include "runtest.h"
#include "tap.h"

static const char recipe[] = "name: t\n"
			     "version: 1.0.0\n"
			     "tests:\n"
			     "  - run: [/usr/local/bin/hello, \"two words\", \"\"]\n"
			     "    expect-stdout: \"^hello\"\n"
			     "  - run: [/bin/false]\n"
			     "    expect-exit: 1\n"
			     "    expect-stderr: \"x|y\"\n"
			     "    timeout: 5\n";

static const char want[] =
    "{\"tests\":[{\"expect-exit\":0,\"expect-stdout\":\"^hello\",\"run\":[\"/usr/local/bin/hello\","
    "\"two words\",\"\"]},{\"expect-exit\":1,\"expect-stderr\":\"x|y\",\"run\":[\"/bin/false\"],"
    "\"timeout\":5}]}";

static void test_round_trip(void)
{
	struct pl_recipe *r = NULL;
	struct pl_error *err = NULL;
	check_int(pl_recipe_parse("t.yaml", recipe, sizeof(recipe) - 1, &r, &err), ==, 0);
	if (!r) {
		tap_diag(pl_error_message(err));
		pl_error_free(err);
		return;
	}
	char *json = pl__tests_to_json(r, NULL);
	check_str(json, want);
	struct pl__test *t = NULL;
	size_t n = 0;
	check_int(pl__tests_from_json(json, strlen(json), &t, &n, NULL), ==, 0);
	check_int(n, ==, 2);
	if (n == 2) {
		check_int(t[0].run.n, ==, 3);
		check_str(t[0].run.v[1], "two words");
		check_str(t[0].run.v[2], "");
		check_str(t[0].expect_stdout, "^hello");
		check(t[0].expect_stderr == NULL);
		check_int(t[0].expect_exit, ==, 0);
		check_int(t[0].timeout, ==, 0);
		check_int(t[1].expect_exit, ==, 1);
		check_str(t[1].expect_stderr, "x|y");
		check_int(t[1].timeout, ==, 5);
	}
	pl__tests_free(t, n);
	free(json);
	pl_recipe_free(r);

	static const char none[] = "name: t\nversion: 1.0.0\n";
	check_int(pl_recipe_parse("n.yaml", none, sizeof(none) - 1, &r, NULL), ==, 0);
	json = r ? pl__tests_to_json(r, NULL) : NULL;
	check_str(json, "{\"tests\":[]}");
	free(json);
	pl_recipe_free(r);
}

static const struct {
	const char *json, *message;
} bads[] = {
	{ "", "the tests: JSON: line 1, column 0: '[' or '{' expected near end of file" },
	{ "[]", "the tests: not a JSON object" },
	{ "{}", "the tests: 'tests' must be a list" },
	{ "{\"tests\":[],\"more\":1}", "the tests: unknown key 'more'" },
	{ "{\"tests\":[1]}", "the tests: tests[0]: not an object" },
	{ "{\"tests\":[{}]}",
	  "the tests: tests[0]: 'run' must be a list of 1 to 1024 strings, the program first" },
	{ "{\"tests\":[{\"run\":[]}]}",
	  "the tests: tests[0]: 'run' must be a list of 1 to 1024 strings, the program first" },
	{ "{\"tests\":[{\"run\":[\"\"]}]}",
	  "the tests: tests[0]: 'run' must be a list of 1 to 1024 strings, the program first" },
	{ "{\"tests\":[{\"run\":\"/bin/x\"}]}",
	  "the tests: tests[0]: 'run' must be a list of 1 to 1024 strings, the program first" },
	{ "{\"tests\":[{\"run\":[\"/x\", 1]}]}",
	  "the tests: tests[0]: 'run' must be a list of 1 to 1024 strings, the program first" },
	{ "{\"tests\":[{\"run\":[\"/x\"]},{\"run\":[\"/x\"],\"expect-exit\":256}]}",
	  "the tests: tests[1]: 'expect-exit' must be a whole number from 0 to 255" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"expect-exit\":\"0\"}]}",
	  "the tests: tests[0]: 'expect-exit' must be a whole number from 0 to 255" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"timeout\":0}]}",
	  "the tests: tests[0]: 'timeout' must be a whole number from 1 to 3600" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"timeout\":1.5}]}",
	  "the tests: tests[0]: 'timeout' must be a whole number from 1 to 3600" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"expect-stdout\":null}]}",
	  "the tests: tests[0]: 'expect-stdout' must be a string" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"expect-stderr\":\"(\"}]}",
	  "the tests: tests[0]: 'expect-stderr' is not a valid extended regular expression: "
	  "Unmatched ( or \\(" },
	{ "{\"tests\":[{\"run\":[\"/"
	  "x\"],\"expect-stdout\":\"((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+\"}]}",
	  "the tests: tests[0]: 'expect-stdout' is refused: its repetitions expand too far" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"expect-stdout\":\"o++\"}]}",
	  "the tests: tests[0]: 'expect-stdout' is refused: it repeats a repetition" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"expect-stdout\":\"(a{255}){255}\"}]}",
	  "the tests: tests[0]: 'expect-stdout' is refused: its repetitions expand too far" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"expect_stdout\":\"x\"}]}",
	  "the tests: tests[0]: unknown key 'expect_stdout'" },
	{ "{\"tests\":[{\"run\":[\"/x\"],\"run\":[\"/y\"]}]}",
	  "the tests: JSON: line 1, column 29: duplicate object key near '\"run\"'" },
	{ "{\"tests\":[{\"run\":[\"/x\\u0000y\"]}]}",
	  "the tests: JSON: line 1, column 29: \\u0000 is not allowed without JSON_ALLOW_NUL near "
	  "'\"/x\\u0000y\"'" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct pl__test *t = NULL;
		size_t n = 0;
		struct pl_error *err = NULL;
		check_int(pl__tests_from_json(bads[i].json, strlen(bads[i].json), &t, &n, &err), ==,
			  PL_EINVAL);
		check(t == NULL);
		check_str(pl_error_message(err), bads[i].message);
		pl_error_free(err);
	}
}

static void test_limits(void)
{
	/* one test more than allowed */
	cleanup_buf struct pl_buf b = { 0 };
	check_int(pl_buf_init(&b, 0, NULL), ==, 0);
	check_int(pl_buf_adds(&b, "{\"tests\":[", NULL), ==, 0);
	bool built = true;
	for (int i = 0; i <= PL__TESTS_N_MAX; i++)
		built &=
		    pl_buf_adds(&b, i ? ",{\"run\":[\"/x\"]}" : "{\"run\":[\"/x\"]}", NULL) == 0;
	check(built);
	check_int(pl_buf_adds(&b, "]}", NULL), ==, 0);
	struct pl__test *t = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	check_int(pl__tests_from_json(b.buf, b.len, &t, &n, &err), ==, PL_ELIMIT);
	check_str(pl_error_message(err), "the tests: more than 1000 tests");
	pl_error_free(err);
}

int main(void)
{
	test_round_trip();
	test_bad();
	test_limits();
	return tap_done();
}
