/* build.c - recipe -> tree -> layer -> config -> manifest -> tagged in the layout. */
#include <string.h>
#include <time.h>

#include "plinth/build.h"
#include "assemble.h"
#include "packages.h"
#include "json.h"
#include "layer.h"
#include "layout.h"

#define MT_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG     "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define DEFAULT_PATH  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

bool pl_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-')
		return false;
	return strspn(tag, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	       n;
}

static void rfc3339(uint64_t clock, char out[32])
{
	time_t t = (time_t)clock;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Build the image config's "config" object; NULL on allocation failure. */
/* Build the image config's "config" object; NULL on allocation failure
 * (jansson's setters fail only then, and any failure fails the whole). */
static json_t *runtime_config(const struct pl_recipe *r)
{
	cleanup_json json_t *c = json_object();
	json_t *env = json_array();
	if (!c || json_object_set_new(c, "Env", env) < 0)
		return NULL;
	char user[32];
	snprintf(user, sizeof(user), "%u:%u", r->run_uid, r->run_gid);
	int bad = json_object_set_new(c, "User", json_string(user));

	bool has_path = false;
	for (size_t i = 0; i < r->env.n; i++)
		has_path |= !strcmp(r->env.v[i].key, "PATH");
	if (!has_path)
		bad |= json_array_append_new(env, json_string("PATH=" DEFAULT_PATH));
	for (size_t i = 0; i < r->env.n; i++) {
		cleanup_free char *kv =
		    pl__asprintf(NULL, "%s=%s", r->env.v[i].key, r->env.v[i].value);
		bad |= kv ? json_array_append_new(env, json_string(kv)) : -1;
	}
	if (r->entrypoint.set)
		bad |= json_object_set_new(c, "Entrypoint",
					   pl__json_strings(r->entrypoint.v, r->entrypoint.n));
	if (r->cmd.set)
		bad |= json_object_set_new(c, "Cmd", pl__json_strings(r->cmd.v, r->cmd.n));
	if (r->workdir)
		bad |= json_object_set_new(c, "WorkingDir", json_string(r->workdir));
	if (r->stop_signal)
		bad |= json_object_set_new(c, "StopSignal", json_string(r->stop_signal));
	if (r->labels.n) {
		json_t *l = json_object();
		bad |= json_object_set_new(c, "Labels", l);
		for (size_t i = 0; l && i < r->labels.n; i++)
			bad |= json_object_set_new(l, r->labels.v[i].key,
						   json_string(r->labels.v[i].value));
	}
	if (r->ports.n) {
		json_t *p = json_object();
		bad |= json_object_set_new(c, "ExposedPorts", p);
		for (size_t i = 0; p && i < r->ports.n; i++)
			bad |= json_object_set_new(p, r->ports.v[i], json_object());
	}
	return bad ? NULL : steal_pointer(&c);
}

static int put_json(struct pl__layout *l, const json_t *j, uint8_t digest[PL_SHA256_LEN],
		    uint64_t *size, struct pl_error **err)
{
	cleanup_free char *text = pl__json_canonical(j);
	if (!text)
		return pl__error_nomem(err);
	*size = strlen(text);
	return pl__layout_blob_put(l, text, *size, digest, err);
}

static const char *label(const struct pl_recipe *r, const char *key)
{
	for (size_t i = 0; i < r->labels.n; i++)
		if (!strcmp(r->labels.v[i].key, key))
			return r->labels.v[i].value;
	return NULL;
}

static json_t *manifest_json(const struct pl_recipe *r, const char *created, const char *mt_layer,
			     const struct pl__layer *layer, const uint8_t config[PL_SHA256_LEN],
			     uint64_t config_size)
{
	char cd[PL_DIGEST_STR_LEN + 1], ld[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(config, cd);
	pl__digest_str(layer->digest, ld);
	cleanup_json json_t *ann =
	    json_pack("{s:s, s:s, s:s}", "org.opencontainers.image.title", r->name,
		      "org.opencontainers.image.version", r->version,
		      "org.opencontainers.image.created", created);
	if (!ann)
		return NULL;
	if (r->description)
		json_object_set_new(ann, "org.opencontainers.image.description",
				    json_string(r->description));
	static const char *const copied[] = { "org.opencontainers.image.source",
					      "org.opencontainers.image.revision", NULL };
	for (const char *const *k = copied; *k; k++)
		if (label(r, *k))
			json_object_set_new(ann, *k, json_string(label(r, *k)));
	return json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}], s:O}", "schemaVersion",
			 2, "mediaType", MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest",
			 cd, "size", (json_int_t)config_size, "layers", "mediaType", mt_layer,
			 "digest", ld, "size", (json_int_t)layer->size, "annotations", ann);
}

/*
 * The packages to install: the lock's when there is one (refused when the
 * recipe's package inputs changed since it was made), else resolved now.
 */
static int lock_for_build(const struct pl_recipe *r, const struct pl_build_options *o,
			  const struct pl_apt_options *apt, struct pl__lock *l, bool *from_lock,
			  struct pl_error **err)
{
	cleanup_free char *path =
	    o->lock_path ? pl__strdup(o->lock_path, err) : pl_lock_path(r->path, err);
	if (!path)
		return PL_ENOMEM;
	int rc = pl__lock_read(path, l, err);
	if (rc == PL__LOCK_ABSENT) {
		/* a recipe without packages has nothing to pin */
		if (o->frozen && r->npkgs)
			return pl__error_set(
			    err, PL_EPOLICY, 0,
			    "lock '%s' does not exist (--frozen builds only from a "
			    "lock): run 'plinth lock %s'",
			    path, r->path);
		return pl__packages_resolve(r, apt, l, err);
	}
	if (rc < 0)
		return rc;
	uint8_t inputs[PL_SHA256_LEN];
	if ((rc = pl__lock_inputs(r, PL_DEB_ARCH, inputs, err)) < 0)
		return rc;
	if (strcmp(l->arch, PL_DEB_ARCH))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "lock '%s' is for architecture '%s', not '%s': run 'plinth "
				     "lock %s'",
				     path, l->arch, PL_DEB_ARCH, r->path);
	if (memcmp(inputs, l->inputs, PL_SHA256_LEN))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "lock '%s' is stale: the recipe's packages, repositories or "
				     "base changed since it was made; run 'plinth lock %s'",
				     path, r->path);
	*from_lock = true;
	return 0;
}

struct install_ctx {
	const struct pl_recipe *r;
	const struct pl__lock *lock;
	const struct pl_apt_options *apt;
};

static int install_packages(void *ctx, struct pl__tree *t, struct pl_error **err)
{
	const struct install_ctx *c = ctx;
	return pl__packages_install(c->r, c->lock, c->apt, t, err);
}

int pl_build(const struct pl_recipe *r, const struct pl_build_options *o,
	     struct pl_build_result *res, struct pl_error **err)
{
	uint64_t clock = o->has_clock ? o->clock : r->has_epoch ? r->epoch : 0;
	const char *tag = o->tag ? o->tag : r->version;
	if (!pl_tag_valid(tag))
		return pl__error_set(err, PL_EINVAL, 0,
				     "invalid tag '%s': use letters, digits, '_', '.' and '-' (at "
				     "most 128, not starting with '.' or '-')",
				     tag);
	if (clock > 253402300799ULL)
		return pl__error_set(err, PL_EINVAL, 0, "the clock %llu is beyond the year 9999",
				     (unsigned long long)clock);

	struct pl_apt_options apt = o->apt;
	apt.cancel = o->cancel;
	cleanup_lock struct pl__lock lock = { 0 };
	bool from_lock = false;
	int rc = lock_for_build(r, o, &apt, &lock, &from_lock, err);
	if (rc < 0)
		return rc;
	struct install_ctx ictx = { r, &lock, &apt };
	cleanup_tree struct pl__tree *tree = NULL;
	if ((rc = pl__assemble(r, install_packages, &ictx, &tree, err)) < 0)
		return rc;
	cleanup_layout struct pl__layout *layout = NULL;
	if ((rc = pl__layout_open(o->layout, &layout, err)) < 0)
		return rc;

	struct pl__layer layer = { 0 };
	struct pl__progress prog = { o->progress, o->progress_ctx, o->cancel };
	int fd = -1;
	if ((rc = pl__layout_blob_open(layout, &fd, err)) < 0)
		return rc;
	rc = pl__layer_write(tree, clock, o->compression, fd, &prog, &layer, err);
	if (rc < 0) {
		pl__closep(&fd);
		return rc;
	}
	if ((rc = pl__layout_blob_close(layout, fd, layer.digest, err)) < 0)
		return rc;

	char created[32], diff_id[PL_DIGEST_STR_LEN + 1];
	rfc3339(clock, created);
	pl__digest_str(layer.diff_id, diff_id);
	cleanup_free char *created_by =
	    pl__asprintf(err, "plinth build %s %s", r->name, r->version);
	if (!created_by)
		return PL_ENOMEM;
	cleanup_json json_t *config = json_pack(
	    "{s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture", PL_ARCH, "os",
	    "linux", "created", created, "config", runtime_config(r), "rootfs", "type", "layers",
	    "diff_ids", diff_id, "history", "created", created, "created_by", created_by);
	if (!config)
		return pl__error_nomem(err);
	uint8_t config_digest[PL_SHA256_LEN];
	uint64_t config_size = 0;
	if ((rc = put_json(layout, config, config_digest, &config_size, err)) < 0)
		return rc;

	const char *mt_layer =
	    o->compression == PL_COMPRESSION_GZIP ? MT_LAYER_GZIP : MT_LAYER_ZSTD;
	cleanup_json json_t *manifest =
	    manifest_json(r, created, mt_layer, &layer, config_digest, config_size);
	if (!manifest)
		return pl__error_nomem(err);
	struct pl__descriptor desc = { MT_MANIFEST, { 0 }, 0, PL_ARCH, "linux" };
	if ((rc = put_json(layout, manifest, desc.digest, &desc.size, err)) < 0)
		return rc;
	if ((rc = pl__check_cancel(o->cancel, err)) < 0 ||
	    (rc = pl__layout_commit(layout, &desc, tag, err)) < 0)
		return rc;

	pl__digest_str(desc.digest, res->manifest_digest);
	pl__digest_str(config_digest, res->config_digest);
	pl__digest_str(layer.digest, res->layer_digest);
	memcpy(res->diff_id, diff_id, sizeof(diff_id));
	res->manifest_size = desc.size;
	res->layer_size = layer.size;
	res->tar_size = layer.tar_size;
	res->entries = pl__tree_count(tree);
	res->packages = lock.n;
	res->from_lock = from_lock;
	snprintf(res->tag, sizeof(res->tag), "%s", tag);
	return 0;
}
