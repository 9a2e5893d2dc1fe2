#!/usr/bin/env bash
# The rebuild storm pushing to a registry (Debian's docker-registry on
# loopback): every image of the storm is pushed, signed, with its artifacts;
# the base's layer is uploaded once and mounted into every other repository;
# a storm that pushed everything pushes nothing; an image whose push is
# missing or failed is pushed by the next storm; a superseded base's new
# layer travels once too; the catalog records where each base is, and a
# build on a machine without the storm's output pulls its base from there
# by the catalog's digest.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-registry.sh"
need_registry skopeo jq

export HOME=$TMP/home XDG_RUNTIME_DIR=$TMP/run
unset REGISTRY_AUTH_FILE DOCKER_CONFIG PLINTH_CATALOG
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
export PLINTH_CACHE=$TMP/cache PLINTH_STATE=$TMP/state SOURCE_DATE_EPOCH=1700000000

registry_start r || exit 1
R=$REG_r

"$PLINTH" keygen ops >/dev/null || exit 1
"$PLINTH" catalog init --catalog cat --key ops.key >/dev/null || exit 1
mkdir recipes
head -c 1048576 /dev/urandom >recipes/blob
printf 'name: base\nversion: 1.0.0\nfiles: [{path: /etc/blob, source: blob}]\n' >recipes/base.yaml
for i in 1 2 3 4 5; do
	echo "app $i" >"recipes/a$i.txt"
	printf 'name: app%s\nversion: 1.0.0\nbase: base@1\nfiles: [{path: /etc/app, source: a%s.txt}]\n' \
		"$i" "$i" >"recipes/app$i.yaml"
done

storm() { run_plinth rebuild --catalog cat --key ops.key --out out recipes \
	--push "$R/storm" --insecure "$R" --skip-tests "$@"; }
tag_digest() { # LAYOUT TAG
	jq -r --arg t "$2" '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == $t) | .digest' "$1/index.json"
}
layer0() { # LAYOUT TAG: the digest of the image's first layer
	local d
	d=$(tag_digest "$1" "$2")
	jq -r '.layers[0].digest' "$1/blobs/sha256/${d#sha256:}"
}
uploads_of() { registry_count r "\"PUT /v2/[^ ]*/blobs/uploads/[^ ]*digest=$1"; }
sk_digest() { skopeo inspect --tls-verify=false "docker://$1" 2>/dev/null | jq -r .Digest; }

# ---- the first storm pushes everything --------------------------------------
storm --json
t_is "$rc" 0 "the first storm builds and pushes (exit 0)"
t_is "$(printf '%s' "$out" | jq -r .summary.pushed)" 6 "it pushes the base and the five images"
base_layer=$(layer0 out/base 1.0.0)
base_size=$(stat -c %s "out/base/blobs/sha256/${base_layer#sha256:}")
t_is "$(uploads_of "$base_layer")" 1 "the base's layer is uploaded once, for six images"
uploaded=$(printf '%s' "$out" | jq -r .summary.uploaded)
t_ok "the storm uploads the base's layer and little more ($uploaded bytes, base layer $base_size)" \
	test "$uploaded" -lt $((base_size + 200000))
mounts=$(jq -s '[.[] | select(.event == "pushed" and (.name | startswith("app"))) | .mounted] | min' out/.plinth/journal)
t_ok "every image mounted what its base has ($mounts blobs at least)" test "$mounts" -ge 1
t_is "$(registry_count r '"POST /v2/storm/app[0-9]/blobs/uploads/\?[^ ]*mount=sha256:'"${base_layer#sha256:}"'[^ ]* HTTP/1.1" 201')" 5 \
	"the base's layer is mounted into each image's repository (201)"
ok=0
for i in 1 2 3 4 5; do
	[ "$(sk_digest "$R/storm/app$i:1.0.0")" = "$(tag_digest "out/app$i" 1.0.0)" ] && ok=$((ok + 1))
done
t_is "$ok" 5 "skopeo reads every pushed image with the layout's digest"
d1=$(tag_digest out/app1 1.0.0)
tags=$("$PLINTH" tags --insecure "$R" "$R/storm/app1")
t_like "$tags" "sha256-${d1#sha256:}\.sig" "the signature was pushed"
t_is "$(printf '%s\n' "$tags" | grep -cx "sha256-${d1#sha256:}")" 1 "the referrers tag lists the SBOM and tests"
t_is "$(cat out/.plinth/pushed/app1)" "$R/storm/app1:1.0.0 $d1" "what was pushed is remembered"
run_plinth catalog --catalog cat show base@1.0.0 --json
t_is "$(printf '%s' "$out" | jq -r '.entries[0].registry')" "$R/storm/base" \
	"the catalog records where the base is"
t_like "$(jq -c 'select(.event == "located")' out/.plinth/journal)" "\"registry\":\"$R/storm/base\"" \
	"the journal says so"

# ---- nothing to do, nothing sent ----------------------------------------------
before=$(registry_count r '"(POST|PUT|PATCH) /v2/')
storm
t_is "$rc" 0 "a second storm succeeds"
t_like "$out" "nothing to rebuild: all 6 images are current" "a second storm has nothing to do"
t_is "$(registry_count r '"(POST|PUT|PATCH) /v2/')" "$before" "and sends nothing to the registry"

# ---- a missing push is done by the next storm ----------------------------------
rm out/.plinth/pushed/app3
storm --plan
t_like "$out" "app3 1\.0\.0: not pushed to the registry: push it" "an image whose push is not recorded is planned"
t_like "$out" "^1 of 6 images" "and nothing else"
run_plinth rebuild --catalog cat --key ops.key --out out recipes --push "$R/storm" --insecure "$R" --plan --format make
t_like "$out" "	\\\$\(PLINTH\) push \\\$\(PUSH_FLAGS\) --mount-from storm/base oci:\\\$\(OUT\)/app3:1\.0\.0 \\\$\(PUSH\)/app3:1\.0\.0" \
	"the Makefile plan pushes it too, mounting from the base's repository"
storm
t_like "$out" "pushed +app3 1\.0\.0" "the next storm pushes it"
t_is "$(jq -s '[.[] | select(.event == "pushed" and .name == "app3")] | last | .uploaded' out/.plinth/journal)" 0 \
	"without uploading a blob (the registry has them all)"

# ---- a push that fails fails the image; the next storm pushes it --------------
registry_stop r
echo "app 2 changed" >recipes/a2.txt
storm --retries 0
t_is "$rc" 1 "a storm whose push cannot reach the registry fails (exit 1)"
t_like "$out" "failed +app2: .*cannot connect" "the image says why"
registry_start r || exit 1
storm
t_is "$rc" 0 "with the registry back, the next storm succeeds"
t_like "$out" "pushed +app2 1\.0\.0" "and pushes the image whose push failed"
t_is "$(sk_digest "$R/storm/app2:1.0.0")" "$(tag_digest out/app2 1.0.0)" "the registry has it now"

# ---- a patched base: its new layer travels once --------------------------------
head -c 1048576 /dev/urandom >recipes/blob
storm --json
t_is "$rc" 0 "a storm after the base changed succeeds"
new_layer=$(layer0 out/base 1.0.1)
t_ok "the base is rebuilt as 1.0.1 with a new layer" test -n "$new_layer" -a "$new_layer" != "$base_layer"
t_is "$(uploads_of "$new_layer")" 1 "the new base layer is uploaded once, for six images"
t_is "$(printf '%s' "$out" | jq -r .summary.pushed)" 6 "all six are pushed again"
t_is "$(sk_digest "$R/storm/app4:1.0.0")" "$(tag_digest out/app4 1.0.0)" "the registry has the images on the new base"

# ---- another machine: the base comes from the registry --------------------------
mv out out.away
run_plinth build --catalog cat recipes/app5.yaml -o elsewhere --insecure "$R" --skip-tests
t_is "$rc" 0 "a build on a machine without the storm's output succeeds"
t_is "$(printf '%s' "$out" | tail -n 1)" "$(tag_digest out.away/app5 1.0.0)" \
	"and makes the image the storm made, on the base pulled from the registry"
t_ok "the base was pulled into the cache" test -f "$PLINTH_CACHE/bases/blobs/sha256/${new_layer#sha256:}"
registry_stop r
rm -rf "$PLINTH_CACHE/bases" elsewhere
run_plinth build --catalog cat recipes/app5.yaml -o elsewhere --insecure "$R" --skip-tests --retries 0
t_is "$rc" 1 "without the layout and with the registry down, the build fails"
t_like "$err" "base 'base@1'.*not here, and pulling it from the registry failed.*cannot connect" \
	"and says why"
t_ok "and writes nothing" test ! -e elsewhere
mv out.away out

# ---- catalog locate ----------------------------------------------------------------
run_plinth catalog --catalog cat locate --key ops.key base@1.0.0 "$R/mirror/base"
t_is "$rc:$out" "0:base@1.0.0 is in $R/mirror/base" "catalog locate records a registry by hand"
run_plinth catalog --catalog cat locate --key ops.key base@1.0.0 "$R/mirror/base"
t_like "$out" "nothing changed" "recording it again changes nothing"
run_plinth catalog --catalog cat locate --key ops.key base@1.0.0 "no-host"
t_is "$rc" 1 "a location without a registry host is refused"
t_like "$err" "registry" "with a reason"
run_plinth catalog --catalog cat verify
t_is "$rc" 0 "the catalog's history replays with its locate records"

# ---- everything built, nothing pushed: images wait for their base's push -----
registry_start r2 || exit 1
run_plinth rebuild --catalog cat --key ops.key --out out recipes --push "$REG_r2/again" \
	--insecure "$REG_r2" --skip-tests -j 2 --json
t_is "$rc:$(printf '%s' "$out" | jq -r '.summary.pushed, .summary.rebuilt' | tr '\n' ' ')" "0:6 0 " \
	"a storm of outputs built but not pushed pushes all six, building nothing"
run=$(jq -s 'map(.run) | max' out/.plinth/journal)
t_is "$(jq -s --argjson r "$run" '[.[] | select(.run == $r)] | (map(.event == "done" and .name == "base") | index(true)) as $b
	| [to_entries[] | select(.value.event == "start" and (.value.name | startswith("app"))) | .key] | map(. > $b) | all' out/.plinth/journal)" \
	true "every image starts after its base is pushed (it mounts from there)"
t_is "$(registry_count r2 "\"PUT /v2/[^ ]*/blobs/uploads/[^ ]*digest=$new_layer")" 1 \
	"so the base's layer is uploaded once"

t_done
