#!/usr/bin/env bash
# Derived images: a base built from a signed archive, signed and published
# in a real catalog, and a recipe on `base@1` that adds a package the base
# lacks (and lists one it has), a file and an account.  The derived image
# is the base's layers unchanged plus one layer holding only what is new;
# its lock pins only what the base lacks; annotations name the base; real
# tools read and run it; bad bases fail cleanly.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt
need cc jq tar zstd gzip sha256sum python3

export PLINTH_CACHE=$TMP/cache PLINTH_STATE=$TMP/state
unset PLINTH_CATALOG

# ---- an archive -------------------------------------------------------------
apt_keygen good
apt_deb libbase 1.0 FILE=/usr/lib/x86_64-linux-gnu/libbase.so.1:base >/dev/null
apt_deb basetool 1.0 Depends="libbase (>= 1.0)" FILE=/usr/bin/basetool:tool >/dev/null
apt_deb newpkg 1.0 Depends="libbase" FILE=/usr/share/newpkg/data:new >/dev/null
apt_deb rival 1.0 Conflicts="newpkg" FILE=/usr/share/rival/data:rival >/dev/null
mkdir srv
apt_archive srv/good stable || exit 1
apt_serve srv || exit 1

# ---- the base, signed and published -------------------------------------
make_hello src
cp src/bin/hello hello.bin
apt_recipe base '${APT_URL}/good' basetool
sed -i 's/^name: img/name: base/' base.yaml
cat >>base.yaml <<'EOF'
epoch: 1700000000
accounts:
  users: [{name: app, uid: 1000}]
EOF
"$PLINTH" keygen ops >/dev/null || exit 1
run_plinth catalog init --catalog cat --key ops.key
t_is "$rc" 0 "a catalog is made"
run_plinth lock base.yaml
t_is "$rc" 0 "the base is locked"
run_plinth build base.yaml -o base-img --compression gzip
t_is "$rc" 0 "the base builds"
base_digest=$(echo "$out" | tail -n 1)
"$PLINTH" sign --key ops.key oci:base-img:1.0.0 >/dev/null || exit 1
run_plinth catalog publish --catalog cat --key ops.key oci:base-img:1.0.0
t_is "$rc" 0 "the base is published"
base_manifest=$(blob base-img "$base_digest")

# ---- the derived recipe -----------------------------------------------------
apt_recipe d '${APT_URL}/good' 'newpkg, basetool'
sed -i -e 's/^name: img/name: derived/' -e 's/^version: 1.0.0/version: 2.0.0/' d.yaml
cat >>d.yaml <<'EOF'
base: base@1
epoch: 1700000000
files:
  - {path: /usr/local/bin/hello, source: hello.bin, mode: "0755"}
accounts:
  users: [{name: web, uid: 1001}]
  run-as: app
config:
  entrypoint: [/usr/local/bin/hello]
  env: {GREETING: hi}
EOF

run_plinth lock d.yaml --catalog cat
t_is "$rc" 0 "a derived recipe is locked against its base"
t_like "$out" "^locked 1 packages .* in d.lock.json; the base base@1.0.0 has 2$" "...saying what the base has"
t_is "$(jq -r '[.packages[].name] | join(" ")' d.lock.json)" "newpkg" \
	"the lock pins only what the base lacks (not basetool, not libbase)"

run_plinth build d.yaml -o out --catalog cat --json
t_is "$rc" 0 "the derived recipe builds on base@1"
t_is "$(echo "$out" | jq -r '[.base, .base_digest, .base_packages, .packages, .from_lock] | map(tostring) | join(" ")')" \
	"base@1.0.0 $base_digest 2 1 true" "--json names the base, its digest and packages, and what was installed"
digest=$(echo "$out" | jq -r .digest)
manifest=$(blob out "$digest")
config=$(blob out "$(jq -r .config.digest "$manifest")")
base_config=$(blob base-img "$(jq -r .config.digest "$base_manifest")")

t_is "$(jq -c '.layers[:-1]' "$manifest")" "$(jq -c .layers "$base_manifest")" \
	"the derived manifest starts with the base's layer descriptors, unchanged"
t_is "$(jq '.layers | length' "$manifest")" "$(($(jq '.layers | length' "$base_manifest") + 1))" \
	"...and adds exactly one layer"
for l in $(jq -r '.layers[].digest' "$manifest"); do
	[ -f "$(blob out "$l")" ] || t_fail "layer $l is in the output layout"
done
t_is "$(jq -c '.rootfs.diff_ids[:-1]' "$config")" "$(jq -c .rootfs.diff_ids "$base_config")" \
	"the config's diff_ids are the base's, then the new layer's"
t_is "$(jq '.history | length' "$config"):$(jq -r '.history[-1].created_by' "$config")" \
	"$(($(jq '.history | length' "$base_config") + 1)):plinth build derived 2.0.0" \
	"the history is the base's plus one entry"
t_is "$(jq -r '.config.User' "$config")" "1000:1000" "run-as names the base's account 'app'"
t_is "$(jq -c '.config.Env' "$config")" \
	'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","GREETING=hi"]' \
	"Env is the base's with the recipe's added"

ann() { jq -r --arg k "$1" '.annotations[$k] // "absent"' "$manifest"; }
t_is "$(ann org.opencontainers.image.base.name)" "base:1.0.0" "base.name names the resolved base"
t_is "$(ann org.opencontainers.image.base.digest)" "$base_digest" "base.digest is the base's manifest digest"
t_is "$(ann dev.plinth.recipe.digest)" "sha256:$(sha256sum <d.yaml | cut -d' ' -f1)" \
	"dev.plinth.recipe.digest is the recipe file's"
t_is "$(ann dev.plinth.lock.digest)" "sha256:$(sha256sum <d.lock.json | cut -d' ' -f1)" \
	"dev.plinth.lock.digest is the lock file's"
t_is "$(jq -r '.annotations["dev.plinth.lock.digest"] // "absent"' "$base_manifest")" \
	"sha256:$(sha256sum <base.lock.json | cut -d' ' -f1)" "...on the base too"

# the new layer: only what the base lacks
zstd -dc "$(blob out "$(jq -r '.layers[-1].digest' "$manifest")")" >layer.tar
t_is "$(tar -tf layer.tar | grep -v '/$' | LC_ALL=C sort | tr '\n' ' ')" \
	"etc/group etc/os-release etc/passwd usr/local/bin/hello usr/share/newpkg/1.0 usr/share/newpkg/data var/lib/dpkg/status.d/newpkg var/lib/dpkg/status.d/newpkg.md5sums " \
	"the derived layer holds the new package, the file and the accounts, nothing of the base's"
t_is "$(tar -tf layer.tar | grep -c 'basetool\|libbase\|nsswitch\|^tmp/\|^bin$')" 0 \
	"...no package, default or link the base already has"
t_is "$(tar -xOf layer.tar etc/passwd | cut -d: -f1,3 | tr '\n' ' ')" \
	"root:0 nobody:65534 nonroot:65532 app:1000 web:1001 " "/etc/passwd has the base's accounts and the new one"
t_like "$(tar -xOf layer.tar etc/os-release)" "IMAGE_ID=derived" "os-release names the derived image"

run_plinth build d.yaml -o out2 --catalog cat
t_is "$rc:$(echo "$out" | tail -n 1)" "0:$digest" "a second build gives the same digest"
t_like "$(echo "$out" | head -n 1)" "^built oci:out2:2.0.0 on base@1.0.0 " "...and says which base it is on"
PLINTH_CATALOG=$TMP/cat run_plinth build d.yaml -o out3
t_is "$rc:$(echo "$out" | tail -n 1)" "0:$digest" "PLINTH_CATALOG names the catalog too"

# ---- reproducible wherever and however it is run ----------------------------
mkdir -p elsewhere/sub
cp d.yaml d.lock.json hello.bin elsewhere/sub/
repro=$(cd elsewhere && umask 077 && TZ=Pacific/Chatham LC_ALL=C \
	"$PLINTH" build sub/d.yaml -o "$TMP/repro" --catalog "$TMP/cat" 2>&1) && repro_rc=0 || repro_rc=$?
t_is "$repro_rc:$(echo "$repro" | tail -n 1)" "0:$digest" \
	"rebuilt from another directory under another TZ, umask and locale: the same digest"

# ---- three levels: base -> derived, published as a base -> an image on it ----
"$PLINTH" sign --key ops.key oci:out:2.0.0 >/dev/null || exit 1
run_plinth catalog publish --catalog cat --key ops.key oci:out:2.0.0
t_is "$rc" 0 "the derived image is published as a base of its own"
printf 'top\n' >top.conf
cat >top.yaml <<'EOF'
name: top
version: 3.0.0
base: derived@2
epoch: 1700000000
files:
  - {path: /etc/top.conf, source: top.conf, mode: "0644"}
accounts:
  users: [{name: topuser, uid: 1002}]
EOF
run_plinth build top.yaml -o top --catalog cat --json
t_is "$rc:$(echo "$out" | jq -r '.base + " " + .base_digest')" "0:derived@2.0.0 $digest" \
	"an image builds on the derived base"
top_manifest=$(blob top "$(echo "$out" | jq -r .digest)")
top_config=$(blob top "$(jq -r .config.digest "$top_manifest")")
t_is "$(jq -c '.layers[:-1]' "$top_manifest")" "$(jq -c .layers "$manifest")" \
	"its layers start with the base's and the derived image's, unchanged"
n_base=$(jq '.layers | length' "$base_manifest")
t_is "$(jq '.layers | length' "$top_manifest"):$(jq '.rootfs.diff_ids | length' "$top_config")" \
	"$((n_base + 2)):$((n_base + 2))" "...then its own: base + derived + own layers and diff_ids"
t_is "$(jq '[.history[] | select(.empty_layer != true)] | length' "$top_config")" \
	"$((n_base + 2))" "...and one history entry for each"
t_is "$(jq -r '.annotations["org.opencontainers.image.base.name"]' "$top_manifest")" \
	"derived:2.0.0" "its base.name is the derived base, not the base below it"
t_is "$(jq -r '.config.User + " " + (.config.Entrypoint | join(" "))' "$top_config")" \
	"1000:1000 /usr/local/bin/hello" "it keeps the derived image's user and entrypoint"
# the image as a runtime sees it: the layers applied in order
mkdir top-rootfs
for l in $(jq -r '.layers[] | .mediaType + "=" + .digest' "$top_manifest"); do
	case ${l%%=*} in
	*+gzip) gzip -dc "$(blob top "${l#*=}")" ;;
	*+zstd) zstd -dc "$(blob top "${l#*=}")" ;;
	esac | tar -C top-rootfs -xf - || t_fail "layer ${l#*=} extracts"
done
t_is "$(cat top-rootfs/usr/bin/basetool top-rootfs/usr/share/newpkg/data top-rootfs/etc/top.conf)" \
	"toolnewtop" "the three levels' files are all there"
t_is "$(cut -d: -f1,3 top-rootfs/etc/passwd | tr '\n' ' ')" \
	"root:0 nobody:65534 nonroot:65532 app:1000 web:1001 topuser:1002 " \
	"...and the accounts of all three"
t_is "$(stat -c '%a %u' top-rootfs/home/topuser)" "700 1002" "...and the new home"

# ---- a base without history: one entry per layer is made for it ------------
python3 - base-img "$base_digest" nohist-img <<'PYEOF' || exit 1
import hashlib, json, os, shutil, sys
src, digest, dst = sys.argv[1:4]
shutil.copytree(src, dst)
def blob(d):
    return os.path.join(dst, "blobs/sha256", d.split(":")[1])
def put(obj):
    b = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    h = hashlib.sha256(b).hexdigest()
    open(os.path.join(dst, "blobs/sha256", h), "wb").write(b)
    return "sha256:" + h, len(b)
m = json.load(open(blob(digest)))
c = json.load(open(blob(m["config"]["digest"])))
del c["history"]
m["config"]["digest"], m["config"]["size"] = put(c)
m["annotations"]["org.opencontainers.image.title"] = "nohist"
d, n = put(m)
json.dump({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": n,
    "annotations": {"org.opencontainers.image.ref.name": "1.0.0"}}]},
    open(os.path.join(dst, "index.json"), "w"))
PYEOF
"$PLINTH" sign --key ops.key oci:nohist-img:1.0.0 >/dev/null &&
	"$PLINTH" catalog publish --catalog cat --key ops.key oci:nohist-img:1.0.0 >/dev/null ||
	t_fail "a base without history is published"
printf 'name: onh\nversion: 1.0.0\nbase: nohist@1\nepoch: 1700000000\n' >onh.yaml
run_plinth build onh.yaml -o onh --catalog cat --json
onh_config=$(blob onh "$(jq -r .config.digest "$(blob onh "$(echo "$out" | jq -r .digest)")")")
t_is "$rc:$(jq -c '[.history[] | select(.empty_layer != true) | .created_by]' "$onh_config")" \
	"0:$(jq -c '[.layers[] | "base nohist:1.0.0"] + ["plinth build onh 1.0.0"]' "$base_manifest")" \
	"an image on a base without history gets one entry per base layer, then its own"
t_is "$(jq '.history | length' "$onh_config")" "$(jq '.rootfs.diff_ids | length' "$onh_config")" \
	"...as many as diff_ids"

# ---- a lock made on a base that had a dependency, on one that dropped it ----
apt_recipe lean '${APT_URL}/good' basetool
sed -i 's/^name: img/name: lean/' lean.yaml
echo 'epoch: 1700000000' >>lean.yaml
publish_lean() {
	"$PLINTH" lock lean.yaml >/dev/null && "$PLINTH" build lean.yaml -o lean-img >/dev/null &&
		"$PLINTH" sign --key ops.key "oci:lean-img:$1" >/dev/null &&
		"$PLINTH" catalog publish --catalog cat --key ops.key "oci:lean-img:$1" >/dev/null ||
		t_fail "lean $1 is published"
}
publish_lean 1.0.0
apt_recipe slim '${APT_URL}/good' newpkg
sed -i 's/^name: img/name: slim/' slim.yaml
printf 'base: lean@1\nepoch: 1700000000\n' >>slim.yaml
run_plinth lock slim.yaml --catalog cat
t_is "$rc:$(jq -r '[.packages[].name] | join(" ")' slim.lock.json)" "0:newpkg" \
	"on lean 1.0.0, which has libbase, the lock pins newpkg alone"
# lean 1.1.0 drops basetool, and libbase with it
sed -i -e 's/^version: 1.0.0/version: 1.1.0/' -e 's/^packages: \[basetool\]/packages: []/' lean.yaml
publish_lean 1.1.0
run_plinth build slim.yaml -o stale --catalog cat
t_is "$rc:$(state stale)" "1:absent" "built on lean 1.1.0 the lock is refused, nothing written"
stale_err="plinth: lock 'slim.lock.json' is stale: package 'newpkg' depends on 'libbase', which neither the lock nor the base 'lean@1.1.0' provides: run 'plinth lock slim.yaml'"
t_is "$err" "$stale_err" "...saying which dependency is missing and what to do"
run_plinth build slim.yaml -o stale --catalog cat --frozen
t_is "$rc:$err:$(state stale)" "1:$stale_err:absent" "--frozen refuses it the same way"
run_plinth lock slim.yaml --catalog cat
t_is "$rc:$(jq -r '[.packages[].name] | join(" ")' slim.lock.json)" "0:libbase newpkg" \
	"plinth lock pins libbase again"
run_plinth build slim.yaml -o fresh --catalog cat --json
t_is "$rc:$(echo "$out" | jq -r '[.base, .packages, .from_lock] | map(tostring) | join(" ")')" \
	"0:lean@1.1.0 2 true" "...and the build installs both"
# lean 1.2.0 gains rival, which conflicts with the newpkg the lock pins
sed -i -e 's/^version: 1.1.0/version: 1.2.0/' -e 's/^packages: \[\]/packages: [rival]/' lean.yaml
publish_lean 1.2.0
run_plinth build slim.yaml -o clash2 --catalog cat
t_is "$rc:$(state clash2)" "1:absent" "on lean 1.2.0, whose rival conflicts with the locked newpkg, the build fails"
t_is "$err" "plinth: lock 'slim.lock.json' is stale: package 'rival' of the base 'lean@1.2.0' conflicts with 'newpkg', which the lock pins: run 'plinth lock slim.yaml'" \
	"...naming the package and the conflict"
lock_before=$(sha256sum <slim.lock.json)
run_plinth lock slim.yaml --catalog cat
t_is "$rc:$(sha256sum <slim.lock.json)" "1:$lock_before" "...which plinth lock cannot resolve either (the lock is unchanged)"
t_like "$err" "newpkg.*rival|rival.*newpkg" "...saying so"

# ---- the base already has everything ---------------------------------------
apt_recipe all '${APT_URL}/good' 'basetool'
printf 'base: base@1.0\nepoch: 1700000000\n' >>all.yaml
run_plinth build all.yaml -o all --catalog cat --json
t_is "$rc:$(echo "$out" | jq -r '.packages')" "0:0" "a recipe whose packages the base has installs nothing"
t_is "$(zstd -dc "$(blob all "$(jq -r '.layers[-1].digest' "$(blob all "$(echo "$out" | jq -r .digest)")")")" |
	tar -tf - | grep -c 'dpkg\|usr/')" 0 "...and its layer holds no package file"

# ---- bad bases: clear errors, nothing written -------------------------------
run_plinth build d.yaml -o nocat
t_is "$rc" 1 "without a catalog a derived build fails"
t_is "$err" "plinth: recipe 'd.yaml': base 'base@1' needs a catalog (--catalog or PLINTH_CATALOG)" \
	"...saying how to name one"
t_is "$(state nocat)" "absent" "...and writes nothing"
run_plinth lock d.yaml -o nocat.lock.json
t_is "$rc:$(state nocat.lock.json)" "1:absent" "lock fails the same way, writing nothing"
sed 's/^base: base@1$/base: base@2/' d.yaml >d2.yaml
cp d.lock.json d2.lock.json
run_plinth build d2.yaml -o norange --catalog cat
t_is "$rc" 1 "a range the catalog has no version in fails"
t_like "$err" "^plinth: recipe 'd2.yaml': base 'base@2': " "...naming the recipe and the range"
t_is "$(state norange)" "absent" "...and writes nothing"
sed 's/^base: base@1$/base: nobase@1/' d.yaml >d3.yaml
run_plinth build d3.yaml -o noname --catalog cat
t_is "$rc:$(state noname)" "1:absent" "an unknown base fails and writes nothing"
t_like "$err" "^plinth: recipe 'd3.yaml': base 'nobase@1': " "...naming it"
sed 's/uid: 1001/uid: 1000/' d.yaml >clash.yaml
run_plinth build clash.yaml -o clash --catalog cat
t_is "$rc:$(state clash)" "1:absent" "an account clashing with the base's fails"
t_is "$err" "plinth: clash.yaml:14:11: user 'web' (uid 1000) clashes with the base's 'app' (uid 1000)" \
	"...naming both"

# a base layer changed on disk is refused, whatever the catalog says
layer=$(blob base-img "$(jq -r '.layers[0].digest' "$base_manifest")")
cp "$layer" layer.saved
apt_tamper "$layer"
run_plinth build d.yaml -o tampered --catalog cat
t_is "$rc:$(state tampered)" "1:absent" "a tampered base layer fails the build, writing nothing"
t_like "$err" "base layer sha256:[0-9a-f]{64} does not match its digest" "...saying so"
cp layer.saved "$layer"

# ---- a newer base that has the package: the lock's copy is not installed ----
sed -i 's/^version: 1.0.0/version: 1.1.0/' base.yaml
sed -i 's/^packages: \[basetool\]/packages: [basetool, newpkg]/' base.yaml
"$PLINTH" lock base.yaml >/dev/null && "$PLINTH" build base.yaml -o base-img --compression gzip >/dev/null &&
	"$PLINTH" sign --key ops.key oci:base-img:1.1.0 >/dev/null &&
	"$PLINTH" catalog publish --catalog cat --key ops.key oci:base-img:1.1.0 >/dev/null ||
	t_fail "base 1.1.0 is published"
run_plinth build d.yaml -o newer --catalog cat --json
t_is "$(echo "$out" | jq -r '[.base, .packages, .from_lock] | map(tostring) | join(" ")')" \
	"base@1.1.0 0 true" "base@1 now resolves to 1.1.0, which has newpkg: the lock's copy is skipped"

# ---- real tools read it ----------------------------------------------------
if ! command -v skopeo >/dev/null || ! command -v umoci >/dev/null; then
	t_skip "skopeo and umoci are not installed"
	t_done
	exit
fi
t_is "$(skopeo inspect oci:out:2.0.0 | jq -r '.Digest + " " + (.Layers | length | tostring)')" \
	"$digest 2" "skopeo inspects the derived image"
# umoci 0.4 reads gzip layers only: a gzip build of the same recipe
run_plinth build d.yaml -o gz --catalog cat --compression gzip --tag gz
umoci unpack --image gz:gz bundle >/dev/null 2>umoci.err
t_is $? 0 "umoci unpacks the derived image"
t_is "$(cat bundle/rootfs/usr/bin/basetool bundle/rootfs/usr/share/newpkg/data)" "toolnew" \
	"the unpacked tree has the base's package and the new one"
t_is "$(cut -d: -f1 bundle/rootfs/etc/passwd | tr '\n' ' ')" "root nobody nonroot app web " \
	"...and both accounts"
t_is "$(stat -c '%a %u' bundle/rootfs/home/app bundle/rootfs/home/web | tr '\n' ' ')" \
	"700 1000 700 1001 " "...and both homes"

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null; then
	t_skip "runc needs root"
	t_done
	exit
fi
jq '.process.terminal = false' bundle/config.json >bundle/c.json && mv bundle/c.json bundle/config.json
id=plinth-derived-$$
runc_out=$(cd bundle && timeout 60 runc run "$id" </dev/null 2>&1)
t_is "$runc_out" "$(printf 'hello from plinth\nuid=1000 gid=1000')" \
	"runc runs the derived image's static binary as the base's account"
runc delete -f "$id" >/dev/null 2>&1

# the three-level image runs too (its layers are zstd, which umoci 0.4
# cannot read: the tree extracted above is the bundle's rootfs)
mkdir top-bundle && mv top-rootfs top-bundle/rootfs
(cd top-bundle && runc spec) || t_fail "runc spec"
jq '.process.terminal = false | .process.args = ["/usr/local/bin/hello"] |
	.process.user = {uid: 1000, gid: 1000}' top-bundle/config.json >top-bundle/c.json &&
	mv top-bundle/c.json top-bundle/config.json
runc_out=$(cd top-bundle && timeout 60 runc run "$id-top" </dev/null 2>&1)
t_is "$runc_out" "$(printf 'hello from plinth\nuid=1000 gid=1000')" \
	"runc runs the image on the derived base"
runc delete -f "$id-top" >/dev/null 2>&1

t_done
