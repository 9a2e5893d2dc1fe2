/* cli.h - what the command files share: exit codes and reporting. */
#ifndef PLINTH_CLI_H
#define PLINTH_CLI_H

#include <jansson.h>

#include "plinth/plinth.h"

/* The exit codes, in one place. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* the command failed */
	EXIT_USAGE = 2, /* the command line was wrong */
};

struct cmd_spec {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_build(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_admit(int argc, char **argv);
int cmd_rebuild(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_tags(int argc, char **argv);

/* ---- registries (push, pull, tags) -------------------------------- */

/* getopt_long values of the options the registry commands share. */
enum { CLI_OPT_INSECURE = 1000, CLI_OPT_AUTH_FILE, CLI_OPT_CA_FILE, CLI_OPT_RETRIES };
#define CLI_REGISTRY_OPTIONS                                                                       \
	{ "insecure", required_argument, NULL, CLI_OPT_INSECURE },                                 \
	    { "auth-file", required_argument, NULL, CLI_OPT_AUTH_FILE },                           \
	    { "ca-file", required_argument, NULL, CLI_OPT_CA_FILE },                               \
	{                                                                                          \
		"retries", required_argument, NULL, CLI_OPT_RETRIES                                \
	}

/* What those options say, as registry options. */
struct cli_registry {
	struct pl_registry_options o;
	const char *insecure[33];
	size_t ninsecure;
	const char *auth_file;
	const char *files[4];
	char own[3][4096];
};
#define CLI_REGISTRY_INIT                                                                          \
	{                                                                                          \
		.o = {.retries = -1 }                                                              \
	}

/* Their --help text (and -j's, which push, pull and tags take too). */
extern const char cli_registry_help[];
extern const char cli_registry_jobs_help[];

/* Take the option `c` (from getopt_long) if it is one of them: 0 when
 * taken, -1 when not one of them, else an exit code after reporting. */
int cli_registry_opt(struct cli_registry *r, const char *cmd, int c, const char *arg);

/* Finish r->o: the credential files (from the environment unless
 * --auth-file named one), progress "plinth: VERB: ..." on a terminal
 * unless `quiet`. */
void cli_registry_ready(struct cli_registry *r, const char *verb, bool quiet);

/* For build and lock: bases are pulled into CACHE_DIR/bases (held in
 * `buf`; NULL without a cache) with r's options. */
void cli_registry_bases(struct cli_registry *r, const char *cache_dir, char *buf, size_t size,
			const char **cache, const struct pl_registry_options **registry);
extern const char cli_registry_bases_help[];

/* Clear the progress line. */
void cli_registry_done(struct cli_registry *r);

/*
 * Catalog options for a command: the directory is `arg` (a --catalog
 * value), else $PLINTH_CATALOG, else NULL; the state directory (rollback
 * memory) is $PLINTH_STATE, else $XDG_STATE_HOME/plinth, else
 * ~/.local/state/plinth, held in `buf`; now is the wall clock.  Returns 0,
 * or EXIT_FAIL after reporting that there is no state directory (rollbacks
 * would go unnoticed) or that its name is too long for `buf`.
 */
struct pl_catalog_options;
int cli_catalog_options(struct pl_catalog_options *o, const char *arg, char *buf, size_t size);

/* The text `--help` shows about the catalog's environment. */
extern const char cli_catalog_env_help[];

/*
 * Open the catalog a recipe's base is resolved in (build and lock), as
 * cli_catalog_options() names it from `arg` (a --catalog value), into
 * *out; NULL for a recipe on scratch or when none is named (the library
 * then says what is missing).  Returns 0, or EXIT_FAIL after reporting.
 */
int cli_recipe_catalog(const struct pl_recipe *r, const char *arg, char *buf, size_t size,
		       struct pl_catalog **out);

/* --compression's value into *out; EXIT_USAGE after reporting a bad one,
 * else 0. */
int cli_compression(const char *cmd, const char *arg, enum pl_compression *out);

/* SOURCE_DATE_EPOCH into *has and *clock; EXIT_USAGE after reporting a
 * value that is not a whole number of seconds, else 0. */
int cli_source_date_epoch(const char *cmd, bool *has, uint64_t *clock);

/* A warning from the library: "plinth: warning: <msg>" on stderr. */
void cli_warn(void *ctx, const char *msg);

/*
 * Fill `o` from the environment: the cache ($PLINTH_CACHE, else
 * $XDG_CACHE_HOME/plinth, else ~/.cache/plinth), the host's apt directory
 * ($PLINTH_APT_DIR, else /etc/apt), ${VAR} values, and "fetching ..."
 * notes on standard error when it is a terminal.  Returns 0, or EXIT_FAIL
 * after reporting a cache path too long for `buf` (at least 4096 bytes),
 * which holds it; no cache at all leaves o->cache_dir NULL.
 */
int cli_apt_options(struct pl_apt_options *o, char *buf, size_t size);

/* The text that `--help` of build and lock shows about the environment. */
extern const char cli_apt_env_help[];

/* Print "plinth: <message>" for `e` and free it; returns EXIT_FAIL. */
int cli_fail(struct pl_error *e);

/* Print "plinth: <message>" and a hint to use --help; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error naming the option getopt_long just refused (unknown, or
 * missing its value).  Returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, char **argv, bool missing_value);

/* Flush stdout; on a write error (a full disk, a closed pipe) report it.
 * Returns EXIT_OK or EXIT_FAIL. */
int cli_flush_stdout(void);

/* Print `j` (taken over; NULL: out of memory) as indented JSON with
 * sorted keys on stdout.  Returns EXIT_OK or EXIT_FAIL. */
int cli_print_json(json_t *j);

/* Report that stdout could not be written; returns EXIT_FAIL. */
int cli_stdout_failed(void);

/* Install SIGINT/SIGTERM/SIGHUP handlers that set *cli_cancel. */
extern volatile int cli_cancel;
void cli_catch_signals(void);

#endif
