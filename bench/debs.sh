#!/usr/bin/env bash
# bench/debs.sh - build recipes/base from a local Debian mirror: plinth vs mmdebstrap.
#
# See bench/README.md for what is measured and the latest results.
set -eu
set -o pipefail

usage() {
	cat <<'EOF'
usage: bench/debs.sh [-n N] [--plinth PATH] [--no-install]

Copy the indices and .debs recipes/base needs from the host's apt sources
(or $MIRROR: "URI SUITE...; URI SUITE...") into WORK/mirror, lock a copy of
recipes/base/base.yaml against that file:// mirror, then time, N times each
(default 5, or $BENCH_RUNS), interleaved, and print a Markdown table:

  plinth warm      plinth build from the lock, $PLINTH_CACHE already full
  plinth cold      plinth build from the lock, empty cache (fetch, verify)
  plinth no lock   plinth build without a lock, empty cache (resolve too)
  mmdebstrap       mmdebstrap --mode=root --variant=extract --include=PACKAGES

WORK is $PLINTH_BENCH_DIR, else bench/work.  Missing tools are installed
with apt-get unless --no-install.  Needs root (mmdebstrap --mode=root).
EOF
}
die() { echo "debs.sh: $*" >&2; exit 1; }
say() { echo "debs.sh: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_RUNS:-5}
plinth=$repo/build/plinth
install=true
while [ $# -gt 0 ]; do
	case $1 in
	-n | --runs) [ $# -ge 2 ] || die "$1 needs a value"; runs=$2; shift 2 ;;
	--plinth) [ $# -ge 2 ] || die "$1 needs a value"; plinth=$2; shift 2 ;;
	--no-install) install=false; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
case $runs in '' | *[!0-9]* | 0) die "--runs must be a positive whole number, not '$runs'" ;; esac
[ -x "$plinth" ] || die "no plinth binary at $plinth (build it: cmake -B build && cmake --build build -j2)"
[ "$(id -u)" -eq 0 ] || die "mmdebstrap --mode=root needs root; run as root"
recipe_src=$repo/recipes/base/base.yaml
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "no Debian archive keyring at $keyring (apt-get install debian-archive-keyring)"

missing=""
for t in curl jq xz zstd mmdebstrap; do command -v $t >/dev/null || missing="$missing $t"; done
[ -x /usr/bin/time ] || missing="$missing time"
if [ -n "$missing" ]; then
	$install || die "missing:$missing (and --no-install was given)"
	say "installing:$missing"
	pk=${missing/ xz/ xz-utils}
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $pk || { apt-get update && apt-get install -y --no-install-recommends $pk; } ||
		die "cannot install:$missing"
fi

work=${PLINTH_BENCH_DIR:-$repo/bench/work}
mkdir -p "$work/debs/logs" "$work/mirror"
work=$(cd "$work" && pwd -P)
d=$work/debs mirror=$work/mirror logs=$work/debs/logs
rm -rf "$work"/out-plinth* "$work"/out.tar* "${logs:?}"/* "$d/cache-cold" "$d/nolock"
mkdir -p "$d/nolock"

# --- 1. the mirror: "URI SUITE" pairs, then InRelease, Packages.xz, .debs ---
if [ -n "${MIRROR:-}" ]; then
	echo "$MIRROR" | tr ';' '\n' | awk 'NF >= 2 { for (i = 2; i <= NF; i++) print $1, $i }'
else
	for f in /etc/apt/sources.list.d/*.sources; do if [ -f "$f" ]; then cat "$f" && echo; fi; done |
			awk 'BEGIN { RS = "" } {
				t = u = s = c = ""; en = "yes"; n = split($0, L, "\n")
				for (i = 1; i <= n; i++) {
					if (L[i] ~ /^[#\t ]/ || L[i] !~ /:/) continue
					k = tolower(L[i]); sub(/:.*/, "", k); v = L[i]; sub(/^[^:]*:[ \t]*/, "", v)
					if (k == "types") t = v; else if (k == "uris") u = v; else if (k == "suites") s = v
					else if (k == "components") c = v; else if (k == "enabled") en = tolower(v)
				}
				if (en == "no" || (" " t " ") !~ /[ \t]deb[ \t]/ || (" " c " ") !~ /[ \t]main[ \t]/) next
				nu = split(u, U, /[ \t]+/); ns = split(s, S, /[ \t]+/)
				for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print U[i], S[j] }'
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do if [ -f "$f" ]; then cat "$f"; fi; done |
			awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
				for (j = i + 2; j <= NF; j++) if ($j == "main") print $i, $(i + 1) }'
fi | sed 's|/* | |' | awk 'NF == 2 && $2 !~ /\/$/ && !seen[$0]++' >"$d/sources"
[ -s "$d/sources" ] || die "no apt source with component main in /etc/apt (set MIRROR=\"URI SUITE...\")"

# Each archive URI becomes mirror/NAME (the last part of its path).
declare -A local_of
while read -r uri; do
	name=${uri%/}; name=${name##*/}; name=${name:-archive}
	while [ -n "$(for v in "${local_of[@]}"; do [ "$v" = "$name" ] && echo x; done)" ]; do name=$name-2; done
	local_of[$uri]=$name
done < <(cut -d' ' -f1 "$d/sources" | awk '!seen[$0]++')
fetch() { # fetch URL DEST
	mkdir -p "$(dirname "$2")"
	curl -fsSL --retry 3 -o "$2.tmp" "$1" || { rm -f "$2.tmp"; die "cannot fetch $1"; }
	mv "$2.tmp" "$2"
}
: >"$d/index"
while read -r uri suite; do
	dst=$mirror/${local_of[$uri]}/dists/$suite
	say "mirroring $uri $suite"
	fetch "$uri/dists/$suite/InRelease" "$dst/InRelease"
	sum=$(awk 'length($1) == 64 && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$dst/InRelease")
	[ -n "$sum" ] || die "$uri $suite: its InRelease lists no main/binary-amd64/Packages.xz"
	pkgs=$dst/main/binary-amd64/Packages.xz
	if [ "$(sha256sum "$pkgs" 2>/dev/null | cut -d' ' -f1)" != "$sum" ]; then
		fetch "$uri/dists/$suite/main/binary-amd64/Packages.xz" "$pkgs"
		[ "$(sha256sum "$pkgs" | cut -d' ' -f1)" = "$sum" ] || die "$uri $suite: Packages.xz does not match its InRelease"
	fi
	mkdir -p "$dst/main/binary-amd64/by-hash/SHA256"
	ln -f "$pkgs" "$dst/main/binary-amd64/by-hash/SHA256/$sum"
	# URI NAME=VERSION FILENAME SHA256 for every package of the suite
	xzcat "$pkgs" | awk -v u="$uri" '/^Package: / { p = $2 } /^Version: / { v = $2 }
		/^Filename: / { f = $2 } /^SHA256: / { h = $2 } /^$/ { if (p) print u, p "=" v, f, h; p = "" }
		END { if (p) print u, p "=" v, f, h }' >>"$d/index"
done <"$d/sources"

# --- 2. the bench recipe (base.yaml with the file:// repositories), locked ---
grep -q '^repositories: \[host\]$' "$recipe_src" || die "$recipe_src has no line 'repositories: [host]'"
repos=$(cut -d' ' -f1 "$d/sources" | awk '!seen[$0]++' | while read -r uri; do
	printf '  - uri: file://%s\n    suites: [%s]\n    components: [main]\n    keyring: %s\n' \
		"$mirror/${local_of[$uri]}" "$(awk -v u="$uri" '$1 == u { printf "%s%s", n++ ? ", " : "", $2 }' "$d/sources")" "$keyring"
done)
awk -v r="$repos" '/^repositories: \[host\]$/ { print "repositories:"; print r; next } { print }' "$recipe_src" >"$d/base.yaml"
cp "$d/base.yaml" "$d/nolock/base.yaml"
packages=$(sed -n 's/^packages: *\[\([^]]*\)\].*$/\1/p' "$d/base.yaml" | tr -d ' ')
[ -n "$packages" ] || die "no 'packages: [...]' line in $recipe_src"

mkdir -p "$d/bin"
cp "$plinth" "$d/bin/plinth.tmp" && mv "$d/bin/plinth.tmp" "$d/bin/plinth"
pl=$d/bin/plinth
rm -rf "$d/cache-warm" "$d/base.lock.json"
PLINTH_CACHE=$d/cache-warm /usr/bin/time -f '%e' -o "$logs/lock.time" "$pl" lock "$d/base.yaml" >"$logs/lock.out" 2>"$logs/lock.err" ||
	{ cat "$logs/lock.err" >&2; die "plinth lock $d/base.yaml failed"; }
lock_time=$(cat "$logs/lock.time")
jq -r '.packages[] | "\(.name)=\(.version)"' "$d/base.lock.json" | sort >"$d/plinth.set"
jq -r '.packages[] | "\(.name)=\(.version)"' "${recipe_src%.yaml}.lock.json" 2>/dev/null | sort | diff - "$d/plinth.set" >"$d/lock.diff" || true

# mmdebstrap's package set, from apt's simulation (Inst NAME (VERSION ...)).
suite1=$(head -n1 "$d/sources" | cut -d' ' -f2)
mmdeb=(mmdebstrap --mode=root --variant=extract --architectures=amd64 --include="$packages" "$suite1" "$work/out.tar")
while read -r uri suite; do
	mmdeb+=("deb [signed-by=$keyring] copy://$mirror/${local_of[$uri]} $suite main")
done <"$d/sources"
"${mmdeb[@]:0:5}" --simulate --verbose "${mmdeb[@]:5}" >"$logs/simulate.log" 2>&1 ||
	{ tail -n 20 "$logs/simulate.log" >&2; die "mmdebstrap --simulate failed (log: $logs/simulate.log)"; }
sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' "$logs/simulate.log" | sort >"$d/mmdebstrap.set"
[ -s "$d/mmdebstrap.set" ] || die "no 'Inst' line in $logs/simulate.log"

# The .debs of both sets, each from the archive whose index names it.
sort -u "$d/plinth.set" "$d/mmdebstrap.set" | while read -r nv; do
	read -r uri fn sha < <(awk -v k="$nv" '$2 == k { print $1, $3, $4; exit }' "$d/index") ||
		die "no mirrored index has $nv"
	dst=$mirror/${local_of[$uri]}/$fn
	[ "$(sha256sum "$dst" 2>/dev/null | cut -d' ' -f1)" = "$sha" ] || fetch "$uri/$fn" "$dst"
	[ "$(sha256sum "$dst" | cut -d' ' -f1)" = "$sha" ] || die "$uri/$fn does not match its index"
done
say "mirror: $(du -sh "$mirror" | cut -f1) in $mirror; lock: $(wc -l <"$d/plinth.set") packages in ${lock_time}s"

# --- 3-5. timed runs, interleaved -------------------------------------------
# run NAME I CMD...: start with no output and a cold cache, time CMD, append
# "wall rss_kib user sys" to NAME's times.
run() {
	local name=$1 i=$2; shift 2
	rm -rf "$work/out-plinth" "$work/out.tar" "$d/cache-cold"
	sync
	/usr/bin/time -f '%e %M %U %S' -o "$logs/$name.$i.time" "$@" >"$logs/$name.$i.out" 2>"$logs/$name.$i.err" ||
		{ cat "$logs/$name.$i.err" >&2; die "$name run $i failed (logs in $logs)"; }
	cat "$logs/$name.$i.time" >>"$logs/$name.times"
	say "$(printf '%-10s run %d: ' "$name" "$i")$(awk '{ print $1 " s, " $2 " KiB" }' "$logs/$name.$i.time")"
}
find "$mirror" -type f -exec cat {} + >/dev/null
# Untimed: fill the warm cache.
PLINTH_CACHE=$d/cache-warm "$pl" build "$d/base.yaml" -o "$work/out-plinth" >/dev/null
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$runs"); do
	PLINTH_CACHE=$d/cache-warm run warm "$i" "$pl" build "$d/base.yaml" -o "$work/out-plinth" --json
	PLINTH_CACHE=$d/cache-cold run cold "$i" "$pl" build "$d/base.yaml" -o "$work/out-plinth" --json
	PLINTH_CACHE=$d/cache-cold run nolock "$i" "$pl" build "$d/nolock/base.yaml" -o "$work/out-plinth" --json
	run mmdebstrap "$i" "${mmdeb[@]}"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 6. sizes and report -----------------------------------------------------
[ "$(cat "$logs"/warm.*.out "$logs"/cold.*.out "$logs"/nolock.*.out | jq -r .digest | sort -u | wc -l)" -eq 1 ] ||
	say "warning: the plinth builds gave different manifests"
digest=$(jq -r .digest "$logs/warm.1.out")
layer=$(jq -r '.layer.size' "$logs/warm.1.out")
tar_size=$(jq -r '.layer.tar_size' "$logs/warm.1.out")
mm_tar=$(stat -c %s "$work/out.tar")
mm_zst=$(zstd -3 -c "$work/out.tar" | wc -c)
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { cut -d' ' -f1 "$logs/$1.times" | median; }
each() { cut -d' ' -f1 "$logs/$1.times" | paste -sd' ' - | sed 's/ /, /g'; }
cpu() { awk '{ print $3 + $4 }' "$logs/$1.times" | median; }
rss() { cut -d' ' -f2 "$logs/$1.times" | sort -n | tail -n1 | awk '{ printf "%.1f", $1 / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$(med "$1")" "$(each "$1")" "$(cpu "$1")" "$(rss "$1")" "$3"; }
set_diff=$({ diff "$d/plinth.set" "$d/mmdebstrap.set" || true; } | sed -n 's/^</  plinth only:/p; s/^>/  mmdebstrap only:/p')
cat <<EOF

Mirror: $(wc -l <"$d/sources") suites ($(cut -d' ' -f2 "$d/sources" | paste -sd' ')), $(du -sh "$mirror" | cut -f1); plinth lock: ${lock_time} s.
Lock vs recipes/base/base.lock.json: $([ -s "$d/lock.diff" ] && echo differs, see "$d/lock.diff" || echo same packages and versions).
Packages: plinth $(wc -l <"$d/plinth.set"), mmdebstrap $(wc -l <"$d/mmdebstrap.set")$([ -z "$set_diff" ] && echo ", the same" || printf ':\n%s' "$set_diff")
Runs: $runs of each, interleaved; $(nproc) CPUs, load average $load_start before, $load_end after.
plinth $(sha256sum "$pl" | cut -c1-12) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)), manifest $digest.

| tool | wall, median (s) | wall, each run (s) | CPU user+sys, median (s) | peak RSS, max (MiB) | result (bytes) |
|---|---:|---|---:|---:|---|
$(row warm 'plinth build, warm cache' "layer $layer (zstd); tar $tar_size")
$(row cold 'plinth build, cold cache' "same manifest")
$(row nolock 'plinth build, no lock, cold cache' "same manifest")
$(row mmdebstrap 'mmdebstrap --variant=extract' "tar $mm_tar; zstd -3 $mm_zst")

| ratio | measured | |
|---|---:|---|
| mmdebstrap wall / plinth warm wall >= 5 | $(ratio "$(med mmdebstrap)" "$(med warm)") | $(awk -v a="$(med mmdebstrap)" -v b="$(med warm)" 'BEGIN { if (a >= 5 * b) print "met"; else print "**missed**" }') |
| mmdebstrap wall / plinth cold wall | $(ratio "$(med mmdebstrap)" "$(med cold)") | |
| mmdebstrap wall / plinth no-lock wall | $(ratio "$(med mmdebstrap)" "$(med nolock)") | |
EOF
