/*
 * catalog.c - the signed, versioned catalog of approved bases.
 *
 * The format is described in catalog/README.md.  In short: catalog.json
 * holds the signed state (trust root, one content-addressed object per base
 * name, the history's length, size and head hash); objects/<hex>.json hold
 * each base's versions; history.jsonl is the hash-chained list of changes.
 *
 * One function, apply(), turns a change record into a new state.  Writers
 * use it to make a change; pl_catalog_verify() uses it to replay the whole
 * history from nothing and compare the result with the signed state, so
 * the state is, checkably, a function of its history.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "plinth/build.h"
#include "catalog.h"
#include "json.h"
#include "oci.h"
#include "regref.h"
#include "sign.h"

#define STATE_FILE   "catalog.json"
#define HISTORY_FILE "history.jsonl"
#define OBJECTS_DIR  "objects"
#define LOCK_FILE    ".lock"
#define FORMAT       1
#define TYPE         "plinth-catalog"
#define EXPORT_TYPE  "plinth-catalog-export"
#define HISTORY_MAX  ((size_t)1 << 30)
#define EXPORT_MAX   ((size_t)2 << 30) /* history, state and objects, as JSON */
#define NAME_LEN_MAX 128
#define TEXT_MAX     1024 /* a reason */
#define CHAIN_MAX    64   /* bases below an image, supersessions in a row */
#define SHARDS       64   /* the bases are listed in this many shard objects */

#define ANN_TITLE       "org.opencontainers.image.title"
#define ANN_VERSION     "org.opencontainers.image.version"
#define ANN_BASE_NAME   "org.opencontainers.image.base.name"
#define ANN_BASE_DIGEST "org.opencontainers.image.base.digest"
#define ANN_RECIPE      "dev.plinth.recipe.digest"
#define ANN_LOCK        "dev.plinth.lock.digest"

/* apply() made no change: the record would be a no-op. */
#define NOCHANGE 1

static const char *const status_names[] = { "approved", "deprecated", "superseded", "banned" };

const char *pl_status_name(enum pl_status s)
{
	return (unsigned)s < 4 ? status_names[s] : "unknown";
}

static int status_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, status_names[i]))
			return i;
	return -1;
}

/* ---- versions and names ------------------------------------------------ */

bool pl__semver_parse(const char *s, size_t len, bool full, struct pl__semver *out)
{
	const char *p = s, *end = s + len;
	memset(out, 0, sizeof(*out));
	for (;;) {
		if (out->n == 3 || p == end || *p < '0' || *p > '9')
			return false;
		if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
			return false; /* leading zero */
		uint64_t v = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v > INT32_MAX)
				return false;
		}
		out->v[out->n++] = (uint32_t)v;
		if (p == end)
			break;
		if (*p++ != '.')
			return false;
	}
	return !full || out->n == 3;
}

int pl__semver_cmp(const struct pl__semver *a, const struct pl__semver *b)
{
	for (int i = 0; i < 3; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i] ? -1 : 1;
	return 0;
}

static bool version_valid(const char *s)
{
	struct pl__semver v;
	return pl__semver_parse(s, strlen(s), true, &v);
}

static int version_cmp(const char *a, const char *b)
{
	struct pl__semver va, vb;
	pl__semver_parse(a, strlen(a), true, &va);
	pl__semver_parse(b, strlen(b), true, &vb);
	return pl__semver_cmp(&va, &vb);
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_LEN_MAX || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool digest_valid(const char *s)
{
	uint8_t d[PL_SHA256_LEN];
	return pl__digest_parse(s, d);
}

/* ---- strict JSON access ------------------------------------------------ */

/* Every key of `o` is one of the NULL-terminated `keys`, each required one
 * (prefixed '!') present. */
static int check_keys(const json_t *o, const char *const *keys, const char *what,
		      struct pl_error **err)
{
	if (!json_is_object(o))
		return pl__error_set(err, PL_EINVAL, 0, "%s is not a JSON object", what);
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)o, k, v) {
		bool known = false;
		for (const char *const *p = keys; *p && !known; p++)
			known = !strcmp(k, *p + (**p == '!'));
		if (!known)
			return pl__error_set(err, PL_EINVAL, 0, "%s: unknown key '%s'", what, k);
	}
	for (const char *const *p = keys; *p; p++)
		if (**p == '!' && !json_object_get(o, *p + 1))
			return pl__error_set(err, PL_EINVAL, 0, "%s: '%s' is missing", what,
					     *p + 1);
	return 0;
}

/* The string member `key` (NULL when absent); a present non-string is an
 * error. */
static int get_str(const json_t *o, const char *key, const char *what, const char **out,
		   struct pl_error **err)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || !pl__utf8_valid(json_string_value(v)) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return pl__error_set(err, PL_EINVAL, 0, "%s: '%s' is not a string", what, key);
	*out = json_string_value(v);
	return 0;
}

static int get_uint(const json_t *o, const char *key, const char *what, uint64_t *out,
		    struct pl_error **err)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s: '%s' is not a non-negative integer",
				     what, key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* ---- entries ----------------------------------------------------------- */

static const char *const entry_keys[] = {
	"!version",     "!digest",      "!status",    "reason",   "!statusTime", "!published",
	"supersededBy", "recipeDigest", "lockDigest", "baseName", "baseDigest",  "!signer",
	"!publisher",   "!layout",      "!tag",       "registry", NULL,
};

/* A registry location: "HOST/REPO". */
static int registry_check(const char *reg, const char *what, struct pl_error **err)
{
	cleanup_regref struct pl__regref r = { 0 };
	int rc = pl__regrepo_parse(reg, &r, err);
	return rc < 0 ? pl__error_wrap(err, rc, "%s: 'registry'", what) : 0;
}

/* Check one entry of base `base`. */
static int check_entry(const json_t *e, const char *base, struct pl_error **err)
{
	char what[NAME_LEN_MAX + 64];
	const char *version = json_string_value(json_object_get(e, "version"));
	snprintf(what, sizeof(what), "entry '%s@%s'", base, version ? version : "?");
	int rc = check_keys(e, entry_keys, what, err);
	if (rc < 0)
		return rc;
	const char *s[16];
	uint64_t t;
	for (size_t i = 0; entry_keys[i]; i++) {
		const char *k = entry_keys[i] + (entry_keys[i][0] == '!');
		if (!strcmp(k, "statusTime") || !strcmp(k, "published")) {
			if ((rc = get_uint(e, k, what, &t, err)) < 0)
				return rc;
		} else if ((rc = get_str(e, k, what, &s[i], err)) < 0)
			return rc;
	}
	if (!version_valid(version))
		return pl__error_set(err, PL_EINVAL, 0, "%s: version is not MAJOR.MINOR.PATCH",
				     what);
	static const char *const digests[] = { "digest", "recipeDigest", "lockDigest", "baseDigest",
					       "signer", "publisher",    NULL };
	for (const char *const *k = digests; *k; k++) {
		const char *d = json_string_value(json_object_get(e, *k));
		if (d && !digest_valid(d))
			return pl__error_set(err, PL_EINVAL, 0, "%s: '%s' is not a sha256 digest",
					     what, *k);
	}
	int st = status_parse(json_string_value(json_object_get(e, "status")));
	if (st < 0)
		return pl__error_set(err, PL_EINVAL, 0, "%s: unknown status '%s'", what,
				     json_string_value(json_object_get(e, "status")));
	const char *by = json_string_value(json_object_get(e, "supersededBy"));
	if ((st == PL_STATUS_SUPERSEDED) != (by != NULL) || (by && !version_valid(by)))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: 'supersededBy' must name a version exactly when the "
				     "status is superseded",
				     what);
	if (st == PL_STATUS_BANNED && !json_object_get(e, "reason"))
		return pl__error_set(err, PL_EINVAL, 0, "%s: a ban needs a reason", what);
	const char *layout = json_string_value(json_object_get(e, "layout"));
	const char *tag = json_string_value(json_object_get(e, "tag"));
	if (layout[0] != '/' || !pl_tag_valid(tag))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: 'layout' must be an absolute path and 'tag' a valid tag",
				     what);
	if (!json_object_get(e, "baseName") != !json_object_get(e, "baseDigest"))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: 'baseName' and 'baseDigest' go together", what);
	const char *reg = json_string_value(json_object_get(e, "registry"));
	return reg ? registry_check(reg, what, err) : 0;
}

static void entry_fill(struct pl_catalog_entry *out, const char *name, const json_t *e)
{
#define S(k) json_string_value(json_object_get(e, k))
	out->name = name;
	out->version = S("version");
	out->digest = S("digest");
	out->status = (enum pl_status)status_parse(S("status"));
	out->reason = S("reason");
	out->status_time = (uint64_t)json_integer_value(json_object_get(e, "statusTime"));
	out->published = (uint64_t)json_integer_value(json_object_get(e, "published"));
	out->superseded_by = S("supersededBy");
	out->recipe_digest = S("recipeDigest");
	out->lock_digest = S("lockDigest");
	out->base_name = S("baseName");
	out->base_digest = S("baseDigest");
	out->signer = S("signer");
	out->publisher = S("publisher");
	out->layout = S("layout");
	out->tag = S("tag");
	out->registry = S("registry");
#undef S
}

/* The index of `version` in the sorted array `versions`, or -1; *at gets
 * where it would be inserted. */
static ssize_t find_version(const json_t *versions, const char *version, size_t *at)
{
	size_t lo = 0, hi = json_array_size(versions);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *v =
		    json_string_value(json_object_get(json_array_get(versions, mid), "version"));
		int c = version_cmp(v, version);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return -1;
}

/* Check an object's text: {"name": base, "versions": [...]}, versions
 * valid, sorted and unique; *out gets the versions array (a new reference). */
static int object_parse(const char *base, const char *text, size_t len, json_t **out,
			struct pl_error **err)
{
	json_error_t je;
	cleanup_json json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return pl__error_set(err, PL_EINVAL, 0, "line %d, column %d: %s", je.line,
				     je.column, je.text);
	static const char *const keys[] = { "!name", "!versions", NULL };
	int rc = check_keys(o, keys, "object", err);
	if (rc < 0)
		return rc;
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *versions = json_object_get(o, "versions");
	if (!name || strcmp(name, base) || !json_is_array(versions) || !json_array_size(versions))
		return pl__error_set(err, PL_EINVAL, 0,
				     "object is not base '%s' with a list of versions", base);
	size_t i;
	json_t *e;
	const char *prev = NULL;
	json_array_foreach (versions, i, e) {
		if ((rc = check_entry(e, base, err)) < 0)
			return rc;
		const char *v = json_string_value(json_object_get(e, "version"));
		if (prev && version_cmp(prev, v) >= 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "versions of '%s' are not sorted and unique at '%s'",
					     base, v);
		prev = v;
	}
	*out = json_incref(versions);
	return 0;
}

int pl__catalog_object_check(const char *base, const char *text, size_t len, struct pl_error **err)
{
	cleanup_json json_t *v = NULL;
	return object_parse(base, text, len, &v, err);
}

/* ---- the model and apply() --------------------------------------------- */

/* The state changes act on: the trust root and (some of) the bases. */
struct model {
	json_t *trust; /* [{"keyid", "publicKey"}], sorted by keyid */
	json_t *bases; /* name -> versions */
};

static void model_release(struct model *m)
{
	json_decref(m->trust);
	json_decref(m->bases);
}
#define cleanup_model __attribute__((cleanup(model_release)))

static bool model_trusts(const struct model *m, const char *keyid)
{
	size_t i;
	json_t *t;
	json_array_foreach (m->trust, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "keyid")), keyid))
			return true;
	return false;
}

/* Parse `pem` as a public key whose fingerprint goes to `fp` (72 bytes). */
static int pem_fingerprint(const char *pem, char *fp, struct pl_error **err)
{
	struct pl_key *k = NULL;
	int rc = pl_key_from_pem("public key", pem, strlen(pem), &k, err);
	if (rc < 0)
		return rc;
	snprintf(fp, PL_DIGEST_STR_LEN + 1, "%s", pl_key_fingerprint(k));
	pl_key_free(k);
	return 0;
}

static int trust_add(struct model *m, const char *pem, struct pl_error **err)
{
	char fp[PL_DIGEST_STR_LEN + 1];
	int rc = pem_fingerprint(pem, fp, err);
	if (rc < 0)
		return rc;
	if (model_trusts(m, fp))
		return NOCHANGE;
	size_t at = 0;
	while (at < json_array_size(m->trust) &&
	       strcmp(json_string_value(json_object_get(json_array_get(m->trust, at), "keyid")),
		      fp) < 0)
		at++;
	if (json_array_insert_new(m->trust, at,
				  json_pack("{s:s, s:s}", "keyid", fp, "publicKey", pem)) < 0)
		return pl__error_nomem(err);
	return 0;
}

static json_t *entry_of(const struct model *m, const char *name, const char *version)
{
	json_t *versions = json_object_get(m->bases, name);
	ssize_t i = versions ? find_version(versions, version, NULL) : -1;
	return i < 0 ? NULL : json_array_get(versions, (size_t)i);
}

static int set_status(json_t *e, enum pl_status st, const char *reason, const char *by,
		      uint64_t time, struct pl_error **err)
{
	int bad = json_object_set_new(e, "status", json_string(status_names[st]));
	bad |= json_object_set_new(e, "statusTime", json_integer((json_int_t)time));
	json_object_del(e, "reason");
	json_object_del(e, "supersededBy");
	if (reason)
		bad |= json_object_set_new(e, "reason", json_string(reason));
	if (by)
		bad |= json_object_set_new(e, "supersededBy", json_string(by));
	return bad ? pl__error_nomem(err) : 0;
}

/* The keys of each kind of record ('!' marks those it must have). */
#define RECORD_COMMON "!seq", "!time", "!op", "!key", "!prev", "!sig"
static const char *const init_keys[] = { RECORD_COMMON, "!publicKey", "!nonce", NULL };
static const char *const trust_keys[] = { RECORD_COMMON, "add", "remove", NULL };
static const char *const publish_keys[] = { RECORD_COMMON, "!name", "!entry", NULL };
static const char *const status_keys[] = { RECORD_COMMON, "!name", "!version", "reason", NULL };
static const char *const supersede_keys[] = { RECORD_COMMON, "!name", "!version", "!to", NULL };
static const char *const locate_keys[] = { RECORD_COMMON, "!name", "!version", "!registry", NULL };

static const char *const *record_keys(const char *op)
{
	static const struct {
		const char *op;
		const char *const *keys;
	} ops[] = {
		{ "init", init_keys },       { "trust", trust_keys },
		{ "publish", publish_keys }, { "deprecate", status_keys },
		{ "ban", status_keys },      { "supersede", supersede_keys },
		{ "locate", locate_keys },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
		if (!strcmp(ops[i].op, op))
			return ops[i].keys;
	return NULL;
}

/*
 * Apply one record to `m`: 0 when it changed the state, NOCHANGE when it
 * would not, or an error saying why the record is not allowed.  The
 * record's own shape, seq and prev are the caller's to check.
 */
static int apply(struct model *m, const json_t *rec, struct pl_error **err)
{
	const char *op = NULL, *key = NULL, *name = NULL, *version = NULL, *to = NULL;
	const char *reason = NULL, *pem = NULL, *nonce = NULL;
	uint64_t time = 0, seq = 0;
	int rc;
	if ((rc = get_str(rec, "op", "record", &op, err)) < 0)
		return rc;
	const char *const *keys = op ? record_keys(op) : NULL;
	if (!keys)
		return pl__error_set(err, PL_EINVAL, 0, "unknown operation '%s'", op ? op : "");
	if ((rc = check_keys(rec, keys, "record", err)) < 0 ||
	    (rc = get_uint(rec, "seq", "record", &seq, err)) < 0 ||
	    (rc = get_uint(rec, "time", "record", &time, err)) < 0 ||
	    (rc = get_str(rec, "key", "record", &key, err)) < 0 ||
	    (rc = get_str(rec, "name", "record", &name, err)) < 0 ||
	    (rc = get_str(rec, "version", "record", &version, err)) < 0 ||
	    (rc = get_str(rec, "to", "record", &to, err)) < 0 ||
	    (rc = get_str(rec, "reason", "record", &reason, err)) < 0 ||
	    (rc = get_str(rec, "publicKey", "record", &pem, err)) < 0 ||
	    (rc = get_str(rec, "nonce", "record", &nonce, err)) < 0)
		return rc;
	if (!digest_valid(key))
		return pl__error_set(err, PL_EINVAL, 0, "bad 'key'");
	if (reason && (strlen(reason) > TEXT_MAX || !*reason))
		return pl__error_set(err, PL_EINVAL, 0, "a reason is 1 to %d bytes", TEXT_MAX);
	if (!strcmp(op, "init")) {
		char fp[PL_DIGEST_STR_LEN + 1];
		uint8_t raw[PL_SHA256_LEN];
		if (seq != 1 || json_array_size(m->trust) || strlen(nonce) != 2 * PL_SHA256_LEN ||
		    !pl__hex_sha256(nonce, raw))
			return pl__error_set(err, PL_EINVAL, 0,
					     "'init' must come first, with a key and a nonce");
		if ((rc = pem_fingerprint(pem, fp, err)) < 0)
			return rc;
		if (strcmp(fp, key))
			return pl__error_set(err, PL_EINVAL, 0,
					     "the key '%s' is not the one it names", key);
		return trust_add(m, pem, err) < 0 ? PL_EINVAL : 0;
	}
	if (seq < 2)
		return pl__error_set(err, PL_EINVAL, 0, "the first change must be 'init'");
	if (!model_trusts(m, key))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "key '%s' is not in the catalog's trust root", key);
	if (!strcmp(op, "trust")) {
		const char *add = NULL, *remove = NULL;
		if ((rc = get_str(rec, "add", "record", &add, err)) < 0 ||
		    (rc = get_str(rec, "remove", "record", &remove, err)) < 0)
			return rc;
		if (!add == !remove)
			return pl__error_set(err, PL_EINVAL, 0, "'trust' adds or removes one key");
		if (add)
			return trust_add(m, add, err);
		/* the new state is signed by `key`: it must stay trusted */
		if (!strcmp(remove, key))
			return pl__error_set(err, PL_EPOLICY, 0,
					     "key '%s' cannot remove itself from the trust root: "
					     "let another trusted key remove it",
					     key);
		for (size_t i = 0; i < json_array_size(m->trust); i++) {
			json_t *t = json_array_get(m->trust, i);
			if (strcmp(json_string_value(json_object_get(t, "keyid")), remove))
				continue;
			if (json_array_size(m->trust) == 1)
				return pl__error_set(err, PL_EPOLICY, 0,
						     "cannot remove the last key of the trust "
						     "root");
			json_array_remove(m->trust, i);
			return 0;
		}
		return NOCHANGE;
	}
	if (!name || !name_valid(name))
		return pl__error_set(err, PL_EINVAL, 0, "bad base name");
	if (!strcmp(op, "publish")) {
		json_t *e = json_object_get(rec, "entry");
		if ((rc = check_entry(e, name, err)) < 0)
			return rc;
		const char *v = json_string_value(json_object_get(e, "version"));
		const char *d = json_string_value(json_object_get(e, "digest"));
		if (strcmp(json_string_value(json_object_get(e, "status")), "approved") ||
		    json_object_get(e, "reason") || json_object_get(e, "supersededBy"))
			return pl__error_set(err, PL_EINVAL, 0,
					     "a published version starts approved");
		json_t *versions = json_object_get(m->bases, name);
		if (!versions) {
			versions = json_array();
			if (json_object_set_new(m->bases, name, versions) < 0)
				return pl__error_nomem(err);
		}
		size_t at = 0;
		ssize_t i = find_version(versions, v, &at);
		if (i >= 0) {
			const char *had = json_string_value(
			    json_object_get(json_array_get(versions, (size_t)i), "digest"));
			if (!strcmp(had, d))
				return NOCHANGE;
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s@%s' is already published as %s, not %s", name, v,
					     had, d);
		}
		if (json_array_insert_new(versions, at, json_deep_copy(e)) < 0)
			return pl__error_nomem(err);
		return 0;
	}
	if (!version || !version_valid(version))
		return pl__error_set(err, PL_EINVAL, 0, "bad version");
	json_t *e = entry_of(m, name, version);
	if (!e)
		return pl__error_set(err, PL_EINVAL, 0, "no version '%s@%s' in the catalog", name,
				     version);
	enum pl_status st =
	    (enum pl_status)status_parse(json_string_value(json_object_get(e, "status")));
	if (!strcmp(op, "deprecate")) {
		if (st == PL_STATUS_DEPRECATED)
			return NOCHANGE;
		if (st != PL_STATUS_APPROVED)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s@%s' is %s: only an approved version can be "
					     "deprecated",
					     name, version, status_names[st]);
		return set_status(e, PL_STATUS_DEPRECATED, reason, NULL, time, err);
	}
	if (!strcmp(op, "ban")) {
		if (!reason)
			return pl__error_set(err, PL_EINVAL, 0, "a ban needs a reason");
		if (st == PL_STATUS_BANNED)
			return NOCHANGE;
		return set_status(e, PL_STATUS_BANNED, reason, NULL, time, err);
	}
	if (!strcmp(op, "supersede")) {
		if (!to || !version_valid(to))
			return pl__error_set(err, PL_EINVAL, 0, "bad 'to'");
		json_t *n = entry_of(m, name, to);
		if (!n)
			return pl__error_set(err, PL_EINVAL, 0, "no version '%s@%s' in the catalog",
					     name, to);
		enum pl_status nst =
		    (enum pl_status)status_parse(json_string_value(json_object_get(n, "status")));
		if (!strcmp(to, version))
			return pl__error_set(err, PL_EINVAL, 0, "'%s@%s' cannot supersede itself",
					     name, to);
		if (nst != PL_STATUS_APPROVED && nst != PL_STATUS_DEPRECATED)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s@%s' is %s: only an approved or deprecated "
					     "version can supersede another",
					     name, to, status_names[nst]);
		if (st == PL_STATUS_BANNED)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s@%s' is banned: a ban is final", name, version);
		const char *by = json_string_value(json_object_get(e, "supersededBy"));
		if (st == PL_STATUS_SUPERSEDED && !strcmp(by, to))
			return NOCHANGE;
		return set_status(e, PL_STATUS_SUPERSEDED, NULL, to, time, err);
	}
	if (!strcmp(op, "locate")) {
		const char *reg = NULL;
		if ((rc = get_str(rec, "registry", "record", &reg, err)) < 0 ||
		    (rc = registry_check(reg, "'locate'", err)) < 0)
			return rc;
		const char *had = json_string_value(json_object_get(e, "registry"));
		if (had && !strcmp(had, reg))
			return NOCHANGE;
		return json_object_set_new(e, "registry", json_string(reg)) < 0
			   ? pl__error_nomem(err)
			   : 0;
	}
	return pl__error_set(err, PL_EINVAL, 0, "unknown operation '%s'", op);
}

/*
 * Check that record `seq` is signed by the key it names, which `trust` (the
 * trust root before the record) holds; an init record carries its own key.
 */
static int record_check_sig(const json_t *trust, const json_t *rec, uint64_t seq,
			    struct pl_error **err)
{
	const char *keyid = json_string_value(json_object_get(rec, "key"));
	const char *sig = json_string_value(json_object_get(rec, "sig"));
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *pem = NULL;
	if (op && !strcmp(op, "init")) {
		pem = json_string_value(json_object_get(rec, "publicKey"));
	} else if (keyid) {
		size_t i;
		json_t *t;
		json_array_foreach (trust, i, t)
			if (!strcmp(json_string_value(json_object_get(t, "keyid")), keyid))
				pem = json_string_value(json_object_get(t, "publicKey"));
	}
	if (!keyid || !sig || !pem)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "history record %llu is not signed by a key of the trust root",
				     (unsigned long long)seq);
	struct pl_key *k = NULL;
	int rc = pl_key_from_pem("public key", pem, strlen(pem), &k, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "history record %llu", (unsigned long long)seq);
	cleanup_json json_t *copy = json_copy((json_t *)rec);
	cleanup_free char *payload = NULL;
	if (copy && json_object_del(copy, "sig") == 0)
		payload = pl__json_canonical(copy);
	bool ok = payload && !strcmp(pl_key_fingerprint(k), keyid) &&
		  pl__verify_b64(k, payload, strlen(payload), sig);
	pl_key_free(k);
	if (!payload)
		return pl__error_nomem(err);
	if (!ok)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "history record %llu: its signature does not verify with "
				     "key '%s' (the record was changed or forged)",
				     (unsigned long long)seq, keyid);
	return 0;
}

/* ---- the signed state -------------------------------------------------- */

struct base {
	char *name;
	uint8_t object[PL_SHA256_LEN];
	uint64_t count;
	json_t *versions; /* loaded on demand */
	struct pl_catalog_entry *e;
};

/* One shard: the bases whose name's sha256 begins with its number (the
 * first byte's top six bits), listed in a content-addressed object. */
struct shard {
	bool present; /* null in the state: no base */
	bool loaded;
	uint8_t object[PL_SHA256_LEN];
	json_t *map;        /* its "bases" (NULL until loaded, or when absent) */
	struct base *bases; /* sorted by name */
	size_t n;
};

/* Free what a shard holds (its bases, loaded or not). */
static void shard_release(struct shard *sh)
{
	for (size_t i = 0; i < sh->n; i++) {
		free(sh->bases[i].name);
		json_decref(sh->bases[i].versions);
		free(sh->bases[i].e);
	}
	free(sh->bases);
	json_decref(sh->map);
}

struct pl_catalog {
	char *dir; /* NULL for a catalog parsed from memory */
	int dirfd;
	json_t *file;
	json_t *signed_; /* in file */
	uint64_t version, time, hist_len, hist_size;
	uint8_t head[PL_SHA256_LEN];
	uint8_t state[PL_SHA256_LEN]; /* sha256 of the signed payload */
	uint8_t bytes[PL_SHA256_LEN]; /* sha256 of catalog.json */
	char id[2 * PL_SHA256_LEN + 1];
	struct pl_key **keys;
	const char **fps;
	size_t ntrust;
	struct shard shards[SHARDS];
	struct base **sorted; /* every base, by name, once load_all() ran */
	size_t nbases;
	const struct pl_catalog_entry **all; /* for pl_catalog_entries */
	size_t nall;
};

void pl_catalog_free(struct pl_catalog *c)
{
	if (!c)
		return;
	free(c->dir);
	if (c->dirfd >= 0)
		close(c->dirfd);
	json_decref(c->file);
	for (size_t i = 0; i < c->ntrust; i++)
		pl_key_free(c->keys[i]);
	free(c->keys);
	free(c->fps);
	for (size_t k = 0; k < SHARDS; k++)
		shard_release(&c->shards[k]);
	free(c->sorted);
	free(c->all);
	free(c);
}

static void catalog_freep(struct pl_catalog **c)
{
	pl_catalog_free(*c);
}
#define cleanup_catalog __attribute__((cleanup(catalog_freep)))

uint64_t pl_catalog_version(const struct pl_catalog *c)
{
	return c->version;
}

const char *pl_catalog_id(const struct pl_catalog *c)
{
	return c->id;
}

const char *const *pl_catalog_trust(const struct pl_catalog *c, size_t *n)
{
	*n = c->ntrust;
	return c->fps;
}

const struct pl_key *const *pl_catalog_trust_keys(struct pl_catalog *c, size_t *n)
{
	/* the keys of a state verified before are parsed now, once; one that
	 * does not parse (it did before) leaves no key trusted */
	json_t *trust = json_object_get(c->signed_, "trust");
	*n = c->ntrust;
	for (size_t i = 0; i < c->ntrust; i++) {
		const char *pem =
		    json_string_value(json_object_get(json_array_get(trust, i), "publicKey"));
		if (!c->keys[i] && (!pem || pl_key_from_pem("trust root", pem, strlen(pem),
							    &c->keys[i], NULL) < 0))
			*n = 0;
	}
	return (const struct pl_key *const *)c->keys;
}

static int base_cmp(const void *a, const void *b)
{
	return strcmp(((const struct base *)a)->name, ((const struct base *)b)->name);
}

/* The shard of base `name`. */
static unsigned shard_of(const char *name)
{
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(name, strlen(name), d);
	return d[0] >> 2;
}

static const char *const signed_keys[] = {
	"!type",  "!formatVersion", "!id",      "!version", "!time",
	"!trust", "!shards",        "!history", "!retired", NULL,
};

/* Parse the trust root; `verified`: these bytes were checked before, so
 * each key is parsed only when pl_catalog_trust_keys() needs it. */
static int parse_trust(struct pl_catalog *c, const char *name, json_t *trust, bool verified,
		       struct pl_error **err)
{
	size_t n = json_array_size(trust);
	if (!json_is_array(trust) || n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': the trust root is empty", name);
	if (!(c->keys = pl__calloc(n, sizeof(*c->keys), err)) ||
	    !(c->fps = pl__calloc(n, sizeof(*c->fps), err)))
		return PL_ENOMEM;
	size_t i;
	json_t *t;
	json_array_foreach (trust, i, t) {
		static const char *const keys[] = { "!keyid", "!publicKey", NULL };
		const char *keyid = NULL, *pem = NULL;
		int rc;
		if ((rc = check_keys(t, keys, "trust root", err)) < 0 ||
		    (rc = get_str(t, "keyid", "trust root", &keyid, err)) < 0 ||
		    (rc = get_str(t, "publicKey", "trust root", &pem, err)) < 0)
			return pl__error_wrap(err, rc, "'%s'", name);
		if (verified) {
			c->fps[i] = keyid;
			c->ntrust++;
			continue;
		}
		if ((rc = pl_key_from_pem(name, pem, strlen(pem), &c->keys[i], err)) < 0)
			return rc;
		c->ntrust++;
		if (strcmp(pl_key_fingerprint(c->keys[i]), keyid) ||
		    (i && strcmp(c->fps[i - 1], keyid) >= 0))
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': trust root key %s is out of order or not the "
					     "key it names",
					     name, keyid);
		c->fps[i] = pl_key_fingerprint(c->keys[i]);
	}
	return 0;
}

/* Parse shard k's map of bases (named `name` in errors) into `sh`. */
static int parse_bases(struct shard *sh, unsigned k, const char *name, json_t *bases,
		       struct pl_error **err)
{
	if (!json_is_object(bases) || !json_object_size(bases))
		return pl__error_set(err, PL_EINVAL, 0, "'%s': 'bases' is not a non-empty object",
				     name);
	size_t n = json_object_size(bases);
	if (!(sh->bases = pl__calloc(n, sizeof(*sh->bases), err)))
		return PL_ENOMEM;
	const char *b_name;
	json_t *v;
	json_object_foreach (bases, b_name, v) {
		static const char *const keys[] = { "!object", "!versions", NULL };
		struct base *b = &sh->bases[sh->n];
		const char *object = NULL;
		int rc;
		if ((rc = check_keys(v, keys, "base", err)) < 0 ||
		    (rc = get_str(v, "object", "base", &object, err)) < 0 ||
		    (rc = get_uint(v, "versions", "base", &b->count, err)) < 0)
			return pl__error_wrap(err, rc, "'%s': base '%s'", name, b_name);
		if (!name_valid(b_name) || !pl__digest_parse(object, b->object) || b->count == 0 ||
		    shard_of(b_name) != k)
			return pl__error_set(err, PL_EINVAL, 0, "'%s': bad base '%s'", name,
					     b_name);
		if (!(b->name = pl__strdup(b_name, err)))
			return PL_ENOMEM;
		sh->n++;
	}
	qsort(sh->bases, sh->n, sizeof(*sh->bases), base_cmp);
	return 0;
}

/* Parse the state's list of shard objects. */
static int parse_shards(struct pl_catalog *c, const char *name, json_t *shards,
			struct pl_error **err)
{
	if (!json_is_array(shards) || json_array_size(shards) != SHARDS)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': 'shards' is not a list of %d", name,
				     SHARDS);
	for (size_t k = 0; k < SHARDS; k++) {
		json_t *v = json_array_get(shards, k);
		struct shard *sh = &c->shards[k];
		if (json_is_null(v))
			continue;
		if (!pl__digest_parse(json_string_value(v), sh->object))
			return pl__error_set(err, PL_EINVAL, 0, "'%s': bad shard %zu", name, k);
		sh->present = true;
	}
	return 0;
}

/* Whether one of `sigs` is a valid signature of `payload` by a trust key. */
static int check_signatures(struct pl_catalog *c, const char *name, json_t *sigs,
			    const char *payload, struct pl_error **err)
{
	if (!json_is_array(sigs) || !json_array_size(sigs))
		return pl__error_set(err, PL_EPOLICY, 0, "'%s' is not signed", name);
	size_t i;
	json_t *s;
	json_array_foreach (sigs, i, s) {
		static const char *const keys[] = { "!keyid", "!sig", NULL };
		const char *keyid = NULL, *sig = NULL;
		int rc;
		if ((rc = check_keys(s, keys, "signature", err)) < 0 ||
		    (rc = get_str(s, "keyid", "signature", &keyid, err)) < 0 ||
		    (rc = get_str(s, "sig", "signature", &sig, err)) < 0)
			return pl__error_wrap(err, rc, "'%s'", name);
		for (size_t j = 0; j < c->ntrust; j++)
			if (!strcmp(c->fps[j], keyid) &&
			    pl__verify_b64(c->keys[j], payload, strlen(payload), sig))
				return 0;
	}
	return pl__error_set(err, PL_EPOLICY, 0,
			     "'%s': the signature does not verify with any key of its trust "
			     "root (the file was changed or forged)",
			     name);
}

/*
 * Parse catalog.json, whose sha256 is `bytes` (NULL: not known yet);
 * `verified` says these very bytes were fully checked before, which spares
 * the signature check, its canonical form and the trust root's keys
 * (*out's state digest is then the caller's to fill in).
 */
static int catalog_parse(const char *name, const char *text, size_t len, const uint8_t *bytes,
			 bool verified, struct pl_catalog **out, struct pl_error **err)
{
	cleanup_catalog struct pl_catalog *c = pl__calloc(1, sizeof(*c), err);
	if (!c)
		return PL_ENOMEM;
	c->dirfd = -1;
	if (bytes)
		memcpy(c->bytes, bytes, PL_SHA256_LEN);
	else
		pl__sha256(text, len, c->bytes);
	cleanup_free char *what = pl__asprintf(err, "'%s'", name);
	int rc;
	if (!what)
		return PL_ENOMEM;
	if ((rc = pl__json_parse(what, text, len, &c->file, err)) < 0)
		return rc;
	static const char *const top[] = { "!signatures", "!signed", NULL };
	if ((rc = check_keys(c->file, top, name, err)) < 0 ||
	    (rc = check_keys(c->signed_ = json_object_get(c->file, "signed"), signed_keys, name,
			     err)) < 0)
		return rc;
	json_t *sg = c->signed_, *h = json_object_get(sg, "history");
	static const char *const hkeys[] = { "!length", "!head", "!size", NULL };
	const char *type = NULL, *id = NULL, *head = NULL;
	uint64_t format = 0;
	if ((rc = get_str(sg, "type", name, &type, err)) < 0 ||
	    (rc = get_uint(sg, "formatVersion", name, &format, err)) < 0 ||
	    (rc = get_str(sg, "id", name, &id, err)) < 0 ||
	    (rc = get_uint(sg, "version", name, &c->version, err)) < 0 ||
	    (rc = get_uint(sg, "time", name, &c->time, err)) < 0 ||
	    (rc = check_keys(h, hkeys, "history", err)) < 0 ||
	    (rc = get_uint(h, "length", "history", &c->hist_len, err)) < 0 ||
	    (rc = get_uint(h, "size", "history", &c->hist_size, err)) < 0 ||
	    (rc = get_str(h, "head", "history", &head, err)) < 0)
		return pl__error_wrap(err, rc, "'%s'", name);
	uint8_t idb[PL_SHA256_LEN];
	if (strcmp(type, TYPE) || format != FORMAT)
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is not a plinth catalog of format %d",
				     name, FORMAT);
	if (strlen(id) != 64 || !pl__hex_sha256(id, idb) || !pl__digest_parse(head, c->head) ||
	    c->version == 0 || c->hist_len != c->version || c->hist_size == 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': bad id, version or history summary",
				     name);
	pl__hex(idb, PL_SHA256_LEN, c->id);
	json_t *retired = json_object_get(sg, "retired"), *r;
	if (!json_is_array(retired))
		return pl__error_set(err, PL_EINVAL, 0, "'%s': 'retired' is not a list", name);
	size_t i;
	json_array_foreach (retired, i, r) {
		static const char *const rkeys[] = { "!object", "!at", NULL };
		const char *object = NULL;
		uint64_t at = 0;
		if ((rc = check_keys(r, rkeys, "retired object", err)) < 0 ||
		    (rc = get_str(r, "object", "retired object", &object, err)) < 0 ||
		    (rc = get_uint(r, "at", "retired object", &at, err)) < 0)
			return pl__error_wrap(err, rc, "'%s'", name);
		if (!digest_valid(object) || at == 0 || at > c->version)
			return pl__error_set(err, PL_EINVAL, 0, "'%s': bad retired object %zu",
					     name, i + 1);
	}
	if ((rc = parse_trust(c, name, json_object_get(sg, "trust"), verified, err)) < 0 ||
	    (rc = parse_shards(c, name, json_object_get(sg, "shards"), err)) < 0)
		return rc;
	if (verified) {
		*out = steal_pointer(&c);
		return 0;
	}
	cleanup_free char *payload = pl__json_canonical(sg);
	if (!payload)
		return pl__error_nomem(err);
	if ((rc = check_signatures(c, name, json_object_get(c->file, "signatures"), payload, err)) <
	    0)
		return rc;
	pl__sha256(payload, strlen(payload), c->state);
	*out = steal_pointer(&c);
	return 0;
}

int pl__catalog_parse(const char *name, const char *text, size_t len, struct pl_catalog **out,
		      struct pl_error **err)
{
	return catalog_parse(name, text, len, NULL, false, out, err);
}

/* ---- objects ----------------------------------------------------------- */

static void object_name(const uint8_t d[PL_SHA256_LEN], char out[80])
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(d, PL_SHA256_LEN, hex);
	snprintf(out, 80, OBJECTS_DIR "/%s.json", hex);
}

/* Load base b's versions: the object file must have the signed digest. */
static int load_base(struct pl_catalog *c, struct base *b, struct pl_error **err)
{
	if (b->versions)
		return 0;
	char path[80];
	object_name(b->object, path);
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = pl__read_fileat(c->dirfd, path, PL__CATALOG_OBJECT_MAX, &text, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "catalog '%s': base '%s'", c->dir, b->name);
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(text, len, d);
	if (memcmp(d, b->object, PL_SHA256_LEN))
		return pl__error_set(err, PL_EDIGEST, 0,
				     "catalog '%s': '%s' (base '%s') does not match the digest "
				     "the signed state gives it: the file was changed",
				     c->dir, path, b->name);
	cleanup_json json_t *versions = NULL;
	if ((rc = object_parse(b->name, text, len, &versions, err)) < 0)
		return pl__error_wrap(err, rc, "catalog '%s': '%s'", c->dir, path);
	if (json_array_size(versions) != b->count)
		return pl__error_set(
		    err, PL_EINVAL, 0, "catalog '%s': '%s' holds %zu versions, the state says %llu",
		    c->dir, path, json_array_size(versions), (unsigned long long)b->count);
	if (!(b->e = pl__calloc(b->count, sizeof(*b->e), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < b->count; i++)
		entry_fill(&b->e[i], b->name, json_array_get(versions, i));
	b->versions = steal_pointer(&versions);
	return 0;
}

/* Parse shard object text (number k) into `sh`: {"shard": k, "bases": {}}. */
static int shard_parse(struct shard *sh, unsigned k, const char *name, const char *text, size_t len,
		       struct pl_error **err)
{
	cleanup_json json_t *o = NULL;
	int rc = pl__json_parse(name, text, len, &o, err);
	if (rc < 0)
		return rc;
	static const char *const keys[] = { "!shard", "!bases", NULL };
	uint64_t number = 0;
	if ((rc = check_keys(o, keys, "shard", err)) < 0 ||
	    (rc = get_uint(o, "shard", "shard", &number, err)) < 0)
		return pl__error_wrap(err, rc, "%s", name);
	if (number != k)
		return pl__error_set(err, PL_EINVAL, 0, "%s is shard %llu, not %u", name,
				     (unsigned long long)number, k);
	if ((rc = parse_bases(sh, k, name, json_object_get(o, "bases"), err)) < 0)
		return rc;
	sh->map = json_incref(json_object_get(o, "bases"));
	return 0;
}

int pl__catalog_shard_check(unsigned k, const char *text, size_t len, struct pl_error **err)
{
	struct shard sh = { 0 };
	int rc = shard_parse(&sh, k % SHARDS, "shard", text, len, err);
	shard_release(&sh);
	return rc;
}

/* Read shard k (checked against the digest the state gives it). */
static int load_shard(struct pl_catalog *c, unsigned k, struct pl_error **err)
{
	struct shard *sh = &c->shards[k];
	if (sh->loaded || !sh->present)
		return 0;
	char path[80];
	object_name(sh->object, path);
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = pl__read_fileat(c->dirfd, path, PL__CATALOG_OBJECT_MAX, &text, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "catalog '%s': shard %u", c->dir, k);
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(text, len, d);
	if (memcmp(d, sh->object, PL_SHA256_LEN))
		return pl__error_set(err, PL_EDIGEST, 0,
				     "catalog '%s': '%s' (shard %u) does not match the digest "
				     "the signed state gives it: the file was changed",
				     c->dir, path, k);
	cleanup_free char *name = pl__asprintf(err, "catalog '%s': '%s'", c->dir, path);
	if (!name)
		return PL_ENOMEM;
	/* parsed aside, so a shard that fails leaves `sh` as it was */
	struct shard got = { .present = true, .loaded = true };
	memcpy(got.object, sh->object, PL_SHA256_LEN);
	if ((rc = shard_parse(&got, k, name, text, len, err)) < 0) {
		shard_release(&got);
		return rc;
	}
	*sh = got;
	return 0;
}

/* Base `name` in *out, NULL when the catalog has none of that name. */
static int find_base(struct pl_catalog *c, const char *name, struct base **out,
		     struct pl_error **err)
{
	*out = NULL;
	unsigned k = shard_of(name);
	int rc = load_shard(c, k, err);
	if (rc < 0)
		return rc;
	struct base key = { .name = (char *)name };
	if (c->shards[k].n)
		*out = bsearch(&key, c->shards[k].bases, c->shards[k].n, sizeof(key), base_cmp);
	return 0;
}

static int base_ptr_cmp(const void *a, const void *b)
{
	return base_cmp(*(struct base *const *)a, *(struct base *const *)b);
}

/* Load every shard; c->sorted lists every base by name. */
static int load_all(struct pl_catalog *c, struct pl_error **err)
{
	if (c->sorted)
		return 0;
	size_t n = 0;
	for (unsigned k = 0; k < SHARDS; k++) {
		int rc = load_shard(c, k, err);
		if (rc < 0)
			return rc;
		n += c->shards[k].n;
	}
	if (!(c->sorted = pl__calloc(n + 1, sizeof(*c->sorted), err)))
		return PL_ENOMEM;
	for (unsigned k = 0; k < SHARDS; k++)
		for (size_t i = 0; i < c->shards[k].n; i++)
			c->sorted[c->nbases++] = &c->shards[k].bases[i];
	qsort(c->sorted, c->nbases, sizeof(*c->sorted), base_ptr_cmp);
	return 0;
}

/* ---- history ----------------------------------------------------------- */

/* Read bytes [from, to) of the history into *out. */
static int history_read(int dirfd, uint64_t from, uint64_t to, char **out, struct pl_error **err)
{
	if (to - from > HISTORY_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "the history is larger than %zu bytes",
				     HISTORY_MAX);
	cleanup_close int fd = openat(dirfd, HISTORY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", HISTORY_FILE);
	/* allocate no more than the file holds, whatever the state says */
	if ((uint64_t)st.st_size < to)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "'%s' is shorter than the signed state says (%llu bytes): "
				     "the history was cut",
				     HISTORY_FILE, (unsigned long long)to);
	size_t n = (size_t)(to - from);
	cleanup_free char *buf = malloc(n + 1);
	if (!buf)
		return pl__error_nomem(err);
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(from + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot read '%s'", HISTORY_FILE);
		if (r == 0)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s' is shorter than the signed state says (%llu "
					     "bytes): the history was cut",
					     HISTORY_FILE, (unsigned long long)to);
		got += (size_t)r;
	}
	buf[n] = '\0';
	*out = steal_pointer(&buf);
	return 0;
}

/* Callback for each record walked by chain(). */
typedef int (*record_fn)(void *ctx, json_t *rec, const char *line, size_t len,
			 struct pl_error **err);

/*
 * Walk the records in `text`: each must be one JSON line (canonical when
 * `strict`) whose seq follows `seq` and whose prev is `head` (updated as it
 * goes; NULL prev for the first record), and the first one's hash must be
 * `id` when not NULL.  Calls fn for each when not NULL.  Readers need not
 * be strict: the chain hashes the lines as they are, and the records whose
 * signatures they check are canonicalised for that; verify and replay are.
 */
static int chain(const char *text, size_t len, const char *id, bool strict, uint64_t *seq,
		 uint8_t head[PL_SHA256_LEN], record_fn fn, void *ctx, struct pl_error **err)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return pl__error_set(err, PL_EINVAL, 0,
					     "history record %llu is not a whole line",
					     (unsigned long long)*seq + 1);
		size_t n = (size_t)(nl - p);
		if (n > PL__CATALOG_RECORD_MAX)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "history record %llu is larger than %zu bytes",
					     (unsigned long long)*seq + 1, PL__CATALOG_RECORD_MAX);
		json_error_t je;
		cleanup_json json_t *rec = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
		if (!rec || !json_is_object(rec))
			return pl__error_set(err, PL_EINVAL, 0, "history record %llu: %s",
					     (unsigned long long)*seq + 1,
					     rec ? "not an object" : je.text);
		json_int_t s = json_integer_value(json_object_get(rec, "seq"));
		json_t *prev = json_object_get(rec, "prev");
		uint8_t pd[PL_SHA256_LEN];
		bool linked = *seq == 0 ? json_is_null(prev)
					: pl__digest_parse(json_string_value(prev), pd) &&
					      !memcmp(pd, head, PL_SHA256_LEN);
		if (s < 1 || (uint64_t)s != *seq + 1 || !linked)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "history record %llu does not follow record %llu (the "
					     "history was changed)",
					     (unsigned long long)*seq + 1,
					     (unsigned long long)*seq);
		cleanup_free char *canon = strict ? pl__json_canonical(rec) : NULL;
		if (strict && !canon)
			return pl__error_nomem(err);
		if (strict && (strlen(canon) != n || memcmp(canon, p, n)))
			return pl__error_set(err, PL_EINVAL, 0,
					     "history record %llu is not canonical JSON",
					     (unsigned long long)*seq + 1);
		int rc = fn ? fn(ctx, rec, p, n, err) : 0;
		if (rc)
			return rc;
		pl__sha256(p, n, head);
		/* the catalog's id is its first record's hash: a state cannot
		 * claim another catalog's id */
		if (*seq == 0 && id) {
			char hex[2 * PL_SHA256_LEN + 1];
			pl__hex(head, PL_SHA256_LEN, hex);
			if (strcmp(hex, id))
				return pl__error_set(err, PL_EPOLICY, 0,
						     "history record 1 is not the first record of "
						     "catalog %.12s (the state claims another "
						     "catalog's id)",
						     id);
		}
		(*seq)++;
		p = nl + 1;
	}
	return 0;
}

/* ---- rollback memory --------------------------------------------------- */

/*
 * What this machine remembers under state_dir/catalogs: per catalog id
 * (<id>.json) the newest state seen, with its trust root, so that no copy
 * of that catalog, wherever it is, may be older or fork from it; and per
 * place (at-<sha256(path)>.json) the id of the catalog seen there, so that
 * another catalog put in its place is refused.
 */
#define MEMORY_MAX ((size_t)1 << 20)
#define MEMORY_DIR "catalogs"

struct memory {
	bool have; /* the catalog's id was seen before: */
	uint64_t version, size;
	uint8_t head[PL_SHA256_LEN], state[PL_SHA256_LEN];
	uint8_t bytes[PL_SHA256_LEN];      /* its catalog.json, verified */
	json_t *trust;                     /* its trust root then */
	char at_id[2 * PL_SHA256_LEN + 1]; /* the id seen at this place; "" none */
	char id_file[2 * PL_SHA256_LEN + 8], at_file[2 * PL_SHA256_LEN + 11];
};

static void memory_release(struct memory *m)
{
	json_decref(m->trust);
	m->trust = NULL;
}
#define cleanup_memory __attribute__((cleanup(memory_release)))

static void memory_files(const char *real, const char *id, struct memory *m)
{
	uint8_t d[PL_SHA256_LEN];
	char hex[2 * PL_SHA256_LEN + 1];
	pl__sha256(real, strlen(real), d);
	pl__hex(d, PL_SHA256_LEN, hex);
	snprintf(m->at_file, sizeof(m->at_file), "at-%s.json", hex);
	snprintf(m->id_file, sizeof(m->id_file), "%s.json", id);
}

/* Read the JSON file `name` of `dirfd` into *out (NULL when absent). */
static int memory_load(int dirfd, const char *dir, const char *name, json_t **out,
		       struct pl_error **err)
{
	*out = NULL;
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 0;
	int rc = pl__read_fileat(dirfd, name, MEMORY_MAX, &text, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "catalog memory '%s'", dir);
	if (!(*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(*out))
		return pl__error_set(err, PL_EINVAL, 0, "'%s/%s' is not a catalog memory file", dir,
				     name);
	return 0;
}

static int memory_dir(const struct pl_catalog_options *o, char **path, int *fd,
		      struct pl_error **err)
{
	if (!(*path = pl__asprintf(err, "%s/%s", o->state_dir, MEMORY_DIR)))
		return PL_ENOMEM;
	int rc = pl__mkdir_p(*path, 0700, err);
	if (rc < 0)
		return rc;
	if ((*fd = open(*path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", *path);
	return 0;
}

/* Fill `m` from the id file in `fd` (m->have false when there is none). */
static int memory_read_id(int fd, const char *dir, struct memory *m, struct pl_error **err)
{
	cleanup_json json_t *j = NULL;
	int rc = memory_load(fd, dir, m->id_file, &j, err);
	if (rc < 0 || !j)
		return rc;
	const char *head = json_string_value(json_object_get(j, "head"));
	const char *state = json_string_value(json_object_get(j, "state"));
	const char *bytes = json_string_value(json_object_get(j, "bytes"));
	json_t *v = json_object_get(j, "version"), *s = json_object_get(j, "size");
	json_t *trust = json_object_get(j, "trust");
	if (!head || !pl__digest_parse(head, m->head) || !state ||
	    !pl__digest_parse(state, m->state) || !bytes || !pl__digest_parse(bytes, m->bytes) ||
	    !json_is_integer(v) || !json_is_integer(s) || json_integer_value(v) < 1 ||
	    json_integer_value(s) < 1 || !json_is_array(trust))
		return pl__error_set(err, PL_EINVAL, 0, "'%s/%s' is not a catalog memory file", dir,
				     m->id_file);
	m->version = (uint64_t)json_integer_value(v);
	m->size = (uint64_t)json_integer_value(s);
	m->trust = json_incref(trust);
	m->have = true;
	return 0;
}

/*
 * Fill `m` with what is remembered of the place `real` and of the catalog
 * seen there (or, when none was, of the catalog `id`, which may be NULL
 * until the state is parsed: call again with it).
 */
static int memory_read(const struct pl_catalog_options *o, const char *real, const char *id,
		       struct memory *m, struct pl_error **err)
{
	memory_files(real, "", m);
	if (!o->state_dir)
		return 0;
	cleanup_free char *dir = NULL;
	cleanup_close int fd = -1;
	int rc = memory_dir(o, &dir, &fd, err);
	if (rc < 0)
		return rc;
	cleanup_json json_t *at = NULL;
	if ((rc = memory_load(fd, dir, m->at_file, &at, err)) < 0)
		return rc;
	const char *at_id = at ? json_string_value(json_object_get(at, "id")) : NULL;
	if (at && (!at_id || strlen(at_id) != 2 * PL_SHA256_LEN))
		return pl__error_set(err, PL_EINVAL, 0, "'%s/%s' is not a catalog memory file", dir,
				     m->at_file);
	if (at_id)
		snprintf(m->at_id, sizeof(m->at_id), "%s", at_id);
	if (!at_id && !id)
		return 0;
	memory_files(real, at_id ? at_id : id, m);
	return memory_read_id(fd, dir, m, err);
}

static int memory_put(int fd, const char *dir, const char *name, json_t *j, struct pl_error **err)
{
	cleanup_free char *text = j ? pl__json_canonical(j) : NULL;
	if (!text)
		return pl__error_nomem(err);
	int rc = pl__write_file_atomic(fd, name, text, strlen(text), 0600, err);
	return rc < 0 ? pl__error_wrap(err, rc, "catalog memory '%s'", dir) : 0;
}

/*
 * Remember `c` (at `real`): its place, and its state unless a newer one of
 * the same catalog was remembered meanwhile (checked under a lock, so
 * concurrent readers never move the memory backwards).
 */
static int memory_write(const struct pl_catalog_options *o, const struct pl_catalog *c,
			const char *real, struct pl_error **err)
{
	if (!o->state_dir)
		return 0;
	cleanup_free char *dir = NULL;
	cleanup_close int fd = -1;
	int rc = memory_dir(o, &dir, &fd, err);
	if (rc < 0)
		return rc;
	cleanup_close int lock =
	    openat(fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s/.lock'", dir);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return pl__error_set(err, PL_ESYS, errno, "cannot lock '%s/.lock'", dir);
	cleanup_memory struct memory now = { 0 };
	memory_files(real, c->id, &now);
	if ((rc = memory_read_id(fd, dir, &now, err)) < 0)
		return rc;
	if (!now.have || now.version < c->version) {
		char head[PL_DIGEST_STR_LEN + 1], state[PL_DIGEST_STR_LEN + 1];
		char bytes[PL_DIGEST_STR_LEN + 1];
		pl__digest_str(c->head, head);
		pl__digest_str(c->state, state);
		pl__digest_str(c->bytes, bytes);
		cleanup_json json_t *j = json_pack(
		    "{s:s, s:I, s:s, s:I, s:s, s:s, s:O}", "id", c->id, "version",
		    (json_int_t)c->version, "head", head, "size", (json_int_t)c->hist_size, "state",
		    state, "bytes", bytes, "trust", json_object_get(c->signed_, "trust"));
		if ((rc = memory_put(fd, dir, now.id_file, j, err)) < 0)
			return rc;
	}
	if (faccessat(fd, now.at_file, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		cleanup_json json_t *j = json_pack("{s:s, s:s}", "dir", real, "id", c->id);
		if ((rc = memory_put(fd, dir, now.at_file, j, err)) < 0)
			return rc;
	}
	if (fsync(fd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync '%s'", dir);
	return 0;
}

static int trust_record(void *ctx, json_t *rec, const char *line, size_t len, struct pl_error **err)
{
	(void)line;
	(void)len;
	struct model *m = ctx; /* the trust root, as the records change it */
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *key = json_string_value(json_object_get(rec, "key"));
	if (!op || (strcmp(op, "init") && strcmp(op, "trust"))) {
		/* the signed state vouches for the other changes */
		if (!key || !model_trusts(m, key))
			return pl__error_set(err, PL_EPOLICY, 0,
					     "history record %llu is by a key outside the trust "
					     "root",
					     (unsigned long long)seq);
		return 0;
	}
	int rc = record_check_sig(m->trust, rec, seq, err);
	if (rc < 0)
		return rc;
	if ((rc = apply(m, rec, err)) == NOCHANGE)
		return pl__error_set(err, PL_EINVAL, 0, "history record %llu changes nothing",
				     (unsigned long long)seq);
	return rc < 0 ? pl__error_wrap(err, rc, "history record %llu", (unsigned long long)seq) : 0;
}

/*
 * Check the history against the signed state, and the state against what
 * this machine saw before: same catalog in this place, never older, the
 * history only grown, and the trust root the one the signed changes to it
 * make, from what was seen (or from init).  Reads only the records added
 * since (all of them the first time), checking the signatures of those
 * that change the trust root; pl_catalog_verify() checks them all.
 */
static int check_history(struct pl_catalog *c, const struct memory *m, struct pl_error **err)
{
	if (m->at_id[0] && strcmp(m->at_id, c->id))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s' is not the catalog seen here before (its id "
				     "is %.12s, it was %.12s): a replaced catalog is refused",
				     c->dir, c->id, m->at_id);
	if (m->have && c->version < m->version)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s' is at version %llu, but version %llu was seen "
				     "before: refusing a rollback",
				     c->dir, (unsigned long long)c->version,
				     (unsigned long long)m->version);
	if (m->have && c->version == m->version) {
		if (c->hist_size != m->size || memcmp(c->head, m->head, PL_SHA256_LEN) ||
		    memcmp(c->state, m->state, PL_SHA256_LEN))
			return pl__error_set(err, PL_EPOLICY, 0,
					     "catalog '%s': version %llu is not the version %llu "
					     "seen before (the catalog forked)",
					     c->dir, (unsigned long long)c->version,
					     (unsigned long long)c->version);
		return 0;
	}
	uint64_t from = m->have ? m->size : 0, seq = m->have ? m->version : 0;
	uint8_t head[PL_SHA256_LEN] = { 0 };
	if (m->have)
		memcpy(head, m->head, PL_SHA256_LEN);
	if (from > c->hist_size)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s': the history shrank since it was last seen",
				     c->dir);
	cleanup_model struct model w = { NULL, NULL };
	w.trust = m->have ? json_deep_copy(m->trust) : json_array();
	w.bases = json_object();
	if (!w.trust || !w.bases)
		return pl__error_nomem(err);
	cleanup_free char *text = NULL;
	int rc = history_read(c->dirfd, from, c->hist_size, &text, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "catalog '%s'", c->dir);
	if ((rc = chain(text, (size_t)(c->hist_size - from), c->id, false, &seq, head, trust_record,
			&w, err)) < 0)
		return pl__error_wrap(err, rc, "catalog '%s'", c->dir);
	if (seq != c->hist_len || memcmp(head, c->head, PL_SHA256_LEN))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s': the history does not end where the signed "
				     "state says (the history was changed)",
				     c->dir);
	cleanup_free char *t1 = pl__json_canonical(w.trust);
	cleanup_free char *t2 = pl__json_canonical(json_object_get(c->signed_, "trust"));
	if (!t1 || !t2)
		return pl__error_nomem(err);
	if (strcmp(t1, t2))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s': its trust root is not the one its signed "
				     "history makes (the trust root was changed)",
				     c->dir);
	return 0;
}

/* ---- opening ----------------------------------------------------------- */

static int open_dir(const char *dir, int *fd, char **real, struct pl_error **err)
{
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open catalog '%s'", dir);
	/* the place of the directory opened, not of the name given */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", *fd);
	*real = realpath(proc, NULL);
	if (!*real)
		return pl__error_set(err, PL_ESYS, errno, "cannot open catalog '%s'", dir);
	return 0;
}

static int open_at(const struct pl_catalog_options *o, struct pl_catalog **out, struct memory *mem,
		   char **real_out, struct pl_error **err)
{
	if (!o->dir)
		return pl__error_set(err, PL_EINVAL, 0,
				     "no catalog given (--catalog or PLINTH_CATALOG)");
	cleanup_close int dirfd = -1;
	cleanup_free char *real = NULL;
	int rc = open_dir(o->dir, &dirfd, &real, err);
	if (rc < 0)
		return rc;
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (faccessat(dirfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s' is not a catalog (no %s): run 'plinth catalog init'",
				     o->dir, STATE_FILE);
	if ((rc = pl__read_fileat(dirfd, STATE_FILE, PL__CATALOG_STATE_MAX, &text, &len, err)) < 0)
		return pl__error_wrap(err, rc, "catalog '%s'", o->dir);
	cleanup_free char *name = pl__asprintf(err, "%s/%s", o->dir, STATE_FILE);
	cleanup_catalog struct pl_catalog *c = NULL;
	if (!name)
		return PL_ENOMEM;
	if ((rc = memory_read(o, real, NULL, mem, err)) < 0)
		return rc;
	/* the very bytes checked last time need no checking again */
	uint8_t bytes[PL_SHA256_LEN];
	pl__sha256(text, len, bytes);
	bool verified = mem->have && !memcmp(bytes, mem->bytes, PL_SHA256_LEN);
	if ((rc = catalog_parse(name, text, len, bytes, verified, &c, err)) < 0)
		return rc;
	if (verified)
		memcpy(c->state, mem->state, PL_SHA256_LEN);
	/* a pinned id names the first record, so the first key: the history
	 * check below then leads from it to the state's trust root */
	if (o->id && strcmp(o->id, c->id))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s' is the catalog %.12s, not the pinned %.12s: "
				     "refusing it",
				     o->dir, c->id, o->id);
	if (!(c->dir = pl__strdup(o->dir, err)))
		return PL_ENOMEM;
	c->dirfd = pl__steal_fd(&dirfd);
	if ((!mem->at_id[0] && (rc = memory_read(o, real, c->id, mem, err)) < 0) ||
	    (rc = check_history(c, mem, err)) < 0)
		return rc;
	*out = steal_pointer(&c);
	*real_out = steal_pointer(&real);
	return 0;
}

int pl_catalog_open(const struct pl_catalog_options *o, struct pl_catalog **out,
		    struct pl_error **err)
{
	cleanup_memory struct memory mem = { 0 };
	cleanup_free char *real = NULL;
	cleanup_catalog struct pl_catalog *c = NULL;
	int rc = open_at(o, &c, &mem, &real, err);
	if (rc < 0)
		return rc;
	/* Remember a newer version: a reader that cannot would not notice a
	 * rollback next time, so that is an error too. */
	if ((!mem.have || mem.version < c->version || !mem.at_id[0]) &&
	    (rc = memory_write(o, c, real, err)) < 0)
		return pl__error_wrap(err, rc,
				      "cannot remember the version of catalog '%s' (set "
				      "PLINTH_STATE to a writable directory)",
				      o->dir);
	*out = steal_pointer(&c);
	return 0;
}

/* ---- queries ----------------------------------------------------------- */

int pl_catalog_entries(struct pl_catalog *c, const char *name,
		       const struct pl_catalog_entry *const **out, size_t *n, struct pl_error **err)
{
	size_t total = 0;
	struct base *one = NULL;
	int rc = name ? find_base(c, name, &one, err) : load_all(c, err);
	if (rc < 0)
		return rc;
	struct base *const *list = name ? &one : c->sorted;
	size_t nlist = name ? one != NULL : c->nbases;
	for (size_t i = 0; i < nlist; i++) {
		if ((rc = load_base(c, list[i], err)) < 0)
			return rc;
		total += list[i]->count;
	}
	free(c->all);
	c->nall = 0;
	if (!(c->all = pl__calloc(total + 1, sizeof(*c->all), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < nlist; i++)
		for (size_t j = 0; j < list[i]->count; j++)
			c->all[c->nall++] = &list[i]->e[j];
	*out = c->all;
	*n = c->nall;
	return 0;
}

/* Base `name`, loaded; PL_EINVAL naming the nearest known base when absent. */
static int get_base(struct pl_catalog *c, const char *name, struct base **out,
		    struct pl_error **err)
{
	struct base *b = NULL;
	int rc = find_base(c, name, &b, err);
	if (rc < 0)
		return rc;
	if (!b) {
		/* the slow way, for a better error: every base's name */
		if ((rc = load_all(c, err)) < 0)
			return rc;
		const char *best = NULL;
		size_t bd = 3;
		for (size_t i = 0; i < c->nbases; i++) {
			size_t d = pl__edit_distance(name, c->sorted[i]->name, 2);
			if (d < bd)
				bd = d, best = c->sorted[i]->name;
		}
		if (best)
			return pl__error_set(err, PL_EINVAL, 0,
					     "no base '%s' in catalog '%s' (did you mean '%s'?)",
					     name, c->dir ? c->dir : "-", best);
		return pl__error_set(err, PL_EINVAL, 0, "no base '%s' in catalog '%s'", name,
				     c->dir ? c->dir : "-");
	}
	*out = b;
	return load_base(c, b, err);
}

static const struct pl_catalog_entry *base_version(const struct base *b, const char *version)
{
	ssize_t i = find_version(b->versions, version, NULL);
	return i < 0 ? NULL : &b->e[i];
}

int pl_catalog_get(struct pl_catalog *c, const char *name, const char *version,
		   const struct pl_catalog_entry **out, struct pl_error **err)
{
	struct base *b = NULL;
	int rc = get_base(c, name, &b, err);
	if (rc < 0)
		return rc;
	if (!(*out = base_version(b, version)))
		return pl__error_set(err, PL_EINVAL, 0, "no version '%s@%s' in catalog '%s'", name,
				     version, c->dir ? c->dir : "-");
	return 0;
}

int pl_catalog_find_digest(struct pl_catalog *c, const char *name, const char *digest,
			   const struct pl_catalog_entry **out, struct pl_error **err)
{
	*out = NULL;
	struct base *b = NULL;
	int rc = find_base(c, name, &b, err);
	if (rc < 0 || !b)
		return rc;
	if ((rc = load_base(c, b, err)) < 0)
		return rc;
	for (size_t i = 0; i < b->count; i++)
		if (!strcmp(b->e[i].digest, digest))
			*out = &b->e[i];
	return 0;
}

/* Split "NAME@RANGE" (or "NAME") into name and range. */
static int spec_parse(const char *spec, char name[NAME_LEN_MAX + 1], struct pl__semver *range,
		      struct pl_error **err)
{
	const char *at = strchr(spec, '@');
	size_t n = at ? (size_t)(at - spec) : strlen(spec);
	range->n = 0;
	if (n > NAME_LEN_MAX)
		return pl__error_set(err, PL_EINVAL, 0, "invalid base '%s'", spec);
	memcpy(name, spec, n);
	name[n] = '\0';
	if (!name_valid(name) || (at && !pl__semver_parse(at + 1, strlen(at + 1), false, range)))
		return pl__error_set(err, PL_EINVAL, 0,
				     "invalid base '%s': use NAME@MAJOR, NAME@MAJOR.MINOR or "
				     "NAME@MAJOR.MINOR.PATCH",
				     spec);
	return 0;
}

static bool in_range(const char *version, const struct pl__semver *range)
{
	struct pl__semver v;
	pl__semver_parse(version, strlen(version), true, &v);
	for (int i = 0; i < range->n; i++)
		if (v.v[i] != range->v[i])
			return false;
	return true;
}

int pl_catalog_resolve(struct pl_catalog *c, const char *spec, const struct pl_catalog_entry **out,
		       char **warning, struct pl_error **err)
{
	char name[NAME_LEN_MAX + 1];
	struct pl__semver range;
	struct base *b = NULL;
	int rc;
	*warning = NULL;
	if ((rc = spec_parse(spec, name, &range, err)) < 0 || (rc = get_base(c, name, &b, err)) < 0)
		return rc;
	const struct pl_catalog_entry *pick = NULL, *banned = NULL;
	size_t matched = 0;
	for (size_t i = b->count; i-- > 0;) {
		const struct pl_catalog_entry *e = &b->e[i];
		if (!in_range(e->version, &range))
			continue;
		matched++;
		if (e->status == PL_STATUS_APPROVED) {
			*out = e;
			return 0;
		}
		if (e->status == PL_STATUS_BANNED)
			banned = banned ? banned : e;
		else if (!pick)
			pick = e;
	}
	if (!matched)
		return pl__error_set(err, PL_EINVAL, 0,
				     "no version of '%s' matches '%s' (newest: %s@%s)", name, spec,
				     name, b->e[b->count - 1].version);
	if (!pick)
		return pl__error_set(err, PL_EPOLICY, 0, "'%s@%s' is banned: %s", name,
				     banned->version, banned->reason);
	const struct pl_catalog_entry *e = pick;
	/* a chain longer than the base's versions goes round in a cycle */
	for (size_t hops = 0; e->status == PL_STATUS_SUPERSEDED; hops++) {
		const struct pl_catalog_entry *next = base_version(b, e->superseded_by);
		if (!next)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s@%s' is superseded by '%s', which is not in the "
					     "catalog",
					     name, e->version, e->superseded_by);
		if (hops == b->count)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s@%s' is superseded in a cycle of versions", name,
					     pick->version);
		e = next;
	}
	if (e->status == PL_STATUS_BANNED)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "'%s@%s' is superseded by '%s@%s', which is banned: %s", name,
				     pick->version, name, e->version, e->reason);
	if (pick != e)
		*warning =
		    pl__asprintf(err, "'%s@%s' is superseded by '%s@%s'; using %s@%s%s%s", name,
				 pick->version, name, e->version, name, e->version,
				 e->status == PL_STATUS_DEPRECATED ? ", which is deprecated" : "",
				 e->status == PL_STATUS_DEPRECATED && e->reason ? ": " : "");
	if (pick != e && *warning && e->status == PL_STATUS_DEPRECATED && e->reason) {
		char *w = pl__asprintf(err, "%s%s", *warning, e->reason);
		free(*warning);
		*warning = w;
	}
	if (pick == e)
		*warning = pl__asprintf(err, "'%s@%s' is deprecated%s%s", name, e->version,
					e->reason ? ": " : "", e->reason ? e->reason : "");
	if (!*warning)
		return PL_ENOMEM;
	*out = e;
	return 0;
}

/* ---- replay ------------------------------------------------------------ */

struct replay {
	struct model m;
	int (*fn)(void *ctx, const struct pl_catalog_change *ch);
	void *ctx;
	int stopped;     /* fn's non-zero result */
	bool check_sigs; /* each record's signature too */
};

static int replay_record(void *ctx, json_t *rec, const char *line, size_t len,
			 struct pl_error **err)
{
	struct replay *r = ctx;
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	int rc = r->check_sigs ? record_check_sig(r->m.trust, rec, seq, err) : 0;
	if (rc < 0)
		return rc;
	rc = apply(&r->m, rec, err);
	if (rc == NOCHANGE)
		return pl__error_set(err, PL_EINVAL, 0, "history record %llu changes nothing",
				     (unsigned long long)seq);
	if (rc < 0)
		return pl__error_wrap(err, rc, "history record %llu", (unsigned long long)seq);
	if (!r->fn)
		return 0;
#define S(k) json_string_value(json_object_get(rec, k))
	struct pl_catalog_change ch = {
		.seq = seq,
		.time = (uint64_t)json_integer_value(json_object_get(rec, "time")),
		.op = S("op"),
		.name = S("name"),
		.version = S("version"),
		.reason = S("reason"),
		.to = S("to"),
		.key = S("key"),
	};
	json_t *e = json_object_get(rec, "entry");
	if (e) {
		ch.version = json_string_value(json_object_get(e, "version"));
		ch.digest = json_string_value(json_object_get(e, "digest"));
	}
	char added[PL_DIGEST_STR_LEN + 1];
	if (!strcmp(ch.op, "trust") && S("add") && pem_fingerprint(S("add"), added, NULL) == 0)
		ch.digest = added;
	else if (!strcmp(ch.op, "trust"))
		ch.digest = S("remove");
#undef S
	cleanup_free char *copy = pl__strndup(line, len, err);
	if (!copy)
		return PL_ENOMEM;
	ch.record = copy;
	if ((r->stopped = r->fn(r->ctx, &ch)))
		return 1;
	return 0;
}

static int model_init(struct model *m, struct pl_error **err)
{
	m->trust = json_array();
	m->bases = json_object();
	return m->trust && m->bases ? 0 : pl__error_nomem(err);
}

int pl__catalog_replay_text(const char *text, size_t len, bool check_sigs, struct pl_error **err)
{
	struct replay r = { { NULL, NULL }, NULL, NULL, 0, check_sigs };
	int rc = model_init(&r.m, err);
	uint64_t seq = 0;
	uint8_t head[PL_SHA256_LEN] = { 0 };
	if (rc == 0)
		rc = chain(text, len, NULL, true, &seq, head, replay_record, &r, err);
	model_release(&r.m);
	return rc;
}

/* The object text of base `name` with `versions` (canonical). */
static char *object_text(const char *name, json_t *versions)
{
	cleanup_json json_t *o = json_pack("{s:s, s:O}", "name", name, "versions", versions);
	return o ? pl__json_canonical(o) : NULL;
}

int pl_catalog_verify(struct pl_catalog *c,
		      int (*fn)(void *ctx, const struct pl_catalog_change *ch), void *ctx,
		      struct pl_error **err)
{
	struct replay r = { { NULL, NULL }, fn, ctx, 0, true };
	cleanup_free char *text = NULL;
	int rc = model_init(&r.m, err);
	if (rc == 0)
		rc = history_read(c->dirfd, 0, c->hist_size, &text, err);
	uint64_t seq = 0;
	uint8_t head[PL_SHA256_LEN] = { 0 };
	if (rc == 0)
		rc = chain(text, (size_t)c->hist_size, c->id, true, &seq, head, replay_record, &r,
			   err);
	if (rc == 1) {
		model_release(&r.m);
		return r.stopped;
	}
	if (rc < 0) {
		model_release(&r.m);
		return pl__error_wrap(err, rc, "catalog '%s'", c->dir);
	}
	/* the replayed state must be the signed one, exactly */
	if ((rc = load_all(c, err)) < 0) {
		model_release(&r.m);
		return rc;
	}
	cleanup_free char *t1 = pl__json_canonical(r.m.trust);
	cleanup_free char *t2 = pl__json_canonical(json_object_get(c->signed_, "trust"));
	bool same = t1 && t2 && !strcmp(t1, t2) && seq == c->hist_len &&
		    !memcmp(head, c->head, PL_SHA256_LEN) &&
		    json_object_size(r.m.bases) == c->nbases;
	const char *name;
	json_t *versions;
	json_object_foreach (r.m.bases, name, versions) {
		struct base *b = NULL;
		find_base(c, name, &b, NULL); /* loaded above */
		cleanup_free char *ot = object_text(name, versions);
		uint8_t d[PL_SHA256_LEN];
		if (ot)
			pl__sha256(ot, strlen(ot), d);
		same = same && b && ot && !memcmp(d, b->object, PL_SHA256_LEN) &&
		       b->count == json_array_size(versions);
	}
	model_release(&r.m);
	if (!same)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "catalog '%s': replaying the history does not give the "
				     "signed state",
				     c->dir);
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* A change being made: the lock, the state it starts from, the records. */
struct txn {
	const struct pl_catalog_options *o;
	const struct pl_key *k;
	int lockfd;
	struct pl_catalog *c;
	char *real;
	struct memory mem;
	struct model m;
	json_t *lines;   /* the new records' text */
	json_t *touched; /* names whose object changes: name -> true */
	uint64_t seq, size;
	uint8_t head[PL_SHA256_LEN];
};

static void txn_release(struct txn *t)
{
	if (t->lockfd >= 0)
		close(t->lockfd); /* releases the lock */
	pl_catalog_free(t->c);
	free(t->real);
	memory_release(&t->mem);
	model_release(&t->m);
	json_decref(t->lines);
	json_decref(t->touched);
}
#define cleanup_txn __attribute__((cleanup(txn_release)))

static int check_signer(const struct pl_key *k, struct pl_error **err)
{
	if (!pl_key_is_private(k))
		return pl__error_set(err, PL_EINVAL, 0,
				     "changing the catalog needs a private key (--key K, where K "
				     "is the .key file of 'plinth keygen')");
	return 0;
}

static int txn_begin(struct txn *t, const struct pl_catalog_options *o, const struct pl_key *k,
		     struct pl_error **err)
{
	memset(t, 0, sizeof(*t));
	t->lockfd = -1;
	t->o = o;
	t->k = k;
	int rc = check_signer(k, err);
	if (rc < 0)
		return rc;
	if (!o->dir)
		return pl__error_set(err, PL_EINVAL, 0,
				     "no catalog given (--catalog or PLINTH_CATALOG)");
	cleanup_free char *lock = pl__asprintf(err, "%s/%s", o->dir, LOCK_FILE);
	if (!lock)
		return PL_ENOMEM;
	t->lockfd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (t->lockfd < 0 && errno == ENOENT)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s' is not a catalog: run 'plinth catalog init'", o->dir);
	if (t->lockfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", lock);
	while (flock(t->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return pl__error_set(err, PL_ESYS, errno, "cannot lock '%s'", lock);
	if ((rc = open_at(o, &t->c, &t->mem, &t->real, err)) < 0)
		return rc;
	const char *fp = pl_key_fingerprint(k);
	bool trusted = false;
	for (size_t i = 0; i < t->c->ntrust; i++)
		trusted |= !strcmp(t->c->fps[i], fp);
	if (!trusted)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "key %s is not in the trust root of catalog '%s'", fp, o->dir);
	t->m.trust = json_deep_copy(json_object_get(t->c->signed_, "trust"));
	t->m.bases = json_object();
	t->lines = json_array();
	t->touched = json_object();
	if (!t->m.trust || !t->m.bases || !t->lines || !t->touched)
		return pl__error_nomem(err);
	t->seq = t->c->version;
	t->size = t->c->hist_size;
	memcpy(t->head, t->c->head, PL_SHA256_LEN);
	return 0;
}

/* Bring base `name` (when it exists) into the model. */
static int txn_load(struct txn *t, const char *name, struct pl_error **err)
{
	if (json_object_get(t->m.bases, name))
		return 0;
	struct base *b = NULL;
	int rc = find_base(t->c, name, &b, err);
	if (rc < 0 || !b)
		return rc;
	if ((rc = load_base(t->c, b, err)) < 0)
		return rc;
	if (json_object_set_new(t->m.bases, name, json_deep_copy(b->versions)) < 0)
		return pl__error_nomem(err);
	return 0;
}

/* Apply `rec` (common fields are filled in here); NOCHANGE adds nothing. */
static int txn_add(struct txn *t, json_t *rec, struct pl_error **err)
{
	char prev[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(t->head, prev);
	int bad = json_object_set_new(rec, "seq", json_integer((json_int_t)t->seq + 1));
	bad |= json_object_set_new(rec, "time", json_integer((json_int_t)t->o->now));
	bad |= json_object_set_new(rec, "key", json_string(pl_key_fingerprint(t->k)));
	bad |= json_object_set_new(rec, "prev", t->seq ? json_string(prev) : json_null());
	cleanup_free char *payload = bad ? NULL : pl__json_canonical(rec);
	if (!payload)
		return pl__error_nomem(err);
	cleanup_free char *sig = NULL;
	int rc = pl__sign_b64(t->k, payload, strlen(payload), &sig, err);
	if (rc < 0)
		return rc;
	if (json_object_set_new(rec, "sig", json_string(sig)) < 0)
		return pl__error_nomem(err);
	const char *name = json_string_value(json_object_get(rec, "name"));
	if (name && (rc = txn_load(t, name, err)) < 0)
		return rc;
	if ((rc = apply(&t->m, rec, err)) != 0)
		return rc;
	cleanup_free char *line = pl__json_canonical(rec);
	if (!line)
		return pl__error_nomem(err);
	if (json_array_append_new(t->lines, json_string(line)) < 0 ||
	    (name && json_object_set_new(t->touched, name, json_true()) < 0))
		return pl__error_nomem(err);
	pl__sha256(line, strlen(line), t->head);
	t->seq++;
	t->size += strlen(line) + 1;
	return 0;
}

static int sync_dir(int fd, const char *what, struct pl_error **err)
{
	if (fsync(fd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync '%s'", what);
	return 0;
}

/* Append the new records at the signed end of the history (dropping what a
 * killed writer may have left after it) and sync. */
static int history_append(int dirfd, uint64_t at, json_t *lines, struct pl_error **err)
{
	cleanup_close int fd =
	    openat(dirfd, HISTORY_FILE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", HISTORY_FILE);
	if (ftruncate(fd, (off_t)at) < 0 || lseek(fd, (off_t)at, SEEK_SET) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot write '%s'", HISTORY_FILE);
	cleanup_buf struct pl_buf b = { 0 };
	int rc = pl_buf_init(&b, SIZE_MAX, err);
	size_t i;
	json_t *l;
	json_array_foreach (lines, i, l) {
		if (rc == 0)
			rc = pl_buf_adds(&b, json_string_value(l), err);
		if (rc == 0)
			rc = pl_buf_add(&b, "\n", 1, err);
	}
	if (rc < 0)
		return rc;
	if (pl__write_all(fd, b.buf, b.len) < 0 || fsync(fd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot write '%s'", HISTORY_FILE);
	return 0;
}

/* Write `text` as a content-addressed object; its digest goes to d. */
static int object_write(int dirfd, const char *text, uint8_t d[PL_SHA256_LEN],
			struct pl_error **err)
{
	char path[80];
	pl__sha256(text, strlen(text), d);
	object_name(d, path);
	if (faccessat(dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	cleanup_close int objfd =
	    openat(dirfd, OBJECTS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (objfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", OBJECTS_DIR);
	return pl__write_file_atomic(objfd, path + sizeof(OBJECTS_DIR), text, strlen(text), 0644,
				     err);
}

/* The signed state after the transaction, signed: catalog.json's text. */
static char *state_text(const struct txn *t, json_t *shards, json_t *retired, const char *id,
			struct pl_error **err)
{
	char head[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(t->head, head);
	cleanup_json json_t *sg = json_pack(
	    "{s:s, s:i, s:s, s:I, s:I, s:O, s:O, s:{s:I, s:s, s:I}, s:O}", "type", TYPE,
	    "formatVersion", FORMAT, "id", id, "version", (json_int_t)t->seq, "time",
	    (json_int_t)t->o->now, "trust", t->m.trust, "shards", shards, "history", "length",
	    (json_int_t)t->seq, "head", head, "size", (json_int_t)t->size, "retired", retired);
	cleanup_free char *payload = sg ? pl__json_canonical(sg) : NULL;
	cleanup_free char *sig = NULL;
	if (!payload) {
		pl__error_nomem(err);
		return NULL;
	}
	if (pl__sign_b64(t->k, payload, strlen(payload), &sig, err) < 0)
		return NULL;
	cleanup_json json_t *file = json_pack("{s:[{s:s, s:s}], s:O}", "signatures", "keyid",
					      pl_key_fingerprint(t->k), "sig", sig, "signed", sg);
	char *text = file ? pl__json_canonical(file) : NULL;
	if (!text)
		pl__error_nomem(err);
	return text;
}

/* Whether `name` is a temporary file of pl__write_file_atomic(). */
static bool is_temp(const char *name)
{
	return name[0] == '.' && strstr(name, ".tmp-") != NULL;
}

/* Remove the temporary files in `dir` of `catfd` (NULL: catfd itself):
 * under the lock, all of them are a killed writer's. */
static void sweep_temp(int catfd, const char *dir)
{
	DIR *d = pl__opendirat(catfd, dir ? dir : ".");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (is_temp(de->d_name))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Remove objects neither used nor retired, and temporary files: what
 * killed writers left. */
static void sweep(int catfd, json_t *live, json_t *retired)
{
	sweep_temp(catfd, NULL);
	sweep_temp(catfd, OBJECTS_DIR);
	DIR *d = pl__opendirat(catfd, OBJECTS_DIR);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char digest[PL_DIGEST_STR_LEN + 8];
		size_t n = strlen(de->d_name);
		if (n != 64 + 5 || strcmp(de->d_name + 64, ".json"))
			continue;
		snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
		bool used = json_object_get(live, digest) != NULL;
		json_t *v;
		size_t i;
		json_array_foreach (retired, i, v)
			used |= !strcmp(json_string_value(json_object_get(v, "object")), digest);
		if (!used)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int txn_commit(struct txn *t, struct pl_error **err)
{
	if (json_array_size(t->lines) == 0)
		return 0;
	struct pl_catalog *c = t->c;
	int rc = load_all(c, err); /* for the objects still in use, below */
	if (rc < 0)
		return rc;
	cleanup_json json_t *shards = json_deep_copy(json_object_get(c->signed_, "shards"));
	cleanup_json json_t *maps = json_object(); /* "k" -> shard k's new map */
	cleanup_json json_t *retired = json_array(), *live = json_object();
	if (!shards || !maps || !retired || !live)
		return pl__error_nomem(err);
	/* replaced objects stay for PL__CATALOG_KEEP changes, for readers
	 * that read the state just before */
	size_t i;
	json_t *r;
	json_array_foreach (json_object_get(c->signed_, "retired"), i, r) {
		json_int_t at = json_integer_value(json_object_get(r, "at"));
		if (json_is_string(json_object_get(r, "object")) &&
		    (uint64_t)at + PL__CATALOG_KEEP >= t->seq && json_array_append(retired, r) < 0)
			return pl__error_nomem(err);
	}
	const char *name;
	json_t *v;
	json_object_foreach (t->touched, name, v) {
		char key[8];
		snprintf(key, sizeof(key), "%u", shard_of(name));
		json_t *bases = json_object_get(maps, key);
		if (!bases) {
			json_t *was = c->shards[shard_of(name)].map;
			bases = was ? json_deep_copy(was) : json_object();
			if (json_object_set_new(maps, key, bases) < 0)
				return pl__error_nomem(err);
		}
		json_t *versions = json_object_get(t->m.bases, name);
		cleanup_free char *text = object_text(name, versions);
		uint8_t d[PL_SHA256_LEN];
		char ds[PL_DIGEST_STR_LEN + 1];
		if (!text)
			return pl__error_nomem(err);
		if ((rc = object_write(c->dirfd, text, d, err)) < 0)
			return rc;
		pl__digest_str(d, ds);
		json_t *old = json_object_get(json_object_get(bases, name), "object");
		if (old && strcmp(json_string_value(old), ds) &&
		    json_array_append_new(retired, json_pack("{s:O, s:I}", "object", old, "at",
							     (json_int_t)t->seq)) < 0)
			return pl__error_nomem(err);
		if (json_object_set_new(bases, name,
					json_pack("{s:s, s:I}", "object", ds, "versions",
						  (json_int_t)json_array_size(versions))) < 0)
			return pl__error_nomem(err);
	}
	/* the changed shards, written as objects of their own */
	const char *key;
	json_t *bases;
	json_object_foreach (maps, key, bases) {
		unsigned k = (unsigned)strtoul(key, NULL, 10);
		cleanup_json json_t *o = json_pack("{s:i, s:O}", "shard", (int)k, "bases", bases);
		cleanup_free char *text = o ? pl__json_canonical(o) : NULL;
		uint8_t d[PL_SHA256_LEN];
		char ds[PL_DIGEST_STR_LEN + 1];
		if (!text)
			return pl__error_nomem(err);
		if ((rc = object_write(c->dirfd, text, d, err)) < 0)
			return rc;
		pl__digest_str(d, ds);
		json_t *old = json_array_get(shards, k);
		if (json_is_string(old) && strcmp(json_string_value(old), ds) &&
		    json_array_append_new(retired, json_pack("{s:O, s:I}", "object", old, "at",
							     (json_int_t)t->seq)) < 0)
			return pl__error_nomem(err);
		if (json_array_set_new(shards, k, json_string(ds)) < 0)
			return pl__error_nomem(err);
	}
	/* what the new state uses: its shards and their bases' objects */
	for (unsigned k = 0; k < SHARDS; k++) {
		char kk[8];
		snprintf(kk, sizeof(kk), "%u", k);
		json_t *map = json_object_get(maps, kk);
		if (!map)
			map = c->shards[k].map;
		json_t *sd = json_array_get(shards, k);
		if (json_is_string(sd) &&
		    json_object_set(live, json_string_value(sd), json_true()) < 0)
			return pl__error_nomem(err);
		json_object_foreach (map, name, v)
			if (json_object_set(live, json_string_value(json_object_get(v, "object")),
					    json_true()) < 0)
				return pl__error_nomem(err);
	}
	/* the new state is read back as any reader will read it before it
	 * replaces the old one: a state its own trust root does not accept
	 * is never written */
	cleanup_free char *text = state_text(t, shards, retired, c->id, err);
	if (!text)
		return PL_ENOMEM;
	cleanup_catalog struct pl_catalog *next = NULL;
	if ((rc = pl__catalog_parse(STATE_FILE, text, strlen(text), &next, err)) < 0)
		return pl__error_wrap(err, rc, "the new state of catalog '%s'", c->dir);
	cleanup_free char *objs = pl__asprintf(err, "%s/%s", c->dir, OBJECTS_DIR);
	cleanup_close int objfd = objs ? open(objs, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (objfd < 0 || (rc = sync_dir(objfd, objs, err)) < 0)
		return objs ? pl__error_set(err, PL_ESYS, errno, "cannot sync '%s'", objs)
			    : PL_ENOMEM;
	if ((rc = history_append(c->dirfd, c->hist_size, t->lines, err)) < 0)
		return rc;
	if ((rc = pl__write_file_atomic(c->dirfd, STATE_FILE, text, strlen(text), 0644, err)) < 0 ||
	    (rc = sync_dir(c->dirfd, c->dir, err)) < 0)
		return rc;
	sweep(c->dirfd, live, retired);
	/* the writer's own memory moves on with it (the change has landed
	 * whether or not that works) */
	memory_write(t->o, next, t->real, NULL);
	return 0;
}

/* ---- init, restore, export --------------------------------------------- */

/* Make a fresh catalog directory: write into a sibling staging directory,
 * then rename it over `dir` (absent, or an empty directory). */
struct stage {
	char *path;
	int fd;
};

static void stage_release(struct stage *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->path) {
		pl__remove_tree(AT_FDCWD, s->path);
		free(s->path);
	}
}
#define cleanup_stage __attribute__((cleanup(stage_release)))

static int stage_open(const char *dir, struct stage *s, struct pl_error **err)
{
	s->fd = -1;
	s->path = NULL;
	struct stat st;
	if (stat(dir, &st) == 0) {
		DIR *d = opendir(dir);
		if (!d)
			return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", dir);
		struct dirent *de;
		bool empty = true;
		while ((de = readdir(d)))
			empty &= !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
		closedir(d);
		if (!empty)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s' is not empty: a catalog is made in a new or "
					     "empty directory",
					     dir);
	}
	cleanup_free char *copy = pl__strdup(dir, err);
	if (!copy)
		return PL_ENOMEM;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' cannot name a catalog", dir);
	s->path = slash
		      ? pl__asprintf(err, "%.*s/.%s.plinth-XXXXXX", (int)(slash - copy), copy, base)
		      : pl__asprintf(err, ".%s.plinth-XXXXXX", base);
	if (!s->path)
		return PL_ENOMEM;
	if (!mkdtemp(s->path)) {
		int e = errno;
		free(s->path);
		s->path = NULL;
		return pl__error_set(err, PL_ESYS, e, "cannot create a directory beside '%s'", dir);
	}
	chmod(s->path, 0755);
	s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0 || mkdirat(s->fd, OBJECTS_DIR, 0755) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create '%s'", s->path);
	cleanup_close int lock =
	    openat(s->fd, LOCK_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (lock < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create '%s/%s'", s->path,
				     LOCK_FILE);
	return 0;
}

static int stage_finish(struct stage *s, const char *dir, struct pl_error **err)
{
	cleanup_close int objfd = openat(s->fd, OBJECTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (objfd < 0 || fsync(objfd) < 0 || fsync(s->fd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync '%s'", s->path);
	if (rename(s->path, dir) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot rename '%s' to '%s'", s->path,
				     dir);
	free(s->path);
	s->path = NULL;
	cleanup_free char *parent = pl__strdup(dir, err);
	if (!parent)
		return PL_ENOMEM;
	char *slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	cleanup_close int pfd = open(slash ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0)
		fsync(pfd);
	return 0;
}

/*
 * After init or restore at o->dir: what this machine remembered of a catalog
 * at that place (an older one, replaced on purpose by a holder of a trusted
 * key) is forgotten, and the new catalog remembered.
 */
static int remember_new(const struct pl_catalog_options *o, struct pl_error **err)
{
	if (!o->state_dir)
		return 0;
	struct pl_catalog_options fresh = *o;
	fresh.state_dir = NULL;
	fresh.id = NULL; /* a new catalog: its id is new */
	cleanup_memory struct memory mem = { 0 };
	cleanup_free char *real = NULL, *dir = NULL;
	cleanup_catalog struct pl_catalog *c = NULL;
	cleanup_close int fd = -1;
	int rc = open_at(&fresh, &c, &mem, &real, err);
	if (rc < 0 || (rc = memory_dir(o, &dir, &fd, err)) < 0)
		return rc;
	if ((unlinkat(fd, mem.at_file, 0) < 0 && errno != ENOENT) ||
	    (unlinkat(fd, mem.id_file, 0) < 0 && errno != ENOENT))
		return pl__error_set(err, PL_ESYS, errno, "cannot forget catalog '%s' in '%s'",
				     o->dir, dir);
	return memory_write(o, c, real, err);
}

int pl_catalog_init(const struct pl_catalog_options *o, const struct pl_key *k,
		    struct pl_error **err)
{
	int rc = check_signer(k, err);
	if (rc < 0)
		return rc;
	if (!o->dir)
		return pl__error_set(err, PL_EINVAL, 0,
				     "no catalog given (--catalog or PLINTH_CATALOG)");
	if (o->id)
		return pl__error_set(err, PL_EINVAL, 0,
				     "the catalog is pinned to %.12s: a new catalog cannot be it "
				     "(unset the pin to make one)",
				     o->id);
	cleanup_stage struct stage s;
	if ((rc = stage_open(o->dir, &s, err)) < 0)
		return rc;
	cleanup_txn struct txn t = { .o = o, .k = k, .lockfd = -1 };
	t.m.trust = json_array();
	t.m.bases = json_object();
	t.lines = json_array();
	t.touched = json_object();
	/* two catalogs never share an id, even made by one key in one second */
	uint8_t raw[PL_SHA256_LEN];
	char nonce[2 * PL_SHA256_LEN + 1];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return pl__error_set(err, PL_ESYS, 0, "no random bytes for the catalog's nonce");
	pl__hex(raw, sizeof(raw), nonce);
	cleanup_json json_t *rec = json_pack("{s:s, s:s, s:s}", "op", "init", "publicKey",
					     pl_key_public_pem(k), "nonce", nonce);
	if (!t.m.trust || !t.m.bases || !t.lines || !t.touched || !rec)
		return pl__error_nomem(err);
	if ((rc = txn_add(&t, rec, err)) < 0)
		return rc;
	char id[2 * PL_SHA256_LEN + 1];
	pl__hex(t.head, PL_SHA256_LEN, id);
	if ((rc = history_append(s.fd, 0, t.lines, err)) < 0)
		return rc;
	cleanup_json json_t *shards = json_array(), *retired = json_array();
	for (size_t i = 0; shards && i < SHARDS; i++)
		if (json_array_append_new(shards, json_null()) < 0)
			return pl__error_nomem(err);
	cleanup_free char *text =
	    shards && retired ? state_text(&t, shards, retired, id, err) : NULL;
	if (!text)
		return PL_ENOMEM;
	if ((rc = pl__write_file_atomic(s.fd, STATE_FILE, text, strlen(text), 0644, err)) < 0)
		return rc;
	if ((rc = stage_finish(&s, o->dir, err)) < 0)
		return rc;
	return remember_new(o, err);
}

int pl_catalog_export(struct pl_catalog *c, const char *path, struct pl_error **err)
{
	cleanup_free char *state = NULL, *history = NULL;
	size_t len = 0;
	int rc = pl__read_fileat(c->dirfd, STATE_FILE, PL__CATALOG_STATE_MAX, &state, &len, err);
	if (rc < 0)
		return rc;
	/* the state read now must be the one checked at open */
	cleanup_catalog struct pl_catalog *now = NULL;
	if ((rc = pl__catalog_parse(STATE_FILE, state, len, &now, err)) < 0)
		return rc;
	if (now->version != c->version)
		return pl__error_set(err, PL_EINVAL, 0,
				     "catalog '%s' changed while exporting it; try again", c->dir);
	if ((rc = history_read(c->dirfd, 0, c->hist_size, &history, err)) < 0)
		return rc;
	cleanup_json json_t *objects = json_object();
	if (!objects)
		return pl__error_nomem(err);
	if ((rc = load_all(c, err)) < 0)
		return rc;
	/* every shard object, then every base's object (each checked once
	 * loaded, read again as it is) */
	for (size_t i = 0; i < SHARDS + c->nbases; i++) {
		if (i < SHARDS && !c->shards[i].present)
			continue;
		const uint8_t *d = i < SHARDS ? c->shards[i].object : c->sorted[i - SHARDS]->object;
		char p[80], hex[2 * PL_SHA256_LEN + 1];
		object_name(d, p);
		pl__hex(d, PL_SHA256_LEN, hex);
		cleanup_free char *text = NULL;
		size_t n = 0;
		if ((i >= SHARDS && (rc = load_base(c, c->sorted[i - SHARDS], err)) < 0) ||
		    (rc = pl__read_fileat(c->dirfd, p, PL__CATALOG_OBJECT_MAX, &text, &n, err)) < 0)
			return rc;
		if (json_object_set_new(objects, hex, json_stringn(text, n)) < 0)
			return pl__error_nomem(err);
	}
	cleanup_json json_t *ex =
	    json_pack("{s:s, s:i, s:s, s:s, s:O}", "type", EXPORT_TYPE, "formatVersion", FORMAT,
		      "catalog", state, "history", history, "objects", objects);
	cleanup_free char *text = ex ? pl__json_canonical(ex) : NULL;
	if (!text)
		return pl__error_nomem(err);
	cleanup_free char *copy = pl__strdup(path, err);
	if (!copy)
		return PL_ENOMEM;
	char *slash = strrchr(copy, '/');
	const char *file = slash ? slash + 1 : copy;
	if (slash)
		*(slash == copy ? slash + 1 : slash) = '\0';
	cleanup_close int dfd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the directory of '%s'",
				     path);
	if ((rc = pl__write_file_atomic(dfd, file, text, strlen(text), 0644, err)) < 0)
		return rc;
	return sync_dir(dfd, path, err);
}

int pl_catalog_restore(const struct pl_catalog_options *o, const char *path, const struct pl_key *k,
		       struct pl_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = pl__read_file(path, EXPORT_MAX, &text, &len, err);
	if (rc < 0)
		return rc;
	cleanup_free char *what = pl__asprintf(err, "'%s'", path);
	cleanup_json json_t *ex = NULL;
	if (!what)
		return PL_ENOMEM;
	if ((rc = pl__json_parse(what, text, len, &ex, err)) < 0)
		return rc;
	static const char *const keys[] = { "!type",    "!formatVersion", "!catalog",
					    "!history", "!objects",       NULL };
	const char *type = NULL, *state = NULL, *history = NULL;
	json_t *objects = json_object_get(ex, "objects");
	if ((rc = check_keys(ex, keys, path, err)) < 0 ||
	    (rc = get_str(ex, "type", path, &type, err)) < 0 ||
	    (rc = get_str(ex, "catalog", path, &state, err)) < 0 ||
	    (rc = get_str(ex, "history", path, &history, err)) < 0)
		return rc;
	if (strcmp(type, EXPORT_TYPE) ||
	    json_integer_value(json_object_get(ex, "formatVersion")) != FORMAT ||
	    !json_is_object(objects))
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s' is not a plinth catalog export of format %d", path,
				     FORMAT);
	if (o->id) {
		/* refused before anything is written (it is all checked below) */
		cleanup_catalog struct pl_catalog *ex_c = NULL;
		if ((rc = pl__catalog_parse(path, state, strlen(state), &ex_c, err)) < 0)
			return rc;
		if (strcmp(ex_c->id, o->id))
			return pl__error_set(
			    err, PL_EPOLICY, 0,
			    "'%s' is an export of catalog %.12s, not of the pinned "
			    "%.12s",
			    path, ex_c->id, o->id);
	}
	cleanup_stage struct stage s;
	if ((rc = stage_open(o->dir, &s, err)) < 0)
		return rc;
	cleanup_close int objfd = openat(s.fd, OBJECTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (objfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", s.path);
	const char *hex;
	json_t *obj;
	json_object_foreach (objects, hex, obj) {
		uint8_t want[PL_SHA256_LEN], got[PL_SHA256_LEN];
		char file[80];
		if (strlen(hex) != 64 || !pl__hex_sha256(hex, want) || !json_is_string(obj))
			return pl__error_set(err, PL_EINVAL, 0, "'%s': bad object '%.80s'", path,
					     hex);
		pl__sha256(json_string_value(obj), json_string_length(obj), got);
		if (memcmp(want, got, PL_SHA256_LEN))
			return pl__error_set(err, PL_EDIGEST, 0,
					     "'%s': object %s does not match its digest", path,
					     hex);
		snprintf(file, sizeof(file), "%s.json", hex);
		if ((rc = pl__write_file_atomic(objfd, file, json_string_value(obj),
						json_string_length(obj), 0644, err)) < 0)
			return rc;
	}
	if ((rc = pl__write_file_atomic(s.fd, HISTORY_FILE, history, strlen(history), 0644, err)) <
		0 ||
	    (rc = pl__write_file_atomic(s.fd, STATE_FILE, state, strlen(state), 0644, err)) < 0)
		return rc;
	/* check it all, as a reader that has seen nothing */
	struct pl_catalog_options so = { .dir = s.path, .now = o->now };
	cleanup_catalog struct pl_catalog *c = NULL;
	if ((rc = pl_catalog_open(&so, &c, err)) < 0 ||
	    (rc = pl_catalog_verify(c, NULL, NULL, err)) < 0)
		return pl__error_wrap(err, rc, "'%s'", path);
	for (size_t i = 0; i < c->nbases; i++) /* verify loaded them all */
		if ((rc = load_base(c, c->sorted[i], err)) < 0)
			return pl__error_wrap(err, rc, "'%s'", path);
	bool trusted = false;
	for (size_t i = 0; i < c->ntrust; i++)
		trusted |= !strcmp(c->fps[i], pl_key_fingerprint(k));
	if (!trusted)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "key %s is not in the trust root of '%s': restore with a "
				     "key the catalog trusts",
				     pl_key_fingerprint(k), path);
	if ((rc = stage_finish(&s, o->dir, err)) < 0)
		return rc;
	return remember_new(o, err);
}

/* ---- changes ----------------------------------------------------------- */

static int one_change(const struct pl_catalog_options *o, const struct pl_key *k, json_t *rec,
		      bool *changed, struct pl_error **err)
{
	cleanup_txn struct txn t = { .lockfd = -1 };
	int rc = txn_begin(&t, o, k, err);
	if (rc < 0)
		return rc;
	rc = txn_add(&t, rec, err);
	if (rc < 0)
		return rc;
	if (changed)
		*changed = rc != NOCHANGE;
	return rc == NOCHANGE ? 0 : txn_commit(&t, err);
}

int pl_catalog_set_status(const struct pl_catalog_options *o, const struct pl_key *k,
			  const char *name, const char *version, enum pl_status status,
			  const char *reason, bool *changed, struct pl_error **err)
{
	if (status != PL_STATUS_DEPRECATED && status != PL_STATUS_BANNED)
		return pl__error_set(err, PL_EINVAL, 0, "a status is set to deprecated or banned");
	if (status == PL_STATUS_BANNED && (!reason || !*reason))
		return pl__error_set(err, PL_EINVAL, 0, "a ban needs a reason (--reason)");
	cleanup_json json_t *rec = json_pack(
	    "{s:s, s:s, s:s, s:s*}", "op", status == PL_STATUS_BANNED ? "ban" : "deprecate", "name",
	    name, "version", version, "reason", reason && *reason ? reason : NULL);
	if (!rec)
		return pl__error_nomem(err);
	return one_change(o, k, rec, changed, err);
}

int pl_catalog_supersede(const struct pl_catalog_options *o, const struct pl_key *k,
			 const char *name, const char *old_version, const char *new_version,
			 bool *changed, struct pl_error **err)
{
	cleanup_json json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "op", "supersede", "name",
					     name, "version", old_version, "to", new_version);
	if (!rec)
		return pl__error_nomem(err);
	return one_change(o, k, rec, changed, err);
}

int pl_catalog_locate(const struct pl_catalog_options *o, const struct pl_key *k, const char *name,
		      const char *version, const char *registry, bool *changed,
		      struct pl_error **err)
{
	cleanup_json json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "op", "locate", "name", name,
					     "version", version, "registry", registry);
	if (!rec)
		return pl__error_nomem(err);
	return one_change(o, k, rec, changed, err);
}

int pl_catalog_trust_change(const struct pl_catalog_options *o, const struct pl_key *k,
			    const struct pl_key *pub, bool add, bool *changed,
			    struct pl_error **err)
{
	cleanup_json json_t *rec =
	    json_pack("{s:s, s:s}", "op", "trust", add ? "add" : "remove",
		      add ? pl_key_public_pem(pub) : pl_key_fingerprint(pub));
	if (!rec)
		return pl__error_nomem(err);
	return one_change(o, k, rec, changed, err);
}

static int set_opt(json_t *o, const char *key, const char *value)
{
	return value ? json_object_set_new(o, key, json_string(value)) : 0;
}

/* Add the publication of image `tag` of `image_dir` to `t`. */
static int publish_one(struct txn *t, const char *image_dir, const char *tag,
		       struct pl_publish_result *res, struct pl_error **err)
{
	const struct pl_catalog_options *o = t->o;
	cleanup_image struct pl__image im = { 0 };
	int rc = pl__image_open(image_dir, tag, false, &im, err);
	if (rc < 0)
		return rc;
	const char *name = pl__image_annotation(&im, ANN_TITLE);
	const char *version = pl__image_annotation(&im, ANN_VERSION);
	if (!name || !name_valid(name))
		return pl__error_set(err, PL_EINVAL, 0,
				     "image 'oci:%s:%s' has no valid '%s' annotation (a base "
				     "name)",
				     image_dir, tag, ANN_TITLE);
	if (!version || !version_valid(version))
		return pl__error_set(err, PL_EINVAL, 0,
				     "image 'oci:%s:%s': version '%s' is not MAJOR.MINOR.PATCH",
				     image_dir, tag, version ? version : "");
	static const char *const digests[] = { ANN_RECIPE, ANN_LOCK, ANN_BASE_DIGEST, NULL };
	for (const char *const *a = digests; *a; a++)
		if (pl__image_annotation(&im, *a) && !digest_valid(pl__image_annotation(&im, *a)))
			return pl__error_set(err, PL_EINVAL, 0,
					     "image 'oci:%s:%s': annotation '%s' is not a sha256 "
					     "digest",
					     image_dir, tag, *a);
	if (!pl__image_annotation(&im, ANN_BASE_NAME) !=
	    !pl__image_annotation(&im, ANN_BASE_DIGEST))
		return pl__error_set(err, PL_EINVAL, 0,
				     "image 'oci:%s:%s': '%s' and '%s' go together", image_dir, tag,
				     ANN_BASE_NAME, ANN_BASE_DIGEST);
	cleanup_free char *layout = realpath(image_dir, NULL);
	if (!layout)
		return pl__error_set(err, PL_ESYS, errno, "cannot resolve '%s'", image_dir);

	size_t nkeys = 0;
	const struct pl_key *const *keys = pl_catalog_trust_keys(t->c, &nkeys);
	struct pl_verify_result vr;
	if ((rc = pl__verify_opened(&im, tag, keys, nkeys, &vr, err)) < 0)
		return pl__error_wrap(err, rc, "cannot publish");
	char digest[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(im.digest, digest);
	cleanup_json json_t *entry =
	    json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "version", version, "digest",
		      digest, "status", "approved", "statusTime", (json_int_t)o->now, "published",
		      (json_int_t)o->now, "signer", vr.fingerprint, "publisher",
		      pl_key_fingerprint(t->k), "layout", layout, "tag", tag);
	if (!entry || set_opt(entry, "recipeDigest", pl__image_annotation(&im, ANN_RECIPE)) ||
	    set_opt(entry, "lockDigest", pl__image_annotation(&im, ANN_LOCK)) ||
	    set_opt(entry, "baseName", pl__image_annotation(&im, ANN_BASE_NAME)) ||
	    set_opt(entry, "baseDigest", pl__image_annotation(&im, ANN_BASE_DIGEST)))
		return pl__error_nomem(err);
	cleanup_json json_t *rec =
	    json_pack("{s:s, s:s, s:O}", "op", "publish", "name", name, "entry", entry);
	if (!rec)
		return pl__error_nomem(err);
	if ((rc = txn_add(t, rec, err)) < 0)
		return rc;
	snprintf(res->name, sizeof(res->name), "%s", name);
	snprintf(res->version, sizeof(res->version), "%s", version);
	snprintf(res->digest, sizeof(res->digest), "%s", digest);
	res->existed = rc == NOCHANGE;
	res->catalog_version = t->seq;
	return 0;
}

int pl_catalog_publish(const struct pl_catalog_options *o, const struct pl_key *k,
		       const char *const *dirs, const char *const *tags, size_t n,
		       struct pl_publish_result *res, struct pl_error **err)
{
	cleanup_txn struct txn t = { .lockfd = -1 };
	int rc = txn_begin(&t, o, k, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = publish_one(&t, dirs[i], tags[i], &res[i], err);
	return rc < 0 ? rc : txn_commit(&t, err);
}

/* ---- admission --------------------------------------------------------- */

/* Check one entry's status for admission. */
static int admissible(const struct pl_catalog_entry *e, const char *role, bool allow_superseded,
		      struct pl_error **err)
{
	switch (e->status) {
	case PL_STATUS_APPROVED:
	case PL_STATUS_DEPRECATED:
		return 0;
	case PL_STATUS_SUPERSEDED:
		if (allow_superseded)
			return 0;
		return pl__error_set(err, PL_EPOLICY, 0,
				     "%s '%s@%s' is superseded by '%s@%s': rebuild on it", role,
				     e->name, e->version, e->name, e->superseded_by);
	case PL_STATUS_BANNED:
		break;
	}
	return pl__error_set(err, PL_EPOLICY, 0, "%s '%s@%s' is banned: %s", role, e->name,
			     e->version, e->reason);
}

int pl_admit(struct pl_catalog *c, const char *image_dir, const char *tag, bool allow_superseded,
	     struct pl_admit_result *res, struct pl_error **err)
{
	memset(res, 0, sizeof(*res));
	size_t nkeys = 0;
	const struct pl_key *const *keys = pl_catalog_trust_keys(c, &nkeys);
	struct pl_verify_result vr;
	cleanup_image struct pl__image im = { 0 };
	int rc = pl__image_open(image_dir, tag, false, &im, err);
	if (rc < 0 || (rc = pl__verify_opened(&im, tag, keys, nkeys, &vr, err)) < 0)
		return rc;
	snprintf(res->digest, sizeof(res->digest), "%s", vr.manifest_digest);
	snprintf(res->signer, sizeof(res->signer), "%s", vr.fingerprint);
	char digest[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(im.digest, digest);
	const struct pl_catalog_entry *e = NULL;
	const char *title = pl__image_annotation(&im, ANN_TITLE);
	if (title && (rc = pl_catalog_find_digest(c, title, digest, &e, err)) < 0)
		return rc;
	if (e && (rc = admissible(e, "image", allow_superseded, err)) < 0)
		return rc;
	const char *bname = pl__image_annotation(&im, ANN_BASE_NAME);
	const char *bdigest = pl__image_annotation(&im, ANN_BASE_DIGEST);
	if (!bname != !bdigest)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "image 'oci:%s:%s' names a base without its digest", image_dir,
				     tag);
	while (bname) {
		if (res->chain == CHAIN_MAX)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "image 'oci:%s:%s': the chain of bases is longer than "
					     "%d",
					     image_dir, tag, CHAIN_MAX);
		char name[NAME_LEN_MAX + 1];
		size_t n = strcspn(bname, ":@");
		if (n > NAME_LEN_MAX)
			n = NAME_LEN_MAX;
		memcpy(name, bname, n);
		name[n] = '\0';
		const char *version = bname[n] ? bname + n + 1 : NULL;
		if ((rc = pl_catalog_find_digest(c, name, bdigest, &e, err)) < 0)
			return rc;
		if (!e)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "base '%s' (%s) is not in the catalog", bname,
					     bdigest);
		if (version && strcmp(version, e->version))
			return pl__error_set(err, PL_EPOLICY, 0,
					     "base '%s' (%s) is '%s@%s' in the catalog", bname,
					     bdigest, e->name, e->version);
		if ((rc = admissible(e, "base", allow_superseded, err)) < 0)
			return rc;
		res->chain++;
		bname = e->base_name;
		bdigest = e->base_digest;
	}
	return 0;
}
