# lib.sh - shared helpers for plinth's CLI tests, which speak TAP.
# Source it first thing; every test then runs in a fresh temporary directory
# that is removed at exit.  $PLINTH is the binary under test.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${PLINTH:=$TOP/build/plinth}"
case $PLINTH in /*) ;; *) PLINTH=$TOP/$PLINTH ;; esac
export LC_ALL=C.UTF-8

t_n=0
t_failed=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/plinth-test.XXXXXX")
trap 't_cleanup' EXIT
t_cleanup() { cd / && rm -rf "$TMP"; }
cd "$TMP"

t_pass() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
t_fail() {
	t_n=$((t_n + 1)); t_failed=$((t_failed + 1))
	echo "not ok $t_n - $1"
	shift
	local line; for line in "$@"; do printf '#   %s\n' "$line"; done
}

# t_ok DESC CMD...: passes when CMD exits 0.
t_ok() {
	local desc=$1; shift
	if "$@" >"$TMP/.t_out" 2>&1; then t_pass "$desc"
	else t_fail "$desc" "command failed: $*" "$(head -c 2000 "$TMP/.t_out")"; fi
}

# t_is GOT WANT DESC: passes when the strings are equal.
t_is() {
	if [ "$1" = "$2" ]; then t_pass "$3"
	else t_fail "$3" "got:  $(printf '%s' "$1" | head -c 3000)" "want: $2"; fi
}

# t_like GOT REGEX DESC: passes when GOT matches the extended regex.
t_like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then t_pass "$3"
	else t_fail "$3" "got:  $(printf '%s' "$1" | head -c 3000)" "want match: $2"; fi
}

t_skip() { t_n=$((t_n + 1)); echo "ok $t_n # SKIP $1"; }

t_skip_all() { echo "1..0 # SKIP $1"; trap - EXIT; t_cleanup; exit 0; }

t_done() {
	echo "1..$t_n"
	[ "$t_failed" -eq 0 ]
}

# run_plinth ARGS...: sets $out, $err and $rc.
run_plinth() {
	rc=0
	"$PLINTH" "$@" >"$TMP/.out" 2>"$TMP/.err" || rc=$?
	out=$(cat "$TMP/.out")
	err=$(cat "$TMP/.err")
}

# make_hello DIR: the shipped hello recipe with its static binary compiled.
make_hello() {
	mkdir -p "$1/bin"
	cp "$TOP/recipes/hello/hello.yaml" "$TOP/recipes/hello/hello.c" "$1/"
	cc -static -Os -o "$1/bin/hello" "$1/hello.c"
}

# state DIR: a fingerprint of everything in DIR (names, types, modes, contents).
state() {
	(cd "$1" 2>/dev/null && find . -printf '%p %y %m %s\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort) || echo "absent"
}

# blob LAYOUT DIGEST: the path of a blob.
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }

# content LAYOUT DIGEST: what the image of manifest DIGEST holds (config and
# layers), without the annotations that name the recipe and lock it came from.
content() { jq -c '[.config.digest, [.layers[].digest]]' "$(blob "$1" "$2")"; }

# manifest_of LAYOUT TAG: the manifest digest TAG points at.
manifest_of() {
	jq -r --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$1/index.json"
}

need() {
	local c; for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || t_skip_all "$c is not installed (run ci/setup)"
	done
}
