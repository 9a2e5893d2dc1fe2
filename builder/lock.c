/*
 * lock.c - the lock file: what a recipe's packages resolved to, pinned by
 * sha256, and the digest of the recipe inputs it was made from.
 *
 * {"lockVersion": 1, "inputs": "sha256:...", "architecture": "amd64",
 *  "packages": [{"name", "version", "architecture", "source",
 *                "sourceVersion" (only when it differs), "filename",
 *                "sha256", "size"}, ...]}
 *
 * It is written indented with sorted keys, one package after another by
 * name, so that it diffs well under version control.  Reading is strict:
 * unknown keys, wrong types and malformed values are errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseimg.h"
#include "debversion.h"
#include "json.h"
#include "packages.h"

#define LOCK_VERSION 1
#define PL_LOCK_MAX  ((size_t)64 << 20)

void pl__lock_release(struct pl__lock *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pl__locked *p = &l->p[i];
		free(p->name);
		free(p->version);
		free(p->arch);
		free(p->source);
		free(p->source_version);
		free(p->filename);
	}
	free(l->p);
	free(l->arch);
	free(l->path);
	*l = (struct pl__lock){ 0 };
}

char *pl_lock_path(const char *recipe_path, struct pl_error **err)
{
	size_t n = strlen(recipe_path);
	if (n > 5 && !strcmp(recipe_path + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(recipe_path + n - 4, ".yml"))
		n -= 4;
	return pl__asprintf(err, "%.*s.lock.json", (int)n, recipe_path);
}

int pl__lock_inputs(const struct pl_recipe *r, const char *arch, uint8_t out[PL_SHA256_LEN],
		    struct pl_error **err)
{
	cleanup_json json_t *repos = json_array(), *pkgs = json_array();
	if (!repos || !pkgs)
		return pl__error_nomem(err);
	for (size_t i = 0; i < r->nrepos; i++) {
		const struct pl__repo_spec *s = &r->repos[i];
		json_t *j =
		    s->host ? json_string("host")
			    : json_pack("{s:s, s:o, s:o, s:s*}", "uri", s->uri, "suites",
					pl__json_strings(s->suites.v, s->suites.n), "components",
					pl__json_strings(s->components.v, s->components.n),
					"keyring", s->keyring);
		if (json_array_append_new(repos, j) < 0)
			return pl__error_nomem(err);
	}
	for (size_t i = 0; i < r->npkgs; i++) {
		const struct pl__pkg_spec *p = &r->pkgs[i];
		json_t *j = json_pack("{s:s, s:s*, s:s*}", "name", p->name, "version", p->version,
				      "suite", p->suite);
		if (json_array_append_new(pkgs, j) < 0)
			return pl__error_nomem(err);
	}
	cleanup_json json_t *all =
	    json_pack("{s:s, s:s, s:O, s:O, s:o}", "architecture", arch, "base", r->base,
		      "repositories", repos, "packages", pkgs, "assume-installed",
		      pl__json_strings(r->assume_installed.v, r->assume_installed.n));
	cleanup_free char *text = all ? pl__json_canonical(all) : NULL;
	if (!text)
		return pl__error_nomem(err);
	pl__sha256(text, strlen(text), out);
	return 0;
}

static json_t *lock_json(const struct pl__lock *l)
{
	char inputs[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(l->inputs, inputs);
	json_t *pkgs = json_array();
	for (size_t i = 0; pkgs && i < l->n; i++) {
		const struct pl__locked *p = &l->p[i];
		char hex[2 * PL_SHA256_LEN + 1];
		pl__hex(p->sha256, PL_SHA256_LEN, hex);
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s, s:s, s:I}", "name", p->name,
				      "version", p->version, "architecture", p->arch, "source",
				      p->source, "sourceVersion", p->source_version, "filename",
				      p->filename, "sha256", hex, "size", (json_int_t)p->size);
		if (json_array_append_new(pkgs, j) < 0) {
			json_decref(pkgs);
			return NULL;
		}
	}
	return json_pack("{s:i, s:s, s:s, s:o}", "lockVersion", LOCK_VERSION, "inputs", inputs,
			 "architecture", l->arch, "packages", pkgs);
}

int pl__lock_digest(const struct pl__lock *l, uint8_t out[PL_SHA256_LEN], struct pl_error **err)
{
	if (!l->arch && l->n == 0) {
		pl__sha256("", 0, out);
		return 0;
	}
	cleanup_json json_t *j = l->arch ? lock_json(l) : NULL;
	cleanup_free char *text = j ? pl__json_canonical(j) : NULL;
	if (!text)
		return pl__error_nomem(err);
	pl__sha256(text, strlen(text), out);
	return 0;
}

int pl__lock_write(const char *path, const struct pl__lock *l, struct pl_error **err)
{
	cleanup_json json_t *j = lock_json(l);
	cleanup_free char *text =
	    j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
	if (!text)
		return pl__error_nomem(err);
	size_t n = strlen(text);
	cleanup_free char *with_nl = pl__asprintf(err, "%s\n", text);
	if (!with_nl)
		return PL_ENOMEM;
	const char *slash = strrchr(path, '/');
	cleanup_free char *dir =
	    slash ? pl__strndup(path, slash == path ? 1 : (size_t)(slash - path), err)
		  : pl__strdup(".", err);
	if (!dir)
		return PL_ENOMEM;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open directory '%s'", dir);
	int rc = pl__write_file_atomic(dfd, slash ? slash + 1 : path, with_nl, n + 1, 0644, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "lock '%s'", path);
	if (fsync(dfd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync directory '%s'", dir);
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

static int lfail(struct pl_error **err, const char *name, const char *fmt, ...) PL__PRINTF(3, 4);

static int lfail(struct pl_error **err, const char *name, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pl__error_set(err, PL_EINVAL, 0, "%s: %s", name, msg);
}

static int check_keys(const char *name, const char *where, json_t *obj, const char *const *known,
		      struct pl_error **err)
{
	const char *k;
	json_t *v;
	json_object_foreach (obj, k, v) {
		const char *const *p = known;
		while (*p && strcmp(*p, k))
			p++;
		if (!*p)
			return lfail(err, name, "%s: unknown key '%s'", where, k);
	}
	return 0;
}

static int get_string(const char *name, const char *where, json_t *obj, const char *key,
		      bool optional, char **out, struct pl_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (!v && optional)
		return 0;
	if (!json_is_string(v))
		return lfail(err, name, "%s: '%s' must be a string", where, key);
	const char *s = json_string_value(v);
	if (!*s || strlen(s) != json_string_length(v) || strlen(s) > PL_PATH_MAX)
		return lfail(err, name, "%s: '%s' must be a non-empty string", where, key);
	*out = pl__strdup(s, err);
	return *out ? 0 : PL_ENOMEM;
}

static int parse_pkg(const char *name, size_t i, json_t *j, struct pl__locked *p,
		     struct pl_error **err)
{
	static const char *const keys[] = { "name",   "version",       "architecture",
					    "source", "sourceVersion", "filename",
					    "sha256", "size",          NULL };
	char where[64];
	snprintf(where, sizeof(where), "packages[%zu]", i);
	if (!json_is_object(j))
		return lfail(err, name, "%s must be an object", where);
	int rc = check_keys(name, where, j, keys, err);
	cleanup_free char *hex = NULL;
	if (rc == 0)
		rc = get_string(name, where, j, "name", false, &p->name, err);
	if (rc == 0)
		rc = get_string(name, where, j, "version", false, &p->version, err);
	if (rc == 0)
		rc = get_string(name, where, j, "architecture", false, &p->arch, err);
	if (rc == 0)
		rc = get_string(name, where, j, "source", false, &p->source, err);
	if (rc == 0)
		rc = get_string(name, where, j, "sourceVersion", true, &p->source_version, err);
	if (rc == 0)
		rc = get_string(name, where, j, "filename", false, &p->filename, err);
	if (rc == 0)
		rc = get_string(name, where, j, "sha256", false, &hex, err);
	if (rc < 0)
		return rc;
	const char *why;
	if (!pl__debname_valid(p->name))
		return lfail(err, name, "%s: '%s' is not a Debian package name", where, p->name);
	if (!pl__debname_valid(p->source))
		return lfail(err, name, "%s: source '%s' is not a Debian package name", where,
			     p->source);
	if (!pl__debver_valid(p->version, &why) ||
	    (p->source_version && !pl__debver_valid(p->source_version, &why)))
		return lfail(err, name, "%s: package '%s': %s", where, p->name, why);
	if (!pl__pool_path_valid(p->filename))
		return lfail(err, name, "%s: 'filename' must be a relative path without '..'",
			     where);
	if (strlen(hex) != 64 || !pl__hex_sha256(hex, p->sha256))
		return lfail(err, name, "%s: 'sha256' must be 64 hex digits", where);
	json_t *size = json_object_get(j, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return lfail(err, name, "%s: 'size' must be a non-negative integer", where);
	p->size = (uint64_t)json_integer_value(size);
	return 0;
}

static int parse_lock(const char *name, json_t *root, struct pl__lock *l, struct pl_error **err)
{
	static const char *const keys[] = { "lockVersion", "inputs", "architecture", "packages",
					    NULL };
	if (!json_is_object(root))
		return lfail(err, name, "a lock must be a JSON object");
	int rc = check_keys(name, "lock", root, keys, err);
	if (rc < 0)
		return rc;
	json_t *ver = json_object_get(root, "lockVersion");
	if (!json_is_integer(ver) || json_integer_value(ver) != LOCK_VERSION)
		return lfail(err, name, "'lockVersion' must be %d (made by another plinth?)",
			     LOCK_VERSION);
	cleanup_free char *inputs = NULL;
	if ((rc = get_string(name, "lock", root, "inputs", false, &inputs, err)) < 0 ||
	    (rc = get_string(name, "lock", root, "architecture", false, &l->arch, err)) < 0)
		return rc;
	if (strncmp(inputs, "sha256:", 7) || strlen(inputs) != 71 ||
	    !pl__hex_sha256(inputs + 7, l->inputs))
		return lfail(err, name, "'inputs' must be sha256:<64 hex digits>");
	json_t *pkgs = json_object_get(root, "packages");
	if (!json_is_array(pkgs))
		return lfail(err, name, "'packages' must be an array");
	size_t n = json_array_size(pkgs);
	if (!(l->p = pl__calloc(n + 1, sizeof(*l->p), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((rc = parse_pkg(name, i, json_array_get(pkgs, i), &l->p[l->n++], err)) < 0)
			return rc;
		if (i && strcmp(l->p[i - 1].name, l->p[i].name) >= 0)
			return lfail(err, name,
				     "packages[%zu]: '%s' is out of order or listed twice (the "
				     "lock is sorted by name)",
				     i, l->p[i].name);
	}
	return 0;
}

int pl__lock_parse(const char *name, const char *text, size_t len, struct pl__lock *out,
		   struct pl_error **err)
{
	json_error_t je;
	cleanup_json json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return pl__error_set(err, PL_EINVAL, 0, "%s:%d:%d: %s", name, je.line, je.column,
				     je.text);
	struct pl__lock l = { 0 };
	int rc = parse_lock(name, root, &l, err);
	if (rc < 0) {
		pl__lock_release(&l);
		return rc;
	}
	pl__sha256(text, len, l.file_digest);
	*out = l;
	return 0;
}

int pl__lock_read(const char *path, struct pl__lock *out, struct pl_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return PL__LOCK_ABSENT;
	int rc = pl__read_file(path, PL_LOCK_MAX, &text, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "lock");
	cleanup_free char *copy = pl__strdup(path, err);
	if (!copy || (rc = pl__lock_parse(path, text, len, out, err)) < 0)
		return copy ? rc : PL_ENOMEM;
	out->path = steal_pointer(&copy);
	return 0;
}

int pl_lock(const struct pl_recipe *r, const struct pl_lock_options *o, struct pl_lock_result *res,
	    struct pl_error **err)
{
	cleanup_free char *path =
	    o->lock_path ? pl__strdup(o->lock_path, err) : pl_lock_path(r->path, err);
	if (!path)
		return PL_ENOMEM;
	/* the base's packages are installed: the lock pins what it lacks */
	cleanup_base struct pl__base base = { 0 };
	int rc;
	if (pl__recipe_has_base(r) && r->npkgs &&
	    (rc = pl__base_open(r, o->catalog,
				&(struct pl__base_fetch){ o->base_cache, o->registry }, o->warn,
				o->warn_ctx, &base, err)) < 0)
		return rc;
	cleanup_lock struct pl__lock l = { 0 };
	if ((rc = pl__packages_resolve(r, &o->apt, base.fs, &l, err)) < 0)
		return rc;
	if ((rc = pl__check_cancel(o->apt.cancel, err)) < 0)
		return rc;
	if ((rc = pl__lock_write(path, &l, err)) < 0)
		return rc;
	*res = (struct pl_lock_result){ .packages = l.n };
	for (size_t i = 0; i < l.n; i++)
		res->download_size += l.p[i].size;
	if (base.fs) {
		snprintf(res->base, sizeof(res->base), "%s", base.ref);
		pl__baseimg_packages(base.fs, &res->base_packages);
	}
	return 0;
}
