/* t-sign.c - keys, raw ECDSA signatures and cosign-style image signatures. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "oci.h"
#include "sign.h"
#include "tap.h"

static char top[4096];
static bool have_openssl;

static char *at(const char *name)
{
	return pl__asprintf(NULL, "%s/%s", top, name);
}

static void put_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pl__write_all(fd, p, n) < 0 || close(fd) < 0) {
		printf("Bail out! cannot write '%s'\n", path);
		exit(1);
	}
}

static char *slurp(const char *path)
{
	char *s = NULL;
	size_t n = 0;
	return pl__read_file(path, 1 << 20, &s, &n, NULL) < 0 ? NULL : s;
}

/* Run a shell command in `top`; its first line of output, or NULL when it fails. */
static char *run(const char *cmd)
{
	char *full = pl__asprintf(NULL, "cd '%s' && { %s; } 2>/dev/null", top, cmd);
	FILE *f = popen(full, "r");
	free(full);
	if (!f)
		return NULL;
	char line[512] = "";
	bool got = fgets(line, sizeof(line), f) != NULL;
	int st = pclose(f);
	if (st != 0)
		return NULL;
	line[strcspn(line, "\n")] = '\0';
	return got ? pl__strdup(line, NULL) : pl__strdup("", NULL);
}

/* The message of a failed call, for check_str; frees nothing. */
static const char *msg(const struct pl_error *e)
{
	return e ? pl_error_message(e) : NULL;
}

static struct pl_key *load(const char *name)
{
	char *path = at(name);
	struct pl_key *k = NULL;
	struct pl_error *err = NULL;
	if (pl_key_load(path, &k, &err) < 0) {
		printf("# cannot load '%s': %s\n", path, msg(err));
		pl_error_free(err);
	}
	free(path);
	return k;
}

static void test_keygen(void)
{
	char *prefix = at("k");
	char *key = at("k.key"), *pub = at("k.pub");
	struct pl_error *err = NULL;
	mode_t old = umask(0277); /* the key's mode must not depend on the umask */
	check_int(pl_keygen(prefix, &err), ==, 0);
	umask(old);
	check(err == NULL);
	struct stat st;
	check_int(stat(key, &st), ==, 0);
	check_int(st.st_mode & 07777, ==, 0600);
	check_int(stat(pub, &st), ==, 0);
	check_int(st.st_mode & 07777, ==, 0644);
	char *ktext = slurp(key), *ptext = slurp(pub);
	check(ktext && !strncmp(ktext, "-----BEGIN PRIVATE KEY-----\n", 28));
	check(ptext && !strncmp(ptext, "-----BEGIN PUBLIC KEY-----\n", 27));

	/* Never replaced, whichever of the two is in the way. */
	check_int(pl_keygen(prefix, &err), ==, PL_EINVAL);
	char *want = pl__asprintf(NULL, "'%s' already exists (keygen never replaces a key)", key);
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;
	char *k2 = slurp(key);
	check_str(k2, ktext);
	free(k2);
	char *p2 = at("p"), *p2key = at("p.key"), *p2pub = at("p.pub");
	put_file(p2pub, "x", 1);
	check_int(pl_keygen(p2, &err), ==, PL_EINVAL);
	want = pl__asprintf(NULL, "'%s' already exists (keygen never replaces a key)", p2pub);
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;
	check_int(access(p2key, F_OK), ==, -1);

	/* A directory that does not exist: nothing is left behind. */
	char *nodir = at("nodir/k");
	check_int(pl_keygen(nodir, &err), ==, PL_ESYS);
	check(err && strstr(msg(err), "cannot create"));
	pl_error_free(err);
	err = NULL;
	free(nodir);

	free(p2);
	free(p2key);
	free(p2pub);
	free(ktext);
	free(ptext);
	free(prefix);
	free(key);
	free(pub);
}

static void test_load(void)
{
	struct pl_key *priv = load("k.key"), *pub = load("k.pub");
	check(priv && pub);
	if (!priv || !pub) {
		pl_key_free(priv);
		pl_key_free(pub);
		return;
	}
	check(pl_key_is_private(priv));
	check(!pl_key_is_private(pub));
	check_str(pl_key_fingerprint(priv), pl_key_fingerprint(pub));
	check_int(strlen(pl_key_fingerprint(pub)), ==, PL_DIGEST_STR_LEN);
	check(!strncmp(pl_key_fingerprint(pub), "sha256:", 7));
	char *path = at("k.pub");
	char *ptext = slurp(path);
	check_str(pl_key_public_pem(priv), ptext);
	check_str(pl_key_public_pem(pub), ptext);

	/* From memory: public keys only. */
	struct pl_key *m = NULL;
	struct pl_error *err = NULL;
	check_int(pl_key_from_pem("catalog key", ptext, strlen(ptext), &m, &err), ==, 0);
	check_str(m ? pl_key_fingerprint(m) : NULL, pl_key_fingerprint(pub));
	pl_key_free(m);
	m = NULL;
	char *ktext = slurp(path = (free(path), at("k.key")));
	check_int(pl_key_from_pem("catalog key", ktext, strlen(ktext), &m, &err), ==, PL_EINVAL);
	check_str(msg(err), "key 'catalog key' is a private key where a public key is expected");
	pl_error_free(err);
	err = NULL;
	check_int(pl_key_from_pem("junk", "hello", 5, &m, &err), ==, PL_EINVAL);
	check(err && !strncmp(msg(err), "key 'junk' is not a PEM public key: ", 36));
	pl_error_free(err);
	err = NULL;
	/* The same key laid out otherwise (CRLF lines) takes OpenSSL's general
	 * way, and both ways agree on fingerprint and PEM. */
	size_t pn = strlen(ptext), cn = 0;
	char *crlf = malloc(2 * pn + 1);
	for (size_t i = 0; crlf && i < pn; i++) {
		if (ptext[i] == '\n')
			crlf[cn++] = '\r';
		crlf[cn++] = ptext[i];
	}
	if (crlf)
		crlf[cn] = '\0';
	check_int(crlf ? pl_key_from_pem("crlf", crlf, cn, &m, &err) : -1, ==, 0);
	check_str(m ? pl_key_fingerprint(m) : NULL, pl_key_fingerprint(pub));
	check_str(m ? pl_key_public_pem(m) : NULL, ptext);
	pl_key_free(m);
	m = NULL;
	free(crlf);
	/* A point off the curve (its last byte changed) is no key, whichever
	 * way it is read. */
	char *off = pl__strdup(ptext, NULL);
	char *last = off ? strstr(off, "==\n-----END") : NULL;
	check(last != NULL);
	if (last) {
		last[-1] = last[-1] == 'A' ? 'Q' : 'A';
		check_int(pl_key_from_pem("off", off, strlen(off), &m, &err), ==, PL_EINVAL);
		check(err && !strncmp(msg(err), "key 'off' is not a PEM public key", 33));
		pl_error_free(err);
		err = NULL;
	}
	free(off);
	/* A PEM block that is cut short. */
	check_int(pl_key_from_pem("cut", ptext, strlen(ptext) / 2, &m, &err), ==, PL_EINVAL);
	check(err && !strncmp(msg(err), "key 'cut' is not a PEM public key", 33));
	pl_error_free(err);
	err = NULL;
	free(ktext);
	free(path);
	free(ptext);

	/* A missing file. */
	path = at("absent.pem");
	check_int(pl_key_load(path, &m, &err), ==, PL_ESYS);
	check(err && strstr(msg(err), "key: cannot open"));
	pl_error_free(err);
	err = NULL;
	free(path);

	if (!have_openssl) {
		tap_diag("openssl is not installed: skipping keys made by the openssl CLI");
		pl_key_free(priv);
		pl_key_free(pub);
		return;
	}
	/* The fingerprint is sha256 of the DER SPKI, as openssl writes it. */
	char *fp = run("openssl pkey -pubin -in k.pub -outform DER | sha256sum | cut -d' ' -f1");
	char *want = fp ? pl__asprintf(NULL, "sha256:%s", fp) : NULL;
	check_str(pl_key_fingerprint(pub), want);
	free(fp);
	free(want);

	/* SEC1 "EC PRIVATE KEY" of the same key, with its parameters block. */
	free(
	    run("openssl ec -in k.key -out sec1.pem && openssl ecparam -name prime256v1 >params.pem"
		" && cat params.pem sec1.pem >sec1-params.pem"));
	struct pl_key *sec1 = load("sec1.pem"), *sec1p = load("sec1-params.pem");
	char *t = at("sec1.pem"), *text = slurp(t);
	check(text && strstr(text, "-----BEGIN EC PRIVATE KEY-----"));
	check(sec1 && pl_key_is_private(sec1));
	check_str(sec1 ? pl_key_fingerprint(sec1) : NULL, pl_key_fingerprint(pub));
	check_str(sec1p ? pl_key_fingerprint(sec1p) : NULL, pl_key_fingerprint(pub));
	pl_key_free(sec1);
	pl_key_free(sec1p);
	free(text);
	free(t);

	/* Other algorithms and curves are refused by name. */
	free(run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.pem"));
	free(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem"));
	free(run("openssl pkey -in p384.pem -pubout -out p384.pub"));
	free(run("openssl pkey -in k.key -aes256 -passout pass:secret -out enc.pem"));
	free(run("openssl ec -in k.key -aes256 -passout pass:secret -out enc-sec1.pem"));
	static const struct {
		const char *file, *want;
	} refused[] = {
		{ "rsa.pem", "is of type 'RSA', not ECDSA P-256" },
		{ "p384.pem", "is on curve 'secp384r1', not P-256" },
		{ "p384.pub", "is on curve 'secp384r1', not P-256" },
		{ "enc.pem", "is encrypted: plinth reads unencrypted PEM keys (decrypt it with "
			     "'openssl pkey')" },
		{ "enc-sec1.pem", "is encrypted: plinth reads unencrypted PEM keys (decrypt it "
				  "with 'openssl pkey')" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *p = at(refused[i].file);
		check_int(access(p, F_OK), ==, 0);
		check_int(pl_key_load(p, &m, &err), ==, PL_EINVAL);
		check(m == NULL);
		want = pl__asprintf(NULL, "key '%s' %s", p, refused[i].want);
		check_str(msg(err), want);
		free(want);
		pl_error_free(err);
		err = NULL;
		free(p);
	}
	/* OpenSSL's error queue is drained into the message, never left behind. */
	check_int(ERR_peek_error(), ==, 0);
	pl_key_free(priv);
	pl_key_free(pub);
}

static void test_raw(void)
{
	struct pl_key *priv = load("k.key"), *pub = load("k.pub");
	char *p2 = at("other");
	struct pl_error *err = NULL;
	check_int(pl_keygen(p2, &err), ==, 0);
	struct pl_key *other = load("other.pub");
	free(p2);
	if (!priv || !pub || !other) {
		check(!"keys");
		pl_key_free(priv);
		pl_key_free(pub);
		pl_key_free(other);
		return;
	}
	static const char data[] = "some payload";
	char *b64 = NULL;
	check_int(pl__sign_b64(priv, data, sizeof(data) - 1, &b64, &err), ==, 0);
	check(b64 && strlen(b64) >= 88 && strlen(b64) <= 96 && strlen(b64) % 4 == 0);
	check(b64 && !strchr(b64, '\n'));
	check(pl__verify_b64(pub, data, sizeof(data) - 1, b64));
	check(pl__verify_b64(priv, data, sizeof(data) - 1, b64));
	check(!pl__verify_b64(other, data, sizeof(data) - 1, b64));
	check(!pl__verify_b64(pub, data, sizeof(data) - 2, b64));
	check(!pl__verify_b64(pub, "some paylaod", 12, b64));

	/* A signature changed in one place. */
	char *bad = pl__strdup(b64, NULL);
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	check(!pl__verify_b64(pub, data, sizeof(data) - 1, bad));
	free(bad);
	/* Extra bytes after the DER (valid base64 of more data). */
	bad = pl__asprintf(NULL, "%sAAAA", b64);
	check(!pl__verify_b64(pub, data, sizeof(data) - 1, bad));
	free(bad);
	/* Malformed base64 of every kind. */
	static const char *const garbage[] = {
		"",       "A",        "AB",   "ABC",  "====",   "A===", "AB=A",
		"ABC=\n", "AB==AAAA", "AB!=", "AB-_", "MEUCIQ", "MEY=", /* non-zero padding bits */
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		check(!pl__verify_b64(pub, data, sizeof(data) - 1, garbage[i]));
	/* A signature whose padding bits are not zero decodes to the same
	 * bytes, but is not what an encoder writes: refused.  (DER of 70 or
	 * 71 bytes is padded; 72 is not: sign until it is.) */
	char *padded = NULL;
	for (int i = 0; i < 64 && !padded; i++) {
		char *s = NULL;
		check_int(pl__sign_b64(priv, data, sizeof(data) - 1, &s, &err), ==, 0);
		if (s && s[strlen(s) - 1] == '=')
			padded = s;
		else
			free(s);
	}
	check(padded != NULL);
	if (padded) {
		static const char alphabet[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t len = strlen(padded);
		size_t last = len - (padded[len - 2] == '=' ? 3 : 2);
		check(pl__verify_b64(pub, data, sizeof(data) - 1, padded));
		padded[last] = alphabet[(strchr(alphabet, padded[last]) - alphabet) | 1];
		check(!pl__verify_b64(pub, data, sizeof(data) - 1, padded));
		free(padded);
	}
	/* The signature with a newline inside, as some encoders wrap it. */
	bad = pl__asprintf(NULL, "%.64s\n%s", b64, b64 + 64);
	check(!pl__verify_b64(pub, data, sizeof(data) - 1, bad));
	free(bad);
	/* Far too long. */
	char big[5000];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check(!pl__verify_b64(pub, data, sizeof(data) - 1, big));

	/* A public key cannot sign. */
	char *none = NULL;
	check_int(pl__sign_b64(pub, data, 3, &none, &err), ==, PL_EINVAL);
	char *want = pl__asprintf(NULL, "key %s is a public key: signing needs the private key",
				  pl_key_fingerprint(pub));
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	check(none == NULL);

	/* The base64 is what openssl verifies (DER ECDSA over SHA-256). */
	if (have_openssl) {
		char *sig = at("sig.b64"), *payload = at("payload");
		put_file(sig, b64, strlen(b64));
		put_file(payload, data, sizeof(data) - 1);
		char *out = run("base64 -d sig.b64 >sig.der && openssl dgst -sha256 -verify k.pub "
				"-signature sig.der payload");
		check_str(out, "Verified OK");
		free(out);
		free(sig);
		free(payload);
	}
	free(b64);
	pl_key_free(priv);
	pl_key_free(pub);
	pl_key_free(other);
}

/* ---- image signatures ---------------------------------------------- */

static void put_blob(const char *dir, const char *text, char ds[PL_DIGEST_STR_LEN + 1])
{
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(text, strlen(text), d);
	pl__digest_str(d, ds);
	char *path = pl__asprintf(NULL, "%s/blobs/sha256/%s", dir, ds + 7);
	put_file(path, text, strlen(text));
	free(path);
}

/* A layout `name` with the images v1 (titled when `title`) and v2. */
static char *make_layout(const char *name, const char *title, char v1[PL_DIGEST_STR_LEN + 1],
			 char v2[PL_DIGEST_STR_LEN + 1])
{
	char *dir = at(name);
	mkdir(dir, 0755);
	char *p = pl__asprintf(NULL, "%s/blobs", dir);
	mkdir(p, 0755);
	free(p);
	p = pl__asprintf(NULL, "%s/blobs/sha256", dir);
	mkdir(p, 0755);
	free(p);
	p = pl__asprintf(NULL, "%s/oci-layout", dir);
	put_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	free(p);
	char cds[PL_DIGEST_STR_LEN + 1], lds[PL_DIGEST_STR_LEN + 1];
	const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
	put_blob(dir, config, cds);
	put_blob(dir, "layer", lds);
	char *ann = title ? pl__asprintf(NULL,
					 ",\"annotations\":{\"org.opencontainers.image.title\":"
					 "\"%s\"}",
					 title)
			  : pl__strdup("", NULL);
	char *ms[2];
	for (int i = 0; i < 2; i++) {
		ms[i] = pl__asprintf(
		    NULL,
		    "{\"schemaVersion\":2,\"mediaType\":\"" PL__MT_MANIFEST "\",\"config\":{\""
		    "mediaType\":\"" PL__MT_CONFIG
		    "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{"
		    "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\","
		    "\"size\":5}]%s%s}",
		    cds, strlen(config), lds, ann, i ? " " : "");
		put_blob(dir, ms[i], i ? v2 : v1);
	}
	char *index = pl__asprintf(
	    NULL,
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" PL__MT_MANIFEST "\","
	    "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":"
	    "\"v1\"}},{\"mediaType\":\"" PL__MT_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
	    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v2\"}}]}",
	    v1, strlen(ms[0]), v2, strlen(ms[1]));
	p = pl__asprintf(NULL, "%s/index.json", dir);
	put_file(p, index, strlen(index));
	free(p);
	free(index);
	free(ms[0]);
	free(ms[1]);
	free(ann);
	return dir;
}

static void test_image(void)
{
	struct pl_key *a = load("k.key"), *apub = load("k.pub"), *b = load("other.key");
	char *cp = at("c");
	struct pl_error *err = NULL;
	check_int(pl_keygen(cp, &err), ==, 0);
	free(cp);
	struct pl_key *c = load("c.pub");
	if (!a || !apub || !b || !c) {
		check(!"keys");
		pl_key_free(a);
		pl_key_free(apub);
		pl_key_free(b);
		pl_key_free(c);
		return;
	}
	char v1[PL_DIGEST_STR_LEN + 1], v2[PL_DIGEST_STR_LEN + 1];
	char *dir = make_layout("lay", "hello", v1, v2);
	struct pl_sign_result res;
	struct pl_verify_result vr;
	const struct pl_key *keys[3] = { apub, NULL, NULL };

	/* Unsigned. */
	check_int(pl_verify_image(dir, "v1", keys, 1, &vr, &err), ==, PL_EPOLICY);
	char *want =
	    pl__asprintf(NULL, "image 'oci:%s:v1' is not signed (no 'sha256-%s.sig' in the layout)",
			 dir, v1 + 7);
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;

	/* Signed with a; again (nothing added); with b; with a as another identity. */
	check_int(pl_sign_image(dir, "v1", a, NULL, &res, &err), ==, 0);
	check(err == NULL);
	check_str(res.manifest_digest, v1);
	char tag[80];
	snprintf(tag, sizeof(tag), "sha256-%s.sig", v1 + 7);
	check_str(res.signature_tag, tag);
	check_int(res.signatures, ==, 1);
	check(res.added);
	check_int(pl_verify_image(dir, "v1", keys, 1, &vr, &err), ==, 0);
	check_str(vr.manifest_digest, v1);
	check_str(vr.fingerprint, pl_key_fingerprint(a));
	check_str(vr.identity, "hello"); /* the title */

	struct pl__image sig = { 0 };
	check_int(pl__image_open(dir, tag, false, &sig, &err), ==, 0);
	uint8_t first[PL_SHA256_LEN];
	memcpy(first, sig.digest, sizeof(first));
	check_str(json_string_value(json_object_get(
		      json_array_get(json_object_get(sig.mjson, "layers"), 0), "mediaType")),
		  "application/vnd.dev.cosign.simplesigning.v1+json");
	pl__image_release(&sig);

	check_int(pl_sign_image(dir, "v1", a, NULL, &res, &err), ==, 0);
	check(!res.added);
	check_int(res.signatures, ==, 1);
	check_int(pl__image_open(dir, tag, false, &sig, &err), ==, 0);
	check(!memcmp(sig.digest, first, sizeof(first))); /* the layout did not change */
	pl__image_release(&sig);

	check_int(pl_sign_image(dir, "v1", b, "registry.example/hello:1", &res, &err), ==, 0);
	check(res.added);
	check_int(res.signatures, ==, 2);
	check_int(pl_sign_image(dir, "v1", a, "registry.example/hello:1", &res, &err), ==, 0);
	check(res.added);
	check_int(res.signatures, ==, 3);
	check_int(pl_sign_image(dir, "v1", b, "registry.example/hello:1", &res, &err), ==, 0);
	check(!res.added);
	check_int(res.signatures, ==, 3);

	/* The signature manifest's config lists every payload. */
	check_int(pl__image_open(dir, tag, false, &sig, &err), ==, 0);
	json_t *diff_ids = json_object_get(json_object_get(sig.config, "rootfs"), "diff_ids");
	check_int(json_array_size(diff_ids), ==, 3);
	check_int(json_array_size(json_object_get(sig.config, "history")), ==, 3);
	check_str(json_string_value(json_array_get(diff_ids, 1)),
		  json_string_value(json_object_get(
		      json_array_get(json_object_get(sig.mjson, "layers"), 1), "digest")));
	check_str(json_string_value(json_object_get(sig.config, "created")),
		  "0001-01-01T00:00:00Z");
	pl__image_release(&sig);

	/* Either key verifies; the first valid signature counts. */
	keys[0] = b;
	check_int(pl_verify_image(dir, "v1", keys, 1, &vr, &err), ==, 0);
	check_str(vr.fingerprint, pl_key_fingerprint(b));
	check_str(vr.identity, "registry.example/hello:1");
	keys[0] = c;
	keys[1] = b;
	check_int(pl_verify_image(dir, "v1", keys, 2, &vr, &err), ==, 0);
	check_str(vr.fingerprint, pl_key_fingerprint(b));

	/* No trusted key signed it. */
	check_int(pl_verify_image(dir, "v1", keys, 1, &vr, &err), ==, PL_EPOLICY);
	want =
	    pl__asprintf(NULL,
			 "image 'oci:%s:v1' has no valid signature by a trusted key: signature 1 "
			 "of 3: it does not verify with the trusted key %s",
			 dir, pl_key_fingerprint(c));
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;
	check_int(pl_verify_image(dir, "v1", keys, 0, &vr, &err), ==, PL_EINVAL);
	pl_error_free(err);
	err = NULL;

	/* v2 is another image: its tag pointed at v1's signature (as a copy of
	 * the signature manifest under v2's name would) names v1's digest. */
	char *index_path = pl__asprintf(NULL, "%s/index.json", dir);
	char *index = slurp(index_path);
	json_t *idx = json_loads(index, 0, NULL);
	json_t *ms = json_object_get(idx, "manifests");
	json_t *sigdesc = json_deep_copy(json_array_get(ms, json_array_size(ms) - 1));
	char tag2[80];
	snprintf(tag2, sizeof(tag2), "sha256-%s.sig", v2 + 7);
	json_object_set_new(json_object_get(sigdesc, "annotations"),
			    "org.opencontainers.image.ref.name", json_string(tag2));
	json_array_append_new(ms, sigdesc);
	char *text = json_dumps(idx, JSON_COMPACT);
	put_file(index_path, text, strlen(text));
	free(text);
	json_decref(idx);
	keys[0] = a;
	check_int(pl_verify_image(dir, "v2", keys, 1, &vr, &err), ==, PL_EPOLICY);
	want =
	    pl__asprintf(NULL,
			 "image 'oci:%s:v2' has no valid signature by a trusted key: signature 1 "
			 "of 3: signed by %s for another image: the payload names digest %s, the "
			 "image is %s",
			 dir, pl_key_fingerprint(a), v1, v2);
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;
	put_file(index_path, index, strlen(index));
	free(index);
	free(index_path);

	/* A payload blob changed in place. */
	check_int(pl__image_open(dir, tag, false, &sig, &err), ==, 0);
	const char *pd = json_string_value(
	    json_object_get(json_array_get(json_object_get(sig.mjson, "layers"), 0), "digest"));
	char *ppath = pl__asprintf(NULL, "%s/blobs/sha256/%s", dir, pd + 7);
	char *payload = slurp(ppath);
	char *evil = pl__strdup(payload, NULL);
	char *h = strstr(evil, "hello");
	h[0] = 'j';
	put_file(ppath, evil, strlen(evil));
	keys[0] = apub;
	check_int(pl_verify_image(dir, "v1", keys, 1, &vr, &err), ==, 0); /* signature 3 */
	check_str(vr.identity, "registry.example/hello:1");
	check_int(pl_verify_image(dir, "v1", (const struct pl_key *[]){ c }, 1, &vr, &err), ==,
		  PL_EPOLICY);
	want =
	    pl__asprintf(NULL,
			 "image 'oci:%s:v1' has no valid signature by a trusted key: signature 1 "
			 "of 3: payload: blob %s does not match its digest",
			 dir, pd);
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;
	/* Signing on top of a damaged signature manifest is refused. */
	check_int(pl_sign_image(dir, "v1", b, "x", &res, &err), ==, PL_EDIGEST);
	check(err && strstr(msg(err), "layer 0: payload: blob") &&
	      strstr(msg(err), "does not match its digest"));
	pl_error_free(err);
	err = NULL;
	put_file(ppath, payload, strlen(payload));
	free(ppath);
	free(payload);
	free(evil);
	pl__image_release(&sig);

	/* No title: the layout's name; an identity that cannot be printed. */
	check_int(pl_sign_image(dir, "v2", a, NULL, &res, &err), ==, 0);
	check_int(pl_verify_image(dir, "v2", keys, 1, &vr, &err), ==, 0);
	check_str(vr.identity, "hello");
	char *bare = make_layout("bare", NULL, v1, v2);
	check_int(pl_sign_image(bare, "v1", a, NULL, &res, &err), ==, 0);
	check_int(pl_verify_image(bare, "v1", keys, 1, &vr, &err), ==, 0);
	check_str(vr.identity, "bare");
	check_int(pl_sign_image(bare, "v1", a, "bad\nname", &res, &err), ==, PL_EINVAL);
	check_str(msg(err),
		  "invalid identity 'bad\nname': it must be 1 to 511 bytes of printable UTF-8");
	pl_error_free(err);
	err = NULL;
	check_int(pl_sign_image(bare, "v1", apub, NULL, &res, &err), ==, PL_EINVAL);
	pl_error_free(err);
	err = NULL;
	check_int(pl_sign_image(bare, "nope", a, NULL, &res, &err), ==, PL_EINVAL);
	want =
	    pl__asprintf(NULL, "image 'oci:%s:nope': no tag 'nope' in '%s/index.json'", bare, bare);
	check_str(msg(err), want);
	free(want);
	pl_error_free(err);
	err = NULL;
	free(bare);

	free(dir);
	pl_key_free(a);
	pl_key_free(apub);
	pl_key_free(b);
	pl_key_free(c);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(top, sizeof(top), "%s/plinth-t-sign-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		printf("Bail out! cannot create a temporary directory\n");
		return 1;
	}
	char *v = run("openssl version");
	have_openssl = v != NULL;
	free(v);
	test_keygen();
	test_load();
	test_raw();
	test_image();
	pl__remove_tree(AT_FDCWD, top);
	return tap_done();
}
