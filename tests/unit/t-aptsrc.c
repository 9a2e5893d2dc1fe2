/* t-aptsrc.c - the host's apt sources (one-line and deb822) and ${VAR} expansion. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aptsrc.h"
#include "tap.h"

static char tmp[256];

static void write_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("# cannot write %s\n", path);
		check(!"fixture written");
	}
}

static void make_dir(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		check(!"fixture directory made");
}

/* "TMP/rel" in a static buffer, for expected values. */
static const char *at(const char *rel)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, rel);
	return buf[i];
}

static const char list[] =
    "# the main archive\n"
    "\n"
    "deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/ex.gpg] "
    "http://archive.example.invalid/debian/ bookworm main contrib # main\n"
    "deb-src http://archive.example.invalid/debian bookworm main\n"
    "deb [arch=arm64] http://arm.example.invalid/debian bookworm main\n"
    "deb [ trusted=no lang=en ] file:/srv/mirror/ stable main\n"
    "deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD]/ bookworm main\n"
    "  deb\thttps://sec.example.invalid/debian-security  bookworm-security main  \r\n"
    "deb [arch-=amd64] http://minus.example.invalid/debian sid main\n"
    "deb [arch=arm64 arch+=amd64] http://plus.example.invalid/debian sid main";

static const char sources[] = "Types: deb deb-src\n"
			      "URIs: http://one.example.invalid/debian/\n"
			      "# http://commented.example.invalid/debian\n"
			      " https://two.example.invalid/debian\n"
			      "Suites: bookworm bookworm-updates\n"
			      "Components: main non-free-firmware\n"
			      "Signed-By: /usr/share/keyrings/one.gpg,\n"
			      " /usr/share/keyrings/two.gpg\n"
			      "\n"
			      "# disabled, and broken: Enabled is read first\n"
			      "Types: deb\n"
			      "Suites: x\n"
			      "Enabled: no\n"
			      "\n"
			      "Types: deb\n"
			      "URIs: http://ports.example.invalid/debian\n"
			      "Suites: sid\n"
			      "Components: main\n"
			      "Architectures: arm64 riscv64\n"
			      "\n"
			      "Types: deb-src\n"
			      "URIs: http://src.example.invalid/debian\n"
			      "Suites: sid\n"
			      "Components: main\n"
			      "Trusted: yes\n"
			      "\n"
			      "Types: deb\n"
			      "URIs: http://keyed.example.invalid/debian\n"
			      "Suites: trixie\n"
			      "Components: main\n"
			      "Architectures: amd64\n"
			      "Enabled: yes\n"
			      "Signed-By:\n"
			      " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
			      " Comment: invented for a test\n"
			      " .\n"
			      " mQINBGPLkKoBEAC5Abc+/def\n"
			      "  indented\n"
			      " =abcd\n"
			      " -----END PGP PUBLIC KEY BLOCK-----\n";

static const char key[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
			  "Comment: invented for a test\n"
			  "\n"
			  "mQINBGPLkKoBEAC5Abc+/def\n"
			  " indented\n"
			  "=abcd\n"
			  "-----END PGP PUBLIC KEY BLOCK-----\n";

static void check_repo(const struct pl__repo *r, const char *uri, const char *suites,
		       const char *components, const char *keyrings, const char *origin)
{
	char buf[3][1024];
	char **lists[3] = { r->suites, r->components, r->keyrings };
	size_t counts[3] = { r->nsuites, r->ncomponents, r->nkeyrings };
	for (int k = 0; k < 3; k++) {
		size_t n = 0;
		buf[k][0] = '\0';
		for (size_t i = 0; i < counts[k]; i++)
			n += (size_t)snprintf(buf[k] + n, sizeof(buf[k]) - n, "%s%s", i ? "|" : "",
					      lists[k][i]);
	}
	check_str(r->uri, uri);
	check_str(buf[0], suites);
	check_str(buf[1], components);
	check_str(buf[2], keyrings);
	check_str(r->origin, origin);
}

static void test_host(void)
{
	make_dir("sources.list.d");
	make_dir("sources.list.d/sub.list");
	make_dir("trusted.gpg.d");
	write_file("sources.list", list);
	write_file("sources.list.d/10-extra.sources", sources);
	write_file("sources.list.d/05-old.list",
		   "deb http://old.example.invalid/debian bullseye main\n");
	write_file("sources.list.d/zz.list.save", "garbage\n");
	write_file("sources.list.d/99.disabled", "garbage\n");
	write_file("sources.list.d/bad name.list", "garbage\n");
	write_file("sources.list.d/.hidden.list", "garbage\n");
	write_file("trusted.gpg", "");
	write_file("trusted.gpg.d/b.asc", "");
	write_file("trusted.gpg.d/a.gpg", "");
	write_file("trusted.gpg.d/c.txt", "");
	write_file("trusted.gpg.d/.hidden.gpg", "");

	struct pl__repo *v = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/", tmp); /* a trailing '/' is fine */
	int rc = pl__host_repos(dir, "amd64", &v, &n, &err);
	check_int(rc, ==, 0);
	if (rc < 0)
		printf("# %s\n", pl_error_message(err));
	pl_error_free(err);
	check_int(n, ==, 8);
	if (n != 8) {
		pl__repos_free(v, n);
		return;
	}
	char defkeys[1024];
	snprintf(defkeys, sizeof(defkeys), "%s|%s|%s", at("trusted.gpg"), at("trusted.gpg.d/a.gpg"),
		 at("trusted.gpg.d/b.asc"));
	char origin[512];
	snprintf(origin, sizeof(origin), "%s:3", at("sources.list"));
	check_repo(&v[0], "http://archive.example.invalid/debian", "bookworm", "main|contrib",
		   "/usr/share/keyrings/ex.gpg", origin);
	snprintf(origin, sizeof(origin), "%s:6", at("sources.list"));
	check_repo(&v[1], "file:///srv/mirror", "stable", "main", defkeys, origin);
	snprintf(origin, sizeof(origin), "%s:8", at("sources.list"));
	check_repo(&v[2], "https://sec.example.invalid/debian-security", "bookworm-security",
		   "main", defkeys, origin);
	snprintf(origin, sizeof(origin), "%s:10", at("sources.list"));
	check_repo(&v[3], "http://plus.example.invalid/debian", "sid", "main", defkeys, origin);
	snprintf(origin, sizeof(origin), "%s:1", at("sources.list.d/05-old.list"));
	check_repo(&v[4], "http://old.example.invalid/debian", "bullseye", "main", defkeys, origin);
	snprintf(origin, sizeof(origin), "%s:1", at("sources.list.d/10-extra.sources"));
	check_repo(&v[5], "http://one.example.invalid/debian", "bookworm|bookworm-updates",
		   "main|non-free-firmware",
		   "/usr/share/keyrings/one.gpg|/usr/share/keyrings/two.gpg", origin);
	check_repo(&v[6], "https://two.example.invalid/debian", "bookworm|bookworm-updates",
		   "main|non-free-firmware",
		   "/usr/share/keyrings/one.gpg|/usr/share/keyrings/two.gpg", origin);
	snprintf(origin, sizeof(origin), "%s:27", at("sources.list.d/10-extra.sources"));
	check_int(v[7].nkeyrings, ==, 1);
	check_repo(&v[7], "http://keyed.example.invalid/debian", "trixie", "main", key, origin);
	pl__repos_free(v, n);

	/* Without an architecture nothing is filtered out. */
	rc = pl__host_repos(tmp, NULL, &v, &n, NULL);
	check_int(rc, ==, 0);
	check_int(n, ==, 11);
	if (rc == 0)
		check_str(v[1].uri, "http://arm.example.invalid/debian");
	pl__repos_free(v, rc == 0 ? n : 0);

	char msg[1024];
	/* A malformed line in sources.list.d is reported with its file and line. */
	write_file("sources.list.d/50-bad.list", "\n# x\ndeb http://bad.example.invalid/debian\n");
	rc = pl__host_repos(tmp, "amd64", &v, &n, &err);
	check_int(rc, ==, PL_EINVAL);
	snprintf(msg, sizeof(msg), "%s:3: the suite is missing", at("sources.list.d/50-bad.list"));
	check_str(pl_error_message(err), msg);
	pl_error_free(err);
	err = NULL;
	unlink(at("sources.list.d/50-bad.list"));

	/* Without trusted.gpg and trusted.gpg.d, an entry without Signed-By has no keyring. */
	unlink(at("trusted.gpg"));
	unlink(at("trusted.gpg.d/a.gpg"));
	unlink(at("trusted.gpg.d/b.asc"));
	rc = pl__host_repos(tmp, "amd64", &v, &n, &err);
	check_int(rc, ==, PL_EPOLICY);
	snprintf(msg, sizeof(msg),
		 "%s:6: no keyring for the repository: it has no Signed-By and there is no "
		 "trusted.gpg or trusted.gpg.d/ keyring",
		 at("sources.list"));
	check_str(pl_error_message(err), msg);
	pl_error_free(err);
}

static void test_no_sources(void)
{
	char empty[300];
	snprintf(empty, sizeof(empty), "%s/empty", tmp);
	make_dir("empty");
	struct pl__repo *v = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	check_int(pl__host_repos(empty, "amd64", &v, &n, &err), ==, PL_EINVAL);
	char msg[1024];
	snprintf(msg, sizeof(msg), "no 'deb' repository for 'amd64' in '%s/sources.list' or '%s'",
		 empty, at("empty/sources.list.d"));
	check_str(pl_error_message(err), msg);
	pl_error_free(err);
	err = NULL;

	/* Entries, but none of type deb for this architecture. */
	make_dir("empty/sources.list.d");
	write_file("empty/sources.list.d/x.list",
		   "deb [arch=arm64] http://a.example.invalid/debian s main\n"
		   "deb-src http://a.example.invalid/debian s main\n");
	check_int(pl__host_repos(empty, "amd64", &v, &n, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), msg);
	pl_error_free(err);
	err = NULL;

	/* sources.list that is a directory is an error, not an absent file. */
	make_dir("empty/sources.list");
	check_int(pl__host_repos(empty, "amd64", &v, &n, &err), ==, PL_EINVAL);
	snprintf(msg, sizeof(msg), "'%s/sources.list' is not a regular file", empty);
	check_str(pl_error_message(err), msg);
	pl_error_free(err);
}

static void test_real_host(void)
{
	if (access("/etc/apt/sources.list.d", F_OK) != 0) {
		printf("ok %d # SKIP /etc/apt/sources.list.d is absent\n", ++tap_n);
		return;
	}
	struct pl__repo *v = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	int rc = pl__host_repos(NULL, "amd64", &v, &n, &err);
	check_int(rc, ==, 0);
	if (rc < 0) {
		printf("# %s\n", pl_error_message(err));
		pl_error_free(err);
		return;
	}
	check_int(n, >=, 1);
	bool keyed = n > 0;
	for (size_t i = 0; i < n; i++)
		keyed &= v[i].nkeyrings >= 1 && v[i].nsuites >= 1 && v[i].ncomponents >= 1;
	check(keyed);
	pl__repos_free(v, n);
}

/* Parse `text` from memory and expect an error with this code and message. */
static void expect(const char *name, const char *text, size_t nkeys, int code, const char *message)
{
	static const char *const keys[] = { "/k.gpg" };
	struct pl__repo *v = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	bool deb822 = strstr(name, ".sources") != NULL;
	int rc =
	    pl__aptsrc_parse(name, text, strlen(text), deb822, "amd64", keys, nkeys, &v, &n, &err);
	check_int(rc, ==, code);
	check_str(pl_error_message(err), message);
	pl_error_free(err);
	if (rc == 0)
		pl__repos_free(v, n);
}

static void test_errors(void)
{
	expect("f.list", "deb [arch=amd64 http://a.example.invalid/debian s main\n", 1, PL_EINVAL,
	       "f.list:1: the option list has no closing ']'");
	expect("f.list", "\n\ndeb http://a.example.invalid/debian\n", 1, PL_EINVAL,
	       "f.list:3: the suite is missing");
	expect("f.list", "deb [arch=amd64]   # nothing else\n", 1, PL_EINVAL,
	       "f.list:1: the URI is missing");
	expect("f.list", "rpm http://a.example.invalid/debian s main\n", 1, PL_EINVAL,
	       "f.list:1: unknown type 'rpm' (expected 'deb' or 'deb-src')");
	expect("f.list", "deb [arch] http://a.example.invalid/debian s main\n", 1, PL_EINVAL,
	       "f.list:1: option 'arch' is not of the form 'name=value'");
	expect("f.list", "deb [signed-by=] http://a.example.invalid/debian s main\n", 1, PL_EINVAL,
	       "f.list:1: option 'signed-by' has no value");
	expect("f.list", "deb [trusted=maybe] http://a.example.invalid/debian s main\n", 1,
	       PL_EINVAL, "f.list:1: option 'trusted' takes 'yes' or 'no', not 'maybe'");
	expect("f.list", "#\ndeb [trusted=yes] http://a.example.invalid/debian s main\n", 1,
	       PL_EPOLICY,
	       "f.list:2: refusing a repository marked trusted: plinth never builds from "
	       "unverified archives");
	expect("f.list", "deb http://a.example.invalid/debian ./\n", 1, PL_EINVAL,
	       "f.list:1: flat repositories are not supported (suite './')");
	expect("f.list", "deb http://a.example.invalid/debian bookworm\n", 1, PL_EINVAL,
	       "f.list:1: suite 'bookworm' needs a component");
	expect("f.list", "deb ftp://a.example.invalid/debian s main\n", 1, PL_EINVAL,
	       "f.list:1: URI 'ftp://a.example.invalid/debian' has an unsupported scheme (plinth "
	       "reads http://, https:// and file: URIs)");
	expect("f.list", "deb mirror+file:/etc/apt/mirrors.txt s main\n", 1, PL_EINVAL,
	       "f.list:1: URI 'mirror+file:/etc/apt/mirrors.txt' has an unsupported scheme (plinth "
	       "reads http://, https:// and file: URIs)");
	expect("f.list", "deb file://host.example.invalid/x s main\n", 1, PL_EINVAL,
	       "f.list:1: URI 'file://host.example.invalid/x' names a host, which file: URIs "
	       "cannot");
	expect("f.list", "deb file:srv/x s main\n", 1, PL_EINVAL,
	       "f.list:1: URI 'file:srv/x' does not hold an absolute path");
	expect("f.list", "deb file:/// s main\n", 1, PL_EINVAL,
	       "f.list:1: URI 'file:///' names no directory");
	expect("f.list", "deb http:///debian s main\n", 1, PL_EINVAL,
	       "f.list:1: URI 'http:///debian' names no host");
	expect("f.list", "deb [signed-by=keys/a.gpg] http://a.example.invalid/debian s main\n", 1,
	       PL_EINVAL, "f.list:1: keyring 'keys/a.gpg' in Signed-By is not an absolute path");
	expect("f.list", "deb http://a.example.invalid/debian ../../etc main\n", 1, PL_EINVAL,
	       "f.list:1: suite '../../etc' leads out of the archive's directory");
	expect("f.list", "deb http://a.example.invalid/debian s main/..\n", 1, PL_EINVAL,
	       "f.list:1: component 'main/..' leads out of the archive's directory");
	expect("f.list", "deb http://a.example.invalid/debian s main\n", 0, PL_EPOLICY,
	       "f.list:1: no keyring for the repository: it has no Signed-By and there is no "
	       "trusted.gpg or trusted.gpg.d/ keyring");
	{
		static const char nul[] = "deb http://a.example.invalid/debian s main\n\nx\0y\n";
		struct pl__repo *v = NULL;
		size_t n = 0;
		struct pl_error *err = NULL;
		check_int(pl__aptsrc_parse("f.list", nul, sizeof(nul) - 1, false, NULL, NULL, 0, &v,
					   &n, &err),
			  ==, PL_EINVAL);
		check_str(pl_error_message(err), "f.list:3: a line holds a NUL byte");
		pl_error_free(err);
	}

	expect("f.sources", "# a\n\nTypes: deb\nSuites: s\nComponents: main\n", 1, PL_EINVAL,
	       "f.sources:3: the paragraph has no 'URIs' field");
	expect("f.sources", "URIs: http://a.example.invalid/debian\nSuites: s\n", 1, PL_EINVAL,
	       "f.sources:1: the paragraph has no 'Types' field");
	expect("f.sources", "Types: deb\nURIs: http://a.example.invalid/debian\n", 1, PL_EINVAL,
	       "f.sources:1: the paragraph has no 'Suites' field");
	expect("f.sources", "Types: deb\nURIs:\nSuites: s\n", 1, PL_EINVAL,
	       "f.sources:2: field 'URIs' is empty");
	expect("f.sources", "Types: deb\n rpm\nURIs: http://a.example.invalid/debian\nSuites: s\n",
	       1, PL_EINVAL, "f.sources:2: unknown type 'rpm' (expected 'deb' or 'deb-src')");
	expect("f.sources",
	       "Types: deb\nURIs: http://a.example.invalid/debian\nSuites: s\nComponents: main\n"
	       "Trusted: yes\n",
	       1, PL_EPOLICY,
	       "f.sources:5: refusing a repository marked trusted: plinth never builds from "
	       "unverified archives");
	expect("f.sources", "Types: deb\nEnabled: maybe\n", 1, PL_EINVAL,
	       "f.sources:2: field 'Enabled' takes 'yes' or 'no', not 'maybe'");
	expect("f.sources", "Types: deb\nURIs: http://a.example.invalid/debian\nSuites: ./\n", 1,
	       PL_EINVAL, "f.sources:3: flat repositories are not supported (suite './')");
	expect("f.sources", "Types: deb\nnot a field\n", 1, PL_EINVAL,
	       "f.sources:2:1: expected 'Field: value'");
	expect("f.sources",
	       "Types: deb\nURIs: http://a.example.invalid/debian\n https://b.example.invalid/x\n"
	       "  ftp://c.example.invalid/y\nSuites: s\nComponents: main\n",
	       1, PL_EINVAL,
	       "f.sources:4: URI 'ftp://c.example.invalid/y' has an unsupported scheme (plinth "
	       "reads http://, https:// and file: URIs)");
	expect("f.sources",
	       "Types: deb\nURIs: http://a.example.invalid/debian\nSuites: s\nComponents: main\n"
	       "Signed-By: /k.gpg\n relative.gpg\n",
	       1, PL_EINVAL,
	       "f.sources:6: keyring 'relative.gpg' in Signed-By is not an absolute path");
	expect(
	    "f.sources",
	    "Types: deb\nURIs: http://a.example.invalid/debian\nSuites: s\nComponents: main\n"
	    "Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n abc\n",
	    1, PL_EINVAL,
	    "f.sources:5: the key in Signed-By has no '-----END PGP PUBLIC KEY BLOCK-----' line");
}

static void test_limits(void)
{
	static const char *const keys[] = { "/k.gpg" };
	size_t cap = 256 << 10;
	char *text = malloc(cap);
	struct pl__repo *v = NULL;
	size_t n = 0, len = 0;
	struct pl_error *err = NULL;
	if (!text)
		return;

	/* 4097 lines, each a repository. */
	for (int i = 0; i <= 4096; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"deb http://a.example.invalid/%d s m\n", i);
	check_int(pl__aptsrc_parse("f.list", text, len, false, NULL, keys, 1, &v, &n, &err), ==,
		  PL_ELIMIT);
	check_str(pl_error_message(err),
		  "f.list:4097: the apt sources describe more than 4096 repositories");
	pl_error_free(err);
	err = NULL;

	/* 4097 URIs in one field. */
	len = (size_t)snprintf(text, cap, "Types: deb\nURIs:");
	for (int i = 0; i <= 4096; i++)
		len += (size_t)snprintf(text + len, cap - len, " http://a.example.invalid/%d", i);
	len += (size_t)snprintf(text + len, cap - len, "\nSuites: s\nComponents: m\n");
	check_int(pl__aptsrc_parse("f.sources", text, len, true, NULL, keys, 1, &v, &n, &err), ==,
		  PL_ELIMIT);
	check_str(pl_error_message(err), "f.sources:2: more than 4096 words in one entry");
	pl_error_free(err);
	err = NULL;

	/* 2000 URIs times 2000 suites: more than 16 MiB of copies. */
	len = (size_t)snprintf(text, cap, "\nTypes: deb\nURIs:");
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, cap - len, " http://a.example.invalid/%d", i);
	len += (size_t)snprintf(text + len, cap - len, "\nSuites:");
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, cap - len, " s%d", i);
	len += (size_t)snprintf(text + len, cap - len, "\nComponents: m\n");
	check_int(pl__aptsrc_parse("f.sources", text, len, true, NULL, keys, 1, &v, &n, &err), ==,
		  PL_ELIMIT);
	check_str(pl_error_message(err),
		  "f.sources:2: the apt sources describe more than 16777216 bytes of repositories");
	pl_error_free(err);
	free(text);
}

/* Entries plinth skips without a word. */
static void test_skipped(void)
{
	static const char *const cases[][2] = {
		{ "f.list", "deb-src [trusted=yes] ftp://a.example.invalid/debian ./\n" },
		{ "f.list", "deb cdrom:[Debian 12]/ bookworm main\n" },
		{ "f.list", "deb [arch=arm64 trusted=yes] http://a.example.invalid/debian s m\n" },
		{ "f.list", "# only a comment\n   \n\t\n" },
		{ "f.sources", "Types: deb-src\nURIs: http://a.example.invalid/debian\nSuites: s\n"
			       "Trusted: yes\n" },
		{ "f.sources", "Types: deb\nEnabled: no\nTrusted: maybe\n" },
		{ "f.sources", "Types: deb\nURIs: http://a.example.invalid/debian\nSuites: s\n"
			       "Components: main\nArchitectures-Remove: amd64\n" },
		{ "f.sources", "# nothing\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct pl__repo *v = NULL;
		size_t n = 1;
		struct pl_error *err = NULL;
		int rc = pl__aptsrc_parse(cases[i][0], cases[i][1], strlen(cases[i][1]),
					  strstr(cases[i][0], ".sources") != NULL, "amd64", NULL, 0,
					  &v, &n, &err);
		check_int(rc, ==, 0);
		check_int(n, ==, 0);
		if (rc < 0)
			printf("# case %zu: %s\n", i, pl_error_message(err));
		pl_error_free(err);
		pl__repos_free(v, n);
	}
}

static void expand_ok(const char *s, const char *const *env, const char *want)
{
	char *out = NULL;
	struct pl_error *err = NULL;
	check_int(pl__expand_vars(s, env, &out, &err), ==, 0);
	check_str(out, want);
	check(err == NULL);
	free(out);
	pl_error_free(err);
}

static void expand_fail(const char *s, const char *const *env, const char *message)
{
	char *out = NULL;
	struct pl_error *err = NULL;
	check_int(pl__expand_vars(s, env, &out, &err), ==, PL_EINVAL);
	check(out == NULL);
	check_str(pl_error_message(err), message);
	pl_error_free(err);
}

static void test_expand(void)
{
	static const char *const env[] = { "HOSTNAME=wrong", "HOST=archive.example.invalid",
					   "EMPTY=",         "_x1=v",
					   "HOST=shadowed",  NULL };
	expand_ok("http://${HOST}/debian", env, "http://archive.example.invalid/debian");
	expand_ok("${HOST}${_x1}", env, "archive.example.invalidv");
	expand_ok("a$$b$$", env, "a$b$");
	expand_ok("$$${_x1}", env, "$v");
	expand_ok("$${HOST}", env, "${HOST}");
	expand_ok("[${EMPTY}]", env, "[]");
	expand_ok("", NULL, "");
	expand_ok("plain", NULL, "plain");
	expand_fail("${NOPE}", env, "variable 'NOPE' is not set in '${NOPE}'");
	expand_fail("x${HOST", env, "'${' has no closing '}' in 'x${HOST'");
	expand_fail("${1A}", env, "invalid variable name '1A' in '${1A}'");
	expand_fail("${}", env, "invalid variable name '' in '${}'");
	expand_fail("${A-B}", env, "invalid variable name 'A-B' in '${A-B}'");
	expand_fail("a$HOST", env,
		    "'$' at offset 1 of 'a$HOST' does not start '${NAME}' (write '$$' for a '$')");
	expand_fail("ab$", env,
		    "'$' at offset 2 of 'ab$' does not start '${NAME}' (write '$$' for a '$')");
	expand_fail("${HOST}", NULL, "variable 'HOST' is not set in '${HOST}'");
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/t-aptsrc.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return tap_skip_all("cannot make a temporary directory");
	test_host();
	test_no_sources();
	test_real_host();
	test_errors();
	test_skipped();
	test_limits();
	test_expand();
	pl__remove_tree(AT_FDCWD, tmp);
	return tap_done();
}
