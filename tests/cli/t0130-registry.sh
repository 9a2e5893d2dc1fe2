#!/usr/bin/env bash
# plinth push, pull and tags against real registries: Debian's docker-registry
# over plain HTTP, with htpasswd authentication and with TLS, and regproxy.py
# in front of one for token authentication, 429/5xx answers and dropped
# connections.  skopeo reads what plinth pushes and pushes what plinth
# pulls; the registry's access log shows what was (not) uploaded or mounted.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-registry.sh"
need_registry cc skopeo umoci jq sha256sum zstd gzip

# No credentials of the user's: every place plinth (and skopeo) looks is here.
export HOME=$TMP/home XDG_RUNTIME_DIR=$TMP/run
unset REGISTRY_AUTH_FILE DOCKER_CONFIG
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"

# Blob uploads in the access log (a mount is a POST too: see mount below).
UPLOADS='"(POST|PUT|PATCH) /v2/[^ ]*/blobs/uploads'

# t_error WANT DESC: the last run_plinth exited 1 with exactly one line on
# stderr, "plinth: ..." containing WANT.
t_error() {
	local n
	n=$(printf '%s\n' "$err" | grep -c '')
	if [ "$rc" = 1 ] && [ "$n" = 1 ] && [[ $err == "plinth: "*"$1"* ]]; then
		t_pass "$2"
	else
		t_fail "$2" "exit $rc, $n line(s) on stderr:" "$(printf '%s' "$err" | head -c 2000)" \
			"want: exit 1 and one line 'plinth: ...$1...'"
	fi
}

last() { printf '%s\n' "$out" | tail -n 1; }
lines() { printf '%s\n' "$1" | grep -c ''; }

# sk ARGS...: skopeo on the test's registries (plain HTTP or unverified TLS).
sk() { skopeo "$@" 2>>"$TMP/skopeo.err"; }
sk_digest() { sk inspect --tls-verify=false "docker://$1" | jq -r .Digest; }
sk_raw() { sk inspect --raw --tls-verify=false "docker://$1"; }

# http_status URL: the status of GET URL (plain HTTP, no credentials).
http_status() {
	python3 -c 'import sys, urllib.request, urllib.error
try: print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e: print(e.code)' "$1"
}

# blobs_ok LAYOUT: "N ok" when every one of the N blobs is stored under its
# digest, else the names of those that are not.
blobs_ok() {
	local bad n
	n=$(find "$1/blobs/sha256" -type f | wc -l)
	bad=$(cd "$1/blobs/sha256" && sha256sum -- * | awk '$1 != $2 { print $2 }')
	echo "${bad:-$n ok}"
}

# arts LAYOUT DIGEST: "ARTIFACT-TYPE DIGEST" of every manifest in LAYOUT's
# index.json whose subject is DIGEST, sorted.
arts() {
	local d
	for d in $(jq -r '.manifests[].digest' "$1/index.json" | sort -u); do
		jq -r --arg s "$2" --arg d "$d" 'select(.subject.digest? == $s) | "\(.artifactType) \($d)"' \
			"$(blob "$1" "$d")"
	done | LC_ALL=C sort
}

# flip FILE: change the byte in the middle of FILE, keeping its size.
flip() {
	python3 - "$1" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    data = f.read()
    f.seek(len(data) // 2)
    f.write(bytes([data[len(data) // 2] ^ 0xFF]))
EOF
}

# variant NAME FILE: hello with FILE as /etc/NAME, built into layout NAME
# (tag v1); prints the manifest digest.
variant() {
	mkdir -p "v-$1"
	cp -r src/. "v-$1/"
	cp "$2" "v-$1/extra"
	sed -i "s|^files:|files:\n  - {path: /etc/$1, source: extra, mode: \"0644\"}|" "v-$1/hello.yaml"
	"$PLINTH" build "v-$1/hello.yaml" -o "$1" --tag v1 >/dev/null 2>"v-$1.err" || {
		echo "variant $1 does not build: $(cat "v-$1.err")" >&2
		return 1
	}
	manifest_of "$1" v1
}
layer_of() { jq -r '.layers[0].digest' "$(blob "$1" "$2")"; }

# ---- fixtures ---------------------------------------------------------------
make_hello src
run_plinth build src/hello.yaml -o lay --tag v1
[ "$rc" = 0 ] || { t_fail "the hello image builds" "$err"; t_done; exit 1; }
D=$(manifest_of lay v1)
HEX=${D#sha256:}
"$PLINTH" keygen k >/dev/null
"$PLINTH" sign --key k.key oci:lay:v1 >/dev/null
fp=sha256:$(openssl pkey -pubin -in k.pub -outform DER | sha256sum | cut -d' ' -f1)
SIGD=$(manifest_of lay "sha256-$HEX.sig")
LAYER=$(layer_of lay "$D")
CONFIG=$(jq -r .config.digest "$(blob lay "$D")")
ARTS=$(arts lay "$D")
t_is "$(echo "$ARTS" | cut -d' ' -f1 | tr '\n' ' ')" "application/spdx+json application/vnd.dev.plinth.tests.v1+json " \
	"the built image carries its SBOM and tests artifacts (the fixture)"
t_like "$SIGD" '^sha256:[0-9a-f]{64}$' "the built image is signed (the fixture)"

registry_start plain || { t_fail "docker-registry starts"; t_done; exit 1; }
registry_start locked --htpasswd "alice:s3cret-Pa55w0rd" || { t_fail "docker-registry starts with htpasswd"; t_done; exit 1; }
registry_start secure --tls || { t_fail "docker-registry starts with TLS"; t_done; exit 1; }
R=$REG_plain

# ---- push --------------------------------------------------------------------
up0=$(registry_count plain "$UPLOADS")
run_plinth push --insecure "$R" oci:lay:v1 "$R/hello:1"
t_is "$rc" 0 "push exits 0"
t_is "$(last)" "$D" "push prints the manifest digest last"
t_is "$(lines "$err")" 1 "push prints a one-line summary on stderr"
up1=$(registry_count plain "$UPLOADS")
t_is "$((up1 > up0))" 1 "the registry's log shows the blob uploads ($up0 -> $up1)"
t_is "$(sk_digest "$R/hello:1")" "$D" "skopeo finds the image under the tag with the same digest"
t_is "$(sk_raw "$R/hello:1" | sha256sum | cut -d' ' -f1)" "$HEX" "the registry holds the manifest's very bytes"
t_is "$(sk inspect --tls-verify=false "docker://$R/hello:1" | jq -c .Layers)" "[\"$LAYER\"]" "skopeo lists the layer"
t_is "sha256:$(sk inspect --config --raw --tls-verify=false "docker://$R/hello:1" | sha256sum | cut -d' ' -f1)" \
	"$CONFIG" "skopeo reads the config"
t_ok "skopeo copies the pushed image back" skopeo copy -q --src-tls-verify=false "docker://$R/hello:1" oci:viaskopeo:1
t_is "$(sk_raw "$R/hello:sha256-$HEX.sig" | sha256sum | cut -d' ' -f1)" "${SIGD#sha256:}" \
	"the signature is pushed under cosign's tag sha256-<hex>.sig"
fallback=$(sk_raw "$R/hello:sha256-$HEX")
t_is "$(echo "$fallback" | jq -r '.mediaType, ([.manifests[] | "\(.artifactType) \(.digest)"] | sort | .[])' 2>&1)" \
	"application/vnd.oci.image.index.v1+json
$ARTS" "the referrers fallback tag sha256-<hex> is an index of the SBOM and tests artifacts"
got=""
while read -r _ d; do
	got="$got $(sk_raw "$R/hello@$d" | sha256sum | cut -c1-64)"
done <<<"$ARTS"
t_is "$got" "$(echo "$ARTS" | sed 's/.*sha256:/ /' | tr -d '\n')" "the artifacts' manifests are in the registry"
t_is "$(sk list-tags --tls-verify=false "docker://$R/hello" | jq -r '.Tags[]' | LC_ALL=C sort | tr '\n' ' ')" \
	"1 sha256-$HEX sha256-$HEX.sig " "skopeo list-tags: the tag, the signature tag, the fallback tag"

run_plinth push --insecure "$R" --json oci:lay:v1 "$R/hello:1"
t_is "$rc" 0 "a second push exits 0"
t_is "$(echo "$out" | jq -r '"\(.reference) \(.digest) \(.blobs.uploaded) \(.bytes_uploaded) \(.blobs.present > 0)"' 2>&1)" \
	"$R/hello:1 $D 0 0 true" "--json: the second push uploads no blob, finds them present"
t_is "$rc:$(registry_count plain "$UPLOADS")" "0:$up1" "the registry's log shows no upload by the second push"
t_is "$(echo "$out" | jq -r '.artifacts[].reference' 2>&1 | LC_ALL=C sort)" \
	"$({ echo "$R/hello:sha256-$HEX.sig"; echo "$ARTS" | sed "s|.* |$R/hello@|"; } | LC_ALL=C sort)" \
	"--json names the signature and both referrers"
t_is "$(echo "$out" | jq -r '.artifacts[] | select(.reference | contains("@")) | .artifactType' 2>&1 | LC_ALL=C sort | tr '\n' ' ')" \
	"application/spdx+json application/vnd.dev.plinth.tests.v1+json " "--json gives the referrers' artifact types"

run_plinth push --insecure "$R" -j 4 oci:lay:v1 "$R/hello:2"
t_is "$rc:$(last)" "0:$D" "a push with -j 4 under another tag"

# ---- pull --------------------------------------------------------------------
run_plinth pull --insecure "$R" "$R/hello:1" oci:got:v1
t_is "$rc" 0 "pull exits 0"
t_is "$(last)" "$D" "pull prints the digest of the stored manifest"
t_is "$(manifest_of got v1)" "$D" "the pulled layout's tag points at the same digest"
t_is "$(skopeo inspect oci:got:v1 2>&1 | jq -r .Digest)" "$D" "skopeo reads the pulled layout"
t_ok "umoci reads the pulled layout" umoci stat --image got:v1
t_is "$(content got "$D")" "$(content lay "$D")" "the pulled image has the config and layer that were pushed"
t_like "$(blobs_ok got)" '^[0-9]+ ok$' "every pulled blob matches its digest"
run_plinth verify --key k.pub oci:got:v1
t_is "$rc:$out" "0:verified: oci:got:v1: signed by $fp as hello" "the pulled signature verifies"
t_is "$(arts got "$D")" "$ARTS" "pull brings the SBOM and tests artifacts (referrers)"

run_plinth pull --insecure "$R" "$R/hello@$D" oci:bydigest:x
t_is "$rc:$(last):$(manifest_of bydigest x)" "0:$D:$D" "pull by digest"

# ---- what skopeo pushed ------------------------------------------------------
skopeo copy -q --dest-tls-verify=false oci:lay:v1 "docker://$R/sk:1"
run_plinth pull --insecure "$R" "$R/sk:1" oci:fromsk:1
t_is "$rc:$(last)" "0:$D" "plinth pulls an OCI image skopeo pushed (no signature, no referrers)"
t_is "$(content fromsk "$D")" "$(content lay "$D")" "with its config and layer"

skopeo copy -q --dest-compress --dest-compress-format gzip oci:lay:v1 oci:gz:v1
skopeo copy -q --dest-tls-verify=false --format v2s2 oci:gz:v1 "docker://$R/v2s2:1"
V2D=$(sk_digest "$R/v2s2:1")
t_is "$(sk_raw "$R/v2s2:1" | jq -r .mediaType)" "application/vnd.docker.distribution.manifest.v2+json" \
	"skopeo pushed a Docker schema 2 image (the fixture)"
run_plinth pull --insecure "$R" "$R/v2s2:1" oci:dv:1
t_is "$rc" 0 "plinth pulls a Docker schema 2 image"
dvd=$(last)
t_is "$(manifest_of dv 1)" "$dvd" "the tag points at the digest printed"
t_is "$([ "$dvd" != "$V2D" ] && echo converted)" converted "the stored manifest is not the Docker one ($V2D)"
t_is "$(jq -r '.mediaType, .config.mediaType, .layers[].mediaType' "$(blob dv "$dvd")" 2>&1)" \
	"application/vnd.oci.image.manifest.v1+json
application/vnd.oci.image.config.v1+json
application/vnd.oci.image.layer.v1.tar+gzip" "it is converted to OCI media types"
want_diff=$(jq -c .rootfs.diff_ids "$(blob lay "$CONFIG")")
dvconf=$(jq -r .config.digest "$(blob dv "$dvd")")
t_is "$(jq -c .rootfs.diff_ids "$(blob dv "$dvconf")")" "$want_diff" "the converted config has the original diff_ids"
dvlayer=$(layer_of dv "$dvd")
t_is "$(sk_raw "$R/v2s2:1" | jq -r '.layers[0].digest')" "$dvlayer" "the layer blob is the registry's"
t_is "[\"sha256:$(gzip -dc "$(blob dv "$dvlayer")" | sha256sum | cut -d' ' -f1)\"]" "$want_diff" \
	"the pulled layer uncompresses to the original diff_id"
t_is "$(gzip -dc "$(blob dv "$dvlayer")" | sha256sum)" "$(zstd -dc "$(blob lay "$LAYER")" | sha256sum)" \
	"the pulled layer holds the original tar"
t_is "$(skopeo inspect oci:dv:1 2>&1 | jq -r .Digest)" "$dvd" "skopeo reads the converted image"
t_like "$(blobs_ok dv)" '^[0-9]+ ok$' "every blob of the converted image matches its digest"
skopeo copy -q --src-tls-verify=false "docker://$R/v2s2:1" oci:skdv:1 2>/dev/null &&
	echo "# skopeo's own conversion: $(manifest_of skdv 1), plinth's: $dvd"

# ---- mount -------------------------------------------------------------------
run_plinth push --insecure "$R" --mount-from hello --json oci:lay:v1 "$R/copy:1"
t_is "$rc:$(echo "$out" | jq -r '"\(.digest) \(.blobs.mounted > 0) \(.blobs.uploaded) \(.bytes_uploaded)"' 2>&1)" \
	"0:$D true 0 0" "--mount-from: blobs are mounted, none uploaded (--json)"
t_is "$(($(registry_count plain '"POST /v2/copy/blobs/uploads/\?[^ ]*mount=sha256:[0-9a-f]{64}[^ ]* HTTP/1\.1" 201') > 0))" 1 \
	"the registry's log shows mounts into the new repository (201)"
t_is "$(sk_digest "$R/copy:1"):$(registry_count plain '"(PUT|PATCH) /v2/copy/blobs/uploads')" "$D:0" \
	"the mounted image is complete, and nothing was uploaded into it"

# ---- tags --------------------------------------------------------------------
run_plinth tags --insecure "$R" "$R/hello"
t_is "$rc:$out" "0:1
2
sha256-$HEX
sha256-$HEX.sig" "plinth tags: one tag a line, sorted"
t_is "$out" "$(sk list-tags --tls-verify=false "docker://$R/hello" | jq -r '.Tags[]' | LC_ALL=C sort)" "the tags skopeo lists"
run_plinth tags --insecure "$R" --json "$R/hello"
t_is "$rc:$(echo "$out" | jq -c '[.. | strings | select(test("^(1|2|sha256-.*)$"))] | sort' 2>&1)" \
	"0:[\"1\",\"2\",\"sha256-$HEX\",\"sha256-$HEX.sig\"]" "plinth tags --json"

# ---- a bigger layer in 64 KiB chunks, through a metering proxy ---------------
head -c 3000000 /dev/urandom >big.bin
BIGD=$(variant big big.bin)
BIGLAYER=$(jq -r '.layers | max_by(.size) | .digest' "$(blob big "$BIGD")")
BIGSIZE=$(stat -c %s "$(blob big "$BIGLAYER")")
proxy_start meter "$REG_plain_URL"
run_plinth push --insecure "$PROXY_meter" --chunk-size 65536 --json oci:big:v1 "$PROXY_meter/big:1"
t_is "$rc:$(echo "$out" | jq -r .digest 2>&1)" "0:$BIGD" "--chunk-size 65536: a push of a $BIGSIZE-byte layer"
patches=$(registry_count plain '"PATCH /v2/big/blobs/uploads/')
t_is "$((patches >= (BIGSIZE + 65535) / 65536))" 1 "the registry's log shows one PATCH a chunk ($patches)"
t_is "$(awk '$1 == "PATCH" && $4 > max { max = $4 } END { print max + 0 <= 65536 }' "$PROXY_meter_LOG")" 1 \
	"no PATCH carries more than 65536 bytes"
t_is "$(echo "$out" | jq -r .bytes_uploaded)" \
	"$(awk '$2 ~ /\/blobs\/uploads/ { n += $4 } END { print n + 0 }' "$PROXY_meter_LOG")" \
	"--json bytes_uploaded is what reached the registry"
run_plinth pull --insecure "$R" "$R/big:1" oci:bigback:1
t_is "$rc:$(last)" "0:$BIGD" "the chunked image pulls back"
t_ok "its layer is byte for byte the original" cmp "$(blob big "$BIGLAYER")" "$(blob bigback "$BIGLAYER")"

# ---- credentials: htpasswd -----------------------------------------------------
L=$REG_locked
PASS=s3cret-Pa55w0rd
WRONG=n0t-the-Pa55w0rd
: >outputs
keep() { printf '%s\n%s\n' "$out" "$err" >>outputs; }
auth_file right.json "$L" alice "$PASS"
auth_file wrong.json "$L" alice "$WRONG"

run_plinth push --insecure "$L" oci:lay:v1 "$L/hello:1"
keep
t_error "no credentials" "no credentials for a registry that wants them"
run_plinth push --insecure "$L" --auth-file wrong.json oci:lay:v1 "$L/hello:1"
keep
t_error "authentication failed" "wrong credentials: authentication failed"
run_plinth push --insecure "$L" --auth-file right.json oci:lay:v1 "$L/hello:1"
keep
t_is "$rc:$(last)" "0:$D" "the right credentials from --auth-file push"
t_is "$(sk inspect --tls-verify=false --creds "alice:$PASS" "docker://$L/hello:1" | jq -r .Digest)" "$D" \
	"skopeo finds the image with the same credentials"
REGISTRY_AUTH_FILE=right.json run_plinth pull --insecure "$L" "$L/hello:1" oci:lgot:v1
keep
t_is "$rc:$(last)" "0:$D" "pull with the credentials from \$REGISTRY_AUTH_FILE"
REGISTRY_AUTH_FILE=wrong.json run_plinth tags --insecure "$L" --auth-file right.json "$L/hello"
keep
t_is "$rc:$(echo "$out" | head -n 1)" "0:1" "--auth-file comes before \$REGISTRY_AUTH_FILE"
REGISTRY_AUTH_FILE=wrong.json run_plinth tags --insecure "$L" "$L/hello"
keep
t_error "authentication failed" "wrong credentials from \$REGISTRY_AUTH_FILE"
for place in "$XDG_RUNTIME_DIR/containers/auth.json" "$HOME/.config/containers/auth.json" "$HOME/.docker/config.json"; do
	mkdir -p "$(dirname "$place")"
	cp right.json "$place"
	run_plinth tags --insecure "$L" "$L/hello"
	keep
	t_is "$rc:$(echo "$out" | head -n 1)" "0:1" "credentials from ${place#"$TMP"/}"
	rm "$place"
done
secrets=$(grep -cE -- "$PASS|$WRONG|$(printf 'alice:%s' "$PASS" | base64)|$(printf 'alice:%s' "$WRONG" | base64)" outputs)
t_is "$secrets" 0 "no password, right or wrong, appears in any output"

# ---- TLS -----------------------------------------------------------------------
S=$REG_secure
run_plinth push oci:lay:v1 "$S/hello:1"
t_error "certificate" "HTTPS with a certificate of an unknown CA fails"
run_plinth push --ca-file "$REG_secure_CA" oci:lay:v1 "$S/hello:1"
t_is "$rc:$(last)" "0:$D" "with --ca-file it pushes, without --insecure"
t_is "$(sk_digest "$S/hello:1")" "$D" "skopeo finds it over HTTPS"
run_plinth pull --ca-file "$REG_secure_CA" "$S/hello:1" oci:sgot:v1
t_is "$rc:$(last)" "0:$D" "pull over HTTPS with --ca-file"
before=$(registry_count plain '"(POST|PUT|PATCH|HEAD|GET) /v2/')
run_plinth push oci:lay:v1 "$R/plain:1"
t_is "$rc:$(lines "$err")" "1:1" "a plain-HTTP registry not named by --insecure is refused"
t_is "$(registry_count plain '"(POST|PUT|PATCH|HEAD|GET) /v2/')" "$before" "and not spoken to over HTTP"

# ---- corrupted blobs -------------------------------------------------------------
echo "registry corruption" >rc.txt
RCD=$(variant rc rc.txt)
RCLAYER=$(layer_of rc "$RCD")
skopeo copy -q --dest-tls-verify=false oci:rc:v1 "docker://$R/rc:1"
flip "$(registry_blob_path plain "$RCLAYER")"
t_is "$(sha256sum <"$(registry_blob_path plain "$RCLAYER")" | cut -d' ' -f1 | grep -c "${RCLAYER#sha256:}")" 0 \
	"the layer in the registry's storage is corrupted (the fixture)"
cp -a lay dest
before=$(state dest)
run_plinth pull --insecure "$R" "$R/rc:1" oci:dest:rc
t_error "does not match its digest" "a corrupted blob in the registry: pull fails"
t_is "$(state dest)" "$before" "the destination layout is unchanged"

echo "local corruption" >lc.txt
LCD=$(variant lc lc.txt)
flip "$(blob lc "$(layer_of lc "$LCD")")"
run_plinth push --insecure "$R" oci:lc:v1 "$R/lc:1"
t_error "does not match its digest" "a corrupted local blob: push fails"
t_is "$(http_status "$REG_plain_URL/v2/lc/manifests/1")" 404 "and no manifest appears in the registry"

# ---- token authentication, retries (regproxy.py) --------------------------------
proxy_start tok "$REG_plain_URL" --bearer "bob:t0ken-Pa55"
P=$PROXY_tok
run_plinth push --insecure "$P" oci:lay:v1 "$P/tok:1"
t_error "no credentials" "a token registry without credentials: no credentials"
auth_file tokwrong.json "$P" bob nope-Pa55
run_plinth push --insecure "$P" --auth-file tokwrong.json oci:lay:v1 "$P/tok:1"
t_error "authentication failed" "a token registry with wrong credentials: authentication failed"
t_is "$(printf '%s\n%s\n' "$out" "$err" | grep -c 'nope-Pa55')" 0 "the wrong password is not shown"
auth_file tok.json "$P" bob t0ken-Pa55
run_plinth push --insecure "$P" --auth-file tok.json oci:lay:v1 "$P/tok:1"
t_is "$rc:$(last)" "0:$D" "a token registry with the right credentials: push"
t_is "$(($(proxy_count tok '^GET /token\?[^ ]* 200 ') > 0))" 1 "a token was fetched"
t_is "$(proxy_count tok '^PUT /v2/tok/manifests/1 201 ')" 1 "the manifest went through with it"
t_is "$(sk_digest "$R/tok:1")" "$D" "the image is in the registry behind"
run_plinth pull --insecure "$P" --auth-file tok.json "$P/tok:1" oci:tgot:v1
t_is "$rc:$(last)" "0:$D" "pull through token authentication"
t_is "$(printf '%s\n%s\n' "$out" "$err" | grep -c 't0ken-Pa55')" 0 "the password is not shown"

proxy_start flaky "$REG_plain_URL"
F=$PROXY_flaky
echo 'PUT /v2/f503/manifests/ 503 2' >"$PROXY_flaky_FAULTS"
run_plinth push --insecure "$F" oci:lay:v1 "$F/f503:1"
t_is "$rc:$(last)" "0:$D" "push: a manifest answered 503 twice is retried"
t_is "$(proxy_count flaky '^PUT /v2/f503/manifests/[^ ]* 503 ')" 2 "(the proxy answered 503 twice)"
t_is "$(sk_digest "$R/f503:1")" "$D" "and the image is complete in the registry"
echo 'GET /v2/f503/manifests/ 503 2' >"$PROXY_flaky_FAULTS"
run_plinth pull --insecure "$F" "$F/f503:1" oci:fgot:1
t_is "$rc:$(last)" "0:$D" "pull: a manifest answered 503 twice is retried"

echo '* /v2/f429/ 429 2' >"$PROXY_flaky_FAULTS"
run_plinth push --insecure "$F" oci:lay:v1 "$F/f429:1"
t_is "$rc:$(last):$(proxy_count flaky ' /v2/f429/[^ ]* 429 ')" "0:$D:2" "push: 429 (Retry-After: 1) twice is retried"
echo 'PUT /v2/f500/blobs/uploads/ 500 2' >"$PROXY_flaky_FAULTS"
run_plinth push --insecure "$F" oci:lay:v1 "$F/f500:1"
t_is "$rc:$(last):$(proxy_count flaky '^PUT /v2/f500/blobs/uploads/[^ ]* 500 ')" "0:$D:2" \
	"push: the end of a blob upload answered 500 twice is retried"
t_is "$(sk_digest "$R/f500:1")" "$D" "and the image is complete"

echo 'PATCH|PUT /v2/fdrop/blobs/uploads/ drop 1' >"$PROXY_flaky_FAULTS"
run_plinth push --insecure "$F" oci:lay:v1 "$F/fdrop:1"
t_is "$rc:$(last):$(proxy_count flaky '^(PATCH|PUT) /v2/fdrop/[^ ]* drop ')" "0:$D:1" \
	"push: a connection dropped during a blob upload is retried"
skopeo copy -q --dest-tls-verify=false oci:lay:v1 "docker://$R/pdrop:1"
echo 'GET /v2/pdrop/blobs/ drop 1' >"$PROXY_flaky_FAULTS"
run_plinth pull --insecure "$F" "$F/pdrop:1" oci:dgot:1
t_is "$rc:$(last):$(proxy_count flaky '^GET /v2/pdrop/blobs/[^ ]* drop ')" "0:$D:1" \
	"pull: a connection dropped on a blob is retried"
t_is "$(content dgot "$D")" "$(content lay "$D")" "and the image is whole"

echo '* /v2/fdead/ 503 1000' >"$PROXY_flaky_FAULTS"
SECONDS=0
run_plinth push --insecure "$F" oci:lay:v1 "$F/fdead:1"
took=$SECONDS
tries=$(proxy_count flaky ' /v2/fdead/[^ ]* 503 ')
t_is "$rc:$(lines "$err")" "1:1" "a registry that answers 503 for ever: push fails with one line"
t_is "$((tries >= 2 && tries <= 20 && took <= 60))" 1 "after a few attempts ($tries) and a few seconds (${took}s)"
: >"$PROXY_flaky_FAULTS"

# ---- --platform ------------------------------------------------------------------
echo "the other platform" >arm.txt
ARMD=$(variant arm arm.txt)
python3 - "$D" "$ARMD" <<'EOF'
import hashlib, json, os, shutil, sys
amd, arm = sys.argv[1:]
os.makedirs("multi/blobs/sha256")
for lay in ("lay", "arm"):
    for name in os.listdir(f"{lay}/blobs/sha256"):
        shutil.copy(f"{lay}/blobs/sha256/{name}", "multi/blobs/sha256/")
def desc(lay, d, arch):
    size = os.path.getsize(f"{lay}/blobs/sha256/{d[7:]}")
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size,
            "platform": {"architecture": arch, "os": "linux"}}
idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": [desc("lay", amd, "amd64"), desc("arm", arm, "arm64")]}).encode()
h = hashlib.sha256(idx).hexdigest()
open(f"multi/blobs/sha256/{h}", "wb").write(idx)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
           "digest": "sha256:" + h, "size": len(idx), "annotations": {"org.opencontainers.image.ref.name": "1"}}]},
          open("multi/index.json", "w"))
open("multi/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
skopeo copy -q --all --dest-tls-verify=false oci:multi:1 "docker://$R/multi:1"
run_plinth pull --insecure "$R" --platform linux/arm64 "$R/multi:1" oci:pm:1
t_is "$rc:$(manifest_of pm 1)" "0:$(last)" "--platform linux/arm64: the tag points at the digest printed"
t_is "$([ -f "$(blob pm "$(layer_of arm "$ARMD")")" ] && echo arm)$([ -f "$(blob pm "$LAYER")" ] && echo amd)" arm \
	"only the arm64 image's layer is pulled"

# ---- registry down -------------------------------------------------------------------
registry_stop plain
SECONDS=0
run_plinth push --insecure "$R" oci:lay:v1 "$R/hello:3"
t_error "cannot connect" "push to a stopped registry: cannot connect"
run_plinth pull --insecure "$R" "$R/hello:1" oci:down:1
t_error "cannot connect" "pull from a stopped registry: cannot connect"
run_plinth tags --insecure "$R" "$R/hello"
t_error "cannot connect" "tags of a stopped registry: cannot connect"
t_is "$((SECONDS <= 60))" 1 "all three give up within a minute (${SECONDS}s)"
registry_start plain
run_plinth pull --insecure "$R" "$R/hello:1" oci:down:1
t_is "$rc:$(last)" "0:$D" "the restarted registry serves the image again"

# ---- the command line ------------------------------------------------------------------
for c in push pull tags; do
	run_plinth "$c" --help
	t_is "$rc" 0 "plinth $c --help exits 0"
	t_like "$out" "^usage: plinth $c " "plinth $c --help prints usage"
done
run_plinth push oci:lay:v1
t_like "$rc:$err" "^2:plinth: " "push without a destination exits 2"
run_plinth pull --insecure "$R" "$R/hello:1"
t_like "$rc:$err" "^2:plinth: " "pull without a destination exits 2"
run_plinth tags
t_like "$rc:$err" "^2:plinth: " "tags without a repository exits 2"
run_plinth push --frob oci:lay:v1 "$R/hello:1"
t_is "$rc:$(echo "$err" | head -n 1)" "2:plinth: unknown option '--frob'" "an unknown option exits 2"

t_done
