/* cmd_sign.c - plinth keygen PREFIX, plinth sign --key K oci:DIR:TAG, plinth verify --key P
 * oci:DIR:TAG */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char keygen_usage[] =
    "usage: plinth keygen [--json] PREFIX\n"
    "\n"
    "Make an ECDSA P-256 key pair for signing images: PREFIX.key, the private\n"
    "key (unencrypted PKCS#8 PEM, mode 0600), and PREFIX.pub, the public key\n"
    "(PEM SubjectPublicKeyInfo, as cosign and 'openssl pkey -pubout' write it).\n"
    "Existing files are never replaced.  Prints both paths and the key's\n"
    "fingerprint (sha256 of the DER public key).\n"
    "\n"
    "Options:\n"
    "      --json              print a JSON summary instead\n"
    "  -h, --help              show this help\n";

static const char sign_usage[] =
    "usage: plinth sign --key KEY [--identity REF] [--json] oci:DIR:TAG\n"
    "\n"
    "Sign the image TAG of the OCI layout DIR the way cosign does: a\n"
    "simple-signing payload naming the manifest digest, signed with ECDSA\n"
    "P-256/SHA-256, stored in DIR under the tag sha256-<digest>.sig.  Earlier\n"
    "signatures are kept; signing again with the same key and identity adds\n"
    "nothing.\n"
    "\n"
    "Options:\n"
    "  -k, --key KEY           the private key (PEM: PKCS#8 or SEC1), required\n"
    "  -i, --identity REF      the docker-reference the payload names (default:\n"
    "                          the image's org.opencontainers.image.title, else\n"
    "                          DIR's name)\n"
    "      --json              print a JSON summary instead\n"
    "  -h, --help              show this help\n";

static const char verify_usage[] =
    "usage: plinth verify --key PUB [--key PUB...] [--json] oci:DIR:TAG\n"
    "\n"
    "Check that the image TAG of the OCI layout DIR carries a cosign signature\n"
    "by one of the keys over its manifest digest.  Exits 0 when it does, 1 with\n"
    "the reason when it does not.\n"
    "\n"
    "Options:\n"
    "  -k, --key PUB           a trusted public key (PEM); may be repeated\n"
    "      --json              print a JSON summary instead\n"
    "  -h, --help              show this help\n";

#define MAX_KEYS 64

/* Print `j` compactly on one line and release it; -1 when that fails. */
static int print_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_decref(j);
	int rc = text && puts(text) >= 0 ? 0 : -1;
	free(text);
	return rc;
}

/* "oci:DIR:TAG", newly allocated; NULL when out of memory. */
static char *image_ref(const char *dir, const char *tag)
{
	char *s = NULL;
	return asprintf(&s, "oci:%s:%s", dir, tag) < 0 ? NULL : s;
}

/* Split the one image reference of a command; EXIT_USAGE after reporting. */
static int image_arg(const char *cmd, int argc, char **argv, char **dir, char **tag)
{
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind == argc
						? "an image (oci:DIR:TAG) is required"
						: "exactly one image (oci:DIR:TAG) is expected");
	struct pl_error *err = NULL;
	if (pl_oci_ref_parse(argv[optind], dir, tag, &err) < 0) {
		int rc = cli_usage_error(cmd, "%s", pl_error_message(err));
		pl_error_free(err);
		return rc;
	}
	return 0;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(keygen_usage, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("keygen", argv, true);
		default:
			return cli_bad_option("keygen", argv, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("keygen", optind == argc ? "a PREFIX is required"
								: "exactly one PREFIX is expected");
	const char *prefix = argv[optind];
	if (!*prefix)
		return cli_usage_error("keygen", "the PREFIX is empty");
	struct pl_error *err = NULL;
	if (pl_keygen(prefix, &err) < 0)
		return cli_fail(err);
	char *pub = NULL;
	if (asprintf(&pub, "%s.pub", prefix) < 0 || !pub) {
		fputs("plinth: out of memory\n", stderr);
		return EXIT_FAIL;
	}
	struct pl_key *k = NULL;
	int rc = pl_key_load(pub, &k, &err);
	if (rc < 0) {
		free(pub);
		return cli_fail(err);
	}
	int out;
	if (json)
		out =
		    print_json(json_pack("{s:s+, s:s, s:s}", "private_key", prefix, ".key",
					 "public_key", pub, "fingerprint", pl_key_fingerprint(k)));
	else
		out = printf("private key: %s.key\npublic key: %s\nfingerprint: %s\n", prefix, pub,
			     pl_key_fingerprint(k)) < 0
			  ? -1
			  : 0;
	pl_key_free(k);
	free(pub);
	if (out < 0)
		return cli_stdout_failed();
	return cli_flush_stdout();
}

int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "identity", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *identity = NULL;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (key)
				return cli_usage_error("sign", "only one --key may be given");
			key = optarg;
			break;
		case 'i':
			identity = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(sign_usage, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("sign", argv, true);
		default:
			return cli_bad_option("sign", argv, false);
		}
	}
	if (!key)
		return cli_usage_error("sign", "a private key is required (--key KEY)");
	char *dir = NULL, *tag = NULL;
	int rc = image_arg("sign", argc, argv, &dir, &tag);
	if (rc != 0)
		return rc;
	struct pl_error *err = NULL;
	struct pl_key *k = NULL;
	struct pl_sign_result res;
	rc = pl_key_load(key, &k, &err);
	if (rc == 0)
		rc = pl_sign_image(dir, tag, k, identity, &res, &err);
	int status = EXIT_OK;
	if (rc < 0) {
		status = cli_fail(err);
	} else {
		int out;
		if (json) {
			char *ref = image_ref(dir, tag), *sig = image_ref(dir, res.signature_tag);
			json_t *j = NULL;
			if (ref && sig)
				j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:s}", "reference",
					      ref, "digest", res.manifest_digest, "signature", sig,
					      "signature_tag", res.signature_tag, "signatures",
					      (json_int_t)res.signatures, "added", res.added, "key",
					      pl_key_fingerprint(k));
			out = print_json(j);
			free(ref);
			free(sig);
		} else if (res.added)
			out = printf("signed oci:%s:%s (%s) with key %s\nsignature: oci:%s:%s "
				     "(%zu signature%s)\n",
				     dir, tag, res.manifest_digest, pl_key_fingerprint(k), dir,
				     res.signature_tag, res.signatures,
				     res.signatures == 1 ? "" : "s");
		else
			out = printf(
			    "oci:%s:%s (%s) is already signed with key %s for this "
			    "identity: nothing added\nsignature: oci:%s:%s (%zu signature%s)\n",
			    dir, tag, res.manifest_digest, pl_key_fingerprint(k), dir,
			    res.signature_tag, res.signatures, res.signatures == 1 ? "" : "s");
		status = out < 0 ? cli_stdout_failed() : cli_flush_stdout();
	}
	pl_key_free(k);
	free(dir);
	free(tag);
	return status;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *paths[MAX_KEYS];
	size_t npaths = 0;
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (npaths == MAX_KEYS)
				return cli_usage_error("verify", "at most %d keys may be given",
						       MAX_KEYS);
			paths[npaths++] = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("verify", argv, true);
		default:
			return cli_bad_option("verify", argv, false);
		}
	}
	if (npaths == 0)
		return cli_usage_error("verify", "a public key is required (--key PUB)");
	char *dir = NULL, *tag = NULL;
	int rc = image_arg("verify", argc, argv, &dir, &tag);
	if (rc != 0)
		return rc;
	struct pl_key *keys[MAX_KEYS] = { NULL };
	struct pl_error *err = NULL;
	for (size_t i = 0; i < npaths && rc == 0; i++)
		rc = pl_key_load(paths[i], &keys[i], &err);
	struct pl_verify_result res;
	if (rc == 0)
		rc = pl_verify_image(dir, tag, (const struct pl_key *const *)keys, npaths, &res,
				     &err);
	int status = EXIT_OK;
	if (rc < 0) {
		status = cli_fail(err);
	} else {
		int out;
		if (json) {
			char *ref = image_ref(dir, tag);
			json_t *j = NULL;
			if (ref)
				j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "reference", ref,
					      "digest", res.manifest_digest, "key", res.fingerprint,
					      "identity", res.identity, "verified", 1);
			out = print_json(j);
			free(ref);
		} else
			out = printf("verified: oci:%s:%s: signed by %s as %s\n", dir, tag,
				     res.fingerprint, res.identity) < 0
				  ? -1
				  : 0;
		status = out < 0 ? cli_stdout_failed() : cli_flush_stdout();
	}
	for (size_t i = 0; i < npaths; i++)
		pl_key_free(keys[i]);
	free(dir);
	free(tag);
	return status;
}
