/*
 * fuzz-oci.c - libFuzzer target for the OCI layout reader (pl__image_open)
 * and signature verification (pl_verify_image).
 *
 * The input is a small layout: index.json, then up to eight blobs, all
 * separated by NUL bytes.  So that the fuzzer can write documents that
 * name each other, each part's placeholders are replaced before it is
 * stored, from the last part to the first (a part names only parts after
 * it): "@N" becomes "sha256:<hex>" of part N, "$N" its bare hex and "#N"
 * its size in bytes (N is 1 to 8).  Blobs are stored under their digests.
 * The image tagged "t" is then opened and verified with the public key
 * below (the seed "signed" carries a valid signature by its private half,
 * a throwaway key).  An input that starts with "oci:" is an image
 * reference for pl__oci_ref_parse instead.
 *
 * DIR is one directory per process under $TMPDIR (default /tmp), reused
 * for every input and removed at exit.  Every call is checked against the
 * error contract of plinth/common.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plinth/build.h"
#include "oci.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 9
#define PART_MAX  ((size_t)1 << 20)

static const char key_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECXat3ednJVkVpk+ZFHjMMHWa0rAi\n"
			      "rS2h13paUQ3bYOuTZKKJ3g7Y4E8IXpG5HxmZHUsRXLj2zQftDUuvdQ0+aw==\n"
			      "-----END PUBLIC KEY-----\n";

static char dir[4096];
static int dir_fd = -1;
static struct pl_key *key;

static void at_exit(void)
{
	if (dir_fd >= 0) {
		pl__remove_tree(AT_FDCWD, dir);
		close(dir_fd);
		dir_fd = -1;
	}
	pl_key_free(key);
	key = NULL;
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int n = snprintf(dir, sizeof(dir), "%s/plinth-fuzz-oci-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(dir) || !mkdtemp(dir)) {
		fprintf(stderr, "fuzz-oci: cannot create a directory under '%s'\n", tmp);
		abort();
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || pl_key_from_pem("fuzz", key_pem, sizeof(key_pem) - 1, &key, NULL) < 0)
		abort();
	atexit(at_exit);
}

static void put(int atfd, const char *name, const void *p, size_t n)
{
	int fd = openat(atfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pl__write_all(fd, p, n) < 0 || close(fd) < 0) {
		fprintf(stderr, "fuzz-oci: cannot write '%s/%s'\n", dir, name);
		abort();
	}
}

struct part {
	const char *p;
	size_t n;
	struct pl_buf out;
	char hex[2 * PL_SHA256_LEN + 1];
};

/* Part k with its placeholders replaced; false when it grows too big. */
static bool expand(struct part *parts, size_t nparts, size_t k)
{
	struct part *s = &parts[k];
	if (pl_buf_init(&s->out, PART_MAX, NULL) < 0)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		char c = s->p[i];
		size_t ref = i + 1 < s->n && s->p[i + 1] >= '1' && s->p[i + 1] <= '8'
				 ? (size_t)(s->p[i + 1] - '0')
				 : 0;
		int rc;
		if ((c == '@' || c == '$' || c == '#') && ref > k && ref < nparts) {
			char num[32];
			const struct part *r = &parts[ref];
			if (c == '@')
				rc = pl_buf_addf(&s->out, NULL, "sha256:%s", r->hex);
			else if (c == '$')
				rc = pl_buf_adds(&s->out, r->hex, NULL);
			else
				rc = snprintf(num, sizeof(num), "%zu", r->out.len) < 0
					 ? -1
					 : pl_buf_adds(&s->out, num, NULL);
			i++;
		} else {
			rc = pl_buf_add(&s->out, &c, 1, NULL);
		}
		if (rc < 0)
			return false;
	}
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(s->out.buf, s->out.len, d);
	pl__hex(d, PL_SHA256_LEN, s->hex);
	return true;
}

/* The error contract: 0 (or a positive "no such tag") without an error, a
 * negative code with an error of that code and a message. */
static void check_contract(int rc, struct pl_error *err)
{
	if (rc >= 0 ? err != NULL : !err || pl_error_code(err) != rc || !pl_error_message(err)[0])
		abort();
	pl_error_free(err);
}

static void fuzz_ref(const uint8_t *data, size_t size)
{
	char *ref = pl__strndup((const char *)data, size, NULL);
	char *d = NULL, *t = NULL;
	struct pl_error *err = NULL;
	if (!ref)
		abort();
	int rc = pl__oci_ref_parse(ref, &d, &t, &err);
	if (rc == 0 &&
	    (!d || !t || !*d || !pl_tag_valid(t) || strlen(d) + strlen(t) + 5 != strlen(ref)))
		abort();
	if (rc < 0 && (d || t))
		abort();
	check_contract(rc, err);
	free(d);
	free(t);
	free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir_fd < 0)
		setup();
	if (size >= 4 && !memcmp(data, "oci:", 4)) {
		fuzz_ref(data, size);
		return 0;
	}
	struct part parts[MAX_PARTS] = { { 0 } };
	size_t nparts = 0;
	const char *p = size ? (const char *)data : "";
	const char *end = p + size;
	while (nparts < MAX_PARTS) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		parts[nparts].p = p;
		parts[nparts].n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		nparts++;
		if (!nul)
			break;
		p = nul + 1;
	}
	bool ok = true;
	for (size_t k = nparts; ok && k-- > 0;)
		ok = expand(parts, nparts, k);

	if (ok) {
		pl__remove_tree(dir_fd, "blobs");
		if (mkdirat(dir_fd, "blobs", 0755) < 0 || mkdirat(dir_fd, "blobs/sha256", 0755) < 0)
			abort();
		int blobs = openat(dir_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (blobs < 0)
			abort();
		for (size_t k = 1; k < nparts; k++)
			put(blobs, parts[k].hex, parts[k].out.buf, parts[k].out.len);
		close(blobs);
		put(dir_fd, "index.json", parts[0].out.buf, parts[0].out.len);

		struct pl__image im = { 0 };
		struct pl_error *err = NULL;
		int rc = pl__image_open(dir, "t", size & 1, &im, &err);
		if (rc == 0 &&
		    (!im.manifest || !json_is_object(im.mjson) || !json_is_object(im.config) ||
		     strlen(im.manifest) > im.size || strcmp(im.dir, dir)))
			abort();
		if (rc == PL__OCI_NO_TAG && (!(size & 1) || im.manifest))
			abort();
		check_contract(rc, err);
		pl__image_release(&im);

		struct pl_verify_result vr;
		const struct pl_key *keys[] = { key };
		err = NULL;
		rc = pl_verify_image(dir, "t", keys, 1, &vr, &err);
		if (rc > 0 || (rc == 0 && (!vr.identity[0] ||
					   strcmp(vr.fingerprint, pl_key_fingerprint(key)))))
			abort();
		check_contract(rc, err);
	}
	for (size_t k = 0; k < nparts; k++)
		pl_buf_release(&parts[k].out);
	return 0;
}
