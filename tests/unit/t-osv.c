/* t-osv.c - OSV feeds: loading, matching Debian packages, severities, os-release. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osv.h"
#include "tap.h"

static char top[4096];

/* JSON written with ' for ", which C strings make hard to read. */
static char *q(const char *s)
{
	char *t = strdup(s);
	if (!t) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	for (char *c = t; *c; c++)
		if (*c == '\'')
			*c = '"';
	return t;
}

static struct pl__osv *parse(const char *json)
{
	char *text = q(json);
	struct pl__osv *db = NULL;
	struct pl_error *err = NULL;
	if (pl__osv_parse("t.json", text, strlen(text), &db, &err) < 0) {
		printf("# parse: %s\n", pl_error_message(err));
		pl_error_free(err);
	}
	free(text);
	return db;
}

/* The message of parsing `json`, or "" when it parses (static). */
static const char *parse_error(const char *json)
{
	static char msg[1024];
	char *text = q(json);
	struct pl__osv *db = NULL;
	struct pl_error *err = NULL;
	int rc = pl__osv_parse("t.json", text, strlen(text), &db, &err);
	snprintf(msg, sizeof(msg), "%s", rc < 0 ? pl_error_message(err) : "");
	pl_error_free(err);
	pl__osv_free(db);
	free(text);
	return msg;
}

static struct pl__osv_match *match(const struct pl__osv *db, const char *eco,
				   const struct pl__osv_pkg *p, size_t np, size_t *n)
{
	struct pl__osv_match *m = NULL;
	struct pl_error *err = NULL;
	*n = 0;
	if (!db || pl__osv_match(db, eco, p, np, &m, n, &err) < 0) {
		printf("# match: %s\n", err ? pl_error_message(err) : "no feed");
		pl_error_free(err);
		*n = (size_t)-1;
	}
	return m;
}

/*
 * Whether one record whose Debian:12 entry for source package 'src' is
 * `entry` (JSON after the package, ' for ") affects src at `version`: 1 or
 * 0, -1 on error; the fixed version it reports goes to fixed[] ("-" for
 * none).
 */
static char fixed[256];
static int affects(const char *entry, const char *version)
{
	char *json = NULL;
	if (asprintf(
		&json,
		"{'id':'T-1','affected':[{'package':{'ecosystem':'Debian:12','name':'src'},%s}]}",
		entry) < 0)
		return -1;
	struct pl__osv *db = parse(json);
	free(json);
	struct pl__osv_pkg p = { "bin", version, "amd64", "src" };
	size_t n;
	struct pl__osv_match *m = match(db, "Debian:12", &p, 1, &n);
	int rc = n == (size_t)-1 ? -1 : (int)n;
	snprintf(fixed, sizeof(fixed), "%s", n == 1 && m[0].fixed ? m[0].fixed : "-");
	pl__osv_matches_free(m, n == (size_t)-1 ? 0 : n);
	pl__osv_free(db);
	return rc;
}

#define FIXED_AT(v)                                                                                \
	"'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},{'fixed':'" v "'}]}]"

static void test_ranges(void)
{
	/* a security update fixes it; the one before is affected */
	check_int(affects(FIXED_AT("2.36-9+deb12u4"), "2.36-9+deb12u3"), ==, 1);
	check_str(fixed, "2.36-9+deb12u4");
	check_int(affects(FIXED_AT("2.36-9+deb12u4"), "2.36-9+deb12u4"), ==, 0);
	check_int(affects(FIXED_AT("2.36-9+deb12u4"), "2.36-9+deb12u10"), ==, 0);
	/* '~' sorts before the end: a pre-release of the fix is not the fix */
	check_int(affects(FIXED_AT("2.36-9+deb12u4"), "2.36-9+deb12u4~1"), ==, 1);
	check_int(affects(FIXED_AT("2.36-9+deb12u4~1"), "2.36-9+deb12u4"), ==, 0);
	check_int(affects(FIXED_AT("2.36-9+deb12u4~1"), "2.36-9+deb12u3"), ==, 1);
	check_int(affects(FIXED_AT("1.0"), "1.0~deb12u1"), ==, 1);
	check_int(affects(FIXED_AT("1.0~deb12u1"), "1.0"), ==, 0);
	check_int(affects(FIXED_AT("1.0~deb12u1"), "1.0~~"), ==, 1);
	/* dpkg equality: an explicit zero epoch is no epoch */
	check_int(affects(FIXED_AT("1:1.0-1"), "0:2.0-1"), ==, 1);
	check_int(affects(FIXED_AT("1:1.0-1"), "1:1.0-1"), ==, 0);

	/* introduced "0" is before every version, even dpkg's 0~ */
	check_int(affects("'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'}]}]", "0~1"),
		  ==, 1);
	check_str(fixed, "-");
	/* last_affected is inclusive and reports no fix */
	const char *last = "'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},"
			   "{'last_affected':'1.2-3'}]}]";
	check_int(affects(last, "1.2-3"), ==, 1);
	check_str(fixed, "-");
	check_int(affects(last, "1.2-2"), ==, 1);
	check_int(affects(last, "1.2-3+deb12u1"), ==, 0);
	/* introduced is inclusive, fixed exclusive */
	const char *window = "'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'1.5'},"
			     "{'fixed':'1.7'}]}]";
	check_int(affects(window, "1.4"), ==, 0);
	check_int(affects(window, "1.5"), ==, 1);
	check_int(affects(window, "1.7"), ==, 0);
	check_int(affects("'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'1.0'},"
			  "{'fixed':'1.0'}]}]",
			  "1.0"),
		  ==, 0);
	/* two windows, listed out of order: events are sorted first, and the
	 * fix reported is the one closing the window the version is in */
	const char *two = "'ranges':[{'type':'ECOSYSTEM','events':[{'fixed':'2.3'},"
			  "{'introduced':'2.0'},{'introduced':'0'},{'fixed':'1.2'}]}]";
	check_int(affects(two, "2.1"), ==, 1);
	check_str(fixed, "2.3");
	check_int(affects(two, "1.1"), ==, 1);
	check_str(fixed, "1.2");
	check_int(affects(two, "1.5"), ==, 0);
	check_int(affects(two, "2.3"), ==, 0);
	/* limits: only below one of them; '*' is none */
	const char *limit = "'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},"
			    "{'limit':'2.0'}]}]";
	check_int(affects(limit, "1.5"), ==, 1);
	check_int(affects(limit, "2.0"), ==, 0);
	check_int(affects("'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},"
			  "{'limit':'2.0'},{'limit':'*'}]}]",
			  "2.5"),
		  ==, 1);
	/* SEMVER and GIT ranges are not dpkg's */
	check_int(affects("'ranges':[{'type':'SEMVER','events':[{'introduced':'0'}]},"
			  "{'type':'GIT','repo':'x','events':[{'introduced':'0'}]}]",
			  "1.0"),
		  ==, 0);
	/* versions[] lists affected versions, compared as dpkg does */
	const char *listed = "'versions':['1.0-1','1.0-2']";
	check_int(affects(listed, "1.0-2"), ==, 1);
	check_str(fixed, "-");
	check_int(affects(listed, "0:1.0-1"), ==, 1);
	check_int(affects(listed, "1.0-3"), ==, 0);
	/* versions that cannot be ordered widen the range, never hide it */
	check_int(affects(FIXED_AT("not a version"), "9.9"), ==, 1);
	check_str(fixed, "-");
	check_int(affects("'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'!'},"
			  "{'fixed':'2.0'}]}]",
			  "1.0"),
		  ==, 1);
	check_str(fixed, "2.0");
	check_int(affects("'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},"
			  "{'limit':'?'}]}]",
			  "5.0"),
		  ==, 1);
}

static const char *const feed_main =
    "["
    "{'id':'DSA-5514-1','aliases':['CVE-2023-4911','CVE-2023-4806'],"
    " 'summary':'glibc: security update',"
    " 'severity':[{'type':'CVSS_V3','score':'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'}],"
    " 'affected':[{'package':{'ecosystem':'Debian:12','name':'glibc'},"
    "  'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},{'fixed':'2.36-9+deb12u3'}]}],"
    "  'versions':['2.36-9','2.36-9+deb12u1']}]},"
    "{'id':'DEBIAN-CVE-2099-1','withdrawn':'2024-01-01T00:00:00Z',"
    " 'affected':[{'package':{'ecosystem':'Debian:12','name':'glibc'},"
    "  'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'}]}]}]},"
    "{'id':'DSA-OLD-1','affected':[{'package':{'ecosystem':'Debian:11','name':'glibc'},"
    "  'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'}]}]}]},"
    "{'id':'DEBIAN-CVE-2023-1','affected':[{'package':{'ecosystem':'Debian','name':'glibc'},"
    "  'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'}]}],"
    "  'ecosystem_specific':{'urgency':'unimportant'}}]},"
    "{'id':'DSA-BIN-1','affected':[{'package':{'ecosystem':'Debian:12','name':'libc6'},"
    "  'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'}]}]}]},"
    "{'id':'GHSA-xxxx','affected':[{'package':{'ecosystem':'npm','name':'glibc'},"
    "  'ranges':[{'type':'SEMVER','events':[{'introduced':'0'}]}]}]},"
    "{'id':'DSA-2','summary':'zlib: two entries','affected':["
    "  {'package':{'ecosystem':'Debian','name':'zlib'},"
    "   'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},{'fixed':'1:1.3-1'}]}]},"
    "  {'package':{'ecosystem':'Debian:12','name':'zlib'},"
    "   'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},"
    "    {'fixed':'1:1.2.13.dfsg-1+deb12u1'}]}],"
    "   'severity':[{'type':'CVSS_V3','score':'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N'}]}"
    "  ],'severity':[{'type':'CVSS_V3','score':'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'}]},"
    "{'id':'DSA-3','affected':["
    "  {'package':{'ecosystem':'Debian:12','name':'zlib'},"
    "   'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},{'fixed':'1:1.2.13.dfsg-2'}]}]},"
    "  {'package':{'ecosystem':'Debian','name':'zlib'},"
    "   'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'},{'fixed':'1:1.3-1'}]}]}]},"
    "{'id':'DSA-10','affected':[{'package':{'ecosystem':'Debian:12','name':'zlib'},"
    "  'versions':['1:1.2.13.dfsg-1'],'ecosystem_specific':{'urgency':'not yet assigned'}}]},"
    "{'id':'CVE-1','database_specific':{'severity':'MODERATE'},"
    " 'affected':[{'package':{'ecosystem':'Debian:12','name':'zlib'},"
    "  'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':'0'}]}]}]}"
    "]";

static const struct pl__osv_match *find(const struct pl__osv_match *m, size_t n, const char *pkg,
					const char *arch, const char *id)
{
	for (size_t i = 0; i < n && n != (size_t)-1; i++)
		if (!strcmp(m[i].package, pkg) && !strcmp(m[i].arch, arch) && !strcmp(m[i].id, id))
			return &m[i];
	return NULL;
}

static void test_match(void)
{
	struct pl__osv *db = parse(feed_main);
	check(db != NULL);
	/* the withdrawn record and the one with no Debian entry are dropped */
	check_int(db ? pl__osv_count(db) : 0, ==, 8);

	const struct pl__osv_pkg pkgs[] = {
		{ "zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib" },
		{ "libc6", "2.36-9+b1", "i386", "glibc (2.36-9)" },
		{ "libc6", "2.36-9+b1", "amd64", "glibc (2.36-9)" },
		{ "libc-bin", "2.36-9+deb12u3", "amd64", "glibc" },
		{ "glibc-tools", "2.36-9+deb12u1", "amd64", NULL },
	};
	size_t n;
	struct pl__osv_match *m = match(db, "Debian:12", pkgs, 5, &n);
	const char *want[][3] = {
		{ "libc-bin", "amd64", "DEBIAN-CVE-2023-1" },
		{ "libc6", "amd64", "DEBIAN-CVE-2023-1" },
		{ "libc6", "amd64", "DSA-5514-1" },
		{ "libc6", "i386", "DEBIAN-CVE-2023-1" },
		{ "libc6", "i386", "DSA-5514-1" },
		{ "zlib1g", "amd64", "CVE-1" },
		{ "zlib1g", "amd64", "DSA-10" },
		{ "zlib1g", "amd64", "DSA-2" },
		{ "zlib1g", "amd64", "DSA-3" },
	};
	/* sorted by binary, architecture and id; libc-bin is fixed, the
	 * binary-named, withdrawn, Debian 11 and npm records never match,
	 * glibc-tools has no source of that name */
	check_int(n, ==, 9);
	for (size_t i = 0; i < 9 && i < n && n != (size_t)-1; i++) {
		check_str(m[i].package, want[i][0]);
		check_str(m[i].arch, want[i][1]);
		check_str(m[i].id, want[i][2]);
	}

	/* matched on the source package at its own version (not 2.36-9+b1) */
	const struct pl__osv_match *g = find(m, n, "libc6", "amd64", "DSA-5514-1");
	check(g != NULL);
	if (g) {
		check_str(g->source, "glibc");
		check_str(g->version, "2.36-9");
		check_str(g->fixed, "2.36-9+deb12u3");
		check_str(g->summary, "glibc: security update");
		check_int(g->naliases, ==, 2);
		check_str(g->naliases == 2 ? g->aliases[1] : NULL, "CVE-2023-4806");
		check(g->score > 9.79 && g->score < 9.81);
		check_str(g->severity_word, "critical");
		check_int(g->severity, ==, PL__SEV_CRITICAL);
	}
	/* Debian's urgency: "unimportant" is low; no fix known */
	g = find(m, n, "libc6", "i386", "DEBIAN-CVE-2023-1");
	check(g != NULL);
	if (g) {
		check_str(g->severity_word, "low");
		check(g->fixed == NULL);
		check(g->score < 0);
		check_str(g->summary, "");
		check_int(g->naliases, ==, 0);
	}
	/* of two entries holding the version, the exact release's wins: its
	 * fix and its own CVSS score, not the record's */
	g = find(m, n, "zlib1g", "amd64", "DSA-2");
	check(g != NULL);
	if (g) {
		check_str(g->fixed, "1:1.2.13.dfsg-1+deb12u1");
		check(g->score > 6.09 && g->score < 6.11);
		check_str(g->severity_word, "medium");
		check_str(g->source, "zlib");
		check_str(g->version, "1:1.2.13.dfsg-1");
	}
	g = find(m, n, "zlib1g", "amd64", "DSA-3");
	check_str(g ? g->fixed : NULL, "1:1.2.13.dfsg-2");
	/* "not yet assigned" is unknown: shown so, counted as medium */
	g = find(m, n, "zlib1g", "amd64", "DSA-10");
	if (g) {
		check_str(g->severity_word, "unknown");
		check_int(g->severity, ==, PL__SEV_MEDIUM);
	}
	/* the record's database_specific word, in capitals */
	g = find(m, n, "zlib1g", "amd64", "CVE-1");
	check_str(g ? g->severity_word : NULL, "medium");
	pl__osv_matches_free(m, n == (size_t)-1 ? 0 : n);

	/* on Debian 11 the Debian:11 record applies, and the bare "Debian" one */
	m = match(db, "Debian:11", pkgs + 2, 1, &n);
	check_int(n, ==, 2);
	check(find(m, n, "libc6", "amd64", "DSA-OLD-1") != NULL);
	check(find(m, n, "libc6", "amd64", "DEBIAN-CVE-2023-1") != NULL);
	pl__osv_matches_free(m, n == (size_t)-1 ? 0 : n);

	/* only Debian; every package has its name, version and architecture */
	struct pl_error *err = NULL;
	check_int(pl__osv_match(db, "Ubuntu:22.04:LTS", pkgs, 1, &m, &n, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err),
		  "ecosystem 'Ubuntu:22.04:LTS' is not Debian's: only Debian can be matched");
	pl_error_free(err);
	err = NULL;
	struct pl__osv_pkg noarch = { "libc6", "2.36-9", NULL, NULL };
	check_int(pl__osv_match(db, "Debian:12", &noarch, 1, &m, &n, &err), ==, PL_EINVAL);
	pl_error_free(err);
	m = match(db, "Debian:12", pkgs, 0, &n);
	check(m == NULL && n == 0);
	pl__osv_free(db);
}

static void test_printable(void)
{
	/* a feed is untrusted: what reaches a terminal cannot drive it */
	struct pl__osv *db = parse("{'id':'DSA-1','summary':'red\\u001b[31m\\u202eevil\\nline é',"
				   "'aliases':['CVE-1\\u0007'],"
				   "'affected':[{'package':{'ecosystem':'Debian:12','name':'x'},"
				   "'versions':['1.0']}]}");
	struct pl__osv_pkg p = { "x", "1.0", "amd64", NULL };
	size_t n;
	struct pl__osv_match *m = match(db, "Debian:12", &p, 1, &n);
	check_int(n, ==, 1);
	if (n == 1) {
		check_str(m[0].summary, "red\\x1b[31m\\u202eevil\\x0aline é");
		check_str(m[0].aliases[0], "CVE-1\\x07");
	}
	pl__osv_matches_free(m, n == (size_t)-1 ? 0 : n);
	pl__osv_free(db);
	/* an id is the record's name in errors and reports: it must be clean */
	check_str(parse_error("{'id':'DSA\\u001b1','affected':[]}"),
		  "feed 't.json': 'id' is not 1 to 256 printable characters without blanks");
}

static void test_errors(void)
{
	check_str(parse_error("[{'id':'A','affected':[]},\n{'id':'B',}]"),
		  "feed 't.json': line 2, column 11: string or '}' expected near '}'");
	check_str(parse_error("[{'id':'A','affected':[]}, 5]"),
		  "feed 't.json': record 2: not a JSON object");
	check_str(parse_error("[{'summary':'no id'}]"), "feed 't.json': record 1: no string 'id'");
	check_str(parse_error("[{'id':7}]"), "feed 't.json': record 1: no string 'id'");
	check_str(parse_error("{'id':'DSA-1','affected':{}}"),
		  "feed 't.json' ('DSA-1'): 'affected' is not an array");
	check_str(parse_error("[{'id':'A'},{'id':'DSA-1','affected':null}]"),
		  "feed 't.json': record 2 ('DSA-1'): 'affected' is not an array");
	check_str(parse_error("'a string'"),
		  "feed 't.json': line 1, column 10: '[' or '{' expected near '\"a string\"'");
	check_str(parse_error("{'id':'DSA-1','affected':[{'package':{'ecosystem':'Debian:12',"
			      "'name':'x'},'ranges':[{'type':'ECOSYSTEM','events':{}}]}]}"),
		  "feed 't.json' ('DSA-1'): affected 1: ranges 1: 'events' is not an array");
	check_str(parse_error("{'id':'DSA-1','affected':[{'package':{'ecosystem':'Debian:12',"
			      "'name':'x'},'ranges':[{'type':'ECOSYSTEM','events':[{'introduced':"
			      "'0','fixed':'1'}]}]}]}"),
		  "feed 't.json' ('DSA-1'): affected 1: ranges 1: events 1: not one string "
		  "introduced, fixed, last_affected or limit");
	check_str(parse_error("{'id':'DSA-1','affected':[{'package':{'ecosystem':'Debian:12'}}]}"),
		  "feed 't.json' ('DSA-1'): affected 1: 'package' has no string 'ecosystem' and "
		  "'name'");
	/* unknown fields, and entries of other ecosystems, are not checked */
	check_str(parse_error("{'id':'X','new_field':[1],'affected':[{'package':{'ecosystem':"
			      "'PyPI','name':'x'},'ranges':7},{'ranges':[]}]}"),
		  "");
	/* withdrawn records are not looked into */
	check_str(parse_error("{'id':'X','withdrawn':'2024-01-01T00:00:00Z','affected':5}"), "");
}

static void test_cvss(void)
{
	static const struct {
		const char *vector;
		double score;
	} cases[] = {
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1 },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8 },
		{ "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3 },
		{ "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4 },
		{ "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:N/I:N/A:H", 4.7 },
		{ "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5 },
		{ "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0 },
		/* any order; temporal metrics leave the base score alone */
		{ "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/E:P/RL:O/RC:C", 9.8 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		double s = -1;
		bool ok = pl__cvss3_score(cases[i].vector, &s);
		check(ok);
		check_int((long long)(s * 10 + 0.5), ==, (long long)(cases[i].score * 10 + 0.5));
	}
	static const char *const bad[] = {
		"CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:X",
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:HH",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:Y",
		"AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		double s;
		check(!pl__cvss3_score(bad[i], &s));
	}
	check_int(pl__cvss_severity(9.0), ==, PL__SEV_CRITICAL);
	check_int(pl__cvss_severity(8.9), ==, PL__SEV_HIGH);
	check_int(pl__cvss_severity(4.0), ==, PL__SEV_MEDIUM);
	check_int(pl__cvss_severity(0.1), ==, PL__SEV_LOW);
	check_int(pl__cvss_severity(0.0), ==, PL__SEV_INFO);

	check_int(pl__severity_parse("High"), ==, PL__SEV_HIGH);
	check_int(pl__severity_parse("unimportant"), ==, PL__SEV_LOW);
	check_int(pl__severity_parse("moderate"), ==, PL__SEV_MEDIUM);
	check_int(pl__severity_parse("not yet assigned"), ==, -1);
	check_int(pl__severity_parse("unknown"), ==, -1);
	check_int(pl__severity_parse(NULL), ==, -1);
	for (int s = PL__SEV_INFO; s <= PL__SEV_CRITICAL; s++)
		check_int(pl__severity_parse(pl__severity_name((enum pl__severity)s)), ==, s);
	check_str(pl__severity_name(PL__SEV_INFO), "none");
	check_str(pl__severity_name((enum pl__severity)7), "unknown");
	check(PL__SEV_INFO < PL__SEV_LOW && PL__SEV_LOW < PL__SEV_MEDIUM &&
	      PL__SEV_MEDIUM < PL__SEV_HIGH && PL__SEV_HIGH < PL__SEV_CRITICAL);
}

/* pl__osv_ecosystem() of `text`: the ecosystem, or "error: MESSAGE" (static). */
static const char *eco(const char *text)
{
	static char out[512];
	char e[PL__OSV_ECO_MAX];
	struct pl_error *err = NULL;
	/* exactly the text, with no NUL after it, so that the sanitizers see
	 * a read past its end */
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	if (!copy) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	memcpy(copy, text, len);
	if (pl__osv_ecosystem(copy, len, e, sizeof(e), &err) < 0)
		snprintf(out, sizeof(out), "error: %s", pl_error_message(err));
	else
		snprintf(out, sizeof(out), "%s", e);
	pl_error_free(err);
	free(copy);
	return out;
}

static void test_ecosystem(void)
{
	check_str(eco("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
		      "NAME=\"Debian GNU/Linux\"\n"
		      "VERSION_ID=\"12\"\n"
		      "VERSION=\"12 (bookworm)\"\n"
		      "VERSION_CODENAME=bookworm\n"
		      "ID=debian\n"
		      "HOME_URL=\"https://www.debian.org/\"\n"),
		  "Debian:12");
	check_str(eco("ID='debian'\r\nVERSION_ID=11\r\n"), "Debian:11");
	check_str(eco("# comment\n  ID=\"debian\"\nVERSION_ID=\"10\"\nVERSION_ID=\"13\"\n"),
		  "Debian:13");
	check_str(eco("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n"),
		  "error: os-release ID 'ubuntu' is not 'debian': only Debian images can be "
		  "matched");
	check_str(eco("NAME=\"plinth\"\nID=plinth\n"),
		  "error: os-release ID 'plinth' is not 'debian': only Debian images can be "
		  "matched");
	check_str(eco("ID=debian\nVERSION_CODENAME=trixie\n"),
		  "error: os-release has no VERSION_ID (Debian testing or unstable?): only "
		  "Debian releases can be matched");
	check_str(eco("ID=debian\nVERSION_ID=\"12.1\"\n"),
		  "error: os-release VERSION_ID is not a Debian release number");
	check_str(eco("VERSION_ID=12\n"),
		  "error: os-release has no ID: only Debian images can be matched");
	check_str(eco("ID=\"debian\nVERSION_ID=12\n"),
		  "error: os-release has no ID: only Debian images can be matched");
	/* a value that ends the text, with no newline */
	check_str(eco("VERSION_ID=12\nID="),
		  "error: os-release ID '?' is not 'debian': only Debian images can be matched");
	/* a NUL inside a value is not the end of it */
	char nul[] = "ID=debian\0x\nVERSION_ID=12\n";
	char out[PL__OSV_ECO_MAX];
	struct pl_error *err = NULL;
	check_int(pl__osv_ecosystem(nul, sizeof(nul) - 1, out, sizeof(out), &err), ==, PL_EINVAL);
	pl_error_free(err);
	err = NULL;
	check_int(pl__osv_ecosystem("ID=debian\nVERSION_ID=12\n", 24, out, 9, &err), ==, PL_ELIMIT);
	pl_error_free(err);
}

static void put(const char *dir, const char *name, const char *json)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *text = q(json);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pl__write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		printf("Bail out! cannot write '%s'\n", path);
		exit(1);
	}
	free(text);
}

static void test_dir(void)
{
	char dir[8192], json[512], name[32];
	snprintf(dir, sizeof(dir), "%s/feed", top);
	mkdir(dir, 0755);
	/* every file holds the same record id: the first file in name order
	 * is the one reported, whatever order the directory lists them in */
	static const int order[] = { 7, 3, 11, 0, 9, 14, 1, 5, 12, 2, 8, 13, 4, 10, 6 };
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		snprintf(name, sizeof(name), "f%02d.json", order[i]);
		snprintf(json, sizeof(json),
			 "{'id':'DSA-1','summary':'from %s','affected':[{'package':"
			 "{'ecosystem':'Debian:12','name':'zlib'},'versions':['1.0']}]}",
			 name);
		put(dir, name, json);
	}
	put(dir, "notes.txt", "not json");
	put(dir, ".partial.json", "{");
	/* not recursive: a subdirectory's files are not read */
	char sub[8300];
	snprintf(sub, sizeof(sub), "%s/nested", dir);
	mkdir(sub, 0755);
	put(sub, "bad.json", "{");

	struct pl__osv *db = NULL;
	struct pl_error *err = NULL;
	check_int(pl__osv_load(dir, &db, &err), ==, 0);
	if (err)
		printf("# %s\n", pl_error_message(err));
	pl_error_free(err);
	err = NULL;
	check_int(db ? pl__osv_count(db) : 0, ==, 15);
	struct pl__osv_pkg p = { "zlib1g", "1.0", "amd64", "zlib" };
	size_t n;
	struct pl__osv_match *m = match(db, "Debian:12", &p, 1, &n);
	check_int(n, ==, 1);
	check_str(n == 1 ? m[0].summary : NULL, "from f00.json");
	pl__osv_matches_free(m, n == (size_t)-1 ? 0 : n);
	pl__osv_free(db);
	db = NULL;

	/* a single file is a feed too */
	char path[8300];
	snprintf(path, sizeof(path), "%s/f03.json", dir);
	check_int(pl__osv_load(path, &db, &err), ==, 0);
	m = match(db, "Debian:12", &p, 1, &n);
	check_str(n == 1 ? m[0].summary : NULL, "from f03.json");
	pl__osv_matches_free(m, n == (size_t)-1 ? 0 : n);
	pl__osv_free(db);
	db = NULL;
	pl_error_free(err);
	err = NULL;

	/* errors name the file; the first bad one in name order is reported */
	put(dir, "f99.json", "[1]");
	put(dir, "f50.json", "{\n'id': }");
	check_int(pl__osv_load(dir, &db, &err), ==, PL_EINVAL);
	char want[8400];
	snprintf(want, sizeof(want),
		 "feed '%s/f50.json': line 2, column 7: unexpected token near '}'", dir);
	check_str(err ? pl_error_message(err) : NULL, want);
	check(db == NULL);
	pl_error_free(err);
	err = NULL;

	snprintf(path, sizeof(path), "%s/absent", top);
	check_int(pl__osv_load(path, &db, &err), ==, PL_ESYS);
	pl_error_free(err);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(top, sizeof(top), "%s/t-osv.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		printf("Bail out! cannot make a temporary directory\n");
		return 1;
	}
	test_ranges();
	test_match();
	test_printable();
	test_errors();
	test_cvss();
	test_ecosystem();
	test_dir();
	pl__remove_tree(AT_FDCWD, top);
	return tap_done();
}
