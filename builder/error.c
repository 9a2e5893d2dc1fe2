/* error.c - struct pl_error: a code, an errno and a message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct pl_error {
	int code;
	int errnum;
	char *message;
};

/* Returned when even the error cannot be allocated. */
static struct pl_error nomem_error = { PL_ENOMEM, ENOMEM, (char *)"out of memory" };

PL__PRINTF(1, 0) static char *vformat(const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

int pl__error_set(struct pl_error **err, int code, int errnum, const char *fmt, ...)
{
	if (!err)
		return code;
	struct pl_error *e = calloc(1, sizeof(*e));
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	if (!e || !msg) {
		free(e);
		free(msg);
		*err = &nomem_error;
		return code;
	}
	if (errnum) {
		const char *why = strerror(errnum);
		size_t n = strlen(msg) + 2 + strlen(why) + 1;
		char *full = malloc(n);
		if (full) {
			snprintf(full, n, "%s: %s", msg, why);
			free(msg);
			msg = full;
		}
	}
	e->code = code;
	e->errnum = errnum;
	e->message = msg;
	*err = e;
	return code;
}

int pl__error_wrap(struct pl_error **err, int code, const char *fmt, ...)
{
	if (!err || !*err)
		return code;
	struct pl_error *e = *err;
	if (e == &nomem_error)
		return code;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = vformat(fmt, ap);
	va_end(ap);
	if (!ctx)
		return code;
	size_t n = strlen(ctx) + 2 + strlen(e->message) + 1;
	char *full = malloc(n);
	if (full) {
		snprintf(full, n, "%s: %s", ctx, e->message);
		free(e->message);
		e->message = full;
	}
	free(ctx);
	return code;
}

int pl__error_nomem(struct pl_error **err)
{
	if (err)
		*err = &nomem_error;
	return PL_ENOMEM;
}

int pl_error_code(const struct pl_error *e)
{
	return e ? e->code : PL_OK;
}

int pl_error_errno(const struct pl_error *e)
{
	return e ? e->errnum : 0;
}

const char *pl_error_message(const struct pl_error *e)
{
	return e ? e->message : "";
}

void pl_error_free(struct pl_error *e)
{
	if (!e || e == &nomem_error)
		return;
	free(e->message);
	free(e);
}

int pl__check_cancel(const volatile int *cancel, struct pl_error **err)
{
	if (!cancel || !*cancel)
		return 0;
	return pl__error_set(err, PL_ESYS, 0, "build cancelled by a signal");
}
