/*
 * fuzz-registry.c - libFuzzer target for what a registry client reads from
 * outside: the input is parsed as an image reference, as a repository name,
 * as a WWW-Authenticate header and as an auth file looked up for a few
 * registries.  Besides the sanitizers it checks what the client relies on:
 * errors carry their code and a message, a parsed reference prints back to
 * what was parsed (the host lowercased) and parses again the same, a picked
 * challenge is Basic or Bearer with a realm, and credentials are whole and
 * encode to the Basic header they stand for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "regauth.h"
#include "regref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, struct pl_error *err)
{
	if ((rc < 0) != (err != NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
	pl_error_free(err);
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void check_ref(const char *text, bool repo_only)
{
	struct pl_error *err = NULL;
	cleanup_regref struct pl__regref r = { 0 };
	int rc = (repo_only ? pl__regrepo_parse : pl__regref_parse)(text, &r, &err);
	check_error(rc, err);
	if (rc < 0) {
		if (r.registry || r.repo || r.tag || r.digest)
			abort();
		return;
	}
	if (!r.registry || !r.repo || (repo_only && (r.tag || r.digest)) ||
	    strlen(r.registry) + 1 + strlen(r.repo) > PL__REGNAME_MAX)
		abort();
	char *s = NULL;
	if (!(s = pl__asprintf(NULL, "%s/%s%s%s%s%s", r.registry, r.repo, r.tag ? ":" : "",
			       r.tag ? r.tag : "", r.digest ? "@" : "", r.digest ? r.digest : "")))
		return;
	size_t reg = strlen(r.registry);
	if (strlen(s) != strlen(text) || strncasecmp(s, text, reg) || strcmp(s + reg, text + reg))
		abort();
	for (const char *c = r.registry; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			abort();
	cleanup_regref struct pl__regref again = { 0 };
	if (pl__regref_parse(s, &again, NULL) != 0 || !same(again.registry, r.registry) ||
	    !same(again.repo, r.repo) || !same(again.tag, r.tag) || !same(again.digest, r.digest))
		abort();
	free(s);
}

static void check_challenge(const char *text)
{
	struct pl_error *err = NULL;
	cleanup_challenge struct pl__challenge c = { 0 };
	int rc = pl__challenge_parse(text, &c, &err);
	check_error(rc, err);
	if (rc < 0) {
		if (c.scheme || c.realm || c.service || c.scope || c.error)
			abort();
		return;
	}
	if (!c.scheme || (strcmp(c.scheme, "basic") && strcmp(c.scheme, "bearer")) ||
	    (!strcmp(c.scheme, "bearer") && !c.realm))
		abort();
}

static void check_cred(const char *text, size_t size, const char *registry, const char *repo)
{
	struct pl_error *err = NULL;
	cleanup_cred struct pl__cred c = { 0 };
	const char *note = "unset";
	int rc = pl__regauth_parse("fuzz", text, size, registry, repo, &c, &note, &err);
	check_error(rc, err);
	if (rc != 0) {
		if (c.user || c.secret || c.source || (rc < 0 && note != NULL))
			abort();
		return;
	}
	if (!c.secret || !c.source || strcmp(c.source, "fuzz") || c.identity_token != !c.user ||
	    note)
		abort();
	if (c.identity_token)
		return;
	cleanup_free char *b64 = pl__basic_auth(&c, &err);
	if (!b64) {
		if (!strchr(c.user, ':'))
			abort();
		pl_error_free(err);
		return;
	}
	size_t n = strlen(b64), ul = strlen(c.user), sl = strlen(c.secret);
	cleanup_free unsigned char *plain = malloc(n / 4 * 3 + 1);
	if (!plain)
		return;
	int got = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)n);
	size_t pad = (n && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	if (got < 0 || (size_t)got - pad != ul + 1 + sl || memcmp(plain, c.user, ul) ||
	    plain[ul] != ':' || memcmp(plain + ul + 1, c.secret, sl))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > PL__REGAUTH_FILE_MAX)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_ref(text, false);
	check_ref(text, true);
	check_challenge(text);
	check_cred(text, size, "r.example", "ns/repo");
	check_cred(text, size, "registry-1.docker.io", "library/debian");
	check_cred(text, size, "localhost:5000", NULL);
	free(text);
	return 0;
}
