/* t-fetch.c - the download cache: file:// and http:// sources, checks,
 * truncation, corruption, concurrent fetches. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "tap.h"

extern char **environ;

static char root[64];

static const char *at(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", root, rel);
	return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pl__write_all(fd, p, n) < 0)
		printf("# cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Everything left to read from fd (NUL-terminated), or NULL. */
static char *read_fd(int fd, size_t *len)
{
	struct pl_buf b;
	if (fd < 0 || pl_buf_init(&b, 0, NULL) < 0)
		return NULL;
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (pl_buf_add(&b, chunk, (size_t)n, NULL) < 0)
			break;
	return pl_buf_detach(&b, len);
}

static char *read_path(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *s = read_fd(fd, len);
	if (fd >= 0)
		close(fd);
	return s;
}

/* Entries in a directory (not . and ..), -1 when it cannot be read. */
static int count(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void clear_error(struct pl_error **err)
{
	pl_error_free(*err);
	*err = NULL;
}

static struct pl__cache *open_cache(const char *rel)
{
	struct pl__cache *c = NULL;
	struct pl_error *err = NULL;
	if (pl__cache_open(at(rel), NULL, &c, &err) < 0)
		printf("# %s\n", pl_error_message(err));
	pl_error_free(err);
	return c;
}

static void test_open(void)
{
	struct pl__cache *c = NULL;
	struct pl_error *err = NULL;
	/* Missing ancestors are created. */
	check_int(pl__cache_open(at("deep/er/cache/"), NULL, &c, &err), ==, 0);
	pl__cache_free(c);
	struct stat st;
	check(stat(at("deep/er/cache/sha256"), &st) == 0 && S_ISDIR(st.st_mode));
	check(stat(at("deep/er/cache/tmp"), &st) == 0 && S_ISDIR(st.st_mode));
	check_int(st.st_mode & 07777, ==, 0755);

	/* Downloads abandoned more than a day ago are removed. */
	write_file(at("deep/er/cache/tmp/old"), "x", 1);
	write_file(at("deep/er/cache/tmp/new"), "x", 1);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 2 * 24 * 3600 },
				  { .tv_sec = time(NULL) - 2 * 24 * 3600 } };
	utimensat(AT_FDCWD, at("deep/er/cache/tmp/old"), ts, 0);
	c = NULL;
	check_int(pl__cache_open(at("deep/er/cache"), NULL, &c, &err), ==, 0);
	pl__cache_free(c);
	check_int(access(at("deep/er/cache/tmp/old"), F_OK), ==, -1);
	check_int(access(at("deep/er/cache/tmp/new"), F_OK), ==, 0);

	write_file(at("plain"), "x", 1);
	c = NULL;
	check_int(pl__cache_open(at("plain"), NULL, &c, &err), ==, PL_ESYS);
	check(c == NULL);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "cannot open cache directory '%s': Not a directory",
		 at("plain"));
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(pl__cache_open(at("plain/sub"), NULL, &c, &err), ==, PL_ESYS);
	snprintf(want, sizeof(want), "cannot create directory '%s': Not a directory",
		 at("plain/sub"));
	check_str(pl_error_message(err), want);
	clear_error(&err);
}

static const char hello_hex[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

static void test_file_fetch(void)
{
	struct pl__cache *c = open_cache("c1");
	struct pl_error *err = NULL;
	uint8_t d[PL_SHA256_LEN];
	check(pl__hex_sha256(hello_hex, d));
	mkdir(at("src"), 0755);
	write_file(at("src/hello"), "hello\n", 6);
	char url[PATH_MAX + 16];
	snprintf(url, sizeof(url), "file://%s", at("src/hello"));

	int fd = -1;
	check_int(pl__cache_get(c, d, 6, &fd, &err), ==, 0);
	check_int(fd, ==, -1);

	check_int(pl__cache_fetch(c, url, d, 6, &fd, &err), ==, 0);
	check(err == NULL);
	size_t len = 0;
	char *s = read_fd(fd, &len);
	check_str(s, "hello\n");
	check_int(len, ==, 6);
	free(s);
	/* Read-only: a caller cannot damage the cache through it. */
	check_int(write(fd, "x", 1), ==, -1);
	close(fd);
	s = read_path(at("c1/sha256/5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6"
			 "be03"),
		      NULL);
	check_str(s, "hello\n");
	free(s);
	struct stat st;
	check(stat(at("c1/sha256/"
		      "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"),
		   &st) == 0);
	check_int(st.st_mode & 07777, ==, 0644);
	check_int(count(at("c1/sha256")), ==, 1);
	check_int(count(at("c1/tmp")), ==, 0);

	/* Served from the cache once the source is gone. */
	unlink(at("src/hello"));
	fd = -1;
	check_int(pl__cache_fetch(c, url, d, 6, &fd, &err), ==, 0);
	s = read_fd(fd, NULL);
	check_str(s, "hello\n");
	free(s);
	if (fd >= 0)
		close(fd);
	/* Any size is accepted with UINT64_MAX. */
	check_int(pl__cache_get(c, d, UINT64_MAX, &fd, &err), ==, 0);
	check(fd >= 0);
	if (fd >= 0)
		close(fd);

	/* A missing source, when the cache cannot help. */
	uint8_t other[PL_SHA256_LEN];
	pl__sha256("other", 5, other);
	check_int(pl__cache_fetch(c, url, other, 5, &fd, &err), ==, PL_ESYS);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "cannot open '%s': No such file or directory", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(count(at("c1/tmp")), ==, 0);

	/* Asking for another size removes the blob: the index disagrees. */
	check_int(pl__cache_get(c, d, 7, &fd, &err), ==, 0);
	check_int(fd, ==, -1);
	check_int(count(at("c1/sha256")), ==, 0);
	pl__cache_free(c);
}

static void test_bad_sources(void)
{
	struct pl__cache *c = open_cache("c2");
	struct pl_error *err = NULL;
	static const char data[] = "0123456789abcdef0123456789";
	size_t n = sizeof(data) - 1;
	write_file(at("src/data"), data, n);
	char url[PATH_MAX + 16];
	snprintf(url, sizeof(url), "file://%s", at("src/data"));
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(data, n, d);
	int fd = -1;
	char want[PATH_MAX + 256];

	/* Wrong digest. */
	uint8_t wrong[PL_SHA256_LEN];
	pl__sha256("something else", 14, wrong);
	check_int(pl__cache_fetch(c, url, wrong, n, &fd, &err), ==, PL_EDIGEST);
	char ws[PL_DIGEST_STR_LEN + 1], gs[PL_DIGEST_STR_LEN + 1];
	pl__digest_str(wrong, ws);
	pl__digest_str(d, gs);
	snprintf(want, sizeof(want), "'%s': sha256 mismatch: expected %s, got %s", url, ws, gs);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(fd, ==, -1);
	check_int(count(at("c2/sha256")), ==, 0);
	check_int(count(at("c2/tmp")), ==, 0);

	/* Shorter than the index says. */
	check_int(pl__cache_fetch(c, url, d, n + 10, &fd, &err), ==, PL_EDIGEST);
	snprintf(want, sizeof(want), "'%s': truncated download: got 26 of 36 bytes", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);

	/* Longer. */
	check_int(pl__cache_fetch(c, url, d, n - 1, &fd, &err), ==, PL_ELIMIT);
	snprintf(want, sizeof(want), "'%s': larger than the expected 25 bytes", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(count(at("c2/sha256")), ==, 0);
	check_int(count(at("c2/tmp")), ==, 0);

	/* Not a regular file. */
	snprintf(url, sizeof(url), "file://%s", at("src"));
	check_int(pl__cache_fetch(c, url, d, n, &fd, &err), ==, PL_EINVAL);
	snprintf(want, sizeof(want), "'%s' is not a regular file", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(count(at("c2/tmp")), ==, 0);

	/* Cancelled before it starts. */
	volatile int cancel = 1;
	struct pl__cache *cc = NULL;
	check_int(pl__cache_open(at("c2"), &cancel, &cc, &err), ==, 0);
	snprintf(url, sizeof(url), "file://%s", at("src/data"));
	check_int(pl__cache_fetch(cc, url, d, n, &fd, &err), ==, PL_ESYS);
	check_str(pl_error_message(err), "build cancelled by a signal");
	clear_error(&err);
	check_int(count(at("c2/tmp")), ==, 0);
	pl__cache_free(cc);
	pl__cache_free(c);
}

static void test_corrupt(void)
{
	struct pl__cache *c = open_cache("c3");
	struct pl_error *err = NULL;
	write_file(at("src/hello"), "hello\n", 6);
	char url[PATH_MAX + 16];
	snprintf(url, sizeof(url), "file://%s", at("src/hello"));
	uint8_t d[PL_SHA256_LEN];
	check(pl__hex_sha256(hello_hex, d));
	const char *blob = at("c3/sha256/"
			      "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	int fd = -1;
	check_int(pl__cache_fetch(c, url, d, 6, &fd, &err), ==, 0);
	if (fd >= 0)
		close(fd);

	/* Same size, other bytes: detected and removed. */
	write_file(blob, "HELLO\n", 6);
	fd = -1;
	check_int(pl__cache_get(c, d, 6, &fd, &err), ==, 0);
	check_int(fd, ==, -1);
	check_int(access(blob, F_OK), ==, -1);

	/* ...and fetched again. */
	write_file(blob, "HELLO\n", 6);
	check_int(pl__cache_fetch(c, url, d, 6, &fd, &err), ==, 0);
	char *s = read_fd(fd, NULL);
	check_str(s, "hello\n");
	free(s);
	if (fd >= 0)
		close(fd);
	s = read_path(blob, NULL);
	check_str(s, "hello\n");
	free(s);

	/* A symlink in the cache is not trusted either. */
	unlink(blob);
	check_int(symlink(at("src/hello"), blob), ==, 0);
	fd = -1;
	check_int(pl__cache_get(c, d, 6, &fd, &err), ==, 0);
	check_int(fd, ==, -1);
	struct stat st;
	check_int(lstat(blob, &st), ==, -1);
	pl__cache_free(c);
}

static void test_mem(void)
{
	struct pl__cache *c = open_cache("c4");
	struct pl_error *err = NULL;
	mkdir(at("src/dists"), 0755);
	write_file(at("src/dists/a b%.txt"), "InRelease\n", 10);
	char url[PATH_MAX + 64], want[PATH_MAX + 128];
	char *out = NULL;
	size_t len = 0;

	snprintf(url, sizeof(url), "file://%s", at("src/dists/a%20b%25.txt"));
	check_int(pl__fetch_mem(c, url, 100, &out, &len, &err), ==, 0);
	check_str(out, "InRelease\n");
	check_int(len, ==, 10);
	free(out);
	out = NULL;
	snprintf(url, sizeof(url), "FILE://localhost%s", at("src/dists/a%20b%2..txt"));
	check_int(pl__fetch_mem(c, url, 100, &out, &len, &err), ==, PL_EINVAL);
	snprintf(want, sizeof(want), "'%s': malformed percent-encoding at offset %zu", url,
		 strlen(url) - strlen("%2..txt"));
	check_str(pl_error_message(err), want);
	clear_error(&err);
	snprintf(url, sizeof(url), "file://localhost%s", at("src/dists/a%20b%2%35.txt"));
	check_int(pl__fetch_mem(c, url, 100, &out, &len, &err), ==, PL_EINVAL);
	clear_error(&err);
	snprintf(url, sizeof(url), "file://localhost%s", at("src/dists/a%20b%25%2Etxt"));
	check_int(pl__fetch_mem(c, url, 10, &out, &len, &err), ==, 0);
	check_str(out, "InRelease\n");
	free(out);
	out = NULL;

	/* Over the cap. */
	check_int(pl__fetch_mem(c, url, 9, &out, &len, &err), ==, PL_ELIMIT);
	snprintf(want, sizeof(want), "'%s': larger than the limit of 9 bytes", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check(out == NULL);

	/* Not found, no error. */
	snprintf(url, sizeof(url), "file://%s", at("src/dists/nope"));
	check_int(pl__fetch_mem(c, url, 100, &out, &len, &err), ==, PL__FETCH_NOT_FOUND);
	check(err == NULL);
	snprintf(url, sizeof(url), "file://%s", at("src/data/nope"));
	check_int(pl__fetch_mem(c, url, 100, &out, &len, &err), ==, PL__FETCH_NOT_FOUND);

	static const char *const bad[][2] = {
		{ "ftp://deb.debian.org/debian/dists/bookworm/InRelease",
		  "'ftp://deb.debian.org/debian/dists/bookworm/InRelease': unsupported URL "
		  "scheme" },
		{ "/srv/mirror/InRelease", "'/srv/mirror/InRelease': unsupported URL scheme" },
		{ "file://mirror/srv/InRelease",
		  "'file://mirror/srv/InRelease': unsupported file URL: expected file:///path" },
		{ "file:srv/InRelease", "'file:srv/InRelease': unsupported URL scheme" },
		{ "file://localhost", "'file://localhost': unsupported file URL: expected "
				      "file:///path" },
		{ "file:///a%00b", "'file:///a%00b': the path holds a NUL byte" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_int(pl__fetch_mem(c, bad[i][0], 100, &out, &len, &err), ==, PL_EINVAL);
		check_str(pl_error_message(err), bad[i][1]);
		clear_error(&err);
	}
	pl__cache_free(c);
}

/* ---- http ---------------------------------------------------------- */

static const char server_py[] = "import http.server, os, sys, threading, time\n"
				"root = sys.argv[1]\n"
				"class H(http.server.SimpleHTTPRequestHandler):\n"
				"    protocol_version = 'HTTP/1.1'\n"
				"    def __init__(self, *a, **kw):\n"
				"        super().__init__(*a, directory=root, **kw)\n"
				"    def log_message(self, *a):\n"
				"        pass\n"
				"    def head(self, code, length):\n"
				"        self.send_response(code)\n"
				"        self.send_header('Content-Length', str(length))\n"
				"    def do_GET(self):\n"
				"        if self.path == '/truncated':\n"
				"            self.head(200, 2000)\n"
				"            self.end_headers()\n"
				"            self.wfile.write(b'x' * 100)\n"
				"            self.wfile.flush()\n"
				"            self.close_connection = True\n"
				"        elif self.path == '/slow':\n"
				"            self.head(200, 1000)\n"
				"            self.end_headers()\n"
				"            self.wfile.write(b'x' * 10)\n"
				"            self.wfile.flush()\n"
				"            time.sleep(30)\n"
				"            self.close_connection = True\n"
				"        elif self.path == '/redirect':\n"
				"            self.head(302, 5)\n"
				"            self.send_header('Location', '/blob')\n"
				"            self.end_headers()\n"
				"            self.wfile.write(b'moved')\n"
				"        elif self.path == '/error':\n"
				"            self.send_error(500)\n"
				"        elif self.path == '/gone':\n"
				"            self.send_error(410)\n"
				"        else:\n"
				"            super().do_GET()\n"
				"def watch():\n"
				"    sys.stdin.buffer.read()\n" /* the test died: do not linger */
				"    os._exit(0)\n"
				"http.server.ThreadingHTTPServer.daemon_threads = True\n"
				"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
				"threading.Thread(target=watch, daemon=True).start()\n"
				"print(s.server_address[1], flush=True)\n"
				"s.serve_forever()\n";

struct server {
	pid_t pid;
	int stdin_fd;
	int port;
};

static int server_start(struct server *s)
{
	s->pid = -1;
	s->stdin_fd = -1;
	write_file(at("server.py"), server_py, sizeof(server_py) - 1);
	mkdir(at("www"), 0755);
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = { (char *)"python3", (char *)at("server.py"), (char *)at("www"), NULL };
	int rc = posix_spawnp(&s->pid, "python3", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	s->stdin_fd = in[1];
	if (rc != 0) {
		printf("# cannot start python3: %s\n", strerror(rc));
		s->pid = -1;
		close(out[0]);
		return -1;
	}
	char line[32];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(line) - 1 && (r = read(out[0], line + n, sizeof(line) - 1 - n)) > 0) {
		n += (size_t)r;
		if (memchr(line, '\n', n))
			break;
	}
	close(out[0]);
	line[n] = '\0';
	s->port = (int)strtol(line, NULL, 10);
	return s->port > 0 ? 0 : -1;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->stdin_fd >= 0)
		close(s->stdin_fd);
}

static volatile int alarm_cancel;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_cancel = 1;
}

static void test_http(const struct server *srv)
{
	struct pl__cache *c = open_cache("c5");
	struct pl_error *err = NULL;
	char url[128], want[512];
	static const char blob[] = "Package: hello\nVersion: 1\n";
	size_t n = sizeof(blob) - 1;
	write_file(at("www/blob"), blob, n);
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(blob, n, d);
	char hex[2 * PL_SHA256_LEN + 1], rel[128];
	pl__hex(d, PL_SHA256_LEN, hex);
	snprintf(rel, sizeof(rel), "c5/sha256/%s", hex);
	int fd = -1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/blob", srv->port);
	check_int(pl__cache_fetch(c, url, d, n, &fd, &err), ==, 0);
	if (err)
		printf("# %s\n", pl_error_message(err));
	clear_error(&err);
	char *s = read_fd(fd, NULL);
	check_str(s, blob);
	free(s);
	if (fd >= 0)
		close(fd);
	s = read_path(at(rel), NULL);
	check_str(s, blob);
	free(s);
	check_int(count(at("c5/tmp")), ==, 0);

	/* Wrong size and digest over http, too. */
	unlink(at(rel));
	check_int(pl__cache_fetch(c, url, d, n - 1, &fd, &err), ==, PL_ELIMIT);
	snprintf(want, sizeof(want), "'%s': larger than the expected %zu bytes", url, n - 1);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	uint8_t wrong[PL_SHA256_LEN];
	memcpy(wrong, d, sizeof(wrong));
	wrong[31] ^= 1;
	check_int(pl__cache_fetch(c, url, wrong, n, &fd, &err), ==, PL_EDIGEST);
	clear_error(&err);
	check_int(count(at("c5/sha256")), ==, 0);
	check_int(count(at("c5/tmp")), ==, 0);

	/* fetch_mem, through a redirect. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect", srv->port);
	char *out = NULL;
	size_t len = 0;
	check_int(pl__fetch_mem(c, url, 1000, &out, &len, &err), ==, 0);
	check_str(out, blob);
	check_int(len, ==, n);
	free(out);
	out = NULL;
	check_int(pl__fetch_mem(c, url, 10, &out, &len, &err), ==, PL_ELIMIT);
	snprintf(want, sizeof(want), "'%s': larger than the limit of 10 bytes", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);

	/* Missing. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing", srv->port);
	check_int(pl__fetch_mem(c, url, 1000, &out, &len, &err), ==, PL__FETCH_NOT_FOUND);
	check(err == NULL);
	check(out == NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gone", srv->port);
	check_int(pl__fetch_mem(c, url, 1000, &out, &len, &err), ==, PL__FETCH_NOT_FOUND);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing", srv->port);
	check_int(pl__cache_fetch(c, url, d, n, &fd, &err), ==, PL_ESYS);
	snprintf(want, sizeof(want), "'%s': HTTP 404", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/error", srv->port);
	check_int(pl__fetch_mem(c, url, 1000, &out, &len, &err), ==, PL_ESYS);
	snprintf(want, sizeof(want), "'%s': HTTP 500", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);

	/* The server announces 2000 bytes and closes after 100. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/truncated", srv->port);
	check_int(pl__cache_fetch(c, url, d, 2000, &fd, &err), ==, PL_EDIGEST);
	snprintf(want, sizeof(want), "'%s': truncated download: got 100 of 2000 bytes", url);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(pl__fetch_mem(c, url, 5000, &out, &len, &err), ==, PL_EDIGEST);
	check_str(pl_error_message(err), want);
	clear_error(&err);
	check_int(count(at("c5/sha256")), ==, 0);
	check_int(count(at("c5/tmp")), ==, 0);

	/* Nobody listening. */
	check_int(pl__fetch_mem(c, "http://127.0.0.1:1/x", 1000, &out, &len, &err), ==, PL_ESYS);
	check(!strncmp(pl_error_message(err), "cannot fetch 'http://127.0.0.1:1/x': ", 37));
	clear_error(&err);
	pl__cache_free(c);

	/* A signal cancels a transfer that stalls. */
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	c = NULL;
	check_int(pl__cache_open(at("c5"), &alarm_cancel, &c, &err), ==, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", srv->port);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct itimerval it = { .it_value = { .tv_usec = 200000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	check_int(pl__cache_fetch(c, url, d, 1000, &fd, &err), ==, PL_ESYS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check_str(pl_error_message(err), "build cancelled by a signal");
	clear_error(&err);
	check_int(t1.tv_sec - t0.tv_sec, <, 10);
	check_int(count(at("c5/tmp")), ==, 0);
	pl__cache_free(c);
}

/* ---- several processes, one cache ------------------------------------ */

static void test_concurrent(void)
{
	size_t n = (size_t)4 << 20;
	char *big = malloc(n);
	if (!big) {
		check(big != NULL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 2654435761u >> 13);
	write_file(at("src/big"), big, n);
	uint8_t d[PL_SHA256_LEN];
	pl__sha256(big, n, d);
	free(big);
	char url[PATH_MAX + 16];
	snprintf(url, sizeof(url), "file://%s", at("src/big"));

	int go[2];
	if (pipe(go) < 0) {
		check(0);
		return;
	}
	fflush(stdout);
	pid_t pids[4];
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			char b;
			if (read(go[0], &b, 1) < 0)
				_exit(3);
			struct pl__cache *c = NULL;
			if (pl__cache_open(at("c6"), NULL, &c, NULL) < 0)
				_exit(4);
			int fd = -1;
			if (pl__cache_fetch(c, url, d, n, &fd, NULL) < 0)
				_exit(5);
			struct stat st;
			_exit(fstat(fd, &st) == 0 && (size_t)st.st_size == n ? 0 : 6);
		}
	}
	close(go[0]);
	close(go[1]); /* all start at once */
	for (int i = 0; i < 4; i++) {
		int status = -1;
		if (pids[i] > 0)
			waitpid(pids[i], &status, 0);
		check(WIFEXITED(status));
		check_int(WEXITSTATUS(status), ==, 0);
	}
	check_int(count(at("c6/sha256")), ==, 1);
	check_int(count(at("c6/tmp")), ==, 0);
	struct pl__cache *c = open_cache("c6");
	int fd = -1;
	check_int(pl__cache_get(c, d, n, &fd, NULL), ==, 0);
	check(fd >= 0);
	if (fd >= 0)
		close(fd);
	pl__cache_free(c);
}

int main(void)
{
	umask(022);
	snprintf(root, sizeof(root), "/tmp/t-fetch.XXXXXX");
	if (!mkdtemp(root))
		return tap_skip_all("cannot create a temporary directory");
	test_open();
	test_file_fetch();
	test_bad_sources();
	test_corrupt();
	test_mem();
	test_concurrent();

	struct server srv;
	if (server_start(&srv) == 0)
		test_http(&srv);
	else
		check(!"the test http server (python3) did not start");
	server_stop(&srv);

	pl__remove_tree(AT_FDCWD, root);
	return tap_done();
}
