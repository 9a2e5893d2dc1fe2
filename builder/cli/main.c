/* main.c - plinth's command table and dispatch. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"

static const struct cmd_spec cmds[] = {
	{ "build", cmd_build, "build an OCI image from a recipe" },
	{ "lock", cmd_lock, "resolve a recipe's Debian packages and pin them in its lock" },
	{ "keygen", cmd_keygen, "make an ECDSA P-256 key pair for signing" },
	{ "sign", cmd_sign, "sign an image (cosign-compatible)" },
	{ "verify", cmd_verify, "check an image's signature" },
	{ "catalog", cmd_catalog, "the signed, versioned catalog of approved bases" },
	{ "admit", cmd_admit, "may this image run? (signed, every base approved)" },
	{ "rebuild", cmd_rebuild, "rebuild every image affected by a change of base" },
	{ "lint", cmd_lint, "check a recipe against the hardening rules and a policy" },
	{ "scan", cmd_scan,
	  "find secrets, setuid files, shells and known vulnerabilities in an image" },
	{ "sbom", cmd_sbom, "an image's software bill of materials (SPDX, CycloneDX)" },
	{ "test", cmd_test, "run a recipe's black-box tests in its image (runc)" },
	{ "push", cmd_push, "push an image, its signature and SBOM to a registry" },
	{ "pull", cmd_pull, "pull an image, its signature and SBOM from a registry" },
	{ "tags", cmd_tags, "list the tags of a repository in a registry" },
	{ NULL, NULL, NULL },
};

volatile int cli_cancel;

static void on_signal(int sig)
{
	(void)sig;
	cli_cancel = 1;
}

void cli_catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int cli_fail(struct pl_error *e)
{
	/* a message may quote what an image or a feed holds: control
	 * characters are shown, not sent (a multi-line message keeps its
	 * lines: what the library quotes has its newlines escaped already) */
	char *msg = pl_printable(pl_error_message(e), true);
	fprintf(stderr, "plinth: %s\n", msg ? msg : pl_error_message(e));
	free(msg);
	pl_error_free(e);
	return EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("plinth: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'plinth %s%s--help'\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, bool missing_value)
{
	/* A value is missing only at the end of argv, where the option is the
	 * last word.  An unknown short option may sit in a cluster ("-xy"):
	 * optopt names it.  A long one is the word getopt_long just passed. */
	if (missing_value)
		return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	const char *word = argv[optind - 1];
	int len = (int)strcspn(word, "=");
	/* getopt_long sets optopt for a known long option given a value it
	 * does not take, and leaves it 0 for an unknown one. */
	if (!strncmp(word, "--", 2))
		return cli_usage_error(
		    cmd, optopt ? "option '%.*s' takes no value" : "unknown option '%.*s'", len,
		    word);
	char shortopt[3] = { '-', (char)optopt, '\0' };
	return cli_usage_error(cmd, "unknown option '%s'", shortopt);
}

int cli_print_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;
	json_decref(j);
	int rc = text ? puts(text) : -1;
	free(text);
	return rc < 0 ? cli_stdout_failed() : cli_flush_stdout();
}

int cli_stdout_failed(void)
{
	fprintf(stderr, "plinth: cannot write to standard output: %s\n", strerror(errno));
	return EXIT_FAIL;
}

int cli_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_stdout_failed();
	return EXIT_OK;
}

const char cli_apt_env_help[] =
    "  PLINTH_CACHE            the download cache (default: $XDG_CACHE_HOME/plinth,\n"
    "                          else ~/.cache/plinth)\n"
    "  PLINTH_APT_DIR          the apt configuration 'repositories: [host]' reads\n"
    "                          (default: /etc/apt)\n"
    "  any ${NAME} in a repository 'uri' is taken from the environment\n";

static void note_fetch(void *ctx, const char *what)
{
	(void)ctx;
	fprintf(stderr, "\rplinth: %.*s\033[K", 200, what);
	fflush(stderr);
}

extern char **environ;

int cli_apt_options(struct pl_apt_options *o, char *buf, size_t size)
{
	const char *cache = getenv("PLINTH_CACHE"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int n;
	if (cache && *cache)
		n = snprintf(buf, size, "%s", cache);
	else if (xdg && *xdg == '/')
		n = snprintf(buf, size, "%s/plinth", xdg);
	else if (home && *home == '/')
		n = snprintf(buf, size, "%s/.cache/plinth", home);
	else
		n = -1;
	if (n >= 0 && (size_t)n >= size) {
		fputs("plinth: the cache directory's name is too long\n", stderr);
		return EXIT_FAIL;
	}
	const char *apt = getenv("PLINTH_APT_DIR");
	/* without one, only recipes that need packages fail, and say why */
	o->cache_dir = n < 0 ? NULL : buf;
	o->apt_dir = apt && *apt ? apt : NULL;
	o->environ = (const char *const *)environ;
	if (isatty(STDERR_FILENO))
		o->note = note_fetch;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: plinth [--version] [--help] COMMAND [ARGS...]\n"
	      "\n"
	      "Build minimal, hardened, reproducible OCI base images.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (const struct cmd_spec *c = cmds; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fputs("\nRun 'plinth COMMAND --help' for a command's options.\n", f);
}

int main(int argc, char **argv)
{
	/* plinth fetches its algorithms by name from OpenSSL's providers: the
	 * legacy tables of every cipher and digest are not needed, and
	 * filling them costs every call of admit a good part of a millisecond.
	 * TLS needs them (libssl looks a certificate's signature digest up
	 * there: without them every chain is "too weak"), and the choice is
	 * made once per process, so only the commands that never download
	 * go without. */
	if (argc >= 2 && (!strcmp(argv[1], "admit") || !strcmp(argv[1], "verify")))
		OPENSSL_init_crypto(
		    OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS, NULL);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return cli_flush_stdout();
	}
	if (!strcmp(name, "--version")) {
		printf("plinth %s\n", PLINTH_VERSION);
		return cli_flush_stdout();
	}
	for (const struct cmd_spec *c = cmds; c->name; c++)
		if (!strcmp(name, c->name))
			return c->fn(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command '%s'", name);
}
