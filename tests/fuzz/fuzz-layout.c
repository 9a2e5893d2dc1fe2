/*
 * fuzz-layout.c - libFuzzer target for the OCI layout reader.
 *
 * The input is DIR/oci-layout and DIR/index.json separated by the first NUL
 * byte; without a NUL it is all index.json, next to a valid oci-layout.
 * pl__layout_open() validates both and starts a transaction (a staging
 * directory inside DIR) that pl__layout_free() aborts.
 *
 * DIR is one directory per process under $TMPDIR (default /tmp), made on
 * the first input and reused.  After every input DIR must hold exactly the
 * two files written: a staging directory left behind is a leak, and aborts
 * so that libFuzzer reports it.  DIR itself is removed at exit; a crash
 * leaves it behind, which is why ci/fuzz points TMPDIR at its own scratch.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char valid_oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static char dir[4096];
static int dir_fd = -1;

static void remove_dir(void)
{
	if (dir_fd >= 0) {
		pl__remove_tree(AT_FDCWD, dir);
		close(dir_fd);
		dir_fd = -1;
	}
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int n = snprintf(dir, sizeof(dir), "%s/plinth-fuzz-layout-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(dir) || !mkdtemp(dir)) {
		fprintf(stderr, "fuzz-layout: cannot create a directory under '%s'\n", tmp);
		abort();
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		abort();
	atexit(remove_dir);
}

static void put(const char *name, const void *p, size_t n)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pl__write_all(fd, p, n) < 0 || close(fd) < 0) {
		fprintf(stderr, "fuzz-layout: cannot write '%s/%s'\n", dir, name);
		abort();
	}
}

/* DIR must be back to oci-layout and index.json, nothing else. */
static void check_clean(void)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d)
		abort();
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		if (strcmp(s, ".") && strcmp(s, "..") && strcmp(s, "oci-layout") &&
		    strcmp(s, "index.json")) {
			fprintf(stderr, "fuzz-layout: '%s/%s' left behind\n", dir, s);
			abort();
		}
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir_fd < 0)
		setup();
	const uint8_t *nul = size ? memchr(data, '\0', size) : NULL;
	if (nul) {
		size_t head = (size_t)(nul - data);
		put("oci-layout", data, head);
		put("index.json", nul + 1, size - head - 1);
	} else {
		put("oci-layout", valid_oci_layout, sizeof(valid_oci_layout) - 1);
		put("index.json", size ? data : (const uint8_t *)"", size);
	}

	struct pl__layout *l = NULL;
	struct pl_error *err = NULL;
	int rc = pl__layout_open(dir, &l, &err);
	/* The error contract of plinth/common.h. */
	if (rc == 0 && (!l || err))
		abort();
	if (rc != 0 && (rc > 0 || l || !err || pl_error_code(err) != rc))
		abort();
	pl__layout_free(l);
	pl_error_free(err);
	check_clean();
	return 0;
}
