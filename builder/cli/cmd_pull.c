/* cmd_pull.c - plinth pull HOST/REPO:TAG oci:DIR:TAG */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth pull [OPTIONS] HOST[:PORT]/REPO:TAG|HOST[:PORT]/REPO@sha256:HEX oci:DIR:TAG\n"
    "\n"
    "Pull an image from a registry into the OCI layout DIR as TAG, with its\n"
    "signature and the artifacts about it (SBOM, tests) the registry has.\n"
    "Every byte received is checked against its digest, and the layout\n"
    "changes only when all of it arrived whole.  OCI images and Docker\n"
    "schema 2 images are read; a Docker image is stored as an OCI image\n"
    "(same config and layers, another manifest digest).  From an index, the\n"
    "image for this machine's platform is taken.  Blobs the layout has\n"
    "already are not downloaded.  Prints the stored manifest's digest as its\n"
    "last line.\n"
    "\n"
    "Options:\n"
    "  --platform OS/ARCH[/VARIANT]  the image to take from an index\n"
    "                          (default: linux and this machine's architecture)\n"
    "  --json                  print what was done as JSON\n"
    "%s%s"
    "  -h, --help              show this help\n";

int cmd_pull(int argc, char **argv)
{
	enum { OPT_PLATFORM = 2000, OPT_JSON };
	static const struct option opts[] = {
		CLI_REGISTRY_OPTIONS,
		{ "jobs", required_argument, NULL, 'j' },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_registry reg = CLI_REGISTRY_INIT;
	const char *platform = NULL;
	bool json = false;
	int c, rc;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:h", opts, NULL)) != -1) {
		if ((rc = cli_registry_opt(&reg, "pull", c, optarg)) >= 0) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case OPT_PLATFORM:
			platform = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			printf(usage_text, cli_registry_help, cli_registry_jobs_help);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("pull", argv, true);
		default:
			return cli_bad_option("pull", argv, false);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("pull", "an image (HOST/REPO:TAG) and where to put it "
					       "(oci:DIR:TAG) are expected");
	const char *src = argv[optind], *dst = argv[optind + 1];
	cli_registry_ready(&reg, "pull", json);
	struct pl_pull_result res;
	struct pl_error *err = NULL;
	rc = pl_pull(src, dst, platform, &reg.o, &res, &err);
	cli_registry_done(&reg);
	if (rc < 0)
		return cli_fail(err);
	if (json)
		return cli_print_json(
		    json_pack("{s:s, s:s, s:s, s:b, s:{s:i, s:i}, s:I, s:i}", "reference", src,
			      "digest", res.digest, "remote_digest", res.remote_digest, "converted",
			      res.converted, "blobs", "fetched", (int)res.fetched, "present",
			      (int)res.present, "bytes_fetched", (json_int_t)res.bytes_fetched,
			      "artifacts", (int)res.artifacts));
	fprintf(stderr,
		"plinth: pulled %s%s: %u blobs fetched (%.1f MiB), %u there already; %u "
		"artifacts\n",
		src, res.converted ? " (a Docker image, stored as OCI)" : "", res.fetched,
		(double)res.bytes_fetched / (1 << 20), res.present, res.artifacts);
	if (printf("%s\n", res.digest) < 0)
		return cli_stdout_failed();
	return cli_flush_stdout();
}
