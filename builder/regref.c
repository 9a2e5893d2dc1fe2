/* regref.c - registry references (see regref.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "regref.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* The parts of a reference, as spans of the string being parsed. */
struct parts {
	const char *reg, *repo, *tag, *digest;
	size_t reg_len, repo_len, tag_len, digest_len; /* tag, digest: NULL when absent */
};

/* One DNS label: [A-Za-z0-9], '-' inside, at most 63. */
static bool dns_label_ok(const char *p, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(p[0]) || !is_alnum(p[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum(p[i]) && p[i] != '-')
			return false;
	return true;
}

static const char *host_why(const char *p, size_t n)
{
	if (n == 0)
		return "the registry host is empty";
	if (strspn(p, "0123456789.") >= n) {
		char a[16];
		struct in_addr in;
		if (n >= sizeof(a))
			return "the registry host is not an IPv4 address";
		memcpy(a, p, n);
		a[n] = '\0';
		/* glibc refuses leading zeros, which some libcs read as octal */
		if (inet_pton(AF_INET, a, &in) != 1)
			return "the registry host is not an IPv4 address";
		return NULL;
	}
	if (n > 253)
		return "the registry host is longer than 253 characters";
	for (size_t i = 0; i < n;) {
		const char *dot = memchr(p + i, '.', n - i);
		size_t len = dot ? (size_t)(dot - (p + i)) : n - i;
		if (!dns_label_ok(p + i, len) || (dot && (size_t)(dot - p) + 1 == n))
			return "the registry host is not a DNS name (labels of letters, digits and "
			       "inner '-', joined by '.')";
		i += len + 1;
	}
	return NULL;
}

static const char *port_why(const char *p, size_t n)
{
	if (n == 0 || n > 5 || p[0] == '0' || strspn(p, "0123456789") < n)
		return "the registry port is not a number from 1 to 65535";
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	return v > 65535 ? "the registry port is not a number from 1 to 65535" : NULL;
}

/* "host[:port]" or "[v6][:port]". */
static const char *registry_why(const char *p, size_t n)
{
	const char *host = p, *colon;
	size_t host_len;
	if (n && p[0] == '[') {
		const char *close = memchr(p, ']', n);
		if (!close)
			return "the registry's IPv6 address has no closing ']'";
		char a[INET6_ADDRSTRLEN];
		struct in6_addr in6;
		size_t len = (size_t)(close - p) - 1;
		if (len == 0 || len >= sizeof(a))
			return "the registry host is not an IPv6 address";
		memcpy(a, p + 1, len);
		a[len] = '\0';
		if (strspn(a, "0123456789abcdefABCDEF:.") < len ||
		    inet_pton(AF_INET6, a, &in6) != 1)
			return "the registry host is not an IPv6 address";
		size_t after = n - (size_t)(close + 1 - p);
		if (after == 0)
			return NULL;
		if (close[1] != ':')
			return "the registry's IPv6 address is followed by something other than "
			       "':PORT'";
		return port_why(close + 2, after - 1);
	}
	colon = memchr(p, ':', n);
	host_len = colon ? (size_t)(colon - p) : n;
	const char *why = host_why(host, host_len);
	if (why || !colon)
		return why;
	return port_why(colon + 1, n - host_len - 1);
}

/* One path component of a repository name. */
static bool component_ok(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		size_t run = 0;
		while (i < n && is_lower_alnum(p[i]))
			i++, run++;
		if (run == 0)
			return false;
		if (i == n)
			return true;
		if (p[i] == '.')
			i++;
		else if (p[i] == '_')
			i += i + 1 < n && p[i + 1] == '_' ? 2 : 1;
		else if (p[i] == '-')
			while (i < n && p[i] == '-')
				i++;
		else
			return false;
	}
}

static const char *repo_why(const char *p, size_t n)
{
	if (n == 0)
		return "the repository name is empty";
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			return "repository names are lowercase";
	for (size_t i = 0; i <= n;) {
		const char *slash = memchr(p + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - (p + i)) : n - i;
		if (len == 0)
			return "the repository name has an empty path component";
		if (!component_ok(p + i, len))
			return "a repository path component is lowercase letters and digits, "
			       "separated by one '.', one or two '_' or any number of '-'";
		i += len + 1;
	}
	return NULL;
}

static const char *tag_why(const char *p, size_t n)
{
	if (n == 0)
		return "the tag after ':' is empty";
	if (n > PL__REGTAG_MAX)
		return "the tag is longer than 128 characters";
	if (!is_alnum(p[0]) && p[0] != '_')
		return "the tag does not start with a letter, a digit or '_'";
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(p[i]) && !strchr("_.-", p[i]))
			return "the tag holds a character other than letters, digits, '_', '.' "
			       "and '-'";
	return NULL;
}

static const char *digest_why(const char *p, size_t n)
{
	static const char prefix[] = "sha256:";
	size_t plen = sizeof(prefix) - 1;
	if (n < plen || memcmp(p, prefix, plen))
		return memchr(p, ':', n) ? "only sha256 digests are supported"
					 : "the digest is not 'sha256:' and 64 hex digits";
	if (n != plen + 64 || strspn(p + plen, "0123456789abcdef") < 64)
		return "the digest is not 'sha256:' and 64 lowercase hex digits";
	return NULL;
}

/* What follows the registry: "repo[:tag][@digest]". */
static const char *rest_why(const char *rest, struct parts *pt)
{
	size_t n = strlen(rest);
	const char *at = memchr(rest, '@', n);
	size_t name_len = at ? (size_t)(at - rest) : n;
	const char *colon = memchr(rest, ':', name_len);
	pt->repo = rest;
	pt->repo_len = colon ? (size_t)(colon - rest) : name_len;
	const char *why = repo_why(pt->repo, pt->repo_len);
	if (why)
		return why;
	if (colon) {
		pt->tag = colon + 1;
		pt->tag_len = name_len - pt->repo_len - 1;
		if ((why = tag_why(pt->tag, pt->tag_len)))
			return why;
	}
	if (at) {
		pt->digest = at + 1;
		pt->digest_len = n - name_len - 1;
		if ((why = digest_why(pt->digest, pt->digest_len)))
			return why;
	}
	return NULL;
}

static bool looks_like_registry(const char *p, size_t n)
{
	return memchr(p, '.', n) || memchr(p, ':', n) || (n == 9 && !memcmp(p, "localhost", 9));
}

static int fail(const char *what, const char *s, const char *why, const char *example,
		struct pl_error **err)
{
	cleanup_buf struct pl_buf b = { 0 };
	size_t n = strlen(s);
	/* whole, unless it is refused for its length */
	if (pl_buf_init(&b, 0, err) < 0 ||
	    pl__show(&b, s, n, n > PL__REGREF_MAX ? 200 : SIZE_MAX, false, err) < 0)
		return PL_ENOMEM;
	if (example)
		return pl__error_set(err, PL_EINVAL, 0,
				     "invalid %s '%s': a registry host is needed, e.g. "
				     "'registry.example/%s'",
				     what, b.buf, example);
	return pl__error_set(err, PL_EINVAL, 0, "invalid %s '%s': %s", what, b.buf, why);
}

static int parse(const char *s, bool repo_only, struct pl__regref *out, struct pl_error **err)
{
	const char *what = repo_only ? "registry repository" : "registry reference";
	memset(out, 0, sizeof(*out));
	size_t n = strlen(s);
	if (n > PL__REGREF_MAX)
		return fail(what, s, "longer than 1024 bytes", NULL, err);
	struct parts pt = { 0 };
	const char *slash = strchr(s, '/');
	if (!slash || !looks_like_registry(s, (size_t)(slash - s))) {
		/* show the fix with the user's own words when prefixing fixes it */
		struct parts probe = { 0 };
		bool fits =
		    n && !rest_why(s, &probe) && (!repo_only || (!probe.tag && !probe.digest));
		return fail(what, s, NULL, fits ? s : repo_only ? "REPO" : "REPO:TAG", err);
	}
	pt.reg = s;
	pt.reg_len = (size_t)(slash - s);
	const char *why = registry_why(pt.reg, pt.reg_len);
	if (!why)
		why = rest_why(slash + 1, &pt);
	if (!why && pt.reg_len + 1 + pt.repo_len > PL__REGNAME_MAX)
		why = "the name (registry and repository) is longer than 255 characters";
	if (!why && repo_only && (pt.tag || pt.digest))
		why = "a repository name has no tag or digest";
	if (why)
		return fail(what, s, why, NULL, err);

	struct pl__regref r = { 0 };
	if (!(r.registry = pl__strndup(pt.reg, pt.reg_len, err)) ||
	    !(r.repo = pl__strndup(pt.repo, pt.repo_len, err)) ||
	    (pt.tag && !(r.tag = pl__strndup(pt.tag, pt.tag_len, err))) ||
	    (pt.digest && !(r.digest = pl__strndup(pt.digest, pt.digest_len, err)))) {
		pl__regref_release(&r);
		return PL_ENOMEM;
	}
	for (char *c = r.registry; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	*out = r;
	return 0;
}

int pl__regref_parse(const char *s, struct pl__regref *out, struct pl_error **err)
{
	return parse(s, false, out, err);
}

int pl__regrepo_parse(const char *s, struct pl__regref *out, struct pl_error **err)
{
	return parse(s, true, out, err);
}

void pl__regref_release(struct pl__regref *r)
{
	if (!r)
		return;
	free(r->registry);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}
