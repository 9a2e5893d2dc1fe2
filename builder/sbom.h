/*
 * sbom.h - the SBOM of an image, for `plinth sbom` and for a build that
 * stores one beside the image it wrote (see plinth/sbom.h for what it
 * holds).
 *
 * SPDX: the document DESCRIBES the image, a package (primaryPackagePurpose
 * CONTAINER) that CONTAINS each Debian package and each file listed; its
 * files were analysed, and its verification code covers every regular
 * file of the image, the packages' too.  A Debian package's files are not
 * analysed (filesAnalyzed false): the md5sums name them, the SBOM does not.
 * CycloneDX: metadata.component is the image (type "container"); the
 * components are the Debian packages (type "application": the spec's
 * choice for software whose kind is not known, and a package may be a
 * program, a library or data) and the files (type "file").
 *
 * The files listed are the regular files (and hard links to them) that no
 * installed package's md5sums lists: what the recipe copied and what plinth
 * generated, /etc/passwd, the CA bundle and the status.d files (with the
 * md5sums themselves) included.  Symbolic links and directories are not
 * files here.
 */
#ifndef PLINTH_SBOM_INTERNAL_H
#define PLINTH_SBOM_INTERNAL_H

#include <jansson.h>

#include "plinth/sbom.h"
#include "baseimg.h"

/* The media types of the two formats, for an SBOM stored as an artifact. */
#define PL__MT_SPDX      "application/spdx+json"
#define PL__MT_CYCLONEDX "application/vnd.cyclonedx+json"

/* PL__MT_SPDX or PL__MT_CYCLONEDX. */
const char *pl__sbom_media_type(enum pl_sbom_format fmt);

/*
 * The SBOM, in format `fmt`, of the image whose manifest has the digest
 * `manifest_digest` and the "layers" `manifest_layers` (each blob read from
 * `src` and checked), and whose parsed config is `config`.  `name` and
 * `version` name the image (a build passes the recipe's name and the
 * image's version, what it writes as the title and version annotations).
 *
 * @return 0 with *out (NUL-terminated JSON and a newline; free() it) and
 *         *len, or a negative pl_code with *err set.
 */
int pl__sbom_make(const struct pl__blob_source *src, const json_t *manifest_layers,
		  const json_t *config, const uint8_t manifest_digest[PL_SHA256_LEN],
		  const char *name, const char *version, enum pl_sbom_format fmt, char **out,
		  size_t *len, struct pl_error **err);

#endif
