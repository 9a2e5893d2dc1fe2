/*
 * t-deb.c - reading .deb files: packages built by dpkg-deb with each
 * compression, and hand-made hostile ones (inner tars from python3's
 * tarfile, the ar container from binutils' ar).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deb.h"
#include "tap.h"

static char tmp[] = "/tmp/t-deb.XXXXXX";

PL__PRINTF(1, 2) static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return 0;
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("# command failed: %s\n", cmd);
		return 0;
	}
	return 1;
}

static void put(const char *rel, const void *p, size_t n, mode_t mode)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	FILE *f = fopen(path, "wb");
	check(f != NULL);
	if (!f)
		return;
	check_int(fwrite(p, 1, n, f), ==, n);
	check_int(fclose(f), ==, 0);
	check_int(chmod(path, mode), ==, 0);
}

static void dir(const char *rel, mode_t mode)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	check_int(mkdir(path, mode), ==, 0);
	check_int(chmod(path, mode), ==, 0);
}

static int load(const char *rel, char **p, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	struct pl_error *err = NULL;
	int rc = pl__read_file(path, (size_t)64 << 20, p, len, &err);
	if (rc < 0)
		printf("# %s\n", pl_error_message(err));
	pl_error_free(err);
	return rc;
}

/* ---- packages built by dpkg-deb ------------------------------------------ */

#define BIG_SIZE ((size_t)3 << 20) /* more than one first allocation */

static const char control[] = "Package: hello\n"
			      "Version: 1.0-1\n"
			      "Architecture: all\n"
			      "Maintainer: Test <test@example.org>\n"
			      "Description: a test package\n";
static const char md5sums[] = "d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/hello/empty\n";
static const char script[] = "#!/bin/sh\necho hello\n";
static char *big;

struct want {
	const char *path;
	enum pl__deb_kind kind;
	unsigned mode;
	const char *data; /* regular files: the content, or NULL for big */
	const char *target;
};

static void check_entries(const struct pl__deb *d, const struct want *w, size_t n)
{
	check_int(d->n, ==, n);
	for (size_t i = 0; i < n && i < d->n; i++) {
		const struct pl__deb_entry *e = &d->e[i];
		check_str(e->path, w[i].path);
		check_int(e->kind, ==, w[i].kind);
		check_int(e->mode, ==, w[i].mode);
		if (w[i].kind == PL__DEB_REG) {
			const char *data = w[i].data ? w[i].data : big;
			size_t len = w[i].data ? strlen(w[i].data) : BIG_SIZE;
			check_int(e->size, ==, len);
			check(e->data != NULL && e->size == len && !memcmp(e->data, data, len));
		} else {
			check_int(e->size, ==, 0);
			check(e->data == NULL);
		}
		if (w[i].target)
			check_str(e->target, w[i].target);
		else
			check(e->target == NULL);
	}
}

static void make_tree(void)
{
	dir("pkg", 0755);
	dir("pkg/DEBIAN", 0755);
	put("pkg/DEBIAN/control", control, strlen(control), 0644);
	put("pkg/DEBIAN/md5sums", md5sums, strlen(md5sums), 0644);
	put("pkg/DEBIAN/postinst", "#!/bin/sh\n", 10, 0755);
	dir("pkg/tmp", 01777);
	dir("pkg/usr", 0755);
	dir("pkg/usr/bin", 0755);
	put("pkg/usr/bin/hello", script, strlen(script), 0755);
	char a[4096], b[4096];
	snprintf(a, sizeof(a), "%s/pkg/usr/bin/hello", tmp);
	snprintf(b, sizeof(b), "%s/pkg/usr/bin/hello-again", tmp);
	check_int(link(a, b), ==, 0);
	snprintf(b, sizeof(b), "%s/pkg/usr/bin/hi", tmp);
	check_int(symlink("hello", b), ==, 0);
	dir("pkg/usr/lib", 0755);
	big = malloc(BIG_SIZE);
	uint32_t x = 12345;
	for (size_t i = 0; i < BIG_SIZE; i++) {
		x = x * 1103515245 + 12345;
		big[i] = (char)(x >> 24);
	}
	put("pkg/usr/lib/big", big, BIG_SIZE, 0644);
	snprintf(b, sizeof(b), "%s/pkg/usr/lib/ld", tmp);
	check_int(symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", b), ==, 0);
	snprintf(b, sizeof(b), "%s/pkg/usr/lib/up", tmp);
	check_int(symlink("../../etc/passwd", b), ==, 0);
	dir("pkg/usr/sbin", 0755);
	put("pkg/usr/sbin/su-ish", "x", 1, 04755);
	dir("pkg/usr/share", 0755);
	dir("pkg/usr/share/doc", 0755);
	dir("pkg/usr/share/doc/hello", 0755);
	put("pkg/usr/share/doc/hello/caf\xc3\xa9.txt", "utf-8\n", 6, 0644);
	put("pkg/usr/share/doc/hello/empty", "", 0, 0644);
}

static void test_dpkg_deb(const char *comp)
{
	char name[64];
	snprintf(name, sizeof(name), "hello-%s.deb", comp);
	check(run("dpkg-deb --root-owner-group -Z%s --build %s/pkg %s/%s >/dev/null", comp, tmp,
		  tmp, name));
	char *p = NULL;
	size_t len = 0;
	if (load(name, &p, &len) < 0) {
		check(!"the package was built");
		return;
	}
	struct pl__deb d;
	struct pl_error *err = NULL;
	int rc = pl__deb_read(p, len, name, &d, &err);
	check_int(rc, ==, 0);
	if (rc < 0)
		printf("# %s\n", pl_error_message(err));
	pl_error_free(err);

	check(d.control && d.control_len == strlen(control) && !strcmp(d.control, control));
	check(d.md5sums && d.md5sums_len == strlen(md5sums) && !strcmp(d.md5sums, md5sums));
	static const struct want w[] = {
		{ "tmp", PL__DEB_DIR, 01777, NULL, NULL },
		{ "usr", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/bin", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/bin/hello", PL__DEB_REG, 0755, script, NULL },
		{ "usr/bin/hello-again", PL__DEB_HARDLINK, 0755, NULL, "usr/bin/hello" },
		{ "usr/lib", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/lib/big", PL__DEB_REG, 0644, NULL, NULL },
		{ "usr/sbin", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/sbin/su-ish", PL__DEB_REG, 04755, "x", NULL },
		{ "usr/share", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/share/doc", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/share/doc/hello", PL__DEB_DIR, 0755, NULL, NULL },
		{ "usr/share/doc/hello/caf\xc3\xa9.txt", PL__DEB_REG, 0644, "utf-8\n", NULL },
		{ "usr/share/doc/hello/empty", PL__DEB_REG, 0644, "", NULL },
		/* dpkg-deb puts symlinks last. */
		{ "usr/bin/hi", PL__DEB_SYMLINK, 0777, NULL, "hello" },
		{ "usr/lib/ld", PL__DEB_SYMLINK, 0777, NULL,
		  "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
		{ "usr/lib/up", PL__DEB_SYMLINK, 0777, NULL, "../../etc/passwd" },
	};
	check_entries(&d, w, sizeof(w) / sizeof(w[0]));
	bool root = true;
	for (size_t i = 0; i < d.n; i++)
		root = root && d.e[i].uid == 0 && d.e[i].gid == 0;
	check(root);
	pl__deb_release(&d);
	check(d.e == NULL && d.n == 0 && d.control == NULL);

	if (strcmp(comp, "xz") == 0) {
		/* Cut in half: inside data.tar.xz. */
		rc = pl__deb_read(p, len / 2, name, &d, &err);
		check_int(rc, ==, PL_EINVAL);
		check_str(pl_error_message(err),
			  "hello-xz.deb: data.tar: 'usr/lib/big': cannot read: truncated input");
		check(d.e == NULL && d.n == 0 && d.control == NULL && d.md5sums == NULL);
		pl_error_free(err);
		err = NULL;
		/* Cut inside the ar header of the control member. */
		rc = pl__deb_read(p, 80, name, &d, &err);
		check_int(rc, ==, PL_EINVAL);
		check_str(pl_error_message(err), "hello-xz.deb: not a Debian package: truncated "
						 "member header at offset 72");
		pl_error_free(err);
	}
	free(p);
}

/* ---- hand-made packages ---------------------------------------------------- */

/* mk.py OUT CASE: build the inner members of CASE with tarfile, then the
 * .deb with `ar rc` (members in the order given). */
static const char mk_py[] =
    "import io, os, subprocess, sys, tarfile\n"
    "out, case = sys.argv[1], sys.argv[2]\n"
    "CONTROL = b'Package: h\\nVersion: 1\\nArchitecture: all\\n'\n"
    "def ti(name, type, data=b'', mode=0o644, uid=0, gid=0, link=''):\n"
    "    if isinstance(name, bytes):\n"
    "        name = name.decode('utf-8', 'surrogateescape')\n"
    "    t = tarfile.TarInfo(name)\n"
    "    t.type, t.mode, t.uid, t.gid, t.linkname = type, mode, uid, gid, link\n"
    "    t.size = len(data) if type == tarfile.REGTYPE else 0\n"
    "    if type in (tarfile.CHRTYPE, tarfile.BLKTYPE):\n"
    "        t.devmajor, t.devminor = 8, 0\n"
    "    return (t, data)\n"
    "def reg(n, data=b'x', **kw): return ti(n, tarfile.REGTYPE, data, **kw)\n"
    "def d(n, mode=0o755): return ti(n, tarfile.DIRTYPE, mode=mode)\n"
    "def sym(n, target): return ti(n, tarfile.SYMTYPE, mode=0o777, link=target)\n"
    "def hard(n, target): return ti(n, tarfile.LNKTYPE, link=target)\n"
    "def tar(entries, comp='', fmt=tarfile.GNU_FORMAT):\n"
    "    buf = io.BytesIO()\n"
    "    mode = 'w:' + {'': '', '.gz': 'gz', '.xz': 'xz', '.bz2': 'bz2'}[comp]\n"
    "    with tarfile.open(fileobj=buf, mode=mode, format=fmt, encoding='utf-8',\n"
    "                      errors='surrogateescape') as t:\n"
    "        for info, data in entries:\n"
    "            t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)\n"
    "    return buf.getvalue()\n"
    "CTL = ('control.tar.gz', tar([d('./'), reg('./control', CONTROL)], '.gz'))\n"
    "BIN = ('debian-binary', b'2.0\\n')\n"
    "def std(entries, comp='.xz', fmt=tarfile.GNU_FORMAT):\n"
    "    return [BIN, CTL, ('data.tar' + comp, tar(entries, comp, fmt))]\n"
    "D = ('data.tar.xz', tar([reg('./a')], '.xz'))\n"
    "def sparse():\n"
    "    os.mkdir('t')\n"
    "    with open('t/s', 'wb') as f:\n"
    "        f.seek(1 << 20)\n"
    "        f.write(b'end')\n"
    "    subprocess.run(['tar', '--format=gnu', '--sparse', '-C', 't', '-cJf', 'd', './s'],\n"
    "                   check=True)\n"
    "    with open('d', 'rb') as f:\n"
    "        return [BIN, CTL, ('data.tar.xz', f.read())]\n"
    "cases = {\n"
    "  'good-bz2': lambda: std([\n"
    "      d('.'), reg('./a/b/file', b'hello\\n', mode=0o640, uid=1000, gid=1001),\n"
    "      hard('./a/link', './a/b/file'), sym('./a/b/up', '../../etc/passwd'),\n"
    "      d('./a/', mode=0o750)], '.bz2'),\n"
    "  'good-pax': lambda: [BIN, ('control.tar', tar([reg('./control', CONTROL),\n"
    "                                        reg('./md5sums', b'')])),\n"
    "               ('_extra', b'ignored'),\n"
    "               ('data.tar', tar([reg('./e\\u0301', b''), reg('./' + 'long/' * 30 + 'name'),\n"
    "                                 sym('./caf\\u00e9', 'e\\u0301')], fmt=tarfile.PAX_FORMAT)),\n"
    "               ('_after', b'ignored')],\n"
    "  'dotdot': lambda: std([d('./'), d('./etc/'), reg('./etc/../../x')]),\n"
    "  'dotdot-inside': lambda: std([reg('./a/../b')]),\n"
    "  'absolute': lambda: std([reg('/etc/x')]),\n"
    "  'empty-component': lambda: std([reg('./a//b')]),\n"
    "  'dot-component': lambda: std([reg('./a/./b')]),\n"
    "  'symlink-escape': lambda: std([d('./usr/'), d('./usr/lib/'),\n"
    "                         sym('./usr/lib/x', '../../../../etc/shadow')]),\n"
    "  'symlink-abs-escape': lambda: std([sym('./x', '/usr/../../etc')]),\n"
    "  'symlink-empty': lambda: std([sym('./x', '')]),\n"
    "  'hardlink-missing': lambda: std([reg('./a'), hard('./b', './missing')]),\n"
    "  'hardlink-outside': lambda: std([reg('./a'), hard('./b', '../etc/passwd')]),\n"
    "  'hardlink-dir': lambda: std([d('./d/'), hard('./b', './d')]),\n"
    "  'hardlink-later': lambda: std([hard('./b', './a'), reg('./a')]),\n"
    "  'chardev': lambda: std([d('./dev/'), ti('./dev/sda', tarfile.CHRTYPE)]),\n"
    "  'blockdev': lambda: std([ti('./dev/sdb', tarfile.BLKTYPE)]),\n"
    "  'fifo': lambda: std([ti('./run/f', tarfile.FIFOTYPE)]),\n"
    "  'duplicate': lambda: std([reg('./a'), reg('./a')]),\n"
    "  'duplicate-dir': lambda: std([d('./d/'), d('d')]),\n"
    "  'below-symlink': lambda: std([sym('./x', '/etc'), reg('./x/passwd')]),\n"
    "  'symlink-over-dir': lambda: std([reg('./x/passwd'), sym('./x', '/etc')]),\n"
    "  'root-symlink': lambda: std([sym('.', '/etc')]),\n"
    "  'non-utf8': lambda: std([reg(b'./bad\\xff')]),\n"
    "  'newline': lambda: std([reg('./a\\nb')]),\n"
    "  'missing-control': lambda: [BIN, D],\n"
    "  'missing-data': lambda: [BIN, CTL],\n"
    "  'no-control-file': lambda: [BIN, ('control.tar.gz', tar([reg('./postinst')], '.gz')), D],\n"
    "  'control-too-big': lambda: [BIN, ('control.tar.gz',\n"
    "                           tar([reg('./control', b'X' * ((4 << 20) + 1))], '.gz')), D],\n"
    "  'wrong-binary': lambda: [('debian-binary', b'3.0\\n'), CTL, D],\n"
    "  'first-member': lambda: [CTL, BIN, D],\n"
    "  'unknown-member': lambda: [BIN, CTL, ('foo', b'x'), D],\n"
    "  'wrong-compression': lambda: [BIN, CTL, ('data.tar.xz', tar([reg('./a')], '.gz'))],\n"
    "  'big': lambda: std([reg('./big', bytes(64 << 20) + b'tail')], '.gz'),\n"
    "  'control-symlink': lambda: [BIN,\n"
    "                              ('control.tar.gz', tar([sym('./control', 'x')], '.gz')), D],\n"
    "  'sparse': sparse,\n"
    "}\n"
    "os.mkdir(case)\n"
    "os.chdir(case)\n"
    "members = cases[case]()\n"
    "for name, data in members:\n"
    "    with open(name, 'wb') as f:\n"
    "        f.write(data)\n"
    "subprocess.run(['ar', 'rc', out] + [name for name, _ in members], check=True)\n";

static int build(const char *c, char **p, size_t *len)
{
	if (!run("cd %s && python3 mk.py %s/%s.deb %s", tmp, tmp, c, c))
		return -1;
	char name[128];
	snprintf(name, sizeof(name), "%s.deb", c);
	return load(name, p, len);
}

static void expect_fail(const char *c, int code, const char *message)
{
	char *p = NULL;
	size_t len = 0;
	if (build(c, &p, &len) < 0) {
		check(!"the package was built");
		return;
	}
	struct pl__deb d;
	memset(&d, 0xa5, sizeof(d));
	struct pl_error *err = NULL;
	int rc = pl__deb_read(p, len, "h.deb", &d, &err);
	check_int(rc, ==, code);
	check_str(pl_error_message(err), message);
	check(d.e == NULL && d.n == 0 && d.control == NULL && d.md5sums == NULL);
	pl_error_free(err);
	pl__deb_release(&d);
	free(p);
}

static void test_hostile(void)
{
	expect_fail("dotdot", PL_EINVAL, "h.deb: data.tar: 'etc/../../x': path leaves the root");
	expect_fail("dotdot-inside", PL_EINVAL, "h.deb: data.tar: 'a/../b': '..' path component");
	expect_fail("absolute", PL_EINVAL, "h.deb: data.tar: '/etc/x': path is absolute");
	expect_fail("empty-component", PL_EINVAL, "h.deb: data.tar: 'a//b': empty path component");
	expect_fail("dot-component", PL_EINVAL, "h.deb: data.tar: 'a/./b': '.' path component");
	expect_fail("symlink-escape", PL_EINVAL,
		    "h.deb: data.tar: 'usr/lib/x': symlink target '../../../../etc/shadow' "
		    "leaves the root");
	expect_fail("symlink-abs-escape", PL_EINVAL,
		    "h.deb: data.tar: 'x': symlink target '/usr/../../etc' leaves the root");
	expect_fail("symlink-empty", PL_EINVAL, "h.deb: data.tar: 'x': empty symlink target");
	expect_fail("hardlink-missing", PL_EINVAL,
		    "h.deb: data.tar: 'b': hardlink target 'missing' is not an earlier regular "
		    "file");
	expect_fail("hardlink-outside", PL_EINVAL,
		    "h.deb: data.tar: 'b': hardlink target '../etc/passwd': path leaves the root");
	expect_fail("hardlink-dir", PL_EINVAL,
		    "h.deb: data.tar: 'b': hardlink target 'd' is not an earlier regular file");
	expect_fail("hardlink-later", PL_EINVAL,
		    "h.deb: data.tar: 'b': hardlink target 'a' is not an earlier regular file");
	expect_fail("chardev", PL_EINVAL,
		    "h.deb: data.tar: 'dev/sda': device nodes are not allowed");
	expect_fail("blockdev", PL_EINVAL,
		    "h.deb: data.tar: 'dev/sdb': device nodes are not allowed");
	expect_fail("fifo", PL_EINVAL, "h.deb: data.tar: 'run/f': fifos are not allowed");
	expect_fail("duplicate", PL_EINVAL, "h.deb: data.tar: 'a': path appears twice");
	expect_fail("duplicate-dir", PL_EINVAL, "h.deb: data.tar: 'd': path appears twice");
	expect_fail("below-symlink", PL_EINVAL,
		    "h.deb: data.tar: 'x/passwd': parent 'x' is not a directory");
	expect_fail("symlink-over-dir", PL_EINVAL,
		    "h.deb: data.tar: 'x': not a directory, but entries are below it");
	expect_fail("root-symlink", PL_EINVAL,
		    "h.deb: data.tar: '.': the root entry is not a directory");
	expect_fail("non-utf8", PL_EINVAL,
		    "h.deb: data.tar: './bad\\xff': path is not valid UTF-8");
	expect_fail("newline", PL_EINVAL, "h.deb: data.tar: 'a\\x0ab': newline in path");
	expect_fail("sparse", PL_EINVAL, "h.deb: data.tar: 's': sparse files are not allowed");
	expect_fail("control-symlink", PL_EINVAL,
		    "h.deb: control.tar: 'control' is not a regular file");
	expect_fail("missing-control", PL_EINVAL, "h.deb: missing 'control.tar' member");
	expect_fail("missing-data", PL_EINVAL, "h.deb: missing 'data.tar' member");
	expect_fail("no-control-file", PL_EINVAL, "h.deb: control.tar: no 'control' file");
	expect_fail("control-too-big", PL_ELIMIT,
		    "h.deb: control.tar: 'control' is larger than 4194304 bytes");
	expect_fail("wrong-binary", PL_EINVAL,
		    "h.deb: not a Debian package: 'debian-binary' is not version 2.x");
	expect_fail("first-member", PL_EINVAL,
		    "h.deb: not a Debian package: first member is 'control.tar.gz', not "
		    "'debian-binary'");
	expect_fail("unknown-member", PL_EINVAL, "h.deb: unexpected member 'foo'");
	expect_fail("wrong-compression", PL_EINVAL,
		    "h.deb: data.tar: member 'data.tar.xz' is not xz-compressed");

	struct pl__deb d;
	struct pl_error *err = NULL;
	check_int(pl__deb_read("Package: x\n", 11, "h.deb", &d, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "h.deb: not a Debian package: not an ar archive");
	pl_error_free(err);
	err = NULL;
	check_int(pl__deb_read(NULL, 0, "h.deb", &d, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "h.deb: not a Debian package: not an ar archive");
	pl_error_free(err);
	err = NULL;
	check_int(pl__deb_read("!<arch>\n", 8, "h.deb", &d, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), "h.deb: not a Debian package: no members");
	pl_error_free(err);
}

static struct pl__deb read_ok(const char *c)
{
	struct pl__deb d = { 0 };
	char *p = NULL;
	size_t len = 0;
	if (build(c, &p, &len) < 0) {
		check(!"the package was built");
		return d;
	}
	struct pl_error *err = NULL;
	int rc = pl__deb_read(p, len, "h.deb", &d, &err);
	check_int(rc, ==, 0);
	if (rc < 0)
		printf("# %s\n", pl_error_message(err));
	pl_error_free(err);
	free(p);
	return d;
}

static void test_handmade_good(void)
{
	/* bzip2; parents implied before their directory entry; numeric owners. */
	struct pl__deb d = read_ok("good-bz2");
	check_str(d.control, "Package: h\nVersion: 1\nArchitecture: all\n");
	check(d.md5sums == NULL && d.md5sums_len == 0);
	static const struct want w[] = {
		{ "a/b/file", PL__DEB_REG, 0640, "hello\n", NULL },
		{ "a/link", PL__DEB_HARDLINK, 0644, NULL, "a/b/file" },
		{ "a/b/up", PL__DEB_SYMLINK, 0777, NULL, "../../etc/passwd" },
		{ "a", PL__DEB_DIR, 0750, NULL, NULL },
	};
	check_entries(&d, w, 4);
	if (d.n == 4) {
		check_int(d.e[0].uid, ==, 1000);
		check_int(d.e[0].gid, ==, 1001);
		check_int(d.e[3].uid, ==, 0);
	}
	pl__deb_release(&d);

	/* Uncompressed members, '_' members skipped, pax names kept as stored
	 * (a decomposed 'e' + U+0301 must not come back composed). */
	d = read_ok("good-pax");
	check_str(d.control, "Package: h\nVersion: 1\nArchitecture: all\n");
	check(d.md5sums != NULL && d.md5sums_len == 0 && d.md5sums && d.md5sums[0] == '\0');
	char lng[256];
	size_t o = 0;
	for (int i = 0; i < 30; i++)
		o += (size_t)snprintf(lng + o, sizeof(lng) - o, "long/");
	snprintf(lng + o, sizeof(lng) - o, "name");
	const struct want w2[] = {
		{ "e\xcc\x81", PL__DEB_REG, 0644, "", NULL },
		{ lng, PL__DEB_REG, 0644, "x", NULL },
		{ "caf\xc3\xa9", PL__DEB_SYMLINK, 0777, NULL, "e\xcc\x81" },
	};
	check_entries(&d, w2, 3);
	pl__deb_release(&d);

	/* Larger than the first allocation for a file's content. */
	d = read_ok("big");
	size_t size = ((size_t)64 << 20) + 4;
	check_int(d.n, ==, 1);
	if (d.n == 1) {
		check_str(d.e[0].path, "big");
		check_int(d.e[0].size, ==, size);
		bool zero = true;
		for (size_t i = 0; i < size - 4; i++)
			zero = zero && d.e[0].data[i] == 0;
		check(zero);
		check(!memcmp(d.e[0].data + size - 4, "tail", 5));
	}
	pl__deb_release(&d);
}

int main(void)
{
	umask(022);
	if (!mkdtemp(tmp)) {
		check(!"mkdtemp");
		return tap_done();
	}
	/* Missing tools fail loudly: these tests must not pass by not running. */
	check(run("dpkg-deb --version >/dev/null"));
	check(run("ar --version >/dev/null"));
	check(run("python3 -c 'import tarfile, lzma, bz2, gzip'"));
	put("mk.py", mk_py, strlen(mk_py), 0644);

	make_tree();
	test_dpkg_deb("xz");
	test_dpkg_deb("zstd");
	test_dpkg_deb("gzip");
	test_dpkg_deb("none");
	test_handmade_good();
	test_hostile();

	free(big);
	pl__remove_tree(AT_FDCWD, tmp);
	return tap_done();
}
