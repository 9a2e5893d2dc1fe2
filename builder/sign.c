/* sign.c - ECDSA P-256 keys and cosign-compatible image signatures (see plinth/sign.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "json.h"
#include "layout.h"
#include "oci.h"
#include "sign.h"

#define PL_KEY_MAX     ((size_t)64 << 10) /* a PEM key file */
#define PL_PAYLOAD_MAX ((size_t)64 << 10) /* a simple-signing payload blob */
#define PL_SIG_B64_MAX 1024               /* a base64 signature (P-256 DER needs 96) */
#define SIG_DER_MAX    (PL_SIG_B64_MAX / 4 * 3)
#define IDENTITY_MAX   511 /* bytes of a docker-reference (pl_verify_result) */

#define MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIG_ANNOTATION   "dev.cosignproject.cosign/signature"
#define PAYLOAD_TYPE     "cosign container image signature"
#define ZERO_TIME        "0001-01-01T00:00:00Z"
#define TITLE            "org.opencontainers.image.title"

struct pl_key {
	EVP_PKEY *pkey;
	bool priv;
	char fingerprint[PL_DIGEST_STR_LEN + 1];
	char *pub_pem;
};

static void pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}
#define cleanup_pkey __attribute__((cleanup(pkey_freep)))

static void bio_freep(BIO **b)
{
	BIO_free(*b);
}
#define cleanup_bio __attribute__((cleanup(bio_freep)))

static void md_ctx_freep(EVP_MD_CTX **c)
{
	EVP_MD_CTX_free(*c);
}
#define cleanup_md_ctx __attribute__((cleanup(md_ctx_freep)))

static void pkey_ctx_freep(EVP_PKEY_CTX **c)
{
	EVP_PKEY_CTX_free(*c);
}
#define cleanup_pkey_ctx __attribute__((cleanup(pkey_ctx_freep)))

/* Secret text read from a file: wiped before it is freed. */
struct secret {
	char *p;
	size_t n;
};

static void secret_release(struct secret *s)
{
	if (s->p) {
		OPENSSL_cleanse(s->p, s->n);
		free(s->p);
	}
}
#define cleanup_secret __attribute__((cleanup(secret_release)))

/* Report an OpenSSL failure: the message, then everything in OpenSSL's
 * error queue (which is left empty). */
PL__PRINTF(3, 4) static int ssl_error(struct pl_error **err, int code, const char *fmt, ...)
{
	char msg[512], why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t used = 0;
	unsigned long e;
	why[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		ERR_error_string_n(e, one, sizeof(one));
		if (used < sizeof(why)) {
			int n =
			    snprintf(why + used, sizeof(why) - used, "%s%s", used ? "; " : "", one);
			used = n < 0 ? sizeof(why) : used + (size_t)n;
		}
	}
	if (why[0])
		return pl__error_set(err, code, 0, "%s: %s", msg, why);
	return pl__error_set(err, code, 0, "%s", msg);
}

/* Hand the error `e` to the caller's `err` (NULL: drop it). */
static int pass_error(struct pl_error **err, struct pl_error *e, int rc)
{
	if (err)
		*err = e;
	else
		pl_error_free(e);
	return rc;
}

/* ---- keys ---------------------------------------------------------- */

void pl_key_free(struct pl_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->pub_pem);
	free(k);
}

bool pl_key_is_private(const struct pl_key *k)
{
	return k->priv;
}

const char *pl_key_fingerprint(const struct pl_key *k)
{
	return k->fingerprint;
}

const char *pl_key_public_pem(const struct pl_key *k)
{
	return k->pub_pem;
}

/* Never ask for a passphrase (OpenSSL would prompt on the terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* Refuse anything but an ECDSA key on the named curve P-256. */
static int check_p256(const char *name, EVP_PKEY *pkey, struct pl_error **err)
{
	if (!EVP_PKEY_is_a(pkey, "EC")) {
		const char *type = EVP_PKEY_get0_type_name(pkey);
		return pl__error_set(err, PL_EINVAL, 0, "key '%s' is of type '%s', not ECDSA P-256",
				     name, type ? type : "unknown");
	}
	char group[80];
	size_t glen = 0;
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1) {
		ERR_clear_error();
		return pl__error_set(err, PL_EINVAL, 0,
				     "key '%s' has explicit curve parameters, not the named curve "
				     "P-256",
				     name);
	}
	if (strcmp(group, "prime256v1"))
		return pl__error_set(err, PL_EINVAL, 0, "key '%s' is on curve '%s', not P-256",
				     name, group);
	return 0;
}

/* Fill k's fingerprint and public PEM from k->pkey. */
static int key_describe(const char *name, struct pl_key *k, struct pl_error **err)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->pkey, &der);
	if (n <= 0)
		return ssl_error(err, PL_EINVAL, "key '%s': cannot encode its public key", name);
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(der, (size_t)n, d);
	OPENSSL_free(der);
	pl__digest_str(d, k->fingerprint);
	cleanup_bio BIO *b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio_PUBKEY(b, k->pkey) != 1)
		return ssl_error(err, PL_ENOMEM, "key '%s': cannot write its public key", name);
	char *p = NULL;
	long len = BIO_get_mem_data(b, &p);
	if (len <= 0 || !(k->pub_pem = pl__strndup(p, (size_t)len, err)))
		return PL_ENOMEM;
	return 0;
}

/* The DER of a P-256 public key (SubjectPublicKeyInfo) up to its point. */
static const uint8_t spki_p256[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
#define SPKI_P256_LEN (sizeof(spki_p256) + 65)
#define PEM_PUB_BEGIN "-----BEGIN PUBLIC KEY-----\n"
#define PEM_PUB_END   "-----END PUBLIC KEY-----\n"

/*
 * The quick way to a P-256 public key in the PEM form plinth writes (one
 * block, 64-column base64, nothing around it), which catalogs and
 * signatures are full of: no decoder framework, the fingerprint straight
 * from the DER, the PEM kept as it is.  Returns 1 with *out set, 0 when
 * `pem` is not of that form (the general way decides), or an error.
 */
static int key_parse_p256_pub(const char *pem, size_t len, struct pl_key **out,
			      struct pl_error **err)
{
	const size_t b64 = 4 * ((SPKI_P256_LEN + 2) / 3); /* 124: lines of 64 and 60 */
	const size_t begin = sizeof(PEM_PUB_BEGIN) - 1, end = sizeof(PEM_PUB_END) - 1;
	if (len != begin + b64 + 2 + end || memcmp(pem, PEM_PUB_BEGIN, begin) ||
	    pem[begin + 64] != '\n' || pem[begin + b64 + 1] != '\n' ||
	    memcmp(pem + begin + b64 + 2, PEM_PUB_END, end))
		return 0;
	char text[4 * ((SPKI_P256_LEN + 2) / 3)];
	memcpy(text, pem + begin, 64);
	memcpy(text + 64, pem + begin + 65, b64 - 64);
	uint8_t der[SPKI_P256_LEN + 2];
	int n = EVP_DecodeBlock(der, (const unsigned char *)text, (int)b64);
	/* 91 bytes, padded with "==" (which EVP_DecodeBlock counts in) */
	if (n != (int)SPKI_P256_LEN + 2 || text[b64 - 1] != '=' || text[b64 - 2] != '=' ||
	    memcmp(der, spki_p256, sizeof(spki_p256)) || der[sizeof(spki_p256)] != 0x04)
		return 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, der + sizeof(spki_p256), 65),
		OSSL_PARAM_END,
	};
	cleanup_pkey_ctx EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	cleanup_pkey EVP_PKEY *pkey = NULL;
	/* importing the point checks that it is on the curve (P-256 has
	 * cofactor 1: every such point is in the group) */
	ERR_clear_error();
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		return 0;
	struct pl_key *k = pl__calloc(1, sizeof(*k), err);
	if (!k)
		return PL_ENOMEM;
	k->pkey = steal_pointer(&pkey);
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(der, SPKI_P256_LEN, d);
	pl__digest_str(d, k->fingerprint);
	if (!(k->pub_pem = pl__strndup(pem, len, err))) {
		pl_key_free(k);
		return PL_ENOMEM;
	}
	*out = k;
	return 1;
}

static int key_parse(const char *name, const char *pem, size_t len, bool public_only,
		     struct pl_key **out, struct pl_error **err)
{
	if (len > PL_KEY_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "key '%s' is larger than the limit of %zu bytes", name,
				     PL_KEY_MAX);
	if (memmem(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) ||
	    memmem(pem, len, "Proc-Type: 4,ENCRYPTED", 22))
		return pl__error_set(err, PL_EINVAL, 0,
				     "key '%s' is encrypted: plinth reads unencrypted PEM keys "
				     "(decrypt it with 'openssl pkey')",
				     name);
	bool priv = memmem(pem, len, "PRIVATE KEY-----", 16) != NULL;
	if (priv && public_only)
		return pl__error_set(err, PL_EINVAL, 0,
				     "key '%s' is a private key where a public key is expected",
				     name);
	int rc = priv ? 0 : key_parse_p256_pub(pem, len, out, err);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	ERR_clear_error();
	cleanup_bio BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return pl__error_nomem(err);
	cleanup_pkey EVP_PKEY *pkey = priv ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL)
					   : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	if (!pkey)
		return ssl_error(err, PL_EINVAL, "key '%s' is not a PEM %s", name,
				 priv          ? "private key (PKCS#8 or SEC1)"
				 : public_only ? "public key"
					       : "private key (PKCS#8 or SEC1) or public key");
	if ((rc = check_p256(name, pkey, err)) < 0)
		return rc;
	/* A private key must hold its own public key (the fingerprint says
	 * which key signed); a public key must be a point on the curve. */
	cleanup_pkey_ctx EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!ctx)
		return ssl_error(err, PL_ENOMEM, "key '%s'", name);
	if ((priv ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx)) != 1)
		return ssl_error(err, PL_EINVAL, "key '%s' is not a valid P-256 key", name);
	struct pl_key *k = pl__calloc(1, sizeof(*k), err);
	if (!k)
		return PL_ENOMEM;
	k->pkey = steal_pointer(&pkey);
	k->priv = priv;
	if ((rc = key_describe(name, k, err)) < 0) {
		pl_key_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int pl_key_load(const char *path, struct pl_key **out, struct pl_error **err)
{
	cleanup_secret struct secret s = { 0 };
	int rc = pl__read_file(path, PL_KEY_MAX, &s.p, &s.n, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "key");
	return key_parse(path, s.p, s.n, false, out, err);
}

int pl_key_from_pem(const char *name, const char *pem, size_t len, struct pl_key **out,
		    struct pl_error **err)
{
	return key_parse(name, pem, len, true, out, err);
}

/* Create `path` (which must not exist) holding `p`, with exactly `mode`. */
static int write_new(const char *path, const void *p, size_t n, mode_t mode, struct pl_error **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s' already exists (keygen never replaces a key)", path);
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create '%s'", path);
	int rc = fchmod(fd, mode) < 0 || pl__write_all(fd, p, n) < 0 || fsync(fd) < 0 ? -1 : 0;
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlink(path);
		return pl__error_set(err, PL_ESYS, e, "cannot write '%s'", path);
	}
	return 0;
}

int pl_keygen(const char *prefix, struct pl_error **err)
{
	cleanup_free char *kpath = pl__asprintf(err, "%s.key", prefix);
	cleanup_free char *ppath = kpath ? pl__asprintf(err, "%s.pub", prefix) : NULL;
	if (!ppath)
		return PL_ENOMEM;
	/* Look first so that nothing is made when either is in the way;
	 * O_EXCL below settles races. */
	const char *paths[] = { kpath, ppath };
	for (size_t i = 0; i < 2; i++)
		if (faccessat(AT_FDCWD, paths[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s' already exists (keygen never replaces a key)",
					     paths[i]);
	ERR_clear_error();
	cleanup_pkey EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!pkey)
		return ssl_error(err, PL_ESYS, "cannot generate a P-256 key");
	cleanup_bio BIO *priv = BIO_new(BIO_s_secmem());
	cleanup_bio BIO *pub = BIO_new(BIO_s_mem());
	if (!priv || !pub || PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, pkey) != 1)
		return ssl_error(err, PL_ENOMEM, "cannot write the new key as PEM");
	char *pp = NULL, *qp = NULL;
	long pn = BIO_get_mem_data(priv, &pp), qn = BIO_get_mem_data(pub, &qp);
	if (pn <= 0 || qn <= 0)
		return ssl_error(err, PL_ENOMEM, "cannot write the new key as PEM");
	int rc = write_new(kpath, pp, (size_t)pn, 0600, err);
	if (rc < 0)
		return rc;
	if ((rc = write_new(ppath, qp, (size_t)qn, 0644, err)) < 0) {
		unlink(kpath);
		return rc;
	}
	return 0;
}

/* ---- raw signatures ------------------------------------------------ */

int pl__sign_b64(const struct pl_key *k, const void *p, size_t n, char **b64, struct pl_error **err)
{
	if (!k->priv)
		return pl__error_set(err, PL_EINVAL, 0,
				     "key %s is a public key: signing needs the private key",
				     k->fingerprint);
	ERR_clear_error();
	cleanup_md_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 0;
	if (!ctx || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, p, n) != 1)
		return ssl_error(err, PL_ENOMEM, "cannot sign with key %s", k->fingerprint);
	cleanup_free unsigned char *sig = pl__calloc(1, len, err);
	if (!sig)
		return PL_ENOMEM;
	if (EVP_DigestSign(ctx, sig, &len, p, n) != 1 || len > SIG_DER_MAX)
		return ssl_error(err, PL_ENOMEM, "cannot sign with key %s", k->fingerprint);
	char *out = pl__calloc(1, 4 * ((len + 2) / 3) + 1, err);
	if (!out)
		return PL_ENOMEM;
	EVP_EncodeBlock((unsigned char *)out, sig, (int)len);
	*b64 = out;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode canonical padded base64 (what cosign writes) of at most
 * PL_SIG_B64_MAX characters into out[SIG_DER_MAX]; false when malformed:
 * other characters, bad padding or non-zero padding bits.
 */
static bool b64_decode(const char *s, uint8_t *out, size_t *n)
{
	size_t len = strnlen(s, PL_SIG_B64_MAX + 1);
	if (len == 0 || len > PL_SIG_B64_MAX || len % 4)
		return false;
	size_t pad = s[len - 1] == '=' ? s[len - 2] == '=' ? 2 : 1 : 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		size_t data = last ? 4 - pad : 4;
		uint32_t w = 0;
		for (size_t j = 0; j < 4; j++) {
			int v = j < data ? b64_value(s[i + j]) : 0;
			if (v < 0)
				return false;
			w = w << 6 | (uint32_t)v;
		}
		if ((pad == 1 && last && (w & 0xff)) || (pad == 2 && last && (w & 0xffff)))
			return false;
		size_t bytes = data - 1; /* 4 -> 3, 3 -> 2, 2 -> 1 */
		for (size_t j = 0; j < bytes; j++)
			out[o++] = (uint8_t)(w >> (16 - 8 * j));
	}
	*n = o;
	return true;
}

/* 1: verifies, 0: does not, -1: `b64` is not base64. */
static int verify_b64(const struct pl_key *k, const void *p, size_t n, const char *b64)
{
	uint8_t sig[SIG_DER_MAX];
	size_t len = 0;
	if (!b64_decode(b64, sig, &len))
		return -1;
	cleanup_md_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx &&
		 EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) == 1 &&
		 EVP_DigestVerify(ctx, sig, len, p, n) == 1;
	ERR_clear_error();
	return ok;
}

bool pl__verify_b64(const struct pl_key *k, const void *p, size_t n, const char *b64)
{
	return verify_b64(k, p, n, b64) == 1;
}

/* ---- image signatures ---------------------------------------------- */

/* Whether s can be a docker-reference: UTF-8 text without control characters. */
static bool identity_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IDENTITY_MAX || !pl__utf8_valid(s))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* The simple-signing payload, canonical JSON; NULL when out of memory. */
static char *payload_make(const char *identity, const char *digest)
{
	cleanup_json json_t *j = json_pack(
	    "{s:{s:{s:s}, s:{s:s}, s:s}, s:n}", "critical", "identity", "docker-reference",
	    identity, "image", "docker-manifest-digest", digest, "type", PAYLOAD_TYPE, "optional");
	return j ? pl__json_canonical(j) : NULL;
}

/*
 * Parse a simple-signing payload strictly: the containers/image rules
 * (unknown keys in "critical" are refused) and cosign's type.  The
 * docker-reference goes to *ref (newly allocated).
 */
static int payload_parse(const char *text, size_t len, char **ref, uint8_t digest[PL_SHA256_LEN],
			 struct pl_error **err)
{
	cleanup_json json_t *j = NULL;
	int rc = pl__json_parse("payload", text, len, &j, err);
	if (rc < 0)
		return rc;
	json_t *crit = json_object_get(j, "critical");
	json_t *opt = json_object_get(j, "optional");
	if (!json_is_object(j) || !json_is_object(crit) || json_object_size(j) != (opt ? 2u : 1u) ||
	    (opt && !json_is_null(opt) && !json_is_object(opt)))
		return pl__error_set(err, PL_EINVAL, 0,
				     "payload is not a simple-signing payload (an object of "
				     "'critical' and 'optional')");
	json_t *id = json_object_get(crit, "identity");
	json_t *image = json_object_get(crit, "image");
	const char *type = json_string_value(json_object_get(crit, "type"));
	if (json_object_size(crit) != 3 || !json_is_object(id) || !json_is_object(image) || !type)
		return pl__error_set(
		    err, PL_EINVAL, 0,
		    "payload: 'critical' must hold exactly 'identity', 'image' and "
		    "'type'");
	if (strcmp(type, PAYLOAD_TYPE))
		return pl__error_set(err, PL_EINVAL, 0,
				     "payload: 'critical.type' is not '" PAYLOAD_TYPE "'");
	const char *r = json_string_value(json_object_get(id, "docker-reference"));
	if (json_object_size(id) != 1 || !r)
		return pl__error_set(err, PL_EINVAL, 0,
				     "payload: 'critical.identity' must hold exactly a "
				     "'docker-reference' string");
	if (!identity_valid(r))
		return pl__error_set(
		    err, PL_EINVAL, 0,
		    "payload: the docker-reference is empty, longer than %d bytes, "
		    "or not printable UTF-8",
		    IDENTITY_MAX);
	const char *d = json_string_value(json_object_get(image, "docker-manifest-digest"));
	if (json_object_size(image) != 1 || !d)
		return pl__error_set(err, PL_EINVAL, 0,
				     "payload: 'critical.image' must hold exactly a "
				     "'docker-manifest-digest' string");
	if (!pl__digest_parse(d, digest))
		return pl__error_set(err, PL_EINVAL, 0,
				     "payload: the docker-manifest-digest is not sha256: and 64 "
				     "lowercase hex digits");
	if (!(*ref = pl__strdup(r, err)))
		return PL_ENOMEM;
	return 0;
}

/* Read and check the payload blob that layer `l` describes. */
static int payload_read(const char *dir, const json_t *l, char **text, size_t *len,
			struct pl_error **err)
{
	uint8_t d[PL_SHA256_LEN];
	const char *ds = json_string_value(json_object_get(l, "digest"));
	json_int_t size = json_integer_value(json_object_get(l, "size"));
	if (!pl__digest_parse(ds, d)) /* pl__image_open checked it */
		return pl__error_set(err, PL_EINVAL, 0, "payload descriptor has no valid digest");
	int rc = pl__blob_read(dir, d, PL_PAYLOAD_MAX, text, len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "payload");
	if ((json_int_t)*len != size) {
		free(*text);
		*text = NULL;
		return pl__error_set(err, PL_EDIGEST, 0,
				     "payload: blob %s is %zu bytes, its descriptor says %lld", ds,
				     *len, (long long)size);
	}
	return 0;
}

static const char *layer_signature(const json_t *l)
{
	const char *mt = json_string_value(json_object_get(l, "mediaType"));
	if (!mt || strcmp(mt, MT_SIMPLESIGNING))
		return NULL;
	return json_string_value(
	    json_object_get(json_object_get(l, "annotations"), SIG_ANNOTATION));
}

/* The identity a signature gets when none is given. */
static char *default_identity(const struct pl__image *im, const char *dir, struct pl_error **err)
{
	const char *title = pl__image_annotation(im, TITLE);
	if (title)
		return pl__strdup(title, err);
	cleanup_free char *abs = realpath(dir, NULL);
	if (!abs) {
		pl__error_set(err, PL_ESYS, errno, "cannot resolve '%s'", dir);
		return NULL;
	}
	const char *base = strrchr(abs, '/');
	return pl__strdup(base && base[1] ? base + 1 : abs, err);
}

/*
 * Whether the layers already hold a signature of `payload`'s claim (the
 * same identity and digest) by `k`.  A payload blob that cannot be read is
 * an error: the signature manifest is damaged.
 */
static int already_signed(const char *dir, const char *sigref, const json_t *layers,
			  const struct pl_key *k, const char *identity,
			  const uint8_t digest[PL_SHA256_LEN], bool *found, struct pl_error **err)
{
	size_t i;
	json_t *l;
	*found = false;
	json_array_foreach (layers, i, l) {
		const char *b64 = layer_signature(l);
		if (!b64)
			continue;
		cleanup_free char *text = NULL, *ref = NULL;
		size_t len = 0;
		int rc = payload_read(dir, l, &text, &len, err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "signature '%s': layer %zu", sigref, i);
		uint8_t d[PL_SHA256_LEN];
		if (payload_parse(text, len, &ref, d, NULL) < 0)
			continue;
		if (!strcmp(ref, identity) && !memcmp(d, digest, PL_SHA256_LEN) &&
		    pl__verify_b64(k, text, len, b64)) {
			*found = true;
			return 0;
		}
	}
	return 0;
}

static json_t *sig_config(const json_t *layers)
{
	cleanup_json json_t *diff_ids = json_array();
	cleanup_json json_t *history = json_array();
	size_t i;
	json_t *l;
	if (!diff_ids || !history)
		return NULL;
	json_array_foreach (layers, i, l) {
		if (json_array_append(diff_ids, json_object_get(l, "digest")) < 0 ||
		    json_array_append_new(history, json_pack("{s:s}", "created", ZERO_TIME)) < 0)
			return NULL;
	}
	return json_pack("{s:s, s:{}, s:s, s:O, s:s, s:{s:O, s:s}}", "architecture", "", "config",
			 "created", ZERO_TIME, "history", history, "os", "", "rootfs", "diff_ids",
			 diff_ids, "type", "layers");
}

static int put_json(struct pl__layout *l, const json_t *j, uint8_t digest[PL_SHA256_LEN],
		    uint64_t *size, struct pl_error **err)
{
	cleanup_free char *text = pl__json_canonical(j);
	if (!text)
		return pl__error_nomem(err);
	*size = strlen(text);
	return pl__layout_blob_put(l, text, *size, digest, err);
}

/* Add k's signature of `payload` to the signature manifest `sigtag`, once:
 * PL__LAYOUT_MOVED when the manifest changed since it was read. */
static int sign_once(const char *dir, const char *sigtag, const char *sigref, const char *payload,
		     const struct pl_key *k, const char *id, const uint8_t digest[PL_SHA256_LEN],
		     const char *ds, struct pl_sign_result *res, struct pl_error **err)
{
	cleanup_image struct pl__image sig = { 0 };
	int rc = pl__image_open(dir, sigtag, true, &sig, err);
	if (rc < 0)
		return rc;
	bool no_sig = rc == PL__OCI_NO_TAG;
	cleanup_json json_t *layers =
	    no_sig ? json_array() : json_deep_copy(json_object_get(sig.mjson, "layers"));
	if (!layers)
		return pl__error_nomem(err);
	bool found = false;
	if ((rc = already_signed(dir, sigref, layers, k, id, digest, &found, err)) < 0)
		return rc;
	*res = (struct pl_sign_result){ 0 };
	memcpy(res->manifest_digest, ds, PL_DIGEST_STR_LEN + 1);
	memcpy(res->signature_tag, sigtag, sizeof(res->signature_tag));
	if (found) {
		res->signatures = json_array_size(layers);
		return 0;
	}

	cleanup_layout struct pl__layout *l = NULL;
	if ((rc = pl__layout_open(dir, &l, err)) < 0)
		return rc;
	uint8_t pd[PL_SHA256_LEN];
	size_t plen = strlen(payload);
	if ((rc = pl__layout_blob_put(l, payload, plen, pd, err)) < 0)
		return rc;
	cleanup_free char *b64 = NULL;
	if ((rc = pl__sign_b64(k, payload, plen, &b64, err)) < 0)
		return rc;
	char pds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(pd, pds);
	if (json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType",
						    MT_SIMPLESIGNING, "digest", pds, "size",
						    (json_int_t)plen, "annotations", SIG_ANNOTATION,
						    b64)) < 0)
		return pl__error_nomem(err);
	cleanup_json json_t *config = sig_config(layers);
	if (!config)
		return pl__error_nomem(err);
	uint8_t cd[PL_SHA256_LEN];
	uint64_t csize = 0;
	if ((rc = put_json(l, config, cd, &csize, err)) < 0)
		return rc;
	char cds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(cd, cds);
	cleanup_json json_t *manifest =
	    json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
		      PL__MT_MANIFEST, "config", "mediaType", PL__MT_CONFIG, "digest", cds, "size",
		      (json_int_t)csize, "layers", layers);
	if (!manifest)
		return pl__error_nomem(err);
	struct pl__descriptor desc = { PL__MT_MANIFEST, { 0 }, 0, NULL, NULL };
	if ((rc = put_json(l, manifest, desc.digest, &desc.size, err)) < 0)
		return rc;
	if (desc.size > PL__MANIFEST_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "signature '%s': the manifest would exceed the limit of %zu "
				     "bytes",
				     sigref, PL__MANIFEST_MAX);
	bool had = !no_sig;
	if ((rc = pl__layout_commit_if(l, &desc, sigtag, had ? sig.digest : NULL, err)) != 0)
		return rc;
	res->signatures = json_array_size(layers);
	res->added = true;
	return 0;
}

int pl_sign_image(const char *dir, const char *tag, const struct pl_key *k, const char *identity,
		  struct pl_sign_result *res, struct pl_error **err)
{
	if (!k->priv)
		return pl__error_set(err, PL_EINVAL, 0,
				     "key %s is a public key: signing needs the private key",
				     k->fingerprint);
	cleanup_image struct pl__image im = { 0 };
	int rc = pl__image_open(dir, tag, false, &im, err);
	if (rc < 0)
		return rc;
	struct pl_error *e = NULL;
	cleanup_free char *id =
	    identity ? pl__strdup(identity, &e) : default_identity(&im, dir, &e);
	if (!id)
		return pass_error(err, e, pl_error_code(e));
	if (!identity_valid(id))
		return pl__error_set(err, PL_EINVAL, 0,
				     "invalid identity '%s': it must be 1 to %d bytes of printable "
				     "UTF-8",
				     id, IDENTITY_MAX);
	char ds[PL_DIGEST_STR_LEN + 1], sigtag[80];
	pl__digest_str(im.digest, ds);
	snprintf(sigtag, sizeof(sigtag), "sha256-%s.sig", ds + 7);
	cleanup_free char *sigref = pl__asprintf(err, "oci:%s:%s", dir, sigtag);
	cleanup_free char *payload = sigref ? payload_make(id, ds) : NULL;
	if (!payload)
		return sigref ? pl__error_nomem(err) : PL_ENOMEM;

	/* Another signer may add its signature between our reading the
	 * signature manifest and writing it back: the commit notices, and
	 * this reads it again. */
	for (int tries = 0; tries < 64; tries++)
		if ((rc = sign_once(dir, sigtag, sigref, payload, k, id, im.digest, ds, res,
				    err)) != PL__LAYOUT_MOVED)
			return rc;
	return pl__error_set(err, PL_ESYS, EAGAIN,
			     "signature '%s' kept changing under this signer: try again", sigref);
}

/* Why a signature layer failed, most specific last. */
enum reason {
	R_NONE = -1,
	R_MEDIA_TYPE,
	R_NO_SIGNATURE,
	R_NOT_BASE64,
	R_NO_KEY,
	R_PAYLOAD_BLOB,
	R_PAYLOAD_FORM,
	R_OTHER_IMAGE,
};

/*
 * Check one signature layer.  0 with *key set when it is valid; 1 with a
 * reason in `why` and `*rank` when it is not; a negative code on failures that
 * are not the signature's (out of memory).
 */
static int check_layer(const char *dir, const json_t *l, const uint8_t digest[PL_SHA256_LEN],
		       const struct pl_key *const *keys, size_t nkeys, size_t *key, char **ref,
		       enum reason *rank, char *why, size_t whylen, struct pl_error **err)
{
	const char *mt = json_string_value(json_object_get(l, "mediaType"));
	if (!mt || strcmp(mt, MT_SIMPLESIGNING)) {
		*rank = R_MEDIA_TYPE;
		snprintf(why, whylen, "its media type is not '" MT_SIMPLESIGNING "'");
		return 1;
	}
	const char *b64 = layer_signature(l);
	if (!b64) {
		*rank = R_NO_SIGNATURE;
		snprintf(why, whylen, "it has no '" SIG_ANNOTATION "' annotation");
		return 1;
	}
	cleanup_free char *text = NULL;
	size_t len = 0;
	struct pl_error *e = NULL;
	int rc = payload_read(dir, l, &text, &len, &e);
	if (rc == PL_ENOMEM)
		return pass_error(err, e, rc);
	if (rc < 0) {
		*rank = R_PAYLOAD_BLOB;
		snprintf(why, whylen, "%s", pl_error_message(e));
		pl_error_free(e);
		return 1;
	}
	int v = 0;
	for (size_t i = 0; i < nkeys && v == 0; i++)
		if ((v = verify_b64(keys[i], text, len, b64)) == 1)
			*key = i;
	if (v < 0) {
		*rank = R_NOT_BASE64;
		snprintf(why, whylen, "the signature is not canonical base64");
		return 1;
	}
	if (v == 0) {
		*rank = R_NO_KEY;
		if (nkeys == 1)
			snprintf(why, whylen, "it does not verify with the trusted key %s",
				 keys[0]->fingerprint);
		else
			snprintf(why, whylen, "it does not verify with any of the %zu trusted keys",
				 nkeys);
		return 1;
	}
	uint8_t named[PL_SHA256_LEN];
	if ((rc = payload_parse(text, len, ref, named, &e)) == PL_ENOMEM)
		return pass_error(err, e, rc);
	if (rc < 0) {
		*rank = R_PAYLOAD_FORM;
		snprintf(why, whylen, "signed by %s, but %s", keys[*key]->fingerprint,
			 pl_error_message(e));
		pl_error_free(e);
		return 1;
	}
	if (memcmp(named, digest, PL_SHA256_LEN)) {
		char a[PL_DIGEST_STR_LEN + 1], b[PL_DIGEST_STR_LEN + 1];
		pl__digest_str(named, a);
		pl__digest_str(digest, b);
		*rank = R_OTHER_IMAGE;
		snprintf(
		    why, whylen,
		    "signed by %s for another image: the payload names digest %s, the image is %s",
		    keys[*key]->fingerprint, a, b);
		free(*ref);
		*ref = NULL;
		return 1;
	}
	return 0;
}

int pl_verify_image(const char *dir, const char *tag, const struct pl_key *const *keys,
		    size_t nkeys, struct pl_verify_result *res, struct pl_error **err)
{
	if (nkeys == 0)
		return pl__error_set(err, PL_EINVAL, 0, "no trusted key to verify with");
	cleanup_image struct pl__image im = { 0 };
	int rc = pl__image_open(dir, tag, false, &im, err);
	if (rc < 0)
		return rc;
	return pl__verify_opened(&im, tag, keys, nkeys, res, err);
}

int pl__verify_opened(const struct pl__image *im, const char *tag, const struct pl_key *const *keys,
		      size_t nkeys, struct pl_verify_result *res, struct pl_error **err)
{
	if (nkeys == 0)
		return pl__error_set(err, PL_EINVAL, 0, "no trusted key to verify with");
	const char *dir = im->dir;
	char ds[PL_DIGEST_STR_LEN + 1], sigtag[80];
	pl__digest_str(im->digest, ds);
	snprintf(sigtag, sizeof(sigtag), "sha256-%s.sig", ds + 7);
	cleanup_image struct pl__image sig = { 0 };
	int rc = pl__image_open(dir, sigtag, true, &sig, err);
	if (rc < 0)
		return rc;
	if (rc == PL__OCI_NO_TAG)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "image 'oci:%s:%s' is not signed (no '%s' in the layout)", dir,
				     tag, sigtag);
	json_t *layers = json_object_get(sig.mjson, "layers");
	size_t n = json_array_size(layers);
	if (n == 0)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "image 'oci:%s:%s' is not signed ('%s' holds no signatures)",
				     dir, tag, sigtag);
	enum reason best = R_NONE;
	char reason[1024] = "";
	size_t i;
	json_t *l;
	json_array_foreach (layers, i, l) {
		char why[768];
		enum reason rank = R_NONE;
		size_t key = 0;
		cleanup_free char *ref = NULL;
		rc = check_layer(dir, l, im->digest, keys, nkeys, &key, &ref, &rank, why,
				 sizeof(why), err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			*res = (struct pl_verify_result){ 0 };
			memcpy(res->manifest_digest, ds, sizeof(ds));
			snprintf(res->fingerprint, sizeof(res->fingerprint), "%s",
				 keys[key]->fingerprint);
			snprintf(res->identity, sizeof(res->identity), "%s", ref);
			return 0;
		}
		if (rank > best) {
			best = rank;
			snprintf(reason, sizeof(reason), "signature %zu of %zu: %s", i + 1, n, why);
		}
	}
	return pl__error_set(err, PL_EPOLICY, 0,
			     "image 'oci:%s:%s' has no valid signature by a trusted key: %s", dir,
			     tag, reason);
}
