/* sbom.c - SPDX and CycloneDX documents describing an image (see sbom.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "plinth/plinth.h"
#include "json.h"
#include "oci.h"
#include "pkgfiles.h"
#include "sbom.h"

#define SHA1_LEN       20
#define OS_RELEASE     "etc/os-release"
#define OS_RELEASE_USR "usr/lib/os-release"
#define ID_HEX         16 /* hex digits of sha256 in an SPDX identifier */

/* The namespace of plinth's name-based (version 5) UUIDs: a document's is
 * made of the format and the image's manifest digest. */
static const uint8_t uuid_namespace[16] = { 0x08, 0xce, 0x91, 0x9f, 0x4c, 0x25, 0x48, 0xc1,
					    0xa1, 0x82, 0x5d, 0x8a, 0x03, 0xa3, 0x4e, 0x65 };

bool pl_sbom_format_parse(const char *name, enum pl_sbom_format *out)
{
	if (!strcmp(name, "spdx"))
		*out = PL_SBOM_SPDX;
	else if (!strcmp(name, "cyclonedx"))
		*out = PL_SBOM_CYCLONEDX;
	else
		return false;
	return true;
}

const char *pl__sbom_media_type(enum pl_sbom_format fmt)
{
	return fmt == PL_SBOM_CYCLONEDX ? PL__MT_CYCLONEDX : PL__MT_SPDX;
}

/* ---- what the layers show ------------------------------------------------ */

/* The SHA1 of a regular file's content (SPDX wants one on every file). */
struct fsum {
	char *path;
	uint8_t sha1[SHA1_LEN];
	size_t seq; /* the order it was shown in: a later one counts */
};

struct scan {
	bool want_sha1;
	struct pl__pkgfiles_collector md5sums;
	EVP_MD_CTX *sha1;
	bool hashing;
	struct fsum *sums;
	size_t nsums, alloc;
	struct pl_buf osrel; /* /usr/lib/os-release while it is read */
	bool osrel_on;
	char *usr_os_release; /* its content, NULL when the image has none */
};

static void scan_release(struct scan *s)
{
	pl__pkgfiles_collector_release(&s->md5sums);
	EVP_MD_CTX_free(s->sha1);
	for (size_t i = 0; i < s->nsums; i++)
		free(s->sums[i].path);
	free(s->sums);
	pl_buf_release(&s->osrel);
	free(s->usr_os_release);
}

static int scan_entry(void *ctx, const struct pl__bentry *e, struct pl_error **err)
{
	struct scan *s = ctx;
	int rc = pl__pkgfiles_collect_entry(&s->md5sums, e, err);
	if (rc < 0)
		return rc;
	s->hashing = s->want_sha1 && e->kind == PL__B_REG;
	if (s->hashing && EVP_DigestInit_ex(s->sha1, EVP_sha1(), NULL) != 1)
		return pl__error_set(err, PL_ENOMEM, 0, "cannot set up sha1");
	pl_buf_release(&s->osrel);
	s->osrel_on = e->kind == PL__B_REG && !strcmp(e->path, OS_RELEASE_USR);
	if (s->osrel_on && pl_buf_init(&s->osrel, PL__BASE_FILE_MAX, err) < 0)
		return PL_ENOMEM;
	return 0;
}

static int scan_data(void *ctx, const void *p, size_t n, struct pl_error **err)
{
	struct scan *s = ctx;
	int rc = pl__pkgfiles_collect_data(&s->md5sums, p, n, err);
	if (rc < 0)
		return rc;
	if (s->hashing && EVP_DigestUpdate(s->sha1, p, n) != 1)
		return pl__error_set(err, PL_ENOMEM, 0, "cannot compute sha1");
	if (s->osrel_on && (rc = pl_buf_add(&s->osrel, p, n, NULL)) < 0)
		return rc == PL_ELIMIT
			   ? pl__error_set(err, PL_ELIMIT, 0, "'/%s' is larger than %zu bytes",
					   OS_RELEASE_USR, PL__BASE_FILE_MAX)
			   : pl__error_nomem(err);
	return 0;
}

static int scan_end(void *ctx, const struct pl__bentry *e, struct pl_error **err)
{
	struct scan *s = ctx;
	int rc = pl__pkgfiles_collect_end(&s->md5sums, e, err);
	if (rc < 0)
		return rc;
	if (s->hashing) {
		s->hashing = false;
		if ((rc = pl__grow(&s->sums, &s->alloc, s->nsums + 1, sizeof(*s->sums), err)) < 0)
			return rc;
		struct fsum *f = &s->sums[s->nsums];
		unsigned int len = SHA1_LEN;
		if (EVP_DigestFinal_ex(s->sha1, f->sha1, &len) != 1)
			return pl__error_set(err, PL_ENOMEM, 0, "cannot compute sha1");
		if (!(f->path = pl__strdup(e->path, err)))
			return PL_ENOMEM;
		f->seq = s->nsums++;
	}
	if (s->osrel_on) {
		s->osrel_on = false;
		free(s->usr_os_release);
		s->usr_os_release = pl_buf_detach(&s->osrel, NULL);
	}
	return 0;
}

static int cmp_fsum(const void *a, const void *b)
{
	const struct fsum *x = a, *y = b;
	int d = strcmp(x->path, y->path);
	return d ? d : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sort the SHA1s by path, each path once (its later content). */
static void sums_finish(struct scan *s)
{
	if (s->nsums)
		qsort(s->sums, s->nsums, sizeof(*s->sums), cmp_fsum);
	size_t k = 0;
	for (size_t i = 0; i < s->nsums; i++) {
		if (i + 1 < s->nsums && !strcmp(s->sums[i].path, s->sums[i + 1].path)) {
			free(s->sums[i].path);
			continue;
		}
		s->sums[k++] = s->sums[i];
	}
	s->nsums = k;
}

static const uint8_t *sha1_of(const struct scan *s, const char *path)
{
	size_t lo = 0, hi = s->nsums;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(s->sums[mid].path, path);
		if (d == 0)
			return s->sums[mid].sha1;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- identifiers --------------------------------------------------------- */

/* Append `s` to a purl, percent-encoding every byte but the unreserved
 * ones (RFC 3986), lowercased when `lower` (names and namespaces of the
 * types plinth writes are case-insensitive, lowercase in canonical form). */
static int purl_put(struct pl_buf *b, const char *s, bool lower, struct pl_error **err)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = lower && *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '~';
		int rc = plain ? pl_buf_add(b, &c, 1, err) : pl_buf_addf(b, err, "%%%02X", c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A version 5 UUID of `name` in plinth's namespace, as text (36 chars). */
static void uuid_v5(const char *name, char out[37])
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(c, uuid_namespace, sizeof(uuid_namespace)) != 1 ||
	    EVP_DigestUpdate(c, name, strlen(name)) != 1 || EVP_DigestFinal_ex(c, d, &n) != 1)
		memset(d, 0, sizeof(d)); /* no memory: still a valid, if poor, UUID */
	EVP_MD_CTX_free(c);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x50);
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
	char hex[33];
	pl__hex(d, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* "SPDXRef-PREFIX" + `readable` with what an identifier may not hold
 * replaced, + "-" and ID_HEX hex digits of sha256 of `key` (keylen bytes). */
static char *spdx_id(const char *prefix, const char *readable, const void *key, size_t keylen,
		     struct pl_error **err)
{
	uint8_t d[PL_SHA256_LEN];
	char hex[2 * PL_SHA256_LEN + 1];
	pl__sha256(key, keylen, d);
	pl__hex(d, PL_SHA256_LEN, hex);
	char *id = pl__asprintf(err, "SPDXRef-%s%s%s%.*s", prefix, readable, *readable ? "-" : "",
				ID_HEX, hex);
	for (char *p = id ? id + 8 : NULL; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	return id;
}

/* ---- the image's parts --------------------------------------------------- */

struct pkg {
	const struct pl__base_pkg *p;
	char *src_name, *src_version; /* the Source field's, NULL when absent */
	char *purl, *id;
};

struct file {
	const char *path;
	const uint8_t *sha256, *sha1; /* sha1: NULL unless SPDX */
	char *id;
};

struct doc {
	enum pl_sbom_format fmt;
	const char *name, *version, *arch;
	char created[32];
	char digest_hex[2 * PL_SHA256_LEN + 1];
	char uuid[37];
	char *image_purl;
	char verification[2 * SHA1_LEN + 1];
	struct pkg *pkgs;
	size_t npkgs;
	struct file *files;
	size_t nfiles;
};

static void doc_release(struct doc *d)
{
	free(d->image_purl);
	for (size_t i = 0; i < d->npkgs; i++) {
		free(d->pkgs[i].src_name);
		free(d->pkgs[i].src_version);
		free(d->pkgs[i].purl);
		free(d->pkgs[i].id);
	}
	free(d->pkgs);
	for (size_t i = 0; i < d->nfiles; i++)
		free(d->files[i].id);
	free(d->files);
}

/* A string for the document must be UTF-8 (JSON's). */
static int check_utf8(const char *what, const char *s, struct pl_error **err)
{
	if (s && !pl__utf8_valid(s))
		return pl__error_set(err, PL_EINVAL, 0, "%s is not UTF-8", what);
	return 0;
}

/* The config's "created" (RFC 3339, any offset, fractions) as UTC to the
 * second, "YYYY-MM-DDTHH:MM:SSZ", the form both formats take; the epoch
 * when the config has none. */
static int created_utc(const json_t *config, char out[32], struct pl_error **err)
{
	const json_t *c = json_object_get(config, "created");
	if (!c) {
		snprintf(out, 32, "1970-01-01T00:00:00Z");
		return 0;
	}
	const char *s = json_string_value(c);
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (p && *p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	long offset = 0;
	if (p && (*p == 'Z' || *p == 'z') && !p[1]) {
		p += 1;
	} else if (p && (*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		char *end = NULL;
		long h = strtol(p + 1, &end, 10), m = end == p + 3 ? strtol(p + 4, &end, 10) : -1;
		if (end != p + 6 || h > 23 || m < 0 || m > 59)
			p = NULL;
		else
			offset = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
		p = p ? p + 6 : NULL;
	} else {
		p = NULL;
	}
	if (!p || *p)
		return pl__error_set(err, PL_EINVAL, 0,
				     "its config's 'created' is not an RFC 3339 time");
	time_t t = timegm(&tm) - offset;
	struct tm utc;
	if (!gmtime_r(&t, &utc) || utc.tm_year < 0 || utc.tm_year > 9999 - 1900 ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &utc))
		return pl__error_set(err, PL_EINVAL, 0,
				     "its config's 'created' is out of the years 1900 to 9999");
	return 0;
}

/* The value of `key` in os-release `text`, unquoted, in *out (left NULL
 * when there is none, or it is empty). */
static int os_field(const char *text, const char *key, char **out, struct pl_error **err)
{
	size_t k = strlen(key);
	for (const char *line = text; line && *line;) {
		size_t n = strcspn(line, "\n");
		const char *next = line[n] ? line + n + 1 : NULL;
		if (n <= k || strncmp(line, key, k) || line[k] != '=') {
			line = next;
			continue;
		}
		const char *v = line + k + 1;
		n -= k + 1;
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		if (n && !(*out = pl__strndup(v, n, err)))
			return PL_ENOMEM;
		return 0;
	}
	return 0;
}

/* The Debian vendor and distribution of the packages, from os-release: ID
 * (unless plinth's own, which names the image) and ID-VERSION_ID.  Without
 * an ID the packages are Debian's, which plinth installs from; without a
 * VERSION_ID there is no distro. */
static int distro(const struct pl__baseimg *b, const struct scan *s, char **vendor, char **dist,
		  struct pl_error **err)
{
	const struct pl__bentry *e = pl__baseimg_get(b, OS_RELEASE);
	const char *text = e && e->kind == PL__B_REG && e->data ? e->data : s->usr_os_release;
	cleanup_free char *id = NULL, *ver = NULL;
	int rc = 0;
	if (text && ((rc = os_field(text, "ID", &id, err)) < 0 ||
		     (rc = os_field(text, "VERSION_ID", &ver, err)) < 0))
		return rc;
	if ((rc = check_utf8("its os-release ID", id, err)) < 0 ||
	    (rc = check_utf8("its os-release VERSION_ID", ver, err)) < 0)
		return rc;
	if (!id || !strcmp(id, "plinth")) {
		free(id);
		id = pl__strdup("debian", err);
	}
	if (!id || (ver && !(*dist = pl__asprintf(err, "%s-%s", id, ver))))
		return PL_ENOMEM;
	*vendor = steal_pointer(&id);
	return 0;
}

/* Split a Source field, "glibc" or "glibc (2.36-9)". */
static int parse_source(struct pkg *k, struct pl_error **err)
{
	const char *src = k->p->source;
	if (!src)
		return 0;
	size_t n = strcspn(src, " (");
	const char *open = strchr(src + n, '('), *close = open ? strchr(open, ')') : NULL;
	if (!n)
		return 0;
	if (!(k->src_name = pl__strndup(src, n, err)))
		return PL_ENOMEM;
	if (open && close && close > open + 1 &&
	    !(k->src_version = pl__strndup(open + 1, (size_t)(close - open - 1), err)))
		return PL_ENOMEM;
	return 0;
}

/* pkg:deb/VENDOR/NAME@VERSION?arch=A&distro=D&upstream=SRC[@SRCVERSION],
 * qualifiers in the purl spec's order (sorted), those without a value left
 * out; upstream only when the source is not the package itself. */
static char *deb_purl(const struct pkg *k, const char *vendor, const char *dist,
		      struct pl_error **err)
{
	const struct pl__base_pkg *p = k->p;
	bool other_name = k->src_name && strcmp(k->src_name, p->name);
	bool other_version = k->src_version && strcmp(k->src_version, p->version);
	cleanup_buf struct pl_buf b = { 0 };
	char sep = '?';
	if (pl_buf_init(&b, 0, err) < 0 || pl_buf_adds(&b, "pkg:deb/", err) < 0 ||
	    purl_put(&b, vendor, true, err) < 0 || pl_buf_adds(&b, "/", err) < 0 ||
	    purl_put(&b, p->name, true, err) < 0 || pl_buf_adds(&b, "@", err) < 0 ||
	    purl_put(&b, p->version, false, err) < 0)
		return NULL;
	if (p->arch && *p->arch) {
		if (pl_buf_addf(&b, err, "%carch=", sep) < 0 ||
		    purl_put(&b, p->arch, false, err) < 0)
			return NULL;
		sep = '&';
	}
	if (dist) {
		if (pl_buf_addf(&b, err, "%cdistro=", sep) < 0 ||
		    purl_put(&b, dist, false, err) < 0)
			return NULL;
		sep = '&';
	}
	if (other_name || other_version) {
		cleanup_free char *up =
		    pl__asprintf(err, "%s%s%s", k->src_name, other_version ? "@" : "",
				 other_version ? k->src_version : "");
		if (!up || pl_buf_addf(&b, err, "%cupstream=", sep) < 0 ||
		    purl_put(&b, up, false, err) < 0)
			return NULL;
	}
	return pl_buf_detach(&b, NULL);
}

/* pkg:oci/NAME@sha256%3AHEX?arch=ARCH, NAME being the last component of
 * the image's name. */
static char *oci_purl(const struct doc *d, struct pl_error **err)
{
	const char *slash = strrchr(d->name, '/');
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, err) < 0 || pl_buf_adds(&b, "pkg:oci/", err) < 0 ||
	    purl_put(&b, slash ? slash + 1 : d->name, true, err) < 0 ||
	    pl_buf_addf(&b, err, "@sha256%%3A%s", d->digest_hex) < 0)
		return NULL;
	if (d->arch &&
	    (pl_buf_adds(&b, "?arch=", err) < 0 || purl_put(&b, d->arch, false, err) < 0))
		return NULL;
	return pl_buf_detach(&b, NULL);
}

static int add_packages(struct doc *d, const struct pl__baseimg *b, const struct scan *s,
			struct pl_error **err)
{
	size_t n = 0;
	const struct pl__base_pkg *v = pl__baseimg_packages(b, &n);
	cleanup_free char *vendor = NULL, *dist = NULL;
	int rc = distro(b, s, &vendor, &dist, err);
	if (rc < 0)
		return rc;
	if (n && !(d->pkgs = pl__calloc(n, sizeof(*d->pkgs), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct pkg *k = &d->pkgs[d->npkgs++];
		k->p = &v[i];
		char what[300];
		snprintf(what, sizeof(what), "package '%s': its Architecture or Source", v[i].name);
		if ((rc = check_utf8(what, v[i].arch, err)) < 0 ||
		    (rc = check_utf8(what, v[i].source, err)) < 0 ||
		    (rc = parse_source(k, err)) < 0)
			return rc;
		const char *arch = v[i].arch ? v[i].arch : "";
		size_t keylen = strlen(v[i].name) + 1 + strlen(arch);
		cleanup_free char *key = pl__asprintf(err, "%s%c%s", v[i].name, 0, arch);
		if (!key || !(k->purl = deb_purl(k, vendor, dist, err)) ||
		    (d->fmt == PL_SBOM_SPDX &&
		     !(k->id = spdx_id("Package-deb-", v[i].name, key, keylen, err))))
			return PL_ENOMEM;
	}
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->path, ((const struct file *)b)->path);
}

/* Every regular file (or hard link to one) that no installed package owns. */
static int add_files(struct doc *d, const struct pl__baseimg *b, const struct scan *s,
		     const struct pl__pkgfiles *pf, struct pl_error **err)
{
	size_t slots = pl__baseimg_slots(b), alloc = 0;
	for (size_t i = 0; i < slots; i++) {
		const struct pl__bentry *e = pl__baseimg_at(b, i), *content = e;
		if (e && e->kind == PL__B_HARDLINK)
			content = pl__baseimg_get(b, e->target);
		if (!e || !content || content->kind != PL__B_REG || pl__pkgfiles_owner(pf, e->path))
			continue;
		char what[PL_PATH_MAX + 32];
		snprintf(what, sizeof(what), "the name of '/%s'", e->path);
		int rc = check_utf8(what, e->path, err);
		if (rc < 0)
			return rc;
		if ((rc = pl__grow(&d->files, &alloc, d->nfiles + 1, sizeof(*d->files), err)) < 0)
			return rc;
		struct file *f = &d->files[d->nfiles++];
		*f = (struct file){ .path = e->path, .sha256 = content->sha256 };
		if (d->fmt != PL_SBOM_SPDX)
			continue;
		if (!(f->sha1 = sha1_of(s, content->path)))
			return pl__error_set(err, PL_EINVAL, 0, "'/%s' was never read", e->path);
		if (!(f->id = spdx_id("File-", "", e->path, strlen(e->path), err)))
			return PL_ENOMEM;
	}
	if (d->nfiles)
		qsort(d->files, d->nfiles, sizeof(*d->files), cmp_file);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* No two SPDX identifiers may be the same (a truncated hash could, in
 * theory). */
static int check_ids(const struct doc *d, struct pl_error **err)
{
	size_t n = d->npkgs + d->nfiles;
	cleanup_free const char **ids = n ? pl__calloc(n, sizeof(*ids), err) : NULL;
	if (n && !ids)
		return PL_ENOMEM;
	for (size_t i = 0; i < d->npkgs; i++)
		ids[i] = d->pkgs[i].id;
	for (size_t i = 0; i < d->nfiles; i++)
		ids[d->npkgs + i] = d->files[i].id;
	if (n)
		qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(ids[i - 1], ids[i]))
			return pl__error_set(err, PL_EINVAL, 0, "two SPDX identifiers are '%s'",
					     ids[i]);
	return 0;
}

/* The SPDX package verification code of the image: sha1 of the sorted
 * SHA1s (hex) of its regular files. */
static void verification_code(const struct scan *s, char out[2 * SHA1_LEN + 1])
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char **hex = s->nsums ? calloc(s->nsums, sizeof(*hex)) : NULL;
	char *all = s->nsums ? calloc(s->nsums, 2 * SHA1_LEN + 1) : NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c && (!s->nsums || (hex && all)) && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1;
	for (size_t i = 0; ok && i < s->nsums; i++) {
		hex[i] = all + i * (2 * SHA1_LEN + 1);
		pl__hex(s->sums[i].sha1, SHA1_LEN, hex[i]);
	}
	if (ok && s->nsums)
		qsort(hex, s->nsums, sizeof(*hex), cmp_str);
	for (size_t i = 0; ok && i < s->nsums; i++)
		ok = EVP_DigestUpdate(c, hex[i], 2 * SHA1_LEN) == 1;
	ok = ok && EVP_DigestFinal_ex(c, d, &n) == 1;
	EVP_MD_CTX_free(c);
	free(hex);
	free(all);
	if (ok)
		pl__hex(d, SHA1_LEN, out);
	else
		out[0] = '\0';
}

/* ---- the documents ----------------------------------------------------- */

/* Add `v` (stolen, NULL: out of memory) to an array or object; -1 when
 * either is NULL or memory runs out. */
static int push(json_t *a, json_t *v)
{
	return a && v ? json_array_append_new(a, v) : (json_decref(v), -1);
}

static int set(json_t *o, const char *key, json_t *v)
{
	return o && v ? json_object_set_new(o, key, v) : (json_decref(v), -1);
}

static json_t *spdx_checksum(const char *alg, const uint8_t *p, size_t n)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(p, n, hex);
	return json_pack("{s:s, s:s}", "algorithm", alg, "checksumValue", hex);
}

static json_t *spdx_purl(const char *purl)
{
	return json_pack("[{s:s, s:s, s:s}]", "referenceCategory", "PACKAGE-MANAGER",
			 "referenceType", "purl", "referenceLocator", purl);
}

static json_t *relationship(const char *from, const char *type, const char *to)
{
	return json_pack("{s:s, s:s, s:s}", "spdxElementId", from, "relationshipType", type,
			 "relatedSpdxElement", to);
}

#define IMAGE_ID "SPDXRef-Image"

static json_t *spdx_doc(const struct doc *d)
{
	uint8_t digest[PL_SHA256_LEN];
	pl__hex_sha256(d->digest_hex, digest);
	cleanup_free char *docname = pl__asprintf(NULL, "%s:%s", d->name, d->version);
	cleanup_free char *ns = pl__asprintf(NULL, "urn:uuid:%s", d->uuid);
	cleanup_free char *tool = pl__asprintf(NULL, "Tool: plinth-%s", PLINTH_VERSION);
	json_t *image =
	    json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:[o], s:o, s:{s:s}}", "SPDXID", IMAGE_ID,
		      "name", d->name, "versionInfo", d->version, "downloadLocation", "NOASSERTION",
		      "filesAnalyzed", 1, "primaryPackagePurpose", "CONTAINER", "checksums",
		      spdx_checksum("SHA256", digest, PL_SHA256_LEN), "externalRefs",
		      spdx_purl(d->image_purl), "packageVerificationCode",
		      "packageVerificationCodeValue", d->verification);
	cleanup_json json_t *packages = json_array(), *files = json_array();
	cleanup_json json_t *rels = json_array();
	int bad = push(packages, image) |
		  push(rels, relationship("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_ID));
	for (size_t i = 0; !bad && i < d->npkgs; i++) {
		const struct pkg *k = &d->pkgs[i];
		json_t *p =
		    json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "SPDXID", k->id, "name", k->p->name,
			      "versionInfo", k->p->version, "downloadLocation", "NOASSERTION",
			      "filesAnalyzed", 0, "externalRefs", spdx_purl(k->purl));
		const char *src = k->src_name ? k->src_name : k->p->name;
		const char *srcv = k->src_version ? k->src_version : k->p->version;
		cleanup_free char *info =
		    pl__asprintf(NULL, "built from the Debian source package %s %s", src, srcv);
		bad = set(p, "sourceInfo", info ? json_string(info) : NULL) | push(packages, p) |
		      push(rels, relationship(IMAGE_ID, "CONTAINS", k->id));
	}
	for (size_t i = 0; !bad && i < d->nfiles; i++) {
		const struct file *f = &d->files[i];
		cleanup_free char *name = pl__asprintf(NULL, "./%s", f->path);
		json_t *j =
		    name ? json_pack("{s:s, s:s, s:[o, o]}", "SPDXID", f->id, "fileName", name,
				     "checksums", spdx_checksum("SHA1", f->sha1, SHA1_LEN),
				     spdx_checksum("SHA256", f->sha256, PL_SHA256_LEN))
			 : NULL;
		bad = push(files, j) | push(rels, relationship(IMAGE_ID, "CONTAINS", f->id));
	}
	if (bad || !docname || !ns || !tool)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:O, s:O, s:O}", "spdxVersion",
			 "SPDX-2.3", "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name",
			 docname, "documentNamespace", ns, "creationInfo", "created", d->created,
			 "creators", tool, "packages", packages, "files", files, "relationships",
			 rels);
}

static json_t *cdx_sha256(const uint8_t *p)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(p, PL_SHA256_LEN, hex);
	return json_pack("[{s:s, s:s}]", "alg", "SHA-256", "content", hex);
}

static json_t *cyclonedx_doc(const struct doc *d)
{
	uint8_t digest[PL_SHA256_LEN];
	pl__hex_sha256(d->digest_hex, digest);
	cleanup_free char *serial = pl__asprintf(NULL, "urn:uuid:%s", d->uuid);
	cleanup_json json_t *components = json_array();
	int bad = 0;
	for (size_t i = 0; !bad && i < d->npkgs; i++) {
		const struct pkg *k = &d->pkgs[i];
		bad = push(components, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "application",
						 "bom-ref", k->purl, "name", k->p->name, "version",
						 k->p->version, "purl", k->purl));
	}
	for (size_t i = 0; !bad && i < d->nfiles; i++) {
		cleanup_free char *name = pl__asprintf(NULL, "/%s", d->files[i].path);
		bad = push(components,
			   name ? json_pack("{s:s, s:s, s:s, s:o}", "type", "file", "bom-ref", name,
					    "name", name, "hashes", cdx_sha256(d->files[i].sha256))
				: NULL);
	}
	if (bad || !serial)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:{s:[{s:s, s:s, s:s}]}, "
			 "s:{s:s, s:s, s:s, s:s, s:s, s:o}}, s:O}",
			 "bomFormat", "CycloneDX", "specVersion", "1.5", "serialNumber", serial,
			 "version", 1, "metadata", "timestamp", d->created, "tools", "components",
			 "type", "application", "name", "plinth", "version", PLINTH_VERSION,
			 "component", "type", "container", "bom-ref", d->image_purl, "name",
			 d->name, "version", d->version, "purl", d->image_purl, "hashes",
			 cdx_sha256(digest), "components", components);
}

/* ---- making one ---------------------------------------------------------- */

/* Read the layers and fill in `d`; *doc gets the document (while the
 * entries `d` borrows are still there). */
static int make(struct doc *d, const struct pl__blob_source *src, const json_t *layers,
		json_t **doc, struct pl_error **err)
{
	/* SPDX's verification code needs the SHA1 of every file */
	struct scan s = { .want_sha1 = d->fmt == PL_SBOM_SPDX };
	struct pl__fs_visitor v = { scan_entry, scan_data, scan_end, &s };
	cleanup_baseimg struct pl__baseimg *b = NULL;
	cleanup_pkgfiles struct pl__pkgfiles *pf = pl__pkgfiles_new(err);
	int rc = pf && (s.sha1 = EVP_MD_CTX_new()) ? 0 : pl__error_nomem(err);
	if (rc == 0)
		rc = pl__baseimg_read_visit(src, layers, &v, &b, err);
	if (rc == 0) {
		pl__pkgfiles_collect_finish(&s.md5sums);
		sums_finish(&s);
	}
	if (rc == 0)
		rc = pl__pkgfiles_add_installed(pf, &s.md5sums, b, err);
	if (rc == 0)
		rc = add_packages(d, b, &s, err);
	if (rc == 0)
		rc = add_files(d, b, &s, pf, err);
	if (rc == 0 && d->fmt == PL_SBOM_SPDX) {
		verification_code(&s, d->verification);
		rc = d->verification[0] ? check_ids(d, err) : pl__error_nomem(err);
	}
	if (rc == 0 && !(*doc = d->fmt == PL_SBOM_SPDX ? spdx_doc(d) : cyclonedx_doc(d)))
		rc = pl__error_nomem(err);
	scan_release(&s);
	return rc;
}

int pl__sbom_make(const struct pl__blob_source *src, const json_t *manifest_layers,
		  const json_t *config, const uint8_t manifest_digest[PL_SHA256_LEN],
		  const char *name, const char *version, enum pl_sbom_format fmt, char **out,
		  size_t *len, struct pl_error **err)
{
	struct doc d = { .fmt = fmt, .name = name, .version = version };
	const json_t *arch = json_object_get(config, "architecture");
	d.arch = json_string_value(arch);
	pl__hex(manifest_digest, PL_SHA256_LEN, d.digest_hex);
	cleanup_free char *uuid_name = pl__asprintf(
	    err, "%s:sha256:%s", fmt == PL_SBOM_SPDX ? "spdx" : "cyclonedx", d.digest_hex);
	int rc = uuid_name ? 0 : PL_ENOMEM;
	if (rc == 0) {
		uuid_v5(uuid_name, d.uuid);
		if ((rc = check_utf8("its name", name, err)) == 0 &&
		    (rc = check_utf8("its version", version, err)) == 0 &&
		    (rc = check_utf8("its config's architecture", d.arch, err)) == 0)
			rc = created_utc(config, d.created, err);
	}
	if (rc == 0 && !(d.image_purl = oci_purl(&d, err)))
		rc = PL_ENOMEM;
	json_t *doc = NULL;
	if (rc == 0)
		rc = make(&d, src, manifest_layers, &doc, err);
	doc_release(&d);
	char *text = doc ? pl__json_canonical(doc) : NULL;
	json_decref(doc);
	if (rc < 0)
		return rc;
	size_t n = text ? strlen(text) : 0;
	char *nl = text ? realloc(text, n + 2) : NULL;
	if (!nl) {
		free(text);
		return pl__error_nomem(err);
	}
	nl[n] = '\n';
	nl[n + 1] = '\0';
	*out = nl;
	*len = n + 1;
	return 0;
}

int pl_sbom_image(const char *dir, const char *tag, enum pl_sbom_format fmt, char **out,
		  size_t *len, struct pl_error **err)
{
	cleanup_image struct pl__image im = { 0 };
	int rc = pl__image_open(dir, tag, false, &im, err);
	if (rc < 0)
		return rc;
	const char *name = pl__image_annotation(&im, "org.opencontainers.image.title");
	const char *version = pl__image_annotation(&im, "org.opencontainers.image.version");
	struct pl__blob_source src = pl__layout_blobs(dir);
	rc = pl__sbom_make(&src, json_object_get(im.mjson, "layers"), im.config, im.digest,
			   name ? name : tag, version ? version : tag, fmt, out, len, err);
	return rc < 0 ? pl__error_wrap(err, rc, "image 'oci:%s:%s'", dir, tag) : 0;
}

int pl_sbom_write(const char *path, const char *text, size_t len, struct pl_error **err)
{
	cleanup_free char *copy = pl__strdup(path, err);
	if (!copy)
		return PL_ENOMEM;
	char *slash = strrchr(copy, '/');
	const char *file = slash ? slash + 1 : copy;
	if (!*file)
		return pl__error_set(err, PL_EINVAL, 0, "'%s' names a directory, not a file", path);
	if (slash)
		*(slash == copy ? slash + 1 : slash) = '\0';
	cleanup_close int dfd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the directory of '%s'",
				     path);
	int rc = pl__write_file_atomic(dfd, file, text, len, 0644, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "cannot write '%s'", path);
	if (fsync(dfd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync the directory of '%s'",
				     path);
	return 0;
}
