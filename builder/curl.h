/*
 * curl.h - libcurl, loaded when the first download needs it.
 *
 * Linking libcurl pulls some forty shared libraries (TLS, HTTP/2, LDAP,
 * Kerberos, IDN...) into every start of plinth, which costs each call a
 * few milliseconds: too much for `plinth admit` in front of every container
 * start, which never downloads.  So plinth loads libcurl with dlopen() on
 * first use, and calls it through these wrappers, which take what the
 * functions of the same name without the prefix take.
 */
#ifndef PLINTH_CURL_H
#define PLINTH_CURL_H

#include <curl/curl.h>

#include "internal.h"

/* The library loaded (its ABI has had this soname since 2006). */
#define PL__CURL_SONAME "libcurl.so.4"

/* Load and initialise libcurl once (thread-safe); an error says why it
 * cannot be. */
int pl__curl_load(struct pl_error **err);

/*
 * After a successful pl__curl_load() only.  curl_easy_setopt() and
 * curl_easy_getinfo() take their value through `...`, whose type the
 * option decides: one wrapper per type, so the compiler checks each call
 * as curl's own type-checking macros would (an `int` where a `long` is
 * read would be undefined behaviour).
 */
CURL *pl__curl_easy_init(void);
CURLcode pl__curl_setopt_long(CURL *h, CURLoption option, long value);
CURLcode pl__curl_setopt_ptr(CURL *h, CURLoption option, const void *value);
CURLcode pl__curl_setopt_write(CURL *h, CURLoption option, curl_write_callback fn);
CURLcode pl__curl_setopt_xferinfo(CURL *h, CURLoption option, curl_xferinfo_callback fn);
CURLcode pl__curl_setopt_read(CURL *h, CURLoption option, curl_read_callback fn);
CURLcode pl__curl_setopt_off(CURL *h, CURLoption option, curl_off_t value);
CURLcode pl__curl_setopt_seek(CURL *h, CURLoption option, curl_seek_callback fn);
CURLcode pl__curl_easy_perform(CURL *h);
void pl__curl_easy_reset(CURL *h);
struct curl_slist *pl__curl_slist_append(struct curl_slist *list, const char *s);
void pl__curl_slist_free_all(struct curl_slist *list);
CURLcode pl__curl_getinfo_long(CURL *h, CURLINFO info, long *out);
CURLcode pl__curl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out);
void pl__curl_easy_cleanup(CURL *h);
const char *pl__curl_easy_strerror(CURLcode code);

#endif
