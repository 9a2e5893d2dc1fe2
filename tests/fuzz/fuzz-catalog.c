/*
 * fuzz-catalog.c - libFuzzer target for the catalog's files, which arrive
 * from a shared directory or an export: catalog.json (shape, trust root,
 * signature), one base's object or a shard of the index of bases, and the
 * history replayed from nothing.
 * The first byte picks which; every error must carry its code and a
 * message, and whatever parses must uphold the parser's invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, struct pl_error *err)
{
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct pl_error *err = NULL;
	int rc;
	switch (data[0] % 4) {
	case 0: {
		struct pl_catalog *c = NULL;
		rc = pl__catalog_parse("fuzz", text, len, &c, &err);
		check(rc, err);
		if (rc == 0) {
			size_t n = 0;
			pl_catalog_trust(c, &n);
			if (n == 0 || pl_catalog_version(c) == 0 || strlen(pl_catalog_id(c)) != 64)
				abort();
		}
		pl_catalog_free(c);
		break;
	}
	case 1:
		/* a base's object, or (bit 3) a shard of the index of bases */
		if (data[0] & 8)
			check(pl__catalog_shard_check(data[0] >> 4, text, len, &err), err);
		else
			check(pl__catalog_object_check("base", text, len, &err), err);
		break;
	case 2:
		/* with the signatures checked, and without: mutated records
		 * fail their signature, which would hide the checks after it */
		check(pl__catalog_replay_text(text, len, data[0] & 4, &err), err);
		break;
	default: {
		/* versions and ranges: a full version parses as a range too,
		 * and compares equal to itself */
		struct pl__semver a, b;
		if (pl__semver_parse(text, len, true, &a)) {
			if (!pl__semver_parse(text, len, false, &b) || pl__semver_cmp(&a, &b) ||
			    a.n != 3)
				abort();
		} else if (pl__semver_parse(text, len, false, &b) && b.n == 3) {
			abort();
		}
	}
	}
	return 0;
}
