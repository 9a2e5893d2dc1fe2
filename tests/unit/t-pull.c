/* t-pull.c - what pull makes of the manifests and indexes a registry serves. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "oci.h"
#include "push-impl.h"
#include "registry.h"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* JSON written with ' for ". */
static char *q(const char *s)
{
	char *t = strdup(s);
	if (!t) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	for (char *c = t; *c; c++)
		if (*c == '\'')
			*c = '"';
	return t;
}

static char msg[1024];

/* Parse `json` served as `served`: its media type, or NULL with msg set. */
static json_t *parse(const char *json, const char *served, char **mt)
{
	char *text = q(json);
	json_t *j = NULL;
	struct pl_error *err = NULL;
	*mt = NULL;
	msg[0] = '\0';
	if (pl__manifest_parse("ref", text, strlen(text), served, &j, mt, &err) < 0) {
		snprintf(msg, sizeof(msg), "%s", pl_error_message(err));
		pl_error_free(err);
	}
	free(text);
	return j;
}

/* pl__manifest_image() of `json` (served as its own type): the canonical
 * OCI manifest, or NULL with msg set. */
static char *image(const char *json, bool *docker)
{
	char *mt = NULL;
	json_t *j = parse(json, "", &mt), *out = NULL;
	char *text = NULL;
	struct pl_error *err = NULL;
	if (j && pl__manifest_image("img", j, mt, &out, docker, &err) < 0) {
		snprintf(msg, sizeof(msg), "%s", pl_error_message(err));
		pl_error_free(err);
	}
	if (out)
		text = pl__json_canonical(out);
	json_decref(out);
	json_decref(j);
	free(mt);
	return text;
}

static char *pick(const char *json, const char *platform)
{
	char *mt = NULL, *d = NULL;
	json_t *j = parse(json, PL__MT_INDEX, &mt);
	struct pl_error *err = NULL;
	if (j && pl__index_pick(j, platform, &d, &err) < 0) {
		snprintf(msg, sizeof(msg), "%s", pl_error_message(err));
		pl_error_free(err);
	}
	json_decref(j);
	free(mt);
	return d;
}

static const char docker_manifest[] =
    "{'schemaVersion':2,'mediaType':'" PL__MT_DOCKER "',"
    "'config':{'mediaType':'" PL__MT_DOCKER_CFG "','digest':'" D1 "','size':1469},"
    "'layers':[{'mediaType':'application/vnd.docker.image.rootfs.diff.tar.gzip',"
    "'digest':'" D2 "','size':2479},"
    "{'mediaType':'application/vnd.docker.image.rootfs.diff.tar.gzip','digest':'" D3
    "','size':7}]}";

static const char index_json[] = "{'schemaVersion':2,'mediaType':'" PL__MT_INDEX "','manifests':["
				 "{'mediaType':'" PL__MT_MANIFEST "','digest':'" D1 "','size':1,"
				 "'platform':{'os':'linux','architecture':'arm64','variant':'v8'}},"
				 "{'mediaType':'" PL__MT_MANIFEST "','digest':'" D2 "','size':1,"
				 "'platform':{'os':'linux','architecture':'" PL_ARCH "'}},"
				 "{'mediaType':'" PL__MT_MANIFEST "','digest':'" D3 "','size':1,"
				 "'platform':{'os':'windows','architecture':'" PL_ARCH "'}}]}";

int main(void)
{
	char *mt = NULL;
	json_t *j;

	/* parsing, and the type it is */
	j = parse("{'schemaVersion':2,'mediaType':'" PL__MT_MANIFEST "'}", PL__MT_MANIFEST, &mt);
	check(j != NULL);
	check_str(mt, PL__MT_MANIFEST);
	json_decref(j);
	free(mt);
	j = parse("{'schemaVersion':2}", PL__MT_INDEX, &mt);
	check_str(mt, PL__MT_INDEX); /* no type of its own: as served */
	json_decref(j);
	free(mt);
	j = parse("{'schemaVersion':2,'mediaType':'" PL__MT_INDEX "'}", "application/json", &mt);
	check_str(mt, PL__MT_INDEX); /* served as plain JSON: its own */
	json_decref(j);
	free(mt);
	j = parse("{'schemaVersion':2,'mediaType':'" PL__MT_INDEX "'}", PL__MT_MANIFEST, &mt);
	check(j == NULL);
	check_str(msg, "manifest 'ref': served as '" PL__MT_MANIFEST
		       "' but says it is '" PL__MT_INDEX "'");
	j = parse("{'schemaVersion':1}", PL__MT_MANIFEST, &mt);
	check(j == NULL);
	check_str(msg, "manifest 'ref': schemaVersion is not 2");
	j = parse("{'schemaVersion':2,'a':1,'a':2}", PL__MT_MANIFEST, &mt);
	check(j == NULL);
	check(strstr(msg, "duplicate") != NULL);
	j = parse("[]", PL__MT_MANIFEST, &mt);
	check(j == NULL);

	/* Docker schema 2, converted as skopeo does the manifest */
	bool docker = false;
	char *m = image(docker_manifest, &docker);
	check(docker);
	check_str(m, "{\"config\":{\"digest\":\"" D1 "\",\"mediaType\":\"" PL__MT_CONFIG
		     "\",\"size\":1469},\"layers\":[{\"digest\":\"" D2
		     "\",\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":"
		     "2479},{\"digest\":\"" D3
		     "\",\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":7}]"
		     ",\"mediaType\":\"" PL__MT_MANIFEST "\",\"schemaVersion\":2}");
	free(m);

	/* an OCI manifest is kept as it is */
	static const char oci[] = "{'schemaVersion':2,'mediaType':'" PL__MT_MANIFEST
				  "','config':{'mediaType':'" PL__MT_CONFIG "','digest':'" D1
				  "','size':3},'layers':[{'mediaType':'application/"
				  "vnd.oci.image.layer.v1.tar+zstd','digest':'" D2
				  "','size':4}],'annotations':{'a':'b'}}";
	m = image(oci, &docker);
	check(!docker);
	check(m && strstr(m, "\"annotations\":{\"a\":\"b\"}"));
	free(m);

	/* what is refused */
	m = image("{'schemaVersion':2,'mediaType':'" PL__MT_MANIFEST
		  "','config':{'mediaType':'application/vnd.oci.empty.v1+json','digest':'" D1
		  "','size':2},'layers':[]}",
		  &docker);
	check(m == NULL);
	check_str(msg, "'img': its config is a 'application/vnd.oci.empty.v1+json', not an image "
		       "config");
	m = image("{'schemaVersion':2,'mediaType':'" PL__MT_MANIFEST
		  "','config':{'mediaType':'" PL__MT_CONFIG "','digest':'" D1
		  "','size':2},'layers':[{'mediaType':'application/"
		  "vnd.oci.image.layer.nondistributable.v1.tar+gzip','digest':'" D2
		  "','size':1,'urls':['http://x']}]}",
		  &docker);
	check(m == NULL);
	check(strstr(msg, "layers[0]: media type") != NULL);
	m = image("{'schemaVersion':2,'mediaType':'" PL__MT_MANIFEST
		  "','config':{'mediaType':'" PL__MT_CONFIG
		  "','digest':'sha256:abc','size':2},'layers':[]}",
		  &docker);
	check(m == NULL);
	check(strstr(msg, "not a descriptor") != NULL);
	m = image("{'schemaVersion':2,'mediaType':'" PL__MT_MANIFEST
		  "','config':{'mediaType':'" PL__MT_CONFIG "','digest':'" D1
		  "','size':-1},'layers':[]}",
		  &docker);
	check(m == NULL);
	m = image("{'schemaVersion':2,'mediaType':'" PL__MT_DOCKER
		  "','config':{'mediaType':'" PL__MT_DOCKER_CFG "','digest':'" D1
		  "','size':2},'layers':[{'mediaType':'application/"
		  "vnd.docker.image.rootfs.foreign.diff.tar.gzip','digest':'" D2 "','size':1}]}",
		  &docker);
	check(m == NULL);
	check(strstr(msg, "foreign") != NULL);
	m = image("{'schemaVersion':2,'mediaType':'application/vnd.oci.artifact.manifest.v1+json'}",
		  &docker);
	check(m == NULL);
	check(strstr(msg, "not an image manifest") != NULL);

	/* platforms of an index */
	char *d = pick(index_json, NULL);
	check_str(d, D2);
	free(d);
	d = pick(index_json, "linux/arm64/v8");
	check_str(d, D1);
	free(d);
	d = pick(index_json, "linux/arm64");
	check_str(d, D1); /* no variant asked: any */
	free(d);
	d = pick(index_json, "windows/" PL_ARCH);
	check_str(d, D3);
	free(d);
	d = pick(index_json, "linux/s390x");
	check(d == NULL);
	check_str(msg, "the index has no image for platform 'linux/s390x'");
	d = pick(index_json, "linux");
	check(d == NULL);
	check_str(msg, "platform 'linux' is not OS/ARCH[/VARIANT]");
	return tap_done();
}
