/*
 * fuzz-release.c - libFuzzer target for the Release parser (the text gpgv
 * vouched for; gpgv itself is not run).  Every string and entry of an
 * accepted Release is read, so ASan sees anything outside its allocation,
 * and the promises of release.h are checked: relative paths without "..",
 * no path listed twice, find() returning each entry, and the error
 * contract of plinth/common.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (!p[0] || p[0] == '/')
		abort();
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
	for (const char *s = p; s;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			abort();
		s = slash ? slash + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl__release r;
	struct pl_error *err = NULL;
	int rc = pl__release_parse("fuzz", data ? (const char *)data : "", size, &r, &err);
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
	if (rc < 0)
		return 0;

	volatile size_t sum = 0;
	const char *strings[] = { r.origin, r.label, r.suite, r.codename };
	for (size_t i = 0; i < 4; i++)
		sum += strings[i] ? strlen(strings[i]) : 0;
	for (size_t i = 0; i < r.narchitectures; i++)
		if (!r.architectures[i][0])
			abort();
	for (size_t i = 0; i < r.ncomponents; i++)
		if (!r.components[i][0])
			abort();
	for (size_t i = 0; i < r.nfiles; i++) {
		check_path(r.files[i].path);
		if (pl__release_find(&r, r.files[i].path) != &r.files[i])
			abort();
		sum += r.files[i].size + r.files[i].sha256[31];
	}
	(void)sum;

	/* formats Valid-Until for the message when there is one */
	err = NULL;
	rc = pl__release_check_fresh(&r, "fuzz", INT64_MAX, &err);
	if (rc != (r.has_valid_until && r.valid_until < INT64_MAX ? PL_EPOLICY : 0) ||
	    (rc < 0) != (err != NULL) || (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
	pl__release_release(&r);
	return 0;
}
