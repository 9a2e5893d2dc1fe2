/* runtest.c - a recipe's black-box tests, carried as JSON and run in the image with runc (see
 * runtest.h and plinth/test.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "oci.h"
#include "runtest.h"
#include "unpack.h"

#define DEFAULT_PATH  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOSTNAME      "plinth-test"
#define POLL_MS       100   /* how often a running test is looked at */
#define KILL_EVERY_MS 1000  /* runc kill, again, until runc run ends */
#define KILL_GRACE_MS 10000 /* then runc run is killed itself */
#define DRAIN_MS      2000  /* output still read after runc run ended */
#define RUNC_CMD_MS   30000 /* runc kill, runc delete */
#define DIAG_LINES    10    /* lines of each output shown for a failed test */
#define DIAG_WIDTH    200   /* bytes of a line shown */
#define NAME_WIDTH    200   /* bytes of a test's name */
#define REMOVE_DEPTH  64    /* directory levels open at once while removing */

/* ---- the tests as JSON --------------------------------------------------- */

char *pl__tests_to_json(const struct pl_recipe *r, struct pl_error **err)
{
	json_t *all = json_array();
	bool bad = !all;
	for (size_t i = 0; !bad && i < r->ntests; i++) {
		const struct pl__test *t = &r->tests[i];
		json_t *o = json_object();
		bad =
		    !o || json_array_append_new(all, o) < 0 ||
		    json_object_set_new(o, "run", pl__json_strings(t->run.v, t->run.n)) < 0 ||
		    json_object_set_new(o, "expect-exit", json_integer(t->expect_exit)) < 0 ||
		    (t->expect_stdout &&
		     json_object_set_new(o, "expect-stdout", json_string(t->expect_stdout)) < 0) ||
		    (t->expect_stderr &&
		     json_object_set_new(o, "expect-stderr", json_string(t->expect_stderr)) < 0) ||
		    (t->timeout && json_object_set_new(o, "timeout", json_integer(t->timeout)) < 0);
	}
	cleanup_json json_t *doc = all ? json_pack("{s:o}", "tests", all) : NULL;
	char *s = bad || !doc ? NULL : pl__json_canonical(doc);
	if (!s)
		pl__error_nomem(err);
	return s;
}

void pl__tests_free(struct pl__test *tests, size_t n)
{
	for (size_t i = 0; tests && i < n; i++) {
		for (size_t k = 0; k < tests[i].run.n; k++)
			free(tests[i].run.v[k]);
		free(tests[i].run.v);
		free(tests[i].expect_stdout);
		free(tests[i].expect_stderr);
	}
	free(tests);
}

static const char *const test_keys[] = {
	"run", "expect-exit", "expect-stdout", "expect-stderr", "timeout", NULL,
};

/* What a test expects of an output: checked as the recipe's are. */
static int check_regex(const char *key, const char *re, struct pl_error **err)
{
	const char *why_not = pl__regex_too_costly(re);
	if (why_not)
		return pl__error_set(err, PL_EINVAL, 0, "'%s' is refused: %s", key, why_not);
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&rx);
		return 0;
	}
	char why[256];
	regerror(rc, &rx, why, sizeof(why));
	return pl__error_set(err, PL_EINVAL, 0,
			     "'%s' is not a valid extended regular expression: %s", key, why);
}

static int int_in(const json_t *j, const char *key, json_int_t lo, json_int_t hi, json_int_t *out,
		  struct pl_error **err)
{
	if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'%s' must be a whole number from %lld to %lld", key,
				     (long long)lo, (long long)hi);
	*out = json_integer_value(j);
	return 0;
}

static int regex_key(const json_t *o, const char *key, char **out, struct pl_error **err)
{
	const json_t *j = json_object_get(o, key);
	if (!j)
		return 0;
	if (!json_is_string(j))
		return pl__error_set(err, PL_EINVAL, 0, "'%s' must be a string", key);
	int rc = check_regex(key, json_string_value(j), err);
	if (rc < 0)
		return rc;
	return (*out = pl__strdup(json_string_value(j), err)) ? 0 : PL_ENOMEM;
}

static int test_from_json(const json_t *o, struct pl__test *t, struct pl_error **err)
{
	if (!json_is_object(o))
		return pl__error_set(err, PL_EINVAL, 0, "not an object");
	const char *key;
	const json_t *v;
	json_object_foreach ((json_t *)o, key, v) {
		const char *const *k = test_keys;
		while (*k && strcmp(*k, key))
			k++;
		if (!*k)
			return pl__error_set(err, PL_EINVAL, 0, "unknown key '%s'", key);
	}
	const json_t *run = json_object_get(o, "run");
	if (!json_is_array(run) || json_array_size(run) == 0 ||
	    json_array_size(run) > PL__TEST_ARGS_MAX)
		return pl__error_set(err, PL_EINVAL, 0,
				     "'run' must be a list of 1 to %d strings, the program first",
				     PL__TEST_ARGS_MAX);
	if (!(t->run.v = pl__calloc(json_array_size(run), sizeof(*t->run.v), err)))
		return PL_ENOMEM;
	t->run.set = true;
	size_t i;
	json_array_foreach (run, i, v) {
		if (!json_is_string(v) || (i == 0 && !json_string_length(v)))
			return pl__error_set(err, PL_EINVAL, 0,
					     "'run' must be a list of 1 to %d strings, the program "
					     "first",
					     PL__TEST_ARGS_MAX);
		if (!(t->run.v[t->run.n++] = pl__strdup(json_string_value(v), err)))
			return PL_ENOMEM;
	}
	json_int_t n = 0;
	int rc;
	if ((v = json_object_get(o, "expect-exit"))) {
		if ((rc = int_in(v, "expect-exit", 0, 255, &n, err)) < 0)
			return rc;
		t->expect_exit = (int)n;
	}
	if ((v = json_object_get(o, "timeout"))) {
		if ((rc = int_in(v, "timeout", 1, PL__TEST_TIMEOUT_MAX, &n, err)) < 0)
			return rc;
		t->timeout = (unsigned)n;
	}
	if ((rc = regex_key(o, "expect-stdout", &t->expect_stdout, err)) < 0 ||
	    (rc = regex_key(o, "expect-stderr", &t->expect_stderr, err)) < 0)
		return rc;
	return 0;
}

static int tests_from_json(const char *data, size_t len, struct pl__test **tests, size_t *n,
			   struct pl_error **err)
{
	if (len > PL__TESTS_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "more than %zu bytes", PL__TESTS_MAX);
	cleanup_json json_t *j = NULL;
	int rc = pl__json_parse("JSON", data, len, &j, err);
	if (rc < 0)
		return rc;
	const char *key;
	json_t *v;
	if (!json_is_object(j))
		return pl__error_set(err, PL_EINVAL, 0, "not a JSON object");
	json_object_foreach (j, key, v)
		if (strcmp(key, "tests"))
			return pl__error_set(err, PL_EINVAL, 0, "unknown key '%s'", key);
	const json_t *all = json_object_get(j, "tests");
	if (!json_is_array(all))
		return pl__error_set(err, PL_EINVAL, 0, "'tests' must be a list");
	size_t count = json_array_size(all);
	if (count > PL__TESTS_N_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "more than %d tests", PL__TESTS_N_MAX);
	struct pl__test *v_out = count ? pl__calloc(count, sizeof(*v_out), err) : NULL;
	if (count && !v_out)
		return PL_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		if ((rc = test_from_json(json_array_get(all, i), &v_out[i], err)) < 0) {
			pl__tests_free(v_out, count);
			return pl__error_wrap(err, rc, "tests[%zu]", i);
		}
	}
	*tests = v_out;
	*n = count;
	return 0;
}

int pl__tests_from_json(const char *data, size_t len, struct pl__test **tests, size_t *n,
			struct pl_error **err)
{
	int rc = tests_from_json(data, len, tests, n, err);
	return rc < 0 ? pl__error_wrap(err, rc, "the tests") : 0;
}

/* ---- text fit to show ------------------------------------------------------ */

/* `n` bytes of `p` as valid UTF-8: NUL and bytes that are not UTF-8
 * become U+FFFD. */
static int valid_text(const char *p, size_t n, struct pl_buf *out, struct pl_error **err)
{
	int rc = pl_buf_init(out, 0, err);
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; rc == 0 && i < n;) {
		size_t k = s[i] ? pl__utf8_seq(s + i, n - i) : 0;
		rc = k ? pl_buf_add(out, s + i, k, err) : pl_buf_adds(out, "\xef\xbf\xbd", err);
		i += k ? k : 1;
	}
	return rc;
}

/* ---- running runc -------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Start `argv` (argv[0] the runc to run) in a process group of its own
 * (a ^C meant for plinth must not reach it: plinth kills it in order),
 * with standard input /dev/null and its output into `out` and `errfd` (-1:
 * /dev/null).  The environment is fixed: runc needs nothing from ours. */
static int spawn(char *const *argv, int out, int errfd, pid_t *pid, struct pl_error **err)
{
	static char *const env[] = { "PATH=" DEFAULT_PATH, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return pl__error_set(err, PL_ESYS, rc, "cannot start '%s'", argv[0]);
	if ((rc = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return pl__error_set(err, PL_ESYS, rc, "cannot start '%s'", argv[0]);
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGPIPE);
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = out >= 0 ? posix_spawn_file_actions_adddup2(&fa, out, 1)
			      : posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!rc)
		rc = errfd >= 0
			 ? posix_spawn_file_actions_adddup2(&fa, errfd, 2)
			 : posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (!rc)
		rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						       POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawnattr_setpgroup(&at, 0);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&at, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&at, &dfl);
	if (!rc)
		rc = posix_spawn(pid, argv[0], &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return pl__error_set(err, PL_ESYS, rc, "cannot start '%s'", argv[0]);
	return 0;
}

/* runc's exit status as the shell gives it: 128 + the signal that ended it. */
static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Wait at most `ms` for `pid`: true when it ended (*status set). */
static bool wait_ms(pid_t pid, uint64_t ms, int *status)
{
	uint64_t until = now_ms() + ms;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (now_ms() >= until)
			return false;
		nanosleep(&(struct timespec){ 0, 10 * 1000000 }, NULL);
	}
}

/* Run a runc command that should be quick (kill, delete), output
 * dropped; -1 when it could not be started or had to be killed. */
static int runc_quick(char *const *argv)
{
	pid_t pid;
	int status = 0;
	if (spawn(argv, -1, -1, &pid, NULL) < 0)
		return -1;
	if (!wait_ms(pid, RUNC_CMD_MS, &status)) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	return exit_status(status);
}

/* ---- one run: the work directory, the bundle, the spec ------------------- */

struct runner {
	const struct pl_test_options *o;
	char runc[PL_PATH_MAX + 1];
	char *work;   /* the private directory: removed at the end */
	char *state;  /* runc --root */
	char *bundle; /* config.json and rootfs */
	int bundlefd;
	json_t *spec;
	unsigned seq; /* containers started */
};

/*
 * Remove at/name and what is below it, holding one descriptor per
 * level down to REMOVE_DEPTH: a directory deeper than that (an image may
 * nest thousands, more than a process may have open) is moved up into
 * `top` as ".deep.N" instead, for a later pass.  *moved counts those.
 */
static void remove_level(int top, int at, const char *name, unsigned depth, unsigned *moved)
{
	if (depth >= REMOVE_DEPTH) {
		char to[32];
		snprintf(to, sizeof(to), ".deep.%u", *moved);
		if (renameat(at, name, top, to) == 0)
			++*moved;
		return;
	}
	DIR *d = pl__opendirat(at, name);
	if (!d) {
		if (errno == ENOTDIR || errno == ELOOP)
			unlinkat(at, name, 0);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			remove_level(top, dirfd(d), de->d_name, depth + 1, moved);
		else
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

/* Remove the work directory, however deep the image nested. */
static void remove_work(const char *work)
{
	int top = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return;
	unsigned moved = 0, before;
	do {
		before = moved;
		DIR *d = pl__opendirat(top, ".");
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_level(top, top, de->d_name, 1, &moved);
		if (d)
			closedir(d);
	} while (moved != before);
	close(top);
	rmdir(work);
}

static void runner_release(struct runner *R)
{
	if (R->bundlefd >= 0)
		close(R->bundlefd);
	if (R->work)
		remove_work(R->work);
	free(R->work);
	free(R->state);
	free(R->bundle);
	json_decref(R->spec);
}
#define cleanup_runner __attribute__((cleanup(runner_release)))

static int tap(const struct runner *R, const char *fmt, ...) PL__PRINTF(2, 3);
static int tap(const struct runner *R, const char *fmt, ...)
{
	if (!R->o->tap)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PL_ENOMEM;
	R->o->tap(R->o->tap_ctx, line);
	free(line);
	return 0;
}

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Root, and a runc to run, before anything is built or unpacked. */
static int preflight(const struct pl_test_options *o, char *runc, size_t size,
		     struct pl_error **err)
{
	if (geteuid() != 0)
		return pl__error_set(err, PL_EPOLICY, 0, "plinth test needs root to run runc");
	const char *name = o->runc ? o->runc : "runc";
	if (strchr(name, '/')) {
		if (!executable(name))
			return pl__error_set(err, PL_EINVAL, 0,
					     "cannot run runc '%s': it is not an executable file",
					     name);
		if ((size_t)snprintf(runc, size, "%s", name) >= size)
			return pl__error_set(err, PL_ELIMIT, 0, "the path of runc is too long");
		return 0;
	}
	const char *path = o->path && *o->path ? o->path : DEFAULT_PATH;
	for (const char *p = path;; p += strcspn(p, ":") + 1) {
		int len = (int)strcspn(p, ":");
		/* an empty entry is the current directory, as for execvp() */
		int n = snprintf(runc, size, "%.*s/%s", len ? len : 1, len ? p : ".", name);
		if (n > 0 && (size_t)n < size && executable(runc))
			return 0;
		if (!p[len])
			break;
	}
	return pl__error_set(err, PL_EINVAL, 0,
			     "runc is not installed: no '%s' in PATH (install runc, or give its "
			     "path with --runc)",
			     name);
}

/* Whether `s` (UTF-8, from jansson) is fit for a message: no C0, DEL or
 * C1 control characters, which an image could aim at a terminal. */
static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return false;
	return true;
}

static bool parse_id(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10 || strspn(s, "0123456789") < n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static const struct pl__account *find_account(const struct pl__account *v, size_t n,
					      const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i].name) == len && !memcmp(v[i].name, name, len))
			return &v[i];
	return NULL;
}

/* The image's User ("", "name", "uid", "uid:gid", "name:group" ...) as
 * numbers, names from the image's /etc/passwd and /etc/group.  A user
 * without a group takes the one its passwd line names (0 for a uid it
 * does not have), as docker does. */
static int resolve_user(const struct pl__baseimg *fs, const char *user, uint32_t *uid,
			uint32_t *gid, struct pl_error **err)
{
	*uid = *gid = 0;
	if (!user || !*user)
		return 0;
	struct pl__account *users = NULL, *groups = NULL;
	size_t nusers = 0, ngroups = 0;
	int rc = pl__baseimg_accounts(fs, false, &users, &nusers, err);
	if (rc == 0)
		rc = pl__baseimg_accounts(fs, true, &groups, &ngroups, err);
	const char *colon = strchr(user, ':');
	size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
	const struct pl__account *a = NULL;
	if (rc == 0 && !parse_id(user, ulen, uid)) {
		if (!(a = find_account(users, nusers, user, ulen)))
			rc = pl__error_set(err, PL_EINVAL, 0,
					   "the image's user '%s' is not in its /etc/passwd", user);
		else
			*uid = a->id;
	} else if (rc == 0) {
		for (size_t i = 0; !a && i < nusers; i++)
			a = users[i].id == *uid ? &users[i] : NULL;
	}
	if (rc == 0 && a)
		*gid = a->gid;
	if (rc == 0 && colon && !parse_id(colon + 1, strlen(colon + 1), gid)) {
		const struct pl__account *g =
		    find_account(groups, ngroups, colon + 1, strlen(colon + 1));
		if (g)
			*gid = g->gid;
		else
			rc = pl__error_set(err, PL_EINVAL, 0,
					   "the image's user '%s': group '%s' is not in its "
					   "/etc/group",
					   user, colon + 1);
	}
	pl__accounts_free(users, nusers);
	pl__accounts_free(groups, ngroups);
	return rc;
}

/* The mounts `runc spec` gives, without the cgroup filesystem, and a
 * writable /tmp under the read-only root.  Options are comma-separated. */
static const struct {
	const char *destination, *type, *source, *options;
} spec_mounts[] = {
	{ "/proc", "proc", "proc", NULL },
	{ "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k" },
	{ "/dev/pts", "devpts", "devpts",
	  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5" },
	{ "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k" },
	{ "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev" },
	{ "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro" },
	{ "/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777,size=65536k" },
};

/* As `runc spec` has them. */
static const char *const spec_masked[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/sys/firmware",
	"/proc/scsi",
	NULL,
};
static const char *const spec_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};
#define PIDS_MAX   1024               /* processes a test may have at once */
#define MEMORY_MAX ((int64_t)2 << 30) /* bytes of memory (and swap) it may use */

/*
 * Seccomp: everything but what a test has no business calling and the
 * kernel's riskiest surfaces, refused with EPERM: new namespaces (user
 * namespaces above all; clone is refused only with CLONE_NEWUSER, so
 * fork and threads work), keyrings, BPF, perf, userfaultfd, modules,
 * mounts, tracing other processes, the clock, reboot, io_uring.  clone3
 * is ENOSYS, as its flags are out of a filter's reach: libc falls back to
 * clone.
 */
static const char *const spec_denied[] = {
	"unshare",
	"setns",
	"keyctl",
	"add_key",
	"request_key",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"init_module",
	"finit_module",
	"delete_module",
	"kexec_load",
	"kexec_file_load",
	"mount",
	"umount2",
	"pivot_root",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"open_by_handle_at",
	"name_to_handle_at",
	"swapon",
	"swapoff",
	"reboot",
	"acct",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"iopl",
	"ioperm",
	"quotactl",
	"lookup_dcookie",
	"syslog",
	"vhangup",
	"fsopen",
	"fsmount",
	"move_mount",
	"open_tree",
	"fspick",
	"fsconfig",
	"mount_setattr",
	"pidfd_getfd",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	NULL,
};
#define CLONE_NEWUSER_FLAG 0x10000000 /* <sched.h>'s CLONE_NEWUSER */
/* The machine's syscall ABIs, so that none goes around the filter. */
static const char *const spec_arches[] = {
#if defined(__x86_64__)
	"SCMP_ARCH_X86_64",
	"SCMP_ARCH_X86",
	"SCMP_ARCH_X32",
#elif defined(__aarch64__)
	"SCMP_ARCH_AARCH64",
	"SCMP_ARCH_ARM",
#endif
	NULL,
};

static const char *const spec_namespaces[] = {
	"pid", "network", "ipc", "uts", "mount", "cgroup", NULL,
};
/* runc's default set, for root only. */
static const char *const spec_caps[] = {
	"CAP_AUDIT_WRITE",
	"CAP_KILL",
	"CAP_NET_BIND_SERVICE",
	NULL,
};

/* A JSON list of the strings of `v` (NULL-terminated); with `key`, of
 * objects {key: string}. */
static json_t *list(const char *const *v, const char *key)
{
	json_t *a = json_array();
	for (; a && *v; v++)
		if (json_array_append_new(a, key ? json_pack("{s:s}", key, *v) : json_string(*v)) <
		    0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *seccomp(void)
{
	return json_pack(
	    "{s:s, s:o, s:[{s:o, s:s, s:i}, {s:[s], s:s, s:i, s:[{s:i, s:I, s:I, s:s}]}, "
	    "{s:[s], s:s, s:i}]}",
	    "defaultAction", "SCMP_ACT_ALLOW", "architectures", list(spec_arches, NULL), "syscalls",
	    "names", list(spec_denied, NULL), "action", "SCMP_ACT_ERRNO", "errnoRet", 1, "names",
	    "clone", "action", "SCMP_ACT_ERRNO", "errnoRet", 1, "args", "index", 0, "value",
	    (json_int_t)CLONE_NEWUSER_FLAG, "valueTwo", (json_int_t)CLONE_NEWUSER_FLAG, "op",
	    "SCMP_CMP_MASKED_EQ", "names", "clone3", "action", "SCMP_ACT_ERRNO", "errnoRet", 38);
}

static json_t *mounts(void)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < sizeof(spec_mounts) / sizeof(*spec_mounts); i++) {
		json_t *m = json_pack("{s:s, s:s, s:s}", "destination", spec_mounts[i].destination,
				      "type", spec_mounts[i].type, "source", spec_mounts[i].source);
		json_t *opts = spec_mounts[i].options ? json_array() : NULL;
		for (const char *o = spec_mounts[i].options; opts && o && *o;) {
			size_t n = strcspn(o, ",");
			if (json_array_append_new(opts, json_stringn(o, n)) < 0) {
				json_decref(opts);
				opts = NULL;
			}
			o += n + (o[n] == ',');
		}
		if (!m) {
			json_decref(opts);
			json_decref(a);
			return NULL;
		}
		/* both take their value, also when they fail */
		int rc = spec_mounts[i].options ? json_object_set_new(m, "options", opts) : 0;
		if (rc < 0)
			json_decref(m);
		if (rc < 0 || json_array_append_new(a, m) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* No capabilities at all for a user other than root: runc would leave
 * them all when the spec named none. */
static json_t *capabilities(bool root)
{
	static const char *const none[] = { NULL };
	const char *const *v = root ? spec_caps : none;
	return json_pack("{s:o, s:o, s:o, s:o}", "bounding", list(v, NULL), "effective",
			 list(v, NULL), "permitted", list(v, NULL), "ambient", list(v, NULL));
}

/* The image's Env, with the PATH docker would give when it has none. */
static int environment(const json_t *cfg, json_t **out, struct pl_error **err)
{
	const json_t *env = json_object_get(cfg, "Env");
	if (env && !json_is_array(env))
		return pl__error_set(err, PL_EINVAL, 0, "the image's Env is not a list");
	cleanup_json json_t *v = json_array();
	bool path = false;
	size_t i;
	const json_t *e;
	json_array_foreach (env, i, e) {
		const char *s = json_string_value(e);
		if (!s || !strchr(s, '=') || *s == '=')
			return pl__error_set(err, PL_EINVAL, 0,
					     "the image's Env[%zu] is not NAME=VALUE", i);
		path |= !strncmp(s, "PATH=", 5);
		if (!v || json_array_append_new(v, json_string(s)) < 0)
			return pl__error_nomem(err);
	}
	if (!path && (!v || json_array_append_new(v, json_string("PATH=" DEFAULT_PATH)) < 0))
		return pl__error_nomem(err);
	*out = steal_pointer(&v);
	return 0;
}

/* The runtime spec every test of the run shares; process.args is set
 * per test. */
static int make_spec(struct runner *R, const json_t *config, const struct pl__baseimg *fs,
		     struct pl_error **err)
{
	const json_t *cfg = json_object_get(config, "config");
	if (cfg && !json_is_object(cfg))
		return pl__error_set(err, PL_EINVAL, 0, "the image's config is not an object");
	const json_t *user = json_object_get(cfg, "User");
	const json_t *wd = json_object_get(cfg, "WorkingDir");
	if ((user && !json_is_string(user)) || (wd && !json_is_string(wd)))
		return pl__error_set(err, PL_EINVAL, 0,
				     "the image's User and WorkingDir must be strings");
	if ((user && !printable(json_string_value(user))) ||
	    (wd && !printable(json_string_value(wd))))
		return pl__error_set(err, PL_EINVAL, 0,
				     "the image's User or WorkingDir holds a control character");
	const char *cwd = wd && *json_string_value(wd) ? json_string_value(wd) : "/";
	if (*cwd != '/')
		return pl__error_set(err, PL_EINVAL, 0,
				     "the image's WorkingDir '%s' is not an absolute path", cwd);
	uint32_t uid, gid;
	json_t *env = NULL;
	int rc = resolve_user(fs, json_string_value(user), &uid, &gid, err);
	if (rc < 0 || (rc = environment(cfg, &env, err)) < 0)
		return rc;
	json_t *process = json_pack(
	    "{s:b, s:{s:I, s:I}, s:[], s:o, s:s, s:o, s:[{s:s, s:I, s:I}], s:b}", "terminal", 0,
	    "user", "uid", (json_int_t)uid, "gid", (json_int_t)gid, "args", "env", env, "cwd", cwd,
	    "capabilities", capabilities(uid == 0), "rlimits", "type", "RLIMIT_NOFILE", "hard",
	    (json_int_t)1024, "soft", (json_int_t)1024, "noNewPrivileges", 1);
	/* a test is untrusted: no devices, and bounded processes and memory
	 * (a fork bomb or a leak stops at the limit, not the host) */
	json_t *lnx = json_pack(
	    "{s:{s:[{s:b, s:s}], s:{s:I}, s:{s:I, s:I}}, s:o, s:o, s:o, s:o}", "resources",
	    "devices", "allow", 0, "access", "rwm", "pids", "limit", (json_int_t)PIDS_MAX, "memory",
	    "limit", (json_int_t)MEMORY_MAX, "swap", (json_int_t)MEMORY_MAX, "namespaces",
	    list(spec_namespaces, "type"), "maskedPaths", list(spec_masked, NULL), "readonlyPaths",
	    list(spec_readonly, NULL), "seccomp", seccomp());
	R->spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2",
			    "process", process, "root", "path", "rootfs", "readonly", 1, "hostname",
			    HOSTNAME, "mounts", mounts(), "linux", lnx);
	return R->spec ? 0 : pl__error_nomem(err);
}

/* The work directory, the unpacked image and the spec. */
static int setup(struct runner *R, const struct pl__blob_source *src, const json_t *layers,
		 const json_t *config, struct pl_error **err)
{
	const char *os = json_string_value(json_object_get(config, "os"));
	const char *arch = json_string_value(json_object_get(config, "architecture"));
	if (!os || !arch || strcmp(os, "linux") || strcmp(arch, PL_ARCH))
		return pl__error_set(err, PL_EINVAL, 0,
				     "the image is for '%s/%s', it cannot run on this 'linux/%s'",
				     os ? os : "?", arch ? arch : "?", PL_ARCH);
	const char *tmpdir = R->o->tmpdir && *R->o->tmpdir ? R->o->tmpdir : "/tmp";
	if (!(R->work = pl__asprintf(err, "%s/plinth-test.XXXXXX", tmpdir)))
		return PL_ENOMEM;
	if (!mkdtemp(R->work)) {
		int e = errno;
		free(R->work);
		R->work = NULL;
		return pl__error_set(err, PL_ESYS, e, "cannot make a directory in '%s'", tmpdir);
	}
	cleanup_free char *rootfs = pl__asprintf(err, "%s/bundle/rootfs", R->work);
	if (!rootfs || !(R->state = pl__asprintf(err, "%s/state", R->work)) ||
	    !(R->bundle = pl__asprintf(err, "%s/bundle", R->work)))
		return PL_ENOMEM;
	/* the image's root is 0755 whatever the umask: its user must get in */
	if (mkdir(R->state, 0700) < 0 || mkdir(R->bundle, 0700) < 0 || mkdir(rootfs, 0755) < 0 ||
	    chmod(rootfs, 0755) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot make directories in '%s'",
				     R->work);
	if ((R->bundlefd = open(R->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return pl__error_set(err, PL_ESYS, errno, "cannot open '%s'", R->bundle);
	cleanup_baseimg struct pl__baseimg *fs = NULL;
	int rc = pl__unpack_fs(src, layers, rootfs, R->o->cancel, &fs, err);
	if (rc < 0)
		return rc;
	return make_spec(R, config, fs, err);
}

/* ---- one test ------------------------------------------------------------ */

/* What a test wrote on one of its outputs. */
struct capture {
	int fd; /* read end, -1 once closed */
	struct pl_buf buf;
	bool truncated;
};

static void capture_release(struct capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	pl_buf_release(&c->buf);
}

/* Read what is there (one read: a test that writes without end must not
 * keep the loop from its deadline); past PL__TEST_OUT_MAX, drop it. */
static void capture_read(struct capture *c)
{
	char chunk[65536];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	size_t room = c->buf.max - c->buf.len, take = (size_t)n < room ? (size_t)n : room;
	if (take < (size_t)n || (take && pl_buf_add(&c->buf, chunk, take, NULL) < 0))
		c->truncated = true;
}

struct outcome {
	int status; /* runc's exit status */
	bool timed_out, cancelled;
	uint64_t ms;
};

/* Run `args` in a fresh container, its output into `out` and `errc`, for at
 * most `timeout` seconds. */
static int run_container(struct runner *R, const struct pl__test *t, unsigned timeout,
			 struct capture *out, struct capture *errc, struct outcome *res,
			 struct pl_error **err)
{
	json_t *args = pl__json_strings(t->run.v, t->run.n);
	if (!args || json_object_set_new(json_object_get(R->spec, "process"), "args", args) < 0)
		return pl__error_nomem(err);
	cleanup_free char *text = json_dumps(R->spec, JSON_SORT_KEYS | JSON_INDENT(1));
	if (!text)
		return pl__error_nomem(err);
	int rc = pl__write_file_replace(R->bundlefd, "config.json", text, strlen(text), 0600, err);
	if (rc < 0)
		return rc;
	char id[64];
	snprintf(id, sizeof(id), "plinth-test-%ld-%u", (long)getpid(), ++R->seq);
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		int e = errno;
		if (po[0] >= 0) {
			close(po[0]);
			close(po[1]);
		}
		return pl__error_set(err, PL_ESYS, e, "cannot make a pipe");
	}
	out->fd = po[0];
	errc->fd = pe[0];
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	char *run_argv[] = { R->runc, "--root", R->state, "run", "--bundle", R->bundle, id, NULL };
	char *kill_argv[] = { R->runc, "--root", R->state, "kill", id, "KILL", NULL };
	char *delete_argv[] = { R->runc, "--root", R->state, "delete", "--force", id, NULL };
	pid_t pid;
	rc = spawn(run_argv, po[1], pe[1], &pid, err);
	close(po[1]);
	close(pe[1]);
	if (rc < 0)
		return rc;

	uint64_t start = now_ms(), deadline = start + (uint64_t)timeout * 1000;
	uint64_t ended = 0, killing = 0, last_kill = 0;
	int status = 0;
	while (!ended || out->fd >= 0 || errc->fd >= 0) {
		struct pollfd p[2];
		nfds_t n = 0;
		if (out->fd >= 0)
			p[n++] = (struct pollfd){ .fd = out->fd, .events = POLLIN };
		if (errc->fd >= 0)
			p[n++] = (struct pollfd){ .fd = errc->fd, .events = POLLIN };
		if (poll(p, n, POLL_MS) > 0)
			for (nfds_t i = 0; i < n; i++)
				if (p[i].revents)
					capture_read(p[i].fd == out->fd ? out : errc);
		uint64_t now = now_ms();
		if (!ended && waitpid(pid, &status, WNOHANG) == pid)
			ended = now;
		if (ended) {
			/* a process that outlived the container's holds a pipe */
			if (now - ended > DRAIN_MS)
				break;
			continue;
		}
		bool cancel = R->o->cancel && *R->o->cancel;
		if (!killing && (now >= deadline || cancel)) {
			killing = now;
			res->timed_out = !cancel;
			res->cancelled = cancel;
		}
		if (killing && now - last_kill >= KILL_EVERY_MS) {
			runc_quick(kill_argv);
			last_kill = now_ms();
		}
		if (killing && now - killing > KILL_GRACE_MS) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			ended = now_ms();
		}
	}
	res->ms = (ended ? ended : now_ms()) - start;
	res->status = exit_status(status);
	runc_quick(delete_argv);
	return 0;
}

static bool matches(const char *re, const struct pl_buf *b)
{
	regex_t rx;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
		return false;
#ifdef REG_STARTEND
	regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)b->len };
	bool ok = regexec(&rx, b->buf, 1, &m, REG_STARTEND) == 0;
#else
	bool ok = regexec(&rx, b->buf, 0, NULL, 0) == 0;
#endif
	regfree(&rx);
	return ok;
}

/* "# " lines with the first lines of one output. */
static int diag_output(const struct runner *R, const char *what, const struct capture *c,
		       struct pl_error **err)
{
	const char *p = c->buf.buf, *end = p + c->buf.len;
	if (p == end)
		return tap(R, "# %s: (empty)", what);
	size_t lines = 0;
	for (const char *q = p; q < end; q++)
		lines += *q == '\n' || q + 1 == end;
	int rc = tap(R, "# %s (%zu line%s%s):", what, lines, lines == 1 ? "" : "s",
		     c->truncated ? ", cut at 1 MiB" : "");
	for (size_t i = 0; rc == 0 && i < lines && i < DIAG_LINES; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		cleanup_buf struct pl_buf b = { 0 };
		if ((rc = pl_buf_init(&b, 0, err)) < 0 ||
		    (rc = pl__show(&b, p, len, DIAG_WIDTH, false, err)) < 0)
			return rc;
		rc = tap(R, "#   %s", b.buf);
		p += len + 1;
	}
	if (rc == 0 && lines > DIAG_LINES)
		rc = tap(R, "#   ... %zu more line%s", lines - DIAG_LINES,
			 lines - DIAG_LINES == 1 ? "" : "s");
	return rc;
}

/* The test's name in the report: "run: WORDS", fit for a TAP line. */
static int test_name(const struct pl__test *t, struct pl_buf *b, struct pl_error **err)
{
	int rc = pl_buf_init(b, 0, err);
	if (rc == 0)
		rc = pl_buf_adds(b, "run:", err);
	for (size_t i = 0; rc == 0 && i < t->run.n && b->len < NAME_WIDTH; i++)
		if ((rc = pl_buf_add(b, " ", 1, err)) == 0)
			rc = pl__show(b, t->run.v[i], strlen(t->run.v[i]), NAME_WIDTH, true, err);
	return rc;
}

static int run_one(struct runner *R, const struct pl__test *t, unsigned number, bool *ok,
		   struct pl_error **err)
{
	unsigned timeout = R->o->timeout ? R->o->timeout
			   : t->timeout  ? t->timeout
					 : PL__TEST_TIMEOUT;
	__attribute__((cleanup(capture_release))) struct capture out = { .fd = -1 };
	__attribute__((cleanup(capture_release))) struct capture errc = { .fd = -1 };
	struct outcome res = { 0 };
	int rc = pl_buf_init(&out.buf, PL__TEST_OUT_MAX, err);
	if (rc < 0 || (rc = pl_buf_init(&errc.buf, PL__TEST_OUT_MAX, err)) < 0 ||
	    (rc = run_container(R, t, timeout, &out, &errc, &res, err)) < 0)
		return rc;
	if (res.cancelled)
		return pl__error_set(err, PL_ESYS, 0, "cancelled by a signal");
	bool exit_ok = !res.timed_out && res.status == t->expect_exit;
	bool out_ok = !t->expect_stdout || matches(t->expect_stdout, &out.buf);
	bool err_ok = !t->expect_stderr || matches(t->expect_stderr, &errc.buf);
	*ok = exit_ok && out_ok && err_ok;

	cleanup_buf struct pl_buf name = { 0 };
	if ((rc = test_name(t, &name, err)) < 0 ||
	    (rc = tap(R, "%sok %u - %s", *ok ? "" : "not ", number, name.buf)) < 0)
		return rc;
	if (res.timed_out)
		rc = tap(R, "# timed out after %u s: killed", timeout);
	else if (!exit_ok)
		rc = tap(R, "# exit status: expected %d, got %d", t->expect_exit, res.status);
	const char *res_name[] = { "stdout", "stderr" };
	const char *want[] = { t->expect_stdout, t->expect_stderr };
	bool good[] = { out_ok, err_ok };
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		if (good[i])
			continue;
		cleanup_buf struct pl_buf re = { 0 };
		if ((rc = pl_buf_init(&re, 0, err)) < 0 ||
		    (rc = pl__show(&re, want[i], strlen(want[i]), DIAG_WIDTH, false, err)) < 0)
			return rc;
		rc = tap(R, "# %s does not match '%s'", res_name[i], re.buf);
	}
	if (rc == 0 && !*ok && (rc = diag_output(R, "stdout", &out, err)) == 0)
		rc = diag_output(R, "stderr", &errc, err);
	if (rc < 0)
		return rc;

	if (!R->o->result)
		return 0;
	cleanup_buf struct pl_buf out_text = { 0 }, err_text = { 0 };
	if ((rc = valid_text(out.buf.buf, out.buf.len, &out_text, err)) < 0 ||
	    (rc = valid_text(errc.buf.buf, errc.buf.len, &err_text, err)) < 0)
		return rc;
	struct pl_test_result r = {
		.number = number,
		.run = (const char *const *)t->run.v,
		.nrun = t->run.n,
		.ok = *ok,
		.timeout = timeout,
		.timed_out = res.timed_out,
		.exit_status = res.status,
		.expect_exit = t->expect_exit,
		.expect_stdout = t->expect_stdout,
		.expect_stderr = t->expect_stderr,
		.stdout_ok = out_ok,
		.stderr_ok = err_ok,
		.stdout_text = out_text.buf,
		.stderr_text = err_text.buf,
		.stdout_len = out_text.len,
		.stderr_len = err_text.len,
		.stdout_truncated = out.truncated,
		.stderr_truncated = errc.truncated,
		.milliseconds = res.ms,
	};
	R->o->result(R->o->result_ctx, &r);
	return 0;
}

/* ---- a run ---------------------------------------------------------------- */

static int tests_run(struct runner *R, const struct pl__blob_source *src, const json_t *layers,
		     const json_t *config, const struct pl__test *tests, size_t n, unsigned *failed,
		     struct pl_error **err)
{
	int rc = preflight(R->o, R->runc, sizeof(R->runc), err);
	if (rc < 0 || (rc = setup(R, src, layers, config, err)) < 0 ||
	    (rc = tap(R, "1..%zu", n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (R->o->cancel && *R->o->cancel)
			return pl__error_set(err, PL_ESYS, 0, "cancelled by a signal");
		bool ok = false;
		if ((rc = run_one(R, &tests[i], (unsigned)i + 1, &ok, err)) < 0)
			return rc;
		*failed += !ok;
	}
	return 0;
}

int pl__tests_run(const struct pl__blob_source *src, const json_t *layers, const json_t *config,
		  const struct pl__test *tests, size_t n, const struct pl_test_options *o,
		  unsigned *failed, struct pl_error **err)
{
	cleanup_runner struct runner R = { .o = o, .bundlefd = -1 };
	*failed = 0;
	if (n == 0)
		return tap(&R, "1..0 # SKIP no tests");
	if (n > PL__TESTS_N_MAX)
		return pl__error_set(err, PL_ELIMIT, 0, "more than %d tests", PL__TESTS_N_MAX);
	return tests_run(&R, src, layers, config, tests, n, failed, err);
}

/* ---- the public entry points ------------------------------------------------- */

static int test_image(const char *dir, const char *tag, const struct pl_recipe *r,
		      const struct pl_test_options *o, unsigned *failed, struct pl_error **err)
{
	cleanup_image struct pl__image im = { 0 };
	int rc = pl__image_open(dir, tag, false, &im, err);
	if (rc < 0)
		return rc;
	struct pl__test *own = NULL;
	size_t n = 0;
	if (!r) {
		cleanup_free char *data = NULL;
		size_t len = 0;
		rc = pl__referrer_read(dir, im.digest, PL__TESTS_ARTIFACT, PL__TESTS_MAX, &data,
				       &len, err);
		if (rc == PL__OCI_NO_TAG)
			return pl__error_set(err, PL_EINVAL, 0,
					     "image 'oci:%s:%s' carries no tests (plinth build "
					     "stores a recipe's tests beside its image; or take "
					     "them from the recipe with --recipe FILE)",
					     dir, tag);
		if (rc < 0 || (rc = pl__tests_from_json(data, len, &own, &n, err)) < 0)
			return pl__error_wrap(err, rc, "image 'oci:%s:%s'", dir, tag);
	}
	struct pl__blob_source src = pl__layout_blobs(dir);
	rc = pl__tests_run(&src, json_object_get(im.mjson, "layers"), im.config, r ? r->tests : own,
			   r ? r->ntests : n, o, failed, err);
	pl__tests_free(own, n);
	return rc;
}

int pl_test_image(const char *dir, const char *tag, const struct pl_recipe *r,
		  const struct pl_test_options *o, unsigned *failed, struct pl_error **err)
{
	*failed = 0;
	char runc[PL_PATH_MAX + 1];
	int rc = preflight(o, runc, sizeof(runc), err);
	return rc < 0 ? rc : test_image(dir, tag, r, o, failed, err);
}

int pl_test_recipe(const struct pl_recipe *r, const struct pl_build_options *bo,
		   const struct pl_test_options *o, unsigned *failed, struct pl_error **err)
{
	*failed = 0;
	if (r->ntests == 0) {
		if (o->tap)
			o->tap(o->tap_ctx, "1..0 # SKIP the recipe has no tests");
		return 0;
	}
	char runc[PL_PATH_MAX + 1];
	int rc = preflight(o, runc, sizeof(runc), err);
	if (rc < 0)
		return rc;
	const char *tmpdir = o->tmpdir && *o->tmpdir ? o->tmpdir : "/tmp";
	cleanup_free char *work = pl__asprintf(err, "%s/plinth-test.XXXXXX", tmpdir);
	if (!work)
		return PL_ENOMEM;
	if (!mkdtemp(work))
		return pl__error_set(err, PL_ESYS, errno, "cannot make a directory in '%s'",
				     tmpdir);
	char *layout = pl__asprintf(err, "%s/layout", work);
	struct pl_build_options b = *bo;
	struct pl_build_result res;
	b.layout = layout;
	b.skip_tests = true; /* they run below, reported as this command reports */
	if (!b.cancel)
		b.cancel = o->cancel;
	rc = layout ? pl_build(r, &b, &res, err) : PL_ENOMEM;
	if (rc == 0)
		rc = test_image(layout, res.tag, r, o, failed, err);
	free(layout);
	pl__remove_tree(AT_FDCWD, work);
	return rc;
}
