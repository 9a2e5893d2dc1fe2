/* ref.c - image references for the public API (see oci.h). */
#include "plinth/catalog.h"
#include "oci.h"

int pl_oci_ref_parse(const char *ref, char **dir, char **tag, struct pl_error **err)
{
	return pl__oci_ref_parse(ref, dir, tag, err);
}
