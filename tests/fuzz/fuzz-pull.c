/*
 * fuzz-pull.c - libFuzzer target for the manifests and indexes a registry
 * serves, which come from outside: the first byte picks the Content-Type
 * they are served with, the rest is the document.  It is parsed as pull
 * parses it, then taken as an index (a platform picked) or as an image
 * (checked, a Docker one converted).  Besides the sanitizers it checks
 * what pull relies on: errors carry a message, a picked digest is a sha256
 * digest, and an image taken is an OCI manifest whose descriptors are
 * whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "oci.h"
#include "push-impl.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const served[] = {
	"",
	"application/json",
	PL__MT_MANIFEST,
	PL__MT_INDEX,
	PL__MT_DOCKER,
	PL__MT_DOCKER_LIST,
	"application/vnd.oci.image.config.v1+json",
};

static void check_error(int rc, struct pl_error *err)
{
	if (rc >= 0)
		return;
	if (!err || !*pl_error_message(err) || pl_error_code(err) != rc)
		abort();
	pl_error_free(err);
}

static void check_descriptor(const json_t *d)
{
	uint8_t raw[PL_SHA256_LEN];
	const char *digest = json_string_value(json_object_get(d, "digest"));
	const json_t *size = json_object_get(d, "size");
	if (!digest || !pl__digest_parse(digest, raw) || !json_is_integer(size) ||
	    json_integer_value(size) < 0 || !json_is_string(json_object_get(d, "mediaType")))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *type = served[data[0] % (sizeof(served) / sizeof(served[0]))];
	struct pl_error *err = NULL;
	json_t *j = NULL;
	char *mt = NULL;
	int rc = pl__manifest_parse("fuzz", (const char *)data + 1, size - 1, type, &j, &mt, &err);
	check_error(rc, err);
	if (rc < 0)
		return 0;
	err = NULL;
	if (!strcmp(mt, PL__MT_INDEX) || !strcmp(mt, PL__MT_DOCKER_LIST)) {
		static const char *const platforms[] = { NULL, "linux/arm64/v8", "windows/amd64",
							 "linux" };
		for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
			char *pick = NULL;
			uint8_t raw[PL_SHA256_LEN];
			err = NULL;
			rc = pl__index_pick(j, platforms[i], &pick, &err);
			check_error(rc, err);
			if (rc == 0 && !pl__digest_parse(pick, raw))
				abort();
			free(pick);
		}
	} else {
		json_t *m = NULL;
		bool docker = false;
		rc = pl__manifest_image("fuzz", j, mt, &m, &docker, &err);
		check_error(rc, err);
		if (rc == 0) {
			size_t i;
			const json_t *l;
			const char *omt = json_string_value(json_object_get(m, "mediaType"));
			if (docker && (!omt || strcmp(omt, PL__MT_MANIFEST)))
				abort();
			check_descriptor(json_object_get(m, "config"));
			json_array_foreach (json_object_get(m, "layers"), i, l)
				check_descriptor(l);
			char *text = pl__json_canonical(m);
			free(text);
			json_decref(m);
		}
	}
	json_decref(j);
	free(mt);
	return 0;
}
