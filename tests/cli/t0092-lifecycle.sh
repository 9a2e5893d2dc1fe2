#!/usr/bin/env bash
# The whole lifecycle of a base: init, publish base 1.0.0, build a derived
# image on base@1, supersede with 1.0.1, resolve gives 1.0.1, ban 1.0.0:
# admit refuses the image built on 1.0.0 and accepts one rebuilt on 1.0.1.
. "$(dirname "$0")/lib.sh"
need cc jq
export PLINTH_STATE=$TMP/state PLINTH_CATALOG=$TMP/cat

make_hello src
mkdir images
base_recipe() { # VERSION MOTD
	mkdir -p b$1/etc
	echo "$2" >b$1/etc/motd
	cat >b$1/base.yaml <<YAML
name: base
version: $1
epoch: 1700000000
files:
  - {path: /etc/motd, source: etc/motd, mode: "0644"}
config:
  env: {BASE_VERSION: "$1"}
YAML
}
base_recipe 1.0.0 "base one"
base_recipe 1.0.1 "base one, patched"
cat >src/app.yaml <<'YAML'
name: app
version: 2.3.0
epoch: 1700000000
base: base@1
files:
  - {path: /usr/local/bin/hello, source: bin/hello, mode: "0755"}
config:
  entrypoint: [/usr/local/bin/hello]
YAML

"$PLINTH" keygen ops >/dev/null
"$PLINTH" keygen dev >/dev/null
t_ok "init" "$PLINTH" catalog init --key ops.key

t_ok "build base 1.0.0" "$PLINTH" build b1.0.0/base.yaml -o images/base
t_ok "sign it" "$PLINTH" sign --key ops.key oci:images/base:1.0.0
t_ok "publish it" "$PLINTH" catalog publish --key ops.key oci:images/base:1.0.0
base100=$(manifest_of images/base 1.0.0)

run_plinth build src/app.yaml -o images/app --tag on-1.0.0 --json
t_is "$rc" 0 "a recipe on base@1 builds against the catalog"
t_is "$(echo "$out" | jq -r '.base + " " + .base_digest')" "base@1.0.0 $base100" "on base 1.0.0"
app_old=$(manifest_of images/app on-1.0.0)
m=$(blob images/app "$app_old")
t_is "$(jq -r '.annotations["org.opencontainers.image.base.name"] + " " + .annotations["org.opencontainers.image.base.digest"]' "$m")" "base:1.0.0 $base100" "the image names its base"
t_is "$(jq -c '[.layers[0]]' "$m")" "$(jq -c '[.layers[0]]' "$(blob images/base "$base100")")" "and starts with the base's layer"
t_ok "the app is signed" "$PLINTH" sign --key ops.key oci:images/app:on-1.0.0
run_plinth admit oci:images/app:on-1.0.0
t_is "$rc" 0 "admit accepts it while its base is approved"
t_like "$out" "1 base approved" "checking one base"

t_ok "build base 1.0.1" "$PLINTH" build b1.0.1/base.yaml -o images/base
"$PLINTH" sign --key ops.key oci:images/base:1.0.1 >/dev/null
t_ok "publish 1.0.1" "$PLINTH" catalog publish --key ops.key oci:images/base:1.0.1
base101=$(manifest_of images/base 1.0.1)
t_ok "supersede 1.0.0 with 1.0.1" "$PLINTH" catalog supersede --key ops.key base@1.0.0 base@1.0.1
run_plinth catalog resolve base@1
t_is "$out" "base@1.0.1 $base101" "resolve base@1 gives 1.0.1"
run_plinth admit oci:images/app:on-1.0.0
t_is "$rc" 1 "admit refuses an image on a superseded base"
t_like "$err" "base 'base@1.0.0' is superseded by 'base@1.0.1': rebuild on it" "saying what to do"
run_plinth admit --allow-superseded oci:images/app:on-1.0.0
t_is "$rc" 0 "unless superseded bases are allowed"

t_ok "ban 1.0.0" "$PLINTH" catalog ban --key ops.key base@1.0.0 --reason "CVE-2026-1234"
run_plinth admit --allow-superseded oci:images/app:on-1.0.0
t_is "$rc" 1 "admit refuses the image built on the banned base"
t_is "$err" "plinth: not admitted: oci:images/app:on-1.0.0: base 'base@1.0.0' is banned: CVE-2026-1234" "with the reason"

run_plinth build src/app.yaml -o images/app --tag on-1.0.1 --json
t_is "$(echo "$out" | jq -r .base)" "base@1.0.1" "a rebuild picks 1.0.1"
"$PLINTH" sign --key ops.key oci:images/app:on-1.0.1 >/dev/null
run_plinth admit oci:images/app:on-1.0.1
t_is "$rc" 0 "admit accepts the image rebuilt on 1.0.1"
t_ok "the rebuilt image is verified by its signature" "$PLINTH" verify --key ops.pub oci:images/app:on-1.0.1

# the other refusals
"$PLINTH" build src/app.yaml -o images/unsigned >/dev/null
run_plinth admit oci:images/unsigned:2.3.0
t_like "$rc:$err" "^1:.*is not signed" "admit refuses an unsigned image"
"$PLINTH" build src/app.yaml -o images/devsigned >/dev/null
"$PLINTH" sign --key dev.key oci:images/devsigned:2.3.0 >/dev/null
run_plinth admit oci:images/devsigned:2.3.0
t_is "$rc" 1 "admit refuses an image signed by a key outside the trust root"
"$PLINTH" catalog init --catalog other --key ops.key >/dev/null
run_plinth admit --catalog other oci:images/app:on-1.0.1
t_is "$rc" 1 "admit refuses an image whose base the catalog does not know"
t_like "$err" "base 'base:1.0.1' \(sha256:[0-9a-f]{64}\) is not in the catalog" "saying which"
python3 - images/app <<'PYEOF'
import json, sys
# re-point the tag at a copy of the manifest with one byte changed: the
# signature names the old digest
lay = sys.argv[1]
idx = json.load(open(f"{lay}/index.json"))
for m in idx["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "on-1.0.1":
        d = m["digest"].split(":")[1]
        b = open(f"{lay}/blobs/sha256/{d}", "rb").read().replace(b'"app"', b'"app2"')
        import hashlib
        h = hashlib.sha256(b).hexdigest()
        open(f"{lay}/blobs/sha256/{h}", "wb").write(b)
        m["digest"], m["size"] = "sha256:" + h, len(b)
json.dump(idx, open(f"{lay}/index.json", "w"))
PYEOF
run_plinth admit oci:images/app:on-1.0.1
t_is "$rc" 1 "admit refuses an image changed after it was signed"
t_done
