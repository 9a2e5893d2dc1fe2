#!/usr/bin/env bash
# plinth sbom: an image built from real .debs of a signed archive (one
# package built from a differently named and versioned source, one with an
# epoch and ~deb12u1, a binNMU, a fake base-files with Debian's os-release)
# and a copied file.  SPDX and CycloneDX list every package with its purl
# and every file no package owns with its sha256; package files are not
# listed; the output is the same bytes for the same image.
#
# The CycloneDX BOM is validated against the official CycloneDX 1.5 JSON
# schema, fetched from the npm registry and pinned by integrity.  The SPDX
# document is checked against the SPDX 2.3 specification's requirements by
# spdx_check.py below, written for this test from the specification's text:
# no registry this project reaches carries the SPDX 2.3 JSON schema, and
# reference material is read, never copied into the repository.  Every rule
# of the checker, and the CycloneDX validation, is shown to reject a
# corrupted copy, so none of them passes vacuously.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt
need jq tar zstd sha256sum sha1sum

export PLINTH_CACHE=$TMP/cache

# The CycloneDX schemas: cdxgen ships the official CycloneDX 1.5 schema and
# the two it $refs under their upstream names (data/bom-1.5.schema.json,
# data/spdx.schema.json, data/jsf-0.82.schema.json: upstream's JSON as of
# one of its revisions, re-indented by cdxgen's formatter).  cyclonedx-library ships them too, but
# as *.SNAPSHOT.schema.json with the $refs renamed and the $schema enum
# dropped, so cdxgen's are the closer copy.  The tarball (~2.4 MB) is kept
# under $NPM_CACHE by its integrity, and checked against it on every run.
CDX_PKG=@cyclonedx/cdxgen@12.8.4
CDX_TGZ=cyclonedx-cdxgen-12.8.4.tgz
CDX_INTEGRITY=sha512-9EMER2beUSU7fvKgVaYOnYCFqAHrY3bQ7ERenh29/Edku0ctEXzYdov6vCmjmo/hSBH+JtvA7+j1U884MVYFOA==
NPM_CACHE=${PLINTH_NPM_CACHE:-$HOME/.cache/plinth/npm}
# The CycloneDX validator is Debian's python3-jsonschema (ci/setup installs it).
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
printf '%s\n' "$out" >plain-spdx.json
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

# ---- SPDX 2.3's requirements ---------------------------------------------------
# spdx_check.py DOC: checks DOC against what the SPDX 2.3 specification
# requires of a JSON document, as far as a consumer relies on it.  Written
# for this test from the specification's clauses (6 document creation,
# 7 package, 8 file, 11 relationships, Annex F external references, and
# the JSON field names of its serialization); it is not the SPDX schema.
# Prints "RULE: what is wrong" for each violation; exits 1 if there is
# any, 2 if the checker itself breaks, 0 for a document that meets them.
cat >spdx_check.py <<'EOF'
import json, re, sys
from datetime import datetime

# The JSON fields SPDX 2.3 defines, at each level we check.
DOC_KEYS = {"spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace",
            "externalDocumentRefs", "creationInfo", "comment", "documentDescribes",
            "packages", "files", "snippets", "relationships", "annotations",
            "hasExtractedLicensingInfos", "revieweds"}
CREATION_KEYS = {"created", "creators", "licenseListVersion", "comment"}
PACKAGE_KEYS = {"name", "SPDXID", "versionInfo", "packageFileName", "supplier",
                "originator", "downloadLocation", "filesAnalyzed",
                "packageVerificationCode", "checksums", "homepage", "sourceInfo",
                "licenseConcluded", "licenseInfoFromFiles", "licenseDeclared",
                "licenseComments", "copyrightText", "summary", "description",
                "comment", "externalRefs", "attributionTexts",
                "primaryPackagePurpose", "releaseDate", "builtDate",
                "validUntilDate", "annotations", "hasFiles"}
FILE_KEYS = {"fileName", "SPDXID", "fileTypes", "checksums", "licenseConcluded",
             "licenseInfoInFiles", "licenseComments", "copyrightText",
             "artifactOfs", "comment", "noticeText", "fileContributors",
             "attributionTexts", "fileDependencies", "annotations"}
EXTREF_KEYS = {"referenceCategory", "referenceType", "referenceLocator", "comment"}
CHECKSUM_KEYS = {"algorithm", "checksumValue"}
VERIFICATION_KEYS = {"packageVerificationCodeValue", "packageVerificationCodeExcludedFiles"}
RELATIONSHIP_KEYS = {"spdxElementId", "relationshipType", "relatedSpdxElement", "comment"}

# Clause 11's relationship types.
RELATIONSHIP_TYPES = set("""
    DESCRIBES DESCRIBED_BY CONTAINS CONTAINED_BY DEPENDS_ON DEPENDENCY_OF
    DEPENDENCY_MANIFEST_OF BUILD_DEPENDENCY_OF DEV_DEPENDENCY_OF
    OPTIONAL_DEPENDENCY_OF PROVIDED_DEPENDENCY_OF TEST_DEPENDENCY_OF
    RUNTIME_DEPENDENCY_OF EXAMPLE_OF GENERATES GENERATED_FROM ANCESTOR_OF
    DESCENDANT_OF VARIANT_OF DISTRIBUTION_ARTIFACT PATCH_FOR PATCH_APPLIED
    COPY_OF FILE_ADDED FILE_DELETED FILE_MODIFIED EXPANDED_FROM_ARCHIVE
    DYNAMIC_LINK STATIC_LINK DATA_FILE_OF TEST_CASE_OF BUILD_TOOL_OF
    DEV_TOOL_OF TEST_OF TEST_TOOL_OF DOCUMENTATION_OF OPTIONAL_COMPONENT_OF
    METAFILE_OF PACKAGE_OF AMENDS PREREQUISITE_FOR HAS_PREREQUISITE
    REQUIREMENT_DESCRIPTION_FOR SPECIFICATION_FOR OTHER""".split())
# Annex F's categories: the text spells them with a hyphen, SPDX 2.3's
# JSON also accepts the underscore spelling, and consumers take both.
REF_CATEGORIES = {"SECURITY", "PACKAGE-MANAGER", "PACKAGE_MANAGER",
                  "PERSISTENT-ID", "PERSISTENT_ID", "OTHER"}
# 7.24; 2.3's JSON spelled OPERATING-SYSTEM with an underscore.
PURPOSES = {"APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "OPERATING-SYSTEM",
            "OPERATING_SYSTEM", "DEVICE", "FIRMWARE", "SOURCE", "ARCHIVE", "FILE",
            "INSTALL", "OTHER"}
# 7.10 and 8.4's algorithms, with the hex length of those of fixed size.
ALGORITHMS = {"SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128,
              "SHA3-256": 64, "SHA3-384": 96, "SHA3-512": 128, "MD2": 32, "MD4": 32,
              "MD5": 32, "MD6": None, "BLAKE2b-256": 64, "BLAKE2b-384": 96,
              "BLAKE2b-512": 128, "BLAKE3": None, "ADLER32": 8}

ID = re.compile(r"SPDXRef-[A-Za-z0-9.-]+\Z")
DOCREF = re.compile(r"(DocumentRef-[A-Za-z0-9.-]+):SPDXRef-[A-Za-z0-9.-]+\Z")
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+\Z")  # absolute, no fragment
LOCATION = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+\Z")  # a URL or a VCS location
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
CREATOR = re.compile(r"(Person|Organization|Tool): \S")
HEX = re.compile(r"[0-9a-f]+\Z")

problems = []
def bad(rule, what):
    problems.append("%s: %s" % (rule, what))

def text(v):
    return isinstance(v, str) and v.strip() != "" and "\n" not in v

def objects(doc, key):
    v = doc.get(key, [])
    if not isinstance(v, list) or not all(isinstance(o, dict) for o in v):
        bad("keys", "%s is not a list of objects" % key)
        return []
    return v

def unknown(obj, allowed, where):
    for k in sorted(set(obj) - allowed):
        bad("keys", "%s has %r, which SPDX 2.3 does not define there" % (where, k))

def checksums(obj, where):
    sums = obj.get("checksums", [])
    if not isinstance(sums, list):
        bad("checksum", "%s: checksums is not a list" % where)
        return set()
    algos = set()
    for c in sums:
        if not isinstance(c, dict):
            bad("checksum", "%s: a checksum is not an object" % where)
            continue
        unknown(c, CHECKSUM_KEYS, where + " checksum")
        a, v = c.get("algorithm"), c.get("checksumValue")
        if a not in ALGORITHMS:
            bad("checksum", "%s: unknown algorithm %r" % (where, a))
        elif not isinstance(v, str) or not HEX.match(v) or \
                (ALGORITHMS[a] and len(v) != ALGORITHMS[a]):
            bad("checksum", "%s: %s %r is not %s lowercase hex digits"
                % (where, a, v, ALGORITHMS[a] or "some"))
        else:
            algos.add(a)
    return algos

def check(doc):
    if not isinstance(doc, dict):
        bad("keys", "the document is not an object")
        return
    unknown(doc, DOC_KEYS, "the document")
    # 6.1-6.5: version, data license, identifier, name, namespace
    if doc.get("spdxVersion") != "SPDX-2.3":
        bad("spdxVersion", "%r, not SPDX-2.3" % doc.get("spdxVersion"))
    if doc.get("dataLicense") != "CC0-1.0":
        bad("dataLicense", "%r, not CC0-1.0" % doc.get("dataLicense"))
    if doc.get("SPDXID") != "SPDXRef-DOCUMENT":
        bad("SPDXID", "the document's is %r, not SPDXRef-DOCUMENT" % doc.get("SPDXID"))
    if not text(doc.get("name")):
        bad("name", "the document has no name")
    ns = doc.get("documentNamespace")
    if not isinstance(ns, str) or not URI.match(ns):
        bad("documentNamespace", "%r is not an absolute URI without '#'" % ns)
    # 6.8, 6.9: creators and creation time
    ci = doc.get("creationInfo")
    if not isinstance(ci, dict):
        bad("created", "no creationInfo")
        ci = {}
    unknown(ci, CREATION_KEYS, "creationInfo")
    created = ci.get("created")
    try:
        ok = isinstance(created, str) and CREATED.match(created) and \
            datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        ok = False
    if not ok:
        bad("created", "%r is not a UTC date and time YYYY-MM-DDThh:mm:ssZ" % created)
    creators = ci.get("creators")
    if not isinstance(creators, list) or not creators:
        bad("creators", "no creators")
    else:
        for c in creators:
            if not isinstance(c, str) or not CREATOR.match(c):
                bad("creators", "%r is not Person:, Organization: or Tool:" % c)

    # Identifiers: the document's, and every element's (7.2, 8.2, 9.1).
    packages, files = objects(doc, "packages"), objects(doc, "files")
    snippets = objects(doc, "snippets")
    ids = [doc.get("SPDXID")]
    for kind, elements in (("package", packages), ("file", files), ("snippet", snippets)):
        for e in elements:
            i = e.get("SPDXID")
            if not isinstance(i, str) or not ID.match(i):
                bad("id", "%s %r: SPDXID %r is not SPDXRef-[letters, digits, . and -]"
                    % (kind, e.get("name", e.get("fileName")), i))
            ids.append(i)
    seen = set()
    for i in ids:
        if i in seen:
            bad("id-unique", "%r names two elements" % i)
        seen.add(i)
    docrefs = {r.get("externalDocumentId") for r in objects(doc, "externalDocumentRefs")}
    def known(i):
        if i in seen:
            return True
        m = isinstance(i, str) and DOCREF.match(i)
        return bool(m) and m.group(1) in docrefs

    # 7: packages
    for p in packages:
        where = "package %r" % (p.get("name") or p.get("SPDXID"))
        unknown(p, PACKAGE_KEYS, where)
        for k in ("name", "SPDXID", "downloadLocation"):
            if not text(p.get(k)):
                bad("package", "%s has no %s" % (where, k))
        loc = p.get("downloadLocation")
        if text(loc) and loc not in ("NONE", "NOASSERTION") and not LOCATION.match(loc):
            bad("downloadLocation", "%s: %r is not a URL, NONE or NOASSERTION" % (where, loc))
        if "versionInfo" in p and not text(p["versionInfo"]):
            bad("versionInfo", "%s: an empty versionInfo" % where)
        if "primaryPackagePurpose" in p and p["primaryPackagePurpose"] not in PURPOSES:
            bad("purpose", "%s: %r" % (where, p["primaryPackagePurpose"]))
        checksums(p, where)
        # 7.8, 7.9: files analysed, and the verification code
        fa = p.get("filesAnalyzed", True)
        if not isinstance(fa, bool):
            bad("verification", "%s: filesAnalyzed %r is not a boolean" % (where, fa))
        vc = p.get("packageVerificationCode")
        if vc is not None:
            if not isinstance(vc, dict):
                vc = {}
            unknown(vc, VERIFICATION_KEYS, where + " packageVerificationCode")
            v = vc.get("packageVerificationCodeValue")
            if fa is False:
                bad("verification", "%s: a verification code, but filesAnalyzed is false" % where)
            if not isinstance(v, str) or not HEX.match(v) or len(v) != 40:
                bad("verification", "%s: %r is not 40 lowercase hex digits" % (where, v))
        for f in p.get("hasFiles", []):
            if f not in seen:
                bad("relationship", "%s: hasFiles names %r, no element here" % (where, f))
        # 7.21 and Annex F: external references; a purl is a package manager's
        refs = p.get("externalRefs", [])
        for r in refs if isinstance(refs, list) else [None]:
            if not isinstance(r, dict):
                bad("externalRefs", "%s: an external reference is not an object" % where)
                continue
            unknown(r, EXTREF_KEYS, where + " external reference")
            cat, typ, loc = (r.get(k) for k in ("referenceCategory", "referenceType",
                                                 "referenceLocator"))
            if cat not in REF_CATEGORIES or not text(typ) or \
                    not isinstance(loc, str) or not re.match(r"\S+\Z", loc):
                bad("externalRefs", "%s: %r %r %r is not category, type and a locator "
                    "without spaces" % (where, cat, typ, loc))
            elif typ == "purl":
                if cat not in ("PACKAGE-MANAGER", "PACKAGE_MANAGER"):
                    bad("purl", "%s: a purl under %s, not PACKAGE-MANAGER" % (where, cat))
                if not re.match(r"pkg:[A-Za-z.+-][A-Za-z0-9.+-]*/", loc):
                    bad("purl", "%s: %r does not start pkg:TYPE/" % (where, loc))
                elif re.match(r"[^?#]*@", loc) and "versionInfo" not in p:
                    bad("versionInfo", "%s: its purl has a version, the package none" % where)

    # 8: files
    for f in files:
        where = "file %r" % f.get("fileName")
        unknown(f, FILE_KEYS, where)
        name = f.get("fileName")
        if not isinstance(name, str) or not name.startswith("./") or \
                "/../" in name + "/" or "\n" in name:
            bad("fileName", "%r is not a relative name starting ./" % name)
        algos = checksums(f, where)
        if "SHA1" not in algos:
            bad("SHA1", "%s has no SHA1, which 8.4 requires" % where)
        if "SHA256" not in algos:
            bad("SHA256", "%s has no SHA256" % where)

    # 11: relationships; NOASSERTION and NONE only as the related element
    describes = False
    for r in objects(doc, "relationships"):
        unknown(r, RELATIONSHIP_KEYS, "a relationship")
        a, t, b = r.get("spdxElementId"), r.get("relationshipType"), r.get("relatedSpdxElement")
        if t not in RELATIONSHIP_TYPES:
            bad("relationshipType", "%r is not one of clause 11's" % t)
        if not known(a):
            bad("relationship", "%s %s %s: %r is no element here" % (a, t, b, a))
        if not known(b) and b not in ("NOASSERTION", "NONE"):
            bad("relationship", "%s %s %s: %r is no element here" % (a, t, b, b))
        describes |= (t == "DESCRIBES" and a == "SPDXRef-DOCUMENT" and known(b)) or \
            (t == "DESCRIBED_BY" and b == "SPDXRef-DOCUMENT" and known(a))
    dd = doc.get("documentDescribes", [])
    for i in dd if isinstance(dd, list) else [dd]:
        if known(i):
            describes = True
        else:
            bad("relationship", "documentDescribes names %r, no element here" % (i,))
    if not describes:
        bad("describes", "nothing says what the document describes")

try:
    with open(sys.argv[1], encoding="utf-8") as f:
        check(json.load(f))
except Exception as e:  # the checker broke: not a verdict on the document
    print("spdx_check.py: %s: %s" % (type(e).__name__, e))
    sys.exit(2)
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
spdx_check() { rc=0; out=$("$PY" spdx_check.py "$1" 2>&1) || rc=$?; }

spdx_check spdx.json
t_is "$rc:$out" "0:" "the SPDX document meets SPDX 2.3's requirements"
spdx_check plain-spdx.json
t_is "$rc:$out" "0:" "...and so does the one of an image without a distro"
t_is "$(jq -r '.packages[] | select(.SPDXID == "SPDXRef-Image") |
	.packageVerificationCode.packageVerificationCodeValue' spdx.json)" \
	"$( (cd root && find . -type f -exec sha1sum {} +) | cut -d' ' -f1 | LC_ALL=C sort | tr -d '\n' |
		sha1sum | cut -d' ' -f1)" \
	"SPDX: the image's verification code is 7.9's, over every regular file in it"

# spdx_bad RULE JQ DESC: a copy of spdx.json changed by JQ breaks RULE.
spdx_bad() {
	jq "$2" spdx.json >bad-spdx.json || { t_fail "$3" "jq failed: $2"; return; }
	spdx_check bad-spdx.json
	if [ "$rc" = 1 ] && printf '%s\n' "$out" | grep -q "^$1: "; then t_pass "$3"
	else t_fail "$3" "rc=$rc, want 1 and a line '$1: ...'" "$out"; fi
}
spdx_bad spdxVersion '.spdxVersion = "SPDX-2.2"' "SPDX check: another version is refused"
spdx_bad dataLicense '.dataLicense = "CC-BY-4.0"' "SPDX check: another data license is"
spdx_bad SPDXID '.SPDXID = "SPDXRef-Doc"' "SPDX check: a document identifier other than SPDXRef-DOCUMENT is"
spdx_bad name '.name = ""' "SPDX check: an empty document name is"
spdx_bad documentNamespace '.documentNamespace += "#image"' "SPDX check: a namespace with a '#' is"
spdx_bad documentNamespace '.documentNamespace = "plinth/img"' "SPDX check: a relative namespace is"
spdx_bad created '.creationInfo.created = "2023-11-14T22:13:20+00:00"' \
	"SPDX check: a creation time not in YYYY-MM-DDThh:mm:ssZ is"
spdx_bad created '.creationInfo.created = "2023-02-30T22:13:20Z"' "SPDX check: a creation time that is no date is"
spdx_bad creators '.creationInfo.creators = []' "SPDX check: no creators is"
spdx_bad creators '.creationInfo.creators = ["plinth-0.1.0"]' "SPDX check: a creator without Tool:/Person:/Organization: is"
spdx_bad id '.files[0].SPDXID = "SPDXRef-a/b"' "SPDX check: an identifier with a '/' is"
spdx_bad id-unique '.files[1].SPDXID = .files[0].SPDXID' "SPDX check: two elements with one identifier are"
spdx_bad package 'del(.packages[1].downloadLocation)' "SPDX check: a package without a download location is"
spdx_bad package 'del(.packages[1].name)' "SPDX check: a package without a name is"
spdx_bad downloadLocation '.packages[1].downloadLocation = "somewhere"' \
	"SPDX check: a download location that is no URL, NONE or NOASSERTION is"
spdx_bad versionInfo 'del(.packages[1].versionInfo)' "SPDX check: a package whose purl has a version but which has none is"
spdx_bad purpose '.packages[0].primaryPackagePurpose = "IMAGE"' "SPDX check: an unknown package purpose is"
spdx_bad verification '.packages[0].packageVerificationCode.packageVerificationCodeValue |= ascii_upcase' \
	"SPDX check: a verification code not in lowercase hex is"
spdx_bad verification '.packages[0].filesAnalyzed = false' \
	"SPDX check: a verification code on a package whose files were not analysed is"
spdx_bad externalRefs '.packages[1].externalRefs[0].referenceCategory = "PACKAGE"' \
	"SPDX check: an unknown external reference category is"
spdx_bad purl '.packages[1].externalRefs[0].referenceCategory = "SECURITY"' \
	"SPDX check: a purl that is not a PACKAGE-MANAGER reference is"
spdx_bad purl '.packages[1].externalRefs[0].referenceLocator |= ltrimstr("pkg:")' \
	"SPDX check: a purl that does not start pkg: is"
spdx_bad fileName '.files[0].fileName |= ltrimstr(".")' "SPDX check: a file name not starting ./ is"
spdx_bad SHA1 '.files[0].checksums |= map(select(.algorithm != "SHA1"))' "SPDX check: a file without its SHA1 is"
spdx_bad SHA256 '.files[0].checksums |= map(select(.algorithm != "SHA256"))' "SPDX check: a file without its SHA256 is"
spdx_bad checksum '.files[0].checksums[0].checksumValue |= ascii_upcase' "SPDX check: a checksum in uppercase hex is"
spdx_bad checksum '.files[0].checksums[1].checksumValue |= .[1:]' "SPDX check: a checksum of the wrong length is"
spdx_bad checksum '.files[0].checksums[0].algorithm = "SHA-1"' "SPDX check: an unknown checksum algorithm is"
spdx_bad relationship '.relationships[1].relatedSpdxElement = "SPDXRef-Nowhere"' \
	"SPDX check: a relationship to no element is"
spdx_bad relationship '.relationships[1].spdxElementId = "NOASSERTION"' \
	"SPDX check: a relationship from NOASSERTION is"
spdx_bad relationshipType '.relationships[1].relationshipType = "OWNS"' "SPDX check: an unknown relationship type is"
spdx_bad describes '.relationships |= map(select(.relationshipType != "DESCRIBES"))' \
	"SPDX check: a document that describes nothing is"
spdx_bad keys '.creator = "plinth"' "SPDX check: a document-level key SPDX 2.3 does not define is"
spdx_bad keys '.packages[1].license = "MIT"' "SPDX check: such a key in a package is"
spdx_bad keys '.files[0].sha256 = .files[0].checksums[1].checksumValue' "SPDX check: such a key in a file is"
spdx_bad keys '.packages[1].externalRefs[0].url = "https://example.org/"' \
	"SPDX check: such a key in an external reference is"
jq '.packages[].externalRefs[].referenceCategory = "PACKAGE_MANAGER" |
	.documentDescribes = ["SPDXRef-Image"] | .relationships |= map(select(.relationshipType != "DESCRIBES")) |
	.relationships += [{spdxElementId: "SPDXRef-Image", relationshipType: "DEPENDS_ON", relatedSpdxElement: "NONE"}]' \
	spdx.json >other-spdx.json
spdx_check other-spdx.json
t_is "$rc:$out" "0:" "SPDX check: SPDX 2.3's other spellings (PACKAGE_MANAGER, documentDescribes, NONE) pass"

# ---- CycloneDX: the official schema -------------------------------------------
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
integrity() { # the npm integrity string of a file
	"$PY" -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' \
		"$1" 2>/dev/null
}

# The tarball: from the cache if it is there and still the one pinned, else
# from npm (into a throwaway npm cache), then kept for the next run.
mkdir npm
cached="$NPM_CACHE/$(printf '%s' "$CDX_INTEGRITY" | tr '/+' '_-' | tr -d '=').tgz"
from=npm
if [ -f "$cached" ] && [ "$(integrity "$cached")" = "$CDX_INTEGRITY" ]; then
	cp "$cached" "npm/$CDX_TGZ"
	from="the cache"
elif rm -f "$cached"; command -v npm >/dev/null 2>&1; then
	(cd npm && npm pack --silent --cache "$TMP/npm-cache" "$CDX_PKG") >npm.log 2>&1
fi
got=$( [ ! -f "npm/$CDX_TGZ" ] || integrity "npm/$CDX_TGZ")
if [ -z "$got" ]; then
	t_fail "the CycloneDX schemas' tarball, $CDX_PKG" \
		"not in $NPM_CACHE, and npm could not fetch it (CI has npm: install node and npm)"
	[ ! -s npm.log ] || sed 's/^/# /' npm.log | tail -n 5
elif [ "$got" != "$CDX_INTEGRITY" ]; then # (t_is's status does not say)
	t_is "$got" "$CDX_INTEGRITY" "$CDX_PKG from $from is the tarball pinned"
	[ ! -s npm.log ] || sed 's/^/# /' npm.log | tail -n 5
else
	t_pass "$CDX_PKG from $from is the tarball pinned"
	if [ "$from" = npm ] && mkdir -p "$NPM_CACHE" 2>/dev/null &&
		cp "npm/$CDX_TGZ" "$cached.$$" 2>/dev/null; then
		mv -f "$cached.$$" "$cached"
	fi
	d=package/data
	tar -xzf "npm/$CDX_TGZ" -C npm "$d/bom-1.5.schema.json" "$d/spdx.schema.json" \
		"$d/jsf-0.82.schema.json" 2>/dev/null
	cdx_schemas=("npm/$d/bom-1.5.schema.json" "npm/$d/spdx.schema.json" "npm/$d/jsf-0.82.schema.json")
	refs=$(jq -r '[.. | objects | .["$ref"] // empty | select(startswith("#") | not)] | unique | join(" ")' \
		"${cdx_schemas[0]}")
	ids=$(jq -r '.["$id"]' "${cdx_schemas[@]}" | tr '\n' ' ')
	u=http://cyclonedx.org/schema
	t_is "$refs / $ids" \
		"jsf-0.82.schema.json#/definitions/signature spdx.schema.json / $u/bom-1.5.schema.json $u/spdx.schema.json $u/jsf-0.82.schema.json " \
		"...whose bom-1.5 schema \$refs the other two by their upstream names"
	validate "${cdx_schemas[0]}" cdx.json "${cdx_schemas[@]:1}"
	t_is "$?" 0 "the CycloneDX document is valid CycloneDX 1.5 (official schema)"
	[ ! -s validate.out ] || head -n 5 validate.out | sed 's/^/# /'
	jq '.components[0].type = "gadget" | .metadata.component.hashes[0].alg = "SHA-257"' cdx.json >bad-cdx.json
	validate "${cdx_schemas[0]}" bad-cdx.json "${cdx_schemas[@]:1}"
	t_is "$?" 1 "a corrupted CycloneDX document is not"
	t_like "$(cat validate.out)" "gadget|SHA-257" "...and the validator says why"
fi

t_done
