/*
 * scan-impl.h - the image scan, for build's gate as well as plinth scan.
 */
#ifndef PLINTH_SCAN_IMPL_H
#define PLINTH_SCAN_IMPL_H

#include "baseimg.h"
#include "plinth/check.h"

/* pl_scan() of the image whose manifest lists `layers`, read from `src`
 * (a build's gate scans before the layout has the image). */
int pl__scan_layers(const struct pl__blob_source *src, const json_t *layers,
		    const struct pl_scan_options *o, struct pl_findings **out,
		    struct pl_error **err);

#endif
