#!/usr/bin/env bash
# bench/catalog.sh - catalog resolve/admit latency and publish throughput at
# 10,000 versions across 500 bases.
#
# See bench/README.md for what is measured and the latest results.
set -eu
set -o pipefail

usage() {
	cat <<'EOF'
usage: bench/catalog.sh [options]

Make BASES OCI layouts of 20 signed images each (10,000 images for the
default 500 bases), publish them all into a catalog, and print Markdown
tables of:

  publish    publishes/s for single-image calls and for calls of many
             images each, early (catalog nearly empty) and late (catalog
             near 10,000 versions)
  resolve    'plinth catalog resolve NAME@RANGE' for random bases and
             ranges: median, p95, max per call (process start included)
  admit      'plinth admit oci:DIR:TAG' of images built on a catalog base
             (one base, and a chain of two)
  cold       the first resolve and admit after the state memory
             ($PLINTH_STATE) is removed, so the whole history is read

The target of the issue is under 5 ms per resolve and per admit call.

Options:
  -n, --calls N      timed resolve and admit calls each (default 300, at
                     least 200; or $BENCH_CALLS)
      --bases N      bases, 20 versions each (default 500)
      --batch N      images per call for the many-images publish (default 100)
      --plinth PATH  the plinth binary (or $PLINTH); default: build one with
                     CMAKE_BUILD_TYPE=Release in WORK/catalog/build
      --no-install   never apt-get install missing tools (fail instead)
  -h, --help         show this help

Environment:
  PLINTH_BENCH_DIR   the working area (default: bench/work of this checkout);
                     everything is written under WORK/catalog and made anew on
                     every run
  PLINTH, BENCH_CALLS  defaults for --plinth, --calls
EOF
}
die() { echo "catalog.sh: $*" >&2; exit 1; }
say() { echo "catalog.sh: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
calls=${BENCH_CALLS:-300}
bases=500
batch=100
plinth=${PLINTH:-}
install=true
while [ $# -gt 0 ]; do
	case $1 in
	-n | --calls) [ $# -ge 2 ] || die "$1 needs a value"; calls=$2; shift 2 ;;
	--calls=*) calls=${1#*=}; shift ;;
	--bases) [ $# -ge 2 ] || die "$1 needs a value"; bases=$2; shift 2 ;;
	--bases=*) bases=${1#*=}; shift ;;
	--batch) [ $# -ge 2 ] || die "$1 needs a value"; batch=$2; shift 2 ;;
	--batch=*) batch=${1#*=}; shift ;;
	--plinth) [ $# -ge 2 ] || die "$1 needs a value"; plinth=$2; shift 2 ;;
	--plinth=*) plinth=${1#*=}; shift ;;
	--no-install) install=false; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
posint() { case $2 in '' | *[!0-9]* | 0*) die "$1 must be a positive whole number, not '$2'" ;; esac; }
posint --calls "$calls"
posint --bases "$bases"
posint --batch "$batch"
[ "$bases" -le 1000 ] || die "--bases must be at most 1000, not '$bases'"
[ "$bases" -ge 10 ] || die "--bases must be at least 10, not '$bases'"
[ "$calls" -ge 200 ] || say "warning: --calls $calls is under 200; percentiles will be rough"

missing=""
for t in python3 jq cc cmake; do command -v $t >/dev/null || missing="$missing $t"; done
if [ -n "$missing" ]; then
	$install || die "missing:$missing (and --no-install was given)"
	say "installing:$missing"
	pk=${missing/ python3/ python3-minimal}
	pk=${pk/ cc/ gcc libc6-dev}
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $pk || { apt-get update && apt-get install -y --no-install-recommends $pk; } ||
		die "cannot install:$missing"
fi

work=${PLINTH_BENCH_DIR:-$repo/bench/work}
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
d=$work/catalog
logs=$d/logs
# Everything but the private build (kept, so that a rerun only recompiles
# what changed) is made anew.
find "$d" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$d/bin" "$d/images" "$logs"

# --- 0. the binary: given, or a Release build of this checkout ---------------
if [ -z "$plinth" ]; then
	say "building plinth (Release) in $d/build"
	cmake -S "$repo" -B "$d/build" -DCMAKE_BUILD_TYPE=Release >"$logs/cmake.log" 2>&1 ||
		{ tail -n 20 "$logs/cmake.log" >&2; die "cmake failed (log: $logs/cmake.log)"; }
	cmake --build "$d/build" -j"$(nproc)" --target plinth >>"$logs/cmake.log" 2>&1 ||
		{ tail -n 20 "$logs/cmake.log" >&2; die "the build failed (log: $logs/cmake.log)"; }
	plinth=$d/build/plinth
fi
[ -x "$plinth" ] || die "no plinth binary at $plinth"
build_type=unknown
cache=$(dirname "$plinth")/CMakeCache.txt
if [ -f "$cache" ]; then
	build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
	grep -Eq '^PLINTH_(SANITIZE|FUZZ):BOOL=ON' "$cache" && build_type="$build_type+sanitizers"
fi
case $build_type in
Release | RelWithDebInfo | MinSizeRel) ;;
*) say "warning: $plinth is a '$build_type' build; the figures are meaningful for Release only" ;;
esac
# A private copy, so a concurrent rebuild cannot change it mid-run.
cp "$plinth" "$d/bin/plinth.tmp" && mv "$d/bin/plinth.tmp" "$d/bin/plinth"
pl=$d/bin/plinth
plinth_sha=$(sha256sum "$pl" | cut -c1-12)
plinth_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$repo" --no-optional-locks status --porcelain --untracked-files=all -- builder include CMakeLists.txt 2>/dev/null)" ] ||
	plinth_rev="$plinth_rev+changes"
export PLINTH_STATE=$d/state
unset PLINTH_CATALOG

# timecalls CMDS OUT ERR: run each line of CMDS (arguments separated by
# tabs) in turn with posix_spawn, its stdout appended to OUT and its stderr
# to ERR, and print "WALL_US CPU_US STATUS" for it: wall time from just
# before the spawn to the return of wait4, the child's user+sys CPU time
# from wait4's rusage, and its exit status.
cat >"$d/bin/timecalls.c" <<'EOF'
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: timecalls CMDS OUT ERR\n"), 2;
	FILE *in = fopen(argv[1], "r");
	int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
	int err = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (!in || out < 0 || err < 0)
		return perror("timecalls"), 1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, in)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		size_t n = 1;
		for (char *p = line; *p; p++)
			n += *p == '\t';
		char **av = calloc(n + 1, sizeof(*av));
		if (!av)
			return perror("timecalls"), 1;
		n = 0;
		for (char *s = line, *tab;; s = tab + 1) {
			av[n++] = s;
			if (!(tab = strchr(s, '\t')))
				break;
			*tab = '\0';
		}
		pid_t pid;
		int status;
		struct rusage ru;
		double t0 = now_us();
		int rc = posix_spawn(&pid, av[0], &fa, NULL, av, environ);
		if (rc)
			return fprintf(stderr, "timecalls: cannot run '%s': %s\n", av[0], strerror(rc)), 1;
		if (wait4(pid, &status, 0, &ru) < 0)
			return perror("timecalls"), 1;
		double t1 = now_us();
		double cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
			     ru.ru_stime.tv_usec;
		printf("%.1f %.0f %d\n", t1 - t0, cpu,
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fflush(stdout);
		free(av);
	}
	free(line);
	return 0;
}
EOF
cc -O2 -o "$d/bin/timecalls" "$d/bin/timecalls.c" || die "cannot compile $d/bin/timecalls.c"

# timed NAME: run $d/NAME.cmds with timecalls into $logs/NAME.{times,out,err};
# every call must succeed.
timed() {
	local name=$1
	rm -f "$logs/$name.out" "$logs/$name.err"
	"$d/bin/timecalls" "$d/$name.cmds" "$logs/$name.out" "$logs/$name.err" >"$logs/$name.times" ||
		die "timecalls failed on $d/$name.cmds"
	[ "$(wc -l <"$logs/$name.times")" -eq "$(wc -l <"$d/$name.cmds")" ] || die "$name: not every call was timed"
	local bad
	bad=$(awk '$3 != 0 { print NR; exit }' "$logs/$name.times")
	[ -z "$bad" ] || { tail -n 5 "$logs/$name.err" >&2; die "$name: call $bad failed (logs in $logs/$name.*)"; }
}
# cmds NAME ARGS...: one line of $d/NAME.cmds (tab-separated).
cmds() { local name=$1; shift; (IFS=$'\t'; printf '%s\n' "$*") >>"$d/$name.cmds"; }

# --- 1. the images ------------------------------------------------------------
say "building the template image"
"$pl" keygen "$d/ops" >/dev/null
mkdir -p "$d/src/bin"
cp "$repo/recipes/hello/hello.c" "$d/src/"
cc -static -Os -o "$d/src/bin/hello" "$d/src/hello.c" || die "cannot compile the static hello (cc -static)"
sed -e 's/^name: .*/name: bench-template/' -e 's/^version: .*/version: 0.0.1/' \
	"$repo/recipes/hello/hello.yaml" >"$d/src/template.yaml"
"$pl" build "$d/src/template.yaml" -o "$d/template" --tag t >"$logs/template.out" 2>&1 ||
	{ cat "$logs/template.out" >&2; die "plinth build of the template failed"; }

# The generator writes, from the template's manifest (config and layer blobs
# hard-linked, annotations changed):
#   images/base-NNN      20 manifests, tags = versions, titled base-NNN
#   images/v3/base-NNN   base-NNN 3.0.0, for the late single publishes
#   images/apps          app-K (K < 10), each built on a random base@version
#   images/mid, app2     mid 1.0.0 on base-M:1.3.4, app2 1.0.0 on mid:1.0.0
# and the work lists: sign.list (LAYOUT TAG...), refs.all (publish order:
# every base's 1.0.0, then every base's 1.0.1, ...), refs.v3, and
# resolve.cmds/resolve.expect (random NAME@RANGE and the line it must give).
say "writing $((bases * 20)) images"
python3 - "$d" "$bases" "$calls" "$pl" <<'PYEOF'
import hashlib, json, os, random, sys

d, nbases, ncalls, pl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.1.1", "1.1.2", "1.2.0", "1.2.1", "1.2.2",
            "1.2.3", "1.3.0", "1.3.1", "1.3.2", "1.3.3", "1.3.4", "2.0.0", "2.0.1", "2.1.0",
            "2.1.1", "2.1.2"]
T = "org.opencontainers.image."
tpl = f"{d}/template"
tidx = json.load(open(f"{tpl}/index.json"))
tdesc = tidx["manifests"][0]
tman = json.load(open(f"{tpl}/blobs/sha256/{tdesc['digest'][7:]}"))
shared = [tman["config"]["digest"][7:]] + [l["digest"][7:] for l in tman["layers"]]

def layout(path):
    os.makedirs(f"{path}/blobs/sha256")
    with open(f"{path}/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    for h in shared:
        os.link(f"{tpl}/blobs/sha256/{h}", f"{path}/blobs/sha256/{h}")

def manifest(path, title, version, base=None):
    m = json.loads(json.dumps(tman))
    a = m["annotations"]
    a[T + "title"], a[T + "version"] = title, version
    a[T + "description"] = f"catalog bench {title} {version}"
    if base:
        a[T + "base.name"], a[T + "base.digest"] = base
    b = json.dumps(m, separators=(",", ":"), sort_keys=True).encode()
    h = hashlib.sha256(b).hexdigest()
    with open(f"{path}/blobs/sha256/{h}", "wb") as f:
        f.write(b)
    return {"mediaType": m["mediaType"], "digest": "sha256:" + h, "size": len(b),
            "platform": tdesc.get("platform", {"architecture": "amd64", "os": "linux"})}

def index(path, entries):  # entries: [(tag, descriptor)]
    ms = []
    for tag, desc in entries:
        desc = dict(desc)
        desc["annotations"] = {T + "ref.name": tag}
        ms.append(desc)
    with open(f"{path}/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": ms}, f, separators=(",", ":"), sort_keys=True)

img = f"{d}/images"
digest = {}
signs = []
for i in range(nbases):
    name, path = f"base-{i:03d}", f"{img}/base-{i:03d}"
    layout(path)
    entries = [(v, manifest(path, name, v)) for v in VERSIONS]
    index(path, entries)
    for v, desc in entries:
        digest[name, v] = desc["digest"]
    signs.append([path] + VERSIONS)
with open(f"{d}/refs.all", "w") as f:
    for v in VERSIONS:
        for i in range(nbases):
            f.write(f"oci:{img}/base-{i:03d}:{v}\n")

os.makedirs(f"{img}/v3")
with open(f"{d}/refs.v3", "w") as f:
    for i in range(min(200, nbases)):
        path = f"{img}/v3/base-{i:03d}"
        layout(path)
        index(path, [("3.0.0", manifest(path, f"base-{i:03d}", "3.0.0"))])
        signs.append([path, "3.0.0"])
        f.write(f"oci:{path}:3.0.0\n")

rnd = random.Random(20261123)
path = f"{img}/apps"
layout(path)
apps = []
for k in range(10):
    base = f"base-{rnd.randrange(nbases):03d}"
    v = rnd.choice(VERSIONS)
    apps.append((f"app-{k}", manifest(path, "app", f"1.0.{k}", (f"{base}:{v}", digest[base, v]))))
index(path, apps)
signs.append([path] + [t for t, _ in apps])
mbase = f"base-{nbases // 2:03d}"
layout(f"{img}/mid")
mid = manifest(f"{img}/mid", "mid", "1.0.0", (f"{mbase}:1.3.4", digest[mbase, "1.3.4"]))
index(f"{img}/mid", [("1.0.0", mid)])
layout(f"{img}/app2")
index(f"{img}/app2", [("1.0.0", manifest(f"{img}/app2", "app2", "1.0.0", ("mid:1.0.0", mid["digest"])))])
signs += [[f"{img}/mid", "1.0.0"], [f"{img}/app2", "1.0.0"]]
with open(f"{d}/sign.list", "w") as f:
    for s in signs:
        f.write(" ".join(s) + "\n")

# Ranges: the major, major.minor or exact version, or the bare name.
RANGES = {"1": "1.3.4", "1.1": "1.1.2", "1.2": "1.2.3", "2": "2.1.2", "2.0": "2.0.1",
          "1.3.4": "1.3.4", "": "2.1.2"}
cat = f"{d}/cat"
with open(f"{d}/resolve.cmds", "w") as c, open(f"{d}/resolve.expect", "w") as e:
    for _ in range(ncalls):
        base = f"base-{rnd.randrange(nbases):03d}"
        r = rnd.choice(sorted(RANGES))
        c.write("\t".join([pl, "catalog", "--catalog", cat, "resolve", f"{base}@{r}" if r else base]) + "\n")
        e.write(f"{base}@{RANGES[r]} {digest[base, RANGES[r]]}\n")
PYEOF
nimages=$(wc -l <"$d/refs.all")
say "images: $nimages in $bases layouts ($(du -sh "$d/images" | cut -f1), blobs hard-linked)"

# --- 2. signing (two processes at a time, one layout each) --------------------
cat >"$d/bin/signall" <<'EOF'
#!/bin/sh
# signall PLINTH KEY LAYOUT TAG...: sign every TAG of LAYOUT in turn.
pl=$1 key=$2 lay=$3; shift 3
for t in "$@"; do "$pl" sign --key "$key" "oci:$lay:$t" >/dev/null || exit 255; done
EOF
chmod +x "$d/bin/signall"
nsign=$(awk '{ n += NF - 1 } END { print n }' "$d/sign.list")
say "signing $nsign images (xargs -P2)"
t0=$(date +%s.%N)
xargs -P2 -L1 "$d/bin/signall" "$pl" "$d/ops.key" <"$d/sign.list" 2>"$logs/sign.err" ||
	{ tail -n 5 "$logs/sign.err" >&2; die "signing failed (log: $logs/sign.err)"; }
t1=$(date +%s.%N)
sign_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
say "signed $nsign images in $sign_wall s"

# --- 3. publishing --------------------------------------------------------------
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# (a) single-image calls into an empty catalog: the first 1,000 images.
nsingle=$((nimages < 1000 ? nimages : 1000))
"$pl" catalog --catalog "$d/single" init --key "$d/ops.key" >/dev/null
head -n "$nsingle" "$d/refs.all" | while read -r ref; do
	cmds pub-single "$pl" catalog --catalog "$d/single" publish --key "$d/ops.key" "$ref"
done
say "publishing $nsingle images one per call"
timed pub-single
# (b) the catalog of the latency runs: every image, $batch per call.
"$pl" catalog --catalog "$d/cat" init --key "$d/ops.key" >/dev/null
split -l "$batch" -d -a 4 "$d/refs.all" "$d/batch."
for f in "$d"/batch.*; do
	mapfile -t refs <"$f"
	cmds pub-batch "$pl" catalog --catalog "$d/cat" publish --key "$d/ops.key" "${refs[@]}"
	wc -l <"$f" >>"$d/pub-batch.sizes"
done
rm -f "$d"/batch.*
say "publishing $nimages images, $batch per call"
timed pub-batch
[ "$(jq .signed.version "$d/cat/catalog.json")" -eq $((nimages + 1)) ] || die "the catalog is not at version $((nimages + 1))"
cat_json=$(stat -c %s "$d/cat/catalog.json")
cat_hist=$(stat -c %s "$d/cat/history.jsonl")
cat_objs=$(find "$d/cat/objects" -type f | wc -l)
cat_obj_bytes=$(find "$d/cat/objects" -type f -printf '%s\n' | sort -n | tail -n1)

# --- 4. latency at $nimages versions ---------------------------------------------
# admit: the 10 app images in turn (each on one base of the catalog).
for i in $(seq 0 $((calls - 1))); do
	cmds admit "$pl" admit --catalog "$d/cat" "oci:$d/images/apps:app-$((i % 10))"
done
for i in $(seq 1 "$calls"); do cmds true /bin/true; done
for i in $(seq 1 "$calls"); do cmds version "$pl" --version; done
head -n1 "$d/resolve.cmds" >"$d/warmup.cmds"
timed warmup # untimed in the report: the state memory catches up
say "timing $calls resolve and $calls admit calls"
# Interleaved in rounds of 50, so slow periods hit every series alike.
for s in true version resolve admit; do
	split -l 50 -d -a 4 "$d/$s.cmds" "$d/$s.part."
	: >"$logs/$s.times.all"
done
for part in "$d"/resolve.part.*; do
	k=${part##*.}
	for s in true version resolve admit; do
		[ -f "$d/$s.part.$k" ] || continue
		mv "$d/$s.part.$k" "$d/$s-$k.cmds"
		timed "$s-$k"
		cat "$logs/$s-$k.times" >>"$logs/$s.times.all"
		cat "$logs/$s-$k.out" >>"$logs/$s.out.all"
	done
done
for s in true version resolve admit; do mv "$logs/$s.times.all" "$logs/$s.times"; done
diff -q "$logs/resolve.out.all" "$d/resolve.expect" >/dev/null ||
	die "resolve printed other versions than expected: diff $logs/resolve.out.all $d/resolve.expect"
[ "$(grep -c '^admitted ' "$logs/admit.out.all")" -eq "$calls" ] || die "not every admit call said 'admitted'"

# cold: the state memory removed before each call, 5 times each.
: >"$logs/cold-resolve.times"
: >"$logs/cold-admit.times"
for i in 1 2 3 4 5; do
	for s in resolve admit; do
		if [ $s = resolve ]; then head -n1 "$d/resolve.cmds" >"$d/cold-$s-$i.cmds"; else head -n1 "$d/admit.cmds" >"$d/cold-$s-$i.cmds"; fi
		rm -rf "$PLINTH_STATE"
		timed "cold-$s-$i"
		cat "$logs/cold-$s-$i.times" >>"$logs/cold-$s.times"
	done
done

# --- 5. late single publishes, then a chain of two bases ----------------------
while read -r ref; do
	cmds pub-late "$pl" catalog --catalog "$d/cat" publish --key "$d/ops.key" "$ref"
done <"$d/refs.v3"
nlate=$(wc -l <"$d/refs.v3")
say "publishing $nlate images one per call into the full catalog"
timed pub-late
"$pl" catalog --catalog "$d/cat" publish --key "$d/ops.key" "oci:$d/images/mid:1.0.0" >/dev/null
for i in $(seq 1 "$calls"); do cmds admit2 "$pl" admit --catalog "$d/cat" "oci:$d/images/app2:1.0.0"; done
say "timing $calls admit calls of an image two bases deep"
timed admit2
grep -q '2 bases approved' "$logs/admit2.out" || die "admit of app2 did not check two bases: $(head -n1 "$logs/admit2.out")"
final_versions=$(($(jq .signed.version "$d/cat/catalog.json") - 1))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 6. report ------------------------------------------------------------------
# quantiles: "median p95 max" of the numbers on stdin (p95: nearest rank).
quantiles() {
	sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = int(0.95 * NR + 0.999999); if (p < 1) p = 1
		printf "%.2f %.2f %.2f", m, v[p], v[NR] }'
}
# stats FILE: "median p95 max cpu_median" in ms of a times file.
stats() {
	printf '%s %s\n' "$(awk '{ print $1 / 1000 }' "$1" | quantiles)" \
		"$(awk '{ print $2 / 1000 }' "$1" | quantiles | cut -d' ' -f1)"
}
each() { awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1000 }' "$1"; }
lat_row() { # LABEL FILE
	local s; read -r -a s < <(stats "$2")
	printf '| %s | %d | %s | %s | %s | %s |\n' "$1" "$(wc -l <"$2")" "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}"
}
# pub FILE SIZES FROM TO: "images calls seconds per_s ms_per_image_median"
# over the calls FROM..TO of a times file (SIZES: images per call).
pub() {
	local sel; sel=$(paste -d' ' "$1" "$2" | sed -n "$3,$4p")
	printf '%s %s\n' "$(echo "$sel" | awk '{ n += $4; s += $1 / 1e6; c++ } END { printf "%d %d %.1f %.1f", n, c, s, n / s }')" \
		"$(echo "$sel" | awk '{ print $1 / 1000 / $4 }' | quantiles | cut -d' ' -f1)"
}
pub_row() { # LABEL FILE SIZES FROM TO
	local s; read -r -a s < <(pub "$2" "$3" "$4" "$5")
	printf '| %s | %d | %d | %s | %s | %s |\n' "$1" "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}" "${s[4]}"
}
awk -v n="$nsingle" 'BEGIN { while (n-- > 0) print 1 }' >"$d/pub-single.sizes"
awk -v n="$nlate" 'BEGIN { while (n-- > 0) print 1 }' >"$d/pub-late.sizes"
nb=$(wc -l <"$d/pub-batch.sizes")
k=$(((nsingle + batch - 1) / batch)) # calls that make the first/last ~1,000
k=$((k < nb ? k : nb))
met() { awk -v v="$1" -v t="$2" 'BEGIN { print (v < t) ? "met" : "**missed**" }'; }
read -r -a r < <(stats "$logs/resolve.times")
read -r -a a < <(stats "$logs/admit.times")
read -r -a a2 < <(stats "$logs/admit2.times")
read -r -a early < <(pub "$logs/pub-batch.times" "$d/pub-batch.sizes" 1 "$k")
read -r -a late < <(pub "$logs/pub-batch.times" "$d/pub-batch.sizes" $((nb - k + 1)) "$nb")
read -r -a s_early < <(pub "$logs/pub-single.times" "$d/pub-single.sizes" 1 "$nsingle")
read -r -a s_late < <(pub "$logs/pub-late.times" "$d/pub-late.sizes" 1 "$nlate")
# shellcheck disable=SC2016 # the backquotes are Markdown
cat <<EOF

Catalog: $bases bases x 20 versions = $nimages versions (version $((nimages + 1))); catalog.json $cat_json bytes,
history.jsonl $cat_hist bytes, $cat_objs objects (largest $cat_obj_bytes bytes).
plinth $plinth_sha ($plinth_rev, $build_type); $(nproc) CPUs, load average $load_start before, $load_end after.
Signing: $nsign images in $sign_wall s with xargs -P2 ($(awk -v n="$nsign" -v s="$sign_wall" 'BEGIN { printf "%.0f", n / s }') signatures/s).

Latency per call, process start included ($calls calls each, interleaved in rounds of 50):

| call | calls | median (ms) | p95 (ms) | max (ms) | CPU user+sys, median (ms) |
|---|---:|---:|---:|---:|---:|
$(lat_row '`/bin/true` (spawn and wait only)' "$logs/true.times")
$(lat_row '`plinth --version` (process start)' "$logs/version.times")
$(lat_row "\`catalog resolve NAME@RANGE\`, $nimages versions" "$logs/resolve.times")
$(lat_row "\`admit\`, 1 base, $nimages versions" "$logs/admit.times")
$(lat_row "\`admit\`, 2 bases deep, $final_versions versions" "$logs/admit2.times")
$(lat_row '`catalog resolve`, cold (no state memory)' "$logs/cold-resolve.times")
$(lat_row '`admit`, cold (no state memory)' "$logs/cold-admit.times")

Cold calls, each (ms): resolve $(each "$logs/cold-resolve.times"); admit $(each "$logs/cold-admit.times").

Publish throughput (wall time of whole calls, process start included):

| publish | images | calls | wall (s) | publishes/s | ms per image, median call |
|---|---:|---:|---:|---:|---:|
$(pub_row "one image per call, catalog 0 → $nsingle" "$logs/pub-single.times" "$d/pub-single.sizes" 1 "$nsingle")
$(pub_row "one image per call, catalog $nimages → $((nimages + nlate))" "$logs/pub-late.times" "$d/pub-late.sizes" 1 "$nlate")
$(pub_row "$batch images per call, catalog 0 → $((k * batch))" "$logs/pub-batch.times" "$d/pub-batch.sizes" 1 "$k")
$(pub_row "$batch images per call, catalog $((nimages - k * batch)) → $nimages" "$logs/pub-batch.times" "$d/pub-batch.sizes" $((nb - k + 1)) "$nb")
$(pub_row "$batch images per call, catalog 0 → $nimages (all)" "$logs/pub-batch.times" "$d/pub-batch.sizes" 1 "$nb")

| target | measured | |
|---|---:|---|
| \`catalog resolve\` median < 5 ms | ${r[0]} ms (p95 ${r[1]}) | $(met "${r[0]}" 5) |
| \`admit\` median < 5 ms | ${a[0]} ms (p95 ${a[1]}) | $(met "${a[0]}" 5) |
| \`admit\`, 2 bases deep, median < 5 ms | ${a2[0]} ms (p95 ${a2[1]}) | $(met "${a2[0]}" 5) |
| publish, late / early, $batch per call | $(awk -v a="${late[3]}" -v b="${early[3]}" 'BEGIN { printf "%.2f", a / b }') | |
| publish, late / early, one per call | $(awk -v a="${s_late[3]}" -v b="${s_early[3]}" 'BEGIN { printf "%.2f", a / b }') | |
EOF
