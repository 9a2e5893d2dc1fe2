/* libarchive.c - libarchive through dlopen() (see libarchive.h). */
#define PL__ARCHIVE_IMPL /* the real names, for __typeof__ and dlsym */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "libarchive.h"

/* Until libarchive is loaded, the constructors load it first. */
static struct archive *read_new_first(void);
static struct archive *write_new_first(void);
static struct archive_entry *entry_new_first(void);

struct pl__archive pl__archive = {
	.archive_read_new = read_new_first,
	.archive_write_new = write_new_first,
	.archive_entry_new = entry_new_first,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512]; /* empty when loaded */

static void load(void)
{
	void *lib = dlopen(PL__ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", why ? why : "not found");
		return;
	}
	/* all or nothing: a library without one of them is not used at all */
	struct pl__archive fns;
	void *p;
#define PL__ARCHIVE_SYM(f)                                                                         \
	if (!(p = dlsym(lib, #f))) {                                                               \
		snprintf(load_error, sizeof(load_error), "it has no '%s'", #f);                    \
		return;                                                                            \
	}                                                                                          \
	/* POSIX guarantees object and function pointers convert both ways */                      \
	*(void **)&fns.f = p;
	PL__ARCHIVE_FUNCTIONS(PL__ARCHIVE_SYM)
#undef PL__ARCHIVE_SYM
	pl__archive = fns;
}

int pl__archive_load(struct pl_error **err)
{
	pthread_once(&once, load);
	if (load_error[0])
		return pl__error_set(err, PL_ESYS, 0,
				     "cannot load libarchive ('%s'), which reading and writing "
				     "archives need: %s (install libarchive13)",
				     PL__ARCHIVE_SONAME, load_error);
	return 0;
}

int pl__archive_failed(struct pl_error **err)
{
	int rc = pl__archive_load(err);
	return rc < 0 ? rc : pl__error_nomem(err);
}

static struct archive *read_new_first(void)
{
	return pl__archive_load(NULL) < 0 ? NULL : pl__archive.archive_read_new();
}

static struct archive *write_new_first(void)
{
	return pl__archive_load(NULL) < 0 ? NULL : pl__archive.archive_write_new();
}

static struct archive_entry *entry_new_first(void)
{
	return pl__archive_load(NULL) < 0 ? NULL : pl__archive.archive_entry_new();
}

void pl__archive_set_error(struct archive *a, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pl__archive.archive_set_error(a, code, "%s", msg);
}
