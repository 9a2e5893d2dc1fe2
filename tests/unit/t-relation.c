/* t-relation.c - Depends-style relationships: parsing and satisfaction. */
#include "relation.h"
#include "tap.h"

static void test_parse(void)
{
	static const char text[] = "libc6 (>= 2.34), libgcc-s1 | libgcc1 (<< 1:4.1.1-21),\n"
				   " python3:any (= 3.11.2-1+b1), zlib1g ( >> 1:1.2.0 )";
	struct pl__relations r = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__relations_parse("Depends", text, sizeof(text) - 1, &r, &err), ==, 0);
	if (err) {
		tap_diag(pl_error_message(err));
		pl_error_free(err);
		return;
	}
	check_int(r.n, ==, 4);
	check_str(r.c[0].alt[0].name, "libc6");
	check_int(r.c[0].alt[0].op, ==, PL__REL_GE);
	check_str(r.c[0].alt[0].version, "2.34");
	check_int(r.c[1].n, ==, 2);
	check_str(r.c[1].alt[0].name, "libgcc-s1");
	check_int(r.c[1].alt[0].op, ==, PL__REL_ANY);
	check(r.c[1].alt[0].version == NULL);
	check_str(r.c[1].alt[1].version, "1:4.1.1-21");
	check_int(r.c[1].alt[1].op, ==, PL__REL_LT);
	check_str(r.c[2].alt[0].arch, "any");
	check_int(r.c[2].alt[0].op, ==, PL__REL_EQ);
	check_str(r.c[3].alt[0].version, "1:1.2.0");
	check_int(r.c[3].alt[0].op, ==, PL__REL_GT);

	check(pl__rel_satisfied(&r.c[0].alt[0], "2.36-9+deb12u14"));
	check(!pl__rel_satisfied(&r.c[0].alt[0], "2.33"));
	check(pl__rel_satisfied(&r.c[1].alt[0], "0"));
	check(pl__rel_satisfied(&r.c[1].alt[1], "1:4.1.1-20"));
	check(!pl__rel_satisfied(&r.c[1].alt[1], "1:4.1.1-21"));
	check(pl__rel_satisfied(&r.c[2].alt[0], "3.11.2-1+b1"));
	check(!pl__rel_satisfied(&r.c[2].alt[0], "3.11.2-1"));
	check(!pl__rel_satisfied(&r.c[3].alt[0], "1:1.2.0"));
	pl__relations_release(&r);

	check_int(pl__relations_parse("Depends", "  ", 2, &r, NULL), ==, 0);
	check_int(r.n, ==, 0);
	pl__relations_release(&r);

	/* dpkg still reads the obsolete "<" as "<=". */
	check_int(pl__relations_parse("Depends", "a (< 2)", 7, &r, NULL), ==, 0);
	check_int(r.c[0].alt[0].op, ==, PL__REL_LE);
	pl__relations_release(&r);
}

static void expect_error(const char *text, const char *message)
{
	struct pl__relations r = { 0 };
	struct pl_error *err = NULL;
	check_int(pl__relations_parse("Depends", text, strlen(text), &r, &err), ==, PL_EINVAL);
	check_str(pl_error_message(err), message);
	check(r.c == NULL);
	pl_error_free(err);
}

static void test_errors(void)
{
	expect_error("a,,b", "Depends: column 3: expected a package name");
	expect_error("a, ", "Depends: column 4: expected a package name after ','");
	expect_error("a (>= )", "Depends: column 7: expected a version");
	expect_error("a (>= 1.0", "Depends: column 10: expected ')'");
	expect_error("a (~ 1.0)", "Depends: column 4: expected a version relation: <<, <=, =, >= "
				  "or >>");
	expect_error("a b", "Depends: column 3: expected ',' or '|'");
	expect_error("a:", "Depends: column 3: expected an architecture after ':'");
	expect_error("a [amd64]",
		     "Depends: column 3: architecture lists and build profiles belong to source "
		     "packages");
	expect_error("A", "Depends: column 1: expected a package name");
}

int main(void)
{
	test_parse();
	test_errors();
	return tap_done();
}
