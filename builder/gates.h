/*
 * gates.h - what stands between a build and its image being tagged: lint
 * before, scan and tests after (see pl_build_options in plinth/build.h),
 * and the artifacts stored beside the image.
 */
#ifndef PLINTH_GATES_H
#define PLINTH_GATES_H

#include "plinth/build.h"
#include "layout.h"
#include "recipe-impl.h"

/* Lint `r`: error findings the policy does not opt out of fail (warnings
 * are for plinth lint to show). */
int pl__gate_lint(const struct pl_recipe *r, const struct pl_build_options *o,
		  struct pl_error **err);

/* Scan the staged layer `layer` (a descriptor): secrets and setuid files
 * the policy does not opt out of fail. */
int pl__gate_scan(struct pl__layout *l, const json_t *layer, const struct pl_build_options *o,
		  struct pl_error **err);

/* Run the recipe's tests in the staged image (`manifest`, `config`)
 * unless o->skip_tests: a failing test fails, with the TAP report of the
 * run in the message. */
int pl__gate_tests(struct pl__layout *l, const struct pl_recipe *r, const json_t *manifest,
		   const json_t *config, const struct pl_build_options *o, struct pl_error **err);

/* A blob source reading the layout's staged blobs. */
struct pl__blob_source pl__staged_source(struct pl__layout *l);

/*
 * Stage an artifact about the image `subject` (its manifest descriptor):
 * `data` as the one layer of an image manifest with artifactType `type`
 * and the empty config, created at `created`, and have the commit list it.
 */
int pl__put_artifact(struct pl__layout *l, const char *type, const char *data, size_t len,
		     const struct pl__descriptor *subject, const char *created,
		     struct pl_error **err);

#endif
