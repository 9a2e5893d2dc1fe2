/* registry.c - the OCI distribution API over libcurl (see registry.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "curl.h"
#include "json.h"
#include "layout.h"
#include "oci.h"
#include "plinth/plinth.h"
#include "regauth.h"
#include "registry.h"

#define RETRIES_DEFAULT 4
#define BACKOFF_MS      250
#define BACKOFF_MAX_MS  4000
#define RETRY_AFTER_MAX 30
#define CHUNK_DEFAULT   ((uint64_t)64 << 20)
#define ERROR_BODY_MAX  ((size_t)64 << 10)
#define HEADER_MAX      8192 /* a response header line we keep */
#define UPLOAD_TRIES    3    /* upload sessions for one blob */
#define RANGE_ASKS      3    /* an upload's Range asked for, per blob */

struct token {
	char *scope; /* what it was granted for ("" for the challenge's) */
	char *value;
	time_t expires;
};

struct pl__registry {
	char *host;
	char *base; /* "https://HOST" or "http://HOST" */
	bool plain; /* named insecure */
	bool push;  /* tokens ask for push too */
	const struct pl_registry_options *o;
	unsigned retries;
	struct pl__cred cred;
	bool have_cred;
	const char *helper_note;
	_Atomic uint64_t moved; /* blob bytes sent and received */
	pthread_mutex_t mu;     /* guards what follows */
	bool basic;             /* the registry wants Basic: send it up front */
	struct token *tokens;
	size_t ntokens, alloc;
};

/* Headers of the last response that matter here. */
struct headers {
	char *location, *digest, *ctype, *auth, *retry_after, *subject, *range, *link;
};

struct pl__regconn {
	struct pl__registry *r;
	CURL *h;
	char errbuf[CURL_ERROR_SIZE];
	struct headers hd;
};

/* ---- the registry ------------------------------------------------- */

static bool named(const char *const *list, const char *host)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcasecmp(list[i], host))
			return true;
	return false;
}

int pl__registry_open(const char *host, const char *repo, bool push,
		      const struct pl_registry_options *o, struct pl__registry **out,
		      struct pl_error **err)
{
	int rc = pl__curl_load(err);
	if (rc < 0)
		return rc;
	struct pl__registry *r = pl__calloc(1, sizeof(*r), err);
	if (!r)
		return PL_ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	r->o = o;
	r->push = push;
	r->retries = o->retries < 0 ? RETRIES_DEFAULT : (unsigned)o->retries;
	r->plain = named(o->insecure, host);
	if (!(r->host = pl__strdup(host, err)) ||
	    !(r->base = pl__asprintf(err, "%s://%s", r->plain ? "http" : "https", host))) {
		pl__registry_free(r);
		return PL_ENOMEM;
	}
	rc = o->auth_files
		 ? pl__regauth_lookup(o->auth_files, host, repo, &r->cred, &r->helper_note, err)
		 : 1;
	if (rc < 0) {
		pl__registry_free(r);
		return rc;
	}
	r->have_cred = rc == 0;
	*out = r;
	return 0;
}

void pl__registry_free(struct pl__registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntokens; i++) {
		free(r->tokens[i].scope);
		OPENSSL_cleanse(r->tokens[i].value, strlen(r->tokens[i].value));
		free(r->tokens[i].value);
	}
	free(r->tokens);
	pl__cred_release(&r->cred);
	pthread_mutex_destroy(&r->mu);
	free(r->host);
	free(r->base);
	free(r);
}

void pl__registry_freep(struct pl__registry **r)
{
	pl__registry_free(*r);
}

/* ---- a connection ------------------------------------------------- */

static void headers_release(struct headers *h)
{
	free(h->location);
	free(h->digest);
	free(h->ctype);
	free(h->auth);
	free(h->retry_after);
	free(h->subject);
	free(h->range);
	free(h->link);
	memset(h, 0, sizeof(*h));
}

int pl__regconn_new(struct pl__registry *r, struct pl__regconn **out, struct pl_error **err)
{
	struct pl__regconn *c = pl__calloc(1, sizeof(*c), err);
	if (!c)
		return PL_ENOMEM;
	c->r = r;
	if (!(c->h = pl__curl_easy_init())) {
		free(c);
		return pl__error_set(err, PL_ENOMEM, 0, "cannot initialise libcurl");
	}
	*out = c;
	return 0;
}

void pl__regconn_free(struct pl__regconn *c)
{
	if (!c)
		return;
	pl__curl_easy_cleanup(c->h);
	headers_release(&c->hd);
	free(c);
}

void pl__regconn_freep(struct pl__regconn **c)
{
	pl__regconn_free(*c);
}

uint64_t pl__registry_moved(struct pl__registry *r)
{
	return atomic_load(&r->moved);
}

/* ---- one request -------------------------------------------------- */

struct req {
	const char *method;
	const char *url;   /* absolute */
	const char *scope; /* token scopes, space-separated; NULL: the challenge's */
	const char *accept, *ctype, *range;
	/* the body: `mem`, or `len` bytes of `fd` from `off` */
	bool has_body;
	const char *mem;
	int fd;
	uint64_t off, len;
	const uint8_t *want; /* check the body against this digest as it goes */
	/* the answer: into `out_fd` (checked against `out_want`, `out_size`)
	 * when 2xx and out_fd >= 0, else kept in memory up to `max` */
	size_t max;
	int out_fd;
	uint64_t out_size;
	const uint8_t *out_want;
	bool follow;
	bool blob; /* count the bytes moved */
};

/* What one attempt of a request did. */
struct io {
	const struct req *q;
	struct pl__regconn *c;
	uint64_t pos;
	struct pl_sha256 *sha;
	bool body_bad;
	int body_errno;
	struct pl_buf resp;
	uint64_t got;
	struct pl_sha256 *osha;
	bool over;
	bool too_big; /* the answer kept in memory exceeds q->max */
	int out_errno;
	long status;
};

static void io_release(struct io *io)
{
	pl__sha256_free(io->sha);
	pl__sha256_free(io->osha);
	pl_buf_release(&io->resp);
}

static void moved(struct pl__regconn *c, size_t n)
{
	atomic_fetch_add(&c->r->moved, n);
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *data)
{
	struct io *io = data;
	const struct req *q = io->q;
	size_t n = size * nmemb;
	if (n > q->len - io->pos)
		n = (size_t)(q->len - io->pos);
	if (n == 0)
		return 0;
	if (q->mem) {
		memcpy(buf, q->mem + io->pos, n);
	} else {
		ssize_t got;
		do
			got = pread(q->fd, buf, n, (off_t)(q->off + io->pos));
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			io->body_errno = got < 0 ? errno : EIO; /* shorter than it said */
			return CURL_READFUNC_ABORT;
		}
		n = (size_t)got;
	}
	io->pos += n;
	if (io->sha) {
		pl__sha256_update(io->sha, buf, n);
		if (io->pos == q->len) {
			uint8_t d[PL_SHA256_LEN];
			pl__sha256_final(io->sha, d);
			/* the last bytes are withheld: the registry never gets the blob whole */
			if (memcmp(d, q->want, PL_SHA256_LEN)) {
				io->body_bad = true;
				return CURL_READFUNC_ABORT;
			}
		}
	}
	if (q->blob)
		moved(io->c, n);
	return n;
}

/* curl sends a body again on a new connection when the one it reused
 * died: from the start, and then the digest is worked out afresh. */
static int on_seek(void *data, curl_off_t offset, int origin)
{
	struct io *io = data;
	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (io->sha) {
		struct pl_sha256 *fresh = pl__sha256_new(NULL);
		if (!fresh)
			return CURL_SEEKFUNC_FAIL;
		pl__sha256_free(io->sha);
		io->sha = fresh;
	}
	io->pos = 0;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *data)
{
	struct io *io = data;
	const struct req *q = io->q;
	size_t n = size * nmemb;
	long code = 0;
	pl__curl_getinfo_long(io->c->h, CURLINFO_RESPONSE_CODE, &code);
	if (q->out_fd < 0 || code < 200 || code > 299) {
		/* the answer, or a little of an error's body, for its message */
		bool error_body = q->out_fd >= 0 || code >= 300;
		size_t keep = n, room = io->resp.max - io->resp.len;
		if (keep > room) {
			if (!error_body) {
				io->too_big = true;
				return 0;
			}
			keep = room;
		}
		return pl_buf_add(&io->resp, p, keep, NULL) < 0 ? 0 : n;
	}
	if (n > q->out_size - io->got) {
		io->over = true;
		return 0;
	}
	if (pl__write_all(q->out_fd, p, n) < 0) {
		io->out_errno = errno;
		return 0;
	}
	pl__sha256_update(io->osha, p, n);
	io->got += n;
	if (q->blob)
		moved(io->c, n);
	return n;
}

static char *trimmed(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return pl__strndup(p, n, NULL);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *data)
{
	struct io *io = data;
	struct headers *h = &io->c->hd;
	size_t n = size * nmemb;
	if (n >= 5 && !memcmp(p, "HTTP/", 5)) { /* a new response (redirects, 100) */
		headers_release(h);
		return n;
	}
	if (n > HEADER_MAX)
		return n;
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
		{ "location", offsetof(struct headers, location) },
		{ "docker-content-digest", offsetof(struct headers, digest) },
		{ "content-type", offsetof(struct headers, ctype) },
		{ "www-authenticate", offsetof(struct headers, auth) },
		{ "retry-after", offsetof(struct headers, retry_after) },
		{ "oci-subject", offsetof(struct headers, subject) },
		{ "range", offsetof(struct headers, range) },
		{ "link", offsetof(struct headers, link) },
	};
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return n;
	size_t nl = (size_t)(colon - p);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strlen(want[i].name) != nl || strncasecmp(p, want[i].name, nl))
			continue;
		char **slot = (char **)((char *)h + want[i].off);
		if (*slot) /* WWW-Authenticate may come twice: keep the first */
			return n;
		*slot = trimmed(colon + 1, n - nl - 1);
		return *slot ? n : 0;
	}
	return n;
}

static bool same_origin(const struct pl__registry *r, const char *url)
{
	size_t n = strlen(r->base);
	return !strncmp(url, r->base, n) && (url[n] == '/' || url[n] == '\0');
}

/* The Authorization header for `q` (NULL for none); the caller wipes and frees it. */
static char *auth_header(struct pl__registry *r, const struct req *q, struct pl_error **err)
{
	if (!same_origin(r, q->url))
		return NULL; /* credentials stay with the registry they are for */
	const char *scope = q->scope ? q->scope : "";
	char *v = NULL;
	pthread_mutex_lock(&r->mu);
	time_t now = time(NULL);
	for (size_t i = 0; i < r->ntokens; i++)
		if (!strcmp(r->tokens[i].scope, scope) && r->tokens[i].expires > now) {
			v = pl__asprintf(err, "Authorization: Bearer %s", r->tokens[i].value);
			break;
		}
	if (!v && r->basic && r->have_cred) {
		cleanup_free char *b = pl__basic_auth(&r->cred, err);
		if (b) {
			v = pl__asprintf(err, "Authorization: Basic %s", b);
			OPENSSL_cleanse(b, strlen(b));
		}
	}
	pthread_mutex_unlock(&r->mu);
	return v;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void slist_freep(struct curl_slist **l)
{
	if (*l)
		pl__curl_slist_free_all(*l);
}

static int add_header(struct curl_slist **l, const char *name, const char *value,
		      struct pl_error **err)
{
	if (!value)
		return 0;
	cleanup_free char *h = pl__asprintf(err, "%s: %s", name, value);
	struct curl_slist *n = h ? pl__curl_slist_append(*l, h) : NULL;
	if (!n)
		return pl__error_nomem(err);
	*l = n;
	return 0;
}

/* One attempt of `q`, with the Authorization header line `authz` ("" for
 * none; NULL: the registry's for `q`): *cc says how the transfer went,
 * io->status what the registry answered. */
static int perform(struct pl__regconn *c, const struct req *q, struct io *io, const char *authz,
		   CURLcode *cc, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	CURL *h = c->h;
	headers_release(&c->hd);
	c->errbuf[0] = '\0';
	pl__curl_easy_reset(h);

	__attribute__((cleanup(slist_freep))) struct curl_slist *hl = NULL;
	char *own = authz ? NULL : auth_header(r, q, err);
	if (!authz)
		authz = own;
	int rc = add_header(&hl, "Accept", q->accept, err);
	if (rc == 0)
		rc = add_header(&hl, "Content-Type", q->ctype, err);
	if (rc == 0)
		rc = add_header(&hl, "Content-Range", q->range, err);
	if (rc == 0 && authz && *authz) {
		struct curl_slist *n = pl__curl_slist_append(hl, authz);
		rc = n ? (hl = n, 0) : pl__error_nomem(err);
	}
	wipe_free(own);
	if (rc == 0) {
		/* no 100-continue round trip: requests with a body are authorised */
		struct curl_slist *n = pl__curl_slist_append(hl, "Expect:");
		rc = n ? (hl = n, 0) : pl__error_nomem(err);
	}
	if (rc < 0)
		return rc;

	CURLcode s = pl__curl_setopt_ptr(h, CURLOPT_URL, q->url);
#define OPT_L(o, v) (s = s != CURLE_OK ? s : pl__curl_setopt_long(h, o, v))
#define OPT_P(o, v) (s = s != CURLE_OK ? s : pl__curl_setopt_ptr(h, o, v))
#if LIBCURL_VERSION_NUM >= 0x075500
	OPT_P(CURLOPT_PROTOCOLS_STR, r->plain ? "http,https" : "https");
	OPT_P(CURLOPT_REDIR_PROTOCOLS_STR, r->plain ? "http,https" : "https");
#else
	OPT_L(CURLOPT_PROTOCOLS,
	      (long)(r->plain ? CURLPROTO_HTTP | CURLPROTO_HTTPS : CURLPROTO_HTTPS));
	OPT_L(CURLOPT_REDIR_PROTOCOLS,
	      (long)(r->plain ? CURLPROTO_HTTP | CURLPROTO_HTTPS : CURLPROTO_HTTPS));
#endif
	OPT_L(CURLOPT_NOSIGNAL, 1L);
	OPT_P(CURLOPT_ERRORBUFFER, c->errbuf);
	OPT_P(CURLOPT_USERAGENT, "plinth/" PLINTH_VERSION);
	OPT_L(CURLOPT_CONNECTTIMEOUT, 30L);
	OPT_L(CURLOPT_LOW_SPEED_LIMIT, 1L);
	OPT_L(CURLOPT_LOW_SPEED_TIME, 60L);
	OPT_P(CURLOPT_HTTPHEADER, hl);
	OPT_P(CURLOPT_HEADERDATA, io);
	OPT_P(CURLOPT_WRITEDATA, io);
	if (r->o->ca_file)
		OPT_P(CURLOPT_CAINFO, r->o->ca_file);
	if (q->follow) {
		OPT_L(CURLOPT_FOLLOWLOCATION, 1L);
		OPT_L(CURLOPT_MAXREDIRS, 5L);
	}
	if (!strcmp(q->method, "HEAD"))
		OPT_L(CURLOPT_NOBODY, 1L);
	else if (q->has_body) {
		OPT_L(CURLOPT_UPLOAD, 1L);
		OPT_P(CURLOPT_READDATA, io);
		if (strcmp(q->method, "PUT"))
			OPT_P(CURLOPT_CUSTOMREQUEST, q->method);
	} else if (!strcmp(q->method, "POST")) {
		OPT_L(CURLOPT_POST, 1L);
		OPT_P(CURLOPT_POSTFIELDS, "");
	} else if (strcmp(q->method, "GET")) {
		OPT_P(CURLOPT_CUSTOMREQUEST, q->method);
	}
#undef OPT_L
#undef OPT_P
	if (s == CURLE_OK)
		s = pl__curl_setopt_write(h, CURLOPT_HEADERFUNCTION, on_header);
	if (s == CURLE_OK)
		s = pl__curl_setopt_write(h, CURLOPT_WRITEFUNCTION, on_write);
	if (s == CURLE_OK && q->has_body)
		s = pl__curl_setopt_read(h, CURLOPT_READFUNCTION, on_read);
	if (s == CURLE_OK && q->has_body)
		s = pl__curl_setopt_seek(h, CURLOPT_SEEKFUNCTION, on_seek);
	if (s == CURLE_OK && q->has_body)
		s = pl__curl_setopt_ptr(h, CURLOPT_SEEKDATA, io);
	if (s == CURLE_OK && q->has_body)
		s = pl__curl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->len);
	if (s != CURLE_OK)
		return pl__error_set(err, PL_ESYS, 0, "cannot set up a request: %s",
				     pl__curl_easy_strerror(s));
	*cc = pl__curl_easy_perform(h);
	io->status = 0;
	pl__curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &io->status);
	return 0;
}

/* Reset `io` for another attempt of `q`. */
static int io_start(struct io *io, struct pl__regconn *c, const struct req *q,
		    struct pl_error **err)
{
	io_release(io);
	memset(io, 0, sizeof(*io));
	io->q = q;
	io->c = c;
	int rc = pl_buf_init(&io->resp, q->out_fd >= 0 || !q->max ? ERROR_BODY_MAX : q->max, err);
	if (rc == 0 && q->want && !(io->sha = pl__sha256_new(err)))
		rc = PL_ENOMEM;
	if (rc == 0 && q->out_fd >= 0) {
		if (!(io->osha = pl__sha256_new(err)))
			return PL_ENOMEM;
		if (ftruncate(q->out_fd, 0) < 0 || lseek(q->out_fd, 0, SEEK_SET) < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot truncate a download");
	}
	return rc;
}

static bool transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SEND_FAIL_REWIND:
		return true;
	default:
		return false;
	}
}

static bool retry_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static unsigned backoff(unsigned attempt, const char *retry_after)
{
	unsigned ms = BACKOFF_MS << (attempt < 5 ? attempt : 5);
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	if (retry_after) {
		char *end;
		errno = 0;
		unsigned long s = strtoul(retry_after, &end, 10);
		if (!errno && end != retry_after && *end == '\0')
			ms = (unsigned)(s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : s) * 1000;
	}
	return ms;
}

/* "CODE: message" of a registry's error document (printable, cut at 200
 * bytes), or NULL when it has none.  The caller frees the result. */
static char *registry_says(const struct pl_buf *b)
{
	json_error_t je;
	cleanup_json json_t *j = json_loadb(b->buf, b->len, 0, &je);
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (!code && !msg)
		return NULL;
	cleanup_free char *s =
	    pl__asprintf(NULL, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	if (s && strlen(s) > 200)
		s[200] = '\0';
	return s ? pl_printable(s, false) : NULL;
}

/*
 * `url` as messages show it, in `buf`: the path alone on the registry,
 * without the query (an upload's state, a storage URL's signature), cut
 * at `size` and with anything unprintable as '?'.
 */
static const char *shown_url(const struct pl__registry *r, const char *url, char *buf, size_t size)
{
	const char *p = same_origin(r, url) ? url + strlen(r->base) : url;
	size_t n = strcspn(p, "?");
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f ? '?' : p[i];
	buf[n] = '\0';
	return buf;
}

static int status_error(struct pl__regconn *c, const struct req *q, const struct io *io,
			struct pl_error **err)
{
	cleanup_free char *says = registry_says(&io->resp);
	char u[256];
	return pl__error_set(err, io->status == 404 ? PL_EINVAL : PL_ESYS, 0,
			     "registry '%s': %s %s: answered %ld%s%s%s", c->r->host, q->method,
			     shown_url(c->r, q->url, u, sizeof(u)), io->status, says ? " (" : "",
			     says ? says : "", says ? ")" : "");
}

static int authenticate(struct pl__regconn *c, const struct req *q, struct pl_error **err);

/* The files credentials were looked for in, for messages. */
static char *files_list(const struct pl__registry *r)
{
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, 0, NULL) < 0)
		return NULL;
	for (size_t i = 0; r->o->auth_files && r->o->auth_files[i]; i++)
		if (pl_buf_addf(&b, NULL, "%s'%s'", i ? ", " : "", r->o->auth_files[i]) < 0)
			return NULL;
	return pl_buf_detach(&b, NULL);
}

static int no_credentials(const struct pl__registry *r, struct pl_error **err)
{
	cleanup_free char *files = files_list(r);
	return pl__error_set(err, PL_EPOLICY, 0,
			     "registry '%s' wants credentials, and there are no credentials for "
			     "it%s%s%s%s%s",
			     r->host, files && *files ? " in " : "", files ? files : "",
			     r->helper_note ? " (" : "", r->helper_note ? r->helper_note : "",
			     r->helper_note ? ")" : "");
}

static int refused(const struct pl__registry *r, struct pl_error **err)
{
	if (!r->have_cred)
		return no_credentials(r, err);
	return pl__error_set(err, PL_EPOLICY, 0,
			     "registry '%s': authentication failed with the credentials from '%s'",
			     r->host, r->cred.source ? r->cred.source : "?");
}

/*
 * Do `q`: retried on broken connections and on the answers that ask for
 * it, authenticated when the registry asks.  @return 0 with the answer in
 * *io (status and body; the headers in c->hd), or a negative pl_code.
 */
static int request(struct pl__regconn *c, const struct req *q, struct io *io, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	bool authed = false;
	char u[256];
	for (unsigned attempt = 0;;) {
		CURLcode cc = CURLE_OK;
		int rc = io_start(io, c, q, err);
		if (rc == 0)
			rc = perform(c, q, io, NULL, &cc, err);
		if (rc < 0)
			return rc;
		if (io->body_bad)
			return pl__error_set(err, PL_EDIGEST, 0,
					     "the blob being sent does not match its digest");
		if (io->body_errno)
			return pl__error_set(err, PL_ESYS, io->body_errno, "cannot read the blob");
		if (io->out_errno)
			return pl__error_set(err, PL_ESYS, io->out_errno,
					     "cannot write a download");
		if (io->too_big)
			return pl__error_set(
			    err, PL_ELIMIT, 0,
			    "registry '%s': the answer to %s %s exceeds the limit of "
			    "%zu bytes",
			    r->host, q->method, shown_url(r, q->url, u, sizeof(u)), q->max);
		if (io->over)
			return pl__error_set(
			    err, PL_EDIGEST, 0,
			    "the blob received has more than its %llu bytes, so it "
			    "does not match its digest",
			    (unsigned long long)q->out_size);
		if (cc != CURLE_OK) {
			if (transient(cc) && attempt < r->retries) {
				sleep_ms(backoff(attempt++, NULL));
				continue;
			}
			const char *why = c->errbuf[0] ? c->errbuf : pl__curl_easy_strerror(cc);
			if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
				return pl__error_set(
				    err, PL_ESYS, 0,
				    "registry '%s': cannot connect: %s (%u attempts)", r->host, why,
				    attempt + 1);
			if (cc == CURLE_PEER_FAILED_VERIFICATION ||
			    cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CONNECT_ERROR)
				return pl__error_set(
				    err, PL_ESYS, 0, "registry '%s': TLS: %s%s", r->host, why,
				    !r->plain && strstr(why, "wrong version number")
					? " (it seems to speak plain HTTP: name it insecure if "
					  "that is meant)"
					: "");
			return pl__error_set(err, PL_ESYS, 0, "registry '%s': %s %s: %s%s", r->host,
					     q->method, shown_url(r, q->url, u, sizeof(u)), why,
					     transient(cc) ? " (gave up after retrying)" : "");
		}
		long redirects = 0;
		pl__curl_getinfo_long(c->h, CURLINFO_REDIRECT_COUNT, &redirects);
		if (io->status == 401 && redirects == 0) {
			/* (a redirect target's 401 is an error like any other: the
			 * registry's credentials are for the registry alone) */
			if (authed)
				return refused(r, err);
			authed = true;
			if ((rc = authenticate(c, q, err)) < 0)
				return rc;
			continue;
		}
		if (retry_status(io->status) && attempt < r->retries) {
			sleep_ms(backoff(attempt++, c->hd.retry_after));
			continue;
		}
		return 0;
	}
}

/* ---- authentication ----------------------------------------------- */

/* Append `s` percent-encoded (RFC 3986 unreserved kept) to `b`. */
static int add_escaped(struct pl_buf *b, const char *s, struct pl_error **err)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || strchr("-._~", ch);
		char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
		int rc = keep ? pl_buf_add(b, s, 1, err) : pl_buf_add(b, e, 3, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int store_token(struct pl__registry *r, const char *scope, const char *value,
		       long long expires_in, struct pl_error **err)
{
	char *s = pl__strdup(scope, err), *v = pl__strdup(value, err);
	int rc = s && v ? 0 : PL_ENOMEM;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; rc == 0 && i < r->ntokens; i++)
		if (!strcmp(r->tokens[i].scope, scope)) {
			wipe_free(r->tokens[i].value);
			r->tokens[i].value = v;
			r->tokens[i].expires = time(NULL) + expires_in - 5;
			free(s);
			pthread_mutex_unlock(&r->mu);
			return 0;
		}
	if (rc == 0)
		rc = pl__grow(&r->tokens, &r->alloc, r->ntokens + 1, sizeof(*r->tokens), err);
	if (rc == 0)
		r->tokens[r->ntokens++] =
		    (struct token){ s, v, time(NULL) + (time_t)expires_in - 5 };
	pthread_mutex_unlock(&r->mu);
	if (rc < 0) {
		free(s);
		wipe_free(v);
	}
	return rc;
}

/* Get a bearer token for `scope` (space-separated scopes; NULL: the
 * challenge's) from the challenge's realm. */
static int bearer(struct pl__regconn *c, const struct pl__challenge *ch, const char *scope,
		  struct pl_error **err)
{
	struct pl__registry *r = c->r;
	if (!ch->realm)
		return pl__error_set(err, PL_EINVAL, 0,
				     "registry '%s' asks for a bearer token without a realm",
				     r->host);
	/* credentials go to the token service in the clear only where the
	 * user said plain HTTP was fine */
	if (strncmp(ch->realm, "https://", 8) && !(r->plain && !strncmp(ch->realm, "http://", 7)))
		return pl__error_set(err, PL_EPOLICY, 0,
				     "registry '%s': refusing the token service at a URL that "
				     "is not https",
				     r->host);
	cleanup_buf struct pl_buf url = { 0 };
	int rc = pl_buf_init(&url, 64 << 10, err);
	if (rc == 0)
		rc = pl_buf_adds(&url, ch->realm, err);
	char sep = strchr(ch->realm, '?') ? '&' : '?';
	if (rc == 0 && ch->service) {
		rc = pl_buf_addf(&url, err, "%cservice=", sep);
		sep = '&';
		if (rc == 0)
			rc = add_escaped(&url, ch->service, err);
	}
	const char *scopes = scope ? scope : ch->scope;
	for (const char *p = scopes; rc == 0 && p && *p;) {
		size_t n = strcspn(p, " ");
		cleanup_free char *one = pl__strndup(p, n, err);
		rc = one ? pl_buf_addf(&url, err, "%cscope=", sep) : PL_ENOMEM;
		sep = '&';
		if (rc == 0)
			rc = add_escaped(&url, one, err);
		p += n;
		p += strspn(p, " ");
	}
	if (rc < 0)
		return rc;

	if (r->have_cred && r->cred.identity_token)
		return pl__error_set(err, PL_EPOLICY, 0,
				     "registry '%s': '%s' holds an identity token for it, which "
				     "plinth cannot use yet; log in with a password",
				     r->host, r->cred.source);
	/* the token service is another origin: its credentials go by hand */
	char *authz = NULL;
	if (r->have_cred) {
		cleanup_free char *b64 = pl__basic_auth(&r->cred, err);
		if (!b64)
			return PL_ENOMEM;
		authz = pl__asprintf(err, "Authorization: Basic %s", b64);
		OPENSSL_cleanse(b64, strlen(b64));
		if (!authz)
			return PL_ENOMEM;
	}
	struct req tq = { .method = "GET", .url = url.buf, .max = PL__TOKEN_MAX, .out_fd = -1 };
	struct io io = { 0 };
	CURLcode cc = CURLE_OK;
	rc = io_start(&io, c, &tq, err);
	if (rc == 0)
		rc = perform(c, &tq, &io, authz ? authz : "", &cc, err);
	wipe_free(authz);
	if (rc == 0 && cc != CURLE_OK)
		rc = pl__error_set(err, PL_ESYS, 0, "registry '%s': token service: %s", r->host,
				   c->errbuf[0] ? c->errbuf : pl__curl_easy_strerror(cc));
	if (rc == 0 && (io.status == 401 || io.status == 403))
		rc = refused(r, err);
	if (rc == 0 && io.status != 200)
		rc = pl__error_set(err, PL_ESYS, 0, "registry '%s': token service answered %ld",
				   r->host, io.status);
	cleanup_json json_t *j = NULL;
	if (rc == 0)
		rc = pl__json_parse("token service answer", io.resp.buf, io.resp.len, &j, err);
	if (rc == 0) {
		const char *t = json_string_value(json_object_get(j, "token"));
		if (!t)
			t = json_string_value(json_object_get(j, "access_token"));
		json_t *e = json_object_get(j, "expires_in");
		long long exp = json_is_integer(e) ? json_integer_value(e) : 60;
		if (exp < 60)
			exp = 60;
		if (exp > 86400)
			exp = 86400;
		rc = !t || !*t
			 ? pl__error_set(err, PL_EINVAL, 0,
					 "registry '%s': the token service gave no token", r->host)
			 : store_token(r, scope ? scope : "", t, exp, err);
	}
	if (io.resp.buf)
		OPENSSL_cleanse(io.resp.buf, io.resp.len);
	io_release(&io);
	return rc;
}

static int authenticate(struct pl__regconn *c, const struct req *q, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	if (!c->hd.auth)
		return pl__error_set(
		    err, PL_EPOLICY, 0,
		    "registry '%s' answered 401 without saying how to authenticate", r->host);
	cleanup_challenge struct pl__challenge ch = { 0 };
	int rc = pl__challenge_parse(c->hd.auth, &ch, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "registry '%s'", r->host);
	if (!strcmp(ch.scheme, "basic")) {
		if (!r->have_cred)
			return no_credentials(r, err);
		if (r->cred.identity_token)
			return pl__error_set(err, PL_EPOLICY, 0,
					     "registry '%s' wants a password, and '%s' holds an "
					     "identity token for it",
					     r->host, r->cred.source);
		/* another thread may have learnt it first: a second 401 to this
		 * request is the refusal (see request()) */
		pthread_mutex_lock(&r->mu);
		r->basic = true;
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	return bearer(c, &ch, q->scope, err);
}

/* ---- the API ------------------------------------------------------ */

static char *scope_of(const struct pl__registry *r, const char *repo, const char *from)
{
	const char *act = r->push ? "pull,push" : "pull";
	return from ? pl__asprintf(NULL, "repository:%s:%s repository:%s:pull", repo, act, from)
		    : pl__asprintf(NULL, "repository:%s:%s", repo, act);
}

/* The URL of BASE/v2/REPO/KIND/REF and the scope a request there needs. */
static int endpoint(const struct pl__registry *r, const char *repo, const char *kind,
		    const char *ref, char **url, char **scope, struct pl_error **err)
{
	*url = pl__asprintf(err, "%s/v2/%s/%s/%s", r->base, repo, kind, ref);
	*scope = scope_of(r, repo, NULL);
	return *url && *scope ? 0 : pl__error_nomem(err);
}

/* `url` made absolute: a Location may be a path on the registry. */
static char *absolute(const struct pl__registry *r, const char *url, struct pl_error **err)
{
	if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))
		return pl__strdup(url, err);
	if (url[0] != '/') {
		cleanup_free char *shown = pl_printable(url, false);
		pl__error_set(err, PL_EINVAL, 0, "registry '%s': odd Location '%.100s'", r->host,
			      shown ? shown : "");
		return NULL;
	}
	return pl__asprintf(err, "%s%s", r->base, url);
}

int pl__reg_blob_exists(struct pl__regconn *c, const char *repo, const char *digest, uint64_t *size,
			struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_free char *url = NULL, *scope = NULL;
	if (endpoint(r, repo, "blobs", digest, &url, &scope, err) < 0)
		return PL_ENOMEM;
	struct req q = { .method = "HEAD", .url = url, .scope = scope, .out_fd = -1 };
	struct io io = { 0 };
	int rc = request(c, &q, &io, err);
	if (rc == 0 && io.status == 200 && size) {
		curl_off_t n = -1;
		pl__curl_getinfo_off(c->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &n);
		*size = n < 0 ? 0 : (uint64_t)n;
	}
	if (rc == 0)
		rc = io.status == 200 ? 0 : io.status == 404 ? 1 : status_error(c, &q, &io, err);
	io_release(&io);
	return rc;
}

/* POST to start an upload (mounting `digest` from `from` when given):
 * 1 when mounted, else 0 with the upload's URL in *loc. */
static int upload_start(struct pl__regconn *c, const char *repo, const char *digest,
			const char *from, char **loc, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_free char *url = from
				     ? pl__asprintf(err, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s",
						    r->base, repo, digest, from)
				     : pl__asprintf(err, "%s/v2/%s/blobs/uploads/", r->base, repo);
	cleanup_free char *scope = scope_of(r, repo, from);
	if (!url || !scope)
		return pl__error_nomem(err);
	struct req q = { .method = "POST", .url = url, .scope = scope, .out_fd = -1 };
	struct io io = { 0 };
	int rc = request(c, &q, &io, err);
	if (rc == 0 && from && io.status == 201)
		rc = 1;
	else if (rc == 0 && io.status == 202 && c->hd.location)
		rc = (*loc = absolute(r, c->hd.location, err)) ? 0 : PL_ENOMEM;
	else if (rc == 0)
		rc = status_error(c, &q, &io, err);
	io_release(&io);
	return rc;
}

/* `loc` with "digest=DIGEST" added to its query. */
static char *with_digest(const char *loc, const char *digest, struct pl_error **err)
{
	return pl__asprintf(err, "%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest);
}

/* The end (exclusive) of what an upload holds, from its Range "0-N". */
static bool range_end(const char *range, uint64_t *end)
{
	if (!range || strncmp(range, "0-", 2) || !range[2] ||
	    strspn(range + 2, "0123456789") != strlen(range + 2))
		return false;
	errno = 0;
	unsigned long long n = strtoull(range + 2, NULL, 10);
	if (errno || n >= UINT64_MAX)
		return false;
	*end = (uint64_t)n + 1;
	return true;
}

/* Check the whole of `fd` against `digest` (a chunked upload sends it in
 * several requests, so it is checked before the first). */
static int check_fd(int fd, uint64_t size, const uint8_t want[PL_SHA256_LEN], struct pl_error **err)
{
	cleanup_blob_reader struct pl__blob_reader *br = pl__blob_reader_new(fd, want, size, err);
	if (!br)
		return PL_ENOMEM;
	int rc = pl__blob_reader_finish(br);
	if (rc < 0)
		return pl__error_set(err, PL_ESYS, br->read_errno, "cannot read the blob");
	if (rc != PL__BLOB_OK)
		return pl__error_set(err, PL_EDIGEST, 0,
				     "the blob being sent does not match its digest");
	return 0;
}

/* What a PATCH or PUT answered when the registry no longer knows the
 * upload (a retried request whose first attempt had gone through moved
 * it on): the blob starts again in a new one. */
#define UPLOAD_LOST 2

static int take_location(struct pl__regconn *c, char **loc, struct pl_error **err)
{
	if (!c->hd.location)
		return 0;
	char *next = absolute(c->r, c->hd.location, err);
	if (!next)
		return PL_EINVAL;
	free(*loc);
	*loc = next;
	return 0;
}

/* Send `fd` in chunks to the upload at *loc, which follows the registry's
 * Locations.  Every answer must account for exactly what was sent: a
 * registry that stalls or goes back ends the upload. */
static int upload_chunks(struct pl__regconn *c, const char *repo, uint64_t size, int fd,
			 const uint8_t want[PL_SHA256_LEN], char **loc, uint64_t *sent,
			 struct pl_error **err)
{
	struct pl__registry *r = c->r;
	uint64_t chunk = r->o->chunk_size ? r->o->chunk_size : CHUNK_DEFAULT;
	int rc = check_fd(fd, size, want, err);
	cleanup_free char *scope = scope_of(r, repo, NULL);
	if (rc == 0 && !scope)
		rc = pl__error_nomem(err);
	unsigned asks = 0;
	for (uint64_t off = 0; rc == 0 && off < size;) {
		uint64_t n = size - off < chunk ? size - off : chunk, end = 0;
		char range[64];
		snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
			 (unsigned long long)(off + n - 1));
		struct req q = { .method = "PATCH",
				 .url = *loc,
				 .scope = scope,
				 .ctype = "application/octet-stream",
				 .range = range,
				 .has_body = true,
				 .fd = fd,
				 .off = off,
				 .len = n,
				 .out_fd = -1,
				 .blob = true };
		struct io io = { 0 };
		rc = request(c, &q, &io, err);
		if (rc == 0 && io.status == 202) {
			if (!range_end(c->hd.range, &end) || end != off + n)
				rc = pl__error_set(err, PL_EINVAL, 0,
						   "registry '%s': after bytes %s of a blob, its "
						   "upload does not hold them (Range '%.40s')",
						   r->host, range, c->hd.range ? c->hd.range : "");
			*sent += n;
		} else if (rc == 0 && io.status == 416 && asks++ < RANGE_ASKS) {
			/* an earlier attempt may have got further than it seemed: ask */
			struct req g = {
				.method = "GET", .url = *loc, .scope = scope, .out_fd = -1
			};
			io_release(&io);
			memset(&io, 0, sizeof(io));
			rc = request(c, &g, &io, err);
			if (rc == 0 && io.status != 204)
				rc = status_error(c, &g, &io, err);
			if (rc == 0 && (!range_end(c->hd.range, &end) || end < off || end > size))
				rc =
				    pl__error_set(err, PL_EINVAL, 0,
						  "registry '%s': an upload's Range '%.40s' is not "
						  "what was sent",
						  r->host, c->hd.range ? c->hd.range : "");
		} else if (rc == 0 && (io.status == 404 || io.status == 400)) {
			rc = UPLOAD_LOST;
		} else if (rc == 0) {
			rc = status_error(c, &q, &io, err);
		}
		if (rc == 0)
			rc = take_location(c, loc, err);
		off = end;
		io_release(&io);
	}
	return rc;
}

/* One upload session for the blob: 0, 1 when mounted, UPLOAD_LOST, or a
 * negative pl_code. */
static int upload_once(struct pl__regconn *c, const char *repo, const char *digest,
		       const uint8_t want[PL_SHA256_LEN], uint64_t size, int fd, const char *from,
		       uint64_t *sent, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_free char *loc = NULL;
	int rc = upload_start(c, repo, digest, from, &loc, err);
	if (rc != 0)
		return rc;
	uint64_t chunk = r->o->chunk_size ? r->o->chunk_size : CHUNK_DEFAULT;
	cleanup_free char *scope = scope_of(r, repo, NULL);
	if (!scope)
		return pl__error_nomem(err);
	struct req q = { .method = "PUT",
			 .scope = scope,
			 .ctype = "application/octet-stream",
			 .has_body = true,
			 .fd = fd,
			 .out_fd = -1,
			 .blob = true };
	if (size > chunk) {
		if ((rc = upload_chunks(c, repo, size, fd, want, &loc, sent, err)) != 0)
			return rc;
		q.len = 0; /* the chunks are in: PUT closes the upload */
	} else {
		q.len = size;
		q.want = want;
	}
	cleanup_free char *url = with_digest(loc, digest, err);
	if (!url)
		return PL_ENOMEM;
	q.url = url;
	struct io io = { 0 };
	rc = request(c, &q, &io, err);
	if (rc == 0 && io.status == 201) {
		*sent += q.len;
	} else if (rc == 0 && (io.status == 404 || io.status == 400)) {
		/* a retried PUT whose first attempt went through, or a lost upload */
		int had = pl__reg_blob_exists(c, repo, digest, NULL, err);
		rc = had < 0 ? had : had == 0 ? 0 : UPLOAD_LOST;
		*sent += rc == 0 ? q.len : 0;
	} else if (rc == 0) {
		rc = status_error(c, &q, &io, err);
	}
	io_release(&io);
	return rc;
}

int pl__reg_blob_put(struct pl__regconn *c, const char *repo, const char *digest, uint64_t size,
		     int fd, const char *from, uint64_t *sent, struct pl_error **err)
{
	uint8_t want[PL_SHA256_LEN], none[PL_SHA256_LEN];
	if (!pl__digest_parse(digest, want))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is not a sha256 digest", digest);
	/* an empty body has no last bytes to hold back: check it first */
	pl__sha256("", 0, none);
	if (size == 0 && memcmp(want, none, PL_SHA256_LEN))
		return pl__error_set(err, PL_EDIGEST, 0,
				     "the blob being sent does not match its digest");
	*sent = 0;
	for (unsigned tries = 1;; tries++) {
		/* mounting is asked once: an upload it gave that was lost is not */
		int rc = upload_once(c, repo, digest, want, size, fd, tries == 1 ? from : NULL,
				     sent, err);
		if (rc != UPLOAD_LOST)
			return rc;
		if (tries == UPLOAD_TRIES)
			return pl__error_set(err, PL_ESYS, 0,
					     "registry '%s' lost the upload %u times", c->r->host,
					     UPLOAD_TRIES);
	}
}

int pl__reg_blob_get(struct pl__regconn *c, const char *repo, const char *digest, uint64_t size,
		     int fd, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	uint8_t want[PL_SHA256_LEN];
	if (!pl__digest_parse(digest, want))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is not a sha256 digest", digest);
	cleanup_free char *url = NULL, *scope = NULL;
	if (endpoint(r, repo, "blobs", digest, &url, &scope, err) < 0)
		return PL_ENOMEM;
	struct req q = { .method = "GET",
			 .url = url,
			 .scope = scope,
			 .out_fd = fd,
			 .out_size = size,
			 .out_want = want,
			 .follow = true,
			 .blob = true };
	struct io io = { 0 };
	int rc = request(c, &q, &io, err);
	if (rc == 0 && io.status != 200)
		rc = status_error(c, &q, &io, err);
	if (rc == 0) {
		uint8_t got[PL_SHA256_LEN];
		pl__sha256_final(io.osha, got);
		if (io.got != size)
			rc = pl__error_set(
			    err, PL_EDIGEST, 0,
			    "'%s/%s' sent %llu bytes where its descriptor says %llu, "
			    "so it does not match its digest",
			    r->host, repo, (unsigned long long)io.got, (unsigned long long)size);
		else if (memcmp(got, want, PL_SHA256_LEN))
			rc = pl__error_set(err, PL_EDIGEST, 0,
					   "'%s/%s' sent content that does not match its digest",
					   r->host, repo);
	}
	io_release(&io);
	return rc;
}

int pl__reg_manifest_get(struct pl__regconn *c, const char *repo, const char *ref,
			 const char *accept, char **body, size_t *len, char **media_type,
			 uint8_t digest[PL_SHA256_LEN], struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_free char *url = NULL, *scope = NULL;
	if (endpoint(r, repo, "manifests", ref, &url, &scope, err) < 0)
		return PL_ENOMEM;
	struct req q = { .method = "GET",
			 .url = url,
			 .scope = scope,
			 .accept = accept,
			 .max = PL__MANIFEST_MAX,
			 .out_fd = -1 };
	struct io io = { 0 };
	int rc = request(c, &q, &io, err);
	if (rc == 0 && io.status == 404) {
		io_release(&io);
		return 1;
	}
	if (rc == 0 && io.status != 200)
		rc = status_error(c, &q, &io, err);
	uint8_t claimed[PL_SHA256_LEN];
	bool by_digest = pl__digest_parse(ref, claimed);
	if (rc == 0) {
		pl__sha256(io.resp.buf, io.resp.len, digest);
		if (!by_digest && c->hd.digest && !pl__digest_parse(c->hd.digest, claimed))
			rc = pl__error_set(err, PL_EINVAL, 0,
					   "registry '%s': manifest '%s' of '%s': odd "
					   "Docker-Content-Digest",
					   r->host, ref, repo);
		else if ((by_digest || c->hd.digest) && memcmp(claimed, digest, PL_SHA256_LEN))
			rc = pl__error_set(err, PL_EDIGEST, 0,
					   "manifest '%s' of '%s/%s' does not match its digest",
					   ref, r->host, repo);
	}
	if (rc == 0) {
		const char *ct = c->hd.ctype ? c->hd.ctype : "";
		*media_type = pl__strndup(ct, strcspn(ct, "; "), err);
		if (!*media_type)
			rc = PL_ENOMEM;
	}
	if (rc == 0)
		*body = pl_buf_detach(&io.resp, len);
	io_release(&io);
	return rc;
}

int pl__reg_manifest_put(struct pl__regconn *c, const char *repo, const char *ref,
			 const char *media_type, const char *body, size_t len, bool *subject,
			 struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_free char *url = NULL, *scope = NULL;
	if (endpoint(r, repo, "manifests", ref, &url, &scope, err) < 0)
		return PL_ENOMEM;
	struct req q = { .method = "PUT",
			 .url = url,
			 .scope = scope,
			 .ctype = media_type,
			 .has_body = true,
			 .mem = body,
			 .len = len,
			 .out_fd = -1 };
	struct io io = { 0 };
	int rc = request(c, &q, &io, err);
	if (rc == 0 && io.status != 201 && io.status != 200)
		rc = status_error(c, &q, &io, err);
	uint8_t mine[PL_SHA256_LEN], theirs[PL_SHA256_LEN];
	if (rc == 0 && c->hd.digest) {
		pl__sha256(body, len, mine);
		if (!pl__digest_parse(c->hd.digest, theirs) || memcmp(mine, theirs, PL_SHA256_LEN))
			rc = pl__error_set(err, PL_EDIGEST, 0,
					   "registry '%s' stored manifest '%s' of '%s' under "
					   "another digest",
					   r->host, ref, repo);
	}
	if (rc == 0 && subject)
		*subject = c->hd.subject != NULL;
	io_release(&io);
	return rc;
}

int pl__reg_referrers(struct pl__regconn *c, const char *repo, const char *digest, json_t **out,
		      struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_free char *url = NULL, *scope = NULL;
	if (endpoint(r, repo, "referrers", digest, &url, &scope, err) < 0)
		return PL_ENOMEM;
	struct req q = { .method = "GET",
			 .url = url,
			 .scope = scope,
			 .accept = PL__MT_INDEX,
			 .max = PL_INDEX_MAX,
			 .out_fd = -1 };
	struct io io = { 0 };
	int rc = request(c, &q, &io, err);
	/* no referrers API: 404 or 405, or a 200 that is not an index */
	if (rc == 0 && (io.status == 404 || io.status == 405 ||
			(io.status == 200 && (!c->hd.ctype || strncmp(c->hd.ctype, PL__MT_INDEX,
								      strlen(PL__MT_INDEX)))))) {
		io_release(&io);
		return 1;
	}
	if (rc == 0 && io.status != 200)
		rc = status_error(c, &q, &io, err);
	if (rc == 0)
		rc = pl__json_parse("referrers", io.resp.buf, io.resp.len, out, err);
	io_release(&io);
	return rc;
}

/* The next page a Link header (`<URL>; rel="next"`) names, in *url (NULL
 * when none); a page elsewhere than on the registry is refused. */
static int next_page(const struct pl__registry *r, const char *link, char **url,
		     struct pl_error **err)
{
	*url = NULL;
	const char *lt = link ? strchr(link, '<') : NULL;
	const char *gt = lt ? strchr(lt, '>') : NULL;
	if (!gt || !strstr(gt, "rel=\"next\""))
		return 0;
	cleanup_free char *u = pl__strndup(lt + 1, (size_t)(gt - lt - 1), err);
	if (!u || !(*url = absolute(r, u, err)))
		return u ? PL_EINVAL : PL_ENOMEM;
	if (!same_origin(r, *url)) {
		free(*url);
		*url = NULL;
		return pl__error_set(err, PL_EPOLICY, 0,
				     "registry '%s' sends the next page of tags elsewhere",
				     r->host);
	}
	return 0;
}

int pl__reg_tags(struct pl__regconn *c, const char *repo, json_t **out, struct pl_error **err)
{
	struct pl__registry *r = c->r;
	cleanup_json json_t *all = json_array();
	cleanup_free char *url = pl__asprintf(err, "%s/v2/%s/tags/list", r->base, repo);
	cleanup_free char *scope = scope_of(r, repo, NULL);
	if (!all || !url || !scope)
		return pl__error_nomem(err);
	for (unsigned page = 0; url; page++) {
		if (page == 10000)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "registry '%s': more than 10000 pages of tags",
					     r->host);
		struct req q = { .method = "GET",
				 .url = url,
				 .scope = scope,
				 .max = PL__TAGS_MAX,
				 .out_fd = -1 };
		struct io io = { 0 };
		int rc = request(c, &q, &io, err);
		if (rc == 0 && io.status != 200)
			rc = status_error(c, &q, &io, err);
		cleanup_json json_t *j = NULL;
		if (rc == 0)
			rc = pl__json_parse("tag list", io.resp.buf, io.resp.len, &j, err);
		io_release(&io);
		if (rc < 0)
			return rc;
		json_t *tags = json_object_get(j, "tags"), *t;
		size_t i;
		if (!json_is_array(tags) && !json_is_null(tags))
			return pl__error_set(err, PL_EINVAL, 0,
					     "registry '%s': tags of '%s': not a tag list", r->host,
					     repo);
		json_array_foreach (tags, i, t)
			if (!json_is_string(t) || json_array_append(all, t) < 0)
				return pl__error_set(err, PL_EINVAL, 0,
						     "registry '%s': tags of '%s': not a tag list",
						     r->host, repo);
		if (json_array_size(all) > PL__TAGS_TOTAL)
			return pl__error_set(err, PL_ELIMIT, 0,
					     "registry '%s': '%s' has more than %d tags", r->host,
					     repo, PL__TAGS_TOTAL);
		free(url);
		if ((rc = next_page(r, c->hd.link, &url, err)) < 0)
			return rc;
	}
	*out = steal_pointer(&all);
	return 0;
}
