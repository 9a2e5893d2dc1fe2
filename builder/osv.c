/*
 * osv.c - known vulnerabilities from an OSV feed (see osv.h).
 *
 * Loading keeps, of each record, what matching needs: its id, summary and
 * aliases, made printable once, and its Debian entries with their events
 * sorted and their severity worked out.  The entries of the whole feed are
 * sorted by package name, so matching an image is a binary search per
 * installed package.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debversion.h"
#include "json.h"
#include "osv.h"

/* ---- severities and CVSS ---------------------------------------------- */

static const char *const severity_names[] = { "none", "low", "medium", "high", "critical" };

const char *pl__severity_name(enum pl__severity s)
{
	return (unsigned)s <= PL__SEV_CRITICAL ? severity_names[s] : "unknown";
}

int pl__severity_parse(const char *word)
{
	static const struct {
		const char *word;
		enum pl__severity sev;
	} words[] = {
		{ "none", PL__SEV_INFO },
		{ "info", PL__SEV_INFO },
		{ "informational", PL__SEV_INFO },
		{ "negligible", PL__SEV_INFO },
		{ "low", PL__SEV_LOW },
		{ "unimportant", PL__SEV_LOW },
		{ "medium", PL__SEV_MEDIUM },
		{ "moderate", PL__SEV_MEDIUM },
		{ "high", PL__SEV_HIGH },
		{ "important", PL__SEV_HIGH },
		{ "critical", PL__SEV_CRITICAL },
	};
	for (size_t i = 0; word && i < sizeof(words) / sizeof(*words); i++)
		if (!strcasecmp(word, words[i].word))
			return (int)words[i].sev;
	return -1;
}

enum pl__severity pl__cvss_severity(double score)
{
	if (score >= 9.0)
		return PL__SEV_CRITICAL;
	if (score >= 7.0)
		return PL__SEV_HIGH;
	if (score >= 4.0)
		return PL__SEV_MEDIUM;
	return score > 0 ? PL__SEV_LOW : PL__SEV_INFO;
}

/* CVSS v3.1's Roundup: the smallest number of one decimal place at least
 * x, computed on integers so that 4.0000001 does not become 4.1. */
static double roundup(double x)
{
	long long i = (long long)(x * 100000 + 0.5);
	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

/* The metrics a v3 vector may hold; the first 8 are the base metrics. */
static const char *const cvss_metrics[] = {
	"AV", "AC", "PR", "UI",  "S",   "C",   "I",   "A",  "E",  "RL", "RC",
	"CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA",
};
#define CVSS_BASE    8
#define CVSS_METRICS (sizeof(cvss_metrics) / sizeof(*cvss_metrics))

/* The values each base metric allows, in the order of its weights. */
static const char *const cvss_values[CVSS_BASE] = { "NALP", "LH",  "NLH", "NR",
						    "UC",   "HLN", "HLN", "HLN" };

bool pl__cvss3_score(const char *vector, double *score)
{
	if (strncmp(vector, "CVSS:3.0/", 9) && strncmp(vector, "CVSS:3.1/", 9))
		return false;
	int base[CVSS_BASE];
	bool seen[CVSS_METRICS] = { false };
	for (const char *p = vector + 9;;) {
		size_t n = strcspn(p, ":/");
		if (p[n] != ':' || !p[n + 1] || (p[n + 2] && p[n + 2] != '/'))
			return false;
		size_t m = 0;
		while (m < CVSS_METRICS &&
		       (strlen(cvss_metrics[m]) != n || strncmp(p, cvss_metrics[m], n)))
			m++;
		if (m == CVSS_METRICS || seen[m])
			return false;
		seen[m] = true;
		char v = p[n + 1];
		if (m < CVSS_BASE) {
			const char *w = strchr(cvss_values[m], v);
			if (!w)
				return false;
			base[m] = (int)(w - cvss_values[m]);
		} else if (v < 'A' || v > 'Z') {
			return false;
		}
		if (!p[n + 2])
			break;
		p += n + 3;
	}
	for (size_t m = 0; m < CVSS_BASE; m++)
		if (!seen[m])
			return false;

	static const double av[] = { 0.85, 0.62, 0.55, 0.2 }, ac[] = { 0.77, 0.44 },
			    pr_u[] = { 0.85, 0.62, 0.27 }, pr_c[] = { 0.85, 0.68, 0.5 },
			    ui[] = { 0.85, 0.62 }, cia[] = { 0.56, 0.22, 0 };
	bool changed = base[4] == 1;
	double iss = 1 - (1 - cia[base[5]]) * (1 - cia[base[6]]) * (1 - cia[base[7]]);
	double impact;
	if (changed) {
		double t = iss - 0.02, t15 = 1;
		for (int k = 0; k < 15; k++)
			t15 *= t;
		impact = 7.52 * (iss - 0.029) - 3.25 * t15;
	} else {
		impact = 6.42 * iss;
	}
	double exploit =
	    8.22 * av[base[0]] * ac[base[1]] * (changed ? pr_c : pr_u)[base[2]] * ui[base[3]];
	if (impact <= 0) {
		*score = 0;
		return true;
	}
	double sum = changed ? 1.08 * (impact + exploit) : impact + exploit;
	*score = roundup(sum < 10 ? sum : 10);
	return true;
}

/* ---- os-release --------------------------------------------------------- */

/*
 * The value of `key` in os-release text, unquoted as a shell would, into
 * out[size]; the last assignment wins.  false when there is none or it
 * does not fit.
 */
static bool os_release_get(const char *text, size_t len, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	bool found = false;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (n <= klen || strncmp(line, key, klen) || line[klen] != '=')
			continue;
		const char *v = line + klen + 1, *end = line + n;
		size_t o = 0;
		bool ok = true;
		char quote = v < end && (*v == '"' || *v == '\'') ? *v++ : 0;
		for (; v < end && ok; v++) {
			char c = *v;
			if (quote && c == quote) {
				quote = 0;
				continue;
			}
			if (!quote && (c == ' ' || c == '\t' || c == '\r'))
				break; /* trailing blanks */
			if (c == '\0')
				ok = false;
			if (quote == '"' && c == '\\' && v + 1 < end && strchr("\"\\$`", v[1]))
				c = *++v;
			if (o + 1 >= size)
				ok = false;
			else
				out[o++] = c;
		}
		if (ok && !quote) {
			out[o] = '\0';
			found = true;
		}
	}
	return found;
}

int pl__osv_ecosystem(const char *text, size_t len, char *out, size_t size, struct pl_error **err)
{
	char id[64], version[16];
	if (!os_release_get(text, len, "ID", id, sizeof(id)))
		return pl__error_set(err, PL_EINVAL, 0,
				     "os-release has no ID: only Debian images can be matched");
	if (strcmp(id, "debian")) {
		bool printable =
		    id[0] && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(id);
		return pl__error_set(err, PL_EINVAL, 0,
				     "os-release ID '%s' is not 'debian': only Debian images can "
				     "be matched",
				     printable ? id : "?");
	}
	if (!os_release_get(text, len, "VERSION_ID", version, sizeof(version)))
		return pl__error_set(err, PL_EINVAL, 0,
				     "os-release has no VERSION_ID (Debian testing or unstable?): "
				     "only Debian releases can be matched");
	size_t n = strlen(version);
	if (n == 0 || n > 8 || strspn(version, "0123456789") != n)
		return pl__error_set(err, PL_EINVAL, 0,
				     "os-release VERSION_ID is not a Debian release number");
	int w = snprintf(out, size, "Debian:%s", version);
	if (w < 0 || (size_t)w >= size)
		return pl__error_set(err, PL_ELIMIT, 0, "the ecosystem name does not fit");
	return 0;
}

/* ---- printable strings -------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at p (its code point in
 * *cp), or 0. */
static size_t utf8_char(const unsigned char *p, uint32_t *cp)
{
	unsigned c = p[0], n;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 1;
		*cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		*cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		*cp = c & 0x07;
	} else {
		return 0;
	}
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
	if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n + 1;
}

/* Whether a terminal could be fooled by code point cp: controls, and the
 * invisible and bidirectional formatting characters. */
static bool hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

static bool is_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		size_t n = utf8_char(p, &cp);
		if (!n || hidden(cp))
			return false;
		p += n;
	}
	return true;
}

/* A copy of s with what is_printable() refuses escaped. */
static char *printable(const char *s, struct pl_error **err)
{
	if (is_printable(s))
		return pl__strdup(s, err);
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, err) < 0)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		size_t n = utf8_char(p, &cp);
		int rc;
		if (!n || cp < 0x80)
			rc = !n || hidden(cp) ? pl_buf_addf(&b, err, "\\x%02x", *p)
					      : pl_buf_add(&b, p, 1, err);
		else
			rc = hidden(cp) ? pl_buf_addf(&b, err, "\\u%04x", (unsigned)cp)
					: pl_buf_add(&b, p, n, err);
		if (rc < 0)
			return NULL;
		p += n ? n : 1;
	}
	return pl_buf_detach(&b, NULL);
}

/* ---- the loaded feed ---------------------------------------------------- */

enum ev_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED };

struct event {
	enum ev_kind kind;
	char *version; /* NULL: introduced "0", before every version */
	size_t seq;    /* its place in the record, to sort stably */
};

/* An ECOSYSTEM range: its events sorted, and its limits apart. */
struct range {
	struct event *ev;
	size_t nev, aev;
	char **limits;
	size_t nlimits, alimits;
	bool unlimited; /* a '*' limit: as if there were no limits */
};

/* An affected[] entry for a Debian ecosystem. */
struct entry {
	size_t rec; /* index of its record */
	size_t seq; /* its place in the feed */
	char *ecosystem, *name;
	char **versions;
	size_t nversions, aversions;
	struct range *ranges;
	size_t nranges, aranges;
	double score; /* CVSS v3 base score, or -1 */
	int sev;      /* enum pl__severity, or -1: unknown */
};

struct record {
	char *id, *summary;
	char **aliases;
	size_t naliases, aaliases;
};

struct pl__osv {
	struct record *rec;
	size_t nrec, arec;
	struct entry *ent; /* sorted by name, then feed order, when loaded */
	size_t nent, aent;
	size_t seen; /* records read, against PL__OSV_RECORDS_MAX */
};

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void entry_release(struct entry *e)
{
	free(e->ecosystem);
	free(e->name);
	strv_free(e->versions, e->nversions);
	for (size_t i = 0; i < e->nranges; i++) {
		struct range *r = &e->ranges[i];
		for (size_t k = 0; k < r->nev; k++)
			free(r->ev[k].version);
		free(r->ev);
		strv_free(r->limits, r->nlimits);
	}
	free(e->ranges);
}

static void record_release(struct record *r)
{
	free(r->id);
	free(r->summary);
	strv_free(r->aliases, r->naliases);
}

void pl__osv_free(struct pl__osv *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->nrec; i++)
		record_release(&db->rec[i]);
	for (size_t i = 0; i < db->nent; i++)
		entry_release(&db->ent[i]);
	free(db->rec);
	free(db->ent);
	free(db);
}

void pl__osv_freep(struct pl__osv **db)
{
	pl__osv_free(*db);
}

size_t pl__osv_count(const struct pl__osv *db)
{
	return db->nrec;
}

static void entryp_release(struct entry **e)
{
	if (*e) {
		entry_release(*e);
		free(*e);
	}
}
#define cleanup_entry __attribute__((cleanup(entryp_release)))

#define cleanup_record __attribute__((cleanup(record_release)))

static int strv_add(char ***v, size_t *n, size_t *alloc, char *s, struct pl_error **err)
{
	if (!s)
		return PL_ENOMEM;
	if (pl__grow(v, alloc, *n + 1, sizeof(**v), err) < 0) {
		free(s);
		return PL_ENOMEM;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/* A string member of `o`: NULL when absent, not a string or holding a
 * NUL byte (which would make "glibc\u0000x" name glibc). */
static const char *str_member(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* A version an event or versions[] may hold: dpkg's syntax, so that it
 * orders, and free of NUL bytes hidden in the JSON string. */
static bool version_ok(const json_t *v)
{
	const char *why;
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
	       pl__debver_valid(json_string_value(v), &why);
}

static bool is_debian(const char *ecosystem)
{
	return !strcmp(ecosystem, "Debian") || !strncmp(ecosystem, "Debian:", 7);
}

static bool event_before(const struct event *a, const struct event *b)
{
	if (!a->version || !b->version) {
		if (a->version != b->version)
			return !a->version;
	} else {
		int c = pl__debver_cmp(a->version, b->version);
		if (c)
			return c < 0;
	}
	if (a->kind != b->kind)
		return a->kind == EV_INTRODUCED;
	return a->seq < b->seq;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	return event_before(x, y) ? -1 : event_before(y, x) ? 1 : 0;
}

static int parse_range(const json_t *jr, struct range *r, struct pl_error **err)
{
	static const char *const kinds[] = { "introduced", "fixed", "last_affected", "limit" };
	json_t *events = json_object_get(jr, "events");
	if (!json_is_array(events))
		return pl__error_set(err, PL_EINVAL, 0, "'events' is not an array");
	size_t k;
	json_t *jev;
	json_array_foreach (events, k, jev) {
		int kind = -1;
		json_t *val = NULL;
		for (int t = 0; t < 4 && kind != -2; t++) {
			json_t *v = json_object_get(jev, kinds[t]);
			if (v && (kind >= 0 || !json_is_string(v))) {
				kind = -2;
			} else if (v) {
				kind = t;
				val = v;
			}
		}
		if (kind < 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "events %zu: not one string introduced, fixed, "
					     "last_affected or limit",
					     k + 1);
		const char *s = json_string_value(val);
		bool ok = version_ok(val);
		if (kind == 3) {
			/* a limit that cannot be ordered counts as '*' */
			if (!ok || strchr(s, '*'))
				r->unlimited = true;
			else if (strv_add(&r->limits, &r->nlimits, &r->alimits, pl__strdup(s, err),
					  err) < 0)
				return PL_ENOMEM;
			continue;
		}
		/* Invalid fixed and last_affected versions are dropped, an
		 * invalid introduced counts as "0": a range too wide rather
		 * than a vulnerability hidden. */
		if (!ok && kind != EV_INTRODUCED)
			continue;
		if (pl__grow(&r->ev, &r->aev, r->nev + 1, sizeof(*r->ev), err) < 0)
			return PL_ENOMEM;
		struct event *e = &r->ev[r->nev];
		e->kind = (enum ev_kind)kind;
		e->seq = k;
		e->version = NULL;
		if (ok && !(kind == EV_INTRODUCED && !strcmp(s, "0")) &&
		    !(e->version = pl__strdup(s, err)))
			return PL_ENOMEM;
		r->nev++;
	}
	if (r->nev > 1)
		qsort(r->ev, r->nev, sizeof(*r->ev), event_cmp);
	return 0;
}

/* The highest CVSS v3 base score in a severity[] array, or -1. */
static double best_cvss(const json_t *sev)
{
	double best = -1;
	size_t i;
	json_t *s;
	if (!json_is_array(sev))
		return best;
	json_array_foreach (sev, i, s) {
		const char *type = str_member(s, "type"), *vec = str_member(s, "score");
		double score;
		if (type && vec && !strcmp(type, "CVSS_V3") && pl__cvss3_score(vec, &score) &&
		    score > best)
			best = score;
	}
	return best;
}

/* The severity a word o[key] names, or -1. */
static int word_severity(const json_t *o, const char *key)
{
	return pl__severity_parse(str_member(o, key));
}

/*
 * Parse affected[] entry `ja` of record number `rec` into *out: 1 when it
 * is a Debian entry, 0 when it is for another ecosystem.
 */
static int parse_entry(const json_t *ja, size_t rec, double rec_score, int rec_sev,
		       struct entry **out, struct pl_error **err)
{
	*out = NULL;
	if (!json_is_object(ja))
		return pl__error_set(err, PL_EINVAL, 0, "not an object");
	json_t *pkg = json_object_get(ja, "package");
	if (!pkg)
		return 0; /* a GIT-only entry */
	if (!json_is_object(pkg))
		return pl__error_set(err, PL_EINVAL, 0, "'package' is not an object");
	const char *eco = str_member(pkg, "ecosystem"), *name = str_member(pkg, "name");
	if (!eco || !name)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'package' has no string 'ecosystem' and 'name'");
	if (!is_debian(eco))
		return 0;
	cleanup_entry struct entry *e = pl__calloc(1, sizeof(*e), err);
	if (!e)
		return PL_ENOMEM;
	e->rec = rec;
	if (!(e->ecosystem = pl__strdup(eco, err)) || !(e->name = pl__strdup(name, err)))
		return PL_ENOMEM;

	json_t *versions = json_object_get(ja, "versions"), *v;
	size_t i;
	if (versions && !json_is_array(versions))
		return pl__error_set(err, PL_EINVAL, 0, "'versions' is not an array");
	json_array_foreach (versions, i, v) {
		if (!json_is_string(v))
			return pl__error_set(err, PL_EINVAL, 0, "versions %zu: not a string",
					     i + 1);
		if (version_ok(v) && strv_add(&e->versions, &e->nversions, &e->aversions,
					      pl__strdup(json_string_value(v), err), err) < 0)
			return PL_ENOMEM;
	}

	json_t *ranges = json_object_get(ja, "ranges"), *jr;
	if (ranges && !json_is_array(ranges))
		return pl__error_set(err, PL_EINVAL, 0, "'ranges' is not an array");
	json_array_foreach (ranges, i, jr) {
		const char *type = str_member(jr, "type");
		if (!type)
			return pl__error_set(err, PL_EINVAL, 0,
					     "ranges %zu: not an object with a string 'type'",
					     i + 1);
		if (strcmp(type, "ECOSYSTEM"))
			continue;
		if (pl__grow(&e->ranges, &e->aranges, e->nranges + 1, sizeof(*e->ranges), err) < 0)
			return PL_ENOMEM;
		struct range *r = &e->ranges[e->nranges++];
		memset(r, 0, sizeof(*r));
		int rc = parse_range(jr, r, err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "ranges %zu", i + 1);
	}

	e->score = best_cvss(json_object_get(ja, "severity"));
	if (e->score < 0)
		e->score = rec_score;
	e->sev = e->score >= 0 ? (int)pl__cvss_severity(e->score) : -1;
	if (e->sev < 0)
		e->sev = word_severity(json_object_get(ja, "database_specific"), "severity");
	if (e->sev < 0)
		e->sev = word_severity(json_object_get(ja, "ecosystem_specific"), "urgency");
	if (e->sev < 0)
		e->sev = rec_sev;
	*out = steal_pointer(&e);
	return 1;
}

/* Add record `jrec`, named `what` in errors. */
static int add_record(struct pl__osv *db, const char *what, const json_t *jrec,
		      struct pl_error **err)
{
	if (!json_is_object(jrec))
		return pl__error_set(err, PL_EINVAL, 0, "%s: not a JSON object", what);
	json_t *jid = json_object_get(jrec, "id");
	const char *id = json_string_value(jid);
	if (!id)
		return pl__error_set(err, PL_EINVAL, 0, "%s: no string 'id'", what);
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen > PL__OSV_ID_MAX || idlen != json_string_length(jid) ||
	    !is_printable(id) || strchr(id, ' '))
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s: 'id' is not 1 to %d printable characters without blanks",
				     what, PL__OSV_ID_MAX);
	if (json_object_get(jrec, "withdrawn"))
		return 0;
	json_t *affected = json_object_get(jrec, "affected");
	if (affected && !json_is_array(affected))
		return pl__error_set(err, PL_EINVAL, 0, "%s ('%s'): 'affected' is not an array",
				     what, id);

	double rec_score = best_cvss(json_object_get(jrec, "severity"));
	int rec_sev = word_severity(json_object_get(jrec, "database_specific"), "severity");
	size_t first = db->nent, i;
	json_t *ja;
	int rc = 0;
	json_array_foreach (affected, i, ja) {
		cleanup_entry struct entry *e = NULL;
		rc = parse_entry(ja, db->nrec, rec_score, rec_sev, &e, err);
		if (rc < 0) {
			rc = pl__error_wrap(err, rc, "%s ('%s'): affected %zu", what, id, i + 1);
			break;
		}
		if (rc == 0)
			continue;
		if ((rc = pl__grow(&db->ent, &db->aent, db->nent + 1, sizeof(*db->ent), err)) < 0)
			break;
		e->seq = db->nent;
		db->ent[db->nent++] = *e;
		free(steal_pointer(&e));
	}
	if (rc >= 0 && db->nent == first)
		return 0; /* nothing for Debian */

	cleanup_record struct record r = { 0 };
	if (rc >= 0 && !(r.id = pl__strdup(id, err)))
		rc = PL_ENOMEM;
	const char *summary = json_string_value(json_object_get(jrec, "summary"));
	if (rc >= 0 && !(r.summary = printable(summary ? summary : "", err)))
		rc = PL_ENOMEM;
	json_t *aliases = json_object_get(jrec, "aliases"), *a;
	json_array_foreach (aliases, i, a) {
		if (rc < 0)
			break;
		if (json_is_string(a))
			rc = strv_add(&r.aliases, &r.naliases, &r.aaliases,
				      printable(json_string_value(a), err), err);
	}
	if (rc >= 0)
		rc = pl__grow(&db->rec, &db->arec, db->nrec + 1, sizeof(*db->rec), err);
	if (rc < 0) {
		/* the entries added point to a record that is not there */
		while (db->nent > first)
			entry_release(&db->ent[--db->nent]);
		return rc;
	}
	db->rec[db->nrec++] = r;
	memset(&r, 0, sizeof(r));
	return 0;
}

/* Add the records of one file's text. */
static int add_text(struct pl__osv *db, const char *name, const char *text, size_t len,
		    struct pl_error **err)
{
	cleanup_free char *what = pl__asprintf(err, "feed '%s'", name);
	if (!what)
		return PL_ENOMEM;
	cleanup_json json_t *doc = NULL;
	int rc = pl__json_parse(what, text, len, &doc, err);
	if (rc < 0)
		return rc;
	if (!json_is_array(doc)) {
		if (++db->seen > PL__OSV_RECORDS_MAX)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "%s: the feed holds more than %zu "
					     "records",
					     what, PL__OSV_RECORDS_MAX);
		return add_record(db, what, doc, err);
	}
	size_t i;
	json_t *jrec;
	json_array_foreach (doc, i, jrec) {
		if (++db->seen > PL__OSV_RECORDS_MAX)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "%s: the feed holds more than %zu records", what,
					     PL__OSV_RECORDS_MAX);
		cleanup_free char *rwhat = pl__asprintf(err, "%s: record %zu", what, i + 1);
		if (!rwhat)
			return PL_ENOMEM;
		if ((rc = add_record(db, rwhat, jrec, err)) < 0)
			return rc;
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void finish(struct pl__osv *db)
{
	if (db->nent > 1)
		qsort(db->ent, db->nent, sizeof(*db->ent), entry_cmp);
}

int pl__osv_parse(const char *name, const char *text, size_t len, struct pl__osv **out,
		  struct pl_error **err)
{
	cleanup_osv struct pl__osv *db = pl__calloc(1, sizeof(*db), err);
	if (!db)
		return PL_ENOMEM;
	int rc = add_text(db, name, text, len, err);
	if (rc < 0)
		return rc;
	finish(db);
	*out = steal_pointer(&db);
	return 0;
}

/* Add the file `name` below dirfd: `dir` names dirfd in errors (NULL for
 * the working directory), `shown` the file. */
static int add_file(struct pl__osv *db, int dirfd, const char *dir, const char *name,
		    const char *shown, struct pl_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	int rc = pl__read_fileat(dirfd, name, PL__OSV_FILE_MAX, &text, &len, err);
	if (rc < 0)
		return dir ? pl__error_wrap(err, rc, "feed '%s'", dir)
			   : pl__error_wrap(err, rc, "feed");
	return add_text(db, shown, text, len, err);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(struct pl__osv *db, const char *path, struct pl_error **err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open feed '%s'", path);
	__attribute__((cleanup(closedirp))) DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return pl__error_set(err, PL_ESYS, e, "cannot open feed '%s'", path);
	}
	char **names = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while (rc == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		if (n == PL__OSV_FILES_MAX)
			rc = pl__error_set(err, PL_ELIMIT, 0, "feed '%s' holds more than %zu files",
					   path, PL__OSV_FILES_MAX);
		else
			rc = strv_add(&names, &n, &alloc, pl__strdup(de->d_name, err), err);
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = pl__error_set(err, PL_ESYS, errno, "cannot read feed '%s'", path);
	if (rc == 0 && n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cleanup_free char *shown = pl__asprintf(err, "%s/%s", path, names[i]);
		rc = shown ? add_file(db, dirfd(d), path, names[i], shown, err) : PL_ENOMEM;
	}
	strv_free(names, n);
	return rc;
}

int pl__osv_load(const char *path, struct pl__osv **out, struct pl_error **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot read feed '%s'", path);
	cleanup_osv struct pl__osv *db = pl__calloc(1, sizeof(*db), err);
	if (!db)
		return PL_ENOMEM;
	int rc = S_ISDIR(st.st_mode) ? add_dir(db, path, err)
				     : add_file(db, AT_FDCWD, NULL, path, path, err);
	if (rc < 0)
		return rc;
	finish(db);
	*out = steal_pointer(&db);
	return 0;
}

/* ---- matching ------------------------------------------------------------ */

static bool before_limits(const struct range *r, const char *v)
{
	if (r->unlimited || !r->nlimits)
		return true;
	for (size_t i = 0; i < r->nlimits; i++)
		if (pl__debver_cmp(v, r->limits[i]) < 0)
			return true;
	return false;
}

/* Whether v is in range r (the schema's IncludedInRanges for one range);
 * *fixed: the first fixed version above v, or NULL. */
static bool in_range(const struct range *r, const char *v, const char **fixed)
{
	*fixed = NULL;
	if (!before_limits(r, v))
		return false;
	bool vulnerable = false;
	for (size_t k = 0; k < r->nev; k++) {
		const struct event *e = &r->ev[k];
		int c = e->version ? pl__debver_cmp(v, e->version) : 1;
		if (e->kind == EV_INTRODUCED && c >= 0)
			vulnerable = true;
		else if (e->kind == EV_FIXED && c >= 0)
			vulnerable = false;
		else if (e->kind == EV_LAST_AFFECTED && c > 0)
			vulnerable = false;
		else if (e->kind == EV_FIXED && c < 0 && !*fixed && vulnerable)
			*fixed = e->version;
	}
	return vulnerable; /* events above v come last: *fixed is NULL unless vulnerable */
}

/* Whether entry e holds version v; *fixed as for in_range(). */
static bool entry_affects(const struct entry *e, const char *v, const char **fixed)
{
	bool hit = false;
	*fixed = NULL;
	for (size_t i = 0; i < e->nranges && !*fixed; i++) {
		const char *f;
		if (in_range(&e->ranges[i], v, &f)) {
			hit = true;
			*fixed = f;
		}
	}
	for (size_t i = 0; i < e->nversions && !hit; i++)
		hit = !pl__debver_cmp(v, e->versions[i]);
	return hit;
}

struct hit {
	const char *name, *arch, *id;
	size_t pkg, rec;
	const struct entry *e;
	const char *fixed;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->arch, y->arch);
	if (!c)
		c = strcmp(x->id, y->id);
	if (!c)
		c = x->pkg < y->pkg ? -1 : x->pkg > y->pkg;
	if (!c)
		c = x->rec < y->rec ? -1 : x->rec > y->rec;
	return c;
}

/* The source package's name and version of p: the Source field's, else
 * the binary's.  A Source field that does not parse names the source by
 * its first word. */
static int source_of(const struct pl__osv_pkg *p, char **name, char **version,
		     struct pl_error **err)
{
	const char *s = p->source ? p->source : "";
	s += strspn(s, " \t");
	size_t n = strcspn(s, " \t(");
	const char *ver = p->version;
	size_t vlen = strlen(ver);
	const char *open = strchr(s + n, '(');
	if (open) {
		const char *v = open + 1 + strspn(open + 1, " \t");
		size_t m = strcspn(v, " \t)");
		const char *close = v + m + strspn(v + m, " \t");
		if (m && *close == ')') {
			ver = v;
			vlen = m;
		}
	}
	*name = n ? pl__strndup(s, n, err) : pl__strdup(p->name, err);
	*version = *name ? pl__strndup(ver, vlen, err) : NULL;
	return *version ? 0 : PL_ENOMEM;
}

void pl__osv_matches_free(struct pl__osv_match *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		struct pl__osv_match *m = &v[i];
		free(m->id);
		free(m->summary);
		strv_free(m->aliases, m->naliases);
		free(m->package);
		free(m->arch);
		free(m->source);
		free(m->version);
		free(m->fixed);
	}
	free(v);
}

struct hits {
	struct hit *v;
	size_t n, alloc;
};

static void hits_release(struct hits *h)
{
	free(h->v);
}

/* Fill m from hit h; m is zeroed and freed by the caller on failure. */
static int fill_match(const struct pl__osv *db, const struct pl__osv_pkg *pkgs, const struct hit *h,
		      struct pl__osv_match *m, struct pl_error **err)
{
	const struct record *r = &db->rec[h->rec];
	const struct pl__osv_pkg *p = &pkgs[h->pkg];
	cleanup_free char *source = NULL, *version = NULL;
	if (source_of(p, &source, &version, err) < 0 || !(m->id = pl__strdup(r->id, err)) ||
	    !(m->summary = pl__strdup(r->summary, err)) ||
	    !(m->package = printable(p->name, err)) || !(m->arch = printable(p->arch, err)) ||
	    !(m->source = printable(source, err)) || !(m->version = printable(version, err)) ||
	    (h->fixed && !(m->fixed = pl__strdup(h->fixed, err))))
		return PL_ENOMEM;
	if (r->naliases && !(m->aliases = pl__calloc(r->naliases, sizeof(char *), err)))
		return PL_ENOMEM;
	for (; m->naliases < r->naliases; m->naliases++)
		if (!(m->aliases[m->naliases] = pl__strdup(r->aliases[m->naliases], err)))
			return PL_ENOMEM;
	m->score = h->e->score;
	if (h->e->sev < 0) {
		m->severity = PL__SEV_MEDIUM;
		m->severity_word = "unknown";
	} else {
		m->severity = (enum pl__severity)h->e->sev;
		m->severity_word = pl__severity_name(m->severity);
	}
	return 0;
}

/* The hits of package number i: one per record, its best entry. */
static int match_pkg(const struct pl__osv *db, const char *ecosystem,
		     const struct pl__osv_pkg *pkgs, size_t i, struct hits *hits,
		     struct pl_error **err)
{
	cleanup_free char *source = NULL, *version = NULL;
	int rc = source_of(&pkgs[i], &source, &version, err);
	if (rc < 0)
		return rc;
	size_t lo = 0, hi = db->nent;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(db->ent[mid].name, source) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The entries of one record are adjacent; of those that hold the
	 * version, one for the exact release wins over one for "Debian". */
	for (size_t k = lo; k < db->nent && !strcmp(db->ent[k].name, source);) {
		size_t rec = db->ent[k].rec;
		const struct entry *best = NULL;
		const char *best_fixed = NULL;
		bool best_exact = false;
		for (; k < db->nent && db->ent[k].rec == rec && !strcmp(db->ent[k].name, source);
		     k++) {
			const struct entry *e = &db->ent[k];
			bool exact = !strcmp(e->ecosystem, ecosystem);
			const char *fixed;
			if ((!exact && strcmp(e->ecosystem, "Debian")) ||
			    (best && (best_exact || !exact)) || !entry_affects(e, version, &fixed))
				continue;
			best = e;
			best_fixed = fixed;
			best_exact = exact;
		}
		if (!best)
			continue;
		if ((rc = pl__grow(&hits->v, &hits->alloc, hits->n + 1, sizeof(*hits->v), err)) < 0)
			return rc;
		hits->v[hits->n++] = (struct hit){ .name = pkgs[i].name,
						   .arch = pkgs[i].arch,
						   .id = db->rec[rec].id,
						   .pkg = i,
						   .rec = rec,
						   .e = best,
						   .fixed = best_fixed };
	}
	return 0;
}

int pl__osv_match(const struct pl__osv *db, const char *ecosystem, const struct pl__osv_pkg *pkgs,
		  size_t npkgs, struct pl__osv_match **out, size_t *n, struct pl_error **err)
{
	if (!ecosystem || strncmp(ecosystem, "Debian:", 7) || !ecosystem[7])
		return pl__error_set(err, PL_EINVAL, 0,
				     "ecosystem '%s' is not Debian's: only Debian can be matched",
				     ecosystem && is_printable(ecosystem) ? ecosystem : "?");
	for (size_t i = 0; i < npkgs; i++)
		if (!pkgs[i].name || !pkgs[i].version || !pkgs[i].arch)
			return pl__error_set(err, PL_EINVAL, 0,
					     "package %zu lacks its name, version or architecture",
					     i + 1);
	__attribute__((cleanup(hits_release))) struct hits hits = { 0 };
	for (size_t i = 0; i < npkgs; i++) {
		int rc = match_pkg(db, ecosystem, pkgs, i, &hits, err);
		if (rc < 0)
			return rc;
	}
	if (hits.n > 1)
		qsort(hits.v, hits.n, sizeof(*hits.v), hit_cmp);
	struct pl__osv_match *v = NULL;
	size_t nv = 0;
	if (hits.n && !(v = pl__calloc(hits.n, sizeof(*v), err)))
		return PL_ENOMEM;
	for (size_t i = 0; i < hits.n; i++) {
		const struct hit *h = &hits.v[i], *prev = i ? h - 1 : NULL;
		if (prev && !strcmp(prev->name, h->name) && !strcmp(prev->arch, h->arch) &&
		    !strcmp(prev->id, h->id))
			continue;
		int rc = fill_match(db, pkgs, h, &v[nv++], err);
		if (rc < 0) {
			pl__osv_matches_free(v, nv);
			return rc;
		}
	}
	if (!nv) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = nv;
	return 0;
}
