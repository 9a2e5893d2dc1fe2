/* secrets.c - what looks like a secret in text (see secrets.h). */
#include <ctype.h>
#include <string.h>

#include "secrets.h"

#define PEM_BODY_MIN 40 /* base64 characters a key's body has at least */

static bool upper_digit(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool b64(char c)
{
	return alnum(c) || c == '+' || c == '/' || c == '=';
}

static bool starts(const char *p, const char *end, const char *s)
{
	size_t k = strlen(s);
	return (size_t)(end - p) >= k && !memcmp(p, s, k);
}

#define SPAN_MAX  256 /* characters of a run a pattern looks at */
#define PEM_LINE  256 /* bytes of a PEM header line */
#define PEM_LINES 8   /* lines before a key's body */

/* How many characters from p (before end) satisfy ok(), counting at most
 * SPAN_MAX: no pattern needs more, and a cap keeps a long run from being
 * walked again from each of its positions. */
static size_t span(const char *p, const char *end, bool (*ok)(char))
{
	const char *q = p;
	while (q < end && q - p < SPAN_MAX && ok(*q))
		q++;
	return (size_t)(q - p);
}

static bool token_char(char c)
{
	return alnum(c) || c == '_' || c == '-';
}

/* The length of the line break at p: a newline (after a CR or not), or
 * the escaped "\\n" of a key inside a JSON or YAML string; 0 for none. */
static size_t line_break(const char *p, const char *end)
{
	if (p < end && *p == '\n')
		return 1;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	if (end - p >= 2 && p[0] == '\\' && p[1] == 'n')
		return 2;
	if (end - p >= 4 && !memcmp(p, "\\r\\n", 4))
		return 4;
	return 0;
}

/* "-----BEGIN ... PRIVATE KEY-----" and a base64 body after it: a run of
 * PEM_BODY_MIN base64 characters, or lines of them, after at most
 * PEM_LINES short header lines ("Proc-Type: ..."). */
static bool pem_key(const char *p, const char *end)
{
	if (!starts(p, end, "-----BEGIN "))
		return false;
	const char *q = p + 11;
	while (q < end && (upper_digit(*q) || *q == ' ') && q - p < 80)
		q++;
	if (q - p < 11 + 11 || memcmp(q - 11, "PRIVATE KEY", 11) || !starts(q, end, "-----"))
		return false;
	q += 5;
	size_t body = 0;
	for (unsigned lines = 0; q < end && lines < PEM_LINES; lines++) {
		for (size_t k; (k = line_break(q, end));)
			q += k;
		/* a key in a YAML block scalar is indented */
		for (const char *in = q; q < end && q - in < PEM_LINE && (*q == ' ' || *q == '\t');)
			q++;
		size_t k = span(q, end, b64);
		if (k >= PEM_BODY_MIN || (k && (body += k) >= PEM_BODY_MIN))
			return true;
		if (k && (q + k == end || line_break(q + k, end))) {
			q += k; /* a short base64 line */
			continue;
		}
		body = 0; /* a header line: to its end */
		const char *h = q;
		while (q < end && q - h < PEM_LINE && !line_break(q, end))
			q++;
		if (q == end || q - h >= PEM_LINE)
			return false; /* no header is that long */
	}
	return false;
}

static bool aws_key_id(const char *start, const char *p, const char *end)
{
	static const char *const prefixes[] = { "AKIA", "ASIA", "AGPA", "AIDA", "AROA",
						"ANPA", "ANVA", "AIPA", NULL };
	if (p > start && upper_digit(p[-1]))
		return false;
	for (const char *const *x = prefixes; *x; x++)
		if (starts(p, end, *x) && span(p + 4, end, upper_digit) == 16)
			return !starts(p + 13, end, "EXAMPLE");
	return false;
}

/* A token of `prefix` and exactly `len` (or, with `at_least`, at least
 * `len`) characters of `ok`, standing alone. */
static bool token(const char *start, const char *p, const char *end, const char *prefix, size_t len,
		  bool at_least, bool (*ok)(char))
{
	size_t k = strlen(prefix);
	if ((p > start && token_char(p[-1])) || !starts(p, end, prefix))
		return false;
	size_t n = span(p + k, end, ok);
	return at_least ? n >= len : n == len;
}

static bool slack_char(char c)
{
	return alnum(c) || c == '-';
}

static bool gitlab_char(char c)
{
	return alnum(c) || c == '_' || c == '-';
}

static bool pat_char(char c)
{
	return alnum(c) || c == '_';
}

static enum pl__secret_kind token_at(const char *start, const char *p, const char *end)
{
	switch (*p) {
	case '-':
		return pem_key(p, end) ? PL__SECRET_PRIVATE_KEY : PL__SECRET_KINDS;
	case 'A':
		return aws_key_id(start, p, end) ? PL__SECRET_AWS_KEY_ID : PL__SECRET_KINDS;
	case 'g':
		for (const char *const *x =
			 (const char *const[]){ "ghp_", "gho_", "ghu_", "ghs_", "ghr_", NULL };
		     *x; x++)
			if (token(start, p, end, *x, 36, false, alnum))
				return PL__SECRET_GITHUB;
		if (token(start, p, end, "github_pat_", 82, false, pat_char))
			return PL__SECRET_GITHUB;
		if (token(start, p, end, "glpat-", 20, false, gitlab_char))
			return PL__SECRET_GITLAB;
		return PL__SECRET_KINDS;
	case 'x':
		if (starts(p, end, "xox") && (size_t)(end - p) > 4 && p[3] &&
		    strchr("baprs", p[3]) && p[4] == '-' &&
		    token(start, p, end, "xox", 12, true, slack_char))
			return PL__SECRET_SLACK;
		return PL__SECRET_KINDS;
	case 'h':
		if (starts(p, end, "hooks.slack.com/services/T") &&
		    span(p + 25, end, slack_char) + 25 < (size_t)(end - p) &&
		    p[25 + span(p + 25, end, slack_char)] == '/')
			return PL__SECRET_SLACK;
		return PL__SECRET_KINDS;
	default:
		return PL__SECRET_KINDS;
	}
}

static bool ci_contains(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(s + i, word, k))
			return true;
	return false;
}

static bool ci_ends(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !strncasecmp(s + n - k, suffix, k);
}

/* A key naming a secret it holds (not a path to one, not a switch). */
static bool secret_key(const char *k, size_t n, bool broad)
{
	static const char *const words[] = { "password", "passwd", "secret", NULL };
	static const char *const more[] = { "token",      "api_key",     "apikey",
					    "api-key",    "private_key", "private-key",
					    "access_key", "access-key",  "credential",
					    NULL };
	static const char *const refs[] = { "_file",    "-file", "_path",   "-path",
					    "_dir",     "-dir",  "_cmd",    "-cmd",
					    "_command", "_env",  "_length", NULL };
	bool hit = false;
	if (n == 6 && !strncasecmp(k, "passwd", 6))
		return false; /* the account database, as nsswitch.conf names it */
	for (const char *const *w = words; *w && !hit; w++)
		hit = ci_contains(k, n, *w);
	for (const char *const *w = more; broad && *w && !hit; w++)
		hit = ci_contains(k, n, *w);
	for (const char *const *r = refs; hit && *r; r++)
		if (ci_ends(k, n, *r))
			return false;
	return hit;
}

bool pl__secret_name(const char *name)
{
	return secret_key(name, strlen(name), true);
}

/* A value that is no secret: empty, a placeholder, a reference, a word. */
static bool placeholder(const char *v, size_t n)
{
	static const char *const words[] = { "true", "false", "yes",      "no",       "null",
					     "none", "nil",   "required", "optional", NULL };
	if (n == 0 || strchr("$%<{*", v[0]) || (n >= 2 && v[0] == '[' && v[n - 1] == ']'))
		return true;
	for (const char *const *w = words; *w; w++)
		if (strlen(*w) == n && !strncasecmp(v, *w, n))
			return true;
	return false;
}

static bool key_char(char c)
{
	return alnum(c) || c == '_' || c == '-' || c == '.';
}

/* "KEY = VALUE", "KEY: VALUE", "\"KEY\": \"VALUE\"" in [p, end) (one line):
 * the value's start when KEY names a secret (AWS's secret key when `aws`)
 * and VALUE is a literal. */
static const char *assignment(const char *p, const char *end, bool aws, const char **vend)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && (*p == '"' || *p == '\''))
		p++;
	if (starts(p, end, "export "))
		p += 7;
	const char *k = p;
	p += span(p, end, key_char);
	size_t kn = (size_t)(p - k);
	if (kn == 0 || (aws ? !(kn == 21 && !strncasecmp(k, "aws_secret_access_key", 21))
			    : !secret_key(k, kn, false)))
		return NULL;
	if (p < end && (*p == '"' || *p == '\''))
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || (*p != '=' && *p != ':'))
		return NULL;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *v = p;
	if (p < end && (*p == '"' || *p == '\'')) {
		char q = *p++;
		v = p;
		while (p < end && *p != q)
			p++;
		if (p >= end)
			return NULL;
	} else {
		while (p < end && *p != ' ' && *p != '\t' && *p != '#' && *p != ';' && *p != ',' &&
		       *p != '\r')
			p++;
	}
	if (placeholder(v, (size_t)(p - v)))
		return NULL;
	*vend = p;
	return v;
}

static bool aws_secret_value(const char *v, const char *vend)
{
	bool (*ok)(char) = b64;
	return vend - v == 40 && span(v, vend, ok) == 40 &&
	       !starts(v, vend, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
}

/* The characters a token can start with: '-' (PEM), 'A' (AWS), 'g'
 * (GitHub, GitLab), 'x' (Slack), 'h' (Slack webhooks). */
static const bool trigger[256] = {
	['-'] = true, ['A'] = true, ['g'] = true, ['x'] = true, ['h'] = true
};

size_t pl__secrets_find(const char *p, size_t n, size_t from, bool config, unsigned *seen,
			struct pl__secret_hit *hits, size_t max)
{
	const char *start = p, *end = p + n;
	const unsigned all = (1u << PL__SECRET_KINDS) - 1;
	size_t found = 0;
	while (p < end && found < max && (*seen & all) != all) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *v, *vend;
		/* an assignment is judged where its line starts */
		bool whole = (size_t)(p - start) >= from;
		if (whole && !(*seen & 1u << PL__SECRET_AWS_SECRET) &&
		    (v = assignment(p, eol, true, &vend)) && aws_secret_value(v, vend)) {
			hits[found++] =
			    (struct pl__secret_hit){ PL__SECRET_AWS_SECRET, (size_t)(p - start) };
			*seen |= 1u << PL__SECRET_AWS_SECRET;
		} else if (whole && config && found < max && !(*seen & 1u << PL__SECRET_PASSWORD) &&
			   assignment(p, eol, false, &vend)) {
			hits[found++] =
			    (struct pl__secret_hit){ PL__SECRET_PASSWORD, (size_t)(p - start) };
			*seen |= 1u << PL__SECRET_PASSWORD;
		}
		const char *q = p > start + from ? p : start + from;
		for (; q < eol && found < max; q++) {
			if (!trigger[(unsigned char)*q])
				continue;
			enum pl__secret_kind k = token_at(start, q, end);
			if (k == PL__SECRET_KINDS || (*seen & 1u << k))
				continue;
			*seen |= 1u << k;
			hits[found++] = (struct pl__secret_hit){ k, (size_t)(q - start) };
		}
		p = nl ? nl + 1 : end;
	}
	return found;
}

const char *pl__secret_what(enum pl__secret_kind k)
{
	switch (k) {
	case PL__SECRET_PRIVATE_KEY:
		return "a PEM private key";
	case PL__SECRET_AWS_KEY_ID:
		return "an AWS access key id";
	case PL__SECRET_AWS_SECRET:
		return "an AWS secret access key";
	case PL__SECRET_GITHUB:
		return "a GitHub token";
	case PL__SECRET_GITLAB:
		return "a GitLab token";
	case PL__SECRET_SLACK:
		return "a Slack token";
	case PL__SECRET_PASSWORD:
		return "a password";
	default:
		return "a secret";
	}
}

bool pl__secret_config_path(const char *path)
{
	static const char *const ext[] = { ".conf",       ".cfg",  ".ini", ".cnf",
					   ".properties", ".yaml", ".yml", ".json",
					   ".toml",       ".xml",  ".env", NULL };
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(path, "etc/", 4) || !strcmp(base, ".env") || !strncmp(base, ".env.", 5))
		return true;
	size_t n = strlen(base);
	for (const char *const *e = ext; *e; e++)
		if (ci_ends(base, n, *e))
			return true;
	return false;
}
