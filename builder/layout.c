/* layout.c - transactional writes into an OCI image layout (see layout.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "layout.h"
#include "oci.h"

#define STAGE_PREFIX    ".plinth-"
#define LAYOUT_FILE_MAX 4096
#define REF_NAME        "org.opencontainers.image.ref.name"
#define SUBJECT         "dev.plinth.subject" /* an artifact's, in index.json */
#define STAGE_MARKER    "plinth-staging"
#define OCI_LAYOUT      "{\"imageLayoutVersion\":\"1.0.0\"}"

struct pl__layout {
	char *path;          /* DIR as given */
	int dirfd;           /* DIR, or -1 while it does not exist */
	int parentfd;        /* DIR's parent (-1 for "/") */
	char *parent;        /* DIR's parent, as a path */
	char *base;          /* DIR's last component */
	char *parent_prefix; /* ".BASE.plinth-": staging of a fresh DIR in parent */
	char *stage_name;    /* relative to stage_atfd */
	int stagefd;         /* locked for the transaction's life */
	int stage_atfd;      /* dirfd or parentfd: where the staging directory is */
	int blobsfd;         /* stage/blobs/sha256 (fresh) or stage (existing) */
	unsigned tmp_seq;
	bool committed;
	/* pl__layout_commit_if(): what the tag must still point at */
	bool expect;
	bool expect_absent;
	uint8_t expect_digest[PL_SHA256_LEN];
	json_t *referrers; /* artifacts about the committed image, untagged */
	json_t *tags;      /* [descriptor, tag] pairs tagged with it */
};

/* Whether `tag` in `idx` is what the transaction expects it to be. */
static bool as_expected(const struct pl__layout *l, const json_t *idx, const char *tag)
{
	if (!l->expect)
		return true;
	const char *now = json_string_value(json_object_get(pl__index_find(idx, tag), "digest"));
	uint8_t d[PL_SHA256_LEN];
	if (!now)
		return l->expect_absent;
	return !l->expect_absent && pl__digest_parse(now, d) &&
	       !memcmp(d, l->expect_digest, PL_SHA256_LEN);
}

int pl__index_check(const char *dir, const json_t *idx, struct pl_error **err)
{
	json_t *sv = json_object_get(idx, "schemaVersion");
	json_t *m = json_object_get(idx, "manifests");
	if (!json_is_object(idx) || !json_is_integer(sv) || json_integer_value(sv) != 2 ||
	    !json_is_array(m))
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s/index.json' is not an OCI image index (schemaVersion 2 "
				     "with a 'manifests' list)",
				     dir);
	size_t i;
	json_t *d;
	json_array_foreach (m, i, d)
		if (!json_is_object(d))
			return pl__error_set(err, PL_EINVAL, 0,
					     "'%s/index.json': manifests[%zu] is not an object",
					     dir, i);
	return 0;
}

json_t *pl__index_find(const json_t *idx, const char *tag)
{
	json_t *found = NULL, *d;
	size_t i;
	json_array_foreach (json_object_get(idx, "manifests"), i, d) {
		const char *name =
		    json_string_value(json_object_get(json_object_get(d, "annotations"), REF_NAME));
		if (name && !strcmp(name, tag))
			found = d;
	}
	return found;
}

static int json_fail(struct pl_error **err, const char *dir, const char *file,
		     const json_error_t *je)
{
	return pl__error_set(err, PL_EINVAL, 0, "'%s/%s': line %d, column %d: %s", dir, file,
			     je->line, je->column, je->text);
}

static json_t *new_index(void)
{
	return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
			 "application/vnd.oci.image.index.v1+json", "manifests");
}

/*
 * Parse DIR/index.json strictly into *out.  A missing index.json reads as
 * an index of no images: that is what a first commit that died between
 * writing oci-layout and index.json leaves.
 */
static int read_index(int dirfd, const char *dir, json_t **out, struct pl_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (faccessat(dirfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		*out = new_index();
		return *out ? 0 : pl__error_nomem(err);
	}
	int rc = pl__read_fileat(dirfd, "index.json", PL_INDEX_MAX, &data, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "layout '%s'", dir);
	json_error_t je;
	json_t *idx = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!idx)
		return json_fail(err, dir, "index.json", &je);
	if ((rc = pl__index_check(dir, idx, err)) < 0) {
		json_decref(idx);
		return rc;
	}
	*out = idx;
	return 0;
}

static int check_oci_layout(int dirfd, const char *dir, struct pl_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	int rc = pl__read_fileat(dirfd, "oci-layout", LAYOUT_FILE_MAX, &data, &len, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "layout '%s'", dir);
	json_error_t je;
	cleanup_json json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return json_fail(err, dir, "oci-layout", &je);
	const char *v = json_string_value(json_object_get(j, "imageLayoutVersion"));
	if (!v || strcmp(v, "1.0.0"))
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s/oci-layout' does not declare imageLayoutVersion 1.0.0",
				     dir);
	cleanup_json json_t *idx = NULL;
	return read_index(dirfd, dir, &idx, err);
}

static bool staging_name(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(name, prefix, n) && strlen(name) == n + 6;
}

/*
 * Whether dirfd/name is a plinth staging directory: its name has the
 * prefix and mkdtemp's six characters, and it holds the marker file that a
 * transaction writes once it holds the directory's lock.
 */
static bool is_staging(int dirfd, const char *name, const char *prefix, int *fd_out)
{
	if (!staging_name(name, prefix))
		return false;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (faccessat(fd, STAGE_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		close(fd);
		return false;
	}
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return true;
}

/* Remove staging directories of transactions that died (nobody holds their lock). */
static void remove_stale(int dirfd, const char *prefix)
{
	DIR *d = pl__opendirat(dirfd, ".");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		cleanup_close int fd = -1;
		if (is_staging(dirfd, de->d_name, prefix, &fd) && flock(fd, LOCK_EX | LOCK_NB) == 0)
			pl__remove_tree(dirfd, de->d_name);
	}
	closedir(d);
}

/* Whether DIR holds nothing but what may be staging directories (one just
 * made has no marker yet). */
static int is_empty(int dirfd, bool *empty)
{
	DIR *d = pl__opendirat(dirfd, ".");
	if (!d)
		return -1;
	struct dirent *de;
	*empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    !staging_name(de->d_name, STAGE_PREFIX))
			*empty = false;
	closedir(d);
	return 0;
}

/* mkdir -m 0755 whatever the umask; an existing directory is kept as it is.
 * *made says whether it was created. */
static int ensure_dir(int atfd, const char *name, bool *made, struct pl_error **err)
{
	*made = false;
	if (mkdirat(atfd, name, 0755) < 0) {
		if (errno == EEXIST)
			return 0;
		return pl__error_set(err, PL_ESYS, errno, "cannot create '%s'", name);
	}
	*made = true;
	if (fchmodat(atfd, name, 0755, 0) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot set the mode of '%s'", name);
	return 0;
}

static int make_stage(struct pl__layout *l, int atfd, const char *atpath, const char *prefix,
		      struct pl_error **err)
{
	cleanup_free char *tmpl = pl__asprintf(err, "%s/%sXXXXXX", atpath, prefix);
	if (!tmpl)
		return PL_ENOMEM;
	if (!mkdtemp(tmpl))
		return pl__error_set(err, PL_ESYS, errno,
				     "cannot create a staging directory next to '%s'", l->path);
	const char *name = strrchr(tmpl, '/') + 1;
	if (!(l->stage_name = pl__strdup(name, err)))
		return PL_ENOMEM;
	l->stage_atfd = atfd;
	l->stagefd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (l->stagefd < 0 || flock(l->stagefd, LOCK_EX) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot lock staging directory '%s'",
				     name);
	/* Only a locked directory is marked, so no one removes a live one. */
	int marker =
	    openat(l->stagefd, STAGE_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (marker < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot mark staging directory '%s'",
				     name);
	close(marker);
	/* A fresh layout is this directory renamed: give it a layout's mode,
	 * whatever the umask. */
	bool made;
	if (l->dirfd < 0) {
		if (fchmod(l->stagefd, 0755) < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot set the mode of '%s'",
					     name);
		if (ensure_dir(l->stagefd, "blobs", &made, err) < 0 ||
		    ensure_dir(l->stagefd, "blobs/sha256", &made, err) < 0)
			return PL_ESYS;
		l->blobsfd = openat(l->stagefd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		l->blobsfd = fcntl(l->stagefd, F_DUPFD_CLOEXEC, 0);
	}
	if (l->blobsfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the staging directory");
	return 0;
}

/* Check that l->dirfd is an OCI layout or holds nothing but staging. */
static int check_dir(struct pl__layout *l, struct pl_error **err)
{
	bool empty = false;
	if (faccessat(l->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return check_oci_layout(l->dirfd, l->path, err);
	if (errno != ENOENT)
		return pl__error_set(err, PL_ESYS, errno, "cannot read '%s/oci-layout'", l->path);
	if (is_empty(l->dirfd, &empty) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot read '%s'", l->path);
	if (!empty)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s' is not an OCI image layout (no oci-layout file) and not "
				     "empty",
				     l->path);
	return 0;
}

/* check_dir under a shared lock: a commit in progress (which holds the
 * lock exclusively) is seen finished, never half done. */
static int check_existing(struct pl__layout *l, struct pl_error **err)
{
	if (flock(l->dirfd, LOCK_SH) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot lock layout '%s'", l->path);
	int rc = check_dir(l, err);
	flock(l->dirfd, LOCK_UN);
	return rc;
}

/*
 * Open DIR's parent and remember DIR's last component; remove the staging
 * directories that dead builds of a fresh DIR left there.
 */
/* Open the layout's parent; when the layout is being created (`creating`),
 * remove what creations of it that died left there.  (Not on every open:
 * listing the parent each time would make N builds into N layouts of one
 * directory read N^2 names.) */
static int open_parent(struct pl__layout *l, bool creating, struct pl_error **err)
{
	cleanup_free char *copy = pl__strdup(l->path, err);
	if (!copy)
		return PL_ENOMEM;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *slash = strrchr(copy, '/');
	const char *parent = ".";
	const char *base = copy;
	if (slash) {
		*slash = '\0';
		parent = slash == copy ? "/" : copy;
		base = slash + 1;
	}
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		return pl__error_set(err, PL_EINVAL, 0, "cannot create a layout at '%s'", l->path);
	l->parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->parentfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create layout '%s': parent '%s'",
				     l->path, parent);
	if (!(l->base = pl__strdup(base, err)) ||
	    !(l->parent_prefix = pl__asprintf(err, ".%s" STAGE_PREFIX, base)) ||
	    !(l->parent = pl__strdup(parent, err)))
		return PL_ENOMEM;
	if (creating)
		remove_stale(l->parentfd, l->parent_prefix);
	return 0;
}

int pl__layout_open(const char *path, struct pl__layout **out, struct pl_error **err)
{
	struct pl__layout *l = pl__calloc(1, sizeof(*l), err);
	if (!l)
		return PL_ENOMEM;
	l->dirfd = l->parentfd = l->stagefd = l->blobsfd = -1;
	__attribute__((cleanup(pl__layout_freep))) struct pl__layout *guard = l;
	if (!(l->path = pl__strdup(path, err)))
		return PL_ENOMEM;
	int rc;
	l->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0) {
		if (errno != ENOENT)
			return pl__error_set(err, PL_ESYS, errno, "cannot open layout '%s'", path);
		rc = open_parent(l, true, err);
		if (rc == 0)
			rc = make_stage(l, l->parentfd, l->parent, l->parent_prefix, err);
	} else {
		rc = check_existing(l, err);
		if (rc == 0 && strcmp(path, "/"))
			rc = open_parent(l, false, err);
		if (rc == 0) {
			remove_stale(l->dirfd, STAGE_PREFIX);
			rc = make_stage(l, l->dirfd, path, STAGE_PREFIX, err);
		}
	}
	if (rc < 0)
		return rc;
	*out = steal_pointer(&guard);
	return 0;
}

void pl__layout_free(struct pl__layout *l)
{
	if (!l)
		return;
	if (l->stage_name && !l->committed)
		pl__remove_tree(l->stage_atfd, l->stage_name);
	json_decref(l->referrers);
	json_decref(l->tags);
	pl__closep(&l->blobsfd);
	pl__closep(&l->stagefd);
	pl__closep(&l->parentfd);
	pl__closep(&l->dirfd);
	free(l->path);
	free(l->base);
	free(l->parent);
	free(l->parent_prefix);
	free(l->stage_name);
	free(l);
}

void pl__layout_freep(struct pl__layout **l)
{
	pl__layout_free(*l);
}

static void tmp_name(char *buf, size_t n, unsigned seq)
{
	snprintf(buf, n, "tmp-%u", seq);
}

int pl__layout_blob_open(struct pl__layout *l, int *fd, unsigned *seq, struct pl_error **err)
{
	char name[32];
	*seq = ++l->tmp_seq;
	tmp_name(name, sizeof(name), *seq);
	*fd = openat(l->blobsfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (*fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot create a blob in '%s'", l->path);
	return 0;
}

int pl__layout_blob_close(struct pl__layout *l, int fd, unsigned seq,
			  const uint8_t digest[PL_SHA256_LEN], struct pl_error **err)
{
	char name[32], hex[2 * PL_SHA256_LEN + 1];
	tmp_name(name, sizeof(name), seq);
	pl__hex(digest, PL_SHA256_LEN, hex);
	int rc = fchmod(fd, 0644) < 0 ? -1 : fsync(fd);
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0)
		return pl__error_set(err, PL_ESYS, e, "cannot write blob %s", hex);
	if (renameat(l->blobsfd, name, l->blobsfd, hex) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stage blob %s", hex);
	return 0;
}

int pl__layout_blob_put(struct pl__layout *l, const void *p, size_t n,
			uint8_t digest[PL_SHA256_LEN], struct pl_error **err)
{
	int fd;
	unsigned seq;
	int rc = pl__layout_blob_open(l, &fd, &seq, err);
	if (rc < 0)
		return rc;
	if (pl__write_all(fd, p, n) < 0) {
		int e = errno;
		close(fd);
		return pl__error_set(err, PL_ESYS, e, "cannot write a blob in '%s'", l->path);
	}
	pl__sha256(p, n, digest);
	return pl__layout_blob_close(l, fd, seq, digest, err);
}

struct pl__blob_reader *pl__blob_reader_new(int fd, const uint8_t digest[PL_SHA256_LEN],
					    uint64_t size, struct pl_error **err)
{
	struct pl__blob_reader *r = pl__calloc(1, sizeof(*r), err);
	if (!r)
		return NULL;
	if (!(r->sha = pl__sha256_new(err))) {
		free(r);
		return NULL;
	}
	r->fd = fd;
	r->size = size;
	memcpy(r->want, digest, PL_SHA256_LEN);
	return r;
}

void pl__blob_reader_free(struct pl__blob_reader *r)
{
	if (!r)
		return;
	pl__sha256_free(r->sha);
	free(r);
}

void pl__blob_reader_freep(struct pl__blob_reader **r)
{
	pl__blob_reader_free(*r);
}

ssize_t pl__blob_reader_next(struct pl__blob_reader *r)
{
	if (r->over || r->read_errno)
		return -1;
	ssize_t n;
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->read_errno = errno;
		return -1;
	}
	if ((uint64_t)n > r->size - r->got) {
		r->over = true;
		return -1;
	}
	pl__sha256_update(r->sha, r->buf, (size_t)n);
	r->got += (uint64_t)n;
	return n;
}

int pl__blob_reader_finish(struct pl__blob_reader *r)
{
	while (pl__blob_reader_next(r) > 0)
		;
	if (r->read_errno)
		return -1;
	if (r->over || r->got != r->size)
		return PL__BLOB_SIZE;
	uint8_t got[PL_SHA256_LEN];
	pl__sha256_final(r->sha, got);
	return memcmp(got, r->want, PL_SHA256_LEN) ? PL__BLOB_DIGEST : PL__BLOB_OK;
}

/* Stream `in` to `out` (unless that is -1) through a blob reader; *bad
 * says it did not match `digest` and `size`. */
static int copy_checked(int in, int out, const uint8_t digest[PL_SHA256_LEN], uint64_t size,
			bool *bad, struct pl_error **err)
{
	cleanup_blob_reader struct pl__blob_reader *r = pl__blob_reader_new(in, digest, size, err);
	if (!r)
		return PL_ENOMEM;
	ssize_t n;
	while ((n = pl__blob_reader_next(r)) > 0)
		if (out >= 0 && pl__write_all(out, r->buf, (size_t)n) < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot write");
	int rc = pl__blob_reader_finish(r);
	if (rc < 0)
		return pl__error_set(err, PL_ESYS, r->read_errno, "cannot read");
	*bad = rc != PL__BLOB_OK;
	return 0;
}

int pl__layout_blob_copy(struct pl__layout *l, const char *src, const uint8_t digest[PL_SHA256_LEN],
			 uint64_t size, struct pl_error **err)
{
	char ds[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(digest, ds);
	const char *hex = ds + 7;
	/* Staged already, and checked then. */
	if (faccessat(l->blobsfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	cleanup_close int in = -1;
	int rc = pl__blob_open(src, digest, &in, err);
	if (rc < 0)
		return rc;
	struct stat st;
	if (fstat(in, &st) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot stat blob %s in '%s'", ds, src);
	if ((uint64_t)st.st_size != size)
		return pl__error_set(err, PL_EDIGEST, 0,
				     "blob %s in '%s' is %llu bytes, its descriptor says %llu", ds,
				     src, (unsigned long long)st.st_size, (unsigned long long)size);

	/* Link the very file opened (no second lookup by name), then check
	 * what was linked; where linking fails (another file system, a file
	 * of another user), copy. */
	char name[32], proc[64];
	unsigned seq = ++l->tmp_seq;
	tmp_name(name, sizeof(name), seq);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", in);
	bool linked = linkat(AT_FDCWD, proc, l->blobsfd, name, AT_SYMLINK_FOLLOW) == 0;
	cleanup_close int out = -1;
	if (!linked) {
		out = openat(l->blobsfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (out < 0)
			return pl__error_set(err, PL_ESYS, errno, "cannot create a blob in '%s'",
					     l->path);
	}
	bool bad = false;
	rc = copy_checked(in, out, digest, size, &bad, err);
	if (rc < 0 || bad) {
		unlinkat(l->blobsfd, name, 0);
		if (rc < 0)
			return pl__error_wrap(err, rc, "blob %s from '%s' into '%s'", ds, src,
					      l->path);
		return pl__error_set(err, PL_EDIGEST, 0,
				     "blob %s in '%s' does not match its digest", ds, src);
	}
	if (!linked)
		return pl__layout_blob_close(l, pl__steal_fd(&out), seq, digest, err);
	if (renameat(l->blobsfd, name, l->blobsfd, hex) < 0) {
		int e = errno;
		unlinkat(l->blobsfd, name, 0);
		return pl__error_set(err, PL_ESYS, e, "cannot stage blob %s", hex);
	}
	return 0;
}

static json_t *descriptor_json(const struct pl__descriptor *d, const char *tag)
{
	char digest[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(d->digest, digest);
	json_t *j = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", d->media_type, "digest",
			      digest, "size", (json_int_t)d->size, "annotations", REF_NAME, tag);
	if (j && d->architecture)
		json_object_set_new(
		    j, "platform",
		    json_pack("{s:s, s:s}", "architecture", d->architecture, "os", d->os));
	return j;
}

static int dump_json(const json_t *j, char **out, size_t *len, struct pl_error **err)
{
	*out = pl__json_canonical(j);
	if (!*out)
		return pl__error_nomem(err);
	*len = strlen(*out);
	return 0;
}

/* Point `tag` at `desc` in `idx`, dropping any earlier reference of that name. */
static int set_tag(json_t *idx, json_t *desc, const char *tag, struct pl_error **err)
{
	json_t *m = json_object_get(idx, "manifests");
	for (size_t i = json_array_size(m); i-- > 0;) {
		json_t *ann = json_object_get(json_array_get(m, i), "annotations");
		const char *name = json_string_value(json_object_get(ann, REF_NAME));
		if (name && !strcmp(name, tag))
			json_array_remove(m, i);
	}
	if (json_array_append(m, desc) < 0)
		return pl__error_nomem(err);
	return 0;
}

static int sync_fd(int fd, const char *what, struct pl_error **err)
{
	if (fsync(fd) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync '%s'", what);
	return 0;
}

/* What a commit into an existing directory changed, to undo it on failure. */
struct undo {
	char (*moved)[2 * PL_SHA256_LEN + 1];
	size_t nmoved, alloc;
	bool made_blobs, made_sha256, made_layout;
};

static void undo_commit(struct pl__layout *l, int blobs, struct undo *u)
{
	for (size_t i = 0; blobs >= 0 && i < u->nmoved; i++)
		unlinkat(blobs, u->moved[i], 0);
	if (u->made_layout)
		unlinkat(l->dirfd, "oci-layout", 0);
	if (u->made_sha256)
		unlinkat(l->dirfd, "blobs/sha256", AT_REMOVEDIR);
	if (u->made_blobs)
		unlinkat(l->dirfd, "blobs", AT_REMOVEDIR);
}

/* Move every staged blob from `from` into `to` (keeping blobs already there). */
static int move_blobs(struct pl__layout *l, int from, int to, struct undo *u, struct pl_error **err)
{
	DIR *d = pl__opendirat(from, ".");
	if (!d)
		return pl__error_set(err, PL_ESYS, errno, "cannot read the staging directory");
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		uint8_t dg[PL_SHA256_LEN];
		if (!pl__hex_sha256(de->d_name, dg))
			continue;
		if (faccessat(to, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (pl__grow(&u->moved, &u->alloc, u->nmoved + 1, sizeof(*u->moved), err) < 0) {
			rc = PL_ENOMEM;
		} else if (renameat(from, de->d_name, to, de->d_name) < 0) {
			rc = pl__error_set(err, PL_ESYS, errno, "cannot move blob '%s' into '%s'",
					   de->d_name, l->path);
		} else {
			memcpy(u->moved[u->nmoved++], de->d_name, sizeof(*u->moved));
		}
	}
	closedir(d);
	return rc;
}

/* Whether some tagged entry of `m` is the manifest `digest`. */
static bool tagged(const json_t *m, const char *digest)
{
	size_t i;
	const json_t *d;
	json_array_foreach (m, i, d) {
		const char *dd = json_string_value(json_object_get(d, "digest"));
		if (json_object_get(json_object_get(d, "annotations"), REF_NAME) && dd &&
		    !strcmp(dd, digest))
			return true;
	}
	return false;
}

/*
 * Add the transaction's artifacts (each once), then drop every artifact
 * whose subject no tagged entry names any more: a rebuilt image's old SBOM
 * goes with it.
 */
static int set_referrers(const struct pl__layout *l, json_t *idx, struct pl_error **err)
{
	json_t *m = json_object_get(idx, "manifests");
	size_t i;
	json_t *r;
	json_array_foreach (l->referrers, i, r) {
		bool have = false;
		size_t j;
		json_t *d;
		json_array_foreach (m, j, d)
			have |=
			    json_equal(json_object_get(d, "digest"), json_object_get(r, "digest"));
		if (!have && json_array_append(m, r) < 0)
			return pl__error_nomem(err);
	}
	for (i = json_array_size(m); i-- > 0;) {
		json_t *ann = json_object_get(json_array_get(m, i), "annotations");
		const char *subject = json_string_value(json_object_get(ann, SUBJECT));
		if (subject && !json_object_get(ann, REF_NAME) && !tagged(m, subject))
			json_array_remove(m, i);
	}
	return 0;
}

static int write_index(const struct pl__layout *l, int dirfd, json_t *idx, json_t *desc,
		       const char *tag, struct pl_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	size_t i;
	json_t *t;
	json_array_foreach (l->tags, i, t)
		if (set_tag(idx, json_array_get(t, 0), json_string_value(json_array_get(t, 1)),
			    err) < 0)
			return PL_ENOMEM;
	if (set_tag(idx, desc, tag, err) < 0 || set_referrers(l, idx, err) < 0 ||
	    dump_json(idx, &text, &len, err) < 0)
		return PL_ENOMEM;
	return pl__write_file_atomic(dirfd, "index.json", text, len, 0644, err);
}

/*
 * Under DIR's lock: move the blobs in and, for a directory that was empty,
 * write oci-layout; then replace index.json, the commit point.  A failure
 * before it undoes what was done, so DIR is left as it was; after it, only
 * durability can fail, and that is reported without undoing.
 */
static int commit_into(struct pl__layout *l, int from, json_t *desc, const char *tag,
		       struct pl_error **err)
{
	if (flock(l->dirfd, LOCK_EX) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot lock layout '%s'", l->path);
	/* A directory that was empty when the build began must still be. */
	bool fresh = faccessat(l->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0;
	int rc = fresh ? check_dir(l, err) : 0;
	if (rc < 0)
		return rc;
	cleanup_json json_t *idx = NULL;
	rc = fresh ? (idx = new_index()) ? 0 : pl__error_nomem(err)
		   : read_index(l->dirfd, l->path, &idx, err);
	if (rc < 0)
		return rc;
	if (!as_expected(l, idx, tag))
		return PL__LAYOUT_MOVED;

	struct undo u = { 0 };
	cleanup_close int blobs = -1;
	rc = ensure_dir(l->dirfd, "blobs", &u.made_blobs, err);
	if (rc == 0)
		rc = ensure_dir(l->dirfd, "blobs/sha256", &u.made_sha256, err);
	if (rc == 0 &&
	    (blobs = openat(l->dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = pl__error_set(err, PL_ESYS, errno, "cannot open '%s/blobs/sha256'", l->path);
	if (rc == 0)
		rc = move_blobs(l, from, blobs, &u, err);
	if (rc == 0)
		rc = sync_fd(blobs, "blobs/sha256", err);
	if (rc == 0 && u.made_sha256) {
		cleanup_close int b = openat(l->dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = b < 0 ? pl__error_set(err, PL_ESYS, errno, "cannot open '%s/blobs'", l->path)
			   : sync_fd(b, "blobs", err);
	}
	if (rc == 0 && fresh) {
		rc = pl__write_file_atomic(l->dirfd, "oci-layout", OCI_LAYOUT,
					   sizeof(OCI_LAYOUT) - 1, 0644, err);
		u.made_layout = rc == 0;
	}
	if (rc == 0)
		rc = write_index(l, l->dirfd, idx, desc, tag, err);
	if (rc < 0) {
		undo_commit(l, blobs, &u);
		free(u.moved);
		return rc;
	}
	free(u.moved);
	l->committed = true;
	pl__remove_tree(l->stage_atfd, l->stage_name);
	return sync_fd(l->dirfd, l->path, err);
}

/* The staging directory is a whole layout: rename it into place.  When
 * someone created DIR meanwhile, add to it instead. */
static int commit_fresh(struct pl__layout *l, json_t *desc, const char *tag, struct pl_error **err)
{
	cleanup_json json_t *idx = new_index();
	if (!idx)
		return pl__error_nomem(err);
	if (!as_expected(l, idx, tag))
		return PL__LAYOUT_MOVED;
	int rc = write_index(l, l->stagefd, idx, desc, tag, err);
	if (rc == 0)
		rc = pl__write_file_atomic(l->stagefd, "oci-layout", OCI_LAYOUT,
					   sizeof(OCI_LAYOUT) - 1, 0644, err);
	if (rc == 0)
		rc = sync_fd(l->blobsfd, "blobs/sha256", err);
	if (rc < 0)
		return rc;
	cleanup_close int blobs = openat(l->stagefd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (blobs < 0 || fsync(blobs) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot sync the staged blobs");
	if (renameat2(l->parentfd, l->stage_name, l->parentfd, l->base, RENAME_NOREPLACE) == 0) {
		/* The marker made it a staging directory; now it is a layout. */
		l->committed = true;
		unlinkat(l->stagefd, STAGE_MARKER, 0);
		rc = sync_fd(l->stagefd, l->path, err);
		return rc < 0 ? rc : sync_fd(l->parentfd, l->path, err);
	}
	if (errno != EEXIST && errno != ENOTEMPTY)
		return pl__error_set(err, PL_ESYS, errno, "cannot move the new layout to '%s'",
				     l->path);
	l->dirfd = openat(l->parentfd, l->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open layout '%s'", l->path);
	return commit_into(l, l->blobsfd, desc, tag, err);
}

int pl__layout_blob_read_staged(struct pl__layout *l, const uint8_t digest[PL_SHA256_LEN], int *fd,
				struct pl_error **err)
{
	char hex[2 * PL_SHA256_LEN + 1];
	pl__hex(digest, PL_SHA256_LEN, hex);
	*fd = openat(l->blobsfd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open the staged blob sha256:%s",
				     hex);
	return 0;
}

int pl__layout_add_referrer(struct pl__layout *l, const struct pl__descriptor *d,
			    const char *artifact_type, const uint8_t subject[PL_SHA256_LEN],
			    struct pl_error **err)
{
	char digest[PL_DIGEST_STR_LEN + 1], sd[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(d->digest, digest);
	pl__digest_str(subject, sd);
	if ((!l->referrers && !(l->referrers = json_array())) ||
	    json_array_append_new(l->referrers,
				  json_pack("{s:s, s:s, s:I, s:s, s:{s:s}}", "mediaType",
					    d->media_type, "digest", digest, "size",
					    (json_int_t)d->size, "artifactType", artifact_type,
					    "annotations", SUBJECT, sd)) < 0)
		return pl__error_nomem(err);
	return 0;
}

int pl__layout_add_tag(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
		       struct pl_error **err)
{
	json_t *desc = descriptor_json(d, tag);
	if (!desc || (!l->tags && !(l->tags = json_array())) ||
	    json_array_append_new(l->tags, json_pack("[o, s]", desc, tag)) < 0)
		return pl__error_nomem(err);
	return 0;
}

int pl__layout_commit(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
		      struct pl_error **err)
{
	cleanup_json json_t *desc = descriptor_json(d, tag);
	if (!desc)
		return pl__error_nomem(err);
	int rc = l->dirfd >= 0 ? commit_into(l, l->stagefd, desc, tag, err)
			       : commit_fresh(l, desc, tag, err);
	if (rc < 0)
		return pl__error_wrap(err, rc, "layout '%s'", l->path);
	return rc;
}

int pl__layout_commit_if(struct pl__layout *l, const struct pl__descriptor *d, const char *tag,
			 const uint8_t *was, struct pl_error **err)
{
	l->expect = true;
	l->expect_absent = !was;
	if (was)
		memcpy(l->expect_digest, was, PL_SHA256_LEN);
	return pl__layout_commit(l, d, tag, err);
}
