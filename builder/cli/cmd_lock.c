/* cmd_lock.c - plinth lock RECIPE [--output FILE] [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth lock RECIPE [--output FILE] [--json]\n"
    "\n"
    "Resolve RECIPE's Debian packages against its repositories (each InRelease\n"
    "checked with gpgv, every index against the signed digests) and write the\n"
    "lock beside it (x.yaml -> x.lock.json): every package with its version,\n"
    "architecture, source, file name, sha256 and size.  'plinth build' then\n"
    "installs exactly these files.  On failure the old lock is left as it was.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE       write the lock to FILE instead\n"
    "      --json              print a JSON summary\n"
    "  -h, --help              show this help\n"
    "\n"
    "Environment:\n";

int cmd_lock(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
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
		case 'h':
			fputs(usage_text, stdout);
			fputs(cli_apt_env_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("lock", argv, true);
		default:
			return cli_bad_option("lock", argv, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("lock", optind == argc ? "a RECIPE is required"
							      : "exactly one RECIPE is expected");
	struct pl_apt_options o = { 0 };
	char cache[4096];
	if (cli_apt_options(&o, cache, sizeof(cache)) != 0)
		return EXIT_FAIL;
	if (json)
		o.note = NULL;
	o.cancel = &cli_cancel;
	cli_catch_signals();

	struct pl_error *err = NULL;
	struct pl_recipe *r = NULL;
	if (pl_recipe_load(argv[optind], &r, &err) < 0)
		return cli_fail(err);
	char *path = output ? strdup(output) : pl_lock_path(argv[optind], &err);
	if (!path) {
		pl_recipe_free(r);
		return err ? cli_fail(err) : EXIT_FAIL;
	}
	struct pl_lock_result res;
	int rc = pl_lock(r, &o, path, &res, &err);
	if (o.note)
		fputs("\r\033[K", stderr);
	pl_recipe_free(r);
	if (rc < 0) {
		free(path);
		return cli_fail(err);
	}
	int out;
	if (json) {
		json_t *j =
		    json_pack("{s:s, s:I, s:I}", "lock", path, "packages", (json_int_t)res.packages,
			      "download_size", (json_int_t)res.download_size);
		char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
		json_decref(j);
		out = text ? puts(text) : -1;
		free(text);
	} else {
		out = printf("locked %zu packages (%.1f MiB to download) in %s\n", res.packages,
			     (double)res.download_size / (1 << 20), path);
	}
	free(path);
	return out < 0 ? cli_stdout_failed() : cli_flush_stdout();
}
