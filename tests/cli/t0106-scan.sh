#!/usr/bin/env bash
# plinth scan: a planted private key, an AWS key in a config file, a setuid
# binary and a world-writable directory are each found, with their paths; a
# layer's whiteouts hide what it deletes; accounts, shells and package
# managers are reported; a clean image scans clean; the build's scan gate
# stops on secrets and setuid files unless the policy opts out.
. "$(dirname "$0")/lib.sh"
need jq
need openssl
make_hello src

# add_layer LAYOUT TAG NEWTAG DIR: a copy of the image TAG with one more
# (gzip) layer holding DIR's tree (or the tar DIR, when it is one), tagged
# NEWTAG - the way other tools stack layers, whiteouts included.
add_layer() {
	local lay=$1 tag=$2 new=$3 dir=$4
	local m c layer diff size cfg cfgsize man mansize
	m=$(manifest_of "$lay" "$tag")
	c=$(jq -r .config.digest "$(blob "$lay" "$m")")
	if [ -f "$dir" ]; then
		cp "$dir" layer.tar
	else
		tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf layer.tar .
	fi
	diff=sha256:$(sha256sum layer.tar | cut -d' ' -f1)
	gzip -n -9 <layer.tar >layer.tgz
	layer=sha256:$(sha256sum layer.tgz | cut -d' ' -f1)
	size=$(stat -c %s layer.tgz)
	cp layer.tgz "$(blob "$lay" "$layer")"
	jq -c --arg d "$diff" '.rootfs.diff_ids += [$d] | .history += [{created_by: "test"}]' \
		"$(blob "$lay" "$c")" >cfg.json
	cfg=sha256:$(sha256sum cfg.json | cut -d' ' -f1)
	cfgsize=$(stat -c %s cfg.json)
	cp cfg.json "$(blob "$lay" "$cfg")"
	jq -c --arg c "$cfg" --argjson cs "$cfgsize" --arg l "$layer" --argjson ls "$size" \
		'.config.digest = $c | .config.size = $cs |
		 .layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]' \
		"$(blob "$lay" "$m")" >man.json
	man=sha256:$(sha256sum man.json | cut -d' ' -f1)
	mansize=$(stat -c %s man.json)
	cp man.json "$(blob "$lay" "$man")"
	jq -c --arg d "$man" --argjson s "$mansize" --arg t "$new" \
		'.manifests += [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		  annotations: {"org.opencontainers.image.ref.name": $t}}]' "$lay/index.json" >idx.json
	mv idx.json "$lay/index.json"
}

# findings JSON: "RULE PATH" lines, sorted, of the findings above info not
# opted out of.
findings() { jq -r '.findings[] | select(.ignored == null and .severity != "info") | "\(.rule) \(.path)"' <<<"$1"; }

# --- a clean image --------------------------------------------------------------
"$PLINTH" build --skip-tests src/hello.yaml -o img >/dev/null 2>&1
run_plinth scan --json oci:img:1.0.0
t_is "$rc" 0 "the hello image scans clean (exit 0)"
t_is "$(jq -c '[.findings[] | select(.severity != "info") | .rule]' <<<"$out")" "[]" \
	"with no finding above info"
t_is "$(jq -r '[.findings[] | select(.rule == "S013") | .path] | join(" ")' <<<"$out")" \
	"/etc/group /etc/nsswitch.conf /etc/os-release /etc/passwd /usr/local/bin/hello" \
	"files no package owns are listed, as info"
run_plinth scan oci:img:1.0.0
t_like "$out" "oci:img:1.0.0: 0 critical, 0 high, 0 medium, 0 low, 5 info" "text: a summary line"

# --- planted problems, let through the build's gate by a policy -----------------
mkdir -p plant/etc/app plant/bin
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out plant/etc/app/server.key 2>/dev/null
printf '[default]\nregion = eu-west-1\naws_access_key_id = AKIAQWERTYUIOPASDFGH\n' >plant/etc/app/aws.conf
printf 'db:\n  host: db.internal\n  password: "s3cr3t-Pa55"\n' >plant/etc/app/db.yaml
printf 'not a secret\n' >plant/etc/app/notes.txt
cp src/bin/hello plant/bin/tool
cat >plant/planted.yaml <<'EOF'
name: planted
version: 1.0.0
epoch: 1700000000
files:
  - {path: /etc/app/server.key, source: etc/app/server.key, mode: "0600"}
  - {path: /etc/app/aws.conf, source: etc/app/aws.conf}
  - {path: /etc/app/db.yaml, source: etc/app/db.yaml}
  - {path: /etc/app/notes.txt, source: etc/app/notes.txt}
  - {path: /usr/bin/tool, source: bin/tool, mode: "4755"}
  - {path: /usr/share/app/tests/fixture.key, source: etc/app/server.key}
directories:
  - {path: /var/drop, mode: "0777"}
EOF
cat >allow.yaml <<'EOF'
ignore:
  - {rule: L008, reason: the test plants a setuid file}
  - {rule: L011, reason: the test plants a world-writable directory}
  - {rule: S001, path: /usr/bin/tool, reason: the test plants a setuid file}
  - {rule: S004, path: /etc/app/server.key, reason: the test plants a key}
  - {rule: S006, reason: the test plants an AWS key}
  - {rule: S008, reason: the test plants a password}
EOF

head -3 allow.yaml >lint-only.yaml
run_plinth build --skip-tests --policy lint-only.yaml plant/planted.yaml -o gate
t_is "$rc" 1 "the build's scan gate stops on them"
t_like "$err" "^plinth: scan: 4 findings stop the build: S001 setuid: /usr/bin/tool is setuid" "naming the setuid file"
t_like "$err" "S004 private-key: /etc/app/server.key holds a PEM private key" "naming the private key"
t_is "$(ls gate 2>/dev/null)" "" "and the layout is not written"

run_plinth build --skip-tests --policy allow.yaml plant/planted.yaml -o img
t_is "$rc" 0 "a policy opting out lets the build through"
# with a layer cache, a layer's findings are remembered: a build taking the
# layer from the cache applies its own policy to them without reading it
"$PLINTH" build --skip-tests --policy allow.yaml --layer-cache lc plant/planted.yaml -o cached >/dev/null 2>&1
t_is "$(ls lc | grep -c '^scan-.*\.json$')" 1 "the layer cache remembers the layer's scan"
run_plinth build --skip-tests --policy lint-only.yaml --layer-cache lc plant/planted.yaml -o cached2 --json
t_like "$rc $err" "^1 plinth: scan: 4 findings stop the build: S001 setuid: /usr/bin/tool" \
	"a layer reused from the cache meets the same scan gate"
# a memo is only the binary's that wrote it: one from another plinth (an
# older scanner) saying "nothing" is not believed
memo=$(ls lc/scan-*.json)
other=$(echo "$memo" | sed 's/-[0-9a-f]\{16\}\.json$/-0000000000000000.json/')
rm "$memo" && printf '[]' >"$other"
run_plinth build --skip-tests --policy lint-only.yaml --layer-cache lc plant/planted.yaml -o cached3
t_like "$rc $err" "^1 plinth: scan: 4 findings stop the build" "another binary's memo is not taken"
printf '[["S004", "/x", "line one\\nplinth: forged"]]' >"$memo"
run_plinth build --skip-tests --policy lint-only.yaml --layer-cache lc plant/planted.yaml -o cached4
t_like "$rc $err" "^1 plinth: scan: 4 findings stop the build" "a memo holding control characters is not taken"

run_plinth scan --json oci:img:1.0.0
t_is "$rc" 1 "scan fails on them (default --fail-on high)"
t_is "$(findings "$out")" "S001 /usr/bin/tool
S002 /var/drop
S004 /etc/app/server.key
S006 /etc/app/aws.conf
S008 /etc/app/db.yaml" "the setuid binary, the world-writable directory, the key, the AWS key and the password, by path"
t_is "$(jq -r '.findings[] | select(.rule == "S006") | .message' <<<"$out")" \
	"/etc/app/aws.conf holds an AWS access key id (line 3)" "the AWS key's line"
t_is "$(jq -r '.findings[] | select(.rule == "S001") | .severity' <<<"$out")" "high" "setuid is high"
t_is "$(jq -r '.findings[] | select(.rule == "S004") | .severity' <<<"$out")" "critical" "a private key is critical"
t_is "$(jq -r '[.findings[] | select(.rule != "S013") | .path] | map(select(. == "/usr/share/app/tests/fixture.key")) | length' <<<"$out")" 0 \
	"a key under tests/ is known test data"

run_plinth scan --policy allow.yaml --json oci:img:1.0.0
t_is "$(findings "$out")" "S002 /var/drop" "the policy's opt-outs are honoured, by rule and path"
t_is "$rc" 0 "a medium finding does not fail at --fail-on high"
run_plinth scan --policy allow.yaml --fail-on medium oci:img:1.0.0
t_is "$rc" 1 "...and fails at --fail-on medium"
t_like "$out" "opted out: the test plants a key" "text shows what was opted out of, with the reason"
run_plinth scan --fail-on none oci:img:1.0.0
t_is "$rc" 0 "--fail-on none never fails"

# --- a layer on top: whiteouts, accounts, shells, package managers, ssh keys ----
mkdir -p top/etc/app top/etc/ssh top/bin top/usr/bin top/home/dev/.ssh top/srv
: >top/etc/app/.wh.server.key
: >top/etc/app/.wh.db.yaml
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\nbackup::65532:65532::/:/sbin/nologin\n' >top/etc/passwd
printf 'root:*:19000:0:99999:7:::\nnonroot::19000:0:99999:7:::\n' >top/etc/shadow
cp src/bin/hello top/bin/bash
ln -s bash top/bin/sh
cp src/bin/hello top/usr/bin/apt-get
openssl genpkey -algorithm ed25519 -out top/etc/ssh/ssh_host_ed25519_key 2>/dev/null
openssl genpkey -algorithm ed25519 -out top/home/dev/.ssh/id_ed25519 2>/dev/null
printf 'API_URL=https://example.invalid\nAPI_KEY=abc\n' >top/srv/.env
printf 'SLACK=xoxb-1234567890-abcdefghij\nGL=glpat-ABCDEFGHIJ0123456789\n' >top/srv/tokens.txt
printf 'ghp_abcdefghijklmnopqrstuvwxyzABCDEF0123\n' >top/srv/gh.txt
chmod 0666 top/srv/tokens.txt
add_layer img 1.0.0 stacked top
run_plinth scan --json oci:img:stacked
t_is "$(jq -r '[.findings[] | select(.path == "/etc/app/server.key" or .path == "/etc/app/db.yaml")] | length' <<<"$out")" 0 \
	"files deleted by a whiteout are gone"
t_is "$(jq -r '[.findings[] | select(.rule == "S006") | .path + " " + (.message | sub(".* holds "; ""))] | join(", ")' <<<"$out")" \
	"/etc/app/aws.conf an AWS access key id (line 3), /srv/gh.txt a GitHub token (line 1), /srv/tokens.txt a GitLab token (line 2), /srv/tokens.txt a Slack token (line 1)" \
	"GitHub, GitLab and Slack tokens"
t_is "$(jq -r '[.findings[] | select(.rule == "S005") | .path] | join(" ")' <<<"$out")" \
	"/etc/ssh/ssh_host_ed25519_key /home/dev/.ssh/id_ed25519" "ssh host and user keys"
t_is "$(jq -r '[.findings[] | select(.rule == "S007") | .path] | join(" ")' <<<"$out")" "/srv/.env" "a .env file"
t_is "$(jq -r '[.findings[] | select(.rule == "S009" or .rule == "S010") | "\(.rule) \(.path)"] | join(", ")' <<<"$out")" \
	"S009 /bin/bash, S009 /bin/sh, S010 /usr/bin/apt-get" "shells and package managers"
t_is "$(jq -r '[.findings[] | select(.rule == "S011") | .message] | join(", ")' <<<"$out")" \
	"uid 65532 is shared by 'backup' and 'nonroot'" "a duplicate uid"
t_is "$(jq -r '[.findings[] | select(.rule == "S012") | .message] | join(", ")' <<<"$out")" \
	"account 'backup' has an empty password in /etc/passwd, account 'nonroot' has an empty password in /etc/shadow" \
	"empty passwords in passwd and shadow"
t_is "$(jq -r '[.findings[] | select(.rule == "S003") | .path] | join(" ")' <<<"$out")" "/srv/tokens.txt" "a world-writable file"

# an image's file names reach a terminal escaped
mkdir -p esc/srv
printf 'glpat-ABCDEFGHIJ0123456789\n' >"esc/srv/$(printf 'x\033[2Jy')"
printf 'glpat-ABCDEFGHIJ0123456789\n' >"esc/srv/$(printf 'c1\302\233z')"
printf 'glpat-ABCDEFGHIJ0123456789\n' >"esc/srv/$(printf 'bad\233z')"
printf 'glpat-ABCDEFGHIJ0123456789\n' >"esc/srv/$(printf 'nl\nS001 setuid: forged')"
add_layer img 1.0.0 esc esc
run_plinth scan oci:img:esc
t_like "$out" 'S006 token: /srv/x\\x1b\[2Jy holds a GitLab token' "control characters in a path are shown as \\xNN"
t_like "$out" 'S006 token: /srv/c1\\xc2\\x9bz holds' "...C1 controls too"
t_like "$out" 'S006 token: /srv/bad\\x9bz holds' "...and bytes that are not UTF-8"
t_like "$out" 'S006 token: /srv/nl\\x0aS001 setuid: forged holds' "...and a newline cannot forge a line"
t_is "$(printf '%s' "$out" | grep -c $'\033\|\233')" 0 "...and never sent raw"
run_plinth scan --json oci:img:esc
t_is "$(jq -r '[.findings[] | select(.rule == "S006" and (.path | startswith("/srv/"))) | .path] | length' <<<"$out")" 4 "--json reports such paths too"

# what a hostile layer might try: decoys before a key, a key under a test
# directory reached by a hard link, a path shown twice in one layer, tokens
# across the 1 MiB windows content is searched in
key_text=$(cat plant/etc/app/server.key)
mkdir -p tricks/etc/app tricks/usr/share/doc/app tricks/etc/ssl/private tricks/srv
for i in $(seq 1 20); do echo "password$i = changeme$i"; done >tricks/etc/app/decoy.conf
printf '%s\n' "$key_text" >>tricks/etc/app/decoy.conf
printf '%s\n' "$key_text" >tricks/usr/share/doc/app/example.pem
ln tricks/usr/share/doc/app/example.pem tricks/etc/ssl/private/server.key
# a run of letters the window's end would cut to a token's length, then
# a real token across the boundary: 1 MiB - 20 bytes, then the token
{ head -c $((1048576 - 20)) /dev/zero | tr '\0' '.'; printf 'ghp_abcdefghijklmnopqrstuvwxyzABCDEF0123\n'; } >tricks/srv/across.txt
{ head -c $((1048576 - 40)) /dev/zero | tr '\0' '.'; printf 'ghp_abcdefghijklmnopqrstuvwxyzABCDEF0123456789xyz\n'; } >tricks/srv/cut.txt
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C tricks -cf tricks.tar .
mkdir -p twice1/srv twice2/srv
printf '%s\n' "$key_text" >twice1/srv/app.pem
printf 'a clean replacement\n' >twice2/srv/app.pem
tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C twice1 -rf tricks.tar ./srv/app.pem
tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C twice2 -rf tricks.tar ./srv/app.pem
add_layer img 1.0.0 tricks tricks.tar
run_plinth scan --json oci:img:tricks
t_is "$(jq -r '[.findings[] | select(.path == "/etc/app/decoy.conf" and .rule != "S013") | .rule] | join(" ")' <<<"$out")" "S004 S008" \
	"twenty decoy passwords do not hide the key after them"
t_is "$(jq -r '[.findings[] | select(.rule == "S004") | .path] | join(" ")' <<<"$out")" \
	"/etc/app/decoy.conf /etc/app/server.key /etc/ssl/private/server.key" \
	"a hard link out of a documentation directory is searched under its own path"
t_is "$(jq -r '[.findings[] | select(.path == "/srv/app.pem" and .rule != "S013")] | length' <<<"$out")" 0 \
	"a path a layer has twice is what its later entry holds"
t_is "$(jq -r '[.findings[] | select(.rule == "S006" and (.path | startswith("/srv/"))) | "\(.path) \(.message | sub(".* holds "; ""))"] | join(", ")' <<<"$out")" \
	"/srv/across.txt a GitHub token (line 1)" \
	"a token across a window's end is found once; a longer run cut there is no token"

# hard links: a link's content is its target's; a link whose target a
# layer above replaced or removed keeps content scan cannot read, and says so
mkdir -p links/srv
printf '%s\n' "$key_text" >links/srv/a.pem
ln links/srv/a.pem links/srv/b && ln links/srv/a.pem links/srv/z.key
add_layer img 1.0.0 links1 links
mkdir -p hide/srv && : >hide/srv/.wh.a.pem
add_layer img links1 links2 hide
run_plinth scan --json oci:img:links1
t_is "$(jq -r '[.findings[] | select(.rule == "S004" and (.path | startswith("/srv/"))) | .path] | join(" ")' <<<"$out")" \
	"/srv/a.pem /srv/b /srv/z.key" "every hard link to a key is reported"
run_plinth scan --json oci:img:links2
t_is "$(jq -r '[.findings[] | select(.rule == "S014" or (.rule == "S004" and (.path | startswith("/srv/")))) | "\(.rule) \(.path)"] | join(", ")' <<<"$out")" \
	"S014 /srv/b, S014 /srv/z.key" \
	"hard links whose target a layer above removed are reported, not taken as clean"

# a message cut at its length does not end inside a character: --json works
p=long; for i in 1 2 3 4 5 6; do p=$p/$(printf 'é%.0s' $(seq 1 100)); done
mkdir -p "$p" && cp src/bin/hello "$p/tool" && chmod 4755 "$p/tool"
add_layer img 1.0.0 longnames long
run_plinth scan --json oci:img:longnames
t_is "$rc:$(jq -r '[.findings[] | select(.rule == "S001")] | length' <<<"$out")" "1:2" \
	"--json reports findings about very long UTF-8 paths"

# --- known vulnerabilities from an OSV feed --------------------------------------
# status.d paragraphs as plinth (and distroless) write them, in a layer on the
# clean image, with Debian's os-release (a link to /usr/lib/os-release).
status() { # DIR NAME VERSION [SOURCE]
	printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n%sMaintainer: t <t@example.invalid>\nDescription: test\n' \
		"$2" "$3" "${4:+Source: $4
}" >"$1/var/lib/dpkg/status.d/$2"
}
mkdir -p pkgs/var/lib/dpkg/status.d pkgs/usr/lib pkgs/etc
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' >pkgs/usr/lib/os-release
ln -s ../usr/lib/os-release pkgs/etc/os-release
status pkgs libc6 2.36-9+deb12u3 glibc
status pkgs libc-bin 2.36-9+deb12u3 glibc
status pkgs libssl3 3.0.11-1~deb12u2 openssl
status pkgs tilde 2.0-1~deb12u1
status pkgs plus 2.0-1+deb12u1
status pkgs lone 1.0-1
mkdir -p pkgs/usr/lib/x86_64-linux-gnu pkgs/usr/bin
printf 'libc\n' >pkgs/usr/lib/x86_64-linux-gnu/libc.so.6
printf 'gone\n' >pkgs/usr/bin/leftover
printf '%s  usr/lib/x86_64-linux-gnu/libc.so.6\n' "$(md5sum <pkgs/usr/lib/x86_64-linux-gnu/libc.so.6 | cut -d' ' -f1)" \
	>pkgs/var/lib/dpkg/status.d/libc6.md5sums
# the md5sums of a package that is not installed own nothing
printf '%s  usr/bin/leftover\n' "$(md5sum <pkgs/usr/bin/leftover | cut -d' ' -f1)" \
	>pkgs/var/lib/dpkg/status.d/removed.md5sums
add_layer img 1.0.0 pkgs pkgs
run_plinth scan --json oci:img:pkgs
t_is "$(jq -r '[.findings[] | select(.rule == "S013") | .path | select(startswith("/usr/"))] | join(" ")' <<<"$out")" \
	"/usr/bin/leftover /usr/bin/tool /usr/lib/os-release /usr/share/app/tests/fixture.key" \
	"a file an installed package's md5sums lists is owned; one of a removed package's is not"
mkdir feed
cat >feed/DSA-0001-1.json <<'EOF'
{"id": "DSA-0001-1", "summary": "glibc: buffer overflow", "aliases": ["CVE-2026-0001"],
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}]}]}]}
EOF
cat >feed/DSA-0002-1.json <<'EOF'
{"id": "DSA-0002-1", "summary": "openssl: fixed long ago",
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}]}]}]}
EOF
cat >feed/more.json <<'EOF'
[{"id": "DSA-0003-1", "summary": "tilde sorts before",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "tilde"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0-1"}]}]}]},
 {"id": "DSA-0004-1", "summary": "plus sorts after",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "plus"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0-1"}]}]}]},
 {"id": "DLA-0005-1", "summary": "bullseye only",
  "affected": [{"package": {"ecosystem": "Debian:11", "name": "glibc"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9:9"}]}]}]},
 {"id": "DSA-0006-1", "summary": "by last_affected", "database_specific": {"severity": "low"},
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "lone"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0.9"}, {"last_affected": "1.0-1"}]}]}]}]
EOF
vulns() { jq -r '[.findings[] | select(.rule == "S100") | "\(.vulnerability.id) \(.vulnerability.package) \(.severity)"] | join(", ")' <<<"$out"; }
run_plinth scan --json --vulns feed oci:img:pkgs
t_is "$(vulns)" \
	"DSA-0001-1 libc-bin critical, DSA-0001-1 libc6 critical, DSA-0006-1 lone low, DSA-0003-1 tilde unknown" \
	"affected versions reported (by source package), fixed ones not, ~ sorting before, other releases ignored"
t_is "$(jq -r '.findings[] | select(.rule == "S100" and .vulnerability.package == "libc6") | .message' <<<"$out")" \
	"DSA-0001-1: libc6 (source glibc 2.36-9+deb12u3), fixed in 2.36-9+deb12u4: glibc: buffer overflow" \
	"the finding names the advisory, the package, its source and the fix"
t_is "$(jq -r '.findings[] | select(.rule == "S100" and .vulnerability.package == "libc6") | .vulnerability | "\(.source) \(.version) \(.fixed)"' <<<"$out")" \
	"glibc 2.36-9+deb12u3 2.36-9+deb12u4" "--json has the source, installed and fixed versions"
t_is "$rc" 1 "a critical vulnerability fails the scan"
run_plinth scan --json --policy allow.yaml --vulns feed/DSA-0002-1.json oci:img:pkgs
t_is "$(vulns) $rc" " 0" "a feed of one file: the fixed advisory is not reported"
printf '{"id": "X", "affected": [}\n' >bad.json
run_plinth scan --vulns bad.json oci:img:pkgs
t_like "$rc $err" "^1 plinth: .*bad.json.*line 1" "a malformed feed is an error with its position"
run_plinth scan --vulns feed oci:img:1.0.0
t_like "$rc $err" "^1 plinth: .*cannot tell which Debian release.*--ecosystem" "an image that names no Debian release needs --ecosystem"
run_plinth scan --json --vulns feed --ecosystem Debian:11 oci:img:pkgs
t_is "$(vulns)" "DLA-0005-1 libc-bin unknown, DLA-0005-1 libc6 unknown" "--ecosystem Debian:11 matches bullseye's advisories instead"
mkdir -p bf/var/lib/dpkg/status.d bf/etc
printf 'ID=plinth\n' >bf/etc/os-release
status bf base-files 12.4+deb12u5
add_layer img pkgs basefiles bf
run_plinth scan --json --vulns feed oci:img:basefiles
t_like "$(vulns)" "^DSA-0001-1 libc-bin critical" "without Debian's os-release, base-files' version names the release"

# --- errors ----------------------------------------------------------------------
run_plinth scan oci:img:nope
t_like "$rc $err" "^1 plinth: image 'oci:img:nope': no tag 'nope'" "a missing tag"
run_plinth scan --fail-on severe oci:img:1.0.0
t_like "$rc $err" "^2 plinth: --fail-on must be" "a bad --fail-on is a usage error"
run_plinth scan
t_is "$rc" 2 "no image: usage error"
run_plinth scan notaref
t_like "$rc $err" "^2 plinth: image reference 'notaref' does not start with 'oci:'" "a malformed reference: usage error"
# a layer whose bytes do not match its digest
cp -r img bad
l=$(jq -r '.layers[-1].digest' "$(blob bad "$(manifest_of bad 1.0.0)")")
chmod u+w "$(blob bad "$l")"; printf 'x' >>"$(blob bad "$l")"
run_plinth scan oci:bad:1.0.0
t_like "$rc $err" "^1 plinth: .*(does not match|bytes)" "a corrupt layer is refused"

t_done
