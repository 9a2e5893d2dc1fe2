/*
 * recipe.c - strict parser for recipe schema v1.
 *
 * The YAML is read into a tree of nodes that keeps every node's position
 * (ytree.h), then the tree is checked against the schema.  Aliases,
 * anchors and tags are refused (a recipe never needs them, and aliases allow
 * exponential expansion); so are duplicate keys, NUL bytes, more than one
 * document and anything over the PL_RECIPE_MAX / PL_YAML_* limits.
 */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "debversion.h"
#include "recipe-impl.h"
#include "ytree.h"

/* ---- value checks --------------------------------------------------- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool valid_version(const char *s)
{
	for (int part = 0; part < 3; part++) {
		size_t d = strspn(s, "0123456789");
		if (d == 0 || d > 9 || (d > 1 && s[0] == '0'))
			return false;
		s += d;
		if (part < 2 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* A base range: MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH, decimal without
 * leading zeros, each below 2^31. */
static bool valid_range(const char *s)
{
	for (int part = 0; part < 3; part++) {
		size_t d = strspn(s, "0123456789");
		if (d == 0 || d > 10 || (d > 1 && s[0] == '0'))
			return false;
		uint64_t v = 0;
		for (size_t i = 0; i < d; i++)
			v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > INT32_MAX)
			return false;
		s += d;
		if (*s == '\0')
			return true;
		if (part == 2 || *s++ != '.')
			return false;
	}
	return false;
}

/* `base`: "scratch" or NAME@RANGE. */
static int check_base(struct pl__yctx *c, const struct pl__ynode *y)
{
	const char *s = y->value, *at = strchr(s, '@');
	if (!strcmp(s, "scratch"))
		return 0;
	if (!at)
		return pl__y_fail_at(
		    c, y->pos,
		    "'base' must be 'scratch' or NAME@RANGE from the catalog (such as "
		    "base@1, base@1.4 or base@1.4.2), not '%s'",
		    s);
	char name[160];
	size_t n = (size_t)(at - s);
	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), s);
	if (n >= sizeof(name) || !valid_name(name))
		return pl__y_fail_at(
		    c, y->pos,
		    "base '%s': the name must match [a-z0-9][a-z0-9._-]* (at most 128 "
		    "characters)",
		    s);
	if (!valid_range(at + 1))
		return pl__y_fail_at(
		    c, y->pos,
		    "base '%s': the range must be MAJOR, MAJOR.MINOR or "
		    "MAJOR.MINOR.PATCH (decimal, no leading zeros, each below 2^31)",
		    s);
	return 0;
}

static int check_image_path(struct pl__yctx *c, const struct pl__ynode *y, const char *key)
{
	const char *p = y->value;
	if (p[0] != '/')
		return pl__y_fail_at(c, y->pos, "'%s' must be an absolute path, not '%s'", key, p);
	if (strlen(p) > PL_PATH_MAX)
		return pl__y_fail_at(c, y->pos, "'%s' is longer than %d bytes", key, PL_PATH_MAX);
	if (!strcmp(p, "/"))
		return pl__y_fail_at(c, y->pos, "'%s' cannot be the root directory", key);
	for (const char *s = p + 1;;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return pl__y_fail_at(
			    c, y->pos,
			    "'%s' must be a normalised path (no empty, '.' or '..' "
			    "components, no trailing '/'), not '%s'",
			    key, p);
		if (!s[n])
			break;
		s += n + 1;
	}
	return 0;
}

static int get_path(struct pl__yctx *c, const struct pl__ynode *y, const char *key, char **out)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, key) < 0 || check_image_path(c, y, key) < 0)
		return PL_EINVAL;
	return pl__y_get_str(c, y, key, out);
}

static int get_mode(struct pl__yctx *c, const struct pl__ynode *y, uint32_t *out)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, "mode") < 0)
		return PL_EINVAL;
	const char *s = y->value;
	size_t n = strlen(s);
	if (n < 3 || n > 5 || strspn(s, "01234567") != n || (n == 5 && s[0] != '0'))
		return pl__y_fail_at(c, y->pos,
				     "'mode' must be an octal mode such as \"0755\", not '%s'", s);
	*out = (uint32_t)strtoul(s, NULL, 8);
	if (*out > 07777)
		return pl__y_fail_at(c, y->pos, "'mode' %s has bits beyond 07777", s);
	return 0;
}

static bool parse_id(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10 || strspn(s, "0123456789") < n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > UINT32_MAX - 1)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int get_owner(struct pl__yctx *c, const struct pl__ynode *y, uint32_t *uid, uint32_t *gid)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, "owner") < 0)
		return PL_EINVAL;
	const char *s = y->value, *colon = strchr(s, ':');
	if (!colon || !parse_id(s, (size_t)(colon - s), uid) ||
	    !parse_id(colon + 1, strlen(colon + 1), gid))
		return pl__y_fail_at(
		    c, y->pos, "'owner' must be numeric UID:GID such as \"0:0\", not '%s'", s);
	return 0;
}

static int get_strv(struct pl__yctx *c, const struct pl__ynode *y, const char *key,
		    struct pl__strv *out)
{
	if (pl__y_want_kind(c, y, PL__Y_SEQ, key) < 0)
		return PL_EINVAL;
	out->v = pl__calloc(y->n + 1, sizeof(char *), c->err);
	if (!out->v)
		return PL_ENOMEM;
	out->set = true;
	for (size_t i = 0; i < y->n; i++) {
		if (pl__y_get_str(c, y->items[i], key, &out->v[i]) < 0)
			return PL_EINVAL;
		out->n++;
	}
	return 0;
}

typedef bool (*key_check)(const char *key);

static int get_kvv(struct pl__yctx *c, const struct pl__ynode *y, const char *key, key_check ok,
		   const char *what, struct pl__kvv *out)
{
	if (pl__y_want_kind(c, y, PL__Y_MAP, key) < 0)
		return PL_EINVAL;
	out->v = pl__calloc(y->n / 2 + 1, sizeof(*out->v), c->err);
	if (!out->v)
		return PL_ENOMEM;
	for (size_t i = 0; i < y->n; i += 2) {
		const struct pl__ynode *k = y->items[i], *v = y->items[i + 1];
		if (!ok(k->value))
			return pl__y_fail_at(c, k->pos, "'%s' is not a valid %s", k->value, what);
		struct pl__kv *kv = &out->v[out->n++];
		kv->pos = k->pos;
		if (!(kv->key = pl__strdup(k->value, c->err)))
			return PL_ENOMEM;
		if (pl__y_get_str(c, v, k->value, &kv->value) < 0)
			return PL_EINVAL;
	}
	return 0;
}

static bool env_key_ok(const char *k)
{
	if (!*k || (k[0] >= '0' && k[0] <= '9'))
		return false;
	return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
	       strlen(k);
}

static bool label_key_ok(const char *k)
{
	return *k && strlen(k) <= 256;
}

/* ---- sections ------------------------------------------------------ */

/*
 * Check that `seq` is a list of mappings whose keys are all in `known`.
 * Returns zeroed room for its elements (of `size` bytes), NULL on error.
 */
static void *list_of_maps(struct pl__yctx *c, const struct pl__ynode *seq, const char *key,
			  const char *const *known, size_t size)
{
	char item[64];
	snprintf(item, sizeof(item), "%s[]", key);
	if (pl__y_want_kind(c, seq, PL__Y_SEQ, key) < 0)
		return NULL;
	for (size_t i = 0; i < seq->n; i++)
		if (pl__y_want_kind(c, seq->items[i], PL__Y_MAP, item) < 0 ||
		    pl__y_check_keys(c, seq->items[i], known, key) < 0)
			return NULL;
	return pl__calloc(seq->n, size, c->err);
}

static const char *const file_keys[] = { "path", "source", "sha256", "mode", "owner", NULL };
static const char *const dir_keys[] = { "path", "mode", "owner", NULL };
static const char *const link_keys[] = { "path", "target", NULL };

static int parse_files(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (!(r->files = list_of_maps(c, seq, "files", file_keys, sizeof(*r->files))))
		return PL_EINVAL;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__file_spec *f = &r->files[r->nfiles++];
		f->pos = m->pos;
		if (pl__y_require(c, m, "path", "files[]", &v) < 0 ||
		    get_path(c, v, "path", &f->path) < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "source", "files[]", &v) < 0 ||
		    pl__y_get_str(c, v, "source", &f->source) < 0)
			return PL_EINVAL;
		f->source_pos = v->pos;
		if ((v = pl__y_lookup(m, "sha256"))) {
			if (pl__y_want_kind(c, v, PL__Y_SCALAR, "sha256") < 0)
				return PL_EINVAL;
			const char *h = v->value;
			if (!strncmp(h, "sha256:", 7))
				h += 7;
			if (!pl__hex_sha256(h, f->sha256))
				return pl__y_fail_at(
				    c, v->pos, "'sha256' must be 64 lowercase hex digits, not '%s'",
				    v->value);
			f->has_sha256 = true;
			f->sha256_pos = v->pos;
		}
		if ((v = pl__y_lookup(m, "mode"))) {
			if (get_mode(c, v, &f->mode) < 0)
				return PL_EINVAL;
			f->has_mode = true;
		}
		if ((v = pl__y_lookup(m, "owner"))) {
			if (get_owner(c, v, &f->uid, &f->gid) < 0)
				return PL_EINVAL;
			f->has_owner = true;
		}
	}
	return 0;
}

static int parse_dirs(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (!(r->dirs = list_of_maps(c, seq, "directories", dir_keys, sizeof(*r->dirs))))
		return PL_EINVAL;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__dir_spec *d = &r->dirs[r->ndirs++];
		d->pos = m->pos;
		if (pl__y_require(c, m, "path", "directories[]", &v) < 0 ||
		    get_path(c, v, "path", &d->path) < 0)
			return PL_EINVAL;
		if ((v = pl__y_lookup(m, "mode"))) {
			if (get_mode(c, v, &d->mode) < 0)
				return PL_EINVAL;
			d->has_mode = true;
		}
		if ((v = pl__y_lookup(m, "owner"))) {
			if (get_owner(c, v, &d->uid, &d->gid) < 0)
				return PL_EINVAL;
			d->has_owner = true;
		}
	}
	return 0;
}

static int parse_links(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (!(r->links = list_of_maps(c, seq, "symlinks", link_keys, sizeof(*r->links))))
		return PL_EINVAL;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__link_spec *l = &r->links[r->nlinks++];
		l->pos = m->pos;
		if (pl__y_require(c, m, "path", "symlinks[]", &v) < 0 ||
		    get_path(c, v, "path", &l->path) < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "target", "symlinks[]", &v) < 0 ||
		    pl__y_get_str(c, v, "target", &l->target) < 0)
			return PL_EINVAL;
		if (strlen(l->target) > PL_PATH_MAX)
			return pl__y_fail_at(c, v->pos, "'target' is longer than %d bytes",
					     PL_PATH_MAX);
	}
	return 0;
}

/* Paths must be unique across files, directories and symlinks. */
struct declared {
	const char *path;
	struct pl__pos pos;
};

static int cmp_declared(const void *a, const void *b)
{
	const struct declared *x = a, *y = b;
	int d = strcmp(x->path, y->path);
	if (d)
		return d;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

static int check_duplicates(struct pl__yctx *c, const struct pl_recipe *r)
{
	size_t n = r->nfiles + r->ndirs + r->nlinks;
	if (n < 2)
		return 0;
	cleanup_free struct declared *all = pl__calloc(n, sizeof(*all), c->err);
	if (!all)
		return PL_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < r->nfiles; i++)
		all[k++] = (struct declared){ r->files[i].path, r->files[i].pos };
	for (size_t i = 0; i < r->ndirs; i++)
		all[k++] = (struct declared){ r->dirs[i].path, r->dirs[i].pos };
	for (size_t i = 0; i < r->nlinks; i++)
		all[k++] = (struct declared){ r->links[i].path, r->links[i].pos };
	qsort(all, n, sizeof(*all), cmp_declared);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(all[i].path, all[i - 1].path))
			return pl__y_fail_at(
			    c, all[i].pos,
			    "duplicate path '%s' (already declared at line %u, column %u)",
			    all[i].path, all[i - 1].pos.line, all[i - 1].pos.col);
	return 0;
}

/* Built-in accounts that every image has. */
static const struct {
	const char *name;
	uint32_t id;
} builtin_accounts[] = { { "root", 0 }, { "nonroot", 65532 }, { "nobody", 65534 } };

static bool account_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool passwd_field_ok(const char *s)
{
	for (; *s; s++)
		if (*s == ':' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int check_account(struct pl__yctx *c, const char *kind, const char *name, uint32_t id,
			 struct pl__pos pos)
{
	if (!account_name_ok(name))
		return pl__y_fail_at(c, pos, "'%s' is not a valid %s name", name, kind);
	for (size_t i = 0; i < sizeof(builtin_accounts) / sizeof(builtin_accounts[0]); i++) {
		if (!strcmp(name, builtin_accounts[i].name))
			return pl__y_fail_at(c, pos, "%s name '%s' is built in", kind, name);
		if (id == builtin_accounts[i].id)
			return pl__y_fail_at(c, pos, "%s id %u is taken by the built-in '%s'", kind,
					     id, builtin_accounts[i].name);
	}
	return 0;
}

static const char *const user_keys[] = { "name", "uid", "gid", "home", "shell", NULL };
static const char *const group_keys[] = { "name", "gid", NULL };
static const char *const account_keys[] = { "users", "groups", "run-as", NULL };

static int parse_groups(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (!(r->groups = list_of_maps(c, seq, "groups", group_keys, sizeof(*r->groups))))
		return PL_EINVAL;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__group *g = &r->groups[r->ngroups++];
		uint64_t id;
		g->pos = m->pos;
		if (pl__y_require(c, m, "name", "groups[]", &v) < 0 ||
		    pl__y_get_str(c, v, "name", &g->name) < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "gid", "groups[]", &v) < 0 ||
		    pl__y_get_u64(c, v, "gid", UINT32_MAX - 1, &id) < 0)
			return PL_EINVAL;
		g->gid = (uint32_t)id;
		if (check_account(c, "group", g->name, g->gid, m->pos) < 0)
			return PL_EINVAL;
		for (size_t j = 0; j + 1 < r->ngroups; j++)
			if (!strcmp(r->groups[j].name, g->name) || r->groups[j].gid == g->gid)
				return pl__y_fail_at(c, m->pos,
						     "group '%s' (gid %u) clashes with '%s'",
						     g->name, g->gid, r->groups[j].name);
	}
	return 0;
}

static int parse_users(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (!(r->users = list_of_maps(c, seq, "users", user_keys, sizeof(*r->users))))
		return PL_EINVAL;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__user *u = &r->users[r->nusers++];
		uint64_t id;
		u->pos = m->pos;
		if (pl__y_require(c, m, "name", "users[]", &v) < 0 ||
		    pl__y_get_str(c, v, "name", &u->name) < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "uid", "users[]", &v) < 0 ||
		    pl__y_get_u64(c, v, "uid", UINT32_MAX - 1, &id) < 0)
			return PL_EINVAL;
		u->uid = u->gid = (uint32_t)id;
		if ((v = pl__y_lookup(m, "gid"))) {
			if (pl__y_get_u64(c, v, "gid", UINT32_MAX - 1, &id) < 0)
				return PL_EINVAL;
			u->gid = (uint32_t)id;
		}
		if ((v = pl__y_lookup(m, "home"))) {
			if (get_path(c, v, "home", &u->home) < 0)
				return PL_EINVAL;
		} else if (!(u->home = pl__asprintf(c->err, "/home/%s", u->name))) {
			return PL_ENOMEM;
		}
		if ((v = pl__y_lookup(m, "shell"))) {
			if (get_path(c, v, "shell", &u->shell) < 0)
				return PL_EINVAL;
		} else if (!(u->shell = pl__strdup("/sbin/nologin", c->err))) {
			return PL_ENOMEM;
		}
		if (check_account(c, "user", u->name, u->uid, m->pos) < 0)
			return PL_EINVAL;
		/* They become fields of /etc/passwd lines. */
		if (!passwd_field_ok(u->home) || !passwd_field_ok(u->shell))
			return pl__y_fail_at(
			    c, pl__y_lookup(m, passwd_field_ok(u->home) ? "shell" : "home")->pos,
			    "'%s' may not hold ':' or control characters",
			    passwd_field_ok(u->home) ? "shell" : "home");
		for (size_t j = 0; j + 1 < r->nusers; j++)
			if (!strcmp(r->users[j].name, u->name) || r->users[j].uid == u->uid)
				return pl__y_fail_at(c, m->pos,
						     "user '%s' (uid %u) clashes with '%s'",
						     u->name, u->uid, r->users[j].name);
	}
	return 0;
}

static int resolve_run_as(struct pl__yctx *c, struct pl_recipe *r, struct pl__pos pos)
{
	const char *s = r->run_as;
	for (size_t i = 0; i < sizeof(builtin_accounts) / sizeof(builtin_accounts[0]); i++)
		if (!strcmp(s, builtin_accounts[i].name)) {
			r->run_uid = r->run_gid = builtin_accounts[i].id;
			return 0;
		}
	for (size_t i = 0; i < r->nusers; i++)
		if (!strcmp(s, r->users[i].name)) {
			r->run_uid = r->users[i].uid;
			r->run_gid = r->users[i].gid;
			return 0;
		}
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (parse_id(s, n, &r->run_uid)) {
		r->run_gid = r->run_uid;
		if (!colon || parse_id(colon + 1, strlen(colon + 1), &r->run_gid))
			return 0;
	}
	/* An account of the base: looked up in its /etc/passwd when built. */
	if (pl__recipe_has_base(r) && account_name_ok(s)) {
		r->run_as_deferred = true;
		r->run_uid = r->run_gid = 0;
		return 0;
	}
	return pl__y_fail_at(c, pos,
			     "'run-as' names no account: '%s' (use nonroot, root, a user "
			     "from 'accounts', or UID[:GID])",
			     s);
}

static int parse_accounts(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *m)
{
	const struct pl__ynode *v;
	if (pl__y_want_kind(c, m, PL__Y_MAP, "accounts") < 0 ||
	    pl__y_check_keys(c, m, account_keys, "accounts") < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "groups")) && parse_groups(c, r, v) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "users")) && parse_users(c, r, v) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "run-as"))) {
		if (pl__y_get_str(c, v, "run-as", &r->run_as) < 0)
			return PL_EINVAL;
		r->run_as_set = true;
		r->run_as_pos = v->pos;
		return resolve_run_as(c, r, v->pos);
	}
	return 0;
}

static bool stop_signal_ok(const char *s)
{
	static const char *const names[] = {
		"SIGABRT", "SIGALRM", "SIGBUS",  "SIGCHLD", "SIGCONT", "SIGFPE",    "SIGHUP",
		"SIGILL",  "SIGINT",  "SIGIO",   "SIGKILL", "SIGPIPE", "SIGPROF",   "SIGPWR",
		"SIGQUIT", "SIGSEGV", "SIGSTOP", "SIGSYS",  "SIGTERM", "SIGTRAP",   "SIGTSTP",
		"SIGTTIN", "SIGTTOU", "SIGURG",  "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH",
		"SIGXCPU", "SIGXFSZ", NULL,
	};
	for (const char *const *n = names; *n; n++)
		if (!strcmp(s, *n))
			return true;
	for (int i = 0; i < 2; i++) {
		const char *base = i ? "SIGRTMAX-" : "SIGRTMIN+";
		size_t bl = strlen(base);
		uint32_t n;
		if (!strncmp(s, base, bl) && parse_id(s + bl, strlen(s + bl), &n) && n >= 1 &&
		    n <= 15)
			return true;
	}
	return false;
}

/* "8080", "8080/tcp", "53/udp", "9/sctp", normalised to "PORT/PROTO". */
static int get_port(struct pl__yctx *c, const struct pl__ynode *y, char **out)
{
	if (pl__y_want_kind(c, y, PL__Y_SCALAR, "ports") < 0)
		return PL_EINVAL;
	const char *s = y->value, *slash = strchr(s, '/');
	const char *proto = slash ? slash + 1 : "tcp";
	uint32_t port;
	if (!parse_id(s, slash ? (size_t)(slash - s) : strlen(s), &port) || port < 1 ||
	    port > 65535 || (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
		return pl__y_fail_at(c, y->pos,
				     "'ports' entries look like 8080/tcp or 53/udp, not '%s'", s);
	*out = pl__asprintf(c->err, "%u/%s", port, proto);
	return *out ? 0 : PL_ENOMEM;
}

static const char *const config_keys[] = { "entrypoint", "cmd",         "env",   "workdir",
					   "labels",     "stop-signal", "ports", NULL };

static int parse_config(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *m)
{
	const struct pl__ynode *v;
	if (pl__y_want_kind(c, m, PL__Y_MAP, "config") < 0 ||
	    pl__y_check_keys(c, m, config_keys, "config") < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "entrypoint")) && get_strv(c, v, "entrypoint", &r->entrypoint) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "cmd")) && get_strv(c, v, "cmd", &r->cmd) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "env")) &&
	    get_kvv(c, v, "env", env_key_ok, "environment variable name", &r->env) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "labels")) &&
	    get_kvv(c, v, "labels", label_key_ok, "label", &r->labels) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "workdir")) && get_path(c, v, "workdir", &r->workdir) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(m, "stop-signal"))) {
		if (pl__y_get_str(c, v, "stop-signal", &r->stop_signal) < 0)
			return PL_EINVAL;
		if (!stop_signal_ok(r->stop_signal))
			return pl__y_fail_at(c, v->pos,
					     "'stop-signal' must be a signal name such as "
					     "SIGTERM, not '%s'",
					     r->stop_signal);
	}
	if ((v = pl__y_lookup(m, "ports"))) {
		if (pl__y_want_kind(c, v, PL__Y_SEQ, "ports") < 0)
			return PL_EINVAL;
		r->ports.v = pl__calloc(v->n + 1, sizeof(char *), c->err);
		if (!r->ports.v)
			return PL_ENOMEM;
		r->ports.set = true;
		for (size_t i = 0; i < v->n; i++) {
			if (get_port(c, v->items[i], &r->ports.v[r->ports.n]) < 0)
				return PL_EINVAL;
			r->ports.n++;
		}
	}
	return 0;
}

#define REGEX_LEN_MAX   1024
#define REGEX_COST_MAX  4096
#define REGEX_DEPTH_MAX 32
#define REGEX_BOUND_MAX 255

static size_t sat_add(size_t a, size_t b)
{
	return a + b > REGEX_COST_MAX ? REGEX_COST_MAX + 1 : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
	return b && a > (REGEX_COST_MAX + 1) / b ? REGEX_COST_MAX + 1 : a * b;
}

/* Skip a bracket expression starting at p (at '['); NULL when unterminated. */
static const char *skip_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++)
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			const char *end = strstr(p + 2, (char[]){ p[1], ']', '\0' });
			if (!end)
				return NULL;
			p = end + 1;
		}
	return *p ? p : NULL;
}

/*
 * glibc's regcomp copies the subtree a repetition applies to ("a+" becomes
 * "aa*", "a{3}" three copies), so nested repetitions cost exponential
 * memory.  Estimate the expanded size and refuse what would blow up, and
 * repetitions of repetitions, before regcomp sees the pattern.
 * Returns NULL when fine, else why not.
 */
/* A repetition count, however many digits (glibc takes "{0000032767}"),
 * saturated just past anything allowed. */
static bool parse_bound(const char **p, unsigned long *v)
{
	size_t n = strspn(*p, "0123456789");
	if (n == 0)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = *v > REGEX_BOUND_MAX ? *v : *v * 10 + (unsigned long)((*p)[i] - '0');
	*p += n;
	return true;
}

/* Whether p (at '{') starts an interval "{m}", "{m,}", "{,n}" or "{m,n}";
 * sets its largest count (m + 1 when unbounded) and where it ends. */
static bool interval(const char *p, unsigned long *most, const char **end)
{
	unsigned long lo = 0, hi = 0;
	const char *q = p + 1;
	bool has_lo = parse_bound(&q, &lo);
	if (*q == ',') {
		q++;
		if (!parse_bound(&q, &hi))
			hi = lo + 1;
	} else if (!has_lo) {
		return false;
	} else {
		hi = lo;
	}
	if (*q != '}')
		return false;
	*most = hi > lo ? hi : lo;
	*end = q;
	return true;
}

const char *pl__regex_too_costly(const char *p)
{
	struct {
		size_t sum, last;
	} st[REGEX_DEPTH_MAX + 1] = { { 0, 0 } };
	size_t depth = 0;
	bool repeated = false;
	if (strlen(p) > REGEX_LEN_MAX)
		return "longer than 1024 bytes";
	for (; *p; p++) {
		size_t factor = 0;
		unsigned long most;
		const char *end;
		if (*p == '*' || *p == '?') {
			factor = 1;
		} else if (*p == '+') {
			factor = 2;
		} else if (*p == '{' && interval(p, &most, &end)) {
			if (most > REGEX_BOUND_MAX)
				return "a repetition bound is over 255";
			factor = most + 1;
			p = end;
		} else if (*p == '(') {
			if (depth == REGEX_DEPTH_MAX)
				return "groups are nested more than 32 deep";
			st[++depth].sum = 0;
			st[depth].last = 0;
		} else if (*p == ')' && depth > 0) {
			depth--;
			st[depth].last = sat_add(st[depth + 1].sum, 1);
			st[depth].sum = sat_add(st[depth].sum, st[depth].last);
		} else if (*p == '|') {
			st[depth].last = 0;
		} else {
			/* An atom: a character, an escape or a bracket expression
			 * (an unterminated one is regcomp's to report). */
			if (*p == '[' && skip_bracket(p))
				p = skip_bracket(p);
			else if (*p == '\\' && p[1])
				p++;
			st[depth].last = 1;
			st[depth].sum = sat_add(st[depth].sum, 1);
		}
		if (factor) {
			if (repeated)
				return "it repeats a repetition";
			size_t grown = sat_mul(st[depth].last, factor);
			st[depth].sum = sat_add(st[depth].sum - st[depth].last, grown);
			st[depth].last = grown;
		}
		repeated = factor != 0;
		if (st[depth].sum > REGEX_COST_MAX)
			return "its repetitions expand too far";
	}
	return NULL;
}

static int check_regex(struct pl__yctx *c, const struct pl__ynode *y, const char *key)
{
	const char *why_not = pl__regex_too_costly(y->value);
	if (why_not)
		return pl__y_fail_at(c, y->pos, "'%s' is refused: %s", key, why_not);
	regex_t re;
	int rc = regcomp(&re, y->value, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&re);
		return 0;
	}
	char why[256];
	regerror(rc, &re, why, sizeof(why));
	return pl__y_fail_at(c, y->pos, "'%s' is not a valid extended regular expression: %s", key,
			     why);
}

static const char *const test_keys[] = {
	"run", "expect-exit", "expect-stdout", "expect-stderr", "timeout", NULL,
};

static int parse_tests(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (!(r->tests = list_of_maps(c, seq, "tests", test_keys, sizeof(*r->tests))))
		return PL_EINVAL;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__test *t = &r->tests[r->ntests++];
		t->pos = m->pos;
		if (pl__y_require(c, m, "run", "tests[]", &v) < 0 ||
		    get_strv(c, v, "run", &t->run) < 0)
			return PL_EINVAL;
		if (t->run.n == 0)
			return pl__y_fail_at(c, v->pos, "'run' needs at least the program to run");
		if ((v = pl__y_lookup(m, "expect-exit"))) {
			uint64_t code;
			if (pl__y_get_u64(c, v, "expect-exit", 255, &code) < 0)
				return PL_EINVAL;
			t->expect_exit = (int)code;
		}
		if ((v = pl__y_lookup(m, "expect-stdout")) &&
		    (pl__y_get_str(c, v, "expect-stdout", &t->expect_stdout) < 0 ||
		     check_regex(c, v, "expect-stdout") < 0))
			return PL_EINVAL;
		if ((v = pl__y_lookup(m, "expect-stderr")) &&
		    (pl__y_get_str(c, v, "expect-stderr", &t->expect_stderr) < 0 ||
		     check_regex(c, v, "expect-stderr") < 0))
			return PL_EINVAL;
		if ((v = pl__y_lookup(m, "timeout"))) {
			uint64_t s;
			if (pl__y_get_u64(c, v, "timeout", PL__TEST_TIMEOUT_MAX, &s) < 0)
				return PL_EINVAL;
			if (s == 0)
				return pl__y_fail_at(c, v->pos,
						     "'timeout' must be at least 1 second");
			t->timeout = (unsigned)s;
		}
	}
	return 0;
}

/* ---- Debian packages ------------------------------------------------ */

static const char *const repo_keys[] = { "uri", "suites", "components", "keyring", NULL };

static bool suite_ok(const char *s)
{
	size_t n = strlen(s);
	return n && n <= 128 && *s != '.' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int get_words(struct pl__yctx *c, const struct pl__ynode *y, const char *key,
		     bool (*ok)(const char *), struct pl__strv *out)
{
	if (get_strv(c, y, key, out) < 0)
		return PL_EINVAL;
	if (out->n == 0)
		return pl__y_fail_at(c, y->pos, "'%s' needs at least one entry", key);
	for (size_t i = 0; i < out->n; i++)
		if (!ok(out->v[i]))
			return pl__y_fail_at(c, y->items[i]->pos, "'%s' is not a valid %s entry",
					     out->v[i], key);
	return 0;
}

static int parse_repos(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (pl__y_want_kind(c, seq, PL__Y_SEQ, "repositories") < 0)
		return PL_EINVAL;
	if (!(r->repos = pl__calloc(seq->n + 1, sizeof(*r->repos), c->err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		const struct pl__ynode *m = seq->items[i], *v;
		struct pl__repo_spec *rs = &r->repos[r->nrepos++];
		rs->pos = m->pos;
		if (m->kind == PL__Y_SCALAR && !strcmp(m->value, "host")) {
			rs->host = true;
			continue;
		}
		if (m->kind != PL__Y_MAP)
			return pl__y_fail_at(
			    c, m->pos,
			    "'repositories[]' must be 'host' or a mapping with 'uri', "
			    "'suites', 'components' and 'keyring'");
		if (pl__y_check_keys(c, m, repo_keys, "repositories") < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "uri", "repositories[]", &v) < 0 ||
		    pl__y_get_str(c, v, "uri", &rs->uri) < 0)
			return PL_EINVAL;
		if (!*rs->uri || strlen(rs->uri) > PL_PATH_MAX || strpbrk(rs->uri, " \t\r\n"))
			return pl__y_fail_at(c, v->pos, "'uri' must be a URL without blanks");
		if (pl__y_require(c, m, "suites", "repositories[]", &v) < 0 ||
		    get_words(c, v, "suites", suite_ok, &rs->suites) < 0)
			return PL_EINVAL;
		if (pl__y_require(c, m, "components", "repositories[]", &v) < 0 ||
		    get_words(c, v, "components", suite_ok, &rs->components) < 0)
			return PL_EINVAL;
		if ((v = pl__y_lookup(m, "keyring"))) {
			if (pl__y_get_str(c, v, "keyring", &rs->keyring) < 0)
				return PL_EINVAL;
			if (!*rs->keyring || strlen(rs->keyring) >= PL_PATH_MAX)
				return pl__y_fail_at(c, v->pos, "'keyring' must be a file name");
		}
	}
	return 0;
}

static int parse_pkg(struct pl__yctx *c, const struct pl__ynode *y, struct pl__pkg_spec *p)
{
	if (pl__y_get_str(c, y, "packages", &p->name) < 0)
		return PL_EINVAL;
	p->pos = y->pos;
	char *sep = strpbrk(p->name, "=/");
	if (sep) {
		char **rest = *sep == '=' ? &p->version : &p->suite;
		if (!(*rest = pl__strdup(sep + 1, c->err)))
			return PL_ENOMEM;
		*sep = '\0';
	}
	if (!pl__debname_valid(p->name))
		return pl__y_fail_at(
		    c, y->pos,
		    "'%s' is not a Debian package name (lowercase letters, digits, "
		    "'+', '-', '.'), write NAME, NAME=VERSION or NAME/SUITE",
		    p->name);
	const char *why;
	if (p->version && !pl__debver_valid(p->version, &why))
		return pl__y_fail_at(c, y->pos, "'%s=%s': %s", p->name, p->version, why);
	if (p->suite && !suite_ok(p->suite))
		return pl__y_fail_at(c, y->pos, "'%s/%s': not a valid suite name", p->name,
				     p->suite);
	return 0;
}

static int parse_pkgs(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *seq)
{
	if (pl__y_want_kind(c, seq, PL__Y_SEQ, "packages") < 0)
		return PL_EINVAL;
	if (!(r->pkgs = pl__calloc(seq->n + 1, sizeof(*r->pkgs), c->err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		if (parse_pkg(c, seq->items[i], &r->pkgs[r->npkgs++]) < 0)
			return PL_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->pkgs[j].name, r->pkgs[i].name))
				return pl__y_fail_at(c, seq->items[i]->pos,
						     "package '%s' is already listed at line %u",
						     r->pkgs[i].name, r->pkgs[j].pos.line);
	}
	return 0;
}

static bool glob_ok(const char *s)
{
	return *s == '/' && strlen(s) < PL_PATH_MAX && !strstr(s, "//");
}

static int parse_packages_part(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *top)
{
	const struct pl__ynode *v;
	if ((v = pl__y_lookup(top, "repositories")) && parse_repos(c, r, v) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(top, "packages")) && parse_pkgs(c, r, v) < 0)
		return PL_EINVAL;
	if (r->npkgs && !r->nrepos)
		return pl__y_fail_at(
		    c, v->pos,
		    "'packages' needs 'repositories' to take them from (for example "
		    "'repositories: [host]')");
	if ((v = pl__y_lookup(top, "exclude"))) {
		if (get_strv(c, v, "exclude", &r->exclude) < 0)
			return PL_EINVAL;
		for (size_t i = 0; i < r->exclude.n; i++)
			if (!glob_ok(r->exclude.v[i]))
				return pl__y_fail_at(
				    c, v->items[i]->pos,
				    "'exclude' entries are absolute path patterns like "
				    "'/usr/share/doc/**', not '%s'",
				    r->exclude.v[i]);
	}
	if ((v = pl__y_lookup(top, "assume-installed"))) {
		if (get_strv(c, v, "assume-installed", &r->assume_installed) < 0)
			return PL_EINVAL;
		for (size_t i = 0; i < r->assume_installed.n; i++)
			if (!pl__debname_valid(r->assume_installed.v[i]))
				return pl__y_fail_at(c, v->items[i]->pos,
						     "'%s' is not a Debian package name",
						     r->assume_installed.v[i]);
	}
	return 0;
}

static const char *const top_keys[] = {
	"name",     "version",     "description",
	"epoch",    "base",        "repositories",
	"packages", "exclude",     "assume-installed",
	"files",    "directories", "symlinks",
	"accounts", "config",      "tests",
	NULL,
};

static int parse_top(struct pl__yctx *c, struct pl_recipe *r, const struct pl__ynode *top)
{
	const struct pl__ynode *v;
	if (top->kind != PL__Y_MAP)
		return pl__y_fail_at(c, top->pos, "a recipe must be a mapping, not %s",
				     pl__y_kind_name(top));
	if (pl__y_check_keys(c, top, top_keys, NULL) < 0)
		return PL_EINVAL;

	if (pl__y_require(c, top, "name", NULL, &v) < 0 ||
	    pl__y_get_str(c, v, "name", &r->name) < 0)
		return PL_EINVAL;
	if (!valid_name(r->name))
		return pl__y_fail_at(c, v->pos,
				     "'name' must match [a-z0-9][a-z0-9._-]* (at most 128 "
				     "characters), not '%s'",
				     r->name);
	if (pl__y_require(c, top, "version", NULL, &v) < 0 ||
	    pl__y_get_str(c, v, "version", &r->version) < 0)
		return PL_EINVAL;
	if (!valid_version(r->version))
		return pl__y_fail_at(c, v->pos, "'version' must be MAJOR.MINOR.PATCH, not '%s'",
				     r->version);
	if ((v = pl__y_lookup(top, "description")) &&
	    pl__y_get_str(c, v, "description", &r->description) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(top, "epoch"))) {
		/* 9999-12-31T23:59:59Z: beyond it "created" is no RFC 3339 date */
		if (pl__y_get_u64(c, v, "epoch", 253402300799ULL, &r->epoch) < 0)
			return PL_EINVAL;
		r->has_epoch = true;
	}
	if ((v = pl__y_lookup(top, "base"))) {
		if (pl__y_get_str(c, v, "base", &r->base) < 0 || check_base(c, v) < 0)
			return PL_EINVAL;
		r->base_pos = v->pos;
	} else if (!(r->base = pl__strdup("scratch", c->err))) {
		return PL_ENOMEM;
	}
	if (parse_packages_part(c, r, top) < 0)
		return PL_EINVAL;

	if ((v = pl__y_lookup(top, "files")) && parse_files(c, r, v) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(top, "directories")) && parse_dirs(c, r, v) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(top, "symlinks")) && parse_links(c, r, v) < 0)
		return PL_EINVAL;
	if (check_duplicates(c, r) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(top, "accounts")) && parse_accounts(c, r, v) < 0)
		return PL_EINVAL;
	if (!r->run_as) {
		if (!(r->run_as = pl__strdup("nonroot", c->err)))
			return PL_ENOMEM;
		r->run_uid = r->run_gid = 65532;
	}
	if ((v = pl__y_lookup(top, "config")) && parse_config(c, r, v) < 0)
		return PL_EINVAL;
	if ((v = pl__y_lookup(top, "tests")) && parse_tests(c, r, v) < 0)
		return PL_EINVAL;
	return 0;
}

static char *dir_of(const char *path, struct pl_error **err)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return pl__strdup(".", err);
	if (slash == path)
		return pl__strdup("/", err);
	return pl__strndup(path, (size_t)(slash - path), err);
}

int pl_recipe_parse(const char *name, const char *data, size_t len, struct pl_recipe **out,
		    struct pl_error **err)
{
	struct pl__yctx c = { name, "recipe", err };
	cleanup_ynode struct pl__ynode *top = NULL;
	int rc = pl__y_load(&c, data, len, &top);
	if (rc < 0)
		return rc;
	struct pl_recipe *r = pl__calloc(1, sizeof(*r), err);
	if (!r)
		return PL_ENOMEM;
	pl__sha256(data, len, r->digest);
	if (!(r->path = pl__strdup(name, err)) || !(r->dir = dir_of(name, err))) {
		pl_recipe_free(r);
		return PL_ENOMEM;
	}
	rc = parse_top(&c, r, top);
	if (rc < 0) {
		pl_recipe_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int pl_recipe_load(const char *path, struct pl_recipe **out, struct pl_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	int rc = pl__read_file(path, PL_RECIPE_MAX, &data, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "recipe");
	return pl_recipe_parse(path, data, len, out, err);
}

static void strv_release(struct pl__strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static void kvv_release(struct pl__kvv *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].key);
		free(k->v[i].value);
	}
	free(k->v);
}

void pl_recipe_free(struct pl_recipe *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].source);
	}
	free(r->files);
	for (size_t i = 0; i < r->ndirs; i++)
		free(r->dirs[i].path);
	free(r->dirs);
	for (size_t i = 0; i < r->nlinks; i++) {
		free(r->links[i].path);
		free(r->links[i].target);
	}
	free(r->links);
	for (size_t i = 0; i < r->nusers; i++) {
		free(r->users[i].name);
		free(r->users[i].home);
		free(r->users[i].shell);
	}
	free(r->users);
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i].name);
	free(r->groups);
	for (size_t i = 0; i < r->ntests; i++) {
		strv_release(&r->tests[i].run);
		free(r->tests[i].expect_stdout);
		free(r->tests[i].expect_stderr);
	}
	free(r->tests);
	for (size_t i = 0; i < r->nrepos; i++) {
		free(r->repos[i].uri);
		strv_release(&r->repos[i].suites);
		strv_release(&r->repos[i].components);
		free(r->repos[i].keyring);
	}
	free(r->repos);
	for (size_t i = 0; i < r->npkgs; i++) {
		free(r->pkgs[i].name);
		free(r->pkgs[i].version);
		free(r->pkgs[i].suite);
	}
	free(r->pkgs);
	strv_release(&r->exclude);
	strv_release(&r->assume_installed);
	strv_release(&r->entrypoint);
	strv_release(&r->cmd);
	strv_release(&r->ports);
	kvv_release(&r->env);
	kvv_release(&r->labels);
	free(r->workdir);
	free(r->stop_signal);
	free(r->run_as);
	free(r->path);
	free(r->dir);
	free(r->name);
	free(r->version);
	free(r->description);
	free(r->base);
	free(r);
}

const char *pl_recipe_name(const struct pl_recipe *r)
{
	return r->name;
}

const char *pl_recipe_version(const struct pl_recipe *r)
{
	return r->version;
}

const char *pl_recipe_base(const struct pl_recipe *r)
{
	return r->base;
}

bool pl_recipe_epoch(const struct pl_recipe *r, uint64_t *epoch)
{
	if (r->has_epoch)
		*epoch = r->epoch;
	return r->has_epoch;
}
