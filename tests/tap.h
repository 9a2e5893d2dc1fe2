/*
 * tap.h - a tiny TAP producer for plinth's unit tests.
 *
 * check(x), check_int(a, op, b) and check_str(a, b) never abort, evaluate
 * their operands once and print "# file:line: expr" with both values on
 * failure.  End main() with `return tap_done();`: it prints the plan and
 * returns non-zero when anything failed.  tap_skip_all(why) skips a whole
 * file ("1..0 # SKIP why", exit 0).
 */
#ifndef PLINTH_TAP_H
#define PLINTH_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_result(int ok, const char *file, int line, const char *expr)
{
	tap_n++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tap_n, expr);
	if (!ok) {
		tap_failed++;
		printf("# %s:%d: failed: %s\n", file, line, expr);
	}
	return ok;
}

#define check(x) tap_result(!!(x), __FILE__, __LINE__, #x)

#define check_int(a, op, b)                                                                        \
	do {                                                                                       \
		long long tap_a = (long long)(a), tap_b = (long long)(b);                          \
		if (!tap_result(tap_a op tap_b, __FILE__, __LINE__, #a " " #op " " #b))            \
			printf("#   left: %lld\n#  right: %lld\n", tap_a, tap_b);                  \
	} while (0)

#define check_str(a, b)                                                                            \
	do {                                                                                       \
		const char *tap_a = (a), *tap_b = (b);                                             \
		int tap_ok = tap_a && tap_b && !strcmp(tap_a, tap_b);                              \
		if (!tap_result(tap_ok, __FILE__, __LINE__, #a " == " #b))                         \
			printf("#   left: \"%s\"\n#  right: \"%s\"\n", tap_a ? tap_a : "(null)",   \
			       tap_b ? tap_b : "(null)");                                          \
	} while (0)

static inline void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

static inline int tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 0;
}

#endif
