/* cmd_check.c - plinth lint RECIPE [--policy FILE] [--catalog C] [--json] [--rules], plinth
 * scan oci:DIR:TAG [--policy FILE] [--vulns FEED] [--fail-on SEVERITY] [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char lint_usage[] =
    "usage: plinth lint RECIPE [--policy FILE] [--catalog C] [--json]\n"
    "       plinth lint --rules [--json]\n"
    "\n"
    "Check a recipe against plinth's hardening rules and print each finding as\n"
    "FILE:LINE:COLUMN: SEVERITY: RULE NAME: what is wrong.  Exits 1 when a\n"
    "finding of severity error is not opted out of by the policy, 0 otherwise.\n"
    "\n"
    "The rules: a base that does not resolve in the catalog (L001, checked when\n"
    "a catalog is named) or that the policy does not allow (L002), running as\n"
    "root (L003), a shell, package manager or ssh server among the packages\n"
    "(L004-L006), a copied file without a sha256 pin (L007), setuid/setgid\n"
    "modes (L008), a repository without its own keyring (L009), secret-looking\n"
    "env or labels (L010), world-writable directories without the sticky bit\n"
    "and world-writable files (L011, L012).  --rules lists them all.\n"
    "\n"
    "Options:\n"
    "  -p, --policy FILE       a policy (YAML): the bases recipes may build on,\n"
    "                          severities, opt-outs with a reason (docs/gates.md)\n"
    "      --catalog C         the catalog the base must resolve in\n"
    "      --rules             list every rule (lint's and scan's) and exit\n"
    "      --json              print the findings as JSON instead\n"
    "  -h, --help              show this help\n";

static const char scan_usage[] =
    "usage: plinth scan oci:DIR:TAG [--policy FILE] [--vulns FEED [--ecosystem ECO]]\n"
    "                   [--fail-on SEVERITY] [--json]\n"
    "\n"
    "Read the image's layers (whiteouts applied) and report what a hardened\n"
    "image should not have: setuid/setgid files, world-writable files and\n"
    "directories, secrets (PEM private keys, ssh keys, AWS, GitHub, GitLab and\n"
    "Slack credentials, .env and credentials files, passwords in configuration),\n"
    "shells and package managers, accounts sharing a uid or without a password,\n"
    "and files no package owns.  Paths that hold known test data (tests,\n"
    "testdata, fixtures and documentation directories) are not searched for\n"
    "secrets.  With --vulns, the Debian packages of the image (from\n"
    "/var/lib/dpkg/status.d) are matched against an OSV feed by source package\n"
    "and dpkg version ordering, in the ecosystem Debian:<VERSION_ID> of the\n"
    "image's /etc/os-release (else the release its base-files package was made\n"
    "for).\n"
    "\n"
    "Exits 1 when a finding at or above the --fail-on severity is not opted\n"
    "out of by the policy, 0 otherwise.\n"
    "\n"
    "Options:\n"
    "  -p, --policy FILE       a policy (YAML): severities and opt-outs, by rule\n"
    "                          and path glob, each with a reason\n"
    "      --vulns FEED        an OSV feed: a JSON file or a directory of them\n"
    "      --ecosystem ECO     the image's Debian release for the feed, as\n"
    "                          Debian:12 (default: read from the image)\n"
    "      --fail-on SEV       critical, high (default), medium, low, info, or\n"
    "                          none (never fail)\n"
    "      --json              print the findings as JSON instead\n"
    "  -h, --help              show this help\n";

/* `s` (it may quote what an image holds) so that printing it cannot
 * drive the terminal. */
static void put_safe(const char *s)
{
	char *safe = pl_printable(s, false);
	fputs(safe ? safe : "(out of memory)", stdout);
	free(safe);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *finding_json(const struct pl_finding *x)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "rule", x->rule, "name", x->name,
			      "severity", x->severity, "message", x->message, "path",
			      str_or_null(x->path), "ignored", str_or_null(x->ignored));
	if (j && x->file &&
	    (json_object_set_new(j, "file", json_string(x->file)) < 0 ||
	     json_object_set_new(j, "line", json_integer(x->line)) < 0 ||
	     json_object_set_new(j, "column", json_integer(x->col)) < 0)) {
		json_decref(j);
		return NULL;
	}
	if (j && x->vuln_id &&
	    json_object_set_new(j, "vulnerability",
				json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", x->vuln_id, "package",
					  x->package, "version", x->version, "fixed",
					  str_or_null(x->fixed), "source",
					  str_or_null(x->source))) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Print `j` indented and release it; -1 when that fails. */
static int print_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
	json_decref(j);
	int rc = text && puts(text) >= 0 ? 0 : -1;
	free(text);
	return rc;
}

static json_t *findings_json(const struct pl_findings *f)
{
	size_t n;
	const struct pl_finding *v = pl_findings_get(f, &n);
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, finding_json(&v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int list_rules(bool json)
{
	size_t n;
	const struct pl_rule *r = pl_rules(&n);
	json_t *a = json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (json) {
			if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "id",
							       r[i].id, "name", r[i].name,
							       "severity", r[i].severity, "summary",
							       r[i].summary)) < 0) {
				json_decref(a);
				return cli_stdout_failed();
			}
		} else if (printf("%-5s %-9s %-21s %s\n", r[i].id, r[i].severity, r[i].name,
				  r[i].summary) < 0) {
			return cli_stdout_failed();
		}
	}
	if (json && print_json(a) < 0)
		return cli_stdout_failed();
	return cli_flush_stdout();
}

static int load_policy(const char *path, struct pl_policy **out)
{
	struct pl_error *err = NULL;
	*out = NULL;
	return path && pl_policy_load(path, out, &err) < 0 ? cli_fail(err) : 0;
}

/* "N error(s), ..." counts of `words` among the findings not opted out of. */
static void print_counts(const struct pl_findings *f, const char *what, const char *const *words)
{
	size_t n, ignored = 0;
	const struct pl_finding *v = pl_findings_get(f, &n);
	printf("%s:", what);
	for (const char *const *w = words; *w; w++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			k += !v[i].ignored && !strcmp(v[i].severity, *w);
		bool plural = k != 1 && (!strcmp(*w, "error") || !strcmp(*w, "warning"));
		printf(" %zu %s%s%s", k, *w, plural ? "s" : "", w[1] ? "," : "");
	}
	for (size_t i = 0; i < n; i++)
		ignored += v[i].ignored != NULL;
	if (ignored)
		printf(" (%zu more opted out of by the policy)", ignored);
	putchar('\n');
}

int cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "rules", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL, *catalog = NULL;
	bool json = false, rules = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy_path = optarg;
			break;
		case 'C':
			catalog = optarg;
			break;
		case 'R':
			rules = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(lint_usage, stdout);
			fputs(cli_catalog_env_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("lint", argv, true);
		default:
			return cli_bad_option("lint", argv, false);
		}
	}
	if (rules)
		return optind == argc ? list_rules(json)
				      : cli_usage_error("lint", "--rules takes no RECIPE");
	if (optind != argc - 1)
		return cli_usage_error("lint", optind == argc ? "a RECIPE is required"
							      : "exactly one RECIPE is expected");
	struct pl_error *err = NULL;
	struct pl_policy *policy = NULL;
	struct pl_recipe *r = NULL;
	struct pl_catalog *cat = NULL;
	struct pl_findings *f = NULL;
	char state[4096];
	int rc = load_policy(policy_path, &policy);
	if (rc == 0 && pl_recipe_load(argv[optind], &r, &err) < 0)
		rc = cli_fail(err);
	if (rc == 0)
		rc = cli_recipe_catalog(r, catalog, state, sizeof(state), &cat);
	if (rc == 0 && pl_lint(r, policy, cat, &f, &err) < 0)
		rc = cli_fail(err);
	pl_catalog_free(cat);
	pl_policy_free(policy);
	if (rc != 0) {
		pl_recipe_free(r);
		return rc;
	}
	bool failed = pl_findings_count(f, "error") > 0;
	if (json) {
		json_t *j = json_pack(
		    "{s:s, s:o, s:I, s:I, s:b}", "recipe", argv[optind], "findings",
		    findings_json(f), "errors", (json_int_t)pl_findings_count(f, "error"),
		    "warnings",
		    (json_int_t)(pl_findings_count(f, "warning") - pl_findings_count(f, "error")),
		    "passed", !failed);
		if (print_json(j) < 0)
			rc = cli_stdout_failed();
	} else {
		size_t n;
		const struct pl_finding *v = pl_findings_get(f, &n);
		for (size_t i = 0; i < n; i++) {
			put_safe(v[i].file);
			printf(":%u:%u: %s: %s %s: ", v[i].line, v[i].col, v[i].severity, v[i].rule,
			       v[i].name);
			put_safe(v[i].message);
			if (v[i].ignored) {
				fputs(" [opted out: ", stdout);
				put_safe(v[i].ignored);
				putchar(']');
			}
			putchar('\n');
		}
		print_counts(f, pl_recipe_name(r),
			     (const char *const[]){ "error", "warning", "info", NULL });
	}
	pl_recipe_free(r);
	pl_findings_free(f);
	if (rc != 0)
		return rc;
	rc = cli_flush_stdout();
	return rc != EXIT_OK ? rc : failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "vulns", required_argument, NULL, 'V' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "ecosystem", required_argument, NULL, 'E' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pl_scan_options o = { 0 };
	const char *policy_path = NULL, *fail_on = "high";
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy_path = optarg;
			break;
		case 'V':
			o.vulns = optarg;
			break;
		case 'F':
			fail_on = optarg;
			break;
		case 'E':
			o.ecosystem = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(scan_usage, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("scan", argv, true);
		default:
			return cli_bad_option("scan", argv, false);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("scan", optind == argc
						   ? "an image (oci:DIR:TAG) is required"
						   : "exactly one image (oci:DIR:TAG) is expected");
	bool never = !strcmp(fail_on, "none");
	if (!never && (pl_severity_rank(fail_on) < 0 || !strcmp(fail_on, "error") ||
		       !strcmp(fail_on, "warning") || !strcmp(fail_on, "unknown")))
		return cli_usage_error("scan",
				       "--fail-on must be critical, high, medium, low, info or "
				       "none, not '%s'",
				       fail_on);
	struct pl_error *err = NULL;
	char *dir = NULL, *tag = NULL;
	if (pl_oci_ref_parse(argv[optind], &dir, &tag, &err) < 0) {
		int rc = cli_usage_error("scan", "%s", pl_error_message(err));
		pl_error_free(err);
		return rc;
	}
	free(dir);
	free(tag);
	struct pl_policy *policy = NULL;
	struct pl_findings *f = NULL;
	int rc = load_policy(policy_path, &policy);
	o.policy = policy;
	if (rc == 0 && pl_scan(argv[optind], &o, &f, &err) < 0)
		rc = cli_fail(err);
	pl_policy_free(policy);
	if (rc != 0)
		return rc;
	bool failed = !never && pl_findings_count(f, fail_on) > 0;
	if (json) {
		json_t *j = json_pack("{s:s, s:o, s:s, s:b}", "image", argv[optind], "findings",
				      findings_json(f), "fail_on", fail_on, "passed", !failed);
		if (print_json(j) < 0)
			rc = cli_stdout_failed();
	} else {
		size_t n;
		const struct pl_finding *v = pl_findings_get(f, &n);
		for (size_t i = 0; i < n; i++) {
			printf("%-8s %s %s: ", v[i].severity, v[i].rule, v[i].name);
			put_safe(v[i].message);
			if (v[i].ignored) {
				fputs(" [opted out: ", stdout);
				put_safe(v[i].ignored);
				putchar(']');
			}
			putchar('\n');
		}
		print_counts(
		    f, argv[optind],
		    (const char *const[]){ "critical", "high", "medium", "low", "info", NULL });
	}
	pl_findings_free(f);
	if (rc != 0)
		return rc;
	rc = cli_flush_stdout();
	return rc != EXIT_OK ? rc : failed ? EXIT_FAIL : EXIT_OK;
}
