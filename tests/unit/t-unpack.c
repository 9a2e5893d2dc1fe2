/*
 * t-unpack.c - an image's filesystem written into a directory: layers made
 * here with libarchive, whiteouts, modes and owners, hard links, a path
 * shown twice; and hostile layers whose symlinks and hard links point out
 * of the root, device nodes and FIFOs.  Needs root (owners are set).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "json.h"
#include "tap.h"
#include "tar.h"
#include "unpack.h"

static char tmp[] = "/tmp/t-unpack.XXXXXX";
static char root[sizeof(tmp) + 32], outside[sizeof(tmp) + 32];

/* Store the layer `v` in the test layout; append its descriptor. */
static void add_layer(json_t *layers, const struct tent *v, size_t n)
{
	cleanup_buf struct pl_buf b = { 0 };
	make_tar(ARCHIVE_FILTER_GZIP, v, n, &b);
	uint8_t d[PL_SHA256_LEN];
	char hex[2 * PL_SHA256_LEN + 1], path[512], digest[PL_DIGEST_STR_LEN + 1];
	pl__sha256(b.buf, b.len, d);
	pl__hex(d, PL_SHA256_LEN, hex);
	pl__digest_str(d, digest);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", tmp, hex);
	FILE *f = fopen(path, "wb");
	check(f != NULL);
	if (f) {
		check_int(fwrite(b.buf, 1, b.len, f), ==, b.len);
		check_int(fclose(f), ==, 0);
	}
	json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", PL__MT_LAYER_GZIP,
						"digest", digest, "size", (json_int_t)b.len));
}

#define N(v) (sizeof(v) / sizeof((v)[0]))

/* A fresh, empty root. */
static void fresh_root(void)
{
	pl__remove_tree(AT_FDCWD, root);
	check_int(mkdir(root, 0755), ==, 0);
}

/* Unpack `layers` into the root: 0 or the error's code, its message in
 * `msg` (NULL: must succeed). */
static int unpack(json_t *layers, char *msg, size_t size)
{
	struct pl__blob_source src = pl__layout_blobs(tmp);
	struct pl_error *err = NULL;
	fresh_root();
	int rc = pl__unpack(&src, layers, root, &err);
	if (msg)
		snprintf(msg, size, "%s", err ? pl_error_message(err) : "");
	else if (rc < 0)
		tap_diag(pl_error_message(err));
	pl_error_free(err);
	return rc;
}

static const char *at(const char *path)
{
	static char buf[4][1024];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, path);
	return buf[i];
}

static char *content(const char *path)
{
	static char buf[256];
	buf[0] = '\0';
	FILE *f = fopen(at(path), "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(at(path), &st) == 0;
}

/* mode (with type bits masked off) and owner of a path, or -1 */
static long mode_of(const char *path)
{
	struct stat st;
	return lstat(at(path), &st) == 0 ? (long)(st.st_mode & 07777) : -1;
}

static long uid_of(const char *path)
{
	struct stat st;
	return lstat(at(path), &st) == 0 ? (long)st.st_uid : -1;
}

static bool empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n == 0;
}

/* Two layers: the upper one deletes, empties, replaces and adds. */
static void test_layers(void)
{
	static const struct tent lower[] = {
		{ 'd', "./", NULL, 0755, 0 },
		{ 'd', "etc/", NULL, 0755, 0 },
		{ 'f', "etc/passwd", "root:x:0:0::/:/x\n", 0644, 0 },
		{ 'd', "usr/share/dir", NULL, 0755, 0 },
		{ 'f', "usr/share/dir/x", "x", 0644, 0 },
		{ 'd', "opt/o", NULL, 0700, 7 },
		{ 'f', "opt/o/z", "z", 0600, 7 },
		{ 'd', "d", NULL, 0755, 0 },
		{ 'f', "d/f", "f", 0644, 0 },
		{ 'f', "usr/lib/x", "one", 0755, 0 },
		{ 'h', "usr/lib/y", "./usr/lib/x", 0, 0 },
		{ 'f', "usr/bin/su", "setuid", 04755, 0 },
		{ 'f', "data/kept", "lower", 0640, 9 },
	};
	static const struct tent upper[] = {
		{ 'f', "etc/passwd", "root:x:0:0::/:/y\n", 0644, 0 },
		{ 'f', "usr/share/dir/.wh..wh..opq", "", 0, 0 },
		{ 'f', "usr/share/dir/y", "why", 0640, 5 },
		{ 'f', ".wh.opt", "", 0, 0 },
		{ 'f', "d", "now a file", 0644, 0 },
		{ 'f', "twice", "first", 0644, 0 },
		{ 'l', "twice", "/somewhere", 0, 0 },
		{ 'f', "twice", "second", 0604, 3 },
		/* below a directory whose own entry comes last */
		{ 'f', "late/a/b", "b", 0644, 0 },
		{ 'd', "late/a", NULL, 0750, 4 },
		{ 'l', "bin", "usr/bin", 0, 0 },
		{ 'l', "abs", "/etc/passwd", 0, 0 },
		/* a link to a file of the lower layer, read after it */
		{ 'h', "data/again", "data/kept", 0, 0 },
		{ 'd', "tmp", NULL, 01777, 0 },
	};
	cleanup_json json_t *layers = json_array();
	add_layer(layers, lower, N(lower));
	add_layer(layers, upper, N(upper));
	check_int(unpack(layers, NULL, 0), ==, 0);

	check_str(content("etc/passwd"), "root:x:0:0::/:/y\n");
	check(!exists("opt"));
	check(!exists("usr/share/dir/x"));
	check_str(content("usr/share/dir/y"), "why");
	check_int(mode_of("usr/share/dir/y"), ==, 0640);
	check_int(uid_of("usr/share/dir/y"), ==, 5);
	check_str(content("d"), "now a file");
	check_str(content("twice"), "second");
	check_int(mode_of("twice"), ==, 0604);
	check_int(uid_of("twice"), ==, 3);
	check_int(mode_of("usr/bin/su"), ==, 04755);
	check_int(mode_of("late/a"), ==, 0750);
	check_int(uid_of("late/a"), ==, 4);
	check_int(mode_of("late"), ==, 0755); /* made as a parent */
	check_int(uid_of("late"), ==, 0);
	check_int(mode_of("tmp"), ==, 01777);
	char target[64] = "";
	check_int(readlink(at("abs"), target, sizeof(target) - 1), ==, 11);
	check_str(target, "/etc/passwd");

	struct stat x, y, kept, again;
	check_int(stat(at("usr/lib/x"), &x), ==, 0);
	check_int(stat(at("usr/lib/y"), &y), ==, 0);
	check(x.st_ino == y.st_ino);
	check_int(stat(at("data/kept"), &kept), ==, 0);
	check_int(stat(at("data/again"), &again), ==, 0);
	check(kept.st_ino == again.st_ino);
	check_int(kept.st_mode & 07777, ==, 0640);
	check_int(kept.st_uid, ==, 9);
}

/* Symlinks and hard links that point out of the root never carry a write
 * outside. */
static void test_escapes(void)
{
	char msg[1024], abs_outside[600], up[700];
	snprintf(abs_outside, sizeof(abs_outside), "%s", outside);
	snprintf(up, sizeof(up), "../../../../../../../..%s", outside);
	const struct tent parent_abs[] = {
		{ 'l', "etc", abs_outside, 0, 0 },
		{ 'f', "etc/x", "pwned", 0644, 0 },
	};
	const struct tent parent_up[] = {
		{ 'l', "up", up, 0, 0 },
		{ 'f', "up/x", "pwned", 0644, 0 },
	};
	const struct tent to_root[] = {
		{ 'l', "esc", "/", 0, 0 },
		{ 'f', "esc/escaped", "inside", 0644, 0 },
	};
	char last_abs[700];
	snprintf(last_abs, sizeof(last_abs), "%s/last", outside);
	const struct tent last[] = {
		{ 'l', "f", last_abs, 0, 0 },
		{ 'f', "f", "replaced", 0644, 0 },
	};
	const struct tent hard[] = {
		{ 'l', "hostetc", "/etc", 0, 0 },
		{ 'h', "pw", "hostetc/passwd", 0, 0 },
	};
	struct stat host_pw;
	check_int(stat("/etc/passwd", &host_pw), ==, 0);

	cleanup_json json_t *l1 = json_array(), *l2 = json_array(), *l3 = json_array(),
			    *l4 = json_array(), *l5 = json_array();
	add_layer(l1, parent_abs, N(parent_abs));
	check_int(unpack(l1, msg, sizeof(msg)), ==, PL_EINVAL);
	check(strstr(msg, "'/etc/x': '/etc' is a symlink that leads nowhere in the image") != NULL);
	tap_diag(msg);
	check(empty_dir(outside));

	add_layer(l2, parent_up, N(parent_up));
	check_int(unpack(l2, msg, sizeof(msg)), ==, PL_EINVAL);
	check(strstr(msg, "'/up' is a symlink that leads nowhere") != NULL);
	check(empty_dir(outside));

	/* "/" is the root's own: the write lands in it */
	add_layer(l3, to_root, N(to_root));
	check_int(unpack(l3, NULL, 0), ==, 0);
	check_str(content("escaped"), "inside");
	check(access("/escaped", F_OK) != 0);

	/* a symlink then a file at the same path: the file replaces the link */
	add_layer(l4, last, N(last));
	check_int(unpack(l4, NULL, 0), ==, 0);
	check_str(content("f"), "replaced");
	check(empty_dir(outside));

	add_layer(l5, hard, N(hard));
	check_int(unpack(l5, msg, sizeof(msg)), ==, PL_EINVAL);
	check(strstr(msg, "'/pw' is a hard link to '/hostetc/passwd', which the image does not "
			  "have") != NULL);
	tap_diag(msg);
	check(!exists("pw"));
	struct stat after;
	check_int(stat("/etc/passwd", &after), ==, 0);
	check_int(after.st_nlink, ==, host_pw.st_nlink);
}

static void test_refused(void)
{
	static const struct tent dev[] = {
		{ 'd', "dev", NULL, 0755, 0 },
		{ 'c', "dev/null", NULL, 0, 0 },
	};
	static const struct tent fifo[] = { { 'p', "run/fifo", NULL, 0, 0 } };
	static const struct tent dangling[] = { { 'h', "a", "nowhere", 0, 0 } };
	static const struct tent dir_link[] = {
		{ 'd', "d", NULL, 0755, 0 },
		{ 'h', "a", "d", 0, 0 },
	};
	char msg[1024];
	cleanup_json json_t *l1 = json_array(), *l2 = json_array(), *l3 = json_array(),
			    *l4 = json_array();
	add_layer(l1, dev, N(dev));
	check_int(unpack(l1, msg, sizeof(msg)), ==, PL_EPOLICY);
	check(strstr(msg, "'/dev/null' is a device node, FIFO or socket, which plinth does not "
			  "unpack") != NULL);
	tap_diag(msg);
	check(!exists("dev/null"));
	add_layer(l2, fifo, N(fifo));
	check_int(unpack(l2, msg, sizeof(msg)), ==, PL_EPOLICY);
	check(strstr(msg, "'/run/fifo' is a device node") != NULL);
	add_layer(l3, dangling, N(dangling));
	check_int(unpack(l3, msg, sizeof(msg)), ==, PL_EINVAL);
	check(strstr(msg, "'/a' is a hard link to '/nowhere', which the image does not have") !=
	      NULL);
	tap_diag(msg);
	add_layer(l4, dir_link, N(dir_link));
	check_int(unpack(l4, msg, sizeof(msg)), ==, PL_EINVAL);
	check(strstr(msg, "'/a' is a hard link to a directory, '/d'") != NULL);
}

int main(void)
{
	if (geteuid() != 0)
		return tap_skip_all("unpacking sets owners: needs root");
	if (!mkdtemp(tmp))
		return tap_skip_all("cannot make a temporary directory");
	char blobs[sizeof(tmp) + 32];
	snprintf(blobs, sizeof(blobs), "%s/blobs", tmp);
	mkdir(blobs, 0755);
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", tmp);
	mkdir(blobs, 0755);
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	mkdir(outside, 0755);

	test_layers();
	test_escapes();
	test_refused();

	pl__remove_tree(AT_FDCWD, tmp);
	return tap_done();
}
