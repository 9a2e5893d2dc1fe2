/*
 * check-impl.h - what lint and scan share: the rule table, policies and
 * the list of findings (see plinth/check.h).
 */
#ifndef PLINTH_CHECK_IMPL_H
#define PLINTH_CHECK_IMPL_H

#include "plinth/check.h"
#include "recipe-impl.h"

/* The rule `id`, or NULL. */
const struct pl_rule *pl__rule(const char *id);

struct pl_findings *pl__findings_new(struct pl_error **err);
static inline void pl__findings_freep(struct pl_findings **f)
{
	pl_findings_free(*f);
}

/*
 * Add a finding of rule `id` (which exists): the policy's severity for it,
 * and the reason of the policy's first opt-out that covers it (the rule,
 * and `path` when the opt-out names paths).  `file` and `pos` say where in
 * a recipe (NULL for scan), `path` the absolute path in the image it is
 * about (NULL for none).  @return the finding (to fill the vulnerability
 * fields with pl__findings_keep()), NULL when out of memory.
 */
struct pl_finding *pl__finding_add(struct pl_findings *f, const struct pl_policy *p, const char *id,
				   const char *file, struct pl__pos pos, const char *path,
				   struct pl_error **err, const char *fmt, ...) PL__PRINTF(8, 9);

/* A copy of `s` that lives as long as `f` (NULL for NULL; NULL when out of
 * memory sets *err). */
const char *pl__findings_keep(struct pl_findings *f, const char *s, struct pl_error **err);

/* Sort: lint by position then rule; scan by rule, path, vulnerability id. */
void pl__findings_sort(struct pl_findings *f, bool by_position);

/* Whether the policy allows the base `base` (scratch or NAME@RANGE): it
 * names no bases, or one that covers it. */
bool pl__policy_allows_base(const struct pl_policy *p, const char *base);

/* The severity the policy gives rule `id`, or NULL when it gives none. */
const char *pl__policy_severity(const struct pl_policy *p, const char *id);

/* Whether the policy opts out of rule `id` at `path` (NULL: anywhere). */
const char *pl__policy_ignores(const struct pl_policy *p, const char *id, const char *path);

#endif
