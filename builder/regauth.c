/* regauth.c - registry credentials and WWW-Authenticate challenges (see regauth.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "json.h"
#include "regauth.h"

/* ---- credentials ------------------------------------------------------ */

static const char helper_sentence[] =
    "plinth does not run credential helpers ('credHelpers', 'credsStore'): store the "
    "registry's credentials in an auth file";

static void wipe_str(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
}

void pl__cred_release(struct pl__cred *c)
{
	if (!c)
		return;
	wipe_str(c->user);
	wipe_str(c->secret);
	free(c->user);
	free(c->secret);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

/* jansson frees its strings without wiping them: wipe every string value
 * of a parsed auth file (the secrets among them) before it is freed. */
static void json_wipe(json_t *j)
{
	size_t i;
	const char *k;
	json_t *v;
	if (json_is_string(j))
		OPENSSL_cleanse((char *)json_string_value(j), json_string_length(j));
	else if (json_is_object(j))
		json_object_foreach (j, k, v)
			json_wipe(v);
	else if (json_is_array(j))
		json_array_foreach (j, i, v)
			json_wipe(v);
}

static void json_wipe_decrefp(json_t **j)
{
	if (*j)
		json_wipe(*j);
	json_decref(*j);
}

/* A buffer wiped before it is freed. */
struct secret_buf {
	char *p;
	size_t n;
};

static void secret_buf_release(struct secret_buf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->n);
	free(b->p);
	b->p = NULL;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * Standard base64 with its padding, as docker and containers write it (and
 * Go's StdEncoding reads it): whole quads, '=' only at the end.  Unused low
 * bits of the last quad are not checked, as Go does not.  out holds at
 * least 3 * n / 4 + 1 bytes; *out_len gets the decoded length.
 */
static bool b64_decode(const char *s, size_t n, unsigned char *out, size_t *out_len)
{
	size_t o = 0;
	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t k = 0; k < 4; k++) {
			v[k] = b64_value(s[i + k]);
			if (v[k] < 0) {
				if (s[i + k] != '=' || i + 4 != n || k < 2)
					return false;
				pad++;
				v[k] = 0;
			} else if (pad) {
				return false; /* "a=b=" */
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	*out_len = o;
	return true;
}

/* What file and key an entry is, for messages (both shown printable). */
struct where {
	const char *file, *key;
};

static int entry_error(const struct where *w, const char *why, struct pl_error **err)
{
	cleanup_buf struct pl_buf f = { 0 };
	cleanup_buf struct pl_buf k = { 0 };
	if (pl_buf_init(&f, 0, err) < 0 || pl_buf_init(&k, 0, err) < 0 ||
	    pl__show(&f, w->file, strlen(w->file), 512, false, err) < 0 ||
	    pl__show(&k, w->key, strlen(w->key), 200, false, err) < 0)
		return PL_ENOMEM;
	return pl__error_set(err, PL_EINVAL, 0, "auth file '%s': entry '%s': %s", f.buf, k.buf,
			     why);
}

/* A member of an entry that must be a string when present: NULL when
 * absent or empty; *bad set when it is not a string. */
static const char *entry_string(json_t *entry, const char *name, bool *bad)
{
	json_t *v = json_object_get(entry, name);
	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_length(v) ? json_string_value(v) : NULL;
}

static int cred_set(struct pl__cred *c, const char *user, size_t user_len, const char *secret,
		    size_t secret_len, const char *source, struct pl_error **err)
{
	struct pl__cred r = { 0 };
	if ((user && !(r.user = pl__strndup(user, user_len, err))) ||
	    !(r.secret = pl__strndup(secret, secret_len, err)) ||
	    !(r.source = pl__strdup(source, err))) {
		pl__cred_release(&r);
		return PL_ENOMEM;
	}
	r.identity_token = !user;
	*c = r;
	return 0;
}

/* The credentials of one entry: 0 with *out, 1 when it holds none. */
static int entry_cred(const struct where *w, json_t *entry, struct pl__cred *out,
		      struct pl_error **err)
{
	if (!json_is_object(entry))
		return entry_error(w, "not an object", err);
	bool bad = false;
	const char *token = entry_string(entry, "identitytoken", &bad);
	if (bad)
		return entry_error(w, "'identitytoken' is not a string", err);
	if (token)
		return cred_set(out, NULL, 0, token, strlen(token), w->file, err);

	const char *auth = entry_string(entry, "auth", &bad);
	if (bad)
		return entry_error(w, "'auth' is not a string", err);
	if (auth) {
		size_t n = strlen(auth);
		__attribute__((cleanup(secret_buf_release))) struct secret_buf d = { 0 };
		d.n = n / 4 * 3 + 1;
		if (!(d.p = malloc(d.n)))
			return pl__error_nomem(err);
		size_t len;
		if (!b64_decode(auth, n, (unsigned char *)d.p, &len))
			return entry_error(w, "'auth' is not base64", err);
		if (memchr(d.p, '\0', len))
			return entry_error(w, "'auth' decodes to text holding a NUL byte", err);
		const char *colon = memchr(d.p, ':', len);
		if (!colon)
			return entry_error(w, "'auth' does not decode to 'user:password'", err);
		size_t ulen = (size_t)(colon - d.p);
		return cred_set(out, d.p, ulen, colon + 1, len - ulen - 1, w->file, err);
	}

	const char *user = entry_string(entry, "username", &bad);
	if (bad)
		return entry_error(w, "'username' is not a string", err);
	const char *password = entry_string(entry, "password", &bad);
	if (bad)
		return entry_error(w, "'password' is not a string", err);
	if (!user && !password)
		return 1;
	if (!user || !password)
		return entry_error(
		    w, user ? "'username' without 'password'" : "'password' without 'username'",
		    err);
	if (strchr(user, ':'))
		return entry_error(
		    w, "'username' holds ':', which Basic authentication cannot carry", err);
	return cred_set(out, user, strlen(user), password, strlen(password), w->file, err);
}

/* The docker.io aliases in keys and in the registry looked up. */
static bool docker_hub(const char *h, size_t n)
{
	return (n == 9 && !strncasecmp(h, "docker.io", n)) ||
	       (n == 15 && !strncasecmp(h, "index.docker.io", n)) ||
	       (n == 20 && !strncasecmp(h, "registry-1.docker.io", n));
}

/*
 * Whether the (normalised) key matches "registry/repo" (`name`, whose host
 * part is `host_len` bytes): equal to it or a prefix ending at a '/'.
 * The key's host is compared case-insensitively, the docker.io aliases as
 * one; *len gets the length of what matched, for "most specific".
 */
static bool key_matches(const char *key, const char *name, size_t host_len, size_t *len)
{
	bool legacy = false;
	if (!strncasecmp(key, "https://", 8) || !strncasecmp(key, "http://", 7)) {
		key += key[4] == ':' ? 7 : 8;
		legacy = true;
	}
	size_t klen = strlen(key);
	const char *slash = memchr(key, '/', klen);
	size_t khost = slash ? (size_t)(slash - key) : klen;
	if (legacy)
		klen = khost; /* "https://host/v1/": the path is the API's, not a namespace */
	bool host_ok = (khost == host_len && !strncasecmp(key, name, khost)) ||
		       (docker_hub(key, khost) && docker_hub(name, host_len));
	if (!host_ok)
		return false;
	const char *krest = key + khost, *nrest = name + host_len;
	size_t krest_len = klen - khost, nrest_len = strlen(nrest);
	if (krest_len > nrest_len || memcmp(krest, nrest, krest_len) ||
	    (krest_len < nrest_len && nrest[krest_len] != '/'))
		return false;
	/* plain keys before legacy ones of the same length */
	*len = 2 * (host_len + krest_len) + !legacy;
	return true;
}

struct candidate {
	const char *key;
	json_t *entry;
	size_t score, index;
};

static int candidate_cmp(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int file_error(const char *name, int code, const char *why, struct pl_error **err)
{
	cleanup_buf struct pl_buf f = { 0 };
	if (pl_buf_init(&f, 0, err) < 0 || pl__show(&f, name, strlen(name), 512, false, err) < 0)
		return PL_ENOMEM;
	return pl__error_set(err, code, 0, "auth file '%s': %s", f.buf, why);
}

static int syntax_error(const char *name, const json_error_t *je, struct pl_error **err)
{
	/* jansson quotes the text near the error, which may be a secret */
	char why[sizeof(je->text)];
	snprintf(why, sizeof(why), "%s", je->text);
	char *near = strstr(why, " near ");
	if (near)
		*near = '\0';
	char where[sizeof(why) + 64];
	snprintf(where, sizeof(where), "line %d, column %d: %s", je->line, je->column, why);
	return file_error(name, PL_EINVAL, where, err);
}

int pl__regauth_parse(const char *name, const char *text, size_t len, const char *registry,
		      const char *repo, struct pl__cred *out, const char **helper_note,
		      struct pl_error **err)
{
	memset(out, 0, sizeof(*out));
	if (helper_note)
		*helper_note = NULL;
	if (len > PL__REGAUTH_FILE_MAX)
		return file_error(name, PL_ELIMIT, "larger than the limit of 1048576 bytes", err);
	json_error_t je;
	__attribute__((cleanup(json_wipe_decrefp))) json_t *root =
	    json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return syntax_error(name, &je, err);
	if (!json_is_object(root))
		return file_error(name, PL_EINVAL, "not a JSON object", err);

	cleanup_free char *full =
	    pl__asprintf(err, "%s%s%s", registry, repo ? "/" : "", repo ? repo : "");
	if (!full)
		return PL_ENOMEM;
	size_t host_len = strlen(registry);

	json_t *auths = json_object_get(root, "auths");
	if (auths && !json_is_object(auths))
		return file_error(name, PL_EINVAL, "'auths' is not an object", err);
	size_t n = json_object_size(auths), nc = 0;
	cleanup_free struct candidate *c = NULL;
	if (n && !(c = pl__calloc(n, sizeof(*c), err)))
		return PL_ENOMEM;
	const char *key;
	json_t *entry;
	json_object_foreach (auths, key, entry) {
		size_t score;
		if (key_matches(key, full, host_len, &score)) {
			c[nc] = (struct candidate){ key, entry, score, nc };
			nc++;
		}
	}
	if (nc > 1)
		qsort(c, nc, sizeof(*c), candidate_cmp);
	for (size_t i = 0; i < nc; i++) {
		struct where w = { name, c[i].key };
		int rc = entry_cred(&w, c[i].entry, out, err);
		if (rc <= 0)
			return rc;
	}

	bool helper = false;
	json_t *store = json_object_get(root, "credsStore");
	if (json_is_string(store) && json_string_length(store))
		helper = true;
	json_t *helpers = json_object_get(root, "credHelpers");
	if (json_is_object(helpers))
		json_object_foreach (helpers, key, entry) {
			size_t score;
			if (key_matches(key, registry, host_len, &score))
				helper = true;
		}
	if (helper && helper_note)
		*helper_note = helper_sentence;
	return 1;
}

/* Read a whole auth file into a buffer wiped when freed; 1 when it does not exist. */
static int read_auth_file(const char *path, struct secret_buf *b, size_t *len,
			  struct pl_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 1;
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open auth file '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat auth file '%s'", path);
	if (!S_ISREG(st.st_mode))
		return pl__error_set(err, PL_EINVAL, 0, "auth file '%s' is not a regular file",
				     path);
	if ((uint64_t)st.st_size > PL__REGAUTH_FILE_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "auth file '%s' is larger than the limit of %zu bytes", path,
				     PL__REGAUTH_FILE_MAX);
	/* read into one buffer of the final size: growing it would leave
	 * copies of the secrets in freed memory */
	b->n = (size_t)st.st_size + 1;
	if (!(b->p = malloc(b->n)))
		return pl__error_nomem(err);
	size_t got = 0;
	while (got < b->n - 1) {
		ssize_t r = read(fd, b->p + got, b->n - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot read auth file '%s'",
					     path);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	b->p[got] = '\0';
	*len = got;
	return 0;
}

int pl__regauth_lookup(const char *const *files, const char *registry, const char *repo,
		       struct pl__cred *out, const char **helper_note, struct pl_error **err)
{
	memset(out, 0, sizeof(*out));
	if (helper_note)
		*helper_note = NULL;
	for (size_t i = 0; files && files[i]; i++) {
		__attribute__((cleanup(secret_buf_release))) struct secret_buf b = { 0 };
		size_t len = 0;
		int rc = read_auth_file(files[i], &b, &len, err);
		if (rc == 1)
			continue;
		if (rc < 0)
			return rc;
		const char *note = NULL;
		rc = pl__regauth_parse(files[i], b.p, len, registry, repo, out, &note, err);
		if (rc <= 0) {
			if (helper_note)
				*helper_note = NULL;
			return rc;
		}
		/* a helper named by one file does not hide the credentials in a
		 * later one: plinth cannot use the helper anyway */
		if (note && helper_note)
			*helper_note = note;
	}
	return 1;
}

char *pl__basic_auth(const struct pl__cred *c, struct pl_error **err)
{
	if (c->identity_token || !c->user || !c->secret) {
		pl__error_set(err, PL_EINVAL, 0,
			      "the credentials from '%s' are an identity token, not a user and a "
			      "password",
			      c->source ? c->source : "?");
		return NULL;
	}
	if (strchr(c->user, ':')) {
		pl__error_set(
		    err, PL_EINVAL, 0,
		    "the user name from '%s' holds ':', which Basic authentication cannot "
		    "carry",
		    c->source ? c->source : "?");
		return NULL;
	}
	size_t ul = strlen(c->user), sl = strlen(c->secret);
	if (ul > INT32_MAX / 2 || sl > INT32_MAX / 2) {
		pl__error_set(err, PL_ELIMIT, 0, "the credentials from '%s' are too long",
			      c->source ? c->source : "?");
		return NULL;
	}
	size_t n = ul + 1 + sl;
	__attribute__((cleanup(secret_buf_release))) struct secret_buf plain = { 0 };
	plain.n = n + 1;
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out || !(plain.p = malloc(plain.n))) {
		free(out);
		pl__error_nomem(err);
		return NULL;
	}
	memcpy(plain.p, c->user, ul);
	plain.p[ul] = ':';
	memcpy(plain.p + ul + 1, c->secret, sl + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain.p, (int)n);
	return out;
}

/* ---- challenges -------------------------------------------------------- */

void pl__challenge_release(struct pl__challenge *c)
{
	if (!c)
		return;
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

struct lexer {
	const char *h;
	size_t n, pos;
	char why[160]; /* set on a syntax error */
};

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_t68char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~+/", c));
}

static char peek(const struct lexer *l, size_t at)
{
	return at < l->n ? l->h[at] : '\0';
}

static size_t skip_ows(const struct lexer *l, size_t at)
{
	while (at < l->n && (l->h[at] == ' ' || l->h[at] == '\t'))
		at++;
	return at;
}

static size_t token_end(const struct lexer *l, size_t at)
{
	while (at < l->n && is_tchar(l->h[at]))
		at++;
	return at;
}

/* Note a syntax error at l->pos; returns 1, what the readers return for one. */
static int syntax(struct lexer *l, const char *what)
{
	snprintf(l->why, sizeof(l->why), "%s at offset %zu", what, l->pos);
	return 1;
}

/* Whether an auth-param (token BWS "=" BWS value) starts at `at`. */
static bool param_starts(const struct lexer *l, size_t at)
{
	size_t e = token_end(l, at);
	if (e == at)
		return false;
	e = skip_ows(l, e);
	if (peek(l, e) != '=')
		return false;
	e = skip_ows(l, e + 1);
	return peek(l, e) == '"' || is_tchar(peek(l, e));
}

/* A token or a quoted-string at l->pos, unquoted into *out (when `keep`;
 * malloc'ed). */
static int value(struct lexer *l, bool keep, char **out, struct pl_error **err)
{
	size_t start = l->pos;
	char *v = NULL;
	size_t o = 0;
	if (keep && !(v = malloc(l->n - start + 1)))
		return pl__error_nomem(err);
	if (peek(l, l->pos) != '"') {
		size_t e = token_end(l, l->pos);
		if (v)
			memcpy(v, l->h + start, e - start);
		o = e - start;
		l->pos = e;
	} else {
		for (l->pos++;; l->pos++) {
			unsigned char c = (unsigned char)peek(l, l->pos);
			if (l->pos >= l->n) {
				free(v);
				l->pos = start;
				return syntax(l, "a quoted string is not closed");
			}
			if (c == '"')
				break;
			if (c == '\\') {
				l->pos++;
				c = (unsigned char)peek(l, l->pos);
				if (l->pos >= l->n || (c < 0x20 && c != '\t') || c == 0x7f) {
					free(v);
					return syntax(l, "a quoted string has a bad escape");
				}
			} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
				free(v);
				return syntax(l, "a quoted string holds a control character");
			}
			if (v)
				v[o] = (char)c;
			o++;
		}
		l->pos++;
	}
	if (v) {
		v[o] = '\0';
		*out = v;
	}
	return 0;
}

/* A challenge being read, and which parameters it has seen. */
struct chal {
	struct pl__challenge c;
	int kind; /* 0 other, 1 basic, 2 bearer */
};

static char **param_slot(struct chal *ch, const char *name, size_t n)
{
	static const char *const names[] = { "realm", "service", "scope", "error" };
	char **slots[] = { &ch->c.realm, &ch->c.service, &ch->c.scope, &ch->c.error };
	for (size_t i = 0; i < 4; i++)
		if (strlen(names[i]) == n && !strncasecmp(name, names[i], n))
			return slots[i];
	return NULL;
}

/* One auth-param at l->pos (param_starts() said so).  1 on a syntax error. */
static int param(struct lexer *l, struct chal *ch, struct pl_error **err)
{
	size_t name = l->pos, name_end = token_end(l, l->pos);
	char **slot = ch->kind ? param_slot(ch, l->h + name, name_end - name) : NULL;
	l->pos = skip_ows(l, skip_ows(l, name_end) + 1);
	if (slot && *slot) {
		l->pos = name;
		return syntax(l, "a parameter is given twice");
	}
	char *v = NULL;
	int rc = value(l, slot != NULL, &v, err);
	if (rc != 0)
		return rc;
	if (slot)
		*slot = v;
	return 0;
}

/*
 * One challenge at l->pos into *ch.  0, 1 on a syntax error (l->why), or an
 * error.
 */
static int challenge(struct lexer *l, struct chal *ch, struct pl_error **err)
{
	size_t s = l->pos, e = token_end(l, s);
	if (e == s)
		return syntax(l, "an auth scheme is missing");
	if (e - s == 5 && !strncasecmp(l->h + s, "basic", 5))
		ch->kind = 1;
	else if (e - s == 6 && !strncasecmp(l->h + s, "bearer", 6))
		ch->kind = 2;
	l->pos = e;
	if (l->pos == l->n || peek(l, l->pos) == ',')
		return 0;
	if (peek(l, l->pos) != ' ' && peek(l, l->pos) != '\t')
		return syntax(l, "the auth scheme is not followed by a space");
	l->pos = skip_ows(l, l->pos);
	if (l->pos == l->n || peek(l, l->pos) == ',')
		return 0;
	if (!param_starts(l, l->pos)) {
		size_t t = l->pos;
		while (is_t68char(peek(l, t)))
			t++;
		if (t == l->pos)
			return syntax(l, "expected parameters after the auth scheme");
		while (peek(l, t) == '=')
			t++;
		l->pos = skip_ows(l, t);
		if (l->pos < l->n && peek(l, l->pos) != ',')
			return syntax(l, "expected ',' after a token68");
		return 0;
	}
	for (;;) {
		int rc = param(l, ch, err);
		if (rc != 0)
			return rc;
		l->pos = skip_ows(l, l->pos);
		if (l->pos == l->n)
			return 0;
		if (peek(l, l->pos) != ',')
			return syntax(l, "expected ',' after a parameter");
		size_t next = l->pos;
		while (peek(l, next) == ',' || peek(l, next) == ' ' || peek(l, next) == '\t')
			next++;
		if (next == l->n || !param_starts(l, next))
			return 0; /* the next challenge, or the end */
		l->pos = next;
	}
}

static int challenge_fail(const char *header, const char *why, struct pl_error **err)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, err) < 0 ||
	    pl__show(&b, header, strlen(header), 200, false, err) < 0)
		return PL_ENOMEM;
	return pl__error_set(err, PL_EINVAL, 0, "invalid WWW-Authenticate header '%s': %s", b.buf,
			     why);
}

int pl__challenge_parse(const char *header, struct pl__challenge *out, struct pl_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!header)
		header = "";
	size_t n = strlen(header);
	if (n > PL__CHALLENGE_MAX)
		return challenge_fail(header, "longer than 16384 bytes", err);
	struct lexer l = { header, n, 0, "" };
	struct chal bearer = { { 0 }, 0 }, basic = { { 0 }, 0 };
	bool realmless_bearer = false;
	int rc = 0;
	for (;;) {
		while (l.pos < n &&
		       (header[l.pos] == ',' || header[l.pos] == ' ' || header[l.pos] == '\t'))
			l.pos++;
		if (l.pos == n)
			break;
		struct chal ch = { { 0 }, 0 };
		if ((rc = challenge(&l, &ch, err)) != 0) {
			pl__challenge_release(&ch.c);
			break;
		}
		if (ch.kind == 2 && !ch.c.realm)
			realmless_bearer = true;
		if (ch.kind == 2 && ch.c.realm && !bearer.kind)
			bearer = ch;
		else if (ch.kind == 1 && !basic.kind)
			basic = ch;
		else
			pl__challenge_release(&ch.c);
	}
	struct chal *pick = bearer.kind ? &bearer : basic.kind ? &basic : NULL;
	if (rc == 0 && pick &&
	    !(pick->c.scheme = pl__strdup(pick->kind == 2 ? "bearer" : "basic", err)))
		rc = PL_ENOMEM;
	if (rc == 0 && pick) {
		*out = pick->c;
		memset(&pick->c, 0, sizeof(pick->c));
	}
	pl__challenge_release(&bearer.c);
	pl__challenge_release(&basic.c);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return challenge_fail(header, l.why, err);
	if (!pick)
		return challenge_fail(header,
				      realmless_bearer ? "the Bearer challenge has no realm"
						       : "no Basic or Bearer challenge",
				      err);
	return 0;
}
