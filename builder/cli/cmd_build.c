/* cmd_build.c - plinth build RECIPE -o DIR [--tag T] [--image-version V] [--compression
 * zstd|gzip] [--catalog C] [--frozen] [--layer-cache DIR] [--json] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth build RECIPE -o DIR [--tag TAG] [--image-version V]\n"
    "                    [--compression zstd|gzip] [--catalog C] [--frozen]\n"
    "                    [--layer-cache DIR] [--policy FILE] [--skip-tests]\n"
    "                    [--runc PATH] [--json]\n"
    "\n"
    "Build the image RECIPE describes into the OCI image layout DIR (created\n"
    "when absent; other tags in it are kept) and print its manifest digest as\n"
    "the last line.  A failed build leaves DIR as it was.\n"
    "\n"
    "A recipe with 'base: NAME@RANGE' builds on the newest approved version in\n"
    "range from the catalog: the base's layers unchanged, plus one layer with\n"
    "what the recipe adds (packages the base lacks, files, accounts).\n"
    "\n"
    "Debian packages come from the recipe's lock (x.yaml -> x.lock.json) when\n"
    "it has one; a lock made for other packages or repositories is refused.\n"
    "Without a lock they are resolved afresh from the signed repositories.\n"
    "\n"
    "Gates: the recipe is linted first (plinth lint; an error finding stops\n"
    "the build); the layer it adds is scanned (plinth scan; a secret or a\n"
    "setuid file stops it); the recipe's tests run in the image with runc\n"
    "(plinth test; a failure stops it).  A policy may opt out of findings.\n"
    "The image's SPDX SBOM and the recipe's tests are stored beside it in DIR,\n"
    "as artifacts whose subject is the image.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR        the OCI layout to write (required)\n"
    "  -t, --tag TAG           the tag to give the image (default: its version)\n"
    "      --image-version V   the image's version (MAJOR.MINOR.PATCH) instead of\n"
    "                          the recipe's (plinth rebuild gives rebuilt bases a\n"
    "                          new patch version)\n"
    "  -c, --compression ALG   zstd (default) or gzip\n"
    "      --catalog C         the catalog a recipe's base is resolved in\n"
    "      --frozen            build only from an up-to-date lock\n"
    "      --layer-cache DIR   reuse the layer a build with the same inputs made\n"
    "                          on a base that differs only where this layer does\n"
    "                          not look (no assembling, no compressing), and\n"
    "                          record the layers made\n"
    "  -p, --policy FILE       the policy for the gates (docs/gates.md)\n"
    "      --skip-tests        do not run the recipe's tests (the image's\n"
    "                          annotations record dev.plinth.tests: skipped)\n"
    "      --runc PATH         the runc to run tests with (default: on PATH)\n"
    "      --json              print a JSON summary instead\n"
    "  -h, --help              show this help\n"
    "\n"
    "Environment:\n"
    "  SOURCE_DATE_EPOCH       the clock for every timestamp (else the recipe's\n"
    "                          epoch, else 0)\n"
    "  TMPDIR                  where the recipe's tests unpack the image (default\n"
    "                          /tmp; it must not be mounted noexec)\n"
    "  PATH                    where runc is looked up\n";

struct progress {
	bool on;
	int last_pct;
};

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (!p->on || total == 0)
		return;
	int pct = (int)(done * 100 / total);
	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	fprintf(stderr, "\rplinth: writing layer %3d%% (%.1f of %.1f MiB)", pct,
		(double)done / (1 << 20), (double)total / (1 << 20));
	fflush(stderr);
}

/* The summary as one JSON document; -1 when it cannot be made or written. */
static int print_json(const char *layout, const struct pl_build_result *res)
{
	char *ref = NULL;
	if (asprintf(&ref, "oci:%s:%s", layout, res->tag) < 0)
		return -1;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I, s:I}, s:I}", "reference", ref,
			      "digest", res->manifest_digest, "tag", res->tag, "config",
			      res->config_digest, "layer", "digest", res->layer_digest, "diff_id",
			      res->diff_id, "size", (json_int_t)res->layer_size, "tar_size",
			      (json_int_t)res->tar_size, "entries", (json_int_t)res->entries);
	bool on_base = res->base[0] != '\0';
	if (j &&
	    (json_object_set_new(j, "packages", json_integer((json_int_t)res->packages)) < 0 ||
	     json_object_set_new(j, "from_lock", json_boolean(res->from_lock)) < 0 ||
	     json_object_set_new(j, "version", json_string(res->version)) < 0 ||
	     json_object_set_new(j, "layer_reused", json_boolean(res->layer_reused)) < 0 ||
	     json_object_set_new(j, "base", json_string(on_base ? res->base : "scratch")) < 0 ||
	     json_object_set_new(j, "base_digest",
				 on_base ? json_string(res->base_digest) : json_null()) < 0 ||
	     json_object_set_new(j, "base_packages", json_integer((json_int_t)res->base_packages)) <
		 0)) {
		json_decref(j);
		j = NULL;
	}
	free(ref);
	char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
	json_decref(j);
	int rc = text && puts(text) >= 0 ? 0 : -1;
	free(text);
	return rc;
}

/* ---- shared with other commands (declared in cli.h) --------------------- */

int cli_compression(const char *cmd, const char *arg, enum pl_compression *out)
{
	if (!strcmp(arg, "zstd"))
		*out = PL_COMPRESSION_ZSTD;
	else if (!strcmp(arg, "gzip"))
		*out = PL_COMPRESSION_GZIP;
	else
		return cli_usage_error(cmd, "unknown compression '%s' (use zstd or gzip)", arg);
	return 0;
}

int cli_source_date_epoch(const char *cmd, bool *has, uint64_t *clock)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	*has = false;
	if (!s || !*s)
		return 0;
	errno = 0;
	unsigned long long v = strspn(s, "0123456789") == strlen(s) ? strtoull(s, NULL, 10) : 0;
	if (strspn(s, "0123456789") != strlen(s) || errno)
		return cli_usage_error(
		    cmd, "SOURCE_DATE_EPOCH must be a whole number of seconds, not '%s'", s);
	*has = true;
	*clock = v;
	return 0;
}

void cli_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "plinth: warning: %s\n", msg);
}

int cli_recipe_catalog(const struct pl_recipe *r, const char *arg, char *buf, size_t size,
		       struct pl_catalog **out)
{
	struct pl_catalog_options co = { 0 };
	struct pl_error *err = NULL;
	*out = NULL;
	if (!strcmp(pl_recipe_base(r), "scratch"))
		return 0;
	if (cli_catalog_options(&co, arg, buf, size) != 0)
		return EXIT_FAIL;
	return co.dir && pl_catalog_open(&co, out, &err) < 0 ? cli_fail(err) : 0;
}

/* ---- plinth build ------------------------------------------------------- */

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "tag", required_argument, NULL, 't' },
		{ "compression", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "frozen", no_argument, NULL, 'F' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "image-version", required_argument, NULL, 'V' },
		{ "layer-cache", required_argument, NULL, 'L' },
		{ "policy", required_argument, NULL, 'p' },
		{ "skip-tests", no_argument, NULL, 'S' },
		{ "runc", required_argument, NULL, 'R' },
		CLI_REGISTRY_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pl_build_options o = { 0 };
	struct cli_registry reg = CLI_REGISTRY_INIT;
	const char *catalog = NULL, *policy_path = NULL;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:t:c:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.layout = optarg;
			break;
		case 't':
			o.tag = optarg;
			break;
		case 'c':
			if (cli_compression("build", optarg, &o.compression))
				return EXIT_USAGE;
			break;
		case 'j':
			json = true;
			break;
		case 'F':
			o.frozen = true;
			break;
		case 'C':
			catalog = optarg;
			break;
		case 'V':
			o.version = optarg;
			break;
		case 'L':
			o.layer_cache = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'S':
			o.skip_tests = true;
			break;
		case 'R':
			o.runc = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(cli_apt_env_help, stdout);
			fputs(cli_catalog_env_help, stdout);
			fputs(cli_registry_bases_help, stdout);
			fputs(cli_registry_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("build", argv, true);
		default: {
			int rc = cli_registry_opt(&reg, "build", c, optarg);
			if (rc < 0)
				return cli_bad_option("build", argv, false);
			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("build", optind == argc ? "a RECIPE is required"
							       : "exactly one RECIPE is expected");
	if (!o.layout)
		return cli_usage_error("build", "an output layout is required (-o DIR)");
	if (o.tag && !pl_tag_valid(o.tag))
		return cli_usage_error("build", "invalid tag '%s'", o.tag);
	if (cli_source_date_epoch("build", &o.has_clock, &o.clock))
		return EXIT_USAGE;

	char cache[4096], bases[4096];
	if (cli_apt_options(&o.apt, cache, sizeof(cache)) != 0)
		return EXIT_FAIL;
	cli_registry_bases(&reg, o.apt.cache_dir, bases, sizeof(bases), &o.base_cache, &o.registry);
	if (json)
		o.apt.note = NULL;

	struct pl_error *err = NULL;
	struct pl_recipe *r = NULL;
	struct pl_policy *policy = NULL;
	if (policy_path && pl_policy_load(policy_path, &policy, &err) < 0)
		return cli_fail(err);
	o.policy = policy;
	if (pl_recipe_load(argv[optind], &r, &err) < 0) {
		pl_policy_free(policy);
		return cli_fail(err);
	}
	char state[4096];
	if (cli_recipe_catalog(r, catalog, state, sizeof(state), &o.catalog) != 0) {
		pl_recipe_free(r);
		pl_policy_free(policy);
		return EXIT_FAIL;
	}
	o.warn = cli_warn;
	o.tmpdir = getenv("TMPDIR");
	o.path = getenv("PATH");

	struct progress prog = { isatty(STDERR_FILENO) && !json, -1 };
	o.progress = show_progress;
	o.progress_ctx = &prog;
	o.cancel = &cli_cancel;
	cli_catch_signals();

	struct pl_build_result res;
	int rc = pl_build(r, &o, &res, &err);
	if (prog.last_pct >= 0 || o.apt.note)
		fputs("\r\033[K", stderr);
	pl_recipe_free(r);
	pl_catalog_free(o.catalog);
	pl_policy_free(policy);
	if (rc < 0)
		return cli_fail(err);
	if (json ? print_json(o.layout, &res) < 0
		 : printf("built oci:%s:%s%s%s (%zu entries, layer %llu bytes%s)\n%s\n", o.layout,
			  res.tag, res.base[0] ? " on " : "", res.base, res.entries,
			  (unsigned long long)res.layer_size, res.layer_reused ? ", reused" : "",
			  res.manifest_digest) < 0)
		return cli_stdout_failed();
	return cli_flush_stdout();
}
