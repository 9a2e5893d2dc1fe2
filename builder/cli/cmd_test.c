/* cmd_test.c - plinth test RECIPE | oci:DIR:TAG [--recipe FILE] [--catalog C] [--timeout S]
 * [--runc PATH] [--json] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth test RECIPE [--catalog C] [--policy FILE] [--timeout S] [--runc PATH]\n"
    "                   [--json]\n"
    "       plinth test oci:DIR:TAG [--recipe FILE] [--timeout S] [--runc PATH] [--json]\n"
    "\n"
    "Run a recipe's black-box tests (its 'tests:') in its image with runc and\n"
    "report them as TAP on standard output.  RECIPE is built first into a\n"
    "temporary layout, as 'plinth build' builds it (its lint and scan gates\n"
    "included, with --policy); oci:DIR:TAG runs the tests\n"
    "stored beside that image (plinth build stores them), or those of --recipe.\n"
    "\n"
    "Each test runs in a fresh container on the image's filesystem, as its\n"
    "user, with its environment and working directory: the root read-only,\n"
    "/tmp writable, no network but loopback, no capabilities for a user other\n"
    "than root; one still running after its timeout is killed and fails.\n"
    "Nothing is left behind.  Running runc needs root.\n"
    "\n"
    "Exits 0 when every test passes, 1 when one fails or the tests cannot run,\n"
    "2 on a usage error.\n"
    "\n"
    "Options:\n"
    "  -r, --recipe FILE       run FILE's tests in the image instead of its own\n"
    "      --catalog C         the catalog a recipe's base is resolved in\n"
    "  -p, --policy FILE       the policy for building RECIPE (docs/gates.md)\n"
    "  -t, --timeout S         seconds every test may run (1 to 3600), instead of\n"
    "                          its own 'timeout' (default 30)\n"
    "      --runc PATH         the runc to run (default: runc on PATH)\n"
    "      --json              print the results as a JSON list instead\n"
    "  -h, --help              show this help\n"
    "\n"
    "Environment:\n"
    "  TMPDIR                  where the temporary directory is made (default:\n"
    "                          /tmp); the image runs from there, so it must not\n"
    "                          be mounted noexec\n"
    "  SOURCE_DATE_EPOCH       the clock a RECIPE is built with\n";

static void print_line(void *ctx, const char *line)
{
	(void)ctx;
	puts(line);
	/* a long run reports as it goes, also into a pipe */
	fflush(stdout);
}

struct results {
	json_t *list;
	bool failed; /* out of memory */
};

static void add_result(void *ctx, const struct pl_test_result *r)
{
	struct results *res = ctx;
	json_t *run = json_array();
	for (size_t i = 0; run && i < r->nrun; i++)
		if (json_array_append_new(run, json_string(r->run[i])) < 0) {
			json_decref(run);
			run = NULL;
		}
	json_t *j = json_pack(
	    "{s:I, s:o, s:b, s:I, s:I, s:b, s:I, s:s%, s:s%, s:b, s:b, s:I}", "number",
	    (json_int_t)r->number, "run", run, "ok", r->ok, "exit", (json_int_t)r->exit_status,
	    "expect-exit", (json_int_t)r->expect_exit, "timed_out", r->timed_out, "timeout",
	    (json_int_t)r->timeout, "stdout", r->stdout_text, r->stdout_len, "stderr",
	    r->stderr_text, r->stderr_len, "stdout_truncated", r->stdout_truncated,
	    "stderr_truncated", r->stderr_truncated, "milliseconds", (json_int_t)r->milliseconds);
	if (j && ((r->expect_stdout &&
		   json_object_set_new(j, "expect-stdout", json_string(r->expect_stdout)) < 0) ||
		  (r->expect_stderr &&
		   json_object_set_new(j, "expect-stderr", json_string(r->expect_stderr)) < 0))) {
		json_decref(j);
		j = NULL;
	}
	if (!j || json_array_append_new(res->list, j) < 0)
		res->failed = true;
}

/* A whole number of seconds from 1 to 3600; 0 when it is not one. */
static unsigned parse_timeout(const char *s)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 4)
		return 0;
	unsigned long v = strtoul(s, NULL, 10);
	return v >= 1 && v <= 3600 ? (unsigned)v : 0;
}

/* Build RECIPE into a temporary layout and run its tests. */
static int test_recipe(const char *path, const char *catalog, const char *policy_path,
		       const struct pl_test_options *o, unsigned *failed, struct pl_error **err)
{
	struct pl_build_options b = { 0 };
	struct pl_policy *policy = NULL;
	if (cli_source_date_epoch("test", &b.has_clock, &b.clock))
		return EXIT_USAGE;
	char cache[4096], state[4096];
	if (cli_apt_options(&b.apt, cache, sizeof(cache)) != 0)
		return EXIT_FAIL;
	struct pl_recipe *r = NULL;
	if (policy_path && pl_policy_load(policy_path, &policy, err) < 0)
		return -1;
	b.policy = policy;
	if (pl_recipe_load(path, &r, err) < 0) {
		pl_policy_free(policy);
		return -1;
	}
	if (cli_recipe_catalog(r, catalog, state, sizeof(state), &b.catalog) != 0) {
		pl_recipe_free(r);
		pl_policy_free(policy);
		return EXIT_FAIL;
	}
	b.warn = cli_warn;
	b.cancel = o->cancel;
	int rc = pl_test_recipe(r, &b, o, failed, err);
	if (b.apt.note)
		fputs("\r\033[K", stderr);
	pl_recipe_free(r);
	pl_catalog_free(b.catalog);
	pl_policy_free(policy);
	return rc < 0 ? -1 : 0;
}

/* Run the tests stored with the image `ref`, or those of the recipe `path`. */
static int test_image(const char *ref, const char *path, const struct pl_test_options *o,
		      unsigned *failed, struct pl_error **err)
{
	char *dir = NULL, *tag = NULL;
	if (pl_oci_ref_parse(ref, &dir, &tag, err) < 0) {
		int rc = cli_usage_error("test", "%s", pl_error_message(*err));
		pl_error_free(*err);
		*err = NULL;
		return rc;
	}
	struct pl_recipe *r = NULL;
	int rc = path ? pl_recipe_load(path, &r, err) : 0;
	if (rc == 0)
		rc = pl_test_image(dir, tag, r, o, failed, err);
	pl_recipe_free(r);
	free(dir);
	free(tag);
	return rc < 0 ? -1 : 0;
}

int cmd_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recipe", required_argument, NULL, 'r' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "policy", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "runc", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pl_test_options o = { 0 };
	const char *recipe = NULL, *catalog = NULL, *policy = NULL;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:t:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			recipe = optarg;
			break;
		case 'C':
			catalog = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 't':
			if (!(o.timeout = parse_timeout(optarg)))
				return cli_usage_error(
				    "test",
				    "--timeout must be a whole number of seconds from 1 to "
				    "3600, not '%s'",
				    optarg);
			break;
		case 'R':
			o.runc = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(cli_apt_env_help, stdout);
			fputs(cli_catalog_env_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("test", argv, true);
		default:
			return cli_bad_option("test", argv, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(
		    "test", optind == argc ? "a RECIPE or an image (oci:DIR:TAG) is required"
					   : "exactly one RECIPE or image is expected");
	const char *what = argv[optind];
	bool image = !strncmp(what, "oci:", 4);
	if (image && (catalog || policy))
		return cli_usage_error("test", "--%s is for a RECIPE, not an image",
				       catalog ? "catalog" : "policy");
	if (!image && recipe)
		return cli_usage_error("test", "--recipe is for an image (oci:DIR:TAG): a RECIPE "
					       "runs its own tests");
	o.path = getenv("PATH");
	o.tmpdir = getenv("TMPDIR");
	o.cancel = &cli_cancel;
	struct results res = { json_array(), false };
	if (!res.list) {
		fputs("plinth: out of memory\n", stderr);
		return EXIT_FAIL;
	}
	if (json) {
		o.result = add_result;
		o.result_ctx = &res;
	} else {
		o.tap = print_line;
	}
	cli_catch_signals();
	/* a reader that goes away (| head) must not kill plinth before it has
	 * removed its container and directory: the write fails instead */
	signal(SIGPIPE, SIG_IGN);

	struct pl_error *err = NULL;
	unsigned failed = 0;
	int rc = image ? test_image(what, recipe, &o, &failed, &err)
		       : test_recipe(what, catalog, policy, &o, &failed, &err);
	if (rc > 0 || err) {
		json_decref(res.list);
		return rc > 0 ? rc : cli_fail(err);
	}
	if (json) {
		char *text = res.failed ? NULL : json_dumps(res.list, JSON_INDENT(2));
		int out = text && puts(text) >= 0 ? 0 : -1;
		free(text);
		json_decref(res.list);
		if (res.failed) {
			fputs("plinth: out of memory\n", stderr);
			return EXIT_FAIL;
		}
		if (out < 0)
			return cli_stdout_failed();
	} else {
		json_decref(res.list);
	}
	rc = cli_flush_stdout();
	return rc != EXIT_OK ? rc : failed ? EXIT_FAIL : EXIT_OK;
}
