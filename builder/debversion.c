/* debversion.c - dpkg's version syntax and ordering (see debversion.h). */
#include <string.h>

#include "debversion.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The weight of a character in a non-digit run; the end of a run weighs 0. */
static int weight(char c)
{
	if (c == '\0' || is_digit(c))
		return 0;
	if (is_alpha(c))
		return (unsigned char)c;
	if (c == '~')
		return -1;
	return (unsigned char)c + 256;
}

/* Compare two upstream parts or two revisions over [a, a_end), [b, b_end). */
static int cmp_part(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		while ((a < ae && !is_digit(*a)) || (b < be && !is_digit(*b))) {
			int wa = a < ae ? weight(*a) : 0, wb = b < be ? weight(*b) : 0;
			if (wa != wb)
				return wa - wb;
			a += a < ae;
			b += b < be;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		int first = 0;
		while (a < ae && b < be && is_digit(*a) && is_digit(*b)) {
			if (!first)
				first = *a - *b;
			a++;
			b++;
		}
		if (a < ae && is_digit(*a))
			return 1;
		if (b < be && is_digit(*b))
			return -1;
		if (first)
			return first;
	}
	return 0;
}

struct parts {
	unsigned long long epoch;
	const char *up, *up_end, *rev, *rev_end;
};

static void split(const char *s, struct parts *p)
{
	const char *colon = strchr(s, ':');
	p->epoch = 0;
	if (colon && colon > s && strspn(s, "0123456789") == (size_t)(colon - s)) {
		for (const char *d = s; d < colon && p->epoch < 1000000000ULL; d++)
			p->epoch = p->epoch * 10 + (unsigned)(*d - '0');
		s = colon + 1;
	}
	const char *dash = strrchr(s, '-');
	p->up = s;
	p->up_end = dash ? dash : s + strlen(s);
	p->rev = dash ? dash + 1 : p->up_end;
	p->rev_end = dash ? dash + 1 + strlen(dash + 1) : p->up_end;
}

int pl__debver_cmp(const char *a, const char *b)
{
	struct parts x, y;
	split(a, &x);
	split(b, &y);
	if (x.epoch != y.epoch)
		return x.epoch < y.epoch ? -1 : 1;
	int d = cmp_part(x.up, x.up_end, y.up, y.up_end);
	return d ? d : cmp_part(x.rev, x.rev_end, y.rev, y.rev_end);
}

bool pl__debver_valid(const char *s, const char **why)
{
	size_t n = strlen(s);
	if (n == 0 || n > PL_DEBVER_MAX) {
		*why = n ? "longer than 256 bytes" : "empty";
		return false;
	}
	const char *colon = strchr(s, ':');
	if (colon) {
		size_t digits = (size_t)(colon - s);
		if (digits == 0 || digits > 9 || strspn(s, "0123456789") != digits) {
			*why = "the epoch is not a number";
			return false;
		}
		s = colon + 1;
	}
	const char *dash = strrchr(s, '-');
	size_t up_len = dash ? (size_t)(dash - s) : strlen(s);
	if (up_len == 0 || !is_digit(s[0])) {
		*why = "the upstream version does not start with a digit";
		return false;
	}
	static const char up_ok[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~-:";
	for (size_t i = 0; i < up_len; i++)
		if (!strchr(up_ok, s[i]) || (s[i] == ':' && !colon)) {
			*why = "the upstream version holds a character dpkg does not allow";
			return false;
		}
	if (dash) {
		const char *rev = dash + 1;
		if (!*rev || strspn(rev, up_ok) != strlen(rev) || strpbrk(rev, "-:")) {
			*why = *rev ? "the revision holds a character dpkg does not allow"
				    : "the revision is empty";
			return false;
		}
	}
	return true;
}

bool pl__debname_valid(const char *s)
{
	size_t n = strlen(s);
	return n >= 2 && n <= 128 && ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789+-.") == n;
}

bool pl__pool_path_valid(const char *s)
{
	if (!*s || *s == '/' || strlen(s) >= PL_PATH_MAX || strpbrk(s, " \t\r\n\\?#%"))
		return false;
	for (const char *c = s;;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[n])
			return true;
		c += n + 1;
	}
}
