#!/usr/bin/env bash
# bench/push.sh - push N images that share one base to a local registry:
# 'plinth rebuild --push' (mounting the base's blobs) against a loop of
# 'skopeo copy' and a loop of 'plinth push' without --mount-from.
#
# See bench/README.md for what is measured and the latest results.
# shellcheck disable=SC2154 # REG_* and PROXY_* are set by lib-registry.sh
set -eu -o pipefail

usage() {
	cat <<'EOF'
usage: bench/push.sh [options]

Set up (timed apart): a key, a fresh signed catalog, a base recipe on
scratch with BASE_SIZE bytes of incompressible data in 3 files, and N
recipes on base@1 that each add one small file of their own; 'plinth
rebuild' builds, signs and tags all N+1 (and publishes the base).

Then push the N+1 images, each tool to a fresh docker-registry of its own
on 127.0.0.1 behind its own tests/cli/regproxy.py --log, in one run:

  plinth    plinth rebuild --catalog C --key K --out OUT RECIPES
            --push 127.0.0.1:P1/bench --insecure 127.0.0.1:P1
  skopeo    for each image: skopeo copy --dest-tls-verify=false
            oci:OUT/NAME:VERSION docker://127.0.0.1:P2/bench/NAME:VERSION
            (its blob-info cache cleared first)
  no mount  for each image: plinth push oci:OUT/NAME:VERSION
            127.0.0.1:P3/bench/NAME:VERSION --insecure 127.0.0.1:P3
            (no --mount-from)

From each proxy's request log it reports bytes uploaded, blob uploads,
mounts, manifests PUT, requests, and how often the base's layer was
uploaded (the target: once); checks the pushed manifests of 3 random images
on every registry against the layout; prints a Markdown table.

Options:
  -n, --count N        derived images (default 200, or $BENCH_COUNT)
  -b, --base-size B    bytes of the base's files (default 31457280 = 30 MiB,
                       or $BENCH_BASE_SIZE)
      --app-size B     bytes of each derived image's own file (default 4096)
  -j, --jobs J         'plinth rebuild -j J' (default: plinth's, the CPUs)
      --plinth PATH    the plinth binary; use a Release build without
                       sanitizers (default: build/plinth of this checkout)
      --work DIR       the work dir (default: bench/work/push of this
                       checkout, or $PLINTH_BENCH_DIR/push); emptied first,
                       removed at the end
      --keep           keep the work dir (and the proxies' logs) at the end
  -h, --help           show this help

Needs: bash, python3, jq, GNU time, skopeo, docker-registry (Debian's
docker-registry package); no network beyond 127.0.0.1.  The work dir needs
about BASE_SIZE x 2 + N x 100 KiB (the registries store each blob once).
Clears skopeo's blob-info cache (root: /var/lib/containers/cache/
blob-info-cache-v1.boltdb), which is only a cache.
EOF
}
die() { echo "push.sh: $*" >&2; exit 1; }
say() { echo "push.sh: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
count=${BENCH_COUNT:-200}
base_size=${BENCH_BASE_SIZE:-31457280}
app_size=4096
jobs=""
plinth=$repo/build/plinth
work=${PLINTH_BENCH_DIR:-$repo/bench/work}/push
keep=false
while [ $# -gt 0 ]; do
	case $1 in
	-n | --count) [ $# -ge 2 ] || die "$1 needs a value"; count=$2; shift 2 ;;
	--count=*) count=${1#*=}; shift ;;
	-b | --base-size) [ $# -ge 2 ] || die "$1 needs a value"; base_size=$2; shift 2 ;;
	--base-size=*) base_size=${1#*=}; shift ;;
	--app-size) [ $# -ge 2 ] || die "$1 needs a value"; app_size=$2; shift 2 ;;
	--app-size=*) app_size=${1#*=}; shift ;;
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
posint --base-size "$base_size"
posint --app-size "$app_size"
[ -z "$jobs" ] || posint --jobs "$jobs"
[ "$count" -le 9999 ] || die "--count must be at most 9999, not '$count'"
[ "$base_size" -ge 3 ] || die "--base-size must be at least 3 (three files)"

missing=""
for t in jq python3 skopeo docker-registry shuf; do command -v $t >/dev/null || missing="$missing $t"; done
[ -x /usr/bin/time ] || missing="$missing /usr/bin/time"
[ -z "$missing" ] || die "missing:$missing (apt-get install jq python3 time skopeo docker-registry)"
[ -x "$plinth" ] || die "no plinth binary at $plinth (build one: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DPLINTH_SANITIZE=OFF && cmake --build build-rel -j2; then --plinth build-rel/plinth)"
if [ ! -f "$repo/tests/cli/lib-registry.sh" ] || [ ! -f "$repo/tests/cli/regproxy.py" ]; then
	die "tests/cli/lib-registry.sh and tests/cli/regproxy.py are missing from this checkout"
fi
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
# skopeo's blob-info cache (containers/image's blobinfocache: the system
# one for root, the user's data dir otherwise).
if [ "$(id -u)" -eq 0 ]; then
	bic=/var/lib/containers/cache/blob-info-cache-v1.boltdb
else
	bic=${XDG_DATA_HOME:-$HOME/.local/share}/containers/cache/blob-info-cache-v1.boltdb
fi

# The work dir: emptied, but only if it is ours (or empty).
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
[ "$work" != / ] || die "--work must not be /"
if [ -n "$(ls -A "$work")" ] && [ ! -f "$work/.push-bench" ]; then
	die "$work is not empty and was not made by this script; remove it or choose another --work"
fi
find "$work" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
touch "$work/.push-bench"
need=$((base_size * 3 + count * 200 * 1024 + (256 << 20)))
avail=$(($(df -P -k "$work" | awk 'NR == 2 { print $4 }') * 1024))
[ "$avail" -ge "$need" ] || die "$work has $((avail >> 20)) MiB free; about $((need >> 20)) MiB are needed"

d=$work
logs=$d/logs
mkdir -p "$d/bin" "$logs" "$d/reg"
# lib-registry.sh keeps each server's files under $TMP/NAME.
export TMP=$d/reg
# shellcheck source=../tests/cli/lib-registry.sh
. "$repo/tests/cli/lib-registry.sh"
finished=false
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if ! $finished; then
		say "failed or interrupted: the work dir $work is left for inspection (logs: $work/logs)"
	elif ! $keep; then
		rm -rf "$work"
	fi
}
# registry_cleanup stops every server started here, by its pid.  It is
# named in the trap, so lib-registry.sh leaves the trap as it is.
trap 'set +e; registry_cleanup; cleanup' EXIT

# proxy_up NAME UPSTREAM: lib-registry.sh's proxy_start.  Sets
# PROXY_<NAME> and PROXY_<NAME>_LOG.
proxy_up() {
	proxy_start "$1" "$2"
}
# srv_cpu REG PROXY: the CPU time (user+sys, s) used so far by registry REG
# and proxy PROXY, from /proc/PID/stat.
tck=$(getconf CLK_TCK)
srv_cpu() {
	local t=0 n pid
	for n in "$@"; do
		pid=$(cat "$TMP/$n/pid")
		t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
	done
	awk -v t="$t" -v h="$tck" 'BEGIN { printf "%.2f", t / h }'
}
# overflows: how many SYNs the kernel dropped because a listen queue was
# full (TcpExtListenOverflows), machine-wide.
overflows() { awk '/^TcpExt:/ { if (!h) { split($0, k); h = 1 } else { split($0, v); for (i in k) if (k[i] == "ListenOverflows") print v[i] } }' /proc/net/netstat; }

# A private copy, so a rebuild of the build dir cannot change it mid-run.
cp "$plinth" "$d/bin/plinth.tmp" && mv "$d/bin/plinth.tmp" "$d/bin/plinth"
pl=$d/bin/plinth
plinth_sha=$(sha256sum "$pl" | cut -c1-12)
plinth_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$repo" --no-optional-locks status --porcelain --untracked-files=all -- builder include CMakeLists.txt 2>/dev/null)" ] ||
	plinth_rev="$plinth_rev+changes"
skopeo_v=$(skopeo --version | awk '{ print $3 }')
registry_v=$(docker-registry --version | awk '{ print $3 }')

export PLINTH_STATE=$d/state PLINTH_CACHE=$d/cache SOURCE_DATE_EPOCH=1700000000
unset PLINTH_CATALOG PLINTH_CATALOG_ID
cat=$d/catalog
key=$d/ops.key
rec=$d/recipes
out=$d/out
jopt=()
[ -z "$jobs" ] || jopt=(-j "$jobs")

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# run LOG CMD...: run CMD with its output in LOG; on failure show the end.
run() {
	local log=$1; shift
	"$@" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "failed: $* (log: $log)"; }
}

# --- 1. setup: key, catalog, recipes, the images built --------------------------
t_setup0=$(now)
say "setup: key, catalog, base of $base_size bytes, $count recipes on base@1"
run "$logs/keygen.log" "$pl" keygen "$d/ops"
run "$logs/init.log" "$pl" catalog init --catalog "$cat" --key "$key"
# The base: three files of pseudo-random (incompressible, but the same on
# every run) bytes, 1/2, 1/3 and the rest of BASE_SIZE.  Each derived
# recipe adds one file of APP_SIZE bytes of its own.
python3 - "$rec" "$count" "$base_size" "$app_size" <<'PYEOF'
import os, random, sys

rec, n, size, app = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(f"{rec}/base")
parts = [size // 2, size // 3]
parts.append(size - sum(parts))
files = ("libbase.so", "libextra.so", "data.bin")
for i, (name, k) in enumerate(zip(files, parts)):
    with open(f"{rec}/base/{name}", "wb") as f:
        f.write(random.Random(1000 + i).randbytes(k))
with open(f"{rec}/base/base.yaml", "w") as f:
    f.write("""# generated by bench/push.sh: the base every image builds on
name: base
version: 1.0.0
description: push bench base
epoch: 1700000000
files:
  - {path: /usr/lib/libbase.so, source: libbase.so}
  - {path: /usr/lib/libextra.so, source: libextra.so}
  - {path: /usr/share/base/data.bin, source: data.bin}
""")
width = max(4, len(str(n - 1)))
for i in range(n):
    name = f"app-{i:0{width}d}"
    os.makedirs(f"{rec}/{name}")
    with open(f"{rec}/{name}/own", "wb") as f:
        f.write(random.Random(i).randbytes(app))
    with open(f"{rec}/{name}/app.yaml", "w") as f:
        f.write(f"""# generated by bench/push.sh
name: {name}
version: 1.0.0
description: push bench image {i}
epoch: 1700000000
base: base@1
files:
  - {{path: /usr/local/share/{name}/own, source: own}}
""")
PYEOF
find "$rec" -mindepth 1 -maxdepth 1 -type d -name 'app-*' -printf '%f\n' | sort >"$d/names"
[ "$(wc -l <"$d/names")" -eq "$count" ] || die "expected $count recipe directories in $rec"
{ echo base; cat "$d/names"; } >"$d/all"
say "setup: plinth rebuild of base + $count images (untimed for the comparison)"
"$pl" rebuild --catalog "$cat" --key "$key" --out "$out" "$rec" "${jopt[@]}" --json \
	>"$logs/setup.out" 2>"$logs/setup.err" || { tail -n 20 "$logs/setup.err" >&2; die "the setup's rebuild failed (log: $logs/setup.err)"; }
t_setup1=$(now)
jq -e --argjson n $((count + 1)) '.summary | .rebuilt == $n and .failed == 0 and .published == 1' "$logs/setup.out" >/dev/null ||
	die "the setup's rebuild did not build all $((count + 1)) images and publish the base: $(jq -c .summary "$logs/setup.out")"

# The base's layer: what must cross the wire once.
tagged() { jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "1.0.0") | .digest' "$1/index.json"; }
base_manifest=$(tagged "$out/base")
[ -n "$base_manifest" ] || die "no image tagged 1.0.0 in $out/base"
bm=$out/base/blobs/sha256/${base_manifest#sha256:}
[ "$(jq '.layers | length' "$bm")" -eq 1 ] || die "the base has $(jq '.layers | length' "$bm") layers, not 1"
base_layer=$(jq -r '.layers[0].digest' "$bm")
base_layer_size=$(jq -r '.layers[0].size' "$bm")
base_hex=${base_layer#sha256:}
while read -r n; do
	[ -n "$(tagged "$out/$n")" ] || die "no image tagged 1.0.0 in $out/$n"
done <"$d/all"
# What one image's layout holds besides the image (signature, artifacts).
extra=$(jq '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] != "1.0.0")] | length' "$out/$(head -n1 "$d/names")/index.json")
say "setup: $(secs "$t_setup0" "$t_setup1") s; base layer $base_layer_size bytes; $extra more manifests per layout (signature, artifacts)"

# --- 2. three registries, each behind its own logging proxy ----------------------
say "starting 3 docker-registry instances and 3 regproxy.py on 127.0.0.1"
registry_start rplinth
proxy_up pplinth "http://$REG_rplinth"
registry_start rskopeo
proxy_up pskopeo "http://$REG_rskopeo"
registry_start rnomount
proxy_up pnomount "http://$REG_rnomount"
say "plinth: $PROXY_pplinth -> $REG_rplinth; skopeo: $PROXY_pskopeo -> $REG_rskopeo; no mount: $PROXY_pnomount -> $REG_rnomount"

"$pl" rebuild --catalog "$cat" --key "$key" --out "$out" "$rec" --plan \
	--push "$PROXY_pplinth/bench" --insecure "$PROXY_pplinth" >"$logs/plan.log" 2>&1 ||
	{ cat "$logs/plan.log" >&2; die "rebuild --plan --push failed"; }
head -n1 "$logs/plan.log" | grep -q "^$((count + 1)) of $((count + 1)) images to rebuild" ||
	die "the plan with --push is not to push all $((count + 1)) images: $(head -n1 "$logs/plan.log")"
unpushed=$(grep -c 'not pushed to the registry' "$logs/plan.log" || true)
[ "$unpushed" -eq $((count + 1)) ] || die "the plan says $unpushed images are unpushed, not $((count + 1))"

# The loops, as scripts so that GNU time measures them with their children.
# Progress goes to fd 3.
cat >"$d/bin/skopeo-loop" <<'EOF'
#!/usr/bin/env bash
# skopeo-loop OUT HOST NAMES: skopeo copy each image of OUT to HOST/bench.
set -eu -o pipefail
i=0 n=$(wc -l <"$3") t0=$(date +%s)
while read -r name; do
	skopeo copy --dest-tls-verify=false "oci:$1/$name:1.0.0" "docker://$2/bench/$name:1.0.0"
	i=$((i + 1))
	[ $((i % 50)) -ne 0 ] || echo "push.sh:   skopeo: $i of $n ($(($(date +%s) - t0)) s)" >&3
done <"$3"
EOF
cat >"$d/bin/push-loop" <<'EOF'
#!/usr/bin/env bash
# push-loop PLINTH OUT HOST NAMES: plinth push each image of OUT to
# HOST/bench, without --mount-from.
set -eu -o pipefail
i=0 n=$(wc -l <"$4") t0=$(date +%s)
while read -r name; do
	"$1" push "oci:$2/$name:1.0.0" "$3/bench/$name:1.0.0" --insecure "$3"
	i=$((i + 1))
	[ $((i % 50)) -ne 0 ] || echo "push.sh:   no mount: $i of $n ($(($(date +%s) - t0)) s)" >&3
done <"$4"
EOF
chmod +x "$d/bin/skopeo-loop" "$d/bin/push-loop"

# warm: the layouts into the page cache, dirty pages written back (untimed).
warm() {
	find "$out" -type f -exec cat {} + >/dev/null
	sync
}
# settle LOG: wait until the proxy's log stops growing (it writes a line
# once the answer is sent, so the client may have exited a moment before).
settle() {
	local a b
	b=$(wc -l <"$1" 2>/dev/null || echo 0)
	while :; do
		sleep 0.3
		a=$b
		b=$(wc -l <"$1" 2>/dev/null || echo 0)
		[ "$a" = "$b" ] && break
	done
}
# timed NAME CMD...: run CMD under GNU time (stdout NAME.out, stderr
# NAME.err); NAME.wall gets the wall time (s), NAME.time "CPU_S RSS_KB".
timed() {
	local name=$1; shift
	local t0 t1 rc=0
	warm
	t0=$(now)
	/usr/bin/time -f '%U %S %M' -o "$logs/$name.gnutime" "$@" >"$logs/$name.out" 2>"$logs/$name.err" 3>&2 || rc=$?
	t1=$(now)
	[ "$rc" -eq 0 ] || { tail -n 20 "$logs/$name.err" >&2; die "$name failed with status $rc (log: $logs/$name.err)"; }
	secs "$t0" "$t1" >"$logs/$name.wall"
	tail -n1 "$logs/$name.gnutime" | awk '{ printf "%.2f %d\n", $1 + $2, $3 }' >"$logs/$name.time"
}

# --- 3. the runs -----------------------------------------------------------------
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
ovf_start=$(overflows)
say "plinth: rebuild --push of $((count + 1)) images"
c0=$(srv_cpu rplinth pplinth)
timed plinth "$pl" rebuild --catalog "$cat" --key "$key" --out "$out" "$rec" "${jopt[@]}" --json \
	--push "$PROXY_pplinth/bench" --insecure "$PROXY_pplinth"
settle "$PROXY_pplinth_LOG"
p_srv=$(awk -v a="$c0" -v b="$(srv_cpu rplinth pplinth)" 'BEGIN { printf "%.2f", b - a }')
say "plinth: $(cat "$logs/plinth.wall") s"

# skopeo remembers, in its blob-info cache, in which repository of which
# registry it has seen each blob, and mounts from there.  Cleared, it starts
# knowing nothing of these registries, as plinth does; it still learns
# during the loop.
rm -f "$bic"
say "skopeo: skopeo copy loop of $((count + 1)) images (blob-info cache $bic cleared)"
c0=$(srv_cpu rskopeo pskopeo)
timed skopeo "$d/bin/skopeo-loop" "$out" "$PROXY_pskopeo" "$d/all"
settle "$PROXY_pskopeo_LOG"
s_srv=$(awk -v a="$c0" -v b="$(srv_cpu rskopeo pskopeo)" 'BEGIN { printf "%.2f", b - a }')
say "skopeo: $(cat "$logs/skopeo.wall") s"

say "no mount: plinth push loop of $((count + 1)) images, no --mount-from"
c0=$(srv_cpu rnomount pnomount)
timed nomount "$d/bin/push-loop" "$pl" "$out" "$PROXY_pnomount" "$d/all"
settle "$PROXY_pnomount_LOG"
n_srv=$(awk -v a="$c0" -v b="$(srv_cpu rnomount pnomount)" 'BEGIN { printf "%.2f", b - a }')
say "no mount: $(cat "$logs/nomount.wall") s"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
ovf_end=$(overflows)

# --- 4. figures from the proxies' logs -----------------------------------------------
cp "$PROXY_pplinth_LOG" "$logs/requests.plinth"
cp "$PROXY_pskopeo_LOG" "$logs/requests.skopeo"
cp "$PROXY_pnomount_LOG" "$logs/requests.nomount"
# stats LOG: "BYTES UPLOADS MOUNTS MOUNT_TRIES MANIFESTS REQUESTS BASE_UPLOADS
# BASE_BYTES ODD" where BASE_BYTES is what the PATCH/PUT requests of
# uploads of the base's layer carried, and ODD counts answers that are
# neither 2xx/3xx nor a 404 to HEAD or GET, and aborted requests.
stats() {
	awk -v hex="$base_hex" '
	function upload(p) { return p ~ /^\/v2\/.+\/blobs\/uploads/ }
	{
		req++
		m = $1; p = $2; s = $3; b = $4
		if ((m == "POST" || m == "PUT" || m == "PATCH") && upload(p)) {
			bytes += b
			u = p; sub(/\?.*/, "", u)
			sess[u] += b
		}
		if (m == "PUT" && upload(p) && s == 201) {
			uploads++
			u = p; sub(/\?.*/, "", u)
			if (p ~ ("digest=sha256(:|%3[Aa])" hex)) { base++; basebytes += sess[u] }
		}
		if (m == "POST" && p ~ /[?&]mount=/) { tries++; if (s == 201) mounts++ }
		if (m == "PUT" && p ~ /^\/v2\/.+\/manifests\// && s == 201) manifests++
		if (NF > 5 || !(s ~ /^[23]/ || (s == 404 && (m == "HEAD" || m == "GET")))) odd++
	}
	END { printf "%.0f %d %d %d %d %d %d %.0f %d\n", bytes, uploads, mounts, tries, manifests, req, base, basebytes, odd }
	' "$1"
}
# methods LOG: the requests by method, "HEAD 123, GET 4, ...".
methods() { awk '{ n[$1]++ } END { for (m in n) printf "%s %d\n", m, n[m] }' "$1" | sort | paste -sd, | sed 's/,/, /g'; }
read -r p_bytes p_up p_mnt p_try p_man p_req p_base p_bb p_odd < <(stats "$logs/requests.plinth")
read -r s_bytes s_up s_mnt s_try s_man s_req s_base s_bb s_odd < <(stats "$logs/requests.skopeo")
read -r n_bytes n_up n_mnt n_try n_man n_req n_base n_bb n_odd < <(stats "$logs/requests.nomount")
read -r p_cpu _ <"$logs/plinth.time"
read -r s_cpu _ <"$logs/skopeo.time"
read -r n_cpu _ <"$logs/nomount.time"
p_wall=$(cat "$logs/plinth.wall") s_wall=$(cat "$logs/skopeo.wall") n_wall=$(cat "$logs/nomount.wall")

jq -e --argjson n $((count + 1)) '.summary | .affected == $n and .pushed == $n and .failed == 0
	and .dependency_failed == 0 and .not_started == 0 and .rebuilt == 0' "$logs/plinth.out" >/dev/null ||
	die "rebuild --push did not push all $((count + 1)) images (and build none): $(jq -c .summary "$logs/plinth.out")"
p_reported=$(jq .summary.uploaded "$logs/plinth.out")
# The order in which plinth pushed: when the base's push ended, and how
# many images had started before that.
jq -r '.affected[] | "\(.name) \(.seconds)"' "$logs/plinth.out" >"$d/plinth.seconds"

# --- 5. checks: 3 random images, on every registry, against the layout -----------------
checked=0 agree=0 sample=""
for n in $(shuf -n 3 "$d/names"); do
	sample="$sample $n"
	want=$(tagged "$out/$n")
	for r in "$REG_rplinth" "$REG_rskopeo" "$REG_rnomount"; do
		got=$(skopeo inspect --tls-verify=false "docker://$r/bench/$n:1.0.0" 2>>"$logs/inspect.err" | jq -r .Digest) || got="(error)"
		checked=$((checked + 1))
		if [ "$got" = "$want" ]; then agree=$((agree + 1)); else say "warning: $r/bench/$n:1.0.0 is $got, the layout has $want"; fi
	done
done
# and the base, whose layer is the point
for r in "$REG_rplinth" "$REG_rskopeo" "$REG_rnomount"; do
	got=$(skopeo inspect --tls-verify=false "docker://$r/bench/base:1.0.0" 2>>"$logs/inspect.err" | jq -r .Digest) || got="(error)"
	checked=$((checked + 1))
	if [ "$got" = "$base_manifest" ]; then agree=$((agree + 1)); else say "warning: $r/bench/base:1.0.0 is $got, the layout has $base_manifest"; fi
done
finished=true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
met=$([ "$p_base" -eq 1 ] && echo met || echo "**missed**")
# shellcheck disable=SC2016 # the backquotes are Markdown
cat <<EOF

$((count + 1)) images: base 1.0.0 ($base_size bytes in 3 files of pseudo-random bytes, one layer of
$base_layer_size bytes, $(mib "$base_layer_size") MiB) and $count images on base@1, each adding one file of $app_size bytes.
Each layout also holds $extra manifests besides the image (signature, artifacts), which plinth pushes too.
plinth $plinth_sha ($plinth_rev, $build_type), skopeo $skopeo_v, docker-registry $registry_v;
$(nproc) CPUs, load average $load_start before, $load_end after; listen-queue overflows
(TcpExtListenOverflows, machine-wide) during the runs: $((ovf_end - ovf_start)). Setup (key, catalog, recipes,
\`plinth rebuild\` of all $((count + 1))): $(secs "$t_setup0" "$t_setup1") s, not part of the comparison.

| | plinth: \`rebuild --push\` | skopeo: \`skopeo copy\` loop | plinth: \`push\` loop, no \`--mount-from\` |
|---|---:|---:|---:|
| wall (s) | **$p_wall** | **$s_wall** | $n_wall |
| CPU user+sys of the client (s) | $p_cpu | $s_cpu | $n_cpu |
| CPU user+sys of its proxy + registry (s) | $p_srv | $s_srv | $n_srv |
| bytes uploaded (MiB) | **$p_bytes ($(mib "$p_bytes"))** | **$s_bytes ($(mib "$s_bytes"))** | $n_bytes ($(mib "$n_bytes")) |
| blob uploads (PUT 201) | $p_up | $s_up | $n_up |
| mounts (POST mount= 201, of tried) | $p_mnt of $p_try | $s_mnt of $s_try | $n_mnt of $n_try |
| manifests PUT | $p_man | $s_man | $n_man |
| requests in all | $p_req | $s_req | $n_req |
| base layer uploaded (times) | **$p_base** | **$s_base** | $n_base |
| base layer bytes uploaded (MiB) | $(mib "$p_bb") | $(mib "$s_bb") | $(mib "$n_bb") |
| odd answers (errors, aborted) | $p_odd | $s_odd | $n_odd |

Requests by method: plinth $(methods "$logs/requests.plinth"); skopeo $(methods "$logs/requests.skopeo");
no mount $(methods "$logs/requests.nomount"). plinth's own count of bytes uploaded (\`summary.uploaded\`): $p_reported.

| | measured | |
|---|---:|---|
| base layer uploaded once by \`rebuild --push\` | $p_base time(s) | $met |
| plinth : skopeo, wall time | **$(ratio "$p_wall" "$s_wall")** | |
| plinth : skopeo, bytes uploaded | **$(ratio "$p_bytes" "$s_bytes")** | |
| plinth, no mount : plinth, bytes uploaded | $(ratio "$n_bytes" "$p_bytes") | |
| plinth, no mount : plinth, wall time | $(ratio "$n_wall" "$p_wall") | |
| manifest digests on the registries = the layout's (base and$sample, 3 registries) | $agree of $checked | $([ "$agree" -eq "$checked" ] && echo ok || echo "**mismatch**") |
EOF
