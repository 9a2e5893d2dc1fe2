/* t-secrets.c - what looks like a secret, and what merely resembles one. */
#include <string.h>

#include "secrets.h"
#include "tap.h"

#define KEY_BODY                                                                                   \
	"MHcCAQEEIKbn0fL3Ilq2Xz0a8p1uW1q3z6y7V9n3n1c1T9d9Y0s7oAoGCCqGSM49\n"                       \
	"AwEHoUQDQgAE3y6ZtJm1Tt0b3F2jv8W8p6o6x5Q3F1y1c8u4m9n1t6q2e3r5s7t9\n"

/* The kinds found in `s`, one letter each (k a w s g l S p), in order. */
static const char *kinds(const char *s, bool config)
{
	static char out[32];
	struct pl__secret_hit hits[16];
	unsigned seen = 0;
	size_t n = pl__secrets_find(s, strlen(s), 0, config, &seen, hits, 16);
	for (size_t i = 0; i < n; i++)
		out[i] = "kaAhlSp"[hits[i].kind];
	out[n] = '\0';
	return out;
}

int main(void)
{
	/* PEM private keys: a header with a body, not a bare header */
	check_str(kinds("-----BEGIN EC PRIVATE KEY-----\n" KEY_BODY
			"-----END EC PRIVATE KEY-----\n",
			false),
		  "k");
	check_str(kinds("-----BEGIN PRIVATE KEY-----\r\n" KEY_BODY, false), "k");
	check_str(kinds("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: "
			"AES-128-CBC,0011\n\n" KEY_BODY,
			false),
		  "k");
	check_str(kinds("fmt: -----BEGIN %s PRIVATE KEY-----\n", false), "");
	/* a key inside a JSON string (a cloud service account's), its line
	 * breaks escaped; and a body on one long line */
	check_str(
	    kinds(
		"{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
		"BKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----\\n\"}",
		false),
	    "k");
	static char long_body[2048] = "-----BEGIN RSA PRIVATE KEY-----\n";
	for (size_t i = strlen(long_body); i < sizeof(long_body) - 1; i++)
		long_body[i] = 'A' + (char)(i % 26);
	check_str(kinds(long_body, false), "k");
	check_str(kinds("-----BEGIN PRIVATE KEY-----\nshort\n", false), "");
	check_str(
	    kinds("tls.key: |\n    -----BEGIN EC PRIVATE KEY-----\n    MHcCAQEEIKbn0fL3Ilq2Xz0a8p1u"
		  "W1q3z6y7\n    V9n3n1c1T9d9Y0s7oAoGCCqGSM49AwEHoUQDQgAE\n",
		  true),
	    "k");
	check_str(kinds("-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n", false),
		  "");
	check_str(kinds("-----BEGIN PUBLIC KEY-----\n" KEY_BODY, false), "");

	/* AWS: key ids stand alone; the documented examples are test data */
	check_str(kinds("id = AKIAQWERTYUIOPASDFGH\n", false), "a");
	check_str(kinds("ASIAQWERTYUIOPASDFGH", false), "a");
	check_str(kinds("XAKIAQWERTYUIOPASDFGH", false), "");
	check_str(kinds("AKIAQWERTYUIOPASDFGHJ", false), "");
	check_str(kinds("AKIAQWERTYUIOPASDFG", false), "");
	check_str(kinds("AKIAIOSFODNN7EXAMPLE", false), "");
	check_str(
	    kinds("aws_secret_access_key = abcdEFGHijklMNOPqrstUVWXyz0123456789+/AB\n", false),
	    "A");
	check_str(
	    kinds("AWS_SECRET_ACCESS_KEY: \"abcdEFGHijklMNOPqrstUVWXyz0123456789+/AB\"", false),
	    "A");
	check_str(
	    kinds("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", false), "");
	check_str(kinds("aws_secret_access_key = short\n", false), "");

	/* GitHub, GitLab, Slack */
	check_str(kinds("token ghp_abcdefghijklmnopqrstuvwxyzABCDEF0123 end", false), "h");
	check_str(kinds("ghp_abcdefghijklmnopqrstuvwxyzABCDEF012", false), "");
	check_str(kinds("ghp_abcdefghijklmnopqrstuvwxyzABCDEF01234", false), "");
	check_str(kinds("xghp_abcdefghijklmnopqrstuvwxyzABCDEF0123", false), "");
	check_str(kinds("glpat-ABCDEFGHIJ0123456789", false), "l");
	check_str(kinds("glpat-ABCDEFGHIJ012345678", false), "");
	check_str(kinds("SLACK=xoxb-1234567890-abcdefghij", false), "S");
	check_str(kinds("xoxz-1234567890-abcdefghij", false), "");
	check_str(kinds("https://hooks.slack.com/services/T0000/B0000/XXXXXXXX", false), "S");

	/* passwords: only in configuration, only literal values */
	check_str(kinds("password = hunter2\n", true), "p");
	check_str(kinds("password = hunter2\n", false), "");
	check_str(kinds("  \"db_password\": \"hunter2\",\n", true), "p");
	check_str(kinds("export SECRET=abc\n", true), "p");
	check_str(kinds("password = ${DB_PASSWORD}\n", true), "");
	check_str(kinds("password: \"\"\n", true), "");
	check_str(kinds("password_file = /run/secrets/db\n", true), "");
	check_str(kinds("passwd:         files\n", true), "");
	check_str(kinds("require_password: true\n", true), "");
	check_str(kinds("# password is set elsewhere\n", true), "");
	check_str(kinds("PasswordAuthentication no\n", true), "");

	/* one hit per kind, several kinds on a line, hits in order */
	check_str(kinds("AKIAQWERTYUIOPASDFGH AKIAQWERTYUIOPASDFGX\n", false), "a");
	check_str(kinds("AKIAQWERTYUIOPASDFGH\nAKIAQWERTYUIOPASDFGX\n", false), "a");
	check_str(kinds("password = x glpat-ABCDEFGHIJ0123456789\n", true), "pl");

	/* decoys of one kind hide nothing of another */
	static char many[4096];
	size_t used = 0;
	for (int i = 0; i < 40; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used, "%s",
					 "password = changeme\nAKIAQWERTYUIOPASDFGH\n");
	snprintf(many + used, sizeof(many) - used, "%s", "-----BEGIN PRIVATE KEY-----\n" KEY_BODY);
	check_str(kinds(many, true), "pak");

	/* kinds the caller has are skipped; `from` starts the matches, the
	 * byte before it is context */
	struct pl__secret_hit hits[4];
	const char *three =
	    "AKIAQWERTYUIOPASDFGH\nAKIAQWERTYUIOPASDFGX\nglpat-ABCDEFGHIJ0123456789";
	unsigned seen = 1u << PL__SECRET_AWS_KEY_ID;
	check_int(pl__secrets_find(three, strlen(three), 0, false, &seen, hits, 4), ==, 1);
	check_int(hits[0].kind, ==, PL__SECRET_GITLAB);
	check_int(seen, ==, (1u << PL__SECRET_AWS_KEY_ID) | (1u << PL__SECRET_GITLAB));
	seen = 0;
	check_int(pl__secrets_find(three, strlen(three), 21, false, &seen, hits, 4), ==, 2);
	check_int(hits[0].off, ==, 21);
	seen = 0;
	check_int(pl__secrets_find("xghp_abcdefghijklmnopqrstuvwxyzABCDEF0123", 41, 1, false, &seen,
				   hits, 4),
		  ==, 0);

	/* long runs and header-like lines cost linear time: a megabyte of
	 * almost-keys and almost-tokens is searched at once */
	static char big[1 << 20];
	for (size_t i = 0; i + 30 < sizeof(big); i += 29) {
		memcpy(big + i, "-----BEGIN PRIVATE KEY-----!", 28);
		big[i + 28] = 'x';
	}
	seen = 0;
	check_int(pl__secrets_find(big, sizeof(big) - 1, 0, true, &seen, hits, 4), ==, 0);
	memset(big, 'a', sizeof(big) - 1);
	for (size_t i = 0; i + 11 < sizeof(big) - 1; i += 4096)
		memcpy(big + i, "github_pat_", 11);
	seen = 0;
	check_int(pl__secrets_find(big, sizeof(big) - 1, 0, true, &seen, hits, 4), ==, 0);

	/* names */
	check(pl__secret_name("DB_PASSWORD"));
	check(pl__secret_name("api_token"));
	check(pl__secret_name("GITHUB-API-KEY"));
	check(pl__secret_name("x.api-key"));
	check(!pl__secret_name("PASSWORD_FILE"));
	check(!pl__secret_name("LANG"));
	check(!pl__secret_name("passwd"));

	/* configuration paths */
	check(pl__secret_config_path("etc/app/whatever"));
	check(pl__secret_config_path("opt/app/settings.YAML"));
	check(pl__secret_config_path("srv/.env"));
	check(pl__secret_config_path("srv/.env.production"));
	check(!pl__secret_config_path("usr/bin/tool"));
	check(!pl__secret_config_path("srv/notes.txt"));
	return tap_done();
}
