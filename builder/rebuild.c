/* rebuild.c - the rebuild storm (see plinth/rebuild.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plinth/rebuild.h"
#include "baseimg.h"
#include "catalog.h"
#include "graph.h"
#include "json.h"
#include "layercache.h"
#include "layout.h"
#include "oci.h"
#include "rebuild-impl.h"
#include "regref.h"
#include "sign.h"

#define STATE_DIR     ".plinth"
#define JOURNAL       STATE_DIR "/journal"
#define LAYERS        STATE_DIR "/layers"
#define LOCK          STATE_DIR "/lock"
#define SOURCES       STATE_DIR "/sources"
#define PUSHED        STATE_DIR "/pushed"
#define BASES         STATE_DIR "/bases"
#define JOURNAL_MAX   ((size_t)256 << 20)
#define RESULT_MAX    ((size_t)48 << 10) /* of a child's report kept (more is dropped) */
#define ERROR_MAX     ((size_t)16 << 10)
#define TAG_ANNOT     "org.opencontainers.image.ref.name"
#define LOCK_FILE_MAX ((size_t)64 << 20)

struct item {
	struct pl_rebuild_item pub; /* its strings point at the fields below */
	const struct pl_recipe *r;  /* the graph's */
	char *version, *tag, *digest, *old_base, *old_base_digest;
	char *new_base, *new_base_digest, *error, *new_digest;
	char **supersedes;
	size_t nsupersedes;
	char *recipe_digest, *lock_digest; /* of the output's annotations */
	char *path;                        /* OUT/NAME */
	size_t descendants;                /* items built on it, at any depth */
	pid_t pid;
	int rfd;       /* the child's report, read as it comes */
	char *rep;     /* ...into here (RESULT_MAX bytes), */
	size_t replen; /* ...this much so far */
	struct timespec t0;
};

struct pl_rebuild_plan {
	struct pl__graph *g;
	struct item *items; /* in the graph's order */
	size_t n;
	unsigned last_run;
	bool last_finished;
};

static const char *const why_names[] = {
	[PL_REBUILD_UNCHANGED] = "unchanged",       [PL_REBUILD_NEW] = "new",
	[PL_REBUILD_RECIPE] = "recipe changed",     [PL_REBUILD_FILES] = "files changed",
	[PL_REBUILD_BASE] = "base changed",         [PL_REBUILD_BASE_REBUILT] = "base rebuilt",
	[PL_REBUILD_UNSIGNED] = "unsigned",         [PL_REBUILD_UNPUBLISHED] = "unpublished",
	[PL_REBUILD_UNSUPERSEDED] = "unsuperseded", [PL_REBUILD_BANNED] = "banned",
	[PL_REBUILD_UNPUSHED] = "unpushed",
};

const char *pl_rebuild_why_name(enum pl_rebuild_why why)
{
	return (size_t)why < sizeof(why_names) / sizeof(*why_names) ? why_names[why] : "?";
}

/* Whether the item changes in the run, for what is built on it. */
static bool changing(const struct item *it)
{
	return it->pub.why != PL_REBUILD_UNCHANGED && it->pub.why != PL_REBUILD_UNSIGNED &&
	       it->pub.why != PL_REBUILD_UNPUSHED;
}

/* Whether the item needs a new image (not only a signature or a publish). */
static bool needs_build(const struct item *it)
{
	return it->pub.why != PL_REBUILD_UNCHANGED && it->pub.why != PL_REBUILD_UNSIGNED &&
	       it->pub.why != PL_REBUILD_UNPUBLISHED && it->pub.why != PL_REBUILD_UNSUPERSEDED &&
	       it->pub.why != PL_REBUILD_UNPUSHED;
}

/* Point the public strings at the owned ones. */
static void sync_pub(struct item *it)
{
	it->pub.version = it->version;
	it->pub.tag = it->tag;
	it->pub.digest = it->digest;
	it->pub.old_base = it->old_base;
	it->pub.old_base_digest = it->old_base_digest;
	it->pub.new_base = it->new_base;
	it->pub.new_base_digest = it->new_base_digest;
	it->pub.error = it->error;
	it->pub.new_digest = it->new_digest;
	it->pub.supersedes = (const char *const *)it->supersedes;
	it->pub.nsupersedes = it->nsupersedes;
}

static void set_str(char **field, char *v)
{
	free(*field);
	*field = v;
}

void pl_rebuild_plan_free(struct pl_rebuild_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		char **f[] = { &it->version,         &it->tag,
			       &it->digest,          &it->old_base,
			       &it->old_base_digest, &it->new_base,
			       &it->new_base_digest, &it->error,
			       &it->new_digest,      &it->recipe_digest,
			       &it->lock_digest,     &it->path };
		for (size_t k = 0; k < sizeof(f) / sizeof(*f); k++)
			free(*f[k]);
		for (size_t k = 0; k < it->nsupersedes; k++)
			free(it->supersedes[k]);
		free(it->supersedes);
	}
	free(p->items);
	pl__graph_free(p->g);
	free(p);
}

size_t pl_rebuild_count(const struct pl_rebuild_plan *p)
{
	return p->n;
}

const struct pl_rebuild_item *pl_rebuild_item(const struct pl_rebuild_plan *p, size_t i)
{
	return &p->items[i].pub;
}

unsigned pl_rebuild_last_run(const struct pl_rebuild_plan *p, bool *finished)
{
	*finished = p->last_finished;
	return p->last_run;
}

/* ---- the current outputs ---------------------------------------------- */

/* Read `path` whole when it exists: 1 with *text and *len, 0 when it does
 * not, or a negative pl_code. */
static int read_optional(const char *path, size_t max, char **text, size_t *len,
			 struct pl_error **err)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	int rc = pl__read_file(path, max, text, len, err);
	return rc < 0 ? rc : 1;
}

/*
 * The tag of the item's current output in `dir`: for a base, the newest
 * version in its recipe's MAJOR.MINOR line not older than the recipe's (a
 * rebuilt base is tagged with a newer patch version); for any other image,
 * its recipe's version.  NULL with no error when there is none.
 */
static int output_tag(const char *dir, const struct item *it, char **out, struct pl_error **err)
{
	*out = NULL;
	cleanup_free char *path = pl__asprintf(err, "%s/index.json", dir);
	if (!path)
		return PL_ENOMEM;
	cleanup_free char *text = NULL;
	size_t len = 0;
	cleanup_json json_t *idx = NULL;
	int rc = read_optional(path, PL_INDEX_MAX, &text, &len, err);
	if (rc <= 0)
		return rc;
	if ((rc = pl__json_parse(path, text, len, &idx, err)) < 0 ||
	    (rc = pl__index_check(dir, idx, err)) < 0)
		return rc;
	struct pl__semver want, best = { { 0 }, 0 };
	pl__semver_parse(it->r->version, strlen(it->r->version), true, &want);
	const char *found = NULL;
	size_t i;
	json_t *d;
	json_array_foreach (json_object_get(idx, "manifests"), i, d) {
		const char *t = json_string_value(
		    json_object_get(json_object_get(d, "annotations"), TAG_ANNOT));
		struct pl__semver v;
		if (!t || !pl__semver_parse(t, strlen(t), true, &v))
			continue;
		bool ok = it->pub.is_base ? v.v[0] == want.v[0] && v.v[1] == want.v[1] &&
						pl__semver_cmp(&v, &want) >= 0
					  : pl__semver_cmp(&v, &want) == 0;
		if (ok && (!found || pl__semver_cmp(&v, &best) > 0)) {
			found = t;
			best = v;
		}
	}
	if (found && !(*out = pl__strdup(found, err)))
		return PL_ENOMEM;
	return 0;
}

static int dup_annotation(const struct pl__image *im, const char *key, char **out,
			  struct pl_error **err)
{
	const char *v = pl__image_annotation(im, key);
	*out = NULL;
	if (v && !(*out = pl__strdup(v, err)))
		return PL_ENOMEM;
	return 0;
}

/* The digest a lock file has now, "sha256:..." or NULL when there is none. */
static int lock_file_digest(const struct pl_recipe *r, char **out, struct pl_error **err)
{
	*out = NULL;
	cleanup_free char *path = pl_lock_path(r->path, err);
	if (!path)
		return PL_ENOMEM;
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = read_optional(path, LOCK_FILE_MAX, &text, &len, err);
	if (rc <= 0)
		return rc;
	uint8_t d[PL_SHA256_LEN];
	char s[PL_DIGEST_STR_LEN + 1];
	pl__sha256(text, len, d);
	pl__digest_str(d, s);
	return (*out = pl__strdup(s, err)) ? 0 : PL_ENOMEM;
}

/*
 * Read the item's current output: its tag, digest, what it was built on
 * and from, and whether `key` signed it (*is_signed).
 */
static int read_output(struct item *it, const struct pl_key *key, bool *is_signed,
		       struct pl_error **err)
{
	*is_signed = false;
	int rc = output_tag(it->path, it, &it->tag, err);
	if (rc < 0 || !it->tag)
		return rc;
	cleanup_image struct pl__image im = { 0 };
	if ((rc = pl__image_open(it->path, it->tag, false, &im, err)) < 0)
		return rc;
	char d[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(im.digest, d);
	if (!(it->digest = pl__strdup(d, err)))
		return PL_ENOMEM;
	if ((rc = dup_annotation(&im, "org.opencontainers.image.base.name", &it->old_base, err)) <
		0 ||
	    (rc = dup_annotation(&im, "org.opencontainers.image.base.digest", &it->old_base_digest,
				 err)) < 0 ||
	    (rc = dup_annotation(&im, "dev.plinth.recipe.digest", &it->recipe_digest, err)) < 0 ||
	    (rc = dup_annotation(&im, "dev.plinth.lock.digest", &it->lock_digest, err)) < 0)
		return rc;
	struct pl_verify_result vr;
	struct pl_error *e = NULL;
	*is_signed = pl__verify_opened(&im, it->tag, &key, 1, &vr, &e) == 0;
	pl_error_free(e);
	return 0;
}

/* Whether the recipe or its lock changed since the output was built. */
static int inputs_changed(const struct item *it, bool *changed, struct pl_error **err)
{
	char rd[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(it->r->digest, rd);
	cleanup_free char *ld = NULL;
	int rc = lock_file_digest(it->r, &ld, err);
	if (rc < 0)
		return rc;
	*changed = !it->recipe_digest || strcmp(it->recipe_digest, rd) ||
		   (!ld != !it->lock_digest) || (ld && strcmp(ld, it->lock_digest));
	return 0;
}

/*
 * Whether the host files the recipe copies differ from what the storm that
 * built its output read (OUT/.plinth/sources/NAME; without that record, an
 * output made some other way, nothing is known: no).  A source that cannot
 * be read any more counts as changed: its build will say why.
 */
static int files_changed(const struct item *it, const char *out, bool *changed,
			 struct pl_error **err)
{
	*changed = false;
	if (!it->r->nfiles)
		return 0;
	cleanup_free char *path = pl__asprintf(err, "%s/" SOURCES "/%s", out, it->pub.name);
	if (!path)
		return PL_ENOMEM;
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = read_optional(path, 256, &text, &len, err);
	if (rc <= 0)
		return rc;
	/* "SOURCES MANIFEST": about the output only while it is that image (a
	 * plain build since may have read other files) */
	if (len < 2 * PL_DIGEST_STR_LEN + 1 || text[PL_DIGEST_STR_LEN] != ' ' || !it->digest ||
	    memcmp(text + PL_DIGEST_STR_LEN + 1, it->digest, PL_DIGEST_STR_LEN))
		return 0;
	uint8_t d[PL_SHA256_LEN];
	char now[PL_DIGEST_STR_LEN + 1];
	struct pl_error *e = NULL;
	rc = pl__sources_digest(it->r, d, &e);
	pl_error_free(e);
	if (rc == PL_ENOMEM)
		return pl__error_nomem(err);
	pl__digest_str(d, now);
	*changed = rc < 0 || memcmp(text, now, PL_DIGEST_STR_LEN);
	return 0;
}

/* Record what the build of `it` read of its host files. */
static void record_sources(const char *out, const struct item *it, const char *digest,
			   const char *manifest)
{
	if (!*digest)
		return;
	cleanup_free char *dir = pl__asprintf(NULL, "%s/" SOURCES, out);
	struct pl_error *e = NULL;
	cleanup_close int dfd = -1;
	if (dir && pl__mkdir_p(dir, 0755, &e) == 0 &&
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		cleanup_free char *line = pl__asprintf(NULL, "%s %s\n", digest, manifest);
		if (line)
			pl__write_file_replace(dfd, it->pub.name, line, strlen(line), 0644, &e);
	}
	pl_error_free(e);
}

/* ---- versions ---------------------------------------------------------- */

/*
 * The version a rebuilt base gets: the next patch after the newest version
 * the catalog has in the recipe's MAJOR.MINOR line, or the recipe's when
 * that is newer or the line is empty.
 */
static int next_version(struct pl_catalog *c, const struct pl_recipe *r, char **out,
			struct pl_error **err)
{
	struct pl__semver want, v;
	pl__semver_parse(r->version, strlen(r->version), true, &want);
	const struct pl_catalog_entry *const *e = NULL;
	size_t n = 0;
	int rc = pl_catalog_entries(c, r->name, &e, &n, err);
	if (rc < 0)
		return rc;
	bool any = false;
	uint32_t newest = 0;
	for (size_t i = 0; i < n; i++)
		if (pl__semver_parse(e[i]->version, strlen(e[i]->version), true, &v) &&
		    v.v[0] == want.v[0] && v.v[1] == want.v[1] && (!any || v.v[2] > newest)) {
			newest = v.v[2];
			any = true;
		}
	if (!any || want.v[2] > newest)
		*out = pl__strdup(r->version, err);
	else if (newest >= INT32_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "base '%s' has no patch version left in %u.%u", r->name,
				     want.v[0], want.v[1]);
	else
		*out = pl__asprintf(err, "%u.%u.%u", want.v[0], want.v[1], newest + 1);
	return *out ? 0 : PL_ENOMEM;
}

/* Whether the range of "NAME@RANGE" takes `version` (or, for an exact
 * pin, its line: a superseded pin resolves through its replacements). */
static bool range_takes(const char *spec, const char *version)
{
	const char *at = strchr(spec, '@');
	struct pl__semver r, v;
	if (!at || !pl__semver_parse(at + 1, strlen(at + 1), false, &r) ||
	    !pl__semver_parse(version, strlen(version), true, &v))
		return false;
	for (int i = 0; i < r.n && i < 2; i++)
		if (r.v[i] != v.v[i])
			return false;
	return true;
}

/* ---- the plan ---------------------------------------------------------- */

/* Problems found while planning, reported together. */
struct problems {
	struct pl_buf b;
	size_t n;
	bool nomem;
};

static void problem(struct problems *pr, const char *fmt, ...) PL__PRINTF(2, 3);

static void problem(struct problems *pr, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pr->n++ < 50)
		pr->nomem |= pl_buf_addf(&pr->b, NULL, "\n  %s", msg) < 0;
}

static int plan_base(struct pl_rebuild_plan *p, struct item *it, struct pl_catalog *c,
		     struct problems *pr, struct pl_error **err)
{
	const char *spec = it->r->base;
	if (!pl__recipe_has_base(it->r))
		return 0;
	if (it->pub.parent != PL_REBUILD_NONE) {
		const struct item *up = &p->items[it->pub.parent];
		if (!range_takes(spec, up->version)) {
			problem(pr,
				"recipe '%s': base '%s' is not what recipe '%s' makes (version "
				"%s)",
				it->r->path, spec, up->r->path, up->version);
			return 0;
		}
		if (changing(up)) {
			set_str(&it->new_base,
				pl__asprintf(err, "%s@%s", up->pub.name, up->version));
			if (!it->new_base)
				return PL_ENOMEM;
			/* a finished base's image is known already */
			if (!needs_build(up) &&
			    !(it->new_base_digest = pl__strdup(up->digest, err)))
				return PL_ENOMEM;
			if (it->pub.why == PL_REBUILD_UNCHANGED &&
			    (!it->new_base_digest || !it->old_base_digest ||
			     strcmp(it->new_base_digest, it->old_base_digest)))
				it->pub.why = PL_REBUILD_BASE_REBUILT;
			return 0;
		}
	}
	const struct pl_catalog_entry *e = NULL;
	cleanup_free char *warning = NULL;
	struct pl_error *re = NULL;
	int rc = pl_catalog_resolve(c, spec, &e, &warning, &re);
	if (rc == PL_ENOMEM || rc == PL_ESYS) {
		if (err)
			*err = re;
		else
			pl_error_free(re);
		return rc;
	}
	if (rc < 0) {
		problem(pr, "recipe '%s': base '%s': %s%s", it->r->path, spec, pl_error_message(re),
			it->pub.parent == PL_REBUILD_NONE ? " (and no recipe here is named so)"
							  : "");
		pl_error_free(re);
		return 0;
	}
	if (!(it->new_base = pl__asprintf(err, "%s@%s", e->name, e->version)) ||
	    !(it->new_base_digest = pl__strdup(e->digest, err)))
		return PL_ENOMEM;
	if (it->pub.why == PL_REBUILD_UNCHANGED &&
	    (!it->old_base_digest || strcmp(it->old_base_digest, e->digest)))
		it->pub.why = PL_REBUILD_BASE;
	return 0;
}

/*
 * The versions of the base item's line older than its version that the
 * catalog approves or deprecates, that were made here (in OUT/NAME) and are
 * not its image: what its version supersedes.  A rebuilt base replaces
 * every one of them, not only the one its previous output had: they are all
 * built on what was patched.  Versions published from elsewhere (an ops
 * hotfix) are not the storm's to replace.
 */
static int older_approved(struct pl_catalog *c, struct item *it, struct pl_error **err)
{
	cleanup_free char *here = realpath(it->path, NULL);
	if (!here)
		return 0;
	struct pl__semver mine, v;
	pl__semver_parse(it->version, strlen(it->version), true, &mine);
	const struct pl_catalog_entry *const *e = NULL;
	size_t n = 0, alloc = 0;
	int rc = pl_catalog_entries(c, it->pub.name, &e, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((e[i]->status != PL_STATUS_APPROVED && e[i]->status != PL_STATUS_DEPRECATED) ||
		    !e[i]->layout || strcmp(e[i]->layout, here) ||
		    (it->digest && !needs_build(it) && !strcmp(e[i]->digest, it->digest)) ||
		    !pl__semver_parse(e[i]->version, strlen(e[i]->version), true, &v) ||
		    v.v[0] != mine.v[0] || v.v[1] != mine.v[1] || pl__semver_cmp(&v, &mine) >= 0)
			continue;
		if (it->nsupersedes == alloc &&
		    pl__grow(&it->supersedes, &alloc, it->nsupersedes + 1, sizeof(*it->supersedes),
			     err) < 0)
			return PL_ENOMEM;
		if (!(it->supersedes[it->nsupersedes] = pl__strdup(e[i]->version, err)))
			return PL_ENOMEM;
		it->nsupersedes++;
	}
	return 0;
}

static int plan_item(struct pl_rebuild_plan *p, struct item *it, struct pl_catalog *c,
		     const struct pl_rebuild_options *o, struct problems *pr, struct pl_error **err)
{
	bool is_signed;
	int rc = read_output(it, o->key, &is_signed, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "the output of recipe '%s'", it->r->path);
	bool changed = false;
	if (!it->tag)
		it->pub.why = PL_REBUILD_NEW;
	else if ((rc = inputs_changed(it, &changed, err)) < 0)
		return rc;
	else if (changed)
		it->pub.why = PL_REBUILD_RECIPE;
	/* its version as far as what is built on it goes: what it will be
	 * when rebuilt, else what it is (the catalog decides the number of
	 * a rebuilt base) */
	if ((rc = plan_base(p, it, c, pr, err)) < 0)
		return rc;
	/* last, as it reads every file: only for what nothing else affects */
	if (it->pub.why == PL_REBUILD_UNCHANGED) {
		if ((rc = files_changed(it, o->out, &changed, err)) < 0)
			return rc;
		if (changed)
			it->pub.why = PL_REBUILD_FILES;
	}
	if (it->pub.why == PL_REBUILD_UNCHANGED && !is_signed)
		it->pub.why = PL_REBUILD_UNSIGNED;
	/* a base's current image: published? still approved? */
	bool current_approved = false;
	if (it->pub.is_base &&
	    (it->pub.why == PL_REBUILD_UNCHANGED || it->pub.why == PL_REBUILD_UNSIGNED)) {
		const struct pl_catalog_entry *e = NULL;
		if ((rc = pl_catalog_find_digest(c, it->pub.name, it->digest, &e, err)) < 0)
			return rc;
		if (!e)
			it->pub.why = PL_REBUILD_UNPUBLISHED;
		else if (e->status == PL_STATUS_BANNED)
			it->pub.why = PL_REBUILD_BANNED;
		else
			current_approved =
			    e->status == PL_STATUS_APPROVED || e->status == PL_STATUS_DEPRECATED;
	}
	if (needs_build(it))
		rc = it->pub.is_base ? next_version(c, it->r, &it->version, err)
		     : (it->version = pl__strdup(it->r->version, err)) ? 0
								       : PL_ENOMEM;
	else
		rc = (it->version = pl__strdup(it->tag, err)) ? 0 : PL_ENOMEM;
	/* a version superseded or banned since is left as it is */
	if (rc < 0 || !it->pub.is_base ||
	    !(needs_build(it) || it->pub.why == PL_REBUILD_UNPUBLISHED || current_approved))
		return rc;
	if ((rc = older_approved(c, it, err)) < 0)
		return rc;
	if (it->nsupersedes && it->pub.why == PL_REBUILD_UNCHANGED)
		it->pub.why = PL_REBUILD_UNSUPERSEDED;
	return 0;
}

/* ---- pushing ----------------------------------------------------------- */

/* Where `name` at `version` is pushed: "HOST/PREFIX/NAME:VERSION". */
static char *push_ref(const struct pl_rebuild_options *o, const char *name, const char *version,
		      struct pl_error **err)
{
	return pl__asprintf(err, "%s/%s:%s", o->push, name, version);
}

/* What OUT/.plinth/pushed/NAME says of an image pushed: "REF DIGEST\n". */
static char *push_record(const char *ref, const char *digest, struct pl_error **err)
{
	return pl__asprintf(err, "%s %s\n", ref, digest);
}

/* An unchanged item is in the storm when it was not pushed where o->push
 * says, as it is now. */
static int plan_push(struct item *it, const struct pl_rebuild_options *o, struct pl_error **err)
{
	cleanup_free char *path = pl__asprintf(err, "%s/" PUSHED "/%s", o->out, it->pub.name);
	cleanup_free char *ref = push_ref(o, it->pub.name, it->tag, err);
	cleanup_free char *want = ref ? push_record(ref, it->digest, err) : NULL;
	if (!path || !want)
		return PL_ENOMEM;
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = read_optional(path, 4096, &text, &len, err);
	if (rc < 0)
		return rc;
	if (rc == 0 || strcmp(text, want))
		it->pub.why = PL_REBUILD_UNPUSHED;
	return 0;
}

/* ---- the journal ------------------------------------------------------- */

void pl__journal_scan(const char *text, size_t len, unsigned *last, bool *finished)
{
	*last = 0;
	*finished = true;
	for (const char *line = text; line < text + len;) {
		const char *nl = memchr(line, '\n', (size_t)(text + len - line));
		size_t n = (size_t)((nl ? nl : text + len) - line);
		/* a line cut short by a kill is not an event */
		cleanup_json json_t *j = nl ? json_loadb(line, n, 0, NULL) : NULL;
		line += n + 1;
		json_int_t run = json_integer_value(json_object_get(j, "run"));
		const char *ev = json_string_value(json_object_get(j, "event"));
		if (!ev || run <= 0 || run >= UINT32_MAX)
			continue;
		if ((unsigned)run > *last) {
			*last = (unsigned)run;
			*finished = false;
		}
		if ((unsigned)run == *last && (!strcmp(ev, "end") || !strcmp(ev, "interrupted")))
			*finished = true;
	}
}

/* The last run in the journal, and whether it got to its end. */
static int journal_scan(const char *out, unsigned *last, bool *finished, struct pl_error **err)
{
	*last = 0;
	*finished = true;
	cleanup_free char *path = pl__asprintf(err, "%s/" JOURNAL, out);
	if (!path)
		return PL_ENOMEM;
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = read_optional(path, JOURNAL_MAX, &text, &len, err);
	if (rc <= 0)
		return rc < 0 ? pl__error_wrap(err, rc, "the journal") : 0;
	pl__journal_scan(text, len, last, finished);
	return 0;
}

int pl_rebuild_plan(const struct pl_rebuild_options *o, struct pl_rebuild_plan **out,
		    struct pl_error **err)
{
	if (!o->key || !pl_key_is_private(o->key))
		return pl__error_set(err, PL_EINVAL, 0, "a private key is needed to sign images");
	if (o->push) {
		cleanup_regref struct pl__regref where = { 0 };
		int rc = pl__regrepo_parse(o->push, &where, err);
		if (rc < 0)
			return rc;
		if (!o->registry)
			return pl__error_set(err, PL_EINVAL, 0, "pushing needs registry options");
	}
	cleanup_free struct pl_rebuild_plan *p = pl__calloc(1, sizeof(*p), err);
	if (!p)
		return PL_ENOMEM;
	int rc = pl__graph_load(o->dirs, o->ndirs, &p->g, err);
	if (rc < 0) {
		pl__graph_free(p->g);
		return rc;
	}
	struct pl__graph *g = p->g;
	if (!(p->items = pl__calloc(g->n + 1, sizeof(*p->items), err))) {
		pl__graph_free(g);
		return PL_ENOMEM;
	}
	p->n = g->n;
	struct pl_rebuild_plan *plan = steal_pointer(&p);
	rc = journal_scan(o->out, &plan->last_run, &plan->last_finished, err);

	/* items in the graph's order; parents by item */
	cleanup_free size_t *at = pl__calloc(g->n + 1, sizeof(*at), err);
	if (!at)
		rc = PL_ENOMEM;
	for (size_t i = 0; rc == 0 && i < g->n; i++) {
		const struct pl__node *nd = &g->nodes[g->order[i]];
		struct item *it = &plan->items[i];
		at[g->order[i]] = i;
		it->r = nd->recipe;
		it->rfd = -1;
		it->pub.name = nd->name;
		it->pub.recipe = nd->path;
		it->pub.base_spec = nd->base;
		it->pub.parent = nd->parent == PL__NO_NODE ? PL_REBUILD_NONE : at[nd->parent];
		if (it->pub.parent != PL_REBUILD_NONE)
			plan->items[it->pub.parent].pub.is_base = true;
		if (!(it->path = pl__asprintf(err, "%s/%s", o->out, nd->name)))
			rc = PL_ENOMEM;
	}
	for (size_t i = plan->n; rc == 0 && i-- > 0;) {
		size_t up = plan->items[i].pub.parent;
		if (up != PL_REBUILD_NONE)
			plan->items[up].descendants += plan->items[i].descendants + 1;
	}

	struct pl_catalog *c = NULL;
	if (rc == 0)
		rc = pl_catalog_open(o->catalog, &c, err);
	struct problems pr = { 0 };
	if (rc == 0 && pl_buf_init(&pr.b, 0, err) < 0)
		rc = PL_ENOMEM;
	for (size_t i = 0; rc == 0 && i < plan->n; i++) {
		struct item *it = &plan->items[i];
		const struct pl_catalog_entry *const *e = NULL;
		size_t n = 0;
		if (!it->pub.is_base && (rc = pl_catalog_entries(c, it->pub.name, &e, &n, err)) < 0)
			break;
		it->pub.is_base |= n > 0;
		rc = plan_item(plan, it, c, o, &pr, err);
		if (rc == 0 && o->push && it->pub.why == PL_REBUILD_UNCHANGED)
			rc = plan_push(it, o, err);
		sync_pub(it);
	}
	pl_catalog_free(c);
	if (rc == 0 && (pr.nomem || pr.n)) {
		rc = pr.nomem ? pl__error_nomem(err)
			      : pl__error_set(err, PL_EINVAL, 0,
					      "%zu recipe%s cannot be built, nothing was:%s%s",
					      pr.n, pr.n == 1 ? "" : "s", pr.b.buf,
					      pr.n > 50 ? "\n  ..." : "");
	}
	pl_buf_release(&pr.b);
	if (rc < 0) {
		pl_rebuild_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/* ---- the run ----------------------------------------------------------- */

struct run {
	struct pl_rebuild_plan *p;
	const struct pl_rebuild_options *o;
	unsigned number;
	int journal; /* O_APPEND: each event one write */
	char *layers;
	char *base_cache; /* OUT/.plinth/bases: bases pulled from registries */
	struct pl_catalog *c;
	bool stale; /* the catalog changed since c was opened */
	struct pl__base *bases;
	size_t nbases;
	size_t done, total, running;
	struct pl_rebuild_summary *s;
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Append {"run": N, "event": EV, "name": NAME, ...more} to the journal.
 * A journal that cannot be written does not stop the run: the outputs and
 * the catalog are what a later run reads back. */
static void journal(const struct run *ru, const char *ev, const struct item *it, json_t *more)
{
	json_t *j = more ? more : json_object();
	if (!j)
		return;
	json_object_set_new(j, "run", json_integer(ru->number));
	json_object_set_new(j, "event", json_string(ev));
	if (it)
		json_object_set_new(j, "name", json_string(it->pub.name));
	char *text = pl__json_canonical(j);
	json_decref(j);
	if (!text)
		return;
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (line) {
		line[n] = '\n';
		(void)!pl__write_all(ru->journal, line, n + 1);
		text = line;
	}
	free(text);
}

static int open_catalog(struct run *ru, struct pl_error **err)
{
	if (ru->c && !ru->stale)
		return 0;
	pl_catalog_free(ru->c);
	ru->c = NULL;
	ru->stale = false;
	return pl_catalog_open(ru->o->catalog, &ru->c, err);
}

/* The base `it` builds on now, opened once per run and kept (the builds
 * that fork from here share it). */
static int base_for(struct run *ru, struct item *it, struct pl__base **out, struct pl_error **err)
{
	*out = NULL;
	if (!pl__recipe_has_base(it->r))
		return 0;
	int rc = open_catalog(ru, err);
	if (rc < 0)
		return rc;
	const struct pl_catalog_entry *e = NULL;
	cleanup_free char *warning = NULL;
	if ((rc = pl_catalog_resolve(ru->c, it->r->base, &e, &warning, err)) < 0)
		return pl__error_wrap(err, rc, "base '%s'", it->r->base);
	/* what the plan said it is built on, or nothing */
	const struct item *up =
	    it->pub.parent != PL_REBUILD_NONE ? &ru->p->items[it->pub.parent] : NULL;
	if (up && changing(up) && up->new_digest && strcmp(up->new_digest, e->digest))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "base '%s' resolves to %s@%s (%.19s), not to %s@%s (%.19s), "
				     "which this storm made",
				     it->r->base, e->name, e->version, e->digest, up->pub.name,
				     up->version, up->new_digest);
	if (warning && ru->o->warn) {
		cleanup_free char *msg = pl__asprintf(err, "recipe '%s': base '%s': %s",
						      it->r->path, it->r->base, warning);
		if (!msg)
			return PL_ENOMEM;
		ru->o->warn(ru->o->warn_ctx, msg);
	}
	set_str(&it->new_base, pl__asprintf(err, "%s@%s", e->name, e->version));
	set_str(&it->new_base_digest, pl__strdup(e->digest, err));
	sync_pub(it);
	if (!it->new_base || !it->new_base_digest)
		return PL_ENOMEM;
	for (size_t i = 0; i < ru->nbases; i++)
		if (!strcmp(ru->bases[i].digest_str, e->digest)) {
			*out = &ru->bases[i];
			return 0;
		}
	struct pl__base *v = realloc(ru->bases, (ru->nbases + 1) * sizeof(*v));
	if (!v)
		return pl__error_nomem(err);
	ru->bases = v;
	struct pl__base_fetch fetch = { ru->base_cache, ru->o->registry };
	if ((rc = pl__base_open_entry(e, &fetch, &v[ru->nbases], err)) < 0)
		return rc;
	*out = &v[ru->nbases++];
	return 0;
}

/* ---- in the child ---- */

static void child_warn(void *ctx, const char *msg)
{
	const struct run *ru = ctx;
	if (ru->o->warn)
		ru->o->warn(ru->o->warn_ctx, msg);
}

/*
 * Push the signed image of `it` to o->push, mounting what its base has
 * from the base's repository there, and remember it.  The report `rep`
 * gets {"pushed": {...}}.
 */
static int push_item(struct run *ru, struct item *it, json_t *rep, struct pl_error **err)
{
	const struct pl_rebuild_options *o = ru->o;
	cleanup_free char *src = pl__asprintf(err, "oci:%s:%s", it->path, it->version);
	cleanup_free char *dst = push_ref(o, it->pub.name, it->version, err);
	cleanup_regref struct pl__regref where = { 0 };
	if (!src || !dst)
		return PL_ENOMEM;
	int rc = pl__regrepo_parse(o->push, &where, err);
	if (rc < 0)
		return rc;
	/* the base's repository: NAME of the recipe's NAME@RANGE */
	cleanup_free char *from = NULL;
	if (pl__recipe_has_base(it->r) &&
	    !(from = pl__asprintf(err, "%s/%.*s", where.repo, (int)strcspn(it->r->base, "@"),
				  it->r->base)))
		return PL_ENOMEM;
	struct pl_registry_options ro = *o->registry;
	ro.progress = NULL;
	struct pl_push_result res;
	rc = pl_push(src, dst, from, &ro, &res, err);
	if (rc < 0)
		return rc;
	cleanup_free char *path = pl__asprintf(err, "%s/" PUSHED, o->out);
	cleanup_free char *record = push_record(dst, res.digest, err);
	if (path && record && pl__mkdir_p(path, 0755, err) == 0) {
		cleanup_close int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			rc = pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", path);
		else
			rc = pl__write_file_atomic(dfd, it->pub.name, record, strlen(record), 0644,
						   err);
	} else {
		rc = path && record ? PL_ESYS : PL_ENOMEM;
	}
	if (rc == 0) {
		journal(ru, "pushed", it,
			json_pack("{s:s, s:s, s:i, s:i, s:i, s:I}", "reference", dst, "digest",
				  res.digest, "uploaded", (int)res.uploaded, "mounted",
				  (int)res.mounted, "present", (int)res.present, "bytes",
				  (json_int_t)res.bytes_uploaded));
		json_object_set_new(rep, "pushed",
				    json_pack("{s:I}", "bytes", (json_int_t)res.bytes_uploaded));
	}
	pl_push_result_release(&res);
	return rc;
}

/* Build (when it needs it) and sign one item, report to `fd`, exit. */
static void __attribute__((noreturn))
child(struct run *ru, struct item *it, struct pl__base *base, int fd, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	const struct pl_rebuild_options *o = ru->o;
	struct pl_error *err = NULL;
	json_t *rep = json_object();
	int rc = 0;
	if (needs_build(it)) {
		struct pl_build_options bo = {
			.layout = it->path,
			.version = it->version,
			.compression = o->compression,
			.has_clock = o->has_clock,
			.clock = o->clock,
			.cancel = o->cancel,
			.apt = o->apt,
			.warn = child_warn,
			.warn_ctx = ru,
			.layer_cache = ru->layers,
			.policy = o->policy,
			.skip_tests = o->skip_tests,
			.tmpdir = o->tmpdir,
			.path = o->path,
		};
		struct pl_build_result res;
		rc = pl__build_on(it->r, &bo, base, &res, &err);
		if (rc == 0) {
			journal(ru, "built", it,
				json_pack("{s:s, s:s, s:b, s:s*}", "version", res.version, "digest",
					  res.manifest_digest, "layer_reused", res.layer_reused,
					  "base_digest", res.base[0] ? res.base_digest : NULL));
			record_sources(o->out, it, res.sources_digest, res.manifest_digest);
			json_object_set_new(rep, "built", json_true());
			json_object_set_new(rep, "reused", json_boolean(res.layer_reused));
			json_object_set_new(
			    rep, "compressed",
			    json_integer(res.layer_reused ? 0 : (json_int_t)res.layer_size));
		}
	}
	struct pl_sign_result sr;
	if (rc == 0 && (rc = pl_sign_image(it->path, it->version, o->key, NULL, &sr, &err)) == 0) {
		if (sr.added)
			journal(ru, "signed", it, NULL);
		json_object_set_new(rep, "digest", json_string(sr.manifest_digest));
	}
	if (rc == 0 && o->push)
		rc = push_item(ru, it, rep, &err);
	if (rc < 0) {
		const char *m = pl_error_message(err);
		size_t n = strlen(m);
		if (n > ERROR_MAX) /* cut between characters, not inside one */
			for (n = ERROR_MAX; n > 0 && ((unsigned char)m[n] & 0xC0) == 0x80; n--)
				;
		json_object_set_new(rep, "error", json_stringn(m, n));
		if (o->cancel && *o->cancel)
			json_object_set_new(rep, "cancelled", json_true());
	}
	char *text = rep ? pl__json_canonical(rep) : NULL;
	if (text && strlen(text) < RESULT_MAX)
		(void)!pl__write_all(fd, text, strlen(text));
	_exit(rc == 0 ? 0 : 1);
}

/* ---- in the parent ---- */

static bool cancelled(const struct run *ru)
{
	return ru->o->cancel && *ru->o->cancel;
}

static void report(struct run *ru, const struct item *it)
{
	if (ru->o->progress)
		ru->o->progress(ru->o->progress_ctx, &it->pub, ru->done, ru->total, ru->running);
}

static void dep_failed(struct run *ru, size_t failed)
{
	struct pl_rebuild_plan *p = ru->p;
	for (size_t i = failed + 1; i < p->n; i++) {
		struct item *it = &p->items[i];
		size_t up = it->pub.parent;
		if (up == PL_REBUILD_NONE || it->pub.state != PL_REBUILD_IDLE ||
		    it->pub.why == PL_REBUILD_UNCHANGED ||
		    (p->items[up].pub.state != PL_REBUILD_FAILED &&
		     p->items[up].pub.state != PL_REBUILD_DEP_FAILED))
			continue;
		it->pub.state = PL_REBUILD_DEP_FAILED;
		set_str(&it->error, pl__strdup(p->items[up].pub.name, NULL));
		sync_pub(it);
		journal(ru, "dependency-failed", it,
			json_pack("{s:s}", "base", p->items[up].pub.name));
		ru->s->dep_failed++;
		ru->done++;
		report(ru, it);
	}
}

static void fail(struct run *ru, struct item *it, const char *msg)
{
	it->pub.state = PL_REBUILD_FAILED;
	set_str(&it->error, pl__strdup(msg ? msg : "out of memory", NULL));
	sync_pub(it);
	journal(ru, "failed", it, json_pack("{s:s}", "error", msg ? msg : "out of memory"));
	ru->s->failed++;
	ru->done++;
	report(ru, it);
	dep_failed(ru, (size_t)(it - ru->p->items));
}

static void fail_err(struct run *ru, struct item *it, struct pl_error *e)
{
	fail(ru, it, pl_error_message(e));
	pl_error_free(e);
}

/* The item that can start now, bases with the most built on them first. */
static struct item *next_ready(struct run *ru)
{
	struct item *best = NULL;
	for (size_t i = 0; i < ru->p->n; i++) {
		struct item *it = &ru->p->items[i];
		if (it->pub.state != PL_REBUILD_IDLE || it->pub.why == PL_REBUILD_UNCHANGED)
			continue;
		/* after its base when that changes, and, when pushing, whenever
		 * the base is pushed in this run: its blobs are mounted from there */
		size_t up = it->pub.parent;
		const struct item *base = up != PL_REBUILD_NONE ? &ru->p->items[up] : NULL;
		if (base &&
		    (changing(base) || (ru->o->push && base->pub.why != PL_REBUILD_UNCHANGED)) &&
		    base->pub.state != PL_REBUILD_DONE)
			continue;
		if (!best || it->descendants > best->descendants)
			best = it;
	}
	return best;
}

/* Start `it`: false when it has to wait for a build to end first (no file
 * descriptor left for its report). */
static bool start(struct run *ru, struct item *it)
{
	struct pl_error *err = NULL;
	struct pl__base *base = NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		if ((errno == EMFILE || errno == ENFILE) && ru->running > 0)
			return false;
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot make a pipe: %s", strerror(errno));
		it->pub.state = PL_REBUILD_RUNNING;
		fail(ru, it, msg);
		return true;
	}
	it->pub.state = PL_REBUILD_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &it->t0);
	journal(ru, "start", it,
		json_pack("{s:s, s:s}", "version", it->version, "why",
			  pl_rebuild_why_name(it->pub.why)));
	it->replen = 0;
	if ((needs_build(it) && base_for(ru, it, &base, &err) < 0) ||
	    (!err && !(it->rep = malloc(RESULT_MAX)))) {
		close(fds[0]);
		close(fds[1]);
		if (err)
			fail_err(ru, it, err);
		else
			fail(ru, it, NULL);
		return true;
	}
	fflush(NULL);
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (size_t i = 0; i < ru->p->n; i++)
			if (ru->p->items[i].rfd >= 0)
				close(ru->p->items[i].rfd);
		child(ru, it, base, fds[1], parent);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		free(it->rep);
		it->rep = NULL;
		fail(ru, it, "cannot start a process");
		return true;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	it->pid = pid;
	it->rfd = fds[0];
	ru->running++;
	report(ru, it);
	return true;
}

/* Publish a rebuilt base and supersede the version it replaces. */
static int publish(struct run *ru, struct item *it, struct pl_error **err)
{
	const char *dirs[] = { it->path }, *tags[] = { it->version };
	struct pl_publish_result pr;
	int rc = pl_catalog_publish(ru->o->catalog, ru->o->key, dirs, tags, 1, &pr, err);
	ru->stale = true;
	if (rc < 0)
		return rc;
	if (!pr.existed) {
		it->pub.published = true;
		ru->s->published++;
		journal(ru, "published", it,
			json_pack("{s:s, s:s}", "version", it->version, "digest", pr.digest));
	}
	/* a deprecation of the version it replaces (the newest of them) goes
	 * on to it, before the old ones are superseded */
	if (it->nsupersedes && (rc = open_catalog(ru, err)) < 0)
		return rc;
	const struct pl_catalog_entry *old = NULL;
	struct pl_error *ge = NULL;
	if (it->nsupersedes &&
	    pl_catalog_get(ru->c, it->pub.name, it->supersedes[it->nsupersedes - 1], &old, &ge) < 0)
		old = NULL;
	pl_error_free(ge);
	if (old && old->status == PL_STATUS_DEPRECATED) {
		cleanup_free char *reason = old->reason ? pl__strdup(old->reason, err) : NULL;
		bool changed = false;
		if (old->reason && !reason)
			return PL_ENOMEM;
		rc = pl_catalog_set_status(ru->o->catalog, ru->o->key, it->pub.name, it->version,
					   PL_STATUS_DEPRECATED, reason, &changed, err);
		ru->stale = true;
		if (rc < 0)
			return rc;
		if (changed)
			journal(ru, "deprecated", it,
				json_pack("{s:s, s:s?}", "version", it->version, "reason", reason));
	}
	/* where it was pushed, for builds on machines without OUT */
	if (it->pub.pushed) {
		cleanup_free char *where = pl__asprintf(err, "%s/%s", ru->o->push, it->pub.name);
		bool changed = false;
		if (!where)
			return PL_ENOMEM;
		rc = pl_catalog_locate(ru->o->catalog, ru->o->key, it->pub.name, it->version, where,
				       &changed, err);
		ru->stale = true;
		if (rc < 0)
			return rc;
		if (changed)
			journal(ru, "located", it,
				json_pack("{s:s, s:s}", "version", it->version, "registry", where));
	}
	/* the older versions of its line: the new one replaces them */
	for (size_t i = 0; rc == 0 && i < it->nsupersedes; i++) {
		bool changed = false;
		rc = pl_catalog_supersede(ru->o->catalog, ru->o->key, it->pub.name,
					  it->supersedes[i], it->version, &changed, err);
		ru->stale = true;
		if (rc == 0 && changed)
			journal(ru, "superseded", it,
				json_pack("{s:s, s:s}", "version", it->supersedes[i], "by",
					  it->version));
	}
	return rc;
}

/* A child ended with `status`: take its report and finish the item. */
static void reap(struct run *ru, struct item *it, int status)
{
	close(it->rfd);
	it->rfd = -1;
	it->pid = 0;
	ru->running--;
	it->pub.seconds = since(&it->t0);
	cleanup_json json_t *rep = it->rep ? json_loadb(it->rep, it->replen, 0, NULL) : NULL;
	free(it->rep);
	it->rep = NULL;
	const char *error = json_string_value(json_object_get(rep, "error"));
	const char *digest = json_string_value(json_object_get(rep, "digest"));
	if (json_is_true(json_object_get(rep, "cancelled")) && cancelled(ru)) {
		/* stopped by the storm's cancel: not done, and not a failure (a
		 * build stopped by a signal of its own has failed) */
		it->pub.state = PL_REBUILD_NOT_STARTED;
		ru->s->not_started++;
		journal(ru, "cancelled", it, NULL);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !digest) {
		char why[64];
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "its build was killed by signal %d",
				 WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "its build failed");
		fail(ru, it, error ? error : why);
		return;
	}
	it->pub.built = json_is_true(json_object_get(rep, "built"));
	it->pub.layer_reused = json_is_true(json_object_get(rep, "reused"));
	it->pub.compressed = (uint64_t)json_integer_value(json_object_get(rep, "compressed"));
	const json_t *pushed = json_object_get(rep, "pushed");
	it->pub.pushed = pushed != NULL;
	it->pub.uploaded = (uint64_t)json_integer_value(json_object_get(pushed, "bytes"));
	set_str(&it->new_digest, pl__strdup(digest, NULL));
	sync_pub(it);
	struct pl_error *err = NULL;
	if (it->pub.is_base && publish(ru, it, &err) < 0) {
		fail_err(ru, it, err);
		return;
	}
	it->pub.state = PL_REBUILD_DONE;
	journal(ru, "done", it, json_pack("{s:s, s:s}", "version", it->version, "digest", digest));
	ru->s->rebuilt += it->pub.built;
	ru->s->reused += it->pub.layer_reused;
	ru->s->finished += !it->pub.built;
	ru->s->compressed += it->pub.compressed;
	ru->s->pushed += it->pub.pushed;
	ru->s->uploaded += it->pub.uploaded;
	ru->done++;
	report(ru, it);
}

/* Read what the child of `it` wrote so far; true once it closed the pipe
 * (it is exiting).  What does not fit is read and dropped, so the child
 * never blocks on a full pipe. */
static bool drain(struct item *it)
{
	char sink[4096];
	for (;;) {
		size_t room = it->rep ? RESULT_MAX - it->replen : 0;
		char *to = room ? it->rep + it->replen : sink;
		ssize_t n = read(it->rfd, to, room ? room : sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno != EAGAIN;
		if (n == 0)
			return true;
		if (room)
			it->replen += (size_t)n;
	}
}

/*
 * Start what can start, wait for a build to end, take its report; until
 * nothing runs.  The reports are read as they come (poll), so no child
 * waits on a full pipe, and only the storm's own children are waited for.
 * A cancel is passed on to the running builds once; they stop cleanly.
 */
/* Stop: the builds are told to, waited for, and failed with `why`. */
static void abandon(struct run *ru, const char *why)
{
	for (size_t i = 0; i < ru->p->n; i++) {
		struct item *it = &ru->p->items[i];
		if (it->pid <= 0)
			continue;
		kill(it->pid, SIGKILL);
		while (waitpid(it->pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(it->rfd);
		it->rfd = -1;
		it->pid = 0;
		free(it->rep);
		it->rep = NULL;
		ru->running--;
		fail(ru, it, why);
	}
}

/*
 * Start what can start, wait for a build to end, take its report; until
 * nothing runs.  The reports are read as they come (poll), so no child
 * waits on a full pipe, and only the storm's own children are waited for.
 * A cancel is passed on to the running builds once; they stop cleanly.
 * poll wakes up now and then, so that a cancel that came just before it
 * is not missed.
 */
static void storm(struct run *ru)
{
	bool forwarded = false;
	cleanup_free struct pollfd *pf = calloc(ru->o->jobs, sizeof(*pf));
	cleanup_free struct item **of = calloc(ru->o->jobs, sizeof(*of));
	if (!pf || !of)
		return;
	for (;;) {
		struct item *it;
		while (!cancelled(ru) && ru->running < ru->o->jobs && (it = next_ready(ru)))
			if (!start(ru, it))
				break;
		if (ru->running == 0)
			return;
		size_t k = 0;
		for (size_t i = 0; i < ru->p->n && k < ru->o->jobs; i++)
			if (ru->p->items[i].pid > 0) {
				of[k] = &ru->p->items[i];
				pf[k++] =
				    (struct pollfd){ .fd = ru->p->items[i].rfd, .events = POLLIN };
			}
		if (cancelled(ru) && !forwarded) {
			for (size_t i = 0; i < k; i++)
				kill(of[i]->pid, SIGTERM);
			forwarded = true;
		}
		if (poll(pf, k, forwarded ? -1 : 200) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue; /* a signal, maybe a cancel */
			abandon(ru, "the storm cannot wait for its builds");
			return;
		}
		for (size_t i = 0; i < k; i++) {
			int status;
			if (!pf[i].revents || !drain(of[i]))
				continue;
			pid_t got;
			while ((got = waitpid(of[i]->pid, &status, 0)) < 0 && errno == EINTR)
				;
			/* not our child to wait for (SIGCHLD ignored): its report
			 * says how it went */
			if (got < 0)
				status = 0;
			reap(ru, of[i], status);
		}
	}
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int pl_rebuild_run(struct pl_rebuild_plan *p, const struct pl_rebuild_options *o,
		   struct pl_rebuild_summary *s, struct pl_error **err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*s = (struct pl_rebuild_summary){ .run = p->last_run + 1 };
	for (size_t i = 0; i < p->n; i++) {
		s->affected += p->items[i].pub.why != PL_REBUILD_UNCHANGED;
		s->unchanged += p->items[i].pub.why == PL_REBUILD_UNCHANGED;
	}
	cleanup_free char *state = pl__asprintf(err, "%s/" STATE_DIR, o->out);
	cleanup_free char *lock = pl__asprintf(err, "%s/" LOCK, o->out);
	cleanup_free char *jpath = pl__asprintf(err, "%s/" JOURNAL, o->out);
	cleanup_free char *layers = pl__asprintf(err, "%s/" LAYERS, o->out);
	cleanup_free char *bases = pl__asprintf(err, "%s/" BASES, o->out);
	if (!state || !lock || !jpath || !layers || !bases)
		return PL_ENOMEM;
	int rc = pl__mkdir_p(state, 0755, err);
	if (rc < 0)
		return rc;
	cleanup_close int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", lock);
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0)
		return pl__error_set(err, PL_EINVAL, errno == EWOULDBLOCK ? 0 : errno,
				     "another plinth rebuild is running on '%s'", o->out);
	cleanup_close int jfd = open(jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (jfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the journal '%s'", jpath);
	/* the plan may be older than the lock: a run that ended in between
	 * wrote a later number */
	unsigned last;
	bool finished;
	if ((rc = journal_scan(o->out, &last, &finished, err)) < 0)
		return rc;
	s->run = last + 1;

	struct run ru = {
		.p = p,
		.o = o,
		.number = s->run,
		.journal = jfd,
		.layers = layers,
		.base_cache = bases,
		.total = s->affected,
		.s = s,
	};
	struct pl_rebuild_options with_jobs;
	if (!o->jobs) {
		with_jobs = *o;
		with_jobs.jobs = online_cpus();
		ru.o = &with_jobs;
	}
	pl__layer_cache_prime();
	/* the builds are waited for: not when the caller ignores SIGCHLD */
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old_chld);
	journal(&ru, "begin", NULL,
		json_pack("{s:I, s:I, s:I}", "affected", (json_int_t)s->affected, "unchanged",
			  (json_int_t)s->unchanged, "jobs", (json_int_t)ru.o->jobs));
	storm(&ru);
	sigaction(SIGCHLD, &old_chld, NULL);
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		if (it->pub.state == PL_REBUILD_IDLE && it->pub.why != PL_REBUILD_UNCHANGED) {
			it->pub.state = PL_REBUILD_NOT_STARTED;
			s->not_started++;
		}
	}
	for (size_t i = 0; i < ru.nbases; i++)
		pl__base_release(&ru.bases[i]);
	free(ru.bases);
	pl_catalog_free(ru.c);
	s->seconds = since(&t0);
	bool stopped = cancelled(&ru);
	journal(&ru, stopped ? "interrupted" : "end", NULL,
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "rebuilt", (json_int_t)s->rebuilt,
			  "reused", (json_int_t)s->reused, "failed", (json_int_t)s->failed,
			  "dependency_failed", (json_int_t)s->dep_failed, "unchanged",
			  (json_int_t)s->unchanged, "seconds", s->seconds));
	if (stopped || s->not_started)
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: %zu of %zu images not done; run again to finish",
				     stopped ? "interrupted" : "stopped",
				     s->affected - s->rebuilt - s->finished, s->affected);
	if (s->failed || s->dep_failed)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "%zu image%s failed to build, %zu more on them were not built",
				     s->failed, s->failed == 1 ? "" : "s", s->dep_failed);
	return 0;
}
