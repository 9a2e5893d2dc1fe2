/*
 * plinth/sbom.h - software bills of materials for images: SPDX 2.3 JSON and
 * CycloneDX 1.5 JSON.
 *
 * An SBOM describes the image itself (its manifest digest, name and
 * version), every installed Debian package (name, version, architecture,
 * source package and a purl) and every regular file no package owns (path
 * and sha256, with SHA1 too in SPDX, which requires one on every file).  A
 * package owns the files its /var/lib/dpkg/status.d/PKG.md5sums lists.
 * The SBOM is a function of the image alone: the same image gives the same
 * bytes, whoever makes it when (its timestamps are the image config's
 * "created", its identifiers derive from the manifest digest).
 */
#ifndef PLINTH_SBOM_H
#define PLINTH_SBOM_H

#include "plinth/common.h"

enum pl_sbom_format {
	PL_SBOM_SPDX = 0,      /* SPDX 2.3, JSON */
	PL_SBOM_CYCLONEDX = 1, /* CycloneDX 1.5, JSON */
};

/**
 * The format called `name` ("spdx" or "cyclonedx") in *out.
 *
 * @return true, or false for any other name (*out untouched).
 */
bool pl_sbom_format_parse(const char *name, enum pl_sbom_format *out);

/**
 * Describe the image `tag` of the OCI layout `dir` in format `fmt`: every
 * layer is read (and checked against its digest).  The image's name and
 * version are its org.opencontainers.image.title and .version annotations,
 * or `tag` for either one it lacks.
 *
 * @return 0 with *out (NUL-terminated JSON and a newline; the caller frees
 *         it) and *len its length, or a negative pl_code with *err set
 *         ("image 'oci:DIR:TAG': ...").
 */
int pl_sbom_image(const char *dir, const char *tag, enum pl_sbom_format fmt, char **out,
		  size_t *len, struct pl_error **err);

/**
 * Write the `len` bytes of `text` to `path` atomically: a temporary file
 * beside it, fsync, rename over `path`, fsync of the directory.  On
 * failure `path` is as it was.
 *
 * @return 0, or a negative pl_code with *err set.
 */
int pl_sbom_write(const char *path, const char *text, size_t len, struct pl_error **err);

#endif
