/* t-regref.c - registry references: the forms in use, and what is refused and why. */
#include <stdlib.h>
#include <string.h>

#include "regref.h"
#include "tap.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check_opt(const char *got, const char *want)
{
	if (want)
		check_str(got, want);
	else
		check(got == NULL);
}

static void ok(const char *s, const char *registry, const char *repo, const char *tag,
	       const char *digest)
{
	cleanup_regref struct pl__regref r = { 0 };
	struct pl_error *err = NULL;
	int rc = pl__regref_parse(s, &r, &err);
	if (rc != 0)
		printf("# '%s': %s\n", s, pl_error_message(err));
	check_int(rc, ==, 0);
	check(err == NULL);
	check_opt(r.registry, registry);
	check_opt(r.repo, repo);
	check_opt(r.tag, tag);
	check_opt(r.digest, digest);
	pl_error_free(err);
}

/* `s` is refused with exactly `why` after "invalid registry reference '<s>': ". */
static void bad(const char *s, const char *why)
{
	struct pl__regref r = { (char *)"x", (char *)"y", NULL, NULL };
	struct pl_error *err = NULL;
	int rc = pl__regref_parse(s, &r, &err);
	check_int(rc, ==, PL_EINVAL);
	check_int(pl_error_code(err), ==, PL_EINVAL);
	check(r.registry == NULL && r.repo == NULL && r.tag == NULL && r.digest == NULL);
	char want[2048];
	snprintf(want, sizeof(want), "invalid registry reference '%s': %s", s, why);
	check_str(err ? pl_error_message(err) : NULL, want);
	pl_error_free(err);
}

static void test_forms(void)
{
	ok("127.0.0.1:5000/a/b:1", "127.0.0.1:5000", "a/b", "1", NULL);
	ok("localhost/x@sha256:" D64, "localhost", "x", NULL, "sha256:" D64);
	ok("localhost:5000/x", "localhost:5000", "x", NULL, NULL);
	ok("[::1]:5000/x:y", "[::1]:5000", "x", "y", NULL);
	ok("[::1]/x", "[::1]", "x", NULL, NULL);
	ok("[2001:DB8::1]:443/x", "[2001:db8::1]:443", "x", NULL, NULL);
	ok("registry.example/debian:12", "registry.example", "debian", "12", NULL);
	ok("ghcr.io/org/team/image:v1.2.3-rc_1", "ghcr.io", "org/team/image", "v1.2.3-rc_1", NULL);
	ok("Registry.Example:443/debian", "registry.example:443", "debian", NULL, NULL);
	ok("host.example/repo:tag@sha256:" D64, "host.example", "repo", "tag", "sha256:" D64);
	ok("quay.io/a.b/c_d/e__f/g---h/i-j", "quay.io", "a.b/c_d/e__f/g---h/i-j", NULL, NULL);
	ok("my-registry.example.com:65535/x:_", "my-registry.example.com:65535", "x", "_", NULL);
	ok("r.example:1/x:A", "r.example:1", "x", "A", NULL);
	ok("r.example/0", "r.example", "0", NULL, NULL);
}

static void test_limits(void)
{
	/* "r.example/" is 10: a repository of 245 makes a name of exactly 255 */
	char name[400];
	memcpy(name, "r.example/", 10);
	memset(name + 10, 'a', 245);
	name[255] = '\0';
	ok(name, "r.example", name + 10, NULL, NULL);
	name[255] = 'a';
	name[256] = '\0';
	bad(name, "the name (registry and repository) is longer than 255 characters");

	char tag[200];
	memcpy(tag, "r.example/x:", 12);
	memset(tag + 12, 't', 128);
	tag[140] = '\0';
	ok(tag, "r.example", "x", tag + 12, NULL);
	tag[140] = 't';
	tag[141] = '\0';
	bad(tag, "the tag is longer than 128 characters");

	char label[100] = "a";
	memset(label + 1, 'b', 62);
	snprintf(label + 63, sizeof(label) - 63, ".example/x");
	char host[80];
	snprintf(host, sizeof(host), "%.*s", (int)(strchr(label, '/') - label), label);
	ok(label, host, "x", NULL, NULL);
	char label64[100] = "a";
	memset(label64 + 1, 'b', 63);
	snprintf(label64 + 64, sizeof(label64) - 64, ".example/x");
	bad(label64, "the registry host is not a DNS name (labels of letters, digits and inner "
		     "'-', joined by '.')");

	char huge[PL__REGREF_MAX + 2];
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	struct pl__regref r = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__regref_parse(huge, &r, &err), ==, PL_EINVAL);
	const char *m = err ? pl_error_message(err) : "";
	check(strstr(m, "': longer than 1024 bytes") != NULL);
	check(strstr(m, "aaa...': ") != NULL); /* shown truncated */
	check(strlen(m) < 300);
	pl_error_free(err);
}

static void test_refused(void)
{
	const char *port = "the registry port is not a number from 1 to 65535";
	bad("r.example:0/x", port);
	bad("r.example:65536/x", port);
	bad("r.example:/x", port);
	bad("r.example:080/x", port);
	bad("r.example:8o/x", port);
	bad("[::1]:0/x", port);
	bad("[::1]:99999/x", port);

	const char *need = "a registry host is needed, e.g. ";
	char want[256];
	snprintf(want, sizeof(want), "%s'registry.example/debian:12'", need);
	bad("debian:12", want);
	snprintf(want, sizeof(want), "%s'registry.example/library/debian'", need);
	bad("library/debian", want);
	snprintf(want, sizeof(want), "%s'registry.example/REPO:TAG'", need);
	bad("Debian:12", want);
	bad("", want);
	bad("/x", want);
	snprintf(want, sizeof(want), "%s'registry.example/myhost/x'", need);
	bad("myhost/x", want);

	bad("r.example/Debian", "repository names are lowercase");
	bad("r.example/a/B", "repository names are lowercase");
	bad("r.example/", "the repository name is empty");
	bad("r.example/:tag", "the repository name is empty");
	bad("r.example/a//b", "the repository name has an empty path component");
	bad("r.example/a/", "the repository name has an empty path component");
	const char *comp = "a repository path component is lowercase letters and digits, separated "
			   "by one '.', one or two '_' or any number of '-'";
	bad("r.example/a..b", comp);
	bad("r.example/a___b", comp);
	bad("r.example/-a", comp);
	bad("r.example/a-", comp);
	bad("r.example/a._b", comp);
	bad("r.example/a b", comp);
	bad("r.example/caf\xc3\xa9", comp);

	bad("r.example/x:", "the tag after ':' is empty");
	bad("r.example/x:.a", "the tag does not start with a letter, a digit or '_'");
	bad("r.example/x:-a", "the tag does not start with a letter, a digit or '_'");
	bad("r.example/x:a:b",
	    "the tag holds a character other than letters, digits, '_', '.' and '-'");

	bad("r.example/x@sha512:" D64, "only sha256 digests are supported");
	bad("r.example/x@" D64, "the digest is not 'sha256:' and 64 hex digits");
	bad("r.example/x@sha256:" D64 "0",
	    "the digest is not 'sha256:' and 64 lowercase hex digits");
	bad("r.example/x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	    "the digest is not 'sha256:' and 64 lowercase hex digits");
	bad("r.example/x@sha256:" D64 "@sha256:" D64,
	    "the digest is not 'sha256:' and 64 lowercase hex digits");
	bad("r.example/x@", "the digest is not 'sha256:' and 64 hex digits");

	const char *dns = "the registry host is not a DNS name (labels of letters, digits and "
			  "inner '-', joined by '.')";
	bad("-r.example/x", dns);
	bad("r-.example/x", dns);
	bad("r..example/x", dns);
	bad("r.example./x", dns);
	bad(".example/x", dns);
	bad("r_x.example/x", dns);
	bad(":5000/x", "the registry host is empty");
	bad("1.2.3/x", "the registry host is not an IPv4 address");
	bad("256.1.1.1/x", "the registry host is not an IPv4 address");
	bad("01.2.3.4/x", "the registry host is not an IPv4 address");
	bad("[::1/x", "the registry's IPv6 address has no closing ']'");
	bad("[::g]/x", "the registry host is not an IPv6 address");
	bad("[fe80::1%eth0]/x", "the registry host is not an IPv6 address");
	bad("[]:5000/x", "the registry host is not an IPv6 address");
	bad("[::1]5000/x",
	    "the registry's IPv6 address is followed by something other than ':PORT'");
	bad("::1:5000/x", "the registry host is empty");
}

static void test_shown_printable(void)
{
	struct pl__regref r = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__regref_parse("r.example/x\n\x1b[31m", &r, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL,
		  "invalid registry reference 'r.example/x\\x0a\\x1b[31m': a repository path "
		  "component is lowercase letters and digits, separated by one '.', one or two "
		  "'_' or any number of '-'");
	pl_error_free(err);
}

static void test_repo(void)
{
	cleanup_regref struct pl__regref r = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__regrepo_parse("localhost:5000/a/b", &r, &err), ==, 0);
	check_str(r.registry, "localhost:5000");
	check_str(r.repo, "a/b");
	check(r.tag == NULL && r.digest == NULL);

	const char *const refused[] = { "localhost:5000/a/b:1", "localhost/a@sha256:" D64 };
	for (size_t i = 0; i < 2; i++) {
		struct pl__regref t = { 0 };
		check_int(pl__regrepo_parse(refused[i], &t, &err), ==, PL_EINVAL);
		char want[256];
		snprintf(want, sizeof(want),
			 "invalid registry repository '%s': a repository name has no tag or digest",
			 refused[i]);
		check_str(err ? pl_error_message(err) : NULL, want);
		check(t.registry == NULL && t.repo == NULL);
		pl_error_free(err);
		err = NULL;
	}
	pl__regref_release(&r);
	check_int(pl__regrepo_parse("debian", &r, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL,
		  "invalid registry repository 'debian': a registry host is needed, e.g. "
		  "'registry.example/debian'");
	pl_error_free(err);
	err = NULL;
	check_int(pl__regrepo_parse("debian:12", &r, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL,
		  "invalid registry repository 'debian:12': a registry host is needed, e.g. "
		  "'registry.example/REPO'");
	pl_error_free(err);

	pl__regref_release(NULL);
	struct pl__regref empty = { 0 };
	pl__regref_release(&empty);
	check(empty.registry == NULL);
}

int main(void)
{
	test_forms();
	test_limits();
	test_refused();
	test_shown_printable();
	test_repo();
	return tap_done();
}
