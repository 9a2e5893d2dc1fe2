/* build.c - recipe -> tree -> layer -> config -> manifest -> tagged in the layout. */
#include <string.h>
#include <time.h>

#include "plinth/build.h"
#include "assemble.h"
#include "baseimg.h"
#include "catalog.h"
#include "layercache.h"
#include "packages.h"
#include "json.h"
#include "layer.h"
#include "layout.h"
#include "gates.h"
#include "runtest.h"
#include "sbom.h"

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

/* The index of "KEY=..." in the Env list `env`, or -1. */
static ssize_t env_index(const json_t *env, const char *key)
{
	size_t n = strlen(key), i;
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && !strncmp(s, key, n) && s[n] == '=')
			return (ssize_t)i;
	}
	return -1;
}

/*
 * The image config's "config" object: the base's (`from`, NULL on scratch)
 * with what the recipe sets.  Env and Labels merge by key, the recipe's
 * winning; PATH gets plinth's default when neither has one.  Entrypoint,
 * Cmd, WorkingDir, StopSignal and ExposedPorts are the recipe's when it
 * sets them; a new Entrypoint drops the base's Cmd (its arguments were for
 * the base's program), as docker does.  `user` replaces User when not
 * NULL.  NULL on allocation failure (jansson's setters fail only then, and
 * any failure fails the whole).
 */
static json_t *runtime_config(const struct pl_recipe *r, const json_t *from, const char *user)
{
	cleanup_json json_t *c = from ? json_deep_copy(from) : json_object();
	json_t *env = json_array();
	if (!c || !env)
		return NULL;
	int bad = 0;
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(c, "Env"), i, v)
		if (json_is_string(v))
			bad |= json_array_append(env, v);
	if (json_object_set_new(c, "Env", env) < 0)
		return NULL;
	if (user)
		bad |= json_object_set_new(c, "User", json_string(user));

	bool has_path = env_index(env, "PATH") >= 0;
	for (i = 0; i < r->env.n; i++)
		has_path |= !strcmp(r->env.v[i].key, "PATH");
	if (!has_path)
		bad |= json_array_insert_new(env, 0, json_string("PATH=" DEFAULT_PATH));
	for (i = 0; i < r->env.n; i++) {
		cleanup_free char *kv =
		    pl__asprintf(NULL, "%s=%s", r->env.v[i].key, r->env.v[i].value);
		ssize_t at = env_index(env, r->env.v[i].key);
		if (!kv)
			bad = -1;
		else if (at >= 0)
			bad |= json_array_set_new(env, (size_t)at, json_string(kv));
		else
			bad |= json_array_append_new(env, json_string(kv));
	}
	if (r->entrypoint.set) {
		bad |= json_object_set_new(c, "Entrypoint",
					   pl__json_strings(r->entrypoint.v, r->entrypoint.n));
		if (!r->cmd.set)
			json_object_del(c, "Cmd");
	}
	if (r->cmd.set)
		bad |= json_object_set_new(c, "Cmd", pl__json_strings(r->cmd.v, r->cmd.n));
	if (r->workdir)
		bad |= json_object_set_new(c, "WorkingDir", json_string(r->workdir));
	if (r->stop_signal)
		bad |= json_object_set_new(c, "StopSignal", json_string(r->stop_signal));
	if (r->labels.n) {
		json_t *l = json_object_get(c, "Labels");
		l = json_is_object(l) ? json_incref(l) : json_object();
		bad |= json_object_set_new(c, "Labels", l);
		for (i = 0; l && i < r->labels.n; i++)
			bad |= json_object_set_new(l, r->labels.v[i].key,
						   json_string(r->labels.v[i].value));
	}
	if (r->ports.set) {
		json_t *p = r->ports.n ? json_object() : NULL;
		if (p)
			bad |= json_object_set_new(c, "ExposedPorts", p);
		else
			json_object_del(c, "ExposedPorts");
		for (i = 0; p && i < r->ports.n; i++)
			bad |= json_object_set_new(p, r->ports.v[i], json_object());
	}
	return bad ? NULL : steal_pointer(&c);
}

/*
 * The User of the image: "UID:GID" from `run-as` when the recipe has one
 * (an account of the base's looked up in its /etc/passwd) or builds on
 * scratch; else the base's, or nonroot when the base has none.  *user is
 * NULL when the base's is kept.
 */
static int image_user(const struct pl_recipe *r, const struct pl__base *base, char **user,
		      struct pl_error **err)
{
	*user = NULL;
	if (base->fs && !r->run_as_set) {
		const char *u = json_string_value(
		    json_object_get(json_object_get(base->image.config, "config"), "User"));
		if (u && *u)
			return 0;
	}
	uint32_t uid = r->run_uid, gid = r->run_gid;
	if (r->run_as_deferred) {
		struct pl__account *v = NULL;
		size_t n = 0;
		int rc = pl__baseimg_accounts(base->fs, false, &v, &n, err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "base '%s'", base->ref);
		size_t i = 0;
		while (i < n && strcmp(v[i].name, r->run_as))
			i++;
		if (i < n) {
			uid = v[i].id;
			gid = v[i].gid;
		}
		pl__accounts_free(v, n);
		if (i == n)
			return pl__error_set(err, PL_EINVAL, 0,
					     "%s:%u:%u: 'run-as' names no account: '%s' (use "
					     "nonroot, root, a user from 'accounts' or the base's "
					     "/etc/passwd, or UID[:GID])",
					     r->path, r->run_as_pos.line, r->run_as_pos.col,
					     r->run_as);
	}
	*user = pl__asprintf(err, "%u:%u", uid, gid);
	return *user ? 0 : PL_ENOMEM;
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

struct image_parts {
	const char *version; /* the image's: the recipe's, unless overridden */
	const char *created, *mt_layer;
	const struct pl__layer *layer;
	const struct pl__base *base;
	const struct pl__lock *lock; /* NULL: not built from a lock */
	uint8_t config[PL_SHA256_LEN];
	uint64_t config_size;
	bool tests_skipped; /* the recipe has tests and the build skipped them */
};

static json_t *manifest_json(const struct pl_recipe *r, const struct image_parts *ip)
{
	char cd[PL_DIGEST_STR_LEN + 1], ld[PL_DIGEST_STR_LEN + 1];
	char rd[PL_DIGEST_STR_LEN + 1], lockd[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(ip->config, cd);
	pl__digest_str(ip->layer->digest, ld);
	pl__digest_str(r->digest, rd);
	cleanup_json json_t *ann = json_pack(
	    "{s:s, s:s, s:s, s:s}", "org.opencontainers.image.title", r->name,
	    "org.opencontainers.image.version", ip->version, "org.opencontainers.image.created",
	    ip->created, "dev.plinth.recipe.digest", rd);
	if (!ann)
		return NULL;
	int bad = 0;
	if (ip->lock) {
		pl__digest_str(ip->lock->file_digest, lockd);
		bad |= json_object_set_new(ann, "dev.plinth.lock.digest", json_string(lockd));
	}
	if (ip->base->fs) {
		cleanup_free char *name =
		    pl__asprintf(NULL, "%s:%s", ip->base->name, ip->base->version);
		bad |= name ? json_object_set_new(ann, "org.opencontainers.image.base.name",
						  json_string(name))
			    : -1;
		bad |= json_object_set_new(ann, "org.opencontainers.image.base.digest",
					   json_string(ip->base->digest_str));
	}
	if (ip->tests_skipped)
		bad |= json_object_set_new(ann, "dev.plinth.tests", json_string("skipped"));
	if (r->description)
		bad |= json_object_set_new(ann, "org.opencontainers.image.description",
					   json_string(r->description));
	static const char *const copied[] = { "org.opencontainers.image.source",
					      "org.opencontainers.image.revision", NULL };
	for (const char *const *k = copied; *k; k++)
		if (label(r, *k))
			bad |= json_object_set_new(ann, *k, json_string(label(r, *k)));
	if (bad)
		return NULL;
	/* a base's layers, descriptors unchanged, then this one */
	cleanup_json json_t *layers =
	    ip->base->fs ? json_deep_copy(ip->base->layers) : json_array();
	if (!layers || json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType",
							       ip->mt_layer, "digest", ld, "size",
							       (json_int_t)ip->layer->size)) < 0)
		return NULL;
	return json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O, s:O}", "schemaVersion", 2, "mediaType",
			 MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest", cd, "size",
			 (json_int_t)ip->config_size, "layers", layers, "annotations", ann);
}

/* The image config: the base's layers' diff_ids and history (one entry
 * per layer, see pl__base_history), then this layer's. */
static json_t *config_json(const struct pl_recipe *r, const struct image_parts *ip,
			   const char *user, const char *diff_id, struct pl_error **err)
{
	cleanup_free char *created_by =
	    pl__asprintf(err, "plinth build %s %s", r->name, ip->version);
	if (!created_by)
		return NULL;
	const json_t *base_cfg = ip->base->fs ? ip->base->image.config : NULL;
	cleanup_json json_t *diff_ids =
	    base_cfg ? json_deep_copy(ip->base->diff_ids) : json_array();
	cleanup_json json_t *hist = base_cfg ? json_deep_copy(ip->base->history) : json_array();
	json_t *rt = runtime_config(r, json_object_get(base_cfg, "config"), user);
	json_t *cfg = NULL;
	if (diff_ids && hist && rt && json_array_append_new(diff_ids, json_string(diff_id)) == 0 &&
	    json_array_append_new(hist, json_pack("{s:s, s:s}", "created", ip->created,
						  "created_by", created_by)) == 0)
		cfg = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:O}, s:O}", "architecture", PL_ARCH,
				"os", "linux", "created", ip->created, "config", rt, "rootfs",
				"type", "layers", "diff_ids", diff_ids, "history", hist);
	json_decref(rt);
	if (!cfg)
		pl__error_nomem(err);
	return cfg;
}

/*
 * The packages to install: the lock's when there is one (refused when the
 * recipe's package inputs changed since it was made), else resolved now.
 */
static bool lock_has(const struct pl__lock *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->p[i].name, name))
			return true;
	return false;
}

static int lock_for_build(const struct pl_recipe *r, const struct pl_build_options *o,
			  const struct pl_apt_options *apt, const struct pl__base *base,
			  struct pl__lock *l, bool *from_lock, struct pl_error **err)
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
		return pl__packages_resolve(r, apt, base->fs, l, err);
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
	/* a newer base may lack what the one the lock was made on had: a
	 * requested package here, a dependency once the pinned packages'
	 * control files are read (pl__packages_install) */
	for (size_t i = 0; i < r->npkgs; i++)
		if (!lock_has(l, r->pkgs[i].name) &&
		    !(base->fs && pl__baseimg_package(base->fs, r->pkgs[i].name)))
			return pl__error_set(
			    err, PL_EPOLICY, 0,
			    "lock '%s' is stale: it does not pin package '%s'%s%s%s; "
			    "run 'plinth lock %s'",
			    path, r->pkgs[i].name, base->fs ? ", and the base '" : "",
			    base->fs ? base->ref : "", base->fs ? "' lacks it" : "", r->path);
	*from_lock = true;
	return 0;
}

struct install_ctx {
	const struct pl_recipe *r;
	const struct pl__lock *lock;
	const struct pl_apt_options *apt;
	const struct pl__base *base;
	size_t installed;
};

static int install_packages(void *ctx, struct pl__tree *t, struct pl_error **err)
{
	struct install_ctx *c = ctx;
	return pl__packages_install(c->r, c->lock, c->apt, c->base->fs, c->base->ref, t,
				    &c->installed, err);
}

/* Stage the base's layer blobs, checked against their descriptors. */
static int copy_base_layers(struct pl__layout *layout, const struct pl__base *base,
			    struct pl_error **err)
{
	size_t i;
	json_t *d;
	json_array_foreach (base->layers, i, d) {
		uint8_t digest[PL_SHA256_LEN];
		/* pl__baseimg_read() checked every descriptor */
		pl__digest_parse(json_string_value(json_object_get(d, "digest")), digest);
		int rc = pl__layout_blob_copy(
		    layout, base->layout, digest,
		    (uint64_t)json_integer_value(json_object_get(d, "size")), err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "base '%s'", base->ref);
	}
	return 0;
}

/*
 * The layer from the cache when it has one for this build: *hit, with the
 * blob staged in `layout`.  A key that cannot be made (a source the build
 * will refuse) or a blob that is gone is a miss; *have_key says whether
 * the layer made instead can be recorded under `key`.
 */
static int cached_layer(const struct pl_recipe *r, const char *version,
			const struct pl_build_options *o, uint64_t clock,
			const struct pl__lock *lock, const struct pl__base *base,
			struct pl__layout *layout, uint8_t key[PL_SHA256_LEN],
			uint8_t sources[PL_SHA256_LEN], bool *have_key,
			struct pl__cached_layer *out, bool *hit, struct pl_error **err)
{
	*have_key = *hit = false;
	if (!o->layer_cache)
		return 0;
	struct pl_error *e = NULL;
	int rc = pl__layer_key(r, version, lock, clock, (int)o->compression, key, sources, &e);
	pl_error_free(e);
	if (rc == PL_ENOMEM)
		return pl__error_nomem(err);
	if (rc < 0)
		return 0;
	*have_key = true;
	cleanup_free char *where = NULL;
	if ((rc = pl__layer_cache_get(o->layer_cache, key, base->fs, out, &where, err)) <= 0)
		return rc;
	/* a lock read from a file is checked against the base, as the build
	 * that made the layer checked it against its own */
	if (base->fs && lock->path && out->packages) {
		size_t n = json_array_size(out->pinned), want = 0;
		for (size_t i = 0; i < lock->n; i++)
			want += !pl__baseimg_package(base->fs, lock->p[i].name);
		if (n != want) /* not what a build of this lock on this base made */
			return 0;
		cleanup_free const char **v = pl__calloc(n + 1, sizeof(*v), err);
		if (!v)
			return PL_ENOMEM;
		for (size_t i = 0; i < n; i++)
			v[i] = json_string_value(json_array_get(out->pinned, i));
		rc = pl__packages_check_pinned(r, lock, base->fs, base->ref, v, n, err);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	e = NULL;
	rc = pl__layout_blob_copy(layout, where, out->layer.digest, out->layer.size, &e);
	pl_error_free(e);
	*hit = rc == 0;
	return 0;
}

static void cached_release(struct pl__cached_layer *c)
{
	json_decref(c->pinned);
}

/* The control paragraphs of the packages the layer installed, as
 * pl__packages_check_pinned() takes them; NULL when there is no check. */
static json_t *pinned_controls(const struct pl__lock *lock, const struct pl__baseimg *fs,
			       struct pl__tree *tree)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < lock->n; i++) {
		if (pl__baseimg_package(fs, lock->p[i].name))
			continue;
		cleanup_free char *path =
		    pl__asprintf(NULL, "var/lib/dpkg/status.d/%s", lock->p[i].name);
		const struct pl__entry *e = path ? pl__tree_get(tree, path) : NULL;
		if (!e || !e->data ||
		    json_array_append_new(a, json_stringn(e->data, e->size)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int write_layer(const struct pl_recipe *r, const char *version,
		       const struct pl_build_options *o, uint64_t clock, struct install_ctx *ictx,
		       struct pl__layout *layout, bool trace, json_t **questions,
		       struct pl__cached_layer *out, struct pl_error **err)
{
	struct pl__baseimg *fs = ictx->base->fs;
	int rc;
	/* what a cache entry that was not taken said */
	json_decref(out->pinned);
	*out = (struct pl__cached_layer){ 0 };
	if (trace && fs && (rc = pl__baseimg_trace_start(fs, err)) < 0)
		return rc;
	cleanup_tree struct pl__tree *tree = NULL;
	rc = pl__assemble(r, version, fs, install_packages, ictx, &tree, err);
	if (trace && fs) {
		json_t *q = NULL;
		struct pl_error *e = NULL;
		if (pl__baseimg_trace_stop(fs, &q, &e) < 0)
			pl_error_free(e);
		if (rc == 0)
			*questions = q;
		else
			json_decref(q);
	}
	if (rc < 0)
		return rc;
	struct pl__progress prog = { o->progress, o->progress_ctx, o->cancel };
	int fd = -1;
	unsigned seq = 0;
	if ((rc = pl__layout_blob_open(layout, &fd, &seq, err)) < 0)
		return rc;
	rc = pl__layer_write(tree, clock, o->compression, fd, &prog, &out->layer, err);
	if (rc < 0) {
		pl__closep(&fd);
		return rc;
	}
	out->entries = pl__tree_count(tree);
	out->packages = ictx->installed;
	if (trace && fs && ictx->lock->path && ictx->installed)
		out->pinned = pinned_controls(ictx->lock, fs, tree);
	return pl__layout_blob_close(layout, fd, seq, out->layer.digest, err);
}

/* The image's SBOM (SPDX), stored beside it as an artifact. */
static int put_sbom(const struct pl_recipe *r, struct pl__layout *layout, const json_t *manifest,
		    const json_t *config, const struct pl__descriptor *desc,
		    const struct image_parts *ip, struct pl_error **err)
{
	struct pl__blob_source src = pl__staged_source(layout);
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = pl__sbom_make(&src, json_object_get(manifest, "layers"), config, desc->digest,
			       r->name, ip->version, PL_SBOM_SPDX, &text, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "SBOM");
	return pl__put_artifact(layout, PL__MT_SPDX, text, len, desc, ip->created, err);
}

/* The recipe's tests, stored beside the image for plinth test oci:DIR:TAG. */
static int put_tests(const struct pl_recipe *r, struct pl__layout *layout,
		     const struct pl__descriptor *desc, const struct image_parts *ip,
		     struct pl_error **err)
{
	if (!r->ntests)
		return 0;
	cleanup_free char *text = pl__tests_to_json(r, err);
	if (!text)
		return PL_ENOMEM;
	return pl__put_artifact(layout, PL__TESTS_ARTIFACT, text, strlen(text), desc, ip->created,
				err);
}

int pl_build(const struct pl_recipe *r, const struct pl_build_options *o,
	     struct pl_build_result *res, struct pl_error **err)
{
	return pl__build_on(r, o, NULL, res, err);
}

int pl__build_on(const struct pl_recipe *r, const struct pl_build_options *o, struct pl__base *on,
		 struct pl_build_result *res, struct pl_error **err)
{
	uint64_t clock = o->has_clock ? o->clock : r->has_epoch ? r->epoch : 0;
	const char *version = o->version ? o->version : r->version;
	const char *tag = o->tag ? o->tag : version;
	struct pl__semver sv;
	if (!pl__semver_parse(version, strlen(version), true, &sv))
		return pl__error_set(err, PL_EINVAL, 0,
				     "invalid image version '%s': use MAJOR.MINOR.PATCH", version);
	if (!pl_tag_valid(tag))
		return pl__error_set(err, PL_EINVAL, 0,
				     "invalid tag '%s': use letters, digits, '_', '.' and '-' (at "
				     "most 128, not starting with '.' or '-')",
				     tag);
	if (clock > 253402300799ULL)
		return pl__error_set(err, PL_EINVAL, 0, "the clock %llu is beyond the year 9999",
				     (unsigned long long)clock);

	int rc = pl__gate_lint(r, o, err);
	if (rc < 0)
		return rc;
	cleanup_base struct pl__base opened = { 0 };
	struct pl__base *base = on ? on : &opened;
	if (!on && pl__recipe_has_base(r) &&
	    (rc = pl__base_open(r, o->catalog, o->warn, o->warn_ctx, &opened, err)) < 0)
		return rc;
	struct pl_apt_options apt = o->apt;
	apt.cancel = o->cancel;
	cleanup_lock struct pl__lock lock = { 0 };
	bool from_lock = false;
	if ((rc = lock_for_build(r, o, &apt, base, &lock, &from_lock, err)) < 0)
		return rc;
	cleanup_free char *user = NULL;
	if ((rc = image_user(r, base, &user, err)) < 0)
		return rc;
	cleanup_layout struct pl__layout *layout = NULL;
	if ((rc = pl__layout_open(o->layout, &layout, err)) < 0)
		return rc;
	if (base->fs && (rc = copy_base_layers(layout, base, err)) < 0)
		return rc;

	uint8_t key[PL_SHA256_LEN];
	bool have_key, hit;
	__attribute__((cleanup(cached_release))) struct pl__cached_layer made = { 0 };
	cleanup_json json_t *questions = NULL;
	uint8_t sources[PL_SHA256_LEN];
	if ((rc = cached_layer(r, version, o, clock, &lock, base, layout, key, sources, &have_key,
			       &made, &hit, err)) < 0)
		return rc;
	struct install_ctx ictx = { r, &lock, &apt, base, 0 };
	if (!hit && (rc = write_layer(r, version, o, clock, &ictx, layout, have_key, &questions,
				      &made, err)) < 0)
		return rc;

	char created[32], diff_id[PL_DIGEST_STR_LEN + 1];
	rfc3339(clock, created);
	pl__digest_str(made.layer.diff_id, diff_id);
	struct image_parts ip = {
		.version = version,
		.created = created,
		.mt_layer = o->compression == PL_COMPRESSION_GZIP ? MT_LAYER_GZIP : MT_LAYER_ZSTD,
		.layer = &made.layer,
		.base = base,
		.lock = from_lock ? &lock : NULL,
		.tests_skipped = r->ntests && o->skip_tests,
	};
	char ld[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(made.layer.digest, ld);
	cleanup_json json_t *layer = json_pack("{s:s, s:s, s:I}", "mediaType", ip.mt_layer,
					       "digest", ld, "size", (json_int_t)made.layer.size);
	if (!layer)
		return pl__error_nomem(err);
	if ((rc = pl__gate_scan(layout, layer, o, err)) < 0)
		return rc;
	cleanup_json json_t *config = config_json(r, &ip, user, diff_id, err);
	if (!config)
		return PL_ENOMEM;
	if ((rc = put_json(layout, config, ip.config, &ip.config_size, err)) < 0)
		return rc;
	cleanup_json json_t *manifest = manifest_json(r, &ip);
	if (!manifest)
		return pl__error_nomem(err);
	struct pl__descriptor desc = { MT_MANIFEST, { 0 }, 0, PL_ARCH, "linux" };
	if ((rc = put_json(layout, manifest, desc.digest, &desc.size, err)) < 0 ||
	    (rc = put_sbom(r, layout, manifest, config, &desc, &ip, err)) < 0 ||
	    (rc = pl__gate_tests(layout, r, manifest, config, o, err)) < 0 ||
	    (rc = put_tests(r, layout, &desc, &ip, err)) < 0)
		return rc;
	if ((rc = pl__check_cancel(o->cancel, err)) < 0 ||
	    (rc = pl__layout_commit(layout, &desc, tag, err)) < 0)
		return rc;
	/* the layer is in the layout now: worth remembering (but a cache that
	 * cannot be written does not fail the build) */
	uint8_t after[PL_SHA256_LEN], sources_after[PL_SHA256_LEN];
	struct pl_error *ke = NULL;
	/* a source changed while the layer was written: its layer is not
	 * what the key says */
	if (!hit && have_key &&
	    (pl__layer_key(r, version, &lock, clock, (int)o->compression, after, sources_after,
			   &ke) < 0 ||
	     memcmp(after, key, PL_SHA256_LEN)))
		have_key = false;
	pl_error_free(ke);
	/* a layer that needs its lock checked on a base is kept only with what
	 * the check needs */
	if (base->fs && lock.path && made.packages && !made.pinned)
		have_key = false;
	if (!hit && have_key && (questions || !base->fs)) {
		struct pl_error *e = NULL;
		if (pl__layer_cache_put(o->layer_cache, key, base->fs, questions, &made, o->layout,
					&e) < 0 &&
		    o->warn) {
			cleanup_free char *msg =
			    pl__asprintf(NULL, "the layer cache: %s", pl_error_message(e));
			if (msg)
				o->warn(o->warn_ctx, msg);
		}
		pl_error_free(e);
	}

	*res = (struct pl_build_result){ 0 };
	pl__digest_str(desc.digest, res->manifest_digest);
	pl__digest_str(ip.config, res->config_digest);
	pl__digest_str(made.layer.digest, res->layer_digest);
	memcpy(res->diff_id, diff_id, sizeof(diff_id));
	res->manifest_size = desc.size;
	res->layer_size = made.layer.size;
	res->tar_size = made.layer.tar_size;
	res->entries = made.entries;
	res->packages = made.packages;
	res->from_lock = from_lock;
	res->layer_reused = hit;
	if (have_key)
		pl__digest_str(sources, res->sources_digest);
	snprintf(res->tag, sizeof(res->tag), "%s", tag);
	snprintf(res->version, sizeof(res->version), "%s", version);
	if (base->fs) {
		snprintf(res->base, sizeof(res->base), "%s", base->ref);
		memcpy(res->base_digest, base->digest_str, sizeof(base->digest_str));
		pl__baseimg_packages(base->fs, &res->base_packages);
	}
	return 0;
}
