/* t-regauth.c - registry credentials from auth files, and WWW-Authenticate challenges. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "regauth.h"
#include "tap.h"

static char tmp[512];

/* Write `json` (with ' for ") to tmp/name; returns the path (static, one of 8). */
static const char *put(const char *name, const char *json)
{
	static char paths[8][600];
	static int next;
	char *path = paths[next++ % 8];
	snprintf(path, sizeof(paths[0]), "%s/%s", tmp, name);
	char *text = strdup(json);
	if (!text) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	check(fd >= 0 && pl__write_all(fd, text, strlen(text)) == 0);
	if (fd >= 0)
		close(fd);
	free(text);
	return path;
}

/* Look registry/repo up in the files; 0, 1 or the code, with *c and *note. */
static int lookup(const char *f1, const char *f2, const char *registry, const char *repo,
		  struct pl__cred *c, const char **note, char *msg, size_t msg_size)
{
	const char *files[] = { f1, f2, NULL };
	struct pl_error *err = NULL;
	int rc = pl__regauth_lookup(files, registry, repo, c, note, &err);
	snprintf(msg, msg_size, "%s", err ? pl_error_message(err) : "");
	check((rc < 0) == (err != NULL));
	pl_error_free(err);
	return rc;
}

/* registry/repo is found in the files as user:secret from `source`. */
static void found(const char *f1, const char *f2, const char *registry, const char *repo,
		  const char *user, const char *secret, const char *source)
{
	cleanup_cred struct pl__cred c = { 0 };
	char msg[2048];
	const char *note = "unset";
	int rc = lookup(f1, f2, registry, repo, &c, &note, msg, sizeof(msg));
	if (rc != 0)
		printf("# %s/%s: rc %d: %s\n", registry, repo ? repo : "(null)", rc, msg);
	check_int(rc, ==, 0);
	if (user)
		check_str(c.user, user);
	else
		check(c.user == NULL);
	check_str(c.secret, secret);
	check_int(c.identity_token, ==, user == NULL);
	check_str(c.source, source);
	check(note == NULL);
}

static void not_found(const char *f1, const char *f2, const char *registry, const char *repo,
		      bool helper)
{
	struct pl__cred c = { (char *)"x", NULL, true, NULL };
	char msg[2048];
	const char *note = "unset";
	check_int(lookup(f1, f2, registry, repo, &c, &note, msg, sizeof(msg)), ==, 1);
	check(c.user == NULL && c.secret == NULL && c.source == NULL && !c.identity_token);
	if (helper)
		check_str(note, "plinth does not run credential helpers ('credHelpers', "
				"'credsStore'): store the registry's credentials in an auth file");
	else
		check(note == NULL);
}

/* Looking anything up in `path` fails with exactly "auth file 'path': why". */
static void fails(const char *path, const char *why, const char *secret)
{
	struct pl__cred c = { 0 };
	char msg[2048], want[2048];
	check_int(lookup(path, NULL, "r.example", "x", &c, NULL, msg, sizeof(msg)), ==, PL_EINVAL);
	snprintf(want, sizeof(want), "auth file '%s': %s", path, why);
	check_str(msg, want);
	if (secret && strstr(msg, secret)) {
		check(!"the message shows the secret");
		printf("# %s\n", msg);
	}
	check(c.user == NULL && c.secret == NULL);
}

static void test_keys(void)
{
	const char *f = put("specific.json", "{'auths': {"
					     "'r.example': {'auth': 'dTE6cDE='},"
					     "'r.example/ns/repo': {'auth': 'dTM6cDM='},"
					     "'r.example/ns': {'auth': 'dTI6cDI='},"
					     "'r.example/nsx': {'auth': 'dTQ6cDQ='},"
					     "'other.example': {'auth': 'bHU6bHA='}}}");
	found(f, NULL, "r.example", "ns/repo", "u3", "p3", f);
	found(f, NULL, "r.example", "ns/repo/sub", "u3", "p3", f);
	found(f, NULL, "r.example", "ns/other", "u2", "p2", f);
	found(f, NULL, "r.example", "nsx/a", "u4", "p4", f);
	found(f, NULL, "r.example", "nsxy", "u1", "p1", f);
	found(f, NULL, "r.example", "ns", "u2", "p2", f);
	found(f, NULL, "r.example", NULL, "u1", "p1", f);
	not_found(f, NULL, "r.example:5000", "ns/repo", false);
	not_found(f, NULL, "example", "x", false);
	not_found(f, NULL, "r.example.org", "x", false);

	const char *legacy =
	    put("config.json", "{'auths': {"
			       "'https://legacy.example/v1/': {'auth': 'bHU6bHA='},"
			       "'http://port.example:5000': {'auth': 'dTE6cDE='},"
			       "'https://index.docker.io/v1/': {'auth': 'aHViOnB3'},"
			       "'https://both.example/v1/': {'auth': 'bGVnYWN5OnB3'},"
			       "'both.example': {'auth': 'cGxhaW46cHc='},"
			       "'Case.Example': {'auth': 'dTI6cDI='}},"
			       "'psFormat': 'table', 'HttpHeaders': {'X': 'y'}}");
	found(legacy, NULL, "legacy.example", "a/b", "lu", "lp", legacy);
	found(legacy, NULL, "port.example:5000", "a", "u1", "p1", legacy);
	not_found(legacy, NULL, "port.example", "a", false);
	/* the path of a legacy key is the API's, not a namespace */
	not_found(legacy, NULL, "legacy.example:443", "v1", false);
	found(legacy, NULL, "registry-1.docker.io", "library/debian", "hub", "pw", legacy);
	found(legacy, NULL, "docker.io", "library/debian", "hub", "pw", legacy);
	found(legacy, NULL, "both.example", "x", "plain", "pw", legacy);
	found(legacy, NULL, "case.example", "x", "u2", "p2", legacy);
}

static void test_entries(void)
{
	const char *f = put("entries.json",
			    "{'auths': {"
			    "'token.example': {'auth': 'PHRva2VuPjo=', 'identitytoken': 'tok-1'},"
			    "'up.example': {'username': 'docker', 'password': 'pa:ss'},"
			    "'colon.example': {'auth': 'dXNlcjpwYTpzcw=='},"
			    "'empty.example/ns': {},"
			    "'empty.example': {'auth': 'dTE6cDE=', 'email': 'x@example'},"
			    "'blank.example': {'auth': '', 'identitytoken': ''}}}");
	found(f, NULL, "token.example", "x", NULL, "tok-1", f);
	found(f, NULL, "up.example", "x", "docker", "pa:ss", f);
	found(f, NULL, "colon.example", "x", "user", "pa:ss", f);
	/* docker's empty entries are no entries: the registry-wide one applies */
	found(f, NULL, "empty.example", "ns/x", "u1", "p1", f);
	not_found(f, NULL, "blank.example", "x", false);

	cleanup_cred struct pl__cred c = { 0 };
	char msg[2048];
	check_int(lookup(f, NULL, "up.example", "x", &c, NULL, msg, sizeof(msg)), ==, 0);
	struct pl_error *err = NULL;
	char *b = pl__basic_auth(&c, &err);
	check_str(b, "ZG9ja2VyOnBhOnNz"); /* docker:pa:ss */
	free(b);
	pl__cred_release(&c);
	check(c.user == NULL && c.secret == NULL && c.source == NULL);

	check_int(lookup(f, NULL, "token.example", "x", &c, NULL, msg, sizeof(msg)), ==, 0);
	check(pl__basic_auth(&c, &err) == NULL);
	char want[2048];
	snprintf(want, sizeof(want),
		 "the credentials from '%s' are an identity token, not a user and a password", f);
	check_str(err ? pl_error_message(err) : NULL, want);
	pl_error_free(err);
	err = NULL;

	struct pl__cred odd = { (char *)"a:b", (char *)"s", false, (char *)"f.json" };
	check(pl__basic_auth(&odd, &err) == NULL);
	check_str(err ? pl_error_message(err) : NULL,
		  "the user name from 'f.json' holds ':', which Basic authentication cannot carry");
	pl_error_free(err);
	err = NULL;
	struct pl__cred empty = { (char *)"", (char *)"", false, (char *)"f.json" };
	b = pl__basic_auth(&empty, &err);
	check_str(b, "Og=="); /* ":" */
	free(b);
	pl__cred_release(NULL);
}

static void test_files(void)
{
	const char *one = put("one.json", "{'auths': {'r.example': {'auth': 'Zmlyc3Q6b25l'}}}");
	const char *two = put("two.json", "{'auths': {'r.example/x': {'auth': 'c2Vjb25kOnR3bw=='},"
					  "'s.example': {'auth': 'c2Vjb25kOnR3bw=='}}}");
	char missing[600];
	snprintf(missing, sizeof(missing), "%s/no/such/auth.json", tmp);
	found(missing, one, "r.example", "x", "first", "one", one);
	found(one, two, "r.example", "x", "first", "one", one); /* first file wins */
	found(two, one, "r.example", "x", "second", "two", two);
	found(one, two, "s.example", "x", "second", "two", two);
	not_found(missing, NULL, "r.example", "x", false);
	not_found(NULL, NULL, "r.example", "x", false);

	const char *helpers = put("helpers.json", "{'auths': {'r.example': {}},"
						  "'credHelpers': {'gcr.example': 'gcloud'}}");
	const char *store = put("store.json", "{'auths': {'https://index.docker.io/v1/': {}},"
					      "'credsStore': 'desktop'}");
	not_found(helpers, NULL, "gcr.example", "x", true);
	not_found(helpers, NULL, "r.example", "x", false);
	not_found(store, NULL, "docker.io", "library/x", true);
	not_found(store, NULL, "r.example", "x", true);
	/* a helper plinth cannot run does not hide credentials in a later file */
	found(store, one, "r.example", "x", "first", "one", one);
	found(helpers, one, "r.example", "x", "first", "one", one);

	/* a directory is no auth file, and is not skipped as missing */
	struct pl__cred c = { 0 };
	char msg[2048], want[2048];
	check_int(lookup(tmp, one, "r.example", "x", &c, NULL, msg, sizeof(msg)), ==, PL_EINVAL);
	snprintf(want, sizeof(want), "auth file '%s' is not a regular file", tmp);
	check_str(msg, want);
}

static void test_errors(void)
{
	fails(put("trunc.json", "{'auths': {'r.example': {'auth': 'c2VjcmV0OnB3'"),
	      "line 1, column 47: '}' expected", "c2VjcmV0");
	fails(put("lines.json", "{\n  'auths': {\n    'r.example': {'auth': c2VjcmV0OnB3}\n}}"),
	      "line 3, column 27: invalid token", "c2VjcmV0");
	fails(put("dup.json", "{'auths': {'r.example': {}, 'r.example': {}}}"),
	      "line 1, column 39: duplicate object key", NULL);
	fails(put("array.json", "['auths']"), "not a JSON object", NULL);
	fails(put("auths.json", "{'auths': []}"), "'auths' is not an object", NULL);
	fails(put("empty.json", ""), "line 1, column 0: '[' or '{' expected", NULL);

	fails(put("b64.json", "{'auths': {'r.example': {'auth': 'c2VjcmV0!!'}}}"),
	      "entry 'r.example': 'auth' is not base64", "c2VjcmV0");
	fails(put("pad.json", "{'auths': {'r.example': {'auth': 'dTE6cDE'}}}"),
	      "entry 'r.example': 'auth' is not base64", "dTE6cDE");
	fails(put("pad2.json", "{'auths': {'r.example': {'auth': 'dT=6cDE='}}}"),
	      "entry 'r.example': 'auth' is not base64", NULL);
	fails(put("nl.json", "{'auths': {'r.example': {'auth': 'dTE6\\ncDE='}}}"),
	      "entry 'r.example': 'auth' is not base64", NULL);
	fails(put("colon.json", "{'auths': {'r.example': {'auth': 'bm9jb2xvbg=='}}}"),
	      "entry 'r.example': 'auth' does not decode to 'user:password'", "nocolon");
	fails(put("nul.json", "{'auths': {'r.example': {'auth': 'dToAcA=='}}}"),
	      "entry 'r.example': 'auth' decodes to text holding a NUL byte", NULL);
	fails(put("type.json", "{'auths': {'r.example': {'auth': 5}}}"),
	      "entry 'r.example': 'auth' is not a string", NULL);
	fails(put("entry.json", "{'auths': {'r.example': 'dTE6cDE='}}"),
	      "entry 'r.example': not an object", "dTE6cDE");
	fails(put("user.json", "{'auths': {'r.example': {'username': 'u'}}}"),
	      "entry 'r.example': 'username' without 'password'", NULL);
	fails(put("pass.json", "{'auths': {'r.example': {'password': 'hunter2'}}}"),
	      "entry 'r.example': 'password' without 'username'", "hunter2");
	fails(put("ucolon.json", "{'auths': {'r.example': {'username': 'a:b', 'password': 'p'}}}"),
	      "entry 'r.example': 'username' holds ':', which Basic authentication cannot carry",
	      NULL);
	fails(put("token.json", "{'auths': {'r.example/x': {'identitytoken': ['t']}}}"),
	      "entry 'r.example/x': 'identitytoken' is not a string", NULL);
	/* the key is shown printable */
	fails(put("key.json", "{'auths': {'https://r.example/\\u001b[0m': {'auth': '!'}}}"),
	      "entry 'https://r.example/\\x1b[0m': 'auth' is not base64", NULL);

	/* a broken entry for another registry is not this lookup's business */
	const char *other = put("other.json", "{'auths': {'s.example': {'auth': '!'},"
					      "'r.example': {'auth': 'dTE6cDE='}},"
					      "'credHelpers': 7, 'credsStore': {}}");
	found(other, NULL, "r.example", "x", "u1", "p1", other);

	char big[600];
	snprintf(big, sizeof(big), "%s/big.json", tmp);
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	check(fd >= 0 && ftruncate(fd, (off_t)PL__REGAUTH_FILE_MAX + 1) == 0);
	if (fd >= 0)
		close(fd);
	struct pl__cred c = { 0 };
	char msg[2048], want[2048];
	check_int(lookup(big, NULL, "r.example", "x", &c, NULL, msg, sizeof(msg)), ==, PL_ELIMIT);
	snprintf(want, sizeof(want), "auth file '%s' is larger than the limit of 1048576 bytes",
		 big);
	check_str(msg, want);
}

/* ---- challenges ---------------------------------------------------------- */

static void chal(const char *h, const char *scheme, const char *realm, const char *service,
		 const char *scope, const char *error)
{
	cleanup_challenge struct pl__challenge c = { 0 };
	struct pl_error *err = NULL;
	int rc = pl__challenge_parse(h, &c, &err);
	if (rc != 0)
		printf("# %s\n", pl_error_message(err));
	check_int(rc, ==, 0);
	pl_error_free(err);
	const char *want[] = { scheme, realm, service, scope, error };
	const char *got[] = { c.scheme, c.realm, c.service, c.scope, c.error };
	for (size_t i = 0; i < 5; i++)
		if (want[i])
			check_str(got[i], want[i]);
		else
			check(got[i] == NULL);
}

static void chal_bad_shown(const char *h, const char *shown, const char *why)
{
	struct pl__challenge c = { (char *)"x", NULL, NULL, NULL, NULL };
	struct pl_error *err = NULL;
	check_int(pl__challenge_parse(h, &c, &err), ==, PL_EINVAL);
	check(c.scheme == NULL);
	char want[2048];
	snprintf(want, sizeof(want), "invalid WWW-Authenticate header '%s': %s", shown, why);
	check_str(err ? pl_error_message(err) : NULL, want);
	pl_error_free(err);
}

static void chal_bad(const char *h, const char *why)
{
	chal_bad_shown(h, h, why);
}

static void test_challenges(void)
{
	/* Docker Hub's, as it sends it */
	chal("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	     "scope=\"repository:library/debian:pull\"",
	     "bearer", "https://auth.docker.io/token", "registry.docker.io",
	     "repository:library/debian:pull", NULL);
	chal("Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\",scope=\"repository:o/r:"
	     "pull\",error=\"insufficient_scope\"",
	     "bearer", "https://ghcr.io/token", "ghcr.io", "repository:o/r:pull",
	     "insufficient_scope");
	chal("Basic realm=\"Registry Realm\"", "basic", "Registry Realm", NULL, NULL, NULL);
	chal("Basic", "basic", NULL, NULL, NULL, NULL);
	chal("Basic realm=\"x\", Bearer realm=\"https://a/token\",service=\"s\","
	     "scope=\"repository:r:pull\"",
	     "bearer", "https://a/token", "s", "repository:r:pull", NULL);
	chal("Bearer realm=\"https://a/token\", Basic realm=\"x\"", "bearer", "https://a/token",
	     NULL, NULL, NULL);
	chal("Negotiate, NTLM, Basic realm=\"b\", charset=\"UTF-8\"", "basic", "b", NULL, NULL,
	     NULL);
	chal("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic "
	     "realm=\"simple\"",
	     "basic", "simple", NULL, NULL, NULL);
	chal("Basic dXNlcjpwYXNz, Bearer realm=\"r\"", "bearer", "r", NULL, NULL, NULL);
	chal("Bearer realm=\"https://a/t\\\"x\\\\y\",service=\"a\\,b\"", "bearer",
	     "https://a/t\"x\\y", "a,b", NULL, NULL);
	chal("Bearer realm=\"https://a/t\",service=registry.example,error=invalid_token", "bearer",
	     "https://a/t", "registry.example", NULL, "invalid_token");
	chal("BEARER REALM=\"https://a/t\", Service=\"s\", sCoPe=\"x\"", "bearer", "https://a/t",
	     "s", "x", NULL);
	chal("bAsIc ReAlM=r", "basic", "r", NULL, NULL, NULL);
	chal("  Bearer   realm = \"x\" ,, service=\"s\" , ", "bearer", "x", "s", NULL, NULL);
	chal("Bearer\trealm=\"x\"\t,\tservice=\"s\"", "bearer", "x", "s", NULL, NULL);
	chal("Bearer realm=\"\"", "bearer", "", NULL, NULL, NULL);
	chal("Bearer service=\"s\", Basic realm=\"b\"", "basic", "b", NULL, NULL, NULL);
	chal("Bearer realm=\"first\", Bearer realm=\"second\"", "bearer", "first", NULL, NULL,
	     NULL);
	chal("Bearer realm=\"r\",unknown=\"u\",Scope=\"s\"", "bearer", "r", NULL, "s", NULL);
	chal("Bearer realm=\"caf\xc3\xa9\"", "bearer", "caf\xc3\xa9", NULL, NULL, NULL);

	chal_bad("", "no Basic or Bearer challenge");
	chal_bad("  , ", "no Basic or Bearer challenge");
	chal_bad("NTLM", "no Basic or Bearer challenge");
	chal_bad("Newauth abc==", "no Basic or Bearer challenge");
	chal_bad("Bearer service=\"s\"", "the Bearer challenge has no realm");
	chal_bad("=", "an auth scheme is missing at offset 0");
	chal_bad("Bearer realm=\"x", "a quoted string is not closed at offset 13");
	chal_bad("Bearer realm=\"x\" service=\"y\"", "expected ',' after a parameter at offset 17");
	chal_bad("Bearer realm=\"x\", realm=\"y\"", "a parameter is given twice at offset 18");
	chal_bad("Bearer realm=\"x\\", "a quoted string has a bad escape at offset 16");
	chal_bad_shown("Bearer realm=\"a\x01z\"", "Bearer realm=\"a\\x01z\"",
		       "a quoted string holds a control character at offset 15");
	chal_bad("Bearer;realm=\"x\"", "the auth scheme is not followed by a space at offset 6");
	chal_bad("Bearer @", "expected parameters after the auth scheme at offset 7");
	chal_bad("Basic abc== def", "expected ',' after a token68 at offset 12");
	chal_bad("Bearer realm=\"x\", \"y\"", "an auth scheme is missing at offset 18");

	/* shown printable, and no longer than 200 bytes of it */
	struct pl__challenge c = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__challenge_parse("Bearer\nrealm=\"x\"", &c, &err), ==, PL_EINVAL);
	check_str(
	    err ? pl_error_message(err) : NULL,
	    "invalid WWW-Authenticate header 'Bearer\\x0arealm=\"x\"': the auth scheme is not "
	    "followed by a space at offset 6");
	pl_error_free(err);
	err = NULL;
	char *big = malloc(PL__CHALLENGE_MAX + 2);
	if (big) {
		memset(big, 'a', PL__CHALLENGE_MAX + 1);
		big[PL__CHALLENGE_MAX + 1] = '\0';
		check_int(pl__challenge_parse(big, &c, &err), ==, PL_EINVAL);
		const char *m = err ? pl_error_message(err) : "";
		check(strstr(m, "aaa...': longer than 16384 bytes") != NULL);
		check(strlen(m) < 300);
		pl_error_free(err);
		err = NULL;
		/* just under the limit: read, and found wanting */
		memcpy(big, "Bearer realm=\"", 14);
		big[PL__CHALLENGE_MAX - 1] = '"';
		big[PL__CHALLENGE_MAX] = '\0';
		cleanup_challenge struct pl__challenge ok = { 0 };
		check_int(pl__challenge_parse(big, &ok, &err), ==, 0);
		check_int(ok.realm ? strlen(ok.realm) : 0, ==, PL__CHALLENGE_MAX - 15);
		pl_error_free(err);
		free(big);
	}
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/t-regauth.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return tap_skip_all("cannot make a temporary directory");
	test_keys();
	test_entries();
	test_files();
	test_errors();
	test_challenges();
	pl__remove_tree(AT_FDCWD, tmp);
	return tap_done();
}
