/* cmd_rebuild.c - plinth rebuild --catalog C --key K --out D RECIPE_DIR... [-j N] [--plan
 * [--format make]] [--resume] [--json] */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char usage_text[] =
    "usage: plinth rebuild --catalog C --key K --out D RECIPE_DIR... [-j N]\n"
    "                      [--plan [--format text|json|make]] [--resume] [--json]\n"
    "                      [--policy FILE] [--skip-tests]\n"
    "                      [--push HOST/PREFIX [REGISTRY OPTIONS]]\n"
    "\n"
    "Rebuild every image affected by a change of base: read every recipe under\n"
    "the RECIPE_DIRs, resolve each one's base (another of these recipes, or the\n"
    "catalog's), and build, sign and tag into D/NAME exactly the images that\n"
    "have no output yet, whose recipe or lock changed, whose base resolves to\n"
    "another image than the one their output was built on, or whose base is\n"
    "itself rebuilt.  Nothing else is touched.\n"
    "\n"
    "Builds run in dependency order, up to N at once, each as soon as its own\n"
    "base is done.  A failed build fails only what is built on it.  A rebuilt\n"
    "base (a recipe others build on, or one the catalog has) is published with\n"
    "the next patch version of its line (1.4.2 -> 1.4.3, or the recipe's version\n"
    "when newer) and supersedes the older versions of that line, so what is\n"
    "built on it follows.  A layer whose inputs did not change is taken from the layer cache\n"
    "in D/.plinth/layers (no assembling, no compressing); the image is the same\n"
    "as one built from nothing.\n"
    "\n"
    "D/.plinth/journal records every run's events.  A run killed at any point is\n"
    "finished by running again (or with --resume): what is done is not redone.\n"
    "\n"
    "Options:\n"
    "      --catalog C         the catalog (default: $PLINTH_CATALOG)\n"
    "  -k, --key K             the private key that signs images and changes\n"
    "  -o, --out D             where the images go: D/NAME, tagged with the version\n"
    "  -j, --jobs N            builds at once (default: the number of CPUs)\n"
    "      --plan              print what would be rebuilt and why, in order, and\n"
    "                          build nothing\n"
    "      --format FMT        the plan as text (default), json (the affected\n"
    "                          images with their current digests and old and new\n"
    "                          bases), or make (a Makefile whose targets run plinth\n"
    "                          build, sign and catalog publish: make -j runs the\n"
    "                          storm)\n"
    "      --resume            finish a run that was killed (running again does the\n"
    "                          same; this also says what the last run left)\n"
    "      --json              print the plan or the outcome as JSON\n"
    "  -c, --compression ALG   zstd (default) or gzip\n"
    "  -p, --policy FILE       the policy for every build's gates (lint, scan)\n"
    "      --skip-tests        do not run the recipes' tests in their images\n"
    "      --push HOST/PREFIX  push every image of the storm, signed, with its\n"
    "                          SBOM, to HOST/PREFIX/NAME:VERSION, mounting the\n"
    "                          blobs its base has from HOST/PREFIX/BASE; an image\n"
    "                          not pushed there yet is in the storm\n"
    "  -h, --help              show this help\n"
    "\n"
    "Registry options (with --push):\n"
    "%s"
    "\n"
    "Exit status: 0 when every image is done, 1 when any failed (the rest are\n"
    "still built), 2 on usage errors.\n"
    "\n"
    "Environment:\n"
    "  SOURCE_DATE_EPOCH       the clock for every timestamp (else each recipe's\n"
    "                          epoch, else 0)\n";

enum format { FMT_TEXT, FMT_JSON, FMT_MAKE };

struct ui {
	bool tty;   /* a progress line on stderr */
	bool lines; /* a line per image on stdout */
	bool shown; /* the progress line is on screen */
};

static void clear_line(struct ui *u)
{
	if (u->shown) {
		fputs("\r\033[K", stderr);
		u->shown = false;
	}
}

static void warn(void *ctx, const char *msg)
{
	struct ui *u = ctx;
	clear_line(u);
	cli_warn(NULL, msg);
}

static void short_digest(const char *d, char out[20])
{
	snprintf(out, 20, "%.19s", d ? d : "-");
}

static void progress(void *ctx, const struct pl_rebuild_item *it, size_t done, size_t total,
		     size_t running)
{
	struct ui *u = ctx;
	clear_line(u);
	if (u->lines && it->state != PL_REBUILD_RUNNING) {
		char d[20];
		short_digest(it->new_digest, d);
		switch (it->state) {
		case PL_REBUILD_DONE:
			printf("%-10s %s %s %s (%s%s%.2f s)\n",
			       it->built       ? "rebuilt"
			       : it->published ? "published"
			       : it->pushed    ? "pushed"
					       : "signed",
			       it->name, it->version, d, it->layer_reused ? "layer reused, " : "",
			       it->published && it->built ? "published, " : "", it->seconds);
			break;
		case PL_REBUILD_FAILED:
			printf("%-10s %s: %s\n", "failed", it->name, it->error);
			break;
		case PL_REBUILD_DEP_FAILED:
			printf("%-10s %s: dependency failed (its base '%s')\n", "not built",
			       it->name, it->error);
			break;
		default:
			break;
		}
		fflush(stdout);
	}
	if (u->tty) {
		fprintf(stderr, "\rplinth: rebuild [%zu/%zu] %zu running%s%s", done, total, running,
			it->state == PL_REBUILD_RUNNING ? ", started " : "",
			it->state == PL_REBUILD_RUNNING ? it->name : "");
		fflush(stderr);
		u->shown = true;
	}
}

/* ---- the plan ---------------------------------------------------------- */

static const char *why_text(const struct pl_rebuild_item *it, char *buf, size_t size)
{
	char od[20], nd[20];
	short_digest(it->old_base_digest, od);
	short_digest(it->new_base_digest, nd);
	switch (it->why) {
	case PL_REBUILD_NEW:
		return "no image yet";
	case PL_REBUILD_RECIPE:
		snprintf(buf, size, "its recipe or lock changed since %s was built", it->tag);
		return buf;
	case PL_REBUILD_FILES:
		snprintf(buf, size, "a file it copies changed since %s was built", it->tag);
		return buf;
	case PL_REBUILD_BASE:
		snprintf(buf, size, "its base is now %s %s (was %s %s)", it->new_base, nd,
			 it->old_base ? it->old_base : "-", od);
		return buf;
	case PL_REBUILD_BASE_REBUILT:
		snprintf(buf, size, "its base %s is rebuilt first", it->new_base);
		return buf;
	case PL_REBUILD_UNSIGNED:
		return "not signed with the key: sign it";
	case PL_REBUILD_BANNED:
		return "its image is banned in the catalog: a new version replaces it";
	case PL_REBUILD_UNPUBLISHED:
		return "not in the catalog: publish it";
	case PL_REBUILD_UNSUPERSEDED:
		return "older versions of its line are still approved";
	case PL_REBUILD_UNPUSHED:
		return "not pushed to the registry: push it";
	default:
		return "unchanged";
	}
}

static int print_plan_text(const struct pl_rebuild_plan *p)
{
	size_t n = pl_rebuild_count(p), affected = 0;
	for (size_t i = 0; i < n; i++)
		affected += pl_rebuild_item(p, i)->why != PL_REBUILD_UNCHANGED;
	if (!affected)
		return printf("nothing to rebuild: all %zu images are current\n", n) < 0 ? -1 : 0;
	if (printf("%zu of %zu images to rebuild, in this order:\n", affected, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct pl_rebuild_item *it = pl_rebuild_item(p, i);
		char buf[512];
		if (it->why == PL_REBUILD_UNCHANGED)
			continue;
		if (printf("  %s %s: %s", it->name, it->version, why_text(it, buf, sizeof(buf))) <
		    0)
			return -1;
		if (it->is_base && it->why != PL_REBUILD_UNSIGNED &&
		    fputs(it->nsupersedes ? " [base: publish, superseding " : " [base: publish",
			  stdout) == EOF)
			return -1;
		for (size_t k = 0; k < it->nsupersedes; k++)
			if (printf("%s%s", k ? ", " : "", it->supersedes[k]) < 0)
				return -1;
		if (printf("%s\n", it->is_base && it->why != PL_REBUILD_UNSIGNED ? "]" : "") < 0)
			return -1;
	}
	return printf("%zu unchanged\n", n - affected) < 0 ? -1 : 0;
}

static json_t *json_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *item_json(const struct pl_rebuild_plan *p, const struct pl_rebuild_item *it,
			 bool outcome)
{
	json_t *j = json_pack(
	    "{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o}", "name", it->name, "recipe",
	    it->recipe, "version", it->version, "reason", pl_rebuild_why_name(it->why), "base",
	    it->is_base, "current",
	    it->digest ? json_pack("{s:s, s:s}", "tag", it->tag, "digest", it->digest)
		       : json_null(),
	    "old_base",
	    it->old_base_digest ? json_pack("{s:o, s:s}", "name", str_or_null(it->old_base),
					    "digest", it->old_base_digest)
				: json_null(),
	    "new_base",
	    it->new_base ? json_pack("{s:s, s:o}", "name", it->new_base, "digest",
				     str_or_null(it->new_base_digest))
			 : json_null(),
	    "after",
	    it->parent != PL_REBUILD_NONE ? json_string(pl_rebuild_item(p, it->parent)->name)
					  : json_null(),
	    "supersedes", json_strings(it->supersedes, it->nsupersedes));
	if (!j || !outcome)
		return j;
	static const char *const states[] = { "unchanged", "running",           "done",
					      "failed",    "dependency-failed", "not-started" };
	if (json_object_set_new(j, "state", json_string(states[it->state])) < 0 ||
	    json_object_set_new(j, "digest", str_or_null(it->new_digest)) < 0 ||
	    json_object_set_new(j, "built", json_boolean(it->built)) < 0 ||
	    json_object_set_new(j, "layer_reused", json_boolean(it->layer_reused)) < 0 ||
	    json_object_set_new(j, "published", json_boolean(it->published)) < 0 ||
	    json_object_set_new(j, "pushed", json_boolean(it->pushed)) < 0 ||
	    json_object_set_new(j, "uploaded", json_integer((json_int_t)it->uploaded)) < 0 ||
	    json_object_set_new(j, "compressed", json_integer((json_int_t)it->compressed)) < 0 ||
	    json_object_set_new(j, "seconds", json_real(it->seconds)) < 0 ||
	    json_object_set_new(j, "error", str_or_null(it->error)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int print_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	int rc = text && puts(text) >= 0 ? 0 : -1;
	free(text);
	return rc;
}

/* The affected items (with their outcome when `outcome`) and the rest. */
static json_t *items_json(const struct pl_rebuild_plan *p, bool outcome)
{
	json_t *aff = json_array(), *same = json_array();
	for (size_t i = 0; aff && same && i < pl_rebuild_count(p); i++) {
		const struct pl_rebuild_item *it = pl_rebuild_item(p, i);
		int bad = it->why == PL_REBUILD_UNCHANGED
			      ? json_array_append_new(
				    same, json_pack("{s:s, s:s, s:o}", "name", it->name, "version",
						    it->version, "digest", str_or_null(it->digest)))
			      : json_array_append_new(aff, item_json(p, it, outcome));
		if (bad) {
			json_decref(aff);
			aff = NULL;
		}
	}
	json_t *j =
	    aff && same ? json_pack("{s:O, s:O}", "affected", aff, "unchanged", same) : NULL;
	json_decref(aff);
	json_decref(same);
	return j;
}

/* `s` quoted for the shell, then for make: '$' doubled, and in a variable's
 * value (`assignment`) '#' escaped.  A newline cannot be written. */
static int put_quoted(FILE *f, const char *s, bool assignment)
{
	if (strchr(s, '\n') || fputc('\'', f) == EOF)
		return -1;
	for (; *s; s++) {
		int rc = *s == '\''                ? fputs("'\\''", f)
			 : *s == '$'               ? fputs("$$", f)
			 : *s == '#' && assignment ? fputs("\\#", f)
						   : fputc(*s, f);
		if (rc == EOF)
			return -1;
	}
	return fputc('\'', f) == EOF ? -1 : 0;
}

static char *absolute(const char *path)
{
	char *r = realpath(path, NULL);
	if (r || path[0] == '/')
		return r ? r : strdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&r, "%s/%s", cwd, path) < 0)
		return NULL;
	return r;
}

/* What the Makefile's builds pass for the gates, and where they push. */
struct gates {
	const char *policy; /* NULL: none */
	bool skip_tests;
	const char *push; /* HOST/PREFIX, NULL: none */
	const struct cli_registry *reg;
};

static int print_make(const struct pl_rebuild_plan *p, const char *catalog, const char *key,
		      const char *out, const char *compression, const char *epoch,
		      const struct gates *g)
{
	char *cat = absolute(catalog), *k = absolute(key), *o = absolute(out);
	char *pol = g->policy ? absolute(g->policy) : NULL;
	int rc = cat && k && o && (pol || !g->policy) ? 0 : -1;
	size_t n = pl_rebuild_count(p);
	FILE *f = stdout;
	if (rc == 0)
		fputs(
		    "# The rebuild storm that 'plinth rebuild --plan --format make' planned: one\n"
		    "# target per image, after its base.  Run it with make -j N (or any\n"
		    "# make-compatible runner); each image is built, signed and, for a base,\n"
		    "# published and made to supersede the versions it replaces.\n"
		    "PLINTH ?= plinth\n",
		    f);
	if (rc == 0 &&
	    (fputs("CATALOG ?= ", f) == EOF || put_quoted(f, cat, true) < 0 ||
	     fputs("\nKEY ?= ", f) == EOF || put_quoted(f, k, true) < 0 ||
	     fputs("\nOUT ?= ", f) == EOF || put_quoted(f, o, true) < 0 || fputc('\n', f) == EOF))
		rc = -1;
	if (rc == 0 && pol &&
	    (fputs("POLICY ?= ", f) == EOF || put_quoted(f, pol, true) < 0 ||
	     fputc('\n', f) == EOF))
		rc = -1;
	if (rc == 0 && epoch && fprintf(f, "export SOURCE_DATE_EPOCH := %s\n", epoch) < 0)
		rc = -1;
	if (rc == 0 && g->push &&
	    (fputs("PUSH ?= ", f) == EOF || put_quoted(f, g->push, true) < 0 ||
	     fputs("\nPUSH_FLAGS ?=", f) == EOF))
		rc = -1;
	for (size_t i = 0; rc == 0 && g->push && i < g->reg->ninsecure; i++)
		if (fputs(" --insecure ", f) == EOF || put_quoted(f, g->reg->insecure[i], true) < 0)
			rc = -1;
	if (rc == 0 && g->push && g->reg->auth_file &&
	    (fputs(" --auth-file ", f) == EOF || put_quoted(f, g->reg->auth_file, true) < 0))
		rc = -1;
	if (rc == 0 && g->push && g->reg->o.ca_file &&
	    (fputs(" --ca-file ", f) == EOF || put_quoted(f, g->reg->o.ca_file, true) < 0))
		rc = -1;
	if (rc == 0 && g->push && fputc('\n', f) == EOF)
		rc = -1;
	if (rc == 0)
		fputs("\n.PHONY: all", f);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (pl_rebuild_item(p, i)->why != PL_REBUILD_UNCHANGED)
			fprintf(f, " image-%s", pl_rebuild_item(p, i)->name);
	if (rc == 0)
		fputs("\nall:", f);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (pl_rebuild_item(p, i)->why != PL_REBUILD_UNCHANGED)
			fprintf(f, " image-%s", pl_rebuild_item(p, i)->name);
	if (rc == 0)
		fputs("\n", f);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct pl_rebuild_item *it = pl_rebuild_item(p, i);
		if (it->why == PL_REBUILD_UNCHANGED)
			continue;
		const struct pl_rebuild_item *up =
		    it->parent != PL_REBUILD_NONE ? pl_rebuild_item(p, it->parent) : NULL;
		fprintf(f, "\nimage-%s:%s%s\n", it->name,
			up && up->why != PL_REBUILD_UNCHANGED ? " image-" : "",
			up && up->why != PL_REBUILD_UNCHANGED ? up->name : "");
		if (it->why != PL_REBUILD_UNSIGNED && it->why != PL_REBUILD_UNPUBLISHED &&
		    it->why != PL_REBUILD_UNSUPERSEDED && it->why != PL_REBUILD_UNPUSHED) {
			char *r = absolute(it->recipe);
			rc = r ? 0 : -1;
			if (rc == 0 &&
			    (fputs("\t$(PLINTH) build ", f) == EOF || put_quoted(f, r, false) < 0 ||
			     fprintf(
				 f,
				 " -o $(OUT)/%s --image-version %s --compression %s "
				 "--catalog $(CATALOG) --layer-cache $(OUT)/.plinth/layers%s%s\n",
				 it->name, it->version, compression,
				 pol ? " --policy $(POLICY)" : "",
				 g->skip_tests ? " --skip-tests" : "") < 0))
				rc = -1;
			free(r);
		}
		if (rc == 0 && fprintf(f, "\t$(PLINTH) sign --key $(KEY) oci:$(OUT)/%s:%s\n",
				       it->name, it->version) < 0)
			rc = -1;
		if (rc == 0 && it->is_base &&
		    fprintf(f,
			    "\t$(PLINTH) catalog --catalog $(CATALOG) publish --key $(KEY) "
			    "oci:$(OUT)/%s:%s\n",
			    it->name, it->version) < 0)
			rc = -1;
		for (size_t j = 0; rc == 0 && it->is_base && j < it->nsupersedes; j++)
			if (fprintf(
				f,
				"\t$(PLINTH) catalog --catalog $(CATALOG) supersede --key $(KEY) "
				"%s@%s %s@%s\n",
				it->name, it->supersedes[j], it->name, it->version) < 0)
				rc = -1;
		if (rc == 0 && g->push) {
			/* the base's repository: the prefix's, without the host */
			const char *prefix = strchr(g->push, '/') + 1;
			int nb = (int)strcspn(it->base_spec, "@");
			bool mount = strcmp(it->base_spec, "scratch") != 0;
			if (fputs("\t$(PLINTH) push $(PUSH_FLAGS) ", f) == EOF ||
			    (mount && (fputs("--mount-from ", f) == EOF ||
				       fprintf(f, "%s/%.*s ", prefix, nb, it->base_spec) < 0)) ||
			    fprintf(f, "oci:$(OUT)/%s:%s $(PUSH)/%s:%s\n", it->name, it->version,
				    it->name, it->version) < 0)
				rc = -1;
		}
	}
	free(cat);
	free(k);
	free(pol);
	free(o);
	return rc;
}

/* ---- the outcome ------------------------------------------------------- */

static int print_summary(const struct pl_rebuild_summary *s)
{
	if (!s->affected)
		return printf("nothing to rebuild: all %zu images are current\n", s->unchanged) < 0
			   ? -1
			   : 0;
	return printf("rebuild: %zu rebuilt (%zu from cached layers), %zu signed, published "
		      "or pushed only, %zu unchanged, %zu failed, %zu not built for a failed "
		      "base%s; %zu base%s published; %.1f MiB compressed; %zu pushed "
		      "(%.1f MiB uploaded); %.1f s\n",
		      s->rebuilt, s->reused, s->finished, s->unchanged, s->failed, s->dep_failed,
		      s->not_started ? ", some not started" : "", s->published,
		      s->published == 1 ? "" : "s", (double)s->compressed / (1 << 20), s->pushed,
		      (double)s->uploaded / (1 << 20), s->seconds) < 0
		   ? -1
		   : 0;
}

static json_t *summary_json(const struct pl_rebuild_plan *p, const struct pl_rebuild_summary *s)
{
	json_t *j = items_json(p, true);
	json_t *sum = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:f}",
	    "run", (json_int_t)s->run, "affected", (json_int_t)s->affected, "rebuilt",
	    (json_int_t)s->rebuilt, "reused", (json_int_t)s->reused, "finished",
	    (json_int_t)s->finished, "unchanged", (json_int_t)s->unchanged, "failed",
	    (json_int_t)s->failed, "dependency_failed", (json_int_t)s->dep_failed, "not_started",
	    (json_int_t)s->not_started, "published", (json_int_t)s->published, "compressed",
	    (json_int_t)s->compressed, "pushed", (json_int_t)s->pushed, "uploaded",
	    (json_int_t)s->uploaded, "seconds", s->seconds);
	if (!j || !sum || json_object_set_new(j, "summary", sum) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- plinth rebuild ---------------------------------------------------- */

int cmd_rebuild(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "plan", no_argument, NULL, 'P' },
		{ "format", required_argument, NULL, 'f' },
		{ "resume", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'J' },
		{ "compression", required_argument, NULL, 'c' },
		{ "policy", required_argument, NULL, 'p' },
		{ "skip-tests", no_argument, NULL, 'S' },
		{ "push", required_argument, NULL, 'U' },
		CLI_REGISTRY_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *catalog = NULL, *keyfile = NULL, *compression = "zstd", *policy_path = NULL;
	struct pl_rebuild_options o = { 0 };
	struct cli_registry reg = CLI_REGISTRY_INIT;
	bool plan_only = false, resume = false, json = false, format_set = false;
	enum format fmt = FMT_TEXT;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:o:j:c:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			catalog = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'j': {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || n == 0 || n > 1024 || optarg[0] == '-')
				return cli_usage_error(
				    "rebuild",
				    "-j wants a number of builds from 1 to 1024, "
				    "not '%s'",
				    optarg);
			o.jobs = (unsigned)n;
			break;
		}
		case 'P':
			plan_only = true;
			break;
		case 'f':
			format_set = true;
			if (!strcmp(optarg, "text"))
				fmt = FMT_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = FMT_JSON;
			else if (!strcmp(optarg, "make"))
				fmt = FMT_MAKE;
			else
				return cli_usage_error("rebuild",
						       "unknown plan format '%s' (use text, json "
						       "or make)",
						       optarg);
			break;
		case 'R':
			resume = true;
			break;
		case 'J':
			json = true;
			break;
		case 'c':
			if (!strcmp(optarg, "zstd"))
				o.compression = PL_COMPRESSION_ZSTD;
			else if (!strcmp(optarg, "gzip"))
				o.compression = PL_COMPRESSION_GZIP;
			else
				return cli_usage_error(
				    "rebuild", "unknown compression '%s' (use zstd or gzip)",
				    optarg);
			compression = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'U':
			o.push = optarg;
			break;
		case CLI_OPT_INSECURE:
		case CLI_OPT_AUTH_FILE:
		case CLI_OPT_CA_FILE:
		case CLI_OPT_RETRIES: {
			int rc = cli_registry_opt(&reg, "rebuild", c, optarg);
			if (rc)
				return rc;
			break;
		}
		case 'S':
			o.skip_tests = true;
			break;
		case 'h':
			printf(usage_text, cli_registry_help);
			fputs(cli_apt_env_help, stdout);
			fputs(cli_catalog_env_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option("rebuild", argv, true);
		default:
			return cli_bad_option("rebuild", argv, false);
		}
	}
	if (optind == argc)
		return cli_usage_error("rebuild", "at least one RECIPE_DIR is required");
	if (!o.out)
		return cli_usage_error("rebuild", "an output directory is required (--out D)");
	if (!keyfile)
		return cli_usage_error("rebuild", "a signing key is required (--key K)");
	if (format_set && !plan_only)
		return cli_usage_error("rebuild", "--format goes with --plan");
	if (json && format_set && fmt != FMT_JSON)
		return cli_usage_error("rebuild", "--json and --format %s do not go together",
				       fmt == FMT_MAKE ? "make" : "text");
	if (json)
		fmt = FMT_JSON;
	if (plan_only && resume)
		return cli_usage_error("rebuild", "--plan and --resume do not go together");
	if (cli_source_date_epoch("rebuild", &o.has_clock, &o.clock))
		return EXIT_USAGE;
	const char *epoch = o.has_clock ? getenv("SOURCE_DATE_EPOCH") : NULL;
	o.dirs = (const char *const *)argv + optind;
	o.ndirs = (size_t)(argc - optind);

	struct pl_catalog_options co;
	char state[4096], cache[4096];
	if (cli_catalog_options(&co, catalog, state, sizeof(state)) != 0)
		return EXIT_FAIL;
	if (!co.dir)
		return cli_usage_error("rebuild", "a catalog is required (--catalog C or "
						  "PLINTH_CATALOG)");
	o.catalog = &co;
	if (cli_apt_options(&o.apt, cache, sizeof(cache)) != 0)
		return EXIT_FAIL;
	struct ui ui = { .tty = isatty(STDERR_FILENO) && !plan_only, .lines = !json && !plan_only };
	if (!ui.tty)
		o.apt.note = NULL;
	o.warn = warn;
	o.warn_ctx = &ui;
	o.progress = progress;
	o.progress_ctx = &ui;
	o.cancel = &cli_cancel;
	o.tmpdir = getenv("TMPDIR");
	o.path = getenv("PATH");
	if (o.push) {
		cli_registry_ready(&reg, "push", true);
		o.registry = &reg.o;
	}

	struct pl_error *err = NULL;
	struct pl_key *key = NULL;
	struct pl_policy *policy = NULL;
	if (policy_path && pl_policy_load(policy_path, &policy, &err) < 0)
		return cli_fail(err);
	o.policy = policy;
	if (pl_key_load(keyfile, &key, &err) < 0) {
		pl_policy_free(policy);
		return cli_fail(err);
	}
	o.key = key;
	struct pl_rebuild_plan *p = NULL;
	if (pl_rebuild_plan(&o, &p, &err) < 0) {
		pl_key_free(key);
		pl_policy_free(policy);
		return cli_fail(err);
	}
	int status = EXIT_OK;
	if (plan_only) {
		struct gates g = { policy_path, o.skip_tests, o.push, &reg };
		int rc = fmt == FMT_MAKE
			     ? print_make(p, co.dir, keyfile, o.out, compression, epoch, &g)
			 : fmt == FMT_JSON ? print_json(items_json(p, false))
					   : print_plan_text(p);
		status = rc < 0 ? cli_stdout_failed() : cli_flush_stdout();
		pl_rebuild_plan_free(p);
		pl_key_free(key);
		pl_policy_free(policy);
		return status;
	}
	bool finished;
	unsigned last = pl_rebuild_last_run(p, &finished);
	if (resume && !json)
		fprintf(stderr,
			last && !finished ? "plinth: resuming run %u, which did not finish\n"
			: last ? "plinth: run %u finished; nothing to resume, checking what is "
				 "current\n"
			       : "plinth: no earlier run (%u) to resume\n",
			last);
	cli_catch_signals();
	struct pl_rebuild_summary s;
	int rc = pl_rebuild_run(p, &o, &s, &err);
	clear_line(&ui);
	if (json ? print_json(summary_json(p, &s)) < 0 : print_summary(&s) < 0)
		status = cli_stdout_failed();
	if (rc < 0)
		status = cli_fail(err);
	pl_rebuild_plan_free(p);
	pl_key_free(key);
	pl_policy_free(policy);
	return status == EXIT_OK ? cli_flush_stdout() : status;
}
