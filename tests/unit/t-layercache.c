/*
 * t-layercache.c - the layer cache's key (what changes it, what does not)
 * and its entries (a round trip; a wrong base, a corrupt or foreign entry
 * and a missing cache are misses, never errors).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layercache.h"
#include "tap.h"

static char tmp[] = "/tmp/t-layercache.XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	check(f != NULL);
	if (f) {
		fputs(text, f);
		check_int(fclose(f), ==, 0);
	}
}

static const char recipe_yaml[] = "name: k\nversion: 1.0.0\n"
				  "files:\n"
				  "  - {path: /a, source: a.txt}\n"
				  "  - {path: /tree, source: tree}\n";

/* The key of the recipe in `tmp` with `lock`, clock and compression. */
static void key_of(const char *yaml, const struct pl__lock *lock, uint64_t clock, int comp,
		   uint8_t out[PL_SHA256_LEN])
{
	uint8_t src[PL_SHA256_LEN];
	struct pl_recipe *r = NULL;
	struct pl_error *err = NULL;
	write_file("k.yaml", yaml);
	check_int(pl_recipe_load("k.yaml", &r, &err), ==, 0);
	memset(out, 0, PL_SHA256_LEN);
	if (r && pl__layer_key(r, NULL, lock, clock, comp, out, src, &err) < 0) {
		tap_diag(pl_error_message(err));
		check(false);
	}
	pl_error_free(err);
	pl_recipe_free(r);
}

static bool same(const uint8_t a[PL_SHA256_LEN], const uint8_t b[PL_SHA256_LEN])
{
	return memcmp(a, b, PL_SHA256_LEN) == 0;
}

static void test_key(void)
{
	struct pl__lock none = { 0 };
	uint8_t k0[PL_SHA256_LEN], k[PL_SHA256_LEN];
	write_file("a.txt", "alpha\n");
	check_int(mkdir("tree", 0755), ==, 0);
	write_file("tree/one", "1\n");
	key_of(recipe_yaml, &none, 0, 0, k0);
	key_of(recipe_yaml, &none, 0, 0, k);
	check(same(k0, k)); /* the same inputs, the same key */

	/* what a layer is made of changes the key */
	write_file("a.txt", "alpha!\n");
	key_of(recipe_yaml, &none, 0, 0, k);
	check(!same(k0, k));
	write_file("a.txt", "alpha\n");
	key_of(recipe_yaml, &none, 0, 0, k);
	check(same(k0, k));
	check_int(chmod("a.txt", 0755), ==, 0);
	key_of(recipe_yaml, &none, 0, 0, k);
	check(!same(k0, k));
	check_int(chmod("a.txt", 0644), ==, 0);
	write_file("tree/two", "2\n");
	key_of(recipe_yaml, &none, 0, 0, k);
	check(!same(k0, k));
	check_int(unlink("tree/two"), ==, 0);
	check_int(symlink("one", "tree/link"), ==, 0);
	key_of(recipe_yaml, &none, 0, 0, k);
	check(!same(k0, k));
	check_int(unlink("tree/link"), ==, 0);
	key_of(recipe_yaml, &none, 0, 0, k);
	check(same(k0, k));
	key_of(recipe_yaml, &none, 1, 0, k);
	check(!same(k0, k));
	key_of(recipe_yaml, &none, 0, 1, k);
	check(!same(k0, k));
	char yaml[256];
	snprintf(yaml, sizeof(yaml), "%sdirectories: [{path: /d}]\n", recipe_yaml);
	key_of(yaml, &none, 0, 0, k);
	check(!same(k0, k));
	/* the image's version is in its /etc/os-release */
	uint8_t src[PL_SHA256_LEN];
	struct pl_recipe *rv = NULL;
	struct pl_error *ve = NULL;
	check_int(pl_recipe_load("k.yaml", &rv, &ve), ==, 0);
	check_int(pl__layer_key(rv, "1.0.1", &none, 0, 0, k, src, &ve), ==, 0);
	check(!same(k0, k));
	pl_recipe_free(rv);
	struct pl__locked p = { .name = "x",
				.version = "1",
				.arch = "amd64",
				.source = "x",
				.filename = "pool/x.deb",
				.size = 1 };
	struct pl__lock one = { .arch = "amd64", .p = &p, .n = 1 };
	uint8_t k1[PL_SHA256_LEN];
	key_of(recipe_yaml, &one, 0, 0, k1);
	check(!same(k0, k1));
	/* the same packages from a lock file are checked against the base */
	one.path = "k.lock.json";
	key_of(recipe_yaml, &one, 0, 0, k);
	check(!same(k1, k));

	/* a file's time is not what a layer holds */
	struct timespec ts[2] = { { 12345, 0 }, { 12345, 0 } };
	check_int(utimensat(AT_FDCWD, "a.txt", ts, 0), ==, 0);
	key_of(recipe_yaml, &none, 0, 0, k);
	check(same(k0, k));

	/* a source that cannot be read has no key (the build says why) */
	struct pl_recipe *r = NULL;
	struct pl_error *err = NULL;
	write_file("k.yaml", recipe_yaml);
	check_int(pl_recipe_load("k.yaml", &r, &err), ==, 0);
	check_int(rename("a.txt", "a.gone"), ==, 0);
	check_int(pl__layer_key(r, NULL, &none, 0, 0, k, src, &err), ==, PL_EINVAL);
	check_int(rename("a.gone", "a.txt"), ==, 0);
	pl_error_free(err);
	pl_recipe_free(r);
}

static void test_entries(void)
{
	uint8_t key[PL_SHA256_LEN], other[PL_SHA256_LEN];
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	struct pl__cached_layer l = { .entries = 12, .packages = 3 };
	memset(l.layer.digest, 1, PL_SHA256_LEN);
	memset(l.layer.diff_id, 2, PL_SHA256_LEN);
	l.layer.size = 1000;
	l.layer.tar_size = 4096;
	struct pl_error *err = NULL;
	struct pl__cached_layer got = { 0 };
	char *where = NULL;

	/* no cache at all: a miss */
	check_int(pl__layer_cache_get("nocache", key, NULL, &got, &where, &err), ==, 0);
	check_int(mkdir("img", 0755), ==, 0);
	check_int(pl__layer_cache_put("cache", key, NULL, NULL, &l, "img", &err), ==, 0);
	check_int(pl__layer_cache_get("cache", key, NULL, &got, &where, &err), ==, 1);
	check(same(got.layer.digest, l.layer.digest));
	check(same(got.layer.diff_id, l.layer.diff_id));
	check_int(got.layer.size, ==, 1000);
	check_int(got.layer.tar_size, ==, 4096);
	check_int(got.entries, ==, 12);
	check_int(got.packages, ==, 3);
	char abs[4200];
	snprintf(abs, sizeof(abs), "%s/img", tmp);
	check_str(where, abs);
	free(where);
	where = NULL;
	/* another key: a miss */
	check_int(pl__layer_cache_get("cache", other, NULL, &got, &where, &err), ==, 0);

	/* a corrupt, a foreign and a truncated entry: misses */
	char name[256], hex[2 * PL_SHA256_LEN + 1];
	pl__hex(key, PL_SHA256_LEN, hex);
	snprintf(name, sizeof(name), "cache/%s.json", hex);
	static const char *const bad[] = {
		"not json",
		"{\"version\": 2}",
		"{\"version\":1,\"layout\":\"relative\",\"layer\":{},\"entries\":1,"
		"\"packages\":0,\"base\":null}",
		"{\"version\":1,\"layout\":\"/x\",\"layer\":{\"digest\":\"sha256:00\"},"
		"\"entries\":1,\"packages\":0,\"base\":null}",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		write_file(name, bad[i]);
		check_int(pl__layer_cache_get("cache", key, NULL, &got, &where, &err), ==, 0);
		check(err == NULL);
	}
	free(where);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return tap_skip_all("cannot make a temporary directory");
	check_int(chdir(tmp), ==, 0);
	test_key();
	test_entries();
	check_int(chdir("/"), ==, 0);
	pl__remove_tree(AT_FDCWD, tmp);
	return tap_done();
}
