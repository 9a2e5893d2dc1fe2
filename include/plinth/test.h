/*
 * plinth/test.h - run a recipe's black-box tests in its image, with runc.
 *
 * The image's filesystem is unpacked once into a private directory (mode
 * 0700 under `tmpdir`) and each test runs in it as a runc container: its
 * `run` as the whole command line, as the image's User (a name resolved in
 * the image's /etc/passwd and /etc/group), with its Env and WorkingDir,
 * standard input empty.  The sandbox: the root read-only, /tmp a fresh
 * tmpfs, new pid, network (loopback only), ipc, uts, mount and cgroup
 * namespaces, no new privileges, no capabilities for a user other than
 * root (runc's small default set for root), runc's masked and read-only
 * paths.  A test passes when its exit status is the expected one and its
 * standard output and error match its regular expressions (POSIX
 * extended, anywhere in the output; at most 1 MiB of each is kept).  A
 * test still running after its timeout is killed and fails.
 *
 * The report is TAP ("1..N", "ok 1 - run: ...", "not ok 2 - ..." followed
 * by "# " lines saying what differed), handed over line by line.  Every
 * container is deleted and the directory removed when the run ends,
 * failed or cancelled.  Running runc needs root: a run without it fails
 * before doing anything.
 */
#ifndef PLINTH_TEST_H
#define PLINTH_TEST_H

#include "plinth/build.h"
#include "plinth/common.h"
#include "plinth/recipe.h"

/* The outcome of one test; everything is borrowed for the callback. */
struct pl_test_result {
	unsigned number;        /* 1-based, as in the report */
	const char *const *run; /* the command line */
	size_t nrun;
	bool ok;
	unsigned timeout; /* the seconds it was given */
	bool timed_out;   /* ...and it ran longer, so it was killed */
	int exit_status;  /* runc's: the program's, or 128 + the signal that ended it */
	int expect_exit;  /* what the test wanted */
	const char *expect_stdout, *expect_stderr; /* NULL: not checked */
	bool stdout_ok, stderr_ok;                 /* matched (or not checked) */
	/* What it wrote, made valid UTF-8 (other bytes become U+FFFD). */
	const char *stdout_text, *stderr_text;
	size_t stdout_len, stderr_len;
	bool stdout_truncated, stderr_truncated; /* more than 1 MiB was written */
	uint64_t milliseconds;                   /* how long it ran */
};

struct pl_test_options {
	/* The runc to run: a path (with a '/'), or NULL for "runc" looked up
	 * in `path`. */
	const char *runc;
	/* Where to look for runc: a PATH value; NULL for the usual system
	 * directories. */
	const char *path;
	/* Where the private working directory is made; NULL for /tmp. */
	const char *tmpdir;
	/* Seconds every test may run, instead of its own `timeout` (30 when
	 * it has none); 0 keeps each test's own. */
	unsigned timeout;
	/* When non-NULL and it becomes non-zero (a signal handler sets it),
	 * the running test is killed, everything is cleaned up and the run
	 * fails. */
	const volatile int *cancel;
	/* Each line of the TAP report, without its newline; may be NULL. */
	void (*tap)(void *ctx, const char *line);
	void *tap_ctx;
	/* Each test's outcome as it ends; may be NULL. */
	void (*result)(void *ctx, const struct pl_test_result *res);
	void *result_ctx;
};

/**
 * Build `r` with the options `bo` into a temporary OCI layout (bo->layout
 * is ignored) and run its tests in the image.  A recipe without tests is
 * reported as "1..0 # SKIP ..." and builds nothing.
 *
 * @return 0 when the tests ran, with *failed set to how many failed; a
 *         negative pl_code with *err set when the build, the unpacking or
 *         runc failed or the run was cancelled.
 */
int pl_test_recipe(const struct pl_recipe *r, const struct pl_build_options *bo,
		   const struct pl_test_options *o, unsigned *failed, struct pl_error **err);

/**
 * Run tests in the image `tag` of the OCI layout `dir`: those of `r` when
 * it is not NULL, else those stored beside the image (the artifact
 * `plinth build` writes, whose subject is the image); an image that has
 * none is an error that says so.
 *
 * @return as pl_test_recipe().
 */
int pl_test_image(const char *dir, const char *tag, const struct pl_recipe *r,
		  const struct pl_test_options *o, unsigned *failed, struct pl_error **err);

#endif
