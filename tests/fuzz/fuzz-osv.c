/*
 * fuzz-osv.c - libFuzzer target for OSV feeds, which come from outside:
 * the input is parsed as one feed file and matched against a fixed set of
 * installed packages; it is also read as an os-release and as a CVSS
 * vector.  Besides the sanitizers it checks what the scanner relies on:
 * errors carry their code and a message, matches are sorted without
 * duplicates, every string is printable, a fix is above the installed
 * version, scores are CVSS scores.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debversion.h"
#include "osv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pl__osv_pkg pkgs[] = {
	{ "libc6", "2.36-9+deb12u4", "amd64", "glibc (2.36-9+deb12u4)" },
	{ "libc6", "2.36-9+deb12u4", "i386", "glibc (2.36-9+deb12u4)" },
	{ "libc-bin", "2.36-9+deb12u3", "amd64", "glibc" },
	{ "libssl3", "3.0.15-1~deb12u1", "amd64", "openssl" },
	{ "zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib" },
	{ "tzdata", "2024a-0+deb12u1", "all", NULL },
	{ "odd", "not a version", "amd64", "odd (" },
};

static void check_error(int rc, struct pl_error *err)
{
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
}

static void check_printable(const char *s)
{
	if (!s || !pl__utf8_valid(s))
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			abort();
}

static void check_matches(const struct pl__osv_match *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		check_printable(m[i].id);
		check_printable(m[i].summary);
		check_printable(m[i].package);
		check_printable(m[i].arch);
		check_printable(m[i].source);
		check_printable(m[i].version);
		for (size_t k = 0; k < m[i].naliases; k++)
			check_printable(m[i].aliases[k]);
		const char *why;
		if (m[i].fixed && (!pl__debver_valid(m[i].fixed, &why) ||
				   pl__debver_cmp(m[i].version, m[i].fixed) >= 0))
			abort();
		if ((unsigned)m[i].severity > PL__SEV_CRITICAL || !m[i].severity_word ||
		    (strcmp(m[i].severity_word, pl__severity_name(m[i].severity)) &&
		     (strcmp(m[i].severity_word, "unknown") || m[i].severity != PL__SEV_MEDIUM)))
			abort();
		if (m[i].score != -1 && !(m[i].score >= 0 && m[i].score <= 10))
			abort();
		if (i == 0)
			continue;
		int c = strcmp(m[i - 1].package, m[i].package);
		if (!c)
			c = strcmp(m[i - 1].arch, m[i].arch);
		if (!c)
			c = strcmp(m[i - 1].id, m[i].id);
		if (c >= 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 20))
		return 0;
	const char *text = (const char *)data;
	struct pl_error *err = NULL;
	struct pl__osv *db = NULL;
	int rc = pl__osv_parse("fuzz", text, size, &db, &err);
	check_error(rc, err);
	for (int k = 0; rc == 0 && k < 2; k++) {
		struct pl__osv_match *m = NULL;
		size_t n = 0;
		err = NULL;
		int mrc = pl__osv_match(db, k ? "Debian:11" : "Debian:12", pkgs,
					sizeof(pkgs) / sizeof(*pkgs), &m, &n, &err);
		check_error(mrc, err);
		if (mrc < 0 || (n == 0) != (m == NULL))
			abort();
		check_matches(m, n);
		pl__osv_matches_free(m, n);
	}
	pl__osv_free(db);

	char eco[PL__OSV_ECO_MAX];
	err = NULL;
	rc = pl__osv_ecosystem(text, size, eco, sizeof(eco), &err);
	check_error(rc, err);
	if (rc == 0 && (strncmp(eco, "Debian:", 7) || !eco[7] ||
			strspn(eco + 7, "0123456789") != strlen(eco + 7)))
		abort();

	char *vector = malloc(size + 1);
	if (!vector)
		return 0;
	memcpy(vector, data, size);
	vector[size] = '\0';
	/* a base score is in [0, 10], with one decimal place */
	double score = -1;
	if (pl__cvss3_score(vector, &score)) {
		double tenths = score * 10 - (double)(long)(score * 10 + 0.5);
		if (!(score >= 0 && score <= 10) || tenths > 1e-6 || tenths < -1e-6)
			abort();
	}
	free(vector);
	return 0;
}
