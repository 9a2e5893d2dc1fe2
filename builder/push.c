/*
 * push.c - images to and from registries: pl_push(), pl_pull(),
 * pl_registry_tags() (see plinth/registry.h).
 *
 * Both directions first work out every blob to move (the image's, its
 * signature's and its artifacts'), move them on `jobs` threads, each with
 * its own connection, and only then write manifests: a registry never
 * holds a manifest whose blobs it lacks, and a pull commits the layout
 * once, after everything arrived whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "layout.h"
#include "oci.h"
#include "push-impl.h"
#include "regref.h"
#include "registry.h"

#define JOBS_DEFAULT   4
#define JOBS_MAX       64
#define LAYERS_MAX     256 /* in a pulled image */
#define ARTIFACTS_MAX  64  /* artifacts pulled about an image */
#define PROGRESS_MS    200
#define SIG_ARTIFACT   "application/vnd.dev.cosign.simplesigning.v1+json"
#define MT_LAYER_TAR   "application/vnd.oci.image.layer.v1.tar"
#define MT_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* What a manifest GET accepts. */
#define ACCEPT_ANY   PL__MT_MANIFEST ", " PL__MT_INDEX ", " PL__MT_DOCKER ", " PL__MT_DOCKER_LIST
#define ACCEPT_IMAGE PL__MT_MANIFEST ", " PL__MT_DOCKER

struct blob {
	char digest[PL_DIGEST_STR_LEN + 1];
	uint64_t size;
};

struct blobs {
	struct blob *v;
	size_t n, alloc;
};

static void blobs_release(struct blobs *b)
{
	free(b->v);
}
#define cleanup_blobs __attribute__((cleanup(blobs_release)))

/* Check the descriptor `d` (`what` names it in errors) and add its blob,
 * once. */
static int blobs_add(struct blobs *b, const json_t *d, const char *what, struct pl_error **err)
{
	const char *digest = json_string_value(json_object_get(d, "digest"));
	const json_t *size = json_object_get(d, "size");
	uint8_t raw[PL_SHA256_LEN];
	if (!json_is_object(d) || !digest || !pl__digest_parse(digest, raw) ||
	    !json_is_integer(size) || json_integer_value(size) < 0 ||
	    !json_is_string(json_object_get(d, "mediaType")))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: not a descriptor with mediaType, a sha256 digest and a "
				     "size",
				     what);
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].digest, digest))
			return 0;
	if (pl__grow(&b->v, &b->alloc, b->n + 1, sizeof(*b->v), err) < 0)
		return PL_ENOMEM;
	struct blob *x = &b->v[b->n++];
	snprintf(x->digest, sizeof(x->digest), "%s", digest);
	x->size = (uint64_t)json_integer_value(size);
	return 0;
}

/* A manifest's config and layers. */
static int blobs_of(struct blobs *b, const json_t *m, const char *what, struct pl_error **err)
{
	cleanup_free char *w = pl__asprintf(err, "%s: config", what);
	int rc = w ? blobs_add(b, json_object_get(m, "config"), w, err) : PL_ENOMEM;
	const json_t *layers = json_object_get(m, "layers");
	if (rc == 0 && !json_is_array(layers))
		rc = pl__error_set(err, PL_EINVAL, 0, "%s: no layers", what);
	if (rc == 0 && json_array_size(layers) > LAYERS_MAX)
		rc = pl__error_set(err, PL_ELIMIT, 0, "%s: more than %d layers", what, LAYERS_MAX);
	size_t i;
	const json_t *l;
	json_array_foreach (layers, i, l) {
		if (rc < 0)
			break;
		free(w);
		w = pl__asprintf(err, "%s: layers[%zu]", what, i);
		rc = w ? blobs_add(b, l, w, err) : PL_ENOMEM;
	}
	return rc;
}

/* ---- moving blobs on several threads ------------------------------ */

struct pool {
	struct pl__registry *r;
	const struct pl_registry_options *o;
	const char *repo;
	bool pull;
	const char *dir;  /* push: the layout read; pull: the layout written */
	const char *from; /* push: mount from this repository */
	struct pl__layout *l;
	pthread_mutex_t lmu; /* pull: guards l */
	const struct blob *v;
	size_t n;
	uint64_t total;
	atomic_size_t next;
	atomic_bool failed;
	atomic_uint done, workers;
	atomic_uint moved, mounted, present; /* moved: uploaded, or downloaded */
	_Atomic uint64_t bytes;
	pthread_mutex_t emu; /* guards err */
	struct pl_error *err;
	int rc;
};

static int push_one(struct pool *p, struct pl__regconn *c, const struct blob *b,
		    struct pl_error **err)
{
	int rc = pl__reg_blob_exists(c, p->repo, b->digest, NULL, err);
	if (rc <= 0) {
		if (rc == 0)
			atomic_fetch_add(&p->present, 1);
		return rc;
	}
	uint8_t d[PL_SHA256_LEN];
	pl__digest_parse(b->digest, d);
	cleanup_close int fd = -1;
	if ((rc = pl__blob_open(p->dir, d, &fd, err)) < 0)
		return rc;
	uint64_t sent = 0;
	rc = pl__reg_blob_put(c, p->repo, b->digest, b->size, fd, p->from, &sent, err);
	if (rc == 1) {
		atomic_fetch_add(&p->mounted, 1);
	} else if (rc == 0) {
		atomic_fetch_add(&p->moved, 1);
		atomic_fetch_add(&p->bytes, sent);
	}
	return rc < 0 ? rc : 0;
}

static int fetch_one(struct pool *p, struct pl__regconn *c, const struct blob *b,
		     struct pl_error **err)
{
	uint8_t d[PL_SHA256_LEN];
	pl__digest_parse(b->digest, d);
	int rc;
	if (pl__blob_present(p->dir, b->digest)) { /* checked as it is staged */
		pthread_mutex_lock(&p->lmu);
		rc = pl__layout_blob_copy(p->l, p->dir, d, b->size, err);
		pthread_mutex_unlock(&p->lmu);
		if (rc == 0)
			atomic_fetch_add(&p->present, 1);
		return rc;
	}
	int fd = -1;
	unsigned seq = 0;
	pthread_mutex_lock(&p->lmu);
	rc = pl__layout_blob_open(p->l, &fd, &seq, err);
	pthread_mutex_unlock(&p->lmu);
	if (rc < 0)
		return rc;
	if ((rc = pl__reg_blob_get(c, p->repo, b->digest, b->size, fd, err)) < 0) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&p->lmu);
	rc = pl__layout_blob_close(p->l, fd, seq, d, err);
	pthread_mutex_unlock(&p->lmu);
	if (rc == 0) {
		atomic_fetch_add(&p->moved, 1);
		atomic_fetch_add(&p->bytes, b->size);
	}
	return rc;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	struct pl_error *e = NULL;
	struct pl__regconn *c = NULL;
	int rc = pl__regconn_new(p->r, &c, &e);
	while (rc == 0 && !atomic_load(&p->failed)) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		const struct blob *b = &p->v[i];
		rc = p->pull ? fetch_one(p, c, b, &e) : push_one(p, c, b, &e);
		if (rc < 0)
			rc = pl__error_wrap(&e, rc, "blob %s", b->digest);
		atomic_fetch_add(&p->done, 1);
	}
	if (rc < 0) {
		atomic_store(&p->failed, true);
		pthread_mutex_lock(&p->emu);
		if (!p->err) {
			p->err = e;
			p->rc = rc;
			e = NULL;
		}
		pthread_mutex_unlock(&p->emu);
		pl_error_free(e);
	}
	pl__regconn_free(c);
	atomic_fetch_sub(&p->workers, 1);
	return NULL;
}

static void report(struct pool *p)
{
	if (!p->o->progress)
		return;
	struct pl_transfer t = { .bytes_done = pl__registry_moved(p->r),
				 .bytes_total = p->total,
				 .blobs_done = atomic_load(&p->done),
				 .blobs_total = (unsigned)p->n };
	if (t.bytes_done > t.bytes_total)
		t.bytes_done = t.bytes_total;
	p->o->progress(p->o->progress_ctx, &t);
}

/* Move the blobs of `p` (set up but for the counters), on up to o->jobs threads. */
static int run_pool(struct pool *p, struct pl_error **err)
{
	if (p->n == 0)
		return 0;
	for (size_t i = 0; i < p->n; i++)
		p->total += p->v[i].size;
	unsigned jobs = p->o->jobs ? p->o->jobs : JOBS_DEFAULT;
	if (jobs > JOBS_MAX)
		jobs = JOBS_MAX;
	if (jobs > p->n)
		jobs = (unsigned)p->n;
	pthread_mutex_init(&p->lmu, NULL);
	pthread_mutex_init(&p->emu, NULL);
	pthread_t tid[JOBS_MAX];
	unsigned started = 0;
	atomic_store(&p->workers, jobs);
	for (; started < jobs; started++)
		if (pthread_create(&tid[started], NULL, worker, p) != 0)
			break;
	/* threads that could not start: their share is done by those that did,
	 * or here */
	atomic_fetch_sub(&p->workers, jobs - started);
	if (started == 0) {
		atomic_store(&p->workers, 1);
		worker(p);
	}
	while (p->o->progress && atomic_load(&p->workers) > 0) {
		report(p);
		struct timespec ts = { 0, PROGRESS_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	report(p);
	pthread_mutex_destroy(&p->lmu);
	pthread_mutex_destroy(&p->emu);
	if (p->err) {
		if (err)
			*err = p->err;
		else
			pl_error_free(p->err);
		p->err = NULL;
		return p->rc;
	}
	return 0;
}

/* ---- push --------------------------------------------------------- */

/* An artifact of the layout to push: its manifest and where it goes. */
struct art {
	char *manifest;
	size_t len;
	json_t *mjson;
	char digest[PL_DIGEST_STR_LEN + 1];
	const char *artifact_type; /* in mjson */
};

static void arts_release(struct art *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].manifest);
		json_decref(a[i].mjson);
	}
	free(a);
}

void pl_push_result_release(struct pl_push_result *r)
{
	for (size_t i = 0; r && i < r->nartifacts; i++) {
		free(r->artifacts[i].reference);
		free(r->artifacts[i].artifact_type);
	}
	if (r) {
		free(r->artifacts);
		r->artifacts = NULL;
		r->nartifacts = 0;
	}
}

static int result_add(struct pl_push_result *res, char *reference, const char *type,
		      struct pl_error **err)
{
	size_t alloc = res->nartifacts;
	char *t = reference ? pl__strdup(type, err) : NULL;
	if (!t || pl__grow(&res->artifacts, &alloc, res->nartifacts + 1, sizeof(*res->artifacts),
			   err) < 0) {
		free(reference);
		free(t);
		return PL_ENOMEM;
	}
	res->artifacts[res->nartifacts++] = (struct pl_pushed_artifact){ reference, t };
	return 0;
}

/* The artifacts stored about the image `im` of `dir`: its signature, then
 * the referrers index.json lists. */
static int push_artifacts_read(const char *dir, const struct pl__image *im, struct art **out,
			       size_t *n, struct pl_error **err)
{
	*out = NULL;
	*n = 0;
	cleanup_json json_t *list = NULL;
	int rc = pl__referrers_list(dir, im->digest, &list, err);
	if (rc < 0)
		return rc;
	size_t alloc = 0, i;
	json_t *d;
	json_array_foreach (list, i, d) {
		const char *ds = json_string_value(json_object_get(d, "digest"));
		uint8_t raw[PL_SHA256_LEN];
		if (!ds || !pl__digest_parse(ds, raw))
			continue;
		if (pl__grow(out, &alloc, *n + 1, sizeof(**out), err) < 0)
			return PL_ENOMEM;
		struct art *a = &(*out)[*n];
		memset(a, 0, sizeof(*a));
		(*n)++;
		snprintf(a->digest, sizeof(a->digest), "%s", ds);
		if ((rc = pl__blob_read(dir, raw, PL__MANIFEST_MAX, &a->manifest, &a->len, err)) <
			0 ||
		    (rc = pl__json_parse(ds, a->manifest, a->len, &a->mjson, err)) < 0)
			return pl__error_wrap(err, rc, "artifact %s", ds);
		a->artifact_type = json_string_value(json_object_get(a->mjson, "artifactType"));
		if (!a->artifact_type)
			return pl__error_set(err, PL_EINVAL, 0, "artifact %s has no artifactType",
					     ds);
	}
	return 0;
}

/* Add the artifacts `arts` to the referrers tag of `subject` (an index the
 * registry keeps for registries without the referrers API). */
static int referrers_tag(struct pl__regconn *c, const char *repo, const char *subject,
			 const struct art *arts, size_t n, struct pl_error **err)
{
	char tag[PL_DIGEST_STR_LEN + 1];
	snprintf(tag, sizeof(tag), "sha256-%s", subject + strlen("sha256:"));
	cleanup_free char *body = NULL, *mt = NULL;
	size_t len = 0;
	uint8_t d[PL_SHA256_LEN];
	int rc = pl__reg_manifest_get(c, repo, tag, PL__MT_INDEX, &body, &len, &mt, d, err);
	if (rc < 0)
		return rc;
	cleanup_json json_t *idx = NULL;
	if (rc == 0 && pl__json_parse(tag, body, len, &idx, NULL) == 0 &&
	    json_is_array(json_object_get(idx, "manifests"))) {
		/* kept as it is, with ours added */
	} else {
		json_decref(idx);
		idx = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", PL__MT_INDEX,
				"manifests");
		if (!idx)
			return pl__error_nomem(err);
	}
	json_t *m = json_object_get(idx, "manifests");
	bool changed = rc == 1;
	for (size_t k = 0; k < n; k++) {
		bool have = false;
		size_t i;
		json_t *e;
		json_array_foreach (m, i, e) {
			const char *ed = json_string_value(json_object_get(e, "digest"));
			have |= ed && !strcmp(ed, arts[k].digest);
		}
		if (have)
			continue;
		json_t *desc = json_pack("{s:s, s:s, s:I, s:s}", "mediaType", PL__MT_MANIFEST,
					 "digest", arts[k].digest, "size", (json_int_t)arts[k].len,
					 "artifactType", arts[k].artifact_type);
		json_t *ann = json_object_get(arts[k].mjson, "annotations");
		if (desc && json_is_object(ann))
			json_object_set(desc, "annotations", ann);
		if (json_array_append_new(m, desc) < 0)
			return pl__error_nomem(err);
		changed = true;
	}
	if (!changed)
		return 0;
	cleanup_free char *text = pl__json_canonical(idx);
	if (!text)
		return pl__error_nomem(err);
	return pl__reg_manifest_put(c, repo, tag, PL__MT_INDEX, text, strlen(text), NULL, err);
}

static int push(const char *src, const char *dst, const char *mount_from,
		const struct pl_registry_options *o, struct pl_push_result *res,
		struct pl_error **err)
{
	cleanup_free char *dir = NULL, *tag = NULL;
	int rc = pl__oci_ref_parse(src, &dir, &tag, err);
	if (rc < 0)
		return rc;
	cleanup_regref struct pl__regref ref = { 0 };
	if ((rc = pl__regref_parse(dst, &ref, err)) < 0)
		return rc;
	if (!ref.tag || ref.digest)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s': a push names a tag (HOST/REPO:TAG), not a digest", dst);
	if (mount_from) {
		/* a repository of the same registry, by the same grammar */
		cleanup_free char *full = pl__asprintf(err, "%s/%s", ref.registry, mount_from);
		cleanup_regref struct pl__regref other = { 0 };
		if (!full)
			return PL_ENOMEM;
		if ((rc = pl__regrepo_parse(full, &other, err)) < 0)
			return pl__error_wrap(err, rc, "mounting from '%s'", mount_from);
	}
	cleanup_image struct pl__image im = { 0 };
	if ((rc = pl__image_open(dir, tag, false, &im, err)) < 0)
		return rc;
	char ds[PL_DIGEST_STR_LEN + 1], sigtag[PL_DIGEST_STR_LEN + 8];
	pl__digest_str(im.digest, ds);
	snprintf(sigtag, sizeof(sigtag), "sha256-%s.sig", ds + 7);
	cleanup_image struct pl__image sig = { 0 };
	if ((rc = pl__image_open(dir, sigtag, true, &sig, err)) < 0)
		return rc;
	bool has_sig = rc == 0;
	struct art *arts = NULL;
	size_t narts = 0;
	rc = push_artifacts_read(dir, &im, &arts, &narts, err);

	cleanup_blobs struct blobs blobs = { 0 };
	if (rc == 0)
		rc = blobs_of(&blobs, im.mjson, "the image's manifest", err);
	if (rc == 0 && has_sig)
		rc = blobs_of(&blobs, sig.mjson, "its signature's manifest", err);
	for (size_t i = 0; rc == 0 && i < narts; i++)
		rc = blobs_of(&blobs, arts[i].mjson, arts[i].digest, err);

	cleanup_registry struct pl__registry *r = NULL;
	if (rc == 0)
		rc = pl__registry_open(ref.registry, ref.repo, true, o, &r, err);
	struct pool p = { .r = r,
			  .o = o,
			  .repo = ref.repo,
			  .dir = dir,
			  .from = mount_from,
			  .v = blobs.v,
			  .n = blobs.n };
	if (rc == 0)
		rc = run_pool(&p, err);
	cleanup_regconn struct pl__regconn *c = NULL;
	if (rc == 0)
		rc = pl__regconn_new(r, &c, err);
	/* what is about the image first, its tag last: a push that fails
	 * half way leaves no tag on an image without its signature */
	bool kept = true; /* the registry keeps referrers itself */
	for (size_t i = 0; rc == 0 && i < narts; i++) {
		bool subject = false;
		rc = pl__reg_manifest_put(c, ref.repo, arts[i].digest, PL__MT_MANIFEST,
					  arts[i].manifest, arts[i].len, &subject, err);
		kept &= subject;
		if (rc == 0)
			rc = result_add(
			    res,
			    pl__asprintf(err, "%s/%s@%s", ref.registry, ref.repo, arts[i].digest),
			    arts[i].artifact_type, err);
	}
	if (rc == 0 && narts && !kept)
		rc = referrers_tag(c, ref.repo, ds, arts, narts, err);
	if (rc == 0 && has_sig) {
		rc = pl__reg_manifest_put(c, ref.repo, sigtag, PL__MT_MANIFEST, sig.manifest,
					  (size_t)sig.size, NULL, err);
		if (rc == 0)
			rc = result_add(
			    res, pl__asprintf(err, "%s/%s:%s", ref.registry, ref.repo, sigtag),
			    SIG_ARTIFACT, err);
	}
	const char *mt = json_string_value(json_object_get(im.mjson, "mediaType"));
	if (rc == 0)
		rc = pl__reg_manifest_put(c, ref.repo, ref.tag, mt ? mt : PL__MT_MANIFEST,
					  im.manifest, (size_t)im.size, NULL, err);
	arts_release(arts, narts);
	if (rc < 0)
		return rc;
	snprintf(res->digest, sizeof(res->digest), "%s", ds);
	res->uploaded = atomic_load(&p.moved);
	res->mounted = atomic_load(&p.mounted);
	res->present = atomic_load(&p.present);
	res->bytes_uploaded = atomic_load(&p.bytes);
	return 0;
}

int pl_push(const char *src, const char *dst, const char *mount_from,
	    const struct pl_registry_options *o, struct pl_push_result *res, struct pl_error **err)
{
	memset(res, 0, sizeof(*res));
	int rc = push(src, dst, mount_from, o, res, err);
	if (rc < 0) {
		pl_push_result_release(res);
		return pl__error_wrap(err, rc, "push '%s' to '%s'", src, dst);
	}
	return 0;
}

/* ---- pull --------------------------------------------------------- */

int pl__index_pick(const json_t *idx, const char *platform, char **digest, struct pl_error **err)
{
	cleanup_free char *want = pl__strdup(platform ? platform : "linux/" PL_ARCH, err);
	if (!want)
		return PL_ENOMEM;
	char *arch = strchr(want, '/');
	if (!arch)
		return pl__error_set(err, PL_EINVAL, 0, "platform '%s' is not OS/ARCH[/VARIANT]",
				     want);
	*arch++ = '\0';
	char *variant = strchr(arch, '/');
	if (variant)
		*variant++ = '\0';
	size_t i;
	const json_t *d;
	json_array_foreach (json_object_get(idx, "manifests"), i, d) {
		const json_t *pf = json_object_get(d, "platform");
		const char *os = json_string_value(json_object_get(pf, "os"));
		const char *a = json_string_value(json_object_get(pf, "architecture"));
		const char *v = json_string_value(json_object_get(pf, "variant"));
		const char *ds = json_string_value(json_object_get(d, "digest"));
		uint8_t raw[PL_SHA256_LEN];
		if (os && a && !strcmp(os, want) && !strcmp(a, arch) &&
		    (!variant || (v && !strcmp(v, variant))) && ds && pl__digest_parse(ds, raw))
			return (*digest = pl__strdup(ds, err)) ? 0 : PL_ENOMEM;
	}
	return pl__error_set(err, PL_EINVAL, 0, "the index has no image for platform '%s/%s%s%s'",
			     want, arch, variant ? "/" : "", variant ? variant : "");
}

/* The OCI manifest for the Docker schema 2 manifest `m` (as skopeo
 * converts it: same config and layers, OCI media types). */
static int docker_to_oci(const json_t *m, json_t **out, struct pl_error **err)
{
	const json_t *cfg = json_object_get(m, "config");
	const char *cmt = json_string_value(json_object_get(cfg, "mediaType"));
	if (!cmt || strcmp(cmt, PL__MT_DOCKER_CFG))
		return pl__error_set(err, PL_EINVAL, 0,
				     "a Docker manifest whose config is not a Docker image config");
	if (!json_is_array(json_object_get(m, "layers")))
		return pl__error_set(err, PL_EINVAL, 0, "a Docker manifest without layers");
	cleanup_json json_t *o = json_pack("{s:i, s:s, s:{s:s, s:O, s:O}, s:[]}", "schemaVersion",
					   2, "mediaType", PL__MT_MANIFEST, "config", "mediaType",
					   PL__MT_CONFIG, "digest", json_object_get(cfg, "digest"),
					   "size", json_object_get(cfg, "size"), "layers");
	if (!o)
		return pl__error_set(err, PL_EINVAL, 0, "a Docker manifest without a whole config");
	size_t i;
	const json_t *l;
	json_array_foreach (json_object_get(m, "layers"), i, l) {
		const char *lmt = json_string_value(json_object_get(l, "mediaType"));
		if (!lmt || strcmp(lmt, MT_DOCKER_GZIP))
			return pl__error_set(err, PL_EINVAL, 0,
					     "Docker manifest layers[%zu]: media type '%s' is not "
					     "supported",
					     i, lmt ? lmt : "(none)");
		json_t *d =
		    json_pack("{s:s, s:O, s:O}", "mediaType", MT_LAYER_GZIP, "digest",
			      json_object_get(l, "digest"), "size", json_object_get(l, "size"));
		if (!d || json_array_append_new(json_object_get(o, "layers"), d) < 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "Docker manifest layers[%zu] is not a descriptor", i);
	}
	*out = steal_pointer(&o);
	return 0;
}

static bool layer_type_ok(const char *mt)
{
	return mt && (!strcmp(mt, MT_LAYER_TAR) || !strcmp(mt, MT_LAYER_GZIP) ||
		      !strcmp(mt, MT_LAYER_ZSTD));
}

int pl__manifest_image(const char *src, const json_t *img, const char *mt, json_t **out,
		       bool *docker, struct pl_error **err)
{
	*docker = !strcmp(mt, PL__MT_DOCKER);
	if (!*docker && strcmp(mt, PL__MT_MANIFEST))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is a '%s', not an image manifest",
				     src, mt);
	cleanup_json json_t *m = NULL;
	int rc = *docker ? docker_to_oci(img, &m, err) : 0;
	if (rc < 0)
		return pl__error_wrap(err, rc, "'%s'", src);
	if (!*docker)
		m = json_incref((json_t *)img);
	const char *cmt =
	    json_string_value(json_object_get(json_object_get(m, "config"), "mediaType"));
	if (!cmt || strcmp(cmt, PL__MT_CONFIG))
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s': its config is a '%s', not an image config", src,
				     cmt ? cmt : "(none)");
	size_t i;
	const json_t *l;
	json_array_foreach (json_object_get(m, "layers"), i, l) {
		const char *lmt = json_string_value(json_object_get(l, "mediaType"));
		if (!layer_type_ok(lmt))
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': layers[%zu]: media type '%s' is not a layer "
					     "plinth reads",
					     src, i, lmt ? lmt : "(none)");
	}
	cleanup_blobs struct blobs b = { 0 };
	if ((rc = blobs_of(&b, m, src, err)) < 0)
		return rc;
	*out = steal_pointer(&m);
	return 0;
}

/* A manifest as pulled. */
struct got {
	char *body;
	size_t len;
	char *mt;
	uint8_t digest[PL_SHA256_LEN];
	json_t *j;
	const char *artifact_type; /* in j */
};

static void got_release(struct got *g)
{
	free(g->body);
	free(g->mt);
	json_decref(g->j);
	memset(g, 0, sizeof(*g));
}
#define cleanup_got __attribute__((cleanup(got_release)))

int pl__manifest_parse(const char *ref, const char *body, size_t len, const char *served,
		       json_t **out, char **media_type, struct pl_error **err)
{
	cleanup_json json_t *j = NULL;
	int rc = pl__json_parse(ref, body, len, &j, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "manifest");
	const json_t *sv = json_object_get(j, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return pl__error_set(err, PL_EINVAL, 0, "manifest '%s': schemaVersion is not 2",
				     ref);
	/* the document's own mediaType, when it has one, must agree */
	const char *own = json_string_value(json_object_get(j, "mediaType"));
	if (own && *served && strcmp(own, served) && strcmp(served, "application/json"))
		return pl__error_set(err, PL_EINVAL, 0,
				     "manifest '%s': served as '%s' but says it is '%s'", ref,
				     served, own);
	if (!(*media_type = pl__strdup(own ? own : served, err)))
		return PL_ENOMEM;
	*out = steal_pointer(&j);
	return 0;
}

/* GET and parse the manifest `ref` of `repo`: 1 when there is none. */
static int get_manifest(struct pl__regconn *c, const char *repo, const char *ref,
			const char *accept, struct got *g, struct pl_error **err)
{
	cleanup_free char *served = NULL;
	int rc =
	    pl__reg_manifest_get(c, repo, ref, accept, &g->body, &g->len, &served, g->digest, err);
	if (rc != 0)
		return rc;
	if ((rc = pl__manifest_parse(ref, g->body, g->len, served, &g->j, &g->mt, err)) < 0) {
		got_release(g);
		return rc;
	}
	g->artifact_type = json_string_value(json_object_get(g->j, "artifactType"));
	return 0;
}

struct pulled_art {
	struct got g;
	bool sig;
};

/* The artifacts the registry has about `subject`: its signature tag, then
 * its referrers (the API, else the referrers tag). */
static int pull_artifacts(struct pl__regconn *c, const char *repo, const char *subject,
			  struct pulled_art **out, size_t *n, struct pl_error **err)
{
	size_t alloc = 0;
	char tag[PL_DIGEST_STR_LEN + 8];
	snprintf(tag, sizeof(tag), "sha256-%s.sig", subject + strlen("sha256:"));
	if (pl__grow(out, &alloc, 1, sizeof(**out), err) < 0)
		return PL_ENOMEM;
	memset(&(*out)[0], 0, sizeof(**out));
	int rc = get_manifest(c, repo, tag, PL__MT_MANIFEST, &(*out)[0].g, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "signature '%s'", tag);
	if (rc == 0) {
		(*out)[0].sig = true;
		*n = 1;
	} else {
		got_release(&(*out)[0].g);
	}
	cleanup_json json_t *idx = NULL;
	rc = pl__reg_referrers(c, repo, subject, &idx, err);
	if (rc == 1) {
		cleanup_got struct got g = { 0 };
		snprintf(tag, sizeof(tag), "sha256-%s", subject + strlen("sha256:"));
		if ((rc = get_manifest(c, repo, tag, PL__MT_INDEX, &g, err)) == 0)
			idx = json_incref(g.j);
		else if (rc == 1)
			return 0;
	}
	if (rc < 0)
		return pl__error_wrap(err, rc, "referrers of %s", subject);
	size_t i;
	const json_t *d;
	json_array_foreach (json_object_get(idx, "manifests"), i, d) {
		const char *ds = json_string_value(json_object_get(d, "digest"));
		const char *mt = json_string_value(json_object_get(d, "mediaType"));
		uint8_t raw[PL_SHA256_LEN];
		if (!ds || !pl__digest_parse(ds, raw) || !mt || strcmp(mt, PL__MT_MANIFEST))
			continue;
		if (*n == ARTIFACTS_MAX)
			break; /* the rest are left out, as the contract says */
		if (pl__grow(out, &alloc, *n + 1, sizeof(**out), err) < 0)
			return PL_ENOMEM;
		struct pulled_art *a = &(*out)[*n];
		memset(a, 0, sizeof(*a));
		if ((rc = get_manifest(c, repo, ds, PL__MT_MANIFEST, &a->g, err)) < 0)
			return pl__error_wrap(err, rc, "artifact %s", ds);
		if (rc == 1)
			continue; /* listed, gone since */
		const char *sd = json_string_value(
		    json_object_get(json_object_get(a->g.j, "subject"), "digest"));
		if (!a->g.artifact_type || !sd || strcmp(sd, subject)) {
			got_release(&a->g); /* not about this image after all */
			continue;
		}
		(*n)++;
	}
	return 0;
}

static void pulled_release(struct pulled_art *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		got_release(&a[i].g);
	free(a);
}

static void descriptor_of(const struct got *g, struct pl__descriptor *d)
{
	memcpy(d->digest, g->digest, PL_SHA256_LEN);
	d->size = g->len;
	d->media_type = PL__MT_MANIFEST;
}

static int pull(const char *src, const char *dst, const char *platform,
		const struct pl_registry_options *o, struct pl_pull_result *res,
		struct pl_error **err)
{
	cleanup_regref struct pl__regref ref = { 0 };
	int rc = pl__regref_parse(src, &ref, err);
	if (rc < 0)
		return rc;
	cleanup_free char *dir = NULL, *tag = NULL;
	if ((rc = pl__oci_ref_parse(dst, &dir, &tag, err)) < 0)
		return rc;
	cleanup_registry struct pl__registry *r = NULL;
	cleanup_regconn struct pl__regconn *c = NULL;
	if ((rc = pl__registry_open(ref.registry, ref.repo, false, o, &r, err)) < 0 ||
	    (rc = pl__regconn_new(r, &c, err)) < 0)
		return rc;
	cleanup_got struct got top = { 0 };
	const char *want = ref.digest ? ref.digest : ref.tag;
	if ((rc = get_manifest(c, ref.repo, want, ACCEPT_ANY, &top, err)) < 0)
		return rc;
	if (rc == 1)
		return pl__error_set(err, PL_EINVAL, 0,
				     "registry '%s' has no manifest '%s' in '%s'", ref.registry,
				     want, ref.repo);
	cleanup_got struct got img = { 0 };
	if (!strcmp(top.mt, PL__MT_INDEX) || !strcmp(top.mt, PL__MT_DOCKER_LIST)) {
		cleanup_free char *pick = NULL;
		if ((rc = pl__index_pick(top.j, platform, &pick, err)) < 0)
			return rc;
		if ((rc = get_manifest(c, ref.repo, pick, ACCEPT_IMAGE, &img, err)) < 0)
			return rc;
		if (rc == 1)
			return pl__error_set(err, PL_EINVAL, 0,
					     "registry '%s': '%s' lists %s, which it does not have",
					     ref.registry, ref.repo, pick);
	} else {
		img = top;
		memset(&top, 0, sizeof(top));
	}
	pl__digest_str(img.digest, res->remote_digest);
	cleanup_json json_t *m = NULL;
	bool docker = false;
	if ((rc = pl__manifest_image(src, img.j, img.mt, &m, &docker, err)) < 0)
		return rc;
	cleanup_blobs struct blobs blobs = { 0 };
	if ((rc = blobs_of(&blobs, m, "the image's manifest", err)) < 0)
		return rc;
	struct pulled_art *arts = NULL;
	size_t narts = 0;
	if (!docker)
		rc = pull_artifacts(c, ref.repo, res->remote_digest, &arts, &narts, err);
	for (size_t k = 0; rc == 0 && k < narts; k++)
		rc = blobs_of(&blobs, arts[k].g.j, "an artifact", err);

	cleanup_layout struct pl__layout *lay = NULL;
	if (rc == 0)
		rc = pl__layout_open(dir, &lay, err);
	struct pool p = { .r = r,
			  .o = o,
			  .repo = ref.repo,
			  .pull = true,
			  .dir = dir,
			  .l = lay,
			  .v = blobs.v,
			  .n = blobs.n };
	if (rc == 0)
		rc = run_pool(&p, err);

	/* the manifests, now that their blobs are in */
	cleanup_free char *text = docker ? pl__json_canonical(m) : NULL;
	if (rc == 0 && docker && !text)
		rc = pl__error_nomem(err);
	const char *mbody = docker ? text : img.body;
	size_t mlen = docker ? (text ? strlen(text) : 0) : img.len;
	struct pl__descriptor desc = { .media_type = PL__MT_MANIFEST, .size = mlen };
	if (rc == 0)
		rc = pl__layout_blob_put(lay, mbody, mlen, desc.digest, err);
	for (size_t k = 0; rc == 0 && k < narts; k++) {
		struct pl__descriptor ad = { 0 };
		descriptor_of(&arts[k].g, &ad);
		rc = pl__layout_blob_put(lay, arts[k].g.body, arts[k].g.len, ad.digest, err);
		if (rc == 0 && arts[k].sig) {
			char sigtag[PL_DIGEST_STR_LEN + 8];
			snprintf(sigtag, sizeof(sigtag), "sha256-%s.sig",
				 res->remote_digest + strlen("sha256:"));
			rc = pl__layout_add_tag(lay, &ad, sigtag, err);
		} else if (rc == 0) {
			rc = pl__layout_add_referrer(lay, &ad, arts[k].g.artifact_type, img.digest,
						     err);
		}
	}
	if (rc == 0)
		rc = pl__layout_commit(lay, &desc, tag, err);
	pulled_release(arts, narts);
	if (rc < 0)
		return rc;
	pl__digest_str(desc.digest, res->digest);
	res->converted = docker;
	res->fetched = atomic_load(&p.moved);
	res->present = atomic_load(&p.present);
	res->bytes_fetched = atomic_load(&p.bytes);
	res->artifacts = (unsigned)narts;
	return 0;
}

int pl_pull(const char *src, const char *dst, const char *platform,
	    const struct pl_registry_options *o, struct pl_pull_result *res, struct pl_error **err)
{
	memset(res, 0, sizeof(*res));
	int rc = pull(src, dst, platform, o, res, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "pull '%s' into '%s'", src, dst);
	return 0;
}

/* ---- tags --------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pl_registry_tags(const char *repo, const struct pl_registry_options *o, char ***tags, size_t *n,
		     struct pl_error **err)
{
	cleanup_regref struct pl__regref ref = { 0 };
	int rc = pl__regrepo_parse(repo, &ref, err);
	cleanup_registry struct pl__registry *r = NULL;
	cleanup_regconn struct pl__regconn *c = NULL;
	cleanup_json json_t *all = NULL;
	if (rc == 0)
		rc = pl__registry_open(ref.registry, ref.repo, false, o, &r, err);
	if (rc == 0)
		rc = pl__regconn_new(r, &c, err);
	if (rc == 0)
		rc = pl__reg_tags(c, ref.repo, &all, err);
	if (rc < 0)
		return rc;
	size_t k = json_array_size(all);
	char **v = pl__calloc(k + 1, sizeof(*v), err);
	if (!v)
		return PL_ENOMEM;
	for (size_t i = 0; i < k; i++)
		if (!(v[i] = pl__strdup(json_string_value(json_array_get(all, i)), err))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return PL_ENOMEM;
		}
	qsort(v, k, sizeof(*v), cmp_str);
	*tags = v;
	*n = k;
	return 0;
}
