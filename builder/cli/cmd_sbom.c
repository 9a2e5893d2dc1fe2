/* cmd_sbom.c - plinth sbom oci:DIR:TAG [--format spdx|cyclonedx] [-o FILE] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth sbom [--format spdx|cyclonedx] [-o FILE] oci:DIR:TAG\n"
    "\n"
    "Print the software bill of materials of the image TAG of the OCI layout\n"
    "DIR: the image itself (name, version, manifest digest), every installed\n"
    "Debian package (name, version, architecture, source package, purl) and\n"
    "every regular file no package owns (path, sha256; SHA1 too in SPDX).  A\n"
    "package owns what its /var/lib/dpkg/status.d/PKG.md5sums lists.  Every\n"
    "layer is read and checked against its digest.  The same image always\n"
    "gives the same bytes: the timestamps are the image's creation time and\n"
    "the document's identifier derives from its manifest digest.\n"
    "\n"
    "Options:\n"
    "  -f, --format F          spdx (SPDX 2.3 JSON, the default) or cyclonedx\n"
    "                          (CycloneDX 1.5 JSON)\n"
    "  -o, --output FILE       write it to FILE (atomically) instead of\n"
    "                          standard output\n"
    "  -h, --help              show this help\n";

int cmd_sbom(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum pl_sbom_format fmt = PL_SBOM_SPDX;
	const char *output = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!pl_sbom_format_parse(optarg, &fmt))
				return cli_usage_error(
				    "sbom", "unknown format '%s' (spdx or cyclonedx)", optarg);
			break;
		case 'o':
			if (!*optarg)
				return cli_usage_error("sbom", "the output FILE is empty");
			output = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("sbom", argv, true);
		default:
			return cli_bad_option("sbom", argv, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("sbom", optind == argc
						   ? "an image (oci:DIR:TAG) is required"
						   : "exactly one image (oci:DIR:TAG) is expected");
	struct pl_error *err = NULL;
	char *dir = NULL, *tag = NULL;
	if (pl_oci_ref_parse(argv[optind], &dir, &tag, &err) < 0) {
		int rc = cli_usage_error("sbom", "%s", pl_error_message(err));
		pl_error_free(err);
		return rc;
	}
	char *text = NULL;
	size_t len = 0;
	int rc = pl_sbom_image(dir, tag, fmt, &text, &len, &err);
	if (rc == 0 && output)
		rc = pl_sbom_write(output, text, len, &err);
	int status;
	if (rc < 0)
		status = cli_fail(err);
	else if (output)
		status = EXIT_OK;
	else
		status =
		    fwrite(text, 1, len, stdout) == len ? cli_flush_stdout() : cli_stdout_failed();
	free(text);
	free(dir);
	free(tag);
	return status;
}
