/*
 * fuzz-deb.c - libFuzzer target for the .deb reader: the ar container,
 * control.tar and data.tar through every decompressor.  Every returned
 * entry is checked against the invariants deb.h promises, every byte of
 * content is touched so ASan sees any buffer shorter than its size, and
 * the error contract of plinth/common.h is checked as in the other targets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deb.h"

#define INPUT_MAX ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct pl__deb_entry *e)
{
	size_t n = strlen(e->path);
	if (n == 0 || n > PL_PATH_MAX || e->path[0] == '/' || e->path[n - 1] == '/' ||
	    strstr(e->path, "//") || !pl__utf8_valid(e->path) || (e->mode & ~07777u))
		abort();
	for (const char *c = e->path; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (!strncmp(c, "..", 2) && (c[2] == '/' || c[2] == '\0'))
			abort();
		if (c[0] == '.' && (c[1] == '/' || c[1] == '\0'))
			abort();
	}
	volatile unsigned sum = 0;
	switch (e->kind) {
	case PL__DEB_REG:
		if (!e->data || e->target)
			abort();
		for (uint64_t i = 0; i < e->size; i++)
			sum += (unsigned char)e->data[i];
		break;
	case PL__DEB_DIR:
		if (e->data || e->target || e->size)
			abort();
		break;
	case PL__DEB_SYMLINK:
	case PL__DEB_HARDLINK:
		if (e->data || !e->target || !e->target[0] || e->size)
			abort();
		break;
	default:
		abort();
	}
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	struct pl__deb d;
	struct pl_error *err = NULL;
	int rc = pl__deb_read(data, size, "fuzz.deb", &d, &err);
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	if (rc < 0) {
		if (d.e || d.n || d.control || d.md5sums)
			abort();
	} else {
		if (!d.control || d.control[d.control_len] != '\0')
			abort();
		for (size_t i = 0; i < d.n; i++) {
			check_entry(&d.e[i]);
			/* Quadratic: only for small archives. */
			for (size_t j = 0; d.n <= 512 && j < i && d.e[i].kind == PL__DEB_HARDLINK;
			     j++)
				if (!strcmp(d.e[j].path, d.e[i].target) &&
				    d.e[j].kind != PL__DEB_REG)
					abort();
		}
	}
	pl_error_free(err);
	pl__deb_release(&d);
	return 0;
}
