/* gates.c - lint before a build, scan and tests after, artifacts beside it (see gates.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "baseimg.h"
#include "check-impl.h"
#include "gates.h"
#include "json.h"
#include "layercache.h"
#include "oci.h"
#include "plinth/test.h"
#include "runtest.h"
#include "scan-impl.h"

#define SHOWN_MAX 3 /* findings an error message spells out */

#define MT_EMPTY     "application/vnd.oci.empty.v1+json"
#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* The error for the findings that `stops` picks: the first few spelled out. */
static int fail_findings(const struct pl_findings *f, bool (*stops)(const struct pl_finding *),
			 const char *gate, const char *hint, struct pl_error **err)
{
	size_t n, bad = 0;
	const struct pl_finding *v = pl_findings_get(f, &n);
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, err) < 0)
		return PL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!stops(&v[i]))
			continue;
		if (bad++ >= SHOWN_MAX)
			continue;
		int rc = v[i].file ? pl_buf_addf(&b, err, "%s%s:%u:%u: %s %s: %s",
						 bad > 1 ? "; " : "", v[i].file, v[i].line,
						 v[i].col, v[i].rule, v[i].name, v[i].message)
				   : pl_buf_addf(&b, err, "%s%s %s: %s", bad > 1 ? "; " : "",
						 v[i].rule, v[i].name, v[i].message);
		if (rc < 0)
			return rc;
	}
	if (!bad)
		return 0;
	return pl__error_set(err, PL_EPOLICY, 0, "%s: %zu finding%s stop%s the build: %s%s (%s)",
			     gate, bad, bad == 1 ? "" : "s", bad == 1 ? "s" : "",
			     b.buf ? b.buf : "", bad > SHOWN_MAX ? "; ..." : "", hint);
}

static bool lint_stops(const struct pl_finding *x)
{
	return !x->ignored && !strcmp(x->severity, "error");
}

int pl__gate_lint(const struct pl_recipe *r, const struct pl_build_options *o,
		  struct pl_error **err)
{
	__attribute__((cleanup(pl__findings_freep))) struct pl_findings *f = NULL;
	int rc = pl_lint(r, o->policy, NULL, &f, err);
	if (rc < 0)
		return rc;
	cleanup_free char *hint =
	    pl__asprintf(err, "'plinth lint %s' shows them all; a policy may opt out", r->path);
	return hint ? fail_findings(f, lint_stops, "lint", hint, err) : PL_ENOMEM;
}

static bool scan_stops(const struct pl_finding *x)
{
	static const char *const blocking[] = {
		"S001", "S004", "S005", "S006", "S007", "S008", NULL
	};
	if (x->ignored)
		return false;
	for (const char *const *b = blocking; *b; b++)
		if (!strcmp(*b, x->rule))
			return true;
	return false;
}

static int staged_blob(void *ctx, const uint8_t digest[PL_SHA256_LEN], int *fd,
		       struct pl_error **err)
{
	return pl__layout_blob_read_staged(ctx, digest, fd, err);
}

struct pl__blob_source pl__staged_source(struct pl__layout *l)
{
	return (struct pl__blob_source){ staged_blob, l };
}

#define SCAN_MEMO_MAX ((size_t)16 << 20) /* one layer's remembered findings */

/* "scan-<hex of the layer>-<hex of plinth>.json": a layer's blocking
 * findings, in the layer cache, so a layer taken from it again is not
 * read again.  What a layer holds depends on its bytes alone, and what is
 * found in them on the scanner: a memo is this binary's only.  The policy
 * is applied after. */
static char *memo_name(const char *digest, struct pl_error **err)
{
	char self[2 * PL_SHA256_LEN + 1];
	pl__hex(pl__self_digest(), PL_SHA256_LEN, self);
	return pl__asprintf(err, "scan-%s-%.16s.json", digest + 7, self);
}

/* A remembered path or message: as the scanner writes them, printable
 * (a hand-made memo must not put control characters in messages). */
static bool memo_text(const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || !pl__utf8_valid(s))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The remembered findings: [[RULE, PATH, MESSAGE], ...] of blocking rules;
 * NULL when there are none or they do not parse as such. */
static json_t *memo_read(const char *dir, const char *digest)
{
	cleanup_free char *name = memo_name(digest, NULL);
	cleanup_close int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	cleanup_free char *text = NULL;
	size_t len = 0;
	struct pl_error *e = NULL;
	if (!name || dfd < 0 || pl__read_fileat(dfd, name, SCAN_MEMO_MAX, &text, &len, &e) < 0) {
		pl_error_free(e);
		return NULL;
	}
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	size_t i;
	json_t *v;
	json_array_foreach (j, i, v) {
		struct pl_finding x = { .rule = json_string_value(json_array_get(v, 0)) };
		if (json_array_size(v) != 3 || !x.rule || !pl__rule(x.rule) || !scan_stops(&x) ||
		    !memo_text(json_array_get(v, 1)) || !memo_text(json_array_get(v, 2))) {
			json_decref(j);
			return NULL;
		}
	}
	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Remember a layer's blocking findings (a cache that cannot be written is
 * only slower). */
static void memo_write(const char *dir, const char *digest, const struct pl_findings *f)
{
	cleanup_json json_t *a = json_array();
	size_t n;
	const struct pl_finding *v = pl_findings_get(f, &n);
	for (size_t i = 0; a && i < n; i++)
		if (scan_stops(&v[i]) &&
		    json_array_append_new(
			a, json_pack("[s, s, s]", v[i].rule, v[i].path, v[i].message)) < 0)
			return;
	cleanup_free char *text = a ? pl__json_canonical(a) : NULL;
	cleanup_free char *name = memo_name(digest, NULL);
	struct pl_error *e = NULL;
	if (pl__mkdir_p(dir, 0755, &e) < 0) {
		pl_error_free(e);
		return;
	}
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (text && name && dfd >= 0)
		(void)pl__write_file_replace(dfd, name, text, strlen(text), 0644, &e);
	pl_error_free(e);
}

int pl__gate_scan(struct pl__layout *l, const json_t *layer, const struct pl_build_options *o,
		  struct pl_error **err)
{
	const char *digest = json_string_value(json_object_get(layer, "digest"));
	cleanup_json json_t *memo = memo_read(o->layer_cache, digest);
	__attribute__((cleanup(pl__findings_freep))) struct pl_findings *raw = NULL;
	if (!memo) {
		cleanup_json json_t *layers = json_pack("[O]", layer);
		if (!layers)
			return pl__error_nomem(err);
		struct pl__blob_source src = pl__staged_source(l);
		struct pl_scan_options so = { 0 }; /* the policy comes below */
		int rc = pl__scan_layers(&src, layers, &so, &raw, err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "scan");
		if (o->layer_cache)
			memo_write(o->layer_cache, digest, raw);
	}
	/* the findings that stop a build, as the policy sees them */
	__attribute__((cleanup(pl__findings_freep))) struct pl_findings *f = pl__findings_new(err);
	if (!f)
		return PL_ENOMEM;
	size_t n = memo ? json_array_size(memo) : 0;
	const struct pl_finding *v = raw ? pl_findings_get(raw, &n) : NULL;
	for (size_t i = 0; i < n; i++) {
		const json_t *m = memo ? json_array_get(memo, i) : NULL;
		const char *rule = m ? json_string_value(json_array_get(m, 0)) : v[i].rule;
		const char *path = m ? json_string_value(json_array_get(m, 1)) : v[i].path;
		const char *msg = m ? json_string_value(json_array_get(m, 2)) : v[i].message;
		struct pl_finding x = { .rule = rule };
		if (scan_stops(&x) && !pl__finding_add(f, o->policy, rule, NULL,
						       (struct pl__pos){ 0 }, path, err, "%s", msg))
			return PL_ENOMEM;
	}
	pl__findings_sort(f, false);
	return fail_findings(f, scan_stops, "scan",
			     "remove them, or opt out in a policy with the reason", err);
}

int pl__put_artifact(struct pl__layout *l, const char *type, const char *data, size_t len,
		     const struct pl__descriptor *subject, const char *created,
		     struct pl_error **err)
{
	uint8_t ld[PL_SHA256_LEN];
	int rc = pl__layout_blob_put(l, data, len, ld, err);
	uint8_t ed[PL_SHA256_LEN];
	if (rc == 0)
		rc = pl__layout_blob_put(l, "{}", 2, ed, err);
	if (rc < 0)
		return rc;
	char lds[PL_DIGEST_STR_LEN + 1], sds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(ld, lds);
	pl__digest_str(subject->digest, sds);
	cleanup_json json_t *m = json_pack(
	    "{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:I}], s:{s:s, s:s, s:I}, "
	    "s:{s:s}}",
	    "schemaVersion", 2, "mediaType", PL__MT_MANIFEST, "artifactType", type, "config",
	    "mediaType", MT_EMPTY, "digest", EMPTY_DIGEST, "size", 2, "layers", "mediaType", type,
	    "digest", lds, "size", (json_int_t)len, "subject", "mediaType", subject->media_type,
	    "digest", sds, "size", (json_int_t)subject->size, "annotations",
	    "org.opencontainers.image.created", created);
	cleanup_free char *text = m ? pl__json_canonical(m) : NULL;
	if (!text)
		return pl__error_nomem(err);
	struct pl__descriptor d = { PL__MT_MANIFEST, { 0 }, strlen(text), NULL, NULL };
	if ((rc = pl__layout_blob_put(l, text, d.size, d.digest, err)) < 0)
		return rc;
	return pl__layout_add_referrer(l, &d, type, subject->digest, err);
}

static void keep_tap(void *ctx, const char *line)
{
	struct pl_buf *b = ctx;
	if (pl_buf_adds(b, "\n", NULL) < 0 || pl_buf_adds(b, line, NULL) < 0)
		return; /* a report cut short still fails the build */
}

int pl__gate_tests(struct pl__layout *l, const struct pl_recipe *r, const json_t *manifest,
		   const json_t *config, const struct pl_build_options *o, struct pl_error **err)
{
	if (!r->ntests || o->skip_tests)
		return 0;
	cleanup_buf struct pl_buf tap = { 0 };
	if (pl_buf_init(&tap, (size_t)1 << 20, err) < 0)
		return PL_ENOMEM;
	struct pl_test_options to = {
		.runc = o->runc,
		.path = o->path,
		.tmpdir = o->tmpdir,
		.cancel = o->cancel,
		.tap = keep_tap,
		.tap_ctx = &tap,
	};
	struct pl__blob_source src = pl__staged_source(l);
	unsigned failed = 0;
	int rc = pl__tests_run(&src, json_object_get(manifest, "layers"), config, r->tests,
			       r->ntests, &to, &failed, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "tests (--skip-tests builds without them)");
	if (failed)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "tests: %u of %zu failed, so the build stops:%s", failed,
				     r->ntests, tap.buf ? tap.buf : "");
	/* the tests travel with the image, for plinth test oci:DIR:TAG */
	return 0;
}
