/* t-debversion.c - dpkg version syntax and ordering, checked against dpkg itself. */
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debversion.h"
#include "tap.h"

extern char **environ;

static const char *const versions[] = {
	"0",
	"0~",
	"0~~",
	"0~a",
	"0a",
	"0.0",
	"0.1",
	"0.10",
	"0.9",
	"00.9",
	"1",
	"1.0",
	"1.0-0",
	"1.0-1",
	"1.0-1~bpo1",
	"1.0-1+b1",
	"1.0-1.1",
	"1.0-10",
	"1.0-2",
	"1.0~rc1",
	"1.0~rc1-1",
	"1.0+dfsg",
	"1.0+dfsg-1",
	"1.0.1",
	"1.0a",
	"1.0A",
	"1.0-a",
	"1:0.1",
	"1:1.0-1",
	"2:0",
	"10:1",
	"1.2.3-4",
	"1.2.3-4ubuntu1",
	"1.2.3+deb12u1",
	"2.36-9+deb12u14",
	"2.36-9+deb12u4",
	"3.0.19-1~deb12u1",
	"3.0.19-1",
	"1.0-1-1",
	"1.0-1-2",
	"7.88.1-10+deb12u8",
	"1:2.38.1-5+deb12u3",
	"2.38.1-5+deb12u3",
	"1.0.0~~",
	"a1",
};

/* dpkg --compare-versions A OP B, via posix_spawn: 1 true, 0 false, -1 error. */
static int dpkg_says(const char *a, const char *op, const char *b)
{
	char *argv[] = { (char *)"dpkg", (char *)"--compare-versions",
			 (char *)a,      (char *)op,
			 (char *)b,      NULL };
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	int rc = posix_spawnp(&pid, "dpkg", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	int status;
	if (rc != 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 0 ? 1 : WEXITSTATUS(status) == 1 ? 0 : -1;
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void test_known(void)
{
	check(pl__debver_cmp("1.0", "1.0") == 0);
	check(pl__debver_cmp("1.0~rc1", "1.0") < 0);
	check(pl__debver_cmp("1.0", "1.0+dfsg") < 0);
	check(pl__debver_cmp("1:0.1", "2.0") > 0);
	check(pl__debver_cmp("1.0-1", "1.0-1~bpo1") > 0);
	check(pl__debver_cmp("0.10", "0.9") > 0);
	check(pl__debver_cmp("1.0", "1.0-0") == 0);
	check(pl__debver_cmp("00.9", "0.9") == 0);
	check(pl__debver_cmp("1.0a", "1.0+") < 0);
	check(pl__debver_cmp("1.0~", "1.0") < 0);
}

static void test_valid(void)
{
	const char *why = NULL;
	check(pl__debver_valid("1:2.38.1-5+deb12u3", &why));
	check(pl__debver_valid("1.0-1-1", &why));
	check(!pl__debver_valid("", &why));
	check_str(why, "empty");
	check(!pl__debver_valid("a1", &why));
	check_str(why, "the upstream version does not start with a digit");
	check(!pl__debver_valid("x:1.0", &why));
	check_str(why, "the epoch is not a number");
	check(!pl__debver_valid("1.0-", &why));
	check_str(why, "the revision is empty");
	check(!pl__debver_valid("1.0 beta", &why));
	check_str(why, "the upstream version holds a character dpkg does not allow");
	check(!pl__debver_valid("1.0-a_b", &why));
	check_str(why, "the revision holds a character dpkg does not allow");
}

/* Every pair of the list, ordered as dpkg orders it. */
static void test_against_dpkg(void)
{
	if (dpkg_says("1", "lt", "2") != 1) {
		printf("ok %d # SKIP dpkg is not available\n", ++tap_n);
		return;
	}
	size_t n = sizeof(versions) / sizeof(versions[0]), pairs = 0, wrong = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int ours = sign(pl__debver_cmp(versions[i], versions[j]));
			int theirs = dpkg_says(versions[i], "lt", versions[j]) == 1   ? -1
				     : dpkg_says(versions[i], "gt", versions[j]) == 1 ? 1
										      : 0;
			pairs++;
			if (ours != theirs) {
				wrong++;
				printf("# %s vs %s: plinth %d, dpkg %d\n", versions[i], versions[j],
				       ours, theirs);
			}
		}
	check_int(pairs, ==, n * n);
	check_int(wrong, ==, 0);
}

int main(void)
{
	test_known();
	test_valid();
	test_against_dpkg();
	return tap_done();
}
