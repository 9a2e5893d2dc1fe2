/*
 * fuzz-rebuild.c - libFuzzer target for what the rebuild storm reads back
 * from its output directory, which others may have written to: journal
 * lines, and layer cache entries (checked against no base and against an
 * empty one, whose answers to any questions are computed).  The first
 * byte picks which.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layercache.h"
#include "rebuild-impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (data[0] & 1) {
		unsigned last = 0;
		bool finished = false;
		pl__journal_scan(text, len, &last, &finished);
		if (last == 0 && !finished)
			abort();
		return 0;
	}
	struct pl_error *err = NULL;
	struct pl__baseimg *empty = pl__baseimg_new(&err);
	if (!empty || pl__baseimg_finish(empty, &err) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		struct pl__cached_layer l;
		char *layout = NULL;
		int rc = pl__layer_cache_entry(text, len, i ? empty : NULL, &l, &layout, &err);
		if (rc < 0 || (rc == 1) != (layout != NULL) || (layout && layout[0] != '/'))
			abort();
		if (rc == 1)
			json_decref(l.pinned);
		free(layout);
	}
	pl__baseimg_free(empty);
	return 0;
}
