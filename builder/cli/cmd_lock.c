/* cmd_lock.c - plinth lock RECIPE [--output FILE] [--catalog C] [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth lock RECIPE [--output FILE] [--catalog C] [--json]\n"
    "\n"
    "Resolve RECIPE's Debian packages against its repositories (each InRelease\n"
    "checked with gpgv, every index against the signed digests) and write the\n"
    "lock beside it (x.yaml -> x.lock.json): every package with its version,\n"
    "architecture, source, file name, sha256 and size.  'plinth build' then\n"
    "installs exactly these files.  On failure the old lock is left as it was.\n"
    "For a recipe on a base (base: NAME@RANGE) the packages the base has\n"
    "installed count as installed: the lock pins only what it lacks.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE       write the lock to FILE instead\n"
    "      --catalog C         the catalog a recipe's base is resolved in\n"
    "      --json              print a JSON summary\n"
    "  -h, --help              show this help\n"
    "\n"
    "Environment:\n";

int cmd_lock(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },  { "json", no_argument, NULL, 'j' },
		{ "catalog", required_argument, NULL, 'C' }, CLI_REGISTRY_OPTIONS,
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *catalog = NULL;
	struct cli_registry reg = CLI_REGISTRY_INIT;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'C':
			catalog = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(cli_apt_env_help, stdout);
			fputs(cli_catalog_env_help, stdout);
			fputs(cli_registry_bases_help, stdout);
			fputs(cli_registry_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("lock", argv, true);
		default: {
			int rc = cli_registry_opt(&reg, "lock", c, optarg);
			if (rc < 0)
				return cli_bad_option("lock", argv, false);
			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("lock", optind == argc ? "a RECIPE is required"
							      : "exactly one RECIPE is expected");
	struct pl_lock_options o = { .warn = cli_warn };
	char cache[4096], state[4096];
	char bases[4096];
	if (cli_apt_options(&o.apt, cache, sizeof(cache)) != 0)
		return EXIT_FAIL;
	cli_registry_bases(&reg, o.apt.cache_dir, bases, sizeof(bases), &o.base_cache, &o.registry);
	if (json)
		o.apt.note = NULL;
	o.apt.cancel = &cli_cancel;
	cli_catch_signals();

	struct pl_error *err = NULL;
	struct pl_recipe *r = NULL;
	if (pl_recipe_load(argv[optind], &r, &err) < 0)
		return cli_fail(err);
	if (cli_recipe_catalog(r, catalog, state, sizeof(state), &o.catalog) != 0) {
		pl_recipe_free(r);
		return EXIT_FAIL;
	}
	char *path = output ? strdup(output) : pl_lock_path(argv[optind], &err);
	if (!path) {
		pl_recipe_free(r);
		pl_catalog_free(o.catalog);
		return err ? cli_fail(err) : EXIT_FAIL;
	}
	o.lock_path = path;
	struct pl_lock_result res;
	int rc = pl_lock(r, &o, &res, &err);
	if (o.apt.note)
		fputs("\r\033[K", stderr);
	pl_recipe_free(r);
	pl_catalog_free(o.catalog);
	if (rc < 0) {
		free(path);
		return cli_fail(err);
	}
	int out;
	if (json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:s, s:I}", "lock", path, "packages",
				      (json_int_t)res.packages, "download_size",
				      (json_int_t)res.download_size, "base",
				      res.base[0] ? res.base : "scratch", "base_packages",
				      (json_int_t)res.base_packages);
		char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
		json_decref(j);
		out = text ? puts(text) : -1;
		free(text);
	} else if (res.base[0]) {
		out = printf(
		    "locked %zu packages (%.1f MiB to download) in %s; the base %s has %zu\n",
		    res.packages, (double)res.download_size / (1 << 20), path, res.base,
		    res.base_packages);
	} else {
		out = printf("locked %zu packages (%.1f MiB to download) in %s\n", res.packages,
			     (double)res.download_size / (1 << 20), path);
	}
	free(path);
	return out < 0 ? cli_stdout_failed() : cli_flush_stdout();
}
