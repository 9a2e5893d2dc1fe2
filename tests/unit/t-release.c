/*
 * t-release.c - Release files: gpgv verification against throwaway keys
 * made with gpg at test time, and the Release parser (fields, SHA256
 * entries, dates, Valid-Until, malformed lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "release.h"
#include "tap.h"

#define URL "http://deb.example.invalid/debian/dists/test/InRelease"

static const char release_text[] =
    "Origin: Plinth Test\n"
    "Label: Plinth\n"
    "Suite: stable\n"
    "Codename: test\n"
    "Date: Sat, 10 Aug 2024 09:33:05 UTC\n"
    "Acquire-By-Hash: yes\n"
    "Architectures: amd64 arm64\n"
    "Components: main\n"
    "Description: a Release file signed at test time\n"
    "SHA256:\n"
    " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef   1234 "
    "main/binary-amd64/Packages.xz\n"
    " fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210    120 "
    "main/binary-amd64/Release\n";

static char dir[PATH_MAX], home[PATH_MAX + 16];

/* ---- helpers ------------------------------------------------------------- */

PL__PRINTF(1, 2)
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("# command failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

static char *path_of(const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static char *slurp(const char *name, size_t *len)
{
	char *s = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	if (pl__read_file(path_of(name), PL_RELEASE_MAX, &s, &n, &err) < 0) {
		printf("# %s\n", pl_error_message(err));
		pl_error_free(err);
		return NULL;
	}
	if (len)
		*len = n;
	return s;
}

static int spit(const char *name, const char *data, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

/* Field `field` (1-based) of the first "TYPE:" line of gpg's --with-colons listing of `who`. */
static int key_field(const char *who, const char *type, int field, char *out, size_t size)
{
	char cmd[PATH_MAX + 256];
	snprintf(cmd, sizeof(cmd), "gpg --homedir '%s' --with-colons --list-keys '%s' 2>/dev/null",
		 home, who);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[1024];
	int found = -1;
	while (found < 0 && fgets(line, sizeof(line), p)) {
		if (strncmp(line, type, strlen(type)) || line[strlen(type)] != ':')
			continue;
		char *s = line;
		for (int i = 1; i < field && s; i++) {
			s = strchr(s, ':');
			s = s ? s + 1 : NULL;
		}
		if (s) {
			size_t n = strcspn(s, ":");
			snprintf(out, size, "%.*s", (int)n, s);
			found = 0;
		}
	}
	pclose(p);
	return found;
}

/* ---- fixtures ------------------------------------------------------------ */

static char keyid_a[17], keyid_b[17], keyid_e[17], keyid_r[17], keyid_o[17];

#define GPG "gpg --homedir '%s' --batch --no-tty --quiet --passphrase ''"

static int make_key(const char *uid, const char *faked, const char *expire, char *keyid)
{
	if (sh(GPG " %s %s --quick-gen-key '%s' ed25519 sign %s 2>/dev/null", home,
	       faked ? "--faked-system-time" : "", faked ? faked : "", uid, expire) < 0)
		return -1;
	return key_field(uid, "pub", 5, keyid, 17);
}

static int make_fixtures(void)
{
	snprintf(home, sizeof(home), "%s/gnupg", dir);
	if (mkdir(home, 0700) < 0 || spit("Release", release_text, strlen(release_text)) < 0)
		return -1;
	if (make_key("plinth test <t@example.invalid>", NULL, "never", keyid_a) < 0 ||
	    make_key("second <s@example.invalid>", NULL, "never", keyid_b) < 0 ||
	    make_key("expired <e@example.invalid>", "20200101T000000", "1d", keyid_e) < 0 ||
	    make_key("revoked <r@example.invalid>", NULL, "never", keyid_r) < 0 ||
	    make_key("old <o@example.invalid>", "20200101T000000", "never", keyid_o) < 0)
		return -1;
	const char *d = dir;
	int rc = 0;
	rc |= sh(GPG " --export %s > '%s/a.gpg'", home, keyid_a, d);
	rc |= sh(GPG " --armor --export %s > '%s/a.asc'", home, keyid_a, d);
	rc |= sh(GPG " --export %s > '%s/e.gpg'", home, keyid_e, d);
	rc |= sh(GPG " --export %s %s > '%s/ae.gpg'", home, keyid_a, keyid_e, d);
	rc |= sh(GPG " --export %s > '%s/o.gpg'", home, keyid_o, d);
	rc |= sh(GPG " --export %s %s > '%s/ao.gpg'", home, keyid_a, keyid_o, d);
	rc |= sh(GPG " -u %s --clearsign -o '%s/InRelease' '%s/Release'", home, keyid_a, d, d);
	rc |= sh(GPG " -u %s --detach-sign -o '%s/Release.gpg' '%s/Release'", home, keyid_a, d, d);
	rc |= sh(GPG " -u %s -u %s --clearsign -o '%s/ab.asc' '%s/Release'", home, keyid_a, keyid_b,
		 d, d);
	rc |= sh(GPG " -u %s --clearsign -o '%s/b.asc' '%s/Release'", home, keyid_b, d, d);
	rc |= sh(GPG " --faked-system-time 20200101T060000 -u %s --clearsign -o '%s/e.asc' "
		     "'%s/Release' 2>/dev/null",
		 home, keyid_e, d, d);
	rc |= sh(GPG " --faked-system-time 20200101T060000 -u %s --detach-sign -o '%s/e.sig' "
		     "'%s/Release' 2>/dev/null",
		 home, keyid_e, d, d);
	rc |= sh("cat '%s/e.sig' '%s/Release.gpg' > '%s/ea.sig'", d, d, d);
	rc |= sh(GPG " --faked-system-time 20200101T060000 --default-sig-expire 1d -u %s "
		     "--clearsign -o '%s/o.asc' '%s/Release' 2>/dev/null",
		 home, keyid_o, d, d);
	rc |= sh(GPG " --faked-system-time 20200101T060000 --default-sig-expire 1d -u %s "
		     "--detach-sign -o '%s/o.sig' '%s/Release' 2>/dev/null",
		 home, keyid_o, d, d);
	/* gpgv stops at an expired signature that comes first, so A's goes first */
	rc |= sh("cat '%s/Release.gpg' '%s/o.sig' > '%s/ao.sig'", d, d, d);
	/* sign with R, then revoke it with the certificate gpg stored */
	char fpr_r[64];
	rc |= sh(GPG " -u %s --clearsign -o '%s/r.asc' '%s/Release'", home, keyid_r, d, d);
	rc |= key_field(keyid_r, "fpr", 10, fpr_r, sizeof(fpr_r));
	rc |=
	    sh("sed 's/^:-----/-----/' '%s/openpgp-revocs.d/%s.rev' | " GPG " --import 2>/dev/null",
	       home, fpr_r, home);
	rc |= sh(GPG " --export %s > '%s/r.gpg'", home, keyid_r, d);
	return rc ? -1 : 0;
}

/* ---- gpgv ---------------------------------------------------------------- */

struct result {
	int rc;
	char *out;
	size_t len;
	struct pl_error *err;
};

static void result_clear(struct result *r)
{
	free(r->out);
	pl_error_free(r->err);
	*r = (struct result){ 0 };
}

/* Verify file `signed_name` (with detached signature file `sig_name`, or NULL). */
static void verify(struct result *r, const char *signed_name, const char *sig_name,
		   const char *const *keyrings, size_t nkeyrings)
{
	size_t len = 0, siglen = 0;
	char *data = slurp(signed_name, &len);
	char *sig = sig_name ? slurp(sig_name, &siglen) : NULL;
	*r = (struct result){ 0 };
	r->rc = pl__gpgv_verify(NULL, keyrings, nkeyrings, data, len, sig, siglen, URL, &r->out,
				&r->len, &r->err);
	free(data);
	free(sig);
}

static void expect_refusal(const char *signed_name, const char *sig_name, const char *keyring,
			   int code, const char *message)
{
	const char *k[] = { path_of(keyring) };
	struct result r;
	verify(&r, signed_name, sig_name, k, 1);
	check_int(r.rc, ==, code);
	check_str(r.err ? pl_error_message(r.err) : NULL, message);
	check(r.out == NULL);
	result_clear(&r);
}

static void expect_release(const struct result *r)
{
	check_int(r->rc, ==, 0);
	if (r->err)
		printf("# %s\n", pl_error_message(r->err));
	check_str(r->out, release_text);
	check_int(r->len, ==, strlen(release_text));
}

static void test_good(void)
{
	struct result r;
	const char *bin[] = { path_of("a.gpg") };
	verify(&r, "InRelease", NULL, bin, 1);
	expect_release(&r);
	result_clear(&r);

	const char *asc[] = { path_of("a.asc") };
	verify(&r, "InRelease", NULL, asc, 1);
	expect_release(&r);
	result_clear(&r);

	char *inline_key = slurp("a.asc", NULL);
	const char *inl[] = { inline_key };
	verify(&r, "InRelease", NULL, inl, 1);
	expect_release(&r);
	result_clear(&r);
	free(inline_key);

	/* several keyrings, the right one last */
	const char *several[] = { path_of("e.gpg"), path_of("o.gpg"), path_of("a.asc") };
	verify(&r, "InRelease", NULL, several, 3);
	expect_release(&r);
	result_clear(&r);

	verify(&r, "Release", "Release.gpg", bin, 1);
	expect_release(&r);
	result_clear(&r);
}

/* An armoured key folded into a deb822 field the way a .sources Signed-By
 * holds it: every line indented, the blank line written " .". */
static void test_folded_key(void)
{
	char *asc = slurp("a.asc", NULL);
	if (!asc)
		return;
	struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, NULL) < 0)
		return;
	int rc = 0;
	for (char *s = asc, *e; *s; s = e + 1) {
		e = strchr(s, '\n');
		if (!e)
			break;
		if (e == s)
			rc |= pl_buf_adds(&b, " .\n", NULL);
		else
			rc |= pl_buf_addf(&b, NULL, " %.*s\n", (int)(e - s), s);
	}
	check_int(rc, ==, 0);
	/* an inline key must start with the BEGIN line itself */
	const char *k[] = { b.buf + 1 };
	struct result r;
	verify(&r, "InRelease", NULL, k, 1);
	expect_release(&r);
	result_clear(&r);
	pl_buf_release(&b);
	free(asc);
}

static void test_refused(void)
{
	char msg[512];

	/* one byte changed inside the signed text */
	size_t len = 0;
	char *in = slurp("InRelease", &len);
	char *p = in ? strstr(in, "Origin: Plinth Test") : NULL;
	check(p != NULL);
	if (p) {
		p[8] = 'p';
		check_int(spit("tampered", in, len), ==, 0);
		snprintf(msg, sizeof(msg), "'%s': bad signature by key %s", URL, keyid_a);
		expect_refusal("tampered", NULL, "a.gpg", PL_EPOLICY, msg);
		expect_refusal("tampered", NULL, "a.asc", PL_EPOLICY, msg);
	}
	free(in);

	/* the data of a detached signature changed */
	char *rel = slurp("Release", &len);
	if (rel) {
		rel[len - 2] ^= 1;
		check_int(spit("Release.changed", rel, len), ==, 0);
		snprintf(msg, sizeof(msg), "'%s': bad signature by key %s", URL, keyid_a);
		expect_refusal("Release.changed", "Release.gpg", "a.gpg", PL_EPOLICY, msg);
	}
	free(rel);

	snprintf(msg, sizeof(msg), "'%s': signed by unknown key %s: not in the keyring", URL,
		 keyid_b);
	expect_refusal("b.asc", NULL, "a.gpg", PL_EPOLICY, msg);

	snprintf(msg, sizeof(msg), "'%s': signed by an expired key %s", URL, keyid_e);
	expect_refusal("e.asc", NULL, "e.gpg", PL_EPOLICY, msg);

	snprintf(msg, sizeof(msg), "'%s': signed by a revoked key %s", URL, keyid_r);
	expect_refusal("r.asc", NULL, "r.gpg", PL_EPOLICY, msg);

	snprintf(msg, sizeof(msg), "'%s': expired signature by key %s", URL, keyid_o);
	expect_refusal("o.asc", NULL, "o.gpg", PL_EPOLICY, msg);

	snprintf(msg, sizeof(msg), "'%s': not signed", URL);
	expect_refusal("Release", NULL, "a.gpg", PL_EPOLICY, msg);
	check_int(spit("empty", "", 0), ==, 0);
	expect_refusal("empty", NULL, "a.gpg", PL_EPOLICY, msg);
	expect_refusal("Release", "empty", "a.gpg", PL_EPOLICY, msg);

	/* two clearsigned messages glued together, both signed well */
	check_int(sh("cat '%s/InRelease' '%s/b.asc' > '%s/two.asc'", dir, dir, dir), ==, 0);
	snprintf(msg, sizeof(msg), "'%s': holds more than one signed text", URL);
	const char *k[] = { path_of("a.gpg") };
	struct result r;
	verify(&r, "two.asc", NULL, k, 1);
	check_int(r.rc, ==, PL_EPOLICY);
	check_str(r.err ? pl_error_message(r.err) : NULL, msg);
	result_clear(&r);
}

/* Several signatures: one good signature by a key we hold is enough. */
static void test_several_signatures(void)
{
	struct result r;
	const char *a[] = { path_of("a.gpg") };
	verify(&r, "ab.asc", NULL, a, 1); /* B's key is unknown: gpgv exits 2 */
	expect_release(&r);
	result_clear(&r);

	const char *ae[] = { path_of("ae.gpg") };
	verify(&r, "Release", "ea.sig", ae, 1); /* E's key has expired */
	expect_release(&r);
	result_clear(&r);

	const char *ao[] = { path_of("ao.gpg") };
	verify(&r, "Release", "ao.sig", ao, 1); /* O's signature has expired: gpgv exits 1 */
	expect_release(&r);
	result_clear(&r);

	const char *e[] = { path_of("e.gpg") };
	verify(&r, "Release", "ea.sig", e, 1);
	check_int(r.rc, ==, PL_EPOLICY);
	char msg[256];
	snprintf(msg, sizeof(msg), "'%s': signed by an expired key %s", URL, keyid_e);
	check_str(r.err ? pl_error_message(r.err) : NULL, msg);
	result_clear(&r);
}

/* Only what was signed comes back: not text around the signed message. */
static void test_outside_text(void)
{
	size_t len = 0;
	char *in = slurp("InRelease", &len);
	if (!in)
		return;
	struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, NULL) < 0)
		return;
	int rc = pl_buf_adds(&b, "Injected: before\n\n", NULL);
	rc |= pl_buf_add(&b, in, len, NULL);
	rc |= pl_buf_adds(&b, "Injected: after\nSHA256:\n x 1 evil\n", NULL);
	check_int(rc, ==, 0);
	check_int(spit("outside", b.buf, b.len), ==, 0);
	const char *k[] = { path_of("a.gpg") };
	struct result r;
	verify(&r, "outside", NULL, k, 1);
	expect_release(&r);
	check(r.out && !strstr(r.out, "Injected"));
	result_clear(&r);
	pl_buf_release(&b);
	free(in);
}

static void test_errors(void)
{
	size_t len = 0;
	char *in = slurp("InRelease", &len);
	char *out = NULL;
	struct pl_error *err = NULL;
	const char *k[] = { path_of("a.gpg") };

	int rc =
	    pl__gpgv_verify("/nonexistent/gpgv", k, 1, in, len, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_ESYS);
	check_str(err ? pl_error_message(err) : NULL,
		  "cannot run '/nonexistent/gpgv': No such file or directory");
	pl_error_free(err);
	err = NULL;

	rc = pl__gpgv_verify("plinth-no-such-gpgv", k, 1, in, len, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_ESYS);
	check_str(err ? pl_error_message(err) : NULL,
		  "cannot run 'plinth-no-such-gpgv': No such file or directory");
	pl_error_free(err);
	err = NULL;

	rc = pl__gpgv_verify(NULL, k, 0, in, len, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL, "'" URL "': no keyring to check it against");
	pl_error_free(err);
	err = NULL;

	const char *missing[] = { path_of("missing.gpg") };
	char msg[PATH_MAX + 128];
	snprintf(msg, sizeof(msg), "cannot open '%s': No such file or directory",
		 path_of("missing.gpg"));
	rc = pl__gpgv_verify(NULL, missing, 1, in, len, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_ESYS);
	check_str(err ? pl_error_message(err) : NULL, msg);
	pl_error_free(err);
	err = NULL;

	/* an armoured keyring with a changed base64 character fails its CRC-24 */
	size_t alen = 0;
	char *asc = slurp("a.asc", &alen);
	char *crc = asc ? strstr(asc, "\n=") : NULL;
	char *body = asc ? strstr(asc, "\n\n") : NULL;
	if (crc && body) {
		body[4] = body[4] == 'A' ? 'B' : 'A';
		check_int(spit("broken.asc", asc, alen), ==, 0);
		const char *b[] = { path_of("broken.asc") };
		snprintf(msg, sizeof(msg), "'%s': a key block does not match its checksum",
			 path_of("broken.asc"));
		rc = pl__gpgv_verify(NULL, b, 1, in, len, NULL, 0, URL, &out, NULL, &err);
		check_int(rc, ==, PL_EINVAL);
		check_str(err ? pl_error_message(err) : NULL, msg);
		pl_error_free(err);
		err = NULL;
	} else {
		tap_diag("gpg wrote no armour checksum; not testing it");
	}
	free(asc);

	/* text that is neither a binary keyring nor an armoured key */
	check_int(spit("junk.asc", "hello\n", 6), ==, 0);
	const char *junk[] = { path_of("junk.asc") };
	snprintf(msg, sizeof(msg), "'%s' holds no '-----BEGIN PGP PUBLIC KEY BLOCK-----'",
		 path_of("junk.asc"));
	rc = pl__gpgv_verify(NULL, junk, 1, in, len, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL, msg);
	pl_error_free(err);
	err = NULL;

	const char *noend[] = { "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDME\n" };
	rc = pl__gpgv_verify(NULL, noend, 1, in, len, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL,
		  "'inline key': a key block has no '-----END PGP PUBLIC KEY BLOCK-----' line");
	pl_error_free(err);
	err = NULL;

	rc = pl__gpgv_verify(NULL, k, 1, in, PL_RELEASE_MAX + 1, NULL, 0, URL, &out, NULL, &err);
	check_int(rc, ==, PL_ELIMIT);
	check_str(err ? pl_error_message(err) : NULL,
		  "'" URL "' is larger than the limit of 16777216 bytes");
	pl_error_free(err);
	check(out == NULL);
	free(in);
}

static bool have_gpg(void)
{
	return system("gpg --version >/dev/null 2>&1") == 0 &&
	       system("gpgv --version >/dev/null 2>&1") == 0;
}

static void test_gpgv(void)
{
	if (!have_gpg()) {
		tap_diag("gpg or gpgv is not installed; not testing signatures");
		return;
	}
	if (make_fixtures() < 0) {
		check(!"could not make the gpg fixtures");
		return;
	}
	test_good();
	test_folded_key();
	test_refused();
	test_several_signatures();
	test_outside_text();
	test_errors();
}

/* ---- the parser ------------------------------------------------------------ */

static const char full_text[] =
    "Origin: Debian\n"
    "Label: Debian-Security\n"
    "Suite: stable-security\n"
    "Version: 12\n"
    "Codename: bookworm-security\n"
    "Date: Sat, 10 Aug 2024 09:33:05 UTC\n"
    "Valid-Until: Sat, 17 Aug 2024 09:33:05 +0000\n"
    "Acquire-By-Hash: yes\n"
    "No-Support-for-Architecture-all: Packages\n"
    "Architectures: amd64 arm64\n"
    " i386\n"
    "Components: updates/main  updates/contrib\n"
    "Description: Debian 12 - Security Updates\n"
    "MD5Sum:\n"
    " not even hex\n"
    "SHA256:\n"
    " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  1234 "
    "main/binary-amd64/Packages.xz\n"
    " FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210     0 "
    "main/binary-amd64/Release\n"
    " 0000000000000000000000000000000000000000000000000000000000000000 18446744073709551615 "
    "main/i18n/Translation-en\n"
    "Unknown-Field: ignored\n";

static void test_parse(void)
{
	struct pl__release r;
	struct pl_error *err = NULL;
	int rc = pl__release_parse("R", full_text, strlen(full_text), &r, &err);
	check_int(rc, ==, 0);
	if (rc < 0) {
		printf("# %s\n", pl_error_message(err));
		pl_error_free(err);
		return;
	}
	check_str(r.origin, "Debian");
	check_str(r.label, "Debian-Security");
	check_str(r.suite, "stable-security");
	check_str(r.codename, "bookworm-security");
	check(r.has_date);
	check_int(r.date, ==, 1723282385);
	check(r.has_valid_until);
	check_int(r.valid_until, ==, 1723282385 + 7 * 86400);
	check(r.acquire_by_hash);
	check(r.all_in_arch_indexes);
	check_int(r.narchitectures, ==, 3);
	if (r.narchitectures == 3) {
		check_str(r.architectures[0], "amd64");
		check_str(r.architectures[1], "arm64");
		check_str(r.architectures[2], "i386");
	}
	check_int(r.ncomponents, ==, 2);
	if (r.ncomponents == 2) {
		check_str(r.components[0], "updates/main");
		check_str(r.components[1], "updates/contrib");
	}
	check_int(r.nfiles, ==, 3);

	const struct pl__release_file *f = pl__release_find(&r, "main/binary-amd64/Packages.xz");
	check(f != NULL);
	if (f) {
		check_int(f->size, ==, 1234);
		check_int(f->sha256[0], ==, 0x01);
		check_int(f->sha256[1], ==, 0x23);
		check_int(f->sha256[31], ==, 0xef);
	}
	f = pl__release_find(&r, "main/binary-amd64/Release");
	check(f != NULL);
	if (f) {
		check_int(f->size, ==, 0);
		check_int(f->sha256[0], ==, 0xfe);
		check_int(f->sha256[31], ==, 0x10);
	}
	f = pl__release_find(&r, "main/i18n/Translation-en");
	check(f != NULL);
	if (f)
		check(f->size == UINT64_MAX);
	check(pl__release_find(&r, "main/binary-amd64/Packages") == NULL);
	check(pl__release_find(&r, "main/binary-amd64/Packages.xz2") == NULL);
	check(pl__release_find(&r, "") == NULL);
	pl__release_release(&r);
	check(r.origin == NULL && r.files == NULL && r.nfiles == 0);
	pl__release_release(&r); /* twice is harmless */

	/* a minimal Release: nothing but what is there */
	static const char minimal[] = "Suite: x\nSHA256: "
				      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
				      "cdef 5 a\nAcquire-By-Hash: no\n";
	rc = pl__release_parse("R", minimal, strlen(minimal), &r, &err);
	check_int(rc, ==, 0);
	if (rc == 0) {
		check(r.origin == NULL && r.label == NULL && r.codename == NULL);
		check_str(r.suite, "x");
		check(!r.has_date && !r.has_valid_until && !r.acquire_by_hash &&
		      !r.all_in_arch_indexes);
		check_int(r.narchitectures, ==, 0);
		check_int(r.nfiles, ==, 1);
		check(pl__release_find(&r, "a") != NULL);
		check_int(pl__release_check_fresh(&r, "R", INT64_MAX, NULL), ==, 0);
		pl__release_release(&r);
	}
}

static void expect_parse_error(const char *text, int code, const char *message)
{
	struct pl__release r = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__release_parse("R", text, strlen(text), &r, &err), ==, code);
	check_str(err ? pl_error_message(err) : NULL, message);
	check(r.files == NULL && r.suite == NULL);
	pl_error_free(err);
}

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_parse_errors(void)
{
	expect_parse_error("Suite: s\nSHA256:\n " H64 " 1 main/a\n " H64 "0 2 main/b\n", PL_EINVAL,
			   "R:4:2: expected a sha256 of 64 hex digits in 'SHA256'");
	expect_parse_error("Suite: s\nSHA256:\n  0123456789abcdeg0123456789abcdef0123456789abcdef"
			   "0123456789abcdef 1 main/a\n",
			   PL_EINVAL, "R:3:3: expected a sha256 of 64 hex digits in 'SHA256'");
	expect_parse_error("SHA256: " H64 " 12x main/a\n", PL_EINVAL,
			   "R:1:76: expected a size after the sha256 in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " -1 main/a\n", PL_EINVAL,
			   "R:2:67: expected a size after the sha256 in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 "\n", PL_EINVAL,
			   "R:2:66: expected a size after the sha256 in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 18446744073709551616 main/a\n", PL_EINVAL,
			   "R:2:67: size out of range in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7\n", PL_EINVAL,
			   "R:2:68: expected a path after the size in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7 main/a extra\n", PL_EINVAL,
			   "R:2:76: unexpected text after the path in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7 /etc/passwd\n", PL_EINVAL,
			   "R:2:69: absolute path '/etc/passwd' in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7 main/../../x\n", PL_EINVAL,
			   "R:2:69: path 'main/../../x' holds '..' in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7 ..\n", PL_EINVAL,
			   "R:2:69: path '..' holds '..' in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7 a/\x01\n", PL_EINVAL,
			   "R:2:71: a path holds a control character in 'SHA256'");
	expect_parse_error("SHA256:\n " H64 " 7 main/a\n " H64 " 8 main/b\n " H64 " 9 main/a\n",
			   PL_EINVAL, "R:4:69: path 'main/a' is listed twice in 'SHA256'");
	expect_parse_error("Suite: s\n\nSuite: t\n", PL_EINVAL,
			   "R:3:1: a second paragraph, where a Release file has one");
	expect_parse_error("", PL_EINVAL, "'R' holds no fields");
	expect_parse_error("\n# a comment\n", PL_EINVAL, "'R' holds no fields");
	expect_parse_error("Suite: s\nnot a field\n", PL_EINVAL, "R:2:1: expected 'Field: value'");
	expect_parse_error("Suite: s\nDate: yesterday\n", PL_EINVAL,
			   "R:2:7: 'Date' is not a date like 'Sat, 10 Aug 2024 09:33:05 UTC'");
	expect_parse_error("Valid-Until:   Sat, 10 Aug 2024 09:33:05\n", PL_EINVAL,
			   "R:1:16: 'Valid-Until' is not a date like 'Sat, 10 Aug 2024 09:33:05 "
			   "UTC'");

	struct pl__release r;
	struct pl_error *err = NULL;
	static const char nul[] = "Suite: s\nComponents: main \0contrib\n";
	check_int(pl__release_parse("R", nul, sizeof(nul) - 1, &r, &err), ==, PL_EINVAL);
	check_str(err ? pl_error_message(err) : NULL, "R:2:18: a NUL byte");
	pl_error_free(err);
	err = NULL;
	check_int(pl__release_parse("R", "", PL_RELEASE_MAX + 1, &r, &err), ==, PL_ELIMIT);
	check_str(err ? pl_error_message(err) : NULL,
		  "'R' is larger than the limit of 16777216 bytes");
	pl_error_free(err);
}

/* The seconds since the epoch of "Date: s", or rc < 0. */
static int date_of(const char *s, int64_t *t)
{
	char text[256];
	snprintf(text, sizeof(text), "Date: %s\n", s);
	struct pl__release r;
	int rc = pl__release_parse("R", text, strlen(text), &r, NULL);
	if (rc == 0) {
		*t = r.date;
		pl__release_release(&r);
	}
	return rc;
}

static void expect_date(const char *s, int64_t want)
{
	int64_t t = -42;
	int rc = date_of(s, &t);
	if (rc != 0 || t != want)
		printf("# date '%s'\n", s);
	check_int(rc, ==, 0);
	check_int(t, ==, want);
}

static void expect_bad_date(const char *s)
{
	int64_t t;
	int rc = date_of(s, &t);
	if (rc != PL_EINVAL)
		printf("# date '%s' was accepted\n", s);
	check_int(rc, ==, PL_EINVAL);
}

static void test_dates(void)
{
	expect_date("Sat, 10 Aug 2024 09:33:05 UTC", 1723282385);
	expect_date("Sat, 10 Aug 2024 09:33:05 GMT", 1723282385);
	expect_date("Sat, 10 Aug 2024 09:33:05 +0000", 1723282385);
	expect_date("Sat, 10 Aug 2024 09:33:05 Z", 1723282385);
	expect_date("Sat, 10 Aug 2024 09:33:05 -0130", 1723282385 + 5400);
	expect_date("Sat, 10 Aug 2024 09:33:05 +0130", 1723282385 - 5400);
	expect_date("10 Aug 2024 09:33:05 UTC", 1723282385);
	expect_date("sat, 10 aug 2024 09:33:05 UTC", 1723282385);
	expect_date("Thu, 29 Feb 2024 12:00 UTC", 1709208000);
	expect_date("Thu,  1 Jan 1970 00:00:00 UTC", 0);
	expect_date("Thu, 1 Jan 1970 00:00:00 UTC", 0);
	expect_date("Wed, 31 Dec 1969 23:59:59 UTC", -1);
	expect_date("Tue, 19 Jan 2038 03:14:08 UTC", 2147483648);
	expect_date("Thu, 31 Dec 2026 23:59:60 UTC", 1798761600);
	expect_date("Fri, 31 Dec 9999 23:59:59 UTC", 253402300799);

	expect_bad_date("");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05");
	expect_bad_date("Sam, 10 Aug 2024 09:33:05 UTC");
	expect_bad_date("Sat, 10 August 2024 09:33:05 UTC");
	expect_bad_date("Sat, 10 Aou 2024 09:33:05 UTC");
	expect_bad_date("Wed, 29 Feb 2023 09:33:05 UTC");
	expect_bad_date("Sat, 31 Apr 2024 09:33:05 UTC");
	expect_bad_date("Sat, 00 Aug 2024 09:33:05 UTC");
	expect_bad_date("Sat, 100 Aug 2024 09:33:05 UTC");
	expect_bad_date("Sat, 10 Aug 2024 24:00:00 UTC");
	expect_bad_date("Sat, 10 Aug 2024 09:60:00 UTC");
	expect_bad_date("Sat, 10 Aug 2024 09:33:61 UTC");
	expect_bad_date("Sat, 10 Aug 2024 9:33:05 UTC");
	expect_bad_date("Sat, 10 Aug 24 09:33:05 UTC");
	expect_bad_date("Sat, 10 Aug 20245 09:33:05 UTC");
	expect_bad_date("Sat, 10 Aug 1899 09:33:05 UTC");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05 CEST");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05 +2400");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05 +0060");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05 +000");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05 UTC extra");
	expect_bad_date("Sat, 10 Aug 2024 09:33:05UTC");
	expect_bad_date("Sat 10 Aug 2024 09:33:05 UTC");
	expect_bad_date("2024-08-10T09:33:05Z");
}

static void test_fresh(void)
{
	static const char text[] = "Suite: s\nValid-Until: Sat, 10 Aug 2024 09:33:05 UTC\n";
	struct pl__release r;
	struct pl_error *err = NULL;
	if (pl__release_parse("R", text, strlen(text), &r, NULL) < 0) {
		check(!"parse");
		return;
	}
	check_int(pl__release_check_fresh(&r, "R", 1723282385 - 1, &err), ==, 0);
	check_int(pl__release_check_fresh(&r, "R", 1723282385, &err), ==, 0);
	check(err == NULL);
	check_int(pl__release_check_fresh(&r, "R", 1723282385 + 1, &err), ==, PL_EPOLICY);
	check_str(err ? pl_error_message(err) : NULL,
		  "'R' has expired: it was valid until Sat, 10 Aug 2024 09:33:05 UTC");
	pl_error_free(err);
	err = NULL;
	pl__release_release(&r);

	/* the date is printed in UTC, whatever zone the file gave */
	static const char zoned[] = "Valid-Until: Thu, 29 Feb 2024 23:30:00 -0100\n";
	if (pl__release_parse("R", zoned, strlen(zoned), &r, NULL) < 0) {
		check(!"parse");
		return;
	}
	check_int(pl__release_check_fresh(&r, "R", INT64_MAX, &err), ==, PL_EPOLICY);
	check_str(err ? pl_error_message(err) : NULL,
		  "'R' has expired: it was valid until Fri, 01 Mar 2024 00:30:00 UTC");
	pl_error_free(err);
	pl__release_release(&r);
}

int main(void)
{
	test_parse();
	test_parse_errors();
	test_dates();
	test_fresh();

	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/t-release-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		check(!"mkdtemp");
		return tap_done();
	}
	test_gpgv();
	/* gpg started an agent for signing: stop it before its home goes */
	if (home[0])
		sh("gpgconf --homedir '%s' --kill all >/dev/null 2>&1", home);
	sh("rm -rf '%s'", dir);
	return tap_done();
}
