#!/usr/bin/env bash
# Writing into layouts: several tags, re-tagging, other tools' entries kept,
# and an interrupted build that changes nothing.
. "$(dirname "$0")/lib.sh"
need cc jq skopeo

make_hello src
run_plinth build src/hello.yaml -o lay --tag one
d1=$(echo "$out" | tail -1)
SOURCE_DATE_EPOCH=5 run_plinth build src/hello.yaml -o lay --tag two
d2=$(echo "$out" | tail -1)
t_is "$(manifest_of lay one) $(manifest_of lay two)" "$d1 $d2" "two tags live in one layout"
t_is "$(skopeo inspect oci:lay:one | jq -r .Digest)" "$d1" "skopeo reads the first tag"
t_is "$(skopeo inspect oci:lay:two | jq -r .Digest)" "$d2" "skopeo reads the second tag"

SOURCE_DATE_EPOCH=5 run_plinth build src/hello.yaml -o lay --tag one
t_is "$(manifest_of lay one)" "$d2" "re-tagging points the tag at the new image"
t_is "$(jq '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "one")] | length' lay/index.json)" 1 "re-tagging replaces the old reference"

# A layout made by another tool keeps its entries.
skopeo copy -q oci:lay:two oci:lay:copied-by-skopeo
run_plinth build src/hello.yaml -o lay --tag three
t_is "$(manifest_of lay copied-by-skopeo)" "$d2" "references written by other tools are kept"

mkdir empty
run_plinth build src/hello.yaml -o empty
t_is "$rc" 0 "an empty directory becomes a layout"
t_is "$(cat empty/oci-layout)" '{"imageLayoutVersion":"1.0.0"}' "with an oci-layout file"

run_plinth build src/hello.yaml -o js --json
t_is "$(echo "$out" | jq -r '.reference + " " + .tag')" "oci:js:1.0.0 1.0.0" "--json reports the reference"
t_is "$(echo "$out" | jq -r .digest)" "$(manifest_of js 1.0.0)" "--json reports the digest"

rc=0; "$PLINTH" build src/hello.yaml -o full >/dev/full 2>full.err || rc=$?
t_is "$rc" 1 "a build whose output cannot be written exits 1"
t_is "$(cat full.err)" "plinth: cannot write to standard output: No space left on device" "and says so"

# Concurrent builds into one new layout, and into one empty directory, all land.
mkdir emptypar
for round in 1 2 3; do
	pids=""
	for t in a b c; do
		SOURCE_DATE_EPOCH=$round "$PLINTH" build src/hello.yaml -o par --tag "$t$round" >/dev/null 2>>par.err & pids="$pids $!"
		SOURCE_DATE_EPOCH=$round "$PLINTH" build src/hello.yaml -o emptypar --tag "$t$round" >/dev/null 2>>par.err & pids="$pids $!"
	done
	for p in $pids; do wait "$p" || echo "build $p failed" >>par.err; done
done
t_is "$(cat par.err)" "" "concurrent builds into one layout all succeed"
t_is "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"] // empty] | sort | join(" ")' par/index.json)" \
	"a1 a2 a3 b1 b2 b3 c1 c2 c3" "every concurrent build's tag is in the new layout"
t_is "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"] // empty] | sort | join(" ")' emptypar/index.json)" \
	"a1 a2 a3 b1 b2 b3 c1 c2 c3" "every concurrent build's tag is in the once-empty directory"
t_is "$(ls -A par emptypar | grep -c plinth)" 0 "no staging is left in either"
t_is "$(find lay par emptypar js -name 'plinth-staging' -o -name 'tmp-*' -o -name '.*.tmp-*' | wc -l)" 0 \
	"no marker or temporary file ends up in a layout"

# A first commit that died between oci-layout and index.json is recovered.
cp -a js noindex && rm noindex/index.json
run_plinth build src/hello.yaml -o noindex --tag again
t_is "$rc" 0 "a layout without index.json is built into"
t_is "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"] // empty] | join(" ")' noindex/index.json)" "again" "and gets an index of its own"

# Interrupted builds: a big (sparse) file keeps the build busy.
mkdir -p big && truncate -s 64G big/zeros
printf 'name: big\nversion: 1.0.0\nfiles: [{path: /zeros, source: zeros}]\n' >big/r.yaml
before=$(state lay)
"$PLINTH" build big/r.yaml -o lay >/dev/null 2>term.err &
pid=$!
sleep 1.5
kill -TERM $pid
rc=0; wait $pid || rc=$?
t_is "$rc" 1 "a build stopped by SIGTERM exits 1"
t_is "$(cat term.err)" "plinth: build cancelled by a signal" "it says it was cancelled"
t_is "$(state lay)" "$before" "the layout is exactly as it was, no staging left"

"$PLINTH" build big/r.yaml -o fresh >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -TERM $pid; wait $pid
t_is "$(state fresh)" "absent" "a cancelled build of a new layout creates nothing"
t_is "$(ls -A . | grep -c plinth-)" 0 "and leaves no staging directory beside it"

"$PLINTH" build big/r.yaml -o lay >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -KILL $pid; wait $pid
t_is "$(ls -A lay | grep -c '^\.plinth-')" 1 "SIGKILL leaves a staging directory behind"
t_is "$(manifest_of lay one)" "$d2" "but the index is untouched"
run_plinth build src/hello.yaml -o lay --tag four
t_is "$(ls -A lay | grep -c '^\.plinth-')" 0 "the next build removes the dead staging directory"

t_done
