/* cmd_tags.c - plinth tags HOST/REPO */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] = "usage: plinth tags [OPTIONS] HOST[:PORT]/REPO\n"
				 "\n"
				 "List the tags of the repository REPO, sorted, one a line.\n"
				 "\n"
				 "Options:\n"
				 "  --json                  print them as a JSON array\n"
				 "%s%s"
				 "  -h, --help              show this help\n";

int cmd_tags(int argc, char **argv)
{
	enum { OPT_JSON = 2000 };
	static const struct option opts[] = {
		CLI_REGISTRY_OPTIONS,
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_registry reg = CLI_REGISTRY_INIT;
	bool json = false;
	int c, rc;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:h", opts, NULL)) != -1) {
		if ((rc = cli_registry_opt(&reg, "tags", c, optarg)) >= 0) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			printf(usage_text, cli_registry_help, cli_registry_jobs_help);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("tags", argv, true);
		default:
			return cli_bad_option("tags", argv, false);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("tags", "one repository (HOST/REPO) is expected");
	cli_registry_ready(&reg, "tags", true);
	char **tags = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	rc = pl_registry_tags(argv[optind], &reg.o, &tags, &n, &err);
	cli_registry_done(&reg);
	if (rc < 0)
		return cli_fail(err);
	json_t *a = json ? json_array() : NULL;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (a)
			json_array_append_new(a, json_string(tags[i]));
		else
			ok &= printf("%s\n", tags[i]) >= 0;
		free(tags[i]);
	}
	free(tags);
	if (a)
		return cli_print_json(a);
	return ok ? cli_flush_stdout() : cli_stdout_failed();
}
