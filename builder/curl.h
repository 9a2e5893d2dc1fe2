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

/* Load libcurl once (thread-safe); an error says why it cannot be. */
int pl__curl_load(struct pl_error **err);

/* After a successful pl__curl_load() only. */
CURLcode pl__curl_global_init(long flags);
CURL *pl__curl_easy_init(void);
CURLcode pl__curl_easy_setopt(CURL *h, CURLoption option, ...);
CURLcode pl__curl_easy_perform(CURL *h);
CURLcode pl__curl_easy_getinfo(CURL *h, CURLINFO info, ...);
void pl__curl_easy_cleanup(CURL *h);
const char *pl__curl_easy_strerror(CURLcode code);

#endif
