/* t-deb822.c - control-format paragraphs: fields, continuations, errors. */
#include "deb822.h"
#include "tap.h"

static char *value(const struct pl__para *p, const char *name)
{
	static char buf[512];
	const struct pl__field *f = pl__para_get(p, name);
	if (!f)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)f->value_len, f->value);
	return buf;
}

static void test_packages(void)
{
	static const char text[] = "# a comment before\n"
				   "Package: libc6\n"
				   "Version: 2.36-9+deb12u14\n"
				   "Depends: libgcc-s1,\n"
				   " libcrypt1 (>= 1:4.4.10-10~)\n"
				   "Description: GNU C Library: Shared libraries\n"
				   " Contains the standard libraries.\n"
				   " .\n"
				   " More text.\n"
				   "\n"
				   "\n"
				   "package: tzdata\r\n"
				   "Version:   2025b-0+deb12u1  \r\n"
				   "Empty:\n"
				   "Later:\n"
				   "  on the next line\n";
	struct pl__deb822 d;
	struct pl__para p = { 0 };
	struct pl_error *err = NULL;
	pl__deb822_init(&d, "Packages", text, sizeof(text) - 1);

	check_int(pl__deb822_next(&d, &p, &err), ==, 1);
	check_int(p.line, ==, 2);
	check_int(p.n, ==, 4);
	check_str(value(&p, "package"), "libc6");
	check_str(value(&p, "VERSION"), "2.36-9+deb12u14");
	check_str(value(&p, "Depends"), "libgcc-s1,\n libcrypt1 (>= 1:4.4.10-10~)");
	check_str(value(&p, "Description"),
		  "GNU C Library: Shared libraries\n Contains the standard libraries.\n .\n More "
		  "text.");
	check(pl__para_get(&p, "Provides") == NULL);

	check_int(pl__deb822_next(&d, &p, &err), ==, 1);
	check_int(p.line, ==, 12);
	check_str(value(&p, "Package"), "tzdata");
	check_str(value(&p, "Version"), "2025b-0+deb12u1");
	check_str(value(&p, "Empty"), "");
	check_str(value(&p, "Later"), "on the next line");
	check_int(pl__para_get(&p, "Later")->line, ==, 15);

	check_int(pl__deb822_next(&d, &p, &err), ==, 0);
	check(err == NULL);
	pl__para_release(&p);
}

static void expect_error(const char *text, const char *message)
{
	struct pl__deb822 d;
	struct pl__para p = { 0 };
	struct pl_error *err = NULL;
	pl__deb822_init(&d, "f", text, strlen(text));
	int rc;
	while ((rc = pl__deb822_next(&d, &p, &err)) == 1)
		;
	check_int(rc, ==, PL_EINVAL);
	check_str(pl_error_message(err), message);
	pl_error_free(err);
	pl__para_release(&p);
}

static void test_errors(void)
{
	expect_error(" continued\n", "f:1:1: a continuation line with no field before it");
	expect_error("A: 1\n\n no field\n", "f:3:1: a continuation line with no field before it");
	expect_error("A: 1\nnot a field\n", "f:2:1: expected 'Field: value'");
	expect_error("A: 1\n: x\n", "f:2:1: expected 'Field: value'");
	expect_error("A: 1\nB c: 2\n",
		     "f:2:2: a field name holds a character that is not printable ASCII");
	expect_error("A: 1\nB: 2\na: 3\n", "f:3:1: a field is repeated in one paragraph");

	char many[256 * 12 + 16];
	size_t n = 0;
	for (int i = 0; i <= PL_DEB822_FIELDS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "F%d: x\n", i);
	expect_error(many, "f:257:1: a paragraph has more than 256 fields");
}

static void test_empty(void)
{
	struct pl__deb822 d;
	struct pl__para p = { 0 };
	pl__deb822_init(&d, "f", "\n \n# only comments\n", 19);
	check_int(pl__deb822_next(&d, &p, NULL), ==, 0);
	pl__deb822_init(&d, "f", "A: no newline at the end", 24);
	check_int(pl__deb822_next(&d, &p, NULL), ==, 1);
	check_str(value(&p, "A"), "no newline at the end");
	check_int(pl__deb822_next(&d, &p, NULL), ==, 0);
	pl__para_release(&p);
}

int main(void)
{
	test_packages();
	test_errors();
	test_empty();
	return tap_done();
}
