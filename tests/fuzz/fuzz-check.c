/*
 * fuzz-check.c - libFuzzer target for what the gates read: policies,
 * recipes as lint sees them, and any file's bytes as the secret finder
 * sees them.
 *
 * The first byte picks which (mod 3); the rest is the input.  Lint runs on
 * every recipe that parses, with the policy made of the same bytes when
 * that parses too.  The error contract of plinth/common.h is checked as in
 * fuzz-recipe.c, and every finding must have its rule, severity and
 * message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plinth/check.h"
#include "plinth/recipe.h"
#include "secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, struct pl_error *err)
{
	if (rc > 0 || !err || pl_error_code(err) != rc || !*pl_error_message(err))
		abort();
	pl_error_free(err);
}

static void lint(const char *text, size_t n)
{
	struct pl_recipe *r = NULL;
	struct pl_policy *p = NULL;
	struct pl_error *err = NULL;
	int rc = pl_recipe_parse("fuzz.yaml", text, n, &r, &err);
	if (rc < 0) {
		check_error(rc, err);
		return;
	}
	if (pl_policy_parse("fuzz.yaml", text, n, &p, &err) < 0) {
		pl_error_free(err);
		err = NULL;
		p = NULL;
	}
	struct pl_findings *f = NULL;
	rc = pl_lint(r, p, NULL, &f, &err);
	if (rc < 0) {
		check_error(rc, err);
	} else {
		size_t k;
		const struct pl_finding *v = pl_findings_get(f, &k);
		for (size_t i = 0; i < k; i++)
			if (!v[i].rule || pl_severity_rank(v[i].severity) < 0 || !*v[i].message)
				abort();
		pl_findings_free(f);
	}
	pl_policy_free(p);
	pl_recipe_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: {
		struct pl_policy *p = NULL;
		struct pl_error *err = NULL;
		int rc = pl_policy_parse("fuzz.yaml", n ? text : "", n, &p, &err);
		if (rc == 0 && (!p || err))
			abort();
		if (rc < 0)
			check_error(rc, err);
		pl_policy_free(p);
		break;
	}
	case 1:
		lint(n ? text : "", n);
		break;
	default: {
		struct pl__secret_hit hits[PL__SECRET_KINDS];
		unsigned seen = 0;
		size_t from = n ? (size_t)data[0] % n : 0;
		size_t k = pl__secrets_find(text, n, from, true, &seen, hits, PL__SECRET_KINDS);
		for (size_t i = 0; i < k; i++)
			if (hits[i].off >= n || hits[i].off < from ||
			    hits[i].kind >= PL__SECRET_KINDS || !(seen & 1u << hits[i].kind))
				abort();
		break;
	}
	}
	return 0;
}
