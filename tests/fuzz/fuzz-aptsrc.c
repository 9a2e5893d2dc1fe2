/*
 * fuzz-aptsrc.c - libFuzzer target for apt sources: the input is parsed as
 * a one-line sources.list and as a deb822 .sources file, and (as a string)
 * expanded with pl__expand_vars.  Every repository found is checked
 * against what aptsrc.h promises, and the error contract of
 * plinth/common.h as in the other targets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aptsrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int rc, struct pl_error *err)
{
	if ((rc == 0) != (err == NULL) || (rc < 0 && pl_error_code(err) != rc) ||
	    (err && !pl_error_message(err)[0]))
		abort();
}

static bool good_uri(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || u[n - 1] == '/')
		return false;
	return (!strncmp(u, "http://", 7) && n > 7) || (!strncmp(u, "https://", 8) && n > 8) ||
	       (!strncmp(u, "file:///", 8) && n > 8);
}

static void parse(const char *text, size_t size, bool deb822)
{
	static const char *const keys[] = { "/k.gpg" };
	struct pl__repo *v = NULL;
	size_t n = 0;
	struct pl_error *err = NULL;
	int rc = pl__aptsrc_parse(deb822 ? "f.sources" : "f.list", text, size, deb822, "amd64",
				  keys, 1, &v, &n, &err);
	check_error(rc, err);
	pl_error_free(err);
	if (rc < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct pl__repo *r = &v[i];
		if (!good_uri(r->uri) || !r->origin || strncmp(r->origin, "f.", 2) ||
		    r->nsuites == 0 || r->ncomponents == 0 || r->nkeyrings == 0)
			abort();
		for (size_t j = 0; j < r->nsuites; j++)
			if (!r->suites[j][0] || r->suites[j][strlen(r->suites[j]) - 1] == '/')
				abort();
		for (size_t j = 0; j < r->ncomponents; j++)
			if (!r->components[j][0])
				abort();
		for (size_t j = 0; j < r->nkeyrings; j++)
			if (r->keyrings[j][0] != '/' && strncmp(r->keyrings[j], "-----BEGIN ", 11))
				abort();
	}
	pl__repos_free(v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	parse(text, size, false);
	parse(text, size, true);

	static const char *const env[] = { "A=x", "HOST=archive.example.invalid", "E=", NULL };
	char *out = NULL;
	struct pl_error *err = NULL;
	int rc = pl__expand_vars(text, env, &out, &err);
	check_error(rc, err);
	if ((rc == 0) != (out != NULL))
		abort();
	free(out);
	pl_error_free(err);
	free(text);
	return 0;
}
