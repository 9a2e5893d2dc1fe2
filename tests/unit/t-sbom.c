/*
 * t-sbom.c - what the SBOM of an image made here (layers written with
 * libarchive, blobs served from memory) says: visible files only, hard
 * links, ownership by installed packages only, purls of awkward names,
 * creation times in any RFC 3339 form, and refusals.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "json.h"
#include "sbom.h"
#include "tap.h"

/* One tar entry: 'f' file (text), 'h' hard link (text: target), 'w' a
 * whiteout of the path. */
struct tent {
	char kind;
	const char *path, *text;
};

static la_ssize_t to_buf(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return pl_buf_add(ctx, p, n, NULL) < 0 ? -1 : (la_ssize_t)n;
}

#define MAX_BLOBS 8

/* The layers' blobs, served from memory. */
struct blobs {
	struct pl_buf v[MAX_BLOBS];
	uint8_t digest[MAX_BLOBS][PL_SHA256_LEN];
	size_t n;
};

static int blob_open(void *ctx, const uint8_t digest[PL_SHA256_LEN], int *fd, struct pl_error **err)
{
	struct blobs *b = ctx;
	for (size_t i = 0; i < b->n; i++) {
		if (memcmp(b->digest[i], digest, PL_SHA256_LEN))
			continue;
		*fd = memfd_create("blob", MFD_CLOEXEC);
		if (*fd < 0 || pl__write_all(*fd, b->v[i].buf, b->v[i].len) < 0 ||
		    lseek(*fd, 0, SEEK_SET) < 0)
			return pl__error_set(err, PL_ESYS, errno, "memfd");
		return 0;
	}
	return pl__error_set(err, PL_EINVAL, 0, "no such blob");
}

/* A tar layer of `v` appended to `layers` (a manifest's list). */
static void add_layer(struct blobs *b, json_t *layers, const struct tent *v, size_t n)
{
	struct pl_buf *out = &b->v[b->n];
	check_int(pl_buf_init(out, 0, NULL), ==, 0);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	check_int(archive_write_open(a, out, NULL, to_buf, NULL), ==, ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		char path[512];
		const char *slash = strrchr(v[i].path, '/');
		if (v[i].kind == 'w')
			snprintf(path, sizeof(path), "%.*s.wh.%s",
				 slash ? (int)(slash - v[i].path + 1) : 0, v[i].path,
				 slash ? slash + 1 : v[i].path);
		else
			snprintf(path, sizeof(path), "%s", v[i].path);
		archive_entry_set_pathname(e, path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		size_t len = v[i].kind == 'f' ? strlen(v[i].text) : 0;
		if (v[i].kind == 'h')
			archive_entry_set_hardlink(e, v[i].text);
		else
			archive_entry_set_size(e, (la_int64_t)len);
		/* a name that is not UTF-8 is written as it is, with a warning */
		check_int(archive_write_header(a, e), >=, ARCHIVE_WARN);
		if (len)
			check_int(archive_write_data(a, v[i].text, len), ==, (la_ssize_t)len);
		archive_entry_free(e);
	}
	check_int(archive_write_close(a), ==, ARCHIVE_OK);
	archive_write_free(a);
	char digest[PL_DIGEST_STR_LEN + 1];
	pl__sha256(out->buf, out->len, b->digest[b->n]);
	pl__digest_str(b->digest[b->n], digest);
	b->n++;
	json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", PL__MT_LAYER,
						"digest", digest, "size", (json_int_t)out->len));
}

static void blobs_release(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		pl_buf_release(&b->v[i]);
}

#define N(v) (sizeof(v) / sizeof((v)[0]))
#define MD5  "0123456789abcdef0123456789abcdef"
#define SD   "var/lib/dpkg/status.d/"

static const uint8_t digest[PL_SHA256_LEN] = { 0xab, 0xcd };

/* The SBOM of `layers` (parsed), or NULL with the error in *why. */
static json_t *sbom(struct blobs *b, json_t *layers, const char *created, const char *name,
		    enum pl_sbom_format fmt, char *why, size_t size)
{
	struct pl__blob_source src = { blob_open, b };
	json_t *config = json_pack("{s:s}", "architecture", "amd64");
	if (created)
		json_object_set_new(config, "created", json_string(created));
	char *text = NULL;
	size_t len = 0;
	struct pl_error *err = NULL;
	json_t *doc = NULL;
	why[0] = '\0';
	if (pl__sbom_make(&src, layers, config, digest, name, "1.2.3", fmt, &text, &len, &err) ==
	    0) {
		check(len > 0 && text[len - 1] == '\n');
		doc = json_loadb(text, len, 0, NULL);
		check(doc != NULL);
	} else {
		snprintf(why, size, "%s", pl_error_message(err));
	}
	pl_error_free(err);
	free(text);
	json_decref(config);
	return doc;
}

/* The file names a document lists, joined by spaces. */
static const char *file_names(const json_t *doc, enum pl_sbom_format fmt)
{
	static char out[1024];
	size_t i, at = 0;
	json_t *f;
	out[0] = '\0';
	json_array_foreach (json_object_get(doc, fmt == PL_SBOM_SPDX ? "files" : "components"), i,
			    f) {
		const char *type = json_string_value(json_object_get(f, "type"));
		if (fmt == PL_SBOM_CYCLONEDX && strcmp(type, "file"))
			continue;
		const char *n = json_string_value(
		    json_object_get(f, fmt == PL_SBOM_SPDX ? "fileName" : "name"));
		at += (size_t)snprintf(out + at, sizeof(out) - at, "%s%s", at ? " " : "", n);
	}
	return out;
}

static const char *purl_of(const json_t *doc, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(doc, "components"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			return json_string_value(json_object_get(c, "purl"));
	return NULL;
}

static void test_files(void)
{
	struct blobs b = { 0 };
	json_t *layers = json_array();
	/* the bottom layer: two packages, one later removed by the top layer */
	static const struct tent bottom[] = {
		{ 'f', SD "libstdc++6",
		  "Package: libstdc++6\nVersion: 12.2.0-14\n"
		  "Architecture: amd64\nSource: gcc-12 (12.2.0-14)\n" },
		{ 'f', SD "libstdc++6:amd64.md5sums", MD5 "  usr/lib/libstdc++.so.6\n" },
		{ 'f', SD "gone", "Package: gone\nVersion: 1\nArchitecture: all\n" },
		{ 'f', SD "gone.md5sums", MD5 "  usr/share/gone/data" },
		{ 'f', "usr/lib/libstdc++.so.6", "lib" },
		{ 'f', "usr/share/gone/data", "left behind" },
		{ 'f', "etc/hidden", "removed above" },
		{ 'f', "etc/replaced", "old" },
	};
	static const struct tent top[] = {
		{ 'w', SD "gone", NULL },
		{ 'w', "etc/hidden", NULL },
		{ 'f', "etc/replaced", "new" },
		{ 'f', "usr/bin/tool", "tool" },
		{ 'h', "usr/bin/tool-again", "usr/bin/tool" },
	};
	add_layer(&b, layers, bottom, N(bottom));
	add_layer(&b, layers, top, N(top));
	char why[512];

	json_t *doc = sbom(&b, layers, "2024-02-29T23:30:00.123456789-01:30", "Registry/My-App",
			   PL_SBOM_SPDX, why, sizeof(why));
	check_str(why, "");
	check_str(file_names(doc, PL_SBOM_SPDX),
		  "./etc/replaced ./usr/bin/tool ./usr/bin/tool-again ./usr/share/gone/data "
		  "./var/lib/dpkg/status.d/gone.md5sums ./var/lib/dpkg/status.d/libstdc++6 "
		  "./var/lib/dpkg/status.d/libstdc++6:amd64.md5sums");
	check_str(
	    json_string_value(json_object_get(json_object_get(doc, "creationInfo"), "created")),
	    "2024-03-01T01:00:00Z");
	json_t *files = json_object_get(doc, "files"), *pkgs = json_object_get(doc, "packages");
	/* the hard link has its target's content */
	check(json_equal(json_object_get(json_array_get(files, 1), "checksums"),
			 json_object_get(json_array_get(files, 2), "checksums")));
	json_t *pkg = json_array_get(pkgs, 1);
	check_str(json_string_value(json_object_get(pkg, "name")), "libstdc++6");
	check(!strncmp(json_string_value(json_object_get(pkg, "SPDXID")),
		       "SPDXRef-Package-deb-libstdc--6-", 31));
	check_str(json_string_value(json_object_get(
		      json_array_get(json_object_get(pkg, "externalRefs"), 0), "referenceLocator")),
		  "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&upstream=gcc-12");
	check_str(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(json_array_get(pkgs, 0), "externalRefs"), 0),
		"referenceLocator")),
	    "pkg:oci/my-app@sha256%3Aabcd000000000000000000000000000000000000000000000000000000"
	    "000000?arch=amd64");
	json_decref(doc);

	doc = sbom(&b, layers, NULL, "app", PL_SBOM_CYCLONEDX, why, sizeof(why));
	check_str(file_names(doc, PL_SBOM_CYCLONEDX),
		  "/etc/replaced /usr/bin/tool /usr/bin/tool-again /usr/share/gone/data "
		  "/var/lib/dpkg/status.d/gone.md5sums /var/lib/dpkg/status.d/libstdc++6 "
		  "/var/lib/dpkg/status.d/libstdc++6:amd64.md5sums");
	check_str(json_string_value(json_object_get(json_object_get(doc, "metadata"), "timestamp")),
		  "1970-01-01T00:00:00Z");
	check_str(purl_of(doc, "libstdc++6"),
		  "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&upstream=gcc-12");
	check(purl_of(doc, "gone") == NULL);
	json_decref(doc);

	static const char *const bad_times[] = { "yesterday", "2024-02-29", "2024-02-29T23:30:00",
						 "2024-02-29T23:30:00+0130",
						 "2024-02-29T23:30:00Zjunk" };
	for (size_t i = 0; i < N(bad_times); i++) {
		check(sbom(&b, layers, bad_times[i], "app", PL_SBOM_SPDX, why, sizeof(why)) ==
		      NULL);
		check_str(why, "its config's 'created' is not an RFC 3339 time");
	}
	json_decref(layers);
	blobs_release(&b);
}

static void test_refused(void)
{
	struct blobs b = { 0 };
	json_t *layers = json_array();
	static const struct tent latin1[] = { { 'f', "etc/caf\xe9", "x" } };
	add_layer(&b, layers, latin1, N(latin1));
	char why[512];
	check(sbom(&b, layers, NULL, "app", PL_SBOM_CYCLONEDX, why, sizeof(why)) == NULL);
	check_str(why, "the name of '/etc/caf\xe9' is not UTF-8");
	json_decref(layers);
	blobs_release(&b);

	b = (struct blobs){ 0 };
	layers = json_array();
	static const struct tent bad_md5sums[] = {
		{ 'f', SD "pk", "Package: pk\nVersion: 1\nArchitecture: all\n" },
		{ 'f', SD "pk.md5sums", MD5 "  usr/a\nnot an md5sums line\n" },
	};
	add_layer(&b, layers, bad_md5sums, N(bad_md5sums));
	check(sbom(&b, layers, NULL, "app", PL_SBOM_SPDX, why, sizeof(why)) == NULL);
	check_str(why, "package 'pk': md5sums line 2 is not 32 hex digits, two spaces and a path");
	json_decref(layers);
	blobs_release(&b);
}

int main(void)
{
	enum pl_sbom_format f = PL_SBOM_CYCLONEDX;
	check(pl_sbom_format_parse("spdx", &f) && f == PL_SBOM_SPDX);
	check(pl_sbom_format_parse("cyclonedx", &f) && f == PL_SBOM_CYCLONEDX);
	check(!pl_sbom_format_parse("SPDX", &f) && f == PL_SBOM_CYCLONEDX);
	check_str(pl__sbom_media_type(PL_SBOM_SPDX), "application/spdx+json");
	check_str(pl__sbom_media_type(PL_SBOM_CYCLONEDX), "application/vnd.cyclonedx+json");
	test_files();
	test_refused();
	return tap_done();
}
