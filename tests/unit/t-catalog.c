/* t-catalog.c - versions and ranges, object checks, history replay errors. */
#include <string.h>

#include "catalog.h"
#include "tap.h"

static bool semver(const char *s, bool full, uint32_t a, uint32_t b, uint32_t c, int n)
{
	struct pl__semver v;
	return pl__semver_parse(s, strlen(s), full, &v) && v.n == n && v.v[0] == a && v.v[1] == b &&
	       v.v[2] == c;
}

static bool bad(const char *s, bool full)
{
	struct pl__semver v;
	return !pl__semver_parse(s, strlen(s), full, &v);
}

static int cmp(const char *a, const char *b)
{
	struct pl__semver va, vb;
	pl__semver_parse(a, strlen(a), false, &va);
	pl__semver_parse(b, strlen(b), false, &vb);
	return pl__semver_cmp(&va, &vb);
}

static void test_semver(void)
{
	check(semver("1.4.2", true, 1, 4, 2, 3));
	check(semver("0.0.0", true, 0, 0, 0, 3));
	check(semver("1", false, 1, 0, 0, 1));
	check(semver("1.4", false, 1, 4, 0, 2));
	check(semver("2147483647.0.10", true, 2147483647u, 0, 10, 3));
	check(bad("1.4", true));
	check(bad("", false));
	check(bad("01.0.0", true));
	check(bad("1.00.0", true));
	check(bad("1.0.0.0", false));
	check(bad("1.0.", false));
	check(bad(".1", false));
	check(bad("1..0", false));
	check(bad("v1.0.0", true));
	check(bad("1.0.0-rc1", true));
	check(bad("2147483648.0.0", true));
	check(bad("99999999999999999999.0.0", true));
	check(bad("1.0.0 ", true));
	check_int(cmp("1.10.0", "1.9.9"), ==, 1);
	check_int(cmp("1.0.0", "1.0.0"), ==, 0);
	check_int(cmp("0.9.0", "1.0.0"), ==, -1);
	check_int(cmp("1.0.10", "1.0.9"), ==, 1);
}

static int object_error(const char *text, char *msg, size_t n)
{
	struct pl_error *err = NULL;
	int rc = pl__catalog_object_check("base", text, strlen(text), &err);
	snprintf(msg, n, "%s", err ? pl_error_message(err) : "");
	pl_error_free(err);
	return rc;
}

#define ENTRY(v, extra)                                                                            \
	"{\"version\":\"" v "\",\"digest\":\"sha256:"                                              \
	"0000000000000000000000000000000000000000000000000000000000000000\",\"status\":"           \
	"\"approved\",\"statusTime\":1,\"published\":1,\"signer\":\"sha256:"                       \
	"1111111111111111111111111111111111111111111111111111111111111111\",\"publisher\":"        \
	"\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","             \
	"\"layout\":\"/srv/base\",\"tag\":\"" v "\"" extra "}"

static void test_objects(void)
{
	char msg[512];
	check_int(object_error("{\"name\":\"base\",\"versions\":[" ENTRY("1.0.0", "") "," ENTRY(
				   "1.10.0", "") "]}",
			       msg, sizeof(msg)),
		  ==, 0);
	check_int(object_error("{\"name\":\"other\",\"versions\":[" ENTRY("1.0.0", "") "]}", msg,
			       sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "object is not base 'base' with a list of versions");
	check_int(object_error("{\"name\":\"base\",\"versions\":[" ENTRY("1.10.0", "") "," ENTRY(
				   "1.9.0", "") "]}",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "versions of 'base' are not sorted and unique at '1.9.0'");
	check_int(object_error("{\"name\":\"base\",\"versions\":[" ENTRY("1.0.0", ",\"x\":1") "]}",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "entry 'base@1.0.0': unknown key 'x'");
	check_int(object_error("{\"name\":\"base\",\"versions\":[" ENTRY(
				   "1.0.0", ",\"supersededBy\":\"1.0.1\"") "]}",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check(strstr(msg, "'supersededBy' must name a version exactly when") != NULL);
	check_int(object_error("{\"name\":\"base\",\"versions\":[" ENTRY("1.0", "") "]}", msg,
			       sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "entry 'base@1.0': version is not MAJOR.MINOR.PATCH");
	check_int(object_error("{\"name\":\"base\",\"versions\":[]}", msg, sizeof(msg)), ==,
		  PL_EINVAL);
	check_int(object_error("{\"name\":\"base\",\"name\":\"base\"}", msg, sizeof(msg)), ==,
		  PL_EINVAL);
}

static int replay_error(const char *text, char *msg, size_t n)
{
	struct pl_error *err = NULL;
	int rc = pl__catalog_replay_text(text, strlen(text), false, &err);
	snprintf(msg, n, "%s", err ? pl_error_message(err) : "");
	pl_error_free(err);
	return rc;
}

static void test_replay(void)
{
	char msg[512];
	check_int(replay_error("", msg, sizeof(msg)), ==, 0);
	check_int(replay_error("{\"seq\":2,\"prev\":null}\n", msg, sizeof(msg)), ==, PL_EPOLICY);
	check_str(msg, "history record 1 does not follow record 0 (the history was changed)");
	check_int(replay_error("{\"seq\":1,\"prev\":null}", msg, sizeof(msg)), ==, PL_EINVAL);
	check_str(msg, "history record 1 is not a whole line");
	check_int(replay_error("{\"prev\": null, \"seq\": 1}\n", msg, sizeof(msg)), ==, PL_EINVAL);
	check_str(msg, "history record 1 is not canonical JSON");
#define KEY "\"key\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\""
	check_int(replay_error("{\"entry\":{}," KEY
			       ",\"name\":\"b\",\"op\":\"publish\",\"prev\":null,"
			       "\"seq\":1,\"sig\":\"x\",\"time\":0}\n",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "history record 1: the first change must be 'init'");
	/* an init record needs its nonce (what makes each catalog's id its own) */
	check_int(replay_error("{" KEY ",\"nonce\":\"zz\",\"op\":\"init\",\"prev\":null,"
			       "\"publicKey\":\"x\",\"seq\":1,\"sig\":\"x\",\"time\":0}\n",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "history record 1: 'init' must come first, with a key and a nonce");
	/* each kind of record has its own fields, and a signature */
	check_int(replay_error("{" KEY ",\"nonce\":\"zz\",\"op\":\"init\",\"prev\":null,"
			       "\"publicKey\":\"x\",\"seq\":1,\"time\":0}\n",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "history record 1: record: 'sig' is missing");
	check_int(replay_error("{\"entry\":{}," KEY
			       ",\"name\":\"b\",\"op\":\"publish\",\"prev\":null,"
			       "\"reason\":\"r\",\"seq\":1,\"sig\":\"x\",\"time\":0}\n",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "history record 1: record: unknown key 'reason'");
	check_int(replay_error("{" KEY ",\"op\":\"grant\",\"prev\":null,\"seq\":1,\"sig\":\"x\","
			       "\"time\":0}\n",
			       msg, sizeof(msg)),
		  ==, PL_EINVAL);
	check_str(msg, "history record 1: unknown operation 'grant'");
	/* with signatures checked, an unsigned init is refused first */
	struct pl_error *err = NULL;
	const char *rec = "{" KEY ",\"nonce\":\"zz\",\"op\":\"init\",\"prev\":null,"
			  "\"publicKey\":\"x\",\"seq\":1,\"sig\":\"x\",\"time\":0}\n";
	check_int(pl__catalog_replay_text(rec, strlen(rec), true, &err), ==, PL_EINVAL);
	check(err &&
	      !strncmp(pl_error_message(err), "history record 1: key 'public key' is not", 41));
	pl_error_free(err);
#undef KEY
}

int main(void)
{
	test_semver();
	test_objects();
	test_replay();
	return tap_done();
}
