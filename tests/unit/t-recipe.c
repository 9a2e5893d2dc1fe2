/* t-recipe.c - the recipe parser: what it accepts and the exact errors it gives. */
#include "recipe-impl.h"
#include "tap.h"

static const char good[] =
    "name: hello\n"
    "version: 1.2.3\n"
    "description: a test\n"
    "epoch: 1700000000\n"
    "base: scratch\n"
    "files:\n"
    "  - path: /usr/local/bin/hello\n"
    "    source: bin/hello\n"
    "    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
    "    mode: 0755\n"
    "    owner: \"0:0\"\n"
    "directories: [{path: /data, mode: \"0750\", owner: 65532:65532}]\n"
    "symlinks: [{path: /usr/bin/hello, target: ../local/bin/hello}]\n"
    "accounts:\n"
    "  users: [{name: app, uid: 1000, gid: 1000, home: /home/app, shell: /sbin/nologin}]\n"
    "  groups: [{name: app, gid: 1000}]\n"
    "  run-as: app\n"
    "config:\n"
    "  entrypoint: [/usr/local/bin/hello]\n"
    "  cmd: []\n"
    "  env: {SSL_CERT_FILE: /etc/ssl/certs/ca-certificates.crt}\n"
    "  workdir: /home/app\n"
    "  labels: {org.opencontainers.image.source: https://example.invalid/repo}\n"
    "  stop-signal: SIGTERM\n"
    "  ports: [8080/tcp, 53/udp, 9000]\n"
    "tests:\n"
    "  - run: [/usr/local/bin/hello]\n"
    "    expect-exit: 0\n"
    "    expect-stdout: \"^hello\"\n"
    "  - run: [/bin/slow]\n"
    "    timeout: 3600\n";

static void test_good(void)
{
	struct pl_recipe *r = NULL;
	struct pl_error *err = NULL;
	int rc = pl_recipe_parse("dir/x.yaml", good, sizeof(good) - 1, &r, &err);
	check_int(rc, ==, 0);
	if (rc < 0) {
		tap_diag(pl_error_message(err));
		pl_error_free(err);
		return;
	}
	check_str(pl_recipe_name(r), "hello");
	check_str(pl_recipe_version(r), "1.2.3");
	uint64_t epoch = 0;
	check(pl_recipe_epoch(r, &epoch));
	check_int(epoch, ==, 1700000000);
	check_str(r->dir, "dir");
	check_int(r->nfiles, ==, 1);
	check_int(r->files[0].mode, ==, 0755);
	check(r->files[0].has_sha256);
	check_int(r->files[0].sha256[0], ==, 0x9f);
	check_int(r->dirs[0].mode, ==, 0750);
	check_int(r->dirs[0].uid, ==, 65532);
	check_str(r->links[0].target, "../local/bin/hello");
	check_int(r->run_uid, ==, 1000);
	check_int(r->run_gid, ==, 1000);
	check(r->cmd.set);
	check_int(r->cmd.n, ==, 0);
	check_int(r->ports.n, ==, 3);
	check_str(r->ports.v[2], "9000/tcp");
	check_str(r->env.v[0].key, "SSL_CERT_FILE");
	check_int(r->ntests, ==, 2);
	check_str(r->tests[0].expect_stdout, "^hello");
	check_int(r->tests[0].timeout, ==, 0); /* not given: the default applies */
	check_int(r->tests[1].timeout, ==, 3600);
	check(r->tests[1].expect_stdout == NULL);
	pl_recipe_free(r);
}

static void test_defaults(void)
{
	static const char min[] = "name: m\nversion: 0.0.1\n";
	struct pl_recipe *r = NULL;
	check_int(pl_recipe_parse("m.yaml", min, sizeof(min) - 1, &r, NULL), ==, 0);
	if (!r)
		return;
	check_str(r->base, "scratch");
	check_str(r->run_as, "nonroot");
	check_int(r->run_uid, ==, 65532);
	check(!r->has_epoch);
	check(!r->entrypoint.set);
	check_str(r->dir, ".");
	pl_recipe_free(r);
}

struct bad {
	const char *yaml, *message;
};

static const struct bad bads[] = {
	{ "name: a\nversion: 1.0.0\nconfig:\n  entrypont: [/x]\n",
	  "r.yaml:4:3: unknown key 'entrypont' in 'config' (did you mean 'entrypoint'?)" },
	{ "name: a\nversion: 1.0.0\npakages: [x]\n",
	  "r.yaml:3:1: unknown key 'pakages' (did you mean 'packages'?)" },
	{ "name: a\nversion: 1.0.0\nzzz: 1\n", "r.yaml:3:1: unknown key 'zzz'" },
	{ "name: [a]\nversion: 1.0.0\n", "r.yaml:1:7: 'name' must be a string, not a list" },
	{ "name: a\nversion:\n", "r.yaml:2:9: 'version' must be a string, not null" },
	{ "version: 1.0.0\n", "r.yaml:1:1: recipe needs a 'name'" },
	{ "name: Hello\nversion: 1.0.0\n",
	  "r.yaml:1:7: 'name' must match [a-z0-9][a-z0-9._-]* (at most 128 characters), not "
	  "'Hello'" },
	{ "name: a\nversion: 1.0\n",
	  "r.yaml:2:10: 'version' must be MAJOR.MINOR.PATCH, not '1.0'" },
	{ "name: a\nversion: 1.0.0\nepoch: soon\n",
	  "r.yaml:3:8: 'epoch' must be a whole number, not 'soon'" },
	{ "name: a\nversion: 1.0.0\nfiles:\n  - {path: /x, source: x, mode: \"0798\"}\n",
	  "r.yaml:4:33: 'mode' must be an octal mode such as \"0755\", not '0798'" },
	{ "name: a\nversion: 1.0.0\nfiles:\n  - {path: x, source: x}\n",
	  "r.yaml:4:12: 'path' must be an absolute path, not 'x'" },
	{ "name: a\nversion: 1.0.0\ndirectories: [{path: /a/../b}]\n",
	  "r.yaml:3:22: 'path' must be a normalised path (no empty, '.' or '..' components, no "
	  "trailing '/'), not '/a/../b'" },
	{ "name: a\nversion: 1.0.0\nfiles:\n  - {path: /x, source: x}\n"
	  "symlinks:\n  - {path: /x, target: y}\n",
	  "r.yaml:6:5: duplicate path '/x' (already declared at line 4, column 5)" },
	{ "name: a\nversion: 1.0.0\nfiles:\n  - {path: /x, source: x, sha256: abc}\n",
	  "r.yaml:4:35: 'sha256' must be 64 lowercase hex digits, not 'abc'" },
	{ "name: a\nversion: 1.0.0\nfiles:\n  - {path: /x, source: x, owner: root}\n",
	  "r.yaml:4:34: 'owner' must be numeric UID:GID such as \"0:0\", not 'root'" },
	{ "name: a\nname: b\nversion: 1.0.0\n",
	  "r.yaml:2:1: duplicate key 'name' (first at line 1, column 1)" },
	{ "name: a\nversion: 1.0.0\nfiles: [\n", "r.yaml:4:1: did not find expected node content "
						 "while parsing a flow node" },
	{ "name: &n a\nversion: 1.0.0\n", "r.yaml:1:7: anchors are not allowed in a recipe" },
	{ "name: a\nversion: 1.0.0\nconfig: {ports: [http]}\n",
	  "r.yaml:3:18: 'ports' entries look like 8080/tcp or 53/udp, not 'http'" },
	{ "name: a\nversion: 1.0.0\naccounts: {run-as: ghost}\n",
	  "r.yaml:3:20: 'run-as' names no account: 'ghost' (use nonroot, root, a user from "
	  "'accounts', or UID[:GID])" },
	{ "name: a\nversion: 1.0.0\naccounts: {users: [{name: x, uid: 65532}]}\n",
	  "r.yaml:3:20: user id 65532 is taken by the built-in 'nonroot'" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stdout: \"(\"}]\n",
	  "r.yaml:3:35: 'expect-stdout' is not a valid extended regular expression: "
	  "Unmatched ( or \\(" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stdout: "
	  "\"o++++++++++++++++++++++++\"}]\n",
	  "r.yaml:3:35: 'expect-stdout' is refused: it repeats a repetition" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stdout: "
	  "\"e)d++++++++++++++++++++++\"}]\n",
	  "r.yaml:3:35: 'expect-stdout' is refused: it repeats a repetition" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stdout: "
	  "\"a{b++++++++++++++++++++++\"}]\n",
	  "r.yaml:3:35: 'expect-stdout' is refused: it repeats a repetition" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stdout: "
	  "\"(a{0000032767}){0000032767}\"}]\n",
	  "r.yaml:3:35: 'expect-stdout' is refused: a repetition bound is over 255" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stderr: \"a{32767}\"}]\n",
	  "r.yaml:3:35: 'expect-stderr' is refused: a repetition bound is over 255" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], timeout: 0}]\n",
	  "r.yaml:3:29: 'timeout' must be at least 1 second" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], timeout: 3601}]\n",
	  "r.yaml:3:29: 'timeout' must be at most 3600, not '3601'" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], timeout: 1.5}]\n",
	  "r.yaml:3:29: 'timeout' must be a whole number, not '1.5'" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], timeout: \"30\"}]\n",
	  "r.yaml:3:29: 'timeout' must be a whole number, not '30'" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], timout: 5}]\n",
	  "r.yaml:3:20: unknown key 'timout' in 'tests' (did you mean 'timeout'?)" },
	{ "name: a\nversion: 1.0.0\ntests: [{run: [x], expect-stdout: "
	  "\"((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+\"}]\n",
	  "r.yaml:3:35: 'expect-stdout' is refused: its repetitions expand too far" },
	{ "name: a\nversion: 1.0.0\nconfig: {labels: {b: x, a: y, c: z, a: w, b: v}}\n",
	  "r.yaml:3:37: duplicate key 'a' (first at line 3, column 25)" },
	{ "name: a\nversion: 1.0.0\naccounts: {users: [{name: x, uid: 7, home: "
	  "\"/x\\ntoor:x:0:0::/:/bin/sh\"}]}\n",
	  "r.yaml:3:44: 'home' may not hold ':' or control characters" },
	{ "name: a\nversion: 1.0.0\naccounts: {users: [{name: x, uid: 010}]}\n",
	  "r.yaml:3:35: 'uid' must be written without leading zeros (YAML may read '010' as "
	  "octal)" },
	{ "name: a\nversion: NULL\n", "r.yaml:2:10: 'version' must be a string, not null" },
	{ "name: a\nversion: 1.0.0\nbase: debian\n",
	  "r.yaml:3:7: 'base' must be 'scratch' or NAME@RANGE from the catalog (such as base@1, "
	  "base@1.4 or base@1.4.2), not 'debian'" },
	{ "name: a\nversion: 1.0.0\nbase: Base@1\n",
	  "r.yaml:3:7: base 'Base@1': the name must match [a-z0-9][a-z0-9._-]* (at most 128 "
	  "characters)" },
	{ "name: a\nversion: 1.0.0\nbase: \"@1\"\n",
	  "r.yaml:3:7: base '@1': the name must match [a-z0-9][a-z0-9._-]* (at most 128 "
	  "characters)" },
	{ "name: a\nversion: 1.0.0\nbase: base@01\n",
	  "r.yaml:3:7: base 'base@01': the range must be MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH "
	  "(decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: base@1.2.3.4\n",
	  "r.yaml:3:7: base 'base@1.2.3.4': the range must be MAJOR, MAJOR.MINOR or "
	  "MAJOR.MINOR.PATCH (decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: base@1.\n",
	  "r.yaml:3:7: base 'base@1.': the range must be MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH "
	  "(decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: base@2147483648\n",
	  "r.yaml:3:7: base 'base@2147483648': the range must be MAJOR, MAJOR.MINOR or "
	  "MAJOR.MINOR.PATCH (decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: base@\n",
	  "r.yaml:3:7: base 'base@': the range must be MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH "
	  "(decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: base@1@2\n",
	  "r.yaml:3:7: base 'base@1@2': the range must be MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH "
	  "(decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: base@1.x\n",
	  "r.yaml:3:7: base 'base@1.x': the range must be MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH "
	  "(decimal, no leading zeros, each below 2^31)" },
	{ "name: a\nversion: 1.0.0\nbase: [base@1]\n",
	  "r.yaml:3:7: 'base' must be a string, not a list" },
	/* an unknown run-as may name a base's account, never on scratch */
	{ "name: a\nversion: 1.0.0\nbase: scratch\naccounts: {run-as: app}\n",
	  "r.yaml:4:20: 'run-as' names no account: 'app' (use nonroot, root, a user from "
	  "'accounts', or UID[:GID])" },
	{ "name: a\nversion: 1.0.0\nbase: base@1\naccounts: {run-as: \"a:b\"}\n",
	  "r.yaml:4:20: 'run-as' names no account: 'a:b' (use nonroot, root, a user from "
	  "'accounts', or UID[:GID])" },
	{ "- a\n", "r.yaml:1:1: a recipe must be a mapping, not a list" },
	{ "", "r.yaml:1:1: recipe is empty" },
	{ "name: a\n---\nname: b\n", "r.yaml:2:1: a recipe is a single YAML document" },
	{ "name: a\nversion: 1.0.0\nconfig: {stop-signal: TERM}\n",
	  "r.yaml:3:23: 'stop-signal' must be a signal name such as SIGTERM, not 'TERM'" },
	{ "name: a\nversion: 1.0.0\nconfig: {env: {1X: y}}\n",
	  "r.yaml:3:16: '1X' is not a valid environment variable name" },
	{ "name: a\nversion: 1.0.0\npackages: [libc6]\n",
	  "r.yaml:3:11: 'packages' needs 'repositories' to take them from (for example "
	  "'repositories: [host]')" },
	{ "name: a\nversion: 1.0.0\nrepositories: [host]\npackages: [libc6, Foo]\n",
	  "r.yaml:4:19: 'Foo' is not a Debian package name (lowercase letters, digits, '+', '-', "
	  "'.'), write NAME, NAME=VERSION or NAME/SUITE" },
	{ "name: a\nversion: 1.0.0\nrepositories: [host]\npackages: [libc6=x1]\n",
	  "r.yaml:4:12: 'libc6=x1': the upstream version does not start with a digit" },
	{ "name: a\nversion: 1.0.0\nrepositories: [host]\npackages: [a1, b2,\n  a1]\n",
	  "r.yaml:5:3: package 'a1' is already listed at line 4" },
	{ "name: a\nversion: 1.0.0\nrepositories: [hots]\n",
	  "r.yaml:3:16: 'repositories[]' must be 'host' or a mapping with 'uri', 'suites', "
	  "'components' and 'keyring'" },
	{ "name: a\nversion: 1.0.0\nrepositories: [{uri: x, suites: [s]}]\n",
	  "r.yaml:3:16: 'repositories[]' needs a 'components'" },
	{ "name: a\nversion: 1.0.0\nrepositories: [{uri: x, suites: [], components: [main]}]\n",
	  "r.yaml:3:33: 'suites' needs at least one entry" },
	{ "name: a\nversion: 1.0.0\nrepositories: [{uri: x, suite: [s]}]\n",
	  "r.yaml:3:25: unknown key 'suite' in 'repositories' (did you mean 'suites'?)" },
	{ "name: a\nversion: 1.0.0\nexclude: [usr/share/doc]\n",
	  "r.yaml:3:11: 'exclude' entries are absolute path patterns like '/usr/share/doc/**', "
	  "not 'usr/share/doc'" },
	{ "name: a\nversion: 1.0.0\nassume-installed: [X]\n",
	  "r.yaml:3:20: 'X' is not a Debian package name" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct pl_recipe *r = NULL;
		struct pl_error *err = NULL;
		int rc = pl_recipe_parse("r.yaml", bads[i].yaml, strlen(bads[i].yaml), &r, &err);
		check_int(rc, ==, PL_EINVAL);
		check(r == NULL);
		check_str(pl_error_message(err), bads[i].message);
		pl_error_free(err);
		pl_recipe_free(r);
	}
}

static void test_nul_and_limits(void)
{
	static const char nul[] = "name: \"a\\0b\"\nversion: 1.0.0\n";
	struct pl_error *err = NULL;
	struct pl_recipe *r = NULL;
	check_int(pl_recipe_parse("n.yaml", nul, sizeof(nul) - 1, &r, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "n.yaml:1:7: NUL bytes are not allowed in a recipe");
	pl_error_free(err);
	err = NULL;

	char deep[200];
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	check_int(pl_recipe_parse("d.yaml", deep, n, &r, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "d.yaml:1:33: recipe is nested deeper than 32 levels");
	pl_error_free(err);
}

static void test_base(void)
{
	static const struct {
		const char *base, *want;
	} ok[] = {
		{ "scratch", "scratch" },
		{ "base@1", "base@1" },
		{ "base@1.4", "base@1.4" },
		{ "cc.x_y-z@0.0.2147483647", "cc.x_y-z@0.0.2147483647" },
		{ "9@10.20.30", "9@10.20.30" },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char yaml[256];
		int n = snprintf(yaml, sizeof(yaml), "name: d\nversion: 1.0.0\nbase: \"%s\"\n",
				 ok[i].base);
		struct pl_recipe *r = NULL;
		struct pl_error *err = NULL;
		check_int(pl_recipe_parse("d.yaml", yaml, (size_t)n, &r, &err), ==, 0);
		if (err)
			tap_diag(pl_error_message(err));
		pl_error_free(err);
		if (!r)
			continue;
		check_str(pl_recipe_base(r), ok[i].want);
		check(pl__recipe_has_base(r) == (i > 0));
		pl_recipe_free(r);
	}

	/* run-as naming an account only the base has waits for the base */
	static const char deferred[] = "name: d\nversion: 1.0.0\nbase: base@1\n"
				       "accounts: {run-as: app}\n";
	struct pl_recipe *r = NULL;
	check_int(pl_recipe_parse("d.yaml", deferred, sizeof(deferred) - 1, &r, NULL), ==, 0);
	if (r) {
		check(r->run_as_set);
		check(r->run_as_deferred);
		check_int(r->run_as_pos.line, ==, 4);
		check_int(r->run_as_pos.col, ==, 20);
		pl_recipe_free(r);
	}
	/* ...but the recipe's own and the built-in ones are resolved at once */
	static const char own[] = "name: d\nversion: 1.0.0\nbase: base@1\n"
				  "accounts: {users: [{name: app, uid: 7, gid: 8}], run-as: app}\n";
	r = NULL;
	check_int(pl_recipe_parse("d.yaml", own, sizeof(own) - 1, &r, NULL), ==, 0);
	if (r) {
		check(!r->run_as_deferred);
		check_int(r->run_uid, ==, 7);
		check_int(r->run_gid, ==, 8);
		pl_recipe_free(r);
	}
	static const char none[] = "name: d\nversion: 1.0.0\nbase: base@1\n";
	r = NULL;
	check_int(pl_recipe_parse("d.yaml", none, sizeof(none) - 1, &r, NULL), ==, 0);
	if (r) {
		check(!r->run_as_set);
		check_int(r->run_uid, ==, 65532);
		pl_recipe_free(r);
	}
}

/* The recipe's digest is that of its bytes, whatever they parse to. */
static void test_digest(void)
{
	static const char a[] = "name: d\nversion: 1.0.0\n";
	static const char b[] = "name: d\nversion: 1.0.0\n# a comment\n";
	struct pl_recipe *ra = NULL, *rb = NULL;
	check_int(pl_recipe_parse("a.yaml", a, sizeof(a) - 1, &ra, NULL), ==, 0);
	check_int(pl_recipe_parse("b.yaml", b, sizeof(b) - 1, &rb, NULL), ==, 0);
	if (ra && rb) {
		char hex[2 * PL_SHA256_LEN + 1];
		pl__hex(ra->digest, PL_SHA256_LEN, hex);
		/* printf 'name: d\nversion: 1.0.0\n' | sha256sum */
		check_str(hex, "d33676b153330e078cc189db7dfb80ca632a8b5a58f5afd8f166e238c6d0adb7");
		check(memcmp(ra->digest, rb->digest, PL_SHA256_LEN) != 0);
	}
	pl_recipe_free(ra);
	pl_recipe_free(rb);
}

int main(void)
{
	test_good();
	test_defaults();
	test_base();
	test_digest();
	test_bad();
	test_nul_and_limits();
	return tap_done();
}
