/* curl.c - libcurl through dlopen() (see curl.h). */
#define CURL_DISABLE_TYPECHECK /* the wrappers forward any option */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "curl.h"

static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512]; /* empty when loaded */

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);
	if (!p && !load_error[0])
		snprintf(load_error, sizeof(load_error), "it has no '%s'", name);
	return p;
}

static void load(void)
{
	void *lib = dlopen(PL__CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", why ? why : "not found");
		return;
	}
	/* POSIX guarantees object and function pointers convert both ways */
	*(void **)&fn.global_init = sym(lib, "curl_global_init");
	*(void **)&fn.easy_init = sym(lib, "curl_easy_init");
	*(void **)&fn.easy_setopt = sym(lib, "curl_easy_setopt");
	*(void **)&fn.easy_perform = sym(lib, "curl_easy_perform");
	*(void **)&fn.easy_getinfo = sym(lib, "curl_easy_getinfo");
	*(void **)&fn.easy_cleanup = sym(lib, "curl_easy_cleanup");
	*(void **)&fn.easy_strerror = sym(lib, "curl_easy_strerror");
	/* a library missing a symbol stays loaded: harmless, and never used */
}

int pl__curl_load(struct pl_error **err)
{
	pthread_once(&once, load);
	if (load_error[0])
		return pl__error_set(err, PL_ESYS, 0,
				     "cannot load libcurl ('%s'), which downloads need: %s "
				     "(install libcurl4)",
				     PL__CURL_SONAME, load_error);
	return 0;
}

CURLcode pl__curl_global_init(long flags)
{
	return fn.global_init(flags);
}

CURL *pl__curl_easy_init(void)
{
	return fn.easy_init();
}

/* An option's number says the type of its value (see CURLOPTTYPE_*). */
CURLcode pl__curl_easy_setopt(CURL *h, CURLoption option, ...)
{
	va_list ap;
	va_start(ap, option);
	CURLcode rc;
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = fn.easy_setopt(h, option, va_arg(ap, long));
	else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
		rc = fn.easy_setopt(h, option, va_arg(ap, curl_off_t));
	else /* object, function and blob pointers */
		rc = fn.easy_setopt(h, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode pl__curl_easy_perform(CURL *h)
{
	return fn.easy_perform(h);
}

/* Every kind of information is returned through a pointer. */
CURLcode pl__curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	va_start(ap, info);
	CURLcode rc = fn.easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void pl__curl_easy_cleanup(CURL *h)
{
	fn.easy_cleanup(h);
}

const char *pl__curl_easy_strerror(CURLcode code)
{
	return fn.easy_strerror(code);
}
