/* regopts.c - the options push, pull and tags share: how registries are
 * reached, where credentials are, progress. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char cli_registry_help[] =
    "  --insecure HOST[:PORT]  reach this registry over plain HTTP (may be given\n"
    "                          again); every other registry over HTTPS, its\n"
    "                          certificate verified\n"
    "  --auth-file FILE        credentials (containers' auth.json or docker's\n"
    "                          config.json format), instead of $REGISTRY_AUTH_FILE,\n"
    "                          else $XDG_RUNTIME_DIR/containers/auth.json,\n"
    "                          ~/.config/containers/auth.json and\n"
    "                          $DOCKER_CONFIG/config.json (~/.docker/config.json),\n"
    "                          the first that has credentials for the registry\n"
    "  --ca-file PEM           trust these certificate authorities (not the system's)\n"
    "  --retries N             attempts after the first on 408, 429, 5xx answers\n"
    "                          and broken connections, with backoff (default 4)\n";

const char cli_registry_jobs_help[] = "  -j, --jobs N            blobs moved at once (default 4)\n";

/* A whole number in [lo, hi], or -1. */
static long long number(const char *s, long long lo, long long hi)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return -1;
	long long v = strtoll(s, NULL, 10);
	return v < lo || v > hi ? -1 : v;
}

int cli_registry_opt(struct cli_registry *r, const char *cmd, int c, const char *arg)
{
	long long v;
	switch (c) {
	case CLI_OPT_INSECURE:
		if (r->ninsecure + 1 >= sizeof(r->insecure) / sizeof(r->insecure[0]))
			return cli_usage_error(cmd, "too many --insecure registries");
		if (!*arg || strchr(arg, '/'))
			return cli_usage_error(cmd, "--insecure takes a registry, HOST[:PORT]");
		r->insecure[r->ninsecure++] = arg;
		return 0;
	case CLI_OPT_AUTH_FILE:
		if (access(arg, R_OK) < 0) {
			fprintf(stderr, "plinth: cannot read the auth file '%s': %m\n", arg);
			return EXIT_FAIL;
		}
		r->auth_file = arg;
		return 0;
	case CLI_OPT_CA_FILE:
		if (access(arg, R_OK) < 0) {
			fprintf(stderr, "plinth: cannot read the CA file '%s': %m\n", arg);
			return EXIT_FAIL;
		}
		r->o.ca_file = arg;
		return 0;
	case 'j':
		if ((v = number(arg, 1, 64)) < 0)
			return cli_usage_error(cmd, "--jobs takes a number from 1 to 64");
		r->o.jobs = (unsigned)v;
		return 0;
	case CLI_OPT_RETRIES:
		if ((v = number(arg, 0, 20)) < 0)
			return cli_usage_error(cmd, "--retries takes a number from 0 to 20");
		r->o.retries = (int)v;
		return 0;
	default:
		return -1;
	}
}

static void progress(void *ctx, const struct pl_transfer *t)
{
	const char *verb = ctx;
	fprintf(stderr, "\rplinth: %s: %u/%u blobs, %.1f/%.1f MiB\033[K", verb, t->blobs_done,
		t->blobs_total, (double)t->bytes_done / (1 << 20),
		(double)t->bytes_total / (1 << 20));
	fflush(stderr);
}

/* `a` + `b` into r->own[i], or NULL when a variable is unset (or too long
 * to be a path). */
static const char *path2(struct cli_registry *r, size_t i, const char *a, const char *b)
{
	if (!a || *a != '/')
		return NULL;
	int n = snprintf(r->own[i], sizeof(r->own[i]), "%s%s", a, b);
	return n < 0 || (size_t)n >= sizeof(r->own[i]) ? NULL : r->own[i];
}

void cli_registry_ready(struct cli_registry *r, const char *verb, bool quiet)
{
	size_t n = 0;
	const char *env = getenv("REGISTRY_AUTH_FILE");
	const char *p;
	if (r->auth_file) {
		r->files[n++] = r->auth_file;
	} else if (env && *env) {
		r->files[n++] = env;
	} else {
		if ((p = path2(r, 0, getenv("XDG_RUNTIME_DIR"), "/containers/auth.json")))
			r->files[n++] = p;
		if ((p = path2(r, 1, getenv("HOME"), "/.config/containers/auth.json")))
			r->files[n++] = p;
		const char *dc = getenv("DOCKER_CONFIG");
		if ((p = dc && *dc ? path2(r, 2, dc, "/config.json")
				   : path2(r, 2, getenv("HOME"), "/.docker/config.json")))
			r->files[n++] = p;
	}
	r->files[n] = NULL;
	r->insecure[r->ninsecure] = NULL;
	r->o.auth_files = r->files;
	r->o.insecure = r->insecure;
	if (!quiet && isatty(STDERR_FILENO)) {
		r->o.progress = progress;
		r->o.progress_ctx = (void *)verb;
	}
}

void cli_registry_done(struct cli_registry *r)
{
	if (r->o.progress)
		fputs("\r\033[K", stderr);
}
