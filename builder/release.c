/* release.c - verify a repository's Release file with gpgv and parse it (see release.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "deb822.h"
#include "release.h"

#define PL_KEYRING_MAX     ((size_t)8 << 20) /* one keyring file or armoured key */
#define PL_KEYRINGS_MAX    64                /* keyrings for one signature check */
#define PL_RELEASE_SIG_MAX ((size_t)1 << 20) /* a detached Release.gpg */
#define PL_GPGV_STATUS_MAX ((size_t)1 << 20) /* gpgv's --status-fd output */
#define GPGV_STDERR_READ   4096              /* what is read of gpgv's stderr */

/* The child's descriptors: 0 is /dev/null, 1 and 2 are memfds, then these. */
enum { FD_STATUS = 3, FD_DATA = 4, FD_SIG = 5, FD_KEYRING0 = 6 };

/* ---- descriptors and files ----------------------------------------- */

struct fdlist {
	size_t n;
	int fd[PL_KEYRINGS_MAX];
};

static void fdlist_close(struct fdlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		pl__closep(&l->fd[i]);
}

static void tmpdir_removep(char **dir)
{
	if (*dir) {
		int saved = errno;
		pl__remove_tree(AT_FDCWD, *dir);
		free(*dir);
		errno = saved;
	}
}

/*
 * A memfd holding p[0..n), moved to a descriptor >= `above` so that none
 * of the child's fixed descriptors can be one of the sources of its dup2s.
 */
static int new_memfd(const char *name, const void *p, size_t n, int above, int *out,
		     struct pl_error **err)
{
	cleanup_close int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create memfd '%s'", name);
	if (n && pl__write_all(fd, p, n) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot write memfd '%s'", name);
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, above);
	if (hi < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot duplicate memfd '%s'", name);
	*out = hi;
	return 0;
}

/*
 * Read a memfd the child wrote.  More than `max` bytes is PL_ELIMIT, or,
 * with `clip`, only the first `max` bytes are read.
 */
static int read_memfd(int fd, const char *name, size_t max, bool clip, char **out, size_t *len,
		      struct pl_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat memfd '%s'", name);
	size_t n = (size_t)st.st_size;
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		if (!clip)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "'%s' is larger than the limit of %zu bytes", name,
					     max);
		n = max;
	}
	cleanup_free char *b = malloc(n + 1);
	if (!b)
		return pl__error_nomem(err);
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, b + got, n - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot read memfd '%s'", name);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	b[got] = '\0';
	*out = steal_pointer(&b);
	*len = got;
	return 0;
}

/* ---- ASCII armour ---------------------------------------------------- */

static const char armor_begin[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
static const char armor_end[] = "-----END PGP PUBLIC KEY BLOCK-----";

static bool line_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(s, lit, n);
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* OpenPGP's CRC-24 (RFC 4880, 6.1). */
static uint32_t crc24(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xB704CEu;
	while (n--) {
		crc ^= (uint32_t)*p++ << 16;
		for (int i = 0; i < 8; i++) {
			crc <<= 1;
			if (crc & 0x1000000u)
				crc ^= 0x1864CFBu;
		}
	}
	return crc & 0xFFFFFFu;
}

static int b64_decode(const char *name, const char *in, size_t n, unsigned char **out,
		      size_t *outlen, struct pl_error **err)
{
	if (n > INT_MAX / 2)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s': a key block is too large", name);
	cleanup_free unsigned char *dst = malloc(n / 4 * 3 + 80);
	if (!dst)
		return pl__error_nomem(err);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	if (!ctx)
		return pl__error_nomem(err);
	EVP_DecodeInit(ctx);
	int l1 = 0, l2 = 0;
	int ok = EVP_DecodeUpdate(ctx, dst, &l1, (const unsigned char *)in, (int)n) >= 0 &&
		 EVP_DecodeFinal(ctx, dst + l1, &l2) >= 0;
	EVP_ENCODE_CTX_free(ctx);
	if (!ok)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': a key block is not valid base64",
				     name);
	*out = steal_pointer(&dst);
	*outlen = (size_t)l1 + (size_t)l2;
	return 0;
}

/* Decode one block's base64 `b64`, check it against its "=XXXX" CRC line
 * (optional, as in RFC 4880) and append it to `bin`. */
static int finish_block(const char *name, const struct pl_buf *b64, const char *crc,
			struct pl_buf *bin, struct pl_error **err)
{
	cleanup_free unsigned char *raw = NULL;
	size_t n = 0;
	int rc = b64_decode(name, b64->buf, b64->len, &raw, &n, err);
	if (rc < 0)
		return rc;
	if (n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': a key block is empty", name);
	if (crc[0]) {
		unsigned char *sum = NULL;
		size_t sumlen = 0;
		rc = b64_decode(name, crc, 4, &sum, &sumlen, err);
		if (rc < 0)
			return rc;
		uint32_t want = sumlen == 3
				    ? (uint32_t)sum[0] << 16 | (uint32_t)sum[1] << 8 | sum[2]
				    : UINT32_MAX;
		free(sum);
		if (want != crc24(raw, n))
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': a key block does not match its checksum", name);
	}
	rc = pl_buf_add(bin, raw, n, err);
	return rc < 0 ? pl__error_wrap(err, rc, "'%s'", name) : 0;
}

/*
 * The binary packets of every "PUBLIC KEY BLOCK" in armoured text (gpgv
 * reads binary keyrings only).  Leading blanks and lines of a single "."
 * are accepted, so a key folded into a deb822 Signed-By field decodes too.
 */
static int dearmor(const char *name, const char *text, size_t len, struct pl_buf *bin,
		   struct pl_error **err)
{
	enum { OUTSIDE, HEADERS, BODY } state = OUTSIDE;
	cleanup_buf struct pl_buf b64 = { 0 };
	if (pl_buf_init(&b64, len, err) < 0)
		return PL_ENOMEM;
	char crc[5] = "";
	size_t nblocks = 0;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		const char *e = nl ? nl : text + len;
		pos = (size_t)(e - text) + (nl != NULL);
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		size_t n = (size_t)(e - s);
		if (n == 1 && *s == '.')
			n = 0;
		if (state == OUTSIDE) {
			if (line_is(s, n, armor_begin)) {
				state = HEADERS;
				b64.len = 0;
				crc[0] = '\0';
			}
			continue;
		}
		if (state == HEADERS) {
			/* "Comment: ..." lines up to a blank line; like gpg, go on
			 * without the blank line when the base64 starts at once */
			if (n == 0) {
				state = BODY;
				continue;
			}
			if (memchr(s, ':', n))
				continue;
			state = BODY;
		}
		if (line_is(s, n, armor_end)) {
			int rc = finish_block(name, &b64, crc, bin, err);
			if (rc < 0)
				return rc;
			nblocks++;
			state = OUTSIDE;
			continue;
		}
		if (n == 0)
			continue;
		if (crc[0])
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': text after the checksum of a key block", name);
		if (*s == '=' && n == 5) {
			for (size_t i = 1; i < 5; i++)
				if (!is_b64(s[i]) || s[i] == '=')
					return pl__error_set(err, PL_EINVAL, 0,
							     "'%s': a key block has a malformed "
							     "checksum line",
							     name);
			memcpy(crc, s + 1, 4);
			crc[4] = '\0';
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (!is_b64(s[i]))
				return pl__error_set(err, PL_EINVAL, 0,
						     "'%s': a key block holds a character that is "
						     "not base64",
						     name);
		int rc = pl_buf_add(&b64, s, n, err);
		if (rc < 0)
			return rc;
	}
	if (state != OUTSIDE)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': a key block has no '%s' line", name,
				     armor_end);
	if (nblocks == 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s' holds no '%s'", name, armor_begin);
	return 0;
}

/*
 * Binary keyrings start with an OpenPGP packet tag (bit 7 set) or are a
 * keybox ("KBXf" at offset 8); anything else is taken for armour.
 */
static bool is_binary_keyring(const char *p, size_t n)
{
	return n == 0 || ((unsigned char)p[0] & 0x80) || (n >= 12 && !memcmp(p + 8, "KBXf", 4));
}

/* A memfd (>= above) with the binary form of keyring `k`: a path or armoured text. */
static int keyring_memfd(const char *k, int above, int *out, struct pl_error **err)
{
	cleanup_free char *file = NULL;
	const char *name = k, *p = k;
	size_t n;
	if (!strncmp(k, "-----BEGIN PGP", 14)) {
		name = "inline key";
		n = strnlen(k, PL_KEYRING_MAX + 1);
		if (n > PL_KEYRING_MAX)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "an inline key is larger than the limit of %zu bytes",
					     PL_KEYRING_MAX);
	} else {
		int rc = pl__read_file(k, PL_KEYRING_MAX, &file, &n, err);
		if (rc < 0)
			return rc;
		p = file;
		if (is_binary_keyring(p, n))
			return new_memfd("plinth-keyring", p, n, above, out, err);
	}
	cleanup_buf struct pl_buf bin = { 0 };
	if (pl_buf_init(&bin, PL_KEYRING_MAX, err) < 0)
		return PL_ENOMEM;
	int rc = dearmor(name, p, n, &bin, err);
	if (rc < 0)
		return rc;
	return new_memfd("plinth-keyring", bin.buf, bin.len, above, out, err);
}

/* ---- gpgv's verdict ------------------------------------------------------ */

#define KEYID_LEN 40

struct sig {
	bool open, done; /* done: its GOODSIG, BADSIG, ... line was seen */
	bool good, valid, bad, expkey, revkey, expsig, errsig, nopubkey;
	int errsig_rc;
	char keyid[KEYID_LEN + 1];
};

struct verdict {
	size_t nsigs, ngood, nfailed, nplaintext;
	bool nodata;
	/* the first signature that failed in each way, for the message */
	struct sig bad, revkey, expkey, expsig, nopubkey, errsig;
};

/* Copy the hex key id or fingerprint at the start of `args`. */
static void copy_keyid(char out[KEYID_LEN + 1], const char *args, const char *end)
{
	size_t n = 0;
	while (args < end && n < KEYID_LEN &&
	       ((*args >= '0' && *args <= '9') || (*args >= 'A' && *args <= 'F') ||
		(*args >= 'a' && *args <= 'f')))
		out[n++] = *args++;
	out[n] = '\0';
}

static void finish_sig(struct verdict *v, struct sig *s)
{
	if (!s->open)
		return;
	v->nsigs++;
	if (s->good && s->valid)
		v->ngood++;
	if (s->errsig || s->expsig || s->expkey || s->revkey)
		v->nfailed++;
	struct {
		bool flag;
		struct sig *first;
	} kinds[] = { { s->bad, &v->bad },           { s->revkey, &v->revkey },
		      { s->expkey, &v->expkey },     { s->expsig, &v->expsig },
		      { s->nopubkey, &v->nopubkey }, { s->errsig && !s->nopubkey, &v->errsig } };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].flag && !kinds[i].first->open)
			*kinds[i].first = *s;
	*s = (struct sig){ 0 };
}

static bool keyword_is(const char *kw, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(kw, lit, n);
}

/* Sort gpgv's "[GNUPG:] KEYWORD ARGS" lines into signatures, each of which
 * starts at NEWSIG (or, without one, at its GOODSIG, BADSIG, ... line). */
static void read_status(const char *text, size_t len, struct verdict *v)
{
	static const char prefix[] = "[GNUPG:] ";
	struct sig cur = { 0 };
	*v = (struct verdict){ 0 };
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		const char *e = nl ? nl : text + len;
		pos = (size_t)(e - text) + (nl != NULL);
		if ((size_t)(e - s) < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1))
			continue;
		const char *kw = s + sizeof(prefix) - 1, *args = kw;
		while (args < e && *args != ' ')
			args++;
		size_t kwlen = (size_t)(args - kw);
		if (args < e)
			args++;
		bool *flag = NULL;
		if (keyword_is(kw, kwlen, "GOODSIG"))
			flag = &cur.good;
		else if (keyword_is(kw, kwlen, "BADSIG"))
			flag = &cur.bad;
		else if (keyword_is(kw, kwlen, "EXPKEYSIG"))
			flag = &cur.expkey;
		else if (keyword_is(kw, kwlen, "REVKEYSIG"))
			flag = &cur.revkey;
		else if (keyword_is(kw, kwlen, "EXPSIG"))
			flag = &cur.expsig;
		else if (keyword_is(kw, kwlen, "ERRSIG"))
			flag = &cur.errsig;
		if (flag) {
			if (!cur.open || cur.done) {
				finish_sig(v, &cur);
				cur.open = true;
			}
			cur.done = true;
			*flag = true;
			copy_keyid(cur.keyid, args, e);
			if (flag == &cur.errsig) {
				/* ERRSIG KEYID PKALGO HASHALGO CLASS TIME RC [FPR] */
				const char *a = args;
				for (int i = 0; i < 5 && a < e; i++) {
					while (a < e && *a != ' ')
						a++;
					while (a < e && *a == ' ')
						a++;
				}
				int rc = 0;
				while (a < e && *a >= '0' && *a <= '9' && rc < 100000)
					rc = rc * 10 + (*a++ - '0');
				cur.errsig_rc = rc;
			}
		} else if (keyword_is(kw, kwlen, "NEWSIG")) {
			finish_sig(v, &cur);
			cur.open = true;
		} else if (keyword_is(kw, kwlen, "VALIDSIG")) {
			cur.valid = cur.open;
		} else if (keyword_is(kw, kwlen, "NO_PUBKEY")) {
			if (cur.open) {
				cur.nopubkey = true;
				if (!cur.keyid[0])
					copy_keyid(cur.keyid, args, e);
			}
		} else if (keyword_is(kw, kwlen, "PLAINTEXT")) {
			v->nplaintext++;
		} else if (keyword_is(kw, kwlen, "NODATA")) {
			v->nodata = true;
		}
	}
	finish_sig(v, &cur);
}

/* The first line of gpgv's stderr that says more than which key signed. */
static void first_error_line(const char *text, char *out, size_t outsize)
{
	for (const char *s = text; *s;) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		bool chatter = n == 0 || !strncmp(s, "gpgv: Signature made", 20) ||
			       !strncmp(s, "gpgv:                using", 25) ||
			       !strncmp(s, "gpgv:                 aka", 25) ||
			       !strncmp(s, "gpgv: Good signature from", 25);
		if (!chatter) {
			size_t k = 0;
			for (size_t i = 0; i < n && k + 1 < outsize; i++)
				out[k++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
			out[k] = '\0';
			return;
		}
		s += n + (e != NULL);
	}
	snprintf(out, outsize, "no message");
}

/*
 * The rule, close to apt's (methods/gpgv.cc), which also accepts a file
 * when one signature is good and no signature is bad:
 *  - any BADSIG refuses the file: the text or a signature was altered, and
 *    no other signature makes that right;
 *  - more than one PLAINTEXT refuses it: several signed messages glued
 *    together, where what is signed and what is read could differ (for
 *    clearsigned text, several_messages() already refused that);
 *  - otherwise one good signature is enough: GOODSIG and VALIDSIG, in the
 *    same signature, which gpg emits only for a valid signature that has not
 *    expired, by a key from our keyrings that is neither expired nor
 *    revoked.  Further signatures by unknown (ERRSIG/NO_PUBKEY), expired
 *    (EXPKEYSIG) or revoked (REVKEYSIG) keys, or expired ones (EXPSIG), are
 *    then ignored: archives sign with several keys, across key rollovers,
 *    and a client needs to trust one of them.
 *  - gpgv exits non-zero when any signature failed (2 for an unknown key,
 *    1 for an expired signature), so with a good signature a non-zero exit
 *    is accepted only when a signature that failed in one of those ways
 *    explains it; any other failure is an error with gpgv's message;
 *  - with no good signature, the message gives the most specific reason.
 */
static int judge(const struct verdict *v, int status, const char *stderr_text, const char *what,
		 size_t nkeyrings, struct pl_error **err)
{
	if (v->nplaintext > 1)
		return pl__error_set(err, PL_EPOLICY, 0, "'%s': holds more than one signed text",
				     what);
	if (v->bad.open)
		return pl__error_set(err, PL_EPOLICY, 0, "'%s': bad signature by key %s", what,
				     v->bad.keyid);
	if (v->ngood > 0 && (status == 0 || v->nfailed > 0))
		return 0;
	if (v->ngood == 0) {
		if (v->revkey.open)
			return pl__error_set(err, PL_EPOLICY, 0, "'%s': signed by a revoked key %s",
					     what, v->revkey.keyid);
		if (v->expkey.open)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s': signed by an expired key %s", what,
					     v->expkey.keyid);
		if (v->expsig.open)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s': expired signature by key %s", what,
					     v->expsig.keyid);
		if (v->nopubkey.open)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s': signed by unknown key %s: not in the keyring%s",
					     what, v->nopubkey.keyid, nkeyrings > 1 ? "s" : "");
		if (v->errsig.open)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "'%s': cannot check the signature by key %s: %s", what,
					     v->errsig.keyid,
					     v->errsig.errsig_rc == 4 ? "unsupported algorithm"
								      : "gpgv cannot verify it");
		if (v->nodata || (v->nsigs == 0 && status == 0))
			return pl__error_set(err, PL_EPOLICY, 0, "'%s': not signed", what);
		if (status == 0)
			return pl__error_set(err, PL_EPOLICY, 0, "'%s': no valid signature", what);
	}
	char line[256];
	first_error_line(stderr_text, line, sizeof(line));
	return pl__error_set(err, PL_EINVAL, 0, "'%s': gpgv failed with exit status %d: %s", what,
			     status, line);
}

/*
 * Whether a clearsigned text holds more than one signed message.  Inside
 * one, a line starting with dashes is dash-escaped ("- -----"), so each
 * message adds exactly one line starting with the BEGIN line.  gpgv
 * verifies only the first such message and may still print both.
 */
static bool several_messages(const char *p, size_t n)
{
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	size_t count = 0;
	for (size_t pos = 0; pos < n;) {
		const char *nl = memchr(p + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - p) : n;
		if (end - pos >= sizeof(begin) - 1 && !memcmp(p + pos, begin, sizeof(begin) - 1))
			count++;
		pos = end + 1;
	}
	return count > 1;
}

/* ---- running gpgv ----------------------------------------------------- */

struct gpgv_run {
	int out, errfd, status, data, sig; /* memfds, -1 when unused */
	const struct fdlist *keyrings;
	const char *homedir;
	bool clearsigned;
};

static int spawn_gpgv(const char *prog, const struct gpgv_run *g, int *status,
		      struct pl_error **err)
{
	size_t nk = g->keyrings->n;
	char fdnames[PL_KEYRINGS_MAX + 2][24];
	const char *argv[12 + 2 * PL_KEYRINGS_MAX];
	size_t a = 0;
	argv[a++] = prog;
	argv[a++] = "--homedir";
	argv[a++] = g->homedir;
	argv[a++] = "--status-fd";
	argv[a++] = "3";
	if (g->clearsigned) {
		argv[a++] = "--output";
		argv[a++] = "-";
	}
	for (size_t i = 0; i < nk; i++) {
		snprintf(fdnames[i], sizeof(fdnames[i]), "/dev/fd/%d", FD_KEYRING0 + (int)i);
		argv[a++] = "--keyring";
		argv[a++] = fdnames[i];
	}
	snprintf(fdnames[nk], sizeof(fdnames[nk]), "/dev/fd/%d", FD_SIG);
	snprintf(fdnames[nk + 1], sizeof(fdnames[nk + 1]), "/dev/fd/%d", FD_DATA);
	if (!g->clearsigned)
		argv[a++] = fdnames[nk];
	argv[a++] = fdnames[nk + 1];
	argv[a] = NULL;

	/* A fixed environment: status lines do not depend on it, and the C
	 * locale keeps gpgv's messages in the language of ours. */
	cleanup_free char *path =
	    pl__asprintf(err, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	if (!path)
		return PL_ENOMEM;
	static char lc_all[] = "LC_ALL=C";
	char *envp[] = { lc_all, path, NULL };

	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return pl__error_set(err, PL_ESYS, rc, "cannot run '%s'", prog);
	rc = posix_spawnattr_init(&attr);
	if (rc) {
		posix_spawn_file_actions_destroy(&fa);
		return pl__error_set(err, PL_ESYS, rc, "cannot run '%s'", prog);
	}
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	/* Every source is above FD_KEYRING0 + nk (new_memfd), so no dup2 here
	 * overwrites the source of a later one. */
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, g->out, 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, g->errfd, 2);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, g->status, FD_STATUS);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, g->data, FD_DATA);
	if (!rc && g->sig >= 0)
		rc = posix_spawn_file_actions_adddup2(&fa, g->sig, FD_SIG);
	for (size_t i = 0; i < nk && !rc; i++)
		rc =
		    posix_spawn_file_actions_adddup2(&fa, g->keyrings->fd[i], FD_KEYRING0 + (int)i);
	pid_t pid = -1;
	if (!rc)
		rc = posix_spawnp(&pid, prog, &fa, &attr, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc)
		return pl__error_set(err, PL_ESYS, rc, "cannot run '%s'", prog);

	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return pl__error_set(err, PL_ESYS, errno, "cannot wait for '%s'", prog);
	if (WIFSIGNALED(st))
		return pl__error_set(err, PL_ESYS, 0, "'%s' was killed by signal %d", prog,
				     WTERMSIG(st));
	if (!WIFEXITED(st))
		return pl__error_set(err, PL_ESYS, 0, "'%s' ended abnormally", prog);
	*status = WEXITSTATUS(st);
	return 0;
}

static int make_homedir(char **out, struct pl_error **err)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	cleanup_free char *dir = pl__asprintf(err, "%s/plinth-gpgv-XXXXXX", tmp);
	if (!dir)
		return PL_ENOMEM;
	if (!mkdtemp(dir))
		return pl__error_set(err, PL_ESYS, errno, "cannot create a directory in '%s'", tmp);
	*out = steal_pointer(&dir);
	return 0;
}

int pl__gpgv_verify(const char *gpgv, const char *const *keyrings, size_t nkeyrings,
		    const char *data, size_t len, const char *sig, size_t siglen, const char *what,
		    char **out, size_t *outlen, struct pl_error **err)
{
	const char *prog = gpgv ? gpgv : "gpgv";
	what = what ? what : "signed data";
	if (len > PL_RELEASE_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "'%s' is larger than the limit of %zu bytes", what,
				     PL_RELEASE_MAX);
	if (sig && siglen > PL_RELEASE_SIG_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "the signature of '%s' is larger than the limit of %zu bytes",
				     what, PL_RELEASE_SIG_MAX);
	if (nkeyrings == 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s': no keyring to check it against",
				     what);
	if (nkeyrings > PL_KEYRINGS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s': more than %d keyrings", what,
				     PL_KEYRINGS_MAX);

	if (!sig && several_messages(data, len))
		return pl__error_set(err, PL_EPOLICY, 0, "'%s': holds more than one signed text",
				     what);

	int above = FD_KEYRING0 + (int)nkeyrings;
	__attribute__((cleanup(fdlist_close))) struct fdlist kr = { 0 };
	for (size_t i = 0; i < nkeyrings; i++) {
		kr.fd[kr.n] = -1;
		int rc = keyring_memfd(keyrings[i], above, &kr.fd[kr.n], err);
		kr.n++;
		if (rc < 0)
			return rc;
	}
	cleanup_close int datafd = -1;
	cleanup_close int sigfd = -1;
	cleanup_close int outfd = -1;
	cleanup_close int errfd = -1;
	cleanup_close int statusfd = -1;
	int rc = new_memfd("plinth-gpgv-data", data, len, above, &datafd, err);
	if (rc == 0 && sig)
		rc = new_memfd("plinth-gpgv-sig", sig, siglen, above, &sigfd, err);
	if (rc == 0)
		rc = new_memfd("plinth-gpgv-stdout", NULL, 0, above, &outfd, err);
	if (rc == 0)
		rc = new_memfd("plinth-gpgv-stderr", NULL, 0, above, &errfd, err);
	if (rc == 0)
		rc = new_memfd("plinth-gpgv-status", NULL, 0, above, &statusfd, err);
	if (rc < 0)
		return rc;

	int status = -1;
	{
		/* gpgv reads no keyring of the user's from an empty home of its own */
		__attribute__((cleanup(tmpdir_removep))) char *home = NULL;
		rc = make_homedir(&home, err);
		if (rc < 0)
			return rc;
		struct gpgv_run g = { outfd, errfd, statusfd, datafd, sigfd, &kr, home, !sig };
		rc = spawn_gpgv(prog, &g, &status, err);
		if (rc < 0)
			return rc;
	}

	cleanup_free char *status_text = NULL;
	cleanup_free char *stderr_text = NULL;
	cleanup_free char *text = NULL;
	size_t status_len = 0, stderr_len = 0, text_len = 0;
	rc = read_memfd(statusfd, "gpgv status", PL_GPGV_STATUS_MAX, false, &status_text,
			&status_len, err);
	if (rc == 0)
		rc = read_memfd(errfd, "gpgv stderr", GPGV_STDERR_READ, true, &stderr_text,
				&stderr_len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "'%s'", what);
	struct verdict v;
	read_status(status_text, status_len, &v);
	rc = judge(&v, status, stderr_text, what, nkeyrings, err);
	if (rc < 0)
		return rc;

	if (sig) {
		text = malloc(len + 1);
		if (!text)
			return pl__error_nomem(err);
		if (len)
			memcpy(text, data, len);
		text[len] = '\0';
		text_len = len;
	} else {
		rc = read_memfd(outfd, "gpgv output", PL_RELEASE_MAX, false, &text, &text_len, err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "'%s'", what);
	}
	*out = steal_pointer(&text);
	if (outlen)
		*outlen = text_len;
	return 0;
}

/* ---- dates ------------------------------------------------------------- */

static const char day_names[7][4] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char month_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether s[0..3) is `name`, ignoring ASCII case (no locale involved). */
static bool name3_is(const char *s, const char *name)
{
	for (int i = 0; i < 3; i++)
		if (ascii_lower(s[i]) != ascii_lower(name[i]))
			return false;
	return true;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

struct cursor {
	const char *p, *end;
};

static bool skip_blanks(struct cursor *c, bool required)
{
	const char *start = c->p;
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	return !required || c->p > start;
}

/* Exactly `min`..`max` digits. */
static bool digits(struct cursor *c, int min, int max, int *out)
{
	int n = 0, v = 0;
	while (c->p < c->end && n < max && *c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (*c->p++ - '0');
		n++;
	}
	if (n < min || (c->p < c->end && *c->p >= '0' && *c->p <= '9'))
		return false;
	*out = v;
	return true;
}

static bool literal(struct cursor *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/*
 * An RFC 2822 date as Release files carry it: "[Day, ]DD Mon YYYY HH:MM[:SS]
 * ZONE" with ZONE "UTC", "GMT", "UT", "Z" or "+HHMM"/"-HHMM".  English names
 * only, whatever the locale (strptime would follow LC_TIME).  The day name,
 * when present, must be one, but is not checked against the date: apt does
 * not either.  A leap second (:60) counts as the next second, as timegm does.
 */
static bool parse_date(const char *s, size_t n, int64_t *out)
{
	struct cursor c = { s, s + n };
	skip_blanks(&c, false);
	if (c.end - c.p >= 4 && c.p[3] == ',') {
		bool known = false;
		for (int i = 0; i < 7; i++)
			known |= name3_is(c.p, day_names[i]);
		if (!known)
			return false;
		c.p += 4;
		skip_blanks(&c, false);
	}
	int day, month = 0, year, hour, min, sec = 0;
	if (!digits(&c, 1, 2, &day) || !skip_blanks(&c, true) || c.end - c.p < 3)
		return false;
	for (int i = 0; i < 12; i++)
		if (name3_is(c.p, month_names[i]))
			month = i + 1;
	if (month == 0)
		return false;
	c.p += 3;
	if (!skip_blanks(&c, true) || !digits(&c, 4, 4, &year) || !skip_blanks(&c, true) ||
	    !digits(&c, 2, 2, &hour) || !literal(&c, ':') || !digits(&c, 2, 2, &min))
		return false;
	if (literal(&c, ':') && !digits(&c, 2, 2, &sec))
		return false;
	if (!skip_blanks(&c, true))
		return false;
	int offset = 0;
	size_t zl = (size_t)(c.end - c.p);
	while (zl > 0 && (c.p[zl - 1] == ' ' || c.p[zl - 1] == '\t'))
		zl--;
	if ((zl == 3 && (!memcmp(c.p, "UTC", 3) || !memcmp(c.p, "GMT", 3))) ||
	    (zl == 2 && !memcmp(c.p, "UT", 2)) || (zl == 1 && *c.p == 'Z')) {
		c.p += zl;
	} else if (zl == 5 && (*c.p == '+' || *c.p == '-')) {
		int sign = *c.p++ == '-' ? -1 : 1, hhmm;
		if (!digits(&c, 4, 4, &hhmm) || hhmm / 100 > 23 || hhmm % 100 > 59)
			return false;
		offset = sign * (hhmm / 100 * 3600 + hhmm % 100 * 60);
	} else {
		return false;
	}
	if (year < 1900 || day < 1 || day > month_days(year, month) || hour > 23 || min > 59 ||
	    sec > 60)
		return false;
	*out = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
	return true;
}

/* "Sat, 10 Aug 2024 09:33:05 UTC" */
static void format_date(int64_t t, char *out, size_t size)
{
	int64_t days = t / 86400, secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	int64_t wd = (days % 7 + 7 + 3) % 7; /* 1970-01-01 was a Thursday */
	snprintf(out, size, "%s, %02d %s %lld %02d:%02d:%02d UTC", day_names[wd], d,
		 month_names[m - 1], (long long)y, (int)(secs / 3600), (int)(secs / 60 % 60),
		 (int)(secs % 60));
}

/* ---- the Release paragraph -------------------------------------------- */

/* 1-based line and column of p in text. */
static void position(const char *text, const char *p, unsigned *line, unsigned *col)
{
	unsigned l = 1;
	const char *start = text;
	for (const char *q = text; q < p; q++)
		if (*q == '\n') {
			l++;
			start = q + 1;
		}
	*line = l;
	*col = (unsigned)(p - start) + 1;
}

PL__PRINTF(5, 6)
static int fail_at(const char *name, const char *text, const char *p, struct pl_error **err,
		   const char *fmt, ...)
{
	unsigned line, col;
	position(text, p, &line, &col);
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pl__error_set(err, PL_EINVAL, 0, "%s:%u:%u: %s", name, line, col, msg);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int dup_value(const struct pl__field *f, char **out, struct pl_error **err)
{
	char *s = pl__strndup(f->value, f->value_len, err);
	if (!s)
		return PL_ENOMEM;
	free(*out);
	*out = s;
	return 0;
}

/* Words separated by blanks and line breaks. */
static int split_words(const struct pl__field *f, char ***out, size_t *n, struct pl_error **err)
{
	const char *p = f->value, *end = f->value + f->value_len;
	size_t alloc = 0;
	while (p < end) {
		while (p < end && (blank(*p) || *p == '\n'))
			p++;
		const char *w = p;
		while (p < end && !blank(*p) && *p != '\n')
			p++;
		if (p == w)
			break;
		int rc = pl__grow(out, &alloc, *n + 1, sizeof(**out), err);
		if (rc < 0)
			return rc;
		char *s = pl__strndup(w, (size_t)(p - w), err);
		if (!s)
			return PL_ENOMEM;
		(*out)[(*n)++] = s;
	}
	return 0;
}

struct file_pos {
	const char *path, *where;
};

static int cmp_file_pos(const void *a, const void *b)
{
	const struct file_pos *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return x->where < y->where ? -1 : x->where > y->where;
}

/* A path in the SHA256 list: relative, no "..", no control characters. */
static int check_path(const char *name, const char *text, const char *p, size_t n,
		      struct pl_error **err)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return fail_at(name, text, p + i, err,
				       "a path holds a control character in 'SHA256'");
	if (n > PL_PATH_MAX)
		return fail_at(name, text, p, err, "a path is longer than %d bytes in 'SHA256'",
			       PL_PATH_MAX);
	if (p[0] == '/')
		return fail_at(name, text, p, err, "absolute path '%.*s' in 'SHA256'", (int)n, p);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
			return fail_at(name, text, p, err, "path '%.*s' holds '..' in 'SHA256'",
				       (int)n, p);
		i = j + 1;
	}
	return 0;
}

/* " <sha256> <size> <path>" lines. */
static int parse_sha256(const char *name, const char *text, const struct pl__field *f,
			struct pl__release *r, struct pl_error **err)
{
	const char *p = f->value, *end = f->value + f->value_len;
	size_t alloc = 0, npos_alloc = 0;
	cleanup_free struct file_pos *pos = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *s = p;
		p = nl ? nl + 1 : end;
		while (s < le && blank(*s))
			s++;
		while (le > s && blank(le[-1]))
			le--;
		if (s == le)
			continue;
		const char *h = s;
		while (s < le && !blank(*s))
			s++;
		char hex[65];
		uint8_t digest[PL_SHA256_LEN];
		if (s - h != 64)
			return fail_at(name, text, h, err,
				       "expected a sha256 of 64 hex digits in 'SHA256'");
		for (size_t i = 0; i < 64; i++) /* digests compare case-insensitively, as in apt */
			hex[i] = ascii_lower(h[i]);
		hex[64] = '\0';
		if (!pl__hex_sha256(hex, digest))
			return fail_at(name, text, h, err,
				       "expected a sha256 of 64 hex digits in 'SHA256'");
		while (s < le && blank(*s))
			s++;
		const char *z = s;
		uint64_t size = 0;
		while (s < le && *s >= '0' && *s <= '9') {
			unsigned dgt = (unsigned)(*s - '0');
			if (size > (UINT64_MAX - dgt) / 10)
				return fail_at(name, text, z, err, "size out of range in 'SHA256'");
			size = size * 10 + dgt;
			s++;
		}
		if (s == z || (s < le && !blank(*s)))
			return fail_at(name, text, s == z ? z : s, err,
				       "expected a size after the sha256 in 'SHA256'");
		while (s < le && blank(*s))
			s++;
		const char *path = s;
		while (s < le && !blank(*s))
			s++;
		size_t plen = (size_t)(s - path);
		if (plen == 0)
			return fail_at(name, text, path, err,
				       "expected a path after the size in 'SHA256'");
		while (s < le && blank(*s))
			s++;
		if (s < le)
			return fail_at(name, text, s, err,
				       "unexpected text after the path in 'SHA256'");
		int rc = check_path(name, text, path, plen, err);
		if (rc < 0)
			return rc;
		rc = pl__grow(&r->files, &alloc, r->nfiles + 1, sizeof(*r->files), err);
		if (rc == 0)
			rc = pl__grow(&pos, &npos_alloc, r->nfiles + 1, sizeof(*pos), err);
		if (rc < 0)
			return rc;
		char *copy = pl__strndup(path, plen, err);
		if (!copy)
			return PL_ENOMEM;
		struct pl__release_file *rf = &r->files[r->nfiles];
		rf->path = copy;
		rf->size = size;
		memcpy(rf->sha256, digest, sizeof(digest));
		pos[r->nfiles++] = (struct file_pos){ copy, path };
	}
	if (r->nfiles > 1) {
		qsort(pos, r->nfiles, sizeof(*pos), cmp_file_pos);
		for (size_t i = 1; i < r->nfiles; i++)
			if (!strcmp(pos[i - 1].path, pos[i].path))
				return fail_at(name, text, pos[i].where, err,
					       "path '%s' is listed twice in 'SHA256'",
					       pos[i].path);
	}
	return 0;
}

int pl__release_parse(const char *name, const char *text, size_t len, struct pl__release *out,
		      struct pl_error **err)
{
	if (len > PL_RELEASE_MAX)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "'%s' is larger than the limit of %zu bytes", name,
				     PL_RELEASE_MAX);
	/* no NUL: every value becomes a C string, which must not be cut short */
	const char *nul = memchr(text, '\0', len);
	if (nul)
		return fail_at(name, text, nul, err, "a NUL byte");
	__attribute__((cleanup(pl__release_release))) struct pl__release r = { 0 };
	__attribute__((cleanup(pl__para_release))) struct pl__para p = { 0 };
	struct pl__deb822 d;
	pl__deb822_init(&d, name, text, len);
	int rc = pl__deb822_next(&d, &p, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return pl__error_set(err, PL_EINVAL, 0, "'%s' holds no fields", name);
	for (size_t i = 0; i < p.n; i++) {
		const struct pl__field *f = &p.f[i];
		rc = 0;
#define IS(lit) (f->name_len == sizeof(lit) - 1 && !strncasecmp(f->name, lit, sizeof(lit) - 1))
		if (IS("Origin")) {
			rc = dup_value(f, &r.origin, err);
		} else if (IS("Label")) {
			rc = dup_value(f, &r.label, err);
		} else if (IS("Suite")) {
			rc = dup_value(f, &r.suite, err);
		} else if (IS("Codename")) {
			rc = dup_value(f, &r.codename, err);
		} else if (IS("Architectures")) {
			rc = split_words(f, &r.architectures, &r.narchitectures, err);
		} else if (IS("Components")) {
			rc = split_words(f, &r.components, &r.ncomponents, err);
		} else if (IS("Date") || IS("Valid-Until")) {
			bool date = IS("Date");
			int64_t t;
			if (!parse_date(f->value, f->value_len, &t))
				return fail_at(name, text, f->value, err,
					       "'%s' is not a date like 'Sat, 10 Aug 2024 09:33:05 "
					       "UTC'",
					       date ? "Date" : "Valid-Until");
			if (date) {
				r.has_date = true;
				r.date = t;
			} else {
				r.has_valid_until = true;
				r.valid_until = t;
			}
		} else if (IS("No-Support-for-Architecture-all")) {
			r.all_in_arch_indexes =
			    f->value_len == 8 && !memcmp(f->value, "Packages", 8);
		} else if (IS("Acquire-By-Hash")) {
			r.acquire_by_hash = f->value_len == 3 && name3_is(f->value, "yes");
		} else if (IS("NotAutomatic")) {
			r.not_automatic = f->value_len == 3 && name3_is(f->value, "yes");
		} else if (IS("SHA256")) {
			rc = parse_sha256(name, text, f, &r, err);
		}
#undef IS
		if (rc < 0)
			return rc;
	}
	rc = pl__deb822_next(&d, &p, err);
	if (rc < 0)
		return rc;
	if (rc > 0)
		return pl__error_set(err, PL_EINVAL, 0,
				     "%s:%u:1: a second paragraph, where a Release file has one",
				     name, p.line);
	*out = r;
	r = (struct pl__release){ 0 };
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void pl__release_release(struct pl__release *r)
{
	free(r->origin);
	free(r->label);
	free(r->suite);
	free(r->codename);
	free_strv(r->architectures, r->narchitectures);
	free_strv(r->components, r->ncomponents);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	*r = (struct pl__release){ 0 };
}

const struct pl__release_file *pl__release_find(const struct pl__release *r, const char *path)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].path, path))
			return &r->files[i];
	return NULL;
}

int pl__release_check_fresh(const struct pl__release *r, const char *name, int64_t now,
			    struct pl_error **err)
{
	if (!r->has_valid_until || r->valid_until >= now)
		return 0;
	char when[64];
	format_date(r->valid_until, when, sizeof(when));
	return pl__error_set(err, PL_EPOLICY, 0, "'%s' has expired: it was valid until %s", name,
			     when);
}
