/* util.c - allocation, file and digest helpers used across the library. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"

void pl__freep(void *p)
{
	free(*(void **)p);
}

void pl__closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void pl__fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

char *pl__strdup(const char *s, struct pl_error **err)
{
	char *d = strdup(s);
	if (!d)
		pl__error_nomem(err);
	return d;
}

char *pl__strndup(const char *s, size_t n, struct pl_error **err)
{
	char *d = strndup(s, n);
	if (!d)
		pl__error_nomem(err);
	return d;
}

char *pl__asprintf(struct pl_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		pl__error_nomem(err);
		return NULL;
	}
	return s;
}

void *pl__calloc(size_t n, size_t size, struct pl_error **err)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		pl__error_nomem(err);
	return p;
}

int pl__grow(void *p, size_t *alloc, size_t need, size_t size, struct pl_error **err)
{
	void **pp = (void **)p;
	if (need <= *alloc)
		return 0;
	size_t a = *alloc ? *alloc : 8;
	while (a < need) {
		if (a > SIZE_MAX / 2 / size)
			return pl__error_nomem(err);
		a *= 2;
	}
	void *n = realloc(*pp, a * size);
	if (!n)
		return pl__error_nomem(err);
	*pp = n;
	*alloc = a;
	return 0;
}

int pl__read_fd(int fd, const char *name, size_t max, char **out, size_t *len,
		struct pl_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat '%s'", name);
	if (!S_ISREG(st.st_mode))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is not a regular file", name);
	if ((uint64_t)st.st_size > max)
		return pl__error_set(err, PL_ELIMIT, 0,
				     "'%s' is larger than the limit of %zu bytes", name, max);
	cleanup_buf struct pl_buf b = { 0 };
	if (pl_buf_init(&b, max, err) < 0)
		return PL_ENOMEM;
	for (;;) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot read '%s'", name);
		if (n == 0)
			break;
		int rc = pl_buf_add(&b, chunk, (size_t)n, err);
		if (rc < 0)
			return pl__error_wrap(err, rc, "'%s'", name);
	}
	*out = pl_buf_detach(&b, len);
	return 0;
}

int pl__read_fileat(int dirfd, const char *name, size_t max, char **out, size_t *len,
		    struct pl_error **err)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", name);
	return pl__read_fd(fd, name, max, out, len, err);
}

int pl__read_file(const char *path, size_t max, char **out, size_t *len, struct pl_error **err)
{
	return pl__read_fileat(AT_FDCWD, path, max, out, len, err);
}

int pl__write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_replace(int dirfd, const char *name, const void *p, size_t len, mode_t mode,
			 bool sync, struct pl_error **err)
{
	cleanup_free char *tmp = pl__asprintf(err, ".%s.tmp-%ld", name, (long)getpid());
	if (!tmp)
		return PL_ENOMEM;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	cleanup_close int fd = openat(dirfd, tmp, flags, mode);
	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, flags, mode); /* left by a process that died */
	if (fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create '%s'", tmp);
	if (fchmod(fd, mode) < 0 || pl__write_all(fd, p, len) < 0 || (sync && fsync(fd) < 0)) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return pl__error_set(err, PL_ESYS, e, "cannot write '%s'", name);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return pl__error_set(err, PL_ESYS, e, "cannot rename '%s' to '%s'", tmp, name);
	}
	return 0;
}

int pl__write_file_atomic(int dirfd, const char *name, const void *p, size_t len, mode_t mode,
			  struct pl_error **err)
{
	return write_replace(dirfd, name, p, len, mode, true, err);
}

int pl__write_file_replace(int dirfd, const char *name, const void *p, size_t len, mode_t mode,
			   struct pl_error **err)
{
	return write_replace(dirfd, name, p, len, mode, false, err);
}

DIR *pl__opendirat(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

int pl__remove_tree(int atfd, const char *name)
{
	DIR *d = pl__opendirat(atfd, name);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP)
			return unlinkat(atfd, name, 0);
		return -1;
	}
	int fd = dirfd(d);
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			if (pl__remove_tree(fd, de->d_name) < 0)
				rc = -1;
		} else if (unlinkat(fd, de->d_name, 0) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	if (unlinkat(atfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

struct pl_sha256 {
	EVP_MD_CTX *ctx;
};

struct pl_sha256 *pl__sha256_new(struct pl_error **err)
{
	struct pl_sha256 *s = calloc(1, sizeof(*s));
	if (!s) {
		pl__error_nomem(err);
		return NULL;
	}
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		pl__sha256_free(s);
		pl__error_set(err, PL_ENOMEM, 0, "cannot set up sha256");
		return NULL;
	}
	return s;
}

void pl__sha256_update(struct pl_sha256 *s, const void *p, size_t n)
{
	EVP_DigestUpdate(s->ctx, p, n);
}

void pl__sha256_final(struct pl_sha256 *s, uint8_t out[PL_SHA256_LEN])
{
	unsigned int n = PL_SHA256_LEN;
	EVP_DigestFinal_ex(s->ctx, out, &n);
}

bool pl__path_inside(const char *root, const char *path)
{
	size_t n = strlen(root);
	if (!strcmp(root, "/"))
		return true;
	return !strncmp(root, path, n) && (path[n] == '/' || path[n] == '\0');
}

void pl__sha256_u64(struct pl_sha256 *s, uint64_t v)
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pl__sha256_update(s, le, sizeof(le));
}

void pl__sha256_free(struct pl_sha256 *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}

void pl__sha256_freep(struct pl_sha256 **s)
{
	pl__sha256_free(*s);
}

void pl__sha256(const void *p, size_t n, uint8_t out[PL_SHA256_LEN])
{
	unsigned int len = PL_SHA256_LEN;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void pl__hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void pl__digest_str(const uint8_t d[PL_SHA256_LEN], char *out)
{
	memcpy(out, "sha256:", 7);
	pl__hex(d, PL_SHA256_LEN, out + 7);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool pl__hex_sha256(const char *s, uint8_t out[PL_SHA256_LEN])
{
	for (size_t i = 0; i < PL_SHA256_LEN; i++) {
		int hi = hexval(s[2 * i]);
		int lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * PL_SHA256_LEN] == '\0';
}

size_t pl__edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return cap + 1;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best = row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}

bool pl__utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, n;
		uint32_t cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		static const uint32_t min[] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Reopen an O_PATH descriptor for reading, without another lookup by name
 * where /proc allows it; `dirfd`/`name` is the fallback. */
static int reopen(int pathfd, int dirfd, const char *name, int flags)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	int fd = open(proc, flags | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == EACCES))
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int pl__open_exact(const char *path, bool dir, uint64_t dev, uint64_t ino)
{
	if (path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	cleanup_close int at = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (const char *p = path; at >= 0;) {
		p += strspn(p, "/");
		size_t n = strcspn(p, "/");
		char name[NAME_MAX + 1];
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		bool last = p[strspn(p, "/")] == '\0';
		int fd = openat(at, n ? name : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			/* A component swapped for a symlink or a file. */
			if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
				errno = ESTALE;
			pl__closep(&fd);
			return -1;
		}
		if (!last) {
			if (!S_ISDIR(st.st_mode)) {
				close(fd);
				errno = ESTALE;
				return -1;
			}
			close(at);
			at = fd;
			continue;
		}
		cleanup_close int pathfd = fd;
		if ((dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) ||
		    (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
			errno = ESTALE;
			return -1;
		}
		int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | (dir ? O_DIRECTORY : 0);
		int rfd = reopen(pathfd, at, n ? name : ".", flags);
		if (rfd >= 0 && (fstat(rfd, &st) < 0 || (uint64_t)st.st_dev != dev ||
				 (uint64_t)st.st_ino != ino)) {
			close(rfd);
			errno = ESTALE;
			return -1;
		}
		return rfd;
	}
	return -1;
}

uint64_t pl__str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* mkdir -p: create `path` and whichever of its ancestors are missing. */
int pl__mkdir_p(const char *path, mode_t mode, struct pl_error **err)
{
	size_t n = strlen(path);
	if (n == 0)
		return pl__error_set(err, PL_EINVAL, 0, "a directory cannot be an empty path");
	if (n >= PATH_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "directory '%s' is too long a path", path);
	char p[PATH_MAX];
	memcpy(p, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i - 1] == '/')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			/* e.g. EACCES or EROFS for an ancestor that exists */
			int e = errno;
			struct stat st;
			if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
				return pl__error_set(err, PL_ESYS, e,
						     "cannot create directory '%s'", p);
		}
		p[i] = saved;
	}
	return 0;
}

/* The length of the valid UTF-8 sequence at p (n bytes there), 0 when
 * there is none. */
size_t pl__utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0], cp, min;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* `n` bytes of untrusted `p` for one line of the report: at most `width`
 * bytes of it, control characters and what is not UTF-8 written \xNN,
 * '#' written "\#" when `hash` (TAP reads a bare one as a directive). */
int pl__show(struct pl_buf *b, const char *p, size_t n, size_t width, bool hash,
	     struct pl_error **err)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t start = b->len;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n;) {
		if (b->len - start >= width)
			return pl_buf_adds(b, "...", err);
		size_t k = pl__utf8_seq(s + i, n - i);
		bool c1 = k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0;
		if (k == 0 || c1 || s[i] < 0x20 || s[i] == 0x7f) {
			for (size_t j = 0; rc == 0 && j < (k ? k : 1); j++)
				rc = pl_buf_addf(b, err, "\\x%02x", s[i + j]);
			i += k ? k : 1;
			continue;
		}
		if (hash && s[i] == '#')
			rc = pl_buf_add(b, "\\", 1, err);
		if (rc == 0)
			rc = pl_buf_add(b, s + i, k, err);
		i += k;
	}
	return rc;
}

char *pl_printable(const char *s, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	char *out = malloc(4 * n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = pl__utf8_seq(p + i, n - i);
		bool c1 = k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;
		bool keep = lines && (p[i] == '\n' || p[i] == '\t');
		if (!keep && (k == 0 || c1 || p[i] < 0x20 || p[i] == 0x7f)) {
			for (size_t j = 0; j < (k ? k : 1); j++)
				o += snprintf(o, 5, "\\x%02x", p[i + j]);
			i += k ? k : 1;
			continue;
		}
		memcpy(o, p + i, k);
		o += k;
		i += k;
	}
	*o = '\0';
	return out;
}
