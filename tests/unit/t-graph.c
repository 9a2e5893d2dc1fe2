/* t-graph.c - recipes found under directories, linked to their bases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"
#include "tap.h"

static char top[] = "/tmp/t-graph.XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", top, rel);
	for (char *p = path + strlen(top) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int load(const char *rel, struct pl__graph **g, char *msg, size_t n)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/%s", top, rel);
	const char *dirs[] = { dir };
	struct pl_error *err = NULL;
	*g = NULL;
	int rc = pl__graph_load(dirs, 1, g, &err);
	snprintf(msg, n, "%s", err ? pl_error_message(err) : "");
	pl_error_free(err);
	return rc;
}

static const char *name_at(const struct pl__graph *g, size_t i)
{
	return i < g->n ? g->nodes[g->order[i]].name : "";
}

static void test_tree(void)
{
	put("r/a.yaml", "name: a\nversion: 1.0.0\n");
	put("r/sub/b.yaml", "name: b\nversion: 1.0.0\nbase: a@1\n");
	put("r/sub/deeper/c.yml", "name: c\nversion: 2.0.0\nbase: b@1.0\n");
	put("r/d.yaml", "name: d\nversion: 1.0.0\nbase: ext@2\n");
	put("r/.hidden/x.yaml", "not: a recipe\n");
	put("r/.y.yaml", "not: a recipe\n");
	put("r/notes.txt", "not a recipe\n");
	struct pl__graph *g = NULL;
	char msg[1024];
	check_int(load("r", &g, msg, sizeof(msg)), ==, 0);
	check_str(msg, "");
	if (!g)
		return;
	check_int(g->n, ==, 4);
	/* every base before what is built on it; roots in name order */
	check_str(name_at(g, 0), "a");
	check_str(name_at(g, 1), "d");
	check_str(name_at(g, 2), "b");
	check_str(name_at(g, 3), "c");
	size_t a = pl__graph_find(g, "a"), b = pl__graph_find(g, "b"), c = pl__graph_find(g, "c"),
	       d = pl__graph_find(g, "d");
	check(a != PL__NO_NODE && b != PL__NO_NODE && c != PL__NO_NODE && d != PL__NO_NODE);
	check_int(pl__graph_find(g, "ext"), ==, PL__NO_NODE);
	if (a != PL__NO_NODE && b != PL__NO_NODE && c != PL__NO_NODE && d != PL__NO_NODE) {
		check_int(g->nodes[a].parent, ==, PL__NO_NODE);
		check_int(g->nodes[b].parent, ==, a);
		check_int(g->nodes[c].parent, ==, b);
		check_int(g->nodes[d].parent, ==, PL__NO_NODE); /* from the catalog */
		check_str(g->nodes[c].version, "2.0.0");
		check_str(g->nodes[c].base, "b@1.0");
		check(strstr(g->nodes[c].path, "/r/sub/deeper/c.yml") != NULL);
	}
	pl__graph_free(g);
}

static void test_errors(void)
{
	struct pl__graph *g = NULL;
	char msg[1024], want[1024];

	put("dup/x.yaml", "name: a\nversion: 1.0.0\n");
	put("dup/y.yaml", "name: a\nversion: 2.0.0\n");
	check_int(load("dup", &g, msg, sizeof(msg)), ==, PL_EINVAL);
	snprintf(want, sizeof(want),
		 "recipes '%s/dup/x.yaml' and '%s/dup/y.yaml' are both named 'a'", top, top);
	check_str(msg, want);
	check(g == NULL);

	/* p on q, q on p, s on p: the cycle is named, each on the next */
	put("cyc/p.yaml", "name: p\nversion: 1.0.0\nbase: q@1\n");
	put("cyc/q.yaml", "name: q\nversion: 1.0.0\nbase: p@1\n");
	put("cyc/s.yaml", "name: s\nversion: 1.0.0\nbase: p@1\n");
	put("cyc/t.yaml", "name: t\nversion: 1.0.0\n");
	check_int(load("cyc", &g, msg, sizeof(msg)), ==, PL_EINVAL);
	snprintf(want, sizeof(want),
		 "recipes are built on each other in a cycle (each on the next): p "
		 "(%s/cyc/p.yaml) -> q (%s/cyc/q.yaml) -> p",
		 top, top);
	check_str(msg, want);

	put("self/o.yaml", "name: o\nversion: 1.0.0\nbase: o@1\n");
	check_int(load("self", &g, msg, sizeof(msg)), ==, PL_EINVAL);
	snprintf(want, sizeof(want),
		 "recipes are built on each other in a cycle (each on the next): o "
		 "(%s/self/o.yaml) -> o",
		 top);
	check_str(msg, want);

	/* a file that is not a recipe: the parser's own message */
	put("bad/ok.yaml", "name: ok\nversion: 1.0.0\n");
	put("bad/z.yaml", "name: z\nversion: 1.0\n");
	check_int(load("bad", &g, msg, sizeof(msg)), ==, PL_EINVAL);
	snprintf(want, sizeof(want), "%s/bad/z.yaml:2:", top);
	check(!strncmp(msg, want, strlen(want)));

	check_int(load("absent", &g, msg, sizeof(msg)), ==, PL_ESYS);
	snprintf(want, sizeof(want), "cannot read directory '%s/absent'", top);
	check(!strncmp(msg, want, strlen(want)));

	/* no recipes at all: an empty graph */
	put("empty/README", "nothing\n");
	check_int(load("empty", &g, msg, sizeof(msg)), ==, 0);
	check(g && g->n == 0);
	pl__graph_free(g);
}

int main(void)
{
	if (!mkdtemp(top)) {
		tap_diag("cannot make a temporary directory");
		return 1;
	}
	test_tree();
	test_errors();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		tap_diag("cannot remove the temporary directory");
	return tap_done();
}
