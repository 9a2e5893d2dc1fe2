#!/usr/bin/env bash
# bench/layer.sh - time plinth's layer writing against tar|zstd and umoci.
#
# See bench/README.md for what is measured and the latest results.
set -eu
set -o pipefail

usage() {
	cat <<'EOF'
usage: bench/layer.sh [options]

Build one ~1 GiB layer from a copy of real files (/usr/lib, trimmed or
padded to the target size) three ways, side by side, and print a Markdown
table of wall time (median of N runs), peak RSS and CPU time:

  tar|zstd   tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner
             -cf - . | zstd -3 | sha256sum            (run inside the tree)
  umoci      umoci repack --image L:t BUNDLE          (the tree in rootfs/data;
                                                       gzip layer)
  plinth     plinth build recipe.yaml -o OUT          (files: [{path: /data,
                                                       source: tree}]; zstd)

The runs are interleaved (tar|zstd, umoci, plinth, then again), after the
tree has been read once so that all three read from the page cache.

Options:
  -n, --runs N       runs of each tool (default: 3, or $BENCH_RUNS)
  -s, --size BYTES   target size of the tree (default: 1073741824 = 1 GiB)
      --source DIR   where the tree's files come from (default: /usr/lib)
      --plinth PATH  the plinth binary (default: build/plinth of this checkout)
      --fresh        discard a prepared tree and umoci bundle, prepare anew
      --no-install   never apt-get install missing tools (fail instead)
  -h, --help         show this help

Environment:
  PLINTH_BENCH_DIR   the working area (default: bench/work of this checkout);
                     nothing outside it is modified, except that missing tools
                     (time, zstd, umoci, tar) are installed with apt-get
  BENCH_RUNS         default for --runs

The prepared tree (WORK/tree) and umoci bundle are kept and reused by later
runs with the same --source and --size.  umoci needs root (it is run the way
'umoci unpack' as root sets it up).
EOF
}

die() {
	echo "layer.sh: $*" >&2
	exit 1
}
say() {
	echo "layer.sh: $*" >&2
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=${BENCH_RUNS:-3}
size=1073741824
source_dir=/usr/lib
plinth=$repo/build/plinth
fresh=false
install=true

while [ $# -gt 0 ]; do
	case $1 in
	-n | --runs) [ $# -ge 2 ] || die "$1 needs a value"; runs=$2; shift 2 ;;
	--runs=*) runs=${1#*=}; shift ;;
	-s | --size) [ $# -ge 2 ] || die "$1 needs a value"; size=$2; shift 2 ;;
	--size=*) size=${1#*=}; shift ;;
	--source) [ $# -ge 2 ] || die "$1 needs a value"; source_dir=$2; shift 2 ;;
	--source=*) source_dir=${1#*=}; shift ;;
	--plinth) [ $# -ge 2 ] || die "$1 needs a value"; plinth=$2; shift 2 ;;
	--plinth=*) plinth=${1#*=}; shift ;;
	--fresh) fresh=true; shift ;;
	--no-install) install=false; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
case $runs in '' | *[!0-9]* | 0) die "--runs must be a positive whole number, not '$runs'" ;; esac
case $size in '' | *[!0-9]* | 0) die "--size must be a positive number of bytes, not '$size'" ;; esac
[ -d "$source_dir" ] || die "no such directory: $source_dir"
source_dir=$(cd "$source_dir" && pwd -P)
[ -x "$plinth" ] || die "no plinth binary at $plinth (build it: cmake -B build && cmake --build build -j2)"

work=${PLINTH_BENCH_DIR:-$repo/bench/work}
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
case $work/ in "$source_dir"/*) die "the working area must not be inside --source" ;; esac

# --- tools -----------------------------------------------------------------

ensure_tools() {
	local missing=""
	[ -x /usr/bin/time ] || missing="$missing time"
	command -v zstd >/dev/null || missing="$missing zstd"
	command -v umoci >/dev/null || missing="$missing umoci"
	command -v tar >/dev/null || missing="$missing tar"
	[ -z "$missing" ] && return 0
	$install || die "missing:$missing (and --no-install was given)"
	command -v apt-get >/dev/null || die "missing:$missing, and there is no apt-get to install them"
	say "installing:$missing"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	# shellcheck disable=SC2086
	$sudo apt-get install -y --no-install-recommends $missing ||
		{ $sudo apt-get update && $sudo apt-get install -y --no-install-recommends $missing; } ||
		die "cannot install:$missing"
}
ensure_tools
tar --sort=name -cf - --files-from=/dev/null >/dev/null 2>&1 ||
	die "this tar has no --sort=name (GNU tar >= 1.28 is needed)"
[ "$(id -u)" -eq 0 ] || die "umoci unpack/repack of a bundle needs root; run as root"

# --- the tree --------------------------------------------------------------

stamp="source=$source_dir size=$size"
tree=$work/tree

prepare_tree() {
	if ! $fresh && [ -d "$tree" ] && [ "$(cat "$work/tree.done" 2>/dev/null)" = "$stamp" ]; then
		say "reusing the prepared tree $tree"
		return 0
	fi
	say "preparing a tree of about $size bytes from $source_dir"
	rm -rf "$tree" "$work/tree.tmp" "$work/tree.done" "$work/umoci" "$work/umoci.done"
	local tab list="$work/tree.list" got=0 need=$size pass=0 dest sum
	tab=$(printf '\t')
	# Every entry but those whose names a line-based list cannot carry, in
	# byte order, as PATH<tab>TYPE<tab>SIZE.
	(cd "$source_dir" && find . -mindepth 1 \( -type f -o -type d -o -type l \) \
		! -path "*$tab*" ! -path '*
*' -printf '%P\t%y\t%s\n') | LC_ALL=C sort -t "$tab" -k1,1 >"$list.all"
	mkdir "$work/tree.tmp"
	# Take entries in order until the files add up to the target; when the
	# source is smaller than that, copy it again under pad-1/, pad-2/, ...
	while [ "$need" -gt 0 ]; do
		dest=$work/tree.tmp
		[ $pass -eq 0 ] || dest=$work/tree.tmp/pad-$pass
		mkdir -p "$dest"
		LC_ALL=C awk -F "$tab" -v need="$need" -v sumfile="$list.sum" '
			$2 == "f" { if (sum >= need) exit; sum += $3 }
			{ print $1 }
			END { print sum + 0 > sumfile }' "$list.all" >"$list"
		sum=$(cat "$list.sum")
		[ "$sum" -gt 0 ] || die "$source_dir has no file content to copy"
		tar -C "$source_dir" --no-recursion --verbatim-files-from -T "$list" \
			--hard-dereference -cf - | tar -C "$dest" -xpf -
		need=$((need - sum))
		got=$((got + sum))
		pass=$((pass + 1))
	done
	rm -f "$list" "$list.all" "$list.sum"
	mv "$work/tree.tmp" "$tree"
	echo "$stamp" >"$work/tree.done"
}

# umoci: an empty image, unpacked as root, the tree copied into rootfs/data.
# Each run starts from the pristine layout (index.json and blobs as after
# 'umoci new'); the bundle's mtree is never refreshed, so every repack
# writes the whole tree as one new layer.
umoci_dir=$work/umoci
prepare_umoci() {
	if ! $fresh && [ "$(cat "$work/umoci.done" 2>/dev/null)" = "$stamp" ] &&
		[ -d "$umoci_dir/bundle/rootfs/data" ]; then
		say "reusing the umoci bundle $umoci_dir/bundle"
		return 0
	fi
	say "setting up the umoci layout and bundle"
	rm -rf "$umoci_dir" "$work/umoci.done"
	mkdir -p "$umoci_dir"
	(
		cd "$umoci_dir"
		umoci init --layout L
		umoci new --image L:t
		umoci unpack --image L:t bundle
	) >/dev/null
	cp -a "$tree" "$umoci_dir/bundle/rootfs/data"
	cp "$umoci_dir/L/index.json" "$umoci_dir/index.pristine"
	ls "$umoci_dir/L/blobs/sha256" >"$umoci_dir/blobs.pristine"
	echo "$stamp" >"$work/umoci.done"
}
reset_umoci() {
	local b
	cp "$umoci_dir/index.pristine" "$umoci_dir/L/index.json"
	for b in "$umoci_dir"/L/blobs/sha256/*; do
		grep -qxF "${b##*/}" "$umoci_dir/blobs.pristine" || rm -f "$b"
	done
}

prepare_tree
prepare_umoci

cat >"$work/recipe.yaml" <<'EOF'
# generated by bench/layer.sh
name: bench
version: 1.0.0
description: layer-writing benchmark
epoch: 0
base: scratch
files:
  - {path: /data, source: tree}
EOF

# A private copy, so a concurrent rebuild of build/ cannot change it mid-run.
mkdir -p "$work/bin"
cp "$plinth" "$work/bin/plinth.tmp"
mv "$work/bin/plinth.tmp" "$work/bin/plinth"
plinth_bin=$work/bin/plinth
plinth_sha=$(sha256sum "$plinth_bin" | cut -c1-12)
plinth_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$repo" --no-optional-locks status --porcelain --untracked-files=no -- builder include 2>/dev/null)" ] ||
	plinth_rev="$plinth_rev+changes"

tree_bytes=$(du -sb "$tree" | cut -f1)
tree_files=$(find "$tree" -type f | wc -l)
tree_dirs=$(find "$tree" -type d | wc -l)
tree_links=$(find "$tree" -type l | wc -l)
say "tree: $tree_bytes bytes (du -sb), $tree_files files, $tree_dirs directories, $tree_links symlinks"

# --- warm the page cache (nothing is ever dropped) -------------------------

# Read a tree's metadata and contents once.  Done before every run too, not
# only once here: a kernel may page out cache that sits idle (DAMON's
# pageout reclaim, for one, evicts pages unused for a minute), and each
# tool must find its input in memory.
warm() {
	find "$1" >/dev/null
	find "$1" -type f -print0 | xargs -0 -r cat >/dev/null
}
# resident DIR: the share of DIR's file pages in the page cache, if fincore
# (util-linux) is there to tell.
resident() {
	command -v fincore >/dev/null || return 0
	find "$1" -type f -print0 | xargs -0 -r fincore -b -n -o RES,SIZE 2>/dev/null |
		awk '{ r += $1; s += $2 } END { if (s) printf " (%.0f%% of the input was cached before re-warming)", (r >= s ? 100 : 100 * r / s) }'
}

say "warming the page cache"
warm "$tree"
warm "$umoci_dir/bundle/rootfs"

# --- timing ----------------------------------------------------------------

logs=$work/logs
rm -rf "$logs"
mkdir -p "$logs"

# run NAME I INPUT CMD...: warm INPUT, then time CMD with GNU time, appending
# "wall rss_kib user sys" to NAME's times.
run() {
	local name=$1 i=$2 input=$3 res
	shift 3
	sync
	res=$(resident "$input") || res=""
	warm "$input"
	if ! /usr/bin/time -f '%e %M %U %S' -o "$logs/$name.$i.time" "$@" \
		>"$logs/$name.$i.out" 2>"$logs/$name.$i.err"; then
		cat "$logs/$name.$i.err" >&2
		die "$name run $i failed (logs in $logs)"
	fi
	cat "$logs/$name.$i.time" >>"$logs/$name.times"
	say "$(printf '%-8s run %d: %s s, %s KiB peak RSS%s' "$name" "$i" \
		"$(cut -d' ' -f1 "$logs/$name.$i.time")" "$(cut -d' ' -f2 "$logs/$name.$i.time")" "$res")"
}

# shellcheck disable=SC2016 # expanded by the inner shell
tarzstd_cmd='cd "$1" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . | zstd -3 | sha256sum'

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$runs"); do
	run tarzstd "$i" "$tree" bash -c "set -o pipefail; $tarzstd_cmd" sh "$tree"

	reset_umoci
	# shellcheck disable=SC2016
	run umoci "$i" "$umoci_dir/bundle/rootfs" \
		sh -c 'cd "$1" && umoci repack --image L:t bundle' sh "$umoci_dir"

	rm -rf "$work/out"
	run plinth "$i" "$tree" "$plinth_bin" build "$work/recipe.yaml" -o "$work/out"
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- sizes and checks (untimed) --------------------------------------------

# The same output for every run: the pipeline's digest, plinth's manifest.
for name in tarzstd plinth; do
	n=$(cat "$logs/$name".*.out | tail -n1 -q | sort -u | wc -l)
	[ "$n" -eq 1 ] || say "warning: $name gave different outputs across runs"
done
plinth_digest=$(tail -n1 "$logs/plinth.1.out")
plinth_size=$(sed -n 's/.*layer \([0-9]*\) bytes.*/\1/p' "$logs/plinth.1.out")
umoci_size=$(find "$umoci_dir/L/blobs/sha256" -type f -printf '%s\n' | sort -n | tail -n1)
tarzstd_size=$(cd "$tree" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf - . | zstd -3 | wc -c)
tar_size=$(cd "$tree" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf - . | wc -c)

# --- report ----------------------------------------------------------------

# median2: the median of the numbers on stdin, to 2 decimals.
median2() {
	sort -g | awk '{ v[NR] = $1 } END {
		printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# median FILE FIELD: the median of a column over the runs.
median() {
	cut -d' ' -f"$2" "$1" | median2
}
maxcol() {
	cut -d' ' -f"$2" "$1" | sort -g | tail -n1
}
allruns() {
	cut -d' ' -f1 "$1" | paste -sd' ' - | sed 's/ /, /g'
}
mib() {
	awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

declare -A wall rss cpu
for name in tarzstd umoci plinth; do
	f=$logs/$name.times
	wall[$name]=$(median "$f" 1)
	rss[$name]=$(maxcol "$f" 2)
	cpu[$name]=$(awk '{ print $3 + $4 }' "$f" | median2)
done
r_tar=$(ratio "${wall[plinth]}" "${wall[tarzstd]}")
r_umoci=$(ratio "${wall[umoci]}" "${wall[plinth]}")
rss_plinth_mib=$(mib $((rss[plinth] * 1024)))
verdict() { # verdict OK-CONDITION
	if awk "BEGIN { exit !($1) }"; then echo met; else echo "**missed**"; fi
}
v_tar=$(verdict "${wall[plinth]} <= ${wall[tarzstd]}")
v_umoci=$(verdict "${wall[umoci]} >= 3 * ${wall[plinth]}")
v_rss=$(verdict "${rss[plinth]} < 65536")

row() { # row NAME LABEL SIZE
	printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "${wall[$1]}" "$(allruns "$logs/$1.times")" \
		"$(mib $((rss[$1] * 1024)))" "${cpu[$1]}" "$3"
}

cat <<EOF

Tree: \`$tree\` from \`$source_dir\`: $tree_bytes bytes (\`du -sb\`, $(mib "$tree_bytes") MiB),
$tree_files files, $tree_dirs directories, $tree_links symlinks; tar stream $tar_size bytes.
Runs: $runs of each, interleaved, page cache warm; load average $load_start before, $load_end after
($(nproc) CPUs).  plinth: \`$plinth\` (sha256 $plinth_sha..., checkout $plinth_rev;
manifest $plinth_digest).

| tool | wall, median (s) | wall, each run (s) | peak RSS, max (MiB) | CPU user+sys, median (s) | layer (bytes) |
|---|---:|---|---:|---:|---:|
$(row tarzstd 'tar \| zstd -3 \| sha256sum' "$tarzstd_size (zstd)")
$(row umoci 'umoci repack' "$umoci_size (gzip)")
$(row plinth 'plinth build' "$plinth_size (zstd)")

| target | measured | |
|---|---:|---|
| plinth wall / tar\|zstd wall <= 1 | $r_tar | $v_tar |
| umoci wall / plinth wall >= 3 | $r_umoci | $v_umoci |
| plinth peak RSS < 64 MiB | $rss_plinth_mib MiB | $v_rss |
EOF
