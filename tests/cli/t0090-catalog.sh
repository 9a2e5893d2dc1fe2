#!/usr/bin/env bash
# The catalog: init, publish, list/show/resolve, supersede/deprecate/ban,
# history, export/restore, every bad input (each refused with the catalog
# unchanged), rollback, 16 concurrent publishers and publishers killed
# mid-change.
. "$(dirname "$0")/lib.sh"
need cc jq python3 openssl
export PLINTH_STATE=$TMP/state
unset PLINTH_CATALOG

make_hello src
# img NAME VERSION [EXTRA]: build a small image named NAME@VERSION into
# layout img-NAME-VERSION (EXTRA changes its content, so its digest).
img() {
	local d=img-$1-$2
	sed -e "s/^name: .*/name: $1/" -e "s/^version: .*/version: $2/" \
		-e "s|^description: .*|description: ${3:-$1 $2}|" src/hello.yaml >src/$1-$2.yaml
	"$PLINTH" build src/$1-$2.yaml -o "$d" --tag "$2" >/dev/null 2>build.err ||
		{ cat build.err >&2; return 1; }
	echo "$d"
}
# sign_img NAME VERSION [KEY]
sign_img() { "$PLINTH" sign --key "${3:-ops.key}" "oci:img-$1-$2:$2" >/dev/null; }
cat_state() { state cat; }
digest_of() { manifest_of "img-$1-$2" "$2"; }

t_ok "keygen makes the ops key" "$PLINTH" keygen ops
"$PLINTH" keygen other >/dev/null
"$PLINTH" keygen ops2 >/dev/null

# --- init -------------------------------------------------------------------
run_plinth catalog init --catalog cat
t_is "$rc" 2 "init without --key is a usage error"
run_plinth catalog init --catalog cat --key ops.pub
t_is "$rc:$(state cat)" "1:absent" "init with a public key fails and makes nothing"
t_like "$err" "needs a private key" "and says a private key is needed"
run_plinth catalog init --catalog cat --key ops.key
t_is "$rc" 0 "init makes a catalog"
t_like "$out" "^initialised catalog 'cat' at version 1 \(id [0-9a-f]{12}\), trusting sha256:[0-9a-f]{64}$" "and says so"
ops_fp=$(openssl pkey -pubin -in ops.pub -outform DER | sha256sum | cut -d' ' -f1)
t_is "$(jq -r '.signed.trust[0].keyid' cat/catalog.json)" "sha256:$ops_fp" "its trust root is the ops key's fingerprint"
run_plinth catalog init --catalog cat --key ops.key
t_is "$rc" 1 "init refuses an existing catalog"
t_like "$err" "is not empty" "saying the directory is not empty"
export PLINTH_CATALOG=$TMP/cat

# --- publish ----------------------------------------------------------------
img base 1.0.0 >/dev/null
before=$(cat_state)
run_plinth catalog publish --key ops.key oci:img-base-1.0.0:1.0.0
t_is "$rc" 1 "an unsigned image is not published"
t_like "$err" "is not signed" "because it is not signed"
t_is "$(cat_state)" "$before" "and the catalog is unchanged"

sign_img base 1.0.0 other.key
run_plinth catalog publish --key ops.key oci:img-base-1.0.0:1.0.0
t_is "$rc" 1 "an image signed by an untrusted key is not published"
t_is "$(cat_state)" "$before" "catalog unchanged"

sign_img base 1.0.0
run_plinth catalog publish --key other.key oci:img-base-1.0.0:1.0.0
t_is "$rc" 1 "a key outside the trust root cannot publish"
t_like "$err" "key sha256:[0-9a-f]{64} is not in the trust root of catalog" "and is named"
t_is "$(cat_state)" "$before" "catalog unchanged"

run_plinth catalog publish --key ops.key oci:img-base-1.0.0:1.0.0
t_is "$rc" 0 "a signed image is published"
t_is "$out" "published base@1.0.0 $(digest_of base 1.0.0) (catalog version 2)" "with name, version and digest from its annotations"
run_plinth catalog publish --key ops.key oci:img-base-1.0.0:1.0.0
t_is "$rc:$out" "0:base@1.0.0 is already published as $(digest_of base 1.0.0) (nothing changed)" "publishing it again changes nothing"
t_is "$(jq .signed.version cat/catalog.json)" 2 "the version did not move"

# same version, other content
mkdir other && img base 1.0.0 "other content" >/dev/null && mv img-base-1.0.0 img-base-1.0.0-b &&
	"$PLINTH" sign --key ops.key oci:img-base-1.0.0-b:1.0.0 >/dev/null
rm -rf img-base-1.0.0 && img base 1.0.0 >/dev/null && sign_img base 1.0.0
before=$(cat_state)
run_plinth catalog publish --key ops.key oci:img-base-1.0.0-b:1.0.0
t_is "$rc" 1 "a version published again with another digest is refused"
t_like "$err" "'base@1.0.0' is already published as sha256:[0-9a-f]{64}, not sha256:" "saying both digests"
t_is "$(cat_state)" "$before" "catalog unchanged"

# a version that is not MAJOR.MINOR.PATCH (annotation edited, then signed)
cp -a img-base-1.0.0-b img-bad
python3 - img-bad <<'PYEOF'
import hashlib, json, sys, os
lay = sys.argv[1]
idx = json.load(open(f"{lay}/index.json"))
d = next(m["digest"] for m in idx["manifests"]
         if m["annotations"]["org.opencontainers.image.ref.name"] == "1.0.0").split(":")[1]
m = json.load(open(f"{lay}/blobs/sha256/{d}"))
m["annotations"]["org.opencontainers.image.version"] = "1.0"
b = json.dumps(m, separators=(",", ":"), sort_keys=True).encode()
h = hashlib.sha256(b).hexdigest()
open(f"{lay}/blobs/sha256/{h}", "wb").write(b)
idx["manifests"] = [{"mediaType": m["mediaType"], "digest": "sha256:" + h, "size": len(b),
    "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]
json.dump(idx, open(f"{lay}/index.json", "w"))
PYEOF
"$PLINTH" sign --key ops.key oci:img-bad:1.0 >/dev/null
run_plinth catalog publish --key ops.key oci:img-bad:1.0
t_is "$rc" 1 "a version that is not MAJOR.MINOR.PATCH is refused"
t_like "$err" "version '1.0' is not MAJOR.MINOR.PATCH" "and named"
t_is "$(cat_state)" "$before" "catalog unchanged"

for v in 1.0.1 1.1.0 2.0.0; do img base $v >/dev/null && sign_img base $v; done
img tools 0.1.0 >/dev/null && sign_img tools 0.1.0
run_plinth catalog publish --key ops.key oci:img-base-1.0.1:1.0.1 oci:img-bad:1.0
t_is "$rc:$(cat_state)" "1:$before" "several images are published all or none: one bad, none published"
run_plinth catalog publish --key ops.key oci:img-base-1.0.1:1.0.1 not-a-ref
t_is "$rc:$(cat_state)" "2:$before" "a malformed image reference is a usage error"
run_plinth catalog publish --key ops.key oci:img-base-1.0.1:1.0.1 oci:img-base-1.1.0:1.1.0 oci:img-base-2.0.0:2.0.0 oci:img-tools-0.1.0:0.1.0
t_is "$rc" 0 "publish takes several images"
t_is "$(jq .signed.version cat/catalog.json)" 6 "one catalog version per change"

# --- list, show, resolve ----------------------------------------------------
run_plinth catalog list
t_is "$(echo "$out" | awk 'NR>1 {print $1 "@" $2 ":" $3}' | tr '\n' ' ')" "base@1.0.0:approved base@1.0.1:approved base@1.1.0:approved base@2.0.0:approved tools@0.1.0:approved " "list shows every version in order, with status"
t_like "$(echo "$out" | head -1)" "^NAME +VERSION +STATUS +SINCE +DIGEST$" "under a header"
run_plinth catalog list base --json
t_is "$(echo "$out" | jq -r '[.entries[].version] | join(" ")')" "1.0.0 1.0.1 1.1.0 2.0.0" "list NAME --json lists that base"
t_is "$(echo "$out" | jq -r '.entries[0] | .digest + " " + .signer + " " + .layout + " " + .tag')" "$(digest_of base 1.0.0) sha256:$ops_fp $TMP/img-base-1.0.0 1.0.0" "with digest, signer, layout and tag"
t_like "$(echo "$out" | jq -r '.entries[0].recipeDigest')" "^sha256:[0-9a-f]{64}$" "and the recipe's digest"
run_plinth catalog show base@1.1.0
t_like "$out" "^base@1.1.0
  digest: +$(digest_of base 1.1.0)
  status: +approved since " "show NAME@VERSION is readable"
run_plinth catalog show base@9.9.9
t_is "$rc" 1 "show of an unknown version fails"

for spec in base@1:1.1.0 base@1.0:1.0.1 base@1.0.0:1.0.0 base@2:2.0.0 base:2.0.0; do
	run_plinth catalog resolve "${spec%:*}"
	t_is "$rc:$out" "0:base@${spec#*:} $(digest_of base ${spec#*:})" "resolve ${spec%:*} gives ${spec#*:}"
done
run_plinth catalog resolve base@3
t_is "$rc" 1 "an empty range fails"
t_like "$err" "no version of 'base' matches 'base@3'" "saying so"
run_plinth catalog resolve bsae@1
t_like "$rc:$err" "^1:.*no base 'bsae' in catalog .*did you mean 'base'" "a misspelt base gets a suggestion"
run_plinth catalog resolve base@1.x
t_is "$rc" 1 "a malformed range fails"
run_plinth catalog resolve base@1 --json
t_is "$(echo "$out" | jq -r '.version + " " + .status')" "1.1.0 approved" "resolve --json"

# --- supersede, deprecate, ban ----------------------------------------------
run_plinth catalog supersede --key ops.key base@1.0.0 base@1.0.1
t_is "$rc:$out" "0:base@1.0.0 is superseded by base@1.0.1" "supersede"
run_plinth catalog resolve base@1.0.0
t_is "$rc:$out" "0:base@1.0.1 $(digest_of base 1.0.1)" "an exact pin to a superseded version resolves to its replacement"
t_is "$err" "plinth: warning: 'base@1.0.0' is superseded by 'base@1.0.1'; using base@1.0.1" "with a warning"
run_plinth catalog supersede --key ops.key base@1.0.1 base@1.0.1
t_is "$rc" 1 "a version cannot supersede itself"
run_plinth catalog supersede --key ops.key base@1.0.0 tools@0.1.0
t_is "$rc" 2 "supersede across bases is a usage error"
run_plinth catalog ban --key ops.key base@1.0.0
t_is "$rc" 2 "a ban needs --reason"
run_plinth catalog ban --key ops.key base@1.0.0 --reason "CVE-2026-0001 in libc6"
t_is "$rc:$out" "0:base@1.0.0 is banned" "ban with a reason"
run_plinth catalog resolve base@1.0.0
t_is "$rc" 1 "a banned version is refused"
t_is "$err" "plinth: 'base@1.0.0' is banned: CVE-2026-0001 in libc6" "with its reason"
run_plinth catalog deprecate --key ops.key base@1.0.0
t_is "$rc" 1 "a banned version cannot be deprecated"
run_plinth catalog deprecate --key ops.key base@2.0.0 --reason "use 1.x for now"
t_is "$rc" 0 "deprecate"
run_plinth catalog resolve base@2
t_is "$rc:$out" "0:base@2.0.0 $(digest_of base 2.0.0)" "a range with only a deprecated version resolves to it"
t_is "$err" "plinth: warning: 'base@2.0.0' is deprecated: use 1.x for now" "with a warning"
run_plinth catalog deprecate --key ops.key base@2.0.0
t_like "$rc:$out" "^0:.*nothing changed" "deprecating again changes nothing"
run_plinth catalog show base@1.0.0 --json
t_is "$(echo "$out" | jq -r '.entries[0] | .status + ":" + .reason')" "banned:CVE-2026-0001 in libc6" "show records the status and reason"

# --- history ----------------------------------------------------------------
run_plinth catalog history
t_is "$(echo "$out" | wc -l)" 9 "history lists every change"
t_is "$(echo "$out" | awk '{print $3}' | tr '\n' ' ')" "init publish publish publish publish publish supersede ban deprecate " "in order"
run_plinth catalog history --json
t_is "$(echo "$out" | jq '[.changes[].seq] == [range(1;10)]')" true "history --json has every seq"
t_is "$(wc -l <cat/history.jsonl)" 9 "history.jsonl holds one line per change"
run_plinth catalog verify
t_is "$rc" 0 "verify replays the history"

# --- tampering ----------------------------------------------------------------
cp -a cat good
tamper_case() { # DESC, then a command that tampers with cat/
	local desc=$1; shift
	rm -rf cat && cp -a good cat && "$@"
	local st; st=$(cat_state)
	run_plinth catalog resolve base@1
	r1=$rc e1=$err
	rm -rf "$TMP/fresh" && PLINTH_STATE=$TMP/fresh run_plinth catalog verify
	if [ "$r1" = 1 ] || [ "$rc" = 1 ]; then t_pass "$desc is refused"
	else t_fail "$desc is refused" "resolve: $r1 $e1" "verify: $rc $err"; fi
	t_is "$(cat_state)" "$st" "$desc: nothing changed"
}
# base's shard: the top six bits of sha256("base"); its object lists base's
shard=$(python3 -c 'import hashlib; print(hashlib.sha256(b"base").digest()[0] >> 2)')
sobj=$(jq -r ".signed.shards[$shard]" cat/catalog.json | cut -d: -f2)
obj=$(jq -r '.bases.base.object' "cat/objects/$sobj.json" | cut -d: -f2)
t_is "$(jq '[.signed.shards[] | select(. != null)] | length' cat/catalog.json)" 2 \
	"the state lists the shard objects of its two bases' names"
tamper_case "an edited object" sed -i 's/"approved"/"approved" /' cat/objects/$obj.json
t_like "$err$e1" "\(base 'base'\) does not match the digest the signed state gives it" "an edited object: named"
tamper_case "an edited shard" sed -i 's/"versions":/"versions" :/' cat/objects/$sobj.json
t_like "$err$e1" "shard $shard\) does not match the digest the signed state gives it" "an edited shard: named"
tamper_case "an edited state" sed -i 's/"version":9/"version":10/' cat/catalog.json
tamper_case "a forged signature" python3 -c '
import json; f = json.load(open("cat/catalog.json"))
s = f["signatures"][0]["sig"]; f["signatures"][0]["sig"] = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]
json.dump(f, open("cat/catalog.json", "w"), separators=(",", ":"), sort_keys=True)'
t_like "$err$e1" "signature does not verify" "a forged signature: named"
tamper_case "a missing signature" python3 -c '
import json; f = json.load(open("cat/catalog.json")); f["signatures"] = []
json.dump(f, open("cat/catalog.json", "w"), separators=(",", ":"), sort_keys=True)'
t_like "$err$e1" "is not signed" "a missing signature: named"
tamper_case "an edited history record" sed -i '3s/"time":[0-9]*/"time":1/' cat/history.jsonl
tamper_case "a cut history" sed -i '$d' cat/history.jsonl
tamper_case "a state re-signed by another key" python3 - <<'PYEOF'
import json, subprocess, base64
f = json.load(open("cat/catalog.json"))
payload = json.dumps(f["signed"], separators=(",", ":"), sort_keys=True).encode()
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", "other.key"], input=payload, capture_output=True, check=True).stdout
fp = "sha256:" + __import__("hashlib").sha256(subprocess.run(["openssl", "pkey", "-in", "other.key", "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout).hexdigest()
f["signatures"] = [{"keyid": fp, "sig": base64.b64encode(sig).decode()}]
json.dump(f, open("cat/catalog.json", "w"), separators=(",", ":"), sort_keys=True)
PYEOF
# An attacker who can write the directory appends a trust change naming the
# ops key, adds their own key to the state's trust root and signs the state
# with it: readers who saw the catalog before, and readers who did not,
# both refuse it (each trust change is signed by a key trusted before it).
cat >forge.py <<'PYEOF'
import json, subprocess, base64, hashlib, sys
def canon(o): return json.dumps(o, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
def fp(key): return "sha256:" + hashlib.sha256(subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout).hexdigest()
def sign(key, data): return base64.b64encode(subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data, capture_output=True, check=True).stdout).decode()
signer, claimed = sys.argv[1], sys.argv[2]
f = json.load(open("cat/catalog.json")); sg = f["signed"]
hist = open("cat/history.jsonl", "rb").read()
last = hist.rstrip(b"\n").split(b"\n")[-1]
pem = subprocess.run(["openssl", "pkey", "-in", signer, "-pubout"], capture_output=True, check=True, text=True).stdout
rec = {"op": "trust", "add": pem, "key": claimed, "seq": sg["version"] + 1, "time": sg["time"],
       "prev": "sha256:" + hashlib.sha256(last).hexdigest()}
rec["sig"] = sign(signer, canon(rec).encode())
line = canon(rec).encode() + b"\n"
open("cat/history.jsonl", "ab").write(line)
sg["version"] += 1
sg["history"] = {"length": sg["version"], "head": "sha256:" + hashlib.sha256(line[:-1]).hexdigest(), "size": len(hist) + len(line)}
sg["trust"] = sorted(sg["trust"] + [{"keyid": fp(signer), "publicKey": pem}], key=lambda t: t["keyid"])
f["signatures"] = [{"keyid": fp(signer), "sig": sign(signer, canon(sg).encode())}]
open("cat/catalog.json", "w").write(canon(f))
PYEOF
tamper_case "a trust root forged through the history" python3 forge.py other.key "sha256:$ops_fp"
t_like "$err$e1" "history record 10: its signature does not verify with key 'sha256:$ops_fp'" \
	"a forged trust change: named"
tamper_case "a trust change signed by the key it adds" python3 forge.py other.key \
	"sha256:$(openssl pkey -in other.key -pubout -outform DER | sha256sum | cut -d' ' -f1)"
t_like "$err$e1" "history record 10 is not signed by a key of the trust root" "a self-signed trust change: named"
# a stolen ops key re-signs a changed state at the version already seen
tamper_case "another state at the version seen" python3 - <<'PYEOF'
import json, subprocess, base64
f = json.load(open("cat/catalog.json")); f["signed"]["time"] += 1
payload = json.dumps(f["signed"], separators=(",", ":"), sort_keys=True).encode()
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", "ops.key"], input=payload, capture_output=True, check=True).stdout
f["signatures"][0]["sig"] = base64.b64encode(sig).decode()
json.dump(f, open("cat/catalog.json", "w"), separators=(",", ":"), sort_keys=True)
PYEOF
t_like "$e1" "version 9 is not the version 9 seen before \(the catalog forked\)" "another state at the version seen: named"
rm -rf cat && cp -a good cat

# Each history record is signed by the key it names (plain ECDSA-SHA256
# over the canonical record without its "sig"), which openssl checks.
python3 - <<'PYEOF'
import json, base64
rec = json.loads(open("cat/history.jsonl").readlines()[1]); sig = rec.pop("sig")
open("rec.json", "wb").write(json.dumps(rec, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
open("rec.sig", "wb").write(base64.b64decode(sig))
PYEOF
t_is "$(openssl dgst -sha256 -verify ops.pub -signature rec.sig rec.json)" "Verified OK" "a history record's signature verifies with openssl"

# A state signed with openssl by the ops key verifies: the signature is
# plain ECDSA-SHA256 over the canonical "signed" object.
python3 - <<'PYEOF' >sig.check
import json, base64
f = json.load(open("cat/catalog.json"))
open("signed.json", "wb").write(json.dumps(f["signed"], separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())
open("signed.sig", "wb").write(base64.b64decode(f["signatures"][0]["sig"]))
PYEOF
t_is "$(openssl dgst -sha256 -verify ops.pub -signature signed.sig signed.json)" "Verified OK" "the state's signature verifies with openssl"

# --- rollback and replacement -----------------------------------------------
run_plinth catalog resolve base@1 # remembers version 9
cp -a cat old
run_plinth catalog deprecate --key ops.key tools@0.1.0 --reason "moving to tools 1"
t_is "$(jq .signed.version cat/catalog.json)" 10 "a change moves the version on"
cp -a cat new
rm -rf cat && cp -a old cat
run_plinth catalog resolve base@1
t_is "$rc" 1 "a catalog rolled back to an older version is refused"
t_like "$err" "is at version 9, but version 10 was seen before: refusing a rollback" "saying so"
run_plinth catalog publish --key ops.key oci:img-base-1.0.1:1.0.1
t_is "$rc" 1 "writers refuse it too"
# the same catalog behind another name (a symlink switched to an old copy)
ln -s new current && PLINTH_CATALOG=current run_plinth catalog list
t_is "$rc" 0 "a copy of the catalog read through a symlink"
rm current && ln -s old current && PLINTH_CATALOG=current run_plinth catalog list
t_is "$rc" 1 "an old copy of it behind the same symlink is a rollback"
t_like "$err" "is at version 9, but version 10 was seen before: refusing a rollback" "saying so"
rm current
"$PLINTH" keygen x >/dev/null
PLINTH_STATE=$TMP/elsewhere "$PLINTH" catalog init --catalog forged --key x.key >/dev/null
# a machine that never read the catalog takes the first one it sees, unless
# the catalog's id is pinned
real_id=$(jq -r .signed.id cat/catalog.json)
PLINTH_STATE=$TMP/new-machine PLINTH_CATALOG=$TMP/forged run_plinth catalog list
t_is "$rc" 0 "a catalog never read here before is trusted on first use"
PLINTH_STATE=$TMP/new-machine2 PLINTH_CATALOG_ID=$real_id PLINTH_CATALOG=$TMP/forged run_plinth catalog list
t_is "$rc" 1 "...but not when PLINTH_CATALOG_ID pins another"
t_is "$err" "plinth: catalog '$TMP/forged' is the catalog $(jq -r .signed.id forged/catalog.json | cut -c1-12), not the pinned ${real_id:0:12}: refusing it" "...saying so"
PLINTH_STATE=$TMP/new-machine2 PLINTH_CATALOG_ID=$real_id PLINTH_CATALOG=$TMP/forged run_plinth admit --json oci:img-base-1.1.0:1.1.0
t_is "$rc:$(echo "$out" | jq -r .admitted)" "1:false" "...and admits nothing from it"
PLINTH_STATE=$TMP/new-machine3 PLINTH_CATALOG_ID=$real_id run_plinth catalog list
t_is "$rc" 0 "the pinned catalog itself is read"
PLINTH_CATALOG_ID=${real_id:0:12} run_plinth catalog list
t_is "$rc:$err" "1:plinth: PLINTH_CATALOG_ID '${real_id:0:12}' is not a catalog id (64 lowercase hex digits: .signed.id in catalog.json)" \
	"a short or malformed pin is refused"
# a forged catalog that claims the real one's id (its own key signs it)
cp -a forged claims
python3 - "$real_id" <<'PYEOF'
import json, subprocess, base64, sys
f = json.load(open("claims/catalog.json")); f["signed"]["id"] = sys.argv[1]
payload = json.dumps(f["signed"], separators=(",", ":"), sort_keys=True).encode()
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", "x.key"], input=payload, capture_output=True, check=True).stdout
f["signatures"][0]["sig"] = base64.b64encode(sig).decode()
open("claims/catalog.json", "w").write(json.dumps(f, separators=(",", ":"), sort_keys=True))
PYEOF
PLINTH_STATE=$TMP/new-machine4 PLINTH_CATALOG_ID=$real_id PLINTH_CATALOG=$TMP/claims run_plinth catalog list
t_is "$rc" 1 "a forged catalog claiming the pinned id is refused"
t_like "$err" "history record 1 is not the first record of catalog ${real_id:0:12} \(the state claims another catalog's id\)" "...as its history does not start with that catalog's first record"
PLINTH_STATE=$TMP/new-machine5 PLINTH_CATALOG=$TMP/claims run_plinth catalog verify
t_is "$rc" 1 "...and verify refuses it too, pinned or not"
PLINTH_CATALOG_ID=$real_id run_plinth catalog init --catalog new-cat --key x.key
t_is "$rc:$(state new-cat)" "1:absent" "init refuses to make a catalog while another is pinned, writing nothing"
rm -rf cat && mv forged cat
run_plinth catalog list
t_is "$rc" 1 "another catalog put in its place is refused"
t_like "$err" "is not the catalog seen here before" "saying so"
rm -rf cat && "$PLINTH" catalog init --catalog cat --key x.key >/dev/null
run_plinth catalog list
t_is "$rc:$err" "0:" "but a catalog made anew in its place by init is read"
id1=$(jq -r .signed.id cat/catalog.json)
rm -rf cat && "$PLINTH" catalog init --catalog cat --key x.key >/dev/null
id2=$(jq -r .signed.id cat/catalog.json)
t_is "$([ "$id1" != "$id2" ] && echo differ)" differ "two catalogs made by one key in one second have their own ids"
rm -rf cat && cp -a good cat && rm -rf "$PLINTH_STATE"

# --- export and restore -----------------------------------------------------
run_plinth catalog deprecate --key ops.key tools@0.1.0 --reason "moving to tools 1"
run_plinth catalog export backup.json
t_is "$rc" 0 "export"
run_plinth catalog init --catalog restored --key ops.key --from backup.json
t_is "$rc" 0 "init --from restores an export"
t_is "$(PLINTH_CATALOG=restored "$PLINTH" catalog list --json)" "$("$PLINTH" catalog list --json)" "the restored catalog lists the same"
t_is "$(PLINTH_CATALOG=restored "$PLINTH" catalog history)" "$("$PLINTH" catalog history)" "with the same history"
run_plinth catalog init --catalog r2 --key other.key --from backup.json
t_is "$rc:$(state r2)" "1:absent" "restoring needs a key the export trusts"
other_id=$(printf x | sha256sum | cut -c1-64)
PLINTH_CATALOG_ID=$other_id run_plinth catalog init --catalog r4 --key ops.key --from backup.json
t_is "$rc:$(state r4)" "1:absent" "an export of another catalog than the pinned one is not restored"
t_like "$err" "is an export of catalog [0-9a-f]{12}, not of the pinned ${other_id:0:12}" "...saying so"
PLINTH_CATALOG_ID=$(jq -r .signed.id cat/catalog.json) run_plinth catalog init --catalog r5 --key ops.key --from backup.json
t_is "$rc" 0 "...while the pinned one's is"
sed 's/CVE-2026-0001/CVE-2026-0002/' backup.json >bad.json
run_plinth catalog init --catalog r3 --key ops.key --from bad.json
t_is "$rc:$(state r3)" "1:absent" "a tampered export is refused"
PLINTH_CATALOG=restored run_plinth catalog publish --key ops.key oci:img-base-1.0.0-b:1.0.0
t_is "$rc" 1 "the restored catalog keeps its rules"

# --- trust root changes (on a copy: the images below stay signed by ops) -----
# A copy is the same catalog (same id): changing it forks it from the
# original, which one machine refuses, so it is read with a state of its own.
cp -a cat trusted
export PLINTH_CATALOG=$TMP/trusted PLINTH_STATE=$TMP/state-trusted
run_plinth catalog trust --key ops.key add ops2.pub
t_is "$rc" 0 "trust add"
img next 1.0.0 >/dev/null && "$PLINTH" sign --key ops2.key oci:img-next-1.0.0:1.0.0 >/dev/null
run_plinth catalog publish --key ops2.key oci:img-next-1.0.0:1.0.0
t_is "$rc" 0 "a key added to the trust root publishes"
run_plinth catalog trust --key ops2.key remove ops.pub
run_plinth catalog trust --key ops2.key remove ops2.pub
t_is "$rc" 1 "the last key of the trust root stays"
t_like "$err" "key 'sha256:[0-9a-f]{64}' cannot remove itself from the trust root" "...as no key removes itself"
run_plinth catalog trust --key ops2.key add other.pub
run_plinth catalog trust --key ops2.key remove ops2.pub
t_is "$rc" 1 "a key cannot remove itself, even when others remain"
run_plinth catalog trust --key other.key remove ops2.pub
t_is "$rc" 0 "another trusted key removes it"
t_ok "and the catalog is still readable" "$PLINTH" catalog list
run_plinth catalog deprecate --key ops2.key next@1.0.0
t_is "$rc" 1 "a removed key cannot change the catalog"
t_ok "and the history still adds up" "$PLINTH" catalog verify
export PLINTH_CATALOG=$TMP/cat PLINTH_STATE=$TMP/state

# --- no memory, no reading --------------------------------------------------
run_plinth_bare() { rc=0; env -u PLINTH_STATE -u XDG_STATE_HOME -u HOME "$PLINTH" "$@" >"$TMP/.out" 2>"$TMP/.err" || rc=$?; err=$(cat "$TMP/.err"); }
run_plinth_bare catalog list
t_is "$rc" 1 "without a place to remember versions the catalog is not read"
t_like "$err" "no directory to remember catalog versions in, to refuse rollbacks: set PLINTH_STATE" "saying what to set"

# --- concurrency ----------------------------------------------------------------
"$PLINTH" catalog init --catalog par --key ops.key >/dev/null
for i in $(seq 1 16); do img par$i 1.0.$i >/dev/null && sign_img par$i 1.0.$i; done
pids=""
for i in $(seq 1 16); do
	PLINTH_CATALOG=par "$PLINTH" catalog publish --key ops.key "oci:img-par$i-1.0.$i:1.0.$i" >pub$i.out 2>&1 &
	pids="$pids $!"
done
fails=0; for p in $pids; do wait "$p" || fails=$((fails + 1)); done
t_is "$fails" 0 "16 concurrent publishers all succeed"
t_is "$(PLINTH_CATALOG=par "$PLINTH" catalog list --json | jq '.entries | length')" 16 "every entry is present"
t_is "$(jq .signed.version par/catalog.json)" 17 "the version counts every change"
t_ok "the history is consistent" env PLINTH_CATALOG=par "$PLINTH" catalog verify
t_is "$(PLINTH_CATALOG=par "$PLINTH" catalog history --json | jq '[.changes[] | select(.op == "publish") | .name] | sort | join(" ")' -r)" "$(for i in $(seq 1 16); do echo par$i; done | sort | tr '\n' ' ' | sed 's/ $//')" "and names each publish once"

# --- SIGKILL in the middle of publishing --------------------------------------
"$PLINTH" catalog init --catalog kill --key ops.key >/dev/null
bad=0; present=0
for i in $(seq 1 24); do
	img k$i 1.0.0 >/dev/null && sign_img k$i 1.0.0
	PLINTH_CATALOG=$TMP/kill "$PLINTH" catalog publish --key ops.key "oci:img-k$i-1.0.0:1.0.0" >/dev/null 2>&1 &
	p=$!
	sleep "0.0$((i % 6))$((i % 10))"  # 0 to 59 ms: before, during and after the change
	kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
	PLINTH_CATALOG=$TMP/kill "$PLINTH" catalog verify >/dev/null 2>kill.err || { bad=$((bad + 1)); cat kill.err; }
	PLINTH_CATALOG=$TMP/kill "$PLINTH" catalog resolve "k$i@1" >/dev/null 2>&1 && present=$((present + 1))
done
t_is "$bad" 0 "a publisher killed at any point leaves a valid catalog"
echo "# $present of 24 killed publishes had landed"
img k99 1.0.0 >/dev/null && sign_img k99 1.0.0
# what a writer killed while writing a file leaves (pl__write_file_atomic)
echo partial >kill/.catalog.json.tmp-99999 && echo partial >"kill/objects/.$(printf '%064d' 0).json.tmp-99999"
tmps=$(find kill -name '.*.tmp-*' | wc -l)
run_plinth catalog publish --catalog kill --key ops.key oci:img-k99-1.0.0:1.0.0
t_is "$rc" 0 "and publishing goes on after"
t_ok "the catalog verifies after all that" env PLINTH_CATALOG=kill "$PLINTH" catalog verify
t_is "$(find kill -name '.*.tmp-*' | wc -l)" 0 "...and a change removes the temporary files killed writers left ($tmps)"
t_is "$(PLINTH_CATALOG=kill "$PLINTH" catalog history --json | jq '.changes | length')" "$(jq .signed.version kill/catalog.json)" "history and version agree"

# --- admission of images without a base ---------------------------------------
run_plinth admit oci:img-base-1.1.0:1.1.0
t_is "$rc" 0 "admit accepts an approved, signed base image"
t_like "$out" "^admitted oci:img-base-1.1.0:1.1.0 \(sha256:[0-9a-f]{64}\): signed by sha256:$ops_fp, 0 bases approved$" "and says why"
run_plinth admit oci:img-base-1.0.0:1.0.0
t_is "$rc" 1 "admit refuses a banned image"
t_like "$err" "not admitted: oci:img-base-1.0.0:1.0.0: image 'base@1.0.0' is banned: CVE-2026-0001 in libc6" "with the reason"
img lone 1.0.0 >/dev/null
run_plinth admit oci:img-lone-1.0.0:1.0.0
t_like "$rc:$err" "^1:.*is not signed" "admit refuses an unsigned image"
sign_img lone 1.0.0 other.key
run_plinth admit --json oci:img-lone-1.0.0:1.0.0
t_is "$rc:$(echo "$out" | jq -r .admitted)" "1:false" "admit refuses an image signed by an untrusted key (--json)"
t_like "$(echo "$out" | jq -r .reason)" "trusted" "--json says why"

run_plinth catalog --help
t_like "$rc:$out" "^0:usage: plinth catalog" "catalog --help"
run_plinth admit img-base-1.1.0
t_is "$rc" 2 "admit of a malformed image reference is a usage error"
cp cat/catalog.json catalog.saved
python3 -c '
import json; f = json.load(open("cat/catalog.json")); f["signed"]["time"] += 1
json.dump(f, open("cat/catalog.json", "w"), separators=(",", ":"), sort_keys=True)'
run_plinth admit --json oci:img-base-1.1.0:1.1.0
t_is "$rc:$(echo "$out" | jq -r '.admitted')" "1:false" "a catalog that cannot be trusted admits nothing (--json)"
t_like "$(echo "$out" | jq -r '.reason')" "catalog.json" "...and says why"
cp catalog.saved cat/catalog.json
run_plinth admit --help
t_like "$rc:$out" "^0:usage: plinth admit" "admit --help"
run_plinth catalog frobnicate
t_is "$rc" 2 "an unknown catalog command is a usage error"
t_done
