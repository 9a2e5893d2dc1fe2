/* cmd_catalog.c - plinth catalog and plinth admit. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

const char cli_catalog_env_help[] =
    "  PLINTH_CATALOG          the catalog when --catalog is not given\n"
    "  PLINTH_STATE            where the newest catalog version seen is remembered,\n"
    "                          to refuse rollbacks (default: $XDG_STATE_HOME/plinth,\n"
    "                          else ~/.local/state/plinth)\n"
    "  PLINTH_CATALOG_ID       the catalog's id (64 hex digits, .signed.id in its\n"
    "                          catalog.json): any other catalog is refused, even on\n"
    "                          a machine that never read it before\n";

int cli_catalog_options(struct pl_catalog_options *o, const char *arg, char *buf, size_t size)
{
	const char *env = getenv("PLINTH_CATALOG"), *state = getenv("PLINTH_STATE");
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	const char *id = getenv("PLINTH_CATALOG_ID");
	o->dir = arg ? arg : env && *env ? env : NULL;
	o->id = NULL;
	if (id && *id) {
		if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64) {
			fprintf(stderr,
				"plinth: PLINTH_CATALOG_ID '%s' is not a catalog id (64 lowercase "
				"hex digits: .signed.id in catalog.json)\n",
				id);
			return EXIT_FAIL;
		}
		o->id = id;
	}
	int n;
	if (state && *state)
		n = snprintf(buf, size, "%s", state);
	else if (xdg && *xdg == '/')
		n = snprintf(buf, size, "%s/plinth", xdg);
	else if (home && *home == '/')
		n = snprintf(buf, size, "%s/.local/state/plinth", home);
	else
		n = -1;
	if (n >= 0 && (size_t)n >= size) {
		fputs("plinth: the state directory's name is too long\n", stderr);
		return EXIT_FAIL;
	}
	/* without a memory a rollback goes unnoticed: refuse to go on */
	if (n < 0) {
		fputs("plinth: no directory to remember catalog versions in, to refuse "
		      "rollbacks: set PLINTH_STATE (or HOME)\n",
		      stderr);
		return EXIT_FAIL;
	}
	o->state_dir = buf;
	o->now = (uint64_t)time(NULL);
	return 0;
}

static const char catalog_usage[] =
    "usage: plinth catalog [--catalog C] COMMAND [ARGS...]\n"
    "\n"
    "The signed, versioned catalog of approved bases.  Every change is signed by\n"
    "an ops key of the catalog's trust root, raises the catalog's version by one\n"
    "and is recorded in its append-only history.\n"
    "\n"
    "Commands:\n"
    "  init --key K [--from EXPORT]        make a catalog trusting K's public key\n"
    "                                      (or restore an export made by 'export')\n"
    "  publish --key K oci:DIR:TAG...      publish signed images (name and version\n"
    "                                      from their annotations)\n"
    "  list [NAME] [--json]                every version, or NAME's\n"
    "  show NAME[@VERSION] [--json]        everything recorded about them\n"
    "  resolve NAME@RANGE [--json]         the newest approved version in range\n"
    "                                      (base@1, base@1.4, base@1.4.2)\n"
    "  history [--json]                    every change, after replaying them all\n"
    "  verify                              replay the history against the state\n"
    "  deprecate --key K NAME@VERSION [--reason TEXT]\n"
    "  ban --key K NAME@VERSION --reason TEXT\n"
    "  supersede --key K NAME@OLD NAME@NEW\n"
    "  locate --key K NAME@VERSION HOST/REPO  record the registry repository that\n"
    "                                      holds it: builds on it pull it from\n"
    "                                      there (by digest) when its layout is\n"
    "                                      not on their machine\n"
    "  trust --key K add|remove PUBKEY     change the trust root\n"
    "  export FILE                         a self-contained backup for 'init --from'\n"
    "\n"
    "Options (before or after COMMAND):\n"
    "  -C, --catalog C         the catalog directory\n"
    "  -k, --key K             the ops key (private) for changes\n"
    "      --json              print JSON\n"
    "  -h, --help              show this help\n"
    "\n"
    "Environment:\n";

struct args {
	const char *catalog, *key, *from, *reason;
	bool json, allow_superseded;
	char **pos; /* positional arguments */
	int npos;
};

/* Parse options for `cmd` (their set is the same for every subcommand;
 * each checks what it needs).  Returns -1 to go on, or an exit code. */
static int parse(const char *cmd, const char *usage, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "allow-superseded", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":C:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			a->catalog = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'f':
			a->from = optarg;
			break;
		case 'r':
			a->reason = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'S':
			a->allow_superseded = true;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(cli_catalog_env_help, stdout);
			return cli_flush_stdout();
		case ':':
			return cli_bad_option(cmd, argv, true);
		default:
			return cli_bad_option(cmd, argv, false);
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return -1;
}

static void rfc3339(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *entry_json(const struct pl_catalog_entry *e)
{
	char st[32], pub[32];
	rfc3339(e->status_time, st);
	rfc3339(e->published, pub);
	json_t *base = e->base_name
			   ? json_pack("{s:s, s:s}", "name", e->base_name, "digest", e->base_digest)
			   : json_null();
	return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s, s:s, s:s*, s:s*, s:s*, s:o, s:s, "
			 "s:s, s:s, s:s, s:s*}",
			 "name", e->name, "version", e->version, "digest", e->digest, "status",
			 pl_status_name(e->status), "reason", e->reason, "statusTime", st,
			 "published", pub, "supersededBy", e->superseded_by, "recipeDigest",
			 e->recipe_digest, "lockDigest", e->lock_digest, "base", base, "signer",
			 e->signer, "publisher", e->publisher, "layout", e->layout, "tag", e->tag,
			 "registry", e->registry);
}

/* NAME@VERSION into name and version (an exact version). */
static int split_exact(const char *cmd, const char *spec, char *name, size_t nsize,
		       const char **version)
{
	const char *at = strchr(spec, '@');
	if (!at || at == spec || (size_t)(at - spec) >= nsize || !at[1])
		return cli_usage_error(cmd, "'%s' is not NAME@VERSION", spec);
	snprintf(name, nsize, "%.*s", (int)(at - spec), spec);
	*version = at + 1;
	return -1;
}

static int load_key(const char *cmd, const char *path, struct pl_key **k)
{
	struct pl_error *err = NULL;
	if (!path)
		return cli_usage_error(cmd, "--key K (an ops private key) is required");
	if (pl_key_load(path, k, &err) < 0)
		return cli_fail(err);
	return -1;
}

static int open_catalog(struct args *a, char *buf, size_t size, struct pl_catalog_options *o,
			struct pl_catalog **c)
{
	if (cli_catalog_options(o, a->catalog, buf, size))
		return EXIT_FAIL;
	struct pl_error *err = NULL;
	if (pl_catalog_open(o, c, &err) < 0)
		return cli_fail(err);
	return -1;
}

#define STATE_BUF 4096

static int cat_init(struct args *a)
{
	if (a->npos)
		return cli_usage_error("catalog init", "unexpected argument '%s'", a->pos[0]);
	struct pl_catalog_options o;
	char buf[STATE_BUF];
	struct pl_key *k = NULL;
	int rc;
	if (cli_catalog_options(&o, a->catalog, buf, sizeof(buf)))
		return EXIT_FAIL;
	if (!o.dir)
		return cli_usage_error("catalog init",
				       "--catalog C (or PLINTH_CATALOG) is required");
	if ((rc = load_key("catalog init", a->key, &k)) >= 0)
		return rc;
	struct pl_error *err = NULL;
	rc = a->from ? pl_catalog_restore(&o, a->from, k, &err) : pl_catalog_init(&o, k, &err);
	if (rc < 0) {
		pl_key_free(k);
		return cli_fail(err);
	}
	struct pl_catalog *c = NULL;
	if (pl_catalog_open(&o, &c, &err) < 0) {
		pl_key_free(k);
		return cli_fail(err);
	}
	int out = printf("%s catalog '%s' at version %llu (id %.12s), trusting %s\n",
			 a->from ? "restored" : "initialised", o.dir,
			 (unsigned long long)pl_catalog_version(c), pl_catalog_id(c),
			 pl_key_fingerprint(k));
	pl_catalog_free(c);
	pl_key_free(k);
	return out < 0 ? cli_stdout_failed() : cli_flush_stdout();
}

static int cat_publish(struct args *a)
{
	if (!a->npos)
		return cli_usage_error("catalog publish", "an image (oci:DIR:TAG) is required");
	struct pl_catalog_options o;
	char buf[STATE_BUF];
	struct pl_key *k = NULL;
	int rc;
	if (cli_catalog_options(&o, a->catalog, buf, sizeof(buf)))
		return EXIT_FAIL;
	if ((rc = load_key("catalog publish", a->key, &k)) >= 0)
		return rc;
	size_t n = (size_t)a->npos;
	char **dirs = calloc(n, sizeof(*dirs)), **tags = calloc(n, sizeof(*tags));
	struct pl_publish_result *res = calloc(n, sizeof(*res));
	struct pl_error *err = NULL;
	int status = EXIT_OK;
	if (!dirs || !tags || !res) {
		fprintf(stderr, "plinth: out of memory\n");
		status = EXIT_FAIL;
	}
	for (size_t i = 0; status == EXIT_OK && i < n; i++)
		if (pl_oci_ref_parse(a->pos[i], &dirs[i], &tags[i], &err) < 0) {
			status = cli_usage_error("catalog publish", "%s", pl_error_message(err));
			pl_error_free(err);
		}
	/* all the images in one change: a bad one leaves the catalog as it was */
	if (status == EXIT_OK && pl_catalog_publish(&o, k, (const char *const *)dirs,
						    (const char *const *)tags, n, res, &err) < 0)
		status = cli_fail(err);
	json_t *all = status == EXIT_OK && a->json ? json_array() : NULL;
	for (size_t i = 0; status == EXIT_OK && i < n; i++) {
		if (all)
			json_array_append_new(
			    all, json_pack("{s:s, s:s, s:s, s:I, s:b}", "name", res[i].name,
					   "version", res[i].version, "digest", res[i].digest,
					   "catalogVersion", (json_int_t)res[i].catalog_version,
					   "changed", !res[i].existed));
		else if (res[i].existed)
			printf("%s@%s is already published as %s (nothing changed)\n", res[i].name,
			       res[i].version, res[i].digest);
		else
			printf("published %s@%s %s (catalog version %llu)\n", res[i].name,
			       res[i].version, res[i].digest,
			       (unsigned long long)res[i].catalog_version);
	}
	for (size_t i = 0; i < n && dirs && tags; i++) {
		free(dirs[i]);
		free(tags[i]);
	}
	free(dirs);
	free(tags);
	free(res);
	pl_key_free(k);
	if (status != EXIT_OK)
		return status;
	return all ? cli_print_json(all) : cli_flush_stdout();
}

static int cat_list(struct args *a, bool show)
{
	const char *cmd = show ? "catalog show" : "catalog list";
	if (a->npos > 1 || (show && a->npos != 1))
		return cli_usage_error(cmd, show ? "one NAME or NAME@VERSION is expected"
						 : "at most one NAME is expected");
	struct pl_catalog_options o;
	struct pl_catalog *c = NULL;
	char buf[STATE_BUF], name[256];
	int rc;
	if ((rc = open_catalog(a, buf, sizeof(buf), &o, &c)) >= 0)
		return rc;
	const char *version = NULL, *want = a->npos ? a->pos[0] : NULL;
	if (want && strchr(want, '@')) {
		if ((rc = split_exact(cmd, want, name, sizeof(name), &version)) >= 0) {
			pl_catalog_free(c);
			return rc;
		}
		want = name;
	}
	struct pl_error *err = NULL;
	const struct pl_catalog_entry *const *v = NULL, *one = NULL;
	size_t n = 0;
	if (version)
		rc = pl_catalog_get(c, want, version, &one, &err), v = &one, n = 1;
	else
		rc = pl_catalog_entries(c, want, &v, &n, &err);
	if (rc == 0 && want && n == 0)
		rc = pl_catalog_get(c, want, "0.0.0", &one, &err); /* names the problem */
	if (rc < 0) {
		pl_catalog_free(c);
		return cli_fail(err);
	}
	int out = 0;
	if (a->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, entry_json(v[i]));
		out = cli_print_json(json_pack("{s:I, s:o}", "catalogVersion",
					       (json_int_t)pl_catalog_version(c), "entries", arr));
	} else if (show) {
		for (size_t i = 0; i < n && out >= 0; i++) {
			const struct pl_catalog_entry *e = v[i];
			char st[32], pub[32];
			rfc3339(e->status_time, st);
			rfc3339(e->published, pub);
			out = printf(
			    "%s%s@%s\n  digest:        %s\n  status:        %s since %s%s%s\n",
			    i ? "\n" : "", e->name, e->version, e->digest,
			    pl_status_name(e->status), st, e->reason ? ": " : "",
			    e->reason ? e->reason : "");
			if (e->superseded_by)
				printf("  superseded by: %s@%s\n", e->name, e->superseded_by);
			printf("  published:     %s by %s\n  signed by:     %s\n", pub,
			       e->publisher, e->signer);
			printf("  image:         oci:%s:%s\n", e->layout, e->tag);
			if (e->registry)
				printf("  registry:      %s@%s\n", e->registry, e->digest);
			printf("  base:          %s%s%s%s\n",
			       e->base_name ? e->base_name : "scratch", e->base_digest ? " (" : "",
			       e->base_digest ? e->base_digest : "", e->base_digest ? ")" : "");
			if (e->recipe_digest)
				printf("  recipe:        %s\n", e->recipe_digest);
			if (e->lock_digest)
				printf("  lock:          %s\n", e->lock_digest);
		}
		out = out < 0 ? cli_stdout_failed() : cli_flush_stdout();
	} else {
		int wn = 4, wv = 7;
		for (size_t i = 0; i < n; i++) {
			if ((int)strlen(v[i]->name) > wn)
				wn = (int)strlen(v[i]->name);
			if ((int)strlen(v[i]->version) > wv)
				wv = (int)strlen(v[i]->version);
		}
		printf("%-*s  %-*s  %-10s  %-20s  %s\n", wn, "NAME", wv, "VERSION", "STATUS",
		       "SINCE", "DIGEST");
		for (size_t i = 0; i < n; i++) {
			char st[32];
			rfc3339(v[i]->status_time, st);
			printf("%-*s  %-*s  %-10s  %-20s  %.19s\n", wn, v[i]->name, wv,
			       v[i]->version, pl_status_name(v[i]->status), st, v[i]->digest);
		}
		out = cli_flush_stdout();
	}
	pl_catalog_free(c);
	return out;
}

static int cat_resolve(struct args *a)
{
	if (a->npos != 1)
		return cli_usage_error("catalog resolve", "one NAME@RANGE is expected");
	struct pl_catalog_options o;
	struct pl_catalog *c = NULL;
	char buf[STATE_BUF];
	int rc;
	if ((rc = open_catalog(a, buf, sizeof(buf), &o, &c)) >= 0)
		return rc;
	struct pl_error *err = NULL;
	const struct pl_catalog_entry *e = NULL;
	char *warning = NULL;
	if (pl_catalog_resolve(c, a->pos[0], &e, &warning, &err) < 0) {
		pl_catalog_free(c);
		return cli_fail(err);
	}
	if (warning)
		fprintf(stderr, "plinth: warning: %s\n", warning);
	int out;
	if (a->json)
		out = cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*}", "name",
					       e->name, "version", e->version, "digest", e->digest,
					       "layout", e->layout, "tag", e->tag, "status",
					       pl_status_name(e->status), "warning", warning));
	else
		out = printf("%s@%s %s\n", e->name, e->version, e->digest) < 0 ? cli_stdout_failed()
									       : cli_flush_stdout();
	free(warning);
	pl_catalog_free(c);
	return out;
}

struct history_ctx {
	json_t *arr;
	int failed;
};

static int print_change(void *ctx, const struct pl_catalog_change *ch)
{
	struct history_ctx *h = ctx;
	if (h->arr) {
		json_t *rec = json_loads(ch->record, 0, NULL);
		return rec && json_array_append_new(h->arr, rec) == 0 ? 0 : (h->failed = 1);
	}
	char t[32], subject[512];
	rfc3339(ch->time, t);
	if (!strcmp(ch->op, "supersede"))
		snprintf(subject, sizeof(subject), "%s@%s -> %s@%s", ch->name, ch->version,
			 ch->name, ch->to);
	else if (ch->name)
		snprintf(subject, sizeof(subject), "%s@%s%s%s%s%s", ch->name, ch->version,
			 ch->digest ? " " : "", ch->digest ? ch->digest : "",
			 ch->reason ? ": " : "", ch->reason ? ch->reason : "");
	else
		snprintf(subject, sizeof(subject), "%s", ch->digest ? ch->digest : "");
	if (printf("%6llu  %s  %-10s %s  (key %.19s)\n", (unsigned long long)ch->seq, t, ch->op,
		   subject, ch->key) < 0)
		return h->failed = 1;
	return 0;
}

static int cat_history(struct args *a, bool quiet)
{
	const char *cmd = quiet ? "catalog verify" : "catalog history";
	if (a->npos)
		return cli_usage_error(cmd, "unexpected argument '%s'", a->pos[0]);
	struct pl_catalog_options o;
	struct pl_catalog *c = NULL;
	char buf[STATE_BUF];
	int rc;
	if ((rc = open_catalog(a, buf, sizeof(buf), &o, &c)) >= 0)
		return rc;
	struct history_ctx h = { a->json && !quiet ? json_array() : NULL, 0 };
	struct pl_error *err = NULL;
	rc = pl_catalog_verify(c, quiet ? NULL : print_change, &h, &err);
	if (rc < 0) {
		pl_catalog_free(c);
		json_decref(h.arr);
		return cli_fail(err);
	}
	int out;
	if (h.failed)
		out = cli_stdout_failed();
	else if (h.arr)
		out = cli_print_json(json_pack("{s:I, s:s, s:o}", "catalogVersion",
					       (json_int_t)pl_catalog_version(c), "id",
					       pl_catalog_id(c), "changes", h.arr));
	else if (quiet)
		out = printf("catalog '%s' is consistent at version %llu (id %.12s)\n", o.dir,
			     (unsigned long long)pl_catalog_version(c), pl_catalog_id(c)) < 0
			  ? cli_stdout_failed()
			  : cli_flush_stdout();
	else
		out = cli_flush_stdout();
	pl_catalog_free(c);
	return out;
}

/* deprecate, ban, supersede, trust, locate */
static int cat_change(const char *what, struct args *a)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "catalog %s", what);
	bool supersede = !strcmp(what, "supersede"), trust = !strcmp(what, "trust");
	bool locate = !strcmp(what, "locate");
	int want = supersede || trust || locate ? 2 : 1;
	if (a->npos != want)
		return cli_usage_error(cmd, supersede ? "NAME@OLD and NAME@NEW are expected"
					    : trust   ? "add|remove and a public key file are "
							"expected"
					    : locate  ? "NAME@VERSION and HOST/REPO are expected"
						      : "one NAME@VERSION is expected");
	if (!strcmp(what, "ban") && (!a->reason || !*a->reason))
		return cli_usage_error(cmd, "a ban needs --reason TEXT");
	char name[256], name2[256];
	const char *version = NULL, *version2 = NULL;
	int rc;
	if (!trust && (rc = split_exact(cmd, a->pos[0], name, sizeof(name), &version)) >= 0)
		return rc;
	if (supersede && (rc = split_exact(cmd, a->pos[1], name2, sizeof(name2), &version2)) >= 0)
		return rc;
	if (supersede && strcmp(name, name2))
		return cli_usage_error(cmd, "'%s' and '%s' are not versions of one base", a->pos[0],
				       a->pos[1]);
	if (trust && strcmp(a->pos[0], "add") && strcmp(a->pos[0], "remove"))
		return cli_usage_error(cmd, "'%s' is neither 'add' nor 'remove'", a->pos[0]);
	struct pl_catalog_options o;
	char buf[STATE_BUF];
	struct pl_key *k = NULL, *pub = NULL;
	if (cli_catalog_options(&o, a->catalog, buf, sizeof(buf)))
		return EXIT_FAIL;
	if ((rc = load_key(cmd, a->key, &k)) >= 0)
		return rc;
	struct pl_error *err = NULL;
	bool changed = false;
	if (trust) {
		rc = pl_key_load(a->pos[1], &pub, &err);
		if (rc == 0)
			rc = pl_catalog_trust_change(&o, k, pub, !strcmp(a->pos[0], "add"),
						     &changed, &err);
	} else if (supersede) {
		rc = pl_catalog_supersede(&o, k, name, version, version2, &changed, &err);
	} else if (locate) {
		rc = pl_catalog_locate(&o, k, name, version, a->pos[1], &changed, &err);
	} else {
		rc = pl_catalog_set_status(&o, k, name, version,
					   !strcmp(what, "ban") ? PL_STATUS_BANNED
								: PL_STATUS_DEPRECATED,
					   a->reason, &changed, &err);
	}
	pl_key_free(k);
	if (rc < 0) {
		pl_key_free(pub);
		return cli_fail(err);
	}
	int out;
	if (trust)
		out = printf("%s %s %s the trust root%s\n",
			     !strcmp(a->pos[0], "add") ? "added" : "removed",
			     pl_key_fingerprint(pub), !strcmp(a->pos[0], "add") ? "to" : "from",
			     changed ? "" : " (nothing changed)");
	else if (supersede)
		out = printf("%s@%s is superseded by %s@%s%s\n", name, version, name, version2,
			     changed ? "" : " (nothing changed)");
	else if (locate)
		out = printf("%s@%s is in %s%s\n", name, version, a->pos[1],
			     changed ? "" : " (nothing changed)");
	else
		out = printf("%s@%s is %s%s\n", name, version,
			     !strcmp(what, "ban") ? "banned" : "deprecated",
			     changed ? "" : " (nothing changed)");
	pl_key_free(pub);
	return out < 0 ? cli_stdout_failed() : cli_flush_stdout();
}

static int cat_export(struct args *a)
{
	if (a->npos != 1)
		return cli_usage_error("catalog export", "one FILE is expected");
	struct pl_catalog_options o;
	struct pl_catalog *c = NULL;
	char buf[STATE_BUF];
	int rc;
	if ((rc = open_catalog(a, buf, sizeof(buf), &o, &c)) >= 0)
		return rc;
	struct pl_error *err = NULL;
	rc = pl_catalog_export(c, a->pos[0], &err);
	uint64_t v = pl_catalog_version(c);
	pl_catalog_free(c);
	if (rc < 0)
		return cli_fail(err);
	return printf("exported catalog '%s' at version %llu to %s\n", o.dir, (unsigned long long)v,
		      a->pos[0]) < 0
		   ? cli_stdout_failed()
		   : cli_flush_stdout();
}

int cmd_catalog(int argc, char **argv)
{
	struct args a = { 0 };
	/* options before the command (--catalog C); stop at the first word */
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(catalog_usage, stdout);
			fputs(cli_catalog_env_help, stdout);
			return cli_flush_stdout();
		}
		if ((!strcmp(argv[i], "--catalog") || !strcmp(argv[i], "-C")) && i + 1 < argc)
			a.catalog = argv[++i];
		else if (!strncmp(argv[i], "--catalog=", 10))
			a.catalog = argv[i] + 10;
		else
			return cli_usage_error("catalog", "'%s' goes after the command", argv[i]);
	}
	if (i == argc)
		return cli_usage_error("catalog", "a command is required");
	const char *what = argv[i];
	char cmd[64], usage[256];
	snprintf(cmd, sizeof(cmd), "catalog %s", what);
	snprintf(usage, sizeof(usage),
		 "usage: plinth catalog %s ... (see 'plinth catalog --help')\n\n", what);
	static const char *const known[] = { "init",    "publish", "list",      "show", "resolve",
					     "history", "verify",  "deprecate", "ban",  "supersede",
					     "trust",   "export",  "locate",    NULL };
	bool ok = false;
	for (const char *const *k = known; *k; k++)
		ok |= !strcmp(*k, what);
	if (!ok)
		return cli_usage_error("catalog", "unknown command '%s'", what);
	int rc = parse(cmd, catalog_usage, argc - i, argv + i, &a);
	if (rc >= 0)
		return rc;
	(void)usage;
	if (!strcmp(what, "init"))
		return cat_init(&a);
	if (!strcmp(what, "publish"))
		return cat_publish(&a);
	if (!strcmp(what, "list") || !strcmp(what, "show"))
		return cat_list(&a, !strcmp(what, "show"));
	if (!strcmp(what, "resolve"))
		return cat_resolve(&a);
	if (!strcmp(what, "history") || !strcmp(what, "verify"))
		return cat_history(&a, !strcmp(what, "verify"));
	if (!strcmp(what, "export"))
		return cat_export(&a);
	return cat_change(what, &a);
}

static const char admit_usage[] =
    "usage: plinth admit [--catalog C] [--allow-superseded] [--json] oci:DIR:TAG\n"
    "\n"
    "May this image run?  Exit 0 when it is signed by a key of the catalog's\n"
    "trust root and every base in its chain (org.opencontainers.image.base.*,\n"
    "then each base's own) is in the catalog, approved or deprecated; exit 1\n"
    "with the reason otherwise (unsigned, bad signature, base banned,\n"
    "superseded or unknown).  Wrap a container start with it:\n"
    "  plinth admit oci:DIR:TAG && runc run ...\n"
    "\n"
    "Options:\n"
    "  -C, --catalog C         the catalog directory\n"
    "      --allow-superseded  admit images on superseded (not banned) bases\n"
    "      --json              print the decision as JSON (on stdout, either way)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Environment:\n";

int cmd_admit(int argc, char **argv)
{
	struct args a = { 0 };
	int rc = parse("admit", admit_usage, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.npos != 1)
		return cli_usage_error("admit", "one image (oci:DIR:TAG) is expected");
	if (a.key || a.from || a.reason)
		return cli_usage_error("admit", "admit takes no --key, --from or --reason");
	struct pl_error *err = NULL;
	char *dir = NULL, *tag = NULL;
	if (pl_oci_ref_parse(a.pos[0], &dir, &tag, &err) < 0) {
		rc = cli_usage_error("admit", "%s", pl_error_message(err));
		pl_error_free(err);
		return rc;
	}
	struct pl_catalog_options o;
	struct pl_catalog *c = NULL;
	char buf[STATE_BUF];
	if (cli_catalog_options(&o, a.catalog, buf, sizeof(buf))) {
		free(dir);
		free(tag);
		return EXIT_FAIL;
	}
	/* a catalog that cannot be trusted admits nothing: that is the answer,
	 * with its reason, like any other refusal */
	struct pl_admit_result res;
	rc = pl_catalog_open(&o, &c, &err);
	if (rc == 0)
		rc = pl_admit(c, dir, tag, a.allow_superseded, &res, &err);
	free(dir);
	free(tag);
	pl_catalog_free(c);
	if (a.json) {
		int out = cli_print_json(json_pack(
		    "{s:s, s:b, s:s*, s:s*, s:I, s:s*}", "image", a.pos[0], "admitted", rc == 0,
		    "digest", rc == 0 ? res.digest : NULL, "signer", rc == 0 ? res.signer : NULL,
		    "bases", (json_int_t)(rc == 0 ? res.chain : 0), "reason",
		    rc < 0 ? pl_error_message(err) : NULL));
		if (rc < 0) {
			pl_error_free(err);
			return EXIT_FAIL;
		}
		return out;
	}
	if (rc < 0) {
		fprintf(stderr, "plinth: not admitted: %s: %s\n", a.pos[0], pl_error_message(err));
		pl_error_free(err);
		return EXIT_FAIL;
	}
	return printf("admitted %s (%s): signed by %s, %zu base%s approved\n", a.pos[0], res.digest,
		      res.signer, res.chain, res.chain == 1 ? "" : "s") < 0
		   ? cli_stdout_failed()
		   : cli_flush_stdout();
}
