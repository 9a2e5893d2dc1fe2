#!/usr/bin/env bash
# Same recipe, same bytes: whatever the working directory, TZ, umask and
# locale, two builds give the same manifest digest and identical layouts.
. "$(dirname "$0")/lib.sh"
need cc jq

make_hello src
mkdir -p elsewhere/deeper

run_plinth build src/hello.yaml -o one
t_is "$rc" 0 "the first build succeeds"
d1=$(echo "$out" | tail -1)
t_like "$d1" '^sha256:[0-9a-f]{64}$' "build prints the manifest digest last"

(cd elsewhere/deeper && TZ=Pacific/Kiritimati LANG=POSIX LC_ALL=POSIX \
	bash -c 'umask 077; "$0" build ../../src/hello.yaml -o "$1" >"$2"' "$PLINTH" "$TMP/two" "$TMP/two.out")
d2=$(tail -1 two.out)
t_is "$d2" "$d1" "a build elsewhere with other TZ, umask and locale gives the same digest"
t_is "$(state two)" "$(state one)" "the two layouts are identical, byte for byte and mode for mode"
t_is "$(manifest_of one 1.0.0)" "$d1" "index.json tags the digest with the recipe's version"
t_is "$(sha256sum < "$(blob one "$d1")" | cut -d' ' -f1)" "${d1#sha256:}" "the manifest blob hashes to its digest"

# Another copy of the sources, in another place, is the same image.
cp -a src src-copy
touch -d '2001-01-01' src-copy/bin/hello
run_plinth build "$TMP/src-copy/hello.yaml" -o three
t_is "$(echo "$out" | tail -1)" "$d1" "a copy with other file mtimes gives the same digest"

# Both compressors are deterministic.
run_plinth build src/hello.yaml -o gz1 --compression gzip
g1=$(echo "$out" | tail -1)
(cd elsewhere && TZ=America/St_Johns bash -c 'umask 027; "$0" build ../src/hello.yaml -o ../gz2 -c gzip' "$PLINTH" >/dev/null)
t_is "$(manifest_of gz2 1.0.0)" "$g1" "gzip builds are reproducible too"
t_is "$(state gz2)" "$(state gz1)" "gzip layouts are identical"
[ "$g1" != "$d1" ]; t_is $? 0 "gzip and zstd give different images"

# The clock: SOURCE_DATE_EPOCH over the recipe's epoch.
SOURCE_DATE_EPOCH=1234567890 run_plinth build src/hello.yaml -o sde
d3=$(echo "$out" | tail -1)
[ "$d3" != "$d1" ]; t_is $? 0 "SOURCE_DATE_EPOCH changes the image"
cfg=$(jq -r .config.digest "$(blob sde "$d3")")
t_is "$(jq -r .created "$(blob sde "$cfg")")" "2009-02-13T23:31:30Z" "config.created is SOURCE_DATE_EPOCH"
cfg1=$(jq -r .config.digest "$(blob one "$d1")")
t_is "$(jq -r .created "$(blob one "$cfg1")")" "2023-11-14T22:13:20Z" "config.created is the recipe's epoch"
t_is "$(jq -r '.annotations["org.opencontainers.image.created"]' "$(blob one "$d1")")" "2023-11-14T22:13:20Z" "the created annotation is the recipe's epoch"

# A second plinth (another compiler, sanitizers) must agree.
if [ -n "${PLINTH_OTHER:-}" ] && [ -x "$PLINTH_OTHER" ]; then
	"$PLINTH_OTHER" build src/hello.yaml -o other >/dev/null
	t_is "$(manifest_of other 1.0.0)" "$d1" "a plinth built by another compiler gives the same digest"
else
	t_skip "PLINTH_OTHER is not set"
fi

t_done
