/*
 * fuzz-deb822.c - libFuzzer target for the control-format reader (Packages,
 * Release, control and .sources files).  Every field's name and value is
 * read, so ASan sees any pointer outside the input; the error contract of
 * plinth/common.h is checked as in the other targets.
 */
#include <stdint.h>
#include <stdlib.h>

#include "deb822.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl__deb822 d;
	struct pl__para p = { 0 };
	struct pl_error *err = NULL;
	pl__deb822_init(&d, "fuzz", data ? (const char *)data : "", size);
	volatile unsigned sum = 0;
	int rc;
	while ((rc = pl__deb822_next(&d, &p, &err)) == 1) {
		if (err || p.n == 0)
			abort();
		for (size_t i = 0; i < p.n; i++) {
			for (size_t j = 0; j < p.f[i].name_len; j++)
				sum += (unsigned char)p.f[i].name[j];
			for (size_t j = 0; j < p.f[i].value_len; j++)
				sum += (unsigned char)p.f[i].value[j];
		}
	}
	(void)sum;
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
	pl__para_release(&p);
	return 0;
}
