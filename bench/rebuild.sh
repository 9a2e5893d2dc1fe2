#!/usr/bin/env bash
# bench/rebuild.sh - the rebuild storm: N images on one catalog base, the
# base superseded, 'plinth rebuild -j2' against a shell loop of 'plinth build'.
#
# See bench/README.md for what is measured and the latest results.
set -eu -o pipefail

usage() {
	cat <<'EOF'
usage: bench/rebuild.sh [options]

Publish a base (a few MB of /usr/lib) in a fresh signed catalog, generate N
recipes on it ('base: base@1'), each adding SIZE bytes of files of its own
(distinct slices of a pool of real /usr/lib files), and time, in one run:

  storm 0   plinth rebuild --catalog C --key K --out D RECIPES -j2 --json
            (every image built the first time, layer cache empty)
  storm     the same, after base 1.0.1 is published and supersedes 1.0.0
            (every image rebuilt on 1.0.1, its own layer from the cache)
  naive     for each recipe: plinth build RECIPE -o NAIVE/NAME --catalog C
            --json (one after another, no layer cache)

It checks that the storm and the loop made the same images (every manifest
digest, and the tagged manifest of 20 sampled layouts), and prints a
Markdown table of wall and CPU time, images built, layers reused and bytes
compressed.  The target of the issue is a storm under 30 s at the defaults.

Options:
  -n, --count N      derived recipes (default 1000)
  -s, --size BYTES   bytes of files each recipe adds (default 3145728 = 3 MiB)
  -j, --jobs J       builds at once in the storms (default 2)
      --plinth PATH  the plinth binary; use a Release build without
                     sanitizers (default: build/plinth of this checkout)
      --work DIR     the work dir (default: bench/work/rebuild of this
                     checkout, or $PLINTH_BENCH_DIR/rebuild); it is emptied
                     first and removed at the end
      --keep         keep the work dir at the end
  -h, --help         show this help

The work dir needs about 2.5 x N x SIZE + 1 GiB free (9 GB at the defaults).
It is left in place when the script fails, for inspection; the next run
empties it.
EOF
}
die() { echo "rebuild.sh: $*" >&2; exit 1; }
say() { echo "rebuild.sh: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
count=1000
size=3145728
jobs=2
plinth=$repo/build/plinth
work=${PLINTH_BENCH_DIR:-$repo/bench/work}/rebuild
keep=false
while [ $# -gt 0 ]; do
	case $1 in
	-n | --count) [ $# -ge 2 ] || die "$1 needs a value"; count=$2; shift 2 ;;
	--count=*) count=${1#*=}; shift ;;
	-s | --size) [ $# -ge 2 ] || die "$1 needs a value"; size=$2; shift 2 ;;
	--size=*) size=${1#*=}; shift ;;
	-j | --jobs) [ $# -ge 2 ] || die "$1 needs a value"; jobs=$2; shift 2 ;;
	--jobs=*) jobs=${1#*=}; shift ;;
	--plinth) [ $# -ge 2 ] || die "$1 needs a value"; plinth=$2; shift 2 ;;
	--plinth=*) plinth=${1#*=}; shift ;;
	--work) [ $# -ge 2 ] || die "$1 needs a value"; work=$2; shift 2 ;;
	--work=*) work=${1#*=}; shift ;;
	--keep) keep=true; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
posint() { case $2 in '' | *[!0-9]* | 0*) die "$1 must be a positive whole number, not '$2'" ;; esac; }
posint --count "$count"
posint --size "$size"
posint --jobs "$jobs"
[ "$count" -le 99999 ] || die "--count must be at most 99999, not '$count'"
[ "$size" -ge 3 ] || die "--size must be at least 3 (three files of each recipe)"

missing=""
for t in jq python3 sha256sum; do command -v $t >/dev/null || missing="$missing $t"; done
[ -x /usr/bin/time ] || missing="$missing /usr/bin/time"
[ -z "$missing" ] || die "missing:$missing (apt-get install jq python3 time coreutils)"
[ -x "$plinth" ] || die "no plinth binary at $plinth (build one: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel -j2; then --plinth build-rel/plinth)"
build_type=unknown
cache=$(dirname "$plinth")/CMakeCache.txt
if [ -f "$cache" ]; then
	build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
	[ -n "$build_type" ] || build_type="no CMAKE_BUILD_TYPE"
	grep -Eq '^PLINTH_(SANITIZE|FUZZ):BOOL=ON' "$cache" && build_type="$build_type+sanitizers"
fi
case $build_type in
Release | RelWithDebInfo | MinSizeRel) ;;
*) say "warning: $plinth is a '$build_type' build; the figures are meaningful for Release only" ;;
esac

# The work dir: emptied, but only if it is ours (or empty).
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
[ "$work" != / ] || die "--work must not be /"
if [ -n "$(ls -A "$work")" ] && [ ! -f "$work/.rebuild-bench" ]; then
	die "$work is not empty and was not made by this script; remove it or choose another --work"
fi
find "$work" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
touch "$work/.rebuild-bench"
need=$((count * size * 5 / 2 + (1 << 30)))
avail=$(($(df -P -k "$work" | awk 'NR == 2 { print $4 }') * 1024))
[ "$avail" -ge "$need" ] || die "$work has $((avail >> 20)) MiB free; about $((need >> 20)) MiB are needed"
finished=false
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if ! $finished; then
		say "failed or interrupted: the work dir $work is left for inspection (logs: $work/logs)"
	elif ! $keep; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT

d=$work
logs=$d/logs
mkdir -p "$d/bin" "$logs" "$d/img" "$d/out" "$d/naive"
# A private copy, so a rebuild of the build dir cannot change it mid-run.
cp "$plinth" "$d/bin/plinth.tmp" && mv "$d/bin/plinth.tmp" "$d/bin/plinth"
pl=$d/bin/plinth
plinth_sha=$(sha256sum "$pl" | cut -c1-12)
plinth_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$repo" --no-optional-locks status --porcelain --untracked-files=all -- builder include CMakeLists.txt 2>/dev/null)" ] ||
	plinth_rev="$plinth_rev+changes"

export PLINTH_STATE=$d/state PLINTH_CACHE=$d/cache SOURCE_DATE_EPOCH=1700000000
unset PLINTH_CATALOG PLINTH_CATALOG_ID
cat=$d/catalog
key=$d/ops.key
rec=$d/recipes

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# run LOG CMD...: run CMD with its output in LOG; on failure show the end.
run() {
	local log=$1; shift
	"$@" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "failed: $* (log: $log)"; }
}
# warm: read the recipes' files into the page cache and write back what is
# dirty (untimed), so every timed phase reads them from memory and no
# writeback from earlier phases lands in it.
warm() {
	find "$rec" -type f -exec cat {} + >/dev/null
	sync
}

# --- 1. setup: keys, catalog, base 1.0.0 --------------------------------------
t_setup0=$(now)
say "setup: key, catalog, base 1.0.0"
run "$logs/keygen.log" "$pl" keygen "$d/ops"
run "$logs/init.log" "$pl" catalog init --catalog "$cat" --key "$key"
lib=/usr/lib/x86_64-linux-gnu
[ -f "$lib/libcrypto.so.3" ] || lib=$(dirname "$(find /usr/lib -name 'libcrypto.so.3' -print -quit)")
if [ ! -f "$lib/libcrypto.so.3" ] || [ ! -f "$lib/libssl.so.3" ]; then
	die "no libcrypto.so.3 and libssl.so.3 under /usr/lib"
fi
mkdir -p "$d/base"
cp "$lib/libcrypto.so.3" "$lib/libssl.so.3" "$d/base/"
echo "base 1.0.0" >"$d/base/base-release"
cat >"$d/base/base.yaml" <<'EOF'
# generated by bench/rebuild.sh: the base every derived recipe builds on
name: base
version: 1.0.0
description: rebuild bench base
epoch: 1700000000
files:
  - {path: /usr/lib/libcrypto.so.3, source: libcrypto.so.3}
  - {path: /usr/lib/libssl.so.3, source: libssl.so.3}
  - {path: /etc/base-release, source: base-release}
config:
  workdir: /home/nonroot
EOF
base_bytes=$(du -cb "$d/base/libcrypto.so.3" "$d/base/libssl.so.3" "$d/base/base-release" | tail -n1 | cut -f1)
run "$logs/base-1.0.0.log" "$pl" build "$d/base/base.yaml" -o "$d/img/base"
run "$logs/sign-1.0.0.log" "$pl" sign --key "$key" "oci:$d/img/base:1.0.0"
run "$logs/publish-1.0.0.log" "$pl" catalog publish --catalog "$cat" --key "$key" "oci:$d/img/base:1.0.0"
t_setup1=$(now)

# --- 2. the derived recipes ----------------------------------------------------
# A pool of real files from /usr/lib (regular files of 16 KiB or more, in
# path order, each inode once) concatenated in memory, 256 MiB or 4 x SIZE;
# recipe i takes SIZE contiguous bytes from offset i x 1000003 (a prime,
# about 0.95 MiB) modulo the room left, cut into three files. Every recipe
# thus has its own bytes: different offsets, never repeated within one
# recipe, compressing like real binaries do.
say "generating $count recipes of $size bytes each"
t_gen0=$(now)
python3 - "$rec" "$count" "$size" <<'PYEOF'
import os, sys

rec, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = max(256 << 20, 4 * size)
pool, seen, paths = bytearray(), set(), []
for top, dirs, files in os.walk("/usr/lib"):
    dirs.sort()
    paths += [os.path.join(top, f) for f in sorted(files)]
for p in paths:
    try:
        st = os.lstat(p)
        if not (st.st_mode & 0o170000 == 0o100000) or st.st_size < 16384:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        with open(p, "rb") as f:
            pool += f.read()
    except OSError:
        continue
    if len(pool) >= want:
        break
if len(pool) < size + n:
    sys.exit(f"rebuild.sh: /usr/lib holds only {len(pool)} bytes of files, too few")
room = len(pool) - size
offsets = [(i * 1000003) % room for i in range(n)]
if len(set(offsets)) != n:
    sys.exit("rebuild.sh: two recipes would have the same bytes; choose another --count")
mv = memoryview(pool)
parts = [size // 2, size // 3]
parts.append(size - sum(parts))
width = max(4, len(str(n - 1)))
for i, off in enumerate(offsets):
    name = f"app-{i:0{width}d}"
    d = f"{rec}/{name}"
    for sub in ("bin", "lib", "share"):
        os.makedirs(f"{d}/{sub}")
    a = off
    for src, k in zip(("bin/app", "lib/libapp.so", "share/data"), parts):
        with open(f"{d}/{src}", "wb") as f:
            f.write(mv[a:a + k])
        a += k
    os.chmod(f"{d}/bin/app", 0o755)
    with open(f"{d}/app.yaml", "w") as f:
        f.write(f"""# generated by bench/rebuild.sh
name: {name}
version: 1.0.0
description: rebuild bench image {i}
epoch: 1700000000
base: base@1
files:
  - {{path: /usr/local/bin/app, source: bin/app, mode: "0755"}}
  - {{path: /usr/local/lib/libapp.so, source: lib/libapp.so}}
  - {{path: /usr/local/share/app/data, source: share/data}}
config:
  entrypoint: [/usr/local/bin/app]
""")
with open(f"{rec}/../pool.size", "w") as f:
    print(len(pool), file=f)
PYEOF
t_gen1=$(now)
pool_bytes=$(cat "$d/pool.size")
find "$rec" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort >"$d/names"
[ "$(wc -l <"$d/names")" -eq "$count" ] || die "expected $count recipe directories in $rec"
rec_bytes=$(find "$rec/$(head -n1 "$d/names")" -type f ! -name '*.yaml' -printf '%s\n' | awk '{ n += $1 } END { print n }')
say "generated $count recipes in $(secs "$t_gen0" "$t_gen1") s (pool $((pool_bytes >> 20)) MiB)"

# timed NAME CMD...: run CMD under GNU time, stdout to NAME.out, stderr to
# NAME.err; leaves wall (s, from date) in NAME.wall and "CPU_S RSS_KB"
# (user+sys of CMD and the children it waited for, the largest peak RSS)
# in NAME.time.
timed() {
	local name=$1; shift
	local t0 t1 rc=0
	warm
	t0=$(now)
	/usr/bin/time -f '%U %S %M' -o "$logs/$name.gnutime" "$@" >"$logs/$name.out" 2>"$logs/$name.err" || rc=$?
	t1=$(now)
	[ "$rc" -eq 0 ] || { tail -n 20 "$logs/$name.err" >&2; die "$name failed with status $rc (log: $logs/$name.err)"; }
	secs "$t0" "$t1" >"$logs/$name.wall"
	tail -n1 "$logs/$name.gnutime" | awk '{ printf "%.2f %d\n", $1 + $2, $3 }' >"$logs/$name.time"
}

# --- 3. storm 0: every image built the first time -----------------------------
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "storm 0: plinth rebuild -j$jobs of $count new images"
timed storm0 "$pl" rebuild --catalog "$cat" --key "$key" --out "$d/out" "$rec" -j"$jobs" --json
say "storm 0: $(cat "$logs/storm0.wall") s"

# --- 4. base 1.0.1 supersedes 1.0.0 --------------------------------------------
t_sup0=$(now)
# The patch: libssl changes (64 bytes appended) and so does base-release.
printf '%-63s\n' "plinth rebuild bench: base 1.0.1" >>"$d/base/libssl.so.3"
echo "base 1.0.1" >"$d/base/base-release"
run "$logs/base-1.0.1.log" "$pl" build "$d/base/base.yaml" -o "$d/img/base" --image-version 1.0.1
run "$logs/sign-1.0.1.log" "$pl" sign --key "$key" "oci:$d/img/base:1.0.1"
run "$logs/publish-1.0.1.log" "$pl" catalog publish --catalog "$cat" --key "$key" "oci:$d/img/base:1.0.1"
run "$logs/supersede.log" "$pl" catalog supersede --catalog "$cat" --key "$key" base@1.0.0 base@1.0.1
t_sup1=$(now)
run "$logs/plan.log" "$pl" rebuild --catalog "$cat" --key "$key" --out "$d/out" "$rec" --plan
head -n1 "$logs/plan.log" | grep -q "^$count of $count images to rebuild" ||
	die "the plan after the supersede is not to rebuild all $count images: $(head -n1 "$logs/plan.log")"

# --- 5. the storm, then the naive loop -----------------------------------------
say "storm: plinth rebuild -j$jobs of $count images on base 1.0.1"
timed storm "$pl" rebuild --catalog "$cat" --key "$key" --out "$d/out" "$rec" -j"$jobs" --json
say "storm: $(cat "$logs/storm.wall") s"

cat >"$d/bin/naive" <<'EOF'
#!/usr/bin/env bash
# naive PLINTH CATALOG RECIPES OUT NAMES: plinth build each recipe in turn.
set -eu -o pipefail
while read -r name; do
	"$1" build "$3/$name/app.yaml" -o "$4/$name" --catalog "$2" --json
done <"$5"
EOF
chmod +x "$d/bin/naive"
say "naive: $count x plinth build, one after another"
timed naive "$d/bin/naive" "$pl" "$cat" "$rec" "$d/naive" "$d/names"
say "naive: $(cat "$logs/naive.wall") s"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 6. checks and figures -------------------------------------------------------
for s in storm0 storm; do
	jq -e --argjson n "$count" '.summary | .affected == $n and .rebuilt == $n and .failed == 0
		and .dependency_failed == 0 and .not_started == 0' "$logs/$s.out" >/dev/null ||
		die "$s did not rebuild all $count images: $(jq -c .summary "$logs/$s.out")"
done
[ "$(jq -s length "$logs/naive.out")" -eq "$count" ] || die "the naive loop did not print $count JSON documents"
# Every image: the storm's digest of each name against the loop's.
jq -r '.affected[] | "\(.name) \(.digest)"' "$logs/storm.out" | sort >"$d/digests.storm"
paste -d' ' "$d/names" <(jq -r .digest "$logs/naive.out") | sort >"$d/digests.naive"
all_same=$(comm -12 "$d/digests.storm" "$d/digests.naive" | wc -l)
# 20 sampled layouts (or all, when fewer): the manifest each index.json tags with the version.
tagged() { jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "1.0.0") | .digest' "$1"; }
sampled=0 sample_same=0 k=$((count < 20 ? count : 20))
for i in $(seq 0 $((k - 1))); do
	name=$(sed -n "$((i * count / k + 1))p" "$d/names")
	[ -n "$name" ] || continue
	sampled=$((sampled + 1))
	a=$(tagged "$d/out/$name/index.json") b=$(tagged "$d/naive/$name/index.json")
	[ -n "$a" ] && [ "$a" = "$b" ] && sample_same=$((sample_same + 1))
done
[ "$all_same" -eq "$count" ] || say "warning: only $all_same of $count storm digests equal the naive loop's (diff $d/digests.storm $d/digests.naive)"
[ "$sample_same" -eq "$sampled" ] || say "warning: only $sample_same of $sampled sampled layouts tag the same manifest"

js() { jq -r "$1" "$2"; }
read -r s0_cpu s0_rss <"$logs/storm0.time"
read -r st_cpu st_rss <"$logs/storm.time"
read -r nv_cpu nv_rss <"$logs/naive.time"
s0_wall=$(cat "$logs/storm0.wall") st_wall=$(cat "$logs/storm.wall") nv_wall=$(cat "$logs/naive.wall")
s0_built=$(js .summary.rebuilt "$logs/storm0.out") s0_reused=$(js .summary.reused "$logs/storm0.out")
s0_comp=$(js .summary.compressed "$logs/storm0.out")
st_built=$(js .summary.rebuilt "$logs/storm.out") st_reused=$(js .summary.reused "$logs/storm.out")
st_comp=$(js .summary.compressed "$logs/storm.out")
nv_comp=$(jq -s 'map(.layer.size) | add' "$logs/naive.out")
nv_reused=$(jq -s 'map(select(.layer_reused)) | length' "$logs/naive.out")
nv_tar=$(jq -s 'map(.layer.tar_size) | add' "$logs/naive.out")
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
s0_med=$(jq -r '.affected[].seconds' "$logs/storm0.out" | median)
st_med=$(jq -r '.affected[].seconds' "$logs/storm.out" | median)
nv_per=$(awk -v w="$nv_wall" -v n="$count" 'BEGIN { printf "%.3f", w / n }')
ratio=$(awk -v a="$nv_wall" -v b="$st_wall" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v v="$st_wall" 'BEGIN { print (v < 30) ? "met" : "**missed**" }')
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
comp() { printf '%s (%s MiB)' "$1" "$(mib "$1")"; }
same() { if [ "$1" -eq "$2" ]; then echo "yes, $1 of $2"; else echo "**no**: $1 of $2"; fi; }
finished=true

# shellcheck disable=SC2016 # the backquotes are Markdown
cat <<EOF

$count derived recipes on base@1, each adding $rec_bytes bytes in 3 files (slices of a $((pool_bytes >> 20)) MiB
pool of /usr/lib files; tar stream of all layers $nv_tar bytes); base: $base_bytes bytes of files.
plinth $plinth_sha ($plinth_rev, $build_type); $(nproc) CPUs, load average $load_start before, $load_end after.
Setup (key, catalog, base 1.0.0 built, signed, published): $(secs "$t_setup0" "$t_setup1") s; generating the
recipes: $(secs "$t_gen0" "$t_gen1") s; base 1.0.1 built, signed, published, superseding 1.0.0: $(secs "$t_sup0" "$t_sup1") s.

| | storm 0: \`rebuild -j$jobs\`, new | storm: \`rebuild -j$jobs\`, base superseded | naive: \`build\` loop, no layer cache |
|---|---:|---:|---:|
| wall (s) | $s0_wall | **$st_wall** | **$nv_wall** |
| CPU user+sys (s) | $s0_cpu | $st_cpu | $nv_cpu |
| per image (s) | $s0_med (median build) | $st_med (median build) | $nv_per (wall / N) |
| peak RSS, largest process (MiB) | $(mib $((s0_rss * 1024))) | $(mib $((st_rss * 1024))) | $(mib $((nv_rss * 1024))) |
| images built (and signed, for rebuild) | $s0_built | $st_built | $count |
| layers reused | $s0_reused | $st_reused | $nv_reused |
| bytes compressed | $(comp "$s0_comp") | $(comp "$st_comp") | $(comp "$nv_comp") |

| target | measured | |
|---|---:|---|
| storm under 30 s | $st_wall s | $met |
| naive / storm | **${ratio}x** | |
| storm's images = naive loop's (manifest digest of every image) | $(same "$all_same" "$count") | |
| same tagged manifest in index.json, $sampled sampled layouts | $(same "$sample_same" "$sampled") | |
EOF
