/*
 * plinth/common.h - error reporting shared by every plinth module.
 *
 * Every fallible function takes `struct pl_error **err` as its last
 * argument.  On success it returns 0 (or a non-NULL pointer) and leaves
 * `*err` untouched; on failure it returns a negative `enum pl_code` (or
 * NULL) and, when `err` is not NULL, stores a newly allocated error that
 * the caller releases with pl_error_free().  Passing err == NULL is
 * allowed when the caller only wants the code.
 */
#ifndef PLINTH_COMMON_H
#define PLINTH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum pl_code {
	PL_OK = 0,
	PL_ESYS = -1,    /* a system call failed; pl_error_errno() says why */
	PL_ENOMEM = -2,  /* out of memory */
	PL_EINVAL = -3,  /* invalid input: recipe, JSON, arguments */
	PL_EPOLICY = -4, /* refused by policy */
	PL_EDIGEST = -5, /* content does not match its digest */
	PL_ELIMIT = -6,  /* input exceeds a named limit */
};

struct pl_error;

/**
 * The error's code, one of `enum pl_code` (never PL_OK).
 */
int pl_error_code(const struct pl_error *e);

/**
 * The errno value behind a PL_ESYS error, 0 for other codes.
 */
int pl_error_errno(const struct pl_error *e);

/**
 * The complete message: lowercase, no trailing full stop, with every
 * context layer added on the way up, for example
 * "recipe 'a.yaml': a.yaml:3:1: unknown key 'pkgs'".  Owned by `e`.
 */
const char *pl_error_message(const struct pl_error *e);

/**
 * Release an error.  pl_error_free(NULL) does nothing.
 */
void pl_error_free(struct pl_error *e);

/**
 * `s` made safe to print on a terminal: control characters (C0 but
 * newline and tab when `lines`, DEL, C1) and bytes that are not UTF-8
 * written \xNN.  Messages and findings quote what images, feeds and
 * recipes hold.  NULL when out of memory; the caller frees the result.
 */
char *pl_printable(const char *s, bool lines);

#endif
