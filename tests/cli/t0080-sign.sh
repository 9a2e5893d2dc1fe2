#!/usr/bin/env bash
# Signing: keygen, sign and verify; the signature checked with openssl alone
# (cosign's layout); every way a signature can be wrong is refused.
. "$(dirname "$0")/lib.sh"
need cc openssl python3 sha256sum

# py LAYOUT ACTION ARGS...: read or edit a layout the way another tool
# would; edits keep every digest consistent, so only signatures can fail.
py() {
	python3 - "$@" <<'EOF'
import hashlib, json, os, sys
lay, action, args = sys.argv[1], sys.argv[2], sys.argv[3:]
REF = "org.opencontainers.image.ref.name"
def blob_path(d): return os.path.join(lay, "blobs", "sha256", d.split(":", 1)[1])
def read_blob(d): return open(blob_path(d), "rb").read()
def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(d), "wb") as f: f.write(data)
    return d
def index(): return json.load(open(os.path.join(lay, "index.json")))
def put_index(idx):
    with open(os.path.join(lay, "index.json"), "w") as f: json.dump(idx, f)
def desc(idx, tag):
    found = [m for m in idx["manifests"] if m.get("annotations", {}).get(REF) == tag]
    return found[-1]
def manifest(tag): return json.loads(read_blob(desc(index(), tag)["digest"]))
def repoint(tag, m):
    data = json.dumps(m, separators=(",", ":")).encode()
    idx = index()
    d = desc(idx, tag)
    d["digest"], d["size"] = put_blob(data), len(data)
    put_index(idx)
if action == "payload":            # TAG N: the payload blob of signature N
    sys.stdout.buffer.write(read_blob(manifest(args[0])["layers"][int(args[1])]["digest"]))
elif action == "sig":              # TAG N: its base64 signature
    print(manifest(args[0])["layers"][int(args[1])]["annotations"]["dev.cosignproject.cosign/signature"])
elif action == "payload-path":     # TAG N
    print(blob_path(manifest(args[0])["layers"][int(args[1])]["digest"]))
elif action == "layers":           # TAG: how many layers
    print(len(manifest(args[0])["layers"]))
elif action == "digest":           # TAG: the manifest digest
    print(desc(index(), args[0])["digest"])
elif action == "flip-sig":         # TAG N: change one character of the signature
    m = manifest(args[0])
    ann = m["layers"][int(args[1])]["annotations"]
    s = ann["dev.cosignproject.cosign/signature"]
    ann["dev.cosignproject.cosign/signature"] = s[:10] + ("B" if s[10] != "B" else "C") + s[11:]
    repoint(args[0], m)
elif action == "swap-payload":     # TAG N TEXT: another payload, signature kept
    m = manifest(args[0])
    data = args[2].encode()
    m["layers"][int(args[1])].update(digest=put_blob(data), size=len(data))
    repoint(args[0], m)
elif action == "retag":            # TAG OTHER: point TAG at OTHER's manifest
    idx = index()
    d, o = desc(idx, args[0]), desc(idx, args[1])
    d["digest"], d["size"] = o["digest"], o["size"]
    put_index(idx)
elif action == "copy-tag":         # TAG NEW: a second name for TAG's manifest
    idx = index()
    d = dict(desc(idx, args[0]))
    d["annotations"] = {REF: args[1]}
    idx["manifests"].append(d)
    put_index(idx)
EOF
}

make_hello src
run_plinth build src/hello.yaml -o lay --tag v1
digest=$(echo "$out" | tail -1)
sigtag=sha256-${digest#sha256:}.sig
SOURCE_DATE_EPOCH=7 run_plinth build src/hello.yaml -o lay --tag plain
plain=$(echo "$out" | tail -1)

# ---- keygen -----------------------------------------------------------
run_plinth keygen k
t_is "$rc" 0 "keygen exits 0"
t_is "$(stat -c %a k.key) $(stat -c %a k.pub)" "600 644" "the private key is mode 0600, the public 0644"
fp=sha256:$(openssl pkey -pubin -in k.pub -outform DER | sha256sum | cut -d' ' -f1)
t_is "$out" "private key: k.key
public key: k.pub
fingerprint: $fp" "keygen prints both paths and the fingerprint openssl computes"
t_is "$(head -1 k.key)" "-----BEGIN PRIVATE KEY-----" "the private key is PKCS#8 PEM"
t_like "$(openssl pkey -in k.key -noout -text)" "NIST CURVE: P-256" "on the curve P-256"
t_is "$(openssl pkey -in k.key -pubout)" "$(cat k.pub)" "k.pub is the public half of k.key"

before=$(sha256sum k.key k.pub)
run_plinth keygen k
t_is "$rc" 1 "keygen over an existing key exits 1"
t_is "$err" "plinth: 'k.key' already exists (keygen never replaces a key)" "and says so"
t_is "$(sha256sum k.key k.pub)" "$before" "the key files are unchanged"
touch only.pub
run_plinth keygen only
t_is "$rc:$err" "1:plinth: 'only.pub' already exists (keygen never replaces a key)" \
	"keygen refuses when only the public file is in the way"
t_is "$(ls only.* | tr '\n' ' ')" "only.pub " "and creates nothing"

# ---- sign and verify --------------------------------------------------
run_plinth sign --key k.key oci:lay:v1
t_is "$rc" 0 "sign exits 0"
t_is "$out" "signed oci:lay:v1 ($digest) with key $fp
signature: oci:lay:$sigtag (1 signature)" "sign prints the image, the key and the signature tag"

run_plinth verify --key k.pub oci:lay:v1
t_is "$rc" 0 "verify exits 0"
t_is "$out" "verified: oci:lay:v1: signed by $fp as hello" "verify names the key and the identity (the title)"

# The signature, checked with openssl alone.
py lay payload "$sigtag" 0 >payload
py lay sig "$sigtag" 0 >sig.b64
base64 -d sig.b64 >sig.der
t_is "$(openssl dgst -sha256 -verify k.pub -signature sig.der payload)" "Verified OK" \
	"openssl verifies plinth's signature over the payload"
t_is "$(cat payload)" '{"critical":{"identity":{"docker-reference":"hello"},"image":{"docker-manifest-digest":"'"$digest"'"},"type":"cosign container image signature"},"optional":null}' \
	"the payload is cosign's simple-signing JSON"
t_is "$(python3 -c 'import json,sys; print(json.load(open("payload"))["critical"]["image"]["docker-manifest-digest"])')" \
	"$(py lay digest v1)" "the payload names the manifest digest index.json gives v1"
t_is "$(grep -c '' sig.b64)" 1 "the base64 signature is one line"
sigman=$(py lay digest "$sigtag")
t_is "$(sha256sum <"$(blob "lay" "$sigman")" | cut -d' ' -f1)" "${sigman#sha256:}" \
	"the signature manifest is stored under its digest"

if command -v skopeo >/dev/null 2>&1; then
	raw=$(skopeo inspect --raw "oci:lay:$sigtag")
	t_is "$(echo "$raw" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["mediaType"], m["config"]["mediaType"], [l["mediaType"] for l in m["layers"]])')" \
		"application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.config.v1+json ['application/vnd.dev.cosign.simplesigning.v1+json']" \
		"skopeo reads the signature manifest"
	t_is "$(skopeo inspect "oci:lay:$sigtag" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Created"])')" \
		"0001-01-01T00:00:00Z" "skopeo reads its config (cosign's zero time)"
	t_ok "skopeo copies the signature" skopeo copy -q "oci:lay:$sigtag" "oci:sigcopy:x"
else
	t_skip "skopeo is not installed"; t_skip "skopeo is not installed"; t_skip "skopeo is not installed"
fi

# ---- more keys ----------------------------------------------------------
"$PLINTH" keygen k2 >/dev/null
fp2=sha256:$(openssl pkey -pubin -in k2.pub -outform DER | sha256sum | cut -d' ' -f1)
run_plinth sign --key k2.key oci:lay:v1
t_is "$rc:$(echo "$out" | tail -1)" "0:signature: oci:lay:$sigtag (2 signatures)" "a second key adds a signature"
t_is "$(py lay layers "$sigtag")" 2 "the signature manifest has two layers"
run_plinth verify --key k.pub oci:lay:v1
t_is "$rc:$out" "0:verified: oci:lay:v1: signed by $fp as hello" "the first key still verifies"
run_plinth verify --key k2.pub oci:lay:v1
t_is "$rc:$out" "0:verified: oci:lay:v1: signed by $fp2 as hello" "the second key verifies"
py lay payload "$sigtag" 1 >payload2
py lay sig "$sigtag" 1 | base64 -d >sig2.der
t_is "$(openssl dgst -sha256 -verify k2.pub -signature sig2.der payload2)" "Verified OK" \
	"openssl verifies the second signature"

cp -a lay two # signed by k and k2, over one payload

before=$(state lay)
run_plinth sign --key k.key oci:lay:v1
t_is "$rc" 0 "signing again with the same key exits 0"
t_is "$out" "oci:lay:v1 ($digest) is already signed with key $fp for this identity: nothing added
signature: oci:lay:$sigtag (2 signatures)" "and says nothing was added"
t_is "$(state lay)" "$before" "the layout is unchanged"

run_plinth sign --key k.key --identity registry.example/hello:1 --json oci:lay:v1
t_is "$(echo "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["added"], j["signatures"], j["key"] == "'"$fp"'", j["digest"], j["signature"])')" \
	"True 3 True $digest oci:lay:$sigtag" "--identity signs anew; --json reports it"
run_plinth verify --key k.pub --json oci:lay:v1
t_is "$(echo "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["verified"], j["key"], j["identity"], j["digest"], j["reference"])')" \
	"True $fp hello $digest oci:lay:v1" "verify --json"
run_plinth verify --key k.key oci:lay:v1
t_is "$rc" 0 "a private key file verifies too"

# ---- refusals -------------------------------------------------------------
"$PLINTH" keygen k3 >/dev/null
fp3=sha256:$(openssl pkey -pubin -in k3.pub -outform DER | sha256sum | cut -d' ' -f1)
run_plinth verify --key k3.pub oci:lay:v1
t_is "$rc" 1 "verify with another key exits 1"
t_is "$err" "plinth: image 'oci:lay:v1' has no valid signature by a trusted key: signature 1 of 3: it does not verify with the trusted key $fp3" \
	"and gives the reason"
run_plinth verify --key k3.pub --key k2.pub oci:lay:v1
t_is "$rc:$out" "0:verified: oci:lay:v1: signed by $fp2 as hello" "any one trusted key is enough"

run_plinth verify --key k.pub oci:lay:plain
t_is "$rc" 1 "an unsigned image exits 1"
t_is "$err" "plinth: image 'oci:lay:plain' is not signed (no 'sha256-${plain#sha256:}.sig' in the layout)" \
	"and is named not signed"

# A payload blob changed in place (both signatures share it).
cp -a two t1
pp=$(py t1 payload-path "$sigtag" 0)
sed -i 's/"hello"/"hellx"/' "$pp"
run_plinth verify --key k.pub --key k2.pub oci:t1:v1
t_is "$rc" 1 "a tampered payload blob is refused"
t_is "$err" "plinth: image 'oci:t1:v1' has no valid signature by a trusted key: signature 1 of 2: payload: blob sha256:${pp##*/} does not match its digest" \
	"as not matching its digest"

# Another payload, consistently stored: the signature no longer covers it.
cp -a two t2
py t2 swap-payload "$sigtag" 0 '{"critical":{"identity":{"docker-reference":"evil"},"image":{"docker-manifest-digest":"'"$digest"'"},"type":"cosign container image signature"},"optional":null}'
run_plinth verify --key k.pub oci:t2:v1
t_is "$rc:$err" "1:plinth: image 'oci:t2:v1' has no valid signature by a trusted key: signature 1 of 2: it does not verify with the trusted key $fp" \
	"a payload swapped under a signature is refused"

# A signature annotation changed, the manifest and index.json made consistent.
cp -a two t3
py t3 flip-sig "$sigtag" 0
run_plinth verify --key k2.pub oci:t3:v1
t_is "$rc" 0 "the other signatures are intact (the edited layout reads fine)"
run_plinth verify --key k.pub oci:t3:v1
t_is "$rc:$err" "1:plinth: image 'oci:t3:v1' has no valid signature by a trusted key: signature 1 of 2: it does not verify with the trusted key $fp" \
	"a tampered signature annotation is refused"
py t3 swap-payload "$sigtag" 0 'not json'
py t3 flip-sig "$sigtag" 1
run_plinth verify --key k2.pub oci:t3:v1
t_is "$rc" 1 "with every signature broken, verify exits 1"

# v1 re-tagged to another image: the signature names the old digest.
cp -a two t4
py t4 retag v1 plain
run_plinth verify --key k.pub oci:t4:v1
t_is "$rc:$err" "1:plinth: image 'oci:t4:v1' is not signed (no 'sha256-${plain#sha256:}.sig' in the layout)" \
	"an image re-tagged to an unsigned manifest is not signed"
py t4 copy-tag "$sigtag" "sha256-${plain#sha256:}.sig"
run_plinth verify --key k.pub oci:t4:v1
t_is "$rc:$err" "1:plinth: image 'oci:t4:v1' has no valid signature by a trusted key: signature 1 of 2: signed by $fp for another image: the payload names digest $digest, the image is $plain" \
	"a signature copied to another image names the old digest and is refused"

# Keys that are not ECDSA P-256.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem 2>/dev/null
run_plinth sign --key rsa.pem oci:lay:v1
t_is "$rc:$err" "1:plinth: key 'rsa.pem' is of type 'RSA', not ECDSA P-256" "an RSA key is refused"
run_plinth verify --key p384.pem oci:lay:v1
t_is "$rc:$err" "1:plinth: key 'p384.pem' is on curve 'secp384r1', not P-256" "a P-384 key is refused"
run_plinth sign --key k.pub oci:lay:v1
t_is "$rc:$err" "1:plinth: key $fp is a public key: signing needs the private key" "a public key cannot sign"
openssl ec -in k.key -out sec1.pem 2>/dev/null
run_plinth sign --key sec1.pem oci:lay:v1
t_is "$rc:$(echo "$out" | head -1)" "0:oci:lay:v1 ($digest) is already signed with key $fp for this identity: nothing added" \
	"a SEC1 'EC PRIVATE KEY' is the same key"

t_is "$(find lay -name 'plinth-staging' -o -name 'tmp-*' -o -name '.plinth-*' | wc -l)" 0 \
	"no staging is left in the layout"

# ---- the command line -----------------------------------------------------
for c in keygen sign verify; do
	run_plinth "$c" --help
	t_is "$rc" 0 "plinth $c --help exits 0"
	t_like "$out" "^usage: plinth $c " "plinth $c --help prints usage"
done
run_plinth sign oci:lay:v1
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: a private key is required (--key KEY)" "sign without a key exits 2"
run_plinth sign --key k.key
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: an image (oci:DIR:TAG) is required" "sign without an image exits 2"
run_plinth verify --key k.pub lay:v1
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: image reference 'lay:v1' does not start with 'oci:' (the form is oci:DIR:TAG)" \
	"a malformed reference exits 2"
run_plinth verify oci:lay:v1
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: a public key is required (--key PUB)" "verify without a key exits 2"
run_plinth verify --key k.pub oci:lay:v1 oci:lay:plain
t_is "$rc" 2 "verify takes one image"
run_plinth keygen
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: a PREFIX is required" "keygen without a prefix exits 2"
run_plinth sign --frob --key k.key oci:lay:v1
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: unknown option '--frob'" "an unknown option exits 2"
run_plinth verify --key
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: option '--key' needs a value" "a missing value exits 2"
run_plinth verify --key k.pub oci:lay:nope
t_is "$rc:$err" "1:plinth: image 'oci:lay:nope': no tag 'nope' in 'lay/index.json'" "a missing tag exits 1"

# ---- concurrent signers: none loses another's signature ------------------
cp -a lay par
for i in 1 2 3 4 5 6 7 8; do "$PLINTH" keygen "c$i" >/dev/null; done
pids=""
for i in 1 2 3 4 5 6 7 8; do
	"$PLINTH" sign --key "c$i.key" oci:par:plain >"sign$i.out" 2>&1 &
	pids="$pids $!"
done
fails=0; for p in $pids; do wait "$p" || fails=$((fails + 1)); done
t_is "$fails" 0 "8 signers of one image at once all succeed"
ok=0; for i in 1 2 3 4 5 6 7 8; do "$PLINTH" verify --key "c$i.pub" oci:par:plain >/dev/null 2>&1 && ok=$((ok + 1)); done
t_is "$ok" 8 "...and every one's signature is there"

t_done
