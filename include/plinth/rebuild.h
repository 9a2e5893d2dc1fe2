/*
 * plinth/rebuild.h - the rebuild storm: every image affected by a change
 * of base, rebuilt in dependency order, in parallel, resumably.
 *
 * The recipes under some directories form a graph: a recipe whose base is
 * NAME@RANGE depends on the recipe named NAME when the set has one (its
 * image is published in the catalog as a base, and so others can build on
 * it, to any depth), else on the catalog's NAME.  Each recipe's output is
 * the OCI layout OUT/NAME, tagged with the image's version.
 *
 * An image is affected when it has no output yet, when its recipe or lock
 * changed since its output was built, when a host file it copies changed
 * since a storm built it (OUT/.plinth/sources has what each build read), when its base resolves to another
 * image than the one its output was built on (the output's
 * org.opencontainers.image.base.digest), or when its base is itself
 * rebuilt.  An output that is current but not signed with the key, or a
 * base's that is not in the catalog, is finished (signed, published)
 * without being rebuilt.  Nothing else is touched.
 *
 * Versions: an image keeps its recipe's version, except a base (an image
 * others build on, or one the catalog has): rebuilt, it becomes the next
 * patch version in its recipe's MAJOR.MINOR line after the newest the
 * catalog has (1.4.2 -> 1.4.3), or the recipe's version when that is newer
 * or the line is empty.  It is published with that version and supersedes
 * every older version of its line made in OUT/NAME that the catalog still
 * approves (or deprecates), so what is built on it follows in the same
 * run; when the one it replaces was deprecated, it is deprecated too, for
 * the same reason.
 *
 * OUT/.plinth holds the run's state: `journal` (JSON lines, one event each:
 * begin, start, built, signed, published, deprecated, superseded, done,
 * failed, dependency-failed, cancelled, end, interrupted, every one with
 * its run number), `sources` (what each build read of its host files),
 * `layers` (the layer cache, see pl_build_options.layer_cache) and `lock`
 * (one run at a time).
 * Since what is done is read back from the outputs and the catalog, a run
 * that was killed at any point is finished by running again; the journal
 * records who did what.
 */
#ifndef PLINTH_REBUILD_H
#define PLINTH_REBUILD_H

#include "plinth/build.h"
#include "plinth/catalog.h"
#include "plinth/common.h"
#include "plinth/packages.h"
#include "plinth/registry.h"
#include "plinth/sign.h"

#define PL_REBUILD_NONE ((size_t)-1)

/* Why an image is in the storm. */
enum pl_rebuild_why {
	PL_REBUILD_UNCHANGED = 0,
	PL_REBUILD_NEW,          /* no output yet */
	PL_REBUILD_RECIPE,       /* its recipe or lock changed since its output */
	PL_REBUILD_FILES,        /* a host file it copies changed since its output */
	PL_REBUILD_BASE,         /* its base resolves to another image now */
	PL_REBUILD_BASE_REBUILT, /* its base is rebuilt in this run */
	PL_REBUILD_BANNED,       /* a base whose current image the catalog banned */
	PL_REBUILD_UNSIGNED,     /* current, but not signed with the key: sign it */
	PL_REBUILD_UNPUBLISHED,  /* a current base missing from the catalog: publish it */
	PL_REBUILD_UNSUPERSEDED, /* a current base that older versions of its line are
				  * still approved beside: supersede them */
	PL_REBUILD_UNPUSHED,     /* current, but not pushed where o->push says: push it */
};

enum pl_rebuild_state {
	PL_REBUILD_IDLE = 0,    /* unchanged, or not reached yet */
	PL_REBUILD_RUNNING,     /* being built */
	PL_REBUILD_DONE,        /* rebuilt (or finished) */
	PL_REBUILD_FAILED,      /* `error` says why */
	PL_REBUILD_DEP_FAILED,  /* its base failed: not built */
	PL_REBUILD_NOT_STARTED, /* the run was interrupted first */
};

/* One recipe of the storm.  Strings belong to the plan; optional ones are
 * NULL when they do not apply. */
struct pl_rebuild_item {
	const char *name, *recipe; /* the recipe's name and file */
	const char *version;       /* the image's version: its tag in OUT/NAME */
	const char *base_spec;     /* the recipe's base: "scratch" or NAME@RANGE */
	bool is_base;              /* published in the catalog, for others to build on */
	size_t parent;             /* the item of its base (an index), or PL_REBUILD_NONE */
	enum pl_rebuild_why why;
	/* its current output: tag and manifest digest, and the base it was
	 * built on (NAME:VERSION and digest, from its annotations) */
	const char *tag, *digest, *old_base, *old_base_digest;
	/* the base it is built on: NAME@VERSION and digest; for
	 * PL_REBUILD_BASE_REBUILT the digest is NULL until its base is built */
	const char *new_base, *new_base_digest;
	/* a base: the older versions of its line that the catalog approves
	 * or deprecates, which its version supersedes */
	const char *const *supersedes;
	size_t nsupersedes;
	/* what happened, after pl_rebuild_run() */
	enum pl_rebuild_state state;
	const char *error;      /* FAILED: why; DEP_FAILED: the base that failed */
	const char *new_digest; /* DONE: the manifest digest now tagged */
	bool built;             /* a new image was made (not only signed/published) */
	bool layer_reused;      /* ...from the layer cache */
	bool published;         /* published in the catalog */
	bool pushed;            /* pushed to the registry (o->push) */
	uint64_t uploaded;      /* ...bytes of blobs it uploaded there */
	uint64_t compressed;    /* bytes of layer compressed for it */
	double seconds;         /* wall time of its build */
};

struct pl_policy;

struct pl_rebuild_options {
	const char *const *dirs; /* the recipe directories */
	size_t ndirs;
	const char *out; /* OUT: created when absent */
	/* The catalog bases are resolved in and rebuilt bases published to,
	 * and the key (private, in its trust root) that signs every image
	 * and every change. */
	const struct pl_catalog_options *catalog;
	const struct pl_key *key;
	unsigned jobs; /* builds at once; 0: the number of online CPUs */
	/* For the builds: as in pl_build_options. */
	struct pl_apt_options apt;
	bool has_clock;
	uint64_t clock;
	enum pl_compression compression;
	const volatile int *cancel;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* The gates of every build (pl_build_options): the policy (NULL:
	 * none) and whether the recipes' tests are skipped. */
	const struct pl_policy *policy;
	bool skip_tests;
	const char *tmpdir, *path; /* for the tests, as in pl_build_options */
	/* "HOST/PREFIX": push every image of the storm to HOST/PREFIX/NAME:VERSION
	 * (with its signature and artifacts) once it is signed, mounting the
	 * blobs its base has from HOST/PREFIX/BASE; NULL: push nothing.  What
	 * was pushed is remembered in OUT/.plinth/pushed, and an image not
	 * pushed yet is in the storm (PL_REBUILD_UNPUSHED). */
	const char *push;
	const struct pl_registry_options *registry; /* with push: how */
	/* Called when an item starts (state RUNNING) and when it ends, with
	 * the counts so far; may be NULL. */
	void (*progress)(void *ctx, const struct pl_rebuild_item *it, size_t done, size_t total,
			 size_t running);
	void *progress_ctx;
};

struct pl_rebuild_plan;

/**
 * Read the recipes, resolve their bases, read the outputs and decide what
 * is affected and why.  Changes nothing.  Errors, before anything is
 * built: a recipe that does not parse, two recipes of one name, a cycle
 * of bases, bases that are neither in the set nor in the catalog (every
 * one named), a base banned in the catalog, an unreadable output.
 *
 * @return 0 with *out set (pl_rebuild_plan_free), or a negative pl_code.
 */
int pl_rebuild_plan(const struct pl_rebuild_options *o, struct pl_rebuild_plan **out,
		    struct pl_error **err);
void pl_rebuild_plan_free(struct pl_rebuild_plan *p);

/** The items, every base before what is built on it. */
size_t pl_rebuild_count(const struct pl_rebuild_plan *p);
const struct pl_rebuild_item *pl_rebuild_item(const struct pl_rebuild_plan *p, size_t i);
/** The number of the last run the journal has (0: none), and whether it
 * ended (or was interrupted) rather than being killed. */
unsigned pl_rebuild_last_run(const struct pl_rebuild_plan *p, bool *finished);

struct pl_rebuild_summary {
	unsigned run;     /* this run's number in the journal */
	size_t affected;  /* items in the storm */
	size_t rebuilt;   /* new images made */
	size_t reused;    /* ...of which took their layer from the cache */
	size_t finished;  /* only signed or published */
	size_t unchanged; /* not touched */
	size_t failed, dep_failed, not_started;
	size_t published;    /* new base versions in the catalog */
	size_t pushed;       /* images pushed (o->push) */
	uint64_t uploaded;   /* ...bytes of blobs they uploaded */
	uint64_t compressed; /* layer bytes compressed */
	double seconds;
};

/**
 * Run the storm `p` planned: up to o->jobs builds at once (each in a
 * process of its own), each starting as soon as its base is done.  A
 * failure fails its dependents only.
 *
 * @return 0 when every item is done, PL_EPOLICY when some failed (the
 *         items say which and why; *err names how many), another negative
 *         pl_code when the run itself could not go on (interrupted, the
 *         output directory unusable).  *s is filled in either way.
 */
int pl_rebuild_run(struct pl_rebuild_plan *p, const struct pl_rebuild_options *o,
		   struct pl_rebuild_summary *s, struct pl_error **err);

/** "new", "recipe changed", ...: a short name of `why`. */
const char *pl_rebuild_why_name(enum pl_rebuild_why why);

#endif
