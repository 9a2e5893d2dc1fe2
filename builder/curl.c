/* curl.c - libcurl through dlopen() (see curl.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl.h"

static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_reset)(CURL *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
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

static void load_lib(void)
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
	*(void **)&fn.easy_reset = sym(lib, "curl_easy_reset");
	*(void **)&fn.slist_append = sym(lib, "curl_slist_append");
	*(void **)&fn.slist_free_all = sym(lib, "curl_slist_free_all");
	*(void **)&fn.easy_getinfo = sym(lib, "curl_easy_getinfo");
	*(void **)&fn.easy_cleanup = sym(lib, "curl_easy_cleanup");
	*(void **)&fn.easy_strerror = sym(lib, "curl_easy_strerror");
	/* a library missing a symbol stays loaded: harmless, and never used */
}

static void load(void)
{
	load_lib();
	if (load_error[0])
		return;
	CURLcode cc = fn.global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK)
		snprintf(load_error, sizeof(load_error), "cannot initialise it: %s",
			 fn.easy_strerror(cc));
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

CURL *pl__curl_easy_init(void)
{
	return fn.easy_init();
}

CURLcode pl__curl_setopt_long(CURL *h, CURLoption option, long value)
{
	return fn.easy_setopt(h, option, value);
}

CURLcode pl__curl_setopt_ptr(CURL *h, CURLoption option, const void *value)
{
	return fn.easy_setopt(h, option, value);
}

CURLcode pl__curl_setopt_write(CURL *h, CURLoption option, curl_write_callback f)
{
	return fn.easy_setopt(h, option, f);
}

CURLcode pl__curl_setopt_xferinfo(CURL *h, CURLoption option, curl_xferinfo_callback f)
{
	return fn.easy_setopt(h, option, f);
}

CURLcode pl__curl_setopt_read(CURL *h, CURLoption option, curl_read_callback f)
{
	return fn.easy_setopt(h, option, f);
}

CURLcode pl__curl_setopt_seek(CURL *h, CURLoption option, curl_seek_callback f)
{
	return fn.easy_setopt(h, option, f);
}

CURLcode pl__curl_setopt_off(CURL *h, CURLoption option, curl_off_t value)
{
	return fn.easy_setopt(h, option, value);
}

void pl__curl_easy_reset(CURL *h)
{
	fn.easy_reset(h);
}

struct curl_slist *pl__curl_slist_append(struct curl_slist *list, const char *s)
{
	return fn.slist_append(list, s);
}

void pl__curl_slist_free_all(struct curl_slist *list)
{
	fn.slist_free_all(list);
}

CURLcode pl__curl_easy_perform(CURL *h)
{
	return fn.easy_perform(h);
}

CURLcode pl__curl_getinfo_long(CURL *h, CURLINFO info, long *out)
{
	return fn.easy_getinfo(h, info, out);
}

CURLcode pl__curl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out)
{
	return fn.easy_getinfo(h, info, out);
}

void pl__curl_easy_cleanup(CURL *h)
{
	fn.easy_cleanup(h);
}

const char *pl__curl_easy_strerror(CURLcode code)
{
	return fn.easy_strerror(code);
}
