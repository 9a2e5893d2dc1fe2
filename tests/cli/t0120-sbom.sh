#!/usr/bin/env bash
# plinth sbom: an image built from real .debs of a signed archive (one
# package built from a differently named and versioned source, one with an
# epoch and ~deb12u1, a binNMU, a fake base-files with Debian's os-release)
# and a copied file.  SPDX and CycloneDX list every package with its purl
# and every file no package owns with its sha256; package files are not
# listed; the output is the same bytes for the same image; both documents
# validate against the official JSON schemas (CycloneDX's from the npm
# registry, pinned by integrity; SPDX's, which no package on the registry
# ships, from spdx-schema-2.3.json beside this test), and a corrupted copy
# does not.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt
need jq tar zstd sha256sum sha1sum

export PLINTH_CACHE=$TMP/cache

# The schemas.  The CycloneDX library ships the official CycloneDX 1.5
# schema and the two it refers to (as *.SNAPSHOT.schema.json, with those
# references renamed to match; res/schema/README.md lists its changes).
CDX_PKG=@cyclonedx/cyclonedx-library@10.3.0
CDX_TGZ=cyclonedx-cyclonedx-library-10.3.0.tgz
CDX_INTEGRITY=sha512-RIT28sp1U0PCHaaeF3yNRwk6Jig/XJ8UsYAVOMYaHQ+0VVOvsjcp0PTWQFLUqJFF8XMud+Kdq6G+wtDAh+QJFA==
# spdx/spdx-spec's schemas/spdx-schema.json for SPDX 2.3 (its 2.3.1
# revision, with the identifier, date and checksum patterns).
SPDX_SCHEMA=$TOP/tests/cli/spdx-schema-2.3.json
SPDX_SCHEMA_SHA256=4126dc29f15e92feec92e9622f4939131ad58b125d6f578aa93e980a6e6f3212
# The validator is Debian's python3-jsonschema (ci/setup installs it).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# ---- an archive and an image ------------------------------------------------
apt_keygen good
osrel_hook() { # Debian's os-release, and /etc's link to it
	mkdir -p "$1/usr/lib" "$1/etc"
	printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
		>"$1/usr/lib/os-release"
	ln -s ../usr/lib/os-release "$1/etc/os-release"
}
APT_DEB_HOOK=osrel_hook apt_deb base-files 12.4+deb12u1 >/dev/null
apt_deb libfoo 1:2.0+dfsg-1~deb12u1 Source=foo-src FILE=/lib/x86_64-linux-gnu/libfoo.so.1:foo >/dev/null
apt_deb foo 1.0-1 Depends="libfoo" Source="foo-src (0.9-3)" FILE=/usr/bin/foo:'#!foo' >/dev/null
apt_deb bar 1.0-1+b1 Source="bar (1.0-1)" FILE=/usr/share/bar/data:bar >/dev/null
mkdir srv
apt_archive srv/good stable || exit 1
apt_serve srv || exit 1

mkdir ctx
printf 'listen = 8080\n' >ctx/app.conf
apt_recipe ctx/img '${APT_URL}/good' 'foo, bar, base-files' ../good.gpg
cat >>ctx/img.yaml <<'EOF'
epoch: 1700000000
files:
  - {path: /etc/app.conf, source: app.conf}
EOF
run_plinth build ctx/img.yaml -o out
t_is "$rc" 0 "an image with packages and a copied file builds" || { t_done; exit 1; }
digest=$(echo "$out" | tail -n 1)
hex=${digest#sha256:}
manifest=$(blob out "$digest")
config=$(blob out "$(jq -r .config.digest "$manifest")")
zstd -dc "$(blob out "$(jq -r '.layers[0].digest' "$manifest")")" >layer.tar
mkdir root && tar -xf layer.tar -C root

# What the SBOM must list as files, worked out here from the layer itself:
# every regular file but those a package's md5sums lists (under /usr, as a
# merged-/usr image has them).  "PATH SHA256 SHA1" lines.
expected_files() {
	(cd root && cat var/lib/dpkg/status.d/*.md5sums) | cut -c35- |
		sed -E 's,^(bin|sbin|lib|lib32|lib64|libx32)/,usr/\1/,' | LC_ALL=C sort -u >owned
	(cd root && find . -type f | sed 's,^\./,,' | LC_ALL=C sort) >all
	LC_ALL=C comm -23 all owned | while read -r f; do
		echo "$f $(sha256sum <"root/$f" | cut -d' ' -f1) $(sha1sum <"root/$f" | cut -d' ' -f1)"
	done
}
expected_files >files.want
t_like "$(cat owned)" "usr/lib/x86_64-linux-gnu/libfoo.so.1" \
	"(the fixture: libfoo's md5sums names /lib, which the image has under /usr)"

purls_want="pkg:deb/debian/bar@1.0-1%2Bb1?arch=amd64&distro=debian-12&upstream=bar%401.0-1
pkg:deb/debian/base-files@12.4%2Bdeb12u1?arch=amd64&distro=debian-12
pkg:deb/debian/foo@1.0-1?arch=amd64&distro=debian-12&upstream=foo-src%400.9-3
pkg:deb/debian/libfoo@1%3A2.0%2Bdfsg-1~deb12u1?arch=amd64&distro=debian-12&upstream=foo-src"
image_purl="pkg:oci/img@sha256%3A$hex?arch=amd64"
created=$(jq -r .created "$config")

# ---- SPDX ---------------------------------------------------------------------
run_plinth sbom oci:out:1.0.0
t_is "$rc" 0 "sbom writes SPDX by default"
printf '%s\n' "$out" >spdx.json
t_is "$(jq -r '.spdxVersion + " " + .dataLicense + " " + .SPDXID' spdx.json)" \
	"SPDX-2.3 CC0-1.0 SPDXRef-DOCUMENT" "SPDX: an SPDX 2.3 document"
t_is "$(jq -r '.creationInfo.created' spdx.json)" "$created" \
	"SPDX: created is the image's creation time"
t_like "$(jq -r .documentNamespace spdx.json)" \
	'^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
	"SPDX: the namespace is a name-based UUID"
t_is "$(jq -r '[.relationships[] | select(.relationshipType == "DESCRIBES")] |
	map(.spdxElementId + " " + .relatedSpdxElement) | join(",")' spdx.json)" \
	"SPDXRef-DOCUMENT SPDXRef-Image" "SPDX: the document describes the image"
t_is "$(jq -r '.packages[] | select(.SPDXID == "SPDXRef-Image") |
	[.name, .versionInfo, .primaryPackagePurpose, (.checksums[] | .algorithm + ":" + .checksumValue),
	 .externalRefs[0].referenceLocator] | join(" ")' spdx.json)" \
	"img 1.0.0 CONTAINER SHA256:$hex $image_purl" \
	"SPDX: the image is a container package with its digest and purl"
t_is "$(jq -r '.packages[] | select(.SPDXID != "SPDXRef-Image") | .externalRefs[] |
	select(.referenceType == "purl") | .referenceLocator' spdx.json | LC_ALL=C sort)" "$purls_want" \
	"SPDX: every package has its purl (epoch, +, ~ encoded; distro; upstream source)"
t_is "$(jq -r '.packages[] | select(.name == "foo") | [.versionInfo, .sourceInfo] | join(" / ")' spdx.json)" \
	"1.0-1 / built from the Debian source package foo-src 0.9-3" \
	"SPDX: a package's version and source"
t_is "$(jq -r '.files[] | [.fileName[2:], (.checksums[] | select(.algorithm == "SHA256") | .checksumValue),
	(.checksums[] | select(.algorithm == "SHA1") | .checksumValue)] | join(" ")' spdx.json)" \
	"$(cat files.want)" \
	"SPDX: every file no package owns, with its sha256 and SHA1, and nothing else"
t_is "$(jq -r '.files[] | select(.fileName == "./etc/app.conf") |
	.checksums[] | select(.algorithm == "SHA256") | .checksumValue' spdx.json)" \
	"$(sha256sum <ctx/app.conf | cut -d' ' -f1)" "SPDX: the copied file's sha256 is its source's"
t_is "$(jq '[.files[] | select(.fileName | test("^./usr/(bin/foo|share/bar/data|lib/)"))] | length' spdx.json)" \
	0 "SPDX: package files are not listed"
t_is "$(jq -r '([.packages[].SPDXID] - ["SPDXRef-Image"]) + [.files[].SPDXID] | sort | join(",")' spdx.json)" \
	"$(jq -r '[.relationships[] | select(.relationshipType == "CONTAINS" and .spdxElementId == "SPDXRef-Image") |
	.relatedSpdxElement] | sort | join(",")' spdx.json)" \
	"SPDX: the image contains every package and every file"

# ---- CycloneDX --------------------------------------------------------------
run_plinth sbom --format cyclonedx oci:out:1.0.0
t_is "$rc" 0 "sbom --format cyclonedx"
printf '%s\n' "$out" >cdx.json
t_is "$(jq -r '[.bomFormat, .specVersion, (.version|tostring), .metadata.timestamp] | join(" ")' cdx.json)" \
	"CycloneDX 1.5 1 $created" "CycloneDX: a 1.5 BOM made when the image was"
t_like "$(jq -r .serialNumber cdx.json)" \
	'^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
	"CycloneDX: the serial number is a name-based UUID"
t_is "$(jq -r --arg ns "$(jq -r .documentNamespace spdx.json)" '.serialNumber != $ns' cdx.json)" true \
	"CycloneDX: its serial number is not the SPDX document's"
t_is "$(jq -r '.metadata.component | [.type, .name, .version, .purl, .["bom-ref"],
	(.hashes[] | .alg + ":" + .content)] | join(" ")' cdx.json)" \
	"container img 1.0.0 $image_purl $image_purl SHA-256:$hex" \
	"CycloneDX: the BOM describes the image, with its digest and purl"
t_is "$(jq -r '.components[] | select(.type == "application") | .purl' cdx.json | LC_ALL=C sort)" \
	"$purls_want" "CycloneDX: every package is an application component with its purl"
t_is "$(jq -r '.components[] | select(.purl == "'"$(echo "$purls_want" | grep /libfoo@)"'") |
	.name + " " + .version' cdx.json)" "libfoo 1:2.0+dfsg-1~deb12u1" \
	"CycloneDX: a package's name and version as Debian has them"
t_is "$(jq -r '.components[] | select(.type == "file") | .name[1:] + " " + (.hashes[] | select(.alg == "SHA-256") | .content)' cdx.json)" \
	"$(cut -d' ' -f1-2 files.want)" \
	"CycloneDX: every file no package owns, with its sha256, and nothing else"

# ---- the same bytes -------------------------------------------------------
t_is "$("$PLINTH" sbom oci:out:1.0.0 | cmp - spdx.json && echo same)" same \
	"a second run gives the same SPDX bytes"
mkdir -p elsewhere/deep && cp -r ctx elsewhere/deep/ && cp good.gpg elsewhere/deep/
(cd elsewhere/deep && TZ=Asia/Kolkata umask 077 && "$PLINTH" build ctx/img.yaml -o out2 >build.out 2>&1)
t_is "$(tail -n 1 elsewhere/deep/build.out)" "$digest" "a build in another directory gives the same image"
for f in spdx cyclonedx; do
	"$PLINTH" sbom --format "$f" oci:out:1.0.0 >"a.$f"
	(cd elsewhere/deep && TZ=Pacific/Apia LC_ALL=C "$PLINTH" sbom --format "$f" oci:out2:1.0.0) >"b.$f"
	t_is "$(cmp "a.$f" "b.$f" && echo same)" same "...and the same $f bytes"
done
run_plinth sbom -f cyclonedx -o "$TMP/written.json" oci:out:1.0.0
t_is "$rc:$out" "0:" "-o FILE writes the SBOM and prints nothing"
t_is "$(cmp written.json a.cyclonedx && echo same)" same "...the same bytes as standard output"
t_is "$(ls -a | grep -c '^\.written\|written.json.')" 0 "...and leaves no temporary file"

# ---- no distro without VERSION_ID, errors ---------------------------------
apt_recipe plain '${APT_URL}/good' 'bar'
run_plinth build plain.yaml -o plain
run_plinth sbom oci:plain:1.0.0
t_is "$(echo "$out" | jq -r '.packages[] | select(.name == "bar") | .externalRefs[0].referenceLocator')" \
	"pkg:deb/debian/bar@1.0-1%2Bb1?arch=amd64&upstream=bar%401.0-1" \
	"without a VERSION_ID in os-release (plinth's own) the purls name no distro"

run_plinth sbom --format xml oci:out:1.0.0
t_is "$rc" 2 "an unknown format is a usage error"
t_like "$err" "^plinth: unknown format 'xml' \(spdx or cyclonedx\)" "...naming it"
run_plinth sbom out:1.0.0
t_is "$rc" 2 "a reference that is not oci:DIR:TAG is a usage error"
t_like "$err" "^plinth: .*out:1.0.0" "...naming it"
run_plinth sbom oci:out
t_is "$rc" 2 "a reference without a tag is a usage error"
run_plinth sbom
t_is "$rc" 2 "no reference is a usage error"
t_like "$err" "an image \(oci:DIR:TAG\) is required" "...saying what is missing"
run_plinth sbom oci:out:9.9.9
t_is "$rc" 1 "an unknown tag fails"
t_like "$err" "^plinth: image 'oci:out:9.9.9': .*no tag '9.9.9'" "...naming the image and the tag"
run_plinth sbom -o nodir/x.json oci:out:1.0.0
t_is "$rc" 1 "an output in a missing directory fails"
t_like "$err" "nodir/x.json" "...naming it"
cp -r out broken
apt_tamper "$(blob broken "$(jq -r '.layers[0].digest' "$manifest")")"
run_plinth sbom oci:broken:1.0.0
t_is "$rc" 1 "a layer that does not match its digest fails"
t_like "$err" "^plinth: image 'oci:broken:1.0.0': .*does not match its digest" "...saying so"
run_plinth sbom --help
t_like "$rc $out" "^0 usage: plinth sbom " "sbom --help"

# ---- the official schemas -----------------------------------------------------
cat >validate.py <<'EOF'
# validate.py SCHEMA DOC [SCHEMA...]: validate DOC against SCHEMA, whose
# $refs name the other schemas (by file name or $id); no network.
import json, os, sys, warnings
from urllib.parse import urljoin

warnings.simplefilter("ignore", DeprecationWarning)
import jsonschema

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

schema, doc = load(sys.argv[1]), load(sys.argv[2])
base = schema.get("$id", "")
store = {}
for path in [sys.argv[1]] + sys.argv[3:]:
    s = load(path)
    for uri in (s.get("$id"), os.path.basename(path), urljoin(base, os.path.basename(path))):
        if uri:
            store[uri] = s
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
resolver = jsonschema.RefResolver(base, schema, store=store)
errors = list(cls(schema, resolver=resolver).iter_errors(doc))
for e in errors[:5]:
    print("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:300]))
sys.exit(1 if errors else 0)
EOF
validate() { "$PY" validate.py "$@" >validate.out 2>&1; }

t_is "$(sha256sum <"$SPDX_SCHEMA" | cut -d' ' -f1)" "$SPDX_SCHEMA_SHA256" \
	"the SPDX 2.3 schema is the one pinned"
validate "$SPDX_SCHEMA" spdx.json
t_is "$?" 0 "the SPDX document is valid SPDX 2.3 (official schema)"
[ ! -s validate.out ] || head -n 5 validate.out | sed 's/^/# /'
jq '.relationships[0].relationshipType = "OWNS" | .files[0].SPDXID = "SPDXRef-a/b"' spdx.json >bad-spdx.json
validate "$SPDX_SCHEMA" bad-spdx.json
t_is "$?" 1 "a corrupted SPDX document is not"
t_like "$(cat validate.out)" "OWNS" "...and the validator says why"

if ! command -v npm >/dev/null 2>&1; then
	t_fail "npm fetches the CycloneDX schemas" "npm is not installed (CI has it: install node and npm)"
else
	mkdir npm
	(cd npm && npm pack --silent --cache "$TMP/npm-cache" "$CDX_PKG") >npm.log 2>&1
	got=$("$PY" -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' \
		"npm/$CDX_TGZ" 2>/dev/null)
	t_is "$got" "$CDX_INTEGRITY" "npm fetches $CDX_PKG, the tarball pinned" ||
		sed 's/^/# /' npm.log | tail -n 5
	s=package/res/schema
	tar -xzf "npm/$CDX_TGZ" -C npm "$s/bom-1.5.SNAPSHOT.schema.json" "$s/spdx.SNAPSHOT.schema.json" \
		"$s/jsf-0.82.SNAPSHOT.schema.json" 2>/dev/null
	cdx_schemas=("npm/$s/bom-1.5.SNAPSHOT.schema.json" "npm/$s/spdx.SNAPSHOT.schema.json"
		"npm/$s/jsf-0.82.SNAPSHOT.schema.json")
	validate "${cdx_schemas[0]}" cdx.json "${cdx_schemas[@]:1}"
	t_is "$?" 0 "the CycloneDX document is valid CycloneDX 1.5 (official schema)"
	[ ! -s validate.out ] || head -n 5 validate.out | sed 's/^/# /'
	jq '.components[0].type = "gadget" | .metadata.component.hashes[0].alg = "SHA-257"' cdx.json >bad-cdx.json
	validate "${cdx_schemas[0]}" bad-cdx.json "${cdx_schemas[@]:1}"
	t_is "$?" 1 "a corrupted CycloneDX document is not"
	t_like "$(cat validate.out)" "gadget|SHA-257" "...and the validator says why"
fi

t_done
