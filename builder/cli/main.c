/* main.c - plinth's command table and dispatch. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cmd_spec cmds[] = {
	{ "build", cmd_build, "build an OCI image from a recipe" },
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
	fprintf(stderr, "plinth: %s\n", pl_error_message(e));
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
	fprintf(stderr, "\nTry 'plinth %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
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
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "--version")) {
		printf("plinth %s\n", PLINTH_VERSION);
		return EXIT_OK;
	}
	for (const struct cmd_spec *c = cmds; c->name; c++)
		if (!strcmp(name, c->name))
			return c->fn(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command '%s'", name);
}
