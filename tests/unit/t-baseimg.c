/*
 * t-baseimg.c - reading a base image's filesystem from its layers (made
 * here with libarchive, gzip, zstd and plain), whiteouts, installed
 * packages and accounts, refused blobs; and the layer a derived recipe
 * puts on such a base (pl__assemble with a base).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble.h"
#include "baseimg.h"
#include "json.h"
#include "tap.h"
#include "tar.h"

static char tmp[] = "/tmp/t-baseimg.XXXXXX";

static const char *media_type(int filter)
{
	return filter == ARCHIVE_FILTER_GZIP   ? PL__MT_LAYER_GZIP
	       : filter == ARCHIVE_FILTER_ZSTD ? PL__MT_LAYER_ZSTD
					       : PL__MT_LAYER;
}

/* Store `blob` in the test layout and append its descriptor to `layers`. */
static void add_blob(json_t *layers, const char *mt, const struct pl_buf *blob, char *hex_out)
{
	uint8_t d[PL_SHA256_LEN];
	char hex[2 * PL_SHA256_LEN + 1], path[512], digest[PL_DIGEST_STR_LEN + 1];
	pl__sha256(blob->buf, blob->len, d);
	pl__hex(d, PL_SHA256_LEN, hex);
	pl__digest_str(d, digest);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", tmp, hex);
	FILE *f = fopen(path, "wb");
	check(f != NULL);
	if (f) {
		check_int(fwrite(blob->buf, 1, blob->len, f), ==, blob->len);
		check_int(fclose(f), ==, 0);
	}
	json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest",
						digest, "size", (json_int_t)blob->len));
	if (hex_out)
		memcpy(hex_out, hex, sizeof(hex));
}

static void add_layer(json_t *layers, int filter, const struct tent *v, size_t n, char *hex)
{
	cleanup_buf struct pl_buf b = { 0 };
	make_tar(filter, v, n, &b);
	add_blob(layers, media_type(filter), &b, hex);
}

#define N(v) (sizeof(v) / sizeof((v)[0]))

static struct pl__baseimg *read_ok(json_t *layers)
{
	struct pl__baseimg *b = NULL;
	struct pl_error *err = NULL;
	int rc = pl__baseimg_read(tmp, layers, &b, &err);
	check_int(rc, ==, 0);
	if (err)
		tap_diag(pl_error_message(err));
	pl_error_free(err);
	return b;
}

static void check_fails(json_t *layers, int code, const char *message)
{
	struct pl__baseimg *b = NULL;
	struct pl_error *err = NULL;
	check_int(pl__baseimg_read(tmp, layers, &b, &err), ==, code);
	check(b == NULL);
	check_str(err ? pl_error_message(err) : NULL, message);
	pl_error_free(err);
	pl__baseimg_free(b);
}

static const char libc6[] = "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n"
			    "Source: glibc\nProvides: libc-bin-abi (= 2.36)\n";
static const char libfoo[] = "Package: libfoo\nVersion: 1.0\nArchitecture: amd64\n";
static const char tzdata[] = "Package: tzdata\nVersion: 2024a-1\nArchitecture: all\n";
static const char gone[] = "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n";
static const char passwd1[] = "root:x:0:0:root:/root:/sbin/nologin\n";
static const char passwd2[] = "root:x:0:0:root:/root:/sbin/nologin\n"
			      "+nis\n"
			      "app:x:1000:1000:app:/home/app:/sbin/nologin\n";

/* Two layers in order, the upper one deleting, replacing and adding. */
static void test_layers(void)
{
	static const struct tent lower[] = {
		{ 'd', "./", NULL, 0755, 0 },
		{ 'd', "./etc/", NULL, 0755, 0 },
		{ 'f', "./etc/passwd", passwd1, 0644, 0 },
		{ 'f', "./etc/group", "root:x:0:\n", 0644, 0 },
		{ 'd', "var/lib/dpkg/status.d", NULL, 0755, 0 },
		{ 'f', "var/lib/dpkg/status.d/libc6", libc6, 0644, 0 },
		{ 'f', "var/lib/dpkg/status.d/libc6.md5sums", "x  usr/lib/libc.so\n", 0644, 0 },
		{ 'f', "var/lib/dpkg/status.d/libfoo", libfoo, 0644, 0 },
		{ 'f', "var/lib/dpkg/status.d/gone", gone, 0644, 0 },
		{ 'd', "usr/share/dir", NULL, 0755, 0 },
		{ 'f', "usr/share/dir/x", "x", 0644, 0 },
		{ 'd', "opt/o", NULL, 0700, 7 },
		{ 'f', "opt/o/z", "z", 0600, 7 },
		{ 'd', "d", NULL, 0755, 0 },
		{ 'f', "d/f", "f", 0644, 0 },
		{ 'l', "bin", "usr/bin", 0, 0 },
		{ 'f', "usr/lib/x", "one", 0755, 0 },
		{ 'h', "usr/lib/y", "./usr/lib/x", 0, 0 },
	};
	static const struct tent upper[] = {
		{ 'f', "etc/passwd", passwd2, 0644, 0 },
		{ 'f', "var/lib/dpkg/status.d/.wh.libfoo", "", 0, 0 },
		{ 'f', "var/lib/dpkg/status.d/tzdata", tzdata, 0644, 0 },
		{ 'f', "usr/share/dir/.wh..wh..opq", "", 0, 0 },
		{ 'f', "usr/share/dir/y", "why", 0640, 5 },
		{ 'f', ".wh.opt", "", 0, 0 },
		{ 'f', "d", "now a file", 0644, 0 },
		{ 'f', "twice", "first", 0644, 0 },
		{ 'f', "twice", "second", 0644, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_GZIP, lower, N(lower), NULL);
	add_layer(layers, ARCHIVE_FILTER_ZSTD, upper, N(upper), NULL);
	cleanup_baseimg struct pl__baseimg *b = read_ok(layers);
	if (!b)
		return;

	size_t n = 0;
	const struct pl__base_pkg *p = pl__baseimg_packages(b, &n);
	check_int(n, ==, 2); /* libfoo whited out, gone not installed */
	if (n == 2) {
		check_str(p[0].name, "libc6");
		check_str(p[0].version, "2.36-9");
		check_str(p[0].arch, "amd64");
		check_str(p[0].source, "glibc");
		check_str(p[0].provides, "libc-bin-abi (= 2.36)");
		check_str(p[1].name, "tzdata");
		check(p[1].source == NULL);
	}
	check(pl__baseimg_package(b, "tzdata") == &p[1]);
	check(pl__baseimg_package(b, "libfoo") == NULL);
	check(pl__baseimg_package(b, "gone") == NULL);

	const struct pl__bentry *e = pl__baseimg_get(b, "etc/passwd");
	check_str(e ? e->data : NULL, passwd2);
	e = pl__baseimg_get(b, "etc/group");
	check_str(e ? e->data : NULL, "root:x:0:\n");

	/* opaque directory: the lower x is gone, the upper y is there */
	check(pl__baseimg_get(b, "usr/share/dir/x") == NULL);
	check(pl__baseimg_get(b, "usr/share/dir") != NULL);
	e = pl__baseimg_get(b, "usr/share/dir/y");
	check(e != NULL);
	if (e) {
		uint8_t d[PL_SHA256_LEN];
		pl__sha256("why", 3, d);
		check_int(e->kind, ==, PL__B_REG);
		check_int(e->size, ==, 3);
		check(!memcmp(e->sha256, d, PL_SHA256_LEN));
		check_int(e->mode, ==, 0640);
		check_int(e->uid, ==, 5);
		check(e->data == NULL); /* not a file plinth reads */
	}
	/* a whited-out directory takes what is below it along */
	check(pl__baseimg_get(b, "opt") == NULL);
	check(pl__baseimg_get(b, "opt/o") == NULL);
	check(pl__baseimg_get(b, "opt/o/z") == NULL);
	/* a file replacing a directory hides what the directory held */
	e = pl__baseimg_get(b, "d");
	check(e && e->kind == PL__B_REG);
	check(pl__baseimg_get(b, "d/f") == NULL);
	/* twice in one layer: the later entry counts */
	e = pl__baseimg_get(b, "twice");
	check(e && e->size == 6);
	e = pl__baseimg_get(b, "bin");
	check(e && e->kind == PL__B_SYMLINK);
	check_str(e ? e->target : NULL, "usr/bin");
	e = pl__baseimg_get(b, "usr/lib/y");
	check(e && e->kind == PL__B_HARDLINK);
	check_str(e ? e->target : NULL, "usr/lib/x");
	e = pl__baseimg_get(b, "usr/lib/x");
	check(e && e->mode == 0755);
	check(pl__baseimg_get(b, "var/lib/dpkg/status.d/.wh.libfoo") == NULL);
	check(pl__baseimg_get(b, "var/lib/dpkg/status.d/libfoo") == NULL);

	struct pl__account *acc = NULL;
	size_t nacc = 0;
	check_int(pl__baseimg_accounts(b, false, &acc, &nacc, NULL), ==, 0);
	check_int(nacc, ==, 2); /* "+nis" does not parse */
	if (nacc == 2) {
		check_str(acc[1].name, "app");
		check_int(acc[1].id, ==, 1000);
		check_int(acc[1].gid, ==, 1000);
		check_str(acc[1].home, "/home/app");
		check_str(acc[1].shell, "/sbin/nologin");
	}
	pl__accounts_free(acc, nacc);
	check_int(pl__baseimg_accounts(b, true, &acc, &nacc, NULL), ==, 0);
	check_int(nacc, ==, 1);
	if (nacc == 1)
		check(!strcmp(acc[0].name, "root") && acc[0].gid == 0);
	pl__accounts_free(acc, nacc);
}

/* Whiteouts hide only what lower layers have, never their own layer's. */
static void test_whiteout_scope(void)
{
	static const struct tent lower[] = { { 'f', "a/keep", "k", 0, 0 },
					     { 'f', "a/old", "o", 0, 0 } };
	static const struct tent upper[] = {
		{ 'f', "a/new", "n", 0, 0 },
		{ 'f', "a/.wh..wh..opq", "", 0, 0 },
		{ 'f', ".wh.gone", "", 0, 0 },
		{ 'f', "gone", "back", 0, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_NONE, lower, N(lower), NULL);
	add_layer(layers, ARCHIVE_FILTER_NONE, upper, N(upper), NULL);
	cleanup_baseimg struct pl__baseimg *b = read_ok(layers);
	if (!b)
		return;
	check(pl__baseimg_get(b, "a/new") != NULL);
	check(pl__baseimg_get(b, "a/keep") == NULL);
	check(pl__baseimg_get(b, "a/old") == NULL);
	check(pl__baseimg_get(b, "gone") != NULL);
	size_t n;
	pl__baseimg_packages(b, &n);
	check_int(n, ==, 0);
	check(pl__baseimg_get(b, "etc/passwd") == NULL);
	struct pl__account *acc = NULL;
	check_int(pl__baseimg_accounts(b, false, &acc, &n, NULL), ==, 0);
	check_int(n, ==, 0);
}

/*
 * A non-directory in a middle layer removes what the layers below had
 * under its path, even when the layer above puts a directory back: as
 * extracting the layers in order leaves it.
 */
static void test_shadowed_non_directory(void)
{
	static const struct tent bottom[] = {
		{ 'f', "a/x", "x", 0, 0 },
		{ 'f', "etc/passwd", passwd1, 0, 0 },
		{ 'f', "keep/y", "y", 0, 0 },
		{ 'f', "var/lib/dpkg/status.d/libfoo", libfoo, 0, 0 },
	};
	static const struct tent middle[] = {
		{ 'f', "a", "now a file", 0, 0 },
		{ 'l', "etc", "/tmp", 0, 0 },
		{ 'd', "keep", NULL, 0700, 0 },
		{ 'h', "var/lib/dpkg", "a", 0, 0 },
	};
	static const struct tent top[] = {
		{ 'd', "a", NULL, 0755, 0 },
		{ 'd', "etc", NULL, 0755, 0 },
		{ 'f', "etc/group", "root:x:0:\n", 0, 0 },
		{ 'd', "keep", NULL, 0755, 0 },
		{ 'd', "var/lib/dpkg", NULL, 0755, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_NONE, bottom, N(bottom), NULL);
	add_layer(layers, ARCHIVE_FILTER_GZIP, middle, N(middle), NULL);
	add_layer(layers, ARCHIVE_FILTER_ZSTD, top, N(top), NULL);
	cleanup_baseimg struct pl__baseimg *b = read_ok(layers);
	if (!b)
		return;
	const struct pl__bentry *e = pl__baseimg_get(b, "a");
	check(e && e->kind == PL__B_DIR);
	check(pl__baseimg_get(b, "a/x") == NULL);
	e = pl__baseimg_get(b, "etc");
	check(e && e->kind == PL__B_DIR);
	check(pl__baseimg_get(b, "etc/passwd") == NULL);
	check(pl__baseimg_get(b, "etc/group") != NULL);
	/* a hard link counts as a file too: the status.d below it is gone */
	check(pl__baseimg_get(b, "var/lib/dpkg/status.d/libfoo") == NULL);
	size_t n = 1;
	pl__baseimg_packages(b, &n);
	check_int(n, ==, 0);
	struct pl__account *acc = NULL;
	check_int(pl__baseimg_accounts(b, false, &acc, &n, NULL), ==, 0);
	check_int(n, ==, 0);
	/* a directory in the middle keeps what the layers below had in it,
	 * with the mode of the topmost */
	e = pl__baseimg_get(b, "keep/y");
	check(e && e->kind == PL__B_REG);
	e = pl__baseimg_get(b, "keep");
	check(e && e->mode == 0755);
}

/* dpkg installs a package once per architecture: two paragraphs for one
 * are refused; the same name for two architectures is multiarch. */
static void test_installed_twice(void)
{
	static const struct tent two[] = {
		{ 'f', "var/lib/dpkg/status.d/pp", "Package: pp\nVersion: 1\nArchitecture: amd64\n",
		  0, 0 },
		{ 'f', "var/lib/dpkg/status.d/pp-new",
		  "Package: pp\nVersion: 2\nArchitecture: amd64\n", 0, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_NONE, two, N(two), NULL);
	check_fails(layers, PL_EINVAL, "package 'pp' is installed twice");

	static const struct tent multiarch[] = {
		{ 'f', "var/lib/dpkg/status.d/pp", "Package: pp\nVersion: 1\nArchitecture: amd64\n",
		  0, 0 },
		{ 'f', "var/lib/dpkg/status.d/pp-i386",
		  "Package: pp\nVersion: 1\nArchitecture: i386\n", 0, 0 },
		{ 'f', "var/lib/dpkg/status.d/qq",
		  "Package: qq\nVersion: 1\nArchitecture: all\nConflicts: rr (<< 2)\n"
		  "Breaks: ss\n",
		  0, 0 },
	};
	cleanup_json json_t *ok = json_array();
	add_layer(ok, ARCHIVE_FILTER_NONE, multiarch, N(multiarch), NULL);
	cleanup_baseimg struct pl__baseimg *b = read_ok(ok);
	size_t n = 0;
	const struct pl__base_pkg *p = b ? pl__baseimg_packages(b, &n) : NULL;
	check_int(n, ==, 3);
	if (n == 3) {
		check_str(p[0].arch, "amd64");
		check_str(p[1].arch, "i386");
		check_str(p[2].conflicts, "rr (<< 2)");
		check_str(p[2].breaks, "ss");
		check(p[0].conflicts == NULL && p[0].breaks == NULL);
	}

	/* the first field that is missing is the one reported */
	static const struct tent noname[] = { { 'f', "var/lib/dpkg/status.d/x",
						"Architecture: all\n", 0, 0 } };
	cleanup_json json_t *bad = json_array();
	add_layer(bad, ARCHIVE_FILTER_NONE, noname, N(noname), NULL);
	check_fails(bad, PL_EINVAL, "/var/lib/dpkg/status.d/x:1: the paragraph has no 'Package'");
}

/* The history an image on a base starts with has one entry per base layer. */
static void test_base_history(void)
{
	struct {
		const char *config, *want;
	} cases[] = {
		/* none: one per layer, with the base's created */
		{ "{\"created\": \"2023-11-14T22:13:20Z\"}",
		  "[{\"created\": \"2023-11-14T22:13:20Z\", \"created_by\": \"base b:1.0\"}, "
		  "{\"created\": \"2023-11-14T22:13:20Z\", \"created_by\": \"base b:1.0\"}]" },
		/* only empty layers: kept, and one per layer after them */
		{ "{\"history\": [{\"created_by\": \"ENV\", \"empty_layer\": true}]}",
		  "[{\"created_by\": \"ENV\", \"empty_layer\": true}, {\"created_by\": \"base "
		  "b:1.0\"}, {\"created_by\": \"base b:1.0\"}]" },
		/* one per layer: the base's as it is */
		{ "{\"history\": [{\"created_by\": \"x\"}, {\"created_by\": \"ENV\", "
		  "\"empty_layer\": true}, {\"created_by\": \"y\", \"empty_layer\": false}]}",
		  "[{\"created_by\": \"x\"}, {\"created_by\": \"ENV\", \"empty_layer\": true}, "
		  "{\"created_by\": \"y\", \"empty_layer\": false}]" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		cleanup_json json_t *config = json_loads(cases[i].config, 0, NULL);
		cleanup_json json_t *want = json_loads(cases[i].want, 0, NULL);
		json_t *got = NULL;
		check_int(pl__base_history(config, 2, "b", "1.0", &got, NULL), ==, 0);
		check(got && want && json_equal(got, want));
		if (got && want && !json_equal(got, want)) {
			char *text = json_dumps(got, JSON_SORT_KEYS);
			tap_diag(text);
			free(text);
		}
		json_decref(got);
	}
	static const char *const bad[][2] = {
		{ "{\"history\": [{\"created_by\": \"x\"}]}",
		  "its config's history has 1 layers, not the 2 of its rootfs" },
		{ "{\"history\": {}}", "its config's 'history' is not a list" },
		{ "{\"history\": [1]}", "its config's history[0] is not an object" },
	};
	for (size_t i = 0; i < N(bad); i++) {
		cleanup_json json_t *config = json_loads(bad[i][0], 0, NULL);
		json_t *got = NULL;
		struct pl_error *err = NULL;
		check_int(pl__base_history(config, 2, "b", "1.0", &got, &err), ==, PL_EINVAL);
		check(got == NULL);
		check_str(err ? pl_error_message(err) : NULL, bad[i][1]);
		pl_error_free(err);
	}
}

static void flip_byte(const char *hex, long at)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", tmp, hex);
	int fd = open(path, O_RDWR);
	check(fd >= 0);
	unsigned char c = 0;
	check_int(pread(fd, &c, 1, at), ==, 1);
	c ^= 1;
	check_int(pwrite(fd, &c, 1, at), ==, 1);
	close(fd);
}

static void test_refused(void)
{
	static const struct tent one[] = { { 'f', "etc/passwd", passwd1, 0, 0 } };
	char hex[2 * PL_SHA256_LEN + 1], msg[512];

	/* a byte changed in the middle of a gzip layer: the digest says so,
	 * not the decompressor */
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_GZIP, one, N(one), hex);
	json_int_t size = json_integer_value(json_object_get(json_array_get(layers, 0), "size"));
	flip_byte(hex, (long)size / 2);
	snprintf(msg, sizeof(msg), "base layer sha256:%s does not match its digest", hex);
	check_fails(layers, PL_EDIGEST, msg);

	/* the last byte: the tar is read in full before it, so only the
	 * digest can catch it */
	cleanup_json json_t *tail = json_array();
	add_layer(tail, ARCHIVE_FILTER_NONE, one, N(one), hex);
	size = json_integer_value(json_object_get(json_array_get(tail, 0), "size"));
	flip_byte(hex, (long)size - 1);
	snprintf(msg, sizeof(msg), "base layer sha256:%s does not match its digest", hex);
	check_fails(tail, PL_EDIGEST, msg);

	/* more bytes than the descriptor says */
	cleanup_json json_t *shorter = json_array();
	add_layer(shorter, ARCHIVE_FILTER_ZSTD, one, N(one), hex);
	json_t *d = json_array_get(shorter, 0);
	json_object_set_new(d, "size",
			    json_integer(json_integer_value(json_object_get(d, "size")) - 1));
	snprintf(msg, sizeof(msg), "base layer sha256:%s is not the %lld bytes its descriptor says",
		 hex, (long long)json_integer_value(json_object_get(d, "size")));
	check_fails(shorter, PL_EDIGEST, msg);

	/* a gzip layer that says it is zstd */
	cleanup_json json_t *lying = json_array();
	add_layer(lying, ARCHIVE_FILTER_GZIP, one, N(one), hex);
	json_object_set_new(json_array_get(lying, 0), "mediaType", json_string(PL__MT_LAYER_ZSTD));
	snprintf(msg, sizeof(msg),
		 "base layer sha256:%s: it is not zstd-compressed as its media type says", hex);
	check_fails(lying, PL_EINVAL, msg);

	cleanup_json json_t *foreign = json_array();
	add_layer(foreign, ARCHIVE_FILTER_GZIP, one, N(one), hex);
	json_object_set_new(json_array_get(foreign, 0), "mediaType",
			    json_string("application/vnd.docker.image.rootfs.diff.tar.gzip"));
	snprintf(msg, sizeof(msg),
		 "base layer sha256:%s: media type "
		 "'application/vnd.docker.image.rootfs.diff.tar.gzip' is not a tar, tar+gzip or "
		 "tar+zstd layer",
		 hex);
	check_fails(foreign, PL_EINVAL, msg);

	static const struct tent dotdot[] = { { 'f', "etc/../../x", "x", 0, 0 } };
	cleanup_json json_t *climb = json_array();
	add_layer(climb, ARCHIVE_FILTER_NONE, dotdot, N(dotdot), hex);
	snprintf(msg, sizeof(msg),
		 "base layer sha256:%s: entry 'etc/../../x' has a '..' component or a name longer "
		 "than 4096 bytes",
		 hex);
	check_fails(climb, PL_EINVAL, msg);

	static const struct tent noversion[] = { { 'f', "var/lib/dpkg/status.d/x",
						   "Package: x\nArchitecture: all\n", 0, 0 } };
	cleanup_json json_t *bad = json_array();
	add_layer(bad, ARCHIVE_FILTER_NONE, noversion, N(noversion), NULL);
	check_fails(bad, PL_EINVAL, "/var/lib/dpkg/status.d/x:1: the paragraph has no 'Version'");

	/* what is kept is bounded */
	static char big[PL__BASE_FILE_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	const struct tent huge[] = { { 'f', "etc/group", big, 0, 0 } };
	cleanup_json json_t *large = json_array();
	add_layer(large, ARCHIVE_FILTER_ZSTD, huge, N(huge), hex);
	snprintf(msg, sizeof(msg), "base layer sha256:%s: '/etc/group' is larger than %zu bytes",
		 hex, PL__BASE_FILE_MAX);
	check_fails(large, PL_ELIMIT, msg);
	/* ...but only what is kept */
	const struct tent data[] = { { 'f', "usr/share/big", big, 0, 0 } };
	cleanup_json json_t *fine = json_array();
	add_layer(fine, ARCHIVE_FILTER_ZSTD, data, N(data), NULL);
	cleanup_baseimg struct pl__baseimg *b = read_ok(fine);
	const struct pl__bentry *e = b ? pl__baseimg_get(b, "usr/share/big") : NULL;
	check(e && e->size == sizeof(big) - 1 && !e->data);

	/* a blob larger than a layer may be is not read at all */
	cleanup_json json_t *huge_blob = json_array();
	add_layer(huge_blob, ARCHIVE_FILTER_NONE, one, N(one), hex);
	json_object_set_new(json_array_get(huge_blob, 0), "size",
			    json_integer((json_int_t)PL__BASE_BLOB_MAX + 1));
	snprintf(msg, sizeof(msg), "base layer sha256:%s: its %llu bytes exceed the limit of %llu",
		 hex, (unsigned long long)PL__BASE_BLOB_MAX + 1,
		 (unsigned long long)PL__BASE_BLOB_MAX);
	check_fails(huge_blob, PL_ELIMIT, msg);

	/* a blob that is missing */
	cleanup_json json_t *missing = json_array();
	json_array_append_new(
	    missing, json_pack("{s:s, s:s, s:i}", "mediaType", PL__MT_LAYER, "digest",
			       "sha256:0000000000000000000000000000000000000000000000000000"
			       "000000000000",
			       "size", 1));
	struct pl__baseimg *none = NULL;
	check_int(pl__baseimg_read(tmp, missing, &none, NULL), ==, PL_ESYS);
	check(none == NULL);
}

/* ---- a derived recipe's layer on a base --------------------------------- */

static struct pl__baseimg *plinth_base_v(const char *os_id, const char *version)
{
	char os[128];
	snprintf(os, sizeof(os), "NAME=\"x\"\nID=%s\nIMAGE_ID=base\nIMAGE_VERSION=%s\n", os_id,
		 version);
	const struct tent v[] = {
		{ 'd', "etc", NULL, 0755, 0 },
		{ 'f', "etc/passwd",
		  "root:x:0:0:root:/root:/sbin/nologin\n"
		  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
		  "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
		  "app:x:1000:1000:app:/home/app:/sbin/nologin\n",
		  0644, 0 },
		{ 'f', "etc/group", "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\napp:x:1000:\n",
		  0644, 0 },
		{ 'f', "etc/os-release", os, 0644, 0 },
		{ 'f', "etc/nsswitch.conf", "hosts: files\n", 0644, 0 },
		{ 'd', "tmp", NULL, 01777, 0 },
		{ 'd', "root", NULL, 0700, 0 },
		{ 'd', "home", NULL, 0755, 0 },
		{ 'd', "home/nonroot", NULL, 0700, 65532 },
		{ 'd', "home/app", NULL, 0700, 1000 },
		{ 'd', "var", NULL, 0755, 0 },
		{ 'l', "var/run", "/run", 0, 0 },
		{ 'd', "data", NULL, 0750, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_GZIP, v, N(v), NULL);
	return read_ok(layers);
}

static struct pl__baseimg *plinth_base(const char *os_id)
{
	return plinth_base_v(os_id, "1.0.0");
}

static struct pl__tree *derive(const struct pl__baseimg *b, const char *yaml, const char *fail)
{
	struct pl_recipe *r = NULL;
	struct pl_error *err = NULL;
	struct pl__tree *t = NULL;
	check_int(pl_recipe_parse("d.yaml", yaml, strlen(yaml), &r, &err), ==, 0);
	if (r)
		pl__assemble(r, NULL, b, NULL, NULL, &t, &err);
	if (fail) {
		check_str(err ? pl_error_message(err) : NULL, fail);
	} else {
		check(err == NULL);
		if (err)
			tap_diag(pl_error_message(err));
	}
	pl_error_free(err);
	pl_recipe_free(r);
	check(fail ? t == NULL : t != NULL);
	return t;
}

static const char *text_of(struct pl__tree *t, const char *path)
{
	const struct pl__entry *e = pl__tree_get(t, path);
	return e && e->kind == PL__REG ? e->data : NULL;
}

static void test_derived_layer(void)
{
	cleanup_baseimg struct pl__baseimg *b = plinth_base("plinth");
	if (!b)
		return;
	/* accounts: the base's file, then what the recipe adds */
	cleanup_tree struct pl__tree *t =
	    derive(b,
		   "name: d\nversion: 2.0.0\nbase: base@1\n"
		   "accounts:\n  users: [{name: web, uid: 1001}, {name: app, uid: 1000}]\n"
		   "directories: [{path: /home/nonroot/sub}, {path: /data, mode: \"0750\"}]\n",
		   NULL);
	if (!t)
		return;
	check_str(text_of(t, "etc/passwd"),
		  "root:x:0:0:root:/root:/sbin/nologin\n"
		  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
		  "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
		  "app:x:1000:1000:app:/home/app:/sbin/nologin\n"
		  "web:x:1001:1001:web:/home/web:/sbin/nologin\n");
	check_str(text_of(t, "etc/group"),
		  "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\napp:x:1000:\nweb:x:1001:\n");
	/* the derived image names itself in its os-release, over plinth's */
	const char *os = text_of(t, "etc/os-release");
	check(os && strstr(os, "IMAGE_ID=d\nIMAGE_VERSION=2.0.0\n"));
	/* the base's defaults stay the base's, identical entries are left out */
	check(pl__tree_get(t, "etc/nsswitch.conf") == NULL);
	check(pl__tree_get(t, "tmp") == NULL);
	check(pl__tree_get(t, "root") == NULL);
	check(pl__tree_get(t, "home/app") == NULL);
	check(pl__tree_get(t, "data") == NULL);
	const struct pl__entry *e = pl__tree_get(t, "home/web");
	check(e && e->kind == PL__DIR && e->mode == 0700 && e->uid == 1001);
	/* a parent the layer needs keeps the base's mode and owner */
	e = pl__tree_get(t, "home/nonroot");
	check(e && e->mode == 0700 && e->uid == 65532 && e->gid == 65532);
	e = pl__tree_get(t, "home");
	check(e && e->mode == 0755 && e->uid == 0);
	/* etc (same as the base) is there only as the parent of new files */
	check(pl__tree_get(t, "etc") != NULL);
	check_int(pl__tree_count(t), ==, 8);

	/* nothing new: an empty layer but for the os-release */
	cleanup_tree struct pl__tree *same =
	    derive(b,
		   "name: base\nversion: 1.0.0\nbase: base@1\n"
		   "accounts:\n  users: [{name: app, uid: 1000}]\n",
		   NULL);
	check(same && pl__tree_get(same, "etc/passwd") == NULL);
	check(same && pl__tree_get(same, "etc/group") == NULL);
	check_int(same ? pl__tree_count(same) : 0, ==, 2); /* etc, etc/os-release */

	derive(b,
	       "name: d\nversion: 2.0.0\nbase: base@1\n"
	       "accounts:\n  users: [{name: app, uid: 1002}]\n",
	       "d.yaml:5:11: user 'app' (uid 1002, gid 1002, home '/home/app', shell "
	       "'/sbin/nologin') differs from the base's (uid 1000, gid 1000, home '/home/app', "
	       "shell '/sbin/nologin')");
	derive(b,
	       "name: d\nversion: 2.0.0\nbase: base@1\n"
	       "accounts:\n  users: [{name: bob, uid: 1000, gid: 7}]\n",
	       "d.yaml:5:11: user 'bob' (uid 1000) clashes with the base's 'app' (uid 1000)");
	derive(b,
	       "name: d\nversion: 2.0.0\nbase: base@1\n"
	       "accounts:\n  groups: [{name: staff, gid: 1000}]\n",
	       "d.yaml:5:12: group 'staff' (gid 1000) clashes with the base's 'app' (gid 1000)");
	/* a user in a base's group gets no group of its own */
	cleanup_tree struct pl__tree *ingroup =
	    derive(b,
		   "name: d\nversion: 2.0.0\nbase: base@1\n"
		   "accounts:\n  users: [{name: app2, uid: 1003, gid: 1000}]\n",
		   NULL);
	check(ingroup && pl__tree_get(ingroup, "etc/group") == NULL);
	check_str(ingroup ? text_of(ingroup, "etc/passwd") : NULL,
		  "root:x:0:0:root:/root:/sbin/nologin\n"
		  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
		  "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
		  "app:x:1000:1000:app:/home/app:/sbin/nologin\n"
		  "app2:x:1003:1000:app2:/home/app2:/sbin/nologin\n");
	/* the layer may not turn a base's symlink into a directory for plinth */
	derive(b, "name: d\nversion: 2.0.0\nbase: base@1\ndirectories: [{path: /var/run/app}]\n",
	       "'/var/run' is a symlink in the base image, but the layer needs a directory there "
	       "for what goes below it");
	/* ...unless the recipe declares that directory itself */
	cleanup_tree struct pl__tree *over = derive(
	    b, "name: d\nversion: 2.0.0\nbase: base@1\ndirectories: [{path: /var/run}]\n", NULL);
	e = over ? pl__tree_get(over, "var/run") : NULL;
	check(e && e->kind == PL__DIR);

	/* another distribution's os-release names the packages' origin: kept */
	cleanup_baseimg struct pl__baseimg *deb = plinth_base("debian");
	cleanup_tree struct pl__tree *d =
	    deb ? derive(deb, "name: d\nversion: 2.0.0\nbase: base@1\n", NULL) : NULL;
	check(d && pl__tree_get(d, "etc/os-release") == NULL);
	check_int(d ? pl__tree_count(d) : 1, ==, 0);
}

/* A base's account fields go into messages: control characters are refused. */
static void test_hostile_accounts(void)
{
	static const struct tent esc[] = {
		{ 'f', "etc/passwd",
		  "root:x:0:0:root:/root:/sbin/nologin\n"
		  "app:x:1000:1000:app:/home/app\033[2J:/sbin/nologin\n",
		  0, 0 },
		{ 'f', "etc/group", "root:x:0:\nc1\xc2\x9b:x:7:\n", 0, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, ARCHIVE_FILTER_NONE, esc, N(esc), NULL);
	cleanup_baseimg struct pl__baseimg *b = read_ok(layers);
	if (!b)
		return;
	struct pl__account *acc = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	check_int(pl__baseimg_accounts(b, false, &acc, &n, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL,
		  "its '/etc/passwd' line 2 holds a control character or is not UTF-8");
	check(acc == NULL && n == 0);
	pl_error_free(err);
	err = NULL;
	check_int(pl__baseimg_accounts(b, true, &acc, &n, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL,
		  "its '/etc/group' line 2 holds a control character or is not UTF-8");
	pl_error_free(err);
	/* ...and so is the build on it */
	derive(b, "name: d\nversion: 2.0.0\nbase: base@1\n",
	       "the base image: its '/etc/passwd' line 2 holds a control character or is not "
	       "UTF-8");
}

/* Scratch is unchanged: the defaults, whole. */
static void test_scratch(void)
{
	cleanup_tree struct pl__tree *t = derive(NULL, "name: s\nversion: 1.0.0\n", NULL);
	check_int(t ? pl__tree_count(t) : 0, ==, 9);
	check_str(t ? text_of(t, "etc/group") : NULL,
		  "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n");
}

static size_t count_question(const json_t *q, const char *want)
{
	size_t i, n = 0;
	json_t *v;
	json_array_foreach (q, i, v)
		n += !strcmp(json_string_value(v), want);
	return n;
}

/* What a derived build asks of its base, and how other bases answer. */
static void test_trace(void)
{
	/* a base rebuilt as another version: its os-release differs, but not
	 * in what a derived layer looks at (the ID) */
	struct pl__baseimg *deb = plinth_base("plinth"), *deb2 = plinth_base_v("plinth", "1.0.1"),
			   *alp = plinth_base("alpine");
	struct pl_error *err = NULL;
	json_t *q = NULL;
	check_int(pl__baseimg_trace_start(deb, &err), ==, 0);
	struct pl__tree *t = derive(deb,
				    "name: d\nversion: 1.0.0\nbase: base@1\n"
				    "directories: [{path: /srv/x}]\n",
				    NULL);
	check_int(pl__baseimg_trace_stop(deb, &q, &err), ==, 0);
	check(json_is_array(q));
	check_int(count_question(q, "g:etc/passwd"), ==, 1);
	check_int(count_question(q, "I"), ==, 1); /* the os-release's ID, not all of it */
	check_int(count_question(q, "g:etc/os-release"), ==, 0);
	check_int(count_question(q, "e:etc/nsswitch.conf"), ==, 1);
	check_int(count_question(q, "k:srv/x"), ==, 1);
	check_int(count_question(q, "g:var/run"), ==, 0);
	size_t qi, same_q = 0;
	json_t *v;
	json_array_foreach (q, qi, v)
		same_q += !strncmp(json_string_value(v), "=:", 2);
	check(same_q > 0); /* "is it the same as this?", for what the layer has */

	uint8_t a[PL_SHA256_LEN], same[PL_SHA256_LEN], other[PL_SHA256_LEN];
	check_int(pl__baseimg_answers(deb, q, a, &err), ==, 0);
	check_int(pl__baseimg_answers(deb2, q, same, &err), ==, 0);
	check_int(pl__baseimg_answers(alp, q, other, &err), ==, 0);
	check(memcmp(a, same, PL_SHA256_LEN) == 0);
	check(memcmp(a, other, PL_SHA256_LEN) != 0);
	/* what the build did not ask about does not count */
	json_t *unasked = json_pack("[s, s]", "g:var/run", "P");
	check_int(pl__baseimg_answers(deb, unasked, a, &err), ==, 0);
	check_int(pl__baseimg_answers(alp, unasked, other, &err), ==, 0);
	check(memcmp(a, other, PL_SHA256_LEN) == 0);
	json_decref(unasked);
	/* no trace, no questions recorded */
	check(pl__baseimg_get(deb, "etc") != NULL);

	static const char *const bad[] = { "{}",      "[1]",       "[\"\"]",  "[\"x:a\"]",
					   "[\"g\"]", "[\"P:x\"]", "[\"gx\"]" };
	for (size_t i = 0; i < N(bad); i++) {
		json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		check_int(pl__baseimg_answers(deb, j, a, &err), ==, PL_EINVAL);
		pl_error_free(err);
		err = NULL;
		json_decref(j);
	}
	json_decref(q);
	pl__tree_free(t);
	pl__baseimg_free(deb);
	pl__baseimg_free(deb2);
	pl__baseimg_free(alp);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return tap_skip_all("cannot make a temporary directory");
	char blobs[512];
	snprintf(blobs, sizeof(blobs), "%s/blobs", tmp);
	mkdir(blobs, 0755);
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", tmp);
	mkdir(blobs, 0755);
	check_int(chdir(tmp), ==, 0);

	test_layers();
	test_whiteout_scope();
	test_shadowed_non_directory();
	test_installed_twice();
	test_base_history();
	test_refused();
	test_derived_layer();
	test_hostile_accounts();
	test_scratch();
	test_trace();

	check_int(chdir("/"), ==, 0);
	pl__remove_tree(AT_FDCWD, tmp);
	return tap_done();
}
