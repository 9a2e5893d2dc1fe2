/* t-oci.c - reading images out of an OCI layout, and copying blobs between layouts. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "oci.h"
#include "tap.h"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"

static char top[4096];

static void put_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pl__write_all(fd, p, n) < 0 || close(fd) < 0) {
		printf("Bail out! cannot write '%s'\n", path);
		exit(1);
	}
}

/* Store `text` as a blob of `dir`; its digest goes to ds. */
static void put_blob(const char *dir, const char *text, char ds[PL_DIGEST_STR_LEN + 1])
{
	uint8_t d[PL_SHA256_LEN];
	char name[100];
	pl__sha256(text, strlen(text), d);
	pl__digest_str(d, ds);
	snprintf(name, sizeof(name), "blobs/sha256/%s", ds + 7);
	put_file(dir, name, text, strlen(text));
}

static char *path_of(const char *dir, const char *name)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* A layout of one image tagged `tag`; the manifest's digest and size go
 * to mds/msize, the config's to cds. */
static char *make_layout(const char *name, const char *tag, char mds[PL_DIGEST_STR_LEN + 1],
			 size_t *msize, char cds[PL_DIGEST_STR_LEN + 1])
{
	char *dir = pl__asprintf(NULL, "%s/%s", top, name);
	char lds[PL_DIGEST_STR_LEN + 1];
	mkdir(dir, 0755);
	mkdir(path_of(dir, "blobs"), 0755);
	mkdir(path_of(dir, "blobs/sha256"), 0755);
	put_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
			     "\"layers\",\"diff_ids\":[]}}";
	put_blob(dir, config, cds);
	put_blob(dir, "not really a tar", lds);
	char *manifest = pl__asprintf(
	    NULL,
	    "{\"schemaVersion\":2,\"mediaType\":\"" PL__MT_MANIFEST "\",\"config\":{\"mediaType\":"
	    "\"" PL__MT_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
	    "\"" MT_LAYER "\",\"digest\":\"%s\",\"size\":16}],\"annotations\":{\"org."
	    "opencontainers.image.title\":\"hello\"}}",
	    cds, strlen(config), lds);
	put_blob(dir, manifest, mds);
	*msize = strlen(manifest);
	char *index = pl__asprintf(
	    NULL,
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" PL__MT_MANIFEST
	    "\",\"digest\":\"sha256:"
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\",\"size\":1,\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}},"
	    "{\"mediaType\":\"" PL__MT_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":"
	    "{\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
	    tag, mds, *msize, tag);
	put_file(dir, "index.json", index, strlen(index));
	free(manifest);
	free(index);
	return dir;
}

/* index.json with one entry, tagged v1. */
static void set_index(const char *dir, const char *mt, const char *ds, size_t size)
{
	char *index = pl__asprintf(
	    NULL,
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
	    "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
	    mt, ds, size);
	put_file(dir, "index.json", index, strlen(index));
	free(index);
}

static void ref_case(const char *ref, const char *want_dir, const char *want_tag,
		     const char *want_err)
{
	char *dir = NULL, *tag = NULL;
	struct pl_error *err = NULL;
	int rc = pl__oci_ref_parse(ref, &dir, &tag, &err);
	if (want_err) {
		check_int(rc, ==, PL_EINVAL);
		check_str(err ? pl_error_message(err) : NULL, want_err);
		check(dir == NULL && tag == NULL);
	} else {
		check_int(rc, ==, 0);
		check_str(dir, want_dir);
		check_str(tag, want_tag);
	}
	free(dir);
	free(tag);
	pl_error_free(err);
}

static void test_ref_parse(void)
{
	ref_case("oci:lay:v1", "lay", "v1", NULL);
	ref_case("oci:/a:b/c:1.0.0", "/a:b/c", "1.0.0", NULL);
	ref_case("oci:./x:_T-9.z", "./x", "_T-9.z", NULL);
	ref_case("docker://x:1", NULL, NULL,
		 "image reference 'docker://x:1' does not start with 'oci:' (the form is "
		 "oci:DIR:TAG)");
	ref_case("lay:v1", NULL, NULL,
		 "image reference 'lay:v1' does not start with 'oci:' (the form is oci:DIR:TAG)");
	ref_case("oci:lay", NULL, NULL,
		 "image reference 'oci:lay' names no tag (the form is oci:DIR:TAG)");
	ref_case("oci:lay:", NULL, NULL,
		 "image reference 'oci:lay:' names no tag (the form is oci:DIR:TAG)");
	ref_case("oci::v1", NULL, NULL,
		 "image reference 'oci::v1' names no directory (the form is oci:DIR:TAG)");
	ref_case("oci:lay:-v", NULL, NULL,
		 "image reference 'oci:lay:-v': invalid tag '-v': use letters, digits, '_', '.' "
		 "and '-' (at most 128, not starting with '.' or '-')");
	ref_case("oci:lay:a/b", NULL, NULL,
		 "image reference 'oci:lay:a/b': invalid tag 'a/b': use letters, digits, '_', "
		 "'.' and '-' (at most 128, not starting with '.' or '-')");
}

static void test_digest_parse(void)
{
	uint8_t d[PL_SHA256_LEN];
	const char *good =
	    "sha256:00ff0000000000000000000000000000000000000000000000000000000000a1";
	check(pl__digest_parse(good, d));
	check_int(d[1], ==, 0xff);
	check_int(d[31], ==, 0xa1);
	check(!pl__digest_parse(
	    "sha256:00FF0000000000000000000000000000000000000000000000000000000000a1", d));
	check(!pl__digest_parse("sha256:00ff", d));
	check(!pl__digest_parse(
	    "sha256:00ff0000000000000000000000000000000000000000000000000000000000a10", d));
	check(!pl__digest_parse(
	    "sha512:00ff0000000000000000000000000000000000000000000000000000000000a1", d));
	check(!pl__digest_parse(NULL, d));
}

static void test_open(void)
{
	char mds[PL_DIGEST_STR_LEN + 1], cds[PL_DIGEST_STR_LEN + 1], ds[PL_DIGEST_STR_LEN + 1];
	size_t msize;
	char *dir = make_layout("a", "v1", mds, &msize, cds);
	struct pl_error *err = NULL;
	struct pl__image im = { 0 };

	/* The later of two entries with the tag is the image. */
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, 0);
	check(err == NULL);
	pl__digest_str(im.digest, ds);
	check_str(ds, mds);
	pl__digest_str(im.config_digest, ds);
	check_str(ds, cds);
	check_int(im.size, ==, msize);
	check_int(strlen(im.manifest), ==, msize);
	check_str(im.dir, dir);
	check_str(json_string_value(json_object_get(im.config, "architecture")), "amd64");
	check_int(json_array_size(json_object_get(im.mjson, "layers")), ==, 1);
	check_str(pl__image_annotation(&im, "org.opencontainers.image.title"), "hello");
	check(pl__image_annotation(&im, "org.opencontainers.image.version") == NULL);
	pl__image_release(&im);

	/* By digest too. */
	uint8_t md[PL_SHA256_LEN];
	check(pl__digest_parse(mds, md));
	check_int(pl__image_open_digest(dir, md, &im, &err), ==, 0);
	check_int(im.size, ==, msize);
	pl__image_release(&im);

	/* A missing tag. */
	check_int(pl__image_open(dir, "v2", false, &im, &err), ==, PL_EINVAL);
	char *want =
	    pl__asprintf(NULL, "image 'oci:%s:v2': no tag 'v2' in '%s/index.json'", dir, dir);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;
	check_int(pl__image_open(dir, "v2", true, &im, &err), ==, PL__OCI_NO_TAG);
	check(err == NULL);
	check(im.manifest == NULL && im.mjson == NULL);

	/* The descriptor's size must be the blob's. */
	set_index(dir, PL__MT_MANIFEST, mds, msize + 1);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EDIGEST);
	want =
	    pl__asprintf(NULL, "image 'oci:%s:v1': blob %s is %zu bytes, its descriptor says %zu",
			 dir, mds, msize, msize + 1);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;

	/* An image index is not an image manifest. */
	set_index(dir, MT_INDEX, mds, msize);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EINVAL);
	want = pl__asprintf(NULL,
			    "image 'oci:%s:v1': media type '" MT_INDEX
			    "' is not an OCI image manifest (expected '" PL__MT_MANIFEST "')",
			    dir);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;

	/* A malformed digest in the index. */
	set_index(dir, PL__MT_MANIFEST, "sha256:abc", msize);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EINVAL);
	check(err && strstr(pl_error_message(err),
			    "digest 'sha256:abc' is not sha256: and 64 lowercase hex digits"));
	pl_error_free(err);
	err = NULL;

	/* Duplicate keys in index.json are refused. */
	put_file(dir, "index.json", "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}",
		 51);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EINVAL);
	check(err && strstr(pl_error_message(err), "duplicate object key"));
	pl_error_free(err);
	err = NULL;

	/* A tampered manifest. */
	set_index(dir, PL__MT_MANIFEST, mds, msize);
	char name[100];
	snprintf(name, sizeof(name), "blobs/sha256/%s", mds + 7);
	char *orig = NULL;
	size_t olen = 0;
	check_int(pl__read_file(path_of(dir, name), 1 << 20, &orig, &olen, NULL), ==, 0);
	char *evil = pl__strdup(orig, NULL);
	evil[olen - 3] = 'X';
	put_file(dir, name, evil, olen);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EDIGEST);
	want = pl__asprintf(NULL, "image 'oci:%s:v1': blob %s does not match its digest", dir, mds);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;
	put_file(dir, name, orig, olen);

	/* A tampered config. */
	snprintf(name, sizeof(name), "blobs/sha256/%s", cds + 7);
	char *corig = NULL;
	size_t clen = 0;
	check_int(pl__read_file(path_of(dir, name), 1 << 20, &corig, &clen, NULL), ==, 0);
	put_file(dir, name, "{\"architecture\":\"arm64\"}", 24);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EDIGEST);
	want = pl__asprintf(NULL, "image 'oci:%s:v1': blob %s does not match its digest", dir, cds);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;
	put_file(dir, name, corig, clen);
	free(corig);

	/* A blob that is a symbolic link (to the very same content) is refused. */
	snprintf(name, sizeof(name), "blobs/sha256/%s", mds + 7);
	put_file(dir, "real", orig, olen);
	unlink(path_of(dir, name));
	check_int(symlink("../../real", path_of(dir, name)), ==, 0);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EINVAL);
	check(err && strstr(pl_error_message(err), "is a symbolic link"));
	pl_error_free(err);
	err = NULL;
	unlink(path_of(dir, name));
	put_file(dir, name, orig, olen);
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, 0);
	pl__image_release(&im);

	/* A blob read under a limit. */
	uint8_t md2[PL_SHA256_LEN];
	char *data = NULL;
	size_t len = 0;
	check(pl__digest_parse(mds, md2));
	check_int(pl__blob_read(dir, md2, msize - 1, &data, &len, &err), ==, PL_ELIMIT);
	check(data == NULL);
	pl_error_free(err);
	err = NULL;
	check_int(pl__blob_read(dir, md2, msize, &data, &len, &err), ==, 0);
	check_int(len, ==, msize);
	check_str(data, orig);
	free(data);

	/* A manifest of another kind. */
	char other[PL_DIGEST_STR_LEN + 1];
	const char *docker =
	    "{\"schemaVersion\":2,\"mediaType\":\"application/"
	    "vnd.docker.distribution.manifest.v2+json\",\"config\":{},\"layers\":[]}";
	put_blob(dir, docker, other);
	set_index(dir, PL__MT_MANIFEST, other, strlen(docker));
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EINVAL);
	want = pl__asprintf(NULL,
			    "image 'oci:%s:v1': manifest %s: media type "
			    "'application/vnd.docker.distribution.manifest.v2+json' is not an OCI "
			    "image manifest",
			    dir, other);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;

	/* A layer that is not a descriptor. */
	char *bad = pl__asprintf(NULL,
				 "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" PL__MT_CONFIG
				 "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"digest\":"
				 "\"%s\",\"size\":1}]}",
				 cds, clen, cds);
	put_blob(dir, bad, other);
	set_index(dir, PL__MT_MANIFEST, other, strlen(bad));
	check_int(pl__image_open(dir, "v1", false, &im, &err), ==, PL_EINVAL);
	want = pl__asprintf(NULL,
			    "image 'oci:%s:v1': manifest %s: layers[0] has no 'mediaType' string",
			    dir, other);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	free(bad);
	pl_error_free(err);
	err = NULL;

	free(evil);
	free(orig);
	free(dir);
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void test_blob_copy(void)
{
	char mds[PL_DIGEST_STR_LEN + 1], cds[PL_DIGEST_STR_LEN + 1];
	size_t msize;
	char *src = make_layout("src", "v1", mds, &msize, cds);
	char *dst = pl__asprintf(NULL, "%s/dst", top);
	struct pl_error *err = NULL;
	struct pl__layout *l = NULL;
	uint8_t md[PL_SHA256_LEN];
	check(pl__digest_parse(mds, md));

	/* Copy the manifest and its blobs, then read the image from the copy. */
	struct pl__image im = { 0 };
	check_int(pl__image_open(src, "v1", false, &im, &err), ==, 0);
	check_int(pl__layout_open(dst, &l, &err), ==, 0);
	check_int(pl__layout_blob_copy(l, src, md, msize, &err), ==, 0);
	check_int(pl__layout_blob_copy(l, src, md, msize, &err), ==, 0); /* twice: once staged */
	size_t i;
	json_t *d;
	json_t *blobs = json_copy(json_object_get(im.mjson, "layers"));
	json_array_append(blobs, json_object_get(im.mjson, "config"));
	json_array_foreach (blobs, i, d) {
		uint8_t bd[PL_SHA256_LEN];
		check(pl__digest_parse(json_string_value(json_object_get(d, "digest")), bd));
		check_int(
		    pl__layout_blob_copy(
			l, src, bd, (uint64_t)json_integer_value(json_object_get(d, "size")), &err),
		    ==, 0);
	}
	json_decref(blobs);
	struct pl__descriptor desc = { PL__MT_MANIFEST, { 0 }, msize, NULL, NULL };
	memcpy(desc.digest, md, PL_SHA256_LEN);
	check_int(pl__layout_commit(l, &desc, "copied", &err), ==, 0);
	pl__layout_free(l);
	l = NULL;
	check(err == NULL);
	pl__image_release(&im);
	check_int(pl__image_open(dst, "copied", false, &im, &err), ==, 0);
	check_int(im.size, ==, msize);
	pl__image_release(&im);
	char a[8192], b[8192];
	snprintf(a, sizeof(a), "%s/blobs/sha256/%s", src, mds + 7);
	snprintf(b, sizeof(b), "%s/blobs/sha256/%s", dst, mds + 7);
	check(same_file(a, b)); /* the same file system: hard-linked */

	/* A tampered source blob stages nothing. */
	char lds[PL_DIGEST_STR_LEN + 1];
	put_blob(src, "a layer to copy", lds);
	uint8_t ld[PL_SHA256_LEN];
	check(pl__digest_parse(lds, ld));
	put_file(src, path_of("blobs/sha256", lds + 7), "a layer to cop!", 15);
	check_int(pl__layout_open(dst, &l, &err), ==, 0);
	check_int(pl__layout_blob_copy(l, src, ld, 15, &err), ==, PL_EDIGEST);
	char *want = pl__asprintf(NULL, "blob %s in '%s' does not match its digest", lds, src);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;
	/* ...nor does one of another size. */
	check_int(pl__layout_blob_copy(l, src, ld, 16, &err), ==, PL_EDIGEST);
	want = pl__asprintf(NULL, "blob %s in '%s' is 15 bytes, its descriptor says 16", lds, src);
	check_str(err ? pl_error_message(err) : NULL, want);
	free(want);
	pl_error_free(err);
	err = NULL;
	/* ...nor a missing one. */
	check_int(pl__layout_blob_copy(l, dst, ld, 15, &err), ==, PL_ESYS);
	pl_error_free(err);
	err = NULL;
	check_int(pl__layout_commit(l, &desc, "again", &err), ==, 0);
	pl__layout_free(l);
	l = NULL;
	snprintf(b, sizeof(b), "%s/blobs/sha256/%s", dst, lds + 7);
	check_int(access(b, F_OK), ==, -1);
	/* The staging directory is gone: only the layout's own files remain. */
	DIR *dd = opendir(dst);
	struct dirent *de;
	size_t n = 0;
	while (dd && (de = readdir(dd)))
		if (de->d_name[0] != '.')
			n++;
		else
			check(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
	if (dd)
		closedir(dd);
	check_int(n, ==, 3);

	/* A copy across file systems is a copy, checked as well. */
	struct stat st1, st2;
	char shm[] = "/dev/shm/plinth-t-oci-XXXXXX";
	if (stat("/dev/shm", &st1) == 0 && stat(top, &st2) == 0 && st1.st_dev != st2.st_dev &&
	    mkdtemp(shm)) {
		char *far = pl__asprintf(NULL, "%s/lay", shm);
		check_int(pl__layout_open(far, &l, &err), ==, 0);
		check_int(pl__layout_blob_copy(l, src, ld, 15, &err), ==, PL_EDIGEST);
		pl_error_free(err);
		err = NULL;
		check_int(pl__layout_blob_copy(l, src, md, msize, &err), ==, 0);
		check_int(pl__layout_commit(l, &desc, "far", &err), ==, 0);
		pl__layout_free(l);
		l = NULL;
		snprintf(a, sizeof(a), "%s/blobs/sha256/%s", src, mds + 7);
		snprintf(b, sizeof(b), "%s/blobs/sha256/%s", far, mds + 7);
		char *x = NULL, *y = NULL;
		size_t xl = 0, yl = 0;
		check_int(pl__read_file(a, 1 << 20, &x, &xl, NULL), ==, 0);
		check_int(pl__read_file(b, 1 << 20, &y, &yl, NULL), ==, 0);
		check(x && y && xl == yl && !memcmp(x, y, xl));
		check(!same_file(a, b));
		snprintf(b, sizeof(b), "%s/blobs/sha256/%s", far, lds + 7);
		check_int(access(b, F_OK), ==, -1);
		free(x);
		free(y);
		free(far);
		pl__remove_tree(AT_FDCWD, shm);
	} else {
		tap_diag(
		    "skipping the cross-file-system copy: /dev/shm is not another file system");
	}
	free(src);
	free(dst);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(top, sizeof(top), "%s/plinth-t-oci-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		printf("Bail out! cannot create a temporary directory\n");
		return 1;
	}
	test_ref_parse();
	test_digest_parse();
	test_open();
	test_blob_copy();
	pl__remove_tree(AT_FDCWD, top);
	return tap_done();
}
