/* catalog.h - the catalog's parsers, exposed for the fuzzer and unit tests. */
#ifndef PLINTH_CATALOG_IMPL_H
#define PLINTH_CATALOG_IMPL_H

#include "plinth/catalog.h"
#include "internal.h"

#define PL__CATALOG_STATE_MAX  ((size_t)64 << 20) /* catalog.json */
#define PL__CATALOG_OBJECT_MAX ((size_t)16 << 20) /* one base's versions */
#define PL__CATALOG_RECORD_MAX ((size_t)1 << 20)  /* one history record */
#define PL__CATALOG_KEEP       8                  /* changes a replaced object outlives */

/* MAJOR.MINOR.PATCH, or a prefix of it in a range. */
struct pl__semver {
	uint32_t v[3];
	int n; /* components given: 1..3 */
};

/* Parse `s` (length `len`) as 1..3 components, each decimal without
 * leading zeros and below 2^31; `full` requires all three. */
bool pl__semver_parse(const char *s, size_t len, bool full, struct pl__semver *out);
int pl__semver_cmp(const struct pl__semver *a, const struct pl__semver *b);

/*
 * Parse catalog.json text (named `name` in errors) into a catalog with no
 * directory behind it: shape, trust root and signature are checked.
 */
int pl__catalog_parse(const char *name, const char *text, size_t len, struct pl_catalog **out,
		      struct pl_error **err);

/* Parse the shard object number k % 64 (the bases whose name's sha256
 * begins with k). */
int pl__catalog_shard_check(unsigned k, const char *text, size_t len, struct pl_error **err);

/* Parse one base's object (`name` is the base it must be for). */
int pl__catalog_object_check(const char *base, const char *text, size_t len, struct pl_error **err);

/* Replay history text (JSON lines) from the empty catalog, checking every
 * record, link and change, and each record's signature when check_sigs
 * (false lets a fuzzer reach past the signatures). */
int pl__catalog_replay_text(const char *text, size_t len, bool check_sigs, struct pl_error **err);

#endif
