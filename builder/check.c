/*
 * check.c - the rule table, policies, findings, and recipe lint (see
 * plinth/check.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check-impl.h"
#include "packages.h"
#include "plinth/catalog.h"
#include "secrets.h"
#include "ytree.h"

/* ---- rules ------------------------------------------------------------- */

static const struct pl_rule rules[] = {
	{ "L001", "base-unresolved", "error", "the base does not resolve in the catalog" },
	{ "L002", "base-not-allowed", "error", "the base is not one the policy allows" },
	{ "L003", "runs-as-root", "error", "the image runs as root" },
	{ "L004", "shell", "warning", "a shell among the packages or files" },
	{ "L005", "package-manager", "warning", "a package manager among the packages" },
	{ "L006", "sshd", "error", "an ssh server among the packages" },
	{ "L007", "file-unpinned", "warning", "a copied file without a sha256 pin" },
	{ "L008", "setuid", "error", "a setuid or setgid mode" },
	{ "L009", "repo-without-keyring", "error",
	  "a repository trusted through the host's keyrings instead of its own" },
	{ "L010", "secret-in-config", "error", "a secret-looking value in env or labels" },
	{ "L011", "world-writable-dir", "error",
	  "a world-writable directory without the sticky bit" },
	{ "L012", "world-writable-file", "error", "a world-writable file" },
	{ "S001", "setuid", "high", "a setuid or setgid file" },
	{ "S002", "world-writable-dir", "medium",
	  "a world-writable directory without the sticky bit" },
	{ "S003", "world-writable-file", "medium", "a world-writable file" },
	{ "S004", "private-key", "critical", "a PEM private key" },
	{ "S005", "ssh-key", "critical", "an ssh host or user private key" },
	{ "S006", "token", "critical", "an AWS, GitHub, GitLab or Slack credential" },
	{ "S007", "secret-file", "high", "a .env or credentials file" },
	{ "S008", "password-in-config", "high", "a password in a configuration file" },
	{ "S009", "shell", "low", "a shell" },
	{ "S010", "package-manager", "low", "a package manager" },
	{ "S011", "duplicate-uid", "medium", "accounts sharing a uid" },
	{ "S012", "empty-password", "high", "an account without a password" },
	{ "S013", "unowned-file", "info", "a file no package owns" },
	{ "S014", "unread-link", "high",
	  "a hard link whose content was not read: its target is replaced or hidden above it" },
	{ "S100", "vulnerability", "unknown", "a known vulnerability of an installed package" },
};

const struct pl_rule *pl_rules(size_t *n)
{
	*n = sizeof(rules) / sizeof(rules[0]);
	return rules;
}

const struct pl_rule *pl__rule(const char *id)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(rules[i].id, id))
			return &rules[i];
	return NULL;
}

int pl_severity_rank(const char *s)
{
	static const struct {
		const char *word;
		int rank;
	} ranks[] = { { "info", 0 },    { "low", 1 },  { "warning", 2 }, { "medium", 2 },
		      { "unknown", 2 }, { "high", 3 }, { "error", 3 },   { "critical", 4 } };
	for (size_t i = 0; s && i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (!strcmp(ranks[i].word, s))
			return ranks[i].rank;
	return -1;
}

/* Whether rule `r` may be given severity `s`: lint's words for lint rules,
 * scan's for scan rules. */
static bool severity_fits(const struct pl_rule *r, const char *s)
{
	static const char *const lint[] = { "error", "warning", "info", NULL };
	static const char *const scan[] = { "critical", "high", "medium", "low", "info", NULL };
	for (const char *const *w = r->id[0] == 'L' ? lint : scan; *w; w++)
		if (!strcmp(*w, s))
			return true;
	return false;
}

/* ---- policies ---------------------------------------------------------- */

struct policy_severity {
	char *rule, *severity;
};

struct policy_ignore {
	char *rule, *path, *reason; /* path: an absolute glob, or NULL */
};

struct pl_policy {
	char **bases; /* "scratch", "NAME" or "NAME@RANGE" */
	size_t nbases;
	bool has_bases;
	struct policy_severity *sev;
	size_t nsev;
	struct policy_ignore *ign;
	size_t nign;
};

void pl_policy_free(struct pl_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nbases; i++)
		free(p->bases[i]);
	free(p->bases);
	for (size_t i = 0; i < p->nsev; i++) {
		free(p->sev[i].rule);
		free(p->sev[i].severity);
	}
	free(p->sev);
	for (size_t i = 0; i < p->nign; i++) {
		free(p->ign[i].rule);
		free(p->ign[i].path);
		free(p->ign[i].reason);
	}
	free(p->ign);
	free(p);
}

static void policy_freep(struct pl_policy **p)
{
	pl_policy_free(*p);
}

static int want_rule(struct pl__yctx *c, const struct pl__ynode *y, const char *key)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, key) < 0)
		return PL_EINVAL;
	if (!pl__rule(y->value))
		return pl__y_fail_at(
		    c, y->pos, "unknown rule '%s' (plinth lint --rules lists them)", y->value);
	return 0;
}

static bool base_entry_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 256 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-@") == n &&
	       s[0] != '@';
}

static int parse_bases(struct pl__yctx *c, struct pl_policy *p, const struct pl__ynode *y)
{
	if (pl__y_want_kind(c, y, PL__Y_SEQ, "bases") < 0)
		return PL_EINVAL;
	if (!(p->bases = pl__calloc(y->n + 1, sizeof(*p->bases), c->err)))
		return PL_ENOMEM;
	p->has_bases = true;
	for (size_t i = 0; i < y->n; i++) {
		if (pl__y_get_str(c, y->items[i], "bases[]", &p->bases[p->nbases]) < 0)
			return PL_EINVAL;
		if (!base_entry_ok(p->bases[p->nbases++]))
			return pl__y_fail_at(c, y->items[i]->pos,
					     "'%s' is not a base (scratch, NAME or NAME@RANGE)",
					     y->items[i]->value);
	}
	return 0;
}

static int parse_severity(struct pl__yctx *c, struct pl_policy *p, const struct pl__ynode *y)
{
	if (pl__y_want_kind(c, y, PL__Y_MAP, "severity") < 0)
		return PL_EINVAL;
	if (!(p->sev = pl__calloc(y->n / 2 + 1, sizeof(*p->sev), c->err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < y->n; i += 2) {
		const struct pl__ynode *k = y->items[i], *v = y->items[i + 1];
		if (want_rule(c, k, "severity") < 0)
			return PL_EINVAL;
		struct policy_severity *s = &p->sev[p->nsev++];
		if (!(s->rule = pl__strdup(k->value, c->err)) ||
		    pl__y_get_str(c, v, k->value, &s->severity) < 0)
			return s->rule ? PL_EINVAL : PL_ENOMEM;
		const struct pl_rule *r = pl__rule(k->value);
		if (!severity_fits(r, s->severity))
			return pl__y_fail_at(
			    c, v->pos, "'%s' is not a severity of %s (%s)", s->severity, r->id,
			    r->id[0] == 'L' ? "error, warning or info"
					    : "critical, high, medium, low or info");
	}
	return 0;
}

static const char *const ignore_keys[] = { "rule", "path", "reason", NULL };

static int parse_ignore(struct pl__yctx *c, struct pl_policy *p, const struct pl__ynode *y)
{
	if (pl__y_want_kind(c, y, PL__Y_SEQ, "ignore") < 0)
		return PL_EINVAL;
	if (!(p->ign = pl__calloc(y->n + 1, sizeof(*p->ign), c->err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < y->n; i++) {
		const struct pl__ynode *m = y->items[i], *v;
		if (pl__y_want_kind(c, m, PL__Y_MAP, "ignore[]") < 0 ||
		    pl__y_check_keys(c, m, ignore_keys, "ignore") < 0)
			return PL_EINVAL;
		struct policy_ignore *g = &p->ign[p->nign++];
		if (pl__y_require(c, m, "rule", "ignore[]", &v) < 0 ||
		    want_rule(c, v, "rule") < 0 || pl__y_get_str(c, v, "rule", &g->rule) < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "reason", "ignore[]", &v) < 0 ||
		    pl__y_get_str(c, v, "reason", &g->reason) < 0)
			return PL_EINVAL;
		if (!*g->reason || strspn(g->reason, " \t") == strlen(g->reason))
			return pl__y_fail_at(c, v->pos, "an opt-out needs a reason");
		if ((v = pl__y_lookup(m, "path"))) {
			if (pl__y_get_str(c, v, "path", &g->path) < 0)
				return PL_EINVAL;
			if (g->path[0] != '/')
				return pl__y_fail_at(c, v->pos,
						     "'path' must be an absolute glob, not '%s'",
						     g->path);
		}
	}
	return 0;
}

static const char *const policy_keys[] = { "bases", "severity", "ignore", NULL };

int pl_policy_parse(const char *name, const char *data, size_t len, struct pl_policy **out,
		    struct pl_error **err)
{
	struct pl__yctx c = { name, "policy", err };
	cleanup_ynode struct pl__ynode *root = NULL;
	int rc = pl__y_load(&c, data, len, &root);
	if (rc < 0)
		return rc;
	if (pl__y_want_kind(&c, root, PL__Y_MAP, "policy") < 0 ||
	    pl__y_check_keys(&c, root, policy_keys, NULL) < 0)
		return PL_EINVAL;
	__attribute__((cleanup(policy_freep))) struct pl_policy *p = pl__calloc(1, sizeof(*p), err);
	if (!p)
		return PL_ENOMEM;
	const struct pl__ynode *v;
	if ((v = pl__y_lookup(root, "bases")) && (rc = parse_bases(&c, p, v)) < 0)
		return rc;
	if ((v = pl__y_lookup(root, "severity")) && (rc = parse_severity(&c, p, v)) < 0)
		return rc;
	if ((v = pl__y_lookup(root, "ignore")) && (rc = parse_ignore(&c, p, v)) < 0)
		return rc;
	*out = steal_pointer(&p);
	return 0;
}

int pl_policy_load(const char *path, struct pl_policy **out, struct pl_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	int rc = pl__read_file(path, PL_RECIPE_MAX, &data, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "policy '%s'", path);
	return pl_policy_parse(path, data, len, out, err);
}

bool pl__policy_allows_base(const struct pl_policy *p, const char *base)
{
	if (!p || !p->has_bases)
		return true;
	const char *at = strchr(base, '@');
	size_t name_len = at ? (size_t)(at - base) : strlen(base);
	for (size_t i = 0; i < p->nbases; i++) {
		const char *b = p->bases[i], *bat = strchr(b, '@');
		if (!bat) { /* NAME: any range of it */
			if (strlen(b) == name_len && !strncmp(b, base, name_len))
				return true;
			continue;
		}
		/* NAME@RANGE covers the same range and narrower ones */
		size_t k = strlen(b);
		if (!strncmp(base, b, k) && (base[k] == '\0' || base[k] == '.'))
			return true;
	}
	return false;
}

const char *pl__policy_ignores(const struct pl_policy *p, const char *id, const char *path)
{
	for (size_t i = 0; p && i < p->nign; i++) {
		const struct policy_ignore *g = &p->ign[i];
		if (strcmp(g->rule, id))
			continue;
		if (!g->path || (path && pl__glob_match(g->path, path)))
			return g->reason;
	}
	return NULL;
}

const char *pl__policy_severity(const struct pl_policy *p, const char *id)
{
	for (size_t i = p ? p->nsev : 0; i-- > 0;)
		if (!strcmp(p->sev[i].rule, id))
			return p->sev[i].severity;
	return NULL;
}

static const char *policy_severity(const struct pl_policy *p, const struct pl_rule *r)
{
	const char *s = pl__policy_severity(p, r->id);
	return s ? s : r->severity;
}

/* ---- findings ---------------------------------------------------------- */

struct pl_findings {
	struct pl_finding *v;
	size_t n, alloc;
	char **owned; /* every string the findings point at */
	size_t nowned, owned_alloc;
};

struct pl_findings *pl__findings_new(struct pl_error **err)
{
	return pl__calloc(1, sizeof(struct pl_findings), err);
}

void pl_findings_free(struct pl_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nowned; i++)
		free(f->owned[i]);
	free(f->owned);
	free(f->v);
	free(f);
}

const struct pl_finding *pl_findings_get(const struct pl_findings *f, size_t *n)
{
	*n = f->n;
	return f->v;
}

size_t pl_findings_count(const struct pl_findings *f, const char *severity)
{
	int min = pl_severity_rank(severity);
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += !f->v[i].ignored && pl_severity_rank(f->v[i].severity) >= min;
	return n;
}

static int own(struct pl_findings *f, char *s, struct pl_error **err)
{
	if (pl__grow(&f->owned, &f->owned_alloc, f->nowned + 1, sizeof(*f->owned), err) < 0) {
		free(s);
		return PL_ENOMEM;
	}
	f->owned[f->nowned++] = s;
	return 0;
}

const char *pl__findings_keep(struct pl_findings *f, const char *s, struct pl_error **err)
{
	if (!s)
		return NULL;
	char *copy = pl__strdup(s, err);
	return copy && own(f, copy, err) == 0 ? copy : NULL;
}

struct pl_finding *pl__finding_add(struct pl_findings *f, const struct pl_policy *p, const char *id,
				   const char *file, struct pl__pos pos, const char *path,
				   struct pl_error **err, const char *fmt, ...)
{
	const struct pl_rule *r = pl__rule(id);
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a message cut short must not end in the middle of a character */
	if (len >= (int)sizeof(msg)) {
		size_t n = strlen(msg), i = n;
		while (i > 0 && ((unsigned char)msg[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && (unsigned char)msg[i - 1] >= 0xc0 &&
		    pl__utf8_seq((const unsigned char *)msg + i - 1, n - i + 1) == 0)
			msg[i - 1] = '\0';
	}
	if (pl__grow(&f->v, &f->alloc, f->n + 1, sizeof(*f->v), err) < 0)
		return NULL;
	struct pl_finding *x = &f->v[f->n];
	*x = (struct pl_finding){
		.rule = r->id,
		.name = r->name,
		.severity = policy_severity(p, r),
		.line = pos.line,
		.col = pos.col,
		.ignored = pl__policy_ignores(p, id, path),
	};
	if (!(x->message = pl__findings_keep(f, msg, err)) ||
	    !(x->severity = pl__findings_keep(f, x->severity, err)) ||
	    (file && !(x->file = pl__findings_keep(f, file, err))) ||
	    (path && !(x->path = pl__findings_keep(f, path, err))) ||
	    (x->ignored && !(x->ignored = pl__findings_keep(f, x->ignored, err))))
		return NULL;
	f->n++;
	return x;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_position(const void *a, const void *b)
{
	const struct pl_finding *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	int d = strcmp(x->rule, y->rule);
	return d ? d : cmp_str(x->message, y->message);
}

static int cmp_rule_path(const void *a, const void *b)
{
	const struct pl_finding *x = a, *y = b;
	int d = strcmp(x->rule, y->rule);
	if (!d)
		d = cmp_str(x->path, y->path);
	if (!d)
		d = cmp_str(x->package, y->package);
	if (!d)
		d = cmp_str(x->vuln_id, y->vuln_id);
	return d ? d : cmp_str(x->message, y->message);
}

void pl__findings_sort(struct pl_findings *f, bool by_position)
{
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), by_position ? cmp_position : cmp_rule_path);
}

/* ---- lint -------------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static const char *const shell_pkgs[] = { "bash", "dash",           "zsh",  "ksh",
					  "mksh", "ksh93u+m",       "tcsh", "csh",
					  "fish", "yash",           "posh", "busybox",
					  "sash", "busybox-static", NULL };
static const char *const pm_pkgs[] = { "apt", "dpkg",  "aptitude", "apt-utils", "python3-pip",
				       "rpm", "dnf",   "yum",      "apk-tools", "pipx",
				       "npm", "snapd", "flatpak",  NULL };
static const char *const sshd_pkgs[] = { "openssh-server", "dropbear",   "dropbear-bin",
					 "tinysshd",       "lsh-server", NULL };
static const char *const shell_names[] = { "sh",  "bash", "dash", "zsh",  "ksh",     "mksh",
					   "ash", "tcsh", "csh",  "fish", "busybox", NULL };

/* Whether the in-image `path` is a shell in a bin directory. */
static bool shell_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !in_list(slash + 1, shell_names))
		return false;
	size_t dir = (size_t)(slash - path);
	return dir >= 4 && !strncmp(slash - 4, "/bin", 4);
}

static int mode_findings(struct pl_findings *f, const struct pl_policy *p, const char *file,
			 const char *path, bool dir, bool has_mode, uint32_t mode,
			 struct pl__pos pos, struct pl_error **err)
{
	if (!has_mode)
		return 0;
	if ((mode & 06000) &&
	    !pl__finding_add(f, p, "L008", file, pos, path, err, "'%s' has mode %04o (set%sid)",
			     path, mode, (mode & 04000) ? "u" : "g"))
		return PL_ENOMEM;
	if ((mode & 0002) && (!dir || !(mode & 01000)) &&
	    !pl__finding_add(f, p, dir ? "L011" : "L012", file, pos, path, err,
			     "'%s' has mode %04o: anyone may write %s", path, mode,
			     dir ? "to it, and remove what others put there" : "to it"))
		return PL_ENOMEM;
	return 0;
}

static int lint_files(const struct pl_recipe *r, const struct pl_policy *p, struct pl_findings *f,
		      struct pl_error **err)
{
	const char *file = r->path;
	for (size_t i = 0; i < r->nfiles; i++) {
		const struct pl__file_spec *s = &r->files[i];
		if (!s->has_sha256 &&
		    !pl__finding_add(f, p, "L007", file, s->pos, s->path, err,
				     "'%s' is copied from '%s' without a sha256 pin", s->path,
				     s->source))
			return PL_ENOMEM;
		if (shell_path(s->path) && !pl__finding_add(f, p, "L004", file, s->pos, s->path,
							    err, "'%s' is a shell", s->path))
			return PL_ENOMEM;
		int rc =
		    mode_findings(f, p, file, s->path, false, s->has_mode, s->mode, s->pos, err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < r->ndirs; i++) {
		const struct pl__dir_spec *d = &r->dirs[i];
		int rc =
		    mode_findings(f, p, file, d->path, true, d->has_mode, d->mode, d->pos, err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < r->nlinks; i++) {
		const struct pl__link_spec *l = &r->links[i];
		if (shell_path(l->path) &&
		    !pl__finding_add(f, p, "L004", file, l->pos, l->path, err,
				     "'%s' is a shell (a link to '%s')", l->path, l->target))
			return PL_ENOMEM;
	}
	return 0;
}

static int lint_packages(const struct pl_recipe *r, const struct pl_policy *p,
			 struct pl_findings *f, struct pl_error **err)
{
	for (size_t i = 0; i < r->npkgs; i++) {
		const struct pl__pkg_spec *k = &r->pkgs[i];
		const char *id = in_list(k->name, shell_pkgs)  ? "L004"
				 : in_list(k->name, pm_pkgs)   ? "L005"
				 : in_list(k->name, sshd_pkgs) ? "L006"
							       : NULL;
		const char *what = !id                   ? NULL
				   : !strcmp(id, "L004") ? "a shell"
				   : !strcmp(id, "L005") ? "a package manager"
							 : "an ssh server";
		if (id && !pl__finding_add(f, p, id, r->path, k->pos, NULL, err,
					   "package '%s' is %s", k->name, what))
			return PL_ENOMEM;
	}
	for (size_t i = 0; i < r->nrepos; i++) {
		const struct pl__repo_spec *s = &r->repos[i];
		if (!s->host && !s->keyring &&
		    !pl__finding_add(f, p, "L009", r->path, s->pos, NULL, err,
				     "repository '%s' has no 'keyring': any key the host trusts "
				     "may sign it",
				     s->uri))
			return PL_ENOMEM;
	}
	return 0;
}

static int lint_secrets(const struct pl_recipe *r, const struct pl_policy *p, struct pl_findings *f,
			const struct pl__kvv *kv, const char *what, struct pl_error **err)
{
	for (size_t i = 0; i < kv->n; i++) {
		const struct pl__kv *e = &kv->v[i];
		struct pl__secret_hit hit;
		const char *why = NULL;
		unsigned seen = 0;
		if (pl__secrets_find(e->value, strlen(e->value), 0, false, &seen, &hit, 1))
			why = pl__secret_what(hit.kind);
		else if (pl__secret_name(e->key) && *e->value && e->value[0] != '/' &&
			 e->value[0] != '$')
			why = "a secret, by its name";
		if (why && !pl__finding_add(f, p, "L010", r->path, e->pos, NULL, err,
					    "%s '%s' holds what looks like %s; pass secrets at run "
					    "time instead",
					    what, e->key, why))
			return PL_ENOMEM;
	}
	return 0;
}

int pl_lint(const struct pl_recipe *r, const struct pl_policy *p, struct pl_catalog *catalog,
	    struct pl_findings **out, struct pl_error **err)
{
	__attribute__((cleanup(pl__findings_freep))) struct pl_findings *f = pl__findings_new(err);
	if (!f)
		return PL_ENOMEM;
	const char *file = r->path;
	const char *base = r->base ? r->base : "scratch";
	if (pl__recipe_has_base(r) && catalog) {
		const struct pl_catalog_entry *e;
		cleanup_free char *warning = NULL;
		struct pl_error *why = NULL;
		if (pl_catalog_resolve(catalog, base, &e, &warning, &why) < 0) {
			struct pl_finding *x =
			    pl__finding_add(f, p, "L001", file, r->base_pos, NULL, err,
					    "base '%s': %s", base, pl_error_message(why));
			pl_error_free(why);
			if (!x)
				return PL_ENOMEM;
		}
	}
	if (!pl__policy_allows_base(p, base) &&
	    !pl__finding_add(f, p, "L002", file, r->base_pos, NULL, err,
			     "base '%s' is not among the bases the policy allows", base))
		return PL_ENOMEM;
	bool root = r->run_as_deferred ? !strcmp(r->run_as, "root") : r->run_uid == 0;
	if (root && !pl__finding_add(f, p, "L003", file, r->run_as_pos, NULL, err,
				     "the image runs as root (run-as: %s)", r->run_as))
		return PL_ENOMEM;
	int rc;
	if ((rc = lint_files(r, p, f, err)) < 0 || (rc = lint_packages(r, p, f, err)) < 0 ||
	    (rc = lint_secrets(r, p, f, &r->env, "environment variable", err)) < 0 ||
	    (rc = lint_secrets(r, p, f, &r->labels, "label", err)) < 0)
		return rc;
	pl__findings_sort(f, true);
	*out = steal_pointer(&f);
	return 0;
}
