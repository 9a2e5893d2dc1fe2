/* t-resolve.c - Packages indexes and dependency resolution. */
#include "packages.h"
#include "resolve.h"
#include "tap.h"

#define SHA "0000000000000000000000000000000000000000000000000000000000000000"

/* One index paragraph; extra holds more fields, each ending in "\n". */
#define PKG(name, version, arch, extra)                                                            \
	"Package: " name "\nVersion: " version "\nArchitecture: " arch "\n" extra                  \
	"Filename: pool/" name "_" version ".deb\nSize: 100\nSHA256: " SHA "\n\n"

static const char index_a[] = PKG("libc6", "2.36-9", "amd64", "Source: glibc\nDepends: libgcc-s1\n")
    PKG("libc6", "2.36-9+deb12u9", "amd64",
	"Source: glibc (2.36-9+deb12u9)\nDepends: libgcc-s1\n") PKG("libc6", "2.36-9", "arm64", "")
	PKG("libgcc-s1", "12.2.0-14", "amd64",
	    "Source: gcc-12 (12.2.0-14)\nDepends: gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)\n")
	    PKG("gcc-12-base", "12.2.0-14", "amd64", "") PKG(
		"tzdata", "2024a-0+deb12u1", "all", "Depends: debconf (>= 0.5) | debconf-2.0\n")
		PKG("mawk", "1.3.4", "amd64", "Provides: awk\nDepends: libc6\n")
		    PKG("gawk", "5.2.1", "amd64", "Provides: awk\nDepends: libc6\n") PKG(
			"needs-awk", "1", "all", "Depends: awk\n") PKG("vim-tiny", "2:9.0", "amd64",
								       "Provides: editor (= 9.0)\n")
			PKG("needs-editor", "1", "all", "Depends: editor (>= 9)\n") PKG(
			    "new-libc", "1", "all", "Depends: libc6 (>= 3.0)\n")
			    PKG("future-libc", "1", "all", "Depends: libc6 (>= 99)\n") PKG(
				"old-libc", "1", "all", "Depends: libc6 (<< 2.36-9+deb12u1)\n")
				PKG("xx", "1", "all", "Conflicts: yy\n") PKG("yy", "1", "all", "")
				    PKG("loop-a", "1", "all", "Pre-Depends: loop-b\n")
					PKG("loop-b", "1", "all", "Depends: loop-a\n") PKG(
					    "either", "1", "all", "Depends: missing | yy\n")
					    PKG("breaker", "1", "all", "Breaks: libc6 (<< 3)\n");

static const char index_bpo[] = PKG("libc6", "9.0-1~bpo12+1", "amd64", "")
    PKG("only-bpo", "1", "all", "Depends: libc6 (>= 9)\n")
	PKG("alt-awk", "1", "all", "Depends: awk | gawk\n")
	    PKG("old-editor", "1", "all", "Conflicts: editor (<< 10)\n");

static const char index_b[] =
    PKG("libc6", "2.36-9+deb12u10", "amd64", "Depends: libgcc-s1\n") PKG("yy", "2~rc1", "all", "");

static struct pl__universe *make_universe(void)
{
	struct pl__universe *u = NULL;
	struct pl_error *err = NULL;
	check_int(pl__universe_new("amd64", &u, &err), ==, 0);
	check_int(pl__universe_add_index(u, "a/Packages", "bookworm", false, 0, strdup(index_a),
					 sizeof(index_a) - 1, &err),
		  ==, 0);
	check_int(pl__universe_add_index(u, "b/Packages", "bookworm-updates", false, 0,
					 strdup(index_b), sizeof(index_b) - 1, &err),
		  ==, 0);
	check_int(pl__universe_add_index(u, "bpo/Packages", "bookworm-backports", true, 0,
					 strdup(index_bpo), sizeof(index_bpo) - 1, &err),
		  ==, 0);
	if (err)
		tap_diag(pl_error_message(err));
	pl_error_free(err);
	return u;
}

/* Resolve `names` (NAME, NAME=VERSION or NAME/SUITE; NULL-terminated) on
 * what `set` has (NULL: `inst`) and return "name=version ..." or "error:
 * message". */
static char *resolve_on(struct pl__universe *u, const char *const *names,
			const struct pl__installed *inst, size_t ninst,
			const struct pl__instset *set)
{
	struct pl__want want[16];
	char buf[16][64];
	size_t n = 0;
	for (; names[n]; n++) {
		snprintf(buf[n], sizeof(buf[n]), "%s", names[n]);
		char *eq = strchr(buf[n], '='), *sl = strchr(buf[n], '/');
		if (eq)
			*eq++ = '\0';
		if (sl)
			*sl++ = '\0';
		want[n] = (struct pl__want){ buf[n], eq, sl, "r.yaml:1:1" };
	}
	const struct pl__pkg **out = NULL;
	size_t nout = 0;
	struct pl_error *err = NULL;
	char *res = calloc(1, 4096);
	if ((set ? pl__resolve_in(u, want, n, set, &out, &nout, &err)
		 : pl__resolve(u, want, n, inst, ninst, &out, &nout, &err)) < 0) {
		snprintf(res, 4096, "error: %s", pl_error_message(err));
		pl_error_free(err);
		return res;
	}
	for (size_t i = 0; i < nout; i++)
		snprintf(res + strlen(res), 4096 - strlen(res), "%s%s=%s", i ? " " : "",
			 out[i]->name, out[i]->version);
	free(out);
	return res;
}

static char *resolve(struct pl__universe *u, const char *const *names,
		     const struct pl__installed *inst, size_t ninst)
{
	return resolve_on(u, names, inst, ninst, NULL);
}

#define check_resolve(u, names, inst, ninst, want)                                                 \
	do {                                                                                       \
		char *got = resolve(u, (const char *const[]){ names, NULL }, inst, ninst);         \
		check_str(got, want);                                                              \
		free(got);                                                                         \
	} while (0)

static const struct pl__installed assumed[] = { { "debconf", NULL } };

static void test_resolve(void)
{
	struct pl__universe *u = make_universe();
	/* arm64 and other-arch packages are not read */
	check_int(pl__universe_count(u), ==, 25);

	/* a NotAutomatic suite (backports) only when asked for, or needed */
	check_resolve(u, "libc6/bookworm-backports", NULL, 0, "libc6=9.0-1~bpo12+1");
	check_resolve(u, "only-bpo", NULL, 0, "libc6=9.0-1~bpo12+1 only-bpo=1");
	/* an ambiguous virtual package is skipped for a later alternative */
	check_resolve(u, "alt-awk", NULL, 0,
		      "alt-awk=1 gawk=5.2.1 gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 "
		      "libgcc-s1=12.2.0-14");
	/* an assumed package provides what it provides */
	{
		const struct pl__installed mawk[] = { { "mawk", NULL } };
		check_resolve(u, "needs-awk", mawk, 1, "needs-awk=1");
	}
	/* Conflicts against a versioned Provides */
	{
		char *got = resolve(u, (const char *const[]){ "needs-editor", "old-editor", NULL },
				    NULL, 0);
		check_str(got,
			  "error: package 'old-editor' 1 (needed by old-editor) conflicts with "
			  "'editor (<< 10)', but 'vim-tiny' 2:9.0 is needed by needs-editor -> "
			  "vim-tiny");
		free(got);
	}

	/* newest across suites, dependencies followed, sorted by name */
	check_resolve(u, "libc6", NULL, 0,
		      "gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14");
	/* a pinned version, a pinned suite */
	check_resolve(u, "libc6=2.36-9", NULL, 0,
		      "gcc-12-base=12.2.0-14 libc6=2.36-9 libgcc-s1=12.2.0-14");
	check_resolve(u, "libc6/bookworm", NULL, 0,
		      "gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u9 libgcc-s1=12.2.0-14");
	/* alternatives: an assumed package satisfies debconf | debconf-2.0 */
	check_resolve(u, "tzdata", assumed, 1, "tzdata=2024a-0+deb12u1");
	check_resolve(u, "tzdata", NULL, 0,
		      "error: package 'tzdata' (needed by tzdata) depends on 'debconf (>= 0.5) | "
		      "debconf-2.0', which no repository has");
	/* the second alternative when the first does not exist */
	check_resolve(u, "either", NULL, 0, "either=1 yy=2~rc1");
	/* a versioned Provides satisfies a versioned dependency */
	check_resolve(u, "needs-editor", NULL, 0, "needs-editor=1 vim-tiny=2:9.0");
	/* a virtual package with two providers needs a choice... */
	check_resolve(u, "needs-awk", NULL, 0,
		      "error: package 'needs-awk' (needed by needs-awk) depends on the virtual "
		      "package 'awk', provided by 'gawk', 'mawk': list the one to install in "
		      "'packages'");
	/* ...which a requested provider makes */
	{
		char *got = resolve(u, (const char *const[]){ "mawk", "needs-awk", NULL }, NULL, 0);
		check_str(got, "gcc-12-base=12.2.0-14 libc6=2.36-9+deb12u10 libgcc-s1=12.2.0-14 "
			       "mawk=1.3.4 needs-awk=1");
		free(got);
	}
	/* what the base already has is not installed again */
	{
		const struct pl__installed base[] = { { "libc6", "2.36-9+deb12u10" } };
		check_resolve(u, "libgcc-s1", base, 1, "gcc-12-base=12.2.0-14 libgcc-s1=12.2.0-14");
		check_resolve(u, "libc6", base, 1, "");
		check_resolve(
		    u, "new-libc", base, 1,
		    "error: package 'new-libc' (needed by new-libc) depends on 'libc6 (>= "
		    "3.0)', which the base has only at version 2.36-9+deb12u10");
	}
	/* unsatisfiable versions name both chains */
	{
		char *got =
		    resolve(u, (const char *const[]){ "libgcc-s1", "old-libc", NULL }, NULL, 0);
		check_str(got,
			  "error: package 'old-libc' (needed by old-libc) depends on 'libc6 (<< "
			  "2.36-9+deb12u1)', which conflicts with 'libc6' 2.36-9+deb12u10, "
			  "chosen for libgcc-s1 -> libc6");
		free(got);
	}
	/* a dependency only backports satisfies takes it from there */
	check_resolve(u, "new-libc", NULL, 0, "libc6=9.0-1~bpo12+1 new-libc=1");
	check_resolve(u, "future-libc", NULL, 0,
		      "error: package 'future-libc' (needed by future-libc) depends on 'libc6 (>= "
		      "99)', which no repository has (candidate: 2.36-9+deb12u10)");
	/* Conflicts and Breaks */
	{
		char *got = resolve(u, (const char *const[]){ "xx", "either", NULL }, NULL, 0);
		check_str(got, "error: package 'xx' 1 (needed by xx) conflicts with 'yy', but "
			       "'yy' 2~rc1 is needed by either -> yy");
		free(got);
		got = resolve(u, (const char *const[]){ "libc6", "breaker", NULL }, NULL, 0);
		check_str(got, "error: package 'breaker' 1 (needed by breaker) breaks 'libc6 (<< "
			       "3)', but 'libc6' 2.36-9+deb12u10 is needed by libc6");
		free(got);
	}
	/* dependency loops are fine */
	check_resolve(u, "loop-a", NULL, 0, "loop-a=1 loop-b=1");
	/* unknown names, with a suggestion; missing versions */
	check_resolve(u, "libc7", NULL, 0,
		      "error: r.yaml:1:1: package 'libc7' is in no repository (did you mean "
		      "'libc6'?)");
	check_resolve(u, "libc6=9", NULL, 0,
		      "error: r.yaml:1:1: package 'libc6' has no version '9'");
	check_resolve(u, "awk", NULL, 0,
		      "error: r.yaml:1:1: 'awk' is a virtual package, provided by 'gawk', 'mawk': "
		      "list the one to install");
	pl__universe_free(u);
}

#define check_resolve_on(u, set, want, ...)                                                        \
	do {                                                                                       \
		char *got =                                                                        \
		    resolve_on(u, (const char *const[]){ __VA_ARGS__, NULL }, NULL, 0, set);       \
		check_str(got, want);                                                              \
		free(got);                                                                         \
	} while (0)

static struct pl__relations rels(const char *text)
{
	struct pl__relations r = { 0 };
	check_int(pl__relations_parse("t", text, strlen(text), &r, NULL), ==, 0);
	return r;
}

/* A base's packages, Provides, Conflicts and Breaks, read as the
 * resolver reads the repositories'. */
static void test_present(void)
{
	struct pl__universe *u = make_universe();
	static const char more[] = PKG("needs-foo", "1", "all", "Depends: foo (>= 2)\n")
	    PKG("exim", "4", "all", "Provides: mail-transport-agent\n");
	check_int(pl__universe_add_index(u, "c/Packages", "bookworm", false, 0, strdup(more),
					 sizeof(more) - 1, NULL),
		  ==, 0);

	/* an unversioned Provides satisfies only an unversioned dependency */
	struct pl__instset *s = NULL;
	check_int(pl__instset_new("amd64", &s, NULL), ==, 0);
	check_int(pl__instset_add(s, "nano", "7.2", NULL, NULL, NULL), ==, 0);
	check_int(pl__instset_add_provided(s, "editor", NULL, "nano", NULL), ==, 0);
	check_int(pl__instset_add_provided(s, "awk", NULL, "nano", NULL), ==, 0);
	check_int(pl__instset_add_provided(s, "foo", NULL, "nano", NULL), ==, 0);
	check_resolve_on(u, s, "needs-editor=1 vim-tiny=2:9.0", "needs-editor");
	check_resolve_on(u, s, "needs-awk=1", "needs-awk");
	check_resolve_on(u, s,
			 "error: package 'needs-foo' (needed by needs-foo) depends on 'foo (>= "
			 "2)', which the base's 'nano' provides only without a version",
			 "needs-foo");
	struct pl__rel any = { .name = "editor" },
		       ge = { .name = "editor", .version = "1", .op = PL__REL_GE },
		       other = { .name = "editor", .arch = "arm64" };
	check(pl__instset_satisfies(s, &any));
	check(!pl__instset_satisfies(s, &ge));
	check(!pl__instset_satisfies(s, &other));
	/* a versioned one satisfies what its version does */
	check_int(pl__instset_add(s, "vim-base", "2:9.5", NULL, NULL, NULL), ==, 0);
	check_int(pl__instset_add_provided(s, "editor", "9.5", "vim-base", NULL), ==, 0);
	check_resolve_on(u, s, "needs-editor=1", "needs-editor");
	check(pl__instset_satisfies(s, &ge));
	/* a new package's Conflicts against a versioned Provides of the base's */
	check_resolve_on(u, s,
			 "error: package 'old-editor' 1 (needed by old-editor) conflicts with "
			 "'editor (<< 10)', but the base's 'vim-base' provides 'editor (= 9.5)'",
			 "old-editor");
	pl__instset_free(s);

	/* ...not an unversioned one; and against a package of the base's */
	check_int(pl__instset_new("amd64", &s, NULL), ==, 0);
	check_int(pl__instset_add(s, "nano", "7.2", NULL, NULL, NULL), ==, 0);
	check_int(pl__instset_add_provided(s, "editor", NULL, "nano", NULL), ==, 0);
	check_int(pl__instset_add(s, "yy", "1", NULL, NULL, NULL), ==, 0);
	check_int(pl__instset_add(s, "debconf", NULL, NULL, NULL, NULL), ==, 0);
	check_resolve_on(u, s, "old-editor=1", "old-editor");
	check_resolve_on(u, s,
			 "error: package 'xx' 1 (needed by xx) conflicts with 'yy', but the base "
			 "has 'yy' 1",
			 "xx");
	/* an assumed package, of no known version, conflicts with nothing */
	static const char debconf_breaker[] =
	    PKG("dc-breaker", "1", "all", "Breaks: debconf (<< 2)\n");
	check_int(pl__universe_add_index(u, "d/Packages", "bookworm", false, 0,
					 strdup(debconf_breaker), sizeof(debconf_breaker) - 1,
					 NULL),
		  ==, 0);
	check_resolve_on(u, s, "dc-breaker=1", "dc-breaker");
	pl__instset_free(s);

	/* the base's Conflicts and Breaks against what is chosen */
	struct pl__relations breaks = rels("yy (>= 2~)"),
			     conflicts = rels("awk, mail-transport-agent");
	check_int(pl__instset_new("amd64", &s, NULL), ==, 0);
	check_int(pl__instset_add(s, "old-user", "1.0", NULL, &breaks, NULL), ==, 0);
	check_int(pl__instset_add(s, "postfix", "3.7", &conflicts, NULL, NULL), ==, 0);
	check_int(pl__instset_add_provided(s, "mail-transport-agent", NULL, "postfix", NULL), ==,
		  0);
	check_resolve_on(u, s,
			 "error: the base's package 'old-user' 1.0 breaks 'yy (>= 2~)', but 'yy' "
			 "2~rc1 is needed by either -> yy",
			 "either");
	check_resolve_on(u, s,
			 "error: the base's package 'postfix' 3.7 conflicts with 'awk', but "
			 "'gawk' 5.2.1 is needed by alt-awk -> gawk",
			 "alt-awk");
	check_resolve_on(u, s,
			 "error: the base's package 'postfix' 3.7 conflicts with "
			 "'mail-transport-agent', but 'exim' 4 is needed by exim",
			 "exim");
	check_resolve_on(u, s, "loop-a=1 loop-b=1", "loop-a");
	pl__instset_free(s);
	pl__relations_release(&breaks);
	pl__relations_release(&conflicts);
	pl__universe_free(u);

	struct pl_buf b = { 0 };
	struct pl__relations cl = rels("a (>= 1) | b:any | c (<< 2~rc1)");
	check_int(pl_buf_init(&b, 0, NULL), ==, 0);
	check_int(pl__clause_text(&cl.c[0], &b, NULL), ==, 0);
	check_str(b.buf, "a (>= 1) | b:any | c (<< 2~rc1)");
	pl_buf_release(&b);
	pl__relations_release(&cl);
}

static void test_bad_index(void)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{ "Package: aa\nVersion: 1\nArchitecture: all\nSize: 1\nSHA256: " SHA "\n",
		  "i:1:1: package without 'Filename'" },
		{ "Package: aa\nVersion: x1\nArchitecture: all\nFilename: a.deb\nSize: "
		  "1\nSHA256: " SHA "\n",
		  "i:2:1: 'Version' is invalid: the upstream version does not start with a digit" },
		{ "Package: aa\nVersion: 1\nArchitecture: all\nFilename: ../a.deb\nSize: "
		  "1\nSHA256: " SHA "\n",
		  "i:4:1: 'Filename' is not a relative path" },
		{ "Package: aa\nVersion: 1\nArchitecture: all\nFilename: a.deb\nSize: "
		  "-1\nSHA256: " SHA "\n",
		  "i:5:1: 'Size' is not a number" },
		{ "Package: aa\nVersion: 1\nArchitecture: all\nFilename: a.deb\nSize: 1\nSHA256: "
		  "00\n",
		  "i:6:1: 'SHA256' is not 64 hex digits" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pl__universe *u = NULL;
		struct pl_error *err = NULL;
		check_int(pl__universe_new("amd64", &u, NULL), ==, 0);
		check_int(pl__universe_add_index(u, "i", "s", false, 0, strdup(cases[i].text),
						 strlen(cases[i].text), &err),
			  ==, PL_EINVAL);
		check_str(err ? pl_error_message(err) : "", cases[i].message);
		pl_error_free(err);
		pl__universe_free(u);
	}
}

static void test_glob(void)
{
	check(pl__glob_match_path("/usr/share/doc", "/usr/share/doc"));
	check(pl__glob_match_path("/usr/share/doc", "/usr/share/doc/libc6/copyright"));
	check(!pl__glob_match_path("/usr/share/doc", "/usr/share/docs"));
	check(pl__glob_match_path("/usr/share/doc/**", "/usr/share/doc/a/b"));
	check(!pl__glob_match_path("/usr/share/doc/**", "/usr/share/doc"));
	check(pl__glob_match_path("/usr/lib/*/gconv", "/usr/lib/x86_64-linux-gnu/gconv/a.so"));
	check(!pl__glob_match_path("/usr/*/gconv", "/usr/lib/x86_64-linux-gnu/gconv"));
	check(pl__glob_match_path("/usr/**/gconv", "/usr/lib/x86_64-linux-gnu/gconv"));
	check(pl__glob_match_path("/usr/share/zoneinfo/[A-C]*", "/usr/share/zoneinfo/Cuba"));
	check(!pl__glob_match_path("/usr/share/zoneinfo/[!A-C]*", "/usr/share/zoneinfo/Cuba"));
	check(pl__glob_match_path("/etc/?otd", "/etc/motd"));
	check(!pl__glob_match_path("/etc/?", "/etc/"));
	check(pl__glob_match_path("/a[b", "/a[b"));
	check(pl__glob_match_path("/**.mo", "/usr/share/locale/de/LC_MESSAGES/x.mo"));

	/* a whole path only: no parent directory counts */
	check(pl__glob_match("/srv/demo/*", "/srv/demo/key.pem"));
	check(!pl__glob_match("/srv/demo/*", "/srv/demo/prod/real/key.pem"));
	check(pl__glob_match("/srv/demo/**", "/srv/demo/prod/real/key.pem"));
	check(!pl__glob_match("/usr/share/doc", "/usr/share/doc/libc6/copyright"));

	/* stars that backtracking would try exponentially often: each state
	 * is tried once (this would not finish otherwise) */
	char deep[4000] = "", pat[64] = "/**/a/**/a/**/a/**/a/**/a/**/z";
	for (size_t i = 0; i < 1000; i++)
		memcpy(deep + 2 * i, "/a", 3);
	check(!pl__glob_match(pat, deep));
	memcpy(deep + 2000, "/z", 3);
	check(pl__glob_match(pat, deep));
	char comp[300] = "/";
	memset(comp + 1, 'a', 250);
	comp[251] = '\0';
	check(!pl__glob_match("/*a*a*a*a*a*a*a*a*b", comp));
}

static void test_lock_path(void)
{
	const char *const cases[][2] = {
		{ "base.yaml", "base.lock.json" },
		{ "dir/cc.yml", "dir/cc.lock.json" },
		{ "recipe", "recipe.lock.json" },
		{ ".yaml", ".yaml.lock.json" },
	};
	for (size_t i = 0; i < 4; i++) {
		char *p = pl_lock_path(cases[i][0], NULL);
		check_str(p, cases[i][1]);
		free(p);
	}
}

int main(void)
{
	test_resolve();
	test_present();
	test_bad_index();
	test_glob();
	test_lock_path();
	return tap_done();
}
