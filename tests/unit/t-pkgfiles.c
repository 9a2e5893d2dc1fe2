/* t-pkgfiles.c - which package owns a path: md5sums parsing, merged /usr,
 * ties, errors, and collecting md5sums while layers are read. */
#include "pkgfiles.h"
#include "tap.h"

#define MD5A "0123456789abcdef0123456789abcdef"
#define MD5B "FEDCBA9876543210FEDCBA9876543210"

static void test_owner(void)
{
	struct pl_error *err = NULL;
	struct pl__pkgfiles *pf = pl__pkgfiles_new(&err);
	static const char foo[] =
	    MD5A "  usr/bin/foo\n" MD5B "  bin/foo-legacy\n" MD5A "  ./usr/share/foo/a b\n" MD5A
		 "  lib/x86_64-linux-gnu/libfoo.so.1";
	check_int(pl__pkgfiles_add(pf, "foo", foo, sizeof(foo) - 1, &err), ==, 0);
	check_int(pl__pkgfiles_count(pf), ==, 4);
	check_str(pl__pkgfiles_owner(pf, "usr/bin/foo"), "foo");
	check_str(pl__pkgfiles_owner(pf, "usr/bin/foo-legacy"), "foo");
	check_str(pl__pkgfiles_owner(pf, "bin/foo-legacy"), "foo");
	check_str(pl__pkgfiles_owner(pf, "bin/foo"), "foo");
	check_str(pl__pkgfiles_owner(pf, "usr/share/foo/a b"), "foo");
	check_str(pl__pkgfiles_owner(pf, "usr/lib/x86_64-linux-gnu/libfoo.so.1"), "foo");
	check(pl__pkgfiles_owner(pf, "usr/share/foo") == NULL);
	check(pl__pkgfiles_owner(pf, "usr/bin/fo") == NULL);
	check(pl__pkgfiles_owner(pf, "etc/passwd") == NULL);
	check(pl__pkgfiles_owner(pf, "") == NULL);

	/* a path two packages list belongs to the first by name, whatever
	 * the order they come in */
	static const char shared[] = MD5A "  usr/share/same\n";
	check_int(pl__pkgfiles_add(pf, "zz", shared, sizeof(shared) - 1, &err), ==, 0);
	check_int(pl__pkgfiles_add(pf, "mm", shared, sizeof(shared) - 1, &err), ==, 0);
	check_int(pl__pkgfiles_add(pf, "tt", shared, sizeof(shared) - 1, &err), ==, 0);
	check_str(pl__pkgfiles_owner(pf, "usr/share/same"), "mm");
	check_int(pl__pkgfiles_count(pf), ==, 5);

	/* an empty md5sums owns nothing */
	check_int(pl__pkgfiles_add(pf, "empty", "", 0, &err), ==, 0);
	check(err == NULL);
	pl__pkgfiles_free(pf);
}

static void expect_error(const char *text, const char *want)
{
	struct pl_error *err = NULL;
	struct pl__pkgfiles *pf = pl__pkgfiles_new(&err);
	check_int(pl__pkgfiles_add(pf, "bad", text, strlen(text), &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL, want);
	check_int(pl__pkgfiles_count(pf), ==, 0); /* nothing of it is kept */
	pl_error_free(err);
	pl__pkgfiles_free(pf);
}

static void test_errors(void)
{
	static const char shape[] =
	    "package 'bad': md5sums line 2 is not 32 hex digits, two spaces and a path";
	static const char path[] = "package 'bad': md5sums line 2: the path is empty, has a '..' "
				   "component or a NUL byte, or is longer than 4096 bytes";
	expect_error(MD5A "  usr/a\n" MD5A " usr/b\n", shape);
	expect_error(MD5A "  usr/a\n"
			  "0123456789abcdef0123456789abcdeg  usr/b\n",
		     shape);
	expect_error(MD5A "  usr/a\n"
			  "0123  usr/b\n",
		     shape);
	expect_error(MD5A "  usr/a\n\n", shape);
	expect_error(MD5A "  usr/a\n" MD5A "  /\n", path);
	expect_error(MD5A "  usr/a\n" MD5A "  usr/../../etc/shadow\n", path);
	expect_error(MD5A "  usr/a\n" MD5A "  /./\n", path);
	static const char nul[] = MD5A "  usr/a\n" MD5A "  usr/\0b\n";
	struct pl_error *err = NULL;
	struct pl__pkgfiles *pf = pl__pkgfiles_new(&err);
	check_int(pl__pkgfiles_add(pf, "bad", nul, sizeof(nul) - 1, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL, path);
	pl_error_free(err);
	pl__pkgfiles_free(pf);
}

static void test_md5sums_path(void)
{
	const char *pkg = NULL;
	size_t len = 0;
	check(pl__pkgfiles_is_md5sums("var/lib/dpkg/status.d/libc6.md5sums", &pkg, &len));
	check_int(len, ==, 5);
	check(!strncmp(pkg, "libc6", len));
	check(!pl__pkgfiles_is_md5sums("var/lib/dpkg/status.d/libc6", &pkg, &len));
	check(!pl__pkgfiles_is_md5sums("var/lib/dpkg/status.d/.md5sums", &pkg, &len));
	check(!pl__pkgfiles_is_md5sums("var/lib/dpkg/status.d/x/y.md5sums", &pkg, &len));
	check(!pl__pkgfiles_is_md5sums("var/lib/dpkg/info/libc6.md5sums", &pkg, &len));
}

/* Show `path` with `content` to the collector as a layer read would. */
static int show(struct pl__pkgfiles_collector *c, const char *path, enum pl__bkind kind,
		const char *content)
{
	struct pl__bentry e = { .path = (char *)path, .kind = kind };
	struct pl_error *err = NULL;
	int rc = pl__pkgfiles_collect_entry(c, &e, &err);
	size_t n = content ? strlen(content) : 0;
	for (size_t i = 0; rc == 0 && i < n; i += 3) /* in small chunks */
		rc = pl__pkgfiles_collect_data(c, content + i, n - i < 3 ? n - i : 3, &err);
	if (rc == 0 && kind == PL__B_REG)
		rc = pl__pkgfiles_collect_end(c, &e, &err);
	pl_error_free(err);
	return rc;
}

static void test_collect(void)
{
	struct pl__pkgfiles_collector c = { 0 };
	check_int(show(&c, "var/lib/dpkg/status.d/zz.md5sums", PL__B_REG, MD5A "  usr/z\n"), ==, 0);
	check_int(show(&c, "var/lib/dpkg/status.d/zz", PL__B_REG, "Package: zz\n"), ==, 0);
	check_int(show(&c, "usr/bin/x", PL__B_REG, "not collected"), ==, 0);
	check_int(show(&c, "var/lib/dpkg/status.d/aa.md5sums", PL__B_SYMLINK, NULL), ==, 0);
	check_int(show(&c, "var/lib/dpkg/status.d/aa.md5sums", PL__B_REG, MD5A "  usr/old\n"), ==,
		  0);
	check_int(show(&c, "var/lib/dpkg/status.d/aa.md5sums", PL__B_REG, MD5A "  usr/new\n"), ==,
		  0);
	pl__pkgfiles_collect_finish(&c);
	check_int(c.n, ==, 2);
	if (c.n == 2) {
		check_str(c.v[0].pkg, "aa");
		check_str(c.v[0].text, MD5A "  usr/new\n");
		check_str(c.v[1].pkg, "zz");
		check_int(c.v[1].len, ==, strlen(MD5A "  usr/z\n"));
	}
	pl__pkgfiles_collector_release(&c);
	check_int(c.n, ==, 0);
}

int main(void)
{
	test_owner();
	test_errors();
	test_md5sums_path();
	test_collect();
	return tap_done();
}
