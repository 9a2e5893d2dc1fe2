/* layercache.c - derived layers kept for reuse (see layercache.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plinth/plinth.h"
#include "json.h"
#include "layercache.h"
#include "recipe-impl.h"

#define KEY_FORMAT "plinth layer cache 1"
#define ENTRY_VER  1
#define READ_CHUNK ((size_t)1 << 18)
#define DEPTH_MAX  256
#define NAMES_MAX  ((size_t)1 << 20) /* names in one directory */

/* ---- the key --------------------------------------------------------- */

static void put_str(struct pl_sha256 *s, const char *v)
{
	pl__sha256_update(s, v, strlen(v) + 1);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct walk {
	struct pl_sha256 *s;
	char *buf; /* READ_CHUNK bytes */
	struct pl_error **err;
};

static int hash_at(struct walk *w, int dirfd, const char *name, const char *host, unsigned depth);

static int hash_content(struct walk *w, int fd, const char *host)
{
	cleanup_sha256 struct pl_sha256 *c = pl__sha256_new(w->err);
	if (!c)
		return PL_ENOMEM;
	for (;;) {
		ssize_t n = read(fd, w->buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pl__error_set(w->err, PL_EINVAL, errno, "cannot read '%s'", host);
		if (n == 0)
			break;
		pl__sha256_update(c, w->buf, (size_t)n);
	}
	uint8_t d[PL_SHA256_LEN];
	pl__sha256_final(c, d);
	pl__sha256_update(w->s, d, sizeof(d));
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The names in the open directory `fd`, sorted. */
static int read_names(struct walk *w, int fd, const char *host, char ***out, size_t *nout)
{
	int dup_fd = dup(fd);
	DIR *dir = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!dir) {
		if (dup_fd >= 0)
			close(dup_fd);
		return pl__error_set(w->err, PL_EINVAL, errno, "cannot read directory '%s'", host);
	}
	char **v = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == NAMES_MAX) {
			rc = pl__error_set(w->err, PL_EINVAL, 0, "'%s' holds too many names", host);
		} else if (n == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			char **nv = realloc(v, alloc * sizeof(*v));
			if (nv)
				v = nv;
			else
				rc = pl__error_nomem(w->err);
		}
		if (rc == 0 && !(v[n++] = pl__strdup(de->d_name, w->err)))
			rc = PL_ENOMEM;
	}
	if (rc == 0 && errno)
		rc = pl__error_set(w->err, PL_EINVAL, errno, "cannot read directory '%s'", host);
	closedir(dir);
	if (rc < 0) {
		free_names(v, n);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_name);
	*out = v;
	*nout = n;
	return 0;
}

static int hash_dir(struct walk *w, int fd, const char *host, unsigned depth)
{
	char **names = NULL;
	size_t n = 0;
	int rc = read_names(w, fd, host, &names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cleanup_free char *child = pl__asprintf(w->err, "%s/%s", host, names[i]);
		put_str(w->s, names[i]);
		rc = child ? hash_at(w, fd, names[i], child, depth + 1) : PL_ENOMEM;
	}
	free_names(names, n);
	pl__sha256_update(w->s, "", 1); /* the end of the directory */
	return rc;
}

/* Hash what dirfd/name is: its kind and mode, and a file's content, a
 * directory's names and what they are, or a link's target. */
static int hash_at(struct walk *w, int dirfd, const char *name, const char *host, unsigned depth)
{
	if (depth > DEPTH_MAX)
		return pl__error_set(w->err, PL_EINVAL, 0, "'%s' is nested too deep", host);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pl__error_set(w->err, PL_EINVAL, errno, "cannot stat '%s'", host);
	pl__sha256_u64(w->s, (uint64_t)st.st_mode);
	if (S_ISLNK(st.st_mode)) {
		char target[PL_PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return pl__error_set(w->err, PL_EINVAL, errno, "cannot read '%s'", host);
		target[n] = '\0';
		put_str(w->s, target);
		return 0;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	cleanup_close int fd =
	    openat(dirfd, name,
		   O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	struct stat now;
	if (fd < 0 || fstat(fd, &now) < 0)
		return pl__error_set(w->err, PL_EINVAL, errno, "cannot open '%s'", host);
	if (now.st_dev != st.st_dev || now.st_ino != st.st_ino)
		return pl__error_set(w->err, PL_EINVAL, 0, "'%s' changed while it was read", host);
	return S_ISDIR(st.st_mode) ? hash_dir(w, fd, host, depth) : hash_content(w, fd, host);
}

/*
 * The digest of the running program, once: a layer made by one build of
 * plinth is not taken for another's, even under the same version number.
 * When it cannot be read, a digest no other process has (nothing is
 * reused).
 */
const uint8_t *pl__self_digest(void)
{
	static uint8_t d[PL_SHA256_LEN];
	static bool done;
	if (done)
		return d;
	cleanup_free char *exe = NULL;
	size_t len = 0;
	struct pl_error *e = NULL;
	if (pl__read_file("/proc/self/exe", (size_t)1 << 30, &exe, &len, &e) == 0) {
		pl__sha256(exe, len, d);
	} else {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		char noise[64];
		int n = snprintf(noise, sizeof(noise), "%ld %ld %ld", (long)getpid(),
				 (long)t.tv_sec, t.tv_nsec);
		pl__sha256(noise, (size_t)n, d);
	}
	pl_error_free(e);
	done = true;
	return d;
}

void pl__layer_cache_prime(void)
{
	pl__self_digest();
}

int pl__sources_digest(const struct pl_recipe *r, uint8_t out[PL_SHA256_LEN], struct pl_error **err)
{
	cleanup_sha256 struct pl_sha256 *s = pl__sha256_new(err);
	cleanup_free char *buf = malloc(READ_CHUNK);
	if (!s || !buf)
		return pl__error_nomem(err);
	struct walk w = { s, buf, err };
	cleanup_free char *root = r->nfiles ? realpath(r->dir, NULL) : NULL;
	if (r->nfiles && !root)
		return pl__error_set(err, PL_EINVAL, errno, "cannot resolve '%s'", r->dir);
	for (size_t i = 0; i < r->nfiles; i++) {
		const char *src = r->files[i].source;
		cleanup_free char *joined = pl__asprintf(err, "%s/%s", r->dir, src);
		if (!joined)
			return PL_ENOMEM;
		/* a build resolves the source as this does, and copies what it
		 * resolves to */
		cleanup_free char *real = src[0] == '/' ? NULL : realpath(joined, NULL);
		if (!real)
			return pl__error_set(err, PL_EINVAL, errno, "cannot resolve source '%s'",
					     src);
		/* what a build refuses to copy has no digest */
		if (!pl__path_inside(root, real))
			return pl__error_set(err, PL_EINVAL, 0, "source '%s' is outside '%s'", src,
					     root);
		/* the name as written (the recipe's digest has it too), not where
		 * the recipe sits: a moved checkout keeps its layers */
		put_str(s, src);
		int rc = hash_at(&w, AT_FDCWD, real, real, 0);
		if (rc < 0)
			return rc;
	}
	pl__sha256_final(s, out);
	return 0;
}

int pl__layer_key(const struct pl_recipe *r, const char *version, const struct pl__lock *lock,
		  uint64_t clock, int compression, uint8_t key[PL_SHA256_LEN],
		  uint8_t sources[PL_SHA256_LEN], struct pl_error **err)
{
	uint8_t lockd[PL_SHA256_LEN];
	int rc = pl__lock_digest(lock, lockd, err);
	if (rc < 0 || (rc = pl__sources_digest(r, sources, err)) < 0)
		return rc;
	cleanup_sha256 struct pl_sha256 *s = pl__sha256_new(err);
	if (!s)
		return PL_ENOMEM;
	put_str(s, KEY_FORMAT);
	put_str(s, PLINTH_VERSION);
	pl__sha256_update(s, pl__self_digest(), PL_SHA256_LEN);
	/* a build from a lock file checks the lock against the base, one
	 * that resolved its packages afresh does not */
	pl__sha256_u64(s, lock->path != NULL);
	pl__sha256_update(s, r->digest, PL_SHA256_LEN);
	put_str(s, version ? version : r->version);
	pl__sha256_update(s, lockd, PL_SHA256_LEN);
	pl__sha256_u64(s, clock);
	pl__sha256_u64(s, (uint64_t)compression);
	pl__sha256_update(s, sources, PL_SHA256_LEN);
	pl__sha256_final(s, key);
	return 0;
}

/* ---- entries --------------------------------------------------------- */

static char *entry_name(const uint8_t key[PL_SHA256_LEN], struct pl_error **err)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(key, PL_SHA256_LEN, hex);
	return pl__asprintf(err, "%s.json", hex);
}

static bool get_size(const json_t *o, const char *k, uint64_t *out)
{
	const json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool get_digest(const json_t *o, const char *k, uint8_t out[PL_SHA256_LEN])
{
	return pl__digest_parse(json_string_value(json_object_get(o, k)), out);
}

int pl__layer_cache_get(const char *dir, const uint8_t key[PL_SHA256_LEN],
			const struct pl__baseimg *base, struct pl__cached_layer *out, char **layout,
			struct pl_error **err)
{
	cleanup_free char *name = entry_name(key, err);
	if (!name)
		return PL_ENOMEM;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	cleanup_free char *text = NULL;
	size_t len = 0;
	struct pl_error *e = NULL;
	if (pl__read_fileat(dfd, name, PL__LAYER_CACHE_ENTRY_MAX, &text, &len, &e) < 0) {
		pl_error_free(e);
		return 0;
	}
	return pl__layer_cache_entry(text, len, base, out, layout, err);
}

int pl__layer_cache_entry(const char *text, size_t len, const struct pl__baseimg *base,
			  struct pl__cached_layer *out, char **layout, struct pl_error **err)
{
	struct pl_error *e = NULL;
	cleanup_json json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *l = json_object_get(j, "layer"), *b = json_object_get(j, "base");
	const char *where = json_string_value(json_object_get(j, "layout"));
	uint64_t entries, packages, version;
	struct pl__cached_layer c = { 0 };
	json_t *pinned = json_object_get(j, "pinned");
	size_t pi;
	json_t *pv;
	json_array_foreach (pinned, pi, pv)
		if (!json_is_string(pv))
			return 0;
	if (pinned && !json_is_array(pinned))
		return 0;
	if (!get_size(j, "version", &version) || version != ENTRY_VER || !where ||
	    where[0] != '/' || !get_digest(l, "digest", c.layer.digest) ||
	    !get_digest(l, "diff_id", c.layer.diff_id) || !get_size(l, "size", &c.layer.size) ||
	    !get_size(l, "tar_size", &c.layer.tar_size) || !get_size(j, "entries", &entries) ||
	    !get_size(j, "packages", &packages))
		return 0;
	/* made on scratch, it is for scratch; made on a base, for a base that
	 * answers its questions the same */
	if (!base != json_is_null(b))
		return 0;
	if (base) {
		uint8_t want[PL_SHA256_LEN], got[PL_SHA256_LEN];
		if (!get_digest(b, "answers", want) ||
		    pl__baseimg_answers(base, json_object_get(b, "questions"), got, &e) < 0) {
			pl_error_free(e);
			return 0;
		}
		if (memcmp(want, got, PL_SHA256_LEN))
			return 0;
	}
	if (!(*layout = pl__strdup(where, err)))
		return PL_ENOMEM;
	c.entries = (size_t)entries;
	c.packages = (size_t)packages;
	c.pinned = json_incref(pinned);
	*out = c;
	return 1;
}

int pl__layer_cache_put(const char *dir, const uint8_t key[PL_SHA256_LEN],
			const struct pl__baseimg *base, const json_t *questions,
			const struct pl__cached_layer *l, const char *layout, struct pl_error **err)
{
	char digest[PL_DIGEST_STR_LEN + 1], diff_id[PL_DIGEST_STR_LEN + 1];
	char answers[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(l->layer.digest, digest);
	pl__digest_str(l->layer.diff_id, diff_id);
	cleanup_free char *abs = realpath(layout, NULL);
	if (!abs)
		return pl__error_set(err, PL_ESYS, errno, "cannot resolve '%s'", layout);
	json_t *b = json_null();
	if (base) {
		uint8_t a[PL_SHA256_LEN];
		int rc = pl__baseimg_answers(base, questions, a, err);
		if (rc < 0)
			return rc;
		pl__digest_str(a, answers);
		b = json_pack("{s:O, s:s}", "questions", questions, "answers", answers);
	}
	cleanup_json json_t *j = json_pack(
	    "{s:i, s:s, s:{s:s, s:s, s:I, s:I}, s:I, s:I, s:o}", "version", ENTRY_VER, "layout",
	    abs, "layer", "digest", digest, "diff_id", diff_id, "size", (json_int_t)l->layer.size,
	    "tar_size", (json_int_t)l->layer.tar_size, "entries", (json_int_t)l->entries,
	    "packages", (json_int_t)l->packages, "base", b);
	if (j && l->pinned && json_object_set(j, "pinned", l->pinned) < 0)
		return pl__error_nomem(err);
	cleanup_free char *text = j ? pl__json_canonical(j) : NULL;
	cleanup_free char *name = entry_name(key, err);
	if (!text || !name)
		return pl__error_nomem(err);
	int rc = pl__mkdir_p(dir, 0755, err);
	if (rc < 0)
		return rc;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the layer cache '%s'", dir);
	/* an entry lost or emptied by a crash is a miss: not worth an fsync */
	return pl__write_file_replace(dfd, name, text, strlen(text), 0644, err);
}
