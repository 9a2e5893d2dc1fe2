/*
 * plinth/check.h - the hardening gates: recipe lint, image scan, policies.
 *
 * Every check is a rule with a stable id, a name and a default severity:
 * lint rules (L...) speak of a recipe and are "error", "warning" or
 * "info"; scan rules (S...) speak of an image and are "critical", "high",
 * "medium", "low" or "info" (known vulnerabilities take their advisory's
 * severity).  A policy file (YAML, see docs/policy.md) names the bases a
 * recipe may build on, changes severities, and opts out of rules, for
 * every path or for paths matching a glob, each with a reason.  Findings
 * a policy opts out of are still reported, marked with the reason; they
 * never fail a gate.
 */
#ifndef PLINTH_CHECK_H
#define PLINTH_CHECK_H

#include "plinth/common.h"

struct pl_recipe;
struct pl_catalog;

/* ---- rules ------------------------------------------------------------- */

struct pl_rule {
	const char *id;       /* "L003" */
	const char *name;     /* "runs-as-root" */
	const char *severity; /* the default */
	const char *summary;  /* one line */
};

/** Every rule, lint's then scan's; *n gets how many. */
const struct pl_rule *pl_rules(size_t *n);

/**
 * The rank of a severity word, to compare: info 0, low 1, warning and
 * medium 2, unknown (an advisory without one) 2, high 3, error 3,
 * critical 4; -1 for a word that is none of them.
 */
int pl_severity_rank(const char *severity);

/* ---- policies ---------------------------------------------------------- */

struct pl_policy;

/**
 * Load a policy file (at most 1 MiB of YAML).  Unknown keys, unknown rule
 * ids, severities a rule cannot take and opt-outs without a reason are
 * errors with file:line:column.
 */
int pl_policy_load(const char *path, struct pl_policy **out, struct pl_error **err);
int pl_policy_parse(const char *name, const char *data, size_t len, struct pl_policy **out,
		    struct pl_error **err);
void pl_policy_free(struct pl_policy *p);

/* ---- findings ---------------------------------------------------------- */

struct pl_finding {
	const char *rule;     /* "L003", "S004"; vulnerabilities: "S100" */
	const char *name;     /* the rule's name */
	const char *severity; /* after the policy */
	const char *file;     /* lint: the recipe; NULL for scan */
	unsigned line, col;   /* lint: where in it (0 when nowhere) */
	const char *path;     /* the path in the image it is about, or NULL */
	const char *message;
	const char *ignored; /* the policy's reason when it opts out, else NULL */
	/* vulnerabilities (rule S100): the advisory and the package */
	const char *vuln_id, *package, *version, *fixed, *source;
};

struct pl_findings;

/** The findings, sorted (lint: by position; scan: by rule, then path). */
const struct pl_finding *pl_findings_get(const struct pl_findings *f, size_t *n);
/**
 * How many findings, not opted out of, are at least as severe as
 * `severity` (a word pl_severity_rank() knows).
 */
size_t pl_findings_count(const struct pl_findings *f, const char *severity);
void pl_findings_free(struct pl_findings *f);

/* ---- lint -------------------------------------------------------------- */

/**
 * Check a recipe against the lint rules and `policy` (NULL: none).  With a
 * `catalog`, a base that does not resolve in it is a finding (L001);
 * without one, L001 is not checked.
 *
 * @return 0 with *out (even when there are findings), or a negative
 *         pl_code when the checks could not run.
 */
int pl_lint(const struct pl_recipe *r, const struct pl_policy *policy, struct pl_catalog *catalog,
	    struct pl_findings **out, struct pl_error **err);

/* ---- scan -------------------------------------------------------------- */

struct pl_scan_options {
	const struct pl_policy *policy; /* NULL: none */
	const char *vulns;              /* an OSV feed (file or directory), or NULL */
	/* The image's ecosystem for the feed, "Debian:N"; NULL: from its
	 * /etc/os-release, else from its base-files package's version. */
	const char *ecosystem;
};

/**
 * Scan the image "oci:DIR:TAG": its final filesystem (whiteouts applied)
 * for setuid/setgid and world-writable paths, secrets, shells and package
 * managers, accounts sharing a uid or without a password, files no package
 * owns, and, with a feed, known vulnerabilities of its Debian packages.
 */
int pl_scan(const char *ref, const struct pl_scan_options *o, struct pl_findings **out,
	    struct pl_error **err);

#endif
