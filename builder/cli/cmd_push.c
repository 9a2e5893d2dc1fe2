/* cmd_push.c - plinth push oci:DIR:TAG HOST/REPO:TAG */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth push [OPTIONS] oci:DIR:TAG HOST[:PORT]/REPO:TAG\n"
    "\n"
    "Push the image TAG of the OCI layout DIR to a registry, with its\n"
    "signature (tag sha256-HEX.sig, as cosign stores it) and the artifacts\n"
    "plinth stored beside it (SBOM, tests; pushed by digest, and listed in\n"
    "the referrers tag sha256-HEX where the registry has no referrers API).\n"
    "Only the blobs the registry lacks are sent, several at once; with\n"
    "--mount-from, the registry is asked to mount them from another of its\n"
    "repositories first.  Every blob is checked against its digest as it is\n"
    "sent; the manifest goes last, so the registry never holds half an image.\n"
    "Prints the pushed manifest's digest as its last line.\n"
    "\n"
    "Options:\n"
    "  --mount-from REPO       mount blobs the registry has in REPO (same\n"
    "                          registry) instead of uploading them\n"
    "  --chunk-size BYTES      upload blobs larger than this in chunks of this\n"
    "                          size (default 64 MiB)\n"
    "  --json                  print what was done as JSON\n"
    "%s%s"
    "  -h, --help              show this help\n";

static json_t *result_json(const char *dst, const struct pl_push_result *r)
{
	json_t *arts = json_array();
	for (size_t i = 0; arts && i < r->nartifacts; i++)
		json_array_append_new(arts, json_pack("{s:s, s:s}", "reference",
						      r->artifacts[i].reference, "artifactType",
						      r->artifacts[i].artifact_type));
	return json_pack("{s:s, s:s, s:{s:i, s:i, s:i}, s:I, s:o}", "reference", dst, "digest",
			 r->digest, "blobs", "uploaded", (int)r->uploaded, "mounted",
			 (int)r->mounted, "present", (int)r->present, "bytes_uploaded",
			 (json_int_t)r->bytes_uploaded, "artifacts", arts ? arts : json_null());
}

int cmd_push(int argc, char **argv)
{
	enum { OPT_MOUNT = 2000, OPT_CHUNK, OPT_JSON };
	static const struct option opts[] = {
		CLI_REGISTRY_OPTIONS,
		{ "jobs", required_argument, NULL, 'j' },
		{ "mount-from", required_argument, NULL, OPT_MOUNT },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_registry reg = CLI_REGISTRY_INIT;
	const char *mount = NULL;
	bool json = false;
	int c, rc;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:h", opts, NULL)) != -1) {
		if ((rc = cli_registry_opt(&reg, "push", c, optarg)) >= 0) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case OPT_MOUNT:
			mount = optarg;
			break;
		case OPT_CHUNK: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || strspn(optarg, "0123456789") != strlen(optarg) ||
			    v < 1024 || v > (1ULL << 40))
				return cli_usage_error("push",
						       "--chunk-size takes a number of bytes, at "
						       "least 1024");
			reg.o.chunk_size = v;
			break;
		}
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			printf(usage_text, cli_registry_help, cli_registry_jobs_help);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("push", argv, true);
		default:
			return cli_bad_option("push", argv, false);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("push", "an image (oci:DIR:TAG) and where to push it "
					       "(HOST/REPO:TAG) are expected");
	const char *src = argv[optind], *dst = argv[optind + 1];
	cli_registry_ready(&reg, "push", json);
	struct pl_push_result res;
	struct pl_error *err = NULL;
	rc = pl_push(src, dst, mount, &reg.o, &res, &err);
	cli_registry_done(&reg);
	if (rc < 0)
		return cli_fail(err);
	int status = EXIT_OK;
	if (json) {
		status = cli_print_json(result_json(dst, &res));
	} else {
		fprintf(stderr,
			"plinth: pushed %s: %u blobs uploaded (%.1f MiB), %u mounted, %u there "
			"already; %zu artifacts\n",
			dst, res.uploaded, (double)res.bytes_uploaded / (1 << 20), res.mounted,
			res.present, res.nartifacts);
		if (printf("%s\n", res.digest) < 0)
			status = cli_stdout_failed();
	}
	pl_push_result_release(&res);
	return status == EXIT_OK ? cli_flush_stdout() : status;
}
