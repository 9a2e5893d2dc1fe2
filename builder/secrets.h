/*
 * secrets.h - what looks like a secret in text: private keys, cloud and
 * chat tokens, passwords in configuration.
 *
 * Patterns are matched by hand, not with regular expressions, so that
 * scanning an image's every file stays linear and cheap:
 *   - PEM private keys: "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----" followed
 *     by at least one line of base64 (a bare header, as in OpenSSL's own
 *     strings, is not a key);
 *   - AWS access key ids (AKIA, ASIA and the other documented prefixes,
 *     then 16 of [A-Z0-9]) and secret keys (40 base64 characters after an
 *     aws_secret_access_key key);
 *   - GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_ and 36 alphanumerics;
 *     github_pat_ and 82), GitLab tokens (glpat- and 20), Slack tokens
 *     (xoxb-, xoxa-, xoxp-, xoxr-, xoxs- and 10 or more) and webhooks;
 *   - with `config`, "password = VALUE" style assignments (keys holding
 *     password, passwd or secret; =, : or a JSON/YAML pair) whose value
 *     is a literal, not empty, a placeholder or a reference.
 * Token patterns must stand alone: the character before and after a match
 * is not one the token could continue with.  AWS's documented example keys
 * (ending in EXAMPLE / EXAMPLEKEY) are known test data and never match.
 */
#ifndef PLINTH_SECRETS_H
#define PLINTH_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

enum pl__secret_kind {
	PL__SECRET_PRIVATE_KEY,
	PL__SECRET_AWS_KEY_ID,
	PL__SECRET_AWS_SECRET,
	PL__SECRET_GITHUB,
	PL__SECRET_GITLAB,
	PL__SECRET_SLACK,
	PL__SECRET_PASSWORD,
	PL__SECRET_KINDS
};

struct pl__secret_hit {
	enum pl__secret_kind kind;
	size_t off; /* where the match starts in the text */
};

/*
 * Find secrets in `p` (`n` bytes, any content) that start at `from` or
 * later (the bytes before are context: what a token must not continue),
 * skipping the kinds already in the bit set *seen (1 << kind) and adding
 * those found: so at most one hit per kind, whatever the text holds, and
 * none of a kind the caller has.  At most `max` hits into `hits`, in
 * order.  Time is linear in `n`.  @return the number found.
 */
size_t pl__secrets_find(const char *p, size_t n, size_t from, bool config, unsigned *seen,
			struct pl__secret_hit *hits, size_t max);

/* "a PEM private key", "an AWS access key id", ... for messages. */
const char *pl__secret_what(enum pl__secret_kind k);

/* Whether a name (an environment variable or label key) says it holds a
 * secret: password, passwd, secret, token, api key, private key, access
 * key or credential in it, any case, but not a _FILE/_PATH/_DIR that
 * points at one. */
bool pl__secret_name(const char *name);

/* Whether `path` (relative, as "etc/app.conf") is read as configuration:
 * .conf .cfg .ini .cnf .properties .yaml .yml .json .toml .xml .env, or
 * any file under etc/. */
bool pl__secret_config_path(const char *path);

#endif
