/*
 * fetch.c - downloads (file://, http://, https://) and the content-addressed
 * cache they land in.  See fetch.h for the cache's layout and guarantees.
 *
 * A struct pl__cache is not thread-safe: it owns one libcurl easy handle,
 * reused for every transfer so that connections to a mirror stay open.
 * Processes sharing a cache never lock: every download writes a file of its
 * own under tmp/ and renames it into sha256/ only once it was checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "curl.h"
#include "fetch.h"
#include "plinth/plinth.h"

/* Temporary downloads older than this are left by a process that died. */
#define STALE_TMP_SECONDS (24 * 60 * 60)
/* The body of an error response is read (and dropped) up to this size, so
 * that the connection can be reused; beyond it the transfer is cut. */
#define ERROR_BODY_MAX ((uint64_t)64 << 10)
#define CHUNK          65536

struct pl__cache {
	char *path;
	int dirfd, shafd, tmpfd;
	const volatile int *cancel;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

void pl__cache_free(struct pl__cache *c)
{
	if (!c)
		return;
	if (c->curl)
		pl__curl_easy_cleanup(c->curl);
	pl__closep(&c->tmpfd);
	pl__closep(&c->shafd);
	pl__closep(&c->dirfd);
	free(c->path);
	free(c);
}

void pl__cache_freep(struct pl__cache **c)
{
	pl__cache_free(*c);
}

static int open_subdir(struct pl__cache *c, const char *name, int *out, struct pl_error **err)
{
	if (mkdirat(c->dirfd, name, 0755) < 0 && errno != EEXIST)
		return pl__error_set(err, PL_ESYS, errno, "cannot create directory '%s/%s'",
				     c->path, name);
	*out = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*out < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open directory '%s/%s'", c->path,
				     name);
	return 0;
}

/* Remove downloads abandoned by processes that died; best effort. */
static void remove_stale_tmp(struct pl__cache *c)
{
	DIR *d = pl__opendirat(c->tmpfd, ".");
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(c->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (now - st.st_mtime > STALE_TMP_SECONDS)
			unlinkat(c->tmpfd, de->d_name, 0);
	}
	closedir(d);
}

int pl__cache_open(const char *dir, const volatile int *cancel, struct pl__cache **out,
		   struct pl_error **err)
{
	cleanup_cache struct pl__cache *c = pl__calloc(1, sizeof(*c), err);
	if (!c)
		return PL_ENOMEM;
	c->dirfd = c->shafd = c->tmpfd = -1;
	c->cancel = cancel;
	c->path = pl__strdup(dir, err);
	if (!c->path)
		return PL_ENOMEM;
	int rc = pl__mkdir_p(dir, 0755, err);
	if (rc < 0)
		return rc;
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open cache directory '%s'", dir);
	if ((rc = open_subdir(c, "sha256", &c->shafd, err)) < 0 ||
	    (rc = open_subdir(c, "tmp", &c->tmpfd, err)) < 0)
		return rc;
	remove_stale_tmp(c);
	*out = steal_pointer(&c);
	return 0;
}

/* ---- where a transfer's bytes go ------------------------------------ */

enum sink_failure { SINK_OK, SINK_LIMIT, SINK_WRITE, SINK_NOMEM };

struct sink {
	const char *url;
	uint64_t got, max;
	bool exact;         /* max is the size the signed index promises */
	struct pl_buf *buf; /* fetch_mem: the bytes go here... */
	int fd;             /* ...else to this temporary file */
	struct pl_sha256 *sha;
	enum sink_failure failed;
	int errnum;
	/* http: the body of a response other than 200 is dropped */
	CURL *curl;
	uint64_t dropped;
};

static int sink_add(struct sink *s, const void *p, size_t n)
{
	if (n > s->max - s->got) {
		s->failed = SINK_LIMIT;
		return -1;
	}
	if (s->buf) {
		if (pl_buf_add(s->buf, p, n, NULL) < 0) {
			s->failed = SINK_NOMEM;
			return -1;
		}
	} else if (pl__write_all(s->fd, p, n) < 0) {
		s->failed = SINK_WRITE;
		s->errnum = errno;
		return -1;
	}
	if (s->sha)
		pl__sha256_update(s->sha, p, n);
	s->got += n;
	return 0;
}

static int sink_error(struct sink *s, const char *tmpname, struct pl_error **err)
{
	switch (s->failed) {
	case SINK_LIMIT:
		if (s->exact)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "'%s': larger than the expected %" PRIu64 " bytes",
					     s->url, s->max);
		return pl__error_set(err, PL_ELIMIT, 0,
				     "'%s': larger than the limit of %" PRIu64 " bytes", s->url,
				     s->max);
	case SINK_WRITE:
		return pl__error_set(err, PL_ESYS, s->errnum, "cannot write '%s' to '%s'", s->url,
				     tmpname ? tmpname : "the cache");
	case SINK_NOMEM:
		return pl__error_nomem(err);
	case SINK_OK:
		break;
	}
	return 0;
}

/* `total`: the size the server announced, or -1. */
static int truncated(struct sink *s, int64_t total, struct pl_error **err)
{
	if (s->exact && s->got < s->max)
		total = (int64_t)s->max;
	if (total >= 0 && (uint64_t)total > s->got)
		return pl__error_set(err, PL_EDIGEST, 0,
				     "'%s': truncated download: got %" PRIu64 " of %" PRId64
				     " bytes",
				     s->url, s->got, total);
	return pl__error_set(err, PL_EDIGEST, 0,
			     "'%s': truncated download: the connection closed after %" PRIu64
			     " bytes",
			     s->url, s->got);
}

/* ---- file:// ------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The absolute path of a "file:///path" or "file://localhost/path" URL,
 * percent-decoded. */
static int file_url_path(const char *url, char **out, struct pl_error **err)
{
	const char *p = url + strlen("file://");
	if (!strncasecmp(p, "localhost/", strlen("localhost/")))
		p += strlen("localhost");
	if (*p != '/')
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s': unsupported file URL: expected file:///path", url);
	size_t n = strlen(p);
	if (n >= PATH_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "'%s': the path is too long", url);
	cleanup_free char *path = malloc(n + 1);
	if (!path)
		return pl__error_nomem(err);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			path[o++] = p[i];
			continue;
		}
		int hi = hexval(p[i + 1]);
		int lo = hi < 0 ? -1 : hexval(p[i + 2]);
		if (lo < 0)
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s': malformed percent-encoding at offset %zu", url,
					     (size_t)(p - url) + i);
		if (hi == 0 && lo == 0)
			return pl__error_set(err, PL_EINVAL, 0, "'%s': the path holds a NUL byte",
					     url);
		path[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	path[o] = '\0';
	*out = steal_pointer(&path);
	return 0;
}

static int transfer_file(struct pl__cache *c, const char *url, struct sink *s, bool report_missing,
			 struct pl_error **err)
{
	cleanup_free char *path = NULL;
	int rc = file_url_path(url, &path, err);
	if (rc < 0)
		return rc;
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && !report_missing && (errno == ENOENT || errno == ENOTDIR))
		return PL__FETCH_NOT_FOUND;
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", url);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat '%s'", url);
	if (!S_ISREG(st.st_mode))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is not a regular file", url);
	for (;;) {
		if ((rc = pl__check_cancel(c->cancel, err)) < 0)
			return rc;
		char chunk[CHUNK];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot read '%s'", url);
		if (n == 0)
			return 0;
		if (sink_add(s, chunk, (size_t)n) < 0)
			return PL_ESYS; /* the caller reports s->failed */
	}
}

/* ---- http:// and https:// ------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *data)
{
	struct sink *s = data;
	size_t n = size * nmemb;
	/* The headers of the response this body belongs to are in (each
	 * response of a redirect chain has its own code). */
	long code = 0;
	pl__curl_getinfo_long(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		s->dropped += n;
		return s->dropped > ERROR_BODY_MAX ? 0 : n;
	}
	return sink_add(s, p, n) < 0 ? 0 : n;
}

static int on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct pl__cache *c = data;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return c->cancel && *c->cancel;
}

static int curl_handle(struct pl__cache *c, struct pl_error **err)
{
	if (c->curl)
		return 0;
	int rc = pl__curl_load(err);
	if (rc < 0)
		return rc;
	CURL *h = pl__curl_easy_init();
	if (!h)
		return pl__error_set(err, PL_ENOMEM, 0, "cannot initialise libcurl");
	CURLcode cc = CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_ptr(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_ptr(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_PROTOCOLS,
					  (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_REDIR_PROTOCOLS,
					  (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_MAXREDIRS, 5L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT, 30L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, 60L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_FAILONERROR, 0L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_ptr(h, CURLOPT_USERAGENT, "plinth/" PLINTH_VERSION);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_ptr(h, CURLOPT_ERRORBUFFER, c->errbuf);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_write(h, CURLOPT_WRITEFUNCTION, on_data);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_xferinfo(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_ptr(h, CURLOPT_XFERINFODATA, c);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_long(h, CURLOPT_NOPROGRESS, 0L);
	if (cc != CURLE_OK) {
		pl__curl_easy_cleanup(h);
		return pl__error_set(err, PL_ESYS, 0, "cannot set up libcurl: %s",
				     pl__curl_easy_strerror(cc));
	}
	c->curl = h;
	return 0;
}

static int transfer_http(struct pl__cache *c, const char *url, struct sink *s, bool report_missing,
			 struct pl_error **err)
{
	int rc = curl_handle(c, err);
	if (rc < 0)
		return rc;
	s->curl = c->curl;
	c->errbuf[0] = '\0';
	CURLcode cc = pl__curl_setopt_ptr(c->curl, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = pl__curl_setopt_ptr(c->curl, CURLOPT_WRITEDATA, s);
	if (cc == CURLE_OK)
		cc = pl__curl_easy_perform(c->curl);
	/* The handle must not keep pointers to the caller's stack. */
	pl__curl_setopt_ptr(c->curl, CURLOPT_WRITEDATA, NULL);

	if ((rc = pl__check_cancel(c->cancel, err)) < 0)
		return rc;
	if (s->failed != SINK_OK)
		return PL_ESYS; /* the caller reports s->failed */

	long code = 0;
	pl__curl_getinfo_long(c->curl, CURLINFO_RESPONSE_CODE, &code);
	bool answered = cc == CURLE_OK || cc == CURLE_PARTIAL_FILE || cc == CURLE_WRITE_ERROR;
	if (answered && code != 200 && code != 0) {
		if ((code == 404 || code == 410) && !report_missing)
			return PL__FETCH_NOT_FOUND;
		return pl__error_set(err, PL_ESYS, 0, "'%s': HTTP %ld", url, code);
	}
	if (cc == CURLE_PARTIAL_FILE) {
		curl_off_t total = -1;
		pl__curl_getinfo_off(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
		return truncated(s, (int64_t)total, err);
	}
	if (cc != CURLE_OK) {
		size_t n = strlen(c->errbuf);
		while (n && c->errbuf[n - 1] == '\n')
			c->errbuf[--n] = '\0';
		return pl__error_set(err, PL_ESYS, 0, "cannot fetch '%s': %s", url,
				     n ? c->errbuf : pl__curl_easy_strerror(cc));
	}
	return 0;
}

/*
 * Copy `url` into `s`.  @return 0, PL__FETCH_NOT_FOUND (only when
 * !report_missing; no error set), or a negative pl_code with the error set.
 */
static int transfer(struct pl__cache *c, const char *url, struct sink *s, bool report_missing,
		    const char *tmpname, struct pl_error **err)
{
	int rc = pl__check_cancel(c->cancel, err);
	if (rc < 0)
		return rc;
	if (!strncasecmp(url, "file://", strlen("file://")))
		rc = transfer_file(c, url, s, report_missing, err);
	else if (!strncasecmp(url, "http://", strlen("http://")) ||
		 !strncasecmp(url, "https://", strlen("https://")))
		rc = transfer_http(c, url, s, report_missing, err);
	else
		return pl__error_set(err, PL_EINVAL, 0, "'%s': unsupported URL scheme", url);
	if (s->failed != SINK_OK)
		return sink_error(s, tmpname, err);
	return rc;
}

/* ---- the cache ------------------------------------------------------- */

/* Reopen `fd` read-only, by identity rather than by name where /proc
 * allows, so that a concurrent rename or removal cannot swap the file. */
static int reopen_rdonly(int fd, int dirfd, const char *name)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int r = open(proc, O_RDONLY | O_CLOEXEC);
	if (r < 0)
		r = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return r;
}

/* Remove sha256/<hex> when it is still the file `fd` has open (another
 * process may have just renamed a good copy over it). */
static void remove_blob(struct pl__cache *c, const char *hex, int fd)
{
	struct stat a, b;
	if (fd >= 0 && fstat(fd, &a) == 0 &&
	    (fstatat(c->shafd, hex, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_dev != b.st_dev ||
	     a.st_ino != b.st_ino))
		return;
	unlinkat(c->shafd, hex, 0);
}

int pl__cache_get(struct pl__cache *c, const uint8_t sha256[PL_SHA256_LEN], uint64_t size, int *fd,
		  struct pl_error **err)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(sha256, PL_SHA256_LEN, hex);
	*fd = -1;
	cleanup_close int f =
	    openat(c->shafd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (f < 0 && errno == ENOENT)
		return 0;
	if (f < 0 && errno == ELOOP) {
		remove_blob(c, hex, -1);
		return 0;
	}
	if (f < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s/sha256/%s'", c->path,
				     hex);
	struct stat st;
	if (fstat(f, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat '%s/sha256/%s'", c->path,
				     hex);
	if (!S_ISREG(st.st_mode) || (size != UINT64_MAX && (uint64_t)st.st_size != size)) {
		remove_blob(c, hex, f);
		return 0;
	}
	cleanup_sha256 struct pl_sha256 *sha = pl__sha256_new(err);
	if (!sha)
		return PL_ENOMEM;
	uint64_t got = 0;
	for (;;) {
		int rc = pl__check_cancel(c->cancel, err);
		if (rc < 0)
			return rc;
		char chunk[CHUNK];
		ssize_t n = read(f, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot read '%s/sha256/%s'",
					     c->path, hex);
		if (n == 0)
			break;
		pl__sha256_update(sha, chunk, (size_t)n);
		got += (uint64_t)n;
	}
	uint8_t d[PL_SHA256_LEN];
	pl__sha256_final(sha, d);
	if ((size != UINT64_MAX && got != size) || memcmp(d, sha256, PL_SHA256_LEN) != 0) {
		remove_blob(c, hex, f);
		return 0;
	}
	if (lseek(f, 0, SEEK_SET) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot seek '%s/sha256/%s'", c->path,
				     hex);
	*fd = pl__steal_fd(&f);
	return 0;
}

/* A download under tmp/, removed unless it was renamed into sha256/. */
struct tmpfile {
	int dirfd;
	int fd;
	char name[2 * PL_SHA256_LEN + 64];
};

static void tmpfile_release(struct tmpfile *t)
{
	pl__closep(&t->fd);
	if (t->name[0])
		unlinkat(t->dirfd, t->name, 0);
}

static int tmpfile_create(struct pl__cache *c, const char *hex, struct tmpfile *t,
			  struct pl_error **err)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
			r = (uint64_t)time(NULL) ^ ((uint64_t)tries << 48);
		snprintf(t->name, sizeof(t->name), "%s.%ld.%016" PRIx64, hex, (long)getpid(), r);
		t->fd = openat(c->tmpfd, t->name,
			       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (t->fd >= 0) {
			if (fchmod(t->fd, 0644) < 0)
				return pl__error_set(err, PL_ESYS, errno,
						     "cannot chmod '%s/tmp/%s'", c->path, t->name);
			return 0;
		}
		if (errno != EEXIST) {
			int e = errno;
			char name[sizeof(t->name)];
			memcpy(name, t->name, sizeof(name));
			t->name[0] = '\0';
			return pl__error_set(err, PL_ESYS, e, "cannot create '%s/tmp/%s'", c->path,
					     name);
		}
	}
	t->name[0] = '\0';
	return pl__error_set(err, PL_ESYS, EEXIST, "cannot create a file in '%s/tmp'", c->path);
}

int pl__cache_fetch(struct pl__cache *c, const char *url, const uint8_t sha256[PL_SHA256_LEN],
		    uint64_t size, int *fd, struct pl_error **err)
{
	int rc = pl__cache_get(c, sha256, size, fd, err);
	if (rc < 0 || *fd >= 0)
		return rc;

	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(sha256, PL_SHA256_LEN, hex);
	__attribute__((cleanup(tmpfile_release))) struct tmpfile t = { .dirfd = c->tmpfd,
								       .fd = -1 };
	if ((rc = tmpfile_create(c, hex, &t, err)) < 0)
		return rc;
	cleanup_free char *tmppath = pl__asprintf(err, "%s/tmp/%s", c->path, t.name);
	if (!tmppath)
		return PL_ENOMEM;
	cleanup_sha256 struct pl_sha256 *sha = pl__sha256_new(err);
	if (!sha)
		return PL_ENOMEM;
	struct sink s = {
		.url = url, .max = size, .exact = size != UINT64_MAX, .fd = t.fd, .sha = sha
	};
	if ((rc = transfer(c, url, &s, true, tmppath, err)) < 0)
		return rc;
	if (s.exact && s.got < size)
		return truncated(&s, -1, err);

	uint8_t d[PL_SHA256_LEN];
	pl__sha256_final(sha, d);
	if (memcmp(d, sha256, PL_SHA256_LEN) != 0) {
		char want[PL_DIGEST_STR_LEN + 1], got[PL_DIGEST_STR_LEN + 1];
		pl__digest_str(sha256, want);
		pl__digest_str(d, got);
		return pl__error_set(err, PL_EDIGEST, 0,
				     "'%s': sha256 mismatch: expected %s, got %s", url, want, got);
	}
	if (fsync(t.fd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot write '%s'", tmppath);
	if (renameat(c->tmpfd, t.name, c->shafd, hex) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot rename '%s' to '%s/sha256/%s'",
				     tmppath, c->path, hex);
	t.name[0] = '\0';
	if (fsync(c->shafd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync '%s/sha256'", c->path);
	int r = reopen_rdonly(t.fd, c->shafd, hex);
	if (r < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s/sha256/%s'", c->path,
				     hex);
	*fd = r;
	return 0;
}

int pl__fetch_mem(struct pl__cache *c, const char *url, size_t max, char **out, size_t *len,
		  struct pl_error **err)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, max ? max : 1, err) < 0)
		return PL_ENOMEM;
	struct sink s = { .url = url, .max = max, .buf = &b, .fd = -1 };
	int rc = transfer(c, url, &s, false, NULL, err);
	if (rc != 0)
		return rc;
	*out = pl_buf_detach(&b, len);
	return 0;
}
